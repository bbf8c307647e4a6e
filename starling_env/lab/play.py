"""Human play: a person is one more agent (``human``), driven by the same ``run_episode`` loop as every agent.

``starling play GAME`` calls :func:`play`. Meta commands (``help``, ``commands``, ``objective``,
``score``, ``quit``/``exit``) are answered here and never reach the game; everything else is a
game command. Line editing, history and tab completion of the admissible commands come from the
stdlib ``readline`` when stdin is a terminal; piped input works the same without it.

The human baseline: ``starling play --sample DIR`` calls :func:`play_sample`, which plays the next games of the
fixed :func:`human_sample` into the recordings folder ``DIR`` (one run folder, read by ``starling report``).
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starling_agents import Agent, StopEpisode, run_episode
from starling_agents.base import canonical

from .. import __version__
from ..collection import ManifestEntry, load_manifest, shipped_collection
from ..envs.game_env import StarlingEnv
from ..envs.text_env import DEFAULT_MAX_STEPS
from ..files import write_atomic
from ..records import EpisodeRecord, append_records, read_records

META_COMMANDS = {
    "help": "how to play, these meta commands and the objective",
    "commands": "the commands the game understands right now",
    "objective": "what you have to do",
    "score": "your score and moves so far",
    "quit": "end the episode (also: exit, or end of input / Ctrl-D)",
}
QUIT = ("quit", "exit")


class HumanAgent(Agent):
    """A person at the terminal: shows each observation, reads commands, answers meta commands itself."""

    name = "human"
    can_stop = True
    extra_info = ("action_taken",)  # a command counts as invalid when the game did not carry it out

    def __init__(self, input_fn: Callable[[str], str] = input, print_fn: Callable[..., None] = print):
        self.input_fn, self.print_fn = input_fn, print_fn
        self.info: dict[str, Any] = {}
        self.commands_sent = 0
        self.stop_reason: str | None = None
        if input_fn is input:
            _enable_readline(
                lambda: sorted(set(self.info.get("admissible_commands", [])) | set(META_COMMANDS) | {"exit"})
            )

    def reset(self, observation: str, info: dict[str, Any]) -> None:
        self.info, self.commands_sent, self.stop_reason = info, 0, None
        objective = info["objective"]
        if observation.startswith(objective):  # the reset observation starts with the objective: say it once
            observation = observation[len(objective) :].lstrip("\n")
        self.print_fn(f"Objective: {objective}")
        self.print_fn("(type 'help' for help, 'commands' for what you can do now, 'quit' to stop)\n")
        self.print_fn(observation)

    def act(self, observation: str, info: dict[str, Any]) -> str:
        if self.commands_sent:
            self.print_fn(observation)
        self.info = info
        while True:
            try:
                self.print_fn(
                    ""
                )  # a blank line before the prompt, not inside it: readline redraws one-line prompts well
                line = self.input_fn(f"[score {info['score']}/{info['max_score']}, moves {info['moves']}] > ")
            except (EOFError, KeyboardInterrupt) as exc:
                self.print_fn("")
                self.stop("end of input" if isinstance(exc, EOFError) else "interrupted")
            command = line.strip()
            meta = canonical(command)
            if not command:
                continue  # a blank line is not a move
            if meta in QUIT:
                self.stop("quit")
            if meta in META_COMMANDS:
                self.answer(meta, info)
                continue
            self.commands_sent += 1
            return command

    def stop(self, reason: str) -> None:
        self.stop_reason = reason
        raise StopEpisode(reason)

    def answer(self, meta: str, info: dict[str, Any]) -> None:
        """A meta command, answered here."""
        say = self.print_fn
        if meta == "help":
            say(
                "Type what you want to do in plain English (e.g. 'open door', 'take key', 'go north') "
                "and press Enter.\nMeta commands (not sent to the game):"
            )
            for name, what in META_COMMANDS.items():
                say(f"  {name:<10} {what}")
        if meta in ("help", "objective"):
            say(f"Objective: {info['objective']}")
        elif meta == "commands":
            say("You can try: " + ", ".join(info.get("admissible_commands", [])))
        elif meta == "score":
            say(
                f"Score {info['score']} of {info['max_score']}, after {info['moves']} moves "
                f"({self.commands_sent} commands sent to the game)."
            )


def play(
    game_dir: Path,
    *,
    record: Path | None,
    seed: int | None,
    max_steps: int | None,
    input_fn: Callable[[str], str] = input,
    print_fn: Callable[..., None] = print,
) -> EpisodeRecord:
    """Play one episode of the game in ``game_dir`` interactively; return (and optionally append) its record."""
    result = _episode(HumanAgent(input_fn, print_fn), game_dir, seed, max_steps)
    if record is not None:
        append_records(Path(record), [result])
        print_fn(f"Recorded this episode to {record}")
    return result


def _episode(human: HumanAgent, game_dir: Path, seed: int | None, max_steps: int | None) -> EpisodeRecord:
    """One episode of ``human`` on the game in ``game_dir``, with the closing summary printed."""
    print_fn = human.print_fn
    env = StarlingEnv(Path(game_dir), max_episode_steps=max_steps, extra_info=list(human.extra_info))
    try:
        result = run_episode(human, env, seed=seed)
        lost, moves = env.engine.lost, env.engine.moves
    finally:
        env.close()
    last = result.transcript[-1]
    if last.command and human.stop_reason is None:
        print_fn(last.observation)  # the game or the step limit ended the episode: show the last answer
    tally = f"{moves} moves ({_commands(result)})"
    if result.won:
        print_fn(f"\n*** You won! *** Final score {result.score:g}/{result.max_score:g} in {tally}.")
    else:
        reason = human.stop_reason or ("lost" if lost else f"step limit ({max_steps}) reached")
        print_fn(f"\nGame over ({reason}): final score {result.score:g}/{result.max_score:g} in {tally}; not won.")
    return result


# -- the human baseline: a fixed sample of the benchmark, played session by session into a recordings folder

SAMPLE_VERSION = 1  # bump (and re-list docs/human-baseline.md) whenever the rule or the benchmark below changes
SAMPLE_BENCHMARK = 2  # the shipped benchmark version the sample is drawn from (STARLING-100 v2)
SAMPLE_PER_STRATUM = 2  # games per (split, difficulty) stratum
SAMPLE_SEED = 0  # every game is played with reset seed 0, evaluate's first seed
STOPPED = ("end of input", "interrupted")  # how a player ends a session: the game is not recorded
TIER_ORDER = {"easy": 0, "medium": 1, "hard": 2}


@dataclass(frozen=True)
class HumanSample:
    """The games a human plays for the baseline, in the order they are asked."""

    version: int
    suite: str
    suite_version: int
    collection: Path
    games: list[ManifestEntry]

    def header(self, max_steps: int) -> dict[str, Any]:
        """The recordings folder's header.json: the same keys as an evaluation run's, plus the sample."""
        return {
            "starling_version": __version__,
            "suite": self.suite,
            "suite_version": self.suite_version,
            "agent": "human",
            "env_ids": [load_manifest(self.collection).env_id(g.id) for g in self.games],
            "episodes": 1,
            "seed": SAMPLE_SEED,
            "max_steps": max_steps,
            "human_sample": {"version": self.version, "per_stratum": SAMPLE_PER_STRATUM},
        }


def _rank(game_id: str) -> str:
    """A game's place in its stratum: a hash of the sample version and its id (fixed, unrelated to its skills)."""
    return hashlib.sha256(f"human-sample-v{SAMPLE_VERSION}/{game_id}".encode()).hexdigest()


def human_sample(collection: Path | None = None) -> HumanSample:
    """The human-baseline sample: in each (split, difficulty) stratum of the benchmark, the ``SAMPLE_PER_STRATUM``
    games of lowest :func:`_rank`. Asked in rounds (every stratum's first game, then every stratum's second),
    easy before medium before hard and test, test-compose, train within a round, so a partial set is balanced."""
    folder = collection or shipped_collection(SAMPLE_BENCHMARK)
    manifest = load_manifest(folder)
    strata: dict[tuple[str, str], list[ManifestEntry]] = {}
    for game in manifest.games:
        strata.setdefault((game.split, game.difficulty), []).append(game)
    placed = [
        (i, TIER_ORDER.get(difficulty, 3), split, game)
        for (split, difficulty), games in strata.items()
        for i, game in enumerate(sorted(games, key=lambda g: _rank(g.id))[:SAMPLE_PER_STRATUM])
    ]
    games = [game for *_, game in sorted(placed, key=lambda p: p[:3])]
    return HumanSample(SAMPLE_VERSION, manifest.suite, manifest.version, folder, games)


def sample_markdown(sample: HumanSample) -> str:
    """The sample as the Markdown table of docs/human-baseline.md (a test keeps the two equal)."""
    lines = [
        f"Human sample v{sample.version} of {sample.suite} v{sample.suite_version}: {len(sample.games)} games, "
        f"{SAMPLE_PER_STRATUM} per (split, difficulty) stratum, in the order they are asked.",
        "",
        "| # | game | split | difficulty | skills | walkthrough | max score |",
        "|---|---|---|---|---|---|---|",
    ]
    for i, g in enumerate(sample.games, 1):
        lines.append(
            f"| {i} | `{g.id}` | {g.split} | {g.difficulty} | {', '.join(g.skills)} | {g.walkthrough_length} | "
            f"{g.max_score} |"
        )
    return "\n".join(lines) + "\n"


def play_sample(
    folder: Path,
    *,
    games: int | None = None,
    max_steps: int = DEFAULT_MAX_STEPS,
    collection: Path | None = None,
    input_fn: Callable[[str], str] = input,
    print_fn: Callable[..., None] = print,
) -> list[EpisodeRecord]:
    """One session of the human baseline: play (at most ``games`` of) the sample's games that ``folder`` has no
    record of yet, appending each finished episode to ``folder/episodes.jsonl``; return the new records.

    ``quit`` gives a game up (recorded, not asked again); end of input (Ctrl-D) or Ctrl-C ends the session
    without recording the game being played, which comes first next session.
    """
    if games is not None and games < 1:
        raise ValueError(f"games must be 1 or more, not {games}")
    sample = human_sample(collection)
    header, header_path, episodes = sample.header(max_steps), folder / "header.json", folder / "episodes.jsonl"
    if header_path.exists():
        existing = json.loads(header_path.read_text())
        keys = ("agent", "suite", "suite_version", "env_ids", "seed", "max_steps", "human_sample")
        if any(existing.get(k) != header[k] for k in keys):
            raise ValueError(
                f"{folder} holds recordings of another sample or settings (see its header.json); use another folder"
            )
    else:
        folder.mkdir(parents=True, exist_ok=True)
        write_atomic(header_path, json.dumps(header, indent=2) + "\n")
    done = {r.game_id for r in read_records(episodes)} if episodes.exists() else set()
    todo = [g for g in sample.games if g.id not in done][:games]
    total = len(sample.games)
    if not todo:
        print_fn(f"All {total} games of the human sample are recorded in {folder}.")
        return []
    print_fn(
        f"Human baseline, sample v{sample.version}: {len(done)} of {total} games recorded in {folder}; "
        f"{len(todo)} to play now. 'quit' gives a game up; Ctrl-D ends the session (that game comes back next time)."
    )
    new: list[EpisodeRecord] = []
    for number, entry in enumerate(todo, len(done) + 1):
        print_fn(f"\n=== Game {number} of {total}: {entry.title} ({entry.difficulty}) ===")
        human = HumanAgent(input_fn, print_fn)
        record = _episode(human, sample.collection / entry.id, SAMPLE_SEED, max_steps or None)
        if human.stop_reason in STOPPED:
            print_fn("Session ended; this game was not recorded and comes first next session.")
            break
        stats = {**record.agent_stats, "human_sample_version": float(sample.version)}
        record = record.model_copy(update={"agent_stats": stats})
        append_records(episodes, [record])
        new.append(record)
        print_fn(f"Recorded to {episodes} ({len(done) + len(new)} of {total} games done).")
    return new


def _commands(result: EpisodeRecord) -> str:
    """ "12 commands, 3 not carried out": every command sent counts, whether or not the game took a turn."""
    sent = f"{result.steps} command{'s' if result.steps != 1 else ''}"
    return f"{sent}, {result.invalid_commands} not carried out" if result.invalid_commands else sent


def _enable_readline(completions: Callable[[], list[str]]) -> None:
    """Line editing + history (+ tab completion) for ``input`` when stdin is a terminal."""
    if not sys.stdin.isatty():
        return
    try:
        import readline
    except ImportError:  # not every Python has it (e.g. Windows without pyreadline)
        return

    def complete(text: str, state: int) -> str | None:
        line = readline.get_line_buffer()
        begin = readline.get_begidx()
        # complete the whole command line, returning the part from the current word on
        matches = [c for c in completions() if c.startswith(line.lstrip())]
        offset = len(line) - len(line.lstrip())
        options = [c[begin - offset :] for c in matches if begin - offset <= len(c)]
        return options[state] if state < len(options) else None

    try:
        readline.set_completer_delims(" ")
        readline.set_completer(complete)
        readline.parse_and_bind("tab: complete")
    except Exception:  # an unusual readline (libedit) may refuse a binding: editing still works
        pass

"""`starling export`: episodes as a Hugging Face ``datasets`` dataset, in the chat layout LLM fine-tuning code reads.

One row per episode. ``messages`` is the chat: the system turn is the objective, then the reset observation (a
user turn), then command (assistant) / observation (user) turns. Each turn also carries ``reward`` (assistant: the
score its command gained; the first user turn: the reset's, 0; otherwise null) and ``admissible_commands`` (user
turns: the commands the game accepted at that observation; null where unknown). Every other field of the
:class:`~starling_env.records.EpisodeRecord` is a column, so :func:`to_record` rebuilds the record exactly.

Two sources: the shipped benchmark's walkthroughs, played through the real env (:func:`walkthrough_episodes`), and
run folders of EpisodeRecords (``starling evaluate`` runs, ``starling play`` recordings: :func:`run_episodes`). An
EpisodeRecord keeps the observations but not the admissible commands; ``replay=True`` plays each record's
commands again with its seed to recover them, and refuses a record whose replay reads differently.

The export folder holds ``arrow/`` (``DatasetDict.save_to_disk``), ``data/<split>-00000-of-00001.parquet`` and a
dataset card ``README.md`` (fields, suite versions, the games' content hashes, the files' SHA-256, license).
"""

from __future__ import annotations

import hashlib
import re
import shutil
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import gymnasium as gym
from starling_agents import Agent, StopEpisode, run_episode

from .. import __version__
from ..collection import load_manifest, shipped_collection, shipped_collections
from ..envs.text_env import DEFAULT_MAX_STEPS
from ..files import owned_dir, write_atomic
from ..records import EpisodeRecord, Step

ADMISSIBLE = "admissible_commands"
CHAT = ("role", "content", "reward", ADMISSIBLE)
MIT = "mit"


def features() -> Any:
    """The rows' ``datasets.Features``: fixed, so empty lists and nulls keep their types in Arrow and Parquet."""
    from datasets import Features, List, Value

    text, number = Value("string"), Value("float64")
    return Features(
        {
            "messages": List(
                {"role": text, "content": text, "reward": number, ADMISSIBLE: List(text)},
            ),
            "agent": text,
            "env_id": text,
            "game_id": text,
            "skills": List(text),
            "difficulty": text,
            "split": text,
            "seed": Value("int64"),
            "score": number,
            "max_score": number,
            "normalized_score": number,
            "won": Value("bool"),
            "steps": Value("int64"),
            "invalid_commands": Value("int64"),
            "tokens": Value("int64"),
            "agent_stats": List({"name": text, "value": number}),
            "wall_time_s": number,
            # where the row comes from (not record fields)
            "source": text,
            "suite": text,
            "suite_version": Value("int64"),
            "content_hash": text,
        }
    )


RECORD_COLUMNS = ("messages", "agent_stats")  # the columns that are not a record field of the same name
SOURCE_COLUMNS = ("source", "suite", "suite_version", "content_hash")


def to_row(record: EpisodeRecord, admissible: list[list[str]] | None, about: dict[str, Any]) -> dict[str, Any]:
    """One episode as a dataset row; ``admissible``: the commands admissible at each transcript step (or None)."""
    if admissible is not None and len(admissible) != len(record.transcript):
        raise ValueError(f"{record.env_id}: {len(admissible)} admissible lists for {len(record.transcript)} steps")
    messages = [_turn("system", record.objective)]
    for i, step in enumerate(record.transcript):
        opening = i == 0 and not step.command  # the reset: no command before it
        if not opening:
            messages.append(_turn("assistant", step.command, reward=step.reward))
        messages.append(
            _turn(
                "user",
                step.observation,
                reward=step.reward if opening else None,
                admissible=admissible[i] if admissible is not None else None,
            )
        )
    fields = record.model_dump(exclude={"transcript", "objective", "agent_stats"})
    stats = [{"name": k, "value": v} for k, v in record.agent_stats.items()]
    return {"messages": messages, **fields, "agent_stats": stats, **{k: about.get(k) for k in SOURCE_COLUMNS}}


def _turn(role: str, content: str, reward: float | None = None, admissible: list[str] | None = None) -> dict:
    return {"role": role, "content": content, "reward": reward, ADMISSIBLE: admissible}


def to_record(row: dict[str, Any]) -> EpisodeRecord:
    """The EpisodeRecord a row was made from (the inverse of :func:`to_row`)."""
    system, *turns = row["messages"]
    transcript: list[Step] = []
    command, reward = "", None
    for turn in turns:
        if turn["role"] == "assistant":
            command, reward = turn["content"], turn["reward"]
        else:
            transcript.append(
                Step(command=command, observation=turn["content"], reward=turn["reward"] if reward is None else reward)
            )
            command, reward = "", None
    fields = {k: v for k, v in row.items() if k in EpisodeRecord.model_fields and k not in RECORD_COLUMNS}
    stats = {s["name"]: s["value"] for s in row["agent_stats"]}
    return EpisodeRecord(**fields, agent_stats=stats, transcript=transcript, objective=system["content"])


class _AdmissibleLog(gym.Wrapper):
    """Keeps ``info["admissible_commands"]`` of the reset and of every step (None where the env gives none)."""

    def __init__(self, env: gym.Env):
        super().__init__(env)
        self.seen: list[list[str] | None] = []

    def reset(self, **kwargs: Any) -> Any:
        observation, info = self.env.reset(**kwargs)
        self.seen = [info.get(ADMISSIBLE)]
        return observation, info

    def step(self, action: Any) -> Any:
        result = self.env.step(action)
        self.seen.append(result[4].get(ADMISSIBLE))
        return result


def _play_logged(agent: Any, env_id: str, seed: int | None, max_steps: int, engine: str, extra_info: Iterable[str]):
    """``agent``'s episode of ``env_id`` and the admissible commands at each of its steps."""
    kwargs: dict[str, Any] = {"engine": engine} if engine != "inform7" else {}
    env = _AdmissibleLog(gym.make(env_id, extra_info=list(extra_info), max_episode_steps=max_steps, **kwargs))
    try:
        record = run_episode(agent, env, seed=seed)
    finally:
        env.close()
    admissible = None if any(a is None for a in env.seen) else [list(a) for a in env.seen if a is not None]
    return record.model_copy(update={"env_id": env_id}), admissible


def game_facts() -> dict[str, dict[str, Any]]:
    """Env id -> suite, suite version and content hash, for every game of the shipped benchmark versions."""
    facts = {}
    for folder in shipped_collections():
        manifest = load_manifest(folder)
        for g in manifest.games:
            facts[manifest.env_id(g.id)] = {
                "suite": manifest.suite,
                "suite_version": manifest.version,
                "content_hash": g.content_hash,
            }
    return facts


def walkthrough_episodes(
    benchmark: int | None = None,
    split: str | None = None,
    games: list[str] | None = None,
    engine: str = "native",
    on_episode: Callable[[], None] = lambda: None,
) -> dict[str, list[dict[str, Any]]]:
    """Rows of the walkthrough of every game of the shipped benchmark (version ``benchmark``, default the newest;
    only ``split``'s, only the ids ``games`` when given), played through the real env with seed 0, grouped by
    benchmark split."""
    from starling_agents.simple import WalkthroughAgent

    manifest = load_manifest(shipped_collection(benchmark))
    chosen = manifest.select(split=split)
    if games is not None:
        unknown = sorted(set(games) - {g.id for g in chosen})
        if unknown:
            raise ValueError(
                f"not games of {manifest.suite} v{manifest.version}{f' {split}' if split else ''}: {unknown}"
            )
        chosen = [g for g in chosen if g.id in games]
    if not chosen:
        raise ValueError(f"no game of {manifest.suite} v{manifest.version} in split {split!r}")
    facts = game_facts()
    rows: dict[str, list[dict[str, Any]]] = {}
    for game in chosen:
        env_id = manifest.env_id(game.id)
        agent = WalkthroughAgent()
        record, admissible = _play_logged(agent, env_id, 0, DEFAULT_MAX_STEPS, engine, agent.extra_info)
        if not record.won:
            raise ValueError(f"{env_id}: its walkthrough did not win on the {engine} engine")
        rows.setdefault(game.split, []).append(to_row(record, admissible, {"source": "walkthrough", **facts[env_id]}))
        on_episode()
    return rows


class _Replay(Agent):
    """Sends a record's commands again (it can stop: a transcript may end before the step limit)."""

    name, can_stop = "replay", True

    def __init__(self, commands: list[str]):
        self.commands = list(commands)

    def act(self, observation: str, info: dict[str, Any]) -> str:
        if not self.commands:
            raise StopEpisode("replayed")
        return self.commands.pop(0)


def replay_admissible(record: EpisodeRecord, engine: str = "native") -> list[list[str]] | None:
    """The admissible commands at each step of ``record``, from playing its commands again with its seed."""
    commands = [s.command for s in record.transcript[1:]]
    replayed, admissible = _play_logged(_Replay(commands), record.env_id, record.seed, max(1, record.steps), engine, ())
    seen, want = [s.observation for s in replayed.transcript], [s.observation for s in record.transcript]
    if seen != want:
        step = next(i for i, (a, b) in enumerate(zip(seen + [""], want + [""], strict=False)) if a != b)
        raise ValueError(f"{record.env_id} seed {record.seed}: the replay reads differently at step {step}")
    return admissible


def run_episodes(
    folders: list[Path], replay: bool = False, engine: str = "native", on_episode: Callable[[], None] = lambda: None
) -> dict[str, list[dict[str, Any]]]:
    """Rows of the records in run folders, one dataset split per folder (named after it; after its parent too
    when two folders share a name)."""
    from .report import load_run

    names = [_split_name(f.name) for f in folders]
    if len(set(names)) < len(names):
        names = [_split_name(f"{f.resolve().parent.name}_{f.name}") for f in folders]
    if len(set(names)) < len(names):
        raise ValueError(f"run folders with the same names: {[str(f) for f in folders]}; export them separately")
    facts = game_facts()
    rows: dict[str, list[dict[str, Any]]] = {}
    for folder, name in zip(folders, names, strict=True):
        _, records = load_run(folder)
        for record in records:
            # the engine option is the STARLING games' (the target envs take none)
            admissible = replay_admissible(record, engine if record.env_id in facts else "inform7") if replay else None
            about = {"source": str(folder), **facts.get(record.env_id, {})}
            rows.setdefault(name, []).append(to_row(record, admissible, about))
            on_episode()
    return rows


def _split_name(text: str) -> str:
    """A dataset split name (word characters only: `test-compose` becomes `test_compose`)."""
    return re.sub(r"\W+", "_", text).strip("_") or "episodes"


def write_dataset(rows: dict[str, list[dict[str, Any]]], out: Path, command: str) -> list[Path]:
    """Save ``rows`` (split -> rows) to ``out``: Arrow (``save_to_disk``), Parquet and the dataset card, built in a
    fresh folder beside ``out`` and moved into place whole. Returns the files written."""
    from datasets import Dataset, DatasetDict

    if not rows or not any(rows.values()):
        raise ValueError("nothing to export: no episodes")
    splits = {_split_name(name): split_rows for name, split_rows in rows.items() if split_rows}
    dataset = DatasetDict({name: Dataset.from_list(r, features=features()) for name, r in sorted(splits.items())})
    out = Path(out)
    work = owned_dir(out.resolve().parent, prefix=f".{out.name}.export-")
    try:
        dataset.save_to_disk(str(work / "arrow"))
        (work / "data").mkdir()
        for name, split in dataset.items():
            split.to_parquet(str(work / "data" / f"{name}-00000-of-00001.parquet"))
        write_atomic(work / "README.md", card(dataset, work, command))
        if out.exists():
            shutil.rmtree(out)
        work.rename(out)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return sorted(p for p in out.rglob("*") if p.is_file())


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


FIELDS = {
    "messages": "the chat: system = objective; user = observation (the first: the reset's); assistant = command. "
    "Each turn has role, content, reward (assistant: score the command gained; first user turn: the reset's, 0; "
    "else null) and admissible_commands (user turns: commands the game accepted there; null where unknown)",
    "agent": "who played: walkthrough, random, drrn, human, ...",
    "env_id": "Gymnasium id, e.g. starling/boil-water-ee8b4ab-v2",
    "game_id, skills, difficulty, split": "the game, its skills, tier and benchmark split",
    "seed": "the seed passed to reset",
    "score, max_score, normalized_score, won": "the episode's final score, the game's maximum, their ratio, win",
    "steps, invalid_commands": "commands sent; those the game did not accept",
    "tokens, agent_stats, wall_time_s": "LLM tokens; the agent's own counters (name, value); seconds",
    "source": "walkthrough, or the run folder the record was read from",
    "suite, suite_version, content_hash": "the STARLING benchmark version and the game's content hash "
    "(null for games outside the shipped benchmark: TWC, ScienceWorld, Zork I)",
}


def card(dataset: Any, folder: Path, command: str) -> str:
    """The dataset card (README.md): YAML metadata for the Hub's loader, then fields, versions, hashes, license."""
    splits = list(dataset)
    rows = [r for name in splits for r in dataset[name].select_columns(["env_id", *SOURCE_COLUMNS[1:]])]
    games = {r["env_id"]: r for r in rows}
    outside = sorted(g for g, r in games.items() if r["content_hash"] is None)
    suites = sorted({f"{r['suite']} v{r['suite_version']}" for r in games.values() if r["suite"]})
    yaml = [
        "---",
        f"license: {MIT if not outside else 'other'}",
        "pretty_name: STARLING text-game episodes",
        "task_categories:",
        "- text-generation",
        "- reinforcement-learning",
        "tags:",
        "- text-games",
        "- interactive-fiction",
        "configs:",
        "- config_name: default",
        "  data_files:",
        *[f"  - split: {name}\n    path: data/{name}-*.parquet" for name in splits],
        "---",
    ]
    lines = [
        "# STARLING text-game episodes",
        "",
        f"Episodes of STARLING text games in a chat layout, one row per episode, written by `{command}` "
        f"(starling-env {__version__}). Suites: {', '.join(suites) or '-'}.",
        "",
        "| split | episodes |",
        "|---|---|",
        *[f"| {name} | {dataset[name].num_rows} |" for name in splits],
        "",
        "```python",
        "import datasets",
        f'chat = datasets.load_dataset("parquet", data_files={{"{splits[0]}": "data/{splits[0]}-*.parquet"}})',
        'same = datasets.load_from_disk("arrow")',
        "from starling_env.lab.export import to_record  # a row back to its EpisodeRecord, exactly",
        "```",
        "",
        "## Fields",
        "",
        "| field | meaning |",
        "|---|---|",
        *[f"| `{k}` | {v} |" for k, v in FIELDS.items()],
        "",
        "## Games (content hashes)",
        "",
        "| env id | content hash |",
        "|---|---|",
        *[f"| {g} | {r['content_hash'] or '-'} |" for g, r in sorted(games.items())],
        "",
        "## Files (SHA-256)",
        "",
        *[f"- `{p.relative_to(folder).as_posix()}`: {_sha256(p)}" for p in sorted((folder / "data").glob("*.parquet"))],
        "",
        "## License",
        "",
        "The STARLING games and their text are MIT-licensed (the starling-env repository's LICENSE)."
        + (
            f" {', '.join(outside)} are not games of the shipped benchmark (a target such as TWC, ScienceWorld or"
            " Zork I, or a collection of your own): their text is under those games' own terms."
            if outside
            else ""
        ),
        "",
    ]
    return "\n".join(yaml + lines)


__all__ = [
    "features",
    "replay_admissible",
    "run_episodes",
    "to_record",
    "to_row",
    "walkthrough_episodes",
    "write_dataset",
]

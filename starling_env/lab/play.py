"""Human play: a person is one more agent (``human``), driven by the same ``run_episode`` loop as every agent.

``starling play GAME`` calls :func:`play`. Meta commands (``help``, ``commands``, ``objective``,
``score``, ``quit``/``exit``) are answered here and never reach the game; everything else is a
game command. Line editing, history and tab completion of the admissible commands come from the
stdlib ``readline`` when stdin is a terminal; piped input works the same without it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from starling_agents import Agent, StopEpisode, run_episode
from starling_agents.base import canonical

from ..envs.game_env import StarlingEnv
from ..records import EpisodeRecord, append_records

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
    human = HumanAgent(input_fn, print_fn)
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
    if record is not None:
        append_records(Path(record), [result])
        print_fn(f"Recorded this episode to {record}")
    return result


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

"""Human play: a STARLING game at the terminal, recorded as an :class:`EpisodeRecord` (agent ``human``).

``starling play GAME`` calls :func:`play`. Meta commands (``help``, ``commands``, ``objective``,
``score``, ``quit``/``exit``) are answered here and never reach the game; everything else is a
game command. Line editing, history and tab completion of the admissible commands come from the
stdlib ``readline`` when stdin is a terminal; piped input works the same without it.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Callable

from ..envs.game_env import StarlingEnv
from ..collection import game_card
from ..records import EpisodeRecord, Step, append_records

META_COMMANDS = {
    "help": "how to play, these meta commands and the objective",
    "commands": "the commands the game understands right now",
    "objective": "what you have to do",
    "score": "your score and moves so far",
    "quit": "end the episode (also: exit, or end of input / Ctrl-D)",
}
QUIT = ("quit", "exit")


def _canonical(command: str) -> str:
    """How a typed command compares to the admissible list: case and spacing do not matter."""
    return " ".join(command.lower().split())


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
        options = [c[begin - offset:] for c in matches if begin - offset <= len(c)]
        return options[state] if state < len(options) else None

    try:
        readline.set_completer_delims(" ")
        readline.set_completer(complete)
        readline.parse_and_bind("tab: complete")
    except Exception:  # an unusual readline (libedit) may refuse a binding: editing still works
        pass


def play(game_dir: Path, *, record: Path | None, seed: int | None, max_steps: int | None,
         input_fn: Callable[[str], str] = input, print_fn: Callable[..., None] = print) -> EpisodeRecord:
    """Play one episode of the game in ``game_dir`` interactively; return (and optionally append) its record."""
    game_dir = Path(game_dir)
    env = StarlingEnv(game_dir, max_episode_steps=max_steps)
    try:
        started = time.monotonic()
        obs, info = env.reset(seed=seed)
        objective = info["objective"]
        transcript = [Step(command="", observation=obs, reward=0.0)]
        steps = invalid = 0
        won = lost = truncated = False
        reason = "quit"

        def show_commands() -> None:
            print_fn("You can try: " + ", ".join(info.get("admissible_commands", [])))

        def show_score() -> None:
            print_fn(f"Score {info['score']} of {info['max_score']}, after {info['moves']} moves "
                     f"({steps} commands sent to the game, {invalid} not admissible).")

        def show_help() -> None:
            print_fn("Type what you want to do in plain English (e.g. 'open door', 'take key', 'go north') "
                     "and press Enter.\nMeta commands (not sent to the game):")
            for name, what in META_COMMANDS.items():
                print_fn(f"  {name:<10} {what}")
            print_fn(f"Objective: {objective}")

        if input_fn is input:
            _enable_readline(lambda: sorted(set(info.get("admissible_commands", [])) | set(META_COMMANDS) | {"exit"}))

        print_fn(f"Objective: {objective}")
        print_fn("(type 'help' for help, 'commands' for what you can do now, 'quit' to stop)\n")
        print_fn(obs)
        while True:
            try:
                print_fn("")  # a blank line before the prompt, not inside it: readline redraws one-line prompts well
                line = input_fn(f"[score {info['score']}/{info['max_score']}, move {info['moves']}] > ")
            except EOFError:
                print_fn("")
                reason = "end of input"
                break
            except KeyboardInterrupt:
                print_fn("")
                reason = "interrupted"
                break
            command = line.strip()
            meta = _canonical(command)
            if not command:
                continue  # a blank line is not a move
            if meta in QUIT:
                break
            if meta == "help":
                show_help()
                continue
            if meta == "commands":
                show_commands()
                continue
            if meta == "objective":
                print_fn(f"Objective: {objective}")
                continue
            if meta == "score":
                show_score()
                continue
            admissible = {_canonical(c) for c in info.get("admissible_commands", [])}
            invalid += meta not in admissible
            obs, reward, terminated, truncated, info = env.step(command)
            steps += 1
            transcript.append(Step(command=command, observation=obs, reward=reward))
            print_fn(obs)
            if terminated or truncated:
                won, lost = bool(info["won"]), bool(info["lost"])
                reason = "won" if won else "lost" if lost else f"step limit ({max_steps}) reached"
                break
        wall = time.monotonic() - started
    finally:
        env.close()

    score, max_score = float(info["score"]), float(info["max_score"])
    if won:
        print_fn(f"\n*** You won! *** Final score {info['score']}/{info['max_score']} in {steps} commands.")
    else:
        print_fn(f"\nGame over ({reason}): final score {info['score']}/{info['max_score']} in {steps} commands; not won.")
    result = EpisodeRecord(
        agent="human", **game_card(game_dir), seed=seed, score=score, max_score=max_score, normalized_score=score / max_score if max_score else 0.0, won=won,
        steps=steps, invalid_commands=invalid, tokens=0, wall_time_s=round(wall, 3), transcript=transcript,
        objective=objective,
    )
    if record is not None:
        append_records(Path(record), [result])
        print_fn(f"Recorded this episode to {record}")
    return result

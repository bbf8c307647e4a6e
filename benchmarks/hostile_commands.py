"""Hostile commands: no command crashes ``step`` or desynchronises TextWorld's logic from the game.

On several games of the shipped benchmark, episodes start at a random point of the walkthrough (containers
open, things held) and mix the game's own admissible commands (so the game moves on) with hostile ones
built from them and from the game's object names: several clauses (``. , ; : ! ?``), ``then``, ``all``,
``all but X``, ``all except X``, ``X and Y`` lists, pronouns, ``again`` / ``g`` / ``oops``, odd
punctuation, very long input, unicode and control characters, random bytes. After every step:

- a **crash** is any exception from ``env.step`` other than the self-check's DesyncError;
- a **desync** is a DesyncError (the env's self-check: score vs the points of the goals the logic has
  seen met, won when all are), a score that differs from the verifier's count of the goals met, or a
  failure of the verifier's play-and-compare check at the state reached (every admissible command,
  played then undone, changes the facts and the score as the logic predicts);

and the step time is measured (``env.step`` alone). The play-and-compare check is skipped after a command
refused before it reached the game (the state is the one already checked). Targets: crashes 0, desyncs 0.
The last line is a JSON object.

    python benchmarks/hostile_commands.py [--commands 10000] [--games ID,ID,...] [--seed 0] [--compare-every 1]
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections import Counter

from starling_env.builder.failures import BuildFailed
from starling_env.builder.verify import Outcomes, check_state
from starling_env.envs import StarlingEnv
from starling_env.envs.engine import DesyncError, Engine

GAMES = [
    "boil-water-e4b0ab7",
    "do-laundry-m2041ca",
    "make-sandwich-e4baaa5",
    "set-table-ea63878",
    "wash-dishes-e2fc2a5",
    "take-out-trash-m1a72af",
    "make-tea-cook-pasta-h39bd05",
    "water-plants-dress-for-rain-h09d746",
]
SEPARATORS = [". ", ".", ", ", ",", "; ", ": ", "! ", "? ", " then ", ", then ", ". then ", " THEN ", " . "]
LIST_JOINS = [" and ", ", ", " and then ", ", and ", " AND ", " & "]
MULTI = ["all", "all but {x}", "all except {x}", "everything but {x}", "everything", "each {x}", "both {x}",
         "all {x}", "{x} and all", "all and all", "all but {x} and {y}", "all from {x}", "all in {x}"]  # fmt: skip
PRONOUNS = ["it", "them", "it and it", "all of them", "him", "her", "that"]
REPEATS = ["again", "g", "G", "again.", "oops {x}", "o {x}", "{c}. again", "{c}. g"]
PUNCTUATION = ["{c}!!!", '"{c}"', "{c}...", "[{c}]", "({c})", "{c} -- now", "{c};", "'{c}'", "{c}?", "<{c}>",
               "{c} {{", "{c} \\", "> {c}", "#{c}", "*{c}*", "{c}/{c}", "{c}|{c}"]  # fmt: skip
UNICODE = ["tåke {x}", "{c} ☕", "{c}\u200b", "ｔａｋｅ {x}", "éxamine {x}", "{c} \u202e", "{c}\u00a0{c}", "ñ{c}",
           "{c} 🍳🍳", "ß{x}", "{c}\u0301"]  # fmt: skip
CONTROL = ["{c}\x00", "\x07{c}", "{c}\n{c}", "\t{c}\r\n", "{c}\x1b[2J", "\x08\x08{c}", "{c}\x7f"]


def hostile(rng: random.Random, admissible: list[str], names: list[str]) -> tuple[str, str]:
    """(kind, command): a hostile command made of the game's own commands and object names."""
    c, c2, x, y = rng.choice(admissible), rng.choice(admissible), rng.choice(names), rng.choice(names)
    verb = rng.choice(["take", "drop", "open", "put", "insert", rng.choice(admissible).split()[0]])
    kind = rng.choice(["clauses", "then", "multi-object", "list", "pronoun", "repeat", "punctuation", "long",
                       "unicode", "control", "bytes"])  # fmt: skip

    def fill(template: str) -> str:
        return template.replace("{c}", c).replace("{x}", x).replace("{y}", y)

    if kind == "clauses":
        parts = [c, c2, rng.choice(admissible)][: rng.randint(2, 3)]
        command = rng.choice(SEPARATORS).join(parts)
    elif kind == "then":
        command = f"{c} then {c2}" if rng.random() < 0.5 else f"{c}, then {verb} {x}"
    elif kind == "multi-object":
        command = f"{verb} {fill(rng.choice(MULTI))}" + (f" {rng.choice(c.split()[-2:])}" if rng.random() < 0.3 else "")
    elif kind == "list":
        command = rng.choice([f"{verb} {x}{rng.choice(LIST_JOINS)}{y}", f"{c}{rng.choice(LIST_JOINS)}{x}"])
    elif kind == "pronoun":
        command = f"{verb} {rng.choice(PRONOUNS)}" + (f" {' '.join(c.split()[-2:])}" if rng.random() < 0.4 else "")
    elif kind == "repeat":
        command = fill(rng.choice(REPEATS))
    elif kind == "punctuation":
        command = fill(rng.choice(PUNCTUATION))
    elif kind == "long":
        command = rng.choice([" ".join([c] * rng.randint(10, 200)), c + " " + "x" * rng.randint(200, 5000)])
    elif kind == "unicode":
        command = fill(rng.choice(UNICODE))
    elif kind == "control":
        command = fill(rng.choice(CONTROL))
    else:
        command = bytes(rng.randrange(256) for _ in range(rng.randint(1, 60))).decode("latin-1")
    return kind, command


def compare(engine: Engine, history: list[str], met: set[int]) -> str | None:
    """The verifier's play-and-compare check at the current state; the failure, if any."""
    try:
        check_state(engine, history[-5:], met)
    except (BuildFailed, DesyncError) as exc:
        return str(exc)
    return None


def points_of_goals_met(engine: Engine, met: set[int]) -> int:
    """The verifier's count of the points of the goals met, ``met`` updated with the logic's state now."""
    outcomes = Outcomes.of(engine.game)
    met |= outcomes.met(engine.progression.state)
    return outcomes.points(met)


def run_game(game: str, hostile_target: int, rng: random.Random, compare_every: int, stats: Counter,
             times: list[tuple[float, str]], problems: list[str]) -> None:  # fmt: skip
    env = StarlingEnv(game, max_episode_steps=None)
    engine = env.engine
    assert isinstance(engine, Engine)
    names = sorted({info.name for info in engine.game.infos.values() if info.name})
    walkthrough = env.walkthrough()
    tried = 0
    while tried < hostile_target:
        _, info = env.reset(seed=rng.randrange(1 << 16))
        history = walkthrough[: rng.randrange(len(walkthrough))]
        met: set[int] = set()
        for command in history:
            _, _, _, _, info = env.step(command)
            points_of_goals_met(engine, met)
        for step in range(30):
            if tried >= hostile_target:
                break
            if rng.random() < 0.7:
                kind, command = hostile(rng, info["admissible_commands"], names)
                tried += 1
            else:
                kind, command = "admissible", rng.choice(info["admissible_commands"])
            stats[f"kind:{kind}"] += 1
            started = time.perf_counter()
            try:
                _, _, terminated, _, info = env.step(command)
            except DesyncError as exc:
                stats["desyncs"] += 1
                problems.append(f"{game}: {exc}")
                break
            except Exception as exc:  # noqa: BLE001  (counting crashes is the point)
                stats["crashes"] += 1
                problems.append(f"{game}: {command!r}: {type(exc).__name__}: {exc}")
                break
            finally:
                times.append((time.perf_counter() - started, f"{game}: {command[:60]!r} ({kind})"))
            stats["commands"] += 1
            stats[f"refused:{engine.refused or 'no (played)'}"] += 1
            history.append(command)
            problem = None
            if info["score"] != points_of_goals_met(engine, met):
                problem = f"score {info['score']} but the goals met are worth {points_of_goals_met(engine, met)}"
            elif terminated:
                break
            elif engine.refused not in ("meta", "multi-action") and step % compare_every == 0:  # else: not sent
                stats["compared_states"] += 1
                problem = compare(engine, history, met)
            if problem:
                stats["desyncs"] += 1
                problems.append(f"{game}: after {history[-3:]}: {problem}")
                break
    stats["hostile"] += tried
    env.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commands", type=int, default=10_000, help="hostile commands in all (spread over the games)")
    parser.add_argument("--games", default=",".join(GAMES[:6]), help="comma-separated game ids of the benchmark")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--compare-every", type=int, default=1, help="run the play-and-compare check every N steps")
    args = parser.parse_args()
    games = args.games.split(",")
    rng = random.Random(args.seed)
    stats: Counter = Counter()
    times: list[tuple[float, str]] = []  # (seconds, what)
    problems: list[str] = []
    started = time.perf_counter()
    for game in games:
        before = stats["hostile"]
        run_game(game, -(-args.commands // len(games)), rng, args.compare_every, stats, times, problems)
        print(f"{game}: {stats['hostile'] - before} hostile commands, {stats['crashes']} crashes, "
              f"{stats['desyncs']} desyncs so far")  # fmt: skip
    for problem in problems[:10]:
        print("PROBLEM", problem)
    times.sort()
    kinds = {k.split(":", 1)[1]: v for k, v in sorted(stats.items()) if k.startswith("kind:")}
    refused = {k.split(":", 1)[1]: v for k, v in sorted(stats.items()) if k.startswith("refused:")}
    result = {
        "games": len(games),
        "commands_tried": len(times),
        "hostile_commands": stats["hostile"],
        "crashes": stats["crashes"],
        "desyncs": stats["desyncs"],
        "compared_states": stats["compared_states"],
        "max_step_ms": round(1000 * times[-1][0], 2),
        "slowest_step": times[-1][1],
        "p99_step_ms": round(1000 * times[int(0.99 * (len(times) - 1))][0], 2),
        "mean_step_ms": round(1000 * sum(t for t, _ in times) / len(times), 3),
        "kinds": kinds,
        "refused": refused,
        "seconds": round(time.perf_counter() - started, 1),
    }
    print(f"{result['commands_tried']} commands ({result['hostile_commands']} hostile) on {len(games)} games: "
          f"{result['crashes']} crashes, {result['desyncs']} desyncs ({result['compared_states']} states compared "
          f"with the verifier's check); step time max {result['max_step_ms']} ms, p99 {result['p99_step_ms']} ms, "
          f"mean {result['mean_step_ms']} ms; refused {refused}")  # fmt: skip
    print(json.dumps(result))


if __name__ == "__main__":
    main()

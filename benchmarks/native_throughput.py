"""Native engine throughput: steps/s of the native engine and of the Inform 7 build, in one run.

On the same shipped games and the same seeded random admissible commands (the engines agree on the
admissible commands, so one seed gives one walk), prints the steps/s, in this one process, of:
- ``StarlingEnv(engine="inform7")``: today's env (jericho + TextWorld's logic);
- ``StarlingEnv(engine="native")``: the same env contract (admissible commands and full text on);
- ``NativeEngine`` alone (step + admissible commands, no Gymnasium wrapper),
their ratios (targets: native env >= 50,000 steps/s per core and >= 30x the Inform 7 env), the memory
one more native env of an open game costs (target < 5 MB), and the time of ``get_state`` / ``set_state``
(target < 5 us). The native memo (admissible commands and texts per state) starts empty for each figure:
they include its misses. The games are played in ``--repeats`` passes, one after the other in one process, and
each figure is that of its best pass: on a shared machine other work only ever slows a pass down (by as much as
1.5x here from one minute to the next), while a pass still pays its share of the process's garbage collection
(best-of-N per game would pick the runs that a full collection happened to miss).
Last line: a JSON object of the figures.

``--per-verb`` adds where a cold step's time goes: per first word of the command, its share of the steps and of the
time, its step and admissible-command times and how often its text missed the memo (the figures to beat next).

    python benchmarks/native_throughput.py [--games N] [--steps N] [--inform7-steps N] [--repeats N] [--per-verb]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import time
import tracemalloc
from pathlib import Path

from env_throughput import starling  # this folder is on sys.path when a script of it runs

from starling_env.collection import shipped_collections
from starling_env.envs import StarlingEnv
from starling_env.native import world
from starling_env.native.engine import NativeEngine
from starling_env.native.world import load_world


def sample_games(n: int) -> list[Path]:
    """``n`` games spread over every shipped version, in a fixed order."""
    games = sorted(g for c in shipped_collections() for g in c.iterdir() if (g / "spec.json").exists())
    step = max(1, len(games) // n)
    return games[::step][:n]


def cold(game: Path) -> None:
    """Empty the game's native memos (admissible commands and texts per state): each figure pays its misses."""
    load_world(game).tables = None


def env_rate(game: Path, engine: str, steps: int, seed: int) -> float:
    cold(game)
    return starling(game, steps, seed, engine)


def cold_engine(game: Path, seed: int) -> tuple[NativeEngine, random.Random]:
    """A reset engine of ``game`` with empty memos, and the random walk's generator for ``seed``."""
    cold(game)
    engine = NativeEngine(game / "game.z8")
    engine.reset()
    return engine, random.Random(seed)


def engine_rate(game: Path, steps: int, seed: int) -> float:
    engine, rng = cold_engine(game, seed)
    started = time.perf_counter()
    for _ in range(steps):
        engine.step(rng.choice(engine.admissible_commands()))
        if engine.won or engine.lost:
            engine.reset()
    return steps / (time.perf_counter() - started)


def per_verb(games: list[Path], steps: int) -> dict[str, dict[str, float]]:
    """Per verb, over a cold walk of each game: share of steps and of time, us per step and per admissible
    lookup, and the share of its steps whose text missed the memo."""
    totals: dict[str, list[float]] = {}  # verb -> [steps, step s, admissible s, misses]
    for i, game in enumerate(games):
        engine, rng = cold_engine(game, i)
        commands = engine.admissible_commands()
        for _ in range(steps):
            command = rng.choice(commands)
            texts = len(engine._t.texts)
            started = time.perf_counter()
            engine.step(command)
            stepped = time.perf_counter()
            commands = engine.admissible_commands()
            row = totals.setdefault(command.split()[0], [0, 0.0, 0.0, 0])
            row[0] += 1
            row[1] += stepped - started
            row[2] += time.perf_counter() - stepped
            row[3] += len(engine._t.texts) != texts
            if engine.won or engine.lost:
                engine.reset()
                commands = engine.admissible_commands()
    n, seconds = sum(r[0] for r in totals.values()), sum(r[1] + r[2] for r in totals.values())
    return {
        verb: {
            "share_of_steps": round(r[0] / n, 3),
            "share_of_time": round((r[1] + r[2]) / seconds, 3),
            "step_us": round(1e6 * r[1] / r[0], 1),
            "admissible_us": round(1e6 * r[2] / r[0], 1),
            "text_misses": round(r[3] / r[0], 2),
        }
        for verb, r in sorted(totals.items(), key=lambda kv: -(kv[1][1] + kv[1][2]))
    }


def memory_per_env(game: Path, n: int = 50) -> float:
    """Bytes one more native env of an already open game holds, after a reset and 20 steps."""
    StarlingEnv(game, engine="native").close()  # the game's shared tables, loaded before measuring
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    envs = []
    for i in range(n):
        env = StarlingEnv(game, engine="native")
        _, info = env.reset(seed=i)
        rng = random.Random(i)
        for _ in range(20):
            _, _, done, _, info = env.step(rng.choice(info["admissible_commands"]))
            if done:
                _, info = env.reset(seed=i)
        envs.append(env)
    gc.collect()
    used = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    return used / n


def state_times(game: Path, repeats: int = 20_000) -> tuple[float, float]:
    """Microseconds per get_state and per set_state of a native StarlingEnv, 30 steps into an episode."""
    env = StarlingEnv(game, engine="native", max_episode_steps=None)
    _, info = env.reset(seed=0)
    rng = random.Random(0)
    for _ in range(30):
        _, _, done, _, info = env.step(rng.choice(info["admissible_commands"]))
        if done:
            _, info = env.reset(seed=0)
    started = time.perf_counter()
    for _ in range(repeats):
        state = env.get_state()
    get_us = (time.perf_counter() - started) / repeats * 1e6
    started = time.perf_counter()
    for _ in range(repeats):
        env.set_state(state)
    set_us = (time.perf_counter() - started) / repeats * 1e6
    env.close()
    return get_us, set_us


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--games", type=int, default=10, help="shipped games, spread over the versions")
    parser.add_argument("--steps", type=int, default=20_000, help="native steps per game")
    parser.add_argument("--inform7-steps", type=int, default=1_000, help="Inform 7 steps per game")
    parser.add_argument("--repeats", type=int, default=3, help="passes over the games; the best one counts")
    parser.add_argument("--per-verb", action="store_true", help="also time a cold walk per verb")
    args = parser.parse_args()
    games = sample_games(args.games)
    load_s = []
    for game in games:  # load time is not step time: measured apart, once per game and process
        world._worlds.clear()
        started = time.perf_counter()
        load_world(game)
        load_s.append(time.perf_counter() - started)
    passes = []  # per pass over the games, per game: (inform7 env, native env, native engine) steps/s
    for _ in range(args.repeats):
        passes.append([(env_rate(g, "inform7", args.inform7_steps, i), env_rate(g, "native", args.steps, i),
                        engine_rate(g, args.steps, i)) for i, g in enumerate(games)])  # fmt: skip
    n = len(games)
    # A pass's figure averages its games' rates as time per step (the harmonic mean: every game weighs the same
    # number of steps); each figure is that of its best pass.
    means = [[n / sum(1 / rates[k] for rates in rows) for rows in passes] for k in range(3)]
    inform7, native_env, native_engine = (max(m) for m in means)
    rows = passes[means[1].index(native_env)]
    for game, (game_inform7, game_env, game_engine) in zip(games, rows, strict=True):
        print(
            f"{game.parent.name}/{game.name:<42} inform7 env {game_inform7:7.0f}  native env {game_env:8.0f}  "
            f"native engine {game_engine:8.0f} steps/s  ({game_env / game_inform7:5.1f}x)"
        )
    memory = memory_per_env(games[0])
    get_us, set_us = state_times(games[0])
    print(f"inform7 env   : {inform7:9.0f} steps/s")
    print(f"native env    : {native_env:9.0f} steps/s  (target >= 50,000 per core)")
    print(f"native engine : {native_engine:9.0f} steps/s")
    print(f"native env / inform7 env: {native_env / inform7:.1f}x (target >= 30)")
    print(f"memory per native env: {memory / 1e6:.3f} MB (target < 5)")
    print(f"get_state {get_us:.2f} us, set_state {set_us:.2f} us (target < 5)")
    print(f"loading a game's tables: mean {sum(load_s) / n:.2f} s, max {max(load_s):.2f} s (once per game and process)")
    verbs = per_verb(games, args.steps) if args.per_verb else {}
    for verb, f in list(verbs.items())[:12]:
        print(
            f"  {verb:<10} {f['share_of_steps']:5.0%} of steps {f['share_of_time']:5.0%} of time  step "
            f"{f['step_us']:6.1f} us  admissible {f['admissible_us']:5.1f} us  text misses {f['text_misses']:4.0%}"
        )
    print(
        json.dumps(
            {
                "games": [f"{g.parent.name}/{g.name}" for g in games],
                "native_steps_per_game": args.steps,
                "inform7_steps_per_game": args.inform7_steps,
                "repeats": args.repeats,
                "inform7_env_steps_per_s": round(inform7),
                "native_env_steps_per_s": round(native_env),
                "native_engine_steps_per_s": round(native_engine),
                "native_over_inform7": round(native_env / inform7, 1),
                "memory_per_native_env_mb": round(memory / 1e6, 4),
                "get_state_us": round(get_us, 2),
                "set_state_us": round(set_us, 2),
                "load_s_mean": round(sum(load_s) / n, 3),
                "load_s_max": round(max(load_s), 3),
                "cores": os.cpu_count(),
                **({"per_verb": verbs} if verbs else {}),
            }
        )
    )


if __name__ == "__main__":
    main()

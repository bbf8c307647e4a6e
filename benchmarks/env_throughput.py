"""Environment throughput: StarlingEnv vs raw TextWorld, vector envs, and import time.

On one game and the same seeded random admissible actions, prints the steps/s of raw
``textworld.start`` (requesting the same infos StarlingEnv returns by default) and of StarlingEnv,
and their ratio (target >= 0.85); then the steps/s of vector envs with 1 and 2 workers: StarlingVectorEnv
with each of ``--vector-envs`` (default 2, 8 and 16 envs) in 1 and in 2 worker processes (target >= 1.6x
on 2 cores, checked at the largest: a learner on 2 cores runs 8-32 envs), and for reference Gymnasium's
AsyncVectorEnv with one env per process (1 and 2 envs); then the time of
``import starling_env`` with a 150-game collection registered (target < 1 s). Each throughput is the best
of ``--repeats`` runs (the development machine is a shared VM). Last line: a JSON object of the figures.

    python benchmarks/env_throughput.py [--collection DIR] [--game ID] [--steps N] [--vector-envs 2,8,16] [--repeats N]

Without --collection it builds the seed examples into a temporary collection first.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import gymnasium as gym
import numpy as np
import textworld

import starling_env  # noqa: F401  (registers the ids)
from starling_env.envs import StarlingEnv, StarlingVectorEnv

ROOT = Path(__file__).resolve().parents[1]


def raw_textworld(z8: Path, steps: int, seed: int) -> float:
    infos = textworld.EnvInfos(
        admissible_commands=True, score=True, max_score=True, won=True, lost=True, moves=True, objective=True
    )
    env = textworld.start(str(z8), request_infos=infos)
    rng = random.Random(seed)
    state = env.reset()
    started = time.perf_counter()
    for _ in range(steps):
        state, _, done = env.step(rng.choice(state["admissible_commands"]))
        if done:
            state = env.reset()
    return steps / (time.perf_counter() - started)


def starling(game: Path, steps: int, seed: int, engine: str = "inform7") -> float:
    env = StarlingEnv(game, max_episode_steps=None, engine=engine)
    rng = random.Random(seed)
    _, info = env.reset(seed=seed)
    started = time.perf_counter()
    for _ in range(steps):
        _, _, terminated, truncated, info = env.step(rng.choice(info["admissible_commands"]))
        if terminated or truncated:
            _, info = env.reset()
    return steps / (time.perf_counter() - started)


def vector(envs: gym.vector.VectorEnv, steps: int, seed: int) -> float:
    """Steps/s of ``envs`` over about ``steps`` env steps in all (random admissible commands)."""
    rng = np.random.default_rng(seed)
    _, infos = envs.reset(seed=seed)
    vector_steps = max(1, steps // envs.num_envs)
    started = time.perf_counter()
    for _ in range(vector_steps):
        actions = [cmds[rng.integers(len(cmds))] for cmds in infos["admissible_commands"]]
        _, _, _, _, infos = envs.step(actions)  # finished episodes reset automatically
    elapsed = time.perf_counter() - started
    envs.close()
    return vector_steps * envs.num_envs / elapsed


def starling_vector(game: Path, num_envs: int, workers: int, steps: int, seed: int) -> float:
    return vector(
        StarlingVectorEnv([partial(StarlingEnv, game, max_episode_steps=None)] * num_envs, workers), steps, seed
    )


def async_vector(game: Path, num_envs: int, steps: int, seed: int) -> float:
    return vector(
        gym.vector.AsyncVectorEnv([partial(StarlingEnv, game, max_episode_steps=None)] * num_envs, shared_memory=False),
        steps,
        seed,
    )


def best(repeats: int, measure: Callable[..., float], *args: object) -> float:
    return max(measure(*args) for _ in range(repeats))


def import_time(games: int = 150) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        manifest = {
            "suite": "fake",
            "version": 1,
            "games": [
                {"id": f"game-{i:03d}", "split": "train", "difficulty": "easy", "skills": ["boil_water"]}
                for i in range(games)
            ],
        }
        (Path(tmp) / "manifest.json").write_text(json.dumps(manifest))
        code = "import time; t = time.perf_counter(); import starling_env; print(time.perf_counter() - t)"
        runs = [
            float(
                subprocess.run(
                    [sys.executable, "-c", code],
                    capture_output=True,
                    text=True,
                    check=True,
                    cwd=tmp,  # not a checkout, whose starling_env would shadow the installed one
                    env={**os.environ, "STARLING_COLLECTIONS": tmp},
                ).stdout
            )
            for _ in range(3)
        ]
    return min(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--collection", type=Path, help="a built collection (default: build the seeds)")
    parser.add_argument("--game", default="boil-water-example")
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--vector-envs", default="2,8,16", help="comma-separated env counts for StarlingVectorEnv")
    parser.add_argument("--repeats", type=int, default=2, help="runs per throughput figure; the best counts")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        collection = args.collection
        if collection is None:
            collection = Path(tmp)
            subprocess.run(
                [sys.executable, "-m", "starling_env.lab.cli", "build", str(ROOT / "game_seeds"), "--out", tmp],
                check=True,
                capture_output=True,
                cwd=tmp,
            )
        game = collection / args.game
        raw = best(args.repeats, raw_textworld, game / "game.z8", args.steps, 0)
        ours = best(args.repeats, starling, game, args.steps, 0)
        print(f"raw textworld : {raw:8.0f} steps/s")
        print(f"StarlingEnv   : {ours:8.0f} steps/s  ({ours / raw:.2f}x raw; target >= 0.85)")
        scaling = {}
        for n in map(int, args.vector_envs.split(",")):
            one = best(args.repeats, starling_vector, game, n, 1, args.steps, 0)
            two = best(args.repeats, starling_vector, game, n, 2, args.steps, 0)
            scaling[n] = (one, two)
            print(f"StarlingVectorEnv, {n:2d} envs: {one:8.0f} steps/s in 1 worker, {two:.0f} in 2 ({two / one:.2f}x)")
        n = max(scaling)
        one, two = scaling[n]
        print(f"  {n} envs: 2 workers at {two / one:.2f}x 1 worker (target >= 1.6 on 2 cores)")
        async_one = best(args.repeats, async_vector, game, 1, args.steps, 0)
        async_two = best(args.repeats, async_vector, game, 2, args.steps, 0)
        print(
            f"AsyncVectorEnv (1 env per process): {async_one:8.0f} steps/s with 1 env, {async_two:.0f} with 2 "
            f"({async_two / async_one:.2f}x)"
        )
    imported = import_time()
    print(f"import starling_env with 150 registered games: {imported * 1000:.0f} ms (target < 1000)")
    print(
        json.dumps(
            {
                "game": args.game,
                "raw_textworld_steps_per_s": round(raw),
                "starling_steps_per_s": round(ours),
                "starling_over_raw": round(ours / raw, 3),
                "vector_envs": n,
                "vector_1_worker_steps_per_s": round(one),
                "vector_2_workers_steps_per_s": round(two),
                "vector_2_over_1": round(two / one, 3),
                "vector_2_over_1_by_envs": {k: round(b / a, 3) for k, (a, b) in scaling.items()},
                "async_1_env_steps_per_s": round(async_one),
                "async_2_envs_steps_per_s": round(async_two),
                "async_2_over_1": round(async_two / async_one, 3),
                "import_s_150_games": round(imported, 3),
                "cores": os.cpu_count(),
            }
        )
    )


if __name__ == "__main__":
    main()

"""Evaluation throughput: the random agent on all 100 games x 1 episode x 100 steps, 1 and 2 workers.

Prints episodes per minute and the wall time for each worker count (target: under 2 minutes with
2 workers on the 2-core machine), then the same run as Ray tasks on a local Ray instance of 2 CPUs
(the ``scale`` extra; skipped with a note when Ray is not installed) and its ratio to the 2-worker
process pool on the same machine. Last line: a JSON object of the figures.

    python benchmarks/eval_throughput.py [--episodes 1] [--max-steps 100] [--engine native] [--no-ray]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import tempfile
import time
from pathlib import Path

from starling_env.lab.evaluate import EvalConfig, evaluate, split_env_ids

TARGET_S = 120.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=1)
    parser.add_argument("--max-steps", type=int, default=100)
    parser.add_argument("--engine", default="inform7", help="inform7 (the reference) | native")
    parser.add_argument("--no-ray", action="store_true", help="leave out the Ray run")
    args = parser.parse_args()
    config = EvalConfig(
        agent="random",
        env_ids=tuple(split_env_ids("all")),
        episodes=args.episodes,
        max_steps=args.max_steps,
        env_kwargs={"engine": args.engine} if args.engine != "inform7" else {},
    )
    figures: dict[str, float] = {}
    runs: list[tuple[str, int, str | None]] = [("", 1, None), ("", 2, None)]
    if not args.no_ray and importlib.util.find_spec("ray") is not None:
        runs.append(("_ray", 2, "local"))  # a local Ray instance of 2 CPUs, started (and timed) by the run
    elif not args.no_ray:
        print("Ray is not installed (pip install '.[scale]'): no Ray run")
    for suffix, workers, ray in runs:
        with tempfile.TemporaryDirectory() as tmp:
            started = time.perf_counter()
            records = evaluate(config, Path(tmp), workers=workers, ray=ray)
            wall = time.perf_counter() - started
        figures[f"episodes_per_min_{workers}_workers{suffix}"] = round(len(records) / wall * 60, 1)
        figures[f"wall_s_{workers}_workers{suffix}"] = round(wall, 1)
        print(
            f"{workers} worker(s){' on Ray' if ray else ''}: {len(records)} episodes in {wall:.1f} s"
            f" ({len(records) / wall * 60:.1f} episodes/min)"
        )
    if "wall_s_2_workers_ray" in figures:  # > 1: Ray is faster
        figures["ray_vs_pool"] = round(figures["wall_s_2_workers"] / figures["wall_s_2_workers_ray"], 2)
        print(f"Ray / process pool throughput, 2 CPUs each, Ray's start included: {figures['ray_vs_pool']}")
    print(
        f"target: all games x 1 episode x 100 steps under {TARGET_S:.0f} s with 2 workers -> "
        f"{'met' if figures['wall_s_2_workers'] <= TARGET_S else 'MISSED'}"
    )
    print(
        json.dumps(
            {
                "games": len(config.env_ids),
                "episodes": args.episodes,
                "max_steps": args.max_steps,
                "engine": args.engine,
                **figures,
                "target_s": TARGET_S,
                "cores": os.cpu_count(),
            }
        )
    )


if __name__ == "__main__":
    main()

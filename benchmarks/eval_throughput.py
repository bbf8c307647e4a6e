"""Evaluation throughput: the random agent on all 100 games x 1 episode x 100 steps, 1 and 2 workers.

Prints episodes per minute and the wall time for each worker count (target: under 2 minutes with
2 workers on the 2-core machine). Last line: a JSON object of the figures.

    python benchmarks/eval_throughput.py [--episodes 1] [--max-steps 100]
"""

from __future__ import annotations

import argparse
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
    args = parser.parse_args()
    config = EvalConfig(
        agent="random", env_ids=tuple(split_env_ids("all")), episodes=args.episodes, max_steps=args.max_steps
    )
    figures: dict[str, float] = {}
    for workers in (1, 2):
        with tempfile.TemporaryDirectory() as tmp:
            started = time.perf_counter()
            records = evaluate(config, Path(tmp), workers=workers)
            wall = time.perf_counter() - started
        figures[f"episodes_per_min_{workers}_workers"] = round(len(records) / wall * 60, 1)
        figures[f"wall_s_{workers}_workers"] = round(wall, 1)
        print(
            f"{workers} worker(s): {len(records)} episodes in {wall:.1f} s"
            f" ({len(records) / wall * 60:.1f} episodes/min)"
        )
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
                **figures,
                "target_s": TARGET_S,
                "cores": os.cpu_count(),
            }
        )
    )


if __name__ == "__main__":
    main()

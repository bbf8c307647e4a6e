"""Offline generation throughput: verified games per minute with 1 and 2 workers.

Runs the same medium-difficulty task list (seeded) through the offline backend into a fresh
collection with 1 worker and then with 2, and prints verified games per minute for each, their
ratio, and the share of candidates that passed verification on the first try. Last line: a JSON
object of the figures.

    python benchmarks/generate_throughput.py [--n 12] [--difficulty medium]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

from starling_env.generate.offline import OfflineBackend
from starling_env.generate.pipeline import Generator, plan_tasks
from starling_env.generate.seeds import load_seeds

SEEDS = Path(__file__).resolve().parents[1] / "game_seeds"


def run(tasks, seeds, workers: int) -> tuple[float, list]:
    with tempfile.TemporaryDirectory() as tmp:
        generator = Generator(OfflineBackend(seeds), Path(tmp), workers=workers)
        started = time.perf_counter()
        outcomes = generator.run(tasks)
        elapsed = time.perf_counter() - started
    published = sum(o.status == "published" for o in outcomes)
    return published / elapsed * 60, outcomes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=12)
    parser.add_argument("--difficulty", default="medium", choices=["easy", "medium", "hard"])
    args = parser.parse_args()
    seeds = load_seeds(SEEDS)
    tasks = plan_tasks(
        seeds,
        skills=None,
        difficulty=args.difficulty,
        compose=2 if args.difficulty == "hard" else 1,
        count=args.n,
        split="train",
        seed=2026,
        compatible=OfflineBackend.compatible,
    )
    one, outcomes = run(tasks, seeds, workers=1)
    two, _ = run(tasks, seeds, workers=2)
    first_try = sum(o.status == "published" and o.attempts == 1 for o in outcomes) / len(outcomes)
    print(f"1 worker : {one:.1f} verified games/min ({args.n} {args.difficulty} tasks)")
    print(f"2 workers: {two:.1f} verified games/min ({two / one:.2f}x)")
    print(f"first-try verification pass rate: {first_try:.0%}")
    print(
        json.dumps(
            {
                "difficulty": args.difficulty,
                "tasks": args.n,
                "games_per_min_1_worker": round(one, 1),
                "games_per_min_2_workers": round(two, 1),
                "speedup_2_over_1": round(two / one, 3),
                "first_try_pass_rate": round(first_try, 3),
                "cores": os.cpu_count(),
            }
        )
    )


if __name__ == "__main__":
    main()

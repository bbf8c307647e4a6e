"""Offline generation at scale: does every candidate build and verify?

Plans ``--candidates`` tasks over every seed with an example, a third per difficulty (easy and
medium take the skills in turn; hard composes two skills, as ``starling generate`` does), and puts
each task's first candidate (attempt 0) through build + verify on a ``--workers`` thread pool, as
the generation pipeline does. Nothing is published. Last line: a JSON object with the candidates,
how many built, the failures by kind and the verified games per minute.

    python benchmarks/offline_generation.py [--candidates 500] [--workers 2] [--seeds game_seeds]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from starling_env.builder.failures import FailureKind
from starling_env.builder.verify import verify_spec
from starling_env.generate.offline import OfflineBackend
from starling_env.generate.pipeline import Task, plan_tasks
from starling_env.generate.seeds import load_seeds

SEEDS = Path(__file__).resolve().parents[1] / "game_seeds"
TIERS = ("easy", "medium", "hard")


def plan(backend: OfflineBackend, n: int, seed: int) -> list[Task]:
    """``n`` tasks, a third per tier; each tier has its own random seed."""
    tasks: list[Task] = []
    for k, tier in enumerate(TIERS):
        count = n // len(TIERS) + (k < n % len(TIERS))
        tasks += plan_tasks(
            backend.seeds,
            skills=None,
            difficulty=tier,
            compose=2 if tier == "hard" else 1,
            count=count,
            split="train",
            seed=seed + k,
            batch=tier,
            compatible=backend.compatible,
            cycle=tier != "hard",
        )
    return tasks


def check(backend: OfflineBackend, task: Task) -> list[str]:
    """The failure kinds of the task's first candidate ([] when it builds and verifies)."""
    try:
        text = backend.session(task).propose(0, None)
    except Exception as exc:  # noqa: BLE001 - a bug of the backend's: counted, the run goes on
        return [f"{FailureKind.internal_error.value}: {type(exc).__name__}: {exc}"]
    if text is None:
        return [FailureKind.no_candidate.value]
    with tempfile.TemporaryDirectory(prefix="starling-bench-") as tmp:
        report = verify_spec(text, Path(tmp) / "game")
    return [f.kind.value for f in report.failures]


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--candidates", type=int, default=500)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seeds", type=Path, default=SEEDS)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    seeds = load_seeds(args.seeds)
    backend = OfflineBackend(seeds)
    for problem in seeds.problems + backend.skipped:
        print(f"skipped: {problem}")
    tasks = plan(backend, args.candidates, args.seed)
    started = time.perf_counter()
    failed: Counter[str] = Counter()
    built = 0
    with ThreadPoolExecutor(max_workers=args.workers) as pool:
        results = zip(tasks, pool.map(lambda t: check(backend, t), tasks), strict=True)
        for done, (task, kinds) in enumerate(results, start=1):
            built += not kinds
            failed.update(set(kinds))
            if kinds:
                print(f"FAILED {task.batch} {task.index} {list(task.skills)}: {kinds}", flush=True)
            if done % 25 == 0:
                print(f"{done}/{len(tasks)} candidates, {built} built", flush=True)
    minutes = (time.perf_counter() - started) / 60
    skills = {s for t in tasks for s in t.skills}
    print(
        json.dumps(
            {
                "candidates": len(tasks),
                "built": built,
                "failed_by_kind": dict(sorted(failed.items())),
                "games_per_min": round(built / minutes, 2),
                "minutes": round(minutes, 1),
                "workers": args.workers,
                "skills": len(skills),
                "difficulties": list(TIERS),
                "cores": os.cpu_count(),
            }
        )
    )


if __name__ == "__main__":
    main()

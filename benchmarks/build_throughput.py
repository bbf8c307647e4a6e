"""Build + verify throughput over the seed examples.

Prints the median seconds to build and verify one game on one core (games one after another), and
the games per minute with every core busy (one sandboxed build per core). Target: median <= 5 s on a
2-core machine. Last line: a JSON object of the figures.

    python benchmarks/build_throughput.py [--rounds 2]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from starling_env.builder.verify import Limits, verify_spec

SEEDS = sorted((Path(__file__).resolve().parents[1] / "game_seeds").glob("*/example.json"))
TARGET_S = 5.0


def build_one(path: Path, limits: Limits) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        report = verify_spec(path.read_text(), Path(tmp) / "game", limits)
        elapsed = time.perf_counter() - started
    if not report.passed:
        raise SystemExit(f"{path} failed verification:\n{report.summary()}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2, help="times each seed example is built")
    args = parser.parse_args()
    limits = Limits()
    jobs = SEEDS * args.rounds

    serial = [build_one(p, limits) for p in jobs]
    median = statistics.median(serial)
    print(
        f"one core : median {median:.2f} s per game (min {min(serial):.2f}, max {max(serial):.2f})"
        f" over {len(jobs)} builds"
    )

    cores = os.cpu_count() or 1
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=cores) as pool:  # each build runs in its own subprocess
        list(pool.map(lambda p: build_one(p, limits), jobs))
    wall = time.perf_counter() - started
    per_minute = len(jobs) / wall * 60
    print(f"{cores} cores  : {per_minute:.1f} games/min ({len(jobs)} games in {wall:.1f} s)")
    print(f"target   : median <= {TARGET_S} s -> {'met' if median <= TARGET_S else 'MISSED'}")
    print(
        json.dumps(
            {
                "median_build_verify_s": round(median, 3),
                "games_per_min_all_cores": round(per_minute, 1),
                "cores": cores,
                "games": len(jobs),
                "target_s": TARGET_S,
                "median_over_target": round(median / TARGET_S, 3),
                "walks": limits.walks,
                "walk_length": limits.walk_length,
            }
        )
    )


if __name__ == "__main__":
    main()

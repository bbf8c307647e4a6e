"""The differential check over every shipped game: the native engine against the Inform 7 build.

For each game of every shipped STARLING-100 version: the walkthrough and ``--walks`` seeded random walks of
``--walk-length`` steps, both engines in lockstep, every step compared (facts, score, won / lost, sorted
admissible commands, whitespace-normalised text), plus free-text commands tried from states along the walks
(reported, not counted). Prints the agreement per field over all steps, writes ``summary.json`` (per game)
and ``differences.md`` (every differing step, both texts) into ``--out``. Last line: a JSON object.

    python benchmarks/engine_diff.py [--walks 4] [--walk-length 50] [--workers 2] [--out results/engine-diff]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from pathlib import Path

from rich.progress import track

from starling_env.collection import load_manifest, shipped_collections
from starling_env.files import write_atomic
from starling_env.native.diff import FIELDS, engine_diff


def check(game: Path, walks: int, walk_length: int) -> dict:
    report = engine_diff(game, walks=walks, walk_length=walk_length)
    return {"suite": game.parent.name, "passed": report.passed, **report.to_dict()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--walks", type=int, default=4)
    parser.add_argument("--walk-length", type=int, default=50)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--out", type=Path, default=Path("results/engine-diff"))
    parser.add_argument("--limit", type=int, default=None, help="only the first N games (a quick look)")
    args = parser.parse_args()
    games = [c / g.id for c in shipped_collections() for g in load_manifest(c).games][: args.limit]
    started = time.perf_counter()
    with ProcessPoolExecutor(args.workers) as pool:
        work = partial(check, walks=args.walks, walk_length=args.walk_length)
        reports = list(track(pool.map(work, games), total=len(games), description="engine diff"))
    steps = sum(r["steps"] for r in reports)
    equal = {f: sum(r["equal"][f] for r in reports) for f in FIELDS}
    corpus = sum(r["corpus_steps"] for r in reports)
    corpus_equal = sum(r["corpus_equal"] for r in reports)
    for name in FIELDS:
        print(f"{name:<11} equal at {equal[name]}/{steps} steps ({equal[name] / steps:.3%})")
    print(f"free text   equal at {corpus_equal}/{corpus} commands ({corpus_equal / max(corpus, 1):.1%}), reported only")
    failing = [r["game"] for r in reports if not r["passed"]]
    print(f"games with a difference at a step of admissible commands: {len(failing)} of {len(reports)}")
    args.out.mkdir(parents=True, exist_ok=True)
    figures = {
        "games": len(reports),
        "walks": args.walks,
        "walk_length": args.walk_length,
        "steps": steps,
        "equal": equal,
        "rates": {f: round(equal[f] / steps, 5) for f in FIELDS},
        "free_text_commands": corpus,
        "free_text_equal": corpus_equal,
        "games_with_differences": failing,
        "wall_s": round(time.perf_counter() - started, 1),
    }
    write_atomic(args.out / "summary.json", json.dumps({**figures, "per_game": reports}, indent=1) + "\n")
    lines = ["# Engine differences (native vs Inform 7)", ""]
    for r in reports:
        for d in r["differences"]:
            lines += [
                f"## {r['suite']}/{r['game']}: {d['walk']} step {d['step']} `{d['command']}`: {d['field']}",
                "",
                f"- inform7: {d['reference']!r}",
                f"- native: {d['native']!r}",
                "",
            ]
    write_atomic(args.out / "differences.md", "\n".join(lines) + "\n")
    print(json.dumps({k: v for k, v in figures.items() if k != "games_with_differences"}))


if __name__ == "__main__":
    main()

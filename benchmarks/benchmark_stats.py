"""Diversity, leakage and text-fidelity figures of a game collection (issue 18), from its manifest and folders.

- distinct objectives, walkthrough template signatures (``starling_env.collection.signature``) and custom
  command templates (slots abstracted; ``custom_commands_raw`` counts them as written, slot names included);
- near-duplicate clusters: games linked by an equal signature or a Jaccard similarity of template tokens >= 0.8;
- template overlap: per test split, the games whose signature a train game has (must be 0);
- text-fidelity failures: the gate of ``starling_env.builder.fidelity`` over every game (playing each one;
  ``--static-text`` checks only the spec texts, without playing);
- the random agent's win rate per tier, when ``--random-results`` (default
  ``results/eval/random/episodes.jsonl``) exists; else skipped with a note;
- the calibration's measured random and heuristic win rates and scores per tier (a calibrated collection).

Last line: a JSON object of the figures.

    python benchmarks/benchmark_stats.py [--collection DIR] [--static-text]
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from starling_env.builder.fidelity import check_text
from starling_env.collection import load_manifest, shipped_collection
from starling_env.collection.signature import NEAR_DUPLICATE_JACCARD, signature
from starling_env.collection.variety import collection_specs, measured, variety
from starling_env.spec import GameSpec

RANDOM_RESULTS = Path(__file__).resolve().parents[1] / "results" / "eval" / "random" / "episodes.jsonl"


def text_failures(collection: Path, ids: list[str], play: bool) -> dict[str, Any]:
    """How many games fail the text gate, and how many fail each of its checks."""
    games_failing: list[str] = []
    by_kind: Counter[str] = Counter()
    for game_id in ids:
        folder = collection / game_id
        failures = check_text(GameSpec.load(folder / "spec.json"), folder if play else None)
        by_kind.update({f.kind.value for f in failures})
        if failures:
            games_failing.append(game_id)
    return {"games_failing": len(games_failing), "by_kind": dict(sorted(by_kind.items())), "played": play}


def random_win_rates(path: Path, games: set[str]) -> dict[str, Any]:
    """The random agent's win rate and mean normalised score per tier, from an evaluation's episodes of ``games``."""
    skipped = {"skipped": f"no random-agent episodes of this collection at {path} (run starling evaluate)"}
    if not path.is_file():
        return skipped
    tiers: dict[str, list[dict]] = defaultdict(list)
    for line in path.read_text().splitlines():
        try:
            record = json.loads(line)
        except ValueError:  # a torn last line of an interrupted run
            continue
        if record.get("game_id") in games:
            tiers[record.get("difficulty") or "unknown"].append(record)
    if not tiers:
        return skipped
    return {
        tier: {
            "win_rate": round(sum(r["won"] for r in records) / len(records), 3),
            "mean_normalized_score": round(sum(r["normalized_score"] for r in records) / len(records), 3),
            "episodes": len(records),
            "games": len({r["game_id"] for r in records}),
            "splits": sorted({r.get("split") or "unknown" for r in records}),
        }
        for tier, records in sorted(tiers.items())
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--collection", type=Path, default=None, help="collection folder (default: the shipped one)")
    parser.add_argument("--static-text", action="store_true", help="text gate on the specs only (no play)")
    parser.add_argument("--random-results", type=Path, default=RANDOM_RESULTS, help="a random agent's episodes.jsonl")
    args = parser.parse_args()
    collection = args.collection or shipped_collection()
    started = time.perf_counter()
    manifest = load_manifest(collection)
    specs = collection_specs(collection)
    split_of = {g.id: g.split for g in manifest.games}
    tier_of = {g.id: g.difficulty for g in manifest.games}

    figures = variety(specs, split_of)
    clusters = figures.pop("near_duplicate_clusters")
    per_tier = {
        tier: len({signature(specs[i]) for i in specs if tier_of[i] == tier}) for tier in sorted(set(tier_of.values()))
    }
    print(f"{len(specs)} games of {manifest.suite} v{manifest.version} ({collection})")
    print(f"near-duplicate clusters (equal signature or Jaccard >= {NEAR_DUPLICATE_JACCARD}):")
    for cluster in clusters:
        print(f"  {len(cluster):>2}: {' '.join(cluster)}")
    print("checking the text of every game ...", flush=True)
    text = text_failures(collection, sorted(specs), play=not args.static_text)
    figures = {
        "suite": manifest.suite,
        "version": manifest.version,
        **figures,
        "distinct_walkthrough_signatures_per_tier": per_tier,
        "near_duplicate_clusters": len(clusters),
        "text_fidelity": text,
        "random_agent": random_win_rates(args.random_results, set(specs)),
        "calibration_per_tier": {  # the random and heuristic agents' measured play, from the manifest
            tier: measured([g for g in manifest.games if g.difficulty == tier])
            for tier in sorted(set(tier_of.values()))
        },
        "seconds": round(time.perf_counter() - started, 1),
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()

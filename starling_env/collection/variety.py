"""How varied a collection is and whether its splits leak: the figures the benchmark card and
``benchmarks/benchmark_stats.py`` report, computed from the games' specs (see :mod:`.signature`)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .manifest import ManifestEntry, load_manifest
from .signature import custom_templates, near_duplicate_clusters, shared_signatures, signature

Spec = Mapping[str, Any]


def collection_specs(collection: Path, *, missing_ok: bool = False) -> dict[str, dict[str, Any]]:
    """Every game's spec (as JSON data) by id, in manifest order ({} for a folder without a manifest, with
    ``missing_ok``)."""
    manifest = load_manifest(collection, missing_ok=missing_ok)
    return {g.id: json.loads((collection / g.id / "spec.json").read_text(encoding="utf-8")) for g in manifest.games}


def variety(specs: Mapping[str, Spec], split_of: Mapping[str, str]) -> dict[str, Any]:
    """Distinct objectives, template signatures and custom command templates; skills used; near-duplicate
    clusters; and, per split other than train, the games that share a template signature with a train game."""
    clusters = near_duplicate_clusters(specs)
    train = [specs[i] for i in specs if split_of[i] == "train"]
    overlap = {}
    for split in sorted(set(split_of.values()) - {"train"}):
        test = [specs[i] for i in specs if split_of[i] == split]
        shared = shared_signatures(train, test)
        overlap[split] = {"games": len(test), "sharing_a_train_signature": len(shared), "ids": shared}
    return {
        "games": len(specs),
        "distinct_objectives": len({s["objective"] for s in specs.values()}),
        "distinct_walkthrough_signatures": len({signature(s) for s in specs.values()}),
        "custom_command_templates": len({c for s in specs.values() for c in custom_templates(s)}),
        "custom_commands_raw": len({a["command"] for s in specs.values() for a in s.get("actions", [])}),
        "skills_used": len({k for s in specs.values() for k in s["skills"]}),
        "near_duplicate_clusters": clusters,
        "games_in_near_duplicate_clusters": sum(map(len, clusters)),
        "train_test_template_overlap": overlap,
    }


def measured(entries: list[ManifestEntry]) -> dict[str, Any] | None:
    """Mean of the calibration measurements (random and heuristic agent) over ``entries``; None when none has one."""
    rows = [g.calibration for g in entries if g.calibration]
    if not rows:
        return None
    episodes = sum(r["episodes"] for r in rows)
    return {
        "games": len(rows),
        "random_win_rate": round(sum(r["random"]["wins"] for r in rows) / episodes, 3),
        "random_score": round(sum(r["random"]["mean_score"] for r in rows) / len(rows), 3),
        "heuristic_win_rate": round(sum(r["heuristic"]["wins"] for r in rows) / episodes, 3),
        "heuristic_score": round(sum(r["heuristic"]["mean_score"] for r in rows) / len(rows), 3),
        "random_max_wins": max(r["random"]["wins"] for r in rows),
        "episodes_per_game": sorted({r["episodes"] for r in rows}),
    }

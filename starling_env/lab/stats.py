"""Aggregates of episode records: mean normalised score with a 95% confidence interval, win rate, steps.

Per game, skill, difficulty and overall for an evaluation run; :func:`mean_ci` is also what the transfer
experiment puts over seeds.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..collection import load_manifest, shipped_collection
from ..records import EpisodeRecord


def mean_ci(values: list[float]) -> tuple[float, float]:
    """Mean and the half-width of its 95% confidence interval (normal approximation; 0 for one value)."""
    mean = statistics.fmean(values)
    if len(values) < 2:
        return mean, 0.0
    return mean, 1.96 * statistics.stdev(values) / math.sqrt(len(values))


def summarize(records: Iterable[EpisodeRecord], walkthrough_lengths: dict[str, int] | None = None) -> dict[str, Any]:
    """Per game, per skill, per difficulty and overall: score (mean, 95% CI), win rate, steps."""
    groups: dict[str, dict[str, list[EpisodeRecord]]] = defaultdict(lambda: defaultdict(list))
    for r in records:
        groups["overall"]["all"].append(r)
        groups["game"][r.game_id].append(r)
        groups["difficulty"][r.difficulty or "-"].append(r)
        for skill in r.skills:
            groups["skill"][skill].append(r)
    lengths = walkthrough_lengths or {}

    def row(rs: list[EpisodeRecord]) -> dict[str, float | None]:
        score, ci = mean_ci([r.normalized_score for r in rs])
        ratios = [r.steps / lengths[r.game_id] for r in rs if lengths.get(r.game_id)]
        return {
            "episodes": len(rs),
            "score": round(score, 4),
            "ci95": round(ci, 4),
            "win_rate": round(statistics.fmean(r.won for r in rs), 4),
            "steps": round(statistics.fmean(r.steps for r in rs), 2),
            "steps_vs_walkthrough": round(statistics.fmean(ratios), 3) if ratios else None,
        }

    return {level: {key: row(rs) for key, rs in sorted(by_key.items())} for level, by_key in groups.items()}


def walkthrough_lengths(collection: Path | None = None) -> dict[str, int]:
    return {
        g.id: g.walkthrough_length for g in load_manifest(collection or shipped_collection(), missing_ok=True).games
    }

"""The statistics of a transfer run, from its finished units: scores over seeds, paired gains, mean curves.

A unit's score is the mean over its evaluation episodes (every game of the target's test split the same number
of times, so every game weighs the same). Over seeds (:mod:`starling_env.lab.stats`): per target and arm the mean
with a t interval, the IQM with a stratified bootstrap interval; per target the gain of pre-training paired by
seed (t interval, paired t-test), per game the same paired gain, and the probability that a pre-trained seed
beats a scratch seed on a game (rliable's probability of improvement, stratified bootstrap interval). Learning
efficiency: a unit's area under its training curve (its mean training score over the logged steps, so 1.0 is a
perfect score from the first step) and the gain in it of pre-training, paired by seed the same way.
"""

from __future__ import annotations

import csv
import json
import re
import statistics
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from ...records import read_records
from .. import stats
from ..stats import mean_ci, summarize
from .config import ARMS


def read_curve(path: Path) -> dict[int, float]:
    """A learning curve's mean_score by step (the last row of a step wins: a resumed run may repeat steps)."""
    if not path.exists():
        return {}
    with open(path, newline="") as f:
        return {int(row["step"]): float(row["mean_score"]) for row in csv.DictReader(f) if row.get("step")}


def curve_area(curve: dict[int, float]) -> float | None:
    """The normalised area under a training curve: the mean of its scores at its (evenly spaced) logged steps."""
    return statistics.fmean(curve.values()) if curve else None


def unit_results(out: Path) -> list[dict[str, Any]]:
    """Every finished target unit under ``out``: its spec, its eval summary (from the records) and its curve."""
    found = []
    for done in sorted(out.glob("*/seed*/*/done.json")):
        folder = done.parent
        spec_path, episodes = folder / "spec.json", folder / "eval" / "episodes.jsonl"
        if not spec_path.exists() or not episodes.exists():
            continue
        spec = json.loads(spec_path.read_text())
        if spec.get("stage") != "target":
            continue
        records = list(read_records(episodes))
        if not records:
            continue
        found.append(
            {
                "spec": spec,
                "summary": summarize(records)["overall"]["all"],
                "games": stats.game_means(records),
                "curve": read_curve(folder / "train" / "learning_curve.csv"),
            }
        )
    return found


def slug_order(slug: str) -> str:
    """Sort key of target folders: alphabetical, but TWC-easy < TWC-medium < TWC-hard."""
    levels = ("easy", "medium", "hard")
    return re.sub(r"(?<![A-Za-z])(easy|medium|hard)(?![A-Za-z])", lambda m: str(levels.index(m[1])), slug)


def aggregate(units: list[dict[str, Any]]) -> dict[str, Any]:
    """Per target and arm: score mean and 95% t interval over seeds, IQM, win rate, steps; per target the paired
    gain (per seed and per game) and the probability of improvement."""
    groups: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for u in units:
        groups[(u["spec"]["slug"], u["spec"]["arm"])].append(u)
    rows = []
    for (slug, arm), members in sorted(groups.items(), key=lambda kv: (slug_order(kv[0][0]), ARMS.index(kv[0][1]))):
        members.sort(key=lambda u: u["spec"]["seed"])
        scores = [u["summary"]["score"] for u in members]
        score, ci = mean_ci(scores)
        spec = members[0]["spec"]
        rows.append(
            {
                "target": spec["target"],
                "target_kwargs": spec["target_kwargs"],
                "slug": slug,
                "arm": arm,
                "seeds": len(members),
                "score": round(score, 4),
                "ci95": round(ci, 4) if len(members) > 1 else None,
                "win_rate": round(statistics.fmean(u["summary"]["win_rate"] for u in members), 4),
                "steps": round(statistics.fmean(u["summary"]["steps"] for u in members), 2),
                "episodes": sum(u["summary"]["episodes"] for u in members),
                "train_steps": sorted({u["spec"]["steps"] for u in members}),
                "pretrain_steps": sorted({u["spec"]["pretrain_steps"] for u in members}),
                "per_seed": {str(u["spec"]["seed"]): u["summary"]["score"] for u in members},
                "every_game": all(u["spec"].get("eval_games") == "every" for u in members),  # else random draws
                **_over_games(members),
            }
        )
    gains = []
    for slug in sorted({r["slug"] for r in rows}, key=slug_order):
        arms = {r["arm"]: r for r in rows if r["slug"] == slug}
        if set(ARMS) <= set(arms):
            common = sorted(set(arms["pretrained"]["per_seed"]) & set(arms["scratch"]["per_seed"]), key=int)
            if common:
                diffs = [arms["pretrained"]["per_seed"][s] - arms["scratch"]["per_seed"][s] for s in common]
                gain, ci = mean_ci(diffs)
                paired = stats.paired_difference(diffs, [0.0] * len(diffs))
                gains.append(
                    {
                        "slug": slug,
                        "target": arms["pretrained"]["target"],
                        "seeds": len(common),
                        "gain": round(gain, 4),
                        "ci95": round(ci, 4) if len(common) > 1 else None,
                        "t": paired["t"],
                        "p_value": paired["p_value"],
                        **_per_game_gains(groups[(slug, "pretrained")], groups[(slug, "scratch")]),
                        "curve_area": _area_gain(groups[(slug, "pretrained")], groups[(slug, "scratch")]),
                    }
                )
    return {"rows": rows, "gains": gains}


def _area_gain(pretrained: list[dict[str, Any]], scratch: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Each arm's mean area under the training curve over seeds, and the gain of pre-training in it paired by
    seed (t interval, paired t-test); None when no seed has both curves."""
    areas: dict[str, dict[int, float]] = {
        arm: {u["spec"]["seed"]: area for u in units if (area := curve_area(u["curve"])) is not None}
        for arm, units in zip(ARMS, (pretrained, scratch), strict=True)
    }
    common = sorted(set(areas["pretrained"]) & set(areas["scratch"]))
    if not common:
        return None
    a, b = ([areas[arm][s] for s in common] for arm in ARMS)
    return {
        "pretrained": round(statistics.fmean(a), 4),
        "scratch": round(statistics.fmean(b), 4),
        **stats.paired_difference(a, b),
    }


def _cells(members: list[dict[str, Any]]) -> dict[int, dict[str, float]]:
    return {u["spec"]["seed"]: u["games"] for u in members if u.get("games")}


def _over_games(members: list[dict[str, Any]]) -> dict[str, Any]:
    """An arm's seeds x games statistics: the games every seed played, the IQM and its bootstrap interval."""
    _, games, matrix = stats.cell_matrix(_cells(members))
    if not games:
        return {"games": 0, "iqm": None, "iqm_bootstrap": None, "mean_t": None}
    summary = stats.aggregate(matrix)
    return {k: summary[k] for k in ("games", "iqm", "iqm_bootstrap", "mean_t")}


def _per_game_gains(pretrained: list[dict[str, Any]], scratch: list[dict[str, Any]]) -> dict[str, Any]:
    """Per game the gain paired by seed (t interval), and the probability of improvement over the common games."""
    a, b = _cells(pretrained), _cells(scratch)
    common = sorted(set(a) & set(b))
    games = sorted(set.intersection(*(set(a[s]) & set(b[s]) for s in common))) if common else []
    if not games:
        return {"per_game": [], "p_improvement": None}
    n = len(common)
    x = np.array([[a[s][g] for g in games] for s in common])
    y = np.array([[b[s][g] for g in games] for s in common])
    per_game = []
    for i, game in enumerate(games):
        diff = stats.paired_difference(x[:, i], y[:, i])
        per_game.append(
            {
                "game": game,
                "pretrained": round(float(x[:, i].mean()), 4),
                "scratch": round(float(y[:, i].mean()), 4),
                "gain": diff["difference"],
                "ci95": diff["ci95"],
                "seeds": n,
            }
        )
    return {"per_game": per_game, "p_improvement": stats.probability_of_improvement(x, y)}


def mean_curves(units: list[dict[str, Any]]) -> dict[str, dict[str, list[tuple[int, float]]]]:
    """Per target and arm: the training curves' mean_score averaged over seeds, at the steps every seed logged."""
    curves: dict[str, dict[str, list[dict[int, float]]]] = defaultdict(lambda: defaultdict(list))
    for u in units:
        if u["curve"]:
            curves[u["spec"]["slug"]][u["spec"]["arm"]].append(u["curve"])
    result: dict[str, dict[str, list[tuple[int, float]]]] = {}
    for slug, arms in curves.items():
        result[slug] = {}
        for arm, members in arms.items():
            steps = sorted(set.intersection(*(set(m) for m in members)))
            result[slug][arm] = [(s, round(statistics.fmean(m[s] for m in members), 4)) for s in steps]
    return result


def curve_bands(units: list[dict[str, Any]]) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """Per target and arm: the training curves' mean over seeds and its t interval at each common step."""
    curves: dict[str, dict[str, list[dict[int, float]]]] = defaultdict(lambda: defaultdict(list))
    for u in units:
        if u["curve"]:
            curves[u["spec"]["slug"]][u["spec"]["arm"]].append(u["curve"])
    return {slug: {arm: stats.curve_band(members) for arm, members in arms.items()} for slug, arms in curves.items()}


def collect(out: Path) -> dict[str, Any]:
    """The results of every finished unit under ``out``: rows, gains, mean curves and their bands over seeds."""
    units = unit_results(out)
    return {**aggregate(units), "curves": mean_curves(units), "curve_bands": curve_bands(units)}

"""Statistics of evaluation runs and experiments, from ``scipy.stats``.

Two kinds of aggregate, kept apart:

- **Within one run** (:func:`summarize`): per game, skill, difficulty and overall, the mean normalised score of a
  run's episodes, win rate and steps. Its ``ci95`` is a t interval with the run's *episodes* as the units: how
  precisely this run's episodes pin its mean. It says nothing about how another training seed would score.
- **Over seeds** (the unit of an RL experiment): a ``seeds x games`` matrix of scores (:func:`score_matrix`, each
  cell the mean over that seed's episodes of that game) summarised by :func:`aggregate`: the mean over seeds of
  each seed's mean over games with a t interval over seeds (``scipy.stats.t``), and the interquartile mean (IQM)
  and the mean with percentile bootstrap intervals that resample seeds within each game (``scipy.stats.bootstrap``
  with one sample per game, resampled independently: the stratified bootstrap of Agarwal et al., "Deep RL at the
  edge of the statistical precipice", 2021, which ``rliable`` implements). :func:`paired_difference` compares two
  conditions seed by seed (t interval of the differences); :func:`probability_of_improvement` is rliable's
  P(X > Y): over games, the chance that a seed of X scores above a seed of Y (ties count half), with a
  stratified bootstrap interval.

``rliable`` itself is not used: its ``arch<8`` pin resolves to arch 7.2, which does not import with pandas 3.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..collection import load_manifest, shipped_collection
from ..records import EpisodeRecord

CONFIDENCE = 0.95
RESAMPLES = 5000  # bootstrap resamples
MIN_BOOTSTRAP_SEEDS = 3  # with 2 seeds a percentile bootstrap has 3 distinct resamples per game: no interval
BOOTSTRAP_SEED = 0  # intervals are reproducible
T_METHOD = "t interval over seeds (scipy.stats.t)"
BOOTSTRAP_METHOD = "stratified percentile bootstrap over seeds (scipy.stats.bootstrap, seeds resampled per game)"


def t_half_width(values: Iterable[float], confidence: float = CONFIDENCE) -> float | None:
    """Half-width of the t confidence interval of the mean of ``values``; None for fewer than two values."""
    from scipy import stats

    data = np.asarray(list(values), dtype=float)
    if len(data) < 2:
        return None
    sem = float(stats.sem(data))
    return 0.0 if sem == 0 else float(stats.t.ppf((1 + confidence) / 2, len(data) - 1) * sem)


def mean_ci(values: list[float]) -> tuple[float, float]:
    """Mean and the half-width of its 95% t confidence interval (0 for one value)."""
    return statistics.fmean(values), t_half_width(values) or 0.0


def iqm(values: np.ndarray, axis: int | None = None) -> np.ndarray:
    """Interquartile mean: the mean of the middle 50% (``scipy.stats.trim_mean`` cutting 25% each side)."""
    from scipy import stats

    return np.asarray(stats.trim_mean(values, 0.25, axis=axis))


def _per_game(matrix: np.ndarray) -> tuple[np.ndarray, ...]:
    return tuple(np.asarray(matrix, dtype=float).T)


def stratified_bootstrap(
    samples: tuple[np.ndarray, ...],
    statistic: Callable[..., np.ndarray],
    confidence: float = CONFIDENCE,
    resamples: int = RESAMPLES,
) -> list[float] | None:
    """Percentile bootstrap interval of ``statistic(*samples)``, each sample (a game's seeds) resampled on its own.

    ``statistic`` takes the samples, each with the resamples on its leading axes and the seeds on the last.
    None when a sample has fewer than ``MIN_BOOTSTRAP_SEEDS`` values (too few to resample).
    """
    from scipy import stats

    if not samples or min(len(s) for s in samples) < MIN_BOOTSTRAP_SEEDS:
        return None

    def vectorised(*resampled: np.ndarray, axis: int = -1) -> np.ndarray:
        return statistic(*(np.moveaxis(s, axis, -1) for s in resampled))

    result = stats.bootstrap(
        samples,
        vectorised,
        vectorized=True,
        paired=False,
        confidence_level=confidence,
        n_resamples=resamples,
        method="percentile",
        rng=np.random.default_rng(BOOTSTRAP_SEED),
    )
    low, high = result.confidence_interval
    return [round(float(low), 4), round(float(high), 4)]


def _pooled(statistic: Callable[..., np.ndarray]) -> Callable[..., np.ndarray]:
    """A statistic of all scores together (seeds x games pooled), from per-game samples."""
    return lambda *games: statistic(np.concatenate(games, axis=-1), axis=-1)


def aggregate(matrix: np.ndarray, confidence: float = CONFIDENCE) -> dict[str, Any]:
    """Summary over seeds of a ``seeds x games`` score matrix.

    ``mean``: the mean over seeds of each seed's mean over games, ``mean_t``: its t interval over seeds,
    ``mean_bootstrap`` and ``iqm`` / ``iqm_bootstrap``: the mean and the interquartile mean of all scores with
    stratified bootstrap intervals over seeds. Intervals are ``[low, high]`` or None (t: one seed; bootstrap:
    fewer than ``MIN_BOOTSTRAP_SEEDS``).
    """
    matrix = np.asarray(matrix, dtype=float)
    seeds, games = matrix.shape
    per_seed = matrix.mean(axis=1)
    mean = float(per_seed.mean())
    half = t_half_width(per_seed, confidence)
    return {
        "seeds": seeds,
        "games": games,
        "mean": round(mean, 4),
        "mean_t": None if half is None else [round(mean - half, 4), round(mean + half, 4)],
        "mean_bootstrap": stratified_bootstrap(_per_game(matrix), _pooled(np.mean), confidence),
        "iqm": round(float(iqm(matrix, axis=None)), 4),
        "iqm_bootstrap": stratified_bootstrap(_per_game(matrix), _pooled(iqm), confidence),
        "per_seed": [round(float(v), 4) for v in per_seed],
        "confidence": confidence,
    }


def paired_difference(a: Iterable[float], b: Iterable[float], confidence: float = CONFIDENCE) -> dict[str, Any]:
    """``a - b`` paired by seed: the mean difference, its t interval over seeds and the paired t-test's p-value."""
    from scipy import stats

    diffs = np.asarray(list(a), dtype=float) - np.asarray(list(b), dtype=float)
    mean = float(diffs.mean())
    half = t_half_width(diffs, confidence)
    p = None
    if half is not None and half > 0:
        p = round(float(stats.ttest_1samp(diffs, 0.0).pvalue), 4)
    return {
        "seeds": len(diffs),
        "difference": round(mean, 4),
        "ci95": None if half is None else round(half, 4),
        "t": None if half is None else [round(mean - half, 4), round(mean + half, 4)],
        "p_value": p,
        "per_seed": [round(float(d), 4) for d in diffs],
    }


def probability_of_improvement(x: np.ndarray, y: np.ndarray, confidence: float = CONFIDENCE) -> dict[str, Any]:
    """rliable's P(X > Y) of two ``seeds x games`` matrices over the same games, with a stratified bootstrap interval.

    Per game, the Mann-Whitney U statistic over the two sets of seeds divided by their product (the chance a
    seed of X beats a seed of Y, ties half), averaged over games.
    """
    from scipy import stats

    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"x and y must score the same games: {x.shape[1]} vs {y.shape[1]} columns")
    games = x.shape[1]

    def statistic(*samples: np.ndarray) -> np.ndarray:
        xs, ys = samples[:games], samples[games:]
        u = [
            stats.mannwhitneyu(a, b, axis=-1).statistic / (a.shape[-1] * b.shape[-1])
            for a, b in zip(xs, ys, strict=True)
        ]
        return np.mean(u, axis=0)

    value = float(statistic(*_per_game(x), *_per_game(y)))
    return {
        "value": round(value, 4),
        "bootstrap": stratified_bootstrap(_per_game(x) + _per_game(y), statistic, confidence),
        "games": games,
        "seeds": [x.shape[0], y.shape[0]],
    }


def game_means(records: Iterable[EpisodeRecord]) -> dict[str, float]:
    """The mean normalised score of each game in ``records``."""
    by_game: dict[str, list[float]] = defaultdict(list)
    for r in records:
        by_game[r.game_id].append(r.normalized_score)
    return {game: statistics.fmean(scores) for game, scores in sorted(by_game.items())}


def cell_matrix(cells: Mapping[int, Mapping[str, float]]) -> tuple[list[int], list[str], np.ndarray]:
    """Seeds, games and the ``seeds x games`` matrix of ``cells[seed][game]`` (the games that every seed has)."""
    seeds = sorted(cells)
    games = sorted(set.intersection(*(set(cells[s]) for s in seeds))) if seeds else []
    matrix = np.array([[cells[s][g] for g in games] for s in seeds], dtype=float)
    return seeds, games, matrix.reshape(len(seeds), len(games))


def score_matrix(
    records_by_seed: Mapping[int, Iterable[EpisodeRecord]],
) -> tuple[list[int], list[str], np.ndarray]:
    """Seeds, games and the ``seeds x games`` matrix of mean normalised scores (games that every seed played)."""
    return cell_matrix({seed: game_means(records) for seed, records in records_by_seed.items()})


def curve_band(curves: Iterable[Mapping[int, float]], confidence: float = CONFIDENCE) -> list[dict[str, Any]]:
    """Learning curves of several seeds: at each step every seed logged, the mean and its t interval over seeds."""
    members = list(curves)
    if not members:
        return []
    rows = []
    for step in sorted(set.intersection(*(set(m) for m in members))):
        values = [m[step] for m in members]
        mean, half = statistics.fmean(values), t_half_width(values, confidence)
        rows.append(
            {
                "step": step,
                "mean": round(mean, 4),
                "t": None if half is None else [round(mean - half, 4), round(mean + half, 4)],
                "seeds": len(values),
            }
        )
    return rows


def per_game(games: list[str], matrix: np.ndarray, confidence: float = CONFIDENCE) -> list[dict[str, Any]]:
    """Per game: the mean over seeds and its t interval half-width (None for one seed)."""
    return [
        {
            "game": game,
            "mean": round(float(np.mean(matrix[:, i])), 4),
            "ci95": None if (h := t_half_width(matrix[:, i], confidence)) is None else round(h, 4),
            "seeds": matrix.shape[0],
        }
        for i, game in enumerate(games)
    ]


def summarize(records: Iterable[EpisodeRecord], walkthrough_lengths: dict[str, int] | None = None) -> dict[str, Any]:
    """One run's episodes per game, skill, difficulty and overall: score (mean, ``ci95``: t interval over the
    run's episodes, not seeds), win rate, steps."""
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
            "ci95": round(ci, 4) if not math.isnan(ci) else 0.0,
            "win_rate": round(statistics.fmean(r.won for r in rs), 4),
            "steps": round(statistics.fmean(r.steps for r in rs), 2),
            "steps_vs_walkthrough": round(statistics.fmean(ratios), 3) if ratios else None,
        }

    return {level: {key: row(rs) for key, rs in sorted(by_key.items())} for level, by_key in groups.items()}


def walkthrough_lengths(collection: Path | None = None) -> dict[str, int]:
    return {
        g.id: g.walkthrough_length for g in load_manifest(collection or shipped_collection(), missing_ok=True).games
    }

"""The statistics (starling_env.lab.stats): t intervals over seeds, IQM and stratified bootstrap intervals, paired
differences, probability of improvement, and the within-run episode summary; checked against scipy and hand values."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as sps

from starling_env.lab import stats
from starling_env.records import EpisodeRecord


def test_t_interval_is_students_t_not_the_normal_approximation():
    mean, half = stats.mean_ci([1.0, 2.0, 3.0])
    assert mean == 2.0
    assert half == pytest.approx(4.302653 / 3**0.5, rel=1e-5)  # t(0.975, df=2) * sd / sqrt(n), sd = 1
    low, high = sps.t.interval(0.95, 2, loc=2.0, scale=sps.sem([1.0, 2.0, 3.0]))
    assert (mean - half, mean + half) == pytest.approx((low, high))
    assert stats.mean_ci([0.5]) == (0.5, 0.0) and stats.t_half_width([0.5]) is None
    assert stats.t_half_width([0.3, 0.3, 0.3]) == 0.0
    # two seeds: the t interval is 6.5x the normal one (the example)
    assert stats.t_half_width([0.0, 1.0]) / (1.96 * 0.5**0.5 / 2**0.5) == pytest.approx(12.706 / 1.96, rel=1e-3)


def test_iqm_is_the_mean_of_the_middle_half():
    assert float(stats.iqm(np.arange(1, 9, dtype=float))) == pytest.approx(4.5)  # mean of 3, 4, 5, 6
    assert float(stats.iqm(np.array([[0.0, 0.0, 100.0, 1.0], [1.0, 1.0, 1.0, -50.0]]))) == pytest.approx(0.75)


def test_aggregate_over_seeds():
    matrix = np.array([[0.2, 0.4, 0.9], [0.1, 0.5, 0.6], [0.3, 0.3, 0.8], [0.2, 0.6, 0.7]])
    result = stats.aggregate(matrix)
    per_seed = matrix.mean(axis=1)
    assert (result["seeds"], result["games"]) == (4, 3)
    assert result["mean"] == round(per_seed.mean(), 4) and result["per_seed"] == [round(v, 4) for v in per_seed]
    half = stats.t_half_width(per_seed)
    assert result["mean_t"] == [round(per_seed.mean() - half, 4), round(per_seed.mean() + half, 4)]
    assert result["iqm"] == round(float(sps.trim_mean(matrix.ravel(), 0.25)), 4)
    for key, value in (("mean_bootstrap", result["mean"]), ("iqm_bootstrap", result["iqm"])):
        low, high = result[key]
        assert low <= value <= high and low < high
    assert stats.aggregate(matrix) == result  # a fixed bootstrap seed: the same intervals every time
    one = stats.aggregate(matrix[:1])
    assert one["mean_t"] is None and one["mean_bootstrap"] is None and one["iqm_bootstrap"] is None
    two = stats.aggregate(matrix[:2])  # a t interval, but too few seeds for a bootstrap
    assert two["mean_t"] is not None and two["mean_bootstrap"] is None and two["iqm_bootstrap"] is None


def test_the_bootstrap_resamples_seeds_within_each_game():
    """Games differ but every seed scores the same on each game: no seed-to-seed spread, so a bootstrap over
    seeds has nothing to vary (an unstratified bootstrap over all cells would mix games and give a wide band)."""
    matrix = np.tile([0.0, 0.2, 0.9, 1.0], (5, 1))
    result = stats.aggregate(matrix)
    assert result["mean_bootstrap"] == [result["mean"]] * 2 and result["iqm_bootstrap"] == [result["iqm"]] * 2
    assert result["mean_t"] == [result["mean"]] * 2


def test_paired_difference_is_scipys_paired_t_test():
    a, b = [0.5, 0.7, 0.4, 0.9, 0.6], [0.4, 0.5, 0.5, 0.6, 0.3]
    result = stats.paired_difference(a, b)
    test = sps.ttest_rel(a, b)
    low, high = test.confidence_interval(0.95)
    assert result["t"] == [round(low, 4), round(high, 4)] and result["p_value"] == round(test.pvalue, 4)
    assert result["difference"] == round(float(np.mean(np.subtract(a, b))), 4) and result["seeds"] == 5
    assert stats.paired_difference([1.0], [0.0])["t"] is None


def test_probability_of_improvement():
    x = np.array([[0.9, 0.8], [0.7, 0.9], [0.8, 1.0]])
    assert stats.probability_of_improvement(x, x - 0.5)["value"] == 1.0
    assert stats.probability_of_improvement(x, x)["value"] == 0.5  # by symmetry
    y = np.array([[0.8, 0.9], [0.8, 0.9], [0.8, 0.9]])
    # on each game one seed of x wins against every y seed, one ties, one loses: (1 + 0.5) / 3
    result = stats.probability_of_improvement(x, y)
    assert result["value"] == pytest.approx(0.5, abs=1e-4)
    low, high = result["bootstrap"]
    assert low <= 0.5 <= high
    with pytest.raises(ValueError, match="same games"):
        stats.probability_of_improvement(x, y[:, :1])


def _record(game: str, score: float, seed: int = 0) -> EpisodeRecord:
    return EpisodeRecord(
        agent="x", env_id=f"starling/{game}-v1", game_id=game, seed=seed, score=score, max_score=1,
        normalized_score=score, won=score == 1, steps=5, wall_time_s=0.1,
    )  # fmt: skip


def test_score_matrix_keeps_the_games_every_seed_played():
    seeds, games, matrix = stats.score_matrix(
        {
            1: [_record("a", 1.0), _record("a", 0.0), _record("b", 0.5)],
            0: [_record("a", 0.2), _record("b", 0.4), _record("c", 1.0)],
        }
    )
    assert seeds == [0, 1] and games == ["a", "b"]
    assert matrix.tolist() == [[0.2, 0.4], [0.5, 0.5]]
    rows = stats.per_game(games, matrix)
    assert rows[0]["game"] == "a" and rows[0]["mean"] == 0.35 and rows[0]["seeds"] == 2
    assert rows[0]["ci95"] == round(stats.t_half_width([0.2, 0.5]), 4)


def test_summarize_names_its_interval_an_episode_interval():
    summary = stats.summarize([_record("a", 1.0), _record("a", 0.5), _record("b", 0.0)])
    overall = summary["overall"]["all"]
    assert overall["ci95"] == round(stats.t_half_width([1.0, 0.5, 0.0]), 4)  # t over the run's episodes
    assert set(overall) == {"episodes", "score", "ci95", "win_rate", "steps", "steps_vs_walkthrough"}
    assert "episodes" in stats.summarize.__doc__ and "not seeds" in stats.summarize.__doc__

"""Does DRRN's bag-of-words encoder learn what its GRU encoder learns, at equal steps? Writes compare.md / .json.

Compares this folder (``--option encoder=bow``) with ``results/generalisation-30k`` (the GRU, the default): the same
command otherwise, the same seeds 0-4, 30,000 training steps each. Two learners, so nothing is paired: per split,
the difference of the mean over seeds with Welch's t interval and test over the seeds' split means
(``scipy.stats.ttest_ind``, ``equal_var=False``), and rliable's probability of improvement P(bow > GRU) over the
split's games with a stratified bootstrap interval (``starling_env.lab.stats.probability_of_improvement``).

    python results/generalisation-30k-bow/compare.py
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from scipy import stats as scipy_stats

from starling_env.lab import stats
from starling_env.lab.generalisation import EVAL_SPLITS, finished_seeds, split_records

HERE = Path(__file__).parent
ARMS = {"gru": HERE.parent / "generalisation-30k", "bow": HERE}


def matrix(folder: Path, split: str) -> tuple[list[int], list[str], np.ndarray]:
    """Seeds x games normalised scores of one experiment on one split."""
    return stats.score_matrix(split_records(finished_seeds(folder), split))


def training(folder: Path) -> dict[str, float]:
    """Mean over seeds of the last learning-curve row's score, of env steps/s and of training wall time."""
    done = [result["train"] for _, result, _ in finished_seeds(folder)]
    return {
        "final_training_score": round(float(np.mean([d["final_metrics"]["mean_score"] for d in done])), 4),
        "env_steps_per_s": round(float(np.mean([d["final_metrics"]["steps_per_s"] for d in done])), 1),
        "train_wall_s": round(float(np.mean([d["wall_s"] for d in done])), 1),
    }


def compare() -> dict:
    splits = {}
    for split in EVAL_SPLITS:
        (gru_seeds, gru_games, gru), (bow_seeds, bow_games, bow) = (matrix(ARMS[a], split) for a in ("gru", "bow"))
        assert gru_games == bow_games and gru_seeds == bow_seeds, "the same games and seeds"
        g, b = gru.mean(axis=1), bow.mean(axis=1)
        welch = scipy_stats.ttest_ind(b, g, equal_var=False)
        interval = welch.confidence_interval(stats.CONFIDENCE)
        splits[split] = {
            "games": len(gru_games),
            "seeds": len(gru_seeds),
            "gru": round(float(g.mean()), 4),
            "bow": round(float(b.mean()), 4),
            "difference": round(float(b.mean() - g.mean()), 4),
            "welch_t": [round(float(interval.low), 4), round(float(interval.high), 4)],
            "p_value": round(float(welch.pvalue), 4),
            "p_bow_beats_gru": stats.probability_of_improvement(bow, gru),
        }
    return {"splits": splits, "training": {arm: training(folder) for arm, folder in ARMS.items()}}


def markdown(result: dict) -> str:
    lines = [
        "# DRRN encoders at equal steps: bag of words vs GRU",
        "",
        "30,000 training steps per seed on STARLING-100 v2 train (native engine), then 1 greedy episode on every "
        "game of each split; n = 5 seeds per encoder (0-4). Unpaired: **Welch** = Welch's t interval (95%) and "
        "test over the seeds' split means; **P(bow > GRU)** = rliable's probability of improvement over the "
        "split's games, 95% stratified bootstrap interval. Made by `python results/generalisation-30k-bow/"
        "compare.py` from this folder and `results/generalisation-30k`.",
        "",
        "| split | games | GRU | bow | bow - GRU | 95% Welch CI | p | P(bow > GRU) | 95% bootstrap CI |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for split, s in result["splits"].items():
        p = s["p_bow_beats_gru"]
        low, high = p["bootstrap"]
        lines.append(
            f"| {split} | {s['games']} | {s['gru']:.3f} | {s['bow']:.3f} | {s['difference']:+.3f} | "
            f"[{s['welch_t'][0]:+.3f}, {s['welch_t'][1]:+.3f}] | {s['p_value']:.2f} | {p['value']:.2f} | "
            f"[{low:.2f}, {high:.2f}] |"
        )
    lines += [
        "",
        "Training, mean over seeds. Steps/s and wall times are as the runs recorded them on a shared machine (the "
        "GRU's beside other experiments, the bag of words' beside the test suite), not benchmark figures: those are "
        "`benchmarks/train_throughput.py`'s.",
        "",
        "| encoder | training score (last curve row) | env steps/s | training wall s |",
        "|---|---|---|---|",
    ]
    for arm, t in result["training"].items():
        lines.append(f"| {arm} | {t['final_training_score']:.3f} | {t['env_steps_per_s']:.1f} | {t['train_wall_s']} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    result = compare()
    (HERE / "compare.json").write_text(json.dumps(result, indent=2) + "\n")
    (HERE / "compare.md").write_text(markdown(result))
    print(markdown(result))

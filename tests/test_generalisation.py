"""`starling generalisation`: the per-seed units, the statistics over seeds, the tables, the CLI's errors.

The results are checked on seed folders written in the harness's record format; the real run (2 seeds, a tiny
budget, 1 game per split; training, evaluation on 3 splits, a rerun that does nothing) is ``slow``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from starling_env.lab import stats
from starling_env.lab.cli import app
from starling_env.lab.generalisation import EVAL_SPLITS, GeneralisationConfig, collect, seed_unit, write_results
from starling_env.records import EpisodeRecord, append_records

SCORES = {  # seed -> split -> the scores of its two games
    0: {"train": [1.0, 0.6], "test": [0.4, 0.2], "test-compose": [0.2, 0.0]},
    1: {"train": [0.8, 0.8], "test": [0.5, 0.1], "test-compose": [0.1, 0.1]},
    2: {"train": [0.9, 0.7], "test": [0.3, 0.3], "test-compose": [0.0, 0.2]},
}


def fake_seed(out: Path, seed: int, config: GeneralisationConfig) -> None:
    unit = seed_unit(out, seed, config)
    unit.claim()
    for split, scores in SCORES[seed].items():
        records = [
            EpisodeRecord(
                agent="drrn", env_id=f"starling/{split}-{g}-v2", game_id=f"{split}-{g}", seed=0, score=s,
                max_score=1.0, normalized_score=s, won=s == 1.0, steps=10, wall_time_s=0.1, split=split,
            )
            for g, s in enumerate(scores)
        ]  # fmt: skip
        (unit.folder / f"eval-{split}").mkdir()
        append_records(unit.folder / f"eval-{split}" / "episodes.jsonl", records)
    (unit.folder / "train").mkdir()
    curve = ["step,episodes,mean_score,win_rate,loss,steps_per_s,epsilon", f"50,3,{0.1 * seed},0,0,20,0.5"]
    (unit.folder / "train" / "learning_curve.csv").write_text("\n".join([*curve, "100,6,0.5,0,0,20,0.05"]) + "\n")
    unit.finish({"train": {"wall_s": 10.0}, "eval": {split: {"wall_s": 1.0} for split in EVAL_SPLITS}})


def test_results_over_seeds(tmp_path):
    config = GeneralisationConfig(steps=100, seeds=3, games=2)
    for seed in SCORES:
        fake_seed(tmp_path, seed, config)
    seed_unit(tmp_path, 3, config).claim()  # unfinished: not counted
    results = collect(tmp_path)
    assert results["seeds"] == [0, 1, 2] and results["settings"]["steps"] == 100
    test = results["splits"]["test"]
    per_seed = [0.3, 0.3, 0.3]
    assert (test["seeds"], test["games"], test["per_seed"], test["mean"]) == (3, 2, per_seed, 0.3)
    assert test["mean_t"] == [0.3, 0.3]  # every seed scores the same mean
    train = results["splits"]["train"]
    assert train["per_seed"] == [0.8, 0.8, 0.8] and train["win_rate"] == round(1 / 6, 4)
    assert train["iqm"] == round(float(stats.iqm([1.0, 0.6, 0.8, 0.8, 0.9, 0.7])), 4)
    gaps = {g["gap"]: g for g in results["gaps"]}
    assert gaps["train - test"]["difference"] == 0.5 and gaps["train - test"]["seeds"] == 3
    compose = stats.paired_difference([0.8] * 3, [0.1, 0.1, 0.1])
    assert gaps["train - test-compose"]["t"] == compose["t"]
    assert [row["game"] for row in test["per_game"]] == ["test-0", "test-1"]
    assert test["per_game"][0]["mean"] == 0.4 and test["per_game"][0]["seeds"] == 3

    band = results["learning_curve"]  # mean over seeds at each step, t interval over seeds
    assert [(r["step"], r["mean"], r["seeds"]) for r in band] == [(50, 0.1, 3), (100, 0.5, 3)]
    assert band[1]["t"] == [0.5, 0.5] and band[0]["t"][0] < 0.1 < band[0]["t"][1]

    paths = write_results(results, tmp_path)
    assert (tmp_path / "learning_curve.png") in paths
    md = (tmp_path / "generalisation.md").read_text()
    assert "n = 3 seeds (0, 1, 2)" in md and "never over episodes" in md and "| test | 2 | 3 | 0.300 |" in md
    assert "| train - test | +0.500 |" in md
    half = round(stats.t_half_width([1.0, 0.8, 0.9]), 4)  # train-0 over the 3 seeds
    assert (tmp_path / "per_game.csv").read_text().splitlines()[1] == f"train,train-0,0.9,{half},3"
    assert all(p.stat().st_size for p in paths)


def test_the_command_is_recorded_with_every_setting(tmp_path):
    config = GeneralisationConfig(steps=100, seeds=2, games=3, agent_options={"lr": 0.01})
    assert config.command(tmp_path) == (
        f"starling generalisation --out {tmp_path} --agent drrn --steps 100 --seeds 2 --episodes 1 --max-steps 100 "
        "--workers 1 --envs 1 --device auto --engine native --games 3 --option lr=0.01"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--steps", "0"], "--steps must be at least 1"),
        (["--games", "0"], "--games must be at least 1"),
        (["--agent", "random"], "'random' cannot be trained"),
        (["--option", "nope=1"], "unknown drrn options ['nope']"),
        (["--benchmark", "99"], "99"),
    ],
)
def test_cli_errors(tmp_path, args, message):
    result = CliRunner().invoke(app, ["generalisation", "--out", str(tmp_path / "run"), "--steps", "5", *args])
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())
    assert not (tmp_path / "run" / "seed0").exists()


def test_a_folder_of_another_run_is_refused(tmp_path):
    seed_unit(tmp_path, 0, GeneralisationConfig(steps=100)).claim()
    result = CliRunner().invoke(app, ["generalisation", "--out", str(tmp_path), "--steps", "200", "--seeds", "1"])
    assert result.exit_code == 2 and "holds a different run" in " ".join(result.output.split())


@pytest.mark.slow
def test_generalisation_end_to_end_and_rerun_is_a_no_op(tmp_path):
    out = tmp_path / "gen"
    args = ["generalisation", "--out", str(out), "--steps", "30", "--seeds", "2", "--games", "1", "--device", "cpu"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    for seed in (0, 1):
        for path in ["spec.json", "done.json", "train/checkpoint.pt", "train/done.json", "train/learning_curve.csv"]:
            assert (out / f"seed{seed}" / path).is_file(), path
        for split in EVAL_SPLITS:
            header = json.loads((out / f"seed{seed}" / f"eval-{split}" / "header.json").read_text())
            assert header["env_kwargs"] == {"engine": "native"} and len(header["env_ids"]) == 1
    results = json.loads((out / "generalisation.json").read_text())
    assert results["seeds"] == [0, 1] and set(results["splits"]) == set(EVAL_SPLITS)
    assert [g["gap"] for g in results["gaps"]] == ["train - test", "train - test-compose"]
    assert [r["event"] for r in results["runs"]] == ["started", "finished"]

    started = time.perf_counter()
    again = CliRunner().invoke(app, args)
    assert again.exit_code == 0, again.output
    assert time.perf_counter() - started < 15  # nothing trained or played
    assert json.loads((out / "generalisation.json").read_text())["splits"] == results["splits"]


def test_a_second_run_in_the_same_folder_is_refused(tmp_path):
    from starling_env.lab.generalisation import GeneralisationError, sole_run

    with sole_run(tmp_path):
        with pytest.raises(GeneralisationError, match="another starling generalisation is running"):
            with sole_run(tmp_path):
                pass
    with sole_run(tmp_path):  # free again once the first ended
        pass

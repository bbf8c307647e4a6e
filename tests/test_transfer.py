"""`starling transfer`: targets and their kwargs, the resumable units, the results table, the CLI's errors.

The pieces that need no training run on fake units written in the harness's record format; the
end-to-end run (pre-training, both arms, evaluation, rerun) is ``slow`` and skips without the TWC data.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

import starling_env  # noqa: F401  (registers the ids)
from starling_env.lab import stats
from starling_env.lab.cli import app
from starling_env.lab.stats import mean_ci
from starling_env.lab.transfer import (
    ARMS,
    Target,
    TransferConfig,
    TransferError,
    Unit,
    collect,
    eval_kwargs,
    evaluation_games,
    parse_targets,
    run_transfer,
    target_unit,
    train_stage,
    write_results,
)
from starling_env.records import EpisodeRecord, append_records
from starling_env.targets import data_dir

TWC_EASY = "starling/TWC-easy-v0"
SW = "starling/ScienceWorld-v0"


# -- targets -----------------------------------------------------------------------------------------
def test_target_kwargs_per_target_or_for_all():
    targets = parse_targets([TWC_EASY, SW], json.dumps({SW: {"task": "boil"}}))
    assert targets == (Target(TWC_EASY, {}), Target(SW, {"task": "boil"}))
    assert [t.slug for t in targets] == ["TWC-easy-v0", "ScienceWorld-v0-task-boil"]
    assert parse_targets([SW], '{"task": "melt"}') == (Target(SW, {"task": "melt"}),)
    assert targets[1].make_kwargs("test") == {"task": "boil", "split": "test"}


def test_targets_sort_by_name_and_twc_level():
    from starling_env.lab.transfer.results import slug_order

    slugs = ["TWC-hard-v0", "TWC-easy-v0", "ScienceWorld-v0-task-boil", "TWC-medium-v0"]
    assert sorted(slugs, key=slug_order) == ["ScienceWorld-v0-task-boil", "TWC-easy-v0", "TWC-medium-v0", "TWC-hard-v0"]


@pytest.mark.parametrize(
    ("ids", "kwargs", "message"),
    [
        ([], None, "at least one --target"),
        ([TWC_EASY, TWC_EASY], None, "given twice"),
        ([SW], "{task: boil}", "not valid JSON"),
        ([SW], "[1]", "must be a JSON object"),
        ([SW], json.dumps({SW: {"task": "boil"}, "task": "melt"}), "mixes target ids"),
        ([SW], json.dumps({SW: "boil"}), "must be an object"),
        ([SW], json.dumps({"split": "dev"}), "may not set ['split']"),
        ([SW], json.dumps({"game_by_seed": False}), "may not set ['game_by_seed']"),
    ],
)
def test_bad_targets_are_clear_errors(ids, kwargs, message):
    with pytest.raises(TransferError) as error:
        parse_targets(ids, kwargs)
    assert message in str(error.value)


# -- units and the pre-trained arm's start -------------------------------------------------------------
def test_a_unit_folder_holding_another_run_is_refused(tmp_path):
    config = TransferConfig(targets=(Target(TWC_EASY),), steps=100)
    unit = target_unit(tmp_path, config.targets[0], 0, "scratch", config)
    unit.claim()
    unit.claim()  # the same settings: fine
    assert not unit.done
    unit.finish({"ok": True})
    assert unit.done and json.loads((unit.folder / "done.json").read_text()) == {"ok": True}
    other = target_unit(tmp_path, config.targets[0], 0, "scratch", TransferConfig(targets=config.targets, steps=200))
    with pytest.raises(TransferError, match="holds a different run"):
        other.claim()


def test_pretrained_arm_differs_from_scratch_only_in_its_weights(tmp_path, monkeypatch):
    from starling_agents.drrn import DRRNAgent

    config = TransferConfig(targets=(Target(TWC_EASY),), steps=300, device="cpu")
    pretrained = DRRNAgent(seed=7, device="cpu")
    with torch.no_grad():
        for p in pretrained.net.parameters():
            p.add_(0.5)  # weights no fresh network has
    pretrained.env_steps, pretrained.updates = 1000, 250
    (tmp_path / "pre").mkdir()
    pretrained.save(tmp_path / "pre" / "checkpoint.pt")

    started = {}

    def capture(self, make_env, out, *, steps, envs=1, seed=0, progress=None):  # the learner as training starts
        started[out.name] = self
        return {}

    monkeypatch.setattr(DRRNAgent, "train", capture)
    train_stage(None, tmp_path / "start", 300, 0, config, lambda s, m: None, start_from=tmp_path / "pre")
    train_stage(None, tmp_path / "scratch", 300, 0, config, lambda s, m: None)
    start, scratch = started["start"], started["scratch"]
    assert start.config == scratch.config and start.seed == scratch.seed == 0
    assert (start.env_steps, start.updates) == (scratch.env_steps, scratch.updates) == (0, 0)
    start.budget = scratch.budget = 300
    assert start.epsilon() == scratch.epsilon() == 1.0
    assert not start.optimizer.state_dict()["state"]  # a fresh optimizer, like scratch
    for name, value in pretrained.net.state_dict().items():
        assert torch.equal(start.net.state_dict()[name], value)
        assert torch.equal(start.target.state_dict()[name], value)  # target network = online network
    assert not all(torch.equal(a, b) for a, b in zip(start.net.parameters(), scratch.net.parameters(), strict=True))
    assert all(
        torch.equal(a, b) for a, b in zip(scratch.net.parameters(), DRRNAgent(seed=0).net.parameters(), strict=True)
    )


# -- results from fake units in the harness's format --------------------------------------------------
def _record(env_id: str, seed: int, score: float, won: bool, steps: int) -> EpisodeRecord:
    return EpisodeRecord(
        agent="drrn",
        env_id=env_id,
        game_id=f"game{seed % 3}",
        seed=seed,
        score=score,
        max_score=1.0,
        normalized_score=score,
        won=won,
        steps=steps,
        wall_time_s=0.1,
        split="test",
    )


def fake_unit(
    out: Path, target: Target, seed: int, arm: str, scores: list[float], curve: dict[int, float], config: TransferConfig
) -> Unit:
    unit = target_unit(out, target, seed, arm, config)
    unit.claim()
    (unit.folder / "eval").mkdir(parents=True)
    append_records(
        unit.folder / "eval" / "episodes.jsonl",
        [_record(target.env_id, k, s, s == 1.0, 10 if s == 1.0 else 50) for k, s in enumerate(scores)],
    )
    (unit.folder / "train").mkdir()
    rows = ["step,episodes,mean_score,win_rate,loss,steps_per_s,epsilon"]
    rows += [f"{step},5,{value},0.0,0.1,20.0,0.5" for step, value in curve.items()]
    (unit.folder / "train" / "learning_curve.csv").write_text("\n".join(rows) + "\n")
    unit.finish({"train": {}, "eval": {}})
    return unit


@pytest.fixture
def fake_run(tmp_path) -> tuple[Path, TransferConfig]:
    config = TransferConfig(
        targets=(Target(TWC_EASY), Target(SW, {"task": "boil"})), pretrain_steps=100, steps=100, seeds=2, episodes=2
    )
    easy, boil = config.targets
    fake_unit(tmp_path, easy, 0, "pretrained", [1.0, 0.5], {50: 0.2, 100: 0.6}, config)
    fake_unit(tmp_path, easy, 1, "pretrained", [1.0, 1.0], {50: 0.4, 100: 0.8}, config)
    fake_unit(tmp_path, easy, 0, "scratch", [0.0, 0.5], {50: 0.0, 100: 0.2}, config)
    fake_unit(tmp_path, easy, 1, "scratch", [1.0, 0.0], {50: 0.2, 100: 0.2}, config)
    fake_unit(tmp_path, boil, 0, "pretrained", [0.1, 0.0], {50: 0.0, 100: 0.0}, config)
    fake_unit(tmp_path, boil, 0, "scratch", [0.0, 0.0], {50: 0.0, 100: 0.0}, config)
    # an unfinished unit (no done.json) does not count
    unfinished = target_unit(tmp_path, boil, 1, "scratch", config)
    unfinished.claim()
    return tmp_path, config


def test_table_aggregates_over_seeds(fake_run):
    out, _ = fake_run
    results = collect(out)
    rows = {(r["slug"], r["arm"]): r for r in results["rows"]}
    assert list(rows) == [
        ("ScienceWorld-v0-task-boil", "pretrained"),
        ("ScienceWorld-v0-task-boil", "scratch"),
        ("TWC-easy-v0", "pretrained"),
        ("TWC-easy-v0", "scratch"),
    ]
    easy = rows[("TWC-easy-v0", "pretrained")]
    score, ci = mean_ci([0.75, 1.0])  # each seed's score is the mean of its episodes
    assert (easy["score"], easy["ci95"], easy["seeds"], easy["episodes"]) == (round(score, 4), round(ci, 4), 2, 4)
    assert easy["win_rate"] == 0.75 and easy["steps"] == 20.0
    assert easy["train_steps"] == [100] and easy["pretrain_steps"] == [100]
    assert rows[("TWC-easy-v0", "scratch")]["pretrain_steps"] == [0]
    boil = rows[("ScienceWorld-v0-task-boil", "pretrained")]
    assert (boil["seeds"], boil["score"], boil["ci95"]) == (1, 0.05, None)  # one seed: no interval
    gains = {g["slug"]: g for g in results["gains"]}
    gain, gain_ci = mean_ci([0.75 - 0.25, 1.0 - 0.5])
    assert gains["TWC-easy-v0"]["gain"] == round(gain, 4) and gains["TWC-easy-v0"]["ci95"] == round(gain_ci, 4)
    boil_gain = gains["ScienceWorld-v0-task-boil"]
    assert {k: boil_gain[k] for k in ("slug", "target", "seeds", "gain", "ci95", "t", "p_value")} == {
        "slug": "ScienceWorld-v0-task-boil",
        "target": SW,
        "seeds": 1,
        "gain": 0.05,
        "ci95": None,
        "t": None,
        "p_value": None,
    }
    # per game (episode k of the fake units played game k): paired by seed
    easy_gain = gains["TWC-easy-v0"]
    assert [(g["game"], g["pretrained"], g["scratch"], g["gain"], g["seeds"]) for g in easy_gain["per_game"]] == [
        ("game0", 1.0, 0.5, 0.5, 2),
        ("game1", 0.75, 0.25, 0.5, 2),
    ]
    assert easy_gain["t"] == [round(gain - gain_ci, 4), round(gain + gain_ci, 4)]
    # P(pretrained > scratch) per game, over the 4 (pre seed, scratch seed) pairs, ties half:
    # game0 pre (1, 1) vs scratch (0, 1): 2 wins, 2 ties = .75; game1 (.5, 1) vs (.5, 0): 3 wins, 1 tie = .875
    assert easy_gain["p_improvement"]["value"] == (0.75 + 0.875) / 2 and easy_gain["p_improvement"]["games"] == 2
    assert (easy["games"], easy["iqm"]) == (2, 1.0)  # the middle two of (.5, 1, 1, 1)
    assert easy["iqm_bootstrap"] is None and easy_gain["p_improvement"]["bootstrap"] is None  # 2 seeds: no bootstrap
    # learning efficiency: each unit's area under its curve (mean of its logged scores), paired by seed
    area = easy_gain["curve_area"]
    assert (area["pretrained"], area["scratch"], area["seeds"]) == (0.5, 0.15, 2)  # (.4 + .6) / 2; (.1 + .2) / 2
    assert area["per_seed"] == [0.3, 0.4] and area["difference"] == 0.35
    assert area["ci95"] == round(stats.t_half_width([0.3, 0.4]), 4)
    assert gains["ScienceWorld-v0-task-boil"]["curve_area"]["difference"] == 0.0
    assert results["curves"]["TWC-easy-v0"]["pretrained"] == [(50, 0.3), (100, 0.7)]  # mean over seeds per step
    assert results["curves"]["TWC-easy-v0"]["scratch"] == [(50, 0.1), (100, 0.2)]
    band = results["curve_bands"]["TWC-easy-v0"]["pretrained"]  # the same means, with a t interval over seeds
    assert [(r["step"], r["mean"], r["seeds"]) for r in band] == [(50, 0.3, 2), (100, 0.7, 2)]
    assert band[0]["t"] == [
        round(0.3 - stats.t_half_width([0.2, 0.4]), 4),
        round(0.3 + stats.t_half_width([0.2, 0.4]), 4),
    ]


def test_results_files(fake_run):
    out, _ = fake_run
    paths = write_results(collect(out), out)
    assert {p.name for p in paths} == {
        "transfer.json",
        "transfer.md",
        "learning_curves-TWC-easy-v0.png",
        "learning_curves-ScienceWorld-v0-task-boil.png",
    }
    assert all(p.stat().st_size > 0 for p in paths)
    md = (out / "transfer.md").read_text()
    assert "| TWC-easy-v0 | pretrained | 0.875 |" in md and "n/a (1 seed)" in md
    assert "![learning_curves-TWC-easy-v0](learning_curves-TWC-easy-v0.png)" in md
    assert "| TWC-easy-v0 | 0.500 | 0.150 | +0.350 |" in md  # the learning-efficiency table
    assert "intervals are over seeds, never over episodes" in md and "| game0 | 1.000 | 0.500 | +0.500 |" in md
    assert json.loads((out / "transfer.json").read_text())["rows"][0]["slug"] == "ScienceWorld-v0-task-boil"


def test_finished_units_are_skipped_on_rerun(fake_run, monkeypatch):
    out, config = fake_run
    config = TransferConfig(targets=config.targets[:1], pretrain_steps=100, steps=100, seeds=2, episodes=2)

    def no_training(*args, **kwargs):
        raise AssertionError("a finished unit was run again")

    monkeypatch.setattr("starling_env.lab.transfer.run.train_stage", no_training)
    monkeypatch.setattr("starling_env.lab.transfer.run.evaluate", no_training)
    monkeypatch.setattr("starling_env.lab.transfer.run.check_targets", no_training)
    results = run_transfer(config, out)
    assert {r["slug"] for r in results["rows"]} == {"TWC-easy-v0", "ScienceWorld-v0-task-boil"}  # every finished unit
    assert not (out / "pretrain").exists()  # not needed: every pre-trained arm is done


class Trained(Exception):
    """Raised by a stand-in for ``train_stage``: which folder the run trained first."""


@pytest.mark.parametrize("stage", ["pretrain", "target"])
def test_a_finished_stage_whose_policy_is_gone_is_trained_again(tmp_path, monkeypatch, stage):
    # Committed results keep no checkpoints: in a fresh checkout a pre-training that pre-trained arms still need, or a
    # target training whose evaluation was cut short, is trained again from the start (the seed gives the same run).
    from starling_env.lab.transfer import pretrain_unit, run

    config = TransferConfig(targets=(Target(TWC_EASY),), pretrain_steps=100, steps=100, episodes=1, device="cpu")
    pretrain = pretrain_unit(tmp_path, 0, config)
    pretrain.claim()
    (pretrain.folder / "learning_curve.csv").write_text("step\n100\n")
    pretrain.finish({})
    expected = pretrain.folder
    if stage == "target":
        fake_unit(tmp_path, Target(TWC_EASY), 0, "pretrained", [1.0], {100: 1.0}, config)  # no pre-training needed
        unit = target_unit(tmp_path, Target(TWC_EASY), 0, "scratch", config)
        unit.claim()
        expected = unit.folder / "train"
        expected.mkdir()
        (expected / "learning_curve.csv").write_text("step\n100\n")
        (expected / "done.json").write_text("{}")
        (unit.folder / "eval").mkdir()
        (unit.folder / "eval" / "episodes.jsonl").write_text("{}\n")  # cut short

    def train(make_env, folder, *args, **kwargs):
        assert not (folder / "learning_curve.csv").exists() and not (folder / "done.json").exists()
        assert not (folder.parent / "eval").exists() or stage == "pretrain", "episodes of the lost policy dropped"
        raise Trained(folder)

    monkeypatch.setattr(run, "check_targets", lambda *args: None)
    monkeypatch.setattr(run, "train_stage", train)
    with pytest.raises(Trained) as trained:
        run_transfer(config, tmp_path)
    assert trained.value.args[0] == expected
    assert (pretrain.folder / "spec.json").exists()


# -- the command line --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--target", "starling/Nope-v0"], "unknown target 'starling/Nope-v0'"),
        (["--target", TWC_EASY, "--agent", "random"], "'random' cannot be trained: learners are drrn, ppo, llm-rl"),
        (
            ["--target", TWC_EASY, "--agent", "drrn", "--option", "learning_rate=1"],
            "unknown drrn options ['learning_rate']",
        ),
        (["--target", TWC_EASY, "--steps", "0"], "--steps must be at least 1"),
        (["--target", TWC_EASY, "--target-kwargs", "{oops"], "not valid JSON"),
        (["--target", TWC_EASY, "--target-kwargs", '{"colour": "red"}'], "cannot make target starling/TWC-easy-v0"),
    ],
)
def test_cli_errors(tmp_path, args, message):
    tiny = ["--pretrain-steps", "10", "--steps", "10", "--episodes", "1"]  # were a case to start, it would end soon
    result = CliRunner().invoke(app, ["transfer", "--out", str(tmp_path / "run"), *tiny, *args])
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())  # rich wraps long lines
    assert not (tmp_path / "run" / "pretrain").exists()


def test_cli_error_without_the_target_data(tmp_path, monkeypatch):
    def absent(name, override=None):
        raise FileNotFoundError(f"no {name} data: looked in nowhere")

    monkeypatch.setattr("starling_env.targets.twc.find_data", absent)
    result = CliRunner().invoke(
        app, ["transfer", "--target", TWC_EASY, "--steps", "10", "--out", str(tmp_path / "run")]
    )
    assert result.exit_code == 2, result.output
    assert "cannot make target starling/TWC-easy-v0" in result.output and "no twc data" in result.output
    assert not (tmp_path / "run" / "pretrain").exists()


# -- evaluation covers every test game ---------------------------------------------------------------
@pytest.fixture(scope="module")
def twc() -> Path:
    try:
        return data_dir("twc")
    except FileNotFoundError as exc:
        pytest.skip(f"third-party game data is not installed: {exc}")


def test_evaluation_plays_every_test_game_of_a_suite_target(twc):
    import gymnasium as gym

    target = Target(TWC_EASY)
    games = evaluation_games(target)
    assert len(games) > 1 and games == sorted(games)
    kwargs = eval_kwargs(target, games)
    assert kwargs == {"split": "test", "game_by_seed": True}
    env = gym.make(TWC_EASY, **kwargs)
    try:
        played = [env.reset(seed=s)[1]["game_id"] for s in range(2 * len(games))]
    finally:
        env.close()
    assert played == games + games  # seed s plays game s mod n: K rounds cover each game K times


@pytest.mark.slow
def test_evaluation_plays_every_test_variation_of_a_scienceworld_task():
    import gymnasium as gym

    from starling_env.targets.scienceworld import java_available

    if not java_available():
        pytest.skip("ScienceWorld needs Java")
    target = Target(SW, {"task": "boil"})
    games = evaluation_games(target)
    assert len(games) > 1 and all(g.startswith("boil-") for g in games)
    env = gym.make(SW, **eval_kwargs(target, games))
    try:
        assert [env.reset(seed=s)[1]["game_id"] for s in range(len(games) + 1)] == games + games[:1]
    finally:
        env.close()


def test_a_one_game_target_is_one_game(twc):
    game = evaluation_games(Target(TWC_EASY))[0]
    target = Target(TWC_EASY, {"game": game})
    assert evaluation_games(target) == [game]
    assert eval_kwargs(target, [game]) == {"game": game, "split": "test"}  # nothing to cycle


def test_a_unit_records_that_it_covers_every_game(tmp_path):
    config = TransferConfig(targets=(Target(TWC_EASY),), steps=100)
    assert target_unit(tmp_path, config.targets[0], 0, "scratch", config).spec["eval_games"] == "every"


# -- end to end --------------------------------------------------------------------------------------


@pytest.mark.slow
def test_transfer_end_to_end_and_rerun_is_a_no_op(twc, tmp_path):
    out = tmp_path / "transfer"
    args = [
        "transfer",
        "--target",
        TWC_EASY,
        "--pretrain-steps",
        "100",
        "--steps",
        "100",
        "--seeds",
        "1",
        "--episodes",
        "1",
        "--device",
        "cpu",
        "--out",
        str(out),
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    games = evaluation_games(Target(TWC_EASY))
    for path in [
        "pretrain/seed0/checkpoint.pt",
        "pretrain/seed0/learning_curve.csv",
        "pretrain/seed0/done.json",
        "transfer.json",
        "transfer.md",
        "learning_curves-TWC-easy-v0.png",
    ]:
        assert (out / path).is_file(), path
    for arm in ARMS:
        unit = out / "TWC-easy-v0" / "seed0" / arm
        for path in [
            "spec.json",
            "done.json",
            "train/checkpoint.pt",
            "train/learning_curve.csv",
            "train/done.json",
            "eval/header.json",
            "eval/episodes.jsonl",
        ]:
            assert (unit / path).is_file(), f"{arm}/{path}"
        header = json.loads((unit / "eval" / "header.json").read_text())
        assert header["env_kwargs"] == {"split": "test", "game_by_seed": True} and header["episodes"] == len(games)
        lines = (unit / "eval" / "episodes.jsonl").read_text().splitlines()
        records = [EpisodeRecord.model_validate_json(line) for line in lines]
        assert all(r.env_id == TWC_EASY and r.split == "test" for r in records)
        assert sorted(r.game_id for r in records) == games  # every test game once
        assert json.loads((unit / "train" / "done.json").read_text())["env_steps"] == 100
    results = json.loads((out / "transfer.json").read_text())
    assert [(r["slug"], r["arm"], r["seeds"], r["episodes"]) for r in results["rows"]] == [
        ("TWC-easy-v0", "pretrained", 1, len(games)),
        ("TWC-easy-v0", "scratch", 1, len(games)),
    ]
    assert "TWC-easy-v0" in result.output and "gain" in result.output

    stamps = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file() and p.suffix in (".pt", ".jsonl", ".csv")}
    started = time.perf_counter()
    again = CliRunner().invoke(app, args)
    assert again.exit_code == 0, again.output
    assert time.perf_counter() - started < 15  # nothing trained or played
    assert stamps == {p: p.stat().st_mtime_ns for p in stamps}
    assert json.loads((out / "transfer.json").read_text()) == results

    # A fresh checkout of the results (no checkpoints) with the scratch arm's evaluation cut short: the run trains
    # the pre-training and that arm again, to the same learning curves (the seed decides).
    def learned(curve: Path) -> list[list[str]]:  # a learning curve less its timing column (steps_per_s)
        rows = [line.split(",") for line in curve.read_text().splitlines()]
        timing = rows[0].index("steps_per_s")
        return [row[:timing] + row[timing + 1 :] for row in rows]

    curves = {p: learned(p) for p in out.rglob("learning_curve.csv")}
    for checkpoint in out.rglob("checkpoint.pt"):
        checkpoint.unlink()
    scratch = out / "TWC-easy-v0" / "seed0" / "scratch"
    (scratch / "done.json").unlink()
    episodes = scratch / "eval" / "episodes.jsonl"
    episodes.write_text(episodes.read_text().splitlines()[0] + "\n")
    (out / "TWC-easy-v0" / "seed0" / "pretrained" / "done.json").unlink()
    third = CliRunner().invoke(app, args)
    assert third.exit_code == 0, third.output
    assert {p: learned(p) for p in curves} == curves
    assert json.loads((out / "transfer.json").read_text()) == results

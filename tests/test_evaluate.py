"""The evaluation harness: determinism across workers, resumption, aggregates, reports."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import pytest
from PIL import Image

from starling_env.collection import shipped_collection
from starling_env.lab.evaluate import EvalConfig, evaluate, split_env_ids
from starling_env.lab.stats import mean_ci, summarize
from starling_env.records import EpisodeRecord, read_records

from .conftest import CLI

pytestmark = pytest.mark.skipif(
    not (shipped_collection() / "manifest.json").exists(), reason="the shipped benchmark is not built"
)


def without_time(records):
    return [r.model_copy(update={"wall_time_s": 0.0}) for r in records]


@pytest.fixture(scope="module")
def config():
    return EvalConfig(agent="random", env_ids=tuple(split_env_ids("test")[:4]), episodes=2, seed=5, max_steps=15)


def test_two_workers_give_the_same_records_as_one(config, tmp_path):
    one = evaluate(config, tmp_path / "one", workers=1)
    two = evaluate(config, tmp_path / "two", workers=2)
    assert without_time(one) == without_time(two) and len(one) == 8
    assert json.loads((tmp_path / "one" / "header.json").read_text())["agent"] == "random"


def test_a_killed_run_resumes_without_duplicates(tmp_path):
    out = tmp_path / "run"
    cli = [
        *CLI,
        "evaluate",
        "--agent",
        "random",
        "--benchmark",
        "1",
        "--split",
        "test",
        "--episodes",
        "2",
        "--max-steps",
        "40",
        "--workers",
        "1",
        "--out",
        str(out),
    ]
    proc = subprocess.Popen(cli, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    episodes = out / "episodes.jsonl"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and (not episodes.exists() or len(episodes.read_text().splitlines()) < 3):
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    partial = len(list(read_records(episodes)))
    assert 3 <= partial < 30
    assert subprocess.run(cli, capture_output=True, text=True).returncode == 0
    records = list(read_records(episodes))
    keys = [(r.env_id, r.seed) for r in records]
    assert len(records) == 30 and len(set(keys)) == 30


def test_aggregates_match_a_hand_computed_example():
    def record(game, score, won, steps, skills=("boil_water",), difficulty="easy"):
        return EpisodeRecord(
            agent="x",
            env_id=f"starling/{game}-v1",
            game_id=game,
            skills=list(skills),
            difficulty=difficulty,
            score=score,
            max_score=4,
            normalized_score=score / 4,
            won=won,
            steps=steps,
            wall_time_s=0.1,
        )

    records = [record("a", 4, True, 5), record("a", 2, False, 10), record("b", 0, False, 20, ("make_tea",), "hard")]
    summary = summarize(records, {"a": 5, "b": 10})
    overall = summary["overall"]["all"]
    assert overall["score"] == pytest.approx(0.5) and overall["win_rate"] == pytest.approx(1 / 3, abs=1e-3)
    assert overall["ci95"] == pytest.approx(4.3027 * 0.5 / 3**0.5, abs=1e-4)  # t(.975, 2); stdev of (1, .5, 0) is .5
    assert overall["steps"] == pytest.approx(35 / 3, abs=0.01)
    assert overall["steps_vs_walkthrough"] == pytest.approx((1 + 2 + 2) / 3, abs=0.001)
    assert summary["game"]["a"]["score"] == pytest.approx(0.75) and summary["skill"]["make_tea"]["score"] == 0
    assert summary["difficulty"]["hard"]["episodes"] == 1
    assert mean_ci([0.5]) == (0.5, 0.0)


def test_report_writes_tables_and_valid_pngs(config, tmp_path):
    evaluate(config, tmp_path / "random", workers=2)
    oracle = EvalConfig(agent="walkthrough", env_ids=config.env_ids, episodes=1, seed=5, max_steps=60)
    evaluate(oracle, tmp_path / "walkthrough", workers=2)
    result = subprocess.run(
        [
            *CLI,
            "report",
            str(tmp_path / "random"),
            str(tmp_path / "walkthrough"),
            "--out",
            str(tmp_path / "report"),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "report" / "report.json").read_text())
    assert [r["agent"] for r in report] == ["random", "walkthrough"] and report[1]["score"] == 1.0
    assert "| walkthrough | 1.000" in (tmp_path / "report" / "report.md").read_text()
    for name in ("per_skill.png", "score_vs_walkthrough.png"):
        with Image.open(tmp_path / "report" / name) as image:
            assert image.format == "PNG" and image.size[0] > 100


def test_a_different_evaluation_in_the_same_folder_is_refused(config, tmp_path):
    evaluate(config, tmp_path, workers=1)
    with pytest.raises(ValueError, match="different evaluation"):
        evaluate(EvalConfig(agent="random", env_ids=config.env_ids, episodes=3, seed=5), tmp_path)


def test_agent_options_pass_through_the_command_line(tmp_path):
    env_id = split_env_ids("test")[0]
    cli = [
        *CLI,
        "evaluate",
        "--agent",
        "random",
        "--env",
        env_id,
        "--episodes",
        "1",
        "--max-steps",
        "5",
        "--out",
        str(tmp_path),
    ]
    assert subprocess.run([*cli, "--option", "seed=7"], capture_output=True, text=True).returncode == 0
    assert json.loads((tmp_path / "header.json").read_text())["agent_options"] == {"seed": 7}
    bad = subprocess.run([*cli, "--option", "oops"], capture_output=True, text=True)
    assert bad.returncode == 2 and "KEY=VALUE" in bad.stderr


def test_human_recordings_join_the_report(config, tmp_path):
    game_id = config.env_ids[0].removeprefix("starling/").rsplit("-v", 1)[0]
    walkthrough = json.loads((shipped_collection() / game_id / "spec.json").read_text())["walkthrough"]
    humans = tmp_path / "humans"
    humans.mkdir()
    subprocess.run(
        [*CLI, "play", game_id, "--record", str(humans / "ann.jsonl")],
        input="\n".join(walkthrough) + "\n",
        capture_output=True,
        text=True,
        check=True,
    )
    evaluate(config, tmp_path / "random", workers=2)
    result = subprocess.run(
        [
            *CLI,
            "report",
            str(tmp_path / "random"),
            str(humans),
            "--out",
            str(tmp_path / "report"),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    rows = json.loads((tmp_path / "report" / "report.json").read_text())
    assert [r["agent"] for r in rows] == ["random", "human"] and rows[1]["score"] == 1.0

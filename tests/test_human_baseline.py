"""The human-baseline kit: the fixed sample, `starling play --sample` sessions driven through stdin on the real
games, and `starling report` comparing the recordings with the committed agent runs per game."""

from __future__ import annotations

import json
import subprocess
from collections import Counter

import pytest

from starling_env.collection import load_manifest
from starling_env.lab.play import SAMPLE_PER_STRATUM, SAMPLE_VERSION, human_sample, play_sample, sample_markdown
from starling_env.records import read_records

from .conftest import CLI, ROOT

RANDOM_RUN = ROOT / "results" / "eval-v2" / "random"


@pytest.fixture(scope="module")
def sample():
    try:
        return human_sample()
    except FileNotFoundError as exc:
        pytest.skip(f"the sample's benchmark is not installed: {exc}")


def walkthrough(sample, index: int) -> list[str]:
    return json.loads((sample.collection / sample.games[index].id / "spec.json").read_text())["walkthrough"]


def run_cli(args: list[str], lines: list[str]) -> subprocess.CompletedProcess:
    stdin = "".join(line + "\n" for line in lines)
    return subprocess.run([*CLI, *args], input=stdin, capture_output=True, text=True, timeout=300)


def end_of_input(prompt: str) -> str:
    raise EOFError


def test_the_sample_is_fixed_stratified_and_listed_in_the_docs(sample):
    manifest = load_manifest(sample.collection)
    strata = Counter((g.split, g.difficulty) for g in manifest.games)
    chosen = Counter((g.split, g.difficulty) for g in sample.games)
    assert chosen == {s: min(n, SAMPLE_PER_STRATUM) for s, n in strata.items()}
    assert len({g.id for g in sample.games}) == len(sample.games)
    assert [g.id for g in human_sample().games] == [g.id for g in sample.games]  # deterministic
    first_round = sample.games[: len(strata)]  # every stratum once before any twice, easy first
    assert {(g.split, g.difficulty) for g in first_round} == set(strata) and first_round[0].difficulty == "easy"
    assert sample.version == SAMPLE_VERSION
    assert sample_markdown(sample) in (ROOT / "docs" / "human-baseline.md").read_text(), (
        "docs/human-baseline.md lists another sample: regenerate its table with sample_markdown(human_sample())"
    )


def test_sessions_record_humans_resume_and_report_compares_per_game(sample, tmp_path):
    folder = tmp_path / "alice"
    # session 1: one game, won by typing its walkthrough
    first = run_cli(["play", "--sample", str(folder), "--games", "1"], walkthrough(sample, 0))
    assert first.returncode == 0, first.stdout + first.stderr
    assert f"Game 1 of {len(sample.games)}" in first.stdout and "You won!" in first.stdout
    header = json.loads((folder / "header.json").read_text())
    assert header["agent"] == "human" and header["human_sample"]["version"] == SAMPLE_VERSION
    assert (header["suite"], header["suite_version"], header["seed"]) == (sample.suite, sample.suite_version, 0)
    # session 2: game 1 is not asked again; game 2 is given up ("quit"); end of input during game 3 ends the
    # session without recording game 3
    second = run_cli(["play", "--sample", str(folder)], ["look", "quit"])
    assert second.returncode == 0, second.stdout + second.stderr
    assert "Game 1 of" not in second.stdout and "1 of 14 games recorded" in second.stdout
    assert "Game 2 of" in second.stdout and "Game over (quit)" in second.stdout
    assert "Game 3 of" in second.stdout and "this game was not recorded" in second.stdout
    records = list(read_records(folder / "episodes.jsonl"))
    assert [r.game_id for r in records] == [g.id for g in sample.games[:2]]
    assert [r.won for r in records] == [True, False] and records[1].steps == 1
    assert all(r.agent == "human" and r.seed == 0 for r in records)
    assert all(r.agent_stats["human_sample_version"] == SAMPLE_VERSION for r in records)
    printed: list[str] = []
    play_sample(folder, games=1, input_fn=end_of_input, print_fn=lambda *a, **k: printed.append(" ".join(a)))
    assert any("Game 3 of" in line for line in printed)  # the unrecorded game comes first next session
    assert len(list(read_records(folder / "episodes.jsonl"))) == 2

    # the recordings folder is one more row of `starling report`, compared per game on the games humans played
    out = tmp_path / "report"
    report = run_cli(["report", str(folder), str(RANDOM_RUN), "--out", str(out)], [])
    assert report.returncode == 0, report.stdout + report.stderr
    table = json.loads((out / "human.json").read_text())
    assert table["human_runs"] == ["human (alice)"]
    by_game = {g["game"]: g["runs"] for g in table["games"]}
    assert set(by_game) == {r.game_id for r in records}
    won = by_game[records[0].game_id]
    assert won["human (alice)"] == {"score": 1.0, "episodes": 1}
    random_there = [
        r.normalized_score for r in read_records(RANDOM_RUN / "episodes.jsonl") if r.game_id == records[0].game_id
    ]
    if sample.games[0].split == "test":  # the committed random run covers the test split
        assert won["random"]["episodes"] == len(random_there) == 3
        assert won["random"]["score"] == pytest.approx(sum(random_there) / 3, abs=1e-4)
    if sample.games[1].split == "train":
        assert by_game[records[1].game_id]["random"] is None  # no agent episode there: no cell
    means = table["means"]
    assert means["human (alice)"]["games"] == 2
    assert means["random"]["games"] == sum(g.split == "test" for g in sample.games[:2])
    text = (out / "report.md").read_text()
    assert "## Human baseline, per game" in text and "human (alice)" in text and "(n=1)" in text


def test_a_folder_of_another_sample_setting_and_bad_arguments_are_refused(sample, tmp_path):
    folder = tmp_path / "bob"
    quiet = {"input_fn": end_of_input, "print_fn": lambda *a, **k: None}
    assert play_sample(folder, games=1, **quiet) == []  # the session ended before any game was recorded
    with pytest.raises(ValueError, match="another sample or settings"):
        play_sample(folder, max_steps=50, **quiet)
    with pytest.raises(ValueError, match="1 or more"):
        play_sample(folder, games=0, **quiet)
    both = run_cli(["play", sample.games[0].id, "--sample", str(folder)], [])
    assert both.returncode == 2 and "give no GAME" in " ".join(both.stderr.split())  # rich wraps lines
    neither = run_cli(["play"], [])
    assert neither.returncode == 2 and "--sample DIR" in " ".join(neither.stderr.split())
    assert not (folder / "episodes.jsonl").exists()

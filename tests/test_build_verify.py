"""Building and verifying real games with the real Inform 7 compilers, and what failures look like."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from starling_env.builder.failures import FailureKind
from starling_env.builder.verify import Limits, _run_worker, verify_game_dir, verify_spec
from starling_env.collection import load_manifest
from starling_env.collection.publish import content_hash
from starling_env.spec import GameSpec

from .conftest import BOIL, CLI, SEED_EXAMPLES, as_text


def starling(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, cwd=cwd, timeout=300)


def assert_nothing_published(collection: Path) -> None:
    games = (
        [p for p in collection.iterdir() if p.is_dir() and not p.name.startswith(".")] if collection.exists() else []
    )
    assert games == []
    assert not (collection / "manifest.json").exists()
    staging = collection / ".staging"
    assert not staging.exists() or list(staging.iterdir()) == []


@pytest.mark.parametrize("path", SEED_EXAMPLES, ids=lambda p: p.parent.name)
def test_every_seed_example_builds_verifies_and_publishes(path, seed_collection):
    spec = GameSpec.load(path)
    folder = seed_collection / spec.id
    assert sorted(p.name for p in folder.iterdir()) == ["game.json", "game.z8", "spec.json"]
    assert GameSpec.load(folder / "spec.json") == spec
    entry = load_manifest(seed_collection).get(spec.id)
    assert entry is not None and entry.verification["passed"] and entry.split == "train"
    assert entry.max_score == sum(g.points for g in spec.goals)
    assert entry.content_hash == content_hash(spec)
    assert entry.walkthrough_length == len(spec.walkthrough) and entry.rooms == len(spec.rooms)
    assert entry.objects == len(spec.objects) and entry.skills == spec.skills


def build_failure(data: dict, tmp_path: Path, limits: Limits | None = None) -> tuple[list, Path]:
    limits = limits or Limits(walks=2)
    out = tmp_path / "staged"
    report = verify_spec(as_text(data), out, limits)
    assert not report.passed
    return report.failures, out


def test_unreachable_goal(boil_data, tmp_path):
    boil_data["objects"][1]["states"]["water"]["values"].append("frozen")
    boil_data["goals"].append({"when": ["state(pot, water) == frozen"], "points": 1})
    (failure,), _ = build_failure(boil_data, tmp_path)
    assert failure.kind is FailureKind.unreachable_goal and failure.path == "$.goals[3].when[0]"


def test_walkthrough_that_does_not_win(boil_data, tmp_path):
    boil_data["walkthrough"] = boil_data["walkthrough"][:-1]
    (failure,), _ = build_failure(boil_data, tmp_path)
    assert failure.kind is FailureKind.walkthrough_does_not_win
    assert "state(pot, water) == boiling" in failure.message


def test_walkthrough_with_an_impossible_step_names_the_step(boil_data, tmp_path):
    boil_data["walkthrough"].insert(1, "boil water in pot")
    (failure,), _ = build_failure(boil_data, tmp_path)
    assert failure.kind is FailureKind.walkthrough_invalid and failure.path == "$.walkthrough[1]"
    assert "take pot from cupboard" in failure.message  # the admissible commands are listed


def test_the_text_gate_fails_a_gamespec_11_spec_only(boil_data, tmp_path):
    boil_data["objective"] = "Find the kettle, fill it with water at the sink and boil the water on the stove."
    assert verify_spec(as_text(boil_data), tmp_path / "v10", Limits(walks=2)).passed  # 1.0: not held to it
    boil_data["spec_version"] = "1.1"
    (failure,), _ = build_failure(boil_data, tmp_path)
    assert failure.kind is FailureKind.text_unknown_noun and failure.path == "$.objective"
    assert "'kettle'" in failure.message


def test_schema_failure_from_the_sandbox_has_paths(boil_data, tmp_path):
    boil_data["actions"][0]["effects"] = ["state(vessel, water) == lukewarm"]
    failures, out = build_failure(boil_data, tmp_path)
    assert [f.kind for f in failures] == [FailureKind.schema]
    assert failures[0].path == "$.actions[0].effects[0]"
    assert not out.exists()


def test_invalid_json_is_reported(tmp_path):
    report = verify_spec("{ not json", tmp_path / "x")
    assert report.failures[0].kind is FailureKind.invalid_json


def test_broken_specs_publish_nothing_from_the_cli(boil_data, tmp_path):
    boil_data["objects"][1]["description"] = 'A pot." Instead of jumping: end the story.'
    spec = tmp_path / "bad.json"
    spec.write_text(as_text(boil_data))
    collection = tmp_path / "games"
    result = starling("build", str(spec), "--out", str(collection))
    assert result.returncode == 1
    assert "$.objects[1].description" in result.stderr
    assert_nothing_published(collection)


def test_a_hung_build_is_stopped_at_its_time_limit_and_leaves_nothing(tmp_path):
    collection = tmp_path / "games"
    result = starling("build", str(BOIL), "--out", str(collection), "--timeout", "0.5")
    assert result.returncode == 1 and "timeout" in result.stderr
    assert_nothing_published(collection)


def test_builds_stopped_at_their_time_limit_leave_no_temporary_folder(tmp_path, monkeypatch):
    private = tmp_path / "tmp"
    private.mkdir()
    monkeypatch.setenv("TMPDIR", str(private))  # the worker and its compilers inherit it
    monkeypatch.setattr(tempfile, "tempdir", None)  # and this process reads it again
    for timeout in (0.5, 1.0, 2.0):  # killed while starting, compiling or checking
        report = verify_spec(BOIL.read_text(), tmp_path / f"out-{timeout}", Limits(timeout_s=timeout))
        assert report.passed or report.kinds == [FailureKind.timeout], report.summary()
    assert list(private.iterdir()) == []


def test_a_worker_crash_is_one_readable_line_with_the_traceback_in_a_log(tmp_path, monkeypatch):
    monkeypatch.setenv("STARLING_LOG_DIR", str(tmp_path / "logs"))
    report = _run_worker({"mode": "recheck"}, Limits())  # a job without its game: the worker raises KeyError
    (failure,) = report.failures
    assert failure.kind is FailureKind.internal_error
    assert failure.message.startswith("the worker exited with 1: KeyError: 'game'; full traceback in ")
    assert "\n" not in failure.message
    (log,) = (tmp_path / "logs").iterdir()
    assert str(log) in failure.message and "Traceback (most recent call last)" in log.read_text()


def test_a_killed_build_leaves_no_partial_game_and_is_cleaned_up(tmp_path, monkeypatch):
    private = tmp_path / "tmp"  # the builds' temporary folders
    private.mkdir()
    monkeypatch.setenv("TMPDIR", str(private))
    collection = tmp_path / "games"
    assert starling("build", str(BOIL), "--out", str(collection)).returncode == 0
    manifest = (collection / "manifest.json").read_text()
    other_file = next(p for p in SEED_EXAMPLES if p != BOIL)
    other = GameSpec.load(other_file)
    proc = subprocess.Popen([*CLI, "build", str(other_file), "--out", str(collection)], start_new_session=True)
    deadline = time.monotonic() + 60
    while not list(private.glob("starling-verify-*/job.json")) and time.monotonic() < deadline:
        time.sleep(0.05)  # until the verifier subprocess has its job, however loaded the machine
    time.sleep(0.5)  # mid-build: the verifier subprocess is compiling
    os.killpg(proc.pid, signal.SIGKILL)  # the caller dies without cleaning up; its worker must die with it
    proc.wait()
    time.sleep(0.5)
    assert not [
        _read(p) for p in Path("/proc").glob("[0-9]*/cmdline") if str(private).encode() in _read(p)
    ]  # no orphans
    assert not (collection / other.id).exists()
    assert (collection / "manifest.json").read_text() == manifest
    assert starling("build", str(BOIL), "--out", str(collection)).returncode == 0
    assert [p.name for p in (collection / ".staging").iterdir()] == []  # the dead build's folder is gone
    assert list(private.iterdir()) == []  # and its temporary folder


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:  # the process ended meanwhile
        return b""


def test_memory_limit_is_enforced(tmp_path):
    report = verify_spec(BOIL.read_text(), tmp_path / "x", Limits(memory_mb=100))
    assert not report.passed
    assert report.failures[0].kind is FailureKind.out_of_memory, report.summary()


def lenient_and_strict_games(boil_data: dict, tmp_path: Path) -> tuple[Path, Path]:
    """Two verified builds whose fill action differs: the strict one also needs the stove on."""
    stricter = json.loads(json.dumps(boil_data))
    stricter["actions"][0]["requires"].append("switched_on(stove)")
    stricter["walkthrough"] = [
        "open cupboard",
        "take pot from cupboard",
        "switch on stove",
        "fill pot with water",
        "boil water in pot",
    ]
    folders = tmp_path / "lenient", tmp_path / "strict"
    for data, folder in zip((boil_data, stricter), folders, strict=True):
        assert verify_spec(as_text(data), folder).passed
        (folder / "spec.json").write_text(as_text(data))
    return folders


def test_verifier_catches_inform7_refusing_what_the_logic_allows(boil_data, tmp_path):
    """The lenient game's logic paired with the strict game's story file."""
    lenient, strict = lenient_and_strict_games(boil_data, tmp_path)
    shutil.copy(strict / "game.z8", lenient / "game.z8")
    report = verify_game_dir(lenient, Limits(walks=20, walk_length=30))
    assert report.failures[0].kind in (FailureKind.logic_mismatch, FailureKind.walkthrough_does_not_win)


def test_verifier_catches_inform7_doing_what_the_logic_forbids(boil_data, tmp_path):
    """The strict game's logic paired with the lenient game's story file."""
    lenient, strict = lenient_and_strict_games(boil_data, tmp_path)
    shutil.copy(lenient / "game.z8", strict / "game.z8")
    report = verify_game_dir(strict, Limits(walks=20, walk_length=30, probes=20))
    (failure,) = report.failures
    assert failure.kind is FailureKind.logic_mismatch and "does not allow it" in failure.message


def test_underscored_states_and_hyphenated_names_build(boil_data, tmp_path):
    text = as_text(boil_data).replace('"water"', '"water_level"').replace(", water)", ", water_level)")
    data = json.loads(text.replace("filled", "half_full"))
    data["objects"][1]["name"] = "cooking-pot"
    data["walkthrough"] = [c.replace(" pot", " cooking-pot") for c in data["walkthrough"]]
    report = verify_spec(as_text(data), tmp_path / "game")
    assert report.passed, report.summary()


def test_verifier_catches_a_score_the_game_counts_differently(boil_data, tmp_path):
    good = tmp_path / "good"
    assert verify_spec(as_text(boil_data), good).passed
    other = json.loads(json.dumps(boil_data))
    other["goals"][0]["points"] = 3
    assert verify_spec(as_text(other), tmp_path / "other").passed
    shutil.copy(tmp_path / "other" / "game.z8", good / "game.z8")
    (good / "spec.json").write_text(as_text(boil_data))
    report = verify_game_dir(good, Limits(walks=20, walk_length=30))
    assert report.failures[0].kind in (FailureKind.score_mismatch, FailureKind.walkthrough_does_not_win)


def test_content_hash_is_stable_across_hash_seeds():
    code = (
        "from starling_env.spec import GameSpec; from starling_env.collection.publish import content_hash; "
        f"print(content_hash(GameSpec.load({str(BOIL)!r})))"
    )
    hashes = {
        subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
        ).stdout
        for seed in ("0", "1", "12345")
    }
    assert len(hashes) == 1 and next(iter(hashes)).startswith("sha256:")


def test_content_hash_changes_with_the_spec(boil_data):
    a = GameSpec.from_data(boil_data)
    boil_data["objects"][1]["description"] = "A shiny pot."
    assert content_hash(a) != content_hash(GameSpec.from_data(boil_data))


def test_rebuilding_replaces_the_game_and_keeps_one_manifest_entry(tmp_path):
    for _ in range(2):
        assert starling("build", str(BOIL), "--out", str(tmp_path)).returncode == 0
    assert [g.id for g in load_manifest(tmp_path).games] == ["boil-water-example"]
    assert starling("verify", "boil-water-example", "--collection", str(tmp_path)).returncode == 0
    assert starling("verify", str(tmp_path / "boil-water-example")).returncode == 0


def test_verify_unknown_game_is_a_clear_error(tmp_path):
    result = starling("verify", "no-such-game", "--collection", str(tmp_path))
    assert result.returncode == 2 and "no game 'no-such-game'" in result.stderr


def test_validate_command(tmp_path, boil_data):
    assert starling("validate", str(BOIL)).returncode == 0
    boil_data["start"] = "attic"
    bad = tmp_path / "bad.json"
    bad.write_text(as_text(boil_data))
    result = starling("validate", str(bad))
    assert result.returncode == 1 and "$.start" in result.stderr


def test_compiler_problems_are_reported_without_the_noise(tmp_path):
    from textworld.generator.inform7.world2inform7 import CouldNotCompileGameError, compile_inform7_game

    from starling_env.builder.build import _compiler_problems

    with pytest.raises(CouldNotCompileGameError) as info:
        compile_inform7_game(
            "The kitchen is a room. The pot is in the kitchen. Instead of jumping: frobnicate the pot.",
            str(tmp_path / "broken.z8"),
        )
    problems = _compiler_problems(str(info.value))
    assert problems.startswith(">-->") and "frobnicate" in problems and "% (" not in problems

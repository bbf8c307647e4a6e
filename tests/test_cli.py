"""The first hour of a user at the command line: readable help, and one line (never a traceback) for a missing
extra or missing data; preparing third-party data."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import ROOT

SHARED_TWC = ROOT.parent / "shared" / "data" / "twc"


def starling(*args: str, cwd: Path, env: dict[str, str] | None = None, block: tuple[str, ...] = ()):
    """Run the console script's ``main`` in a fresh interpreter; ``block`` makes those packages unimportable,
    as when an extra is not installed."""
    code = "import sys\n"
    code += "".join(f"sys.modules[{name!r}] = None\n" for name in block)
    code += f"sys.argv = ['starling', *{list(args)!r}]\nfrom starling_env.lab.cli import main\nmain()\n"
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


def no_data_env(tmp_path: Path) -> dict[str, str]:
    import os

    (tmp_path / "no-data").mkdir(exist_ok=True)
    return {**os.environ, "STARLING_DATA": str(tmp_path / "no-data"), "COLUMNS": "400"}


def one_line_error(result: subprocess.CompletedProcess, *words: str) -> None:
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert all(w in result.stderr for w in words), result.stderr


@pytest.mark.parametrize(
    "command", ["generate", "evaluate", "train", "build", "play", "transfer", "generalisation", "data prepare"]
)
def test_help_reads_naturally(command, tmp_path):
    result = starling(*command.split(), "--help", cwd=tmp_path, env={**no_data_env(tmp_path), "COLUMNS": "120"})
    assert result.returncode == 0, result.stderr
    assert not re.search(r"<(bool|int|float|str|path|list\[)", result.stdout, re.IGNORECASE), result.stdout


def test_a_learner_without_its_extra_is_one_line_naming_the_extra(tmp_path):
    result = starling("train", "--agent", "drrn", "--steps", "5", "--out", "run", cwd=tmp_path, block=("torch",))
    one_line_error(result, "drrn", "'agents' extra", "pip install")


def test_scienceworld_without_its_extra_is_one_line_naming_the_extra(tmp_path):
    args = ("evaluate", "--agent", "random", "--env", "starling/ScienceWorld-v0", "--episodes", "1")
    result = starling(*args, cwd=tmp_path, env=no_data_env(tmp_path), block=("scienceworld",))
    one_line_error(result, "'targets' extra")


@pytest.mark.parametrize(
    "args",
    [
        ("train", "--agent", "drrn", "--env", "starling/TWC-easy-v0", "--steps", "5", "--out", "run"),
        ("evaluate", "--agent", "random", "--env", "starling/TWC-easy-v0", "--episodes", "1"),
        ("evaluate", "--agent", "random", "--env", "starling/ZMachine-v0", "--episodes", "1"),
        ("transfer", "--target", "starling/TWC-easy-v0", "--pretrain-steps", "5", "--steps", "5", "--out", "t"),
    ],
    ids=["train-twc", "evaluate-twc", "evaluate-zork", "transfer-twc"],
)
def test_missing_data_is_one_line_saying_how_to_get_it(args, tmp_path):
    result = starling(*args, cwd=tmp_path, env=no_data_env(tmp_path))
    one_line_error(result, "data", "Third-party data")
    assert "twc" not in args[3] or "starling data prepare twc" in result.stderr


@pytest.mark.skipif(not SHARED_TWC.is_dir(), reason="needs ../shared/data/twc")
def test_data_prepare_makes_the_published_twc_games_playable(tmp_path):
    download = tmp_path / "commonsense-rl" / "games" / "twc"  # as published: .json (+ .ulx, not shipped here)
    (download / "easy" / "test").mkdir(parents=True)
    for game in sorted((SHARED_TWC / "easy" / "test").glob("*.json"))[:2]:
        shutil.copy(game, download / "easy" / "test")
        (download / "easy" / "test" / game.with_suffix(".ulx").name).write_bytes(b"Glul")
    shutil.copy(SHARED_TWC / "LICENSE", tmp_path / "commonsense-rl")
    env = no_data_env(tmp_path)

    unprepared = starling(
        "evaluate", "--agent", "random", "--env", "starling/TWC-easy-v0", "--episodes", "1", cwd=tmp_path, env=env
    )
    one_line_error(unprepared, "no twc data")

    result = starling("data", "prepare", "twc", str(download), cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    prepared = tmp_path / "no-data" / "twc"
    assert sorted(p.name for p in (prepared / "easy" / "test").iterdir()) == sorted(
        f"{g.stem}{ext}" for g in (download / "easy" / "test").glob("*.json") for ext in (".json", ".z8")
    )
    assert (prepared / "LICENSE").is_file()
    again = starling("data", "prepare", "twc", str(download), cwd=tmp_path, env=env)
    assert "(0 compiled now)" in again.stdout  # resumable: nothing to redo

    played = starling(
        *("evaluate", "--agent", "walkthrough", "--env", "starling/TWC-easy-v0", "--episodes", "2", "--out", "ev"),
        cwd=tmp_path,
        env=env,
    )
    assert played.returncode == 0, played.stderr
    records = [json.loads(line) for line in (tmp_path / "ev" / "episodes.jsonl").read_text().splitlines()]
    assert len(records) == 2 and all(r["won"] for r in records)

"""Shared fixtures: the seed examples and small helpers to make broken variants of them."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "game_seeds"
SEED_EXAMPLES = sorted(SEEDS.glob("*/example.json"))
BOIL = SEEDS / "boil_water" / "example.json"


@pytest.fixture
def boil_data() -> dict:
    """The boil-water example as a dict, fresh for each test to mutate."""
    return copy.deepcopy(json.loads(BOIL.read_text()))


def as_text(data: dict) -> str:
    return json.dumps(data)


@pytest.fixture(scope="session")
def seed_collection(tmp_path_factory) -> Path:
    """Every seed example built, verified and published by the real CLI (the README's main job)."""
    out = tmp_path_factory.mktemp("seed_games")
    result = subprocess.run(
        [sys.executable, "-m", "starling_env.lab.cli", "build", str(SEEDS), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return out


@pytest.fixture(scope="session")
def seed_ids(seed_collection) -> list[str]:
    import starling_env

    return starling_env.register_games(seed_collection)

"""Shared fixtures: the seed examples and small helpers to make broken variants of them."""

from __future__ import annotations

import copy
import json
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

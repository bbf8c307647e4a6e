"""Seed ideas: ``game_seeds/<skill>/seed.json`` + its example spec, loaded and validated."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ..spec import GameSpec

SEED_FILE = "seed.json"


@dataclass(frozen=True)
class Seed:
    skill: str
    idea: str
    varies: tuple[str, ...]
    example: GameSpec
    example_text: str  # the example spec as written, for k-shot prompts


def load_seeds(folder: Path) -> dict[str, Seed]:
    """Every seed in ``folder`` by skill; raises ValueError naming the file of any bad seed."""
    seeds: dict[str, Seed] = {}
    for path in sorted(Path(folder).glob(f"*/{SEED_FILE}")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            example_path = path.parent / data["example"]
            text = example_path.read_text(encoding="utf-8")
            seed = Seed(data["skill"], data["idea"], tuple(data["varies"]), GameSpec.parse_text(text), text)
        except (OSError, KeyError, ValueError) as exc:
            raise ValueError(f"bad seed {path}: {exc}") from exc
        seeds[seed.skill] = seed
    if not seeds:
        raise ValueError(f"no seeds in {folder}: expected <skill>/{SEED_FILE} files")
    return seeds

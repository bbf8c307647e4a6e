"""Recipes: one file that lists the batches of a whole collection, so one command regenerates it."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator


class Batch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="label recorded in each game's provenance")
    skills: list[str] | None = Field(default=None, description="skills to draw from (default: every seed)")
    combos: list[list[str]] | None = Field(
        default=None, description="explicit skill combinations, used in turn (overrides skills and compose)"
    )
    cycle: bool = Field(default=False, description="take skills in turn instead of at random (even coverage)")
    difficulty: Literal["easy", "medium", "hard"] = "easy"
    compose: int = Field(default=1, ge=1, le=4, description="skills combined in each game")
    count: int = Field(ge=1, description="games to publish")
    split: str = "train"
    seed: int = Field(description="the batch's random seed; candidate i draws from (seed, i)")
    examples: Literal["first", "all"] = Field(
        default="first", description="start each game from a seed's first example only, or from any of its examples"
    )
    spec_version: Literal["1.0", "1.1"] | None = Field(
        default=None, description="only examples of this spec version (e.g. 1.1, whose texts the verifier checks)"
    )


class Calibration(BaseModel):
    """Tiers checked on measured play (``starling_env.lab.calibrate``): a candidate that does not fit is rejected."""

    model_config = ConfigDict(extra="forbid")

    episodes: int = Field(default=5, ge=1, le=50, description="seeded episodes per reference agent")
    max_random_wins: int = Field(default=1, ge=0, description="episodes the random agent may win")
    heuristic_score: dict[Literal["easy", "medium", "hard"], tuple[float, float]] = Field(
        default_factory=dict, description="per tier, the heuristic agent's accepted mean normalised score [low, high]"
    )


class Recipe(BaseModel):
    model_config = ConfigDict(extra="forbid")

    suite: str = Field(description="the collection's suite name, recorded in its manifest")
    version: int = Field(default=1, ge=1, description="suite version: env ids end in -v<version>")
    max_attempts: int = Field(default=3, ge=1)
    distinct: bool = Field(default=False, description="reject games whose template nearly duplicates an earlier one")
    timeout_s: float | None = Field(
        default=None, gt=0, description="seconds to build + verify one game (a slow machine must not change the games)"
    )
    calibration: Calibration | None = Field(default=None, description="check each game's tier on measured play")
    batches: list[Batch] = Field(min_length=1)

    @model_validator(mode="after")
    def _distinct_seeds(self) -> Recipe:
        seeds = [b.seed for b in self.batches]
        if len(set(seeds)) != len(seeds):
            raise ValueError(f"batch seeds must differ, or batches repeat each other's games: {seeds}")
        return self

    @classmethod
    def load(cls, path: Path) -> Recipe:
        try:
            return cls.model_validate_json(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValidationError) as exc:
            raise ValueError(f"bad recipe {path}: {exc}") from exc

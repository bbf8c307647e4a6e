"""Structured failures and verification reports: what a generator or an LLM repair loop reads."""

from __future__ import annotations

from enum import Enum
from typing import Any

from pydantic import BaseModel, Field


class FailureKind(str, Enum):
    """Machine-readable reasons a spec does not become a verified game."""

    invalid_json = "invalid_json"  # the file is not JSON
    schema = "schema"  # shapes, types, unsafe text, dangling references (has a JSON path)
    unreachable_goal = "unreachable_goal"  # no action or initial fact can make a goal true
    walkthrough_invalid = "walkthrough_invalid"  # a walkthrough command is not admissible when played
    walkthrough_does_not_win = "walkthrough_does_not_win"  # the walkthrough ends without every goal met
    compile_error = "compile_error"  # Inform 7 or Inform 6 rejected the generated source
    too_large = "too_large"  # the story file exceeds the z-machine limit
    logic_mismatch = "logic_mismatch"  # TextWorld's logic and the Inform 7 game disagree on a command
    score_mismatch = "score_mismatch"  # the game's score differs from the goals met in the logic
    undeclared_dead_end = "undeclared_dead_end"  # a state a random walk reached cannot win, and no lose condition holds
    # the text-fidelity gate (builder/fidelity.py): what the player reads agrees with the game
    text_unknown_noun = "text_unknown_noun"  # the objective or a goal text names a thing the game has no name for
    text_article = "text_article"  # "a" before a plural or mass noun ("a wellies", "a butter")
    text_fixed_on_floor = "text_fixed_on_floor"  # look lists a fixed thing (stove, sink) as lying on the floor
    text_missing_exit = "text_missing_exit"  # a room's text names a direction the room has no exit to
    text_unmentioned_door = "text_unmentioned_door"  # a room's look never names one of its doors
    timeout = "timeout"  # building or verifying ran past its time limit
    out_of_memory = "out_of_memory"  # building or verifying ran past its memory limit
    internal_error = "internal_error"  # a bug in STARLING itself; the message has the traceback
    no_candidate = "no_candidate"  # the generator's backend produced no spec (LLM error, seeds that cannot be joined)
    duplicate = "duplicate"  # the generator made a game identical to an earlier one
    near_duplicate = "near_duplicate"  # the game's template is (nearly) an earlier game's (collection/signature.py)
    off_tier = "off_tier"  # the game's measured solve rates do not fit its tier (the recipe's calibration)


class Failure(BaseModel):
    kind: FailureKind
    message: str
    path: str | None = Field(default=None, description="JSON path in the spec, where one applies")

    def __str__(self) -> str:
        where = f" at {self.path}" if self.path else ""
        return f"[{self.kind.value}]{where} {self.message}"


class VerificationReport(BaseModel):
    """The verifier's verdict on one spec: passed, or the failures that stop it."""

    game_id: str | None = None
    passed: bool
    failures: list[Failure] = Field(default_factory=list)
    stats: dict[str, Any] = Field(default_factory=dict, description="timings, sizes, steps checked")

    @property
    def kinds(self) -> list[FailureKind]:
        return [f.kind for f in self.failures]

    def summary(self) -> str:
        if self.passed:
            shown = {
                "build_s": "build {}s",
                "verify_s": "checks {}s",
                "random_steps": "{} random steps",
                "commands_checked": "{} commands checked",
                "probes": "{} probes",
            }
            parts = [fmt.format(self.stats[k]) for k, fmt in shown.items() if k in self.stats]
            return f"{self.game_id}: verified ({', '.join(parts)})"
        return f"{self.game_id or 'spec'}: FAILED\n" + "\n".join(f"  {f}" for f in self.failures)


class BuildFailed(Exception):
    """Raised inside the builder; carries the structured failures."""

    def __init__(self, failures: list[Failure]):
        self.failures = failures
        super().__init__("; ".join(map(str, failures)))

    @classmethod
    def one(cls, kind: FailureKind, message: str, path: str | None = None) -> BuildFailed:
        return cls([Failure(kind=kind, message=message, path=path)])

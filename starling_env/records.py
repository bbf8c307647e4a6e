"""EpisodeRecord: one episode of any player (agent, LLM or human), one JSON line per episode.

Play, the agents and the evaluation harness all write these, so human and agent results sit in the
same tables.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path

from pydantic import BaseModel, Field

from .files import append_jsonl


class Step(BaseModel):
    command: str = Field(description="what the player sent")
    observation: str = Field(description="what the game answered")
    reward: float = Field(description="score gained by this step")


class EpisodeRecord(BaseModel):
    """One episode: who played what, how well, and the full transcript."""

    agent: str = Field(description="agent name ('random', 'drrn', 'human', 'module:Class', ...)")
    env_id: str = Field(description="Gymnasium id, e.g. starling/boil-water-e4b0ab7-v1")
    game_id: str
    skills: list[str] = Field(default_factory=list)
    difficulty: str | None = None
    split: str | None = None
    seed: int | None = Field(default=None, description="the seed passed to reset")
    score: float = Field(description="final score")
    max_score: float
    normalized_score: float = Field(description="score / max_score (0 when max_score is 0)")
    won: bool
    steps: int = Field(description="commands sent")
    invalid_commands: int = Field(
        default=0,
        description="commands that were not admissible when sent (with the env's "
        "action_taken info: commands the game did not carry out)",
    )
    tokens: int = Field(default=0, description="LLM tokens spent (LLM agents)")
    agent_stats: dict[str, float] = Field(
        default_factory=dict,
        description="the agent's own counters for the episode "
        "(LLM agents: replies matched exactly or fuzzily, invalid, unparseable, ...)",
    )
    wall_time_s: float = Field(description="seconds the episode took")
    transcript: list[Step] = Field(default_factory=list, description="the reset observation, then every step")
    objective: str = ""


def append_records(path: Path, records: Iterable[EpisodeRecord]) -> None:
    """Append records as JSON lines, each line written whole and flushed to disk; a torn last line left by
    an interrupted write is repaired first (see :func:`starling_env.files.append_jsonl`)."""
    append_jsonl(path, (record.model_dump_json() for record in records))


def read_records(path: Path) -> Iterator[EpisodeRecord]:
    """Read a JSON-lines file of records; a torn last line (an interrupted write) is skipped."""
    with open(path, encoding="utf-8") as f:
        for line in f:
            try:
                yield EpisodeRecord.model_validate(json.loads(line))
            except (json.JSONDecodeError, ValueError):
                continue

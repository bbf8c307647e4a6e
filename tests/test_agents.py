"""The agent interface, the reference agents and EpisodeRecords on real games."""

from __future__ import annotations

import json

import gymnasium as gym
import pytest
from starling_agents import agent_class, load_agent, run_episode

import starling_env  # noqa: F401  (registers the ids)
from starling_env.collection import shipped_collection
from starling_env.records import EpisodeRecord, append_records, read_records

MANIFEST = (
    json.loads((shipped_collection() / "manifest.json").read_text())
    if (shipped_collection() / "manifest.json").exists()
    else None
)
pytestmark = pytest.mark.skipif(MANIFEST is None, reason="the shipped benchmark is not built")
SAMPLE = [g["id"] for g in (MANIFEST or {"games": []})["games"]][::20]


def make(agent, game_id: str, max_episode_steps: int = 100) -> gym.Env:
    env_id = f"starling/{game_id}-v{MANIFEST['version'] if MANIFEST else 1}"
    return gym.make(env_id, extra_info=list(agent.extra_info), max_episode_steps=max_episode_steps)


@pytest.mark.parametrize("game_id", SAMPLE)
def test_walkthrough_agent_wins_and_random_agent_plays(game_id):
    oracle = load_agent("walkthrough")
    record = run_episode(oracle, make(oracle, game_id), seed=0)
    assert record.won and record.normalized_score == 1.0 and record.invalid_commands == 0
    assert record.env_id == make(oracle, game_id).spec.id and record.skills and record.difficulty and record.split
    assert len(record.transcript) == record.steps + 1 and record.transcript[0].command == ""
    rand = load_agent("random", seed=1)
    first = run_episode(rand, make(rand, game_id, 20), seed=0)
    again = run_episode(load_agent("random", seed=1), make(rand, game_id, 20), seed=0)
    assert first.transcript == again.transcript and 0 <= first.normalized_score <= 1


def test_records_round_trip_and_survive_a_torn_line(tmp_path):
    agent = load_agent("walkthrough")
    record = run_episode(agent, make(agent, SAMPLE[0]), seed=0)
    path = tmp_path / "episodes.jsonl"
    append_records(path, [record, record])
    with open(path, "a") as f:
        f.write('{"agent": "half')  # an interrupted write
    assert list(read_records(path)) == [record, record]
    assert EpisodeRecord.model_validate_json(record.model_dump_json()) == record


def test_agents_load_by_name_or_module_path():
    assert agent_class("starling_agents.simple:RandomAgent") is agent_class("random")
    with pytest.raises(ValueError, match="unknown agent"):
        load_agent("alphago")
    with pytest.raises(ValueError, match="cannot load"):
        load_agent("nowhere.module:Agent")

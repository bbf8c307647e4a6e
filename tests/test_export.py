"""`starling export`: walkthroughs played through the real env and committed evaluation records, written as a
Hugging Face dataset, loaded back with the real `datasets` library (Parquet and Arrow) and rebuilt into records."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import datasets
import gymnasium as gym
import pytest
from starling_agents import run_episode
from starling_agents.simple import WalkthroughAgent

from starling_env.collection import load_manifest, shipped_collection
from starling_env.lab.export import features, to_record, to_row, walkthrough_episodes, write_dataset
from starling_env.records import EpisodeRecord, Step, append_records, read_records

from .conftest import CLI, ROOT

RUN = ROOT / "results" / "eval-v2" / "random"

datasets.disable_progress_bars()


def export(args: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, "export", *args], capture_output=True, text=True, timeout=300)


def load_both(folder: Path) -> tuple[datasets.DatasetDict, datasets.DatasetDict]:
    """The export read as Parquet files and as the Arrow copy."""
    files = {p.name.split("-00000")[0]: str(p) for p in sorted((folder / "data").glob("*.parquet"))}
    return datasets.load_dataset("parquet", data_files=files), datasets.load_from_disk(str(folder / "arrow"))


def test_every_record_field_is_a_column():
    columns = set(features())
    assert set(EpisodeRecord.model_fields) - {"transcript", "objective"} <= columns  # those two: the messages


def test_walkthroughs_are_real_episodes_in_chat_layout(tmp_path):
    manifest = load_manifest(shipped_collection())
    games = sorted(manifest.games, key=lambda g: (g.walkthrough_length, g.id))[:2]
    out = tmp_path / "walkthroughs"
    result = export(["walkthroughs", "--out", str(out), *[a for g in games for a in ("--game", g.id)]])
    assert result.returncode == 0, result.stdout + result.stderr
    parquet, arrow = load_both(out)
    rows = [r for name in parquet for r in parquet[name]]
    assert sorted(r["game_id"] for r in rows) == sorted(g.id for g in games)
    assert [r for name in arrow for r in arrow[name]] == rows
    for row in rows:
        record = to_record(row)
        spec = json.loads((shipped_collection() / record.game_id / "spec.json").read_text())
        # the same episode as the walkthrough agent playing the real env now (all but the wall time)
        agent = WalkthroughAgent()
        env = gym.make(record.env_id, extra_info=list(agent.extra_info), max_episode_steps=100)
        fresh = run_episode(agent, env, seed=0)
        env.close()
        assert record.model_copy(update={"wall_time_s": 0}) == fresh.model_copy(update={"wall_time_s": 0})
        assert record.won and [s.command for s in record.transcript[1:]] == spec["walkthrough"]
        messages = row["messages"]
        assert messages[0] == {
            "role": "system",
            "content": spec["objective"],
            "reward": None,
            "admissible_commands": None,
        }
        roles = [m["role"] for m in messages[1:]]
        assert roles == ["user"] + ["assistant", "user"] * record.steps
        users = [m for m in messages if m["role"] == "user"]
        assert all(m["admissible_commands"] for m in users)  # from the env, at every observation
        assert "look" in users[0]["admissible_commands"]
        assert sum(m["reward"] for m in messages if m["role"] == "assistant") == record.score
        entry = manifest.get(record.game_id)
        assert (row["suite_version"], row["content_hash"]) == (manifest.version, entry.content_hash)
    card = (out / "README.md").read_text()
    assert card.startswith("---\nlicense: mit\n") and "data/" in card and games[0].content_hash in card
    assert f"STARLING-100 v{manifest.version}" in card and "## Fields" in card


def test_committed_records_round_trip_losslessly_with_replayed_admissible_commands(tmp_path):
    run = tmp_path / "random"
    run.mkdir()
    originals = list(read_records(RUN / "episodes.jsonl"))[:2]
    (run / "header.json").write_text((RUN / "header.json").read_text())
    append_records(run / "episodes.jsonl", originals)
    out = tmp_path / "records"
    result = export(["records", str(run), "--replay", "--out", str(out)])
    assert result.returncode == 0, result.stdout + result.stderr
    parquet, arrow = load_both(out)
    assert list(parquet) == list(arrow) == ["random"]
    assert [to_record(r) for r in parquet["random"]] == originals
    assert [to_record(r) for r in arrow["random"]] == originals
    for row, record in zip(parquet["random"], originals, strict=True):
        users = [m for m in row["messages"] if m["role"] == "user"]
        assert len(users) == len(record.transcript) and all(m["admissible_commands"] for m in users)


def test_round_trip_keeps_what_evaluation_records_leave_empty(tmp_path):
    """Agent counters, no seed or tier, an empty command mid-episode, rewards on the reset: all come back."""
    base = next(read_records(RUN / "episodes.jsonl"))
    odd = base.model_copy(
        update={
            "agent": "human",
            "seed": None,
            "difficulty": None,
            "split": None,
            "agent_stats": {"human_sample_version": 1.0, "fuzzy": 2.0},
            "transcript": [
                Step(command="xyzzy", observation="o0", reward=0.5),
                Step(command="", observation="o1", reward=-1),
            ],
            "objective": "",
        }
    )
    empty = base.model_copy(update={"transcript": [], "steps": 0})
    out = tmp_path / "odd"
    write_dataset({"none": [], "some": [to_row(r, None, {}) for r in (odd, empty, base)]}, out, "test")
    parquet, arrow = load_both(out)
    assert [to_record(r) for r in parquet["some"]] == [to_record(r) for r in arrow["some"]] == [odd, empty, base]


def test_bad_input_is_a_clear_error(tmp_path):
    missing = export(["records", str(tmp_path / "nothing"), "--out", str(tmp_path / "x")])
    assert missing.returncode == 2 and "holds no episode records" in " ".join(missing.stderr.split())
    assert not (tmp_path / "x").exists()
    with pytest.raises(ValueError, match="no-such-game"):
        walkthrough_episodes(games=["no-such-game"])
    with pytest.raises(ValueError, match="nothing to export"):
        write_dataset({"a": []}, tmp_path / "z", "test")

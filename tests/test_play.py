"""`starling play`: a human episode at the terminal, driven here through stdin, recorded as an EpisodeRecord."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from starling_env.collection import shipped_collection
from starling_env.lab.play import play
from starling_env.records import EpisodeRecord, read_records

from .conftest import CLI

SHIPPED = shipped_collection(1)  # its shortest easy game has a stove, which the test examines
MANIFEST_FILE = SHIPPED / "manifest.json"
pytestmark = pytest.mark.skipif(not MANIFEST_FILE.is_file(), reason="the shipped benchmark is not built")


@pytest.fixture(scope="module")
def game() -> dict:
    """The easy shipped game with the shortest walkthrough (ties broken by id): its folder, spec and manifest facts."""
    manifest = json.loads(MANIFEST_FILE.read_text())
    entry = min(
        (g for g in manifest["games"] if g["difficulty"] == "easy"), key=lambda g: (g["walkthrough_length"], g["id"])
    )
    folder = SHIPPED / entry["id"]
    spec = json.loads((folder / "spec.json").read_text())
    return {"folder": folder, "spec": spec, "entry": entry, "version": manifest["version"]}


def run_play(args: list[str], lines: list[str], timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*CLI, "play", *args],
        input="".join(line + "\n" for line in lines),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def only_record(path: Path) -> EpisodeRecord:
    lines = path.read_text().splitlines()
    assert len(lines) == 1, lines
    return EpisodeRecord.model_validate_json(lines[0])


def test_walkthrough_wins_and_records_one_human_episode(game, tmp_path):
    walkthrough, record_file = game["spec"]["walkthrough"], tmp_path / "sub" / "human.jsonl"
    result = run_play([str(game["folder"]), "--record", str(record_file), "--seed", "7"], walkthrough)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"Objective: {game['spec']['objective']}" in result.stdout
    assert "You won!" in result.stdout and "not won" not in result.stdout
    assert str(record_file) in result.stdout
    record = only_record(record_file)
    assert record.agent == "human" and record.won and record.normalized_score == 1.0
    assert record.score == record.max_score == game["entry"]["max_score"]
    assert record.steps == len(walkthrough) and len(record.transcript) == record.steps + 1
    assert record.transcript[0].command == "" and record.transcript[0].reward == 0
    assert game["spec"]["objective"] in record.transcript[0].observation
    assert [s.command for s in record.transcript[1:]] == walkthrough
    assert sum(s.reward for s in record.transcript) == record.score
    assert record.invalid_commands == 0 and record.tokens == 0 and record.wall_time_s >= 0
    assert record.env_id == f"starling/{game['entry']['id']}-v{game['version']}"
    assert (record.game_id, record.seed, record.objective) == (game["entry"]["id"], 7, game["spec"]["objective"])
    assert (record.skills, record.difficulty) == (game["spec"]["skills"], game["spec"]["difficulty"])
    assert record.split == game["entry"]["split"]
    assert [r.won for r in read_records(record_file)] == [True]


def test_meta_commands_are_not_sent_and_invalid_commands_are_counted(game, tmp_path):
    walkthrough, record_file = game["spec"]["walkthrough"], tmp_path / "human.jsonl"
    lines = ["help", "commands", "objective", "score", "", "dance wildly", *walkthrough]
    result = run_play([str(game["folder"]), "--record", str(record_file)], lines)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Meta commands" in result.stdout and "You can try: " in result.stdout and "You won!" in result.stdout
    record = only_record(record_file)
    assert record.won and record.invalid_commands == 1
    assert record.steps == len(walkthrough) + 1 and len(record.transcript) == record.steps + 1
    sent = [s.command for s in record.transcript[1:]]
    assert sent == ["dance wildly", *walkthrough]


def test_invalid_counts_what_the_game_did_not_carry_out(game, tmp_path):
    """Synonyms the game understands ("get" for "take", "turn on" for "switch on", "l", "x") are valid;
    unknown verbs, impossible and multi-action commands are not; the summary's counts agree with the record."""
    synonyms = [
        c.replace("take ", "get ", 1).replace("switch on", "turn on", 1).upper() for c in game["spec"]["walkthrough"]
    ]
    assert synonyms != game["spec"]["walkthrough"]
    lines = ["l", "x stove", "dance wildly", "take all", "take the moon", *synonyms]
    result = run_play([str(game["folder"]), "--record", str(tmp_path / "h.jsonl")], lines)
    assert result.returncode == 0, result.stdout + result.stderr
    record = only_record(tmp_path / "h.jsonl")
    assert record.won and record.steps == len(lines) and record.invalid_commands == 3
    moves = int(result.stdout.split(" moves (")[0].rsplit(" ", 1)[1])
    assert f"in {moves} moves ({len(lines)} commands, 3 not carried out)" in result.stdout
    assert moves == len(lines) - 3  # the game took a turn for each command it carried out
    assert f"moves {moves - 1}] > " in result.stdout  # the prompt before the last command


def test_end_of_input_before_winning_ends_cleanly(game, tmp_path):
    walkthrough, record_file = game["spec"]["walkthrough"], tmp_path / "human.jsonl"
    result = run_play(["--record", str(record_file), str(game["folder"])], walkthrough[:2])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stderr and "not won" in result.stdout
    record = only_record(record_file)
    assert not record.won and record.steps == 2 and len(record.transcript) == 3
    assert record.normalized_score < 1.0


def test_game_id_resolves_in_a_collection(game, tmp_path):
    result = run_play([game["entry"]["id"], "--collection", str(SHIPPED)], ["quit", "open everything"])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Game over (quit)" in result.stdout and "Recorded" not in result.stdout


def test_unknown_game_exits_2_with_a_clear_message(tmp_path):
    result = run_play(["no-such-game-xyz", "--record", str(tmp_path / "r.jsonl")], [])
    assert result.returncode == 2
    assert "no game 'no-such-game-xyz'" in result.stderr
    assert not (tmp_path / "r.jsonl").exists()


def test_play_in_process_with_a_step_limit(game, tmp_path):
    walkthrough, printed, prompts = game["spec"]["walkthrough"], [], []
    lines = iter(["commands", *walkthrough])

    def answer(prompt: str) -> str:
        prompts.append(prompt)
        return next(lines)

    record = play(
        game["folder"],
        record=None,
        seed=None,
        max_steps=1,
        input_fn=answer,
        print_fn=lambda *a, **k: printed.append(" ".join(map(str, a))),
    )
    assert record.steps == 1 and not record.won and len(record.transcript) == 2
    assert any("step limit (1)" in p for p in printed)
    assert prompts[0] == f"[score 0/{game['entry']['max_score']}, moves 0] > " and len(prompts) == 2
    assert next(lines) == walkthrough[1]  # play stopped reading after the truncating command

"""Target environments: the TextWorld Commonsense suites and any Z-machine game (MIT Zork I).

The game data is third-party and never shipped: tests skip (with the reason) when
``../shared/data/{twc,zork1}`` (or ``$STARLING_DATA``) is absent.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import gymnasium as gym
import pytest
from gymnasium.utils.env_checker import check_env

import starling_env  # noqa: F401  (registers the ids)
from starling_env.envs.engine import BLOCKED_REPLY
from starling_env.targets import TWC_LEVELS
from starling_env.targets.twc import TWC_SPLITS, TWCEnv
from starling_env.targets.zmachine import ZMachineEnv

from .conftest import CLI, third_party_data

HOSTILE = [
    "",
    "   ",
    "x" * 1000,
    "ñandú ☃ 北 \x00\x07",
    "look\nrestart",
    "restart",
    "save",
    "RESTORE",
    "quit",
    "undo",
    "open mailbox. restart",
    "take it then quit",
    "script",
    "#comm",
    "\\",
    "restarting",
    "tw-trace-actions",
]


@pytest.fixture(scope="module")
def twc() -> Path:
    return third_party_data("twc")


@pytest.fixture(scope="module")
def zork() -> Path:
    return third_party_data("zork1") / "zork1.z3"


@pytest.fixture(scope="module")
def zork_walkthrough(zork) -> tuple[list[str], int]:
    env = ZMachineEnv(zork, admissible=False)
    try:
        return env.walkthrough(), env.walkthrough_seed
    finally:
        env.close()


def _play(env: gym.Env, commands: list[str], seed: int | None) -> tuple[list[str], dict, bool]:
    obs, info = env.reset(seed=seed)
    transcript, terminated = [obs], False
    for command in commands:
        obs, _, terminated, truncated, info = env.step(command)
        transcript.append(obs)
        if terminated or truncated:
            break
    return transcript, info, terminated


# -- TextWorld Commonsense ---------------------------------------------------------------------------
def test_twc_passes_check_env_and_has_a_card(twc):
    env = TWCEnv(level="easy", data_dir=twc)
    check_env(env, skip_render_check=True)
    env.reset(seed=0)
    card = env.card
    assert card["env_id"] == "starling/TWC-easy-v0" and card["game_id"] in env.game_ids
    assert (card["difficulty"], card["split"], card["skills"]) == ("easy", "test", [])
    env.close()


@pytest.mark.parametrize("level", TWC_LEVELS)
def test_twc_walkthrough_wins_every_game_at_max_score(twc, level):
    env = TWCEnv(
        level=level, split=list(TWC_SPLITS), extra_info=["walkthrough"], max_episode_steps=None, admissible=False
    )
    assert len(env.game_ids) == 15
    for game in env.game_ids:
        _, info = env.reset(options={"game": game})
        walkthrough = info["walkthrough"]
        assert walkthrough, game
        for i, command in enumerate(walkthrough):
            _, _, terminated, _, info = env.step(command)
            assert terminated == (i == len(walkthrough) - 1), (game, command)
        assert info["won"] and info["score"] == info["max_score"] > 0, game
        with pytest.raises(gym.error.ResetNeeded):
            env.step("look")
    env.close()


def test_twc_make_seed_fixes_the_game_sequence_and_game_kwarg_picks_one(twc):
    def sequence(seed: int) -> list[str]:
        env = gym.make("starling/TWC-medium-v0", data_dir=str(twc))
        games = [env.reset(seed=seed)[1]["game_id"]] + [env.reset()[1]["game_id"] for _ in range(5)]
        env.close()
        return games

    assert sequence(3) == sequence(3)
    stem = TWCEnv(level="hard", split="valid", data_dir=twc).game_ids[2]
    env = gym.make("starling/TWC-hard-v0", split="valid", game=stem[-8:], data_dir=str(twc))
    assert env.reset(seed=1)[1]["game_id"] == stem and env.unwrapped.card["split"] == "valid"
    env.close()
    for bad in ({"level": "expert"}, {"split": "dev"}, {"game": "no-such-game"}):
        with pytest.raises(ValueError):
            TWCEnv(**{"level": "easy", "data_dir": twc, **bad})


def test_twc_hostile_commands_do_not_desync(twc):
    env = TWCEnv(level="easy", extra_info=["walkthrough", "description", "inventory"], data_dir=twc)
    _, info = env.reset(seed=0)
    walkthrough = info["walkthrough"]
    for command in HOSTILE:
        obs, _, terminated, _, info = env.step(command)
        assert env.observation_space.contains(obs) and not terminated
    for command in walkthrough:
        _, _, terminated, _, info = env.step(command)
    assert terminated and info["won"] and info["score"] == info["max_score"]
    assert info["description"] and info["inventory"]
    env.close()


# -- Z-machine games ------------------------------------------------------------------------------------
def test_zmachine_passes_check_env_and_make(zork):
    env = ZMachineEnv(zork)
    check_env(env, skip_render_check=True)
    env.close()
    env = gym.make(
        "starling/ZMachine-v0",
        game_path=str(zork),
        render_mode="ansi",
        extra_info=["description", "inventory", "location", "walkthrough"],
    )
    obs, info = env.reset(seed=12)
    assert "West of House" in obs and info["location"] == "West of House" and "mailbox" in info["description"]
    assert info["max_score"] == 350 and info["walkthrough"][:2] == ["N", "N"]
    assert env.unwrapped.card == {
        "env_id": "starling/ZMachine-v0",
        "game_id": "zork1",
        "skills": [],
        "difficulty": None,
        "split": None,
    }
    env.step("open mailbox")
    assert "leaflet" in env.render()
    env.close()
    assert env.unwrapped.engine._frotz is None  # close() released the interpreter
    with pytest.raises(ValueError, match="valid names"):
        ZMachineEnv(zork, extra_info=["facts"])


def test_zork_walkthrough_scores_350_and_a_seed_fixes_the_transcript(zork, zork_walkthrough):
    walkthrough, seed = zork_walkthrough
    assert seed == 12 and len(walkthrough) > 300
    env = ZMachineEnv(zork, admissible=False, max_episode_steps=None)
    first, info, terminated = _play(env, walkthrough, seed)
    assert terminated and info["won"] and not info["lost"] and info["score"] == info["max_score"] == 350
    assert "350 (total of 350 points)" in first[-1]
    with pytest.raises(gym.error.ResetNeeded):
        env.step("look")
    second, _, _ = _play(env, walkthrough, seed)
    assert first == second
    env.close()


def test_zmachine_unseeded_episodes_follow_the_env_rng(zork, zork_walkthrough):
    commands = zork_walkthrough[0][:40] + ["wait"] * 10  # the thief and the troll use the game's RNG

    def episodes(env: ZMachineEnv) -> list[list[str]]:
        return [_play(env, commands, seed)[0] for seed in (7, None, None)]

    a, b = ZMachineEnv(zork, admissible=False), ZMachineEnv(zork, admissible=False)
    runs = episodes(a)
    assert runs == episodes(b)
    assert len({tuple(r) for r in runs}) > 1  # later episodes draw other game seeds
    a.close(), b.close()


def test_zmachine_state_branches_and_returns(zork):
    env = ZMachineEnv(zork, admissible=False)
    env.reset(seed=12)
    env.step("open mailbox")
    state = env.get_state()
    obs, _, _, _, info = env.step("take leaflet")
    assert obs == "Taken." and info["moves"] == 2
    env.step("north")
    env.set_state(state)
    assert env.step("take leaflet")[0] == "Taken."
    env.set_state(state)
    assert "leaflet" in env.step("look")[0]
    fresh = ZMachineEnv(zork, admissible=False)  # a snapshot restores into a new env of the same game
    fresh.set_state(state)
    assert fresh.step("take leaflet")[0] == "Taken."
    env.close(), fresh.close()


def test_zmachine_hostile_commands_do_not_crash_or_desync(zork):
    env = ZMachineEnv(zork, admissible=False)
    env.reset(seed=12)
    env.step("open mailbox")
    for command in HOSTILE:
        obs, reward, terminated, _, _ = env.step(command)
        assert env.observation_space.contains(obs) and not terminated and reward == 0
    for blocked in ("restart", "save", "open mailbox. restart", "take it then quit"):
        assert env.step(blocked)[0] == BLOCKED_REPLY
    obs = env.step("take leaflet")[0]
    assert obs == "Taken." and "leaflet" in env.engine.peek("inventory")  # the game was never restarted
    env.close()


def test_zmachine_admissible_commands_at_the_start_of_zork(zork):
    env = ZMachineEnv(zork)
    _, info = env.reset(seed=12)
    admissible = info["admissible_commands"]
    assert {"open mailbox", "north", "south", "west"} <= set(admissible) and admissible == sorted(admissible)
    assert not {"east", "look", "examine mailbox", "take mailbox", "inventory"} & set(admissible)
    engine = env.engine
    nothing = engine.effect("look")
    for command in admissible:  # each changes the world, and no two change it alike
        assert engine.effect(command) != nothing, command
    assert len({engine.effect(c) for c in admissible}) == len(admissible)
    state = env.get_state()
    env.step("open mailbox")
    assert "take leaflet" in env.engine.admissible_commands()
    env.set_state(state)
    assert env.engine.admissible_commands() == admissible
    env.close()


def test_zmachine_reads_score_and_end_of_an_inform_game(twc):
    """A TextWorld (Inform 7, version 8) story: no status line; score and end read from the game's text."""
    suite = TWCEnv(level="easy", extra_info=["walkthrough"], data_dir=twc, admissible=False)
    _, info = suite.reset(seed=0)
    path, walkthrough, max_score = suite.current.story_file, info["walkthrough"], info["max_score"]
    suite.close()
    env = ZMachineEnv(path, admissible=False, max_episode_steps=None)
    _, info, terminated = _play(env, walkthrough, seed=0)
    assert terminated and info["won"] and info["score"] == info["max_score"] == max_score
    assert env.walkthrough() == []  # jericho does not know it
    env.close()


def test_evaluate_cli_runs_on_twc(twc, tmp_path):
    out = tmp_path / "eval"
    result = subprocess.run(
        [
            *CLI,
            "evaluate",
            "--agent",
            "random",
            "--env",
            "starling/TWC-easy-v0",
            "--episodes",
            "1",
            "--workers",
            "1",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    record = (out / "episodes.jsonl").read_text().splitlines()[0]
    assert '"env_id":"starling/TWC-easy-v0"' in record and '"difficulty":"easy"' in record

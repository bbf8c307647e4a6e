"""starling/ScienceWorld-v0: the StarlingEnv contract over ScienceWorld (needs the targets extra and Java)."""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import gymnasium as gym
import pytest

pytest.importorskip("scienceworld", reason="ScienceWorld is not installed: pip install '.[targets]'")
if shutil.which("java") is None:
    pytest.skip("ScienceWorld needs a Java runtime on PATH (e.g. openjdk-17-jre-headless)", allow_module_level=True)

import starling_env  # noqa: F401  (registers the ids)
from starling_env.targets.scienceworld import (
    EXTRA_INFO,
    ScienceWorldEnv,
    ScienceWorldState,
    resolve_task,
    task_table,
)

from .conftest import CLI

ROOT = Path(__file__).resolve().parents[1]
HOSTILE = [
    "",
    "   ",
    "x" * 10_000,
    "h\u00e9llo w\u00f6rld \u2603 \u4f60\u597d",
    "look\naround",
    "open door\r\nto kitchen",
    "\x00\x01\x1b[2J",
    "\\",
    "%s %d {} ${HOME} `ls`",
    "go to " + "kitchen " * 200,
    "\t\n\t",
    "0",
    "-1",
    "\U0001f600" * 50,
    "focus on",
    "reset task",
]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (exited, not yet reaped) counts as gone
        return Path(f"/proc/{pid}/status").read_text().split("State:")[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


@pytest.fixture(scope="module")
def env():
    """Boil, variation 0, with every extra info: one JVM for the module."""
    e = ScienceWorldEnv(
        "boil",
        variation=0,
        extra_info=("walkthrough", "description", "inventory"),
        max_episode_steps=None,
        render_mode="ansi",
    )
    yield e
    e.close()


@contextmanager
def drawing(env, **attributes):
    """Temporarily draw variations (no fixed variation) and change other attributes of the shared env."""
    saved = {k: getattr(env, k) for k in ("fixed_variation", *attributes)}
    env.fixed_variation = None
    for k, v in attributes.items():
        setattr(env, k, v)
    try:
        yield env
    finally:
        for k, v in saved.items():
            setattr(env, k, v)


def play(env, seed, steps=15):
    obs, info = env.reset(seed=seed)
    rng = random.Random(seed)
    out = [(env.game_id, obs, info["score"])]
    for _ in range(steps):
        command = rng.choice(info["admissible_commands"])
        obs, reward, terminated, truncated, info = env.step(command)
        out.append((command, obs, reward, terminated, info["score"], info["moves"], info["admissible_commands"]))
        if terminated or truncated:
            break
    return out


def test_arguments_are_checked_before_the_jvm_starts():
    with pytest.raises(ValueError, match="valid names"):
        ScienceWorldEnv(extra_info=["facts"])
    with pytest.raises(ValueError, match="unknown ScienceWorld task"):
        ScienceWorldEnv(task="bake-a-cake")
    with pytest.raises(ValueError, match="simplification"):
        ScienceWorldEnv(simplification="easy,fast")
    with pytest.raises(ValueError, match="split"):
        ScienceWorldEnv(split="validation")
    with pytest.raises(ValueError, match="electrical"):
        ScienceWorldEnv(task="power-component", simplification="noElectricalAction")
    assert resolve_task("1-1") == resolve_task("boil") == "boil"
    assert resolve_task("4-2") == "find-non-living-thing"
    assert len(task_table()) == 30


def test_check_env(env):
    from gymnasium.utils.env_checker import check_env

    check_env(env, skip_render_check=False)


def test_reset_contract(env):
    obs, info = env.reset(seed=3)
    assert env.observation_space.contains(obs)
    assert obs.startswith("Your task is to boil") and "This room is called" in obs
    assert {
        "admissible_commands",
        "score",
        "max_score",
        "won",
        "lost",
        "moves",
        "objective",
        "game_id",
        *env.extra_info,
    } <= set(info)
    assert info["max_score"] == 100 and info["game_id"] == "boil-0" and not info["won"] and not info["lost"]
    commands = info["admissible_commands"]
    assert commands == sorted(set(commands)) and "look around" in commands and len(commands) > 50
    assert all(env.action_space.contains(c) for c in commands)
    assert info["inventory"].startswith("In your inventory") and info["description"].startswith("This room is called")
    assert env.card == {
        "env_id": "starling/ScienceWorld-v0",
        "game_id": "boil-0",
        "skills": [],
        "difficulty": None,
        "split": "train",
    }  # variation 0 is one of ScienceWorld's training variations
    assert env.render().startswith("Your task")


def test_walkthrough_wins_boil(env):
    """Boil variation 0: ScienceWorld's gold path (39 commands) wins after 36 of them."""
    _, info = env.reset()
    walkthrough = info["walkthrough"]
    assert walkthrough and walkthrough == env.walkthrough
    total, start = 0.0, info["score"]
    for command in walkthrough:
        _, reward, terminated, truncated, info = env.step(command)
        total += reward
        if terminated:
            break
    assert terminated and not truncated and info["won"] and not info["lost"]
    assert info["score"] == 100 and total == 100 - start
    with pytest.raises(gym.error.ResetNeeded):
        env.step("look around")


def test_failure_is_lost_with_score_zero(env):
    env.reset()
    for command in (
        "open door to kitchen",
        "go to kitchen",
        "pick up thermometer",
        "open cupboard",
        "pick up metal pot",
        "move metal pot to sink",
        "activate sink",
    ):
        *_, info = env.step(command)
    held = info["score"]
    assert held > 0
    _, reward, terminated, _, info = env.step("focus on chair")  # the wrong substance: task failed
    assert terminated and info["lost"] and not info["won"] and info["score"] == 0 and reward == -held


def test_same_seed_same_transcript(env):
    with drawing(env, extra_info=("description", "inventory")):
        first, again = play(env, seed=11), play(env, seed=11)
        assert first == again
        variations = {play(env, seed=s, steps=0)[0][0] for s in range(6)}
        assert len(variations) > 1 and all(v.startswith("boil-") for v in variations)
        assert all(int(v.split("-")[1]) in env._variations["test"] for v in variations)  # default split: test
        env.reset(seed=0)
        assert env.card["split"] == "test"


def test_valid_actions_and_texts_do_not_depend_on_history(env):
    """Boil variation 1's art studio holds look-alike paint cups: ScienceWorld words them at random and orders
    some texts by identity hash; the env makes both reproducible, and asking for them changes nothing."""

    def episode(admissible=True):
        env.admissible = admissible
        env.reset(options={"variation": 1})
        out = []
        for command in ("go to art studio", "look around", "look at paint", "0", "look in hallway", "wait1"):
            obs, _, _, _, info = env.step(command)
            out.append((obs, info.get("admissible_commands")))
        return out

    with drawing(env, extra_info=("description", "inventory")):
        try:
            first, second, silent = episode(), episode(), episode(admissible=False)
        finally:
            env.admissible = True
    assert first == second
    assert [obs for obs, _ in first] == [obs for obs, _ in silent]
    assert any("paint" in command for command in first[1][1])


def test_hostile_commands_never_crash(env):
    env.reset()
    for command in HOSTILE:
        obs, reward, terminated, truncated, _ = env.step(command)
        assert env.observation_space.contains(obs) and isinstance(reward, float)
        if terminated or truncated:
            env.reset()
    obs, *_ = env.step(env.action_space.sample())
    assert env.observation_space.contains(obs)


def test_get_state_set_state_replays(env):
    env.reset()
    for command in ("open door to kitchen", "go to kitchen", "pick up thermometer"):
        env.step(command)
    state = env.get_state()
    assert isinstance(state, ScienceWorldState) and state.commands[-1] == "pick up thermometer"
    after = [env.step(c)[0] for c in ("open cupboard", "pick up metal pot", "look around")]
    for _ in range(2):  # back and forth: from a longer episode (reload + replay), then again
        env.set_state(state)
        assert env.step("open cupboard")[0] == after[0]
        assert env.step("pick up metal pot")[0] == after[1]
        assert env.step("look around")[0] == after[2]
    env.reset()
    env.step("open door to kitchen")
    env.set_state(state)  # a prefix of the state: replays forward only
    assert env.transcript == list(state.transcript) and env.step("open cupboard")[0] == after[0]


def test_admissible_off_and_unknown_variation(env):
    env.admissible = False
    try:
        _, info = env.reset()
        assert "admissible_commands" not in info
        *_, info = env.step("look around")
        assert "admissible_commands" not in info
    finally:
        env.admissible = True
    with pytest.raises(ValueError, match="variations 0..29"):
        env.reset(options={"variation": 30})


def test_gym_make_time_limit_and_close_leave_no_jvm():
    env = gym.make("starling/ScienceWorld-v0", task="boil", extra_info=["goal_progress"], admissible=False)
    try:
        assert env.spec.max_episode_steps == 100 and env.unwrapped.max_episode_steps is None
        _, info = env.reset(seed=0)
        assert "Sequential Subgoals" in info["goal_progress"]
        pid = env.unwrapped.jvm_pid
        assert pid and alive(pid)
        truncated = terminated = False
        steps = 0
        while not (terminated or truncated):
            _, _, terminated, truncated, info = env.step("look around")
            steps += 1
        assert truncated and steps == 100
    finally:
        env.close()
    deadline = time.monotonic() + 10
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive(pid) and env.unwrapped.jvm_pid is None


def test_jvm_is_shut_down_at_interpreter_exit(tmp_path):
    script = (
        "from starling_env.targets.scienceworld import ScienceWorldEnv\n"
        "env = ScienceWorldEnv('4-2', split='dev')\nenv.reset(seed=0)\nprint(env.jvm_pid)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=ROOT, check=False
    )
    assert result.returncode == 0, result.stderr
    pid = int(result.stdout.strip().splitlines()[-1])
    deadline = time.monotonic() + 10
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive(pid)
    assert "Traceback" not in result.stderr and "Exception" not in result.stderr, result.stderr


def test_cli_evaluate_end_to_end(tmp_path):
    out = tmp_path / "swx"
    result = subprocess.run(
        [
            *CLI,
            "evaluate",
            "--agent",
            "random",
            "--env",
            "starling/ScienceWorld-v0",
            "--episodes",
            "1",
            "--workers",
            "1",
            "--max-steps",
            "10",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    (line,) = (out / "episodes.jsonl").read_text().splitlines()
    record = json.loads(line)
    assert record["env_id"] == "starling/ScienceWorld-v0" and record["game_id"].startswith("boil-")
    assert record["split"] == "test" and record["max_score"] == 100 and 1 <= record["steps"] <= 10
    assert record["objective"].startswith("Your task is to boil")


def test_extra_info_names_are_documented():
    assert set(EXTRA_INFO) == {"walkthrough", "description", "inventory", "goal_progress"}

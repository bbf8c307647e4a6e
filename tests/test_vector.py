"""StarlingVectorEnv on real compiled games: the same episodes as Gymnasium's vector envs, errors, pinning."""

from __future__ import annotations

import multiprocessing
import os
import signal
import time

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode

import starling_env  # noqa: F401  (registers the ids)
from starling_env.envs import AdmissibleActions, EncodedObservation
from starling_env.envs.vector import StarlingVectorEnv, available_cpus, make_vec

GAMES = ["boil-water-example", "set-table-example", "make-tea-example"]


def maker(game_id: str, **kwargs):
    return lambda: gym.make(f"starling/{game_id}-v1", **kwargs)


def plain(value):
    """Vector-env output as plain Python values, comparable with ==."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (np.ndarray, tuple, list)):
        return [plain(v) for v in value]
    return value.item() if isinstance(value, np.generic) else value


def rollout(envs: gym.vector.VectorEnv, steps: int, seed: int = 7) -> list:
    """A seeded random walk over the admissible commands, everything the vector env returns."""
    rng = np.random.default_rng(seed)
    obs, infos = envs.reset(seed=seed)
    trace = [plain((obs, infos))]
    for _ in range(steps):
        actions = [cmds[rng.integers(len(cmds))] for cmds in infos["admissible_commands"]]
        result = envs.step(actions)
        obs, infos = result[0], result[4]
        trace.append(plain(result))
    envs.close()
    return trace


@pytest.mark.parametrize("mode", [AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP])
def test_same_episodes_as_sync_vector_env(seed_ids, mode):
    fns = [maker(g, max_episode_steps=6) for g in GAMES]  # short episodes: autoresets happen
    expected = rollout(gym.vector.SyncVectorEnv(fns, autoreset_mode=mode), 20)
    got = rollout(StarlingVectorEnv(fns, workers=2, autoreset_mode=mode), 20)
    assert got == expected
    assert any(any(step[4]) for step in expected[1:])  # some episodes were truncated and reset
    assert rollout(StarlingVectorEnv(fns, workers=3, autoreset_mode=mode), 20) == expected


def test_suite_env_in_spawned_workers(seed_collection, seed_ids):
    fns = [lambda: gym.make("starling/Suite-v0", collection=seed_collection, max_episode_steps=4)] * 3
    expected = rollout(gym.vector.SyncVectorEnv(fns), 12)
    assert rollout(gym.vector.AsyncVectorEnv(fns, shared_memory=False), 12) == expected  # Gymnasium's, too
    assert rollout(StarlingVectorEnv(fns, workers=2, context="spawn"), 12) == expected
    assert len({game for step in expected[1:] for game in step[4]["game_id"]}) > 1  # resets drew other games
    spawned = make_vec("starling/boil-water-example-v1", num_envs=2, context="spawn")  # registered at run time
    assert spawned.reset(seed=0)[1]["game_id"][0] == "boil-water-example"
    spawned.close()


def test_make_vec_applies_the_registered_time_limit(seed_ids):
    envs = make_vec("starling/boil-water-example-v1", num_envs=3, workers=2, max_episode_steps=2)
    assert envs.num_envs == 3 and envs.groups == [[0, 1], [2]]
    obs, infos = envs.reset(seed=0)
    assert obs[0] == obs[1] == obs[2] and list(infos["game_id"]) == ["boil-water-example"] * 3
    envs.step(["look"] * 3)
    _, rewards, terminated, truncated, _ = envs.step(["open cupboard", "look", "inventory"])
    assert truncated.all() and not terminated.any() and rewards.dtype == np.float64
    envs.close()
    with pytest.raises(gym.error.Error):
        make_vec("starling/no-such-game-v1", num_envs=2)


def test_env_errors_reach_the_caller_with_the_worker_traceback(seed_ids):
    envs = StarlingVectorEnv(
        [maker("boil-water-example", extra_info=["walkthrough"])] * 2, workers=2, autoreset_mode=AutoresetMode.DISABLED
    )
    _, infos = envs.reset(seed=0)
    for command in infos["walkthrough"][0]:
        _, _, terminated, _, _ = envs.step([command, "look"])
    assert terminated[0] and not terminated[1]
    with pytest.raises(gym.error.ResetNeeded, match="episode has ended") as caught:
        envs.step(["look", "look"])  # env 0's episode is over and autoreset is off
    assert "StarlingVectorEnv worker" in "".join(getattr(caught.value, "__notes__", []))
    obs, _ = envs.reset(seed=1, options={"reset_mask": np.array([True, False])})  # env 1 keeps its state
    assert "Kitchen" in obs[0] and obs[1] == obs[1]
    _, _, terminated, _, infos = envs.step(["look", "look"])
    assert not terminated.any() and list(infos["moves"]) == [1, len(infos["walkthrough"][0]) + 2]
    envs.close()


def test_a_failing_env_function_leaves_no_worker_behind():
    def broken():
        raise FileNotFoundError("no such game")

    before = {p.pid for p in multiprocessing.active_children()}
    with pytest.raises(FileNotFoundError, match="no such game"):
        StarlingVectorEnv([broken, broken], workers=2)
    assert {p.pid for p in multiprocessing.active_children()} <= before


def test_a_dead_worker_is_a_clear_error(seed_ids):
    envs = StarlingVectorEnv([maker("boil-water-example")] * 2, workers=2)
    envs.reset(seed=0)
    os.kill(envs._processes[0].pid, signal.SIGINT)  # Ctrl-C reaches workers too: they leave it to the parent
    envs.step(["look", "look"])
    os.kill(envs._processes[1].pid, signal.SIGKILL)
    envs._processes[1].join(5)
    with pytest.raises(RuntimeError, match="worker 1 died"):
        envs.step(["look", "look"])
    assert envs.closed
    with pytest.raises(RuntimeError, match="closed"):
        envs.step(["look", "look"])


class HangsOn(gym.Wrapper):
    """A real game whose interpreter never answers one command (as a game stuck in a loop would)."""

    def step(self, action):
        if action == "hang":
            time.sleep(60)
        return self.env.step(action)


def test_a_hung_worker_times_out_and_is_killed(seed_ids):
    envs = StarlingVectorEnv([lambda: HangsOn(gym.make("starling/boil-water-example-v1"))] * 2, workers=2, timeout=2)
    envs.reset(seed=0)
    envs.step(["look", "look"])
    started = time.monotonic()
    with pytest.raises(TimeoutError, match="worker 1 did not answer within 2"):
        envs.step(["look", "hang"])
    assert time.monotonic() - started < 10
    assert envs.closed and not any(p.is_alive() for p in envs._processes)


def test_call_attributes_render_and_branching(seed_ids):
    envs = StarlingVectorEnv([maker("boil-water-example", render_mode="ansi")] * 2, workers=2)
    envs.reset(seed=0)
    assert envs.get_attr("render_mode") == ("ansi", "ansi")
    states = envs.call("get_state")
    first, *_ = envs.step(["open cupboard", "look"])
    envs.call("set_state", states[0])  # a call passes the same arguments to every env
    assert "Kitchen" in envs.render()[1]
    again, *_ = envs.step(["open cupboard", "open cupboard"])
    assert again[0] == again[1] == first[0]
    envs.set_attr("label", ["first", "second"])
    assert envs.get_attr("label") == ("first", "second")
    envs.close()


@pytest.mark.skipif(len(available_cpus()) < 2, reason="pinning needs at least 2 CPUs")
def test_workers_are_pinned_to_distinct_cpus(seed_ids):
    envs = StarlingVectorEnv([maker("boil-water-example")] * 4, workers=2)
    pinned = [os.sched_getaffinity(p.pid) for p in envs._processes]
    assert all(len(cpus) == 1 for cpus in pinned) and pinned[0] != pinned[1]
    envs.close()
    free = StarlingVectorEnv([maker("boil-water-example")] * 2, workers=2, pin_cpus=False)
    assert all(os.sched_getaffinity(p.pid) == set(available_cpus()) for p in free._processes)
    free.close()


def test_numeric_wrapped_view(seed_ids):
    def fn() -> gym.Env:
        return EncodedObservation(AdmissibleActions(gym.make("starling/boil-water-example-v1"), max_actions=16))

    envs = StarlingVectorEnv([fn] * 3, workers=2)
    obs, _ = envs.reset(seed=0)
    assert obs.shape == (3, 256) and obs.dtype == np.int64
    next_obs, *_ = envs.step(np.array([0, 1, 2]))
    assert next_obs.shape == (3, 256) and next_obs is not obs
    envs.close()


def test_bad_arguments(seed_ids):
    with pytest.raises(ValueError, match="at least one"):
        StarlingVectorEnv([])
    envs = StarlingVectorEnv([maker("boil-water-example")] * 2, workers=1)
    with pytest.raises(ValueError, match="3 seeds for 2 envs"):
        envs.reset(seed=[1, 2, 3])
    with pytest.raises(ValueError, match="reset_mask"):
        envs.reset(options={"reset_mask": np.array([False, False])})
    envs.close()

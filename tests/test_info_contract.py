"""One info contract for every env: the base keys always, admissible commands unless turned off, and exactly the
extra keys asked for, each a key the contract documents. Checked on STARLING games, the suite, and the targets."""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import pytest

import starling_env  # noqa: F401  (registers the ids)
from starling_env.envs.text_env import BASE_INFO, DEFAULT_MAX_STEPS, EXTRA_INFO, step_limit
from starling_env.targets import data_dir

GAME = "starling/boil-water-e4b0ab7-v1"


def _needs(name: str) -> Path:
    try:
        return data_dir(name)
    except FileNotFoundError as exc:
        pytest.skip(f"third-party game data is not installed: {exc}")


def make(kind: str, **kwargs) -> gym.Env:
    if kind == "game":
        return gym.make(GAME, **kwargs)
    if kind == "suite":
        return gym.make("starling/Benchmark-v1", split="test", **kwargs)
    if kind == "twc":
        _needs("twc")
        return gym.make("starling/TWC-easy-v0", **kwargs)
    _needs("zork1")
    return gym.make("starling/ZMachine-v0", **kwargs)


def offered(env: gym.Env) -> tuple[str, ...]:
    inner = env.unwrapped
    return inner.current.valid_extra_info if hasattr(inner, "current") else inner.valid_extra_info


@pytest.mark.parametrize("kind", ["game", "suite", "twc", "zmachine"])
def test_every_env_fills_the_contract(kind):
    env = make(kind)
    env.reset(seed=0)
    extras = offered(env)
    env.close()
    assert extras and set(extras) <= set(EXTRA_INFO), f"{kind} offers keys the contract does not document"
    env = make(kind, extra_info=list(extras))
    _, info = env.reset(seed=0)
    assert set(info) == set(BASE_INFO) | {"admissible_commands"} | set(extras)
    _, _, _, _, info = env.step(info["admissible_commands"][0])
    assert set(info) == set(BASE_INFO) | {"admissible_commands"} | set(extras)
    assert isinstance(info["score"], int) and isinstance(info["won"], bool) and isinstance(info["objective"], str)
    env.close()
    env = make(kind, admissible=False)
    _, info = env.reset(seed=0)
    assert set(info) == set(BASE_INFO)
    env.close()


@pytest.mark.parametrize("kind", ["game", "suite"])
def test_an_extra_the_env_does_not_offer_is_a_clear_error(kind):
    with pytest.raises(ValueError, match="unknown extra_info.*goal_progress"):
        make(kind, extra_info=["goal_progress"]).reset(seed=0)


def test_one_default_step_limit_for_every_registered_id():
    ids = [i for i, spec in gym.registry.items() if i.startswith("starling/")]
    assert len(ids) > 100
    assert {gym.registry[i].max_episode_steps for i in ids} == {DEFAULT_MAX_STEPS}
    assert {gym.registry[i].kwargs.get("max_episode_steps", "unset") for i in ids} == {None}  # the env's own: off
    env = gym.make(GAME, max_episode_steps=7)
    assert step_limit(env) == 7 and env.unwrapped.max_episode_steps is None
    env.close()

"""StarlingEnv, the suite env, the wrappers and vector envs on real compiled games."""

from __future__ import annotations

import random
import shutil
import subprocess
import sys

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import starling_env  # noqa: F401  (registers the ids)
from starling_env.envs import AdmissibleActions, EncodedObservation, StarlingEnv, StarlingSuiteEnv

from .conftest import SEED_EXAMPLES

GAME_IDS = [p.parent.name.replace("_", "-") + "-example" for p in SEED_EXAMPLES]
SAMPLE = ["boil-water-example", "take-out-trash-example"]


def make(game_id: str, **kwargs) -> gym.Env:
    return gym.make(f"starling/{game_id}-v1", **kwargs)


def random_transcript(env: gym.Env, seed: int, steps: int = 25) -> list[tuple]:
    rng = random.Random(seed)
    obs, info = env.reset(seed=seed)
    transcript = [(obs, info["score"])]
    for _ in range(steps):
        command = rng.choice(info["admissible_commands"])
        obs, reward, terminated, truncated, info = env.step(command)
        transcript.append((command, obs, reward, terminated, truncated))
        if terminated or truncated:
            break
    return transcript


def test_every_seed_game_is_registered(seed_ids):
    assert sorted(seed_ids) == sorted(f"starling/{g}-v1" for g in GAME_IDS)
    assert "starling/Suite-v0" in gym.registry


@pytest.mark.parametrize("game_id", GAME_IDS)
def test_gymnasium_check_env_passes(game_id, seed_ids):
    env = make(game_id)
    check_env(env.unwrapped, skip_render_check=False)
    env.close()


@pytest.mark.parametrize("game_id", GAME_IDS)
def test_walkthrough_from_info_wins_at_max_score(game_id, seed_ids):
    env = make(game_id, extra_info=["walkthrough"])
    obs, info = env.reset(seed=0)
    total = 0.0
    for i, command in enumerate(info["walkthrough"]):
        obs, reward, terminated, truncated, info = env.step(command)
        total += reward
        assert terminated == (i == len(info["walkthrough"]) - 1)
    assert info["won"] and info["score"] == info["max_score"] == total > 0
    env.close()


@pytest.mark.parametrize("game_id", GAME_IDS)
def test_same_seed_gives_the_same_transcript(game_id, seed_ids):
    env = make(game_id)
    assert random_transcript(env, 7) == random_transcript(env, 7)
    env.close()


def test_valid_action_memo_is_shared_per_game_and_changes_nothing(seed_collection, seed_ids, tmp_path):
    from starling_env.envs import engine

    first, second, other = make("boil-water-example"), make("boil-water-example"), make("make-tea-example")
    for env in (first, second, other):
        env.reset(seed=0)
    assert first.unwrapped.engine._states is second.unwrapped.engine._states
    assert first.unwrapped.engine._states is not other.unwrapped.engine._states
    rebuilt = tmp_path / "boil-water-example"  # same game files, one byte more: a different game, a fresh memo
    shutil.copytree(seed_collection / "boil-water-example", rebuilt)
    (rebuilt / "game.json").write_text((rebuilt / "game.json").read_text() + " ")
    assert StarlingEnv(rebuilt).engine._states is not first.unwrapped.engine._states

    def transcript_with_commands(seed: int) -> list:
        env = make("boil-water-example")
        rng = random.Random(seed)
        obs, info = env.reset(seed=seed)
        steps = [(obs, info["admissible_commands"])]
        for _ in range(40):
            obs, _, terminated, truncated, info = env.step(rng.choice(info["admissible_commands"]))
            steps.append((obs, info["admissible_commands"]))
            if terminated or truncated:
                break
        return steps

    for seed in range(1, 6):  # warm the shared memo along other paths first
        transcript_with_commands(seed)
    warm = transcript_with_commands(11)
    engine._state_caches.clear()
    assert transcript_with_commands(11) == warm


def test_info_keys_and_no_walkthrough_by_default(seed_ids):
    env = make("boil-water-example")
    obs, info = env.reset()
    assert set(info) == {"admissible_commands", "score", "max_score", "won", "lost", "moves", "objective", "game_id"}
    assert info["admissible_commands"] == sorted(info["admissible_commands"])
    assert obs.startswith(info["objective"]) and "-= Kitchen =-" in obs and not obs.rstrip().endswith(">")
    _, _, _, _, info = env.step("open cupboard")
    assert "walkthrough" not in info and info["moves"] == 1
    assert "admissible_commands" not in make("boil-water-example", admissible=False).reset()[1]


def test_extra_info(seed_ids):
    env = make(
        "boil-water-example",
        extra_info=["facts", "inventory", "location", "description", "intermediate_reward", "policy_commands"],
    )
    _, info = env.reset()
    assert info["location"] == "kitchen" and "carrying nothing" in info["inventory"]
    assert "closed(cupboard: c)" in info["facts"] and not any("tag__" in f for f in info["facts"])
    assert info["policy_commands"][0] == "open cupboard" and "Kitchen" in info["description"]
    _, _, _, _, info = env.step("open cupboard")
    assert info["intermediate_reward"] == 1 and "open(cupboard: c)" in info["facts"]
    _, _, _, _, info = env.step("close cupboard")
    assert info["intermediate_reward"] == -1
    with pytest.raises(ValueError, match="valid names"):
        make("boil-water-example", extra_info=["secrets"])


def test_intermediate_reward_never_crashes_on_out_of_order_play(seed_ids):
    env = make("make-sandwich-example", extra_info=["intermediate_reward", "policy_commands"])
    rng = random.Random(3)
    for episode in range(3):
        _, info = env.reset(seed=episode)
        for _ in range(150):
            _, _, terminated, truncated, info = env.step(rng.choice(info["admissible_commands"]))
            assert info["intermediate_reward"] in (-1, 0, 1)
            if terminated or truncated:
                break


def test_truncation_and_step_after_end(seed_collection, seed_ids):
    made = make("boil-water-example", max_episode_steps=3)  # Gymnasium's TimeLimit
    made.reset()
    assert [made.step("look")[2:4] for _ in range(3)] == [(False, False), (False, False), (False, True)]
    env = StarlingEnv(seed_collection / "boil-water-example", max_episode_steps=3)
    env.reset()
    assert [env.step("look")[2:4] for _ in range(3)] == [(False, False), (False, False), (False, True)]
    with pytest.raises(gym.error.ResetNeeded, match="call reset"):
        env.step("look")
    env = StarlingEnv(seed_collection / "boil-water-example", max_episode_steps=None)
    env.reset()
    for command in ("open cupboard", "take pot from cupboard", "fill pot with water", "switch on stove"):
        env.step(command)
    assert env.step("boil water in pot")[2] is True
    with pytest.raises(gym.error.ResetNeeded):
        env.step("look")


def test_get_state_set_state_branches_and_returns(seed_ids):
    env = make("boil-water-example").unwrapped
    env.reset(seed=0)
    env.step("open cupboard")
    saved = env.get_state()
    branch_a = [env.step(c)[:2] for c in ("take pot from cupboard", "fill pot with water")]
    env.set_state(saved)
    assert env.step("close cupboard")[0] == "You close the cupboard."
    env.set_state(saved)
    assert [env.step(c)[:2] for c in ("take pot from cupboard", "fill pot with water")] == branch_a
    assert env.unwrapped.engine.score == 2


def test_render_modes(seed_ids, capsys):
    env = make("boil-water-example", render_mode="ansi")
    env.reset()
    env.step("open cupboard")
    assert env.render().startswith("> open cupboard\nYou open the cupboard")
    human = make("boil-water-example", render_mode="human")
    human.reset()
    human.step("look")
    assert "> look" in capsys.readouterr().out


HOSTILE = st.one_of(
    st.text(max_size=300),
    st.sampled_from(
        [
            "",
            " ",
            "\n",
            "undo",
            "restart",
            "quit",
            "save",
            "restore",
            "tw-print state",
            "open cupboard\ntake pot",
            "\\g",
            "é" * 50,
            "x" * 5000,
            "\x00\x1b[2J",
            "again",
            "g",
            "oops cupboard",
            "take all",
            "drop all",
        ]
    ),
)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(commands=st.lists(HOSTILE, min_size=1, max_size=6), seed=st.integers(0, 1000))
def test_hostile_commands_never_crash_or_desynchronise(seed_ids, commands, seed):
    env = make("boil-water-example").unwrapped
    rng = random.Random(seed)
    _, info = env.reset(seed=seed)
    for command in commands:
        env.step(rng.choice(info["admissible_commands"]))
        obs, _, terminated, truncated, info = env.step(command)
        assert isinstance(obs, str) and env.observation_space.contains(obs)
        if terminated or truncated:
            return
    # In sync: every admissible command still does in the game what the logic expects.
    saved = env.get_state()
    for command in info["admissible_commands"]:
        env.set_state(saved)
        shadow = env.engine.progression.copy()
        valid = shadow.valid_actions
        shadow.update(valid[env.engine.inform7.gen_commands_from_actions(valid).index(command)])
        env.step(command)
        assert set(env.engine.progression.state.facts) == set(shadow.state.facts), command


def test_admissible_actions_wrapper_masks_and_truncates(seed_ids):
    env = AdmissibleActions(make("boil-water-example"), max_actions=5)
    _, info = env.reset()
    assert info["admissible_truncated"] == 2 and env.truncations == 1
    assert env.action_masks().tolist() == [True] * 5
    assert env.commands == info["admissible_commands"][:5]
    assert "open cupboard" not in env.commands  # sorted list, cut after 5
    obs, _, _, _, info = env.step(env.commands.index("examine stove"))
    assert not info["invalid_action"] and "gas stove" in obs
    wide = AdmissibleActions(make("boil-water-example"), max_actions=32)
    wide.reset()
    assert wide.action_masks().sum() == 7
    _, _, _, _, info = wide.step(31)
    assert info["invalid_action"]


@pytest.mark.parametrize("game_id", SAMPLE)
def test_sb3_check_env_and_maskable_ppo(game_id, seed_ids):
    from sb3_contrib import MaskablePPO
    from stable_baselines3.common.env_checker import check_env as sb3_check_env

    env = EncodedObservation(AdmissibleActions(make(game_id, max_episode_steps=50), max_actions=32))
    sb3_check_env(env)
    model = MaskablePPO("MlpPolicy", env, n_steps=64, batch_size=32, n_epochs=1, seed=0, verbose=0)
    model.learn(total_timesteps=256)
    obs, _ = env.reset(seed=0)
    action, _ = model.predict(obs, action_masks=env.action_masks())
    assert env.action_masks()[action]


def test_encoded_observation_is_deterministic_across_processes(seed_ids):
    code = (
        "from starling_env.envs.wrappers import encode_text; print(encode_text('Open the cupboard', 4096, 8).tolist())"
    )
    outputs = {
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, env={"PYTHONHASHSEED": s, "PATH": ""}
        ).stdout
        for s in ("1", "2")
    }
    assert len(outputs) == 1 and outputs.pop().startswith("[")


def test_async_vector_env_steps(seed_ids):
    envs = gym.vector.AsyncVectorEnv(
        [lambda: make("boil-water-example"), lambda: make("set-table-example")], shared_memory=False
    )
    obs, infos = envs.reset(seed=[0, 1])
    assert len(obs) == 2 and list(infos["game_id"]) == ["boil-water-example", "set-table-example"]
    obs, rewards, terminated, truncated, infos = envs.step(["open cupboard", "look"])
    assert "You open the cupboard" in obs[0] and rewards.shape == (2,)
    envs.close()


def test_make_vec_for_registered_ids(seed_ids):
    for mode, kwargs in (("sync", {}), ("async", {"shared_memory": False})):
        envs = gym.make_vec("starling/boil-water-example-v1", num_envs=2, vectorization_mode=mode, vector_kwargs=kwargs)
        obs, _ = envs.reset(seed=0)
        assert obs[0] == obs[1]
        envs.step(["open cupboard", "look"])
        envs.close()


def test_vector_env_over_the_wrapped_numeric_view(seed_ids):
    envs = gym.vector.AsyncVectorEnv(
        [lambda: EncodedObservation(AdmissibleActions(make("boil-water-example"), max_actions=16))] * 2
    )
    obs, _ = envs.reset(seed=0)
    assert obs.shape == (2, 256) and obs.dtype == np.int64
    envs.step(np.array([0, 1]))
    envs.close()


def test_suite_env_seed_fixes_the_game_sequence(seed_collection, seed_ids):
    def sequence(seed: int) -> list[str]:
        env = gym.make("starling/Suite-v0", collection=seed_collection)
        ids = [env.reset(seed=seed)[1]["game_id"]] + [env.reset()[1]["game_id"] for _ in range(7)]
        env.close()
        return ids

    assert sequence(3) == sequence(3)
    assert sequence(3) != sequence(4)
    assert len(set(sequence(3))) > 1


def test_suite_env_filters_and_check_env(seed_collection, seed_ids):
    env = StarlingSuiteEnv(collection=seed_collection, skills=["boil_water", "make_tea"])
    assert env.game_ids == ["boil-water-example", "make-tea-example"]
    _, info = env.reset(options={"game": "make-tea-example"})
    assert info["game_id"] == "make-tea-example"
    check_env(env)
    with pytest.raises(ValueError, match="no game"):
        StarlingSuiteEnv(collection=seed_collection, difficulty="impossible")


def test_unknown_game_is_a_clear_error():
    with pytest.raises(FileNotFoundError, match="no game 'nope'"):
        StarlingEnv("nope")


def test_import_is_lazy():
    code = (
        "import sys, starling_env; print(any(m.startswith(('textworld', 'jericho', 'pydantic')) for m in sys.modules))"
    )
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "False"


def test_collections_from_the_environment_variable(seed_collection):
    code = "import gymnasium as gym, starling_env; print(sorted(k for k in gym.registry if k.endswith('-example-v1')))"
    env = {"STARLING_COLLECTIONS": str(seed_collection), "PATH": ""}
    registered = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env).stdout.strip()
    assert registered == str(sorted(f"starling/{g}-v1" for g in GAME_IDS))

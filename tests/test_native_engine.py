"""The native engine (issue 19): the shipped games played without Inform 7, proved equal to the Inform 7 build
step by step, behind the same Gymnasium contract."""

from __future__ import annotations

import gc
import json
import random
import shutil
import subprocess

import gymnasium as gym
import pytest
from gymnasium.utils.env_checker import check_env

import starling_env  # noqa: F401  (registers the ids)
from starling_env.collection import load_manifest, shipped_collection, shipped_collections
from starling_env.envs import StarlingEnv, make_vec
from starling_env.native.diff import describe_diff, engine_diff
from starling_env.native.engine import NativeEngine
from starling_env.native.types import RECENT_STATES

from .conftest import CLI

V1, V2 = shipped_collection(1), shipped_collection(2)
# A sample covering the features: every-turn rules and losses, doors and keys, parts, reactions, clothes,
# two-skill hard games, and spec 1.0 games with TextWorld's own listing.
SAMPLE = [
    V2 / "boil-water-ee8b4ab",
    V2 / "cook-pasta-repot-plant-hb1c257",
    V2 / "bake-cookies-charge-phone-h111f92",
    V2 / "dress-for-rain-e38c5f7",
    V1 / sorted(g.id for g in load_manifest(V1).games)[0],
    V1 / sorted(g.id for g in load_manifest(V1).games)[-1],
]
ALL_GAMES = [c / g.id for c in shipped_collections() for g in load_manifest(c).games]


@pytest.mark.parametrize("game", SAMPLE, ids=lambda g: f"{g.parent.name}/{g.name}")
def test_the_native_engine_equals_the_inform7_build_at_every_step(game):
    """Walkthrough and seeded random walks: facts, score, won/lost, admissible commands and text all equal."""
    report = engine_diff(game, walks=2, walk_length=40, corpus_every=0)
    assert report.steps >= 40
    assert report.passed, describe_diff(report)


@pytest.mark.slow
@pytest.mark.parametrize("game", ALL_GAMES, ids=lambda g: f"{g.parent.name}/{g.name}")
def test_every_shipped_game_plays_the_same_in_both_engines(game):
    """Walkthrough + 4 random walks of 50 steps: every field equal at every step (results/engine-diff: 44,169 of
    44,169 steps over the 200 games)."""
    report = engine_diff(game, walks=4, walk_length=50, corpus_every=0)
    assert report.passed, describe_diff(report)


def test_the_check_catches_a_wrong_word(monkeypatch):
    """The differential check can fail: one changed word at one step is reported with both texts."""
    step = NativeEngine.step

    def wrong(self, command):
        text = step(self, command)
        return text.replace("You", "Yuo", 1) if self.moves == 3 else text

    monkeypatch.setattr(NativeEngine, "step", wrong)
    report = engine_diff(SAMPLE[0], walks=0, corpus_every=0)
    assert not report.passed
    first = next(d for d in report.differences if d.field == "text")
    assert first.step == 3 and "Yuo" in first.native and "Yuo" not in first.reference
    assert "first difference: walkthrough step 3" in describe_diff(report)


def test_the_native_env_passes_gymnasium_check_env_and_wins_with_the_walkthrough():
    env_id = load_manifest(V2).env_id(SAMPLE[0].name)
    env = gym.make(env_id, engine="native", extra_info=["walkthrough", "facts", "location", "description"])
    check_env(env.unwrapped)
    _, info = env.reset(seed=0)
    for command in info["walkthrough"]:
        _, _, terminated, _, info = env.step(command)
    assert terminated and info["won"] and info["score"] == info["max_score"]
    assert info["location"] and info["facts"] and info["description"].startswith("-= ")


def test_native_get_state_set_state_branches_and_returns():
    env = StarlingEnv(SAMPLE[0], engine="native")
    env.reset(seed=0)
    env.step("open old rucksack")
    saved = env.get_state()
    branch = [env.step(c)[:2] for c in ("take billy can from old rucksack", "look")]
    env.set_state(saved)
    env.step("close old rucksack")
    env.set_state(saved)
    assert [env.step(c)[:2] for c in ("take billy can from old rucksack", "look")] == branch
    assert env.engine.score == 1
    env.set_state(saved)  # straight back: the quests are judged afresh, not skipped as judged in the other branch
    assert env.step("take billy can from old rucksack")[:2] == branch[0] and env.engine.score == 1


def test_a_native_vector_env_steps():
    env_id = load_manifest(V2).env_id(SAMPLE[0].name)
    envs = make_vec(env_id, num_envs=2, workers=1, engine="native")
    try:
        _, infos = envs.reset(seed=0)
        _, rewards, _, _, infos = envs.step([cmds[0] for cmds in infos["admissible_commands"]])
        assert len(rewards) == 2 and all(infos["admissible_commands"])
    finally:
        envs.close()


def test_the_memos_hold_nothing_the_cyclic_garbage_collector_walks():
    """The admissible, text and order memos keep only what the collector stops tracking (with lists or tuples of
    dicts in them, its full collections took a third of a cold walk), and the memos keyed by a state's facts keep
    few states."""
    engine = NativeEngine(SAMPLE[2] / "game.z8")  # a two-skill game: many commands and moves
    engine.reset()
    rng = random.Random(0)
    for _ in range(400):
        engine.step(rng.choice(engine.admissible_commands()))
        if engine.won or engine.lost:
            engine.reset()
    gc.collect()
    gc.collect()  # a tuple inside a tuple may be untracked one collection after it
    tables = engine._t
    for name, memo in (("admissible", tables.admissible), ("texts", tables.texts), ("orders", tables.orders)):
        assert memo, f"the walk filled no {name} memo"
        tracked = [key for key, value in memo.items() if gc.is_tracked(key) or gc.is_tracked(value)]
        assert not tracked, f"{name}: {len(tracked)} entries the collector still walks, e.g. {tracked[0]!r}"
    assert engine.admissible_commands() == sorted(engine.admissible_commands())
    for memo in (engine.world._decoded, tables.describer._indexed, tables.narrator.inference._scopes):
        assert len(memo) <= RECENT_STATES


def test_an_unknown_engine_or_a_game_without_its_spec_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="engine must be one of inform7, native"):
        StarlingEnv(SAMPLE[0], engine="frotz")
    for name in ("game.z8", "game.json"):
        shutil.copy(SAMPLE[0] / name, tmp_path / name)
    with pytest.raises(ValueError, match="spec.json"):
        StarlingEnv(tmp_path / "game.z8", engine="native")
    StarlingEnv(tmp_path / "game.z8").close()  # the Inform 7 engine needs no spec


def test_evaluate_gives_the_same_episodes_on_both_engines(tmp_path):
    """`starling evaluate --engine native` plays the same episodes as the reference: same commands, scores."""
    env_id = load_manifest(V2).env_id(SAMPLE[0].name)
    records = {}
    for engine in ("inform7", "native"):
        out = tmp_path / engine
        args = ["evaluate", "--agent", "random", "--env", env_id, "--episodes", "2", "--workers", "1"]
        result = subprocess.run(
            [*CLI, *args, "--max-steps", "30", "--engine", engine, "--out", str(out)],
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        lines = (out / "episodes.jsonl").read_text().splitlines()
        records[engine] = [{k: v for k, v in json.loads(x).items() if "time" not in k} for x in lines]
    assert records["native"] == records["inform7"]


def test_verify_engine_diff_prints_the_rates_and_passes():
    result = subprocess.run(
        [*CLI, "verify", str(SAMPLE[0]), "--engine-diff", "--walks", "1", "--walk-length", "10"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "text" in result.stdout and "equal at" in result.stdout


def test_free_text_gets_the_game_s_own_answers():
    """Synonyms, typos, absent things, unknown verbs, impossible actions, answers to the game's questions: the
    native engine answers as the Inform 7 build does (same text, facts and score), from states along random walks."""
    report = engine_diff(SAMPLE[2], walks=2, walk_length=30, corpus_every=10, corpus_size=40)
    assert report.corpus_steps >= 100
    assert report.corpus_equal >= 0.97 * report.corpus_steps, [d for d in report.differences if d.walk == "corpus"][:5]

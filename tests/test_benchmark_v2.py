"""The shipped STARLING-100 v2 (issue 18): honest splits, calibrated tiers, real variety, faithful text, and
every game reproducible from its recipe."""

from __future__ import annotations

import json
from collections import Counter

import gymnasium as gym
import pytest

import starling_env  # noqa: F401  (registers the ids)
from starling_env.builder.fidelity import check_text
from starling_env.builder.verify import Limits
from starling_env.collection import load_manifest, shipped_collection
from starling_env.collection.publish import content_hash
from starling_env.collection.signature import signature
from starling_env.collection.variety import collection_specs, variety
from starling_env.generate.offline import OfflineBackend
from starling_env.generate.pipeline import Generator, plan_batch
from starling_env.generate.recipe import Recipe
from starling_env.generate.seeds import load_seeds
from starling_env.lab.card import render_card
from starling_env.spec import GameSpec

from .conftest import ROOT, SEEDS

SHIPPED = shipped_collection(2)
RECIPE = Recipe.load(ROOT / "game_seeds" / "starling100-v2.recipe.json")
MANIFEST = load_manifest(SHIPPED)
GAMES = MANIFEST.games
SPECS = collection_specs(SHIPPED)
BATCHES = {b.name: b for b in RECIPE.batches}


def test_the_suite_is_what_its_recipe_asks_for():
    """Every task of the recipe is in the generation report; the games are its published tasks (a task whose
    every attempt was rejected, as off its tier or a near-duplicate, publishes nothing and says why)."""
    assert (MANIFEST.suite, MANIFEST.version, len(GAMES)) == ("STARLING-100", 2, 100)
    report = json.loads((SHIPPED / "generation_report.json").read_text())
    tasks = Counter((t["batch"], t["split"]) for t in report["tasks"])
    assert tasks == Counter({(b.name, b.split): b.count for b in RECIPE.batches})
    made = [t for t in report["tasks"] if t["status"] in ("published", "existing")]
    assert sorted(t["id"] for t in made) == sorted(g.id for g in GAMES)
    for t in report["tasks"]:
        if t not in made:
            assert t["failures"] and all(f["kind"] in ("off_tier", "near_duplicate") for a in t["failures"] for f in a)
    assert sum(g.split != "train" for g in GAMES) >= 30
    assert all(s["spec_version"] == "1.1" for s in SPECS.values())  # every game passes the text gate's checks


def test_variety_targets_are_met_and_no_test_game_shares_a_training_template():
    figures = variety(SPECS, {g.id: g.split for g in GAMES})
    assert figures["distinct_walkthrough_signatures"] >= 90
    assert figures["custom_command_templates"] >= 60
    assert figures["skills_used"] >= 20
    assert figures["near_duplicate_clusters"] == []  # rejected at publish time
    assert all(o["sharing_a_train_signature"] == 0 for o in figures["train_test_template_overlap"].values())
    assert all(g.signature == signature(SPECS[g.id]) for g in GAMES)


def test_test_splits_hold_out_whole_skills_and_unseen_pairs():
    train_skills = {s for g in GAMES if g.split == "train" for s in g.skills}
    train_pairs = {frozenset(g.skills) for g in GAMES if g.split == "train" and len(g.skills) > 1}
    held_out = {s for g in GAMES if g.split == "test" for s in g.skills} - train_skills
    assert len(held_out) >= 4
    for g in GAMES:
        if g.split == "test":
            assert set(g.skills) & held_out, g.id  # every test game exercises a skill no training game has
        if g.split == "test-compose":
            assert set(g.skills) <= train_skills and frozenset(g.skills) not in train_pairs, g.id


def test_every_game_was_calibrated_into_its_tier():
    calibration = RECIPE.calibration
    assert calibration is not None
    for g in GAMES:
        measured = g.calibration
        assert measured["episodes"] == calibration.episodes, g.id
        assert measured["random"]["wins"] <= calibration.max_random_wins, g.id
        low, high = dict(calibration.heuristic_score)[g.difficulty]
        assert low <= measured["heuristic"]["mean_score"] <= high, g.id


def test_every_games_text_passes_the_gate_statically():
    failing = {i: [str(f) for f in check_text(GameSpec.load(SHIPPED / i / "spec.json"))] for i in SPECS}
    assert {i: f for i, f in failing.items() if f} == {}


def played_sample() -> list:
    """Every game in the slow run; one per batch in the default run."""
    first = {next(g.id for g in GAMES if g.provenance["batch"] == b) for b in BATCHES}
    return [g.id if g.id in first else pytest.param(g.id, marks=pytest.mark.slow) for g in GAMES]


@pytest.mark.parametrize("game_id", played_sample())
def test_the_text_gate_passes_when_played(game_id):
    folder = SHIPPED / game_id
    assert check_text(GameSpec.load(folder / "spec.json"), folder) == []


@pytest.mark.parametrize("game_id", [g.id for g in GAMES])
def test_walkthrough_wins_and_the_env_checks_pass(game_id):
    from gymnasium.utils.env_checker import check_env

    env = gym.make(MANIFEST.env_id(game_id), extra_info=["walkthrough"])
    check_env(env.unwrapped, skip_render_check=True)
    _, info = env.reset(seed=0)
    for command in info["walkthrough"]:
        _, _, terminated, truncated, info = env.step(command)
    assert terminated and info["won"] and info["score"] == info["max_score"]
    env.close()


def test_every_game_is_the_recipes_candidate_at_its_recorded_attempt():
    """The offline generator's proposals are pure functions of (task, attempt): replaying each game's batch, index
    and attempt reproduces its spec, so its content hash."""
    seeds = load_seeds(SEEDS)
    backend = OfflineBackend(seeds)
    planned = {name: plan_batch(backend.seeds, batch, backend.compatible) for name, batch in BATCHES.items()}
    for g in GAMES:
        task = planned[g.provenance["batch"]][g.provenance["index"]]
        text = backend.session(task).propose(g.provenance["attempts"] - 1, None)
        assert text is not None and content_hash(GameSpec.parse_text(text)) == g.content_hash, g.id


def test_regenerating_a_sample_builds_the_same_games(tmp_path):
    """Build + verify + calibrate + publish a sample again, each from its recorded attempt."""
    seeds = load_seeds(SEEDS)
    backend = OfflineBackend(seeds)
    sample = [next(g for g in GAMES if g.provenance["batch"] == b) for b in ("train-easy", "test-medium")]
    from starling_env.lab.calibrate import calibrator

    limits = Limits(timeout_s=RECIPE.timeout_s or Limits.timeout_s)
    generator = Generator(
        backend, tmp_path, limits, max_attempts=RECIPE.max_attempts, calibrate=calibrator(RECIPE.calibration)
    )
    for g in sample:
        task = plan_batch(backend.seeds, BATCHES[g.provenance["batch"]], backend.compatible)[g.provenance["index"]]
        outcome = generator.replay(task, g.provenance["attempts"] - 1)
        assert outcome.status == "published", outcome.failures
    regenerated = {e.id: (e.content_hash, e.calibration) for e in load_manifest(tmp_path).games}
    assert regenerated == {g.id: (g.content_hash, g.calibration) for g in sample}


@pytest.mark.slow
def test_regenerating_the_whole_suite_reproduces_it(tmp_path):
    """The recipe's one command, in full (about half an hour on 2 cores)."""
    from starling_env.lab.calibrate import calibrator

    seeds = load_seeds(SEEDS)
    backend = OfflineBackend(seeds)
    tasks = [t for b in RECIPE.batches for t in plan_batch(backend.seeds, b, backend.compatible)]
    limits = Limits(timeout_s=RECIPE.timeout_s or Limits.timeout_s)
    calibrate = calibrator(RECIPE.calibration) if RECIPE.calibration else None
    generator = Generator(
        backend, tmp_path, limits, max_attempts=RECIPE.max_attempts, distinct=RECIPE.distinct, calibrate=calibrate
    )
    generator.run(tasks, suite=RECIPE.suite, version=RECIPE.version)
    assert {e.id: e.content_hash for e in load_manifest(tmp_path).games} == {g.id: g.content_hash for g in GAMES}


def test_card_is_generated_from_the_manifest():
    assert (SHIPPED / "README.md").read_text() == render_card(SHIPPED)


def test_both_versions_are_registered():
    assert "starling/Benchmark-v1" in gym.registry and "starling/Benchmark-v2" in gym.registry
    env = gym.make("starling/Benchmark-v2", split="test")
    _, info = env.reset(seed=0)
    assert info["game_id"] in {g.id for g in GAMES if g.split == "test"}
    env.close()
    assert json.loads((SHIPPED / "generation_report.json").read_text())["recipe"].endswith("-v2.recipe.json")

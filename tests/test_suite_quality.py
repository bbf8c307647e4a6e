"""What makes a suite worth training on (issue 18): seeds with several examples, near-duplicate rejection at
publish time, and tiers checked on measured play (the random and heuristic reference agents)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import gymnasium as gym
import pytest
from starling_agents import load_agent, run_episode

from starling_env.builder.failures import FailureKind
from starling_env.builder.verify import Limits
from starling_env.collection import load_manifest, shipped_collection
from starling_env.collection.signature import TemplateIndex, signature
from starling_env.generate.offline import OfflineBackend, candidate_rng, choose_examples, vary
from starling_env.generate.pipeline import Generator, Task, plan_tasks
from starling_env.generate.recipe import Calibration, Recipe
from starling_env.generate.seeds import load_seeds
from starling_env.lab.calibrate import calibrator, measure, verdict

from .conftest import SEEDS

FAST = Limits(walks=1, walk_length=10, probes=1)
EASY_WON_BY_RANDOM = "boil-water-e510581"  # a 5-step v1 game the random agent wins 3 times in 5


def two_example_seeds(root: Path) -> Path:
    """The boil-water seed with a second, renamed example (another room name and an extra step)."""
    folder = root / "seeds"
    shutil.copytree(SEEDS / "boil_water", folder / "boil_water")
    shutil.copy(SEEDS / "skills.json", folder / "skills.json")
    other = json.loads((SEEDS / "boil_water" / "example.json").read_text())
    other["id"] = "boil-water-other"
    other["walkthrough"] = ["look", *other["walkthrough"]]
    (folder / "boil_water" / "example_b.json").write_text(json.dumps(other))
    seed = json.loads((folder / "boil_water" / "seed.json").read_text())
    (folder / "boil_water" / "seed.json").write_text(json.dumps({**seed, "more_examples": ["example_b.json"]}))
    return folder


def test_a_seed_with_more_examples_offers_them_only_where_a_batch_asks(tmp_path):
    seed = load_seeds(two_example_seeds(tmp_path))["boil_water"]
    assert [e.id for e in seed.examples] == ["boil-water-example", "boil-water-other"]
    first = Task(0, ("boil_water",), "easy", "train", 5)
    assert all(choose_examples([seed], first, a)[0].id == "boil-water-example" for a in range(10))
    every = Task(0, ("boil_water",), "easy", "train", 5, examples="all")
    chosen = [choose_examples([seed], every, a)[0].id for a in range(10)]
    assert set(chosen) == {"boil-water-example", "boil-water-other"}
    assert chosen == [choose_examples([seed], every, a)[0].id for a in range(10)]  # seeded
    with pytest.raises(ValueError, match="no example of spec version 1.1"):
        choose_examples([seed], Task(0, ("boil_water",), "easy", "train", 5, spec_version="1.1"), 0)


def test_a_bad_more_examples_entry_is_reported_and_the_other_seeds_load(tmp_path):
    folder = two_example_seeds(tmp_path)
    shutil.copytree(SEEDS / "make_tea", folder / "make_tea")
    seed = json.loads((folder / "boil_water" / "seed.json").read_text())
    (folder / "boil_water" / "seed.json").write_text(json.dumps({**seed, "more_examples": ["missing.json"]}))
    seeds = load_seeds(folder)
    assert list(seeds) == ["make_tea"] and "missing.json" in seeds.problems[0]


def test_recipes_say_which_examples_and_checks_they_use():
    v1 = Recipe.load(SEEDS / "starling100.recipe.json")
    assert not v1.distinct and v1.calibration is None
    assert {b.examples for b in v1.batches} == {"first"}  # v1 stays pinned to each seed's first example
    with pytest.raises(ValueError, match="examples"):
        Recipe.model_validate({"suite": "x", "batches": [{"count": 1, "seed": 0, "examples": "some"}]})


def test_template_index_finds_renamings_and_near_copies_but_not_other_games():
    seeds = load_seeds(SEEDS)
    index = TemplateIndex()
    base = vary([seeds["make_tea"]], "easy", candidate_rng(0, 0, 0))
    index.add(base)
    renamed = vary([seeds["make_tea"]], "easy", candidate_rng(0, 1, 0))
    assert signature(renamed) == signature(base) and index.twin(renamed) == base["id"]
    longer = {**base, "id": "longer", "walkthrough": [*base["walkthrough"], "look"]}
    assert signature(longer) != signature(base) and index.twin(longer) == base["id"]  # Jaccard >= 0.8
    other = vary([seeds["dress_for_rain"]], "easy", candidate_rng(0, 0, 0))
    assert index.twin(other) is None
    assert index.twin(base) is None  # a game is not its own twin (a resumed run meets itself)


def test_distinct_generation_skips_near_duplicates_without_building_them(tmp_path):
    seeds = load_seeds(SEEDS)
    tasks = plan_tasks(
        seeds, skills=["boil_water"], difficulty="easy", compose=1, count=2, split="train", seed=0, cycle=True
    )
    generator = Generator(OfflineBackend(seeds), tmp_path, FAST, max_attempts=3, distinct=True)
    first, second = generator.run(tasks)
    assert first.status == "published" and second.status == "failed"
    kinds = [f["kind"] for attempt in second.failures for f in attempt]
    assert kinds == [FailureKind.near_duplicate.value] * 3  # every easy boil-water game is a renaming of the first
    assert "nearly duplicates that of " + first.game_id in second.failures[0][0]["message"]
    (entry,) = load_manifest(tmp_path).games
    assert entry.signature == signature(json.loads((tmp_path / entry.id / "spec.json").read_text()))


def test_reference_agents_measure_a_game_repeatably():
    game = shipped_collection(1) / EASY_WON_BY_RANDOM
    measured = measure(game, episodes=5)
    assert measured == measure(game, episodes=5)
    assert measured["random"]["wins"] == 3 and measured["heuristic"]["wins"] == 5
    strict = Calibration(max_random_wins=1, heuristic_score={"easy": (0.5, 1.0)})
    (failure,) = verdict(measured, "easy", strict)
    assert failure.kind is FailureKind.off_tier and "won 3 of 5" in failure.message
    hard = Calibration(max_random_wins=5, heuristic_score={"hard": (0.0, 0.5)})
    assert "the hard tier takes 0.0 to 0.5" in verdict(measured, "hard", hard)[0].message
    assert verdict(measured, "easy", Calibration(max_random_wins=3)) == []


def test_heuristic_agent_beats_random_on_the_benchmark_sample():
    manifest = load_manifest(shipped_collection(1))
    games = [g.id for g in manifest.games if g.split == "train"][::10]
    scores: dict[str, float] = {"random": 0.0, "heuristic": 0.0}
    for game_id in games:
        env = gym.make(manifest.env_id(game_id))
        for name in scores:
            scores[name] += sum(run_episode(load_agent(name, seed=k), env, seed=k).normalized_score for k in range(2))
        env.close()
    assert scores["heuristic"] > 1.3 * scores["random"], scores


def test_calibrated_generation_rejects_a_game_off_its_tier(tmp_path):
    seeds = load_seeds(SEEDS)
    (task,) = plan_tasks(seeds, skills=["boil_water"], difficulty="easy", compose=1, count=1, split="train", seed=0)
    too_hard_for_easy = Calibration(max_random_wins=5, heuristic_score={"easy": (1.01, 2.0)})
    generator = Generator(
        OfflineBackend(seeds), tmp_path, FAST, max_attempts=1, calibrate=calibrator(too_hard_for_easy)
    )
    (outcome,) = generator.run([task])
    assert outcome.status == "failed" and outcome.failures[0][0]["kind"] == FailureKind.off_tier.value
    assert not load_manifest(tmp_path, missing_ok=True).games
    generator = Generator(
        OfflineBackend(seeds), tmp_path, FAST, max_attempts=1, calibrate=calibrator(Calibration(max_random_wins=5))
    )
    (outcome,) = generator.run([task])
    (entry,) = load_manifest(tmp_path).games
    assert outcome.status == "published" and entry.calibration["episodes"] == 5
    assert set(entry.calibration) == {"episodes", "max_steps", "random", "heuristic"}


def test_a_task_skipped_for_a_twin_that_never_published_gets_a_second_look(tmp_path):
    seeds = load_seeds(SEEDS)
    tasks = plan_tasks(
        seeds, skills=["boil_water"], difficulty="easy", compose=1, count=2, split="train", seed=0, cycle=True
    )

    def reject_the_first_task(game_dir, task):  # the first task's game is off its tier, whatever it is
        failures = verdict({"episodes": 1, "random": {"wins": 1}, "heuristic": {"mean_score": 0.0}}, "easy", STRICT)
        return (failures if task.index == 0 else []), {}

    generator = Generator(
        OfflineBackend(seeds), tmp_path, FAST, max_attempts=2, distinct=True, calibrate=reject_the_first_task
    )
    first, second = generator.run(tasks)
    assert first.status == "failed" and {f["kind"] for a in first.failures for f in a} == {"off_tier"}
    assert second.status == "published"  # its attempts twinned the first task's candidate, which never published
    assert [g.id for g in load_manifest(tmp_path).games] == [second.game_id]


STRICT = Calibration(max_random_wins=0)

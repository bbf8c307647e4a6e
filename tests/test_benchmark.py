"""The shipped STARLING-100 v1 benchmark: composition, verification, play, reproducibility, packaging.

v1 is frozen: every game plays through Gymnasium in the slow run, a sample in the default one
(``test_benchmark_v2.py`` checks the newest version's every game)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import gymnasium as gym
import pytest

import starling_env  # noqa: F401  (registers the ids)
from starling_env.collection import load_manifest, shipped_collection
from starling_env.collection.publish import content_hash
from starling_env.generate.offline import OfflineBackend
from starling_env.generate.pipeline import Generator, plan_batch
from starling_env.generate.recipe import Recipe
from starling_env.generate.seeds import load_seeds
from starling_env.lab.card import render_card
from starling_env.spec import GameSpec

from .conftest import CLI, ROOT, SEEDS

SHIPPED = shipped_collection(1)
RECIPE = ROOT / "game_seeds" / "starling100.recipe.json"
MANIFEST = load_manifest(SHIPPED)
GAMES = MANIFEST.games
pytestmark = pytest.mark.skipif(not GAMES, reason="the shipped benchmark is not built")


def spec(game_id: str) -> GameSpec:
    return GameSpec.load(SHIPPED / game_id / "spec.json")


def sample() -> list:
    """At least 10 games covering every skill, tier and split."""
    chosen, seen = [], set()
    for g in GAMES:
        keys = {("skill", s) for s in g.skills} | {("tier", g.difficulty), ("split", g.split)}
        if keys - seen:
            chosen.append(g)
            seen |= keys
    return chosen + [g for g in GAMES if g not in chosen][: max(0, 10 - len(chosen))]


def test_suite_composition():
    assert (MANIFEST.suite, MANIFEST.version, len(GAMES)) == ("STARLING-100", 1, 100)
    assert all(g.verification["passed"] for g in GAMES)
    assert len({s for g in GAMES for s in g.skills}) >= 10
    splits = Counter(g.split for g in GAMES)
    assert splits == {"train": 70, "test": 15, "test-compose": 15}
    assert set(Counter(g.difficulty for g in GAMES)) == {"easy", "medium", "hard"}


def test_tiers_are_what_the_card_says():
    for g in GAMES:
        game = spec(g.id)
        if g.difficulty == "easy":
            assert len(game.rooms) == 1, g.id
        elif g.difficulty == "medium":
            assert len(game.rooms) >= 2 and any(
                o.kind.value == "container" and o.status in ("closed", "locked") for o in game.objects
            ), g.id
        else:
            assert len(game.rooms) >= 5 and len(game.skills) >= 2 and len(game.walkthrough) >= 20, g.id
            assert any(d.status == "locked" and d.key for d in game.doors), g.id


def test_test_compose_pairs_are_held_out_and_test_specs_are_new():
    train = [g for g in GAMES if g.split == "train"]
    train_pairs = {frozenset(g.skills) for g in train if len(g.skills) > 1}
    for g in GAMES:
        if g.split == "test-compose":
            assert frozenset(g.skills) not in train_pairs, g.id
    train_specs = {json.dumps({**json.loads(spec(g.id).to_json()), "id": ""}, sort_keys=True) for g in train}
    for g in GAMES:
        if g.split != "train":
            assert json.dumps({**json.loads(spec(g.id).to_json()), "id": ""}, sort_keys=True) not in train_specs


def test_every_game_is_registered_with_the_suite():
    assert all(f"starling/{g.id}-v1" in gym.registry for g in GAMES)
    env = gym.make("starling/Benchmark-v1", split="test-compose")
    _, info = env.reset(seed=0)
    assert info["game_id"] in {g.id for g in GAMES if g.split == "test-compose"}
    env.close()


def per_game(games) -> list:
    """Every game in the slow run; the sample of :func:`sample` (every skill, tier and split) in the default run."""
    chosen = {g.id for g in sample()}
    return [g.id if g.id in chosen else pytest.param(g.id, marks=pytest.mark.slow) for g in games]


@pytest.mark.parametrize("game_id", per_game(GAMES))
def test_walkthrough_wins_through_gymnasium(game_id):
    env = gym.make(f"starling/{game_id}-v1", extra_info=["walkthrough"])
    _, info = env.reset(seed=0)
    for command in info["walkthrough"]:
        _, _, terminated, truncated, info = env.step(command)
    assert terminated and info["won"] and info["score"] == info["max_score"]
    env.close()


@pytest.mark.parametrize("game_id", per_game(GAMES))
def test_check_env_and_determinism_on_every_game(game_id):
    from gymnasium.utils.env_checker import check_env

    from .test_envs import random_transcript

    env = gym.make(f"starling/{game_id}-v1")
    check_env(env.unwrapped, skip_render_check=True)
    assert random_transcript(env, 3, steps=15) == random_transcript(env, 3, steps=15)
    env.close()


def regenerate(games, tmp_path: Path) -> dict[str, str]:
    """Rebuild ``games`` from the recorded recipe; their ids -> regenerated content hashes."""
    recipe, seeds = Recipe.load(RECIPE), load_seeds(SEEDS)
    batches = {b.name: b for b in recipe.batches}
    tasks = []
    for g in games:
        b = batches[g.provenance["batch"]]
        planned = plan_batch(seeds, b, OfflineBackend.compatible)
        tasks.append(planned[g.provenance["index"]])
    Generator(OfflineBackend(seeds), tmp_path, workers=2, max_attempts=recipe.max_attempts).run(tasks)
    return {g.id: g.content_hash for g in load_manifest(tmp_path).games}


@pytest.mark.slow  # 75 s; the newest benchmark's sample is regenerated in the default run (test_benchmark_v2.py)
def test_regenerating_a_sample_reproduces_the_content_hashes(tmp_path):
    games = sample()
    assert len(games) >= 10 and len({s for g in games for s in g.skills}) >= 10
    assert regenerate(games, tmp_path) == {g.id: g.content_hash for g in games}


@pytest.mark.slow
def test_regenerating_all_100_reproduces_the_content_hashes(tmp_path):
    assert regenerate(GAMES, tmp_path) == {g.id: g.content_hash for g in GAMES}


def test_recorded_hashes_match_the_shipped_specs():
    assert all(content_hash(spec(g.id)) == g.content_hash for g in GAMES)


def test_card_is_generated_from_the_manifest():
    assert (SHIPPED / "README.md").read_text() == render_card(SHIPPED)


def test_list_and_show_commands():
    cli = CLI
    listed = subprocess.run(
        [*cli, "list", "--split", "test-compose", "--collection", str(SHIPPED)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "15 of 100 games" in listed
    game = next(g for g in GAMES if g.difficulty == "hard")
    shown = subprocess.run([*cli, "show", game.id], capture_output=True, text=True, check=True).stdout
    assert f"starling/{game.id}-v1" in shown and f"{game.walkthrough_length} commands" in shown


def test_a_wheel_carries_the_benchmark(tmp_path):
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("starling_env-*.whl")
    import zipfile

    names = zipfile.ZipFile(wheel).namelist()
    for g in GAMES[:3]:
        for part in ("game.z8", "game.json", "spec.json"):
            assert f"starling_env/generated_games/{SHIPPED.name}/{g.id}/{part}" in names
    assert f"starling_env/generated_games/{SHIPPED.name}/manifest.json" in names
    assert "starling_env/game_seeds/starling100.recipe.json" in names
    packages = {str(p.parent.relative_to(ROOT)) for p in (ROOT / "starling_env").rglob("*.py")}
    for package in packages:  # every module folder, and the data the code reads
        assert f"{package}/__init__.py" in names, package
    for data in (
        "starling_env/generate/vocabulary.json",
        "starling_env/generate/templates/system.j2",
        "starling_env/builder/templates/game.twl.j2",
        "starling_env/builder/kb_static/presentation.twl",
    ):
        assert data in names

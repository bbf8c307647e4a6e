"""The text-fidelity gate (issue 18): each defect caught on a small hand-made spec, the GameSpec 1.1 seed
examples passing it, and template signatures that ignore names but not structure."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from starling_env.builder.build import build_game
from starling_env.builder.failures import FailureKind
from starling_env.builder.fidelity import check_text, name_mentions, room_looks, thing_lexicon
from starling_env.collection.signature import near_duplicate_clusters, signature, walkthrough_template
from starling_env.envs.engine import Engine
from starling_env.generate.offline import rename
from starling_env.spec import GameSpec

from .conftest import BOIL, SEED_EXAMPLES

KITCHEN: dict[str, Any] = {
    "spec_version": "1.1",
    "id": "fidelity-test",
    "title": "Lunch",
    "objective": "Take the casserole from the cupboard and put it on the counter. Water every plant.",
    "skills": ["boil_water"],
    "start": "kitchen",
    "rooms": [{"id": "kitchen", "name": "kitchen", "description": "A small kitchen with a window.", "exits": {}}],
    "objects": [
        {"id": "cupboard", "name": "cupboard", "kind": "container", "location": "kitchen", "status": "open"},
        {"id": "pot", "name": "casserole", "kind": "portable", "location": "cupboard"},
        {"id": "counter", "name": "counter", "kind": "supporter", "location": "kitchen"},
        {"id": "butter", "name": "butter", "kind": "food", "location": "kitchen", "article": "some"},
        {"id": "boots", "name": "wellies", "kind": "clothing", "location": "kitchen", "plural": True},
    ],
    "goals": [{"when": ["on(pot, counter)"], "text": "The casserole is on the counter."}],
    "walkthrough": ["take casserole from cupboard", "put casserole on counter"],
}


def kinds(spec: dict, game: Path | None = None) -> list[tuple[FailureKind, str | None]]:
    return [(f.kind, f.path) for f in check_text(GameSpec.model_validate(spec), game)]


def test_a_faithful_spec_passes_the_text_checks():
    assert kinds(KITCHEN) == []


def test_a_renamed_thing_in_the_objective_is_caught():
    spec = copy.deepcopy(KITCHEN) | {"objective": "Find the pot, a cup of tea aside, and put it on the counter."}
    spec["goals"][0]["text"] = "The pot is on the counter."
    failures = check_text(GameSpec.model_validate(spec))
    assert [(f.kind, f.path) for f in failures] == [
        (FailureKind.text_unknown_noun, "$.objective"),
        (FailureKind.text_unknown_noun, "$.goals[0].text"),
    ]
    assert "'pot'" in failures[0].message and "is called 'casserole'" in failures[0].message
    assert "cup" not in failures[0].message  # an amount ('a cup of tea'), not a thing


def test_generic_words_are_not_nouns_to_check():
    lexicon = thing_lexicon(GameSpec.model_validate(KITCHEN))
    assert name_mentions("Water every plant, fill a glass of water and iron it.", lexicon) == []
    assert name_mentions("Put the plates on the dining table.", lexicon) == ["plates", "dining table"]


def test_a_plural_or_mass_noun_with_a_is_caught():
    spec = copy.deepcopy(KITCHEN)
    del spec["objects"][3]["article"], spec["objects"][4]["plural"]  # "a butter", "a wellies"
    assert kinds(spec) == [(FailureKind.text_article, "$.objects[3]"), (FailureKind.text_article, "$.objects[4]")]


def test_an_exit_the_room_text_names_must_exist():
    spec = copy.deepcopy(KITCHEN)
    spec["rooms"][0]["description"] = "A small kitchen. The hall is to the south."
    assert kinds(spec) == [(FailureKind.text_missing_exit, "$.rooms[0].description")]


# Two rooms: the kitchen names the oak door, the hall does not; the sink is scenery. Built as spec 1.0, whose
# look lists the sink among the things on the floor and names no door; a 1.1 build does neither.
TWO_ROOMS: dict[str, Any] = {
    **KITCHEN,
    "spec_version": "1.0",
    "objective": "Open the oak door and walk into the hall.",
    "rooms": [
        {
            "id": "kitchen",
            "name": "kitchen",
            "description": "A small kitchen. The oak door to the north leads to the hall.",
            "exits": {"north": "hall"},
        },
        {
            "id": "hall",
            "name": "hall",
            "description": "A bare hall. The kitchen is to the south.",
            "exits": {"south": "kitchen"},
        },
    ],
    "doors": [{"id": "oak_door", "name": "oak door", "between": ["kitchen", "hall"], "status": "closed"}],
    "objects": [{"id": "sink", "name": "sink", "kind": "scenery", "location": "kitchen"}],
    "goals": [{"when": ["player_in(hall)"], "text": "You are in the hall."}],
    "walkthrough": ["open oak door", "go north"],
}


@pytest.fixture(scope="module")
def two_rooms(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("two_rooms")
    return build_game(GameSpec.model_validate(TWO_ROOMS), out).z8


def test_a_fixed_thing_on_the_floor_is_caught(two_rooms):
    failures = [f for f in check_text(GameSpec.model_validate(TWO_ROOMS), two_rooms) if f.path == "$.objects[0]"]
    assert [f.kind for f in failures] == [FailureKind.text_fixed_on_floor]
    assert "There is a sink on the floor." in failures[0].message


def test_a_door_the_look_does_not_name_is_caught(two_rooms):
    failures = [f for f in check_text(GameSpec.model_validate(TWO_ROOMS), two_rooms) if f.path == "$.doors[0]"]
    assert [f.kind for f in failures] == [FailureKind.text_unmentioned_door]
    assert "'hall'" in failures[0].message and "'kitchen'" not in failures[0].message  # the kitchen names it


def test_a_gamespec_11_look_names_fixed_things_and_doors(tmp_path):
    spec = GameSpec.model_validate(TWO_ROOMS | {"spec_version": "1.1"})
    engine = Engine(build_game(spec, tmp_path).z8)
    try:
        assert check_text(spec, engine) == []
        looks = room_looks(engine, spec)
    finally:
        engine.close()
    assert "A sink is here." in looks["kitchen"] and "on the floor" not in looks["kitchen"]
    assert "The oak door leads north (closed)." in looks["kitchen"]
    assert "The oak door leads south (open)." in looks["hall"]  # the hall is reached through the open door


def _spec_version(path: Path) -> str:
    return json.loads(path.read_text())["spec_version"]


# Seed examples that fail the gate, and why (strict: a fix makes the test say so). None today: the builder
# (room_listing.twl) names fixed things and doors in a 1.1 game's look; a seed's own text defect goes here.
KNOWN_FAILURES: dict[str, str] = {}


@pytest.mark.parametrize(
    "path",
    [
        pytest.param(p, marks=[pytest.mark.xfail(strict=True, reason=KNOWN_FAILURES[p.parent.name])])
        if p.parent.name in KNOWN_FAILURES
        else p
        for p in SEED_EXAMPLES
        if _spec_version(p) == "1.1"
    ],
    ids=lambda p: p.parent.name,
)
def test_every_gamespec_11_seed_example_passes_the_text_gate(path, tmp_path):
    spec = GameSpec.load(path)
    failures = check_text(spec, build_game(spec, tmp_path).z8)
    assert failures == [], "\n".join(map(str, failures))


def test_renamings_share_a_signature_and_other_structures_do_not():
    boil = json.loads(BOIL.read_text())
    first, second = copy.deepcopy(boil), copy.deepcopy(boil)
    rename(first, {"pot": "casserole", "stove": "hob"})
    rename(second, {"pot": "kettle", "cupboard": "larder", "sink": "basin"})
    assert first["walkthrough"] != boil["walkthrough"]
    assert signature(first) == signature(second) == signature(boil)
    assert walkthrough_template(boil)[:2] == ["open #1", "take #2 from #1"]
    reordered = copy.deepcopy(boil)  # the stove switched on before the pot is found: another template
    reordered["walkthrough"] = [reordered["walkthrough"][3], *reordered["walkthrough"][:3], reordered["walkthrough"][4]]
    others = [json.loads(p.read_text()) for p in SEED_EXAMPLES if p != BOIL]
    assert len({signature(s) for s in [boil, reordered, *others]}) == len(others) + 2
    clusters = near_duplicate_clusters({"a": first, "b": second, **{s["id"]: s for s in others}})
    assert ["a", "b"] in clusters

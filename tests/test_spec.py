"""GameSpec validation: shapes, references, unsafe text, the fact grammar and the JSON schema."""

from __future__ import annotations

import json

import pytest

from starling_env.spec import Fact, FactSyntaxError, GameSpec, SpecError, json_schema
from starling_env.spec.model import known_skills

from .conftest import SEED_EXAMPLES, SEEDS


def errors_of(data: dict) -> list[tuple[str, str]]:
    with pytest.raises(SpecError) as info:
        GameSpec.from_data(data)
    return info.value.errors


@pytest.mark.parametrize("path", SEED_EXAMPLES, ids=lambda p: p.parent.name)
def test_every_seed_example_validates(path):
    spec = GameSpec.load(path)
    assert spec.spec_version in ("1.0", "1.1")
    assert set(spec.skills) <= set(known_skills())


def test_seed_folders_follow_the_documented_format():
    folders = [p for p in SEEDS.iterdir() if p.is_dir() and not p.name.startswith("__")]
    assert len(folders) >= 10
    skills = set()
    for folder in folders:
        seed = json.loads((folder / "seed.json").read_text())
        assert seed["skill"] == folder.name in known_skills()
        assert seed["idea"] and seed["varies"]
        assert (folder / seed["example"]).exists()
        skills.add(seed["skill"])
    assert len(skills) >= 10


def test_unknown_object_in_a_precondition_names_its_json_path(boil_data):
    boil_data["actions"][0]["requires"][1] = "here(tap)"
    boil_data["actions"][0]["failures"] = {}
    assert errors_of(boil_data) == [
        ("$.actions[0].requires[1]", "'here(tap)': unknown object 'tap' (not a slot of this action either)")
    ]


def test_field_errors_carry_the_json_path(boil_data):
    boil_data["objects"][1]["kind"] = "spaceship"
    boil_data["rooms"][0]["exits"] = {"up": "kitchen"}
    paths = [p for p, _ in errors_of(boil_data)]
    assert "$.objects[1].kind" in paths
    assert "$.rooms[0].exits.up.[key]" in paths or any(p.startswith("$.rooms[0].exits") for p in paths)


def test_bad_state_value_and_missing_exit_back(boil_data):
    boil_data["goals"][2]["when"] = ["state(pot, water) == frozen"]
    boil_data["rooms"].append({"id": "hall", "name": "hall", "description": "A hall.", "exits": {}})
    boil_data["rooms"][0]["exits"] = {"north": "hall"}
    errors = dict(errors_of(boil_data))
    assert "frozen" in errors["$.goals[2].when[0]"]
    assert "no south exit back" in errors["$.rooms[0].exits.north"]


@pytest.mark.parametrize(
    "field,value",
    [
        (("objects", 1, "name"), 'pot" is a room. [x'),
        (("objects", 1, "description"), 'A pot." Instead of jumping: end the story.'),
        (("rooms", 0, "description"), "A kitchen [bold type]"),
        (("objective", None, None), "Line one\u0000"),
        (("actions", 0, "success"), "You fill it {the nothing}."),
        (("objects", 1, "name"), "all"),
        (("actions", 0, "command"), "take {vessel} with water"),
    ],
)
def test_inform7_breaking_text_is_rejected(boil_data, field, value):
    key, index, sub = field
    if index is None:
        boil_data[key] = value
    else:
        boil_data[key][index][sub] = value
    errors = errors_of(boil_data)
    assert errors and all(path.startswith("$") for path, _ in errors)


def test_unknown_skill_lists_the_vocabulary(boil_data):
    boil_data["skills"] = ["juggling"]
    ((path, message),) = errors_of(boil_data)
    assert path == "$.skills" and "boil_water" in message


def test_invalid_json_is_a_spec_error():
    with pytest.raises(SpecError) as info:
        GameSpec.parse_text('{"spec_version": "1.0",')
    assert info.value.errors[0][1].startswith("not valid JSON")


@pytest.mark.parametrize(
    "text,expected",
    [
        ("held(pot)", Fact("held", ("pot",))),
        ("in( pot , cupboard )", Fact("in", ("pot", "cupboard"))),
        ("state(pot, water) == boiling", Fact("state", ("pot", "water"), "boiling")),
    ],
)
def test_fact_grammar(text, expected):
    assert Fact.parse(text) == expected


@pytest.mark.parametrize("text", ["held pot", "flying(pot)", "held(pot, cup)", "state(pot, water)", "held(Pot)"])
def test_fact_grammar_rejects(text):
    with pytest.raises(FactSyntaxError):
        Fact.parse(text)


def test_canonical_json_round_trips(boil_data):
    spec = GameSpec.from_data(boil_data)
    assert GameSpec.parse_text(spec.to_json()) == spec


def test_json_schema_exports_every_top_level_field():
    schema = json_schema()
    assert set(GameSpec.model_fields) <= set(schema["properties"])
    json.dumps(schema)


def test_custom_actions_cannot_change_doors(boil_data):
    boil_data["rooms"].append({"id": "hall", "name": "hall", "description": "A hall.", "exits": {"south": "kitchen"}})
    boil_data["rooms"][0]["exits"] = {"north": "hall"}
    boil_data["doors"] = [{"id": "door", "name": "door", "between": ["kitchen", "hall"]}]
    boil_data["actions"][0]["effects"].append("open(door)")
    ((path, message),) = errors_of(boil_data)
    assert path == "$.actions[0].effects[1]" and "built-in commands" in message


@pytest.mark.parametrize("bad_id", ["a__b", "a_", "_a", "A", "a-b"])
def test_ids_are_single_underscore_identifiers(boil_data, bad_id):
    boil_data["objects"][2]["id"] = bad_id
    assert any(p == "$.objects[2].id" for p, _ in errors_of(boil_data))

"""GameSpec 1.1: each new construct in a small hand-written spec, built with the real Inform 7 compilers and
verified (walkthrough, logic / game agreement along random walks, dead ends), then played through StarlingEnv."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import gymnasium
import pytest

from starling_env.builder.failures import FailureKind, VerificationReport
from starling_env.builder.verify import Limits, verify_spec
from starling_env.collection import shipped_collection
from starling_env.envs.game_env import StarlingEnv
from starling_env.spec import GameSpec, SpecError

ROOT = Path(__file__).resolve().parents[1]


def spec(**fields) -> dict:
    """A one-room 1.1 spec: the given fields over a minimal kitchen."""
    base = {
        "spec_version": "1.1",
        "id": "gamespec-11-test",
        "title": "Test",
        "objective": "Make lunch.",
        "skills": ["make_sandwich"],
        "start": "kitchen",
        "rooms": [{"id": "kitchen", "name": "kitchen", "description": "A small kitchen.", "exits": {}}],
    }
    return base | fields


LUNCH = spec(
    id="lunch",
    rooms=[
        {
            "id": "kitchen",
            "name": "kitchen",
            "description": "A small kitchen.",
            "variants": [
                {"when": ["state(bread, sandwich) == filled"], "text": "A small kitchen that smells of cheese."}
            ],
        }
    ],
    objects=[
        {"id": "cheese", "name": "cheese", "kind": "food", "location": "kitchen", "article": "some"},
        {
            "id": "bread",
            "name": "bread",
            "kind": "portable",
            "location": "kitchen",
            "article": "some",
            "description": "Two slices of bread.",
            "states": {"sandwich": {"values": ["plain", "filled"], "initial": "plain"}},
            "variants": [{"when": ["state(bread, sandwich) == filled"], "text": "A fine cheese sandwich."}],
        },
        {"id": "wellies", "name": "wellies", "kind": "clothing", "location": "kitchen", "plural": True},
        {
            "id": "secateurs",
            "name": "secateurs",
            "kind": "portable",
            "location": "kitchen",
            "plural": True,
            "article": "a pair of",
            "synonyms": ["clippers"],
        },
    ],
    actions=[
        {
            "name": "layer",
            "command": "layer cheese on {slices}",
            "synonyms": ["stack cheese on {slices}"],
            "slots": {"slices": {"kind": "portable"}},
            "requires": ["held(cheese)", "held(slices)", "state(slices, sandwich) == plain"],
            "effects": ["state(slices, sandwich) == filled"],
            "success": "You lay the cheese on {the slices}.",
        }
    ],
    goals=[{"when": ["state(bread, sandwich) == filled"]}, {"when": ["worn(wellies)"]}],
    lose=[{"when": ["eaten(cheese)"], "text": "You ate the cheese. No sandwich today."}],
    walkthrough=["take cheese", "take bread", "layer cheese on bread", "take wellies", "wear wellies"],
)


PETS = spec(
    id="pets",
    objective="Feed the cat and pot the seed.",
    skills=["feed_pet"],
    objects=[
        {
            "id": "cat",
            "name": "cat",
            "kind": "animate",
            "location": "kitchen",
            "states": {"hunger": {"values": ["hungry", "fed"], "initial": "hungry"}},
        },
        {"id": "bowl", "name": "bowl", "kind": "portable", "location": "kitchen"},
        {"id": "bench", "name": "bench", "kind": "supporter", "location": "kitchen"},
        {"id": "sill", "name": "windowsill", "kind": "supporter", "location": "kitchen"},
        {"id": "pot", "name": "pot", "kind": "container", "portable": True, "location": "bench"},
        {"id": "seed", "name": "seed", "kind": "portable", "location": "kitchen"},
    ],
    actions=[
        {
            "name": "give",
            "command": "give {thing} to {pet}",
            "synonyms": ["feed {pet} with {thing}"],
            "slots": {"thing": {"kind": "portable"}, "pet": {"kind": "animate"}},
            "requires": ["held(thing)", "here(pet)", "state(pet, hunger) == hungry"],
            "effects": ["here(thing)", "state(pet, hunger) == fed"],
            "success": "The cat eats from {the thing}.",
        }
    ],
    goals=[{"when": ["state(cat, hunger) == fed"]}, {"when": ["in(seed, pot)", "on(pot, sill)"]}],
    walkthrough=[
        "take pot from bench",
        "take seed",
        "insert seed into pot",
        "put pot on windowsill",
        "take bowl",
        "give bowl to cat",
    ],
)


KETTLE: dict[str, Any] = {
    "spec_version": "1.1",
    "id": "kettle",
    "title": "Tea",
    "objective": "Boil the kettle and charge the phone.",
    "skills": ["boil_water"],
    "start": "kitchen",
    "rooms": [{"id": "kitchen", "name": "kitchen", "description": "A small kitchen.", "exits": {}}],
    "objects": [
        {
            "id": "kettle",
            "name": "kettle",
            "kind": "device",
            "location": "kitchen",
            "states": {"heat": {"values": ["cold", "warm", "boiling"], "initial": "cold"}},
        },
        {"id": "stove", "name": "stove", "kind": "supporter", "location": "kitchen"},
        {
            "id": "pot",
            "name": "small pot",
            "kind": "portable",
            "location": "kitchen",
            "states": {
                "shape": {"values": ["whole", "cracked"], "initial": "whole"},
                "water": {"values": ["still", "bubbling"], "initial": "still"},
            },
        },
        {
            "id": "phone",
            "name": "phone",
            "kind": "portable",
            "location": "kitchen",
            "states": {"charge": {"values": ["flat", "charging", "full"], "initial": "flat"}},
        },
        {"id": "charger", "name": "charger", "kind": "device", "location": "kitchen"},
    ],
    "actions": [],
    "every_turn": [
        {
            "requires": ["switched_on(kettle)", "state(kettle, heat) == warm"],
            "effects": ["state(kettle, heat) == boiling"],
            "text": "The kettle whistles: the water boils.",
        },
        {
            "requires": ["switched_on(kettle)", "state(kettle, heat) == cold"],
            "effects": ["state(kettle, heat) == warm"],
            "text": "The kettle starts to hum.",
        },
        {
            "requires": ["on(pot, stove)", "state(pot, water) == still"],
            "effects": ["state(pot, water) == bubbling"],
            "text": "The water in the small pot bubbles.",
        },
        {
            "requires": ["switched_on(charger)", "state(phone, charge) == flat"],
            "effects": ["state(phone, charge) == charging"],
        },
        {
            "requires": ["switched_off(charger)", "state(phone, charge) == charging"],
            "effects": ["state(phone, charge) == flat"],
            "text": "The phone stops charging.",
        },
    ],
    "reactions": [
        {
            "after": "drop",
            "object": "pot",
            "requires": ["state(pot, shape) == whole"],
            "effects": ["state(pot, shape) == cracked"],
            "text": "The small pot cracks.",
        },
        {
            "after": "take",
            "object": "pot",
            "requires": ["state(pot, water) == bubbling"],
            "effects": ["state(pot, water) == still"],
            "text": "Off the stove, the water calms.",
        },
    ],
    "goals": [
        {"when": ["state(kettle, heat) == boiling"]},
        {"when": ["state(pot, water) == bubbling", "state(pot, shape) == whole"]},
    ],
    "lose": [{"when": ["state(pot, shape) == cracked"], "text": "The pot is ruined."}],
    "walkthrough": ["switch on kettle", "wait", "take small pot", "put small pot on stove"],
}


COFFEE = spec(
    id="coffee",
    objective="Fill the tank and brew coffee.",
    skills=["make_tea"],
    objects=[
        {
            "id": "machine",
            "name": "coffee machine",
            "kind": "device",
            "location": "kitchen",
            "description": "A chrome coffee machine.",
            "states": {"coffee": {"values": ["idle", "brewed"], "initial": "idle"}},
        },
        {
            "id": "tank",
            "name": "water tank",
            "kind": "container",
            "part": True,
            "location": "machine",
            "status": "open",
            "states": {"water": {"values": ["empty", "full"], "initial": "empty"}},
        },
        {"id": "tray", "name": "drip tray", "kind": "supporter", "part": True, "location": "machine"},
        {"id": "mug", "name": "mug", "kind": "portable", "location": "tray"},
        {"id": "sink", "name": "sink", "kind": "scenery", "location": "kitchen"},
    ],
    actions=[
        {
            "name": "fill",
            "command": "fill {vessel} with water",
            "slots": {"vessel": {"kind": "container"}},
            "requires": ["here(sink)", "state(vessel, water) == empty"],
            "effects": ["state(vessel, water) == full"],
            "success": "You fill {the vessel} at the sink.",
        },
        {
            "name": "brew",
            "command": "brew coffee",
            "requires": ["switched_on(machine)", "here(tank)", "state(tank, water) == full"],
            "effects": ["state(tank, water) == empty", "state(machine, coffee) == brewed"],
            "success": "The machine gurgles and brews.",
            "failures": {"switched_on(machine)": "The machine is off."},
        },
    ],
    goals=[{"when": ["state(tank, water) == full"]}, {"when": ["state(machine, coffee) == brewed"]}],
    walkthrough=["fill water tank with water", "switch on coffee machine", "brew coffee"],
)


COAT = spec(
    id="coat",
    objective="Put on the coat and open the chest.",
    skills=["navigate"],
    objects=[
        {"id": "coat", "name": "coat", "kind": "clothing", "location": "hook", "description": "A wool coat."},
        {"id": "pocket", "name": "pocket", "kind": "container", "part": True, "location": "coat"},
        {"id": "key", "name": "brass key", "kind": "key", "location": "pocket"},
        {"id": "hook", "name": "hook", "kind": "supporter", "location": "kitchen"},
        {"id": "wardrobe", "name": "wardrobe", "kind": "container", "location": "kitchen", "status": "open"},
        {"id": "basket", "name": "basket", "kind": "container", "portable": True, "location": "kitchen"},
        {"id": "chest", "name": "chest", "kind": "container", "location": "kitchen", "status": "locked", "key": "key"},
        {"id": "glove", "name": "glove", "kind": "portable", "location": "kitchen"},
    ],
    goals=[{"when": ["worn(coat)"]}, {"when": ["open(chest)"]}],
    walkthrough=[
        "take coat from hook",
        "wear coat",
        "take brass key from pocket",
        "unlock chest with brass key",
        "open chest",
    ],
)


def verify(data: dict, out: Path, **limits) -> VerificationReport:
    return verify_spec(json.dumps(data), out, Limits(**({"walks": 4} | limits)))


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict[str, Path]:
    """Each passing spec of this file, built and verified once: spec id -> its game.z8."""
    out = tmp_path_factory.mktemp("g11")
    games: dict[str, Path] = {}
    for data in (LUNCH, PETS, KETTLE, COFFEE, COAT):
        report = verify(data, out / data["id"], walks=8 if data is COAT else 4)
        assert report.passed, report.summary()
        games[data["id"]] = out / data["id"] / "game.z8"
    return games


def play(z8: Path, commands: list[str]) -> tuple[StarlingEnv, list[str], dict]:
    env = StarlingEnv(z8, max_episode_steps=None)
    _, info = env.reset(seed=0)
    said = []
    for command in commands:
        obs, _, _, _, info = env.step(command)
        said.append(obs)
    return env, said, info


# -- spec versions -----------------------------------------------------------------------------
def test_a_shipped_10_spec_canonicalises_to_the_same_json():
    for path in sorted(shipped_collection(1).glob("*/spec.json"))[:20]:
        text = path.read_text()
        assert GameSpec.parse_text(text).to_json() == text


def test_11_constructs_need_spec_version_11():
    data = copy.deepcopy(LUNCH) | {"spec_version": "1.0"}
    with pytest.raises(SpecError) as info:
        GameSpec.from_data(data)
    paths = {p for p, _ in info.value.errors}
    assert {"$.lose", "$.rooms[0].variants", "$.objects[0].article", "$.actions[0].synonyms"} <= paths


# -- 8. losing ---------------------------------------------------------------------------------
def test_a_declared_loss_ends_the_episode_lost(built):
    env, said, info = play(built["lunch"], ["take cheese", "eat cheese"])
    assert info["lost"] and not info["won"]
    assert "No sandwich today" in said[-1]
    with pytest.raises(gymnasium.error.ResetNeeded):
        env.step("look")


def test_an_undeclared_dead_end_is_reported(tmp_path):
    data = copy.deepcopy(LUNCH)
    del data["lose"]
    report = verify(data, tmp_path / "out")
    assert report.kinds == [FailureKind.undeclared_dead_end], report.summary()
    assert "eat cheese" in report.failures[0].message


def test_a_walkthrough_that_loses_is_invalid(tmp_path):
    data = copy.deepcopy(LUNCH) | {"walkthrough": ["take cheese", "eat cheese", "take bread"]}
    report = verify(data, tmp_path / "out")
    assert report.kinds == [FailureKind.walkthrough_invalid] and "loses the game" in report.failures[0].message


# -- 7. plural and mass nouns, synonyms ----------------------------------------------------------
def test_articles_plurals_and_synonyms(built):
    _, said, info = play(
        built["lunch"], ["look", "take clippers", "take cheese", "take bread", "stack cheese on bread"]
    )
    assert "some cheese" in said[0] and "some wellies" in said[0] and "a pair of secateurs" in said[0]
    assert "a wellies" not in said[0]
    assert "You pick up the secateurs" in said[1]
    assert "You lay the cheese on the bread" in said[4] and info["score"] == 1


# -- 6. descriptions that follow state --------------------------------------------------------------
def test_descriptions_follow_the_state(built):
    _, said, _ = play(
        built["lunch"],
        ["examine bread", "look", "take cheese", "take bread", "layer cheese on bread", "examine bread", "look"],
    )
    assert "Two slices of bread." in said[0] and "sandwich" not in said[0]
    assert "smells of cheese" not in said[1]
    assert "A fine cheese sandwich." in said[5] and "Two slices" not in said[5]
    assert "A small kitchen that smells of cheese." in said[6]


# -- 1. animate things ----------------------------------------------------------------------------
def test_an_animal_is_not_carried_and_takes_gifts(built):
    env, said, info = play(built["pets"], ["look", "take cat", "take bowl"])
    assert "A cat is here." in said[0] and "cat on the floor" not in said[0]
    assert "would not like that" in said[1] and "take cat" not in info["admissible_commands"]
    assert "give bowl to cat" in info["admissible_commands"]
    obs, reward, *_ = env.step("feed cat with bowl")  # a synonym naming the slots the other way round
    assert "The cat eats from the bowl." in obs and reward == 1


# -- 4. containers that move and stand on supporters --------------------------------------------------
def test_a_portable_container_moves_with_its_contents(built):
    _, said, info = play(
        built["pets"], ["take pot from bench", "take seed", "insert seed into pot", "look", "put pot on windowsill"]
    )
    assert "You take the pot from the bench." in said[0] and "bench, with a pot" not in said[3]
    assert info["score"] == 1 and "take seed from pot" in info["admissible_commands"]
    assert not [c for c in info["admissible_commands"] if c.startswith(("open pot", "close pot"))]


def test_a_portable_container_is_always_open():
    data = copy.deepcopy(PETS)
    data["objects"][4]["status"] = "closed"
    with pytest.raises(SpecError, match="always open"):
        GameSpec.from_data(data)


# -- 2. time: every-turn rules ----------------------------------------------------------------------
def test_a_process_advances_by_turns_and_waiting(built):
    env, said, info = play(built["kettle"], ["switch on kettle"])
    assert "The kettle starts to hum." in said[0] and "wait" in info["admissible_commands"]
    obs, reward, *_ = env.step("examine stove")  # any turn lets time pass
    assert "The kettle whistles: the water boils." in obs and reward == 1
    _, said, info = play(built["kettle"], ["switch on kettle", "z"])
    assert "Time passes." in said[1] and "The kettle whistles" in said[1] and info["score"] == 1
    _, said, _ = play(built["kettle"], ["switch on charger", "switch off charger"])
    assert "The phone stops charging." in said[1]


def test_an_every_turn_effect_must_replace_a_stated_fact():
    data = copy.deepcopy(KETTLE)
    data["every_turn"][0]["requires"] = ["switched_on(kettle)"]
    with pytest.raises(SpecError, match="state in requires what it replaces"):
        GameSpec.from_data(data)


# -- 5. effects on built-in actions: reactions ---------------------------------------------------------
def test_reactions_to_built_in_actions(built):
    _, said, info = play(built["kettle"], ["take small pot", "put small pot on stove", "take small pot from stove"])
    assert "bubbles" in said[1] and "Off the stove, the water calms." in said[2] and not info["lost"]
    _, said, info = play(built["kettle"], ["take small pot", "drop small pot"])
    assert "The small pot cracks." in said[1] and "The pot is ruined." in said[1] and info["lost"]


def test_a_reaction_follows_only_its_own_object(tmp_path):
    """Taking the plug drains the bath; taking the foam from the same caddy while the bath fills must not (a
    reaction whose facts do not name its object once matched every take in the logic, so the game refused it)."""
    data = json.loads((ROOT / "game_seeds" / "run_bath" / "example.json").read_text())
    assert verify(data, tmp_path / "bath", walks=1).passed
    moves = ["open airing cupboard", "take towel from airing cupboard", "go east", "take plug from bath caddy"]
    moves += ["insert plug into bathtub", "turn on hot tap", "take bath foam from bath caddy", "take plug"]
    env, said, info = play(tmp_path / "bath" / "game.z8", moves)
    assert said[6].startswith("You take the bath foam") and "drains" not in said[6]
    assert "drains away" in said[7] and not info["lost"]
    env.close()


# -- 3. parts ---------------------------------------------------------------------------------------
def test_a_part_of_a_fixed_thing_is_used_where_its_whole_is(built):
    env, said, info = play(built["coffee"], ["look", "examine coffee machine", "take water tank", "examine tank"])
    assert "You see a mug on the drip tray." in said[0] and "water tank" not in said[0]
    assert "The coffee machine has a water tank and a drip tray." in said[1]
    assert "That seems to be a part of the coffee machine." in said[2]
    assert not [c for c in info["admissible_commands"] if c.startswith(("take water tank", "take drip tray"))]
    assert {"fill water tank with water", "take mug from drip tray", "close water tank"} <= set(
        info["admissible_commands"]
    )
    obs, reward, *_ = env.step("fill water tank with water")  # filling the part is a goal
    assert "You fill the water tank at the sink." in obs and reward == 1
    obs, reward, *_ = env.step("brew coffee")
    assert "The machine is off." in obs and reward == 0


def test_a_pocket_is_reached_wherever_its_coat_is(built):
    carried = ["take coat from hook", "take brass key from pocket", "insert brass key into pocket"]
    worn = ["wear coat", "take brass key from pocket", "take off coat", "insert brass key into pocket"]
    stowed = ["take basket", "insert coat into basket", "put basket on hook", "take brass key from pocket"]
    _, said, info = play(built["coat"], [*carried, *worn, *stowed])
    assert "You take the brass key from the pocket." in said[1] and "You put the brass key into the pocket." in said[2]
    assert "You take the brass key from the pocket." in said[4] and info["score"] == 1
    assert "You take the brass key from the pocket." in said[-1]
    assert "unlock chest with brass key" in info["admissible_commands"]
    _, said, _ = play(built["coat"], ["examine coat", "take pocket", "take basket", "insert basket into wardrobe"])
    assert "The coat has a pocket." in said[0] and "That seems to be a part of the coat." in said[1]
    assert "The basket does not fit in the wardrobe." in said[3]


@pytest.mark.parametrize(
    "change, path, message",
    [
        (lambda d: d["objects"][1].update(location="kitchen"), "$.objects[1].location", "is not an object"),
        (lambda d: d["objects"][2].update(part=True), "$.objects[2]", "a part is a container"),
        (lambda d: d["objects"][1].update(status="closed"), "$.objects[1]", "always open (a pocket)"),
        (lambda d: d["objects"][5].update(location="pocket"), "$.objects[5].location", "starts in a room"),
        (
            lambda d: d["objects"].append(
                {"id": "lid", "name": "lid", "kind": "scenery", "part": True, "location": "basket"}
            ),
            "$.objects[8].location",
            "'basket' is a portable container: parts belong to fixed things",
        ),
        (
            lambda d: d["objects"].append(
                {"id": "flap", "name": "flap", "kind": "container", "part": True, "location": "pocket"}
            ),
            "$.objects[8].location",
            "'pocket' is itself a part",
        ),
        (
            lambda d: d["objects"].append(
                {"id": "sleeve", "name": "sleeve", "kind": "container", "part": True, "location": "glove"}
            ),
            "$.objects",
            "only one portable thing may have parts",
        ),
        (
            lambda d: d.update(
                actions=[{"name": "grab", "command": "grab pocket", "effects": ["held(pocket)"], "success": "Done."}]
            ),
            "$.actions[0].effects[0]",
            "'pocket' is a part: it stays with its whole",
        ),
        (lambda d: d.update(spec_version="1.0"), "$.objects[1].part", "spec 1.1 construct"),
    ],
)
def test_parts_are_checked(change, path, message):
    data = copy.deepcopy(COAT)
    change(data)
    with pytest.raises(SpecError) as info:
        GameSpec.from_data(data)
    assert any(p == path and message in m for p, m in info.value.errors), info.value.errors

"""The native Describer prints what the Inform 7 build prints for look, examine, inventory and the opening.

Each sampled shipped game is played along its walkthrough in the reference engine; at every state the
Describer, fed the logic's facts and the order things moved in, must give the reference's words exactly.
The sample covers both spec versions, containers (fixed and portable, open, closed, locked), supporters,
doors, parts, worn clothes, devices, creatures, plural names and custom articles.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest
from textworld.generator.game import Game

from starling_env.envs.engine import Engine
from starling_env.native.describe import Describer, inform_text, objective_text
from starling_env.native.reference import reference_turn
from starling_env.native.types import Facts, facts_of
from starling_env.spec import GameSpec

ROOT = Path(__file__).resolve().parents[1] / "generated_games"
GAMES = [
    "starling100-v1/boil-water-do-laundry-h7315e8",  # doors, open and closed containers, clothing, a device
    "starling100-v1/boil-water-dress-for-rain-h5c8dc8",  # clothes worn, locked containers
    "starling100-v2/cook-pasta-m926acb",  # parts, portable containers, plural and "a pair of", "(empty)"
    "starling100-v2/dress-for-rain-make-tea-h1d046e",  # parts, doors, worn clothes, devices, a creature
    "starling100-v2/bake-cookies-charge-phone-h111f92",  # a portable container moved among the furniture
    "starling100-v2/make-coffee-m051a14",  # a device with parts, state descriptions
]


@dataclass(frozen=True)
class State:
    facts: Facts
    order: tuple[str, ...]
    texts: dict[str, str]  # command -> the reference's text ("look", "inventory", "examine X")
    partial: bool  # the world's every-turn rules (or the score) add to the reference's text


@dataclass(frozen=True)
class Played:
    describer: Describer
    names: dict[str, str]  # printed name -> entity id
    opening: str
    start: Facts
    states: list[State]


def load(folder: Path) -> tuple[Game, GameSpec]:
    return Game.deserialize(json.loads((folder / "game.json").read_text())), GameSpec.load(folder / "spec.json")


@cache
def played(name: str) -> Played:
    """The reference's texts at every state of the game's walkthrough (each asked without playing it)."""
    folder = ROOT / name
    game, spec = load(folder)
    describer = Describer(game, spec)
    engine = Engine(folder / "game.z8")
    opening = engine.reset(0)
    start, order, states = facts_of(engine.progression.state), (), []
    for command in [*spec.walkthrough, None]:
        if engine.won or engine.lost:  # the game is over: it asks to restart
            break
        facts = facts_of(engine.progression.state)
        snapshot = engine.snapshot()
        turn, look = reference_turn(engine, "look")
        engine.restore(snapshot)
        texts = {"look": look, "inventory": engine._peek("inventory")}
        texts |= {c: engine._peek(c) for c in engine.admissible_commands() if c.startswith("examine ")}
        states.append(State(facts, order, texts, bool(turn.ticks) or turn.score != turn.score_before))
        if command is None:
            break
        turn, _ = reference_turn(engine, command)
        after = turn.after_action
        order = describer.reorder(order, turn.before, after)
        for _, facts_after_tick in turn.ticks:
            order, after = describer.reorder(order, after, facts_after_tick), facts_after_tick
    engine.close()
    names = {info.name: eid for eid, info in game.infos.items() if info.name}
    return Played(describer, names, opening, start, states)


def same(got: str, reference: str, partial: bool) -> bool:
    """Equal, or (when the turn's every-turn rules printed more) the start of the reference's text."""
    if reference.startswith("(") and ")\n" in reference:  # the parser's "(the umbrella)": not a description
        reference = reference.split("\n", 1)[1]
    return reference.startswith(got + "\n\n") if partial and got != reference else got == reference


def mismatches(game: str, command: str) -> list[str]:
    play = played(game)
    out = []
    for state in play.states:
        for typed, reference in state.texts.items():
            if typed.split()[0] != command:
                continue
            d = play.describer
            if command == "look":
                got = d.look(state.facts, state.order)
            elif command == "inventory":
                got = d.inventory(state.facts, state.order)
            else:
                got = d.examine(play.names[typed.removeprefix("examine ")], state.facts, state.order)
            if not same(got, reference, state.partial):
                out.append(f"{typed}\nreference: {reference!r}\ndescriber: {got!r}")
    return out


@pytest.mark.parametrize("game", GAMES)
def test_opening_is_the_objective_then_the_first_look(game):
    play = played(game)
    assert play.describer.opening(play.start) == play.opening


@pytest.mark.parametrize("game", GAMES)
def test_look_lists_furniture_doors_exits_and_floor_as_the_game_does(game):
    assert not mismatches(game, "look")


@pytest.mark.parametrize("game", GAMES)
def test_examine_prints_description_contents_device_state_and_parts(game):
    assert not mismatches(game, "examine")


@pytest.mark.parametrize("game", GAMES)
def test_inventory_lists_carried_and_worn_things_most_recently_taken_first(game):
    assert not mismatches(game, "inventory")


def test_articles_follow_plural_names_custom_articles_and_vowels():
    play = played("starling100-v2/cook-pasta-m926acb")
    d, ids = play.describer, play.names
    assert d.a(ids["penne"]) == "some penne"
    assert d.a(ids["white oven mitts"], capital=True) == "A pair of white oven mitts"
    assert d.the(ids["white oven mitts"], capital=True) == "The white oven mitts"
    assert d.listing([ids["colander"], ids["thimble"], ids["penne"]]) == "a colander, a thimble and some penne"
    assert d.is_are([ids["white oven mitts"]]) == "are" and d.is_are([ids["penne"]]) == "is"
    assert d.listing([]) == "nothing"
    game, spec = load(ROOT / "starling100-v2/charge-phone-mb138bc")
    names = {info.name: eid for eid, info in game.infos.items() if info.name}
    assert Describer(game, spec).a(names["old bedside table"]) == "an old bedside table"


def test_a_thing_put_back_is_listed_first_and_wearing_moves_nothing():
    folder = ROOT / "starling100-v2/cook-pasta-m926acb"
    game, spec = load(folder)
    d = Describer(game, spec)
    engine = Engine(folder / "game.z8")
    engine.reset(0)
    ids = {info.name: eid for eid, info in game.infos.items() if info.name}
    order: tuple[str, ...] = ()
    commands = ["go south", "go east", "take colander from plate rack", "put colander on plate rack"]
    commands += ["take white oven mitts from wooden hook", "take thimble from plate rack", "wear white oven mitts"]
    for command in commands:
        turn, _ = reference_turn(engine, command)
        order = d.reorder(order, turn.before, turn.after_action)
        if command.startswith("put"):
            facts = facts_of(engine.progression.state)
            assert d.contents(ids["plate rack"], facts, order) == [ids["colander"], ids["thimble"]]
            assert d.contents(ids["plate rack"], facts) == [ids["thimble"], ids["colander"]]  # the initial order
    facts = facts_of(engine.progression.state)
    assert d.inventory(facts, order) == engine._peek("inventory")
    assert d.inventory(facts, order) == "You are carrying: a thimble and a pair of white oven mitts (being worn)."
    assert d.reorder(order, facts, facts) == order
    engine.close()


def test_apostrophes_print_as_inform_7_literals_do():
    # Measured on a game built for the purpose: Inform 7 prints an apostrophe between two letters as it is and
    # any other as a double quote; TextWorld cuts the objective into literals of 200 characters per line.
    text = "A 1980's hall, rock'n'roll at 5 o'clock. 'Tis cold. The dogs'. Don't. x'2 2'x it'"
    printed = 'A 1980"s hall, rock\'n\'roll at 5 o\'clock. "Tis cold. The dogs". Don\'t. x"2 2"x it"'
    assert inform_text(text) == printed
    objective = "Boil " + "a" * 191 + " it's fine.\nSecond line, don't."
    assert objective_text(objective) == objective.replace("it's", 'it"s')

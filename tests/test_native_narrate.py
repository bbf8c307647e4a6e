"""The native Narrator tells each turn in the words of the Inform 7 build.

Sampled shipped games are played in the reference engine along their walkthrough and a short seeded random
walk of admissible commands; at every step the Narrator, given the turn the logic saw (and the object-tree
order the native engine keeps), must give the reference's text exactly: the action's report, custom actions'
success texts, reactions, every-turn texts, the score notification, the parser's inferred nouns, winning and
losing. Turns that did nothing but answer (the parser's reply) get what the turn adds after the reply.
"""

from __future__ import annotations

import json
import random
from functools import cache
from pathlib import Path

import pytest
from textworld.generator.game import Game

from starling_env.envs.engine import Engine
from starling_env.native.narrate import Narrator, i7_quotes, in_words
from starling_env.native.reference import reference_turn
from starling_env.native.types import Turn
from starling_env.spec import GameSpec

ROOT = Path(__file__).resolve().parents[1] / "generated_games"
BOIL = "starling100-v2/boil-water-ee8b4ab"  # custom actions, every-turn rules, three ways to lose
GAMES = [
    "starling100-v1/dress-for-rain-e156f0b",  # an umbrella and an umbrella stand: "(the umbrella)"
    "starling100-v1/do-laundry-m2041ca",  # doors, a 1.0 game
    BOIL,
    "starling100-v2/run-bath-mc8d1df",  # reactions, every-turn rules, flooding loses
    "starling100-v2/make-coffee-repot-plant-ha51c8c",  # parts, a reaction that loses the game
    "starling100-v2/bake-cookies-charge-phone-h111f92",  # parts, doors, reactions, every-turn rules, losses
]
WALK_STEPS = 25
LIGHT_EARLY = ["open old rucksack", "take green matchbox from old rucksack", "light camp stove with green matchbox"]


@cache
def narrator(name: str) -> Narrator:
    folder = ROOT / name
    return Narrator(
        Game.deserialize(json.loads((folder / "game.json").read_text())), GameSpec.load(folder / "spec.json")
    )


class Player:
    """The reference engine with the object-tree order the native engine keeps (Describer.reorder)."""

    def __init__(self, name: str) -> None:
        self.engine = Engine(ROOT / name / "game.z8")
        self.engine.reset(0)
        self.describer = narrator(name).describer
        self.order: tuple[str, ...] = ()

    def play(self, command: str) -> tuple[Turn, str]:
        turn, text = reference_turn(self.engine, command)
        order = self.describer.reorder(self.order, turn.before, turn.after_action)
        final = turn.ticks[-1][1] if turn.ticks else turn.after_action
        self.order = self.describer.reorder(order, turn.after_action, final)
        return turn._replace(order=order), text


def differences(name: str, seed: int | None) -> list[str]:
    """Play the walkthrough (seed None) or a seeded random walk of admissible commands; the steps the Narrator
    tells otherwise than the reference."""
    player, tell, problems = Player(name), narrator(name), []
    walkthrough, rng = GameSpec.load(ROOT / name / "spec.json").walkthrough, random.Random(seed)
    for step in range(len(walkthrough) if seed is None else WALK_STEPS):
        engine = player.engine
        if engine.won or engine.lost:
            break
        command = walkthrough[step] if seed is None else rng.choice(sorted(engine.admissible_commands()))
        turn, text = player.play(command)
        told = tell.turn(turn)
        if told != text:
            problems.append(f"step {step} {command!r} ({turn.action}):\n{text!r}\n!=\n{told!r}")
    return problems


@pytest.mark.parametrize("name", GAMES)
def test_walkthrough(name: str) -> None:
    assert differences(name, None) == []


@pytest.mark.parametrize("name", GAMES)
def test_random_walk(name: str) -> None:
    assert differences(name, 7) == []


def test_won() -> None:
    player = Player(BOIL)
    for command in GameSpec.load(ROOT / BOIL / "spec.json").walkthrough:
        turn, text = player.play(command)
    assert turn.won
    assert narrator(BOIL).turn(turn) == text
    assert text.endswith(
        "Your score has just gone up by two points.\n\n" + " " * 55 + "*** The End ***\n\n"
        "You scored 7 out of a possible 7, in 12 turns."
    )


def test_lost_the_turn_a_goal_is_met() -> None:
    """The stove dies as the billy can is taken: the lose text, no score notification (the game ends first),
    the turn count not yet advanced."""
    player, tell = Player(BOIL), narrator(BOIL)
    for command in [
        "open old rucksack",
        "take green matchbox from old rucksack",
        "light camp stove with green matchbox",
    ]:
        player.play(command)
    turn, text = player.play("wait")
    assert tell.turn(turn) == text == "Time passes.\n\nThe flame of the camp stove shrinks and turns yellow."
    turn, text = player.play("take billy can from old rucksack")
    assert turn.lost == 0 and turn.score == turn.score_before + 1
    assert (
        tell.turn(turn)
        == text
        == (
            "You take the billy can from the old rucksack.\n\n"
            "The flame of the camp stove sputters and dies: the gas is gone.\n\n"
            "The stove is out and your last match is gone. No hot water today.\n\n"
            + " " * 54
            + "*** You lost! ***\n\nYou scored 1 out of a possible 7, in 5 turns."
        )
    )


def test_reply_turns() -> None:
    """A command the game refused still lets time pass: the reply, then the every-turn texts and the end."""
    player, tell = Player(BOIL), narrator(BOIL)
    for command in [
        "open old rucksack",
        "take billy can from old rucksack",
        "take green matchbox from old rucksack",
        "put billy can on camp stove",
        "light camp stove with green matchbox",
    ]:
        player.play(command)
    for command, reply in [
        ("dip billy can in stream", "You need to hold it first."),
        ("jump", "You jump on the spot."),
    ]:
        turn, text = player.play(command)
        assert turn.action is None and turn.ticks
        assert tell.turn(turn._replace(reply=reply)) == text
    assert turn.lost == 0 and text.endswith("You scored 2 out of a possible 7, in 7 turns.")


def test_inferred_nouns_of_typed_words() -> None:
    """What the player typed decides whether the parser had to choose: "small" answers to the rucksack and the
    fleece in it; "take ... from" weighs only what the bed holds, the fleece too, as it is in the rucksack."""
    name = "starling100-v2/pack-suitcase-e9a4e13"
    player, tell = Player(name), narrator(name)
    for command in ["open tallboy", "take small fleece from tallboy", "insert small fleece into small rucksack"]:
        player.play(command)
    texts = []
    for typed, command in [
        ("take small from bed", "take small rucksack from wooden bunk bed"),
        ("drop the small", "drop small rucksack"),
        ("take small rucksack", "take small rucksack"),
    ]:
        snapshot = player.engine.snapshot()
        turn, _ = player.play(command)
        player.engine.restore(snapshot)
        _, text = reference_turn(player.engine, typed)  # played as typed: the turn's facts are the same
        assert tell.turn(turn._replace(command=typed)) == text
        texts.append(text)
    assert texts == [
        "(the small rucksack from the wooden bunk bed)\nYou take the small rucksack from the wooden bunk bed.",
        "(the small rucksack)\nYou drop the small rucksack on the ground.",
        "You pick up the small rucksack from the ground.",
    ]


def test_words() -> None:
    assert [in_words(n) for n in (1, 2, 13, 20, 42, 100, 315)] == [
        "one",
        "two",
        "thirteen",
        "twenty",
        "forty-two",
        "one hundred",
        "three hundred and fifteen",
    ]
    assert i7_quotes("It's the dogs' 'bowl'.") == 'It\'s the dogs" "bowl".'

"""``load_game`` / ``parse_logic``: the block-by-block parse gives TextWorld's own logic and game, on real games."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from textworld.generator.game import Game
from textworld.logic import GameLogic

from starling_env.collection.manifest import shipped_collections
from starling_env.game_json import load_game, logic_blocks, parse_logic

GAMES = sorted(p for collection in shipped_collections() for p in collection.rglob("game.json"))
SAMPLE = GAMES[:: max(1, len(GAMES) // 8)]  # a spread over the collections in the default run


def summary(logic: GameLogic) -> tuple:
    """Everything a GameLogic holds, as comparable values."""
    return (
        sorted((t.name, tuple(t.parents)) for t in logic.types),
        sorted(map(str, logic.predicates)),
        sorted((str(k), str(v)) for k, v in logic.aliases.items()),
        sorted(
            (name, str(rule), str(rule.reverse_rule), [str(p) for p in rule.preconditions])
            for name, rule in logic.rules.items()
        ),
        sorted(logic.reverse_rules.items()),
        sorted((name, str(rule)) for name, rule in logic.constraints.items()),
        sorted((str(k), v.kind, v.definition) for k, v in logic.inform7.types.items()),
        sorted((str(k), str(v.predicate), v.source) for k, v in logic.inform7.predicates.items()),
        sorted((str(k), v.command, v.event, v.rule) for k, v in logic.inform7.commands.items()),
        logic.inform7.code,
        logic.serialize(),
    )


def check_game(path: Path) -> None:
    data = json.loads(path.read_bytes())
    document = data["KB"]["logic"]
    assert logic_blocks(document), f"{path}: the document did not split into blocks"
    assert summary(parse_logic(document)) == summary(GameLogic.parse(document)), path
    game, reference = load_game(path), Game.deserialize(data)
    assert game.serialize() == reference.serialize(), path
    assert game.kb.inform7_commands == reference.kb.inform7_commands
    assert [str(r) for r in game.kb.rules.values()] == [str(r) for r in reference.kb.rules.values()]


@pytest.mark.parametrize("path", SAMPLE, ids=lambda p: p.parent.name)
def test_load_game_equals_textworld_on_a_sample(path):
    check_game(path)


@pytest.mark.slow
def test_load_game_equals_textworld_on_every_shipped_game():
    assert len(GAMES) >= 200
    for path in GAMES:
        check_game(path)


def test_a_document_with_text_between_blocks_is_parsed_whole():
    document = json.loads(SAMPLE[0].read_bytes())["KB"]["logic"]
    blocks = logic_blocks(document)
    assert blocks is not None and len(blocks) > 5
    assert logic_blocks(document.replace(blocks[1], blocks[1] + "\nstray text\n")) is None
    joined = "\n# a comment\n".join(blocks)  # comments between blocks are fine
    assert logic_blocks(joined) == blocks
    assert summary(parse_logic(joined)) == summary(GameLogic.parse(joined))


def test_a_block_cut_short_falls_back_to_the_whole_document():
    # a "}" at a line's start inside a block's triple-quoted Inform 7 code ends the block early for the splitter
    document = json.loads(SAMPLE[0].read_bytes())["KB"]["logic"]
    cut = document.replace('"""', '"""\n}\n', 1)
    assert cut != document
    assert logic_blocks(cut) is None  # the rest of the cut block is not a block: parsed whole
    assert summary(parse_logic(cut)) == summary(GameLogic.parse(cut))


def test_a_block_that_fails_to_parse_alone_falls_back_to_the_whole_document():
    # the cut leaves text that looks like blocks ("}" then "type x {" inside a string): the first part fails alone
    document = json.loads(SAMPLE[0].read_bytes())["KB"]["logic"]
    cut = document.replace('"""', '"""\n}\ntype x {\n', 1)
    blocks = logic_blocks(cut)
    assert blocks is not None and len(blocks) == len(logic_blocks(document) or []) + 1
    assert summary(parse_logic(cut)) == summary(GameLogic.parse(cut))


def test_load_game_rejects_another_textworld_version():
    data = json.loads(SAMPLE[0].read_bytes())
    data["version"] = 999
    with pytest.raises(ValueError, match="version 999"):
        load_game(data)

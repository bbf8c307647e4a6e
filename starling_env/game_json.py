"""A built game's ``game.json`` read into a TextWorld :class:`Game`, with its logic parsed block by block.

``Game.deserialize`` parses the game's whole logic document (TextWorld's knowledge base plus the game's custom
types and rules, 20-75 kB) with TatSu on every load: about 0.25 s a game, most of a game load for the native
engine and the largest single cost of a training run that moves through many games. Every game's document is
the same ``type ... { ... }`` blocks of the base knowledge base plus a few of its own, so :func:`parse_logic`
parses each distinct block once per process and builds the :class:`GameLogic` from the parsed blocks in
document order: the same types, predicates, rules, constraints and Inform 7 mappings as ``GameLogic.parse``
(``tests/test_game_json.py`` compares them on every shipped game).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from textworld.generator.data import KnowledgeBase
from textworld.generator.game import EntityInfo, Game, GrammarOptions, Quest, World
from textworld.logic import _PARSER, GameLogic, _ModelConverter

# A block starts with "type" at the start of a line and ends with "}" alone at the start of a line.
_BLOCK = re.compile(r"^type\b.*?^\}[ \t]*$", re.MULTILINE | re.DOTALL)


def logic_blocks(document: str) -> list[str] | None:
    """The top-level ``type`` blocks of a logic document, or None when anything but blocks and comments lies
    between them (then the document is parsed whole)."""
    blocks, end = [], 0
    for match in _BLOCK.finditer(document):
        if not _only_comments(document[end : match.start()]):
            return None
        blocks.append(match.group())
        end = match.end()
    return blocks if _only_comments(document[end:]) else None


def _only_comments(text: str) -> bool:
    return all(not line.strip() or line.lstrip().startswith("#") for line in text.splitlines())


# The 200 shipped games have 146 distinct blocks; 100 games' 58 blocks hold 19 MB of parsed models.
@lru_cache(maxsize=256)
def _parsed_block(block: str) -> Any:
    return _PARSER.parse(block)


def parse_logic(document: str) -> GameLogic:
    """``GameLogic.parse(document)``, reusing the parse of every block an earlier document had."""
    blocks = logic_blocks(document)
    if blocks is None:
        return GameLogic.parse(document)
    logic = GameLogic()
    try:
        models = [_parsed_block(block) for block in blocks]
    except Exception:  # a block cut short (a "}" at a line's start inside a string): the whole document
        return GameLogic.parse(document)
    for model in models:
        _ModelConverter(logic).walk(model)
    logic._document = document + "\n"  # what GameLogic._parse keeps, so serialize() round-trips
    logic._initialize()
    return logic


def load_game(source: str | Path | bytes | Mapping[str, Any]) -> Game:
    """``Game.deserialize`` of a ``game.json`` (a path, its bytes or its parsed JSON) with :func:`parse_logic`."""
    if isinstance(source, str | Path):
        source = Path(source).read_bytes()
    data = json.loads(source) if isinstance(source, bytes) else source
    version = data.get("version", Game._SERIAL_VERSION)
    if version != Game._SERIAL_VERSION:
        raise ValueError(f"Cannot deserialize a TextWorld version {version} game, expected {Game._SERIAL_VERSION}")
    kb = KnowledgeBase(parse_logic(data["KB"]["logic"]), data["KB"]["text_grammars_path"])
    game = Game(World.deserialize(data["world"], kb=kb))
    game.grammar_options = GrammarOptions(data["grammar"])
    game.quests = tuple(Quest.deserialize(quest) for quest in data["quests"])
    game._infos = {key: EntityInfo.deserialize(value) for key, value in data["infos"]}
    game.metadata = data.get("metadata", {})
    game._objective = data.get("objective", None)
    return game

"""What the native engine's parts hand each other: facts, and one turn as it happened.

A fact is a tuple ``(predicate, *entity ids)`` of TextWorld's logic: ``("at", "P", "r_0")``,
``("in", "o_0", "c_0")``, ``("st__water__empty", "o_0")``. The engine keeps its state as bits and
hands the text side (:mod:`.describe`, :mod:`.narrate`) and the parser (:mod:`.parse`) frozensets of
such tuples; :func:`facts_of` reads the same from a TextWorld ``State``, so the text side can be
checked against the Inform 7 build without the native engine.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator
from typing import NamedTuple, TypeVar

Fact = tuple[str, ...]
Facts = frozenset[Fact]
K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


# How many states a memo keyed by a state's facts keeps: few. Their frozensets and object trees are tracked by the
# cyclic garbage collector, and kept longer they would live on into its oldest generation and make every full
# collection slower (they cost a third of a cold walk when 20,000 were kept); the engine's big memos hold only
# atoms, tuples and dicts of atoms, which it does not track.
RECENT_STATES = 64


def remember(memo: dict[K, V], key: K, value: V, limit: int) -> V:
    """Keep ``value`` under ``key`` in a memo of at most ``limit`` entries (a full memo is emptied first)."""
    if len(memo) >= limit:
        memo.clear()
    memo[key] = value
    return value


def bit_positions(bits: int) -> Iterator[int]:
    """The positions of the set bits of ``bits``, lowest first."""
    while bits:
        low = bits & -bits
        yield low.bit_length() - 1
        bits ^= low


def facts_of(state) -> Facts:  # noqa: ANN001 - a textworld.logic.State
    """The facts of a TextWorld logic state as tuples."""
    return frozenset((p.name, *(a.name for a in p.arguments)) for p in state.facts)


class Turn(NamedTuple):
    """One turn of play, from the command to the end of the world's every-turn rules.

    ``action`` is the TextWorld rule the player's command carried out (``"take/c"``, ``"open/c"``, a
    custom action's ``"dip/0"``, ``"tick__0"`` for a ``wait`` that let an every-turn rule happen) with
    ``mapping`` its variables' entity ids (``{"P": "P", "r": "r_0", "o": "o_0", "c": "c_0"}``); None when
    the command carried out no action the logic models (look, examine and inventory are actions, see
    TextWorld's rules). ``reply`` is the parser's answer to a command that did nothing (see
    :mod:`.parse`), None otherwise. A named tuple: one is built for every turn whose text is not memoised.
    """

    command: str
    action: str | None
    mapping: dict[str, str]
    before: Facts  # the facts when the command was typed
    after_action: Facts  # after the player's action (== before when there was none)
    ticks: tuple[tuple[int, Facts], ...] = ()  # every_turn rules that fired, in order, with the facts after each
    score_before: int = 0
    score: int = 0
    moves: int = 0  # the turn count after this turn
    won: bool = False
    lost: int | None = None  # index of the spec's lose condition that ended the game
    reply: str | None = None
    order: tuple[str, ...] = ()  # Inform's object-tree order after the player's action (Describer.reorder)

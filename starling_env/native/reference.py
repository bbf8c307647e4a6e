"""The Inform 7 build's side of a turn, as a :class:`~.types.Turn`: what the text side must reproduce.

:func:`reference_turn` plays one command in the reference engine (:class:`starling_env.envs.engine.Engine`)
and reads what happened from TextWorld's logic: the player's action (the valid action with that
command and the most preconditions, the one the engine follows), the facts before and after it and
after each every-turn rule that fired. It is how the text side is checked against the real game
without the native engine, and how the differential check names what the reference did.
"""

from __future__ import annotations

from ..builder.build import best_action, end_of_turn
from ..builder.logic import TICK_RULE
from ..envs.engine import Engine, clean_command
from .types import Facts, Turn, facts_of
from .world import lose_conditions


def lose_index(engine: Engine) -> int | None:
    """The first of the spec's lose conditions that holds in the engine's logic state (None if none)."""
    facts = facts_of(engine.progression.state)
    return next((i for i, when in enumerate(lose_conditions(engine.game)) if facts.issuperset(when)), None)


def reference_turn(engine: Engine, command: str) -> tuple[Turn, str]:
    """Play ``command`` in the Inform 7 engine; return the turn the logic saw and the game's text."""
    progression = engine.progression
    state = progression.state.copy()
    before = facts_of(state)
    valid = progression.valid_actions
    commands = engine.inform7.gen_commands_from_actions(valid)
    typed = clean_command(command).lower()
    action = best_action(typed, commands, valid) if typed in commands else None
    score_before, moves_before = engine.score, engine.moves
    text = engine.step(command)
    if engine.refused:  # the command never reached the game
        return Turn(
            command,
            None,
            {},
            before,
            before,
            score_before=score_before,
            score=engine.score,
            moves=engine.moves,
            reply=text,
        ), text
    if action is not None and not action.name.startswith(TICK_RULE.format("")):
        state.apply(action)
    after_action = facts_of(state)
    ticks: list[tuple[int, Facts]] = []
    if engine.moves > moves_before:  # a turn passed: the world's every-turn rules ran, in order
        end_of_turn(state, engine.game.kb, lambda index: ticks.append((index, facts_of(state))))
    mapping = {} if action is None else {p.name: v.name for p, v in action.mapping.items()}
    turn = Turn(
        command=command,
        action=None if action is None else action.name,
        mapping=mapping,
        before=before,
        after_action=after_action,
        ticks=tuple(ticks),
        score_before=score_before,
        score=engine.score,
        moves=engine.moves,
        won=engine.won,
        lost=lose_index(engine) if engine.lost else None,
    )
    return turn, text

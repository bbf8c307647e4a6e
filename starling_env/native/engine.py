"""NativeEngine: a built game played from its ground logic and its spec, without Inform 7.

The same interface and contract as :class:`starling_env.envs.engine.Engine` (the reference): the same
refusals, admissible commands, facts, score, won / lost and, word for word, the same text (checked by
:mod:`.diff`). A step is: the parser (:mod:`.parse`) maps the command to an admissible command, or to
the game's reply; the action's bits are applied; the world's every-turn rules run in order; the quests
score; the narrator (:mod:`.narrate`) tells the turn. Admissible commands and texts are memoised per
state, shared by the engines of a process that play the same game.

The memos here hold only strings, ints, tuples of those and dicts of those: CPython's cyclic garbage collector
never tracks such dicts and stops tracking such tuples at their first collection, so its full collections do
not walk the memos. With lists in them (as first written), full collections took a third of a cold walk. The
memos keyed by a state's facts (frozensets, always tracked) keep only ``RECENT_STATES`` states (see types.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ..envs.engine import (
    BLOCKED_REPLY,
    MULTI_ACTION_REPLY,
    MULTI_OBJECT_WORDS,
    Progression,
    clean_command,
    is_blocked,
    single_action,
)
from .describe import Describer
from .narrate import Narrator
from .parse import Parser
from .types import Turn, bit_positions, remember
from .world import World, load_world

MAX_MEMO = 50_000  # per game: admissible commands, texts and orders kept (a memo that fills is emptied)
# A state's admissible commands, in sorted order, each with the action it plays: a dict of atoms, which the cyclic
# garbage collector never tracks (see the module docstring).
Admissible = dict[str, int]


@dataclass(frozen=True)
class NativeSnapshot:
    """Everything needed to return a native game to an earlier moment (see ``NativeEngine.snapshot``)."""

    state: int
    met: frozenset[int]
    score: int
    moves: int
    won: bool
    lost: bool
    order: tuple[str, ...]
    resume: tuple[str, str] | None
    policy: tuple | None
    extras: tuple[tuple[str, str | None], ...]


class _Tables:
    """What a process shares between the engines of one game: the world, the text side, the memos."""

    def __init__(self, world: World):
        self.world = world
        self.describer = Describer(world.game, world.spec)
        self.narrator = Narrator(world.game, world.spec, self.describer)
        self.parser = Parser(world.game, world.spec)
        self.admissible: dict[int, Admissible] = {}
        self.texts: dict[tuple, str] = {}
        self.orders: dict[tuple, tuple[str, ...]] = {}  # (order, where things were, what moved) -> the new order
        names = {(info.name or "").lower() for info in world.game.infos.values()}
        self.odd_names = tuple(n for n in names if MULTI_OBJECT_WORDS & set(n.split()))
        # Commands of the logic that the fast path of step() may not take as given (none in practice).
        self.unsafe = frozenset(c for c in world.commands if c != clean_command(c) or is_blocked(c))
        # Actions whose turn text reads nothing of the world: memoised without what is around the player.
        self.fixed = [
            self.narrator.fixed(name, mapping) for name, mapping in zip(world.names, world.mappings, strict=True)
        ]
        readable = world.inform7.get_human_readable_fact
        self.readable = [
            None if fact[0].startswith("tag__") else str(readable(world.proposition(fact))) for fact in world.facts
        ]


class NativeEngine:
    """Plays one built game natively (see the module docstring); a drop-in for the reference Engine."""

    def __init__(
        self,
        z8: str | Path,
        *,
        track_quests: bool = False,
        extras: tuple[str, ...] = (),
        self_check: bool = False,  # the native engine's score is the logic's own: nothing to check
    ):
        self.z8 = Path(z8)
        world = load_world(self.z8)
        tables = getattr(world, "tables", None)  # the text side and memos live as long as the world's tables
        if tables is None:
            tables = world.tables = _Tables(world)
        self._t, self.world, self.game = tables, world, world.game
        self.track_quests = track_quests
        self.extras = tuple(extras)
        self.refused: str | None = None
        self.acted = False
        self.state = world.initial
        self.met: frozenset[int] = frozenset()
        self.score = self.moves = 0
        self.won = self.lost = False
        self.order: tuple[str, ...] = ()
        self.policy: tuple | None = None
        self.extra_values: dict[str, str | None] = {}
        self._progression: Progression | None = None
        self._judged: int | None = None  # the state the quests and losses were last judged in
        self._last: tuple[int, Admissible] = (-1, {})  # the last admissible lookup
        self.resume: tuple[str, str] | None = None  # the parser's open question ("Which do you mean, ...?")

    @property
    def objective(self) -> str:
        return self.world.objective

    @property
    def max_score(self) -> int:
        return self.world.max_score

    # -- play --------------------------------------------------------------------------------
    def reset(self, seed: int | None = None) -> str:
        """Start over (the game has no chance: ``seed`` changes nothing); returns the opening text."""
        world = self.world
        self.state, self.met, self.order, self.resume = world.initial, frozenset(), (), None
        self._judged = None
        self.score = self.moves = 0
        self.won = self.lost = False
        self.refused, self.acted = None, False
        if self.track_quests:  # TextWorld's own progression, slow: only for the policy
            self._progression = Progression(self.game, world.inform7, {}, track_quests=True)
            self.policy = self._progression.winning_policy
        self._update_extras()
        return self._t.describer.opening(world.decode(self.state), self.order)

    def step(self, command: str) -> str:
        """Play one command: the same refusals, effects and words as the reference Engine's step."""
        t, world = self._t, self.world
        self.refused, self.acted = None, False
        actions = self._admissible()
        typed = command
        index = actions.get(command)  # an admissible command as listed (the usual case): clean, never refused
        reply, takes_turn = None, True
        if index is None or command in t.unsafe:
            command = clean_command(command)
            if is_blocked(command):
                self.refused = "meta"
                return BLOCKED_REPLY
            typed = command.lower()
            index = actions.get(typed)
        resume, self.resume = self.resume, None  # a question of the game is answered by the next command or dropped
        if index is None:
            clause = single_action(command, t.odd_names)
            if clause is None:
                self.refused = "multi-action"
                return MULTI_ACTION_REPLY
            parsed = t.parser.parse(
                clause.lower(), world.decode(self.state), actions, self.order, None, resume, self.score, self.moves
            )
            self.resume = parsed.resume
            if parsed.command is not None and parsed.command in actions:
                index = actions[parsed.command]
            else:
                reply, takes_turn = parsed.reply or "", parsed.takes_turn
                if reply == MULTI_ACTION_REPLY:
                    self.refused = "untracked"
                    return reply
        before, score_before = self.state, self.score
        state, applied = before, []
        if index is not None:
            self.acted = True
            if not world.is_tick[index]:  # "wait": only time passes
                state = (state & ~world.delete[index]) | world.add[index]
                applied.append((index, state))
        after_action = state
        decode = world.decode
        order = self.order  # Inform lists things most recently moved first: the order changes when things move
        if (before ^ after_action) & world.things_held:
            order = self._reorder(order, before, after_action)
        ticks = []
        lost_index = None
        if takes_turn:
            self.moves += 1
            for tick, candidates in world.ticks:
                for i in candidates:
                    if state & world.pre[i] == world.pre[i]:
                        state = (state & ~world.delete[i]) | world.add[i]
                        ticks.append((tick, state))
                        applied.append((i, state))
                        break
            # The quests and losses are judged again only when a fact they read changed (or a quest repeats).
            if self._judged is None or world.rejudge or (self._judged ^ state) & world.judged or self.lost:
                self._judged = state
                self._score(state)
                lost_index = self._lost_index(state)
        self.state = state
        before_order, self.order = self.order, order
        previous = after_action
        for _, bits in ticks:  # rule by rule: what the later of two rules moved is listed first
            if (previous ^ bits) & world.things_held:
                self.order = self._reorder(self.order, previous, bits)
            previous = bits
        self.lost = lost_index is not None or self.lost
        self.won = takes_turn and not self.lost and bool(world.required) and world.required <= self.met
        if self.track_quests:
            self._update_quests(applied)
        # The text depends on what is around the player before and after the action, not on the rest of the world;
        # a parser reply or a fixed report on nothing of it.
        ticked = tuple(tick for tick, _ in ticks)
        if index is None or t.fixed[index]:
            key: tuple = (index, typed, reply, ticked, self.score - score_before)
        else:
            local = world.local
            key = (
                before & local.get(world.room_of(before) or "", -1),
                index,
                typed,  # what the player typed can show ("take billy": Inform says which it took from where)
                after_action & local.get(world.room_of(after_action) or "", -1),
                ticked,
                self.score - score_before,
                before_order,
            )
        text = None if self.won or self.lost else t.texts.get(key)
        if text is None:
            turn = Turn(
                command=command,
                action=None if index is None else world.names[index],
                mapping={} if index is None else world.mappings[index],
                before=decode(before),
                after_action=decode(after_action),
                ticks=tuple((tick, decode(s)) for tick, s in ticks),
                score_before=score_before,
                score=self.score,
                moves=self.moves,
                won=self.won,
                lost=lost_index,
                reply=reply,
                order=order,
            )
            text = t.narrator.turn(turn)
            if not (self.won or self.lost):
                remember(t.texts, key, text, MAX_MEMO)
        self._update_extras()
        return text

    def _reorder(self, order: tuple[str, ...], before: int, after: int) -> tuple[str, ...]:
        """The object-tree order once the state went from ``before`` to ``after`` (see Describer.reorder)."""
        world, memo = self.world, self._t.orders
        moved = (before ^ after) & world.holding
        key = (order, before & world.holding, moved)  # the new order reads nothing but these
        found = memo.get(key)
        if found is None:
            found = self._t.describer.reorder_changes(
                order, world.facts_of(moved & before), world.facts_of(moved & after), world.decode(after)
            )
            remember(memo, key, found, MAX_MEMO)
        return found

    def _admissible(self) -> Admissible:
        """The state's sorted admissible commands and, for each, the action it plays.

        Memoised by the room and the state's facts that the room's actions read (things elsewhere do not count).
        """
        world, state, memo = self.world, self.state, self._t.admissible
        if state == self._last[0]:  # asked again in the same state (the env's info after a step)
            return self._last[1]
        room = world.room_of(state)
        relevant = world.relevant[room] if room else -1
        key = state & relevant
        found = memo.get(key)
        if found is None:
            found = remember(memo, key, self._applicable(room or "", state, relevant), MAX_MEMO)
        self._last = (state, found)
        return found

    def _applicable(self, room: str, state: int, relevant: int) -> Admissible:
        """The room's commands that apply in ``state``, each with the action it plays. From the last state looked
        up when it was in the same room and differs in a few of the ``relevant`` facts (those the room's actions
        read): only the commands that read those facts are checked again."""
        world = self.world
        choices = world.choices[room]
        last, last_best = self._last
        changed = (state ^ last) & relevant
        positions: Iterable[int]
        incremental = last >= 0 and world.room_of(last) == (room or None) and changed.bit_count() <= 8
        if incremental:
            best, readers = dict(last_best), world.readers[room]
            positions = {p for bit in bit_positions(changed) for p in readers.get(bit, ())}
        else:  # every command, in the sorted order of ``choices``: so ``best`` is sorted
            best, positions = {}, range(len(choices))
        added = False  # a command joined ``best`` in the incremental case (updates and removals keep its order)
        for position in positions:
            command, common, candidates = choices[position]
            for pre, i in candidates if state & common == common else ():
                if state & pre == pre:
                    added = added or (incremental and command not in best)
                    best[command] = i
                    break
            else:
                best.pop(command, None)
        return dict(sorted(best.items())) if added else best

    def _score(self, state: int) -> None:
        """TextWorld's quest rules at the end of a turn: a quest whose condition holds scores (once)."""
        for i, goal in enumerate(self.world.goals):
            if i in self.met and not goal.repeatable:
                continue
            if any(state & m == m for m in goal.masks):
                self.score += goal.reward
                if not goal.repeatable:
                    self.met = self.met | {i}

    def _lost_index(self, state: int) -> int | None:
        for i, mask in enumerate(self.world.losses):
            if state & mask == mask:
                return i
        for goal in self.world.goals:
            if any(state & m == m for m in goal.fail_masks):
                return -1
        return None

    def _update_quests(self, applied: list[tuple[int, int]]) -> None:
        """TextWorld's quest tracking (for the winning policy), action by action as the reference follows them."""
        assert self._progression is not None, "reset() starts the quest tracking"
        for i, _ in applied:
            self._progression.update(self.world.actions[i])
        self.policy = self._progression.winning_policy

    def _update_extras(self) -> None:
        if not self.extras:
            return
        facts = self.world.decode(self.state)
        for extra in self.extras:
            describe = self._t.describer.look if extra == "description" else self._t.describer.inventory
            self.extra_values[extra] = describe(facts, self.order)

    # -- what the logic knows ----------------------------------------------------------------
    def admissible_commands(self) -> list[str]:
        return list(self._admissible())

    def facts(self) -> list[str]:
        """The facts, readable as the reference engine gives them (internal tag__ facts left out)."""
        readable, state, out, i = self._t.readable, self.state, [], 0
        while state:
            text = readable[i]
            if state & 1 and text is not None:
                out.append(text)
            state >>= 1
            i += 1
        return sorted(out)

    def location(self) -> str | None:
        room = self.world.room_of(self.state)
        return None if room is None else self.game.infos[room].name

    def policy_commands(self) -> list[str]:
        if self.policy is None:
            return []
        return self.world.inform7.gen_commands_from_actions(self.policy)

    # -- branching ----------------------------------------------------------------------------
    def snapshot(self) -> NativeSnapshot:
        return NativeSnapshot(
            self.state,
            self.met,
            self.score,
            self.moves,
            self.won,
            self.lost,
            self.order,
            self.resume,
            self.policy,
            tuple(self.extra_values.items()),
        )

    def restore(self, snap: NativeSnapshot) -> None:
        self.state, self.met, self.score, self.moves = snap.state, snap.met, snap.score, snap.moves
        self.won, self.lost, self.order, self.policy = snap.won, snap.lost, snap.order, snap.policy
        self.resume = snap.resume
        self.extra_values = dict(snap.extras)
        self._judged = None  # judged in another branch maybe: the quests and losses are judged afresh

    def close(self) -> None:
        pass

"""A built game's logic, ground once: every action as bit masks over the game's facts.

TextWorld's logic unifies every rule against the state's facts at each step (about 240 us). Here each
rule is ground at load against the facts any play could reach (relaxed reachability: deletions
ignored, grown to a fixed point with TextWorld's own unifier, so the actions are exactly TextWorld's),
a state is one int whose bits are facts, and an action is applicable when its precondition bits are
all set. Actions are indexed by the room the player must be in, so a step tests only those of the
player's room. One :class:`World` per game and process, shared by every engine that plays it.
"""

from __future__ import annotations

import hashlib
import operator
from collections import OrderedDict
from dataclasses import dataclass
from functools import reduce
from pathlib import Path

from textworld.generator.game import Game
from textworld.generator.inform7 import Inform7Game
from textworld.logic import Proposition, Variable

from ..builder.logic import TICK_RULE
from ..game_cache import cached
from ..game_json import load_game
from ..spec import GameSpec
from .types import RECENT_STATES, Fact, Facts, bit_positions, remember

# Games whose tables a process keeps (least recently opened dropped first). A world is 1-4 MB when loaded
# (tracemalloc, STARLING-100 v2); its memos, each emptied when full, take up to about 100 MB more on the largest
# shipped game after 100,000 random steps, which is what bounds this number.
MAX_WORLDS = 32
_worlds: OrderedDict[str, World] = OrderedDict()


def fact_of(prop: Proposition) -> Fact:
    return (prop.name, *(a.name for a in prop.arguments))


def lose_conditions(game: Game) -> list[list[Fact]]:
    """The spec's lose conditions as the build records them (facts that all hold when the game is lost)."""
    losses = game.metadata.get("starling", {}).get("lose", [])
    return [[(p["name"], *(a["name"] for a in p["arguments"])) for p in props] for props in losses]


@dataclass(frozen=True)
class Goal:
    """A quest of the game: met when any of its conditions holds at the end of a turn (``mask`` bits set)."""

    masks: tuple[int, ...]
    fail_masks: tuple[int, ...]
    reward: int
    optional: bool
    repeatable: bool


class World:
    """The ground logic of one game (see the module docstring). Immutable once built."""

    def __init__(self, game: Game, spec: GameSpec):
        self.game, self.spec = game, spec
        self.tables: object | None = None  # what the engines of this process add (see native.engine._Tables)
        self.inform7 = Inform7Game(game)
        kb = game.kb
        rules = list(kb.rules.values())
        constants = kb.types.constants_mapping
        initial = frozenset(game.world.state.facts)
        actions = _ground(kb.logic, rules, constants, initial)
        # Bits: every fact the actions read or write, and the initial ones.
        props = sorted({p for a in actions for p in (*a.preconditions, *a.postconditions)} | initial, key=str)
        self.facts: list[Fact] = [fact_of(p) for p in props]
        self._props = dict(zip(self.facts, props, strict=True))
        self.bit: dict[Fact, int] = {f: 1 << i for i, f in enumerate(self.facts)}
        self._bytes = (len(self.facts) + 7) // 8
        self._byte_facts: dict[int, tuple[Fact, ...]] = {}
        self._decoded: dict[int, Facts] = {}  # state -> its facts
        self._last_decoded: tuple[int, Facts] = (0, frozenset())
        self.initial = self.mask(fact_of(p) for p in initial)

        # The actions, in TextWorld's canonical order (sorted by text, as the reference engine keeps them).
        actions.sort(key=str)
        self.actions = actions  # TextWorld's Action objects (quest tracking, policies)
        commands = self.inform7.gen_commands_from_actions(actions)
        self.names = [a.name for a in actions]
        self.mappings = [{p.name: v.name for p, v in a.mapping.items()} for a in actions]
        self.commands = [c.lower() for c in commands]
        self.pre = [self.mask(fact_of(p) for p in a.preconditions) for a in actions]
        self.add = [self.mask(fact_of(p) for p in a.added) for a in actions]
        self.delete = [self.mask(fact_of(p) for p in a.removed) for a in actions]
        self.n_pre = [len(a.preconditions) for a in actions]
        # Actions by the room the player must be in ("" for none); ticks apart, in rule order.
        self.by_room: dict[str, list[int]] = {}
        self.anywhere: list[int] = []
        ticks: dict[int, list[int]] = {}
        self.is_tick = [a.name.startswith(TICK_RULE.format("")) for a in actions]  # every-turn rules ("wait" too)
        for i, action in enumerate(actions):
            if self.is_tick[i]:
                ticks.setdefault(int(action.name.rsplit("__", 1)[1]), []).append(i)
            room = next(
                (p.arguments[1].name for p in action.preconditions if p.name == "at" and p.arguments[0].name == "P"),
                None,
            )
            (self.by_room.setdefault(room, []) if room else self.anywhere).append(i)
        self.ticks: list[tuple[int, list[int]]] = sorted(ticks.items())
        # Per room, the facts its actions (and those possible anywhere) read; the player's place is one of them.
        anywhere = 0
        for i in self.anywhere:
            anywhere |= self.pre[i]
        self.relevant: dict[str, int] = {}
        for room, indices in self.by_room.items():
            mask = anywhere
            for i in indices:
                mask |= self.pre[i]
            self.relevant[room] = mask
        # Per room ("" for none), the commands its actions (and those possible anywhere) can list, sorted, each with
        # the facts all its actions need (0 for one action: a quick no when they do not hold) and its actions in the
        # order the reference prefers them: most preconditions, then the first in text order.
        self.choices: dict[str, list[tuple[str, int, tuple[tuple[int, int], ...]]]] = {}
        for room in ("", *self.by_room):
            by_command: dict[str, list[int]] = {}
            for i in (*self.by_room.get(room, ()), *self.anywhere):
                by_command.setdefault(self.commands[i], []).append(i)
            self.choices[room] = [
                (
                    c,
                    reduce(operator.and_, (self.pre[i] for i in indices)) if len(indices) > 1 else 0,
                    tuple((self.pre[i], i) for i in sorted(indices, key=lambda i: (-self.n_pre[i], i))),
                )
                for c, indices in sorted(by_command.items())
            ]
        # Per room, per fact (bit position): the positions in choices[room] of the commands whose actions read it.
        self.readers: dict[str, dict[int, tuple[int, ...]]] = {}
        for room, choices in self.choices.items():
            readers: dict[int, list[int]] = {}
            for position, (_, _, candidates) in enumerate(choices):
                read = 0
                for pre, _ in candidates:
                    read |= pre
                for bit in bit_positions(read):
                    readers.setdefault(bit, []).append(position)
            self.readers[room] = {bit: tuple(positions) for bit, positions in readers.items()}
        self.holding = self.mask(f for f in self.facts if f[0] in ("in", "on", "at", "worn"))  # where things are
        self.things_held = self.holding & ~self.mask(f for f in self.facts if f[:2] == ("at", "P"))  # the player aside
        self.local = self._local_masks(initial={fact_of(p) for p in initial})
        self.player_rooms = {self.bit[("at", "P", r)]: r for r in self.by_room if ("at", "P", r) in self.bit}
        self.player_at = sum(self.player_rooms)  # the bits of the player's places: one of them is set
        self.goals = [
            Goal(
                masks=tuple(self.mask(fact_of(p) for p in e.condition.preconditions) for e in q.win_events),
                fail_masks=tuple(self.mask(fact_of(p) for p in e.condition.preconditions) for e in q.fail_events),
                reward=int(q.reward or 0),
                optional=bool(q.optional),
                repeatable=bool(q.repeatable),
            )
            for q in game.quests
        ]
        self.required = frozenset(i for i, g in enumerate(self.goals) if not g.optional)
        self.losses = [self.mask(when) for when in lose_conditions(game)]
        self.judged = 0  # the facts the quests and losses read
        for mask in (*(m for g in self.goals for m in (*g.masks, *g.fail_masks)), *self.losses):
            self.judged |= mask
        self.rejudge = any(g.repeatable for g in self.goals)  # a repeatable quest scores every turn it holds
        self.max_score = int(game.max_score)
        self.objective = game.objective
        self.walkthrough: list[str] = list(game.metadata.get("walkthrough") or spec.walkthrough)

    def _local_masks(self, initial: set[Fact]) -> dict[str, int]:
        """Per room, the facts a turn's text there can depend on: all but those about other rooms' things.

        Left out: where things lie in another room (``at(x, r2)``), what is in or on a holder that never
        leaves another room, and the facts of things that never leave another room. Doors count everywhere.
        """
        deleted = 0
        for mask in self.delete:
            deleted |= mask
        rooms = {f[2] for f in self.facts if f[0] == "at" and f[2].startswith("r_")}
        fixed = {f[1]: f[2] for f in initial if f[0] == "at" and f[2] in rooms and not self.bit[f] & deleted}
        local = {}
        for room in rooms:
            mask = 0
            for fact, bit in self.bit.items():
                if fact[0] == "at" and fact[2] in rooms:
                    elsewhere = fact[2] != room
                elif fact[0] in ("in", "on") and len(fact) == 3:
                    elsewhere = fixed.get(fact[2], room) != room
                else:
                    things = [a for a in fact[1:] if a not in rooms and a not in ("P", "I")]
                    elsewhere = bool(things) and all(fixed.get(a, room) != room for a in things)
                if not elsewhere or any(a.startswith("d_") for a in fact[1:]):
                    mask |= bit
            local[room] = mask
        return local

    def mask(self, facts) -> int:  # noqa: ANN001 - an iterable of Fact
        """The bits of ``facts`` (a fact the game can never hold is left out: it can never be true)."""
        bits = 0
        for fact in facts:
            bits |= self.bit.get(fact, 0)
        return bits

    def proposition(self, fact: Fact) -> Proposition:
        return self._props[fact]

    def decode(self, state: int) -> Facts:
        """The facts of a state (memoised): those of the last state decoded, changed by the bits that differ."""
        found = self._decoded.get(state)
        if found is None:
            last, last_facts = self._last_decoded
            found = remember(self._decoded, state, last_facts ^ self.facts_of(state ^ last), RECENT_STATES)
        self._last_decoded = (state, found)
        return found

    def facts_of(self, bits: int) -> Facts:
        """The facts of ``bits`` (not memoised): bit by bit when they are few (what a turn changes), else byte by
        byte through a table of each byte's facts."""
        if bits.bit_count() <= 8:
            return frozenset(self.facts[i] for i in bit_positions(bits))
        facts: list[Fact] = []
        table = self._byte_facts
        for position, value in enumerate(bits.to_bytes(self._bytes, "little")):
            if value:
                key = position << 8 | value
                found = table.get(key)
                if found is None:
                    found = table[key] = tuple(self.facts[position * 8 + b] for b in range(8) if value >> b & 1)
                facts.extend(found)
        return frozenset(facts)

    def room_of(self, state: int) -> str | None:
        return self.player_rooms.get(state & self.player_at)


def _ground(logic, rules: list, constants: dict, initial: frozenset[Proposition]) -> list:  # noqa: ANN001
    """Every action of ``rules`` whose preconditions some play could satisfy (the relaxed fixed point).

    The same assignments as TextWorld's ``State.all_applicable_actions`` (typed by subtype, one variable
    per placeholder, the constants P and I bound), found by a semi-naive join over plain strings: each
    round joins only the instantiations that use a fact the previous round added.
    """
    variables: dict[str, Variable] = {}
    subtype: dict[tuple[str, str], bool] = {}

    def fits(var: str, ph_type: str) -> bool:
        key = (variables[var].type, ph_type)
        if key not in subtype:
            subtype[key] = logic.types.get(key[0]).is_subtype_of(logic.types.get(ph_type))
        return subtype[key]

    by_name: dict[str, set[tuple[str, ...]]] = {}  # predicate -> argument tuples
    by_arg: dict[tuple[str, int, str], list[tuple[str, ...]]] = {}  # (predicate, position, variable) -> tuples

    def add(prop: Proposition) -> bool:
        for var in prop.arguments:
            variables.setdefault(var.name, var)
        args = tuple(v.name for v in prop.arguments)
        known = by_name.setdefault(prop.name, set())
        if args in known:
            return False
        known.add(args)
        for position, var in enumerate(args):
            by_arg.setdefault((prop.name, position, var), []).append(args)
        return True

    delta: dict[str, set[tuple[str, ...]]] = {}
    for prop in initial:
        add(prop)
    delta = {name: set(args) for name, args in by_name.items()}
    used = {v.name for v in constants.values()}
    for var in constants.values():
        variables.setdefault(var.name, var)
    seen: dict[tuple, object] = {}
    while delta:
        grown: dict[str, set[tuple[str, ...]]] = {}
        for rule in rules:
            pres = [(p.name, tuple((ph.name, ph.type) for ph in p.parameters)) for p in rule.preconditions]
            names = [ph.name for ph in rule.placeholders]
            bindable = {ph for _, params in pres for ph, _ in params} | {ph.name for ph in constants}
            if not bindable.issuperset(names):  # TextWorld would range it over every variable: not in our rules
                raise ValueError(f"rule {rule.name} has a placeholder that no precondition binds")
            bound = {ph.name: v.name for ph, v in constants.items() if ph in rule.placeholders}
            for first, (name, _) in enumerate(pres):
                if name not in delta:
                    continue
                for mapping in _join(pres, first, delta[name], bound, used, by_name, by_arg, fits):
                    key = (rule.name, *(mapping[n] for n in names))
                    if key in seen:
                        continue
                    action = rule.instantiate({ph: variables[mapping[ph.name]] for ph in rule.placeholders})
                    seen[key] = action
                    for prop in action.postconditions:
                        if add(prop):
                            grown.setdefault(prop.name, set()).add(tuple(v.name for v in prop.arguments))
        delta = grown
    return list(seen.values())


def _join(pres, first, seeds, bound, used, by_name, by_arg, fits):  # noqa: ANN001, ANN202
    """Assignments of the preconditions ``pres`` with ``pres[first]`` drawn from ``seeds``, the rest from all facts."""
    mapping, taken = dict(bound), set(used)

    def bind(params, args) -> list[str] | None:  # noqa: ANN001
        added: list[str] = []
        for (ph, ph_type), var in zip(params, args, strict=True):
            have = mapping.get(ph)
            if have is None:
                if var in taken or not fits(var, ph_type):
                    for a in added:
                        taken.discard(mapping.pop(a))
                    return None
                mapping[ph] = var
                taken.add(var)
                added.append(ph)
            elif have != var:
                for a in added:
                    taken.discard(mapping.pop(a))
                return None
        return added

    def rest(todo):  # noqa: ANN001, ANN202
        if not todo:
            yield dict(mapping)
            return
        # The precondition with the most placeholders bound, then the fewest candidate facts.
        name, params = min(todo, key=lambda p: (-sum(ph in mapping for ph, _ in p[1]), len(by_name.get(p[0], ()))))
        others = [p for p in todo if p[1] is not params or p[0] != name]
        candidates = by_name.get(name, ())
        for position, (ph, _) in enumerate(params):
            if ph in mapping:
                candidates = by_arg.get((name, position, mapping[ph]), ())
                break
        yield from each(params, candidates, others)

    def each(params, candidates, todo):  # noqa: ANN001, ANN202
        """Bind ``params`` to each of ``candidates`` in turn and join the preconditions left."""
        for args in list(candidates):
            added = bind(params, args)
            if added is not None:
                yield from rest(todo)
                for a in added:
                    taken.discard(mapping.pop(a))

    name, params = pres[first]
    yield from each(params, seeds, pres[:first] + pres[first + 1 :])


def load_world(game_dir: str | Path) -> World:
    """The tables of the game in ``game_dir`` (game.json and spec.json), built once per process."""
    game_dir = Path(game_dir)
    if game_dir.suffix in (".z8", ".json"):
        game_dir = game_dir.parent
    game_json = (game_dir / "game.json").read_bytes()
    spec_file = game_dir / "spec.json"
    if not spec_file.exists():
        raise FileNotFoundError(
            f"{game_dir} has no spec.json: the native engine plays a game from its spec (`starling build` writes one)"
        )
    spec = spec_file.read_bytes()
    key = hashlib.blake2b(game_json + spec, digest_size=16).hexdigest()
    world = _worlds.pop(key, None)
    if world is None:  # built once per user (the disk cache), then kept in the process
        world = cached("native-world", game_json + spec, lambda: World(load_game(game_json), GameSpec.load(spec_file)))
    _worlds[key] = world
    while len(_worlds) > MAX_WORLDS:
        _worlds.popitem(last=False)
    return world

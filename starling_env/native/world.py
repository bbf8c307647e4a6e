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
import json
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from textworld.generator.game import Game
from textworld.generator.inform7 import Inform7Game
from textworld.logic import Proposition, State

from ..builder.logic import TICK_RULE
from ..spec import GameSpec
from .types import Fact, Facts

MAX_WORLDS = 16  # games whose tables a process keeps (least recently opened dropped first)
_worlds: OrderedDict[str, World] = OrderedDict()


def fact_of(prop: Proposition) -> Fact:
    return (prop.name, *(a.name for a in prop.arguments))


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
        self._byte_facts: dict[int, tuple[Fact, ...]] = {}  # (byte position << 8 | byte value) -> its facts
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
        for i, action in enumerate(actions):
            if action.name.startswith(TICK_RULE.format("")):
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
        self.player_rooms = {self.bit[("at", "P", r)]: r for r in self.by_room if ("at", "P", r) in self.bit}
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
        losses = game.metadata.get("starling", {}).get("lose", [])
        self.losses = [self.mask((p["name"], *(a["name"] for a in p["arguments"])) for p in props) for props in losses]
        self.max_score = int(game.max_score)
        self.objective = game.objective
        self.walkthrough: list[str] = list(game.metadata.get("walkthrough") or spec.walkthrough)

    def mask(self, facts) -> int:  # noqa: ANN001 - an iterable of Fact
        """The bits of ``facts`` (a fact the game can never hold is left out: it can never be true)."""
        bits = 0
        for fact in facts:
            bits |= self.bit.get(fact, 0)
        return bits

    def proposition(self, fact: Fact) -> Proposition:
        return self._props[fact]

    def decode(self, state: int) -> Facts:
        """The facts of a state (byte by byte, through a table of each byte's facts)."""
        facts: list[Fact] = []
        table = self._byte_facts
        for position, value in enumerate(state.to_bytes(self._bytes, "little")):
            if value:
                key = position << 8 | value
                found = table.get(key)
                if found is None:
                    found = table[key] = tuple(self.facts[position * 8 + b] for b in range(8) if value >> b & 1)
                facts.extend(found)
        return frozenset(facts)

    def room_of(self, state: int) -> str | None:
        for bit, room in self.player_rooms.items():
            if state & bit:
                return room
        return None


def _ground(logic, rules: list, constants: dict, initial: frozenset[Proposition]) -> list:  # noqa: ANN001
    """Every action of ``rules`` whose preconditions some play could satisfy (the relaxed fixed point).

    The same assignments as TextWorld's ``State.all_applicable_actions`` (typed by subtype, one variable
    per placeholder, the constants P and I bound), joined most-bound precondition first.
    """
    facts = set(initial)
    by_name: dict[str, set[tuple]] = {}  # predicate -> argument tuples
    by_arg: dict[tuple, list[tuple]] = {}  # (predicate, position, variable) -> argument tuples

    def index(prop: Proposition) -> None:
        by_name.setdefault(prop.name, set()).add(prop.arguments)
        for position, var in enumerate(prop.arguments):
            by_arg.setdefault((prop.name, position, var), []).append(prop.arguments)

    for prop in facts:
        index(prop)
    subtype: dict[tuple[str, str], bool] = {}

    def fits(var, ph) -> bool:  # noqa: ANN001
        key = (var.type, ph.type)
        if key not in subtype:
            subtype[key] = logic.types.get(var.type).is_subtype_of(logic.types.get(ph.type))
        return subtype[key]

    seen: dict[tuple, object] = {}
    while True:
        grown: list[Proposition] = []
        for rule in rules:
            for key, action in _instantiate(
                rule, constants, (by_name, by_arg), fits, lambda: State(logic, facts), seen
            ):
                seen[key] = action
                grown.extend(p for p in action.postconditions if p not in facts)
        if not grown:
            return list(seen.values())
        for prop in grown:
            if prop not in facts:
                facts.add(prop)
                index(prop)


def _instantiate(rule, constants: dict, indexes: tuple, fits, state, seen: dict):  # noqa: ANN001, ANN202
    """The new actions of one rule over the indexed facts (see ``_ground``), keyed by rule and variables."""
    by_name, by_arg = indexes
    bound = {ph: constants[ph] for ph in rule.placeholders if ph in constants}
    if any(ph not in bound and not any(ph in p.parameters for p in rule.preconditions) for ph in rule.placeholders):
        for action in state().all_instantiations(rule, constants):  # a free placeholder: TextWorld's own unifier
            if (rule.name, str(action)) not in seen:
                yield (rule.name, str(action)), action
        return
    used = set(constants.values())
    todo = list(rule.preconditions)

    def join(mapping: dict, todo: list):  # noqa: ANN202
        if not todo:
            key = (rule.name, *(mapping[ph].name for ph in rule.placeholders))
            if key not in seen:
                yield key, rule.instantiate(dict(mapping))  # a copy: the join goes on changing its own
            return
        # The precondition with the most placeholders bound, then the fewest candidate facts.
        pred = min(todo, key=lambda p: (-sum(ph in mapping for ph in p.parameters), len(by_name.get(p.name, ()))))
        rest = [p for p in todo if p is not pred]
        candidates = by_name.get(pred.name, ())
        for position, ph in enumerate(pred.parameters):
            if ph in mapping:
                candidates = by_arg.get((pred.name, position, mapping[ph]), ())
                break
        for args in candidates:
            added = []
            for ph, var in zip(pred.parameters, args, strict=True):
                have = mapping.get(ph)
                if have is None:
                    if var in used or not fits(var, ph):
                        break
                    mapping[ph] = var
                    used.add(var)
                    added.append(ph)
                elif have != var:
                    break
            else:
                yield from join(mapping, rest)
            for ph in added:
                used.discard(mapping.pop(ph))

    yield from join(dict(bound), todo)


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
    key = hashlib.blake2b(game_json + spec_file.read_bytes(), digest_size=16).hexdigest()
    world = _worlds.pop(key, None)
    if world is None:
        world = World(Game.deserialize(json.loads(game_json)), GameSpec.load(spec_file))
    _worlds[key] = world
    while len(_worlds) > MAX_WORLDS:
        _worlds.popitem(last=False)
    return world

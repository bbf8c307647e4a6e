"""What the Inform 7 build prints when it describes the world: look, examine, inventory and the opening.

The words come from TextWorld's Inform 7 generator (room heading, "There is ... on the floor.", the inventory
rule), the knowledge base's snippets (``kb_static/presentation.twl``: furniture and exits;
``room_listing.twl``, spec 1.1 only: floor, "A sink is here.", doors; ``parts.twl``: parts), the game's
generated rules (state descriptions "After examining") and Inform 7's Standard Rules and list writer
(examining containers, supporters and devices, "(empty)", "(being worn)", "containing").

Inform lists the things in a holder in its object tree's order: the things moved there since the start, most
recently moved first, then the others in the order the story file created them. The logic's facts do not
say which moved last, so the methods that list things take ``order``, the entity ids that moved, most
recent first; :meth:`Describer.reorder` keeps it from turn to turn (wearing and taking off move nothing).
Without it, every holder lists its things in the initial order.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from textworld.generator.game import Game

from ..builder.logic import entity_table, state_atom
from ..spec import Fact, GameSpec
from ..spec.model import Variant
from .types import RECENT_STATES, Facts, remember

DIRECTIONS = ("north", "south", "east", "west")  # in Inform's order of directions (the Standard Rules')
PORTABLE = frozenset({"o", "wr", "k", "f", "pc"})  # the kinds Inform lets the player carry
CONTAINERS = frozenset({"c", "pc", "pt"})
HOLDING = frozenset({"in", "on", "at"})  # with "worn": the facts that place a thing in Inform's object tree
HERE = "$here"  # the player's room, in a compiled condition
# Where things are: the player's room, per holder the things in or on it, per thing its holder. A tree holds dicts,
# which the cyclic garbage collector tracks, so its memo keeps only RECENT_STATES trees; its lists are tuples, which
# let a full collection stop tracking the dicts of the trees that live that long.
Tree = tuple[str, dict[str, tuple[str, ...]], dict[str, str]]
Condition = tuple[tuple[str, ...], ...]  # facts that must all hold
Texts = tuple[tuple[Condition, str], ...]  # (condition, text): the first whose condition holds is printed
_QUOTE = re.compile(r"(?<![A-Za-z])'|'(?![A-Za-z])")
LITERAL_CHARS = 200  # TextWorld cuts the objective into Inform 7 literals this long (split_string)


def inform_text(text: str) -> str:
    """Spec text as one Inform 7 literal prints it: an apostrophe not between two letters is a double quote
    ("the cooks' kitchen" -> 'the cooks" kitchen', "'hello'" -> '"hello"'; "it's" stays)."""
    return _QUOTE.sub('"', text) if "'" in text else text


def objective_text(text: str) -> str:
    """The objective as the game prints it: TextWorld's literals of LITERAL_CHARS per line (an empty line
    is lost), each read as :func:`inform_text`."""
    lines = (line for line in text.split("\n") if line)
    return "\n".join(
        "".join(inform_text(line[i : i + LITERAL_CHARS]) for i in range(0, len(line), LITERAL_CHARS)) for line in lines
    )


@dataclass(frozen=True)
class _Thing:
    """What the describer knows of one thing (or door), computed once."""

    kind: str  # TextWorld type: o, c, pc, pt, s, dv, t, an, wr, k, f, d
    a: str  # [a X]: "a billy can", "an old rucksack", "some penne", "a pair of wellies"
    cap_a: str  # [A X]
    the: str  # [the X]
    cap_the: str  # [The X]
    plural: bool
    description: str  # the usual text ("" when there is none)
    variants: Texts  # texts for states, instead of the usual one
    states: tuple[tuple[str, str], ...]  # (state predicate, text) of its "After examining X when X is v" rules
    parts: tuple[str, ...]  # what is part of it, in creation order
    whole: str | None  # what it is part of

    @property
    def portable(self) -> bool:
        return self.kind in PORTABLE

    @property
    def container(self) -> bool:
        return self.kind in CONTAINERS

    @property
    def is_are(self) -> str:
        return "are" if self.plural else "is"


class Describer:
    """The texts of look, examine, inventory and the opening of one game, from the logic's facts."""

    def __init__(self, game: Game, spec: GameSpec) -> None:
        self.v11 = spec.spec_version != "1.0"  # room_listing.twl is in spec 1.1 games only
        self.objective = objective_text(game.objective or "")
        table = entity_table(spec)
        self.tw_id = {spec_id: e.tw_id for spec_id, e in table.items()}
        # The order Inform created things in, which its initial object tree keeps (types in the knowledge
        # base's order, as TextWorld declares them).
        created = [e.id for t in game.kb.types if t not in ("P", "I", "r") for e in game.world.get_entities_per_type(t)]
        self.rank = {e: i for i, e in enumerate(created)}
        wholes = {e.tw_id: self.tw_id[e.whole] for e in table.values() if e.whole}
        parts: dict[str, list[str]] = {}
        for part in sorted(wholes, key=self.rank.__getitem__):
            parts.setdefault(wholes[part], []).append(part)
        objects = {self.tw_id[o.id]: o for o in spec.objects}
        doors = {self.tw_id[d.id]: d for d in spec.doors}
        self.things: dict[str, _Thing] = {}
        for eid in created:
            info, obj, door = game.infos[eid], objects.get(eid), doors.get(eid)
            name = info.name or eid
            plural = bool(obj and obj.plural)
            article = info.indefinite or ("some" if plural else "an" if name[:1].lower() in "aeiou" else "a")
            self.things[eid] = _Thing(
                kind=info.type,
                a=f"{article} {name}",
                cap_a=f"{article[:1].upper()}{article[1:]} {name}",
                the=f"the {name}",
                cap_the=f"The {name}",
                plural=plural,
                description=inform_text(obj.description if obj else door.description if door else info.desc or ""),
                variants=self._texts(obj.variants) if obj else (),
                states=tuple(
                    (state_atom(state, value), inform_text(text))
                    for state, var in (obj.states.items() if obj else ())
                    for value, text in var.describe.items()
                ),
                parts=tuple(parts.get(eid, ())),
                whole=wholes.get(eid),
            )
        # Rooms: heading, text and its variants; the map (exits, doors in Inform's order), which never changes.
        self.rooms: dict[str, tuple[str, str, Texts]] = {}
        for room in spec.rooms:
            rid = self.tw_id[room.id]
            heading = f"-= {str.title(game.infos[rid].name or rid)} =-"
            self.rooms[rid] = (heading, inform_text(room.description), self._texts(room.variants))
        self.exits = {r.id: tuple(d for d in DIRECTIONS if d in r.exits) for r in game.world.rooms}
        self.doors = {r.id: tuple((d, r.doors[d].id) for d in DIRECTIONS if d in r.doors) for r in game.world.rooms}
        self._indexed: dict[Facts, Tree] = {}  # memo of _index
        self._last_index: tuple[Facts, Tree] = (
            frozenset(),
            ("", {}, {}),
        )
        self._recent: tuple[Sequence[str], dict[str, int]] = ((), {})

    # -- conditions of texts that follow the state ---------------------------------------------------
    def _texts(self, variants: Iterable[Variant]) -> Texts:
        return tuple((tuple(self._fact(Fact.parse(t)) for t in v.when), inform_text(v.text)) for v in variants)

    def _fact(self, fact: Fact) -> tuple[str, ...]:
        """The logic fact that holds exactly when Inform's reading of ``fact`` does (see builder.logic)."""
        x = self.tw_id.get(fact.subject, fact.subject)
        match fact.name:
            case "held":
                return ("in", x, "I")
            case "here":
                return ("at", x, HERE)
            case "in" | "on" | "at":
                return (fact.name, x, self.tw_id[fact.args[1]])
            case "player_in":
                return ("at", "P", x)
            case "state":
                return (state_atom(fact.args[1], fact.value or ""), x)
            case _:
                return (fact.name, x)

    @staticmethod
    def _chosen(base: str, variants: Texts, facts: Facts, room: str) -> str:
        for condition, text in variants:
            if all((f if f[-1] != HERE else (*f[:-1], room)) in facts for f in condition):
                return text
        return base

    # -- names -----------------------------------------------------------------------------------------
    def the(self, entity: str, capital: bool = False) -> str:
        """Inform's [the X] ([The X] with ``capital``)."""
        thing = self.things[entity]
        return thing.cap_the if capital else thing.the

    def a(self, entity: str, capital: bool = False) -> str:
        """Inform's [a X] ([A X] with ``capital``): its own indefinite article, else "some" when plural, a/an."""
        thing = self.things[entity]
        return thing.cap_a if capital else thing.a

    def is_are(self, entities: Sequence[str]) -> str:
        """Inform's [is-are] after a list: "are" for more than one thing or one plural thing."""
        return "are" if len(entities) > 1 or (entities and self.things[entities[0]].plural) else "is"

    def listing(self, entities: Sequence[str]) -> str:
        """Inform's [L with indefinite articles]: "a billy can, some penne and a green matchbox"."""
        return _series([self.things[e].a for e in entities])

    # -- where things are ------------------------------------------------------------------------------
    def _index(self, facts: Facts) -> Tree:
        """The player's room, per holder the things in or on it (unordered; "I": carried or worn), and per thing
        its holder.

        Memoised; a new state is indexed from the last one, changed by the facts that differ."""
        found = self._indexed.get(facts)
        if found is not None:
            return found
        last, (room, children, where) = self._last_index
        removed, added = last - facts, facts - last
        if len(removed) + len(added) > 16:  # far from the last state: from scratch
            room, children, where, removed, added = "", {}, {}, frozenset(), facts
        else:  # the lists of the holders that change are copied, never changed in place
            children, where = dict(children), dict(where)
        for f in removed:
            holder, thing = _placed(f)
            if thing == "P":
                room = ""
            elif thing:
                children[holder] = tuple(e for e in children[holder] if e != thing)
                if where.get(thing) == holder:
                    del where[thing]
        for f in added:
            holder, thing = _placed(f)
            if thing == "P":
                room = holder
            elif thing:
                children[holder] = (*children.get(holder, ()), thing)
                where[thing] = holder
        found = remember(self._indexed, facts, (room, children, where), RECENT_STATES)
        self._last_index = (facts, found)
        return found

    def _ordered(self, items: Sequence[str], order: Sequence[str]) -> list[str]:
        rank = self.rank
        if len(items) < 2:
            return list(items)
        if not order:
            return sorted(items, key=rank.__getitem__)
        if order is not self._recent[0]:  # the ranks of the order, kept while the same order is asked again
            self._recent = (order, {e: i for i, e in enumerate(order)})
        recent = self._recent[1]
        last = len(order)
        return sorted(items, key=lambda e: (recent.get(e, last), rank[e]))

    def _open(self, entity: str, facts: Facts) -> bool:
        """Whether a container is open (portable containers and parts of portable things always are)."""
        return self.things[entity].kind != "c" or ("open", entity) in facts

    def contents(self, holder: str, facts: Facts, order: Sequence[str] = ()) -> list[str]:
        """The things directly in or on ``holder`` ("I": carried or worn), in Inform's listing order."""
        return self._ordered(self._index(facts)[1].get(holder, ()), order)

    def reorder(self, order: Sequence[str], before: Facts, after: Facts) -> tuple[str, ...]:
        """``order`` once the facts went from ``before`` to ``after``: the things that moved come first.

        The result is canonical: equal for histories whose listings can never differ. Per holder (in id
        order), it keeps only the things listed ahead of a tail in creation order; how things in different
        holders are ordered never shows, since whatever moves next goes first.
        """
        return self.reorder_changes(order, before - after, after - before, after)

    def reorder_changes(self, order: Sequence[str], removed: Facts, added: Facts, after: Facts) -> tuple[str, ...]:
        """:meth:`reorder` from the facts that changed: those ``removed`` and ``added`` on the way to ``after``."""
        new, old = _holders(added), _holders(removed)  # few facts: those that changed
        moved = sorted(e for e, holder in new.items() if old.get(e) != holder)
        if not moved and old.keys() <= new.keys():  # nothing moved, nothing left play (eaten)
            return tuple(order)
        recent = {e: i for i, e in enumerate((*moved, *(e for e in order if e not in moved)))}
        last, rank = len(recent), self.rank
        _, held, where = self._index(after)
        kept: list[str] = []
        for holder in sorted({where[e] for e in recent if e in where}):
            items = sorted(held[holder], key=lambda e: (recent.get(e, last), rank[e]))
            k = len(items) - 1  # items[k:] is the longest tail in creation order
            while k > 0 and rank[items[k - 1]] < rank[items[k]]:
                k -= 1
            kept += items[:k]
        return tuple(kept)

    # -- look ------------------------------------------------------------------------------------------
    def look(self, facts: Facts, order: Sequence[str] = ()) -> str:
        """What "look" prints: the heading, the room's text, then what the After looking rules list."""
        room, children, _ = self._index(facts)
        things = self.things
        heading, base, variants = self.rooms[room]
        blocks = [f"{heading}\n{self._chosen(base, variants, facts, room)}"]
        here = [e for e in self._ordered(children.get(room, ()), order) if things[e].whole is None]
        wholes = [e for e in here if things[e].parts and not things[e].portable]
        if wholes:  # parts.twl: what is in or on a part of a fixed thing here
            parts = sorted((p for w in wholes for p in things[w].parts), key=self.rank.__getitem__)
            lines = [
                f"You see {self.listing(inside)} {word} {things[p].the}."
                for word, kinds in (("in", CONTAINERS), ("on", ("s",)))
                for p in parts
                if things[p].kind in kinds and (inside := self._ordered(children.get(p, ()), order))
                if word == "on" or self._open(p, facts)
            ]
            blocks.append("\n".join(lines))
        lines = []  # presentation.twl: furniture, containers then supporters
        for e in here:
            if things[e].container:
                opened = self._open(e, facts)
                inside = self._ordered(children.get(e, ()), order) if opened else []
                tail = f", containing {self.listing(inside)}" if inside else ""
                lines.append(f"You see {things[e].a} ({'open' if opened else 'closed'}){tail}.")
        for e in here:
            if things[e].kind == "s":
                inside = self._ordered(children.get(e, ()), order)
                tail = f", with {self.listing(inside)} on it" if inside else ""
                lines.append(f"You see {things[e].a}{tail}.")
        blocks.append("\n".join(lines))
        if self.v11:  # room_listing.twl: doors
            lines = []
            for way, door in self.doors[room]:
                status = "locked" if ("locked", door) in facts else "open" if ("open", door) in facts else "closed"
                lines.append(f"{things[door].cap_the} leads {way} ({status}).")
            blocks.append("\n".join(lines))
        if self.exits[room]:  # presentation.twl
            blocks.append(f"Exits: {' '.join(self.exits[room])}.")
        floor = [e for e in here if not things[e].container and things[e].kind != "s"]
        if self.v11:  # room_listing.twl's floor rule: what can be carried lies on the floor, the rest is here
            loose = [e for e in floor if things[e].portable]
            lines = [f"{things[e].cap_a} {things[e].is_are} here." for e in floor if not things[e].portable]
            if loose:
                verb = "is" if len(loose) == 1 and not things[loose[0]].plural else "are"
                lines.insert(0, f"There {verb} {self.listing(loose)} on the floor.")
            blocks.append("\n".join(lines))
        elif floor:  # TextWorld's floor rule
            blocks.append(f"There is {self.listing(floor)} on the floor.")
        return "\n\n".join(b for b in blocks if b)

    # -- examine ---------------------------------------------------------------------------------------
    def examine(self, entity: str, facts: Facts, order: Sequence[str] = ()) -> str:
        """What "examine X" prints: its description, the Standard Rules' examine rules, then the After rules."""
        room, children, _ = self._index(facts)
        thing = self.things[entity]
        text = self._chosen(thing.description, thing.variants, facts, room)
        blocks = [text] if text else []
        printed = bool(text or thing.variants)  # a description with variants is never "" to Inform
        if thing.container and self._open(entity, facts):
            inside = self._ordered(children.get(entity, ()), order)
            if inside:
                blocks.append(f"In {thing.the} {self.is_are(inside)} {self.listing(inside)}.")
            elif not printed:
                blocks.append(f"{thing.cap_the} {thing.is_are} empty.")
            printed = True
        elif thing.kind == "s":
            inside = self._ordered(children.get(entity, ()), order)
            if inside:
                blocks.append(f"On {thing.the} {self.is_are(inside)} {self._brief(inside, children, order)}.")
                printed = True
        elif thing.kind == "dv":
            on = "on" if ("switched_on", entity) in facts else "off"
            blocks.append(f"{thing.cap_the} {thing.is_are} currently switched {on}.")
            printed = True
        if not printed:
            blocks.append(f"You see nothing special about {thing.the}.")
        blocks += [text for state, text in thing.states if (state, entity) in facts]  # the game's state rules
        if thing.parts:  # parts.twl
            blocks.append(f"{thing.cap_the} {'have' if thing.plural else 'has'} {self.listing(thing.parts)}.")
        return "\n\n".join(blocks)

    def _brief(self, items: list[str], children: dict[str, tuple[str, ...]], order: Sequence[str]) -> str:
        """A list "tersely, including contents, giving brief inventory information" (examining a supporter)."""
        out = []
        for e in items:
            thing, text = self.things[e], self.things[e].a
            if thing.container:
                inside = self._ordered(children.get(e, ()), order)
                brief = f"in which {self.is_are(inside)} {self._brief(inside, children, order)}" if inside else "empty"
                text += f" ({brief})"
            out.append(text)
        return _series(out)

    # -- inventory -------------------------------------------------------------------------------------
    def inventory(self, facts: Facts, order: Sequence[str] = ()) -> str:
        """What "inventory" prints."""
        children = self._index(facts)[1]
        held = self._ordered(children.get("I", ()), order)
        if not held:
            return "You are carrying nothing."
        return f"You are carrying: {self._full(held, children, facts, order)}."

    def _full(self, items: list[str], children: dict[str, tuple[str, ...]], facts: Facts, order: Sequence[str]) -> str:
        """A list "giving inventory information, including all contents" (the inventory)."""
        out = []
        for e in items:
            text = self.things[e].a + (" (being worn)" if ("worn", e) in facts else "")
            inside = self._ordered(children.get(e, ()), order)
            if inside:
                text += f" containing {self.is_are(inside)} {self._full(inside, children, facts, order)}"
            out.append(text)
        return _series(out)

    # -- the opening -----------------------------------------------------------------------------------
    def opening(self, facts: Facts, order: Sequence[str] = ()) -> str:
        """What the game prints when it starts, from the objective on: the objective, then a look."""
        return f"{self.objective}\n\n{self.look(facts, order)}" if self.objective else self.look(facts, order)


def _placed(fact: tuple[str, ...]) -> tuple[str, str]:
    """(holder, thing) of a fact that places a thing in Inform's object tree ("I" for worn; the player's room
    when the thing is "P"), else ("", "")."""
    if fact[0] in HOLDING and len(fact) == 3:
        return fact[2], fact[1]
    if fact[0] == "worn":
        return "I", fact[1]
    return "", ""


def _holders(facts: Iterable[tuple[str, ...]]) -> dict[str, str]:
    """Thing -> its holder in Inform's object tree, for the facts that place things ("I" for worn ones too)."""
    return {thing: holder for holder, thing in map(_placed, facts) if thing not in ("", "P")}


def _series(items: Sequence[str]) -> str:
    """Inform's list of items: "a, b and c" (no serial comma), "nothing" for none."""
    if len(items) < 2:
        return items[0] if items else "nothing"
    return ", ".join(items[:-1]) + " and " + items[-1]

"""What the Inform 7 build prints when it describes the world: look, examine, inventory and the opening.

The words come from TextWorld's Inform 7 generator (room heading, "There is ... on the floor.", the inventory
rule), the knowledge base's snippets (``kb_static/presentation.twl``: furniture and exits;
``room_listing.twl``, spec 1.1 only: floor, "A sink is here.", doors; ``parts.twl``: parts), the game's
generated rules (state descriptions "After examining") and Inform 7's Standard Rules and list writer
(examining containers, supporters and devices, "(empty)", "(being worn)", "containing").

Inform lists the things in a holder in its object tree's order: things never moved in the order the story
file created them, after the ones moved since, most recently moved first. The logic's facts do not say
which moved last, so the methods that list things take ``order``: entity ids, most recently moved first
(:meth:`Describer.reorder` keeps it up to date from one turn's facts); without it, the initial order.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from textworld.generator.game import Game

from ..builder.logic import entity_table
from ..spec import Fact, GameSpec
from ..spec.model import Variant
from .types import Facts

DIRECTIONS = ("north", "south", "east", "west")  # Inform's order of directions (the Standard Rules')
PORTABLE = frozenset({"o", "wr", "k", "f", "pc"})  # the kinds Inform lets the player carry
CONTAINERS = frozenset({"c", "pc", "pt"})
HOLDING = frozenset({"in", "on", "at"})
HERE = "$here"  # stands for the player's room in a compiled condition
Condition = tuple[tuple[str, ...], ...]  # facts that must all hold (HERE replaced by the player's room)


@dataclass(frozen=True)
class _Thing:
    """What Inform knows of one thing, precomputed."""

    id: str
    kind: str  # TextWorld type: o, c, pc, pt, s, dv, t, an, wr, k, f, d
    name: str
    a: str  # "a billy can", "some penne", "a pair of wellies"
    cap_a: str  # "A billy can"
    the: str  # "the billy can"
    cap_the: str  # "The billy can"
    plural: bool
    description: str  # the usual text ("" when there is none)
    variants: tuple[tuple[Condition, str], ...]  # texts for states: the first whose facts hold wins
    states: tuple[tuple[str, str], ...]  # (state fact, text) of "After examining X when X is v"
    parts: tuple[str, ...]  # the things that are part of this one, in creation order
    whole: str | None  # the thing this one is part of

    @property
    def portable(self) -> bool:
        return self.kind in PORTABLE

    @property
    def container(self) -> bool:
        return self.kind in CONTAINERS


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _text(text: str) -> str:
    """Spec text as Inform prints it ("[line break]" for a new line)."""
    return text


class Describer:
    """The texts of look, examine, inventory and the opening of one game, from the logic's facts."""

    def __init__(self, game: Game, spec: GameSpec) -> None:
        self.game, self.spec = game, spec
        self.v11 = spec.spec_version != "1.0"
        table = entity_table(spec)
        self.tw_id = {spec_id: e.tw_id for spec_id, e in table.items()}
        infos = game.infos
        # The order Inform created things in: its initial object tree lists each holder's things in this order.
        kinds = [t for t in game.kb.types if t not in ("P", "I", "r")]
        created = [e.id for t in kinds for e in game.world.get_entities_per_type(t)]
        self.rank = {e: i for i, e in enumerate(created)}
        wholes = {e.tw_id: self.tw_id[e.whole] for e in table.values() if e.whole}
        parts: dict[str, list[str]] = {}
        for part in sorted(wholes, key=self.rank.__getitem__):
            parts.setdefault(wholes[part], []).append(part)
        objects = {self.tw_id[o.id]: o for o in spec.objects}
        doors = {self.tw_id[d.id]: d for d in spec.doors}
        self.things: dict[str, _Thing] = {}
        for eid in created:
            info = infos[eid]
            name = info.name or eid
            obj = objects.get(eid)
            plural = bool(obj and obj.plural)
            article = info.indefinite or ("some" if plural else "an" if name[:1].lower() in "aeiou" else "a")
            if obj is not None:
                description, variants = obj.description, self._variants(obj.variants)
                states = tuple(
                    ((f"st__{state}__{value}"), _text(text))
                    for state, var in obj.states.items()
                    for value, text in var.describe.items()
                )
            else:
                door = doors.get(eid)
                description, variants, states = (door.description if door else info.desc or ""), (), ()
            self.things[eid] = _Thing(
                id=eid,
                kind=info.type,
                name=name,
                a=f"{article} {name}",
                cap_a=f"{_capital(article)} {name}",
                the=f"the {name}",
                cap_the=f"The {name}",
                plural=plural,
                description=_text(description),
                variants=variants,
                states=states,
                parts=tuple(parts.get(eid, ())),
                whole=wholes.get(eid),
            )
        # Rooms: heading, description (with its variants) and the map, which never changes.
        self.rooms: dict[str, tuple[str, str, tuple[tuple[Condition, str], ...]]] = {}
        for room in spec.rooms:
            rid = self.tw_id[room.id]
            title = f"-= {str.title(infos[rid].name or rid)} =-"
            self.rooms[rid] = (title, _text(room.description), self._variants(room.variants))
        self.exits: dict[str, tuple[str, ...]] = {}
        self.doors: dict[str, tuple[tuple[str, str], ...]] = {}  # room -> (direction, door), in Inform's order
        for room in game.world.rooms:
            self.exits[room.id] = tuple(d for d in DIRECTIONS if d in room.exits)
            self.doors[room.id] = tuple((d, room.doors[d].id) for d in DIRECTIONS if d in room.doors)
        self.objective = game.objective

    # -- conditions ---------------------------------------------------------------------------------
    def _variants(self, variants: Iterable[Variant]) -> tuple[tuple[Condition, str], ...]:
        return tuple((tuple(self._fact(Fact.parse(t)) for t in v.when), _text(v.text)) for v in variants)

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
                return (f"st__{fact.args[1]}__{fact.value}", x)
            case _:
                return (fact.name, x)

    @staticmethod
    def _holds(condition: Condition, facts: Facts, room: str) -> bool:
        return all((f if f[-1] != HERE else (*f[:-1], room)) in facts for f in condition)

    def _chosen(self, base: str, variants: tuple[tuple[Condition, str], ...], facts: Facts, room: str) -> str:
        for condition, text in variants:
            if self._holds(condition, facts, room):
                return text
        return base

    # -- names ---------------------------------------------------------------------------------------
    def the(self, entity: str, capital: bool = False) -> str:
        """Inform's [the X] ([The X] with ``capital``)."""
        thing = self.things[entity]
        return thing.cap_the if capital else thing.the

    def a(self, entity: str, capital: bool = False) -> str:
        """Inform's [a X] ([A X] with ``capital``): its indefinite article, "some" when plural."""
        thing = self.things[entity]
        return thing.cap_a if capital else thing.a

    def is_are(self, entities: Sequence[str]) -> str:
        """Inform's [is-are] for a list: "are" for more than one thing or one plural thing."""
        return "are" if len(entities) > 1 or (entities and self.things[entities[0]].plural) else "is"

    def listing(self, entities: Sequence[str]) -> str:
        """Inform's [L with indefinite articles]: "a billy can, some penne and a green matchbox"."""
        return self._series([self.things[e].a for e in entities])

    @staticmethod
    def _series(items: Sequence[str]) -> str:
        if not items:
            return "nothing"
        if len(items) == 1:
            return items[0]
        return ", ".join(items[:-1]) + " and " + items[-1]

    # -- where things are ----------------------------------------------------------------------------
    @staticmethod
    def room_of(facts: Facts) -> str:
        """The player's room."""
        for f in facts:
            if f[0] == "at" and f[1] == "P":
                return f[2]
        raise ValueError("the facts do not place the player")

    def _children(self, facts: Facts) -> dict[str, list[str]]:
        """Holder -> the things in or on it (unordered); "I" holds what the player carries and wears."""
        children: dict[str, list[str]] = {}
        for f in facts:
            if f[0] in HOLDING and len(f) == 3 and f[1] != "P":
                children.setdefault(f[2], []).append(f[1])
            elif f[0] == "worn":
                children.setdefault("I", []).append(f[1])
        return children

    def _ordered(self, items: list[str], order: Sequence[str]) -> list[str]:
        if len(items) < 2:
            return items
        if not order:
            return sorted(items, key=self.rank.__getitem__)
        recent = {e: i for i, e in enumerate(order)}
        last = len(order)
        return sorted(items, key=lambda e: (recent.get(e, last), self.rank[e]))

    def _open(self, entity: str, facts: Facts) -> bool:
        """Whether a container is open (portable containers and parts of portable things always are)."""
        return self.things[entity].kind != "c" or ("open", entity) in facts

    def contents(self, holder: str, facts: Facts, order: Sequence[str] = ()) -> list[str]:
        """The things directly in or on ``holder`` ("I": carried or worn), in Inform's listing order."""
        return self._ordered(self._children(facts).get(holder, []), order)

    @staticmethod
    def reorder(order: Sequence[str], before: Facts, after: Facts) -> tuple[str, ...]:
        """``order`` after a change of facts: the things that moved first (see the module's doc)."""
        moved = sorted(_places(after).items() - _places(before).items())
        if not moved:
            return tuple(order)
        ids = [e for e, _ in moved]
        return (*ids, *(e for e in order if e not in ids))

    # -- look ----------------------------------------------------------------------------------------
    def look(self, facts: Facts, order: Sequence[str] = ()) -> str:
        """What "look" prints: the heading, the room's text and the listings of the After looking rules."""
        room = self.room_of(facts)
        children = self._children(facts)
        title, base, variants = self.rooms[room]
        here = [e for e in self._ordered(children.get(room, []), order) if self.things[e].whole is None]
        blocks = [f"{title}\n{self._chosen(base, variants, facts, room)}"]
        things = self.things
        if any(things[e].parts for e in here):  # parts.twl: what is in or on a part of a fixed thing here
            lines = []
            wholes = [e for e in here if not things[e].portable and things[e].parts]
            parts = sorted((p for w in wholes for p in things[w].parts), key=self.rank.__getitem__)
            for kinds, word in ((CONTAINERS, "in"), (("s",), "on")):
                for part in parts:
                    inside = self._ordered(children.get(part, []), order)
                    if things[part].kind in kinds and inside and (word == "on" or self._open(part, facts)):
                        lines.append(f"You see {self.listing(inside)} {word} {things[part].the}.")
            blocks.append("\n".join(lines))
        lines = []  # presentation.twl: furniture
        for e in here:
            if things[e].container:
                opened = self._open(e, facts)
                inside = self._ordered(children.get(e, []), order) if opened else []
                tail = f", containing {self.listing(inside)}" if inside else ""
                lines.append(f"You see {things[e].a} ({'open' if opened else 'closed'}){tail}.")
        for e in here:
            if things[e].kind == "s":
                inside = self._ordered(children.get(e, []), order)
                tail = f", with {self.listing(inside)} on it" if inside else ""
                lines.append(f"You see {things[e].a}{tail}.")
        blocks.append("\n".join(lines))
        if self.v11:  # room_listing.twl: doors
            lines = []
            for way, door in self.doors[room]:
                status = "locked" if ("locked", door) in facts else "open" if ("open", door) in facts else "closed"
                lines.append(f"{things[door].cap_the} leads {way} ({status}).")
            blocks.append("\n".join(lines))
        exits = self.exits[room]
        if exits:
            blocks.append(f"Exits: {' '.join(exits)}.")
        floor = [e for e in here if not things[e].container and things[e].kind not in ("s", "d")]
        if self.v11:  # room_listing.twl's floor rule
            loose = [e for e in floor if things[e].portable]
            lines = []
            if loose:
                verb = "is" if len(loose) == 1 and not things[loose[0]].plural else "are"
                lines.append(f"There {verb} {self.listing(loose)} on the floor.")
            for e in floor:
                if not things[e].portable:
                    lines.append(f"{things[e].cap_a} {'are' if things[e].plural else 'is'} here.")
            blocks.append("\n".join(lines))
        elif floor:  # TextWorld's
            blocks.append(f"There is {self.listing(floor)} on the floor.")
        return "\n\n".join(b for b in blocks if b)

    # -- examine -------------------------------------------------------------------------------------
    def examine(self, entity: str, facts: Facts, order: Sequence[str] = ()) -> str:
        """What "examine X" prints: its description, then the Standard Rules' and the game's additions."""
        thing = self.things[entity]
        room = self.room_of(facts)
        blocks = []
        text = self._chosen(thing.description, thing.variants, facts, room)
        printed = bool(text) or bool(thing.variants)
        if text:
            blocks.append(text)
        if thing.container and self._open(entity, facts):
            inside = self.contents(entity, facts, order)
            if inside:
                blocks.append(f"In {thing.the} {self.is_are(inside)} {self.listing(inside)}.")
                printed = True
            elif not printed:
                blocks.append(f"{thing.cap_the} {'are' if thing.plural else 'is'} empty.")
                printed = True
        elif thing.kind == "s":
            children = self._children(facts)
            inside = self._ordered(children.get(entity, []), order)
            if inside:
                blocks.append(f"On {thing.the} {self.is_are(inside)} {self._brief(inside, children, order)}.")
                printed = True
        elif thing.kind == "dv":
            on = "on" if ("switched_on", entity) in facts else "off"
            blocks.append(f"{thing.cap_the} {'are' if thing.plural else 'is'} currently switched {on}.")
            printed = True
        if not printed:
            blocks.append(f"You see nothing special about {thing.the}.")
        blocks += [text for state, text in thing.states if (state, entity) in facts]
        if thing.parts:
            verb = "have" if thing.plural else "has"
            blocks.append(f"{thing.cap_the} {verb} {self.listing(thing.parts)}.")
        return "\n\n".join(blocks)

    def _brief(self, items: list[str], children: dict[str, list[str]], order: Sequence[str]) -> str:
        """A list "tersely, including contents, giving brief inventory information" (examining a supporter)."""
        out = []
        for e in items:
            thing = self.things[e]
            text = thing.a
            if thing.container:
                inside = self._ordered(children.get(e, []), order)
                if inside:
                    text += f" (in which {self.is_are(inside)} {self._brief(inside, children, order)})"
                else:
                    text += " (empty)"
            out.append(text)
        return self._series(out)

    # -- inventory -----------------------------------------------------------------------------------
    def inventory(self, facts: Facts, order: Sequence[str] = ()) -> str:
        """What "inventory" prints."""
        children = self._children(facts)
        held = self._ordered(children.get("I", []), order)
        if not held:
            return "You are carrying nothing."
        return f"You are carrying: {self._full(held, children, facts, order)}."

    def _full(self, items: list[str], children: dict[str, list[str]], facts: Facts, order: Sequence[str]) -> str:
        """A list "giving inventory information, including all contents" (the inventory)."""
        out = []
        for e in items:
            text = self.things[e].a
            if ("worn", e) in facts:
                text += " (being worn)"
            inside = self._ordered(children.get(e, []), order)
            if inside:
                text += f" containing {self.is_are(inside)} {self._full(inside, children, facts, order)}"
            out.append(text)
        return self._series(out)

    # -- the opening ---------------------------------------------------------------------------------
    def opening(self, facts: Facts, order: Sequence[str] = ()) -> str:
        """What the game prints when it starts (from the objective on): the objective, then a look."""
        return f"{self.objective}\n\n{self.look(facts, order)}" if self.objective else self.look(facts, order)


def _places(facts: Facts) -> dict[str, tuple[str, ...]]:
    """Where each thing is in Inform's object tree: (holding predicate, holder); worn things are the player's
    like carried ones (wearing or taking off moves nothing)."""
    places: dict[str, tuple[str, ...]] = {}
    for f in facts:
        if f[0] in HOLDING and len(f) == 3 and f[1] != "P":
            places[f[1]] = f[::2]
        elif f[0] == "worn":
            places[f[1]] = ("in", "I")
    return places

"""The fact vocabulary shared by action preconditions, action effects and goals.

A fact is written as text, ``name(arg, ...)`` or ``state(obj, state) == value``; arguments are
object ids, room ids or action slot names. One table, :data:`FACTS`, says for each fact name its
arguments' roles and whether it may appear as a precondition, an effect or a goal; the builder
translates each into TextWorld logic and Inform 7 from that one table.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Role = Literal["thing", "room", "container", "supporter", "device", "clothing", "holder"]


@dataclass(frozen=True)
class FactKind:
    """What a fact name means and where it may be used."""

    args: tuple[Role, ...]
    doc: str
    precondition: bool = True
    effect: bool = True
    goal: bool = True


FACTS: dict[str, FactKind] = {
    "held": FactKind(("thing",), "the player carries the thing"),
    "here": FactKind(
        ("thing",), "the thing lies directly in the player's room (not inside or on another thing)", goal=False
    ),
    "in": FactKind(("thing", "container"), "the thing is inside the container"),
    "on": FactKind(("thing", "supporter"), "the thing is on the supporter"),
    "at": FactKind(("thing", "room"), "the thing lies directly in that room", precondition=False, effect=False),
    "player_in": FactKind(("room",), "the player is in the room", effect=False),
    "open": FactKind(("holder",), "the container or door is open"),
    "closed": FactKind(("holder",), "the container or door is closed (and unlocked)"),
    "locked": FactKind(("holder",), "the container or door is locked"),
    "switched_on": FactKind(("device",), "the device is switched on"),
    "switched_off": FactKind(("device",), "the device is switched off"),
    "worn": FactKind(("clothing",), "the player wears the clothing"),
    "eaten": FactKind(("thing",), "the food has been eaten", precondition=False, effect=False),
    "state": FactKind(("thing",), "state(thing, name) == value: the thing's custom state has that value"),
}

LOCATION_FACTS = ("held", "here", "in", "on", "worn")
"""Facts that say where a thing is; a thing is in exactly one such place at a time."""

_FACT_RE = re.compile(
    r"^\s*(?P<name>[a-z_]+)\s*\(\s*(?P<args>[^()]*)\)\s*(?:==\s*(?P<value>[A-Za-z_][A-Za-z0-9_]*)\s*)?$"
)
_IDENT_RE = re.compile(r"^[a-z][a-z0-9_]*$")


class FactSyntaxError(ValueError):
    """A fact string that does not follow the fact grammar."""


@dataclass(frozen=True)
class Fact:
    """A parsed fact: ``name(args)`` or, for custom states, ``state(obj, state) == value``."""

    name: str
    args: tuple[str, ...]
    value: str | None = None

    @classmethod
    def parse(cls, text: str) -> Fact:
        match = _FACT_RE.match(text)
        if not match:
            raise FactSyntaxError(f"{text!r} is not a fact; write name(arg, ...) or state(object, state) == value")
        name = match["name"]
        args = tuple(a.strip() for a in match["args"].split(",")) if match["args"].strip() else ()
        value = match["value"]
        if name not in FACTS:
            raise FactSyntaxError(f"unknown fact {name!r} in {text!r}; known facts: {', '.join(FACTS)}")
        for arg in args:
            if not _IDENT_RE.match(arg):
                raise FactSyntaxError(f"argument {arg!r} in {text!r} is not an id (lowercase, digits, _)")
        expected = 2 if name == "state" else len(FACTS[name].args)
        if len(args) != expected:
            raise FactSyntaxError(f"{name} takes {expected} argument(s), got {len(args)} in {text!r}")
        if (name == "state") != (value is not None):
            raise FactSyntaxError(f"{text!r}: only state(...) takes '== value', and it always needs one")
        return cls(name, args, value)

    @property
    def subject(self) -> str:
        return self.args[0]

    def __str__(self) -> str:
        text = f"{self.name}({', '.join(self.args)})"
        return f"{text} == {self.value}" if self.value is not None else text


def fact_group(fact: Fact) -> tuple[str, str]:
    """Facts in the same group about the same subject exclude each other (a thing is in one place)."""
    if fact.name in LOCATION_FACTS:
        return (fact.subject, "location")
    if fact.name in ("open", "closed", "locked"):
        return (fact.subject, "status")
    if fact.name in ("switched_on", "switched_off"):
        return (fact.subject, "power")
    if fact.name == "state":
        return (fact.subject, f"state:{fact.args[1]}")
    return (fact.subject, fact.name)

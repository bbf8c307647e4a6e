"""GameSpec: the one data model of a game (rooms, objects, custom actions, goals, walkthrough).

A spec is JSON on disk, validated by pydantic. Field validation catches shapes and unsafe text;
:func:`GameSpec.check_references` (run by the model validator) checks that every id a fact, exit,
key or goal names exists and has the right kind. Errors carry the JSON path of the fault.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from enum import Enum
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    ValidationError,
    field_validator,
    model_serializer,
    model_validator,
)

from ..files import JSONLimitError, JSONLimits, loads_untrusted
from .facts import FACTS, Fact, FactSyntaxError, fact_group

SPEC_VERSION = "1.1"
SPEC_VERSIONS = ("1.0", "1.1")  # every version that still loads; a 1.0 spec builds exactly as it always did

# Limits a spec must stay within; each one keeps out a spec the builder would reject or choke on.
SPEC_JSON = JSONLimits(max_chars=1_000_000, max_depth=32, max_number_chars=20)  # the file as JSON
MAX_TEXT_CHARS = 1000
MAX_LINE_BREAKS = 40
# Inform 7 refuses quoted text of about 3,000 characters or more ("Too much text in quotation marks"; measured:
# 2,987 builds, 2,999 does not). A text's line breaks and {slot} placeholders grow when quoted, as do the
# walkthrough's commands, which the game's source quotes joined by " / " in its test command.
MAX_QUOTED_CHARS = 2900
MAX_WALKTHROUGH_COMMANDS = 200

Identifier = Annotated[
    str,
    Field(
        pattern=r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$",
        max_length=32,
        description="lowercase id: a-z, 0-9 and single underscores between them",
    ),
]

# Words the Inform 7 parser gives a meaning of its own; a name made of them would confuse it.
PARSER_WORDS = frozenset(
    "all it them him her me myself you yourself self everything every each other except but and "
    "then again a an the of north south east west up down inside outside n s e w u d ne nw se sw "
    "northeast northwest southeast southwest in out look inventory i x z g q".split()
)
# Verbs that TextWorld's standard logic, Inform 7's meta commands or its testing commands already use.
RESERVED_VERBS = frozenset(
    # TextWorld's rules, then the meta commands, then the debug ones
    "take drop put insert open close lock unlock eat go look inventory examine switch wear l x i "
    "undo restart restore save quit q script transcript score notify pronouns version brief verbose superbrief "
    "again g oops wait z test showme actions rules scenes purloin abstract gonear tree relations responses".split()
)
RESERVED_ACTIONS = frozenset(
    "take drop put insert open close lock unlock eat go look inventory examine "
    "switch_on switch_off wear take_off".split()
)
_NAME_RE = re.compile(r"^[a-z][a-z0-9-]*(?: [a-z0-9][a-z0-9-]*)*$")
# Printable text with no Inform 7 syntax: no quotes, brackets (substitutions) or braces.
TEXT_RE = re.compile(r"^[A-Za-z0-9 .,;:!?'()\-\n]*$")
_PLACEHOLDER_RE = re.compile(r"\{(?:the |a )?([a-z][a-z0-9_]*)\}")


def _check_name(value: str) -> str:
    if not _NAME_RE.match(value):
        raise ValueError(
            f"name {value!r} must be lowercase words of letters, digits and hyphens, separated by single spaces"
        )
    if len(value) > 40:
        raise ValueError(f"name {value!r} is longer than 40 characters")
    clashes = [w for w in value.split() if w in PARSER_WORDS]
    if clashes:
        raise ValueError(f"name {value!r} uses words the Inform 7 parser reserves: {clashes}")
    return value


def _check_text(value: str, allow_placeholders: bool = False) -> str:
    body = _PLACEHOLDER_RE.sub("", value) if allow_placeholders else value
    bad = sorted({c for c in body if not TEXT_RE.match(c)})
    if bad:
        raise ValueError(
            f"text {value[:40]!r} contains characters that could break Inform 7: {bad[:20]} "
            "(allowed: letters, digits, spaces, newlines and . , ; : ! ? ' ( ) -)"
        )
    if len(value) > MAX_TEXT_CHARS:
        raise ValueError(f"text {value[:40]!r} is {len(value):,} characters long; the limit is {MAX_TEXT_CHARS:,}")
    breaks = value.count("\n")
    if breaks > MAX_LINE_BREAKS:
        raise ValueError(
            f"text {value[:40]!r} has {breaks:,} line breaks; the limit is {MAX_LINE_BREAKS}: join its lines"
        )
    quoted = quoted_length(value)
    if quoted > MAX_QUOTED_CHARS:
        raise ValueError(
            f"text {value[:40]!r} takes {quoted:,} characters in the game's source (a line break takes 12, "
            f"a {{slot}} up to 17); the limit is {MAX_QUOTED_CHARS:,}: shorten it or use fewer placeholders"
        )
    return value


def quoted_length(text: str) -> int:
    """Length of ``text`` as Inform 7 quotes it: a newline is ``[line break]``, ``{the x}`` at most
    ``[the second noun]``."""
    placeholders = sum(len("second noun") - len(m.group(1)) for m in _PLACEHOLDER_RE.finditer(text))
    return len(text) + (len("[line break]") - 1) * text.count("\n") + placeholders


def _blocked_verb(command: str) -> str | None:
    """Why the environment would refuse ``command`` (an interpreter meta-command or debug verb), or None."""
    from ..envs.engine import BLOCKED_COMMANDS, is_blocked  # lazily: the engine pulls in the interpreter

    if not is_blocked(command):
        return None
    word = command.split()[0] if command.split() else command
    meta = next((b for b in sorted(BLOCKED_COMMANDS) if word[:6] == b[:6]), None)
    if meta is not None:
        return f"{word!r} reads as the interpreter meta-command {meta!r}, which the environment refuses"
    return f"{word!r} is a debugging command the environment refuses"


def _check_command(value: str) -> str:
    """A custom command template: lowercase words and {slot} placeholders, starting with a verb of its own."""
    words = _PLACEHOLDER_RE.sub("x", value)
    if not re.match(r"^[a-z]+(?: [a-z]+)*$", words):
        raise ValueError(
            f"command {value!r} must be lowercase words and {{slot}} placeholders separated by single spaces"
        )
    verb = value.split()[0]
    if verb.startswith("{"):
        raise ValueError(f"command {value!r} must start with a verb, not a slot")
    if verb in RESERVED_VERBS:
        raise ValueError(f"command {value!r} starts with {verb!r}, a verb the game already uses: pick another verb")
    blocked = _blocked_verb(verb)
    if blocked:
        raise ValueError(f"command {value!r}: {blocked}; pick another verb")
    return value


Name = Annotated[str, Field(min_length=1, max_length=40)]
Text = Annotated[str, Field(max_length=MAX_TEXT_CHARS)]
FactText = Annotated[str, Field(min_length=1, max_length=120)]


SKILLS_ENV = "STARLING_SKILLS"  # more skills.json files (os.pathsep-separated): seed folders' own vocabularies


def known_skills() -> dict[str, str]:
    """The skill vocabulary, skill id -> description: ``game_seeds/skills.json`` plus the files in
    ``$STARLING_SKILLS`` (set by ``starling generate --seeds DIR`` for DIR's skills.json, and inherited by the
    verifier's subprocesses)."""
    return _vocabulary(os.environ.get(SKILLS_ENV, ""))


@cache
def _vocabulary(extra: str) -> dict[str, str]:
    skills = json.loads((resources.files("starling_env.game_seeds") / "skills.json").read_text(encoding="utf-8"))
    for name in filter(None, extra.split(os.pathsep)):
        with contextlib.suppress(OSError, ValueError):  # a file removed since is ignored
            skills |= json.loads(Path(name).read_text(encoding="utf-8"))
    return skills


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=False)
    # Fields added by spec 1.1: left out of the canonical JSON while unused, so a 1.0 spec keeps its JSON and hash.
    _V11_FIELDS: ClassVar[tuple[str, ...]] = ()

    @model_serializer(mode="wrap")
    def _omit_unused(self, handler: SerializerFunctionWrapHandler) -> Any:
        data = handler(self)
        if isinstance(data, dict):
            for name in self._V11_FIELDS:
                if name in data and getattr(self, name) == type(self).model_fields[name].get_default(
                    call_default_factory=True
                ):
                    del data[name]
        return data

    def v11_fields_used(self) -> list[str]:
        """The spec-1.1 fields this part of a spec sets (a 1.0 spec may not set any)."""
        dumped = self.model_dump(include=set(self._V11_FIELDS))
        return [name for name in self._V11_FIELDS if name in dumped]


class Direction(str, Enum):
    north = "north"
    south = "south"
    east = "east"
    west = "west"


OPPOSITE = {"north": "south", "south": "north", "east": "west", "west": "east"}


class ObjectKind(str, Enum):
    portable = "portable"
    container = "container"
    supporter = "supporter"
    device = "device"
    food = "food"
    clothing = "clothing"
    scenery = "scenery"
    key = "key"
    animate = "animate"  # spec 1.1: an animal or a person


# What a part can be, and what can have parts: fixed things, or one portable thing whose parts are containers
# (the pocket of a coat), which the player reaches wherever the thing is.
PART_KINDS = (ObjectKind.container, ObjectKind.supporter, ObjectKind.device, ObjectKind.scenery)
FIXED_WHOLE_KINDS = (*PART_KINDS, ObjectKind.animate)
PORTABLE_WHOLE_KINDS = (ObjectKind.portable, ObjectKind.clothing)


class Variant(_Strict):
    """A description that replaces the usual one while its facts hold (spec 1.1): text that follows the state."""

    when: list[FactText] = Field(min_length=1, max_length=12, description="facts that must all hold")
    text: Text

    _text = field_validator("text")(_check_text)


class Room(_Strict):
    _V11_FIELDS = ("variants",)

    id: Identifier
    name: Name
    description: Text
    exits: dict[Direction, Identifier] = Field(default_factory=dict, description="direction -> room id")
    variants: list[Variant] = Field(
        default_factory=list, max_length=10, description="descriptions for states; the first whose facts hold wins"
    )

    _name = field_validator("name")(_check_name)
    _desc = field_validator("description")(_check_text)


class Door(_Strict):
    id: Identifier
    name: Name
    description: Text = ""
    between: tuple[Identifier, Identifier] = Field(description="the two rooms the door joins (they must share an exit)")
    status: Literal["open", "closed", "locked"] = "closed"
    key: Identifier | None = Field(default=None, description="id of the key object that locks and unlocks it")

    _name = field_validator("name")(_check_name)
    _desc = field_validator("description")(_check_text)


class StateVar(_Strict):
    values: list[Identifier] = Field(min_length=2, max_length=20, description="the values the state can take")
    initial: Identifier
    describe: dict[Identifier, Text] = Field(
        default_factory=dict, description="value -> sentence added when the object is examined in that state"
    )

    @model_validator(mode="after")
    def _values(self) -> StateVar:
        if len(set(self.values)) != len(self.values):
            raise ValueError(f"values repeat: {self.values}")
        if "none" in self.values:
            raise ValueError("'none' is reserved (it marks things without this state); name the value e.g. 'empty'")
        if self.initial not in self.values:
            raise ValueError(f"initial value {self.initial!r} is not one of {self.values}")
        for value, text in self.describe.items():
            if value not in self.values:
                raise ValueError(f"describe names {value!r}, which is not one of {self.values}")
            _check_text(text)
        return self


Article = Annotated[str, Field(min_length=1, max_length=20, pattern=r"^[a-z]+(?: [a-z]+)*$")]


class GameObject(_Strict):
    _V11_FIELDS = ("article", "plural", "synonyms", "variants", "portable", "part")

    id: Identifier
    name: Name
    kind: ObjectKind
    description: Text = ""
    location: Identifier = Field(
        description="a room id, a container or supporter id, 'player' (carried) or 'worn' (clothing only)"
    )
    status: Literal["open", "closed", "locked"] | None = Field(default=None, description="containers only")
    key: Identifier | None = Field(default=None, description="containers only: the key that locks it")
    switched_on: bool | None = Field(default=None, description="devices only")
    states: dict[Identifier, StateVar] = Field(
        default_factory=dict, max_length=10, description="custom states, e.g. water"
    )
    article: Article | None = Field(
        default=None, description="indefinite article instead of a/an: 'some' (mass nouns), 'a pair of'"
    )
    plural: bool = Field(default=False, description="a plural noun: 'the wellies are', 'some wellies'")
    portable: bool = Field(
        default=False, description="containers only: carried, dropped and put on supporters; always open"
    )
    synonyms: list[Name] = Field(default_factory=list, max_length=10, description="other names the player may type")
    variants: list[Variant] = Field(
        default_factory=list, max_length=10, description="descriptions for states; the first whose facts hold wins"
    )
    part: bool = Field(
        default=False,
        description="a part of the object its location names (the tank of a coffee machine): never moved on its own",
    )

    _name = field_validator("name")(_check_name)
    _desc = field_validator("description")(_check_text)

    @field_validator("synonyms")
    @classmethod
    def _synonyms(cls, value: list[str]) -> list[str]:
        for name in value:
            _check_name(name)
        return value

    @field_validator("article")
    @classmethod
    def _article(cls, value: str | None) -> str | None:
        return value if value is None else _check_text(value)

    @model_validator(mode="after")
    def _kind_fields(self) -> GameObject:
        if self.kind is not ObjectKind.container and (self.status or self.key or self.portable):
            raise ValueError("status, key and portable apply to containers only")
        if self.portable and (self.status not in (None, "open") or self.key):
            raise ValueError("a portable container is always open: it takes no closed or locked status and no key")
        if self.kind is not ObjectKind.device and self.switched_on is not None:
            raise ValueError("switched_on applies to devices only")
        if self.location == "worn" and self.kind is not ObjectKind.clothing:
            raise ValueError("only clothing can start worn")
        if self.part and (self.portable or self.kind not in PART_KINDS):
            raise ValueError(f"a part is a {', '.join(k.value for k in PART_KINDS)} (not portable)")
        return self


class Slot(_Strict):
    kind: ObjectKind | None = Field(default=None, description="restrict the slot to objects of this kind")


Command = Annotated[str, Field(min_length=1, max_length=60)]


class Action(_Strict):
    _V11_FIELDS = ("synonyms",)

    name: Identifier
    command: Command = Field(description="command template, slots in braces: 'fill {container} with water'")
    slots: dict[Identifier, Slot] = Field(default_factory=dict, max_length=2)
    requires: list[FactText] = Field(default_factory=list, max_length=12, description="precondition facts")
    effects: list[FactText] = Field(min_length=1, max_length=12, description="facts made true")
    success: Text = Field(description="printed when the action succeeds; may use {slot}, {the slot}")
    failures: dict[str, Text] = Field(default_factory=dict, description="precondition fact -> text when it fails")
    synonyms: list[Command] = Field(
        default_factory=list, max_length=6, description="other wordings of the command, with the same slots"
    )

    @field_validator("command")
    @classmethod
    def _command(cls, value: str) -> str:
        return _check_command(value)

    @field_validator("synonyms")
    @classmethod
    def _synonym_commands(cls, value: list[str]) -> list[str]:
        return [_check_command(c) for c in value]

    @field_validator("name")
    @classmethod
    def _action_name(cls, value: str) -> str:
        if value in RESERVED_ACTIONS:
            raise ValueError(f"action name {value!r} is taken by a built-in rule")
        return value

    @field_validator("success")
    @classmethod
    def _success(cls, value: str) -> str:
        return _check_text(value, allow_placeholders=True)

    @field_validator("failures")
    @classmethod
    def _failures(cls, value: dict[str, str]) -> dict[str, str]:
        for text in value.values():
            _check_text(text, allow_placeholders=True)
        return value

    @property
    def template_slots(self) -> list[str]:
        return template_slots(self.command)


def template_slots(command: str) -> list[str]:
    """The slot names of a command template, in order."""
    return [m.group(1) for m in re.finditer(r"\{([a-z][a-z0-9_]*)\}", command)]


class Goal(_Strict):
    when: list[FactText] = Field(min_length=1, max_length=12, description="facts that must all hold")
    points: int = Field(default=1, ge=1, le=100)
    text: Text = ""

    _text = field_validator("text")(_check_text)


BUILT_IN_ACTIONS = (
    "take drop put insert open close lock unlock eat switch_on switch_off wear take_off".split()
)  # the built-in actions a reaction can follow (TextWorld's rule names)


class EveryTurn(_Strict):
    """A rule the world applies at the end of every turn while its facts hold (spec 1.1): time and processes."""

    requires: list[FactText] = Field(min_length=1, max_length=12, description="facts that must all hold")
    effects: list[FactText] = Field(
        min_length=1, max_length=12, description="facts made true; each replaces a fact of requires"
    )
    text: Text = Field(default="", description="printed when it happens")

    _text = field_validator("text")(_check_text)


class Reaction(_Strict):
    """More effects of a built-in action on one object (spec 1.1): dropping the pot breaks it."""

    after: Literal[
        "take",
        "drop",
        "put",
        "insert",
        "open",
        "close",
        "lock",
        "unlock",
        "eat",
        "switch_on",
        "switch_off",
        "wear",
        "take_off",
    ] = Field(description="the built-in action")
    object: Identifier = Field(description="the object it acts on")
    requires: list[FactText] = Field(default_factory=list, max_length=12, description="facts that must also hold")
    effects: list[FactText] = Field(
        min_length=1, max_length=12, description="facts made true; each replaces a fact of requires"
    )
    text: Text = Field(default="", description="printed when it happens")

    _text = field_validator("text")(_check_text)


class LoseCondition(_Strict):
    """A way to lose (spec 1.1): when its facts all hold, the game ends, lost."""

    when: list[FactText] = Field(min_length=1, max_length=12, description="facts that must all hold")
    text: Text = Field(default="", description="printed when the game is lost this way")

    _text = field_validator("text")(_check_text)


class GameSpec(_Strict):
    """A complete game design. ``starling validate`` checks one; ``starling build`` compiles it."""

    _V11_FIELDS = ("lose", "every_turn", "reactions")

    spec_version: Literal["1.0", "1.1"] = Field(description="version of this schema: 1.1, or 1.0 for older specs")
    id: Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{1,47}$")] = Field(description="game id: a-z, 0-9, -")
    title: Annotated[str, Field(min_length=1, max_length=80)]
    objective: Text = Field(min_length=1)
    skills: list[Identifier] = Field(
        min_length=1, max_length=20, description="skills exercised, from game_seeds/skills.json"
    )
    difficulty: Literal["easy", "medium", "hard"] = "easy"
    start: Identifier = Field(description="id of the room the player starts in")
    rooms: list[Room] = Field(min_length=1, max_length=30)
    doors: list[Door] = Field(default_factory=list, max_length=30)
    objects: list[GameObject] = Field(default_factory=list, max_length=120)
    actions: list[Action] = Field(default_factory=list, max_length=50)
    goals: list[Goal] = Field(min_length=1, max_length=50)
    lose: list[LoseCondition] = Field(
        default_factory=list, max_length=20, description="lose conditions: the game ends, lost, when one holds"
    )
    every_turn: list[EveryTurn] = Field(
        default_factory=list, max_length=20, description="rules applied at the end of every turn, in order"
    )
    reactions: list[Reaction] = Field(
        default_factory=list, max_length=20, description="more effects of built-in actions on one object"
    )
    walkthrough: list[Annotated[str, Field(min_length=1, max_length=80, pattern=r"^[a-z0-9][a-z0-9 -]*$")]] = Field(
        min_length=1,
        max_length=MAX_WALKTHROUGH_COMMANDS,
        description="winning commands, lowercase, exactly as the game's commands read",
    )

    _title = field_validator("title")(_check_text)

    @field_validator("skills")
    @classmethod
    def _skills(cls, value: list[str]) -> list[str]:
        unknown = [s for s in value if s not in known_skills()]
        if unknown:
            raise ValueError(
                f"unknown skills {unknown}; the vocabulary (game_seeds/skills.json) has {sorted(known_skills())}"
            )
        return value

    _objective = field_validator("objective")(_check_text)

    @field_validator("walkthrough")
    @classmethod
    def _walkthrough(cls, value: list[str]) -> list[str]:
        for i, command in enumerate(value):
            blocked = _blocked_verb(command)
            if blocked:
                raise ValueError(f"step {i} {command!r}: {blocked}; a walkthrough plays the game's own commands")
        quoted = len(" / ".join(value))
        if quoted > MAX_QUOTED_CHARS:
            raise ValueError(
                f"the walkthrough's {len(value)} commands take {quoted:,} characters joined by ' / ' "
                f"(the game's test command quotes them so); the limit is {MAX_QUOTED_CHARS:,}: shorten the game"
            )
        return value

    @model_validator(mode="after")
    def _references(self) -> GameSpec:
        errors = self.check_references()
        if errors:
            raise ValueError("; ".join(f"{path}: {msg}" for path, msg in errors))
        return self

    # -- lookups -----------------------------------------------------------------------------
    @property
    def room_ids(self) -> set[str]:
        return {r.id for r in self.rooms}

    def fixed(self, obj: GameObject) -> bool:
        """Whether ``obj`` stays where it starts (it must start in a room)."""
        kinds = (ObjectKind.container, ObjectKind.supporter, ObjectKind.device, ObjectKind.scenery, ObjectKind.animate)
        return obj.kind in kinds and not obj.portable

    def object(self, obj_id: str) -> GameObject | None:
        return next((o for o in self.objects if o.id == obj_id), None)

    def carried_part(self, obj: GameObject) -> bool:
        """Whether ``obj`` is a part of a portable thing (a pocket): the logic gives it no place of its own."""
        whole = self.object(obj.location) if obj.part else None
        return whole is not None and whole.kind in PORTABLE_WHOLE_KINDS

    def door(self, door_id: str) -> Door | None:
        return next((d for d in self.doors if d.id == door_id), None)

    def state_values(self, state: str) -> set[str]:
        """All values any object declares for the custom state named ``state``."""
        return {v for o in self.objects if state in o.states for v in o.states[state].values}

    # -- semantic checks ---------------------------------------------------------------------
    def check_references(self) -> list[tuple[str, str]]:
        """Return (json path, message) for every dangling or ill-typed reference."""
        errors: list[tuple[str, str]] = []
        rooms = self.room_ids
        objects = {o.id: o for o in self.objects}
        errors += self._check_version()
        errors += self._check_unique_ids()
        names = [o.name for o in self.objects] + [d.name for d in self.doors]
        dup_names = sorted({n for n in names if names.count(n) > 1})
        if dup_names:
            errors.append(("$.objects", f"object and door names must be unique: {dup_names}"))
        for i, obj in enumerate(self.objects):
            for synonym in obj.synonyms:
                if synonym in names or sum(synonym in o.synonyms for o in self.objects) > 1:
                    errors.append((f"$.objects[{i}].synonyms", f"{synonym!r} already names another object or door"))
        room_names = [r.name for r in self.rooms]
        if len(set(room_names)) != len(room_names):
            dupes = sorted({n for n in room_names if room_names.count(n) > 1})
            errors.append(("$.rooms", f"room names must be unique (Inform 7 names text after them): {dupes}"))
        if self.start not in rooms:
            errors.append(("$.start", f"unknown room {self.start!r}; rooms: {sorted(rooms)}"))

        for i, room in enumerate(self.rooms):
            errors += self._check_variants(f"$.rooms[{i}]", room.variants)
            for direction, dest in room.exits.items():
                path = f"$.rooms[{i}].exits.{direction.value}"
                other = next((r for r in self.rooms if r.id == dest), None)
                if other is None:
                    errors.append((path, f"unknown room {dest!r}"))
                elif other.exits.get(Direction(OPPOSITE[direction.value])) != room.id:
                    errors.append((path, f"room {dest!r} has no {OPPOSITE[direction.value]} exit back to {room.id!r}"))
        for i, door in enumerate(self.doors):
            path = f"$.doors[{i}]"
            a, b = door.between
            ra = next((r for r in self.rooms if r.id == a), None)
            if ra is None or b not in rooms:
                errors.append((f"{path}.between", f"unknown rooms in {list(door.between)}"))
            elif b not in ra.exits.values():
                errors.append((f"{path}.between", f"rooms {a!r} and {b!r} share no exit"))
            errors += self._check_key(path, door.status, door.key, objects)

        for i, obj in enumerate(self.objects):
            path = f"$.objects[{i}]"
            loc = obj.location
            holder = objects.get(loc)
            if obj.part:
                pass  # its whole: see _check_parts
            elif loc in ("player", "worn") or loc in rooms:
                pass
            elif holder is None:
                errors.append(
                    (f"{path}.location", f"unknown location {loc!r}: a room, container, supporter or 'player'")
                )
            elif holder.kind not in (ObjectKind.container, ObjectKind.supporter):
                errors.append(
                    (f"{path}.location", f"{loc!r} is a {holder.kind.value}; things go in containers or on supporters")
                )
            if self.fixed(obj) and loc not in rooms and not obj.part:
                errors.append((f"{path}.location", f"a {obj.kind.value} is fixed in place and must be in a room"))
            if obj.portable and holder is not None and holder.kind is not ObjectKind.supporter:
                errors.append(
                    (f"{path}.location", "a portable container starts in a room, on a supporter or with the player")
                )
            if obj.kind is ObjectKind.container:
                errors += self._check_key(path, obj.status, obj.key, objects)
            errors += self._check_variants(path, obj.variants)
        errors += self._check_containment_cycles()
        errors += self._check_parts()

        for i, action in enumerate(self.actions):
            errors += self._check_action(f"$.actions[{i}]", action)
        for i, goal in enumerate(self.goals):
            for j, text in enumerate(goal.when):
                errors += self._check_fact(f"$.goals[{i}].when[{j}]", text, "goal", slots={})
        for i, lose in enumerate(self.lose):
            for j, text in enumerate(lose.when):
                errors += self._check_fact(f"$.lose[{i}].when[{j}]", text, "goal", slots={})
        for i, rule in enumerate(self.every_turn):
            errors += self._check_world_rule(f"$.every_turn[{i}]", rule.requires, rule.effects)
        for i, reaction in enumerate(self.reactions):
            path = f"$.reactions[{i}]"
            if self.object(reaction.object) is None:
                errors.append((f"{path}.object", f"unknown object {reaction.object!r}"))
            errors += self._check_world_rule(path, reaction.requires, reaction.effects)
            for j, text in enumerate(reaction.effects):
                fact = _parse(text)
                if fact and fact_group(fact) == (reaction.object, "location"):
                    errors.append((f"{path}.effects[{j}]", f"{text!r}: the built-in action already moves it"))
        return errors

    def _check_parts(self) -> list[tuple[str, str]]:
        """A part names its whole in ``location``: a fixed thing in a room, or the one portable thing with parts,
        whose parts are containers (the logic reaches them wherever it is, but not inside another part)."""
        errors: list[tuple[str, str]] = []
        portable_wholes: set[str] = set()
        for i, obj in enumerate(self.objects):
            if not obj.part:
                continue
            whole = self.object(obj.location)
            path = f"$.objects[{i}].location"
            if whole is None:
                errors.append((path, f"a part names its whole in location: {obj.location!r} is not an object"))
            elif whole.part:
                errors.append((path, f"{whole.id!r} is itself a part: a part belongs to a whole that is not a part"))
            elif whole.kind in PORTABLE_WHOLE_KINDS:
                portable_wholes.add(whole.id)
                if obj.kind is not ObjectKind.container or obj.status not in (None, "open") or obj.key:
                    errors.append(
                        (
                            f"$.objects[{i}]",
                            f"a part of a portable {whole.kind.value} ({whole.id!r}) is a container that is always "
                            "open (a pocket): no other kind, no status and no key",
                        )
                    )
            elif whole.kind not in FIXED_WHOLE_KINDS or whole.portable:
                errors.append(
                    (
                        path,
                        f"{whole.id!r} is a {'portable container' if whole.portable else whole.kind.value}: parts "
                        "belong to fixed things (container, supporter, device, scenery, animate) or to portable "
                        "or clothing objects",
                    )
                )
        if len(portable_wholes) > 1:
            errors.append(
                (
                    "$.objects",
                    f"only one portable thing may have parts (here {sorted(portable_wholes)}): a portable thing "
                    "put into another's part would hold parts the logic cannot reach",
                )
            )
        parts = {o.id for o in self.objects if o.part}
        effects = [(f"$.actions[{i}]", a.effects) for i, a in enumerate(self.actions)]
        effects += [(f"$.every_turn[{i}]", r.effects) for i, r in enumerate(self.every_turn)]
        effects += [(f"$.reactions[{i}]", r.effects) for i, r in enumerate(self.reactions)]
        for path, text in ((f"{where}.effects[{j}]", t) for where, facts in effects for j, t in enumerate(facts)):
            fact = _parse(text)
            if fact and fact.subject in parts and fact_group(fact)[1] == "location":
                errors.append((path, f"{text!r}: {fact.subject!r} is a part: it stays with its whole"))
        return errors

    def _check_world_rule(self, path: str, requires: list[str], effects: list[str]) -> list[tuple[str, str]]:
        """Every-turn rules and reactions: named objects only, and each effect replaces a stated fact, so that
        one TextWorld rule says exactly what happens."""
        errors: list[tuple[str, str]] = []
        for field, facts, use in (("requires", requires, "precondition"), ("effects", effects, "effect")):
            for j, text in enumerate(facts):
                errors += self._check_fact(f"{path}.{field}[{j}]", text, use, slots={})
                fact = _parse(text)
                if fact and fact.name in ("here", "player_in"):
                    errors.append(
                        (f"{path}.{field}[{j}]", f"{text!r}: the world's rules cannot depend on where the player is")
                    )
        stated = {fact_group(f) for f in map(_parse, requires) if f}
        for j, text in enumerate(effects):
            fact = _parse(text)
            if fact and fact_group(fact) not in stated:
                errors.append(
                    (
                        f"{path}.effects[{j}]",
                        f"{text!r}: state in requires what it replaces (e.g. the current value of the same state)",
                    )
                )
        return errors

    def _check_version(self) -> list[tuple[str, str]]:
        """A 1.0 spec may use none of the 1.1 constructs."""
        if self.spec_version != "1.0":
            return []
        parts: list[tuple[str, _Strict]] = [("$", self)]
        parts += [(f"$.rooms[{i}]", r) for i, r in enumerate(self.rooms)]
        parts += [(f"$.objects[{i}]", o) for i, o in enumerate(self.objects)]
        parts += [(f"$.actions[{i}]", a) for i, a in enumerate(self.actions)]
        return [
            (f"{path}.{name}", f"{name!r} is a spec 1.1 construct: set spec_version to '1.1'")
            for path, part in parts
            for name in part.v11_fields_used()
        ]

    def _check_variants(self, path: str, variants: list[Variant]) -> list[tuple[str, str]]:
        return [
            error
            for i, variant in enumerate(variants)
            for j, text in enumerate(variant.when)
            for error in self._check_fact(f"{path}.variants[{i}].when[{j}]", text, "precondition", slots={})
        ]

    def _check_unique_ids(self) -> list[tuple[str, str]]:
        """Rooms, doors and objects share one namespace in the built game; custom actions have their own."""
        errors: list[tuple[str, str]] = []
        things = [
            *((f"$.rooms[{i}]", r.id) for i, r in enumerate(self.rooms)),
            *((f"$.doors[{i}]", d.id) for i, d in enumerate(self.doors)),
            *((f"$.objects[{i}]", o.id) for i, o in enumerate(self.objects)),
        ]
        actions = [(f"$.actions[{i}]", a.name) for i, a in enumerate(self.actions)]
        for entries, field, what in ((things, "id", "id"), (actions, "name", "action name")):
            seen: dict[str, str] = {}
            for path, name in entries:
                if field == "id" and name in ("player", "worn"):
                    errors.append((f"{path}.id", f"{name!r} is reserved (it names a location): rename it"))
                elif name in seen:
                    errors.append(
                        (f"{path}.{field}", f"{name!r} is already the {what} of {seen[name]}: give each its own {what}")
                    )
                else:
                    seen[name] = path
        return errors

    def _check_key(self, path: str, status: str | None, key: str | None, objects: dict) -> list[tuple[str, str]]:
        if key is None:
            return [(f"{path}.key", "a locked container or door needs a key")] if status == "locked" else []
        if key not in objects or objects[key].kind is not ObjectKind.key:
            return [(f"{path}.key", f"{key!r} is not an object of kind key")]
        return []

    def _check_containment_cycles(self) -> list[tuple[str, str]]:
        objects = {o.id: o for o in self.objects}
        for obj in self.objects:
            seen, loc = {obj.id}, obj.location
            while loc in objects:
                if loc in seen:
                    return [("$.objects", f"objects contain each other in a cycle through {obj.id!r}")]
                seen.add(loc)
                loc = objects[loc].location
        return []

    def _check_action(self, path: str, action: Action) -> list[tuple[str, str]]:
        errors: list[tuple[str, str]] = []
        for where, command in [(f"{path}.command", action.command)] + [
            (f"{path}.synonyms[{i}]", c) for i, c in enumerate(action.synonyms)
        ]:
            template = template_slots(command)
            if sorted(template) != sorted(action.slots) or len(set(template)) != len(template):
                errors.append((where, f"placeholders {template} must name each slot {sorted(action.slots)} once"))
        for slot in action.slots:
            if slot in self.room_ids or self.object(slot) or self.door(slot):
                errors.append((f"{path}.slots.{slot}", "a slot name must not also be an object, door or room id"))
        requires = []
        for j, text in enumerate(action.requires):
            errs = self._check_fact(f"{path}.requires[{j}]", text, "precondition", action.slots)
            errors += errs
            requires.append(text)
        for j, text in enumerate(action.effects):
            errors += self._check_fact(f"{path}.effects[{j}]", text, "effect", action.slots)
        for key in action.failures:
            if key not in requires:
                errors.append((f"{path}.failures", f"{key!r} is not one of the action's requires"))
        texts = [(f"{path}.success", action.success)] + [(f"{path}.failures", t) for t in action.failures.values()]
        for where, text in texts:
            for match in _PLACEHOLDER_RE.finditer(text):
                if match.group(1) not in action.slots:
                    errors.append((where, f"placeholder {{{match.group(1)}}} names no slot"))
        return errors

    def _check_fact(self, path: str, text: str, use: str, slots: dict[str, Slot]) -> list[tuple[str, str]]:
        try:
            fact = Fact.parse(text)
        except FactSyntaxError as exc:
            return [(path, str(exc))]
        allowed = getattr(FACTS[fact.name], use)
        if not allowed:
            return [(path, f"{fact.name}(...) cannot be used as {'an' if use == 'effect' else 'a'} {use}")]
        roles = FACTS[fact.name].args
        if fact.name == "state":
            roles = ("thing",)
        for arg, role in zip(fact.args, roles, strict=False):  # state(obj, name): the name is checked below
            err = self._check_arg(arg, role, slots, use)
            if err:
                return [(path, f"{text!r}: {err}")]
        if fact.name == "state":
            obj_id, state = fact.args
            obj = self.object(obj_id)
            if obj is not None:
                if state not in obj.states:
                    return [(path, f"{obj_id!r} has no state {state!r}; it has {sorted(obj.states)}")]
                if fact.value not in obj.states[state].values:
                    return [(path, f"{fact.value!r} is not a value of {obj_id}.{state}: {obj.states[state].values}")]
            elif not self.state_values(state):
                return [(path, f"no object has a state named {state!r}")]
            elif fact.value not in self.state_values(state):
                return [(path, f"{fact.value!r} is not a value of state {state!r}: {sorted(self.state_values(state))}")]
        return []

    def _check_arg(self, arg: str, role: str, slots: dict[str, Slot], use: str) -> str | None:
        if arg in slots:
            kind = slots[arg].kind
            if role in ("room",):
                return f"slot {arg!r} stands for an object, not a room"
            if role in ("container", "supporter", "device", "clothing") and kind is not ObjectKind(role):
                return f"slot {arg!r} must declare kind {role!r} to be used here"
            if role == "holder" and kind is not ObjectKind.container:
                return f"slot {arg!r} must declare kind 'container' to be used here"
            return None
        if role == "room":
            return None if arg in self.room_ids else f"unknown room {arg!r}"
        if role == "holder":
            obj = self.object(arg)
            if self.door(arg) and use == "effect":
                return f"{arg!r} is a door: doors open, close and lock only through the built-in commands"
            if obj and obj.portable:
                return f"{arg!r} is a portable container: it is always open"
            if obj and self.carried_part(obj):
                return f"{arg!r} is a part of a portable thing: it is always open"
            if self.door(arg) or (obj and obj.kind is ObjectKind.container):
                return None
            return f"{arg!r} is not a container or door"
        obj = self.object(arg)
        if obj is None:
            return f"unknown object {arg!r} (not a slot of this action either)"
        if role != "thing" and obj.kind is not ObjectKind(role):
            return f"{arg!r} is a {obj.kind.value}, not a {role}"
        return None

    # -- IO ----------------------------------------------------------------------------------
    @classmethod
    def load(cls, path: str | Path) -> GameSpec:
        """Read and validate a spec file; raises :class:`SpecError` with JSON paths on failure, never another error."""
        return cls.parse_text(read_spec_text(path))

    @classmethod
    def parse_text(cls, text: str) -> GameSpec:
        """Validate spec JSON text; raises :class:`SpecError` with JSON paths on failure, never another error."""
        try:
            data = loads_untrusted(text.removeprefix("\ufeff"), SPEC_JSON)
        except JSONLimitError as exc:
            raise SpecError([(exc.path, f"not a usable spec: {exc.message}")]) from None
        except json.JSONDecodeError as exc:
            raise SpecError([("$", f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})")]) from None
        return cls.from_data(data)

    @classmethod
    def from_data(cls, data: Any) -> GameSpec:  # any JSON data (`object` here would name the method)
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise SpecError.from_validation(exc) from None
        except (RecursionError, MemoryError) as exc:  # data not from parse_text can still be too large
            raise SpecError([("$", f"the spec is too large to check: {type(exc).__name__}")]) from None

    def to_json(self) -> str:
        """Canonical JSON (sorted keys, defaults included): the form that is hashed and stored."""
        return json.dumps(self.model_dump(mode="json"), indent=2, sort_keys=True) + "\n"


def _parse(text: str) -> Fact | None:
    try:
        return Fact.parse(text)
    except FactSyntaxError:
        return None


def read_spec_text(path: str | Path) -> str:
    """The text of a spec file, which must be UTF-8; raises :class:`SpecError` for a file that cannot be read."""
    limit = SPEC_JSON.max_chars * 4  # bytes: UTF-8 takes at most four per character
    try:
        with open(path, "rb") as f:
            raw = f.read(limit + 1)
    except OSError as exc:
        raise SpecError([("$", f"cannot read {path}: {exc.strerror or exc}")]) from None
    if len(raw) > limit:
        raise SpecError([("$", f"{path} is over {limit:,} bytes: a spec cannot be this large")])
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        utf16 = raw.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in raw[:64]
        found = "it looks like UTF-16" if utf16 else f"{exc.reason} at byte {exc.start}"
        raise SpecError([("$", f"{path} is not UTF-8 text ({found}): save it as UTF-8")]) from None


class SpecError(ValueError):
    """A spec that fails validation. ``errors`` holds (json path, message) pairs."""

    def __init__(self, errors: list[tuple[str, str]]):
        self.errors = errors
        super().__init__("\n".join(f"{path}: {msg}" for path, msg in errors))

    @classmethod
    def from_validation(cls, exc: ValidationError) -> SpecError:
        errors = []
        for err in exc.errors():
            path = "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err["loc"])
            msg = err["msg"].removeprefix("Value error, ")
            if err["type"] == "value_error" and err["loc"] == () and ": " in msg:
                # Model-level reference errors already carry their own paths.
                for part in msg.split("; $"):
                    sub_path, _, sub_msg = part.partition(": ")
                    errors.append((sub_path if sub_path.startswith("$") else "$" + sub_path, sub_msg))
                continue
            if err["type"] in ("too_long", "string_too_long"):
                msg += ": shorten it"
            errors.append((path, msg))
        return cls(errors)


def json_schema() -> dict:
    """The exported JSON schema of a GameSpec (what LLM prompts and editors use)."""
    schema = GameSpec.model_json_schema()
    schema["$id"] = f"https://starling-env.org/schema/gamespec-{SPEC_VERSION}.json"
    return schema

"""The text-fidelity gate: what the player reads must agree with the game.

:func:`check_text` returns the text failures of a spec (and of its compiled game, when given):

- ``text_unknown_noun``: the objective or a goal text names a thing (a word or phrase of the household
  lexicon, or one of the spec's own ids, which keep the names things had before any renaming) that is no
  object, door or room of the game under that name ("Find the pot" when the pot is called casserole);
- ``text_article``: an object whose name reads as plural or as a mass noun gets the indefinite article
  "a" ("a wellies", "a butter"): set ``plural`` or ``article`` (GameSpec 1.1);
- ``text_fixed_on_floor``: the compiled game's ``look`` lists a fixed thing (stove, sink) as lying on the floor;
- ``text_missing_exit``: a room's text names a compass direction the room has no exit to;
- ``text_unmentioned_door``: a room's ``look`` never names a door of that room.

The noun check is built for few false positives: it only looks at known thing names, a name matches when
one phrase's words hold the other's, and generic phrases are left alone (``every plant``, measures such as
``a cup of tea``, and words the spec uses as command words or state names, like ``water``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from ..spec import GameSpec
from ..spec.model import ObjectKind
from .failures import Failure, FailureKind

if TYPE_CHECKING:
    from ..envs.engine import Engine

# Household nouns beyond the generator's vocabulary, so a spec written by hand or by an LLM is checked too
# ("_" joins the words of a two-word name).
HOUSEHOLD_NOUNS = """
    apron armchair attic backpack bag balcony basin basket bath bathroom bathtub bed bedroom bench bin blanket
    blender board bookcase bookshelf boots bottle bowl box broom brush bucket cabinet carpet cellar chair chest
    closet coat colander conservatory corridor couch counter cup cupboard curtain cushion den desk dining_room
    dining_table dishwasher door drying_rack drawer dresser dryer dustpan flowerpot fork freezer fridge frying_pan
    garage garden glass glove hallway hamper hanger hat hob hose hall iron jar jug kennel kettle key kitchen knife
    ladder ladle lamp landing laundry_basket laundry_room leash lid living_room lounge microwave mop mug napkin
    nightstand oven pan pantry patio pillow pitcher plate porch pot radiator rack raincoat rake refrigerator
    saucepan scarf shed sheet shelf shoe shovel sink sofa spatula sponge spoon stool stove study table tap teapot
    tin toaster towel tray trowel tub umbrella utility_room vase wardrobe washing_machine watering_can wheelbarrow
    window yard
""".split()

# Words that end a lexicon phrase's use as a head word (the "can" of "watering can" is also a verb).
_NOT_HEADS = frozenset("can room stand up out off on in".split())
_QUANTIFIERS = frozenset("every each any all".split())  # "water every plant": a category, not a thing
FIXED_KINDS = frozenset(
    {ObjectKind.container, ObjectKind.supporter, ObjectKind.device, ObjectKind.scenery, ObjectKind.animate}
)
FLOOR_COVERINGS = frozenset("rug mat doormat carpet".split())  # fixed things that do lie on the floor
COMPASS = ("north", "south", "east", "west")
_DIRECTION = re.compile(r"\b(north|south|east|west)(?:ward|wards|ern)?\b|\b(north|south)-?(east|west)\b")

# Plural and mass nouns that take no "a": words ending in s that are singular, and plural-only nouns.
_SINGULAR_S = frozenset(
    "asparagus atlas bus cactus canvas chaos citrus couscous gas hummus iris lens news octopus walrus".split()
)
MASS_NOUNS = frozenset(
    """bacon bread butter cereal cheddar cheese chocolate coffee compost cream cutlery detergent dough flour foil
    fertiliser gouda brie glue ham honey jam juice ketchup kibble laundry lettuce linguine liquid margarine
    mayonnaise meat milk mustard oil pasta penne pepper polish powder rice rubbish salt sand sauce shampoo soap
    soil soup spaghetti fettuccine sugar tea toast toothpaste trash water yoghurt yogurt""".split()
)
_TOKEN = re.compile(r"[a-z0-9][a-z0-9-]*|[.,;:!?]")  # words, and the punctuation that ends a clause
_CLAUSE_STARTS = frozenset(". , ; : ! ? and then to".split())  # where an imperative verb stands


def singular(word: str) -> str:
    """A crude singular, enough to match 'plates' with 'plate' (both sides of a match go through it)."""
    if word in _SINGULAR_S or len(word) < 4:
        return word
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith(("ches", "shes", "sses", "xes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def looks_plural(name: str) -> bool:
    """Whether a name's last word reads as a plural noun ('wellies', 'house shoes'; not 'glass', 'cactus')."""
    return singular(name.split()[-1]) != name.split()[-1]


def _phrase(text: str) -> tuple[str, ...]:
    """A name as the words the checks compare (singular, no punctuation)."""
    return tuple(singular(w) for w in _TOKEN.findall(text.lower().replace("_", " ")) if w[0].isalnum())


# -- the noun check -------------------------------------------------------------------------------
@cache
def household_lexicon() -> frozenset[tuple[str, ...]]:
    """Thing names of the project's vocabulary (the offline generator's word lists) and HOUSEHOLD_NOUNS."""
    vocabulary = json.loads((resources.files("starling_env.generate") / "vocabulary.json").read_text("utf-8"))
    names: list[str] = list(HOUSEHOLD_NOUNS)
    for name, synonyms in vocabulary["synonyms"].items():
        names += [name, *synonyms]
    names += vocabulary["hiding_places"] + vocabulary["keys"] + [r["name"] for r in vocabulary["rooms"]]
    names += [n for group in vocabulary["distractors"].values() for n in group]
    return frozenset(_phrase(n) for n in names if n.strip())


def _named(spec: GameSpec) -> list[tuple[str, list[str]]]:
    """Every room, door and object of the spec as (id, [name, synonyms...])."""
    return (
        [(r.id, [r.name]) for r in spec.rooms]
        + [(d.id, [d.name]) for d in spec.doors]
        + [(o.id, [o.name, *o.synonyms]) for o in spec.objects]
    )


def thing_lexicon(spec: GameSpec) -> set[tuple[str, ...]]:
    """Phrases that name things: the household lexicon, the spec's ids, names and synonyms, and head words."""
    phrases = set(household_lexicon())
    for item_id, names in _named(spec):
        phrases |= {_phrase(item_id)} | {_phrase(n) for n in names}
    heads = {(p[-1],) for p in phrases if len(p) > 1 and p[-1] not in _NOT_HEADS}
    return {p for p in phrases | heads if p}


def non_thing_words(spec: GameSpec) -> set[str]:
    """Words the spec itself uses for something else than things: command words, state names and values."""
    words: set[str] = set()
    for action in spec.actions:
        for command in [action.command, *action.synonyms]:
            words |= set(_phrase(re.sub(r"\{[^}]*\}", " ", command)))
    for obj in spec.objects:
        for state, var in obj.states.items():
            words |= set(_phrase(state)) | {w for v in var.values for w in _phrase(v)}
    return words


def name_mentions(text: str, lexicon: set[tuple[str, ...]], skip: Iterable[str] = ()) -> list[str]:
    """The thing names ``text`` mentions, longest phrase first, as written; generic uses and ``skip`` words
    left out: after a quantifier ('every plant'), amounts ('a cup of tea') and one word in a verb's place at
    the start of a clause ('Bag up the rubbish', 'iron the shirt')."""
    raw = _TOKEN.findall(text.lower())
    words = [singular(w) for w in raw]
    longest, skipped = max(map(len, lexicon), default=1), set(skip)
    found, i = [], 0
    while i < len(words):
        size = next((n for n in range(min(longest, len(words) - i), 0, -1) if tuple(words[i : i + n]) in lexicon), 0)
        if not size:
            i += 1
            continue
        phrase, before = words[i : i + size], words[i - 1] if i else "."
        after = words[i + size] if i + size < len(words) else ""
        generic = (
            before in _QUANTIFIERS
            or (before in ("a", "an") and after == "of")
            or (size == 1 and before in _CLAUSE_STARTS)
            or set(phrase) <= skipped
        )
        if not generic:
            found.append(" ".join(raw[i : i + size]))
        i += size
    return found


def _resolves(mention: tuple[str, ...], names: Iterable[tuple[str, ...]]) -> bool:
    """A mention names a thing when its words are all in the thing's name ('pot' -> 'metal pot'), or the
    name's words are all in it with the same last word ('dish soap' -> 'soap')."""
    m = set(mention)
    return any(m <= set(n) or (set(n) <= m and n[-1] == mention[-1]) for n in names if n)


def check_nouns(spec: GameSpec) -> list[Failure]:
    """The objective and goal texts name only things of the game (objects, doors, rooms; names or synonyms)."""
    named = _named(spec)
    names = [_phrase(n) for _, item_names in named for n in item_names]
    lexicon, skip = thing_lexicon(spec), non_thing_words(spec)
    renamed = {_phrase(i): n[0] for i, n in named if _phrase(i) != _phrase(n[0])}
    texts = [("$.objective", spec.objective)] + [(f"$.goals[{i}].text", g.text) for i, g in enumerate(spec.goals)]
    failures = []
    for path, text in texts:
        unknown = list(dict.fromkeys(m for m in name_mentions(text, lexicon, skip) if not _resolves(_phrase(m), names)))
        if unknown:
            hints = [f"{m!r} is called {renamed[_phrase(m)]!r}" for m in unknown if _phrase(m) in renamed]
            failures.append(
                Failure(
                    kind=FailureKind.text_unknown_noun,
                    path=path,
                    message=f"names {', '.join(map(repr, unknown))}, which no object, door or room of the game is "
                    "called"
                    + (f" ({'; '.join(hints)})" if hints else "")
                    + ": use the names the player can type (or add them as synonyms)",
                )
            )
    return failures


# -- articles -------------------------------------------------------------------------------------
def check_articles(spec: GameSpec) -> list[Failure]:
    """No 'a' before a plural or mass noun, none before a vowel-less mismatch ('a apple' when set by hand)."""
    fix = "set plural: true" if spec.spec_version != "1.0" else "in GameSpec 1.1, set plural: true"
    failures = []
    for i, obj in enumerate(spec.objects):
        head = obj.name.split()[-1]
        article = obj.article or ("some" if obj.plural else None)
        problem = None
        if article is None and looks_plural(obj.name):
            problem = f"'{obj.name}' reads as plural but the game says 'a {obj.name}': {fix} (or an article)"
        elif article is None and head in MASS_NOUNS:
            problem = f"'{obj.name}' is a mass noun but the game says 'a {obj.name}': set article 'some'"
        elif article in ("a", "an") and (obj.plural or looks_plural(obj.name) or head in MASS_NOUNS):
            problem = f"article {article!r} before the plural or mass noun '{obj.name}'"
        elif article in ("a", "an") and (article == "an") != (obj.name[0] in "aeiou"):
            problem = f"article {article!r} before '{obj.name}': leave it out, the game picks a or an"
        if problem:
            path = f"$.objects[{i}].article" if obj.article else f"$.objects[{i}]"
            failures.append(Failure(kind=FailureKind.text_article, path=path, message=problem))
    return failures


# -- exits named in room texts ---------------------------------------------------------------------
def check_exits(spec: GameSpec) -> list[Failure]:
    """Every compass direction a room's description (or variant) names is one of the room's exits."""
    failures = []
    for i, room in enumerate(spec.rooms):
        exits = {d.value if hasattr(d, "value") else str(d) for d in room.exits}
        texts = [(f"$.rooms[{i}].description", room.description)]
        texts += [(f"$.rooms[{i}].variants[{j}].text", v.text) for j, v in enumerate(room.variants)]
        for path, text in texts:
            named = list(dict.fromkeys(m.group(0).lower() for m in _DIRECTION.finditer(text.lower())))
            missing = [d for d in named if _compass(d) not in exits]
            if missing:
                failures.append(
                    Failure(
                        kind=FailureKind.text_missing_exit,
                        path=path,
                        message=f"room {room.id!r} mentions {', '.join(missing)}, but its exits are "
                        f"{sorted(exits) or 'none'}: describe only exits that exist",
                    )
                )
    return failures


def _compass(word: str) -> str:
    """The exit a direction word names ('northern' -> 'north'); a diagonal names no exit a spec can have."""
    return next((d for d in COMPASS if word.startswith(d) and not word[len(d) :].lstrip("-").startswith(COMPASS)), "")


# -- what look shows (played) ----------------------------------------------------------------------
def room_looks(engine: Engine, spec: GameSpec, max_states: int = 400) -> dict[str, str]:
    """The ``look`` text of every room the player can walk to, by room id.

    From the start and then from each state along the walkthrough (which may unlock doors or fetch keys),
    a breadth-first search over moves (``go``, opening and unlocking doors) looks once in each new room.
    """
    room_ids = {r.name: r.id for r in spec.rooms}
    doors = tuple(d.name for d in spec.doors)
    looks: dict[str, str] = {}
    seen: set[frozenset] = set()

    def moves(command: str) -> bool:
        return command.startswith("go ") or any(command.startswith((f"open {d}", f"unlock {d} with")) for d in doors)

    def explore() -> None:
        start = engine.snapshot()
        frontier = [start]
        while frontier and len(looks) < len(room_ids) and len(seen) < max_states:
            node = frontier.pop(0)
            engine.restore(node)
            room = room_ids.get(engine.location() or "")
            if room is not None and room not in looks:
                looks[room] = engine.step("look")
                engine.restore(node)
            for command in engine.admissible_commands():
                if moves(command):
                    engine.restore(node)
                    said = engine.step(command)
                    key = _moving_state(engine)
                    if engine.won or engine.lost:  # no look after the end: entering a room prints what look does
                        looks.setdefault(room_ids.get(engine.location() or "", ""), said)
                    elif key not in seen:
                        seen.add(key)
                        frontier.append(engine.snapshot())
        engine.restore(start)
        looks.pop("", None)

    engine.reset()
    explore()
    for command in spec.walkthrough[:-1]:  # the last command ends the game
        if len(looks) == len(room_ids):
            break
        engine.step(command)
        explore()
    return looks


def _moving_state(engine: Engine) -> frozenset:
    """What decides where the player can walk: where they are, what they carry, and the doors' states."""
    facts = engine.progression.state.facts
    return frozenset(f for f in facts if any(a.type in ("P", "I", "d") for a in f.arguments))


_FLOOR = re.compile(r"There (?:is|are) (.+?) on the floor\.", re.DOTALL)


def floor_items(look: str) -> list[str]:
    """The things a ``look`` text lists as lying on the floor, as printed (articles included)."""
    return [item.strip() for m in _FLOOR.finditer(look) for item in re.split(r",\s*|\s+and\s+", " ".join(m[1].split()))]


def check_floor(spec: GameSpec, looks: dict[str, str]) -> list[Failure]:
    """No fixed thing (stove, sink: scenery, devices, furniture) is listed as lying on the floor."""
    failures = []
    for i, obj in enumerate(spec.objects):
        if obj.kind not in FIXED_KINDS or obj.portable or obj.location not in looks:
            continue
        if obj.name.split()[-1] in FLOOR_COVERINGS:
            continue
        articles = ("a", "an", "some", "the", *([obj.article] if obj.article else []))
        items = floor_items(looks[obj.location])
        if any(item == obj.name or item in (f"{a} {obj.name}" for a in articles) for item in items):
            failures.append(
                Failure(
                    kind=FailureKind.text_fixed_on_floor,
                    path=f"$.objects[{i}]",
                    message=f"look in {obj.location!r} lists the {obj.kind.value} '{obj.name}', which is fixed in "
                    f"place, as lying on the floor: {_FLOOR.search(looks[obj.location])[0]!r}",  # type: ignore[index]
                )
            )
    return failures


def check_doors(spec: GameSpec, looks: dict[str, str]) -> list[Failure]:
    """Every door is named by ``look`` in each of its two rooms (the room text may say 'the oak door')."""
    failures = []
    for i, door in enumerate(spec.doors):
        pattern = re.compile(rf"(?<![a-z0-9-]){re.escape(door.name)}(?![a-z0-9-])")
        silent = [r for r in dict.fromkeys(door.between) if r in looks and not pattern.search(looks[r].lower())]
        if silent:
            failures.append(
                Failure(
                    kind=FailureKind.text_unmentioned_door,
                    path=f"$.doors[{i}]",
                    message=f"look in {', '.join(map(repr, silent))} never names the door '{door.name}': mention "
                    "it in the room's description",
                )
            )
    return failures


# -- the gate --------------------------------------------------------------------------------------
def check_text(spec: GameSpec, game: Path | str | Engine | None = None, *, max_states: int = 400) -> list[Failure]:
    """The text failures of ``spec``; with ``game`` (a game folder, its ``game.z8``, or an open Engine) also
    those of what the compiled game's ``look`` shows in every room the player can reach."""
    failures = check_nouns(spec) + check_articles(spec) + check_exits(spec)
    if game is None:
        return failures
    from ..envs.engine import Engine

    if isinstance(game, Engine):
        looks = room_looks(game, spec, max_states)
    else:
        z8 = Path(game) / "game.z8" if Path(game).is_dir() else Path(game)
        engine = Engine(z8)
        try:
            looks = room_looks(engine, spec, max_states)
        finally:
            engine.close()
    return failures + check_floor(spec, looks) + check_doors(spec, looks)

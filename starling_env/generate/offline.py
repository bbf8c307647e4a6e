"""The offline backend: new games from the seeds' example specs, with no network and no model.

Each candidate is the example spec of its seed(s) put through seeded transformations, each of which
keeps the walkthrough winning: names from vocabularies, distractor objects, extra rooms (and a new
start room with the way back prepended to the walkthrough), items hidden in closed or locked
containers (with the opening, unlocking and key taking added), and the composition of several
seeds into one longer game (the paper's "trees of skills"). Verification is still the judge: a
transformation that went wrong fails there, and the pipeline retries with the next attempt number.
"""

from __future__ import annotations

import copy
import hashlib
import json
import random
import re
from collections import deque
from collections.abc import Iterable
from collections.abc import Set as AbstractSet
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from ..spec import Fact, GameSpec
from ..spec.model import OPPOSITE, RESERVED_VERBS
from .seeds import Seed

if TYPE_CHECKING:
    from .pipeline import Task

Spec = dict[str, Any]  # a GameSpec as JSON data, edited in place by the transformations below
DIRECTIONS = ("north", "south", "east", "west")


@cache
def vocabulary() -> dict[str, Any]:
    return json.loads((resources.files("starling_env.generate") / "vocabulary.json").read_text(encoding="utf-8"))


@cache
def difficulty_knobs() -> dict[str, dict[str, Any]]:
    """How much each tier varies a seed (ranges are inclusive)."""
    return {
        "easy": {
            "rename": 0.3,
            "distractors": (0, 1),
            "rooms": (0, 0),
            "move_start": 0.0,
            "hide": (0, 0),
            "locked": 0.0,
            "one_room": True,
        },
        "medium": {
            "rename": 0.5,
            "distractors": (1, 3),
            "rooms": (1, 2),
            "move_start": 0.5,
            "hide": (1, 1),
            "locked": 0.0,
        },
        "hard": {
            "rename": 0.5,
            "distractors": (2, 4),
            "rooms": (1, 3),
            "move_start": 0.7,
            "hide": (1, 2),
            "locked": 1.0,
            "min_rooms": 5,
            "locked_door": True,
            "min_walkthrough": 20,
        },
    }


# -- names ----------------------------------------------------------------------------------------
def _pattern(names: list[str]) -> re.Pattern:
    """Whole-name matches, longest first, so 'kitchen bin' wins over 'bin'."""
    alternatives = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
    return re.compile(rf"(?<![a-z0-9-])(?:{alternatives})(?![a-z0-9-])")


def object_names(spec: Spec) -> list[str]:
    return [o["name"] for o in spec["objects"]] + [d["name"] for d in spec.get("doors", [])]


def _command_words(spec: Spec) -> set[str]:
    """The literal words of the custom command templates."""
    return {w for a in spec.get("actions", []) for w in re.sub(r"\{[^}]*\}", " ", a["command"]).split()}


def fits(name: str, spec: Spec) -> bool:
    """Can ``name`` join ``spec`` without the parser confusing it with another name or command word?"""
    words = set(name.split())
    if words & (_command_words(spec) | RESERVED_VERBS):
        return False
    taken = object_names(spec) + [n for o in spec["objects"] for n in o.get("synonyms", [])]  # spec 1.1 synonyms
    return not any(words <= set(other.split()) or set(other.split()) <= words for other in taken)


def _literal_names(spec: Spec) -> set[str]:
    """Names that also occur word for word in a custom command template (renaming would break it)."""
    literals = [re.sub(r"\{[^}]*\}", "|", a["command"]) for a in spec.get("actions", [])]
    return {n for n in object_names(spec) if any(_pattern([n]).search(text) for text in literals)}


def _checks_text(spec: Spec) -> bool:
    """Whether the verifier checks that the spec's texts name only things of the game (spec 1.1 on)."""
    return spec.get("spec_version", "1.0") != "1.0"


def rename(spec: Spec, mapping: dict[str, str]) -> None:
    """Rename objects and doors (name -> name) and rewrite the walkthrough (and, where the verifier reads
    them, the objective and goal texts) to match."""
    if not mapping:
        return
    pattern = _pattern(object_names(spec))  # every name, so 'umbrella' never matches inside 'umbrella stand'

    def sub(text: str) -> str:
        return pattern.sub(lambda m: mapping.get(m.group(0), m.group(0)), text)

    spec["walkthrough"] = [sub(c) for c in spec["walkthrough"]]
    if _checks_text(spec):
        spec["objective"] = sub(spec["objective"])
        for goal in spec["goals"]:
            if "text" in goal:
                goal["text"] = sub(goal["text"])
    for item in spec["objects"] + spec.get("doors", []):
        item["name"] = mapping.get(item["name"], item["name"])
        if item.get("synonyms"):  # spec 1.1: a synonym chosen as the new name is the name now
            item["synonyms"] = [n for n in item["synonyms"] if n != item["name"]]


def _fresh_name(spec: Spec, options: list[str], rng: random.Random) -> str | None:
    """One of ``options`` (in random order) that :func:`fits` ``spec``."""
    fresh = [o for o in options if fits(o, spec)]
    return rng.choice(fresh) if fresh else None


def _new_name(spec: Spec, name: str, rng: random.Random) -> str | None:
    """A new name for the thing called ``name``: a synonym, else an adjective in front."""
    others = {
        **spec,
        "objects": [o for o in spec["objects"] if o["name"] != name],
        "doors": [d for d in spec.get("doors", []) if d["name"] != name],
    }
    new = _fresh_name(others, vocabulary()["synonyms"].get(name, []), rng)
    if new is None and len(name) < 30:
        adjectives = [f"{adjective} {name}" for adjective in vocabulary()["adjectives"]]
        new = _fresh_name(others, adjectives, rng)
    return new


def vary_names(spec: Spec, rng: random.Random, probability: float) -> None:
    fixed = _literal_names(spec)
    for obj in spec["objects"]:
        if obj["name"] not in fixed and rng.random() < probability:
            new = _new_name(spec, obj["name"], rng)
            if new:
                rename(spec, {obj["name"]: new})  # at once, so later picks see the new name


# -- ids, rooms and objects ----------------------------------------------------------------------
def _ids(spec: Spec) -> set[str]:
    return (
        {r["id"] for r in spec["rooms"]} | {o["id"] for o in spec["objects"]} | {d["id"] for d in spec.get("doors", [])}
    )


def _new_id(spec: Spec, name: str) -> str:
    base = re.sub(r"[^a-z0-9]+", "_", name).strip("_")[:28] or "thing"
    candidate, n = base, 2
    while candidate in _ids(spec):
        candidate, n = f"{base}_{n}", n + 1
    return candidate


def _room(spec: Spec, room_id: str) -> dict:
    return next(r for r in spec["rooms"] if r["id"] == room_id)


def add_distractors(spec: Spec, rng: random.Random, count: int) -> None:
    holders = [o["id"] for o in spec["objects"] if o["kind"] == "supporter"]
    holders += [o["id"] for o in spec["objects"] if o["kind"] == "container" and o.get("status") == "open"]
    for _ in range(count):
        kind = rng.choice(["portable", "portable", "scenery"])
        name = _fresh_name(spec, vocabulary()["distractors"][kind], rng)
        if name is None:
            return
        location = rng.choice([r["id"] for r in spec["rooms"]])
        if kind == "portable" and holders and rng.random() < 0.4:
            location = rng.choice(holders)
        spec["objects"].append(
            {
                "id": _new_id(spec, name),
                "name": name,
                "kind": kind,
                "location": location,
                "description": f"Just an ordinary {name}.",
            }
        )


def add_rooms(spec: Spec, rng: random.Random, count: int) -> list[str]:
    """Attach ``count`` new rooms at free exits; return their ids."""
    added = []
    taken = {r["name"] for r in spec["rooms"]}
    options = [r for r in vocabulary()["rooms"] if r["name"] not in taken]
    rng.shuffle(options)
    for template in options[:count]:
        free = [(r, d) for r in spec["rooms"] for d in DIRECTIONS if d not in r.get("exits", {})]
        if not free:
            break
        anchor, direction = rng.choice(free)
        room_id = _new_id(spec, template["name"])
        anchor.setdefault("exits", {})[direction] = room_id
        spec["rooms"].append(
            {
                "id": room_id,
                "name": template["name"],
                "description": template["description"],
                "exits": {OPPOSITE[direction]: anchor["id"]},
            }
        )
        added.append(room_id)
    return added


def _open_doors(spec: Spec, commands: list[str]) -> set[frozenset]:
    """Room pairs whose door is open after ``commands`` (or that have no door)."""
    state = {d["name"]: d.get("status", "closed") == "open" for d in spec.get("doors", [])}
    for command in commands:
        for name in state:
            if command == f"open {name}":
                state[name] = True
            elif command == f"close {name}":
                state[name] = False
    return {frozenset(d["between"]) for d in spec.get("doors", []) if state[d["name"]]}


def path(
    spec: Spec, start: str, goal: str, passable_doors: AbstractSet[frozenset[str]] = frozenset()
) -> list[str] | None:
    """Shortest list of ``go <direction>`` commands from room ``start`` to ``goal``, or None."""
    doors = {frozenset(d["between"]) for d in spec.get("doors", [])}
    queue: deque[tuple[str, list[str]]] = deque([(start, [])])
    seen = {start}
    while queue:
        room, steps = queue.popleft()
        if room == goal:
            return steps
        for direction, nxt in sorted(_room(spec, room).get("exits", {}).items()):
            pair = frozenset((room, nxt))
            if nxt not in seen and (pair not in doors or pair in passable_doors):
                seen.add(nxt)
                queue.append((nxt, steps + [f"go {direction}"]))
    return None


def final_room(spec: Spec) -> str:
    """Where the player stands after the walkthrough."""
    room = spec["start"]
    for command in spec["walkthrough"]:
        if command.startswith("go "):
            room = _room(spec, room)["exits"][command[3:]]
    return room


def move_start(spec: Spec, rng: random.Random, candidates: list[str]) -> None:
    """Start in one of ``candidates`` and walk back to the old start first."""
    rng.shuffle(candidates)
    for room in candidates:
        steps = path(spec, room, spec["start"])
        if steps:
            spec["start"] = room
            spec["walkthrough"] = steps + spec["walkthrough"]
            return


def hide_item(spec: Spec, rng: random.Random, locked: bool) -> bool:
    """Put an item the walkthrough picks up from the floor or a supporter into a new closed (or
    locked) container in the same room, and add the opening (and key taking and unlocking)."""
    rooms = {r["id"] for r in spec["rooms"]}
    supporters = {o["id"]: o for o in spec["objects"] if o["kind"] == "supporter"}
    options = []
    for obj in spec["objects"]:
        if obj["kind"] not in ("portable", "food", "clothing", "key"):
            continue
        if obj["location"] in rooms:
            room, first_take = obj["location"], f"take {obj['name']}"
        elif obj["location"] in supporters:
            holder = supporters[obj["location"]]
            room, first_take = holder["location"], f"take {obj['name']} from {holder['name']}"
        else:
            continue
        mentions = [i for i, c in enumerate(spec["walkthrough"]) if _pattern([obj["name"]]).search(c)]
        if mentions and spec["walkthrough"][mentions[0]] == first_take:
            options.append((obj, room, mentions[0]))
    if not options:
        return False
    obj, room, step = rng.choice(options)
    name = _fresh_name(spec, vocabulary()["hiding_places"], rng)
    if name is None:
        return False
    box = {
        "id": _new_id(spec, name),
        "name": name,
        "kind": "container",
        "location": room,
        "status": "closed",
        "description": f"A {name}.",
    }
    spec["objects"].append(box)
    commands = [f"open {name}", f"take {obj['name']} from {name}"]
    if locked:
        key_name = _fresh_name(spec, vocabulary()["keys"], rng)
        if key_name is not None:
            key = {
                "id": _new_id(spec, key_name),
                "name": key_name,
                "kind": "key",
                "location": room,
                "description": f"A {key_name}.",
            }
            spec["objects"].append(key)
            box["status"], box["key"] = "locked", key["id"]
            commands = [f"take {key_name}", f"unlock {name} with {key_name}"] + commands
    obj["location"] = box["id"]
    spec["walkthrough"][step : step + 1] = commands
    return True


def collapse_to_one_room(spec: Spec) -> bool:
    """Everything in the start room: other rooms and doors go, and so do the walkthrough's moves,
    door commands and the goals about them; the walkthrough is cut where the last goal is met."""
    from ..builder.build import goal_steps_in_logic
    from ..builder.fidelity import check_nouns
    from ..spec import SpecError

    if len(spec["rooms"]) == 1:
        return True
    start, gone = spec["start"], {r["id"] for r in spec["rooms"]} - {spec["start"]}
    door_ids = {d["id"] for d in spec.get("doors", [])}
    door_names = {d["name"] for d in spec.get("doors", [])}
    trial = copy.deepcopy(spec)
    trial["rooms"] = [dict(_room(spec, start), exits={})]
    trial["doors"] = []
    for obj in trial["objects"]:
        if obj["location"] in gone:
            obj["location"] = start

    def keep(text: str) -> bool:
        fact = Fact.parse(text)
        return not (set(fact.args) & (gone | door_ids)) and fact.name != "player_in"

    def here(text: str) -> str:
        fact = Fact.parse(text)
        return str(Fact("at", (fact.args[0], start))) if fact.name == "at" and fact.args[1] in gone else text

    for action in trial.get("actions", []):
        action["requires"] = [t for t in action["requires"] if keep(t)]
        action["failures"] = {k: v for k, v in action.get("failures", {}).items() if k in action["requires"]}
    trial["goals"] = [{**g, "when": [here(t) for t in g["when"] if keep(here(t))]} for g in trial["goals"]]
    trial["goals"] = [g for g in trial["goals"] if g["when"]]
    trial["walkthrough"] = [
        c
        for c in trial["walkthrough"]
        if not c.startswith("go ") and not any(c.split(" with ")[0].endswith(f" {name}") for name in door_names)
    ]
    try:
        game = GameSpec.from_data({**trial, "id": "collapse-trial"})
    except SpecError:
        return False
    if _checks_text(trial) and check_nouns(game):  # the texts name a room that is gone
        return False
    played = goal_steps_in_logic(game)
    if played.stuck_at is not None or played.ended_at is None:
        return False
    trial["walkthrough"] = trial["walkthrough"][: played.ended_at]
    spec.clear()
    spec.update(trial)
    return True


def lock_door(spec: Spec, rng: random.Random) -> bool:
    """Put a locked door on an exit the walkthrough crosses; its key lies in the room before it."""
    room = spec["start"]
    crossings: list[tuple[int, frozenset[str], str]] = []
    doors = {frozenset(d["between"]) for d in spec.get("doors", [])}
    for step, command in enumerate(spec["walkthrough"]):
        if command.startswith("go "):
            nxt = _room(spec, room)["exits"][command[3:]]
            if frozenset((room, nxt)) not in doors and all(frozenset((room, nxt)) != c[1] for c in crossings):
                crossings.append((step, frozenset((room, nxt)), room))
            room = nxt
    if not crossings:
        return False
    step, pair, before = rng.choice(crossings)
    door_name = _fresh_name(
        spec, [f"{w} door" for w in ("oak", "pine", "glass", "steel", "green", "blue", "garden")], rng
    )
    key_name = _fresh_name(spec, vocabulary()["keys"], rng)
    if door_name is None or key_name is None:
        return False
    key = {
        "id": _new_id(spec, key_name),
        "name": key_name,
        "kind": "key",
        "location": before,
        "description": f"A {key_name}.",
    }
    spec["objects"].append(key)
    spec.setdefault("doors", []).append(
        {
            "id": _new_id(spec, door_name),
            "name": door_name,
            "description": f"A {door_name}.",
            "between": sorted(pair),
            "status": "locked",
            "key": key["id"],
        }
    )
    spec["walkthrough"][step:step] = [f"take {key_name}", f"unlock {door_name} with {key_name}", f"open {door_name}"]
    return True


# -- composition ---------------------------------------------------------------------------------
def _rename_ids(spec: Spec, mapping: dict[str, str]) -> None:
    """Rename room / object / door ids (and action slots) everywhere they are referenced."""
    if not mapping:
        return

    def get(spec_id: str) -> str:
        return mapping.get(spec_id, spec_id)

    def fact(text: str) -> str:
        f = Fact.parse(text)
        args = (get(f.args[0]), f.args[1]) if f.name == "state" else tuple(get(a) for a in f.args)
        return str(Fact(f.name, args, f.value))

    for room in spec["rooms"]:
        room["id"] = get(room["id"])
        room["exits"] = {d: get(r) for d, r in room.get("exits", {}).items()}
    for door in spec.get("doors", []):
        door["id"], door["between"] = get(door["id"]), [get(r) for r in door["between"]]
        if door.get("key"):
            door["key"] = get(door["key"])
    for obj in spec["objects"]:
        obj["id"], obj["location"] = get(obj["id"]), get(obj["location"])
        if obj.get("key"):
            obj["key"] = get(obj["key"])
    spec["start"] = get(spec["start"])
    for action in spec.get("actions", []):
        action["requires"] = [fact(t) for t in action["requires"]]
        action["effects"] = [fact(t) for t in action["effects"]]
        action["failures"] = {fact(k): v for k, v in action.get("failures", {}).items()}
    for goal in spec["goals"]:
        goal["when"] = [fact(t) for t in goal["when"]]
    # spec 1.1: state-following descriptions, lose conditions, every-turn rules and reactions
    for item in spec["rooms"] + spec["objects"]:
        for variant in item.get("variants", []):
            variant["when"] = [fact(t) for t in variant["when"]]
    for lose in spec.get("lose", []):
        lose["when"] = [fact(t) for t in lose["when"]]
    for rule in spec.get("every_turn", []) + spec.get("reactions", []):
        rule["requires"] = [fact(t) for t in rule.get("requires", [])]
        rule["effects"] = [fact(t) for t in rule["effects"]]
        if "object" in rule:
            rule["object"] = get(rule["object"])


def _rename_slot(action: dict, old: str, new: str) -> None:
    placeholder = re.compile(rf"\{{((?:the |a )?){old}\}}")
    action["slots"] = {new if k == old else k: v for k, v in action["slots"].items()}
    action["command"] = action["command"].replace(f"{{{old}}}", f"{{{new}}}")
    if "synonyms" in action:  # spec 1.1: more templates of the same action
        action["synonyms"] = [t.replace(f"{{{old}}}", f"{{{new}}}") for t in action["synonyms"]]
    action["success"] = placeholder.sub(rf"{{\g<1>{new}}}", action["success"])
    action["failures"] = {k: placeholder.sub(rf"{{\g<1>{new}}}", v) for k, v in action.get("failures", {}).items()}
    _rename_ids({"rooms": [], "objects": [], "start": "", "goals": [], "actions": [action]}, {old: new})


def _templates_of(action: dict) -> list[str]:
    """An action's command template and (spec 1.1) its synonym templates."""
    return [action["command"], *action.get("synonyms", [])]


def _template_key(command: str) -> str:
    return re.sub(r"\{[^}]*\}", "{}", command)


def _template_regex(command: str) -> re.Pattern:
    parts = re.split(r"(\{[^}]*\})", command)
    return re.compile("^" + "".join("(.+?)" if p.startswith("{") else re.escape(p) for p in parts) + "$")


def compose(first: Spec, second: Spec, rng: random.Random) -> Spec | None:
    """One game that asks for ``first`` then ``second``; None when they cannot be joined."""
    if first["spec_version"] != second["spec_version"]:
        return None  # a 1.0 half would have to pass 1.1's text checks (articles, names in texts): not joined
    a, b = copy.deepcopy(first), copy.deepcopy(second)
    # Ids: the second spec's clashing ids get a suffix; its slots must not shadow the first's ids.
    taken = _ids(a) | _ids(b)
    clashes = {}
    for old in sorted(_ids(b) & _ids(a)):
        clashes[old] = _new_id({"rooms": [], "objects": [{"id": t} for t in taken]}, old)
        taken.add(clashes[old])
    _rename_ids(b, clashes)
    all_ids = _ids(a) | _ids(b)
    for action in b.get("actions", []):
        for slot in list(action["slots"]):
            if slot in all_ids:
                _rename_slot(action, slot, f"{slot}_x")
    # Names: no name of one half may be confused with a name of the other.
    if _literal_names(b) & set(object_names(a)) or _literal_names(a) & set(object_names(b)):
        return None
    for item in b["objects"] + b.get("doors", []):
        if not fits(item["name"], {**a, "actions": []}):
            new = _new_name(
                {**b, "objects": a["objects"] + b["objects"], "doors": a.get("doors", []) + b.get("doors", [])},
                item["name"],
                rng,
            )
            if new is None or item["name"] in _literal_names(b):
                return None
            rename(b, {item["name"]: new})
    for item in b["objects"]:  # spec 1.1 synonyms: those the first half's names would confuse go
        if "synonyms" in item:
            item["synonyms"] = [n for n in item["synonyms"] if fits(n, {**a, "actions": []})]
    a_rooms = {r["name"] for r in a["rooms"]}
    for room in b["rooms"]:  # room names only show in the status line; they must differ
        if room["name"] in a_rooms:
            adjective = rng.choice([w for w in vocabulary()["adjectives"] if f"{w} {room['name']}" not in a_rooms])
            room["name"] = f"{adjective} {room['name']}"
    # Custom commands: a template both halves declare is renamed in the second with a synonym verb.
    a_templates = {_template_key(t) for act in a.get("actions", []) for t in _templates_of(act)}
    verbs = {t.split()[0] for act in a.get("actions", []) + b.get("actions", []) for t in _templates_of(act)}
    a_names = {act["name"] for act in a.get("actions", [])}
    for action in b.get("actions", []):
        if action["name"] in a_names:
            action["name"] = f"{action['name']}_2"
        if "synonyms" in action:
            action["synonyms"] = [t for t in action["synonyms"] if _template_key(t) not in a_templates]
        if _template_key(action["command"]) in a_templates:
            verb = action["command"].split()[0]
            options = [v for v in vocabulary()["verb_synonyms"].get(verb, []) if v not in verbs | RESERVED_VERBS]
            if not options:
                return None
            new_verb = rng.choice(options)
            verbs.add(new_verb)
            old_template = _template_regex(action["command"])
            b["walkthrough"] = [new_verb + c[len(verb) :] if old_template.match(c) else c for c in b["walkthrough"]]
            action["command"] = new_verb + action["command"][len(verb) :]
    # Join: a free exit of the first half leads to the second half's start room.
    end = final_room(a)
    doors = _open_doors(a, a["walkthrough"])
    joins = [
        (r["id"], d)
        for r in a["rooms"]
        for d in DIRECTIONS
        if d not in r.get("exits", {}) and OPPOSITE[d] not in _room(b, b["start"]).get("exits", {})
    ]
    rng.shuffle(joins)
    for room_id, direction in joins:  # noqa: B007 - the join found is used after the loop
        steps = path(a, end, room_id, doors)
        if steps is not None:
            break
    else:
        return None
    _room(a, room_id).setdefault("exits", {})[direction] = b["start"]
    _room(b, b["start"]).setdefault("exits", {})[OPPOSITE[direction]] = room_id
    objective = b["objective"][0].lower() + b["objective"][1:]
    later = {  # spec 1.1 lists, where either half has them
        key: a.get(key, []) + b.get(key, []) for key in ("lose", "every_turn", "reactions") if a.get(key) or b.get(key)
    }
    return {
        **a,
        **later,
        "title": f"{a['title']} and {b['title']}"[:80],
        "objective": f"{a['objective']} After that, {objective}"[:1000],
        "skills": a["skills"] + [s for s in b["skills"] if s not in a["skills"]],
        "rooms": a["rooms"] + b["rooms"],
        "doors": a.get("doors", []) + b.get("doors", []),
        "objects": a["objects"] + b["objects"],
        "actions": a.get("actions", []) + b.get("actions", []),
        "goals": a["goals"] + b["goals"],
        "walkthrough": a["walkthrough"] + steps + [f"go {direction}"] + b["walkthrough"],
    }


# -- the backend ---------------------------------------------------------------------------------
def candidate_rng(seed: int, index: int, attempt: int) -> random.Random:
    """The randomness of one attempt at one candidate: independent of workers and of other candidates."""
    return random.Random(f"starling:{seed}:{index}:{attempt}")


def vary(seeds: list[Seed], difficulty: str, rng: random.Random) -> Spec | None:
    """A new spec from the first examples of ``seeds`` (composed in order), varied for ``difficulty``."""
    if any(s.example is None for s in seeds):
        raise ValueError(f"the offline backend varies example specs; {needs_example(seeds)}")
    return vary_examples([s.example for s in seeds if s.example is not None], difficulty, rng)


def choose_examples(seeds: list[Seed], task: Task, attempt: int) -> list[GameSpec]:
    """One example spec per seed for this attempt at ``task``: the first, or (``task.examples == "all"``)
    any of the seed's examples of ``task.spec_version``, drawn from a random stream of its own (so the
    variation that follows draws the same numbers whichever example is chosen)."""
    rng = random.Random(f"starling-example:{task.seed}:{task.index}:{attempt}")
    chosen = []
    for seed in seeds:
        options = list(seed.examples) if task.examples == "all" else list(seed.examples[:1])
        options = [e for e in options if task.spec_version in (None, e.spec_version)]
        if not options:
            raise ValueError(f"the seed of {seed.skill!r} has no example of spec version {task.spec_version}")
        chosen.append(rng.choice(options) if len(options) > 1 else options[0])
    return chosen


def vary_examples(specs: list[GameSpec], difficulty: str, rng: random.Random) -> Spec | None:
    """A new spec from the example ``specs`` (composed in order), varied for ``difficulty``."""
    knobs = difficulty_knobs()[difficulty]
    examples = [json.loads(e.to_json()) for e in specs]
    spec = examples[0]
    for example in examples[1:]:
        spec = compose(spec, example, rng)
        if spec is None:
            return None
    if knobs.get("one_room") and not collapse_to_one_room(spec) and not _checks_text(spec):
        return None  # (a spec whose texts the verifier checks keeps the rooms they name)
    vary_names(spec, rng, knobs["rename"])
    new_rooms = add_rooms(spec, rng, rng.randint(*knobs["rooms"]))
    missing = knobs.get("min_rooms", 0) - len(spec["rooms"])
    if missing > 0:
        new_rooms += add_rooms(spec, rng, missing)
    if new_rooms and rng.random() < knobs["move_start"]:
        move_start(spec, rng, list(new_rooms))
    for n in range(rng.randint(*knobs["hide"])):
        hide_item(spec, rng, locked=n == 0 and rng.random() < knobs["locked"])
    if knobs.get("locked_door") and not any(d.get("status") == "locked" for d in spec.get("doors", [])):
        lock_door(spec, rng)
    for _ in range(3):  # longer walkthroughs where the tier asks for them
        if len(spec["walkthrough"]) >= knobs.get("min_walkthrough", 0):
            break
        lock_door(spec, rng) or hide_item(spec, rng, locked=True)
    if len(spec["walkthrough"]) < knobs.get("min_walkthrough", 0):
        return None
    add_distractors(spec, rng, rng.randint(*knobs["distractors"]))
    spec["difficulty"] = difficulty
    skills = "-".join(s.replace("_", "-") for s in spec["skills"])[:32].strip("-")
    digest = hashlib.sha256(json.dumps({**spec, "id": ""}, sort_keys=True).encode()).hexdigest()[:6]
    spec["id"] = f"{skills}-{difficulty[0]}{digest}"
    return spec


def needs_example(seeds: Iterable[Seed]) -> str:
    """Which of ``seeds`` have no example spec, said so that a user knows the way out."""
    missing = sorted(s.skill for s in seeds if s.example is None)
    return f"the seeds of {missing} have no example spec (add one, or use --backend openai)"


class OfflineBackend:
    """Deterministic variations of the seeds' examples (no network): the default backend.

    Only seeds with an example spec can be varied: the others are left out of ``seeds`` and named
    in ``skipped``."""

    name = "offline"
    previewable = True  # a proposal is a pure function of (task, attempt), made in milliseconds

    def __init__(self, seeds: dict[str, Seed]):
        self.seeds = {k: s for k, s in seeds.items() if s.example is not None}
        self.skipped = [] if len(self.seeds) == len(seeds) else [needs_example(seeds.values())]

    def session(self, task) -> OfflineSession:
        return OfflineSession([self.seeds[s] for s in task.skills], task)

    @staticmethod
    def compatible(seeds: list[Seed]) -> bool:
        """Can these seeds be composed into one game?"""
        return len(seeds) == 1 or vary(seeds, "hard", candidate_rng(0, 0, 0)) is not None


class OfflineSession:
    def __init__(self, seeds: list[Seed], task):
        self.seeds, self.task = seeds, task

    def propose(self, attempt: int, feedback) -> str | None:
        examples = choose_examples(self.seeds, self.task, attempt)
        spec = vary_examples(examples, self.task.difficulty, candidate_rng(self.task.seed, self.task.index, attempt))
        return json.dumps(spec, indent=2) if spec is not None else None

    def provenance(self) -> dict[str, Any]:
        return {"seed_ideas": [s.idea for s in self.seeds], "random_seed": [self.task.seed, self.task.index]}

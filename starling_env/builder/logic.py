"""Translate a GameSpec's facts and custom actions into TextWorld logic and Inform 7.

Each fact of the vocabulary (:mod:`starling_env.spec.facts`) has exactly one TextWorld reading
(logic atoms) and one Inform 7 reading (a condition, its negation and an assignment); both are
defined side by side below so the two back ends cannot drift apart. A custom action becomes one
Inform 7 action (Check / Carry out / Report rules) and one or more TextWorld rules ("variants"):
TextWorld rules cannot test or forget a fact they do not name, so where the current value of
something an action changes is not stated in its preconditions, one rule is made per possible
current value, and the Inform 7 Check rules refuse exactly the cases no variant covers.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field

from ..spec import Action, Fact, GameObject, GameSpec, ObjectKind
from ..spec.facts import fact_group
from ..spec.model import Reaction, Variant, template_slots

TW_TYPE = {
    ObjectKind.portable: "o",
    ObjectKind.container: "c",
    ObjectKind.supporter: "s",
    ObjectKind.device: "dv",
    ObjectKind.food: "f",
    ObjectKind.clothing: "wr",
    ObjectKind.scenery: "t",
    ObjectKind.key: "k",
    ObjectKind.animate: "an",
}
PORTABLE_CONTAINER = "pc"  # TextWorld type of a container with portable=True
CARRIED_PART = "pt"  # TextWorld type of a part of a portable thing (a pocket): a container with no place of its own
I7_KIND = {
    "o": "object-like",
    "c": "container",
    "s": "supporter",
    "dv": "device",
    "f": "food",
    "wr": "garment",
    "t": "thing",
    "k": "key",
    "an": "creature",
    "pc": "portable-container",
    "pt": "part-container",
}
PLAYER_ROOM = "pr"  # TextWorld variable for the player's room in generated rules.


@dataclass(frozen=True)
class Entity:
    spec_id: str
    tw_id: str
    tw_type: str
    whole: str | None = None  # spec id of the thing this one is a part of


def entity_table(spec: GameSpec) -> dict[str, Entity]:
    """TextWorld ids of every room, door and object, in the order the world builder creates them.

    GameMaker names entities ``<type>_<n>``, counting per type in creation order; the builder creates
    rooms, then doors, then objects in spec order and checks that the ids match this table.
    """
    counts: dict[str, int] = {}
    table: dict[str, Entity] = {}

    def add(spec_id: str, tw_type: str, whole: str | None = None) -> None:
        n = counts.get(tw_type, 0)
        counts[tw_type] = n + 1
        table[spec_id] = Entity(spec_id, f"{tw_type}_{n}", tw_type, whole)

    for room in spec.rooms:
        add(room.id, "r")
    for door in spec.doors:
        add(door.id, "d")
    for obj in spec.objects:
        add(obj.id, tw_type(spec, obj), obj.location if obj.part else None)
    return table


def tw_type(spec: GameSpec, obj: GameObject) -> str:
    """The TextWorld type of an object. A part of a fixed thing has its own kind's type and lies in the thing's
    room (it is reached exactly there); a part of a portable thing is a ``pt``, reached wherever the thing is."""
    if spec.carried_part(obj):
        return CARRIED_PART
    return PORTABLE_CONTAINER if obj.portable else TW_TYPE[obj.kind]


def has_parts(entities: dict[str, Entity]) -> bool:
    """Whether the game has parts: its Inform 7 reading of ``here`` then counts a part of a fixed thing in the
    room as here (``st-here``, kb_static/parts.twl), as TextWorld's logic places it in that room."""
    return any(e.whole for e in entities.values())


def state_atom(state: str, value: str) -> str:
    """TextWorld predicate for 'custom state ``state`` has ``value``'."""
    return f"st__{state}__{value}"


def i7_state(state: str, value: str) -> str:
    """Inform 7 property value for the same ('none' marks things without that state)."""
    return f"st-{state}-{value}"  # ids have no hyphens, so this is unique per (state, value)


def tag_atom(spec_id: str) -> str:
    """TextWorld predicate that singles out one named room or object inside a generic rule."""
    return f"tag__{spec_id}"


# -- one fact, both readings -------------------------------------------------------------------
@dataclass(frozen=True)
class Atom:
    """A TextWorld proposition over rule variables: ``pred(var, ...)``."""

    pred: str
    args: tuple[str, ...]


def tw_atoms(fact: Fact, var: dict[str, str]) -> list[Atom]:
    """The TextWorld reading of a fact; ``var`` maps spec ids and slots to rule variables."""
    x = var.get(fact.subject, fact.subject)
    match fact.name:
        case "held":
            return [Atom("in", (x, "I"))]
        case "here":
            return [Atom("at", (PLAYER_ROOM_VAR, "")), Atom("at", (x, PLAYER_ROOM))]
        case "in" | "on":
            return [Atom(fact.name, (x, var[fact.args[1]]))]
        case "player_in":
            return [Atom("at", (PLAYER_ROOM_VAR, "")), Atom(tag_atom(fact.subject), (PLAYER_ROOM,))]
        case "state":
            return [Atom(state_atom(fact.args[1], fact.value or ""), (x,))]
        case _:
            return [Atom(fact.name, (x,))]


PLAYER_ROOM_VAR = "P"  # marker: Atom("at", ("P", "")) renders as at(P, pr).


@dataclass(frozen=True)
class I7Reading:
    positive: str
    negative: str
    assign: str


def i7_reading(fact: Fact, ref: dict[str, str], parts: bool = False) -> I7Reading:
    """The Inform 7 reading of a fact; ``ref`` maps spec ids and slots to Inform 7 expressions; ``parts``: the
    game has parts (see :func:`has_parts`)."""
    x = ref.get(fact.subject, fact.subject)
    y = ref.get(fact.args[1], fact.args[1]) if len(fact.args) > 1 else ""
    match fact.name:
        case "held":
            return I7Reading(f"the player carries {x}", f"the player does not carry {x}", f"now the player carries {x}")
        case "here":
            where = "st-here" if parts else "in the location"
            return I7Reading(f"{x} is {where}", f"{x} is not {where}", f"now {x} is in the location")
        case "in" | "on":
            return I7Reading(f"{x} is {fact.name} {y}", f"{x} is not {fact.name} {y}", f"now {x} is {fact.name} {y}")
        case "worn":
            return I7Reading(f"the player wears {x}", f"the player does not wear {x}", f"now the player wears {x}")
        case "player_in":
            return I7Reading(f"the location is {x}", f"the location is not {x}", "")
        case "at":
            return I7Reading(f"{x} is in {y}", f"{x} is not in {y}", "")
        case "eaten":
            return I7Reading(f"{x} is off-stage", f"{x} is on-stage", "")
        case "open":
            return I7Reading(f"{x} is open", f"{x} is not open", f"now {x} is unlocked; now {x} is open")
        case "closed":
            return I7Reading(
                f"{x} is closed and {x} is unlocked",
                f"{x} is open or {x} is locked",
                f"now {x} is unlocked; now {x} is closed",
            )
        case "locked":
            return I7Reading(f"{x} is locked", f"{x} is not locked", f"now {x} is closed; now {x} is locked")
        case "switched_on":
            return I7Reading(f"{x} is switched on", f"{x} is switched off", f"now {x} is switched on")
        case "switched_off":
            return I7Reading(f"{x} is switched off", f"{x} is switched on", f"now {x} is switched off")
        case "state":
            value = i7_state(fact.args[1], fact.value or "")
            return I7Reading(f"{x} is {value}", f"{x} is not {value}", f"now {x} is {value}")
    raise ValueError(f"fact {fact} has no Inform 7 reading")


def i7_condition(facts: list[str], entities: dict[str, Entity]) -> str:
    """The Inform 7 condition that all ``facts`` (about named things, no slots) hold."""
    ref = {e.spec_id: e.tw_id for e in entities.values()}
    return " and ".join(i7_reading(Fact.parse(f), ref, has_parts(entities)).positive for f in facts)


def i7_text(text: str) -> str:
    """Spec text as the body of an Inform 7 string (spec text is validated: no quotes or brackets)."""
    return text.replace("\n", "[line break]")


def described(base: str, variants: list[Variant], entities: dict[str, Entity]) -> str:
    """A description whose text follows the state: the first variant whose facts hold, else ``base``."""
    if not variants:
        return base
    text = ""
    for i, variant in enumerate(variants):
        text += f"[{'if' if i == 0 else 'else if'} {i7_condition(variant.when, entities)}]{i7_text(variant.text)}"
    return f"{text}[otherwise]{i7_text(base)}[end if]"


# -- custom actions ----------------------------------------------------------------------------
@dataclass
class RuleVariant:
    name: str  # TextWorld rule name, "<action>/<n>"
    text: str  # the rule in .twl syntax


@dataclass
class CompiledAction:
    """Everything the templates need to emit one custom action."""

    action: Action
    i7_name: str  # Inform 7 action name as declared, e.g. "st-fill" or "st-put it with"
    i7_rule: str  # how rule headers name it, e.g. "st-fill" or "st-put something with something"
    i7_grammar: str  # Understand line pattern, quoted, e.g. "fill [something] with water"
    i7_synonyms: list[str]  # Understand sentences of the action's synonyms
    i7_applying: str  # "nothing", "one thing", "two things"
    event: str  # action trace text TextWorld matches, with {placeholders}
    tw_command: str  # command template with TextWorld placeholders
    checks: list[tuple[str, str]] = field(default_factory=list)  # (failure condition, message)
    assignments: list[str] = field(default_factory=list)
    success: str = ""
    variants: list[RuleVariant] = field(default_factory=list)


def _i7_text(text: str, ref: dict[str, str]) -> str:
    """Replace {slot} / {the slot} / {a slot} placeholders with Inform 7 substitutions."""
    for slot, expr in ref.items():
        noun = expr.removeprefix("the ")
        text = text.replace(f"{{the {slot}}}", f"[the {noun}]").replace(f"{{a {slot}}}", f"[a {noun}]")
        text = text.replace(f"{{{slot}}}", f"[{noun}]")
    return text.replace("\n", "[line break]")


def compile_action(spec: GameSpec, action: Action, entities: dict[str, Entity]) -> CompiledAction:
    slots = action.template_slots  # in command order: first is the noun, second the second noun
    slot_kinds = {s: action.slots[s].kind for s in slots}
    slot_types = {s: TW_TYPE[kind] if kind else "t" for s, kind in slot_kinds.items()}
    i7_name = "st-" + action.name.replace("_", "-")
    ref = {s: ("the noun", "the second noun")[i] for i, s in enumerate(slots)}
    ref.update({e.spec_id: e.tw_id for e in entities.values()})
    var = {s: f"s_{s}" for s in slots}
    var.update({e.spec_id: f"k_{e.spec_id}" for e in entities.values()})
    var_type = {f"s_{s}": t for s, t in slot_types.items()}
    var_type.update({f"k_{e.spec_id}": e.tw_type for e in entities.values()})

    requires = [Fact.parse(t) for t in action.requires]
    effects = [Fact.parse(t) for t in action.effects]
    stated = {fact_group(f) for f in requires}
    parts = has_parts(entities)

    checks: list[tuple[str, str]] = []
    states_used = {(f.subject, f.args[1]) for f in requires + effects if f.name == "state"}
    for subject, state in sorted(states_used):
        checks.append((f"{ref.get(subject, subject)} is {i7_state(state, 'none')}", "Nothing happens."))
    for slot in slots:
        checks.append((f"{ref[slot]} is not a {I7_KIND[slot_types[slot]]}", "You can't do that with that."))
    for fact, text in zip(requires, action.requires, strict=True):
        message = action.failures.get(text, "You can't do that right now.")
        checks.append((i7_reading(fact, ref, parts).negative, _i7_text(message, ref)))

    # Where is each thing the action touches? An unstated location branches into held | here.
    branches: list[list[Fact]] = []
    branched = set(stated)
    movers = sorted({f.subject for f in effects if fact_group(f)[1] == "location"} - set(slots))
    for subject in slots + movers:
        if (subject, "location") not in branched:
            held, here = Fact("held", (subject,)), Fact("here", (subject,))
            branches.append([held, here])
            reach = f"{i7_reading(held, ref).negative} and {i7_reading(here, ref, parts).negative}"
            checks.append((reach, "You can't reach that from here."))
            branched.add((subject, "location"))
    # What does each effect replace? An unstated current value branches over the alternatives,
    # and the game refuses the case where the effect already holds (no rule covers it).
    for effect in effects:
        group = fact_group(effect)
        if group in stated:
            continue
        checks.append((i7_reading(effect, ref, parts).positive, "Nothing happens."))
        if group not in branched:
            branches.append(_alternatives(spec, effect))
            branched.add(group)

    changed = {fact_group(e) for e in effects}
    variants: list[RuleVariant] = []
    for extra in itertools.product(*branches):
        if any(e in extra for e in effects):
            continue  # the effect already holds: no rule, and Inform 7 says "Nothing happens."
        pre = requires + list(extra)
        pre_atoms = [(a, fact_group(f) in changed and not _is_player_room(a)) for f in pre for a in tw_atoms(f, var)]
        post_atoms = [a for e in effects for a in tw_atoms(e, var) if not _is_player_room(a)]
        for fact in pre + effects:
            if fact.name == "player_in":
                continue
            for arg in fact.args[: 2 if fact.name in ("in", "on") else 1]:
                if arg not in slots and arg in entities:
                    pre_atoms.append((Atom(tag_atom(arg), (var[arg],)), False))
        if any(PLAYER_ROOM in a.args for a in post_atoms):
            pre_atoms.append((Atom("at", (PLAYER_ROOM_VAR, "")), False))
        name = f"{action.name}/{len(variants)}"
        variants.append(RuleVariant(name, _render_rule(name, pre_atoms, post_atoms, var_type)))

    assignments = [line for e in effects for line in i7_reading(e, ref).assign.split("; ")]
    grammar = _grammar(action.command, slots)
    tw_command = action.command
    for slot in slots:
        tw_command = tw_command.replace(f"{{{slot}}}", f"{{{var[slot]}}}")
    applying = ("nothing", "one thing", "two things")[len(slots)]
    event = i7_name + "".join(
        f" the {{{var[s]}}}" if i == 0 else f" with the {{{var[s]}}}" for i, s in enumerate(slots)
    )
    return CompiledAction(
        action=action,
        i7_name=i7_name + (" it with" if len(slots) == 2 else ""),
        i7_rule=i7_name + (" something with something" if len(slots) == 2 else ""),
        i7_grammar=grammar,
        i7_synonyms=[
            _understand(_grammar(c, slots), i7_name + (" it with" if len(slots) == 2 else ""), c, slots)
            for c in action.synonyms
        ],
        i7_applying=applying,
        event=event,
        tw_command=tw_command,
        checks=_dedupe(checks),
        assignments=assignments,
        success=_i7_text(action.success, ref),
        variants=variants,
    )


def _grammar(command: str, slots: list[str]) -> str:
    """The quoted Inform 7 Understand pattern of a command template."""
    for slot in slots:
        command = command.replace(f"{{{slot}}}", "[something]")
    return f'"{command}"'


def _understand(grammar: str, i7_name: str, command: str, slots: list[str]) -> str:
    """An Inform 7 Understand sentence (without its full stop) for another wording of an action; ``slots``
    in the main command's order (the noun first)."""
    reversed_ = template_slots(command) != slots
    return f"Understand {grammar} as {i7_name}{' (with nouns reversed)' if reversed_ else ''}"


def _alternatives(spec: GameSpec, effect: Fact) -> list[Fact]:
    """Facts that may hold, before ``effect``, in its group (excluding ``effect`` itself)."""
    x = effect.subject
    kind = fact_group(effect)[1]
    if kind == "location":
        options = [Fact("held", (x,)), Fact("here", (x,))]
    elif kind == "status":
        options = [Fact(n, (x,)) for n in ("open", "closed", "locked")]
    elif kind == "power":
        options = [Fact(n, (x,)) for n in ("switched_on", "switched_off")]
    else:
        state = effect.args[1]
        obj = spec.object(x)
        values = obj.states[state].values if obj else sorted(spec.state_values(state))
        options = [Fact("state", (x, state), v) for v in values]
    return [o for o in options if o != effect]


def _is_player_room(atom: Atom) -> bool:
    return atom.pred == "at" and atom.args[0] == PLAYER_ROOM_VAR


def _render_rule(name: str, pre: list[tuple[Atom, bool]], post: list[Atom], var_type: dict[str, str]) -> str:
    lhs, rhs = _render_sides(pre, post, var_type)
    return f"{name} :: {lhs} -> {rhs or 'at(P, pr: r)'};"


def _render_sides(pre: list[tuple[Atom, bool]], post: list[Atom], var_type: dict[str, str]) -> tuple[str, str]:
    """The two sides of a TextWorld rule: preconditions (``$`` when kept) and the facts added."""

    def arg(a: str) -> str:
        if a in ("I", "P"):
            return a
        if a == PLAYER_ROOM:
            return f"{PLAYER_ROOM}: r"
        return f"{a}: {var_type[a]}"

    def render(atom: Atom) -> str:
        if _is_player_room(atom):
            return f"at(P, {PLAYER_ROOM}: r)"
        return f"{atom.pred}({', '.join(arg(a) for a in atom.args)})"

    seen: dict[str, bool] = {}
    for atom, consumed in pre:
        key = render(atom)
        seen[key] = seen.get(key, False) or consumed
    lhs = " & ".join(("" if consumed else "$") + key for key, consumed in seen.items())
    return lhs, " & ".join(dict.fromkeys(render(a) for a in post))


def _dedupe(items: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return list(dict.fromkeys(items))


# -- the world's own rules: every turn, and reactions to built-in actions ---------------------------
TICK_RULE = "tick__{}"  # TextWorld name of every_turn[i]; ids never hold "__", so no custom action clashes
TICK_COMMAND = "wait"  # what the player types to let time pass (Inform 7's own waiting action)
SUPERTYPE = {
    "f": "o",
    "k": "o",
    "wr": "o",
    "pc": "c",
    "pt": "c",
    "o": "t",
    "c": "t",
    "s": "t",
    "dv": "t",
    "an": "t",
    "d": "t",
}
I7_AFTER = {
    "take": "taking {}",
    "drop": "dropping {}",
    "put": "putting {} on something",
    "insert": "inserting {} into something",
    "open": "opening {}",
    "close": "closing {}",
    "lock": "locking {} with something",
    "unlock": "unlocking {} with something",
    "eat": "eating {}",
    "switch_on": "switching on {}",
    "switch_off": "switching off {}",
    "wear": "wearing {}",
    "take_off": "taking off {}",
}


@dataclass(frozen=True)
class BuiltinRule:
    """A rule of TextWorld's (or STARLING's static) logic, as its .twl text has it."""

    name: str
    pre: str
    post: str
    command: str
    event: str


@dataclass
class WorldRule:
    """An every-turn rule or a reaction: TextWorld rules (with their commands) and the Inform 7 side."""

    variants: list[RuleVariant]
    commands: list[tuple[str, str, str]]  # (rule name, command, action trace)
    condition: str  # Inform 7: when it happens ("" for always)
    assignments: list[str]
    text: str
    i7_action: str  # the every-turn rule's own action ("st-tick-0"), or the built-in action a reaction follows


def _world_atoms(requires: list[Fact], effects: list[Fact], var: dict[str, str]) -> tuple[list, list[Atom]]:
    changed = {fact_group(e) for e in effects}
    pre = [(a, fact_group(f) in changed) for f in requires for a in tw_atoms(f, var)]
    for fact in requires + effects:
        for arg in fact.args[: 2 if fact.name in ("in", "on") else 1]:
            pre.append((Atom(tag_atom(arg), (var[arg],)), False))
    return pre, [a for e in effects for a in tw_atoms(e, var)]


def compile_every_turn(
    index: int, requires: list[str], effects: list[str], text: str, entities: dict[str, Entity]
) -> WorldRule:
    """every_turn[index]: a TextWorld rule the game's every-turn trace ("st-tick-<i>") names; the player's
    command for it is ``wait`` (any turn lets it happen, waiting only lets time pass)."""
    var = {e.spec_id: f"k_{e.spec_id}" for e in entities.values()}
    var_type = {f"k_{e.spec_id}": e.tw_type for e in entities.values()}
    pre, post = _world_atoms([Fact.parse(t) for t in requires], [Fact.parse(t) for t in effects], var)
    name, event = TICK_RULE.format(index), f"st-tick-{index}"
    ref = {e.spec_id: e.tw_id for e in entities.values()}
    return WorldRule(
        variants=[RuleVariant(name, _render_rule(name, pre, post, var_type))],
        commands=[(name, TICK_COMMAND, event)],
        condition=i7_condition(requires, entities),
        assignments=[line for t in effects for line in i7_reading(Fact.parse(t), ref).assign.split("; ")],
        text=i7_text(text),
        i7_action=event,
    )


def compile_reaction(
    index: int, reaction: Reaction, entities: dict[str, Entity], builtins: list[BuiltinRule]
) -> WorldRule:
    """reactions[index]: a copy of each built-in rule of that action that can act on the object, with the
    reaction's facts added. TextWorld matches the game's trace to the valid action with the most
    preconditions, so while the copy applies it is the one the logic follows."""
    obj = entities[reaction.object]
    variants, commands = [], []
    for rule in builtins:
        if rule.name != reaction.after and not rule.name.startswith(reaction.after + "/"):
            continue
        acted = _acted_variable(rule.post)
        if acted is None or not _is_subtype(obj.tw_type, acted):
            continue
        var = {e.spec_id: f"k_{e.spec_id}" for e in entities.values()} | {obj.spec_id: acted}
        var_type = {f"k_{e.spec_id}": e.tw_type for e in entities.values()} | {acted: acted}
        requires = [Fact.parse(t) for t in reaction.requires]
        pre, post = _world_atoms(requires, [Fact.parse(t) for t in reaction.effects], var)
        tag = (Atom(tag_atom(obj.spec_id), (acted,)), False)  # the reaction's object, whatever its facts name
        if tag not in pre:
            pre.append(tag)
        lhs, rhs = _render_sides(pre, post, var_type)
        name = f"{rule.name}__r{index}"
        variants.append(RuleVariant(name, f"{name} :: {rule.pre} & {lhs} -> {rule.post} & {rhs};"))
        commands.append((name, rule.command, rule.event))
    ref = {e.spec_id: e.tw_id for e in entities.values()}
    return WorldRule(
        variants=variants,
        commands=commands,
        condition=i7_condition(reaction.requires, entities) if reaction.requires else "",
        assignments=[line for t in reaction.effects for line in i7_reading(Fact.parse(t), ref).assign.split("; ")],
        text=i7_text(reaction.text),
        i7_action=I7_AFTER[reaction.after].format(obj.tw_id),
    )


def _acted_variable(post: str) -> str | None:
    """The variable a built-in rule acts on: the first of its effects' arguments that is a thing."""
    for args in re.findall(r"\w+\(([^)]*)\)", post):
        for arg in (a.strip().split(":")[0].strip() for a in args.split(",")):
            if arg not in ("P", "I", "r"):
                return arg
    return None


def _is_subtype(tw_type: str, parent: str) -> bool:
    while tw_type != parent:
        if tw_type not in SUPERTYPE:
            return False
        tw_type = SUPERTYPE[tw_type]
    return True

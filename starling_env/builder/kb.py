"""Write a game's own TextWorld knowledge base: TextWorld's standard logic plus generated rules."""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import jinja2
from textworld.generator.data import LOGIC_DATA_PATH, TEXT_GRAMMARS_PATH

from ..spec import Fact, GameSpec
from ..spec.model import RESERVED_VERBS
from .logic import (
    BuiltinRule,
    CompiledAction,
    Entity,
    compile_action,
    compile_every_turn,
    compile_reaction,
    has_parts,
    i7_condition,
    i7_state,
    i7_text,
    state_atom,
    tag_atom,
)

_TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("starling_env.builder", "templates"),
    undefined=jinja2.StrictUndefined,
    keep_trailing_newline=True,
    autoescape=False,  # Inform 7 source, not HTML; spec text is validated against Inform 7 syntax.
)
STATIC_DIR = resources.files("starling_env.builder") / "kb_static"


@dataclass(frozen=True)
class Predicate:
    signature: str  # e.g. "st__water__filled(t)"
    inform7: str  # e.g. "The {t} is st-water-filled"; "" when Inform 7 needs no counterpart


def _door_events_with_article(path: Path) -> None:
    """TextWorld makes doors proper-named, so their action traces lack "the"; presentation.twl makes
    them improper-named ("You open the front door."), so the expected traces must say "the" too."""
    text = path.read_text(encoding="utf-8")
    for verb in ("opening", "closing", "unlocking", "locking", "examining"):
        text = text.replace(f'"{verb} {{d}}', f'"{verb} the {{d}}')
    path.write_text(text, encoding="utf-8")


# Static files of spec 1.1 kinds: copied only into the knowledge base of a game that has such a thing, so
# that a 1.0 game's Inform 7 source stays exactly what it was. parts.twl: only for a game with parts;
# room_listing.twl (look names fixed things and doors as the text-fidelity gate wants): every 1.1 game.
KIND_FILES = {"animate.twl": "an", "portable_container.twl": "pc"}
PARTS_FILE = "parts.twl"
SPEC_11_FILES = frozenset({"room_listing.twl"})


def static_file_used(name: str, entities: dict[str, Entity], spec_version: str) -> bool:
    if name in SPEC_11_FILES:
        return spec_version != "1.0"
    if name == PARTS_FILE:
        return has_parts(entities)
    if name == "portable_container.twl" and has_parts(entities):
        return True  # the parts' rules reach into portable containers
    return name not in KIND_FILES or any(e.tw_type == KIND_FILES[name] for e in entities.values())


def referenced_ids(spec: GameSpec) -> set[str]:
    """Rooms and objects that custom actions name directly (they get a tag predicate)."""
    ids = spec.room_ids | {o.id for o in spec.objects} | {d.id for d in spec.doors}
    found = {r.object for r in spec.reactions}
    facts = [t for a in spec.actions for t in a.requires + a.effects]
    facts += [t for r in spec.every_turn for t in r.requires + r.effects]
    facts += [t for r in spec.reactions for t in r.requires + r.effects]
    for text in facts:
        found |= {a for a in Fact.parse(text).args if a in ids}
    return found


_RULE_RE = re.compile(r"^\s*([\w/]+)\s*::\s*(.+?)\s*->\s*(.+?);", re.MULTILINE)
_COMMAND_RE = re.compile(r'^\s*([\w/]+)\s*::\s*"([^"]*)"\s*::\s*"([^"]*)";', re.MULTILINE)


def builtin_rules(logic_dir: Path) -> list[BuiltinRule]:
    """The rules of a knowledge base's .twl files, with their command and action trace."""
    rules: dict[str, tuple[str, str]] = {}
    commands: dict[str, tuple[str, str]] = {}
    for path in sorted(logic_dir.glob("*.twl")):
        text = path.read_text(encoding="utf-8")
        rules |= {m[1]: (m[2], m[3]) for m in _RULE_RE.finditer(text)}
        commands |= {m[1]: (m[2], m[3]) for m in _COMMAND_RE.finditer(text)}
    return [BuiltinRule(name, *rules[name], *commands[name]) for name in rules if name in commands]


def state_values(spec: GameSpec) -> dict[str, list[str]]:
    """Every custom state name with the union of its values, in first-seen order."""
    states: dict[str, list[str]] = {}
    for obj in spec.objects:
        for name, var in obj.states.items():
            values = states.setdefault(name, [])
            values += [v for v in var.values if v not in values]
    return states


def compile_actions(spec: GameSpec, entities: dict[str, Entity]) -> list[CompiledAction]:
    return [compile_action(spec, action, entities) for action in spec.actions]


def render_kb(spec: GameSpec, entities: dict[str, Entity], dest: Path) -> list[CompiledAction]:
    """Write ``dest/logic/*.twl`` and ``dest/text_grammars/*.twg`` for this spec."""
    shutil.copytree(LOGIC_DATA_PATH, dest / "logic", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(TEXT_GRAMMARS_PATH, dest / "text_grammars", ignore=shutil.ignore_patterns("__pycache__"))
    _door_events_with_article(dest / "logic" / "door.twl")
    for item in STATIC_DIR.iterdir():
        if not static_file_used(item.name, entities, spec.spec_version):
            continue
        target = dest / ("logic" if item.name.endswith(".twl") else "text_grammars") / item.name
        target.write_text(item.read_text(encoding="utf-8"), encoding="utf-8")

    actions = compile_actions(spec, entities)
    builtins = builtin_rules(dest / "logic") if spec.reactions else []
    ticks = [compile_every_turn(i, r.requires, r.effects, r.text, entities) for i, r in enumerate(spec.every_turn)]
    reactions = [compile_reaction(i, r, entities, builtins) for i, r in enumerate(spec.reactions)]
    states = state_values(spec)
    predicates = [
        Predicate(f"{state_atom(s, v)}(t)", f"The {{t}} is {i7_state(s, v)}")
        for s, values in states.items()
        for v in values
    ]
    for spec_id in sorted(referenced_ids(spec)):
        kind = "r" if entities[spec_id].tw_type == "r" else "t"
        predicates.append(Predicate(f"{tag_atom(spec_id)}({kind})", ""))
    descriptions = [
        (entities[o.id].tw_id, i7_state(s, value), text.replace("\n", "[line break]"))
        for o in spec.objects
        for s, var in o.states.items()
        for value, text in var.describe.items()
    ]
    commands = [c for a in actions for c in [a.action.command, *a.action.synonyms]]
    verbs = sorted({c.split()[0] for c in commands} - RESERVED_VERBS)
    losses = [(i7_condition(lose.when, entities), i7_text(lose.text)) for lose in spec.lose]
    context = dict(
        spec=spec,
        predicates=predicates,
        variants=[v for a in actions for v in a.variants] + [v for w in ticks + reactions for v in w.variants],
        world_commands=[c for w in ticks + reactions for c in w.commands],
        ticks=ticks,
        reactions=reactions,
        actions=actions,
        states=[(s, [i7_state(s, "none")] + [i7_state(s, v) for v in values]) for s, values in states.items()],
        descriptions=descriptions,
        new_verbs=verbs,
        plural=[entities[o.id].tw_id for o in spec.objects if o.plural],
        parts=[(e.tw_id, entities[e.whole].tw_id) for e in entities.values() if e.whole],
        losses=losses,
    )
    (dest / "logic" / "starling_game.twl").write_text(_TEMPLATES.get_template("game.twl.j2").render(context))
    (dest / "text_grammars" / "house_starling_game.twg").write_text(
        _TEMPLATES.get_template("game.twg.j2").render(context)
    )
    return actions

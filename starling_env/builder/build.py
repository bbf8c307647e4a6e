"""GameSpec -> TextWorld world and quests -> ``game.z8`` + ``game.json``.

Everything here runs in-process and can take unbounded time or memory on a hostile spec (TextWorld
itself can loop); call it through :func:`starling_env.builder.verify.verify_spec`, which runs it in a
subprocess under limits.
"""

from __future__ import annotations

import itertools
import tempfile
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import textworld
from textworld import GameMaker, GameOptions
from textworld.generator.data import KnowledgeBase
from textworld.generator.game import Event, Game, Quest
from textworld.generator.inform7 import Inform7Game
from textworld.generator.maker import FailedConstraintsError, WorldEntity
from textworld.generator.world import World
from textworld.logic import Action, Proposition, State

from ..spec import Door, Fact, GameObject, GameSpec, ObjectKind
from ..spec.model import OPPOSITE
from .failures import BuildFailed, Failure, FailureKind
from .kb import referenced_ids, render_kb
from .logic import TICK_RULE, described, entity_table, state_atom, tag_atom

Z8_LIMIT = 512 * 1024
# TextWorld parses logic with one module-level tatsu parser (textworld.logic._PARSER) that is not
# thread-safe: concurrent loads corrupt each other ("pop from empty list"). One load at a time.
_KB_LOAD = threading.Lock()


@dataclass
class BuiltGame:
    game: Game
    z8: Path
    json: Path
    walkthrough_actions: int
    goal_steps: list[int]  # walkthrough step (1-based) at which each goal is first met


def build_world(spec: GameSpec, kb_dir: Path) -> tuple[GameMaker, dict[str, WorldEntity]]:
    """Create the GameMaker world for ``spec`` with its generated knowledge base in ``kb_dir``."""
    entities = entity_table(spec)
    render_kb(spec, entities, kb_dir)
    try:
        with _KB_LOAD:
            kb = KnowledgeBase.load(target_dir=str(kb_dir))
    except Exception as exc:  # TextWorld's parser raises many types; all mean our generated logic is bad
        raise BuildFailed.one(FailureKind.compile_error, f"TextWorld rejected the generated logic: {exc}") from exc
    options = GameOptions()
    options.kb = kb
    maker = GameMaker(options)
    made: dict[str, WorldEntity] = {}

    for room in spec.rooms:
        made[room.id] = maker.new_room(room.name, described(room.description, room.variants, entities))
    done = set()
    for room in spec.rooms:
        for direction, dest in room.exits.items():
            pair = frozenset([(room.id, direction.value), (dest, OPPOSITE[direction.value])])
            if pair not in done:
                done.add(pair)
                src, dst = made[room.id], made[dest]
                maker.connect(getattr(src, direction.value), getattr(dst, OPPOSITE[direction.value]))
    for door in spec.doors:
        path = maker.find_path(made[door.between[0]], made[door.between[1]])
        entity = maker.new_door(path, door.name, door.description)
        entity.add_property(door.status)
        made[door.id] = entity
    for obj in spec.objects:
        entity = maker.new(entities[obj.id].tw_type, obj.name, described(obj.description, obj.variants, entities))
        entity.infos.indefinite = obj.article
        entity.infos.synonyms = obj.synonyms or None
        made[obj.id] = entity
        if entities[obj.id].tw_type == "c":  # portable containers and parts of portable things are always open
            entity.add_property(obj.status or "closed")
        if obj.kind is ObjectKind.device:
            entity.add_property("switched_on" if obj.switched_on else "switched_off")
        for state, var in obj.states.items():
            entity.add_property(state_atom(state, var.initial))
    for obj in spec.objects:  # place objects once every holder exists
        entity = made[obj.id]
        if spec.carried_part(obj):  # no place of its own: reached wherever its whole is
            maker.add_fact("part_of", entity, made[obj.location])
            maker.nowhere.append(entity)
        elif obj.part:  # in its fixed whole's room (Inform 7 makes it part of the whole)
            whole = spec.object(obj.location)
            assert whole is not None, "validation: a part names its whole"
            made[whole.location].add(entity)
        elif obj.location == "player":
            maker.inventory.add(entity)
        elif obj.location == "worn":
            entity.add_property("worn")
            maker.nowhere.append(entity)
        else:
            made[obj.location].add(entity)
    holders: list[Door | GameObject] = [*spec.doors, *(o for o in spec.objects if o.kind is ObjectKind.container)]
    for holder in holders:
        if holder.key:
            maker.add_fact("match", made[holder.key], made[holder.id])
    for spec_id in referenced_ids(spec):
        made[spec_id].add_property(tag_atom(spec_id))
    maker.set_player(made[spec.start])

    for spec_id, entity in made.items():
        if entity.id != entities[spec_id].tw_id:  # the entity table and GameMaker must agree
            raise BuildFailed.one(FailureKind.internal_error, f"{spec_id}: id {entity.id} != {entities[spec_id].tw_id}")
    return maker, made


def goal_propositions(spec: GameSpec, goal_facts: list[str], maker: GameMaker, made: dict) -> list[Proposition]:
    """TextWorld propositions over the world's entities for a goal's facts."""
    props = []
    for text in goal_facts:
        fact = Fact.parse(text)
        x = made[fact.subject].var if fact.subject in made else None
        match fact.name:
            case "held":
                props.append(Proposition("in", [x, maker.inventory.var]))
            case "player_in":
                props.append(Proposition("at", [maker.player.var, x]))
            case "in" | "on" | "at":
                props.append(Proposition(fact.name, [x, made[fact.args[1]].var]))
            case "state":
                props.append(Proposition(state_atom(fact.args[1], fact.value or ""), [x]))
            case _:
                props.append(Proposition(fact.name, [x]))
    return props


def build_game(spec: GameSpec, out_dir: Path) -> BuiltGame:
    """Build ``spec`` into ``out_dir/game.z8`` and ``out_dir/game.json``; raise :class:`BuildFailed`."""
    with tempfile.TemporaryDirectory(prefix="starling-kb-") as tmp:
        maker, made = build_world(spec, Path(tmp))
        game = _make_game(maker, made)
        goals = [goal_propositions(spec, g.when, maker, made) for g in spec.goals]
        losses = [goal_propositions(spec, lose.when, maker, made) for lose in spec.lose]
        actions, goal_steps = _play_walkthrough(spec, game, goals, losses)

        quests = [
            Quest(win_events=[Event(actions=actions[:step], conditions=props)], reward=goal.points, desc=goal.text)
            for goal, props, step in zip(spec.goals, goals, goal_steps, strict=True)
        ]
        game = _make_game(maker, made, quests)
        game.objective = spec.objective
        game.metadata = {
            "walkthrough": list(spec.walkthrough),
            "starling": {"id": spec.id, "title": spec.title, "skills": spec.skills, "difficulty": spec.difficulty},
        }
        if spec.spec_version != "1.0":  # the verifier holds a 1.1 game to the 1.1 checks (dead ends)
            game.metadata["starling"]["spec_version"] = spec.spec_version
        if losses:  # the game's own rule ends it lost (see game.twl.j2); the verifier checks it against these
            game.metadata["starling"]["lose"] = [[p.serialize() for p in props] for props in losses]
        game.kb.text_grammars_path = "embedded"  # the temporary KB folder is gone after the build

        out_dir.mkdir(parents=True, exist_ok=True)
        options = textworld.GameOptions()
        options.path = str(out_dir / "game.z8")
        options.force_recompile = True
        try:
            textworld.generator.compile_game(game, options)
        except Exception as exc:
            raise BuildFailed.one(FailureKind.compile_error, _compiler_problems(str(exc))) from exc
    (out_dir / "game.ni").unlink(missing_ok=True)
    z8 = out_dir / "game.z8"
    if z8.stat().st_size > Z8_LIMIT:
        raise BuildFailed.one(FailureKind.too_large, f"game.z8 is {z8.stat().st_size} bytes; the limit is {Z8_LIMIT}")
    return BuiltGame(game, z8, out_dir / "game.json", len(actions), goal_steps)


def _compiler_problems(output: str) -> str:
    """The problem reports of Inform 7 (">-->" paragraphs) or Inform 6 ("Error:" lines), not the noise."""
    lines = output.splitlines()
    problems, keep = [], False
    for line in lines:
        if ">-->" in line or "Error:" in line or "Fatal error" in line:
            keep = True
        elif line.startswith("++") or line.startswith("Inform 7 has finished"):
            keep = False
        if keep:
            problems.append(line.strip())
    return " ".join(problems)[:2000] or "\n".join(lines[-10:])


def _make_game(maker: GameMaker, made: dict, quests: Sequence[Quest] = ()) -> Game:
    """Like ``GameMaker.build`` minus TextWorld's text grammar: the spec supplies every text."""
    try:
        maker.validate()
    except FailedConstraintsError as exc:
        raise BuildFailed.one(FailureKind.schema, f"the world breaks TextWorld's constraints: {exc}") from exc
    game = Game(World.from_facts(maker.facts, kb=maker.options.kb), quests=quests)
    for entity in made.values():
        game.infos[entity.id] = entity.infos
    return game


@dataclass
class Replay:
    """The walkthrough played in TextWorld's logic."""

    actions: list  # the actions of the admissible prefix
    first_met: list[int | None]  # step (1-based) at which each goal is first met
    stuck_at: int | None = None  # first step (1-based) whose command is not admissible
    admissible: list[str] | None = None  # the admissible commands there
    ended_at: int | None = None  # step at which every goal is met: the game ends there
    lost_at: tuple[int, int] | None = None  # (step, lose condition) where the game is lost


def end_of_turn(state: State, kb: KnowledgeBase, fired: Callable[[int], None] | None = None) -> None:
    """Apply the spec's every-turn rules to ``state`` in order, as the game does at the end of each turn;
    ``fired(i)`` is called after every_turn[i] applies."""
    for index in itertools.count():
        rule = kb.logic.rules.get(TICK_RULE.format(index))
        if rule is None:
            return
        for action in state.all_applicable_actions([rule], kb.types.constants_mapping):
            state.apply(action)
            if fired is not None:
                fired(index)
            break


def play_turn(state: State, action: Action, kb: KnowledgeBase) -> None:
    """One turn in the logic: the player's action (``wait`` lets time pass), then the world's rules."""
    if not action.name.startswith(TICK_RULE.format("")):
        state.apply(action)
    end_of_turn(state, kb)


def best_action(command: str, commands: list[str], valid: list[Action]) -> Action:
    """The action a command plays: of the valid actions with that command, the one with the most
    preconditions (the one TextWorld matches the game's action trace to)."""
    matching = [a for c, a in zip(commands, valid, strict=True) if c == command]
    return max(matching, key=lambda a: len(a.preconditions))


def replay(
    game: Game, goals: list[list[Proposition]], walkthrough: list[str], losses: Sequence[list[Proposition]] = ()
) -> Replay:
    state, rules, constants = game.world.state.copy(), game.kb.rules.values(), game.kb.types.constants_mapping
    inform7 = Inform7Game(game)
    result = Replay([], [None] * len(goals))
    for step, command in enumerate(walkthrough, start=1):
        valid = list(state.all_applicable_actions(rules, constants))
        commands = inform7.gen_commands_from_actions(valid)
        if command not in commands:
            result.stuck_at, result.admissible = step, sorted(set(commands))
            return result
        result.actions.append(best_action(command, commands, valid))
        play_turn(state, result.actions[-1], game.kb)
        lost = [i for i, props in enumerate(losses) if all(state.is_fact(p) for p in props)]
        if lost:
            result.lost_at = (step, lost[0])
            return result
        for i, props in enumerate(goals):
            if result.first_met[i] is None and all(state.is_fact(p) for p in props):
                result.first_met[i] = step
        if all(s is not None for s in result.first_met):
            result.ended_at = step
            return result
    return result


def _play_walkthrough(
    spec: GameSpec, game: Game, goals: list[list[Proposition]], losses: list[list[Proposition]]
) -> tuple[list, list[int]]:
    """Replay the walkthrough in TextWorld's logic; return its actions and where each goal is met.

    Raises :class:`BuildFailed` with every problem found: unreachable goals do not stop the replay."""
    unreachable = _check_goals_reachable(spec, game, goals)
    failures = list(unreachable.values())
    for i, props in enumerate(losses):
        if all(game.world.state.is_fact(p) for p in props):
            failures.append(
                Failure(kind=FailureKind.schema, message="the lose condition holds at the start", path=f"$.lose[{i}]")
            )
    played = replay(game, goals, spec.walkthrough, losses)
    missing = [
        f"goals[{i}] {spec.goals[i].when}" for i, s in enumerate(played.first_met) if s is None and i not in unreachable
    ]
    if played.lost_at is not None:
        step, i = played.lost_at
        failures.append(
            Failure(
                kind=FailureKind.walkthrough_invalid,
                message=f"step {step} {spec.walkthrough[step - 1]!r} loses the game: "
                f"lose[{i}] {spec.lose[i].when} holds",
                path=f"$.walkthrough[{step - 1}]",
            )
        )
    elif played.stuck_at is not None:
        step = played.stuck_at
        failures.append(
            Failure(
                kind=FailureKind.walkthrough_invalid,
                message=f"step {step} {spec.walkthrough[step - 1]!r} cannot be done here; "
                f"admissible: {played.admissible}",
                path=f"$.walkthrough[{step - 1}]",
            )
        )
    elif missing:
        failures.append(
            Failure(
                kind=FailureKind.walkthrough_does_not_win,
                message=f"after the walkthrough these goals are still unmet: {'; '.join(missing)}",
                path="$.walkthrough",
            )
        )
    if failures:
        raise BuildFailed(failures)
    first_met = [s for s in played.first_met if s is not None]  # all of them: no goal is missing
    last = played.ended_at
    assert last is not None, "replay records where the game ends once every goal is met"
    if last < len(spec.walkthrough):
        raise BuildFailed.one(
            FailureKind.walkthrough_invalid,
            f"every goal is met after step {last}; the game ends there, so drop the last "
            f"{len(spec.walkthrough) - last} command(s)",
            path=f"$.walkthrough[{last}]",
        )
    return played.actions, first_met


def goal_steps_in_logic(spec: GameSpec) -> Replay:
    """Play the walkthrough in TextWorld's logic only (no compiling): quick enough for generators."""
    with tempfile.TemporaryDirectory(prefix="starling-kb-") as tmp:
        maker, made = build_world(spec, Path(tmp))
        game = _make_game(maker, made)
    goals = [goal_propositions(spec, g.when, maker, made) for g in spec.goals]
    losses = [goal_propositions(spec, lose.when, maker, made) for lose in spec.lose]
    return replay(game, goals, spec.walkthrough, losses)


def _check_goals_reachable(spec: GameSpec, game: Game, goals: list[list[Proposition]]) -> dict[int, Failure]:
    """Static check: a goal fact must hold at the start or be produced by some rule (goal index -> its fault)."""
    produced = {p.name for rule in game.kb.logic.rules.values() for p in rule.postconditions}
    state = game.world.state
    failures: dict[int, Failure] = {}
    for i, props in enumerate(goals):
        if all(state.is_fact(p) for p in props):
            failures[i] = Failure(
                kind=FailureKind.unreachable_goal,
                message="the goal already holds at the start",
                path=f"$.goals[{i}]",
            )
            continue
        unproduced = [j for j, prop in enumerate(props) if not state.is_fact(prop) and prop.name not in produced]
        if unproduced:
            j = unproduced[0]
            failures[i] = Failure(
                kind=FailureKind.unreachable_goal,
                message=f"{spec.goals[i].when[j]!r}: no action ever makes this true",
                path=f"$.goals[{i}].when[{j}]",
            )
    return failures

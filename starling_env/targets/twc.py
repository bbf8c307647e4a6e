"""TextWorld Commonsense (TWC): 45 tidy-up games, registered as ``starling/TWC-{easy,medium,hard}-v0``.

The games (IBM/commonsense-rl, ``games/twc``) are ordinary TextWorld games: each ``<name>.z8`` beside
its ``<name>.json``, played by the same :class:`~starling_env.envs.engine.Engine` as STARLING's own
games. One id holds the games of a level and split, drawn at each reset like
:class:`~starling_env.envs.suite_env.StarlingSuiteEnv`. The games carry no walkthrough; one is computed
per game by a greedy solver over ``metadata.goal_locations`` (the right places of the misplaced
objects) and the admissible commands, and cached per process.

Make kwargs: ``level`` (easy / medium / hard), ``split`` (train / valid / test or a list, default test),
``game`` (one game by file stem or a unique part of it), ``game_by_seed`` (``reset(seed=s)`` plays game
``s mod n`` of the sorted games instead of drawing one: seeds 0..n-1 play every game once), ``data_dir``
(the ``twc`` folder; default: :func:`starling_env.targets.data_dir`), plus
:class:`~starling_env.envs.game_env.StarlingEnv` kwargs.
"""

from __future__ import annotations

import shutil
import tempfile
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..envs.engine import Engine
from ..envs.game_env import StarlingEnv
from ..envs.suite_env import StarlingSuiteEnv
from . import TWC_LEVELS
from . import data_dir as find_data

TWC_SPLITS = ("train", "valid", "test")
MAX_SOLVER_STEPS = 100
_WALKTHROUGHS: dict[str, list[str]] = {}  # story file -> the solver's walkthrough (per process)


# -- the greedy solver ---------------------------------------------------------------------------
class _World:
    """What the logic state says about where things are, by display name."""

    def __init__(self, engine: Engine):
        infos = engine.game.infos

        def name(var: Any) -> str:  # a logic variable (textworld.logic.Variable): its display name, else its id
            return infos[var.name].name if var.name in infos and infos[var.name].name else var.name

        self.holder: dict[str, str] = {}  # thing -> what holds it: a room, container, supporter or "I"
        self.rooms: set[str] = set()
        self.exits: dict[str, dict[str, str]] = {}  # room -> direction -> room
        self.doors: dict[tuple[str, str], str] = {}  # (room, room) -> door between them
        for fact in engine.progression.state.facts:
            args = fact.arguments
            if fact.name in ("at", "in", "on"):
                self.holder[name(args[0])] = name(args[1])
                if args[1].type == "r":
                    self.rooms.add(name(args[1]))
            elif fact.name.endswith("_of"):  # north_of(a, b): a is north of b
                self.exits.setdefault(name(args[1]), {})[fact.name[:-3]] = name(args[0])
            elif fact.name == "link":
                self.doors[name(args[0]), name(args[2])] = name(args[1])
        self.here = self.holder.get("P")

    def room_of(self, thing: str) -> str | None:
        seen = set()
        while thing not in self.rooms and thing in self.holder and thing not in seen:
            seen.add(thing)
            thing = self.holder[thing]
        return thing if thing in self.rooms else None

    def first_step(self, targets: set[str]) -> tuple[str, str] | None:
        """(direction, next room) of a shortest path from here to any of ``targets``."""
        if self.here is None:  # the logic does not place the player: there is no path
            return None
        queue = deque([self.here])
        first: dict[str, tuple[str, str] | None] = {self.here: None}
        while queue:
            room = queue.popleft()
            if room in targets and first[room] is not None:
                return first[room]
            for direction, nxt in self.exits.get(room, {}).items():
                if nxt not in first:
                    first[nxt] = first[room] or (direction, nxt)
                    queue.append(nxt)
        return None


def _next_command(engine: Engine, goals: dict[str, list[str]]) -> str | None:
    """The greedy choice: put away what is carried, take what is misplaced here, else walk."""
    world = _World(engine)
    misplaced = [o for o, places in goals.items() if world.holder.get(o) not in places]
    if not misplaced:
        return None
    admissible = set(engine.admissible_commands())

    def first(*commands: str) -> str | None:
        return next((c for c in commands if c in admissible), None)

    carried = [o for o in misplaced if world.holder.get(o) == "I"]
    for thing in carried:
        for place in goals[thing]:
            command = first(f"put {thing} on {place}", f"insert {thing} into {place}", f"open {place}")
            if command:
                return command
    for thing in misplaced:
        if thing not in carried and world.room_of(thing) == world.here:
            holder = world.holder[thing]
            command = first(f"take {thing} from {holder}", f"take {thing}", f"open {holder}")
            if command:
                return command
    targets = {world.room_of(p) for o in carried for p in goals[o]} or {world.room_of(o) for o in misplaced}
    step = world.first_step({t for t in targets if t})
    if step is None:
        return None
    direction, room = step
    assert world.here is not None, "first_step found a path from where the player is"
    return first(f"go {direction}", f"open {world.doors.get((world.here, room))}")


def solve(engine: Engine, goals: dict[str, list[str]], max_steps: int = MAX_SOLVER_STEPS) -> list[str]:
    """Play the game from ``engine``'s current state to a win; return the commands sent."""
    commands: list[str] = []
    while not engine.won and not engine.lost and len(commands) < max_steps:
        command = _next_command(engine, goals)
        if command is None:
            break
        engine.step(command)
        commands.append(command)
    return commands


# -- environments ----------------------------------------------------------------------------------
class TWCGameEnv(StarlingEnv):
    """One TWC game: a :class:`StarlingEnv` over ``<name>.z8`` with a solver walkthrough and a TWC card."""

    def __init__(self, story_file: str | Path, level: str, split: str, **kwargs: Any):
        super().__init__(story_file, **kwargs)
        self.level, self.split = level, split

    @property
    def card(self) -> dict[str, Any]:
        return {
            "env_id": f"starling/TWC-{self.level}-v0",
            "game_id": self.game_id,
            "skills": [],
            "difficulty": self.level,
            "split": self.split,
        }

    def walkthrough(self) -> list[str]:
        """The solver's walkthrough, computed once per process on this env's own interpreter."""
        key = str(self.story_file)
        if key not in _WALKTHROUGHS:
            saved = self.engine.snapshot() if self.transcript else None
            self.engine.reset()
            _WALKTHROUGHS[key] = solve(self.engine, dict(self.engine.game.metadata.get("goal_locations", {})))
            if saved is not None:
                self.engine.restore(saved)
        return list(_WALKTHROUGHS[key])


class TWCEnv(StarlingSuiteEnv):
    """The TWC games of one level and split behind one id; each reset draws one (``info["game_id"]``).

    ``reset(seed=s)`` fixes the sequence of games (with ``game_by_seed``: plays game ``s mod n`` of
    ``game_ids``); ``reset(options={"game": stem})`` picks one.
    """

    def __init__(
        self,
        level: str = "easy",
        split: str | list[str] = "test",
        game: str | None = None,
        data_dir: str | Path | None = None,
        game_by_seed: bool = False,
        **env_kwargs: Any,
    ):
        if level not in TWC_LEVELS:
            raise ValueError(f"level must be one of {list(TWC_LEVELS)}, not {level!r}")
        splits = [split] if isinstance(split, str) else list(split)
        if not splits or set(splits) - set(TWC_SPLITS):
            raise ValueError(f"split must be one of {list(TWC_SPLITS)} (or a list of them), not {split!r}")
        root = find_data("twc", data_dir)
        self.level, self.split, self.game_by_seed = level, split, game_by_seed
        self.files: dict[str, Path] = {}
        self.splits: dict[str, str] = {}  # game id -> its split
        for name in splits:
            for path in sorted((root / level / name).glob("*.z8")):
                self.files[path.stem], self.splits[path.stem] = path, name
        if not self.files:
            unprepared = any((root / level / name).glob("*.json") for name in splits)
            raise FileNotFoundError(
                f"no TWC games in {root / level} for split {split!r}"
                + (f": the .json files need their .z8, run `starling data prepare twc {root}`" if unprepared else "")
            )
        game_ids = sorted(self.files)
        if game is not None:
            game_ids = [g for g in game_ids if g == game] or [g for g in game_ids if game in g]
            if len(game_ids) != 1:
                raise ValueError(
                    f"game {game!r} names {len(game_ids)} TWC {level} games; choose one of {sorted(self.files)}"
                )
        self._start(game_ids, env_kwargs)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[str, dict]:
        if self.game_by_seed and seed is not None and not (options or {}).get("game"):
            options = {**(options or {}), "game": self.game_ids[seed % len(self.game_ids)]}
        return super().reset(seed=seed, options=options)

    def _make_game(self, game_id: str) -> TWCGameEnv:
        return TWCGameEnv(self.files[game_id], level=self.level, split=self.splits[game_id], **self.env_kwargs)


# -- preparing the data ---------------------------------------------------------------------------
def prepare(source: Path, dest: Path, *, on_game: Callable[[Path], None] | None = None) -> list[Path]:
    """Make TWC's published games playable here: recompile each ``<level>/<split>/<name>.json`` under ``source``
    (IBM/commonsense-rl's ``games/twc``, which ships Glulx ``.ulx`` files that TextWorld 1.7 no longer plays)
    into ``dest/<level>/<split>/<name>.z8`` with TextWorld's bundled Inform 7, beside a copy of the ``.json``.

    Resumable: a game whose ``.z8`` exists is skipped; each story file is written atomically. Returns the
    story files made now; ``on_game`` is called after each game (made or skipped), for progress.
    """
    import textworld
    from textworld.generator import compile_game

    games = sorted(
        path
        for path in Path(source).glob("*/*/*.json")
        if path.parent.parent.name in TWC_LEVELS and path.parent.name in TWC_SPLITS
    )
    if not games:
        raise FileNotFoundError(
            f"no TWC games under {source}: expected <level>/<split>/<name>.json with level in {list(TWC_LEVELS)} "
            f"and split in {list(TWC_SPLITS)} (the folder games/twc of IBM/commonsense-rl)"
        )
    made = []
    for game_json in games:
        target = Path(dest) / game_json.relative_to(source)
        z8 = target.with_suffix(".z8")
        if not z8.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(game_json, target)
            with tempfile.TemporaryDirectory(dir=target.parent, prefix=".compiling-") as tmp:  # Inform 7's files
                options = textworld.GameOptions()
                options.path, options.file_ext, options.force_recompile = f"{tmp}/{z8.name}", ".z8", True
                compile_game(textworld.Game.load(str(game_json)), options)
                Path(tmp, z8.name).replace(z8)
            made.append(z8)
        if on_game is not None:
            on_game(game_json)
    for folder in (Path(source), *Path(source).parents[:2]):  # the license travels with the games
        if (folder / "LICENSE").is_file():
            shutil.copyfile(folder / "LICENSE", Path(dest) / "LICENSE")
            break
    return made

"""Gymnasium ids for STARLING games, registered lazily (no game is loaded at import).

- ``starling/<game-id>-v<N>``: one game of a collection whose manifest has version N;
- ``starling/Benchmark-v<N>``: the shipped benchmark as a multi-game suite (when it is installed);
- ``starling/Suite-v0``: a suite over any collection (``gymnasium.make("starling/Suite-v0", collection=DIR)``).

The shipped benchmark and the folders listed in ``$STARLING_COLLECTIONS`` (``os.pathsep``-separated)
register on ``import starling_env``; :func:`register_games` adds a collection at run time.
"""

from __future__ import annotations

import json
import os
from importlib import resources
from pathlib import Path

import gymnasium as gym

GAME_ENTRY = "starling_env.envs.game_env:StarlingEnv"
SUITE_ENTRY = "starling_env.envs.suite_env:StarlingSuiteEnv"
ENV_VAR = "STARLING_COLLECTIONS"
DEFAULT_MAX_STEPS = 100

_collections: list[Path] = []


def shipped_collection() -> Path:
    """The benchmark installed with the package (``generated_games/``)."""
    return Path(str(resources.files("starling_env.generated_games")))


def read_manifest(collection: Path) -> dict:
    path = Path(collection) / "manifest.json"
    if not path.is_file():
        raise FileNotFoundError(f"{collection} is not a game collection: it has no manifest.json")
    return json.loads(path.read_text(encoding="utf-8"))


def register_games(collection: str | Path) -> list[str]:
    """Register every game of a collection folder as ``starling/<game-id>-v<version>``; return the ids."""
    collection = Path(collection).resolve()
    manifest = read_manifest(collection)
    ids = []
    for game in manifest["games"]:
        env_id = f"starling/{game['id']}-v{manifest['version']}"
        folder = str(collection / game["id"])
        existing = gym.registry.get(env_id)
        if existing is not None and existing.kwargs.get("game") != folder:
            gym.logger.warn(f"{env_id} is already registered from {existing.kwargs.get('game')}; keeping that one")
            continue
        # gym.make applies max_episode_steps as Gymnasium's TimeLimit; the env's own limit is then off.
        gym.register(env_id, entry_point=GAME_ENTRY, max_episode_steps=DEFAULT_MAX_STEPS,
                     kwargs={"game": folder, "max_episode_steps": None})
        ids.append(env_id)
    if collection not in _collections:
        _collections.append(collection)
    return ids


def registered_collections() -> list[Path]:
    return list(_collections)


def find_game(game: str | Path, collections: list[Path] | None = None) -> Path:
    """A game folder from a folder path, or a game id looked up in ``collections`` (default: registered)."""
    path = Path(game)
    if (path / "game.z8").is_file():
        return path.resolve()
    searched = [Path(c) for c in collections] if collections else _collections
    for collection in searched:
        if (collection / str(game) / "game.z8").is_file():
            return collection / str(game)
    where = ", ".join(map(str, searched)) or "none registered"
    raise FileNotFoundError(
        f"no game {str(game)!r}: not a game folder, and not an id in the registered collections ({where}); "
        f"build games with `starling build` and register them with starling_env.register_games(DIR) or ${ENV_VAR}"
    )


def register_all() -> None:
    """Register the shipped benchmark, the suite entry points and ``$STARLING_COLLECTIONS``."""
    gym.register("starling/Suite-v0", entry_point=SUITE_ENTRY, max_episode_steps=DEFAULT_MAX_STEPS,
                 kwargs={"max_episode_steps": None})
    shipped = shipped_collection()
    if (shipped / "manifest.json").is_file():
        version = read_manifest(shipped)["version"]
        register_games(shipped)
        gym.register(f"starling/Benchmark-v{version}", entry_point=SUITE_ENTRY, max_episode_steps=DEFAULT_MAX_STEPS,
                     kwargs={"collection": str(shipped), "max_episode_steps": None})
    for folder in filter(None, os.environ.get(ENV_VAR, "").split(os.pathsep)):
        try:
            register_games(folder)
        except FileNotFoundError as exc:
            gym.logger.warn(f"${ENV_VAR}: {exc}")

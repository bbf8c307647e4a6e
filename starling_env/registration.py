"""Gymnasium ids for STARLING games, registered lazily (no game is loaded at import).

- ``starling/<game-id>-v<N>``: one game of a collection whose manifest has version N;
- ``starling/Benchmark-v<N>``: version N of the shipped benchmark as a multi-game suite (every installed version);
- ``starling/Suite-v0``: a suite over any collection (``gymnasium.make("starling/Suite-v0", collection=DIR)``).

The shipped benchmark and the folders listed in ``$STARLING_COLLECTIONS`` (``os.pathsep``-separated)
register on ``import starling_env``; :func:`register_games` adds a collection at run time.
"""

from __future__ import annotations

import os
from pathlib import Path

import gymnasium as gym

from .collection.manifest import NAMESPACE, load_manifest, shipped_collections
from .envs.text_env import DEFAULT_MAX_STEPS

GAME_ENTRY = "starling_env.envs.game_env:StarlingEnv"
SUITE_ENTRY = "starling_env.envs.suite_env:StarlingSuiteEnv"
ENV_VAR = "STARLING_COLLECTIONS"

_collections: list[Path] = []


def register(env_id: str, entry_point: str, **kwargs: object) -> None:
    """Register an id whose episodes ``gymnasium.make`` truncates at ``DEFAULT_MAX_STEPS`` (Gymnasium's TimeLimit;
    ``gym.make(id, max_episode_steps=N)`` changes it), with the env's own step limit off."""
    gym.register(
        env_id,
        entry_point=entry_point,
        max_episode_steps=DEFAULT_MAX_STEPS,
        kwargs={**kwargs, "max_episode_steps": None},
    )


def register_games(collection: str | Path) -> list[str]:
    """Register every game of a collection folder as ``starling/<game-id>-v<version>``; return the ids."""
    collection = Path(collection).resolve()
    manifest = load_manifest(collection)
    ids = []
    for game in manifest.games:
        env_id = manifest.env_id(game.id)
        folder = str(collection / game.id)
        existing = gym.registry.get(env_id)
        if existing is not None and existing.kwargs.get("game") != folder:
            gym.logger.warn(f"{env_id} is already registered from {existing.kwargs.get('game')}; keeping that one")
            continue
        register(env_id, GAME_ENTRY, game=folder)
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
    register(f"{NAMESPACE}/Suite-v0", SUITE_ENTRY)
    for shipped in shipped_collections():  # every installed version of the benchmark, oldest first
        register_games(shipped)
        register(f"{NAMESPACE}/Benchmark-v{load_manifest(shipped).version}", SUITE_ENTRY, collection=str(shipped))
    for folder in filter(None, os.environ.get(ENV_VAR, "").split(os.pathsep)):
        try:
            register_games(folder)
        except FileNotFoundError as exc:
            gym.logger.warn(f"${ENV_VAR}: {exc}")

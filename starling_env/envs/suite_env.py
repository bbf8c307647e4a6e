"""StarlingSuiteEnv: many games behind one id; each reset draws a game with the env's RNG."""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path
from typing import Any

import gymnasium as gym

from ..collection.manifest import load_manifest, shipped_collection
from .game_env import StarlingEnv
from .text_env import MAX_ACTION_CHARS, MAX_OBSERVATION_CHARS, text_space

MAX_OPEN_GAMES = 8  # interpreters kept open between resets (least recently used are closed)


class StarlingSuiteEnv(gym.Env):
    """A suite of games (a collection, filtered by split / skills / difficulty) as one environment.

    ``reset(seed=s)`` seeds the env's RNG, which draws the game of each episode, so a seed fixes the
    sequence of games; ``reset(options={"game": id})`` picks one. ``info["game_id"]`` says which game
    is being played. Other keyword arguments go to each game's :class:`StarlingEnv`.

    Suites over other game sets (``starling_env.targets.twc``) subclass it: their constructor lists the
    game ids and calls :meth:`_start`, and :meth:`_make_game` opens one game.
    """

    metadata = StarlingEnv.metadata

    def __init__(
        self,
        collection: str | Path | None = None,
        split: str | list[str] | None = None,
        skills: list[str] | None = None,
        difficulty: str | list[str] | None = None,
        **env_kwargs: Any,
    ):
        self.collection = Path(collection) if collection is not None else shipped_collection()
        game_ids = sorted(g.id for g in load_manifest(self.collection).select(split, skills, difficulty))
        if not game_ids:
            raise ValueError(
                f"no game in {self.collection} matches split={split}, skills={skills}, difficulty={difficulty}"
            )
        self._start(game_ids, env_kwargs)

    def _start(self, game_ids: list[str], env_kwargs: dict[str, Any]) -> None:
        """Set up a suite over ``game_ids``; ``env_kwargs`` go to :meth:`_make_game` for every game."""
        self.game_ids = list(game_ids)
        self.env_kwargs = env_kwargs
        self.render_mode = env_kwargs.get("render_mode")
        self.observation_space = text_space(MAX_OBSERVATION_CHARS)
        self.action_space = text_space(MAX_ACTION_CHARS)
        self._open: OrderedDict[str, StarlingEnv] = OrderedDict()
        self.current: StarlingEnv | None = None
        self._env(self.game_ids[0])  # fail fast on bad kwargs (and keep the game open for the first reset)

    def _make_game(self, game_id: str) -> StarlingEnv:
        """A new env playing ``game_id``."""
        return StarlingEnv(self.collection / game_id, **self.env_kwargs)

    def _env(self, game_id: str) -> StarlingEnv:
        if game_id not in self._open:
            self._open[game_id] = self._make_game(game_id)
            while len(self._open) > MAX_OPEN_GAMES:
                self._open.popitem(last=False)[1].close()
        self._open.move_to_end(game_id)
        return self._open[game_id]

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[str, dict]:
        super().reset(seed=seed)
        game_id = (options or {}).get("game") or self.game_ids[int(self.np_random.integers(len(self.game_ids)))]
        if game_id not in self.game_ids:
            raise ValueError(f"game {game_id!r} is not in this suite; it has {self.game_ids}")
        self.current = self._env(game_id)
        return self.current.reset(seed=seed)

    def step(self, action: str) -> tuple[str, float, bool, bool, dict]:
        if self.current is None:
            raise gym.error.ResetNeeded("call reset() before step()")
        return self.current.step(action)

    def render(self) -> str | None:
        return self.current.render() if self.current else None

    @property
    def card(self) -> dict[str, Any]:
        if self.current is None:
            raise gym.error.ResetNeeded("call reset() before reading the card of the current game")
        return self.current.card

    def get_state(self) -> tuple:
        if self.current is None:
            raise gym.error.ResetNeeded("call reset() before get_state()")
        return (self.current.game_id, self.current.get_state())

    def set_state(self, state: tuple) -> None:
        game_id, inner = state
        self.current = self._env(game_id)
        self.current.set_state(inner)

    def close(self) -> None:
        for env in self._open.values():
            env.close()
        self._open.clear()
        self.current = None

"""What every text-game env here shares: the step limit, the ``info`` contract, Text spaces and rendering.

``StarlingEnv`` (STARLING's own games), the suite env and every target env (TWC, ScienceWorld, Z-machine)
subclass :class:`TextGameEnv` or delegate to one, so agents, wrappers and the evaluation harness see one
contract. This module is cheap to import (no TextWorld, no game): registration reads its step limit.
"""

from __future__ import annotations

import string
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import gymnasium as gym
from gymnasium import spaces

DEFAULT_MAX_STEPS = 100  # the one default step limit of an episode (every registered id, agent and command)
MAX_OBSERVATION_CHARS = 1 << 15
MAX_ACTION_CHARS = 760  # commands are cleaned to at most 190 characters; the space leaves room for what users send
CHARSET = string.printable  # game text is printable ASCII (newlines included)
_NOTHING: AbstractContextManager[None] = nullcontext()  # a context that does nothing (reusable)

# The info contract. Every env fills BASE_INFO on every reset and step, ``admissible_commands`` unless made with
# ``admissible=False``, and each ``extra_info`` name it was made with; an env offers a subset of EXTRA_INFO.
BASE_INFO: dict[str, str] = {
    "score": "points so far (int, 0..max_score)",
    "max_score": "points of a won game (int)",
    "won": "the game is won (bool)",
    "lost": "the game is lost (bool)",
    "moves": "turns the game has counted (int)",
    "objective": "what the player has to do (str)",
    "game_id": "the game being played (str; in a suite, the game drawn at reset)",
}
ADMISSIBLE_INFO = {"admissible_commands": "commands the game accepts now, sorted (list[str])"}
EXTRA_INFO: dict[str, str] = {
    "walkthrough": "commands that win the game from the start (list[str])",
    "facts": "the logic state, TextWorld propositions (list)",
    "inventory": "what the game answers to 'inventory' (str)",
    "location": "the room the player is in (str)",
    "description": "what the game answers to 'look' (str)",
    "intermediate_reward": "TextWorld's shaping signal: +1 closer to a win, -1 farther, 0 otherwise (int)",
    "policy_commands": "commands that win from here, when the game can tell (list[str])",
    "goal_progress": "ScienceWorld's table of subgoals (str)",
    "action_taken": "the last command made the game act; False when it was not understood, not possible or "
    "refused (bool)",
}


def step_limit(env: gym.Env) -> int | None:
    """The steps after which ``env`` truncates an episode: its TimeLimit's (``gym.make``) or its own; None if none."""
    limits = []
    while True:
        limits.append(getattr(env, "_max_episode_steps", None) or getattr(env, "max_episode_steps", None))
        if not isinstance(env, gym.Wrapper):
            break
        env = env.env
    return min((n for n in limits if n), default=None)


def text_space(max_length: int) -> spaces.Text:
    return spaces.Text(max_length=max_length, min_length=0, charset=CHARSET)


class TextGameEnv(gym.Env):
    """A text game behind Gymnasium: Text spaces, the info contract, the step limit, the transcript.

    Subclasses call :meth:`_configure` first, keep ``self.transcript`` as (command, observation) pairs (""
    command for the reset), count ``self._steps``, and build each step's info with :meth:`_info`, which reads
    :meth:`_base_info`, :meth:`_admissible_commands` and :meth:`_extra_sources`.
    """

    metadata = {"render_modes": ["ansi", "human"], "render_fps": 4}
    valid_extra_info: tuple[str, ...] = ()  # the EXTRA_INFO names this env can fill

    def _configure(
        self,
        extra_info: tuple[str, ...] | list[str],
        max_episode_steps: int | None,
        render_mode: str | None,
        admissible: bool = True,
    ) -> None:
        """Check and set the options every env takes (a clear ValueError for each bad one), and the spaces."""
        unknown = sorted(set(extra_info) - set(self.valid_extra_info))
        if unknown:
            raise ValueError(f"unknown extra_info {unknown}; valid names: {list(self.valid_extra_info)}")
        if render_mode not in (None, *self.metadata["render_modes"]):
            raise ValueError(f"render_mode must be one of {self.metadata['render_modes']} or None, not {render_mode!r}")
        if max_episode_steps is not None and max_episode_steps < 1:
            raise ValueError("max_episode_steps must be at least 1")
        self.extra_info = tuple(extra_info)
        self.max_episode_steps = max_episode_steps
        self.admissible = admissible
        self.render_mode = render_mode
        self.observation_space = text_space(MAX_OBSERVATION_CHARS)
        self.action_space = text_space(MAX_ACTION_CHARS)
        self.transcript: list[tuple[str, str]] = []  # (command, observation); "" command for the reset
        self._steps = 0
        self._done = True

    # -- the step limit ------------------------------------------------------------------------------
    def _end_step(self, terminated: bool) -> bool:
        """Count a step; return whether it truncates the episode (the env's own limit, when it has one)."""
        self._steps += 1
        truncated = not terminated and self.max_episode_steps is not None and self._steps >= self.max_episode_steps
        self._done = terminated or truncated
        return truncated

    def _check_running(self) -> None:
        if self._done:
            raise gym.error.ResetNeeded("the episode has ended (terminated or truncated): call reset() before step()")

    # -- the info contract ---------------------------------------------------------------------------
    def _base_info(self) -> dict[str, Any]:
        """The BASE_INFO keys, every one of them."""
        raise NotImplementedError

    def _admissible_commands(self) -> list[str]:
        raise NotImplementedError

    def _extra_sources(self) -> dict[str, Callable[[], Any]]:
        """For each name of ``valid_extra_info``, how to read its value now."""
        return {}

    def _reading_info(self) -> AbstractContextManager[Any]:
        """Wraps the reading of admissible commands and extras (an engine whose reads could change the episode
        overrides it)."""
        return _NOTHING

    def _info(self) -> dict[str, Any]:
        info = self._base_info()
        if not (self.admissible or self.extra_info):
            return info
        with self._reading_info():
            if self.admissible:
                info["admissible_commands"] = self._admissible_commands()
            if self.extra_info:
                sources = self._extra_sources()
                for name in self.extra_info:
                    info[name] = sources[name]()
        return info

    # -- rendering -----------------------------------------------------------------------------------
    def render(self) -> str | None:
        if self.render_mode is None:
            gym.logger.warn("render() called without a render_mode; pass render_mode='ansi' or 'human'")
            return None
        command, obs = self.transcript[-1] if self.transcript else ("", "")
        text = (f"> {command}\n" if command else "") + obs + "\n"
        if self.render_mode == "human":
            print(text)
            return None
        return text

    def _render_step(self) -> None:
        if self.render_mode == "human":
            self.render()

"""Wrappers that turn text games into the numeric spaces learning libraries expect."""

from __future__ import annotations

import re
import zlib
from typing import Any, SupportsFloat

import gymnasium as gym
import numpy as np
from gymnasium import spaces

NOOP_COMMAND = "wait"  # what an out-of-mask action index plays: a turn in which nothing happens


class AdmissibleActions(gym.Wrapper):
    """``Discrete(max_actions)`` over the current admissible commands, with ``action_masks()``.

    Action ``i`` plays the ``i``-th admissible command (the list is sorted, so the mapping is
    deterministic). When more than ``max_actions`` commands are admissible, the list is truncated to
    its first ``max_actions`` entries: ``info["admissible_truncated"]`` says how many were dropped
    this step and ``self.truncations`` counts steps where that happened. An index outside the mask
    plays ``"wait"`` (a turn where nothing happens) and sets ``info["invalid_action"]``; sb3-contrib's
    ``MaskablePPO`` never picks one.
    """

    def __init__(self, env: gym.Env, max_actions: int = 64):
        super().__init__(env)
        if max_actions < 1:
            raise ValueError("max_actions must be at least 1")
        self.max_actions = max_actions
        self.action_space = spaces.Discrete(max_actions)
        self.commands: list[str] = []
        self.truncations = 0

    def _update(self, info: dict[str, Any]) -> dict[str, Any]:
        if "admissible_commands" not in info:
            raise ValueError("AdmissibleActions needs info['admissible_commands']: create the env with admissible=True")
        commands = info["admissible_commands"]
        dropped = max(0, len(commands) - self.max_actions)
        self.truncations += dropped > 0
        self.commands = commands[: self.max_actions]
        return {**info, "admissible_truncated": dropped}

    def reset(self, **kwargs: Any) -> tuple[Any, dict]:
        obs, info = self.env.reset(**kwargs)
        return obs, self._update(info)

    def step(self, action: int) -> tuple[Any, SupportsFloat, bool, bool, dict]:
        index = int(action)
        invalid = not 0 <= index < len(self.commands)
        obs, reward, terminated, truncated, info = self.env.step(NOOP_COMMAND if invalid else self.commands[index])
        info = self._update(info)
        info["invalid_action"] = invalid
        return obs, reward, terminated, truncated, info

    def action_masks(self) -> np.ndarray:
        mask = np.zeros(self.max_actions, dtype=bool)
        mask[: len(self.commands)] = True
        return mask


_WORD = re.compile(r"[a-z0-9]+")


def encode_text(text: str, vocab_size: int, max_tokens: int) -> np.ndarray:
    """Hash the words of ``text`` into ids 1..vocab_size-1 (0 pads); stable across processes."""
    ids = [zlib.crc32(w.encode()) % (vocab_size - 1) + 1 for w in _WORD.findall(text.lower())[:max_tokens]]
    out = np.zeros(max_tokens, dtype=np.int64)
    out[: len(ids)] = ids
    return out


class EncodedObservation(gym.ObservationWrapper):
    """Observation as a ``Box`` of hashed word ids (objective + observation), padded with 0.

    ``include`` names info fields to append (e.g. ``("admissible_commands",)``); each is separated
    by a marker word so a model can tell the parts apart.
    """

    def __init__(self, env: gym.Env, vocab_size: int = 4096, max_tokens: int = 256, include: tuple[str, ...] = ()):
        super().__init__(env)
        self.vocab_size, self.max_tokens, self.include = vocab_size, max_tokens, tuple(include)
        self.observation_space = spaces.Box(0, vocab_size - 1, shape=(max_tokens,), dtype=np.int64)
        self._info: dict[str, Any] = {}

    def reset(self, **kwargs: Any) -> tuple[np.ndarray, dict]:
        obs, self._info = self.env.reset(**kwargs)
        return self.observation(obs), self._info

    def step(self, action: Any) -> tuple[np.ndarray, SupportsFloat, bool, bool, dict]:
        obs, reward, terminated, truncated, self._info = self.env.step(action)
        return self.observation(obs), reward, terminated, truncated, self._info

    def action_masks(self) -> np.ndarray:
        """Forwarded from an inner :class:`AdmissibleActions` (sb3-contrib reads it on the outer env)."""
        return self.env.get_wrapper_attr("action_masks")()

    def observation(self, observation: str) -> np.ndarray:
        parts = [observation] + [
            f"sep {' '.join(map(str, v)) if isinstance(v, list) else v}"
            for v in (self._info.get(k, "") for k in self.include)
        ]
        return encode_text(" ".join(parts), self.vocab_size, self.max_tokens)

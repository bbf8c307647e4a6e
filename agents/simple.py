"""The two reference agents: uniform random over admissible commands, and the walkthrough (oracle)."""

from __future__ import annotations

import random
from typing import Any

from .base import Agent


class RandomAgent(Agent):
    """Uniform over the admissible commands; seeded, so episodes repeat."""

    name = "random"

    def __init__(self, seed: int = 0):
        self.rng = random.Random(seed)

    def act(self, observation: str, info: dict[str, Any]) -> str:
        return self.rng.choice(info["admissible_commands"])


class WalkthroughAgent(Agent):
    """Plays the game's walkthrough: the upper bound every game reaches."""

    name = "walkthrough"
    extra_info = ("walkthrough",)

    def __init__(self, seed: int = 0):
        """``seed`` is taken as by every agent; the walkthrough has no randomness."""

    def reset(self, observation: str, info: dict[str, Any]) -> None:
        if "walkthrough" not in info:
            raise ValueError("the walkthrough agent needs an env made with extra_info=['walkthrough']")
        self.plan = list(info["walkthrough"])

    def act(self, observation: str, info: dict[str, Any]) -> str:
        return self.plan.pop(0) if self.plan else "look"

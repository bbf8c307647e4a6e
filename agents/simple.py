"""The reference agents: uniform random over admissible commands, a simple novelty heuristic, and the
walkthrough (oracle)."""

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


class HeuristicAgent(Agent):
    """A simple heuristic, the second calibration point of the benchmark's tiers (beside random).

    Among the admissible commands it takes one it has issued least often this episode; ties go to
    commands that make progress in most household games (custom commands and take / open / unlock /
    put / wear / eat / give / switch on / wait) before moves, and moves before commands that undo or
    only look (drop, close, lock, take off, switch off, examine, look, inventory); the rest of a tie is
    broken at random (seeded). It knows nothing of the game beyond the admissible commands.
    """

    name = "heuristic"
    LATE = ("drop ", "close ", "lock ", "take off ", "switch off ", "turn off ", "examine ", "look", "inventory")

    def __init__(self, seed: int = 0):
        self.rng = random.Random(seed)
        self.tried: dict[str, int] = {}

    def reset(self, observation: str, info: dict[str, Any]) -> None:
        self.tried = {}

    def rank(self, command: str) -> tuple[int, int]:
        tier = 2 if command.startswith(self.LATE) else 1 if command.startswith("go ") else 0
        return self.tried.get(command, 0), tier

    def act(self, observation: str, info: dict[str, Any]) -> str:
        commands = list(info["admissible_commands"])
        best = min(map(self.rank, commands))
        command = self.rng.choice([c for c in commands if self.rank(c) == best])
        self.tried[command] = self.tried.get(command, 0) + 1
        return command


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

"""Calibrating a game's tier on measured play: seeded episodes of the random and the heuristic agent.

A recipe's ``calibration`` (see :class:`starling_env.generate.recipe.Calibration`) makes the generator play
every verified candidate before publishing it: ``episodes`` episodes of each reference agent at the default
step limit (agent and env seeded ``0 .. episodes-1``, so the measurement repeats exactly). A candidate the
random agent wins more than ``max_random_wins`` times, or whose heuristic score lies outside its tier's
band, is rejected with an ``off_tier`` failure and the task goes on to its next attempt. What was measured
is recorded in the manifest entry's ``calibration`` and reported on the benchmark card.

The episodes run in a child process: one jericho game per process, as everywhere else.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from ..builder.failures import Failure, FailureKind
from ..envs.text_env import DEFAULT_MAX_STEPS
from ..generate.pipeline import Calibrate, Task
from ..generate.recipe import Calibration

AGENTS = ("random", "heuristic")
TIMEOUT_S = 300.0


def measure(game_dir: Path, episodes: int, max_steps: int = DEFAULT_MAX_STEPS) -> dict[str, Any]:
    """Win count and mean normalised score of each reference agent over ``episodes`` seeded episodes."""
    from starling_agents import load_agent, run_episode

    from ..envs.game_env import StarlingEnv

    measured: dict[str, Any] = {"episodes": episodes, "max_steps": max_steps}
    env = StarlingEnv(game_dir, max_episode_steps=max_steps)
    try:
        for name in AGENTS:
            records = [run_episode(load_agent(name, seed=k), env, seed=k) for k in range(episodes)]
            measured[name] = {
                "wins": sum(r.won for r in records),
                "mean_score": round(sum(r.normalized_score for r in records) / episodes, 3),
            }
    finally:
        env.close()
    return measured


def measure_in_child(game_dir: Path, episodes: int, timeout: float = TIMEOUT_S) -> dict[str, Any]:
    """:func:`measure` in a fresh Python process (started in an empty folder, so it imports the installed package)."""
    code = (
        "import json, sys; from starling_env.lab.calibrate import measure; "
        "print(json.dumps(measure(sys.argv[1], int(sys.argv[2]))))"
    )
    with tempfile.TemporaryDirectory(prefix="starling-calibrate-") as cwd:
        done = subprocess.run(
            [sys.executable, "-c", code, str(Path(game_dir).resolve()), str(episodes)],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"calibrating {game_dir} failed (exit {done.returncode}): {last}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def verdict(measured: dict[str, Any], tier: str, calibration: Calibration) -> list[Failure]:
    """The ``off_tier`` failures of a measurement against the recipe's bands ([] when it fits ``tier``)."""
    failures = []
    wins, n = measured["random"]["wins"], measured["episodes"]
    if wins > calibration.max_random_wins:
        message = f"the random agent won {wins} of {n} episodes (at most {calibration.max_random_wins} allowed)"
        failures.append(Failure(kind=FailureKind.off_tier, message=message))
    bands = {str(name): band for name, band in calibration.heuristic_score.items()}
    low, high = bands.get(tier, (0.0, 1.0))
    score = measured["heuristic"]["mean_score"]
    if not low <= score <= high:
        message = f"the heuristic agent scored {score} on average; the {tier} tier takes {low} to {high}"
        failures.append(Failure(kind=FailureKind.off_tier, message=message))
    return failures


def calibrator(calibration: Calibration) -> Calibrate:
    """The generator's ``calibrate`` hook for a recipe's calibration."""

    def calibrate(game_dir: Path, task: Task) -> tuple[list[Failure], dict[str, Any]]:
        measured = measure_in_child(game_dir, calibration.episodes)
        return verdict(measured, task.difficulty, calibration), measured

    return calibrate

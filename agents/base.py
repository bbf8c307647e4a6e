"""The agent interface and the one loop that plays an episode and records it."""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import gymnasium as gym

from starling_env.envs.text_env import step_limit
from starling_env.envs.vector import RayVectorEnv, StarlingVectorEnv, available_cpus
from starling_env.records import EpisodeRecord, Step

NOOPS = ("look", "inventory", "examine ")  # commands that change nothing; learners may leave them out


def useful_commands(commands: list[str]) -> list[str]:
    """The commands that are not look / inventory / examine (all of them when nothing else is left)."""
    return [c for c in commands if not c.startswith(NOOPS)] or list(commands)


_RAY_ROLLOUTS: ContextVar[str | None] = ContextVar("ray_rollouts", default=None)


@contextmanager
def rollouts_on_ray(address: str | None) -> Iterator[None]:
    """Within it, the envs of :func:`vector_env` are Ray actors at ``address`` (``"local"`` or a cluster's, as
    ``--ray`` takes); ``None`` changes nothing."""
    token = _RAY_ROLLOUTS.set(address)
    try:
        yield
    finally:
        _RAY_ROLLOUTS.reset(token)


def ray_rollouts() -> str | None:
    """The Ray address learners' envs are to run at (:func:`rollouts_on_ray`), or None."""
    return _RAY_ROLLOUTS.get()


def vector_env(make_env: Callable[[], gym.Env], n: int) -> gym.vector.VectorEnv:
    """``n`` envs stepped together for a learner (in one worker process per CPU when ``n > 1``, in Ray actors
    within :func:`rollouts_on_ray`); an ended episode resets in the same step."""
    address = ray_rollouts()
    if address is not None:
        return RayVectorEnv([make_env] * n, address=address, autoreset_mode=gym.vector.AutoresetMode.SAME_STEP)
    if n == 1:
        return gym.vector.SyncVectorEnv([make_env], autoreset_mode=gym.vector.AutoresetMode.SAME_STEP)
    return StarlingVectorEnv([make_env] * n, autoreset_mode=gym.vector.AutoresetMode.SAME_STEP)


def learner_threads(requested: int, envs: int) -> int:
    """Torch threads for a learner that steps ``envs`` envs: ``requested``, or when it is 0 the CPUs this process
    may use shared with its env worker processes (one per env, at most one per CPU, when ``envs > 1``), so that
    the learner's threads and the workers never ask for more cores than there are."""
    if requested > 0:
        return requested
    cpus = len(available_cpus())
    workers = min(envs, cpus) if envs > 1 else 0
    return max(1, cpus // (1 + workers))


def info_row(infos: dict, i: int) -> dict[str, Any]:
    """Env ``i``'s info out of a vector env's dict of arrays."""
    return {k: v[i] for k, v in infos.items() if not k.startswith("_") and k not in ("final_info", "final_obs")}


class RecentEpisodes:
    """The last ``size`` finished training episodes: their normalised scores and wins, for learning curves."""

    def __init__(self, size: int = 50):
        self.episodes: deque[tuple[float, bool]] = deque(maxlen=size)

    def add(self, final_info: dict[str, Any]) -> None:
        self.episodes.append((final_info["score"] / max(1, final_info["max_score"]), bool(final_info["won"])))

    def summary(self) -> dict[str, float]:
        n = len(self.episodes)
        return {
            "episodes": n,
            "mean_score": sum(s for s, _ in self.episodes) / n if n else 0.0,
            "win_rate": sum(w for _, w in self.episodes) / n if n else 0.0,
        }


class StopEpisode(Exception):
    """Raised by ``act`` to end the episode before the game or the step limit does (a player who quits)."""


def canonical(command: str) -> str:
    """How a command compares to the admissible list: case and spacing do not matter."""
    return " ".join(command.lower().split())


class Agent:
    """Reset for a new episode, then act on (observation, info) -> command.

    Learners also implement ``train``, ``save`` and ``load``. ``extra_info`` names the info keys the
    agent needs from the environment (the walkthrough agent needs ``walkthrough``).
    """

    name = "agent"
    extra_info: tuple[str, ...] = ()
    can_stop = False  # act may raise StopEpisode, so an env without a step limit is fine

    def reset(self, observation: str, info: dict[str, Any]) -> None:
        """A new episode starts."""

    def act(self, observation: str, info: dict[str, Any]) -> str:
        raise NotImplementedError

    @property
    def tokens(self) -> int:
        """LLM tokens spent so far (0 for other agents)."""
        return 0

    def episode_stats(self) -> dict[str, float]:
        """The agent's own counters for the episode since ``reset`` (recorded in the EpisodeRecord)."""
        return {}

    def save(self, path: Path) -> None:
        raise NotImplementedError(f"{type(self).__name__} has nothing to save")

    def load(self, path: Path) -> None:
        raise NotImplementedError(f"{type(self).__name__} has nothing to load")


def run_episode(agent: Agent, env: gym.Env, seed: int | None = None) -> EpisodeRecord:
    """Play one episode of ``env`` with ``agent`` to its end; return its EpisodeRecord.

    The env's step limit ends an episode that is neither won nor lost (``gym.make(id, max_episode_steps=N)``);
    an env without one is refused, since its episode might never end.
    """
    if step_limit(env) is None and not agent.can_stop:
        raise ValueError(
            "the env has no step limit, so an episode might never end: make it with "
            "gymnasium.make(id, max_episode_steps=N) or max_episode_steps=N"
        )
    started = time.perf_counter()
    tokens_before = agent.tokens
    obs, info = env.reset(seed=seed)
    agent.reset(obs, info)
    transcript = [Step(command="", observation=obs, reward=0.0)]
    invalid = steps = 0
    done = False
    while not done:
        try:
            command = agent.act(obs, info)
        except StopEpisode:
            break
        if "action_taken" not in info:  # else counted after the step, by what the game did
            invalid += "admissible_commands" in info and canonical(command) not in map(
                canonical, info["admissible_commands"]
            )
        obs, reward, terminated, truncated, info = env.step(command)
        invalid += not info.get("action_taken", True)
        transcript.append(Step(command=command, observation=obs, reward=float(reward)))
        steps += 1
        done = terminated or truncated
    # env id, game id, skills, difficulty, split of the game just played
    card = env.unwrapped.card  # type: ignore[attr-defined]
    max_score = float(info["max_score"])
    return EpisodeRecord(
        agent=agent.name,
        seed=seed,
        score=float(info["score"]),
        max_score=max_score,
        normalized_score=float(info["score"]) / max_score if max_score else 0.0,
        won=bool(info["won"]),
        steps=steps,
        invalid_commands=invalid,
        tokens=agent.tokens - tokens_before,
        agent_stats=agent.episode_stats(),
        wall_time_s=round(time.perf_counter() - started, 4),
        transcript=transcript,
        objective=info["objective"],
        **card,
    )


Progress = Callable[[int, dict[str, float]], None]  # (env steps so far, the latest training metrics)


class Learner(Agent, ABC):
    """The one training contract of every trainable agent (like SB3's ``learn``).

    Its constructor takes ``seed=`` and ``checkpoint=`` (a folder ``train`` wrote, or the file in it), as every
    agent's takes ``seed=``. ``train`` steps ``envs`` copies of ``make_env()`` together until ``steps`` env steps
    have been taken in all, writing checkpoints and a learning curve to ``out``: when ``out`` holds a checkpoint
    the run resumes from it (the steps it took count towards ``steps``, so a finished run reruns as a no-op),
    else it is a fresh run seeded with ``seed``. ``progress(env_steps, metrics)`` is called as it goes; it
    returns the last metrics. ``warm_start`` takes only the policy's weights from a finished training folder
    (a fresh optimizer, counters at 0): the next fresh ``train`` starts from them.
    """

    env_steps: int = 0  # env steps trained so far (restored when a run resumes)

    @abstractmethod
    def train(
        self,
        make_env: Callable[[], gym.Env],
        out: str | Path,
        *,
        steps: int,
        envs: int = 1,
        seed: int = 0,
        progress: Progress | None = None,
    ) -> dict[str, float]:
        """Train until ``steps`` env steps in all, resuming from ``out``'s checkpoint if there is one."""

    @abstractmethod
    def warm_start(self, trained: Path) -> None:
        """Start from the policy weights of the finished training folder ``trained`` (nothing else of it)."""


def is_learner(cls: type) -> bool:
    """Whether an agent class implements the :class:`Learner` contract (so ``starling train`` can train it)."""
    return isinstance(cls, type) and issubclass(cls, Learner)

"""What a transfer experiment is: its targets (env ids and make kwargs) and its settings."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from ...envs.text_env import DEFAULT_MAX_STEPS

ARMS = ("pretrained", "scratch")
PRETRAIN_SPLIT = "train"
TRAIN_SPLIT, TEST_SPLIT = "train", "test"


class TransferError(ValueError):
    """A transfer run cannot start or continue (bad target, missing data, a folder holding another run)."""


@dataclass(frozen=True)
class Target:
    """A target env id and the extra ``gymnasium.make`` kwargs it is made with (besides ``split``)."""

    env_id: str
    kwargs: dict[str, Any] = field(default_factory=dict)

    @property
    def slug(self) -> str:
        """Folder name: the id without its namespace, then ``-key-value`` for each kwarg."""
        parts = [self.env_id.split("/")[-1]] + [f"{k}-{v}" for k, v in sorted(self.kwargs.items())]
        return re.sub(r"[^A-Za-z0-9._-]+", "-", "-".join(parts)).strip("-")

    def make_kwargs(self, split: str) -> dict[str, Any]:
        return {**self.kwargs, "split": split}


@dataclass(frozen=True)
class TransferConfig:
    targets: tuple[Target, ...]
    agent: str = "drrn"  # any learner (``starling_agents.LEARNERS`` or a module:Class Learner)
    pretrain_steps: int = 3000
    steps: int = 2000
    seeds: int = 1  # seeds 0 .. seeds-1
    episodes: int = 1  # greedy test episodes per game of a target's test split, per (seed, arm): see evaluation_games
    max_steps: int = DEFAULT_MAX_STEPS  # episode step limit in pre-training, target training and evaluation
    workers: int = 1  # evaluation processes
    envs: int = 1  # parallel training envs
    device: str = "auto"
    agent_options: dict[str, Any] = field(default_factory=dict)  # the learner's constructor options (e.g. model)
    engine: str = "inform7"  # what plays the STARLING games of pre-training (the targets have no native engine)

    def learner_options(self) -> dict[str, Any]:
        """The learner's options for training and evaluation: ``agent_options`` and the device unless ``auto``."""
        return {**self.agent_options, **({} if self.device == "auto" else {"device": self.device})}


def parse_targets(env_ids: list[str], kwargs_json: str | None = None) -> tuple[Target, ...]:
    """Targets from ``--target`` ids and ``--target-kwargs`` JSON.

    The JSON is either an object keyed by target ids (``{"starling/ScienceWorld-v0": {"task": "boil"}}``),
    each value the kwargs of that target, or a plain kwargs object given to every target (``{"task": "boil"}``).
    """
    if not env_ids:
        raise TransferError("give at least one --target ENV_ID")
    if len(set(env_ids)) != len(env_ids):
        raise TransferError(f"a --target is given twice: {env_ids}")
    try:
        given = json.loads(kwargs_json) if kwargs_json else {}
    except json.JSONDecodeError as exc:
        raise TransferError(f"--target-kwargs is not valid JSON ({exc}): {kwargs_json!r}") from exc
    if not isinstance(given, dict):
        raise TransferError(f"--target-kwargs must be a JSON object, not {kwargs_json!r}")
    keyed = [k for k in given if k in env_ids]
    if keyed and len(keyed) != len(given):
        stray = sorted(set(given) - set(keyed))
        raise TransferError(
            f"--target-kwargs mixes target ids and kwargs (or names ids not given with --target): {stray}"
        )
    targets = []
    for env_id in env_ids:
        kwargs = (given.get(env_id) or {}) if keyed else dict(given)
        if not isinstance(kwargs, dict):
            raise TransferError(f"--target-kwargs for {env_id} must be an object, not {kwargs!r}")
        reserved = sorted({"split", "extra_info", "max_episode_steps", "game_by_seed"} & set(kwargs))
        if reserved:
            raise TransferError(
                f"--target-kwargs may not set {reserved}: transfer trains on the target's "
                f"{TRAIN_SPLIT!r} split and evaluates on its {TEST_SPLIT!r} split itself"
            )
        targets.append(Target(env_id, kwargs))
    return tuple(targets)


def check_targets(targets: tuple[Target, ...], extra_info: list[str]) -> None:
    """Unknown ids, missing data or packages, or kwargs a target does not take: a TransferError that says so."""
    import gymnasium as gym

    import starling_env  # noqa: F401  (registers the ids)

    for target in targets:
        if target.env_id not in gym.registry:
            known = sorted(
                i for i in gym.registry if i.startswith("starling/") and not re.search(r"-[0-9a-f]{7}-v\d+$", i)
            )
            raise TransferError(
                f"unknown target {target.env_id!r}; registered starling ids (besides the benchmark's "
                f"games): {', '.join(known)}"
            )
        for split in (TRAIN_SPLIT, TEST_SPLIT):
            try:
                env = gym.make(target.env_id, **target.make_kwargs(split), extra_info=extra_info)
            except (FileNotFoundError, ImportError, RuntimeError, ValueError, TypeError) as exc:
                raise TransferError(
                    f"cannot make target {target.env_id} with {target.make_kwargs(split)}: {exc}"
                ) from exc
            env.close()


def evaluation_games(target: Target) -> list[str]:
    """The games of ``target``'s test split that its evaluation covers, each ``episodes`` times.

    A target env holding several games (TWC's suites, ScienceWorld's variations) lists them in ``game_ids`` and
    takes ``game_by_seed``: episode seed ``s`` then plays game ``s mod n``, so seeds 0..n*K-1 play each game K
    times instead of drawing games at random. Any other env (a Z-machine game) is one game.
    """
    import gymnasium as gym

    import starling_env  # noqa: F401  (registers the ids)

    env = gym.make(target.env_id, **target.make_kwargs(TEST_SPLIT))
    try:
        games = list(getattr(env.unwrapped, "game_ids", None) or [])
    finally:
        env.close()
    return games or [target.slug]


def eval_kwargs(target: Target, games: list[str]) -> dict[str, Any]:
    """The make kwargs of ``target``'s evaluation env: its test split, one game per seed when it holds several."""
    return {**target.make_kwargs(TEST_SPLIT), **({"game_by_seed": True} if len(games) > 1 else {})}

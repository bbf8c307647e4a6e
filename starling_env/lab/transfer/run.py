"""The orchestration of a transfer run, for any learner: pre-train, train both arms on each target, evaluate.

Nothing here knows which learner runs: it is made by name (:func:`starling_agents.learner_class`) and driven
through the one :class:`~starling_agents.Learner` contract (``train``, ``warm_start``, ``env_steps``).
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from starling_agents import LEARNERS, Learner, learner_class

from ...files import write_atomic
from ..evaluate import EvalConfig, evaluate
from ..stats import summarize
from .config import (
    ARMS,
    PRETRAIN_SPLIT,
    TRAIN_SPLIT,
    Target,
    TransferConfig,
    TransferError,
    check_targets,
    eval_kwargs,
    evaluation_games,
)
from .render import write_results
from .results import collect
from .units import Unit, pretrain_unit, target_unit


class UnitProgress:
    """What a run tells its caller: which unit runs (with how much work) and how far it got."""

    def unit(self, label: str, total: int) -> None: ...

    def advance(self, completed: int, status: str = "") -> None: ...

    def unit_done(self) -> None: ...


class LearnerSettings(Protocol):
    """What :func:`train_stage` reads of a run's config (a :class:`TransferConfig`, a generalisation config)."""

    @property
    def agent(self) -> str: ...

    @property
    def envs(self) -> int: ...

    def learner_options(self) -> dict[str, Any]: ...


def train_stage(
    make_env: Callable,
    folder: Path,
    steps: int,
    seed: int,
    config: LearnerSettings,
    on_step: Callable[[int, dict], None],
    start_from: Path | None = None,
) -> dict[str, Any]:
    """Train a fresh learner (from ``start_from``'s policy weights, if given) into ``folder``, resuming it."""
    started = time.perf_counter()
    learner: Learner = learner_class(config.agent)(seed=seed, **config.learner_options())
    if start_from is not None:  # run_transfer trains a pre-training again when its policy is gone
        learner.warm_start(start_from)
    metrics = learner.train(make_env, folder, steps=steps, envs=config.envs, seed=seed, progress=on_step)
    return {"env_steps": learner.env_steps, "final_metrics": metrics, "wall_s": round(time.perf_counter() - started, 1)}


def policy_kept(folder: Path, config: LearnerSettings) -> bool:
    """Whether the policy a finished training stage wrote is still in ``folder`` (results keep no checkpoints)."""
    try:
        learner_class(config.agent)(seed=0, checkpoint=folder, **config.learner_options())
    except FileNotFoundError:
        return False
    return True


def start_over(folder: Path) -> None:
    """Empty a training stage's folder but for its settings (``spec.json``), to train it again from the start."""
    for path in folder.iterdir():
        if path.name != "spec.json":
            shutil.rmtree(path) if path.is_dir() else path.unlink()


def _status(metrics: dict) -> str:
    shown = [("score", "mean_score", "{:.2f}"), ("eps", "epsilon", "{:.2f}"), ("", "steps_per_s", "{:.1f} steps/s")]
    return " ".join(f"{name} {fmt.format(metrics[key])}".strip() for name, key, fmt in shown if key in metrics)


def run_transfer(config: TransferConfig, out: Path, progress: UnitProgress | None = None) -> dict[str, Any]:
    """Run every missing unit of ``config`` into ``out``, then write and return the results (see the package doc)."""
    import gymnasium as gym

    import starling_env  # noqa: F401  (registers the ids)

    from ...collection import shipped_collection

    progress = progress or UnitProgress()
    try:
        cls = learner_class(config.agent)
    except ValueError as exc:
        raise TransferError(f"transfer pre-trains a learner: {exc}") from exc
    for name in ("pretrain_steps", "steps", "seeds", "episodes", "max_steps", "workers", "envs"):
        if getattr(config, name) < 1:
            raise TransferError(f"--{name.replace('_', '-')} must be at least 1")
    extra = list(cls.extra_info)
    seeds = list(range(config.seeds))
    pretrains = {seed: pretrain_unit(out, seed, config) for seed in seeds}
    units: dict[tuple[str, int, str], Unit] = {
        (t.slug, seed, arm): target_unit(out, t, seed, arm, config)
        for seed in seeds
        for t in config.targets
        for arm in ARMS
    }
    for unit in [*pretrains.values(), *units.values()]:
        if unit.folder.exists():
            unit.claim()  # a folder holding another run is an error before any work starts
    pending = [t for t in config.targets if any(not units[(t.slug, s, a)].done for s in seeds for a in ARMS)]
    if pending:
        try:  # bad options fail here, before a unit folder records them
            cls(seed=0, **config.learner_options())
        except (ValueError, TypeError) as exc:
            raise TransferError(f"cannot make the {config.agent} learner: {exc}") from exc
        check_targets(tuple(pending), extra)
    collection = shipped_collection()
    if not (collection / "manifest.json").exists():
        raise TransferError(f"no STARLING benchmark to pre-train on at {collection}")

    def make_suite() -> gym.Env:
        return gym.make(
            "starling/Suite-v0",
            collection=str(collection),
            split=PRETRAIN_SPLIT,
            extra_info=extra,
            max_episode_steps=config.max_steps,
            engine=config.engine,
        )

    def show(step: int, metrics: dict) -> None:
        progress.advance(step, _status(metrics))

    games: dict[str, list[str]] = {}  # per target: the test games its evaluation covers (listed when first needed)
    for seed in seeds:
        pre = pretrains[seed]
        needed = any(not units[(t.slug, seed, "pretrained")].done for t in config.targets)
        if needed and pre.done and not policy_kept(pre.folder, config):  # a fresh checkout of committed results
            start_over(pre.folder)  # the same seed trains the same policy again
        if not pre.done and needed:
            pre.claim()
            progress.unit(f"pre-train seed {seed} on STARLING-100 {PRETRAIN_SPLIT}", config.pretrain_steps)
            pre.finish(train_stage(make_suite, pre.folder, config.pretrain_steps, seed, config, show))
            progress.unit_done()
        for target in config.targets:
            for arm in ARMS:
                unit = units[(target.slug, seed, arm)]
                if unit.done:
                    continue
                unit.claim()
                train_folder, eval_folder = unit.folder / "train", unit.folder / "eval"
                label = f"{target.slug} seed {seed} {arm}"
                result: dict[str, Any] = {}
                if (train_folder / "done.json").exists() and not policy_kept(train_folder, config):
                    start_over(train_folder)  # trained, not evaluated, and the policy lost: trained again
                    shutil.rmtree(eval_folder, ignore_errors=True)  # episodes of a policy now gone
                if (train_folder / "done.json").exists():
                    result["train"] = json.loads((train_folder / "done.json").read_text())
                else:

                    def make_target(target: Target = target) -> gym.Env:
                        return gym.make(
                            target.env_id,
                            **target.make_kwargs(TRAIN_SPLIT),
                            extra_info=extra,
                            max_episode_steps=config.max_steps,
                        )

                    progress.unit(f"train {label}", config.steps)
                    start_from = pre.folder if arm == "pretrained" else None
                    result["train"] = train_stage(
                        make_target, train_folder, config.steps, seed, config, show, start_from=start_from
                    )
                    write_atomic(train_folder / "done.json", json.dumps(result["train"], indent=2) + "\n")
                    progress.unit_done()
                if target.slug not in games:
                    games[target.slug] = evaluation_games(target)
                eval_config = EvalConfig(
                    agent=config.agent,
                    env_ids=(target.env_id,),
                    episodes=config.episodes * len(games[target.slug]),  # seed s plays game s mod n: each K times
                    seed=0,
                    max_steps=config.max_steps,
                    checkpoint=str(train_folder),
                    agent_options=config.learner_options(),
                    env_kwargs=eval_kwargs(target, games[target.slug]),
                )
                progress.unit(f"evaluate {label}", eval_config.episodes)
                started, played = time.perf_counter(), [0]

                def episode_done(record, played=played) -> None:
                    played[0] += 1
                    progress.advance(played[0], f"last score {record.normalized_score:.2f}")

                records = evaluate(
                    eval_config, eval_folder, workers=config.workers, on_episode=episode_done, mp_context="spawn"
                )  # this process ran torch: fresh workers
                progress.unit_done()
                result["eval"] = {
                    "summary": summarize(records)["overall"]["all"],
                    "games": len(games[target.slug]),
                    "wall_s": round(time.perf_counter() - started, 1),
                }
                unit.finish(result)
    results = collect(out)
    write_results(results, out, agent=config.agent.upper() if config.agent in LEARNERS else config.agent)
    return results

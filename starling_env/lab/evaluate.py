"""The evaluation harness: every game of a split (or given env ids) x K seeded episodes, in parallel.

A run folder holds ``header.json`` (code and suite versions, agent and its options, seeds) and
``episodes.jsonl`` (one EpisodeRecord per line, appended as episodes finish). Rerunning the same
command in the same folder plays only the missing (env id, seed) episodes: an interrupted run
continues where it stopped and never counts an episode twice. Each episode gets a fresh agent
seeded with the episode's seed, so results do not depend on ``workers``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .. import __version__
from ..collection import Manifest, load_manifest, shipped_collection, shipped_collections
from ..envs.text_env import DEFAULT_MAX_STEPS
from ..executors import make_executor, result_of
from ..files import write_atomic
from ..records import EpisodeRecord, append_records, read_records


@dataclass(frozen=True)
class EvalConfig:
    agent: str
    env_ids: tuple[str, ...]
    episodes: int = 3
    seed: int = 0
    max_steps: int = DEFAULT_MAX_STEPS  # the episodes' TimeLimit
    checkpoint: str | None = None
    agent_options: dict[str, Any] = field(default_factory=dict)
    env_kwargs: dict[str, Any] = field(default_factory=dict)  # extra gymnasium.make kwargs (e.g. split, task)

    def jobs(self) -> list[tuple[str, int]]:
        """Every (env id, seed) to play: the same seeds on every game."""
        return [(env_id, self.seed + k) for env_id in self.env_ids for k in range(self.episodes)]


def split_env_ids(split: str, collection: Path | None = None) -> list[str]:
    """Env ids of the shipped benchmark (or ``collection``) in ``split`` (``all`` for every game)."""
    manifest = load_manifest(collection or shipped_collection())
    ids = [manifest.env_id(g.id) for g in manifest.select(split=None if split == "all" else split)]
    if not ids:
        splits = sorted({g.split for g in manifest.games})
        raise ValueError(f"no game in split {split!r}; splits: {splits} or 'all'")
    return ids


def _play(config: EvalConfig, env_id: str, seed: int) -> EpisodeRecord:
    """One episode in a worker process: a fresh agent, seeded with the episode's seed."""
    import gymnasium as gym
    from starling_agents import load_agent, run_episode

    import starling_env  # noqa: F401  (registers the ids in this process)

    options = dict(config.agent_options)  # a seed among them wins over the episode's
    agent = load_agent(config.agent, seed=options.pop("seed", seed), checkpoint=config.checkpoint, **options)
    env = gym.make(env_id, **config.env_kwargs, extra_info=list(agent.extra_info), max_episode_steps=config.max_steps)
    try:
        record = run_episode(agent, env, seed=seed)
        return record.model_copy(update={"env_id": env_id})  # the job's key, also for suites of games
    finally:
        env.close()


def suite_of(env_ids: tuple[str, ...]) -> Manifest:
    """The shipped benchmark version whose games (or suite id) the env ids are; else the newest."""
    for folder in reversed(shipped_collections()):
        manifest = load_manifest(folder)
        known = {manifest.env_id(g.id) for g in manifest.games} | {manifest.env_id("Benchmark")}
        if set(env_ids) <= known:
            return manifest
    return load_manifest(shipped_collection())


def header(config: EvalConfig) -> dict[str, Any]:
    manifest = suite_of(config.env_ids)
    return {
        "starling_version": __version__,
        "suite": manifest.suite,
        "suite_version": manifest.version,
        **asdict(config),
        "env_ids": list(config.env_ids),
    }


def evaluate(
    config: EvalConfig,
    out: Path,
    workers: int = 1,
    on_episode: Callable[[EpisodeRecord], None] = lambda record: None,
    mp_context: str | None = None,
    ray: str | None = None,
) -> list[EpisodeRecord]:
    """Play every missing episode of ``config`` into ``out``; return all its records, in job order.

    ``mp_context`` ("spawn", "forkserver") starts the worker processes afresh instead of forking this one:
    needed by callers that ran torch before (a forked child can hang in torch's OpenMP thread pool).
    ``ray`` plays the episodes as Ray tasks instead (:mod:`starling_env.executors`: ``"local"`` or a cluster's address).
    Records are appended here, one per finished episode, so a worker that dies and is retried adds none twice;
    an episode that fails is raised (saying which) once the others have finished and been recorded.
    """
    out.mkdir(parents=True, exist_ok=True)
    wanted = header(config)
    header_path, episodes = out / "header.json", out / "episodes.jsonl"
    if header_path.exists():
        existing = json.loads(header_path.read_text())
        same = {
            k: existing.get(k)
            for k in ("agent", "env_ids", "episodes", "seed", "max_steps", "checkpoint", "agent_options")
        }
        same["env_kwargs"] = existing.get("env_kwargs", {})  # headers from before env_kwargs existed
        if same != {k: wanted[k] for k in same}:
            raise ValueError(f"{out} holds a different evaluation (see its header.json); use another --out")
    else:
        write_atomic(header_path, json.dumps(wanted, indent=2) + "\n")
    done = {(r.env_id, r.seed): r for r in read_records(episodes)} if episodes.exists() else {}
    missing = [job for job in config.jobs() if job not in done]
    if missing:
        error: Exception | None = None
        with make_executor(workers, ray, mp_context=mp_context) as pool:
            futures = {pool.submit(_play, config, env_id, seed): (env_id, seed) for env_id, seed in missing}
            for future in as_completed(futures):
                env_id, seed = futures[future]
                try:
                    record = result_of(future, f"{env_id} seed {seed}")
                except Exception as exc:  # noqa: BLE001 - raised below, once the other episodes are recorded
                    error = error or exc
                    continue
                append_records(episodes, [record])
                done[(record.env_id, record.seed)] = record
                on_episode(record)
        if error is not None:
            raise error
    return [done[job] for job in config.jobs()]

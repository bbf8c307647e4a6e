"""Scaling out with Ray: a real local Ray instance gives the same records, games and training as the local pools,
and a worker killed mid-run loses and duplicates nothing."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path
from typing import Any

import gymnasium as gym
import pytest
from starling_agents.simple import RandomAgent

import starling_env  # noqa: F401  (registers the ids)
from starling_env.collection import load_manifest
from starling_env.envs.vector import RayVectorEnv
from starling_env.lab.evaluate import EvalConfig, evaluate, split_env_ids
from starling_env.records import read_records

from .conftest import CLI
from .test_vector import rollout

ray = pytest.importorskip("ray", reason="Ray is not installed: pip install '.[scale]'")

GAME = "starling/boil-water-e4b0ab7-v1"  # easy: one room (shipped benchmark)
pytestmark = pytest.mark.skipif(GAME not in gym.registry, reason="the shipped benchmark is not built")


@pytest.fixture(scope="module")
def cluster() -> Any:
    """One real local Ray instance for the module (2 CPUs, a small object store): its address, for the CLI to join."""
    try:
        ray.init(num_cpus=2, object_store_memory=80 * 1024**2, include_dashboard=False)
    except Exception as exc:  # noqa: BLE001 - a machine where Ray cannot start (no /dev/shm, say)
        pytest.skip(f"Ray cannot start here: {type(exc).__name__}: {exc}")
    yield ray.get_runtime_context().gcs_address
    ray.shutdown()


def starling(*args: str) -> subprocess.CompletedProcess:
    result = subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def records_by_job(folder: Path) -> dict[tuple[str, int | None], dict]:
    """A run's records by (env id, seed), wall-clock time left out; every job recorded exactly once."""
    records = list(read_records(folder / "episodes.jsonl"))
    by_job = {(r.env_id, r.seed): r.model_dump(exclude={"wall_time_s"}) for r in records}
    assert len(by_job) == len(records), "a job recorded twice"
    return by_job


def same_records_on_ray(tmp_path: Path, *games: str) -> None:
    """`starling evaluate --agent random ... --ray` (its own local Ray instance) records the local run's episodes."""
    run = ["evaluate", "--agent", "random", *games, "--engine", "native", "--episodes", "1", "--max-steps", "5"]
    starling(*run, "--workers", "2", "--out", str(tmp_path / "local"))
    starling(*run, "--workers", "2", "--out", str(tmp_path / "ray"), "--ray")  # --ray alone: Ray started for the run
    local, on_ray = records_by_job(tmp_path / "local"), records_by_job(tmp_path / "ray")
    assert on_ray.keys() == local.keys()
    for job, record in local.items():
        assert on_ray[job] == record, job  # field by field


def test_evaluate_on_ray_gives_the_local_records(cluster, tmp_path):
    """Three games of the test split (the whole split: the slow test below)."""
    games = split_env_ids("test")[:3]
    same_records_on_ray(tmp_path, *(arg for game in games for arg in ("--env", game)))
    assert len(records_by_job(tmp_path / "ray")) == 3


@pytest.mark.slow
def test_evaluate_the_test_split_on_ray_gives_the_local_records(cluster, tmp_path):
    """The issue's `starling evaluate --agent random --split test --ray`."""
    same_records_on_ray(tmp_path, "--split", "test")
    assert len(records_by_job(tmp_path / "ray")) == len(split_env_ids("test"))


class KillOnceAgent(RandomAgent):
    """The random agent, whose first episode after ``marker`` appears kills its own worker process mid-episode."""

    def __init__(self, seed: int = 0, marker: str = ""):
        super().__init__(seed)
        self.marker = marker

    def act(self, observation: str, info: dict[str, Any]) -> str:
        try:
            os.unlink(self.marker)  # only one process can take the marker
        except FileNotFoundError:
            return super().act(observation, info)
        os.kill(os.getpid(), signal.SIGKILL)
        raise AssertionError("unreachable")


def test_a_killed_worker_is_retried_with_nothing_lost_or_duplicated(cluster, tmp_path):
    marker = tmp_path / "kill-a-worker"
    config = EvalConfig(
        agent=f"{__name__}:KillOnceAgent",
        env_ids=(GAME,),
        episodes=3,
        max_steps=5,
        agent_options={"marker": str(marker)},
        env_kwargs={"engine": "native"},
    )
    expected = {(r.env_id, r.seed): r.model_dump(exclude={"wall_time_s"}) for r in evaluate(config, tmp_path / "a")}
    marker.touch()
    got = evaluate(config, tmp_path / "b", ray="local")  # the module's Ray instance, joined by this process
    assert not marker.exists(), "no worker was killed"
    assert records_by_job(tmp_path / "b") == expected
    assert [(r.env_id, r.seed) for r in got] == list(config.jobs())


def test_generate_on_a_joined_cluster_publishes_the_same_games(cluster, tmp_path):
    """`starling generate --backend offline --ray ADDRESS` joins the running cluster; the same games, in order."""
    run = ["generate", "--backend", "offline", "--n", "2", "--seed", "3", "--walks", "2", "--walk-length", "20"]
    starling(*run, "--out", str(tmp_path / "local"), "--workers", "2")
    starling(*run, "--out", str(tmp_path / "ray"), "--ray", cluster)
    assert published(tmp_path / "ray") == published(tmp_path / "local") and len(published(tmp_path / "local")) == 2
    assert not any((tmp_path / "ray" / ".staging").glob("*")), "a staging folder left behind"


@pytest.mark.slow
def test_generate_six_on_ray_publishes_the_same_games(cluster, tmp_path):
    """The issue's `starling generate --backend offline --n 6 --ray`, with real verification settings."""
    run = ["generate", "--backend", "offline", "--n", "6"]
    starling(*run, "--out", str(tmp_path / "local"), "--workers", "2")
    starling(*run, "--out", str(tmp_path / "ray"), "--ray", cluster)
    assert published(tmp_path / "ray") == published(tmp_path / "local") and len(published(tmp_path / "local")) == 6
    again = starling(*run, "--out", str(tmp_path / "ray"), "--ray", cluster)  # resumable: nothing rebuilt
    assert "'existing': 6" in again.stdout


def published(collection: Path) -> list[tuple[str, str, str, list[str]]]:
    """The games of a collection, in manifest order: id, content hash, split, and the files of its folder."""
    return [
        (g.id, g.content_hash, g.split, sorted(p.name for p in (collection / g.id).iterdir()))
        for g in load_manifest(collection).games
    ]


def test_ray_vector_env_steps_like_the_sync_vector_env(cluster):
    """The rollout side of `starling train --ray`: envs in Ray actors, the same episodes (with autoresets)."""
    fns = [lambda: gym.make(GAME, max_episode_steps=4, engine="native")] * 3
    mode = gym.vector.AutoresetMode.SAME_STEP
    expected = rollout(gym.vector.SyncVectorEnv(fns, autoreset_mode=mode), 10)
    assert rollout(RayVectorEnv(fns, workers=2, autoreset_mode=mode), 10) == expected
    assert any(any(step[3]) for step in expected[1:])  # episodes were truncated and reset


@pytest.mark.slow
def test_train_on_ray_trains_the_same_policy(cluster, tmp_path):
    """`starling train --ray`: the learner here, its envs in Ray actors; the same weights as with local workers."""
    torch = pytest.importorskip("torch", reason="training needs the agents extra")
    from starling_agents.base import rollouts_on_ray
    from starling_agents.drrn import DRRNAgent

    def trained(folder: str, address: str | None) -> dict:
        agent = DRRNAgent(learning_starts=10, device="cpu", threads=1)
        make = lambda: gym.make(GAME, extra_info=list(agent.extra_info), max_episode_steps=8, engine="native")  # noqa: E731
        with rollouts_on_ray(address):
            agent.train(make, tmp_path / folder, steps=30, envs=2, seed=3)
        return agent.net.state_dict()

    local, on_ray = trained("local", None), trained("ray", "local")
    assert all(torch.equal(local[k], on_ray[k]) for k in local)
    run = ["train", "--agent", "drrn", "--env", GAME, "--engine", "native", "--steps", "16", "--envs", "2"]
    run += ["--max-steps", "8", "--option", "learning_starts=8", "--out", str(tmp_path / "cli")]
    starling(*run, "--ray", cluster)  # the command joins the running cluster
    assert (tmp_path / "cli" / "checkpoint.pt").exists()


def test_no_cluster_at_the_address_is_a_clear_error(tmp_path):
    run = ["evaluate", "--agent", "random", "--env", GAME, "--engine", "native", "--out", str(tmp_path / "run")]
    result = subprocess.run([*CLI, *run, "--ray", "127.0.0.1:1"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "no Ray cluster answers at '127.0.0.1:1'" in " ".join(result.stderr.split())

"""DRRN training throughput: env steps/s, updates/s and where the time goes, against version 1 of the learner.

Trains DRRN for a fixed number of steps on the STARLING-100 train split (one suite env per worker) with 1 and 2
env workers on the CPU (and on CUDA when a GPU is present), and version 1 of the learner
(``starling_agents.drrn_reference``: the code before the fast learner) the same way with 1 worker, at the same
gradient updates per env step (one every 4 steps) and batch size (64), and prints the ratios. Each run reports
env steps/s, gradient updates/s, the share of its time spent waiting for the envs (game loads included) and in
gradient updates, and the learner's time per env step (everything but the env). Each run is a fresh Python
process (nothing parsed by an earlier run is in memory; the games come from the disk cache, ``game_cache``, warm
after the first run and alike for every run), with ``--threads`` torch threads (version 1 never
set them: torch's default, all cores, collapses when other processes share them; here it gets what version 2
gets). Every run is made ``--repeats`` times in whole rounds and each figure is its fastest run: this shared machine's
speed drifts by up to 1.5x within minutes, and one run of each, made minutes apart, put the ratio anywhere from 2x
to 3.9x. Last line: a JSON object of the figures.

The fast learner also runs with 1 worker on the other engine (``native`` when ``--engine`` is ``inform7``), and
with its bag-of-words encoder (``encoder=bow``, a different network: what it learns is compared with the GRU's in
``results/generalisation-30k-bow``).

    python benchmarks/train_throughput.py [--steps 800] [--threads 1] [--engine inform7] [--repeats 2]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Any
from unittest import mock

import gymnasium as gym
import starling_agents.drrn as fast
import starling_agents.drrn_reference as reference
import torch

import starling_env  # noqa: F401  (registers the ids)
from starling_env.collection import shipped_collection


class Clock:
    """Seconds spent in the envs (building, resetting, stepping) and in gradient updates during one run."""

    def __init__(self) -> None:
        self.env = self.update = 0.0

    def vector_env(self, module: ModuleType) -> Any:
        """``module.vector_env`` with every call into the vector env timed."""
        make_vector = module.vector_env
        clock = self

        class Timed:
            def __init__(self, make_env: Any, n: int):
                started = time.perf_counter()
                self.vec = make_vector(make_env, n)
                clock.env += time.perf_counter() - started

            def __getattr__(self, name: str) -> Any:
                return getattr(self.vec, name)

            def reset(self, **kwargs: Any) -> Any:
                started = time.perf_counter()
                try:
                    return self.vec.reset(**kwargs)
                finally:
                    clock.env += time.perf_counter() - started

            def step(self, actions: Any) -> Any:
                started = time.perf_counter()
                try:
                    return self.vec.step(actions)
                finally:
                    clock.env += time.perf_counter() - started

        return Timed

    def timed_update(self, agent: Any) -> None:
        update = agent.update

        def timed(replay: Any) -> float:
            started = time.perf_counter()
            try:
                return update(replay)
            finally:
                self.update += time.perf_counter() - started

        agent.update = timed


def run(
    module: ModuleType, device: str, workers: int, steps: int, threads: int, engine: str, encoder: str = "gru"
) -> dict[str, float]:
    """One training run of ``module``'s DRRN (version 2's with ``encoder``); its figures."""
    settings: dict[str, Any] = {"learning_starts": 64, "log_every": 1.0, "checkpoint_every": 1.0, "device": device}
    if module is fast:
        settings.update(threads=threads, update_ratio=0.25, encoder=encoder)
    else:
        settings.update(update_every=4)
    agent = module.DRRNAgent(module.DRRNConfig(**settings))
    assert agent.config.batch_size == 64
    engine_kwargs: dict[str, Any] = {"engine": engine} if engine != "inform7" else {}

    def make() -> gym.Env:
        return gym.make(
            "starling/Suite-v0",
            collection=str(shipped_collection()),
            split="train",
            extra_info=list(agent.extra_info),
            max_episode_steps=50,
            **engine_kwargs,
        )

    clock = Clock()
    clock.timed_update(agent)
    torch.set_num_threads(threads)  # version 1 runs with these too (version 2 sets its own, the same number)
    with tempfile.TemporaryDirectory() as tmp, mock.patch.object(module, "vector_env", clock.vector_env(module)):
        started = time.perf_counter()
        agent.train(make, Path(tmp), steps=steps, envs=workers)
        wall = time.perf_counter() - started
    return {
        "steps_per_s": round(steps / wall, 2),
        "updates_per_s": round(agent.updates / wall, 2),
        "updates": agent.updates,
        "env_share": round(clock.env / wall, 3),
        "update_share": round(clock.update / wall, 3),
        "learner_ms_per_step": round(1000 * (wall - clock.env) / steps, 2),
        "wall_s": round(wall, 1),
    }


def in_a_fresh_process(
    version: str, device: str, workers: int, args: argparse.Namespace, engine: str | None = None
) -> dict[str, float]:
    """``run`` in its own Python process, so that no run finds what an earlier one left in memory (parsed games)."""
    command = [sys.executable, __file__, "--run", f"{version}:{device}:{workers}"]
    command += ["--steps", str(args.steps), "--threads", str(args.threads), "--engine", engine or args.engine]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode:
        raise RuntimeError(f"{' '.join(command)} failed:\n{result.stderr}")
    return json.loads(result.stdout.splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=800)
    parser.add_argument("--threads", type=int, default=1, help="torch threads of every run")
    parser.add_argument("--engine", default="inform7", help="the games' engine (inform7 | native)")
    parser.add_argument("--repeats", type=int, default=2, help="rounds of every run; each figure is its best run")
    parser.add_argument("--run", help=argparse.SUPPRESS)  # VERSION:DEVICE:WORKERS, one run in this process
    args = parser.parse_args()
    if args.run:
        version, device, workers = args.run.split(":")  # version: v1, v2 or v2-bow (its bag-of-words encoder)
        module = reference if version == "v1" else fast
        encoder = "bow" if version == "v2-bow" else "gru"
        print(json.dumps(run(module, device, int(workers), args.steps, args.threads, args.engine, encoder)))
        return
    figures: dict[str, Any] = {"steps": args.steps, "threads": args.threads, "engine": args.engine}

    def show(name: str, f: dict[str, float]) -> None:
        print(
            f"{name:28s} {f['steps_per_s']:7.1f} env steps/s {f['updates_per_s']:6.1f} updates/s | env "
            f"{f['env_share']:.0%} updates {f['update_share']:.0%} | learner {f['learner_ms_per_step']:6.1f} ms/step",
            flush=True,
        )

    other = "native" if args.engine == "inform7" else "inform7"  # the other engine, for comparison
    runs = [("reference_cpu_1_workers", "v1 (reference) cpu 1 worker", "v1", "cpu", 1, None)]
    for device in ["cpu"] + (["cuda"] if torch.cuda.is_available() else []):
        runs += [(f"{device}_{w}_workers", f"v2 {device} {w} worker(s)", "v2", device, w, None) for w in (1, 2)]
    runs.append((f"cpu_1_workers_{other}", f"v2 cpu 1 worker, {other}", "v2", "cpu", 1, other))
    runs.append(("bow_cpu_1_workers", "v2 bag of words cpu 1 worker", "v2-bow", "cpu", 1, None))
    for _ in range(args.repeats):  # whole rounds, so that a slow spell of the machine hits every run alike
        for name, label, version, device, workers, engine in runs:
            figure = in_a_fresh_process(version, device, workers, args, engine)
            show(label, figure)
            if name not in figures or figure["steps_per_s"] > figures[name]["steps_per_s"]:
                figures[name] = figure
    print(f"best of {args.repeats} round(s):")
    for name, label, *_ in runs:
        show(label, figures[name])
    old = figures["reference_cpu_1_workers"]
    for key, name, label in (("speedup", "cpu_1_workers", "v2"), ("speedup_bow", "bow_cpu_1_workers", "v2 bow")):
        new = figures[name]
        assert new["updates"] == old["updates"], "the same gradient updates per env step"
        figures[key] = {
            "steps_per_s": round(new["steps_per_s"] / old["steps_per_s"], 2),
            "updates_per_s": round(new["updates_per_s"] / old["updates_per_s"], 2),
            "learner": round(old["learner_ms_per_step"] / new["learner_ms_per_step"], 2),
        }
        print(
            f"{label} / v1, cpu, 1 worker: {{steps_per_s}}x env steps/s, {{updates_per_s}}x updates/s, "
            "{learner}x learner time per env step".format(**figures[key])
        )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()

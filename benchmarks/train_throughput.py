"""DRRN training throughput: env steps per second, updates included, with 1 and 2 env workers.

Trains DRRN for a fixed number of steps on the STARLING-100 train split (one suite env per worker)
on the CPU, and also on CUDA when a GPU is present. Last line: a JSON object of the figures.

    python benchmarks/train_throughput.py [--steps 800]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import gymnasium as gym
import torch
from starling_agents.drrn import DRRNAgent, DRRNConfig

import starling_env  # noqa: F401  (registers the ids)
from starling_env.collection import shipped_collection


def steps_per_s(device: str, workers: int, steps: int) -> float:
    # one learning-curve row and one checkpoint, at the end
    agent = DRRNAgent(DRRNConfig(learning_starts=64, log_every=1.0, checkpoint_every=1.0, device=device))

    def make() -> gym.Env:
        return gym.make(
            "starling/Suite-v0",
            collection=str(shipped_collection()),
            split="train",
            extra_info=list(agent.extra_info),
            max_episode_steps=50,
        )

    with tempfile.TemporaryDirectory() as tmp:
        return agent.train(make, Path(tmp), steps=steps, envs=workers)["steps_per_s"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=800)
    args = parser.parse_args()
    figures = {}
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    for device in devices:
        for workers in (1, 2):
            rate = steps_per_s(device, workers, args.steps)
            figures[f"{device}_{workers}_workers_steps_per_s"] = round(rate, 1)
            print(f"{device:4s} {workers} worker(s): {rate:7.1f} env steps/s (updates every 4 steps, batch 64)")
        ratio = figures[f"{device}_2_workers_steps_per_s"] / figures[f"{device}_1_workers_steps_per_s"]
        figures[f"{device}_2_over_1"] = round(ratio, 3)
    print(json.dumps({"steps": args.steps, **figures}))


if __name__ == "__main__":
    main()

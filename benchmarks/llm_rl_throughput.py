"""Trainable LLM policy (llm-rl) throughput: env steps/s and model tokens/s of PPO training.

Builds a randomly initialised GPT-2 (``--width`` x ``--layers``, ``--vocab``), then trains it with
PPO for ``--steps`` env steps on the STARLING-100 train split (one suite env per ``--envs``), on
CUDA (bf16 autocast) when a GPU is present, else on the CPU. The GPU check of issue 7 is
``--width 768 --layers 12 --heads 12 --vocab 32000`` (about 110M parameters). Last line: JSON.

    python benchmarks/llm_rl_throughput.py [--width 64 --layers 2 --heads 2 --steps 256]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import gymnasium as gym
import torch
from starling_agents.llm_rl import LLMRLAgent, build_random_model

import starling_env  # noqa: F401  (registers the ids)
from starling_env.collection import shipped_collection


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--heads", type=int, default=2)
    parser.add_argument("--vocab", type=int, default=1024)
    parser.add_argument("--steps", type=int, default=256)
    parser.add_argument("--envs", type=int, default=1)
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        model = build_random_model(
            Path(tmp) / "model", width=args.width, layers=args.layers, heads=args.heads, vocab_size=args.vocab
        )
        agent = LLMRLAgent(model=model, rollout_steps=64, device=args.device)
        parameters = sum(p.numel() for p in agent.model.parameters())

        def make() -> gym.Env:
            return gym.make(
                "starling/Suite-v0", collection=str(shipped_collection()), split="train", max_episode_steps=30
            )

        started = time.perf_counter()
        metrics = agent.train(make, Path(tmp) / "run", steps=args.steps, envs=args.envs)
        wall = time.perf_counter() - started
    figures = {
        "device": str(agent.device) + (f" ({torch.cuda.get_device_name()})" if agent.device.type == "cuda" else ""),
        "parameters_m": round(parameters / 1e6, 2),
        "env_steps": agent.env_steps,
        "wall_s": round(wall, 1),
        "env_steps_per_s": round(metrics["steps_per_s"], 2),
        "tokens_per_s": round(metrics["tokens_per_s"]),
        "peak_gpu_memory_gb": round(torch.cuda.max_memory_allocated() / 1e9, 2) if torch.cuda.is_available() else None,
    }
    for key, value in figures.items():
        print(f"{key:>20}: {value}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()

"""Training the learning baselines on CPU: DRRN learns a one-room game; checkpoints reload exactly."""

from __future__ import annotations

import csv
import subprocess
import sys

import gymnasium as gym
import pytest

import starling_env  # noqa: F401  (registers the ids)
from starling_agents import run_episode
from starling_agents.drrn import DRRNAgent, DRRNConfig
from starling_agents.ppo import PPOAgent
from starling_env.registration import shipped_collection

GAME = "starling/boil-water-e4b0ab7-v1"  # easy: one room, a five-command walkthrough
pytestmark = pytest.mark.skipif(GAME not in gym.registry, reason="the shipped benchmark is not built")


def make(agent):
    return lambda: gym.make(GAME, extra_info=list(agent.extra_info), max_episode_steps=30)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("drrn")
    agent = DRRNAgent(DRRNConfig(steps=1200, epsilon_decay_steps=800, learning_starts=100, seed=0, device="cpu"))
    agent.train(make(agent), out)
    return agent, out


def test_drrn_learns_a_one_room_game(trained):
    agent, out = trained
    env = make(agent)()
    scores = [run_episode(agent, env, seed=seed).normalized_score for seed in range(5)]
    assert sum(scores) / len(scores) >= 0.9
    rows = list(csv.DictReader(open(out / "learning_curve.csv")))
    assert rows and {"step", "mean_score", "win_rate", "loss", "steps_per_s"} <= set(rows[0])
    assert any((out / "tensorboard").iterdir())


def test_drrn_checkpoint_reloads_the_same_policy(trained):
    agent, out = trained
    clone = DRRNAgent(checkpoint=out / "checkpoint.pt", device="cpu")
    env = make(agent)()
    obs, info = env.reset(seed=0)
    for _ in range(5):
        assert clone.act(obs, info) == agent.act(obs, info)
        obs, _, terminated, _, info = env.step(agent.act(obs, info))
        if terminated:
            break


def test_train_command_resumes_from_its_checkpoint(tmp_path):
    cli = [sys.executable, "-m", "starling_env.lab.cli", "train", "--agent", "drrn", "--env", GAME, "--out", str(tmp_path)]
    subprocess.run([*cli, "--steps", "150"], check=True, capture_output=True)
    subprocess.run([*cli, "--steps", "250"], check=True, capture_output=True)
    steps = [int(row["step"]) for row in csv.DictReader(open(tmp_path / "learning_curve.csv"))]
    assert steps[-1] == 250 and steps == sorted(steps)
    import torch

    assert torch.load(tmp_path / "checkpoint.pt", weights_only=False)["env_steps"] == 250


def test_maskable_ppo_trains_saves_and_reloads(tmp_path):
    agent = PPOAgent(seed=0, n_steps=128)
    agent.train(lambda: gym.make(GAME, max_episode_steps=30), tmp_path, steps=256)
    clone = PPOAgent(checkpoint=tmp_path / "model.zip")
    env = gym.make(GAME, max_episode_steps=30)
    obs, info = env.reset(seed=0)
    assert clone.act(obs, info) == agent.act(obs, info) and agent.act(obs, info) in info["admissible_commands"]
    record = run_episode(agent, env, seed=0)
    assert record.agent == "ppo" and record.steps > 0


def test_drrn_trains_on_the_train_split_with_two_workers(tmp_path):
    agent = DRRNAgent(DRRNConfig(steps=60, envs=2, learning_starts=20, log_every=20, device="cpu"))
    make_suite = lambda: gym.make("starling/Suite-v0", collection=str(shipped_collection()), split="train",  # noqa: E731
                                  extra_info=list(agent.extra_info), max_episode_steps=20)
    metrics = agent.train(make_suite, tmp_path)
    assert agent.env_steps == 60 and metrics["steps_per_s"] > 0

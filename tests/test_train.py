"""Training the learning baselines on CPU: the one Learner contract, DRRN learns a one-room game, runs resume."""

from __future__ import annotations

import csv
import subprocess

import gymnasium as gym
import pytest
import torch
from starling_agents import BUILTIN, LEARNERS, Learner, agent_class, is_learner, learner_class, run_episode
from starling_agents.drrn import DRRNAgent, DRRNConfig
from starling_agents.ppo import PPOAgent
from typer.testing import CliRunner

import starling_env  # noqa: F401  (registers the ids)
from starling_env.collection import shipped_collection
from starling_env.lab.cli import app

from .conftest import CLI

GAME = "starling/boil-water-e4b0ab7-v1"  # easy: one room, a five-command walkthrough
pytestmark = pytest.mark.skipif(GAME not in gym.registry, reason="the shipped benchmark is not built")


def make(agent):
    return lambda: gym.make(GAME, extra_info=list(agent.extra_info), max_episode_steps=30)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("drrn")
    agent = DRRNAgent(DRRNConfig(epsilon_decay=800 / 1200, learning_starts=100, device="cpu"), seed=0)
    agent.train(make(agent), out, steps=1200)
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
    cli = [
        *CLI,
        "train",
        "--agent",
        "drrn",
        "--env",
        GAME,
        "--out",
        str(tmp_path),
    ]
    subprocess.run([*cli, "--steps", "150"], check=True, capture_output=True)
    subprocess.run([*cli, "--steps", "250"], check=True, capture_output=True)
    steps = [int(row["step"]) for row in csv.DictReader(open(tmp_path / "learning_curve.csv"))]
    assert steps[-1] == 250 and steps == sorted(steps)
    assert torch.load(tmp_path / "checkpoint.pt", weights_only=False)["env_steps"] == 250


def test_train_command_refuses_an_agent_that_cannot_learn(tmp_path):
    result = CliRunner().invoke(app, ["train", "--agent", "random", "--steps", "10", "--out", str(tmp_path / "run")])
    assert result.exit_code == 2, result.output
    assert "'random' cannot be trained: learners are drrn, ppo, llm-rl" in " ".join(result.output.split())
    assert not (tmp_path / "run").exists()


def test_every_builtin_learner_implements_the_contract():
    assert {name for name in BUILTIN if is_learner(agent_class(name))} == set(LEARNERS)
    for name in LEARNERS:
        assert issubclass(learner_class(name), Learner)
    for name in set(BUILTIN) - set(LEARNERS):
        with pytest.raises(ValueError, match="cannot be trained"):
            learner_class(name)
    assert isinstance(DRRNAgent(device="cpu"), Learner) and isinstance(PPOAgent(), Learner)


def test_drrn_resumes_from_its_checkpoint_to_the_total_budget(tmp_path):
    def run(steps: int) -> DRRNAgent:
        agent = DRRNAgent(learning_starts=20, device="cpu")
        agent.train(make(agent), tmp_path, steps=steps, seed=3)
        return agent

    first = run(60)
    weights = {k: v.clone() for k, v in first.net.state_dict().items()}
    assert first.env_steps == 60 and first.updates > 0
    steps = [int(row["step"]) for row in csv.DictReader(open(tmp_path / "learning_curve.csv"))]
    assert steps[-1] == 60
    second = run(120)  # continues from step 60, not from 0
    assert second.env_steps == 120 and second.updates > first.updates
    after = [int(row["step"]) for row in csv.DictReader(open(tmp_path / "learning_curve.csv"))]
    assert after[: len(steps)] == steps and after[-1] == 120
    assert after == sorted(after) and len(set(after)) == len(after)
    assert not all(torch.equal(weights[k], v) for k, v in second.net.state_dict().items())
    third = run(120)  # a finished run: nothing more
    assert third.env_steps == 120 and third.updates == second.updates
    assert [int(row["step"]) for row in csv.DictReader(open(tmp_path / "learning_curve.csv"))] == after


def test_a_fresh_run_is_seeded_by_train(tmp_path):
    def trained(seed: int, folder: str) -> dict:
        agent = DRRNAgent(learning_starts=20, device="cpu")  # constructed with seed 0
        agent.train(make(agent), tmp_path / folder, steps=40, seed=seed)
        return agent.net.state_dict()

    def constructed(seed: int) -> dict:
        return DRRNAgent(seed=seed, device="cpu").net.state_dict()

    a, b = trained(5, "a"), trained(5, "b")
    assert all(torch.equal(a[k], b[k]) for k in a)  # the same seed: the same run
    assert not all(torch.equal(constructed(5)[k], constructed(0)[k]) for k in a)


def test_drrn_warm_start_takes_only_the_weights(tmp_path):
    pretrained = DRRNAgent(seed=7, device="cpu")
    with torch.no_grad():
        for p in pretrained.net.parameters():
            p.add_(0.5)
    pretrained.env_steps, pretrained.updates = 1000, 250
    pretrained.save(tmp_path / "checkpoint.pt")
    start = DRRNAgent(seed=0, device="cpu")
    start.warm_start(tmp_path)
    assert (start.env_steps, start.updates) == (0, 0) and not start.optimizer.state_dict()["state"]
    for name, value in pretrained.net.state_dict().items():
        assert torch.equal(start.net.state_dict()[name], value) and torch.equal(start.target.state_dict()[name], value)
    with pytest.raises(FileNotFoundError, match="no checkpoint.pt"):
        start.warm_start(tmp_path / "nowhere")


def test_maskable_ppo_trains_saves_and_reloads(tmp_path):
    agent = PPOAgent(seed=0, n_steps=128)
    agent.train(lambda: gym.make(GAME, max_episode_steps=30), tmp_path, steps=256)
    assert agent.env_steps == 256
    clone = PPOAgent(checkpoint=tmp_path)  # the training folder (or its model.zip)
    env = gym.make(GAME, max_episode_steps=30)
    obs, info = env.reset(seed=0)
    assert clone.act(obs, info) == agent.act(obs, info) and agent.act(obs, info) in info["admissible_commands"]
    record = run_episode(agent, env, seed=0)
    assert record.agent == "ppo" and record.steps > 0
    resumed = PPOAgent(seed=0, n_steps=128)
    resumed.train(lambda: gym.make(GAME, max_episode_steps=30), tmp_path, steps=384)  # resumes: 128 more
    assert resumed.env_steps == 384


def test_drrn_trains_on_the_train_split_with_two_workers(tmp_path):
    agent = DRRNAgent(DRRNConfig(learning_starts=20, log_every=1 / 3, device="cpu"))

    def make_suite() -> gym.Env:
        return gym.make(
            "starling/Suite-v0",
            collection=str(shipped_collection()),
            split="train",
            extra_info=list(agent.extra_info),
            max_episode_steps=20,
        )

    metrics = agent.train(make_suite, tmp_path, steps=60, envs=2)
    assert agent.env_steps == 60 and metrics["steps_per_s"] > 0

"""The trainable LLM policy: command scoring, PPO updates that learn, checkpoints, the CLI (tiny model, CPU)."""

from __future__ import annotations

import csv
import math

import gymnasium as gym
import numpy as np
import pytest
import torch
from starling_agents import load_agent, run_episode
from starling_agents.llm_rl import LLMRLAgent, build_random_model

import starling_env  # noqa: F401  (registers the benchmark ids)

ENV_ID = "starling/boil-water-e4b0ab7-v1"  # one room, 4 points
MAX_STEPS = 8
SETTINGS = dict(rollout_steps=64, lr=3e-3, minibatch=16, epochs=2, target_kl=0.2)


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    return build_random_model(tmp_path_factory.mktemp("models") / "tiny", width=32, layers=2, heads=2)


def mean_return(agent: LLMRLAgent, episodes: int = 12) -> float:
    env = gym.make(ENV_ID, max_episode_steps=MAX_STEPS)
    scores = [run_episode(agent, env, seed=s).score for s in range(episodes)]
    env.close()
    return float(np.mean(scores))


def test_command_scores_are_the_models_log_likelihoods(tiny_model):
    agent = LLMRLAgent(model=tiny_model)
    prompt = agent.scorer.encode_prompt("You are in a kitchen. You see a cupboard.\n>")
    commands = [agent.scorer.encode_command(c) for c in ("open cupboard", "switch on stove", "go north")]
    with torch.no_grad():
        (sums,) = agent.scorer.score([prompt], [commands])
        (means,) = agent.scorer.score([prompt], [commands], mean=True)
        for k, command in enumerate(commands):  # the same number, from the full logits of one sequence
            ids = torch.tensor([prompt + command])
            logp = torch.log_softmax(agent.model(ids).logits[0, :-1].float(), dim=-1)
            expected = sum(float(logp[len(prompt) - 1 + j, token]) for j, token in enumerate(command))
            assert sums[k].item() == pytest.approx(expected, abs=1e-4)
            assert means[k].item() == pytest.approx(expected / len(command), abs=1e-4)


def test_a_ppo_update_changes_the_model(tiny_model, tmp_path):
    agent = LLMRLAgent(model=tiny_model, sample=True, seed=0, **SETTINGS)
    before_weights = [p.detach().clone() for p in agent.model.parameters()]
    metrics = agent.train(lambda: gym.make(ENV_ID, max_episode_steps=MAX_STEPS), tmp_path / "run", steps=64)
    assert agent.updates == 1 and agent.env_steps == 64
    assert any(not torch.equal(a, b) for a, b in zip(before_weights, agent.model.parameters(), strict=True))
    assert all(math.isfinite(v) for v in metrics.values() if isinstance(v, float)), metrics


@pytest.mark.slow  # 512 env steps of PPO: about 2.5 minutes of CPU
def test_ppo_updates_change_the_model_and_raise_the_return(tiny_model, tmp_path):
    agent = LLMRLAgent(model=tiny_model, sample=True, seed=0, **SETTINGS)
    before_weights = [p.detach().clone() for p in agent.model.parameters()]
    before = mean_return(agent)
    metrics = agent.train(lambda: gym.make(ENV_ID, max_episode_steps=MAX_STEPS), tmp_path / "run", steps=512)
    assert agent.updates == 8 and agent.env_steps == 512
    assert any(not torch.equal(a, b) for a, b in zip(before_weights, agent.model.parameters(), strict=True))
    trained = LLMRLAgent(checkpoint=tmp_path / "run", sample=True, seed=0)
    assert trained.config.lr == SETTINGS["lr"]  # the checkpoint's own settings
    after = mean_return(trained)
    assert after > before + 0.5, (before, after, metrics)
    rows = list(csv.DictReader(open(tmp_path / "run" / "learning_curve.csv")))
    assert len(rows) == 8 and float(rows[-1]["tokens_per_s"]) > 0


def test_warm_start_takes_the_weights_of_a_run(tiny_model, tmp_path):
    trained = LLMRLAgent(model=tiny_model, seed=0, lr=1e-2, rollout_steps=16, minibatch=8, epochs=1)
    trained.train(lambda: gym.make(ENV_ID, max_episode_steps=MAX_STEPS), tmp_path / "run", steps=32)
    start = LLMRLAgent(model=tiny_model, seed=0)
    start.warm_start(tmp_path / "run")
    assert (start.env_steps, start.updates) == (0, 0) and not start.optimizer.state_dict()["state"]
    for a, b in zip(start.model.parameters(), trained.model.parameters(), strict=True):
        assert torch.equal(a, b)


def test_bad_options_are_clear_errors(tiny_model, tmp_path):
    with pytest.raises(ValueError, match="unknown llm-rl options"):
        LLMRLAgent(model=tiny_model, learning_rate=1.0)
    with pytest.raises(ValueError, match="init-model"):
        load_agent("llm-rl", model=str(tmp_path / "nowhere"))


def test_train_resumes_in_a_new_agent_and_the_checkpoint_evaluates(tiny_model, tmp_path):
    """What `starling train` twice into one --out, then `starling evaluate --checkpoint`, do (the README's commands run
    them through the CLI, in test_readme.py)."""

    def make() -> gym.Env:
        return gym.make(ENV_ID, max_episode_steps=MAX_STEPS)

    LLMRLAgent(model=tiny_model, rollout_steps=32).train(make, tmp_path / "run", steps=32)
    resumed = LLMRLAgent(model=tiny_model, rollout_steps=32)
    resumed.train(make, tmp_path / "run", steps=64)  # resumes: 32 more steps, not 64
    assert resumed.env_steps == 64
    steps = [int(row["step"]) for row in csv.DictReader(open(tmp_path / "run" / "learning_curve.csv"))]
    assert steps == [32, 64]
    loaded = load_agent("llm-rl", checkpoint=str(tmp_path / "run"))
    obs, info = make().reset(seed=0)
    assert loaded.act(obs, info) == resumed.act(obs, info)
    assert run_episode(loaded, make(), seed=0).steps > 0

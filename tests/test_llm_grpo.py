"""llm-grpo: TRL's GRPOTrainer on whole STARLING episodes (a tiny random GPT-2 on the CPU, real TRL, real games)."""

from __future__ import annotations

import csv
import json
import math
import subprocess

import gymnasium as gym
import numpy as np
import pytest
import torch
from safetensors.torch import load_file
from starling_agents import LEARNERS, load_agent, run_episode
from starling_agents.llm_grpo import LLMGRPOAgent
from starling_agents.llm_rl import build_random_model

import starling_env  # noqa: F401  (registers the benchmark ids)

from .conftest import CLI

ENV_ID = "starling/boil-water-e4b0ab7-v1"  # one room, 4 points
SMALL = {"groups": 1, "num_generations": 4, "show_commands": False}  # 4 episodes an update


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    return build_random_model(tmp_path_factory.mktemp("models") / "tiny", width=32, layers=2, heads=2, context=1024)


def make_env(max_steps: int = 8):
    return lambda: gym.make(ENV_ID, max_episode_steps=max_steps, engine="native")


def starling(*args: str) -> str:
    result = subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr + result.stdout
    return result.stdout


def test_a_rollout_is_whole_episodes_in_trls_multi_turn_layout(tiny_model):
    agent = LLMGRPOAgent(model=tiny_model, seed=0)
    eos = agent.tokenizer.eos_token_id
    envs: list[gym.Env] = []
    out = agent.rollout(["3", "3", "4"], make_env(6), envs)
    assert len(envs) == 3 and set(out) == {"prompt_ids", "completion_ids", "logprobs", "env_mask", "episode_return"}
    played = 0
    for k, seed in enumerate((3, 3, 4)):
        prompt, completion, mask = out["prompt_ids"][k], out["completion_ids"][k], out["env_mask"][k]
        assert len(completion) == len(mask) == len(out["logprobs"][k])
        assert "Admissible commands:" in agent.tokenizer.decode(prompt)  # the first turn, with its commands
        # the model's tokens are commands, each ended by the end-of-text token; the game's tokens are its replies
        runs: list[tuple[int | None, list[int]]] = []
        current: list[int] = []
        last: int | None = None
        for token, m in zip(completion, mask, strict=True):
            if m != last and current:
                runs.append((last, current))
                current = []
            current.append(token)
            last = m
        runs.append((last, current))
        commands = [agent.tokenizer.decode(ids[:-1]).strip() for m, ids in runs if m == 1]
        assert all(ids[-1] == eos for m, ids in runs if m == 1) and [m for m, _ in runs][::2] == [1] * len(commands)
        assert all(eos not in ids for m, ids in runs if m == 0)
        # replayed in a fresh env, the commands are admissible and earn the return the rollout reported
        env = make_env(6)()
        _, info = env.reset(seed=seed)
        total, done = 0.0, False
        for command in commands:
            assert not done and command in info["admissible_commands"]
            _, reward, terminated, truncated, info = env.step(command)
            total, done = total + float(reward), terminated or truncated
        assert done and total == out["episode_return"][k]
        played += len(commands)
        assert all(lp <= 0 for lp in out["logprobs"][k]) and any(lp < 0 for lp in out["logprobs"][k])
    assert agent.env_steps == played and len(agent.recent.episodes) == 3


def test_train_with_trl_then_evaluate_and_resume(tiny_model, tmp_path):
    """GRPO steps with TRL move the weights and log finite numbers; `starling evaluate` plays the checkpoint; a
    rerun resumes from TRL's checkpoint."""
    run, settings = tmp_path / "run", {"lr": 0.01, **SMALL}
    agent = LLMGRPOAgent(model=tiny_model, seed=0, **settings)
    before = [p.detach().clone() for p in agent.model.parameters()]
    metrics = agent.train(make_env(5), run, steps=4)  # one update: a group of 4 episodes of at most 5 steps
    assert agent.updates == 1 and 4 <= agent.env_steps <= 20
    assert any(not torch.equal(a, b) for a, b in zip(before, agent.model.parameters(), strict=True))
    (row,) = list(csv.DictReader(open(run / "learning_curve.csv")))
    assert row["update"] == "1" and int(row["step"]) == agent.env_steps and row["episodes"] == "4"
    assert float(row["reward_std"]) > 0  # the group's returns differ: a learning signal
    assert all(math.isfinite(float(row[k])) for k in ("loss", "reward", "entropy", "steps_per_s"))
    assert metrics["loss"] == pytest.approx(float(row["loss"]), abs=1e-4)
    saved = load_file(run / "model" / "model.safetensors")  # the policy, as transformers loads it
    assert all(torch.equal(saved[k], v) for k, v in agent.model.state_dict().items() if k in saved)
    assert json.loads((run / "model" / "llm_grpo_config.json").read_text())["lr"] == 0.01
    assert (run / "trainer" / "checkpoint-1" / "optimizer.pt").is_file()

    common = ["--env", ENV_ID, "--engine", "native", "--max-steps", "5", "--episodes", "1", "--workers", "1"]
    out = starling(
        "evaluate", "--agent", "llm-grpo", "--checkpoint", str(run), "--out", str(tmp_path / "eval"), *common
    )
    (record,) = [json.loads(line) for line in (tmp_path / "eval" / "episodes.jsonl").read_text().splitlines()]
    assert "overall" in out and record["agent"] == "llm-grpo" and record["steps"] == 5

    first = agent.env_steps
    again = LLMGRPOAgent(model=tiny_model, seed=0, **settings)
    again.train(make_env(5), run, steps=first + 1)  # one more update, from checkpoint-1
    assert again.updates == 2 and again.env_steps > first
    assert [int(r["update"]) for r in csv.DictReader(open(run / "learning_curve.csv"))] == [1, 2]
    assert again.train(make_env(5), run, steps=first + 1) == {}  # reached: a rerun is a no-op


def test_bad_settings_are_clear_errors(tiny_model, tmp_path):
    assert "llm-grpo" in LEARNERS
    with pytest.raises(ValueError, match="unknown llm-grpo options"):
        LLMGRPOAgent(model=tiny_model, learning_rate=1.0)
    with pytest.raises(ValueError, match="init-model"):
        load_agent("llm-grpo", model=str(tmp_path / "nowhere"))
    with pytest.raises(ValueError, match="num_generations must be at least 2"):
        LLMGRPOAgent(model=tiny_model, num_generations=1)
    with pytest.raises(ValueError, match="minibatch"):
        LLMGRPOAgent(model=tiny_model, minibatch=3)
    with pytest.raises(ValueError, match="too long for the context"):
        LLMGRPOAgent(model=tiny_model, max_context_tokens=40).rollout(["0", "0"], make_env(), [])
    with pytest.raises(ValueError, match="--envs does not apply"):
        LLMGRPOAgent(model=tiny_model).train(make_env(), tmp_path / "run", steps=8, envs=2)


@pytest.mark.slow
def test_grpo_raises_the_return(tiny_model, tmp_path):
    """24 TRL updates raise the sampled policy's mean return on the one-room game (about 3 min)."""

    def mean_return(agent: LLMGRPOAgent) -> float:
        env = make_env()()
        return float(np.mean([run_episode(agent, env, seed=s).score for s in range(8)]))

    settings = dict(lr=1e-2, groups=2, num_generations=4, show_commands=False)
    before = mean_return(LLMGRPOAgent(model=tiny_model, sample=True, seed=0, **settings))
    LLMGRPOAgent(model=tiny_model, seed=0, **settings).train(make_env(), tmp_path / "run", steps=1500)
    after = mean_return(LLMGRPOAgent(checkpoint=tmp_path / "run", sample=True, seed=0))
    assert after > before + 0.5, (before, after)

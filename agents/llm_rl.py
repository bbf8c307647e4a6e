"""A trainable LLM policy (``--agent llm-rl``): a local causal LM scores each admissible command.

The policy over the admissible commands ``c_1..c_n`` of a state is ``softmax(log p(c_i | prompt) / T)``:
the prompt (objective, the last turns, the observation: :class:`~starling_agents.llm.Prompter`) is
followed by each candidate command, all candidates of all states in one padded batch, and the
command's token log-likelihoods are averaged (``length_normalize``, else summed). Training is on-policy
PPO over that distribution: rollouts in parallel environments, discounted returns-to-go normalised over
the batch as advantages (GRPO-style, no value head), a clipped ratio objective with an entropy bonus,
and early stopping of the epochs when the approximate KL to the rollout policy exceeds ``target_kl``.

Any ``transformers`` causal LM checkpoint folder works (``AutoModelForCausalLM``); bf16 autocast on
CUDA. No weights can be downloaded here, so :func:`build_random_model` writes a randomly initialised
GPT-2 of any width with a byte-level BPE tokenizer trained on game text (tests, GPU checks, smoke runs).
A training run folder holds ``model/`` (the current policy, a normal checkpoint folder), ``trainer.pt``
(optimizer and counters, to resume) and ``learning_curve.csv``.
"""

from __future__ import annotations

import csv
import json
import random
import shutil
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from .base import Learner, Progress, RecentEpisodes, info_row, useful_commands, vector_env
from .drrn import resolve_device
from .llm import Prompter, policy_config


@dataclass
class LLMRLConfig:
    """Every setting of the trainable LLM policy (``starling train --option KEY=VALUE``); steps, envs and seed are
    ``train``'s arguments."""

    model: str = ""  # a local checkpoint folder (AutoModelForCausalLM + its tokenizer)
    rollout_steps: int = 64  # env steps per on-policy update (summed over envs)
    epochs: int = 2
    minibatch: int = 16  # states per gradient step
    lr: float = 1e-5
    clip: float = 0.2
    target_kl: float = 0.05  # stop an update's epochs once the policy moved this far (approximate KL)
    entropy_coef: float = 0.01
    gamma: float = 0.9
    temperature: float = 1.0
    length_normalize: bool = True  # score a command by its mean token log-likelihood (False: the sum)
    history: int = 2  # past turns in the prompt
    max_prompt_tokens: int = 256  # the prompt is cut from the left beyond this
    max_command_tokens: int = 16
    max_candidates: int = 48  # more admissible commands than this: a seeded random subset is scored
    skip_noops: bool = True  # leave out look / inventory / examine, as DRRN does
    device: str = "auto"
    checkpoint_every: int = 10  # updates


@dataclass
class Decision:
    """One state of a rollout: what was scored, what was chosen and what it earned."""

    prompt: list[int]
    commands: list[list[int]]
    action: int
    logp: float
    reward: float = 0.0
    done: bool = False


class CommandScorer:
    """Log-likelihoods of candidate commands after prompts, for a causal LM, in padded batches."""

    def __init__(self, model, tokenizer, device: torch.device, max_prompt_tokens: int, max_command_tokens: int):
        self.model, self.tokenizer, self.device = model, tokenizer, device
        self.max_prompt_tokens, self.max_command_tokens = max_prompt_tokens, max_command_tokens
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else (tokenizer.eos_token_id or 0)
        self.tokens = 0  # tokens run through the model so far (for tokens/s)

    def encode_prompt(self, text: str) -> list[int]:
        ids = self.tokenizer(text, add_special_tokens=False)["input_ids"]
        return ids[-self.max_prompt_tokens :] or [self.pad_id]

    def encode_command(self, command: str) -> list[int]:
        return self.tokenizer(" " + command, add_special_tokens=False)["input_ids"][: self.max_command_tokens] or [
            self.pad_id
        ]

    def score(
        self, prompts: list[list[int]], commands: list[list[list[int]]], mean: bool = False
    ) -> list[torch.Tensor]:
        """For each state, the log-likelihood of each of its commands (summed over tokens, or their ``mean``)."""
        rows = [(p, c) for p, cs in zip(prompts, commands, strict=True) for c in cs]
        length = max(len(p) + len(c) for p, c in rows)
        ids = torch.full((len(rows), length), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(rows), length), dtype=torch.long)
        targets = torch.zeros((len(rows), length), dtype=torch.bool)  # positions holding command tokens
        for i, (p, c) in enumerate(rows):
            ids[i, : len(p) + len(c)] = torch.tensor(p + c)
            mask[i, : len(p) + len(c)] = 1
            targets[i, len(p) : len(p) + len(c)] = True
        ids, mask, targets = ids.to(self.device), mask.to(self.device), targets.to(self.device)
        self.tokens += int(mask.sum())
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.device.type == "cuda"):
            hidden = self.model.base_model(input_ids=ids, attention_mask=mask).last_hidden_state
            # only the positions that predict a command token go through the LM head (V is large)
            predicting = targets[:, 1:]
            logits = self.model.get_output_embeddings()(hidden[:, :-1][predicting])
        logp = torch.log_softmax(logits.float(), dim=-1).gather(1, ids[:, 1:][predicting][:, None]).squeeze(1)
        row_of = torch.arange(len(rows), device=self.device)[:, None].expand_as(predicting)[predicting]
        sums = torch.zeros(len(rows), device=self.device).index_add(0, row_of, logp)
        if mean:
            sums = sums / torch.tensor([len(c) for _, c in rows], device=self.device)
        return list(torch.split(sums, [len(cs) for cs in commands]))


class LLMRLAgent(Learner):
    """A causal LM choosing among the admissible commands; trainable with PPO (see the module doc).

    Args:
        model: a local checkpoint folder (``starling train --agent llm-rl --model PATH``).
        checkpoint: a trained policy: a run folder (its ``model/``) or a checkpoint folder; replaces ``model``.
        sample: act by sampling from the policy (default: the most likely command, deterministic).
        seed: seeds the candidate subsets and the sampling (``train`` re-seeds a fresh run with its own seed).
        config overrides: see :class:`LLMRLConfig`.
    """

    name = "llm-rl"

    def __init__(
        self,
        model: str | Path | None = None,
        checkpoint: str | Path | None = None,
        config: LLMRLConfig | None = None,
        sample: bool = False,
        seed: int = 0,
        **overrides: Any,
    ):
        from transformers import AutoModelForCausalLM, AutoTokenizer
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()
        self.config = policy_config(self.name, LLMRLConfig, config, model, checkpoint, CONFIG_FILE, overrides)
        model = self.config.model
        self.device = resolve_device(self.config.device)
        torch.manual_seed(seed)
        self.tokenizer = AutoTokenizer.from_pretrained(model)
        self.model = AutoModelForCausalLM.from_pretrained(model).to(self.device)
        self.scorer = CommandScorer(
            self.model, self.tokenizer, self.device, self.config.max_prompt_tokens, self.config.max_command_tokens
        )
        self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=self.config.lr)
        self.prompter = Prompter(history=self.config.history, max_commands=0)
        self.sample = sample
        self.reseed(seed)
        self.env_steps = self.updates = 0

    def reseed(self, seed: int) -> None:
        """Seed the candidate subsets, the sampling and the minibatch order."""
        self.seed = seed
        self.rng = random.Random(seed)
        self.generator = torch.Generator().manual_seed(seed)

    # -- the policy -----------------------------------------------------------------------------------
    def candidates(self, commands: list[str]) -> list[str]:
        commands = useful_commands(commands) if self.config.skip_noops else list(commands)
        if len(commands) > self.config.max_candidates:
            commands = sorted(self.rng.sample(commands, self.config.max_candidates))
        return commands

    def prompt(self, prompter: Prompter, observation: str, info: dict[str, Any]) -> list[int]:
        system, user = prompter.messages(observation, info, commands=[])
        return self.scorer.encode_prompt(f"{system['content']}\n\n{user['content']}\n>")

    def log_policies(self, prompts: list[list[int]], commands: list[list[list[int]]]) -> list[torch.Tensor]:
        """For each state, the log-probability of choosing each of its commands."""
        scores = self.scorer.score(prompts, commands, mean=self.config.length_normalize)
        return [torch.log_softmax(s / self.config.temperature, dim=0) for s in scores]

    def choose(self, log_policy: torch.Tensor) -> int:
        """A command index drawn from the policy with the agent's own seeded generator."""
        return int(torch.multinomial(log_policy.detach().float().exp().cpu(), 1, generator=self.generator))

    def reset(self, observation: str, info: dict[str, Any]) -> None:
        self.prompter.reset()

    def act(self, observation: str, info: dict[str, Any]) -> str:
        commands = self.candidates(info["admissible_commands"])
        self.model.eval()
        with torch.no_grad():
            (log_policy,) = self.log_policies(
                [self.prompt(self.prompter, observation, info)], [[self.scorer.encode_command(c) for c in commands]]
            )
        index = self.choose(log_policy) if self.sample else int(log_policy.argmax())
        self.prompter.record(observation, commands[index])
        return commands[index]

    # -- learning -------------------------------------------------------------------------------------
    def train(
        self,
        make_env: Callable[[], gym.Env],
        out: str | Path,
        *,
        steps: int,
        envs: int = 1,
        seed: int = 0,
        progress: Progress | None = None,
    ) -> dict[str, float]:
        """PPO until ``steps`` env steps in all, resuming from ``out``; the policy, trainer state and curve go there."""
        c = self.config
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        if (out / "trainer.pt").exists():
            self.load(out)
        elif seed != self.seed:
            self.reseed(seed)
        vec = vector_env(make_env, envs)
        curve = open(out / "learning_curve.csv", "a", newline="")
        log = csv.writer(curve)
        if curve.tell() == 0:
            log.writerow(
                ["step", "episodes", "mean_score", "win_rate", "loss", "kl", "entropy", "steps_per_s", "tokens_per_s"]
            )
        prompters = [Prompter(history=c.history, max_commands=0) for _ in range(envs)]
        recent = RecentEpisodes()
        obs, infos = vec.reset(seed=seed + self.env_steps)
        started, start_steps, start_tokens, metrics = time.perf_counter(), self.env_steps, self.scorer.tokens, {}
        try:
            while self.env_steps < steps:
                lanes: list[list[Decision]] = [[] for _ in range(envs)]
                for _ in range(max(1, c.rollout_steps // envs)):
                    rows = [info_row(infos, i) for i in range(envs)]
                    commands = [self.candidates(row["admissible_commands"]) for row in rows]
                    prompts = [self.prompt(prompters[i], obs[i], rows[i]) for i in range(envs)]
                    encoded = [[self.scorer.encode_command(cmd) for cmd in cmds] for cmds in commands]
                    self.model.eval()
                    with torch.no_grad():
                        policies = self.log_policies(prompts, encoded)
                    choices = [self.choose(policy) for policy in policies]
                    sent = [cmds[k] for cmds, k in zip(commands, choices, strict=True)]
                    next_obs, rewards, terminated, truncated, infos = vec.step(sent)
                    for i in range(envs):
                        done = bool(terminated[i] or truncated[i])
                        lanes[i].append(
                            Decision(
                                prompts[i],
                                encoded[i],
                                choices[i],
                                float(policies[i][choices[i]]),
                                float(rewards[i]),
                                done,
                            )
                        )
                        prompters[i].record(obs[i], sent[i])
                        if done:
                            prompters[i].reset()
                            recent.add(info_row(infos["final_info"], i))
                    obs = next_obs
                    self.env_steps += envs
                loss, kl, entropy = self.update(lanes)
                elapsed = time.perf_counter() - started
                metrics = {
                    **recent.summary(),
                    "loss": loss,
                    "kl": kl,
                    "entropy": entropy,
                    "steps_per_s": (self.env_steps - start_steps) / elapsed,
                    "tokens_per_s": (self.scorer.tokens - start_tokens) / elapsed,
                }
                log.writerow([self.env_steps] + [round(v, 4) for v in metrics.values()])
                curve.flush()
                if progress is not None:
                    progress(self.env_steps, metrics)
                if self.updates % c.checkpoint_every == 0:
                    self.save(out)
        finally:
            self.save(out)
            vec.close()
            curve.close()
        return metrics

    def update(self, lanes: list[list[Decision]]) -> tuple[float, float, float]:
        """One PPO update on a rollout; returns (mean loss, last approximate KL, mean entropy)."""
        c = self.config
        batch: list[Decision] = []
        returns: list[float] = []
        for lane in lanes:  # discounted returns-to-go, cut at episode ends (and at the rollout's end)
            running, lane_returns = 0.0, []
            for d in reversed(lane):
                running = d.reward + c.gamma * running * (not d.done)
                lane_returns.append(running)
            batch += lane
            returns += reversed(lane_returns)
        advantages = torch.tensor(returns, device=self.device)
        advantages = (advantages - advantages.mean()) / (advantages.std() + 1e-8) if len(batch) > 1 else advantages
        old_logp = torch.tensor([d.logp for d in batch], device=self.device)
        self.model.train()
        losses, entropies, kl = [], [], 0.0
        for _ in range(c.epochs):
            order = torch.randperm(len(batch), generator=self.generator).tolist()
            kls = []
            for start in range(0, len(batch), c.minibatch):
                index = order[start : start + c.minibatch]
                policies = self.log_policies([batch[i].prompt for i in index], [batch[i].commands for i in index])
                logp = torch.stack([policy[batch[i].action] for policy, i in zip(policies, index, strict=True)])
                entropy = torch.stack([-(policy.exp() * policy).sum() for policy in policies]).mean()
                ratio = torch.exp(logp - old_logp[index])
                adv = advantages[index]
                policy_loss = -torch.min(ratio * adv, ratio.clamp(1 - c.clip, 1 + c.clip) * adv).mean()
                loss = policy_loss - c.entropy_coef * entropy
                self.optimizer.zero_grad()
                loss.backward()
                torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
                self.optimizer.step()
                losses.append(float(loss.detach()))
                entropies.append(float(entropy.detach()))
                kls.append(float((old_logp[index] - logp.detach()).mean()))
            kl = float(np.mean(kls))
            if kl > c.target_kl:
                break
        self.updates += 1
        return float(np.mean(losses)), kl, float(np.mean(entropies))

    # -- persistence ------------------------------------------------------------------------------------
    def save(self, out: Path) -> None:
        """``out/model`` (a checkpoint folder any transformers code can load) and ``out/trainer.pt``, atomically."""
        staging = out / "model.tmp"
        shutil.rmtree(staging, ignore_errors=True)
        self.model.save_pretrained(staging)
        self.tokenizer.save_pretrained(staging)
        (staging / CONFIG_FILE).write_text(json.dumps(asdict(self.config), indent=2))
        old = out / "model.old"
        shutil.rmtree(old, ignore_errors=True)
        if (out / "model").exists():
            (out / "model").rename(old)
        staging.rename(out / "model")
        shutil.rmtree(old, ignore_errors=True)
        tmp = out / "trainer.pt.tmp"
        torch.save(
            {
                "optimizer": self.optimizer.state_dict(),
                "env_steps": self.env_steps,
                "updates": self.updates,
                "rng": self.rng.getstate(),
                "generator": self.generator.get_state(),
            },
            tmp,
        )
        tmp.replace(out / "trainer.pt")

    def load(self, out: Path) -> None:
        """Resume from a run folder written by :meth:`save` (the model is loaded by the constructor)."""
        from transformers import AutoModelForCausalLM

        self.model = AutoModelForCausalLM.from_pretrained(out / "model").to(self.device)
        self.scorer.model = self.model
        self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=self.config.lr)
        state = torch.load(out / "trainer.pt", map_location=self.device, weights_only=False)
        self.optimizer.load_state_dict(state["optimizer"])
        self.env_steps, self.updates = state["env_steps"], state["updates"]
        self.rng.setstate(state["rng"])
        self.generator.set_state(state["generator"])

    def warm_start(self, trained: Path) -> None:
        """The model weights of ``trained/model`` (a finished run); a fresh optimizer, counters at 0."""
        from transformers import AutoModelForCausalLM

        folder = Path(trained) / "model"
        if not folder.is_dir():
            raise FileNotFoundError(f"no model/ in {trained}")
        self.model = AutoModelForCausalLM.from_pretrained(folder).to(self.device)
        self.scorer.model = self.model
        self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=self.config.lr)
        self.env_steps = self.updates = 0


CONFIG_FILE = "llm_rl_config.json"  # the training settings, saved beside the model


def game_corpus() -> Iterable[str]:
    """Text to train a tokenizer on: every string of the seed games' example specs, and common commands."""

    def strings(value: Any) -> Iterable[str]:
        if isinstance(value, str):
            yield value
        elif isinstance(value, dict):
            for v in value.values():
                yield from strings(v)
        elif isinstance(value, list):
            for v in value:
                yield from strings(v)

    seeds = resources.files("starling_env.game_seeds")
    for folder in sorted(seeds.iterdir(), key=lambda p: p.name):
        example = folder / "example.json"
        if example.is_file():
            yield from strings(json.loads(example.read_text(encoding="utf-8")))
    yield (
        "look inventory examine take drop put in on open close unlock lock with go north south east west up down "
        "eat drink switch turn fill wear insert score you see there is a an the here"
    )


def build_random_model(
    path: str | Path,
    width: int = 64,
    layers: int = 2,
    heads: int = 2,
    vocab_size: int = 1024,
    context: int = 512,
    seed: int = 0,
    corpus: Iterable[str] | None = None,
) -> Path:
    """Write a randomly initialised GPT-2 (``width`` x ``layers``) and a byte-level BPE tokenizer to ``path``.

    The tokenizer is trained on ``corpus`` (default :func:`game_corpus`); the model's vocabulary is at
    least ``vocab_size`` (a wide model with a 32k vocabulary has over 100M parameters).
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    path = Path(path)
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=["<|endoftext|>"], initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    tokenizer.train_from_iterator(list(corpus if corpus is not None else game_corpus()), trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tokenizer, eos_token="<|endoftext|>", pad_token="<|endoftext|>")
    torch.manual_seed(seed)
    config = GPT2Config(
        vocab_size=max(vocab_size, len(fast)),
        n_embd=width,
        n_layer=layers,
        n_head=heads,
        n_positions=context,
        bos_token_id=fast.eos_token_id,
        eos_token_id=fast.eos_token_id,
    )
    model = GPT2LMHeadModel(config)
    path.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(path)
    fast.save_pretrained(path)
    return path

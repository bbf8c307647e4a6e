"""A causal LM trained with TRL's ``GRPOTrainer`` on whole STARLING episodes (``--agent llm-grpo``).

One GRPO sample is one episode, in TRL's multi-turn layout: the prompt is the first turn's text (the objective,
the observation, the admissible commands: :class:`~starling_agents.llm.Prompter`'s templates), the completion
is every later token of the episode, the model's commands (``env_mask`` 1, trained) interleaved with the game's
replies (``env_mask`` 0, context only), and the reward is the episode's return from the env. Each update plays
``groups`` episode starts ``num_generations`` times each; TRL normalises the returns within each group (the
GRPO advantage) and takes the clipped policy-gradient step. The episodes are played by our ``rollout_func``
(TRL's hook for generation it does not own): the commands of all running episodes are generated in one batch
by ``transformers``' ``generate``, constrained by ``prefix_allowed_tokens_fn`` to the tokens of an admissible
command followed by the end-of-text token, so even a random model plays legal moves.

TRL's other multi-turn route, ``environment_factory``, needs a chat template that renders tool calls and a
model that emits them, which a randomly initialised model (all this machine can make) does not; hence the
``rollout_func``. An episode ends when the game does, at the step limit, or when its tokens would no longer
fit the context (``max_context_tokens``, at most the model's positions): the policy reads the whole episode.

A training folder holds ``model/`` (the policy: a checkpoint folder any transformers code loads),
``trainer/checkpoint-N/`` (TRL's checkpoints: optimizer, RNG states and the env-step count, to resume) and
``learning_curve.csv``.
"""

from __future__ import annotations

import csv
import io
import json
import math
import shutil
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym
import torch
from transformers import PrinterCallback, TrainerCallback
from transformers.trainer_callback import ExportableState

from starling_env.files import write_atomic

from .base import Learner, Progress, RecentEpisodes, StopEpisode, ray_rollouts, useful_commands
from .drrn import resolve_device
from .llm import Prompter, policy_config

CONFIG_FILE = "llm_grpo_config.json"  # the training settings, saved beside the model
CURVE = "learning_curve.csv"
CURVE_FIELDS = (
    *("step", "update", "episodes", "mean_score", "win_rate"),
    *("reward", "reward_std", "loss", "entropy", "steps_per_s"),
)


@dataclass
class LLMGRPOConfig:
    """Every setting of llm-grpo (``starling train --option KEY=VALUE``); steps and seed are ``train``'s arguments."""

    model: str = ""  # a local checkpoint folder (AutoModelForCausalLM + its tokenizer)
    num_generations: int = 4  # episodes per group: played from the same start, their returns compared (GRPO's G)
    groups: int = 2  # episode starts per update
    minibatch: int = 0  # episodes per gradient-accumulation step (0: the whole update at once)
    epochs: int = 1  # passes over each update's episodes (TRL's num_iterations)
    seeds: int = 16  # the episode starts are env.reset(seed) for this many seeds from train's seed on
    lr: float = 1e-5
    epsilon: float = 0.2  # the ratio clip
    beta: float = 0.0  # KL penalty to the starting model (0: no reference model kept)
    loss_type: str = "dapo"  # TRL's loss normalisation: grpo | dapo | dr_grpo | bnpo | ...
    temperature: float = 1.0  # of the sampling while training
    show_commands: bool = True  # list the admissible commands each turn
    skip_noops: bool = True  # leave out look / inventory / examine, as DRRN and llm-rl do
    max_command_tokens: int = 16
    max_context_tokens: int = 2048  # an episode ends once its next turn would not fit (also capped by the model)
    gradient_checkpointing: bool = False  # less GPU memory for big models, more compute
    device: str = "auto"
    checkpoint_every: int = 10  # updates


@dataclass
class Episode:
    """One episode as the policy reads it: the prompt's tokens, then the completion's, with who wrote each."""

    prompt: list[int]
    completion: list[int] = field(default_factory=list)
    env_mask: list[int] = field(default_factory=list)  # 1: the model's token (trained), 0: the game's
    logprobs: list[float] = field(default_factory=list)  # the sampling log-probabilities (0 for the game's)
    commands: dict[tuple[int, ...], str] = field(default_factory=dict)  # the admissible commands' tokens, now
    turns: int = 0
    reward: float = 0.0
    done: bool = False

    @property
    def context(self) -> list[int]:
        return self.prompt + self.completion

    def add(self, tokens: list[int], logprobs: list[float] | None = None) -> None:
        """Append the model's tokens (with their log-probabilities) or, without, the game's."""
        self.completion += tokens
        self.env_mask += [int(logprobs is not None)] * len(tokens)
        self.logprobs += logprobs if logprobs is not None else [0.0] * len(tokens)


class LLMGRPOAgent(Learner):
    """A causal LM that writes each command, constrained to the admissible ones; trained with TRL's GRPO.

    Args:
        model: a local checkpoint folder (``starling train --agent llm-grpo --model PATH``).
        checkpoint: a trained policy: a run folder (its ``model/``) or a checkpoint folder; replaces ``model``.
        sample: act by sampling (default: greedy decoding, deterministic).
        seed: seeds the sampling (``train`` seeds TRL with its own seed).
        config overrides: see :class:`LLMGRPOConfig`.
    """

    name = "llm-grpo"
    can_stop = True  # an episode stops when the context is full

    def __init__(
        self,
        model: str | Path | None = None,
        checkpoint: str | Path | None = None,
        config: LLMGRPOConfig | None = None,
        sample: bool = False,
        seed: int = 0,
        **overrides: Any,
    ):
        from transformers import AutoModelForCausalLM, AutoTokenizer
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()
        self.config = c = policy_config(self.name, LLMGRPOConfig, config, model, checkpoint, CONFIG_FILE, overrides)
        model = c.model
        for name in ("num_generations", "groups", "epochs", "seeds", "max_command_tokens", "checkpoint_every"):
            if getattr(c, name) < 1:
                raise ValueError(f"llm-grpo option {name} must be at least 1, got {getattr(c, name)}")
        if c.num_generations < 2:
            raise ValueError("llm-grpo option num_generations must be at least 2: GRPO compares episodes in a group")
        if c.minibatch and (c.num_generations * c.groups) % c.minibatch:
            raise ValueError(
                f"llm-grpo option minibatch ({c.minibatch}) must divide the episodes of an update "
                f"(num_generations x groups = {c.num_generations * c.groups})"
            )
        self.device = resolve_device(c.device)
        torch.manual_seed(seed)
        self.seed = seed
        self.tokenizer = AutoTokenizer.from_pretrained(model)
        if self.tokenizer.eos_token_id is None:
            raise ValueError(f"the tokenizer of {model} has no end-of-text token to end a command with")
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.tokenizer.padding_side = "left"  # TRL's and generate's requirement for a causal LM
        self.model = AutoModelForCausalLM.from_pretrained(model).to(self.device)
        positions = getattr(self.model.config, "max_position_embeddings", None) or c.max_context_tokens
        self.context_limit = min(c.max_context_tokens, positions)
        self.prompter = Prompter(history=0)  # the episode's earlier turns are in the context itself
        self.sample = sample
        self.env_steps = self.updates = 0
        self.recent = RecentEpisodes()
        self.episode: Episode | None = None  # the episode being acted in (evaluation)

    # -- the text the policy reads ---------------------------------------------------------------------------
    def turn_tokens(self, observation: str, info: dict[str, Any], first: bool) -> tuple[list[int], list[str]]:
        """The game's text of a turn as tokens (the first turn with the instructions), and the commands to pick from."""
        commands = self.candidates(info)
        system, user = self.prompter.messages(observation, info, commands if self.config.show_commands else [])
        text = f"{system['content']}\n\n{user['content']}\n>" if first else f"\n{user['content']}\n>"
        return self.tokenizer(text, add_special_tokens=False)["input_ids"], commands

    def candidates(self, info: dict[str, Any]) -> list[str]:
        commands = list(info.get("admissible_commands") or [])
        if not commands:
            raise ValueError("llm-grpo needs the env's admissible commands (info['admissible_commands'])")
        return useful_commands(commands) if self.config.skip_noops else commands

    def command_tokens(self, commands: list[str]) -> dict[tuple[int, ...], str]:
        """Each command's tokens as the model writes it: a space, the command, the end-of-text token."""
        eos, cut = self.tokenizer.eos_token_id, self.config.max_command_tokens
        encoded: dict[tuple[int, ...], str] = {}
        for command in commands:
            ids = self.tokenizer(" " + command, add_special_tokens=False)["input_ids"][:cut]
            encoded.setdefault((*ids, eos), command)
        return encoded

    def fits(self, episode: Episode, tokens: list[int], commands: dict[tuple[int, ...], str]) -> bool:
        """Whether a turn of ``tokens`` and its longest command still fit the context."""
        return len(episode.context) + len(tokens) + max(map(len, commands)) <= self.context_limit

    def start(self, observation: str, info: dict[str, Any]) -> Episode:
        tokens, commands = self.turn_tokens(observation, info, first=True)
        episode = Episode(prompt=tokens, commands=self.command_tokens(commands))
        if not self.fits(Episode(prompt=[]), tokens, episode.commands):
            raise ValueError(
                f"the first turn is {len(tokens)} tokens, too long for the context ({self.context_limit}): "
                f"raise max_context_tokens (up to the model's positions) or set show_commands=false"
            )
        return episode

    def next_turn(self, episode: Episode, observation: str, info: dict[str, Any]) -> bool:
        """Append the game's reply to ``episode``; False (and the episode done) when it would not fit."""
        tokens, commands = self.turn_tokens(observation, info, first=False)
        encoded = self.command_tokens(commands)
        if not self.fits(episode, tokens, encoded):
            episode.done = True
            return False
        episode.add(tokens)
        episode.commands = encoded
        return True

    # -- the policy -----------------------------------------------------------------------------------------
    @torch.no_grad()
    def write_commands(self, episodes: list[Episode], sample: bool, temperature: float = 1.0) -> list[str]:
        """Each episode's next command, generated in one batch and appended to it with its log-probabilities."""
        tries: list[dict[tuple[int, ...], list[int]]] = []
        for episode in episodes:  # every prefix of an allowed command -> the tokens that may follow it
            trie: dict[tuple[int, ...], set[int]] = {}
            for ids in episode.commands:
                for k in range(len(ids)):
                    trie.setdefault(ids[:k], set()).add(ids[k])
            tries.append({prefix: sorted(nxt) for prefix, nxt in trie.items()})
        batch = self.tokenizer.pad({"input_ids": [e.context for e in episodes]}, return_tensors="pt")
        width = batch["input_ids"].shape[1]
        eos = self.tokenizer.eos_token_id

        def allowed(row: int, ids: torch.Tensor) -> list[int]:
            return tries[row].get(tuple(ids[width:].tolist()), [eos])  # a finished row only pads

        was_training = self.model.training
        self.model.eval()
        out = self.model.generate(
            **batch.to(self.model.device),
            prefix_allowed_tokens_fn=allowed,
            max_new_tokens=max(len(ids) for e in episodes for ids in e.commands),
            do_sample=sample,
            temperature=temperature if sample else None,
            top_k=None,
            top_p=None,
            eos_token_id=eos,
            pad_token_id=self.tokenizer.pad_token_id,
            output_scores=True,
            return_dict_in_generate=True,
        )
        self.model.train(was_training)
        logprobs = self.model.compute_transition_scores(out.sequences, out.scores, normalize_logits=True)
        commands = []
        for row, episode in enumerate(episodes):
            ids = out.sequences[row, width:].tolist()
            ids = ids[: ids.index(eos) + 1]
            episode.add(ids, logprobs[row, : len(ids)].tolist())
            episode.turns += 1
            commands.append(episode.commands[tuple(ids)])
        return commands

    def reset(self, observation: str, info: dict[str, Any]) -> None:
        self.episode = None

    def act(self, observation: str, info: dict[str, Any]) -> str:
        if self.episode is None:
            self.episode = self.start(observation, info)
        elif not self.next_turn(self.episode, observation, info):
            raise StopEpisode  # the context is full, as it ends a training episode
        (command,) = self.write_commands([self.episode], sample=self.sample)
        return command

    # -- learning -------------------------------------------------------------------------------------------
    def rollout(self, prompts: list[str], make_env: Callable[[], gym.Env], envs: list[gym.Env]) -> dict[str, list]:
        """TRL's ``rollout_func``: play one episode per prompt to its end, all together, in ``envs`` (made as needed).

        A dataset row's prompt is an episode seed: the episode starts from ``env.reset(seed)``, whose first turn
        becomes the prompt the model reads; a GRPO group is ``num_generations`` episodes of one seed."""
        while len(envs) < len(prompts):
            envs.append(make_env())
        episodes, infos = [], []
        for env, prompt in zip(envs, prompts, strict=False):
            observation, info = env.reset(seed=int(prompt))
            episodes.append(self.start(observation, info))
            infos.append(info)
        running = list(range(len(prompts)))
        while running:
            commands = self.write_commands(
                [episodes[i] for i in running], sample=True, temperature=self.config.temperature
            )
            for i, command in zip(running, commands, strict=True):
                observation, reward, terminated, truncated, infos[i] = envs[i].step(command)
                self.env_steps += 1
                episodes[i].reward += float(reward)
                if terminated or truncated or not self.next_turn(episodes[i], observation, infos[i]):
                    episodes[i].done = True
                    self.recent.add(infos[i])
            running = [i for i in running if not episodes[i].done]
        return {
            "prompt_ids": [e.prompt for e in episodes],
            "completion_ids": [e.completion for e in episodes],
            "logprobs": [e.logprobs for e in episodes],
            "env_mask": [e.env_mask for e in episodes],
            "episode_return": [e.reward for e in episodes],
        }

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
        """GRPO with TRL until ``steps`` env steps in all, resuming from ``out``'s last checkpoint."""
        from datasets import Dataset
        from trl import GRPOConfig, GRPOTrainer

        c = self.config
        if envs != 1:
            raise ValueError(
                "llm-grpo plays the episodes of an update together (num_generations x groups of them); "
                "--envs does not apply: set --option groups=N / num_generations=N"
            )
        if ray_rollouts() is not None:
            raise ValueError("llm-grpo plays its episodes in the learner's process; --ray does not apply to it")
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        resume = last_checkpoint(out / "trainer")
        updates = 0
        if resume is not None:
            state = json.loads((resume / "trainer_state.json").read_text())
            updates = state["global_step"]
            saved = state["stateful_callbacks"][Monitor.__name__]["attributes"]
            self.env_steps = saved["env_steps"]
            self.recent.episodes.extend((score, won) for score, won in saved["recent"])
            trim_curve(out / CURVE, updates)
        if self.env_steps >= steps:
            return {}
        pool: list[gym.Env] = []
        episodes = c.num_generations * c.groups
        minibatch = c.minibatch or episodes
        monitor = Monitor(self, steps, out / CURVE, progress)
        with warnings.catch_warnings():  # TRL's notes that rollout_func is experimental, transformers' renames
            warnings.filterwarnings("ignore", message="You are using 'rollout_func'")
            warnings.filterwarnings(
                "ignore", message=".*gradient_checkpointing.* is deprecated", category=FutureWarning
            )
            args = GRPOConfig(
                output_dir=str(out / "trainer"),
                num_generations=c.num_generations,
                per_device_train_batch_size=minibatch,
                gradient_accumulation_steps=episodes // minibatch,
                steps_per_generation=episodes // minibatch,
                num_iterations=c.epochs,
                # an update takes at least one env step per episode, so this many more updates reach ``steps``
                max_steps=updates + math.ceil((steps - self.env_steps) / episodes),
                learning_rate=c.lr,
                lr_scheduler_type="constant",
                epsilon=c.epsilon,
                beta=c.beta,
                loss_type=c.loss_type,
                temperature=c.temperature,
                max_completion_length=self.context_limit,
                disable_dropout=True,  # the sampling and the update see the same policy
                gradient_checkpointing=c.gradient_checkpointing,
                use_cpu=self.device.type == "cpu",
                bf16=self.device.type == "cuda",
                seed=seed,
                logging_steps=1,
                save_steps=c.checkpoint_every,
                save_total_limit=2,  # the newest may be half-written when a run is killed; the one before is whole
                report_to="none",
                disable_tqdm=True,
            )
            trainer = GRPOTrainer(
                model=self.model,
                reward_funcs=episode_return,
                args=args,
                train_dataset=Dataset.from_dict({"prompt": [str(s) for s in range(seed, seed + c.seeds)]}),
                processing_class=self.tokenizer,
                rollout_func=lambda prompts, _trainer: self.rollout(prompts, make_env, pool),
                callbacks=[monitor],
            )
        trainer.remove_callback(PrinterCallback)  # the Monitor reports (the CLI's progress bar, the curve)
        try:
            trainer.train(resume_from_checkpoint=str(resume) if resume else None)
        finally:
            for env in pool:
                env.close()
        self.updates = trainer.state.global_step
        self.save_model(out)
        return monitor.metrics

    # -- persistence ----------------------------------------------------------------------------------------
    def save_model(self, out: Path) -> None:
        """``out/model``: the policy, its tokenizer and settings (a checkpoint folder), replaced atomically."""
        staging, old, final = out / "model.tmp", out / "model.old", out / "model"
        shutil.rmtree(staging, ignore_errors=True)
        self.model.save_pretrained(staging)
        self.tokenizer.save_pretrained(staging)
        (staging / CONFIG_FILE).write_text(json.dumps(asdict(self.config), indent=2))
        shutil.rmtree(old, ignore_errors=True)
        if final.exists():
            final.rename(old)
        staging.rename(final)
        shutil.rmtree(old, ignore_errors=True)

    def warm_start(self, trained: Path) -> None:
        """The model weights of ``trained/model`` (a finished run); counters at 0, a fresh optimizer in ``train``."""
        from transformers import AutoModelForCausalLM

        folder = Path(trained) / "model"
        if not folder.is_dir():
            raise FileNotFoundError(f"no model/ in {trained}")
        self.model = AutoModelForCausalLM.from_pretrained(folder).to(self.device)
        self.env_steps = self.updates = 0
        self.recent = RecentEpisodes()


def episode_return(completions: list, episode_return: list[float], **_: Any) -> list[float | None]:
    """The reward TRL optimises: each episode's return, as the env gave it (the rollout's ``episode_return``)."""
    return list(episode_return)


def last_checkpoint(folder: Path) -> Path | None:
    """The newest whole TRL checkpoint in ``folder`` (its trainer_state.json is written last), or None."""
    whole = [p for p in folder.glob("checkpoint-*") if (p / "trainer_state.json").is_file()]
    return max(whole, key=lambda p: int(p.name.rpartition("-")[2]), default=None)


def trim_curve(path: Path, updates: int) -> None:
    """Drop the learning-curve rows logged after the checkpoint a run resumes from (they will be logged again)."""
    if not path.is_file():
        return
    rows = [row for row in csv.DictReader(path.open()) if int(row["update"]) <= updates]
    text = io.StringIO()
    writer = csv.DictWriter(text, CURVE_FIELDS)
    writer.writeheader()
    writer.writerows(rows)
    write_atomic(path, text.getvalue())


class Monitor(TrainerCallback, ExportableState):
    """TRL callback: the learning curve and progress in env steps, the stop at ``steps``, the policy saved with
    each checkpoint, and the env-step count kept in the checkpoint's trainer state (to resume)."""

    def __init__(self, agent: LLMGRPOAgent, steps: int, curve: Path, progress: Progress | None):
        self.agent, self.steps, self.curve, self.progress = agent, steps, curve, progress
        self.started, self.start_steps = time.perf_counter(), agent.env_steps
        self.metrics: dict[str, float] = {}

    def state(self) -> dict:
        return {
            "args": {},
            "attributes": {"env_steps": self.agent.env_steps, "recent": list(self.agent.recent.episodes)},
        }

    def on_step_end(self, args, state, control, **_):
        if self.agent.env_steps >= self.steps:
            control.should_training_stop = True
        if control.should_training_stop or state.global_step >= state.max_steps:
            control.should_save = True

    def on_log(self, args, state, control, logs=None, **_):
        if not logs or "reward" not in logs:  # the end-of-training summary
            return
        elapsed = time.perf_counter() - self.started
        self.metrics = {
            **self.agent.recent.summary(),
            "reward": float(logs["reward"]),  # the update's mean episode return
            "reward_std": float(logs.get("reward_std", math.nan)),  # 0 in every group: nothing to learn from
            "loss": float(logs.get("loss", math.nan)),
            "entropy": float(logs.get("entropy", math.nan)),
            "steps_per_s": (self.agent.env_steps - self.start_steps) / elapsed,
        }
        new = not self.curve.exists() or self.curve.stat().st_size == 0
        with self.curve.open("a", newline="") as f:
            writer = csv.writer(f)
            if new:
                writer.writerow(CURVE_FIELDS)
            writer.writerow([self.agent.env_steps, state.global_step] + [round(v, 4) for v in self.metrics.values()])
        if self.progress is not None:
            self.progress(self.agent.env_steps, self.metrics)

    def on_save(self, args, state, control, **_):
        self.agent.save_model(self.curve.parent)

"""DRRN as it was before the fast learner (commit f524770): the reference the fast one is measured against.

Frozen: ``benchmarks/train_throughput.py`` runs it next to :mod:`starling_agents.drrn` (same update ratio and
batch size) and ``tests/test_drrn_speed.py`` checks that one update of each gives the same loss and weights.
Not an agent name; its checkpoints have the same weights as version 2's. The original description follows.

DRRN (He et al., 2016): a Q-value for each (state, admissible command) pair, from GRU encoders.

The state is the observation, the room description and the inventory, each encoded by its own GRU
over hashed word ids (an offline tokenizer: no vocabulary files, stable across processes); each
candidate command has its own GRU. Training: epsilon-greedy play in parallel environments (one
batched forward pass for every env's candidates), experience replay with a fixed share of each
batch drawn from transitions that earned reward, double-Q targets from a periodically copied target
network, Huber loss. Runs on CUDA when available. Checkpoints, TensorBoard and a CSV learning curve.
The schedule (epsilon decay, learning-curve rows, checkpoints) is set in shares of the training budget
(``train``'s ``steps``), so one config serves a run of any length.
"""

from __future__ import annotations

import csv
import random
import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from starling_env.envs.wrappers import encode_text

from .base import Learner, Progress, RecentEpisodes, info_row, useful_commands, vector_env

STATE_PARTS = ("observation", "description", "inventory")
CHECKPOINT = "checkpoint.pt"  # in a training folder


@dataclass
class DRRNConfig:
    """Every setting of DRRN (``starling train --option KEY=VALUE``); steps, envs and seed are ``train``'s arguments."""

    batch_size: int = 64
    gamma: float = 0.9
    lr: float = 1e-3
    embedding: int = 64
    hidden: int = 128
    vocab: int = 4096
    max_tokens: int = 64
    update_every: int = 4  # env steps (summed over envs) between gradient updates
    skip_noops: bool = True  # drop look / inventory / examine from the candidates (they change nothing)
    replay_size: int = 100_000
    priority_fraction: float = 0.25  # share of each batch drawn from rewarded transitions
    epsilon_start: float = 1.0
    epsilon_end: float = 0.05
    epsilon_decay: float = 0.5  # epsilon falls linearly to epsilon_end over this share of the training budget
    learning_starts: int = 200
    target_update: int = 250  # gradient updates between target-network copies
    device: str = "auto"
    log_every: float = 0.05  # a learning-curve row every this share of the budget (at most every 10 env steps)
    checkpoint_every: float = 0.25  # a checkpoint every this share of the budget (at most every 100 env steps)


def share(steps: int, fraction: float) -> int:
    """``fraction`` of ``steps``, rounded down (``share(2000, 0.05) == 2000 // 20``)."""
    return int(steps * fraction + 1e-9)


def resolve_device(name: str) -> torch.device:
    return torch.device("cuda" if name == "auto" and torch.cuda.is_available() else ("cpu" if name == "auto" else name))


class DRRN(nn.Module):
    """Q(state, command): one GRU reads the three state texts (as one batch), another the command."""

    def __init__(self, vocab: int, embedding: int, hidden: int):
        super().__init__()
        self.embedding = nn.Embedding(vocab, embedding, padding_idx=0)
        self.state_gru = nn.GRU(embedding, hidden, batch_first=True)
        self.action_gru = nn.GRU(embedding, hidden, batch_first=True)
        self.scorer = nn.Sequential(nn.Linear(hidden * (len(STATE_PARTS) + 1), hidden), nn.ReLU(), nn.Linear(hidden, 1))

    def _encode(self, gru: nn.GRU, tokens: torch.Tensor) -> torch.Tensor:
        lengths = (tokens != 0).sum(dim=1).clamp(min=1).cpu()
        packed = pack_padded_sequence(self.embedding(tokens), lengths, batch_first=True, enforce_sorted=False)
        _, hidden = gru(packed)
        return hidden[-1]

    def forward(self, states: torch.Tensor, actions: torch.Tensor, counts: list[int]) -> torch.Tensor:
        """Q-values of every candidate. ``states``: (B, parts, T); ``actions``: (sum(counts), T)."""
        batch, parts, length = states.shape
        encoded = self._encode(self.state_gru, states.reshape(batch * parts, length)).reshape(batch, -1)
        repeated = torch.repeat_interleave(encoded, torch.tensor(counts, device=states.device), dim=0)
        return self.scorer(torch.cat([repeated, self._encode(self.action_gru, actions)], dim=1)).squeeze(1)


@dataclass
class Transition:
    state: np.ndarray  # (parts, T)
    action: np.ndarray  # (T,)
    reward: float
    done: bool
    next_state: np.ndarray
    next_actions: np.ndarray  # (n, T)


@dataclass
class Replay:
    """Two buffers: every transition, and those that earned reward (sampled at a fixed share)."""

    size: int
    all: deque = field(default_factory=deque)
    rewarded: deque = field(default_factory=deque)

    def __post_init__(self) -> None:
        self.all, self.rewarded = deque(maxlen=self.size), deque(maxlen=self.size)

    def push(self, transition: Transition) -> None:
        self.all.append(transition)
        if transition.reward > 0:
            self.rewarded.append(transition)

    def sample(self, n: int, fraction: float, rng: random.Random) -> list[Transition]:
        k = min(len(self.rewarded), int(n * fraction))
        rewarded = [self.rewarded[i] for i in rng.sample(range(len(self.rewarded)), k)]  # no copy of the buffer
        return rewarded + [self.all[rng.randrange(len(self.all))] for _ in range(n - k)]

    def __len__(self) -> int:
        return len(self.all)


class DRRNAgent(Learner):
    """Scores each admissible command; greedy when acting, epsilon-greedy when training.

    Args:
        config: every setting (default :class:`DRRNConfig` with ``overrides``, e.g. ``lr=1e-4``).
        checkpoint: a trained network: a training folder (its ``checkpoint.pt``) or a checkpoint file.
        seed: initialises the networks and the exploration.
    """

    name = "drrn"
    extra_info = ("description", "inventory")

    def __init__(
        self, config: DRRNConfig | None = None, checkpoint: str | Path | None = None, seed: int = 0, **overrides: Any
    ):
        unknown = set(overrides) - _CONFIG_FIELDS
        if unknown:
            raise ValueError(f"unknown drrn options {sorted(unknown)}; valid: {sorted(_CONFIG_FIELDS)}")
        self.config = config or DRRNConfig(**overrides)
        self.device = resolve_device(self.config.device)
        self.budget = 0  # the steps of the current training run (the schedule's shares are of it)
        self.initialise(seed)
        if checkpoint is not None:
            path = Path(checkpoint)
            self.load(path / CHECKPOINT if path.is_dir() else path)

    def initialise(self, seed: int, networks: bool = True) -> None:
        """Fresh networks (unless ``networks`` is False), optimizer, counters and exploration, seeded by ``seed``."""
        self.seed = seed
        if networks:
            torch.manual_seed(seed)
            self.net = DRRN(self.config.vocab, self.config.embedding, self.config.hidden).to(self.device)
            self.target = DRRN(self.config.vocab, self.config.embedding, self.config.hidden).to(self.device)
            self.target.load_state_dict(self.net.state_dict())
        self.optimizer = torch.optim.Adam(self.net.parameters(), lr=self.config.lr)
        self.rng = random.Random(seed)
        self.updates = self.env_steps = 0
        self.warm_started = not networks

    # -- text -> tensors ---------------------------------------------------------------------------
    def encode_state(self, observation: str, info: dict[str, Any]) -> np.ndarray:
        texts = (observation, info.get("description") or "", info.get("inventory") or "")
        return np.stack([encode_text(t, self.config.vocab, self.config.max_tokens) for t in texts])

    def encode_actions(self, commands: list[str]) -> np.ndarray:
        return np.stack([encode_text(c, self.config.vocab, 8) for c in commands])

    def q_values(self, net: DRRN, states: list[np.ndarray], actions: list[np.ndarray]) -> list[torch.Tensor]:
        counts = [len(a) for a in actions]
        q = net(
            torch.as_tensor(np.stack(states), device=self.device),
            torch.as_tensor(np.concatenate(actions), device=self.device),
            counts,
        )
        return list(torch.split(q, counts))

    def candidates(self, commands: list[str]) -> list[str]:
        return useful_commands(commands) if self.config.skip_noops else list(commands)

    # -- acting ------------------------------------------------------------------------------------
    def act(self, observation: str, info: dict[str, Any]) -> str:
        commands = self.candidates(info["admissible_commands"])
        with torch.no_grad():
            (q,) = self.q_values(self.net, [self.encode_state(observation, info)], [self.encode_actions(commands)])
        return commands[int(q.argmax())]

    def epsilon(self) -> float:
        c = self.config
        decay_steps = max(1, share(self.budget, c.epsilon_decay))
        return c.epsilon_end + (c.epsilon_start - c.epsilon_end) * max(0.0, 1 - self.env_steps / decay_steps)

    # -- learning ----------------------------------------------------------------------------------
    def update(self, replay: Replay) -> float:
        batch = replay.sample(self.config.batch_size, self.config.priority_fraction, self.rng)
        q = torch.cat(self.q_values(self.net, [t.state for t in batch], [t.action[None] for t in batch]))
        with torch.no_grad():
            live = [t for t in batch if not t.done]
            next_values = torch.zeros(len(batch), device=self.device)
            if live:
                states, actions = [t.next_state for t in live], [t.next_actions for t in live]
                online = self.q_values(self.net, states, actions)
                target = self.q_values(self.target, states, actions)
                values = torch.stack([t[o.argmax()] for o, t in zip(online, target, strict=True)])  # double Q
                mask = torch.tensor([not t.done for t in batch], device=self.device)
                next_values[mask] = values
            rewards = torch.tensor([t.reward for t in batch], device=self.device, dtype=torch.float32)
            targets = rewards + self.config.gamma * next_values
        loss = nn.functional.smooth_l1_loss(q, targets)
        self.optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(self.net.parameters(), 5.0)
        self.optimizer.step()
        self.updates += 1
        if self.updates % self.config.target_update == 0:
            self.target.load_state_dict(self.net.state_dict())
        return float(loss.detach())

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
        """Train until ``steps`` env steps in all, resuming from ``out/checkpoint.pt``; logs and a CSV go to ``out``."""
        from torch.utils.tensorboard import SummaryWriter

        c = self.config
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        if (out / CHECKPOINT).exists():
            self.load(out / CHECKPOINT)
        elif seed != self.seed:
            self.initialise(seed, networks=not self.warm_started)  # a warm start keeps its weights
        self.budget = steps
        log_every, checkpoint_every = max(10, share(steps, c.log_every)), max(100, share(steps, c.checkpoint_every))
        vec = vector_env(make_env, envs)
        writer = SummaryWriter(str(out / "tensorboard"))
        curve = open(out / "learning_curve.csv", "a", newline="")
        log = csv.writer(curve)
        if curve.tell() == 0:
            log.writerow(["step", "episodes", "mean_score", "win_rate", "loss", "steps_per_s", "epsilon"])
        replay = Replay(c.replay_size)
        recent = RecentEpisodes()
        losses: deque = deque(maxlen=100)
        obs, infos = vec.reset(seed=seed + self.env_steps)
        started, start_steps, metrics = time.perf_counter(), self.env_steps, {}
        try:
            while self.env_steps < steps:
                states = [self.encode_state(obs[i], info_row(infos, i)) for i in range(envs)]
                candidates = [self.candidates(infos["admissible_commands"][i]) for i in range(envs)]
                encoded = [self.encode_actions(cmds) for cmds in candidates]
                with torch.no_grad():
                    qs = self.q_values(self.net, states, encoded)
                choices = [
                    self.rng.randrange(len(cmds)) if self.rng.random() < self.epsilon() else int(q.argmax())
                    for cmds, q in zip(candidates, qs, strict=True)
                ]
                obs, rewards, terminated, truncated, infos = vec.step(
                    [cmds[k] for cmds, k in zip(candidates, choices, strict=True)]
                )
                for i in range(envs):
                    done = bool(terminated[i] or truncated[i])
                    row = info_row(infos["final_info"], i) if done else info_row(infos, i)
                    next_obs = infos["final_obs"][i] if done else obs[i]
                    replay.push(
                        Transition(
                            states[i],
                            encoded[i][choices[i]],
                            float(rewards[i]),
                            bool(terminated[i]),
                            self.encode_state(next_obs, row),
                            self.encode_actions(self.candidates(row["admissible_commands"])),
                        )
                    )
                    if done:
                        recent.add(row)
                self.env_steps += envs
                if len(replay) >= c.learning_starts and self.env_steps % c.update_every < envs:
                    losses.append(self.update(replay))
                if self.env_steps % log_every < envs or self.env_steps >= steps:
                    metrics = {
                        **recent.summary(),
                        "loss": float(np.mean(losses)) if losses else 0.0,
                        "steps_per_s": (self.env_steps - start_steps) / (time.perf_counter() - started),
                        "epsilon": self.epsilon(),
                    }
                    log.writerow([self.env_steps] + [round(v, 4) for v in metrics.values()])
                    curve.flush()
                    for key, value in metrics.items():
                        writer.add_scalar(f"train/{key}", value, self.env_steps)
                    if progress is not None:
                        progress(self.env_steps, metrics)
                if self.env_steps % checkpoint_every < envs:
                    self.save(out / CHECKPOINT)
        finally:
            self.save(out / CHECKPOINT)
            vec.close()
            writer.close()
            curve.close()
        return metrics

    # -- persistence -------------------------------------------------------------------------------
    def save(self, path: Path) -> None:
        tmp = path.with_suffix(".tmp")
        torch.save(
            {
                "config": asdict(self.config),
                "net": self.net.state_dict(),
                "target": self.target.state_dict(),
                "optimizer": self.optimizer.state_dict(),
                "updates": self.updates,
                "env_steps": self.env_steps,
            },
            tmp,
        )
        tmp.replace(path)

    def load(self, path: Path) -> None:
        state = torch.load(path, map_location=self.device, weights_only=False)
        self.net.load_state_dict(state["net"])
        self.target.load_state_dict(state["target"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.updates, self.env_steps = state["updates"], state["env_steps"]
        self.warm_started = False

    def warm_start(self, trained: Path) -> None:
        """Only the network weights of ``trained``'s checkpoint (target network = them); fresh optimizer, counters 0."""
        path = Path(trained) / CHECKPOINT
        if not path.is_file():
            raise FileNotFoundError(f"no {CHECKPOINT} in {trained}")
        weights = torch.load(path, map_location=self.device, weights_only=False)["net"]
        self.net.load_state_dict(weights)
        self.target.load_state_dict(weights)
        self.initialise(self.seed, networks=False)


_CONFIG_FIELDS = {f.name for f in fields(DRRNConfig)}

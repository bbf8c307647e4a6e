"""DRRN (He et al., 2016): a Q-value for each (state, admissible command) pair, from GRU encoders.

The state is the observation, the room description and the inventory, each encoded by its own GRU
over hashed word ids (an offline tokenizer: no vocabulary files, stable across processes); each
candidate command has its own GRU. ``encoder="bow"`` reads each text as a bag of words instead, as He et
al. did: the mean of its word embeddings through a linear layer and a ReLU (several times faster to train;
what it learns is compared with the GRU's in ``results/generalisation-30k-bow``).

Training: epsilon-greedy play in parallel environments (one batched forward pass for every env's
candidates), experience replay with a fixed share of each batch drawn from transitions that earned reward,
double-Q targets from a periodically copied target network, Huber loss. Runs on CUDA when available.
Checkpoints (which also fix the network's shape when one is loaded), TensorBoard and a CSV learning curve.
The schedule (epsilon decay, learning-curve rows, checkpoints) is set in shares of the training budget
(``train``'s ``steps``), so one config serves a run of any length.

Why it is fast (version 2; :mod:`starling_agents.drrn_reference` is version 1, the same maths): every
distinct text (command, observation, description, inventory) gets an id once, and the replay holds ids;
an update encodes each distinct text of its batch once, in a packed batch no longer than its longest
text; the scorer's first layer is split into a state part and a command part, so a (state, command) pair
costs one addition, not a pass over both encodings; the double-Q target needs the online network's
Q-values of every next candidate but the target network's only for the chosen one, all without a graph;
and encodings that cannot have changed are reused: the target network's until it is copied again, the
online network's (without a graph) until its next gradient step.
"""

from __future__ import annotations

import csv
import random
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from starling_env.envs.wrappers import encode_text

from .base import Learner, Progress, RecentEpisodes, info_row, learner_threads, useful_commands, vector_env

STATE_PARTS = ("observation", "description", "inventory")
CHECKPOINT = "checkpoint.pt"  # in a training folder
VERSION = 2  # of the checkpoint: version 1 (no "version" key) has the same weights and loads too
COMMAND_TOKENS = 8  # words of a command that are read
ENCODERS = ("gru", "bow")
ARCHITECTURE = ("vocab", "embedding", "hidden", "max_tokens", "encoder")  # settings a checkpoint's weights fix


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
    encoder: str = "gru"  # of each text: "gru" (as in Jericho's DRRN) or "bow" (a bag of words, as He et al.'s)
    update_ratio: float = 0.25  # gradient updates per env step (summed over envs): 0.25 = one every 4 steps
    skip_noops: bool = True  # drop look / inventory / examine from the candidates (they change nothing)
    replay_size: int = 100_000
    priority_fraction: float = 0.25  # share of each batch drawn from rewarded transitions
    epsilon_start: float = 1.0
    epsilon_end: float = 0.05
    epsilon_decay: float = 0.5  # epsilon falls linearly to epsilon_end over this share of the training budget
    learning_starts: int = 200
    target_update: int = 250  # gradient updates between target-network copies
    device: str = "auto"
    threads: int = 1  # torch threads while training (more only slow the small batches); 0: CPUs / (1 + env workers)
    log_every: float = 0.05  # a learning-curve row every this share of the budget (at most every 10 env steps)
    checkpoint_every: float = 0.25  # a checkpoint every this share of the budget (at most every 100 env steps)
    progress_every: float = 2.0  # seconds between calls of train's progress callback (and at every curve row)


def share(steps: int, fraction: float) -> int:
    """``fraction`` of ``steps``, rounded down (``share(2000, 0.05) == 2000 // 20``)."""
    return int(steps * fraction + 1e-9)


def resolve_device(name: str) -> torch.device:
    """``auto``: CUDA when available, else the CPU; a CUDA device gets its index (``cuda`` -> ``cuda:0``), as its
    tensors' ``device`` has."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    device = torch.device(name)
    if device.type == "cuda" and device.index is None:
        device = torch.device("cuda", torch.cuda.current_device())
    return device


def prefix_tree(tokens: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[int], np.ndarray]:
    """The distinct prefixes of some texts, as a tree stored depth by depth (a GRU reads a shared prefix once).

    ``tokens``: (n, T) word ids, 0 after each text's end; ``lengths``: (n,), each at least 1. Returns ``words``
    (P,), the last word of each distinct prefix, prefixes of depth 0 first, then of depth 1, ...; ``parents``
    (P,), the row of each prefix less its last word (-1 at depth 0); ``sizes``, the number of prefixes of each
    depth; and ``last`` (n,), the row of each whole text.
    """
    n, width = tokens.shape
    order = np.lexsort(tokens.T[::-1])  # sorted, a text's prefixes that another has are in the rows just above
    ranked, ranked_lengths = tokens[order], lengths[order]
    new = np.arange(width) < ranked_lengths[:, None]
    new[1:] &= ~np.cumprod(ranked[1:] == ranked[:-1], axis=1, dtype=bool)  # the row above has this prefix
    sizes = new.sum(axis=0)
    rows = np.concatenate([[0], np.cumsum(sizes)[:-1]]) + np.cumsum(new, axis=0) - 1  # (n, T): each prefix's row
    parents = np.full_like(rows, -1)
    parents[:, 1:] = rows[:, :-1]
    last = np.empty(n, dtype=np.int64)
    last[order] = rows[np.arange(n), ranked_lengths - 1]
    return ranked.T[new.T], parents.T[new.T], sizes[sizes > 0].tolist(), last


class TreeGRU(torch.autograd.Function):
    """A one-layer GRU over a :func:`prefix_tree`, one step per distinct prefix, with a hand-written backward.

    The gates and weights are :class:`torch.nn.GRU`'s and so are the results (to float rounding); it is faster on
    the CPU than ``nn.GRU`` over packed sequences, whose backward goes through autograd step by step, and it skips
    the prefixes that texts share. ``x``: (P, input) the words of the tree; returns the last state of each text.
    """

    @staticmethod
    def forward(
        ctx: Any,
        x: torch.Tensor,
        w_ih: torch.Tensor,
        w_hh: torch.Tensor,
        b_ih: torch.Tensor,
        b_hh: torch.Tensor,
        parents: torch.Tensor,
        sizes: list[int],
        last: torch.Tensor,
    ) -> torch.Tensor:
        rows, hidden = x.shape[0], w_hh.shape[1]
        gi = torch.addmm(b_ih, x, w_ih.t())  # the input's part of every gate of every prefix, in one product
        gh = x.new_empty((rows, 3 * hidden))
        states = x.new_empty((rows, hidden))
        previous = x.new_zeros((rows, hidden))  # the state before each prefix's last word (0 at depth 0)
        start = 0
        for depth, size in enumerate(sizes):
            end = start + size
            g, h, before = gi[start:end], gh[start:end], previous[start:end]
            if depth == 0:
                h.copy_(b_hh.expand(size, -1))
            else:
                torch.index_select(states, 0, parents[start:end], out=before)
                torch.addmm(b_hh, before, w_hh.t(), out=h)
            gates = g[:, : 2 * hidden].add_(h[:, : 2 * hidden]).sigmoid_()  # reset and update gates, kept in gi
            new = torch.addcmul(g[:, 2 * hidden :], gates[:, :hidden], h[:, 2 * hidden :], out=g[:, 2 * hidden :])
            new.tanh_()  # the candidate state, kept in gi
            torch.addcmul(new, before - new, gates[:, hidden:], out=states[start:end])
            start = end
        ctx.save_for_backward(x, w_ih, w_hh, gi, gh, previous, parents, last)
        ctx.sizes = sizes
        return states[last]

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        x, w_ih, w_hh, gi, gh, previous, parents, last = ctx.saved_tensors
        sizes, hidden = ctx.sizes, w_hh.shape[1]
        r, z, new = gi[:, :hidden], gi[:, hidden : 2 * hidden], gi[:, 2 * hidden :]
        # what does not depend on the incoming gradient, for every prefix at once
        to_new = (1 - z) * (1 - new * new)  # d state / d candidate, times tanh'
        to_z = (previous - new) * z * (1 - z)  # d state / d update gate, times sigmoid'
        to_r = gh[:, 2 * hidden :] * r * (1 - r)  # d candidate / d reset gate (before tanh'), times sigmoid'
        d_states = grad.new_zeros(previous.shape).index_add_(0, last, grad)  # from the texts, then children
        d_gi = grad.new_empty(gi.shape)  # the gates' gradients before their nonlinearities
        d_ghn = grad.new_empty(previous.shape)  # the reset-gated hidden part of the candidate
        end = previous.shape[0]
        for depth in range(len(sizes) - 1, -1, -1):
            start = end - sizes[depth]
            d, block = d_states[start:end], d_gi[start:end]
            d_new = torch.mul(d, to_new[start:end], out=block[:, 2 * hidden :])
            torch.mul(d_new, to_r[start:end], out=block[:, :hidden])
            torch.mul(d, to_z[start:end], out=block[:, hidden : 2 * hidden])
            torch.mul(d_new, r[start:end], out=d_ghn[start:end])
            if depth:
                back = torch.addmm(d * z[start:end], block[:, : 2 * hidden], w_hh[: 2 * hidden])
                back.addmm_(d_ghn[start:end], w_hh[2 * hidden :])
                d_states.index_add_(0, parents[start:end], back)
            end = start
        d_gh = torch.cat([d_gi[:, : 2 * hidden], d_ghn], dim=1)
        return d_gi @ w_ih, d_gi.t() @ x, d_gh.t() @ previous, d_gi.sum(0), d_gh.sum(0), None, None, None


class DRRN(nn.Module):
    """Q(state, command): one encoder reads the three state texts, another the command; an MLP scores the pair.

    ``encoder``: ``gru`` (a GRU's last state) or ``bow`` (the mean of the text's word embeddings, through a linear
    layer and a ReLU).
    """

    def __init__(self, vocab: int, embedding: int, hidden: int, encoder: str = "gru"):
        super().__init__()
        self.embedding = nn.Embedding(vocab, embedding, padding_idx=0)
        self.bow = encoder == "bow"
        if self.bow:
            self.state_bow = nn.Linear(embedding, hidden)
            self.action_bow = nn.Linear(embedding, hidden)
        else:
            self.state_gru = nn.GRU(embedding, hidden, batch_first=True)
            self.action_gru = nn.GRU(embedding, hidden, batch_first=True)
        self.scorer = nn.Sequential(nn.Linear(hidden * (len(STATE_PARTS) + 1), hidden), nn.ReLU(), nn.Linear(hidden, 1))

    def encode(self, gru: nn.GRU, tokens: np.ndarray, lengths: np.ndarray, tree: bool | None = None) -> torch.Tensor:
        """The last GRU state of each text: ``tokens`` (n, T) word ids padded with 0, ``lengths`` (n,) at least 1.

        ``tree``: read the texts as a :func:`prefix_tree` with :class:`TreeGRU` (the default on the CPU when a
        gradient is to come) or as packed sequences with ``gru`` itself (the default elsewhere: without a graph
        its C++ loop is faster on the CPU, and cuDNN does it in one call).
        """
        device = self.embedding.weight.device
        if tree if tree is not None else device.type == "cpu" and torch.is_grad_enabled():
            words, parents, sizes, last = prefix_tree(tokens, lengths)
            hidden = TreeGRU.apply(
                self.embedding(torch.as_tensor(words, device=device)),
                gru.weight_ih_l0,
                gru.weight_hh_l0,
                gru.bias_ih_l0,
                gru.bias_hh_l0,
                torch.as_tensor(parents, device=device),
                sizes,
                torch.as_tensor(last, device=device),
            )
            return hidden
        embedded = self.embedding(torch.as_tensor(tokens, device=device))
        packed = pack_padded_sequence(embedded, torch.as_tensor(lengths), batch_first=True, enforce_sorted=False)
        return gru(packed)[1][-1]

    def encode_bag(self, linear: nn.Linear, tokens: np.ndarray, lengths: np.ndarray) -> torch.Tensor:
        """The bag-of-words encoding of each text (padding words embed to 0)."""
        device = self.embedding.weight.device
        summed = self.embedding(torch.as_tensor(tokens, device=device)).sum(1)
        return torch.relu(linear(summed / torch.as_tensor(lengths, device=device, dtype=summed.dtype)[:, None]))

    def encode_states(self, tokens: np.ndarray, lengths: np.ndarray) -> torch.Tensor:
        if self.bow:
            return self.encode_bag(self.state_bow, tokens, lengths)
        return self.encode(self.state_gru, tokens, lengths)

    def encode_commands(self, tokens: np.ndarray, lengths: np.ndarray) -> torch.Tensor:
        if self.bow:
            return self.encode_bag(self.action_bow, tokens, lengths)
        return self.encode(self.action_gru, tokens, lengths)

    def score(
        self, states: torch.Tensor, commands: torch.Tensor, state_index: torch.Tensor, command_index: torch.Tensor
    ) -> torch.Tensor:
        """Q of the pairs (``states[state_index[k]]``, ``commands[command_index[k]]``).

        ``states``: (n, parts * hidden), the encodings of each state's parts side by side; ``commands``:
        (m, hidden). The first layer is applied to each state and each command once (it is linear in their
        concatenation), then each pair costs a sum.
        """
        first, last = self.scorer[0], self.scorer[2]
        assert isinstance(first, nn.Linear) and isinstance(last, nn.Linear)
        width = states.shape[1]
        s = nn.functional.linear(states, first.weight[:, :width], first.bias)
        a = nn.functional.linear(commands, first.weight[:, width:])
        return last(torch.relu(s[state_index] + a[command_index])).squeeze(1)


class Texts:
    """Each distinct text once: an id (in order of first sight), its hashed word ids and its length."""

    def __init__(self, vocab: int, max_tokens: int):
        self.vocab, self.max_tokens = vocab, max_tokens
        self.ids: dict[str, int] = {}
        self.tokens = np.zeros((256, max_tokens), dtype=np.int64)
        self.lengths = np.zeros(256, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.ids)

    def id(self, text: str) -> int:
        found = self.ids.get(text)
        if found is not None:
            return found
        i = len(self.ids)
        if i == len(self.lengths):
            self.tokens = np.concatenate([self.tokens, np.zeros_like(self.tokens)])
            self.lengths = np.concatenate([self.lengths, np.zeros_like(self.lengths)])
        row = encode_text(text, self.vocab, self.max_tokens)
        self.tokens[i], self.lengths[i] = row, max(1, int(np.count_nonzero(row)))  # an empty text: one padding word
        self.ids[text] = i
        return i

    def batch(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The word ids of the texts ``ids`` (n, their longest length; 0 after a text's end) and their lengths."""
        lengths = self.lengths[ids]
        return self.tokens[ids, : lengths.max()], lengths


class Encodings:
    """One network's encodings of texts, computed once and reused until :meth:`clear` (the network changed)."""

    def __init__(self, texts: Texts, encode: Callable[[np.ndarray, np.ndarray], torch.Tensor], hidden: int):
        self.texts, self.encode, self.hidden = texts, encode, hidden
        self.generation = 1
        self.valid = np.zeros(0, dtype=np.int64)  # the generation each row was computed in
        self.rows: torch.Tensor | None = None

    def clear(self) -> None:
        self.generation += 1

    def _fit(self, device: torch.device) -> torch.Tensor:
        size = len(self.texts)
        if self.rows is None or len(self.valid) < size or self.rows.device != device:
            grown = max(256, 2 * size)
            rows = torch.zeros((grown, self.hidden), device=device)
            valid = np.zeros(grown, dtype=np.int64)
            if self.rows is not None and self.rows.device == device:
                rows[: len(self.valid)], valid[: len(self.valid)] = self.rows, self.valid
            self.rows, self.valid = rows, valid
        return self.rows

    def put(self, ids: np.ndarray, encoded: torch.Tensor) -> None:
        """Store encodings computed elsewhere (detached) for the distinct ``ids``."""
        self._fit(encoded.device)[torch.as_tensor(ids, device=encoded.device)] = encoded.detach()
        self.valid[ids] = self.generation

    def get(self, ids: np.ndarray, device: torch.device) -> torch.Tensor:
        """The encodings of the distinct ``ids``, without a graph (those missing are computed in one batch)."""
        rows = self._fit(device)
        missing = ids[self.valid[ids] != self.generation]
        if len(missing):
            with torch.no_grad():
                rows[torch.as_tensor(missing, device=device)] = self.encode(*self.texts.batch(missing))
            self.valid[missing] = self.generation
        return rows[torch.as_tensor(ids, device=device)]


def segment_argmax(values: torch.Tensor, counts: Sequence[int]) -> torch.Tensor:
    """The index of the largest value within each of the consecutive segments of ``counts`` values (the first
    of equal ones)."""
    if len(counts) == 1:
        return values.argmax()[None]
    device = values.device
    rows = torch.repeat_interleave(torch.arange(len(counts), device=device), torch.as_tensor(counts, device=device))
    starts = torch.as_tensor(np.concatenate([[0], np.cumsum(counts)[:-1]]), device=device)
    padded = values.new_full((len(counts), max(counts)), -torch.inf)
    padded[rows, torch.arange(len(values), device=device) - starts[rows]] = values
    return padded.argmax(dim=1)


@dataclass
class Transition:
    state: np.ndarray  # (parts,) text ids
    action: int  # command id
    reward: float
    done: bool
    next_state: np.ndarray  # (parts,) text ids
    next_actions: np.ndarray  # (n,) command ids (arrays shared by every transition with the same candidates)


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

    Changing the networks' weights by hand (not through ``train``, ``load`` or ``warm_start``): call
    :meth:`forget_encodings` before acting.
    """

    name = "drrn"
    extra_info = ("description", "inventory")

    def __init__(
        self, config: DRRNConfig | None = None, checkpoint: str | Path | None = None, seed: int = 0, **overrides: Any
    ):
        unknown = set(overrides) - _CONFIG_FIELDS
        if unknown:
            raise ValueError(f"unknown drrn options {sorted(unknown)}; valid: {sorted(_CONFIG_FIELDS)}")
        path = None if checkpoint is None else Path(checkpoint)
        if path is not None and path.is_dir():
            path = path / CHECKPOINT
        state = _read_checkpoint(path, torch.device("cpu")) if path is not None and path.is_file() else None
        if config is None and state is not None:  # the network's shape is the checkpoint's
            overrides = {**_architecture(state), **overrides}
        self.config = config or DRRNConfig(**overrides)
        if self.config.encoder not in ENCODERS:
            raise ValueError(f"encoder must be one of {ENCODERS}, not {self.config.encoder!r}")
        if self.config.update_ratio <= 0:
            raise ValueError(f"update_ratio must be above 0, not {self.config.update_ratio}")
        self.device = resolve_device(self.config.device)
        self.budget = 0  # the steps of the current training run (the schedule's shares are of it)
        self.state_texts = Texts(self.config.vocab, self.config.max_tokens)
        self.command_texts = Texts(self.config.vocab, COMMAND_TOKENS)
        self._lists: dict[tuple[str, ...], np.ndarray] = {}  # candidate lists -> their command ids
        self.initialise(seed)
        if path is not None:
            self.load(path, state)

    def initialise(self, seed: int, networks: bool = True) -> None:
        """Fresh networks (unless ``networks`` is False), optimizer, counters and exploration, seeded by ``seed``."""
        self.seed = seed
        if networks:
            torch.manual_seed(seed)
            c = self.config
            self.net = DRRN(c.vocab, c.embedding, c.hidden, c.encoder).to(self.device)
            self.target = DRRN(c.vocab, c.embedding, c.hidden, c.encoder).to(self.device)
            self.target.load_state_dict(self.net.state_dict())
            hidden = self.config.hidden
            self.online_states = Encodings(self.state_texts, self.net.encode_states, hidden)
            self.online_commands = Encodings(self.command_texts, self.net.encode_commands, hidden)
            self.target_states = Encodings(self.state_texts, self.target.encode_states, hidden)
            self.target_commands = Encodings(self.command_texts, self.target.encode_commands, hidden)
        self.forget_encodings()
        # fused: Adam's update of every weight in one kernel (the same maths; its Python loop took 3 ms an update)
        self.optimizer = torch.optim.Adam(self.net.parameters(), lr=self.config.lr, fused=True)
        self.rng = random.Random(seed)
        self.updates = self.env_steps = 0
        self.warm_started = not networks

    def forget_encodings(self, online: bool = True, target: bool = True) -> None:
        """Drop the reused encodings of the online and / or target network (after their weights changed)."""
        for cache, chosen in (
            (self.online_states, online),
            (self.online_commands, online),
            (self.target_states, target),
            (self.target_commands, target),
        ):
            if chosen:
                cache.clear()

    # -- text -> ids -------------------------------------------------------------------------------
    def state_ids(self, observation: str, info: dict[str, Any]) -> np.ndarray:
        """The text ids of a state's parts (observation, description, inventory)."""
        texts = (observation, info.get("description") or "", info.get("inventory") or "")
        return np.array([self.state_texts.id(t) for t in texts], dtype=np.int64)

    def command_ids(self, commands: list[str]) -> np.ndarray:
        """The text ids of a candidate list (one shared array per distinct list)."""
        key = tuple(commands)
        found = self._lists.get(key)
        if found is None:
            found = self._lists[key] = np.array([self.command_texts.id(c) for c in commands], dtype=np.int64)
        return found

    def candidates(self, commands: list[str]) -> list[str]:
        return useful_commands(commands) if self.config.skip_noops else list(commands)

    # -- Q-values ----------------------------------------------------------------------------------
    def _online_q(self, states: np.ndarray, candidates: list[np.ndarray]) -> torch.Tensor:
        """The online network's Q of every candidate of every state (``states``: (n, parts) ids), without a graph:
        the candidates of state 0, then of state 1, ..."""
        commands, inverse = np.unique(np.concatenate(candidates), return_inverse=True)
        device = self.device
        with torch.no_grad():
            rows = torch.repeat_interleave(
                torch.arange(len(states), device=device), torch.as_tensor([len(c) for c in candidates], device=device)
            )
            return self.net.score(
                _states(self.online_states, states, device),
                self.online_commands.get(commands, device),
                rows,
                torch.as_tensor(inverse.reshape(-1), device=device),
            )

    def greedy(self, states: list[np.ndarray], candidates: list[np.ndarray]) -> list[int]:
        """For each state, the index of its candidate of highest online Q."""
        q = self._online_q(np.stack(states), candidates)
        return segment_argmax(q, [len(c) for c in candidates]).tolist()

    # -- acting ------------------------------------------------------------------------------------
    def act(self, observation: str, info: dict[str, Any]) -> str:
        commands = self.candidates(info["admissible_commands"])
        (best,) = self.greedy([self.state_ids(observation, info)], [self.command_ids(commands)])
        return commands[best]

    def epsilon(self) -> float:
        c = self.config
        decay_steps = max(1, share(self.budget, c.epsilon_decay))
        return c.epsilon_end + (c.epsilon_start - c.epsilon_end) * max(0.0, 1 - self.env_steps / decay_steps)

    # -- learning ----------------------------------------------------------------------------------
    def update(self, replay: Replay) -> float:
        """One gradient step on a batch from ``replay``; returns its loss."""
        batch = replay.sample(self.config.batch_size, self.config.priority_fraction, self.rng)
        device, n = self.device, len(batch)
        # Q(s, a) with a graph: each distinct state text and command of the batch encoded once
        parts, part_of = np.unique(np.stack([t.state for t in batch]), return_inverse=True)
        actions, action_of = np.unique(np.array([t.action for t in batch]), return_inverse=True)
        encoded_parts = self.net.encode_states(*self.state_texts.batch(parts))
        encoded_actions = self.net.encode_commands(*self.command_texts.batch(actions))
        self.online_states.put(parts, encoded_parts)  # the same weights answer the target's questions below
        self.online_commands.put(actions, encoded_actions)
        states = encoded_parts[torch.as_tensor(part_of.reshape(-1), device=device)].reshape(n, -1)
        index = torch.arange(n, device=device)
        q = self.net.score(states, encoded_actions, index, torch.as_tensor(action_of.reshape(-1), device=device))
        with torch.no_grad():  # double-Q target: the online network chooses, the target network values
            live = [i for i, t in enumerate(batch) if not t.done]
            next_values = torch.zeros(n, device=device)
            if live:
                next_states = np.stack([batch[i].next_state for i in live])
                candidates = [batch[i].next_actions for i in live]
                counts = [len(c) for c in candidates]
                best = segment_argmax(self._online_q(next_states, candidates), counts).cpu().numpy()
                chosen = np.concatenate(candidates)[np.cumsum(counts) - counts + best]
                commands, command_of = np.unique(chosen, return_inverse=True)
                values = self.target.score(
                    _states(self.target_states, next_states, device),
                    self.target_commands.get(commands, device),
                    torch.arange(len(live), device=device),
                    torch.as_tensor(command_of.reshape(-1), device=device),
                )
                next_values[torch.as_tensor(live, device=device)] = values
            rewards = torch.tensor([t.reward for t in batch], device=device, dtype=torch.float32)
            targets = rewards + self.config.gamma * next_values
        loss = nn.functional.smooth_l1_loss(q, targets)
        self.optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(self.net.parameters(), 5.0, foreach=True)
        self.optimizer.step()
        self.forget_encodings(target=False)
        self.updates += 1
        if self.updates % self.config.target_update == 0:
            self.target.load_state_dict(self.net.state_dict())
            self.forget_encodings(online=False)
        return float(loss.detach())

    def updates_due(self, envs: int) -> int:
        """Gradient updates owed after the last vector step (``envs`` env steps): ``update_ratio`` per env step."""
        ratio = self.config.update_ratio
        return int(self.env_steps * ratio + 1e-9) - int((self.env_steps - envs) * ratio + 1e-9)

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
        """Train until ``steps`` env steps in all, resuming from ``out/checkpoint.pt``; logs and a CSV go to ``out``.

        ``progress`` is called every ``progress_every`` seconds and at every learning-curve row. The metrics
        returned (those of the last row) add ``updates_per_s`` and the shares of the run's time spent waiting
        for the envs (``env_share``) and in gradient updates (``update_share``).
        """
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
        threads = torch.get_num_threads()
        torch.set_num_threads(learner_threads(c.threads, envs))
        vec = vector_env(make_env, envs)
        writer = SummaryWriter(str(out / "tensorboard"))
        curve = open(out / "learning_curve.csv", "a", newline="")
        log = csv.writer(curve)
        if curve.tell() == 0:
            log.writerow(["step", "episodes", "mean_score", "win_rate", "loss", "steps_per_s", "epsilon"])
        replay = Replay(c.replay_size)
        recent = RecentEpisodes()
        losses: deque = deque(maxlen=100)
        env_s = update_s = 0.0
        clock = time.perf_counter()
        obs, infos = vec.reset(seed=seed + self.env_steps)
        env_s += time.perf_counter() - clock
        started, start_steps, start_updates, metrics = clock, self.env_steps, self.updates, {}
        shown = time.perf_counter()

        def current() -> dict[str, float]:
            elapsed = max(time.perf_counter() - started, 1e-9)
            return {
                **recent.summary(),
                "loss": float(np.mean(losses)) if losses else 0.0,
                "steps_per_s": (self.env_steps - start_steps) / elapsed,
                "epsilon": self.epsilon(),
                "updates_per_s": (self.updates - start_updates) / elapsed,
                "env_share": env_s / elapsed,
                "update_share": update_s / elapsed,
            }

        try:
            while self.env_steps < steps:
                states = [self.state_ids(obs[i], info_row(infos, i)) for i in range(envs)]
                candidates = [self.candidates(infos["admissible_commands"][i]) for i in range(envs)]
                encoded = [self.command_ids(cmds) for cmds in candidates]
                epsilon = self.epsilon()
                choices = [self.rng.randrange(len(cmds)) if self.rng.random() < epsilon else -1 for cmds in candidates]
                greedy = [i for i, k in enumerate(choices) if k < 0]
                if greedy:
                    best = self.greedy([states[i] for i in greedy], [encoded[i] for i in greedy])
                    for i, k in zip(greedy, best, strict=True):
                        choices[i] = k
                clock = time.perf_counter()
                obs, rewards, terminated, truncated, infos = vec.step(
                    [cmds[k] for cmds, k in zip(candidates, choices, strict=True)]
                )
                env_s += time.perf_counter() - clock
                for i in range(envs):
                    done = bool(terminated[i] or truncated[i])
                    row = info_row(infos["final_info"], i) if done else info_row(infos, i)
                    next_obs = infos["final_obs"][i] if done else obs[i]
                    replay.push(
                        Transition(
                            states[i],
                            int(encoded[i][choices[i]]),
                            float(rewards[i]),
                            bool(terminated[i]),
                            self.state_ids(next_obs, row),
                            self.command_ids(self.candidates(row["admissible_commands"])),
                        )
                    )
                    if done:
                        recent.add(row)
                self.env_steps += envs
                if len(replay) >= c.learning_starts:
                    clock = time.perf_counter()
                    for _ in range(self.updates_due(envs)):
                        losses.append(self.update(replay))
                    update_s += time.perf_counter() - clock
                logged = self.env_steps % log_every < envs or self.env_steps >= steps
                if logged:
                    metrics = current()
                    log.writerow([self.env_steps] + [round(metrics[k], 4) for k in CURVE_COLUMNS])
                    curve.flush()
                    for key, value in metrics.items():
                        writer.add_scalar(f"train/{key}", value, self.env_steps)
                if progress is not None and (logged or time.perf_counter() - shown >= c.progress_every):
                    progress(self.env_steps, metrics if logged else current())
                    shown = time.perf_counter()
                if self.env_steps % checkpoint_every < envs:
                    self.save(out / CHECKPOINT)
        finally:
            self.save(out / CHECKPOINT)
            vec.close()
            writer.close()
            curve.close()
            torch.set_num_threads(threads)
        return metrics

    # -- persistence -------------------------------------------------------------------------------
    def save(self, path: Path) -> None:
        tmp = path.with_suffix(".tmp")
        torch.save(
            {
                "version": VERSION,
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

    def load(self, path: Path, state: dict[str, Any] | None = None) -> None:
        """The networks, optimizer and counters of the checkpoint at ``path`` (``state``: its contents, if read)."""
        state = self._own(path, state if state is not None else _read_checkpoint(path, self.device))
        self.net.load_state_dict(state["net"])
        self.target.load_state_dict(state["target"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.updates, self.env_steps = state["updates"], state["env_steps"]
        self.warm_started = False
        self.forget_encodings()

    def warm_start(self, trained: Path) -> None:
        """Only the network weights of ``trained``'s checkpoint (target network = them); fresh optimizer, counters 0."""
        path = Path(trained) / CHECKPOINT
        if not path.is_file():
            raise FileNotFoundError(f"no {CHECKPOINT} in {trained}")
        weights = self._own(path, _read_checkpoint(path, self.device))["net"]
        self.net.load_state_dict(weights)
        self.target.load_state_dict(weights)
        self.initialise(self.seed, networks=False)

    def _own(self, path: Path, state: dict[str, Any]) -> dict[str, Any]:
        """``state``, the checkpoint at ``path``, if it holds a network of this agent's shape (else a clear error)."""
        ours = {key: getattr(self.config, key) for key in ARCHITECTURE}
        theirs = _architecture(state)
        differ = [key for key in ARCHITECTURE if theirs[key] != ours[key]]
        if differ:
            said = ", ".join(f"{key}={theirs[key]!r} (this agent: {ours[key]!r})" for key in differ)
            raise ValueError(f"{path} holds a DRRN with {said}: drop those options or set them to the checkpoint's")
        return state


def _architecture(state: dict[str, Any]) -> dict[str, Any]:
    """The :data:`ARCHITECTURE` settings a checkpoint was trained with (the defaults' where it recorded none)."""
    recorded, default = state.get("config", {}), DRRNConfig()
    return {key: recorded.get(key, getattr(default, key)) for key in ARCHITECTURE}


def _states(encodings: Encodings, states: np.ndarray, device: torch.device) -> torch.Tensor:
    """(n, parts * hidden): the encodings of the parts of ``states`` ((n, parts) text ids) side by side, without a
    graph, each distinct text once."""
    texts, inverse = np.unique(states, return_inverse=True)
    return encodings.get(texts, device)[torch.as_tensor(inverse.reshape(-1), device=device)].reshape(len(states), -1)


def _read_checkpoint(path: Path, device: torch.device) -> dict[str, Any]:
    state = torch.load(path, map_location=device, weights_only=False)
    version = state.get("version", 1)  # version 1 wrote none; its weights are the same
    if version > VERSION:
        raise ValueError(f"{path} is a version {version} DRRN checkpoint; this starling_agents reads up to {VERSION}")
    return state


CURVE_COLUMNS = ("episodes", "mean_score", "win_rate", "loss", "steps_per_s", "epsilon")  # after "step"
_CONFIG_FIELDS = {f.name for f in fields(DRRNConfig)}

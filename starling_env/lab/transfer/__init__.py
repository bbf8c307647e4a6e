"""`starling transfer`: does pre-training on STARLING's games help an agent learn other text games?

For each seed, a learner (any :class:`~starling_agents.Learner`: ``drrn`` by default, ``ppo``, ``llm-rl``) is
pre-trained on the benchmark's train split (``DIR/pretrain/seed<k>/``); then, for each target env and each arm,
it trains on the target's train split and is evaluated greedily on the target's test split by the evaluation
harness (``DIR/<target>/seed<k>/<arm>/{train,eval}/``):

- ``pretrained``: starts from the policy weights of that seed's pre-trained learner (``Learner.warm_start``);
- ``scratch``: starts from a fresh learner.

The two arms differ **only in the initial weights**. Both start with the same settings and seed, a fresh
optimizer and the step counter at 0 (for DRRN also an empty replay buffer and a target network equal to the
online one): the target budget is exactly ``--steps`` env steps for both, and both follow the same schedule
(DRRN: epsilon 1.0 -> 0.05 over the first half of the budget), so exploration restarts on the target for the
pre-trained network too. A pre-trained arm that starts greedy would mix two effects (better weights and less
exploration); this design measures the first alone.

Every unit is resumable: a finished unit has a ``done.json`` (written atomically last) and is skipped on
rerun; a unit's ``spec.json`` (its settings, written first) must match on rerun; an interrupted training
resumes from its checkpoint (``Learner.train`` resumes itself); the harness resumes an interrupted evaluation.

The evaluation covers every game of the target's test split ``--episodes`` times (TWC's games, ScienceWorld's
variations: :func:`.config.evaluation_games`), not random draws. The results table covers every finished unit under
``DIR``: per target and arm, the normalised test score averaged over seeds (each seed's score is the mean over
its evaluation episodes) with a 95% t interval over seeds, the IQM with a stratified bootstrap interval, the win
rate and the mean episode steps, plus the paired gain (pretrained - scratch, per seed and per game) and the
probability of improvement (see :mod:`.results`). Written to ``DIR/transfer.json`` and ``DIR/transfer.md`` with one
learning-curve plot per target (``DIR/learning_curves-<target>.png``: the training curve's mean score,
averaged over seeds, for both arms).

The parts: :mod:`.config` (targets and settings), :mod:`.units` (the resumable units), :mod:`.run` (the
orchestration), :mod:`.results` (the statistics) and :mod:`.render` (tables, plots, files, the progress display).
"""

from __future__ import annotations

from .config import (
    ARMS,
    Target,
    TransferConfig,
    TransferError,
    check_targets,
    eval_kwargs,
    evaluation_games,
    parse_targets,
)
from .render import main, markdown, rich_table, write_results
from .results import aggregate, collect, mean_curves, unit_results
from .run import UnitProgress, run_transfer, train_stage
from .units import Unit, pretrain_unit, target_unit

__all__ = [
    "ARMS",
    "Target",
    "TransferConfig",
    "TransferError",
    "Unit",
    "UnitProgress",
    "aggregate",
    "check_targets",
    "collect",
    "eval_kwargs",
    "main",
    "markdown",
    "mean_curves",
    "parse_targets",
    "pretrain_unit",
    "rich_table",
    "run_transfer",
    "target_unit",
    "evaluation_games",
    "train_stage",
    "unit_results",
    "write_results",
]

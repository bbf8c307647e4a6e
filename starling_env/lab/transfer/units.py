"""The resumable units of a transfer run: a folder, its settings (``spec.json``) and its completion (``done.json``).

``DIR/pretrain/seed<k>/`` pre-trains on STARLING-100; ``DIR/<target>/seed<k>/<arm>/{train,eval}/`` trains an arm
on a target and evaluates it. A unit's ``spec.json`` is written first and must match on rerun; ``done.json`` is
written atomically last, and a unit that has one is skipped.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...files import write_atomic
from .config import PRETRAIN_SPLIT, TEST_SPLIT, TRAIN_SPLIT, Target, TransferConfig, TransferError


@dataclass
class Unit:
    """One resumable piece of work: a folder, its settings (``spec.json``) and its completion (``done.json``)."""

    folder: Path
    spec: dict[str, Any]

    @property
    def done(self) -> bool:
        return (self.folder / "done.json").exists()

    def claim(self) -> None:
        """Write ``spec.json``, or check that the folder's one is the same."""
        path = self.folder / "spec.json"
        if path.exists():
            existing = json.loads(path.read_text())
            if existing != self.spec:
                diff = {k: (existing.get(k), v) for k, v in self.spec.items() if existing.get(k) != v}
                raise TransferError(f"{self.folder} holds a different run ({diff}: (there, asked)); use another --out")
        else:
            self.folder.mkdir(parents=True, exist_ok=True)
            write_atomic(path, json.dumps(self.spec, indent=2) + "\n")

    def finish(self, result: dict[str, Any]) -> None:
        write_atomic(self.folder / "done.json", json.dumps(result, indent=2) + "\n")


def _options(config: TransferConfig) -> dict[str, Any]:
    """The learner's options in a spec, only when there are any (so specs written before they existed still match)."""
    return {"agent_options": config.agent_options} if config.agent_options else {}


def pretrain_unit(out: Path, seed: int, config: TransferConfig) -> Unit:
    return Unit(
        out / "pretrain" / f"seed{seed}",
        {
            "stage": "pretrain",
            "agent": config.agent,
            "suite": "STARLING-100",
            "split": PRETRAIN_SPLIT,
            "steps": config.pretrain_steps,
            "seed": seed,
            "max_steps": config.max_steps,
            "envs": config.envs,
            **({"engine": config.engine} if config.engine != "inform7" else {}),  # old units stay resumable
            **_options(config),
        },
    )


def target_unit(out: Path, target: Target, seed: int, arm: str, config: TransferConfig) -> Unit:
    return Unit(
        out / target.slug / f"seed{seed}" / arm,
        {
            "stage": "target",
            "agent": config.agent,
            "target": target.env_id,
            "target_kwargs": target.kwargs,
            "slug": target.slug,
            "arm": arm,
            "seed": seed,
            "steps": config.steps,
            "pretrain_steps": config.pretrain_steps if arm == "pretrained" else 0,
            "max_steps": config.max_steps,
            "episodes": config.episodes,
            "eval_games": "every",  # episodes per game of the test split (runs before this drew games at random)
            "envs": config.envs,
            "train_split": TRAIN_SPLIT,
            "test_split": TEST_SPLIT,
            **_options(config),
        },
    )

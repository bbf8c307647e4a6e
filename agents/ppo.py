"""MaskablePPO (sb3-contrib) over the AdmissibleActions + EncodedObservation view: the SB3 path."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from starling_env.envs import AdmissibleActions, EncodedObservation
from starling_env.envs.wrappers import encode_text

from .base import Learner, Progress, ray_rollouts

MODEL = "model.zip"  # in a training folder
PROGRESS_EVERY = 1000  # env steps between progress calls


def wrap(env: gym.Env, max_actions: int, vocab: int, max_tokens: int) -> gym.Env:
    """The numeric view SB3 trains on: Discrete(max_actions) with masks, Box of hashed word ids."""
    return EncodedObservation(AdmissibleActions(env, max_actions=max_actions), vocab_size=vocab, max_tokens=max_tokens)


class PPOAgent(Learner):
    """A MaskablePPO policy; acts by masking everything but the admissible commands.

    Args:
        checkpoint: a trained policy: a training folder (its ``model.zip``) or a ``model.zip``.
        seed: seeds a fresh training run when ``train`` is given no other.
        ppo_kwargs: MaskablePPO settings (``n_steps``, ``learning_rate``, ``device``, ...).
    """

    name = "ppo"

    def __init__(
        self,
        checkpoint: str | Path | None = None,
        max_actions: int = 64,
        vocab: int = 4096,
        max_tokens: int = 256,
        seed: int = 0,
        **ppo_kwargs: Any,
    ):
        self.max_actions, self.vocab, self.max_tokens, self.seed = max_actions, vocab, max_tokens, seed
        self.ppo_kwargs = {"n_steps": 256, "batch_size": 64, "n_epochs": 4, "learning_rate": 3e-4, **ppo_kwargs}
        self.model: Any = None
        if checkpoint is not None:
            path = Path(checkpoint)
            self.load(path / MODEL if path.is_dir() else path)

    @property  # type: ignore[override]
    def env_steps(self) -> int:
        return int(self.model.num_timesteps) if self.model is not None else 0

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
        """PPO until ``steps`` env steps in all (to the end of a rollout), resuming from ``out/model.zip``.

        A fresh run starts from the policy weights the agent holds (a warm start or its ``checkpoint``), if any.
        """
        from sb3_contrib import MaskablePPO
        from stable_baselines3.common.callbacks import BaseCallback
        from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv

        if ray_rollouts() is not None:
            raise ValueError("ppo steps its envs in stable-baselines3's own processes: --ray serves drrn and llm-rl")
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        make = lambda: wrap(make_env(), self.max_actions, self.vocab, self.max_tokens)  # noqa: E731
        vec = (SubprocVecEnv if envs > 1 else DummyVecEnv)([make] * envs)
        if (out / MODEL).exists():
            self.model = MaskablePPO.load(str(out / MODEL), env=vec, device=self.ppo_kwargs.get("device", "auto"))
        else:
            fresh = MaskablePPO(
                "MlpPolicy", vec, seed=seed, verbose=0, tensorboard_log=str(out / "tensorboard"), **self.ppo_kwargs
            )
            if self.model is not None:  # only the weights: a fresh optimizer and counters
                fresh.policy.load_state_dict(self.model.policy.state_dict())
            self.model = fresh
        self.seed = seed

        class CallProgress(BaseCallback):
            def _on_step(self) -> bool:
                if progress is not None and self.num_timesteps % PROGRESS_EVERY < envs:
                    progress(self.num_timesteps, {})
                return True

        try:
            remaining = steps - self.env_steps
            if remaining > 0:
                self.model.learn(total_timesteps=remaining, callback=CallProgress(), reset_num_timesteps=False)
                self.save(out / MODEL)
        finally:
            vec.close()
        if progress is not None:
            progress(self.env_steps, {})
        return {}

    def warm_start(self, trained: Path) -> None:
        """The policy of ``trained/model.zip``: the next fresh ``train`` takes its weights (not its optimizer)."""
        path = Path(trained) / MODEL
        if not path.is_file():
            raise FileNotFoundError(f"no {MODEL} in {trained}")
        self.load(path)

    def act(self, observation: str, info: dict[str, Any]) -> str:
        if self.model is None:
            raise RuntimeError("the PPO agent has no model: train it or pass checkpoint=")
        commands = info["admissible_commands"][: self.max_actions]
        mask = np.zeros(self.max_actions, dtype=bool)
        mask[: len(commands)] = True
        action, _ = self.model.predict(
            encode_text(observation, self.vocab, self.max_tokens), action_masks=mask, deterministic=True
        )
        return commands[int(action)]

    def save(self, path: Path) -> None:
        self.model.save(str(path))

    def load(self, path: Path) -> None:
        from sb3_contrib import MaskablePPO

        self.model = MaskablePPO.load(str(path), device=self.ppo_kwargs.get("device", "auto"))

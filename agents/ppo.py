"""MaskablePPO (sb3-contrib) over the AdmissibleActions + EncodedObservation view: the SB3 path."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import gymnasium as gym
import numpy as np

from starling_env.envs import AdmissibleActions, EncodedObservation
from starling_env.envs.wrappers import encode_text

from .base import Agent


def wrap(env: gym.Env, max_actions: int, vocab: int, max_tokens: int) -> gym.Env:
    """The numeric view SB3 trains on: Discrete(max_actions) with masks, Box of hashed word ids."""
    return EncodedObservation(AdmissibleActions(env, max_actions=max_actions), vocab_size=vocab, max_tokens=max_tokens)


class PPOAgent(Agent):
    """A MaskablePPO policy; acts by masking everything but the admissible commands."""

    name = "ppo"

    def __init__(self, checkpoint: str | Path | None = None, max_actions: int = 64, vocab: int = 4096,
                 max_tokens: int = 256, seed: int = 0, **ppo_kwargs: Any):
        self.max_actions, self.vocab, self.max_tokens, self.seed = max_actions, vocab, max_tokens, seed
        self.ppo_kwargs = {"n_steps": 256, "batch_size": 64, "n_epochs": 4, "learning_rate": 3e-4, **ppo_kwargs}
        self.model = None
        if checkpoint is not None:
            self.load(Path(checkpoint))

    def train(self, make_env: Callable[[], gym.Env], out: Path, steps: int, envs: int = 1,
              progress: Callable[[int, dict], None] = lambda s, m: None) -> dict[str, float]:
        from sb3_contrib import MaskablePPO
        from stable_baselines3.common.callbacks import BaseCallback
        from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv

        out.mkdir(parents=True, exist_ok=True)
        make = lambda: wrap(make_env(), self.max_actions, self.vocab, self.max_tokens)  # noqa: E731
        vec = (SubprocVecEnv if envs > 1 else DummyVecEnv)([make] * envs)
        if self.model is None:
            self.model = MaskablePPO("MlpPolicy", vec, seed=self.seed, verbose=0, tensorboard_log=str(out / "tensorboard"),
                                     **self.ppo_kwargs)
        else:
            self.model.set_env(vec)

        class Report(BaseCallback):
            def _on_step(self) -> bool:
                if self.num_timesteps % 1000 < envs:
                    progress(self.num_timesteps, {})
                return True

        self.model.learn(total_timesteps=steps, callback=Report(), reset_num_timesteps=False)
        self.save(out / "model.zip")
        vec.close()
        return {}

    def act(self, observation: str, info: dict[str, Any]) -> str:
        if self.model is None:
            raise RuntimeError("the PPO agent has no model: train it or pass checkpoint=")
        commands = info["admissible_commands"][: self.max_actions]
        mask = np.zeros(self.max_actions, dtype=bool)
        mask[: len(commands)] = True
        action, _ = self.model.predict(encode_text(observation, self.vocab, self.max_tokens), action_masks=mask,
                                       deterministic=True)
        return commands[int(action)]

    def save(self, path: Path) -> None:
        self.model.save(str(path))

    def load(self, path: Path) -> None:
        from sb3_contrib import MaskablePPO

        self.model = MaskablePPO.load(str(path))

"""StarlingEnv: one compiled game as a ``gymnasium.Env`` with text observations and actions."""

from __future__ import annotations

import string
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from .engine import MAX_COMMAND_CHARS, Engine, Snapshot

MAX_OBSERVATION_CHARS = 1 << 15
CHARSET = string.printable  # game text is printable ASCII (newlines included)
DEFAULT_INFO = ("admissible_commands", "score", "max_score", "won", "lost", "moves", "objective", "game_id")
EXTRA_INFO = ("walkthrough", "facts", "inventory", "location", "description", "intermediate_reward", "policy_commands")


def text_space(max_length: int) -> spaces.Text:
    return spaces.Text(max_length=max_length, min_length=0, charset=CHARSET)


class TextGameEnv(gym.Env):
    """What every text-game env here shares: the options' checks, Text spaces, and rendering the transcript.

    Subclasses keep ``self.transcript`` as (command, observation) pairs ("" command for the reset) and call
    :meth:`_render_step` after each reset and step.
    """

    metadata = {"render_modes": ["ansi", "human"], "render_fps": 4}

    def _configure(self, extra_info: tuple[str, ...] | list[str], valid_extra_info: tuple[str, ...],
                   max_episode_steps: int | None, render_mode: str | None) -> None:
        """Check and set the options every env takes (a clear ValueError for each bad one), and the spaces."""
        unknown = sorted(set(extra_info) - set(valid_extra_info))
        if unknown:
            raise ValueError(f"unknown extra_info {unknown}; valid names: {list(valid_extra_info)}")
        if render_mode not in (None, *self.metadata["render_modes"]):
            raise ValueError(f"render_mode must be one of {self.metadata['render_modes']} or None, not {render_mode!r}")
        if max_episode_steps is not None and max_episode_steps < 1:
            raise ValueError("max_episode_steps must be at least 1")
        self.extra_info = tuple(extra_info)
        self.max_episode_steps = max_episode_steps
        self.render_mode = render_mode
        self.observation_space = text_space(MAX_OBSERVATION_CHARS)
        self.action_space = text_space(MAX_COMMAND_CHARS * 4)
        self.transcript: list[tuple[str, str]] = []  # (command, observation); "" command for the reset

    def render(self) -> str | None:
        if self.render_mode is None:
            gym.logger.warn("render() called without a render_mode; pass render_mode='ansi' or 'human'")
            return None
        command, obs = self.transcript[-1] if self.transcript else ("", "")
        text = (f"> {command}\n" if command else "") + obs + "\n"
        if self.render_mode == "human":
            print(text)
            return None
        return text

    def _render_step(self) -> None:
        if self.render_mode == "human":
            self.render()


class StarlingEnv(TextGameEnv):
    """A STARLING game: observations and actions are text, the reward is the score gained.

    Args:
        game: a game folder (holding ``game.z8`` and ``game.json``), a game id of a registered
            collection (the shipped benchmark, ``register_games`` paths, ``$STARLING_COLLECTIONS``),
            or a TextWorld story file (``<name>.z8`` beside its ``<name>.json``).
        max_episode_steps: steps after which an episode is truncated (None: never). Through
            ``gymnasium.make`` this is Gymnasium's own ``max_episode_steps`` (a TimeLimit, default 100).
        extra_info: more ``info`` keys, from ``EXTRA_INFO`` (the walkthrough only when asked for).
        admissible: include ``info["admissible_commands"]`` (turn off for speed).
        render_mode: ``"ansi"`` (``render()`` returns the last exchange) or ``"human"`` (printed).
    """

    valid_extra_info: tuple[str, ...] = EXTRA_INFO  # envs over other engines may offer fewer

    def __init__(self, game: str | Path, max_episode_steps: int | None = 100, extra_info: tuple[str, ...] | list[str] = (),
                 admissible: bool = True, render_mode: str | None = None):
        self._configure(extra_info, self.valid_extra_info, max_episode_steps, render_mode)
        from ..registration import find_game  # late import: registration imports this module lazily

        self.game_dir: Path | None = None  # the game's folder in a collection (None for a bare story file)
        if Path(game).is_file():
            self.story_file = Path(game).resolve()
            self.game_id = self.story_file.stem
        else:
            self.game_dir = find_game(game)
            self.story_file, self.game_id = self.game_dir / "game.z8", self.game_dir.name
        self.admissible = admissible
        self.engine = self._make_engine()
        self._steps = 0
        self._done = True
        self._policy_length: int | None = None

    # -- gymnasium API -------------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[str, dict]:
        super().reset(seed=seed)
        obs = self.engine.reset(seed=self._engine_seed(seed))
        self._steps, self._done = 0, False
        self._policy_length = self._length(self.engine.policy)
        self.transcript = [("", obs)]
        info = self._info(intermediate_reward=0)
        self._render_step()
        return self._clip(obs), info

    def step(self, action: str) -> tuple[str, float, bool, bool, dict]:
        if self._done:
            raise gym.error.ResetNeeded("the episode has ended (terminated or truncated): call reset() before step()")
        previous = self.engine.score
        obs = self.engine.step(str(action))
        self._steps += 1
        terminated = self.engine.won or self.engine.lost
        truncated = not terminated and self.max_episode_steps is not None and self._steps >= self.max_episode_steps
        self._done = terminated or truncated
        self.transcript.append((str(action), obs))
        info = self._info(intermediate_reward=self._intermediate_reward())
        self._render_step()
        return self._clip(obs), float(self.engine.score - previous), terminated, truncated, info

    def close(self) -> None:
        self.engine.close()
        super().close()

    @property
    def card(self) -> dict[str, Any]:
        """The EpisodeRecord fields that describe this game (env id, game id, skills, difficulty, split)."""
        from ..records import game_card

        if self.game_dir is None:
            return {"env_id": getattr(self.spec, "id", None) or f"starling/{self.game_id}", "game_id": self.game_id,
                    "skills": [], "difficulty": None, "split": None}
        return game_card(self.game_dir)

    def walkthrough(self) -> list[str]:
        """The commands that win the game (``info["walkthrough"]``)."""
        return list(self.engine.game.metadata.get("walkthrough", []))

    # -- branching -------------------------------------------------------------------------------
    def get_state(self) -> tuple:
        """An opaque snapshot of the episode (game memory, logic state, counters); cheap (~tens of µs)."""
        return (self.engine.snapshot(), self._steps, self._done, self._policy_length, list(self.transcript))

    def set_state(self, state: tuple) -> None:
        """Return to a snapshot taken by :meth:`get_state` on this env (any number of times)."""
        snap, self._steps, self._done, self._policy_length, transcript = state
        if not isinstance(snap, Snapshot):
            raise TypeError("set_state expects a value returned by get_state()")
        if not self.transcript:  # a fresh env: start the interpreter before restoring into it
            self.engine.reset()
        self.engine.restore(snap)
        self.transcript = list(transcript)

    # -- helpers -----------------------------------------------------------------------------------
    def _engine_seed(self, seed: int | None) -> int | None:
        """The seed the interpreter is reset with (TextWorld games: the reset seed, if any)."""
        return seed

    def _make_engine(self) -> Engine:
        """The interpreter of ``self.story_file`` (subclasses over other engines override this)."""
        return Engine(
            self.story_file,
            track_quests=bool({"intermediate_reward", "policy_commands"} & set(self.extra_info)),
            extras=tuple(e for e in ("description", "inventory") if e in self.extra_info),
        )

    def _info(self, intermediate_reward: int) -> dict[str, Any]:
        engine = self.engine
        info: dict[str, Any] = {
            "score": engine.score, "max_score": engine.max_score, "won": engine.won, "lost": engine.lost,
            "moves": engine.moves, "objective": engine.objective, "game_id": self.game_id,
        }
        if self.admissible:
            info["admissible_commands"] = engine.admissible_commands()
        for name in self.extra_info:
            if name == "walkthrough":
                info[name] = self.walkthrough()
            elif name == "facts":
                info[name] = engine.facts()
            elif name == "location":
                info[name] = engine.location()
            elif name in ("description", "inventory"):
                info[name] = engine.extra_values.get(name)
            elif name == "policy_commands":
                info[name] = engine.policy_commands()
            elif name == "intermediate_reward":
                info[name] = intermediate_reward
        return info

    def _intermediate_reward(self) -> int:
        """TextWorld's shaping signal, without its crash when the winning policy is lost."""
        if self.engine.won:
            return 1
        if self.engine.lost:
            return -1
        before, self._policy_length = self._policy_length, self._length(self.engine.policy)
        if before is None or self._policy_length is None:
            return 0
        return int(np.sign(before - self._policy_length))

    @staticmethod
    def _length(policy: tuple | None) -> int | None:
        return None if policy is None else len(policy)

    @staticmethod
    def _clip(obs: str) -> str:
        return obs[:MAX_OBSERVATION_CHARS]

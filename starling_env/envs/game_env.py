"""StarlingEnv: one compiled game as a ``gymnasium.Env`` with text observations and actions."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from .engine import Engine, Snapshot
from .text_env import DEFAULT_MAX_STEPS, MAX_OBSERVATION_CHARS, TextGameEnv

ENGINES = ("inform7", "native")  # what plays a game: the Inform 7 story file, or the native engine


class StarlingEnv(TextGameEnv):
    """A STARLING game: observations and actions are text, the reward is the score gained.

    Args:
        game: a game folder (holding ``game.z8`` and ``game.json``), a game id of a registered
            collection (the shipped benchmark, ``register_games`` paths, ``$STARLING_COLLECTIONS``),
            or a TextWorld story file (``<name>.z8`` beside its ``<name>.json``).
        max_episode_steps: steps after which an episode is truncated (None: never). Through
            ``gymnasium.make`` this is Gymnasium's own ``max_episode_steps`` (a TimeLimit, default
            ``DEFAULT_MAX_STEPS``) and the env's own limit is off.
        extra_info: more ``info`` keys, from ``valid_extra_info`` (the walkthrough only when asked for).
        admissible: include ``info["admissible_commands"]`` (turn off for speed).
        render_mode: ``"ansi"`` (``render()`` returns the last exchange) or ``"human"`` (printed).
        self_check: after every step, check that the game's score is the points of the goals the logic has
            seen met and that the game is won exactly when all are; a disagreement raises
            :class:`~starling_env.envs.engine.DesyncError` naming the command (cheap: on by default).
        engine: ``"inform7"`` (the story file in jericho, the reference) or ``"native"`` (the same game
            played from its spec and ground logic, tens of times faster, proved equal by ``starling verify
            --engine-diff``; needs the game's ``spec.json``). See :data:`ENGINES`.
    """

    valid_extra_info: tuple[str, ...] = (
        "walkthrough",
        "facts",
        "inventory",
        "location",
        "description",
        "intermediate_reward",
        "policy_commands",
        "action_taken",
    )

    def __init__(
        self,
        game: str | Path,
        max_episode_steps: int | None = DEFAULT_MAX_STEPS,
        extra_info: tuple[str, ...] | list[str] = (),
        admissible: bool = True,
        render_mode: str | None = None,
        self_check: bool = True,
        engine: str = "inform7",
    ):
        self._configure(extra_info, max_episode_steps, render_mode, admissible)
        self.self_check = self_check
        if engine not in ENGINES:
            raise ValueError(f"engine must be one of {', '.join(ENGINES)}, not {engine!r}")
        self.engine_name = engine
        from ..registration import find_game  # late import: registration imports this module lazily

        self.game_dir: Path | None = None  # the game's folder in a collection (None for a bare story file)
        if Path(game).is_file():
            if engine == "native" and not Path(game).with_name("spec.json").exists():
                raise ValueError(f"engine='native' plays a game from its spec: {game} has no spec.json beside it")
            self.story_file = Path(game).resolve()
            self.game_id = self.story_file.stem
        else:
            self.game_dir = find_game(game)
            self.story_file, self.game_id = self.game_dir / "game.z8", self.game_dir.name
        self.engine = self._make_engine()
        self._policy_length: int | None = None
        self._shaping = "intermediate_reward" in self.extra_info
        self._intermediate_reward = 0

    # -- gymnasium API -------------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[str, dict]:
        super().reset(seed=seed)
        obs = self.engine.reset(seed=self._engine_seed(seed))
        self._steps, self._done = 0, False
        self._policy_length = self._length(self.engine.policy)
        self._intermediate_reward = 0
        self.transcript = [("", obs)]
        info = self._info()
        self._render_step()
        return self._clip(obs), info

    def step(self, action: str) -> tuple[str, float, bool, bool, dict]:
        self._check_running()
        engine, command = self.engine, str(action)
        previous = engine.score
        obs = engine.step(command)
        terminated = engine.won or engine.lost
        truncated = self._end_step(terminated)
        self.transcript.append((command, obs))
        if self._shaping:  # asked for (it reads the winning policy, tracked only then)
            self._intermediate_reward = self._shaping_signal()
        info = self._info()
        self._render_step()
        return self._clip(obs), float(engine.score - previous), terminated, truncated, info

    def close(self) -> None:
        self.engine.close()
        super().close()

    @property
    def card(self) -> dict[str, Any]:
        """The EpisodeRecord fields that describe this game (env id, game id, skills, difficulty, split)."""
        from ..collection.manifest import game_card

        if self.game_dir is None:
            return {
                "env_id": getattr(self.spec, "id", None) or f"starling/{self.game_id}",
                "game_id": self.game_id,
                "skills": [],
                "difficulty": None,
                "split": None,
            }
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
            from ..native.engine import NativeSnapshot  # imported when needed: import starling_env stays fast

            if not isinstance(snap, NativeSnapshot):
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
        make = Engine
        if self.engine_name == "native":
            from ..native.engine import NativeEngine  # imported when used: import starling_env stays fast

            make = NativeEngine  # type: ignore[assignment]  # the same interface (duck-typed)
        return make(
            self.story_file,
            track_quests=bool({"intermediate_reward", "policy_commands"} & set(self.extra_info)),
            extras=tuple(e for e in ("description", "inventory") if e in self.extra_info),
            self_check=self.self_check,
        )

    def _base_info(self) -> dict[str, Any]:
        engine = self.engine
        return {
            "score": engine.score,
            "max_score": engine.max_score,
            "won": engine.won,
            "lost": engine.lost,
            "moves": engine.moves,
            "objective": engine.objective,
            "game_id": self.game_id,
        }

    def _admissible_commands(self) -> list[str]:
        return self.engine.admissible_commands()

    def _extra_sources(self) -> dict[str, Callable[[], Any]]:
        engine = self.engine
        return {
            "walkthrough": self.walkthrough,
            "facts": lambda: engine.facts(),
            "location": lambda: engine.location(),
            "description": lambda: engine.extra_values.get("description"),
            "inventory": lambda: engine.extra_values.get("inventory"),
            "policy_commands": lambda: engine.policy_commands(),
            "intermediate_reward": lambda: self._intermediate_reward,
            "action_taken": lambda: engine.acted,
        }

    def _shaping_signal(self) -> int:
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

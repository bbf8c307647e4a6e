"""``starling/ScienceWorld-v0``: the 30 ScienceWorld tasks with the StarlingEnv contract.

ScienceWorld (Wang et al., 2022, https://github.com/allenai/ScienceWorld) is a text simulator of
elementary-school science tasks (boil water, build a circuit, grow a plant...), written in Scala and
driven from Python over py4j. It needs the ``targets`` extra (``pip install '.[targets]'``)
and a Java runtime (17 is tested; ScienceWorld asks for 1.8 or later).

Differences from ScienceWorld's own Python API, all on purpose:

- ``reset`` loads the drawn variation directly (``load`` takes ~0.03-0.2 s; ScienceWorld's ``reset``
  reloads and re-plans the gold path, ~0.3-0.6 s) and one JVM serves every episode of an env;
- ``step`` asks the simulator only for what the info dict needs (ScienceWorld's ``step`` always computes
  look, inventory and up to ~1,000 valid actions): ~5-25 ms a step without admissible commands, ~35-85 ms
  with them (measured on a busy 2-core machine; the valid actions are most of the cost);
- a failed task (focusing on the wrong object, killing the plant...) ends the episode with ``lost``;
  ScienceWorld scores it -100 and we report 0 (see :class:`ScienceWorldEnv`);
- ScienceWorld's own step limit is off: truncation is Gymnasium's TimeLimit (``max_episode_steps``);
- reproducible: see "Determinism" in :class:`ScienceWorldEnv`.
"""

from __future__ import annotations

import atexit
import contextlib
import numbers
import os
import shutil
import subprocess
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gymnasium as gym

from ..envs.engine import ascii_fold, clean_command
from ..envs.text_env import CHARSET, DEFAULT_MAX_STEPS, MAX_OBSERVATION_CHARS, TextGameEnv

ENV_ID = "starling/ScienceWorld-v0"
MAX_SCORE = 100
SPLITS = ("train", "dev", "test", "all")
SIMPLIFICATIONS = (
    "easy",
    "teleportAction",
    "selfWateringFlowerPots",
    "openContainers",
    "openDoors",
    "noElectricalAction",
)
EXTRA_INFO = ("walkthrough", "description", "inventory", "goal_progress")
INSTALL_HINT = (
    "ScienceWorld needs the 'targets' extra and Java: pip install '.[targets]' in the checkout "
    "(or pip install 'scienceworld>=1.1'), and a Java runtime 1.8+ on PATH "
    "(e.g. apt-get install openjdk-17-jre-headless)"
)
NO_MATCH = "No known action matches that input."
# Identity hash codes all 1: ScienceWorld keeps objects in hash sets keyed by identity, so without this their
# iteration order (the order of doors in "look in", the wording ScienceWorld picks for look-alike objects in its
# valid actions, the numbering of "Ambiguous request" choices) depends on everything the JVM did before.
DETERMINISTIC_JVM_OPTIONS = "-XX:+UnlockExperimentalVMOptions -XX:hashCode=2"
_LCG_MULTIPLIER = 0x5DEECE66D  # java.util.Random: setSeed(s) stores s ^ multiplier
_ALLOWED = frozenset(CHARSET)


def _import_scienceworld():
    try:
        import scienceworld
    except ImportError as error:  # pragma: no cover - exercised only without the extra
        raise ImportError(f"the scienceworld package is missing. {INSTALL_HINT}") from error
    return scienceworld


def java_available() -> bool:
    return shutil.which("java") is not None


def task_table() -> list[dict[str, str]]:
    """Every ScienceWorld task: ``task_id`` ("1-1"), ``task_name`` ("boil"), ``topic``, ``task`` (title)."""
    _import_scienceworld()
    from scienceworld.constants import TASKS

    return [dict(t) for t in TASKS]


def resolve_task(task: str) -> str:
    """A task name ("boil"), id ("1-1") or paper title ("Matter Changes of State (Boiling)") -> its name."""
    _import_scienceworld()
    from scienceworld.constants import ID2TASK
    from scienceworld.utils import infer_task

    name = infer_task(str(task).strip())
    if name not in ID2TASK.values():
        valid = ", ".join(f"{i} {n}" for i, n in ID2TASK.items())
        raise ValueError(f"unknown ScienceWorld task {task!r}; valid tasks (id name): {valid}")
    return name


def clean_text(text: str) -> str:
    """Simulator text restricted to the observation space's charset (printable ASCII, tabs and newlines)."""
    text = ascii_fold(text)
    return "".join(c for c in text if c in _ALLOWED).strip()[:MAX_OBSERVATION_CHARS]


# -- the JVMs of live envs, shut down at interpreter exit ----------------------------------------
_LIVE: weakref.WeakSet[ScienceWorldEnv] = weakref.WeakSet()


def _close_all() -> None:
    for env in list(_LIVE):
        with contextlib.suppress(Exception):  # best effort at exit
            env.close()


atexit.register(_close_all)


def _shutdown(sw: Any, timeout: float = 10.0) -> None:
    """Stop a ScienceWorld instance's gateway and wait for its JVM to exit (killed if it lingers)."""
    proc = getattr(getattr(sw, "_gateway", None), "java_process", None)
    with contextlib.suppress(Exception):  # the JVM may be gone already
        sw.close()
    sw.close = lambda: None  # its __del__ calls close() again: nothing left to do
    if proc is not None:
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=timeout)


def _start_simulator(module: Any, deterministic: bool) -> Any:
    """A ``scienceworld.ScienceWorldEnv`` on a new JVM (with ``DETERMINISTIC_JVM_OPTIONS`` if asked)."""
    saved = os.environ.get("JAVA_TOOL_OPTIONS")
    if deterministic:  # py4j starts the JVM with fixed options: pass ours through the environment
        os.environ["JAVA_TOOL_OPTIONS"] = f"{saved} {DETERMINISTIC_JVM_OPTIONS}" if saved else DETERMINISTIC_JVM_OPTIONS
    try:
        return module.ScienceWorldEnv("", envStepLimit=10**9)
    finally:
        if saved is None:
            os.environ.pop("JAVA_TOOL_OPTIONS", None)
        else:
            os.environ["JAVA_TOOL_OPTIONS"] = saved


class _SimulatorRandom:
    """ScienceWorld's global ``scala.util.Random``: the simulation draws from it (wandering animals, bees...),
    and so does ScienceWorld's valid-action generator when it names look-alike objects. Reading the valid
    actions inside :meth:`fixed` leaves the simulation's random stream untouched and words them the same way
    every time, so an episode does not depend on whether (or how often) admissible commands were asked for."""

    def __init__(self, gateway: Any):
        self.jvm = gateway.jvm
        self.random = getattr(getattr(self.jvm.scala.util, "Random$"), "MODULE$")
        self.works = self._self_test()

    def _state(self) -> int:
        """The 48-bit state of the underlying java.util.Random, read through its serialized form."""
        buffer = self.jvm.java.io.ByteArrayOutputStream()
        stream = self.jvm.java.io.ObjectOutputStream(buffer)
        stream.writeObject(self.random.self())
        stream.close()
        data = bytes(buffer.toByteArray())
        fields = data[data.rindex(b"xp") + 2 :]  # haveNextNextGaussian (1 byte), nextNextGaussian (8), seed (8)
        return int.from_bytes(fields[9:17], "big")

    def _restore(self, state: int) -> None:
        self.random.setSeed(state ^ _LCG_MULTIPLIER)

    def _self_test(self) -> bool:
        try:
            state = self._state()
            first = self.random.nextInt(1 << 30)
            self._restore(state)
            works = self._state() == state and self.random.nextInt(1 << 30) == first
            self._restore(state)
            return works
        except Exception:  # noqa: BLE001 - an unexpected JVM: fall back to ScienceWorld's own behaviour
            return False

    @contextlib.contextmanager
    def fixed(self):
        if not self.works:
            yield
            return
        state = self._state()
        self.random.setSeed(0)
        try:
            yield
        finally:
            self._restore(state)


@dataclass(frozen=True)
class ScienceWorldState:
    """What :meth:`ScienceWorldEnv.get_state` returns: the episode as (variation, commands) plus counters."""

    task: str
    variation: int
    simplification: str
    commands: tuple[str, ...]  # cleaned commands sent since the reset
    transcript: tuple[tuple[str, str], ...]
    steps: int
    done: bool
    score: int
    initial_score: int
    won: bool
    lost: bool
    moves: int


class ScienceWorldEnv(TextGameEnv):
    """One ScienceWorld task as a ``gymnasium.Env``: text observations and actions, reward = score gained.

    Args:
        task: a task name ("boil"), its id ("1-1") or its paper title; default "boil". See :func:`task_table`.
        split: the variations ``reset`` draws from: "train", "dev", "test" (ScienceWorld's splits) or "all".
        variation: play this variation (an index below the task's variation count) on every reset instead of
            drawing one; ``reset(options={"variation": k})`` does the same for one episode.
        game_by_seed: ``reset(seed=s)`` plays variation ``s mod n`` of the split's ``n`` variations (sorted)
            instead of drawing one: seeds 0..n-1 play every variation of the split once (``game_ids`` lists them).
        simplification: ScienceWorld's simplification string, comma-separated names from ``SIMPLIFICATIONS``;
            default "easy", the preset ScienceWorld's README runs its example agent with, which ScienceWorld
            expands to teleportAction, openDoors, selfWateringFlowerPots and (except on the electrical tasks)
            noElectricalAction. "" plays the full game.
        max_episode_steps: steps after which an episode is truncated (None: never). Through ``gymnasium.make``
            this is Gymnasium's own TimeLimit (default 100).
        extra_info: more ``info`` keys, from ``EXTRA_INFO`` (= ``valid_extra_info``): ``walkthrough``
            (ScienceWorld's gold action sequence for the variation; generating it costs 0.1-6 s per new
            variation, cached per env), ``description`` (look around), ``inventory``, ``goal_progress``
            (ScienceWorld's subgoal table).
        admissible: include ``info["admissible_commands"]``: ScienceWorld's valid action-object combinations,
            deduplicated and sorted (about 80-1,100 commands; +25-65 ms a step). Turn off for speed.
        render_mode: "ansi" (``render()`` returns the last exchange) or "human" (printed).
        deterministic: start the JVM with ``DETERMINISTIC_JVM_OPTIONS`` (see Determinism); False is faster
            on object-heavy tasks but may reorder some texts between episodes of one env.

    Scores. ScienceWorld scores 0-100 and reports -100 once a task is failed. Here ``info["score"]`` stays in
    0..100 (``max_score`` = 100): a failure sets ``lost`` and the score to 0, so the reward of the failing step
    is minus the points held, the rewards of an episode sum to its final score minus the score at reset
    (some tasks give points for the starting position; ``reset`` reports them), and normalized scores stay in
    [0, 1] like every STARLING env. ``won``: ScienceWorld says the task is completed (score 100).
    ``terminated`` = won or lost.

    Determinism. ``reset(seed=s)`` draws the variation from the split with the env's RNG, so a seed fixes the
    variation sequence. ScienceWorld reseeds its random generator with the variation on every load, but three
    things would still make an episode depend on history: (1) it keeps objects in identity-hash sets, so the
    order of some texts and the wording it picks for look-alike objects in its valid actions change from one
    episode to the next in the same JVM - fixed by ``deterministic=True`` (identity hash codes all equal:
    up to ~2x slower steps, measured on boil); (2) its valid-action generator draws from the
    simulation's random generator - fixed by reading valid actions (and the extra infos) with that generator
    saved and restored (``_SimulatorRandom``); (3) its gold-path planner is random for some tasks - the
    walkthrough of a variation is planned once per env and cached. With these, the same seed and commands give
    the same transcript, admissible commands included, in any env.

    The reset observation is the task description, a blank line, then what "look around" shows.
    """

    valid_extra_info = EXTRA_INFO

    def __init__(
        self,
        task: str = "boil",
        split: str = "test",
        variation: int | None = None,
        simplification: str = "easy",
        max_episode_steps: int | None = DEFAULT_MAX_STEPS,
        extra_info: tuple[str, ...] | list[str] = (),
        admissible: bool = True,
        render_mode: str | None = None,
        deterministic: bool = True,
        game_by_seed: bool = False,
    ):
        self._configure(extra_info, max_episode_steps, render_mode, admissible)
        if split not in SPLITS:
            raise ValueError(f"split must be one of {list(SPLITS)}, not {split!r}")
        parts = [p.strip() for p in str(simplification or "").split(",") if p.strip()]
        bad = [p for p in parts if p not in SIMPLIFICATIONS]
        if bad:
            raise ValueError(f"unknown simplification(s) {bad}; valid: {list(SIMPLIFICATIONS)} (comma-separated)")
        if variation is not None and (not isinstance(variation, numbers.Integral) or variation < 0):
            raise ValueError(f"variation must be a non-negative int or None, not {variation!r}")
        _import_scienceworld()
        if not java_available():
            raise RuntimeError(f"no 'java' on PATH. {INSTALL_HINT}")
        self.task = resolve_task(task)
        if "noElectricalAction" in parts and ("power-component" in self.task or "conductivity" in self.task):
            raise ValueError(f"task {self.task!r} needs electrical actions: drop 'noElectricalAction'")
        self.split = split
        self.fixed_variation = None if variation is None else int(variation)
        self.simplification = ",".join(parts)
        self.deterministic = deterministic
        self.game_by_seed = game_by_seed

        self._sw: Any = None  # scienceworld.ScienceWorldEnv: started on the first reset, reused after
        self._random: _SimulatorRandom | None = None
        self._variations: dict[str, list[int]] = {}
        self._max_variations = 0
        self._gold: dict[tuple[str, int, str], list[str]] = {}
        self.startup_s: float | None = None  # seconds the JVM took to start (measured)
        self.variation: int | None = None
        self.objective = ""
        self._commands: list[str] = []
        self._score = self._initial_score = self._moves = 0
        self._won = self._lost = False

    # -- the simulator -----------------------------------------------------------------------------
    def _server(self) -> Any:
        if self._sw is None:
            import time

            module = _import_scienceworld()
            started = time.perf_counter()
            try:
                sw = _start_simulator(module, self.deterministic)
            except Exception as error:
                raise RuntimeError(f"could not start ScienceWorld's JVM ({error}). {INSTALL_HINT}") from error
            self._sw = sw
            _LIVE.add(self)
            self._random = _SimulatorRandom(sw._gateway)
            if not self._random.works:
                gym.logger.warn(
                    "ScienceWorld: cannot save its random state; admissible commands may perturb the episode"
                )
            sw.load(self.task, 0, self.simplification)
            self.startup_s = round(time.perf_counter() - started, 3)
            server = sw.server
            self._variations = {
                "train": list(server.getVariationsTrain()),
                "dev": list(server.getVariationsDev()),
                "test": list(server.getVariationsTest()),
            }
            self._max_variations = int(server.getTaskMaxVariations(self.task))
            self._variations["all"] = list(range(self._max_variations))
        return self._sw.server

    def _load(self, variation: int, gold: bool | None = None) -> str:
        """Start ``variation`` afresh (planning its gold path if asked and not cached); return "look around"."""
        server = self._server()
        if not 0 <= variation < self._max_variations:
            raise ValueError(f"task {self.task!r} has variations 0..{self._max_variations - 1}, not {variation}")
        key = (self.task, variation, self.simplification)
        gold = ("walkthrough" in self.extra_info if gold is None else gold) and key not in self._gold
        self._sw.load(self.task, variation, self.simplification, generateGoldPath=gold)
        if gold:
            self._gold[key] = [str(c) for c in server.getGoldActionSequence()]
        self.variation = variation
        self.objective = clean_text(server.getTaskDescription())
        self._commands = []
        return str(server.step("look around"))

    def _send(self, command: str) -> str:
        from py4j.protocol import Py4JJavaError

        try:
            return str(self._sw.server.step(command))
        except Py4JJavaError:  # a parser exception inside the simulator: the command means nothing
            return NO_MATCH

    def _read_score(self) -> None:
        server = self._sw.server
        raw = round(100 * float(server.getScore()))
        self._lost = raw < 0
        self._won = bool(server.getCompleted()) and not self._lost
        self._score = max(raw, 0)
        self._moves = int(server.getNumMoves())

    # -- gymnasium API -------------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[str, dict]:
        super().reset(seed=seed)
        options = options or {}
        self._server()
        variation = options.get("variation", self.fixed_variation)
        if variation is None and self.game_by_seed and seed is not None:
            pool = sorted(self._variations[self.split])
            variation = int(pool[seed % len(pool)])
        elif variation is None:
            pool = self._variations[self.split]
            variation = int(pool[int(self.np_random.integers(len(pool)))])
        look = self._load(int(variation))
        self._read_score()
        self._initial_score = self._score
        self._steps, self._done = 0, False
        obs = clean_text(f"{self.objective}\n\n{look}")
        self.transcript = [("", obs)]
        info = self._info()
        self._render_step()
        return obs, info

    def step(self, action: str) -> tuple[str, float, bool, bool, dict]:
        self._check_running()
        command = clean_command(action)
        previous = self._score
        obs = clean_text(self._send(command))
        self._commands.append(command)
        self._read_score()
        terminated = self._won or self._lost
        truncated = self._end_step(terminated)
        self.transcript.append((str(action), obs))
        info = self._info()
        self._render_step()
        return obs, float(self._score - previous), terminated, truncated, info

    def close(self) -> None:
        """Shut the JVM down (waits for the java process to exit). The env can be reset again after."""
        sw, self._sw, self._random = self._sw, None, None
        _LIVE.discard(self)
        if sw is not None:
            _shutdown(sw)
        self._done = True
        super().close()

    @property
    def jvm_pid(self) -> int | None:
        """The process id of this env's JVM (None before the first reset and after close)."""
        proc = getattr(getattr(self._sw, "_gateway", None), "java_process", None)
        return None if proc is None else proc.pid

    @property
    def game_id(self) -> str:
        return self.task if self.variation is None else f"{self.task}-{self.variation}"

    @property
    def game_ids(self) -> list[str]:
        """The games ``reset`` chooses from: the split's variations, sorted (starts the simulator)."""
        if self.fixed_variation is not None:
            return [f"{self.task}-{self.fixed_variation}"]
        self._server()
        return [f"{self.task}-{v}" for v in sorted(self._variations[self.split])]

    @property
    def card(self) -> dict[str, Any]:
        """The EpisodeRecord fields that describe this game (env id, game id, skills, difficulty, split)."""
        split = self.split
        if self.variation is not None and self._variations:
            split = next((s for s in ("train", "dev", "test") if self.variation in self._variations[s]), split)
        env_id = self.spec.id if self.spec is not None else ENV_ID
        return {"env_id": env_id, "game_id": self.game_id, "skills": [], "difficulty": None, "split": split}

    @property
    def walkthrough(self) -> list[str]:
        """ScienceWorld's gold action sequence for the current variation (generated on first use, cached)."""
        if self.variation is None:
            raise RuntimeError("call reset() first")
        key = (self.task, self.variation, self.simplification)
        if key not in self._gold:  # plan it on a fresh load, then come back to the episode by replaying it
            state = self.get_state()
            self._load(self.variation, gold=True)
            self._replay(state)
        return list(self._gold[key])

    # -- branching -------------------------------------------------------------------------------
    def get_state(self) -> ScienceWorldState:
        """A snapshot of the episode. ScienceWorld cannot save its simulator, so a state is the variation plus
        the commands sent; it is cheap to take (a copy of the command list)."""
        if self.variation is None:
            raise RuntimeError("call reset() before get_state()")
        return ScienceWorldState(
            task=self.task,
            variation=self.variation,
            simplification=self.simplification,
            commands=tuple(self._commands),
            transcript=tuple(self.transcript),
            steps=self._steps,
            done=self._done,
            score=self._score,
            initial_score=self._initial_score,
            won=self._won,
            lost=self._lost,
            moves=self._moves,
        )

    def set_state(self, state: ScienceWorldState) -> None:
        """Return to a snapshot of :meth:`get_state` by replaying: from the current episode when it is a prefix
        of the snapshot (a few ms a command), else from a fresh load of the variation (+0.03-0.2 s). Each
        replayed observation is checked against the recorded one: a difference raises RuntimeError (with
        ``deterministic=False``, where ScienceWorld may reorder texts, it only warns)."""
        if not isinstance(state, ScienceWorldState):
            raise TypeError("set_state expects a value returned by get_state()")
        if (state.task, state.simplification) != (self.task, self.simplification):
            raise ValueError(
                f"state of {state.task!r}/{state.simplification!r}, env plays {self.task!r}/{self.simplification!r}"
            )
        self._replay(state)

    def _replay(self, state: ScienceWorldState) -> None:
        done = len(self._commands)
        prefix = (
            self._sw is not None
            and self.variation == state.variation
            and done <= len(state.commands)
            and tuple(self._commands) == state.commands[:done]
        )
        if not prefix:
            self._load(state.variation)
            done = 0
        for i in range(done, len(state.commands)):
            obs = clean_text(self._send(state.commands[i]))
            self._commands.append(state.commands[i])
            if i + 1 < len(state.transcript) and obs != state.transcript[i + 1][1]:
                message = f"ScienceWorld replay diverged at command {i + 1} ({state.commands[i]!r})"
                if self.deterministic:
                    raise RuntimeError(message)
                gym.logger.warn(message + " (deterministic=False: texts may be reordered)")
        self.transcript = list(state.transcript)
        self._steps, self._done = state.steps, state.done
        self._score, self._initial_score, self._won, self._lost, self._moves = (
            state.score,
            state.initial_score,
            state.won,
            state.lost,
            state.moves,
        )

    # -- helpers -----------------------------------------------------------------------------------
    def admissible_commands(self) -> list[str]:
        """ScienceWorld's valid action-object combinations in this state, deduplicated and sorted."""
        if self._sw is None:
            raise RuntimeError("call reset() first")
        with self._reading_info():
            return self._admissible_commands()

    # -- the info contract (TextGameEnv) -----------------------------------------------------------
    def _base_info(self) -> dict[str, Any]:
        return {
            "score": self._score,
            "max_score": MAX_SCORE,
            "won": self._won,
            "lost": self._lost,
            "moves": self._moves,
            "objective": self.objective,
            "game_id": self.game_id,
        }

    def _admissible_commands(self) -> list[str]:
        return sorted({clean_command(c) for c in self._sw.server.getValidActionObjectCombinations()} - {""})

    def _extra_sources(self) -> dict[str, Callable[[], Any]]:
        server = self._sw.server

        def walkthrough() -> list[str]:
            assert self.variation is not None, "info is read after reset(), which loads a variation"
            return list(self._gold[(self.task, self.variation, self.simplification)])

        return {
            "walkthrough": walkthrough,
            "description": lambda: clean_text(server.freeActionLook()),
            "inventory": lambda: clean_text(server.freeActionInventory()),
            "goal_progress": lambda: clean_text(server.getGoalProgressStr()),
        }

    def _reading_info(self) -> contextlib.AbstractContextManager[None]:
        assert self._random is not None, "info is read after reset(), which starts the simulator"
        return self._random.fixed()  # nothing read for the info may change the episode

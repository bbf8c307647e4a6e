"""StarlingVectorEnv: many envs in a few worker processes pinned to CPUs, behind Gymnasium's VectorEnv API.

Gymnasium's ``AsyncVectorEnv`` runs one process per env and steps them in lockstep, so every vector
step waits for the slowest env. A text game's step time is uneven (in the seed games ``look`` costs
the interpreter about 1.5 ms, ``inventory`` 0.2 ms), which leaves cores idle; with more envs than cores
the processes also compete for the cores. Here each worker process runs its share of the envs one
after the other (a sum of steps varies less than one step, so the lockstep costs less), one message per
worker carries all its envs' actions or results, and each worker is pinned to its own CPU (the Linux
scheduler otherwise sometimes stacks two busy workers on one core and leaves the other idle).

Each env behaves exactly as it would alone: the same seeds give the same episodes as ``SyncVectorEnv``
and ``AsyncVectorEnv``, whatever the number of workers.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import multiprocessing.connection
import os
import pickle
import signal
import time
import traceback
from collections.abc import Callable, Sequence
from copy import deepcopy
from functools import partial
from multiprocessing.connection import Connection
from typing import Any, SupportsFloat, cast

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import (
    CloudpickleWrapper,
    batch_space,
    concatenate,
    create_empty_array,
    iterate,
)


def available_cpus() -> list[int]:
    """The CPUs this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return sorted(os.sched_getaffinity(0))
    return list(range(os.cpu_count() or 1))


class StarlingVectorEnv(VectorEnv):
    """``len(env_fns)`` envs in ``workers`` processes (default: one per available CPU, at most one per env).

    Envs are split into contiguous groups, one per worker, so env ``i``'s results are at index ``i``.
    ``pin_cpus`` pins each worker to one CPU (Linux; ignored elsewhere and with a single worker); the
    first CPU is offset by the process id so that several programs on one machine spread out.
    ``autoreset_mode`` is Gymnasium's (``NEXT_STEP`` by default, ``SAME_STEP`` and ``DISABLED`` too);
    ``context`` is a multiprocessing start method (default: the platform's). ``timeout`` (seconds) bounds
    every call: a worker that does not answer in time (a game stuck in a loop) is killed, the vector env
    closes and ``TimeoutError`` is raised; the default waits forever. Errors in an env are
    raised here with the worker's traceback attached; the other envs are unaffected.
    """

    def __init__(
        self,
        env_fns: Sequence[Callable[[], gym.Env]],
        workers: int | None = None,
        *,
        pin_cpus: bool = True,
        autoreset_mode: AutoresetMode | str = AutoresetMode.NEXT_STEP,
        context: str | None = None,
        timeout: float | None = None,
    ):
        if not env_fns:
            raise ValueError("StarlingVectorEnv needs at least one env function")
        self.num_envs = len(env_fns)
        cpus = available_cpus()
        workers = min(self.num_envs, workers or len(cpus))
        if workers < 1:
            raise ValueError(f"workers must be at least 1, not {workers}")
        self.autoreset_mode = AutoresetMode(autoreset_mode)
        self.timeout = timeout
        self.groups = [[int(i) for i in group] for group in np.array_split(np.arange(self.num_envs), workers)]
        self.closed = False
        self._start_workers(env_fns, pin_cpus and workers > 1 and hasattr(os, "sched_setaffinity"), context)
        try:
            described = self._gather()  # each worker describes its first env once all of its envs are made
            if any(other[2:] != described[0][2:] for other in described[1:]):
                raise ValueError("all envs of a StarlingVectorEnv need the same observation and action spaces")
        except BaseException:
            self.close_extras()
            raise
        metadata, render_mode, self.single_observation_space, self.single_action_space = described[0]
        self.metadata = {**metadata, "autoreset_mode": self.autoreset_mode}
        self.render_mode = render_mode
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)

    # -- Gymnasium's VectorEnv API --------------------------------------------------------------
    def reset(
        self, *, seed: int | Sequence[int | None] | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Any, dict[str, Any]]:
        """Reset every env (``options["reset_mask"]``: only those marked True; the others keep their state)."""
        if seed is None or isinstance(seed, int):
            seeds = [None if seed is None else seed + i for i in range(self.num_envs)]
        else:
            seeds = list(seed)
            if len(seeds) != self.num_envs:
                raise ValueError(f"{len(seeds)} seeds for {self.num_envs} envs")
        options = dict(options or {})
        mask = np.asarray(options.pop("reset_mask", np.ones(self.num_envs, dtype=bool)), dtype=bool)
        if mask.shape != (self.num_envs,) or not mask.any():
            raise ValueError(f"reset_mask must be {self.num_envs} booleans with at least one True")
        self._send("reset", [[(seeds[i], options, bool(mask[i])) for i in group] for group in self.groups])
        results, infos = self._collect()
        return self._batch([obs for obs, _ in results]), infos

    def step(self, actions: Any) -> tuple[Any, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        actions = list(iterate(self.action_space, actions))
        if len(actions) != self.num_envs:
            raise ValueError(f"{len(actions)} actions for {self.num_envs} envs")
        self._send("step", [[actions[i] for i in group] for group in self.groups])
        results, infos = self._collect()
        return (
            self._batch([r[0] for r in results]),
            np.array([r[1] for r in results], dtype=np.float64),
            np.array([r[2] for r in results], dtype=np.bool_),
            np.array([r[3] for r in results], dtype=np.bool_),
            infos,
        )

    def call(self, name: str, *args: Any, **kwargs: Any) -> tuple[Any, ...]:
        """Call method ``name`` (or read attribute ``name``) of every env; env ``i``'s result at index ``i``."""
        self._send("call", [(name, args, kwargs)] * len(self.groups))
        return tuple(r for worker in self._gather() for r in worker)

    def get_attr(self, name: str) -> tuple[Any, ...]:
        return self.call(name)

    def set_attr(self, name: str, values: Any | Sequence[Any]) -> None:
        if not isinstance(values, (list, tuple)):
            values = [values] * self.num_envs
        if len(values) != self.num_envs:
            raise ValueError(f"{len(values)} values for {self.num_envs} envs")
        self._send("set_attr", [(name, [values[i] for i in group]) for group in self.groups])
        self._gather()

    def render(self) -> tuple[Any, ...] | None:
        return self.call("render")

    def close_extras(self, **kwargs: Any) -> None:
        if getattr(self, "closed", True):
            return
        self.closed = True
        for pipe, process in zip(self._pipes, self._processes, strict=True):
            try:
                if process.is_alive():
                    pipe.send(("close", None))
                    if pipe.poll(5):
                        pipe.recv()
            except (BrokenPipeError, EOFError, OSError):
                pass
            process.join(5)
            if process.is_alive():
                process.terminate()
                process.join()
            pipe.close()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):  # at interpreter shutdown there may be nothing left to release
            self.close_extras()

    # -- plumbing -------------------------------------------------------------------------------
    def _start_workers(self, env_fns: Sequence[Callable[[], gym.Env]], pin: bool, context: str | None) -> None:
        """One process per group of envs, each answering over its pipe (and pinned to a CPU with ``pin``)."""
        cpus = available_cpus()
        offset = os.getpid() % len(cpus)
        ctx = multiprocessing.get_context(context)
        self._pipes: list[Connection] = []
        self._processes = []
        for w, group in enumerate(self.groups):
            parent, child = ctx.Pipe()
            cpu = cpus[(offset + w) % len(cpus)] if pin else None
            # typeshed's BaseContext has no Process; the context of every start method has one
            process = ctx.Process(  # type: ignore[attr-defined]
                target=_worker,
                name=f"StarlingVectorEnv-{w}",
                daemon=True,
                args=(child, parent, [CloudpickleWrapper(env_fns[i]) for i in group], cpu, self.autoreset_mode),
            )
            process.start()
            child.close()
            self._pipes.append(parent)
            self._processes.append(process)

    def _batch(self, observations: list[Any]) -> Any:
        """The observations as one batch (a new object each time: earlier batches stay as they were)."""
        space = self.single_observation_space
        # gymnasium registers concatenate(out=None) for custom spaces (create_empty_array's None);
        # its annotation leaves None out
        return concatenate(space, observations, create_empty_array(space, self.num_envs))  # type: ignore[arg-type]

    def _send(self, command: str, per_worker: list[Any]) -> None:
        if self.closed:
            raise RuntimeError("this StarlingVectorEnv is closed")
        for w, (pipe, data) in enumerate(zip(self._pipes, per_worker, strict=True)):
            try:
                pipe.send((command, data))
            except (BrokenPipeError, ConnectionResetError):
                self._worker_died(w)

    def _worker_died(self, w: int) -> None:
        process = self._processes[w]
        process.join(1)
        exitcode = process.exitcode
        self.close_extras()
        raise RuntimeError(f"StarlingVectorEnv worker {w} died (exit code {exitcode}); the vector env is closed")

    def _collect(self) -> tuple[list[tuple], dict[str, Any]]:
        """Each env's reset or step result, by env index, and their infos merged Gymnasium's way.

        A worker's infos are merged as soon as it answers, while slower workers are still stepping.
        """
        results: list[tuple] = [()] * self.num_envs
        infos: dict[str, Any] = {}

        def merge(w: int, answer: list[tuple]) -> None:
            nonlocal infos
            for i, result in zip(self.groups[w], answer, strict=True):
                results[i] = result
                infos = self._add_info(infos, result[-1], i)

        self._gather(merge)
        return results, infos

    def _gather(self, on_answer: Callable[[int, Any], None] | None = None) -> list[Any]:
        """Every worker's answer, by worker; ``on_answer(w, answer)`` runs for each as it arrives.

        The first error is raised once every worker has answered (so none is left out of step).
        """
        answers: list[Any] = [None] * len(self.groups)
        waiting = set(range(len(self.groups)))
        error = None
        deadline = None if self.timeout is None else time.monotonic() + self.timeout
        while waiting:
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            ready = self._ready(sorted(waiting), remaining)
            if not ready:
                self._timed_out(min(waiting))
            for w in ready:
                waiting.discard(w)
                ok, answers[w] = self._receive(w)
                if not ok:
                    error = error or answers[w]
                elif on_answer is not None and error is None:
                    on_answer(w, answers[w])
        if error is not None:
            exc, trace = error
            if hasattr(exc, "add_note"):
                exc.add_note(f"raised in a StarlingVectorEnv worker:\n{trace}")
            raise exc
        return answers

    def _ready(self, waiting: list[int], timeout: float | None) -> list[int]:
        """The workers among ``waiting`` that have answered, once one has or ``timeout`` seconds have passed."""
        pipes = {self._pipes[w]: w for w in waiting}
        # wait returns the subset of the given objects that is ready: here our pipes
        return [pipes[p] for p in cast(list[Connection], multiprocessing.connection.wait(list(pipes), timeout))]

    def _receive(self, w: int) -> tuple[bool, Any]:
        """Worker ``w``'s answer: (True, its result) or (False, (an exception, its traceback))."""
        try:
            return self._pipes[w].recv()
        except (EOFError, ConnectionResetError):
            self._worker_died(w)
            raise  # not reached: _worker_died raises

    def _kill_workers(self) -> None:
        for process in self._processes:
            process.kill()

    def _timed_out(self, w: int) -> None:
        self._kill_workers()
        self.close_extras()
        raise TimeoutError(
            f"StarlingVectorEnv worker {w} did not answer within {self.timeout} s; "
            f"its workers are killed and the vector env is closed"
        )


class EnvGroup:
    """A worker's envs, answering a vector env's commands (``step``, ``reset``, ``call``, ``set_attr``, ``close``)
    with Gymnasium's autoreset semantics (as in its AsyncVectorEnv worker): the loop of a worker process, or a Ray
    actor of :class:`RayVectorEnv`."""

    def __init__(self, env_fns: Sequence[Callable[[], gym.Env]], autoreset_mode: AutoresetMode):
        self.env_fns, self.autoreset_mode = list(env_fns), autoreset_mode
        self.envs: list[gym.Env] = []
        self.observations: list[Any] = [None] * len(self.env_fns)
        self.autoreset = [False] * len(self.env_fns)

    def make(self) -> tuple[bool, Any]:
        """Make the envs; answer with the first one's description (metadata, render mode, spaces)."""
        try:
            self.envs = [fn() for fn in self.env_fns]
            env = self.envs[0]
            return True, (deepcopy(env.metadata), env.render_mode, env.observation_space, env.action_space)
        except Exception as exc:  # noqa: BLE001 - sent to the vector env, which raises it
            return _error_answer(exc)

    def reply(self, command: str, data: Any) -> tuple[bool, Any]:
        """The answer to one command: (True, a result per env) or an error answer."""
        try:
            if command == "step":
                return True, [self.step(j, action) for j, action in enumerate(data)]
            if command == "reset":
                return True, [self.reset(j, *args) for j, args in enumerate(data)]
            if command == "call":
                name, args, kwargs = data
                attrs = [env.get_wrapper_attr(name) for env in self.envs]
                return True, [a(*args, **kwargs) if callable(a) else a for a in attrs]
            if command == "set_attr":
                name, values = data
                for env, value in zip(self.envs, values, strict=True):
                    env.set_wrapper_attr(name, value)
                return True, None
            if command == "close":
                for env in self.envs:
                    env.close()
                return True, None
            raise ValueError(f"unknown StarlingVectorEnv command {command!r}")
        except Exception as exc:  # noqa: BLE001 - an env's error: sent to the vector env, which raises it
            return _error_answer(exc)

    def step(self, j: int, action: Any) -> tuple:
        env = self.envs[j]
        reward: SupportsFloat
        if self.autoreset_mode == AutoresetMode.NEXT_STEP and self.autoreset[j]:
            obs, info = env.reset()
            reward, terminated, truncated = 0.0, False, False
        else:
            obs, reward, terminated, truncated, info = env.step(action)
            if self.autoreset_mode == AutoresetMode.SAME_STEP and (terminated or truncated):
                final_obs, final_info = obs, info
                obs, reset_info = env.reset()
                info = {"final_info": final_info, "final_obs": final_obs, **reset_info}
        self.autoreset[j] = bool(terminated or truncated)
        self.observations[j] = obs
        return obs, reward, terminated, truncated, info

    def reset(self, j: int, seed: int | None, options: dict, selected: bool) -> tuple:
        if not selected:  # reset_mask: this env keeps its state
            return self.observations[j], {}
        self.observations[j], info = self.envs[j].reset(seed=seed, options=options or None)
        self.autoreset[j] = False
        return self.observations[j], info


def _worker(
    pipe: Connection,
    parent: Connection,
    env_fns: list[CloudpickleWrapper],
    cpu: int | None,
    autoreset_mode: AutoresetMode,
) -> None:
    """One worker process: make its envs, then answer the parent's commands until it says close."""
    parent.close()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle; it then closes us cleanly
    if cpu is not None:
        os.sched_setaffinity(0, {cpu})
    group = EnvGroup(env_fns, autoreset_mode)
    made = group.make()
    pipe.send(made)
    if not made[0]:
        return
    while True:
        try:
            command, data = pipe.recv()
        except EOFError:  # the parent is gone
            break
        pipe.send(group.reply(command, data))
        if command == "close":
            break
    pipe.close()


def _error_answer(exc: Exception) -> tuple[bool, tuple[Exception, str]]:
    """A worker's answer for an error: the exception (a RuntimeError with its text if it cannot be
    pickled) and the worker's traceback; called inside the ``except`` block that caught it."""
    trace = traceback.format_exc()
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:  # noqa: BLE001 - any pickling failure
        exc = RuntimeError(f"{type(exc).__name__}: {exc}")
    return False, (exc, trace)


class RayVectorEnv(StarlingVectorEnv):
    """A :class:`StarlingVectorEnv` whose worker groups are Ray actors (one CPU each) on this machine or a cluster.

    ``address`` is where (``"local"``: a Ray instance started on this machine, or the one this process joined;
    else a cluster's address, see :mod:`starling_env.executors`); ``workers`` defaults to one per env, at most the
    cluster's CPUs. The same seeds give the same episodes as the other vector envs. An env's state lives in its
    actor, so an actor that dies is not restarted: the vector env closes and says which (a learner's checkpoint,
    not a restarted env, is what resumes training).
    """

    def __init__(
        self,
        env_fns: Sequence[Callable[[], gym.Env]],
        workers: int | None = None,
        *,
        address: str = "local",
        autoreset_mode: AutoresetMode | str = AutoresetMode.NEXT_STEP,
        timeout: float | None = None,
    ):
        from ..executors import start_ray

        self._ray, self._owns_ray = start_ray(address, num_cpus=len(env_fns) or 1)
        self._actors: list[Any] = []
        if workers is None:
            workers = max(1, min(len(env_fns), int(self._ray.cluster_resources().get("CPU", 1))))
        super().__init__(env_fns, workers, pin_cpus=False, autoreset_mode=autoreset_mode, timeout=timeout)

    def _start_workers(self, env_fns: Sequence[Callable[[], gym.Env]], pin: bool, context: str | None) -> None:
        actor = self._ray.remote(num_cpus=1, max_restarts=0)(EnvGroup)
        self._actors = [actor.remote([env_fns[i] for i in group], self.autoreset_mode) for group in self.groups]
        self._pending = [a.make.remote() for a in self._actors]

    def _send(self, command: str, per_worker: list[Any]) -> None:
        if self.closed:
            raise RuntimeError("this RayVectorEnv is closed")
        self._pending = [a.reply.remote(command, data) for a, data in zip(self._actors, per_worker, strict=True)]

    def _ready(self, waiting: list[int], timeout: float | None) -> list[int]:
        refs = {self._pending[w]: w for w in waiting}
        ready, _ = self._ray.wait(list(refs), num_returns=1, timeout=timeout)
        return [refs[r] for r in ready]

    def _receive(self, w: int) -> tuple[bool, Any]:
        try:
            return self._ray.get(self._pending[w])
        except self._ray.exceptions.RayActorError as exc:
            self.close_extras()
            raise RuntimeError(f"RayVectorEnv worker {w} (a Ray actor) died: {exc}; the vector env is closed") from exc

    def _kill_workers(self) -> None:
        for actor in self._actors:
            with contextlib.suppress(Exception):  # one already gone
                self._ray.kill(actor)

    def close_extras(self, **kwargs: Any) -> None:
        if getattr(self, "closed", True):
            return
        self.closed = True
        with contextlib.suppress(Exception):  # a dead actor has nothing left to close
            self._ray.get([a.reply.remote("close", None) for a in self._actors], timeout=5)
        self._kill_workers()
        if self._owns_ray:
            self._ray.shutdown()


def make_vec(
    env_id: str,
    num_envs: int,
    workers: int | None = None,
    *,
    pin_cpus: bool = True,
    autoreset_mode: AutoresetMode | str = AutoresetMode.NEXT_STEP,
    context: str | None = None,
    timeout: float | None = None,
    **kwargs: Any,
) -> StarlingVectorEnv:
    """``num_envs`` copies of ``gymnasium.make(env_id, **kwargs)`` (with its TimeLimit) in a StarlingVectorEnv."""
    spec = gym.spec(env_id)  # an unknown id fails here, with Gymnasium's suggestions, not in a worker
    # Workers make the env from the spec itself: ids registered at run time exist in spawned workers too.
    return StarlingVectorEnv(
        [partial(gym.make, spec, **kwargs)] * num_envs,
        workers,
        pin_cpus=pin_cpus,
        autoreset_mode=autoreset_mode,
        context=context,
        timeout=timeout,
    )

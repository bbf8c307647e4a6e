"""Where parallel work runs: a local pool, or Ray (this machine or a cluster), behind one interface.

Both are :class:`concurrent.futures.Executor`\\ s: ``submit`` returns a standard ``Future``, so callers use
``as_completed`` or iterate futures in task order the same way whichever runs the work. The Ray executor runs
each call as a Ray task: a task whose worker process dies (killed, out of memory, a lost node) is run again up to
``max_retries`` times; an exception raised by the function itself is not retried but raised by
``Future.result()`` as an instance of its own class (Ray's ``RayTaskError`` subclasses it), with the worker's
traceback.

``ray`` selects where: ``None`` keeps the local pool; ``"local"`` (``--ray`` alone) starts a Ray instance on this
machine with ``workers`` CPUs, or uses the one this process already joined; any other value is the address of a
running cluster (``ray start --head`` prints it; ``"auto"`` finds one started on this machine).
"""

from __future__ import annotations

import multiprocessing
import socket
from collections.abc import Callable
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from typing import Any

LOCAL = "local"  # the --ray value that starts (or reuses) a Ray instance on this machine
MAX_RETRIES = 3  # reruns of a Ray task whose worker process died
INSTALL_HINT = "--ray needs the 'scale' extra: pip install '.[scale]' in the checkout (or pip install ray)"


class RayExecutor(Executor):
    """Calls run as Ray tasks (one CPU each), retried up to ``max_retries`` times when their worker dies.

    ``address`` is ``"local"`` (a Ray instance on this machine with ``num_cpus`` CPUs) or a cluster's address.
    A Ray instance this process already joined is used as it is; one started here is shut down with the executor.
    """

    def __init__(self, address: str = LOCAL, *, num_cpus: int | None = None, max_retries: int = MAX_RETRIES):
        self._ray, self._owned = start_ray(address, num_cpus)
        self.max_retries = max_retries
        self._remote: dict[Callable[..., Any], Any] = {}

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        remote = self._remote.get(fn)
        if remote is None:  # exported to the cluster once per function
            remote = self._remote[fn] = self._ray.remote(max_retries=self.max_retries, num_cpus=1)(fn)
        return remote.remote(*args, **kwargs).future()

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        if self._owned and self._ray.is_initialized():
            self._ray.shutdown()
            self._owned = False


def start_ray(address: str = LOCAL, num_cpus: int | None = None) -> tuple[Any, bool]:
    """The ``ray`` module, joined to ``address`` (a Ray instance on this machine with ``num_cpus`` CPUs for
    ``"local"``), and whether this call started it (then its caller shuts it down); a Ray instance this process
    already joined is used as it is. A ValueError says what is wrong: Ray not installed, no cluster there."""
    try:
        import ray
    except ImportError as exc:
        raise ValueError(INSTALL_HINT) from exc
    if ray.is_initialized():
        return ray, False
    local = address == LOCAL
    if not local and not _answers(address):  # else Ray retries for minutes before it gives up
        raise ValueError(f"no Ray cluster answers at {address!r}: start one with `ray start --head`")
    try:
        ray.init(address=address, num_cpus=num_cpus if local else None, include_dashboard=False)
    except ConnectionError as exc:
        raise ValueError(f"cannot join the Ray cluster at {address!r}: {exc}") from exc
    return ray, True


def _answers(address: str) -> bool:
    """Whether something listens at a ``host:port`` address (any other form, such as ``auto``: left to Ray)."""
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        return True
    try:
        socket.create_connection((host, int(port)), timeout=5).close()
    except OSError:
        return False
    return True


def make_executor(
    workers: int, ray: str | None = None, *, threads: bool = False, mp_context: str | None = None
) -> Executor:
    """The executor for ``workers`` parallel calls: Ray when ``ray`` is given (see the module's docstring), else a
    local pool of processes (``mp_context``: their start method) or, with ``threads``, of threads (for calls that
    wait on subprocesses of their own)."""
    workers = max(1, workers)
    if ray is not None:
        return RayExecutor(ray, num_cpus=workers)
    if threads:
        return ThreadPoolExecutor(max_workers=workers)
    context = multiprocessing.get_context(mp_context) if mp_context else None
    return ProcessPoolExecutor(max_workers=workers, mp_context=context)


def result_of(future: Future, task: str) -> Any:
    """``future``'s result; its exception says which task failed (a note shown with its traceback)."""
    try:
        return future.result()
    except Exception as exc:
        if hasattr(exc, "add_note"):  # Python 3.11+
            exc.add_note(f"in task {task}")
        raise

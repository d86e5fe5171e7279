"""Executors: where chunks run. One small interface, `map(function, tasks)`, unordered results.

Results carry their chunk index and are reassembled in order by the caller,
so the executor never changes the numbers, only the time they take. Three
kinds: serial (this process), processes (a pool of this machine's cores, the
default) and dask (a Dask cluster: a `LocalCluster`, or a running scheduler;
the optional extra `negsim[dask]`). See docs/scaling.md.
"""

from __future__ import annotations

import concurrent.futures
import ctypes
import itertools
import multiprocessing
import os
import queue
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from negsim.errors import NegsimError, UsageError

EXECUTORS = ("serial", "processes", "dask")
"""The executor kinds `--executor` accepts."""
DASK_EXTRA = "pip install 'negsim[dask]'"
DASK_RETRIES = 3
"""Times a chunk that raised is run again (Dask's `retries`). A chunk whose worker died is
rescheduled by the scheduler itself, up to `distributed.scheduler.allowed-failures` times."""
DASK_CONNECT_TIMEOUT = "10s"
"""How long to try to reach a scheduler before saying it cannot be reached."""


def available_cores() -> int:
    """Cores this process may run on (its CPU affinity where the platform says, else all)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


CLUSTER_SIZE_EVERY = 1.0
"""Seconds between two readings of a Dask cluster's size (workers may join while it runs)."""
IN_FLIGHT_PER_WORKER = 2
"""Chunks handed out per worker at a time: one running, one ready to start."""


def window(jobs: int) -> int:
    """How many tasks an executor keeps in flight: enough to keep every worker busy, no more."""
    return max(2, IN_FLIGHT_PER_WORKER * jobs)


class SerialExecutor:
    """Runs every task in this process."""

    jobs = 1

    def map(self, function: Callable[[Any], Any], tasks: Iterable[Any]) -> Iterator[Any]:
        for task in tasks:
            yield function(task)

    def close(self) -> None:
        pass

    def terminate(self) -> None:
        pass


_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def _exit_with_parent(parent: int) -> None:
    """End this worker, silently, as soon as the process that started it is gone.

    A worker outliving a killed parent would simulate for nobody, then print
    a BrokenPipeError traceback when it hands in its chunk. On Linux the kernel
    kills it with its parent (prctl PR_SET_PDEATHSIG); elsewhere a watchdog
    thread notices the parent is gone within a second.
    """
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0:
                if os.getppid() != parent:  # the parent died before prctl took effect
                    os._exit(0)
                return
        except (OSError, AttributeError):
            pass

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, name="negsim-parent-watch", daemon=True).start()


def _start_worker(parent: int) -> None:
    # Ctrl-C goes to the whole process group: only the parent should act on it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _exit_with_parent(parent)


class ProcessExecutor:
    """Runs tasks in a pool of forked worker processes.

    ``fork`` (where the platform has it) lets workers inherit the imported
    modules instead of paying the Mesa import again in each of them.
    """

    def __init__(self, jobs: int):
        self.jobs = jobs
        methods = multiprocessing.get_all_start_methods()
        context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
        self._pool = context.Pool(jobs, initializer=_start_worker, initargs=(os.getpid(),))

    def map(self, function: Callable[[Any], Any], tasks: Iterable[Any]) -> Iterator[Any]:
        # At most `window` tasks in flight: a pool's finished results otherwise pile up
        # in this process while it is busy (summarising a variant), without bound.
        done: queue.SimpleQueue[tuple[bool, Any]] = queue.SimpleQueue()
        pending = iter(tasks)
        in_flight = 0

        def submit() -> bool:
            for task in pending:
                self._pool.apply_async(
                    function,
                    (task,),
                    callback=lambda result: done.put((True, result)),
                    error_callback=lambda error: done.put((False, error)),
                )
                return True
            return False

        while in_flight < window(self.jobs) and submit():
            in_flight += 1
        while in_flight:
            succeeded, result = done.get()
            in_flight -= 1
            if not succeeded:
                raise result
            if submit():
                in_flight += 1
            yield result

    def close(self) -> None:
        self._pool.close()
        self._pool.join()

    def terminate(self) -> None:
        self._pool.terminate()
        self._pool.join()


class DaskExecutor:
    """Runs tasks on a Dask cluster: the scheduler at ``scheduler``, or a new `LocalCluster`.

    Chunks are submitted as tasks with ``retries``: a worker killed mid-run
    costs only the chunks it held, which the scheduler runs again elsewhere
    (Dask's own rescheduling; nothing here keeps track). Results come back as
    they finish and are ordered by the caller, so the bytes are those of any
    other executor.
    """

    def __init__(self, jobs: int | None = None, scheduler: str | None = None):
        try:
            from dask.distributed import Client, LocalCluster
        except ImportError:
            raise NegsimError(
                f"--executor dask: Dask is not installed; install the extra: {DASK_EXTRA}"
            ) from None
        self._cluster = None
        if scheduler:
            try:
                self._client = Client(scheduler, timeout=DASK_CONNECT_TIMEOUT)
            except (OSError, TimeoutError, ValueError) as error:
                raise NegsimError(
                    f"--scheduler {scheduler}: cannot reach the Dask scheduler ({error}); "
                    "start one with `dask scheduler` and its workers with `dask worker "
                    "SCHEDULER`, or leave out --scheduler for a local cluster (docs/scaling.md)"
                ) from None
        else:
            self._cluster = LocalCluster(
                n_workers=jobs or available_cores(),
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
            )
            self._client = Client(self._cluster)
        self.scheduler = self._client.scheduler.address
        self.jobs = max(1, sum(self._client.nthreads().values()))
        self._futures: list[Any] = []

    def map(self, function: Callable[[Any], Any], tasks: Iterable[Any]) -> Iterator[Any]:
        from dask.distributed import KilledWorker, as_completed

        pending = iter(tasks)

        def submit(count: int) -> list[Any]:
            batch = list(itertools.islice(pending, count))
            # pure=False: two equal tasks are still two chunks to simulate.
            return self._client.map(function, batch, pure=False, retries=DASK_RETRIES)

        # At most `window` chunks in flight, so finished results never pile up on the
        # workers while this process is busy. The window follows the cluster's size, read
        # as each chunk arrives: workers that join a running cluster get work.
        self._futures = submit(window(self.jobs))
        if not self._futures:
            return
        completed = as_completed(self._futures)
        counted = time.monotonic()
        for future in completed:
            try:
                result = future.result()
            except KilledWorker as error:
                raise NegsimError(
                    f"Dask cluster at {self.scheduler}: a chunk's workers died each time it ran "
                    f"({error}); nothing written. Give the workers more memory, or look at "
                    "their logs"
                ) from None
            except (OSError, TimeoutError, concurrent.futures.CancelledError) as error:
                # The scheduler went away: the client cancels every chunk it was waiting for.
                reason = str(error).strip().splitlines()[0] if str(error).strip() else ""
                raise NegsimError(
                    f"Dask cluster at {self.scheduler}: lost the connection to the scheduler "
                    f"({reason or type(error).__name__}); nothing written"
                ) from None
            future.release()  # the result is ours now: the cluster may forget it
            self._futures.remove(future)
            if time.monotonic() - counted > CLUSTER_SIZE_EVERY:  # a round trip: not per chunk
                self.jobs = max(1, sum(self._client.nthreads().values()))
                counted = time.monotonic()
            for added in submit(max(0, window(self.jobs) - len(self._futures))):
                completed.add(added)
                self._futures.append(added)
            yield result
        self._futures = []

    def close(self) -> None:
        self._client.close()
        if self._cluster is not None:
            self._cluster.close()

    def terminate(self) -> None:
        try:
            if self._futures:
                self._client.cancel(self._futures)
        finally:
            self.close()


Executor = SerialExecutor | ProcessExecutor | DaskExecutor


def make_executor(
    jobs: int | None, kind: str = "processes", scheduler: str | None = None
) -> Executor:
    """The executor ``kind`` with ``jobs`` workers (default: every available core).

    ``processes`` with one job is the serial executor. ``dask`` connects to
    ``scheduler`` (``tcp://HOST:PORT``) or, without it, starts a `LocalCluster`
    of ``jobs`` single-threaded worker processes.

    Raises:
        UsageError: an unknown kind; a scheduler with another executor.
        NegsimError: Dask not installed; a scheduler that cannot be reached.
    """
    if kind not in EXECUTORS:
        raise UsageError(f"executor: must be one of {', '.join(EXECUTORS)} (got {kind!r})")
    if scheduler and kind != "dask":
        raise UsageError("--scheduler: only with --executor dask")
    if kind == "dask":
        return DaskExecutor(jobs, scheduler)
    jobs = jobs or available_cores()
    if kind == "serial" or jobs <= 1:
        return SerialExecutor()
    return ProcessExecutor(jobs)

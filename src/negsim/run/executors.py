"""Executors: where chunks run. One small interface, `map(function, tasks)`, unordered results.

Results carry their chunk index and are reassembled in order by the caller,
so the executor never changes the numbers, only the time they take. Three
kinds: serial (this process), processes (a pool of this machine's cores, the
default) and dask (a Dask cluster: a `LocalCluster`, or a running scheduler;
the optional extra `negsim[dask]`). See docs/scaling.md.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import ctypes
import itertools
import logging
import multiprocessing
import os
import queue
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from negsim import interrupts
from negsim.errors import NegsimError, UsageError

EXECUTORS = ("serial", "processes", "dask")
"""The executor kinds `--executor` accepts."""
DASK_EXTRA = "pip install 'negsim[dask]'"
DASK_RETRIES = 3
"""Times a chunk that raised is run again (Dask's `retries`). A chunk whose worker died is
rescheduled by the scheduler itself, up to `distributed.scheduler.allowed-failures` times."""
DASK_CONNECT_TIMEOUT = 10.0
"""Seconds to reach a scheduler and exchange Dask's handshake with it, in all, before saying
it cannot be reached (also when something that is not a Dask scheduler answers, or never does)."""
DASK_START_ATTEMPTS = 3
"""Times a `LocalCluster` is started before giving up (a worker process that dies while the
cluster starts, e.g. killed, fails the whole start: Dask's `Nanny failed to start`)."""
DASK_CLOSE_TIMEOUT = 20.0
"""Seconds a Dask client or local cluster has to close before negsim stops waiting for it."""
DASK_QUIET = logging.CRITICAL + 1
"""Level of Dask's own log lines during a run: none. Every failure negsim can meet is its
one line (an unreachable or lost scheduler, workers that keep dying); Dask's tracebacks of
the same events would bury it."""


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
            interrupts.check()
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


_STOP_SIGNALS = frozenset(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)
"""The signals negsim's commands turn into KeyboardInterrupt: held back while workers start."""


def _start_worker(parent: int) -> None:
    # Ctrl-C goes to the whole process group: only the parent should act on it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)
    _exit_with_parent(parent)


TERMINATE_WAIT = 10.0
"""Seconds `ProcessExecutor.terminate` waits for the pool to end before killing its workers."""
CHECK_EVERY = 0.1
"""Seconds between two looks at `negsim.interrupts` while waiting on a pool's workers."""


class ProcessExecutor:
    """Runs tasks in a pool of forked worker processes.

    ``fork`` (where the platform has it) lets workers inherit the imported
    modules instead of paying the Mesa import again in each of them.
    """

    def __init__(self, jobs: int):
        self.jobs = jobs
        methods = multiprocessing.get_all_start_methods()
        context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
        # Started with the stop signals held back (a worker unblocks them once it ignores
        # Ctrl-C): one landing between the fork and `_start_worker` would run the parent's
        # handler in the worker and print its KeyboardInterrupt traceback.
        blocking = hasattr(signal, "pthread_sigmask")
        if blocking:
            signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
        try:
            self._pool = context.Pool(jobs, initializer=_start_worker, initargs=(os.getpid(),))
        finally:
            try:
                if blocking:
                    # A signal that came meanwhile is raised here, as the mask is lifted.
                    signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)
            except BaseException:
                if hasattr(self, "_pool"):  # started: the caller never gets it to end
                    self.terminate()
                raise

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
            interrupts.check()
            try:
                succeeded, result = done.get(timeout=CHECK_EVERY)
            except queue.Empty:
                continue
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
        """End the workers now, in at most about TERMINATE_WAIT seconds.

        `Pool.terminate` first takes the lock of the workers' task queue, which an
        idle worker holds while it waits for a task: it is freed when the pool's own
        threads send the workers their ends. Should that never happen (a CI run hung
        there once, an interrupt at the pool's very start), the workers are killed
        and the pool left to its daemon threads: this process is on its way out.
        """
        workers = [worker for worker in getattr(self._pool, "_pool", ()) if worker.is_alive()]

        def end() -> None:
            self._pool.terminate()
            self._pool.join()

        ender = threading.Thread(target=end, name="negsim-pool-end", daemon=True)
        ender.start()
        ender.join(TERMINATE_WAIT)
        if ender.is_alive():
            for worker in workers:
                with contextlib.suppress(OSError, ValueError):
                    worker.kill()
            # Not long: if the killed worker held the queue's lock, the pool never ends.
            ender.join(1.0)


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
            from dask.distributed import Client
        except ImportError:
            raise NegsimError(
                f"--executor dask: Dask is not installed; install the extra: {DASK_EXTRA}"
            ) from None
        self._cluster: Any = None
        self._quiet = contextlib.ExitStack()
        self._quiet.enter_context(_quiet_dask_logs())
        try:
            if scheduler:
                _handshake(scheduler, DASK_CONNECT_TIMEOUT)
                try:
                    self._client = Client(scheduler, timeout=f"{DASK_CONNECT_TIMEOUT}s")
                except (Exception, MemoryError) as error:
                    raise _unreachable(scheduler, error) from None
            else:
                self._cluster = _start_local_cluster(jobs or available_cores())
                self._client = Client(self._cluster)
                # The cluster's scheduler, in this process, times every garbage collection
                # from a gc callback: diagnostics only (logged, and silenced here), and a
                # Ctrl-C landing in a gc callback is lost ("Exception ignored").
                from distributed.gc import disable_gc_diagnosis

                disable_gc_diagnosis(force=True)
        except BaseException:
            self._quiet.close()
            raise
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
            interrupts.check()
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
        try:
            self._client.close(timeout=DASK_CLOSE_TIMEOUT)
            if self._cluster is not None:
                self._cluster.close(timeout=DASK_CLOSE_TIMEOUT)
        finally:
            self._quiet.close()

    def terminate(self) -> None:
        """Stop at once (an interrupt, an error): cancel the chunks, close, never hang.

        Each step is bounded by DASK_CLOSE_TIMEOUT and may fail (the interrupt may have
        landed inside Dask's own bookkeeping): what does not close in time is left to the
        exit hooks, which end the local workers with the process.
        """
        try:
            # Closing the client releases its chunks: the scheduler forgets them (no cancel
            # first: it has no timeout).
            self._futures = []
            with contextlib.suppress(Exception):
                self._client.close(timeout=DASK_CLOSE_TIMEOUT)
            if self._cluster is not None:
                with contextlib.suppress(Exception):
                    self._cluster.close(timeout=DASK_CLOSE_TIMEOUT)
        finally:
            self._quiet.close()


@contextlib.contextmanager
def _quiet_dask_logs() -> Iterator[None]:
    """Silence Dask's log handlers in this process (as `LocalCluster(silence_logs=...)` does)."""
    stack = contextlib.ExitStack()
    for root in ("distributed", "tornado", "bokeh"):
        for handler in logging.getLogger(root).handlers:
            stack.callback(handler.setLevel, handler.level)
            handler.setLevel(DASK_QUIET)
    with stack:
        yield


def _unreachable(scheduler: str, error: BaseException) -> NegsimError:
    reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return NegsimError(
        f"--scheduler {scheduler}: cannot reach a Dask scheduler there ({reason}); "
        "start one with `dask scheduler` and its workers with `dask worker SCHEDULER`, "
        "or leave out --scheduler for a local cluster (docs/scaling.md)"
    )


def _handshake(scheduler: str, timeout: float) -> None:
    """Connect to ``scheduler`` and exchange Dask's handshake, within ``timeout`` seconds in all.

    Dask's own connect times out the TCP connection only: a server that accepts and
    never answers holds the handshake for minutes, and one that answers something else
    than Dask is read as a frame of absurd length (a MemoryError). Run in a thread of its
    own so that it works under a running event loop (a notebook) too.

    Raises:
        NegsimError: no Dask scheduler answered in time.
    """
    import asyncio

    from distributed.comm import connect

    async def exchange() -> None:
        # Dask's own timeout a little shorter, so that its reason (refused, no route) is told.
        comm = await connect(scheduler, timeout=0.8 * timeout)  # the handshake is part of it
        await comm.close()

    def attempt() -> None:
        asyncio.run(asyncio.wait_for(exchange(), timeout))

    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="negsim-handshake") as pool:
        try:
            pool.submit(attempt).result()
        except TimeoutError as error:
            raise _unreachable(
                scheduler, error if str(error) else TimeoutError(f"no answer within {timeout:g} s")
            ) from None
        except OSError as error:  # refused, no route, closed (Dask's CommClosedError)
            raise _unreachable(scheduler, error) from None
        except (Exception, MemoryError):  # what it sent is not Dask's (read as a huge frame)
            raise _unreachable(
                scheduler, ValueError("something answers there, but not as a Dask scheduler")
            ) from None


def _start_local_cluster(workers: int) -> Any:
    """A `LocalCluster` of ``workers`` single-threaded processes, started afresh if one dies.

    A cluster that fails to start (or is interrupted while starting) is closed and
    forgotten, so that Dask's exit hook does not try again to close it (a traceback).

    Raises:
        NegsimError: the cluster failed to start DASK_START_ATTEMPTS times.
    """
    from dask.distributed import LocalCluster
    from distributed.deploy.spec import SpecCluster

    for attempt in range(1, DASK_START_ATTEMPTS + 1):
        before = set(SpecCluster._instances)
        try:
            return LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                # The scheduler serves its HTTP routes (health, metrics) even without a
                # dashboard, on 8787 unless told: a free port of this machine only, so
                # that two runs at once do not warn about each other.
                scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
                silence_logs=DASK_QUIET,  # in the workers too
            )
        except BaseException as error:
            for cluster in set(SpecCluster._instances) - before:
                with contextlib.suppress(BaseException):
                    if cluster.status.name not in ("closed", "closing"):
                        cluster.close(timeout=10)
                SpecCluster._instances.discard(cluster)
            if not isinstance(error, Exception) or attempt == DASK_START_ATTEMPTS:
                if isinstance(error, Exception):
                    reason = str(error).strip().splitlines()[0] if str(error).strip() else ""
                    raise NegsimError(
                        f"--executor dask: the local Dask cluster failed to start "
                        f"{DASK_START_ATTEMPTS} times ({reason or type(error).__name__}); "
                        "nothing written"
                    ) from None
                raise
    raise AssertionError("unreachable")  # pragma: no cover


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

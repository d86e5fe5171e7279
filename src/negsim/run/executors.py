"""Executors: where chunks run. One small interface, `map(function, tasks)`, unordered results.

Results carry their chunk index and are reassembled in order by the caller,
so the executor never changes the numbers, only the time they take.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any


def available_cores() -> int:
    """Cores this process may run on (its CPU affinity where the platform says, else all)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


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
        yield from self._pool.imap_unordered(function, tasks)

    def close(self) -> None:
        self._pool.close()
        self._pool.join()

    def terminate(self) -> None:
        self._pool.terminate()
        self._pool.join()


def make_executor(jobs: int | None) -> SerialExecutor | ProcessExecutor:
    """A serial executor for one job, a process pool for more (default: every available core)."""
    jobs = jobs or available_cores()
    return SerialExecutor() if jobs <= 1 else ProcessExecutor(jobs)

"""Executors: where chunks run. One small interface, `map(function, tasks)`, unordered results.

Results carry their chunk index and are reassembled in order by the caller,
so the executor never changes the numbers, only the time they take.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from collections.abc import Callable, Iterable, Iterator
from typing import Any


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


def _ignore_interrupts() -> None:
    # Ctrl-C goes to the whole process group: only the parent should act on it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


class ProcessExecutor:
    """Runs tasks in a pool of forked worker processes.

    ``fork`` (where the platform has it) lets workers inherit the imported
    modules instead of paying the Mesa import again in each of them.
    """

    def __init__(self, jobs: int):
        self.jobs = jobs
        methods = multiprocessing.get_all_start_methods()
        context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
        self._pool = context.Pool(jobs, initializer=_ignore_interrupts)

    def map(self, function: Callable[[Any], Any], tasks: Iterable[Any]) -> Iterator[Any]:
        yield from self._pool.imap_unordered(function, tasks)

    def close(self) -> None:
        self._pool.close()
        self._pool.join()

    def terminate(self) -> None:
        self._pool.terminate()
        self._pool.join()


def make_executor(jobs: int | None) -> SerialExecutor | ProcessExecutor:
    """A serial executor for one job, a process pool for more (default: all cores)."""
    jobs = jobs or os.cpu_count() or 1
    return SerialExecutor() if jobs <= 1 else ProcessExecutor(jobs)

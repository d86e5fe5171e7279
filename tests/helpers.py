"""Helpers several test modules share: one copy each, imported as ``from helpers import ...``.

(``tests/`` is on ``sys.path`` because ``tests/conftest.py`` lives there: pytest's
default import mode puts a conftest's folder first on the path.)
"""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SWEEP_SCENARIO = """\
name: tiny
calendar: {start: 2020-01-06, end: 2020-05-31}
issue: {name: transition}
actors:
  gov: {kind: government, capability: 1.0, resolve: 0.6}
  opp: {kind: opposition}
  rebels: {kind: faction, coalition: opp, capability: 0.6}
  backer: {kind: patron, client: gov}
  envoy: {kind: mediator, leverage: 0.5}
regions:
  north: {adjacent: [south], control: {gov: 0.5, rebels: 0.5}}
  south: {control: {gov: 1.0}}
events:
  - {id: push, type: offensive, date: 2020-02-03, actor: gov, region: north, intensity: 2.0}
  - {id: talks, type: negotiation_round, date: 2020-03-02, mediator: envoy}
variants:
  no_push: {remove_events: [push]}
hypotheses:
  push_hurts_talks: {metric: agreement, treatment: base, control: no_push, expected: decrease}
  push_weakens_rebels: {metric: opposition_cohesion_at_talks, treatment: base, control: no_push, expected: decrease}
uncertain:
  actors.gov.resolve: {uniform: {low: 0.4, high: 0.8}}
  events.push.intensity: {uniform: {low: 1.0, high: 3.0}}
"""
"""A scenario small enough for a sweep of a few seconds (2 uncertain factors, 2 variants)."""


def snapshot(folder: Path, deep: bool = True) -> dict[str, bytes]:
    """Every file under ``folder`` (hidden ones too) and its bytes, by relative path.

    ``deep=False``: the folder's own files only, not those of its subfolders (a
    run's staging folder, which comes and goes while negsim works).
    """
    paths = folder.rglob("*") if deep else folder.iterdir()
    return {
        str(path.relative_to(folder)): path.read_bytes() for path in sorted(paths) if path.is_file()
    }


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (at the time of asking)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def dask_scheduler() -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A real Dask scheduler and one single-threaded worker, each its own process.

    Yields the scheduler's address and its process (a test may kill it); both
    processes are killed and reaped on the way out.
    """
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    dask = [sys.executable, "-m", "dask"]
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    scheduler = subprocess.Popen(
        [*dask, "scheduler", "--port", str(port), "--no-dashboard"], **quiet
    )
    worker = subprocess.Popen(
        [*dask, "worker", address, "--nworkers", "1", "--nthreads", "1", "--no-dashboard"], **quiet
    )
    try:
        yield address, scheduler
    finally:
        for process in (scheduler, worker):
            process.kill()
            process.wait(timeout=30)

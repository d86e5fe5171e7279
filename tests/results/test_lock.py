"""The lock on a folder: one writer at a time, a named holder, never held by the dead."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from negsim.errors import ResultsError
from negsim.results.lock import LOCK_NAME, FolderLock, Holder


def test_a_second_holder_is_refused_naming_the_first(tmp_path: Path) -> None:
    first = FolderLock(tmp_path, ["negsim", "run", "a.yaml"])
    first.acquire()
    with pytest.raises(ResultsError) as info:
        FolderLock(tmp_path).acquire()
    message = str(info.value)
    assert message.startswith(f"{tmp_path}: in use by pid {os.getpid()} on ")
    assert ": negsim run a.yaml; wait for it to finish, or use --wait" in message
    assert "\n" not in message
    first.release()
    assert not (tmp_path / LOCK_NAME).exists()
    again = FolderLock(tmp_path)
    again.acquire()
    again.release()


def test_wait_blocks_until_the_holder_lets_go(tmp_path: Path) -> None:
    first = FolderLock(tmp_path, ["first"])
    first.acquire()
    seen: list[Holder] = []
    threading.Timer(0.5, first.release).start()
    started = time.monotonic()
    second = FolderLock(tmp_path)
    second.acquire(wait=True, on_wait=seen.append)
    assert time.monotonic() - started >= 0.4
    assert [h.command for h in seen] == ["first"]
    second.release()


def test_a_forked_child_does_not_keep_the_lock(tmp_path: Path) -> None:
    lock = FolderLock(tmp_path)
    lock.acquire()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child only sleeps
        time.sleep(10)
        os._exit(0)
    try:
        lock.release()
        other = FolderLock(tmp_path)
        other.acquire()  # would fail if the child had kept the parent's lock
        other.release()
    finally:
        os.kill(child, signal.SIGKILL)
        os.waitpid(child, 0)


def test_a_killed_holder_never_blocks_the_next(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                f"""
                import sys, time
                from negsim.results.lock import FolderLock
                FolderLock(__import__("pathlib").Path({str(tmp_path)!r}), ["holder"]).acquire()
                print("held", flush=True)
                time.sleep(60)
                """
            ),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        with pytest.raises(ResultsError, match=rf"in use by pid {holder.pid} on .*: holder;"):
            FolderLock(tmp_path).acquire()
        holder.kill()
        holder.wait()
        lock = FolderLock(tmp_path)
        lock.acquire()  # the kernel dropped the dead holder's lock
        lock.release()
    finally:
        holder.kill()
        holder.wait()

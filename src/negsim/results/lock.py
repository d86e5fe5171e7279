"""One writer at a time: an advisory lock on a folder negsim writes into.

The lock is ``fcntl.flock`` on ``FOLDER/.negsim.lock``. The kernel drops it
when its holder exits, however it exits (a crash, SIGKILL, a lost terminal),
so a dead run never blocks the next one. The file holds who took the lock
(pid, host, command, start time) so that a second run can name the holder.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import socket
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from negsim.errors import ResultsError
from negsim.results.filesystem import reason

LOCK_NAME = ".negsim.lock"

# Descriptors of the locks this process holds.
_held: set[int] = set()


def _forget_in_child() -> None:
    # A forked worker inherits the lock's descriptor and with it the lock: were
    # the parent killed, the lock would live on in its workers. Closing the
    # child's copy (never LOCK_UN, which would release the parent's lock too)
    # ties the lock to the parent alone.
    for fd in list(_held):
        with contextlib.suppress(OSError):
            os.close(fd)
    _held.clear()


os.register_at_fork(after_in_child=_forget_in_child)


@dataclass(frozen=True)
class Holder:
    """Who holds a lock, as its holder wrote it into the lock file."""

    pid: int | None
    host: str
    command: str
    started: str

    def __str__(self) -> str:
        if self.pid is None:
            return "another negsim process"
        return f"pid {self.pid} on {self.host}, started {self.started}: {self.command}"


def _read_holder(path: Path) -> Holder:
    # The holder writes its details just after taking the lock: give it a moment.
    for _ in range(20):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return Holder(
                int(data["pid"]), str(data["host"]), str(data["command"]), str(data["started"])
            )
        except (OSError, ValueError, KeyError, TypeError):
            time.sleep(0.025)
    return Holder(None, "", "", "")


class FolderLock:
    """An exclusive lock on one folder (which must exist)."""

    def __init__(self, folder: Path, command: Sequence[str] | None = None):
        self.folder = Path(folder)
        self.path = self.folder / LOCK_NAME
        self.command = " ".join(command if command is not None else sys.argv)
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self, wait: bool = False, on_wait: Callable[[Holder], None] | None = None) -> None:
        """Take the lock, or raise `ResultsError` naming its holder (block instead if ``wait``)."""
        told = False
        while True:
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            except OSError as error:
                if not self.folder.is_dir():
                    raise ResultsError(f"{self.folder}: the folder vanished") from None
                raise ResultsError(f"{self.folder}: cannot write here: {reason(error)}") from None
            try:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    holder = _read_holder(self.path)
                    if not wait:
                        raise ResultsError(
                            f"{self.folder}: in use by {holder}; wait for it to finish, "
                            "or use --wait"
                        ) from None
                    if on_wait is not None and not told:
                        on_wait(holder)
                        told = True
                    fcntl.flock(fd, fcntl.LOCK_EX)
                # A holder removes the file as it lets go: the lock just taken may
                # be on a file that no longer has a name. Take the named one then.
                try:
                    named = os.stat(self.path)
                except FileNotFoundError:
                    named = None
                mine = os.fstat(fd)
                current = named is not None and (named.st_dev, named.st_ino) == (
                    mine.st_dev,
                    mine.st_ino,
                )
            except BaseException:
                os.close(fd)
                raise
            if not current:
                os.close(fd)
                continue
            self._fd = fd
            _held.add(fd)
            self._describe_holder(fd)
            return

    def _describe_holder(self, fd: int) -> None:
        text = json.dumps(
            {
                "pid": os.getpid(),
                "host": socket.gethostname(),
                "command": self.command,
                "started": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
            }
        )
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, text.encode("utf-8") + b"\n", 0)
        except OSError:
            pass  # a full disk: the lock holds, only its description is missing

    def release(self) -> None:
        """Let go of the lock and remove its file (nothing of the lock stays in the folder)."""
        fd = self._fd
        if fd is None:
            return
        self._fd = None
        _held.discard(fd)
        with contextlib.suppress(OSError):
            os.unlink(self.path)  # while still held, so nobody locks the old file meanwhile
        os.close(fd)

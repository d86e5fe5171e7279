"""File-system failures in words a user can act on, and the few calls that need care."""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path

# What each failure means for someone writing results, and what to do about it.
_REASONS = {
    errno.ENOSPC: "no space left on the disk",
    errno.EDQUOT: "disk quota exceeded",
    errno.EROFS: "the file system is read-only",
    errno.EACCES: "permission denied",
    errno.EPERM: "not permitted (an immutable or protected folder?)",
    errno.ENOENT: "no such file or folder (it vanished?)",
    errno.ENOTDIR: "a part of the path is a file, not a folder",
    errno.EISDIR: "is a folder",
    errno.ENAMETOOLONG: "the name is too long",
    errno.EIO: "input/output error (a failing disk or a lost network share?)",
    errno.ENOTEMPTY: "the folder is not empty",
    errno.EXDEV: "cannot move a file across file systems",
}


def reason(error: OSError) -> str:
    """One short phrase for an OS error, without its errno number or traceback."""
    if error.errno in _REASONS:
        return _REASONS[error.errno]
    return (error.strerror or str(error) or type(error).__name__).splitlines()[0]


def free_bytes(folder: Path) -> int | None:
    """Bytes free for an unprivileged user on the disk holding ``folder`` (None if unknown)."""
    try:
        return shutil.disk_usage(folder).free
    except OSError:
        return None


def sync_folder(folder: Path) -> None:
    """Make the renames in ``folder`` durable (best effort: not every file system allows it)."""
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def human_size(size: float) -> str:
    """1234567 -> '1.2 MB' (decimal units, as disks are sold and `df -H` shows)."""
    for unit in ("bytes", "kB", "MB", "GB", "TB"):
        if size < 1000 or unit == "TB":
            return f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1000
    raise AssertionError("unreachable")

"""Folders negsim writes into: checked before the work, locked, staged, committed.

The rules, stated for users in docs/results.md ("What negsim may replace"):

* Every folder negsim writes holds a *record* (``manifest.json`` for results,
  ``figures.json`` for figures) that lists each file negsim wrote there, with
  its size, row count and sha256.
* negsim replaces or removes only files a record lists; anything else in the
  folder stays. A file in the way of one negsim is about to write, but not
  listed, stops the work before it starts.
* A results folder is written only where it is recognisable: a new folder,
  an empty one, or one holding negsim's record.
* A folder that is, or holds, the current folder or the scenario file is
  never an output folder.
* Everything that can be checked is checked, and the folder locked, before
  the work starts: a full disk or a read-only folder is found in a second,
  not after hours of simulation.
* New files are written into a staging folder inside the output folder (so
  the final renames never cross file systems), then moved into place one
  atomic rename at a time, the record last. Until then the earlier files
  are untouched; a failure leaves them as they were and removes the staging
  folder; a killed run's staging folder is removed by the next run into the
  same folder.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from negsim.errors import ResultsError
from negsim.results.filesystem import free_bytes, human_size, reason, sync_folder
from negsim.results.lock import LOCK_NAME, FolderLock, Holder

STAGING_PREFIX = ".negsim.partial-"
# Room left for the file system's own bookkeeping beyond the estimated size.
HEADROOM_BYTES = 64 * 1024


@dataclass(frozen=True)
class FolderKind:
    """What a folder holds and who writes it, for the rules and the messages."""

    what: str
    """Plural noun for messages, also the record's ``kind``: ``results``, ``figures``."""
    record: str
    """File name of the record of negsim's files in the folder."""
    writer: str
    """The command that writes such a folder, for messages."""
    strict: bool
    """An existing folder without the record must be empty (else it is refused)."""
    legacy_names: frozenset[str] = frozenset()
    """Files an older negsim wrote without listing them: negsim's when its record has no list."""


@dataclass(frozen=True)
class Record:
    """negsim's record of the files it wrote in a folder."""

    path: Path
    document: dict[str, Any]
    files: dict[str, dict[str, Any]]
    """File name -> ``{"bytes", "sha256", "rows"}`` (empty for an older negsim's files)."""
    listed: bool
    """Whether the record lists its files with checksums (older negsim did not)."""


def is_plain_name(name: str) -> bool:
    """A file name of the folder itself: no path, not hidden, not ``.`` or ``..``."""
    return bool(name) and "/" not in name and "\\" not in name and not name.startswith(".")


def read_record(path: Path, kind: FolderKind) -> Record | None:
    """The record of a folder of ``kind`` at ``path``, or None if there is none.

    A record says which kind of folder it describes (``"kind"``), so that one
    command never takes another's folder for its own (and removes its files).
    An older negsim's results manifest says nothing: it is results.

    Raises:
        ResultsError: the file exists but is not a record negsim wrote for ``kind``.
    """
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except IsADirectoryError:
        raise ResultsError(f"{path}: is a folder, not negsim's record of its files") from None
    except OSError as error:
        raise ResultsError(f"{path}: cannot read: {reason(error)}") from None
    try:
        document = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        detail = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise ResultsError(f"{path}: damaged or not written by negsim ({detail})") from None
    if not isinstance(document, dict) or "negsim" not in document:
        raise ResultsError(f"{path}: not written by negsim (it has no 'negsim' entry)")
    found = document.get("kind")
    if found is None and not kind.legacy_names:
        raise ResultsError(f"{path}: not written by {kind.writer} (it has no 'kind' entry)")
    if found is not None and found != kind.what:
        raise ResultsError(f"{path}: describes negsim {found}, not {kind.what}")
    files = document.get("files")
    if files is None:
        return Record(path, document, {name: {} for name in kind.legacy_names}, listed=False)
    if not isinstance(files, dict) or not all(
        isinstance(name, str) and is_plain_name(name) and isinstance(entry, dict)
        for name, entry in files.items()
    ):
        raise ResultsError(f"{path}: damaged ('files' must map file names of this folder)")
    return Record(path, document, files, listed=True)


def file_entry(path: Path, rows: int | None = None) -> dict[str, Any]:
    """What a record says of one file: bytes, sha256 and (for a table) data rows."""
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
            size += len(block)
        os.fsync(handle.fileno())  # the record vouches for bytes that are on the disk
    entry: dict[str, Any] = {"bytes": size, "sha256": digest.hexdigest()}
    if rows is not None:
        entry["rows"] = rows
    return entry


def _listing(names: Sequence[str], limit: int = 5) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


@dataclass
class OutputFolder:
    """One folder being written: open it (checks, lock, staging), write files, commit.

    Use as a context manager around the work: leaving it without `commit`
    (an error, Ctrl-C) removes the staging folder and any folder it created,
    and leaves earlier files as they were.
    """

    path: Path
    kind: FolderKind
    names: Collection[str]
    """Every file this writer may write (checked for files in the way before the work)."""
    protect: Sequence[tuple[str, Path]] = ()
    """(description, path) that must not lie in the folder, e.g. the current folder."""
    estimate: int = 0
    """Bytes the new files are expected to take (0: not checked)."""
    wait: bool = False
    on_wait: Callable[[Holder], None] | None = None
    command: Sequence[str] | None = None
    kept: list[str] = field(default_factory=list)
    """Entries of the folder negsim did not write and left as they were."""
    notes: list[str] = field(default_factory=list)
    """One line per thing the user should know (e.g. a leftover negsim could not remove)."""

    def __post_init__(self) -> None:
        self.path = Path(self.path)
        self._lock = FolderLock(self.path, self.command)
        self._created: list[Path] = []
        self._staging: Path | None = None
        self._previous: Record | None = None
        self._rows: dict[str, int | None] = {}
        self._committed = False

    # ------------------------------------------------------------------ open

    def open(self) -> OutputFolder:
        """Check the folder, create it if needed, lock it and prepare the staging folder."""
        try:
            self._check_place()
            self._restore_legacy()
            self._create()
            self._lock.acquire(self.wait, self.on_wait)
            self._clean_leftovers()
            self._previous = self._inspect()
            self._check_space()
            try:
                self._staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=self.path))
            except OSError as error:
                raise ResultsError(f"{self.path}: cannot write here: {reason(error)}") from None
        except BaseException:
            self.close()
            raise
        return self

    def __enter__(self) -> OutputFolder:
        return self if self._lock.held else self.open()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _check_place(self) -> None:
        path = self.path
        if path.is_symlink() and not path.exists():
            raise ResultsError(f"{path}: a symbolic link to nothing ({os.readlink(path)})")
        if path.exists() and not path.is_dir():
            raise ResultsError(f"{path}: exists and is not a folder")
        try:
            resolved = path.resolve()
        except (OSError, RuntimeError) as error:  # RuntimeError: a symlink loop
            raise ResultsError(f"{path}: not a usable folder ({error})") from None
        for description, protected in self.protect:
            target = protected.resolve()
            if target == resolved:
                raise ResultsError(
                    f"{path}: is {description}; {self.kind.what} need a folder of their own"
                )
            if target.is_relative_to(resolved):
                raise ResultsError(
                    f"{path}: holds {description} ({protected}); "
                    f"{self.kind.what} need a folder of their own"
                )

    def _create(self) -> None:
        missing = []
        folder = self.path.absolute()
        while not folder.exists() and folder != folder.parent:
            missing.append(folder)
            folder = folder.parent
        for folder in reversed(missing):
            try:
                folder.mkdir()
            except FileExistsError:
                continue  # made meanwhile by another process: not ours to remove
            except OSError as error:
                raise ResultsError(
                    f"{self.path}: cannot create the folder: {reason(error)}"
                ) from None
            self._created.append(folder)

    def _inspect(self) -> Record | None:
        """The folder's record; refuse if a file is in the way or the folder is not ours."""
        kind = self.kind
        try:
            record = read_record(self.path / kind.record, kind)
        except ResultsError as error:
            raise ResultsError(f"{error}; move it away or choose another folder") from None
        listed = set(record.files) if record else set()
        try:
            entries = sorted(os.listdir(self.path))
        except OSError as error:
            raise ResultsError(f"{self.path}: cannot read the folder: {reason(error)}") from None
        foreign = [
            name + ("/" if (self.path / name).is_dir() else "")
            for name in entries
            if name not in listed
            and name != LOCK_NAME
            and not name.startswith(STAGING_PREFIX)
            and not (record and name == kind.record)
        ]
        if kind.strict and record is None and foreign:
            raise ResultsError(
                f"{self.path}: not a negsim {kind.what} folder and not empty "
                f"(holds {_listing(foreign)}); choose another folder (--out) or empty it"
            )
        self._check_in_the_way(listed | {kind.record} if record else listed)
        self.kept = foreign
        return record

    def _check_in_the_way(self, listed: Collection[str]) -> None:
        in_the_way = [
            name
            for name in sorted(self.names)
            if (os.path.lexists(self.path / name) and name not in listed)
            or (self.path / name).is_dir()
        ]
        if in_the_way:
            raise ResultsError(
                f"{self.path}: {_listing(in_the_way)} not written by {self.kind.writer} "
                f"(not listed in {self.kind.record}); move "
                f"{'it' if len(in_the_way) == 1 else 'them'} away or choose another folder (--out)"
            )

    def _check_space(self) -> None:
        if not self.estimate:
            return
        free = free_bytes(self.path)
        if free is not None and free < self.estimate + HEADROOM_BYTES:
            raise ResultsError(
                f"{self.path}: not enough free space: the {self.kind.what} need about "
                f"{human_size(self.estimate)}, the disk has {human_size(free)} free"
            )

    # ------------------------------------------------------- leftovers of killed runs

    def _legacy_leftovers(self) -> list[Path]:
        """Staging (``.NAME.partial-*``) and retired (``.NAME.old-*``) folders of older negsim."""
        if not self.kind.legacy_names:
            return []
        parent = self.path.absolute().parent
        pattern = re.compile(rf"\.{re.escape(self.path.absolute().name)}\.(partial|old)-.+")
        try:
            return sorted(
                (parent / name for name in os.listdir(parent) if pattern.fullmatch(name)),
                key=lambda p: p.name,
            )
        except OSError:
            return []

    def _only_negsim_files(self, folder: Path) -> bool:
        allowed = self.kind.legacy_names | {self.kind.record}
        try:
            return (
                folder.is_dir()
                and not folder.is_symlink()
                and all(
                    entry.name in allowed and entry.is_file() and not entry.is_symlink()
                    for entry in folder.iterdir()
                )
            )
        except OSError:
            return False

    def _restore_legacy(self) -> None:
        # An older negsim moved the earlier results aside before moving the new
        # ones in; killed in between, it left them as `.NAME.old-PID` and no
        # folder. Those are a user's results: put them back, never delete them.
        if self.path.exists():
            return
        retired = [p for p in self._legacy_leftovers() if ".old-" in p.name and p.is_dir()]
        if retired:
            try:
                newest = max(retired, key=lambda p: p.stat().st_mtime)
                os.rename(newest, self.path)
            except OSError:
                pass  # another run restored it first, or it cannot be moved: left as it is

    def _clean_leftovers(self) -> None:
        """Remove staging folders of killed runs (we hold the lock: none is alive)."""
        try:
            entries = os.listdir(self.path)
        except OSError:
            entries = []
        for name in entries:
            leftover = self.path / name
            if name.startswith(STAGING_PREFIX) and leftover.is_dir() and not leftover.is_symlink():
                shutil.rmtree(leftover, ignore_errors=True)
        for leftover in self._legacy_leftovers():
            if self._only_negsim_files(leftover):
                shutil.rmtree(leftover, ignore_errors=True)
            else:
                self.notes.append(
                    f"{leftover}: left by an interrupted older negsim and holds files it did "
                    "not write; move what you need out of it and delete it"
                )

    # ------------------------------------------------------------------ write

    @property
    def staging(self) -> Path:
        """The staging folder: files written here before the commit, removed with it."""
        if self._staging is None:
            raise RuntimeError("the output folder is not open")
        return self._staging

    def staged(self, name: str) -> Path:
        """Where to write the new file ``name`` until the commit."""
        if self._staging is None:
            raise RuntimeError("the output folder is not open")
        return self._staging / name

    def write_file(
        self, name: str, write: Callable[[Path], object], rows: int | None = None
    ) -> None:
        """Write the new file ``name`` with ``write(path)``; a file-system failure ends the work.

        Raises:
            ResultsError: the file cannot be written (full disk, read-only, vanished folder).
        """
        target = self.staged(name)
        try:
            write(target)
        except BaseException as error:
            if self._staging_exists():
                target.unlink(missing_ok=True)  # no half-written file stays, even staged
            if isinstance(error, OSError):
                raise self._failure(error) from None
            raise
        self._rows[name] = rows

    def _staging_exists(self) -> bool:
        return self._staging is not None and self._staging.is_dir()

    def failure(self, error: OSError) -> ResultsError:
        """The one-line error of a file-system failure while writing into the folder."""
        return self._failure(error)

    def _failure(self, error: OSError) -> ResultsError:
        if not self.path.is_dir() or not self._staging_exists():
            return ResultsError(
                f"{self.path}: the folder vanished while negsim was working; nothing written"
            )
        earlier = f", earlier {self.kind.what} unchanged" if self._previous else ""
        return ResultsError(
            f"{self.path}: cannot write the {self.kind.what}: {reason(error)}; "
            f"nothing written{earlier}"
        )

    def commit(
        self, document: Mapping[str, Any], keep_listed: Callable[[str], bool] | None = None
    ) -> Path:
        """Record the written files in the record and move them into place, the record last.

        Files the earlier record listed that were not written again are
        removed, unless ``keep_listed(name)`` (then they stay listed).
        """
        record_name = self.kind.record
        try:
            if not self.path.is_dir() or not self._staging_exists():
                raise FileNotFoundError
            files = {name: file_entry(self.staged(name), rows) for name, rows in self._rows.items()}
            stale = []
            carried: dict[str, dict[str, Any]] = {}
            if self._previous is not None:
                for name, entry in self._previous.files.items():
                    if name in files or name == record_name:
                        continue
                    if keep_listed and keep_listed(name) and (self.path / name).is_file():
                        carried[name] = entry
                    else:
                        stale.append(name)
            full = {
                **document,
                "kind": self.kind.what,
                "files": dict(sorted({**carried, **files}.items())),
            }
            staged_record = self.staged(record_name)
            staged_record.write_text(
                json.dumps(full, indent=2, sort_keys=True, default=str) + "\n", encoding="utf-8"
            )
            file_entry(staged_record)  # fsync
            # A file may have been put in the way since the checks, hours ago.
            self._check_in_the_way(
                set(self._previous.files) | {record_name} if self._previous else set()
            )
            self._replace([*files, record_name])
        except OSError as error:
            failure = self._failure(error)
            self.close()
            raise failure from None
        except BaseException:
            self.close()
            raise
        self._committed = True
        for name in stale:
            stale_path = self.path / name
            if is_plain_name(name) and (stale_path.is_file() or stale_path.is_symlink()):
                try:
                    stale_path.unlink()
                except OSError:
                    self.notes.append(f"{stale_path}: out of date and could not be removed")
        self.close()
        return self.path

    def _replace(self, names: list[str]) -> None:
        """Rename each staged file over its target; on failure put the earlier ones back."""
        assert self._staging is not None
        backup = self._staging / ".previous"
        backup.mkdir()
        done: list[tuple[str, bool]] = []
        try:
            for name in names:
                target = self.path / name
                saved = False
                if os.path.lexists(target):
                    try:
                        os.link(target, backup / name, follow_symlinks=False)
                        saved = True
                    except OSError:
                        pass  # no hard links here: this file cannot be put back
                os.replace(self._staging / name, target)
                done.append((name, saved))
        except BaseException:  # a failure, or Ctrl-C between two renames
            for name, saved in reversed(done):
                try:
                    if saved:
                        os.replace(backup / name, self.path / name)
                    else:
                        (self.path / name).unlink()
                except OSError:
                    pass
            raise
        sync_folder(self.path)

    # ------------------------------------------------------------------ close

    def close(self) -> None:
        """Remove the staging folder and release the lock; without a commit, undo the folder."""
        if self._staging is not None:
            shutil.rmtree(self._staging, ignore_errors=True)
            self._staging = None
        self._lock.release()
        if not self._committed:
            for folder in reversed(self._created):
                try:
                    folder.rmdir()  # only if still empty
                except OSError:
                    break
            self._created = []

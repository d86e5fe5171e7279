"""Folders negsim writes into: checked before the work, locked, staged, committed.

The rules, stated for users in docs/results.md ("The results folder"):

* Every folder negsim writes holds a *record* (``manifest.json`` for results,
  ``figures.json`` for figures) that lists each file negsim wrote there, with
  its size, row count and sha256, and is sealed with a checksum of its own
  content (``record_sha256``).
* negsim replaces or removes a file only if the record lists it *and* its
  bytes are still those the record describes. A listed file whose bytes
  differ was changed by someone else: it is the user's now. If negsim would
  write it again, the work is refused before it starts (one line naming it);
  otherwise it is kept and no longer listed. A file in the way of one negsim
  is about to write, but not listed, also stops the work before it starts,
  and so does a record whose seal no longer matches (edited by hand) or one
  without checksums (an older negsim's): negsim cannot tell its files from
  the user's there.
* A results folder is written only where it is recognisable: a new folder,
  an empty one, or one holding negsim's record.
* A folder that is, or holds, the current folder or the scenario file is
  never an output folder.
* Everything that can be checked is checked, and the folder locked, before
  the work starts: a full disk or a read-only folder is found in a second,
  not after hours of simulation.
* New files are written into a staging folder inside the output folder (so
  the final renames never cross file systems, and nothing is ever written
  beside it), then moved into place one atomic rename at a time, the record
  last. Until then the earlier files are untouched; a failure, Ctrl-C or
  SIGTERM leaves them as they were and removes the staging folder. A staging
  folder is recognised by the marker negsim writes inside it, never by its
  name alone: the next run into the folder removes a killed run's staging
  folder (putting back any earlier files it had already replaced) and
  leaves a look-alike the user made.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import signal
import tempfile
import threading
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from negsim import interrupts
from negsim.errors import ResultsError
from negsim.results.filesystem import free_bytes, human_size, reason, sync_folder
from negsim.results.lock import LOCK_NAME, FolderLock, Holder

STAGING_PREFIX = ".negsim.partial-"
STAGING_MARKER = ".negsim-staging"
"""The file inside a staging folder that makes it negsim's (a name alone never does)."""
JOURNAL = ".negsim-replacing"
"""Written into the staging folder before the renames: which files are being moved into place."""
SEAL = "record_sha256"
"""The record's entry holding the sha256 of the rest of the record (canonical JSON)."""
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
    edited: bool = False
    """The record's seal does not match its content: changed since negsim wrote it."""


def seal(document: Mapping[str, Any]) -> str:
    """The sha256 of a record without its seal, over canonical JSON (key order, spacing fixed)."""
    body = {key: value for key, value in document.items() if key != SEAL}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def staging_token(name: str) -> str:
    """What the marker of the staging folder ``name`` holds (tied to that name)."""
    return hashlib.sha256(f"negsim staging folder {name}".encode()).hexdigest()


def is_staging(folder: Path) -> bool:
    """Whether ``folder`` is a staging folder negsim made: its name *and* its marker say so."""
    marker = folder / STAGING_MARKER
    try:
        if (
            not folder.name.startswith(STAGING_PREFIX)
            or folder.is_symlink()
            or not folder.is_dir()
            or marker.is_symlink()
            or not marker.is_file()
            or marker.stat().st_size > 4096
        ):
            return False
        document = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return (
        isinstance(document, dict)
        and document.get("staging") == folder.name
        and document.get("token") == staging_token(folder.name)
    )


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
    edited = SEAL in document and document[SEAL] != seal(document)
    files = document.get("files")
    if files is None:
        legacy: dict[str, dict[str, Any]] = {name: {} for name in kind.legacy_names}
        return Record(path, document, legacy, listed=False, edited=edited)
    if not isinstance(files, dict) or not all(
        isinstance(name, str) and is_plain_name(name) and isinstance(entry, dict)
        for name, entry in files.items()
    ):
        raise ResultsError(f"{path}: damaged ('files' must map file names of this folder)")
    return Record(path, document, files, listed=True, edited=edited)


def file_entry(path: Path, rows: int | None = None) -> dict[str, Any]:
    """What a record says of one file: bytes, sha256 and (for a table) data rows."""
    size, sha256 = file_digest(path, sync=True)  # the record vouches for bytes on the disk
    entry: dict[str, Any] = {"bytes": size, "sha256": sha256}
    if rows is not None:
        entry["rows"] = rows
    return entry


def file_digest(path: Path, sync: bool = False) -> tuple[int, str]:
    """Size and sha256 of the file at ``path`` (``sync``: its bytes forced to the disk first)."""
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
            size += len(block)
        if sync:
            os.fsync(handle.fileno())
    return size, digest.hexdigest()


def _identity(path: Path) -> tuple[int, ...] | None:
    """What changes when a file is replaced or written (None: missing or not a plain file)."""
    try:
        info = os.lstat(path)
    except OSError:
        return None
    if not os.path.isfile(path) or os.path.islink(path):
        return None
    return (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)


def _matches(path: Path, entry: Mapping[str, Any]) -> bool:
    """Whether the plain file at ``path`` holds the bytes a record's ``entry`` describes."""
    sha256, size = entry.get("sha256"), entry.get("bytes")
    if not isinstance(sha256, str) or not isinstance(size, int) or _identity(path) is None:
        return False
    try:
        if os.path.getsize(path) != size:
            return False
        return file_digest(path) == (size, sha256)
    except OSError:
        return False


def _listing(names: Sequence[str], limit: int = 5) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _them(names: Sequence[str]) -> str:
    return "it" if len(names) == 1 else "them"


def _mark_staging(staging: Path) -> None:
    """Write the marker that makes ``staging`` a staging folder negsim may remove."""
    marker = {
        "negsim": "staging folder of a run in progress; removed when it ends",
        "staging": staging.name,
        "token": staging_token(staging.name),
    }
    (staging / STAGING_MARKER).write_text(json.dumps(marker) + "\n", encoding="utf-8")


def _remove_staging(staging: Path) -> None:
    shutil.rmtree(staging, ignore_errors=True)
    if staging.is_dir() and not staging.is_symlink():
        # Not removable (its folder made immutable meanwhile, say): keep it
        # recognisable, so that the next run into the folder removes it.
        with contextlib.suppress(OSError):
            _mark_staging(staging)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


@dataclass
class OutputFolder:
    """One folder being written: open it (checks, lock, staging), write files, commit.

    Use as a context manager around the work: leaving it without `commit`
    (an error, Ctrl-C, SIGTERM) removes the staging folder and any folder it
    created, and leaves earlier files as they were.
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
    """Entries of the folder negsim did not write (or that were changed since) left as they were."""
    notes: list[str] = field(default_factory=list)
    """One line per thing the user should know (e.g. a changed file kept and no longer listed)."""

    def __post_init__(self) -> None:
        self.path = Path(self.path)
        self._lock = FolderLock(self.path, self.command)
        self._created: list[Path] = []
        self._staging: Path | None = None
        self._previous: Record | None = None
        self._rows: dict[str, int | None] = {}
        self._committed = False
        # Files verified at open as holding what the earlier record says:
        # name -> (identity, size, sha256); the record itself by its bytes' digest.
        self._known: dict[str, tuple[tuple[int, ...], int, str]] = {}
        # Listed files whose bytes differ from the record: the user's, kept.
        self._changed: list[str] = []
        self._sigterm_guarded = False

    # ------------------------------------------------------------------ open

    def open(self) -> OutputFolder:
        """Check the folder, create it if needed, lock it and prepare the staging folder."""
        try:
            self._guard_termination()
            self._check_place()
            self._create()
            self._lock.acquire(self.wait, self.on_wait)
            self._clean_leftovers()
            self._previous = self._inspect()
            self._check_space()
            self._staging = self._make_staging()
        except BaseException:
            self.close()
            raise
        return self

    def __enter__(self) -> OutputFolder:
        return self if self._lock.held else self.open()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _guard_termination(self) -> None:
        # A polite kill (SIGTERM) while the folder is open ends the work like
        # Ctrl-C, so the lock file and the staging folder go with it. Only where
        # nobody chose otherwise: the commands that handle signals themselves
        # have installed their handler before.
        if threading.current_thread() is not threading.main_thread():
            return
        if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
            signal.signal(signal.SIGTERM, _interrupt)
            self._sigterm_guarded = True

    def _make_staging(self) -> Path:
        try:
            staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=self.path))
        except OSError as error:
            raise ResultsError(f"{self.path}: cannot write here: {reason(error)}") from None
        try:
            _mark_staging(staging)
        except OSError as error:
            shutil.rmtree(staging, ignore_errors=True)
            raise ResultsError(f"{self.path}: cannot write here: {reason(error)}") from None
        return staging

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
        if record is not None:
            self._check_record(record)
        listed = set(record.files) if record else set()
        try:
            entries = sorted(os.listdir(self.path))
        except OSError as error:
            raise ResultsError(f"{self.path}: cannot read the folder: {reason(error)}") from None
        foreign = [
            name + ("/" if (self.path / name).is_dir() else "")
            for name in entries
            if (name not in listed or name in self._changed)
            and name != LOCK_NAME
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

    def _check_record(self, record: Record) -> None:
        """Refuse a record negsim cannot vouch for; verify each file it lists against it."""
        kind = self.kind
        if record.edited:
            raise ResultsError(
                f"{record.path}: changed since {kind.writer} wrote it (its {SEAL} no longer "
                f"matches), so negsim cannot tell its files from yours here; move the "
                f"{kind.what} away or choose another folder (--out)"
            )
        if not record.listed:
            raise ResultsError(
                f"{record.path}: written by an older negsim that recorded no checksums, so "
                f"negsim cannot tell whether its files were changed since; move them away "
                f"or choose another folder (--out)"
            )
        identity = _identity(record.path)
        if identity is None:  # negsim writes plain files, never links
            raise ResultsError(
                f"{record.path}: not a plain file, so not negsim's; move it away or choose "
                f"another folder (--out)"
            )
        try:
            size, sha256 = file_digest(record.path)
        except OSError as error:
            raise ResultsError(f"{record.path}: cannot read: {reason(error)}") from None
        self._known[kind.record] = (identity, size, sha256)
        changed = []
        for name, entry in sorted(record.files.items()):
            path = self.path / name
            if not os.path.lexists(path):
                continue  # gone: nothing of the user's to keep
            identity = _identity(path)
            if identity is not None and _matches(path, entry):
                self._known[name] = (identity, int(entry["bytes"]), str(entry["sha256"]))
            else:
                changed.append(name)
        replaced = [name for name in changed if name in self.names]
        if replaced:
            raise ResultsError(
                f"{self.path}: {_listing(replaced)} changed since {kind.writer} wrote "
                f"{_them(replaced)} (not the bytes {kind.record} records); negsim will not "
                f"replace {_them(replaced)}: move {_them(replaced)} away or choose another "
                f"folder (--out)"
            )
        self._changed = changed

    def _unchanged(self, name: str) -> bool:
        """Whether the file ``name`` still holds the bytes verified at open."""
        known = self._known.get(name)
        if known is None:
            return False
        path = self.path / name
        identity = _identity(path)
        if identity is None:
            return False
        if identity == known[0]:
            return True
        try:  # touched, or copied back: the bytes decide
            return file_digest(path) == known[1:]
        except OSError:
            return False

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
                f"{_them(in_the_way)} away or choose another folder (--out)"
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

    def _clean_leftovers(self) -> None:
        """Remove the staging folders of killed runs (we hold the lock: none is alive).

        Only folders inside this one that carry negsim's marker: a folder the
        user named like one stays, and nothing outside the folder is touched.
        """
        try:
            entries = sorted(os.listdir(self.path))
        except OSError:
            entries = []
        for name in entries:
            leftover = self.path / name
            if name.startswith(STAGING_PREFIX) and is_staging(leftover):
                self._roll_back(leftover)
                _remove_staging(leftover)

    def _roll_back(self, staging: Path) -> None:
        # Killed outright between the renames of a commit (the record, moved
        # last, still staged): put the earlier files back where negsim had
        # replaced them, and remove the new ones that had no predecessor.
        try:
            names = json.loads((staging / JOURNAL).read_text(encoding="utf-8"))["names"]
            new = json.loads((staging / self.kind.record).read_text(encoding="utf-8"))["files"]
            earlier = read_record(self.path / self.kind.record, self.kind)
        except (OSError, ValueError, KeyError, TypeError, ResultsError):
            return  # no commit under way (or nothing readable to undo it with)
        if not isinstance(names, list) or not isinstance(new, dict):
            return
        for name in names:
            if not isinstance(name, str) or not is_plain_name(name) or name == self.kind.record:
                continue
            target, saved = self.path / name, staging / ".previous" / name
            entry = new.get(name)
            if os.path.lexists(staging / name) or not isinstance(entry, dict):
                continue  # not moved yet
            if not _matches(target, entry):
                continue  # not the file negsim moved in: not negsim's to touch
            try:
                if _identity(saved) is not None:
                    os.replace(saved, target)
                elif earlier is None or name not in earlier.files:
                    target.unlink()
            except OSError:
                pass  # left as it is; the checks that follow name it

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
        removed, unless ``keep_listed(name)`` (then they stay listed). A
        listed file changed since negsim wrote it is neither: it is kept and
        no longer listed (a note says so).

        Raises:
            ResultsError: the files cannot be moved into place, or a file negsim
                would replace was changed or put there while it worked (then
                nothing is written and the earlier files stay as they were).
        """
        # An interrupt a library swallowed on the way here still means nothing is written.
        interrupts.check()
        record_name = self.kind.record
        try:
            if not self.path.is_dir() or not self._staging_exists():
                raise FileNotFoundError
            files = {name: file_entry(self.staged(name), rows) for name, rows in self._rows.items()}
            stale = []
            carried: dict[str, dict[str, Any]] = {}
            let_go = list(self._changed)
            if self._previous is not None:
                for name, entry in self._previous.files.items():
                    if name in files or name == record_name or name in self._changed:
                        continue
                    if not os.path.lexists(self.path / name):
                        continue  # removed meanwhile: nothing to list or remove
                    if not self._unchanged(name):
                        let_go.append(name)
                    elif keep_listed and keep_listed(name):
                        carried[name] = entry
                    else:
                        stale.append(name)
            full = json.loads(
                json.dumps(
                    {
                        **document,
                        "kind": self.kind.what,
                        "files": dict(sorted({**carried, **files}.items())),
                    },
                    default=str,
                )
            )
            full.pop(SEAL, None)
            full[SEAL] = seal(full)
            staged_record = self.staged(record_name)
            staged_record.write_text(
                json.dumps(full, indent=2, sort_keys=True) + "\n", encoding="utf-8"
            )
            file_entry(staged_record)  # fsync
            # Hours may have passed since the checks: a file may have been put in
            # the way, or one of negsim's changed. Either is the user's now.
            self._check_in_the_way(
                set(self._previous.files) | {record_name} if self._previous else set()
            )
            touched = [
                name
                for name in [*files, record_name]
                if os.path.lexists(self.path / name) and not self._unchanged(name)
            ]
            if touched:
                raise ResultsError(
                    f"{self.path}: {_listing(touched)} changed while negsim was working; "
                    f"negsim will not replace {_them(touched)}: nothing written, earlier "
                    f"{self.kind.what} unchanged; move {_them(touched)} away and run again"
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
        for name in let_go:
            self.notes.append(
                f"{self.path / name}: changed since {self.kind.writer} wrote it; kept as "
                f"yours and no longer listed in {record_name}"
            )
        for name in stale:
            stale_path = self.path / name
            if not is_plain_name(name):
                continue
            if not self._unchanged(name):
                if os.path.lexists(stale_path):
                    self.notes.append(
                        f"{stale_path}: changed since {self.kind.writer} wrote it; kept as yours"
                    )
                continue
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
        # Should the process be killed outright between two renames, this tells
        # the next run which files to put back (`_roll_back`).
        journal = self._staging / JOURNAL
        journal.write_text(json.dumps({"names": names}) + "\n", encoding="utf-8")
        file_entry(journal)  # fsync
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
            _remove_staging(self._staging)
            self._staging = None
        self._lock.release()
        if not self._committed:
            for folder in reversed(self._created):
                try:
                    folder.rmdir()  # only if still empty
                except OSError:
                    break
            self._created = []
        if self._sigterm_guarded:
            self._sigterm_guarded = False
            if signal.getsignal(signal.SIGTERM) is _interrupt:
                signal.signal(signal.SIGTERM, signal.SIG_DFL)


# ------------------------------------------------------------------ drawn from results

RESULTS_SHA256 = "results_sha256"
"""The entry of a figures or report record naming the results it was drawn from
(:func:`results_identity` of their manifest)."""

DRAWN = (
    FolderKind(what="figures", record="figures.json", writer="negsim plot", strict=False),
    FolderKind(what="report", record="report.json", writer="negsim report", strict=False),
)
"""Folders negsim draws from a results folder (`negsim plot`, `negsim report`)."""


def results_identity(manifest: Mapping[str, Any]) -> str:
    """What a figure or report shows of a results folder: the sha256 of its files and run.

    The same CSV files, scenario file, runs and seed give the same identity (a
    rerun with the same seed leaves the figures valid); any other rerun changes it.
    """
    files = manifest.get("files")
    listed = files if isinstance(files, dict) else {}
    body = {
        "files": {
            name: entry.get("sha256")
            for name, entry in sorted(listed.items())
            if isinstance(entry, dict) and name != "hypotheses.md"
        },
        "scenario_sha256": manifest.get("scenario_sha256"),
        "runs": manifest.get("runs"),
        "seed": manifest.get("seed"),
    }
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def drawn_files(folder: Path, kind: FolderKind, manifest: Mapping[str, Any]) -> dict[str, Path]:
    """The files negsim drew into ``folder`` from the results ``manifest`` describes, if current.

    Empty unless the folder's record is intact, names these very results
    (:data:`RESULTS_SHA256`), and each file still holds the bytes it records.
    """
    drawn = drawn_record(folder, kind, manifest)
    return drawn[1] if drawn is not None else {}


def drawn_record(
    folder: Path, kind: FolderKind, manifest: Mapping[str, Any]
) -> tuple[Record, dict[str, Path]] | None:
    """`drawn_files` with the record that lists them (what else it says: how they were drawn)."""
    try:
        record = read_record(Path(folder) / kind.record, kind)
    except ResultsError:
        return None
    if record is None or record.edited or not record.listed:
        return None
    if record.document.get(RESULTS_SHA256) != results_identity(manifest):
        return None
    found = {}
    for name, entry in record.files.items():
        path = Path(folder) / name
        if not _matches(path, entry):
            return None
        found[name] = path
    return record, found


def retire_drawn(results: Path, manifest: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    """Remove the figures and reports negsim drew from earlier results of this folder.

    Called once new results are in place: a sub-folder whose record
    (``figures.json``, ``report.json``) says it was drawn from this folder but
    from other results (or does not say from which) loses the files negsim
    wrote there and their record; the folder goes too if nothing else is left
    in it. A file changed since negsim wrote it, and every file negsim did
    not write, stays. A record edited by hand, or a folder in use, is left
    alone with a note.

    Returns:
        The sub-folders removed whole, and one note per thing the user should know.
    """
    results = Path(results)
    identity = results_identity(manifest)
    removed: list[str] = []
    notes: list[str] = []
    try:
        entries = sorted(os.listdir(results))
    except OSError:
        return removed, notes
    for entry in entries:
        sub = results / entry
        if entry.startswith(".") or sub.is_symlink() or not sub.is_dir():
            continue
        retired = False
        for kind in DRAWN:
            try:
                record = read_record(sub / kind.record, kind)
            except ResultsError:
                continue  # not a record negsim wrote: the folder is the user's
            if record is None:
                continue
            if record.document.get(RESULTS_SHA256) == identity and not record.edited:
                continue  # shows these very results
            if record.edited or not record.listed:
                notes.append(
                    f"{sub}: may show the earlier results ({kind.record} changed by hand or "
                    f"written by an older negsim, so negsim does not touch it)"
                )
                continue
            problems = _retire(sub, record, kind)
            retired = True
            notes += problems or [
                f"{sub}: the {kind.what} {kind.writer} made from the earlier results removed "
                f"(make them again from the new ones: {kind.writer} {results})"
            ]
        if not retired:
            continue  # nothing of negsim's removed: an empty folder is the user's
        try:
            if not os.listdir(sub):
                sub.rmdir()
                removed.append(entry)
        except OSError:
            pass
    return removed, notes


def _retire(folder: Path, record: Record, kind: FolderKind) -> list[str]:
    """Remove the files ``record`` lists (if unchanged) and the record, under the folder's lock."""
    lock = FolderLock(folder, ["negsim", "run"])
    try:
        lock.acquire(wait=False)
    except ResultsError:
        return [f"{folder}: in use, so its {kind.what} (made from the earlier results) stay"]
    notes = []
    try:
        kept = []
        for name, entry in sorted(record.files.items()):
            path = folder / name
            if not is_plain_name(name) or not os.path.lexists(path):
                continue
            if _matches(path, entry):
                path.unlink()
            else:
                kept.append(name)
        (folder / kind.record).unlink()
        sync_folder(folder)
        if kept:
            notes.append(
                f"{folder}: {_listing(kept)} changed since {kind.writer} drew "
                f"{_them(kept)} from the earlier results; kept as yours"
            )
    except OSError as error:
        notes.append(
            f"{folder}: could not remove {kind.what} of the earlier results: {reason(error)}"
        )
    finally:
        lock.release()
    return notes

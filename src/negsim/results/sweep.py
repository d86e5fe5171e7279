"""Sweep folders (`negsim sweep`): the three tables and their manifest, and the checkpoint.

A sweep folder is written under the rules of every negsim folder
(`negsim.results.folder`: checked and locked before the work, staged,
committed with a record of its files). Its record is ``manifest.json``, which
says it is a sweep's (``"sweep"``), so a `negsim run` results folder is never
taken for one (its runs.csv would otherwise be out of date and removed).

While a sweep runs, every finished sample point is appended to a checkpoint
beside the folder, ``.<folder name>.sweep-checkpoint/`` (``points.jsonl``,
one line per point: the point's record as JSON, a tab and the sha256 of that
JSON, flushed to disk; ``identity.json``, what the sweep is). After an
interruption (Ctrl-C, a kill, a power cut, a full disk) `--resume` continues
from it, skipping the points it holds. Every line is checked first: a torn
last line is dropped; a line whose checksum differs, that is not JSON or
whose record the sweep's own check refuses (its sample's values are not the
design's) is dropped too, with one line saying so, and its point simulated
again. The final tables are always computed from the checkpoint's records,
so a resumed sweep writes byte-for-byte the tables an uninterrupted one
would. The checkpoint is removed once the folder is committed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd

from negsim.errors import ResultsError
from negsim.results.filesystem import reason, sync_folder
from negsim.results.folder import FolderKind, OutputFolder
from negsim.results.lock import Holder
from negsim.results.writer import FLOAT_FORMAT, MANIFEST

SWEEP_TABLES = ("sweep.csv", "sensitivity.csv", "robustness.csv")
"""The tables of a sweep folder, in the order they are written."""

SWEEP = FolderKind(what="sweep results", record=MANIFEST, writer="negsim sweep", strict=True)

CHECKPOINT_SUFFIX = ".sweep-checkpoint"
RecordCheck = Callable[[Mapping[str, Any]], str | None]
"""What is wrong with a checkpoint record (e.g. a point the design does not have), or None."""
POINTS = "points.jsonl"
IDENTITY = "identity.json"


@dataclass(frozen=True)
class SweepFolder:
    """What a sweep writes."""

    sweep: pd.DataFrame
    sensitivity: pd.DataFrame
    robustness: pd.DataFrame
    manifest: dict[str, Any]
    """Must hold ``"sweep": {"identity": ...}`` (what the sweep is, for `--resume`)."""

    def tables(self) -> dict[str, pd.DataFrame]:
        return dict(zip(SWEEP_TABLES, (self.sweep, self.sensitivity, self.robustness), strict=True))


def _write_csv(frame: pd.DataFrame, path: Path) -> None:
    frame.to_csv(path, index=False, float_format=FLOAT_FORMAT, lineterminator="\n")


def read_sweep_manifest(destination: Path) -> dict[str, Any] | None:
    """The manifest of the folder at ``destination`` if it holds one (any negsim folder's)."""
    path = Path(destination) / MANIFEST
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as error:
        detail = reason(error) if isinstance(error, OSError) else "not JSON"
        raise ResultsError(f"{path}: cannot read ({detail})") from None
    return document if isinstance(document, dict) else None


def open_sweep_folder(
    destination: Path,
    *,
    protect: Sequence[tuple[str, Path]] = (),
    wait: bool = False,
    on_wait: Callable[[Holder], None] | None = None,
    command: Sequence[str] | None = None,
) -> OutputFolder:
    """Check, create and lock a sweep folder before the work (see `OutputFolder`).

    Raises:
        ResultsError: the folder holds `negsim run` results or files negsim did
            not write, cannot be written, or is in use by another process.
    """
    destination = Path(destination)
    manifest = read_sweep_manifest(destination) if destination.is_dir() else None
    if manifest is not None and "sweep" not in manifest:
        raise ResultsError(
            f"{destination}: holds `negsim run` results, not a sweep's; choose another "
            f"folder (by default a sweep goes to results/<scenario>-sweep)"
        )
    return OutputFolder(
        destination,
        SWEEP,
        names=(*SWEEP_TABLES, MANIFEST),
        protect=protect,
        wait=wait,
        on_wait=on_wait,
        command=command,
    ).open()


def write_sweep(folder: SweepFolder, destination: Path | OutputFolder) -> Path:
    """Write the sweep's tables and manifest, replacing negsim's earlier files only once complete."""
    output = (
        destination if isinstance(destination, OutputFolder) else open_sweep_folder(destination)
    )
    with output:
        for name, frame in folder.tables().items():
            output.write_file(name, partial(_write_csv, frame), len(frame))
        return output.commit(folder.manifest)


# ------------------------------------------------------------------ checkpoint


def checkpoint_path(destination: Path) -> Path:
    """Where the checkpoint of a sweep into ``destination`` lives (beside it)."""
    absolute = Path(destination).absolute()
    return absolute.parent / f".{absolute.name}{CHECKPOINT_SUFFIX}"


def _differences(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """What differs between two identities, in words a user can act on."""
    words = {
        "scenario_sha256": "the scenario file's contents",
        "scenario": "the scenario",
        "factors": "the parameters swept or their ranges",
        "hypotheses": "the hypotheses",
    }
    found = []
    for key in sorted(set(old) | set(new)):
        if old.get(key) == new.get(key):
            continue
        if key in words:
            if key == "scenario":
                found.append(f"scenario {old.get(key)!r} (now {new.get(key)!r})")
            else:
                found.append(f"another version of {words[key]}")
        else:
            found.append(f"{key} {old.get(key)!r} (now {new.get(key)!r})")
    return found


class SweepCheckpoint:
    """The finished sample points of an unfinished sweep (see the module's docstring)."""

    def __init__(self, path: Path, identity: Mapping[str, Any]):
        self.path = path
        self.identity = dict(identity)
        self.check: RecordCheck | None = None
        self.notes: list[str] = []
        """One line per thing the user should know (damaged records dropped)."""
        self._handle: Any = None

    @classmethod
    def open(
        cls,
        destination: Path,
        identity: Mapping[str, Any],
        resume: bool,
        check: RecordCheck | None = None,
    ) -> tuple[SweepCheckpoint, list[dict[str, Any]]]:
        """The checkpoint of a sweep into ``destination`` and the points it already holds.

        Without ``resume``, an existing checkpoint is refused (it may be hours of
        work); with it, a checkpoint of another sweep (scenario, seed, method,
        ...) is refused, and a missing one starts afresh. ``check(record)``
        says what is wrong with a record, or None: such records are dropped
        (see the module's docstring) and `notes` says so in one line.

        Raises:
            ResultsError: a checkpoint that cannot be used, with what to do.
        """
        path = checkpoint_path(destination)
        checkpoint = cls(path, identity)
        checkpoint.check = check
        if not path.exists():
            checkpoint._create()
            return checkpoint, []
        stored = checkpoint._read_identity()
        if not resume:
            done = len(checkpoint._read_points(repair=False))
            raise ResultsError(
                f"{destination}: an unfinished sweep is there ({done} points done, "
                f"checkpoint {path}); continue it with --resume, or delete {path} to start over"
            )
        if stored != checkpoint.identity:
            raise ResultsError(
                f"{destination}: cannot resume: the unfinished sweep there was started with "
                + "; ".join(_differences(stored, checkpoint.identity))
                + f". Rerun with the same scenario and options, or delete {path} to start over"
            )
        # Only now, the sweep known to be this one, are records checked against its design.
        return checkpoint, checkpoint._read_points()

    def _create(self) -> None:
        try:
            self.path.mkdir(parents=True)
            _write_atomically(self.path / IDENTITY, _dumps(self.identity, indent=2) + "\n")
            (self.path / POINTS).touch()
            sync_folder(self.path)
        except OSError as error:
            raise ResultsError(
                f"{self.path}: cannot write the checkpoint: {reason(error)}"
            ) from None

    def _read_identity(self) -> dict[str, Any]:
        try:
            stored = json.loads((self.path / IDENTITY).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raise ResultsError(
                f"{self.path}: damaged sweep checkpoint (no readable {IDENTITY}); delete it "
                "to start over"
            ) from None
        return dict(stored) if isinstance(stored, dict) else {}

    def _read_points(self, repair: bool = True) -> list[dict[str, Any]]:
        """The good records, in file order; damaged lines are dropped from the file and noted.

        Without ``repair`` (a checkpoint that may be another sweep's), records are
        only parsed, and the file is left as it is.
        """
        try:
            raw = (self.path / POINTS).read_bytes()
        except FileNotFoundError:
            raw = b""
        except OSError as error:
            raise ResultsError(
                f"{self.path}: cannot read the checkpoint: {reason(error)}"
            ) from None
        records: list[dict[str, Any]] = []
        kept: list[bytes] = []
        dropped: list[str] = []
        seen: set[Any] = set()
        for number, line in enumerate(raw.splitlines(keepends=True), 1):
            if not line.endswith(b"\n"):
                break  # the last line, torn by a kill in the middle of a write
            record, problem = self._parse(line[:-1], check=repair)
            if record is not None and problem is None and record.get("sample") in seen:
                problem = f"a second record of sample {record.get('sample')}"
            if problem is not None or record is None:
                dropped.append(f"line {number}: {problem}")
                continue
            seen.add(record.get("sample"))
            records.append(record)
            kept.append(line)
        if not repair:
            return records
        good = b"".join(kept)
        if good != raw:
            try:
                _write_atomically(self.path / POINTS, good.decode("utf-8"))
            except OSError as error:
                raise ResultsError(
                    f"{self.path}: cannot repair the checkpoint: {reason(error)}"
                ) from None
        if dropped:
            more = f"; and {len(dropped) - 3} more" if len(dropped) > 3 else ""
            self.notes.append(
                f"{self.path / POINTS}: {len(dropped)} damaged record"
                f"{'s' if len(dropped) != 1 else ''} dropped ({'; '.join(dropped[:3])}{more}); "
                f"resuming from the {len(records)} good point{'s' if len(records) != 1 else ''}, "
                "the others are simulated again"
            )
        return records

    def _parse(self, line: bytes, check: bool) -> tuple[dict[str, Any] | None, str | None]:
        """A line's record and what is wrong with it (None if nothing)."""
        text, tab, digest = line.rpartition(b"\t")
        if not tab:
            text = line  # written before lines carried a checksum: parsed and checked only
        elif hashlib.sha256(text).hexdigest().encode("ascii") != digest:
            return None, "its checksum differs"
        try:
            record = json.loads(text)
        except (UnicodeDecodeError, ValueError):
            return None, "not JSON"
        if not isinstance(record, dict):
            return None, "not a record"
        if check and self.check is not None:
            problem = self.check(record)
            if problem is not None:
                return record, problem
        return record, None

    def add(self, record: Mapping[str, Any]) -> None:
        """Append one finished point, on disk before this returns.

        Raises:
            ResultsError: the point cannot be written (a full disk); the points
                before it are kept, to be resumed.
        """
        text = _dumps(record).encode("utf-8")
        line = text + b"\t" + hashlib.sha256(text).hexdigest().encode("ascii") + b"\n"
        try:
            if self._handle is None:
                self._handle = open(self.path / POINTS, "ab")  # noqa: SIM115
            self._handle.write(line)
            self._handle.flush()
            os.fsync(self._handle.fileno())
        except OSError as error:
            self.close()  # what could not be written is given up, not retried by the close
            raise ResultsError(
                f"{self.path}: cannot write the checkpoint: {reason(error)}; the points "
                "done so far are kept: make room, then continue with --resume"
            ) from None

    def records(self) -> list[dict[str, Any]]:
        """Every point the checkpoint holds, as read back from the disk."""
        self.close()
        return self._read_points()

    def close(self) -> None:
        """Close the file; never raises.

        It runs in the cleanup of a failure (a full disk), whose own message
        must not be masked; a line it could not flush is torn at worst, and a
        torn last line is dropped when the checkpoint is read.
        """
        handle, self._handle = self._handle, None
        if handle is not None:
            with contextlib.suppress(OSError):
                handle.close()

    def remove(self) -> None:
        """Delete the checkpoint (once the sweep folder is committed)."""
        self.close()
        shutil.rmtree(self.path, ignore_errors=True)


def _dumps(value: Any, indent: int | None = None) -> str:
    # NaN is written as JSON's common extension `NaN` and read back by json.loads.
    return json.dumps(value, indent=indent, sort_keys=indent is not None, default=_plain)


def _plain(value: Any) -> Any:
    import numpy as np

    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if value is pd.NA:
        return None
    return str(value)


def _write_atomically(path: Path, text: str) -> None:
    temporary = path.with_name(path.name + ".tmp")
    with open(temporary, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)

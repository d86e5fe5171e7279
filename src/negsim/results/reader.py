"""Reading a results folder back, every file checked against its manifest.

A file whose size, row count or sha256 differs from what ``manifest.json``
records (truncated by a full disk, edited by hand, replaced by another run)
is an error naming the file: figures are never drawn from damaged results.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from negsim.errors import ResultsError
from negsim.results.filesystem import reason
from negsim.results.folder import read_record
from negsim.results.writer import MANIFEST, RESULTS


def count_rows(text: Iterable[str]) -> int | None:
    """Data rows of a CSV text (its header not counted); None if it is not readable CSV."""
    try:
        return max(0, sum(1 for _ in csv.reader(text)) - 1)
    except csv.Error:
        return None


def _rows_in_file(path: Path) -> int | None:
    try:
        with open(path, encoding="utf-8", errors="replace", newline="") as text:
            return count_rows(text)
    except OSError:
        return None


def _digest(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size


def _mismatch(
    path: Path, sha256: str, size: int, entry: dict[str, Any], rows: Callable[[], int | None]
) -> str | None:
    """Why the file is not the one the manifest describes, or None if it is."""
    if sha256 == entry["sha256"]:
        return None
    recorded = entry.get("rows")
    if recorded is not None and path.suffix == ".csv":
        found = rows()
        if found is not None and found != recorded:
            return (
                f"{path}: {found} rows where {MANIFEST} records {recorded} "
                "(truncated or changed since negsim wrote it)"
            )
    if size != entry.get("bytes"):
        return (
            f"{path}: {size} bytes where {MANIFEST} records {entry.get('bytes')} "
            "(changed since negsim wrote it)"
        )
    return f"{path}: changed since negsim wrote it (its sha256 differs from {MANIFEST})"


@dataclass(frozen=True)
class Results:
    """A results folder whose files all matched its manifest when opened."""

    folder: Path
    manifest: dict[str, Any]
    files: dict[str, dict[str, Any]]

    def read_bytes(self, name: str) -> bytes:
        """The bytes of file ``name``, checked again (another run may have replaced it since).

        Raises:
            ResultsError: the file is not listed, cannot be read or no longer matches.
        """
        path = self.folder / name
        entry = self.files.get(name)
        if entry is None:
            raise ResultsError(f"{path}: not listed in {MANIFEST}")
        try:
            data = path.read_bytes()
        except OSError as error:
            raise ResultsError(f"{path}: cannot read: {reason(error)}") from None
        problem = _mismatch(
            path,
            hashlib.sha256(data).hexdigest(),
            len(data),
            entry,
            lambda: count_rows(io.StringIO(data.decode("utf-8", errors="replace"), newline="")),
        )
        if problem:
            raise ResultsError(problem)
        return data


def open_results(folder: Path) -> Results:
    """Open a results folder, checking every file its manifest lists.

    Raises:
        ResultsError: not a results folder, or one line per missing or damaged file.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ResultsError(f"{folder}: no such results folder")
    record = read_record(folder / MANIFEST, RESULTS)
    if record is None:
        raise ResultsError(
            f"{folder}: not a results folder (no {MANIFEST}; write one with negsim run)"
        )
    if not record.listed:
        raise ResultsError(
            f"{record.path}: lists no checksums of its files (written by an older negsim); "
            "run the scenario again"
        )
    problems = []
    for name, entry in record.files.items():
        path = folder / name
        if not isinstance(entry.get("sha256"), str):
            problems.append(f"{record.path}: damaged (no sha256 for {name})")
            continue
        try:
            sha256, size = _digest(path)
        except FileNotFoundError:
            problems.append(f"{path}: missing ({MANIFEST} lists it)")
            continue
        except OSError as error:
            problems.append(f"{path}: cannot read: {reason(error)}")
            continue
        problem = _mismatch(path, sha256, size, entry, partial(_rows_in_file, path))
        if problem:
            problems.append(problem)
    if problems:
        raise ResultsError("\n".join(problems))
    return Results(folder, record.document, record.files)

"""Writing a results folder atomically.

Files are written into a temporary folder beside the destination and moved
into place only when all of them are complete, so an interrupted or failed
run leaves either the earlier results or nothing, never a half-written
folder.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from negsim.errors import ResultsError

FLOAT_FORMAT = "%.6g"


@dataclass(frozen=True)
class ResultsFolder:
    """What a run writes: the four tables and the manifest."""

    runs: pd.DataFrame
    timeseries: pd.DataFrame
    hypotheses: pd.DataFrame
    events: pd.DataFrame
    manifest: dict[str, Any]


def _write_csv(frame: pd.DataFrame, path: Path) -> None:
    frame.to_csv(path, index=False, float_format=FLOAT_FORMAT, lineterminator="\n")


def write_results(folder: ResultsFolder, destination: Path) -> Path:
    """Write ``folder`` to ``destination``, replacing what was there only once complete."""
    destination = Path(destination)
    parent = destination.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{destination.name}.partial-", dir=parent))
    except OSError as error:
        raise ResultsError(
            f"{parent}: cannot create the results folder: {error.strerror}"
        ) from None
    try:
        _write_csv(folder.runs, staging / "runs.csv")
        _write_csv(folder.timeseries, staging / "timeseries.csv")
        _write_csv(folder.hypotheses, staging / "hypotheses.csv")
        _write_csv(folder.events, staging / "events.csv")
        (staging / "manifest.json").write_text(
            json.dumps(folder.manifest, indent=2, sort_keys=True, default=str) + "\n",
            encoding="utf-8",
        )
        os.chmod(staging, 0o755)
        _swap_into_place(staging, destination)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return destination


def _swap_into_place(staging: Path, destination: Path) -> None:
    """Move ``staging`` to ``destination``; an existing folder is kept until the move succeeds."""
    if destination.exists() and not destination.is_dir():
        raise ResultsError(f"{destination}: exists and is not a folder")
    retired = None
    if destination.exists():
        retired = destination.with_name(f".{destination.name}.old-{os.getpid()}")
        os.replace(destination, retired)
    try:
        os.replace(staging, destination)
    except OSError as error:
        if retired is not None:
            os.replace(retired, destination)
        raise ResultsError(f"{destination}: cannot write results: {error.strerror}") from None
    if retired is not None:
        shutil.rmtree(retired, ignore_errors=True)

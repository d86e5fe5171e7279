"""Writing a results folder: the five tables and their manifest.

The folder is opened (checked, locked, staged) before the simulation and
committed after it; the rules of what negsim may replace are those of
`negsim.results.folder`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd

from negsim.results.folder import FolderKind, OutputFolder, retire_drawn
from negsim.results.lock import Holder

FLOAT_FORMAT = "%.6g"
MANIFEST = "manifest.json"
TABLES = ("runs.csv", "timeseries.csv", "hypotheses.csv", "events.csv", "patterns.csv")
"""The tables of a results folder, in the order they are written."""
RUNS_PARQUET = "runs.parquet"
"""`runs.csv` as Parquet (`negsim run --runs-format parquet`): the same rows and columns."""
RUNS_FORMATS = ("csv", "parquet")
SERIES = "series.parquet"
"""Every run's weekly series, written on request (`negsim run --keep-series`)."""
POSTERIOR = "posterior.csv"
"""Drawn inputs' prior and posterior given the record, and the acceptance (with `observed:`)."""
HYPOTHESES_MD = "hypotheses.md"
"""The verdicts as a table and in full sentences (`negsim run`; docs/results.md)."""
_BEFORE_MANIFESTS = ("runs.csv", "timeseries.csv", "hypotheses.csv", "events.csv")

RESULTS = FolderKind(
    what="results",
    record=MANIFEST,
    writer="negsim run",
    strict=True,
    legacy_names=frozenset({*_BEFORE_MANIFESTS, MANIFEST}),
)


@dataclass(frozen=True)
class ResultsFolder:
    """What a run writes: the five tables and the manifest."""

    runs: pd.DataFrame | None
    """None: `runs.csv` was streamed into the staging folder already (`EnsembleStream`)."""
    timeseries: pd.DataFrame
    hypotheses: pd.DataFrame
    events: pd.DataFrame
    manifest: dict[str, Any]
    patterns: pd.DataFrame = field(default_factory=pd.DataFrame)
    """How often the base runs reproduce the scenario's `observed` record (header only without one)."""
    posterior: pd.DataFrame | None = None
    """`posterior.csv` (rejection ABC on the record); None: not written (no conditioning patterns)."""

    def tables(self) -> Mapping[str, pd.DataFrame | None]:
        frames = (self.runs, self.timeseries, self.hypotheses, self.events, self.patterns)
        tables = dict(zip(TABLES, frames, strict=True))
        if self.posterior is not None:
            tables[POSTERIOR] = self.posterior
        return tables


def _write_csv(frame: pd.DataFrame, path: Path) -> None:
    frame.to_csv(path, index=False, float_format=FLOAT_FORMAT, lineterminator="\n")


def open_results_folder(
    destination: Path,
    *,
    protect: Sequence[tuple[str, Path]] = (),
    estimate: int = 0,
    wait: bool = False,
    on_wait: Callable[[Holder], None] | None = None,
    command: Sequence[str] | None = None,
) -> OutputFolder:
    """Check, create and lock a results folder before the work (see `OutputFolder`).

    Raises:
        ResultsError: the folder cannot be written, holds files negsim did not
            write (or that were changed since it wrote them, or a manifest
            edited by hand), is in use by another run, or its disk lacks the
            space.
    """
    return OutputFolder(
        Path(destination),
        RESULTS,
        names=(*TABLES, POSTERIOR, RUNS_PARQUET, SERIES, HYPOTHESES_MD, MANIFEST),
        protect=protect,
        estimate=estimate,
        wait=wait,
        on_wait=on_wait,
        command=command,
    ).open()


def write_results(folder: ResultsFolder, destination: Path | OutputFolder) -> Path:
    """Write ``folder``'s tables and manifest, replacing negsim's earlier files only once complete.

    ``destination`` is a path (opened here) or a folder opened before the work.
    """
    output = (
        destination
        if isinstance(destination, OutputFolder)
        else open_results_folder(Path(destination))
    )
    with output:
        for name, frame in folder.tables().items():
            if frame is not None:
                output.write_file(name, partial(_write_csv, frame), len(frame))
        path = output.commit(folder.manifest)
    # Figures and reports made from the earlier results go with them (never the user's files).
    try:
        manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return path
    removed, notes = retire_drawn(path, manifest)
    output.notes += notes
    output.kept[:] = [name for name in output.kept if name.rstrip("/") not in removed]
    return path

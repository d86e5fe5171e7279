"""Results written as chunks arrive: memory bounded by the chunk, not by the run count.

A run of a million replications per variant cannot hold every run's weekly
series (metrics x weeks x runs, about 6 GB a variant for geneva3) nor build
`runs.csv` as one table. `EnsembleStream` takes the chunks of every variant
in the order they finish, puts them back in replication order and, chunk by
chunk:

- appends the chunk's rows to that variant's part of `runs.csv` (joined in
  the variants' order at the end: the same bytes as a table written at once);
- writes its weekly series into a spill file on disk, in one write: chunk
  after chunk, each laid out (metric, week, run), so that a metric's weeks
  are one contiguous read per chunk; the per-week mean and percentiles of
  `timeseries.csv` are then computed a block of weeks at a time, over every
  run in order (exactly, not from a sketch) and the spill file deleted;
- keeps the few per-run values the verdicts pair (the hypotheses' metrics),
  8 bytes per run and metric;
- for the base variant, which record patterns each run reproduces;
- optionally (`--keep-series`) appends the series to `series.parquet`.

Every file is written in the staging folder of the results folder, so an
interrupted run leaves nothing behind (see `negsim.results.folder`).
"""

from __future__ import annotations

import datetime as dt
import errno
import os
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from negsim.results.tables import csv_lines, runs_rows, summary_frame
from negsim.results.writer import FLOAT_FORMAT
from negsim.run.ensemble import ChunkResult
from negsim.scenario import BASE
from negsim.scenario.schema import Scenario

MATCHES_COLUMN = "matches_record"

PARQUET_COMPRESSION = "zstd"
"""Parquet files' codec: smaller than the default snappy on these tables, still fast to read."""

Matcher = Callable[[np.ndarray, Sequence[str]], np.ndarray]
"""(metric, week, run) series of base runs -> (pattern, run) booleans: which reproduce the record."""


class _Variant:
    """The state of one variant's stream: next chunk expected, files being written."""

    def __init__(self, index: int, name: str, scenario: Scenario, staging: Path):
        self.index = index
        self.name = name
        self.scenario = scenario
        self.next = 0
        self.pending: dict[int, ChunkResult] = {}
        self.rows_path = staging / f".runs-{index}.csv"
        self.spill_path = staging / f".series-{index}.bin"
        self.series_path = staging / f".series-{index}.parquet"
        self.spill: int | None = None
        self.shape: tuple[int, int] | None = None  # (metrics, weeks)
        self.dtype: np.dtype[Any] | None = None
        self.metric_names: list[str] = []
        self.spinup_weeks: list[int] = []  # per chunk, in chunk order
        self.summary: pd.DataFrame | None = None
        self.series_writer: Any = None
        self.rows_parquet = staging / f".runs-{index}.parquet"
        self.rows_writer: Any = None


class EnsembleStream:
    """Collects the chunks of several variants' ensembles into results files, in bounded memory.

    ``columns`` are the `runs.csv` columns kept in memory for the verdicts.
    ``matcher`` (with a base variant among ``variants``) marks the runs that
    reproduce the record; the base runs are then written first and other
    variants' chunks wait for the base chunk of the same replications, so
    submit the base variant's chunks first.
    """

    def __init__(
        self,
        variants: Sequence[tuple[str, Scenario]],
        runs: int,
        chunk_size: int,
        staging: Path,
        columns: Sequence[str] = (),
        matcher: Matcher | None = None,
        patterns: int = 0,
        keep_series: bool = False,
        runs_format: str = "csv",
        conditions: Sequence[int] | None = None,
    ):
        if runs_format not in ("csv", "parquet"):
            raise ValueError(f"runs_format: csv or parquet (got {runs_format!r})")
        self.runs_format = runs_format
        self.runs = runs
        self.chunk_size = chunk_size
        self.staging = Path(staging)
        self.columns = list(dict.fromkeys(columns))
        self.keep_series = keep_series
        self.chunks = -(-runs // chunk_size)
        self._variants = {
            name: _Variant(index, name, scenario, self.staging)
            for index, (name, scenario) in enumerate(variants)
        }
        self._matcher = matcher if BASE in self._variants else None
        self.matches = np.zeros((patterns if self._matcher else 0, runs), dtype=bool)
        # The patterns `matches_record` requires (`use: condition`); None: all of them.
        self._conditions = list(range(patterns)) if conditions is None else list(conditions)
        # Variant after variant, as the verdicts' table has them: no copy to make it.
        self._kept = {column: np.empty(runs * len(self._variants)) for column in self.columns}
        self._header = ""

    def spinup_weeks(self) -> dict[str, list[int]]:
        """The weeks each variant's spin-up ran, chunk by chunk (the manifest's `spinup_weeks`)."""
        return {name: list(state.spinup_weeks) for name, state in self._variants.items()}

    # ---------------------------------------------------------------- input

    def add(self, chunk: ChunkResult) -> None:
        """Take one finished chunk (any order); write every chunk that is now next in line."""
        self._variants[chunk.variant].pending[chunk.chunk] = chunk
        progressed = True
        while progressed:
            progressed = False
            for state in self._variants.values():
                while state.next in state.pending and self._ready(state):
                    self._write(state, state.pending.pop(state.next))
                    state.next += 1
                    progressed = True
                    if state.next == self.chunks:
                        self._finish_variant(state)

    def _ready(self, state: _Variant) -> bool:
        # A chunk's rows carry the base runs' record match: the base chunk comes first.
        if self._matcher is None or state.name == BASE:
            return True
        return self._variants[BASE].next > state.next

    def _write(self, state: _Variant, chunk: ChunkResult) -> None:
        first = chunk.chunk * self.chunk_size
        n = min(self.chunk_size, self.runs - first)
        state.spinup_weeks.append(chunk.spinup_weeks)
        outcomes = {name: values[:n] for name, values in chunk.outcomes.items()}
        series = np.ascontiguousarray(chunk.series[..., :n])
        span = slice(first, first + n)
        if state.name == BASE and self._matcher is not None:
            self.matches[:, span] = self._matcher(series, chunk.metric_names)
        inputs = {path: values[:n] for path, values in chunk.inputs.items()}
        rows = runs_rows(state.name, state.scenario, outcomes, first, inputs)
        if self._matcher is not None:
            rows[MATCHES_COLUMN] = self.matches[self._conditions, span].all(axis=0).astype(float)
        if self.runs_format == "parquet":
            self._append_parquet_rows(state, rows)
        else:
            if not self._header:
                self._header = rows.iloc[:0].to_csv(index=False, lineterminator="\n")
            with open(state.rows_path, "a", encoding="utf-8", newline="") as file:
                lines = csv_lines(rows, FLOAT_FORMAT)
                if lines is not None:
                    file.write(lines)
                else:  # a column csv_lines does not cover: pandas writes the same bytes, slower
                    rows.to_csv(
                        file,
                        index=False,
                        header=False,
                        float_format=FLOAT_FORMAT,
                        lineterminator="\n",
                    )
        offset = state.index * self.runs
        for column in self.columns:
            self._kept[column][offset + first : offset + first + n] = rows[column].to_numpy(
                dtype=float, na_value=np.nan
            )
        self._spill(state, chunk.metric_names, series, first)
        if self.keep_series:
            self._append_series(state, chunk.metric_names, series, first)

    def _append_parquet_rows(self, state: _Variant, rows: pd.DataFrame) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pandas(rows, preserve_index=False)
        if state.rows_writer is None:
            state.rows_writer = pq.ParquetWriter(
                state.rows_parquet, table.schema, compression=PARQUET_COMPRESSION
            )
        state.rows_writer.write_table(table)

    # ---------------------------------------------------------------- series

    def _spill(self, state: _Variant, names: list[str], series: np.ndarray, first: int) -> None:
        if state.spill is None:
            state.spill = os.open(state.spill_path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
            state.shape = series.shape[:2]
            state.dtype = series.dtype
            state.metric_names = list(names)
        # Chunk after chunk, each laid out (metric, week, run): one write per chunk. Every
        # chunk but the last is whole, so chunk c starts at c * chunk_size runs' worth.
        metrics, weeks = series.shape[:2]
        offset = first * metrics * weeks * series.dtype.itemsize
        _write_all(state.spill, np.ascontiguousarray(series).tobytes(), offset)

    def _finish_variant(self, state: _Variant) -> None:
        assert state.spill is not None and state.shape is not None and state.dtype is not None
        metrics, weeks = state.shape
        dtype, size, fd = state.dtype, state.dtype.itemsize, state.spill
        starts = range(0, self.runs, self.chunk_size)

        def block(m: int, first: int, stop: int) -> np.ndarray:
            # Weeks first:stop of metric m: one contiguous stretch of each chunk, side by side.
            parts = []
            for start in starts:
                n = min(self.chunk_size, self.runs - start)
                length = (stop - first) * n * size
                at = start * metrics * weeks * size + (m * weeks + first) * n * size
                data = os.pread(fd, length, at)
                if len(data) != length:
                    raise OSError(errno.EIO, f"{state.spill_path}: shorter than written")
                parts.append(np.frombuffer(data, dtype=dtype).reshape(stop - first, n))
            return np.concatenate(parts, axis=1)

        def row(m: int, w: int) -> np.ndarray:
            return block(m, w, w + 1)[0]

        start = state.scenario.calendar.start
        dates = [start + dt.timedelta(weeks=week) for week in range(weeks)]
        state.summary = summary_frame(state.name, state.metric_names, dates, row, block)
        os.close(fd)
        state.spill = None
        state.spill_path.unlink(missing_ok=True)
        for writer in ("series_writer", "rows_writer"):
            if getattr(state, writer) is not None:
                getattr(state, writer).close()
                setattr(state, writer, None)

    def _append_series(
        self, state: _Variant, names: list[str], series: np.ndarray, first: int
    ) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        metrics, weeks, n = series.shape
        start = state.scenario.calendar.start
        columns: dict[str, Any] = {
            "variant": pa.array([state.name] * (n * weeks)).dictionary_encode(),
            "replication": np.repeat(np.arange(first, first + n, dtype=np.int64), weeks),
            "step": np.tile(np.arange(weeks, dtype=np.int32), n),
            "date": np.tile(
                np.array([start + dt.timedelta(weeks=w) for w in range(weeks)], "datetime64[D]"),
                n,
            ),
        }
        for m, name in enumerate(names):
            columns[name] = series[m].T.reshape(-1)  # (run, week), run-major
        table = pa.table(columns)
        if state.series_writer is None:
            state.series_writer = pq.ParquetWriter(
                state.series_path, table.schema, compression=PARQUET_COMPRESSION
            )
        state.series_writer.write_table(table)

    # ---------------------------------------------------------------- output

    def complete(self) -> bool:
        return all(state.next == self.chunks for state in self._variants.values())

    def summaries(self) -> dict[str, pd.DataFrame]:
        """Each variant's `timeseries.csv` rows."""
        return {
            name: state.summary
            for name, state in self._variants.items()
            if state.summary is not None
        }

    def verdict_table(self) -> pd.DataFrame:
        """The `runs.csv` columns the verdicts need, every variant and replication."""
        names = list(self._variants)
        # A category, not a string per row: at a million runs the strings alone take 60 MB.
        variant = pd.Categorical.from_codes(
            np.repeat(np.arange(len(names)), self.runs), categories=pd.Index(names)
        )
        columns: dict[str, Any] = {
            "variant": variant,
            "replication": np.tile(np.arange(self.runs), len(names)),
        }
        for column in self.columns:
            columns[column] = self._kept[column]
        return pd.DataFrame(columns, copy=False)

    def write_runs(self, path: Path) -> int:
        """Join the variants' parts of `runs.csv` (or `runs.parquet`) into ``path``; its rows."""
        if self.runs_format == "parquet":
            _join_parquet([state.rows_parquet for state in self._variants.values()], path)
            return self.runs * len(self._variants)
        with open(path, "w", encoding="utf-8", newline="") as out:
            out.write(self._header)
            for state in self._variants.values():
                with open(state.rows_path, encoding="utf-8", newline="") as part:
                    shutil.copyfileobj(part, out, 1 << 20)
                state.rows_path.unlink()
        return self.runs * len(self._variants)

    def write_series(self, path: Path) -> int:
        """Join the variants' series into one Parquet file, a row group at a time; its rows."""
        return _join_parquet([state.series_path for state in self._variants.values()], path)

    def discard(self) -> None:
        """Close and delete every file of this stream (a pass of `--runs auto` that is redone)."""
        self.close()
        for state in self._variants.values():
            for path in (state.rows_path, state.rows_parquet, state.spill_path, state.series_path):
                path.unlink(missing_ok=True)

    def close(self) -> None:
        """Release open files (the staging folder's removal deletes what is left)."""
        for state in self._variants.values():
            if state.spill is not None:
                os.close(state.spill)
                state.spill = None
            for writer in ("series_writer", "rows_writer"):
                if getattr(state, writer) is not None:
                    getattr(state, writer).close()
                    setattr(state, writer, None)


def _join_parquet(parts: Sequence[Path], path: Path) -> int:
    """Copy Parquet files into one, a row group at a time (bounded memory); delete them; rows."""
    import pyarrow.parquet as pq

    writer = None
    rows = 0
    try:
        for part in parts:
            source = pq.ParquetFile(part)
            for group in range(source.num_row_groups):
                table = source.read_row_group(group)
                if writer is None:
                    writer = pq.ParquetWriter(path, table.schema, compression=PARQUET_COMPRESSION)
                writer.write_table(table)
                rows += table.num_rows
            source.close()
            part.unlink()
    finally:
        if writer is not None:
            writer.close()
    return rows


def _write_all(fd: int, data: bytes, offset: int) -> None:
    """`os.pwrite` until every byte is written: a full disk may take part of them silently."""
    view = memoryview(data)
    while view:
        written = os.pwrite(fd, view, offset)
        if written <= 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        view, offset = view[written:], offset + written

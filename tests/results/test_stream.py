"""Results streamed chunk by chunk: the same files as tables built at once, in any arrival order."""

from __future__ import annotations

import io
import random
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from negsim.analysis.patterns import match, weeks_of
from negsim.results.stream import MATCHES_COLUMN, EnsembleStream
from negsim.results.tables import runs_frame, timeseries_frame
from negsim.results.writer import FLOAT_FORMAT
from negsim.run.ensemble import assemble, chunk_tasks, simulate_chunk

RUNS, CHUNK, SEED = 130, 40, 11  # four chunks, the last cut to 10 runs
VARIANTS = ("base", "alloush_alive")


@pytest.fixture(scope="module")
def chunks(geneva3):
    """Every chunk of two variants, simulated once for the module."""
    return [
        simulate_chunk(task)
        for name in VARIANTS
        for task in chunk_tasks(name, geneva3.variant(name), RUNS, SEED, CHUNK)
    ]


def stream_of(geneva3, staging: Path, chunks, order, **options) -> EnsembleStream:
    patterns = weeks_of(geneva3.scenario)
    stream = EnsembleStream(
        [(name, geneva3.variant(name)) for name in VARIANTS],
        RUNS,
        CHUNK,
        staging,
        columns=["agreement", "opposition_cohesion_at_talks", "agreement_week"],
        matcher=lambda series, names: match(patterns, series, names),
        patterns=len(patterns),
        **options,
    )
    for index in order:
        stream.add(chunks[index])
    return stream


def whole(geneva3, chunks):
    """The ensembles assembled in memory, as before streaming."""
    return [
        assemble(name, geneva3.variant(name), RUNS, [c for c in chunks if c.variant == name])
        for name in VARIANTS
    ]


def csv_text(frame: pd.DataFrame) -> str:
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, float_format=FLOAT_FORMAT, lineterminator="\n")
    return buffer.getvalue()


def test_streamed_files_are_those_of_the_whole_tables(geneva3, chunks, tmp_path):
    stream = stream_of(geneva3, tmp_path, chunks, range(len(chunks)))
    assert stream.complete()
    ensembles = whole(geneva3, chunks)
    patterns = weeks_of(geneva3.scenario)
    matches = match(patterns, ensembles[0].series, ensembles[0].metric_names)
    np.testing.assert_array_equal(stream.matches, matches)

    expected = runs_frame(ensembles)
    record = pd.Series(matches.all(axis=0), index=range(RUNS))
    expected[MATCHES_COLUMN] = expected["replication"].map(record).astype(float)
    assert stream.write_runs(tmp_path / "runs.csv") == RUNS * len(VARIANTS)
    assert (tmp_path / "runs.csv").read_text() == csv_text(expected)

    for ensemble in ensembles:
        summary = stream.summaries()[ensemble.variant]
        assert csv_text(summary) == csv_text(timeseries_frame(ensemble))

    kept = stream.verdict_table()
    for column in ("agreement", "opposition_cohesion_at_talks", "agreement_week"):
        np.testing.assert_array_equal(
            kept[column].to_numpy(), expected[column].to_numpy(dtype=float, na_value=np.nan)
        )
    # Nothing but the written file is left: the spills are gone once summarised.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["runs.csv"]


def test_the_arrival_order_does_not_change_a_byte(geneva3, chunks, tmp_path):
    texts = []
    for trial in range(3):
        order = list(range(len(chunks)))
        random.Random(trial).shuffle(order)
        folder = tmp_path / str(trial)
        folder.mkdir()
        stream = stream_of(geneva3, folder, chunks, order)
        stream.write_runs(folder / "runs.csv")
        summaries = pd.concat([stream.summaries()[name] for name in VARIANTS])
        texts.append(((folder / "runs.csv").read_text(), csv_text(summaries)))
    assert texts[0] == texts[1] == texts[2]


def test_other_variants_wait_for_the_base_runs_they_are_matched_with(geneva3, chunks, tmp_path):
    base = [i for i, c in enumerate(chunks) if c.variant == "base"]
    other = [i for i, c in enumerate(chunks) if c.variant != "base"]
    stream = stream_of(geneva3, tmp_path, chunks, other)
    assert not stream.complete() and stream.summaries() == {}
    for index in base:
        stream.add(chunks[index])
    assert stream.complete()


def test_kept_series_are_every_run_and_week(geneva3, chunks, tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    stream = stream_of(geneva3, tmp_path, chunks, reversed(range(len(chunks))), keep_series=True)
    weeks = geneva3.scenario.weeks()
    assert stream.write_series(tmp_path / "series.parquet") == RUNS * len(VARIANTS) * weeks
    table = pq.read_table(tmp_path / "series.parquet").to_pandas()
    ensemble = whole(geneva3, chunks)[1]
    rows = table[table["variant"] == ensemble.variant]
    name = ensemble.metric_names[3]
    # Run-major: replication r's weeks follow one another.
    values = rows[name].to_numpy().reshape(RUNS, weeks).T
    np.testing.assert_array_equal(values, ensemble.series[3])
    assert rows["replication"].is_monotonic_increasing


def test_a_discarded_stream_leaves_no_file(geneva3, chunks, tmp_path):
    stream = stream_of(geneva3, tmp_path, chunks, range(3), keep_series=True)
    stream.discard()
    assert list(tmp_path.iterdir()) == []


def test_memory_is_bounded_by_the_chunk_not_by_the_runs(geneva3, chunks, tmp_path):
    import dataclasses
    import tracemalloc

    base = next(c for c in chunks if c.variant == "base" and c.chunk == 0)
    series_bytes = base.series.nbytes

    def peak(count: int) -> int:
        folder = tmp_path / str(count)
        folder.mkdir()
        stream = EnsembleStream(
            [("base", geneva3.variant("base"))],
            count * CHUNK,
            CHUNK,
            folder,
            columns=["agreement"],
        )
        copies = [dataclasses.replace(base, chunk=index) for index in range(count)]
        tracemalloc.start()
        try:
            for copy in copies:
                stream.add(copy)
            _, top = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert stream.complete()
        return top

    few, many = peak(2), peak(24)
    # Holding the series would cost 22 chunks' more (about 4.6 MB here); what
    # grows is the 8 bytes a run of the kept column.
    assert many - few < 4 * series_bytes, (few, many, series_bytes)

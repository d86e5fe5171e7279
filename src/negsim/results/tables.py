"""Ensembles as the tidy frames of the results contract (docs/results.md)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from negsim.errors import ResultsError
from negsim.scenario.schema import RUN_METRICS, Scenario

if TYPE_CHECKING:  # only annotations: reading results (negsim plot) must not import Mesa
    from negsim.run.ensemble import EnsembleResult

QUANTILES = (("p05", 5), ("p25", 25), ("p50", 50), ("p75", 75), ("p95", 95))
# Outcomes that are counts or 0/1: written as integers.
INTEGER_OUTCOMES = {
    "agreement",
    "ceasefire",
    "walkouts",
    "talks_weeks",
    "leaders_removed",
    "fragmented",
    "agreement_held",
    "agreement_broke",
    "compromise",
    "stage",
    "talks_held",
    "framework",
    "ceasefire_held",
    "walkouts_government",
    "walkouts_opposition",
    "resumptions",
    "deals_rejected",
    "deals_voted_down",
}


RUNS_ORDER = ["variant", "replication", "agreement", "agreement_date"] + [
    m for m in RUN_METRICS if m != "agreement"
]
"""The columns of `runs.csv`, in order: then `input.<path>` for each path of the scenario's
`uncertain` block, in its order, and `matches_record` when the scenario has a record."""
INPUT_PREFIX = "input."
"""The prefix of a `runs.csv` column holding an assumption's value in the run (`input.<path>`)."""


# The runs.csv columns docs/results.md documents as empty in some runs (NaN
# here); no column documents infinity.
MAY_BE_EMPTY = frozenset(
    {
        "settlement",
        "agreement_week",
        "bargaining_range_at_talks",
        "bargaining_range_mean_talks",
        "opposition_cohesion_at_talks",
        "opposition_cohesion_mean_talks",
    }
)


def _refuse_non_finite(file: str, variant: str, name: str, values: np.ndarray, first: int) -> None:
    """The last line of defence: a results file never holds a NaN or an infinity it does not document.

    The scenario's ranges keep the model's numbers finite; should a value
    still overflow (a combination the ranges did not foresee), the run stops
    with this one line rather than print verdicts computed over NaN.
    """
    values = np.asarray(values, dtype=np.float64)
    bad = np.isinf(values) if name in MAY_BE_EMPTY else ~np.isfinite(values)
    if bad.any():
        what = "infinity" if np.isinf(values[bad]).any() else "NaN"
        where = int(np.flatnonzero(bad)[0]) + first
        raise ResultsError(
            f"{file}: {name} holds {what} in {int(bad.sum())} of {len(values)} values "
            f"(variant {variant!r}, first at {where}): the model's numbers overflowed; "
            "nothing was written (please report it with the scenario)"
        )


def runs_rows(
    variant: str,
    scenario: Scenario,
    outcomes: dict[str, np.ndarray],
    first: int = 0,
    inputs: dict[str, np.ndarray] | None = None,
) -> pd.DataFrame:
    """The `runs.csv` rows of one variant's replications ``first``, ``first + 1``, ...

    A chunk's rows and a whole ensemble's are the same rows: `runs.csv` is
    written chunk by chunk, in order, and reads as if written at once.
    ``inputs`` (path -> value per run) become the `input.<path>` columns, empty
    where the variant has no such number (an event it removes).
    """
    n = len(next(iter(outcomes.values())))
    columns: dict[str, object] = {
        "variant": [variant] * n,
        "replication": np.arange(first, first + n),
    }
    start = scenario.calendar.start
    for name in RUN_METRICS:
        values = outcomes[name]
        _refuse_non_finite("runs.csv", variant, name, values, first)
        if name in INTEGER_OUTCOMES:
            columns[name] = values.astype(np.int64)
        elif name == "agreement_week":
            columns[name] = pd.array(
                [None if np.isnan(v) else int(v) for v in values], dtype="Int64"
            )
            columns["agreement_date"] = [
                "" if np.isnan(v) else (start + dt.timedelta(weeks=int(v))).isoformat()
                for v in values
            ]
        else:
            columns[name] = values
    for path, values in (inputs or {}).items():
        column = INPUT_PREFIX + path
        _refuse_non_finite(
            "runs.csv", variant, column, np.where(np.isnan(values), 0.0, values), first
        )
        columns[column] = values[:n]
    order = RUNS_ORDER + [INPUT_PREFIX + path for path in inputs or {}]
    return pd.DataFrame(columns)[order]


_NEEDS_QUOTES = frozenset(',"\n\r')


def csv_lines(frame: pd.DataFrame, float_format: str) -> str | None:
    """``frame``'s rows as pandas' `to_csv` writes them (no index, no header, "\\n"), or None.

    Pandas formats a table value by value through several layers of Python
    (about 3 us a value: at 20,000 runs x 8 variants the stream spent 25 s
    there). Here a row at a time, in one `%` of a line template: floats by
    ``float_format`` (a column with NaN formatted beforehand, NaN empty),
    integers as `str` does, nullable integers empty where missing, strings
    as they are. The same bytes as `to_csv` (tests/results/test_csv_lines.py);
    None for what this does not cover (a string that would need quoting, a
    kind of column not listed), which the caller writes with pandas.
    """
    fields: list[list[Any]] = []
    formats: list[str] = []
    for name in frame.columns:
        column = frame[name]
        dtype = column.dtype
        if isinstance(dtype, np.dtype) and dtype.kind == "f":
            values = column.to_numpy()
            missing = np.flatnonzero(np.isnan(values)).tolist()
            if missing:
                text = [float_format % v for v in values.tolist()]
                for row in missing:
                    text[row] = ""
                fields.append(text)
                formats.append("%s")
            else:  # formatted with the whole row, in one `%` (no NaN to leave empty)
                fields.append(values.tolist())
                formats.append(float_format)
        elif isinstance(dtype, np.dtype) and dtype.kind in "iu":
            fields.append(column.to_numpy().tolist())
            formats.append("%d")
        elif isinstance(dtype, pd.Int64Dtype):
            present = column.notna().to_numpy()
            numbers = column.to_numpy("int64", na_value=0).tolist()
            fields.append(
                [str(v) if here else "" for v, here in zip(numbers, present, strict=True)]
            )
            formats.append("%s")
        elif (isinstance(dtype, pd.StringDtype) and not column.hasnans) or (
            isinstance(dtype, np.dtype)
            and dtype.kind == "O"
            and all(isinstance(v, str) for v in column)
        ):
            text = column.tolist()
            if any(not _NEEDS_QUOTES.isdisjoint(v) for v in set(text)):
                return None
            fields.append(text)
            formats.append("%s")
        else:
            return None
    line = ",".join(formats) + "\n"
    return "".join([line % row for row in zip(*fields, strict=True)])


def runs_frame(ensembles: list[EnsembleResult]) -> pd.DataFrame:
    """One row per variant and replication."""
    frames = [runs_rows(e.variant, e.scenario, e.outcomes, inputs=e.inputs) for e in ensembles]
    return pd.concat(frames, ignore_index=True)


SUMMARY_BLOCK_VALUES = 4_000_000
"""Values summarised at once (weeks of one metric, 16 MB of float32): one reduction over a
block of weeks instead of one per week, whose fixed cost dominates at a thousand runs. The
numbers are those of one reduction per week: each week is a row of the block, reduced along
its contiguous axis by the same partition and pairwise sum."""


def summary_frame(
    variant: str,
    metric_names: list[str],
    dates: list[dt.date],
    row: Callable[[int, int], np.ndarray],
    block: Callable[[int, int, int], np.ndarray] | None = None,
) -> pd.DataFrame:
    """Mean and percentiles across replications, per step and metric (long form).

    ``row(metric, step)`` gives that metric's values at that step, one per
    replication: from memory, or read from disk one row at a time, so a
    million runs need a row's memory (4 MB), not the whole array.
    ``block(metric, first, stop)``, where given, gives the steps
    ``first:stop`` of a metric at once (steps x replications), read in
    blocks of at most `SUMMARY_BLOCK_VALUES` values.
    """
    steps = len(dates)
    quantiles = [q for _, q in QUANTILES]
    mean = np.empty((len(metric_names), steps))
    percentiles = np.empty((len(QUANTILES), len(metric_names), steps))
    if block is None:

        def block(m: int, first: int, stop: int) -> np.ndarray:
            return np.stack([row(m, w) for w in range(first, stop)])

    width = len(row(0, 0)) if metric_names and steps else 1
    span = max(1, SUMMARY_BLOCK_VALUES // max(1, width))
    for m in range(len(metric_names)):
        for first in range(0, steps, span):
            stop = min(steps, first + span)
            values = block(m, first, stop)
            mean[m, first:stop] = values.mean(axis=1, dtype=np.float64)
            percentiles[:, m, first:stop] = np.percentile(values, quantiles, axis=1)
    frame = pd.DataFrame(
        {
            "variant": variant,
            "step": np.tile(np.arange(steps), len(metric_names)),
            "date": np.tile([d.isoformat() for d in dates], len(metric_names)),
            "metric": np.repeat(metric_names, steps),
            "mean": mean.reshape(-1),
        }
    )
    for (name, _), values in zip(QUANTILES, percentiles, strict=True):
        frame[name] = values.reshape(-1)
    for m, metric in enumerate(metric_names):  # no timeseries.csv column documents NaN
        _refuse_non_finite("timeseries.csv", variant, metric, mean[m], 0)
        _refuse_non_finite("timeseries.csv", variant, metric, percentiles[:, m].reshape(-1), 0)
    return frame


def timeseries_frame(ensemble: EnsembleResult) -> pd.DataFrame:
    """Mean and percentiles across replications, per step and metric (long form)."""
    series = ensemble.series
    return summary_frame(
        ensemble.variant, ensemble.metric_names, ensemble.dates, lambda m, w: series[m, w]
    )


def events_frame(variants: dict[str, Scenario]) -> pd.DataFrame:
    """The scheduled events of each variant (stochastic ones have no date)."""
    rows = []
    for name, scenario in variants.items():
        for event in sorted(scenario.events, key=lambda e: (e.date or dt.date.max, e.id)):
            if event.date is None:
                continue
            rows.append(
                {
                    "variant": name,
                    "id": event.id,
                    "date": event.date.isoformat(),
                    "type": event.type,
                    "label": event.label or event.id,
                }
            )
    return pd.DataFrame(rows, columns=["variant", "id", "date", "type", "label"])


# Measured on the bundled scenarios: a runs.csv field takes 4-5 bytes on
# average (0/1 outcomes, empty dates), at most 11 ("-0.0123457,"); a
# timeseries.csv row about 90. The per-step metrics are two per fighting
# actor and about fifteen more: no more than the actors plus sixteen.
_FIELD_BYTES = 7
_INPUT_BYTES = 11  # an `input.<path>` value: a float of six significant digits
_TIMESERIES_ROW_BYTES = 95
_SPILL_BYTES = 4  # float32


SPILL_BUDGET = 2 * 1024**3
"""Bytes of weekly series spilled to disk at once by the variants simulated together: a chunk
of every variant is simulated in one go (they share its spin-up, `negsim.model.spinup`), and
each variant's series wait on disk until its last chunk. Beyond it, fewer variants at a time."""


def _spill_bytes(runs: int, steps: int, actors: int) -> int:
    """About the bytes of one variant's spilled weekly series (4 bytes a value)."""
    return runs * steps * (actors + 16) * _SPILL_BYTES


def variants_per_group(runs: int, variants: int, steps: int, actors: int) -> int:
    """How many variants `negsim run` simulates together, chunk by chunk (see `SPILL_BUDGET`)."""
    return max(1, min(variants, SPILL_BUDGET // max(1, _spill_bytes(runs, steps, actors))))


def estimated_bytes(
    runs: int,
    variants: int,
    steps: int,
    actors: int,
    keep_series: bool = False,
    inputs: int = 0,
) -> int:
    """About how many bytes a run's results folder takes, known before the simulation.

    runs.csv dominates at scale (one row per run and variant); timeseries.csv
    grows with the steps and metrics only. While a variant's chunks arrive,
    its weekly series are spilled to the staging folder (4 bytes a value);
    the variants simulated together (`variants_per_group`) spill at once,
    and the next group's first chunks with them.
    ``keep_series`` adds `series.parquet` (written from a copy: twice). Used
    to refuse a disk without the room before any work, so a rough but not
    low figure is what is needed. ``inputs``: the `input.<path>` columns (the
    scenario's `uncertain` paths).
    """
    runs_row = (len(RUN_METRICS) + 3) * _FIELD_BYTES + inputs * _INPUT_BYTES + 10
    metrics = actors + 16
    timeseries = variants * steps * metrics * _TIMESERIES_ROW_BYTES
    # The variants simulated together, and the first chunks of the next ones (sparse files).
    together = variants_per_group(runs, variants, steps, actors)
    spill = min(variants, together + 1) * _spill_bytes(runs, steps, actors)
    series = 2 * variants * runs * steps * (metrics + 3) * _SPILL_BYTES if keep_series else 0
    return runs * variants * runs_row + timeseries + spill + series

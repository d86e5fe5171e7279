"""Ensembles as the tidy frames of the results contract (docs/results.md)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from negsim.run.ensemble import EnsembleResult
from negsim.scenario.schema import RUN_METRICS, Scenario

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
    "deals_rejected",
    "deals_voted_down",
}


def runs_frame(ensembles: list[EnsembleResult]) -> pd.DataFrame:
    """One row per variant and replication."""
    frames = []
    for ensemble in ensembles:
        n = ensemble.runs
        columns: dict[str, object] = {
            "variant": [ensemble.variant] * n,
            "replication": np.arange(n),
        }
        start = ensemble.scenario.calendar.start
        for name in RUN_METRICS:
            values = ensemble.outcomes[name]
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
        frames.append(pd.DataFrame(columns))
    order = ["variant", "replication", "agreement", "agreement_date"] + [
        m for m in RUN_METRICS if m != "agreement"
    ]
    return pd.concat(frames, ignore_index=True)[order]


def timeseries_frame(ensemble: EnsembleResult) -> pd.DataFrame:
    """Mean and percentiles across replications, per step and metric (long form)."""
    series = ensemble.series
    steps, metrics = series.shape[1], ensemble.metric_names
    mean = series.mean(axis=-1, dtype=np.float64)
    percentiles = np.percentile(series, [q for _, q in QUANTILES], axis=-1)
    frame = pd.DataFrame(
        {
            "variant": ensemble.variant,
            "step": np.tile(np.arange(steps), len(metrics)),
            "date": np.tile([d.isoformat() for d in ensemble.dates], len(metrics)),
            "metric": np.repeat(metrics, steps),
            "mean": mean.reshape(-1),
        }
    )
    for (name, _), values in zip(QUANTILES, percentiles, strict=True):
        frame[name] = values.reshape(-1)
    return frame


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
_TIMESERIES_ROW_BYTES = 95


def estimated_bytes(runs: int, variants: int, steps: int, actors: int) -> int:
    """About how many bytes a run's results folder takes, known before the simulation.

    runs.csv dominates at scale (one row per run and variant); timeseries.csv
    grows with the steps and metrics only. Used to refuse a disk without the
    room before any work, so a rough but not low figure is what is needed.
    """
    runs_row = (len(RUN_METRICS) + 3) * _FIELD_BYTES + 10
    metrics = actors + 16
    timeseries = variants * steps * metrics * _TIMESERIES_ROW_BYTES
    return runs * variants * runs_row + timeseries

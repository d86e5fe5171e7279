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

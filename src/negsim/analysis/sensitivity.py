"""Sensitivity of hypothesis effects to their assumptions, robustness of verdicts, flip regions.

Reads the per-sample results of a sweep (frames and arrays); runs nothing.

- **Indices** come from SALib's analyzers, on the unit-cube design SALib
  sampled (each factor's range or distribution is its quantile scale):
  Morris elementary effects μ*, σ and μ for the Morris design (Morris 1991;
  μ* after Campolongo, Cariboni & Saltelli 2007), first-order and total
  Sobol' indices S1, ST with Saltelli's estimators for the Sobol' design
  (Saltelli et al. 2010), and first-order indices S1 by random balance
  designs (RBD-FAST: Tarantola, Gatelli & Mara 2006; Plischke 2010; Tissot &
  Prieur 2012) for a Latin hypercube, which any design supports. (SALib's
  moment-independent δ would suit a Latin hypercube too, but its bootstrap
  takes minutes where RBD-FAST takes a second.)
  Confidence intervals are SALib's bootstrap, seeded.
- **Robustness** is the share of sample points at which each verdict holds.
- **Flip regions** are boxes of parameter bounds in which the verdict
  differs from the one at the scenario's own values, found by PRIM (Friedman
  & Fisher 1999; the `prim` package, the EMA Workbench's algorithm), with the
  box on PRIM's peeling trajectory that best balances coverage (share of the
  flipped points inside the box) and density (share of the points inside
  that flipped): their harmonic mean is largest.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

CONFIDENCE = 0.95
"""Confidence level of the indices' bootstrap intervals."""
RESAMPLES = 1000
"""Bootstrap resamples of the indices' intervals."""

MAIN_INDEX = {"morris": "mu_star", "sobol": "ST", "lhs": "S1"}
"""The index that ranks parameters, by method."""
INDICES = {
    "morris": ("mu_star", "sigma", "mu"),
    "sobol": ("S1", "ST"),
    "lhs": ("S1",),
}
"""The indices reported by method; each but Morris' σ and μ with an interval."""
_WITHOUT_INTERVAL = {"sigma", "mu"}

IDENTITY_COLUMNS = (
    "hypothesis",
    "metric",
    "treatment",
    "control",
    "expected",
    "confidence",
    "sentence",
)
"""Columns of a hypotheses table that name a hypothesis, or are the same at every point,
rather than measure it: left out of `sweep.csv`."""


# ---------------------------------------------------------------------- sweep.csv


def claims(tables: Sequence[pd.DataFrame]) -> dict[tuple[str, str], str]:
    """(hypothesis, metric) -> its column prefix in `sweep.csv`, in the order of the tables' rows.

    The prefix is the hypothesis' name when it has one metric, and
    ``<hypothesis>.<metric>`` when it names several.
    """
    pairs: dict[tuple[str, str], None] = {}
    for table in tables:
        for name, metric in zip(table["hypothesis"], table["metric"], strict=True):
            pairs.setdefault((str(name), str(metric)), None)
    per_hypothesis: dict[str, int] = {}
    for name, _ in pairs:
        per_hypothesis[name] = per_hypothesis.get(name, 0) + 1
    return {
        (name, metric): name if per_hypothesis[name] == 1 else f"{name}.{metric}"
        for name, metric in pairs
    }


def sweep_frame(
    names: Sequence[str],
    values: np.ndarray,
    tables: Sequence[pd.DataFrame],
    record_shares: Sequence[float | None] | None = None,
) -> pd.DataFrame:
    """One row per sample: its parameter values, then every hypothesis' results.

    ``tables[i]`` is the hypotheses table (`hypotheses.csv` columns) of sample
    ``i``. Each row of it (a hypothesis on one metric) contributes
    ``<prefix>.<column>`` for every column that measures it (effect,
    interval, p-value, verdict, runs, ... whatever the verdict function
    reports); the prefix is given by `claims`. The column `record_share` is
    there only when some sample has a value for it.
    """
    frame = pd.DataFrame(values, columns=list(names))
    frame.insert(0, "sample", np.arange(len(frame)))
    if record_shares is not None and any(share is not None for share in record_shares):
        frame["record_share"] = [np.nan if s is None else s for s in record_shares]
    prefixes = claims(tables)
    blocks = []
    for table in tables:
        row: dict[str, Any] = {}
        for record in table.to_dict("records"):
            prefix = prefixes[(str(record["hypothesis"]), str(record["metric"]))]
            for column, value in record.items():
                if column not in IDENTITY_COLUMNS:
                    row[f"{prefix}.{column}"] = value
        blocks.append(row)
    results = pd.DataFrame(blocks)
    return pd.concat([frame, results], axis=1)


# ---------------------------------------------------------------- sensitivity.csv


def sensitivity_columns(method: str) -> list[str]:
    """The columns of `sensitivity.csv` for ``method``."""
    columns = ["hypothesis", "metric", "parameter", "rank"]
    for index in INDICES[method]:
        columns.append(index)
        if index not in _WITHOUT_INTERVAL:
            columns += [f"{index}_ci_low", f"{index}_ci_high"]
    return [*columns, "note"]


def _analyze(
    method: str, problem: dict[str, Any], unit: np.ndarray, effects: np.ndarray, seed: int
) -> dict[str, np.ndarray]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # constant outputs: SALib divides by a zero variance
        if method == "morris":
            from SALib.analyze import morris

            result = morris.analyze(
                problem,
                unit,
                effects,
                num_resamples=RESAMPLES,
                conf_level=CONFIDENCE,
                num_levels=4,
                seed=seed,
            )
        elif method == "sobol":
            from SALib.analyze import sobol

            result = sobol.analyze(
                problem,
                effects,
                calc_second_order=False,
                num_resamples=RESAMPLES,
                conf_level=CONFIDENCE,
                seed=seed,
            )
        else:
            from SALib.analyze import rbd_fast

            result = rbd_fast.analyze(
                problem,
                unit,
                effects,
                num_resamples=RESAMPLES,
                conf_level=CONFIDENCE,
                seed=seed,
            )
    found = dict(result)
    return {
        key: np.asarray(found[key], dtype=float)
        for index in INDICES[method]
        for key in (index, f"{index}_conf")
        if key in found
    }


def sensitivity_frame(
    method: str,
    problem: dict[str, Any],
    unit: np.ndarray,
    effects: Mapping[tuple[str, str], np.ndarray],
    seed: int,
) -> pd.DataFrame:
    """SALib's indices of each hypothesis' effect, one row per hypothesis, metric and parameter.

    ``effects`` maps (hypothesis, metric) to the effect at every sample point,
    in design order. Parameters are ranked by the method's main index
    (`MAIN_INDEX`), 1 the most influential. An interval is the index ± SALib's
    half-width at `CONFIDENCE`. Where the effect is undefined at some point
    (no paired runs with a value) the indices are left empty, with a note.
    """
    names = list(problem["names"])
    rows = []
    for (hypothesis, metric), y in effects.items():
        y = np.asarray(y, dtype=float)
        note = ""
        indices: dict[str, np.ndarray] = {}
        missing = int(np.isnan(y).sum())
        if missing:
            note = f"effect undefined at {missing} of {y.size} points (no paired runs with a value)"
        elif np.ptp(y) == 0:
            note = "the effect is the same at every point"
        if not missing:
            indices = _analyze(method, problem, unit, y, seed)
        main = indices.get(MAIN_INDEX[method], np.full(len(names), np.nan))
        order = np.argsort(-np.nan_to_num(main, nan=-np.inf), kind="stable")
        ranks = np.empty(len(names), dtype=int)
        ranks[order] = np.arange(1, len(names) + 1)
        for position in order:
            row: dict[str, Any] = {
                "hypothesis": hypothesis,
                "metric": metric,
                "parameter": names[position],
                "rank": int(ranks[position]) if indices else None,
            }
            for index in INDICES[method]:
                value = indices[index][position] if indices else np.nan
                row[index] = value
                if index not in _WITHOUT_INTERVAL:
                    half = indices[f"{index}_conf"][position] if indices else np.nan
                    # μ* is a mean of absolute values: its interval stops at 0.
                    low = value - half
                    row[f"{index}_ci_low"] = max(low, 0.0) if index == "mu_star" else low
                    row[f"{index}_ci_high"] = value + half
            row["note"] = note
            rows.append(row)
    frame = pd.DataFrame(rows, columns=sensitivity_columns(method))
    frame["rank"] = frame["rank"].astype("Int64")
    return frame


# ----------------------------------------------------------------- robustness.csv


@dataclass(frozen=True)
class Box:
    """A box of parameter bounds found by PRIM."""

    limits: dict[str, tuple[float, float]]
    """Restricted parameters only: path -> (low, high)."""
    coverage: float
    """Share of the points of interest that lie inside the box."""
    density: float
    """Share of the points inside the box that are of interest."""
    samples: int
    """Sample points inside the box."""

    def text(self) -> str:
        if not self.limits:
            return "everywhere"
        return "; ".join(
            f"{name} in [{lo:.4g}, {hi:.4g}]" for name, (lo, hi) in self.limits.items()
        )


def flip_box(values: pd.DataFrame, flipped: np.ndarray) -> Box | None:
    """The PRIM box where ``flipped`` holds (None when it holds nowhere).

    ``values`` has one column per parameter and one row per sample point.
    The box is the one of `peeling_trajectory` marked ``chosen``.
    """
    found = _peel(values, flipped)
    return None if found is None else found[0]


def peeling_trajectory(values: pd.DataFrame, flipped: np.ndarray) -> pd.DataFrame:
    """PRIM's peeling trajectory for ``flipped``: every box it passes through, widest first.

    One row per box: ``coverage`` (share of the flipped points inside it),
    ``density`` (share of the points inside it that flipped), ``mass`` (share
    of all points inside it), ``restricted`` (parameters it bounds) and
    ``chosen`` (True for the one box `flip_box` reports: the largest harmonic
    mean of coverage and density). The trade-off a reader picks a box from, as
    the EMA Workbench's ``show_tradeoff`` draws it (Bryant & Lempert 2010).
    Empty when ``flipped`` holds nowhere; one box (the whole space) when it
    holds everywhere.
    """
    found = _peel(values, flipped)
    if found is None:
        return pd.DataFrame(columns=["coverage", "density", "mass", "restricted", "chosen"])
    return found[1]


def _peel(values: pd.DataFrame, flipped: np.ndarray) -> tuple[Box, pd.DataFrame] | None:
    flipped = np.asarray(flipped, dtype=bool)
    if not flipped.any():
        return None
    if flipped.all():
        whole = pd.DataFrame(
            {
                "coverage": [1.0],
                "density": [1.0],
                "mass": [1.0],
                "restricted": [0],
                "chosen": [True],
            }
        )
        return Box({}, 1.0, 1.0, int(flipped.size)), whole
    import logging

    import prim

    logging.getLogger("prim").setLevel(logging.WARNING)
    finder = prim.Prim(values.astype(float), flipped, threshold=None)
    box = finder.find_box()
    trajectory = box.peeling_trajectory
    coverage = trajectory["coverage"].to_numpy(dtype=float)
    density = trajectory["density"].to_numpy(dtype=float)
    balance = np.where(coverage + density > 0, 2 * coverage * density / (coverage + density), 0)
    chosen = int(np.argmax(balance))
    path = pd.DataFrame(
        {
            "coverage": coverage,
            "density": density,
            "mass": trajectory["mass"].to_numpy(dtype=float),
            "restricted": trajectory["res dim"].to_numpy(dtype=int),
            "chosen": np.arange(len(coverage)) == chosen,
        }
    )
    box.select(chosen)
    limits = box.limits
    restricted = {
        str(name): (float(limits.loc[name, "min"]), float(limits.loc[name, "max"]))
        for name in values.columns
        if name in limits.index
    }
    inside = np.ones(len(values), dtype=bool)
    for name, (low, high) in restricted.items():
        column = values[name].to_numpy(dtype=float)
        inside &= (column >= low) & (column <= high)
    found = Box(
        restricted,
        coverage=float(coverage[chosen]),
        density=float(density[chosen]),
        samples=int(inside.sum()),
    )
    return found, path


def robustness_columns(names: Sequence[str]) -> list[str]:
    """The columns of `robustness.csv` for parameters ``names``."""
    columns = [
        "hypothesis",
        "metric",
        "expected",
        "verdict",
        "at_scenario_values",
        "samples",
        "share",
        "box",
        "box_coverage",
        "box_density",
        "box_samples",
    ]
    for name in names:
        columns += [f"low.{name}", f"high.{name}"]
    return columns


def robustness_frame(
    values: pd.DataFrame,
    ranges: Mapping[str, tuple[float, float]],
    verdicts: Mapping[tuple[str, str], tuple[str, Sequence[str]]],
    base_verdicts: Mapping[tuple[str, str], str],
) -> pd.DataFrame:
    """For each hypothesis and metric, each verdict's share of the sample points and where it holds.

    ``verdicts`` maps (hypothesis, metric) to (expected, verdict at each
    point); ``base_verdicts`` gives its verdict at the scenario's own values;
    ``ranges`` each parameter's swept range. One row per hypothesis and
    verdict that occurs (the verdict at the scenario's values first, then by
    share); for a verdict other than that one, the PRIM box where it holds
    instead, with per-parameter bounds (the whole range where the box does
    not restrict a parameter).
    """
    names = list(values.columns)
    rows = []
    for (hypothesis, metric), (expected, given) in verdicts.items():
        at_points = np.asarray(given, dtype=object)
        base = base_verdicts.get((hypothesis, metric), "")
        counts = pd.Series(at_points).value_counts(sort=False)
        order = sorted(counts.index, key=lambda v: (v != base, -counts[v], str(v)))
        if base and base not in counts.index:
            order.insert(0, base)
        for verdict in order:
            samples = int(counts.get(verdict, 0))
            row: dict[str, Any] = {
                "hypothesis": hypothesis,
                "metric": metric,
                "expected": expected,
                "verdict": verdict,
                "at_scenario_values": int(verdict == base),
                "samples": samples,
                "share": samples / len(at_points) if len(at_points) else np.nan,
            }
            box = None if verdict == base else flip_box(values, at_points == verdict)
            if box is not None:
                row.update(
                    box=box.text(),
                    box_coverage=box.coverage,
                    box_density=box.density,
                    box_samples=box.samples,
                )
                for name in names:
                    low, high = box.limits.get(name, ranges[name])
                    row[f"low.{name}"], row[f"high.{name}"] = low, high
            rows.append(row)
    frame = pd.DataFrame(rows, columns=robustness_columns(names))
    frame["box_samples"] = frame["box_samples"].astype("Int64")
    return frame

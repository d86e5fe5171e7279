"""The record: which runs reproduce the scenario's `observed` patterns, and how often.

Pattern-oriented modelling (Grimm et al. 2005): a model is credible for a
question to the degree it reproduces several patterns of the record at
once. Each pattern is checked per run on the per-week series
(metric, week, run); `patterns_table` gives the share of runs that reproduce
each pattern and all of them together, with a Wilson score interval
(Wilson 1927; ``statsmodels.stats.proportion.proportion_confint``), which
keeps its coverage for shares near 0 or 1 where the normal interval fails.

The base runs that reproduce every pattern are the worlds like ours: because
variants share random numbers replication by replication, their paired
counterfactual runs answer "in the world as it was, what would have happened
without X?" (abduction by rejection on the patterns, then action and
prediction: Pearl 2009, ch. 7). `record_column` marks them. Only patterns
with `use: condition` (the default) select them; `holdout` patterns are
checked on the selected worlds as an out-of-sample test (they played no part
in the selection: Grimm et al. 2005's independent patterns), `describe`
patterns are reported only. A conditioning pattern on the per-week metric
that determines a hypothesis' run outcome (`DETERMINES`) decides that
outcome in the worlds like ours: `determining_patterns` names it, and the
verdicts flag the row `decided_by_record`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from negsim.scenario.observed import Pattern
from negsim.scenario.schema import Scenario

EQUAL_TOLERANCE = 1e-6
"""Values recorded as float32 count as equal within this."""
MIN_RECORD_RUNS = 30
"""Fewest base runs reproducing the record for verdicts on the worlds like ours (as `MIN_PAIRED_RUNS`)."""
ALL_PATTERNS = "all"
"""The `patterns.csv` row for every conditioning pattern together."""
USES = ("condition", "holdout", "describe")

DETERMINES: dict[str, tuple[str, ...]] = {
    "agreement": (
        "agreement",
        "agreement_week",
        "weeks_to_agreement",
        "agreement_held",
        "agreement_broke",
        "compromise",
        "settlement",
    ),
    "agreement_in_force": ("agreement", "agreement_held", "agreement_broke"),
    "talks_state": (
        "agreement",
        "agreement_week",
        "weeks_to_agreement",
        "ceasefire",
        "talks_held",
        "walkouts",
        "walkouts_government",
        "walkouts_opposition",
    ),
    "talks_stage": ("stage", "framework", "talks_held"),
    "talks_in_session": ("talks_held", "talks_weeks"),
    "at_table": ("talks_held", "talks_weeks"),
    "ceasefire_in_force": ("ceasefire", "ceasefire_held"),
    "walkout.government": ("walkouts", "walkouts_government"),
    "walkout.opposition": ("walkouts", "walkouts_opposition"),
    "talks_suspended": ("resumptions",),
    # A vote down ends the agreement in force: it decides whether one held.
    "voted_down": ("deals_voted_down", "agreement_held"),
    "bargaining_range": ("bargaining_range_at_talks", "bargaining_range_mean_talks"),
    "opposition_cohesion": ("opposition_cohesion_at_talks", "opposition_cohesion_mean_talks"),
    "offer.government": ("gap_end", "settlement"),
    "demand.opposition": ("gap_end", "settlement"),
}
"""Per-week metric -> the run outcomes a pattern on it determines, wholly or in part.

`control.<id>` and `capability.<id>` determine the control at the end and the
losses (see `determining_patterns`)."""


@dataclass(frozen=True)
class WeekPattern:
    """A pattern with its dates turned into week indices of one calendar."""

    pattern: Pattern
    first: int
    """First week looked at (for `change`, the earlier week)."""
    last: int
    """Last week looked at (for `change`, the later week; for `date`, equal to `first`)."""


def week_of(day: dt.date, start: dt.date) -> int:
    """Index of the weekly step containing ``day`` (step 0 starts on the calendar's start)."""
    return (day - start).days // 7


def weeks_of(scenario: Scenario) -> list[WeekPattern]:
    """The scenario's patterns with week indices (events looked up by id in the scenario)."""
    start = scenario.calendar.start
    last_week = scenario.weeks() - 1
    dates = {event.id: event.date for event in scenario.events if event.date is not None}
    compiled = []
    for pattern in scenario.observed:
        if pattern.date is not None:
            first = last = week_of(pattern.date, start)
        elif pattern.change is not None:
            first, last = (week_of(day, start) for day in pattern.change)
        elif pattern.between is not None:
            first, last = (week_of(day, start) for day in pattern.between)
        elif pattern.before is not None:
            first, last = 0, week_of(pattern.before, start) - 1
        else:
            opened = dates.get(str(pattern.event))
            if opened is None:  # the loader refuses this; a sweep point may not
                raise ValueError(f"pattern {pattern.id}: no scheduled event {pattern.event!r}")
            first = week_of(opened, start)
            last = first + int(pattern.weeks or 0)
        # Inside the calendar (the loader checks dates; an event window may run past the end).
        # A window `before` the first week is empty: every_week holds, some_week does not.
        first, last = max(0, min(first, last_week)), min(last, last_week)
        compiled.append(WeekPattern(pattern, first, last))
    return compiled


def determining_patterns(metric: str, conditioned: Mapping[str, str] | None) -> list[str]:
    """The conditioning patterns (id -> per-week metric) whose metric determines run outcome ``metric``."""
    found = []
    for name, weekly in (conditioned or {}).items():
        combatant = (weekly.startswith("control.") and metric.endswith("_control_end")) or (
            weekly.startswith("capability.") and metric.endswith("_losses")
        )
        if combatant or weekly == metric or metric in DETERMINES.get(weekly, ()):
            found.append(name)
    return found


def conditioning(patterns: Sequence[WeekPattern]) -> dict[str, str]:
    """The patterns the worlds like ours are selected on: id -> per-week metric."""
    return {c.pattern.id: c.pattern.metric for c in patterns if c.pattern.use == "condition"}


def like_ours(patterns: Sequence[WeekPattern], matches: np.ndarray) -> np.ndarray:
    """Per run: it reproduces every conditioning pattern (`matches` is (pattern, run))."""
    rows = [i for i, c in enumerate(patterns) if c.pattern.use == "condition"]
    runs = int(matches.shape[1]) if matches.ndim == 2 else 0
    if not rows:
        return np.ones(runs, dtype=bool)
    return np.asarray(matches[rows].all(axis=0), dtype=bool)


def _compare(pattern: Pattern, values: np.ndarray) -> np.ndarray:
    kind = pattern.comparison
    if kind == "above":
        return values > float(pattern.above)  # type: ignore[arg-type]
    if kind == "below":
        return values < float(pattern.below)  # type: ignore[arg-type]
    if kind == "equals":
        return np.abs(values - float(pattern.equals)) <= EQUAL_TOLERANCE  # type: ignore[arg-type]
    if kind == "within":
        return np.abs(values) <= float(pattern.within) + EQUAL_TOLERANCE  # type: ignore[arg-type]
    low, high = pattern.range  # type: ignore[misc]
    return (values >= low - EQUAL_TOLERANCE) & (values <= high + EQUAL_TOLERANCE)


def match(
    patterns: Sequence[WeekPattern], series: np.ndarray, metric_names: Sequence[str]
) -> np.ndarray:
    """Which runs reproduce which pattern: a (pattern, run) boolean array.

    ``series`` is (metric, week, run), as recorded by the model. Only the
    weeks a pattern looks at are read, so this costs little beside the series.
    """
    runs = series.shape[-1]
    result = np.zeros((len(patterns), runs), dtype=bool)
    names = list(metric_names)
    for row, compiled in enumerate(patterns):
        pattern = compiled.pattern
        values = series[names.index(pattern.metric)]
        if pattern.date is not None:
            result[row] = _compare(pattern, values[compiled.first].astype(float))
        elif pattern.change is not None:
            change = values[compiled.last].astype(float) - values[compiled.first].astype(float)
            result[row] = _compare(pattern, change)
        else:
            window = _compare(pattern, values[compiled.first : compiled.last + 1].astype(float))
            result[row] = window.all(axis=0) if pattern.when == "every_week" else window.any(axis=0)
    return result


def patterns_table(
    patterns: Sequence[WeekPattern], matches: np.ndarray, confidence: float
) -> pd.DataFrame:
    """`patterns.csv`: per pattern and for the conditioning ones together, the share reproducing it.

    `use` says what each pattern is for; `share_like_ours` is the share of
    the worlds like ours (every conditioning pattern reproduced) that also
    reproduce a `holdout` or `describe` pattern: for a holdout pattern the
    out-of-sample check (NaN for conditioning patterns, which hold there by
    construction, and without such worlds).
    """
    from statsmodels.stats.proportion import proportion_confint

    runs = int(matches.shape[1]) if matches.ndim == 2 else 0
    rows: list[dict[str, Any]] = []
    together = like_ours(patterns, matches) if len(patterns) else np.zeros(runs, dtype=bool)
    entries = [
        (c.pattern.id, c.pattern.describe(), c.pattern.rule(), matches[i], c.pattern.use)
        for i, c in enumerate(patterns)
    ]
    entries.append(
        (
            ALL_PATTERNS,
            "every conditioning pattern above at once (the worlds like ours)",
            "",
            together,
            "condition",
        )
    )
    for name, description, rule, hits, use in entries:
        like = int(together.sum())
        beside = float(hits[together].mean()) if use != "condition" and like else float("nan")
        count = int(hits.sum())
        if runs:
            low, high = proportion_confint(count, runs, alpha=1 - confidence, method="wilson")
        else:
            low = high = float("nan")
        rows.append(
            {
                "pattern": name,
                "description": description,
                "rule": rule,
                "runs": runs,
                "reproduced": count,
                "share": count / runs if runs else float("nan"),
                "ci_low": float(low),
                "ci_high": float(high),
                "confidence": confidence,
                "use": use,
                "share_like_ours": beside,
            }
        )
    return pd.DataFrame(
        rows,
        columns=[
            "pattern",
            "description",
            "rule",
            "runs",
            "reproduced",
            "share",
            "ci_low",
            "ci_high",
            "confidence",
            "use",
            "share_like_ours",
        ],
    )


def record_column(
    scenario: Scenario, series: np.ndarray, metric_names: Sequence[str]
) -> np.ndarray:
    """Per run: 1.0 if it reproduces every conditioning pattern of the scenario's record, else 0.0."""
    patterns = weeks_of(scenario)
    return like_ours(patterns, match(patterns, series, metric_names)).astype(float)

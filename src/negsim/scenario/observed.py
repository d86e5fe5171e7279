"""The record in the scenario: dated facts of the public record as checkable patterns.

Each pattern states what one per-week metric (a `timeseries.csv` metric,
e.g. `control.<actor id>`, `agreement`, `talks_state`) did around a date:

- its value in the week of a date (``date``),
- its change between two dates (``change``: the value in the second week
  minus the value in the first),
- or, over a window of weeks (``between`` two dates, ``before`` a date, or
  ``weeks`` after an ``event``'s date), whether it held in ``every_week`` or
  in ``some_week`` (``when``),

compared with a number: ``above``, ``below``, ``equals``, ``within`` (the
absolute value at most this) or ``range`` (both ends included). Pattern-oriented
modelling (Grimm et al. 2005): `negsim run` reports how often the base world
reproduces each pattern and all of them together (`patterns.csv`), and judges
the hypotheses again on the worlds that reproduce every `condition` pattern
(`use:`; `holdout` patterns are checked on those worlds out of sample,
`describe` patterns are only reported).

Structure is checked by the models here; names and dates against the rest
of the file by `check_observed` (unknown metric, date outside the calendar,
unknown or unscheduled event), each reported at its line.
"""

from __future__ import annotations

import datetime as dt
import difflib
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

TALKS_STATES = {"none": 0, "agreement": 1, "ceasefire": 2, "walkout": 3, "engaged": 4}
"""Codes of the `talks_state` metric."""

WEEKLY_METRICS: tuple[str, ...] = (
    "expected_outcome.government",
    "expected_outcome.opposition",
    "opposition_cohesion",
    "bargaining_range",
    "willingness.government",
    "willingness.opposition",
    "ripeness",
    "talks_in_session",
    "talks_state",
    "talks_stage",
    "offer.government",
    "demand.opposition",
    "trust",
    "ceasefire_in_force",
    "agreement",
    "agreement_in_force",
    "at_table",
    "walkout.government",
    "walkout.opposition",
    "talks_suspended",
    "voted_down",
)
"""Per-week metrics every scenario records; `capability.<id>` and `control.<id>`
exist for every government, faction and spoiler besides."""
PER_COMBATANT = ("capability", "control")
COMBATANT_KINDS = ("government", "faction", "spoiler")

Window = Literal["every_week", "some_week"]
TIMINGS = ("date", "change", "between", "before", "event")
COMPARISONS = ("above", "below", "equals", "within", "range")


class Pattern(BaseModel):
    """One fact of the record as a pattern over a per-week metric.

    Give one timing (`date`, `change`, `between`, `before` or `event` with
    `weeks`), `when` for the three windows, and one comparison (`above`,
    `below`, `equals`, `within` or `range`).
    """

    # Infinity or NaN is no threshold: `above: .nan` would never hold, silently.
    model_config = ConfigDict(
        frozen=True, extra="forbid", use_attribute_docstrings=True, allow_inf_nan=False
    )

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    """Name of the pattern (a row of `patterns.csv`)."""
    description: str | None = None
    """The fact in words."""
    source: str | None = None
    """Where the fact comes from."""
    metric: str
    """Per-week metric (a `timeseries.csv` metric, e.g. `control.<actor id>`, `agreement`, `talks_state`)."""
    date: dt.date | None = None
    """The value in the week containing this date (not `on:`, which YAML reads as `true`)."""
    change: tuple[dt.date, dt.date] | None = None
    """The value in the week of the second date minus the value in the week of the first."""
    between: tuple[dt.date, dt.date] | None = None
    """A window: the weeks from the first date to the second, both included."""
    before: dt.date | None = None
    """A window: the weeks from the calendar's start up to the week before this date's."""
    event: str | None = None
    """A window starting in the week of this scheduled event's date (by id); give `weeks`."""
    weeks: int | None = Field(default=None, ge=0, le=520)
    """With `event`: the window covers the event's week and this many weeks after it."""
    when: Window | None = None
    """For a window: the comparison holds in `every_week` of it, or in `some_week`."""
    above: float | None = None
    """Holds when the value (or change) is greater than this."""
    below: float | None = None
    """Holds when the value (or change) is less than this."""
    equals: float | None = None
    """Holds when the value equals this (within 1e-6); for `talks_state`: 0 none, 1 agreement, 2 ceasefire, 3 walkout, 4 engaged."""
    within: float | None = Field(default=None, ge=0)
    """Holds when the absolute value (or change) is at most this (e.g. a change of about nothing)."""
    range: tuple[float, float] | None = None
    """Holds when the value (or change) lies between the two numbers, both included."""
    use: Literal["condition", "holdout", "describe"] = "condition"
    """`condition`: the worlds like ours must reproduce it; `holdout`: never conditioned on, reported as an out-of-sample check on the worlds like ours; `describe`: reported only."""

    @model_validator(mode="after")
    def _one_timing_one_comparison(self) -> Pattern:
        timings = [name for name in TIMINGS if getattr(self, name) is not None]
        if len(timings) != 1:
            given = f" (got {', '.join(timings)})" if timings else ""
            raise ValueError(f"give exactly one of {', '.join(TIMINGS)}{given}")
        comparisons = [name for name in COMPARISONS if getattr(self, name) is not None]
        if len(comparisons) != 1:
            given = f" (got {', '.join(comparisons)})" if comparisons else ""
            raise ValueError(f"give exactly one of {', '.join(COMPARISONS)}{given}")
        timing = timings[0]
        if timing == "event" and self.weeks is None:
            raise ValueError("an `event` window needs `weeks` (0 = the event's week only)")
        if timing != "event" and self.weeks is not None:
            raise ValueError("`weeks` goes with `event` only")
        window = timing in ("between", "before", "event")
        if window and self.when is None:
            raise ValueError(f"a window (`{timing}`) needs `when`: every_week or some_week")
        if not window and self.when is not None:
            raise ValueError(f"`when` goes with a window (between, before, event), not `{timing}`")
        for name in ("change", "between"):
            dates = getattr(self, name)
            if dates is not None and dates[1] < dates[0]:
                raise ValueError(f"`{name}`: the second date must not be before the first")
        if self.range is not None and self.range[1] < self.range[0]:
            raise ValueError("`range`: the second number must not be below the first")
        return self

    @property
    def timing(self) -> str:
        """Which timing the pattern uses."""
        return next(name for name in TIMINGS if getattr(self, name) is not None)

    @property
    def comparison(self) -> str:
        """Which comparison the pattern uses."""
        return next(name for name in COMPARISONS if getattr(self, name) is not None)

    def describe(self) -> str:
        """The pattern in words (its `description` if given)."""
        if self.description:
            return " ".join(self.description.split())
        return self.rule()

    def rule(self) -> str:
        """The pattern as negsim checks it, e.g. `control.rebels change 2015-09-28 to 2016-06-13 above 0`."""
        value = getattr(self, self.comparison)
        if self.comparison == "range":
            test = f"in [{value[0]:g}, {value[1]:g}]"
        elif self.comparison == "within":
            test = f"within ±{value:g}"
        else:
            test = f"{self.comparison} {value:g}"
        if self.date is not None:
            where = f"on {self.date}"
        elif self.change is not None:
            where = f"change from {self.change[0]} to {self.change[1]}"
        else:
            if self.between is not None:
                span = f"from {self.between[0]} to {self.between[1]}"
            elif self.before is not None:
                span = f"before {self.before}"
            else:
                span = f"within {self.weeks} weeks of {self.event}"
            where = f"{'in every week' if self.when == 'every_week' else 'in some week'} {span}"
        return f"{self.metric} {where} {test}"


def weekly_metric_names(actors: dict[str, Any]) -> list[str]:
    """Per-week metrics of a scenario with these (raw or validated) actors."""
    combatants = [key for key, actor in actors.items() if _kind(actor) in COMBATANT_KINDS]
    return [f"{what}.{key}" for what in PER_COMBATANT for key in combatants] + list(WEEKLY_METRICS)


def _kind(actor: Any) -> Any:
    return actor.get("kind") if isinstance(actor, dict) else getattr(actor, "kind", None)


def _date(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    return value if isinstance(value, dt.date) else None


def _hint(name: Any, choices: list[str]) -> str:
    close = difflib.get_close_matches(str(name), choices, n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def check_observed(data: dict[str, Any]) -> list[tuple[tuple[str | int, ...], str]]:
    """Every pattern naming an unknown metric or event, or a date outside the calendar."""
    found: list[tuple[tuple[str | int, ...], str]] = []
    patterns = data.get("observed")
    if not isinstance(patterns, list):
        return found
    actors = data.get("actors") if isinstance(data.get("actors"), dict) else {}
    metrics = weekly_metric_names(actors or {})
    calendar = data.get("calendar") if isinstance(data.get("calendar"), dict) else {}
    start, end = _date((calendar or {}).get("start")), _date((calendar or {}).get("end"))
    raw_events = data.get("events")
    events = {
        e["id"]: e
        for e in (raw_events if isinstance(raw_events, list) else [])
        if isinstance(e, dict) and isinstance(e.get("id"), str)
    }
    seen: dict[str, int] = {}
    for index, pattern in enumerate(patterns):
        if not isinstance(pattern, dict):
            continue  # the schema reports it
        base: tuple[str | int, ...] = ("observed", index)
        name = pattern.get("id")
        if isinstance(name, str):
            if name in seen:
                found.append(
                    (base + ("id",), f"duplicate pattern id {name!r} (also observed[{seen[name]}])")
                )
            else:
                seen[name] = index
        metric = pattern.get("metric")
        if isinstance(metric, str) and metric not in metrics:
            found.append(
                (
                    base + ("metric",),
                    f"unknown per-week metric {metric!r}{_hint(metric, metrics)} "
                    "(the metrics of timeseries.csv; see docs/results.md)",
                )
            )

        def in_calendar(path: tuple[str | int, ...], value: Any) -> None:
            day = _date(value)
            if day and start and end and end > start and not start <= day <= end:
                found.append((path, f"date outside the calendar {start} to {end} (got {day})"))

        for field in ("date", "before"):
            in_calendar(base + (field,), pattern.get(field))
        for field in ("change", "between"):
            dates = pattern.get(field)
            if isinstance(dates, list):
                for position, value in enumerate(dates):
                    in_calendar(base + (field, position), value)
        event = pattern.get("event")
        if isinstance(event, str):
            if event not in events:
                found.append(
                    (base + ("event",), f"unknown event {event!r}{_hint(event, list(events))}")
                )
            elif _date(events[event].get("date")) is None:
                found.append(
                    (
                        base + ("event",),
                        f"event {event!r} has no date (a stochastic event); name a scheduled one",
                    )
                )
    return found

"""The record: patterns checked on small (metric, week, run) arrays whose answer is known by hand."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from negsim.analysis.patterns import (
    ALL_PATTERNS,
    WeekPattern,
    conditioning,
    determining_patterns,
    like_ours,
    match,
    patterns_table,
    record_column,
    weeks_of,
)
from negsim.analysis.verdicts import RECORD_SUBSET, hypothesis_table
from negsim.scenario import load
from negsim.scenario.observed import Pattern

GENEVA3 = Path(__file__).resolve().parents[2] / "scenarios" / "geneva3.yaml"
START = dt.date(2015, 9, 7)  # geneva3's calendar start, a Monday
NAMES = ["m", "n"]


def pattern(first: int, last: int, metric: str = "m", **fields) -> WeekPattern:
    """A pattern already placed on weeks ``first`` to ``last`` (its dates only name the timing)."""
    return WeekPattern(Pattern(id="p", metric=metric, **fields), first, last)


def series(m: list[list[float]], n: list[list[float]] | None = None) -> np.ndarray:
    """(metric, week, run) from per-week rows of per-run values."""
    first = np.asarray(m, dtype=np.float32)
    second = np.zeros_like(first) if n is None else np.asarray(n, dtype=np.float32)
    return np.stack([first, second])


DAY = dt.date(2016, 1, 4)
LATER = dt.date(2016, 2, 1)


# ------------------------------------------------------------------ comparisons


@pytest.mark.parametrize(
    ("comparison", "values", "expected"),
    [
        ({"above": 0.5}, [0.6, 0.5, 0.4], [True, False, False]),
        ({"below": 0.5}, [0.6, 0.5, 0.4], [False, False, True]),
        ({"equals": 3}, [3.0, 3.0000001, 2.0], [True, True, False]),
        ({"within": 0.1}, [-0.1, 0.05, 0.2], [True, True, False]),
        ({"range": (0.2, 0.5)}, [0.2, 0.5, 0.51], [True, True, False]),
        ({"range": (0.2, 0.5)}, [0.19, 0.35, -1.0], [False, True, False]),
    ],
)
def test_each_comparison_on_the_value_of_a_date(comparison, values, expected):
    weeks = [[0.0] * 3, values, [9.0] * 3]  # only week 1 is read
    found = match([pattern(1, 1, date=DAY, **comparison)], series(weeks), NAMES)
    assert found.shape == (1, 3) and found.dtype == bool
    assert found[0].tolist() == expected


def test_the_pattern_reads_its_own_metric():
    m = [[1.0, 0.0]]
    n = [[0.0, 1.0]]
    found = match(
        [pattern(0, 0, "m", date=DAY, equals=1), pattern(0, 0, "n", date=DAY, equals=1)],
        series(m, n),
        NAMES,
    )
    assert found.tolist() == [[True, False], [False, True]]


# ---------------------------------------------------------------------- timings


def test_change_is_the_later_week_minus_the_earlier():
    # Runs: up by 0.3, down by 0.3, flat (the middle week does not count).
    weeks = [[0.2, 0.5, 0.4], [9.0, -9.0, 9.0], [0.5, 0.2, 0.4]]
    up = pattern(0, 2, change=(DAY, LATER), above=0.1)
    flat = pattern(0, 2, change=(DAY, LATER), within=0.01)
    found = match([up, flat], series(weeks), NAMES)
    assert found.tolist() == [[True, False, False], [False, False, True]]


@pytest.mark.parametrize("timing", ["between", "before", "event"])
def test_a_window_every_week_or_some_week(timing):
    fields = {
        "between": {"between": (DAY, LATER)},
        "before": {"before": LATER},
        "event": {"event": "talks", "weeks": 2},
    }[timing]
    # Weeks 1-3 are the window. Run 0: in every week; run 1: in one; run 2: only outside it.
    weeks = [
        [0.0, 0.0, 1.0],
        [1.0, 0.0, 0.0],
        [1.0, 1.0, 0.0],
        [1.0, 0.0, 0.0],
        [0.0, 0.0, 1.0],
    ]
    every = pattern(1, 3, when="every_week", equals=1, **fields)
    some = pattern(1, 3, when="some_week", equals=1, **fields)
    found = match([every, some], series(weeks), NAMES)
    assert found.tolist() == [[True, False, False], [True, True, False]]


def test_an_empty_window_holds_every_week_and_no_week():
    """A window before the first week: `every_week` holds vacuously, `some_week` cannot."""
    weeks = [[1.0, 0.0]]
    found = match(
        [
            pattern(0, -1, before=DAY, when="every_week", equals=1),
            pattern(0, -1, before=DAY, when="some_week", equals=1),
        ],
        series(weeks),
        NAMES,
    )
    assert found.tolist() == [[True, True], [False, False]]


def test_no_patterns_and_no_runs():
    assert match([], series([[1.0, 0.0]]), NAMES).shape == (0, 2)
    empty = np.zeros((2, 3, 0), dtype=np.float32)
    assert match([pattern(0, 0, date=DAY, above=0)], empty, NAMES).shape == (1, 0)


# ---------------------------------------------------------------- dates to weeks


def compiled(*patterns: Pattern) -> list[WeekPattern]:
    scenario = load(GENEVA3).scenario
    return weeks_of(scenario.model_copy(update={"observed": list(patterns)}))


def test_weeks_of_places_each_timing_on_the_calendar():
    def week(number: int, day: int = 0) -> dt.date:
        return START + dt.timedelta(weeks=number, days=day)

    found = compiled(
        Pattern(id="a", metric="agreement", date=week(5, 6), equals=0),
        Pattern(id="b", metric="agreement", change=(week(2, 3), week(10)), above=0),
        Pattern(
            id="c", metric="agreement", between=(week(3), week(7, 2)), when="some_week", equals=0
        ),
        Pattern(id="d", metric="agreement", before=week(4), when="every_week", equals=0),
        Pattern(id="e", metric="agreement", before=week(4, 1), when="every_week", equals=0),
        Pattern(id="f", metric="talks_state", event="geneva3", weeks=1, when="some_week", equals=3),
        Pattern(
            id="g",
            metric="talks_state",
            event="geneva3_april",
            weeks=20,
            when="some_week",
            equals=3,
        ),
        Pattern(id="h", metric="agreement", before=START, when="every_week", equals=0),
    )
    geneva3 = (dt.date(2016, 1, 29) - START).days // 7
    april = (dt.date(2016, 4, 13) - START).days // 7
    assert [(c.pattern.id, c.first, c.last) for c in found] == [
        ("a", 5, 5),
        ("b", 2, 10),
        ("c", 3, 7),
        ("d", 0, 3),  # up to the week before the date's week
        ("e", 0, 3),
        ("f", geneva3, geneva3 + 1),
        ("g", april, 46),  # cut at the calendar's last week (47 weeks)
        ("h", 0, -1),  # before the first week: empty
    ]


def test_weeks_of_refuses_an_unscheduled_event():
    with pytest.raises(ValueError, match="no scheduled event 'hamawi_removed'"):
        compiled(
            Pattern(
                id="x",
                metric="agreement",
                event="hamawi_removed",
                weeks=1,
                when="some_week",
                equals=0,
            )
        )


# ------------------------------------------------------------------- the table


def test_patterns_table_shares_with_wilson_intervals():
    from statsmodels.stats.proportion import proportion_confint

    rng = np.random.default_rng(5)
    matches = rng.random((3, 80)) < np.array([[0.9], [0.6], [0.02]])
    patterns = [
        pattern(0, 0, date=DAY, above=0.5, description="First  fact,\n in words."),
        pattern(0, 0, date=DAY, below=0.5),
        pattern(0, 0, date=DAY, equals=1),
    ]
    table = patterns_table(patterns, matches, 0.9)
    assert list(table["pattern"]) == ["p", "p", "p", ALL_PATTERNS]
    assert table.loc[0, "description"] == "First fact, in words."
    assert table.loc[1, "description"] == table.loc[1, "rule"] == "m on 2016-01-04 below 0.5"
    together = matches.all(axis=0)
    counts = [*matches.sum(axis=1), together.sum()]
    assert table["reproduced"].tolist() == counts
    assert (table["runs"] == 80).all() and (table["confidence"] == 0.9).all()
    np.testing.assert_allclose(table["share"], np.array(counts) / 80)
    for row, count in zip(table.itertuples(), counts, strict=True):
        low, high = proportion_confint(count, 80, alpha=0.1, method="wilson")
        assert (row.ci_low, row.ci_high) == pytest.approx((low, high))
        assert row.ci_low <= row.share <= row.ci_high
    # Wilson, not the normal interval: a share of 0 still has an upper bound above 0.
    none = patterns_table(patterns[:1], np.zeros((1, 80), bool), 0.95).iloc[0]
    assert none["share"] == 0 and none["ci_low"] == pytest.approx(0, abs=1e-12)
    assert none["ci_high"] == pytest.approx(3.84 / (80 + 3.84), rel=0.01)  # z^2 / (n + z^2)


def test_the_all_row_is_the_conjunction():
    matches = np.array(
        [
            [True, True, False, True, True],
            [True, False, True, True, True],
            [True, True, True, False, True],
        ]
    )
    patterns = [pattern(0, 0, date=DAY, above=0)] * 3
    table = patterns_table(patterns, matches, 0.95).set_index("pattern")
    assert table.loc[ALL_PATTERNS, "reproduced"] == 2  # runs 0 and 4
    assert table.loc[ALL_PATTERNS, "description"].startswith("every conditioning pattern above")
    weeks = np.ones((2, 1, 5), dtype=np.float32)
    weeks[0, 0, [1, 3]] = 0.0
    scenario = load(GENEVA3).scenario
    two = [
        Pattern(id="a", metric="agreement", date=START, equals=1),
        Pattern(id="b", metric="trust", date=START, above=0.5),
    ]
    record = record_column(
        scenario.model_copy(update={"observed": two}), weeks, ["agreement", "trust"]
    )
    assert record.tolist() == [1.0, 0.0, 1.0, 0.0, 1.0]


def test_patterns_table_without_runs_has_no_shares():
    table = patterns_table([pattern(0, 0, date=DAY, above=0)], np.zeros((1, 0), bool), 0.95)
    assert table["runs"].tolist() == [0, 0]
    assert table["share"].isna().all() and table["ci_low"].isna().all()


# ------------------------------------------------- the worlds like ours


def test_conditioning_on_the_record_recovers_an_effect_only_in_the_matching_worlds():
    """Abduction by rejection: the effect is +0.3 in the worlds that match and 0 elsewhere."""
    rng = np.random.default_rng(11)
    replications = 600
    # The record: a ceasefire in force in week 2 (about a third of the base runs).
    weekly = np.zeros((1, 4, replications), dtype=np.float32)
    weekly[0, 2] = rng.random(replications) < 0.35
    record_pattern = WeekPattern(
        Pattern(id="truce", metric="ceasefire_in_force", date=DAY, equals=1), 2, 2
    )
    matched = match([record_pattern], weekly, ["ceasefire_in_force"]).all(axis=0)
    record = pd.Series(matched, index=pd.RangeIndex(replications, name="replication"))
    control = rng.normal(0.5, 0.1, replications)
    treatment = control + 0.3 * matched + rng.normal(0, 0.05, replications)
    runs = pd.DataFrame(
        {
            "variant": ["base"] * replications + ["control"] * replications,
            "replication": np.tile(np.arange(replications), 2),
            "settlement": np.concatenate([treatment, control]),
        }
    )
    hypotheses = {
        "x_raises_settlement": {
            "metric": "settlement",
            "treatment": "base",
            "control": "control",
            "expected": "increase",
            "smallest_effect": 0.2,
        }
    }
    table = hypothesis_table(runs, hypotheses, 0.95, 2000, 0, record)
    row = table.iloc[0]
    share = matched.mean()
    assert 0.3 < share < 0.4
    assert row["record_runs"] == matched.sum()
    assert row["record_effect"] == pytest.approx(0.3, abs=0.01)
    assert row["record_ci_low"] > 0.2
    assert row["record_verdict"] == "supported"
    assert row["record_p_holm"] < 0.05
    # All worlds: diluted to the matching share of the effect, below the bound.
    assert row["effect"] == pytest.approx(0.3 * share, abs=0.01)
    assert row["verdict"] != "supported"
    assert f"{RECORD_SUBSET} ({matched.sum()} base runs)" in row["record_sentence"]
    assert row["record_sentence"].endswith(": supported.")
    # The all-worlds columns do not depend on the record.
    without = hypothesis_table(runs, hypotheses, 0.95, 2000, 0)
    pd.testing.assert_frame_equal(
        table.drop(columns=[c for c in table if c.startswith("record_")]),
        without.drop(columns=[c for c in without if c.startswith("record_")]),
    )
    assert without["record_verdict"].isna().all()


def test_no_matching_world_gives_no_record_verdict():
    runs = pd.DataFrame(
        {
            "variant": ["base"] * 50 + ["control"] * 50,
            "replication": list(range(50)) * 2,
            "settlement": np.r_[np.ones(50), np.zeros(50)],
        }
    )
    record = pd.Series([False] * 50, index=pd.RangeIndex(50, name="replication"))
    spec = {
        "h": {
            "metric": "settlement",
            "treatment": "base",
            "control": "control",
            "expected": "increase",
        }
    }
    row = hypothesis_table(runs, spec, 0.95, 200, 0, record).iloc[0]
    assert row["verdict"] == "supported"
    assert row["record_runs"] == 0 and row["record_verdict"] == "inconclusive"
    assert "no paired runs with a value of settlement" in row["record_sentence"]


def test_holdout_and_describe_patterns_never_condition():
    matches = np.array(
        [
            [True, True, False, True],  # condition
            [True, False, False, False],  # holdout
            [False, False, True, True],  # describe
        ]
    )
    patterns = [
        pattern(0, 0, date=DAY, above=0),
        WeekPattern(Pattern(id="check", metric="m", date=DAY, above=0, use="holdout"), 0, 0),
        WeekPattern(Pattern(id="note", metric="m", date=DAY, above=0, use="describe"), 0, 0),
    ]
    assert like_ours(patterns, matches).tolist() == [True, True, False, True]
    assert conditioning(patterns) == {"p": "m"}
    table = patterns_table(patterns, matches, 0.95).set_index("pattern")
    assert table["use"].tolist() == ["condition", "holdout", "describe", "condition"]
    assert table.loc[ALL_PATTERNS, "reproduced"] == 3
    # Out of sample: the holdout holds in 1 of the 3 worlds like ours.
    assert table.loc["check", "share_like_ours"] == pytest.approx(1 / 3)
    assert np.isnan(table.loc[ALL_PATTERNS, "share_like_ours"])


def test_a_pattern_on_the_outcome_determines_it():
    conditioned = {"no_deal": "agreement", "flat": "control.regime", "cf": "ceasefire_in_force"}
    assert determining_patterns("agreement", conditioned) == ["no_deal"]
    assert determining_patterns("weeks_to_agreement", conditioned) == ["no_deal"]
    assert determining_patterns("government_control_end", conditioned) == ["flat"]
    assert determining_patterns("value_opposition", conditioned) == []
    assert determining_patterns("agreement", None) == []


def test_every_outcome_a_weekly_metric_fixes_is_named():
    # talks_stage >= 1 is talks_held; a vote down ends the agreement in force.
    conditioned = {"stage": "talks_stage", "vote": "voted_down"}
    assert determining_patterns("talks_held", conditioned) == ["stage"]
    assert determining_patterns("deals_voted_down", conditioned) == ["vote"]
    assert determining_patterns("agreement_held", conditioned) == ["vote"]
    # Every outcome DETERMINES names is a run outcome hypotheses can use.
    from negsim.analysis.patterns import DETERMINES
    from negsim.scenario.schema import DERIVED_METRICS, RUN_METRICS

    named = {m for outcomes in DETERMINES.values() for m in outcomes}
    assert named <= set(RUN_METRICS) | set(DERIVED_METRICS)

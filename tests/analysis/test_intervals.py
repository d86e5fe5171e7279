"""Intervals docked against published worked examples, closed forms and simulation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from negsim.analysis.intervals import (
    censored_weeks,
    conditional_odds_ratio,
    confidence_sequence,
    paired_pn_ps,
    pn_ps_bounds,
    tango_interval,
    tango_statistic,
    tango_two_sided_p,
)

# Fagerland, Lydersen & Laake (2014; 2017, ch. 8)'s worked example: complete
# response before and after consolidation therapy (Cavo et al. 2012),
# n11 = 59, n12 = 6, n21 = 16, n22 = 80.
CAVO = (6, 16, 161)


def test_tango_interval_matches_the_published_example():
    low, high = tango_interval(*CAVO, confidence=0.95)
    assert low == pytest.approx(-0.1240, abs=5e-5)
    assert high == pytest.approx(-0.0054, abs=5e-5)


def test_tango_test_of_no_difference_is_mcnemars():
    # The same example's McNemar asymptotic test: P = 0.033006, Z = -2.132.
    assert tango_two_sided_p(*CAVO) == pytest.approx(0.033006, rel=1e-4)
    assert tango_statistic(*CAVO, 0.0) == pytest.approx(-10 / math.sqrt(22), rel=1e-12)


def test_exact_conditional_odds_ratio_matches_the_published_example():
    # Fagerland et al.'s transformed Clopper-Pearson interval for theta = 12.5 (25 vs 2).
    ratio, low, high = conditional_odds_ratio(25, 2, 0.95)
    assert ratio == 12.5
    assert low == pytest.approx(3.1169, abs=5e-5)
    assert high == pytest.approx(108.8892, abs=5e-4)


def test_no_discordant_pair_gives_no_ratio_and_the_widest_interval():
    ratio, low, high = conditional_odds_ratio(0, 0)
    assert math.isnan(ratio) and low == 0 and math.isinf(high)


@settings(max_examples=60, deadline=None)
@given(n=st.integers(min_value=1, max_value=400))
def test_no_discordant_pairs_still_leaves_room_for_a_difference(n):
    low, high = tango_interval(0, 0, n, 0.95)
    assert low < 0 < high
    assert low == pytest.approx(-high, rel=1e-9)
    if n <= 30:
        assert high - low > 0.1  # zero events in 30 pairs still allows ~11 points


@settings(max_examples=150, deadline=None)
@given(
    b=st.integers(min_value=0, max_value=60),
    c=st.integers(min_value=0, max_value=60),
    rest=st.integers(min_value=0, max_value=300),
    confidence=st.sampled_from([0.8, 0.95, 0.99]),
)
def test_tango_interval_holds_the_estimate_and_its_ends_are_the_score_limits(
    b, c, rest, confidence
):
    n = b + c + rest
    if n == 0:
        return
    low, high = tango_interval(b, c, n, confidence)
    estimate = (b - c) / n
    assert -1 <= low <= estimate <= high <= 1
    assert high - low > 0
    from scipy import stats

    z = stats.norm.ppf(1 - (1 - confidence) / 2)
    if low > -1:
        assert tango_statistic(b, c, n, low) == pytest.approx(z, rel=1e-6)
    if high < 1:
        assert tango_statistic(b, c, n, high) == pytest.approx(-z, rel=1e-6)


def test_tango_interval_covers_at_its_level_in_small_samples():
    # 40 pairs, 2 % and 6 % discordant cells (rare discordance, as in a near-floor outcome).
    rng = np.random.default_rng(4)
    n, p12, p21 = 40, 0.06, 0.02
    cells = rng.multinomial(n, [p12, p21, 1 - p12 - p21], size=2000)
    covered = [
        low <= p12 - p21 <= high
        for low, high in (tango_interval(int(b), int(c), n, 0.95) for b, c, _ in cells)
    ]
    assert np.mean(covered) >= 0.93


def _decided(low: np.ndarray, high: np.ndarray, bound: float) -> np.ndarray:
    """Whether an interval decides: wholly beyond ±bound or wholly inside it."""
    return (low > bound) | (high < -bound) | ((low > -bound) & (high < bound))


LOOKS = np.array([50, 100, 200, 400, 800, 1600])
BOUND = 0.05


def _paired_at_the_bound(rng: np.random.Generator, count: int) -> np.ndarray:
    # Paired 0/1 differences: +1 in 10 % of pairs, -1 in 5 %: mean 0.05, on the bound.
    u = rng.random((count, LOOKS[-1]))
    return np.where(u < 0.10, 1.0, np.where(u < 0.15, -1.0, 0.0))


def _wrong(low: np.ndarray, high: np.ndarray) -> float:
    """Share of sequences that stop decided at some look (every decision is wrong on the bound)."""
    return float(_decided(low, high, BOUND).any(axis=1).mean())


SEQUENCES = 1000
SLACK = 3 * math.sqrt(0.05 * 0.95 / SEQUENCES)


def test_stopping_at_the_first_decided_look_keeps_the_error_rate_with_sequences():
    sequences = _paired_at_the_bound(np.random.default_rng(21), SEQUENCES)
    anytime = confidence_sequence(sequences, -1.0, 1.0, 0.95)
    assert _wrong(anytime.low[:, LOOKS - 1], anytime.high[:, LOOKS - 1]) <= 0.05 + SLACK


def test_per_look_fixed_intervals_do_not_keep_it():
    # The rule --runs auto had: a fixed-sample 95 % interval at every look (normal theory).
    sequences = _paired_at_the_bound(np.random.default_rng(21), SEQUENCES)
    low, high = np.empty((SEQUENCES, LOOKS.size)), np.empty((SEQUENCES, LOOKS.size))
    for column, n in enumerate(LOOKS):
        head = sequences[:, :n]
        half = 1.959964 * head.std(axis=1, ddof=1) / math.sqrt(n)
        low[:, column], high[:, column] = head.mean(axis=1) - half, head.mean(axis=1) + half
    assert _wrong(low, high) > 0.05 + SLACK


def test_one_sequence_is_a_row_of_many():
    sequences = _paired_at_the_bound(np.random.default_rng(3), 3)
    together = confidence_sequence(sequences, -1.0, 1.0, 0.9)
    alone = confidence_sequence(sequences[1], -1.0, 1.0, 0.9)
    np.testing.assert_allclose(together.low[1], alone.low, rtol=1e-12)
    np.testing.assert_allclose(together.high[1], alone.high, rtol=1e-12)


def test_a_confidence_sequence_covers_the_mean_at_every_time_at_once():
    rng = np.random.default_rng(5)
    misses = 0
    for _ in range(500):
        values = rng.beta(2, 5, 2000)  # mean 2/7
        sequence = confidence_sequence(values, 0.0, 1.0, 0.9)
        misses += bool(((sequence.low > 2 / 7) | (sequence.high < 2 / 7)).any())
    assert misses / 500 <= 0.1 + 3 * math.sqrt(0.1 * 0.9 / 500)


def test_a_confidence_sequence_shrinks_and_stays_in_range():
    values = np.random.default_rng(1).uniform(-1, 1, 4000)
    sequence = confidence_sequence(values, -1.0, 1.0, 0.95)
    widths = sequence.high - sequence.low
    assert widths[-1] < widths[99] < widths[9]
    assert (sequence.low >= -1).all() and (sequence.high <= 1).all()
    with pytest.raises(ValueError):
        confidence_sequence(values, 1.0, 1.0)


def test_tian_pearl_bounds_in_closed_form():
    # p_x = 0.6, p_x' = 0.3: PNS in [0.3, 0.6], PN in [0.5, 1], PS in [3/7, 6/7].
    bounds = pn_ps_bounds(0.6, 0.3)
    assert bounds["pns_low"] == pytest.approx(0.3) and bounds["pns_high"] == pytest.approx(0.6)
    assert bounds["pn_low"] == pytest.approx(0.5) and bounds["pn_high"] == 1.0
    assert bounds["ps_low"] == pytest.approx(3 / 7) and bounds["ps_high"] == pytest.approx(6 / 7)
    # The measure: a rare deal without the cause, a likelier one with it.
    nan = pn_ps_bounds(0.0, 0.5)
    assert math.isnan(nan["pn_low"]) and nan["pns_high"] == 0.0


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(min_value=0.0, max_value=1.0), min_size=4, max_size=4))
@example(weights=[1e-09, 1e-09, 1.0, 0.0])  # PN's denominator of 2e-9 (CI found it)
@example(weights=[0.5, 1e-09, 0.0, 0.0])  # PS's denominator 1 - p_x' of 2e-9 (CI found it)
def test_every_pairing_lies_inside_the_bounds(weights):
    total = sum(weights)
    if total <= 0:
        return
    # Joint of (y with the cause, y without it): cells 11, 10, 01, 00.
    p11, p10, p01, p00 = (w / total for w in weights)
    p_x, p_not_x = p11 + p10, p11 + p01
    bounds = pn_ps_bounds(p_x, p_not_x)

    def slack(denominator: float) -> float:
        # The bounds see only p_x and p_x': 1 - p_x' loses about one ulp of 1 to
        # cancellation, which a tiny denominator magnifies; the theorem is exact.
        return 1e-9 + 8 * np.finfo(float).eps / denominator

    assert bounds["pns_low"] - slack(1.0) <= p10 <= bounds["pns_high"] + slack(1.0)
    if p_x > 1e-9:
        pn = p10 / p_x
        assert bounds["pn_low"] - slack(p_x) <= pn <= bounds["pn_high"] + slack(p_x)
    if p10 + p00 > 1e-9:
        ps = p10 / (p10 + p00)
        assert bounds["ps_low"] - slack(p10 + p00) <= ps <= bounds["ps_high"] + slack(p10 + p00)


def test_paired_estimates_from_the_pairs():
    with_cause = np.array([1, 1, 1, 0, 0, 1], dtype=bool)
    without = np.array([0, 1, 0, 0, 1, 0], dtype=bool)
    estimates = paired_pn_ps(with_cause, without)
    assert estimates["pns"] == pytest.approx(3 / 6)
    assert estimates["pn"] == pytest.approx(3 / 4)
    assert estimates["ps"] == pytest.approx(3 / 4)


def test_restricted_mean_time_matches_the_exponential_closed_form():
    # Exponential times (rate 1/20 per week), censored at 52 weeks:
    # RMST = (1 - exp(-rate * horizon)) / rate.
    rng = np.random.default_rng(9)
    times = np.floor(rng.exponential(20.0, 200_000))
    times[times >= 52] = np.nan  # no agreement within the calendar
    weeks = censored_weeks(times, 52)
    rate = 1 / 20
    # Weeks are whole (the floor of the time): half a week less on average, before the horizon.
    expected = (1 - math.exp(-rate * 52)) / rate - 0.5 * (1 - math.exp(-rate * 52))
    assert weeks.mean() == pytest.approx(expected, rel=0.01)
    assert weeks.max() == 52

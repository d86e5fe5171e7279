"""Docking tests of the negotiation submodels against their closed forms.

Fearon's (1995) bargaining range, Powell's (2006) commitment problem,
Rubinstein's (1982) first-proposer share, the mediator's proposal,
Zartman's ripeness and the logistic willingness to talk.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from negsim.model.negotiation import (
    bargaining_range,
    commitment_adjusted_range,
    cost_of_war,
    mediator_proposal,
    ripeness,
    rubinstein_share,
    willingness,
)

share = st.floats(0.0, 1.0)
cost = st.floats(0.0, 2.0)


def a(*values: float) -> np.ndarray:
    return np.array(values, dtype=float)


# ---------------------------------------------------------------- costs


def test_cost_of_war_hand_example():
    # s * (1 - resolve) * hurt * H = 2 * 0.25 * 0.01 * 26
    assert cost_of_war(a(2.0), a(0.75), a(0.01), a(26.0))[0] == pytest.approx(0.13)


def test_cost_of_war_vanishes_at_full_resolve_or_without_hurt():
    assert cost_of_war(a(3.0), a(1.0), a(0.5), a(26.0))[0] == 0.0
    assert cost_of_war(a(3.0), a(0.2), a(0.0), a(26.0))[0] == 0.0


# ---------------------------------------------------------------- Fearon


@given(share, cost, cost)
def test_fearon_range_with_common_belief(p, c_government, c_opposition):
    low, high = bargaining_range(a(p), a(p), a(c_government), a(c_opposition))
    assert low[0] == pytest.approx(p - c_opposition, abs=1e-15)
    assert high[0] == pytest.approx(p + c_government, abs=1e-15)
    # With common beliefs and non-negative costs the range is never empty and
    # its width is the sum of the costs (Fearon 1995).
    assert low[0] <= p <= high[0]
    assert high[0] - low[0] == pytest.approx(c_government + c_opposition, abs=1e-12)


def test_fearon_range_empty_under_mutual_optimism_larger_than_costs():
    # The government thinks war ends at 0.3, the opposition at 0.7: total
    # optimism 0.4 > total costs 0.1 + 0.1.
    low, high = bargaining_range(a(0.3), a(0.7), a(0.1), a(0.1))
    assert low[0] == pytest.approx(0.6) and high[0] == pytest.approx(0.4)
    assert low[0] > high[0]


# ---------------------------------------------------------------- Powell


@given(st.floats(-1.0, 1.0), st.floats(-1.0, 2.0), st.floats(0.0, 52.0))
def test_powell_no_shift_leaves_range_unchanged(low, high, horizon):
    new_low, new_high = commitment_adjusted_range(a(low), a(high), a(0.0), a(horizon))
    assert (new_low[0], new_high[0]) == (low, high)


@given(st.floats(-1.0, 1.0), st.floats(-1.0, 2.0), st.floats(0.0, 52.0), st.floats(1e-6, 0.1))
def test_powell_declining_opposition_demands_erosion_up_front(low, high, horizon, shift):
    # The government gains (shift < 0): low rises by H * |s|; high unchanged.
    new_low, new_high = commitment_adjusted_range(a(low), a(high), a(-shift), a(horizon))
    assert new_low[0] == pytest.approx(low + horizon * shift, abs=1e-12)
    assert new_high[0] == high
    # The opposition gains (shift > 0): high falls by H * s; low unchanged.
    new_low, new_high = commitment_adjusted_range(a(low), a(high), a(shift), a(horizon))
    assert new_low[0] == low
    assert new_high[0] == pytest.approx(high - horizon * shift, abs=1e-12)


def test_powell_large_rapid_shift_empties_an_open_range():
    low, high = commitment_adjusted_range(a(0.4), a(0.6), a(-0.02), a(13.0))
    assert low[0] == pytest.approx(0.66) and high[0] == 0.6
    assert low[0] > high[0]


# ------------------------------------------------------------- Rubinstein


def test_rubinstein_hand_example():
    # (1 - 0.8) / (1 - 0.9 * 0.8) = 0.2 / 0.28
    assert rubinstein_share(a(0.9), a(0.8))[0] == pytest.approx(5 / 7)


@given(st.floats(0.0, 0.999), st.floats(0.0, 0.999))
def test_rubinstein_matches_closed_form(d1, d2):
    s = rubinstein_share(a(d1), a(d2))[0]
    assert s == pytest.approx((1 - d2) / (1 - d1 * d2), rel=1e-12)
    assert 0.0 <= s <= 1.0 + 1e-15
    # The first proposer never gets less than half when it is at least as patient.
    if d1 >= d2:
        assert s >= 0.5 - 1e-12


@given(st.floats(0.0, 0.999))
def test_rubinstein_symmetric_share_is_one_over_one_plus_delta(delta):
    assert rubinstein_share(a(delta), a(delta))[0] == pytest.approx(1 / (1 + delta), rel=1e-12)


def test_rubinstein_limits():
    # Equally patient players, delta -> 1: the first-mover advantage vanishes.
    deltas = 1.0 - np.logspace(-1, -9, 9)
    shares = rubinstein_share(deltas, deltas)
    assert np.all(np.diff(shares) < 0)
    assert shares[-1] == pytest.approx(0.5, abs=1e-8)
    # An impatient responder (delta_2 = 0) concedes everything.
    assert rubinstein_share(a(0.5), a(0.0))[0] == 1.0
    # An impatient proposer (delta_1 = 0) gets 1 - delta_2.
    assert rubinstein_share(a(0.0), a(0.7))[0] == pytest.approx(0.3)
    # The degenerate delta_1 = delta_2 = 1 is the limit 1/2.
    assert rubinstein_share(a(1.0), a(1.0))[0] == 0.5


# --------------------------------------------------------------- mediator


def test_mediator_proposal_hand_example():
    # low + (1 - s_G + bias) * (high - low) = 0.2 + (1 - 0.6 + 0.1) * 0.4
    assert mediator_proposal(a(0.2), a(0.6), a(0.6), a(0.1))[0] == pytest.approx(0.4)


@settings(max_examples=200)
@given(share, share, share, st.floats(-3.0, 3.0))
def test_mediator_proposal_always_inside_the_range(x, y, government_share, bias):
    low, high = min(x, y), max(x, y)
    proposal = mediator_proposal(a(low), a(high), a(government_share), a(bias))[0]
    assert low <= proposal <= high
    if bias == 0.0:
        assert proposal == pytest.approx(low + (1 - government_share) * (high - low), abs=1e-15)


# --------------------------------------------------------------- ripeness


def test_ripeness_zero_without_mutual_hurt():
    # One side does not hurt: no MHS, however stalemated and however good the way out.
    assert ripeness(a(0.0), a(0.05), a(0.0), a(0.01), a(0.004), a(1.0))[0] == 0.0
    assert ripeness(a(0.05), a(0.0), a(0.0), a(0.01), a(0.004), a(1.0))[0] == 0.0


def test_ripeness_zero_without_stalemate():
    for momentum in (0.004, -0.004, 0.05, -1.0):
        assert ripeness(a(0.05), a(0.05), a(momentum), a(0.01), a(0.004), a(1.0))[0] == 0.0


@given(share, st.floats(0.01, 1.0), st.floats(0.01, 1.0))
def test_ripeness_equals_way_out_at_full_mutually_hurting_stalemate(way_out, h_g, h_o):
    threshold = min(h_g, h_o)  # both hurt at least the threshold
    value = ripeness(a(h_g), a(h_o), a(0.0), a(threshold), a(0.004), a(way_out))[0]
    assert value == pytest.approx(way_out, abs=1e-15)


def test_ripeness_hand_example():
    # min(0.004, 0.006) / 0.01 = 0.4; 1 - 0.001 / 0.004 = 0.75; * 0.8
    value = ripeness(a(0.004), a(0.006), a(-0.001), a(0.01), a(0.004), a(0.8))[0]
    assert value == pytest.approx(0.4 * 0.75 * 0.8)


@given(
    st.floats(0.0, 1.0),
    st.floats(0.0, 1.0),
    st.floats(-1.0, 1.0),
    st.floats(0.0, 0.1),
    st.floats(0.0, 0.1),
    share,
)
def test_ripeness_is_a_probability_bounded_by_the_way_out(h_g, h_o, momentum, h_star, tol, way_out):
    value = ripeness(a(h_g), a(h_o), a(momentum), a(h_star), a(tol), a(way_out))[0]
    assert 0.0 <= value <= way_out


# ------------------------------------------------------------ willingness

WEIGHTS = (a(3.0), a(1.5), a(4.0), a(1.0))


def test_willingness_one_half_at_zero_logit():
    assert willingness(a(0.0), a(0.0), a(0.0), a(0.0), a(0.0), *WEIGHTS)[0] == 0.5
    # Terms that cancel: bias 1 + 3 * 0.5 + 1.5 * 0 - 4 * 0.25 - 1 * 1.5 = 0.
    assert willingness(a(1.0), a(0.5), a(0.0), a(0.25), a(1.5), *WEIGHTS)[0] == pytest.approx(0.5)


def test_willingness_hand_example():
    # logit = -0.5 + 3 * 0.2 + 1.5 * 0.4 - 4 * 0.1 - 1 * 0.8 = -0.5
    w = willingness(a(-0.5), a(0.2), a(0.4), a(0.1), a(0.8), *WEIGHTS)[0]
    assert w == pytest.approx(1 / (1 + np.exp(0.5)))


inputs = st.tuples(
    st.floats(-3.0, 3.0), share, share, st.floats(-0.5, 0.5), share
)  # bias, ripeness, endorsement, confidence, resolve
weights = st.tuples(*(st.floats(0.0, 5.0) for _ in range(4)))


@settings(max_examples=200)
@given(inputs, weights, st.integers(0, 4), st.floats(0.01, 1.0))
def test_willingness_monotone_in_each_input(values, w, which, step):
    base = [a(v) for v in values]
    raised = list(base)
    raised[which] = base[which] + step
    weights_ = [a(x) for x in w]
    before = willingness(*base, *weights_)[0]
    after = willingness(*raised, *weights_)[0]
    assert 0.0 < before < 1.0 and 0.0 < after < 1.0
    if which in (0, 1, 2):  # bias, ripeness, endorsement raise it
        assert after >= before
    else:  # confidence and resolve lower it
        assert after <= before
    if which == 0:
        assert after > before  # the bias enters with weight 1
    if which > 0 and w[which - 1] > 0.1:
        assert after != before


def test_willingness_is_logistic_in_the_logit():
    logits = np.linspace(-6, 6, 13)
    w = willingness(logits, 0.0, 0.0, 0.0, 0.0, *WEIGHTS)
    np.testing.assert_allclose(np.log(w / (1 - w)), logits, atol=1e-12)

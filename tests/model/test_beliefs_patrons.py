"""Docking tests of the belief and patron-support submodels."""

from __future__ import annotations

import numpy as np
import pytest
from docking import assert_docked, scrambled
from hypothesis import given
from hypothesis import strategies as st

from negsim.model.beliefs import battlefield_signal, update_belief
from negsim.model.patrons import patron_support

share = st.floats(0.0, 1.0)


def a(*values: float) -> np.ndarray:
    return np.array(values, dtype=float)


# ----------------------------------------------------------------- beliefs


def test_battlefield_signal_hand_example():
    # w * strength share + (1 - w) * territory share = 0.5 * 0.3 + 0.5 * 0.5
    assert battlefield_signal(a(0.3), a(0.5), a(0.5))[0] == pytest.approx(0.4)
    assert battlefield_signal(a(0.3), a(0.5), a(1.0))[0] == pytest.approx(0.3)
    assert battlefield_signal(a(0.3), a(0.5), a(0.0))[0] == pytest.approx(0.5)


@given(share, share, share)
def test_battlefield_signal_between_its_two_readings(strength, territory, weight):
    signal = battlefield_signal(a(strength), a(territory), a(weight))[0]
    assert min(strength, territory) - 1e-15 <= signal <= max(strength, territory) + 1e-15


def test_update_belief_hand_example():
    # b + eta * (signal + bias + noise - b) = 0.5 + 0.15 * (0.4 + 0.05 - 0.01 - 0.5)
    value = update_belief(a(0.5), a(0.4), a(0.05), a(-0.01), a(0.15))[0]
    assert value == pytest.approx(0.5 + 0.15 * (-0.06))


def test_update_belief_clipped_to_unit_interval():
    assert update_belief(a(0.95), a(1.0), a(0.5), a(0.2), a(0.9))[0] == 1.0
    assert update_belief(a(0.05), a(0.0), a(-0.5), a(-0.2), a(0.9))[0] == 0.0


def test_update_belief_no_learning_keeps_the_belief():
    assert update_belief(a(0.37), a(0.9), a(0.1), a(0.3), a(0.0))[0] == 0.37


@given(share, share, st.floats(-0.3, 0.3), st.floats(-0.3, 0.3), share)
def test_update_belief_matches_formula(belief, signal, bias, noise, rate):
    value = update_belief(a(belief), a(signal), a(bias), a(noise), a(rate))[0]
    expected = min(max(belief + rate * (signal + bias + noise - belief), 0.0), 1.0)
    assert value == pytest.approx(expected, abs=1e-15)
    assert 0.0 <= value <= 1.0


def test_update_belief_converges_to_a_steady_signal():
    belief = a(0.9)
    for _ in range(300):
        belief = update_belief(belief, a(0.3), a(0.05), a(0.0), a(0.15))
    assert belief[0] == pytest.approx(0.35)


# ----------------------------------------------------------------- patrons


def test_patron_support_hand_example():
    # commitment * capacity * max(0, 1 + r * (1/2 - prospects)) + direct
    # = 0.7 * 0.2 * (1 + 0.5 * 0.2) + 0.6
    value = patron_support(a(0.7), a(0.2), a(0.5), a(0.3), a(0.6))[0]
    assert value == pytest.approx(0.7 * 0.2 * 1.1 + 0.6)


def test_patron_support_at_parity_is_commitment_times_capacity():
    assert patron_support(a(0.5), a(0.12), a(4.0), a(0.5), a(0.0))[0] == pytest.approx(0.06)


def test_patron_support_eases_off_a_winning_client_but_never_below_direct():
    # 1 + 4 * (0.5 - 0.9) < 0: no supplies, but the direct intervention stays.
    assert patron_support(a(0.8), a(0.2), a(4.0), a(0.9), a(0.0))[0] == 0.0
    assert patron_support(a(0.8), a(0.2), a(4.0), a(0.9), a(0.3))[0] == pytest.approx(0.3)


@given(share, st.floats(0.0, 2.0), st.floats(-5.0, 5.0), share, st.floats(0.0, 2.0))
def test_patron_support_matches_formula(commitment, capacity, responsiveness, prospects, direct):
    value = patron_support(a(commitment), a(capacity), a(responsiveness), a(prospects), a(direct))[
        0
    ]
    expected = commitment * capacity * max(0.0, 1 + responsiveness * (0.5 - prospects)) + direct
    assert value == pytest.approx(expected, abs=1e-15)
    assert value >= direct


@given(share, st.floats(0.01, 2.0), st.floats(0.01, 5.0), share, share)
def test_responsive_patron_supports_a_losing_client_more(
    commitment, capacity, responsiveness, p1, p2
):
    worse, better = min(p1, p2), max(p1, p2)
    lose = patron_support(a(commitment), a(capacity), a(responsiveness), a(worse), a(0.0))[0]
    win = patron_support(a(commitment), a(capacity), a(responsiveness), a(better), a(0.0))[0]
    assert lose >= win


def test_patron_support_scales_around_the_named_parity():
    # At its parity a patron gives its base support, whatever its responsiveness.
    assert patron_support(a(0.5), a(0.12), a(4.0), a(0.3), a(0.0), 0.3)[0] == pytest.approx(0.06)
    # S = c k (1 + rho (parity - prospects)).
    got = patron_support(a(0.5), a(0.2), a(2.0), a(0.5), a(0.0), 0.6)[0]
    assert got == pytest.approx(0.5 * 0.2 * (1 + 2.0 * 0.1))


# --------------------------------------------------------- compiled: supply_week


@pytest.mark.parametrize(("name", "seed"), [("geneva3", 4), ("geneva3", 5), ("ripeness", 6)])
def test_supply_week_docks_with_the_patrons_own_supply(name, seed):
    compiled = scrambled(name, seed)
    reference = scrambled(name, seed)
    reference.compiled = False
    compiled._supply()
    reference._supply()
    pairs = [(compiled.support, reference.support)] + [
        (compiled.patrons[k].support, reference.patrons[k].support) for k in compiled.patrons
    ]
    for got, expected in pairs:
        assert_docked(got, expected)
    assert compiled.support.any()

"""Docking tests of the coalition submodels: hand-computed examples of each formula."""

from __future__ import annotations

import numpy as np
import pytest
from docking import assert_docked, scrambled
from hypothesis import given, settings
from hypothesis import strategies as st

from negsim.model import coalition
from negsim.model.coalition import (
    adjust,
    coalition_cohesion_target,
    cohesion_target,
    deliverable_share,
    effective_authority,
    faction_reservation,
)
from negsim.model.world import ConflictModel

share = st.floats(0.0, 1.0)


def a(*values: float) -> np.ndarray:
    return np.array(values, dtype=float)


# ------------------------------------------------------ effective authority


def test_effective_authority_during_a_crisis():
    authority = a(0.8, 0.8, 0.8, 0.8, 0.8)
    crisis_left = a(10.0, 5.0, 0.0, 2.5, 4.0)
    crisis_weeks = a(10.0, 10.0, 10.0, 10.0, 0.0)
    # A * (1 - 1/2 * left / weeks): half at the start, full at the end, 3/4 half way.
    np.testing.assert_allclose(
        effective_authority(authority, crisis_left, crisis_weeks),
        [0.4, 0.6, 0.8, 0.7, 0.8],  # no crisis when crisis_weeks = 0
    )


def test_effective_authority_never_below_half():
    value = effective_authority(a(0.6), a(30.0), a(10.0))  # more left than the crisis is long
    assert value[0] == pytest.approx(0.3)


@given(share, st.floats(0.0, 52.0), st.one_of(st.just(0.0), st.floats(0.5, 52.0)))
def test_effective_authority_between_half_and_full(authority, left, weeks):
    value = effective_authority(a(authority), a(left), a(weeks))[0]
    assert authority / 2 - 1e-15 <= value <= authority + 1e-15


# --------------------------------------------------------- faction cohesion


def test_cohesion_target_hand_example():
    # (1 - 5 * 0.02) * (0.9 + 0.5) / 2 = 0.9 * 0.7
    assert cohesion_target(a(0.9), a(0.02), a(5.0), a(0.5))[0] == pytest.approx(0.63)


def test_cohesion_target_clipped():
    # Heavy losses would make it negative.
    assert cohesion_target(a(0.9), a(0.5), a(5.0), a(0.5))[0] == 0.0
    # Authority and endorsement at most 1 each: at most 1 without losses.
    assert cohesion_target(a(1.0), a(0.0), a(5.0), a(1.0))[0] == 1.0


def test_adjust_hand_example_and_clipping():
    # x + rate * (target - x) = 0.6 + 0.15 * (0.2 - 0.6)
    assert adjust(a(0.6), a(0.2), a(0.15))[0] == pytest.approx(0.54)
    assert adjust(a(0.6), a(0.2), a(1.0))[0] == pytest.approx(0.2)
    assert adjust(a(0.6), a(0.2), a(0.0))[0] == 0.6
    assert adjust(a(0.9), a(3.0), a(0.5))[0] == 1.0
    assert adjust(a(0.1), a(-3.0), a(0.5))[0] == 0.0


@given(share, share, share)
def test_adjust_moves_towards_target_without_overshoot(current, target, rate):
    new = adjust(a(current), a(target), a(rate))[0]
    assert min(current, target) - 1e-15 <= new <= max(current, target) + 1e-15


# ------------------------------------------------------- coalition cohesion


def test_coalition_cohesion_target_hand_example():
    capabilities = a(0.3, 0.1)[None, :]
    cohesion = a(0.8, 0.4)[None, :]
    moderation = a(0.7, 0.3)[None, :]
    # weights 0.75, 0.25; weighted cohesion 0.6 + 0.1 = 0.7;
    # weighted mean moderation 0.6; weighted sd = sqrt(0.75 * 0.01 + 0.25 * 0.09) = sqrt(0.03)
    expected = 0.7 * (1 - np.sqrt(0.03))
    value = coalition_cohesion_target(capabilities, cohesion, moderation)
    assert value.shape == (1,)
    assert value[0] == pytest.approx(expected)


def test_coalition_cohesion_target_without_disagreement_is_weighted_cohesion():
    value = coalition_cohesion_target(a(1.0, 3.0)[None], a(0.2, 0.6)[None], a(0.5, 0.5)[None])
    assert value[0] == pytest.approx(0.25 * 0.2 + 0.75 * 0.6)


def test_coalition_cohesion_target_without_capability_is_zero():
    value = coalition_cohesion_target(a(0.0, 0.0)[None], a(0.9, 0.9)[None], a(0.1, 0.9)[None])
    assert value[0] == 0.0


def test_coalition_cohesion_target_per_replication():
    capabilities = np.array([[0.3, 0.1], [1.0, 3.0]])
    cohesion = np.array([[0.8, 0.4], [0.2, 0.6]])
    moderation = np.array([[0.7, 0.3], [0.5, 0.5]])
    value = coalition_cohesion_target(capabilities, cohesion, moderation)
    np.testing.assert_allclose(value, [0.7 * (1 - np.sqrt(0.03)), 0.5])


@settings(max_examples=100)
@given(
    st.lists(st.tuples(st.floats(0.0, 2.0), share, share), min_size=1, max_size=5),
)
def test_coalition_cohesion_target_in_unit_interval(factions):
    capabilities, cohesion, moderation = (
        a(*column)[None] for column in zip(*factions, strict=True)
    )
    value = coalition_cohesion_target(capabilities, cohesion, moderation)[0]
    assert 0.0 <= value <= max(cohesion[0]) + 1e-12


# --------------------------------------------------------------- delivery


def test_deliverable_share_hand_example():
    capabilities = a(0.3, 0.35, 0.25)[None]
    accepts = np.array([[True, False, True]])
    # C * (0.3 + 0.25) / 0.9
    value = deliverable_share(capabilities, a(0.6), accepts, np.array([False]))
    assert value[0] == pytest.approx(0.6 * 0.55 / 0.9)


def test_deliverable_share_zero_when_fragmented_or_nobody_accepts():
    capabilities = a(0.3, 0.35)[None]
    everyone = np.array([[True, True]])
    assert deliverable_share(capabilities, a(0.9), everyone, np.array([True]))[0] == 0.0
    nobody = np.array([[False, False]])
    assert deliverable_share(capabilities, a(0.9), nobody, np.array([False]))[0] == 0.0
    # Everyone accepts: the coalition's cohesion itself.
    assert deliverable_share(capabilities, a(0.9), everyone, np.array([False]))[0] == 0.9


def test_faction_reservation_hand_example():
    # r_O + margin * (1 - moderation), per replication and faction
    moderation = np.array([[1.0, 0.5], [0.0, 0.25]])
    value = faction_reservation(a(0.3, 0.5), moderation, a(0.1, 0.2))
    np.testing.assert_allclose(value, [[0.3, 0.35], [0.7, 0.65]])


# ------------------------------------------------ the delegation's veto players


def test_delegation_reservation_closed_form():
    """r_D = r_O + w (1 - C) margin (1 - min moderation of the veto players)."""
    caps = np.array([[0.6, 0.3, 0.05]])
    moderation = np.array([[0.8, 0.4, 0.0]])  # the third is too small to be a veto player
    got = coalition.delegation_reservation(
        np.array([0.3]), caps, moderation, np.array([0.5]), np.array([0.1]), 0.1, np.array([1.0])
    )
    np.testing.assert_allclose(got, [0.3 + 1.0 * 0.5 * 0.1 * (1 - 0.4)])


def test_without_veto_players_or_with_the_channel_off_the_delegation_asks_the_coalitions_price():
    caps, moderation = np.array([[0.5, 0.5]]), np.array([[0.2, 0.9]])
    nobody = coalition.delegation_reservation(
        np.array([0.3]), caps, moderation, np.array([0.2]), np.array([0.1]), 0.9, np.array([1.0])
    )
    off = coalition.delegation_reservation(
        np.array([0.3]), caps, moderation, np.array([0.2]), np.array([0.1]), 0.1, np.array([0.0])
    )
    np.testing.assert_allclose([nobody[0], off[0]], [0.3, 0.3])


@given(
    moderation=st.floats(0.0, 1.0),
    successor=st.floats(0.0, 1.0),
    cohesion=st.floats(0.0, 1.0),
    lost=st.floats(0.0, 1.0),
)
def test_a_less_moderate_successor_or_lost_cohesion_never_lowers_the_delegations_price(
    moderation, successor, cohesion, lost
):
    caps = np.array([[0.5, 0.5]])
    before = coalition.delegation_reservation(
        np.array([0.3]),
        caps,
        np.array([[moderation, 0.9]]),
        np.array([cohesion]),
        np.array([0.1]),
        0.1,
        np.array([1.0]),
    )[0]
    after = coalition.delegation_reservation(
        np.array([0.3]),
        caps,
        np.array([[min(moderation, successor), 0.9]]),
        np.array([cohesion * (1 - lost)]),
        np.array([0.1]),
        0.1,
        np.array([1.0]),
    )[0]
    assert after >= before - 1e-15


# ------------------------------------------------- leader removal at the table


def test_successor_moderation_closed_form():
    previous, successor = a(0.8, 0.8, 0.2), a(0.3, 0.3, 0.9)
    got = coalition.successor_moderation(previous, successor, a(1.0, 0.5, 0.0), a(0.0, 0.1, -0.1))
    np.testing.assert_allclose(got, [0.3, 0.8 + 0.5 * -0.5 + 0.1, 0.1], rtol=1e-12)
    # Off (w = 0, no shift): the removed leader's moderation stays at the table.
    np.testing.assert_array_equal(
        coalition.successor_moderation(previous, successor, 0.0), previous
    )
    # A shift never takes moderation out of [0, 1].
    assert coalition.successor_moderation(a(0.9), a(0.9), 1.0, 0.5)[0] == 1.0


def test_a_less_moderate_successor_raises_his_factions_reservation():
    before = coalition.faction_reservation(a(0.4), a(0.8)[None, :], a(0.1))
    after = coalition.faction_reservation(
        a(0.4), coalition.successor_moderation(a(0.8), a(0.2), 1.0)[None, :], a(0.1)
    )
    assert after[0, 0] == pytest.approx(0.4 + 0.1 * 0.8) and after[0, 0] > before[0, 0]


def test_outbidding_decays_with_its_mean_time():
    level = a(0.2, 0.2, 0.2)
    np.testing.assert_allclose(
        coalition.outbidding_after(level, a(8.0, 1.0, 0.0)), [0.2 * 7 / 8, 0.0, 0.0], rtol=1e-12
    )
    # Geometric: after k weeks o_0 (1 - 1/T)^k.
    o = a(0.3)
    for _ in range(5):
        o = coalition.outbidding_after(o, 4.0)
    assert o[0] == pytest.approx(0.3 * 0.75**5)


def test_outbidding_erodes_trust_and_ratification_by_its_level():
    np.testing.assert_allclose(coalition.eroded_trust(a(0.5, 0.5), a(0.0, 0.2)), [0.5, 0.4])
    np.testing.assert_allclose(coalition.outbid_ratification(a(0.9, 0.9), a(0.0, 0.1)), [0.9, 0.81])


def test_membership_exit_and_rejoin():
    member = np.array([True, True, False, False, False])
    cohesion = a(0.5, 0.1, 0.5, 0.5, 0.1)
    draw = a(0.0, 0.0, 0.05, 0.5, 0.0)
    got = coalition.membership(member, cohesion, 0.2, 0.1, draw)
    # Stays; leaves below the threshold; re-joins when recovered and drawn;
    # recovered but not drawn; below the threshold, never re-joins.
    assert got.tolist() == [True, False, True, False, False]
    # Off: nobody leaves (cohesion is never below 0).
    assert coalition.membership(member[:2], a(0.0, 0.0), 0.0, 0.1, a(0.9, 0.9)).all()


def test_fragmented_when_divided_or_when_most_strength_has_left():
    capabilities = np.array([[3.0, 1.0], [3.0, 1.0], [1.0, 3.0], [0.0, 0.0]])
    members = np.array([[True, True], [False, True], [False, True], [False, False]])
    got = coalition.coalition_fragmented(a(0.5, 0.5, 0.5, 0.5), 0.25, capabilities, members, 0.5)
    # All in; 1/4 of the strength in (< 1/2); 3/4 in; no strength at all (not fragmented).
    assert got.tolist() == [False, True, False, False]
    assert coalition.coalition_fragmented(a(0.2), 0.25, capabilities[:1], members[:1], 0.5)[0]


def test_a_faction_outside_the_coalition_has_no_veto():
    capabilities = np.array([[1.0, 1.0]])
    moderation = np.array([[0.0, 1.0]])
    args = (a(0.4), capabilities, moderation, a(0.5), a(0.1), a(0.1), a(1.0))
    inside = coalition.delegation_reservation(*args)
    outside = coalition.delegation_reservation(*args, members=np.array([[False, True]]))
    assert inside[0] == pytest.approx(0.4 + 0.5 * 0.1 * 1.0)
    assert outside[0] == pytest.approx(0.4)


def test_decapitated_resolve_closed_form():
    got = coalition.decapitated_resolve(
        a(0.6, 0.6, 0.6, 0.1), a(0.3, -0.3, 0.0, 0.5), a(0.5, 0.5, 1, 1)
    )
    np.testing.assert_allclose(got, [0.45, 0.75, 0.6, 0.0])


# ------------------------------------------------------- compiled: cohesion_week


def _cohesion_state(model: ConflictModel) -> list[np.ndarray]:
    opposition = model.opposition
    return [opposition.cohesion] + [
        array for f in opposition.factions for array in (f.cohesion, f.leader.crisis_left)
    ]


@pytest.mark.parametrize(("name", "seed"), [("geneva3", 1), ("geneva3", 2), ("aceh", 3)])
def test_cohesion_week_docks_with_the_numpy_reference(name, seed):
    compiled = scrambled(name, seed)
    reference = scrambled(name, seed)
    reference.compiled = False
    compiled.opposition.update_cohesion()
    reference.opposition.update_cohesion()
    for got, expected in zip(_cohesion_state(compiled), _cohesion_state(reference), strict=True):
        assert_docked(got, expected)

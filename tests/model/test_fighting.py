"""Docking tests of the fighting submodels against their closed forms.

Tullock (1980) / Hirshleifer (1989) contest success function and the
Lanchester (1916) square law, the latter also against a fine Euler
integration of its ODE.
"""

from __future__ import annotations

import numpy as np
import pytest
from docking import assert_docked, seeded_streams
from hypothesis import given, settings
from hypothesis import strategies as st

from negsim.model import fighting
from negsim.model.compiled import pcg64_states
from negsim.model.fighting import lanchester_square, tullock_shares

# Efforts are either exactly zero (a contender that does not fight) or in a
# realistic range of capability units.
effort = st.one_of(st.just(0.0), st.floats(1e-3, 1e3))
decisiveness = st.floats(0.0, 4.0)


# ------------------------------------------------------------------ Tullock


def test_tullock_lottery_hand_example():
    shares = tullock_shares(np.array([1.0, 2.0, 3.0]), 1.0)
    np.testing.assert_allclose(shares, [1 / 6, 2 / 6, 3 / 6], rtol=1e-15)


def test_tullock_decisiveness_two_hand_example():
    shares = tullock_shares(np.array([1.0, 2.0, 3.0]), 2.0)
    np.testing.assert_allclose(shares, [1 / 14, 4 / 14, 9 / 14], rtol=1e-15)


def test_tullock_zero_effort_gets_zero_and_others_share_everything():
    shares = tullock_shares(np.array([0.0, 1.0, 3.0]), 1.5)
    assert shares[0] == 0.0
    np.testing.assert_allclose(shares[1:], [1 / (1 + 3**1.5), 3**1.5 / (1 + 3**1.5)])
    assert shares.sum() == pytest.approx(1.0, abs=1e-15)


def test_tullock_nobody_fights_gives_all_zero():
    shares = tullock_shares(np.zeros((2, 4)), np.array([1.0, 2.0]))
    assert np.array_equal(shares, np.zeros((2, 4)))


def test_tullock_zero_decisiveness_splits_evenly_among_those_who_fight():
    shares = tullock_shares(np.array([0.0, 0.1, 5.0, 100.0]), 0.0)
    np.testing.assert_allclose(shares, [0.0, 1 / 3, 1 / 3, 1 / 3], rtol=1e-15)


def test_tullock_contenders_on_another_axis_with_per_replication_decisiveness():
    # (R=2, contenders=3, regions=2): contenders on axis 1, m of shape (R, regions).
    efforts = np.array([[[1.0, 4.0], [1.0, 0.0], [2.0, 4.0]], [[3.0, 1.0], [1.0, 1.0], [0.0, 2.0]]])
    m = np.array([[1.0, 2.0], [0.5, 1.0]])
    shares = tullock_shares(efforts, m, axis=1)
    expected = np.empty_like(efforts)
    for r in range(2):
        for region in range(2):
            x = efforts[r, :, region]
            powered = np.where(x > 0, x ** m[r, region], 0.0)
            expected[r, :, region] = powered / powered.sum()
    np.testing.assert_allclose(shares, expected, rtol=1e-14)


@settings(max_examples=200, deadline=None)
@given(st.lists(effort, min_size=1, max_size=8), decisiveness)
def test_tullock_matches_closed_form(efforts, m):
    x = np.array(efforts)
    shares = tullock_shares(x, m)
    powered = np.array([xi**m if xi > 0 else 0.0 for xi in efforts])
    if powered.sum() == 0:
        assert np.array_equal(shares, np.zeros_like(x))
        return
    np.testing.assert_allclose(shares, powered / powered.sum(), rtol=1e-12, atol=1e-300)
    assert shares.sum() == pytest.approx(1.0, abs=1e-12)
    assert np.all(shares >= 0) and np.all(shares <= 1)
    assert np.all(shares[x == 0] == 0)
    # More effort never gives a smaller share.
    order = np.argsort(x, kind="stable")
    assert np.all(np.diff(shares[order]) >= -1e-15)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(1e-3, 1e3), min_size=2, max_size=6), st.floats(0.1, 3.0))
def test_tullock_is_scale_free(efforts, m):
    """p_i depends on relative efforts only: scaling every effort changes nothing."""
    x = np.array(efforts)
    np.testing.assert_allclose(tullock_shares(7.5 * x, m), tullock_shares(x, m), rtol=1e-12)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.floats(1e-3, 1e3), min_size=2, max_size=6),
    st.floats(0.1, 3.0),
    st.sampled_from([1e-250, 1e-120, 1e120, 1e250]),
)
def test_tullock_extreme_scales_neither_overflow_nor_underflow(efforts, m, scale):
    """Regression: x^m overflowed (nan shares) or underflowed (all zero) at extreme scales."""
    x = np.array(efforts)
    np.testing.assert_allclose(
        tullock_shares(scale * x, m), tullock_shares(x, m), rtol=1e-9, atol=1e-15
    )


def test_tullock_very_decisive_contest_goes_to_the_strongest():
    """Regression: with m = 400, 10^400 overflowed and the shares were nan."""
    np.testing.assert_array_equal(tullock_shares(np.array([1.0, 10.0, 0.0]), 400.0), [0, 1, 0])
    np.testing.assert_allclose(tullock_shares(np.array([2.0, 2.0, 1.0]), 5000.0), [0.5, 0.5, 0])
    # Per replication: only the degenerate row takes the rescaled path.
    shares = tullock_shares(np.array([[1.0, 3.0], [1.0, 10.0]]), np.array([1.0, 400.0]))
    np.testing.assert_allclose(shares, [[0.25, 0.75], [0.0, 1.0]])


# -------------------------------------------------------------- Lanchester


def euler_lanchester(blue, red, alpha, beta, weeks, steps=20_000):
    """Fine explicit Euler integration of dB/dt = -beta R, dR/dt = -alpha B.

    A side that reaches 0 stays at 0 and stops firing.
    """
    blue, red = np.array(blue, dtype=float), np.array(red, dtype=float)
    dt = weeks / steps
    for _ in range(steps):
        blue, red = (
            np.maximum(blue - dt * beta * red, 0.0),
            np.maximum(red - dt * alpha * blue, 0.0),
        )
    return blue, red


coefficient = st.floats(1e-3, 2.0)
strength = st.floats(0.0, 10.0)


@settings(max_examples=300, deadline=None)
@given(coefficient, coefficient, strength, strength, st.floats(0.0, 3.0))
def test_lanchester_square_law_conserved_until_annihilation(alpha, beta, blue, red, weeks):
    b, r = lanchester_square(np.array([blue]), np.array([red]), alpha, beta, weeks)
    b, r = float(b[0]), float(r[0])
    invariant = alpha * blue**2 - beta * red**2
    scale = alpha * blue**2 + beta * red**2 + 1e-300
    assert b >= 0 and r >= 0
    # Attrition only removes strength.
    assert b <= blue * (1 + 1e-12) and r <= red * (1 + 1e-12)
    if b > 0 and r > 0:
        assert alpha * b**2 - beta * r**2 == pytest.approx(invariant, abs=1e-9 * scale)
    elif r == 0 and invariant > 0:
        # Red annihilated: blue keeps what the conserved quantity leaves it.
        assert b == pytest.approx(np.sqrt(invariant / alpha), rel=1e-9, abs=1e-9)
    elif b == 0 and invariant < 0:
        assert r == pytest.approx(np.sqrt(-invariant / beta), rel=1e-9, abs=1e-9)


def test_lanchester_closed_form_hand_example():
    alpha, beta, blue, red, t = 0.04, 0.01, 3.0, 2.0, 2.0
    g = np.sqrt(alpha * beta)
    b, r = lanchester_square(np.array([blue]), np.array([red]), alpha, beta, t)
    assert b[0] == pytest.approx(
        blue * np.cosh(g * t) - np.sqrt(beta / alpha) * red * np.sinh(g * t)
    )
    assert r[0] == pytest.approx(
        red * np.cosh(g * t) - np.sqrt(alpha / beta) * blue * np.sinh(g * t)
    )


def test_lanchester_zero_time_changes_nothing():
    blue, red = np.array([1.0, 2.0, 0.0]), np.array([0.5, 0.0, 3.0])
    b, r = lanchester_square(blue, red, np.array([0.1, 0.2, 0.3]), np.array([0.3, 0.2, 0.1]), 0.0)
    np.testing.assert_allclose(b, blue)
    np.testing.assert_allclose(r, red)


def test_lanchester_survivor_does_not_grow_after_annihilation():
    """Regression: past annihilation the hyperbolic formula let the winner grow (10 -> 55)."""
    b, r = lanchester_square(np.array([10.0]), np.array([1.0]), 0.5, 0.5, weeks=5.0)
    assert r[0] == 0.0
    assert b[0] == pytest.approx(np.sqrt(10.0**2 - 1.0**2))
    # An enemy of zero strength inflicts no losses and takes none.
    b, r = lanchester_square(np.array([4.0]), np.array([0.0]), 0.3, 0.2, weeks=2.0)
    assert (b[0], r[0]) == (pytest.approx(4.0), 0.0)


@settings(max_examples=100, deadline=None)
@given(st.floats(0.0, 2.0), strength, strength, st.floats(0.0, 3.0), st.booleans())
def test_lanchester_linear_when_one_coefficient_is_zero(coef, blue, red, weeks, blue_silent):
    if blue_silent:  # alpha = 0: blue cannot hurt red; blue loses beta * R0 per week
        b, r = lanchester_square(np.array([blue]), np.array([red]), 0.0, coef, weeks)
        assert r[0] == red
        assert b[0] == pytest.approx(max(blue - coef * red * weeks, 0.0), abs=1e-12)
    else:  # beta = 0
        b, r = lanchester_square(np.array([blue]), np.array([red]), coef, 0.0, weeks)
        assert b[0] == blue
        assert r[0] == pytest.approx(max(red - coef * blue * weeks, 0.0), abs=1e-12)


def test_lanchester_matches_fine_euler_integration():
    rng = np.random.default_rng(1916)
    n = 400
    alpha = rng.uniform(0.0, 1.0, n)
    beta = rng.uniform(0.0, 1.0, n)
    alpha[:20] = 0.0  # the linear cases
    beta[20:40] = 0.0
    blue = rng.uniform(0.0, 5.0, n)
    red = rng.uniform(0.0, 5.0, n)
    weeks = 2.0
    b, r = lanchester_square(blue, red, alpha, beta, weeks)
    b_euler, r_euler = euler_lanchester(blue, red, alpha, beta, weeks)
    # Euler's error is O(dt); near a simultaneous annihilation the survivor's
    # strength is a square root of the invariant, hence the absolute term.
    np.testing.assert_allclose(b, b_euler, rtol=2e-3, atol=2e-3)
    np.testing.assert_allclose(r, r_euler, rtol=2e-3, atol=2e-3)
    # The sample really contains annihilations and survivors of both colours.
    assert ((r == 0) & (b > 0)).sum() > 10 and ((b == 0) & (r > 0)).sum() > 10


def test_lanchester_per_replication_coefficients_broadcast():
    blue, red = np.array([1.0, 1.0]), np.array([1.0, 1.0])
    b, r = lanchester_square(blue, red, np.array([0.0, 0.1]), 0.1, 1.0)
    b0, r0 = lanchester_square(blue[:1], red[:1], 0.0, 0.1, 1.0)
    b1, r1 = lanchester_square(blue[1:], red[1:], 0.1, 0.1, 1.0)
    np.testing.assert_array_equal(b, np.concatenate([b0, b1]))
    np.testing.assert_array_equal(r, np.concatenate([r0, r1]))


# ----------------------------------------------- compiled: fight_week_compiled


def _stream_draws(seed: int, size: int, regions: int, n: int) -> np.ndarray:
    """The noise (R, regions, combatants) that the streams of ``seed`` draw, as the model does."""
    draws = np.stack([g.standard_normal(size) for g in seeded_streams(seed, regions * n)])
    return np.ascontiguousarray(draws.reshape(regions, n, size).transpose(2, 0, 1))


def _reference(week: dict) -> tuple[np.ndarray, ...]:
    return fighting.fight_week(**{k: v for k, v in week.items() if k != "noise_seed"})


def _random_week(
    rng: np.random.Generator,
    size: int,
    regions: int,
    n: int,
    *,
    spoilers: int,
    decisiveness: float,
    centred: bool,
    recruit: bool,
) -> dict:
    """Random inputs of the fighting stage, with the branches the model can take."""
    control = rng.random((size, regions, n)) * (rng.random((size, regions, n)) < 0.6)
    # Some regions nobody holds, the rest normalised.
    noise_seed = int(rng.integers(2**31))
    totals = control.sum(axis=-1, keepdims=True)
    control = np.divide(control, totals, out=np.zeros_like(control), where=totals > 0)
    written_map = control[rng.permutation(size)]
    adjacency = np.triu((rng.random((regions, regions)) < 0.4).astype(float), 1)
    adjacency = adjacency + adjacency.T
    forces = rng.uniform(0.0, 5000.0, (size, n)) * (rng.random((size, n)) < 0.9)
    # A truce by region (one aimed at named enemies) with its fire held apart.
    truce = np.where(rng.random((size, regions, n)) < 0.2, rng.random((size, regions, n)), 1.0)
    fire_truce = np.where(rng.random((size, n)) < 0.2, rng.random((size, n)), 1.0)
    offensive = np.where(rng.random((size, regions, n)) < 0.1, 1.0 + rng.random(), 1.0)
    columns = rng.permutation(n)
    government = int(columns[0])
    spoiler_columns = np.sort(columns[1 : 1 + spoilers]).astype(np.int64)
    factions = np.sort(columns[1 + spoilers :]).astype(np.int64)
    return {
        "forces": forces,
        "support": rng.uniform(0.0, 500.0, (size, n)),
        "escalation": np.where(rng.random((size, n)) < 0.2, 1.5, 1.0),
        "control": control,
        "written_map": written_map,
        "baseline_shares": rng.dirichlet(np.ones(n), (size, regions)) if centred else None,
        "adjacency": adjacency,
        "value": rng.uniform(0.5, 3.0, regions),
        "offensive": offensive,
        "truce": truce,
        "fire_truce": fire_truce,
        "noise": _stream_draws(noise_seed, size, regions, n),
        "noise_seed": noise_seed,  # the kernel draws the same noise from these streams
        "reach": rng.uniform(0.0, 0.5, size),
        "sigma": rng.uniform(0.0, 0.5, size),
        "decisiveness": np.full(size, decisiveness),
        # By region: a ceasefire holds the fronts only where those it binds fight.
        "rate": rng.uniform(0.0, 0.2, (size, regions)) * (rng.random((size, regions)) < 0.9),
        "effectiveness": rng.uniform(0.0, 0.05, size) * (rng.random(size) < 0.9),
        "government": government,
        "factions": factions,
        "spoilers": spoiler_columns,
        "recruitment": rng.uniform(0.0, 0.1, (size, n)),
        "base_forces": rng.uniform(0.0, 6000.0, (size, n)),
        "recruit": recruit,
        "spoiler_effectiveness": rng.uniform(0.0, 0.05, (size, spoilers)),
    }


def _compiled(week: dict, *, aliased: bool = False) -> tuple[np.ndarray, ...]:
    size, regions, n = week["control"].shape
    forces, control = week["forces"].copy(), week["control"].copy()
    out = (
        np.empty((size, n)),
        control if aliased else np.empty((size, regions, n)),
        np.empty((size, regions, n)),
        forces if aliased else np.empty((size, n)),
        np.empty((size, n)),
        *(np.empty(size) for _ in range(4)),
    )
    centred = week["baseline_shares"] is not None
    fighting.fight_week_compiled(
        forces,
        week["support"],
        week["escalation"],
        control,
        week["written_map"],
        week["baseline_shares"] if centred else control,
        centred,
        week["adjacency"],
        week["value"],
        week["offensive"],
        week["truce"],
        week["fire_truce"],
        pcg64_states(seeded_streams(week["noise_seed"], regions * n)),
        week["reach"],
        week["sigma"],
        week["decisiveness"],
        week["rate"],
        week["effectiveness"],
        week["government"],
        week["factions"],
        week["spoilers"],
        week["recruitment"],
        week["base_forces"],
        week["recruit"],
        week["spoiler_effectiveness"],
        *out,
    )
    return out


NAMES = (
    "strength",
    "control",
    "shares",
    "forces",
    "losses",
    "blue",
    "red",
    "blue_lost",
    "red_lost",
)


@pytest.mark.parametrize(
    ("regions", "n", "spoilers", "decisiveness", "centred", "recruit"),
    [
        (9, 6, 2, 1.0, True, True),  # geneva3's shape
        (9, 6, 2, 1.0, False, False),  # the spin-up: fronts and forces held
        (4, 3, 0, 1.0, True, True),
        (7, 5, 1, 2.5, True, True),
        (12, 9, 3, 0.6, True, False),  # >= 8 combatants: numpy sums pairwise
        (1, 2, 0, 1.0, False, True),
        (20, 10, 1, 1.0, True, True),  # >= 8 regions in the spoilers' sum
    ],
)
def test_fight_week_docks_with_the_numpy_reference(
    regions, n, spoilers, decisiveness, centred, recruit
):
    rng = np.random.default_rng(regions * 100 + n)
    week = _random_week(
        rng,
        300,
        regions,
        n,
        spoilers=spoilers,
        decisiveness=decisiveness,
        centred=centred,
        recruit=recruit,
    )
    before = {k: v.copy() for k, v in week.items() if isinstance(v, np.ndarray)}
    expected = _reference(week)
    for key, value in before.items():
        assert np.array_equal(week[key], value), f"the reference modified {key}"
    got = _compiled(week)
    for name, e, g in zip(NAMES, expected, got, strict=True):
        assert_docked(g, e, name)


def test_fight_week_outputs_may_alias_inputs():
    week = _random_week(
        np.random.default_rng(5),
        200,
        9,
        6,
        spoilers=2,
        decisiveness=1.0,
        centred=True,
        recruit=True,
    )
    # Bit for bit: the same compiled code on the same inputs.
    for fresh, aliased in zip(_compiled(week), _compiled(week, aliased=True), strict=True):
        assert np.array_equal(fresh, aliased)


def test_fight_week_extreme_decisiveness_takes_the_rescaled_path():
    # x^m overflows for m = 200 and efforts in the thousands: the contest is
    # computed from x / max(x), in both implementations.
    week = _random_week(
        np.random.default_rng(9),
        100,
        5,
        4,
        spoilers=0,
        decisiveness=200.0,
        centred=True,
        recruit=True,
    )
    expected = _reference(week)
    got = _compiled(week)
    assert np.isfinite(got[2]).all()
    assert_docked(got[2], expected[2], "shares")


# -------------------------------------------------------------- recording


@pytest.mark.parametrize("shape", [(500, 9, 6), (40, 1, 2), (30, 140, 5)])
def test_territory_by_combatant_is_the_recorders_numpy(shape):
    rng = np.random.default_rng(sum(shape))
    control = rng.random(shape) * (rng.random(shape) < 0.7)
    value_share = rng.random(shape[1])
    value_share /= value_share.sum()
    expected = (control * value_share[None, :, None]).sum(axis=1).T.astype(np.float32)
    # Written into rows of a (metric, week, R) array, as the recorder does.
    values = np.zeros((shape[2] + 3, 4, shape[0]), dtype=np.float32)
    fighting.territory_by_combatant(control, value_share, values[1 : 1 + shape[2], 2, :])
    # Bit for bit: one product per term (no multiply-add to contract: numpy
    # multiplies in one pass and sums in another) and a sum along a strided
    # axis, which numpy takes left to right, as the kernel does.
    assert np.array_equal(values[1 : 1 + shape[2], 2, :], expected)
    assert not values[:, [0, 1, 3], :].any() and not values[0].any()


# ------------------------------------------------ compiled: what the fighting leaves


@pytest.mark.parametrize("decisiveness", [1.0, 0.6, 2.5, 200.0])
def test_contest_share_is_tullock_shares_of_two(decisiveness):
    rng = np.random.default_rng(int(decisiveness * 10))
    x = rng.uniform(0, 5000, 2000) * (rng.random(2000) < 0.8)
    y = rng.uniform(0, 5000, 2000) * (rng.random(2000) < 0.8)
    x[:5] = [1e-200, 1e200, 0.0, 3.0, 1e-310]  # extremes: the rescaled path
    y[:5] = [1e-210, 1e190, 0.0, 0.0, 1e-305]
    expected = fighting.tullock_shares(np.stack([x, y], axis=-1), decisiveness)[:, 0]
    got = np.array([fighting._contest_share(a, b, decisiveness) for a, b in zip(x, y, strict=True)])
    assert_docked(got, expected)

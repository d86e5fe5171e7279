"""Sweeps: designs, sample points as scenarios, screening ranges, runs with common random numbers."""

from __future__ import annotations

import re

import numpy as np
import pytest

from negsim.errors import NegsimError
from negsim.run.executors import SerialExecutor
from negsim.run.sweep import (
    Factor,
    check_samples,
    make_design,
    point_scenarios,
    points_for,
    screening_factors,
    simulate_points,
    uncertain_factors,
)
from negsim.scenario.distributions import Normal, Uniform


def test_points_rebuilt_without_values_are_the_loaders_variants(geneva3) -> None:
    # Guards the round trip the sweep relies on: validated scenario -> data ->
    # the loader's own `apply_set`/`apply_variant` -> validated scenarios.
    rebuilt = point_scenarios(geneva3.scenario, {}, list(geneva3.variants))
    for name, scenario in geneva3.variants.items():
        assert rebuilt[name] == scenario, name


def test_a_point_sets_its_values_in_every_variant_that_has_them(geneva3) -> None:
    values = {
        "actors.regime.resolve": 0.9,
        "events.russian_intervention.intensity": 0.8,
        "parameters.contest_decisiveness": 1.3,
    }
    points = point_scenarios(geneva3.scenario, values, ["base", "no_russian_escalation"])
    base, control = points["base"], points["no_russian_escalation"]
    for scenario in (base, control):
        assert scenario.actors["regime"].resolve == 0.9  # type: ignore[union-attr]
        assert scenario.parameters.contest_decisiveness == 1.3
    intervention = next(e for e in base.events if e.id == "russian_intervention")
    assert intervention.intensity == 0.8  # type: ignore[union-attr]
    assert all(e.id != "russian_intervention" for e in control.events)  # removed by the variant


def test_a_value_the_scenario_refuses_is_a_one_line_error(geneva3) -> None:
    with pytest.raises(NegsimError, match=r"actors\.regime\.resolve=1\.5"):
        point_scenarios(geneva3.scenario, {"actors.regime.resolve": 1.5}, ["base"])


def test_designs_are_deterministic_and_inside_their_ranges(geneva3) -> None:
    factors = uncertain_factors(geneva3.scenario)
    assert [f.path for f in factors] == list(geneva3.scenario.uncertain)
    for method, samples in (("morris", 3), ("sobol", 4), ("lhs", 10)):
        first = make_design(factors, method, samples, seed=11)
        again = make_design(factors, method, samples, seed=11)
        np.testing.assert_array_equal(first.values, again.values)
        assert first.points == points_for(method, samples, len(factors))
        for column, factor in enumerate(factors):
            assert factor.low <= first.values[:, column].min()
            assert first.values[:, column].max() <= factor.high
    other = make_design(factors, "lhs", 10, seed=12)
    assert not np.array_equal(other.values, make_design(factors, "lhs", 10, seed=11).values)


def test_unbounded_normal_is_swept_over_its_central_998_per_mille() -> None:
    factor = Factor("x", Normal(normal={"mean": 0.0, "sd": 1.0}), 0.0, "uncertain")
    ends = factor.values(np.array([0.0, 1.0]))
    assert ends == pytest.approx([-3.09, 3.09], abs=0.01)
    assert (factor.low, factor.high) == pytest.approx((-3.09, 3.09), abs=0.01)


@pytest.mark.parametrize(
    ("method", "samples", "phrase"),
    [
        ("sobol", 12, "power of 2 (got 12; try 16)"),
        ("lhs", 2, "at least 4"),
        ("grid", 4, "unknown"),
    ],
)
def test_unusable_sample_counts_are_refused(method: str, samples: int, phrase: str) -> None:
    with pytest.raises(NegsimError, match=re.escape(phrase)):
        check_samples(method, samples, 3)


def test_screening_covers_every_number_within_what_each_accepts(geneva3) -> None:
    factors, skipped = screening_factors(geneva3.scenario)
    by_path = {f.path: f for f in factors}
    declared = set(geneva3.scenario.uncertain)
    assert declared <= set(by_path)
    for path in declared:  # the scenario's own ranges win
        assert by_path[path].source == "uncertain"
    resolve = by_path["actors.opposition.resolve"]  # a share at 0.6: 0.3 to 0.9
    assert (resolve.low, resolve.high) == pytest.approx((0.3, 0.9))
    position = by_path["actors.regime.position"]  # a share at 0: pulled in to 0
    assert (position.low, position.high) == pytest.approx((0.0, 0.25))
    assert "parameters.hardline_margin" in by_path  # a default, not written in the file
    assert skipped["parameters.belief_noise"].startswith("a distribution")
    assert skipped["regions.damascus.control.regime"].startswith("cannot change alone")
    assert not any(p.startswith(("experiment.", "hypotheses.", "variants.")) for p in by_path)
    for factor in factors:  # both ends are valid scenarios
        point_scenarios(geneva3.scenario, {factor.path: factor.low}, ["base"])
        point_scenarios(geneva3.scenario, {factor.path: factor.high}, ["base"])


def test_points_share_random_numbers_and_any_executor_gives_the_same_runs(geneva3) -> None:
    factor = Factor(
        "actors.un.leverage", Uniform(uniform={"low": 0.2, "high": 0.6}), 0.4, "uncertain"
    )
    design = make_design([factor], "lhs", 4, seed=2)
    variants = ["base", "alloush_alive"]
    points = {i: point_scenarios(geneva3.scenario, design.point(i), variants) for i in (0, 1)}
    # The same point twice: identical runs (one seed for every point and variant).
    points[2] = points[0]
    serial = dict(simulate_points(points, 12, 5, 12, SerialExecutor(), window=2))
    assert sorted(serial) == [0, 1, 2]
    for name in variants:
        for outcome, values in serial[0][name].outcomes.items():
            np.testing.assert_array_equal(values, serial[2][name].outcomes[outcome], outcome)
    from negsim.run.executors import ProcessExecutor

    pool = ProcessExecutor(2)
    try:
        parallel = dict(simulate_points(points, 12, 5, 12, pool, window=3))
    finally:
        pool.close()
    assert sorted(parallel) == [0, 1, 2]
    for index in points:
        for name in variants:
            for outcome, values in serial[index][name].outcomes.items():
                np.testing.assert_array_equal(values, parallel[index][name].outcomes[outcome])

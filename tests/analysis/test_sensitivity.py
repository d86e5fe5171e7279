"""Sensitivity indices, verdict shares and flip regions.

The docking tests put the sweep's pipeline (factors mapped from SALib's unit
cube to their ranges, the analyzers called on the unit design, the columns
assembled) against functions whose indices are known in closed form: SALib
itself is not under test.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from negsim.analysis.sensitivity import (
    claims,
    flip_box,
    peeling_trajectory,
    robustness_frame,
    sensitivity_columns,
    sensitivity_frame,
    sweep_frame,
)
from negsim.run.sweep import Factor, make_design
from negsim.scenario.distributions import Uniform


def factors(*ranges: tuple[float, float]) -> list[Factor]:
    return [
        Factor(f"x{i}", Uniform(uniform={"low": low, "high": high}), (low + high) / 2, "uncertain")
        for i, (low, high) in enumerate(ranges, start=1)
    ]


def ishigami(x: np.ndarray, a: float = 7.0, b: float = 0.1) -> np.ndarray:
    return np.sin(x[:, 0]) + a * np.sin(x[:, 1]) ** 2 + b * x[:, 2] ** 4 * np.sin(x[:, 0])


def ishigami_indices(a: float = 7.0, b: float = 0.1) -> dict[str, tuple[float, float]]:
    """Closed-form first-order and total Sobol' indices of Ishigami & Homma (1990)."""
    pi = math.pi
    variance = a**2 / 8 + b * pi**4 / 5 + b**2 * pi**8 / 18 + 0.5
    v1 = 0.5 * (1 + b * pi**4 / 5) ** 2
    v2 = a**2 / 8
    v13 = b**2 * pi**8 * (1 / 18 - 1 / 50)
    return {
        "x1": (v1 / variance, (v1 + v13) / variance),
        "x2": (v2 / variance, v2 / variance),
        "x3": (0.0, v13 / variance),
    }


def test_ishigami_sobol_indices_lie_in_their_intervals() -> None:
    design = make_design(factors(*[(-math.pi, math.pi)] * 3), "sobol", 1024, seed=7)
    assert design.values.min() >= -math.pi and design.values.max() <= math.pi
    effect = ishigami(design.values)
    frame = sensitivity_frame(
        "sobol", design.problem(), design.unit, {("ishigami", "y"): effect}, seed=1
    )
    assert list(frame.columns) == sensitivity_columns("sobol")
    for row in frame.itertuples():
        s1, st = ishigami_indices()[row.parameter]
        assert row.S1_ci_low <= s1 <= row.S1_ci_high, row
        assert row.ST_ci_low <= st <= row.ST_ci_high, row
    assert frame.set_index("parameter")["rank"].to_dict() == {"x1": 1, "x2": 2, "x3": 3}


def test_morris_ranks_a_linear_function_by_its_slopes_over_the_ranges() -> None:
    # y = 3 x1 + 1 x2 + 0 x3 on ranges of width 2, 1, 5: the effect of moving
    # each factor over its whole range is 6, 1 and 0.
    design = make_design(factors((0, 2), (10, 11), (-1, 4)), "morris", 8, seed=3)
    y = 3 * design.values[:, 0] + design.values[:, 1]
    frame = sensitivity_frame("morris", design.problem(), design.unit, {("h", "m"): y}, seed=1)
    by_name = frame.set_index("parameter")
    assert by_name.loc["x1", "mu_star"] == pytest.approx(6.0)
    assert by_name.loc["x2", "mu_star"] == pytest.approx(1.0)
    assert by_name.loc["x3", "mu_star"] == pytest.approx(0.0)
    assert list(frame["parameter"]) == ["x1", "x2", "x3"]
    assert by_name.loc["x1", "mu_star_ci_low"] <= 6.0 <= by_name.loc["x1", "mu_star_ci_high"]


def test_latin_hypercube_finds_the_only_influential_factor() -> None:
    design = make_design(factors((0, 1), (0, 1), (0, 1)), "lhs", 200, seed=5)
    y = np.exp(3 * design.values[:, 1])
    frame = sensitivity_frame("lhs", design.problem(), design.unit, {("h", "m"): y}, seed=1)
    assert frame.iloc[0]["parameter"] == "x2"
    assert frame.iloc[0]["S1"] > 0.8


def test_undefined_or_constant_effects_give_a_note_not_a_crash() -> None:
    design = make_design(factors((0, 1), (0, 1)), "morris", 4, seed=1)
    y = np.zeros(design.points)
    y_missing = y.copy()
    y_missing[2] = np.nan
    frame = sensitivity_frame(
        "morris",
        design.problem(),
        design.unit,
        {("flat", "m"): y, ("missing", "m"): y_missing},
        seed=1,
    )
    flat = frame[frame.hypothesis == "flat"]
    assert (flat["mu_star"] == 0).all() and "same at every point" in flat["note"].iloc[0]
    missing = frame[frame.hypothesis == "missing"]
    assert missing["mu_star"].isna().all() and missing["rank"].isna().all()
    assert "undefined at 1 of" in missing["note"].iloc[0]


def test_flip_box_recovers_a_planted_region() -> None:
    rng = np.random.default_rng(0)
    values = pd.DataFrame(rng.random((400, 3)), columns=["a", "b", "c"])
    flipped = ((values.a > 0.7) & (values.b < 0.4)).to_numpy()
    box = flip_box(values, flipped)
    assert box is not None
    assert set(box.limits) == {"a", "b"}
    assert box.limits["a"][0] == pytest.approx(0.7, abs=0.05)
    assert box.limits["b"][1] == pytest.approx(0.4, abs=0.05)
    assert box.coverage > 0.9 and box.density > 0.9
    assert flip_box(values, np.zeros(400, bool)) is None
    assert flip_box(values, np.ones(400, bool)).text() == "everywhere"  # type: ignore[union-attr]


def test_the_peeling_trajectory_is_the_one_the_box_is_chosen_from() -> None:
    rng = np.random.default_rng(0)
    values = pd.DataFrame(rng.random((400, 3)), columns=["a", "b", "c"])
    flipped = ((values.a > 0.7) & (values.b < 0.4)).to_numpy()
    path = peeling_trajectory(values, flipped)
    box = flip_box(values, flipped)
    assert box is not None and path["chosen"].sum() == 1
    chosen = path[path["chosen"]].iloc[0]
    assert chosen["coverage"] == box.coverage and chosen["density"] == box.density
    assert chosen["restricted"] == len(box.limits)
    # Peeling starts from the whole space and only ever removes points.
    assert path["mass"].iloc[0] == pytest.approx(1.0)
    assert path["coverage"].iloc[0] == pytest.approx(1.0)
    assert path["density"].iloc[0] == pytest.approx(flipped.mean())
    assert (np.diff(path["mass"]) <= 0).all() and (np.diff(path["coverage"]) <= 1e-12).all()
    # The box chosen has the largest harmonic mean of coverage and density on the trajectory.
    balance = 2 * path.coverage * path.density / (path.coverage + path.density)
    assert balance[path["chosen"]].iloc[0] == pytest.approx(balance.max())
    assert peeling_trajectory(values, np.zeros(400, bool)).empty
    assert len(peeling_trajectory(values, np.ones(400, bool))) == 1


def test_robustness_shares_sum_to_one_and_boxes_are_for_flipped_verdicts() -> None:
    rng = np.random.default_rng(1)
    values = pd.DataFrame(rng.random((300, 2)), columns=["p", "q"])
    verdicts = np.where(values.p > 0.8, "contradicted", "supported")
    frame = robustness_frame(
        values,
        {"p": (0.0, 1.0), "q": (0.0, 1.0)},
        {("h", "agreement"): ("decrease", list(verdicts))},
        {("h", "agreement"): "supported"},
    )
    assert list(frame["verdict"]) == ["supported", "contradicted"]
    assert frame["share"].sum() == pytest.approx(1.0)
    assert frame["at_scenario_values"].tolist() == [1, 0]
    flipped = frame.iloc[1]
    assert flipped["box"].startswith("p in [0.")
    assert 0.78 <= flipped["low.p"] <= 0.8
    assert flipped["high.p"] <= 1.0
    assert (flipped["low.q"], flipped["high.q"]) == (0.0, 1.0)  # not restricted: whole range
    assert pd.isna(frame.iloc[0]["box"])


def test_verdict_at_the_scenario_values_is_listed_even_where_no_sample_has_it() -> None:
    values = pd.DataFrame({"p": [0.1, 0.2, 0.3]})
    frame = robustness_frame(
        values,
        {"p": (0.0, 1.0)},
        {("h", "m"): ("increase", ["supported"] * 3)},
        {("h", "m"): "inconclusive"},
    )
    assert frame[["verdict", "samples", "at_scenario_values"]].values.tolist() == [
        ["inconclusive", 0, 1],
        ["supported", 3, 0],
    ]
    assert frame.iloc[1]["box"] == "everywhere"


def test_sweep_frame_one_row_per_sample_with_every_hypothesis_measure() -> None:
    table = pd.DataFrame(
        {
            "hypothesis": ["h1", "h2"],
            "metric": ["agreement", "settlement"],
            "treatment": ["base", "base"],
            "control": ["c", "c"],
            "expected": ["decrease", "increase"],
            "effect": [0.1, -0.2],
            "verdict": ["contradicted", "contradicted"],
            "sentence": ["...", "..."],
        }
    )
    frame = sweep_frame(["a.b"], np.array([[0.5], [0.6]]), [table, table], [None, None])
    assert list(frame.columns) == [
        "sample",
        "a.b",
        "h1.effect",
        "h1.verdict",
        "h2.effect",
        "h2.verdict",
    ]
    assert frame["sample"].tolist() == [0, 1]
    with_record = sweep_frame(["a.b"], np.array([[0.5], [0.6]]), [table, table], [0.25, 0.5])
    assert with_record["record_share"].tolist() == [0.25, 0.5]


def test_a_hypothesis_on_several_metrics_gets_columns_per_metric() -> None:
    table = pd.DataFrame(
        {
            "hypothesis": ["h", "h", "g"],
            "metric": ["agreement", "stage", "settlement"],
            "effect": [0.1, -0.2, 0.3],
            "verdict": ["supported", "negligible", "contradicted"],
        }
    )
    assert claims([table]) == {
        ("h", "agreement"): "h.agreement",
        ("h", "stage"): "h.stage",
        ("g", "settlement"): "g",
    }
    frame = sweep_frame(["a.b"], np.array([[0.5]]), [table], None)
    assert frame["h.agreement.effect"].tolist() == [0.1]
    assert frame["h.stage.verdict"].tolist() == ["negligible"]
    assert frame["g.effect"].tolist() == [0.3]

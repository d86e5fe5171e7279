"""compare.csv's evidence: ratio intervals against closed forms, references, shared patterns."""

from __future__ import annotations

import math

import numpy as np
import pytest

from negsim.analysis.evidence import (
    COMPARE_COLUMNS,
    PATTERN_COLUMNS,
    ModelRuns,
    common_patterns,
    evidence_table,
    katz_interval,
    koopman_interval,
    pattern_table,
    references,
    wilson,
)


def test_katz_interval_is_its_closed_form():
    ratio, low, high = katz_interval(30, 100, 15, 100, 0.95)
    assert ratio == pytest.approx(2.0)
    spread = 1.959963984540054 * math.sqrt(1 / 30 - 1 / 100 + 1 / 15 - 1 / 100)
    assert low == pytest.approx(2.0 * math.exp(-spread), rel=1e-9)
    assert high == pytest.approx(2.0 * math.exp(spread), rel=1e-9)
    assert all(math.isnan(v) for v in katz_interval(0, 100, 15, 100, 0.95)[1:])


def _score_statistic(x1: int, n1: int, x2: int, n2: int, phi: float) -> float:
    """Koopman's chi-square at ratio phi, its restricted MLE found numerically (independent of
    the closed form statsmodels uses)."""
    from scipy.optimize import minimize_scalar

    def minus_loglik(p2: float) -> float:
        p1 = phi * p2
        return -(
            x1 * math.log(p1)
            + (n1 - x1) * math.log1p(-p1)
            + x2 * math.log(p2)
            + (n2 - x2) * math.log1p(-p2)
        )

    upper = min(1.0, 1.0 / phi) - 1e-12
    p2 = minimize_scalar(
        minus_loglik, bounds=(1e-12, upper), method="bounded", options={"xatol": 1e-13}
    ).x
    p1 = phi * p2
    return (x1 - n1 * p1) ** 2 / (n1 * p1 * (1 - p1)) + (x2 - n2 * p2) ** 2 / (n2 * p2 * (1 - p2))


@pytest.mark.parametrize(
    "counts", [(30, 100, 15, 100), (7, 40, 22, 60), (3, 200, 9, 150), (10, 20, 19, 20)]
)
def test_koopman_bounds_are_where_the_score_statistic_reaches_z_squared(counts):
    ratio, low, high = koopman_interval(*counts, 0.95)
    z2 = 1.959963984540054**2
    assert low < ratio < high
    assert _score_statistic(*counts, low) == pytest.approx(z2, rel=1e-4)
    assert _score_statistic(*counts, high) == pytest.approx(z2, rel=1e-4)


def test_koopman_at_every_count_is_real_and_contains_the_estimate():
    # (statsmodels' closed form returns complex roots when one share is 1.)
    for x1 in range(0, 21, 4):
        for x2 in range(0, 21, 4):
            ratio, low, high = koopman_interval(x1, 20, x2, 20, 0.95)
            if x1 == x2 == 0:
                continue
            assert isinstance(low, float) and isinstance(high, float)
            assert low <= ratio <= high


def test_koopman_handles_a_model_that_never_reproduces_the_record():
    ratio, low, high = koopman_interval(0, 100, 10, 100, 0.95)
    assert ratio == 0.0 and low == 0.0 and 0 < high < 1
    ratio, low, high = koopman_interval(10, 100, 0, 100, 0.95)
    assert math.isinf(ratio) and math.isinf(high) and low > 1
    assert all(math.isnan(v) for v in koopman_interval(0, 100, 0, 100, 0.95))


def test_wilson_matches_its_closed_form():
    x, n, z = 15, 40, 1.959963984540054
    p = x / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    low, high = wilson(x, n, 0.95)
    assert low == pytest.approx(centre - half, rel=1e-9)
    assert high == pytest.approx(centre + half, rel=1e-9)


def _model(name, scenario, variant, matches, uses=("condition", "condition", "holdout")):
    return ModelRuns(
        name, scenario, variant, np.asarray(matches, dtype=bool), ("a", "b", "h"), uses
    )


def test_references_pair_variants_with_their_base_and_theories_with_the_first():
    models = [
        _model("g", "g", "base", np.ones((3, 4))),
        _model("g:x", "g", "x", np.ones((3, 4))),
        _model("r", "r", "base", np.ones((3, 4))),
        _model("r:x", "r", "x", np.ones((3, 4))),
    ]
    assert references(models) == {"g:x": "g", "r": "g", "r:x": "r"}


def test_evidence_and_pattern_tables_count_the_runs():
    # Base: runs 0-2 reproduce a and b (3 of 5); rival: only run 0 (1 of 5).
    base = _model("g", "g", "base", [[1, 1, 1, 1, 0], [1, 1, 1, 0, 1], [1, 0, 1, 1, 1]])
    rival = _model("r", "r", "base", [[1, 0, 0, 1, 1], [1, 1, 1, 0, 0], [0, 1, 1, 1, 1]])
    raw = evidence_table([base, rival], 0.95)
    assert list(raw.columns) == COMPARE_COLUMNS
    table = raw.set_index("model")
    assert table.loc["g", "reproduced"] == 3 and table.loc["r", "reproduced"] == 1
    assert table.loc["r", "bayes_factor"] == pytest.approx((1 / 5) / (3 / 5))
    assert table.loc["r", "reference"] == "g" and table.loc["g", "reference"] == ""
    assert math.isnan(table.loc["g", "bayes_factor"])
    assert table.loc["g", "patterns"] == "a;b"
    raw = pattern_table([base, rival], 0.95)
    assert list(raw.columns) == PATTERN_COLUMNS
    per = raw.set_index(["model", "pattern"])
    assert per.loc[("r", "a"), "likelihood_ratio"] == pytest.approx((3 / 5) / (4 / 5))
    # The holdout pattern among the worlds like ours: base runs 0, 1, 2 -> h in runs 0 and 2.
    assert per.loc[("g", "h"), "reproduced_like_ours"] == 2
    assert per.loc[("g", "h"), "share_like_ours"] == pytest.approx(2 / 3)
    assert per.loc[("r", "h"), "share_like_ours"] == 0.0  # run 0 misses h
    assert math.isnan(per.loc[("g", "a"), "share_like_ours"])  # conditioning: holds by selection


def test_common_patterns_by_id_and_definition():
    a = {"id": "a", "metric": "agreement", "date": "2016-01-01", "below": 0.5}
    b = {"id": "b", "metric": "talks_state", "date": "2016-02-01", "equals": 3}
    first = [a, b, {"id": "only_first", "metric": "trust", "date": "2016-01-01", "above": 0}]
    second = [
        {**a, "description": "other words", "source": "another"},  # same definition
        {**b, "equals": 1},  # a different fact under the same id
    ]
    common, left_out = common_patterns([first, second])
    assert common == ["a"]
    assert left_out == ["b (defined differently)", "only_first (not in every scenario)"]
    assert common_patterns([first]) == (["a", "b", "only_first"], [])

"""Verdicts on synthetic paired data whose answer is known."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from negsim.analysis.verdicts import (
    COUNT,
    GAP,
    PROBABILITY,
    STAGE,
    VALUE,
    hypothesis_table,
    paired_verdict,
    row_flags,
)


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


def test_clear_positive_effect_is_supported_when_an_increase_is_expected(rng):
    control = rng.normal(0, 1, 500)
    treatment = control + 0.5 + rng.normal(0, 0.2, 500)
    verdict = paired_verdict(treatment, control, "increase", seed=1)
    assert verdict.verdict == "supported"
    assert 0.45 < verdict.effect < 0.55
    assert verdict.ci_low > 0 and verdict.ci_low < verdict.effect < verdict.ci_high
    assert verdict.p_value < 1e-6


def test_clear_negative_effect_contradicts_an_expected_increase(rng):
    control = rng.normal(0, 1, 500)
    treatment = control - 0.5 + rng.normal(0, 0.2, 500)
    verdict = paired_verdict(treatment, control, "increase", seed=1)
    assert verdict.verdict == "contradicted"
    assert verdict.ci_high < 0


def test_no_effect_is_inconclusive(rng):
    control = rng.normal(0, 1, 500)
    treatment = control + rng.normal(0, 0.2, 500)
    verdict = paired_verdict(treatment, control, "decrease", seed=1)
    assert verdict.verdict == "inconclusive"
    assert verdict.ci_low < 0 < verdict.ci_high
    assert verdict.p_value > 0.01


def test_binary_outcomes_in_points(rng):
    control = (rng.random(2000) < 0.30).astype(float)
    # Treatment removes agreement in a fifth of the runs that had it: a paired drop.
    treatment = control * (rng.random(2000) > 0.2)
    verdict = paired_verdict(treatment, control, "decrease", seed=2)
    assert verdict.verdict == "supported"
    assert -0.08 < verdict.effect < -0.04


def test_identical_variants_of_unknown_kind_give_a_flagged_point_and_p_one():
    values = np.array([0.0, 1.0, 1.0, 0.0])
    verdict = paired_verdict(values, values, "decrease")
    assert (verdict.effect, verdict.ci_low, verdict.ci_high, verdict.p_value) == (0, 0, 0, 1)
    assert verdict.verdict == "inconclusive" and "degenerate" in verdict.flags


def test_no_discordant_pair_in_a_yes_no_outcome_is_not_negligible():
    # Issue 21: 40 pairs that all agree gave [0, 0] and `negligible`.
    values = np.array([0.0] * 35 + [1.0] * 5)
    verdict = paired_verdict(values, values, "decrease", bound=0.05, kind=PROBABILITY)
    assert verdict.method == "tango" and verdict.verdict == "inconclusive"
    assert verdict.ci_low < -0.05 and verdict.ci_high > 0.05
    assert "degenerate" not in verdict.flags and "floor" not in verdict.flags


def test_pairs_that_all_agree_on_a_bounded_metric_get_the_range_interval():
    values = np.full(40, 2.0)
    verdict = paired_verdict(values, values, "increase", bound=0.25, kind=STAGE)
    share = 1 - 0.025 ** (1 / 40)
    assert verdict.method == "range"
    assert verdict.ci_high == pytest.approx(4 * share, rel=1e-12)
    assert verdict.verdict == "inconclusive"
    many = np.full(2000, 2.0)
    assert paired_verdict(many, many, "increase", bound=0.25, kind=STAGE).verdict == "negligible"


def test_pairs_that_all_agree_on_an_unbounded_metric_give_no_verdict():
    values = np.full(100, 3.0)
    verdict = paired_verdict(values, values, "increase", bound=0.25, kind=COUNT)
    assert verdict.verdict == "inconclusive" and "no upper limit" in verdict.reason
    assert "degenerate" in verdict.flags


def test_values_and_gaps_may_be_negative_without_a_floor():
    values = np.full(50, -0.2)
    verdict = paired_verdict(values, values + 0.01, "increase", bound=0.05, kind=VALUE)
    assert "floor" not in verdict.flags
    assert GAP.low == -1 and VALUE.high == 1


def test_a_rare_outcome_gets_its_relative_effect_and_the_floor_flag(rng):
    control = (rng.random(4000) < 0.01).astype(float)
    treatment = np.maximum(control, (rng.random(4000) < 0.01).astype(float))
    verdict = paired_verdict(treatment, control, "increase", bound=0.05, kind=PROBABILITY,
                             relative_bound=1.68)  # fmt: skip
    b, c = int(((treatment - control) > 0).sum()), int(((treatment - control) < 0).sum())
    assert c == 0 and verdict.relative_effect == math.inf
    assert verdict.relative_low > 1.68 and verdict.relative_verdict == "supported"
    assert verdict.verdict == "negligible" and "floor" in verdict.flags
    assert verdict.share_higher == pytest.approx(b / 4000)


def test_near_bound_flags_an_interval_end_at_the_bound():
    flags = row_flags(0.046, 0.2, 0.05, 0.5, PROBABILITY)
    assert flags == ("near_bound",)
    assert row_flags(0.0, 0.0, 0.05, 0.97, PROBABILITY) == ("ceiling", "degenerate")


def _table(runs, spec, **options):
    return hypothesis_table(runs, {"h": spec}, 0.95, 200, 0, **options)


def test_smallest_effect_declared_with_its_reason():
    runs = pd.DataFrame(
        {
            "variant": ["base"] * 50 + ["other"] * 50,
            "replication": list(range(50)) * 2,
            "agreement": [1.0] * 25 + [0.0] * 25 + [0.0] * 50,
        }
    )
    spec = {
        "metric": "agreement",
        "treatment": "base",
        "control": "other",
        "expected": "increase",
        "smallest_effect": {"value": 0.1, "why": "one world in ten", "relative": 2.0},
    }
    row = _table(runs, spec).iloc[0]
    assert row["smallest_effect"] == 0.1 and row["smallest_effect_why"] == "one world in ten"
    assert row["relative_bound"] == 2.0 and row["interval"] == "tango"
    default = _table(runs, {**spec, "smallest_effect": None}).iloc[0]
    assert default["smallest_effect"] == 0.05
    assert default["smallest_effect_why"].startswith("default for a probability")


def test_weeks_to_agreement_is_censored_at_the_horizon():
    runs = pd.DataFrame(
        {
            "variant": ["base"] * 40 + ["other"] * 40,
            "replication": list(range(40)) * 2,
            "agreement_week": [10.0] * 40 + [np.nan] * 20 + [30.0] * 20,
        }
    )
    spec = {"metric": "weeks_to_agreement", "treatment": "base", "control": "other",
            "expected": "decrease"}  # fmt: skip
    row = _table(runs, spec, horizon=52).iloc[0]
    assert row["treatment_mean"] == 10.0 and row["control_mean"] == pytest.approx(41.0)
    assert row["smallest_effect"] == 2.0 and row["unit"] == "weeks"
    assert row["share_lower"] == 1.0 and row["share_higher"] == 0.0
    with pytest.raises(ValueError, match="horizon"):
        _table(runs, spec)


def test_a_pattern_on_the_metric_flags_the_row_decided_by_the_record(rng):
    n = 60
    runs = pd.DataFrame(
        {
            "variant": ["base"] * n + ["other"] * n,
            "replication": list(range(n)) * 2,
            "agreement": np.concatenate([np.zeros(n), (rng.random(n) < 0.5).astype(float)]),
            "value_opposition": rng.random(2 * n),
        }
    )
    spec = {"metrics": ["agreement", "value_opposition"], "treatment": "base",
            "control": "other", "expected": "decrease"}  # fmt: skip
    record = pd.Series(np.ones(n, dtype=bool))
    table = _table(runs, spec, record=record, conditioned={"no_deal": "agreement"})
    assert table.loc[0, "flags"].split(";").count("decided_by_record") == 1
    assert "decided_by_record" in table.loc[0, "record_flags"]
    assert "no_deal determines agreement" in table.loc[0, "record_sentence"]
    assert "decided_by_record" not in str(table.loc[1, "flags"])
    # Necessity and sufficiency of the control (predicted to raise agreement) for a deal.
    assert table.loc[0, "record_pns"] == pytest.approx(table.loc[0, "record_pns_high"])
    assert table.loc[0, "record_pn"] == 1.0 and table.loc[0, "record_pn_low"] == 1.0


def test_sequential_verdicts_use_confidence_sequences(rng):
    control = rng.normal(0.5, 0.1, 400).clip(0, 1)
    runs = pd.DataFrame(
        {
            "variant": ["base"] * 400 + ["other"] * 400,
            "replication": list(range(400)) * 2,
            "value_opposition": np.concatenate(
                [control + 0.2 + rng.normal(0, 0.02, 400), control]
            ).clip(0, 1),
        }
    )
    spec = {"metric": "value_opposition", "treatment": "base", "control": "other",
            "expected": "increase"}  # fmt: skip
    fixed, anytime = _table(runs, spec).iloc[0], _table(runs, spec, sequential=True).iloc[0]
    assert anytime["interval"] == "sequence"
    assert anytime["ci_high"] - anytime["ci_low"] > fixed["ci_high"] - fixed["ci_low"]
    assert anytime["verdict"] == "supported"


def test_missing_pairs_are_left_out():
    treatment = np.array([1.0, np.nan, 3.0, 4.0])
    control = np.array([0.0, 1.0, np.nan, 3.0])
    verdict = paired_verdict(treatment, control, "increase")
    assert verdict.runs == 2 and verdict.effect == 1.0


def test_the_interval_is_reproducible_for_a_seed(rng):
    control = rng.normal(0, 1, 300)
    treatment = control + rng.normal(0.1, 1, 300)
    first = paired_verdict(treatment, control, "increase", seed=7)
    second = paired_verdict(treatment, control, "increase", seed=7)
    assert first == second


def test_the_confidence_level_widens_the_interval(rng):
    control = rng.normal(0, 1, 300)
    treatment = control + rng.normal(0.1, 1, 300)
    narrow = paired_verdict(treatment, control, "increase", confidence=0.8, seed=7)
    wide = paired_verdict(treatment, control, "increase", confidence=0.99, seed=7)
    assert wide.ci_low < narrow.ci_low and wide.ci_high > narrow.ci_high


def test_hypothesis_table_pairs_by_replication_and_writes_a_sentence():
    runs = pd.DataFrame(
        {
            "variant": ["base"] * 4 + ["alloush_alive"] * 4,
            "replication": [0, 1, 2, 3, 3, 2, 1, 0],
            "agreement": [0, 0, 1, 0, 1, 1, 1, 1],
        }
    )
    table = hypothesis_table(
        runs,
        {
            "removal": {
                "metric": "agreement",
                "treatment": "base",
                "control": "alloush_alive",
                "expected": "decrease",
                "description": "Removing Alloush lowers the chance of agreement",
            },
            "not_run": {
                "metric": "agreement",
                "treatment": "base",
                "control": "neither",
                "expected": "decrease",
            },
        },
        confidence=0.95,
        resamples=500,
        seed=0,
    )
    assert list(table["hypothesis"]) == ["removal"]
    row = table.iloc[0]
    assert row["effect"] == pytest.approx(-0.75)
    assert row["runs"] == 4
    assert row["sentence"].startswith(
        "Removing Alloush lowers the chance of agreement (base vs alloush_alive): lowers the chance of agreement by 75 points"
    )
    assert row["sentence"].endswith(f"{row['verdict']}.")


def test_expected_must_be_a_direction():
    with pytest.raises(ValueError):
        paired_verdict(np.zeros(3), np.zeros(3), "up")


def test_no_verdict_below_the_minimum_of_paired_runs(rng):
    from negsim.analysis.verdicts import MIN_PAIRED_RUNS

    control = rng.normal(0, 1, MIN_PAIRED_RUNS - 1)
    treatment = control + 5.0  # an effect no interval could miss
    verdict = paired_verdict(treatment, control, "increase", seed=1)
    assert verdict.verdict == "inconclusive"
    assert verdict.ci_low > 0  # the numbers are still reported
    assert (
        verdict.reason == f"only 29 paired runs, fewer than the {MIN_PAIRED_RUNS} a verdict needs"
    )
    enough = paired_verdict(
        rng.normal(0, 1, MIN_PAIRED_RUNS) + 5.0, np.zeros(MIN_PAIRED_RUNS), "increase", seed=1
    )
    assert enough.verdict == "supported" and enough.reason == ""


def test_one_pair_has_no_interval_and_no_p_value():
    verdict = paired_verdict(np.array([1.0]), np.array([0.0]), "increase")
    assert verdict.verdict == "inconclusive" and verdict.runs == 1 and verdict.effect == 1.0
    assert np.isnan(verdict.ci_low) and np.isnan(verdict.ci_high) and np.isnan(verdict.p_value)


def test_the_sentence_gives_the_reason_a_verdict_is_withheld():
    runs = pd.DataFrame(
        {
            "variant": ["base", "control"],
            "replication": [0, 0],
            "agreement": [1, 0],
        }
    )
    table = hypothesis_table(
        runs,
        {
            "h": {
                "metric": "agreement",
                "treatment": "base",
                "control": "control",
                "expected": "increase",
            }
        },
        confidence=0.95,
        resamples=100,
        seed=0,
    )
    assert table.loc[0, "verdict"] == "inconclusive"
    assert table.loc[0, "sentence"] == (
        "h (base vs control): raises the chance of agreement by 100 points "
        "(no interval from one pair); only 1 paired run, fewer than the 30 a verdict needs: "
        "inconclusive."
    )


def test_few_runs_warnings_one_line_per_count():
    from negsim.analysis.verdicts import runs_warnings

    assert runs_warnings([("a", 100), ("b", 5000)]) == []
    assert runs_warnings([("a", 20), ("b", 20)]) == [
        "every hypothesis rests on 20 paired runs, too few for a verdict (at least 30): "
        "inconclusive; run 100 or more (--runs) for intervals that mean something"
    ]
    assert runs_warnings([("a", 50), ("b", 500), ("c", 1)]) == [
        "c rests on 1 paired run, too few for a verdict (at least 30): inconclusive; "
        "run 100 or more (--runs) for intervals that mean something",
        "a rests on 50 paired runs, a verdict, but a rough interval; "
        "run 100 or more (--runs) for intervals that mean something",
    ]


# ------------------------------------------- against the smallest effect that matters


def paired(rng, effect: float, spread: float, pairs: int) -> tuple[np.ndarray, np.ndarray]:
    """Control and treatment whose differences have exactly mean ``effect`` and sd ``spread``."""
    noise = rng.normal(0, 1, pairs)
    noise = (noise - noise.mean()) / noise.std(ddof=1)
    control = rng.normal(0, 1, pairs)
    return control + effect + spread * noise, control


@pytest.mark.parametrize("pairs", [200, 20_000])
def test_an_effect_inside_the_bound_is_negligible_however_many_runs(rng, pairs):
    treatment, control = paired(rng, 0.01, 0.1, pairs)
    verdict = paired_verdict(treatment, control, "increase", seed=3, bound=0.05)
    assert verdict.verdict == "negligible"
    assert -0.05 < verdict.ci_low < 0.01 < verdict.ci_high < 0.05
    assert np.isnan(verdict.runs_needed)
    if pairs == 20_000:
        # Against zero, the same effect would be "supported" on run count alone.
        assert verdict.p_value < 1e-15 and verdict.ci_low > 0
        assert paired_verdict(treatment, control, "increase", seed=3).verdict == "supported"


@pytest.mark.parametrize(
    ("effect", "expected", "verdict"),
    [
        (0.2, "increase", "supported"),
        (0.2, "decrease", "contradicted"),
        (-0.2, "decrease", "supported"),
        (-0.2, "increase", "contradicted"),
    ],
)
def test_an_effect_beyond_the_bound_is_judged_by_its_direction(rng, effect, expected, verdict):
    treatment, control = paired(rng, effect, 0.3, 400)
    result = paired_verdict(treatment, control, expected, seed=3, bound=0.05)
    assert result.verdict == verdict
    assert result.effect == pytest.approx(effect)
    assert min(abs(result.ci_low), abs(result.ci_high)) > 0.05
    assert np.sign(result.ci_low) == np.sign(result.ci_high) == np.sign(effect)


def test_p_bound_is_the_one_sided_test_beyond_the_bound_or_tost_inside(rng):
    from scipy import stats

    beyond_t, beyond_c = paired(rng, 0.2, 0.5, 300)
    differences = beyond_t - beyond_c
    verdict = paired_verdict(beyond_t, beyond_c, "increase", bound=0.1)
    expected = stats.ttest_1samp(differences, 0.1, alternative="greater").pvalue
    assert verdict.p_bound == pytest.approx(expected)
    below = paired_verdict(-beyond_t, -beyond_c, "increase", bound=0.1)
    assert below.p_bound == pytest.approx(expected)  # mirrored: the test is against -0.1
    inside_t, inside_c = paired(rng, 0.02, 0.5, 300)
    differences = inside_t - inside_c
    tost = max(
        stats.ttest_1samp(differences, -0.1, alternative="greater").pvalue,
        stats.ttest_1samp(differences, 0.1, alternative="less").pvalue,
    )
    assert paired_verdict(inside_t, inside_c, "increase", bound=0.1).p_bound == pytest.approx(tost)


def test_an_interval_across_the_bound_is_inconclusive_with_the_runs_it_would_need(rng):
    treatment, control = paired(rng, 0.08, 0.3, 200)
    verdict = paired_verdict(treatment, control, "increase", seed=3, bound=0.05)
    assert verdict.ci_low < 0.05 < verdict.ci_high
    assert verdict.verdict == "inconclusive" and verdict.reason == ""
    half, gap = verdict.half_width, 0.08 - 0.05
    assert verdict.runs_needed == np.ceil(200 * (half / gap) ** 2)
    assert 200 < verdict.runs_needed < 2000
    # Given those runs (and a few more for the estimate's slack), the same effect is decided.
    more_t, more_c = paired(rng, 0.08, 0.3, int(verdict.runs_needed * 1.3))
    assert paired_verdict(more_t, more_c, "increase", seed=3, bound=0.05).verdict == "supported"


def test_an_effect_on_the_bound_needs_infinitely_many_runs():
    differences = np.tile([-0.5, 1.5], 50)  # mean exactly 0.5
    verdict = paired_verdict(differences, np.zeros(100), "increase", bound=0.5)
    assert verdict.effect == 0.5 and verdict.verdict == "inconclusive"
    assert verdict.runs_needed == np.inf


def test_bound_zero_is_the_test_against_zero_and_never_negligible(rng):
    for effect in (0.0, 1e-4, -1e-4):
        treatment, control = paired(rng, effect, 0.01, 500)
        verdict = paired_verdict(treatment, control, "increase", seed=3, bound=0.0)
        assert verdict.verdict != "negligible"
    treatment, control = paired(rng, 0.0, 0.01, 500)
    assert paired_verdict(treatment, control, "increase", bound=0.0).verdict == "inconclusive"
    treatment, control = paired(rng, 0.01, 0.01, 500)
    assert paired_verdict(treatment, control, "increase", bound=0.0).verdict == "supported"
    with pytest.raises(ValueError, match="bound"):
        paired_verdict(treatment, control, "increase", bound=-0.1)


def test_classify_on_the_edges():
    from negsim.analysis.verdicts import classify

    assert classify(0.06, 0.2, 0.05, "increase") == "supported"
    assert classify(0.05, 0.2, 0.05, "increase") == "inconclusive"  # touching the bound
    assert classify(-0.04, 0.04, 0.05, "decrease") == "negligible"
    assert classify(-0.05, 0.04, 0.05, "decrease") == "inconclusive"
    assert classify(-0.2, -0.06, 0.05, "increase") == "contradicted"
    assert classify(-0.01, 0.01, 0.0, "increase") == "inconclusive"


# ----------------------------------------------------------------------- Holm


def test_holm_equals_statsmodels_and_keeps_nan_out(rng):
    from statsmodels.stats.multitest import multipletests

    from negsim.analysis.verdicts import holm

    p_values = rng.random(40) ** 3
    expected = multipletests(p_values, alpha=0.05, method="holm")[1]
    np.testing.assert_allclose(holm(p_values, 0.05), expected)
    with_nan = p_values.copy()
    missing = rng.choice(40, 7, replace=False)
    with_nan[missing] = np.nan
    adjusted = holm(with_nan, 0.05)
    assert np.isnan(adjusted[missing]).all()
    kept = ~np.isnan(with_nan)
    np.testing.assert_allclose(
        adjusted[kept], multipletests(with_nan[kept], alpha=0.05, method="holm")[1]
    )
    assert np.isnan(holm([np.nan, np.nan], 0.05)).all()
    assert holm([], 0.05).size == 0


def marginal_runs(rng, pairs: int = 400) -> pd.DataFrame:
    """Paired runs whose settlement effect is 0.22 +- 0.05 (se): t = 2.4 against a bound of 0.1."""
    noise = rng.normal(0, 1, pairs)
    noise = (noise - noise.mean()) / noise.std(ddof=1)
    return pd.DataFrame(
        {
            "variant": ["base"] * pairs + ["control"] * pairs,
            "replication": list(range(pairs)) * 2,
            "settlement": np.concatenate([0.22 + noise, np.zeros(pairs)]),
        }
    )


def marginal_hypotheses(count: int) -> dict[str, dict]:
    return {
        f"h{number}": {
            "metric": "settlement",
            "treatment": "base",
            "control": "control",
            "expected": "increase",
            "smallest_effect": 0.1,
        }
        for number in range(count)
    }


def test_a_verdict_holm_holds_back_is_inconclusive_with_the_reason(rng):
    from scipy import stats

    runs = marginal_runs(rng)
    alone = hypothesis_table(runs, marginal_hypotheses(1), 0.95, 2000, 0)
    p_bound = stats.norm.sf(2.4)  # about 0.008; t with 399 df is close
    assert alone.loc[0, "p_bound"] == pytest.approx(p_bound, rel=0.05)
    assert alone.loc[0, "p_holm"] == pytest.approx(alone.loc[0, "p_bound"])
    assert alone.loc[0, "verdict"] == "supported"
    assert np.isnan(alone.loc[0, "runs_needed"])

    table = hypothesis_table(runs, marginal_hypotheses(10), 0.95, 2000, 0)
    assert len(table) == 10
    assert (table["ci_low"] > 0.1).all()  # each interval alone would decide it
    np.testing.assert_allclose(table["p_holm"], 10 * table["p_bound"])
    assert (table["verdict"] == "inconclusive").all()
    for text in table["sentence"]:
        assert "it would be supported, but not after Holm's adjustment across the 10 tests" in text
        assert text.endswith(": inconclusive.")
    # Undecided, so more runs could decide it: `runs="auto"` must see a finite estimate.
    needed = table["runs_needed"]
    assert np.isfinite(needed).all()
    assert 400 < needed.min() <= needed.max() < 1000
    assert "paired runs would decide it" in table.loc[0, "sentence"]
    more = hypothesis_table(
        marginal_runs(rng, int(needed.max() * 1.3)), marginal_hypotheses(10), 0.95, 2000, 0
    )
    assert (more["verdict"] == "supported").all()


def test_holm_family_counts_every_row_with_a_test(rng):
    """An undecided row still counts in the family: it cannot be dropped after the fact."""
    runs = marginal_runs(rng)
    runs["gap_end"] = rng.normal(0, 1, len(runs))  # pure noise: inconclusive
    hypotheses = marginal_hypotheses(1) | {
        "noise": {
            "metric": "gap_end",
            "treatment": "base",
            "control": "control",
            "expected": "increase",
            "smallest_effect": 0.01,
        }
    }
    table = hypothesis_table(runs, hypotheses, 0.95, 2000, 0).set_index("hypothesis")
    assert table.loc["noise", "verdict"] == "inconclusive"
    from statsmodels.stats.multitest import multipletests

    expected = multipletests(table["p_bound"].to_numpy(), method="holm")[1]
    np.testing.assert_allclose(table["p_holm"], expected)


# ------------------------------------------------------------- several metrics


def test_several_metrics_give_one_row_each_with_their_own_bound(rng):
    pairs = 200
    control = pd.DataFrame(
        {
            "agreement": (rng.random(pairs) < 0.3).astype(float),
            "settlement": rng.random(pairs),
            "walkouts": rng.integers(0, 4, pairs).astype(float),
            "agreement_week": rng.integers(0, 40, pairs).astype(float),
        }
    )
    treatment = control.copy()
    treatment["settlement"] += 0.3 + rng.normal(0, 0.1, pairs)
    treatment["walkouts"] += rng.normal(0.01, 0.1, pairs)  # inside the count's default 0.25
    runs = pd.concat(
        [treatment.assign(variant="base"), control.assign(variant="control")], ignore_index=True
    )
    runs["replication"] = list(range(pairs)) * 2
    table = hypothesis_table(
        runs,
        {
            "h": {
                "metric": "settlement",
                "metrics": ["agreement", "walkouts", "agreement_week"],
                "treatment": "base",
                "control": "control",
                "expected": "increase",
                "smallest_effect": {"settlement": 0.2, "agreement": 0.1},
            }
        },
        0.95,
        1000,
        0,
    )
    assert list(table["metric"]) == ["settlement", "agreement", "walkouts", "agreement_week"]
    assert list(table["hypothesis"]) == ["h"] * 4
    assert list(table["smallest_effect"]) == [0.2, 0.1, 0.25, 2.0]
    assert list(table["unit"]) == ["share", "points", "count", "weeks"]
    by_metric = table.set_index("metric")
    assert by_metric.loc["settlement", "verdict"] == "supported"
    assert by_metric.loc["settlement", "effect"] == pytest.approx(0.3, abs=0.02)
    assert by_metric.loc["walkouts", "verdict"] == "negligible"
    # The agreement column is the same in both arms: exactly no effect, inside 10 points.
    assert by_metric.loc["agreement", "verdict"] == "negligible"
    assert "inside ±10 points" in by_metric.loc["agreement", "sentence"]


def test_hypothesis_metrics_and_bounds():
    from negsim.analysis.verdicts import default_bound, hypothesis_bound, hypothesis_metrics

    assert hypothesis_metrics({"metric": "stage", "metrics": ["agreement", "stage"]}) == [
        "stage",
        "agreement",
    ]
    assert hypothesis_metrics({"metrics": ["a", "b", "a"]}) == ["a", "b"]
    assert hypothesis_bound({"smallest_effect": 0.3}, "agreement") == 0.3
    assert hypothesis_bound({"smallest_effect": {"stage": 0.5}}, "agreement") == 0.05
    assert hypothesis_bound({}, "talks_weeks") == 2.0 == default_bound("talks_weeks")


# ------------------------------------------------------------ showing numbers


def test_format_p_has_a_floor_and_never_shows_zero():
    from negsim.analysis.verdicts import format_p

    assert format_p(0.0) == "< 1e-15"
    assert format_p(1e-300) == "< 1e-15"
    assert format_p(1e-15) == "1e-15"
    assert format_p(0.04812) == "0.048"
    assert format_p(1.0) == "1"
    assert format_p(float("nan")) == "-"


def test_format_effect_in_the_metric_unit():
    from negsim.analysis.verdicts import format_effect

    assert format_effect(0.031, "agreement") == "+3.1 points"
    assert format_effect(-0.031, "settlement") == "-0.031"
    assert format_effect(2.0, "talks_weeks") == "+2 weeks"
    assert format_effect(0.05, "ceasefire", signed=False) == "5 points"
    assert format_effect(float("nan"), "agreement") == "-"


def test_no_sentence_says_p_is_zero(rng):
    import re

    pairs = 300
    control = rng.normal(0, 1, pairs)
    runs = pd.DataFrame(
        {
            "variant": ["base"] * pairs + ["control"] * pairs,
            "replication": list(range(pairs)) * 2,
            "settlement": np.concatenate([control + 5 + rng.normal(0, 0.01, pairs), control]),
            "agreement": np.concatenate([np.ones(pairs), np.zeros(pairs)]),
        }
    )
    hypotheses = {
        "big": {
            "metrics": ["settlement", "agreement"],
            "treatment": "base",
            "control": "control",
            "expected": "increase",
        }
    } | marginal_hypotheses(0)
    table = hypothesis_table(runs, hypotheses, 0.95, 500, 0)
    assert (table["p_value"] == 0).any() or (table["p_value"] < 1e-15).all()
    assert (table["verdict"] == "supported").all()
    for text in table["sentence"]:
        assert "p < 1e-15" in text
        assert not re.search(r"p = 0(?![.\d])", text), text


# -------------------------------------------------------------------- selection


def selected_runs(rng, defined_treatment: float, pairs: int = 200) -> pd.DataFrame:
    values = rng.normal(0.5, 0.1, (2, pairs))
    values[0, : int(pairs * (1 - defined_treatment))] = np.nan
    return pd.DataFrame(
        {
            "variant": ["base"] * pairs + ["control"] * pairs,
            "replication": list(range(pairs)) * 2,
            "bargaining_range_at_talks": values.reshape(-1),
        }
    )


SELECTION_HYPOTHESIS = {
    "h": {
        "metric": "bargaining_range_at_talks",
        "treatment": "base",
        "control": "control",
        "expected": "decrease",
    }
}


def test_a_metric_missing_in_most_of_one_arm_is_a_selection_warning(rng):
    from negsim.analysis.verdicts import selection_warnings

    table = hypothesis_table(selected_runs(rng, 0.2), SELECTION_HYPOTHESIS, 0.95, 500, 0)
    row = table.iloc[0]
    assert (row["runs"], row["pairs"]) == (40, 200)
    assert row["selection"] == (
        "uses 40 of 200 pairs (20%), those where both variants have a value "
        "(defined in 20% of base runs, 100% of control runs); "
        "a small share: the comparison is of selected worlds"
    )
    assert row["selection"] in row["sentence"]
    assert selection_warnings(table) == [f"h on bargaining_range_at_talks: {row['selection']}"]


def test_unequal_shares_are_a_warning_and_full_pairs_are_not(rng):
    from negsim.analysis.verdicts import selection_warnings

    unequal = hypothesis_table(selected_runs(rng, 0.7), SELECTION_HYPOTHESIS, 0.95, 500, 0)
    assert unequal.loc[0, "selection"].endswith(
        "; unequal shares: the variant changes which worlds are compared"
    )
    assert len(selection_warnings(unequal)) == 1
    full = hypothesis_table(selected_runs(rng, 1.0), SELECTION_HYPOTHESIS, 0.95, 500, 0)
    assert full.loc[0, "selection"] == ""
    assert selection_warnings(full) == []


def test_runs_needed_counts_replications_not_pairs(rng):
    """With a metric defined in 20 % of the pairs, five times the pairs' estimate in runs."""
    runs = selected_runs(rng, 1.0, pairs=1000)
    base = (runs["variant"] == "base").to_numpy()
    control = runs.loc[~base, "bargaining_range_at_talks"].to_numpy()
    treatment = control - 0.06 + rng.normal(0, 0.1, 1000)
    treatment[:800] = np.nan
    runs.loc[base, "bargaining_range_at_talks"] = treatment
    row = hypothesis_table(runs, SELECTION_HYPOTHESIS, 0.95, 1000, 0).iloc[0]
    assert (row["runs"], row["pairs"], row["verdict"]) == (200, 1000, "inconclusive")
    verdict = paired_verdict(treatment, control, "decrease", 0.95, 1000, seed=0, bound=0.05)
    assert verdict.verdict == "inconclusive" and verdict.runs_needed > 200
    assert row["runs_needed"] == pytest.approx(5 * verdict.runs_needed, rel=0.1)


# -------------------------------------------------------------- metric kinds


def test_every_run_metric_has_a_kind():
    from negsim.analysis.verdicts import METRIC_KINDS
    from negsim.scenario.schema import DERIVED_METRICS, RUN_METRICS

    missing = [name for name in RUN_METRICS if name not in METRIC_KINDS]
    assert missing == []
    assert set(METRIC_KINDS) <= set(RUN_METRICS) | set(DERIVED_METRICS)
    assert {METRIC_KINDS[name].name for name in ("walkouts", "deals_rejected")} == {"count"}


def test_a_rare_outcome_row_says_its_relative_verdict(rng):
    n = 3000
    control = (rng.random(n) < 0.01).astype(float)
    treatment = np.maximum(control, (rng.random(n) < 0.02).astype(float))
    runs = pd.DataFrame(
        {
            "variant": ["base"] * n + ["other"] * n,
            "replication": list(range(n)) * 2,
            "fragmented": np.concatenate([treatment, control]),
        }
    )
    spec = {"metric": "fragmented", "treatment": "base", "control": "other",
            "expected": "increase"}  # fmt: skip
    row = _table(runs, spec).iloc[0]
    assert "floor" in row["flags"] and row["verdict"] == "negligible"
    assert row["relative_verdict"] == "supported" and row["relative_ci_low"] > 1.68
    assert "In relative terms" in row["sentence"] and ": supported." in row["sentence"]

"""Verdicts on synthetic paired data whose answer is known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from negsim.analysis.verdicts import hypothesis_table, paired_verdict


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


def test_identical_variants_give_a_zero_interval_and_p_one():
    values = np.array([0.0, 1.0, 1.0, 0.0])
    verdict = paired_verdict(values, values, "decrease")
    assert (verdict.effect, verdict.ci_low, verdict.ci_high, verdict.p_value) == (0, 0, 0, 1)
    assert verdict.verdict == "inconclusive"


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

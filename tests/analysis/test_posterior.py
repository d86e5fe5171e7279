"""posterior.csv: rejection ABC summaries and the acceptance's exact interval, against closed forms."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from negsim.analysis.posterior import (
    ACCEPTANCE,
    COLUMNS,
    MIN_ACCEPTED,
    clopper_pearson,
    input_columns,
    posterior_table,
    runs_needed,
    shortfall_note,
    summarise,
)


def test_clopper_pearson_zero_and_all_successes_have_closed_forms():
    # x = 0: upper = 1 - (a/2)^(1/n); x = n: lower = (a/2)^(1/n) (Clopper & Pearson 1934).
    n, confidence = 40, 0.95
    low, high = clopper_pearson(0, n, confidence)
    assert low == 0.0
    assert high == pytest.approx(1 - 0.025 ** (1 / n), rel=1e-9)
    low, high = clopper_pearson(n, n, confidence)
    assert high == 1.0
    assert low == pytest.approx(0.025 ** (1 / n), rel=1e-9)


def test_clopper_pearson_bounds_are_where_the_binomial_tails_reach_alpha_over_two():
    from scipy.stats import binom

    x, n = 7, 50
    low, high = clopper_pearson(x, n, 0.9)
    # The defining property: P(X >= x | low) = 0.05 and P(X <= x | high) = 0.05.
    assert binom.sf(x - 1, n, low) == pytest.approx(0.05, rel=1e-7)
    assert binom.cdf(x, n, high) == pytest.approx(0.05, rel=1e-7)
    assert low < x / n < high


def test_clopper_pearson_without_trials_is_nan():
    assert all(math.isnan(v) for v in clopper_pearson(0, 0, 0.95))


def test_summarise_matches_numpy_and_ignores_nan():
    values = np.array([1.0, 2.0, 3.0, 4.0, np.nan])
    got = summarise(values)
    assert got["mean"] == pytest.approx(2.5)
    assert got["sd"] == pytest.approx(math.sqrt(5 / 3))  # sample sd of 1..4
    assert got["q50"] == pytest.approx(2.5)
    assert got["q05"] == pytest.approx(1.15)  # 1 + 0.05 * 3 (linear interpolation)
    assert got["q95"] == pytest.approx(3.85)
    assert all(math.isnan(v) for v in summarise(np.array([])).values())
    assert math.isnan(summarise(np.array([2.0]))["sd"])


def test_runs_needed_scales_the_minimum_by_the_acceptance_rate():
    assert runs_needed(15, 40, 0.95) == math.ceil(100 / 0.375)  # 267
    assert runs_needed(100, 1000, 0.95) == 1000
    # None accepted: the rate's exact upper bound stands in (a lower bound on the runs).
    upper = 1 - 0.025 ** (1 / 50)
    assert runs_needed(0, 50, 0.95) == math.ceil(100 / upper)


def test_shortfall_note_only_below_the_minimum():
    assert shortfall_note(MIN_ACCEPTED, 1000, 0.95) == ""
    note = shortfall_note(15, 40, 0.95)
    assert "only 15 of 40" in note and "--runs 267" in note
    assert "at least" in shortfall_note(0, 50, 0.95)


def test_input_columns_are_the_drawn_ones():
    assert input_columns(["variant", "input.a.b", "agreement", "input.c"]) == [
        "input.a.b",
        "input.c",
    ]


def _runs(seed: int = 3, n: int = 4000) -> pd.DataFrame:
    # A known posterior: theta ~ U(0, 1) prior, a run is accepted with probability theta,
    # so the posterior is Beta(2, 1): mean 2/3, median 1/sqrt(2), 5 % quantile sqrt(0.05).
    rng = np.random.default_rng(seed)
    theta = rng.uniform(0, 1, n)
    other = rng.normal(5.0, 2.0, n)  # unrelated to acceptance: posterior = prior
    accepted = rng.uniform(0, 1, n) < theta
    return pd.DataFrame(
        {
            "variant": "base",
            "replication": np.arange(n),
            "input.events.drawdown.intensity": theta,
            "agreement": 0.0,
            "input.parameters.other": other,
            "matches_record": accepted.astype(float),
        }
    )


def test_posterior_table_recovers_a_closed_form_posterior():
    runs = _runs()
    table = posterior_table(runs, 0.95)
    assert list(table.columns) == COLUMNS
    assert list(table["input"]) == [
        "input.events.drawdown.intensity",
        "input.parameters.other",
        ACCEPTANCE,
    ]
    theta = table.iloc[0]
    assert theta["prior_runs"] == 4000
    assert theta["prior_mean"] == pytest.approx(0.5, rel=0.03)
    assert theta["posterior_mean"] == pytest.approx(2 / 3, rel=0.03)
    assert theta["posterior_q50"] == pytest.approx(1 / math.sqrt(2), rel=0.03)
    assert theta["posterior_q05"] == pytest.approx(math.sqrt(0.05), rel=0.1)
    # Shift in prior sds: (2/3 - 1/2) / sqrt(1/12) = 0.577.
    assert theta["shift_sd"] == pytest.approx((2 / 3 - 0.5) / math.sqrt(1 / 12), rel=0.08)
    other = table.iloc[1]
    assert abs(other["shift_sd"]) < 0.1
    acceptance = table.iloc[-1]
    accepted = int(runs["matches_record"].sum())
    assert acceptance["posterior_runs"] == accepted
    assert acceptance["acceptance_rate"] == pytest.approx(accepted / 4000)
    low, high = clopper_pearson(accepted, 4000, 0.95)
    assert acceptance["ci_low"] == pytest.approx(low) and acceptance["ci_high"] == pytest.approx(
        high
    )
    assert acceptance["interval"] == "clopper-pearson"
    assert acceptance["note"] == "" or pd.isna(acceptance["note"])


def test_posterior_table_without_drawn_inputs_still_has_the_acceptance_row():
    runs = _runs(n=40)[["variant", "replication", "agreement", "matches_record"]]
    table = posterior_table(runs, 0.95)
    assert list(table["input"]) == [ACCEPTANCE]
    row = table.iloc[0]
    assert row["prior_runs"] == 40
    assert row["posterior_runs"] == int(runs["matches_record"].sum())
    assert "fewer than the 100" in row["note"]


def test_posterior_table_with_no_accepted_run_gives_nan_posteriors():
    runs = _runs(n=60)
    runs["matches_record"] = 0.0
    table = posterior_table(runs, 0.95)
    assert table.iloc[0]["posterior_runs"] == 0
    assert math.isnan(table.iloc[0]["posterior_mean"])
    assert table.iloc[-1]["acceptance_rate"] == 0.0
    assert "at least" in table.iloc[-1]["note"]


def test_posterior_table_needs_the_record_column():
    with pytest.raises(ValueError, match="matches_record"):
        posterior_table(pd.DataFrame({"input.a": [1.0]}), 0.95)


@pytest.mark.parametrize("runs_format", ["csv", "parquet"])
def test_base_runs_reads_the_drawn_inputs_back_from_the_runs_table(tmp_path, runs_format):
    from negsim.api import _base_runs

    base = _runs(n=30)
    other = base.assign(variant="no_escalation", matches_record=1.0)
    table = pd.concat([other, base], ignore_index=True)
    path = tmp_path / f"runs.{runs_format}"
    if runs_format == "csv":
        table.to_csv(path, index=False)
    else:
        table.to_parquet(path, index=False)
    got = _base_runs(path, runs_format)
    assert set(got.columns) == {
        "variant",
        "input.events.drawdown.intensity",
        "input.parameters.other",
        "matches_record",
    }
    assert len(got) == 30
    assert got["matches_record"].tolist() == base["matches_record"].tolist()


def test_run_writes_posterior_csv_listed_in_the_manifest(geneva3_results):
    import hashlib
    import json

    manifest = json.loads((geneva3_results / "manifest.json").read_text())
    entry = manifest["files"]["posterior.csv"]
    data = (geneva3_results / "posterior.csv").read_bytes()
    assert entry["sha256"] == hashlib.sha256(data).hexdigest()
    table = pd.read_csv(geneva3_results / "posterior.csv")
    acceptance = table[table["input"] == ACCEPTANCE].iloc[0]
    assert acceptance["posterior_runs"] == manifest["record_runs"]
    assert acceptance["prior_runs"] == manifest["runs"]
    assert manifest["posterior"]["min_accepted"] == MIN_ACCEPTED
    assert len(table) == 1 + len(input_columns(pd.read_csv(geneva3_results / "runs.csv").columns))


@pytest.mark.slow
def test_few_accepted_runs_with_drawn_inputs_warn_in_one_line(tmp_path):
    # `negsim run` draws every `uncertain:` path per run: each is an input of the posterior.
    from pathlib import Path

    from negsim import api
    from negsim.errors import NegsimWarning
    from negsim.scenario import load

    scenario = Path(__file__).resolve().parents[2] / "scenarios" / "geneva3.yaml"
    with pytest.warns(NegsimWarning) as caught:
        api.run_experiment(scenario, runs=40, out=tmp_path / "g3", jobs=1, variants=["base"])
    lines = [str(w.message) for w in caught if "posterior summaries need" in str(w.message)]
    assert len(lines) == 1 and "\n" not in lines[0]
    table = pd.read_csv(tmp_path / "g3" / "posterior.csv")
    uncertain = [f"input.{path}" for path in load(scenario).scenario.uncertain]
    assert list(table["input"]) == [*uncertain, ACCEPTANCE]
    assert table.iloc[-1]["note"] == lines[0]

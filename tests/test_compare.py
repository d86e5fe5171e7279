"""`negsim compare`: theories and variants judged on the record they share."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from negsim.cli import main
from negsim.scenario import load

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
GENEVA3 = str(SCENARIOS / "geneva3.yaml")
RIPENESS = str(SCENARIOS / "ripeness.yaml")


def _record(name: str, ceasefire: int, use: str = "condition") -> str:
    """geneva3 with two of its conditioning patterns and a third fact (stated by ``ceasefire``)."""
    return f"""extends: {{geneva3}}
name: {name}
observed:
  - id: control_up_by_mid_2016
    metric: control.regime
    change: [2015-09-28, 2016-06-13]
    above: 0.01
  - id: no_agreement_in_2016
    metric: agreement
    before: 2016-07-31
    when: every_week
    equals: 0
  - id: cessation_in_force_in_march
    metric: ceasefire_in_force
    date: 2016-03-15
    equals: {ceasefire}
    use: {use}
"""


# The record without its walkout pattern, and one pattern that states another fact.
OTHER_RECORD = _record("other_record", ceasefire=0)


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_a_missing_scenario_is_one_line_and_exit_1(runner, tmp_path):
    result = runner.invoke(
        main, ["compare", str(tmp_path / "nope.yaml"), "-o", str(tmp_path / "c")]
    )
    assert result.exit_code == 1
    assert "nope.yaml: file not found" in result.output
    assert not (tmp_path / "c").exists()


def test_a_scenario_without_conditioning_patterns_is_refused_before_any_run(runner, tmp_path):
    plain = tmp_path / "plain.yaml"
    plain.write_text(f"extends: {GENEVA3}\nname: plain\nobserved: []\n", encoding="utf-8")
    result = runner.invoke(main, ["compare", GENEVA3, str(plain), "-o", str(tmp_path / "c")])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        f"{plain}: no `observed:` patterns with `use: condition`, so nothing to judge it on "
        "(docs/scenario-format.md)"
    ]
    assert not (tmp_path / "c").exists()


def test_the_same_scenario_twice_is_refused(runner, tmp_path):
    result = runner.invoke(main, ["compare", GENEVA3, GENEVA3, "-o", str(tmp_path / "c")])
    assert result.exit_code == 1
    assert "given twice" in result.output


def test_runs_out_of_range_is_a_usage_error(runner):
    result = runner.invoke(main, ["compare", GENEVA3, "--runs", "0"])
    assert result.exit_code == 2


@pytest.mark.slow
def test_theories_share_runs_and_seed_and_the_folder_is_negsims(runner, tmp_path, geneva3_results):
    out = tmp_path / "cmp"
    result = runner.invoke(
        main, ["compare", GENEVA3, RIPENESS, "--runs", "40", "-j", "1", "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "Bayes factor" in result.output and "ripeness" in result.output
    assert sorted(p.name for p in out.iterdir()) == [
        "compare.csv",
        "compare_patterns.csv",
        "manifest.json",
    ]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["kind"] == "comparison" and manifest["runs"] == 40
    for name in ("compare.csv", "compare_patterns.csv"):
        data = (out / name).read_bytes()
        assert manifest["files"][name]["sha256"] == hashlib.sha256(data).hexdigest()
    table = pd.read_csv(out / "compare.csv").set_index("model")
    assert list(table.index) == ["geneva3", "ripeness"]
    # The same machinery as `negsim run`: at its runs and seed, the same base runs
    # reproduce the record.
    run_manifest = json.loads((geneva3_results / "manifest.json").read_text())
    assert manifest["seed"] == run_manifest["seed"]
    assert table.loc["geneva3", "reproduced"] == run_manifest["record_runs"]
    x1, x2 = table.loc["ripeness", "reproduced"], table.loc["geneva3", "reproduced"]
    if x2:
        assert table.loc["ripeness", "bayes_factor"] == pytest.approx(x1 / x2)
    # Every theory fitted by the one procedure, recorded as `negsim run` records it.
    fits = {entry["name"]: entry["calibration"] for entry in manifest["scenarios"]}
    assert fits["geneva3"]["procedure"] == fits["ripeness"]["procedure"]
    assert fits["geneva3"]["procedure"] == run_manifest["calibration"]["procedure"]
    assert fits["geneva3"]["accepted"] == run_manifest["calibration"]["accepted"]
    assert fits["geneva3"]["holdout_fit"] == run_manifest["calibration"]["holdout_fit"]
    assert fits["ripeness"]["accepted"] == x1
    assert set(fits["ripeness"]["priors"]) == set(load(RIPENESS).scenario.uncertain)
    patterns = pd.read_csv(out / "compare_patterns.csv")
    shared = len(load(GENEVA3).scenario.observed)  # ripeness extends geneva3: every pattern
    assert len(patterns) == 2 * shared
    # A second comparison into the folder replaces negsim's files (the same bytes at the
    # same seed); a user's file stays.
    before = (out / "compare.csv").read_bytes()
    (out / "mine.txt").write_text("notes")
    again = runner.invoke(
        main, ["compare", GENEVA3, RIPENESS, "--runs", "40", "-j", "1", "-o", str(out), "-q"]
    )
    assert again.exit_code == 0, again.output
    assert (out / "mine.txt").read_text() == "notes"
    assert (out / "compare.csv").read_bytes() == before


@pytest.mark.slow
def test_patterns_defined_differently_are_left_out_in_one_line(runner, tmp_path):
    other = tmp_path / "other.yaml"
    other.write_text(OTHER_RECORD.format(geneva3=GENEVA3), encoding="utf-8")
    out = tmp_path / "cmp"
    result = runner.invoke(
        main, ["compare", GENEVA3, str(other), "--runs", "20", "-j", "1", "-o", str(out), "-q"]
    )
    assert result.exit_code == 0, result.output
    notes = [line for line in result.output.splitlines() if line.startswith("note:")]
    assert len(notes) == 1
    assert "judged on the 2 patterns the scenarios share" in notes[0]
    assert "cessation_in_force_in_march (defined differently)" in notes[0]
    assert "geneva3_suspended (not in every scenario)" in notes[0]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["patterns"] == ["control_up_by_mid_2016", "no_agreement_in_2016"]


@pytest.mark.slow
def test_one_scenario_compares_its_variants_with_its_base(runner, tmp_path):
    out = tmp_path / "cmp"
    result = runner.invoke(main, ["compare", GENEVA3, "--runs", "20", "-j", "1", "-o", str(out)])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out / "compare.csv", keep_default_na=False)
    variants = list(load(GENEVA3).variants)
    assert list(table["variant"]) == ["base", *[v for v in variants if v != "base"]]
    assert list(table["reference"]) == ["", *["geneva3"] * (len(variants) - 1)]


# Two conditioning patterns and one held out, for the out-of-sample report.
HOLDOUT = _record("with_holdout", ceasefire=1, use="holdout")


@pytest.mark.slow
def test_holdout_patterns_are_reported_out_of_sample(runner, tmp_path):
    scenario = tmp_path / "holdout.yaml"
    scenario.write_text(HOLDOUT.format(geneva3=GENEVA3), encoding="utf-8")
    out = tmp_path / "cmp"
    result = runner.invoke(
        main, ["compare", str(scenario), "--runs", "20", "-j", "1", "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "Holdout patterns" in result.output
    table = pd.read_csv(out / "compare.csv")
    assert set(table["patterns"]) == {"control_up_by_mid_2016;no_agreement_in_2016"}
    patterns = pd.read_csv(out / "compare_patterns.csv")
    held = patterns[patterns["pattern"] == "cessation_in_force_in_march"]
    assert set(held["use"]) == {"holdout"}
    for row in held.itertuples():
        if row.like_ours:
            assert row.share_like_ours == pytest.approx(row.reproduced_like_ours / row.like_ours)
    conditioning = patterns[patterns["use"] == "condition"]
    assert conditioning["share_like_ours"].isna().all()

"""The command line, through click's CliRunner and, for signals, a real subprocess."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from negsim.cli import main

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"

GENEVA3 = str(SCENARIOS / "geneva3.yaml")


@pytest.fixture
def runner():
    return CliRunner()


def test_help_lists_the_commands(runner):
    result = runner.invoke(main, ["--help"])
    assert result.exit_code == 0
    for command in ("run", "plot", "validate", "schema"):
        assert command in result.output


@pytest.mark.parametrize("command", ["run", "plot", "validate", "schema"])
def test_every_command_has_help(runner, command):
    result = runner.invoke(main, [command, "--help"])
    assert result.exit_code == 0
    assert "Usage:" in result.output


def test_run_writes_the_documented_files_and_prints_verdicts(runner, tmp_path):
    out = tmp_path / "g3"
    result = runner.invoke(main, ["run", GENEVA3, "--runs", "60", "--jobs", "1", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "verdict" in result.output and "escalation_weakens_talks" in result.output
    assert sorted(p.name for p in out.iterdir()) == [
        "events.csv",
        "hypotheses.csv",
        "manifest.json",
        "patterns.csv",
        "runs.csv",
        "timeseries.csv",
    ]
    runs = pd.read_csv(out / "runs.csv")
    assert {
        "variant",
        "replication",
        "agreement",
        "agreement_date",
        "settlement",
        "bargaining_range_at_talks",
        "opposition_cohesion_at_talks",
        "regime_control_end",
    } <= set(runs)
    assert len(runs) == 60 * 4
    timeseries = pd.read_csv(out / "timeseries.csv")
    assert list(timeseries.columns) == [
        "variant",
        "step",
        "date",
        "metric",
        "mean",
        "p05",
        "p25",
        "p50",
        "p75",
        "p95",
    ]
    hypotheses = pd.read_csv(out / "hypotheses.csv")
    assert set(hypotheses["verdict"]) <= {"supported", "contradicted", "negligible", "inconclusive"}
    assert (hypotheses["runs"] == 60).all()
    manifest = json.loads((out / "manifest.json").read_text())
    for key in (
        "negsim",
        "python",
        "numpy",
        "mesa",
        "scenario_sha256",
        "seed",
        "runs",
        "variants",
        "elapsed_seconds",
        "command",
    ):
        assert key in manifest
    assert not list(tmp_path.glob(".*partial*"))


def test_results_are_byte_identical_whatever_the_number_of_jobs(runner, tmp_path):
    outputs = []
    for jobs in ("1", "2"):
        out = tmp_path / f"jobs{jobs}"
        result = runner.invoke(
            main, ["run", GENEVA3, "--runs", "150", "--jobs", jobs, "--out", str(out), "--quiet"]
        )
        assert result.exit_code == 0, result.output
        outputs.append(out)
    for name in ("runs.csv", "timeseries.csv", "hypotheses.csv", "events.csv"):
        assert (outputs[0] / name).read_bytes() == (outputs[1] / name).read_bytes(), name


def test_named_variants_only_and_skipped_hypotheses(runner, tmp_path):
    out = tmp_path / "two"
    result = runner.invoke(
        main,
        [
            "run",
            GENEVA3,
            "-n",
            "30",
            "-j",
            "1",
            "-o",
            str(out),
            "-v",
            "base",
            "-v",
            "alloush_alive",
        ],
    )
    assert result.exit_code == 0, result.output
    assert set(pd.read_csv(out / "runs.csv")["variant"]) == {"base", "alloush_alive"}
    assert "skipped escalation_weakens_talks" in result.output


def test_unknown_variant_is_a_clear_error(runner, tmp_path):
    result = runner.invoke(
        main, ["run", GENEVA3, "-n", "5", "-o", str(tmp_path / "x"), "-v", "nope"]
    )
    assert result.exit_code == 1
    assert "unknown variant 'nope'" in result.output
    assert "Traceback" not in result.output


def test_bad_arguments_exit_2_with_usage(runner):
    result = runner.invoke(main, ["run", GENEVA3, "--runs", "zero"])
    assert result.exit_code == 2
    assert "Usage:" in result.output


def test_bad_scenario_exits_1_with_the_validate_messages(runner, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(Path(GENEVA3).read_text().replace("resolve: 0.8 ", "resolve: 1.8 "))
    result = runner.invoke(main, ["run", str(bad), "-o", str(tmp_path / "out")])
    assert result.exit_code == 1
    assert f"{bad}:" in result.output and "actors.regime.resolve" in result.output
    assert not (tmp_path / "out").exists()


def test_validate_ok_and_errors(runner, tmp_path):
    ok = runner.invoke(main, ["validate", GENEVA3, str(SCENARIOS / "ripeness.yaml")])
    assert ok.exit_code == 0 and ok.output.count(": ok") == 2
    missing = runner.invoke(main, ["validate", str(tmp_path / "nope.yaml")])
    assert missing.exit_code == 1 and "file not found" in missing.output


def test_schema_is_json(runner):
    result = runner.invoke(main, ["schema"])
    assert result.exit_code == 0
    assert json.loads(result.output)["title"] == "negsim scenario"


def test_plot_of_a_folder_that_is_not_results_is_a_one_line_error(runner, tmp_path):
    result = runner.invoke(main, ["plot", str(tmp_path)])
    assert result.exit_code == 1
    assert len(result.output.strip().splitlines()) == 1
    assert "Traceback" not in result.output


def test_run_with_plot_draws_figures(runner, tmp_path):
    out = tmp_path / "p"
    result = runner.invoke(
        main, ["run", GENEVA3, "-n", "40", "-j", "1", "-o", str(out), "--plot", "-q"]
    )
    assert result.exit_code == 0, result.output
    assert (out / "figures" / "verdicts.png").stat().st_size > 10_000


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupted_run_leaves_earlier_results_and_nothing_partial(runner, tmp_path, signum):
    out = tmp_path / "geneva3"
    earlier = runner.invoke(main, ["run", GENEVA3, "-n", "30", "-j", "1", "-o", str(out), "-q"])
    assert earlier.exit_code == 0, earlier.output
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "negsim.cli",
            "run",
            GENEVA3,
            "--runs",
            "400000",
            "--jobs",
            "2",
            "--out",
            str(out),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    time.sleep(6)  # past start-up, into the simulation
    assert process.poll() is None, process.communicate()
    sent = time.monotonic()
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=30)
    assert time.monotonic() - sent < 15, "did not exit promptly"
    assert process.returncode == 130, stderr
    assert "Interrupted" in stderr and "Traceback" not in stderr
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["geneva3"]

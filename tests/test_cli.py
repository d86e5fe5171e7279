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
    for command in ("new", "run", "plot", "validate", "schema"):
        assert command in result.output


@pytest.mark.parametrize("command", ["new", "run", "plot", "validate", "schema"])
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
        "hypotheses.md",
        "manifest.json",
        "patterns.csv",
        "posterior.csv",
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
        "government_control_end",
    } <= set(runs)
    assert len(runs) == 60 * 8  # base and geneva3's seven variants
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


@pytest.mark.slow
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


@pytest.mark.slow
def test_run_with_plot_draws_figures(runner, tmp_path):
    out = tmp_path / "p"
    result = runner.invoke(
        main, ["run", GENEVA3, "-n", "40", "-j", "1", "-o", str(out), "--plot", "-q"]
    )
    assert result.exit_code == 0, result.output
    assert (out / "figures" / "verdicts.png").stat().st_size > 10_000


@pytest.mark.slow
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


# ------------------------------------------------------ runs=auto and the record


def child_of_geneva3(folder: Path, body: str, name: str = "child.yaml") -> Path:
    """A scenario that `extends` the bundled geneva3.yaml (absolute path) with ``body``."""
    path = folder / name
    path.write_text(f"extends: {GENEVA3}\n{body}", encoding="utf-8")
    return path


SMALL_AUTO = "name: g3_auto\nexperiment: {chunk_size: 50, runs: 50, auto_max_runs: 200}\n"


@pytest.mark.slow
def test_runs_auto_gives_the_bytes_of_its_final_count(runner, tmp_path):
    scenario = str(child_of_geneva3(tmp_path, SMALL_AUTO))
    auto = tmp_path / "auto"
    result = runner.invoke(main, ["run", scenario, "--runs", "auto", "-j", "1", "-o", str(auto)])
    assert result.exit_code == 0, result.output
    manifest = json.loads((auto / "manifest.json").read_text())
    passes, final = manifest["runs_auto"], manifest["runs"]
    assert passes[0] == 50 and passes[-1] == final
    assert len(passes) >= 2, "geneva3 decided everything at 50 runs: the test needs a harder case"
    assert passes == sorted(set(passes)) and all(n % 50 == 0 and n <= 200 for n in passes)
    assert f"--runs auto: {' -> '.join(str(n) for n in passes)}" in result.output
    fixed = tmp_path / "fixed"
    result = runner.invoke(
        main, ["run", scenario, "--runs", str(final), "-j", "1", "-o", str(fixed), "-q"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads((fixed / "manifest.json").read_text())["runs_auto"] is None
    for name in ("runs.csv", "patterns.csv", "timeseries.csv", "events.csv"):
        assert (auto / name).read_bytes() == (fixed / name).read_bytes(), name
    hypotheses = pd.read_csv(auto / "hypotheses.csv")
    # The same runs, judged on confidence sequences (valid at every look): wider intervals.
    at_final = pd.read_csv(fixed / "hypotheses.csv")
    assert hypotheses["effect"].equals(at_final["effect"])
    assert (hypotheses["interval"] == "sequence").all()
    assert (
        (hypotheses["ci_high"] - hypotheses["ci_low"])
        >= (at_final["ci_high"] - at_final["ci_low"]) - 1e-12
    ).all()
    assert (hypotheses["runs"] <= final).all()
    # Stopped for a reason: every verdict decided, or the cap reached.
    assert final == 200 or (hypotheses["verdict"] != "inconclusive").all()


def test_auto_stops_at_the_cap_when_a_verdict_stays_undecided():
    from negsim.api import _next_runs

    undecided = pd.DataFrame({"runs_needed": [float("nan"), 1e9]})
    assert _next_runs(undecided, 50, 200, 50) == 200  # at most four times, within the cap
    assert _next_runs(undecided, 200, 200, 50) is None
    near = pd.DataFrame({"runs_needed": [60.0]})
    assert _next_runs(near, 50, 1000, 50) == 100  # at least one chunk more, whole chunks
    on_the_bound = pd.DataFrame({"runs_needed": [float("inf"), float("nan")]})
    assert _next_runs(on_the_bound, 50, 1000, 50) is None
    assert _next_runs(pd.DataFrame({"runs_needed": [330.0]}), 100, 1000, 100) == 400


@pytest.mark.slow
def test_the_verdict_table_shows_units_and_the_worlds_like_ours(runner, tmp_path):
    out = tmp_path / "g3"
    result = runner.invoke(main, ["run", GENEVA3, "-n", "40", "-j", "1", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "given the record" in result.output  # the worlds like ours' verdicts, a column
    assert "points" in result.output  # agreement effects in percentage points
    assert "base runs" in result.output and "reproduce its conditioning patterns" in result.output
    assert "held out (out-of-sample checks, never conditioned on)" in result.output
    patterns = pd.read_csv(out / "patterns.csv")
    assert patterns["pattern"].iloc[-1] == "all"
    assert (patterns["runs"] == 40).all()
    rows = patterns.set_index("pattern")
    # "all" is every conditioning pattern at once; holdouts and described ones are not in it.
    conditions = rows[rows["use"] == "condition"]["reproduced"].drop("all")
    assert rows.loc["all", "reproduced"] <= conditions.min()
    runs = pd.read_csv(out / "runs.csv")
    base = runs[runs["variant"] == "base"]
    assert base["matches_record"].sum() == rows.loc["all", "reproduced"]
    hypotheses = pd.read_csv(out / "hypotheses.csv")
    assert (hypotheses["record_runs"] == rows.loc["all", "reproduced"]).all()


def test_given_record_without_an_observed_block_is_a_one_line_error(runner, tmp_path):
    scenario = child_of_geneva3(tmp_path, "name: no_record\nobserved: []\n")
    out = tmp_path / "out"
    result = runner.invoke(
        main, ["run", str(scenario), "--given-record", "-n", "30", "-o", str(out)]
    )
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert lines == [
        f"{scenario}: --given-record needs an `observed:` block (the record's patterns) "
        "in the scenario; see docs/scenario-format.md"
    ]
    assert not out.exists()


def test_given_record_in_a_hypothesis_without_an_observed_block(runner, tmp_path):
    scenario = child_of_geneva3(
        tmp_path,
        "name: no_record\nobserved: []\nhypotheses:\n  escalation_ratifies_gains:\n    given: record\n",
    )
    result = runner.invoke(main, ["run", str(scenario), "-n", "30", "-o", str(tmp_path / "o")])
    assert result.exit_code == 1
    assert "given: record (escalation_ratifies_gains) needs an `observed:` block" in result.output


def test_given_record_fails_when_too_few_runs_reproduce_it_and_writes_nothing(runner, tmp_path):
    impossible = (
        "name: rare_record\nobserved:\n  - id: agreed_at_once\n    metric: agreement\n"
        "    date: 2015-09-07\n    equals: 1\n"
    )
    scenario = child_of_geneva3(tmp_path, impossible)
    out = tmp_path / "out"
    result = runner.invoke(
        main, ["run", str(scenario), "--given-record", "-n", "30", "-j", "1", "-o", str(out)]
    )
    assert result.exit_code == 1
    assert "only 0 of 30 base runs reproduce the record" in result.output
    assert "fewer than the 30" in result.output and "Traceback" not in result.output
    # A failure commits nothing (the folder it made goes too); the line says what patterns.csv
    # would have: how many runs reproduce each pattern.
    assert "(agreed_at_once 0/30); nothing written" in result.output
    assert not out.exists()


@pytest.mark.parametrize("value", ["abc", "1.5", "autos"])
def test_runs_must_be_a_count_or_auto(runner, value):
    result = runner.invoke(main, ["run", GENEVA3, "--runs", value])
    assert result.exit_code == 2
    assert "Usage:" in result.output
    assert f"must be a whole number from 1 to 1000000, or auto (got {value!r})" in result.output


def test_runs_zero_is_out_of_range(runner):
    result = runner.invoke(main, ["run", GENEVA3, "--runs", "0"])
    assert result.exit_code == 2
    assert (
        "must be a whole number from 1 to 1000000" in result.output and "(got 0)" in result.output
    )


def test_given_record_needs_the_base_variant(runner, tmp_path):
    result = runner.invoke(
        main,
        ["run", GENEVA3, "--given-record", "-n", "30", "-v", "neither", "-o", str(tmp_path / "o")],
    )
    assert result.exit_code == 1
    assert "--given-record: the worlds like ours are base runs; run the `base` variant too" in (
        result.output
    )
    assert not (tmp_path / "o").exists()


# ----------------------------------------------------------------- scale


@pytest.mark.slow
def test_runs_format_parquet_holds_the_rows_of_runs_csv(runner, tmp_path):
    tables = {}
    for runs_format in ("csv", "parquet"):
        out = tmp_path / runs_format
        result = runner.invoke(
            main,
            ["run", GENEVA3, "--runs", "60", "--runs-format", runs_format, "-o", str(out), "-q"],
        )
        assert result.exit_code == 0, result.output
        tables[runs_format] = out
    assert not (tables["parquet"] / "runs.csv").exists()
    from_csv = pd.read_csv(tables["csv"] / "runs.csv", keep_default_na=False)
    from_parquet = pd.read_parquet(tables["parquet"] / "runs.parquet")
    assert list(from_parquet.columns) == list(from_csv.columns)
    assert len(from_parquet) == len(from_csv) == 60 * 8  # base and seven variants
    for column in ("agreement", "walkouts", "opposition_cohesion_at_talks"):
        assert from_parquet[column].to_numpy() == pytest.approx(
            from_csv[column].to_numpy(dtype=float), rel=1e-5
        ), column
    for name in ("timeseries.csv", "hypotheses.csv", "patterns.csv"):
        assert (tables["csv"] / name).read_bytes() == (tables["parquet"] / name).read_bytes()
    manifest = json.loads((tables["parquet"] / "manifest.json").read_text())
    assert manifest["files"]["runs.parquet"]["rows"] == 480
    # Back to CSV: the Parquet table is negsim's own stale file, removed.
    out = tables["parquet"]
    result = runner.invoke(main, ["run", GENEVA3, "--runs", "60", "-o", str(out), "-q"])
    assert result.exit_code == 0, result.output
    assert (out / "runs.csv").is_file() and not (out / "runs.parquet").exists()


@pytest.mark.slow
def test_plot_reads_a_parquet_runs_table(runner, tmp_path):
    out = tmp_path / "pq"
    result = runner.invoke(
        main, ["run", GENEVA3, "--runs", "60", "--runs-format", "parquet", "-o", str(out), "-q"]
    )
    assert result.exit_code == 0, result.output
    result = runner.invoke(main, ["plot", str(out), "-q"])
    assert result.exit_code == 0, result.output
    assert (out / "figures" / "outcomes.png").is_file()
    assert (out / "figures" / "differences.png").is_file()


def test_keep_series_writes_every_run_and_week(runner, tmp_path):
    from negsim import api

    out = tmp_path / "series"
    result = runner.invoke(
        main,
        ["run", GENEVA3, "--runs", "40", "-v", "base", "--keep-series", "-o", str(out), "-q"],
    )
    assert result.exit_code == 0, result.output
    series = pd.read_parquet(out / "series.parquet")
    sim = api.simulate(GENEVA3, runs=40)
    weeks = len(sim.ensemble.dates)
    assert len(series) == 40 * weeks
    steps = sim.steps("opposition_cohesion")
    merged = series.merge(steps, left_on=["replication", "step"], right_on=["replication", "step"])
    assert len(merged) == 40 * weeks
    assert (merged["opposition_cohesion"].astype(float) == merged["value"]).all()
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["files"]["series.parquet"]["rows"] == 40 * weeks


# --------------------------------------------------------------------------- the boundary


def test_an_interrupt_inside_a_command_is_130_and_one_line_not_clicks_aborted(runner, monkeypatch):
    import negsim.scenario

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(negsim.scenario, "load", interrupted)
    result = runner.invoke(main, ["validate", GENEVA3])
    assert result.exit_code == 130, result.output
    assert result.output.strip() == "Interrupted." and "Aborted" not in result.output


def test_a_file_system_error_nothing_below_reported_is_one_line(runner, monkeypatch, tmp_path):
    import errno

    import negsim.plots

    long = str(tmp_path) + ("/" + "n" * 200) * 25

    def too_long(*args, **kwargs):
        raise OSError(errno.ENAMETOOLONG, os.strerror(errno.ENAMETOOLONG), long)

    monkeypatch.setattr(negsim.plots, "plot_results", too_long)
    result = runner.invoke(main, ["plot", str(tmp_path)])
    assert result.exit_code == 1, result.output
    (line,) = result.output.strip().splitlines()
    assert f"({len(long)} characters): File name too long" in line and "shorter path" in line
    assert len(line) < 300  # the path is cut in the middle, not printed whole


def test_the_api_names_a_bad_argument_as_the_cli_would():
    from negsim import api
    from negsim.errors import UsageError

    with pytest.raises(UsageError, match=r"^runs: .* \(got 'auto', which only run_experiment"):
        api.simulate(GENEVA3, runs="auto")
    with pytest.raises(UsageError, match=r"^out: must be a folder path \(got 123\)"):
        api.run_experiment(GENEVA3, out=123)
    with pytest.raises(UsageError, match=r"^scheduler: must be an address"):
        api.run_experiment(GENEVA3, executor="dask", scheduler=8786)


def test_new_writes_a_starter_that_validate_accepts_and_never_replaces_a_file(
    runner, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(main, ["new", "my-variant"])
    assert result.exit_code == 0, result.output
    assert result.output == (
        "my-variant.yaml: written (scenario 'my_variant'); next: negsim validate my-variant.yaml\n"
    )
    checked = runner.invoke(main, ["validate", "my-variant.yaml"])
    assert checked.exit_code == 0, checked.output
    assert checked.output.startswith("my-variant.yaml: ok (my_variant: 7 actors")
    written = Path("my-variant.yaml").read_bytes()
    again = runner.invoke(main, ["new", "other", "--out", "my-variant.yaml"])
    assert again.exit_code == 1
    assert again.output == (
        "my-variant.yaml: exists; negsim new never replaces a file (choose another name or --out)\n"
    )
    assert Path("my-variant.yaml").read_bytes() == written


def test_new_with_a_name_that_cannot_be_one_is_a_usage_error(runner, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(main, ["new", "My Conflict!"])
    assert result.exit_code == 2
    assert "e.g. 'my_conflict'" in result.output
    assert "should match pattern" not in result.output
    assert os.listdir(tmp_path) == []


# --------------------------------------------------------------------------- run's output (issue 24)

VERDICT_WORDS = ("supported", "contradicted", "negligible", "inconclusive")


def _verdict_lines(output: str) -> tuple[str, list[str]]:
    """The verdict table's header and its rows (up to the first blank line after it)."""
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("verdict "))
    rows = []
    for line in lines[start + 1 :]:
        if not line.strip():
            break
        rows.append(line)
    return lines[start], rows


def test_run_prints_one_line_per_verdict_and_the_sentences_in_hypotheses_md(runner, tmp_path):
    out = tmp_path / "g3"
    result = runner.invoke(main, ["run", GENEVA3, "-n", "30", "-j", "1", "-o", str(out)])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out / "hypotheses.csv")
    header, rows = _verdict_lines(result.stdout)
    for column in ("effect [95 % CI]", "bound", "p (Holm)", "given the record", "caveats"):
        assert column in header
    assert len(rows) == len(table)
    for line, row in zip(rows, table.itertuples(), strict=True):
        assert line.split()[0] == row.verdict in VERDICT_WORDS
        assert row.hypothesis in line and row.metric in line
    agreement = [line for line in rows if " agreement " in line]
    assert agreement and all("points" in line for line in agreement)  # 0/1 outcomes in points
    # The sentences are not printed (12.7 KB of them at 1,000 runs) but written, p labelled.
    assert table["sentence"].iloc[0] not in result.stdout
    assert f"Full sentences: {out}/hypotheses.md (or run with --verbose)." in result.stdout
    written = (out / "hypotheses.md").read_text(encoding="utf-8")
    assert written.startswith("# geneva3: verdicts (30 runs per variant)")
    assert "| p vs bound (Holm) | p vs 0 (raw) |" in written
    assert written.count(", raw p ") == len(table) + table["record_sentence"].notna().sum()
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert "hypotheses.md" in manifest["files"]


@pytest.mark.slow
def test_verbose_prints_the_sentences_and_quiet_prints_nothing(runner, tmp_path):
    out = tmp_path / "g3"
    verbose = runner.invoke(
        main, ["run", GENEVA3, "-n", "30", "-j", "1", "-o", str(out), "--verbose"]
    )
    assert verbose.exit_code == 0, verbose.output
    table = pd.read_csv(out / "hypotheses.csv")
    sentences = [line for line in verbose.stdout.splitlines() if line.startswith("- ")]
    assert len(sentences) == len(table) + table["record_sentence"].notna().sum()
    assert all(", raw p " in line for line in sentences)
    quiet = runner.invoke(main, ["run", GENEVA3, "-n", "30", "-j", "1", "-o", str(out), "-q"])
    assert quiet.exit_code == 0 and quiet.stdout == ""


@pytest.mark.slow
def test_given_record_prints_the_conditioned_rows_as_such(runner, tmp_path):
    out = tmp_path / "g3"
    result = runner.invoke(
        # 400: about 45 base runs reproduce the record with the assumptions drawn (30 needed).
        main,
        ["run", GENEVA3, "-n", "400", "-j", "1", "-o", str(out), "--given-record"],
    )
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out / "hypotheses.csv")
    matching = int(table["record_runs"].iloc[0])
    title = f"Given the record: the same rows on the {matching} replications whose base run"
    assert title in result.stdout
    conditioned = result.stdout[result.stdout.index(title) :]
    _, rows = _verdict_lines(conditioned)
    assert len(rows) == len(table)
    assert all(line.endswith("given the record") for line in rows)
    for line, verdict in zip(rows, table["record_verdict"], strict=True):
        assert line.split()[0] == verdict
    plain = result.stdout[: result.stdout.index(title)]
    assert "given the record" not in _verdict_lines(plain)[0]  # not a column here: a table


def test_progress_names_its_phases_with_rate_and_eta(capsys):
    from negsim.cli import _Progress

    bar = _Progress(True)
    for done in range(1, 5):
        bar.simulated(done, 4)
    bar.phase("judging")
    bar.phase("summarising")
    bar.close()
    err = capsys.readouterr().err
    assert "simulating" in err and "4/4" in err and "chunk/s" in err
    assert "judging" in err and "summarising" in err
    silent = _Progress(False)
    silent.simulated(1, 4)
    silent.phase("judging")
    silent.close()
    assert capsys.readouterr().err == ""


def test_an_import_broken_by_an_interrupt_counts_as_the_interrupt():
    # A KeyboardInterrupt inside a module's import comes out as an ImportError (CI saw
    # "ImportError: initialization failed" from scipy): negsim ends it as an interrupt.
    from negsim.cli import _from_interrupt

    try:
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt as interrupt:
            raise ImportError("initialization failed") from interrupt
    except ImportError as error:
        assert _from_interrupt(error)
    assert not _from_interrupt(ImportError("no module named x"))


def test_a_signal_noted_by_a_command_never_reaches_the_program_that_called_it():
    # A program (a notebook) calling main(): once the command returns, its note is gone,
    # so the program's own calls into negsim never raise for it.
    from negsim import interrupts

    interrupts.note()
    CliRunner().invoke(main, ["--version"])
    assert not interrupts.asked()


def test_a_second_start_of_work_in_one_command_keeps_the_note():
    # `run --plot` starts work twice: a signal noted in between must still stop the plot.
    import signal as signals

    from negsim import cli, interrupts

    saved = {signum: signals.getsignal(signum) for signum in cli._STOP_SIGNALS}
    try:
        interrupts.note()
        cli._interruptible()
        assert interrupts.asked()
    finally:
        interrupts.clear()
        for signum, handler in saved.items():
            signals.signal(signum, handler)

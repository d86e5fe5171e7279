"""Sweeps: designs, sample points as scenarios, screening ranges, runs with common random numbers."""

from __future__ import annotations

import os
import re

import numpy as np
import pytest

from helpers import SWEEP_SCENARIO
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
    cohesion = by_path["actors.southern_front.cohesion"]  # a share at 0.5: 0.25 to 0.75
    assert (cohesion.low, cohesion.high) == pytest.approx((0.25, 0.75))
    spinup = by_path["parameters.spinup_weeks"]  # a whole number: whole values
    assert spinup.whole and set(spinup.values(np.linspace(0, 1, 7))) <= set(range(52, 157))
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


# ------------------------------------------------------------- end to end (CLI)

TINY = SWEEP_SCENARIO

TABLES = ("sweep.csv", "sensitivity.csv", "robustness.csv")


@pytest.fixture()
def tiny(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY, encoding="utf-8")
    return path


def sweep_cli(*args: str):
    from click.testing import CliRunner

    from negsim.cli import main

    return CliRunner().invoke(main, ["sweep", *args], catch_exceptions=False)


def test_tiny_sweep_end_to_end(tiny, tmp_path) -> None:
    out = tmp_path / "out"
    result = sweep_cli(str(tiny), "-N", "2", "-n", "30", "-j", "1", "-o", str(out), "--plot")
    assert result.exit_code == 0, result.output
    assert "Morris over 2 parameters" in result.output  # the plan, before the work
    assert "= 420 runs" in result.output  # (2 x 3 points + 1) x 2 variants x 30 runs
    assert "push_hurts_talks on agreement (expected decrease)" in result.output
    import json

    import pandas as pd

    sweep = pd.read_csv(out / "sweep.csv")
    assert len(sweep) == 6
    assert list(sweep.columns[:3]) == ["sample", "actors.gov.resolve", "events.push.intensity"]
    assert {"push_hurts_talks.effect", "push_hurts_talks.verdict"} <= set(sweep.columns)
    assert "record_share" not in sweep.columns  # no `observed:` block
    sensitivity = pd.read_csv(out / "sensitivity.csv")
    assert len(sensitivity) == 2 * 2 and "mu_star_ci_high" in sensitivity.columns
    robustness = pd.read_csv(out / "robustness.csv")
    for _, rows in robustness.groupby("hypothesis"):
        assert rows["share"].sum() == pytest.approx(1.0)
        assert rows["at_scenario_values"].sum() == 1
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["sweep"]["identity"]["seed"] == 1 and set(TABLES) <= set(manifest["files"])
    assert (out / "figures" / "sensitivity_push_hurts_talks.png").is_file()
    assert not (tmp_path / ".out.sweep-checkpoint").exists()
    # `negsim plot` on a sweep folder draws the sweep's figures.
    from click.testing import CliRunner

    from negsim.cli import main

    plotted = CliRunner().invoke(main, ["plot", str(out), "--out", str(tmp_path / "figs")])
    assert plotted.exit_code == 0, plotted.output
    assert (tmp_path / "figs" / "effect_push_hurts_talks.png").is_file()
    # A run folder is never taken for a sweep folder.
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "manifest.json").write_text('{"negsim": "0.1.0", "files": {}}')
    refused = sweep_cli(str(tiny), "-N", "2", "-n", "30", "-o", str(tmp_path / "run"))
    assert refused.exit_code == 1 and "holds `negsim run` results" in refused.output


@pytest.mark.parametrize(
    ("args", "phrase"),
    [
        (["-m", "sobol", "-N", "12"], "power of 2 (got 12; try 16)"),
        (["-m", "grid"], "Invalid value for '--method'"),
    ],
)
def test_bad_options_are_one_line_errors(tiny, tmp_path, args, phrase) -> None:
    result = sweep_cli(str(tiny), *args, "-o", str(tmp_path / "o"))
    assert result.exit_code in (1, 2) and phrase in result.output
    assert "Traceback" not in result.output


def test_a_scenario_without_uncertain_says_what_to_do(tmp_path) -> None:
    path = tmp_path / "plain.yaml"
    path.write_text(TINY.split("uncertain:")[0], encoding="utf-8")
    result = sweep_cli(str(path), "-o", str(tmp_path / "o"))
    assert result.exit_code == 1
    assert "no `uncertain` block" in result.output and "--all" in result.output


@pytest.mark.slow
def test_resume_after_sigkill_writes_the_same_files(tiny, tmp_path) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    args = [str(tiny), "-N", "6", "-n", "30", "-j", "1", "--seed", "3"]
    killed = tmp_path / "killed"
    checkpoint = tmp_path / ".killed.sweep-checkpoint" / "points.jsonl"
    process = subprocess.Popen(
        [sys.executable, "-m", "negsim.cli", "sweep", *args, "-o", str(killed), "-q"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if checkpoint.is_file() and checkpoint.read_bytes().count(b"\n") >= 3:
            break
        time.sleep(0.02)
    assert process.poll() is None, "the sweep ended before it could be killed"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    done = checkpoint.read_bytes().count(b"\n")
    assert 3 <= done < 19 and not (killed / "sweep.csv").exists()

    again = sweep_cli(*args, "-o", str(killed))  # without --resume: refused, nothing lost
    assert again.exit_code == 1 and "continue it with --resume" in again.output
    other = sweep_cli(*args[:-1], "4", "-o", str(killed), "--resume")
    assert other.exit_code == 1 and "seed 3 (now 4)" in other.output

    resumed = sweep_cli(*args, "-o", str(killed), "--resume")
    assert resumed.exit_code == 0, resumed.output
    assert f"{done} taken from the checkpoint" in resumed.output
    whole = tmp_path / "whole"
    assert sweep_cli(*args, "-o", str(whole)).exit_code == 0
    for name in TABLES:
        assert (killed / name).read_bytes() == (whole / name).read_bytes(), name
    finished = sweep_cli(*args, "-o", str(whole), "--resume")
    assert finished.exit_code == 0 and "Already complete" in finished.output


@pytest.mark.slow
def test_a_sweep_on_dask_gives_the_bytes_of_local_processes(tiny, tmp_path) -> None:
    pytest.importorskip("dask.distributed")
    outs = {}
    for name, options in (("local", ["-j", "2"]), ("dask", ["-j", "2", "--executor", "dask"])):
        outs[name] = tmp_path / name
        result = sweep_cli(str(tiny), "-N", "2", "-n", "30", *options, "-o", str(outs[name]), "-q")
        assert result.exit_code == 0, result.output
    for table in TABLES:
        assert (outs["local"] / table).read_bytes() == (outs["dask"] / table).read_bytes(), table


# ------------------------------------------------------------------ the checkpoint's integrity


def checkpoint_of(tmp_path, check=None, resume=True):
    from negsim.results.sweep import SweepCheckpoint

    return SweepCheckpoint.open(tmp_path / "out", {"seed": 1}, resume, check)


def record(sample: int) -> dict:
    return {"sample": sample, "values": [sample / 10], "hypotheses": [{"verdict": "x"}]}


def test_checkpoint_lines_carry_a_checksum_and_damaged_ones_are_dropped(tmp_path) -> None:
    checkpoint, records = checkpoint_of(tmp_path)
    assert records == []
    for sample in range(4):
        checkpoint.add(record(sample))
    checkpoint.close()
    points = checkpoint.path / "points.jsonl"
    lines = points.read_bytes().splitlines(keepends=True)
    assert all(line.count(b"\t") == 1 for line in lines)
    lines[1] = lines[1].replace(b"0.1", b"0.7")  # bit rot, or an edit: still JSON
    lines[2] = b"{not json\n"
    points.write_bytes(b"".join(lines) + b'{"sample": 4, "val')  # and a torn last line
    reopened, records = checkpoint_of(tmp_path)
    assert [r["sample"] for r in records] == [0, 3]
    assert reopened.notes == [
        f"{points}: 2 damaged records dropped (line 2: its checksum differs; line 3: not JSON); "
        "resuming from the 2 good points, the others are simulated again"
    ]
    assert points.read_bytes() == lines[0] + lines[3]  # repaired: the next resume is quiet
    assert checkpoint_of(tmp_path)[0].notes == []


def test_checkpoint_records_the_sweep_refuses_are_dropped(tmp_path) -> None:
    checkpoint, _ = checkpoint_of(tmp_path)
    for sample in range(3):
        checkpoint.add(record(sample))
    checkpoint.close()
    (checkpoint.path / "points.jsonl").open("ab").write(b'{"sample": 0, "values": [0.0]}\n')

    def check(found):
        return None if found["values"] == [found["sample"] / 10] else "not the design's"

    reopened, records = checkpoint_of(tmp_path, check)
    assert [r["sample"] for r in records] == [0, 1, 2]
    assert "(line 4: a second record of sample 0)" in reopened.notes[0]
    (reopened.path / "points.jsonl").open("ab").write(b'{"sample": 3, "values": [9]}\n')
    assert "(line 4: not the design's)" in checkpoint_of(tmp_path, check)[0].notes[0]


def test_another_sweeps_resume_leaves_the_checkpoint_as_it_is(tmp_path) -> None:
    from negsim.results.sweep import SweepCheckpoint

    checkpoint, _ = checkpoint_of(tmp_path)
    checkpoint.add(record(0))
    checkpoint.close()
    before = (checkpoint.path / "points.jsonl").read_bytes()
    with pytest.raises(NegsimError, match="seed 1 \\(now 2\\)"):
        SweepCheckpoint.open(tmp_path / "out", {"seed": 2}, True, lambda r: "refused")
    with pytest.raises(NegsimError, match="1 points done"):
        checkpoint_of(tmp_path, lambda r: "refused", resume=False)
    assert (checkpoint.path / "points.jsonl").read_bytes() == before


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full (Linux)")
def test_a_full_disk_is_one_line_and_the_close_after_it_does_not_raise(tmp_path) -> None:
    checkpoint, _ = checkpoint_of(tmp_path)
    points = checkpoint.path / "points.jsonl"
    points.unlink()
    points.symlink_to("/dev/full")  # every write: ENOSPC, like a full disk
    with pytest.raises(NegsimError) as info:
        checkpoint.add(record(0))
    assert str(info.value) == (
        f"{checkpoint.path}: cannot write the checkpoint: no space left on the disk; the "
        "points done so far are kept: make room, then continue with --resume"
    )
    checkpoint.close()  # the cleanup of the failure: must not raise over it


@pytest.mark.slow
@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full (Linux)")
def test_a_sweep_on_a_full_disk_ends_in_its_own_message(tiny, tmp_path, monkeypatch) -> None:
    from negsim.results.sweep import SweepCheckpoint
    from negsim.sweep_api import plan_sweep, run_sweep

    create = SweepCheckpoint._create

    def full(self):
        create(self)
        (self.path / "points.jsonl").unlink()
        (self.path / "points.jsonl").symlink_to("/dev/full")

    monkeypatch.setattr(SweepCheckpoint, "_create", full)
    plan = plan_sweep(tiny, "lhs", 4, 2, 1, out=tmp_path / "out")
    # The close in the sweep's cleanup flushes again into the full disk: that must not mask
    # the sweep's own message (it did: OSError ENOSPC from checkpoint.close()).
    with pytest.raises(NegsimError, match="cannot write the checkpoint: no space left"):
        run_sweep(plan, jobs=1, executor="serial")
    assert not (tmp_path / "out" / "sweep.csv").exists()

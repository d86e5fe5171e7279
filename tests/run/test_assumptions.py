"""Assumptions drawn per run: the same draw for a run's base and variants, written values
where a variant writes them, no other stream shifted, and the sweep still at its points."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from negsim.api import simulate, simulate_variants
from negsim.cli import main
from negsim.errors import NegsimError
from negsim.model.world import ConflictModel
from negsim.run.assumptions import inputs, stream_name, variant_scenarios
from negsim.run.ensemble import assemble, chunk_tasks, simulate_chunk
from negsim.run.executors import ProcessExecutor, SerialExecutor
from negsim.run.sweep import point_scenarios, simulate_points
from negsim.scenario import load
from negsim.scenario.distributions import bounds
from negsim.scenario.schema import Scenario

ROOT = Path(__file__).resolve().parents[2]
GENEVA3 = ROOT / "scenarios" / "geneva3.yaml"
ACEH = ROOT / "scenarios" / "aceh.yaml"
DRAWDOWN = "events.russian_drawdown.intensity"
EMBOLDENING = "parameters.emboldening"

# A variant that writes two of the uncertain numbers: its values are the treatment.
SETTING = f"""variants:
  sets_two:
    description: the drawdown's intensity and emboldening as this variant writes them
    set:
      {DRAWDOWN}: 0.2
      {EMBOLDENING}: 0.5
"""


def edited(tmp_path: Path, text: str, name: str = "geneva3.yaml") -> Path:
    path = tmp_path / "scenario" / name
    path.parent.mkdir(exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def with_setting(tmp_path_factory: pytest.TempPathFactory):
    """geneva3 in chunks of 20, with a variant that sets two uncertain paths."""
    text = GENEVA3.read_text(encoding="utf-8").replace("chunk_size: 500", "chunk_size: 20")
    assert "chunk_size: 20" in text and text.count("\nvariants:\n") == 1
    text = text.replace("\nvariants:\n", "\n" + SETTING)
    return load(edited(tmp_path_factory.mktemp("setting"), text))


@pytest.fixture(scope="module")
def drawn(with_setting):
    variants = ["base", "alloush_alive", "no_russian_escalation", "sets_two"]
    results = simulate_variants(with_setting, variants, runs=20, seed=4, jobs=1, draw=True)
    return {result.variant: result for result in results}


def test_a_runs_base_and_variants_share_its_draw(with_setting, drawn) -> None:
    base = drawn["base"].inputs
    assert list(base) == list(with_setting.scenario.uncertain)
    for path, over in with_setting.scenario.uncertain.items():
        values = base[path]
        low, high = bounds(over)
        assert np.all((low <= values) & (values <= high)), path
        assert np.unique(values).size == values.size, f"{path}: one value per run"
        np.testing.assert_array_equal(drawn["alloush_alive"].inputs[path], values, err_msg=path)


def test_a_path_the_variant_sets_keeps_the_variants_value(drawn) -> None:
    sets_two = drawn["sets_two"].inputs
    np.testing.assert_array_equal(sets_two[DRAWDOWN], np.full(20, 0.2))
    np.testing.assert_array_equal(sets_two[EMBOLDENING], np.full(20, 0.5))
    for path, values in drawn["base"].inputs.items():
        if path not in (DRAWDOWN, EMBOLDENING):
            np.testing.assert_array_equal(sets_two[path], values, err_msg=path)


def test_a_path_into_a_removed_event_has_no_value_and_no_effect(with_setting, drawn) -> None:
    without = drawn["no_russian_escalation"]
    removed = set(with_setting.scenario.variants["no_russian_escalation"].remove_events)
    for path, values in without.inputs.items():
        if path.split(".")[1] in removed:
            assert np.isnan(values).all(), path
        else:
            np.testing.assert_array_equal(values, drawn["base"].inputs[path], err_msg=path)
    # runs.csv: an empty cell, in the same columns as every other variant's rows.
    from negsim.results.tables import runs_frame

    frame = runs_frame([drawn["base"], without])
    column = f"input.{DRAWDOWN}"
    assert frame.loc[frame.variant == "base", column].notna().all()
    assert frame.loc[frame.variant == "no_russian_escalation", column].isna().all()


def test_the_recorded_values_are_the_ones_the_model_used(with_setting) -> None:
    scenario = variant_scenarios(with_setting, ["base"])["base"]
    model = ConflictModel(scenario, replications=12, seed=3, chunk=1)
    values = inputs(scenario, model.streams)
    event = next(e for e in model.events if e.spec.id == "russian_drawdown")
    np.testing.assert_array_equal(event.values["intensity"], values[DRAWDOWN])
    np.testing.assert_array_equal(
        model.parameters["emboldening"], values[EMBOLDENING], err_msg=EMBOLDENING
    )


@pytest.mark.parametrize("path", [GENEVA3, ACEH, None], ids=["geneva3", "aceh", "starter"])
def test_every_uncertain_path_is_a_number_the_model_draws_by_its_stream(
    path: Path | None, tmp_path: Path
) -> None:
    if path is None:  # `negsim new`'s starter names a named successor's trait
        from negsim.scenario.starter import write_starter

        path, _ = write_starter(str(tmp_path / "mine"))
    scenario_file = load(path)
    scenario = variant_scenarios(scenario_file, ["base"])["base"]
    # Built without its spin-up: every number is drawn when the model is built.
    data = scenario.model_dump()
    data["parameters"]["spinup_weeks"] = 0
    model = ConflictModel(Scenario.model_validate(data), replications=4, seed=1)
    for dotted in scenario.uncertain:
        assert stream_name(dotted) in model.streams.drawn, dotted


def test_stream_names_of_successors() -> None:
    assert stream_name("leaders.founder.successors.second.moderation") == (
        "leaders.second.moderation"
    )
    assert stream_name("leaders.founder.successor.authority") == "succession:founder.authority"
    assert stream_name("parameters.emboldening") == "parameters.emboldening"


def test_drawing_shifts_no_other_stream(geneva3) -> None:
    written = ConflictModel(geneva3.scenario, replications=16, seed=2)
    scenario = variant_scenarios(geneva3, ["base"])["base"]
    drawn = ConflictModel(scenario, replications=16, seed=2)
    own = {stream_name(path) for path in geneva3.scenario.uncertain}
    others = set(written.streams.drawn) - own
    assert others and set(drawn.streams.drawn) == set(written.streams.drawn)
    for name in others:
        np.testing.assert_array_equal(drawn.streams.drawn[name], written.streams.drawn[name], name)
    for name in own:
        assert not np.array_equal(drawn.streams.drawn[name], written.streams.drawn[name]), name


def test_at_values_runs_at_the_written_values(with_setting) -> None:
    (written,) = simulate_variants(with_setting, ["base"], runs=20, seed=4, jobs=1)
    data = with_setting.scenario.model_dump()
    from negsim.scenario.uncertain import lookup

    for path, values in written.inputs.items():
        np.testing.assert_array_equal(values, np.full(20, lookup(data, path)[1]), err_msg=path)
    at_values = simulate(with_setting, runs=20, seed=4, at_values=True)
    for name, values in written.outcomes.items():
        np.testing.assert_array_equal(at_values.ensemble.outcomes[name], values, err_msg=name)


def test_drawn_runs_do_not_depend_on_workers_or_on_how_many_runs(with_setting) -> None:
    scenario = variant_scenarios(with_setting, ["base"])["base"]
    tasks = chunk_tasks("base", scenario, runs=50, seed=6, chunk_size=20)
    serial = assemble("base", scenario, 50, list(SerialExecutor().map(simulate_chunk, tasks)))
    pool = ProcessExecutor(2)
    try:
        parallel = assemble("base", scenario, 50, list(pool.map(simulate_chunk, tasks)))
    finally:
        pool.close()
    fewer = assemble(
        "base",
        scenario,
        30,
        [simulate_chunk(t) for t in chunk_tasks("base", scenario, 30, 6, 20)],
    )
    for kind in ("outcomes", "inputs"):
        for name, values in getattr(serial, kind).items():
            np.testing.assert_array_equal(getattr(parallel, kind)[name], values, err_msg=name)
            np.testing.assert_array_equal(getattr(fewer, kind)[name], values[:30], err_msg=name)


def test_the_sweep_runs_at_its_points_without_redrawing(geneva3) -> None:
    point = {DRAWDOWN: 0.1, EMBOLDENING: 0.7}
    scenarios = point_scenarios(geneva3.scenario, point, ["base", "no_russian_escalation"])
    ((_, ensembles),) = simulate_points({0: scenarios}, 12, 3, 500, SerialExecutor(), 1)
    base, without = ensembles["base"].inputs, ensembles["no_russian_escalation"].inputs
    data = geneva3.scenario.model_dump()
    from negsim.scenario.uncertain import lookup

    for path, values in base.items():
        expected = point.get(path, lookup(data, path)[1])
        np.testing.assert_array_equal(values, np.full(12, expected), err_msg=path)
    np.testing.assert_array_equal(without[EMBOLDENING], np.full(12, 0.7))
    assert np.isnan(without[DRAWDOWN]).all()


@pytest.mark.parametrize(
    ("path", "spec"),
    [
        ("parameters.spinup_weeks", "{uniform: {low: 50, high: 60}}"),
        ("parameters.belief_noise.uniform.high", "{uniform: {low: 0.05, high: 0.08}}"),
    ],
    ids=["shared by all runs", "argument of a distribution"],
)
def test_a_path_that_cannot_be_drawn_per_run_is_one_line(tmp_path, path, spec) -> None:
    lines = GENEVA3.read_text(encoding="utf-8").splitlines(keepends=True)
    (at,) = [i for i, line in enumerate(lines) if line.startswith("uncertain:")]
    text = "".join([*lines[: at + 1], f"  {path}: {spec}\n", *lines[at + 1 :]])
    scenario_file = load(edited(tmp_path, text))
    assert path in scenario_file.scenario.uncertain
    with pytest.raises(NegsimError, match=f"{path}: cannot be drawn per run.*--at-values"):
        variant_scenarios(scenario_file, ["base"])
    assert variant_scenarios(scenario_file, ["base"], draw=False)["base"] is (
        scenario_file.variant("base")
    )
    out = tmp_path / "out"
    result = CliRunner().invoke(
        main, ["run", str(scenario_file.path), "--runs", "5", "--out", str(out), "-q"]
    )
    assert result.exit_code == 1, result.output
    said = result.output.strip().splitlines()
    assert len(said) == 1 and "--at-values" in said[0] and "Traceback" not in result.output
    assert not out.exists()


@pytest.mark.slow
def test_run_writes_the_inputs_and_says_which_assumptions(with_setting, tmp_path) -> None:
    frames = {}
    for flag in ("", "--at-values"):
        out = tmp_path / (flag or "drawn")
        args = ["run", str(with_setting.path), "--runs", "20", "--out", str(out), "-q", "-j", "1"]
        args += ["-v", "base", "-v", "sets_two"] + ([flag] if flag else [])
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 0, result.output
        manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
        assert manifest["assumptions"] == ("written" if flag else "drawn")
        frames[flag] = pd.read_csv(out / "runs.csv")
    columns = [f"input.{path}" for path in with_setting.scenario.uncertain]
    for frame in frames.values():
        assert [c for c in frame.columns if c.startswith("input.")] == columns
    drawn, written = frames[""], frames["--at-values"]
    base = drawn[drawn.variant == "base"]
    assert (base[columns].nunique() == 20).all()
    assert (written.loc[written.variant == "base", columns].nunique() == 1).all()
    assert (drawn.loc[drawn.variant == "sets_two", f"input.{DRAWDOWN}"] == 0.2).all()


@pytest.mark.slow
def test_drawn_results_are_the_same_bytes_whatever_the_number_of_jobs(
    with_setting, tmp_path
) -> None:
    from negsim.api import run_experiment

    outs = []
    for jobs in (1, 2):
        out = tmp_path / f"jobs{jobs}"
        with pytest.warns(Warning):  # 50 runs: "a rough interval"
            run_experiment(
                with_setting.path,
                runs=50,
                out=out,
                jobs=jobs,
                variants=("base", "no_russian_escalation", "sets_two"),
                command=["test"],
            )
        manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
        assert manifest["assumptions"] == "drawn"
        outs.append(out)
    for name in ("runs.csv", "timeseries.csv", "hypotheses.csv", "events.csv", "patterns.csv"):
        assert (outs[0] / name).read_bytes() == (outs[1] / name).read_bytes(), name
    assert "input.parameters.emboldening" in (outs[0] / "runs.csv").read_text().splitlines()[0]

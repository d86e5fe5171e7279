"""Bad scenario input, through the real command line (issue 19's probe cases).

Each case runs `negsim` as a user would, in its own process: a scenario
that `extends` a local secret file must not print it; a pipe must not hang
`validate`; numbers the model cannot hold are refused before any run; a run
never writes NaN or infinity where docs/results.md documents none.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from negsim.api import load_scenario
from negsim.errors import ResultsError, UsageError

NEGSIM = [sys.executable, "-m", "negsim.cli"]
SECRET = "hunter2-SECRET-HASH"

TINY = """\
name: tiny
calendar: {start: 2020-01-06, end: 2020-12-27}
issue: {name: transition}
actors:
  regime: {kind: government, capability: 1.0, resolve: 0.8}
  coalition: {kind: opposition}
  rebels: {kind: faction, coalition: coalition, capability: 0.5}
  envoy: {kind: mediator, leverage: 0.5}
regions:
  capital: {control: {regime: 0.8, rebels: 0.2}}
events:
  - {id: first_round, type: negotiation_round, date: 2020-03-02, mediator: envoy}
  - {id: push, type: escalation, date: 2020-02-03, actor: regime, intensity: 0.5}
variants:
  no_round: {remove_events: [first_round]}
hypotheses:
  talks_matter: {metric: agreement, treatment: base, control: no_round, expected: increase}
"""


def negsim(
    *args: str, timeout: float = 60, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*NEGSIM, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def problem_lines(result: subprocess.CompletedProcess[str]) -> list[str]:
    """The problems printed, without the summary line `validate` adds."""
    lines = (result.stdout + result.stderr).splitlines()
    summary = ("file(s) have problems", "problem found", "problems found")
    return [line for line in lines if line and not any(word in line for word in summary)]


def assert_one_line(result: subprocess.CompletedProcess[str], *phrases: str) -> str:
    assert result.returncode == 1, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    (line,) = problem_lines(result)
    for phrase in phrases:
        assert phrase in line, line
    return line


# ------------------------------------------------------------------- extends


@pytest.fixture
def secrets(tmp_path: Path) -> Path:
    """Files like a system's shadow file and a private YAML mapping, outside the scenario."""
    private = tmp_path / "private"
    private.mkdir()
    (private / "shadow").write_text(
        f"root:$6$salt${SECRET}:19000:0:99999:7:::\nalice:$6$x${SECRET}2:1:2:3:::\n",
        encoding="utf-8",
    )
    (private / "keys.yaml").write_text(f"api_token: {SECRET}\n{SECRET}: 1\n", encoding="utf-8")
    (private / "list.yaml").write_text(f"- {SECRET}\n- 2\n", encoding="utf-8")
    (private / "broken.yaml").write_text(f"name: [{SECRET}\n", encoding="utf-8")
    (private / "latin1.yaml").write_bytes(f"name: caf\xe9 {SECRET}\n".encode("latin-1"))
    (private / "secret.yaml").symlink_to(private / "shadow")
    return private


EXTENDS_CASES = [
    ("shadow", "extends names a YAML scenario file (ending in .yaml or .yml)"),
    ("secret.yaml", "extends names a YAML scenario file"),  # a link to the shadow file
    ("keys.yaml", "its top-level keys are not all scenario keys"),
    ("list.yaml", "cannot be read as a YAML mapping at its line 1"),
    ("broken.yaml", "cannot be read as a YAML mapping at its line 2"),
    ("latin1.yaml", "cannot be read as a YAML mapping at its line 1"),
]
# Fields of the secret files besides the marker: none may be printed either.
OTHER_FIELDS = ("alice", "19000", "99999", "api_token")


def test_extends_never_echoes_a_file_that_is_not_a_scenario(tmp_path: Path, secrets: Path) -> None:
    children = []
    for index, (target, _) in enumerate(EXTENDS_CASES):
        child = tmp_path / f"child{index}.yaml"
        child.write_text(f"name: child\nextends: {secrets / target}\n", encoding="utf-8")
        children.append(child)
    result = negsim("validate", *map(str, children))  # one process: each file its own line
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    printed = result.stdout + result.stderr
    assert SECRET not in printed and not any(field in printed for field in OTHER_FIELDS), printed
    lines = problem_lines(result)
    assert len(lines) == len(EXTENDS_CASES), lines
    for child, (_, phrase) in zip(children, EXTENDS_CASES, strict=True):
        (line,) = [line for line in lines if line.startswith(f"{child}:2: extends: ")]
        assert "is not a negsim scenario" in line and phrase in line, line


@pytest.mark.slow
def test_run_never_echoes_a_file_that_is_not_a_scenario(tmp_path: Path, secrets: Path) -> None:
    child = tmp_path / "child.yaml"
    child.write_text(f"name: child\nextends: {secrets / 'keys.yaml'}\n", encoding="utf-8")
    result = negsim("run", str(child), "--runs", "2", "--out", str(tmp_path / "out"))
    assert_one_line(result, f"{child}:2: extends: ", "is not a negsim scenario")
    assert SECRET not in result.stdout + result.stderr
    assert not (tmp_path / "out").exists()


def test_extends_of_a_scenario_still_reports_its_problems_at_its_lines(tmp_path: Path) -> None:
    parent = tmp_path / "parent.yaml"
    parent.write_text(TINY.replace("capability: 0.5", "capabilty: 0.5"), encoding="utf-8")
    child = tmp_path / "child.yaml"
    child.write_text("extends: parent.yaml\nname: child\n", encoding="utf-8")
    result = negsim("validate", str(child))
    assert result.returncode == 1
    printed = result.stdout + result.stderr
    assert f"{parent}:7: actors.rebels.capabilty: unknown key 'capabilty'" in printed


# ----------------------------------------------------------- special files


def test_validate_refuses_a_fifo_a_device_and_a_folder_at_once(tmp_path: Path) -> None:
    fifo = tmp_path / "scenario.yaml"
    os.mkfifo(fifo)
    child = tmp_path / "child.yaml"
    child.write_text(f"name: child\nextends: {fifo}\n", encoding="utf-8")
    folder = tmp_path / "folder.yaml"
    folder.mkdir()
    expected = {
        str(fifo): f"{fifo}: is a named pipe (FIFO), not a regular file",
        str(child): f"{child}:2: extends: 'scenario.yaml' is a named pipe (FIFO), not a scenario",
        str(folder): f"{folder}: is a folder, not a scenario file",
    }
    child.write_text("name: child\nextends: scenario.yaml\n", encoding="utf-8")
    if Path("/dev/zero").exists():
        expected["/dev/zero"] = "/dev/zero: is a device, not a regular file"
    # Waited for ever on the pipe before: the timeout fails the test instead.
    result = negsim("validate", *expected, timeout=30)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    lines = problem_lines(result)
    assert len(lines) == len(expected), lines
    for start in expected.values():
        assert any(line.startswith(start) for line in lines), (start, lines)


# ------------------------------------------------------------------ numbers


NUMBER_CASES = [
    (("capability: 1.0,", "capability: 1.0e+308,"), "actors.regime.capability: must be <= 1000.0"),
    (("intensity: 0.5", "intensity: 1.0e+308"), "events.push.intensity: must be <= 100.0"),
    (
        ("variants:", "parameters: {attrition_rate: 1.0e+308}\nvariants:"),
        "parameters.attrition_rate: must be <= 1.0",
    ),
    (("resolve: 0.8", "resolve: .nan"), "actors.regime.resolve: must be a finite number"),
    (("end: 2020-12-27", "end: 2999-12-31"), "calendar.end: the calendar spans 51,134 weeks"),
    (("name: tiny", "name: my-tiny"), "name: not a valid name: use lower-case letters"),
]


def _number_cases(tmp_path: Path) -> list[tuple[Path, str]]:
    cases = []
    for index, ((old, new), where) in enumerate(NUMBER_CASES):
        scenario = tmp_path / f"s{index}.yaml"
        scenario.write_text(TINY.replace(old, new, 1), encoding="utf-8")
        cases.append((scenario, where))
    return cases


def test_numbers_the_model_cannot_hold_are_one_line_each(tmp_path: Path) -> None:
    cases = _number_cases(tmp_path)
    result = negsim("validate", *(str(path) for path, _ in cases))
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    lines = problem_lines(result)
    assert len(lines) == len(cases), lines
    for path, where in cases:
        (line,) = [line for line in lines if line.startswith(f"{path}:")]
        assert where in line, line


@pytest.mark.slow
def test_a_run_refuses_them_before_writing_anything(tmp_path: Path) -> None:
    for path, where in _number_cases(tmp_path)[:3]:
        out = tmp_path / f"out-{path.stem}"
        assert_one_line(negsim("run", str(path), "--runs", "2", "--out", str(out)), where)
        assert not out.exists()


def test_a_long_calendar_is_allowed_by_the_variable(tmp_path: Path) -> None:
    scenario = tmp_path / "s.yaml"
    scenario.write_text(TINY.replace("end: 2020-12-27", "end: 2200-12-27"), encoding="utf-8")
    assert negsim("validate", str(scenario)).returncode == 1
    result = negsim("validate", str(scenario), env={"NEGSIM_MAX_WEEKS": "10000"})
    assert result.returncode == 0, result.stdout + result.stderr


def _corner(which: str) -> str:
    """TINY with every bounded parameter at one end of its range."""
    from negsim.scenario.distributions import Bounds
    from negsim.scenario.schema import Parameters

    lines = []
    for name, field in Parameters.model_fields.items():
        bounds = next((m for m in field.metadata if isinstance(m, Bounds)), None)
        if bounds is not None and bounds.ge is not None and bounds.le is not None:
            lines.append(f"  {name}: {bounds.le if which == 'high' else bounds.ge}")
    big = which == "high"
    text = TINY.replace("capability: 1.0,", f"capability: {1000 if big else 0.001},")
    text = text.replace("capability: 0.5}", f"capability: {1000 if big else '1.0e-300'}}}")
    text = text.replace("intensity: 0.5", f"intensity: {100 if big else 0.001}")
    text = text.replace(
        "resolve: 0.8",
        f"resolve: 0.8, optimism: {1 if big else -1}, "
        f"willingness_bias: {100 if big else -100}, cost_sensitivity: {100 if big else 0}",
    )
    return text.replace("variants:", "parameters:\n" + "\n".join(lines) + "\nvariants:")


@pytest.mark.slow
@pytest.mark.parametrize("which", ["high", "low"])
def test_runs_at_the_ends_of_every_range_write_finite_results(tmp_path: Path, which: str) -> None:
    """The ranges are what the model handles: no overflow warning, no NaN or infinity written."""
    scenario = tmp_path / "corner.yaml"
    scenario.write_text(_corner(which), encoding="utf-8")
    out = tmp_path / "out"
    result = negsim(
        "run", str(scenario), "--runs", "30", "--jobs", "1", "--out", str(out), timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "RuntimeWarning" not in result.stderr, result.stderr
    runs = pd.read_csv(out / "runs.csv")
    numbers = runs.select_dtypes("number")
    assert np.isfinite(numbers.fillna(0).to_numpy()).all()
    documented_empty = {
        "settlement",
        "agreement_week",
        "agreement_date",
        "bargaining_range_at_talks",
        "bargaining_range_mean_talks",
        "opposition_cohesion_at_talks",
        "opposition_cohesion_mean_talks",
    }
    assert set(runs.columns[runs.isna().any()]) <= documented_empty
    series = pd.read_csv(out / "timeseries.csv")
    values = series[["mean", "p05", "p25", "p50", "p75", "p95"]].to_numpy()
    assert np.isfinite(values).all()


# ------------------------------------------------- the last line of defence


def test_results_refuse_an_undocumented_nan_or_any_infinity() -> None:
    from negsim.results.tables import runs_rows, summary_frame
    from negsim.scenario.schema import RUN_METRICS

    scenario = load_scenario(Path(__file__).parents[2] / "scenarios" / "geneva3.yaml").scenario
    outcomes = {name: np.zeros(3) for name in RUN_METRICS}
    outcomes["settlement"] = np.array([np.nan, 0.5, np.nan])  # documented: empty, no deal
    outcomes["agreement_week"] = np.array([np.nan, 4.0, np.nan])
    assert len(runs_rows("base", scenario, outcomes)) == 3
    for name, value in (("value_government", math.nan), ("settlement", math.inf)):
        broken = dict(outcomes)
        broken[name] = np.array([0.0, value, 0.0])
        with pytest.raises(ResultsError) as caught:
            runs_rows("base", scenario, broken, first=10)
        message = str(caught.value)
        assert message.startswith(f"runs.csv: {name} holds ") and "first at 11" in message
        assert "\n" not in message
    with (
        np.errstate(invalid="ignore"),  # numpy's percentile of an infinity
        pytest.raises(ResultsError, match="timeseries.csv: capability.regime holds infinity"),
    ):
        summary_frame(
            "base",
            ["capability.regime"],
            [scenario.calendar.start],
            lambda m, w: np.array([np.inf, 1.0]),
        )


# ------------------------------------------------------------- the Python API


@pytest.mark.parametrize("argument", [None, 123, b"scenarios/geneva3.yaml", ""])
def test_load_scenario_names_a_bad_argument(argument: object) -> None:
    with pytest.raises(UsageError, match="^scenario path: ") as caught:
        load_scenario(argument)  # type: ignore[arg-type]
    assert "\n" not in str(caught.value)

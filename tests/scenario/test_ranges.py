"""Every number of a scenario has a range, and `negsim validate` holds it.

Property tests over the ranges the schema declares (`distributions.Bounds`):
any finite value inside validates; any value outside, infinity or NaN is
refused with one line at the value's own line; a value too small to tell
from 0 reads as 0. The same ranges hold for a variant's `set:` and both ends
of an `uncertain:` range.
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from negsim.errors import ScenarioError
from negsim.scenario import load
from negsim.scenario.distributions import TINY, Bounds
from negsim.scenario.schema import Government, Parameters

BASE: dict[str, Any] = {
    "name": "ranges",
    "calendar": {"start": "2020-01-06", "end": "2020-12-27"},
    "issue": {"name": "transition"},
    "actors": {
        "regime": {"kind": "government", "capability": 1.0},
        "coalition": {"kind": "opposition"},
        "rebels": {"kind": "faction", "coalition": "coalition", "capability": 0.5},
    },
    "regions": {"capital": {"control": {"regime": 0.8, "rebels": 0.2}}},
}


def _bounded(model: Any) -> dict[str, Bounds]:
    found = {}
    for name, field in model.model_fields.items():
        bounds = next((m for m in field.metadata if isinstance(m, Bounds)), None)
        if bounds is not None and bounds.ge is not None and bounds.le is not None:
            found[name] = bounds
    return found


# Every bounded number of `parameters` and of the government, by its path.
FIELDS: dict[tuple[str, ...], Bounds] = {
    **{("parameters", name): b for name, b in _bounded(Parameters).items()},
    **{("actors", "regime", name): b for name, b in _bounded(Government).items()},
}
PATHS = sorted(FIELDS)


def _with(path: tuple[str, ...], value: Any) -> dict[str, Any]:
    data = yaml.safe_load(yaml.safe_dump(BASE))
    node = data
    for part in path[:-1]:
        node = node.setdefault(part, {})
    node[path[-1]] = value
    return data


def _load(data: dict[str, Any]) -> Any:
    with tempfile.TemporaryDirectory() as folder:
        file = Path(folder) / "s.yaml"
        file.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
        try:
            return load(file)
        except ScenarioError as error:
            return [str(p) for p in error.problems]


def _value_at(scenario_file: Any, path: tuple[str, ...]) -> Any:
    node: Any = scenario_file.scenario
    for part in path:
        node = node[part] if isinstance(node, dict) else getattr(node, part)
    return node


def test_every_number_of_the_model_is_bounded() -> None:
    """No number of the world is open-ended: the model's laws get values they handle."""
    open_ended = [
        f"{model.__name__}.{name}"
        for model in (Parameters, Government)
        for name, field in model.model_fields.items()
        for bounds in [next((m for m in field.metadata if isinstance(m, Bounds)), None)]
        if bounds is not None and (bounds.ge is None or bounds.le is None)
    ]
    assert not open_ended
    assert len(PATHS) > 50


SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(st.sampled_from(PATHS), st.floats(0, 1))
def test_any_value_inside_the_range_validates(path: tuple[str, ...], share: float) -> None:
    bounds = FIELDS[path]
    assert bounds.ge is not None and bounds.le is not None
    value = bounds.ge + (bounds.le - bounds.ge) * share
    if path[-1] == "spinup_weeks":
        value = round(value)
    loaded = _load(_with(path, value))
    assert not isinstance(loaded, list), loaded
    expected = 0.0 if abs(value) < TINY else value
    assert _value_at(loaded, path) == pytest.approx(expected, rel=1e-12, abs=0)


@SETTINGS
@given(
    st.sampled_from(PATHS),
    st.one_of(
        st.floats(min_value=1e-6, max_value=1e308),
        st.sampled_from([math.inf, math.nan, 1e308]),
    ),
    st.booleans(),
)
def test_any_value_outside_the_range_is_one_line(
    path: tuple[str, ...], beyond: float, below: bool
) -> None:
    bounds = FIELDS[path]
    assert bounds.ge is not None and bounds.le is not None
    if math.isfinite(beyond):
        value = bounds.ge - beyond if below else bounds.le + beyond
        if value in (bounds.ge, bounds.le):  # lost in rounding at this magnitude
            return
    else:
        value = -beyond if below else beyond
    problems = _load(_with(path, value))
    assert isinstance(problems, list), f"{path}={value} validated"
    dotted = ".".join(path)
    assert len(problems) == 1, problems
    assert f": {dotted}: " in problems[0], problems


@pytest.mark.parametrize("tiny", [5e-324, -5e-324, 1e-300, 1e-10])
def test_a_tiny_number_reads_as_zero(tiny: float) -> None:
    loaded = _load(_with(("actors", "rebels", "capability"), tiny))
    assert _value_at(loaded, ("actors", "rebels", "capability")) == 0.0
    uniform = {"uniform": {"low": abs(tiny), "high": 0.5}}
    drawn = _load(_with(("actors", "regime", "resolve"), uniform))
    assert drawn.scenario.actors["regime"].resolve.uniform.low == 0.0


def test_a_tiny_strategic_value_is_refused_not_zero() -> None:
    data = _with(("regions", "capital", "strategic_value"), 5e-324)
    (problem,) = _load(data)
    assert "regions.capital.strategic_value: " in problem and "greater than 0" in problem


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("actors", "regime", "capability"), 1.0e308),
        (("parameters", "attrition_rate"), 1.0e308),
        (("parameters", "fighting_noise"), ".inf"),
        (("regions", "capital", "population"), ".nan"),
        (("issue", "compromise"), [0.2, ".inf"]),
    ],
)
def test_the_probe_values_are_refused(path: tuple[str, ...], value: Any) -> None:
    data = _with(path, value)
    text = yaml.safe_dump(data, sort_keys=False).replace("'.inf'", ".inf").replace("'.nan'", ".nan")
    with tempfile.TemporaryDirectory() as folder:
        file = Path(folder) / "s.yaml"
        file.write_text(text, encoding="utf-8")
        with pytest.raises(ScenarioError) as caught:
            load(file)
    lines = [str(p) for p in caught.value.problems]
    assert len(lines) == 1 and ".".join(path[:3]) in lines[0], lines


def test_variant_set_and_uncertain_ends_obey_the_same_ranges() -> None:
    data = _with(("variants",), {"huge": {"set": {"actors.regime.capability": 1e308}}})
    (problem,) = _load(data)
    assert "variants.huge -> actors.regime.capability: must be <= 1000.0" in problem
    data = _with(
        ("uncertain",), {"parameters.attrition_rate": {"uniform": {"low": 0.0, "high": 1e308}}}
    )
    (problem,) = _load(data)
    assert "uncertain.parameters.attrition_rate: the range reaches 1e+308" in problem
    data = _with(("parameters", "attrition_rate"), {"normal": {"mean": 0.01, "sd": 0.01}})
    (problem,) = _load(data)  # an unbounded normal leaves any range
    assert "parameters.attrition_rate: must be >= 0.0 over its whole range" in problem


def test_a_calendar_longer_than_the_limit_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    data = _with(("calendar", "end"), "2999-12-31")
    (problem,) = _load(data)
    assert "calendar.end: the calendar spans 51,134 weeks, more than the 5,218" in problem
    assert "NEGSIM_MAX_WEEKS" in problem
    century = _with(("calendar", "end"), "2119-12-25")  # 5,218 weeks: the longest accepted
    assert not isinstance(_load(century), list)
    monkeypatch.setenv("NEGSIM_MAX_WEEKS", "60000")
    assert not isinstance(_load(data), list)

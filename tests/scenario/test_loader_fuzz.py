"""Fuzzing the scenario loader: any input ends as a scenario or as a ScenarioError.

Mutations of geneva3.yaml (its data and its text) must never raise anything
but :class:`negsim.errors.ScenarioError`, and every problem it carries must
render as one line ``FILE[:LINE]: ...``. Crashes found here are kept as
explicit regression tests at the end of this module.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from negsim.errors import ScenarioError
from negsim.scenario import load
from negsim.scenario.loader import ScenarioFile

ROOT = Path(__file__).resolve().parents[2]
GENEVA3 = ROOT / "scenarios" / "geneva3.yaml"
RIPENESS = ROOT / "scenarios" / "ripeness.yaml"
TEXT = GENEVA3.read_text(encoding="utf-8")
DATA = yaml.safe_load(TEXT)

PROBLEM_LINE = re.compile(r"^[^:]+(:\d+)?: ")
FUZZ = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def check_outcome(path: Path) -> ScenarioFile | ScenarioError:
    """Load ``path``; fail the test on anything but a scenario or a well-formed ScenarioError."""
    try:
        return load(path)
    except ScenarioError as error:
        assert error.problems, "a ScenarioError without problems"
        for problem in error.problems:
            text = str(problem)
            assert "\n" not in text and "\r" not in text, f"problem spans lines: {text!r}"
            assert PROBLEM_LINE.match(text), f"badly formed problem: {text!r}"
            assert problem.line is None or problem.line >= 1, text
        return error


def load_text(text: str | bytes, name: str = "geneva3.yaml") -> ScenarioFile | ScenarioError:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")
        return check_outcome(path)


def load_data(data: Any) -> ScenarioFile | ScenarioError:
    return load_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))


# ------------------------------------------------------------------ strategies

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(["", "base", "regime", "2016-02-30", "yes", "~", "0x1F", ".inf", "1e999"]),
    st.dates(min_value=dt.date(1, 1, 1)),
)
values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.text(max_size=10), children, max_size=4),
    ),
    max_leaves=12,
)


def other_type_than(old: Any) -> st.SearchStrategy[Any]:
    return values.filter(lambda value: type(value) is not type(old))


def paths(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in the data: mapping keys and list indexes, depth first."""
    found = [prefix] if prefix else []
    if isinstance(data, dict):
        for key, value in data.items():
            found += paths(value, prefix + (key,))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            found += paths(value, prefix + (index,))
    return found


def _get(data: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        data = data[part]
    return data


OPERATIONS = ("swap_type", "drop", "rename", "out_of_range", "replace")


@st.composite
def mutated_data(draw: st.DrawFn) -> Any:
    """geneva3's data with one to five mutations."""
    import copy

    data = copy.deepcopy(DATA)
    for _ in range(draw(st.integers(min_value=1, max_value=5))):
        operation = draw(st.sampled_from(OPERATIONS))
        where = paths(data)
        if not where:
            break
        if operation == "out_of_range":
            numbers = [
                p
                for p in where
                if isinstance(_get(data, p), int | float) and not isinstance(_get(data, p), bool)
            ]
            if not numbers:
                continue
            path = draw(st.sampled_from(numbers))
            old = _get(data, path)
            new = draw(
                st.sampled_from(
                    [-old - 1, old + 10, old * 1e6, -1e-9, 1.0000001, 2, -(10**30), 10**30]
                )
                | st.sampled_from([math.nan, math.inf, -math.inf])
            )
            _get(data, path[:-1])[path[-1]] = new
            continue
        path = draw(st.sampled_from(where))
        parent = _get(data, path[:-1])
        key = path[-1]
        if operation == "drop":
            del parent[key]
        elif operation == "rename" and isinstance(parent, dict):
            old_key = str(key)
            new_key = draw(
                st.sampled_from(
                    [old_key[:-1], old_key + "s", old_key.upper(), old_key[::-1], "x" + old_key]
                )
                | st.text(max_size=12)
            )
            value = parent.pop(key)
            parent[new_key] = value
        elif operation == "swap_type":
            parent[key] = draw(other_type_than(parent[key]))
        else:
            parent[key] = draw(values)
    return data


@st.composite
def mutated_text(draw: st.DrawFn) -> str | bytes:
    """geneva3's text truncated, with garbage inserted, or lines shuffled about."""
    text = TEXT
    operation = draw(st.sampled_from(["truncate", "insert_text", "insert_bytes", "lines"]))
    if operation == "truncate":
        return text[: draw(st.integers(min_value=0, max_value=len(text)))]
    if operation == "insert_text":
        for _ in range(draw(st.integers(min_value=1, max_value=4))):
            at = draw(st.integers(min_value=0, max_value=len(text)))
            garbage = draw(
                st.text(max_size=8)
                | st.sampled_from(
                    ["\t", ": ", "- ", "{", "]", "&a ", "*a", "!!", "<<: ", "\x01", "\ufeff", "%"]
                )
            )
            text = text[:at] + garbage + text[at:]
        return text
    if operation == "insert_bytes":
        raw = text.encode("utf-8")
        at = draw(st.integers(min_value=0, max_value=len(raw)))
        return raw[:at] + draw(st.binary(min_size=1, max_size=8)) + raw[at:]
    lines = text.splitlines(keepends=True)
    index = draw(st.integers(min_value=0, max_value=len(lines) - 1))
    change = draw(st.sampled_from(["delete", "duplicate", "dedent", "indent"]))
    if change == "delete":
        del lines[index]
    elif change == "duplicate":
        lines.insert(index, lines[index])
    elif change == "dedent":
        lines[index] = lines[index].lstrip(" ")
    else:
        lines[index] = "  " + lines[index]
    return "".join(lines)


# ------------------------------------------------------------------ properties


@pytest.mark.slow
@FUZZ
@given(mutated_data())
def test_mutated_data_loads_or_reports(data: Any) -> None:
    load_data(data)


@pytest.mark.slow
@FUZZ
@given(mutated_text())
def test_mutated_text_loads_or_reports(text: str | bytes) -> None:
    load_text(text)


@FUZZ
@given(values | st.text(max_size=200) | st.binary(max_size=200))
def test_random_yaml_loads_or_reports(document: Any) -> None:
    if isinstance(document, str | bytes):
        load_text(document)
    else:
        load_data(document)


@pytest.mark.slow
@FUZZ
@given(mutated_text())
def test_mutated_parent_of_an_extends_chain(text: str | bytes) -> None:
    """ripeness.yaml extends geneva3.yaml: a broken parent never crashes the child."""
    with tempfile.TemporaryDirectory() as folder:
        parent = Path(folder) / "geneva3.yaml"
        if isinstance(text, bytes):
            parent.write_bytes(text)
        else:
            parent.write_text(text, encoding="utf-8")
        child = Path(folder) / "ripeness.yaml"
        child.write_text(RIPENESS.read_text(encoding="utf-8"), encoding="utf-8")
        check_outcome(child)


@pytest.mark.slow
@FUZZ
@given(mutated_data())
def test_mutated_variants_and_events_of_a_child(data: Any) -> None:
    """The same mutations in a child file that extends geneva3.yaml (merging by id)."""
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "parent.yaml").write_text(TEXT, encoding="utf-8")
        child = {"extends": "parent.yaml", "name": "child"}
        if isinstance(data, dict):
            for key in ("events", "variants", "actors", "hypotheses"):
                if key in data:
                    child[key] = data[key]
        path = Path(folder) / "child.yaml"
        path.write_text(yaml.safe_dump(child, sort_keys=False), encoding="utf-8")
        check_outcome(path)


# ------------------------------------------------------------------ regressions
# Inputs that crashed the loader (or gave a problem spanning lines) before it was
# fixed; each now gives well-formed problems.

REGRESSIONS: dict[str, tuple[str, str, str]] = {
    # name: (text in geneva3.yaml, replacement, a phrase of the expected problem)
    "impossible date": ("date: 2015-12-25", "date: 2015-12-32", "unsupported value"),
    "february 30": ("date: 2015-12-25", "date: 2016-02-30", "day is out of range"),
    "bad explicit int": ("capability: 0.3 ", "capability: !!int abc ", "unsupported value"),
    "bad explicit bool": ("capability: 0.3 ", "capability: !!bool maybe ", "unsupported value"),
    "bad explicit timestamp": (
        "capability: 0.3 ",
        "capability: !!timestamp soon ",
        "unsupported value",
    ),
    "control character": ("name: geneva3", "name: gene\x01va3", "is not allowed in YAML"),
    "recursive alias": ("name: geneva3", "name: geneva3\nloop: &a [*a]", "nested more than"),
    "remove_events not a list": (
        "remove_events: [alloush_killed]",
        "remove_events: 3",
        "Input should be a valid list",
    ),
    "move_events a list": (
        "remove_events: [alloush_killed]",
        "move_events: [alloush_killed]",
        "Input should be a valid dictionary",
    ),
    "set a list": (
        "remove_events: [alloush_killed]",
        "set: [x]",
        "Input should be a valid dictionary",
    ),
    "add_events a number": (
        "remove_events: [alloush_killed]",
        "add_events: 7",
        "Input should be a valid list",
    ),
    "events a number with variants": ("events:\n", "events: 3\nold_events:\n", "valid list"),
    "event type a list": (
        "type: negotiation_round",
        "type: [negotiation_round]",
        "unknown type",
    ),
    "coalition a list": ("coalition: opposition", "coalition: [opposition]", "valid string"),
    "adjacent holds a list": ("adjacent: [rif_dimashq]", "adjacent: [[rif_dimashq]]", "string"),
    "region a mapping": ("region: hama", "region: {a: 1}", "valid string"),
    "leader a list": ("leader: zahran_alloush", "leader: [zahran_alloush]", "valid string"),
    "integer too large for a float": ("resolve: 0.8 ", "resolve: 1" + "0" * 400 + " ", "must be"),
    "extends with a NUL": ("name: geneva3", 'extends: "a\\0b"\nname: geneva3', "extends"),
    "extends too long": ("name: geneva3", "extends: " + "a" * 5000 + "\nname: geneva3", "extends"),
    "key with a newline": ("name: geneva3", 'name: geneva3\n"a\\nb": 1', "unknown key"),
    "kind with a newline": ("kind: mediator", 'kind: "medi\\nator"', "unknown kind"),
}


@pytest.mark.parametrize("name", list(REGRESSIONS))
def test_regression(name: str) -> None:
    old, new, phrase = REGRESSIONS[name]
    assert old in TEXT, f"{name}: {old!r} is no longer in geneva3.yaml"
    outcome = load_text(TEXT.replace(old, new, 1))
    assert isinstance(outcome, ScenarioError), name
    assert any(phrase in str(p) for p in outcome.problems), "\n".join(map(str, outcome.problems))


def test_regression_deep_nesting() -> None:
    outcome = load_text("name: x\nvalue: " + "[" * 5000 + "]" * 5000 + "\n")
    assert isinstance(outcome, ScenarioError)
    assert "nested too deeply" in str(outcome)


def test_regression_alias_expansion_is_bounded() -> None:
    """A 'billion laughs' document is reported, not expanded (it would need ~10^9 values)."""
    lines = ["name: laughs", "a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for level in range(1, 9):
        refs = ", ".join([f"*a{level - 1}"] * 10)
        lines.append(f"a{level}: &a{level} [{refs}]")
    outcome = load_text("\n".join(lines) + "\n")
    assert isinstance(outcome, ScenarioError)
    assert "aliases expanding" in str(outcome)


def test_regression_event_id_a_list_when_merging() -> None:
    """A child event whose id is not text used to crash the merge by id."""
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "geneva3.yaml").write_text(TEXT, encoding="utf-8")
        child = Path(folder) / "child.yaml"
        child.write_text(
            "extends: geneva3.yaml\nname: child\nevents:\n  - id: [geneva3]\n    type: ceasefire\n",
            encoding="utf-8",
        )
        outcome = check_outcome(child)
    assert isinstance(outcome, ScenarioError)
    assert any(p.file == str(child) and p.line == 4 for p in outcome.problems), outcome

"""The `uncertain` block: paths that name nothing, ranges a parameter refuses, ranges that
leave out the scenario's own value (a warning), and the walk that lists every parameter."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from negsim.errors import ScenarioError
from negsim.scenario import load
from negsim.scenario.loader import apply_set, set_in_copy
from negsim.scenario.uncertain import ANALYSIS_BLOCKS, parameter_paths, sweep_range

ROOT = Path(__file__).resolve().parents[2]
GENEVA3 = ROOT / "scenarios" / "geneva3.yaml"


def child(tmp_path: Path, *entries: str) -> tuple[Path, str]:
    text = f"extends: {GENEVA3}\nname: child\nuncertain:\n" + "".join(
        f"  {entry}\n" for entry in entries
    )
    path = tmp_path / "child.yaml"
    path.write_text(text, encoding="utf-8")
    return path, text


def line_of(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), start=1) if needle in line)


def problems(path: Path) -> list[str]:
    with pytest.raises(ScenarioError) as caught:
        load(path)
    return [str(p) for p in caught.value.problems]


def test_misspelt_path_is_located_with_a_suggestion(tmp_path: Path) -> None:
    path, text = child(tmp_path, "actors.regime.resolv: {uniform: {low: 0.6, high: 0.9}}")
    found = problems(path)
    line = line_of(text, "resolv:")
    assert found == [
        f"{path}:{line}: uncertain.actors.regime.resolv: path names no parameter of this "
        "scenario; did you mean 'actors.regime.resolve'?"
    ]


def test_event_path_by_id_with_a_suggestion(tmp_path: Path) -> None:
    path, _ = child(
        tmp_path, "events.russian_intervention.intensty: {uniform: {low: 0.3, high: 0.9}}"
    )
    (found,) = problems(path)
    assert "did you mean 'events.russian_intervention.intensity'?" in found


@pytest.mark.parametrize(
    ("entry", "phrase"),
    [
        ("actors.regime.name: {uniform: {low: 0.1, high: 0.2}}", "names text, not a number"),
        ("actors.regime: {uniform: {low: 0.1, high: 0.2}}", "names a mapping, not a number"),
        (
            "actors.un.leverage: {uniform: {low: 0.5, high: 1.2}}",
            "reaches 1.2, which actors.un.leverage does not accept",
        ),
        ("parameters.hardline_margin: 0.1", "give a range or distribution that varies"),
        ("experiment.runs: {uniform: {low: 10, high: 20}}", "describes the analysis"),
    ],
)
def test_unusable_entries_are_errors(tmp_path: Path, entry: str, phrase: str) -> None:
    path, text = child(tmp_path, entry)
    (found,) = problems(path)
    key = entry.split(":", 1)[0]
    assert found.startswith(f"{path}:{line_of(text, key + ':')}: uncertain.{key}: ")
    assert phrase in found


def test_defaults_and_unset_fields_and_distribution_arguments_are_sweepable(tmp_path: Path) -> None:
    path, _ = child(
        tmp_path,
        "actors.regime.optimism: {uniform: {low: 0.0, high: 0.1}}",  # written, in range
        "actors.opposition.optimism: {uniform: {low: 0.0, high: 0.1}}",
        "parameters.hardline_margin: {uniform: {low: 0.0, high: 0.3}}",  # left at its default
        "events.russian_drawdown.duration_weeks: {uniform: {low: 4, high: 20}}",  # unset: to the end
        "parameters.belief_noise.uniform.high: {uniform: {low: 0.05, high: 0.08}}",
    )
    scenario_file = load(path)
    assert scenario_file.warnings == ()


def test_range_leaving_out_the_base_value_is_a_located_warning(tmp_path: Path) -> None:
    path, text = child(tmp_path, "actors.regime.resolve: {uniform: {low: 0.85, high: 0.95}}")
    scenario_file = load(path)
    (warning,) = (str(w) for w in scenario_file.warnings)
    assert warning == (
        f"{path}:{line_of(text, 'resolve:')}: uncertain.actors.regime.resolve: the range "
        "[0.85, 0.95] does not contain the scenario's value 0.8: a sweep never visits the "
        "scenario as written"
    )


def test_parameter_paths_list_numbers_of_the_world_only(geneva3) -> None:
    paths = parameter_paths(geneva3.scenario.model_dump())
    assert paths["actors.regime.resolve"] == 0.8
    assert paths["events.russian_intervention.intensity"] == 0.3
    assert paths["leaders.zahran_alloush.successor.cohesion_shock"] == 0.25
    assert "parameters.hardline_margin" in paths  # a default, not written in the file
    assert paths["parameters.belief_noise"] == {"uniform": {"low": 0.02, "high": 0.06}}
    assert not any(p.split(".")[0] in ANALYSIS_BLOCKS for p in paths)
    assert "events.russian_drawdown.duration_weeks" not in paths  # unset
    with_unset = parameter_paths(geneva3.scenario.model_dump(), include_unset=True)
    assert with_unset["events.russian_drawdown.duration_weeks"] is None


def test_sweep_range_of_an_unbounded_normal_is_its_central_999_per_mille() -> None:
    low, high = sweep_range({"normal": {"mean": 1.0, "sd": 0.1}})
    assert low == pytest.approx(1.0 - 0.309, abs=1e-3)
    assert high == pytest.approx(1.0 + 0.309, abs=1e-3)
    assert sweep_range({"uniform": {"low": 0.2, "high": 0.6}}) == (0.2, 0.6)


# ------------------------------------------------------- list elements by id


def chain(tmp_path: Path, extra: str) -> tuple[Path, str]:
    """test_format's CHAIN (a leader with the named successors `second` and `third`) plus ``extra``."""
    from test_format import CHAIN

    text = CHAIN + extra
    path = tmp_path / "chain.yaml"
    path.write_text(text, encoding="utf-8")
    return path, text


SECOND = "leaders.founder.successors.second.moderation"


def test_a_named_successor_is_swept_by_id(tmp_path: Path) -> None:
    from negsim.run.sweep import point_scenarios

    path, _ = chain(tmp_path, f"uncertain:\n  {SECOND}: {{uniform: {{low: 0.1, high: 0.9}}}}\n")
    scenario_file = load(path)
    assert scenario_file.warnings == ()
    assert parameter_paths(scenario_file.scenario.model_dump())[SECOND] == 0.8
    (edited,) = point_scenarios(scenario_file.scenario, {SECOND: 0.3}, ["base"]).values()
    second, third = edited.leaders["founder"].successors
    assert (second.id, second.moderation, third.id, third.authority) == (
        "second",
        0.3,
        "third",
        0.9,
    )


@pytest.mark.parametrize(
    ("written", "hint"),
    [
        # The successor written as a leader: the same person, his path in full.
        ("leaders.second.moderation", f"; did you mean {SECOND!r}?"),
        # A place in the list: the element there, by id (never `successor.moderation`,
        # the drawn successors' number).
        (
            "leaders.founder.successors.0.moderation",
            f": list elements are addressed by id, not by place; did you mean {SECOND!r}?",
        ),
        ("leaders.founder.successors.secnd.moderation", f"; did you mean {SECOND!r}?"),
        # An unknown leader: no other leader's field is offered in his place.
        ("leaders.nobody.moderation", ""),
        ("leaders.founder.successors.9.moderation", ""),
    ],
)
def test_a_wrong_path_is_only_hinted_with_a_path_of_the_same_kind(
    tmp_path: Path, written: str, hint: str
) -> None:
    path, text = chain(tmp_path, f"uncertain:\n  {written}: {{uniform: {{low: 0.1, high: 0.9}}}}\n")
    assert problems(path) == [
        f"{path}:{line_of(text, written)}: uncertain.{written}: path names no parameter of "
        f"this scenario{hint}"
    ]


def test_a_variant_sets_one_field_of_a_named_successor_and_keeps_the_others(
    tmp_path: Path,
) -> None:
    set_third = "leaders.founder.successors.third.moderation"
    path, _ = chain(tmp_path, f"  tweak:\n    set:\n      {set_third}: 0.1\n")
    second, third = load(path).variant("tweak").leaders["founder"].successors
    assert (second.moderation, third.moderation, third.authority) == (0.8, 0.1, 0.9)


@pytest.mark.parametrize(
    ("written", "message"),
    [
        (
            "leaders.founder.successors.1.moderation",
            "no element with id '1' in leaders.founder.successors: list elements are addressed "
            "by id, not by place; element 1 is 'third'",
        ),
        (
            "leaders.founder.successors.thrid.moderation",
            "no element with id 'thrid' in leaders.founder.successors; did you mean 'third'?",
        ),
        (
            "leaders.founder.successors.third",
            "name a field of the element, e.g. leaders.founder.successors.third.authority",
        ),
        ("events.vot.date", "no event with id 'vot'; did you mean 'vote'?"),
    ],
)
def test_a_variant_path_to_no_element_says_how_elements_are_named(
    tmp_path: Path, written: str, message: str
) -> None:
    path, text = chain(tmp_path, f"  tweak:\n    set:\n      {written}: 0.1\n")
    assert problems(path) == [
        f"{path}:{line_of(text, written)}: variants.tweak.set.{written}: {message}"
    ]


# ------------------------------------------------------ one root, no consequences


def test_one_bad_event_is_one_error_at_its_own_file_not_one_per_uncertain_entry(
    tmp_path: Path,
) -> None:
    """geneva3's `uncertain` block has 26 entries; each would "break the scenario" at both
    ends of its range while the child's event names an unknown actor."""
    parent = tmp_path / "middle.yaml"
    parent.write_text(
        f"extends: {GENEVA3}\nname: middle\nuncertain:\n"
        "  actors.regime.resolv: {uniform: {low: 0.6, high: 0.9}}\n",
        encoding="utf-8",
    )
    text = (
        "extends: middle.yaml\nname: child\nevents:\n"
        "  - {id: push, type: escalation, date: 2016-01-04, actor: nobody, intensity: 0.5}\n"
    )
    path = tmp_path / "child.yaml"
    path.write_text(text, encoding="utf-8")
    event, entry = problems(path)
    assert event.startswith(
        f"{path}:{line_of(text, 'nobody')}: events.push.actor: unknown government or faction "
        "or spoiler 'nobody'"
    )
    assert entry.startswith(f"{parent}:4: uncertain.actors.regime.resolv: path names no ")


def test_a_range_that_breaks_the_scenario_alone_is_still_reported(tmp_path: Path) -> None:
    """The suppression is of the standing problem only: a range whose end breaks a valid
    scenario is an error at its entry."""
    path, text = chain(
        tmp_path,
        "uncertain:\n  regions.north.control.gov: {uniform: {low: 0.5, high: 0.7}}\n",
    )
    assert problems(path) == [
        f"{path}:{line_of(text, 'control.gov')}: uncertain.regions.north.control.gov: setting "
        "regions.north.control.gov to 0.5 breaks the scenario: shares must sum to 1 (got 0.9)"
    ]


def test_a_value_a_named_successor_refuses_is_reported_at_the_set_line(tmp_path: Path) -> None:
    written = "leaders.founder.successors.third.moderation"
    path, text = chain(tmp_path, f"  tweak:\n    set:\n      {written}: 1.5\n")
    assert problems(path) == [
        f"{path}:{line_of(text, written)}: variants.tweak -> {written}: must be <= 1.0 (got 1.5)"
    ]


def test_a_successor_of_a_leader_without_successors_is_named_as_missing(tmp_path: Path) -> None:
    written = "leaders.zahran_alloush.successors.1.moderation"
    text = f"extends: {GENEVA3}\nname: child\nvariants:\n  heir:\n    set:\n      {written}: 0.3\n"
    path = tmp_path / "child.yaml"
    path.write_text(text, encoding="utf-8")
    assert problems(path) == [
        f"{path}:{line_of(text, written)}: variants.heir.set.{written}: no element with id '1' "
        "in leaders.zahran_alloush.successors"
    ]


_GENEVA3_DATA = load(GENEVA3).scenario.model_dump()
_GENEVA3_PATHS = sorted(parameter_paths(_GENEVA3_DATA, include_unset=True))


@settings(max_examples=60, deadline=None)
@given(
    path=st.sampled_from(_GENEVA3_PATHS),
    value=st.floats(min_value=-1e3, max_value=1e3, allow_nan=False),
)
def test_set_in_copy_is_apply_set_on_a_deep_copy_and_leaves_the_data_alone(
    path: str, value: float
) -> None:
    # The range checks set each end of a range on a copy copied only along its path: the
    # result must read as a deep copy changed by apply_set, and the scenario stay as it was.
    before = copy.deepcopy(_GENEVA3_DATA)
    edited, problem = set_in_copy(_GENEVA3_DATA, path, value)
    expected = copy.deepcopy(_GENEVA3_DATA)
    assert problem == apply_set(expected, path, value)
    assert edited == expected
    assert before == _GENEVA3_DATA

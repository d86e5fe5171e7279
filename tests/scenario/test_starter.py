"""`negsim new`'s starter scenario: every section, valid, runnable, never over a file."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from negsim.errors import NegsimError, UsageError
from negsim.scenario import load
from negsim.scenario.starter import scenario_name, write_starter

SECTIONS = (
    "name",
    "calendar",
    "issue",
    "actors",
    "leaders",
    "regions",
    "events",
    "variants",
    "hypotheses",
    "observed",
    "uncertain",
    "experiment",
)


def test_the_starter_has_every_section_and_validates_without_warnings(tmp_path: Path) -> None:
    path, name = write_starter("my-conflict", tmp_path / "my-conflict.yaml")
    assert name == "my_conflict"
    scenario_file = load(path)
    assert scenario_file.warnings == ()
    scenario = scenario_file.scenario
    assert scenario.name == "my_conflict"
    for section in SECTIONS:
        assert getattr(scenario, section), section
    kinds = {actor.kind for actor in scenario.actors.values()}
    assert kinds == {"government", "opposition", "faction", "spoiler", "patron", "mediator"}
    types = {event.type for event in scenario.events}
    assert {"negotiation_round", "leader_removal", "government_change", "referendum"} <= types
    assert scenario.leaders["commander"].successors[0].id == "deputy"
    assert "leaders.commander.successors.deputy.moderation" in scenario.uncertain
    assert set(scenario_file.variants) == {"base", *scenario.variants}
    # Every top-level key is commented on its line or above it.
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# my_conflict: a starter scenario")
    assert "negsim validate " + str(path) in text


@pytest.mark.slow
def test_the_starter_runs(tmp_path: Path) -> None:
    from negsim.api import run_experiment

    path, _ = write_starter("starter", tmp_path / "starter.yaml")
    import pandas as pd

    experiment = run_experiment(path, runs=30, out=tmp_path / "out", jobs=1)
    assert experiment.runs == 30
    assert set(pd.read_csv(tmp_path / "out" / "runs.csv")["variant"]) == {
        "base",
        "no_offensive",
        "commander_spared",
        "moderate_deputy",
    }
    assert len(experiment.hypotheses) == 4  # two hypotheses, two metrics each


@pytest.mark.parametrize(
    ("typed", "name"),
    [("aceh", "aceh"), ("my-variant", "my_variant"), ("peace_2016", "peace_2016")],
)
def test_names_may_hold_hyphens(typed: str, name: str) -> None:
    assert scenario_name(typed) == name
    assert scenario_name(typed + ".yaml") == name


@pytest.mark.parametrize(
    ("typed", "example"),
    [("9lives", "'lives'"), ("My Conflict", "'my_conflict'"), ("--", "'my_conflict'")],
)
def test_a_name_that_cannot_be_one_says_how_to_name_it(typed: str, example: str) -> None:
    with pytest.raises(UsageError) as caught:
        scenario_name(typed)
    message = str(caught.value)
    assert "String should match pattern" not in message
    assert message == (
        f"NAME: {typed!r} cannot name a scenario: use lower-case letters, digits, hyphens and "
        f"underscores, starting with a letter, e.g. {example}"
    )


def test_an_existing_file_is_never_replaced(tmp_path: Path) -> None:
    mine = tmp_path / "mine.yaml"
    mine.write_text("my own notes\n", encoding="utf-8")
    with pytest.raises(NegsimError, match="exists; negsim new never replaces a file"):
        write_starter("mine", mine)
    assert mine.read_text(encoding="utf-8") == "my own notes\n"
    assert os.listdir(tmp_path) == ["mine.yaml"]  # no temporary left beside it


def test_the_default_file_is_name_yaml_in_the_current_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    path, _ = write_starter("my-variant")
    assert path == Path("my-variant.yaml") and (tmp_path / "my-variant.yaml").is_file()
    assert os.listdir(tmp_path) == ["my-variant.yaml"]


def test_name_may_be_a_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "scenarios").mkdir()
    path, name = write_starter("scenarios/my-variant")
    assert (path, name) == (Path("scenarios/my-variant.yaml"), "my_variant")
    assert load(path).scenario.name == "my_variant"


def test_a_missing_folder_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(NegsimError, match=r"no such folder \(create it first"):
        write_starter("x", tmp_path / "absent" / "x.yaml")

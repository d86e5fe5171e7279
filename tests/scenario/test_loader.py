"""Loading scenario files: the bundled ones load; every kind of mistake is reported on its line.

Bad inputs are small edits of :data:`BASE`, a minimal valid scenario. Each
expected problem is checked by its exact ``FILE:LINE: path:`` prefix (the line
found from the edited text, not hard-coded) and a key phrase of its message.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from negsim.cli import main
from negsim.errors import ScenarioError
from negsim.scenario import BASE as BASE_VARIANT
from negsim.scenario import load

ROOT = Path(__file__).resolve().parents[2]
GENEVA3 = ROOT / "scenarios" / "geneva3.yaml"
RIPENESS = ROOT / "scenarios" / "ripeness.yaml"
DECAPITATION = ROOT / "scenarios" / "decapitation.yaml"

BASE = """\
name: tiny
description: A minimal scenario for tests.
calendar:
  start: 2020-01-06
  end: 2020-06-28
issue:
  name: transition
actors:
  gov:
    kind: government
    capability: 1.0
  opp:
    kind: opposition
  rebels:
    kind: faction
    coalition: opp
    capability: 0.5
  backer:
    kind: patron
    client: gov
  envoy:
    kind: mediator
leaders:
  boss:
    faction: rebels
    ties:
      backer: 0.3
regions:
  north:
    adjacent: [south]
    control: {gov: 0.6, rebels: 0.4}
  south:
    control: {gov: 1.0}
events:
  - id: push
    type: offensive
    date: 2020-02-03
    actor: gov
    region: north
  - id: talks
    type: negotiation_round
    date: 2020-03-02
    mediator: envoy
  - id: strike
    type: leader_removal
    hazard: 0.01
    leader: boss
variants:
  no_push:
    remove_events: [push]
hypotheses:
  push_hurts_talks:
    metric: agreement
    treatment: base
    control: no_push
    expected: decrease
"""


def edit(old: str, new: str, text: str = BASE) -> str:
    assert text.count(old) == 1, f"{old!r} must occur once"
    return text.replace(old, new)


def line_of(text: str, needle: str, occurrence: int = 1) -> int:
    """1-based line of the ``occurrence``-th line holding ``needle``."""
    hits = [n for n, line in enumerate(text.splitlines(), start=1) if needle in line]
    assert len(hits) >= occurrence, f"{needle!r} not found {occurrence} time(s)"
    return hits[occurrence - 1]


def problems(path: Path) -> list[str]:
    """The problems ``load`` reports for ``path``, one string each (none: a failure)."""
    with pytest.raises(ScenarioError) as caught:
        load(path)
    lines = [str(p) for p in caught.value.problems]
    assert lines, "ScenarioError without problems"
    assert str(caught.value) == "\n".join(lines)
    return lines


def write(folder: Path, text: str | bytes, name: str = "s.yaml") -> Path:
    path = folder / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def assert_reported(found: list[str], prefix: str, phrase: str) -> None:
    matching = [p for p in found if p.startswith(prefix)]
    assert matching, f"no problem starts with {prefix!r}; got:\n" + "\n".join(found)
    assert any(phrase in p for p in matching), (
        f"{phrase!r} not in the problems at {prefix!r}:\n" + "\n".join(matching)
    )


# ---------------------------------------------------------------- valid files


def test_base_fixture_is_valid(tmp_path: Path) -> None:
    scenario_file = load(write(tmp_path, BASE))
    assert list(scenario_file.variants) == [BASE_VARIANT, "no_push"]
    assert [e.id for e in scenario_file.variant("no_push").events] == ["talks", "strike"]


def test_geneva3_loads_with_every_variant() -> None:
    scenario_file = load(GENEVA3)
    scenario = scenario_file.scenario
    assert scenario_file.name == "geneva3"
    assert list(scenario_file.variants) == [
        "base",
        "no_russian_escalation",
        "alloush_alive",
        "neither",
        "no_russian_air",
        "no_ground_offensives",
        "no_iranian_surge",
        "no_patron_resupply",
    ]
    assert len(scenario.actors) == 12
    assert {kind: len(scenario.actors_of(kind)) for kind in ("faction", "patron", "spoiler")} == {
        "faction": 3,
        "patron": 4,
        "spoiler": 2,
    }
    assert len(scenario.leaders) == 3
    assert len(scenario.regions) == 9
    assert len(scenario.events) == 19
    assert len(scenario.hypotheses) == 13
    assert len(scenario.uncertain) == 38
    assert scenario.weeks() == 47
    events = {name: len(s.events) for name, s in scenario_file.variants.items()}
    assert events == {
        "base": 19,
        "no_russian_escalation": 10,
        "alloush_alive": 18,
        "neither": 9,
        "no_russian_air": 17,
        "no_ground_offensives": 14,
        "no_iranian_surge": 18,
        "no_patron_resupply": 17,
    }
    # The record: conditions, inputs read back (describe) and out-of-sample checks (holdout).
    uses = [pattern.use for pattern in scenario.observed]
    assert uses.count("condition") == 4
    assert uses.count("describe") == 2
    assert uses.count("holdout") == 2
    assert all(not s.variants for name, s in scenario_file.variants.items() if name != "base")
    assert len(scenario_file.sha256) == 64


def test_ripeness_extends_geneva3() -> None:
    """The minimal Zartman rival: only the ripeness conditions differ from geneva3."""
    parent = load(GENEVA3).scenario
    scenario_file = load(RIPENESS)
    scenario = scenario_file.scenario
    assert scenario.name == "ripeness"
    assert list(scenario_file.variants) == list(load(GENEVA3).variants)
    assert scenario.actors["un"].leverage == 0.9  # type: ignore[union-attr]
    assert scenario.parameters.hurt_threshold == 0.008
    # Nothing else differs: actors but the mediator, every other parameter, events, record.
    assert {k: v for k, v in scenario.actors.items() if k != "un"} == {
        k: v for k, v in parent.actors.items() if k != "un"
    }
    assert scenario.parameters.model_copy(update={"hurt_threshold": 0.01}) == parent.parameters
    assert scenario.events == parent.events
    assert scenario.observed == parent.observed
    assert scenario.hypotheses == parent.hypotheses
    assert scenario.description != parent.description
    # Its own priors on its two values; geneva3's on everything else.
    assert set(scenario.uncertain) - set(parent.uncertain) == {"parameters.hurt_threshold"}
    changed = {k for k in parent.uncertain if scenario.uncertain[k] != parent.uncertain[k]}
    assert changed == {"actors.un.leverage"}


def test_decapitation_extends_geneva3() -> None:
    """The optimists' reading of leader removal: only the two decapitation values differ."""
    parent = load(GENEVA3).scenario
    scenario_file = load(DECAPITATION)
    scenario = scenario_file.scenario
    assert scenario.name == "decapitation"
    assert list(scenario_file.variants) == list(load(GENEVA3).variants)
    assert scenario.parameters.decapitation_moderation == 0.1
    assert scenario.parameters.decapitation_resolve == 0.1
    unchanged = {"decapitation_moderation": 0.0, "decapitation_resolve": 0.0}
    assert scenario.parameters.model_copy(update=unchanged) == parent.parameters
    assert scenario.actors == parent.actors
    assert scenario.events == parent.events
    assert scenario.hypotheses == parent.hypotheses
    changed = {k for k in parent.uncertain if scenario.uncertain[k] != parent.uncertain[k]}
    assert changed == {"parameters.decapitation_moderation", "parameters.decapitation_resolve"}
    assert set(scenario.uncertain) == set(parent.uncertain)


def test_distributions_are_parsed(tmp_path: Path) -> None:
    text = edit("    capability: 0.5\n", "    capability: {uniform: {low: 0.4, high: 0.6}}\n")
    scenario = load(write(tmp_path, text)).scenario
    drawn = scenario.actors["rebels"].capability  # type: ignore[union-attr]
    assert drawn.uniform.low == 0.4 and drawn.uniform.high == 0.6


# ------------------------------------------------------- one mistake, its line

# name: (old text, new text, needle on the expected line, path, key phrase)
MISTAKES: dict[str, tuple[str, str, str, str, str]] = {
    "unknown key": (
        "    capability: 0.5\n",
        "    capabilty: 0.5\n",
        "capabilty",
        "actors.rebels.capabilty",
        "unknown key 'capabilty'; did you mean 'capability'?",
    ),
    "unknown top-level key": (
        "issue:\n",
        "isue:\n",
        "isue:",
        "isue",
        "did you mean 'issue'?",
    ),
    "unknown event key": (
        "    mediator: envoy\n",
        "    mediator: envoy\n    duraton_weeks: 2\n",
        "duraton_weeks",
        "events.talks.duraton_weeks",
        "did you mean 'duration_weeks'?",
    ),
    "wrong type": (
        "    capability: 1.0\n",
        "    capability: lots\n",
        "capability: lots",
        "actors.gov.capability",
        "expected a number or a distribution (got 'lots')",
    ),
    "wrong type of a mapping": (
        "    adjacent: [south]\n",
        "    adjacent: south\n",
        "adjacent: south",
        "regions.north.adjacent",
        "valid list",
    ),
    "share out of range": (
        "      backer: 0.3\n",
        "      backer: 1.3\n",
        "backer: 1.3",
        "leaders.boss.ties.backer",
        "must be <= 1.0 (got 1.3)",
    ),
    "negative capability": (
        "    capability: 0.5\n",
        "    capability: -0.5\n",
        "capability: -0.5",
        "actors.rebels.capability",
        "must be >= 0.0 (got -0.5)",
    ),
    "distribution out of range": (
        "      backer: 0.3\n",
        "      backer: {uniform: {low: 0.5, high: 1.5}}\n",
        "backer: {uniform",
        "leaders.boss.ties.backer",
        "must be <= 1.0 over its whole range",
    ),
    "bad distribution": (
        "    capability: 0.5\n",
        "    capability: {uniform: {low: 2, high: 1}}\n",
        "capability: {uniform",
        "actors.rebels.capability",
        "uniform: high must be >= low",
    ),
    "unknown distribution": (
        "    capability: 0.5\n",
        "    capability: {gauss: {mean: 1, sd: 1}}\n",
        "capability: {gauss",
        "actors.rebels.capability",
        "unknown distribution 'gauss'",
    ),
    "bounded field out of range": (
        "    adjacent: [south]\n",
        "    adjacent: [south]\n    strategic_value: 0\n",
        "strategic_value",
        "regions.north.strategic_value",
        "greater than 0",
    ),
    "experiment out of range": (
        "variants:\n",
        "experiment:\n  runs: 0\nvariants:\n",
        "runs: 0",
        "experiment.runs",
        "greater than or equal to 1",
    ),
    "missing required field": (
        "    region: north\n",
        "",
        "- id: push",
        "events.push.region",
        "required field is missing",
    ),
    "missing kind": (
        "    kind: mediator\n",
        "    name: The envoy\n",
        "  envoy:",
        "actors.envoy",
        "missing 'kind'",
    ),
    "unknown kind": (
        "    kind: mediator\n",
        "    kind: mediater\n",
        "kind: mediater",
        "actors.envoy.kind",
        "unknown kind 'mediater'; did you mean 'mediator'?",
    ),
    "unknown event type": (
        "    type: offensive\n",
        "    type: ofensive\n",
        "type: ofensive",
        "events.push.type",
        "did you mean 'offensive'?",
    ),
    "leader of an unknown faction": (
        "    faction: rebels\n",
        "    faction: rebelz\n",
        "faction: rebelz",
        "leaders.boss.faction",
        "unknown faction 'rebelz'; did you mean 'rebels'?",
    ),
    "leader of a non-faction": (
        "    faction: rebels\n",
        "    faction: gov\n",
        "faction: gov",
        "leaders.boss.faction",
        "'gov' is a government, not a faction",
    ),
    "tie to an unknown patron": (
        "      backer: 0.3\n",
        "      backr: 0.3\n",
        "backr",
        "leaders.boss.ties.backr",
        "unknown patron 'backr'",
    ),
    "event naming an unknown actor": (
        "    actor: gov\n",
        "    actor: govt\n",
        "actor: govt",
        "events.push.actor",
        "unknown government or faction or spoiler 'govt'; did you mean 'gov'?",
    ),
    "event naming an unknown region": (
        "    region: north\n",
        "    region: west\n",
        "region: west",
        "events.push.region",
        "unknown region 'west'",
    ),
    "event naming an unknown leader": (
        "    leader: boss\n",
        "    leader: bos\n",
        "leader: bos",
        "events.strike.leader",
        "unknown leader 'bos'; did you mean 'boss'?",
    ),
    "event naming an unknown mediator": (
        "    mediator: envoy\n",
        "    mediator: envoi\n",
        "mediator: envoi",
        "events.talks.mediator",
        "unknown mediator 'envoi'; did you mean 'envoy'?",
    ),
    "event naming a non-mediator": (
        "    mediator: envoy\n",
        "    mediator: gov\n",
        "mediator: gov",
        "events.talks.mediator",
        "'gov' is a government, not a mediator",
    ),
    "event with both date and hazard": (
        "    hazard: 0.01\n",
        "    hazard: 0.01\n    date: 2020-03-02\n",
        "- id: strike",
        "events.strike",
        "give exactly one of 'date' (scheduled) or 'hazard' (stochastic)",
    ),
    "patron whose client does not exist": (
        "    client: gov\n",
        "    client: nobody\n",
        "client: nobody",
        "actors.backer.client",
        "unknown client (government, opposition or spoiler) 'nobody'",
    ),
    "faction of an unknown coalition": (
        "    coalition: opp\n",
        "    coalition: opposition\n",
        "coalition: opposition",
        "actors.rebels.coalition",
        "unknown opposition coalition 'opposition'",
    ),
    "adjacent to an unknown region": (
        "    adjacent: [south]\n",
        "    adjacent: [sout]\n",
        "adjacent: [sout]",
        "regions.north.adjacent[0]",
        "unknown region 'sout'; did you mean 'south'?",
    ),
    "control by a non-combatant": (
        "    control: {gov: 1.0}\n",
        "    control: {backer: 1.0}\n",
        "control: {backer",
        "regions.south.control.backer",
        "'backer' is a patron, not a combatant",
    ),
    "variant removing an unknown event": (
        "    remove_events: [push]\n",
        "    remove_events: [pushh]\n",
        "remove_events: [pushh]",
        "variants.no_push.remove_events[0]",
        "no event with id 'pushh'",
    ),
    "variant moving an unknown event": (
        "    remove_events: [push]\n",
        "    move_events:\n      pull: 2020-03-02\n",
        "pull: 2020-03-02",
        "variants.no_push.move_events.pull",
        "no event with id 'pull'",
    ),
    "variant named base": (
        "  no_push:\n",
        "  base:\n",
        "  base:",
        "variants.base",
        "'base' is reserved",
    ),
    "date outside the calendar": (
        "    date: 2020-02-03\n",
        "    date: 2021-02-03\n",
        "date: 2021-02-03",
        "events.push.date",
        "date outside the calendar 2020-01-06 to 2020-06-28 (got 2021-02-03)",
    ),
    "window outside the calendar": (
        "    hazard: 0.01\n",
        "    hazard: 0.01\n    window_end: 2019-01-01\n",
        "window_end",
        "events.strike.window_end",
        "date outside the calendar",
    ),
    "variant moving an event outside the calendar": (
        "    remove_events: [push]\n",
        "    move_events:\n      push: 2019-03-02\n",
        "push: 2019-03-02",
        "variants.no_push.move_events.push",
        "date outside the calendar",
    ),
    "calendar ending before it starts": (
        "  end: 2020-06-28\n",
        "  end: 2019-06-28\n",
        "end: 2019-06-28",
        "calendar.end",
        "must be after start",
    ),
    "impossible date": (
        "    date: 2020-02-03\n",
        "    date: 2020-02-30\n",
        "date: 2020-02-30",
        "events.push.date",
        "day is out of range for month",
    ),
    "duplicate mapping key": (
        "    capability: 0.5\n",
        "    capability: 0.5\n    capability: 0.6\n",
        "capability: 0.6",
        "actors.rebels.capability",
        "duplicate key (first given on line 17)",
    ),
    "duplicate actor id": (
        "  backer:\n",
        "  gov:  # again\n",
        "# again",
        "actors.gov",
        "duplicate key (first given on line 9)",
    ),
    "duplicate event id": (
        "  - id: talks\n",
        "  - id: push  # again\n",
        "# again",
        "events[1].id",
        "duplicate event id 'push' (also events[0])",
    ),
    "hypothesis naming an unknown variant": (
        "    control: no_push\n",
        "    control: no_pushes\n",
        "control: no_pushes",
        "hypotheses.push_hurts_talks.control",
        "unknown variant 'no_pushes'; did you mean 'no_push'?",
    ),
    "hypothesis naming an unknown metric": (
        "    metric: agreement\n",
        "    metric: agreemnt\n",
        "metric: agreemnt",
        "hypotheses.push_hurts_talks.metric",
        "unknown metric 'agreemnt'; did you mean 'agreement'?",
    ),
    "hypothesis naming a renamed metric": (
        "    metric: agreement\n",
        "    metric: regime_losses\n",
        "metric: regime_losses",
        "hypotheses.push_hurts_talks.metric",
        "unknown metric 'regime_losses'; did you mean 'government_losses'? (the government's "
        "columns are named for its role, whatever its id: docs/results.md)",
    ),
    "hypothesis comparing a variant with itself": (
        "    control: no_push\n",
        "    control: base\n",
        "control: base",
        "hypotheses.push_hurts_talks.control",
        "treatment and control must differ",
    ),
    "hypothesis with a bad expectation": (
        "    expected: decrease\n",
        "    expected: lower\n",
        "expected: lower",
        "hypotheses.push_hurts_talks.expected",
        "'increase' or 'decrease'",
    ),
    "control shares not summing to one": (
        "    control: {gov: 0.6, rebels: 0.4}\n",
        "    control: {gov: 0.6, rebels: 0.3}\n",
        "control: {gov: 0.6",
        "regions.north.control",
        "shares must sum to 1 (got 0.9)",
    ),
    "uncertain path naming nothing": (
        "variants:\n",
        "uncertain:\n  actors.gov.resolv: {uniform: {low: 0.1, high: 0.2}}\nvariants:\n",
        "actors.gov.resolv",
        "uncertain.actors.gov.resolv",
        "path names no parameter",
    ),
    "bad identifier": (
        "  south:\n",
        "  South:\n",
        "  South:",
        "regions.South",
        "not a valid name: use lower-case letters, digits and underscores",
    ),
}


@pytest.mark.parametrize("name", list(MISTAKES))
def test_mistake_is_reported_on_its_line(tmp_path: Path, name: str) -> None:
    old, new, needle, path, phrase = MISTAKES[name]
    text = edit(old, new)
    file = write(tmp_path, text)
    found = problems(file)
    assert_reported(found, f"{file}:{line_of(text, needle)}: {path}: ", phrase)


def test_duplicate_key_first_line_is_right(tmp_path: Path) -> None:
    """The fixture's line numbers quoted in MISTAKES are those of BASE."""
    assert line_of(BASE, "    capability: 0.5") == 17
    assert line_of(BASE, "  gov:") == 9


# ----------------------------------------------------------------- YAML layer


def test_yaml_syntax_error_has_line_and_column(tmp_path: Path) -> None:
    text = edit("    kind: opposition\n", "    kind: [opposition\n")
    file = write(tmp_path, text)
    found = problems(file)
    assert len(found) == 1
    assert found[0].startswith(f"{file}:14: YAML syntax error, column 9: ")


def test_tab_indentation_is_a_syntax_error(tmp_path: Path) -> None:
    file = write(tmp_path, "name: x\ncalendar:\n\tstart: 2020-01-01\n")
    (found,) = problems(file)
    assert found.startswith(f"{file}:3: YAML syntax error, column 1: ")


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("", 1, "file is empty"),
        ("   \n\n  \n", 1, "file is empty"),
        ("# only a comment\n", 1, "file holds no YAML document"),
        ("- a\n- b\n", 1, "a scenario is a YAML mapping (got list)"),
        ("just text\n", 1, "a scenario is a YAML mapping (got str)"),
        ("name: a\n---\nname: b\n", 2, "expected a single document in the stream, but found"),
    ],
)
def test_not_a_scenario(tmp_path: Path, text: str, line: int, message: str) -> None:
    file = write(tmp_path, text)
    (found,) = problems(file)
    assert found.startswith(f"{file}:{line}: ")
    assert message in found


def test_binary_file(tmp_path: Path) -> None:
    file = write(tmp_path, b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    assert problems(file) == [f"{file}: binary file, not a YAML scenario"]


def test_not_utf8(tmp_path: Path) -> None:
    file = write(tmp_path, "name: caf\u00e9\n".encode("latin-1"))
    (found,) = problems(file)
    assert found.startswith(f"{file}:1: not UTF-8 text: byte 0xe9 at column 10")
    assert "save the file as UTF-8" in found


def test_not_utf8_gives_the_line_and_the_column_in_characters(tmp_path: Path) -> None:
    # Line 3; the column counts the UTF-8 "ü" before it as one character.
    text = "name: tiny\n# ok: \u00fc\nnote: \u00fc ".encode() + "d\u00e9j\u00e0".encode("latin-1")
    file = write(tmp_path, text)
    (found,) = problems(file)
    assert found.startswith(f"{file}:3: not UTF-8 text: byte 0xe9 at column 10;")


def test_a_file_above_the_size_cap_is_refused_before_parsing(tmp_path: Path, monkeypatch) -> None:
    from negsim.scenario import loader

    monkeypatch.setattr(loader, "MAX_FILE_BYTES", 1000)
    file = write(tmp_path, "name: tiny\n" + "# padding\n" * 200)
    (found,) = problems(file)
    assert found == (
        f"{file}: larger than 1,000 bytes, the limit for a scenario file; a scenario this "
        "large is likely the wrong file (set NEGSIM_MAX_SCENARIO_BYTES to raise the limit)"
    )
    monkeypatch.setenv("NEGSIM_MAX_SCENARIO_BYTES", "5000")
    assert not any("limit" in line for line in problems(file))


def test_the_bundled_scenarios_are_far_below_the_size_cap() -> None:
    from negsim.scenario.loader import MAX_FILE_BYTES

    for scenario in (ROOT / "scenarios").glob("*.yaml"):
        assert scenario.stat().st_size * 20 < MAX_FILE_BYTES, scenario.name


def test_control_character_is_reported_on_its_line(tmp_path: Path) -> None:
    file = write(tmp_path, edit("name: tiny\n", "name: ti\x07ny\n"))
    assert problems(file) == [f"{file}:1: character #x0007 is not allowed in YAML"]


def test_missing_file_and_folder(tmp_path: Path) -> None:
    assert problems(tmp_path / "nope.yaml") == [f"{tmp_path / 'nope.yaml'}: file not found"]
    assert problems(tmp_path) == [f"{tmp_path}: is a folder, not a scenario file"]


def test_python_tags_construct_nothing(tmp_path: Path) -> None:
    marker = tmp_path / "created_by_yaml"
    text = edit(
        "name: tiny\n",
        f'name: !!python/object/apply:os.mkdir ["{marker}"]\nnote: !!python/name:os.system\n',
    )
    file = write(tmp_path, text)
    found = problems(file)
    assert not marker.exists()
    assert_reported(
        found, f"{file}:1: name: ", "YAML tag 'tag:yaml.org,2002:python/object/apply:os.mkdir'"
    )
    assert_reported(found, f"{file}:2: note: ", "is not allowed")
    # The rejected value is not reported again as a missing or mistyped name.
    assert not any(p.startswith(f"{file}:1: name: Input") for p in found)


def test_merge_keys_are_rejected(tmp_path: Path) -> None:
    text = edit("  envoy:\n    kind: mediator\n", "  envoy:\n    <<: {kind: mediator}\n")
    file = write(tmp_path, text)
    assert_reported(problems(file), f"{file}:22: actors.envoy: ", "merge keys (<<)")


def test_aliases_are_plain_values(tmp_path: Path) -> None:
    text = edit("    capability: 1.0\n", "    capability: &strong 1.0\n")
    text = edit("    capability: 0.5\n", "    capability: *strong\n", text)
    scenario = load(write(tmp_path, text)).scenario
    assert scenario.actors["rebels"].capability == 1.0  # type: ignore[union-attr]


# ------------------------------------------------------------------- extends

PARENT_EXTRA = """\
experiment:
  runs: 200
  seed: 7
"""


def test_extends_merges_child_over_parent(tmp_path: Path) -> None:
    write(tmp_path, BASE + PARENT_EXTRA, "parent.yaml")
    child = write(
        tmp_path,
        """\
extends: parent.yaml
name: child
actors:
  gov:
    capability: 2.0
regions:
  north:
    adjacent: []
events:
  - id: talks
    type: negotiation_round
    date: 2020-04-06
    mediator: envoy
    duration_weeks: 2
  - id: truce
    type: ceasefire
    date: 2020-05-04
experiment:
  runs: 50
""",
        "child.yaml",
    )
    scenario_file = load(child)
    scenario = scenario_file.scenario
    assert scenario.name == "child"
    assert scenario.description == "A minimal scenario for tests."  # inherited
    gov = scenario.actors["gov"]
    assert (gov.kind, gov.capability) == ("government", 2.0)  # type: ignore[union-attr]
    assert scenario.regions["north"].adjacent == []  # a list replaces
    assert scenario.regions["north"].control == {"gov": 0.6, "rebels": 0.4}  # kept
    # Events merge by id: `talks` is replaced in place, `truce` is appended.
    assert [e.id for e in scenario.events] == ["push", "talks", "strike", "truce"]
    talks = scenario.events[1]
    assert talks.date == dt.date(2020, 4, 6) and talks.duration_weeks == 2  # type: ignore[union-attr]
    assert (scenario.experiment.runs, scenario.experiment.seed) == (50, 7)
    assert list(scenario_file.variants) == ["base", "no_push"]  # inherited variants
    assert [e.id for e in scenario_file.variant("no_push").events] == ["talks", "strike", "truce"]


def test_extends_reports_inherited_problems_in_the_parent(tmp_path: Path) -> None:
    parent_text = edit("    capability: 0.5\n", "    capability: -0.5\n")
    parent = write(tmp_path, parent_text, "parent.yaml")
    child = write(
        tmp_path,
        "extends: parent.yaml\nname: child\nactors:\n  gov:\n    capabilty: 2.0\n"
        "events:\n  - id: extra\n    type: ceasefire\n    date: 2030-01-01\n",
        "child.yaml",
    )
    found = problems(child)
    assert_reported(
        found,
        f"{parent}:{line_of(parent_text, 'capability: -0.5')}: actors.rebels.capability: ",
        "must be >= 0.0",
    )
    assert_reported(found, f"{child}:5: actors.gov.capabilty: ", "did you mean 'capability'?")
    # Inherited events keep their parent's lines; the child's own event has its own.
    assert_reported(found, f"{child}:9: events.extra.date: ", "date outside the calendar")


def test_extends_of_a_missing_file(tmp_path: Path) -> None:
    child = write(tmp_path, "extends: nowhere.yaml\nname: child\n", "child.yaml")
    assert_reported(problems(child), f"{child}:1: extends: ", "no such file (got 'nowhere.yaml')")


def test_extends_must_be_a_path(tmp_path: Path) -> None:
    child = write(tmp_path, "name: child\nextends: [a.yaml]\n", "child.yaml")
    assert_reported(problems(child), f"{child}:2: extends: ", "must be a file path")


def test_circular_extends(tmp_path: Path) -> None:
    first = write(tmp_path, "extends: second.yaml\nname: first\n", "first.yaml")
    second = write(tmp_path, "extends: first.yaml\nname: second\n", "second.yaml")
    assert_reported(problems(first), f"{second}:1: extends: ", "circular extends (first.yaml)")
    itself = write(tmp_path, "extends: itself.yaml\nname: itself\n", "itself.yaml")
    assert_reported(problems(itself), f"{itself}:1: extends: ", "circular extends (itself.yaml)")


def test_extends_of_a_broken_parent(tmp_path: Path) -> None:
    write(tmp_path, "name: [unclosed\n", "parent.yaml")
    child = write(tmp_path, "extends: parent.yaml\nname: child\n", "child.yaml")
    # Its content is not quoted (it may not be a scenario at all): the line says
    # where to look and how to see the problems.
    found = problems(child)
    assert found == [
        f"{child}:1: extends: 'parent.yaml' is not a negsim scenario (it cannot be read as "
        "a YAML mapping at its line 2; `negsim validate parent.yaml` shows its problems)"
    ]


# ------------------------------------------------------------------ variants

VARIANT_EDITS = """\
  edited:
    description: Every kind of edit.
    remove_events: [strike]
    move_events:
      talks: 2020-04-06
    add_events:
      - id: truce
        type: ceasefire
        date: 2020-05-04
    set:
      actors.backer.commitment: 0.9
      events.talks.duration_weeks: 8
      parameters.front_rate: {uniform: {low: 0.01, high: 0.1}}
      leaders.boss.successor.moderation: 0.1
"""


def test_variant_edits_apply_in_order(tmp_path: Path) -> None:
    scenario_file = load(write(tmp_path, edit("variants:\n", "variants:\n" + VARIANT_EDITS)))
    base, edited = scenario_file.variant("base"), scenario_file.variant("edited")
    assert [e.id for e in edited.events] == ["push", "talks", "truce"]
    talks = edited.events[1]
    assert talks.date == dt.date(2020, 4, 6)
    assert talks.duration_weeks == 8  # type: ignore[union-attr]
    assert edited.actors["backer"].commitment == 0.9  # type: ignore[union-attr]
    assert edited.parameters.front_rate.uniform.high == 0.1  # type: ignore[union-attr]
    assert edited.leaders["boss"].successor.moderation == 0.1
    assert edited.leaders["boss"].successor.authority == 0.5  # untouched default
    # The base is unchanged by its variants.
    assert [e.id for e in base.events] == ["push", "talks", "strike"]
    assert base.actors["backer"].commitment == 0.5  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("old", "new", "needle", "path", "phrase"),
    [
        (
            "      events.talks.duration_weeks: 8\n",
            "      events.chat.duration_weeks: 8\n",
            "events.chat",
            "variants.edited.set.events.chat.duration_weeks",
            "no event with id 'chat'",
        ),
        (
            "      events.talks.duration_weeks: 8\n",
            "      events.talks: 8\n",
            "events.talks: 8",
            "variants.edited.set.events.talks",
            "name a field of the event",
        ),
        (
            "      actors.backer.commitment: 0.9\n",
            "      actors.backer.commitment: 1.9\n",
            "commitment: 1.9",
            "variants.edited -> actors.backer.commitment",
            "must be <= 1.0 (got 1.9)",
        ),
        (
            "      events.talks.duration_weeks: 8\n",
            "      events.talks.duration_weeks: soon\n",
            "duration_weeks: soon",
            "variants.edited -> events.talks.duration_weeks",
            "expected a number or a distribution (got 'soon')",
        ),
        (
            "      actors.backer.commitment: 0.9\n",
            "      actors.backer.comitment: 0.9\n",
            "comitment",
            "variants.edited -> actors.backer.comitment",
            "did you mean 'commitment'?",
        ),
        (
            "        type: ceasefire\n",
            "        type: offensive\n        actor: nobody\n        region: north\n",
            "actor: nobody",
            "variants.edited -> events.truce.actor",
            "unknown government or faction or spoiler 'nobody'",
        ),
        (
            "      - id: truce\n",
            "      - id: push  # again\n",
            "# again",
            "variants.edited.add_events[0].id",
            "an event with id 'push' already exists",
        ),
        (
            "      talks: 2020-04-06\n",
            "      talks: 2020-14-06\n",
            "talks: 2020-14-06",
            "variants.edited.move_events.talks",
            "unsupported value",
        ),
    ],
)
def test_variant_problem_is_reported_at_the_edit(
    tmp_path: Path, old: str, new: str, needle: str, path: str, phrase: str
) -> None:
    text = edit(old, new, edit("variants:\n", "variants:\n" + VARIANT_EDITS))
    file = write(tmp_path, text)
    assert_reported(problems(file), f"{file}:{line_of(text, needle)}: {path}: ", phrase)


def test_variant_breaking_a_reference_is_reported(tmp_path: Path) -> None:
    """Removing the leaders breaks the `strike` event only in that variant.

    The problem is not inside what the edit wrote, so it is reported at the variant.
    """
    text = edit(
        "    remove_events: [push]\n",
        "    remove_events: [push]\n    set:\n      leaders: {}\n",
    )
    file = write(tmp_path, text)
    assert_reported(
        problems(file),
        f"{file}:{line_of(text, 'no_push:')}: variants.no_push -> events.strike.leader: ",
        "unknown leader 'boss'",
    )


# ------------------------------------------------------------ many mistakes


def test_every_mistake_of_a_file_is_listed_with_its_line(tmp_path: Path) -> None:
    text = BASE
    for old, new in [
        ("    capability: 0.5\n", "    capabilty: 0.5\n"),
        ("    faction: rebels\n", "    faction: rebelz\n"),
        ("      backer: 0.3\n", "      backer: 1.3\n"),
        ("    region: north\n", "    region: west\n"),
        ("    date: 2020-03-02\n", "    date: 2022-03-02\n"),
        ("    control: {gov: 1.0}\n", "    control: {gov: 0.5}\n"),
        ("    metric: agreement\n", "    metric: agreemnt\n"),
        ("    remove_events: [push]\n", "    remove_events: [pushh]\n"),
    ]:
        text = edit(old, new, text)
    file = write(tmp_path, text)
    found = problems(file)
    expected = [
        ("capabilty", "actors.rebels.capabilty", "unknown key"),
        ("faction: rebelz", "leaders.boss.faction", "unknown faction"),
        ("backer: 1.3", "leaders.boss.ties.backer", "must be <= 1.0"),
        ("region: west", "events.push.region", "unknown region"),
        ("date: 2022-03-02", "events.talks.date", "outside the calendar"),
        ("control: {gov: 0.5}", "regions.south.control", "must sum to 1"),
        ("metric: agreemnt", "hypotheses.push_hurts_talks.metric", "unknown metric"),
        ("remove_events: [pushh]", "variants.no_push.remove_events[0]", "no event with id"),
    ]
    for needle, path, phrase in expected:
        assert_reported(found, f"{file}:{line_of(text, needle)}: {path}: ", phrase)
    # Sorted by line, each problem once.
    lines = [int(p.split(":")[1]) for p in found]
    assert lines == sorted(lines)
    assert len(found) == len(set(found))


# ------------------------------------------------------------------------ CLI


def test_validate_command_exits_1_without_traceback(tmp_path: Path) -> None:
    text = edit("    faction: rebels\n", "    faction: rebelz\n")
    text = edit("    capability: 0.5\n", "    capability: {gauss: 1}\n", text)
    bad = write(tmp_path, text, "bad.yaml")
    result = CliRunner().invoke(main, ["validate", str(bad), str(GENEVA3)])
    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    assert f"{bad}:{line_of(text, 'faction: rebelz')}: leaders.boss.faction: " in result.output
    assert f"{bad}:{line_of(text, 'gauss')}: actors.rebels.capability: " in result.output
    assert f"{GENEVA3}: ok" in result.output
    assert "1 of 2 file(s) have problems." in result.output


def test_validate_command_bundled_scenarios_ok() -> None:
    result = CliRunner().invoke(
        main, ["validate", "--strict", str(GENEVA3), str(RIPENESS), str(DECAPITATION)]
    )
    assert result.exit_code == 0, result.output
    assert result.output.count(": ok (") == 3
    assert f"{GENEVA3}: ok (geneva3: 12 actors, 9 regions, 19 events, 7 variants" in result.output


@pytest.mark.parametrize(
    "content",
    [
        b"\x00\x01\x02",
        b"name: [\n",
        b"name: !!python/object/apply:os.system ['true']\n",
        b"a: &a [*a]\n",
        b"events: 3\nvariants: {v: {remove_events: 3, set: [1]}}\n",
    ],
    ids=["binary", "syntax", "python tag", "recursive alias", "bad shapes"],
)
def test_validate_process_prints_no_traceback(tmp_path: Path, content: bytes) -> None:
    """Run as a real process, so that a crash would show its traceback on stderr."""
    bad = write(tmp_path, content, "bad.yaml")
    result = subprocess.run(
        [sys.executable, "-m", "negsim.cli", "validate", str(bad)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert result.stderr.startswith(f"{bad}")


def test_a_derived_metric_may_be_one_of_several(tmp_path: Path) -> None:
    # weeks_to_agreement is computed for the verdicts, not a runs.csv column:
    # accepted under `metrics` as under `metric`.
    text = BASE.replace(
        "    metric: agreement\n", "    metrics: [agreement, weeks_to_agreement]\n", 1
    )
    (hypothesis,) = load(write(tmp_path, text)).scenario.hypotheses.values()
    assert hypothesis.metrics == ["agreement", "weeks_to_agreement"]

"""The `observed:` block: each mistake reported on its line with the pattern's id; the bundled records load.

Bad inputs are :data:`test_loader.BASE` with an `observed:` block appended;
the expected line is found from the text, not hard-coded.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from test_loader import BASE, assert_reported, line_of, problems, write

from negsim.cli import main
from negsim.scenario import load
from negsim.scenario.observed import Pattern, weekly_metric_names

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "scenarios"

GOOD = """\
  - id: pushed_back
    description: Government control of the north up after the push.
    metric: control.gov
    change: [2020-01-27, 2020-03-02]
    above: 0.01
  - id: talks_week
    metric: talks_state
    event: talks
    weeks: 1
    when: some_week
    equals: 4
  - id: no_deal_early
    metric: agreement
    before: 2020-03-02
    when: every_week
    equals: 0
  - id: spring
    metric: capability.rebels
    between: [2020-04-06, 2020-05-04]
    when: every_week
    range: [0.1, 0.9]
  - id: truce_off
    metric: ceasefire_in_force
    date: 2020-06-01
    within: 0.5
"""


def with_observed(patterns: str) -> str:
    return BASE + "observed:\n" + patterns


def test_a_valid_record_loads_with_every_timing_and_comparison(tmp_path: Path) -> None:
    scenario = load(write(tmp_path, with_observed(GOOD))).scenario
    assert [p.id for p in scenario.observed] == [
        "pushed_back",
        "talks_week",
        "no_deal_early",
        "spring",
        "truce_off",
    ]
    assert [p.timing for p in scenario.observed] == ["change", "event", "before", "between", "date"]
    assert [p.comparison for p in scenario.observed] == [
        "above",
        "equals",
        "equals",
        "range",
        "within",
    ]
    assert scenario.observed[0].describe() == "Government control of the north up after the push."
    assert (
        scenario.observed[1].rule() == "talks_state in some week within 1 weeks of talks equals 4"
    )
    assert scenario.observed[3].rule() == (
        "capability.rebels in every week from 2020-04-06 to 2020-05-04 in [0.1, 0.9]"
    )
    # Variants keep the record: the worlds like ours are judged on the base variant.
    assert (
        load(write(tmp_path, with_observed(GOOD))).variant("no_push").observed == scenario.observed
    )


# name: (pattern text, needle on the expected line, path, key phrase)
MISTAKES: dict[str, tuple[str, str, str, str]] = {
    "unknown metric": (
        "  - id: gains\n    metric: control.gv\n    date: 2020-02-03\n    above: 0.5\n",
        "control.gv",
        "observed.gains.metric",
        "unknown per-week metric 'control.gv'; did you mean 'control.gov'?",
    ),
    "unknown metric of a combatant": (
        "  - id: gains\n    metric: capability.rebel\n    date: 2020-02-03\n    above: 0.5\n",
        "capability.rebel",
        "observed.gains.metric",
        "did you mean 'capability.rebels'?",
    ),
    "date outside the calendar": (
        "  - id: late\n    metric: agreement\n    date: 2021-02-01\n    equals: 1\n",
        "2021-02-01",
        "observed.late.date",
        "date outside the calendar 2020-01-06 to 2020-06-28 (got 2021-02-01)",
    ),
    "second date of a change outside the calendar": (
        "  - id: late\n    metric: agreement\n    change: [2020-02-03, 2020-08-03]\n    above: 0\n",
        "2020-08-03",
        "observed.late.change[1]",
        "date outside the calendar",
    ),
    "before outside the calendar": (
        "  - id: early\n    metric: agreement\n    before: 2019-12-30\n    when: every_week\n"
        "    equals: 0\n",
        "2019-12-30",
        "observed.early.before",
        "date outside the calendar",
    ),
    "unknown event": (
        "  - id: opened\n    metric: talks_state\n    event: talk\n    weeks: 1\n"
        "    when: some_week\n    equals: 4\n",
        "event: talk",
        "observed.opened.event",
        "unknown event 'talk'; did you mean 'talks'?",
    ),
    "stochastic event": (
        "  - id: struck\n    metric: agreement\n    event: strike\n    weeks: 1\n"
        "    when: some_week\n    equals: 0\n",
        "event: strike",
        "observed.struck.event",
        "event 'strike' has no date (a stochastic event); name a scheduled one",
    ),
    "window without when": (
        "  - id: quiet\n    metric: agreement\n    between: [2020-02-03, 2020-03-02]\n"
        "    equals: 0\n",
        "id: quiet",
        "observed.quiet",
        "a window (`between`) needs `when`: every_week or some_week",
    ),
    "two timings": (
        "  - id: quiet\n    metric: agreement\n    date: 2020-02-03\n    before: 2020-03-02\n"
        "    equals: 0\n",
        "id: quiet",
        "observed.quiet",
        "give exactly one of date, change, between, before, event (got date, before)",
    ),
    "no comparison": (
        "  - id: quiet\n    metric: agreement\n    date: 2020-02-03\n",
        "id: quiet",
        "observed.quiet",
        "give exactly one of above, below, equals, within, range",
    ),
    "when on a date": (
        "  - id: quiet\n    metric: agreement\n    date: 2020-02-03\n    when: some_week\n"
        "    equals: 0\n",
        "id: quiet",
        "observed.quiet",
        "`when` goes with a window (between, before, event), not `date`",
    ),
    "event without weeks": (
        "  - id: opened\n    metric: talks_state\n    event: talks\n    when: some_week\n"
        "    equals: 4\n",
        "id: opened",
        "observed.opened",
        "an `event` window needs `weeks`",
    ),
    "unknown when": (
        "  - id: quiet\n    metric: agreement\n    before: 2020-03-02\n    when: always\n"
        "    equals: 0\n",
        "when: always",
        "observed.quiet.when",
        "'every_week' or 'some_week'",
    ),
    "misspelt comparison": (
        "  - id: quiet\n    metric: agreement\n    date: 2020-02-03\n    abov: 0\n",
        "abov:",
        "observed.quiet.abov",
        "unknown key 'abov'; did you mean 'above'?",
    ),
    "range backwards": (
        "  - id: quiet\n    metric: agreement\n    date: 2020-02-03\n    range: [0.9, 0.1]\n",
        "id: quiet",
        "observed.quiet",
        "`range`: the second number must not be below the first",
    ),
    "between backwards": (
        "  - id: quiet\n    metric: agreement\n    between: [2020-03-02, 2020-02-03]\n"
        "    when: some_week\n    equals: 0\n",
        "id: quiet",
        "observed.quiet",
        "`between`: the second date must not be before the first",
    ),
}


@pytest.mark.parametrize("name", list(MISTAKES))
def test_each_observed_mistake_is_reported_on_its_line(tmp_path: Path, name: str) -> None:
    pattern, needle, path, phrase = MISTAKES[name]
    # After a valid pattern, so the index and the id differ (`observed.<id>`, not `[5]`).
    text = with_observed(GOOD + pattern)
    file = write(tmp_path, text)
    found = problems(file)
    line = len(with_observed(GOOD).splitlines()) + line_of(pattern, needle)
    assert_reported(found, f"{file}:{line}: {path}:", phrase)
    assert len(found) == 1, found


def test_a_duplicate_id_is_reported_at_the_second(tmp_path: Path) -> None:
    text = with_observed(
        GOOD + "  - id: talks_week\n    metric: agreement\n    date: 2020-02-03\n    equals: 0\n"
    )
    file = write(tmp_path, text)
    found = problems(file)
    # Two patterns share the id, so the path names the second by its place.
    assert found == [
        f"{file}:{line_of(text, 'id: talks_week', 2)}: observed[5].id: "
        "duplicate pattern id 'talks_week' (also observed[1])"
    ]


def test_every_mistake_in_a_block_is_reported(tmp_path: Path) -> None:
    text = with_observed(
        "  - id: one\n    metric: control.gv\n    date: 2020-02-03\n    above: 0\n"
        "  - id: two\n    metric: agreement\n    date: 2022-02-03\n    above: 0\n"
        "  - id: three\n    metric: agreement\n    event: tlaks\n    weeks: 1\n"
        "    when: some_week\n    above: 0\n"
    )
    file = write(tmp_path, text)
    assert [problem.split(": ")[1] for problem in problems(file)] == [
        "observed.one.metric",
        "observed.two.date",
        "observed.three.event",
    ]


def test_a_child_scenario_reports_its_own_pattern_in_its_own_file(tmp_path: Path) -> None:
    write(tmp_path, BASE, "parent.yaml")
    child_text = "extends: parent.yaml\nobserved:\n  - id: x\n    metric: trst\n    date: 2020-02-03\n    above: 0\n"
    child = write(tmp_path, child_text, "child.yaml")
    assert problems(child) == [
        f"{child}:{line_of(child_text, 'trst')}: observed.x.metric: unknown per-week metric "
        "'trst'; did you mean 'trust'? (the metrics of timeseries.csv; see docs/results.md)"
    ]


def test_weekly_metric_names_cover_every_combatant() -> None:
    names = weekly_metric_names(load(SCENARIOS / "geneva3.yaml").scenario.actors)
    assert "control.regime" in names and "capability.regime" in names
    assert "talks_state" in names and "agreement_in_force" in names
    assert not any(name.startswith("control.un") for name in names)  # a mediator holds no ground


def test_the_pattern_model_rejects_what_the_loader_reports() -> None:
    with pytest.raises(ValueError, match="exactly one of date"):
        Pattern(id="x", metric="agreement", equals=0)
    with pytest.raises(ValueError, match="`weeks` goes with `event` only"):
        Pattern(id="x", metric="agreement", date="2020-01-06", weeks=2, equals=0)
    with pytest.raises(ValueError):
        Pattern(id="X", metric="agreement", date="2020-01-06", equals=0)  # ids are lower case


# ------------------------------------------------------------- bundled files


@pytest.mark.parametrize(
    ("name", "ids"),
    [
        (
            "geneva3.yaml",
            [
                "control_flat_after_intervention",
                "control_up_by_mid_2016",
                "geneva3_suspended",
                "cessation_in_force_in_march",
                "cessation_over_by_mid_may",
                "no_agreement_in_2016",
                "march_round_at_table",
                "hnc_suspends_in_april",
            ],
        ),
        (
            "aceh.yaml",
            [
                "coha_in_force",
                "tsunami_weakens_tna",
                "no_settlement_before_helsinki",
                "settled_by_autumn_2005",
                "settlement_holds_to_december",
                "coha_collapsed",
                "not_settled_before_helsinki_5",
                "gam_loses_ground_under_martial_law",
                "mou_in_force_when_loga_passed",
            ],
        ),
    ],
)
def test_the_bundled_records_validate(name: str, ids: list[str]) -> None:
    scenario = load(SCENARIOS / name).scenario
    assert [pattern.id for pattern in scenario.observed] == ids
    assert all(pattern.source and pattern.description for pattern in scenario.observed)
    assert any(len(h.metrics) > 1 for h in scenario.hypotheses.values())
    result = CliRunner().invoke(main, ["validate", str(SCENARIOS / name)])
    assert result.exit_code == 0, result.output
    assert ": ok" in result.output


def test_aceh_is_the_bundled_example_of_every_history_construct() -> None:
    """Issue 23: a complete, validating example of chains, a government change, joint mediators, a vote.

    And issue 22: its record has holdouts and inputs read back as `describe`,
    and it asks when and on what terms, not only whether.
    """
    path = SCENARIOS / "aceh.yaml"
    scenario = load(path).scenario
    events = {event.id: event for event in scenario.events}
    by_type: dict[str, list] = {}
    for event in scenario.events:
        by_type.setdefault(event.type, []).append(event)
    syafii = scenario.leaders["abdullah_syafii"]
    assert [s.id for s in syafii.successors] == ["muzakir_manaf"]
    assert events["syafii_killed"].leader == "abdullah_syafii"
    heads = {k: v for k, v in scenario.leaders.items() if v.government == "indonesia"}
    assert [k for k, v in heads.items() if v.in_office] == ["megawati"]
    assert [e.leader for e in by_type["government_change"]] == ["yudhoyono"]
    assert any(
        isinstance(e.mediator, list) and len(e.mediator) > 1 for e in by_type["negotiation_round"]
    )
    assert len(by_type["mediator_policy"]) >= 2
    truce = events["gam_tsunami_truce"]
    assert (truce.actor, truce.against) == ("gam", ["indonesia"])
    assert events["coha"].covers == ["indonesia", "gam"]
    assert [e.body for e in by_type["ratification"]] == ["House of Representatives (DPR)"]
    uses = [pattern.use for pattern in scenario.observed]
    assert uses.count("holdout") >= 2 and uses.count("describe") >= 2
    metrics = {m for h in scenario.hypotheses.values() for m in (h.metrics or [h.metric])}
    assert {"weeks_to_agreement", "settlement", "agreement"} <= metrics
    assert "leaders.abdullah_syafii.successors.muzakir_manaf.moderation" in scenario.uncertain
    result = CliRunner().invoke(main, ["validate", "--strict", str(path)])
    assert result.exit_code == 0, result.output

"""The scenario format of issue 10: leader chains, heads of government, one-sided
truces, referendums, joint mediators, roles that change, and the messages for them.

Bad inputs are small edits of :data:`CHAIN`, a valid scenario that uses every
new field. Each problem is checked by its exact ``FILE:LINE: path:`` prefix
(the line found from the edited text) and a key phrase of its message, as in
``test_loader.py``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from test_loader import assert_reported, edit, line_of, problems, write

from negsim.cli import main
from negsim.errors import ScenarioError
from negsim.scenario import load
from negsim.scenario.schema import CommanderRemoval, GovernmentChange, MediatorPolicy, Referendum

CHAIN = """\
name: chain
calendar:
  start: 2020-01-06
  end: 2021-06-27
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
  jihadis:
    kind: spoiler
    capability: 0.2
  gulf:
    kind: patron
    client: jihadis
  neighbour:
    kind: patron
    client: opp
  envoy:
    kind: mediator
    leverage: 0.5
  neighbour_envoy:
    kind: mediator
    leverage: 0.0
leaders:
  founder:
    faction: rebels
    ties: {neighbour: 0.6}
    successors:
      - id: second
        moderation: 0.8
      - id: third
        authority: 0.9
  hawk:
    government: gov
    in_office: true
    resolve: 0.9
  dove:
    government: gov
    resolve: 0.2
    willingness_bias: 1.0
regions:
  north:
    control: {gov: 0.6, rebels: 0.3, jihadis: 0.1}
events:
  - id: founder_dies
    type: leader_removal
    date: 2020-02-03
    leader: founder
  - id: second_killed
    type: leader_removal
    date: 2020-04-06
    leader: second
  - id: third_killed
    type: leader_removal
    date: 2020-06-01
    leader: third
  - id: whoever_leads
    type: leader_removal
    hazard: 0.01
    faction: rebels
  - id: commander_killed
    type: commander_removal
    date: 2020-03-02
    faction: rebels
    commander: a field commander
  - id: election
    type: government_change
    date: 2020-05-04
    leader: dove
  - id: rebel_truce
    type: ceasefire
    date: 2020-07-06
    actor: rebels
    duration_weeks: 8
  - id: neighbour_turns
    type: patron_policy
    date: 2020-07-06
    actor: neighbour
    commitment: 0.0
  - id: neighbour_mediates
    type: mediator_policy
    date: 2020-07-06
    actor: neighbour_envoy
    leverage: 0.4
  - id: talks
    type: negotiation_round
    date: 2020-08-03
    mediator: [envoy, neighbour_envoy]
    duration_weeks: 12
  - id: vote
    type: referendum
    date: 2021-01-04
    approval: {uniform: {low: 0.3, high: 0.7}}
variants:
  no_vote:
    remove_events: [vote]
"""


# ---------------------------------------------------------------- valid files


def test_every_new_field_validates(tmp_path: Path) -> None:
    scenario_file = load(write(tmp_path, CHAIN))
    scenario = scenario_file.scenario
    assert scenario_file.warnings == ()
    founder = scenario.leaders["founder"]
    assert [s.id for s in founder.successors] == ["second", "third"]
    assert founder.successors[0].moderation == 0.8
    assert scenario.leaders["dove"].government == "gov"
    assert scenario.leaders["dove"].faction is None
    events = {e.id: e for e in scenario.events}
    assert isinstance(events["commander_killed"], CommanderRemoval)
    assert isinstance(events["election"], GovernmentChange)
    assert isinstance(events["vote"], Referendum)
    assert isinstance(events["neighbour_mediates"], MediatorPolicy)
    assert events["rebel_truce"].actor == "rebels"
    assert events["talks"].mediator == ["envoy", "neighbour_envoy"]
    assert events["whoever_leads"].faction == "rebels"
    assert scenario.actors["gulf"].client == "jihadis"
    assert [e.id for e in scenario_file.variant("no_vote").events][-1] == "talks"


def test_a_round_may_name_one_mediator(tmp_path: Path) -> None:
    text = edit("    mediator: [envoy, neighbour_envoy]\n", "    mediator: envoy\n", CHAIN)
    assert load(write(tmp_path, text)).scenario.events[9].mediator == "envoy"


# ----------------------------------------------------------------- mistakes

# name: (old, new, line to point at (text, or text and occurrence), path, phrase)
MISTAKES = {
    "no date nor hazard, named by id": (
        "    date: 2020-05-04\n    leader: dove\n",
        "    leader: dove\n",
        "- id: election",
        "events.election",
        "give exactly one of 'date' (scheduled) or 'hazard'",
    ),
    "type error inside an event, named by id": (
        "    approval: {uniform: {low: 0.3, high: 0.7}}\n",
        "    approval: 1.5\n",
        "approval: 1.5",
        "events.vote.approval",
        "",
    ),
    "truce declared by a patron": (
        "    actor: rebels\n    duration_weeks: 8\n",
        "    actor: gulf\n    duration_weeks: 8\n",
        "actor: gulf",
        "events.rebel_truce.actor",
        "'gulf' is a patron, not a combatant",
    ),
    "truce declared by nobody known": (
        "    actor: rebels\n    duration_weeks: 8\n",
        "    actor: rebelz\n    duration_weeks: 8\n",
        "actor: rebelz",
        "events.rebel_truce.actor",
        "did you mean 'rebels'?",
    ),
    "commander of an unknown faction": (
        "    faction: rebels\n    commander: a field commander\n",
        "    faction: rebls\n    commander: a field commander\n",
        "faction: rebls",
        "events.commander_killed.faction",
        "unknown faction 'rebls'",
    ),
    "government change to a faction leader": (
        "    leader: dove\n",
        "    leader: second\n",
        ("leader: second", 2),
        "events.election.leader",
        "(it leads a faction)",
    ),
    "government change to nobody known": (
        "    leader: dove\n",
        "    leader: dov\n",
        "leader: dov",
        "events.election.leader",
        "did you mean 'dove'?",
    ),
    "removal of a head of government": (
        "    leader: third\n",
        "    leader: hawk\n",
        "leader: hawk",
        "events.third_killed.leader",
        "leads the government; a `government_change` replaces him",
    ),
    "removal of a mistyped successor": (
        "    leader: third\n",
        "    leader: thrid\n",
        "leader: thrid",
        "events.third_killed.leader",
        "did you mean 'third'?",
    ),
    "removal naming both a leader and a faction": (
        "    hazard: 0.01\n    faction: rebels\n",
        "    hazard: 0.01\n    faction: rebels\n    leader: founder\n",
        "- id: whoever_leads",
        "events.whoever_leads",
        "give exactly one of 'leader' or 'faction'",
    ),
    "leader of a faction and of the government": (
        "    government: gov\n    in_office: true\n",
        "    government: gov\n    faction: rebels\n    in_office: true\n",
        "  hawk:",
        "leaders.hawk",
        "give exactly one of 'faction'",
    ),
    "faction leader with a government trait": (
        "    ties: {neighbour: 0.6}\n",
        "    ties: {neighbour: 0.6}\n    resolve: 0.3\n",
        "resolve: 0.3",
        "leaders.founder.resolve",
        "'resolve' is for government leaders",
    ),
    "head of government with successors": (
        "    resolve: 0.9\n",
        "    resolve: 0.9\n    successors: [{id: heir}]\n",
        "successors: [{id: heir}]",
        "leaders.hawk.successors",
        "for faction leaders only",
    ),
    "successor with a leader's id": (
        "      - id: third\n",
        "      - id: dove\n",
        "- id: dove",
        "leaders.founder.successors.dove.id",  # list items named by their id
        "id 'dove' is already a leader's",
    ),
    "successor tied to a non-patron": (
        "        moderation: 0.8\n",
        "        moderation: 0.8\n        ties: {envoy: 0.5}\n",
        "ties: {envoy: 0.5}",
        "leaders.founder.successors.second.ties.envoy",
        "'envoy' is a mediator, not a patron",
    ),
    "joint mediator that is no mediator": (
        "    mediator: [envoy, neighbour_envoy]\n",
        "    mediator: [envoy, neighbour]\n",
        "mediator: [envoy, neighbour]",
        "events.talks.mediator[1]",
        "'neighbour' is a patron, not a mediator",
    ),
    "no mediator at all": (
        "    mediator: [envoy, neighbour_envoy]\n",
        "    mediator: []\n",
        "mediator: []",
        "events.talks.mediator",
        "name at least one mediator",
    ),
    "patron of a mediator": (
        "    client: jihadis\n",
        "    client: envoy\n",
        "client: envoy",
        "actors.gulf.client",
        "not a client (government, opposition or spoiler)",
    ),
    "mediator policy for a patron": (
        "    actor: neighbour_envoy\n",
        "    actor: neighbour\n",
        ("actor: neighbour", 2),
        "events.neighbour_mediates.actor",
        "'neighbour' is a patron, not a mediator",
    ),
    "mediator policy changing nothing": (
        "    actor: neighbour_envoy\n    leverage: 0.4\n",
        "    actor: neighbour_envoy\n",
        "- id: neighbour_mediates",
        "events.neighbour_mediates",
        "changes nothing: give at least one of leverage, bias",
    ),
    "head of government without traits": (
        "    resolve: 0.2\n    willingness_bias: 1.0\n",
        "",
        "    leader: dove",
        "events.election.leader",
        "has no traits to bring into office",
    ),
    "mistyped event id in a variant": (
        "    remove_events: [vote]\n",
        "    remove_events: [voet]\n",
        "remove_events: [voet]",
        "variants.no_vote.remove_events[0]",
        "no event with id 'voet'; did you mean 'vote'?",
    ),
    "mistyped event id in move_events": (
        "    remove_events: [vote]\n",
        "    move_events: {electoin: 2020-06-01}\n",
        "electoin: 2020-06-01",
        "variants.no_vote.move_events.electoin",
        "did you mean 'election'?",
    ),
}


@pytest.mark.parametrize("name", list(MISTAKES))
def test_mistake_is_reported_at_its_line_with_the_event_id(tmp_path: Path, name: str) -> None:
    old, new, needle, path, phrase = MISTAKES[name]
    text = edit(old, new, CHAIN)
    file = write(tmp_path, text)
    line = line_of(text, *needle) if isinstance(needle, tuple) else line_of(text, needle)
    assert_reported(problems(file), f"{file}:{line}: {path}: ", phrase)


def test_messages_never_name_an_event_with_an_id_by_its_position(tmp_path: Path) -> None:
    text = edit("    date: 2020-05-04\n    leader: dove\n", "    leader: dov\n", CHAIN)
    text = edit("    approval: {uniform: {low: 0.3, high: 0.7}}\n", "    approval: -1\n", text)
    found = problems(write(tmp_path, text))
    assert len(found) >= 3
    assert not any("events[" in p for p in found), "\n".join(found)


def test_a_duplicated_event_id_keeps_its_position(tmp_path: Path) -> None:
    """Two events with one id cannot be told apart by it: the message uses the index."""
    text = edit("  - id: third_killed\n", "  - id: second_killed\n", CHAIN)
    file = write(tmp_path, text)
    found = problems(file)
    assert_reported(
        found, f"{file}:{line_of(text, 'second_killed', 2)}: events[2].id: ", "duplicate"
    )


# ---------------------------------------------------------- effects: errors

# CHAIN without its stochastic removal: every removal's effect is then certain.
SCHEDULED = edit(
    "    hazard: 0.01\n    faction: rebels\n", "    date: 2021-03-01\n    faction: rebels\n", CHAIN
)


def test_removing_the_same_leader_twice_is_an_error(tmp_path: Path) -> None:
    text = edit("    leader: third\n", "    leader: second\n", SCHEDULED)
    file = write(tmp_path, text)
    (found,) = [p for p in problems(file) if "already removed" in p]
    line = line_of(text, "    leader: second", 2)
    assert found.startswith(f"{file}:{line}: events.third_killed.leader: ")
    assert "by event 'second_killed' on 2020-04-06" in found
    assert "can never act" in found


def test_removing_whoever_leads_twice_is_allowed(tmp_path: Path) -> None:
    """`faction:` removes whoever is in office then: each one acts."""
    text = edit(
        "    date: 2020-06-01\n    leader: third\n",
        "    date: 2020-06-01\n    faction: rebels\n",
        CHAIN,
    )
    text = edit(
        "    date: 2020-04-06\n    leader: second\n",
        "    date: 2020-04-06\n    faction: rebels\n",
        text,
    )
    load(write(tmp_path, text))


def test_a_removal_that_may_find_him_gone_is_no_error(tmp_path: Path) -> None:
    """With the hazard, the founder may be gone before his dated removal: it acts elsewhere."""
    assert load(write(tmp_path, CHAIN)).scenario.events[0].leader == "founder"


def test_a_successor_removed_before_he_can_be_in_office_is_an_error(tmp_path: Path) -> None:
    text = edit(
        "    date: 2020-04-06\n    leader: second\n",
        "    date: 2020-01-13\n    leader: second\n",
        SCHEDULED,
    )
    file = write(tmp_path, text)
    found = problems(file)
    assert_reported(
        found,
        f"{file}:{line_of(text, 'leader: second')}: events.second_killed.leader: ",
        "can never be in office on 2020-01-13: he is number 1 in the line of succession of "
        "'rebels', and at most 0 removal(s) of its leaders can act before",
    )
    # And the third, whose only way into office went with it, too.
    assert_reported(
        found,
        f"{file}:{line_of(text, 'leader: third')}: events.third_killed.leader: ",
        "he is number 2",
    )


def test_same_week_removals_act_in_list_order(tmp_path: Path) -> None:
    """The model applies the events of a week in list order: the check does too."""
    same_week = edit(
        "    date: 2020-04-06\n    leader: second\n",
        "    date: 2020-02-04\n    leader: second\n",
        SCHEDULED,
    )
    load(write(tmp_path, same_week, "after.yaml"))  # listed after the founder's death: acts
    founder = "  - id: founder_dies\n    type: leader_removal\n    date: 2020-02-03\n    leader: founder\n"
    second = "  - id: second_killed\n    type: leader_removal\n    date: 2020-02-04\n    leader: second\n"
    swapped = edit(founder + second, second + founder, same_week)
    file = write(tmp_path, swapped, "before.yaml")
    assert_reported(
        problems(file),
        f"{file}:{line_of(swapped, 'leader: second')}: events.second_killed.leader: ",
        "can never be in office",
    )


def test_a_stochastic_removal_may_bring_a_successor_into_office(tmp_path: Path) -> None:
    """A hazard may fire before the successor's removal: that removal may act, no error."""
    text = edit(
        "    date: 2020-02-03\n    leader: founder\n",
        "    date: 2020-05-04\n    leader: founder\n",
        CHAIN,
    )
    text = edit("    leader: third\n", "    faction: rebels\n", text)
    # second_killed (2020-04-06) can act only if `whoever_leads` fires first.
    load(write(tmp_path, text))
    without_hazard = edit(
        "    hazard: 0.01\n    faction: rebels\n",
        "    date: 2021-01-04\n    faction: rebels\n",
        text,
    )
    file = write(tmp_path, without_hazard, "fixed.yaml")
    assert_reported(
        problems(file),
        f"{file}:{line_of(without_hazard, 'leader: second')}: events.second_killed.leader: ",
        "can never be in office on 2020-04-06",
    )


def test_a_variant_that_breaks_the_chain_is_warned_of_at_its_edit(tmp_path: Path) -> None:
    # Sparing the founder makes the later removal of his successor moot in that
    # counterfactual: its meaning, not a mistake, so a warning and not an error.
    text = edit("    remove_events: [vote]\n", "    remove_events: [founder_dies]\n", SCHEDULED)
    file = write(tmp_path, text)
    warnings = [str(w) for w in load(file).warnings]
    # A removed event has no line of its own: the variant's.
    where = (
        f"{file}:{line_of(text, '  no_vote:')}: variants.no_vote -> events.second_killed.leader: "
    )
    assert any(w.startswith(where) and "can never be in office" in w for w in warnings), warnings


def test_a_variant_without_the_change_of_government_is_warned_of_not_refused(
    tmp_path: Path,
) -> None:
    # A counterfactual in which the election never happens leaves its winner
    # out of office: its meaning, so a warning at the variant, not an error.
    text = edit("    remove_events: [vote]\n", "    remove_events: [election]\n", CHAIN)
    file = write(tmp_path, text)
    warnings = [str(w) for w in load(file).warnings]
    assert any(
        w.startswith(f"{file}:{line_of(text, '  no_vote:')}: variants.no_vote -> leaders.dove")
        and "never takes office" in w
        for w in warnings
    ), warnings


# -------------------------------------------------------- effects: warnings


def test_overlapping_rounds_are_a_warning(tmp_path: Path) -> None:
    text = edit(
        "variants:\n",
        "  - id: second_track\n    type: negotiation_round\n    date: 2020-09-07\n"
        "    mediator: envoy\nvariants:\n",
        CHAIN,
    )
    file = write(tmp_path, text)
    warnings = [str(w) for w in load(file).warnings]
    line = line_of(text, "date: 2020-09-07")
    assert warnings == [
        f"{file}:{line}: events.second_track.date: overlaps round 'talks' (in session to "
        "2020-10-26): while both are, their mediators act jointly (combined leverage "
        "1 - prod(1 - leverage))"
    ]


def test_rounds_that_only_touch_do_not_warn(tmp_path: Path) -> None:
    text = edit(
        "variants:\n",
        "  - id: next_round\n    type: negotiation_round\n    date: 2020-10-26\n"
        "    mediator: envoy\nvariants:\n",
        CHAIN,
    )
    assert load(write(tmp_path, text)).warnings == ()


def test_a_round_longer_than_any_calendar_still_warns_of_overlap(tmp_path: Path) -> None:
    # Found by the fuzz test: the overlap check added 1e30 weeks to a date and
    # raised OverflowError. The longest duration (the longest calendar) still
    # overlaps a later round; a longer one is out of range, reported, no crash.
    second_round = (
        "  - id: second_track\n    type: negotiation_round\n    date: 2021-05-03\n"
        "    mediator: envoy\nvariants:\n"
    )
    text = edit(
        "variants:\n",
        second_round,
        edit("    duration_weeks: 12\n", "    duration_weeks: 5218\n", CHAIN),
    )
    file = write(tmp_path, text)
    (warning,) = load(file).warnings
    assert str(warning).startswith(
        f"{file}:{line_of(text, 'date: 2021-05-03')}: events.second_track.date: overlaps round 'talks'"
    ), warning
    huge = text.replace(
        "    duration_weeks: 5218\n", "    duration_weeks: 1000000000000000000000000000000\n"
    )
    file = write(tmp_path, huge)
    with pytest.raises(ScenarioError) as caught:
        load(file)
    assert [str(p) for p in caught.value.problems] == [
        f"{file}:{line_of(huge, 'duration_weeks: 1000')}: events.talks.duration_weeks: "
        "must be <= 5218.0 (got 1000000000000000000000000000000)"
    ]


def test_a_referendum_before_any_round_is_a_warning(tmp_path: Path) -> None:
    text = edit("    date: 2021-01-04\n    approval:", "    date: 2020-03-02\n    approval:", CHAIN)
    file = write(tmp_path, text)
    (warning,) = load(file).warnings
    assert str(warning).startswith(
        f"{file}:{line_of(text, 'date: 2020-03-02', 2)}: events.vote.date: "
    )
    assert "no negotiation round comes before it" in str(warning)


# ----------------------------------------------------------------------- CLI


def overlapping(tmp_path: Path) -> Path:
    text = edit("    duration_weeks: 12\n", "    duration_weeks: 40\n", CHAIN)
    text = edit(
        "variants:\n",
        "  - id: second_track\n    type: negotiation_round\n    date: 2020-09-07\n"
        "    mediator: envoy\nvariants:\n",
        text,
    )
    return write(tmp_path, text, "overlap.yaml")


def test_validate_prints_warnings_and_succeeds(tmp_path: Path) -> None:
    file = overlapping(tmp_path)
    result = CliRunner().invoke(main, ["validate", str(file)])
    assert result.exit_code == 0, result.output
    assert "events.second_track.date: warning: overlaps round 'talks'" in result.output
    assert f"{file}: ok (chain:" in result.output


def test_validate_strict_fails_on_a_warning(tmp_path: Path) -> None:
    file = overlapping(tmp_path)
    result = CliRunner().invoke(main, ["validate", "--strict", str(file)])
    assert result.exit_code == 1
    assert "warning: overlaps round 'talks'" in result.output
    assert f"{file}: ok" not in result.output
    assert "1 of 1 file(s) have problems." in result.output


def test_validate_strict_passes_a_file_without_warnings(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["validate", "--strict", str(write(tmp_path, CHAIN))])
    assert result.exit_code == 0, result.output


# ---------------------------------------------------------------------- YAML


def test_unclosed_bracket_names_the_line_it_opened_on(tmp_path: Path) -> None:
    text = edit(
        "    mediator: [envoy, neighbour_envoy]\n", "    mediator: [envoy, neighbour_envoy\n", CHAIN
    )
    file = write(tmp_path, text)
    (found,) = problems(file)
    opened = line_of(text, "mediator: [envoy")
    assert found.startswith(f"{file}:{opened + 1}: YAML syntax error, column ")
    assert found.endswith(f"(the bracket '[' opened on line {opened}, column 15)")


def test_unclosed_quote_names_the_line_it_opened_on(tmp_path: Path) -> None:
    text = edit("    commander: a field commander\n", '    commander: "a field commander\n', CHAIN)
    file = write(tmp_path, text)
    (found,) = problems(file)
    assert f"(the quote opened on line {line_of(text, 'commander: "a')}, column 16)" in found


def test_an_error_where_it_is_noticed_names_one_line(tmp_path: Path) -> None:
    text = edit("    kind: opposition\n", "    kind: [opposition]]\n", CHAIN)
    (found,) = problems(write(tmp_path, text))
    assert "opened on line" not in found


def test_a_head_of_government_chain_with_no_one_in_office_is_an_error(tmp_path: Path) -> None:
    text = edit("    in_office: true\n    resolve: 0.9\n", "    resolve: 0.9\n", CHAIN)
    file = write(tmp_path, text)
    assert_reported(
        problems(file),
        f"{file}:{line_of(text, 'hawk:')}: leaders.hawk: ",
        "no head of government is in office at the start: mark the one who is with "
        "`in_office: true`",
    )


def test_a_head_of_government_who_never_takes_office_is_an_error(tmp_path: Path) -> None:
    text = CHAIN.replace(
        "    willingness_bias: 1.0\n",
        "    willingness_bias: 1.0\n  envoy_in_waiting:\n    government: gov\n    resolve: 0.5\n",
        1,
    )
    file = write(tmp_path, text)
    assert_reported(
        problems(file),
        f"{file}:{line_of(text, 'envoy_in_waiting:')}: leaders.envoy_in_waiting: ",
        "this head of government never takes office, so he changes nothing: mark "
        "`in_office: true` if he is in office at the start, or bring him in with a "
        "`government_change` event",
    )


def test_two_heads_of_government_in_office_at_the_start_is_an_error(tmp_path: Path) -> None:
    text = edit(
        "    government: gov\n    resolve: 0.2\n",
        "    government: gov\n    in_office: true\n    resolve: 0.2\n",
        CHAIN,
    )
    file = write(tmp_path, text)
    assert_reported(
        problems(file),
        f"{file}:{line_of(text, 'in_office: true', 2)}: leaders.dove.in_office: ",
        "another head of government is in office at the start",
    )

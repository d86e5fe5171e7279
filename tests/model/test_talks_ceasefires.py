"""Ceasefires as agreements, rounds that recur, truces by and against named sides, votes by a body.

Issue 20 (items 2 and 5) and issue 23 (item 4): each submodel against its
closed form, then in a small world.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.stats import binom

from negsim.model import talks
from negsim.model.observations import outcomes
from negsim.model.world import ConflictModel
from negsim.scenario import Scenario, load

unit = st.floats(0.0, 1.0)

# ------------------------------------------------------------ closed forms


def test_a_ceasefire_is_signed_by_both_sides_only_where_neither_gains_by_fighting_on():
    cost_g = np.array([0.1, 0.1, 0.1, 0.1])
    cost_o = np.array([0.1, 0.1, 0.1, 0.1])
    # Stalemate; the opposition gaining a little, a lot; the government gaining a lot.
    momentum = np.array([0.0, 0.001, 0.01, -0.01])
    government, opposition = talks.ceasefire_acceptance(
        cost_g, cost_o, momentum, np.array([26.0] * 4), np.array([1.0] * 4)
    )
    # Gains over the horizon: 0, 0.026, 0.26 and 0.26 for the side on the move.
    assert government.tolist() == [True, True, True, False]
    assert opposition.tolist() == [True, True, False, True]


@given(cost=unit, momentum=st.floats(-0.05, 0.05), weight=st.floats(0.0, 3.0))
def test_ceasefire_acceptance_closed_form(cost, momentum, weight):
    c, m, h, w = np.array([cost]), np.array([momentum]), np.array([26.0]), np.array([weight])
    government, opposition = talks.ceasefire_acceptance(c, c, m, h, w)
    assert bool(opposition[0]) == (cost >= weight * max(0.0, momentum) * 26.0)
    assert bool(government[0]) == (cost >= weight * max(0.0, -momentum) * 26.0)
    # At most the side on the move refuses.
    assert government[0] or opposition[0]


@given(
    base=unit,
    residual=unit,
    outside=unit,
    shift=st.floats(-0.1, 0.1),
    weights=st.tuples(unit, unit, st.floats(0.0, 5.0)),
)
def test_ceasefire_hazard_closed_form(base, residual, outside, shift, weights):
    w_v, w_o, w_s = weights
    got = talks.ceasefire_hazard(
        np.array([base]),
        np.array([residual]),
        np.array([outside]),
        np.array([shift]),
        np.array([w_v]),
        np.array([w_o]),
        np.array([w_s]),
    )[0]
    expected = min(1.0, base + w_v * residual + w_o * outside + w_s * abs(shift))
    assert got == pytest.approx(expected, rel=1e-12, abs=1e-15)


def test_a_ceasefire_calms_only_the_fronts_and_fire_among_those_it_binds():
    # Combatants: 0 government, 1 and 2 factions, 3 a spoiler; two regions.
    calm = np.array([0.4])
    covered = np.array([[True, True, True, False]])
    present = np.array([[[True, True, False, True], [True, False, True, False]]])
    strength = np.array([[2.0, 1.0, 3.0, 1.0]])
    region, pair, spoiler = talks.bound_fighting(
        calm, covered, present, strength, 0, np.array([1, 2]), np.array([3])
    )
    # The spoiler holds ground in the first region: the war goes on there.
    np.testing.assert_allclose(region, [[1.0, 0.4]])
    np.testing.assert_allclose(pair, [0.4])
    np.testing.assert_allclose(spoiler, [[1.0]])
    # One faction (strength 3 of 4) outside: the fire between the sides is held by 1/4 of 0.6.
    partly = np.array([[True, True, False, False]])
    _, pair, _ = talks.bound_fighting(
        calm, partly, present, strength, 0, np.array([1, 2]), np.array([3])
    )
    np.testing.assert_allclose(pair, [1.0 - 0.6 * 0.25])


def test_a_truce_aimed_at_named_enemies_holds_effort_only_where_they_are():
    calm = np.array([0.0, 1.0, 0.4])
    # Shares of the enemy ground held by the enemies aimed at, in two regions.
    aimed_ground = np.array([[1.0, 0.0], [1.0, 0.0], [0.5, 0.25]])
    ground, fire = talks.targeted_truce(calm, aimed_ground, np.array([0.5, 0.5, 1.0]))
    np.testing.assert_allclose(ground, [[0.0, 1.0], [1.0, 1.0], [0.7, 0.85]])
    np.testing.assert_allclose(fire, [0.5, 1.0, 0.4])


@pytest.mark.parametrize(
    ("seats", "quota"), [(1, 0.5), (3, 0.5), (100, 0.5), (101, 0.667), (7, 0.0), (7, 1.0)]
)
@pytest.mark.parametrize("support", [0.0, 0.3, 0.5, 0.62, 1.0])
def test_ratification_vote_probability_is_the_binomial_tail(seats, quota, support):
    got = talks.ratification_vote_probability(np.array([support]), seats, np.array([quota]))[0]
    needed = int(np.ceil(quota * seats - 1e-9))
    expected = sum(binom.pmf(k, seats, support) for k in range(needed, seats + 1))
    assert got == pytest.approx(expected, rel=1e-9, abs=1e-12)
    if seats == 1:
        assert got == pytest.approx(support if quota > 0 else 1.0)


def test_a_large_body_passes_a_deal_it_supports_and_fails_one_it_does_not():
    """Unlike a referendum's single draw, many seats make the outcome nearly certain."""
    support = np.array([0.55, 0.45])
    body = talks.ratification_vote_probability(support, 500, np.array([0.5, 0.5]))
    assert body[0] > 0.98 and body[1] < 0.02


# ----------------------------------------------------------------- a world

WORLD = """\
name: process
calendar:
  start: 2012-01-02
  end: 2016-12-26
issue:
  name: autonomy
actors:
  gov:
    kind: government
    capability: 1.0
    resolve: 0.5
    willingness_bias: 0.0
  opp:
    kind: opposition
    resolve: 0.5
    willingness_bias: 0.0
  rebels:
    kind: faction
    coalition: opp
    capability: 0.6
  militia:
    kind: spoiler
    capability: 0.3
  envoy:
    kind: mediator
    leverage: 0.6
regions:
  north:
    control: {gov: 0.3, rebels: 0.4, militia: 0.3}
  south:   # not adjacent: the militia never reaches it
    control: {gov: 0.6, rebels: 0.4}
events:
  - id: process
    type: negotiation_round
    date: 2012-03-05
    mediator: envoy
    duration_weeks: 2
    every: 8
    until: 2015-12-28
"""

SEED = 5


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    path = tmp_path_factory.mktemp("process") / "process.yaml"
    path.write_text(WORLD, encoding="utf-8")
    return load(path).scenario


def edited(scenario: Scenario, edit) -> Scenario:
    data = scenario.model_dump()
    edit(data)
    return Scenario.model_validate(data)


def event(data: dict, event_id: str) -> dict:
    return next(e for e in data["events"] if e["id"] == event_id)


def test_a_recurring_round_is_in_session_for_its_sessions_only(world):
    model = ConflictModel(world, replications=2, seed=SEED)
    (process,) = model.events
    first = model.week_of(dt.date(2012, 3, 5))
    last = model.week_of(dt.date(2015, 12, 28))
    weeks = np.arange(model.weeks)
    expected = (
        (weeks >= first) & ((weeks - first) % 8 < 2) & (first + 8 * ((weeks - first) // 8) <= last)
    )
    got = np.array([process.active(w)[0] for w in weeks])
    np.testing.assert_array_equal(got, expected)
    # Nearly 4 years of sessions every 8 weeks (weeks 9 to 199): 25 sessions in one entry.
    assert np.sum(got) == 2 * 25


def test_a_long_process_written_as_one_entry_can_succeed_where_one_round_rarely_does(world):
    """Both sides have a bargaining range; 25 sessions agree more often than their first alone.

    Measured (200 runs, seed 5): agreement in 100 % of runs with the
    recurring entry, 0 % with its first session alone (7.0 and 1.7 weeks at
    the table).
    """
    recurring = outcomes(ConflictModel(world, replications=200, seed=SEED).run())

    def once(data):
        del event(data, "process")["every"]
        del event(data, "process")["until"]

    single = outcomes(ConflictModel(edited(world, once), replications=200, seed=SEED).run())
    assert recurring["bargaining_range_at_talks"].mean() > 0
    assert recurring["agreement"].mean() > 0
    assert recurring["agreement"].mean() > single["agreement"].mean()
    assert recurring["talks_weeks"].mean() > single["talks_weeks"].mean()


def test_until_needs_every_and_comes_after_the_date(world):
    def no_every(data):
        del event(data, "process")["every"]

    with pytest.raises(ValueError, match="'until' needs 'every'"):
        edited(world, no_every)

    def early(data):
        event(data, "process")["until"] = dt.date(2011, 1, 3)

    with pytest.raises(ValueError, match="before the round's date"):
        edited(world, early)


def _ceasefire(**fields) -> dict:
    return {
        "id": "cessation",
        "type": "ceasefire",
        "date": dt.date(2012, 6, 4),
        "strength": 1.0,
        "duration_weeks": 6,
        **fields,
    }


def _with(world: Scenario, *events: dict) -> Scenario:
    def edit(data):
        data["events"] = list(events)

    return edited(world, edit)


def _week_losses(scenario: Scenario, week: int, replications: int = 4) -> np.ndarray:
    model = ConflictModel(scenario, replications=replications, seed=SEED)
    while model.week < week:
        model.step()
    before = model.losses.copy()
    control = model.control.copy()
    model.step()
    return model.losses - before, model.control - control, model


def test_a_ceasefire_leaves_the_groups_outside_it_fighting(world):
    week = 22  # the cessation's first week (2012-06-04)
    lost, moved, model = _week_losses(_with(world, _ceasefire()), week)
    war_lost, war_moved, _ = _week_losses(_with(world), week)
    gov, rebels = model.government.index, model.combatant_columns["rebels"]
    militia = model.combatant_columns["militia"]
    north, south = model.region_keys.index("north"), model.region_keys.index("south")
    # Default coverage: the parties at the table hold all fire at each other.
    assert np.all(lost[:, gov] == 0.0) and np.all(lost[:, rebels] == 0.0)
    # The militia is outside it: it loses what it would in war, and the north (where
    # it holds ground) moves as in war while the south (the two sides only) is frozen.
    np.testing.assert_allclose(lost[:, militia], war_lost[:, militia], rtol=1e-9)
    np.testing.assert_allclose(moved[:, north], war_moved[:, north], rtol=1e-9, atol=1e-15)
    assert np.all(moved[:, south] == 0.0)
    assert np.all(model.outside_share > 0) and np.all(model.ceasefire_in_force)


def test_a_ceasefire_that_covers_the_spoiler_calms_it_too(world):
    week = 22
    lost, _, model = _week_losses(_with(world, _ceasefire(covers=["gov", "opp", "militia"])), week)
    assert np.all(lost == 0.0)
    assert np.all(model.outside_share == 0.0)


def test_the_opposition_as_the_declaring_side_is_a_truce_by_all_its_factions(world):
    lost, _, model = _week_losses(_with(world, _ceasefire(actor="opp")), 22)
    gov = model.government.index
    # The rebels hold their fire: the government loses nothing; the government fights on.
    assert np.all(lost[:, gov] == 0.0)
    assert np.all(lost[:, model.combatant_columns["rebels"]] > 0.0)
    assert not model.ceasefire_in_force.any()


def test_a_truce_aimed_at_the_insurgents_does_not_stop_the_fight_with_a_third_group(world):
    aimed = _with(world, _ceasefire(actor="gov", against=["opp"]))
    everyone = _with(world, _ceasefire(actor="gov"))
    lost, _, model = _week_losses(aimed, 22)
    lost_all, _, _ = _week_losses(everyone, 22)
    war_lost, _, _ = _week_losses(_with(world), 22)
    rebels = model.combatant_columns["rebels"]
    militia = model.combatant_columns["militia"]
    # Its fire at the rebels is held either way.
    assert np.all(lost[:, rebels] == 0.0) and np.all(lost_all[:, rebels] == 0.0)
    # Aimed at the insurgents, the government's effort in the south (the rebels' ground
    # only) is held, but in the north it is held only by the rebels' share of the enemy
    # ground: it fights on against the militia, who lose more than under a truce
    # towards everyone.
    held = model.ground_truce[:, :, model.government.index]
    assert np.all(held[:, model.region_keys.index("south")] == 0.0)
    assert np.all(held[:, model.region_keys.index("north")] > 0.0)
    assert np.all(held[:, model.region_keys.index("north")] < 1.0)
    assert np.all(lost[:, militia] > lost_all[:, militia])
    assert np.all(war_lost[:, militia] > 0)


def test_a_body_that_votes_a_deal_down_ends_it_and_the_week_is_recorded(world):
    def edit(data):
        data["actors"]["gov"]["willingness_bias"] = 6.0
        data["actors"]["opp"]["willingness_bias"] = 6.0
        data["events"].append(
            {
                "id": "congress",
                "type": "ratification",
                "date": dt.date(2016, 6, 6),
                "body": "Congress",
                "seats": 101,
                "support": 0.0,
            }
        )

    model = ConflictModel(edited(world, edit), replications=50, seed=SEED).run()
    names = model.recorder.names
    weekly = model.recorder.values[names.index("voted_down")]
    vote = model.week_of(dt.date(2016, 6, 6))
    result = outcomes(model)
    # The series and the per-run count agree, and only the vote's week has any.
    np.testing.assert_array_equal(weekly.sum(axis=0), result["deals_voted_down"])
    assert np.all(weekly[np.arange(model.weeks) != vote] == 0)
    assert result["deals_voted_down"].sum() > 0
    assert not np.any(model.talks.in_force[result["deals_voted_down"] > 0])


def test_an_agreement_binds_whom_its_round_covers(world):
    def willing(data, covers=None):
        data["actors"]["gov"]["willingness_bias"] = 6.0
        data["actors"]["opp"]["willingness_bias"] = 6.0
        if covers is not None:
            event(data, "process")["covers"] = covers

    militia = ConflictModel(world, 1, seed=SEED).combatant_columns["militia"]
    default = ConflictModel(edited(world, willing), 40, seed=SEED).run()
    agreed = default.talks.agreed
    assert agreed.any()
    # Default: the parties at the table; the militia is outside.
    assert not default.talks.agreement_covers[agreed, militia].any()
    assert default.talks.agreement_covers[agreed].sum(axis=-1).min() == 2

    def everyone(data):
        willing(data, ["gov", "opp", "militia"])

    named = ConflictModel(edited(world, everyone), 40, seed=SEED).run()
    assert named.talks.agreement_covers[named.talks.agreed].all()


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"covers": ["gov", "nobody"]}, "unknown"),
        ({"against": ["opp"]}, "'against' needs 'actor'"),
        ({"actor": "gov", "covers": ["opp"]}, "use 'against'"),
        ({"actor": "envoy"}, "not a combatant"),
    ],
)
def test_ceasefire_coverage_is_checked_one_line_per_problem(tmp_path, fields, message):
    from negsim.errors import ScenarioError

    extra = "".join(
        f"\n    {key}: {value if isinstance(value, str) else '[' + ', '.join(value) + ']'}"
        for key, value in fields.items()
    )
    text = WORLD + ("  - id: cessation\n    type: ceasefire\n    date: 2012-06-04" + extra + "\n")
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ScenarioError) as raised:
        load(path)
    assert message in str(raised.value)
    assert "Traceback" not in str(raised.value)


def test_a_truce_by_the_whole_coalition_validates(tmp_path):
    path = tmp_path / "truce.yaml"
    path.write_text(
        WORLD
        + "  - id: truce\n    type: ceasefire\n    date: 2012-06-04\n    actor: opp\n"
        + "    against: [gov]\n",
        encoding="utf-8",
    )
    assert load(path).scenario.events[-1].actor == "opp"

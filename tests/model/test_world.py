"""The whole model: invariants, reproducibility, common random numbers, the two worlds.

Property tests run at R = 1 and at R > 1 (the ensemble axis must not change
the mechanics), for random seeds and random perturbations of the scenarios.
"""

from __future__ import annotations

import datetime as dt
import functools
import multiprocessing
import random
from pathlib import Path

import numpy as np
import pytest
from docking import DOCKED_RUN, assert_docked
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from negsim.model import negotiation
from negsim.model.agents import (
    ActorsWorld,
    Faction,
    Government,
    Leader,
    Mediator,
    Opposition,
    Patron,
    Spoiler,
)
from negsim.model.observations import RecordedWorld, metric_names, outcomes
from negsim.model.talks import TalksWorld
from negsim.model.world import TALKS_AGREEMENT, ConflictModel
from negsim.scenario import RUN_METRICS, Scenario, ScenarioFile, load

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
GENEVA3 = "geneva3.yaml"
RIPENESS = "ripeness.yaml"
ALLOUSH_KILLED = dt.date(2015, 12, 25)
GENEVA3_OPENS = dt.date(2016, 1, 29)
SEED = 20160129  # the experiment seed of both files


@functools.cache
def scenario_file(name: str) -> ScenarioFile:
    return load(SCENARIOS / name)


def variant(name: str, which: str = "base") -> Scenario:
    return scenario_file(name).variant(which)


def edited(scenario: Scenario, edit) -> Scenario:
    """A re-validated copy of ``scenario`` after ``edit(data)`` changed its plain data."""
    data = scenario.model_dump()
    edit(data)
    return type(scenario).model_validate(data)


def perturbed(scenario: Scenario, parameters: dict, actors: dict) -> Scenario:
    def edit(data):
        data["parameters"].update(parameters)
        for key, fields in actors.items():
            data["actors"][key].update(fields)

    return edited(scenario, edit)


def events_without(scenario: Scenario, *ids: str) -> Scenario:
    def edit(data):
        data["events"] = [e for e in data["events"] if e["id"] not in ids]

    return edited(scenario, edit)


def run(scenario: Scenario, replications: int, seed: int, chunk: int = 0) -> ConflictModel:
    return ConflictModel(scenario, replications=replications, seed=seed, chunk=chunk).run()


def row(model: ConflictModel, name: str) -> np.ndarray:
    """One recorded metric, shape (week, R)."""
    return model.recorder.values[model.recorder.names.index(name)]


# ------------------------------------------------------------- invariants


def check_state(model: ConflictModel) -> None:
    """Invariants that must hold after every step, in every replication."""
    control = model.control
    assert np.all(np.abs(control.sum(-1) - 1.0) <= 1e-9), "control shares must sum to 1"
    assert np.all(control >= 0.0) and np.all(control <= 1.0 + 1e-12)
    for party in (model.government, model.opposition):
        assert np.all((party.willingness >= 0) & (party.willingness <= 1))
        assert np.all((party.expected >= 0) & (party.expected <= 1))
        assert np.all(party.hurt >= 0)
    assert np.all((model.ripeness >= 0) & (model.ripeness <= 1))
    assert np.all((model.opposition.cohesion >= 0) & (model.opposition.cohesion <= 1))
    for faction in model.opposition.factions:
        assert np.all((faction.cohesion >= 0) & (faction.cohesion <= 1))
    for name in ("forces", "strength", "support", "losses"):
        assert np.all(getattr(model, name) >= 0), f"{name} negative"
    assert np.all(np.isfinite(model.forces)) and np.all(np.isfinite(model.strength))
    for patron in model.patrons.values():
        assert np.all(patron.support >= 0)


def check_settlements(model: ConflictModel) -> None:
    """A settlement lies between what both sides accepted that week, and holds the fronts while in force."""
    talks = model.talks
    agreed = talks.agreed
    low, high = talks.settlement_range[:, 0], talks.settlement_range[:, 1]
    settlement = talks.settlement
    assert np.all(np.isnan(settlement[~agreed])) and np.all(np.isnan(low[~agreed]))
    s, lo, hi = settlement[agreed], low[agreed], high[agreed]
    assert np.all(np.isfinite(s))
    assert np.all((lo - 1e-12 <= s) & (s <= hi + 1e-12))
    assert np.all((s >= 0.0) & (s <= 1.0))
    weeks = talks.agreement_week[agreed].astype(int)
    assert np.all((weeks >= 0) & (weeks < model.weeks))
    replications = np.flatnonzero(agreed)
    state = row(model, "talks_state")
    assert np.all(state[weeks, replications] == TALKS_AGREEMENT)
    assert np.all(row(model, "talks_in_session")[weeks, replications] == 1)
    # 'agreement' (ever reached) is absorbing; while a deal that binds every combatant is in
    # force the fronts stand still (groups outside it fight on: test_talks_ceasefires.py).
    recorded = row(model, "agreement")
    assert np.all(np.diff(recorded, axis=0) >= 0)
    in_force = row(model, "agreement_in_force")
    assert np.all(in_force <= recorded)
    n = len(model.combatants)
    control = model.recorder.values[n : 2 * n]
    for week, r in zip(weeks, replications, strict=True):
        assert np.all(recorded[week:, r] == 1) and np.all(recorded[:week, r] == 0)
        run_end = week
        while run_end + 1 < model.weeks and in_force[run_end + 1, r] == 1:
            run_end += 1
        if model.talks.agreement_covers[r].all():
            assert np.allclose(control[:, week : run_end + 1, r], control[:, week : week + 1, r])


def check_recorded(model: ConflictModel) -> None:
    values = model.recorder.values
    assert np.all(np.isfinite(values))
    n = len(model.combatants)
    assert np.allclose(values[n : 2 * n].sum(axis=0), 1.0, atol=1e-5)
    for name in ("willingness.government", "willingness.opposition", "ripeness"):
        assert np.all((row(model, name) >= 0) & (row(model, name) <= 1)), name
    assert np.all(
        (row(model, "opposition_cohesion") >= 0) & (row(model, "opposition_cohesion") <= 1)
    )
    assert np.all(values[:n] >= 0)


perturbations = st.fixed_dictionaries(
    {
        "contest_decisiveness": st.floats(0.0, 3.0),
        "attrition_rate": st.floats(0.0, 0.3),
        "front_rate": st.floats(0.0, 1.0),
        "fighting_noise": st.floats(0.0, 1.0),
        "belief_noise": st.floats(0.0, 0.2),
        "hurt_threshold": st.floats(0.001, 0.05),
        "cohesion_loss_weight": st.floats(0.0, 20.0),
        "commitment_threshold": st.floats(0.0, 1.0),
        "hardline_margin": st.floats(0.0, 0.5),
        "commitment_horizon_weeks": st.floats(0.0, 52.0),
        # The talks rework's constants (issue 20), across their ranges.
        "willingness_surplus": st.floats(0.0, 40.0),
        "mediator_insight": st.floats(0.0, 1.0),
        "delegation_veto": st.floats(0.0, 5.0),
        "resumption_rate": st.floats(0.0, 1.0),
        "cooling_off_weeks": st.floats(0.0, 10.0),
    }
)
actor_perturbations = st.fixed_dictionaries(
    {
        # A mediator's bias is a tilt on the issue line: documented range [-1, 1].
        "un": st.fixed_dictionaries({"bias": st.floats(-1.0, 1.0), "leverage": st.floats(0, 1)}),
        "regime": st.fixed_dictionaries(
            {"resolve": st.floats(0.0, 1.0), "optimism": st.floats(-0.3, 0.3)}
        ),
        "opposition": st.fixed_dictionaries(
            {"resolve": st.floats(0.0, 1.0), "cohesion": st.floats(0.0, 1.0)}
        ),
        "saudi_arabia": st.fixed_dictionaries({"responsiveness": st.floats(-5.0, 5.0)}),
        "russia": st.fixed_dictionaries({"capacity": st.floats(0.0, 2.0)}),
    }
)
worlds = st.sampled_from(
    [(file, name) for file in (GENEVA3, RIPENESS) for name in ("base", "no_russian_escalation")]
    + [(GENEVA3, "alloush_alive"), (RIPENESS, "neither")]
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    world=worlds,
    replications=st.sampled_from([1, 3, 17]),
    seed=st.integers(0, 2**32 - 1),
    parameters=perturbations,
    actors=actor_perturbations,
)
def test_invariants_hold_every_week(world, replications, seed, parameters, actors):
    scenario = perturbed(variant(*world), parameters, actors)
    model = ConflictModel(scenario, replications=replications, seed=seed)
    check_state(model)
    while model.week < model.weeks:
        model.step()
        check_state(model)
    check_settlements(model)
    check_recorded(model)


@pytest.mark.parametrize("replications", [1, 3, 17])
def test_invariants_and_settlements_when_agreements_happen(replications):
    """In the ripeness world most runs agree: the settlement check is not vacuous."""
    agreed = 0
    for seed in range(4):
        model = ConflictModel(variant(RIPENESS), replications=replications, seed=seed)
        while model.week < model.weeks:
            model.step()
            check_state(model)
        check_settlements(model)
        check_recorded(model)
        agreed += int(model.talks.agreed.sum())
    assert agreed >= replications


def test_settlement_inside_range_with_an_extreme_mediator():
    """A mediator at either end of its bias range (a tilt of the whole disputed interval) still proposes inside it."""
    for bias in (-1.0, 1.0):
        scenario = perturbed(variant(RIPENESS), {}, {"un": {"bias": bias}})
        model = run(scenario, 50, seed=3)
        talks = model.talks
        assert talks.agreed.any()
        check_settlements(model)
        # The proposal sits at the edge of what was still disputed (between offer and demand).
        s = talks.settlement[talks.agreed]
        assert np.all((s >= 0.0) & (s <= 1.0))


@pytest.mark.parametrize("replications", [1, 17])
def test_extreme_fighting_keeps_the_state_valid(replications):
    """Regression for three numerical edge cases of the fighting stage.

    A very decisive contest (x^m overflowed: nan shares, nan beliefs), a
    faction wiped out within a week (forces rounded to -1e-17) and an
    annihilation inside the Lanchester step (the survivor grew again).
    """

    def edit(data):
        # The top of the documented range (100: x^m saturates every contest there).
        data["parameters"].update(contest_decisiveness=100.0, attrition_rate=1.0)
        data["actors"]["ahrar_al_sham"]["capability"] = 0.002
        data["actors"]["jaish_al_islam"]["recruitment"] = 0.0

    model = ConflictModel(edited(variant(GENEVA3), edit), replications=replications, seed=0)
    while model.week < model.weeks:
        before = model.forces.copy()
        model.step()
        check_state(model)
        assert np.all(np.isfinite(model.government.expected))
        # Losses and recruitment towards the initial forces: no side grows past both.
        assert np.all(model.forces <= np.maximum(before, model.base_forces) + 1e-12)
    check_recorded(model)


# -------------------------------------------------------- reproducibility


def assert_same_run(first: ConflictModel, second: ConflictModel) -> None:
    assert np.array_equal(first.recorder.values, second.recorder.values)
    a, b = outcomes(first), outcomes(second)
    assert a.keys() == b.keys()
    for name in a:
        assert np.array_equal(a[name], b[name], equal_nan=True), name


@pytest.mark.parametrize("replications", [1, 17])
@pytest.mark.parametrize("file", [GENEVA3, RIPENESS])
def test_same_seed_same_results(file, replications):
    scenario = variant(file)
    assert_same_run(run(scenario, replications, 42), run(scenario, replications, 42))


@pytest.mark.parametrize("replications", [1, 17])
def test_different_seed_or_chunk_different_results(replications):
    scenario = variant(GENEVA3)
    reference = run(scenario, replications, 42)
    for other in (run(scenario, replications, 43), run(scenario, replications, 42, chunk=1)):
        assert not np.array_equal(reference.recorder.values, other.recorder.values)
        assert not np.array_equal(
            outcomes(reference)["government_losses"], outcomes(other)["government_losses"]
        )


def test_results_depend_on_no_global_or_shared_random_state():
    scenario = variant(GENEVA3)
    np.random.seed(0)
    random.seed(0)
    alone = run(scenario, 5, 7)
    np.random.seed(12345)
    random.seed(12345)
    first = ConflictModel(scenario, replications=5, seed=7)
    other = ConflictModel(variant(RIPENESS), replications=5, seed=7)
    while first.week < first.weeks:  # interleaved with another model
        first.step()
        other.step()
        np.random.random(3)
        random.random()
    assert_same_run(alone, first)


def test_replications_within_a_run_are_not_copies():
    model = run(variant(GENEVA3), 17, 1)
    losses = outcomes(model)["government_losses"]
    assert len(np.unique(losses)) == 17


# --------------------------------------------------- common random numbers


@pytest.mark.parametrize("replications", [1, 3, 17])
@pytest.mark.parametrize("file", [GENEVA3, RIPENESS])
def test_variants_identical_before_the_leader_removal(file, replications):
    base = run(variant(file), replications, SEED)
    alive = run(variant(file, "alloush_alive"), replications, SEED)
    week = base.week_of(ALLOUSH_KILLED)
    assert 0 < week < base.weeks
    before_base = base.recorder.values[:, :week, :]
    assert np.array_equal(before_base, alive.recorder.values[:, :week, :])
    # The removal happens in week D: cohesion differs from then on.
    cohesion = row(base, "opposition_cohesion")
    assert np.all(cohesion[week] < row(alive, "opposition_cohesion")[week])
    # Stochastic removals of other leaders fire in the same weeks in both
    # variants: exactly one more removal (Alloush) in every replication.
    difference = outcomes(base)["leaders_removed"] - outcomes(alive)["leaders_removed"]
    assert np.array_equal(difference, np.ones(replications))


@pytest.mark.parametrize("which", ["no_russian_escalation", "alloush_alive", "neither"])
def test_every_variant_identical_before_its_first_removed_event(which):
    file = scenario_file(GENEVA3)
    base_events = {e.id: e for e in file.variant("base").events}
    kept = {e.id for e in file.variant(which).events}
    removed = [base_events[i] for i in base_events if i not in kept]
    first_date = min(e.date for e in removed)
    base = run(file.variant("base"), 17, SEED)
    other = run(file.variant(which), 17, SEED)
    week = base.week_of(first_date)
    assert np.array_equal(base.recorder.values[:, :week], other.recorder.values[:, :week])
    assert not np.array_equal(base.recorder.values[:, week:], other.recorder.values[:, week:])


@pytest.mark.parametrize(
    "event",
    [e.id for e in scenario_file(GENEVA3).variant("base").events if e.date is not None],
)
def test_removing_an_event_changes_nothing_before_it(event):
    scenario = variant(GENEVA3)
    date = next(e.date for e in scenario.events if e.id == event)
    base = run(scenario, 3, SEED)
    without = run(events_without(scenario, event), 3, SEED)
    week = base.week_of(date)
    assert np.array_equal(base.recorder.values[:, :week], without.recorder.values[:, :week])


def test_removing_a_stochastic_event_changes_nothing_before_its_window():
    scenario = variant(GENEVA3)
    spec = next(e for e in scenario.events if e.id == "hamawi_removed")
    base = run(scenario, 17, SEED)
    without = run(events_without(scenario, "hamawi_removed"), 17, SEED)
    week = base.week_of(spec.window_start)
    assert np.array_equal(base.recorder.values[:, :week], without.recorder.values[:, :week])


# ------------------------------------------------------------ smoke, agents


def test_one_run_goes_through_every_stage():
    scenario = variant(GENEVA3)
    model = ConflictModel(scenario, replications=1, seed=SEED)
    initial_control = model.control.copy()
    initial_beliefs = (model.government.expected.copy(), model.opposition.expected.copy())
    initial_cohesion = model.opposition.cohesion.copy()
    week_of = {e.id: model.week_of(e.date) for e in scenario.events if e.date is not None}
    russia, alloush = model.patrons["russia"], model.leaders["zahran_alloush"]
    seen_session = seen_ceasefire = False
    while model.week < model.weeks:
        week = model.week
        model.step()
        check_state(model)
        # Stage 1: events.
        intervening = week_of["russian_intervention"] <= week < week_of["russian_intervention"] + 24
        assert (russia.direct[0] > 0) == (intervening or week >= week_of["russian_drawdown"])
        assert bool(alloush.removed[0]) == (week >= week_of["alloush_killed"])
        if week_of["cessation_of_hostilities"] <= week < week_of["cessation_of_hostilities"] + 8:
            seen_ceasefire = True
            assert model.fighting_rate[0] <= 1 - 0.6 + 1e-12
        # Stage 2: patrons supply their clients.
        assert model.support[0, model.government.index] > 0
        # Stage 6: talks in session in Geneva III's week unless already agreed.
        if week == week_of["geneva3"]:
            seen_session = True
            assert model.talks.in_session[0] or model.talks.agreed[0]
    assert seen_session and seen_ceasefire
    assert model.week == model.weeks == model.steps
    # Stages 3-5 moved the state.
    assert not np.allclose(model.control, initial_control)
    assert model.government.expected[0] != initial_beliefs[0][0]
    assert model.opposition.expected[0] != initial_beliefs[1][0]
    assert model.opposition.cohesion[0] != initial_cohesion[0]
    assert model.losses.sum() > 0
    # What is reported.
    assert model.recorder.names == metric_names(model)
    assert model.recorder.values.shape == (len(model.recorder.names), model.weeks, 1)
    check_recorded(model)
    result = outcomes(model)
    assert tuple(result) == RUN_METRICS
    assert all(v.shape == (1,) for v in result.values())
    assert result["leaders_removed"][0] >= 1
    assert result["talks_weeks"][0] >= 1
    check_settlements(model)


def agent_counts(model: ConflictModel) -> dict[type, int]:
    return {kind: len(agents) for kind, agents in model.agents_by_type.items()}


@pytest.mark.parametrize("replications", [1, 17])
def test_agent_counts(replications):
    scenario = variant(GENEVA3)
    model = ConflictModel(scenario, replications=replications, seed=1)
    by_kind = {kind: len(scenario.actors_of(kind)) for kind in ("faction", "spoiler", "patron")}
    expected = {
        Government: 1,
        Opposition: 1,
        Faction: by_kind["faction"],
        Leader: by_kind["faction"],  # one per faction, named or not
        Spoiler: by_kind["spoiler"],
        Patron: by_kind["patron"],
        Mediator: 1,
    }
    assert expected == {
        Government: 1,
        Opposition: 1,
        Faction: 3,
        Leader: 3,
        Spoiler: 2,
        Patron: 4,
        Mediator: 1,
    }
    assert agent_counts(model) == expected
    assert len(model.agents) == 15
    assert len(model.combatants) == 6  # government, factions, spoilers
    # One agent carries all R replications: counts do not grow with R.
    model.run()
    assert agent_counts(model) == expected


def test_faction_without_named_leader_gets_a_collective_leadership():
    def edit(data):
        del data["leaders"]["bashar_al_zoubi"]
        data["events"] = [e for e in data["events"] if e["id"] != "zoubi_removed"]

    scenario = edited(variant(GENEVA3), edit)
    model = run(scenario, 3, 1)
    assert agent_counts(model)[Leader] == 3
    assert "southern_front_leadership" in model.leaders
    check_state(model)


def test_several_mediators_at_r_greater_than_one():
    """Regression: out of session the way out is the best mediator's, per replication.

    With two mediators and R > 1 the model used Python's max() on arrays and
    failed ('truth value of an array ... is ambiguous').
    """

    def edit(data):
        data["actors"]["un"]["leverage"] = {"uniform": {"low": 0.0, "high": 1.0}}
        data["actors"]["arab_league"] = {
            "kind": "mediator",
            "leverage": {"uniform": {"low": 0.0, "high": 1.0}},
        }

    scenario = edited(variant(GENEVA3), edit)
    model = ConflictModel(scenario, replications=17, seed=5)
    p = model.parameters
    best = np.maximum(model.mediators["un"].leverage, model.mediators["arab_league"].leverage)
    assert not np.array_equal(best, model.mediators["un"].leverage)
    for _ in range(8):  # no round in session in these weeks
        model.step()
        assert not model.talks.in_session.any()
        expected = negotiation.ripeness(
            model.government.hurt,
            model.opposition.hurt,
            model.momentum,
            p["hurt_threshold"],
            p["stalemate_tolerance"],
            best,
        )
        np.testing.assert_array_equal(model.ripeness, expected)
    model.run()
    check_state(model)


# ------------------------------------------------- the two worlds: escalation

RUNS = 2000


@functools.cache
def escalation_runs(file: str) -> dict[str, dict[str, np.ndarray]]:
    """Agreement, ripeness and opposition patrons' support at Geneva III, per variant."""
    result = {}
    for which in ("base", "no_russian_escalation"):
        model = ConflictModel(variant(file, which), replications=RUNS, seed=SEED)
        opening = model.week_of(GENEVA3_OPENS)
        while model.week < model.weeks:
            model.step()
            if model.week - 1 == opening:
                support = sum(model.patrons[k].support for k in model.opposition_patron_keys)
        result[which] = {
            "agreement": outcomes(model)["agreement"],
            "talks_held": outcomes(model)["talks_held"],
            "ripeness": row(model, "ripeness")[opening].astype(float),
            "opposition_patron_support": support,
        }
    return result


def effect(file: str, metric: str) -> np.ndarray:
    """Escalation's effect, replication by replication (paired by common random numbers)."""
    runs = escalation_runs(file)
    return runs["base"][metric] - runs["no_russian_escalation"][metric]


def interval(differences: np.ndarray) -> tuple[float, float]:
    """Normal 95 % interval of a mean of paired differences."""
    half = 1.96 * differences.std(ddof=1) / np.sqrt(len(differences))
    return differences.mean() - half, differences.mean() + half


def test_escalation_brings_agreement_in_the_ripeness_world():
    """The rival theory flips the sign: escalation raises the chance of agreement."""
    low, _ = interval(effect(RIPENESS, "agreement"))
    assert low > 0


def test_escalation_effect_differs_between_the_two_worlds():
    """Not a direction for geneva3 alone: the mechanism differs between the worlds.

    Measured before the talks rework of issue 20 (seed 20160129, 2000 runs;
    effect = base - no_russian_escalation, normal 95 % interval): agreement
    +0.0005 [-0.0017, +0.0027] in geneva3, +0.104 [+0.088, +0.119] in
    ripeness; after it (1,000 runs, the scenarios' seeds) +0.025 [0.016,
    0.035] and +0.055 [0.042, 0.069]. Since leader removal reaches the table
    (hardliners' outbidding) and the spin-up runs until settled (48 weeks, not
    26), the difference in agreement between the worlds (ripeness - geneva3,
    this test's 2,000 runs) is +0.005 [-0.003, +0.013]: each of the two
    alone narrows it (+0.0075 without the settled spin-up, +0.0025 without
    outbidding; +0.0115 [+0.003, +0.020] with neither), so only its sign is
    asserted; what differs is the ripeness the escalation brings. The minimal
    rival of issue 22 (only the UN's leverage, 0.9, and the hurt threshold,
    0.008, differ from geneva3; `negsim run scenarios/<name>.yaml`, 1,000 runs,
    the scenarios' seed): +0.009 [+0.005, +0.017] in geneva3, +0.154 [+0.132,
    +0.179] in ripeness.
    """
    assert effect(RIPENESS, "agreement").mean() > effect(GENEVA3, "agreement").mean()
    # Both worlds' patrons answer the escalation (geneva3 by the resupply of the
    # record, ripeness by responding to their client's prospects): what differs
    # is whether the hurt it brings makes the conflict ripe.
    ripeness_world = effect(RIPENESS, "ripeness").mean()
    geneva3_world = effect(GENEVA3, "ripeness").mean()
    assert ripeness_world > geneva3_world


# ------------------------------------------------------------------ spin-up


def _event_free(**parameters: object) -> Scenario:
    data = variant(GENEVA3).model_dump()
    data["events"] = []
    data["parameters"].update(parameters)
    return Scenario.model_validate(data)


def test_an_event_free_world_stays_flat_after_the_spin_up():
    """Issue 20: the government's control within 0.5 points, cohesion within 0.005 over the horizon.

    Before the spin-up ran until settled (26 fixed weeks), 47 event-free
    weeks moved cohesion by -0.0075; now (256 runs) by -0.0004, and the
    government's control by -0.45 points. Not every front is at rest: the
    Southern Front's ground grows by 0.7 points (4.50 % to 5.20 %) whether
    the spin-up runs 48 weeks or 200, a drift of the fighting itself (the
    map's resting shares under the noise), not of what the spin-up settles.
    """
    model = ConflictModel(_event_free(), replications=64, seed=SEED).run()
    names, values = model.recorder.names, model.recorder.values.astype(float)
    assert model.spinup_used < model.spinup_weeks, "settled before its maximum"
    control = values[names.index(f"control.{model.government.key}")].mean(axis=-1)
    assert np.abs(control - control[0]).max() < 0.005
    cohesion = values[names.index("opposition_cohesion")].mean(axis=-1)
    assert np.abs(cohesion - cohesion[0]).max() < 0.005


def test_the_spin_up_stops_when_every_state_has_settled():
    settled = ConflictModel(_event_free(), replications=8, seed=SEED)
    fixed = ConflictModel(_event_free(spinup_tolerance=0.0), replications=8, seed=SEED)
    assert fixed.spinup_used == fixed.spinup_weeks
    assert 0 < settled.spinup_used < fixed.spinup_used
    # A wider window waits longer; a looser tolerance stops earlier.
    wider = ConflictModel(_event_free(spinup_window=12), replications=8, seed=SEED)
    looser = ConflictModel(_event_free(spinup_tolerance=1e-2), replications=8, seed=SEED)
    assert wider.spinup_used == settled.spinup_used + 8
    assert looser.spinup_used < settled.spinup_used


def test_settling_change_is_the_largest_weekly_change():
    from negsim.model.world import settling_change

    before = np.array([[0.1, 0.2], [0.5, 0.5]])
    after = np.array([[0.1, 0.25], [0.47, 0.5]])
    assert settling_change(before, after) == pytest.approx(0.05)
    assert settling_change(np.zeros((0, 3)), np.zeros((0, 3))) == 0.0


# ------------------------------------------------- leader removal at the table


def _through_removal(**parameters: object) -> ConflictModel:
    """geneva3's base world, stepped through the week of Alloush's killing."""
    scenario = variant(GENEVA3)
    data = scenario.model_dump()
    data["parameters"].update(parameters)
    model = ConflictModel(Scenario.model_validate(data), replications=16, seed=SEED)
    removal = model.week_of(ALLOUSH_KILLED)
    while model.week <= removal:
        model.step()
    return model


def _alloush(model: ConflictModel):
    return next(f for f in model.opposition.factions if f.key == "jaish_al_islam").leader


def test_a_successor_brings_his_own_moderation_unless_the_channel_is_off():
    on, off = _through_removal(), _through_removal(successor_demands=0.0)
    drawn, _ = _alloush(on)._drawn_successor(1)
    np.testing.assert_array_equal(_alloush(on).moderation, drawn)
    np.testing.assert_array_equal(_alloush(off).moderation, _alloush(off).moderation * 0 + 0.65)
    shifted = _through_removal(decapitation_moderation=0.1)
    np.testing.assert_allclose(_alloush(shifted).moderation, np.clip(drawn + 0.1, 0, 1))


def test_hardliners_outbid_after_a_removal_and_the_campaign_decays():
    model = _through_removal(outbidding_intensity=0.2, outbidding_weeks=4.0)
    # Set in the week of the removal, one week's decay already applied after the talks.
    np.testing.assert_allclose(model.outbidding, 0.2 * 0.75)
    trust = model.talks.trust.copy()
    model.step()
    assert np.all(model.talks.trust <= np.maximum(trust, 1.0))
    np.testing.assert_allclose(model.outbidding, 0.2 * 0.75**2)
    assert not _through_removal(outbidding_intensity=0.0).outbidding.any()


def test_factions_leave_when_cohesion_collapses_and_fragmentation_happens():
    # Every faction's cohesion is below an exit threshold of 0.8: all leave, the coalition is fragmented.
    model = ConflictModel(
        edited(variant(GENEVA3), lambda d: d["parameters"].update(exit_cohesion=0.8)),
        replications=8,
        seed=SEED,
    )
    assert not model.opposition.members().any()
    assert model.fragmented.all()
    model.step()
    assert model.fragmented_ever.all()
    # Membership off (exit 0): every faction stays, whatever happens.
    kept = ConflictModel(
        edited(variant(GENEVA3), lambda d: d["parameters"].update(exit_cohesion=0.0)), 8, seed=SEED
    ).run()
    assert kept.opposition.members().all()


def test_the_rival_reading_lowers_the_coalitions_resolve_by_the_factions_weight():
    base = _through_removal()
    broken = _through_removal(decapitation_resolve=0.4)
    np.testing.assert_array_equal(
        base.opposition.resolve, variant(GENEVA3).actors["opposition"].resolve
    )
    drop = base.opposition.resolve - broken.opposition.resolve
    assert np.all(drop > 0) and np.all(drop < 0.4)  # a faction's share of the strength, below 1


# ------------------------------------------- compiled and numpy steps, whole model


def _state(model: ConflictModel) -> dict[str, np.ndarray]:
    arrays = {k: v for k, v in vars(model).items() if isinstance(v, np.ndarray)}
    arrays |= {
        f"{a.key}.{k}": v
        for a in model.agents
        for k, v in vars(a).items()
        if isinstance(v, np.ndarray)
    }
    arrays["timeseries"] = model.recorder.values
    # The draws' buffer (numpy) or the streams' states (compiled): the same draws.
    arrays.pop("_noise", None)
    arrays.pop("_noise_streams", None)
    return arrays


@pytest.mark.parametrize("name", ["geneva3", "ripeness", "aceh"])
def test_compiled_step_gives_the_numpy_steps_numbers(name, monkeypatch):
    scenario = load(SCENARIOS / f"{name}.yaml").scenario
    monkeypatch.setattr(ConflictModel, "compiled_step", False)
    reference = _state(ConflictModel(scenario, replications=64, seed=7).run())
    monkeypatch.setattr(ConflictModel, "compiled_step", True)
    compiled = _state(ConflictModel(scenario, replications=64, seed=7).run())
    assert reference.keys() == compiled.keys()
    for key in reference:
        assert_docked(compiled[key], reference[key], key, rtol=DOCKED_RUN)


def _run_in_child(queue) -> None:
    scenario = load(SCENARIOS / "geneva3.yaml").scenario
    queue.put(ConflictModel(scenario, replications=16, seed=3).run().recorder.values)


def test_forked_workers_run_the_compiled_step():
    # ProcessExecutor forks after the parent has compiled (or loaded) the kernels.
    scenario = load(SCENARIOS / "geneva3.yaml").scenario
    parent = ConflictModel(scenario, replications=16, seed=3).run().recorder.values
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_run_in_child, args=(queue,))
    child.start()
    data = queue.get(timeout=120)
    child.join(timeout=60)
    assert child.exitcode == 0
    assert np.array_equal(data, parent)  # the same compiled code: the same bits


def test_the_world_is_what_each_stage_reads_of_it():
    # The stages name what they read of the world (a Protocol each) instead of
    # importing it; mypy cannot hold the Mesa model to them (Mesa is untyped),
    # so this does: every attribute and method each one lists exists on a built model.
    model = ConflictModel(load(SCENARIOS / "geneva3.yaml").scenario, replications=2, seed=1)
    for world in (ActorsWorld, TalksWorld, RecordedWorld):
        missing = [name for name in world.__protocol_attrs__ if not hasattr(model, name)]
        assert not missing, (world.__name__, missing)
        assert isinstance(model, world)

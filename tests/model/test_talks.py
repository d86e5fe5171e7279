"""The talks process: its submodels docked to closed forms, and the process's properties.

The record patterns of geneva3 and aceh run on modest ensembles (400 runs).
"""

from __future__ import annotations

import datetime as dt
import functools
from pathlib import Path

import numpy as np
import pytest
from docking import assert_docked, scrambled_talks
from hypothesis import given, settings
from hypothesis import strategies as st

from negsim.model import fighting, negotiation, talks
from negsim.model.observations import outcomes
from negsim.model.world import ConflictModel
from negsim.scenario import load

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
unit = st.floats(0.0, 1.0)


# ------------------------------------------------------------- submodels


def test_expected_loss_rate_is_lanchester_rate():
    rate = talks.expected_loss_rate(np.array([0.01]), np.array([2.0]), np.array([0.5]))
    np.testing.assert_allclose(rate, [0.04])


def test_expected_cost_closed_form():
    cost = talks.expected_cost(np.array([2.0]), np.array([0.25]), np.array([0.01]), np.array([26]))
    np.testing.assert_allclose(cost, [2.0 * 0.75 * 0.01 * 26])


@given(demand=unit, reservation=unit, rate=st.floats(0.01, 1.0))
def test_concession_moves_towards_the_reservation_without_passing_it(demand, reservation, rate):
    d, r = np.array([demand]), np.array([reservation])
    up = talks.concede(d, r, np.array([rate]), upward=True)[0]
    down = talks.concede(d, r, np.array([rate]), upward=False)[0]
    if demand < reservation:
        assert demand <= up <= reservation + 1e-12
        assert down == pytest.approx(reservation)  # asked for less than it needs: taken back
    else:
        assert up == pytest.approx(reservation)
        assert reservation - 1e-12 <= down <= demand


def test_concession_converges_geometrically():
    demand, reservation = np.array([1.0]), np.array([0.2])
    for _ in range(5):
        demand = talks.concede(demand, reservation, np.array([0.4]), upward=False)
    np.testing.assert_allclose(demand, 0.2 + 0.8 * 0.6**5)


def test_alternating_offers_limit_is_the_rubinstein_split():
    """The bridging proposal gives the government its Rubinstein share of what is disputed."""
    d_g, d_o = np.array([0.9]), np.array([0.8])
    share = negotiation.rubinstein_share(d_g, d_o)
    proposal = talks.bridging_proposal(np.array([0.2]), np.array([0.6]), share, np.array([0.0]))
    np.testing.assert_allclose(proposal, 0.2 + (1 - share) * 0.4)
    # Closed form (Rubinstein 1982): s = (1 - d2) / (1 - d1 d2) = 0.2 / 0.28.
    np.testing.assert_allclose(share, 0.2 / 0.28)


def test_ratification_is_one_half_at_the_threshold_and_a_step_without_spread():
    d = np.array([0.2, 0.3, 0.4])
    smooth = talks.ratification_probability(d, np.array(0.3), np.array(0.05))
    np.testing.assert_allclose(smooth[1], 0.5)
    assert smooth[0] < 0.5 < smooth[2]
    sharp = talks.ratification_probability(d, np.array(0.3), np.array(0.0))
    np.testing.assert_array_equal(sharp, [0.0, 1.0, 1.0])


@given(base=unit, spoilers=unit, undelivered=unit, ws=unit, wd=unit)
def test_breakdown_hazard_is_a_probability_rising_with_spoilers(
    base, spoilers, undelivered, ws, wd
):
    args = [np.array([x]) for x in (base, spoilers, undelivered, ws, wd)]
    hazard = talks.breakdown_hazard(*args)[0]
    assert 0.0 <= hazard <= 1.0
    more = talks.breakdown_hazard(args[0], args[1] + 0.1, *args[2:])[0]
    assert more >= hazard


def test_breakdown_hazard_closed_form():
    hazard = talks.breakdown_hazard(*(np.array([x]) for x in (0.002, 0.2, 0.5, 0.05, 0.01)))
    np.testing.assert_allclose(hazard, [0.002 + 0.05 * 0.2 + 0.01 * 0.5])


def test_emboldening_lowers_the_government_price_only_after_gains():
    r = np.array([0.4, 0.4])
    out = talks.emboldened_reservation(r, np.array([0.1, -0.1]), np.array([0.5, 0.5]))
    np.testing.assert_allclose(out, [0.35, 0.4])


def test_patron_reaction_scales_with_the_tie_where_the_removal_happened():
    out = talks.patron_reaction(
        np.array([0.5, 0.5]), np.array([0.8, 0.8]), np.array(0.3), np.array([True, False])
    )
    np.testing.assert_allclose(out, [0.5 * (1 - 0.24), 0.5])


def test_trust_grows_with_engagement_and_falls_with_breaches():
    t = np.array([0.5, 0.5, 0.5])
    out = talks.trust_update(
        t, np.array([True, False, True]), np.array([False, False, True]), 0.2, 0.5
    )
    np.testing.assert_allclose(out, [0.6, 0.5, 0.3])


def test_front_update_keeps_the_written_map_at_the_baseline_balance():
    written = np.array([[[0.6, 0.4], [0.0, 1.0]]])
    baseline = np.array([[[0.5, 0.5], [0.3, 0.7]]])
    moved = fighting.front_update(written, written, baseline, baseline, np.array([[[0.06]]]))
    np.testing.assert_allclose(moved, written)
    # A rise of the first contender's shares by d moves it towards map + d.
    shifted = baseline + np.array([[[0.1, -0.1], [0.1, -0.1]]])
    moved = fighting.front_update(written, written, shifted, baseline, np.array([[[1.0]]]))
    np.testing.assert_allclose(moved, [[[0.7, 0.3], [0.1, 0.9]]])
    np.testing.assert_allclose(moved.sum(-1), 1.0)


def test_spoiler_losses_closed_form():
    effort = np.array([[[1.0, 2.0, 0.5]]])  # one region: government, faction, spoiler
    allocation = np.array([[[1.0, 1.0, 1.0]]])
    lost = fighting.spoiler_losses(effort, allocation, np.array([2]), np.array([0.01]))
    np.testing.assert_allclose(lost, [[0.01 * 3.0]])


# ------------------------------------------------------------- the process


@functools.cache
def scenario_file(name: str):
    return load(SCENARIOS / name)


def without_events(name: str, *keep: str):
    scenario = scenario_file(name).scenario
    return scenario.model_copy(update={"events": [e for e in scenario.events if e.id in keep]})


def recorded(model: ConflictModel, metric: str) -> np.ndarray:
    return model.recorder.values[model.recorder.names.index(metric)].astype(float)


@pytest.mark.parametrize("name", ["geneva3.yaml", "aceh.yaml"])
def test_no_drift_after_the_spin_up_without_events(name):
    model = ConflictModel(without_events(name), replications=200, seed=3).run()
    government = model.government.key
    for metric, tolerance in (
        (f"control.{government}", 0.01),
        (f"capability.{government}", 0.02),
        ("opposition_cohesion", 0.02),
    ):
        series = recorded(model, metric).mean(axis=-1)
        assert abs(series[-1] - series[0]) < tolerance, metric


def test_a_ceasefire_alone_does_not_empty_the_range():
    """Costs are those of war, not of the lull: a truce leaves the range where it was."""
    model = ConflictModel(
        without_events("geneva3.yaml", "cessation_of_hostilities"), replications=200, seed=3
    ).run()
    start = model.week_of(dt.date(2016, 2, 27))
    width = recorded(model, "bargaining_range").mean(axis=-1)
    assert recorded(model, "ceasefire_in_force")[start + 2].mean() > 0.9  # some collapse early
    assert width[start + 4] > width[start - 1] - 0.01
    assert width[start + 4] > 0


@functools.cache
def ensemble(name: str, variant: str = "base", runs: int = 400) -> ConflictModel:
    file = scenario_file(name)
    return ConflictModel(
        file.variant(variant), replications=runs, seed=file.scenario.experiment.seed
    ).run()


def test_a_negotiation_can_succeed_after_earlier_rounds_failed():
    """In aceh without martial law, deals come in late rounds after earlier ones ended without one."""
    model = ensemble("aceh.yaml", variant="no_escalation")
    third = model.week_of(dt.date(2005, 4, 12))
    weeks = model.talks.agreement_week
    late = model.talks.agreed & (weeks >= third)
    assert late.mean() > 0.05
    assert np.all(outcomes(model)["talks_held"][late] == 1)


def test_both_sides_walk_out_and_are_counted_apart():
    result = outcomes(ensemble("geneva3.yaml"))
    assert result["walkouts_government"].sum() > 0
    assert result["walkouts_opposition"].sum() > 0
    np.testing.assert_array_equal(
        result["walkouts"], result["walkouts_government"] + result["walkouts_opposition"]
    )


def test_outcomes_for_every_run_have_no_missing_values():
    result = outcomes(ensemble("geneva3.yaml"))
    for name in ("agreement", "talks_held", "value_government", "value_opposition", "stage"):
        assert np.all(np.isfinite(result[name])), name


# ------------------------------------------------------- the record: geneva3


def test_geneva3_reproduces_the_record_patterns():
    """Qualitative patterns of the public record, each in most base runs.

    - regime control about flat in the seven weeks after 30 Sep 2015 (IHS:
      +0.4 % of the country by 16 Nov) and clearly up by mid-June 2016
      (Palmyra, the Aleppo corridor): the early change is smaller than half
      the later one;
    - Geneva III suspended within a week of opening (a walkout in its week);
    - the cessation of hostilities in force in March 2016 and over by May;
    - no comprehensive agreement in 2016.
    """
    model = ensemble("geneva3.yaml")
    control = recorded(model, "control.regime")
    week = model.week_of
    before, early = control[week(dt.date(2015, 9, 28))], control[week(dt.date(2015, 11, 16))]
    later = control[week(dt.date(2016, 6, 13))]
    assert np.mean(later - before > 0.01) > 0.8
    assert np.mean(early - before) < 0.5 * np.mean(later - before)
    opening = week(dt.date(2016, 1, 29))
    state = recorded(model, "talks_state")[opening]
    assert np.mean(state == talks.TALKS_WALKOUT) > 0.5
    ceasefire = recorded(model, "ceasefire_in_force")
    assert ceasefire[week(dt.date(2016, 3, 15))].mean() > 0.5
    assert ceasefire[week(dt.date(2016, 5, 15))].mean() < 0.5
    assert model.talks.agreed.mean() < 0.5


def test_aceh_settles_by_autumn_2005_in_a_substantial_share_of_runs():
    model = ensemble("aceh.yaml")
    autumn = model.week_of(dt.date(2005, 10, 31))
    settled = model.talks.agreed & (model.talks.agreement_week <= autumn)
    assert settled.mean() > 0.25


# ------------------------------------------------- the record, as the engine checks it


def _pattern_shares(name: str) -> dict[str, float]:
    """How often 400 base runs of a bundled scenario reproduce each `observed:` pattern."""
    from negsim.analysis.patterns import match, weeks_of

    model = ensemble(name)
    patterns = weeks_of(scenario_file(name).scenario)
    values = model.recorder.values
    assert values.shape[-1] == 400
    found = match(patterns, values, model.recorder.names)
    return {c.pattern.id: float(row.mean()) for c, row in zip(patterns, found, strict=True)}


def test_every_geneva3_pattern_is_reproduced_by_the_engine():
    """Each conditioning and described pattern of geneva3 in most of 400 base runs.

    The holdouts (the March round at the table, the opposition's walkout in
    April) are out-of-sample checks, fitted by nothing: each in 27 % and 31 %
    of 1,000 base runs (`negsim run scenarios/geneva3.yaml`), so only that the
    engine reaches them in some runs is asserted.
    """
    geneva3 = _pattern_shares("geneva3.yaml")
    uses = {p.id: p.use for p in scenario_file("geneva3.yaml").scenario.observed}
    assert len(geneva3) == 8 and sorted(uses.values()).count("holdout") == 2
    fitted = {k: share for k, share in geneva3.items() if uses[k] != "holdout"}
    assert all(share > 0.5 for share in fitted.values()), geneva3
    assert all(share > 0.1 for k, share in geneva3.items() if uses[k] == "holdout"), geneva3


def test_aceh_settlement_pattern_is_reproduced_in_a_quarter_of_runs():
    aceh = _pattern_shares("aceh.yaml")
    assert aceh["settled_by_autumn_2005"] > 0.25, aceh


# ------------------------------------------- issue 20: the bargaining decides


@given(low=st.floats(-0.5, 1.0), width=st.floats(-0.5, 1.0), share=unit, bias=st.floats(-0.3, 0.3))
def test_deal_surplus_splits_the_range_by_the_rubinstein_share(low, width, share, bias):
    """S_G = clip(s_G - bias, 0, 1) * W, S_O = the rest of W; both negative when the range is closed."""
    high = low + width
    government, opposition = talks.deal_surplus(
        np.array([low]), np.array([high]), np.array([share]), np.array([bias])
    )
    part = min(max(share - bias, 0.0), 1.0)
    assert government[0] == pytest.approx(part * (high - low), abs=1e-12)
    assert government[0] + opposition[0] == pytest.approx(high - low, abs=1e-12)
    if high < low:
        assert government[0] <= 0 and opposition[0] <= 0


def test_zone_of_agreement_proposal_closed_form():
    offer, demand = np.array([0.2, 0.2, 0.2, 0.2]), np.array([0.6, 0.6, 0.6, 0.6])
    split = np.array([0.5, 0.5, 0.5, 0.3])
    floor, ceiling = np.array([0.1, 0.1, 0.1, 0.1]), np.array([0.4, 0.4, 0.4, 0.4])
    insight = np.array([1.0, 0.0, 0.5, 1.0])
    got = talks.zone_of_agreement_proposal(split, offer, demand, floor, ceiling, insight)
    # Full insight: the zone's nearest point; none: the plain split; half: half-way; inside: unmoved.
    np.testing.assert_allclose(got, [0.4, 0.5, 0.45, 0.3])
    # Disputed interval and zone do not meet: nothing both would sign, the split stands.
    apart = talks.zone_of_agreement_proposal(
        np.array([0.8]), np.array([0.7]), np.array([0.9]), np.array([0.1]), np.array([0.4]), 1.0
    )
    np.testing.assert_allclose(apart, [0.8])


@given(rate=unit, government=unit, opposition=unit)
def test_resumption_probability_closed_form(rate, government, opposition):
    r, g, o = np.array([rate]), np.array([government]), np.array([opposition])
    both = talks.resumption_probability(r, g, o, np.array([True]), np.array([True]))[0]
    left_g = talks.resumption_probability(r, g, o, np.array([True]), np.array([False]))[0]
    assert both == pytest.approx(rate * government * opposition)
    assert left_g == pytest.approx(rate * government)
    assert 0.0 <= both <= left_g <= rate


def test_a_concession_within_the_tolerance_closes_the_gap():
    """A geometric approach never arrives; within the tolerance it has."""
    demand, reservation = np.array([0.3 + 1e-10]), np.array([0.3])
    assert talks.concede(demand, reservation, np.array([0.4]), False, tolerance=1e-9)[0] == 0.3
    assert talks.concede(demand, reservation, np.array([0.4]), False)[0] > 0.3


def _long_talks(scenario_data: dict, position: float = 0.0, **costs: float) -> dict:
    """geneva3 with one 40-week round instead of its calendar of rounds, both sides willing."""
    data = scenario_data
    data["events"] = [e for e in data["events"] if e["type"] != "negotiation_round"]
    data["events"].append(
        {
            "id": "long_talks",
            "type": "negotiation_round",
            "date": dt.date(2015, 12, 7),
            "mediator": "un",
            "duration_weeks": 40,
        }
    )
    data["actors"]["regime"]["position"] = position
    for side in ("regime", "opposition"):
        data["actors"][side]["willingness_bias"] = 6.0
        if side in costs:
            data["actors"][side]["cost_sensitivity"] = costs[side]
    return data


def _edited(edit, *args, **kwargs):
    from negsim.scenario.schema import Scenario

    data = scenario_file("geneva3.yaml").scenario.model_dump()
    return Scenario.model_validate(edit(data, *args, **kwargs))


def test_terms_move_against_a_side_whose_war_costs_more_where_its_ideal_point_binds():
    """The government's ideal point (0.45) above its reservation (~0.37): deals are not pinned there.

    Measured (200 runs, seed 3): mean terms 0.321, 0.352, 0.417 for the
    government's cost sensitivity 0.5, 1, 2 (sd about 0.016 each).
    """
    terms = []
    for cost in (0.5, 1.0, 2.0):
        model = ConflictModel(_edited(_long_talks, 0.45, regime=cost), 200, seed=3).run()
        agreed = model.talks.agreed
        assert agreed.mean() > 0.5
        assert np.std(model.talks.settlement[agreed]) > 1e-3, "terms pinned to one number"
        terms.append(np.mean(model.talks.settlement[agreed]))
    assert terms[0] < terms[1] < terms[2]


class _NumpyModel(ConflictModel):
    compiled_step = False


@functools.cache
def _agreement_at_the_ceiling(delta: float, tolerance: float) -> np.ndarray:
    """Agreements in the week the opposition's demand stands ``delta`` above the government's ceiling.

    The government's ideal point (0.9) is above its reservation, so its offer
    stands at its ceiling (the ideal point binds); the mediator proposes the
    plain split (no insight into the zone), so whether the proposal is above
    the ceiling is decided by the gap alone: the case where rounding decided
    deals before the tolerance (issue 20). The numpy reference, so the
    ceiling the demand is placed against is the very number the step computes.
    """

    def edit(data: dict) -> dict:
        data = _long_talks(data, 0.9)
        data["parameters"]["mediator_insight"] = 0.0
        data["parameters"]["bargaining_tolerance"] = tolerance
        return data

    model = _NumpyModel(_edited(edit), 32, seed=5)
    week = model.week_of(dt.date(2015, 12, 7)) + 1
    while model.week < week:
        model.step()
    talks_ = model.talks
    step = talks_.step

    def at_the_ceiling(*args) -> None:
        _, high = talks_.bargaining_range()
        talks_.offer, talks_.demand = high.copy(), high + delta
        step(*args)

    talks_.step = at_the_ceiling  # type: ignore[method-assign]
    model.step()
    assert talks_.at_table.mean() > 0.5, "the sides are at the table"
    return talks_.agreed.copy()


@settings(deadline=None, max_examples=6)
@given(delta=st.floats(1e-13, 1e-12) | st.floats(-1e-12, -1e-13))
def test_no_outcome_hinges_on_rounding(delta):
    """A gap of at most 1e-12 between demand and ceiling decides no deal.

    Control: without the tolerance (0) the same perturbation does decide
    them, a demand 1e-12 above the ceiling blocking every deal a demand at
    it makes (the case discriminates).
    """
    reference = _agreement_at_the_ceiling(0.0, 1e-9)
    assert reference.any()
    np.testing.assert_array_equal(_agreement_at_the_ceiling(delta, 1e-9), reference)
    if delta > 0:
        assert not _agreement_at_the_ceiling(delta, 0.0).any()
        assert _agreement_at_the_ceiling(0.0, 0.0).any()


def test_a_long_negotiation_written_as_one_round_resumes_and_can_succeed():
    model = ConflictModel(_edited(_long_talks), 200, seed=3).run()
    result = outcomes(model)
    assert result["resumptions"].sum() > 0
    assert result["agreement"].mean() > 0.2
    # A round resumes only after a walkout suspended it.
    assert np.all(
        result["resumptions"] <= result["walkouts_government"] + result["walkouts_opposition"]
    )


def test_weekly_attendance_series_add_up_to_the_per_run_counts():
    model = ensemble("geneva3.yaml", runs=100)
    names = model.recorder.names
    values = model.recorder.values
    for side in ("government", "opposition"):
        weekly = values[names.index(f"walkout.{side}")].sum(axis=0)
        np.testing.assert_array_equal(weekly, getattr(model.talks, f"walkouts_{side}"))
    at_table = values[names.index("at_table")]
    suspended = values[names.index("talks_suspended")]
    in_session = values[names.index("talks_in_session")]
    # At the table only in an active round; never suspended and at the table at once.
    assert np.all(at_table <= in_session)
    assert not np.any((at_table > 0) & (suspended > 0))


# ---------------------------------------------------------- compiled: talks_week


def _talks_state(model: ConflictModel) -> dict[str, np.ndarray]:
    talks = model.talks
    # Its state (not the compiled step's cache of the parameters, `_parameters`).
    arrays = {
        k: v for k, v in vars(talks).items() if isinstance(v, np.ndarray) and not k.startswith("_")
    }
    for party in (model.government, model.opposition):
        for field in ("expected_cost", "endorsement", "willingness"):
            arrays[f"{party.key}.{field}"] = getattr(party, field)
    arrays["ripeness"] = model.ripeness
    for event in model.events:  # a collapse ends ceasefire events
        arrays[f"{event.spec.id}.duration"] = event.duration
    return arrays


@pytest.mark.parametrize(
    ("name", "seed", "proposer"),
    [("geneva3", 7, "government"), ("geneva3", 8, "opposition"), ("ripeness", 9, "government")],
)
@pytest.mark.parametrize("in_session", [False, True])
def test_talks_week_docks_with_the_numpy_reference(name, seed, proposer, in_session):
    compiled = scrambled_talks(name, seed)
    reference = scrambled_talks(name, seed)
    reference.compiled = False
    size = compiled.size
    session = np.random.default_rng(seed).random(size) < (0.8 if in_session else 0.1)
    leverage = np.random.default_rng(seed + 1).random(size)
    bias = np.random.default_rng(seed + 2).normal(0, 0.1, size)
    for model in (compiled, reference):
        model.first_proposer = proposer
        model.week = 5
        model.talks.step(5, session, leverage, bias)
    got, expected = _talks_state(compiled), _talks_state(reference)
    assert got.keys() == expected.keys()
    for key in expected:
        assert_docked(got[key], expected[key], key)
    # The branches were taken: agreements, walkouts, ceasefires and breakdowns.
    states = set(np.unique(compiled.talks.state)) if in_session else {0.0}
    assert {0.0} <= states
    if in_session:
        assert {1.0, 3.0, 4.0} <= states, states
        assert compiled.talks.resumptions.sum() > 0
    assert compiled.talks.ceasefire_collapsed.any()

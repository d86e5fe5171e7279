"""The scenario format: frozen pydantic models, one docstring per field.

These models are the single source of truth for the format: `negsim schema`
prints their JSON Schema and `docs/scenario-format.md` is generated from them
(a test fails if the two drift). Structure, types and ranges are checked
here; references between parts of a file (a leader's faction, an event's
actor, ...) are checked in :mod:`negsim.scenario.references`.
"""

from __future__ import annotations

import datetime as dt
import difflib
import typing
from typing import Annotated, Any, Literal

from annotated_types import Gt
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from negsim.scenario.distributions import (
    MAX_WEEKS_VARIABLE,
    AnyNumber,
    Capability,
    Factor,
    Logit,
    Share,
    Spread,
    Tilt,
    Weeks,
    flush_tiny,
    max_weeks,
)
from negsim.scenario.observed import Pattern

# Outcomes the model reports per run; hypotheses may name any of them.
RUN_METRICS: tuple[str, ...] = (
    "agreement",
    "agreement_week",
    "agreement_held",
    "agreement_broke",
    "compromise",
    "settlement",
    "stage",
    "talks_held",
    "framework",
    "ceasefire",
    "ceasefire_held",
    "walkouts",
    "walkouts_government",
    "walkouts_opposition",
    "resumptions",
    "deals_rejected",
    "deals_voted_down",
    "talks_weeks",
    "gap_end",
    "value_government",
    "value_opposition",
    "bargaining_range_at_talks",
    "bargaining_range_mean_talks",
    "opposition_cohesion_at_talks",
    "opposition_cohesion_mean_talks",
    "government_control_end",
    "opposition_control_end",
    "government_losses",
    "opposition_losses",
    "leaders_removed",
    "fragmented",
)

# Names earlier versions gave the government's columns (after geneva3's actor id): a
# scenario written for them gets the new name as its hint, not a guess.
RENAMED_METRICS = {
    "regime_control_end": "government_control_end",
    "regime_losses": "government_losses",
}


def metric_hint(metric: object) -> str:
    """``; did you mean ...?`` for a name that is not a run outcome, or "" with no close one."""
    renamed = RENAMED_METRICS.get(str(metric))
    if renamed is not None:
        return (
            f"; did you mean {renamed!r}? (the government's columns are named for its role, "
            "whatever its id: docs/results.md)"
        )
    close = difflib.get_close_matches(str(metric), RUN_METRICS, n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


# Outcomes computed from a run's columns for the verdicts only (not in runs.csv):
# weeks to the first agreement, censored at the horizon (docs/results.md).
DERIVED_METRICS: tuple[str, ...] = ("weeks_to_agreement",)

# Lower-case identifier: letters, digits and underscores. (No description here:
# it would replace the docstring of every field typed `Identifier`.)
IDENTIFIER = r"^[a-z][a-z0-9_]*$"
Identifier = Annotated[str, Field(pattern=IDENTIFIER)]


class Frozen(BaseModel):
    """Base of every scenario model: immutable, unknown keys rejected, numbers finite."""

    model_config = ConfigDict(
        frozen=True, extra="forbid", use_attribute_docstrings=True, allow_inf_nan=False
    )


# A plain number (never a distribution); one smaller than `distributions.TINY` reads as 0.
Number = Annotated[float, AfterValidator(flush_tiny)]


# --------------------------------------------------------------------- calendar


class Calendar(Frozen):
    """When the scenario starts and ends. The model steps one week at a time."""

    start: dt.date
    """First day of the first week (YYYY-MM-DD)."""
    end: dt.date
    """Last day simulated (YYYY-MM-DD); the last step is the week containing it."""
    step: Literal["week"] = "week"
    """Length of one step. Only weekly steps are supported."""

    @field_validator("end")
    @classmethod
    def _not_too_long(cls, end: dt.date, info: ValidationInfo) -> dt.date:
        # (An end before the start is reported with the other cross-checks.)
        start = info.data.get("start")
        if not isinstance(start, dt.date):
            return end
        weeks = (end - start).days // 7 + 1
        if weeks > max_weeks():
            raise ValueError(
                f"the calendar spans {weeks:,} weeks, more than the {max_weeks():,} "
                f"(about {max_weeks() / 52.18:.0f} years) a scenario may simulate: every week "
                "adds to each run's memory and to timeseries.csv; end it earlier, or set "
                f"{MAX_WEEKS_VARIABLE} to raise the limit (got {end})"
            )
        return end


class Issue(Frozen):
    """The issue dimension being negotiated, a line from 0 to 1."""

    name: str
    """Short name of the issue, e.g. `transition`."""
    low: str = "0"
    """What 0 on the issue means, e.g. `the government keeps full power`."""
    high: str = "1"
    """What 1 on the issue means, e.g. `full political transition`."""
    compromise: tuple[
        Annotated[Number, Field(ge=0, le=1)], Annotated[Number, Field(ge=0, le=1)]
    ] = (
        0.3,
        0.7,
    )
    """Band [low, high] of settlements that count as a compromise (the `compromise` outcome): a deal that leaves neither side near its ideal point."""


# ----------------------------------------------------------------------- actors


class ActorBase(Frozen):
    name: str | None = None
    """Display name (defaults to the id)."""
    note: str | None = None
    """Free text: sources, caveats."""


class Combatant(ActorBase):
    capability: Capability
    """Fighting strength in capability units (relative; 1.0 is a large army)."""
    recruitment: Share = 0.02
    """Weekly share of the gap to initial capability regained (replacement of losses)."""


class Negotiator(ActorBase):
    """Fields shared by the two sides at the table (government and opposition)."""

    resolve: Share = 0.5
    """Determination to fight on: lowers perceived costs of war and willingness to talk."""
    cost_sensitivity: Factor = 1.0
    """How much each unit of expected losses counts as a cost of war on the issue scale."""
    salience: Share = 1.0
    """Importance of the issue (0..1): sets the value of the stake, so a salient issue resists concession (`salience_stake_weight`)."""
    expected_outcome: Share = 0.5
    """Initial belief of the side's own prospects in continued war: the share of the issue it expects war to give it (0..1)."""
    optimism: Tilt = 0.0
    """Bias of the side's reading of the battlefield, in issue units, towards its own side."""
    willingness_bias: Logit = 0.0
    """Baseline propensity to engage in talks (logit scale; 0 is neutral)."""


class Government(Combatant, Negotiator):
    """The government side in the negotiation (one actor of this kind per scenario)."""

    kind: Literal["government"]
    """`government`: the incumbent, one per scenario."""
    position: Share = 0.0
    """Ideal point on the issue (0..1); deals are confined between the two sides' ideal points."""


class Opposition(Negotiator):
    """The opposition coalition; its fighting strength is that of its factions."""

    kind: Literal["opposition"]
    """`opposition`: the coalition that negotiates for the factions, one per scenario."""
    position: Share = 1.0
    """Ideal point on the issue (0..1); deals are confined between the two sides' ideal points."""
    cohesion: Share = 0.7
    """Initial cohesion of the coalition (0..1)."""


class Faction(Combatant):
    """An armed group inside the opposition coalition."""

    kind: Literal["faction"]
    """`faction`: an armed member of the opposition coalition."""
    coalition: Identifier
    """Id of the opposition coalition the faction belongs to."""
    cohesion: Share = 0.7
    """Initial internal cohesion (0..1)."""
    moderation: Share = 0.5
    """Readiness to compromise when the faction has no named leader."""
    authority: Share = 0.5
    """Hold on the faction when it has no named leader."""


class Patron(ActorBase):
    """An outside state that arms, funds or fights for a client."""

    kind: Literal["patron"]
    """`patron`: an outside backer of a client."""
    client: Identifier
    """Id of the client: the government, the opposition coalition or a spoiler."""
    commitment: Share = 0.5
    """Strength of the patron's interest in its client (0..1)."""
    capacity: Capability = 0.2
    """Capability units the patron supplies at full commitment."""
    responsiveness: Logit = 0.0
    """How much support rises as the client's prospects fall (0 = not at all)."""
    supports_talks: Share = 0.5
    """How much the patron presses its client to negotiate and endorses a deal (0..1)."""


class Spoiler(Combatant):
    """An armed actor outside the talks (e.g. a jihadist group); fights, never negotiates."""

    kind: Literal["spoiler"]
    """`spoiler`: fights for territory, takes no part in talks."""


class Mediator(ActorBase):
    """The third party that convenes rounds and makes proposals."""

    kind: Literal["mediator"]
    """`mediator`: convenes negotiation rounds and proposes deals."""
    leverage: Share = 0.5
    """How credible a way out the mediator offers (Zartman's 'way out'), 0..1."""
    bias: Tilt = 0.0
    """Tilt of proposals, as a share of the bargaining range (- towards government)."""


Actor = Annotated[
    Government | Opposition | Faction | Patron | Spoiler | Mediator,
    Field(discriminator="kind"),
]

ACTOR_MODELS: tuple[type[ActorBase], ...] = typing.get_args(typing.get_args(Actor)[0])
"""The actor models, in the order of the `Actor` union."""
ACTOR_KINDS: tuple[str, ...] = tuple(
    typing.get_args(model.model_fields["kind"].annotation)[0] for model in ACTOR_MODELS
)


# ---------------------------------------------------------------------- leaders


class Successor(Frozen):
    """How a removed leader's successor is drawn and what the succession costs."""

    moderation: Share = 0.5
    """Successor's moderation (fixed or a distribution)."""
    authority: Share = 0.5
    """Successor's authority (fixed or a distribution)."""
    ties_retained: Share = 0.5
    """Share of the predecessor's patron ties the successor keeps."""
    cohesion_shock: Share = 0.3
    """Immediate proportional drop of the faction's cohesion at removal."""
    capability_loss: Share = 0.0
    """Immediate proportional loss of the faction's capability at removal."""
    crisis_weeks: Weeks = 8
    """Weeks until the successor's authority is fully established."""


class NamedSuccessor(Frozen):
    """A known next leader of a faction, in office once his predecessor is removed."""

    id: Identifier
    """Id of the successor (removal events may name it; unique among leaders and successors)."""
    name: str | None = None
    """Display name."""
    moderation: Share = 0.5
    """Readiness to compromise (0..1)."""
    authority: Share = 0.5
    """Hold on the faction (0..1)."""
    ties: dict[Identifier, Share] = Field(default_factory=dict)
    """Ties to patrons, by patron id (0..1)."""
    cohesion_shock: Share | None = None
    """What the succession that brings him in costs: the faction's immediate proportional drop of cohesion (unset: the chain's `successor.cohesion_shock`, drawn for this succession alone)."""
    capability_loss: Share | None = None
    """The faction's immediate proportional loss of capability at the succession that brings him in (unset: the chain's `successor.capability_loss`)."""
    crisis_weeks: Weeks | None = None
    """Weeks until his authority is fully established (unset: the chain's `successor.crisis_weeks`)."""
    note: str | None = None
    """Free text: sources, caveats."""


class Leader(Frozen):
    """A leader: of a faction (the default), or of the government (give `government`).

    A faction's leadership is a chain: this leader, then the named
    `successors` in order, then successors drawn from `successor`, as many as
    removals require. A government leader carries the traits that matter for
    talks; a `government_change` event puts him in office.
    """

    faction: Identifier | None = None
    """Id of the faction the leader heads (one leader per faction)."""
    government: Identifier | None = None
    """Id of the government, for a head of government (instead of `faction`)."""
    name: str | None = None
    """Display name."""
    moderation: Share = 0.5
    """Faction leaders: readiness to compromise (0 = none, 1 = accepts the coalition's reservation point)."""
    authority: Share = 0.5
    """Faction leaders: hold on the faction, drives its cohesion (0..1)."""
    ties: dict[Identifier, Share] = Field(default_factory=dict)
    """Faction leaders: ties to patrons, by patron id (0..1): direct patron support and endorsement."""
    successors: list[NamedSuccessor] = Field(default_factory=list)
    """Faction leaders: named successors, in order of succession (then drawn ones); `set` and `uncertain` name one by id: `leaders.<id>.successors.<successor id>.moderation`."""
    successor: Successor = Field(default_factory=Successor)
    """Faction leaders: how drawn successors are drawn, and what a succession costs unless a named successor gives his own; each succession draws its costs anew."""
    in_office: bool = False
    """Government leaders: in office when the calendar starts, his traits the government's from week 0. Exactly one of a government's leaders is; another one that no `government_change` brings in is an error."""
    resolve: Share | None = None
    """Government leaders: resolve in office (unchanged if not given)."""
    willingness_bias: Logit | None = None
    """Government leaders: baseline propensity to engage in talks (unchanged if not given)."""
    position: Share | None = None
    """Government leaders: ideal point on the issue (unchanged if not given)."""
    cost_sensitivity: Factor | None = None
    """Government leaders: weight of the war's expected losses (unchanged if not given)."""
    optimism: Tilt | None = None
    """Government leaders: bias of the reading of the battlefield (unchanged if not given)."""
    note: str | None = None
    """Free text: sources, caveats."""


# ---------------------------------------------------------------------- regions


class Region(Frozen):
    """A governorate or front."""

    name: str | None = None
    """Display name."""
    population: Number = Field(default=1.0, ge=0, le=10_000)
    """Population in millions (informational; weights nothing by itself)."""
    # (> 0 checked after a tiny value is read as 0: 5e-324 is refused, not a weight of 0.)
    strategic_value: Annotated[Number, Gt(0)] = Field(default=1.0, le=1_000_000)
    """Weight of the region in control shares and in where actors commit effort."""
    adjacent: list[Identifier] = Field(default_factory=list)
    """Ids of neighbouring regions (adjacency is made symmetric)."""
    control: dict[Identifier, Annotated[Number, Field(ge=0, le=1)]]
    """Initial control shares by combatant id (government, faction, spoiler); sum to 1."""
    position: tuple[Number, Number] | None = None
    """Where `negsim explore` draws the region on its map, `[x, y]` in any planar units
    (longitude and latitude in degrees, say; x grows to the east). Drawing only, never the
    model. Regions without one are placed around those with one by a fixed layout."""
    note: str | None = None
    """Free text: sources, caveats."""


# ----------------------------------------------------------------------- events


class EventBase(Frozen):
    id: Identifier
    """Unique event id (variants refer to events by it)."""
    date: dt.date | None = None
    """Date the event happens (scheduled events)."""
    hazard: Share | None = None
    """Weekly probability instead of a date (stochastic events); fires at most once."""
    window_start: dt.date | None = None
    """Stochastic events only: earliest date (default: calendar start)."""
    window_end: dt.date | None = None
    """Stochastic events only: latest date (default: calendar end)."""
    label: str | None = None
    """Short label for figures (defaults to the id)."""
    note: str | None = None
    """Free text: sources, caveats."""


class Intervention(EventBase):
    """A patron intervenes directly: adds capability to its client's side."""

    type: Literal["intervention"]
    """`intervention`."""
    actor: Identifier
    """Id of the intervening patron."""
    intensity: Capability
    """Capability units added to the client's side while the intervention lasts."""
    duration_weeks: Weeks | None = None
    """How long it lasts (default: to the end)."""


class Escalation(EventBase):
    """A combatant escalates: multiplies its fighting effort."""

    type: Literal["escalation"]
    """`escalation`."""
    actor: Identifier
    """Id of the escalating government, faction or spoiler."""
    intensity: Factor
    """Effort rises by this proportion (0.5 = +50 %)."""
    duration_weeks: Weeks | None = None
    """How long it lasts (default: to the end)."""


class Offensive(EventBase):
    """A combatant concentrates effort on one region."""

    type: Literal["offensive"]
    """`offensive`."""
    actor: Identifier
    """Id of the attacking combatant."""
    region: Identifier
    """Id of the region attacked."""
    intensity: Factor = 1.0
    """Extra weight of the region in the attacker's effort (1.0 doubles it)."""
    duration_weeks: Weeks = 4
    """How long the offensive lasts."""


class LeaderRemoval(EventBase):
    """A faction's leader is killed or removed; the next in the chain takes over."""

    type: Literal["leader_removal"]
    """`leader_removal`."""
    leader: Identifier | None = None
    """Id of the leader (or named successor) removed; acts only where he is in office at the time."""
    faction: Identifier | None = None
    """Instead of `leader`: remove whoever leads this faction at the time."""
    by: Identifier | None = None
    """Id of the actor responsible (informational)."""


class CommanderRemoval(EventBase):
    """A commander who is not the faction's leader is killed or captured: a lesser shock, no succession."""

    type: Literal["commander_removal"]
    """`commander_removal`."""
    faction: Identifier
    """Id of the faction that loses the commander."""
    commander: str | None = None
    """Name of the commander (informational)."""
    capability_loss: Share = 0.02
    """Proportional loss of the faction's capability."""
    cohesion_shock: Share = 0.05
    """Proportional drop of the faction's cohesion."""
    by: Identifier | None = None
    """Id of the actor responsible (informational)."""


class GovernmentChange(EventBase):
    """A new head of government takes office (election, succession, coup): his traits apply from then."""

    type: Literal["government_change"]
    """`government_change`."""
    leader: Identifier
    """Id of a government leader (a `leaders` entry with `government`)."""


class Referendum(EventBase):
    """A vote on a signed agreement: rejected, the agreement ends and talks may resume."""

    type: Literal["referendum"]
    """`referendum`."""
    approval: Share
    """Probability that the vote approves an agreement in force (fixed or a distribution); no effect where none is."""


class Ratification(EventBase):
    """A named body (legislature, court, council) votes on the agreement in force: rejected, it ends and talks may resume.

    Beside `referendum` (one draw against an approval probability), the
    body's members vote one by one: each votes for with probability
    `support`, and the deal passes when at least `quota` of the `seats`
    vote for it, P = P(Binomial(seats, support) >= ceil(quota * seats))
    (Putnam 1988's ratification at Level II; Martin 2000 on legislatures
    ratifying commitments; the binomial vote of Grofman, Owen & Feld 1983).
    """

    type: Literal["ratification"]
    """`ratification`."""
    body: str
    """Name of the body that votes (e.g. `House of Representatives`, `Constitutional Court`); informational."""
    seats: int = Field(default=1, ge=1, le=100000)
    """Members who vote (1: a single decision, e.g. a court ruling or a head of state's signature)."""
    support: Share
    """Probability that each member votes for the agreement (fixed or a distribution, e.g. a party balance)."""
    quota: Share = 0.5
    """Least share of the seats that must vote for it (0.5: half; two-thirds: 0.667)."""


class NegotiationRound(EventBase):
    """A round of talks convened by a mediator."""

    type: Literal["negotiation_round"]
    """`negotiation_round`."""
    mediator: Identifier | list[Identifier]
    """Id of the mediator convening the round, or a list of joint mediators or guarantors (their combined leverage is 1 - prod(1 - leverage_i), their bias the leverage-weighted mean)."""
    duration_weeks: Weeks = 4
    """Weeks of each session on the mediator's calendar: a walkout suspends the session, which may resume within these weeks after the cooling-off period; it does not end the round, and a recurring round's next session opens afresh."""
    every: int | None = Field(default=None, ge=1, le=5218)
    """A recurring round: a new session of `duration_weeks` opens every this many weeks from the first (default: one session)."""
    until: dt.date | None = None
    """A recurring round: the last session opens no later than this date (default: the calendar's end)."""
    covers: list[Identifier] | None = None
    """Combatants a ceasefire or agreement reached in this round binds (the opposition's id means all its factions); default: the government and every faction, so spoilers fight on."""

    @model_validator(mode="after")
    def _recurrence(self) -> NegotiationRound:
        if self.until is not None and self.every is None:
            raise ValueError(
                "'until' needs 'every' (the weeks between sessions of a recurring round)"
            )
        if self.until is not None and self.date is not None and self.until < self.date:
            raise ValueError(f"'until' {self.until} is before the round's date {self.date}")
        return self


class Ceasefire(EventBase):
    """An imposed or agreed cessation of hostilities."""

    type: Literal["ceasefire"]
    """`ceasefire`."""
    actor: Identifier | None = None
    """A one-sided truce: the government, a faction, or the opposition coalition (all its factions) that declares it (others fight on); default: a ceasefire between sides."""
    against: list[Identifier] | None = None
    """A one-sided truce aimed at these combatants only (the opposition's id means all its factions): the declaring side holds its effort where they hold ground, and its fire at the other side of the table only if named; default: all its enemies."""
    covers: list[Identifier] | None = None
    """A ceasefire between sides: the combatants it binds (the opposition's id means all its factions); default: the government and every faction, so spoilers fight on."""
    strength: Share = 0.7
    """Proportional reduction of fighting (of the declaring side's effort, for a one-sided truce) while it holds."""
    duration_weeks: Weeks | None = None
    """Its scheduled end (a dated ceasefire's term from the record; an upper bound: a ceasefire between sides can fray earlier); default: to the end."""


class PatronPolicy(EventBase):
    """A patron changes its policy; only the fields given change."""

    type: Literal["patron_policy"]
    """`patron_policy`."""
    actor: Identifier
    """Id of the patron."""
    commitment: Share | None = None
    """New commitment to the client."""
    capacity: Capability | None = None
    """New capacity."""
    supports_talks: Share | None = None
    """New support for talks."""
    responsiveness: Logit | None = None
    """New responsiveness to the client's prospects."""


class MediatorPolicy(EventBase):
    """A mediator's standing changes (it starts or stops facilitating, gains or loses leverage); only the fields given change.

    With `patron_policy` this is how an actor's role changes over the run:
    a neighbour that first backs the insurgents and later facilitates talks
    is a patron whose commitment falls and a mediator whose leverage rises
    (see "Roles that change" above).
    """

    type: Literal["mediator_policy"]
    """`mediator_policy`."""
    actor: Identifier
    """Id of the mediator."""
    leverage: Share | None = None
    """New leverage (0: offers no way out, in session or out of it)."""
    bias: Tilt | None = None
    """New tilt of its proposals."""


class StanceChange(EventBase):
    """A side at the table changes its stance (a new government, a change of leadership or policy); only the fields given change."""

    type: Literal["stance_change"]
    """`stance_change`."""
    actor: Identifier
    """Id of the government or the opposition coalition."""
    resolve: Share | None = None
    """New resolve."""
    willingness_bias: Logit | None = None
    """New baseline propensity to engage in talks (logit scale)."""
    cost_sensitivity: Factor | None = None
    """New cost sensitivity."""
    optimism: Tilt | None = None
    """New optimism."""
    position: Share | None = None
    """New ideal point on the issue (e.g. a government that now offers more than before)."""


class Shock(EventBase):
    """A sudden loss of a combatant's forces not caused by fighting (a disaster, a purge, a split)."""

    type: Literal["shock"]
    """`shock`."""
    actor: Identifier
    """Id of the government, faction or spoiler hit."""
    capability_loss: Share
    """Proportional loss of the combatant's own forces."""
    cohesion_loss: Share = 0.0
    """Proportional loss of a faction's cohesion (factions only)."""


Event = Annotated[
    Intervention
    | Escalation
    | Offensive
    | LeaderRemoval
    | NegotiationRound
    | Ceasefire
    | PatronPolicy
    | MediatorPolicy
    | StanceChange
    | Shock
    | CommanderRemoval
    | GovernmentChange
    | Referendum
    | Ratification,
    Field(discriminator="type"),
]

EVENT_MODELS: tuple[type[EventBase], ...] = typing.get_args(typing.get_args(Event)[0])
"""The event models, in the order of the `Event` union."""


# ------------------------------------------------------------------- parameters


class Parameters(Frozen):
    """Constants of the model's mechanisms. Each may be a distribution.

    Defaults and their sources are listed in `docs/model.md` (Parameters);
    every constant of a mechanism is here, none is hard-coded in the model.
    """

    spinup_weeks: int = Field(default=104, ge=0, le=520)
    """Most weeks simulated before the calendar starts, without events and with fronts held, so cohesion, losses, beliefs and patrons' support start at the model's own resting point; the spin-up stops earlier once settled (`spinup_tolerance`)."""
    spinup_tolerance: float = Field(default=1e-4, ge=0, le=1)
    """Largest weekly change of any settling state (losses, cohesion, patrons' support; the largest over replications) at which the spin-up counts as settled; `spinup_weeks` is then its maximum. 0 runs all `spinup_weeks`."""
    spinup_window: int = Field(default=4, ge=1, le=52)
    """Consecutive weeks every spun-up state must stay within `spinup_tolerance` for the spin-up to stop."""
    contest_decisiveness: Factor = 1.0
    """Exponent m of the Tullock contest success function (1 = lottery, large = decisive)."""
    front_rate: Share = 0.06
    """Weekly share of a region's control that moves towards where the balance of effort puts it."""
    adjacency_reach: Share = 0.3
    """Weight of presence in neighbouring regions when allocating effort to a region."""
    fighting_noise: Spread = 0.25
    """Standard deviation of log-normal noise on each actor's effort in each region."""
    attrition_rate: Share = 0.01
    """Lanchester effectiveness: weekly losses per unit of enemy strength."""
    hurt_memory: Share = 0.25
    """Weight of the latest week in the moving average of the loss rate ('hurt')."""
    belief_learning_rate: Share = 0.15
    """Weight of the latest battlefield signal in each side's belief."""
    belief_noise: Spread = 0.04
    """Standard deviation of the noise in each side's reading of the battlefield."""
    strength_weight: Share = 0.5
    """Weight of relative strength (vs territory) in the battlefield signal."""
    cost_horizon_weeks: Weeks = 26
    """Horizon over which the expected losses of continued war count as its cost."""
    salience_stake_weight: Share = 1.0
    """How far a side's issue salience s sets the value of the stake, v = 1 / (1 + w (1 - s)): the cost of war counts on the issue scale as c / v, so the more salient the issue, the less of it a given cost buys and the harder the side resists conceding (Toft 2003; Hensel et al. 2008). 0 switches it off (costs whatever the salience)."""
    commitment_horizon_weeks: Weeks = 13
    """Weeks over which a shift in the balance of power erodes a deal (Powell's commitment problem)."""
    momentum_memory: Share = 0.25
    """Weight of the latest week in the moving averages of territorial change and of the power shift."""
    hurt_threshold: Share = 0.01
    """Weekly loss rate at which a side fully 'hurts' (ripeness)."""
    stalemate_tolerance: Share = 0.004
    """Weekly territorial change below which the war counts as a stalemate (ripeness)."""
    willingness_ripeness: Factor = 3.0
    """Logit weight of ripeness in the willingness to talk."""
    willingness_endorsement: Factor = 1.5
    """Logit weight of patrons' endorsement of talks."""
    willingness_confidence: Factor = 4.0
    """Logit weight of a side's confidence of winning (lowers willingness)."""
    willingness_resolve: Factor = 1.0
    """Logit weight of resolve (lowers willingness)."""
    willingness_trust: Factor = 1.0
    """Logit weight of the trust built in earlier talks (raises willingness)."""
    confidence_reference: Share = 0.5
    """Expected share of the issue at which a side counts as neither confident nor pessimistic (parity)."""
    cohesion_rate: Share = 0.15
    """Weekly adjustment of cohesion towards its target."""
    cohesion_loss_weight: Factor = 5.0
    """How much the loss rate erodes factions' cohesion."""
    cohesion_endorsement_weight: Share = 0.5
    """Weight of patrons' endorsement (vs the leader's authority) in a faction's cohesion target."""
    succession_authority_start: Share = 0.5
    """Share of his authority a new leader holds on taking over; the rest comes over the crisis weeks."""
    successor_demands: Share = 1.0
    """How far a removed leader's successor brings his own moderation to the faction's demands and veto (1: all of it; 0 switches the successor channel off: the faction keeps its removed leader's moderation; Cunningham 2006)."""
    decapitation_moderation: Tilt = 0.0
    """Signed shift of a faction's moderation when its leader is removed: positive, removal hastens the group's acceptance of terms (Johnston 2012); negative, it hardens it (Jordan 2009: organisations that survive decapitation). 0 unless a scenario's record says which."""
    decapitation_resolve: Tilt = 0.0
    """Signed drop of the coalition's resolve at a leader's removal, per unit of his faction's share of its strength: positive, decapitation breaks the will to fight on (Johnston 2012); negative, it stiffens a group that survives it (Jordan 2009). 0 unless a scenario's record says which."""
    fragmentation_threshold: Share = 0.25
    """Coalition cohesion below which the opposition is fragmented and cannot commit."""
    fragmentation_share: Share = 0.5
    """Share of the factions' fighting strength still in the coalition below which the opposition is fragmented, whatever its cohesion (Bakke, Cunningham & Seymour 2012)."""
    exit_cohesion: Share = 0.2
    """Faction cohesion below which a faction leaves the coalition (its delegation and what a deal binds); 0 switches membership off. An assumption; sweep it."""
    rejoin_rate: Share = 0.1
    """Weekly probability that a faction outside the coalition re-joins once its cohesion is back at `exit_cohesion` or above. An assumption; sweep it."""
    commitment_threshold: Share = 0.3
    """Deliverable share (coalition cohesion x accepting capability) at which a signed deal is ratified with probability 1/2."""
    ratification_spread: Factor = 0.05
    """Spread of the logistic ratification rule around the commitment threshold (0 = a sharp threshold)."""
    ceasefire_threshold: Share = 0.2
    """Deliverable share needed for a ceasefire agreed at the table."""
    hardline_margin: Share = 0.1
    """How far above the coalition's reservation a fully immoderate faction demands (a modelling choice the verdicts can turn on; sweep it)."""
    concession_rate: Share = 0.4
    """Share of the distance to its reservation point each side concedes in a week both sides engage."""
    framework_gap: Share = 0.3
    """Gap between the two sides' demands at which a framework (agreed principles) counts as reached."""
    mediator_reach: Share = 0.2
    """Gap a mediator of full leverage can bridge with a proposal of its own (scaled by leverage)."""
    willingness_surplus: Factor = 10.0
    """Logit weight of the surplus a side expects from the deal on offer over fighting on (issue units): a deal worth 0.1 of the issue more than war raises the log-odds of attending by 1 at the default. An assumption; sweep it."""
    cooling_off_weeks: Weeks = 3
    """Weeks a round stays suspended after a walkout before it may resume (Geneva III: paused by the UN envoy on 3 Feb 2016 with the resumption set for 25 Feb, three weeks on)."""
    resumption_rate: Share = 0.5
    """Weekly rate at which the mediator brings a suspended round back, scaled by the willingness of the side(s) that left. An assumption; sweep it."""
    mediator_insight: Share = 1.0
    """How far towards the zone both sides would sign a mediator moves its proposal, per unit of its leverage (Raiffa 1982; Kydd 2003: what a mediator knows of the parties' limits is its value to them). 0 = the plain Rubinstein split, which either side may refuse."""
    veto_share: Share = 0.1
    """Share of the coalition's fighting strength at which a faction is a veto player whose consent the delegation needs (Cunningham 2006: a faction able to fight on alone). An assumption; sweep it."""
    delegation_veto: Factor = 1.0
    """How far the most hardline veto player drags the delegation's limit above the coalition's reservation, per unit of division (1 - cohesion) and of `hardline_margin` (Cunningham 2006; Pearlman 2009). 0 switches the channel off."""
    bargaining_tolerance: Share = 1e-9
    """Tolerance of every comparison of offers, demands, limits and thresholds at the table (issue units): far above floating-point rounding (1e-16), far below any difference a negotiator would notice, so no outcome hinges on rounding. Like every number, a value below 1e-9 reads as 0 (no tolerance)."""
    trust_gain: Share = 0.15
    """Weekly share of the distance to full trust gained when both sides engage."""
    trust_loss: Share = 0.3
    """Proportional loss of trust at a walkout, a rejected deal or a broken agreement."""
    emboldening: Factor = 0.5
    """How far the government raises its price per unit of territory gained since the start (issue units per share of territory)."""
    partner_loss: Share = 0.5
    """Share of the progress made with a removed leader's faction (its concessions and trust) lost with him."""
    patron_removal_reaction: Share = 0.3
    """Proportional drop of a patron's commitment and support for talks when a leader it is tied to is removed (scaled by the tie)."""
    outbidding_intensity: Share = 0.1
    """Weekly share of trust destroyed, and of the ratification probability lost, by hardliners' escalation right after a leader's removal (Kydd & Walter 2002: outbidding and spoiling after a rival's fall). 0 switches the channel off. An assumption; sweep it."""
    outbidding_weeks: Weeks = 8
    """Mean time in weeks over which hardliners' escalation after a removal decays (o' = o (1 - 1/weeks))."""
    patron_talks_response: Logit = 0.0
    """How much a patron's pressure for talks rises as its client's prospects fall below parity (0 = not at all)."""
    patron_parity: Share = 0.5
    """Client's prospects (expected share of the issue) at which a patron's support and pressure for talks are at their base levels: below it a responsive patron gives more (Regan 2002 on intervention to restore a balance). 0.5 = parity."""
    implementation_hazard: Share = 0.002
    """Baseline weekly probability that an agreement in force, or a ceasefire, breaks down (Hartzell & Hoddie 2003: about 40 % of settlements fail within five years)."""
    spoiler_hazard_weight: Share = 0.05
    """Extra weekly breakdown probability per unit of spoilers' share of all fighting strength."""
    defection_hazard_weight: Share = 0.01
    """Extra weekly breakdown probability per unit of the opposition a deal cannot bind (1 - deliverable share)."""
    talks_ceasefire_strength: Share = 0.7
    """Proportional reduction of fighting under a ceasefire agreed at the table."""
    talks_ceasefire_weeks: Weeks = 520
    """Longest a ceasefire agreed at the table runs (its term; most are open-ended, Fortna 2004): before it, it ends by fraying (the ceasefire hazard) or by an agreement."""
    ceasefire_gain_weight: Factor = 1.0
    """Issue-scale value of a unit of territory a side expects to gain per week by fighting on, when it weighs a ceasefire at the table against its cost of war (1: one for one, as territory enters the battlefield signal)."""
    ceasefire_violation_weight: Share = 0.02
    """Extra weekly probability that a ceasefire frays per unit of the fighting it leaves between the sides it binds (1 - strength) (Fortna 2004: violations erode ceasefires)."""
    ceasefire_outsider_weight: Share = 0.05
    """Extra weekly probability that a ceasefire frays per unit of the fighting strength outside it (Stedman 1997; as `spoiler_hazard_weight`)."""
    ceasefire_shift_weight: Factor = 1.0
    """Extra weekly probability that a ceasefire frays per unit of weekly shift in the balance of power (Werner 1999: shifting capabilities tempt the side gaining to resume)."""
    discount_base: Share = 0.98
    """Weekly discount factor of a side with no cost of war (Rubinstein delta)."""
    discount_cap: Share = 0.999
    """Largest discount factor (keeps the Rubinstein split defined when costs vanish)."""
    first_proposer: Literal["government", "opposition"] = "government"
    """Who the mediator treats as first proposer in the Rubinstein split (the agenda setter)."""


# --------------------------------------------------------- variants, hypotheses


class Variant(Frozen):
    """A named edit of the base scenario. Edits apply in the order of these fields."""

    description: str | None = None
    """What the counterfactual is."""
    remove_events: list[Identifier] = Field(default_factory=list)
    """Ids of events (scheduled or stochastic) to remove."""
    move_events: dict[Identifier, dt.date] = Field(default_factory=dict)
    """New dates for events, by id."""
    add_events: list[Event] = Field(default_factory=list)
    """Events to add (new ids)."""
    set: dict[str, Any] = Field(default_factory=dict)
    """Overrides by dotted path, e.g. `actors.russia.commitment: 0.2` or
    `events.geneva3.duration_weeks: 8` (events are addressed by id)."""


class SmallestEffect(Frozen):
    """The smallest effect that matters, with the reason for it."""

    value: Annotated[Number, Field(ge=0)]
    """In the `runs.csv` unit (0.05 = 5 points for a 0/1 outcome)."""
    why: str = Field(min_length=1)
    """Why an effect this size matters (a source, a decision it would change)."""
    relative: Annotated[Number, Field(gt=1)] | None = None
    """Smallest relative effect of a 0/1 outcome, as a paired odds ratio (default 1.68; docs/results.md)."""


class Hypothesis(Frozen):
    """A claim tested by comparing a treatment variant with a control variant.

    A claim about something broad ("escalation weakens negotiations") names
    several `metrics`; each gets its own row and verdict, and Holm's
    adjustment keeps the chance of any false verdict among all rows of a run
    below 1 - confidence (see docs/results.md).
    """

    metric: str | None = None
    """Run outcome compared (a `runs.csv` column, e.g. `agreement`); or give `metrics`."""
    metrics: list[str] = Field(default_factory=list)
    """Several run outcomes, one verdict each (e.g. `[agreement, talks_held, value_opposition]`)."""
    treatment: Identifier
    """Variant where the cause is present (`base` is the scenario as written)."""
    control: Identifier
    """Variant where it is absent."""
    expected: Literal["increase", "decrease"]
    """Predicted sign of treatment minus control (the same for every metric)."""
    smallest_effect: (
        Annotated[Number, Field(ge=0)]
        | SmallestEffect
        | dict[str, Annotated[Number, Field(ge=0)] | SmallestEffect]
        | None
    ) = None
    """Smallest effect that matters, in the `runs.csv` unit (0.05 = 5 points for a 0/1 outcome): one number, or `{value, why, relative}`, for every metric, or one per metric; default by kind of metric (docs/results.md)."""
    given: Literal["all", "record"] = "all"
    """`record`: this hypothesis must also be judged on the worlds that match the `observed` record (as `negsim run --given-record`); the run fails when too few do."""
    description: str | None = None
    """The claim in words."""

    @field_validator("metrics")
    @classmethod
    def _metrics_known(cls, metrics: list[str]) -> list[str]:
        # (`metric` is checked with the other references, in references.py.)
        for metric in metrics:
            if metric not in RUN_METRICS + DERIVED_METRICS:
                raise ValueError(f"unknown metric {metric!r}{metric_hint(metric)}")
        return metrics

    @model_validator(mode="after")
    def _some_metric(self) -> Hypothesis:
        named = ([self.metric] if self.metric else []) + list(self.metrics)
        if not named:
            raise ValueError("give `metric` (one run outcome) or `metrics` (several)")
        if isinstance(self.smallest_effect, dict):
            if {"value", "why", "relative"} & set(self.smallest_effect):
                raise ValueError(
                    "smallest_effect: give `value` (a number, 0 or more) and `why` (the "
                    "reason), and optionally `relative` (a paired odds ratio above 1)"
                )
            extra = [m for m in self.smallest_effect if m not in named]
            if extra:
                raise ValueError(
                    f"smallest_effect names {extra[0]!r}, not one of this hypothesis' metrics"
                )
        return self


class Experiment(Frozen):
    """Defaults for `negsim run`."""

    runs: int = Field(default=1000, ge=1, le=1_000_000)
    """Replications per variant."""
    seed: int = Field(default=1, ge=0)
    """Master seed; every random stream derives from it."""
    chunk_size: int = Field(default=500, ge=1, le=100_000)
    """Replications simulated together; part of the experiment (changes the draws)."""
    confidence: float = Field(default=0.95, gt=0, lt=1)
    """Confidence level of the verdicts' intervals."""
    bootstrap_resamples: int = Field(default=2000, ge=100, le=100_000)
    """Bootstrap resamples for the verdicts' intervals."""
    auto_max_runs: int = Field(default=16_000, ge=1, le=1_000_000)
    """Most replications per variant `negsim run --runs auto` goes up to."""


# --------------------------------------------------------------------- scenario


class Scenario(Frozen):
    """A scenario file."""

    name: Identifier
    """Scenario name; results go to `results/<name>/`."""
    description: str | None = None
    """What the scenario represents."""
    extends: str | None = None
    """Path (relative to this file) of a scenario this one builds on."""
    calendar: Calendar
    """Start and end dates."""
    issue: Issue
    """The issue under negotiation."""
    actors: dict[Identifier, Actor]
    """Actors by id; `kind` selects the kind and its fields."""
    leaders: dict[Identifier, Leader] = Field(default_factory=dict)
    """Faction leaders by id."""
    regions: dict[Identifier, Region]
    """Regions (governorates or fronts) by id."""
    events: list[Event] = Field(default_factory=list)
    """Scheduled (`date`) or stochastic (`hazard`) events; `type` selects the fields."""
    parameters: Parameters = Field(default_factory=Parameters)
    """Constants of the mechanisms."""
    variants: dict[Identifier, Variant] = Field(default_factory=dict)
    """Counterfactual variants by name (`base` is reserved for the scenario itself)."""
    hypotheses: dict[Identifier, Hypothesis] = Field(default_factory=dict)
    """Hypotheses by name."""
    uncertain: dict[str, AnyNumber] = Field(default_factory=dict)
    """The assumptions a verdict may rest on, by dotted path, each a range or distribution: `negsim run` draws them per run (unless `--at-values`), `negsim sweep` samples them."""
    experiment: Experiment = Field(default_factory=Experiment)
    """Default number of runs, seed and chunking."""
    observed: list[Pattern] = Field(default_factory=list)
    """The public record as patterns over the per-week metrics (see below); `negsim run` reports how often the base world reproduces them and judges the hypotheses again on the worlds that do."""

    def actors_of(self, kind: str) -> dict[str, Any]:
        """Actors of one kind, by id, in file order."""
        return {key: actor for key, actor in self.actors.items() if actor.kind == kind}

    def weeks(self) -> int:
        """Number of weekly steps from start to end."""
        return (self.calendar.end - self.calendar.start).days // 7 + 1

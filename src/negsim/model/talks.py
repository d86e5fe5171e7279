"""The negotiation process: talks that unfold over weeks and rounds, with their own state.

Within a round each side holds a demand on the issue line and concedes
towards its reservation point week by week while it engages (a monotonic
concession process); when the gap between the demands is within the
mediator's reach, the mediator proposes a split, each side accepts or
rejects it by its own rule, and the factions ratify it or not. Each side
comes to the table as its stake in a deal (its share of the range of deals
both prefer to war) and the state of the war draw it; a side that does not
engage walks out, the mediator suspends the round, and after a cooling-off
period it may resume. The opposition signs through a delegation whose veto
players may ask for more than the coalition's reservation. Every comparison
allows a stated tolerance, so no outcome hinges on rounding. Demands, the
stage reached and the trust built are kept between rounds, so a later round
starts where an earlier one stopped. An agreement is then implemented and can
break down (spoilers, factions it cannot bind, patrons withdrawing).

Stages, each an outcome: 1 talks about talks (both sides at the table),
2 framework (demands within `framework_gap`), 3 ceasefire agreed at the
table, 4 comprehensive settlement (signed and ratified).

The pure functions below are the submodels, each docked by a test.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numba
import numpy as np

from negsim.model import coalition, negotiation
from negsim.model.compiled import _clip, _maximum, _minimum, _pairwise_sum
from negsim.model.patrons import PATRON_OF_GOVERNMENT, PATRON_OF_SPOILER

if TYPE_CHECKING:
    from negsim.model.agents import Government, Opposition, Patron
    from negsim.model.streams import Streams


@runtime_checkable
class TalksWorld(Protocol):
    """What the talks read of the world (`negsim.model.world.ConflictModel`), and ``ripeness``, which they set.

    Named here, not imported: stage 6 needs the sides, the patrons and these
    arrays, not the Mesa model that schedules the stages.
    """

    size: int
    streams: Streams
    parameters: dict[str, np.ndarray]
    compiled: bool
    first_proposer: str
    government: Government
    opposition: Opposition
    patrons: dict[str, Patron]
    patron_routes: tuple[np.ndarray, np.ndarray, np.ndarray]
    faction_columns: np.ndarray
    spoiler_columns: np.ndarray
    strength: np.ndarray
    reference_sides: tuple[np.ndarray, np.ndarray]
    government_territory_start: np.ndarray
    signal: np.ndarray
    momentum: np.ndarray
    power_shift: np.ndarray
    ripeness: np.ndarray
    fighting_rate: np.ndarray
    outside_share: np.ndarray
    outbidding: np.ndarray
    ceasefire_in_force: np.ndarray

    @property
    def fragmented(self) -> np.ndarray: ...

    def territory(self, columns: np.ndarray | int) -> np.ndarray: ...

    def side_strengths(self) -> tuple[np.ndarray, np.ndarray]: ...

    def best_leverage(self) -> np.ndarray: ...

    def endorsements(self) -> tuple[np.ndarray, np.ndarray]: ...

    def government_share(self) -> np.ndarray: ...

    def spoiler_share(self) -> np.ndarray: ...

    def deliverable_now(self) -> np.ndarray: ...

    def faction_ties(self) -> np.ndarray: ...

    def coverage(self, names: list[str] | None, everyone: bool = False) -> np.ndarray: ...

    def collapse_ceasefires(self, where: np.ndarray) -> None: ...


STAGE_NONE, STAGE_TALKS, STAGE_FRAMEWORK, STAGE_CEASEFIRE, STAGE_SETTLEMENT = 0, 1, 2, 3, 4

# Talks state per week, recorded as codes.
TALKS_NONE, TALKS_AGREEMENT, TALKS_CEASEFIRE, TALKS_WALKOUT, TALKS_ENGAGED = 0, 1, 2, 3, 4


# ------------------------------------------------------------------ submodels


def expected_loss_rate(
    attrition_rate: np.ndarray, enemy_strength: np.ndarray, own_base_forces: np.ndarray
) -> np.ndarray:
    """Weekly loss rate a side expects if the war goes on at full intensity.

    h_hat = alpha * S_enemy / F0

    From the Lanchester square law (dB/dt = -beta R): the losses the enemy's
    current strength (with its patrons' support) would inflict per week,
    against the side's own initial forces. It is the loss rate of fighting,
    whatever is being fought this week, so a ceasefire does not make war
    look cheap (Fearon 1995: the costs that open the bargaining range are
    the costs of war, not of the present lull).

    References:
        Lanchester, F. W. (1916). Aircraft in Warfare.
        Fearon, J. D. (1995). Rationalist explanations for war. IO 49(3).
    """
    return np.divide(
        attrition_rate * enemy_strength,
        own_base_forces,
        out=np.zeros_like(np.asarray(enemy_strength, dtype=float)),
        where=own_base_forces > 0,
    )


def expected_cost(
    cost_sensitivity: np.ndarray,
    resolve: np.ndarray,
    expected_rate: np.ndarray,
    horizon_weeks: np.ndarray,
) -> np.ndarray:
    """Forward-looking cost of war on the issue scale.

    c = s * (1 - resolve) * h_hat * H

    The expected losses of continued war over the side's horizon H, weighted
    by its sensitivity s and discounted by its resolve (Fearon 1995's c_i,
    valued over a horizon as in Slantchev 2003's war of attrition).

    References:
        Slantchev, B. (2003). The principle of convergence in wartime
        negotiations. APSR 97(4).
    """
    return negotiation.cost_of_war(cost_sensitivity, resolve, expected_rate, horizon_weeks)


def stake_value(salience: np.ndarray, weight: np.ndarray | float) -> np.ndarray:
    """The value of the stake to a side, relative to a fully salient issue.

    v = 1 / (1 + w * (1 - salience)),   in [1 / (1 + w), 1]

    The bargaining model measures the costs of war against the value of the
    issue (Fearon 1995: c_i is the cost as a share of the stake): a side
    that values the issue more buys less of it with the same expected
    losses, so its reservation point moves less and it resists conceding.
    Salience and indivisibility raise that value (Toft 2003 on territory's
    salience and indivisibility; Hensel, Mitchell, Sowers & Thyne 2008: more
    salient issues are fought over more and settled less). The cost of war on
    the issue scale is c / v. w = 0 switches salience off (v = 1).

    References:
        Fearon, J. D. (1995). Rationalist explanations for war. IO 49(3).
        Toft, M. D. (2003). The Geography of Ethnic Violence.
        Hensel, P. R., Mitchell, S. M., Sowers, T. E., Thyne, C. L. (2008).
        Bones of contention. J. Conflict Resolution 52(1).
    """
    return 1.0 / (1.0 + weight * (1.0 - salience))


def cost_weight(
    cost_sensitivity: np.ndarray, salience: np.ndarray, weight: np.ndarray
) -> np.ndarray:
    """A side's cost sensitivity per unit of the stake's value: s / v (`stake_value`)."""
    return cost_sensitivity / stake_value(salience, weight)


def concede(
    demand: np.ndarray,
    reservation: np.ndarray,
    rate: np.ndarray,
    upward: bool,
    tolerance: np.ndarray | float = 0.0,
) -> np.ndarray:
    """One week of monotonic concession towards the reservation point.

    d' = d + rate * (r - d)   when the side still asks for more than r,
    d' = r                    when that move comes within ``tolerance`` of r,

    and a demand beyond the reservation point (after the reservation moved,
    e.g. the side grew stronger) is taken back to it: a side never offers
    more than it prefers to war. ``upward`` is the direction of concession
    (the government concedes upwards on the opposition's share, the
    opposition downwards).

    A concession process with a constant concession factor (Cross 1969;
    Pruitt 1981: concession rates and the 'negotiator's dilemma'; the
    time-independent tactics of Faratin, Sierra & Jennings 1998).

    References:
        Cross, J. G. (1969). The Economics of Bargaining.
        Pruitt, D. G. (1981). Negotiation Behavior.
        Faratin, P., Sierra, C., Jennings, N. R. (1998). Negotiation decision
        functions for autonomous agents. Robotics and Autonomous Systems 24.
    """
    moved = demand + rate * (reservation - demand)
    # A geometric approach never reaches r: within the tolerance it has.
    moved = np.where(np.abs(reservation - moved) <= tolerance, reservation, moved)
    if upward:
        return np.where(demand < reservation, moved, reservation)
    return np.where(demand > reservation, moved, reservation)


def bridging_proposal(
    offer: np.ndarray, demand: np.ndarray, government_share: np.ndarray, bias: np.ndarray
) -> np.ndarray:
    """The mediator's proposal between the government's offer and the opposition's demand.

    x = clip(a + (1 - s_G + bias) * (b - a), a, b),  a = min(offer, demand), b = max(...)

    The Rubinstein split (the government's share s_G of the disputed
    interval goes to it) of what is still disputed, tilted by the mediator's
    bias; when demands have crossed it splits the overlap the same way.
    """
    low, high = np.minimum(offer, demand), np.maximum(offer, demand)
    return negotiation.mediator_proposal(low, high, government_share, bias)


def joint_mediation(
    leverage: np.ndarray, bias: np.ndarray, present: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Leverage and bias of the mediators in session together (joint mediators, guarantors).

    L = 1 - prod_i (1 - l_i),   b = sum_i l_i b_i / sum_i l_i   (over the mediators present)

    Each mediator offers a way out independently (Zartman's 'way out'): the
    parties see one unless every mediator fails to offer it, so leverage
    combines like independent chances; the proposal's tilt is the
    leverage-weighted mean of their biases (the plain mean where none has
    leverage). One mediator alone keeps his own leverage and bias exactly.
    Shapes (R, M); returns two (R,) arrays, 0 where none is present.

    References:
        Zartman, I. W. (2000). Ripeness: the hurting stalemate and beyond.
        Crocker, C., Hampson, F. O., Aall, P. (1999). Herding Cats:
        Multiparty Mediation in a Complex World.
    """
    present = np.asarray(present, dtype=bool)
    count = present.sum(axis=-1)
    own = np.where(present, leverage, 0.0)
    combined = 1.0 - np.prod(1.0 - own, axis=-1)
    weights = own.sum(axis=-1)
    # Leverage in the subnormal range is no leverage: there l * b loses its
    # digits and the weighted mean could fall outside the biases' range.
    weighted_ok = weights >= np.finfo(float).tiny
    weighted = np.divide(
        (own * bias).sum(axis=-1), weights, out=np.zeros(count.shape), where=weighted_ok
    )
    plain = np.divide(
        np.where(present, bias, 0.0).sum(axis=-1), count, out=np.zeros(count.shape), where=count > 0
    )
    alone = count == 1
    joint_leverage = np.where(alone, own.sum(axis=-1), combined)
    joint_bias = np.where(alone | ~weighted_ok, plain, weighted)
    return joint_leverage, joint_bias


def ratification_probability(
    deliverable: np.ndarray, threshold: np.ndarray, spread: np.ndarray
) -> np.ndarray:
    """Probability that the factions ratify a signed deal.

    P = 1 / (1 + exp(-(D - T) / spread)),  and the step [D >= T] when spread = 0.

    D is the deliverable share (the capability of accepting factions times
    coalition cohesion): a deal is carried when enough of the opposition
    will implement it (Putnam 1988's two-level game: the win-set of the
    constituency; Pearlman 2009 on cohesion and commitment), with
    uncertainty about the internal vote (the spread).

    References:
        Putnam, R. D. (1988). Diplomacy and domestic politics. IO 42(3).
        Pearlman, W. (2009). Spoiling inside and out. International Security 33(3).
    """
    spread = np.asarray(spread, dtype=float)
    safe = np.where(spread > 0, spread, 1.0)
    with np.errstate(over="ignore"):
        smooth = 1.0 / (1.0 + np.exp(-(deliverable - threshold) / safe))
    return np.where(spread > 0, smooth, (deliverable >= threshold).astype(float))


def breakdown_hazard(
    base: np.ndarray,
    spoiler_share: np.ndarray,
    undelivered: np.ndarray,
    spoiler_weight: np.ndarray,
    defection_weight: np.ndarray,
) -> np.ndarray:
    """Weekly probability that an agreement (or a ceasefire) in force breaks down.

    h = clip(h0 + w_s * spoiler_share + w_d * (1 - D), 0, 1)

    Peace breaks down through spoilers' violence (Stedman 1997; Kydd &
    Walter 2002), through factions the deal could not bind defecting
    (1 - D: the undelivered share; Walter 2002), on top of a baseline
    hazard of implementation failure (Hartzell & Hoddie 2003: about a third
    of settlements fail within five years, a weekly hazard near 0.002).

    References:
        Stedman, S. J. (1997). Spoiler problems in peace processes.
        International Security 22(2).
        Walter, B. F. (2002). Committing to Peace.
        Hartzell, C., Hoddie, M. (2003). Institutionalizing peace. AJPS 47(2).
    """
    return np.clip(base + spoiler_weight * spoiler_share + defection_weight * undelivered, 0.0, 1.0)


def emboldened_reservation(
    reservation: np.ndarray, territory_gain: np.ndarray, emboldening: np.ndarray
) -> np.ndarray:
    """The government's reservation point after battlefield gains.

    r_G' = r_G - e * max(0, gain)

    A side that has gained ground raises its war aims beyond what the new
    balance alone justifies (Reiter 2009: belligerents revise their terms
    upwards after victories; Goemans 2000 on war aims and domestic
    incentives): the government concedes less of the issue per share of
    territory gained since the start.

    References:
        Reiter, D. (2009). How Wars End. Goemans, H. (2000). War and Punishment.
    """
    return reservation - emboldening * np.maximum(0.0, territory_gain)


def patron_reaction(
    value: np.ndarray, tie: np.ndarray, reaction: np.ndarray, hit: np.ndarray
) -> np.ndarray:
    """A patron's commitment (or pressure for talks) after a leader it is tied to is removed.

    v' = v * (1 - reaction * tie)   where the removal happened, v elsewhere.

    Patrons invest in particular leaders and their organisations (the
    principal-agent ties of Salehyan 2010; Byman 2005): the loss of a
    trusted agent cuts the patron's stake in the coalition, the article's
    'disinterest in Riyadh and Ankara' after Alloush's death.

    References:
        Salehyan, I. (2010). The delegation of war to rebel organizations.
        JCR 54(3). Byman, D. (2005). Deadly Connections.
    """
    return np.where(hit, value * (1.0 - reaction * tie), value)


def trust_update(
    trust: np.ndarray, engaged: np.ndarray, breach: np.ndarray, gain: np.ndarray, loss: np.ndarray
) -> np.ndarray:
    """Trust built by engagement and lost by breaches.

    t' = t + gain * (1 - t) if both sides engaged this week; t' = t * (1 - loss) after a breach.

    Reassurance through costly, reciprocated steps (Kydd 2000), lost when a
    side walks out, a deal is rejected or an agreement breaks down.

    References:
        Kydd, A. (2000). Trust, reassurance, and cooperation. IO 54(2).
    """
    built = np.where(engaged, trust + gain * (1.0 - trust), trust)
    return np.clip(np.where(breach, built * (1.0 - loss), built), 0.0, 1.0)


def deal_surplus(
    low: np.ndarray, high: np.ndarray, government_share: np.ndarray, bias: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """What each side expects to gain from settling over fighting on.

    W = high - low,   S_G = (s_G - bias) * W,   S_O = (1 - s_G + bias) * W

    The range [low, high] holds the deals both prefer to war (Fearon 1995);
    its width W is what a settlement saves over fighting (the costs of war,
    less what emboldening and a shifting balance take away). A side expects
    its Rubinstein share of it (Rubinstein 1982; s_G the government's, the
    mediator's bias tilting it), so a wider range draws both sides to the
    table and a closed one (W < 0: no deal beats war) drives both from it.
    This is the bargaining model's reading of attendance: a side comes to
    talk when a deal can beat fighting, and stays away when its expected
    terms are worse than war (Fearon 1995; Walter 2002 on the credible
    commitments a deal must carry, which the commitment-adjusted range
    prices in).

    References:
        Fearon, J. D. (1995). Rationalist explanations for war. IO 49(3).
        Rubinstein, A. (1982). Perfect equilibrium in a bargaining model.
        Econometrica 50(1).
        Walter, B. F. (2002). Committing to Peace.
    """
    width = high - low
    government = np.clip(government_share - bias, 0.0, 1.0)
    return government * width, (1.0 - government) * width


def zone_of_agreement_proposal(
    proposal: np.ndarray,
    offer: np.ndarray,
    demand: np.ndarray,
    floor: np.ndarray,
    ceiling: np.ndarray,
    insight: np.ndarray,
) -> np.ndarray:
    """The mediator's proposal moved towards the zone both sides would sign.

    Z = [max(a, floor), min(b, ceiling)],  a = min(offer, demand), b = max(offer, demand)
    x* = x + L * (clip(x, Z) - x)   if Z is not empty,   x otherwise

    A mediator who knows what each side would sign puts forward a single
    negotiating text inside the zone of possible agreement (Raiffa 1982);
    what a mediator knows of the parties' limits is its value to them
    (Kydd 2003; Rauchhaus 2006: mediators as sources of information). The
    share L of the way it moves is its leverage (0: the plain split, which
    either side may refuse; 1: the nearest point of the zone). Where the
    disputed interval and the zone do not meet there is nothing both would
    sign and the plain split stands.

    References:
        Raiffa, H. (1982). The Art and Science of Negotiation, ch. 14 and 16.
        Kydd, A. (2003). Which side are you on? Bias, credibility, and
        mediation. AJPS 47(4).
        Rauchhaus, R. W. (2006). Asymmetric information, mediation, and
        conflict management. World Politics 58(2).
    """
    low, high = np.minimum(offer, demand), np.maximum(offer, demand)
    zone_low, zone_high = np.maximum(low, floor), np.minimum(high, ceiling)
    meets = zone_low <= zone_high
    inside = np.clip(proposal, zone_low, np.maximum(zone_low, zone_high))
    return np.where(meets, proposal + insight * (inside - proposal), proposal)


def resumption_probability(
    rate: np.ndarray,
    government_willingness: np.ndarray,
    opposition_willingness: np.ndarray,
    government_left: np.ndarray,
    opposition_left: np.ndarray,
) -> np.ndarray:
    """Weekly probability that a suspended round resumes after its cooling-off period.

    P = rho * w_G^[G left] * w_O^[O left]

    The mediator keeps the round on its calendar after a walkout and
    invites the parties back (the UN envoy's 'pause' of 3 February 2016,
    resumed on 14 March); a side returns as readily as it would come to the
    table at all, so the hazard follows the state that drives willingness
    (trust, ripeness, patrons' pressure, the deal on offer). ``rho`` is the
    mediator's weekly rate of invitations.

    References:
        Greig, J. M., Diehl, P. F. (2012). International Mediation.
        Zartman, I. W. (2000). Ripeness: the hurting stalemate and beyond.
    """
    return (
        rate
        * np.where(government_left, government_willingness, 1.0)
        * np.where(opposition_left, opposition_willingness, 1.0)
    )


def ceasefire_acceptance(
    government_cost: np.ndarray,
    opposition_cost: np.ndarray,
    momentum: np.ndarray,
    horizon_weeks: np.ndarray,
    gain_weight: np.ndarray,
    tolerance: np.ndarray | float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Whether each side signs a ceasefire at the table: what fighting on would win it against what it costs.

    g_O = w * max(0, m) * H,   g_G = w * max(0, -m) * H
    side i accepts  <=>  c_i + tolerance >= g_i

    A ceasefire is an agreement like any other: each side signs it only if
    it expects more from holding its fire than from fighting on (Fortna
    2004: ceasefires are signed, and hold, when neither side expects to gain
    by resuming; a side on the move refuses). m is the momentum (the
    opposition's weekly territorial gain, value-weighted), so over the
    horizon H the side gaining ground expects w * |m| * H of the issue (w:
    `ceasefire_gain_weight`, one for one as territory enters the battlefield
    signal), and c_i its expected cost of war over the same horizon
    (`expected_cost`). A stalemate (m = 0) makes both sides accept.

    References:
        Fortna, V. P. (2004). Peace Time: Cease-Fire Agreements and the
        Durability of Peace. Princeton UP, ch. 2.
        Zartman, I. W. (2000). Ripeness: the hurting stalemate and beyond.
    """
    opposition_gain = gain_weight * np.maximum(0.0, momentum) * horizon_weeks
    government_gain = gain_weight * np.maximum(0.0, -momentum) * horizon_weeks
    return (
        government_cost + tolerance >= government_gain,
        opposition_cost + tolerance >= opposition_gain,
    )


def ceasefire_hazard(
    base: np.ndarray,
    residual: np.ndarray,
    outside_share: np.ndarray,
    power_shift: np.ndarray,
    violation_weight: np.ndarray,
    outsider_weight: np.ndarray,
    shift_weight: np.ndarray,
) -> np.ndarray:
    """Weekly probability that a ceasefire in force frays and collapses.

    h = clip(h0 + w_v * phi + w_o * s_out + w_s * |dp|, 0, 1)

    A ceasefire does not end at a date: it frays. Fortna (2003, 2004) finds
    durability falls with the violations a ceasefire leaves unpunished
    (phi: the fighting it leaves between those it binds, 1 - strength),
    with armed groups outside it that go on fighting (s_out: their share of
    all fighting strength; Stedman 1997 on spoilers), and with the war's
    state: a shift in the balance of power tempts the side gaining to
    resume (|dp|: the weekly power shift; Werner 1999). h0 is the baseline
    of implementation failure shared with agreements.

    References:
        Fortna, V. P. (2003). Scraps of paper? Agreements and the durability
        of peace. IO 57(2). Fortna (2004). Peace Time.
        Stedman, S. J. (1997). Spoiler problems in peace processes.
        Werner, S. (1999). The precarious nature of peace. AJPS 43(3).
    """
    return np.clip(
        base
        + violation_weight * residual
        + outsider_weight * outside_share
        + shift_weight * np.abs(power_shift),
        0.0,
        1.0,
    )


def bound_fighting(
    calm: np.ndarray,
    covered: np.ndarray,
    present: np.ndarray,
    strength: np.ndarray,
    government: int,
    factions: np.ndarray,
    spoilers: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """How a ceasefire or agreement that binds some combatants calms the fighting.

    rate factor_g = 1 if some unbound combatant holds ground in g, else phi
    pair factor   = 1 - (1 - phi) * [government bound] * sum_f S_f [f bound] / sum_f S_f
    spoiler s     = phi if s is bound, else 1

    ``calm`` phi (R,) is what the ceasefires and agreement in force leave of
    the fighting among those they bind, ``covered`` (R, n) who they bind,
    ``present`` (R, G, n) who holds ground where, ``strength`` (R, n).
    Groups a ceasefire leaves out keep fighting (the Islamic State and
    Nusra were excluded from the February 2016 cessation, ISSG statement
    of 22 February 2016), so the fronts they hold move as in war and the
    fire on them is not held (Fortna 2004 on partial ceasefires; Stedman
    1997 on spoilers outside agreements).
    """
    outsider = (present & ~covered[:, None, :]).any(axis=-1)
    region = np.where(outsider, 1.0, calm[:, None])
    faction_strength = strength[:, factions]
    total = faction_strength.sum(axis=-1)
    bound_share = np.divide(
        (faction_strength * covered[:, factions]).sum(axis=-1),
        total,
        out=np.zeros_like(total),
        where=total > 0,
    )
    pair = 1.0 - (1.0 - calm) * covered[:, government] * bound_share
    spoiler = np.where(covered[:, spoilers], calm[:, None], 1.0)
    return region, pair, spoiler


def targeted_truce(
    calm: np.ndarray, aimed_ground: np.ndarray, aimed_fire: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """A one-sided truce aimed at named enemies: where the declaring side holds its effort and fire.

    ground_g = 1 - (1 - phi) * a_g,   a_g the aimed enemies' share of the enemy ground in g
    fire     = 1 - (1 - phi) * a,     a the aimed share of the other side at the table (by strength)

    A side can de-escalate towards one enemy and fight on against another
    (the Colombian government's de-escalation towards the FARC: in March 2015 it halted the bombing of FARC
    camps while operations against the ELN went on; Fortna 2004 on the
    scope of ceasefires).
    ``calm`` phi (R,) is 1 - the truce's strength where it is active.
    """
    held = 1.0 - calm
    return 1.0 - held[:, None] * aimed_ground, 1.0 - held * aimed_fire


def ratification_vote_probability(support: np.ndarray, seats: int, quota: np.ndarray) -> np.ndarray:
    """Probability that a named body (legislature, court) ratifies the agreement.

    P = P(Binomial(N, q) >= ceil(k * N))

    N members each vote for with probability q (``support``); the deal
    passes with at least the share k (``quota``) of the seats. The vote of
    a body is a different model from a referendum's single draw: with many
    seats a support above the quota passes almost surely and one below it
    fails (Grofman, Owen & Feld 1983 on the binomial vote); with N = 1 (a
    court, a head of state) P = q. Ratification at Level II: Putnam 1988;
    legislatures as the ratifiers of commitments: Martin 2000.

    References:
        Putnam, R. D. (1988). Diplomacy and domestic politics. IO 42(3).
        Martin, L. L. (2000). Democratic Commitments. Princeton UP.
        Grofman, B., Owen, G., Feld, S. L. (1983). Thirteen theorems in
        search of the truth. Theory and Decision 15(3).
    """
    from scipy.stats import binom

    needed = np.ceil(np.asarray(quota, dtype=float) * seats - 1e-9)
    return np.asarray(binom.sf(needed - 1, seats, support), dtype=float)


def _rows(arrays: list[np.ndarray], size: int) -> np.ndarray:
    """The (R,) arrays as the rows of one (len, R) array (none: shape (0, R))."""
    return np.stack(arrays) if arrays else np.zeros((0, size))


# ------------------------------------------------------------------- process


class Talks:
    """The state of the negotiation, per replication, kept across rounds."""

    def __init__(self, model: TalksWorld):
        size = model.size
        self.model = model
        government, opposition = model.government, model.opposition
        # Demands on the issue line (the opposition's share): each side starts at its ideal point.
        self.offer = government.position.copy()
        self.demand = opposition.position.copy()
        self.trust = np.zeros(size)
        self.stage = np.zeros(size)
        self.round_open = np.zeros(size, dtype=bool)
        self.in_session = np.zeros(size, dtype=bool)
        self.was_in_session = np.zeros(size, dtype=bool)
        self.state = np.zeros(size)
        # Agreement and its implementation.
        self.in_force = np.zeros(size, dtype=bool)
        self.agreed = np.zeros(size, dtype=bool)
        self.agreement_week = np.full(size, np.nan)
        self.settlement = np.full(size, np.nan)
        # What each side would accept in the week of agreement: [opposition's floor, government's ceiling].
        self.settlement_range = np.full((size, 2), np.nan)
        self.broke = np.zeros(size, dtype=bool)
        self.rejected = np.zeros(size)
        self.voted_down = np.zeros(size)
        # Set by a vote this week (referendum or ratification), for the weekly series.
        self.voted_down_now = np.zeros(size, dtype=bool)
        # Ceasefires: agreed at the table, or imposed by an event.
        self.ceasefire_until = np.full(size, -1.0)
        self.ceasefire_reached = np.zeros(size, dtype=bool)
        self.ceasefire_collapsed = np.zeros(size, dtype=bool)
        self.ceasefire_seen = np.zeros(size, dtype=bool)
        # Whom the latest ceasefire and agreement reached at the table bind (R, n).
        default = model.coverage(None)
        self.ceasefire_covers = np.broadcast_to(default, (size, default.size)).copy()
        self.agreement_covers = self.ceasefire_covers.copy()
        # Walkouts by side and weeks in session.
        self.walkouts_government = np.zeros(size)
        self.walkouts_opposition = np.zeros(size)
        # A round a side left is suspended by the mediator, not closed: who
        # left, from which week it may resume, how often it did.
        self.suspended = np.zeros(size, dtype=bool)
        self.left_government = np.zeros(size, dtype=bool)
        self.left_opposition = np.zeros(size, dtype=bool)
        self.resume_week = np.full(size, -1.0)
        self.resumptions = np.zeros(size)
        # This week's attendance, for the weekly series.
        self.at_table = np.zeros(size, dtype=bool)
        self.walked_government = np.zeros(size, dtype=bool)
        self.walked_opposition = np.zeros(size, dtype=bool)
        self.weeks = np.zeros(size)
        # Bargaining range and cohesion at talks: first week and mean over every session week.
        self.range_first = np.full(size, np.nan)
        self.range_sum = np.zeros(size)
        self.cohesion_first = np.full(size, np.nan)
        self.cohesion_sum = np.zeros(size)
        self.range_width = np.zeros(size)
        self.low = np.zeros(size)
        self.high = np.zeros(size)
        # For the compiled step: its parameters as rows of one array (set on first use).
        self._parameters: np.ndarray | None = None

    @property
    def gap(self) -> np.ndarray:
        """What still separates the two sides' demands (negative once they cross)."""
        return self.demand - self.offer

    # ------------------------------------------------------------ range

    def bargaining_range(self) -> tuple[np.ndarray, np.ndarray]:
        """This week's range: forward-looking costs, emboldening, commitment problem."""
        model = self.model
        p = model.parameters
        government, opposition = model.government, model.opposition
        blue, red = model.side_strengths()
        blue_base, red_base = model.reference_sides
        government_rate = expected_loss_rate(p["attrition_rate"], red, blue_base)
        opposition_rate = expected_loss_rate(p["attrition_rate"], blue, red_base)
        government.expected_cost = expected_cost(
            cost_weight(
                government.cost_sensitivity, government.salience, p["salience_stake_weight"]
            ),
            government.resolve,
            government_rate,
            p["cost_horizon_weeks"],
        )
        opposition.expected_cost = expected_cost(
            cost_weight(
                opposition.cost_sensitivity, opposition.salience, p["salience_stake_weight"]
            ),
            opposition.resolve,
            opposition_rate,
            p["cost_horizon_weeks"],
        )
        low, high = negotiation.bargaining_range(
            government.expected,
            opposition.expected,
            government.expected_cost,
            opposition.expected_cost,
        )
        gain = model.territory(government.index) - model.government_territory_start
        high = emboldened_reservation(high, gain, p["emboldening"])
        low, high = negotiation.commitment_adjusted_range(
            low, high, model.power_shift, p["commitment_horizon_weeks"]
        )
        return low, high

    # ------------------------------------------------------------- step

    def step(
        self,
        week: int,
        in_session: np.ndarray,
        leverage: np.ndarray,
        bias: np.ndarray,
        covers: np.ndarray | None = None,
    ) -> None:
        """Stage 6: one week of talks, implementation and ceasefires.

        Compiled as `talks_week` (below) when the model is (`model.compiled`);
        `_step_reference` is its reference. A ceasefire or agreement reached
        this week binds whom the rounds in session cover (``covers``, (R, n)).
        """
        if self.model.compiled:
            self._step_compiled(week, in_session, leverage, bias)
        else:
            self._step_reference(week, in_session, leverage, bias)
        if covers is not None:
            # Where no round in session names anyone, the default: the parties at the table.
            named = covers.any(axis=-1, keepdims=True)
            reach = np.where(named, covers, self.model.coverage(None))
            self.ceasefire_covers = np.where(
                (self.state == TALKS_CEASEFIRE)[:, None], reach, self.ceasefire_covers
            )
            self.agreement_covers = np.where(
                (self.state == TALKS_AGREEMENT)[:, None], reach, self.agreement_covers
            )

    def _step_reference(
        self, week: int, in_session: np.ndarray, leverage: np.ndarray, bias: np.ndarray
    ) -> None:
        model = self.model
        p = model.parameters
        government, opposition = model.government, model.opposition
        streams = model.streams

        low, high = self.bargaining_range()
        self.low, self.high = low, high
        self.range_width = high - low
        way_out = np.where(in_session, leverage, model.best_leverage())
        model.ripeness = negotiation.ripeness(
            government.hurt,
            opposition.hurt,
            model.momentum,
            p["hurt_threshold"],
            p["stalemate_tolerance"],
            way_out,
        )
        government.endorsement, opposition.endorsement = model.endorsements()
        # Each side weighs what a deal would save it over fighting on.
        share = model.government_share()
        tolerance = p["bargaining_tolerance"]
        capabilities, _, moderation = opposition.faction_arrays()
        members = opposition.members()
        # The opposition signs through its delegation, whose veto players may ask for more.
        ceiling = high
        floor = coalition.delegation_reservation(
            low,
            capabilities,
            moderation,
            opposition.cohesion,
            p["hardline_margin"],
            p["veto_share"],
            p["delegation_veto"],
            members,
        )
        surpluses = deal_surplus(floor, high, share, bias)
        for party, surplus in zip((government, opposition), surpluses, strict=True):
            party.willingness = negotiation.willingness(
                party.willingness_bias + p["willingness_trust"] * self.trust,
                model.ripeness,
                party.endorsement,
                party.prospects() - p["confidence_reference"],
                party.resolve,
                p["willingness_ripeness"],
                p["willingness_endorsement"],
                p["willingness_confidence"],
                p["willingness_resolve"],
                surplus,
                p["willingness_surplus"],
            )

        # A round opens for every replication when it begins; a walkout
        # suspends it; after the cooling-off weeks it may resume.
        resume_draw = streams.uniform("negotiation:resumption")
        opening = in_session & ~self.was_in_session
        waiting = self.suspended & in_session & ~opening & (week >= self.resume_week)
        resumes = waiting & (
            resume_draw
            < resumption_probability(
                p["resumption_rate"],
                government.willingness,
                opposition.willingness,
                self.left_government,
                self.left_opposition,
            )
        )
        self.resumptions += resumes & ~self.in_force
        fresh = opening | resumes
        self.suspended = self.suspended & in_session & ~fresh
        self.left_government &= ~fresh
        self.left_opposition &= ~fresh
        self.round_open = (self.round_open | fresh) & in_session
        self.was_in_session = in_session
        active = self.round_open & ~self.in_force
        self.in_session = active
        self.weeks += active
        first = active & np.isnan(self.range_first)
        self.range_first = np.where(first, self.range_width, self.range_first)
        self.cohesion_first = np.where(first, opposition.cohesion, self.cohesion_first)
        self.range_sum += np.where(active, self.range_width, 0.0)
        self.cohesion_sum += np.where(active, opposition.cohesion, 0.0)

        # Both sides decide, every week: draw in full blocks so streams stay aligned.
        government_stays = streams.uniform("negotiation:government") < government.willingness
        opposition_stays = streams.uniform("negotiation:opposition") < opposition.willingness
        ratify_draw = streams.uniform("negotiation:ratification")
        breakdown_draw = streams.uniform("negotiation:breakdown")
        # Each walkout is the decision of the side that left; a joint refusal is both sides'.
        government_walks = active & ~government_stays
        opposition_walks = active & ~opposition_stays
        walkout = government_walks | opposition_walks
        self.walkouts_government += government_walks
        self.walkouts_opposition += opposition_walks
        self.walked_government, self.walked_opposition = government_walks, opposition_walks
        self.round_open &= ~walkout
        self.suspended |= walkout
        self.left_government |= government_walks
        self.left_opposition |= opposition_walks
        self.resume_week = np.where(walkout, week + 1 + p["cooling_off_weeks"], self.resume_week)
        engaged = active & ~walkout
        self.at_table = engaged
        self.stage = np.where(engaged, np.maximum(self.stage, STAGE_TALKS), self.stage)

        # Concessions towards each side's reservation point in every week both
        # engage, never beyond what the other side already asks or offers; a
        # side's opening position is only where it starts, so a reservation
        # worse than it takes the position back to it.
        government_limit = np.clip(np.minimum(high, self.demand), 0.0, 1.0)
        opposition_limit = np.clip(np.maximum(floor, self.offer), 0.0, 1.0)
        rate = p["concession_rate"]
        self.offer = np.where(
            engaged,
            concede(self.offer, government_limit, rate, upward=True, tolerance=tolerance),
            np.minimum(self.offer, government_limit),
        )
        self.demand = np.where(
            engaged,
            concede(self.demand, opposition_limit, rate, upward=False, tolerance=tolerance),
            np.maximum(self.demand, opposition_limit),
        )
        gap = self.gap
        framework = engaged & (gap <= p["framework_gap"] + tolerance)
        self.stage = np.where(framework, np.maximum(self.stage, STAGE_FRAMEWORK), self.stage)

        # The mediator bridges what is left once it is within its reach, inside
        # the zone both would sign where there is one. Each side signs what it
        # prefers to war (its reservation point), to within the tolerance.
        proposal = zone_of_agreement_proposal(
            bridging_proposal(self.offer, self.demand, share, bias),
            self.offer,
            self.demand,
            floor - tolerance,
            ceiling + tolerance,
            np.clip(p["mediator_insight"] * leverage, 0.0, 1.0),
        )
        in_reach = engaged & (gap <= leverage * p["mediator_reach"] + tolerance)
        government_accepts = proposal <= ceiling + tolerance
        opposition_accepts = proposal >= floor - tolerance
        reservations = coalition.faction_reservation(low, moderation, p["hardline_margin"])
        deliverable = coalition.deliverable_share(
            capabilities,
            opposition.cohesion,
            (proposal[:, None] >= reservations - tolerance[:, None]) & members,
            model.fragmented,
        )
        signed = in_reach & government_accepts & opposition_accepts
        # Hardliners' outbidding after a removal takes part of the ratification.
        ratified = ratify_draw < coalition.outbid_ratification(
            ratification_probability(
                deliverable, p["commitment_threshold"] - tolerance, p["ratification_spread"]
            ),
            model.outbidding,
        )
        agree = signed & ratified
        rejected = signed & ~ratified
        self.rejected += rejected

        # A ceasefire at the table: both sides sign it, each by its own rule.
        ceasefire_active = week < self.ceasefire_until
        government_signs, opposition_signs = ceasefire_acceptance(
            government.expected_cost,
            opposition.expected_cost,
            model.momentum,
            p["cost_horizon_weeks"],
            p["ceasefire_gain_weight"],
            tolerance,
        )
        ceasefire = (
            engaged
            & ~agree
            & (self.stage >= STAGE_FRAMEWORK)
            & ~ceasefire_active
            & (deliverable >= p["ceasefire_threshold"] - tolerance)
            & government_signs
            & opposition_signs
        )
        self.ceasefire_until = np.where(
            ceasefire, week + 1 + p["talks_ceasefire_weeks"], self.ceasefire_until
        )
        self.ceasefire_reached |= ceasefire
        self.stage = np.where(ceasefire, np.maximum(self.stage, STAGE_CEASEFIRE), self.stage)

        # Implementation: an agreement in force (or a ceasefire) can break down.
        hazard = breakdown_hazard(
            p["implementation_hazard"],
            model.spoiler_share(),
            1.0 - model.deliverable_now(),
            p["spoiler_hazard_weight"],
            p["defection_hazard_weight"],
        )
        breaks = breakdown_draw < hazard
        broke = self.in_force & breaks
        self.in_force &= ~broke
        self.broke |= broke
        # A ceasefire frays by its own hazard (the same draw: never both in one week).
        frays = breakdown_draw < ceasefire_hazard(
            p["implementation_hazard"],
            model.fighting_rate,
            model.outside_share,
            model.power_shift,
            p["ceasefire_violation_weight"],
            p["ceasefire_outsider_weight"],
            p["ceasefire_shift_weight"],
        )
        collapse = ~self.in_force & model.ceasefire_in_force & frays & ~broke
        self.ceasefire_collapsed |= collapse
        self.ceasefire_until = np.where(collapse, float(week), self.ceasefire_until)
        model.collapse_ceasefires(collapse)

        self.in_force |= agree
        self.agreed |= agree
        self.stage = np.where(agree, STAGE_SETTLEMENT, self.stage)
        # The week of the first agreement; the terms of the latest one.
        self.agreement_week = np.where(
            agree & np.isnan(self.agreement_week), float(week), self.agreement_week
        )
        self.settlement = np.where(agree, proposal, self.settlement)
        self.settlement_range = np.where(
            agree[:, None], np.stack([floor, ceiling], axis=-1), self.settlement_range
        )
        self.trust = trust_update(
            self.trust, engaged, walkout | rejected | broke, p["trust_gain"], p["trust_loss"]
        )

        state = np.full(model.size, float(TALKS_NONE))
        state[engaged] = TALKS_ENGAGED
        state[ceasefire] = TALKS_CEASEFIRE
        state[walkout] = TALKS_WALKOUT
        state[agree] = TALKS_AGREEMENT
        self.state = state

    def _step_compiled(
        self, week: int, in_session: np.ndarray, leverage: np.ndarray, bias: np.ndarray
    ) -> None:
        model = self.model
        government, opposition = model.government, model.opposition
        streams = model.streams
        if self._parameters is None:
            self._parameters = np.stack([model.parameters[k] for k in TALKS_PARAMETERS])
        kinds, _, tie_columns = model.patron_routes
        patrons = list(model.patrons.values())
        gain = model.territory(government.index) - model.government_territory_start
        sides = np.stack(
            [
                government.expected,
                opposition.expected,
                cost_weight(
                    government.cost_sensitivity,
                    government.salience,
                    model.parameters["salience_stake_weight"],
                ),
                cost_weight(
                    opposition.cost_sensitivity,
                    opposition.salience,
                    model.parameters["salience_stake_weight"],
                ),
                government.resolve,
                opposition.resolve,
                government.willingness_bias,
                opposition.willingness_bias,
                government.hurt,
                opposition.hurt,
                opposition.cohesion,
                model.momentum,
                model.power_shift,
                model.signal,
                leverage,
                bias,
                model.best_leverage(),
                gain,
                # In the reference's order of draws, a full block each, every week.
                streams.uniform("negotiation:government"),
                streams.uniform("negotiation:opposition"),
                streams.uniform("negotiation:ratification"),
                streams.uniform("negotiation:breakdown"),
                streams.uniform("negotiation:resumption"),
                # What a ceasefire in force leaves of the fighting, and the strength outside it.
                model.fighting_rate,
                model.outside_share,
                model.outbidding,
            ]
        )
        # Fresh arrays each week, their rows the state: nothing kept from last week changes.
        numbers = np.stack([getattr(self, name) for name in TALKS_NUMBERS])
        flags = np.stack([getattr(self, name) for name in TALKS_FLAGS])
        settlement_range = self.settlement_range.copy()
        parties = np.empty((7, model.size))
        collapse = np.empty(model.size, dtype=bool)
        talks_week(
            week,
            model.first_proposer == "government",
            government.index,
            model.faction_columns,
            model.spoiler_columns,
            model.strength,
            *model.reference_sides,
            self._parameters,
            sides,
            in_session,
            model.ceasefire_in_force,
            opposition.leader_moderation(),
            opposition.members(),
            kinds,
            tie_columns,
            _rows([patron.commitment for patron in patrons], model.size),
            _rows([patron.supports_talks for patron in patrons], model.size),
            model.faction_ties(),
            numbers,
            flags,
            settlement_range,
            parties,
            collapse,
        )
        for name, row in zip(TALKS_NUMBERS, numbers, strict=True):
            setattr(self, name, row)
        for name, row in zip(TALKS_FLAGS, flags, strict=True):
            setattr(self, name, row)
        self.settlement_range = settlement_range
        (
            government.expected_cost,
            opposition.expected_cost,
            government.endorsement,
            opposition.endorsement,
            government.willingness,
            opposition.willingness,
            model.ripeness,
        ) = parties
        model.collapse_ceasefires(collapse)

    def put_to_vote(self, voting: np.ndarray, approved: np.ndarray) -> None:
        """A referendum or ratification vote on the agreement in force: rejected, it ends and talks may resume.

        Where no agreement is in force the vote has nothing to decide.
        """
        rejected = voting & self.in_force & ~approved
        self.in_force &= ~rejected
        self.voted_down += rejected
        self.voted_down_now |= rejected
        self.stage = np.where(rejected, np.minimum(self.stage, STAGE_FRAMEWORK), self.stage)
        self.trust = np.where(
            rejected, self.trust * (1.0 - self.model.parameters["trust_loss"]), self.trust
        )

    def lose_partner(self, rows: np.ndarray, share: np.ndarray) -> None:
        """A removed leader takes part of the progress made with his faction with him.

        In the replications ``rows`` (indices), the opposition's demand moves
        back towards its ideal point and trust falls, by ``share`` (one per
        row); elsewhere nothing changes.
        """
        ideal = self.model.opposition.position[rows]
        demand = self.demand.copy()
        demand[rows] = demand[rows] + share * (ideal - demand[rows])
        self.demand = demand
        trust = self.trust.copy()
        trust[rows] = trust[rows] * (1.0 - share)
        self.trust = trust


# ------------------------------------------------------------------ compiled
# Stage 6 compiled (numba), held to `Talks._step_reference` by
# tests/model/test_talks.py; see `negsim.model.compiled` for the contract.

# The talks' state as rows of two arrays (`Talks`' attributes of those names).
TALKS_NUMBERS = (
    "low",
    "high",
    "range_width",
    "weeks",
    "range_first",
    "cohesion_first",
    "range_sum",
    "cohesion_sum",
    "walkouts_government",
    "walkouts_opposition",
    "stage",
    "offer",
    "demand",
    "rejected",
    "ceasefire_until",
    "agreement_week",
    "settlement",
    "trust",
    "state",
    "resume_week",
    "resumptions",
)
TALKS_FLAGS = (
    "round_open",
    "was_in_session",
    "in_session",
    "ceasefire_reached",
    "in_force",
    "broke",
    "ceasefire_collapsed",
    "agreed",
    "suspended",
    "left_government",
    "left_opposition",
    "at_table",
    "walked_government",
    "walked_opposition",
)
# The parameters the talks read, as rows of one (len, R) array.
TALKS_PARAMETERS = (
    "attrition_rate",
    "cost_horizon_weeks",
    "emboldening",
    "commitment_horizon_weeks",
    "hurt_threshold",
    "stalemate_tolerance",
    "patron_talks_response",
    "willingness_trust",
    "confidence_reference",
    "willingness_ripeness",
    "willingness_endorsement",
    "willingness_confidence",
    "willingness_resolve",
    "concession_rate",
    "framework_gap",
    "mediator_reach",
    "hardline_margin",
    "fragmentation_threshold",
    "commitment_threshold",
    "ratification_spread",
    "ceasefire_threshold",
    "talks_ceasefire_weeks",
    "implementation_hazard",
    "spoiler_hazard_weight",
    "defection_hazard_weight",
    "trust_gain",
    "trust_loss",
    "discount_base",
    "discount_cap",
    "bargaining_tolerance",
    "willingness_surplus",
    "cooling_off_weeks",
    "resumption_rate",
    "mediator_insight",
    "veto_share",
    "delegation_veto",
    "ceasefire_gain_weight",
    "ceasefire_violation_weight",
    "ceasefire_outsider_weight",
    "ceasefire_shift_weight",
    "patron_parity",
    "fragmentation_share",
)


@numba.njit(cache=True)
def _rubinstein(first: float, second: float) -> float:
    """`negotiation.rubinstein_share` of one replication."""
    denominator = 1.0 - first * second
    return (1.0 - second) / denominator if denominator > 1e-12 else 0.5


@numba.njit(cache=True)
def _delivered(
    capabilities: np.ndarray,
    moderation: np.ndarray,
    members: np.ndarray,
    low: float,
    margin: float,
    terms: float,
    cohesion: float,
    fragmented: bool,
    tolerance: float,
    scratch: np.ndarray,
) -> float:
    """`coalition.deliverable_share` of terms against each member's `faction_reservation`.

    A faction outside the coalition (``members``) is not bound by its deal.
    """
    factions = capabilities.shape[0]
    total = _pairwise_sum(capabilities, 0, factions)
    for f in range(factions):
        accepts = members[f] and terms >= (low + margin * (1.0 - moderation[f])) - tolerance
        scratch[f] = capabilities[f] * (1.0 if accepts else 0.0)
    carried = _pairwise_sum(scratch, 0, factions)
    share = carried / total if total > 0 else 0.0
    return 0.0 if fragmented else cohesion * share


@numba.njit(cache=True)
def _zone_proposal(
    offer: float,
    demand: float,
    share: float,
    bias: float,
    floor: float,
    ceiling: float,
    insight: float,
) -> float:
    """`talks.zone_of_agreement_proposal` of `talks.bridging_proposal`, one replication."""
    lower = _minimum(offer, demand)
    upper = _maximum(offer, demand)
    proposal = _clip(lower + (1.0 - share + bias) * (upper - lower), lower, upper)
    zone_low = _maximum(lower, floor)
    zone_high = _minimum(upper, ceiling)
    if zone_low <= zone_high:
        inside = _clip(proposal, zone_low, _maximum(zone_low, zone_high))
        return proposal + insight * (inside - proposal)
    return proposal


@numba.njit(cache=True)
def _concede(
    demand: float, reservation: float, rate: float, upward: bool, tolerance: float
) -> float:
    """`talks.concede` of one replication."""
    moved = demand + rate * (reservation - demand)
    if np.abs(reservation - moved) <= tolerance:
        moved = reservation
    if upward:
        return moved if demand < reservation else reservation
    return moved if demand > reservation else reservation


@numba.njit(cache=True)
def talks_week(
    week: int,
    government_first: bool,
    government: int,
    faction_columns: np.ndarray,
    spoiler_columns: np.ndarray,
    strength: np.ndarray,
    blue_base: np.ndarray,
    red_base: np.ndarray,
    parameters: np.ndarray,
    sides: np.ndarray,
    in_session: np.ndarray,
    ceasefire_in_force: np.ndarray,
    moderation: np.ndarray,
    members: np.ndarray,
    kinds: np.ndarray,
    tie_columns: np.ndarray,
    commitment: np.ndarray,
    supports_talks: np.ndarray,
    ties: np.ndarray,
    numbers: np.ndarray,
    flags: np.ndarray,
    settlement_range: np.ndarray,
    parties_out: np.ndarray,
    collapse_out: np.ndarray,
) -> None:
    """Stage 6 compiled: `Talks.step` and what it calls, to the bit, one replication at a time.

    The formulas and their sources are in the docstrings of the reference's
    submodels (`negsim.model.talks`, `negsim.model.negotiation`,
    `negsim.model.coalition`), in the order `Talks.step` applies them: the
    bargaining range (`Talks.bargaining_range`), ripeness, the patrons'
    endorsements (`ConflictModel.endorsements`), each side's willingness;
    the round, walkouts and concessions; the mediator's proposal
    (`ConflictModel.government_share`), acceptance, ratification, a
    ceasefire at the table; breakdown (`ConflictModel.spoiler_share`,
    `ConflictModel.deliverable_now`); the agreement and trust.

    ``moderation`` and ``members`` (R, F) are the factions' leaders'
    moderation and whether each faction is in the coalition.
    ``sides`` (26, R) holds, in rows: the government's and the
    opposition's expected outcome, cost sensitivity per stake value (`talks.cost_weight`), resolve
    and willingness bias (two rows each), their hurt, the
    coalition's cohesion, momentum, power shift, the battlefield signal,
    the mediation in session (leverage, bias), the best leverage on offer,
    the government's territorial gain, and the week's five uniform draws
    (government stays, opposition stays, ratification, breakdown, resumption),
    then what a ceasefire in force leaves of the fighting (`fighting_rate`),
    the fighting strength outside it (`outside_share`)
    and the hardliners' outbidding (`coalition.outbid_ratification`).
    ``kinds`` and ``tie_columns`` are the patrons' routes as for
    `patrons.supply_week`, ``commitment`` and ``supports_talks`` their arrays (P, R).
    ``parameters`` holds `TALKS_PARAMETERS` in rows; ``numbers`` and
    ``flags`` the talks' state, `TALKS_NUMBERS` and `TALKS_FLAGS`, updated
    in place, as is ``settlement_range`` (R, 2). ``parties_out`` (7, R)
    gets both sides' expected cost, endorsement and willingness, and the
    ripeness; ``collapse_out`` where a ceasefire in force collapsed (for
    `ConflictModel.collapse_ceasefires`, which the caller runs).
    """
    size = strength.shape[0]
    factions = faction_columns.shape[0]
    n = strength.shape[1]
    patrons = kinds.shape[0]
    capabilities = np.empty(factions)
    weighted = np.empty(max(factions, n))
    scratch = np.empty(max(factions, n))
    for r in range(size):
        q = parameters[:, r]
        attrition = q[0]
        horizon = q[1]
        emboldening = q[2]
        commitment_horizon = q[3]
        hurt_threshold = q[4]
        stalemate_tolerance = q[5]
        talks_response = q[6]
        willingness_trust = q[7]
        confidence_reference = q[8]
        weight_ripeness = q[9]
        weight_endorsement = q[10]
        weight_confidence = q[11]
        weight_resolve = q[12]
        concession_rate = q[13]
        framework_gap = q[14]
        mediator_reach = q[15]
        margin = q[16]
        fragmentation_threshold = q[17]
        commitment_threshold = q[18]
        spread = q[19]
        ceasefire_threshold = q[20]
        ceasefire_weeks = q[21]
        implementation_hazard = q[22]
        spoiler_weight = q[23]
        defection_weight = q[24]
        trust_gain = q[25]
        trust_loss = q[26]
        discount_base = q[27]
        discount_cap = q[28]
        tolerance = q[29]
        weight_surplus = q[30]
        cooling_off = q[31]
        resumption_rate = q[32]
        insight = q[33]
        veto_share = q[34]
        veto_weight = q[35]
        gain_weight = q[36]
        violation_weight = q[37]
        outsider_weight = q[38]
        shift_weight = q[39]
        parity = q[40]
        fragmentation_share = q[41]
        g_expected, o_expected = sides[0, r], sides[1, r]
        g_sensitivity, o_sensitivity = sides[2, r], sides[3, r]
        g_resolve, o_resolve = sides[4, r], sides[5, r]
        g_bias, o_bias = sides[6, r], sides[7, r]
        g_hurt, o_hurt = sides[8, r], sides[9, r]
        cohesion, momentum, power_shift, signal = (
            sides[10, r],
            sides[11, r],
            sides[12, r],
            sides[13, r],
        )
        leverage, bias, best_leverage, gain = sides[14, r], sides[15, r], sides[16, r], sides[17, r]
        u_government, u_opposition, u_ratify, u_breakdown, u_resume = (
            sides[18, r],
            sides[19, r],
            sides[20, r],
            sides[21, r],
            sides[22, r],
        )
        residual, outside_share = sides[23, r], sides[24, r]
        outbidding = sides[25, r]
        for f in range(factions):
            capabilities[f] = strength[r, faction_columns[f]]
        # Fragmented: divided, or too much of its strength outside (coalition.coalition_fragmented).
        for f in range(factions):
            scratch[f] = capabilities[f] * (1.0 if members[r, f] else 0.0)
        capability_sum = _pairwise_sum(capabilities, 0, factions)
        inside = _pairwise_sum(scratch, 0, factions)
        member_share = inside / capability_sum if capability_sum > 0 else 1.0
        fragmented = cohesion < fragmentation_threshold or member_share < fragmentation_share

        # The bargaining range (Talks.bargaining_range).
        blue = strength[r, government]
        red = _pairwise_sum(capabilities, 0, factions)
        g_rate = attrition * red / blue_base[r] if blue_base[r] > 0 else 0.0
        o_rate = attrition * blue / red_base[r] if red_base[r] > 0 else 0.0
        g_cost = g_sensitivity * (1.0 - g_resolve) * g_rate * horizon
        o_cost = o_sensitivity * (1.0 - o_resolve) * o_rate * horizon
        low = o_expected - o_cost
        high = g_expected + g_cost
        high = high - emboldening * _maximum(0.0, gain)
        low = low + commitment_horizon * _maximum(0.0, -power_shift)
        high = high - commitment_horizon * _maximum(0.0, power_shift)
        numbers[0, r] = low
        numbers[1, r] = high
        width = high - low
        numbers[2, r] = width

        # Ripeness (negotiation.ripeness), with the way out on offer.
        way_out = leverage if in_session[r] else best_leverage
        mutual = _clip(_minimum(g_hurt, o_hurt) / _maximum(hurt_threshold, 1e-12), 0.0, 1.0)
        calm = _maximum(stalemate_tolerance, 1e-12)
        stalemate = _clip(1.0 - np.abs(momentum) / calm, 0.0, 1.0)
        ripeness = mutual * stalemate * way_out

        # The patrons' endorsements (ConflictModel.endorsements).
        capability_total = red
        g_weight = 0.0
        o_weight = 0.0
        g_pressed = 0.0
        o_pressed = 0.0
        for p in range(patrons):
            kind = kinds[p]
            if kind == PATRON_OF_SPOILER:
                continue  # a spoiler's patron has no say in the talks
            if kind == PATRON_OF_GOVERNMENT:
                reach = 1.0
                prospects = 1.0 - signal
            else:
                column = tie_columns[p]
                for f in range(factions):
                    weighted[f] = capabilities[f] * ties[f, r, column]
                tied = _pairwise_sum(weighted, 0, factions)
                reach = tied / capability_total if capability_total > 0 else 0.0
                prospects = signal
            supports = _clip(supports_talks[p, r] + talks_response * (parity - prospects), 0.0, 1.0)
            if kind == PATRON_OF_GOVERNMENT:
                g_weight += commitment[p, r]
                g_pressed += commitment[p, r] * supports * reach
            else:
                o_weight += commitment[p, r]
                o_pressed += commitment[p, r] * supports * reach
        g_endorsement = g_pressed / g_weight if g_weight > 0 else 0.0
        o_endorsement = o_pressed / o_weight if o_weight > 0 else 0.0

        # The mediator's split (ConflictModel.government_share) of last week's
        # demands, inside the zone both would sign: the deal each side weighs.
        cost_horizon = _maximum(horizon, 1.0)
        g_discount = _clip(discount_base * (1.0 - g_cost / cost_horizon), 0.0, discount_cap)
        o_discount = _clip(discount_base * (1.0 - o_cost / cost_horizon), 0.0, discount_cap)
        if government_first:
            share = _rubinstein(g_discount, o_discount)
        else:
            share = 1.0 - _rubinstein(o_discount, g_discount)
        # The delegation's limit (coalition.delegation_reservation).
        hardest = 1.0
        for f in range(factions):
            part = capabilities[f] / red if red > 0 else 0.0
            if part >= veto_share and members[r, f]:
                hardest = _minimum(hardest, moderation[r, f])
        ceiling = high
        floor = low + veto_weight * (1.0 - cohesion) * margin * (1.0 - hardest)
        offer = numbers[11, r]
        demand = numbers[12, r]
        saved = high - floor
        government_part = _clip(share - bias, 0.0, 1.0)
        g_surplus = government_part * saved
        o_surplus = (1.0 - government_part) * saved

        # Willingness (negotiation.willingness), each side from its own prospects.
        trust = numbers[17, r]
        g_logit = (
            (g_bias + willingness_trust * trust)
            + weight_surplus * g_surplus
            + weight_ripeness * ripeness
            + weight_endorsement * g_endorsement
            - weight_confidence * ((1.0 - g_expected) - confidence_reference)
            - weight_resolve * g_resolve
        )
        o_logit = (
            (o_bias + willingness_trust * trust)
            + weight_surplus * o_surplus
            + weight_ripeness * ripeness
            + weight_endorsement * o_endorsement
            - weight_confidence * (o_expected - confidence_reference)
            - weight_resolve * o_resolve
        )
        g_willingness = 1.0 / (1.0 + np.exp(-g_logit))
        o_willingness = 1.0 / (1.0 + np.exp(-o_logit))
        parties_out[0, r] = g_cost
        parties_out[1, r] = o_cost
        parties_out[2, r] = g_endorsement
        parties_out[3, r] = o_endorsement
        parties_out[4, r] = g_willingness
        parties_out[5, r] = o_willingness
        parties_out[6, r] = ripeness

        # The round: it opens when a session begins, a walkout suspends it,
        # and after the cooling-off weeks it may resume (talks.resumption_probability).
        session = in_session[r]
        opening = session and not flags[1, r]
        waiting = flags[8, r] and session and not opening and week >= numbers[19, r]
        resumes = False
        if waiting:
            probability = resumption_rate
            probability = probability * (g_willingness if flags[9, r] else 1.0)
            probability = probability * (o_willingness if flags[10, r] else 1.0)
            resumes = u_resume < probability
        in_force = flags[4, r]
        if resumes and not in_force:
            numbers[20, r] += 1.0
        fresh = opening or resumes
        flags[8, r] = flags[8, r] and session and not fresh
        if fresh:
            flags[9, r] = False
            flags[10, r] = False
        round_open = (flags[0, r] or fresh) and session
        flags[1, r] = session
        active = round_open and not in_force
        flags[2, r] = active
        numbers[3, r] += 1.0 if active else 0.0
        if active and np.isnan(numbers[4, r]):
            numbers[4, r] = width
            numbers[5, r] = cohesion
        numbers[6, r] += width if active else 0.0
        numbers[7, r] += cohesion if active else 0.0
        # Each walkout is the decision of the side that left.
        government_walks = active and not (u_government < g_willingness)
        opposition_walks = active and not (u_opposition < o_willingness)
        walkout = government_walks or opposition_walks
        numbers[8, r] += 1.0 if government_walks else 0.0
        numbers[9, r] += 1.0 if opposition_walks else 0.0
        flags[12, r] = government_walks
        flags[13, r] = opposition_walks
        round_open = round_open and not walkout
        flags[0, r] = round_open
        if walkout:
            flags[8, r] = True
            numbers[19, r] = float(week + 1) + cooling_off
        if government_walks:
            flags[9, r] = True
        if opposition_walks:
            flags[10, r] = True
        engaged = active and not walkout
        flags[11, r] = engaged
        stage = numbers[10, r]
        if engaged:
            stage = _maximum(stage, 1.0)

        # Concessions towards each side's reservation point (talks.concede).
        government_limit = _clip(_minimum(high, demand), 0.0, 1.0)
        opposition_limit = _clip(_maximum(floor, offer), 0.0, 1.0)
        if engaged:
            offer = _concede(offer, government_limit, concession_rate, True, tolerance)
            demand = _concede(demand, opposition_limit, concession_rate, False, tolerance)
        else:
            offer = _minimum(offer, government_limit)
            demand = _maximum(demand, opposition_limit)
        numbers[11, r] = offer
        numbers[12, r] = demand
        gap = demand - offer
        if engaged and gap <= framework_gap + tolerance:
            stage = _maximum(stage, 2.0)

        # The mediator's proposal (talks.zone_of_agreement_proposal), acceptance, ratification.
        proposal = _zone_proposal(
            offer,
            demand,
            share,
            bias,
            floor - tolerance,
            ceiling + tolerance,
            _clip(insight * leverage, 0.0, 1.0),
        )
        in_reach = engaged and gap <= leverage * mediator_reach + tolerance
        deliverable = _delivered(
            capabilities,
            moderation[r],
            members[r],
            low,
            margin,
            proposal,
            cohesion,
            fragmented,
            tolerance,
            scratch,
        )
        signed = in_reach and proposal <= ceiling + tolerance and proposal >= floor - tolerance
        threshold = commitment_threshold - tolerance
        if spread > 0:
            probability = 1.0 / (1.0 + np.exp(-(deliverable - threshold) / spread))
        else:
            probability = 1.0 if deliverable >= threshold else 0.0
        probability = probability * (1.0 - outbidding)
        ratified = u_ratify < probability
        agree = signed and ratified
        rejected = signed and not ratified
        numbers[13, r] += 1.0 if rejected else 0.0

        # A ceasefire agreed at the table, signed by both (talks.ceasefire_acceptance).
        ceasefire_until = numbers[14, r]
        o_gain = gain_weight * _maximum(0.0, momentum) * horizon
        g_gain = gain_weight * _maximum(0.0, -momentum) * horizon
        ceasefire = (
            engaged
            and not agree
            and stage >= 2.0
            and not (week < ceasefire_until)
            and deliverable >= ceasefire_threshold - tolerance
            and g_cost + tolerance >= g_gain
            and o_cost + tolerance >= o_gain
        )
        if ceasefire:
            ceasefire_until = float(week + 1) + ceasefire_weeks
            flags[3, r] = True
            stage = _maximum(stage, 3.0)

        # Implementation (talks.breakdown_hazard): an agreement or ceasefire can break down.
        total = _pairwise_sum(strength[r], 0, n)
        for i in range(spoiler_columns.shape[0]):
            weighted[i] = strength[r, spoiler_columns[i]]
        spoilers = _pairwise_sum(weighted, 0, spoiler_columns.shape[0])
        spoiler_share = spoilers / total if total > 0 else 0.0
        settlement = numbers[16, r]
        terms = np.inf if np.isnan(settlement) else settlement
        now = _delivered(
            capabilities,
            moderation[r],
            members[r],
            low,
            margin,
            terms,
            cohesion,
            fragmented,
            tolerance,
            scratch,
        )
        hazard = _clip(
            implementation_hazard + spoiler_weight * spoiler_share + defection_weight * (1.0 - now),
            0.0,
            1.0,
        )
        breaks = u_breakdown < hazard
        broke = in_force and breaks
        in_force = in_force and not broke
        if broke:
            flags[5, r] = True
        # A ceasefire frays by its own hazard (talks.ceasefire_hazard), on the same draw.
        fraying = _clip(
            implementation_hazard
            + violation_weight * residual
            + outsider_weight * outside_share
            + shift_weight * np.abs(power_shift),
            0.0,
            1.0,
        )
        frays = u_breakdown < fraying
        collapse = not in_force and ceasefire_in_force[r] and frays and not broke
        collapse_out[r] = collapse
        if collapse:
            flags[6, r] = True
            ceasefire_until = float(week)
        numbers[14, r] = ceasefire_until

        # The agreement, and trust (talks.trust_update).
        if agree:
            in_force = True
            flags[7, r] = True
            stage = 4.0
            if np.isnan(numbers[15, r]):
                numbers[15, r] = float(week)
            numbers[16, r] = proposal
            settlement_range[r, 0] = floor
            settlement_range[r, 1] = ceiling
        flags[4, r] = in_force
        numbers[10, r] = stage
        built = trust + trust_gain * (1.0 - trust) if engaged else trust
        breach = walkout or rejected or broke
        numbers[17, r] = _clip(built * (1.0 - trust_loss) if breach else built, 0.0, 1.0)
        if agree:
            numbers[18, r] = 1.0  # TALKS_AGREEMENT
        elif walkout:
            numbers[18, r] = 3.0  # TALKS_WALKOUT
        elif ceasefire:
            numbers[18, r] = 2.0  # TALKS_CEASEFIRE
        elif engaged:
            numbers[18, r] = 4.0  # TALKS_ENGAGED
        else:
            numbers[18, r] = 0.0  # TALKS_NONE

"""Coalition submodels: cohesion, succession after leader removal, what the opposition can deliver."""

from __future__ import annotations

import numba
import numpy as np

from negsim.model.compiled import _clip, _maximum, _pairwise_sum


def effective_authority(
    authority: np.ndarray,
    crisis_left: np.ndarray,
    crisis_weeks: np.ndarray,
    start_share: np.ndarray | float = 0.5,
) -> np.ndarray:
    """A leader's hold on the faction while a succession crisis wears off.

    A_eff = A * (1 - (1 - a0) * crisis_left / crisis_weeks)

    A new leader starts at the share a0 (default one half) of the authority
    the scenario gives him and gains the rest linearly over the crisis (Jordan 2009: organisations with
    bureaucratic depth absorb decapitation; short crises represent them,
    long ones represent personalist groups).
    """
    fraction = np.divide(
        crisis_left, crisis_weeks, out=np.zeros_like(crisis_left), where=crisis_weeks > 0
    )
    return authority * (1.0 - (1.0 - start_share) * np.clip(fraction, 0.0, 1.0))


def cohesion_target(
    authority: np.ndarray,
    hurt: np.ndarray,
    loss_weight: np.ndarray,
    endorsement: np.ndarray,
    endorsement_weight: np.ndarray | float = 0.5,
) -> np.ndarray:
    """The cohesion a faction tends to.

    h* = clip((1 - k * hurt) * ((1 - w) * A_eff + w * E), 0, 1)   (w = 1/2 by default)

    Cohesion rests on the leader's authority, is eroded by battlefield losses
    (Bakke, Cunningham & Seymour 2012: fragmentation follows defeats) and is
    shored up by patron endorsement E of the leadership (Staniland 2014;
    Pearlman 2011 on 'organisational cohesion').

    References:
        Bakke, K., Cunningham, K. G., Seymour, L. (2012). A plague of initials.
        Perspectives on Politics 10(2). Staniland, P. (2014). Networks of Rebellion.
    """
    mix = (1.0 - endorsement_weight) * authority + endorsement_weight * endorsement
    return np.clip((1.0 - loss_weight * hurt) * mix, 0.0, 1.0)


def adjust(current: np.ndarray, target: np.ndarray, rate: np.ndarray) -> np.ndarray:
    """Partial adjustment x' = x + rate * (x* - x), kept in [0, 1]."""
    return np.clip(current + rate * (target - current), 0.0, 1.0)


def coalition_cohesion_target(
    capabilities: np.ndarray, cohesion: np.ndarray, moderation: np.ndarray
) -> np.ndarray:
    """Cohesion the coalition tends to: factions' cohesion, discounted by disagreement.

    C* = (sum_f w_f h_f) * (1 - sd_w(moderation)),  w_f = cap_f / sum cap

    Capability-weighted cohesion of the members, reduced by the weighted
    dispersion of their leaders' moderation (a coalition of hardliners and
    moderates cannot speak with one voice; Cunningham 2006 on veto players).
    Arrays have factions on the last axis.

    References:
        Cunningham, D. E. (2006). Veto players and civil war duration. AJPS 50(4).
    """
    total = capabilities.sum(axis=-1, keepdims=True)
    weights = np.divide(capabilities, total, out=np.zeros_like(capabilities), where=total > 0)
    mean_cohesion = (weights * cohesion).sum(axis=-1)
    mean_moderation = (weights * moderation).sum(axis=-1, keepdims=True)
    spread = np.sqrt((weights * (moderation - mean_moderation) ** 2).sum(axis=-1))
    return np.clip(mean_cohesion * (1.0 - spread), 0.0, 1.0)


def deliverable_share(
    capabilities: np.ndarray,
    coalition_cohesion: np.ndarray,
    accepts: np.ndarray,
    fragmented: np.ndarray,
) -> np.ndarray:
    """How much of the opposition a deal can bind.

    D = C * (sum_f cap_f * [f accepts]) / sum_f cap_f, and 0 if the coalition
    is fragmented (C: coalition cohesion).

    Commitment is limited by cohesion: a negotiator can only promise what its
    factions will carry out (Pearlman 2008/9, 'Spoiling inside and out';
    Walter 2002 on credible commitment). Factions on the last axis of ``capabilities`` and ``accepts``.

    References:
        Pearlman, W. (2009). Spoiling inside and out. International Security 33(3).
        Walter, B. F. (2002). Committing to Peace.
    """
    total = capabilities.sum(axis=-1)
    carried = (capabilities * accepts).sum(axis=-1)
    share = np.divide(carried, total, out=np.zeros_like(carried), where=total > 0)
    return np.where(fragmented, 0.0, coalition_cohesion * share)


def faction_reservation(
    coalition_reservation: np.ndarray, moderation: np.ndarray, hardline_margin: np.ndarray
) -> np.ndarray:
    """The least a faction accepts on the issue scale.

    r_f = r_O + margin * (1 - moderation_f)

    A fully moderate leader accepts the coalition's reservation point r_O; an
    immoderate one demands up to ``margin`` more (Kydd & Walter 2002 on
    moderates and extremists).

    References:
        Kydd, A., Walter, B. F. (2002). Sabotaging the peace. IO 56(2).
    """
    return coalition_reservation[..., None] + hardline_margin[..., None] * (1.0 - moderation)


def delegation_reservation(
    coalition_reservation: np.ndarray,
    capabilities: np.ndarray,
    moderation: np.ndarray,
    cohesion: np.ndarray,
    hardline_margin: np.ndarray,
    veto_share: np.ndarray,
    veto_weight: np.ndarray,
    members: np.ndarray | None = None,
) -> np.ndarray:
    """The least the opposition's delegation can sign, on the issue scale.

    r_D = r_O + w * (1 - C) * margin * (1 - m_veto),
    m_veto = min { moderation_f : cap_f / sum cap >= v }   (1 when no faction is a veto player)

    The coalition bargains through one delegation, and every faction strong
    enough to fight on alone is a veto player whose consent it needs
    (Cunningham 2006: more veto players, fewer deals). How far the most
    hardline veto player drags the delegation's limit above the coalition's
    reservation depends on cohesion: a cohesive coalition's leadership can
    overrule its hardliners, a divided one cannot (Pearlman 2009). So a
    leader's removal reaches the table through who negotiates: a less
    moderate successor in a veto faction, and the cohesion lost in the
    succession, raise what the delegation must ask (Alloush's Jaysh al-Islam
    kept a seat on the High Negotiations Committee through his successor
    and cousin, Mohammed Alloush, its chief negotiator). ``w`` = 0 switches
    the channel off. Factions on the last axis of ``capabilities`` and
    ``moderation``; ``members`` (same shape, default all) marks those still
    in the coalition: a faction that left it has no seat on the delegation.

    References:
        Cunningham, D. E. (2006). Veto players and civil war duration. AJPS 50(4).
        Pearlman, W. (2009). Spoiling inside and out. International Security 33(3).
    """
    total = capabilities.sum(axis=-1)
    share = np.divide(
        capabilities,
        total[..., None],
        out=np.zeros_like(capabilities),
        where=total[..., None] > 0,
    )
    veto = share >= np.asarray(veto_share)[..., None]
    if members is not None:
        veto &= members.astype(bool)
    hardest = np.where(veto, moderation, 1.0).min(axis=-1)
    return coalition_reservation + veto_weight * (1.0 - cohesion) * hardline_margin * (
        1.0 - hardest
    )


def successor_moderation(
    previous: np.ndarray,
    successor: np.ndarray,
    weight: np.ndarray | float,
    shift: np.ndarray | float = 0.0,
) -> np.ndarray:
    """The moderation a faction brings to the table after its leader's removal.

    m' = clip((1 - w) * m_prev + w * m_succ + delta, 0, 1)

    A successor's demands are his own (w = 1): a less moderate successor
    raises his faction's reservation (`faction_reservation`) and, in a veto
    faction, the delegation's limit (`delegation_reservation`; Cunningham
    2006). w = 0 switches the channel off: the faction keeps the removed
    leader's moderation. ``delta`` is the rival reading of decapitation as a
    signed shift: positive, removal hastens the group's acceptance of terms
    (Johnston 2012, who finds decapitation raises the chance of war
    termination); negative, it hardens an organisation that survives it
    (Jordan 2009).

    References:
        Cunningham, D. E. (2006). Veto players and civil war duration. AJPS 50(4).
        Johnston, P. B. (2012). Does decapitation work? International Security 36(4).
        Jordan, J. (2009). When heads roll. Security Studies 18(4).
    """
    # Weighted so that w = 1 gives the successor's moderation and w = 0 his predecessor's, exactly.
    return np.clip((1.0 - weight) * previous + weight * successor + shift, 0.0, 1.0)


def decapitated_resolve(
    resolve: np.ndarray, effect: np.ndarray | float, weight: np.ndarray | float
) -> np.ndarray:
    """The coalition's resolve after one of its factions' leader is removed.

    rho' = clip(rho - e * w_f, 0, 1)

    The rival reading of decapitation (Johnston 2012: removing leaders
    raises the chance that a campaign ends, the group's will to fight on
    breaking; Jordan 2009: organisations with bureaucratic depth survive it
    and may harden, e < 0), in proportion to the faction's weight w_f in the
    coalition's strength. Lower resolve raises the cost of war a side weighs
    and its willingness to talk (`talks.expected_cost`,
    `negotiation.willingness`), so e > 0 lets a scenario make removal help
    talks; e = 0 (the default) leaves resolve alone.

    References:
        Johnston, P. B. (2012). Does decapitation work? International Security 36(4).
        Jordan, J. (2009). When heads roll. Security Studies 18(4).
    """
    return np.clip(resolve - effect * weight, 0.0, 1.0)


def outbidding_after(level: np.ndarray, weeks: np.ndarray | float) -> np.ndarray:
    """Hardliners' escalation after a removal, one week on: o' = o * (1 - 1/T), 0 when T <= 1.

    After a leader's fall, spoilers and rival hardliners escalate to show
    they, not the moderates, speak for the cause, and to derail talks (Kydd
    & Walter 2002's outbidding and spoiling; Bloom 2004 on outbidding). The
    campaign decays with mean time T weeks. Its level o is the weekly share
    of trust it destroys (`eroded_trust`) and of the ratification
    probability it takes (`outbid_ratification`).

    References:
        Kydd, A., Walter, B. F. (2002). Sabotaging the peace. IO 56(2).
        Bloom, M. (2004). Palestinian suicide bombing. Political Science Quarterly 119(1).
    """
    weeks = np.asarray(weeks, dtype=float)
    keep = np.where(weeks > 1.0, 1.0 - 1.0 / np.maximum(weeks, 1.0), 0.0)
    return level * keep


def eroded_trust(trust: np.ndarray, outbidding: np.ndarray) -> np.ndarray:
    """Trust after a week of hardliners' escalation: t' = t * (1 - o) (Kydd & Walter 2002)."""
    return trust * (1.0 - outbidding)


def outbid_ratification(probability: np.ndarray, outbidding: np.ndarray) -> np.ndarray:
    """Ratification under hardliners' escalation: P' = P * (1 - o).

    Factions' constituencies reject what moderates signed while extremists'
    violence shows the other side cannot be trusted (Kydd & Walter 2002).
    """
    return probability * (1.0 - outbidding)


def membership(
    member: np.ndarray,
    cohesion: np.ndarray,
    exit_cohesion: np.ndarray | float,
    rejoin_rate: np.ndarray | float,
    draw: np.ndarray,
) -> np.ndarray:
    """Whether each faction is in the coalition after this week.

    in' = [h >= h_exit]                    for a member,
    in' = [h >= h_exit] * [u < rho]        for a faction outside (a weekly hazard rho of re-joining).

    A faction whose cohesion falls below the exit threshold breaks with the
    coalition's line and leaves it: its commanders deal or fight on their own
    (Bakke, Cunningham & Seymour 2012; Pearlman 2011 on fragmentation after
    a leadership's fall); once its cohesion recovers it may re-join, at a
    weekly hazard (Staniland 2014 on the re-integration of splinters).
    h_exit = 0 switches membership off (cohesion is never below 0).

    References:
        Bakke, K., Cunningham, K. G., Seymour, L. (2012). A plague of initials.
        Perspectives on Politics 10(2).
        Staniland, P. (2014). Networks of Rebellion.
    """
    recovered = cohesion >= exit_cohesion
    return np.where(member, recovered, recovered & (draw < rejoin_rate))


def coalition_fragmented(
    cohesion: np.ndarray,
    threshold: np.ndarray | float,
    capabilities: np.ndarray,
    members: np.ndarray,
    share_threshold: np.ndarray | float,
) -> np.ndarray:
    """Whether the opposition is fragmented: [C < C_frag] or [members' share < s_frag].

    The coalition cannot commit when it is divided (cohesion below the
    threshold) or when factions holding more than 1 - s_frag of its fighting
    strength have left it (Bakke, Cunningham & Seymour 2012: fragmentation
    is the number and weight of the groups outside the umbrella). Factions
    on the last axis of ``capabilities`` and ``members``.
    """
    total = capabilities.sum(axis=-1)
    inside = (capabilities * members).sum(axis=-1)
    share = np.divide(inside, total, out=np.ones_like(inside), where=total > 0)
    return (cohesion < threshold) | (share < share_threshold)


# ------------------------------------------------------------------ compiled
# Stage 5 compiled (numba), held to `Opposition.update_cohesion` by
# tests/model/test_coalition.py; see `negsim.model.compiled` for the contract.


@numba.njit(cache=True)
def cohesion_week(
    commitment: np.ndarray,
    ties: np.ndarray,
    authority: np.ndarray,
    crisis_left: np.ndarray,
    crisis_weeks: np.ndarray,
    cohesion: np.ndarray,
    hurt: np.ndarray,
    capabilities: np.ndarray,
    moderation: np.ndarray,
    coalition: np.ndarray,
    endorsement_weight: np.ndarray,
    loss_weight: np.ndarray,
    rate: np.ndarray,
    authority_start: np.ndarray,
    cohesion_out: np.ndarray,
    crisis_out: np.ndarray,
    coalition_out: np.ndarray,
) -> None:
    """Stage 5 compiled: `Opposition.update_cohesion`, from `negsim.model.coalition`, to the bit.

    For each faction f (formulas and sources in the docstrings of
    `coalition.effective_authority`, `coalition.cohesion_target` and
    `coalition.adjust`): the endorsement E of its leader by the patrons,
    sum_k commitment_k ties_fk / sum_k commitment_k; the target
    clip((1 - k hurt) ((1 - w) A_eff + w E), 0, 1), with w = 0 without
    patrons; cohesion adjusted towards it; one week off the succession
    crisis. Then the coalition's cohesion towards
    `coalition.coalition_cohesion_target` of the factions' capabilities,
    new cohesion and leaders' moderation.

    Shapes: ``commitment`` (R, K) patrons; ``ties`` (F, R, K); the
    leaders' ``authority``, ``crisis_left``, ``crisis_weeks`` and the
    factions' ``cohesion`` (F, R); ``capabilities`` and ``moderation`` (R,
    F); ``hurt``, ``coalition`` and the parameters (R,). Results go to
    ``cohesion_out``, ``crisis_out`` (F, R) and ``coalition_out`` (R,).
    """
    factions, size = cohesion.shape
    patrons = commitment.shape[1]
    terms = np.empty(max(patrons, factions))
    weights = np.empty(factions)
    for r in range(size):
        total_commitment = _pairwise_sum(commitment[r], 0, patrons)
        weight = endorsement_weight[r] if total_commitment > 0 else 0.0
        for f in range(factions):
            for k in range(patrons):
                terms[k] = commitment[r, k] * ties[f, r, k]
            endorsed = _pairwise_sum(terms, 0, patrons)
            endorsement = endorsed / total_commitment if total_commitment > 0 else 0.0
            weeks = crisis_weeks[f, r]
            fraction = crisis_left[f, r] / weeks if weeks > 0 else 0.0
            effective = authority[f, r] * (
                1.0 - (1.0 - authority_start[r]) * _clip(fraction, 0.0, 1.0)
            )
            mix = (1.0 - weight) * effective + weight * endorsement
            target = _clip((1.0 - loss_weight[r] * hurt[r]) * mix, 0.0, 1.0)
            current = cohesion[f, r]
            cohesion_out[f, r] = _clip(current + rate[r] * (target - current), 0.0, 1.0)
            crisis_out[f, r] = _maximum(crisis_left[f, r] - 1.0, 0.0)
        # The coalition (coalition_cohesion_target), from the factions' new cohesion.
        total = _pairwise_sum(capabilities[r], 0, factions)
        for f in range(factions):
            weights[f] = capabilities[r, f] / total if total > 0 else 0.0
        for f in range(factions):
            terms[f] = weights[f] * cohesion_out[f, r]
        mean_cohesion = _pairwise_sum(terms, 0, factions)
        for f in range(factions):
            terms[f] = weights[f] * moderation[r, f]
        mean_moderation = _pairwise_sum(terms, 0, factions)
        for f in range(factions):
            deviation = moderation[r, f] - mean_moderation
            terms[f] = weights[f] * (deviation * deviation)
        spread = np.sqrt(_pairwise_sum(terms, 0, factions))
        target = _clip(mean_cohesion * (1.0 - spread), 0.0, 1.0)
        current = coalition[r]
        coalition_out[r] = _clip(current + rate[r] * (target - current), 0.0, 1.0)

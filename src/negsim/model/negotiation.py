"""Negotiation submodels: costs, the bargaining range, ripeness, willingness, proposals."""

from __future__ import annotations

import numpy as np


def cost_of_war(
    cost_sensitivity: np.ndarray, resolve: np.ndarray, hurt: np.ndarray, horizon_weeks: np.ndarray
) -> np.ndarray:
    """Expected cost of fighting on, in issue units.

    c = s * (1 - resolve) * hurt * H

    ``hurt`` is the weekly rate of loss (share of force), H the horizon over
    which losses are counted, s the cost sensitivity; resolve discounts costs.
    """
    return cost_sensitivity * (1.0 - resolve) * hurt * horizon_weeks


def bargaining_range(
    government_expected: np.ndarray,
    opposition_expected: np.ndarray,
    government_cost: np.ndarray,
    opposition_cost: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """The deals both sides prefer to war (Fearon 1995).

    On an issue line where x is the opposition's share (0 = the government keeps all),
    with each side's expected war outcome p_G, p_O (where it believes war ends)
    and costs c_G, c_O: the opposition accepts x >= p_O - c_O, the government
    accepts x <= p_G + c_G. Range [p_O - c_O, p_G + c_G]; with common beliefs
    p it is Fearon's [p - c_O, p + c_G]. Empty (low > high) under mutual
    optimism larger than the costs.

    References:
        Fearon, J. D. (1995). Rationalist explanations for war. IO 49(3).
    """
    return opposition_expected - opposition_cost, government_expected + government_cost


def commitment_adjusted_range(
    low: np.ndarray, high: np.ndarray, power_shift: np.ndarray, horizon_weeks: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The range once a shifting balance of power is priced in (Powell 2006).

    With the opposition's prospects moving by ``power_shift`` per week
    (negative: the government is gaining), a deal today would be eroded over
    the horizon H because the rising side cannot commit not to exploit its
    future strength. The declining side demands the erosion up front:

        low'  = low  + H * max(0, -shift)     (opposition declining)
        high' = high - H * max(0,  shift)     (government declining)

    so a large, rapid shift of power can empty a range that costs alone would
    leave open (Fearon 1995, §5; Powell 2006: war as a commitment problem).
    In a stalemate (shift near 0) the range is unchanged.

    References:
        Powell, R. (2006). War as a commitment problem. IO 60(1).
        Fearon, J. D. (1995). Rationalist explanations for war. IO 49(3).
    """
    return (
        low + horizon_weeks * np.maximum(0.0, -power_shift),
        high - horizon_weeks * np.maximum(0.0, power_shift),
    )


def rubinstein_share(first_discount: np.ndarray, second_discount: np.ndarray) -> np.ndarray:
    """First proposer's equilibrium share of the surplus (Rubinstein 1982).

    s_1 = (1 - d_2) / (1 - d_1 d_2), for discount factors d_1, d_2 in [0, 1)

    References:
        Rubinstein, A. (1982). Perfect equilibrium in a bargaining model.
        Econometrica 50(1).
    """
    denominator = 1.0 - first_discount * second_discount
    return np.divide(
        1.0 - second_discount,
        denominator,
        out=np.full_like(denominator, 0.5),
        where=denominator > 1e-12,
    )


def mediator_proposal(
    low: np.ndarray, high: np.ndarray, government_share: np.ndarray, bias: np.ndarray
) -> np.ndarray:
    """The mediator's proposal inside the range [low, high].

    x = clip(low + (1 - s_G + bias) * (high - low), low, high)

    The mediator proposes the Rubinstein split of the range, the government
    (the incumbent, who sets the agenda) as first proposer with share s_G of
    the surplus; ``bias`` tilts it (a share of the range). Always inside the
    range, so both parties prefer it to war.
    """
    return np.clip(low + (1.0 - government_share + bias) * (high - low), low, high)


def ripeness(
    government_hurt: np.ndarray,
    opposition_hurt: np.ndarray,
    momentum: np.ndarray,
    hurt_threshold: np.ndarray,
    stalemate_tolerance: np.ndarray,
    way_out: np.ndarray,
) -> np.ndarray:
    """Zartman's ripeness: a mutually hurting stalemate plus a way out.

    MHS = min(h_G, h_O) / h*  (clipped to [0, 1])  *  max(0, 1 - |momentum| / tol)
    ripeness = MHS * way_out

    Both sides must hurt (loss rate against the threshold h*) and neither may
    be winning (territorial momentum within the tolerance); a mediator's
    credible 'way out' (0..1) completes the moment (Zartman 1989, 2000).

    References:
        Zartman, I. W. (1989). Ripe for Resolution. Zartman, I. W. (2000).
        Ripeness: the hurting stalemate and beyond.
    """
    threshold = np.maximum(hurt_threshold, 1e-12)
    mutual_hurt = np.clip(np.minimum(government_hurt, opposition_hurt) / threshold, 0.0, 1.0)
    tolerance = np.maximum(stalemate_tolerance, 1e-12)
    stalemate = np.clip(1.0 - np.abs(momentum) / tolerance, 0.0, 1.0)
    return mutual_hurt * stalemate * way_out


def willingness(
    bias: np.ndarray,
    ripeness_index: np.ndarray,
    endorsement: np.ndarray,
    confidence: np.ndarray,
    resolve: np.ndarray,
    weight_ripeness: np.ndarray,
    weight_endorsement: np.ndarray,
    weight_confidence: np.ndarray,
    weight_resolve: np.ndarray,
    surplus: np.ndarray | float = 0.0,
    weight_surplus: np.ndarray | float = 0.0,
) -> np.ndarray:
    """Probability that a side comes to (or stays at) the table this week (logistic).

    w = 1 / (1 + exp(-(b + a_v * S + a_r * ripeness + a_e * endorsement - a_c * confidence - a_s * resolve)))

    The deal on offer raises it by what it gains over fighting on (S, the
    surplus of `talks.deal_surplus`; Fearon 1995), ripeness raises it
    (Zartman), patrons' endorsement of talks raises it (pressure from
    backers; Greig & Diehl 2012), confidence of winning (expected outcome
    minus parity) and resolve lower it.
    """
    logit = (
        bias
        + weight_surplus * surplus
        + weight_ripeness * ripeness_index
        + weight_endorsement * endorsement
        - weight_confidence * confidence
        - weight_resolve * resolve
    )
    return 1.0 / (1.0 + np.exp(-logit))

"""Fighting submodels: who wins ground (contest) and who loses forces (attrition)."""

from __future__ import annotations

import numpy as np


def tullock_shares(
    efforts: np.ndarray, decisiveness: float | np.ndarray, axis: int = -1
) -> np.ndarray:
    """Contest success shares of each contender.

    p_i = x_i^m / sum_j x_j^m  (Tullock 1980; Hirshleifer 1989), where x_i >= 0
    is contender i's effort and m >= 0 the decisiveness of fighting. Contenders
    with zero effort get zero; if nobody exerts effort the shares are all zero.

    Args:
        efforts: efforts, contenders along ``axis``.
        decisiveness: the exponent m, broadcastable against ``efforts`` with
            ``axis`` removed (e.g. shape (R,) for efforts of shape (R, n)).
        axis: the axis of contenders.

    References:
        Tullock, G. (1980). Efficient rent seeking. Hirshleifer, J. (1989).
        Conflict and rent-seeking success functions. Public Choice 63, 101-112.
    """
    efforts = np.asarray(efforts, dtype=float)
    m = np.expand_dims(np.asarray(decisiveness, dtype=float), axis)
    positive = efforts > 0
    with np.errstate(over="ignore", invalid="ignore"):
        floored = np.maximum(efforts, 1e-300)
        # x^1 is x exactly (IEEE pow), so m = 1 (the Tullock lottery, the
        # usual case) skips the power and gives the same bits.
        powered = np.where(positive, floored if np.all(m == 1.0) else np.power(floored, m), 0.0)
        total = powered.sum(axis=axis, keepdims=True)
    # x^m can overflow (inf / inf = nan) or underflow (all zero, or subnormal
    # and imprecise) when m is large or efforts extreme. Shares depend only on
    # relative efforts, so there compute them from x / max(x), whose largest
    # term is 1. Ordinary totals take the direct path, bit for bit.
    ordinary = np.isfinite(total) & (total > 1e-100) & (total < 1e100)
    degenerate = ~ordinary & positive.any(axis=axis, keepdims=True)
    if degenerate.any():
        top = efforts.max(axis=axis, keepdims=True)
        relative = np.divide(efforts, top, out=np.zeros_like(efforts), where=top > 0)
        with np.errstate(under="ignore"):
            scaled = np.where(
                positive, relative if np.all(m == 1.0) else np.power(relative, m), 0.0
            )
        powered = np.where(degenerate, scaled, powered)
        total = powered.sum(axis=axis, keepdims=True)
    return np.divide(powered, total, out=np.zeros_like(powered), where=total > 0)


def lanchester_square(
    blue: np.ndarray, red: np.ndarray, alpha: np.ndarray, beta: np.ndarray, weeks: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """Strengths after ``weeks`` of aimed fire, by the Lanchester square law.

    dB/dt = -beta * R,  dR/dt = -alpha * B  (alpha: blue's effectiveness against
    red; beta: red's against blue). The exact solution, with g = sqrt(alpha*beta),

        B(t) = B0 cosh(g t) - sqrt(beta/alpha) R0 sinh(g t)
        R(t) = R0 cosh(g t) - sqrt(alpha/beta) B0 sinh(g t),

    conserves alpha*B^2 - beta*R^2 (Lanchester 1916) until one side is
    annihilated; the loser is then at 0 and the survivor stays at the strength
    the conserved quantity leaves it (sqrt((alpha B0^2 - beta R0^2) / alpha)
    for blue), since the closed form is not valid past annihilation. If one
    coefficient is 0 the solution is linear in t, floored at 0.

    References:
        Lanchester, F. W. (1916). Aircraft in Warfare: The Dawn of the Fourth Arm.
    """
    blue = np.asarray(blue, dtype=float)
    red = np.asarray(red, dtype=float)
    alpha = np.broadcast_to(np.asarray(alpha, dtype=float), blue.shape)
    beta = np.broadcast_to(np.asarray(beta, dtype=float), blue.shape)
    gamma = np.sqrt(alpha * beta)
    both = gamma > 0
    safe_alpha = np.where(both, alpha, 1.0)
    safe_beta = np.where(both, beta, 1.0)
    cosh, sinh = np.cosh(gamma * weeks), np.sinh(gamma * weeks)
    blue_after = np.where(
        both, blue * cosh - np.sqrt(safe_beta / safe_alpha) * red * sinh, blue - beta * red * weeks
    )
    red_after = np.where(
        both, red * cosh - np.sqrt(safe_alpha / safe_beta) * blue * sinh, red - alpha * blue * weeks
    )
    # Past the moment one side reaches 0 the hyperbolic solution would let the
    # survivor grow again (dB/dt = -beta R > 0 for R < 0): hold it instead.
    invariant = alpha * blue**2 - beta * red**2
    # (Never above the starting strength: in the subnormal range the square
    # root of the invariant can round above it.)
    blue_held = np.minimum(np.sqrt(np.maximum(invariant, 0.0) / safe_alpha), blue)
    red_held = np.minimum(np.sqrt(np.maximum(-invariant, 0.0) / safe_beta), red)
    blue_after = np.where(both & (red_after <= 0), blue_held, blue_after)
    red_after = np.where(both & (blue_after <= 0), red_held, red_after)
    return np.maximum(blue_after, 0.0), np.maximum(red_after, 0.0)


def front_update(
    control: np.ndarray,
    written_map: np.ndarray,
    shares: np.ndarray,
    baseline_shares: np.ndarray,
    rate: np.ndarray,
) -> np.ndarray:
    """A week's move of the fronts when the balance of effort departs from its baseline.

    c' = normalise(max(0, (1 - rate) * c + rate * (map + shares - baseline)))  (contenders on the last axis)

    The map a scenario writes is the outcome of the balance of effort it
    reflects (``baseline``: the contest shares at the resting point), of
    terrain and of local support the model does not represent. Control
    moves towards map + (shares - baseline), so the written map is the
    resting point and nothing drifts before the first event, while an
    intervention that raises a side's contest shares by d moves its control
    towards map + d at ``rate`` per week (the partial adjustment of the
    plain contest update, c' = (1 - rate) c + rate * shares, of which this
    is the version centred on the map). Control that would go negative is
    held at 0 and the region renormalised.
    """
    moved = (1.0 - rate) * control + rate * (written_map + shares - baseline_shares)
    moved = np.maximum(moved, 0.0)
    total = moved.sum(axis=-1, keepdims=True)
    return np.divide(moved, total, out=control.copy(), where=total > 0)


def spoiler_losses(
    effort: np.ndarray, allocation: np.ndarray, spoilers: np.ndarray, effectiveness: np.ndarray
) -> np.ndarray:
    """Weekly losses of armed actors outside the talks, who fight everyone.

    L_s = alpha * sum_r a_rs * sum_{c != s} x_rc

    Aimed fire (the Lanchester square law's dS/dt = -alpha * E) from the
    effort x of every other contender in the regions where the spoiler
    commits its share a_rs of its effort. Shapes: effort and allocation
    (R, regions, combatants), spoilers the spoilers' columns; returns (R, S).

    References:
        Lanchester, F. W. (1916). Aircraft in Warfare.
    """
    everyone = effort.sum(axis=-1, keepdims=True)
    facing = everyone - effort[..., spoilers]
    return effectiveness[:, None] * (allocation[..., spoilers] * facing).sum(axis=1)

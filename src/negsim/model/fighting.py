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
    # One effectiveness per replication, or per spoiler (R, S): a ceasefire calms those it binds.
    effectiveness = effectiveness[:, None] if effectiveness.ndim == 1 else effectiveness
    return effectiveness * (allocation[..., spoilers] * facing).sum(axis=1)


def fight_week(
    forces: np.ndarray,
    support: np.ndarray,
    escalation: np.ndarray,
    control: np.ndarray,
    written_map: np.ndarray,
    baseline_shares: np.ndarray | None,
    adjacency: np.ndarray,
    value: np.ndarray,
    offensive: np.ndarray,
    truce: np.ndarray,
    noise: np.ndarray,
    reach: np.ndarray,
    sigma: np.ndarray,
    decisiveness: np.ndarray,
    rate: np.ndarray,
    effectiveness: np.ndarray,
    government: int,
    factions: np.ndarray,
    spoilers: np.ndarray,
    recruitment: np.ndarray,
    base_forces: np.ndarray,
    recruit: bool,
    spoiler_effectiveness: np.ndarray | None = None,
    fire_truce: np.ndarray | None = None,
) -> tuple[
    np.ndarray,
    np.ndarray,
    np.ndarray,
    np.ndarray,
    np.ndarray,
    np.ndarray,
    np.ndarray,
    np.ndarray,
    np.ndarray,
]:
    """One week of fighting for R replications: the reference of the model's stage 3.

    Strength S_c = (F_c + support_c) * escalation_c. Each combatant spreads
    its effort over regions in proportion to its presence, control plus
    ``reach`` times its control of the adjacent regions (presence_g = c_g +
    reach * sum_k A_gk c_k), times the region's strategic value and any
    offensive: a_gc = w_gc / sum_g w_gc. Effort x_gc = S_c a_gc eps_gc t_c,
    with log-normal noise eps = exp(sigma z - sigma^2 / 2) (mean 1, z the
    standard normals ``noise``, shape (R, regions, combatants)) and t the
    one-sided truce factor. Contest shares by `tullock_shares` in each
    region; the fronts move by `front_update` (or, before the resting map is
    known, ``baseline_shares`` None, by the plain partial adjustment
    c' = (1 - rate) c + rate * shares) where anyone fights. The two sides at
    the table lose forces by `lanchester_square` (blue the government's
    strength, red the factions' together, each side's fire reduced by its
    truce), the losses falling on own forces (split among factions by their
    forces); spoilers by `spoiler_losses`. Forces are floored at 0; with
    ``recruit``, each combatant recruits towards ``base_forces`` at rate
    ``recruitment``: F += r * max(base - F, 0). ``rate`` may be per region
    (R, G) and the spoilers' losses may take their own effectiveness
    (``spoiler_effectiveness``, (R, S)): a ceasefire that binds some
    combatants calms only the fronts and the fire among them
    (`ConflictModel._fighting_rates`). ``truce`` may be by region (R, G, n)
    with the fire held given apart (``fire_truce``, (R, n)): a truce aimed at
    named enemies (`ConflictModel._truce_against`).

    Pure: the arguments are not modified. Its compiled counterpart is
    `negsim.model.kernels.fight_week`, held to it by the docking tests.

    Returns:
        strength (R, n), control after the week (R, G, n), contest shares
        (R, G, n), forces after the week (R, n), the week's losses (R, n),
        blue and red strength (R,), blue's and red's losses (R,).

    References:
        Tullock (1980), Hirshleifer (1989) and Lanchester (1916), as in
        `tullock_shares` and `lanchester_square`.
    """
    strength = (forces + support) * escalation
    presence = control + reach[:, None, None] * np.matmul(adjacency, control)
    weight = presence * value[None, :, None] * offensive
    total = weight.sum(axis=1, keepdims=True)
    allocation = np.divide(weight, total, out=np.zeros_like(weight), where=total > 0)
    shock = np.exp(sigma[:, None, None] * noise - 0.5 * sigma[:, None, None] ** 2)
    # A side under a one-sided truce contests less ground (truce, 1 elsewhere).
    # (A truce may be by region, (R, G, n), with its fire held apart: ``fire_truce``.)
    region_truce = truce[:, None, :] if truce.ndim == 2 else truce
    fire = truce if fire_truce is None else fire_truce
    effort = strength[:, None, :] * allocation * shock * region_truce
    shares = tullock_shares(effort, decisiveness[:, None], axis=-1)
    # One rate per replication, or per region (R, G): a ceasefire holds where only those it binds fight.
    rate = rate[:, None, None] if rate.ndim == 1 else rate[:, :, None]
    contested = shares.sum(axis=-1, keepdims=True) > 0
    if baseline_shares is None:
        moved = (1.0 - rate) * control + rate * shares
    else:
        moved = front_update(control, written_map, shares, baseline_shares, rate)
    control = np.where(contested, moved, control)

    # Attrition between the two sides at the table (Lanchester square law).
    blue = strength[:, government]
    red = strength[:, factions].sum(axis=-1)
    # A side under a one-sided truce fires less (its share of its side's strength).
    red_strength = strength[:, factions]
    red_total = red_strength.sum(axis=-1)
    red_calm = np.divide(
        (red_strength * fire[:, factions]).sum(axis=-1),
        red_total,
        out=np.ones_like(red_total),
        where=red_total > 0,
    )
    blue_after, red_after = lanchester_square(
        blue, red, effectiveness * fire[:, government], effectiveness * red_calm
    )
    # Losses fall on the side's own forces: patrons resupply their support
    # every week.
    before = forces
    forces = forces.copy()
    blue_lost = np.minimum(blue - blue_after, before[:, government])
    own = before[:, factions]
    own_total = own.sum(axis=-1)
    red_lost = np.minimum(red - red_after, own_total)
    split = np.divide(own, own_total[:, None], out=np.zeros_like(own), where=own_total[:, None] > 0)
    forces[:, government] -= blue_lost
    # Floored: when the losses take all of the factions' own forces,
    # own - own_total * (own / own_total) can round to -1e-17.
    forces[:, factions] = np.maximum(forces[:, factions] - red_lost[:, None] * split, 0.0)
    # Spoilers fight everyone in the regions where they commit effort.
    if spoilers.size:
        lost = spoiler_losses(
            effort,
            allocation,
            spoilers,
            effectiveness if spoiler_effectiveness is None else spoiler_effectiveness,
        )
        forces[:, spoilers] = np.maximum(forces[:, spoilers] - lost, 0.0)
    losses = before - forces
    if recruit:
        forces += recruitment * np.maximum(base_forces - forces, 0.0)
    return strength, control, shares, forces, losses, blue, red, blue_lost, red_lost

"""Fighting submodels: who wins ground (contest) and who loses forces (attrition)."""

from __future__ import annotations

import numba
import numpy as np

from negsim.model.compiled import _maximum, _minimum, _pairwise_sum, standard_normal


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
    `fight_week_compiled` (below), held to it by the docking tests.

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


# ------------------------------------------------------------------ compiled
# The stage compiled (numba), held to the numpy above by tests/model/test_fighting.py;
# what the compiled kernels promise, and why, is in `negsim.model.compiled`.


@numba.njit(cache=True)
def _lanchester_square(
    blue: float, red: float, alpha: float, beta: float, weeks: float
) -> tuple[float, float]:
    """One replication of `negsim.model.fighting.lanchester_square` (see there)."""
    gamma = np.sqrt(alpha * beta)
    both = gamma > 0
    safe_alpha = alpha if both else 1.0
    safe_beta = beta if both else 1.0
    cosh = np.cosh(gamma * weeks)
    sinh = np.sinh(gamma * weeks)
    if both:
        blue_after = blue * cosh - np.sqrt(safe_beta / safe_alpha) * red * sinh
        red_after = red * cosh - np.sqrt(safe_alpha / safe_beta) * blue * sinh
    else:
        blue_after = blue - beta * red * weeks
        red_after = red - alpha * blue * weeks
    invariant = alpha * (blue * blue) - beta * (red * red)
    blue_held = _minimum(np.sqrt(_maximum(invariant, 0.0) / safe_alpha), blue)
    red_held = _minimum(np.sqrt(_maximum(-invariant, 0.0) / safe_beta), red)
    if both and red_after <= 0:
        blue_after = blue_held
    if both and blue_after <= 0:
        red_after = red_held
    return _maximum(blue_after, 0.0), _maximum(red_after, 0.0)


@numba.njit(cache=True)
def fight_week_compiled(
    forces: np.ndarray,
    support: np.ndarray,
    escalation: np.ndarray,
    control: np.ndarray,
    written_map: np.ndarray,
    baseline_shares: np.ndarray,
    centred: bool,
    adjacency: np.ndarray,
    value: np.ndarray,
    offensive: np.ndarray,
    truce: np.ndarray,
    fire_truce: np.ndarray,
    noise_streams: np.ndarray,
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
    spoiler_effectiveness: np.ndarray,
    strength_out: np.ndarray,
    control_out: np.ndarray,
    shares_out: np.ndarray,
    forces_out: np.ndarray,
    lost_out: np.ndarray,
    blue_out: np.ndarray,
    red_out: np.ndarray,
    blue_lost_out: np.ndarray,
    red_lost_out: np.ndarray,
) -> None:
    """Stage 3 compiled: `fight_week`, the reference, to the bit.

    Same arguments and results as the reference (see its docstring for the
    formulas and sources), except that the noise is drawn here, from
    ``noise_streams`` (the PCG64 states of the (region, combatant) streams,
    region-major, `compiled.pcg64_states`), which the kernel advances by R draws
    each: the reference's ``noise[r, g, c]`` is stream g * n + c's r-th
    draw of the week. ``baseline_shares`` is ignored
    unless ``centred`` (the reference's ``baseline_shares is None`` is
    ``centred=False``), and the results are written into the ``*_out``
    arrays, in the reference's order, instead of returned (the model keeps
    them from week to week: no fresh memory per week). ``rate`` is per region
    (R, G), ``truce`` by region (R, G, n) with the fire held in
    ``fire_truce`` (R, n), and ``spoiler_effectiveness`` (R, S) the
    spoilers' own (the reference's optional forms, always given here). An output may be the
    input it replaces (``control_out`` is ``control``, ``forces_out`` is
    ``forces``): each replication's inputs are copied to scratch before its
    outputs are written. One pass over the replications; each needs a few
    vectors of scratch of regions x combatants.
    """
    size, regions, n = control.shape

    # The adjacency as lists of neighbours: matmul adds the zero terms too,
    # but adding 0 * c = 0 to a sum of non-negative terms changes no bit.
    degree = np.zeros(regions, dtype=np.int64)
    neighbour = np.zeros((regions, regions), dtype=np.int64)
    link = np.zeros((regions, regions))
    for g in range(regions):
        for k in range(regions):
            if adjacency[g, k] != 0.0:
                neighbour[g, degree[g]] = k
                link[g, degree[g]] = adjacency[g, k]
                degree[g] += 1

    strength = np.empty(n)
    held = np.empty((regions, n))
    weight = np.empty((regions, n))
    total = np.empty(n)
    effort = np.empty((regions, n))
    allocation = np.empty((regions, n))
    row = np.empty(n)
    everyone = np.empty(regions)
    terms = np.empty(regions)
    before = np.empty(n)
    for r in range(size):
        for c in range(n):
            before[c] = forces[r, c]
            strength[c] = (before[c] + support[r, c]) * escalation[r, c]
            strength_out[r, c] = strength[c]
            for g in range(regions):
                held[g, c] = control[r, g, c]
        # Presence and allocation of effort across regions (by value and offensives).
        for g in range(regions):
            for c in range(n):
                # The adjacency product, in matmul's order (its terms are 0 or 1 times control).
                neighbours = 0.0
                for j in range(degree[g]):
                    neighbours += link[g, j] * held[neighbour[g, j], c]
                presence = held[g, c] + reach[r] * neighbours
                weight[g, c] = presence * value[g] * offensive[r, g, c]
        for c in range(n):
            total[c] = 0.0
            for g in range(regions):
                total[c] += weight[g, c]
        s = sigma[r]
        drift = 0.5 * (s * s)
        m = decisiveness[r]
        for g in range(regions):
            for c in range(n):
                allocation[g, c] = weight[g, c] / total[c] if total[c] > 0 else 0.0
                # Stream g * n + c's r-th draw: numpy's block of R draws, one at a time.
                shock = np.exp(s * standard_normal(noise_streams, g * n + c) - drift)
                effort[g, c] = strength[c] * allocation[g, c] * shock * truce[r, g, c]
            # The contest in the region (tullock_shares).
            positive = False
            for c in range(n):
                x = effort[g, c]
                if x > 0:
                    positive = True
                    floored = _maximum(x, 1e-300)
                    row[c] = floored if m == 1.0 else floored**m
                else:
                    row[c] = 0.0
            powered_total = _pairwise_sum(row, 0, n)
            ordinary = np.isfinite(powered_total) and 1e-100 < powered_total < 1e100
            if not ordinary and positive:
                top = effort[g, 0]
                for c in range(1, n):
                    top = _maximum(top, effort[g, c])
                for c in range(n):
                    x = effort[g, c]
                    relative = x / top if top > 0 else 0.0
                    row[c] = (relative if m == 1.0 else relative**m) if x > 0 else 0.0
                powered_total = _pairwise_sum(row, 0, n)
            contested = False
            for c in range(n):
                share = row[c] / powered_total if powered_total > 0 else 0.0
                shares_out[r, g, c] = share
                contested = contested or share > 0
            # The fronts move (front_update, or the plain partial adjustment).
            w = rate[r, g]
            if not centred:
                for c in range(n):
                    old = held[g, c]
                    moved = (1.0 - w) * old + w * shares_out[r, g, c]
                    control_out[r, g, c] = moved if contested else old
            else:
                for c in range(n):
                    moved = (1.0 - w) * held[g, c] + w * (
                        written_map[r, g, c] + shares_out[r, g, c] - baseline_shares[r, g, c]
                    )
                    row[c] = _maximum(moved, 0.0)
                moved_total = _pairwise_sum(row, 0, n)
                for c in range(n):
                    old = held[g, c]
                    moved = row[c] / moved_total if moved_total > 0 else old
                    control_out[r, g, c] = moved if contested else old
            everyone[g] = _pairwise_sum(effort[g], 0, n)

        # Attrition between the two sides at the table (lanchester_square).
        blue = strength[government]
        red = 0.0
        calm = 0.0
        for f in factions:
            red += strength[f]
            calm += strength[f] * fire_truce[r, f]
        red_calm = calm / red if red > 0 else 1.0
        e = effectiveness[r]
        blue_after, red_after = _lanchester_square(
            blue, red, e * fire_truce[r, government], e * red_calm, 1.0
        )
        for c in range(n):
            forces_out[r, c] = before[c]
        blue_lost = _minimum(blue - blue_after, before[government])
        own_total = 0.0
        for f in factions:
            own_total += before[f]
        red_lost = _minimum(red - red_after, own_total)
        forces_out[r, government] -= blue_lost
        for f in factions:
            split = before[f] / own_total if own_total > 0 else 0.0
            forces_out[r, f] = _maximum(forces_out[r, f] - red_lost * split, 0.0)
        # Spoilers fight everyone where they commit effort (spoiler_losses); the
        # sum over regions is along a contiguous axis in the reference, so pairwise.
        for i, spoiler in enumerate(spoilers):
            for g in range(regions):
                terms[g] = allocation[g, spoiler] * (everyone[g] - effort[g, spoiler])
            lost = spoiler_effectiveness[r, i] * _pairwise_sum(terms, 0, regions)
            forces_out[r, spoiler] = _maximum(forces_out[r, spoiler] - lost, 0.0)
        for c in range(n):
            lost_out[r, c] = before[c] - forces_out[r, c]
            if recruit:
                forces_out[r, c] += recruitment[r, c] * _maximum(
                    base_forces[r, c] - forces_out[r, c], 0.0
                )
        blue_out[r] = blue
        red_out[r] = red
        blue_lost_out[r] = blue_lost
        red_lost_out[r] = red_lost


@numba.njit(cache=True)
def _contest_share(x: float, y: float, m: float) -> float:
    """x's share of the two-sided contest [x, y] (`fighting.tullock_shares`, its first column)."""
    row = np.empty(2)
    for i, v in enumerate((x, y)):
        if v > 0:
            floored = _maximum(v, 1e-300)
            row[i] = floored if m == 1.0 else floored**m
        else:
            row[i] = 0.0
    total = row[0] + row[1]
    if not (np.isfinite(total) and 1e-100 < total < 1e100) and (x > 0 or y > 0):
        top = _maximum(x, y)
        for i, v in enumerate((x, y)):
            relative = v / top if top > 0 else 0.0
            row[i] = (relative if m == 1.0 else relative**m) if v > 0 else 0.0
        total = row[0] + row[1]
    return row[0] / total if total > 0 else 0.0


@numba.njit(cache=True)
def after_fight(
    blue: np.ndarray,
    red: np.ndarray,
    blue_lost: np.ndarray,
    red_lost: np.ndarray,
    blue_base: np.ndarray,
    red_base: np.ndarray,
    territory: np.ndarray,
    government_territory: np.ndarray,
    decisiveness: np.ndarray,
    strength_weight: np.ndarray,
    hurt_memory: np.ndarray,
    momentum_memory: np.ndarray,
    government_hurt: np.ndarray,
    opposition_hurt: np.ndarray,
    signal: np.ndarray,
    power_shift: np.ndarray,
    momentum: np.ndarray,
    opposition_territory: np.ndarray,
) -> None:
    """What the week's fighting leaves, compiled: hurt, the battlefield signal, momentum (in place).

    The numpy reference is the end of `ConflictModel._fight` (with
    `ConflictModel._battlefield_signal`): hurt H' = (1 - mu) H + mu L / F0
    (the week's losses against the scenario's forces); the signal of
    `beliefs.battlefield_signal` from the two sides' contest share of
    strength (`fighting.tullock_shares`) and the opposition's share of the
    territory the two hold (1/2 if neither holds any); the power shift and
    the momentum of territory as exponential averages of their weekly
    changes. ``territory`` and ``government_territory`` come from numpy
    (`ConflictModel.territory`, a matrix product whose order is BLAS's).
    The last six arrays are updated in place.
    """
    for r in range(blue.shape[0]):
        memory = hurt_memory[r]
        blue_hurt = blue_lost[r] / blue_base[r] if blue_base[r] > 0 else 0.0
        red_hurt = red_lost[r] / red_base[r] if red_base[r] > 0 else 0.0
        government_hurt[r] = (1 - memory) * government_hurt[r] + memory * blue_hurt
        opposition_hurt[r] = (1 - memory) * opposition_hurt[r] + memory * red_hurt
        held = territory[r] + government_territory[r]
        territory_share = territory[r] / held if held > 0 else 0.5
        strength_share = _contest_share(red[r], blue[r], decisiveness[r])
        w = strength_weight[r]
        new_signal = w * strength_share + (1 - w) * territory_share
        shift = momentum_memory[r]
        power_shift[r] = (1 - shift) * power_shift[r] + shift * (new_signal - signal[r])
        signal[r] = new_signal
        momentum[r] = (1 - shift) * momentum[r] + shift * (territory[r] - opposition_territory[r])
        opposition_territory[r] = territory[r]


# -------------------------------------------------------------- recording


@numba.njit(cache=True)
def territory_by_combatant(control: np.ndarray, value_share: np.ndarray, out: np.ndarray) -> None:
    """out[c, r] = sum_g control[r, g, c] * value_share[g], as float32 (`Recorder.record`).

    Each combatant's strategic-value-weighted share of the territory. The
    reference, ``(control * value_share[None, :, None]).sum(axis=1).T``,
    sums along a strided axis, which numpy does left to right, one region
    after another: so does this, without its R x regions x combatants
    temporary.
    """
    size, regions, n = control.shape
    held = np.empty(n)
    for r in range(size):
        for c in range(n):
            held[c] = control[r, 0, c] * value_share[0]
        for g in range(1, regions):
            weight = value_share[g]
            for c in range(n):
                held[c] += control[r, g, c] * weight
        for c in range(n):
            out[c, r] = np.float32(held[c])

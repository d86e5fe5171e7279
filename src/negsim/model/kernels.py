"""Compiled kernels of the weekly step (numba), one per stage where it pays.

Each kernel computes exactly what a documented numpy reference function
computes, replication by replication with a few numbers of scratch, instead
of as ~30 temporaries of R x regions x combatants: the formulas, their
sources and their meaning are in the reference's docstring, and the docking
tests (tests/model/test_kernels.py) hold the kernel to it.

The reference's numbers to 1e-12 relative on every CPU, and bit for bit on
the CPUs we develop on: no fastmath, every sum in the order
numpy's reduction takes for the array layout the reference has (its
pairwise summation along a contiguous axis, left to right along any other;
see `_pairwise_sum`), every product grouped as the reference groups it, and
the same libm functions (exp, pow, cosh, sinh, sqrt are correctly rounded
or identical to numpy's on the machines we run; on others, e.g. numpy's
AVX-512 exp/pow loops or another BLAS's matmul order in the reference, the
last bits may differ, which the docking tests' tolerance allows).
Random draws stay in the model's named streams, so the same seed gives the
same draws. The fighting noise is drawn inside its kernel, replication by
replication, from the streams' own PCG64 states (`standard_normal`: numpy's
generator, the same bits), because a separate pass of numpy draws into a
buffer, read back in the kernel with a stride of R, cost more than the
kernel's arithmetic.

`cache=True` keeps the compiled code on disk next to this module (or in
NUMBA_CACHE_DIR), so a user pays the compilation once per install.
"""

from __future__ import annotations

import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

# numpy's ziggurat tables for the standard normal (numba keeps a copy of
# numpy's ziggurat_constants.h for its own np.random.Generator support).
from numba.np.random._constants import (
    fi_double,
    ki_double,
    wi_double,
    ziggurat_nor_inv_r,
    ziggurat_nor_r,
)

# The most terms a kernel sums (regions, or combatants) in numpy's order: up
# to one block of numpy's pairwise summation (PW_BLOCKSIZE in
# numpy/_core/src/umath/loops_utils.h.src). Past it numpy splits the sum
# recursively, and a recursive kernel cannot be cached (numba reloads it
# broken), so the model runs the numpy reference there instead.
MAX_TERMS = 128


@numba.njit(cache=True)
def _pairwise_sum(values: np.ndarray, start: int, n: int) -> float:
    """sum(values[start:start + n]) in the order numpy sums a contiguous axis (n <= MAX_TERMS).

    numpy reduces a contiguous axis with pairwise summation: fewer than 8
    terms left to right from 0; up to 128 in 8 interleaved partial sums
    combined as ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7)), then the
    remainder left to right.
    """
    if n < 8:
        total = 0.0
        for i in range(start, start + n):
            total += values[i]
        return total
    r0 = values[start]
    r1 = values[start + 1]
    r2 = values[start + 2]
    r3 = values[start + 3]
    r4 = values[start + 4]
    r5 = values[start + 5]
    r6 = values[start + 6]
    r7 = values[start + 7]
    i = 8
    stop = n - n % 8
    while i < stop:
        base = start + i
        r0 += values[base]
        r1 += values[base + 1]
        r2 += values[base + 2]
        r3 += values[base + 3]
        r4 += values[base + 4]
        r5 += values[base + 5]
        r6 += values[base + 6]
        r7 += values[base + 7]
        i += 8
    total = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        total += values[start + i]
        i += 1
    return total


# ------------------------------------------------------------------ draws

# PCG64's multiplier (PCG_DEFAULT_MULTIPLIER_128 in numpy/random/src/pcg64/pcg64.h).
_PCG64_MULTIPLIER = 0x2360ED051FC65DA44385DF649FCCF645


@intrinsic
def _pcg64_advance(typingctx, high, low, increment_high, increment_low):  # type: ignore[no-untyped-def]
    """One LCG step of PCG64, state * multiplier + increment mod 2^128, as (high, low) words.

    In LLVM's 128-bit integers, which compile to the machine's 64 x 64 -> 128
    multiply, as numpy's C does with ``__uint128_t``.
    """
    signature = types.UniTuple(types.uint64, 2)(
        types.uint64, types.uint64, types.uint64, types.uint64
    )

    def codegen(context, builder, sig, args):  # type: ignore[no-untyped-def]
        wide = ir.IntType(128)
        word = ir.IntType(64)
        shift = ir.Constant(wide, 64)
        high_, low_, increment_high_, increment_low_ = args

        def join(upper, lower):  # type: ignore[no-untyped-def]
            return builder.or_(
                builder.shl(builder.zext(upper, wide), shift), builder.zext(lower, wide)
            )

        state = builder.add(
            builder.mul(join(high_, low_), ir.Constant(wide, _PCG64_MULTIPLIER)),
            join(increment_high_, increment_low_),
        )
        new_low = builder.trunc(state, word)
        new_high = builder.trunc(builder.lshr(state, shift), word)
        return context.make_tuple(builder, sig.return_type, [new_high, new_low])

    return signature, codegen


@numba.njit(cache=True, inline="always")
def _next_uint64(states: np.ndarray, k: int) -> np.uint64:
    """The next 64 bits of stream k (PCG64's XSL-RR output of the advanced state).

    ``states[k]`` holds the stream's state and increment as 64-bit words:
    (state high, state low, increment high, increment low), see
    `pcg64_states`.
    """
    high, low = _pcg64_advance(states[k, 0], states[k, 1], states[k, 2], states[k, 3])  # type: ignore[call-arg,var-annotated]
    states[k, 0] = high
    states[k, 1] = low
    mixed = high ^ low
    rotation = high >> np.uint64(58)
    return (mixed >> rotation) | (mixed << ((np.uint64(64) - rotation) & np.uint64(63)))


@numba.njit(cache=True, inline="always")
def _next_double(states: np.ndarray, k: int) -> float:
    """A uniform [0, 1) double from stream k, as numpy's PCG64 makes one (53 high bits)."""
    return np.float64(_next_uint64(states, k) >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@numba.njit(cache=True, inline="always")
def standard_normal(states: np.ndarray, k: int) -> float:
    """The next standard normal of stream k: numpy's `Generator.standard_normal`, to the bit.

    Marsaglia and Tsang's (2000) ziggurat with 256 layers, as numpy
    implements it (random_standard_normal in
    numpy/random/src/distributions/distributions.c): 8 bits choose the
    layer, one the sign, 52 the abscissa; the tail beyond r = 3.654 by
    Marsaglia's (1964) exponential method. One draw of numpy's, one draw
    here: the stream is left where numpy's generator would be.
    """
    while True:
        bits = _next_uint64(states, k)
        layer = bits & np.uint64(0xFF)
        bits >>= np.uint64(8)
        negative = bits & np.uint64(1)
        magnitude = (bits >> np.uint64(1)) & np.uint64(0x000FFFFFFFFFFFFF)
        x = magnitude * wi_double[layer]
        if negative:
            x = -x
        if magnitude < ki_double[layer]:
            return x  # ~99.3 % of the draws
        if layer == 0:
            while True:
                tail = -ziggurat_nor_inv_r * np.log1p(-_next_double(states, k))
                height = -np.log1p(-_next_double(states, k))
                if height + height > tail * tail:
                    if (magnitude >> np.uint64(8)) & np.uint64(1):
                        return -(ziggurat_nor_r + tail)
                    return ziggurat_nor_r + tail
        elif (fi_double[layer - 1] - fi_double[layer]) * _next_double(states, k) + fi_double[
            layer
        ] < np.exp(-0.5 * x * x):
            return x


@numba.njit(cache=True)
def standard_normals(states: np.ndarray, out: np.ndarray) -> None:
    """Fill row k of ``out`` (K, R) with stream k's next R standard normals (as numpy would)."""
    for k in range(out.shape[0]):
        for i in range(out.shape[1]):
            out[k, i] = standard_normal(states, k)


def pcg64_states(generators: list[np.random.Generator]) -> np.ndarray:
    """The PCG64 states of ``generators`` as a (K, 4) array of 64-bit words, for the kernels.

    A copy: the kernels advance it, and the generators themselves are not
    to be drawn from afterwards (their streams continue in the copy).
    """
    words = np.empty((len(generators), 4), dtype=np.uint64)
    mask = (1 << 64) - 1
    for k, generator in enumerate(generators):
        state = generator.bit_generator.state
        if state["bit_generator"] != "PCG64":
            raise TypeError(f"stream {k} is {state['bit_generator']}, not PCG64")
        value, increment = state["state"]["state"], state["state"]["inc"]
        words[k] = (value >> 64, value & mask, increment >> 64, increment & mask)
    return words


# ---------------------------------------------------------------- helpers


@numba.njit(cache=True)
def _maximum(a: float, b: float) -> float:
    """np.maximum of two numbers (NaN propagates from ``a``, as numpy's does)."""
    return a if (a >= b or a != a) else b


@numba.njit(cache=True)
def _minimum(a: float, b: float) -> float:
    """np.minimum of two numbers (NaN propagates from ``a``, as numpy's does)."""
    return a if (a <= b or a != a) else b


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
def fight_week(
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
    """Stage 3 compiled: `negsim.model.fighting.fight_week`, the reference, to the bit.

    Same arguments and results as the reference (see its docstring for the
    formulas and sources), except that the noise is drawn here, from
    ``noise_streams`` (the PCG64 states of the (region, combatant) streams,
    region-major, `pcg64_states`), which the kernel advances by R draws
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


# ---------------------------------------------------------------- stage 5


@numba.njit(cache=True)
def _clip(x: float, low: float, high: float) -> float:
    """np.clip of one number (minimum(maximum(x, low), high); NaN stays NaN)."""
    return _minimum(_maximum(x, low), high)


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


# ----------------------------------------------------- stage 3, what it leaves


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


# ---------------------------------------------------------------- stage 2

# Whose patron each patron is (`ConflictModel.patron_routes`): how its support
# reaches the fighting (`Patron.supply`) and its word the table
# (`ConflictModel.endorsements`).
PATRON_OF_SPOILER = 0  # supplies its client's column, prospects held at parity; no say in talks
PATRON_OF_GOVERNMENT = 1
PATRON_OF_OPPOSITION = 2  # supplies and presses through the factions' leaders' ties


@numba.njit(cache=True)
def supply_week(
    kinds: np.ndarray,
    clients: np.ndarray,
    tie_columns: np.ndarray,
    commitment: np.ndarray,
    capacity: np.ndarray,
    responsiveness: np.ndarray,
    direct: np.ndarray,
    signal: np.ndarray,
    forces: np.ndarray,
    faction_columns: np.ndarray,
    ties: np.ndarray,
    parity: np.ndarray,
    support_out: np.ndarray,
    patron_out: np.ndarray,
) -> None:
    """Stage 2 compiled: every `Patron.supply` of the week, in the patrons' order, to the bit.

    Patron p supplies S = `patrons.patron_support` (commitment, capacity,
    responsiveness, its client's prospects from the battlefield ``signal``,
    its direct forces) into ``patron_out[p]``, added to its client's column
    of ``support_out`` (zeroed first), or for the opposition split among the
    factions in proportion to tie x forces of their leaders.

    Shapes: ``kinds`` (P,) of PATRON_OF_*; ``clients`` (P,) the client's
    combatant column (spoiler and government); ``tie_columns`` (P,) the
    patron's column in ``ties`` (opposition); the patrons' arrays (P, R);
    ``forces`` (R, n); ``ties`` (F, R, K), the factions' leaders' ties in
    `faction_columns` order; ``parity`` (R,) `patron_parity`.
    """
    patrons = kinds.shape[0]
    size, n = support_out.shape
    factions = faction_columns.shape[0]
    weights = np.empty(factions)
    for r in range(size):
        for c in range(n):
            support_out[r, c] = 0.0
        for p in range(patrons):
            kind = kinds[p]
            if kind == PATRON_OF_SPOILER:
                prospects = parity[r]
            elif kind == PATRON_OF_GOVERNMENT:
                prospects = 1.0 - signal[r]
            else:
                prospects = signal[r]
            scale = _maximum(0.0, 1.0 + responsiveness[p, r] * (parity[r] - prospects))
            supplied = commitment[p, r] * capacity[p, r] * scale + direct[p, r]
            patron_out[p, r] = supplied
            if kind != PATRON_OF_OPPOSITION:
                support_out[r, clients[p]] += supplied
                continue
            column = tie_columns[p]
            for f in range(factions):
                weights[f] = ties[f, r, column] * forces[r, faction_columns[f]]
            total = _pairwise_sum(weights, 0, factions)
            for f in range(factions):
                share = weights[f] / total if total > 0 else 0.0
                support_out[r, faction_columns[f]] += supplied * share


# ---------------------------------------------------------------- stage 6

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
    `supply_week`, ``commitment`` and ``supports_talks`` their arrays (P, R).
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

"""What every compiled stage shares: numpy's summation order, its PCG64 draws, min/max/clip.

Each stage's compiled kernel (numba) lives beside its numpy reference, in
the stage's own module: `negsim.model.patrons.supply_week` (stage 2),
`negsim.model.fighting.fight_week_compiled` and `after_fight` (stage 3,
with `territory_by_combatant` for the recording),
`negsim.model.coalition.cohesion_week` (stage 5) and
`negsim.model.talks.talks_week` (stage 6). This module holds only the
primitives they all call, so it is named for what it is (compiled
primitives), not for the kernels it no longer holds.

Each kernel computes exactly what its documented numpy reference
computes, replication by replication with a few numbers of scratch, instead
of as ~30 temporaries of R x regions x combatants: the formulas, their
sources and their meaning are in the reference's docstring, and the docking
tests (tests/model/test_<stage>.py; this module's in test_compiled.py) hold
the kernel to it.

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

`cache=True` keeps the compiled code on disk next to each module (or in
NUMBA_CACHE_DIR), so a user pays the compilation once per install. numba
checks a cached kernel against its own file only: after editing a
primitive here, clear the cache (``benchmarks/compile_time.py`` does, or
delete ``src/negsim/model/__pycache__/*.nb[ic]``), or the stages' kernels
keep the primitive as it was compiled into them.
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
def _clip(x: float, low: float, high: float) -> float:
    """np.clip of one number (minimum(maximum(x, low), high); NaN stays NaN)."""
    return _minimum(_maximum(x, low), high)

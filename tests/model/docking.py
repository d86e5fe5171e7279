"""What the docking tests of the compiled kernels share: tolerances and scrambled models.

Each compiled kernel (`negsim.model.compiled` says where each lives) must
compute what its numpy reference computes: to 1e-12 relative on random
inputs of every shape and branch, and to 1e-9 through the whole model on the
bundled scenarios (the step's numbers do not depend on whether it is
compiled). Each stage's docking tests are in its own test module
(test_fighting.py, test_coalition.py, test_beliefs_patrons.py,
test_talks.py; the whole model's in test_world.py, the shared primitives'
in test_compiled.py); this module (imported as ``from docking import ...``:
pytest puts this folder on ``sys.path``) holds what they share. Speed is
measured in benchmarks/, never asserted.

Why a tolerance and not the bits: a kernel runs its reference's formulas in
its reference's order, but not the same machine code, and the last bits of
the same formula depend on the CPU. numpy's float64 exp, log, pow and cosh
are its own vectorised code on AVX-512 (SVML, a few ULP) where numba calls
the C library; `np.matmul` is OpenBLAS's kernel for the CPU at hand, each
summing in its own order; numpy and OpenBLAS built for ARM or with FMA
contract multiply-adds that numba (no fastmath) does not. On an AVX-512 EPYC
the fighting stage's forces differ by 2-4 ULP (relative 9.2e-16), and here,
with OpenBLAS forced to its SSE kernels (`OPENBLAS_CORETYPE=Nehalem`, a step
of .ci/run), by up to 3e-15. Bit for bit is asserted only where the bits are
specified: integer arithmetic and IEEE additions in a fixed order (numpy's
pairwise sum, the PCG64 streams and their ziggurat draws), and the same
compiled code run twice (aliased outputs, forked workers).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from negsim.model.world import ConflictModel
from negsim.scenario import load

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"

# A week's kernel against its reference: ~30 operations, each within half an
# ULP (1.1e-16) on either side, and a few ULP more from a vectorised libm or
# another BLAS kernel; 1e-12 leaves three orders of magnitude of room and still
# catches any wrong term, grouping or branch (those move results by 1e-6 and more).
DOCKED = 1e-12
# A whole run: ~70 weeks of feedback (forces, control and beliefs feed the next
# week) let the last-bit differences grow, so the bound is looser; a branch
# taken differently (a talks round decided on the other side of a threshold)
# would still move a replication's numbers by far more than this.
DOCKED_RUN = 1e-9


def assert_docked(
    got: np.ndarray, expected: np.ndarray, name: str = "", rtol: float = DOCKED
) -> None:
    """A kernel's result against its reference's: to ``rtol`` of each value or of the array's scale.

    Relative, because the two may differ in the last bits (the module's
    docstring says why), and a bound of 1e-12 absolute is 2 ULP for forces in
    the thousands. The absolute part, ``rtol`` times the array's largest
    value, is for values that come out of a cancellation: a difference of two
    numbers in the thousands that is near zero carries their error, not its
    own. A float32 result (the recorded series) may round to either of two
    neighbours, so its bound is at least 2 float32 ULP. Decisions (booleans,
    integers) must agree exactly.
    """
    got, expected = np.asarray(got), np.asarray(expected)
    if not np.issubdtype(expected.dtype, np.floating):
        assert np.array_equal(got, expected), name
        return
    rtol = max(rtol, 2 * float(np.finfo(expected.dtype).eps))
    finite = np.abs(expected[np.isfinite(expected)])
    scale = float(finite.max()) if finite.size else 0.0
    np.testing.assert_allclose(
        got, expected, rtol=rtol, atol=rtol * scale, equal_nan=True, err_msg=name
    )


def seeded_streams(seed: int, count: int) -> list[np.random.Generator]:
    """``count`` PCG64 streams seeded from ``seed`` (the kernels draw from copies of their states)."""
    return [np.random.Generator(np.random.PCG64(seed * 1000 + k)) for k in range(count)]


def scrambled(name: str, seed: int, size: int = 300) -> ConflictModel:
    """A model of a bundled scenario with its cohesion inputs drawn at random, edge cases included."""
    rng = np.random.default_rng(seed)
    model = ConflictModel(load(SCENARIOS / f"{name}.yaml").scenario, replications=size, seed=seed)
    for faction in model.opposition.factions:
        faction.cohesion = rng.random(size)
        leader = faction.leader
        leader.authority = rng.random(size)
        leader.crisis_weeks = np.where(rng.random(size) < 0.3, 0.0, rng.uniform(1, 20, size))
        leader.crisis_left = np.where(rng.random(size) < 0.3, 0.0, rng.uniform(0, 25, size))
        leader.ties = rng.random(leader.ties.shape) * (rng.random(leader.ties.shape) < 0.7)
        leader.moderation = rng.random(size)
    for key in model.opposition_patron_keys:
        model.patrons[key].commitment = rng.random(size) * (rng.random(size) < 0.6)
    for patron in model.patrons.values():
        patron.capacity = rng.uniform(0, 500, size)
        patron.responsiveness = rng.uniform(0, 3, size)
        patron.direct = rng.uniform(0, 200, size) * (rng.random(size) < 0.3)
    model.signal = rng.random(size)
    model.forces[:] = rng.uniform(0, 3000, model.forces.shape) * (
        rng.random(model.forces.shape) < 0.8
    )
    model.strength[:] = rng.uniform(0, 3000, model.strength.shape) * (
        rng.random(model.strength.shape) < 0.8
    )
    model.opposition.hurt = rng.uniform(0, 0.1, size)
    model.opposition.cohesion = rng.random(size)
    return model


def scrambled_talks(name: str, seed: int, size: int = 400) -> ConflictModel:
    """`scrambled`, with the talks' and the sides' state drawn at random too."""
    rng = np.random.default_rng(seed + 100)
    model = scrambled(name, seed, size)
    talks = model.talks
    for party in (model.government, model.opposition):
        party.expected = rng.random(size)
        party.hurt = rng.uniform(0, 0.05, size)
        party.position = rng.random(size)
    talks.offer, talks.demand = rng.random(size), rng.random(size)
    talks.trust = rng.random(size)
    talks.stage = rng.integers(0, 5, size).astype(float)
    for flag in (
        "round_open",
        "was_in_session",
        "in_force",
        "agreed",
        "broke",
        "suspended",
        "left_government",
        "left_opposition",
    ):
        setattr(talks, flag, rng.random(size) < 0.4)
    # Suspended rounds that may resume at week 5 and some that may not yet.
    talks.resume_week = rng.integers(-1, 9, size).astype(float)
    talks.ceasefire_until = rng.integers(-1, 12, size).astype(float)
    talks.settlement = np.where(rng.random(size) < 0.5, rng.random(size), np.nan)
    talks.range_first = np.where(rng.random(size) < 0.5, rng.random(size), np.nan)
    talks.agreement_week = np.where(rng.random(size) < 0.7, np.nan, 3.0)
    model.momentum = rng.normal(0, 0.02, size)
    model.power_shift = rng.normal(0, 0.01, size)
    model.ceasefire_in_force = rng.random(size) < 0.3
    # What a ceasefire leaves of the fighting and the strength outside it (the
    # fraying hazard), and the weights of signing and fraying on wide ranges.
    model.fighting_rate = rng.random(size)
    model.outside_share = rng.uniform(0, 0.5, size)
    model.parameters["ceasefire_gain_weight"] = rng.uniform(0, 3, size)
    model.parameters["ceasefire_shift_weight"] = rng.uniform(0, 20, size)
    model.parameters["ceasefire_violation_weight"] = rng.uniform(0, 0.5, size)
    # Some replications decide on the step of ratification (spread 0), some in a flash.
    spread = model.parameters["ratification_spread"]
    model.parameters["ratification_spread"] = np.where(rng.random(size) < 0.3, 0.0, spread)
    model.parameters["implementation_hazard"] = rng.uniform(0, 0.5, size)
    # The talks rework's constants on their whole ranges (a wide tolerance in
    # some replications, so comparisons fall inside it).
    model.parameters["mediator_insight"] = rng.random(size)
    model.parameters["resumption_rate"] = rng.random(size)
    model.parameters["cooling_off_weeks"] = rng.integers(0, 4, size).astype(float)
    model.parameters["bargaining_tolerance"] = np.where(rng.random(size) < 0.3, 0.05, 1e-9)
    # Leader removal at the table: factions outside the coalition, hardliners'
    # outbidding, a fragmentation share that binds, parity off its default.
    for faction in model.opposition.factions:
        faction.member = rng.random(size) < 0.7
    model.outbidding = np.where(rng.random(size) < 0.5, rng.random(size), 0.0)
    model.parameters["fragmentation_share"] = rng.uniform(0, 0.8, size)
    model.parameters["patron_parity"] = rng.uniform(0.3, 0.7, size)
    return model

"""Docking tests of the compiled kernels against their numpy references.

Each kernel of `negsim.model.kernels` must compute what its reference
function computes: to 1e-12 relative on random inputs of every shape and
branch, and to 1e-9 through the whole model on the bundled scenarios (the
step's numbers do not depend on whether it is compiled). Speed is measured
in benchmarks/, never asserted here.

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

import multiprocessing
from pathlib import Path

import numpy as np
import pytest

from negsim.model import fighting, kernels
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


def _assert_docked(
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


# ------------------------------------------------------- pairwise summation


@pytest.mark.parametrize("n", [*range(1, 20), 31, 64, 100, 127, 128])
def test_pairwise_sum_is_numpys_sum_of_a_contiguous_axis(n):
    # Bit for bit: additions only, each correctly rounded by IEEE 754 on every
    # CPU, so the same order gives the same bits; this test holds the order.
    rng = np.random.default_rng(n)
    values = rng.random((200, n)) * rng.choice([1e-8, 1.0, 1e8], size=(200, n))
    expected = values.sum(axis=-1)
    got = np.array([kernels._pairwise_sum(row, 0, n) for row in values])
    assert np.array_equal(got, expected)


def test_pairwise_sum_of_a_slice():
    values = np.random.default_rng(1).random(40)
    assert kernels._pairwise_sum(values, 5, 30) == values[5:35].sum()


# ------------------------------------------------------------------ draws


@pytest.mark.parametrize("seed", [0, 1, 20160129])
def test_standard_normals_are_numpys_draws(seed):
    # Bit for bit: PCG64 is integer arithmetic, a ziggurat draw is a table
    # value times a 53-bit integer, and its rare wedge and tail draws call the
    # C library's exp and log1p in numpy's random module and in numba alike.
    # 2 x 10^5 draws a stream: the wedges (~0.7 %) and the tail (~0.03 %) are hit too.
    generators = _streams(seed, 3)
    states = kernels.pcg64_states(generators)
    for _ in range(2):  # and the stream goes on where numpy's would
        got = np.empty((3, 200_000))
        kernels.standard_normals(states, got)
        expected = np.stack([g.standard_normal(200_000) for g in generators])
        assert np.array_equal(got, expected)
    assert (np.abs(expected) > 3.6541528853610088).any()  # the tail was drawn


def test_standard_normal_from_the_models_seeded_streams():
    # SeedSequence-seeded streams, as `Streams` makes them, and a block of 1.
    sequence = np.random.SeedSequence(7, spawn_key=(3, 11, 12))
    generator = np.random.Generator(np.random.PCG64(sequence))
    twin = np.random.Generator(np.random.PCG64(np.random.SeedSequence(7, spawn_key=(3, 11, 12))))
    states = kernels.pcg64_states([generator])
    got = [kernels.standard_normal(states, 0) for _ in range(1000)]
    assert got == list(twin.standard_normal(1000))


def test_pcg64_states_refuse_other_bit_generators():
    with pytest.raises(TypeError, match="not PCG64"):
        kernels.pcg64_states([np.random.Generator(np.random.MT19937(1))])


# -------------------------------------------------------------- fight_week


def _streams(seed: int, count: int) -> list[np.random.Generator]:
    return [np.random.Generator(np.random.PCG64(seed * 1000 + k)) for k in range(count)]


def _stream_draws(seed: int, size: int, regions: int, n: int) -> np.ndarray:
    """The noise (R, regions, combatants) that the streams of ``seed`` draw, as the model does."""
    draws = np.stack([g.standard_normal(size) for g in _streams(seed, regions * n)])
    return np.ascontiguousarray(draws.reshape(regions, n, size).transpose(2, 0, 1))


def _reference(week: dict) -> tuple[np.ndarray, ...]:
    return fighting.fight_week(**{k: v for k, v in week.items() if k != "noise_seed"})


def _random_week(
    rng: np.random.Generator,
    size: int,
    regions: int,
    n: int,
    *,
    spoilers: int,
    decisiveness: float,
    centred: bool,
    recruit: bool,
) -> dict:
    """Random inputs of the fighting stage, with the branches the model can take."""
    control = rng.random((size, regions, n)) * (rng.random((size, regions, n)) < 0.6)
    # Some regions nobody holds, the rest normalised.
    noise_seed = int(rng.integers(2**31))
    totals = control.sum(axis=-1, keepdims=True)
    control = np.divide(control, totals, out=np.zeros_like(control), where=totals > 0)
    written_map = control[rng.permutation(size)]
    adjacency = np.triu((rng.random((regions, regions)) < 0.4).astype(float), 1)
    adjacency = adjacency + adjacency.T
    forces = rng.uniform(0.0, 5000.0, (size, n)) * (rng.random((size, n)) < 0.9)
    # A truce by region (one aimed at named enemies) with its fire held apart.
    truce = np.where(rng.random((size, regions, n)) < 0.2, rng.random((size, regions, n)), 1.0)
    fire_truce = np.where(rng.random((size, n)) < 0.2, rng.random((size, n)), 1.0)
    offensive = np.where(rng.random((size, regions, n)) < 0.1, 1.0 + rng.random(), 1.0)
    columns = rng.permutation(n)
    government = int(columns[0])
    spoiler_columns = np.sort(columns[1 : 1 + spoilers]).astype(np.int64)
    factions = np.sort(columns[1 + spoilers :]).astype(np.int64)
    return {
        "forces": forces,
        "support": rng.uniform(0.0, 500.0, (size, n)),
        "escalation": np.where(rng.random((size, n)) < 0.2, 1.5, 1.0),
        "control": control,
        "written_map": written_map,
        "baseline_shares": rng.dirichlet(np.ones(n), (size, regions)) if centred else None,
        "adjacency": adjacency,
        "value": rng.uniform(0.5, 3.0, regions),
        "offensive": offensive,
        "truce": truce,
        "fire_truce": fire_truce,
        "noise": _stream_draws(noise_seed, size, regions, n),
        "noise_seed": noise_seed,  # the kernel draws the same noise from these streams
        "reach": rng.uniform(0.0, 0.5, size),
        "sigma": rng.uniform(0.0, 0.5, size),
        "decisiveness": np.full(size, decisiveness),
        # By region: a ceasefire holds the fronts only where those it binds fight.
        "rate": rng.uniform(0.0, 0.2, (size, regions)) * (rng.random((size, regions)) < 0.9),
        "effectiveness": rng.uniform(0.0, 0.05, size) * (rng.random(size) < 0.9),
        "government": government,
        "factions": factions,
        "spoilers": spoiler_columns,
        "recruitment": rng.uniform(0.0, 0.1, (size, n)),
        "base_forces": rng.uniform(0.0, 6000.0, (size, n)),
        "recruit": recruit,
        "spoiler_effectiveness": rng.uniform(0.0, 0.05, (size, spoilers)),
    }


def _compiled(week: dict, *, aliased: bool = False) -> tuple[np.ndarray, ...]:
    size, regions, n = week["control"].shape
    forces, control = week["forces"].copy(), week["control"].copy()
    out = (
        np.empty((size, n)),
        control if aliased else np.empty((size, regions, n)),
        np.empty((size, regions, n)),
        forces if aliased else np.empty((size, n)),
        np.empty((size, n)),
        *(np.empty(size) for _ in range(4)),
    )
    centred = week["baseline_shares"] is not None
    kernels.fight_week(
        forces,
        week["support"],
        week["escalation"],
        control,
        week["written_map"],
        week["baseline_shares"] if centred else control,
        centred,
        week["adjacency"],
        week["value"],
        week["offensive"],
        week["truce"],
        week["fire_truce"],
        kernels.pcg64_states(_streams(week["noise_seed"], regions * n)),
        week["reach"],
        week["sigma"],
        week["decisiveness"],
        week["rate"],
        week["effectiveness"],
        week["government"],
        week["factions"],
        week["spoilers"],
        week["recruitment"],
        week["base_forces"],
        week["recruit"],
        week["spoiler_effectiveness"],
        *out,
    )
    return out


NAMES = (
    "strength",
    "control",
    "shares",
    "forces",
    "losses",
    "blue",
    "red",
    "blue_lost",
    "red_lost",
)


@pytest.mark.parametrize(
    ("regions", "n", "spoilers", "decisiveness", "centred", "recruit"),
    [
        (9, 6, 2, 1.0, True, True),  # geneva3's shape
        (9, 6, 2, 1.0, False, False),  # the spin-up: fronts and forces held
        (4, 3, 0, 1.0, True, True),
        (7, 5, 1, 2.5, True, True),
        (12, 9, 3, 0.6, True, False),  # >= 8 combatants: numpy sums pairwise
        (1, 2, 0, 1.0, False, True),
        (20, 10, 1, 1.0, True, True),  # >= 8 regions in the spoilers' sum
    ],
)
def test_fight_week_docks_with_the_numpy_reference(
    regions, n, spoilers, decisiveness, centred, recruit
):
    rng = np.random.default_rng(regions * 100 + n)
    week = _random_week(
        rng,
        300,
        regions,
        n,
        spoilers=spoilers,
        decisiveness=decisiveness,
        centred=centred,
        recruit=recruit,
    )
    before = {k: v.copy() for k, v in week.items() if isinstance(v, np.ndarray)}
    expected = _reference(week)
    for key, value in before.items():
        assert np.array_equal(week[key], value), f"the reference modified {key}"
    got = _compiled(week)
    for name, e, g in zip(NAMES, expected, got, strict=True):
        _assert_docked(g, e, name)


def test_fight_week_outputs_may_alias_inputs():
    week = _random_week(
        np.random.default_rng(5),
        200,
        9,
        6,
        spoilers=2,
        decisiveness=1.0,
        centred=True,
        recruit=True,
    )
    # Bit for bit: the same compiled code on the same inputs.
    for fresh, aliased in zip(_compiled(week), _compiled(week, aliased=True), strict=True):
        assert np.array_equal(fresh, aliased)


def test_fight_week_extreme_decisiveness_takes_the_rescaled_path():
    # x^m overflows for m = 200 and efforts in the thousands: the contest is
    # computed from x / max(x), in both implementations.
    week = _random_week(
        np.random.default_rng(9),
        100,
        5,
        4,
        spoilers=0,
        decisiveness=200.0,
        centred=True,
        recruit=True,
    )
    expected = _reference(week)
    got = _compiled(week)
    assert np.isfinite(got[2]).all()
    _assert_docked(got[2], expected[2], "shares")


# ------------------------------------------------------------- whole model


def _state(model: ConflictModel) -> dict[str, np.ndarray]:
    arrays = {k: v for k, v in vars(model).items() if isinstance(v, np.ndarray)}
    arrays |= {
        f"{a.key}.{k}": v
        for a in model.agents
        for k, v in vars(a).items()
        if isinstance(v, np.ndarray)
    }
    arrays["timeseries"] = model.recorder.values
    # The draws' buffer (numpy) or the streams' states (compiled): the same draws.
    arrays.pop("_noise", None)
    arrays.pop("_noise_streams", None)
    return arrays


@pytest.mark.parametrize("name", ["geneva3", "ripeness", "aceh"])
def test_compiled_step_gives_the_numpy_steps_numbers(name, monkeypatch):
    scenario = load(SCENARIOS / f"{name}.yaml").scenario
    monkeypatch.setattr(ConflictModel, "compiled_step", False)
    reference = _state(ConflictModel(scenario, replications=64, seed=7).run())
    monkeypatch.setattr(ConflictModel, "compiled_step", True)
    compiled = _state(ConflictModel(scenario, replications=64, seed=7).run())
    assert reference.keys() == compiled.keys()
    for key in reference:
        _assert_docked(compiled[key], reference[key], key, rtol=DOCKED_RUN)


def _run_in_child(queue) -> None:
    scenario = load(SCENARIOS / "geneva3.yaml").scenario
    queue.put(ConflictModel(scenario, replications=16, seed=3).run().recorder.values)


def test_forked_workers_run_the_compiled_step():
    # ProcessExecutor forks after the parent has compiled (or loaded) the kernels.
    scenario = load(SCENARIOS / "geneva3.yaml").scenario
    parent = ConflictModel(scenario, replications=16, seed=3).run().recorder.values
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_run_in_child, args=(queue,))
    child.start()
    data = queue.get(timeout=120)
    child.join(timeout=60)
    assert child.exitcode == 0
    assert np.array_equal(data, parent)  # the same compiled code: the same bits


# -------------------------------------------------------------- recording


@pytest.mark.parametrize("shape", [(500, 9, 6), (40, 1, 2), (30, 140, 5)])
def test_territory_by_combatant_is_the_recorders_numpy(shape):
    rng = np.random.default_rng(sum(shape))
    control = rng.random(shape) * (rng.random(shape) < 0.7)
    value_share = rng.random(shape[1])
    value_share /= value_share.sum()
    expected = (control * value_share[None, :, None]).sum(axis=1).T.astype(np.float32)
    # Written into rows of a (metric, week, R) array, as the recorder does.
    values = np.zeros((shape[2] + 3, 4, shape[0]), dtype=np.float32)
    kernels.territory_by_combatant(control, value_share, values[1 : 1 + shape[2], 2, :])
    # Bit for bit: one product per term (no multiply-add to contract: numpy
    # multiplies in one pass and sums in another) and a sum along a strided
    # axis, which numpy takes left to right, as the kernel does.
    assert np.array_equal(values[1 : 1 + shape[2], 2, :], expected)
    assert not values[:, [0, 1, 3], :].any() and not values[0].any()


# ---------------------------------------------------------------- stage 5


def _scrambled(name: str, seed: int, size: int = 300) -> ConflictModel:
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


def _cohesion_state(model: ConflictModel) -> list[np.ndarray]:
    opposition = model.opposition
    return [opposition.cohesion] + [
        array for f in opposition.factions for array in (f.cohesion, f.leader.crisis_left)
    ]


@pytest.mark.parametrize(("name", "seed"), [("geneva3", 1), ("geneva3", 2), ("aceh", 3)])
def test_cohesion_week_docks_with_the_numpy_reference(name, seed):
    compiled = _scrambled(name, seed)
    reference = _scrambled(name, seed)
    reference.compiled = False
    compiled.opposition.update_cohesion()
    reference.opposition.update_cohesion()
    for got, expected in zip(_cohesion_state(compiled), _cohesion_state(reference), strict=True):
        _assert_docked(got, expected)


# ----------------------------------------------------- stage 3, what it leaves


@pytest.mark.parametrize("decisiveness", [1.0, 0.6, 2.5, 200.0])
def test_contest_share_is_tullock_shares_of_two(decisiveness):
    rng = np.random.default_rng(int(decisiveness * 10))
    x = rng.uniform(0, 5000, 2000) * (rng.random(2000) < 0.8)
    y = rng.uniform(0, 5000, 2000) * (rng.random(2000) < 0.8)
    x[:5] = [1e-200, 1e200, 0.0, 3.0, 1e-310]  # extremes: the rescaled path
    y[:5] = [1e-210, 1e190, 0.0, 0.0, 1e-305]
    expected = fighting.tullock_shares(np.stack([x, y], axis=-1), decisiveness)[:, 0]
    got = np.array([kernels._contest_share(a, b, decisiveness) for a, b in zip(x, y, strict=True)])
    _assert_docked(got, expected)


# ---------------------------------------------------------------- stage 2


@pytest.mark.parametrize(("name", "seed"), [("geneva3", 4), ("geneva3", 5), ("ripeness", 6)])
def test_supply_week_docks_with_the_patrons_own_supply(name, seed):
    compiled = _scrambled(name, seed)
    reference = _scrambled(name, seed)
    reference.compiled = False
    compiled._supply()
    reference._supply()
    pairs = [(compiled.support, reference.support)] + [
        (compiled.patrons[k].support, reference.patrons[k].support) for k in compiled.patrons
    ]
    for got, expected in pairs:
        _assert_docked(got, expected)
    assert compiled.support.any()


# ---------------------------------------------------------------- stage 6


def _scrambled_talks(name: str, seed: int, size: int = 400) -> ConflictModel:
    """`_scrambled`, with the talks' and the sides' state drawn at random too."""
    rng = np.random.default_rng(seed + 100)
    model = _scrambled(name, seed, size)
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


def _talks_state(model: ConflictModel) -> dict[str, np.ndarray]:
    talks = model.talks
    # Its state (not the compiled step's cache of the parameters, `_parameters`).
    arrays = {
        k: v for k, v in vars(talks).items() if isinstance(v, np.ndarray) and not k.startswith("_")
    }
    for party in (model.government, model.opposition):
        for field in ("expected_cost", "endorsement", "willingness"):
            arrays[f"{party.key}.{field}"] = getattr(party, field)
    arrays["ripeness"] = model.ripeness
    for event in model.events:  # a collapse ends ceasefire events
        arrays[f"{event.spec.id}.duration"] = event.duration
    return arrays


@pytest.mark.parametrize(
    ("name", "seed", "proposer"),
    [("geneva3", 7, "government"), ("geneva3", 8, "opposition"), ("ripeness", 9, "government")],
)
@pytest.mark.parametrize("in_session", [False, True])
def test_talks_week_docks_with_the_numpy_reference(name, seed, proposer, in_session):
    compiled = _scrambled_talks(name, seed)
    reference = _scrambled_talks(name, seed)
    reference.compiled = False
    size = compiled.size
    session = np.random.default_rng(seed).random(size) < (0.8 if in_session else 0.1)
    leverage = np.random.default_rng(seed + 1).random(size)
    bias = np.random.default_rng(seed + 2).normal(0, 0.1, size)
    for model in (compiled, reference):
        model.first_proposer = proposer
        model.week = 5
        model.talks.step(5, session, leverage, bias)
    got, expected = _talks_state(compiled), _talks_state(reference)
    assert got.keys() == expected.keys()
    for key in expected:
        _assert_docked(got[key], expected[key], key)
    # The branches were taken: agreements, walkouts, ceasefires and breakdowns.
    states = set(np.unique(compiled.talks.state)) if in_session else {0.0}
    assert {0.0} <= states
    if in_session:
        assert {1.0, 3.0, 4.0} <= states, states
        assert compiled.talks.resumptions.sum() > 0
    assert compiled.talks.ceasefire_collapsed.any()

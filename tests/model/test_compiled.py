"""The compiled primitives every stage's kernel shares (`negsim.model.compiled`).

numpy's pairwise summation order and its PCG64 standard normals, bit for bit
(``docking.py`` says why these bits are specified on every CPU).
"""

from __future__ import annotations

import numpy as np
import pytest
from docking import seeded_streams

from negsim.model import compiled

# ------------------------------------------------------- pairwise summation


@pytest.mark.parametrize("n", [*range(1, 20), 31, 64, 100, 127, 128])
def test_pairwise_sum_is_numpys_sum_of_a_contiguous_axis(n):
    # Bit for bit: additions only, each correctly rounded by IEEE 754 on every
    # CPU, so the same order gives the same bits; this test holds the order.
    rng = np.random.default_rng(n)
    values = rng.random((200, n)) * rng.choice([1e-8, 1.0, 1e8], size=(200, n))
    expected = values.sum(axis=-1)
    got = np.array([compiled._pairwise_sum(row, 0, n) for row in values])
    assert np.array_equal(got, expected)


def test_pairwise_sum_of_a_slice():
    values = np.random.default_rng(1).random(40)
    assert compiled._pairwise_sum(values, 5, 30) == values[5:35].sum()


# ------------------------------------------------------------------ draws


@pytest.mark.parametrize("seed", [0, 1, 20160129])
def test_standard_normals_are_numpys_draws(seed):
    # Bit for bit: PCG64 is integer arithmetic, a ziggurat draw is a table
    # value times a 53-bit integer, and its rare wedge and tail draws call the
    # C library's exp and log1p in numpy's random module and in numba alike.
    # 2 x 10^5 draws a stream: the wedges (~0.7 %) and the tail (~0.03 %) are hit too.
    generators = seeded_streams(seed, 3)
    states = compiled.pcg64_states(generators)
    for _ in range(2):  # and the stream goes on where numpy's would
        got = np.empty((3, 200_000))
        compiled.standard_normals(states, got)
        expected = np.stack([g.standard_normal(200_000) for g in generators])
        assert np.array_equal(got, expected)
    assert (np.abs(expected) > 3.6541528853610088).any()  # the tail was drawn


def test_standard_normal_from_the_models_seeded_streams():
    # SeedSequence-seeded streams, as `Streams` makes them, and a block of 1.
    sequence = np.random.SeedSequence(7, spawn_key=(3, 11, 12))
    generator = np.random.Generator(np.random.PCG64(sequence))
    twin = np.random.Generator(np.random.PCG64(np.random.SeedSequence(7, spawn_key=(3, 11, 12))))
    states = compiled.pcg64_states([generator])
    got = [compiled.standard_normal(states, 0) for _ in range(1000)]
    assert got == list(twin.standard_normal(1000))


def test_pcg64_states_refuse_other_bit_generators():
    with pytest.raises(TypeError, match="not PCG64"):
        compiled.pcg64_states([np.random.Generator(np.random.MT19937(1))])

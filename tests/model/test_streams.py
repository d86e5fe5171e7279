"""Named random streams: seeded by (seed, chunk, name), never by creation order."""

from __future__ import annotations

import hashlib

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from negsim.model.streams import Streams
from negsim.scenario.distributions import Beta, Normal, Triangular, Uniform

names = st.text(min_size=1, max_size=30)
seeds = st.integers(0, 2**63 - 1)


def reference_generator(seed: int, chunk: int, name: str) -> np.random.Generator:
    """The documented derivation, written out independently of the module."""
    digest = hashlib.sha256(name.encode("utf-8")).digest()
    key = (chunk, int.from_bytes(digest[:4], "little"), int.from_bytes(digest[4:8], "little"))
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=key)))


@settings(max_examples=50)
@given(seeds, st.integers(0, 1000), names, st.integers(1, 20))
def test_stream_follows_the_documented_seeding(seed, chunk, name, size):
    streams = Streams(seed, chunk, size)
    expected = reference_generator(seed, chunk, name)
    np.testing.assert_array_equal(streams.uniform(name), expected.random(size))
    np.testing.assert_array_equal(streams.normal(name), expected.standard_normal(size))


def test_each_draw_is_a_full_block_of_r_values():
    streams = Streams(3, 0, 17)
    assert streams.uniform("a").shape == (17,)
    assert streams.normal("b").shape == (17,)
    assert streams.parameter("c", 0.3).shape == (17,)


def test_same_seed_chunk_and_name_give_the_same_draws():
    first, second = Streams(11, 2, 5), Streams(11, 2, 5)
    for _ in range(3):
        np.testing.assert_array_equal(first.uniform("x"), second.uniform("x"))
        np.testing.assert_array_equal(first.normal("y"), second.normal("y"))


def test_seed_chunk_and_name_each_change_the_draws():
    base = Streams(11, 2, 5).uniform("x")
    assert not np.array_equal(base, Streams(12, 2, 5).uniform("x"))
    assert not np.array_equal(base, Streams(11, 3, 5).uniform("x"))
    assert not np.array_equal(base, Streams(11, 2, 5).uniform("x2"))


@settings(max_examples=30)
@given(st.lists(names, min_size=2, max_size=6, unique=True), st.randoms())
def test_draws_do_not_depend_on_creation_order_or_other_streams(stream_names, random):
    """Creating or drawing other streams in between shifts nothing (common random numbers)."""
    alone = {name: Streams(5, 0, 4) for name in stream_names}
    expected = {name: [alone[name].uniform(name) for _ in range(3)] for name in stream_names}
    shared = Streams(5, 0, 4)
    order = [name for name in stream_names for _ in range(3)]
    random.shuffle(order)
    seen: dict[str, list[np.ndarray]] = {name: [] for name in stream_names}
    for name in order:
        seen[name].append(shared.uniform(name))
    for name in stream_names:
        for got, want in zip(seen[name], expected[name], strict=True):
            np.testing.assert_array_equal(got, want)


def test_parameter_fixed_value_fills_the_block_and_still_consumes_draws():
    streams = Streams(1, 0, 6)
    np.testing.assert_array_equal(streams.parameter("p", 0.25), np.full(6, 0.25))
    # The fixed value used one block of its own stream ...
    reference = reference_generator(1, 0, "parameter:p")
    reference.random(6)
    np.testing.assert_array_equal(streams.generator("parameter:p").random(6), reference.random(6))
    # ... and the parameter stream is not the stream of the same name.
    np.testing.assert_array_equal(streams.uniform("p"), reference_generator(1, 0, "p").random(6))


def test_parameter_uniform_is_the_documented_transform():
    streams = Streams(9, 1, 1000)
    value = Uniform.model_validate({"uniform": {"low": 0.2, "high": 0.6}})
    drawn = streams.parameter("u", value)
    u = reference_generator(9, 1, "parameter:u").random(1000)
    np.testing.assert_allclose(drawn, 0.2 + 0.4 * u)


def test_parameter_distributions_stay_in_their_support():
    streams = Streams(4, 0, 2000)
    cases = {
        "uniform": (Uniform.model_validate({"uniform": {"low": 0.02, "high": 0.06}}), 0.02, 0.06),
        "normal": (
            Normal.model_validate({"normal": {"mean": 0.8, "sd": 0.3, "low": 0.0, "high": 1.0}}),
            0.0,
            1.0,
        ),
        "beta": (Beta.model_validate({"beta": {"a": 4, "b": 5}}), 0.0, 1.0),
        "triangular": (
            Triangular.model_validate({"triangular": {"low": 0.6, "mode": 0.8, "high": 0.95}}),
            0.6,
            0.95,
        ),
    }
    for name, (distribution, low, high) in cases.items():
        drawn = streams.parameter(name, distribution)
        assert drawn.shape == (2000,)
        assert np.all((drawn >= low) & (drawn <= high)), name
        assert drawn.std() > 0, name
    # Beta(4, 5) has mean 4/9.
    assert abs(streams.parameter("beta2", cases["beta"][0]).mean() - 4 / 9) < 0.02


def test_normals_into_a_buffer_are_the_streams_own_draws():
    names = [f"fighting:{region}:{actor}" for region in "ab" for actor in "xyz"]
    buffered, plain = Streams(7, 2, 13), Streams(7, 2, 13)
    out = np.empty((len(names), 13))
    generators = [buffered.generator(name) for name in names]
    for _ in range(3):  # week after week, the same buffer
        buffered.normals_into(generators, out)
        expected = np.stack([plain.normal(name) for name in names])
        np.testing.assert_array_equal(out, expected)

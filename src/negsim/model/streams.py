"""Named random streams: the only source of randomness of the model.

Each (purpose, entity) pair has its own generator, seeded from the scenario
seed, the chunk index and the *name* (never creation order), with
``numpy.random.SeedSequence``. Every draw is a full block of R values, one
per replication, whatever happens in other replications. So two variants
share common random numbers: removing an event, a leader or an actor leaves
every other stream's draws unchanged.
"""

from __future__ import annotations

import hashlib

import numpy as np

from negsim.scenario.distributions import Distribution, draw


def _name_key(name: str) -> tuple[int, int]:
    digest = hashlib.sha256(name.encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "little"), int.from_bytes(digest[4:8], "little")


class Streams:
    """Generators by name for one chunk of R replications."""

    def __init__(self, seed: int, chunk: int, size: int):
        self.seed = seed
        self.chunk = chunk
        self.size = size
        self._generators: dict[str, np.random.Generator] = {}
        # Every scenario number as drawn, by name: runs.csv's `input.<path>` columns read them.
        self.drawn: dict[str, np.ndarray] = {}

    def generator(self, name: str) -> np.random.Generator:
        """The generator of stream ``name`` (created on first use)."""
        generator = self._generators.get(name)
        if generator is None:
            sequence = np.random.SeedSequence(self.seed, spawn_key=(self.chunk, *_name_key(name)))
            generator = np.random.Generator(np.random.PCG64(sequence))
            self._generators[name] = generator
        return generator

    def uniform(self, name: str) -> np.ndarray:
        """One uniform [0, 1) value per replication."""
        return self.generator(name).random(self.size)

    def normal(self, name: str) -> np.ndarray:
        """One standard normal value per replication."""
        return self.generator(name).standard_normal(self.size)

    def normals_into(self, generators: list[np.random.Generator], out: np.ndarray) -> np.ndarray:
        """One block of standard normals from each generator into the rows of ``out``.

        ``out`` has shape (len(generators), R), C-contiguous; row i gets the
        same draws as ``normal`` on generator i's stream would. Drawing into a
        buffer the caller keeps saves a temporary per stream and a copy per week.
        """
        for row, generator in zip(out, generators, strict=True):
            generator.standard_normal(out=row)
        return out

    def parameter(self, name: str, value: float | Distribution) -> np.ndarray:
        """A scenario number as one value per replication (fixed or drawn)."""
        values = draw(value, self.generator(f"parameter:{name}"), self.size)
        self.drawn[name] = values
        return values

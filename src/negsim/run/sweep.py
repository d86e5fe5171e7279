"""Sensitivity sweeps: designs over uncertain parameters, sample points as scenarios, their runs.

A sweep varies some numbers of a scenario (its *factors*) over ranges and,
at every sample point, simulates the variants its hypotheses compare.

- **Factors** come from the scenario's `uncertain` block, or, for a
  screening sweep (`negsim sweep --all`), from every number of the world the
  scenario describes (:func:`screening_factors`): the `uncertain` ranges where
  it gives them, else a default range around the value.
- **Designs** are drawn by SALib in the unit cube (Morris trajectories, a
  Sobol' sequence for Saltelli's estimators, or a Latin hypercube) and mapped
  to each factor's range or distribution through its inverse CDF
  (:func:`negsim.scenario.distributions.quantile`, the same function the
  model draws with). The unit-cube design is what SALib's analyzers read back.
- **Points become scenarios** through the loader's own machinery: the
  point's values are set by dotted path (:func:`negsim.scenario.loader.apply_set`)
  into the validated scenario's data, then every variant's edits apply
  (:func:`negsim.scenario.loader.apply_variant`) and each result is validated
  again. A variant that `set`s a swept path keeps its own value.
- **Runs** go through the ensemble's chunks and executors. Every point and
  every variant uses the same seed, so treatment and control share their
  random numbers within a point (the verdicts' pairing), and points share them
  too (differences between points are the parameters', not the dice's).
  A point's replications form one chunk (``min(chunk_size, runs)``): a
  sweep's base point is not byte-for-byte `negsim run --runs R`, whose chunks
  are the experiment's `chunk_size`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from pydantic import TypeAdapter, ValidationError

from negsim.errors import NegsimError
from negsim.run.ensemble import ChunkResult, ChunkTask, EnsembleResult, assemble, chunk_tasks
from negsim.run.ensemble import simulate_chunk as _simulate_chunk
from negsim.scenario.distributions import (
    AnyNumber,
    Distribution,
    Uniform,
    UniformArgs,
    bounds,
    quantile,
)
from negsim.scenario.loader import BASE, apply_set, apply_variant, set_in_copy
from negsim.scenario.references import check_references
from negsim.scenario.schema import Scenario
from negsim.scenario.uncertain import lookup, parameter_paths, sweep_range

METHODS = ("morris", "sobol", "lhs")
"""Sampling designs, each with its SALib analyzer (see `negsim.analysis.sensitivity`)."""

DEFAULT_SAMPLES = {"morris": 10, "sobol": 16, "lhs": 64}
"""``--samples`` by method: Morris trajectories, Sobol' base samples N, Latin hypercube points."""

SCREENING_RELATIVE = 0.5
"""A screened number varies over its value ± this share of it (clipped to what it accepts)."""
SCREENING_AT_ZERO = 0.25
"""...or ± this much where its value is 0."""

MORRIS_LEVELS = 4
"""Grid levels of the Morris design (SALib's default; Morris 1991 suggests 4 to 8)."""
UNBOUNDED_TAIL = 0.001
"""A distribution without bounds (a normal) is swept over its central 99.8 %."""

_NUMBER: TypeAdapter[Any] = TypeAdapter(AnyNumber)


@dataclass(frozen=True)
class Factor:
    """One swept number: its dotted path, what it varies over, and its value in the scenario."""

    path: str
    over: float | Distribution
    """The range or distribution the sweep draws it from."""
    base: float | None
    """The scenario's own value (a distribution's mean), None where it is unset."""
    source: str
    """`uncertain` (the scenario's block) or `screening` (a default range of `--all`)."""
    whole: bool = False
    """A whole-number parameter (e.g. `parameters.spinup_weeks`): values are rounded to integers."""

    @property
    def low(self) -> float:
        return sweep_range(self._spec())[0]

    @property
    def high(self) -> float:
        return sweep_range(self._spec())[1]

    def _spec(self) -> Any:
        return _NUMBER.dump_python(self.over)

    def values(self, unit: np.ndarray) -> np.ndarray:
        """The factor's values at unit-cube coordinates ``unit`` (inverse CDF)."""
        low, high = bounds(self.over)
        if not (math.isfinite(low) and math.isfinite(high)):
            unit = np.clip(unit, UNBOUNDED_TAIL, 1 - UNBOUNDED_TAIL)
        values = np.asarray(quantile(self.over, unit), dtype=float)
        return np.round(values) if self.whole else values

    def describe(self) -> dict[str, Any]:
        """A plain description (for the manifest and for resume checks)."""
        return {"path": self.path, "over": self._spec(), "base": self.base, "source": self.source}


def _base_value(value: Any) -> float | None:
    if value is None:
        return None
    from negsim.scenario.distributions import central

    return float(central(_NUMBER.validate_python(value)))


def uncertain_factors(scenario: Scenario) -> list[Factor]:
    """The factors of the scenario's `uncertain` block, in file order."""
    data = scenario.model_dump()
    factors = []
    for path, over in scenario.uncertain.items():
        _, value = lookup(data, path)
        factors.append(Factor(path, over, _base_value(value), "uncertain", _is_whole(value)))
    return factors


def _is_whole(value: Any) -> bool:
    """A number the schema keeps as an int (the validated data holds floats for the others)."""
    return isinstance(value, int) and not isinstance(value, bool)


def _accepts(data: dict[str, Any], path: str, value: float) -> bool:
    edited, problem = set_in_copy(data, path, value)
    if problem:
        return False
    try:
        Scenario.model_validate(edited)
    except ValidationError:
        return False
    return not check_references(edited, variant_only=True)


def screening_factors(scenario: Scenario) -> tuple[list[Factor], dict[str, str]]:
    """Every number of the world as a factor, and the numbers left out with the reason.

    A path in `uncertain` keeps its range; any other number varies over its
    value ± `SCREENING_RELATIVE` of it (± `SCREENING_AT_ZERO` at 0), each end
    pulled in to 0 or 1 where the parameter accepts no more (a share, a
    non-negative number). Left out: numbers given as distributions (already
    random per replication; name an argument in `uncertain` to vary it),
    numbers no range around the value can change alone (shares that must sum
    to 1), and unset ones.
    """
    data = scenario.model_dump()
    declared = {f.path: f for f in uncertain_factors(scenario)}
    factors: list[Factor] = []
    skipped: dict[str, str] = {}
    inside_distribution: list[str] = []
    for path, value in parameter_paths(data).items():
        if path in declared:
            factors.append(declared.pop(path))
            continue
        if isinstance(value, dict):
            skipped[path] = "a distribution (already random per replication)"
            inside_distribution.append(path + ".")
            continue
        if any(path.startswith(prefix) for prefix in inside_distribution):
            continue  # an argument of a distribution: vary it through `uncertain`
        base = float(value)
        half = abs(base) * SCREENING_RELATIVE if base != 0 else SCREENING_AT_ZERO
        low, high = base - half, base + half
        if not _accepts(data, path, low):
            low = 0.0 if low < 0 <= base and _accepts(data, path, 0.0) else base
        if not _accepts(data, path, high):
            high = 1.0 if high > 1 >= base and _accepts(data, path, 1.0) else base
        if not low < high:
            skipped[path] = "cannot change alone (e.g. shares that must sum to 1)"
            continue
        over = Uniform(uniform=UniformArgs(low=low, high=high))
        factors.append(Factor(path, over, base, "screening", _is_whole(value)))
    factors.extend(declared.values())  # `uncertain` paths to unset or distribution values
    return factors, skipped


# ----------------------------------------------------------------------- designs


@dataclass(frozen=True)
class Design:
    """Sample points: SALib's unit-cube design and the factors' values there."""

    method: str
    samples: int
    """N as given to SALib (Morris trajectories, Sobol' base samples, LHS points)."""
    seed: int
    factors: tuple[Factor, ...]
    unit: np.ndarray
    """(points, factors) in [0, 1]: what SALib sampled and its analyzers read."""
    values: np.ndarray
    """(points, factors): the factors' values at each point."""

    @property
    def points(self) -> int:
        return int(self.unit.shape[0])

    @property
    def names(self) -> list[str]:
        return [factor.path for factor in self.factors]

    def problem(self) -> dict[str, Any]:
        """SALib's problem definition of the unit cube."""
        return unit_problem(self.names)

    def point(self, index: int) -> dict[str, float]:
        """The values of sample ``index`` by path."""
        return {name: float(v) for name, v in zip(self.names, self.values[index], strict=True)}


def unit_problem(names: Sequence[str]) -> dict[str, Any]:
    """SALib's problem: every factor uniform on [0, 1] (mapped to its range afterwards)."""
    return {"num_vars": len(names), "names": list(names), "bounds": [[0.0, 1.0]] * len(names)}


def points_for(method: str, samples: int, factors: int) -> int:
    """How many sample points a design has (without drawing it)."""
    if method == "morris":
        return samples * (factors + 1)
    if method == "sobol":
        return samples * (factors + 2)
    return samples


def check_samples(method: str, samples: int, factors: int) -> None:
    """Raise `NegsimError` for a sample count the method cannot use."""
    if method not in METHODS:
        raise NegsimError(f"unknown method {method!r}; one of {', '.join(METHODS)}")
    if factors < 1:
        raise NegsimError("nothing to vary: no factors")
    smallest = {"morris": 2, "sobol": 2, "lhs": 4}[method]
    if samples < smallest:
        raise NegsimError(f"--samples: {method} needs at least {smallest} (got {samples})")
    if method == "sobol" and samples & (samples - 1):
        raise NegsimError(
            f"--samples: Sobol' sampling needs a power of 2 (got {samples}; "
            f"try {1 << (samples - 1).bit_length()})"
        )


def make_design(factors: Sequence[Factor], method: str, samples: int, seed: int) -> Design:
    """Draw the design with SALib (deterministic for a seed)."""
    check_samples(method, samples, len(factors))
    problem = unit_problem([f.path for f in factors])
    rng_seed = seed % (2**32)
    if method == "morris":
        from SALib.sample import morris

        unit = morris.sample(problem, samples, num_levels=MORRIS_LEVELS, seed=rng_seed)
    elif method == "sobol":
        from SALib.sample import sobol

        unit = sobol.sample(problem, samples, calc_second_order=False, seed=rng_seed)
    else:
        from SALib.sample import latin

        unit = latin.sample(problem, samples, seed=rng_seed)
    unit = np.asarray(unit, dtype=float)
    values = np.column_stack([f.values(unit[:, j]) for j, f in enumerate(factors)])
    return Design(method, samples, seed, tuple(factors), unit, values)


# ---------------------------------------------------------------- points -> runs


def point_scenarios(
    scenario: Scenario, values: Mapping[str, float], variants: Iterable[str]
) -> dict[str, Scenario]:
    """The scenario and the named variants with ``values`` set by dotted path.

    Raises:
        NegsimError: a value the scenario does not accept (one line).
    """
    data = scenario.model_dump()
    for path, value in values.items():
        _, current = lookup(data, path)
        problem = apply_set(data, path, round(value) if _is_whole(current) else float(value))
        if problem:
            raise NegsimError(f"uncertain.{path}: {problem}")

    def validated(edited: dict[str, Any], what: str) -> Scenario:
        try:
            return Scenario.model_validate(edited)
        except ValidationError as error:
            first = error.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            message = str(first["msg"]).removeprefix("Value error, ")
            # Name the value refused, not every value of the point.
            # (pydantic's location may hold union tags: `actors.rebels.faction.resolve`.)
            parts = [str(p) for p in first["loc"]]
            refused = next((k for k in values if set(k.split(".")) <= set(parts)), None)
            shown = f" ({refused}={values[refused]:.4g})" if refused else ""
            raise NegsimError(f"{what} at a sample point{shown}: {where}: {message}") from None

    base = validated(data, "the scenario")
    result: dict[str, Scenario] = {}
    for name in variants:
        if name == BASE:
            result[name] = base
            continue
        edited, problems = apply_variant(data, scenario.variants[name].model_dump())
        if problems:
            raise NegsimError(f"variant {name}: {problems[0][1]}")
        result[name] = validated(edited, f"variant {name}").model_copy(update={"variants": {}})
    return result


@dataclass(frozen=True)
class PointTask:
    """One chunk of one variant at one sample point."""

    point: int
    task: ChunkTask


def simulate_point_chunk(job: PointTask) -> tuple[int, ChunkResult]:
    """Simulate one chunk and keep only its per-run outcomes (a sweep needs no time series)."""
    chunk = _simulate_chunk(job.task)
    chunk.series = chunk.series[..., :0]
    return job.point, chunk


def simulate_points(
    points: Mapping[int, Mapping[str, Scenario]],
    runs: int,
    seed: int,
    chunk_size: int,
    executor: Any,
    window: int,
) -> Iterator[tuple[int, dict[str, EnsembleResult]]]:
    """Simulate every variant at every point; yield (point, ensembles by variant) as points finish.

    ``points`` maps a point's index to its scenarios by variant. Points are
    handed to the executor ``window`` at a time, so memory is bounded by the
    window, not by the design.
    """
    indices = list(points)
    for start in range(0, len(indices), max(1, window)):
        batch = indices[start : start + max(1, window)]
        jobs = [
            PointTask(index, task)
            for index in batch
            for name, scenario in points[index].items()
            for task in chunk_tasks(name, scenario, runs, seed, chunk_size)
        ]
        expected = {index: sum(1 for job in jobs if job.point == index) for index in batch}
        collected: dict[int, list[ChunkResult]] = {index: [] for index in batch}
        for index, chunk in executor.map(simulate_point_chunk, jobs):
            collected[index].append(chunk)
            if len(collected[index]) == expected[index]:
                chunks = collected.pop(index)
                yield (
                    index,
                    {
                        name: assemble(
                            name, scenario, runs, [c for c in chunks if c.variant == name]
                        )
                        for name, scenario in points[index].items()
                    },
                )

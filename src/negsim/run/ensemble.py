"""Monte Carlo ensembles of one scenario variant.

Replications are simulated in chunks of a fixed size (the experiment's
``chunk_size``). Chunk ``c`` draws from streams seeded by (seed, c), so the
replications of a chunk do not depend on how many chunks there are, on the
order they run in or on the number of workers: the same seed gives the same
bytes with one worker or many, and N runs are an exact prefix of 2N runs.
The last chunk is always simulated whole and then cut, for the same reason.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from negsim.model.observations import outcomes
from negsim.model.spinup import SpinUp
from negsim.model.world import ConflictModel
from negsim.run.assumptions import inputs
from negsim.run.executors import SerialExecutor
from negsim.scenario.schema import Scenario


@dataclass(frozen=True)
class ChunkTask:
    """One chunk of one variant: what a worker needs to simulate it."""

    variant: str
    scenario: Scenario
    seed: int
    chunk: int
    chunk_size: int


@dataclass
class ChunkResult:
    """Outcomes (name -> (n,)) and recorded observables (metric, week, n) of one chunk."""

    variant: str
    chunk: int
    outcomes: dict[str, np.ndarray]
    series: np.ndarray
    metric_names: list[str]
    spinup_weeks: int = 0
    """The weeks the chunk's spin-up ran before it settled (`ConflictModel.spinup_used`)."""
    inputs: dict[str, np.ndarray] = field(default_factory=dict)
    """Each `uncertain` path's value per replication (`negsim.run.assumptions.inputs`)."""


@dataclass
class EnsembleResult:
    """All replications of one variant, in replication order."""

    variant: str
    scenario: Scenario
    outcomes: dict[str, np.ndarray]
    series: np.ndarray
    metric_names: list[str]
    dates: list
    inputs: dict[str, np.ndarray] = field(default_factory=dict)
    """Each `uncertain` path's value per replication (runs.csv's `input.<path>`)."""

    @property
    def runs(self) -> int:
        return len(next(iter(self.outcomes.values())))


def simulate_chunk(task: ChunkTask) -> ChunkResult:
    """Simulate one chunk (a pure function of the task: safe in any process)."""
    model = ConflictModel(
        task.scenario, replications=task.chunk_size, seed=task.seed, chunk=task.chunk
    )
    model.run()
    return _result(task, model)


def _result(task: ChunkTask, model: ConflictModel) -> ChunkResult:
    return ChunkResult(
        variant=task.variant,
        chunk=task.chunk,
        outcomes=outcomes(model),
        series=model.recorder.values,
        metric_names=model.recorder.names,
        spinup_weeks=model.spinup_used,
        inputs=inputs(task.scenario, model.streams),
    )


@dataclass(frozen=True)
class ChunkGroup:
    """One chunk of several variants, simulated together in one worker.

    Variants whose scenarios differ only in their events (``spinup`` equal:
    `spinup_key`) spin up to the same state in the same chunk; the first
    simulated spins up and the others take its spin-up
    (`negsim.model.spinup`), with the same numbers as their own.
    """

    tasks: tuple[ChunkTask, ...]
    spinup: tuple[str, ...]
    """Each task's `spinup_key`: tasks with equal keys share one spin-up."""


def spinup_key(scenario: Scenario) -> str:
    """What a chunk's spin-up depends on: the scenario without its events (which it never reads).

    Nor its variants: a variant's scenario has them applied already (and none of its own).
    """
    dump = scenario.model_dump(mode="json", exclude={"events", "variants"})
    return json.dumps(dump, sort_keys=True)


def simulate_group(group: ChunkGroup) -> list[ChunkResult]:
    """Simulate one chunk of several variants (a pure function of the group, like `simulate_chunk`)."""
    shared: dict[str, SpinUp | None] = {}
    results = []
    for index, (task, key) in enumerate(zip(group.tasks, group.spinup, strict=True)):
        given = shared.get(key)
        model = ConflictModel(
            task.scenario,
            replications=task.chunk_size,
            seed=task.seed,
            chunk=task.chunk,
            spinup=given,
            # Kept only for a later task of the group that can take it.
            keep_spinup=key not in shared and key in group.spinup[index + 1 :],
        )
        if key not in shared:
            shared[key] = model.spinup_state
        model.run()
        results.append(_result(task, model))
    return results


def group_tasks(
    variants: Sequence[tuple[str, Scenario]],
    runs: int,
    seed: int,
    chunk_size: int,
    per_group: int,
) -> list[ChunkGroup]:
    """The chunks that cover ``runs`` replications of every variant, ``per_group`` variants a group.

    Variants are banded in the order given (``per_group`` at a time, each
    band's chunks in chunk order, band after band), so the first variant's
    chunks come first, and at most two bands' results are being written at
    once (`negsim.results.tables.variants_per_group`).
    """
    count = -(-runs // chunk_size)
    keys = {name: spinup_key(scenario) for name, scenario in variants}
    per_group = max(1, per_group)
    groups = []
    for band in range(0, len(variants), per_group):
        members = variants[band : band + per_group]
        for chunk in range(count):
            tasks = tuple(
                ChunkTask(name, scenario, seed, chunk, chunk_size) for name, scenario in members
            )
            groups.append(ChunkGroup(tasks, tuple(keys[name] for name, _ in members)))
    return groups


def chunk_tasks(
    variant: str, scenario: Scenario, runs: int, seed: int, chunk_size: int
) -> list[ChunkTask]:
    """The chunks that cover ``runs`` replications."""
    count = -(-runs // chunk_size)
    return [ChunkTask(variant, scenario, seed, chunk, chunk_size) for chunk in range(count)]


def assemble(
    variant: str, scenario: Scenario, runs: int, chunks: list[ChunkResult]
) -> EnsembleResult:
    """Join a variant's chunks in chunk order and cut to ``runs`` replications."""
    chunks = sorted(chunks, key=lambda c: c.chunk)
    joined = {
        name: np.concatenate([c.outcomes[name] for c in chunks])[:runs]
        for name in chunks[0].outcomes
    }
    series = np.concatenate([c.series for c in chunks], axis=-1)[..., :runs]
    inputs = {
        path: np.concatenate([c.inputs[path] for c in chunks])[:runs] for path in chunks[0].inputs
    }
    start = scenario.calendar.start
    dates = [start + dt.timedelta(weeks=week) for week in range(series.shape[1])]
    return EnsembleResult(variant, scenario, joined, series, chunks[0].metric_names, dates, inputs)


def run_ensemble(
    scenario: Scenario,
    runs: int,
    seed: int,
    chunk_size: int = 500,
    variant: str = "base",
) -> EnsembleResult:
    """Simulate ``runs`` replications of one scenario variant."""
    tasks = chunk_tasks(variant, scenario, runs, seed, chunk_size)
    return assemble(variant, scenario, runs, list(SerialExecutor().map(simulate_chunk, tasks)))

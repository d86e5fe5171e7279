"""A model given another's spin-up runs to the bytes of one that spun up itself."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from negsim.model.observations import outcomes
from negsim.model.spinup import NotShareable, Watch
from negsim.model.world import ConflictModel
from negsim.run.assumptions import variant_scenarios
from negsim.run.ensemble import ChunkTask, group_tasks, simulate_chunk, simulate_group, spinup_key
from negsim.scenario import load

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
REPLICATIONS = 24


def same_run(a: ConflictModel, b: ConflictModel) -> bool:
    first, second = outcomes(a), outcomes(b)
    return all(
        np.array_equal(first[name], second[name], equal_nan=True) for name in first
    ) and np.array_equal(a.recorder.values, b.recorder.values, equal_nan=True)


@pytest.mark.parametrize(
    "name",
    [
        "geneva3.yaml",
        # The other bundled scenarios in the full suite only: the fast tier keeps one.
        pytest.param("aceh.yaml", marks=pytest.mark.slow),
        pytest.param("ripeness.yaml", marks=pytest.mark.slow),
        pytest.param("decapitation.yaml", marks=pytest.mark.slow),
    ],
)
def test_every_variant_runs_the_same_with_the_base_spin_up(name: str) -> None:
    scenario_file = load(SCENARIOS / name)
    scenarios = variant_scenarios(scenario_file, list(scenario_file.variants), draw=True)
    base = ConflictModel(scenarios["base"], REPLICATIONS, seed=11, chunk=2, keep_spinup=True)
    assert base.spinup_state is not None
    shared = 0
    for variant, scenario in scenarios.items():
        own = ConflictModel(scenario, REPLICATIONS, seed=11, chunk=2).run()
        if spinup_key(scenario) != spinup_key(scenarios["base"]):
            continue  # a variant that changes more than events spins up itself
        given = ConflictModel(scenario, REPLICATIONS, seed=11, chunk=2, spinup=base.spinup_state)
        assert given.spinup_used == own.spinup_used
        assert same_run(given.run(), own), variant
        shared += 1
    assert shared >= 2  # the base and at least one counterfactual


def test_another_chunk_spins_up_differently() -> None:
    """The spin-up depends on the chunk's streams: taking it is only right within a chunk."""
    scenario = load(SCENARIOS / "geneva3.yaml").scenario
    one = ConflictModel(scenario, REPLICATIONS, seed=11, chunk=0, keep_spinup=True)
    other = ConflictModel(scenario, REPLICATIONS, seed=11, chunk=1)
    given = ConflictModel(scenario, REPLICATIONS, seed=11, chunk=1, spinup=one.spinup_state)
    assert not same_run(given.run(), other.run())


def test_a_spin_up_that_replaces_an_object_is_not_shared() -> None:
    scenario = load(SCENARIOS / "geneva3.yaml").scenario
    model = ConflictModel(scenario, 4, seed=1, chunk=0)
    watch = Watch(model)
    model.talks = type(model.talks)(model)  # a new object where the spin-up should only change data
    with pytest.raises(NotShareable):
        watch.changes(model)


def test_a_group_gives_the_chunks_of_its_variants_one_by_one() -> None:
    scenario_file = load(SCENARIOS / "geneva3.yaml")
    names = list(scenario_file.variants)[:3]
    scenarios = variant_scenarios(scenario_file, names, draw=True)
    (group,) = group_tasks([(n, scenarios[n]) for n in names], 10, 5, 10, per_group=3)
    for result, name in zip(simulate_group(group), names, strict=True):
        alone = simulate_chunk(ChunkTask(name, scenarios[name], 5, 0, 10))
        assert result.variant == name and result.spinup_weeks == alone.spinup_weeks
        assert np.array_equal(result.series, alone.series, equal_nan=True)
        for column, values in alone.outcomes.items():
            assert np.array_equal(result.outcomes[column], values, equal_nan=True), column
        for path, values in alone.inputs.items():
            assert np.array_equal(result.inputs[path], values, equal_nan=True), path


def test_groups_band_the_variants_chunk_by_chunk() -> None:
    scenario = load(SCENARIOS / "geneva3.yaml").scenario
    variants = [(name, scenario) for name in ("a", "b", "c")]
    groups = group_tasks(variants, runs=25, seed=1, chunk_size=10, per_group=2)
    assert [[(t.variant, t.chunk) for t in g.tasks] for g in groups] == [
        [("a", 0), ("b", 0)],
        [("a", 1), ("b", 1)],
        [("a", 2), ("b", 2)],
        [("c", 0)],
        [("c", 1)],
        [("c", 2)],
    ]


def test_a_spin_up_a_model_cannot_take_is_left_and_the_model_spins_up_itself() -> None:
    geneva3 = load(SCENARIOS / "geneva3.yaml").scenario
    aceh = load(SCENARIOS / "aceh.yaml").scenario  # other actors: no patrons.russia there
    spun = ConflictModel(geneva3, REPLICATIONS, seed=3, chunk=0, keep_spinup=True).spinup_state
    assert spun is not None
    given = ConflictModel(aceh, REPLICATIONS, seed=3, chunk=0, spinup=spun)
    assert same_run(given.run(), ConflictModel(aceh, REPLICATIONS, seed=3, chunk=0).run())

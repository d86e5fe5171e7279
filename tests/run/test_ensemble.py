"""Ensembles: chunking, executors and reproducibility."""

from __future__ import annotations

import numpy as np

from negsim.run.ensemble import assemble, chunk_tasks, run_ensemble, simulate_chunk
from negsim.run.executors import ProcessExecutor, SerialExecutor, make_executor


def test_chunks_cover_the_runs_with_whole_chunks(geneva3):
    tasks = chunk_tasks("base", geneva3.scenario, runs=1001, seed=3, chunk_size=500)
    assert [t.chunk for t in tasks] == [0, 1, 2]
    assert all(t.chunk_size == 500 for t in tasks)


def test_fewer_runs_are_an_exact_prefix_of_more(geneva3):
    small = run_ensemble(geneva3.scenario, runs=70, seed=5, chunk_size=50)
    large = run_ensemble(geneva3.scenario, runs=130, seed=5, chunk_size=50)
    assert small.runs == 70 and large.runs == 130
    for name, values in small.outcomes.items():
        np.testing.assert_array_equal(values, large.outcomes[name][:70], err_msg=name)
    np.testing.assert_array_equal(small.series, large.series[..., :70])


def test_process_pool_gives_the_same_numbers_as_serial(geneva3):
    tasks = chunk_tasks("base", geneva3.scenario, runs=120, seed=9, chunk_size=40)
    serial = assemble(
        "base", geneva3.scenario, 120, list(SerialExecutor().map(simulate_chunk, tasks))
    )
    pool = ProcessExecutor(2)
    try:
        chunks = list(pool.map(simulate_chunk, tasks))
    finally:
        pool.close()
    parallel = assemble("base", geneva3.scenario, 120, chunks)
    for name, values in serial.outcomes.items():
        np.testing.assert_array_equal(values, parallel.outcomes[name], err_msg=name)
    np.testing.assert_array_equal(serial.series, parallel.series)


def test_make_executor_picks_serial_for_one_job():
    assert isinstance(make_executor(1), SerialExecutor)


def test_seed_changes_the_draws(geneva3):
    first = run_ensemble(geneva3.scenario, runs=20, seed=1, chunk_size=20)
    second = run_ensemble(geneva3.scenario, runs=20, seed=2, chunk_size=20)
    assert not np.array_equal(first.series, second.series)

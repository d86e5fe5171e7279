"""Executors: serial, processes and Dask give the same bytes; Dask's faults cost nothing.

The Dask tests use a real `LocalCluster` of worker processes, and one kills
a worker process with SIGKILL in the middle of a run.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from helpers import dask_scheduler
from negsim import api, interrupts
from negsim.cli import main
from negsim.errors import NegsimError, UsageError
from negsim.run import executors
from negsim.run.executors import DaskExecutor, ProcessExecutor, SerialExecutor, make_executor

ROOT = Path(__file__).resolve().parents[2]
GENEVA3 = ROOT / "scenarios" / "geneva3.yaml"
TABLES = ("runs.csv", "timeseries.csv", "hypotheses.csv", "events.csv", "patterns.csv")


def square(x: int) -> int:
    return x * x


@pytest.fixture
def small_chunks(tmp_path: Path) -> Path:
    """geneva3 with chunks of 25 runs: many chunks for a few hundred runs."""
    text = GENEVA3.read_text(encoding="utf-8").replace("chunk_size: 500", "chunk_size: 25")
    assert "chunk_size: 25" in text
    path = tmp_path / "scenario" / "geneva3.yaml"
    path.parent.mkdir()
    path.write_text(text, encoding="utf-8")
    return path


def run(scenario: Path, out: Path, **options) -> api.Experiment:
    return api.run_experiment(
        scenario,
        runs=options.pop("runs", 150),
        out=out,
        variants=("base", "alloush_alive"),
        command=["test"],
        **options,
    )


def same_files(first: Path, second: Path) -> None:
    for name in TABLES:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name


# ------------------------------------------------------------------ choice


def test_the_kinds_behind_one_interface():
    assert isinstance(make_executor(4, "serial"), SerialExecutor)
    assert isinstance(make_executor(1, "processes"), SerialExecutor)
    pool = make_executor(2, "processes")
    try:
        assert isinstance(pool, ProcessExecutor)
        assert sorted(pool.map(square, range(5))) == [0, 1, 4, 9, 16]
    finally:
        pool.close()


def test_an_unknown_kind_or_a_scheduler_without_dask_is_a_usage_error():
    with pytest.raises(UsageError, match="executor: must be one of serial, processes, dask"):
        make_executor(1, "threads")
    with pytest.raises(UsageError, match="--scheduler: only with --executor dask"):
        make_executor(1, "processes", "tcp://127.0.0.1:8786")


def test_dask_without_the_extra_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "dask.distributed", None)  # import fails as if absent
    with pytest.raises(NegsimError, match=r"pip install 'negsim\[dask\]'"):
        make_executor(2, "dask")


def test_the_cli_refuses_an_unknown_executor(tmp_path):
    result = CliRunner().invoke(main, ["run", str(GENEVA3), "--executor", "gpu", "-o", "x"])
    assert result.exit_code == 2
    assert "'gpu' is not one of 'serial', 'processes', 'dask'" in result.output


# -------------------------------------------------------------------- dask


def test_an_unreachable_scheduler_is_one_line_before_any_work(tmp_path, monkeypatch):
    pytest.importorskip("dask.distributed")
    monkeypatch.setattr(executors, "DASK_CONNECT_TIMEOUT", 2.0)
    out = tmp_path / "results"
    started = time.monotonic()
    result = CliRunner().invoke(
        main,
        [
            "run",
            str(GENEVA3),
            "--executor",
            "dask",
            "--scheduler",
            "tcp://127.0.0.1:9",
            "-o",
            str(out),
        ],
    )
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        "--scheduler tcp://127.0.0.1:9: cannot reach a Dask scheduler there"
    ), result.output
    assert "dask scheduler" in lines[0] and "Traceback" not in result.output
    assert time.monotonic() - started < 60
    assert not out.exists()  # the folder it created is undone


@pytest.mark.slow
def test_dask_gives_the_bytes_of_local_processes(small_chunks, tmp_path):
    pytest.importorskip("dask.distributed")
    local = run(small_chunks, tmp_path / "processes", jobs=2)
    dask = run(small_chunks, tmp_path / "dask", jobs=2, executor="dask")
    same_files(local.destination, dask.destination)


@pytest.mark.slow
def test_a_killed_worker_costs_only_its_chunks(small_chunks, tmp_path):
    distributed = pytest.importorskip("dask.distributed")
    serial = run(small_chunks, tmp_path / "serial", runs=400, executor="serial")
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        # One client at a time in this process, as a user's run has: the run's
        # own client, and before and after it the test's, which reads the pids.
        with distributed.Client(cluster) as client:
            victim = next(iter(client.run(os.getpid).values()))
        killed: list[int] = []

        def kill_one(done: int, total: int) -> None:
            # A third of the way in: every worker holds chunks, running or queued.
            if not killed and done >= total // 3:
                os.kill(victim, signal.SIGKILL)
                killed.append(done)

        dask = run(
            small_chunks,
            tmp_path / "dask",
            runs=400,
            executor="dask",
            scheduler=cluster.scheduler_address,
            progress=kill_one,
        )
        # The nanny starts a new worker; it may take a moment to answer.
        with distributed.Client(cluster) as client:
            deadline = time.monotonic() + 60
            while True:
                try:
                    client.wait_for_workers(2, timeout=60)
                    after = set(client.run(os.getpid).values())
                except (OSError, TimeoutError):
                    after = {victim}
                if victim not in after or time.monotonic() > deadline:
                    break
                time.sleep(0.5)
    assert killed and victim not in after
    same_files(serial.destination, dask.destination)


@pytest.mark.slow
def test_the_dask_executor_reports_its_workers():
    pytest.importorskip("dask.distributed")
    executor = DaskExecutor(jobs=2)
    try:
        assert executor.jobs == 2 and executor.scheduler.startswith("tcp://")
        assert sorted(executor.map(square, range(6))) == [0, 1, 4, 9, 16, 25]
    finally:
        executor.close()


@pytest.mark.slow
def test_a_lost_scheduler_is_one_line_and_nothing_written(small_chunks, tmp_path):
    pytest.importorskip("dask.distributed")
    with dask_scheduler() as (address, scheduler):
        killed: list[int] = []

        def kill_scheduler(done: int, total: int) -> None:
            if not killed:
                scheduler.kill()
                killed.append(done)

        out = tmp_path / "lost"
        with pytest.raises(NegsimError, match="lost the connection to the scheduler"):
            run(
                small_chunks,
                out,
                runs=400,
                executor="dask",
                scheduler=address,
                progress=kill_scheduler,
            )
        assert killed and not out.exists()


@pytest.mark.parametrize("command", ["run", "sweep"])
def test_a_scheduler_without_dask_is_a_usage_error_in_the_cli(command):
    result = CliRunner().invoke(main, [command, str(GENEVA3), "--scheduler", "tcp://h:8786"])
    assert result.exit_code == 2
    assert "--scheduler: only with --executor dask" in result.output


def touch_and_return(path: str) -> str:
    Path(path).touch()
    return path


def test_a_busy_caller_holds_back_the_pool_not_a_pile_of_results(tmp_path):
    # Results of a pool pile up in the caller while it is busy (summarising a
    # variant) unless only a window of tasks is handed out at a time.
    pool = ProcessExecutor(2)
    try:
        results = pool.map(touch_and_return, [str(tmp_path / f"{i}") for i in range(40)])
        next(results)
        time.sleep(2.0)  # busy: the workers could finish all 40 meanwhile
        started = len(list(tmp_path.iterdir()))
        assert started <= executors.window(2) + 1, started
        assert len(list(results)) == 39
    finally:
        pool.close()


def slow_square(x: int) -> int:
    time.sleep(0.05)
    return x * x


@pytest.fixture
def swallowed_interrupt():
    """A stop signal noted by the command's handler whose KeyboardInterrupt a library dropped."""
    interrupts.note()
    yield
    interrupts.clear()


@pytest.mark.parametrize("kind", ["serial", "processes"])
def test_an_interrupt_a_library_swallowed_stops_the_work_at_the_next_chunk(
    kind, swallowed_interrupt
):
    executor = SerialExecutor() if kind == "serial" else ProcessExecutor(2)
    try:
        with pytest.raises(KeyboardInterrupt):
            list(executor.map(slow_square, range(20)))
    finally:
        executor.terminate()


def test_without_a_noted_signal_the_work_goes_on():
    interrupts.clear()
    pool = ProcessExecutor(2)
    try:
        assert sorted(pool.map(slow_square, range(6))) == [0, 1, 4, 9, 16, 25]
    finally:
        pool.close()


def test_terminate_ends_idle_workers_at_once():
    # The moment a CI run once hung in: a pool whose workers all wait for a task.
    pool = ProcessExecutor(2)
    workers = list(pool._pool._pool)
    time.sleep(0.3)  # both idle, one of them holding the task queue's lock
    started = time.monotonic()
    pool.terminate()
    assert time.monotonic() - started < executors.TERMINATE_WAIT
    assert not any(worker.is_alive() for worker in workers)


@pytest.mark.skipif(not hasattr(signal, "pthread_sigmask"), reason="no signal masks")
def test_a_pool_that_fails_to_start_leaves_the_stop_signals_deliverable(monkeypatch):
    def no_fork(*args, **kwargs):
        raise OSError(11, "Resource temporarily unavailable")

    context = executors.multiprocessing.get_context("fork")
    monkeypatch.setattr(type(context), "Pool", no_fork)
    with pytest.raises(OSError):
        ProcessExecutor(2)
    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, [])
    assert not (blocked & executors._STOP_SIGNALS), blocked

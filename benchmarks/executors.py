"""Runs per second of `negsim run` by executor and worker count, start-up of the executor included.

    .venv/bin/python benchmarks/executors.py [RUNS] [REPEATS]

geneva3, the base variant and `alloush_alive` (one hypothesis pair),
RUNS replications each (default 5,000); median wall time of REPEATS
(default 3) runs of `api.run_experiment` per configuration, in this one
process, so the configurations share the machine's state. The Dask rows
start a `LocalCluster` of that many single-threaded worker processes each
time (its start-up is part of what a user waits for).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

from negsim import api

SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "geneva3.yaml"
CONFIGURATIONS = (("serial", 1), ("processes", 2), ("dask", 1), ("dask", 2))


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    variants = ("base", "alloush_alive")
    print(f"geneva3, {runs:,} runs x {len(variants)} variants, median of {repeats}")
    print(f"{'executor':<10} {'workers':>7} {'wall s':>8} {'runs/s':>8}")
    with tempfile.TemporaryDirectory() as scratch:
        for kind, workers in CONFIGURATIONS:
            times = []
            for repeat in range(repeats):
                started = time.perf_counter()
                api.run_experiment(
                    SCENARIO,
                    runs=runs,
                    out=Path(scratch) / f"{kind}{workers}-{repeat}",
                    variants=variants,
                    jobs=workers,
                    executor=kind,
                    command=["benchmark"],
                )
                times.append(time.perf_counter() - started)
            wall = statistics.median(times)
            print(f"{kind:<10} {workers:>7} {wall:>8.1f} {runs * len(variants) / wall:>8,.0f}")


if __name__ == "__main__":
    main()

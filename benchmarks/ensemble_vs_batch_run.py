"""Replications per second: the ensemble axis against Mesa's batch_run, in one run.

    python benchmarks/ensemble_vs_batch_run.py [--replications 1000 10000] [--repeats 5]
        [--batch-runs 100] [--numpy]

Prints the median of the repeats for each way of simulating geneva3 (all
weeks of the base scenario, the spin-up and the model's construction
included) and their ratio, for each R on the ensemble axis. ``--numpy``
also measures the ensemble with the fighting stage's numpy reference in
place of the compiled kernel (the same numbers, in the same run). The
ensemble is measured first: `mesa.batch_run` switches the process to the
`spawn` start method. Both sides run in this one process, on one core.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import mesa

from negsim.model.observations import outcomes
from negsim.model.world import ConflictModel
from negsim.scenario import load

SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "geneva3.yaml"


class SingleRunModel(ConflictModel):
    """The same model, one replication per instance, as `batch_run` drives it."""

    def __init__(self, scenario=None, rng=None, **_: object):
        super().__init__(scenario, replications=1, seed=int(rng or 0), chunk=0)
        self.datacollector = mesa.DataCollector(model_reporters={"agreement": "agreement"})

    @property
    def agreement(self) -> float:
        return float(outcomes(self)["agreement"][0])

    def step(self) -> None:
        super().step()
        if self.week >= self.weeks:
            self.running = False
            self.datacollector.collect(self)


def ensemble_rate(scenario, replications: int, compiled: bool = True) -> float:
    ConflictModel.compiled_step = compiled
    try:
        started = time.perf_counter()
        ConflictModel(scenario, replications=replications, seed=1).run()
        return replications / (time.perf_counter() - started)
    finally:
        ConflictModel.compiled_step = True


def batch_run_rate(scenario, runs: int) -> float:
    started = time.perf_counter()
    mesa.batch_run(
        SingleRunModel,
        parameters={"scenario": [scenario]},  # a list: batch_run sweeps over iterables
        number_processes=1,
        data_collection_period=-1,
        max_steps=10_000,
        display_progress=False,
        rng=list(range(runs)),
    )
    return runs / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--replications",
        type=int,
        nargs="+",
        default=[1000, 10_000],
        help="R on the ensemble axis (one or more)",
    )
    parser.add_argument(
        "--repeats", type=int, default=5, help="repeats of each measurement (median reported)"
    )
    parser.add_argument(
        "--batch-runs", type=int, default=100, help="runs per batch_run measurement"
    )
    parser.add_argument(
        "--numpy", action="store_true", help="also the ensemble with fighting's numpy reference"
    )
    args = parser.parse_args()
    scenario = load(SCENARIO).scenario
    ensemble_rate(scenario, 50)  # warm-up: imports, the kernels' load, first-call costs
    ensemble_rate(scenario, 50, compiled=False)
    paths = [("compiled", True)] + ([("numpy", False)] if args.numpy else [])
    ensemble = {
        (name, size): [ensemble_rate(scenario, size, compiled) for _ in range(args.repeats)]
        for size in args.replications
        for name, compiled in paths
    }
    batch = [batch_run_rate(scenario, args.batch_runs) for _ in range(args.repeats)]
    batch_median = statistics.median(batch)
    print(f"scenario: {SCENARIO.name}, {scenario.weeks()} weekly steps, mesa {mesa.__version__}")
    print(
        f"mesa.batch_run, one replication per model: {batch_median:,.1f} replications/s "
        f"(median of {args.repeats}; range {min(batch):,.1f}-{max(batch):,.1f})"
    )
    for (name, size), rates in ensemble.items():
        median = statistics.median(rates)
        print(
            f"ensemble axis, {name} fighting, R = {size:,}: {median:,.0f} replications/s "
            f"(median of {args.repeats}; range {min(rates):,.0f}-{max(rates):,.0f}); "
            f"ratio to batch_run: {median / batch_median:,.0f}x"
        )


if __name__ == "__main__":
    main()

"""The Python API, for notebooks and scripts. The CLI is a thin layer over it.

>>> from negsim import api
>>> scenario = api.load_scenario("scenarios/geneva3.yaml")
>>> sim = api.simulate(scenario, variant="alloush_alive", runs=200, seed=1)
>>> sim.runs.agreement.mean()                    # per-run outcomes (DataFrame)
>>> sim.timeseries.query("metric == 'opposition_cohesion'")  # per-step statistics
>>> sim.steps("opposition_cohesion")             # per-step values of every replication
"""

from __future__ import annotations

import datetime as dt
import platform
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from negsim import __version__
from negsim.analysis.verdicts import hypothesis_table
from negsim.errors import NegsimError
from negsim.results import ResultsFolder, events_frame, runs_frame, timeseries_frame, write_results
from negsim.run.ensemble import ChunkResult, EnsembleResult, assemble, chunk_tasks, simulate_chunk
from negsim.run.executors import make_executor
from negsim.scenario import BASE, ScenarioFile, load


def load_scenario(path: str | Path) -> ScenarioFile:
    """Load and validate a scenario file (raises `ScenarioError` listing every problem)."""
    return load(path)


@dataclass
class Simulation:
    """One variant simulated N times."""

    ensemble: EnsembleResult

    @property
    def runs(self) -> pd.DataFrame:
        """Per-run outcomes, one row per replication (the `runs.csv` columns)."""
        return runs_frame([self.ensemble])

    @property
    def timeseries(self) -> pd.DataFrame:
        """Per-step mean and percentiles across replications (the `timeseries.csv` columns)."""
        return timeseries_frame(self.ensemble)

    def steps(self, metric: str | None = None) -> pd.DataFrame:
        """Per-step values of every replication, long form: replication, step, date, metric, value."""
        names = self.ensemble.metric_names
        chosen = names if metric is None else [metric]
        unknown = [m for m in chosen if m not in names]
        if unknown:
            raise KeyError(f"unknown metric {unknown[0]!r}; known: {', '.join(names)}")
        frames = []
        series = self.ensemble.series
        steps, runs = series.shape[1], series.shape[2]
        dates = [d.isoformat() for d in self.ensemble.dates]
        for name in chosen:
            values = series[names.index(name)]
            frames.append(
                pd.DataFrame(
                    {
                        "replication": np.tile(np.arange(runs), steps),
                        "step": np.repeat(np.arange(steps), runs),
                        "date": np.repeat(dates, runs),
                        "metric": name,
                        "value": values.reshape(-1).astype(float),
                    }
                )
            )
        return pd.concat(frames, ignore_index=True)


def simulate(
    scenario: ScenarioFile | str | Path,
    variant: str = BASE,
    runs: int | None = None,
    seed: int | None = None,
    jobs: int = 1,
) -> Simulation:
    """Simulate one variant ``runs`` times (defaults from the scenario's `experiment`)."""
    scenario_file = scenario if isinstance(scenario, ScenarioFile) else load(scenario)
    experiment = scenario_file.scenario.experiment
    results = _simulate_variants(
        scenario_file,
        [variant],
        runs or experiment.runs,
        experiment.seed if seed is None else seed,
        jobs,
    )
    return Simulation(results[0])


ProgressCallback = Callable[[int, int], None]


def _simulate_variants(
    scenario_file: ScenarioFile,
    variants: Sequence[str],
    runs: int,
    seed: int,
    jobs: int | None,
    progress: ProgressCallback | None = None,
    reduce: Callable[[EnsembleResult], EnsembleResult] | None = None,
) -> list[EnsembleResult]:
    """Simulate variants chunk by chunk over an executor.

    ``reduce`` is applied to each variant's ensemble as soon as its last chunk
    arrives, so a caller that only needs summaries never holds every
    variant's per-step arrays at once.
    """
    unknown = [v for v in variants if v not in scenario_file.variants]
    if unknown:
        raise NegsimError(
            f"{scenario_file.path}: unknown variant {unknown[0]!r}; "
            f"known: {', '.join(scenario_file.variants)}"
        )
    chunk_size = scenario_file.scenario.experiment.chunk_size
    tasks = [
        task
        for name in variants
        for task in chunk_tasks(name, scenario_file.variant(name), runs, seed, chunk_size)
    ]
    expected = {name: sum(1 for t in tasks if t.variant == name) for name in variants}
    executor = make_executor(min(jobs, len(tasks)) if jobs else None)
    collected: dict[str, list[ChunkResult]] = {name: [] for name in variants}
    finished: dict[str, EnsembleResult] = {}
    try:
        for done, chunk in enumerate(executor.map(simulate_chunk, tasks), start=1):
            collected[chunk.variant].append(chunk)
            if len(collected[chunk.variant]) == expected[chunk.variant]:
                name = chunk.variant
                ensemble = assemble(name, scenario_file.variant(name), runs, collected.pop(name))
                finished[name] = reduce(ensemble) if reduce else ensemble
            if progress:
                progress(done, len(tasks))
        executor.close()
    except BaseException:
        executor.terminate()
        raise
    return [finished[name] for name in variants]


@dataclass
class Experiment:
    """What `negsim run` produced."""

    destination: Path
    hypotheses: pd.DataFrame
    skipped: list[str]
    elapsed: float
    runs: int
    variants: list[str]


def run_experiment(
    scenario_path: str | Path,
    runs: int | None = None,
    seed: int | None = None,
    out: str | Path | None = None,
    variants: Sequence[str] = (),
    jobs: int | None = None,
    confidence: float | None = None,
    progress: ProgressCallback | None = None,
    command: Sequence[str] | None = None,
) -> Experiment:
    """Run every variant (or the named ones) as an ensemble, judge the hypotheses, write the results."""
    started = time.perf_counter()
    scenario_file = load(scenario_path)
    scenario = scenario_file.scenario
    experiment = scenario.experiment
    runs = runs or experiment.runs
    seed = experiment.seed if seed is None else seed
    confidence = confidence or experiment.confidence
    chosen = list(dict.fromkeys(variants)) if variants else list(scenario_file.variants)
    destination = Path(out) if out else Path("results") / scenario.name

    summaries: dict[str, pd.DataFrame] = {}

    def summarise(ensemble: EnsembleResult) -> EnsembleResult:
        # Keep the percentiles, drop the (metric, week, run) array.
        summaries[ensemble.variant] = timeseries_frame(ensemble)
        ensemble.series = ensemble.series[..., :0]
        return ensemble

    ensembles = _simulate_variants(scenario_file, chosen, runs, seed, jobs, progress, summarise)
    runs_table = runs_frame(ensembles)
    hypotheses_spec = {
        name: hypothesis.model_dump() for name, hypothesis in scenario.hypotheses.items()
    }
    hypotheses = hypothesis_table(
        runs_table, hypotheses_spec, confidence, experiment.bootstrap_resamples, seed
    )
    skipped = [name for name in hypotheses_spec if name not in set(hypotheses["hypothesis"])]
    timeseries = pd.concat([summaries[name] for name in chosen], ignore_index=True)
    events = events_frame({name: scenario_file.variant(name) for name in chosen})
    elapsed = time.perf_counter() - started
    manifest = {
        "negsim": __version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "mesa": _mesa_version(),
        "scenario": str(scenario_file.path),
        "scenario_name": scenario.name,
        "scenario_sha256": scenario_file.sha256,
        "seed": seed,
        "runs": runs,
        "chunk_size": experiment.chunk_size,
        "variants": chosen,
        "confidence": confidence,
        "bootstrap_resamples": experiment.bootstrap_resamples,
        "hypotheses_skipped": skipped,
        "elapsed_seconds": round(elapsed, 3),
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": list(command) if command is not None else sys.argv,
    }
    write_results(ResultsFolder(runs_table, timeseries, hypotheses, events, manifest), destination)
    return Experiment(destination, hypotheses, skipped, elapsed, runs, chosen)


def _mesa_version() -> str:
    import mesa

    return str(mesa.__version__)

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
import operator
import os
import platform
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from negsim import __version__
from negsim.analysis.calibration import calibration_record
from negsim.analysis.patterns import (
    ALL_PATTERNS,
    MIN_RECORD_RUNS,
    WeekPattern,
    conditioning,
    like_ours,
    match,
    patterns_table,
    weeks_of,
)
from negsim.analysis.posterior import MIN_ACCEPTED, posterior_table
from negsim.analysis.verdicts import (
    hypothesis_metrics,
    hypothesis_table,
    runs_warnings,
    selection_warnings,
    source_column,
)
from negsim.errors import NegsimError, NegsimWarning, UsageError
from negsim.report.summary import hypotheses_markdown
from negsim.results import (
    Holder,
    ResultsFolder,
    estimated_bytes,
    events_frame,
    open_results_folder,
    runs_frame,
    timeseries_frame,
    write_results,
)
from negsim.results.stream import EnsembleStream
from negsim.results.tables import variants_per_group
from negsim.results.writer import HYPOTHESES_MD, RUNS_FORMATS, RUNS_PARQUET, SERIES
from negsim.run.assumptions import DRAWN, WRITTEN, variant_scenarios
from negsim.run.ensemble import (
    ChunkResult,
    EnsembleResult,
    assemble,
    chunk_tasks,
    group_tasks,
    simulate_chunk,
    simulate_group,
)
from negsim.run.executors import EXECUTORS, Executor, available_cores, make_executor
from negsim.scenario import BASE, ScenarioFile, load

__all__ = [
    "AUTO",
    "MAX_RUNS",
    "Experiment",
    "Simulation",
    "check_argument",
    "load_scenario",
    "optional_argument",
    "run_experiment",
    "scenario_file_of",
    "simulate",
    "simulate_variants",
]

MAX_RUNS = 1_000_000
"""Most replications per variant (as the scenario's `experiment.runs` allows)."""
PAIRING = (
    "common random numbers: replication i of every variant draws from the same random "
    "streams, so a variant's run i is the counterfactual of the base run i (one pairing "
    "among many; the worlds-like-ours rows also give Tian & Pearl's bounds under any pairing)"
)
"""How the variants' runs are paired (`manifest.json`'s `pairing`; docs/results.md)."""
AUTO = "auto"
"""`runs="auto"`: add whole chunks until every verdict is decided (see `run_experiment`)."""


def _whole(name: str, value: Any, low: int, high: int | None) -> int:
    if isinstance(value, bool):
        number = None  # True is an int to Python, not a count to a user
    else:
        try:
            number = operator.index(value)
        except TypeError:
            number = None
    if number is None or number < low or (high is not None and number > high):
        bounds = f" from {low} to {high}" if high is not None else f", {low} or more"
        raise UsageError(f"{name}: must be a whole number{bounds} (got {value!r})")
    return number


CHOICES = {"executor": EXECUTORS, "runs_format": RUNS_FORMATS}
"""Arguments that take one of a few names."""


def check_argument(name: str, value: Any) -> Any:
    """Check one argument of `simulate` / `run_experiment` as `negsim run` checks its option.

    Returns the value, normalised (e.g. a numpy integer becomes an int).

    Raises:
        UsageError: ``"NAME: what is wrong (got VALUE)"``, the message the CLI shows.
    """
    if name == "runs":
        if isinstance(value, str) and value.strip().lower() == AUTO:
            return AUTO
        return _whole(name, value, 1, MAX_RUNS)
    if name == "seed":
        return _whole(name, value, 0, None)
    if name == "jobs":
        return _whole(name, value, 1, None)
    if name in CHOICES:
        if value not in CHOICES[name]:
            raise UsageError(f"{name}: must be one of {', '.join(CHOICES[name])} (got {value!r})")
        return value
    if name == "confidence":
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float | np.floating | np.integer)
            or not 0 < value < 1
        ):
            raise UsageError(
                f"{name}: must be a number between 0 and 1, both excluded (got {value!r})"
            )
        return float(value)
    raise ValueError(f"no such argument: {name!r}")


def optional_argument(name: str, value: Any) -> Any:
    """An argument left out (None) as it is, any other checked by :func:`check_argument`."""
    return None if value is None else check_argument(name, value)


def scenario_file_of(scenario: Any) -> ScenarioFile:
    """A scenario given as a path or as :func:`load_scenario` returned it, loaded."""
    if isinstance(scenario, ScenarioFile):
        return scenario
    if isinstance(scenario, str | Path):
        return load(scenario)
    raise UsageError(
        f"scenario: must be a file path or a scenario from load_scenario (got {scenario!r})"
    )


def _variant_names(scenario_file: ScenarioFile, variants: Any) -> list[str]:
    if isinstance(variants, str):
        variants = [variants]
    if not all(isinstance(v, str) for v in variants):
        raise UsageError(f"variants: must be variant names (got {variants!r})")
    chosen = list(dict.fromkeys(variants)) if variants else list(scenario_file.variants)
    unknown = [v for v in chosen if v not in scenario_file.variants]
    if unknown:
        raise NegsimError(
            f"{scenario_file.path}: unknown variant {unknown[0]!r}; "
            f"known: {', '.join(scenario_file.variants)}"
        )
    return chosen


def _warn_if_more_jobs_than_cores(jobs: int | None) -> None:
    cores = available_cores()
    if jobs is not None and jobs > cores:
        warnings.warn(
            f"{jobs} jobs on {cores} core{'s' if cores != 1 else ''}: slower and more memory "
            f"than {cores}; use --jobs {cores} or fewer",
            NegsimWarning,
            stacklevel=3,
        )


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
            raise UsageError(f"metric: unknown metric {unknown[0]!r}; known: {', '.join(names)}")
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
    jobs: int | None = 1,
    at_values: bool = False,
) -> Simulation:
    """Simulate one variant ``runs`` times (defaults from the scenario's `experiment`).

    Each replication draws its values of the scenario's `uncertain` paths
    from their distributions (`negsim.run.assumptions`); ``at_values`` runs
    at the values the scenario writes instead. `sim.runs` has them as the
    `input.<path>` columns.

    Raises:
        UsageError: an argument out of range (the message `negsim run` shows).
        ScenarioError: the scenario file has problems.
        NegsimError: an unknown variant.
    """
    runs = optional_argument("runs", runs)
    if runs == AUTO:  # judging verdicts is run_experiment's: one variant has none to decide
        raise UsageError(
            f"runs: must be a whole number from 1 to {MAX_RUNS} (got 'auto', which only "
            "run_experiment takes)"
        )
    seed = optional_argument("seed", seed)
    jobs = optional_argument("jobs", jobs)
    scenario_file = scenario_file_of(scenario)
    (variant,) = _variant_names(scenario_file, [variant])
    experiment = scenario_file.scenario.experiment
    _warn_if_more_jobs_than_cores(jobs)
    results = simulate_variants(
        scenario_file,
        [variant],
        experiment.runs if runs is None else runs,
        experiment.seed if seed is None else seed,
        jobs,
        draw=not at_values,
    )
    return Simulation(results[0])


ProgressCallback = Callable[[int, int], None]


def simulate_variants(
    scenario_file: ScenarioFile,
    variants: Sequence[str],
    runs: int,
    seed: int,
    jobs: int | None,
    progress: ProgressCallback | None = None,
    reduce: Callable[[EnsembleResult], EnsembleResult] | None = None,
    draw: bool = False,
) -> list[EnsembleResult]:
    """Simulate variants chunk by chunk over an executor.

    ``reduce`` is applied to each variant's ensemble as soon as its last chunk
    arrives, so a caller that only needs summaries never holds every
    variant's per-step arrays at once. The variants run as ``scenario_file``
    holds them; ``draw`` draws their `uncertain` paths per replication
    (`negsim.run.assumptions.variant_scenarios`), as `simulate` does by default.
    """
    chunk_size = scenario_file.scenario.experiment.chunk_size
    scenarios = variant_scenarios(scenario_file, variants, draw)
    tasks = [
        task
        for name in variants
        for task in chunk_tasks(name, scenarios[name], runs, seed, chunk_size)
    ]
    expected = {name: sum(1 for t in tasks if t.variant == name) for name in variants}
    executor = make_executor(min(jobs or available_cores(), len(tasks)))
    collected: dict[str, list[ChunkResult]] = {name: [] for name in variants}
    finished: dict[str, EnsembleResult] = {}
    try:
        for done, chunk in enumerate(executor.map(simulate_chunk, tasks), start=1):
            collected[chunk.variant].append(chunk)
            if len(collected[chunk.variant]) == expected[chunk.variant]:
                name = chunk.variant
                ensemble = assemble(name, scenarios[name], runs, collected.pop(name))
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
    kept: list[str] = field(default_factory=list)
    """Entries of the results folder negsim did not write, left as they were."""
    notes: list[str] = field(default_factory=list)
    """Things to know about the results folder (e.g. leftovers it could not remove)."""
    patterns: pd.DataFrame = field(default_factory=pd.DataFrame)
    """`patterns.csv`: how often the base runs reproduce the scenario's record (empty without one)."""
    record_runs: int | None = None
    """Base runs that reproduce every conditioning pattern of the record (None without a record or a base run)."""
    auto_passes: list[int] = field(default_factory=list)
    """With `runs="auto"`: the run counts tried, in order (the last is `runs`)."""


def run_experiment(
    scenario_path: str | Path,
    runs: int | str | None = None,
    seed: int | None = None,
    out: str | Path | None = None,
    variants: Sequence[str] = (),
    jobs: int | None = None,
    confidence: float | None = None,
    progress: ProgressCallback | None = None,
    command: Sequence[str] | None = None,
    wait: bool = False,
    given_record: bool = False,
    executor: str = "processes",
    scheduler: str | None = None,
    keep_series: bool = False,
    runs_format: str = "csv",
    phase: Callable[[str], None] | None = None,
    at_values: bool = False,
) -> Experiment:
    """Run every variant (or the named ones) as an ensemble, judge the hypotheses, write the results.

    The results folder is checked (not the current folder nor one holding the
    scenario; writable; no files negsim did not write in the way; room on its
    disk) and locked before the first replication is simulated. ``wait``
    waits for another run writing the same folder instead of failing.

    ``runs="auto"`` starts from the scenario's `experiment.runs` and adds whole
    chunks until every verdict (all worlds) is decided against its smallest
    effect, or `experiment.auto_max_runs` is reached; each pass simulates from
    the first replication, so the runs are those of ``runs=<the final count>``,
    byte for byte. Its verdicts rest on confidence sequences (valid at every
    look, each row at alpha / rows: `intervals.confidence_sequence`), so
    stopping at the first decided look keeps the stated error rate.

    When the scenario has an `observed` record, every verdict is also judged
    on the worlds that reproduce it (the `record_*` columns). ``given_record``
    (or a hypothesis' `given: record`) requires those verdicts: fewer than
    `MIN_RECORD_RUNS` matching base runs is then an error, raised before
    anything is written (earlier results in the folder stay as they were).

    ``executor`` is where chunks run: ``"processes"`` (``jobs`` of this
    machine's cores, the default), ``"serial"`` or ``"dask"`` (the cluster
    at ``scheduler``, or a `LocalCluster` of ``jobs`` workers); the files are
    the same bytes whichever runs them. Chunks are written as they finish, so
    memory is bounded by the chunk, not by ``runs`` (docs/scaling.md);
    ``keep_series`` also writes every run's weekly series (`series.parquet`);
    ``runs_format="parquet"`` writes the per-run table as `runs.parquet`
    instead of `runs.csv` (typed columns, full precision, compressed).

    Each replication draws its values of the scenario's `uncertain` paths from
    their distributions, the same draw for its base and every variant (common
    random numbers; a path a variant sets keeps the variant's value), so the
    verdicts' intervals include what the scenario does not know
    (`negsim.run.assumptions`); ``at_values`` runs at the written values.
    `runs.csv` has each path's value per run as `input.<path>`; the manifest
    says which (`assumptions`: `drawn` or `written`).

    Raises:
        UsageError: an argument out of range (the message `negsim run` shows).
        ScenarioError: the scenario file has problems.
        ResultsError: the results folder cannot be used or written.
        NegsimError: an unknown variant; a record required but absent or too rarely reproduced.
    """
    started = time.perf_counter()
    runs = optional_argument("runs", runs)
    seed = optional_argument("seed", seed)
    jobs = optional_argument("jobs", jobs)
    confidence = optional_argument("confidence", confidence)
    executor = check_argument("executor", executor)
    runs_format = check_argument("runs_format", runs_format)
    if out is not None and not isinstance(out, str | os.PathLike):
        raise UsageError(f"out: must be a folder path (got {out!r})")
    if scheduler is not None and not isinstance(scheduler, str):
        raise UsageError(
            f"scheduler: must be an address such as tcp://HOST:8786 (got {scheduler!r})"
        )
    scenario_file = scenario_file_of(scenario_path)
    scenario = scenario_file.scenario
    experiment = scenario.experiment
    auto = runs == AUTO
    cap = max(experiment.auto_max_runs, experiment.runs)
    runs = experiment.runs if runs is None or auto else int(runs)
    seed = experiment.seed if seed is None else seed
    confidence = experiment.confidence if confidence is None else confidence
    chosen = _variant_names(scenario_file, variants)
    if not isinstance(at_values, bool):
        raise UsageError(f"at_values: must be True or False (got {at_values!r})")
    # Refused before the folder is touched: a path that cannot be drawn costs nothing.
    scenarios = variant_scenarios(scenario_file, chosen, draw=not at_values)
    destination = Path(out) if out is not None else Path("results") / scenario.name
    command = list(command) if command is not None else list(sys.argv)
    _warn_if_more_jobs_than_cores(jobs)
    hypotheses_spec = {
        name: hypothesis.model_dump() for name, hypothesis in scenario.hypotheses.items()
    }
    required = [name for name, spec in hypotheses_spec.items() if spec.get("given") == "record"]
    needs_record = given_record or bool(required)
    if needs_record:
        asked = "--given-record" if given_record else f"given: record ({', '.join(required)})"
        if not scenario.observed:
            raise NegsimError(
                f"{scenario_file.path}: {asked} needs an `observed:` block (the record's "
                "patterns) in the scenario; see docs/scenario-format.md"
            )
        if BASE not in chosen:
            raise NegsimError(
                f"{asked}: the worlds like ours are base runs; run the `base` variant too"
            )
    patterns = weeks_of(scenario) if scenario.observed else []

    def waiting(holder: Holder) -> None:
        warnings.warn(
            f"{destination}: in use by {holder}; waiting for it to finish",
            NegsimWarning,
            stacklevel=2,
        )

    # Checked and locked before the work: a bad folder costs a second, not the run.
    output = open_results_folder(
        destination,
        protect=[("the current folder", Path.cwd()), ("the scenario file", scenario_file.path)],
        estimate=estimated_bytes(
            cap if auto else runs,
            len(chosen),
            scenario.weeks(),
            len(scenario.actors),
            keep_series=keep_series,
            inputs=len(scenario.uncertain),
        ),
        wait=wait,
        on_wait=waiting,
        command=command,
    )
    passes: list[int] = []
    columns = [
        source_column(m) for spec in hypotheses_spec.values() for m in hypothesis_metrics(spec)
    ]
    with output:
        # After the folder's checks, before any work: an unreachable scheduler stops here.
        # No more workers than chunks: a small run forks no idle processes.
        chunks = len(chosen) * -(-(cap if auto else runs) // experiment.chunk_size)
        # Forked workers inherit this process's modules: scipy.stats (the draws' quantiles;
        # the verdicts' tests here afterwards) imported once here, not once in each worker.
        import scipy.stats  # noqa: F401

        workers = make_executor(min(jobs or available_cores(), chunks), executor, scheduler)
        stream: EnsembleStream | None = None
        try:
            while True:
                passes.append(runs)
                if stream is not None:
                    stream.discard()
                stream = _stream_variants(
                    scenario_file,
                    scenarios,
                    chosen,
                    runs,
                    seed,
                    workers,
                    progress,
                    patterns,
                    columns,
                    output.staging,
                    keep_series,
                    runs_format,
                )
                runs_table = stream.verdict_table()
                record = None
                if patterns and BASE in chosen:
                    matched = like_ours(patterns, stream.matches)
                    record = pd.Series(
                        matched.tolist(), index=pd.RangeIndex(runs, name="replication")
                    )
                if phase:
                    phase("judging")
                hypotheses = hypothesis_table(
                    runs_table,
                    hypotheses_spec,
                    confidence,
                    experiment.bootstrap_resamples,
                    seed,
                    record,
                    horizon=scenario.weeks(),
                    sequential=auto,
                    conditioned=conditioning(patterns),
                )
                del runs_table
                following = (
                    _next_runs(hypotheses, runs, cap, experiment.chunk_size) if auto else None
                )
                if following is None:
                    break
                runs = following
            workers.close()
        except BaseException as error:
            workers.terminate()
            if stream is not None:
                stream.close()
            if isinstance(error, OSError):  # the stream's files: a full disk, a vanished folder
                raise output.failure(error) from None
            raise
        skipped = [name for name in hypotheses_spec if name not in set(hypotheses["hypothesis"])]
        if phase:
            phase("summarising")
        summaries = stream.summaries()
        timeseries = pd.concat([summaries[name] for name in chosen], ignore_index=True)
        events = events_frame({name: scenario_file.variant(name) for name in chosen})
        if patterns and BASE in chosen:
            patterns_frame = patterns_table(patterns, stream.matches, confidence)
        else:
            patterns_frame = patterns_table([], np.zeros((0, 0), dtype=bool), confidence).iloc[:0]
        record_runs = int(record.sum()) if record is not None else None
        elapsed = time.perf_counter() - started
        manifest = {
            "negsim": __version__,
            "python": platform.python_version(),
            "numpy": np.__version__,
            "mesa": _mesa_version(),
            "scenario": str(scenario_file.path),
            "scenario_name": scenario.name,
            "scenario_sha256": scenario_file.sha256,
            # What the issue line means, for figures that read results only.
            "government": next(
                (key for key, actor in scenario.actors.items() if actor.kind == "government"), None
            ),
            "issue": {
                "name": scenario.issue.name,
                "low": scenario.issue.low,
                "high": scenario.issue.high,
            },
            "seed": seed,
            "runs": runs,
            "runs_auto": passes if auto else None,
            "pairing": PAIRING,
            "assumptions": WRITTEN if at_values or not scenario.uncertain else DRAWN,
            "chunk_size": experiment.chunk_size,
            "executor": executor,
            "variants": chosen,
            "confidence": confidence,
            "bootstrap_resamples": experiment.bootstrap_resamples,
            "hypotheses_skipped": skipped,
            "observed_patterns": len(patterns),
            "record_runs": record_runs,
            "given_record": needs_record,
            # Weeks each variant's spin-up ran until settled, chunk by chunk.
            "spinup_weeks": stream.spinup_weeks(),
            "elapsed_seconds": round(elapsed, 3),
            "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "command": command,
        }
        if needs_record and (record_runs or 0) < MIN_RECORD_RUNS:
            # A failure, so nothing is committed: earlier results in the folder stay.
            stream.close()
            raise NegsimError(
                f"only {record_runs or 0} of {runs} base runs reproduce the record "
                f"(every pattern of `observed:`), fewer than the {MIN_RECORD_RUNS} a verdict "
                f"on the worlds like ours needs ({_pattern_counts(patterns_frame)}); nothing "
                f"written, earlier results in {output.path} unchanged: run more (--runs) or "
                "check the patterns"
            )
        runs_file = RUNS_PARQUET if runs_format == "parquet" else "runs.csv"
        output.write_file(runs_file, stream.write_runs, runs * len(chosen))
        posterior = None
        shortfall: list[str] = []
        if BASE in chosen and conditioning(patterns):
            posterior = posterior_table(
                _base_runs(output.staged(runs_file), runs_format), confidence
            )
            entry = _posterior_entry(posterior)
            manifest["posterior"] = entry
            manifest["calibration"] = _calibration(
                scenario, patterns_frame, runs, record_runs or 0, confidence, at_values
            )
            # Without drawn inputs there is no posterior to be imprecise about (the note stays).
            if entry["inputs"] > 0 and entry["note"]:
                shortfall.append(entry["note"])
        if keep_series:
            rows = runs * len(chosen) * scenario.weeks()
            output.write_file(SERIES, stream.write_series, rows)
        if phase:
            phase("writing")
        # The verdicts in words, for a reader without negsim (docs/results.md, hypotheses.md).
        summary = hypotheses_markdown(
            hypotheses, str(scenario.name), runs, record_runs, needs_record, patterns_frame
        )
        output.write_file(HYPOTHESES_MD, lambda path: path.write_text(summary, encoding="utf-8"))
        write_results(
            ResultsFolder(
                None, timeseries, hypotheses, events, manifest, patterns_frame, posterior
            ),
            output,
        )
    paired = zip(hypotheses["hypothesis"].astype(str), hypotheses["runs"].astype(int), strict=True)
    for message in runs_warnings(list(paired)) + selection_warnings(hypotheses) + shortfall:
        warnings.warn(message, NegsimWarning, stacklevel=2)
    return Experiment(
        output.path,
        hypotheses,
        skipped,
        elapsed,
        runs,
        chosen,
        output.kept,
        output.notes,
        patterns_frame,
        record_runs,
        passes,
    )


def _base_runs(path: Path, runs_format: str) -> pd.DataFrame:
    """The base variant's rows of a written runs table: `matches_record` and the `input.*` columns.

    Read back a block at a time (only these columns and rows kept), so
    memory grows with the base runs' inputs, not with the whole table.
    """
    from negsim.analysis.posterior import MATCHES_COLUMN, input_columns

    def wanted(column: str) -> bool:
        return column in ("variant", MATCHES_COLUMN) or bool(input_columns([column]))

    if runs_format == "parquet":
        import pyarrow.parquet as pq

        names = [c for c in pq.read_schema(path).names if wanted(c)]
        table = pd.read_parquet(path, columns=names)
        return table[table["variant"].astype(str) == BASE].reset_index(drop=True)
    parts = [
        block[block["variant"].astype(str) == BASE]
        for block in pd.read_csv(path, usecols=wanted, chunksize=100_000)
    ]
    return pd.concat(parts, ignore_index=True)


def _posterior_entry(posterior: pd.DataFrame) -> dict[str, Any]:
    """The manifest's `posterior`: how the record was used as evidence (docs/results.md)."""
    acceptance = posterior.iloc[-1]
    return {
        "method": "rejection ABC on the conditioning patterns (Pritchard et al. 1999)",
        "inputs": len(posterior) - 1,
        "accepted": int(acceptance["posterior_runs"]),
        "min_accepted": MIN_ACCEPTED,
        "note": str(acceptance["note"]) if isinstance(acceptance["note"], str) else "",
    }


def _calibration(
    scenario: Any,
    patterns: pd.DataFrame,
    runs: int,
    accepted: int,
    confidence: float,
    at_values: bool,
) -> dict[str, Any]:
    """The manifest's `calibration`: how this theory was fitted to the record (analysis.calibration)."""
    holdout = patterns[patterns["use"] == "holdout"]
    fit = dict(
        zip(holdout["pattern"].astype(str), holdout["share_like_ours"].astype(float), strict=True)
    )
    return calibration_record(
        scenario.uncertain,
        {p.id: str(p.use) for p in scenario.observed},
        runs,
        accepted,
        fit,
        confidence,
        drawn=bool(scenario.uncertain) and not at_values,
    )


def _pattern_counts(patterns: pd.DataFrame) -> str:
    """'p1 12/30, p2 0/30': how many base runs reproduce each pattern, for a one-line message."""
    rows = patterns[patterns["pattern"] != ALL_PATTERNS]
    counts = zip(
        rows["pattern"].astype(str),
        rows["reproduced"].astype(int),
        rows["runs"].astype(int),
        strict=True,
    )
    return ", ".join(f"{name} {reproduced}/{runs}" for name, reproduced, runs in counts)


def _stream_variants(
    scenario_file: ScenarioFile,
    scenarios: dict[str, Any],
    chosen: list[str],
    runs: int,
    seed: int,
    executor: Executor,
    progress: ProgressCallback | None,
    patterns: list[WeekPattern],
    columns: list[str],
    staging: Path,
    keep_series: bool,
    runs_format: str = "csv",
) -> EnsembleStream:
    """Every chosen variant simulated over ``executor``, its chunks written as they finish.

    The base variant's chunks go first: the other variants' rows carry the
    record match of the base run of the same replication. ``scenarios`` are
    the variants as simulated (their assumptions drawn or written).
    """
    scenario = scenario_file.scenario
    chunk_size = scenario.experiment.chunk_size
    first = sorted(chosen, key=lambda name: name != BASE)
    # A chunk of several variants at once: they share its spin-up (negsim.model.spinup).
    # As many variants together as the spill budget allows, and no fewer groups than workers.
    chunks = -(-runs // chunk_size)
    together = min(
        variants_per_group(runs, len(chosen), scenario.weeks(), len(scenario.actors)),
        -(-len(chosen) * chunks // max(1, executor.jobs)),
    )
    groups = group_tasks(
        [(name, scenarios[name]) for name in first], runs, seed, chunk_size, together
    )
    total = sum(len(group.tasks) for group in groups)

    def matcher(series: np.ndarray, names: Sequence[str]) -> np.ndarray:
        return match(patterns, series, names)

    stream = EnsembleStream(
        [(name, scenarios[name]) for name in chosen],
        runs,
        chunk_size,
        staging,
        columns,
        matcher if patterns else None,
        len(patterns),
        keep_series,
        runs_format,
        [i for i, c in enumerate(patterns) if c.pattern.use == "condition"],
    )
    try:
        done = 0
        for results in executor.map(simulate_group, groups):
            for chunk in results:
                stream.add(chunk)
                done += 1
                if progress:
                    progress(done, total)
    except BaseException:
        stream.close()
        raise
    assert stream.complete()
    return stream


def _next_runs(hypotheses: pd.DataFrame, runs: int, cap: int, chunk: int) -> int | None:
    """The next run count of `runs="auto"`, or None when done.

    Done when every verdict is decided, when the cap is reached, or when the
    undecided ones sit on their bound (no run count decides them). Otherwise
    the largest estimate of the runs needed, at least one chunk more and at
    most four times as many, rounded up to whole chunks.
    """
    needed = hypotheses["runs_needed"].astype(float)
    finite = needed[np.isfinite(needed)]
    if runs >= cap or finite.empty:
        return None
    target = max(runs + chunk, min(float(finite.max()), 4.0 * runs))
    whole = int(np.ceil(target / chunk) * chunk)
    return min(cap, whole)


def _mesa_version() -> str:
    import mesa

    return str(mesa.__version__)

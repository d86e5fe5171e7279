"""The Python API of sensitivity sweeps; `negsim sweep` is a thin layer over it.

>>> from negsim.sweep_api import plan_sweep, run_sweep
>>> plan = plan_sweep("scenarios/geneva3.yaml", method="morris", samples=10, runs=200)
>>> plan.total_runs                       # what it will cost, before anything runs
>>> sweep = run_sweep(plan, jobs=2)
>>> sweep.robustness                      # share of the space where each verdict holds
>>> sweep.sensitivity                     # which parameters each effect turns on

A sweep (see `negsim.run.sweep`) runs, at every sample point and at the
scenario's own values, the variants the hypotheses compare; judges every
hypothesis there with the verdict function of `negsim run`
(`negsim.analysis.verdicts.hypothesis_table`); checkpoints each finished
point; and at the end computes sensitivity indices, verdict shares and flip
regions (`negsim.analysis.sensitivity`) and writes the sweep folder
(`negsim.results.sweep`).
"""

from __future__ import annotations

import datetime as dt
import math
import platform
import sys
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from negsim import __version__
from negsim.analysis.sensitivity import (
    CONFIDENCE,
    MAIN_INDEX,
    RESAMPLES,
    claims,
    robustness_frame,
    sensitivity_frame,
    sweep_frame,
)
from negsim.analysis.verdicts import hypothesis_table
from negsim.errors import NegsimError, NegsimWarning, Problem
from negsim.results import runs_frame
from negsim.results.lock import Holder
from negsim.results.reader import open_sweep
from negsim.results.sweep import (
    SweepCheckpoint,
    SweepFolder,
    checkpoint_path,
    open_sweep_folder,
    read_sweep_manifest,
    write_sweep,
)
from negsim.run.ensemble import EnsembleResult
from negsim.run.executors import make_executor
from negsim.run.sweep import (
    DEFAULT_SAMPLES,
    METHODS,
    Design,
    Factor,
    check_samples,
    make_design,
    point_scenarios,
    points_for,
    screening_factors,
    simulate_points,
    uncertain_factors,
)
from negsim.scenario import BASE, ScenarioFile, load

DEFAULT_RUNS = 200
"""Replications per variant at each sample point."""
DEFAULT_SCREENING_SAMPLES = 4
"""Morris trajectories of a screening sweep (`--all`): screening ranks, it does not measure."""
BASE_POINT = -1
"""The index under which the scenario's own values are checkpointed."""

ProgressCallback = Callable[[int, int], None]


@dataclass(frozen=True)
class SweepPlan:
    """What a sweep will do, known before anything runs."""

    scenario_file: ScenarioFile
    method: str
    samples: int
    runs: int
    seed: int
    screening: bool
    factors: tuple[Factor, ...]
    skipped: dict[str, str]
    """Numbers a screening sweep leaves out, with the reason."""
    variants: tuple[str, ...]
    """The variants the hypotheses compare, simulated at every point."""
    destination: Path
    chunk_size: int
    confidence: float
    resamples: int

    @property
    def points(self) -> int:
        """Sample points of the design (the scenario's own values not counted)."""
        return points_for(self.method, self.samples, len(self.factors))

    @property
    def total_runs(self) -> int:
        """Replications simulated in all: (points + 1) x variants x runs."""
        return (self.points + 1) * len(self.variants) * self.runs

    @property
    def warnings(self) -> tuple[Problem, ...]:
        return self.scenario_file.warnings

    def identity(self) -> dict[str, Any]:
        """What makes two sweeps the same (checked by `--resume`)."""
        scenario = self.scenario_file.scenario
        return {
            "negsim": __version__,
            "scenario": scenario.name,
            "scenario_sha256": self.scenario_file.sha256,
            "method": self.method,
            "samples": self.samples,
            "runs": self.runs,
            "seed": self.seed,
            "screening": self.screening,
            "chunk_size": self.chunk_size,
            "confidence": self.confidence,
            "bootstrap_resamples": self.resamples,
            "variants": list(self.variants),
            "factors": [factor.describe() for factor in self.factors],
            "hypotheses": {
                name: hypothesis.model_dump() for name, hypothesis in scenario.hypotheses.items()
            },
        }


def plan_sweep(
    scenario: str | Path | ScenarioFile,
    method: str | None = None,
    samples: int | None = None,
    runs: int | None = None,
    seed: int | None = None,
    screening: bool = False,
    out: str | Path | None = None,
) -> SweepPlan:
    """Check a sweep's inputs and say what it will run.

    Defaults: Morris; `DEFAULT_SAMPLES` (or `DEFAULT_SCREENING_SAMPLES` with
    ``screening``); `DEFAULT_RUNS`; the scenario's seed; the folder
    ``results/<scenario>-sweep``.

    Raises:
        ScenarioError: the scenario file has problems (`uncertain` included).
        NegsimError: nothing to sweep or to judge, or an unusable sample count.
    """
    scenario_file = scenario if isinstance(scenario, ScenarioFile) else load(scenario)
    model = scenario_file.scenario
    method = method or "morris"
    if method not in METHODS:
        raise NegsimError(f"unknown method {method!r}; one of {', '.join(METHODS)}")
    if screening:
        factors, skipped = screening_factors(model)
    else:
        factors, skipped = uncertain_factors(model), {}
        if not factors:
            raise NegsimError(
                f"{scenario_file.path}: no `uncertain` block, so nothing to sweep; list the "
                "assumptions to vary there (docs/scenario-format.md#uncertain), or screen every "
                "parameter with --all"
            )
    variants = tuple(
        dict.fromkeys(
            name
            for hypothesis in model.hypotheses.values()
            for name in (hypothesis.treatment, hypothesis.control)
        )
    )
    if not variants:
        raise NegsimError(
            f"{scenario_file.path}: no hypotheses, so no verdict to test; add a `hypotheses` block"
        )
    if samples is None:
        samples = (
            DEFAULT_SCREENING_SAMPLES
            if screening and method == "morris"
            else DEFAULT_SAMPLES[method]
        )
    check_samples(method, samples, len(factors))
    if runs is not None and runs < 1:
        raise NegsimError(f"--runs: must be 1 or more (got {runs})")
    runs = runs or DEFAULT_RUNS
    experiment = model.experiment
    return SweepPlan(
        scenario_file=scenario_file,
        method=method,
        samples=samples,
        runs=runs,
        seed=experiment.seed if seed is None else seed,
        screening=screening,
        factors=tuple(factors),
        skipped=skipped,
        variants=variants,
        destination=Path(out) if out else Path("results") / f"{model.name}-sweep",
        chunk_size=min(experiment.chunk_size, runs),
        confidence=experiment.confidence,
        resamples=experiment.bootstrap_resamples,
    )


@dataclass
class Sweep:
    """What `negsim sweep` produced."""

    destination: Path
    plan: SweepPlan
    design: Design
    at_scenario_values: pd.DataFrame
    """The hypotheses table at the scenario's own values (`hypotheses.csv` columns)."""
    sweep: pd.DataFrame
    sensitivity: pd.DataFrame
    robustness: pd.DataFrame
    elapsed: float
    resumed_points: int
    """Points taken from the checkpoint of an interrupted sweep."""
    complete_already: bool = False
    """`--resume` found the sweep already finished: nothing was run or written."""
    notes: list[str] = field(default_factory=list)


def _record_share(
    scenario_file: ScenarioFile, ensembles: dict[str, EnsembleResult]
) -> float | None:
    """Share of the point's base runs that reproduce every conditioning pattern of the scenario's `observed:` block.

    None without a record or without a base run (then sweep.csv has no
    `record_share` column). Dates are not swept, so the patterns' weeks are
    those of the scenario as written.
    """
    from negsim.analysis.patterns import like_ours, match, weeks_of

    scenario = scenario_file.scenario
    if not scenario.observed or BASE not in ensembles:
        return None
    base = ensembles[BASE]
    patterns = weeks_of(scenario)
    matched = like_ours(patterns, match(patterns, base.series, base.metric_names))
    return float(matched.mean()) if matched.size else None


def _judge(
    plan: SweepPlan, index: int, ensembles: dict[str, EnsembleResult], values: list[float]
) -> dict[str, Any]:
    """A point's checkpoint record: its verdicts, judged as `negsim run` judges them."""
    model = plan.scenario_file.scenario
    runs_table = runs_frame([ensembles[name] for name in plan.variants])
    specification = {name: h.model_dump() for name, h in model.hypotheses.items()}
    table = hypothesis_table(
        runs_table,
        specification,
        plan.confidence,
        plan.resamples,
        plan.seed,
        horizon=model.weeks(),
    )
    return {
        "sample": index,
        "values": values,
        "record_share": _record_share(plan.scenario_file, ensembles),
        "hypotheses": table.to_dict("records"),
    }


def run_sweep(
    plan: SweepPlan,
    jobs: int | None = None,
    resume: bool = False,
    progress: ProgressCallback | None = None,
    command: Sequence[str] | None = None,
    executor: str = "processes",
    scheduler: str | None = None,
    wait: bool = False,
) -> Sweep:
    """Run a planned sweep (resuming from its checkpoint with ``resume``) and write its folder.

    The folder is checked and locked before the first point is simulated
    (``wait``: if another negsim process holds it, wait for it, saying so in
    a `NegsimWarning`, instead of failing). ``executor`` and ``scheduler``
    say where the chunks run, as for `negsim.api.run_experiment`; the files
    are the same bytes on each. Resuming, every record of the checkpoint is
    checked (its checksum, and its values against the design): damaged ones
    are dropped and simulated again, and a `NegsimWarning` says so.

    Raises:
        ResultsError: the folder or its checkpoint cannot be used, or (resuming
            a finished sweep) its files or manifest are not what it wrote.
        NegsimError: a sample point the scenario does not accept.
    """
    started = time.perf_counter()
    design = make_design(plan.factors, plan.method, plan.samples, plan.seed)
    identity = plan.identity()
    destination = plan.destination
    if resume and not checkpoint_path(destination).exists():
        finished = _finished_sweep(plan, identity, design, started)
        if finished is not None:
            return finished
    protect = [("the current folder", Path.cwd()), ("the scenario file", plan.scenario_file.path)]

    def waiting(holder: Holder) -> None:
        warnings.warn(
            f"{destination}: in use by {holder}; waiting for it to finish",
            NegsimWarning,
            stacklevel=3,
        )

    output = open_sweep_folder(
        destination, protect=protect, wait=wait, on_wait=waiting, command=command
    )
    with output:
        checkpoint, records = SweepCheckpoint.open(
            destination, identity, resume, partial(_check_record, plan, design)
        )
        for note in checkpoint.notes:
            warnings.warn(note, NegsimWarning, stacklevel=2)
        try:
            resumed = len({r["sample"] for r in records})
            done = {r["sample"] for r in records}
            todo = [i for i in [BASE_POINT, *range(design.points)] if i not in done]
            total = design.points + 1
            if progress and resumed:
                progress(resumed, total)
            _simulate(
                plan, design, todo, jobs, checkpoint, progress, resumed, total, executor, scheduler
            )
            result = _tables(plan, design, {r["sample"]: r for r in checkpoint.records()})
            manifest = _manifest(
                plan, design, identity, time.perf_counter() - started, resumed, command
            )
            write_sweep(
                SweepFolder(result["sweep"], result["sensitivity"], result["robustness"], manifest),
                output,
            )
        except BaseException:
            checkpoint.close()
            raise
        checkpoint.remove()
    return Sweep(
        destination=destination,
        plan=plan,
        design=design,
        at_scenario_values=result["base"],
        sweep=result["sweep"],
        sensitivity=result["sensitivity"],
        robustness=result["robustness"],
        elapsed=time.perf_counter() - started,
        resumed_points=resumed,
        notes=list(output.notes),
    )


def _finished_sweep(
    plan: SweepPlan, identity: dict[str, Any], design: Design, started: float
) -> Sweep | None:
    """With `--resume` and no checkpoint: the same sweep already written, else None (start afresh)."""
    from negsim.errors import ResultsError
    from negsim.results.sweep import _differences

    manifest = read_sweep_manifest(plan.destination) if plan.destination.is_dir() else None
    if manifest is None or "sweep" not in manifest:
        return None
    # "Already complete" only for a folder whose files and manifest are the sweep's own.
    folder = open_sweep(plan.destination)
    stored = folder.manifest["sweep"]["identity"]
    if stored != identity:
        raise ResultsError(
            f"{plan.destination}: cannot resume: the sweep there was made with "
            + "; ".join(_differences(stored, identity))
            + ". Run without --resume to replace it"
        )
    return Sweep(
        destination=plan.destination,
        plan=plan,
        design=design,
        at_scenario_values=pd.DataFrame(),
        sweep=folder.table("sweep.csv"),
        sensitivity=folder.table("sensitivity.csv"),
        robustness=folder.table("robustness.csv"),
        elapsed=time.perf_counter() - started,
        resumed_points=design.points + 1,
        complete_already=True,
    )


def _check_record(plan: SweepPlan, design: Design, record: Mapping[str, Any]) -> str | None:
    """What is wrong with a checkpoint record of this sweep, or None (see `_judge`).

    Its sample must be one of the design's, its values the design's values
    there (bit for bit: both come from the same seed), its verdicts rows of
    the sweep's hypotheses.
    """
    sample = record.get("sample")
    if type(sample) is not int or not BASE_POINT <= sample < design.points:
        return f"sample {_shown(sample)} is not a point of the design"
    values = record.get("values")
    expected = [] if sample == BASE_POINT else [float(v) for v in design.values[sample]]
    if not isinstance(values, list) or values != expected:
        return f"the values of sample {sample} are not the design's"
    share = record.get("record_share")
    if share is not None and not (isinstance(share, float | int) and 0 <= share <= 1):
        return f"record_share {_shown(share)} of sample {sample} is not a share"
    rows = record.get("hypotheses")
    names = set(plan.scenario_file.scenario.hypotheses)
    if not isinstance(rows, list) or not all(
        isinstance(row, dict)
        and row.get("hypothesis") in names
        and isinstance(row.get("verdict"), str)
        for row in rows
    ):
        return f"the verdicts of sample {sample} are not rows of this sweep's hypotheses"
    return None


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 30 else text[:27] + "..."


def _simulate(
    plan: SweepPlan,
    design: Design,
    todo: list[int],
    jobs: int | None,
    checkpoint: SweepCheckpoint,
    progress: ProgressCallback | None,
    done: int,
    total: int,
    kind: str = "processes",
    scheduler: str | None = None,
) -> None:
    if not todo:
        return
    model = plan.scenario_file.scenario
    points = {
        index: point_scenarios(
            model, {} if index == BASE_POINT else design.point(index), plan.variants
        )
        for index in todo
    }
    tasks_per_point = len(plan.variants) * math.ceil(plan.runs / plan.chunk_size)
    executor = make_executor(jobs, kind, scheduler)
    window = max(1, math.ceil(8 * executor.jobs / tasks_per_point))
    try:
        for index, ensembles in simulate_points(
            points, plan.runs, plan.seed, plan.chunk_size, executor, window
        ):
            values = [] if index == BASE_POINT else [float(v) for v in design.values[index]]
            checkpoint.add(_judge(plan, index, ensembles, values))
            del points[index]
            done += 1
            if progress:
                progress(done, total)
        executor.close()
    except BaseException:
        executor.terminate()
        raise


def _tables(
    plan: SweepPlan, design: Design, records: dict[int, dict[str, Any]]
) -> dict[str, pd.DataFrame]:
    """The three tables from the checkpoint's records (the same bytes, resumed or not)."""
    missing = [i for i in [BASE_POINT, *range(design.points)] if i not in records]
    if missing:
        raise NegsimError(f"sweep incomplete: {len(missing)} points missing from the checkpoint")
    base = pd.DataFrame(records[BASE_POINT]["hypotheses"])
    tables = [pd.DataFrame(records[i]["hypotheses"]) for i in range(design.points)]
    shares = [records[i].get("record_share") for i in range(design.points)]
    sweep = sweep_frame(design.names, design.values, tables, shares)
    prefixes = claims(tables)
    expected = {name: h.expected for name, h in plan.scenario_file.scenario.hypotheses.items()}
    effects = {
        pair: sweep[f"{prefix}.effect"].to_numpy(dtype=float) for pair, prefix in prefixes.items()
    }
    sensitivity = sensitivity_frame(
        plan.method, design.problem(), design.unit, effects, plan.seed % (2**32)
    )
    values = pd.DataFrame(design.values, columns=design.names)
    ranges = {f.path: (f.low, f.high) for f in design.factors}
    verdicts = {
        pair: (expected[pair[0]], sweep[f"{prefix}.verdict"].astype(str).tolist())
        for pair, prefix in prefixes.items()
    }
    base_verdicts = (
        {
            (str(h), str(m)): str(v)
            for h, m, v in zip(base["hypothesis"], base["metric"], base["verdict"], strict=True)
        }
        if len(base)
        else {}
    )
    robustness = robustness_frame(values, ranges, verdicts, base_verdicts)
    return {"base": base, "sweep": sweep, "sensitivity": sensitivity, "robustness": robustness}


def _manifest(
    plan: SweepPlan,
    design: Design,
    identity: dict[str, Any],
    elapsed: float,
    resumed: int,
    command: Sequence[str] | None,
) -> dict[str, Any]:
    from importlib.metadata import version

    return {
        "negsim": __version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "mesa": version("mesa"),
        "salib": version("SALib"),
        "prim": version("prim"),
        "scenario": str(plan.scenario_file.path),
        "scenario_name": plan.scenario_file.name,
        "scenario_sha256": plan.scenario_file.sha256,
        "method": plan.method,
        "samples": plan.samples,
        "points": design.points,
        "runs": plan.runs,
        "seed": plan.seed,
        "chunk_size": plan.chunk_size,
        "variants": list(plan.variants),
        "factors": [factor.describe() for factor in plan.factors],
        "screening_skipped": plan.skipped,
        "confidence": plan.confidence,
        "bootstrap_resamples": plan.resamples,
        "sensitivity_confidence": CONFIDENCE,
        "sensitivity_resamples": RESAMPLES,
        "total_runs": plan.total_runs,
        "points_resumed": resumed,
        "elapsed_seconds": round(elapsed, 3),
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": list(command) if command is not None else sys.argv,
        "sweep": {"identity": identity},
    }


def summary_lines(result: Sweep) -> list[str]:
    """The sweep in a few plain lines per hypothesis (what `negsim sweep` prints)."""
    plan = result.plan
    if result.complete_already:
        lines = [f"Already complete: {result.destination}/ (nothing to resume)."]
    else:
        resumed = (
            f", {result.resumed_points} taken from the checkpoint" if result.resumed_points else ""
        )
        lines = [
            f"{plan.points + 1} points x {len(plan.variants)} variants x {plan.runs} runs in "
            f"{result.elapsed:.1f} s{resumed} -> {result.destination}/"
        ]
    robustness, sensitivity = result.robustness, result.sensitivity
    column = MAIN_INDEX[plan.method]
    index = {"mu_star": "mu*"}.get(column, column)
    pairs = dict.fromkeys(zip(robustness["hypothesis"], robustness["metric"], strict=True))
    for hypothesis, metric in pairs:
        rows = robustness[
            (robustness["hypothesis"] == hypothesis) & (robustness["metric"] == metric)
        ]
        first = rows.iloc[0]
        lines += ["", f"{hypothesis} on {metric} (expected {first['expected']})"]
        at_base = rows[rows["at_scenario_values"] == 1]
        shares = ", ".join(f"{r.verdict} {r.share:.0%}" for r in rows.itertuples())
        if len(at_base):
            lines.append(
                f"  at the scenario's values: {at_base.iloc[0]['verdict']}; "
                f"over the sampled space: {shares}"
            )
        else:
            lines.append(f"  over the sampled space: {shares}")
        own = sensitivity[
            (sensitivity["hypothesis"] == hypothesis) & (sensitivity["metric"] == metric)
        ]
        ranked = own[own["rank"].notna()].sort_values("rank").head(3)
        if len(ranked):
            lines.append(
                "  turns most on: "
                + ", ".join(
                    f"{r.parameter} ({index} {getattr(r, column):.3g})" for r in ranked.itertuples()
                )
            )
        else:
            notes = own["note"]
            if len(notes) and isinstance(notes.iloc[0], str) and notes.iloc[0]:
                lines.append(f"  no indices: {notes.iloc[0]}")
        for row in rows[rows["at_scenario_values"] == 0].itertuples():
            if isinstance(row.box, str) and row.box:
                lines.append(
                    f"  {row.verdict} where: {row.box} (coverage {row.box_coverage:.0%}, "
                    f"density {row.box_density:.0%})"
                )
    return lines

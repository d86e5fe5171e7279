"""`negsim compare`: theories and variants judged on the same record (docs/results.md).

Each scenario (a theory) is simulated with the same runs and seed by the
machinery of `negsim run` (`api.simulate_variants`: the same chunks and
random streams, so a scenario's base runs here are those `negsim run` makes),
its runs checked against the patterns of the record the scenarios share,
and `negsim.analysis.evidence` gives each model's probability of
reproducing the conditioning patterns, the Bayes factor between models,
and each pattern's likelihood ratio and holdout fit. The folder
(`compare.csv`, `compare_patterns.csv`, `manifest.json`) is written as a
results folder is: checked and locked before the work, staged, committed
whole (`negsim.results.folder`).
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import math
import os
import platform
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from negsim import __version__
from negsim.analysis.calibration import calibration_record
from negsim.analysis.evidence import (
    ModelRuns,
    common_patterns,
    evidence_table,
    pattern_table,
)
from negsim.analysis.patterns import WeekPattern, match, weeks_of
from negsim.api import (
    AUTO,
    MAX_RUNS,
    optional_argument,
    scenario_file_of,
    simulate_variants,
)
from negsim.errors import NegsimError, UsageError
from negsim.results.folder import FolderKind, OutputFolder
from negsim.run.ensemble import EnsembleResult
from negsim.scenario import BASE, ScenarioFile

COMPARISON = FolderKind(
    what="comparison", record="manifest.json", writer="negsim compare", strict=True
)
COMPARE_CSV = "compare.csv"
PATTERNS_CSV = "compare_patterns.csv"

Progress = Callable[[str, int, int], None]
"""(model being simulated, chunks done, chunks in all)."""


@dataclass
class Comparison:
    """What `compare` found and where it wrote it."""

    models: pd.DataFrame
    """`compare.csv`."""
    patterns: pd.DataFrame
    """`compare_patterns.csv`."""
    out: Path | None
    runs: int
    seed: int
    confidence: float
    common: list[str]
    """Ids of the patterns every scenario defines the same way (the ones judged)."""
    notes: list[str] = field(default_factory=list)
    """One line per thing to know (patterns left out)."""
    elapsed: float = 0.0


def _definitions(scenario_file: ScenarioFile) -> list[dict[str, Any]]:
    """The scenario's patterns as comparable definitions (an event window with its event's date)."""
    scenario = scenario_file.scenario
    dates = {event.id: event.date for event in scenario.events if event.date is not None}
    found = []
    for pattern in scenario.observed:
        definition = pattern.model_dump(mode="json")
        if pattern.event is not None:
            day = dates.get(pattern.event)
            definition["event_date"] = day.isoformat() if day else None
        found.append(definition)
    return found


def _model_name(scenario: str, variant: str, several: bool) -> str:
    return scenario if variant == BASE else f"{scenario}:{variant}" if several else variant


def compare(
    scenarios: Sequence[ScenarioFile | str | Path],
    runs: int | None = None,
    seed: int | None = None,
    jobs: int | None = None,
    out: str | Path | None = None,
    variants: bool | None = None,
    confidence: float | None = None,
    progress: Progress | None = None,
    command: Sequence[str] | None = None,
    at_values: bool = False,
) -> Comparison:
    """Simulate each scenario and judge it, and its variants, on the record's shared patterns.

    ``runs`` (default: the largest of the scenarios' `experiment.runs`) and
    ``seed`` (default: the first scenario's `experiment.seed`) are the same
    for every scenario. ``variants``: also each scenario's variants, each
    against its own base (default: only when one scenario is given).
    ``out`` None writes nothing; otherwise the folder gets `compare.csv`,
    `compare_patterns.csv` and `manifest.json`. Each scenario's `uncertain`
    paths are drawn per run from its own priors, as `negsim run` draws them
    (so the evidence is each theory's marginal probability of the record);
    ``at_values`` runs every scenario at its written values instead.

    Raises:
        UsageError: an argument out of range, or no scenario.
        ScenarioError: a scenario file has problems.
        NegsimError: a scenario without conditioning patterns, no conditioning
            pattern shared by all, the same scenario twice, or the folder
            cannot be written.
    """
    started = time.perf_counter()
    runs = optional_argument("runs", runs)
    if runs == AUTO:
        raise UsageError(f"runs: must be a whole number from 1 to {MAX_RUNS} (got 'auto')")
    seed = optional_argument("seed", seed)
    jobs = optional_argument("jobs", jobs)
    confidence = optional_argument("confidence", confidence)
    if not scenarios:
        raise UsageError("scenarios: give at least one scenario file")
    files = [scenario_file_of(s) for s in scenarios]
    names = [f.scenario.name for f in files]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise NegsimError(f"scenario {twice[0]!r} given twice: compare different theories")
    for scenario_file in files:
        if not any(p.use == "condition" for p in scenario_file.scenario.observed):
            raise NegsimError(
                f"{scenario_file.path}: no `observed:` patterns with `use: condition`, so "
                "nothing to judge it on (docs/scenario-format.md)"
            )
    common, left_out = common_patterns([_definitions(f) for f in files])
    uses: dict[str, str] = {p.id: str(p.use) for p in files[0].scenario.observed}
    if not any(uses[p] == "condition" for p in common):
        raise NegsimError(
            f"the scenarios share no conditioning pattern of the record (same id and "
            f"definition): {'; '.join(left_out)}"
        )
    notes = []
    if left_out:
        notes.append(
            f"judged on the {len(common)} patterns the scenarios share; left out: "
            + ", ".join(left_out)
        )
    experiment = files[0].scenario.experiment
    runs = max(f.scenario.experiment.runs for f in files) if runs is None else int(runs)
    seed = experiment.seed if seed is None else seed
    confidence = experiment.confidence if confidence is None else confidence
    several = len(files) > 1
    with_variants = (not several) if variants is None else bool(variants)
    output = None
    if out is not None:
        if not isinstance(out, str | os.PathLike):
            raise UsageError(f"out: must be a folder path (got {out!r})")
        output = OutputFolder(
            Path(out),
            COMPARISON,
            names=[COMPARE_CSV, PATTERNS_CSV, COMPARISON.record],
            protect=[("the current folder", Path.cwd())]
            + [("the scenario file", f.path) for f in files],
            command=list(command) if command is not None else list(sys.argv),
        )
        output.open()  # checked and locked before the work
    try:
        models = []
        for scenario_file in files:
            chosen = list(scenario_file.variants) if with_variants else [BASE]
            chosen = sorted(chosen, key=lambda name: name != BASE)
            models += _simulate(
                scenario_file,
                chosen,
                common,
                uses,
                runs,
                seed,
                jobs,
                several,
                progress,
                draw=not at_values,
            )
        table = evidence_table(models, confidence)
        per_pattern = pattern_table(models, confidence)
        elapsed = time.perf_counter() - started
        if output is not None:
            manifest = {
                "negsim": __version__,
                "python": platform.python_version(),
                "numpy": np.__version__,
                "scenarios": [
                    {
                        "path": str(f.path),
                        "name": f.scenario.name,
                        "sha256": f.sha256,
                        "variants": [m.variant for m in models if m.scenario == f.scenario.name],
                        "calibration": _calibration(f, models, confidence, draw=not at_values),
                    }
                    for f in files
                ],
                "runs": runs,
                "seed": seed,
                "assumptions": "written" if at_values else "drawn",
                "confidence": confidence,
                "patterns": common,
                "patterns_left_out": left_out,
                "method": (
                    "rejection ABC on the conditioning patterns: each model's probability of "
                    "reproducing them, Bayes factors as their ratios (Koopman score interval, "
                    "the models' runs taken as independent samples)"
                ),
                "notes": notes,
                "elapsed_seconds": round(elapsed, 3),
                "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                "command": list(command) if command is not None else list(sys.argv),
            }
            _write(output, table, per_pattern, manifest)
    except BaseException:
        if output is not None:
            output.close()
        raise
    return Comparison(
        table,
        per_pattern,
        output.path if output is not None else None,
        runs,
        seed,
        confidence,
        common,
        notes,
        time.perf_counter() - started,
    )


def _simulate(
    scenario_file: ScenarioFile,
    chosen: list[str],
    common: list[str],
    uses: dict[str, str],
    runs: int,
    seed: int,
    jobs: int | None,
    several: bool,
    progress: Progress | None,
    draw: bool = True,
) -> list[ModelRuns]:
    """One scenario's chosen variants run, each checked against the shared patterns."""
    scenario = scenario_file.scenario
    compiled = {c.pattern.id: c for c in weeks_of(scenario)}
    patterns: list[WeekPattern] = [compiled[p] for p in common]
    found: dict[str, np.ndarray] = {}

    def reduce(ensemble: EnsembleResult) -> EnsembleResult:
        # Only which runs reproduce which pattern is kept: not the weekly series.
        found[ensemble.variant] = match(patterns, ensemble.series, ensemble.metric_names)
        return dataclasses.replace(ensemble, series=np.empty((0, 0, 0), dtype=np.float32))

    label = scenario.name if several or len(chosen) == 1 else f"{scenario.name} and variants"

    def report(done: int, total: int) -> None:
        if progress is not None:
            progress(label, done, total)

    simulate_variants(scenario_file, chosen, runs, seed, jobs, report, reduce, draw=draw)
    return [
        ModelRuns(
            _model_name(scenario.name, variant, several),
            scenario.name,
            variant,
            found[variant],
            tuple(common),
            tuple(uses[p] for p in common),
        )
        for variant in chosen
    ]


def _calibration(
    scenario_file: ScenarioFile, models: list[ModelRuns], confidence: float, draw: bool
) -> dict[str, Any] | None:
    """One theory's `calibration` on the shared patterns, as `negsim run` records its own.

    None when its base world was not run (only variants chosen).
    """
    scenario = scenario_file.scenario
    base = next((m for m in models if m.scenario == scenario.name and m.variant == BASE), None)
    if base is None:
        return None
    like_ours = base.like_ours()
    accepted = int(like_ours.sum())
    fit = {
        pattern: float(base.matches[i][like_ours].mean()) if accepted else math.nan
        for i, (pattern, use) in enumerate(zip(base.patterns, base.uses, strict=True))
        if use == "holdout"
    }
    return calibration_record(
        scenario.uncertain,
        dict(zip(base.patterns, base.uses, strict=True)),
        base.runs,
        accepted,
        fit,
        confidence,
        drawn=bool(scenario.uncertain) and draw,
    )


def _csv(frame: pd.DataFrame) -> str:
    buffer = io.StringIO()
    frame.to_csv(
        buffer, index=False, float_format="%.6g", lineterminator="\n", quoting=csv.QUOTE_MINIMAL
    )
    return buffer.getvalue()


def _write_text(text: str, path: Path) -> None:
    path.write_text(text, encoding="utf-8")


def _write(
    output: OutputFolder, table: pd.DataFrame, per_pattern: pd.DataFrame, manifest: dict[str, Any]
) -> None:
    for name, frame in ((COMPARE_CSV, table), (PATTERNS_CSV, per_pattern)):
        output.write_file(name, partial(_write_text, _csv(frame)), rows=len(frame))
    output.commit(manifest)


def default_folder(scenarios: Sequence[ScenarioFile]) -> Path:
    """`results/compare-<names>`: the scenarios' names joined by dashes."""
    return Path("results") / ("compare-" + "-".join(f.scenario.name for f in scenarios))

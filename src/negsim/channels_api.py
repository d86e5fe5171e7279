"""`negsim channels`: which mechanisms carry each hypothesis's effect (docs/results.md).

Runs every hypothesis's variant pair with all channels on, then with each
channel of `negsim.analysis.channels.CHANNELS` switched off in turn, at the
same seed (so the same common random numbers), and writes `channels.csv`
and `channels.png` into a folder of their own.
"""

from __future__ import annotations

import csv
import dataclasses
import io
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from negsim import __version__
from negsim.analysis.channels import ALL, CHANNELS, channel_table
from negsim.analysis.intervals import censored_weeks
from negsim.api import optional_argument, scenario_file_of, simulate_variants
from negsim.errors import NegsimError, ResultsError, UsageError
from negsim.results.folder import FolderKind, OutputFolder
from negsim.run.sweep import point_scenarios
from negsim.scenario import ScenarioFile

CHANNEL_FOLDER = FolderKind(
    what="channel attribution", record="channels.json", writer="negsim channels", strict=True
)
CHANNELS_CSV = "channels.csv"
CHANNELS_PNG = "channels.png"


@dataclass
class ChannelAttribution:
    """What `attribute_channels` found and where it wrote it."""

    table: pd.DataFrame
    out: Path | None
    runs: int
    seed: int


def _rows(scenario_file: ScenarioFile) -> list[tuple[str, str, str, str]]:
    rows = []
    for name, hypothesis in scenario_file.scenario.hypotheses.items():
        metrics = [hypothesis.metric] if hypothesis.metric else list(hypothesis.metrics)
        rows += [(name, m, hypothesis.treatment, hypothesis.control) for m in metrics]
    return rows


def attribute_channels(
    scenario: ScenarioFile | str | Path,
    runs: int | None = None,
    seed: int | None = None,
    jobs: int | None = 1,
    out: str | Path | None = None,
    channels: Sequence[str] | None = None,
    progress: Callable[[str], None] | None = None,
) -> ChannelAttribution:
    """Each hypothesis's effect with every channel on and with each switched off in turn.

    ``out`` None writes nothing (the table is returned); otherwise
    `channels.csv` and `channels.png` go into that folder (negsim's own
    folder: the same rules as a results folder, docs/results.md).

    Raises:
        UsageError: an argument out of range, or an unknown channel.
        ScenarioError: the scenario file has problems.
        NegsimError: the scenario has no hypotheses, or a channel's values break it.
    """
    runs = optional_argument("runs", runs)
    seed = optional_argument("seed", seed)
    jobs = optional_argument("jobs", jobs)
    scenario_file = scenario_file_of(scenario)
    known = [c.name for c in CHANNELS]
    chosen = list(channels) if channels else known
    unknown = [c for c in chosen if c not in known]
    if unknown:
        raise UsageError(f"channel: unknown {unknown[0]!r}; known: {', '.join(known)}")
    rows = _rows(scenario_file)
    if not rows:
        raise NegsimError(f"{scenario_file.path}: has no hypotheses to attribute")
    experiment = scenario_file.scenario.experiment
    runs = experiment.runs if runs is None else runs
    seed = experiment.seed if seed is None else seed
    variants = list(dict.fromkeys(v for row in rows for v in row[2:]))
    weeks = scenario_file.scenario.weeks()
    outcomes = {}
    for name in [ALL, *chosen]:
        off = {} if name == ALL else dict(next(c for c in CHANNELS if c.name == name).off)
        if progress is not None:
            progress(
                f"{'every channel on' if name == ALL else name + ' off'}: {runs} runs x {len(variants)} variants"
            )
        scenarios = point_scenarios(scenario_file.scenario, off, variants)
        edited = dataclasses.replace(scenario_file, variants=scenarios)
        results = simulate_variants(edited, variants, runs, seed, jobs)
        outcomes[name] = {r.variant: _with_derived(r.outcomes, weeks) for r in results}
    table = channel_table(rows, outcomes, experiment.confidence)
    written = None if out is None else _write(Path(out), table, scenario_file, runs, seed)
    return ChannelAttribution(table, written, runs, seed)


def _with_derived(outcomes: Mapping[str, np.ndarray], horizon: int) -> dict[str, np.ndarray]:
    """The run outcomes and those the verdicts derive from them (`weeks_to_agreement`)."""
    derived = dict(outcomes)
    # As the verdicts read it: a run without agreement counted at the horizon (docs/results.md).
    derived["weeks_to_agreement"] = censored_weeks(outcomes["agreement_week"], horizon)
    return derived


def _write(
    out: Path, table: pd.DataFrame, scenario_file: ScenarioFile, runs: int, seed: int
) -> Path:
    from negsim.channels_plots import draw_channels

    buffer = io.StringIO()
    table.to_csv(
        buffer, index=False, float_format="%.6g", lineterminator="\n", quoting=csv.QUOTE_MINIMAL
    )
    text = buffer.getvalue()
    output = OutputFolder(
        out, CHANNEL_FOLDER, names=[CHANNELS_CSV, CHANNELS_PNG, CHANNEL_FOLDER.record]
    )
    try:
        with output.open():
            output.write_file(
                CHANNELS_CSV, lambda path: path.write_text(text, encoding="utf-8"), rows=len(table)
            )
            output.write_file(
                CHANNELS_PNG,
                lambda path: draw_channels(
                    table, path, f"{scenario_file.name} · {runs} runs · seed {seed}"
                ),
            )
            output.commit(
                {
                    "negsim": __version__,
                    "scenario": str(scenario_file.path),
                    "scenario_sha256": scenario_file.sha256,
                    "runs": runs,
                    "seed": seed,
                    "channels": {c.name: dict(c.off) for c in CHANNELS},
                }
            )
    except ResultsError as error:
        raise NegsimError(str(error)) from None
    return out

"""The prior-vs-posterior figure of `negsim plot` (`posterior.png`; docs/results.md).

One panel per drawn input (`input.<path>` columns of `runs.csv`): the
distribution of its values over every base run (the prior, as drawn) and
over the base runs that reproduce the record's conditioning patterns (the
posterior by rejection ABC: `negsim.analysis.posterior`), as histograms on
the same bins, normalised to densities, with each one's median. What the
record taught about an assumption shows as the posterior moving away from,
or narrowing inside, the prior; an input the record says nothing about keeps
its prior shape.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from negsim.analysis.posterior import INPUT_PREFIX, MATCHES_COLUMN, MIN_ACCEPTED

PRIOR_COLOUR = "0.55"
POSTERIOR_COLOUR = "#0072B2"
BINS = 24


def input_label(column: str) -> str:
    """`input.events.drawdown.intensity` -> `events.drawdown.intensity` (the `uncertain:` path)."""
    return column[len(INPUT_PREFIX) :] if column.startswith(INPUT_PREFIX) else column


def has_drawn_inputs(folder: Any) -> bool:
    """Whether the results can give the figure: base runs with drawn inputs and the record's mark.

    Runs at the written values (no `input.*` columns) or without conditioning
    patterns have no posterior to show: the figure is then left out silently,
    as the figures of metrics a scenario does not record are.
    """
    try:
        columns = list(folder.table("runs.csv", ("variant",)).columns)
    except Exception:  # unreadable: the other figures of runs.csv say why
        return False
    return MATCHES_COLUMN in columns and any(str(c).startswith(INPUT_PREFIX) for c in columns)


def posterior_figure(folder: Any, stamp: Any) -> Any:
    """The figure from a results folder's base runs (raises plots' skip reasons when it cannot)."""
    from negsim.plots import _grid_figure, _headline, _NotApplicable, _Skip

    raw = folder.table("runs.csv", ("variant",))
    inputs = [c for c in raw.columns if str(c).startswith(INPUT_PREFIX)]
    if MATCHES_COLUMN not in raw.columns:
        raise _NotApplicable("the scenario has no conditioning patterns (no matches_record)")
    if not inputs:
        raise _NotApplicable(
            "runs.csv has no drawn inputs (input.* columns): the run was at the written values"
        )
    base = raw[raw["variant"] == "base"]
    if base.empty:
        raise _Skip("no base runs")
    accepted = pd.to_numeric(base[MATCHES_COLUMN], errors="coerce").to_numpy() == 1.0
    values = {c: pd.to_numeric(base[c], errors="coerce").to_numpy(dtype=float) for c in inputs}
    columns = min(4, len(inputs))
    rows = math.ceil(len(inputs) / columns)
    # 11 inches wide as the other figures (four panels a row), taller with more inputs; laid
    # out in inches: a title above each panel and its ticks below, the key at the bottom.
    figure, grid = _grid_figure(
        11.0, rows, columns, 1.55, margins=(0.15, 0.15, 0.62, 0.58), gaps=(0.3, 0.55)
    )
    axes = grid.ravel()
    for axis in axes[len(inputs) :]:
        axis.set_visible(False)
    shown = int(accepted.sum())
    few = f"; fewer than {MIN_ACCEPTED}, so rough" if shown < MIN_ACCEPTED else ""
    label = f"posterior: the {shown} of {len(base)} base runs that reproduce the record{few}"
    for axis, column in zip(axes, inputs, strict=False):
        _panel(axis, column, values[column], accepted, label)
    handles, labels = axes[0].get_legend_handles_labels()
    figure.legend(
        handles, labels, loc="lower center", bbox_to_anchor=(0.5, 0.0), ncol=2, frameon=False,
        fontsize=8,
    )
    _headline(figure, "Assumptions: prior and given the record", stamp)
    return figure


def _panel(axis: Any, column: str, values: np.ndarray, accepted: np.ndarray, label: str) -> None:
    from matplotlib.ticker import MaxNLocator

    finite = np.isfinite(values)
    prior = values[finite]
    posterior = values[finite & accepted]
    low, high = (float(prior.min()), float(prior.max())) if prior.size else (0.0, 1.0)
    if high <= low:  # one value drawn: a bar of its own width
        low, high = low - 0.5, high + 0.5
    bins = np.linspace(low, high, BINS + 1)
    # One filled outline and one step line per panel (`hist` would add a patch per bar).
    axis.stairs(
        _density(prior, bins),
        bins,
        fill=True,
        color=PRIOR_COLOUR,
        alpha=0.45,
        linewidth=0,
        label="prior: every base run",
    )
    if posterior.size:
        axis.stairs(
            _density(posterior, bins),
            bins,
            baseline=0.0,
            linewidth=1.6,
            color=POSTERIOR_COLOUR,
            label=label,
        )
        axis.axvline(float(np.median(posterior)), color=POSTERIOR_COLOUR, linewidth=1.0)
    if prior.size:
        axis.axvline(float(np.median(prior)), color=PRIOR_COLOUR, linewidth=1.0, linestyle="--")
    axis.set_title(input_label(column), fontsize=8)
    axis.tick_params(labelsize=7)
    axis.xaxis.set_major_locator(MaxNLocator(5))
    axis.set_yticks([])
    axis.set_ylim(bottom=0)


def _density(values: np.ndarray, bins: np.ndarray) -> np.ndarray:
    """Histogram of ``values`` on ``bins`` normalised to a density (as `hist(density=True)`)."""
    counts, edges = np.histogram(values, bins=bins)
    total = counts.sum()
    return counts / (total * np.diff(edges)) if total else counts.astype(float)

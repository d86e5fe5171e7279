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
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    from negsim.plots import _headline, _NotApplicable, _Skip, _SmallMultiples

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
    # 11 inches wide as the other figures (four panels a row), taller with more inputs: a
    # title above each panel and its ticks below, the key at the bottom. The panels are drawn
    # on one canvas (`_SmallMultiples`): 38 matplotlib axes took 1.5 s of CPU, mostly their
    # tick machinery, for a density without a y scale and five numbers under it.
    panels = _SmallMultiples(
        len(inputs), min(4, len(inputs)), width=11.0, panel_height=1.55,
        margins=(0.15, 0.15, 0.62, 0.58), gaps=(0.3, 0.55),
    )  # fmt: skip
    shown = int(accepted.sum())
    few = f"; fewer than {MIN_ACCEPTED}, so rough" if shown < MIN_ACCEPTED else ""
    label = f"posterior: the {shown} of {len(base)} base runs that reproduce the record{few}"
    for index, column in enumerate(inputs):
        _panel(panels, index, column, values[column], accepted)
    figure = panels.finish()
    handles = [
        Patch(facecolor=PRIOR_COLOUR, alpha=0.45, linewidth=0),
        Line2D([], [], color=POSTERIOR_COLOUR, linewidth=1.6),
    ]
    labels = ["prior: every base run", label] if shown else ["prior: every base run"]
    figure.legend(
        handles[: len(labels)], labels, loc="lower center", bbox_to_anchor=(0.5, 0.0), ncol=2,
        frameon=False, fontsize=8,
    )  # fmt: skip
    _headline(figure, "Assumptions: prior and given the record", stamp)
    return figure


def _panel(panels: Any, index: int, column: str, values: np.ndarray, accepted: np.ndarray) -> None:
    """One input's panel: prior filled, posterior as a step line, each one's median."""
    finite = np.isfinite(values)
    prior = values[finite]
    posterior = values[finite & accepted]
    low, high = (float(prior.min()), float(prior.max())) if prior.size else (0.0, 1.0)
    if high <= low:  # one value drawn: a bar of its own width
        low, high = low - 0.5, high + 0.5
    bins = np.linspace(low, high, BINS + 1)
    prior_density = _density(prior, bins)
    posterior_density = _density(posterior, bins) if posterior.size else np.zeros(BINS)
    top = max(float(prior_density.max()), float(posterior_density.max()), 1e-12)
    # x with matplotlib's default 5 % margins, y from 0 with 5 % above the highest bar.
    pad = 0.05 * (high - low)
    panel = panels.panel(index, (low - pad, high + pad), (0.0, 1.05 * top))
    panel.stairs(bins, prior_density, PRIOR_COLOUR, alpha=0.45)
    if posterior.size:
        panel.step(bins, posterior_density, POSTERIOR_COLOUR, width=1.6)
        panel.vline(float(np.median(posterior)), POSTERIOR_COLOUR, 1.0, zorder=2.5)
    if prior.size:
        panel.vline(float(np.median(prior)), PRIOR_COLOUR, 1.0, "--", zorder=2.5)
    panel.title(input_label(column), fontsize=8)
    panel.frame()
    panel.xticks(5, fontsize=7)


def _density(values: np.ndarray, bins: np.ndarray) -> np.ndarray:
    """Histogram of ``values`` on ``bins`` normalised to a density (as `hist(density=True)`)."""
    counts, edges = np.histogram(values, bins=bins)
    total = counts.sum()
    return counts / (total * np.diff(edges)) if total else counts.astype(float)

"""Figures of a sweep folder (`negsim sweep --plot`), drawn from its CSV files only.

Per hypothesis and metric (``<name>`` is the hypothesis name, or
``<hypothesis>-<metric>`` for a hypothesis on several metrics; ``<fmt>`` png,
svg or pdf):

* ``sensitivity_<name>.<fmt>``: each parameter's index from `sensitivity.csv`
  (Morris μ*, Sobol' ST, or S1 for a Latin hypercube) with its confidence
  interval, most influential first;
* ``effect_<name>.<fmt>``: the effect at every sample point against the three
  most influential parameters, coloured by the verdict there, with the
  flip region's bounds on each parameter shaded;
* ``flip_<name>.<fmt>``: where the verdict differs from the one at the
  scenario's own values: the sample points on the two parameters the flip
  box restricts first (or the two most influential), coloured by verdict,
  and the box. Not drawn when the verdict holds at every point.
* ``peeling_<name>.<fmt>``: PRIM's peeling trajectory for that flip (coverage
  against density of every box it passes through, coloured by how many
  parameters each bounds), with the box chosen marked: the trade-off the box
  was picked from, as the EMA Workbench draws it.

The effect plots draw the smallest effect that matters (± the bound,
dashed) and the scenario's own value of each parameter (a dotted line and
a marker in the colour of the verdict there). Nothing is computed here but
the layout, and the peeling trajectory: PRIM is run again on `sweep.csv`'s
points with `negsim.analysis.sensitivity.peeling_trajectory`, the function
that chose the box (deterministic: the same box, checked against
`robustness.csv`). Figures go to ``<folder>/figures/``
under the same rules as `negsim plot`'s: only figure files a record
(``figures.json``) lists are ever replaced.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle

from negsim import __version__
from negsim.analysis.sensitivity import peeling_trajectory
from negsim.errors import NegsimError, ResultsError
from negsim.results.folder import FolderKind, OutputFolder

FORMATS = ("png", "svg", "pdf")
SWEEP_FIGURES = FolderKind(
    what="figures", record="figures.json", writer="negsim sweep --plot", strict=False
)
VERDICT_COLOURS = {
    "supported": "#009E73",
    "contradicted": "#D55E00",
    "negligible": "#0072B2",
    "inconclusive": "#999999",
}
_INDEX_LABEL = {"mu_star": "Morris μ*", "ST": "total Sobol' index ST", "S1": "first-order index S1"}
_METADATA: dict[str, dict[str, Any]] = {
    "png": {"Software": None},
    "svg": {"Date": None, "Creator": None},
    "pdf": {"CreationDate": None, "ModDate": None, "Producer": None, "Creator": None},
}
_RC = {
    "font.size": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "svg.hashsalt": "negsim",
}


@dataclass
class SweepPlotReport:
    """Files written, and one line per figure that could not be drawn."""

    written: list[Path] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def _colour(verdict: str) -> str:
    return VERDICT_COLOURS.get(verdict, "#000000")


def _main_index(sensitivity: pd.DataFrame) -> str:
    for index in ("mu_star", "ST", "S1"):
        if index in sensitivity.columns:
            return index
    raise ValueError("sensitivity.csv has none of mu_star, ST, S1")


def _sensitivity(hypothesis: str, metric: str, rows: pd.DataFrame, index: str) -> Figure:
    rows = rows.sort_values(index, ascending=True, na_position="first")
    fig = Figure(figsize=(8.0, 0.45 * len(rows) + 1.6), layout="constrained")
    ax = fig.subplots()
    y = np.arange(len(rows))
    values = rows[index].to_numpy(dtype=float)
    ax.barh(y, np.nan_to_num(values), color="#0072B2", alpha=0.8)
    low, high = rows.get(f"{index}_ci_low"), rows.get(f"{index}_ci_high")
    if low is not None and high is not None:
        ax.errorbar(
            values,
            y,
            xerr=[values - low.to_numpy(dtype=float), high.to_numpy(dtype=float) - values],
            fmt="none",
            ecolor="0.2",
            capsize=3,
        )
    ax.set_yticks(y, rows["parameter"].tolist())
    ax.axvline(0, color="0.5", linewidth=0.8)
    ax.set_xlabel(f"{_INDEX_LABEL.get(index, index)} of the effect on {metric} (95 % interval)")
    fig.suptitle(f"{hypothesis}: which assumptions the effect turns on", x=0.01, ha="left")
    return fig


def _effect(
    hypothesis: str,
    metric: str,
    sweep: pd.DataFrame,
    parameters: list[str],
    boxes: pd.DataFrame,
    own: dict[str, float] | None = None,
    own_verdict: str = "",
) -> Figure:
    fig = Figure(figsize=(4.0 * len(parameters) + 1.5, 4.0), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(parameters), sharey=True))
    effect = sweep[f"{hypothesis}.effect"].to_numpy(dtype=float)
    verdicts = sweep[f"{hypothesis}.verdict"].astype(str)
    bound = _bound(sweep, hypothesis)
    own = own or {}
    for ax, parameter in zip(axes, parameters, strict=True):
        if bound is not None:  # the smallest effect that matters: inside ± it is negligible
            for side in (-1, 1):
                ax.axhline(side * bound, color="0.35", linewidth=1.0, linestyle="--", zorder=1)
        if parameter in own:
            ax.axvline(own[parameter], color="0.2", linewidth=1.0, linestyle=":", zorder=1)
            ax.plot(
                [own[parameter]],
                [1.0],
                marker="v",
                markersize=10,
                color=_colour(own_verdict),
                markeredgecolor="black",
                transform=ax.get_xaxis_transform(),
                clip_on=False,
                linestyle="",
                zorder=5,
            )
        for _, box in boxes.iterrows():
            low, high = box.get(f"low.{parameter}"), box.get(f"high.{parameter}")
            if isinstance(box["box"], str) and parameter in box["box"]:
                ax.axvspan(low, high, color=_colour(str(box["verdict"])), alpha=0.12, linewidth=0)
        ax.scatter(
            sweep[parameter], effect, c=[_colour(v) for v in verdicts], s=18, edgecolors="none"
        )
        ax.axhline(0, color="0.4", linewidth=0.8)
        ax.set_xlabel(parameter)
    axes[0].set_ylabel(f"effect on {metric}\n(treatment − control)")
    present = list(dict.fromkeys(verdicts))
    handles: list[Any] = [Patch(color=_colour(v), label=v) for v in present]
    if bound is not None:
        handles.append(
            Line2D([], [], color="0.35", linestyle="--", label=f"± smallest effect ({bound:g})")
        )
    if own:
        handles.append(
            Line2D(
                [],
                [],
                color="0.2",
                linestyle=":",
                marker="v",
                markerfacecolor=_colour(own_verdict),
                markeredgecolor="black",
                label=f"scenario's own value\n(verdict there: {own_verdict or '?'})",
            )
        )
    fig.legend(
        handles=handles,
        loc="outside right upper",
        frameon=False,
        title="verdict at the point",
    )
    fig.suptitle(f"{hypothesis}: effect against its most influential parameters", x=0.01, ha="left")
    return fig


def _flip(
    hypothesis: str, sweep: pd.DataFrame, box: pd.Series, axes_names: list[str], base: str
) -> Figure:
    fig = Figure(figsize=(7.0, 5.0), layout="constrained")
    ax = fig.subplots()
    verdicts = sweep[f"{hypothesis}.verdict"].astype(str)
    x_name, y_name = axes_names
    # Design points share grid levels (Morris) and hide each other: spread them
    # a little (a fixed, seeded jitter: the figure stays byte-identical) and
    # draw the box's verdict last, on top.
    jitter = np.random.default_rng(0).uniform(-0.015, 0.015, size=(len(sweep), 2))
    xs = sweep[x_name].to_numpy(float) + jitter[:, 0] * np.ptp(sweep[x_name].to_numpy(float))
    ys = sweep[y_name].to_numpy(float) + jitter[:, 1] * np.ptp(sweep[y_name].to_numpy(float))
    flipped = (verdicts == str(box["verdict"])).to_numpy()
    for group in (~flipped, flipped):
        ax.scatter(
            xs[group],
            ys[group],
            c=[_colour(v) for v in verdicts[group]],
            s=22 if group is flipped else 14,
            edgecolors="none",
            alpha=1.0 if group is flipped else 0.6,
        )
    x0, x1 = float(box[f"low.{x_name}"]), float(box[f"high.{x_name}"])
    y0, y1 = float(box[f"low.{y_name}"]), float(box[f"high.{y_name}"])
    ax.add_patch(
        Rectangle(
            (x0, y0),
            x1 - x0,
            y1 - y0,
            fill=False,
            edgecolor=_colour(str(box["verdict"])),
            linewidth=2,
        )
    )
    ax.set_xlabel(x_name)
    ax.set_ylabel(y_name)
    present = list(dict.fromkeys(verdicts))
    # The key below the axes and the box's bounds as the figure's caption: the title above
    # stays clear of both (a long title ran into a legend at the upper right).
    fig.legend(
        handles=[Patch(color=_colour(v), label=v) for v in present],
        loc="outside lower center",
        ncols=len(present),
        frameon=False,
        title="verdict at the point",
    )
    fig.suptitle(
        "\n".join(
            textwrap.wrap(f"{hypothesis}: {box['verdict']} instead of {base} in the box", 70)
        ),
        x=0.01,
        ha="left",
        fontsize=11,
    )
    ax.set_title(
        f"coverage {float(box['box_coverage']):.0%}, density {float(box['box_density']):.0%}\n"
        + "\n".join(str(box["box"]).split("; ")),
        loc="left",
        fontsize=8.5,
    )
    return fig


def _peeling(hypothesis: str, trajectory: pd.DataFrame, box: pd.Series, base: str) -> Figure:
    """PRIM's peeling trajectory: coverage against density, the chosen box marked."""
    fig = Figure(figsize=(7.0, 5.0), layout="constrained")
    ax = fig.subplots()
    restricted = trajectory["restricted"].to_numpy(dtype=int)
    points = ax.scatter(
        trajectory["coverage"],
        trajectory["density"],
        c=restricted,
        cmap="viridis",
        s=30,
        edgecolors="none",
        zorder=3,
    )
    ax.plot(trajectory["coverage"], trajectory["density"], color="0.7", linewidth=0.8, zorder=2)
    chosen = trajectory[trajectory["chosen"]]
    if len(chosen):
        row = chosen.iloc[0]
        ax.scatter(
            [row["coverage"]],
            [row["density"]],
            s=160,
            facecolors="none",
            edgecolors=_colour(str(box["verdict"])),
            linewidths=2.2,
            zorder=4,
        )
        ax.annotate(
            f"the box chosen: coverage {row['coverage']:.0%},\ndensity {row['density']:.0%}, "
            f"{int(row['restricted'])} parameter{'s' if int(row['restricted']) != 1 else ''}",
            (row["coverage"], row["density"]),
            xytext=(-12, -8),
            textcoords="offset points",
            ha="right",
            va="top",
            fontsize=9,
        )
    colourbar = fig.colorbar(points, ax=ax)
    colourbar.set_label("parameters the box bounds")
    ax.set_xlim(-0.02, 1.05)
    ax.set_ylim(-0.02, 1.05)
    ax.set_xlabel("coverage: share of the flipped points inside the box")
    ax.set_ylabel("density: share of the box's points that flipped")
    fig.suptitle(
        "\n".join(
            textwrap.wrap(
                f"{hypothesis}: where {box['verdict']} replaces {base}, PRIM's peeling trajectory",
                70,
            )
        ),
        x=0.01,
        ha="left",
        fontsize=11,
    )
    ax.set_title(
        "each point a box, peeled from the whole space (top left) to the densest; the box "
        "chosen\nbalances the two (largest harmonic mean)",
        loc="left",
        fontsize=8.5,
    )
    return fig


def _bound(sweep: pd.DataFrame, claim: str) -> float | None:
    """The smallest effect that matters at the sweep's points (their median, when it varies)."""
    column = f"{claim}.smallest_effect"
    if column not in sweep.columns:
        return None
    values = pd.to_numeric(sweep[column], errors="coerce").dropna()
    values = values[values > 0]
    return float(values.median()) if len(values) else None


def _restricted(box_text: str) -> list[str]:
    return [part.split(" in [", 1)[0].strip() for part in box_text.split(";") if " in [" in part]


def plot_sweep(
    folder: Path, out_dir: Path | None = None, fmt: str = "png", *, wait: bool = False
) -> SweepPlotReport:
    """Draw every figure of a sweep folder (see the module's docstring).

    Every file of the folder and its manifest are checked first
    (`negsim.results.reader.open_sweep`): nothing is drawn from a damaged or
    edited sweep. ``wait``: if another negsim process is writing the figure
    folder, wait for it instead of failing.

    Raises:
        NegsimError: not a sweep folder, a file or manifest field that does not
            match (one line each), an unknown format, or a figure folder that
            cannot be written.
    """
    from negsim.results.reader import open_sweep

    folder = Path(folder)
    if fmt not in FORMATS:
        raise NegsimError(f"unknown figure format {fmt!r}; choose one of {', '.join(FORMATS)}")
    try:
        checked = open_sweep(folder)
        sweep = checked.table("sweep.csv")
        sensitivity = checked.table("sensitivity.csv")
        robustness = checked.table("robustness.csv")
    except ResultsError as error:
        raise NegsimError(str(error)) from None
    try:
        index = _main_index(sensitivity)
    except ValueError as error:
        raise NegsimError(f"{folder / 'sensitivity.csv'}: {error}") from None
    # Each swept parameter's value in the scenario as written (the manifest's factors).
    own = {
        str(factor["path"]): float(factor["base"])
        for factor in checked.manifest.get("factors", [])
        if isinstance(factor, dict) and isinstance(factor.get("base"), int | float)
    }
    pairs = list(dict.fromkeys(zip(robustness["hypothesis"], robustness["metric"], strict=True)))
    per_hypothesis = pd.Series([h for h, _ in pairs]).value_counts()
    figures: list[tuple[str, Callable[[], Figure]]] = []
    for hypothesis, metric in pairs:
        # sweep.csv's prefix (analysis.sensitivity.claims): the name, or name.metric.
        claim = hypothesis if per_hypothesis[hypothesis] == 1 else f"{hypothesis}.{metric}"
        rows = sensitivity[
            (sensitivity["hypothesis"] == hypothesis) & (sensitivity["metric"] == metric)
        ]
        verdict_rows = robustness[
            (robustness["hypothesis"] == hypothesis) & (robustness["metric"] == metric)
        ]
        base = verdict_rows.loc[verdict_rows["at_scenario_values"] == 1, "verdict"]
        base_verdict = str(base.iloc[0]) if len(base) else ""
        ranked = [str(p) for p in rows.sort_values("rank")["parameter"] if pd.notna(p)]
        boxes = verdict_rows[verdict_rows["box"].notna()]
        stem = claim.replace(".", "-")
        figures.append((f"sensitivity_{stem}", _bind(_sensitivity, claim, metric, rows, index)))
        figures.append(
            (
                f"effect_{stem}",
                _bind(_effect, claim, metric, sweep, ranked[:3], boxes, own, base_verdict),
            )
        )
        if len(boxes):
            box = boxes.iloc[0]
            chosen = [p for p in _restricted(str(box["box"])) if p in sweep.columns]
            chosen += [p for p in ranked if p not in chosen]
            if len(chosen) >= 2:
                figures.append(
                    (f"flip_{stem}", _bind(_flip, claim, sweep, box, chosen[:2], base_verdict))
                )
            names = [p for p in own if p in sweep.columns]
            flipped = (sweep[f"{claim}.verdict"].astype(str) == str(box["verdict"])).to_numpy()
            if names and flipped.any():
                trajectory = peeling_trajectory(sweep[names].astype(float), flipped)
                figures.append(
                    (f"peeling_{stem}", _bind(_peeling, claim, trajectory, box, base_verdict))
                )
    report = SweepPlotReport()
    names = [f"{name}.{fmt}" for name, _ in figures]
    output = OutputFolder(
        Path(out_dir) if out_dir is not None else folder / "figures",
        SWEEP_FIGURES,
        names=[*names, SWEEP_FIGURES.record],
        wait=wait,
    )
    try:
        with output.open(), mpl.rc_context(_RC):  # type: ignore[arg-type]
            for (name, build), filename in zip(figures, names, strict=True):
                try:
                    output.write_file(filename, partial(_draw, build, fmt))
                except NegsimError:
                    raise
                except Exception as error:  # bad data must never surface as a traceback
                    report.problems.append(
                        f"{folder}: cannot draw {name} ({type(error).__name__}: {error})"
                    )
                    continue
                report.written.append(output.path / filename)
            output.commit({"negsim": __version__, "sweep": str(folder)})
    except ResultsError as error:
        raise NegsimError(str(error)) from None
    return report


def _bind(function: Callable[..., Figure], *args: Any) -> Callable[[], Figure]:
    return lambda: function(*args)


def _draw(build: Callable[[], Figure], fmt: str, path: Path) -> None:
    _save(build(), path, fmt)


def _save(fig: Figure, path: Path, fmt: str) -> None:
    try:
        fig.savefig(path, format=fmt, dpi=150, metadata=_METADATA[fmt])
    finally:
        fig.clear()

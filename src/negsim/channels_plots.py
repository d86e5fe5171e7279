"""The figure of `negsim channels`: each hypothesis row's effect, with every channel and without each."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pandas as pd


def draw_channels(table: pd.DataFrame, path: Path, stamp: str) -> None:
    """One panel per hypothesis and metric: the effect with every channel on (line) and without each."""
    # The object API (no pyplot): no GUI backend chosen behind a caller's back, no global
    # figure left open; savefig renders with Agg.
    from matplotlib.figure import Figure

    groups = list(table.groupby(["hypothesis", "metric"], sort=False))
    columns = 2 if len(groups) > 1 else 1
    rows = (len(groups) + columns - 1) // columns
    channels = list(dict.fromkeys(table["channel"]))
    figure = Figure(figsize=(6.2 * columns, 0.32 * len(channels) * rows + 1.2 * rows))
    axes = figure.subplots(rows, columns, squeeze=False)
    for axis in axes.flat[len(groups) :]:
        axis.set_visible(False)
    for axis, ((hypothesis, metric), rows_) in zip(axes.flat, groups, strict=False):
        rows_ = rows_.set_index("channel").loc[channels]
        y = range(len(channels))
        effect_all = float(rows_["effect_all"].iloc[0])
        low = rows_["effect_without"] - rows_["effect_without_low"]
        high = rows_["effect_without_high"] - rows_["effect_without"]
        axis.errorbar(
            rows_["effect_without"],
            list(y),
            xerr=[low, high],
            fmt="o",
            color="#0072B2",
            ecolor="#7fb8da",
            capsize=2,
            markersize=4,
            label="effect with the channel off",
        )
        axis.axvline(effect_all, color="#D55E00", linewidth=1.5, label="effect with every channel")
        axis.axvspan(
            float(rows_["effect_all_low"].iloc[0]),
            float(rows_["effect_all_high"].iloc[0]),
            color="#D55E00",
            alpha=0.12,
        )
        axis.axvline(0.0, color="0.6", linewidth=0.8, linestyle=":")
        axis.set_yticks(list(y), channels, fontsize=8)
        axis.invert_yaxis()
        title = f"{str(hypothesis).replace('_', ' ')}: {metric}"
        axis.set_title("\n".join(textwrap.wrap(title, 48)), fontsize=9)
        axis.set_xlabel("treatment − control (paired, 95 % interval)", fontsize=8)
        axis.tick_params(axis="x", labelsize=8)
    handles, labels = axes.flat[0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="lower center", ncol=2, fontsize=8, frameon=False)
    figure.suptitle(f"Which channels carry each effect — {stamp}", fontsize=10)
    figure.tight_layout(rect=(0, 0.04, 1, 0.97))
    figure.savefig(path, format="png", dpi=110, metadata={"Software": None})

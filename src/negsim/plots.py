"""Figures drawn from a negsim results folder.

The figures read only the CSV files described in ``docs/results.md``
(``runs.csv``, ``timeseries.csv``, ``hypotheses.csv``, ``events.csv``) and
``manifest.json``; they never run or import a simulation, so a results folder
can be plotted on any machine, long after the run. The one other file read is
the scenario the manifest names, and only when its sha256 is still the
recorded one: it gives how long events last and the hypotheses' words. The
statistics shown are those already in the files; the only things computed
here are the Wilson interval of a share of runs, means of per-run counts, and
the paired differences behind each verdict (replication by replication).

Every figure carries the scenario's name, the runs per variant and the seed
(top right). Figures written by :func:`plot_results` (``<fmt>`` is ``png``,
``svg`` or ``pdf``):

* ``fan_<metric>.<fmt>`` for ``bargaining_range``, ``opposition_cohesion``,
  ``control.<government id>``, ``willingness.opposition`` and ``willingness.government``
  (dots become underscores): per variant the median (its own colour and line
  style), the 50 % band filled and the 90 % band as thin dotted lines; above
  it a timeline strip with one row per variant showing that variant's own
  events as numbered markers (close ones share a marker, ``3–5``) and bars
  for how long rounds, ceasefires and escalations last; below it the key of
  the numbers with dates and durations. A variant whose median equals
  base's throughout says so in the legend.
* ``verdicts.<fmt>``: forest plot, one panel per kind of metric (chances in
  percentage points, shares of a scale, counts, stages, weeks, capability),
  each row shaded where each verdict would lie (grey inside ± the smallest
  effect, green on the predicted side, orange on the other), the interval
  with end caps and its numbers written beside it.
* ``differences.<fmt>``: per verdict, the distribution of paired differences
  (treatment − control) with the effect, its interval and the bound.
* ``outcomes.<fmt>``: chance of agreement per variant (Wilson 95 % interval)
  on an axis fitted to the data, and the agreed settlements with their n (a
  box only from 10 agreements).
* ``territory.<fmt>``: one panel per actor, each variant's median share of
  territory with its bands.
* ``talks.<fmt>``: the share of runs at the table each week, offers against
  demands (base), the cumulative chance of agreement, ceasefires in force,
  walkouts by side and whether ceasefires held.

Before anything is drawn, every file of the results folder is checked
against the row counts and sha256 that ``manifest.json`` records
(:func:`negsim.results.open_results`): damaged or edited results are refused
with one line per file, and nothing is drawn. A figure the results cannot
give (no hypothesis tested, no ``base`` variant run) is left out with a note
in :attr:`PlotReport.skipped`. A figure that cannot be drawn from the data
(missing column, unreadable values) gets a one-line entry in
:attr:`PlotReport.problems`; the others are still drawn. The same CSV files
always give byte-identical figure files.

The figure folder follows the rules of every folder negsim writes
(:mod:`negsim.results.folder`): checked and locked before drawing, figures
staged and moved into place together, ``figures.json`` listing the figure
files negsim wrote; only those are ever replaced or removed.
"""

from __future__ import annotations

import gc
import io
import math
import re
import sys
import textwrap
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import matplotlib as mpl
import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection, PolyCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator, PercentFormatter

from negsim import __version__, interrupts
from negsim.errors import NegsimError, ResultsError
from negsim.posterior_plots import has_drawn_inputs, posterior_figure
from negsim.results import FolderKind, OutputFolder, Results, open_results
from negsim.results.folder import RESULTS_SHA256, drawn_record, results_identity
from negsim.results.writer import RUNS_PARQUET

__all__ = ["FAN_METRICS", "FORMATS", "PlotError", "PlotReport", "plot_results", "wilson_interval"]

FORMATS = ("png", "svg", "pdf")
"""File formats :func:`plot_results` can write."""

FAN_METRICS: dict[str, tuple[str, str]] = {
    "bargaining_range": (
        "Bargaining range",
        "width on the issue scale\n(negative = gap no deal can bridge)",
    ),
    "opposition_cohesion": ("Opposition cohesion", "cohesion [0, 1]"),
    "control.government": (
        "Territory held by the government",
        "share of territory [0, 1]\n(weighted by strategic value)",
    ),
    "willingness.opposition": (
        "Opposition's willingness to talk",
        "probability of engaging that week [0, 1]",
    ),
    "willingness.government": (
        "Government's willingness to talk",
        "probability of engaging that week [0, 1]",
    ),
}
"""Key time-series metrics drawn as fan charts: metric -> (title, y label with unit)."""

_FAN_SCALE: dict[str, tuple[float, float] | None] = {
    "bargaining_range": None,
    "opposition_cohesion": (0.0, 1.0),
    "control.government": (0.0, 1.0),
    "willingness.opposition": (0.0, 1.0),
    "willingness.government": (0.0, 1.0),
}
"""Each fan chart's y axis: the metric's whole scale, so a small change does not look large
(None: the data with zero included; the bargaining range has no fixed ends)."""

# Metrics whose actor id comes from the scenario: silently skipped when absent.
# `control.government` stands for `control.<the government's id>` (the manifest's `government`).
_SCENARIO_DEPENDENT = {"control.government"}

RESULT_FILES = ("runs.csv", "timeseries.csv", "hypotheses.csv", "events.csv")

# Okabe & Ito (2008) colour-blind-safe palette, black moved to the end.
OKABE_ITO = (
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#CC79A7",  # reddish purple
    "#D55E00",  # vermillion
    "#56B4E9",  # sky blue
    "#F0E442",  # yellow
    "#000000",  # black
)
VERDICT_STYLE: dict[str, tuple[str, str]] = {
    "supported": ("#009E73", "o"),
    "contradicted": ("#D55E00", "X"),
    "inconclusive": ("#6E6E6E", "s"),
    "negligible": ("#0072B2", "D"),
}
"""Verdict -> (colour, marker); colour and marker both differ, for colour-blind readers."""

FIGSIZE = (10.0, 5.6)
DPI = 150
_YEAR = re.compile(r"\d{4}")
_EVENT_FONT_PT = 10
_LABEL_WIDTH = 40  # characters per line of a forest-plot row label
_Z95 = 1.959963984540054  # standard normal quantile for a two-sided 95 % interval

_RC: dict[str, Any] = {
    "font.size": 11,
    "axes.titlesize": 12,
    "axes.labelsize": 11,
    "xtick.labelsize": 10,
    "ytick.labelsize": 10,
    "legend.fontsize": 10,
    "figure.titlesize": 14,
    "figure.titleweight": "bold",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "svg.hashsalt": "negsim",
    "svg.fonttype": "path",
    "pdf.fonttype": 42,
    "savefig.facecolor": "white",
    "text.parse_math": False,  # names and labels from the files may contain "$"
    # Unhinted glyphs: FreeType's autohinter costs a quarter of every text's drawing (about
    # 20,000 glyphs in geneva3's figures); at 150 dpi the hinting is not visible.
    "text.hinting": "no_hinting",
    # `_print` lays a figure out itself and then removes its layout engine (None needs these).
    "figure.autolayout": False,
    "figure.constrained_layout.use": False,
}
_METADATA: dict[str, dict[str, Any]] = {
    "png": {"Software": None},
    "svg": {"Date": None, "Creator": None},
    "pdf": {"CreationDate": None, "ModDate": None, "Producer": None, "Creator": None},
}


class PlotError(NegsimError):
    """One-line, user-facing problem with a results folder."""


@dataclass(frozen=True)
class PlotReport:
    """What :func:`plot_results` did.

    Attributes:
        written: Figure files written, in the order they were drawn.
        problems: One line per figure (or figure part) that could not be drawn,
            naming the file and the reason.
        skipped: One line per figure the results cannot give (not an error).
    """

    written: list[Path] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    """One line per figure the results cannot give, e.g. ``verdicts: no hypothesis was tested``."""
    reused: bool = False
    """The figures were already there, drawn by this very drawing code from these very
    results, each as it was written: none was drawn again (``written`` lists them)."""


class _Skip(Exception):
    """A figure cannot be drawn; the message is the reason, without file name."""


class _NotApplicable(_Skip):
    """The results cannot give this figure (e.g. the variants it needs were not run)."""


FIGURES = FolderKind(what="figures", record="figures.json", writer="negsim plot", strict=False)
"""Figure folders: other files may sit beside the figures; only listed figures are replaced."""

# About how large the figures are (measured: PNG 0.1-0.25 MB each, SVG and PDF
# somewhat more), to refuse a disk without the room before drawing.
_FIGURE_BYTES = {"png": 250_000, "svg": 600_000, "pdf": 300_000}


# --------------------------------------------------------------------------- reading


class _Folder:
    """Lazy, cached, error-tolerant reader of the CSV files of one results folder."""

    def __init__(self, root: Path, results: Results | None = None) -> None:
        self.root = root
        self.results = results
        self._cache: dict[str, pd.DataFrame | str] = {}
        self.parsed_timeseries: pd.DataFrame | None = None
        self.scenario_file: Any = None
        """The run's scenario file when found unchanged (event durations, hypothesis words)."""

    def path(self, name: str) -> str:
        """Return the display path of a file of the folder."""
        return str(self.root / name)

    def table(self, name: str, columns: tuple[str, ...] = ()) -> pd.DataFrame:
        """Return the table ``name`` with all cells as strings (missing cells NaN).

        Args:
            name: File name, e.g. ``"runs.csv"``.
            columns: Columns the caller needs.

        Raises:
            _Skip: The file is missing, unreadable, empty or lacks a column.
        """
        if name not in self._cache:
            self._cache[name] = self._read(name)
        got = self._cache[name]
        if isinstance(got, str):
            raise _Skip(got)
        missing = [c for c in columns if c not in got.columns]
        if missing:
            names = ", ".join(repr(c) for c in missing)
            raise _Skip(f"missing column{'s' if len(missing) > 1 else ''} {names}")
        return got

    def _read(self, name: str) -> pd.DataFrame | str:
        if name == "runs.csv" and self._parquet_runs():
            return self._read_parquet(RUNS_PARQUET)
        file = self.root / name
        source: Path | io.BytesIO = file
        if self.results is not None and name in self.results.files:
            # The bytes checked against the manifest are the bytes parsed.
            source = io.BytesIO(self.results.read_bytes(name))
        elif not file.is_file():
            return "file missing"
        try:
            df = pd.read_csv(
                source, dtype=str, keep_default_na=False, na_values=[""], encoding="utf-8"
            )
        except pd.errors.EmptyDataError:
            return "file is empty"
        except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            return f"cannot be read as CSV ({first})"
        except OSError as exc:
            return f"cannot be read ({exc.strerror or exc})"
        df.columns = [str(c).strip() for c in df.columns]
        return df

    def _parquet_runs(self) -> bool:
        """The run wrote its per-run table as Parquet (`negsim run --runs-format parquet`)."""
        if self.results is not None:
            return RUNS_PARQUET in self.results.files and "runs.csv" not in self.results.files
        return (self.root / RUNS_PARQUET).is_file() and not (self.root / "runs.csv").is_file()

    def _read_parquet(self, name: str) -> pd.DataFrame | str:
        """A Parquet table with its cells as strings, as `_read` gives a CSV's."""
        source: Path | io.BytesIO = self.root / name
        if self.results is not None and name in self.results.files:
            source = io.BytesIO(self.results.read_bytes(name))
        try:
            df = pd.read_parquet(source)
        except OSError as exc:
            return f"cannot be read as Parquet ({str(exc).splitlines()[0] if str(exc) else exc})"
        except ValueError as exc:
            return f"cannot be read as Parquet ({exc})"
        return df.astype(str).where(df.notna() & (df.astype(str) != ""))


def _numeric(df: pd.DataFrame, col: str, where: str, problems: list[str]) -> pd.Series:
    """Convert a string column to floats; unparseable cells become NaN and are reported."""
    raw = df[col]
    values = pd.to_numeric(raw.str.strip(), errors="coerce")
    bad = int((values.isna() & raw.notna()).sum())
    if bad:
        problems.append(
            f"{where}: {bad} unreadable value{'s' if bad > 1 else ''} in column "
            f"{col!r} treated as missing"
        )
    return values.astype(float)


def _dates(df: pd.DataFrame, col: str, where: str, problems: list[str]) -> pd.Series:
    """Convert a ``YYYY-MM-DD`` column to timestamps; bad cells become NaT and are reported."""
    raw = df[col]
    values = pd.to_datetime(raw.str.strip(), format="%Y-%m-%d", errors="coerce")
    bad = int((values.isna() & raw.notna()).sum())
    if bad:
        problems.append(
            f"{where}: {bad} unreadable date{'s' if bad > 1 else ''} in column {col!r} "
            f"(expected YYYY-MM-DD) treated as missing"
        )
    return values


def _variant_order(variants: Any) -> list[str]:
    """Return variant names with ``base`` first, then alphabetically."""
    names = sorted({str(v) for v in variants if isinstance(v, str) and v})
    return (["base"] if "base" in names else []) + [n for n in names if n != "base"]


def _colours(order: list[str]) -> dict[str, str]:
    return {v: OKABE_ITO[i % len(OKABE_ITO)] for i, v in enumerate(order)}


# --------------------------------------------------------------------------- statistics


def wilson_interval(successes: int, n: int, z: float = _Z95) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion.

    Args:
        successes: Number of successes, ``0 <= successes <= n``.
        n: Number of trials, ``n > 0``.
        z: Standard normal quantile; the default gives a 95 % interval.

    Returns:
        ``(low, high)``, both in ``[0, 1]``.
    """
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


# --------------------------------------------------------------------------- drawing helpers


def _new_figure(width: float = FIGSIZE[0], height: float = FIGSIZE[1]) -> Figure:
    figure = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    # An Agg canvas from the start: the layout then measures every text with the renderer that
    # draws the PNG, whose cache of text sizes the draw reuses (without it, every text of the
    # figure is measured twice: once by a throw-away renderer of the layout's).
    FigureCanvasAgg(figure)
    return figure


_POINT = 1 / 72  # inches


def _points(size: Any) -> float:
    """A font size as rcParams give it (10, or "medium") in points."""
    from matplotlib.font_manager import FontProperties

    return float(FontProperties(size=size).get_size_in_points())


FIGURE_MIN_HEIGHT = 4.0  # inches: no figure is flatter (the fan charts' least height is 4.6)


def _tick_text(values: np.ndarray) -> list[str]:
    """Tick labels as matplotlib writes them on a linear axis: one number of decimals for all
    (the fewest that show every step), a true minus sign."""
    steps = np.diff(values)
    step = float(np.min(np.abs(steps))) if steps.size else 1.0
    decimals = 0
    while decimals < 8 and abs(step * 10**decimals - round(step * 10**decimals)) > 1e-6:
        decimals += 1
    out = []
    for value in values:
        text = f"{value:.{decimals}f}"
        if float(text) == 0:
            text = text.lstrip("-")  # no "-0.00"
        out.append(text.replace("-", "\N{MINUS SIGN}"))
    return out


def _signed(value: float, spec: str) -> str:
    """``value`` with its sign always shown, a true minus as on the axes: "+3.6", "−4.7"."""
    return f"{value:+{spec}}".replace("-", "\N{MINUS SIGN}")


class _SmallMultiples:
    """Many like panels drawn on one canvas axes whose data coordinates are the figure's inches.

    Matplotlib's axes cost 15-50 ms each (their ticks most of it); a figure of 30-40 small
    panels spent over a second of CPU on them. Here each panel's data are mapped to its
    rectangle, its marks gathered into one collection per style for the whole figure, and its
    few tick labels written as plain texts.
    """

    def __init__(
        self,
        count: int,
        columns: int,
        *,
        width: float,
        panel_height: float,
        margins: tuple[float, float, float, float],
        gaps: tuple[float, float],
    ) -> None:
        left, right, top, bottom = margins
        self.columns = max(1, columns)
        rows = math.ceil(count / self.columns)
        # At least as tall as the other figures: a row or two of panels grows to fill it.
        room = FIGURE_MIN_HEIGHT - top - bottom - (rows - 1) * gaps[1]
        panel_height = max(panel_height, room / rows)
        self.height = top + bottom + rows * panel_height + (rows - 1) * gaps[1]
        self.figure = Figure(figsize=(width, self.height), dpi=DPI)
        FigureCanvasAgg(self.figure)
        self.ax = self.figure.add_axes((0.0, 0.0, 1.0, 1.0))
        self.ax.set_axis_off()
        self.ax.set_xlim(0, width)
        self.ax.set_ylim(0, self.height)
        self.panel_width = (width - left - right - (self.columns - 1) * gaps[0]) / self.columns
        self.panel_height = panel_height
        self._origin = (left, self.height - top)
        self._gaps = gaps
        # (face colour, alpha, zorder) -> polygons; (colour, width, style, zorder) -> polylines
        self.polygons: dict[tuple[Any, float, float], list[np.ndarray]] = {}
        self.polylines: dict[tuple[Any, float, Any, float], list[np.ndarray]] = {}

    def panel(self, index: int, xlim: tuple[float, float], ylim: tuple[float, float]) -> _Panel:
        """The panel at ``index`` (row by row) showing ``xlim`` x ``ylim`` of its data."""
        row, column = divmod(index, self.columns)
        x0 = self._origin[0] + column * (self.panel_width + self._gaps[0])
        y0 = self._origin[1] - (row + 1) * self.panel_height - row * self._gaps[1]
        return _Panel(self, (x0, y0, self.panel_width, self.panel_height), xlim, ylim)

    def finish(self) -> Figure:
        """Add the gathered marks, one collection per style; return the figure."""
        for (colour, alpha, zorder), shapes in self.polygons.items():
            self.ax.add_collection(
                PolyCollection(shapes, facecolors=colour, alpha=alpha, linewidths=0, zorder=zorder),
                autolim=False,
            )
        for (colour, width, style, zorder), lines in self.polylines.items():
            self.ax.add_collection(
                LineCollection(
                    lines, colors=colour, linewidths=width, linestyles=style, zorder=zorder
                ),
                autolim=False,
            )
        return self.figure


class _Panel:
    """One panel of `_SmallMultiples`: its data mapped into its rectangle (inches)."""

    def __init__(
        self,
        owner: _SmallMultiples,
        box: tuple[float, float, float, float],
        xlim: tuple[float, float],
        ylim: tuple[float, float],
    ) -> None:
        self.owner = owner
        self.box = box
        self.xlim = xlim
        self.ylim = ylim

    def x(self, values: Any) -> Any:
        x0, _, w, _ = self.box
        low, high = self.xlim
        return x0 + (np.asarray(values, dtype=float) - low) / (high - low) * w

    def y(self, values: Any) -> Any:
        _, y0, _, h = self.box
        low, high = self.ylim
        return y0 + (np.asarray(values, dtype=float) - low) / (high - low) * h

    def polygon(self, xs: Any, ys: Any, colour: Any, alpha: float = 1.0, zorder: float = 1) -> None:
        """A filled polygon given in the panel's data."""
        key = (colour, alpha, zorder)
        self.owner.polygons.setdefault(key, []).append(np.column_stack([self.x(xs), self.y(ys)]))

    def line(
        self, xs: Any, ys: Any, colour: Any, width: float, style: Any = "-", zorder: float = 2
    ) -> None:
        """A line given in the panel's data."""
        key = (colour, width, style, zorder)
        self.owner.polylines.setdefault(key, []).append(np.column_stack([self.x(xs), self.y(ys)]))

    def _outline(self, edges: np.ndarray, heights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The step outline of a histogram, closed down to the baseline at both ends."""
        return np.repeat(edges, 2), np.concatenate([[0.0], np.repeat(heights, 2), [0.0]])

    def stairs(self, edges: np.ndarray, heights: np.ndarray, colour: str, alpha: float) -> None:
        """A histogram as one filled outline (as `stairs(fill=True)`)."""
        self.polygon(*self._outline(edges, heights), colour, alpha)

    def step(self, edges: np.ndarray, heights: np.ndarray, colour: str, width: float) -> None:
        """A histogram as its outline (as `hist(histtype="step")`)."""
        self.line(*self._outline(edges, heights), colour, width)

    def bars(
        self, xs: np.ndarray, heights: np.ndarray, width: float, colour: str, alpha: float
    ) -> None:
        """Bars centred on ``xs`` from 0 (as `bar`)."""
        for x, h in zip(xs, heights, strict=True):
            left, right = x - width / 2, x + width / 2
            self.polygon([left, right, right, left], [0, 0, h, h], colour, alpha)

    def vline(
        self, x: float, colour: str, width: float, style: Any = "-", zorder: float = 2
    ) -> None:
        """A vertical line across the panel (as `axvline`)."""
        self.line([x, x], self.ylim, colour, width, style, zorder)

    def vspan(self, low: float, high: float, colour: str, alpha: float, zorder: float) -> None:
        """A band across the panel (as `axvspan`)."""
        y0, y1 = self.ylim
        self.polygon([low, high, high, low], [y0, y0, y1, y1], colour, alpha, zorder)

    def text(self, x: float, y: float, text: str, **style: Any) -> None:
        """A text at a point of the panel's data."""
        self.owner.ax.text(float(self.x(x)), float(self.y(y)), text, **style)

    def title(self, text: str, fontsize: float, loc: str = "center", color: str = "black") -> None:
        x0, y0, w, h = self.box
        x = {"left": x0, "center": x0 + w / 2}[loc]
        pad = mpl.rcParams["axes.titlepad"] * _POINT
        self.owner.ax.text(
            x, y0 + h + pad, text, ha=loc, va="baseline", fontsize=fontsize, color=color
        )

    def frame(self) -> None:
        """The left and bottom lines of the panel (the others are off, as in every figure)."""
        x0, y0, w, h = self.box
        key = ("black", mpl.rcParams["axes.linewidth"], "-", 3)
        self.owner.polylines.setdefault(key, []).append(
            np.array([(x0, y0 + h), (x0, y0), (x0 + w, y0)])
        )

    def _ticks(self, values: np.ndarray, limits: tuple[float, float]) -> np.ndarray:
        low, high = min(limits), max(limits)
        span = 1e-9 * (high - low)
        return values[(values >= low - span) & (values <= high + span)]

    def xticks(
        self,
        most: int,
        fontsize: float,
        integer: bool = False,
        labels: tuple[list[float], list[str]] | None = None,
        marks: bool = True,
        numbers: bool = True,
    ) -> float:
        """Ticks under the panel with their numbers (at most ``most`` + 1, or ``labels``).

        Returns how far below the panel the numbers reach (inches), for an x label under them.
        """
        _, y0, _, _ = self.box
        if labels is None:
            found = MaxNLocator(most, integer=integer).tick_values(*self.xlim)
            values = self._ticks(np.asarray(found, dtype=float), self.xlim)
            texts = _tick_text(values)
        else:
            values, texts = np.asarray(labels[0], dtype=float), labels[1]
        length = mpl.rcParams["xtick.major.size"] * _POINT if marks else 0.0
        pad = mpl.rcParams["xtick.major.pad"] * _POINT
        key = ("black", mpl.rcParams["xtick.major.width"], "-", 3)
        lines = max(text.count("\n") + 1 for text in texts) if texts else 1
        for value, text in zip(values, texts, strict=True):
            x = float(self.x(value))
            if marks:
                self.owner.polylines.setdefault(key, []).append(
                    np.array([(x, y0), (x, y0 - length)])
                )
            if numbers:
                self.owner.ax.text(
                    x, y0 - length - pad, text, ha="center", va="top", fontsize=fontsize
                )
        return length + pad + lines * 1.2 * fontsize * _POINT

    def yticks(
        self,
        values: np.ndarray,
        texts: list[str],
        fontsize: float,
        marks: bool = True,
    ) -> None:
        """Ticks left of the panel with their labels."""
        x0, _, _, _ = self.box
        length = mpl.rcParams["ytick.major.size"] * _POINT if marks else 0.0
        pad = mpl.rcParams["ytick.major.pad"] * _POINT
        key = ("black", mpl.rcParams["ytick.major.width"], "-", 3)
        for value, text in zip(values, texts, strict=True):
            y = float(self.y(value))
            if marks:
                self.owner.polylines.setdefault(key, []).append(
                    np.array([(x0, y), (x0 - length, y)])
                )
            self.owner.ax.text(
                x0 - length - pad, y, text, ha="right", va="center", fontsize=fontsize
            )

    def xlabel(self, text: str, below: float, fontsize: float) -> None:
        """The x label, ``below`` inches under the panel (under its tick numbers)."""
        x0, y0, w, _ = self.box
        pad = mpl.rcParams["axes.labelpad"] * _POINT
        self.owner.ax.text(
            x0 + w / 2, y0 - below - pad, text, ha="center", va="top", fontsize=fontsize
        )

    def ylabel(self, text: str, left: float, fontsize: float) -> None:
        """The y label, ``left`` inches left of the panel (left of its tick labels)."""
        x0, y0, _, h = self.box
        pad = mpl.rcParams["axes.labelpad"] * _POINT
        self.owner.ax.text(
            x0 - left - pad, y0 + h / 2, text, ha="right", va="center", rotation=90,
            fontsize=fontsize,
        )  # fmt: skip


class _DateFormatter(mdates.ConciseDateFormatter):
    """ConciseDateFormatter that always shows the year somewhere.

    When the ticks span a new year the concise labels show only the later
    year (``Oct, Nov, Dec, 2016``) and no offset; the first label then gets
    its year too (``Oct 2015``).
    """

    _last: tuple[tuple[float, ...], list[str]] | None = None

    def format_ticks(self, values: Any) -> list[str]:
        # A figure's layout and drawing ask for the same ticks three times; the last answer
        # (and the offset it set) is kept.
        key = tuple(float(v) for v in values)
        if self._last is not None and self._last[0] == key:
            return list(self._last[1])
        labels = list(super().format_ticks(values))
        has_year = any(_YEAR.search(label) for label in labels[:1]) or _YEAR.search(
            self.get_offset()
        )
        if labels and not has_year:
            labels[0] = f"{labels[0]} {mdates.num2date(values[0]).year}"
        self._last = (key, labels)
        return list(labels)


class _DateLocator(mdates.AutoDateLocator):
    """AutoDateLocator that keeps its ticks for the last view (asked for at every layout pass)."""

    _last: tuple[tuple[float, ...], Any] | None = None

    def __call__(self) -> Any:
        key = tuple(float(v) for v in self.axis.get_view_interval()) if self.axis else ()
        if self._last is None or self._last[0] != key or not key:
            self._last = (key, super().__call__())
        return self._last[1].copy()


def _date_axis(ax: Any) -> None:
    locator = _DateLocator(minticks=4, maxticks=10)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(_DateFormatter(locator))


_VALUE_COLUMNS = ("mean", "p05", "p25", "p50", "p75", "p95")


def _timeseries(folder: _Folder, needed: tuple[str, ...], problems: list[str]) -> pd.DataFrame:
    """timeseries.csv with ``date`` parsed and the value columns numeric.

    The table is parsed once (problems with its cells are reported once); each
    call checks that the columns ``needed`` are present.

    Raises:
        _Skip: The file cannot be read or lacks one of the ``needed`` columns.
    """
    where = folder.path("timeseries.csv")
    df = folder.table("timeseries.csv", ("variant", "date", "metric", *needed))
    if folder.parsed_timeseries is None:
        out = pd.DataFrame({"variant": df["variant"], "metric": df["metric"].str.strip()})
        out["date"] = _dates(df, "date", where, problems)
        for col in _VALUE_COLUMNS:
            if col in df.columns:
                out[col] = _numeric(df, col, where, problems)
        folder.parsed_timeseries = out.dropna(subset=["date", "variant", "metric"])
    return folder.parsed_timeseries


_BANDS = ("p05", "p25", "p50", "p75", "p95")


def _bound_of(row: pd.Series) -> float | None:
    """A row's smallest effect of interest (hypotheses.csv's `smallest_effect`), if readable."""
    value = pd.to_numeric(pd.Series([row.get("smallest_effect")]), errors="coerce").iloc[0]
    return float(value) if np.isfinite(value) and value > 0 else None


# --------------------------------------------------------------------------- what every figure says


@dataclass(frozen=True)
class Stamp:
    """What every figure carries: the scenario's name, the runs per variant and the seed."""

    scenario: str
    runs: str
    seed: str
    issue_low: str = "0"
    """What 0 on the scenario's issue line means (manifest `issue.low`)."""
    issue_high: str = "1"
    """What 1 on it means."""
    government: str = ""
    """Id of the scenario's government (manifest `government`; "" in a folder without one,
    whose government's fan chart is then not drawn)."""

    def scale(self) -> str:
        """``0 = the government keeps full power, 1 = full transition``: the issue line in words."""
        return f"0 = {self.issue_low}, 1 = {self.issue_high}"

    def text(self) -> str:
        """``geneva3 · 1000 runs per variant · seed 20160129``."""
        return f"{self.scenario} · {self.runs} runs per variant · seed {self.seed}"


def read_stamp(results_dir: Path, manifest: dict[str, Any] | None) -> Stamp:
    """The stamp of a results folder, from its manifest (the folder's name when there is none)."""
    manifest = manifest or {}
    name = manifest.get("scenario_name") or results_dir.resolve().name
    # Checked manifests hold whole numbers here; an unchecked one (``check=False``) may not.
    runs = manifest.get("runs") if type(manifest.get("runs")) is int else None
    seed = manifest.get("seed") if type(manifest.get("seed")) is int else None
    found = manifest.get("issue")
    issue: dict[str, Any] = found if isinstance(found, dict) else {}
    return Stamp(
        str(name),
        "?" if runs is None else str(runs),
        "?" if seed is None else str(seed),
        str(issue.get("low", "0")),
        str(issue.get("high", "1")),
        str(manifest.get("government") or ""),
    )


def _headline(fig: Figure, title: str, stamp: Stamp) -> None:
    """Title at the top left, the stamp at the top right, in every figure."""
    if fig.get_layout_engine() is None:  # laid out in inches (`_SmallMultiples`): 0.08 in down
        fig.suptitle(title, x=0.01, y=1 - 0.08 / fig.get_figheight(), ha="left", va="top")
    else:
        fig.suptitle(title, x=0.01, ha="left")
    fig.text(0.995, 0.995, stamp.text(), ha="right", va="top", fontsize=8.5, color="0.3")


# --------------------------------------------------------------------------- events


@dataclass(frozen=True)
class Event:
    """One scheduled event of one variant, as drawn."""

    variant: str
    id: str
    start: pd.Timestamp
    end: pd.Timestamp | None
    """Last day of an event that lasts (``duration_weeks`` in the scenario), else None."""
    kind: str
    label: str


def scenario_of(results_dir: Path, manifest: dict[str, Any] | None, check: bool = True) -> Any:
    """The scenario file the manifest names (a ``ScenarioFile``), or None.

    Read only when the file is found (as given, or relative to the results
    folder) and its sha256 is the manifest's, so a scenario edited since the
    run never puts other durations or words on its results. With ``check``,
    a manifest whose name, seed or variants disagree with that file raises
    `ResultsError` (`negsim.results.reader.check_scenario`).
    """
    if not manifest or not isinstance(manifest.get("scenario"), str):
        return None
    path = Path(manifest["scenario"])
    candidates = [path] if path.is_absolute() else [Path.cwd() / path, results_dir / path]
    found = next((p for p in candidates if p.is_file()), None)
    if found is None:
        return None
    import hashlib

    try:
        if hashlib.sha256(found.read_bytes()).hexdigest() != manifest.get("scenario_sha256"):
            return None
        from negsim.scenario import loader

        scenario_file = loader.load(found)
    except (NegsimError, OSError):
        return None
    if check:  # the very file of the run: the manifest's name, seed and variants must be its
        from negsim.results.reader import check_scenario

        check_scenario(results_dir / "manifest.json", manifest, scenario_file.scenario)
    return scenario_file


def _durations(scenario_file: Any) -> dict[tuple[str, str], float]:
    """``(variant, event id) -> duration_weeks`` of every event that lasts."""
    if scenario_file is None:
        return {}
    out: dict[tuple[str, str], float] = {}
    for variant, scenario in scenario_file.variants.items():
        for event in scenario.events:
            weeks = getattr(event, "duration_weeks", None)
            if isinstance(weeks, int | float) and weeks > 0:
                out[(variant, event.id)] = float(weeks)
    return out


def hypothesis_titles(scenario_file: Any) -> dict[str, str]:
    """Hypothesis name -> the first clause of its description, whole (the name when it has none)."""
    if scenario_file is None:
        return {}
    out = {}
    for name, hypothesis in scenario_file.scenario.hypotheses.items():
        text = " ".join((hypothesis.description or name).split())
        short = re.split(r"[:;(]", text, maxsplit=1)[0].strip()
        out[name] = short  # whole: the figures wrap it rather than cut it
    return out


def _events(folder: _Folder, problems: list[str]) -> list[Event]:
    """Every variant's scheduled events (events.csv), with durations where the scenario gives them."""
    where = folder.path("events.csv")
    try:
        ev = folder.table("events.csv", ("variant", "date", "label"))
    except _Skip as exc:
        problems.append(f"{where}: {exc}; events not drawn on the fan charts")
        return []
    if ev.empty:
        return []
    dates = _dates(ev, "date", where, problems)
    ids = ev["id"] if "id" in ev.columns else ev["label"]
    kinds = ev["type"] if "type" in ev.columns else pd.Series([""] * len(ev), index=ev.index)
    durations = _durations(folder.scenario_file)
    out: list[Event] = []
    for variant, when, label, event_id, kind in zip(
        ev["variant"], dates, ev["label"], ids, kinds, strict=True
    ):
        if pd.isna(when) or not isinstance(variant, str):
            continue
        text = label if isinstance(label, str) and label.strip() else event_id
        text = " ".join(text.split()) if isinstance(text, str) else ""
        key = str(event_id) if isinstance(event_id, str) else text
        weeks = durations.get((variant, key))
        end = when + pd.Timedelta(weeks=weeks) - pd.Timedelta(days=1) if weeks else None
        out.append(Event(variant, key, when, end, str(kind) if isinstance(kind, str) else "", text))
    return out


def event_numbers(events: list[Event]) -> dict[str, int]:
    """Number every event id once, in order of its earliest date (then id), from 1."""
    first: dict[str, pd.Timestamp] = {}
    for event in events:
        if event.id not in first or event.start < first[event.id]:
            first[event.id] = event.start
    return {eid: i + 1 for i, eid in enumerate(sorted(first, key=lambda e: (first[e], e)))}


def _clusters(xs: list[float], width: float, chained: bool = False) -> list[list[int]]:
    """Group ascending positions closer than ``width`` into one marker each.

    Closer than ``width`` to the group's first position, or, ``chained``, to its last
    (a run of events each a few days after the one before is then one group).
    """
    groups: list[list[int]] = []
    anchor = -1 if chained else 0
    for i, x in enumerate(xs):
        if groups and x - xs[groups[-1][anchor]] < width:
            groups[-1].append(i)
        else:
            groups.append([i])
    return groups


def _numbers_text(numbers: list[int]) -> str:
    """``[3, 4, 5]`` -> ``3–5``; ``[2, 7]`` -> ``2,7``."""
    numbers = sorted(set(numbers))
    if len(numbers) > 2 and numbers[-1] - numbers[0] == len(numbers) - 1:
        return f"{numbers[0]}–{numbers[-1]}"
    return ",".join(str(n) for n in numbers)


def _timeline(
    strip: Any,
    events: list[Event],
    order: list[str],
    colours: dict[str, str],
    numbers: dict[str, int],
    first: pd.Timestamp,
    last: pd.Timestamp,
) -> list[str]:
    """Draw one row per variant with its own events: numbered markers, durations as bars.

    Returns the variants that have a row, top to bottom.
    """
    rows = [v for v in order if any(e.variant == v for e in events)]
    span_days = max((last - first) / pd.Timedelta(days=1), 1.0)
    for r, variant in enumerate(rows):
        y = len(rows) - 1 - r
        mine = sorted(
            (e for e in events if e.variant == variant and first <= e.start <= last),
            key=lambda e: (e.start, numbers[e.id]),
        )
        colour = colours.get(variant, "0.3")
        spans = [
            (mdates.date2num(e.start), mdates.date2num(min(e.end, last)) - mdates.date2num(e.start))
            for e in mine
            if e.end is not None
        ]
        if spans:  # one collection per row, not one per event
            strip.broken_barh(
                spans, (y - 0.16, 0.32), facecolors=colour, alpha=0.35, linewidth=0, zorder=2
            )
        xs = [(e.start - first) / pd.Timedelta(days=1) / span_days for e in mine]
        for group in _clusters(xs, 0.028):
            when = mine[group[0]].start
            strip.text(
                mdates.date2num(when),
                y,
                _numbers_text([numbers[mine[i].id] for i in group]),
                ha="center",
                va="center",
                fontsize=7.5,
                color="black",
                zorder=4,
                bbox={
                    "boxstyle": "round,pad=0.22",
                    "facecolor": "white",
                    "edgecolor": colour,
                    "linewidth": 1.2,
                },
            )
    strip.set_ylim(-0.6, len(rows) - 0.4)
    strip.set_yticks(range(len(rows))[::-1], rows)
    for tick, variant in zip(strip.get_yticklabels(), rows, strict=True):
        tick.set_color(colours.get(variant, "0.2"))
    strip.tick_params(axis="y", length=0, labelsize=8.5)
    strip.tick_params(axis="x", labelbottom=False, length=0)
    for side in ("left", "bottom"):
        strip.spines[side].set_visible(False)
    strip.set_title(
        "events of each variant (numbers: key below; bars: how long a round, ceasefire or "
        "escalation lasts)",
        loc="left",
        fontsize=9,
        color="0.3",
    )
    return rows


def _event_key(key: Any, events: list[Event], numbers: dict[str, int], columns: int = 2) -> None:
    """The numbered key of the events, in columns, on an axes without frame."""
    key.axis("off")
    by_id: dict[str, Event] = {}
    for e in events:
        if e.id not in by_id or e.variant == "base":
            by_id[e.id] = e
    variants_of: dict[str, set[str]] = {}
    for e in events:
        variants_of.setdefault(e.id, set()).add(e.variant)
    lines = []
    for eid, n in sorted(numbers.items(), key=lambda item: item[1]):
        e = by_id[eid]
        text = f"{n:>2}  {e.start:%d %b %Y}  {e.label}"
        if e.end is not None:
            text += f" ({round(((e.end - e.start).days + 1) / 7):g} wk)"
        if "base" not in variants_of[eid]:
            text += " *"
        lines.append(text)
    per_column = max(1, math.ceil(len(lines) / columns))
    for c in range(columns):
        chunk = lines[c * per_column : (c + 1) * per_column]
        if chunk:
            key.text(
                c / columns,
                1.0,
                "\n".join(chunk),
                transform=key.transAxes,
                ha="left",
                va="top",
                fontsize=8.5,
                linespacing=1.35,
            )
    if any("base" not in v for v in variants_of.values()):
        key.text(
            1.0,
            0.0,
            "* not in base: added by a variant",
            transform=key.transAxes,
            ha="right",
            va="bottom",
            fontsize=8,
            color="0.3",
        )


# --------------------------------------------------------------------------- fan charts


_LINESTYLES = ("-", (0, (5, 2)), (0, (1, 1.5)), (0, (6, 2, 1, 2)), (0, (3, 1, 1, 1, 1, 1)))


def _styles(order: list[str]) -> dict[str, Any]:
    """A line style per variant, so variants with the same median stay apart."""
    return {v: _LINESTYLES[i % len(_LINESTYLES)] for i, v in enumerate(order)}


def _by_variant(rows: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The rows of each variant, by date, without weeks whose median is missing (split once)."""
    ordered = rows.dropna(subset=["p50"]).sort_values("date", kind="stable")
    return {str(v): group for v, group in ordered.groupby("variant", sort=False)}


def _same_as_base(groups: dict[str, pd.DataFrame], variant: str) -> bool:
    """Whether a variant's median equals base's in every week (it would hide behind it)."""
    if variant == "base" or "base" not in groups or variant not in groups:
        return False
    base, other = groups["base"], groups[variant]
    # Aligned by date with numpy, not an index join: this runs for every variant of every chart.
    common, mine, theirs = np.intersect1d(
        base["date"].to_numpy(), other["date"].to_numpy(), return_indices=True
    )
    if not common.size:
        return False
    a = base["p50"].to_numpy(dtype=float)[mine]
    b = other["p50"].to_numpy(dtype=float)[theirs]
    scale = max(float(np.max(np.abs(np.concatenate([a, b])))), 1e-12)
    return bool(np.all(np.abs(a - b) <= 1e-9 * scale))


def _bands(
    ax: Any,
    rows: pd.DataFrame,
    order: list[str],
    colours: dict[str, str],
    styles: dict[str, Any],
    outer: bool = True,
) -> list[tuple[Any, str]]:
    """Median lines with the 50 % band filled and the 90 % band as thin lines, per variant.

    Returns legend entries ``(handle, label)``: the band's colour and the line's style.
    """
    entries: list[tuple[Any, str]] = []
    n = len(order)
    groups = _by_variant(rows)
    for rank, variant in enumerate(order):
        d = groups.get(variant)
        if d is None or d.empty:
            continue
        c = colours[variant]
        x = d["date"].to_numpy()
        z = 2 + (n - rank)  # base on top, so the lines behind it stay visible by their style
        if {"p25", "p75"} <= set(d.columns):
            ax.fill_between(x, d["p25"], d["p75"], color=c, alpha=0.16, linewidth=0, zorder=z)
        if outer and {"p05", "p95"} <= set(d.columns):
            for col in ("p05", "p95"):
                ax.plot(x, d[col], color=c, linewidth=0.8, alpha=0.8, linestyle=":", zorder=z)
        ax.plot(x, d["p50"], color=c, linewidth=2.0, linestyle=styles[variant], zorder=z + 0.5)
        entries.append(_band_entry(variant, c, styles[variant], groups))
    return entries


def _band_entry(
    variant: str, colour: str, style: Any, groups: dict[str, pd.DataFrame]
) -> tuple[Any, str]:
    """A variant's legend entry in a fan chart: its band and its median's line."""
    label = variant + (" (median same as base)" if _same_as_base(groups, variant) else "")
    handle = (
        Patch(facecolor=colour, alpha=0.3, linewidth=0),
        Line2D([], [], color=colour, linewidth=2.0, linestyle=style),
    )
    return handle, label


def _canvas_bands(
    panel: _Panel,
    rows: pd.DataFrame,
    order: list[str],
    colours: dict[str, str],
    styles: dict[str, Any],
) -> list[tuple[Any, str]]:
    """`_bands` on a `_SmallMultiples` panel: the same marks, gathered into collections."""
    from matplotlib.colors import to_rgba

    entries: list[tuple[Any, str]] = []
    n = len(order)
    groups = _by_variant(rows)
    for rank, variant in enumerate(order):
        d = groups.get(variant)
        if d is None or d.empty:
            continue
        c = colours[variant]
        x = mdates.date2num(d["date"])
        z = 2 + (n - rank)  # base on top, so the lines behind it stay visible by their style
        if {"p25", "p75"} <= set(d.columns):
            low, high = d["p25"].to_numpy(dtype=float), d["p75"].to_numpy(dtype=float)
            known = ~(np.isnan(low) | np.isnan(high))
            if known.any():
                xs = x[known]
                panel.polygon(
                    np.concatenate([xs, xs[::-1]]),
                    np.concatenate([low[known], high[known][::-1]]),
                    c,
                    alpha=0.16,
                    zorder=z,
                )
        if {"p05", "p95"} <= set(d.columns):
            for col in ("p05", "p95"):
                panel.line(x, d[col].to_numpy(dtype=float), to_rgba(c, 0.8), 0.8, ":", zorder=z)
        panel.line(x, d["p50"].to_numpy(dtype=float), c, 2.0, styles[variant], zorder=z + 0.5)
        entries.append(_band_entry(variant, c, styles[variant], groups))
    return entries


def _legend(
    ax: Any, entries: list[tuple[Any, str]], extra: list[tuple[Any, str]], **kw: Any
) -> None:
    from matplotlib.legend_handler import HandlerTuple

    handles = [h for h, _ in entries] + [h for h, _ in extra]
    labels = [label for _, label in entries] + [label for _, label in extra]
    ax.legend(
        handles,
        labels,
        handler_map={tuple: HandlerTuple(ndivide=None, pad=0)},
        frameon=False,
        **kw,
    )


def causal_events(events: list[Event], pairs: list[tuple[str, str]]) -> list[Event]:
    """The event each comparison turns on: the first by which its two variants differ.

    With common random numbers the two variants' histories are identical until
    that date, so it is where their lines can part (Alloush's killing for
    ``base`` against ``alloush_alive``). One per distinct event, by date.
    """
    by_variant: dict[str, dict[str, Event]] = {}
    for event in events:
        by_variant.setdefault(event.variant, {})[event.id] = event
    found: dict[str, Event] = {}
    for treatment, control in pairs:
        mine, theirs = by_variant.get(treatment, {}), by_variant.get(control, {})
        differ = [
            e
            for side, other in ((mine, theirs), (theirs, mine))
            for eid, e in side.items()
            if eid not in other or other[eid].start != e.start
        ]
        if differ:
            first = min(differ, key=lambda e: (e.start, e.id))
            found.setdefault(first.id, first)
    return sorted(found.values(), key=lambda e: (e.start, e.id))


def _hypothesis_pairs(folder: _Folder) -> list[tuple[str, str]]:
    """(treatment, control) of every tested hypothesis row, in order, once each."""
    try:
        hyp = folder.table("hypotheses.csv", ("treatment", "control"))
    except _Skip:
        return []
    pairs = zip(hyp["treatment"].astype(str), hyp["control"].astype(str), strict=True)
    return list(dict.fromkeys(pairs))


_CAUSAL_GAP = 0.04
"""Causal events closer than this share of a fan chart's time span share one label (its columns)."""


def _mark_causal(ax: Any, causal: list[Event], first: pd.Timestamp, last: pd.Timestamp) -> None:
    """A dashed line for each event a comparison turns on, labelled with its name and date.

    Events closer than `_CAUSAL_GAP` of the span (geneva3: the Russian
    intervention, the Saudi resupply and the Iranian surge, 30 Sep - 15 Oct
    2015) get one label, a column per event in date order, instead of labels
    drawn over each other.
    """
    shown = sorted((e for e in causal if first <= e.start <= last), key=lambda e: e.start)
    if not shown:
        return
    xs = [float(mdates.date2num(event.start)) for event in shown]
    gap = _CAUSAL_GAP * max(float(mdates.date2num(last) - mdates.date2num(first)), 1.0)
    groups = _clusters(xs, gap, chained=True)
    ax.vlines(  # one collection, not a line per event
        xs,
        0,
        1,
        transform=ax.get_xaxis_transform(),
        colors="0.15",
        linewidth=1.4,
        linestyles=(0, (6, 3)),
        zorder=6,
    )
    middle = (mdates.date2num(first) + mdates.date2num(last)) / 2
    for group in groups:
        # Beside the group on the side with more room: right of its last line in the span's
        # first half, left of its first line in the second, so that it stays within the axes.
        early = xs[group[-1]] < middle
        ax.text(
            xs[group[-1]] if early else xs[group[0]],
            0.99,
            "\n".join(f" {shown[i].label}, {shown[i].start:%d %b %Y} " for i in group),
            transform=ax.get_xaxis_transform(),
            rotation=90,
            ha="left" if early else "right",
            multialignment="right",  # each column ends at the top, as a single label does
            va="top",
            fontsize=8.5,
            color="0.15",
            zorder=7,
            bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.8, "pad": 1.0},
        )


def _fan(
    metric: str,
    ts: pd.DataFrame,
    events: list[Event],
    stamp: Stamp,
    causal: list[Event] | None = None,
) -> Figure:
    """Fan chart of one metric: median, 50 % and 90 % of runs per variant; each variant's events.

    The y axis spans the metric's whole scale (`_FAN_SCALE`); the events the
    hypotheses' comparisons turn on (`causal_events`) are dashed lines with
    their date and label.
    """
    title, ylabel = FAN_METRICS[metric]
    rows = ts[ts["metric"] == metric]
    order = _variant_order(rows["variant"])
    colours = _colours(order)
    styles = _styles(order)
    if rows["p50"].notna().sum() == 0:
        raise _Skip(f"no readable values for metric {metric!r}")
    first, last = rows["date"].min(), rows["date"].max()
    shown = [e for e in events if first <= e.start <= last]
    numbers = event_numbers(shown)
    strip_rows = len({e.variant for e in shown})
    key_lines = math.ceil(len(numbers) / 2)
    height = 4.6 + (0.5 + 0.28 * strip_rows if strip_rows else 0) + 0.17 * key_lines
    # Laid out by `_place_fan` from the sizes of its few outer texts, not by the constrained
    # layout (which measures every tick of every axes, twice).
    fig = Figure(figsize=(FIGSIZE[0], height), dpi=DPI)
    FigureCanvasAgg(fig)
    strip = fig.add_axes((0.0, 0.0, 1.0, 1.0)) if strip_rows else None
    ax = fig.add_axes((0.0, 0.0, 1.0, 1.0), sharex=strip)
    key = None
    entries = _bands(ax, rows, order, colours, styles)
    if metric == "bargaining_range":
        ax.axhline(0, color="0.2", linewidth=0.9, zorder=2)
    scale = _FAN_SCALE.get(metric)
    if scale is not None:
        ax.set_ylim(
            scale[0] - 0.01 * (scale[1] - scale[0]), scale[1] + 0.01 * (scale[1] - scale[0])
        )
    else:  # zero in view: where the sign changes is the point of the chart
        values = rows[[c for c in _BANDS if c in rows.columns]].to_numpy(dtype=float)
        low, high = min(0.0, float(np.nanmin(values))), max(0.0, float(np.nanmax(values)))
        pad = 0.05 * max(high - low, 1e-9)
        ax.set_ylim(low - pad, high + pad)
    ax.set_xlim(first, last)
    _mark_causal(ax, causal or [], first, last)
    if strip is not None:
        _timeline(strip, shown, order, colours, numbers, first, last)
        ax.vlines(  # one collection, not a line per date
            [mdates.date2num(when) for when in sorted({e.start for e in shown})],
            0,
            1,
            transform=ax.get_xaxis_transform(),
            colors="0.75",
            linestyles=(0, (1, 2)),
            linewidth=0.8,
            zorder=1,
        )
        key = fig.add_axes((0.0, 0.0, 1.0, 1.0))
        _event_key(key, shown, numbers)
    _date_axis(ax)
    ax.set_ylabel(ylabel)
    ax.grid(axis="y", color="0.9", linewidth=0.8)
    ax.set_axisbelow(True)
    _headline(fig, title, stamp)
    extra = [
        (Line2D([], [], color="0.4", linewidth=0.8, linestyle=":"), "90 % of runs (p05–p95)"),
    ]
    if causal:
        extra.append(
            (
                Line2D([], [], color="0.15", linewidth=1.4, linestyle=(0, (6, 3))),
                "event a hypothesis\nturns on",
            )
        )
    _legend(
        ax,
        entries,
        extra,
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
        title="variant: line = median,\nband = 50 % of runs",
        title_fontsize=9,
        fontsize=9,
        alignment="left",
    )
    _place_fan(fig, strip, ax, key, strip_rows, key_lines)
    return fig


def _place_fan(fig: Figure, strip: Any, ax: Any, key: Any, strip_rows: int, key_lines: int) -> None:
    """Position a fan chart's axes in inches, measuring only the texts beside them.

    From the top: the headline, the strip (its title above it, 0.28 in a row), the chart, its
    dates, the key (0.17 in a line). The left margin holds the strip's variant names or the
    chart's y label and numbers, whichever is wider; the right one the chart's legend.
    """
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    width, height = fig.get_size_inches()

    def inches(texts: list[Any]) -> float:
        extents = [t.get_window_extent(renderer).width for t in texts if t.get_text()]
        return max(extents, default=0.0) / DPI

    point = 1 / 72
    pad = (mpl.rcParams["ytick.major.size"] + mpl.rcParams["ytick.major.pad"]) * point
    label = ax.yaxis.label
    label_width = label.get_window_extent(renderer).width / DPI  # of the rotated text
    left = inches(ax.get_yticklabels()) + pad + label_width + 6 * point
    if strip is not None:
        left = max(left, inches(strip.get_yticklabels()) + 4 * point)
    left += 0.12
    legend = ax.get_legend()
    right = legend.get_window_extent(renderer).width / DPI + 0.2 if legend else 0.2
    top = 0.42  # the headline
    bottom = 0.08
    dates = pad + 1.25 * _points(mpl.rcParams["xtick.labelsize"]) * point + 0.1
    key_height = 0.17 * key_lines + 0.05 if key is not None else 0.0
    strip_height = 0.28 * strip_rows + 0.12 if strip is not None else 0.0
    strip_room = strip_height + 0.3 if strip is not None else 0.0  # its title and a gap
    chart = height - top - strip_room - dates - key_height - bottom
    span = width - left - right

    def place(axes: Any, from_top: float, tall: float) -> None:
        axes.set_position(
            (left / width, 1 - (from_top + tall) / height, span / width, tall / height)
        )

    if strip is not None:
        place(strip, top + 0.25, strip_height)
    place(ax, top + strip_room, chart)
    if key is not None:
        place(key, top + strip_room + chart + dates, key_height)


# --------------------------------------------------------------------------- verdicts

_KIND_AXIS = {
    "points": ("chance of an outcome", "percentage points", 100.0),
    "share": ("shares of a 0–1 scale", "share of the scale (0–1)", 1.0),
    "count": ("counts per run", "events per run", 1.0),
    "stage": ("stage of the talks", "stages (0–4)", 1.0),
    "weeks": ("weeks", "weeks", 1.0),
    "capability": ("forces lost", "capability units, as in the scenario", 1.0),
}
_KIND_ORDER = list(_KIND_AXIS)

_METRIC_WORDS = {
    "agreement": "chance of agreement",
    "agreement_held": "chance an agreement holds",
    "agreement_broke": "chance an agreement breaks down",
    "compromise": "chance of a compromise",
    "talks_held": "chance talks are held",
    "framework": "chance of a framework",
    "ceasefire": "chance of a ceasefire at the table",
    "ceasefire_held": "chance a ceasefire was in force and none collapsed",
    "fragmented": "chance the opposition fragments",
    "stage": "furthest stage reached",
    "value_opposition": "what the opposition ends up with",
    "value_government": "what the government ends up with",
    "government_control_end": "government's territory at the end",
    "opposition_control_end": "opposition's territory at the end",
    "bargaining_range_at_talks": "bargaining range when talks open",
    "bargaining_range_mean_talks": "bargaining range during talks",
    "opposition_cohesion_at_talks": "opposition cohesion when talks open",
    "opposition_cohesion_mean_talks": "opposition cohesion during talks",
    "settlement": "terms of the settlement",
    "gap_end": "gap between the sides at the end",
    "walkouts": "walkouts",
    "walkouts_government": "government walkouts",
    "walkouts_opposition": "opposition walkouts",
    "resumptions": "rounds resumed",
    "agreement_week": "week of the agreement",
    "talks_weeks": "weeks in session",
}


def metric_words(metric: str) -> str:
    """A run outcome in words (its column name, spaced, when negsim has no words for it)."""
    return _METRIC_WORDS.get(metric, metric.replace("_", " "))


def _kind_of(row: pd.Series) -> str:
    unit = row.get("unit")
    return str(unit) if isinstance(unit, str) and unit in _KIND_AXIS else "share"


def _verdicts(
    folder: _Folder, problems: list[str], stamp: Stamp, titles: dict[str, str] | None = None
) -> Figure:
    """Forest plot of hypotheses.csv, one panel per kind of metric, each in its own unit.

    Each row shades where its interval would give each verdict: grey inside
    ± the smallest effect that matters, green beyond it on the predicted
    side, orange on the other. The interval has end caps, so it shows however
    narrow, and its numbers are written beside it.
    """
    where = folder.path("hypotheses.csv")
    cols = (
        "hypothesis",
        "metric",
        "treatment",
        "control",
        "effect",
        "ci_low",
        "ci_high",
        "verdict",
    )
    raw = folder.table("hypotheses.csv", cols)
    if raw.empty:
        raise _NotApplicable("no hypothesis was tested (their variants were not all run)")
    effect = _numeric(raw, "effect", where, problems)
    lo = _numeric(raw, "ci_low", where, problems)
    hi = _numeric(raw, "ci_high", where, problems)
    keep = effect.notna()
    if not keep.any():
        raise _Skip("no readable 'effect' values")
    raw = raw[keep].assign(_effect=effect[keep], _lo=lo[keep], _hi=hi[keep])
    raw = raw.assign(_kind=[_kind_of(row) for _, row in raw.iterrows()])
    kinds = [k for k in _KIND_ORDER if (raw["_kind"] == k).any()]
    conf = None
    if "confidence" in raw.columns:
        c = pd.to_numeric(raw["confidence"], errors="coerce").dropna().unique()
        if len(c) == 1 and 0 < c[0] < 1:
            conf = float(c[0])
    counts = [int((raw["_kind"] == k).sum()) for k in kinds]
    # Placed by `_place_forest` from the sizes of the texts beside the panels, not by the
    # constrained layout (which measures every tick of every panel, twice).
    fig = Figure(
        figsize=(11.0, max(FIGSIZE[1], 1.6 + sum(0.62 * n + 0.9 for n in counts))), dpi=DPI
    )
    FigureCanvasAgg(fig)
    axes = np.array([[fig.add_axes((0.0, 0.0, 1.0, 1.0))] for _ in kinds])
    titles = titles or {}
    used: dict[str, tuple[str, str]] = {}  # verdict -> (colour, marker) of the rows drawn
    for ax, kind in zip(axes[:, 0], kinds, strict=True):
        rows = raw[raw["_kind"] == kind]
        what, unit, scale = _KIND_AXIS[kind]
        n = len(rows)
        ys = np.arange(n)[::-1]
        values = np.concatenate(
            [rows["_effect"], rows["_lo"], rows["_hi"]]
            + [[b] for b in (_bound_of(r) for _, r in rows.iterrows()) if b is not None]
        )
        span = float(np.nanmax(np.abs(values))) * scale
        span = 1.25 * span if np.isfinite(span) and span > 0 else 1.0
        bounds = [b * scale for b in (_bound_of(r) for _, r in rows.iterrows()) if b is not None]
        if bounds:  # the zones beyond the bound stay visible
            span = max(span, 1.8 * max(bounds))
        labels = []
        # Drawn in bulk (a collection per kind of mark, not artists per row); the texts stay
        # one per row.
        zones: dict[str, list[tuple[float, float, float]]] = {}  # colour -> (x, width, y)
        segments: list[tuple[float, float, float, str]] = []  # (y, low, high, colour)
        marks: dict[tuple[str, str], tuple[list[float], list[float]]] = {}
        for y, (_, row) in zip(ys, rows.iterrows(), strict=True):
            verdict = str(row["verdict"]).strip() if isinstance(row["verdict"], str) else "?"
            colour, marker = VERDICT_STYLE.get(verdict, ("#000000", "D"))
            expected = str(row.get("expected", ""))
            bound = _bound_of(row)
            if bound is not None:
                b = bound * scale
                sign = 1 if expected == "increase" else -1 if expected == "decrease" else 0
                zones.setdefault("0.88", []).append((-b, 2 * b, y))
                if sign:
                    for side, tint in ((sign, "#DDF1EA"), (-sign, "#FBE3D6")):
                        start = b if side > 0 else -span
                        zones.setdefault(tint, []).append((start, span - b, y))
            e, l_, h_ = row["_effect"] * scale, row["_lo"] * scale, row["_hi"] * scale
            if not (math.isnan(l_) or math.isnan(h_)):
                segments.append((y, l_, h_, colour))
            xs, ys_ = marks.setdefault((colour, marker), ([], []))
            xs.append(e)
            ys_.append(y)
            arrow = "→" if expected == "increase" else "←" if expected == "decrease" else "?"
            numbers = (
                f"{_signed(e, '.3g')} [{_signed(l_, '.3g')}, {_signed(h_, '.3g')}]"
                if not (math.isnan(l_) or math.isnan(h_))
                else _signed(e, ".3g")
            )
            ax.text(
                1.01,
                y,
                f"{verdict}  {numbers}",
                transform=ax.get_yaxis_transform(),
                va="center",
                ha="left",
                color=colour,
                fontsize=9,
                fontweight="bold",
                clip_on=False,
            )
            # Wrapped, never cut: the claim is what the reader came for.
            name = titles.get(str(row["hypothesis"]), str(row["hypothesis"]))
            name = "\n".join(textwrap.wrap(name, _LABEL_WIDTH, break_on_hyphens=False))
            labels.append(
                f"{name}\n{metric_words(str(row['metric']))}, expects {arrow}\n"
                f"{row['treatment']} − {row['control']}"
            )
            used.setdefault(verdict, (colour, marker))
        for tint, spans in zones.items():
            ax.add_collection(
                PolyCollection(
                    [
                        [(x, y - 0.38), (x + w, y - 0.38), (x + w, y + 0.38), (x, y + 0.38)]
                        for x, w, y in spans
                    ],
                    facecolors=tint,
                    linewidths=0,
                    zorder=1,
                ),
                autolim=False,
            )
        if segments:
            y_, lo_, hi_, colours_ = zip(*segments, strict=True)
            ax.hlines(y_, lo_, hi_, colors=colours_, linewidth=2.5, zorder=3)
            caps = np.concatenate([lo_, hi_])
            ax.vlines(
                caps,
                np.tile(y_, 2) - 0.2,
                np.tile(y_, 2) + 0.2,
                colors=colours_ * 2,
                linewidth=2,
                zorder=4,
            )
        for (colour, marker), (xs, ys_) in marks.items():
            ax.plot(
                xs,
                ys_,
                marker=marker,
                markersize=7,
                color=colour,
                zorder=5,
                linestyle="",
                markerfacecolor="white",
                markeredgewidth=1.8,
            )
        ax.axvline(0, color="0.2", linewidth=1, zorder=2)
        ax.set_yticks(ys, labels, fontsize=8, linespacing=1.15)
        ax.set_ylim(-0.6, n - 0.4)
        ax.set_xlim(-span, span)
        ax.grid(axis="x", color="0.8", linewidth=0.6)
        ax.set_axisbelow(True)
        ax.spines["left"].set_visible(False)
        ax.tick_params(axis="y", length=0)
        ax.set_xlabel(f"effect (treatment − control), {unit}", fontsize=9.5)
        ax.set_title(what, loc="left", fontsize=10.5, fontweight="bold")
    level = f"{conf * 100:g} % " if conf is not None else ""
    _headline(fig, "Hypotheses: effect and confidence interval", stamp)
    # The key shows the markers the rows use (one per verdict), not a generic circle.
    handles: list[Any] = [
        Line2D(
            [],
            [],
            marker=marker,
            color=colour,
            markerfacecolor="white",
            markeredgewidth=1.8,
            markersize=7,
            linestyle="",
        )
        for colour, marker in used.values()
    ]
    handles += [
        Line2D([], [], color="0.3", linewidth=2.5, marker="|", markersize=9),
        Patch(color="0.88"),
        Patch(color="#DDF1EA"),
        Patch(color="#FBE3D6"),
    ]
    keys = [f"{verdict}: mean paired effect" for verdict in used]
    keys += [
        f"{level}interval (numbers: effect [interval])",
        "within ± the smallest effect that matters",
        "beyond it on the predicted side (→ / ←)",
        "beyond it on the other side",
    ]
    legend = fig.legend(
        handles, keys, loc="lower center", bbox_to_anchor=(0.5, 0.0), ncols=3, frameon=False,
        fontsize=8.5,
    )  # fmt: skip
    _place_forest(fig, list(axes[:, 0]), counts, legend)
    return fig


def _place_forest(fig: Figure, axes: list[Any], counts: list[int], legend: Any) -> None:
    """Position the forest plot's panels in inches, measuring only the texts beside them.

    Left: the widest row label; right: the widest verdict with its numbers; between panels
    the ticks and x label of one and the title of the next; at the bottom the key. The
    panels share the rest in proportion to their rows.
    """
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    width, height = fig.get_size_inches()

    def widest(texts: list[Any]) -> float:
        extents = [t.get_window_extent(renderer).width for t in texts if t.get_text()]
        return max(extents, default=0.0) / DPI

    point = 1 / 72
    left = max(widest(ax.get_yticklabels()) for ax in axes)
    left += mpl.rcParams["ytick.major.pad"] * point + 0.15
    beside = max(widest(ax.texts) for ax in axes)
    right = beside + 0.15
    right += 0.01 * (width - left - right)  # the texts start at 1.01 of the panel's width
    title = 0.32  # a panel's bold title and its pad
    under = (  # ticks, their numbers and the x label
        (mpl.rcParams["xtick.major.size"] + mpl.rcParams["xtick.major.pad"]) * point
        + 1.25 * (_points(mpl.rcParams["xtick.labelsize"]) + 9.5) * point
        + mpl.rcParams["axes.labelpad"] * point
        + 0.12
    )
    top = 0.45 + title
    bottom = legend.get_window_extent(renderer).height / DPI + 0.1 + under
    room = height - top - bottom - (len(axes) - 1) * (under + title)
    y = height - top
    for ax, n in zip(axes, counts, strict=True):
        tall = room * n / sum(counts)
        ax.set_position(
            (left / width, (y - tall) / height, (width - left - right) / width, tall / height)
        )
        y -= tall + under + title


# --------------------------------------------------------------------------- outcomes


def _outcomes(folder: _Folder, problems: list[str], stamp: Stamp) -> Figure:
    """Chance of agreement (Wilson interval) and settlement distribution per variant, with n."""
    where = folder.path("runs.csv")
    raw = folder.table("runs.csv", ("variant", "agreement", "settlement"))
    if raw.empty:
        raise _Skip("no runs in the file")
    agreement = _numeric(raw, "agreement", where, problems)
    settlement = _numeric(raw, "settlement", where, problems)
    odd = agreement.notna() & ~agreement.isin([0.0, 1.0])
    if odd.any():
        problems.append(
            f"{where}: {int(odd.sum())} 'agreement' values other than 0/1 treated as missing"
        )
        agreement = agreement.where(~odd)
    df = pd.DataFrame({"variant": raw["variant"], "agreement": agreement, "settlement": settlement})
    order = _variant_order(df["variant"])
    if not order:
        raise _Skip("no variant names")
    colours = _colours(order)
    fig = _new_figure()
    # wspace: room between the panels for the texts right of the left panel's intervals.
    fig.get_layout_engine().set(wspace=0.08)  # type: ignore[call-arg,union-attr]
    left, right = fig.subplots(1, 2, sharey=True, width_ratios=[1, 1.15])
    ys = np.arange(len(order))[::-1]  # base at the top
    rng = np.random.default_rng(0)  # fixed jitter: identical figures from identical files
    top = 0.0
    texts = []
    for y, variant in zip(ys, order, strict=True):
        d = df[df["variant"] == variant]
        c = colours[variant]
        a = d["agreement"].dropna()
        if len(a):
            k, n = int(a.sum()), len(a)
            lo, hi = wilson_interval(k, n)
            top = max(top, hi)
            left.hlines(y, lo, hi, color=c, linewidth=3)
            left.vlines([lo, hi], y - 0.15, y + 0.15, color=c, linewidth=2)
            left.plot(
                [k / n], [y], "o", color=c, markersize=8, markerfacecolor="white", markeredgewidth=2
            )
            texts.append((y, hi, f"{100 * k / n:.1f} % ({k} of {n} runs)"))
        else:
            texts.append((y, 0.0, "no readable runs"))
        s = d.loc[d["agreement"] == 1, "settlement"].dropna().to_numpy()
        if s.size >= 10:
            right.boxplot(
                [s],
                positions=[y],
                orientation="horizontal",
                widths=0.5,
                showfliers=False,
                patch_artist=True,
                boxprops={"facecolor": c, "alpha": 0.3, "edgecolor": c},
                medianprops={"color": c, "linewidth": 2},
                whiskerprops={"color": c},
                capprops={"color": c},
            )
        if s.size:
            jitter = rng.uniform(-0.18, 0.18, s.size)
            alpha = 0.8 if s.size <= 100 else max(0.08, 8 / math.sqrt(s.size))
            right.plot(s, y + jitter, ".", color=c, alpha=alpha, markersize=7)
            note = f"n = {s.size}" + (" (too few for a box)" if s.size < 10 else "")
            right.text(
                1.0,
                y + 0.3,
                note,
                ha="right",
                va="bottom",
                fontsize=8.5,
                color="0.25",
                transform=right.get_yaxis_transform(),
            )
        else:
            right.text(
                0.5, y, "no agreements", va="center", ha="center", color="0.35", fontstyle="italic"
            )
    # The axis fits the data: 0-4 % is not drawn on a 0-100 % axis.
    limit = min(1.0, max(0.05, top * 1.45))
    for y, hi, text in texts:
        x = hi + limit * 0.02
        left.text(x, y + 0.12, text, va="bottom", ha="left", fontsize=9)
    left.set_yticks(ys, order)
    for tick, variant in zip(left.get_yticklabels(), order, strict=True):
        tick.set_color(colours[variant])
    left.set_ylim(-0.6, len(order) - 0.4)
    left.set_xlim(-limit * 0.02, limit)
    decimals = 0 if limit >= 0.1 else 1
    left.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=decimals, symbol=" %"))
    left.set_xlabel("chance of agreement (share of runs)\nWilson 95 % interval; axis fitted")
    left.set_title("Agreement reached", loc="left")
    right.set_xlim(-0.02, 1.02)
    right.set_xlabel(
        "settlement on the issue scale\n"
        + "\n".join(textwrap.wrap(f"({stamp.scale()})", 52, break_on_hyphens=False))
    )
    right.set_title("Settlement in runs with an agreement", loc="left")
    right.tick_params(axis="y", length=0)
    for ax in (left, right):
        ax.grid(axis="x", color="0.9", linewidth=0.8)
        ax.set_axisbelow(True)
    _headline(fig, "Outcomes by variant", stamp)
    return fig


# --------------------------------------------------------------------------- territory


def _territory(ts: pd.DataFrame, stamp: Stamp) -> Figure:
    """Each actor's territorial control over time, one panel per actor: median and bands per variant."""
    if not (ts["variant"] == "base").any():
        # The panels compare every variant with the scenario as written.
        raise _NotApplicable("the 'base' variant was not run")
    rows = ts[ts["metric"].str.startswith("control.")]
    if rows.empty:
        raise _Skip("no 'control.<actor>' rows")
    actors = list(dict.fromkeys(rows["metric"]))  # order of first appearance
    order = _variant_order(rows["variant"])
    colours = _colours(order)
    styles = _styles(order)
    columns = 3 if len(actors) > 4 else 2 if len(actors) > 1 else 1
    # On one canvas laid out in inches (`_SmallMultiples`): the panels' own axes took a third
    # of the figure's time. Left: the y label and the percentages; below: the dates and the key.
    grid = _SmallMultiples(
        len(actors), columns, width=11.0, panel_height=1.8, margins=(0.9, 0.25, 0.62, 1.15),
        gaps=(0.6, 0.5),
    )  # fmt: skip
    start, end = rows["date"].min(), rows["date"].max()
    # Fewer dates than a wide axis takes: a panel is a third of the figure wide.
    locator = mdates.AutoDateLocator(minticks=3, maxticks=6)
    when = np.asarray(locator.tick_values(start, end), dtype=float)
    when = when[(when >= mdates.date2num(start)) & (when <= mdates.date2num(end))]
    formatter = _DateFormatter(locator)
    dates = (list(when), formatter.format_ticks(when))
    offset = formatter.get_offset()
    entries: list[tuple[Any, str]] = []
    for i, metric in enumerate(actors):
        chosen = rows[rows["metric"] == metric]
        values = chosen[[c for c in _BANDS if c in chosen.columns]].to_numpy(dtype=float)
        top = 1.05 * max(float(np.nanmax(values)) if np.isfinite(values).any() else 1.0, 1e-9)
        panel = grid.panel(i, (mdates.date2num(start), mdates.date2num(end)), (0.0, top))
        got = _canvas_bands(panel, chosen, order, colours, styles)
        entries = entries if len(entries) >= len(got) else got
        panel.title(metric.removeprefix("control."), fontsize=10.5, loc="left")
        # Steps of 1, 2 or 5: whole percentages (a step of 2.5 would print 2 % for 2.5 %).
        found = np.asarray(MaxNLocator(5, steps=[1, 2, 5, 10]).tick_values(0.0, top), dtype=float)
        shares = found[(found >= 0) & (found <= top)]
        panel.yticks(shares, [f"{100 * v:.0f} %" for v in shares], fontsize=10)
        for share in shares:  # the grid behind the data, as `grid(axis="y")`
            panel.line(panel.xlim, [share, share], "0.9", 0.8, zorder=0.5)
        panel.frame()
        # Dates under the lowest panel of each column only (the panels share their x axis).
        below = panel.xticks(0, fontsize=10, labels=dates, numbers=i + columns >= len(actors))
        if offset and i + columns >= len(actors):
            x0, y0, w, _ = panel.box
            grid.ax.text(x0 + w, y0 - below, offset, ha="right", va="top", fontsize=10)
    fig = grid.finish()
    fig.supylabel("share of territory (weighted by strategic value)", fontsize=10)
    _headline(fig, "Territorial control by actor", stamp)
    handles = [h for h, _ in entries] + [Line2D([], [], color="0.4", linewidth=0.8, linestyle=":")]
    labels = [label for _, label in entries] + ["90 % of runs (p05–p95)"]
    from matplotlib.legend_handler import HandlerTuple

    fig.legend(
        handles,
        labels,
        handler_map={tuple: HandlerTuple(ndivide=None, pad=0)},
        loc="lower center",
        bbox_to_anchor=(0.5, 0.0),
        ncols=min(len(handles), 5),
        frameon=False,
        title="variant: line = median of runs, band = 50 % of runs",
        title_fontsize=9,
    )
    return fig


# --------------------------------------------------------------------------- the talks


_TALKS_METRICS = ("talks_in_session", "agreement", "ceasefire_in_force")


def _talks(folder: _Folder, ts: pd.DataFrame, problems: list[str], stamp: Stamp) -> Figure:
    """The talks themselves: at the table, offers, agreement, ceasefires, walkouts by side."""
    present = set(ts["metric"].unique())
    if not set(_TALKS_METRICS) <= present:
        raise _NotApplicable(
            "timeseries.csv has no talks metrics (results written by an older negsim)"
        )
    order = _variant_order(ts["variant"])
    colours = _colours(order)
    styles = _styles(order)
    fig = _new_figure(width=11.0, height=9.0)
    grid = fig.add_gridspec(4, 2, width_ratios=[2.3, 1])
    panels = [fig.add_subplot(grid[0, 0])]
    panels += [fig.add_subplot(grid[i, 0], sharex=panels[0]) for i in range(1, 4)]

    def means(ax: Any, metric: str, fit: bool = False) -> None:
        rows = ts[ts["metric"] == metric]
        for rank, variant in enumerate(order):
            d = rows[rows["variant"] == variant].sort_values("date").dropna(subset=["mean"])
            ax.plot(
                d["date"],
                d["mean"],
                color=colours[variant],
                linestyle=styles[variant],
                linewidth=2,
                label=variant,
                zorder=3 + len(order) - rank,
            )
        top = float(rows["mean"].max()) if fit and rows["mean"].notna().any() else 1.0
        top = min(1.0, max(0.05, 1.3 * top))  # fitted: a 1 % chance is not drawn on 0-100 %
        ax.yaxis.set_major_formatter(
            PercentFormatter(1.0, decimals=0 if top >= 0.1 else 1, symbol=" %")
        )
        ax.set_ylim(-0.02 * top, 1.02 * top)
        ax.grid(axis="y", color="0.9", linewidth=0.8)

    means(panels[0], "talks_in_session")
    panels[0].set_title(
        "At the table: share of runs with a round in session", loc="left", fontsize=10
    )
    offer = ts[
        ts["metric"].isin(["offer.government", "demand.opposition"]) & (ts["variant"] == "base")
    ]
    ax = panels[1]
    for metric, colour, name in (
        ("offer.government", "#0072B2", "government's offer"),
        ("demand.opposition", "#D55E00", "opposition's demand"),
    ):
        d = offer[offer["metric"] == metric].sort_values("date").dropna(subset=["p50"])
        if d.empty:
            continue
        ax.fill_between(d["date"], d["p25"], d["p75"], color=colour, alpha=0.18, linewidth=0)
        ax.plot(d["date"], d["p50"], color=colour, linewidth=2, label=f"{name} (median, 50 %)")
    ax.set_ylim(-0.02, 1.02)
    ax.set_ylabel("issue scale")
    ax.grid(axis="y", color="0.9", linewidth=0.8)
    # Middle left: the demand starts at the top of the scale, the offer at the bottom.
    ax.legend(frameon=False, fontsize=8, loc="center left")
    ax.set_title(
        f"Offers, base ({stamp.scale()});\nreservation points are not in the results",
        loc="left",
        fontsize=9,
    )
    means(panels[2], "agreement", fit=True)
    panels[2].set_title(
        "Cumulative chance of agreement (share of runs agreed by that week; axis fitted)",
        loc="left",
        fontsize=10,
    )
    means(panels[3], "ceasefire_in_force")
    panels[3].set_title("Ceasefire in force (share of runs)", loc="left", fontsize=10)
    for p in panels[:-1]:
        p.tick_params(labelbottom=False)
    _date_axis(panels[-1])
    panels[0].set_xlim(ts["date"].min(), ts["date"].max())
    # The variants' key goes where no line runs: the ceasefire panel before the first
    # ceasefire, or else the top of the first panel (rounds reach 100 % there).
    _legend_off_data(panels, ts, order)

    # Right column: per-run outcomes from runs.csv.
    where = folder.path("runs.csv")
    walk = fig.add_subplot(grid[0:2, 1])
    held = fig.add_subplot(grid[2:4, 1])
    try:
        runs = folder.table("runs.csv", ("variant", "walkouts_government", "walkouts_opposition"))
        wg = _numeric(runs, "walkouts_government", where, problems)
        wo = _numeric(runs, "walkouts_opposition", where, problems)
        ys = np.arange(len(order))[::-1]
        for y, variant in zip(ys, order, strict=True):
            mask = runs["variant"] == variant
            g, o = float(wg[mask].mean()), float(wo[mask].mean())
            walk.barh(y + 0.18, g, height=0.34, color="0.3")
            walk.barh(y - 0.18, o, height=0.34, color="0.7")
            walk.text(g, y + 0.18, f" {g:.2f}", va="center", fontsize=8)
            walk.text(o, y - 0.18, f" {o:.2f}", va="center", fontsize=8)
        walk.set_yticks(ys, order, fontsize=8.5)
        walk.set_ylim(-1.3, len(order) - 0.4)  # a free row at the bottom for the key
        walk.set_xlim(0, 1.25 * max(float(np.nanmax([wg.max(), wo.max()])), 0.1))
        walk.legend(
            [Patch(color="0.3"), Patch(color="0.7")],
            ["government", "opposition"],
            frameon=False,
            fontsize=8,
            loc="lower right",
            ncols=2,
        )
        walk.set_xlabel("walkouts per run (mean)")
        walk.set_title("Walkouts by side", loc="left", fontsize=10)
    except _Skip as exc:
        walk.axis("off")
        walk.text(0, 0.5, f"walkouts by side: {exc}", fontsize=8, transform=walk.transAxes)
    try:
        runs = folder.table("runs.csv", ("variant", "ceasefire_held"))
        ch = _numeric(runs, "ceasefire_held", where, problems)
        ys = np.arange(len(order))[::-1]
        for y, variant in zip(ys, order, strict=True):
            values = ch[runs["variant"] == variant].dropna()
            if not len(values):
                continue
            k, n = int(values.sum()), len(values)
            lo, hi = wilson_interval(k, n)
            held.hlines(y, lo, hi, color=colours[variant], linewidth=3)
            held.plot(
                [k / n],
                [y],
                "o",
                color=colours[variant],
                markerfacecolor="white",
                markeredgewidth=2,
            )
            held.text(
                lo - 0.03, y, f"{100 * k / n:.0f} % ({k}/{n})", fontsize=8, ha="right", va="center"
            )
        held.set_yticks(ys, order, fontsize=8.5)
        held.set_ylim(-0.6, len(order) - 0.4)
        held.set_xlim(0, 1)
        held.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0, symbol=" %"))
        held.set_xlabel("share of runs\n(Wilson 95 % interval)")
        # `ceasefire_held` (docs/results.md): some ceasefire was in force and none collapsed,
        # 0 when there was none; it says nothing of how long one lasted.
        held.set_title(
            "Some ceasefire in force, none collapsed\n(runs without a ceasefire count as no)",
            loc="left",
            fontsize=9.5,
        )
    except _Skip as exc:
        held.axis("off")
        held.text(
            0,
            0.5,
            f"ceasefire in force, none collapsed: {exc}",
            fontsize=8,
            transform=held.transAxes,
        )
    _headline(fig, "The talks", stamp)
    return fig


def _legend_off_data(panels: list[Any], ts: pd.DataFrame, order: list[str]) -> None:
    """The variants' key in the talks figure, placed where it covers no line.

    The ceasefire panel's upper left when no ceasefire is in force in the
    first 40 % of the weeks (as in every scenario whose ceasefires come with
    the talks); otherwise above the first panel, outside it.
    """
    handles, labels = panels[0].get_legend_handles_labels()
    rows = ts[ts["metric"] == "ceasefire_in_force"].dropna(subset=["mean", "date"])
    first, last = ts["date"].min(), ts["date"].max()
    early = rows[rows["date"] <= first + 0.4 * (last - first)]
    kw: dict[str, Any] = {"frameon": False, "fontsize": 8.5, "title_fontsize": 8.5}
    if len(early) and float(early["mean"].max()) < 0.3:
        panels[3].legend(handles, labels, loc="upper left", ncols=2, title="variant", **kw)
    else:
        panels[0].legend(
            handles,
            labels,
            loc="lower right",
            bbox_to_anchor=(1.0, 1.12),
            ncols=min(4, len(order)),
            **kw,
        )


# --------------------------------------------------------------------------- paired differences


def _differences(folder: _Folder, problems: list[str], stamp: Stamp) -> Figure:
    """Per hypothesis row, the distribution of paired differences (treatment − control) over replications.

    The differences are those the verdict's mean and interval summarise
    (same replication index in both variants: common random numbers).
    """
    hyp = folder.table("hypotheses.csv", ("hypothesis", "metric", "treatment", "control"))
    if hyp.empty:
        raise _NotApplicable("no hypothesis was tested")
    runs = folder.table("runs.csv", ("variant", "replication"))
    where = folder.path("runs.csv")
    variants = runs["variant"].to_numpy(dtype=object)
    replications = runs["replication"].to_numpy(dtype=object)
    metric_values: dict[str, np.ndarray] = {}  # each metric read once, however many rows use it
    panels = []
    for _, row in hyp.iterrows():
        metric = str(row["metric"])
        if metric not in runs.columns:
            continue
        if metric not in metric_values:
            metric_values[metric] = _numeric(runs, metric, where, problems).to_numpy()
        values = metric_values[metric]
        treated, controlled = _paired(
            variants, replications, values, row["treatment"], row["control"]
        )
        if not treated.size:
            continue
        panels.append((row, treated, controlled))
    if not panels:
        raise _NotApplicable("runs.csv has none of the hypotheses' metrics for both variants")
    columns = 3 if len(panels) > 4 else 2 if len(panels) > 1 else 1
    # Laid out in inches on one canvas (`_SmallMultiples`): above each panel its two-line
    # title, below it the ticks and the x label, left of it the y label; the note at the bottom.
    grid = _SmallMultiples(
        len(panels), columns, width=11.0, panel_height=1.35, margins=(0.8, 0.2, 0.9, 0.95),
        gaps=(0.85, 1.0),
    )  # fmt: skip
    for i, (row, treated, controlled) in enumerate(panels):
        kind = _kind_of(row)
        _, unit, scale = _KIND_AXIS[kind]
        verdict = str(row.get("verdict", "?"))
        colour = VERDICT_STYLE.get(verdict, ("#000000", "D"))[0]
        title = (
            f"{metric_words(str(row['metric']))}\n{row['treatment']} − {row['control']}: {verdict}"
        )
        if _yes_no(treated) and _yes_no(controlled):
            # A yes/no outcome's paired difference is -1, 0 or +1 and nearly always 0: a
            # histogram is one bar. The pairs that differ (discordant) carry the effect.
            panel = grid.panel(i, (0.0, 2.0), (2.0, 0.0))  # rows top down
            _discordant(panel, row, treated, controlled, colour)
            panel.title(title, fontsize=9, loc="left", color=colour)
            continue
        panel = _histogram_panel(grid, i, row, (treated - controlled) * scale, unit, scale, colour)
        panel.title(title, fontsize=9, loc="left", color=colour)
    fig = grid.finish()
    _headline(fig, "Paired differences behind each verdict", stamp)
    fig.supxlabel(
        "Pairs = the same replication in both variants. Yes/no outcomes: the 2 × 2 of pairs "
        "(effect = treatment only − control only, over all pairs).\n"
        "Other outcomes: bars = pairs by their difference; black line = mean effect, dark band = "
        "its interval, grey between dashed lines = ± the smallest effect that matters.",
        fontsize=8.5,
        color="0.3",
    )
    return fig


def _paired(
    variants: np.ndarray, replications: np.ndarray, values: np.ndarray, treatment: Any, control: Any
) -> tuple[np.ndarray, np.ndarray]:
    """The values of the replications both variants ran, in replication order, pairs with a
    missing value left out: ``(treatment's, control's)``."""
    t, c = variants == treatment, variants == control
    # A replication index that occurs twice in a variant is ambiguous: its first row is used.
    t_keys, t_first = np.unique(replications[t].astype(str), return_index=True)
    c_keys, c_first = np.unique(replications[c].astype(str), return_index=True)
    _, mine, theirs = np.intersect1d(t_keys, c_keys, assume_unique=True, return_indices=True)
    treated = values[t][t_first[mine]]
    controlled = values[c][c_first[theirs]]
    keep = ~(np.isnan(treated) | np.isnan(controlled))
    return treated[keep], controlled[keep]


def _yes_no(values: np.ndarray) -> bool:
    """Whether every value is 0 or 1 (a yes/no outcome such as `agreement`)."""
    return bool(values.size) and bool(np.isin(values, (0.0, 1.0)).all())


def _histogram_panel(
    grid: _SmallMultiples,
    index: int,
    row: pd.Series,
    diff: np.ndarray,
    unit: str,
    scale: float,
    colour: str,
) -> _Panel:
    """One outcome's paired differences: bars (or a histogram), the effect, its interval, the
    bound; the x range as matplotlib's autoscale gives it (all of these, 5 % margins)."""
    bound = _bound_of(row)
    effect, lo, hi = (
        pd.to_numeric(pd.Series([row.get(c)]), errors="coerce").iloc[0] * scale
        for c in ("effect", "ci_low", "ci_high")
    )
    distinct = np.unique(diff)
    if distinct.size <= 12:
        heights = np.array([(diff == v).sum() for v in distinct]) / diff.size
        width = 0.3 * (float(np.min(np.diff(distinct))) if distinct.size > 1 else 1.0)
        extent = [float(distinct[0]) - width / 2, float(distinct[-1]) + width / 2]
        whole = bool(np.all(distinct == np.round(distinct)))
    else:  # one filled outline, not 30 bar patches
        heights, edges = np.histogram(diff, bins=30, weights=np.full(diff.size, 1 / diff.size))
        extent = [float(edges[0]), float(edges[-1])]
        whole = False
    extent.append(0.0)
    if bound is not None:
        extent += [-bound * scale, bound * scale]
    if np.isfinite(lo) and np.isfinite(hi):
        extent += [float(lo), float(hi)]
    if np.isfinite(effect):
        extent.append(float(effect))
    low, high = min(extent), max(extent)
    pad = 0.05 * (high - low) if high > low else 0.5
    top = 1.05 * max(float(np.max(heights)), 1e-12)
    panel = grid.panel(index, (low - pad, high + pad), (0.0, top))
    if bound is not None:
        panel.vspan(-bound * scale, bound * scale, "0.9", 1.0, zorder=0)
    if distinct.size <= 12:
        panel.bars(distinct, heights, width, colour, alpha=0.6)
    else:
        panel.stairs(edges, heights, colour, alpha=0.6)
    if np.isfinite(effect):
        panel.vline(float(effect), "black", 1.5)
    if np.isfinite(lo) and np.isfinite(hi):
        panel.vspan(float(lo), float(hi), "black", 0.25, zorder=1)
    panel.vline(0.0, "0.4", 0.8, ":")
    if bound is not None:
        for side in (-1, 1):
            panel.vline(side * bound * scale, "0.45", 0.9, "--")
    panel.frame()
    below = panel.xticks(6, fontsize=8, integer=whole)
    panel.xlabel(f"{unit}; {diff.size:,} pairs", below, fontsize=8.5)
    found = np.asarray(MaxNLocator(4, steps=[1, 2, 5, 10]).tick_values(0.0, top), dtype=float)
    shares = found[(found >= 0) & (found <= top * (1 + 1e-9))]
    panel.yticks(shares, [f"{100 * v:.0f} %" for v in shares], fontsize=8)
    widest = max((len(f"{100 * v:.0f} %") for v in shares), default=3)
    # Right of the label: the tick, its pad and the widest number (0.6 em a character).
    panel.ylabel("share of paired runs", (3.5 + 3.5 + 0.6 * 8 * widest) * _POINT, fontsize=8.5)
    return panel


def _discordant(
    panel: _Panel, row: pd.Series, treated: np.ndarray, controlled: np.ndarray, colour: str
) -> None:
    """The 2 × 2 of paired runs of a yes/no outcome: both, treatment only, control only, neither.

    The mean paired difference is (treatment only − control only) / pairs, so
    the two discordant cells are the whole of the effect (McNemar's view).
    """
    t, c = treated.astype(bool), controlled.astype(bool)
    n = t.size
    cells = np.array([[(t & c).sum(), (t & ~c).sum()], [(~t & c).sum(), (~t & ~c).sum()]])
    words = np.array([["both", "treatment only"], ["control only", "neither"]])
    discordant = np.array([[False, True], [True, False]])
    for (r, k), count in np.ndenumerate(cells):
        x0, y0 = k + 0.03, r + 0.03
        xs, ys = [x0, x0 + 0.94, x0 + 0.94, x0], [y0, y0, y0 + 0.94, y0 + 0.94]
        if discordant[r, k]:
            panel.polygon(xs, ys, colour, alpha=0.3)
        else:
            panel.polygon(xs, ys, "0.93")
        panel.text(
            k + 0.5,
            r + 0.42,
            f"{count:,}",
            ha="center",
            va="center",
            fontsize=11,
            fontweight="bold" if discordant[r, k] else "normal",
        )
        panel.text(
            k + 0.5,
            r + 0.72,
            f"{words[r, k]} ({100 * count / n:.1f} %)",
            ha="center",
            va="center",
            fontsize=7.5,
            color="0.25",
        )
    below = panel.xticks(
        0, fontsize=7.5, labels=([0.5, 1.5], [f"{row['control']}: yes", "no"]), marks=False
    )
    panel.yticks(
        np.array([0.5, 1.5]), [f"{row['treatment']}:\nyes", "no"], fontsize=7.5, marks=False
    )
    effect = 100 * (cells[0, 1] - cells[1, 0]) / n
    panel.xlabel(
        f"{n:,} pairs; effect {cells[0, 1]} − {cells[1, 0]} = {_signed(effect, '.1f')} points",
        below,
        fontsize=8.5,
    )


# --------------------------------------------------------------------------- entry point


@contextmanager
def _style() -> Iterator[None]:
    with mpl.rc_context(_RC):  # type: ignore[arg-type]
        yield


def _save(fig: Figure, path: Path | io.BytesIO, fmt: str) -> None:
    """Write ``fig`` as ``fmt``: a PNG is laid out once and compressed fast."""
    options: dict[str, Any] = {}
    if fmt == "png":
        engine = fig.get_layout_engine()
        if engine is not None:
            # savefig would lay the figure out and draw it without rendering, then draw it
            # again: laid out here, its last draw is the only one.
            engine.execute(fig)
            fig.set_layout_engine(None)
        # Drawn once on its Agg canvas and written as RGB: the figures are opaque (white
        # face), and a quarter less data to filter and compress than savefig's RGBA; zlib's
        # fastest level is as small within 3 % (geneva3's figures), in half the time.
        from PIL import Image

        canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
        fig.set_dpi(DPI)
        canvas.draw()
        pixels = Image.fromarray(np.asarray(canvas.buffer_rgba())).convert("RGB")
        pixels.save(path, format="png", compress_level=1, dpi=(DPI, DPI))
        return
    fig.savefig(path, format=fmt, dpi=DPI, metadata=_METADATA[fmt], **options)


# What each figure costs to draw relative to the others (geneva3, CPU): the costliest go to
# the drawing processes first, so that none is left with a long one at the end.
_DRAW_COST = {"differences": 5, "verdicts": 4, "talks": 3, "posterior": 2}

_FORKED: tuple[list[tuple[str, str, str, Callable[[], Figure]]], str, list[str], int] | None = None
"""What a forked drawing process draws: (builders, format, the parent's problems, their number)."""


def _render_one(
    build: Callable[[], Figure], where: str, what: str, fmt: str
) -> tuple[bytes | None, list[str], list[str]]:
    """One figure as ``fmt`` bytes (None if it cannot be drawn), with its problems and notes."""
    problems: list[str] = []
    skipped: list[str] = []
    # A figure is thousands of artists in reference cycles: the collector, left on, walks
    # them and everything imported hundreds of times while they are built (0.7 s, 8 % of
    # geneva3's drawing). Held off, they all stay in the youngest generation, whose
    # collection once the figure is written frees them (0.2 s in all).
    enabled = gc.isenabled()
    gc.disable()
    try:
        fig = _attempt(build, where, what, problems, skipped)
        if fig is None:
            return None, problems, skipped
        buffer = io.BytesIO()
        _save(fig, buffer, fmt)
        del fig
        return buffer.getvalue(), problems, skipped
    finally:
        if enabled:
            gc.enable()
        gc.collect(0)


def _render_forked(index: int) -> tuple[int, bytes | None, list[str], list[str]]:
    """`_render_one` in a forked drawing process, on the builders its parent listed.

    A builder may also note problems in the parent's list it closes over: this
    process's copy of that list grew past its length at the fork by exactly those.
    """
    assert _FORKED is not None
    builders, fmt, noted, before = _FORKED
    del noted[before:]  # this process's copy, as it was at the fork
    _, where, what, build = builders[index]
    with _style():
        data, problems, skipped = _render_one(build, where, what, fmt)
    return index, data, noted[before:] + problems, skipped


def _drawing_processes(jobs: int | None, figures: int) -> int:
    """How many processes draw ``figures`` figures: 1 where fork is not the start method."""
    from negsim.run.executors import available_cores

    if not sys.platform.startswith("linux") or figures < 2:
        return 1
    return max(1, min(jobs or available_cores(), figures))


def _rendered(
    folder: _Folder,
    stamp: Stamp,
    fmt: str,
    jobs: int | None,
    problems: list[str],
    skipped: list[str],
) -> Iterator[tuple[str, str, bytes]]:
    """Every figure the results allow as ``(name, source file, bytes)``, in the order drawn.

    With more than one process the figures are drawn side by side in forked
    processes, which share the tables read here; the figures, problems and
    notes come out in the same order and with the same bytes as drawn one by one.
    """
    for name in RESULT_FILES:  # read (and the weekly series parsed) once, before any fork
        try:
            folder.table(name)
            if name == "timeseries.csv":
                _timeseries(folder, (), problems)
        except _Skip:
            pass  # the figures drawn from it say why
    builders = list(_builders(folder, stamp, problems))
    processes = _drawing_processes(jobs, len(builders))
    if processes == 1:
        for name, source, what, build in builders:
            interrupts.check()
            data, mine, notes = _render_one(build, folder.path(source), what, fmt)
            problems.extend(mine)
            skipped.extend(notes)
            if data is not None:
                yield name, source, data
        return
    from negsim.run.executors import ProcessExecutor

    global _FORKED
    _FORKED = (
        [(name, folder.path(source), what, build) for name, source, what, build in builders],
        fmt,
        problems,
        len(problems),
    )
    order = sorted(range(len(builders)), key=lambda i: -_DRAW_COST.get(builders[i][0], 1))
    results: dict[int, tuple[bytes | None, list[str], list[str]]] = {}
    # run's worker pool: forked with the stop signals held back, workers leave Ctrl-C to
    # this process, which ends them on its way out.
    pool = ProcessExecutor(processes)
    try:
        for index, data, mine, notes in pool.map(_render_forked, order):
            results[index] = (data, mine, notes)
        pool.close()
    except BaseException:
        pool.terminate()
        raise
    finally:
        _FORKED = None
    for index, (name, source, _, _) in enumerate(builders):
        data, mine, notes = results[index]
        problems.extend(mine)
        skipped.extend(notes)
        if data is not None:
            yield name, source, data


def _figure_names(fmt: str) -> list[str]:
    """Every figure file :func:`plot_results` may write in format ``fmt``."""
    return [f"{stem}.{fmt}" for stem in FIGURE_STEMS]


def plot_results(
    results_dir: Path,
    out_dir: Path | None = None,
    fmt: str = "png",
    *,
    check: bool = True,
    wait: bool = False,
    jobs: int | None = None,
    redraw: bool = False,
) -> PlotReport:
    """Draw every figure that the CSV files of a results folder allow.

    Drawn once, reused: when ``out_dir`` already holds this format's figures,
    drawn from these very results (``figures.json`` names them) by this very
    drawing code, each with the bytes it was written with, and that draw had
    no problem, nothing is drawn again (`PlotReport.reused`).

    Args:
        results_dir: A folder written by ``negsim run`` (see ``docs/results.md``).
        out_dir: Where to write the figures; created if needed. Defaults to
            ``results_dir / "figures"``.
        fmt: ``"png"`` (150 dpi), ``"svg"`` or ``"pdf"``.
        check: Check every file against ``manifest.json`` first (the default,
            and what ``negsim plot`` does). ``False`` draws from CSV files
            without a manifest, e.g. tables written by hand or another tool.
        wait: If another negsim process is writing ``out_dir``, wait for it
            instead of failing.
        jobs: Processes drawing figures side by side (forked; on Linux only);
            ``None``: one per core the process may use.
        redraw: Draw every figure even if those in ``out_dir`` are current.

    Returns:
        The files written, one line per figure that could not be drawn, and
        one line per figure the results cannot give.

    Raises:
        PlotError: ``fmt`` is unknown; ``results_dir`` is not a results folder
            or a file in it does not match ``manifest.json`` (one line per
            file); ``out_dir`` cannot be written, is in use, or holds figure
            files negsim did not write.
    """
    try:
        return _plot_results(Path(results_dir), out_dir, fmt, check, wait, jobs, redraw)
    except ResultsError as error:
        raise PlotError(str(error)) from None


def _plot_results(
    results_dir: Path,
    out_dir: Path | None,
    fmt: str,
    check: bool,
    wait: bool,
    jobs: int | None,
    redraw: bool = False,
) -> PlotReport:
    fmt = fmt.lower().lstrip(".")
    if fmt not in FORMATS:
        raise PlotError(f"unknown figure format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if not results_dir.is_dir():
        raise PlotError(f"{results_dir}: no such results folder")
    if check:
        results: Results | None = open_results(results_dir)
    else:
        results = None
        if not any((results_dir / name).is_file() for name in RESULT_FILES):
            raise PlotError(
                f"{results_dir}: not a results folder (none of {', '.join(RESULT_FILES)} found)"
            )
    names = _figure_names(fmt)
    target = Path(out_dir) if out_dir is not None else results_dir / "figures"
    drawing = drawing_identity()  # read once: checked against the last draw, then recorded
    if results is not None and not redraw:
        earlier = _drawn_earlier(target, results.manifest, fmt, drawing)
        if earlier is not None:
            return earlier
    output = OutputFolder(
        target,
        FIGURES,
        names=[*names, FIGURES.record],
        estimate=len(names) * _FIGURE_BYTES[fmt],
        wait=wait,
    )
    folder = _Folder(results_dir, results)
    manifest = results.manifest if results is not None else _plain_manifest(results_dir)
    folder.scenario_file = scenario_of(results_dir, manifest, check=results is not None)
    stamp = read_stamp(results_dir, manifest)
    written: list[Path] = []
    problems: list[str] = []
    skipped: list[str] = []

    with output.open(), _style():
        for name, source, data in _rendered(folder, stamp, fmt, jobs, problems, skipped):
            filename = f"{name}.{fmt}"

            def write(filename: str = filename, data: bytes = data) -> bool:
                output.write_file(filename, lambda path: path.write_bytes(data))
                return True

            # A NegsimError here is the folders themselves failing: no figure can be trusted.
            if _attempt(write, folder.path(source), name, problems, skipped, fatal=(NegsimError,)):
                written.append(output.path / filename)
        output.commit(
            {
                "negsim": __version__,
                "results": str(results_dir),
                "format": fmt,
                # The results drawn: a rerun of the folder removes figures that no longer match.
                RESULTS_SHA256: results_identity(results.manifest) if results is not None else None,
                # What a later plot needs to reuse these figures instead of drawing them again.
                DRAWING_SHA256: drawing,
                "problems": problems,
                "skipped": skipped,
            },
            # Figures of another format stay listed; this format's not drawn now are stale.
            keep_listed=lambda name: not name.endswith(f".{fmt}"),
        )
    return PlotReport(written=written, problems=problems, skipped=skipped)


DRAWING_SHA256 = "drawing_sha256"
"""figures.json's key for the drawing code that drew the figures (`drawing_identity`)."""


def drawing_identity() -> str:
    """The sha256 of what draws a results folder's figures: negsim's and matplotlib's
    versions and the source of every module of the installed negsim.

    Figures drawn by other code (another negsim or matplotlib, or this negsim
    edited) are drawn again rather than reused, whatever the version number says.
    All of negsim, not only its drawing modules: the words and numbers on a
    figure also come from the modules that read the results and the scenario.
    """
    import hashlib

    package = Path(__file__).resolve().parent
    digest = hashlib.sha256(f"negsim {__version__} matplotlib {mpl.__version__}\0".encode())
    for source in sorted(package.rglob("*.py")):
        digest.update(source.relative_to(package).as_posix().encode() + b"\0")
        digest.update(source.read_bytes())
    return digest.hexdigest()


def _drawn_earlier(
    folder: Path, manifest: dict[str, Any], fmt: str, drawing: str
) -> PlotReport | None:
    """The figures an earlier plot left in ``folder``, if they can stand for a new draw.

    They can when its record names these results (every listed file holding the
    bytes it records: `drawn_record`), this format, the drawing code ``drawing``
    (`drawing_identity`), and that
    draw met no problem (then it would be met, and said, again). Its notes on
    figures the results cannot give are said again.
    """
    drawn = drawn_record(folder, FIGURES, manifest)
    if drawn is None:
        return None
    record, found = drawn
    document = record.document
    skipped = document.get("skipped")
    if (
        document.get("format") != fmt
        or document.get(DRAWING_SHA256) != drawing
        or document.get("problems") != []
        or not isinstance(skipped, list)
    ):
        return None
    names = [name for name in _figure_names(fmt) if name in found]
    if not names:
        return None
    return PlotReport(
        written=[found[name] for name in names],
        skipped=[str(note) for note in skipped],
        reused=True,
    )


def _plain_manifest(results_dir: Path) -> dict[str, Any] | None:
    """manifest.json read without checks (``check=False``), for the stamp only."""
    import json

    try:
        document = json.loads((results_dir / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return document if isinstance(document, dict) else None


def _builders(
    folder: _Folder, stamp: Stamp, problems: list[str]
) -> Iterator[tuple[str, str, str, Callable[[], Figure]]]:
    """Every figure as ``(name, source file, what, build)``, in the order drawn."""
    ts_where = folder.path("timeseries.csv")
    try:
        fan_ts: pd.DataFrame | None = _timeseries(folder, _BANDS, problems)
    except _Skip as exc:
        problems.append(f"{ts_where}: {exc}; fan charts not drawn")
        fan_ts = None
    if fan_ts is not None:
        present = set(fan_ts["metric"].unique())
        events = _events(folder, problems)
        causal = causal_events(events, _hypothesis_pairs(folder))
        for metric in FAN_METRICS:
            fname = "fan_" + metric.replace(".", "_")
            recorded = f"control.{stamp.government}" if metric == "control.government" else metric
            if recorded not in present:
                if metric not in _SCENARIO_DEPENDENT:
                    problems.append(f"{ts_where}: no rows for metric {metric!r}; {fname} not drawn")
                continue
            rows = fan_ts
            if recorded != metric:
                rows = fan_ts[fan_ts["metric"] == recorded].assign(metric=metric)
            yield fname, "timeseries.csv", fname, partial(_fan, metric, rows, events, stamp, causal)
    titles = hypothesis_titles(folder.scenario_file)
    yield (
        "verdicts",
        "hypotheses.csv",
        "verdicts",
        lambda: _verdicts(folder, problems, stamp, titles),
    )
    yield "differences", "runs.csv", "differences", lambda: _differences(folder, problems, stamp)
    yield "outcomes", "runs.csv", "outcomes", lambda: _outcomes(folder, problems, stamp)
    yield (
        "territory",
        "timeseries.csv",
        "territory",
        lambda: _territory(_timeseries(folder, ("p50",), problems), stamp),
    )
    yield (
        "talks",
        "timeseries.csv",
        "talks",
        lambda: _talks(folder, _timeseries(folder, ("mean",), problems), problems, stamp),
    )
    # Prior vs posterior of the drawn inputs given the record (negsim.posterior_plots).
    if has_drawn_inputs(folder):
        yield "posterior", "runs.csv", "posterior", partial(posterior_figure, folder, stamp)


FIGURE_STEMS = (
    *("fan_" + metric.replace(".", "_") for metric in FAN_METRICS),
    "verdicts",
    "differences",
    "outcomes",
    "territory",
    "talks",
    "posterior",
)
"""Every figure :func:`plot_results` may draw, in the order drawn (file name without format)."""


def _attempt[T](
    action: Callable[[], T],
    where: str,
    what: str,
    problems: list[str],
    skipped: list[str],
    fatal: tuple[type[BaseException], ...] = (),
) -> T | None:
    """Run one figure's ``action`` and return what it returns; on failure, None, and why in ``problems`` or ``skipped``.

    A figure the results cannot give (`_NotApplicable`) is skipped with a
    note; one the data does not allow (`_Skip`) or that fails on bad data is a
    problem naming ``where``, the file it was drawn from. Bad data never
    surfaces as a traceback; exceptions in ``fatal`` propagate.
    """
    try:
        return action()
    except fatal:
        raise
    except _NotApplicable as exc:
        skipped.append(f"{what}: {exc}")
    except _Skip as exc:
        problems.append(f"{where}: {exc}; {what} not drawn")
    except Exception as exc:
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        problems.append(f"{where}: cannot draw {what} ({type(exc).__name__}: {detail})")
    return None


def render_figures(
    results_dir: Path, jobs: int | None = None
) -> tuple[list[tuple[str, bytes]], list[str], list[str]]:
    """Draw every figure of a checked results folder as PNG bytes in memory (for the report).

    ``jobs``: processes drawing side by side, as in :func:`plot_results`.

    Returns:
        ``([(name, png bytes), ...], problems, skipped)``.

    Raises:
        PlotError: the folder is not a results folder or a file does not match its manifest.
    """
    results_dir = Path(results_dir)
    try:
        results = open_results(results_dir)
    except ResultsError as error:
        raise PlotError(str(error)) from None
    folder = _Folder(results_dir, results)
    folder.scenario_file = scenario_of(results_dir, results.manifest)
    stamp = read_stamp(results_dir, results.manifest)
    problems: list[str] = []
    skipped: list[str] = []
    with _style():
        figures = [
            (name, data)
            for name, _, data in _rendered(folder, stamp, "png", jobs, problems, skipped)
        ]
    return figures, problems, skipped

"""Figures drawn from a negsim results folder.

The figures read only the CSV files described in ``docs/results.md``
(``runs.csv``, ``timeseries.csv``, ``hypotheses.csv``, ``events.csv``); they
never run or import a simulation, so a results folder can be plotted on any
machine, long after the run. The statistics shown are those already in the
files; the only things computed here are the Wilson interval of the chance of
agreement and the renormalisation of the territory stack.

Figures written by :func:`plot_results` (``<fmt>`` is ``png``, ``svg`` or ``pdf``):

* ``fan_<metric>.<fmt>`` for ``bargaining_range``, ``opposition_cohesion``,
  ``control.regime``, ``willingness.opposition`` and ``willingness.government``
  (dots become underscores): median and 50 % / 90 % bands over calendar dates,
  one colour per variant, the ``base`` variant's events as dashed lines.
* ``verdicts.<fmt>``: forest plot of the hypotheses' effects and intervals.
* ``outcomes.<fmt>``: chance of agreement per variant (Wilson 95 % interval)
  and the distribution of the agreed settlement.
* ``territory.<fmt>``: stacked median territorial control of every actor in
  the ``base`` variant.

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

import io
import math
import re
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
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle
from matplotlib.textpath import text_to_path
from matplotlib.ticker import PercentFormatter

from negsim import __version__
from negsim.errors import NegsimError, ResultsError
from negsim.results import FolderKind, OutputFolder, Results, open_results

__all__ = ["FAN_METRICS", "FORMATS", "PlotError", "PlotReport", "plot_results", "wilson_interval"]

FORMATS = ("png", "svg", "pdf")
"""File formats :func:`plot_results` can write."""

FAN_METRICS: dict[str, tuple[str, str]] = {
    "bargaining_range": (
        "Bargaining range",
        "width on the issue scale\n(negative = gap no deal can bridge)",
    ),
    "opposition_cohesion": ("Opposition cohesion", "cohesion [0, 1]"),
    "control.regime": (
        "Territory held by the regime",
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

# Metrics whose actor id comes from the scenario: silently skipped when absent.
_SCENARIO_DEPENDENT = {"control.regime"}

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
    return Figure(figsize=(width, height), dpi=DPI, layout="constrained")


class _DateFormatter(mdates.ConciseDateFormatter):
    """ConciseDateFormatter that always shows the year somewhere.

    When the ticks span a new year the concise labels show only the later
    year (``Oct, Nov, Dec, 2016``) and no offset; the first label then gets
    its year too (``Oct 2015``).
    """

    def format_ticks(self, values: Any) -> list[str]:
        labels = list(super().format_ticks(values))
        has_year = any(_YEAR.search(label) for label in labels[:1]) or _YEAR.search(
            self.get_offset()
        )
        if labels and not has_year:
            labels[0] = f"{labels[0]} {mdates.num2date(values[0]).year}"
        return labels


def _date_axis(ax: Any) -> None:
    locator = mdates.AutoDateLocator(minticks=4, maxticks=10)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(_DateFormatter(locator))


def _label_rows(xs: list[float], widths: list[float], gap: float = 0.01) -> list[tuple[int, bool]]:
    """Stack event labels above the axes so that no label overlaps another or a connector.

    Each label sits in a row above the axes, at the top of a vertical
    connector from its event line, and extends to the right of the line or,
    right-aligned, to its left: whichever stays inside the axes and spans
    fewer other events' lines. A label that spans another event's line is
    put in a higher row than that event's label, so the connector passes
    below it.

    Args:
        xs: Event positions as fractions of the axes width, ascending, distinct.
        widths: Label widths in the same unit.
        gap: Minimum horizontal space between two labels, or a label and a line.

    Returns:
        ``(row, right_aligned)`` per event; row 0 is the lowest.
    """
    n = len(xs)

    def span(i: int, right: bool) -> tuple[float, float]:
        return (xs[i] - widths[i], xs[i]) if right else (xs[i], xs[i] + widths[i])

    def covers(i: int, right: bool, j: int) -> bool:
        """Whether the label of ``i`` (aligned as given) spans the line of ``j``."""
        lo, hi = span(i, right)
        return lo - gap <= xs[j] < xs[i] if right else xs[i] < xs[j] <= hi + gap

    def clash(right: list[bool]) -> tuple[int, int] | None:
        """Two labels spanning each other's lines (neither can be above the other)."""
        return next(
            (
                (i, j)
                for i in range(n)
                for j in range(i + 1, n)
                if covers(i, right[i], j) and covers(j, right[j], i)
            ),
            None,
        )

    # First choice: the side that stays inside the axes and spans fewer lines.
    right: list[bool] = []
    for i in range(n):
        fits = {False: xs[i] + widths[i] <= 1, True: xs[i] - widths[i] >= 0}
        hits = {r: sum(covers(i, r, j) for j in range(n) if j != i) for r in (False, True)}
        right.append(hits[True] < hits[False] if all(fits.values()) else fits[True])
    turned: set[int] = set()
    while (pair := clash(right)) is not None:
        i, j = pair  # i extends right over j's line, j extends left over i's line
        if j not in turned and xs[j] + widths[j] <= 1:
            right[j] = False
            turned.add(j)
        elif i not in turned and xs[i] - widths[i] >= 0:
            right[i] = True
            turned.add(i)
        else:
            # Fallback that cannot clash: extend right unless past the end of the
            # axes or over the line of a label that extends left.
            right = [False] * n
            for k in reversed(range(n)):
                right[k] = xs[k] + widths[k] > 1 or any(
                    right[m] and covers(k, False, m) for m in range(k + 1, n)
                )
            break

    rows: list[int | None] = [None] * n
    visiting: set[int] = set()

    def place(i: int) -> int:
        done = rows[i]
        if done is not None:
            return done
        visiting.add(i)
        floor = 0
        for j in range(n):  # events whose line this label spans sit lower
            if j not in visiting and covers(i, right[i], j):
                floor = max(floor, place(j) + 1)
        lo, hi = span(i, right[i])
        row = floor
        while any(
            rows[k] == row and span(k, right[k])[0] - gap < hi and lo < span(k, right[k])[1] + gap
            for k in range(n)
        ):
            row += 1
        rows[i] = row
        visiting.discard(i)
        return row

    return [(place(i), right[i]) for i in range(n)]


def _event_marks(
    ax: Any,
    events: list[tuple[pd.Timestamp, str]],
    first: pd.Timestamp,
    last: pd.Timestamp,
    axes_width_pt: float,
) -> int:
    """Draw dashed event lines, labelled horizontally above the axes.

    Labels are stacked in as many rows as needed (see :func:`_label_rows`).
    Events outside ``[first, last]`` are left out; events on one date share a
    line and a label. Returns the number of event dates drawn.
    """
    by_date: dict[pd.Timestamp, list[str]] = {}
    for when, label in events:
        if first <= when <= last:
            by_date.setdefault(when, []).append(label)
    dates = sorted(by_date)
    texts = [" / ".join(dict.fromkeys(by_date[d])) for d in dates]
    span = (last - first) / pd.Timedelta(days=1) or 1.0
    xs = [((d - first) / pd.Timedelta(days=1)) / span for d in dates]
    font = FontProperties(size=_EVENT_FONT_PT)
    widths = [
        text_to_path.get_text_width_height_descent(f" {t} ", font, ismath=False)[0] / axes_width_pt
        for t in texts
    ]
    for when, text, (row, right_aligned) in zip(dates, texts, _label_rows(xs, widths), strict=True):
        ax.axvline(when, color="0.35", linestyle="--", linewidth=1.1, zorder=1)
        ax.annotate(
            f"{text} " if right_aligned else f" {text}",  # space keeps text off the connector
            xy=(mdates.date2num(when), 1.0),
            xycoords=ax.get_xaxis_transform(),
            xytext=(0, 5 + row * 16),
            textcoords="offset points",
            ha="right" if right_aligned else "left",
            va="bottom",
            fontsize=_EVENT_FONT_PT,
            color="0.15",
            annotation_clip=False,
            arrowprops={
                "arrowstyle": "-",
                "color": "0.35",
                "linewidth": 1.0,
                "linestyle": "--",
                "shrinkA": 0,
                "shrinkB": 0,
                "relpos": (1.0, 0.0) if right_aligned else (0.0, 0.0),
            },
        )
    return len(dates)


# --------------------------------------------------------------------------- figures


def _base_events(folder: _Folder, problems: list[str]) -> list[tuple[pd.Timestamp, str]]:
    """Events of the ``base`` variant as ``(date, label)``; problems are recorded, not raised."""
    where = folder.path("events.csv")
    try:
        ev = folder.table("events.csv", ("variant", "date", "label"))
    except _Skip as exc:
        problems.append(f"{where}: {exc}; event lines not drawn on the fan charts")
        return []
    ev = ev[ev["variant"] == "base"]
    if ev.empty:
        return []
    dates = _dates(ev, "date", where, problems)
    ids = ev["id"] if "id" in ev.columns else ev["label"]
    out: list[tuple[pd.Timestamp, str]] = []
    for when, label, event_id in zip(dates, ev["label"], ids, strict=True):
        if pd.isna(when):
            continue
        text = label if isinstance(label, str) and label.strip() else event_id
        text = " ".join(text.split()) if isinstance(text, str) else ""
        out.append((when, text))
    return out


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


def _fan(metric: str, ts: pd.DataFrame, events: list[tuple[pd.Timestamp, str]]) -> Figure:
    """Fan chart of one metric: median and 50 % / 90 % bands per variant, base events."""
    title, ylabel = FAN_METRICS[metric]
    rows = ts[ts["metric"] == metric]
    order = _variant_order(rows["variant"])
    colours = _colours(order)
    fig = _new_figure()
    ax = fig.add_subplot()
    drawn = 0
    for variant in order:
        d = rows[rows["variant"] == variant].sort_values("date")
        d = d.dropna(subset=["p50"])
        if d.empty:
            continue
        drawn += 1
        c = colours[variant]
        x = d["date"].to_numpy()
        ax.fill_between(x, d["p05"], d["p95"], color=c, alpha=0.12, linewidth=0)
        ax.fill_between(x, d["p25"], d["p75"], color=c, alpha=0.25, linewidth=0)
        # Earlier variants (base first) drawn on top, so identical medians show base.
        ax.plot(x, d["p50"], color=c, linewidth=2.2, label=variant, zorder=4 + len(order) - drawn)
    if not drawn:
        raise _Skip(f"no readable values for metric {metric!r}")
    if metric == "bargaining_range":
        ax.axhline(0, color="0.2", linewidth=0.9, zorder=2)
    first, last = rows["date"].min(), rows["date"].max()
    ax.set_xlim(first, last)
    n_events = _event_marks(ax, events, first, last, axes_width_pt=FIGSIZE[0] * 72 * 0.88)
    _date_axis(ax)
    ax.set_ylabel(ylabel)
    ax.grid(axis="y", color="0.9", linewidth=0.8)
    ax.set_axisbelow(True)
    fig.suptitle(title, x=0.01, ha="left")
    handles, labels = ax.get_legend_handles_labels()
    handles += [
        Patch(facecolor="0.55", alpha=0.55, label="50 % of runs (p25–p75)"),
        Patch(facecolor="0.55", alpha=0.25, label="90 % of runs (p05–p95)"),
    ]
    if n_events:
        handles.append(Line2D([], [], color="0.35", linestyle="--", label="event (base)"))
    labels = [str(h.get_label()) for h in handles]
    # Median lines first, then band and event keys; below the axes so no data is hidden.
    fig.legend(
        handles,
        labels,
        loc="outside lower center",
        ncols=min(len(handles), 3 if len(handles) > 4 else len(handles)),
        frameon=False,
        title="variant (line = median of runs)",
        title_fontsize=10,
    )
    return fig


def _bound_of(row: pd.Series) -> float | None:
    """A row's smallest effect of interest (hypotheses.csv's `smallest_effect`), if readable."""
    value = pd.to_numeric(pd.Series([row.get("smallest_effect")]), errors="coerce").iloc[0]
    return float(value) if np.isfinite(value) and value > 0 else None


def _verdicts(folder: _Folder, problems: list[str]) -> Figure:
    """Forest plot of hypotheses.csv: effect, interval and verdict per hypothesis."""
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
    raw, effect, lo, hi = raw[keep], effect[keep], lo[keep], hi[keep]
    metrics = raw["metric"].fillna("?").astype(str)
    same_metric = metrics.nunique() == 1
    conf = None
    if "confidence" in raw.columns:
        c = pd.to_numeric(raw["confidence"], errors="coerce").dropna().unique()
        if len(c) == 1 and 0 < c[0] < 1:
            conf = float(c[0])
    n = len(raw)
    fig = _new_figure(height=max(FIGSIZE[1], 1.9 + 0.62 * n))
    ax = fig.add_subplot()
    ys = np.arange(n)[::-1]  # first hypothesis at the top
    labels = []
    for y, (_, row), e, l_, h_, m in zip(ys, raw.iterrows(), effect, lo, hi, metrics, strict=True):
        verdict = str(row["verdict"]).strip() if isinstance(row["verdict"], str) else "?"
        colour, marker = VERDICT_STYLE.get(verdict, ("#000000", "D"))
        bound = _bound_of(row)
        if bound is not None:
            # The smallest effect that matters: an interval wholly inside is negligible.
            ax.add_patch(
                Rectangle((-bound, y - 0.3), 2 * bound, 0.6, color="0.88", zorder=1, linewidth=0)
            )
        if not (math.isnan(l_) or math.isnan(h_)):
            ax.hlines(y, l_, h_, color=colour, linewidth=3, zorder=2)
        ax.plot([e], [y], marker=marker, markersize=10, color=colour, zorder=3, linestyle="")
        ax.text(
            1.01,
            y,
            verdict,
            transform=ax.get_yaxis_transform(),
            va="center",
            ha="left",
            color=colour,
            fontsize=11,
            fontweight="bold",
            clip_on=False,
        )
        label = f"{row['hypothesis']}\n({row['treatment']} vs {row['control']}, expects {row.get('expected', '?')})"
        unit = row.get("unit")
        if not same_metric or unit == "points":
            # The axis is in runs.csv units: a probability's 0.05 is 5 points.
            label += f"\non {m}" + (" (a probability)" if unit == "points" else "")
        labels.append(label)
    ax.axvline(0, color="0.2", linewidth=1, zorder=1)
    ax.set_yticks(ys, labels)
    ax.set_ylim(-0.7, n - 0.3)
    bounds = [b for b in (_bound_of(row) for _, row in raw.iterrows()) if b is not None]
    span = np.nanmax(np.abs(np.concatenate([effect, lo, hi, bounds])))
    span = float(span) if np.isfinite(span) and span > 0 else 1.0
    ax.set_xlim(-1.15 * span, 1.15 * span)
    ax.grid(axis="x", color="0.9", linewidth=0.8)
    ax.set_axisbelow(True)
    ax.spines["left"].set_visible(False)
    ax.tick_params(axis="y", length=0)
    xlabel = "effect (treatment − control)"
    if same_metric:
        xlabel += f" on {metrics.iloc[0]}"
    ax.set_xlabel(xlabel)
    level = f"{conf * 100:g} % " if conf is not None else ""
    fig.suptitle("Hypotheses: effect and confidence interval", x=0.01, ha="left")
    ax.set_title(
        f"point = mean paired effect, bar = {level}interval; colour and word = verdict\n"
        "grey = ± the smallest effect that matters (an interval wholly inside is negligible)",
        loc="left",
        fontsize=10,
        color="0.3",
    )
    return fig


def _outcomes(folder: _Folder, problems: list[str]) -> Figure:
    """Chance of agreement (Wilson interval) and settlement distribution per variant."""
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
    left, right = fig.subplots(1, 2, sharey=True, width_ratios=[1, 1.15])
    ys = np.arange(len(order))[::-1]  # base at the top
    rng = np.random.default_rng(0)  # fixed jitter: identical figures from identical files
    for y, variant in zip(ys, order, strict=True):
        d = df[df["variant"] == variant]
        c = colours[variant]
        a = d["agreement"].dropna()
        if len(a):
            k, n = int(a.sum()), len(a)
            lo, hi = wilson_interval(k, n)
            left.hlines(y, lo, hi, color=c, linewidth=3)
            left.plot([k / n], [y], "o", color=c, markersize=9)
            left.text(
                hi + 0.02, y, f"{100 * k / n:.0f} % ({k}/{n})", va="center", ha="left", fontsize=10
            )
        else:
            left.text(0.5, y, "no readable runs", va="center", ha="center", color="0.4")
        s = d.loc[d["agreement"] == 1, "settlement"].dropna().to_numpy()
        if s.size:
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
            jitter = rng.uniform(-0.18, 0.18, s.size)
            alpha = 0.8 if s.size <= 100 else max(0.08, 8 / math.sqrt(s.size))
            right.plot(s, y + jitter, ".", color=c, alpha=alpha, markersize=6)
        else:
            right.text(
                0.5, y, "no agreements", va="center", ha="center", color="0.35", fontstyle="italic"
            )
    left.set_yticks(ys, order)
    left.set_ylim(-0.6, len(order) - 0.4)
    left.set_xlim(-0.03, 1.25)
    left.set_xticks([0, 0.25, 0.5, 0.75, 1])
    left.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0, symbol=" %"))
    left.set_xlabel("chance of agreement\n(share of runs, Wilson 95 % interval)")
    left.set_title("Agreement reached", loc="left")
    right.set_xlim(-0.02, 1.02)
    right.set_xlabel(
        "settlement on the issue scale\n(0 = regime keeps full power, 1 = full transition)"
    )
    right.set_title("Settlement, runs with an agreement", loc="left")
    right.tick_params(axis="y", length=0)
    for ax in (left, right):
        ax.grid(axis="x", color="0.9", linewidth=0.8)
        ax.set_axisbelow(True)
    fig.suptitle("Outcomes by variant", x=0.01, ha="left")
    return fig


def _territory(ts: pd.DataFrame) -> Figure:
    """Stacked median territorial control of every actor in variant ``base``."""
    if not (ts["variant"] == "base").any():
        raise _NotApplicable("the 'base' variant was not run")
    rows = ts[(ts["variant"] == "base") & ts["metric"].str.startswith("control.")]
    if rows.empty:
        raise _Skip("no 'control.<actor>' rows for variant 'base'")
    actors = list(dict.fromkeys(rows["metric"]))  # order of first appearance
    wide = rows.pivot_table(index="date", columns="metric", values="p50", aggfunc="first")
    wide = wide.reindex(columns=actors).sort_index().clip(lower=0)
    total = wide.sum(axis=1, min_count=1)
    wide = wide.div(total.where(total > 0), axis=0).dropna(how="all")
    if wide.empty:
        raise _Skip("no readable 'p50' values of 'control.<actor>' for variant 'base'")
    wide = wide.fillna(0.0)
    fig = _new_figure()
    ax = fig.add_subplot()
    names = [a.removeprefix("control.") for a in actors]
    ax.stackplot(
        wide.index.to_numpy(),
        *(wide[a].to_numpy() for a in actors),
        labels=names,
        colors=[OKABE_ITO[i % len(OKABE_ITO)] for i in range(len(actors))],
        alpha=0.85,
        edgecolor="white",
        linewidth=0.6,
    )
    ax.set_xlim(wide.index.min(), wide.index.max())
    ax.set_ylim(0, 1)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0, symbol=" %"))
    _date_axis(ax)
    ax.set_ylabel("share of territory\n(weighted by strategic value)")
    fig.suptitle("Territorial control, variant base", x=0.01, ha="left")
    ax.set_title(
        "median (p50) share of each actor across runs, rescaled so each week's stack sums to 100 %",
        loc="left",
        fontsize=10,
        color="0.3",
    )
    handles, labels = ax.get_legend_handles_labels()
    fig.legend(handles[::-1], labels[::-1], loc="outside right upper", frameon=False, title="actor")
    return fig


# --------------------------------------------------------------------------- entry point


@contextmanager
def _style() -> Iterator[None]:
    with mpl.rc_context(_RC):  # type: ignore[arg-type]
        yield


def _save(fig: Figure, path: Path, fmt: str) -> None:
    try:
        fig.savefig(path, format=fmt, dpi=DPI, metadata=_METADATA[fmt])
    finally:
        fig.clear()


def _figure_names(fmt: str) -> list[str]:
    """Every figure file :func:`plot_results` may write in format ``fmt``."""
    stems = ["fan_" + metric.replace(".", "_") for metric in FAN_METRICS]
    return [f"{stem}.{fmt}" for stem in (*stems, "verdicts", "outcomes", "territory")]


def plot_results(
    results_dir: Path,
    out_dir: Path | None = None,
    fmt: str = "png",
    *,
    check: bool = True,
    wait: bool = False,
) -> PlotReport:
    """Draw every figure that the CSV files of a results folder allow.

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
        return _plot_results(Path(results_dir), out_dir, fmt, check, wait)
    except ResultsError as error:
        raise PlotError(str(error)) from None


def _plot_results(
    results_dir: Path, out_dir: Path | None, fmt: str, check: bool, wait: bool
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
    output = OutputFolder(
        Path(out_dir) if out_dir is not None else results_dir / "figures",
        FIGURES,
        names=[*names, FIGURES.record],
        estimate=len(names) * _FIGURE_BYTES[fmt],
        wait=wait,
    )
    folder = _Folder(results_dir, results)
    written: list[Path] = []
    problems: list[str] = []
    skipped: list[str] = []

    def draw(name: str, source: str, what: str, build: Callable[[], Figure]) -> None:
        filename = f"{name}.{fmt}"
        try:
            output.write_file(filename, lambda path: _save(build(), path, fmt))
        except NegsimError:
            raise  # the folders themselves failed: no figure can be trusted
        except _NotApplicable as exc:
            skipped.append(f"{what}: {exc}")
            return
        except _Skip as exc:
            problems.append(f"{folder.path(source)}: {exc}; {what} not drawn")
            return
        except Exception as exc:  # bad data must never surface as a traceback
            detail = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            problems.append(
                f"{folder.path(source)}: cannot draw {what} ({type(exc).__name__}: {detail})"
            )
            return
        written.append(output.path / filename)

    with output.open(), _style():
        # Fan charts: one file per key metric present.
        ts_where = folder.path("timeseries.csv")
        try:
            fan_ts: pd.DataFrame | None = _timeseries(folder, _BANDS, problems)
        except _Skip as exc:
            problems.append(f"{ts_where}: {exc}; fan charts not drawn")
            fan_ts = None
        if fan_ts is not None:
            present = set(fan_ts["metric"].unique())
            events = _base_events(folder, problems)
            for metric in FAN_METRICS:
                fname = "fan_" + metric.replace(".", "_")
                if metric not in present:
                    if metric not in _SCENARIO_DEPENDENT:
                        problems.append(
                            f"{ts_where}: no rows for metric {metric!r}; {fname} not drawn"
                        )
                    continue
                draw(fname, "timeseries.csv", fname, partial(_fan, metric, fan_ts, events))
        draw("verdicts", "hypotheses.csv", "verdicts", lambda: _verdicts(folder, problems))
        draw("outcomes", "runs.csv", "outcomes", lambda: _outcomes(folder, problems))
        draw(
            "territory",
            "timeseries.csv",
            "territory",
            lambda: _territory(_timeseries(folder, ("p50",), problems)),
        )
        output.commit(
            {"negsim": __version__, "results": str(results_dir), "format": fmt},
            # Figures of another format stay listed; this format's not drawn now are stale.
            keep_listed=lambda name: not name.endswith(f".{fmt}"),
        )
    return PlotReport(written=written, problems=problems, skipped=skipped)

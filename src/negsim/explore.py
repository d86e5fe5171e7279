"""The interactive model page (``negsim explore SCENARIO``): one replication, week by week.

A Mesa SolaraViz page for one replication of a chosen variant of a scenario:
the regions on a map (the scenario's `position`s) as pies of who holds them, the state of the talks
(offer, demand, bargaining range, walkouts, ceasefires), the main observables
as they accrue, Mesa's Step / Play / Reset controls, and an input for every
parameter of the scenario's ``uncertain:`` block (applied on Reset, as a
sweep applies a sample point). It shows one simulated history; the results
of an ensemble are in ``negsim run`` and ``negsim report``.

Served by Solara: ``negsim explore`` sets ``NEGSIM_EXPLORE_SCENARIO`` and runs
``solara run negsim.explore``, which builds :data:`page` from that file.
Needs the ``viz`` extra (``pip install 'negsim[viz]'``).
"""

from __future__ import annotations

import datetime as dt
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import solara
from mesa.visualization.utils import update_counter

from negsim.model.world import ConflictModel
from negsim.scenario import loader
from negsim.scenario.schema import Scenario

__all__ = ["ENV", "ExploreModel", "TALKS_STATES", "make_page", "model_params", "page"]

ENV = "NEGSIM_EXPLORE_SCENARIO"
"""Environment variable naming the scenario file the served page shows."""

TALKS_STATES = {0: "no talks", 1: "agreement", 2: "ceasefire agreed", 3: "walkout", 4: "engaged"}
"""The recorded talks codes (``talks_state``) in words."""

STAGES = {0: "none", 1: "talks held", 2: "framework", 3: "ceasefire", 4: "settlement"}

_OBSERVABLES = (
    ("control.government", "government's territory"),  # control.<the government's id>
    ("opposition_cohesion", "opposition cohesion"),
    ("bargaining_range", "bargaining range"),
    ("willingness.government", "government willing"),
    ("willingness.opposition", "opposition willing"),
    ("offer.government", "government's offer"),
    ("demand.opposition", "opposition's demand"),
)

# Okabe & Ito colours for the holders of regions.
_PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#F0E442", "#000000")


def _field(path: str) -> str:
    """A dotted path as a keyword argument name (``actors.rebels.resolve`` -> ``actors__rebels__resolve``)."""
    return path.replace(".", "__")


class ExploreModel(ConflictModel):
    """One replication of one variant, with the ``uncertain`` parameters set by keyword.

    Args:
        scenario_path: The scenario file.
        variant: ``base`` or one of the scenario's variants.
        seed: Master seed (the scenario's own by default).
        **values: ``uncertain`` parameters by their dotted path with dots as
            ``__`` (``actors__rebels__resolve=0.7``); unset ones keep the scenario's value.
    """

    def __init__(
        self,
        scenario_path: str = "",
        variant: str = "base",
        seed: int | None = None,
        **values: Any,
    ) -> None:
        values.pop("scenario", None)  # Mesa's SolaraViz may offer its own Scenario object
        self.scenario_file = loader.load(scenario_path)
        spec = self.scenario_file.scenario
        chosen = _scenario_at(spec, variant, values)
        self.variant = variant
        self.scenario_path = scenario_path
        super().__init__(
            chosen, replications=1, seed=spec.experiment.seed if seed is None else int(seed)
        )
        self.layout = _layout(self)
        self.running = True

    def step(self) -> None:
        """Advance one week; stop at the calendar's end."""
        if self.week >= self.weeks:
            self.running = False
            return
        super().step()
        if self.week >= self.weeks:
            self.running = False

    @property
    def date(self) -> dt.date:
        """First day of the week the model will simulate next."""
        return self.date_of(self.week)

    def series(self, metric: str) -> np.ndarray:
        """The values of a recorded observable for the weeks simulated so far."""
        row = self.recorder.names.index(metric)
        return self.recorder.values[row, : self.week, 0]

    def holders(self) -> list[int]:
        """Per region, the column of the combatant holding the largest share."""
        return [int(i) for i in np.argmax(self.control[0], axis=1)]

    def talks_summary(self) -> dict[str, str]:
        """The talks this week, in words (replication 0)."""
        talks = self.talks
        last = int(self.recorder.values[self.recorder.names.index("talks_state"), self.week - 1, 0])
        return {
            "week": f"{self.week} of {self.weeks} (next: week of {self.date})",
            "talks": TALKS_STATES.get(last, str(last)) if self.week else "not started",
            "in session": "yes" if bool(talks.in_session[0]) else "no",
            "furthest stage": STAGES.get(int(talks.stage[0]), str(talks.stage[0])),
            "government's offer": f"{float(talks.offer[0]):.2f}",
            "opposition's demand": f"{float(talks.demand[0]):.2f}",
            "bargaining range": f"{float(talks.range_width[0]):+.3f}",
            "trust": f"{float(talks.trust[0]):.2f}",
            "walkouts (government / opposition)": (
                f"{int(talks.walkouts_government[0])} / {int(talks.walkouts_opposition[0])}"
            ),
            "ceasefire in force": "yes" if bool(self.ceasefire_in_force[0]) else "no",
            "agreement": (
                "in force"
                if bool(talks.in_force[0])
                else "reached, broke down"
                if bool(talks.agreed[0])
                else "none"
            ),
        }


def _scenario_at(spec: Scenario, variant: str, values: dict[str, Any]) -> Scenario:
    """The variant's scenario with the ``uncertain`` values given set (as a sweep point)."""
    from negsim.run.sweep import point_scenarios, uncertain_factors

    if variant != "base" and variant not in spec.variants:
        raise ValueError(f"unknown variant {variant!r}")
    paths = {_field(f.path): f.path for f in uncertain_factors(spec)}
    point = {paths[k]: float(v) for k, v in values.items() if k in paths and v is not None}
    return point_scenarios(spec, point, [variant])[variant]


def _layout(model: ConflictModel) -> dict[int, tuple[float, float]]:
    """Where each region is drawn: its scenario ``position``, else a fixed layout.

    Regions with a ``position`` stay where the scenario puts them (a map);
    the others are placed around them by a spring layout seeded with 0, or,
    when no region has one, by Kamada-Kawai's layout of the adjacency, which
    draws no random numbers. Either way the page looks the same every time.
    """
    import networkx as nx

    graph = nx.from_numpy_array(model.adjacency)
    regions = model.spec.regions
    given = {
        r: (float(regions[key].position[0]), float(regions[key].position[1]))  # type: ignore[index]
        for r, key in enumerate(model.region_keys)
        if regions[key].position is not None
    }
    if len(given) == len(model.region_keys):
        positions: dict[Any, Any] = given
    elif given:
        positions = nx.spring_layout(graph, pos=given, fixed=list(given), seed=0)
    else:
        positions = nx.kamada_kawai_layout(graph)
    return {int(k): (float(v[0]), float(v[1])) for k, v in positions.items()}


def slider_step(low: float, high: float, value: float) -> float:
    """The coarsest step of 1, 2 or 5 times a power of ten that puts ``value`` and ``high`` on the
    slider's grid (``low + k * step``) with 20 to 1000 steps across; else 1/1000 of the range.

    A slider's values are ``low + k * step``: with another step the scenario's own
    value (0.4) is not one of them (0.3984), and a user cannot drag back to it.
    """
    span = high - low
    if not span > 0:
        return 1.0
    for exponent in range(int(math.floor(math.log10(span))), -7, -1):
        for digit in (5, 2, 1):
            step = digit * 10.0**exponent
            if span / step < 20 - 1e-9:
                continue
            if span / step > 1000 + 1e-9:  # finer than a pixel: no grid holds the value
                return span / 1000
            if all(_on_grid(x - low, step) for x in (value, high)):
                return float(f"{step:.6g}")
    return span / 1000


def _on_grid(offset: float, step: float) -> bool:
    """Whether ``offset`` is a whole number of ``step``s (to the precision of the written value)."""
    return abs(offset - round(offset / step) * step) <= 1e-9 * max(1.0, abs(offset))


def model_params(scenario_path: str | Path) -> dict[str, Any]:
    """SolaraViz inputs: the scenario (fixed), the variant, the seed, every ``uncertain`` range."""
    from negsim.run.sweep import uncertain_factors

    scenario_file = loader.load(scenario_path)
    spec = scenario_file.scenario
    params: dict[str, Any] = {
        "scenario_path": str(scenario_path),
        "variant": {
            "type": "Select",
            "value": "base",
            "values": ["base", *spec.variants],
            "label": "variant",
        },
        "seed": {"type": "InputText", "value": str(spec.experiment.seed), "label": "seed"},
    }
    for factor in uncertain_factors(spec):
        low, high = factor.low, factor.high
        value = factor.base if factor.base is not None else (low + high) / 2
        value = min(max(value, low), high)
        params[_field(factor.path)] = {
            "type": "SliderInt" if factor.whole else "SliderFloat",
            "value": round(value) if factor.whole else float(value),
            "min": round(low) if factor.whole else float(low),
            "max": round(high) if factor.whole else float(high),
            "step": 1 if factor.whole else slider_step(float(low), float(high), float(value)),
            "label": factor.path,
        }
    return params


# --------------------------------------------------------------------------- components


def map_figure(model: ExploreModel) -> Any:
    """The regions where the scenario puts them, each a pie of who holds it.

    Lines join neighbouring regions; each pie's slices are the combatants'
    shares of the region in their colours, its size the region's strategic
    value; the label gives the region's name and its largest holder's share.
    Drawn without a layout engine (fixed margins) and with collections rather
    than a patch per slice: a step must redraw in well under 0.2 s.
    """
    from matplotlib.collections import LineCollection, PolyCollection
    from matplotlib.figure import Figure

    # Drawn at the size the page shows it (about 460 px wide): labels stay 13 px high.
    fig = Figure(figsize=(4.6, 3.9), dpi=100)
    ax = fig.add_axes((0.01, 0.01, 0.98, 0.9))
    holders = model.holders()
    keys = [c.key for c in model.combatants]
    colours = {i: _PALETTE[i % len(_PALETTE)] for i in range(len(keys))}
    pos = model.layout
    xs = np.array([pos[r][0] for r in range(len(model.region_keys))])
    ys = np.array([pos[r][1] for r in range(len(model.region_keys))])
    edges = [
        [(xs[i], ys[i]), (xs[j], ys[j])]
        for i, j in zip(*np.nonzero(np.triu(model.adjacency)), strict=True)
    ]
    ax.add_collection(LineCollection(edges, colors="0.75", linewidths=1.2, zorder=1))
    share = model.control[0]
    regions = model.spec.regions
    width, height = float(np.ptp(xs)) or 1.0, float(np.ptp(ys)) or 1.0
    biggest = float(np.max(model.value_share)) or 1.0
    # The pies as one collection of polygons: a patch per slice is too slow to redraw each week.
    slices: list[np.ndarray] = []
    fills: list[str] = []
    for r in range(len(model.region_keys)):
        radius = (
            0.035 * max(width, height) * (0.6 + 0.6 * math.sqrt(model.value_share[r] / biggest))
        )
        angle = 0.5 * math.pi
        for c in np.argsort(-share[r], kind="stable"):
            part = float(share[r, c])
            if part <= 0:
                continue
            arc = np.linspace(angle, angle - 2 * math.pi * part, max(2, int(72 * part) + 2))
            points = np.column_stack([xs[r] + radius * np.cos(arc), ys[r] + radius * np.sin(arc)])
            slices.append(np.vstack([[xs[r], ys[r]], points]))
            fills.append(colours[int(c)])
            angle -= 2 * math.pi * part
    ax.add_collection(
        PolyCollection(slices, facecolors=fills, edgecolors="white", linewidths=0.6, zorder=2)
    )
    for r, key in enumerate(model.region_keys):
        held = float(share[r, holders[r]])
        name = (regions[key].name or key).split(" (")[0]
        # Left of the region at the east edge of the map, or when a region sits just to its right.
        crowded = bool(xs[r] > xs.min() + 0.7 * width) or bool(
            np.any((xs > xs[r]) & (xs - xs[r] < 0.3 * width) & (np.abs(ys - ys[r]) < 0.1 * height))
        )
        ax.annotate(
            f"{name}\n{keys[holders[r]]} {held:.0%}",
            (xs[r], ys[r]),
            xytext=(-11 if crowded else 11, 0),
            textcoords="offset points",
            ha="right" if crowded else "left",
            va="center",
            fontsize=9,
            linespacing=1.05,
            zorder=3,
        )
    # Room for the labels beside the outermost regions; the map keeps its proportions.
    ax.set_xlim(xs.min() - 0.4 * width, xs.max() + 0.4 * width)
    ax.set_ylim(ys.min() - 0.08 * height, ys.max() + 0.08 * height)
    if all(regions[key].position is not None for key in model.region_keys):
        ax.set_aspect("equal", adjustable="box")
    ax.set_axis_off()
    fig.suptitle(f"Who holds each region, week {model.week} ({model.variant})", fontsize=11)
    return fig


def _key(entries: list[tuple[str, str]], title: str) -> str:
    """A figure's key as HTML (colour swatch, label): a matplotlib legend costs a step 60 ms."""
    import html

    items = "".join(
        f"<span style='margin-right:1em;white-space:nowrap'><span style='display:inline-block;"
        f"width:0.9em;height:0.9em;background:{colour};margin-right:0.3em;"
        f"vertical-align:middle'></span>{html.escape(label)}</span> "
        for colour, label in entries
    )
    return (
        f"<div class='negsim-key' style='font-size:13px'><b>{html.escape(title)}</b> {items}</div>"
    )


@solara.component
def _region_map(model: ExploreModel) -> Any:
    """The regions on their map (see `map_figure`) and its key, redrawn after every step."""
    update_counter.get()
    entries = [(_PALETTE[i % len(_PALETTE)], c.key) for i, c in enumerate(model.combatants)]
    with solara.Column(gap="0px") as column:
        solara.FigureMatplotlib(map_figure(model), format="png", dpi=100)
        solara.HTML(tag="div", unsafe_innerHTML=_key(entries, "each pie: who holds the region:"))
    return column


@solara.component
def _talks_card(model: ExploreModel) -> Any:
    """The talks state this week, as a table of plain words."""
    update_counter.get()
    import html

    # Plain HTML, not Markdown: Solara's Markdown fetches KaTeX, which is not served offline.
    rows = "".join(
        f"<tr><th style='text-align:left;padding-right:1em'>{html.escape(k)}</th>"
        f"<td>{html.escape(v)}</td></tr>"
        for k, v in model.talks_summary().items()
    )
    with solara.Column() as card:
        solara.Style(_CSS)
        solara.HTML(
            tag="div",
            unsafe_innerHTML=f"<h3>The talks</h3><table class='negsim-talks'>{rows}</table>",
        )
    return card


def observables_figure(model: ExploreModel) -> Any:
    """The main observables over the weeks simulated so far (fixed margins, as `map_figure`)."""
    import matplotlib.dates as mdates
    from matplotlib.figure import Figure

    fig = Figure(figsize=(4.6, 3.2), dpi=100)
    ax = fig.add_axes((0.1, 0.1, 0.87, 0.8))
    ax.tick_params(labelsize=9)
    dates = mdates.date2num([model.date_of(w) for w in range(model.week)])
    for i, (observable, label) in enumerate(_OBSERVABLES):
        metric = (
            f"control.{model.government.key}" if observable == "control.government" else observable
        )
        if metric in model.recorder.names and model.week:
            ax.plot(dates, model.series(metric), label=label, color=_PALETTE[i % len(_PALETTE)])
    ax.set_xlim(mdates.date2num(model.start_date), mdates.date2num(model.date_of(model.weeks)))
    locator = mdates.AutoDateLocator(maxticks=8)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    ax.set_ylim(-0.3, 1.05)
    ax.axhline(0, color="0.6", linewidth=0.8)
    ax.set_title("Observables as they accrue (one replication)", fontsize=10)
    return fig


@solara.component
def _observables(model: ExploreModel) -> Any:
    """The main observables (see `observables_figure`) and their key, redrawn after every step."""
    update_counter.get()
    entries = [(_PALETTE[i % len(_PALETTE)], label) for i, (_, label) in enumerate(_OBSERVABLES)]
    with solara.Column(gap="0px") as column:
        solara.FigureMatplotlib(observables_figure(model), format="png", dpi=100)
        solara.HTML(tag="div", unsafe_innerHTML=_key(entries, "lines:"))
    return column


# Vuetify shows a slider's value only while it is dragged, and a long label squeezes the
# slider itself to nothing: the value always shown, the label on a line of its own.
_CSS = """
.v-input__slider .v-input__slot { flex-wrap: wrap; }
.v-input__slider .v-input__slot > .v-label { flex: 1 0 100%; white-space: normal;
  max-width: 100%; margin-bottom: 2.6em; font-size: 13px; }
.v-input__slider .v-slider { min-width: 8em; }
.v-slider__thumb-label-container { display: block !important; }
"""


def make_page(scenario_path: str | Path) -> Any:
    """The SolaraViz page for a scenario file (its first replication of ``base``)."""
    from mesa.visualization import SolaraViz

    params = model_params(scenario_path)
    model = ExploreModel(str(scenario_path))
    return SolaraViz(
        model,
        components=[(_region_map, 0), (_talks_card, 0), (_observables, 0)],
        model_params=params,
        name=f"negsim explore: {model.scenario_file.name}",
        play_interval=150,
    )


page: Any = make_page(os.environ[ENV]) if os.environ.get(ENV) else None
"""The page Solara serves (built when :data:`ENV` names a scenario)."""

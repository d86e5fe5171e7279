"""The interactive model page (``negsim explore SCENARIO``): one replication, week by week.

A Mesa SolaraViz page for one replication of a chosen variant of a scenario:
the regions as a network coloured by who holds them, the state of the talks
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
    """Fixed positions of the regions (a seeded layout: the page looks the same every time)."""
    import networkx as nx

    graph = nx.from_numpy_array(model.adjacency)
    positions = nx.spring_layout(graph, seed=0)
    return {int(k): (float(v[0]), float(v[1])) for k, v in positions.items()}


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
            "step": 1 if factor.whole else float(f"{(high - low) / 100:.3g}"),
            "label": factor.path,
        }
    return params


# --------------------------------------------------------------------------- components


@solara.component
def _region_map(model: ExploreModel) -> Any:
    """The regions as a network, each coloured by the combatant holding most of it."""
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    update_counter.get()  # re-drawn after every step
    fig = Figure(figsize=(6, 4.6), layout="constrained")
    ax = fig.add_subplot()
    holders = model.holders()
    keys = [c.key for c in model.combatants]
    colours = {i: _PALETTE[i % len(_PALETTE)] for i in range(len(keys))}
    pos = model.layout
    for i, j in zip(*np.nonzero(np.triu(model.adjacency)), strict=True):
        ax.plot([pos[i][0], pos[j][0]], [pos[i][1], pos[j][1]], color="0.7", linewidth=1, zorder=1)
    share = model.control[0]
    for r, key in enumerate(model.region_keys):
        held = float(share[r, holders[r]])
        ax.scatter(
            [pos[r][0]],
            [pos[r][1]],
            s=300 + 2000 * float(model.value_share[r]),
            color=colours[holders[r]],
            alpha=0.35 + 0.65 * held,
            edgecolor="black",
            zorder=2,
        )
        ax.annotate(f"{key}\n{held:.0%}", pos[r], ha="center", va="center", fontsize=7, zorder=3)
    shown = sorted(set(holders))
    ax.legend(
        [Patch(color=colours[i]) for i in shown],
        [keys[i] for i in shown],
        loc="lower left",
        fontsize=7,
        frameon=False,
    )
    ax.set_axis_off()
    ax.set_title(f"Who holds each region, week {model.week} ({model.variant})", fontsize=10)
    return solara.FigureMatplotlib(fig)


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
    return solara.HTML(
        tag="div", unsafe_innerHTML=f"<h3>The talks</h3><table class='negsim-talks'>{rows}</table>"
    )


@solara.component
def _observables(model: ExploreModel) -> Any:
    """The main observables over the weeks simulated so far."""
    import matplotlib.dates as mdates
    from matplotlib.figure import Figure

    update_counter.get()
    fig = Figure(figsize=(7, 4.6), layout="constrained")
    ax = fig.add_subplot()
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
    if model.week:
        ax.legend(fontsize=7, ncols=2, loc="lower left", frameon=False)
    ax.set_title("Observables as they accrue (one replication)", fontsize=10)
    return solara.FigureMatplotlib(fig)


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

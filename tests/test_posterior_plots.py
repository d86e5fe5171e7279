"""The prior-vs-posterior figure: drawn from runs with drawn inputs, left out without them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from negsim.plots import _NotApplicable, read_stamp
from negsim.posterior_plots import has_drawn_inputs, input_label, posterior_figure


class _Table:
    """The one method of plots' folder reader the figure uses, over a frame of strings."""

    def __init__(self, runs: pd.DataFrame) -> None:
        self.runs = runs.astype(str)

    def table(self, name: str, columns: tuple[str, ...] = ()) -> pd.DataFrame:
        assert name == "runs.csv"
        return self.runs


def _runs(inputs: int = 3, n: int = 200) -> pd.DataFrame:
    rng = np.random.default_rng(5)
    frame = pd.DataFrame(
        {"variant": np.repeat(["base", "other"], n), "replication": np.tile(np.arange(n), 2)}
    )
    for i in range(inputs):
        frame[f"input.parameters.p{i}"] = np.tile(rng.uniform(0, 1, n), 2)
    frame["matches_record"] = np.tile((rng.uniform(0, 1, n) < 0.3).astype(float), 2)
    return frame


def test_the_figure_has_a_panel_per_drawn_input(tmp_path: Path) -> None:
    stamp = read_stamp(tmp_path, {"scenario_name": "toy", "runs": 200, "seed": 1})
    figure = posterior_figure(_Table(_runs(5)), stamp)
    # The panels share one canvas axes (negsim.plots._SmallMultiples): each input's title is
    # a text of it, in the order of the columns.
    texts = [text.get_text() for text in figure.axes[0].texts]
    titles = [text for text in texts if text.startswith("parameters.")]
    assert titles == [f"parameters.p{i}" for i in range(5)]
    # A prior (filled) and a posterior (step line) per panel, and the two medians of each.
    sizes = [len(c.get_paths()) for c in figure.axes[0].collections]
    # prior fills; posterior steps, posterior medians, prior medians (then frames and ticks)
    assert sizes[:4] == [5, 5, 5, 5]
    path = tmp_path / "posterior.png"
    figure.savefig(path, format="png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    legend = " ".join(t.get_text() for t in figure.legends[0].get_texts())
    accepted = int(_runs(5).query("variant == 'base'")["matches_record"].sum())
    assert f"the {accepted} of 200 base runs" in legend


def test_without_drawn_inputs_or_the_record_there_is_no_figure(tmp_path: Path) -> None:
    plain = _runs(0)
    assert not has_drawn_inputs(_Table(plain))
    assert not has_drawn_inputs(_Table(_runs(2).drop(columns="matches_record")))
    assert has_drawn_inputs(_Table(_runs(2)))
    stamp = read_stamp(tmp_path, None)
    with pytest.raises(_NotApplicable):
        posterior_figure(_Table(plain), stamp)


def test_input_label_is_the_uncertain_path() -> None:
    assert input_label("input.events.drawdown.intensity") == "events.drawdown.intensity"

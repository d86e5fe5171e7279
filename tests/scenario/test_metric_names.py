"""The run outcomes are named for the sides' roles, never for one scenario's actor ids."""

from __future__ import annotations

from pathlib import Path

import pytest

from negsim.scenario import RUN_METRICS, load
from negsim.scenario.schema import RENAMED_METRICS, metric_hint

SCENARIOS = sorted((Path(__file__).resolve().parents[2] / "scenarios").glob("*.yaml"))


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_no_outcome_is_named_for_a_bundled_scenarios_actor(path: Path) -> None:
    # An actor may be called by its role (geneva3's coalition is `opposition`).
    actors = set(load(path).scenario.actors) - {"government", "opposition"}
    for metric in RUN_METRICS:
        for actor in actors:
            assert actor not in metric.split("_"), (metric, actor)


def test_a_renamed_outcome_hints_its_new_name() -> None:
    for old, new in RENAMED_METRICS.items():
        assert old not in RUN_METRICS and new in RUN_METRICS
        assert f"did you mean {new!r}?" in metric_hint(old)
    assert metric_hint("agreemnt") == "; did you mean 'agreement'?"
    assert metric_hint("zzz") == ""

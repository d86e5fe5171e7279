"""Shared fixtures.

Plain helpers several modules share (a folder's snapshot, a free port, a Dask
scheduler with a worker, the small sweep scenario) are in ``helpers.py``
beside this file, imported as ``from helpers import ...``: pytest puts this
conftest's folder on ``sys.path``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import settings

# The property tests draw the same examples on every machine and every run, so
# that the suite a user runs cannot fail by the luck of a draw; a developer
# hunting new counterexamples runs `pytest --hypothesis-profile=explore`.
settings.register_profile("negsim", derandomize=True, deadline=None)
settings.register_profile("explore", max_examples=2000, deadline=None)
settings.load_profile("negsim")

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"


@pytest.fixture(scope="session")
def geneva3():
    from negsim.scenario import load

    return load(SCENARIOS / "geneva3.yaml")


@pytest.fixture(scope="session")
def geneva3_results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small real results folder of geneva3 (40 runs per variant), run once for the session.

    The plots' and the report's tests read it; a test that changes a results
    folder copies it first. Its parent is the test session's own, so a test
    may write beside it (the report's sweep folder).
    """
    from negsim.api import run_experiment

    out = tmp_path_factory.mktemp("geneva3") / "geneva3"
    with pytest.warns(Warning):  # 40 runs: "a rough interval"
        run_experiment(SCENARIOS / "geneva3.yaml", runs=40, out=out, jobs=1)
    return out

"""Shared fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"


@pytest.fixture(scope="session")
def geneva3():
    from negsim.scenario import load

    return load(SCENARIOS / "geneva3.yaml")

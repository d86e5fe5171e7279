"""Scenario files: the schema, loading with file:line errors, `extends` and variants."""

from negsim.scenario.loader import BASE, ScenarioFile, load
from negsim.scenario.schema import RUN_METRICS, Scenario

__all__ = ["BASE", "RUN_METRICS", "Scenario", "ScenarioFile", "load"]

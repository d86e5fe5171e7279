"""The manifest's `calibration` entry: one procedure, recorded the same way for every theory."""

from __future__ import annotations

import json
import math

import pytest

from negsim.analysis.calibration import AT_VALUES, PROCEDURE, calibration_record
from negsim.analysis.posterior import clopper_pearson
from negsim.scenario.distributions import Uniform

USES = {"flat": "condition", "march": "holdout", "ceasefire": "describe", "no_deal": "condition"}


def test_the_record_names_the_procedure_patterns_priors_and_fit():
    priors = {"actors.un.leverage": Uniform(uniform={"low": 0.2, "high": 0.6}), "x.y": 0.5}
    entry = calibration_record(priors, USES, 400, 37, {"march": 0.25}, 0.95, drawn=True)
    assert entry["procedure"] == PROCEDURE
    assert entry["conditioning"] == ["flat", "no_deal"]
    assert entry["holdout"] == ["march"] and entry["describe"] == ["ceasefire"]
    assert entry["priors"] == {
        "actors.un.leverage": {"uniform": {"low": 0.2, "high": 0.6}},
        "x.y": 0.5,
    }
    assert entry["accepted"] == 37 and entry["runs"] == 400
    assert entry["acceptance"] == pytest.approx(37 / 400)
    low, high = clopper_pearson(37, 400, 0.95)
    assert entry["acceptance_interval"] == pytest.approx([low, high], rel=1e-5)
    assert entry["holdout_fit"] == {"march": 0.25}
    json.dumps(entry, allow_nan=False)  # plain JSON, as the manifest needs


def test_no_accepted_run_leaves_the_holdout_fit_undefined_not_zero():
    entry = calibration_record({}, USES, 100, 0, {"march": math.nan}, 0.95, drawn=True)
    assert entry["holdout_fit"] == {"march": None}
    assert entry["acceptance"] == 0.0 and entry["acceptance_interval"][0] == 0.0
    json.dumps(entry, allow_nan=False)


def test_runs_at_written_values_fit_nothing_and_say_so():
    priors = {"x.y": Uniform(uniform={"low": 0.0, "high": 1.0})}
    entry = calibration_record(priors, USES, 100, 10, {"march": 0.5}, 0.95, drawn=False)
    assert entry["procedure"] == AT_VALUES and entry["priors"] == {}

"""How a theory was fitted to the record: the manifest's `calibration` entry.

Every scenario, geneva3 and its rivals alike, is fitted by one procedure:
rejection ABC (Pritchard et al. 1999, Molecular Biology and Evolution
16:1791-1798; Beaumont 2010, Annual Review of Ecology, Evolution and
Systematics 41:379-406). Each run draws the scenario's own `uncertain:`
priors; the base world's runs that reproduce every `use: condition` pattern
of `observed:` (zero tolerance on the patterns' yes/no summaries) are the
sample of the posterior; `holdout` patterns take no part and are the
out-of-sample check of the accepted worlds. The acceptance rate is the
theory's probability of the conditioning patterns under its priors, which
`negsim compare` divides between theories (`negsim.analysis.evidence`).

`negsim run` and `negsim compare` both write this entry, so that two
theories' manifests say the same thing in the same words: which priors were
drawn, which patterns were conditioned on and which held out, how many runs
were accepted and how well the accepted worlds fit the held-out facts.

Every function here is pure.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from negsim.analysis.posterior import clopper_pearson

PROCEDURE = (
    "rejection ABC (Pritchard et al. 1999): every run draws the scenario's own `uncertain:` "
    "priors; the base runs that reproduce every `use: condition` pattern, with zero tolerance "
    "on their yes/no summaries, are the posterior sample; `holdout` patterns are checked on "
    "the accepted runs only; the same procedure for every scenario (docs/model.md, section 5)"
)
AT_VALUES = (
    "none: the assumptions were held at their written values (--at-values), so the record "
    "only counts the runs that reproduce it and fits nothing"
)
INTERVAL = "clopper-pearson"


def prior_of(value: Any) -> Any:
    """One `uncertain:` entry as plain JSON data: a number, or the distribution's fields."""
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    return value


def calibration_record(
    priors: Mapping[str, Any],
    uses: Mapping[str, str],
    runs: int,
    accepted: int,
    holdout_fit: Mapping[str, float],
    confidence: float,
    drawn: bool,
) -> dict[str, Any]:
    """The manifest's `calibration`: the procedure, its inputs and how the fit came out.

    ``priors``: the scenario's `uncertain:` block (dotted path -> number or
    distribution); ``uses``: each pattern of the record by id -> `condition`,
    `holdout` or `describe`, in the record's order; ``runs`` base runs of
    which ``accepted`` reproduce every conditioning pattern; ``holdout_fit``:
    per held-out pattern, the share of the accepted runs that reproduce it
    (NaN without accepted runs); ``drawn``: whether the runs drew the priors.
    """
    low, high = clopper_pearson(accepted, runs, confidence)
    return {
        "procedure": PROCEDURE if drawn else AT_VALUES,
        "priors": {path: prior_of(value) for path, value in priors.items()} if drawn else {},
        "conditioning": [p for p, use in uses.items() if use == "condition"],
        "holdout": [p for p, use in uses.items() if use == "holdout"],
        "describe": [p for p, use in uses.items() if use == "describe"],
        "runs": runs,
        "accepted": accepted,
        "acceptance": _rounded(accepted / runs if runs else math.nan),
        "acceptance_interval": [_rounded(low), _rounded(high)],
        "interval": INTERVAL,
        "confidence": confidence,
        "holdout_fit": {
            p: _rounded(holdout_fit.get(p, math.nan)) for p, use in uses.items() if use == "holdout"
        },
    }


def _rounded(share: float) -> float | None:
    """A share for JSON: None where it is undefined (no runs, or none accepted)."""
    share = float(share)
    return None if math.isnan(share) else round(share, 6)

"""The record as evidence: approximate Bayesian computation by rejection (`posterior.csv`).

Each replication of the base variant draws its assumptions (the scenario's
`uncertain:` values, the `input.<path>` columns of `runs.csv`) from their
priors and then its noise; the runs that reproduce every conditioning pattern
of the scenario's `observed:` block (`matches_record`) are a sample of the
assumptions' posterior given those patterns. This is rejection ABC with a
tolerance of zero on the patterns' yes/no summaries (Pritchard et al. 1999,
Mol. Biol. Evol. 16:1791-1798; Beaumont 2010, Annu. Rev. Ecol. Evol. Syst.
41:379-406): accepted draws follow p(theta | patterns) exactly, whatever
their number, so the only error is Monte Carlo error, which the accepted
count sets.

The acceptance rate estimates the probability that the scenario reproduces
the patterns, the ABC estimate of its marginal likelihood of them (the
quantity `negsim compare` divides between theories:
`negsim.analysis.evidence`). Its interval is Clopper and Pearson's exact one
(Biometrika 26:404-413, 1934): it never falls below its stated coverage,
which matters for acceptance rates of a few per cent or less.

Every function here is pure: tables in, tables out.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

INPUT_PREFIX = "input."
"""`runs.csv` columns holding a replication's drawn `uncertain:` value (`input.<path>`)."""
MATCHES_COLUMN = "matches_record"
"""`runs.csv`: 1 when the run reproduces every conditioning pattern (as `results.stream`)."""
ACCEPTANCE = "acceptance"
"""The `input` of `posterior.csv`'s row on the accepted runs themselves."""
MIN_ACCEPTED = 100
"""Fewest accepted runs for posterior summaries worth reading (fewer: a warning and a note).

At 100 accepted draws the Monte Carlo standard error of a posterior mean is a
tenth of the posterior standard deviation (sd / sqrt(100)), and each of the
5 % and 95 % quantiles has 5 accepted draws beyond it; fewer leaves the tails
resting on one or two runs. `MIN_RECORD_RUNS` (30) is enough for a verdict
on a difference, not for a distribution's tails."""
QUANTILES = (0.05, 0.5, 0.95)
SUMMARIES = ("mean", "sd", "q05", "q50", "q95")
"""Summaries of one sample, in `posterior.csv`'s column order."""
INTERVAL = "clopper-pearson"

COLUMNS = [
    "input",
    *(f"prior_{s}" for s in ("runs", *SUMMARIES)),
    *(f"posterior_{s}" for s in ("runs", *SUMMARIES)),
    "shift_sd",
    "acceptance_rate",
    "ci_low",
    "ci_high",
    "confidence",
    "interval",
    "runs_needed",
    "note",
]
"""`posterior.csv`'s columns (docs/results.md)."""


def summarise(values: np.ndarray) -> dict[str, float]:
    """Mean, standard deviation (n - 1) and 5/50/95 % quantiles of the finite ``values``.

    NaN for every summary of an empty sample; the sd is NaN for one value.
    Quantiles are numpy's default (linear interpolation, Hyndman & Fan's type 7).
    """
    finite = np.asarray(values, dtype=float)
    finite = finite[np.isfinite(finite)]
    if finite.size == 0:
        return dict.fromkeys(SUMMARIES, math.nan)
    q05, q50, q95 = np.quantile(finite, QUANTILES)
    return {
        "mean": float(finite.mean()),
        "sd": float(finite.std(ddof=1)) if finite.size > 1 else math.nan,
        "q05": float(q05),
        "q50": float(q50),
        "q95": float(q95),
    }


def clopper_pearson(successes: int, trials: int, confidence: float) -> tuple[float, float]:
    """Clopper and Pearson's exact interval for a binomial proportion (Biometrika 1934).

    The bounds are quantiles of beta distributions: Beta(a/2; x, n - x + 1)
    and Beta(1 - a/2; x + 1, n - x), with 0 at x = 0 and 1 at x = n.
    (NaN, NaN) for no trials.
    """
    from scipy.stats import beta

    if trials <= 0:
        return math.nan, math.nan
    alpha = 1.0 - confidence
    low = 0.0 if successes == 0 else float(beta.ppf(alpha / 2, successes, trials - successes + 1))
    high = (
        1.0
        if successes == trials
        else float(beta.ppf(1 - alpha / 2, successes + 1, trials - successes))
    )
    return low, high


def runs_needed(accepted: int, runs: int, confidence: float, minimum: int = MIN_ACCEPTED) -> int:
    """Base runs expected to give ``minimum`` accepted runs at the observed acceptance rate.

    ``minimum / rate``, rounded up. With no accepted run the rate's point
    estimate is 0, so the rate's upper confidence bound stands in: the
    answer is then the fewest runs that could do (a lower bound).
    """
    if runs <= 0:
        return minimum
    rate = accepted / runs
    if rate == 0:
        rate = clopper_pearson(0, runs, confidence)[1]
    return math.ceil(minimum / rate)


def shortfall_note(accepted: int, runs: int, confidence: float, minimum: int = MIN_ACCEPTED) -> str:
    """One line when fewer than ``minimum`` runs were accepted, else ''."""
    if accepted >= minimum:
        return ""
    needed = runs_needed(accepted, runs, confidence, minimum)
    rate = f"{accepted / runs:.2%}" if runs else "no runs"
    at_least = "at least " if accepted == 0 else "about "
    return (
        f"only {accepted} of {runs} base runs reproduce the record's conditioning patterns "
        f"(acceptance {rate}), fewer than the {minimum} the posterior summaries need: "
        f"run {at_least}{needed} (--runs {needed})"
    )


def input_columns(columns: Sequence[str]) -> list[str]:
    """The drawn-input columns (`input.<path>`) among ``columns``, in their order."""
    return [c for c in columns if str(c).startswith(INPUT_PREFIX)]


def posterior_table(
    base_runs: pd.DataFrame, confidence: float, minimum: int = MIN_ACCEPTED
) -> pd.DataFrame:
    """`posterior.csv`: each drawn input's prior and posterior summaries, and the acceptance.

    ``base_runs`` holds the base variant's runs (one row each) with the
    `matches_record` column and any `input.<path>` columns. Prior: every
    base run; posterior: the runs that reproduce the record. ``shift_sd`` is
    (posterior mean - prior mean) / prior sd: how far the record moved an
    assumption, in prior standard deviations. The last row (`acceptance`)
    gives the accepted runs (`posterior_runs`) of all (`prior_runs`), their
    share with its Clopper-Pearson interval, the runs needed for ``minimum``
    accepted ones, and a `note` when fewer were accepted. Without input
    columns (assumptions at their written values) it is the only row.
    """
    if MATCHES_COLUMN not in base_runs.columns:
        raise ValueError(f"posterior_table: runs need a {MATCHES_COLUMN!r} column")
    accepted_mask = base_runs[MATCHES_COLUMN].to_numpy(dtype=float, na_value=0.0) == 1.0
    runs = len(base_runs)
    accepted = int(accepted_mask.sum())
    rows = []
    for column in input_columns(list(base_runs.columns)):
        values = base_runs[column].to_numpy(dtype=float, na_value=np.nan)
        prior, posterior = summarise(values), summarise(values[accepted_mask])
        spread = prior["sd"]
        shift = (
            (posterior["mean"] - prior["mean"]) / spread
            if spread and math.isfinite(spread) and spread > 0
            else math.nan
        )
        rows.append(
            {
                "input": column,
                "prior_runs": int(np.isfinite(values).sum()),
                **{f"prior_{k}": v for k, v in prior.items()},
                "posterior_runs": int(np.isfinite(values[accepted_mask]).sum()),
                **{f"posterior_{k}": v for k, v in posterior.items()},
                "shift_sd": shift,
            }
        )
    low, high = clopper_pearson(accepted, runs, confidence)
    rows.append(
        {
            "input": ACCEPTANCE,
            "prior_runs": runs,
            "posterior_runs": accepted,
            "acceptance_rate": accepted / runs if runs else math.nan,
            "ci_low": low,
            "ci_high": high,
            "confidence": confidence,
            "interval": INTERVAL,
            "runs_needed": runs_needed(accepted, runs, confidence, minimum),
            "note": shortfall_note(accepted, runs, confidence, minimum),
        }
    )
    table = pd.DataFrame(rows, columns=COLUMNS)
    for column in ("prior_runs", "posterior_runs", "runs_needed"):
        table[column] = table[column].astype("Int64")
    return table

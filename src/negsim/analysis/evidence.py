"""Theories and variants compared on the record (`negsim compare`: compare.csv, compare_patterns.csv).

A theory (a scenario, with its `uncertain:` priors) or a variant of one
reproduces the record's conditioning patterns in a share of its runs: the
rejection-ABC estimate of its probability of those patterns, its marginal
likelihood of them (`negsim.analysis.posterior`). The ratio of two such
probabilities is the Bayes factor between the two models on the patterns
(Grelaud et al. 2009, Bayesian Analysis 4:317-336; Didelot et al. 2011,
Bayesian Analysis 6:49-76): how many times more probable the record is
under one than under the other, whatever the prior odds between them. It is
a Bayes factor on the patterns, not on everything the record holds: the
patterns are not sufficient statistics, so a different choice of patterns
may give a different factor (Robert et al. 2011, PNAS 108:15112-15117).

The two shares come from independent samples of runs, so the ratio's
interval is that of a ratio of two independent binomial proportions:
Koopman's score interval (Biometrics 40:513-517, 1984), which keeps its
coverage near 0 and gives a finite bound when one model never reproduces
the patterns; Katz's log interval (Katz et al. 1978, Biometrics
34:469-474) is given for comparison where both counts are positive. Each
share has Wilson's score interval, as `patterns.csv`.

Per pattern, the same ratio between a model and its reference is the
pattern's likelihood ratio: how strongly that fact alone tells the two
apart (a pattern both reproduce at the same rate tests nothing). For
`holdout` patterns the share among the runs that reproduce the conditioning
patterns is the out-of-sample fit.

Every function here is pure.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

RATIO_INTERVAL = "koopman-score"
SHARE_INTERVAL = "wilson"


@dataclass(frozen=True)
class ModelRuns:
    """One model's runs checked against the patterns the models share.

    ``matches`` is (pattern, run): which runs reproduce which pattern, the
    patterns in the order of ``patterns``, each with its ``uses`` entry
    (`condition`, `holdout` or `describe`).
    """

    name: str
    scenario: str
    variant: str
    matches: np.ndarray
    patterns: tuple[str, ...]
    uses: tuple[str, ...]

    @property
    def runs(self) -> int:
        return int(self.matches.shape[1])

    def like_ours(self) -> np.ndarray:
        """Per run: it reproduces every conditioning pattern."""
        rows = [i for i, use in enumerate(self.uses) if use == "condition"]
        if not rows:
            return np.ones(self.runs, dtype=bool)
        return np.asarray(self.matches[rows].all(axis=0), dtype=bool)


def wilson(successes: int, trials: int, confidence: float) -> tuple[float, float]:
    """Wilson's score interval for a proportion (Wilson 1927); NaN without trials."""
    from statsmodels.stats.proportion import proportion_confint

    if trials <= 0:
        return math.nan, math.nan
    low, high = proportion_confint(successes, trials, alpha=1 - confidence, method="wilson")
    return float(low), float(high)


def katz_interval(
    x1: int, n1: int, x2: int, n2: int, confidence: float
) -> tuple[float, float, float]:
    """Katz et al.'s (1978) log interval for p1 / p2: (ratio, low, high).

    exp(log(r) -/+ z sqrt(1/x1 - 1/n1 + 1/x2 - 1/n2)); NaN when either count is 0
    (the log ratio is then undefined).
    """
    from scipy.stats import norm

    if min(x1, x2, n1, n2) <= 0:
        return _ratio(x1, n1, x2, n2), math.nan, math.nan
    ratio = (x1 / n1) / (x2 / n2)
    z = float(norm.ppf(1 - (1 - confidence) / 2))
    spread = z * math.sqrt(1 / x1 - 1 / n1 + 1 / x2 - 1 / n2)
    return ratio, ratio * math.exp(-spread), ratio * math.exp(spread)


def koopman_interval(
    x1: int, n1: int, x2: int, n2: int, confidence: float
) -> tuple[float, float, float]:
    """Koopman's (1984) score interval for p1 / p2: (ratio, low, high).

    The ratios phi not rejected by the score test of p1 = phi p2: the
    chi-square ``sum (x - n p~)^2 / (n p~ (1 - p~))`` at the restricted
    maximum-likelihood estimates p~ (in closed form: the root of a quadratic,
    as in Miettinen & Nurminen 1985, without their N / (N - 1) factor) stays
    at most z^2. The two ends are found by root bracketing on log phi.
    x1 = 0 gives a lower bound of 0, x2 = 0 an upper bound of infinity; both
    0, or no runs, give NaN throughout.
    """
    from scipy.optimize import brentq
    from scipy.stats import norm

    if n1 <= 0 or n2 <= 0 or (x1 == 0 and x2 == 0):
        return _ratio(x1, n1, x2, n2), math.nan, math.nan
    z2 = float(norm.ppf(1 - (1 - confidence) / 2)) ** 2

    def excess(log_phi: float) -> float:
        return _score_chi2(x1, n1, x2, n2, math.exp(log_phi)) - z2

    ratio = _ratio(x1, n1, x2, n2)
    # A point inside the interval: the estimate, or far towards 0 / infinity at a zero count.
    inside = math.log(ratio) if 0 < ratio < math.inf else (-30.0 if x1 == 0 else 30.0)
    ends = []
    for direction in (-1.0, 1.0):
        if (direction < 0 and x1 == 0) or (direction > 0 and x2 == 0):
            ends.append(0.0 if direction < 0 else math.inf)
            continue
        step, outside = 1.0, inside + direction
        while excess(outside) < 0 and step < 64:
            step *= 2
            outside = inside + direction * step
        if excess(outside) < 0:  # never rejected (cannot happen with both counts positive)
            ends.append(0.0 if direction < 0 else math.inf)
            continue
        low, high = sorted((inside, outside))
        ends.append(math.exp(brentq(excess, low, high, xtol=1e-12, rtol=1e-12)))
    return ratio, ends[0], ends[1]


def _score_chi2(x1: int, n1: int, x2: int, n2: int, phi: float) -> float:
    """Koopman's score chi-square at the ratio ``phi`` (restricted MLE in closed form)."""
    a = phi * (n1 + n2)
    b = -(phi * n1 + x1 + n2 + phi * x2)
    c = x1 + x2
    p2 = (-b - math.sqrt(max(b * b - 4 * a * c, 0.0))) / (2 * a)
    p2 = min(max(p2, 0.0), 1.0)
    p1 = min(phi * p2, 1.0)
    total = 0.0
    for x, n, p in ((x1, n1, p1), (x2, n2, p2)):
        spread = n * p * (1 - p)
        gap = x - n * p
        if spread > 0:
            total += gap * gap / spread
        elif abs(gap) > 1e-9 * n:
            return math.inf
        # p at 0 or 1 and x at it: (x - n p)^2 / (n p (1 - p)) tends to n |1 - p| or n p, 0.
    return total


def _ratio(x1: int, n1: int, x2: int, n2: int) -> float:
    if n1 <= 0 or n2 <= 0:
        return math.nan
    if x2 == 0:
        return math.inf if x1 > 0 else math.nan
    return (x1 / n1) / (x2 / n2)


def references(models: Sequence[ModelRuns]) -> dict[str, str]:
    """Model -> the model it is compared with.

    A variant is compared with its own scenario's base (did the world with or
    without the change reproduce the record better?); each scenario's base
    with the first scenario's base (theory against theory). The first
    base has none.
    """
    bases = {m.scenario: m.name for m in models if m.variant == "base"}
    first = next((m.name for m in models if m.variant == "base"), None)
    found = {}
    for model in models:
        if model.variant != "base" and model.scenario in bases:
            found[model.name] = bases[model.scenario]
        elif model.variant == "base" and first is not None and model.name != first:
            found[model.name] = first
    return found


COMPARE_COLUMNS = [
    "model",
    "scenario",
    "variant",
    "runs",
    "reproduced",
    "probability",
    "ci_low",
    "ci_high",
    "reference",
    "bayes_factor",
    "bf_ci_low",
    "bf_ci_high",
    "bf_katz_low",
    "bf_katz_high",
    "confidence",
    "interval",
    "patterns",
]
"""`compare.csv`'s columns (docs/results.md)."""

PATTERN_COLUMNS = [
    "model",
    "scenario",
    "variant",
    "pattern",
    "use",
    "runs",
    "reproduced",
    "share",
    "ci_low",
    "ci_high",
    "reference",
    "likelihood_ratio",
    "lr_ci_low",
    "lr_ci_high",
    "like_ours",
    "reproduced_like_ours",
    "share_like_ours",
    "like_ours_ci_low",
    "like_ours_ci_high",
    "confidence",
]
"""`compare_patterns.csv`'s columns (docs/results.md)."""


def evidence_table(models: Sequence[ModelRuns], confidence: float) -> pd.DataFrame:
    """`compare.csv`: each model's probability of reproducing every conditioning pattern,
    and its Bayes factor against its reference (`references`) with Koopman's interval."""
    by_name = {m.name: m for m in models}
    chosen = references(models)
    counts = {m.name: int(m.like_ours().sum()) for m in models}
    rows: list[dict[str, Any]] = []
    for model in models:
        x, n = counts[model.name], model.runs
        low, high = wilson(x, n, confidence)
        row: dict[str, Any] = {
            "model": model.name,
            "scenario": model.scenario,
            "variant": model.variant,
            "runs": n,
            "reproduced": x,
            "probability": x / n if n else math.nan,
            "ci_low": low,
            "ci_high": high,
            "reference": chosen.get(model.name, ""),
            "confidence": confidence,
            "interval": f"{SHARE_INTERVAL}; ratio {RATIO_INTERVAL}",
            "patterns": ";".join(
                p for p, u in zip(model.patterns, model.uses, strict=True) if u == "condition"
            ),
        }
        reference = by_name.get(chosen.get(model.name, ""))
        if reference is not None:
            args = (x, n, counts[reference.name], reference.runs, confidence)
            row["bayes_factor"], row["bf_ci_low"], row["bf_ci_high"] = koopman_interval(*args)
            _, row["bf_katz_low"], row["bf_katz_high"] = katz_interval(*args)
        rows.append(row)
    return pd.DataFrame(rows, columns=COMPARE_COLUMNS)


def pattern_table(models: Sequence[ModelRuns], confidence: float) -> pd.DataFrame:
    """`compare_patterns.csv`: per model and pattern, how often it is reproduced, its
    likelihood ratio against the reference model, and (for patterns that do not
    condition) its share among the runs that reproduce the conditioning ones."""
    by_name = {m.name: m for m in models}
    chosen = references(models)
    rows: list[dict[str, Any]] = []
    for model in models:
        like = model.like_ours()
        reference = by_name.get(chosen.get(model.name, ""))
        for i, (pattern, use) in enumerate(zip(model.patterns, model.uses, strict=True)):
            hits = model.matches[i]
            x, n = int(hits.sum()), model.runs
            low, high = wilson(x, n, confidence)
            row: dict[str, Any] = {
                "model": model.name,
                "scenario": model.scenario,
                "variant": model.variant,
                "pattern": pattern,
                "use": use,
                "runs": n,
                "reproduced": x,
                "share": x / n if n else math.nan,
                "ci_low": low,
                "ci_high": high,
                "reference": reference.name if reference is not None else "",
                "like_ours": int(like.sum()),
                "confidence": confidence,
            }
            if reference is not None:
                j = reference.patterns.index(pattern)
                x2 = int(reference.matches[j].sum())
                ratio = koopman_interval(x, n, x2, reference.runs, confidence)
                row["likelihood_ratio"], row["lr_ci_low"], row["lr_ci_high"] = ratio
            if use != "condition" and like.any():
                inside = int(hits[like].sum())
                row["reproduced_like_ours"] = inside
                row["share_like_ours"] = inside / int(like.sum())
                row["like_ours_ci_low"], row["like_ours_ci_high"] = wilson(
                    inside, int(like.sum()), confidence
                )
            rows.append(row)
    table = pd.DataFrame(rows, columns=PATTERN_COLUMNS)
    table["reproduced_like_ours"] = table["reproduced_like_ours"].astype("Int64")
    return table


def pattern_key(definition: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    """A pattern's definition as a comparable key: every field but its words (description, source)."""
    return tuple(
        sorted(
            (str(k), repr(v)) for k, v in definition.items() if k not in ("description", "source")
        )
    )


def common_patterns(
    definitions: Sequence[Sequence[Mapping[str, Any]]],
) -> tuple[list[str], list[str]]:
    """The pattern ids every model defines the same way, and one reason per one left out.

    ``definitions`` holds each model's patterns (dicts with `id`), in order.
    A pattern is in common when every model has a pattern of that id with the
    same definition (metric, timing, resolved dates, comparison, use); the
    order is the first model's.
    """
    keyed = [{str(d["id"]): pattern_key(d) for d in patterns} for patterns in definitions]
    first = keyed[0] if keyed else {}
    common, left_out = [], []
    every = list(dict.fromkeys(i for k in keyed for i in k))
    for pattern in every:
        missing = [n for n, k in enumerate(keyed) if pattern not in k]
        if missing:
            left_out.append(f"{pattern} (not in every scenario)")
        elif any(k[pattern] != first[pattern] for k in keyed):
            left_out.append(f"{pattern} (defined differently)")
        else:
            common.append(pattern)
    return common, left_out

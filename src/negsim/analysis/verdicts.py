"""Hypothesis verdicts from paired replications.

Treatment and control share their random numbers replication by replication
(common random numbers), so the effect is estimated from paired differences
d_i = y_i(treatment) - y_i(control), which removes most of the noise two
independent ensembles would carry.

- effect: the mean of d;
- confidence interval: percentile bootstrap of the mean of d
  (``scipy.stats.bootstrap``; Efron & Tibshirani 1993);
- p-value: two-sided one-sample t-test of mean(d) = 0 (``scipy.stats.ttest_1samp``),
  reliable at the ensemble sizes negsim runs (hundreds and more);
- verdict: `supported` when the interval lies wholly on the expected side of
  zero, `contradicted` when wholly on the other side, `inconclusive` otherwise.

No verdict from too few pairs: below `MIN_PAIRED_RUNS` the verdict is
`inconclusive` whatever the interval says, with the reason in the sentence,
because a percentile bootstrap and a t-test on a handful of pairs claim a
confidence they do not have (Efron & Tibshirani 1993, ch. 13: the percentile
interval under-covers in small samples); from one pair there is no interval
at all. Below `ADVISED_PAIRED_RUNS` a verdict is given but `runs_warning`
says the interval is rough.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

MIN_PAIRED_RUNS = 30
"""Fewest paired runs a verdict rests on; fewer give `inconclusive`."""
ADVISED_PAIRED_RUNS = 100
"""Below this many paired runs an interval is too rough to mean much: a warning."""

# Outcomes that are 0/1 per run: their mean is a probability, effects are in points.
BINARY_METRICS = {
    "agreement": "agreement",
    "ceasefire": "a ceasefire",
    "fragmented": "fragmentation",
}


@dataclass(frozen=True)
class Verdict:
    """The comparison of one hypothesis."""

    effect: float
    ci_low: float
    ci_high: float
    p_value: float
    verdict: str
    runs: int
    treatment_mean: float
    control_mean: float
    reason: str = ""
    """Why the verdict is `inconclusive` regardless of the interval (too few pairs), or empty."""


def paired_verdict(
    treatment: np.ndarray,
    control: np.ndarray,
    expected: str,
    confidence: float = 0.95,
    resamples: int = 2000,
    seed: int = 0,
) -> Verdict:
    """Effect of treatment against control on paired replications, with its verdict.

    Pairs where either value is missing (e.g. no talks took place) are left out.
    """
    from scipy import stats

    if expected not in ("increase", "decrease"):
        raise ValueError(f"expected must be 'increase' or 'decrease' (got {expected!r})")
    treatment = np.asarray(treatment, dtype=float)
    control = np.asarray(control, dtype=float)
    keep = ~(np.isnan(treatment) | np.isnan(control))
    differences = treatment[keep] - control[keep]
    runs = int(differences.size)
    nan = float("nan")
    if runs == 0:
        return Verdict(nan, nan, nan, nan, "inconclusive", 0, nan, nan, too_few(0))
    effect = float(differences.mean())
    means = float(treatment[keep].mean()), float(control[keep].mean())
    if runs < 2:
        # One pair has no spread to estimate: no interval, no test.
        return Verdict(effect, nan, nan, nan, "inconclusive", runs, *means, too_few(runs))
    if np.ptp(differences) == 0:
        # No spread: the interval is the point itself, and the test is exact.
        low = high = effect
        p_value = 1.0 if effect == 0 else 0.0
    else:
        result = stats.bootstrap(
            (differences,),
            np.mean,
            confidence_level=confidence,
            n_resamples=resamples,
            method="percentile",
            batch=max(1, 2_000_000 // runs),  # bounds memory at ~16 MB per batch
            rng=np.random.default_rng(seed),
        )
        low, high = float(result.confidence_interval.low), float(result.confidence_interval.high)
        p_value = float(stats.ttest_1samp(differences, 0.0).pvalue)
    if low > 0:
        direction = "increase"
    elif high < 0:
        direction = "decrease"
    else:
        direction = None
    reason = too_few(runs) if runs < MIN_PAIRED_RUNS else ""
    if direction is None or reason:
        verdict = "inconclusive"
    else:
        verdict = "supported" if direction == expected else "contradicted"
    return Verdict(effect, low, high, p_value, verdict, runs, *means, reason)


def too_few(runs: int) -> str:
    """The reason a verdict on ``runs`` paired runs is withheld."""
    return (
        f"only {runs} paired run{'s' if runs != 1 else ''}, "
        f"fewer than the {MIN_PAIRED_RUNS} a verdict needs"
    )


def runs_warnings(paired: Sequence[tuple[str, int]]) -> list[str]:
    """Warnings for hypotheses resting on too few paired runs for their intervals to mean much.

    ``paired`` holds (hypothesis, paired runs) pairs; one line per distinct count.
    """
    by_count: dict[int, list[str]] = {}
    for name, runs in paired:
        if runs < ADVISED_PAIRED_RUNS:
            by_count.setdefault(runs, []).append(name)
    lines = []
    for runs, names in sorted(by_count.items()):
        if len(names) == len(paired) and len(names) > 1:
            subject = "every hypothesis rests"
        else:
            shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
            subject = f"{shown} {'rests' if len(names) == 1 else 'rest'}"
        if runs < MIN_PAIRED_RUNS:
            judged = f"too few for a verdict (at least {MIN_PAIRED_RUNS}): inconclusive"
        else:
            judged = "a verdict, but a rough interval"
        lines.append(
            f"{subject} on {runs} paired run{'s' if runs != 1 else ''}, {judged}; "
            f"run {ADVISED_PAIRED_RUNS} or more (--runs) for intervals that mean something"
        )
    return lines


def _seed_for(seed: int, name: str) -> int:
    digest = hashlib.sha256(f"{seed}:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "little")


def sentence(
    name: str,
    description: str | None,
    metric: str,
    treatment: str,
    control: str,
    verdict: Verdict,
    confidence: float,
) -> str:
    """One plain sentence for a verdict."""
    level = f"{confidence * 100:g} % CI"
    claim = " ".join((description or name.replace("_", " ")).split()).rstrip(".")
    if verdict.runs == 0:
        return f"{claim}: no paired runs with a value of {metric}; inconclusive."
    withheld = f"; {verdict.reason}" if verdict.reason else ""
    comparison = f"{treatment} vs {control}"
    if metric in BINARY_METRICS:
        scale, unit = 100.0, " points"
        subject = f"the chance of {BINARY_METRICS[metric]}"
    else:
        scale, unit = 1.0, ""
        subject = metric.replace("_", " ")
    effect, low, high = verdict.effect * scale, verdict.ci_low * scale, verdict.ci_high * scale
    if effect > 0:
        change = f"raises {subject} by {abs(effect):.3g}{unit}"
    elif effect < 0:
        change = f"lowers {subject} by {abs(effect):.3g}{unit}"
    else:
        change = f"leaves {subject} unchanged"
    if np.isnan(verdict.ci_low):
        interval = "no interval from one pair"
    else:
        interval = f"{level} {low:.3g} to {high:.3g}, p = {verdict.p_value:.2g}"
    return f"{claim} ({comparison}): {change} ({interval}){withheld}: {verdict.verdict}."


def hypothesis_table(
    runs: pd.DataFrame,
    hypotheses: dict[str, dict],
    confidence: float,
    resamples: int,
    seed: int,
) -> pd.DataFrame:
    """One row per hypothesis from a `runs.csv`-shaped frame.

    ``hypotheses`` maps a name to a mapping with ``metric``, ``treatment``,
    ``control``, ``expected`` and optionally ``description``. Hypotheses whose
    variants are not in ``runs`` are left out.
    """
    rows = []
    present = set(runs["variant"].unique()) if len(runs) else set()
    for name, spec in hypotheses.items():
        if spec["treatment"] not in present or spec["control"] not in present:
            continue
        metric = spec["metric"]
        treated = runs[runs["variant"] == spec["treatment"]].set_index("replication")[metric]
        controlled = runs[runs["variant"] == spec["control"]].set_index("replication")[metric]
        treated, controlled = treated.align(controlled, join="inner")
        verdict = paired_verdict(
            treated.to_numpy(dtype=float),
            controlled.to_numpy(dtype=float),
            spec["expected"],
            confidence,
            resamples,
            _seed_for(seed, name),
        )
        row = {
            "hypothesis": name,
            "metric": metric,
            "treatment": spec["treatment"],
            "control": spec["control"],
            "expected": spec["expected"],
        }
        values = asdict(verdict)
        row.update(
            treatment_mean=values["treatment_mean"],
            control_mean=values["control_mean"],
            effect=values["effect"],
            ci_low=values["ci_low"],
            ci_high=values["ci_high"],
            confidence=confidence,
            p_value=values["p_value"],
            verdict=values["verdict"],
            runs=values["runs"],
            sentence=sentence(
                name,
                spec.get("description"),
                metric,
                spec["treatment"],
                spec["control"],
                verdict,
                confidence,
            ),
        )
        rows.append(row)
    columns = [
        "hypothesis",
        "metric",
        "treatment",
        "control",
        "expected",
        "treatment_mean",
        "control_mean",
        "effect",
        "ci_low",
        "ci_high",
        "confidence",
        "p_value",
        "verdict",
        "runs",
        "sentence",
    ]
    return pd.DataFrame(rows, columns=columns)

"""Hypothesis verdicts from paired replications, decided against the smallest effect that matters.

Treatment and control share their random numbers replication by replication
(common random numbers), so the effect is estimated from paired differences
d_i = y_i(treatment) - y_i(control), which removes most of the noise two
independent ensembles would carry.

- effect: the mean of d;
- confidence interval: percentile bootstrap of the mean of d
  (``scipy.stats.bootstrap``; Efron & Tibshirani 1993);
- p-value: two-sided one-sample t-test of mean(d) = 0 (``scipy.stats.ttest_1samp``),
  reported for reference;
- verdict, against the smallest effect of interest ``bound`` (b > 0, in the
  metric's unit; defaults per kind of metric in `METRIC_KINDS`):
  `supported` when the interval lies wholly beyond b on the expected side,
  `contradicted` when wholly beyond b on the other side, `negligible` when
  wholly inside (-b, +b) (equivalence: Lakens 2017's TOST, Kruschke 2018's
  region of practical equivalence), `inconclusive` otherwise. With enough
  runs an interval shrinks onto the true effect, so a verdict depends on the
  effect and the bound, not on the run count (White et al. 2014 showed that
  a test against zero is decided by the run count alone);
- ``p_bound``: the p-value of the t-test behind the verdict's side: that the
  effect lies beyond b (one-sided, against the bound on the effect's side) or,
  for an effect inside the bound, the TOST p-value (the larger of the two
  one-sided tests);
- ``p_holm``: ``p_bound`` adjusted by Holm's step-down method across every
  row of a table (``statsmodels.stats.multitest.multipletests``; Holm 1979).
  A verdict whose ``p_holm`` is not below 1 - confidence is `inconclusive`,
  so the chance of any false verdict in a run stays below that level.

No verdict from too few pairs: below `MIN_PAIRED_RUNS` the verdict is
`inconclusive` whatever the interval says, with the reason in the sentence,
because a percentile bootstrap and a t-test on a handful of pairs claim a
confidence they do not have (Efron & Tibshirani 1993, ch. 13: the percentile
interval under-covers in small samples); from one pair there is no interval
at all. Below `ADVISED_PAIRED_RUNS` a verdict is given but `runs_warnings`
says the interval is rough.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from negsim.analysis.intervals import (
    censored_weeks,
    conditional_odds_ratio,
    confidence_sequence,
    paired_pn_ps,
    pn_ps_bounds,
    tango_interval,
    tango_p,
    tango_two_sided_p,
)
from negsim.analysis.patterns import determining_patterns

MIN_PAIRED_RUNS = 30
"""Fewest paired runs a verdict rests on; fewer give `inconclusive`."""
ADVISED_PAIRED_RUNS = 100
"""Below this many paired runs an interval is too rough to mean much: a warning."""
P_FLOOR = 1e-15
"""p-values below this are shown as `< 1e-15`: double precision cannot tell them from 0."""
SMALL_SHARE = 0.5
"""A metric defined in fewer than this share of the pairs compares selected worlds: a warning."""
UNEQUAL_SHARE = 0.1
"""A metric whose defined share differs by more than this between the two arms: a warning."""
VERDICTS = ("supported", "contradicted", "negligible", "inconclusive")


@dataclass(frozen=True)
class MetricKind:
    """How a kind of run outcome is shown and the smallest effect that matters by default."""

    name: str
    bound: float
    """Default smallest effect of interest, in the `runs.csv` unit."""
    scale: float
    """Factor from the `runs.csv` unit to the unit shown (100 for points)."""
    unit: str
    """Unit shown after a number (empty for shares of a scale)."""
    why: str
    low: float = 0.0
    """Smallest value a run can have (for `floor` and the interval of pairs that all agree)."""
    high: float = math.inf
    """Largest value a run can have (infinity: no upper limit)."""
    relative: float = math.nan
    """Default smallest relative effect (a paired odds ratio; NaN: no relative effect)."""


RELATIVE_BOUND = 1.68
"""Default smallest relative effect of a 0/1 outcome, as a paired odds ratio (or its inverse).

Chen, Cohen & Chen (2010, Communications in Statistics - Simulation and
Computation 39:860-864): at a base rate of 1 %, an odds ratio of 1.68 is the
equivalent of Cohen's "small" standardized difference (d = 0.2)."""

PROBABILITY = MetricKind(
    "probability",
    0.05,
    100.0,
    "points",
    "a 0/1 outcome: the mean is a probability, effects are in percentage points; "
    "a change of less than 5 points (1 world in 20) is below what an analyst would act on",
    high=1.0,
    relative=RELATIVE_BOUND,
)
SHARE = MetricKind(
    "share",
    0.05,
    1.0,
    "",
    "a position on the issue line or a share of territory (0 to 1): "
    "5 % of the scale, the width of the smallest move the record can tell apart",
    high=1.0,
)
GAP = MetricKind(
    "share",
    0.05,
    1.0,
    "",
    "a distance on the issue line that may be negative (demand minus offer, the width of "
    "the bargaining range: -1 to 1): 5 % of the scale, as for a share",
    low=-1.0,
    high=1.0,
)
VALUE = MetricKind(
    "share",
    0.05,
    1.0,
    "",
    "a realised value on the issue scale, net of the costs of war (at most 1, negative when "
    "war costs more than it wins): 5 % of the scale, as for a share",
    low=-math.inf,
    high=1.0,
)
COUNT = MetricKind(
    "count",
    0.25,
    1.0,
    "",
    "a count per run (walkouts, rejected deals, leaders): "
    "a quarter of an event per run on average, one more in every fourth world",
)
STAGE = MetricKind(
    "stage", 0.25, 1.0, "", "the stage reached (0-4): a quarter of a stage", high=4.0
)
WEEKS = MetricKind(
    "weeks", 2.0, 1.0, "weeks", "a number of weeks: two weeks, two of the model's weekly steps"
)
CAPABILITY = MetricKind(
    "capability", 0.05, 1.0, "", "capability units: 5 % of the reference force (1.0)"
)

METRIC_KINDS: dict[str, MetricKind] = {
    **dict.fromkeys(
        (
            "agreement",
            "agreement_held",
            "agreement_broke",
            "compromise",
            "talks_held",
            "framework",
            "ceasefire",
            "ceasefire_held",
            "fragmented",
        ),
        PROBABILITY,
    ),
    **dict.fromkeys(
        (
            "settlement",
            "opposition_cohesion_at_talks",
            "opposition_cohesion_mean_talks",
            "government_control_end",
            "opposition_control_end",
        ),
        SHARE,
    ),
    **dict.fromkeys(("gap_end", "bargaining_range_at_talks", "bargaining_range_mean_talks"), GAP),
    **dict.fromkeys(("value_government", "value_opposition"), VALUE),
    **dict.fromkeys(
        (
            "walkouts",
            "walkouts_government",
            "walkouts_opposition",
            "resumptions",
            "deals_rejected",
            "deals_voted_down",
            "leaders_removed",
        ),
        COUNT,
    ),
    "stage": STAGE,
    "agreement_week": WEEKS,
    "talks_weeks": WEEKS,
    "weeks_to_agreement": WEEKS,
    "government_losses": CAPABILITY,
    "opposition_losses": CAPABILITY,
}
"""The kind of every run outcome (`schema.RUN_METRICS`); a test checks none is missing."""

# Subjects of sentences for the 0/1 outcomes ("the chance of ...").
BINARY_SUBJECTS = {
    "agreement": "agreement",
    "agreement_held": "an agreement holding at the end",
    "agreement_broke": "an agreement breaking down",
    "compromise": "a compromise agreement",
    "talks_held": "talks being held",
    "framework": "a framework",
    "ceasefire": "a ceasefire agreed at the table",
    "ceasefire_held": "a ceasefire holding",
    "fragmented": "fragmentation",
}


def metric_kind(metric: str) -> MetricKind:
    """The kind of a run outcome (a share of a scale when negsim does not know it)."""
    return METRIC_KINDS.get(metric, SHARE)


def default_bound(metric: str) -> float:
    """The smallest effect that matters for ``metric`` when its hypothesis names none."""
    return metric_kind(metric).bound


DERIVED_METRICS = {"weeks_to_agreement": "agreement_week"}
"""Outcomes computed from a `runs.csv` column for the verdicts: name -> the column read."""

FLAGS = ("floor", "ceiling", "near_bound", "decided_by_record", "degenerate")
"""The flags a `hypotheses.csv` row may carry (docs/results.md)."""
NEAR_BOUND = 0.1
"""An end of the interval within this share of the bound from ±bound: `near_bound`."""


def source_column(metric: str) -> str:
    """The `runs.csv` column a hypothesis metric is computed from."""
    return DERIVED_METRICS.get(metric, metric)


@dataclass(frozen=True)
class Verdict:
    """The comparison of one hypothesis on one metric."""

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
    bound: float = 0.0
    """Smallest effect of interest the interval was judged against."""
    p_bound: float = float("nan")
    """p-value of the test behind the verdict's side (beyond the bound, or TOST inside it)."""
    runs_needed: float = float("nan")
    """Paired runs an undecided verdict would need (interval half-width shrinking as 1/sqrt(n)); NaN when decided."""
    pairs: int = 0
    """Paired replications available, before leaving out pairs with a missing value."""
    defined_treatment: float = float("nan")
    """Share of the treatment's runs where the metric has a value."""
    defined_control: float = float("nan")
    """Share of the control's runs where the metric has a value."""
    method: str = "bootstrap"
    """How the interval was made: `tango`, `bootstrap`, `range` (pairs that all agree) or `sequence`."""
    share_lower: float = float("nan")
    """Share of the pairs where the treatment's value is below the control's."""
    share_higher: float = float("nan")
    """Share of the pairs where the treatment's value is above the control's."""
    relative_effect: float = float("nan")
    """Paired odds ratio b / c of a 0/1 outcome (NaN for other kinds or without a discordant pair)."""
    relative_low: float = float("nan")
    relative_high: float = float("nan")
    relative_bound: float = float("nan")
    """Smallest relative effect that matters (an odds ratio above 1; NaN: none)."""
    relative_verdict: str = ""
    """The verdict of the relative interval against ``relative_bound`` (empty without one)."""
    flags: tuple[str, ...] = ()
    """Of `FLAGS`: what a reader must know before reading the verdict."""

    @property
    def half_width(self) -> float:
        """Half the width of the interval."""
        return (self.ci_high - self.ci_low) / 2


def _one_sided(differences: np.ndarray, value: float, alternative: str) -> float:
    from scipy import stats

    if np.ptp(differences) == 0:
        mean = float(differences[0])
        beyond = mean > value if alternative == "greater" else mean < value
        return 0.0 if beyond else 1.0
    return float(stats.ttest_1samp(differences, value, alternative=alternative).pvalue)


def _p_bound(differences: np.ndarray, effect: float, bound: float) -> float:
    if effect > bound:
        return _one_sided(differences, bound, "greater")
    if effect < -bound:
        return _one_sided(differences, -bound, "less")
    # Inside the bound: equivalence by two one-sided tests (Lakens 2017).
    return max(_one_sided(differences, -bound, "greater"), _one_sided(differences, bound, "less"))


def _tango_p_bound(b: int, c: int, n: int, effect: float, bound: float) -> float:
    """`_p_bound` with Tango's score test, the test behind the paired 0/1 interval."""
    if effect > bound:
        return tango_p(b, c, n, bound, "greater")
    if effect < -bound:
        return tango_p(b, c, n, -bound, "less")
    return max(tango_p(b, c, n, -bound, "greater"), tango_p(b, c, n, bound, "less"))


def _range_interval(
    effect: float, runs: int, spread: float, confidence: float, bound: float
) -> tuple[float, float, float]:
    """Interval and p_bound when every pair differs by the same amount ``effect``.

    At most a share u = 1 - (alpha/2)^(1/n) of all pairs could differ from
    it (the Clopper-Pearson upper limit for 0 events in n; Clopper & Pearson
    1934), each by at most the metric's ``spread`` either way, so the mean
    difference lies in [effect - u (effect + spread), effect + u (spread - effect)].
    p_bound: the exact binomial chance of no such pair in n if a share
    gap / spread of them sat at the far end (gap: from the effect to the
    nearer side of the bound).
    """
    alpha = 1 - confidence
    share = 1 - (alpha / 2) ** (1 / runs)
    low = effect - share * (effect + spread)
    high = effect + share * (spread - effect)
    gap = abs(abs(effect) - bound)
    p_bound = (1 - min(1.0, gap / spread)) ** runs
    return low, high, p_bound


def classify(low: float, high: float, bound: float, expected: str) -> str:
    """The verdict of an interval [low, high] against ±bound for the expected direction."""
    if low > bound:
        direction = "increase"
    elif high < -bound:
        direction = "decrease"
    elif bound > 0 and low > -bound and high < bound:
        return "negligible"
    else:
        return "inconclusive"
    return "supported" if direction == expected else "contradicted"


def classify_relative(low: float, high: float, bound: float, expected: str) -> str:
    """`classify` for an odds-ratio interval against [1/bound, bound] (on the log scale)."""
    if not (bound > 1) or np.isnan(low) or np.isnan(high):
        return ""
    log = math.log
    lo = log(low) if low > 0 else -math.inf
    hi = log(high) if high > 0 else -math.inf
    return classify(lo, hi, log(bound), expected)


def row_flags(
    low: float, high: float, bound: float, control_mean: float, kind: MetricKind | None
) -> tuple[str, ...]:
    """`floor`, `ceiling`, `near_bound` and `degenerate` for one interval.

    `floor`: the control's mean lies within the bound of the metric's
    smallest value, so no decrease can reach the bound (a rare outcome);
    `ceiling`: the same at the largest value; `near_bound`: an end of the
    interval lies within `NEAR_BOUND` of the bound from ±bound (a slightly
    different bound would change the verdict); `degenerate`: no interval, or
    one of zero width.
    """
    flags = []
    if kind is not None and bound > 0 and not np.isnan(control_mean):
        if control_mean - kind.low <= bound:
            flags.append("floor")
        if kind.high - control_mean <= bound:
            flags.append("ceiling")
    if bound > 0 and not (np.isnan(low) or np.isnan(high)):
        ends = (low, high)
        if any(abs(end - side) <= NEAR_BOUND * bound for end in ends for side in (bound, -bound)):
            flags.append("near_bound")
    if np.isnan(low) or np.isnan(high) or high - low <= 0:
        flags.append("degenerate")
    return tuple(flags)


def _is_binary(kind: MetricKind | None, treatment: np.ndarray, control: np.ndarray) -> bool:
    if kind is None or kind.name != "probability":
        return False
    values = np.concatenate((treatment, control))
    return bool(np.isin(values, (0.0, 1.0)).all())


def paired_verdict(
    treatment: np.ndarray,
    control: np.ndarray,
    expected: str,
    confidence: float = 0.95,
    resamples: int = 2000,
    seed: int = 0,
    bound: float = 0.0,
    kind: MetricKind | None = None,
    relative_bound: float = math.nan,
    sequence_confidence: float | None = None,
) -> Verdict:
    """Effect of treatment against control on paired replications, with its verdict against ``bound``.

    Pairs where either value is missing (e.g. no talks took place) are left out.
    ``bound`` 0 gives the rule of a test against zero (no `negligible`).
    Holm's adjustment is applied by `hypothesis_table`, across rows.

    ``kind`` chooses the interval: for a 0/1 outcome (kind `probability`)
    Tango's score interval and test (`intervals.tango_interval`) and the
    paired odds ratio with its exact interval; for pairs that all differ by
    the same amount, the interval over the metric's range (`_range_interval`)
    or, for a metric with no upper limit, none (`degenerate`, inconclusive);
    otherwise the percentile bootstrap. ``sequence_confidence`` replaces the
    interval by the confidence sequence at that level (`--runs auto`; the
    metric's range bounds the differences, or twice the largest difference
    seen for a metric with no upper limit).
    """
    from scipy import stats

    if expected not in ("increase", "decrease"):
        raise ValueError(f"expected must be 'increase' or 'decrease' (got {expected!r})")
    if not bound >= 0:
        raise ValueError(f"bound must be 0 or more (got {bound!r})")
    treatment = np.asarray(treatment, dtype=float)
    control = np.asarray(control, dtype=float)
    pairs = int(treatment.size)
    nan = float("nan")
    defined = (
        float(np.mean(~np.isnan(treatment))) if pairs else nan,
        float(np.mean(~np.isnan(control))) if pairs else nan,
    )
    keep = ~(np.isnan(treatment) | np.isnan(control))
    differences = treatment[keep] - control[keep]
    runs = int(differences.size)
    extra: dict[str, Any] = {
        "bound": bound,
        "pairs": pairs,
        "defined_treatment": defined[0],
        "defined_control": defined[1],
        "relative_bound": relative_bound,
    }
    if runs == 0:
        return Verdict(
            nan, nan, nan, nan, "inconclusive", 0, nan, nan, too_few(0),
            flags=("degenerate",), **extra,
        )  # fmt: skip
    effect = float(differences.mean())
    means = float(treatment[keep].mean()), float(control[keep].mean())
    extra["share_lower"] = float(np.mean(differences < 0))
    extra["share_higher"] = float(np.mean(differences > 0))
    if runs < 2:
        # One pair has no spread to estimate: no interval, no test.
        return Verdict(
            effect, nan, nan, nan, "inconclusive", runs, *means, too_few(runs),
            flags=("degenerate",), **extra,
        )  # fmt: skip
    reason = too_few(runs) if runs < MIN_PAIRED_RUNS else ""
    spread = (kind.high - kind.low) if kind is not None else math.inf
    if _is_binary(kind, treatment[keep], control[keep]):
        b, c = int((differences > 0).sum()), int((differences < 0).sum())
        low, high = tango_interval(b, c, runs, confidence)
        p_value = tango_two_sided_p(b, c, runs)
        p_bound = _tango_p_bound(b, c, runs, effect, bound)
        ratio, ratio_low, ratio_high = conditional_odds_ratio(b, c, confidence)
        extra.update(
            method="tango",
            relative_effect=ratio,
            relative_low=ratio_low,
            relative_high=ratio_high,
            relative_verdict=classify_relative(ratio_low, ratio_high, relative_bound, expected),
        )
    elif np.ptp(differences) == 0:
        p_value = 1.0 if effect == 0 else 0.0
        if math.isfinite(spread):
            low, high, p_bound = _range_interval(effect, runs, spread, confidence, bound)
            extra["method"] = "range"
        else:
            # No upper limit: pairs not seen could differ by any amount.
            low = high = effect
            p_bound = nan
            reason = reason or (
                "every pair differs by the same amount and the metric has no upper limit: "
                "no interval"
            )
            extra["method"] = "none"
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
        p_bound = _p_bound(differences, effect, bound)
    if sequence_confidence is not None:
        limit = spread if math.isfinite(spread) else 2 * float(np.abs(differences).max())
        if limit > 0:
            sequence = confidence_sequence(differences, -limit, limit, sequence_confidence)
            low, high = float(sequence.low[-1]), float(sequence.high[-1])
        extra["method"] = "sequence"
    verdict = classify(low, high, bound, expected)
    if reason:
        verdict = "inconclusive"
    needed = nan
    if verdict == "inconclusive":
        gap = abs(abs(effect) - bound)
        half = (high - low) / 2
        if gap > 0 and half > 0:
            needed = max(float(MIN_PAIRED_RUNS), math.ceil(runs * (half / gap) ** 2))
        elif reason:
            needed = float(MIN_PAIRED_RUNS)
        else:
            needed = math.inf  # the effect sits on the bound: no run count decides it
    return Verdict(
        effect,
        low,
        high,
        p_value,
        verdict,
        runs,
        *means,
        reason,
        p_bound=p_bound,
        runs_needed=needed,
        flags=row_flags(low, high, bound, means[1], kind),
        **extra,
    )


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
    for name, runs in dict.fromkeys(paired):
        if runs < ADVISED_PAIRED_RUNS:
            by_count.setdefault(runs, []).append(name)
    names_all = {name for name, _ in paired}
    lines = []
    for runs, names in sorted(by_count.items()):
        if len(set(names)) == len(names_all) and len(names_all) > 1:
            subject = "every hypothesis rests"
        else:
            unique = list(dict.fromkeys(names))
            shown = ", ".join(unique[:3]) + (
                f" and {len(unique) - 3} more" if len(unique) > 3 else ""
            )
            subject = f"{shown} {'rests' if len(unique) == 1 else 'rest'}"
        if runs < MIN_PAIRED_RUNS:
            judged = f"too few for a verdict (at least {MIN_PAIRED_RUNS}): inconclusive"
        else:
            judged = "a verdict, but a rough interval"
        lines.append(
            f"{subject} on {runs} paired run{'s' if runs != 1 else ''}, {judged}; "
            f"run {ADVISED_PAIRED_RUNS} or more (--runs) for intervals that mean something"
        )
    return lines


def selection_note(verdict: Verdict, treatment: str, control: str) -> str:
    """Why the pairs used are a selection of the worlds, or empty when they are all of them."""
    if verdict.pairs == 0 or verdict.runs == verdict.pairs:
        return ""
    share = verdict.runs / verdict.pairs
    text = (
        f"uses {verdict.runs} of {verdict.pairs} pairs ({share:.0%}), those where both "
        f"variants have a value (defined in {verdict.defined_treatment:.0%} of {treatment} "
        f"runs, {verdict.defined_control:.0%} of {control} runs)"
    )
    if share < SMALL_SHARE:
        text += "; a small share: the comparison is of selected worlds"
    elif abs(verdict.defined_treatment - verdict.defined_control) > UNEQUAL_SHARE:
        text += "; unequal shares: the variant changes which worlds are compared"
    return text


def selection_warnings(table: pd.DataFrame) -> list[str]:
    """Warnings for rows whose metric is defined in a small or unequal share of the pairs."""
    lines = []
    for row in table.itertuples():
        note = str(row.selection)
        if "; a small share" in note or "; unequal shares" in note:
            lines.append(f"{row.hypothesis} on {row.metric}: {note}")
    return lines


def _seed_for(seed: int, name: str) -> int:
    digest = hashlib.sha256(f"{seed}:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "little")


def format_p(p: float) -> str:
    """A p-value for people: two significant digits, never 0 (`< 1e-15` below `P_FLOOR`)."""
    if p is None or np.isnan(p):
        return "-"
    if p < P_FLOOR:
        return f"< {P_FLOOR:.0e}"
    return f"{p:.2g}"


def format_effect(value: float, metric: str, signed: bool = True) -> str:
    """A value in the metric's shown unit, e.g. `+2.1 points`, `-0.031`."""
    if value is None or np.isnan(value):
        return "-"
    kind = metric_kind(metric)
    shown = value * kind.scale
    text = f"{shown:+.3g}" if signed else f"{shown:.3g}"
    return f"{text} {kind.unit}" if kind.unit else text


def sentence(
    name: str,
    description: str | None,
    metric: str,
    treatment: str,
    control: str,
    verdict: Verdict,
    confidence: float,
    held_back: str = "",
    selection: str = "",
    subset: str = "",
) -> str:
    """One plain sentence for a verdict.

    ``held_back`` says why an interval-decided verdict became `inconclusive`
    (Holm); ``selection`` is the `selection_note`; ``subset`` names the
    worlds compared when they are not all of them (e.g. "in the worlds like ours").
    """
    level = f"{confidence * 100:g} % CI"
    claim = " ".join((description or name.replace("_", " ")).split()).rstrip(".")
    where = f", {subset}" if subset else ""
    if verdict.runs == 0:
        return f"{claim}{where}: no paired runs with a value of {metric}; inconclusive."
    comparison = f"{treatment} vs {control}"
    kind = metric_kind(metric)
    unit = f" {kind.unit}" if kind.unit else ""
    if metric in BINARY_SUBJECTS:
        subject = f"the chance of {BINARY_SUBJECTS[metric]}"
    else:
        subject = metric.replace("_", " ")
    scale = kind.scale
    effect, low, high = verdict.effect * scale, verdict.ci_low * scale, verdict.ci_high * scale
    bound = f"{verdict.bound * scale:.3g}{unit}"
    if effect > 0:
        change = f"raises {subject} by {abs(effect):.3g}{unit}"
    elif effect < 0:
        change = f"lowers {subject} by {abs(effect):.3g}{unit}"
    else:
        change = f"leaves {subject} unchanged"
    if np.isnan(verdict.ci_low):
        interval = "no interval from one pair"
    else:
        interval = f"{level} {low:.3g} to {high:.3g}, p {_p_words(verdict.p_value)}"
    if verdict.reason:
        why = verdict.reason
    elif held_back:
        why = held_back
    elif verdict.verdict == "supported":
        why = f"the whole interval lies beyond the smallest effect that matters ({bound}) on the predicted side"
    elif verdict.verdict == "contradicted":
        why = f"the whole interval lies beyond the smallest effect that matters ({bound}) against the prediction"
    elif verdict.verdict == "negligible":
        why = f"the whole interval lies inside ±{bound}, too small to matter"
    elif verdict.bound == 0:
        why = "the interval includes 0"
    else:
        why = f"the interval crosses ±{bound}, the smallest effect that matters"
        if math.isinf(verdict.runs_needed):
            why += "; the effect sits on the bound, no run count decides it"
        elif not np.isnan(verdict.runs_needed):
            why += f"; about {_round_up(verdict.runs_needed):,} paired runs would decide it"
    if verdict.method == "range":
        interval += "; every pair differs by the same amount, so the interval is what the unseen pairs could do within the metric's range"
    note = f"; {selection}" if selection else ""
    relative = ""
    if verdict.relative_verdict and {"floor", "ceiling"} & set(verdict.flags):
        ratio = (
            "no pair differs, so no paired odds ratio"
            if np.isnan(verdict.relative_effect)
            else f"paired odds ratio {verdict.relative_effect:.3g}"
        )
        # A rare (or near-certain) outcome: the absolute bound cannot be reached one way.
        relative = (
            f" In relative terms (the base rate puts the bound out of reach one way): "
            f"{ratio} ({level} {verdict.relative_low:.3g} to "
            f"{verdict.relative_high:.3g}, against {verdict.relative_bound:.3g}): "
            f"{verdict.relative_verdict}."
        )
    return (
        f"{claim} ({comparison}{where}): {change} ({interval}){note}; {why}: {verdict.verdict}."
        f"{relative}"
    )


def _p_words(p: float) -> str:
    text = format_p(p)
    return text if text.startswith("<") else f"= {text}"


def _round_up(runs: float) -> int:
    """A run count rounded up to two significant digits (an estimate, not a promise)."""
    if runs <= 100:
        return int(math.ceil(runs))
    magnitude = 10 ** (int(math.log10(runs)) - 1)
    return int(math.ceil(runs / magnitude) * magnitude)


def hypothesis_metrics(spec: Mapping[str, Any]) -> list[str]:
    """The metrics a hypothesis names: ``metrics`` (a list), or its one ``metric``."""
    metrics = spec.get("metrics") or []
    single = spec.get("metric")
    if isinstance(single, str):
        metrics = [single, *[m for m in metrics if m != single]]
    return list(dict.fromkeys(metrics))


@dataclass(frozen=True)
class SmallestEffect:
    """The smallest effect that matters for one hypothesis metric, and why."""

    value: float
    why: str
    relative: float
    """Smallest relative effect (paired odds ratio above 1; NaN: none)."""


def smallest_effect(spec: Mapping[str, Any], metric: str) -> SmallestEffect:
    """A hypothesis' smallest effect on one metric: its own (`smallest_effect`), or its kind's default.

    The scenario may give one number, one per metric, or a mapping with
    `value`, `why` and optionally `relative` (the smallest paired odds
    ratio), for every metric or per metric.
    """
    kind = metric_kind(metric)
    given = spec.get("smallest_effect")
    if isinstance(given, Mapping) and "value" not in given:
        given = given.get(metric)
    if given is None:
        return SmallestEffect(kind.bound, f"default for a {kind.name}: {kind.why}", kind.relative)
    if isinstance(given, Mapping):
        relative = given.get("relative")
        return SmallestEffect(
            float(given["value"]),
            str(given.get("why") or "declared in the scenario"),
            kind.relative if relative is None else float(relative),
        )
    return SmallestEffect(float(given), "declared in the scenario", kind.relative)


def hypothesis_bound(spec: Mapping[str, Any], metric: str) -> float:
    """The smallest effect of interest of a hypothesis on one metric (its own, or the default)."""
    return smallest_effect(spec, metric).value


def holm(p_values: Sequence[float], alpha: float) -> np.ndarray:
    """Holm-adjusted p-values (statsmodels' `multipletests`); NaN stays NaN and out of the family."""
    from statsmodels.stats.multitest import multipletests

    values = np.asarray(p_values, dtype=float)
    adjusted = np.full(values.shape, np.nan)
    finite = ~np.isnan(values)
    if finite.any():
        adjusted[finite] = multipletests(values[finite], alpha=alpha, method="holm")[1]
    return adjusted


COLUMNS = [
    "hypothesis",
    "metric",
    "unit",
    "treatment",
    "control",
    "expected",
    "smallest_effect",
    "treatment_mean",
    "control_mean",
    "effect",
    "ci_low",
    "ci_high",
    "confidence",
    "p_value",
    "p_bound",
    "p_holm",
    "verdict",
    "runs",
    "pairs",
    "runs_needed",
    "selection",
    "sentence",
    "smallest_effect_why",
    "interval",
    "share_lower",
    "share_higher",
    "relative_effect",
    "relative_ci_low",
    "relative_ci_high",
    "relative_bound",
    "relative_verdict",
    "flags",
]
RECORD_COLUMNS = [
    "record_runs",
    "record_treatment_mean",
    "record_control_mean",
    "record_effect",
    "record_ci_low",
    "record_ci_high",
    "record_p_bound",
    "record_p_holm",
    "record_verdict",
    "record_sentence",
    "record_flags",
    "record_pn",
    "record_pn_low",
    "record_pn_high",
    "record_ps",
    "record_ps_low",
    "record_ps_high",
    "record_pns",
    "record_pns_low",
    "record_pns_high",
]
RECORD_SUBSET = "in the worlds that match the record"
_TEXT_COLUMNS = (
    "verdict",
    "sentence",
    "flags",
    "selection",
    "smallest_effect_why",
    "interval",
    "relative_verdict",
)


def _tasks(
    runs: pd.DataFrame, hypotheses: Mapping[str, Mapping[str, Any]]
) -> list[tuple[str, str, Mapping[str, Any]]]:
    """(hypothesis, metric, spec) of every row, in order; hypotheses whose variants ran only."""
    present = set(runs["variant"].unique()) if len(runs) else set()
    return [
        (name, metric, spec)
        for name, spec in hypotheses.items()
        if spec["treatment"] in present and spec["control"] in present
        for metric in hypothesis_metrics(spec)
    ]


def _judge(
    runs: pd.DataFrame,
    hypotheses: Mapping[str, Mapping[str, Any]],
    confidence: float,
    resamples: int,
    seed: int,
    keep: pd.Series | None,
    horizon: float | None = None,
    sequential: bool = False,
) -> list[tuple[str, str, Mapping[str, Any], Verdict, tuple[np.ndarray, np.ndarray]]]:
    judged = []
    # One variant's rows are picked per column, not copied as a table per
    # hypothesis: at a million runs a copy of every column costs hundreds of MB.
    rows: dict[str, tuple[np.ndarray, pd.Index]] = {}

    def column(variant: str, metric: str) -> pd.Series:
        if variant not in rows:
            mask = (runs["variant"] == variant).to_numpy()
            rows[variant] = (mask, pd.Index(runs["replication"].to_numpy()[mask]))
        mask, index = rows[variant]
        values = runs[source_column(metric)].to_numpy()[mask]
        if metric == "weeks_to_agreement":
            if horizon is None:
                raise ValueError("weeks_to_agreement needs the horizon (the scenario's weeks)")
            values = censored_weeks(values, horizon)
        return pd.Series(values, index=index, name=metric)

    tasks = _tasks(runs, hypotheses)
    # --runs auto: each row's sequence at alpha / rows (Bonferroni), valid at every look.
    level = 1 - (1 - confidence) / max(len(tasks), 1) if sequential else None
    for name, metric, spec in tasks:
        treated, controlled = column(spec["treatment"], metric).align(
            column(spec["control"], metric), join="inner"
        )
        if keep is not None:
            chosen = keep.reindex(treated.index).fillna(False).astype(bool).to_numpy()
            treated, controlled = treated[chosen], controlled[chosen]
        smallest = smallest_effect(spec, metric)
        pair = (treated.to_numpy(dtype=float), controlled.to_numpy(dtype=float))
        verdict = paired_verdict(
            *pair,
            spec["expected"],
            confidence,
            resamples,
            _seed_for(seed, name if metric == hypothesis_metrics(spec)[0] else f"{name}:{metric}"),
            smallest.value,
            metric_kind(metric),
            smallest.relative,
            level,
        )
        judged.append((name, metric, spec, verdict, pair))
    return judged


def _adjusted(
    judged: Sequence[tuple[Any, ...]], confidence: float, sequential: bool = False
) -> list[tuple[float, str, str, Verdict]]:
    """Per row: Holm-adjusted p, the final verdict, why Holm held it back (or empty), and the verdict.

    A verdict Holm held back gets the paired runs that would decide it (its
    `runs_needed`), as an undecided interval does. With ``sequential`` the
    verdicts come from confidence sequences already at alpha / rows
    (Bonferroni), so Holm holds nothing back; `p_holm` is shown for reference.
    """
    alpha = 1 - confidence
    # The family is every row with a test, decided or not: leaving out the
    # undecided ones would choose the family after seeing the data, and
    # Holm's multipliers would be too small.
    p_bounds = [row[3].p_bound for row in judged]
    adjusted = holm(p_bounds, alpha)
    family = int(np.isfinite(np.asarray(p_bounds, dtype=float)).sum())
    result = []
    for p, row in zip(adjusted, judged, strict=True):
        verdict = row[3]
        final, held = verdict.verdict, ""
        if not sequential and final != "inconclusive" and not p < alpha:
            final = "inconclusive"
            needed = _holm_needed(verdict, family, alpha)
            verdict = _replace(verdict, verdict.verdict, runs_needed=needed)
            held = (
                f"it would be {verdict.verdict}, but not after Holm's adjustment across the "
                f"{family} tests of this run (p = {format_p(float(p))}); about "
                f"{_round_up(verdict.runs_needed):,} paired runs would decide it"
            )
        result.append((float(p), final, held, verdict))
    return result


def _holm_needed(verdict: Verdict, family: int, alpha: float) -> float:
    """Paired runs for a decided interval to pass Holm too (an estimate).

    The interval's half-width scaled to Holm's strictest level (Bonferroni's
    alpha / family, one-sided) must fit in the gap between the effect and the
    bound; the half-width shrinks as 1/sqrt(n).
    """
    from scipy import stats

    gap = abs(abs(verdict.effect) - verdict.bound)
    level = stats.norm.ppf(1 - alpha / 2)
    strict = stats.norm.ppf(1 - alpha / max(family, 1))
    scaled = verdict.half_width * strict / level
    return float(max(verdict.runs + 1, math.ceil(verdict.runs * (scaled / gap) ** 2)))


def hypothesis_table(
    runs: pd.DataFrame,
    hypotheses: Mapping[str, Mapping[str, Any]],
    confidence: float,
    resamples: int,
    seed: int,
    record: pd.Series | None = None,
    horizon: float | None = None,
    sequential: bool = False,
    conditioned: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """One row per hypothesis and metric from a `runs.csv`-shaped frame.

    ``hypotheses`` maps a name to a mapping with ``metric`` (one name) or
    ``metrics`` (a list), ``treatment``, ``control``, ``expected`` and
    optionally ``description`` and ``smallest_effect`` (see `smallest_effect`;
    defaults by `METRIC_KINDS`). Hypotheses whose variants are not in
    ``runs`` are left out. Holm's adjustment runs across every row.
    ``horizon`` (the scenario's weeks) censors `weeks_to_agreement`;
    ``sequential`` judges on confidence sequences (`--runs auto`).

    ``record`` (replication -> bool: the base run of that replication matches
    the scenario's conditioning patterns) adds the `record_*` columns: every
    verdict again, on those replications only, with its own Holm family, and
    for 0/1 outcomes the paired probabilities of necessity and sufficiency
    beside Tian & Pearl's bounds that hold under any pairing. Without it they
    are empty. ``conditioned`` (pattern id -> its per-week metric) names the
    patterns conditioned on; a row whose metric one of them determines is
    flagged `decided_by_record`.
    """
    judged = _judge(runs, hypotheses, confidence, resamples, seed, None, horizon, sequential)
    finals = _adjusted(judged, confidence, sequential)
    rows = []
    deciding: list[list[str]] = []
    for (name, metric, spec, *_), (p_holm, final, held, verdict) in zip(
        judged, finals, strict=True
    ):
        shown = _replace(verdict, final)
        selection = selection_note(verdict, spec["treatment"], spec["control"])
        kind = metric_kind(metric)
        decided = determining_patterns(metric, conditioned) if record is not None else []
        deciding.append(decided)
        flags = list(verdict.flags) + (["decided_by_record"] if decided else [])
        rows.append(
            {
                "hypothesis": name,
                "metric": metric,
                "unit": kind.unit or kind.name,
                "treatment": spec["treatment"],
                "control": spec["control"],
                "expected": spec["expected"],
                "smallest_effect": verdict.bound,
                "treatment_mean": verdict.treatment_mean,
                "control_mean": verdict.control_mean,
                "effect": verdict.effect,
                "ci_low": verdict.ci_low,
                "ci_high": verdict.ci_high,
                "confidence": confidence,
                "p_value": verdict.p_value,
                "p_bound": verdict.p_bound,
                "p_holm": p_holm,
                "verdict": final,
                "runs": verdict.runs,
                "pairs": verdict.pairs,
                "runs_needed": _needed(verdict, final),
                "selection": selection,
                "sentence": _row_sentence(name, metric, spec, shown, confidence, held, selection),
                "smallest_effect_why": smallest_effect(spec, metric).why,
                "interval": verdict.method,
                "share_lower": verdict.share_lower,
                "share_higher": verdict.share_higher,
                "relative_effect": verdict.relative_effect,
                "relative_ci_low": verdict.relative_low,
                "relative_ci_high": verdict.relative_high,
                "relative_bound": verdict.relative_bound,
                "relative_verdict": verdict.relative_verdict,
                "flags": ";".join(flags),
            }
        )
    table = pd.DataFrame(rows, columns=COLUMNS)
    for column in RECORD_COLUMNS:
        table[column] = pd.Series(dtype=object if column.endswith(_TEXT_COLUMNS) else float)
    if record is None or table.empty:
        return table
    matched = record[record.astype(bool)]
    given = _judge(runs, hypotheses, confidence, resamples, seed, record, horizon, sequential)
    record_finals = _adjusted(given, confidence, sequential)
    record_rows = []
    for (name, metric, spec, _, pair), (p_holm, final, held, verdict), decided in zip(
        given, record_finals, deciding, strict=True
    ):
        shown = _replace(verdict, final)
        flags = list(verdict.flags)
        note = selection_note(verdict, spec["treatment"], spec["control"])
        if decided:
            flags.append("decided_by_record")
            note = "; ".join(
                filter(
                    None,
                    (
                        note,
                        f"the record's pattern{'s' if len(decided) > 1 else ''} "
                        f"{', '.join(decided)} determine{'' if len(decided) > 1 else 's'} "
                        f"{metric}: decided by the record, not by the variants",
                    ),
                )
            )
        values: list[Any] = [
            verdict.runs,
            verdict.treatment_mean,
            verdict.control_mean,
            verdict.effect,
            verdict.ci_low,
            verdict.ci_high,
            verdict.p_bound,
            p_holm,
            final,
            _row_sentence(
                name,
                metric,
                spec,
                shown,
                confidence,
                held,
                note,
                f"{RECORD_SUBSET} ({len(matched)} base runs)",
            ),
            ";".join(flags),
            *_necessity(metric, spec, pair),
        ]
        record_rows.append(dict(zip(RECORD_COLUMNS, values, strict=True)))
    record_frame = pd.DataFrame(record_rows, columns=RECORD_COLUMNS, index=table.index)
    table = pd.concat([table.drop(columns=RECORD_COLUMNS), record_frame], axis=1)
    table["flags"] = [
        ";".join(
            dict.fromkeys(f for f in (*a.split(";"), *(["decided_by_record"] if d else [])) if f)
        )
        for a, d in zip(table["flags"], deciding, strict=True)
    ]
    return table


def _necessity(
    metric: str, spec: Mapping[str, Any], pair: tuple[np.ndarray, np.ndarray]
) -> list[float]:
    """PN, PS, PNS as paired (common random numbers) with Tian & Pearl's bounds under any pairing.

    The cause is the arm the hypothesis predicts raises the 0/1 outcome (the
    treatment for `increase`, the control for `decrease`). NaN for other kinds.
    """
    nan = float("nan")
    treated, controlled = pair
    keep = ~(np.isnan(treated) | np.isnan(controlled))
    treated, controlled = treated[keep], controlled[keep]
    if (
        metric_kind(metric).name != "probability"
        or treated.size == 0
        or not np.isin(np.concatenate((treated, controlled)), (0.0, 1.0)).all()
    ):
        return [nan] * 9
    cause, without = (
        (treated, controlled) if spec["expected"] == "increase" else (controlled, treated)
    )
    paired = paired_pn_ps(cause == 1, without == 1)
    bounds = pn_ps_bounds(float(cause.mean()), float(without.mean()))
    return [
        paired["pn"],
        bounds["pn_low"],
        bounds["pn_high"],
        paired["ps"],
        bounds["ps_low"],
        bounds["ps_high"],
        paired["pns"],
        bounds["pns_low"],
        bounds["pns_high"],
    ]


def _replace(verdict: Verdict, final: str, **changes: Any) -> Verdict:
    from dataclasses import replace

    return replace(verdict, verdict=final, **changes)


def _needed(verdict: Verdict, final: str) -> float:
    """Replications (not pairs) an undecided verdict would need; NaN once decided."""
    if final != "inconclusive" or np.isnan(verdict.runs_needed):
        return float("nan")
    share = verdict.runs / verdict.pairs if verdict.pairs else 1.0
    if math.isinf(verdict.runs_needed) or share == 0:
        return math.inf
    return float(math.ceil(verdict.runs_needed / share))


def _row_sentence(
    name: str,
    metric: str,
    spec: Mapping[str, Any],
    verdict: Verdict,
    confidence: float,
    held: str,
    selection: str,
    subset: str = "",
) -> str:
    """`sentence` for one row of the table, its claim and variants taken from the hypothesis."""
    return sentence(
        name,
        spec.get("description"),
        metric,
        spec["treatment"],
        spec["control"],
        verdict,
        confidence,
        held,
        selection,
        subset,
    )

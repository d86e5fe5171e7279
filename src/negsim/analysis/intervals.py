"""Intervals that do not overclaim: paired yes/no outcomes, relative effects, sequential looks.

- `tango_interval`: the score interval for the difference of two paired
  proportions (Tango 1998, Statistics in Medicine 17:891-908; recommended by
  Fagerland, Lydersen & Laake 2014, Statistics in Medicine 33:2850-2875). It
  rests on the discordant pairs and the pair count, so with no discordant pair
  among n it stays about [-3.8/n, 3.8/n] wide instead of collapsing to [0, 0]
  as a bootstrap or Wald interval does.
- `conditional_odds_ratio`: the paired (conditional) odds ratio b/c with the
  exact interval from the Clopper-Pearson interval of b/(b+c) (Breslow & Day
  1980, §7.2; Fagerland et al. 2014's "transformed Clopper-Pearson"): the
  relative effect of a rare outcome, which an absolute bound cannot see.
- `confidence_sequence`: intervals for the mean of bounded paired differences
  valid at every look at once (Waudby-Smith & Ramdas 2023, JRSS B 86:1-27,
  the predictable plug-in empirical-Bernstein sequence, their Theorem 2 and
  eq. 13), so `--runs auto` may stop at the first decided look and keep its
  error rate (Howard et al. 2021, Annals of Statistics 49:1055-1080).
- `pn_ps_bounds`: the bounds on the probabilities of necessity and
  sufficiency that hold under any pairing of the two arms' worlds
  (Tian & Pearl 2000, Annals of Mathematics and Artificial Intelligence
  28:287-313, Theorem 2, exogenous treatment), beside the estimates under
  the pairing negsim uses (common random numbers).
- `censored_weeks`: time to first agreement censored at the horizon, whose
  mean is the restricted mean time (Royston & Parmar 2013, BMC Medical
  Research Methodology 13:152).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


def _z(confidence: float) -> float:
    from scipy import stats

    return float(stats.norm.ppf(1 - (1 - confidence) / 2))


def tango_statistic(b: int, c: int, n: int, delta: float) -> float:
    """Tango's score statistic for H0: p(treatment) - p(control) = ``delta``.

    ``b``: pairs where the treatment has the outcome and the control not
    (cell n12), ``c``: the other way round (n21), ``n``: all pairs. The
    variance is taken at the restricted maximum-likelihood estimate of the
    n21 cell probability under ``delta`` (Tango 1998, eq. 3-5).
    """
    if n <= 0:
        return float("nan")
    a_coef = 2.0 * n
    b_coef = -b - c + (2.0 * n - b + c) * delta
    c_coef = -c * delta * (1.0 - delta)
    root = math.sqrt(max(b_coef * b_coef - 4.0 * a_coef * c_coef, 0.0))
    p21 = (root - b_coef) / (2.0 * a_coef)
    variance = n * (2.0 * p21 + delta * (1.0 - delta))
    numerator = b - c - n * delta
    if variance <= 0.0:
        if numerator == 0:
            return 0.0
        return math.copysign(math.inf, numerator)
    return numerator / math.sqrt(variance)


def tango_interval(b: int, c: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Tango's (1998) score interval for the paired difference (b - c) / n.

    The set of differences the score test does not reject at 1 - confidence,
    found by root finding on each side of the estimate (the statistic falls
    as the difference rises). Docked against Fagerland et al. (2014)'s
    worked example (Cavo et al. 2012: b = 6, c = 16, n = 161 gives
    -0.1240 to -0.0054) in tests/analysis/test_intervals.py.
    """
    from scipy.optimize import brentq

    if n <= 0:
        return float("nan"), float("nan")
    z = _z(confidence)
    estimate = (b - c) / n
    tiny = 1e-12

    def lower(delta: float) -> float:
        return tango_statistic(b, c, n, delta) - z

    def upper(delta: float) -> float:
        return tango_statistic(b, c, n, delta) + z

    low = -1.0 if lower(-1.0 + tiny) <= 0 else brentq(lower, -1.0 + tiny, estimate, xtol=1e-12)
    high = 1.0 if upper(1.0 - tiny) >= 0 else brentq(upper, estimate, 1.0 - tiny, xtol=1e-12)
    return float(low), float(high)


def tango_p(b: int, c: int, n: int, delta: float, alternative: str) -> float:
    """One-sided p-value of Tango's score test against ``delta`` ("greater" or "less")."""
    from scipy import stats

    statistic = tango_statistic(b, c, n, delta)
    if math.isnan(statistic):
        return float("nan")
    if alternative == "greater":
        return float(stats.norm.sf(statistic))
    return float(stats.norm.cdf(statistic))


def tango_two_sided_p(b: int, c: int, n: int) -> float:
    """Two-sided p-value of Tango's test of no difference (McNemar's test without correction)."""
    if b + c == 0:
        return 1.0
    return min(1.0, 2.0 * min(tango_p(b, c, n, 0.0, "greater"), tango_p(b, c, n, 0.0, "less")))


def conditional_odds_ratio(b: int, c: int, confidence: float = 0.95) -> tuple[float, float, float]:
    """The paired odds ratio b / c with its exact interval (NaN, 0, inf with no discordant pair).

    Given b + c discordant pairs, b is binomial with p = psi / (1 + psi); the
    Clopper-Pearson interval for p, mapped through p / (1 - p), is an exact
    interval for psi (Breslow & Day 1980, §7.2).
    """
    from scipy import stats

    m = b + c
    if m == 0:
        return float("nan"), 0.0, math.inf
    alpha = 1 - confidence
    p_low = float(stats.beta.ppf(alpha / 2, b, c + 1)) if b > 0 else 0.0
    p_high = float(stats.beta.ppf(1 - alpha / 2, b + 1, c)) if c > 0 else 1.0
    ratio = b / c if c > 0 else math.inf
    low = p_low / (1 - p_low) if p_low < 1 else math.inf
    high = p_high / (1 - p_high) if p_high < 1 else math.inf
    return float(ratio), float(low), float(high)


@dataclass(frozen=True)
class AnytimeIntervals:
    """Per look t (1-based): the running interval of a confidence sequence."""

    low: np.ndarray
    high: np.ndarray


def confidence_sequence(
    values: np.ndarray, low: float, high: float, confidence: float = 0.95, cap: float = 0.5
) -> AnytimeIntervals:
    """Anytime-valid intervals for the mean of ``values`` in [low, high], one per prefix.

    Waudby-Smith & Ramdas (2023), Theorem 2 (predictable plug-in
    empirical-Bernstein, PrPl-EB), on x = (value - low) / (high - low) in
    [0, 1]: with mu_t and sigma2_t the running mean and variance (started at
    1/2 and 1/4), lambda_t = min(sqrt(2 log(2/alpha) / (sigma2_{t-1} t
    log(1 + t))), ``cap``), psi(l) = (-log(1 - l) - l) / 4 and
    v_i = 4 (x_i - mu_{i-1})^2, the interval at t is
    sum(lambda_i x_i) / sum(lambda_i) ± (log(2/alpha) + sum(v_i psi(lambda_i))) / sum(lambda_i).
    The chance that any of the intervals misses the mean is at most
    1 - ``confidence``, however many looks are taken (Ville's inequality).
    """
    values = np.asarray(values, dtype=float)
    width = high - low
    if not width > 0:
        raise ValueError(f"need high > low (got [{low}, {high}])")
    # Along the last axis: several sequences at once (rows of a 2-D array) in one pass.
    x = np.clip((values - low) / width, 0.0, 1.0)
    t = np.arange(1, x.shape[-1] + 1, dtype=float)
    alpha = 1 - confidence
    log_term = math.log(2 / alpha)
    mean_t = (0.5 + np.cumsum(x, axis=-1)) / (t + 1)
    start = np.full(x.shape[:-1] + (1,), 0.5)
    mean_before = np.concatenate((start, mean_t[..., :-1]), axis=-1)
    var_t = (0.25 + np.cumsum((x - mean_t) ** 2, axis=-1)) / (t + 1)
    var_before = np.concatenate((start / 2, var_t[..., :-1]), axis=-1)
    lam = np.minimum(np.sqrt(2 * log_term / (var_before * t * np.log1p(t))), cap)
    psi = (-np.log1p(-lam) - lam) / 4
    v = 4 * (x - mean_before) ** 2
    sum_lam = np.cumsum(lam, axis=-1)
    centre = np.cumsum(lam * x, axis=-1) / sum_lam
    margin = (log_term + np.cumsum(v * psi, axis=-1)) / sum_lam
    lo = np.maximum(centre - margin, 0.0) * width + low
    hi = np.minimum(centre + margin, 1.0) * width + low
    return AnytimeIntervals(lo, hi)


def pn_ps_bounds(p_x: float, p_not_x: float) -> dict[str, float]:
    """Tian & Pearl (2000, Theorem 2)'s bounds from P(y | do(x)) and P(y | do(x')) alone.

    With the cause assigned (exogenous, as in a simulation's variants):
    max(0, p_x - p_x') <= PNS <= min(p_x, 1 - p_x');
    max(0, (p_x - p_x') / p_x) <= PN <= min(1, (1 - p_x') / p_x);
    max(0, (p_x - p_x') / (1 - p_x')) <= PS <= min(1, p_x / (1 - p_x')).
    They hold under any pairing of the worlds with and without the cause.
    PN is NaN when p_x = 0, PS when p_x' = 1.
    """
    nan = float("nan")
    gain = p_x - p_not_x
    bounds = {
        "pns_low": max(0.0, gain),
        "pns_high": min(p_x, 1 - p_not_x),
        "pn_low": nan,
        "pn_high": nan,
        "ps_low": nan,
        "ps_high": nan,
    }
    if p_x > 0:
        bounds["pn_low"] = max(0.0, gain / p_x)
        bounds["pn_high"] = min(1.0, (1 - p_not_x) / p_x)
    if p_not_x < 1:
        bounds["ps_low"] = max(0.0, gain / (1 - p_not_x))
        bounds["ps_high"] = min(1.0, p_x / (1 - p_not_x))
    return bounds


def paired_pn_ps(with_cause: np.ndarray, without_cause: np.ndarray) -> dict[str, float]:
    """PN, PS and PNS estimated from paired 0/1 outcomes (the pairing as simulated).

    PN = P(no y without the cause | y with it), PS = P(y with the cause | no y
    without it), PNS = P(y with it and no y without it) (Pearl 2009, §9.2).
    """
    x = np.asarray(with_cause, dtype=bool)
    x0 = np.asarray(without_cause, dtype=bool)
    both = x & ~x0
    nan = float("nan")
    return {
        "pns": float(both.mean()) if x.size else nan,
        "pn": float(both.sum() / x.sum()) if x.sum() else nan,
        "ps": float(both.sum() / (~x0).sum()) if (~x0).sum() else nan,
    }


def censored_weeks(first_week: np.ndarray, horizon: float) -> np.ndarray:
    """Weeks to the first agreement, a run without one counted at the horizon (censored).

    The mean of these is the restricted mean time to agreement up to the
    horizon (RMST; Royston & Parmar 2013): with every run followed to the
    same horizon there is no other censoring, so it needs no Kaplan-Meier step.
    """
    weeks = np.asarray(first_week, dtype=float)
    return np.where(np.isnan(weeks), float(horizon), np.minimum(weeks, float(horizon)))

"""Numbers that may be fixed or drawn per replication.

Any numeric parameter of a scenario is either a plain number or a one-key
mapping naming a distribution::

    resolve: 0.8
    resolve: {uniform: {low: 0.6, high: 0.9}}
    resolve: {normal: {mean: 0.8, sd: 0.1, low: 0.0, high: 1.0}}
    resolve: {beta: {a: 8, b: 2}}                 # on [0, 1], or scaled to [low, high]
    resolve: {triangular: {low: 0.6, mode: 0.8, high: 0.95}}

Draws happen in the model, one per replication, from the model's seeded
streams; this module only describes and checks them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Annotated, Any

import numpy as np
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

# A number of a scenario smaller in magnitude than this is read as 0: no
# quantity of the model means anything at a billionth of its unit, and values
# far below it (a subnormal 5e-324) lose their precision and divide to
# infinity. Read as 0 rather than refused, so that a value computed near 0
# (a sweep's sample point at -0.1 + 0.2 * 0.5 = 1.4e-17) is not an error.
TINY = 1e-9


def flush_tiny(number: float) -> float:
    """``number``, or 0.0 where it is smaller in magnitude than `TINY`."""
    return 0.0 if abs(number) < TINY else number


@dataclass(frozen=True)
class Bounds:
    """The range a scenario number must stay in over its whole support (None: open).

    Carried in the type's metadata, so the documentation's reference reads
    the range from the type instead of keeping its own copy.
    """

    ge: float | None = None
    le: float | None = None


class _Frozen(BaseModel):
    # Infinity or NaN (YAML's `.inf`, `.nan`) is no bound of a distribution.
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    @field_validator("*")
    @classmethod
    def _flush_tiny(cls, value: Any) -> Any:
        return flush_tiny(value) if isinstance(value, float) else value


class UniformArgs(_Frozen):
    """Uniform on [low, high]."""

    low: float = Field(description="Lower bound.")
    high: float = Field(description="Upper bound (>= low).")

    @model_validator(mode="after")
    def _ordered(self) -> UniformArgs:
        if self.high < self.low:
            raise ValueError(f"high must be >= low (got low={self.low}, high={self.high})")
        return self


class NormalArgs(_Frozen):
    """Normal with mean and sd, truncated to [low, high] when bounds are given."""

    mean: float = Field(description="Mean.")
    sd: float = Field(ge=0, description="Standard deviation (>= 0).")
    low: float | None = Field(default=None, description="Optional lower truncation bound.")
    high: float | None = Field(default=None, description="Optional upper truncation bound.")

    @model_validator(mode="after")
    def _ordered(self) -> NormalArgs:
        if self.low is not None and self.high is not None and self.high < self.low:
            raise ValueError(f"high must be >= low (got low={self.low}, high={self.high})")
        return self


class BetaArgs(_Frozen):
    """Beta(a, b), rescaled from [0, 1] to [low, high]."""

    a: float = Field(gt=0, description="First shape parameter (> 0).")
    b: float = Field(gt=0, description="Second shape parameter (> 0).")
    low: float = Field(default=0.0, description="Lower end of the support.")
    high: float = Field(default=1.0, description="Upper end of the support.")

    @model_validator(mode="after")
    def _ordered(self) -> BetaArgs:
        if self.high < self.low:
            raise ValueError(f"high must be >= low (got low={self.low}, high={self.high})")
        return self


class TriangularArgs(_Frozen):
    """Triangular on [low, high] with the given mode."""

    low: float = Field(description="Lower bound.")
    mode: float = Field(description="Most likely value, low <= mode <= high.")
    high: float = Field(description="Upper bound.")

    @model_validator(mode="after")
    def _ordered(self) -> TriangularArgs:
        if not self.low <= self.mode <= self.high:
            raise ValueError(f"need low <= mode <= high (got {self.low}, {self.mode}, {self.high})")
        return self


class Uniform(_Frozen):
    """A uniform distribution."""

    uniform: UniformArgs


class Normal(_Frozen):
    """A (truncated) normal distribution."""

    normal: NormalArgs


class Beta(_Frozen):
    """A beta distribution."""

    beta: BetaArgs


class Triangular(_Frozen):
    """A triangular distribution."""

    triangular: TriangularArgs


Distribution = Uniform | Normal | Beta | Triangular
_BY_KEY: dict[str, type[_Frozen]] = {
    "uniform": Uniform,
    "normal": Normal,
    "beta": Beta,
    "triangular": Triangular,
}


def _pick_distribution(value: Any) -> Any:
    """Route a mapping to the one distribution its key names, with a clear error."""
    if isinstance(value, bool):
        raise ValueError(f"expected a number or a distribution (got {value!r})")
    if isinstance(value, dict):
        if len(value) != 1:
            raise ValueError(
                "a distribution is a mapping with exactly one key, one of "
                f"{', '.join(_BY_KEY)} (got keys {sorted(map(str, value))})"
            )
        (key,) = value
        if key not in _BY_KEY:
            raise ValueError(f"unknown distribution {key!r}; use one of {', '.join(_BY_KEY)}")
        try:
            return _BY_KEY[key].model_validate(value)
        except ValidationError as error:
            first = error.errors()[0]
            # The location starts with the distribution's key (`uniform.high`).
            where = ".".join(str(part) for part in first["loc"]) or str(key)
            message = str(first["msg"]).removeprefix("Value error, ")
            raise ValueError(f"{where}: {message}") from None
    if not isinstance(value, int | float):
        raise ValueError(f"expected a number or a distribution (got {value!r})")
    try:
        number = float(value)
    except OverflowError:  # an integer too large for a float
        raise ValueError(f"must be a finite number (got {value!r})") from None
    if not np.isfinite(number):
        raise ValueError(f"must be a finite number (got {value!r})")
    return flush_tiny(number)


def bounds(value: float | Distribution) -> tuple[float, float]:
    """The smallest and largest value a parameter can take (normal without bounds: ±inf)."""
    match value:
        case Uniform(uniform=u):
            return u.low, u.high
        case Normal(normal=n):
            return (
                n.low if n.low is not None else -np.inf,
                n.high if n.high is not None else np.inf,
            )
        case Beta(beta=b):
            return b.low, b.high
        case Triangular(triangular=t):
            return t.low, t.high
        case _:
            return float(value), float(value)  # type: ignore[arg-type]


def central(value: float | Distribution) -> float:
    """A representative value (mean or mode) used where one number is needed."""
    match value:
        case Uniform(uniform=u):
            return (u.low + u.high) / 2
        case Normal(normal=n):
            return float(np.clip(n.mean, *bounds(value)))
        case Beta(beta=b):
            return b.low + (b.high - b.low) * b.a / (b.a + b.b)
        case Triangular(triangular=t):
            return (t.low + t.mode + t.high) / 3
        case _:
            return float(value)  # type: ignore[arg-type]


def draw(value: float | Distribution, rng: np.random.Generator, size: int) -> np.ndarray:
    """Draw ``size`` values (one per replication) from ``rng``.

    A fixed number still consumes one block of draws, so that changing a
    parameter from fixed to random (or back) does not shift any other stream.
    """
    return quantile(value, rng.random(size))


def quantile(value: float | Distribution, u: np.ndarray) -> np.ndarray:
    """The values at cumulative probabilities ``u`` (inverse-CDF; a fixed number everywhere).

    The one place that says what each distribution means: the model draws
    through it, and a sensitivity sweep maps its unit-cube design through it.
    """
    u = np.asarray(u, dtype=float)
    size = u.shape
    match value:
        case Uniform(uniform=d):
            return d.low + (d.high - d.low) * u
        case Normal(normal=d):
            from scipy.stats import norm

            lo = -np.inf if d.low is None else d.low
            hi = np.inf if d.high is None else d.high
            if d.sd == 0:
                return np.full(size, float(np.clip(d.mean, lo, hi)))
            # Inverse-CDF sampling of the truncated normal: one uniform per value.
            a = norm.cdf((lo - d.mean) / d.sd)
            b = norm.cdf((hi - d.mean) / d.sd)
            return np.clip(d.mean + d.sd * norm.ppf(a + (b - a) * u), lo, hi)
        case Beta(beta=d):
            from scipy.stats import beta as beta_dist

            return d.low + (d.high - d.low) * beta_dist.ppf(u, d.a, d.b)
        case Triangular(triangular=d):
            from scipy.stats import triang

            width = d.high - d.low
            if width == 0:
                return np.full(size, d.low)
            return np.asarray(triang.ppf(u, (d.mode - d.low) / width, loc=d.low, scale=width))
        case _:
            return np.full(size, float(value))  # type: ignore[arg-type]


def param_type(ge: float | None = None, le: float | None = None) -> Any:
    """A scenario number: fixed or a distribution, with its whole support in [ge, le]."""
    from pydantic import AfterValidator, BeforeValidator

    def check_range(value: float | Distribution) -> float | Distribution:
        low, high = bounds(value)
        if ge is not None and low < ge:
            raise ValueError(f"must be >= {ge}" + ("" if low == high else " over its whole range"))
        if le is not None and high > le:
            raise ValueError(f"must be <= {le}" + ("" if low == high else " over its whole range"))
        return value

    return Annotated[
        float | Uniform | Normal | Beta | Triangular,
        BeforeValidator(_pick_distribution),
        AfterValidator(check_range),
        Bounds(ge, le),
    ]


# The kinds of scenario number, by the range the model needs (docs/scenario-format.md,
# "Ranges of numbers", gives the reasons).
Share = param_type(0.0, 1.0)
"""A share, probability or weight on [0, 1]."""
Capability = param_type(0.0, 1000.0)
"""Capability units (1.0 is a large army): at most a thousand large armies."""
# The longest calendar, in weeks: 100 years. The model's mechanisms (beliefs,
# patrons' commitments, one issue on the table) describe the years of a
# conflict around its talks, not centuries; and each week costs memory and
# output in proportion: a chunk holds every weekly metric of every run
# (4 bytes each), and timeseries.csv one row per week, metric and variant.
MAX_WEEKS = 5218
MAX_WEEKS_VARIABLE = "NEGSIM_MAX_WEEKS"


def max_weeks() -> int:
    """The longest calendar in weeks: `MAX_WEEKS`, or the environment's override."""
    value = os.environ.get(MAX_WEEKS_VARIABLE, "").strip().replace("_", "")
    return int(value) if value.isdigit() and int(value) > 0 else MAX_WEEKS


Weeks = param_type(0.0, float(MAX_WEEKS))
"""A duration or horizon in weeks: at most 100 years, the longest calendar."""
Factor = param_type(0.0, 100.0)
"""A multiplier, exponent or logit weight: 100 already saturates every law it enters."""
Spread = param_type(0.0, 10.0)
"""A standard deviation (of log-effort or of a belief)."""
Tilt = param_type(-1.0, 1.0)
"""A signed bias on the issue line or the bargaining range."""
Logit = param_type(-100.0, 100.0)
"""A signed weight on the logit scale (or a response per unit of prospects)."""
NonNegative = param_type(0.0)
"""Any number >= 0 (kept for fields whose meaning sets no upper bound)."""
AnyNumber = param_type()
"""Any finite number (an `uncertain` entry: its target field's range applies)."""

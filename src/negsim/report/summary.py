"""The answer first: one line per verdict, its numbers rounded and its caveats named.

Shared by the terminal summary of ``negsim run``, ``hypotheses.md`` and the
report's summary box, so that the three say the same thing in the same
words. Everything here reads a row of ``hypotheses.csv`` (as text or as the
run's own numbers) and computes no statistics: the rounding follows the
interval's width, and the caveats are the row's ``flags`` (written by the
verdicts) plus two that need only the row and the sweep: near the bound and
sensitive to assumptions.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from negsim.analysis.patterns import ALL_PATTERNS
from negsim.analysis.verdicts import P_FLOOR, metric_kind

__all__ = [
    "CAVEATS",
    "SENSITIVE_SHARE",
    "Line",
    "caveats",
    "decimals_for",
    "line_of",
    "number",
    "p_text",
]

CAVEATS: dict[str, str] = {
    "floor": "floor",
    "ceiling": "ceiling",
    "near_bound": "near bound",
    "decided_by_record": "decided by the record",
    "degenerate": "degenerate",
    "sensitive": "sensitive to assumptions",
}
"""Each caveat's id (``flags`` in hypotheses.csv, plus ``sensitive``) and how it is shown."""

CAVEAT_MEANINGS: dict[str, str] = {
    "floor": "the control's mean lies within the smallest effect that matters of the metric's "
    "lowest value (a rare outcome), so no decrease can reach the bound: 'negligible' says little",
    "ceiling": "the control's mean lies within the smallest effect that matters of the metric's "
    "highest value, so no increase can reach the bound: 'negligible' says little",
    "near_bound": "an end of the interval lies near ± the smallest effect that matters: a "
    "slightly different bound, or more runs, may change the verdict",
    "decided_by_record": "the record's patterns fix this outcome in the worlds like ours, so "
    "the verdict given the record is conditioned on its own outcome",
    "degenerate": "no interval, or one of zero width: it says nothing about uncertainty",
    "sensitive": "the sweep over the uncertain parameters gives another verdict in more than "
    "a fifth of its sampled space",
}
"""One sentence per caveat, for the report's legend and docs/report.md."""

SENSITIVE_SHARE = 0.8
"""A verdict holding in less than this share of the sweep's sampled space is flagged as
sensitive to assumptions: more than one point in five gives another verdict."""


def _float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def decimals_for(low: float, high: float, value: float = math.nan) -> int:
    """Decimals that give the interval's half-width two significant digits (0 to 6).

    An interval of zero width (or none) keeps three significant digits of ``value``.
    """
    half = abs(high - low) / 2 if math.isfinite(low) and math.isfinite(high) else math.nan
    if math.isfinite(half) and half > 0:
        return max(0, min(6, 1 - math.floor(math.log10(half))))
    if math.isfinite(value) and value != 0:
        return max(0, min(6, 2 - math.floor(math.log10(abs(value)))))
    return 0


def number(value: float, decimals: int, signed: bool = False) -> str:
    """``value`` to ``decimals`` places (``-0`` shown as ``0``), with a sign if asked."""
    if not math.isfinite(value):
        return "-"
    text = f"{value:+.{decimals}f}" if signed else f"{value:.{decimals}f}"
    if float(text) == 0:
        text = f"{0:.{decimals}f}"
    return text


def p_text(p: Any) -> str:
    """A p-value for people: two significant digits, ``< 1e-15`` below the floor."""
    value = _float(p)
    if not math.isfinite(value):
        return "-"
    if value < P_FLOOR:
        return f"< {P_FLOOR:.0e}"
    return f"{value:.2g}"


@dataclass(frozen=True)
class Line:
    """One verdict row in words and rounded numbers."""

    hypothesis: str
    metric: str
    verdict: str
    effect: str
    """``+2.7``, in ``unit``."""
    interval: str
    """``[+1.5, +4.0]``, in ``unit``."""
    bound: str
    """``±5``, in ``unit``."""
    unit: str
    """``points``, ``weeks`` or empty (a share of a scale, a count, a stage)."""
    p_holm: str
    """The Holm-adjusted p of the test against the bound, formatted."""
    p_raw: str
    """The raw p of the effect against zero (the sentence's p), formatted."""
    caveats: tuple[str, ...]
    """Caveat ids (keys of :data:`CAVEATS`)."""

    def with_unit(self, text: str) -> str:
        return f"{text} {self.unit}" if self.unit and text != "-" else text

    def flags(self) -> str:
        """The caveats as shown: ``near bound, floor``."""
        return ", ".join(CAVEATS.get(c, c.replace("_", " ")) for c in self.caveats)


def near_bound(low: float, high: float, bound: float) -> bool:
    """Whether the interval touches or crosses ±bound, or lies within its own half-width of it."""
    if not (math.isfinite(low) and math.isfinite(high) and math.isfinite(bound)) or bound <= 0:
        return False
    half = (high - low) / 2
    return any(low - half <= edge <= high + half for edge in (bound, -bound))


def caveats(
    row: Mapping[str, Any],
    robustness: Sequence[Mapping[str, Any]] = (),
    prefix: str = "",
) -> tuple[str, ...]:
    """The caveats of one row of hypotheses.csv (``prefix="record_"``: its worlds-like-ours verdict).

    The ``flags`` column (semicolon-separated ids) is used when present; without
    it, ``near_bound`` is computed here. ``robustness`` (the sweep's rows of
    this hypothesis and metric) adds ``sensitive`` when the row's verdict holds
    in less than :data:`SENSITIVE_SHARE` of the sampled space.
    """
    flags = row.get(f"{prefix}flags")
    found: list[str] = []
    if isinstance(flags, str):
        found = [f.strip() for f in flags.split(";") if f.strip()]
    elif f"{prefix}flags" not in row and near_bound(
        _float(row.get(f"{prefix}ci_low")),
        _float(row.get(f"{prefix}ci_high")),
        _float(row.get("smallest_effect")),
    ):
        found.append("near_bound")
    verdict = str(row.get(f"{prefix}verdict") or "")
    if robustness and not prefix:
        share = sum(_float(r.get("share")) for r in robustness if r.get("verdict") == verdict)
        if math.isfinite(share) and share < SENSITIVE_SHARE:
            found.append("sensitive")
    return tuple(dict.fromkeys(found))


def line_of(
    row: Mapping[str, Any],
    robustness: Sequence[Mapping[str, Any]] = (),
    prefix: str = "",
) -> Line:
    """One row of hypotheses.csv as a :class:`Line`, in the metric's unit (points for 0/1)."""
    metric = str(row.get("metric", ""))
    kind = metric_kind(metric)
    scale = kind.scale
    effect = _float(row.get(f"{prefix}effect")) * scale
    low = _float(row.get(f"{prefix}ci_low")) * scale
    high = _float(row.get(f"{prefix}ci_high")) * scale
    bound = _float(row.get("smallest_effect")) * scale
    places = decimals_for(low, high, effect)
    return Line(
        hypothesis=str(row.get("hypothesis", "")),
        metric=metric,
        verdict=str(row.get(f"{prefix}verdict") or "-"),
        effect=number(effect, places, signed=True),
        interval=(
            f"[{number(low, places, signed=True)}, {number(high, places, signed=True)}]"
            if math.isfinite(low) and math.isfinite(high)
            else "-"
        ),
        bound=f"±{bound:g}" if math.isfinite(bound) else "-",
        unit=kind.unit,
        p_holm=p_text(row.get(f"{prefix}p_holm")),
        p_raw=p_text(row.get("p_value")) if not prefix else "-",
        caveats=caveats(row, robustness, prefix),
    )


def rows_of(table: Any) -> list[dict[str, Any]]:
    """A DataFrame's rows as plain dicts (NaN kept as NaN)."""
    return [dict(r) for r in table.to_dict("records")]


def all_caveats(lines: Iterable[Line]) -> list[str]:
    """Every caveat id that appears in ``lines``, in :data:`CAVEATS` order."""
    present = {c for line in lines for c in line.caveats}
    return [c for c in CAVEATS if c in present] + sorted(present - set(CAVEATS))


def relabel_p(sentence: str) -> str:
    """A verdict sentence with its p labelled as what it is: raw, against zero."""
    import re

    return re.sub(r"(CI [^,()]*), p ([=<])", r"\1, raw p \2", sentence)


def title_of(name: str, description: str | None) -> tuple[str, str]:
    """A scenario's title and question from its description (``name`` when it has none).

    ``Syria, September 2015 to July 2016: Russian intervention, ... Tests the
    article's claim that ...`` gives the place and time before the first colon
    as the title and the sentence that starts with "Tests" as the question.
    """
    text = " ".join((description or "").split())
    head, colon, _ = text.partition(":")
    title = head.strip() if colon and 0 < len(head) <= 80 else name
    sentences = text.replace("? ", "?\n").replace(". ", ".\n").splitlines()
    question = next((s.strip() for s in sentences if s.startswith("Tests ") or s.endswith("?")), "")
    if not question and title != name:
        # No claim stated: what follows the title, its first sentence ("The rival theory:
        # escalation deepens a mutually hurting stalemate, ...").
        rest = text.partition(":")[2].strip()
        question = rest.replace(". ", ".\n").splitlines()[0] if rest else ""
        question = question[:1].upper() + question[1:]
    return title, question


def markdown_table(lines: Sequence[Line], confidence: float, record: bool = False) -> list[str]:
    """The verdicts as a Markdown table (one row per hypothesis and metric)."""
    level = f"{confidence * 100:g} %"
    out = [
        f"| verdict | hypothesis | metric | effect [{level} CI] | smallest effect | "
        "p vs bound (Holm) | p vs 0 (raw) | caveats |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for line in lines:
        raw = "-" if record else line.p_raw
        out.append(
            f"| {line.verdict} | {line.hypothesis} | {line.metric} | "
            f"{line.with_unit(f'{line.effect} {line.interval}')} | {line.with_unit(line.bound)} | "
            f"{line.p_holm} | {raw} | {line.flags()} |"
        )
    return out


def record_uses(patterns: Any) -> str:
    """Which of the record's patterns condition the worlds like ours, which are held out, which described.

    ``patterns`` is patterns.csv as a DataFrame (columns `pattern`, `use`); "" without one.
    """
    if patterns is None or len(patterns) == 0 or "use" not in patterns:
        return ""
    named = {
        use: [
            str(p)
            for p, u in zip(patterns["pattern"], patterns["use"], strict=True)
            if u == use and p != ALL_PATTERNS  # the row of every conditioning pattern at once
        ]
        for use in ("condition", "holdout", "describe")
    }
    parts = [f"conditioning patterns: {', '.join(named['condition']) or 'none'}"]
    if named["holdout"]:
        parts.append(
            f"held out (out-of-sample checks, never conditioned on): {', '.join(named['holdout'])}"
        )
    if named["describe"]:
        parts.append(f"described only (inputs read back): {', '.join(named['describe'])}")
    return "; ".join(parts) + " (each in patterns.csv)."


def hypotheses_markdown(
    table: Any,
    name: str,
    runs: int,
    record_runs: int | None,
    given_record: bool = False,
    patterns: Any = None,
) -> str:
    """``hypotheses.md``: the verdicts of a run as a table and in full sentences.

    ``table`` is the run's hypotheses.csv as a DataFrame; ``patterns`` its
    patterns.csv (which patterns the worlds like ours are conditioned on).
    """
    rows = rows_of(table)
    confidence = _float(rows[0].get("confidence")) if rows else 0.95
    if not math.isfinite(confidence):
        confidence = 0.95
    lines = [line_of(row) for row in rows]
    out = [f"# {name}: verdicts ({runs:,} runs per variant)", ""]
    if not rows:
        return "\n".join([*out, "No hypothesis could be tested with these variants.", ""])
    out += [
        "Each row compares two variants on one outcome: the effect is the mean paired "
        "difference (treatment − control), in the metric's unit (points for yes/no "
        "outcomes), with its confidence interval. *p vs bound (Holm)* tests the effect "
        "against the smallest effect that matters, adjusted by Holm's method across every "
        "row; *p vs 0 (raw)* tests it against zero, unadjusted (the sentences' *raw p*).",
        "",
        *markdown_table(lines, confidence),
        "",
    ]
    record_lines = [line_of(row, prefix="record_") for row in rows if row.get("record_verdict")]
    if record_lines and any(isinstance(r.get("record_verdict"), str) for r in rows):
        title = "Given the record" if given_record else "Worlds like ours"
        out += [
            f"## {title}: conditioned on the record ({record_runs} base runs reproduce it)",
            "",
            "The same rows judged again on the replications whose base run reproduces every "
            "conditioning pattern of the scenario's `observed` record: these verdicts are "
            "conditioned on the record, with their own Holm family.",
            "",
            *([f"The record's {uses}", ""] if (uses := record_uses(patterns)) else []),
            *markdown_table(record_lines, confidence, record=True),
            "",
        ]
    present = all_caveats(lines + record_lines)
    if present:
        out += ["## Caveats", ""]
        out += [f"- **{CAVEATS.get(c, c)}**: {CAVEAT_MEANINGS.get(c, '')}" for c in present]
        out.append("")
    out += ["## In full", ""]
    out += [f"- {relabel_p(str(row.get('sentence', '')))}" for row in rows]
    sentences = [r.get("record_sentence") for r in rows]
    given = [s for s in sentences if isinstance(s, str) and s]
    if given:
        out += ["", "Conditioned on the record:", ""]
        out += [f"- {relabel_p(s)}" for s in given]
    out.append("")
    return "\n".join(out)

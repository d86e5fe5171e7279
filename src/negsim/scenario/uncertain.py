"""The `uncertain` block: which numbers of a scenario are uncertain, and over what.

`negsim run` draws each of them per replication from its distribution (unless
`--at-values`; `negsim.run.assumptions`), and `negsim sweep` varies them over
their ranges.

A path in `uncertain` uses the dotted form of a variant's `set` (events by
id: `events.<id>.<field>`) and is checked against the validated scenario, so
a field left at its default (any key of `parameters`, an actor's
`optimism`, ...) can be named too. Checked here:

- the path names a number of the world the scenario describes (not of
  `experiment`, `variants`, `hypotheses`, ...), else an error with the closest
  path as a "did you mean";
- the entry is a range or distribution that actually varies;
- both ends of its range are values the parameter accepts (a share stays in
  [0, 1]), else an error: every sample point must be a valid scenario;
- the range contains the scenario's own value, else a **warning**, not an
  error: testing only values on one side of the written one is sometimes
  the point (the value is a placeholder, or the analyst asks "what if the
  patron had been more committed than we assumed?"), but far more often a
  typo, and a sweep that never visits the scenario as written cannot say
  whether the verdict of `negsim run` holds there.

The same walk, :func:`parameter_paths`, lists every number a screening sweep
(`negsim sweep --all`) varies; nothing here names a particular parameter.
"""

from __future__ import annotations

import difflib
import math
from typing import Any

import numpy as np
from pydantic import TypeAdapter, ValidationError

from negsim.scenario.distributions import AnyNumber, bounds, central, quantile

PathMessage = tuple[tuple[str | int, ...], str]

ANALYSIS_BLOCKS = frozenset({"variants", "hypotheses", "uncertain", "experiment", "observed"})
"""Top-level blocks that describe the analysis, not the world: never swept."""

_DISTRIBUTION_KEYS = frozenset({"uniform", "normal", "beta", "triangular"})
_NUMBER: TypeAdapter[Any] = TypeAdapter(AnyNumber)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_distribution(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 1 and next(iter(value)) in _DISTRIBUTION_KEYS


def element_index(items: Any, element_id: Any) -> int | None:
    """Index of the element with this `id` in a list of mappings (events, named successors)."""
    for index, item in enumerate(items if isinstance(items, list) else []):
        if isinstance(item, dict) and item.get("id") == element_id:
            return index
    return None


def element_ids(items: Any) -> list[str]:
    """The ids of a list's elements that have one, in order."""
    if not isinstance(items, list):
        return []
    return [str(i["id"]) for i in items if isinstance(i, dict) and isinstance(i.get("id"), str)]


def missing_element(where: str, items: list[Any], part: str) -> str:
    """Why ``part`` names no element of the list at ``where``, with the ids it could name.

    A list element is addressed by its id, never by its place: a place moves
    when an element is added, removed or reordered, an id does not.
    """
    ids = element_ids(items)
    noun = "event" if where == "events" else "element"
    message = f"no {noun} with id {part!r}" + ("" if noun == "event" else f" in {where}")
    if part.isdigit() and int(part) < len(ids):
        return (
            f"{message}: list elements are addressed by id, not by place; "
            f"element {part} is {ids[int(part)]!r}"
        )
    close = difflib.get_close_matches(part, ids, n=1, cutoff=0.6)
    if close:
        return f"{message}; did you mean {close[0]!r}?"
    return f"{message}; known: {', '.join(ids)}" if ids and len(ids) <= 12 else message


def parameter_paths(data: dict[str, Any], include_unset: bool = False) -> dict[str, Any]:
    """Every number of the world in scenario data, by dotted path (list elements by id).

    A list of mappings with ids (events, a leader's named `successors`) is
    addressed by id: `events.<id>.<field>`, `leaders.<id>.successors.<id>.<field>`.

    ``data`` is a validated scenario's ``model_dump()`` (so defaults are
    present). A number given as a distribution is listed under its own path
    with the distribution as value, and its arguments under deeper paths
    (``parameters.belief_noise.uniform.high``). With ``include_unset``, fields
    left unset (`None`, e.g. an intervention's `duration_weeks`) are listed
    too, with the value None.
    """
    found: dict[str, Any] = {}

    def walk(value: Any, path: tuple[str, ...]) -> None:
        if _is_number(value) or (value is None and include_unset and path):
            found[".".join(path)] = value
        elif isinstance(value, dict):
            if _is_distribution(value):
                found[".".join(path)] = value
            for key, item in value.items():
                if path or key not in ANALYSIS_BLOCKS:
                    walk(item, (*path, str(key)))
        elif isinstance(value, list) and path:
            for item in value:
                if isinstance(item, dict) and isinstance(item.get("id"), str):
                    walk({k: v for k, v in item.items() if k != "id"}, (*path, item["id"]))

    walk(data, ())
    return found


def lookup(data: dict[str, Any], dotted: str) -> tuple[bool, Any]:
    """(found, value) of a dotted path in scenario data, list elements addressed by id."""
    current: Any = data
    parts = dotted.split(".")
    for part in parts:
        if isinstance(current, list):
            index = element_index(current, part)
            if index is None:
                return False, None
            current = current[index]
        elif isinstance(current, dict) and part in current:
            current = current[part]
        else:
            return False, None
    return True, current


def _same_kind(dotted: str, candidates: list[str]) -> str | None:
    """The path ``dotted`` most likely meant, among paths of the same kind only.

    A suggestion must name the same thing, so that following it sweeps what
    was meant: the same path with one part mistyped (`actors.rebels.resolv`),
    or the same path written in full (`leaders.second.moderation` for the
    named successor `leaders.founder.successors.second.moderation`). A path
    to a different parameter that merely reads alike (`successor.moderation`,
    the drawn successor's, for `successors.0.moderation`; another leader's
    field for an unknown leader) is never suggested.
    """
    parts = dotted.split(".")
    best: tuple[float, str] | None = None
    for candidate in candidates:
        other = candidate.split(".")
        if len(other) == len(parts):
            differing = [(a, b) for a, b in zip(parts, other, strict=True) if a != b]
            if len(differing) == 1:
                typed, meant = differing[0]
                ratio = difflib.SequenceMatcher(None, typed, meant).ratio()
                if ratio >= 0.6 and (best is None or ratio > best[0]):
                    best = (ratio, candidate)
    if best is not None:
        return best[1]
    # The same path with parts left out in the middle (an element's place in its list).
    written = [
        candidate
        for candidate in candidates
        for cut in range(1, len(parts))
        if len(candidate.split(".")) > len(parts)
        and candidate.startswith(".".join(parts[:cut]) + ".")
        and candidate.endswith("." + ".".join(parts[cut:]))
    ]
    return min(written, key=len) if written else None


def unknown_path(data: dict[str, Any], dotted: str, candidates: list[str]) -> str:
    """Why ``dotted`` names no parameter of ``data``, with a hint of the same kind."""
    parts = dotted.split(".")
    current: Any = data
    for depth, part in enumerate(parts):
        if isinstance(current, list):
            ids = element_ids(current)
            if part.isdigit() and int(part) < len(ids):
                meant = ".".join([*parts[:depth], ids[int(part)], *parts[depth + 1 :]])
                if meant in candidates:
                    return (
                        "path names no parameter of this scenario: list elements are addressed "
                        f"by id, not by place; did you mean {meant!r}?"
                    )
            index = element_index(current, part)
            if index is None:
                break
            current = current[index]
        elif isinstance(current, dict) and part in current:
            current = current[part]
        else:
            break
    close = _same_kind(dotted, candidates)
    hint = f"; did you mean {close!r}?" if close else ""
    return f"path names no parameter of this scenario{hint}"


def _what(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return "a yes/no value"
    return "text" if isinstance(value, str) else f"a {type(value).__name__}"


def sweep_range(spec: Any) -> tuple[float, float]:
    """The values a sweep visits for an `uncertain` entry: its support, or its
    0.1 % and 99.9 % quantiles where the support is unbounded (a normal
    without bounds)."""
    distribution = _NUMBER.validate_python(spec)
    low, high = bounds(distribution)
    if not math.isfinite(low):
        low = float(quantile(distribution, np.array([0.001]))[0])
    if not math.isfinite(high):
        high = float(quantile(distribution, np.array([0.999]))[0])
    return low, high


def check_uncertain(scenario_data: dict[str, Any]) -> tuple[list[PathMessage], list[PathMessage]]:
    """Errors and warnings in the `uncertain` block of a validated scenario's data.

    ``scenario_data`` is ``Scenario.model_dump()``; each problem is
    (path in the file, message), the path being ``("uncertain", <dotted>)``.
    """
    from negsim.scenario.loader import set_in_copy
    from negsim.scenario.references import check_references
    from negsim.scenario.schema import Scenario

    errors: list[PathMessage] = []
    warnings: list[PathMessage] = []
    uncertain = scenario_data.get("uncertain") or {}
    candidates: list[str] | None = None
    # A problem the scenario has as written is reported once, where it is written: while it
    # stands, every end of every range "breaks the scenario" with it too, and saying so
    # once per entry would bury it among its consequences.
    standing = (
        {message for _, message in check_references(scenario_data, variant_only=True)}
        if uncertain
        else set()
    )
    for dotted, spec in uncertain.items():
        where = ("uncertain", dotted)
        first = str(dotted).split(".", 1)[0]
        found, value = lookup(scenario_data, str(dotted))
        if first in ANALYSIS_BLOCKS:
            errors.append(
                (where, f"`{first}` describes the analysis, not the world: not sweepable")
            )
            continue
        if not found:
            if candidates is None:
                candidates = list(parameter_paths(scenario_data, include_unset=True))
            errors.append((where, unknown_path(scenario_data, str(dotted), candidates)))
            continue
        if not (_is_number(value) or value is None or _is_distribution(value)):
            errors.append((where, f"path names {_what(value)}, not a number"))
            continue
        low, high = sweep_range(spec)
        if not low < high:
            errors.append(
                (
                    where,
                    "give a range or distribution that varies, e.g. {uniform: {low: ..., high: ...}}",
                )
            )
            continue
        problem = None
        for end in (low, high):
            edited, _ = set_in_copy(scenario_data, str(dotted), end)  # the path was found
            try:
                Scenario.model_validate(edited)
            except ValidationError as error:
                detail = str(error.errors()[0]["msg"]).removeprefix("Value error, ")
                problem = f"the range reaches {end:g}, which {dotted} does not accept ({detail})"
                break
            broken = [
                found
                for found in check_references(edited, variant_only=True)
                if found[1] not in standing
            ]
            if broken:
                problem = f"setting {dotted} to {end:g} breaks the scenario: {broken[0][1]}"
                break
        if problem:
            errors.append((where, problem))
            continue
        if value is not None:
            base = central(_NUMBER.validate_python(value))
            if not low <= base <= high:
                warnings.append(
                    (
                        where,
                        f"the range [{low:g}, {high:g}] does not contain the scenario's value "
                        f"{base:g}: a sweep never visits the scenario as written",
                    )
                )
    return errors, warnings

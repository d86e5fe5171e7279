"""The reference part of `docs/scenario-format.md`, generated from the schema.

The scenario models in :mod:`negsim.scenario.schema` are the single source of
truth: every key, its type, its default and its docstring. This module turns
them into Markdown tables and keeps the documentation in step with them::

    python -m negsim.scenario.reference                   # print the generated part
    python -m negsim.scenario.reference --check FILE      # exit 1 if FILE's part is stale
    python -m negsim.scenario.reference --write FILE      # rewrite FILE's part in place

Only the text between the markers :data:`BEGIN` and :data:`END` is generated;
the hand-written introduction around it is left alone. (Redirecting the plain
output over the documentation would drop that introduction; use ``--write``.)
"""

from __future__ import annotations

import argparse
import datetime as dt
import difflib
import inspect
import re
import sys
import types
import typing
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from annotated_types import Ge, Gt, Le, Lt
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from negsim.scenario import distributions, schema
from negsim.scenario.observed import WEEKLY_METRICS, Pattern

BEGIN = "<!-- BEGIN GENERATED REFERENCE -->"
END = "<!-- END GENERATED REFERENCE -->"
COMMAND = "python -m negsim.scenario.reference --write docs/scenario-format.md"

_NUMBER_OR_DISTRIBUTION = "number or [distribution](#distributions)"

_ACTORS = schema.ACTOR_MODELS
_EVENTS = schema.EVENT_MODELS
_DISTRIBUTIONS: tuple[tuple[str, type[BaseModel], str], ...] = (
    ("uniform", distributions.UniformArgs, "{uniform: {low: 0.6, high: 0.9}}"),
    ("normal", distributions.NormalArgs, "{normal: {mean: 0.8, sd: 0.1, low: 0.0, high: 1.0}}"),
    ("beta", distributions.BetaArgs, "{beta: {a: 8, b: 2}}"),
    ("triangular", distributions.TriangularArgs, "{triangular: {low: 0.6, mode: 0.8, high: 0.95}}"),
)


# ----------------------------------------------------------------- formatting


def anchor(title: str) -> str:
    """The anchor GitHub gives a Markdown heading."""
    text = re.sub(r"[^\w\- ]", "", title.strip().lower())
    return text.replace(" ", "-")


def _link(model: type[BaseModel]) -> str:
    return f"[{model.__name__}](#{anchor(model.__name__)})"


def _cell(text: str) -> str:
    """Text fit for one table cell: one line, pipes escaped."""
    return " ".join(text.split()).replace("|", "\\|")


def _doc(model: type[BaseModel]) -> str:
    return inspect.cleandoc(model.__doc__) if model.__doc__ else ""


def _flat_metadata(metadata: Sequence[Any]) -> list[Any]:
    """Metadata items, with those wrapped in a nested `Field(...)` unpacked."""
    flat: list[Any] = []
    for item in metadata:
        if isinstance(item, FieldInfo):
            flat += _flat_metadata(item.metadata)
        else:
            flat.append(item)
    return flat


def _shown(bound: Any) -> str:
    """A bound as a reader writes it: 1000, 0.5, 1e-09."""
    return str(int(bound)) if float(bound).is_integer() and abs(bound) < 1e16 else f"{bound:g}"


def _number_kind(metadata: Sequence[Any]) -> str | None:
    """A scenario number (fixed or a distribution) and its range, from its `Bounds`."""
    found = next((item for item in metadata if isinstance(item, distributions.Bounds)), None)
    if found is None:
        return None
    if found.ge is not None and found.le is not None:
        return f"{_NUMBER_OR_DISTRIBUTION}, {_shown(found.ge)} to {_shown(found.le)}"
    if found.ge is not None:
        return f"{_NUMBER_OR_DISTRIBUTION}, ≥ {_shown(found.ge)}"
    return _NUMBER_OR_DISTRIBUTION


def _bounds(metadata: Sequence[Any]) -> str:
    low = high = ""
    for item in metadata:
        if isinstance(item, Ge):
            low = f"≥ {_shown(item.ge)}"
        elif isinstance(item, Gt):
            low = f"> {_shown(item.gt)}"
        elif isinstance(item, Le):
            high = f"≤ {_shown(item.le)}"
        elif isinstance(item, Lt):
            high = f"< {_shown(item.lt)}"
    if low.startswith("≥") and high.startswith("≤"):
        return f"{low[2:]} to {high[2:]}"
    return ", ".join(part for part in (low, high) if part)


def type_text(annotation: Any, metadata: Sequence[Any] = ()) -> str:
    """A reader's name for a field's type, e.g. `mapping: id → [Leader](#leader)`."""
    metadata = _flat_metadata(metadata)
    number = _number_kind(metadata)
    if number:
        return number
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return type_text(args[0], [*metadata, *annotation.__metadata__])
    if origin in (typing.Union, types.UnionType):
        members = [a for a in args if a is not type(None)]
        if set(members) == set(_ACTORS):
            return "actor: [`kind`](#actors) selects its fields"
        if set(members) == set(_EVENTS):
            return "event: [`type`](#events) selects its fields"
        return " or ".join(type_text(member, metadata) for member in members)
    if origin is typing.Literal:
        return " or ".join(f"`{value}`" for value in args)
    if origin is dict:
        return f"mapping: {type_text(args[0])} → {type_text(args[1])}"
    if origin is list:
        return f"list of {type_text(args[0])}"
    if annotation is Any:
        return "any value"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return _link(annotation)
    if annotation is str:
        pattern = any(getattr(item, "pattern", None) for item in metadata)
        return "id" if pattern else "text"
    names = {dt.date: "date", int: "integer", float: "number", bool: "true or false"}
    text = names.get(annotation, getattr(annotation, "__name__", str(annotation)))
    bounds = _bounds(metadata)
    return f"{text}, {bounds}" if bounds else text


def default_text(field: FieldInfo) -> str:
    """The default as a reader would write it, or `required`."""
    if field.is_required():
        return "**required**"
    value = field.get_default(call_default_factory=True)
    if value is None:
        return "—"
    if isinstance(value, BaseModel):
        return "all defaults"
    if isinstance(value, dict):
        return "`{}`"
    if isinstance(value, list):
        return "`[]`"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, str) and value and not value.strip("0123456789."):
        return f'`"{value}"`'  # a number written as text
    return f"`{value}`"


def table(model: type[BaseModel], skip: Sequence[str] = ()) -> str:
    """One row per field of ``model``: key, type, default, description."""
    rows = ["| key | type | default | description |", "|---|---|---|---|"]
    # The key that selects a model (`kind`, `type`) first, then in definition order.
    fields = sorted(model.model_fields.items(), key=lambda item: item[0] not in ("kind", "type"))
    for name, field in fields:
        if name in skip:
            continue
        rows.append(
            "| "
            + " | ".join(
                [
                    f"`{name}`",
                    _cell(type_text(field.annotation, field.metadata)),
                    _cell(default_text(field)),
                    _cell(field.description or ""),
                ]
            )
            + " |"
        )
    return "\n".join(rows)


def _section(level: int, title: str, *paragraphs: str) -> str:
    return "\n\n".join([f"{'#' * level} {title}", *(p for p in paragraphs if p)])


def _tag(model: type[BaseModel], key: str) -> str:
    (value,) = typing.get_args(model.model_fields[key].annotation)
    return str(value)


# ----------------------------------------------------------------- the reference


def generate() -> str:
    """The generated reference, markers included, ending with a newline."""
    common_event = list(schema.EventBase.model_fields)
    (pattern,) = [m.pattern for m in typing.get_args(schema.Identifier)[1].metadata]
    metrics = ", ".join(f"`{name}`" for name in schema.RUN_METRICS)
    parts = [
        BEGIN,
        "<!-- Generated from src/negsim/scenario/schema.py; do not edit by hand. "
        f"Update with: {COMMAND} -->",
        _section(
            2,
            "Reference",
            "Every key of a scenario file, generated from the schema "
            "(`src/negsim/scenario/schema.py`). A key marked **required** must be given; "
            "any other key may be left out and takes its default (— means unset). "
            "Unknown keys are errors. An *id* is a lower-case identifier: letters, digits "
            f"and underscores, starting with a letter (`{pattern}`). A *date* is written "
            "YYYY-MM-DD.",
        ),
        _section(3, "Scenario", _doc(schema.Scenario) + " The top level.", table(schema.Scenario)),
        _section(3, "Calendar", _doc(schema.Calendar), table(schema.Calendar)),
        _section(3, "Issue", _doc(schema.Issue), table(schema.Issue)),
        _section(
            3,
            "Actors",
            "Actors are given by id under `actors`; each has a `kind`, which selects "
            "its fields: "
            + ", ".join(f"[`{_tag(m, 'kind')}`](#{anchor(m.__name__)})" for m in _ACTORS)
            + ".",
        ),
        *(
            _section(
                4, model.__name__, f"`kind: {_tag(model, 'kind')}`. {_doc(model)}", table(model)
            )
            for model in _ACTORS
        ),
        _section(3, "Leader", _doc(schema.Leader), table(schema.Leader)),
        _section(3, "NamedSuccessor", _doc(schema.NamedSuccessor), table(schema.NamedSuccessor)),
        _section(3, "Successor", _doc(schema.Successor), table(schema.Successor)),
        _section(3, "Region", _doc(schema.Region), table(schema.Region)),
        _section(
            3,
            "Events",
            "Events are a list under `events`. Each has a `type`, which selects its "
            "fields: "
            + ", ".join(f"[`{_tag(m, 'type')}`](#{anchor(m.__name__)})" for m in _EVENTS)
            + ". A scheduled event has a `date`; a stochastic one has a weekly `hazard` "
            "instead (give exactly one). These fields are common to every type:",
            table(schema.EventBase),
        ),
        *(
            _section(
                4,
                model.__name__,
                f"`type: {_tag(model, 'type')}`. {_doc(model)} "
                "Also takes the [common event fields](#events).",
                table(model, skip=common_event),
            )
            for model in _EVENTS
        ),
        _section(3, "Parameters", _doc(schema.Parameters), table(schema.Parameters)),
        _section(3, "Variant", _doc(schema.Variant), table(schema.Variant)),
        _section(
            3,
            "Hypothesis",
            _doc(schema.Hypothesis),
            table(schema.Hypothesis),
            f"`metric` is one of the columns of `runs.csv`: {metrics}; or "
            "`weeks_to_agreement` (weeks to the first agreement, censored at the horizon).",
        ),
        _section(4, "SmallestEffect", _doc(schema.SmallestEffect), table(schema.SmallestEffect)),
        _section(3, "Experiment", _doc(schema.Experiment), table(schema.Experiment)),
        _section(
            3,
            "Pattern",
            _doc(Pattern),
            table(Pattern),
            "`metric` is one of the per-week metrics of `timeseries.csv`: "
            + ", ".join(f"`{name}`" for name in WEEKLY_METRICS)
            + ", and `capability.<id>` and `control.<id>` for every government, faction "
            "and spoiler. A pattern's rule in words is in `patterns.csv` (`rule`).",
        ),
        _section(
            3,
            "Distributions",
            "Wherever the type says *number or distribution*, a mapping with exactly one "
            "key naming a distribution may stand for the number; it is drawn once per "
            "replication. A range on the key (e.g. 0 to 1) must hold over the "
            "distribution's whole support.",
        ),
        *(
            _section(4, key, f"`{example}`. {_doc(model)}", table(model))
            for key, model, example in _DISTRIBUTIONS
        ),
        END,
    ]
    return "\n\n".join(parts) + "\n"


# ---------------------------------------------------------------- the document


class MarkersError(ValueError):
    """The document lacks the markers around the generated part."""


def _split(text: str) -> tuple[str, str, str]:
    """The text before the generated part, the part (markers included), and after."""
    start = text.find(BEGIN)
    end = text.find(END, start + 1) if start >= 0 else -1
    if start < 0 or end < 0:
        raise MarkersError(f"no {BEGIN} ... {END} markers")
    end += len(END)
    if text[end : end + 1] == "\n":
        end += 1
    return text[:start], text[start:end], text[end:]


def check(path: Path) -> list[str]:
    """Differences between the generated part of ``path`` and the schema (empty: in sync)."""
    _, current, _ = _split(path.read_text(encoding="utf-8"))
    wanted = generate()
    if current == wanted:
        return []
    return list(
        difflib.unified_diff(
            current.splitlines(),
            wanted.splitlines(),
            f"{path} (as written)",
            f"{path} (from the schema)",
            lineterm="",
        )
    )


def write(path: Path) -> bool:
    """Rewrite the generated part of ``path`` (append it if absent); True if it changed."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    try:
        before, current, after = _split(text)
    except MarkersError:
        before, current, after = text + ("\n" if text and not text.endswith("\n") else ""), "", ""
    wanted = generate()
    if current == wanted:
        return False
    path.write_text(before + wanted + after, encoding="utf-8")
    return True


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m negsim.scenario.reference",
        description="Generate the scenario format reference from the schema.",
    )
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--check", metavar="FILE", type=Path, help="exit 1 if FILE is stale")
    group.add_argument("--write", metavar="FILE", type=Path, help="rewrite FILE's generated part")
    args = parser.parse_args(argv)
    if args.check:
        try:
            differences = check(args.check)
        except (OSError, MarkersError) as error:
            print(f"{args.check}: {error}", file=sys.stderr)
            return 1
        if differences:
            print("\n".join(differences), file=sys.stderr)
            print(f"{args.check}: out of date with the schema; run: {COMMAND}", file=sys.stderr)
            return 1
        print(f"{args.check}: in sync with the schema")
        return 0
    if args.write:
        changed = write(args.write)
        print(f"{args.write}: {'updated' if changed else 'already in sync'}")
        return 0
    sys.stdout.write(generate())
    return 0


if __name__ == "__main__":
    sys.exit(main())

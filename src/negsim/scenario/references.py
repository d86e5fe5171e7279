"""Checks between parts of a scenario: ids that must exist, dates inside the calendar.

Written against the raw (merged) data rather than the validated models, so
that reference problems are reported even when the same file also has type
errors: every problem at once, not the first.
"""

from __future__ import annotations

import datetime as dt
import difflib
from typing import Any

from negsim.scenario.schema import ACTOR_KINDS, RUN_METRICS

Found = list[tuple[tuple[str | int, ...], str]]

COMBATANT_KINDS = ("government", "faction", "spoiler")
_EVENT_ACTOR_KINDS = {
    "intervention": ("patron",),
    "patron_policy": ("patron",),
    "escalation": COMBATANT_KINDS,
    "offensive": COMBATANT_KINDS,
    "shock": COMBATANT_KINDS,
    "stance_change": ("government", "opposition"),
}


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _hint(name: Any, choices: list[str]) -> str:
    close = difflib.get_close_matches(str(name), choices, n=1, cutoff=0.6)
    if close:
        return f"; did you mean {close[0]!r}?"
    return f"; known: {', '.join(choices)}" if choices and len(choices) <= 12 else ""


def _a(noun: str) -> str:
    return ("an " if noun[:1] in "aeiou" else "a ") + noun


def _text(value: Any) -> str | None:
    """A name as given, or None when it is not text (the schema reports that)."""
    return value if isinstance(value, str) else None


def _date(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    return value if isinstance(value, dt.date) else None


def check_references(data: dict[str, Any], variant_only: bool = False) -> Found:
    """Every broken reference in ``data`` as (path, message)."""
    found: Found = []
    actors = _mapping(data.get("actors"))
    # Only valid kinds: an actor without one is reported by the schema, once.
    kinds = {key: _mapping(a).get("kind") for key, a in actors.items()}
    kinds = {key: kind for key, kind in kinds.items() if kind in ACTOR_KINDS}

    def of_kind(*wanted: str) -> list[str]:
        return [key for key, kind in kinds.items() if kind in wanted]

    def need(path: tuple[str | int, ...], name: Any, wanted: tuple[str, ...], what: str) -> None:
        if not isinstance(name, str) or not isinstance(data.get("actors"), dict):
            return  # not a name, or no actors to look in: the schema reports it
        if name in actors and name not in kinds:
            return  # the actor's own `kind` is missing or wrong: reported there
        pool = of_kind(*wanted)
        if name not in pool:
            if name in kinds:
                found.append((path, f"{name!r} is {_a(str(kinds[name]))}, not {_a(what)}"))
            else:
                found.append((path, f"unknown {what} {name!r}{_hint(name, pool)}"))

    if actors:
        for kind in ("government", "opposition"):
            ids = of_kind(kind)
            if len(ids) != 1:
                found.append((("actors",), f"needs exactly one {kind} actor (got {len(ids)})"))
        if not of_kind("faction"):
            found.append((("actors",), "needs at least one faction in the opposition coalition"))
    for key, actor in actors.items():
        actor = _mapping(actor)
        if actor.get("kind") == "faction":
            need(
                ("actors", key, "coalition"),
                actor.get("coalition"),
                ("opposition",),
                "opposition coalition",
            )
        if actor.get("kind") == "patron":
            need(
                ("actors", key, "client"),
                actor.get("client"),
                ("government", "opposition"),
                "client (government or opposition)",
            )

    leaders = _mapping(data.get("leaders"))
    led: dict[str, str] = {}
    for key, leader in leaders.items():
        leader = _mapping(leader)
        faction = leader.get("faction")
        need(("leaders", key, "faction"), faction, ("faction",), "faction")
        if isinstance(faction, str) and faction in led:
            found.append(
                (
                    (("leaders", key, "faction")),
                    f"faction {faction!r} already has leader {led[faction]!r}",
                )
            )
        elif isinstance(faction, str):
            led[faction] = key
        for patron in _mapping(leader.get("ties")):
            need(("leaders", key, "ties", patron), patron, ("patron",), "patron")

    regions = _mapping(data.get("regions"))
    for key, region in regions.items():
        region = _mapping(region)
        adjacent = region.get("adjacent") or []
        for index, other in enumerate(adjacent if isinstance(adjacent, list) else []):
            if not isinstance(other, str):
                continue
            if other == key:
                found.append(
                    (("regions", key, "adjacent", index), "a region cannot be adjacent to itself")
                )
            elif other not in regions:
                found.append(
                    (
                        ("regions", key, "adjacent", index),
                        f"unknown region {other!r}{_hint(other, list(regions))}",
                    )
                )
        control = _mapping(region.get("control"))
        for holder in control:
            need(
                ("regions", key, "control", holder),
                holder,
                COMBATANT_KINDS,
                "combatant (government, faction or spoiler)",
            )
        shares = [
            v for v in control.values() if isinstance(v, int | float) and not isinstance(v, bool)
        ]
        if control and len(shares) == len(control) and abs(sum(shares) - 1.0) > 1e-6:
            found.append(
                (("regions", key, "control"), f"shares must sum to 1 (got {sum(shares):.4g})")
            )

    calendar = _mapping(data.get("calendar"))
    start, end = _date(calendar.get("start")), _date(calendar.get("end"))
    if start and end and end <= start:
        found.append((("calendar", "end"), f"must be after start {start} (got {end})"))

    def in_calendar(path: tuple[str | int, ...], value: Any) -> None:
        day = _date(value)
        if day and start and end and end > start and not start <= day <= end:
            found.append((path, f"date outside the calendar {start} to {end} (got {day})"))

    raw_events = data.get("events")
    events = raw_events if isinstance(raw_events, list) else []
    seen_ids: dict[str, int] = {}
    for index, event in enumerate(events):
        event = _mapping(event)
        base: tuple[str | int, ...] = ("events", index)
        event_id = event.get("id")
        if isinstance(event_id, str):
            if event_id in seen_ids:
                found.append(
                    (
                        base + ("id",),
                        f"duplicate event id {event_id!r} (also events[{seen_ids[event_id]}])",
                    )
                )
            else:
                seen_ids[event_id] = index
        has_date, has_hazard = event.get("date") is not None, event.get("hazard") is not None
        if has_date == has_hazard:
            found.append((base, "give exactly one of 'date' (scheduled) or 'hazard' (stochastic)"))
        for field in ("date", "window_start", "window_end"):
            in_calendar(base + (field,), event.get(field))
        event_type = _text(event.get("type"))
        if event_type in _EVENT_ACTOR_KINDS:
            need(
                base + ("actor",),
                event.get("actor"),
                _EVENT_ACTOR_KINDS[event_type],
                " or ".join(_EVENT_ACTOR_KINDS[event_type]),
            )
        if event_type == "offensive":
            region = _text(event.get("region"))
            if region is not None and region not in regions:
                found.append(
                    (base + ("region",), f"unknown region {region!r}{_hint(region, list(regions))}")
                )
        if event_type == "leader_removal":
            leader = _text(event.get("leader"))
            if leader is not None and leader not in leaders:
                found.append(
                    (base + ("leader",), f"unknown leader {leader!r}{_hint(leader, list(leaders))}")
                )
            if _text(event.get("by")) is not None and event.get("by") not in actors:
                found.append(
                    (
                        base + ("by",),
                        f"unknown actor {event.get('by')!r}{_hint(event.get('by'), list(actors))}",
                    )
                )
        if event_type == "negotiation_round":
            need(base + ("mediator",), event.get("mediator"), ("mediator",), "mediator")

    if variant_only:
        return found

    variants = _mapping(data.get("variants"))
    for key, variant in variants.items():
        variant = _mapping(variant)
        for event_id, date in _mapping(variant.get("move_events")).items():
            in_calendar(("variants", key, "move_events", event_id), date)

    names = ["base", *variants]
    for key, hypothesis in _mapping(data.get("hypotheses")).items():
        hypothesis = _mapping(hypothesis)
        metric = hypothesis.get("metric")
        if metric is not None and metric not in RUN_METRICS:
            found.append(
                (
                    ("hypotheses", key, "metric"),
                    f"unknown metric {metric!r}{_hint(metric, list(RUN_METRICS))}",
                )
            )
        for role in ("treatment", "control"):
            name = hypothesis.get(role)
            if name is not None and name not in names:
                found.append(
                    (("hypotheses", key, role), f"unknown variant {name!r}{_hint(name, names)}")
                )
        if hypothesis.get("treatment") is not None and hypothesis.get(
            "treatment"
        ) == hypothesis.get("control"):
            found.append((("hypotheses", key, "control"), "treatment and control must differ"))

    # `uncertain` is checked against the validated scenario (defaults included):
    # negsim.scenario.uncertain.check_uncertain.
    return found

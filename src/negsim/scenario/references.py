"""Checks between parts of a scenario: ids that must exist, dates inside the calendar.

Written against the raw (merged) data rather than the validated models, so
that reference problems are reported even when the same file also has type
errors: every problem at once, not the first.
"""

from __future__ import annotations

import datetime as dt
import difflib
from typing import Any

from negsim.scenario.schema import ACTOR_KINDS, DERIVED_METRICS, RUN_METRICS, metric_hint

Found = list[tuple[tuple[str | int, ...], str]]

COMBATANT_KINDS = ("government", "faction", "spoiler")
_EVENT_ACTOR_KINDS = {
    "intervention": ("patron",),
    "patron_policy": ("patron",),
    "mediator_policy": ("mediator",),
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
                ("government", "opposition", "spoiler"),
                "client (government, opposition or spoiler)",
            )

    leaders = _mapping(data.get("leaders"))
    led: dict[str, str] = {}
    # Every id a removal may name: leaders and named successors -> their faction's leader.
    chain_ids: dict[str, str] = {}
    government_leaders: list[str] = []
    for key, leader in leaders.items():
        leader = _mapping(leader)
        faction, government = leader.get("faction"), leader.get("government")
        if (faction is None) == (government is None):
            found.append(
                (
                    ("leaders", key),
                    "give exactly one of 'faction' (a faction's leader) or 'government'",
                )
            )
            continue
        if government is not None:
            need(("leaders", key, "government"), government, ("government",), "government")
            government_leaders.append(key)
            if leader.get("in_office") is True and any(
                _mapping(leaders[other]).get("in_office") is True
                for other in government_leaders[:-1]
            ):
                found.append(
                    (
                        ("leaders", key, "in_office"),
                        "another head of government is in office at the start",
                    )
                )
            for field in ("successors", "ties"):
                if leader.get(field):
                    found.append(
                        ((("leaders", key, field)), f"'{field}' is for faction leaders only")
                    )
            continue
        need(("leaders", key, "faction"), faction, ("faction",), "faction")
        if leader.get("in_office"):
            found.append(
                (
                    ("leaders", key, "in_office"),
                    "'in_office' is for government leaders (a faction's leader is in office until removed)",
                )
            )
        for field in ("resolve", "willingness_bias", "position", "cost_sensitivity", "optimism"):
            if leader.get(field) is not None:
                found.append(
                    (
                        ("leaders", key, field),
                        f"'{field}' is for government leaders; a faction leader has moderation and authority",
                    )
                )
        if isinstance(faction, str) and faction in led:
            found.append(
                (
                    (("leaders", key, "faction")),
                    f"faction {faction!r} already has leader {led[faction]!r} "
                    "(list later leaders under its `successors`)",
                )
            )
        elif isinstance(faction, str):
            led[faction] = key
        chain_ids[key] = key
        for patron in _mapping(leader.get("ties")):
            need(("leaders", key, "ties", patron), patron, ("patron",), "patron")
        successors = leader.get("successors")
        for index, successor in enumerate(successors if isinstance(successors, list) else []):
            successor = _mapping(successor)
            successor_id = successor.get("id")
            if isinstance(successor_id, str):
                if successor_id in chain_ids or successor_id in leaders:
                    found.append(
                        (
                            ("leaders", key, "successors", index, "id"),
                            f"id {successor_id!r} is already a leader's",
                        )
                    )
                else:
                    chain_ids[successor_id] = key
            for patron in _mapping(successor.get("ties")):
                need(
                    ("leaders", key, "successors", index, "ties", patron),
                    patron,
                    ("patron",),
                    "patron",
                )
    if government_leaders and not any(
        _mapping(leaders[key]).get("in_office") is True for key in government_leaders
    ):
        found.append(
            (
                ("leaders", government_leaders[0]),
                "no head of government is in office at the start: mark the one who is with "
                "`in_office: true`",
            )
        )

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
            leader, faction = _text(event.get("leader")), _text(event.get("faction"))
            if (event.get("leader") is None) == (event.get("faction") is None):
                found.append((base, "give exactly one of 'leader' or 'faction'"))
            if leader is not None and leader not in chain_ids:
                if leader in government_leaders:
                    found.append(
                        (
                            base + ("leader",),
                            f"{leader!r} leads the government; a `government_change` replaces him",
                        )
                    )
                else:
                    found.append(
                        (
                            base + ("leader",),
                            f"unknown leader {leader!r}{_hint(leader, list(chain_ids))}",
                        )
                    )
            if faction is not None:
                need(base + ("faction",), faction, ("faction",), "faction")
        if event_type == "commander_removal":
            need(base + ("faction",), event.get("faction"), ("faction",), "faction")
        if (
            event_type in ("leader_removal", "commander_removal")
            and _text(event.get("by")) is not None
            and event.get("by") not in actors
        ):
            found.append(
                (
                    base + ("by",),
                    f"unknown actor {event.get('by')!r}{_hint(event.get('by'), list(actors))}",
                )
            )
        if event_type == "government_change":
            leader = _text(event.get("leader"))
            if leader is not None and leader not in government_leaders:
                found.append(
                    (
                        base + ("leader",),
                        f"unknown government leader {leader!r}"
                        f"{_hint(leader, government_leaders)}"
                        + (" (it leads a faction)" if leader in chain_ids else ""),
                    )
                )
        if event_type == "ceasefire" and event.get("actor") is not None:
            # The opposition as the declaring side: a truce by all its factions.
            need(
                base + ("actor",),
                event.get("actor"),
                (*COMBATANT_KINDS, "opposition"),
                "combatant (government, faction or spoiler) or the opposition",
            )
        if event_type in ("ceasefire", "negotiation_round"):
            for field in ("covers", "against"):
                named = event.get(field)
                for position, name in enumerate(named if isinstance(named, list) else []):
                    need(
                        base + (field, position),
                        name,
                        (*COMBATANT_KINDS, "opposition"),
                        "combatant (government, faction or spoiler) or the opposition",
                    )
            if event.get("against") is not None and event.get("actor") is None:
                found.append((base + ("against",), "'against' needs 'actor' (a one-sided truce)"))
            if event.get("covers") is not None and event.get("actor") is not None:
                found.append(
                    (base + ("covers",), "a one-sided truce covers its actor: use 'against'")
                )
            in_calendar(base + ("until",), event.get("until"))
        if event_type == "negotiation_round":
            mediators = event.get("mediator")
            if isinstance(mediators, list):
                for position, mediator in enumerate(mediators):
                    need(base + ("mediator", position), mediator, ("mediator",), "mediator")
                if not mediators:
                    found.append((base + ("mediator",), "name at least one mediator"))
            else:
                need(base + ("mediator",), mediators, ("mediator",), "mediator")

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
        if metric is not None and metric not in RUN_METRICS + DERIVED_METRICS:
            found.append(
                (
                    ("hypotheses", key, "metric"),
                    f"unknown metric {metric!r}{metric_hint(metric)}",
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


def _zero(value: Any) -> bool:
    """A plain number 0 (a distribution or a missing value is not)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and value == 0


_CHANGES = {
    "patron_policy": ("commitment", "capacity", "supports_talks", "responsiveness"),
    "mediator_policy": ("leverage", "bias"),
    "stance_change": ("resolve", "willingness_bias", "cost_sensitivity", "optimism", "position"),
}
_STRENGTHS = {
    "intervention": ("intensity",),
    "escalation": ("intensity",),
    "offensive": ("intensity",),
    "ceasefire": ("strength",),
    "shock": ("capability_loss", "cohesion_loss"),
    "commander_removal": ("capability_loss", "cohesion_shock"),
}


def check_effects(data: dict[str, Any], variant: bool = False) -> tuple[Found, Found]:
    """Events that validate but can never act: errors where they never can, warnings where they may not.

    Returns (errors, warnings), each as (path, message), events named by id.
    With ``variant`` (the data is a variant's edit of a scenario) a removal
    that can never act is a warning: a counterfactual that spares a leader
    makes the later removal of his successor moot, which is its meaning, not
    a mistake.
    """
    errors: Found = []
    warnings: Found = []
    raw_events = data.get("events")
    events = [
        e for e in (raw_events if isinstance(raw_events, list) else []) if isinstance(e, dict)
    ]
    leaders = _mapping(data.get("leaders"))

    def where(event: dict[str, Any], *field: str) -> tuple[str | int, ...]:
        return ("events", str(event.get("id")), *field)

    for event in events:
        kind = event.get("type")
        if kind in _CHANGES and all(event.get(f) is None for f in _CHANGES[kind]):
            errors.append(
                (where(event), f"changes nothing: give at least one of {', '.join(_CHANGES[kind])}")
            )
        if kind in _STRENGTHS and all(_zero(event.get(f)) for f in _STRENGTHS[kind]):
            fields = " and ".join(_STRENGTHS[kind])
            warnings.append(
                (where(event, _STRENGTHS[kind][0]), f"{fields} 0: the event has no effect")
            )
        if _zero(event.get("duration_weeks")):
            warnings.append((where(event, "duration_weeks"), "lasts 0 weeks: never in force"))
        if kind == "government_change":
            leader = _mapping(leaders.get(str(event.get("leader"))))
            traits = ("resolve", "willingness_bias", "position", "cost_sensitivity", "optimism")
            if leader and all(leader.get(t) is None for t in traits):
                errors.append(
                    (
                        where(event, "leader"),
                        f"leader {event.get('leader')!r} has no traits to bring into office "
                        f"(give at least one of {', '.join(traits)})",
                    )
                )

    # Leader chains: a named leader is removed once, and only once in office.
    (warnings if variant else errors).extend(_chain_errors(data, events, leaders))

    # A head of government neither in office at the start nor brought in by a
    # government_change would be inert: an error, but a warning in a variant
    # (a counterfactual without the change of government means exactly that).
    brought_in = {e.get("leader") for e in events if e.get("type") == "government_change"}
    for key, leader in leaders.items():
        leader = _mapping(leader)
        if leader.get("government") is None or leader.get("in_office") is True:
            continue
        if key not in brought_in:
            (warnings if variant else errors).append(
                (
                    ("leaders", key),
                    "this head of government never takes office, so he changes nothing: mark "
                    "`in_office: true` if he is in office at the start, or bring him in with a "
                    "`government_change` event",
                )
            )

    # Rounds in session at the same time: their mediators act jointly.
    rounds = sorted(
        (e for e in events if e.get("type") == "negotiation_round" and _date(e.get("date"))),
        key=lambda e: _date(e.get("date")) or dt.date.min,
    )
    for index, first in enumerate(rounds):
        length = first.get("duration_weeks", 4)
        if not isinstance(length, int | float) or isinstance(length, bool):
            continue
        try:
            ends = _date(first.get("date")) + dt.timedelta(weeks=float(length))  # type: ignore[operator]
        except (OverflowError, ValueError):
            # Longer than any calendar (1e30 weeks): in session to the end of time.
            # A nan is the schema's to report, by field.
            if not length > 0:
                continue
            ends = dt.date.max
        for second in rounds[index + 1 :]:
            if _date(second.get("date")) < ends:  # type: ignore[operator]
                warnings.append(
                    (
                        where(second, "date"),
                        f"overlaps round {first.get('id')!r} (in session to {ends}): while both "
                        "are, their mediators act jointly (combined leverage 1 - prod(1 - leverage))",
                    )
                )

    first_round = _date(rounds[0].get("date")) if rounds else None
    for event in events:
        day = _date(event.get("date"))
        if (
            event.get("type") in ("referendum", "ratification")
            and day
            and (first_round is None or day <= first_round)
        ):
            warnings.append(
                (
                    where(event, "date"),
                    "no negotiation round comes before it: there can be no agreement to vote on",
                )
            )
    return errors, warnings


def _chain_errors(
    data: dict[str, Any], events: list[dict[str, Any]], leaders: dict[str, Any]
) -> Found:
    """Removals of a named leader that can never act: he is gone already, or never in office.

    Walks each faction's scheduled removals in the order the model applies
    them (by week, then by place in the list), keeping the range of places
    in the line of succession that can be in office: a scheduled removal of
    whoever leads moves both ends on, a named one moves them where he can be
    in office, a stochastic one can only widen the range (it may not fire).
    """
    found: Found = []
    place: dict[str, tuple[str, int]] = {}  # leader or named successor -> (faction, place)
    for key, leader in leaders.items():
        leader = _mapping(leader)
        faction = leader.get("faction")
        if not isinstance(faction, str):
            continue
        place.setdefault(key, (faction, 0))
        successors = leader.get("successors")
        for index, successor in enumerate(successors if isinstance(successors, list) else []):
            successor_id = _mapping(successor).get("id")
            if isinstance(successor_id, str):
                place.setdefault(successor_id, (faction, index + 1))
    calendar = _mapping(data.get("calendar"))
    start = _date(calendar.get("start"))

    def week(day: dt.date | None) -> int:
        return (day - start).days // 7 if day is not None and start is not None else 0

    # (week, position in the list, event, scheduled?) of every removal, in the model's order.
    removals: list[tuple[int, int, dict[str, Any], bool]] = []
    for position, event in enumerate(events):
        if event.get("type") != "leader_removal":
            continue
        day = _date(event.get("date"))
        if day is not None:
            removals.append((week(day), position, event, True))
        elif event.get("hazard") is not None:
            removals.append((week(_date(event.get("window_start"))), position, event, False))
    removals.sort(key=lambda r: (r[0], r[1]))

    def target(event: dict[str, Any]) -> tuple[str | None, int | None]:
        named = event.get("leader")
        if isinstance(named, str) and named in place:
            return place[named]
        faction = event.get("faction")
        return (faction if isinstance(faction, str) else None), None

    low: dict[str, int] = {}  # fewest removals that can have acted, per faction
    high: dict[str, int] = {}  # most
    gone_by: dict[tuple[str, int], dict[str, Any]] = {}  # (faction, place) -> the removal
    for _, _, event, scheduled in removals:
        faction, depth = target(event)
        if faction is None:
            continue
        least, most = low.get(faction, 0), high.get(faction, 0)
        if depth is None:  # whoever leads the faction then
            low[faction] = least + 1 if scheduled else least
            if scheduled and least == most:
                gone_by[(faction, least)] = event
            high[faction] = most + 1
            continue
        if scheduled and depth < least:
            removed_id = event.get("leader")
            earlier = gone_by.get((faction, depth))
            by = (
                f" by event {earlier.get('id')!r} on {_date(earlier.get('date'))}"
                if earlier is not None
                else ""
            )
            found.append(
                (
                    ("events", str(event.get("id")), "leader"),
                    f"{removed_id!r} is already removed{by}: this removal can never act "
                    "(name his successor, or use `faction:` to remove whoever leads then)",
                )
            )
            continue
        if scheduled and depth > most:
            found.append(
                (
                    ("events", str(event.get("id")), "leader"),
                    f"{event.get('leader')!r} can never be in office on "
                    f"{_date(event.get('date'))}: he is number {depth} in the line of succession "
                    f"of {faction!r}, and at most {most} removal(s) of its leaders can act before",
                )
            )
            continue
        if not scheduled:
            # It may fire any week of its window: it may act if he can still come to office.
            if depth >= least:
                high[faction] = max(most, depth + 1)
            continue
        if least == most:
            gone_by[(faction, depth)] = event
        if least == depth:
            low[faction] = depth + 1
        high[faction] = max(most, depth + 1)
    return found

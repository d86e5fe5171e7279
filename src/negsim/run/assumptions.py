"""Assumptions drawn per run: the `uncertain` block as a prior, one draw per replication.

`negsim run` draws, by default, each replication's value of every path of
the scenario's `uncertain` block from its distribution (a probabilistic
sensitivity analysis); ``--at-values`` runs at the values the scenario writes.

How a draw is made. The path's written value is replaced by its `uncertain`
distribution in the validated scenario's data, and the model draws it as it
draws any number written as a distribution: one value per replication, from
the stream named for the number (`parameter:<path>`, seeded by the seed and
the chunk; `negsim.model.streams`). So

- a replication's base and every counterfactual variant draw the **same**
  value (the stream is named by the path, never by the variant: common
  random numbers over the assumptions as over the noise);
- drawing shifts no other stream: a number written fixed consumes the same
  one block of its own stream, so the runs' noise is the same drawn or not;
- the runs do not depend on the number of workers, and N runs are an exact
  prefix of 2N (draws are per chunk, like every other stream).

A variant's edits apply after the substitution, as the sweep applies them
at its sample points:

- a variant that `set`s a path (or a mapping holding it, or a number inside
  it) keeps its own written value: the value it sets is the treatment;
- an uncertain path into an event the variant removes has no effect there
  (its `input.<path>` column is empty in that variant's rows);
- an event the variant adds is written by the variant, so its values are too.

A path whose number is one value for every replication of a chunk (the
spin-up's length, a region's value, the issue's ends: the calendar and the
map are shared by all runs), or an argument of a distribution (the model
draws the number, once per run, not its distribution's arguments), cannot
be drawn per run: `negsim run` refuses it in one line, before anything is
written, and points to ``--at-values`` or `negsim sweep`.

`runs.csv` carries the value each replication used as column
`input.<path>` (:func:`inputs`), drawn or written.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterable
from typing import Any

import numpy as np
from pydantic import TypeAdapter, ValidationError

from negsim.errors import NegsimError
from negsim.results.tables import INPUT_PREFIX
from negsim.scenario.distributions import AnyNumber
from negsim.scenario.loader import ScenarioFile, apply_set, set_in_copy
from negsim.scenario.schema import Scenario
from negsim.scenario.uncertain import lookup

DRAWN = "drawn"
WRITTEN = "written"
ASSUMPTIONS = (DRAWN, WRITTEN)
"""The manifest's `assumptions`: drawn per run (the default) or at the written values."""


# Numbers of `parameters` the model reads once for all replications (the spin-up's
# schedule, who proposes first): never per run (`negsim.model.world`).
_SHARED_PARAMETERS = frozenset(
    {"spinup_weeks", "spinup_tolerance", "spinup_window", "first_proposer"}
)
_DISTRIBUTION_KEYS = frozenset({"uniform", "normal", "beta", "triangular"})
_NUMBER: TypeAdapter[Any] = TypeAdapter(AnyNumber)


def input_column(path: str) -> str:
    """The `runs.csv` column of an `uncertain` path."""
    return INPUT_PREFIX + path


def stream_name(path: str) -> str:
    """The name of the stream the model draws the number at ``path`` from (`Streams.parameter`).

    Mostly the path itself. A leader's named successor is drawn under his
    own id (`leaders.<successor>.<field>`), and the first drawn successor of
    a leader (`leaders.<id>.successor.<field>`) under `succession:<id>`.
    """
    parts = path.split(".")
    if len(parts) >= 5 and parts[0] == "leaders" and parts[2] == "successors":
        return ".".join(["leaders", *parts[3:]])
    if len(parts) >= 4 and parts[0] == "leaders" and parts[2] == "successor":
        return f"succession:{parts[1]}." + ".".join(parts[3:])
    return path


def _shared(path: str) -> str | None:
    """Why the number at ``path`` is one value for every run (None: it can be drawn per run)."""
    parts = path.split(".")
    if any(part in _DISTRIBUTION_KEYS for part in parts[1:]):
        return (
            "it is an argument of a distribution, and the model draws a number once per run "
            "from its distribution, not the distribution's arguments"
        )
    if parts[0] == "parameters" and len(parts) == 2 and parts[1] in _SHARED_PARAMETERS:
        return "the model reads it once for all runs (the spin-up's schedule, the first proposer)"
    if parts[0] in ("regions", "issue", "calendar"):
        return f"`{parts[0]}` is shared by all runs of a chunk (the map, the issue, the calendar)"
    return None


def _written_by_variant(variant: Any, path: str) -> bool:
    """Whether a variant's own edits write the number at ``path`` (its value is the treatment).

    A `set` of the path itself, of a mapping that holds it, or of a number
    inside it (an argument of its distribution); any field of an event the
    variant adds.
    """
    if variant is None:
        return False
    for written in variant.set:
        if path == written or path.startswith(written + ".") or written.startswith(path + "."):
            return True
    added = {event.id for event in variant.add_events}
    parts = path.split(".")
    return parts[0] == "events" and len(parts) > 1 and parts[1] in added


def _one_line(error: ValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"])
    return f"{where}: {str(first['msg']).removeprefix('Value error, ')}"


def variant_scenarios(
    scenario_file: ScenarioFile, names: Iterable[str], draw: bool = True
) -> dict[str, Scenario]:
    """The named variants, every `uncertain` path drawn per replication where ``draw``.

    Each variant is the one ``scenario_file`` holds, with the `uncertain`
    distribution put at every path it leaves as the scenario writes it. A
    path the variant writes (its `set`, an event it adds) or changes in any
    other way (a caller's edit of the variant, e.g. a channel switched off)
    keeps the variant's value; a path into an element the variant removed
    does not exist there and is left alone.

    Raises:
        NegsimError: a path that cannot be drawn per run (one line).
    """
    scenario = scenario_file.scenario
    names = list(names)
    if not draw or not scenario.uncertain:
        return {name: scenario_file.variant(name) for name in names}
    written = scenario.model_dump()
    specs = {path: _NUMBER.dump_python(over) for path, over in scenario.uncertain.items()}
    # Checked once on the scenario as written, so that a refusal names the path.
    for path, spec in specs.items():
        why = _shared(path)
        if why is None:
            data, why = set_in_copy(written, path, spec)
            if why is None:
                try:
                    Scenario.model_validate(data)
                except ValidationError as error:
                    why = _one_line(error)
        if why:
            raise NegsimError(
                f"{scenario_file.path}: uncertain.{path}: cannot be drawn per run: {why}; "
                "run at the written values (--at-values) or vary it with negsim sweep"
            )
    result: dict[str, Scenario] = {}
    for name in names:
        given = scenario_file.variant(name)
        data = given.model_dump()
        drawn = False
        for path, spec in specs.items():
            if _written_by_variant(scenario.variants.get(name), path):
                continue
            found, value = lookup(data, path)
            if not found or value != lookup(written, path)[1]:
                continue  # removed by the variant, or changed by it: its value stands
            apply_set(data, path, copy.deepcopy(spec))
            drawn = True
        if not drawn:
            result[name] = given
            continue
        try:
            result[name] = Scenario.model_validate(data)
        except ValidationError as error:
            raise NegsimError(
                f"{scenario_file.path}: variant {name} with its assumptions drawn: "
                f"{_one_line(error)}; run at the written values (--at-values)"
            ) from None
    return result


def inputs(scenario: Scenario, streams: Any) -> dict[str, np.ndarray]:
    """Each `uncertain` path's value in every replication of a simulated chunk.

    ``streams`` is the chunk model's `Streams`: a number the model drew is
    read back as drawn; one it did not need (a successor never brought in)
    is drawn from its stream now, the value it would have had. A path into
    an element the variant removed is NaN (an empty cell).
    """
    if not scenario.uncertain:
        return {}
    data = scenario.model_dump()
    values: dict[str, np.ndarray] = {}
    for path in scenario.uncertain:
        found, value = lookup(data, path)
        if not found or value is None:
            values[path] = np.full(streams.size, math.nan)
            continue
        name = stream_name(path)
        drawn = streams.drawn.get(name)
        if drawn is None:
            drawn = streams.parameter(name, _NUMBER.validate_python(value))
        values[path] = np.asarray(drawn, dtype=np.float64)
    return values

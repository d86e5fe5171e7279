"""What the model reports: per-step observables into preallocated arrays, per-run outcomes."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from negsim.model.world import ConflictModel


def metric_names(model: ConflictModel) -> list[str]:
    """Names of the per-step observables, in recording order."""
    names = [f"capability.{c.key}" for c in model.combatants]
    names += [f"control.{c.key}" for c in model.combatants]
    names += [
        "expected_outcome.government",
        "expected_outcome.opposition",
        "opposition_cohesion",
        "bargaining_range",
        "willingness.government",
        "willingness.opposition",
        "ripeness",
        "talks_in_session",
        "talks_state",
        "agreement",
    ]
    return names


class Recorder:
    """Preallocated (metric, week, replication) float32 arrays, filled each step.

    float32 halves the memory of large ensembles; observables are shares and
    capabilities of order 1, where float32's 7 digits are ample.
    """

    def __init__(self, model: ConflictModel):
        self.model = model
        self.names = metric_names(model)
        self.values = np.zeros((len(self.names), model.weeks, model.size), dtype=np.float32)

    def record(self, week: int) -> None:
        model = self.model
        n = len(model.combatants)
        out = self.values[:, week, :]
        out[:n] = model.strength.T
        out[n : 2 * n] = (model.control * model.value_share[None, :, None]).sum(axis=1).T
        row = 2 * n
        for value in (
            model.government.expected,
            model.opposition.expected,
            model.opposition.cohesion,
            model.range_width,
            model.government.willingness,
            model.opposition.willingness,
            model.ripeness,
            model.in_session,
            model.talks_state,
            model.agreed,
        ):
            out[row] = value
            row += 1


def outcomes(model: ConflictModel) -> dict[str, np.ndarray]:
    """Per-run outcomes, each of shape (R,), named as in `schema.RUN_METRICS`."""
    government = model.government.index
    factions = model.faction_columns
    return {
        "agreement": model.agreed.astype(float),
        "agreement_week": model.agreement_week,
        "settlement": model.settlement,
        "ceasefire": model.ceasefire_reached.astype(float),
        "walkouts": model.walkouts,
        "talks_weeks": model.talks_weeks,
        "bargaining_range_at_talks": model.range_at_talks,
        "opposition_cohesion_at_talks": model.cohesion_at_talks,
        "regime_control_end": model.territory(government),
        "opposition_control_end": model.territory(factions),
        "regime_losses": model.losses[:, government],
        "opposition_losses": model.losses[:, factions].sum(axis=-1),
        "leaders_removed": model.leaders_removed,
        "fragmented": model.opposition.fragmented.astype(float),
    }

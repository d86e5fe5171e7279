"""What the model reports: per-step observables into preallocated arrays, per-run outcomes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np

from negsim.model import fighting
from negsim.scenario.observed import WEEKLY_METRICS

if TYPE_CHECKING:
    from negsim.model.agents import Combatant, Government, Opposition
    from negsim.model.talks import Talks
    from negsim.scenario import schema


@runtime_checkable
class RecordedWorld(Protocol):
    """What the recording reads of the world (`negsim.model.world.ConflictModel`).

    Named here, not imported: the observables are these arrays, the sides
    and the talks, not the Mesa model that schedules the stages.
    """

    spec: schema.Scenario
    size: int
    weeks: int
    compiled: bool
    combatants: list[Combatant]
    government: Government
    opposition: Opposition
    talks: Talks
    faction_columns: np.ndarray
    strength: np.ndarray
    control: np.ndarray
    value_share: np.ndarray
    signal: np.ndarray
    ripeness: np.ndarray
    losses: np.ndarray
    leaders_removed: np.ndarray
    fragmented_ever: np.ndarray
    ceasefire_in_force: np.ndarray

    def territory(self, columns: np.ndarray | int) -> np.ndarray: ...


def metric_names(model: RecordedWorld) -> list[str]:
    """Names of the per-step observables, in recording order."""
    names = [f"capability.{c.key}" for c in model.combatants]
    names += [f"control.{c.key}" for c in model.combatants]
    # The list the scenario format checks `observed:` patterns against.
    names += list(WEEKLY_METRICS)
    return names


class Recorder:
    """Preallocated (metric, week, replication) float32 arrays, filled each step.

    float32 halves the memory of large ensembles; observables are shares and
    capabilities of order 1, where float32's 7 digits are ample.
    """

    def __init__(self, model: RecordedWorld):
        self.model = model
        self.names = metric_names(model)
        self.values = np.zeros((len(self.names), model.weeks, model.size), dtype=np.float32)

    def record(self, week: int) -> None:
        model = self.model
        talks = model.talks
        n = len(model.combatants)
        out = self.values[:, week, :]
        out[:n] = model.strength.T
        if model.compiled:
            fighting.territory_by_combatant(model.control, model.value_share, out[n : 2 * n])
        else:
            out[n : 2 * n] = (model.control * model.value_share[None, :, None]).sum(axis=1).T
        row = 2 * n
        for value in (
            model.government.expected,
            model.opposition.expected,
            model.opposition.cohesion,
            talks.range_width,
            model.government.willingness,
            model.opposition.willingness,
            model.ripeness,
            talks.in_session,
            talks.state,
            talks.stage,
            talks.offer,
            talks.demand,
            talks.trust,
            model.ceasefire_in_force,
            talks.agreed,
            talks.in_force,
            talks.at_table,
            talks.walked_government,
            talks.walked_opposition,
            talks.suspended,
            talks.voted_down_now,
        ):
            out[row] = value
            row += 1


def outcomes(model: RecordedWorld) -> dict[str, np.ndarray]:
    """Per-run outcomes, each of shape (R,), named as in `schema.RUN_METRICS`.

    Every outcome is defined for every run except those about a deal
    (`settlement`, `agreement_week`) and those 'at talks' (NaN when no round
    was held), so hypotheses can avoid conditioning on a deal.
    """
    government = model.government.index
    factions = model.faction_columns
    talks = model.talks
    band_low, band_high = model.spec.issue.compromise
    settlement = talks.settlement
    held = talks.in_force
    with np.errstate(invalid="ignore"):
        compromise = talks.agreed & (settlement >= band_low) & (settlement <= band_high)
        range_mean = np.where(talks.weeks > 0, talks.range_sum / np.maximum(talks.weeks, 1), np.nan)
        cohesion_mean = np.where(
            talks.weeks > 0, talks.cohesion_sum / np.maximum(talks.weeks, 1), np.nan
        )
    # Realised value on the issue scale: the deal if one holds at the end,
    # else the value of war from there: where the battlefield says it ends,
    # net of its expected cost (Fearon's p - c, the side's reservation point).
    deal = {"opposition": settlement, "government": 1.0 - settlement}
    war = {
        "opposition": model.signal - model.opposition.expected_cost,
        "government": 1.0 - model.signal - model.government.expected_cost,
    }
    values = {side: np.where(held, deal[side], war[side]) for side in deal}
    walkouts = talks.walkouts_government + talks.walkouts_opposition
    return {
        "agreement": talks.agreed.astype(float),
        "agreement_week": talks.agreement_week,
        "agreement_held": held.astype(float),
        "agreement_broke": talks.broke.astype(float),
        "compromise": compromise.astype(float),
        "settlement": settlement,
        "stage": talks.stage.copy(),
        "talks_held": (talks.stage >= 1).astype(float),
        "framework": (talks.stage >= 2).astype(float),
        "ceasefire": talks.ceasefire_reached.astype(float),
        "ceasefire_held": (
            (talks.ceasefire_seen | talks.ceasefire_reached) & ~talks.ceasefire_collapsed
        ).astype(float),
        "walkouts": walkouts,
        "walkouts_government": talks.walkouts_government,
        "walkouts_opposition": talks.walkouts_opposition,
        "resumptions": talks.resumptions,
        "deals_rejected": talks.rejected,
        "deals_voted_down": talks.voted_down,
        "talks_weeks": talks.weeks,
        "gap_end": talks.gap,
        "value_government": values["government"],
        "value_opposition": values["opposition"],
        "bargaining_range_at_talks": talks.range_first,
        "bargaining_range_mean_talks": range_mean,
        "opposition_cohesion_at_talks": talks.cohesion_first,
        "opposition_cohesion_mean_talks": cohesion_mean,
        "government_control_end": model.territory(government),
        "opposition_control_end": model.territory(factions),
        "government_losses": model.losses[:, government],
        "opposition_losses": model.losses[:, factions].sum(axis=-1),
        "leaders_removed": model.leaders_removed,
        "fragmented": model.fragmented_ever.astype(float),
    }

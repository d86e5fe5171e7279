"""The Mesa model: a scenario's world advanced one week at a time, for R replications at once.

One step, in stages (each stage reads the state the previous one left, so
the order in which agents are activated cannot bias results):

1. events due this week apply (scheduled, or stochastic with a hazard);
2. patrons set their support for their clients;
3. fighting: control of each region moves by a contest success function,
   forces are lost by the Lanchester square law;
4. beliefs: each side revises its expected outcome of war from the battlefield;
5. coalition: factions' and the coalition's cohesion, fragmentation;
6. negotiation, while a round is in session: bargaining range, ripeness,
   willingness, the mediator's proposal, acceptance limited by cohesion.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, cast

import mesa
import networkx as nx
import numpy as np
from mesa.discrete_space import Network

from negsim.model import beliefs, coalition, fighting, negotiation
from negsim.model.agents import (
    Combatant,
    Faction,
    Government,
    Leader,
    Mediator,
    Opposition,
    Patron,
    Spoiler,
)
from negsim.model.streams import Streams
from negsim.scenario import schema

# Talks state per week, recorded as codes.
TALKS_NONE, TALKS_AGREEMENT, TALKS_CEASEFIRE, TALKS_WALKOUT, TALKS_SUSPENDED = 0, 1, 2, 3, 4


@dataclass
class _Event:
    """An event's schedule per replication: start week (inf if not yet) and duration."""

    spec: Any
    start: np.ndarray
    duration: np.ndarray
    hazard: np.ndarray | None
    window: tuple[int, int]
    values: dict[str, np.ndarray]

    def begins(self, week: int) -> np.ndarray:
        return self.start == week

    def active(self, week: int) -> np.ndarray:
        return (self.start <= week) & (week < self.start + self.duration)


class ConflictModel(mesa.Model):
    """A scenario's world for ``replications`` replications.

    Args:
        scenario: a validated scenario (one variant).
        replications: R, the number of replications advanced together.
        seed: the experiment's master seed.
        chunk: index of this chunk of replications; chunk c with seed s always
            gives the same draws, whatever other chunks exist.
    """

    def __init__(
        self, scenario: schema.Scenario, replications: int = 1, seed: int = 0, chunk: int = 0
    ):
        # Mesa's own generators are seeded too (reproducibility of anything
        # Mesa does), but the dynamics draw only from the named streams.
        mesa_seed = int(np.random.SeedSequence(seed, spawn_key=(chunk,)).generate_state(1)[0])
        super().__init__(rng=mesa_seed)
        # Not `self.scenario`: Mesa 3.5 reserves that name for its own Scenario class.
        self.spec = scenario
        self.size = replications
        self.streams = Streams(seed, chunk, replications)
        self.start_date = scenario.calendar.start
        self.weeks = scenario.weeks()
        self.week = 0
        self.parameters = {
            name: self.streams.parameter(f"parameters.{name}", value)
            for name, value in scenario.parameters
        }
        self._build_actors(scenario)
        self._build_regions(scenario)
        self._build_events(scenario)
        self._init_state()
        from negsim.model.observations import Recorder

        self.recorder = Recorder(self)

    # ------------------------------------------------------------------ build

    def _build_actors(self, scenario: schema.Scenario) -> None:
        size = self.size
        combatant_keys = [
            k for k, a in scenario.actors.items() if a.kind in ("government", "faction", "spoiler")
        ]
        n = len(combatant_keys)
        self.forces = np.zeros((size, n))
        self.base_forces = np.zeros((size, n))
        self.recruitment = np.zeros((size, n))
        self.support = np.zeros((size, n))
        self.escalation = np.ones((size, n))
        self.strength = np.zeros((size, n))
        self.combatants: list[Combatant] = []
        self.opposition_patron_keys = [
            k
            for k, a in scenario.actors.items()
            if a.kind == "patron" and scenario.actors[a.client].kind == "opposition"
        ]
        opposition_key, opposition_spec = next(
            (k, a) for k, a in scenario.actors.items() if isinstance(a, schema.Opposition)
        )
        self.opposition = Opposition(self, opposition_key, opposition_spec)
        leaders_by_faction = {
            leader.faction: (key, leader) for key, leader in scenario.leaders.items()
        }
        self.leaders: dict[str, Leader] = {}
        for index, key in enumerate(combatant_keys):
            spec = scenario.actors[key]
            agent: Combatant
            if spec.kind == "government":
                agent = Government(self, key, spec, index)
                self.government = agent
            elif spec.kind == "faction":
                agent = Faction(self, key, spec, index)
                leader_key, leader_spec = leaders_by_faction.get(key, (f"{key}_leadership", None))
                leader = Leader(self, leader_key, leader_spec, spec, self.opposition_patron_keys)
                agent.leader = leader
                self.leaders[leader_key] = leader
                self.opposition.factions.append(agent)
            else:
                agent = Spoiler(self, key, cast(schema.Spoiler, spec), index)
            self.combatants.append(agent)
        self.faction_columns = np.array([f.index for f in self.opposition.factions])
        self.combatant_columns = {c.key: c.index for c in self.combatants}
        self.patrons = {
            k: Patron(self, k, a) for k, a in scenario.actors.items() if a.kind == "patron"
        }
        self.mediators = {
            k: Mediator(self, k, a) for k, a in scenario.actors.items() if a.kind == "mediator"
        }
        self.strength = (self.forces + self.support) * self.escalation

    def _build_regions(self, scenario: schema.Scenario) -> None:
        keys = list(scenario.regions)
        graph = nx.Graph()
        graph.add_nodes_from(range(len(keys)))
        for i, key in enumerate(keys):
            for other in scenario.regions[key].adjacent:
                graph.add_edge(i, keys.index(other))
        # layout=None: the default layout would draw from numpy's global state.
        self.space = Network(graph, random=self.random, layout=None)
        self.region_keys = keys
        self.adjacency = nx.to_numpy_array(graph, nodelist=range(len(keys)))
        self.value = np.array([scenario.regions[k].strategic_value for k in keys])
        self.value_share = (
            self.value / self.value.sum()
            if self.value.sum() > 0
            else np.full(len(keys), 1 / len(keys))
        )
        control = np.zeros((len(keys), len(self.combatants)))
        for i, key in enumerate(keys):
            for holder, share in scenario.regions[key].control.items():
                control[i, self.combatant_columns[holder]] = share
        self.control = np.broadcast_to(control, (self.size, *control.shape)).copy()

    def _build_events(self, scenario: schema.Scenario) -> None:
        self.events: list[_Event] = []
        last = self.weeks - 1
        for spec in scenario.events:
            prefix = f"events.{spec.id}"
            values = {}
            for field in ("intensity", "strength", "commitment", "capacity", "supports_talks"):
                value = getattr(spec, field, None)
                if value is not None:
                    values[field] = self.streams.parameter(f"{prefix}.{field}", value)
            duration_spec = getattr(spec, "duration_weeks", None)
            if spec.type == "leader_removal" or spec.type == "patron_policy":
                duration = np.ones(self.size)
            elif duration_spec is None:
                duration = np.full(self.size, np.inf)
            else:
                duration = self.streams.parameter(f"{prefix}.duration_weeks", duration_spec)
            if spec.date is not None:
                start = np.full(self.size, float(self.week_of(spec.date)))
                hazard = None
                window = (0, last)
            else:
                start = np.full(self.size, np.inf)
                hazard = self.streams.parameter(f"{prefix}.hazard", spec.hazard or 0.0)
                window = (
                    self.week_of(spec.window_start) if spec.window_start else 0,
                    self.week_of(spec.window_end) if spec.window_end else last,
                )
            self.events.append(_Event(spec, start, duration, hazard, window, values))

    def _init_state(self) -> None:
        size = self.size
        self.opposition_territory = self.territory(self.faction_columns)
        # The battlefield as it stands before the first week (own forces only:
        # patrons have not supplied yet), so the first week's power shift is real.
        self.signal = self._battlefield_signal(
            self.forces[:, self.faction_columns].sum(axis=-1),
            self.forces[:, self.government.index],
            self.opposition_territory,
        )
        self.momentum = np.zeros(size)
        self.power_shift = np.zeros(size)
        self.fighting_rate = np.ones(size)
        self.agreed = np.zeros(size, dtype=bool)
        self.agreement_week = np.full(size, np.nan)
        self.settlement = np.full(size, np.nan)
        self.settlement_range = np.full((size, 2), np.nan)
        self.ceasefire_until = np.full(size, -1.0)
        self.ceasefire_reached = np.zeros(size, dtype=bool)
        self.walkouts = np.zeros(size)
        self.talks_weeks = np.zeros(size)
        self.range_at_talks = np.full(size, np.nan)
        self.cohesion_at_talks = np.full(size, np.nan)
        self.losses = np.zeros((size, len(self.combatants)))
        self.leaders_removed = np.zeros(size)
        self.range_width = np.zeros(size)
        self.ripeness = np.zeros(size)
        self.in_session = np.zeros(size, dtype=bool)
        self.talks_state = np.zeros(size)

    def week_of(self, date: dt.date) -> int:
        """Index of the weekly step containing ``date``."""
        return (date - self.start_date).days // 7

    def date_of(self, week: int) -> dt.date:
        return self.start_date + dt.timedelta(weeks=week)

    @property
    def opposition_patron_commitment(self) -> np.ndarray:
        """Commitment of the opposition's patrons, shape (R, K), in `opposition_patron_keys` order."""
        if not self.opposition_patron_keys:
            return np.zeros((self.size, 0))
        return np.stack([self.patrons[k].commitment for k in self.opposition_patron_keys], axis=-1)

    def territory(self, columns: np.ndarray | int) -> np.ndarray:
        """Strategic-value-weighted share of all territory held by the given combatants (R,)."""
        held = self.control[:, :, columns]
        if held.ndim == 3:
            held = held.sum(axis=-1)
        return held @ self.value_share

    # ------------------------------------------------------------------ step

    def step(self) -> None:
        """Advance all replications by one week."""
        week = self.week
        session = self._apply_events(week)
        self.support[:] = 0.0
        for patron in self.patrons.values():
            patron.supply()
        self._fight()
        self.government.update_belief()
        self.opposition.update_belief()
        self.opposition.update_cohesion()
        self._negotiate(week, *session)
        self.recorder.record(week)
        self.week += 1

    def run(self) -> ConflictModel:
        """Run to the calendar's end."""
        while self.week < self.weeks:
            self.step()
        return self

    # ---------------------------------------------------------------- stage 1

    def _apply_events(self, week: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        size = self.size
        for patron in self.patrons.values():
            patron.direct = np.zeros(size)
        self.escalation[:] = 1.0
        self.offensive = np.ones_like(self.control)
        fighting_rate = np.where(
            week < self.ceasefire_until, 1.0 - self.parameters["talks_ceasefire_strength"], 1.0
        )
        in_session = np.zeros(size, dtype=bool)
        leverage = np.zeros(size)
        bias = np.zeros(size)
        for event in self.events:
            spec = event.spec
            if event.hazard is not None:
                # A full block every week keeps this event's stream aligned in time.
                draw = self.streams.uniform(f"event:{spec.id}")
                low, high = event.window
                fire = (draw < event.hazard) & np.isinf(event.start) & (low <= week <= high)
                event.start = np.where(fire, float(week), event.start)
            active = event.active(week)
            if not active.any():
                continue
            kind = spec.type
            if kind == "intervention":
                self.patrons[spec.actor].direct += np.where(active, event.values["intensity"], 0.0)
            elif kind == "escalation":
                self.escalation[:, self.combatant_columns[spec.actor]] += np.where(
                    active, event.values["intensity"], 0.0
                )
            elif kind == "offensive":
                region = self.region_keys.index(spec.region)
                self.offensive[:, region, self.combatant_columns[spec.actor]] += np.where(
                    active, event.values["intensity"], 0.0
                )
            elif kind == "ceasefire":
                fighting_rate = fighting_rate * np.where(
                    active, 1.0 - event.values["strength"], 1.0
                )
            elif kind == "negotiation_round":
                mediator = self.mediators[spec.mediator]
                in_session |= active
                leverage = np.where(active, mediator.leverage, leverage)
                bias = np.where(active, mediator.bias, bias)
            elif kind == "leader_removal":
                self._remove_leader(spec.leader, event.begins(week))
            elif kind == "patron_policy":
                begins = event.begins(week)
                patron = self.patrons[spec.actor]
                for field in ("commitment", "capacity", "supports_talks"):
                    if field in event.values:
                        setattr(
                            patron,
                            field,
                            np.where(begins, event.values[field], getattr(patron, field)),
                        )
        self.fighting_rate = fighting_rate * ~self.agreed
        return in_session, leverage, bias

    def _remove_leader(self, key: str, where: np.ndarray) -> None:
        leader = self.leaders[key]
        hit = leader.replace_where(where)
        if not hit.any():
            return
        faction = next(f for f in self.opposition.factions if f.leader is leader)
        self.forces[:, faction.index] *= np.where(hit, 1.0 - leader.capability_loss, 1.0)
        faction.cohesion = np.where(
            hit, faction.cohesion * (1.0 - leader.cohesion_shock), faction.cohesion
        )
        self.leaders_removed += hit

    # ---------------------------------------------------------------- stage 3

    def _fight(self) -> None:
        p = self.parameters
        self.strength = (self.forces + self.support) * self.escalation
        reach = p["adjacency_reach"][:, None, None]
        presence = self.control + reach * np.einsum("ij,rjc->ric", self.adjacency, self.control)
        weight = presence * self.value[None, :, None] * self.offensive
        total = weight.sum(axis=1, keepdims=True)
        allocation = np.divide(weight, total, out=np.zeros_like(weight), where=total > 0)
        sigma = p["fighting_noise"]
        noise = np.stack(
            [
                np.stack(
                    [self.streams.normal(f"fighting:{region}:{c.key}") for c in self.combatants],
                    axis=-1,
                )
                for region in self.region_keys
            ],
            axis=1,
        )
        noise = np.exp(sigma[:, None, None] * noise - 0.5 * sigma[:, None, None] ** 2)
        effort = self.strength[:, None, :] * allocation * noise
        shares = fighting.tullock_shares(effort, p["contest_decisiveness"][:, None], axis=-1)
        rate = (p["front_rate"] * self.fighting_rate)[:, None, None]
        contested = shares.sum(axis=-1, keepdims=True) > 0
        self.control = np.where(
            contested, (1.0 - rate) * self.control + rate * shares, self.control
        )

        # Attrition between the two sides at the table; spoilers contest
        # ground but their own losses are not modelled.
        government = self.government.index
        factions = self.faction_columns
        blue = self.strength[:, government]
        red = self.strength[:, factions].sum(axis=-1)
        effectiveness = p["attrition_rate"] * self.fighting_rate
        blue_after, red_after = fighting.lanchester_square(blue, red, effectiveness, effectiveness)
        # Losses fall on the side's own forces: patrons resupply their support
        # every week. Hurt is the weekly loss against the side's own initial
        # forces, so it rises with the enemy's strength (dB/dt = -beta R), not
        # with one's own (an ally's air power does not make losses smaller).
        before = self.forces.copy()
        blue_lost = np.minimum(blue - blue_after, before[:, government])
        own = before[:, factions]
        own_total = own.sum(axis=-1)
        red_lost = np.minimum(red - red_after, own_total)
        split = np.divide(
            own, own_total[:, None], out=np.zeros_like(own), where=own_total[:, None] > 0
        )
        self.forces[:, government] -= blue_lost
        # Floored: when the losses take all of the factions' own forces,
        # own - own_total * (own / own_total) can round to -1e-17.
        self.forces[:, factions] = np.maximum(
            self.forces[:, factions] - red_lost[:, None] * split, 0.0
        )
        self.losses += before - self.forces
        self.forces += self.recruitment * np.maximum(self.base_forces - self.forces, 0.0)
        blue_base = self.base_forces[:, government]
        red_base = self.base_forces[:, factions].sum(axis=-1)
        blue_hurt = np.divide(blue_lost, blue_base, out=np.zeros_like(blue), where=blue_base > 0)
        red_hurt = np.divide(red_lost, red_base, out=np.zeros_like(red), where=red_base > 0)
        memory = p["hurt_memory"]
        self.government.hurt = (1 - memory) * self.government.hurt + memory * blue_hurt
        self.opposition.hurt = (1 - memory) * self.opposition.hurt + memory * red_hurt

        territory = self.territory(factions)
        signal = self._battlefield_signal(red, blue, territory)
        momentum_memory = p["momentum_memory"]
        self.power_shift = (1 - momentum_memory) * self.power_shift + momentum_memory * (
            signal - self.signal
        )
        self.signal = signal
        self.momentum = (1 - momentum_memory) * self.momentum + momentum_memory * (
            territory - self.opposition_territory
        )
        self.opposition_territory = territory

    def _battlefield_signal(
        self,
        opposition_strength: np.ndarray,
        government_strength: np.ndarray,
        territory: np.ndarray,
    ) -> np.ndarray:
        """Where the battlefield says war would end (opposition's share of the issue).

        ``territory`` is the factions' value-weighted territory, already at hand
        in the callers.
        """
        p = self.parameters
        held = territory + self.territory(self.government.index)
        territory_share = np.divide(territory, held, out=np.full_like(held, 0.5), where=held > 0)
        strength_share = fighting.tullock_shares(
            np.stack([opposition_strength, government_strength], axis=-1),
            p["contest_decisiveness"],
            axis=-1,
        )[:, 0]
        return beliefs.battlefield_signal(strength_share, territory_share, p["strength_weight"])

    # ---------------------------------------------------------------- stage 6

    def _endorsements(self) -> tuple[np.ndarray, np.ndarray]:
        """Patrons' endorsement of talks for each side (0..1)."""
        size = self.size
        weights = {"government": np.zeros(size), "opposition": np.zeros(size)}
        pressed = {"government": np.zeros(size), "opposition": np.zeros(size)}
        capabilities, _, _ = self.opposition.faction_arrays()
        capability_total = capabilities.sum(axis=-1)
        for key, patron in self.patrons.items():
            if patron.client_key == self.government.key:
                side, reach = "government", 1.0
            else:
                # A patron's word carries to the factions whose leaders it has ties with.
                ties = self.opposition.ties_to(key)
                reach = np.divide(
                    (capabilities * ties).sum(axis=-1),
                    capability_total,
                    out=np.zeros(size),
                    where=capability_total > 0,
                )
                side = "opposition"
            weights[side] += patron.commitment
            pressed[side] += patron.commitment * patron.supports_talks * reach
        return tuple(  # type: ignore[return-value]
            np.divide(pressed[s], weights[s], out=np.zeros(size), where=weights[s] > 0)
            for s in ("government", "opposition")
        )

    def _negotiate(
        self, week: int, in_session: np.ndarray, leverage: np.ndarray, bias: np.ndarray
    ) -> None:
        p = self.parameters
        government, opposition = self.government, self.opposition
        government_cost, opposition_cost = government.cost(), opposition.cost()
        low, high = negotiation.bargaining_range(
            government.expected, opposition.expected, government_cost, opposition_cost
        )
        low, high = negotiation.commitment_adjusted_range(
            low, high, self.power_shift, p["commitment_horizon_weeks"]
        )
        self.range_width = high - low
        # Out of session, the best way out any mediator offers (per replication:
        # Python's max() on arrays fails for R > 1 with two or more mediators).
        best_leverage = (
            np.max(np.stack([m.leverage for m in self.mediators.values()]), axis=0)
            if self.mediators
            else np.zeros(self.size)
        )
        way_out = np.where(in_session, leverage, best_leverage)
        self.ripeness = negotiation.ripeness(
            government.hurt,
            opposition.hurt,
            self.momentum,
            p["hurt_threshold"],
            p["stalemate_tolerance"],
            way_out,
        )
        government.endorsement, opposition.endorsement = self._endorsements()
        for party in (government, opposition):
            party.willingness = negotiation.willingness(
                party.willingness_bias,
                self.ripeness,
                party.endorsement,
                party.prospects() - 0.5,
                party.resolve,
                p["willingness_ripeness"],
                p["willingness_endorsement"],
                p["willingness_confidence"],
                p["willingness_resolve"],
            )
        active = in_session & ~self.agreed
        self.in_session = active
        self.talks_weeks += active
        first = active & np.isnan(self.range_at_talks)
        self.range_at_talks = np.where(first, self.range_width, self.range_at_talks)
        self.cohesion_at_talks = np.where(first, opposition.cohesion, self.cohesion_at_talks)

        # Draw every week, in session or not, so the streams stay aligned.
        government_engages = self.streams.uniform("negotiation:government") < government.willingness
        opposition_engages = self.streams.uniform("negotiation:opposition") < opposition.willingness
        engaged = active & government_engages & opposition_engages
        walkout = active & ~engaged
        # Deals lie between the two parties' ideal points (neither accepts more
        # than it asks for), which on the default issue line is [0, 1].
        ideal_low = np.minimum(government.position, opposition.position)
        ideal_high = np.maximum(government.position, opposition.position)
        feasible_low, feasible_high = np.maximum(low, ideal_low), np.minimum(high, ideal_high)
        zone = engaged & (feasible_high > feasible_low)
        horizon = np.maximum(p["cost_horizon_weeks"], 1.0)
        discount = [
            np.clip(p["discount_base"] * (1.0 - cost / horizon), 0.0, 0.999)
            for cost in (government_cost, opposition_cost)
        ]
        government_share = negotiation.rubinstein_share(discount[0], discount[1])
        proposal = negotiation.mediator_proposal(
            feasible_low, feasible_high, government_share, bias
        )
        capabilities, _, moderation = opposition.faction_arrays()
        reservations = coalition.faction_reservation(low, moderation, p["hardline_margin"])
        accepts = proposal[:, None] >= reservations
        deliverable = coalition.deliverable_share(
            capabilities, opposition.cohesion, accepts, opposition.fragmented
        )
        agree = zone & (deliverable >= p["commitment_threshold"])
        ceasefire = zone & ~agree & (deliverable >= p["ceasefire_threshold"])
        suspended = engaged & ~agree & ~ceasefire

        self.agreed |= agree
        self.agreement_week = np.where(agree, float(week), self.agreement_week)
        self.settlement = np.where(agree, proposal, self.settlement)
        self.settlement_range = np.where(
            agree[:, None], np.stack([low, high], axis=-1), self.settlement_range
        )
        self.ceasefire_until = np.where(
            ceasefire, week + 1 + p["talks_ceasefire_weeks"], self.ceasefire_until
        )
        self.ceasefire_reached |= ceasefire
        self.walkouts += walkout
        state = np.full(self.size, float(TALKS_NONE))
        state[agree] = TALKS_AGREEMENT
        state[ceasefire] = TALKS_CEASEFIRE
        state[walkout] = TALKS_WALKOUT
        state[suspended] = TALKS_SUSPENDED
        self.talks_state = state

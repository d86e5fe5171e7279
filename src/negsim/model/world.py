"""The Mesa model: a scenario's world advanced one week at a time, for R replications at once.

One step, in stages (each stage reads the state the previous one left, so
the order in which agents are activated cannot bias results):

1. events due this week apply (scheduled, or stochastic with a hazard);
2. patrons set their support for their clients;
3. fighting: control of each region moves by a contest success function,
   forces are lost by the Lanchester square law;
4. beliefs: each side revises its expected outcome of war from the battlefield;
5. coalition: factions' and the coalition's cohesion, membership, fragmentation;
6. talks (:mod:`negsim.model.talks`): the bargaining range from
   forward-looking costs, ripeness, willingness, concessions within rounds,
   the mediator's proposal, both sides' acceptance, ratification, and the
   implementation (or breakdown) of agreements and ceasefires.

Before the calendar starts, a spin-up of at most `spinup_weeks` (until settled) runs stages 2-5
without events and with the fronts held, so the state the first event meets
is the model's own resting point (the map as written, cohesion, losses,
beliefs and support at their steady values).

This module only builds the world and schedules the stages: no module of
the model imports it. The actors, the talks and the recording each name
what they read of the world (`agents.ActorsWorld`, `talks.TalksWorld`,
`observations.RecordedWorld`, held to this model by tests/model/test_world.py).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, cast

import mesa
import networkx as nx
import numpy as np
from mesa.discrete_space import Network

from negsim.model import beliefs, coalition, fighting, negotiation, patrons, talks
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
from negsim.model.compiled import MAX_TERMS, pcg64_states
from negsim.model.spinup import NotShareable, SpinUp, Watch
from negsim.model.streams import Streams
from negsim.model.talks import (  # noqa: F401 (re-exported: the recorded codes)
    TALKS_AGREEMENT,
    TALKS_CEASEFIRE,
    TALKS_ENGAGED,
    TALKS_NONE,
    TALKS_WALKOUT,
)
from negsim.scenario import schema

# Events that act in the week they happen (their effects persist in the state).
_INSTANT_EVENTS = (
    "leader_removal",
    "commander_removal",
    "patron_policy",
    "mediator_policy",
    "stance_change",
    "shock",
    "government_change",
    "referendum",
    "ratification",
)

# Parameters that are not numbers drawn per replication.
_STRUCTURAL_PARAMETERS = ("spinup_weeks", "spinup_tolerance", "spinup_window", "first_proposer")
_EVENT_VALUE_FIELDS = (
    "intensity",
    "strength",
    "commitment",
    "capacity",
    "supports_talks",
    "capability_loss",
    "cohesion_loss",
    "resolve",
    "willingness_bias",
    "cost_sensitivity",
    "optimism",
    "position",
    "cohesion_shock",
    "approval",
    "support",
    "quota",
    "responsiveness",
    "leverage",
    "bias",
)


@dataclass
class _Event:
    """An event's schedule per replication: start week (inf if not yet) and duration."""

    spec: Any
    start: np.ndarray
    duration: np.ndarray
    hazard: np.ndarray | None
    window: tuple[int, int]
    values: dict[str, np.ndarray]
    # A recurring round: weeks between sessions and the last week one may open.
    every: int | None = None
    until: float = np.inf
    # The combatants a ceasefire (or what a round reaches) binds, or a truce aims at (n,).
    covers: np.ndarray | None = None

    def begins(self, week: int) -> np.ndarray:
        return self.start == week

    def active(self, week: int) -> np.ndarray:
        if self.every is None:
            return (self.start <= week) & (week < self.start + self.duration)
        # Sessions of `duration` open at start, start + every, ... up to `until`.
        with np.errstate(invalid="ignore"):
            opened = self.start + self.every * np.floor((week - self.start) / self.every)
        return (self.start <= week) & (opened <= self.until) & (week < opened + self.duration)


class ConflictModel(mesa.Model):
    """A scenario's world for ``replications`` replications.

    Supply, fighting, cohesion, talks and part of the recording run as compiled
    kernels (each beside its reference in the stage's module) unless ``compiled_step`` is False when
    the model is built, which runs their numpy references; both give the
    same numbers. ``compiled`` says which one a model runs.

    Args:
        scenario: a validated scenario (one variant).
        replications: R, the number of replications advanced together.
        seed: the experiment's master seed.
        chunk: index of this chunk of replications; chunk c with seed s always
            gives the same draws, whatever other chunks exist.
        spinup: the spin-up of a model of the same chunk whose scenario differs
            from this one in its events at most (`spinup_state`): taken
            instead of running the spin-up, with the same numbers.
        keep_spinup: keep what the spin-up changed as `spinup_state` (None
            where it cannot be given: `negsim.model.spinup.NotShareable`).
    """

    compiled_step: bool = True

    def __init__(
        self,
        scenario: schema.Scenario,
        replications: int = 1,
        seed: int = 0,
        chunk: int = 0,
        spinup: SpinUp | None = None,
        keep_spinup: bool = False,
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
            if name not in _STRUCTURAL_PARAMETERS
        }
        self.spinup_weeks = scenario.parameters.spinup_weeks
        self.spinup_tolerance = scenario.parameters.spinup_tolerance
        self.spinup_window = scenario.parameters.spinup_window
        # The weeks the spin-up ran (the manifest reports them).
        self.spinup_used = 0
        self.first_proposer = scenario.parameters.first_proposer
        self._build_actors(scenario)
        self._build_regions(scenario)
        self._build_events(scenario)
        self._init_state()
        # What the spin-up left, for a model of the same chunk whose scenario differs only
        # in its events (`negsim.model.spinup`): given one, this model takes it instead.
        self.spinup_state: SpinUp | None = None
        if not self._take_spinup(spinup):
            if keep_spinup:
                watch = Watch(self)
                self._spin_up()
                try:
                    self.spinup_state = watch.changes(self)
                except NotShareable:
                    self.spinup_state = None
            else:
                self._spin_up()
        from negsim.model.observations import Recorder

        self.recorder = Recorder(self)

    def _take_spinup(self, spinup: SpinUp | None) -> bool:
        """Whether this model took ``spinup`` (False: none given, or not these objects)."""
        if spinup is None:
            return False
        try:
            spinup.apply(self)
        except NotShareable:  # refused before anything was set: spin up as usual
            return False
        return True

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
            leader.faction: (key, leader)
            for key, leader in scenario.leaders.items()
            if leader.faction is not None
        }
        # Heads of government: the traits a `government_change` brings into office.
        self.government_leaders = {
            key: {
                field: self.streams.parameter(f"leaders.{key}.{field}", getattr(leader, field))
                for field in (
                    "resolve",
                    "willingness_bias",
                    "position",
                    "cost_sensitivity",
                    "optimism",
                )
                if getattr(leader, field) is not None
            }
            for key, leader in scenario.leaders.items()
            if leader.government is not None
        }
        self.leaders: dict[str, Leader] = {}
        self.leader_chain: dict[str, tuple[Leader, int]] = {}
        for index, key in enumerate(combatant_keys):
            spec = scenario.actors[key]
            agent: Combatant
            if spec.kind == "government":
                agent = Government(self, key, spec, index)
                self.government = agent
                # The head of government in office at the start brings his traits from week 0.
                for head_key, head in scenario.leaders.items():
                    if head.government == key and head.in_office:
                        for field, value in self.government_leaders[head_key].items():
                            setattr(agent, field, value)
            elif spec.kind == "faction":
                agent = Faction(self, key, spec, index)
                leader_key, leader_spec = leaders_by_faction.get(key, (f"{key}_leadership", None))
                leader = Leader(self, leader_key, leader_spec, spec, self.opposition_patron_keys)
                agent.leader = leader
                self.leaders[leader_key] = leader
                for depth, chain_id in enumerate(leader.chain_ids):
                    self.leader_chain[chain_id] = (leader, depth)
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
            for field in _EVENT_VALUE_FIELDS:
                value = getattr(spec, field, None)
                if value is not None:
                    values[field] = self.streams.parameter(f"{prefix}.{field}", value)
            duration_spec = getattr(spec, "duration_weeks", None)
            if spec.type in _INSTANT_EVENTS:
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
            event = _Event(spec, start, duration, hazard, window, values)
            if spec.type == "negotiation_round":
                event.every = spec.every
                event.until = float(self.week_of(spec.until)) if spec.until else np.inf
            if isinstance(spec, schema.Ceasefire) and spec.actor is not None:
                event.covers = self.coverage(spec.against, everyone=True)
            elif isinstance(spec, schema.Ceasefire | schema.NegotiationRound):
                event.covers = self.coverage(spec.covers)
            self.events.append(event)

    def coverage(self, names: list[str] | None, everyone: bool = False) -> np.ndarray:
        """The combatants a ceasefire or agreement binds (or a truce aims at), as a mask (n,).

        The opposition's id stands for all its factions. Default (None): the
        parties at the table, the government and every faction, so spoilers
        fight on; with ``everyone``, every combatant (a truce's default: all
        its enemies).
        """
        mask = np.zeros(len(self.combatants), dtype=bool)
        if names is None:
            if everyone:
                mask[:] = True
                return mask
            names = [self.government.key, self.opposition.key]
        for name in names:
            if name == self.opposition.key:
                mask[self.faction_columns] = True
            else:
                mask[self.combatant_columns[name]] = True
        return mask

    def _init_state(self) -> None:
        size = self.size
        n = len(self.combatants)
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
        self.offensive = np.ones_like(self.control)
        self.truce = np.ones((size, len(self.combatants)))
        # A truce aimed at named enemies: held effort by region, held fire at the table.
        self.ground_truce = np.ones_like(self.control)
        self.fire_truce = np.ones((size, len(self.combatants)))
        # The fighting noise's streams, region by region and combatant by
        # combatant, and the buffer their weekly draws go into: one row of R
        # per (region, combatant), so each stream writes a contiguous block.
        self._noise_generators = [
            self.streams.generator(f"fighting:{region}:{c.key}")
            for region in self.region_keys
            for c in self.combatants
        ]
        # Whether this model runs the compiled kernels (`compiled_step`, when
        # the shape allows): fixed for its life, because the two paths draw the
        # same numbers from different copies of the streams' states.
        self.compiled = self.compiled_step and max(len(self.region_keys), n) <= MAX_TERMS
        if self.compiled:
            # The compiled kernel draws from the streams' states itself.
            self._noise_streams = pcg64_states(self._noise_generators)
            # How each patron's support and word reach the kernels of supply and talks.
            self.patron_routes = self._patron_routes()
        else:
            self._noise = np.empty((len(self.region_keys), n, size))
        self._fight_scratch: tuple[np.ndarray, ...] | None = None
        self.front_rate_scale = 1.0
        self._holding_forces = False
        self._held_losses = np.zeros_like(self.forces)
        self.reference_forces = self.forces.copy()
        # The government's and the factions' together: what hurt is measured against.
        self.reference_sides = (
            self.reference_forces[:, self.government.index],
            self.reference_forces[:, self.faction_columns].sum(axis=-1),
        )
        self.map = self.control.copy()
        self.baseline_shares: np.ndarray | None = None
        self.losses = np.zeros((size, len(self.combatants)))
        self.leaders_removed = np.zeros(size)
        self.fragmented_ever = np.zeros(size, dtype=bool)
        # Hardliners' escalation after a leader's removal (coalition.outbidding_after).
        self.outbidding = np.zeros(size)
        self.ripeness = np.zeros(size)
        self.ceasefire_in_force = np.zeros(size, dtype=bool)
        # Who the ceasefires and agreement in force bind this week, and the
        # fighting strength outside them.
        self.covered = np.zeros((size, len(self.combatants)), dtype=bool)
        self.outside_share = np.zeros(size)
        self.spoiler_columns = np.array(
            [c.index for c in self.combatants if isinstance(c, Spoiler)], dtype=int
        )
        self.talks = talks.Talks(self)
        self.government_territory_start = self.territory(self.government.index)

    def _spin_up(self) -> None:
        """Run stages 2-5 without events, with fronts and forces held, to the model's resting point.

        The written map and capabilities stay as they are; what the spin-up
        settles is everything that adjusts to them: losses ('hurt'), beliefs,
        patrons' support, cohesion. Two balances are read off it so that the
        written state is the resting point after it: the contest shares the
        map reflects (fronts then move only as far as the balance of effort
        departs from them), and each combatant's weekly losses, which set the
        strength it recruits towards (so that recruitment replaces the losses
        of the resting state at the written capability).
        """
        if self.spinup_weeks <= 0:
            return
        self.front_rate_scale = 0.0
        self._holding_forces = True
        total = np.zeros_like(self.control)
        lost = np.zeros_like(self.forces)
        weeks, calm = 0, 0
        before_week = self._settling_state()
        while weeks < self.spinup_weeks:
            self._supply()
            before = self.forces.copy()
            total += self._fight()
            lost += self._held_losses
            self.forces = before
            self.government.update_belief()
            self.opposition.update_belief()
            self.opposition.update_cohesion()
            weeks += 1
            after_week = self._settling_state()
            change = settling_change(before_week, after_week)
            before_week = after_week
            calm = calm + 1 if change <= self.spinup_tolerance else 0
            if self.spinup_tolerance > 0 and calm >= self.spinup_window:
                break
        self.spinup_used = weeks
        self.front_rate_scale = 1.0
        self._holding_forces = False
        self.baseline_shares = total / weeks
        # At rest recruitment * (target - F) equals the weekly loss L: target = F + L / r.
        self.base_forces = self.forces + np.divide(
            lost / weeks, self.recruitment, out=np.zeros_like(lost), where=self.recruitment > 0
        )
        self.losses[:] = 0.0
        self.momentum[:] = 0.0
        self.government_territory_start = self.territory(self.government.index)

    def _settling_state(self) -> np.ndarray:
        """The states the spin-up settles, stacked (S, R): losses, cohesion, patrons' support.

        Beliefs are left out: their weekly noise (`belief_noise`) is
        stationary by design, and their mean approaches the battlefield
        signal at the learning rate, no slower than cohesion does.
        """
        opposition = self.opposition
        return np.vstack(
            [
                self.government.hurt,
                opposition.hurt,
                opposition.cohesion,
                *(f.cohesion for f in opposition.factions),
                self.support.T,
            ]
        )

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
        self._supply()
        self._fight()
        self.government.update_belief()
        self.opposition.update_belief()
        self.opposition.update_cohesion()
        self.fragmented_ever |= self.fragmented
        # Hardliners' escalation after a removal erodes trust before the week's talks.
        self.talks.trust = coalition.eroded_trust(self.talks.trust, self.outbidding)
        self.talks.step(week, *session)
        self.outbidding = coalition.outbidding_after(
            self.outbidding, self.parameters["outbidding_weeks"]
        )
        self.recorder.record(week)
        self.week += 1

    def _supply(self) -> None:
        """Stage 2: patrons set this week's support.

        Compiled as `patrons.supply_week` when the model is (`compiled`); the
        patrons' own `Patron.supply`, one after another, is its reference.
        """
        if self.compiled and self.patrons:
            self._supply_compiled()
            return
        self.support[:] = 0.0
        for patron in self.patrons.values():
            patron.supply()

    def faction_ties(self) -> np.ndarray:
        """The factions' leaders' ties to the opposition's patrons, shape (F, R, K)."""
        factions = self.opposition.factions
        if not factions:
            return np.zeros((0, self.size, len(self.opposition_patron_keys)))
        return np.stack([cast(Leader, f.leader).ties for f in factions])

    def _patron_routes(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Each patron's kind (`patrons.PATRON_OF_*`), client column and column in the ties.

        In the patrons' order; the client column is -1 for the opposition's
        patrons, the tie column -1 for the others.
        """
        kinds, clients, tie_columns = [], [], []
        for key, patron in self.patrons.items():
            client = patron.client_key
            if client == self.government.key:
                kinds.append(patrons.PATRON_OF_GOVERNMENT)
            elif client == self.opposition.key:
                kinds.append(patrons.PATRON_OF_OPPOSITION)
            else:  # the scenario's references allow no other client
                kinds.append(patrons.PATRON_OF_SPOILER)
            clients.append(self.combatant_columns.get(client, -1))
            opposition = kinds[-1] == patrons.PATRON_OF_OPPOSITION
            tie_columns.append(self.opposition_patron_keys.index(key) if opposition else -1)
        return (
            np.array(kinds, dtype=np.int64),
            np.array(clients, dtype=np.int64),
            np.array(tie_columns, dtype=np.int64),
        )

    def _supply_compiled(self) -> None:
        suppliers = list(self.patrons.values())
        kinds, clients, tie_columns = self.patron_routes
        supplied = np.empty((len(suppliers), self.size))
        patrons.supply_week(
            kinds,
            clients,
            tie_columns,
            np.stack([patron.commitment for patron in suppliers]),
            np.stack([patron.capacity for patron in suppliers]),
            np.stack([patron.responsiveness for patron in suppliers]),
            np.stack([patron.direct for patron in suppliers]),
            self.signal,
            self.forces,
            self.faction_columns,
            self.faction_ties(),
            self.parameters["patron_parity"],
            self.support,
            supplied,
        )
        for patron, row in zip(suppliers, supplied, strict=True):
            patron.support = row

    def run(self) -> ConflictModel:
        """Run to the calendar's end."""
        while self.week < self.weeks:
            self.step()
        return self

    # ---------------------------------------------------------------- stage 1

    def _apply_events(self, week: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Apply the events due this week; return the round in session, its leverage, bias, coverage."""
        size = self.size
        for patron in self.patrons.values():
            patron.direct.fill(0.0)
        self.escalation[:] = 1.0
        # Reset in place: the handlers add to these, nothing keeps last week's.
        self.offensive.fill(1.0)
        talks_ceasefire = week < self.talks.ceasefire_until
        self.talks.voted_down_now = np.zeros(size, dtype=bool)
        self._week = _Week(
            fighting_rate=np.where(
                talks_ceasefire, 1.0 - self.parameters["talks_ceasefire_strength"], 1.0
            ),
            ceasefire=talks_ceasefire.copy(),
            in_session=np.zeros(size, dtype=bool),
            mediating={},
            covered=talks_ceasefire[:, None] & self.talks.ceasefire_covers,
            session_covers=np.zeros((size, len(self.combatants)), dtype=bool),
        )
        self.truce.fill(1.0)
        self.ground_truce.fill(1.0)
        self.fire_truce.fill(1.0)
        for event in self.events:
            spec = event.spec
            if event.hazard is not None:
                # A full block every week keeps this event's stream aligned in time.
                draw = self.streams.uniform(f"event:{spec.id}")
                low, high = event.window
                fire = (draw < event.hazard) & np.isinf(event.start) & (low <= week <= high)
                event.start = np.where(fire, float(week), event.start)
            active = event.active(week)
            if active.any():
                self._handlers[spec.type](self, event, active, week)
        current = self._week
        in_force = self.talks.in_force
        self.ceasefire_in_force = current.ceasefire & ~in_force
        # The calm among those bound; who is bound (an agreement binds whom it covers).
        self.fighting_rate = current.fighting_rate * ~in_force
        self.covered = current.covered | (in_force[:, None] & self.talks.agreement_covers)
        total = self.strength.sum(axis=-1)
        outside = np.where(self.covered, 0.0, self.strength).sum(axis=-1)
        self.outside_share = np.divide(outside, total, out=np.zeros(size), where=total > 0)
        # Joint mediators (of one round, or of rounds in session together), each counted once.
        if current.mediating:
            keys = list(current.mediating)
            leverage, bias = talks.joint_mediation(
                np.stack([self.mediators[k].leverage for k in keys], axis=-1),
                np.stack([self.mediators[k].bias for k in keys], axis=-1),
                np.stack([current.mediating[k] for k in keys], axis=-1),
            )
        else:
            leverage, bias = np.zeros(size), np.zeros(size)
        return current.in_session, leverage, bias, current.session_covers

    def _on_intervention(self, event: _Event, active: np.ndarray, week: int) -> None:
        self.patrons[event.spec.actor].direct += np.where(active, event.values["intensity"], 0.0)

    def _on_escalation(self, event: _Event, active: np.ndarray, week: int) -> None:
        column = self.combatant_columns[event.spec.actor]
        self.escalation[:, column] += np.where(active, event.values["intensity"], 0.0)

    def _on_offensive(self, event: _Event, active: np.ndarray, week: int) -> None:
        region = self.region_keys.index(event.spec.region)
        column = self.combatant_columns[event.spec.actor]
        self.offensive[:, region, column] += np.where(active, event.values["intensity"], 0.0)

    def _on_ceasefire(self, event: _Event, active: np.ndarray, week: int) -> None:
        calm = np.where(active, 1.0 - event.values["strength"], 1.0)
        covers = cast(np.ndarray, event.covers)
        if event.spec.actor is not None:
            # One-sided: the declaring side (the opposition: all its factions)
            # holds its fire and its ground effort (not its strength: the enemy
            # still reckons with what it could do), towards the enemies aimed at.
            actor = event.spec.actor
            columns = (
                self.faction_columns
                if actor == self.opposition.key
                else np.array([self.combatant_columns[actor]])
            )
            if covers.all() or event.spec.against is None:
                self.truce[:, columns] *= calm[:, None]
                return
            self._truce_against(columns, covers, calm)
            return
        current = self._week
        current.fighting_rate = current.fighting_rate * calm
        current.ceasefire |= active
        current.covered |= active[:, None] & covers
        self.talks.ceasefire_seen |= active

    def _truce_against(self, columns: np.ndarray, against: np.ndarray, calm: np.ndarray) -> None:
        """A one-sided truce aimed at named enemies (`talks.targeted_truce`).

        The declaring combatants hold their effort in each region by the
        share of the enemy ground there that the enemies aimed at hold, and
        fight on elsewhere; their fire at the other side of the table is
        held in proportion to the share of it aimed at (by strength).
        """
        enemy = np.ones(len(self.combatants), dtype=bool)
        enemy[columns] = False
        enemy_ground = self.control[:, :, enemy].sum(axis=-1)
        aimed_ground = np.divide(
            self.control[:, :, enemy & against].sum(axis=-1),
            enemy_ground,
            out=np.zeros_like(enemy_ground),
            where=enemy_ground > 0,
        )
        government = self.government.index
        factions = self.faction_columns
        for column in columns:
            # The other side at the table.
            enemies = factions if column == government else np.array([government])
            strength = self.strength[:, enemies]
            total = strength.sum(axis=-1)
            aimed_fire = np.divide(
                (strength * against[enemies]).sum(axis=-1),
                total,
                out=np.zeros(self.size),
                where=total > 0,
            )
            ground, fire = talks.targeted_truce(calm, aimed_ground, aimed_fire)
            self.ground_truce[:, :, column] *= ground
            self.fire_truce[:, column] *= fire

    def _on_negotiation_round(self, event: _Event, active: np.ndarray, week: int) -> None:
        mediators = event.spec.mediator
        current = self._week
        current.in_session |= active
        current.session_covers |= active[:, None] & cast(np.ndarray, event.covers)
        for key in [mediators] if isinstance(mediators, str) else mediators:
            current.mediating[key] = (
                current.mediating.get(key, np.zeros(self.size, dtype=bool)) | active
            )

    def _on_leader_removal(self, event: _Event, active: np.ndarray, week: int) -> None:
        spec = event.spec
        if spec.leader is not None:
            leader, depth = self.leader_chain[spec.leader]
            self._remove_leader(leader, event.begins(week), depth)
        else:
            faction = next(f for f in self.opposition.factions if f.key == spec.faction)
            self._remove_leader(cast(Leader, faction.leader), event.begins(week), None)

    def _on_commander_removal(self, event: _Event, active: np.ndarray, week: int) -> None:
        begins = event.begins(week)
        faction = next(f for f in self.opposition.factions if f.key == event.spec.faction)
        self.forces[:, faction.index] *= np.where(
            begins, 1.0 - event.values["capability_loss"], 1.0
        )
        faction.cohesion = faction.cohesion * np.where(
            begins, 1.0 - event.values["cohesion_shock"], 1.0
        )

    def _on_government_change(self, event: _Event, active: np.ndarray, week: int) -> None:
        begins = event.begins(week)
        government = self.government
        for field, value in self.government_leaders[event.spec.leader].items():
            setattr(government, field, np.where(begins, value, getattr(government, field)))

    def _on_referendum(self, event: _Event, active: np.ndarray, week: int) -> None:
        # The event fires at most once per replication: one full block of draws,
        # taken at the first vote, whatever the week (moving it shifts no draw).
        if "vote" not in event.values:
            event.values["vote"] = self.streams.uniform(f"referendum:{event.spec.id}")
        approved = event.values["vote"] < event.values["approval"]
        self.talks.put_to_vote(event.begins(week), approved)

    def _on_ratification(self, event: _Event, active: np.ndarray, week: int) -> None:
        # As a referendum: one block of draws at the first vote, whatever the week.
        if "vote" not in event.values:
            event.values["vote"] = self.streams.uniform(f"ratification:{event.spec.id}")
        passes = talks.ratification_vote_probability(
            event.values["support"], event.spec.seats, event.values["quota"]
        )
        self.talks.put_to_vote(event.begins(week), event.values["vote"] < passes)

    def _on_patron_policy(self, event: _Event, active: np.ndarray, week: int) -> None:
        begins = event.begins(week)
        patron = self.patrons[event.spec.actor]
        for field in ("commitment", "capacity", "supports_talks", "responsiveness"):
            if field in event.values:
                setattr(
                    patron, field, np.where(begins, event.values[field], getattr(patron, field))
                )

    def _on_mediator_policy(self, event: _Event, active: np.ndarray, week: int) -> None:
        begins = event.begins(week)
        mediator = self.mediators[event.spec.actor]
        for field in ("leverage", "bias"):
            if field in event.values:
                setattr(
                    mediator, field, np.where(begins, event.values[field], getattr(mediator, field))
                )

    def _on_stance_change(self, event: _Event, active: np.ndarray, week: int) -> None:
        begins = event.begins(week)
        party = self.government if event.spec.actor == self.government.key else self.opposition
        for field in ("resolve", "willingness_bias", "cost_sensitivity", "optimism", "position"):
            if field in event.values:
                setattr(party, field, np.where(begins, event.values[field], getattr(party, field)))

    def _on_shock(self, event: _Event, active: np.ndarray, week: int) -> None:
        begins = event.begins(week)
        column = self.combatant_columns[event.spec.actor]
        # A lasting loss: the strength the side recruits back to falls too.
        keep = np.where(begins, 1.0 - event.values["capability_loss"], 1.0)
        self.forces[:, column] *= keep
        self.base_forces[:, column] *= keep
        faction = next((f for f in self.opposition.factions if f.index == column), None)
        if faction is not None and "cohesion_loss" in event.values:
            faction.cohesion = faction.cohesion * np.where(
                begins, 1.0 - event.values["cohesion_loss"], 1.0
            )

    _handlers: dict[str, Any] = {
        "intervention": _on_intervention,
        "escalation": _on_escalation,
        "offensive": _on_offensive,
        "ceasefire": _on_ceasefire,
        "negotiation_round": _on_negotiation_round,
        "leader_removal": _on_leader_removal,
        "patron_policy": _on_patron_policy,
        "mediator_policy": _on_mediator_policy,
        "stance_change": _on_stance_change,
        "shock": _on_shock,
        "commander_removal": _on_commander_removal,
        "government_change": _on_government_change,
        "referendum": _on_referendum,
        "ratification": _on_ratification,
    }

    def _remove_leader(self, leader: Leader, where: np.ndarray, depth: int | None) -> None:
        # Not a copy: replace_where gives the leader new arrays, it never writes into these.
        ties_before = leader.ties
        hit = leader.replace_where(where, depth)
        # Only the replications hit change (a removal is rare; the arrays are R long).
        rows = np.flatnonzero(hit)
        if rows.size == 0:
            return
        p = self.parameters
        faction = next(f for f in self.opposition.factions if f.leader is leader)
        self.forces[rows, faction.index] *= 1.0 - leader.capability_loss[rows]
        faction.cohesion = _where_rows(
            faction.cohesion, rows, faction.cohesion[rows] * (1.0 - leader.cohesion_shock[rows])
        )
        self.leaders_removed[rows] += 1.0
        # Spoilers and hardliners escalate to derail the talks (Kydd & Walter 2002).
        self.outbidding = _where_rows(
            self.outbidding,
            rows,
            np.maximum(self.outbidding[rows], p["outbidding_intensity"][rows]),
        )
        # Patrons tied to him lose interest in the coalition and in its talks.
        reaction = p["patron_removal_reaction"][rows]
        everywhere = np.ones(rows.size, dtype=bool)
        for column, key_ in enumerate(self.opposition_patron_keys):
            patron = self.patrons[key_]
            tie = ties_before[rows, column]
            for field in ("commitment", "supports_talks"):
                value = getattr(patron, field)
                reacted = talks.patron_reaction(value[rows], tie, reaction, everywhere)
                setattr(patron, field, _where_rows(value, rows, reacted))
        # The progress made with him goes with him, in proportion to his faction's weight.
        capabilities = self.strength[np.ix_(rows, self.faction_columns)]
        total = capabilities.sum(axis=-1)
        weight = np.divide(
            capabilities[:, self.opposition.factions.index(faction)],
            total,
            out=np.zeros(rows.size),
            where=total > 0,
        )
        self.talks.lose_partner(rows, p["partner_loss"][rows] * weight)
        # The rival reading: decapitation breaks (or stiffens) the coalition's will to fight on.
        opposition = self.opposition
        opposition.resolve = _where_rows(
            opposition.resolve,
            rows,
            coalition.decapitated_resolve(
                opposition.resolve[rows], p["decapitation_resolve"][rows], weight
            ),
        )

    def collapse_ceasefires(self, where: np.ndarray) -> None:
        """End every ceasefire in force in the replications ``where`` after this week."""
        if not where.any():
            return
        week = float(self.week)
        for event in self.events:
            if event.spec.type == "ceasefire":
                running = where & event.active(self.week)
                event.duration = np.where(running, week + 1.0 - event.start, event.duration)

    # ---------------------------------------------------------------- stage 3

    def _fighting_rates(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """This week's front rate by region (R, G), the attrition between the sides at the table (R,) and on each spoiler (R, S).

        A ceasefire or agreement calms the fighting among the combatants it
        binds (`covered`) by `fighting_rate` (`talks.bound_fighting`):

            rate_g = front_rate * (1 if an unbound combatant holds ground in g, else phi)
            e_pair = alpha * (1 - (1 - phi) * [government bound] * (bound share of the factions))
            e_s    = alpha * (phi if spoiler s is bound, else 1)

        so groups outside it (the Islamic State and Nusra were outside the
        February 2016 cessation) fight on, and where they hold ground the
        war goes on for everyone there.
        """
        p = self.parameters
        calm = self.fighting_rate
        covered = self.covered
        region_calm, pair_calm, spoiler_calm = talks.bound_fighting(
            calm,
            covered,
            self.control > 0,
            self.strength,
            self.government.index,
            self.faction_columns,
            self.spoiler_columns,
        )
        attrition = p["attrition_rate"]
        rate = (p["front_rate"] * self.front_rate_scale)[:, None] * region_calm
        return rate, attrition * pair_calm, attrition[:, None] * spoiler_calm

    def _fight(self) -> np.ndarray:
        """Stage 3: fronts move by the contest, forces are lost by attrition; return the shares.

        The week itself is `fighting.fight_week` (the reference, numpy) or
        its compiled twin `fighting.fight_week_compiled` (the default, same numbers;
        `compiled_step`); what it leaves, hurt and the battlefield signal,
        is updated here.
        """
        p = self.parameters
        government = self.government.index
        factions = self.faction_columns
        rate, effectiveness, spoiler_effectiveness = self._fighting_rates()
        # Effort held by truces (by region, for one aimed at named enemies) and fire held.
        effort_truce = self.truce[:, None, :] * self.ground_truce
        fire_truce = self.truce * self.fire_truce
        if self.compiled:
            week = self._fight_buffers()
            fighting.fight_week_compiled(
                self.forces,
                self.support,
                self.escalation,
                self.control,
                self.map,
                self.control if self.baseline_shares is None else self.baseline_shares,
                self.baseline_shares is not None,
                self.adjacency,
                self.value,
                self.offensive,
                effort_truce,
                fire_truce,
                self._noise_streams,
                p["adjacency_reach"],
                p["fighting_noise"],
                p["contest_decisiveness"],
                rate,
                effectiveness,
                government,
                factions,
                self.spoiler_columns,
                self.recruitment,
                self.base_forces,
                not self._holding_forces,
                spoiler_effectiveness,
                *week,
            )
        else:
            week = fighting.fight_week(
                self.forces,
                self.support,
                self.escalation,
                self.control,
                self.map,
                self.baseline_shares,
                self.adjacency,
                self.value,
                self.offensive,
                effort_truce,
                # (R, regions, combatants), C order: the layout numpy's sums were written for.
                np.ascontiguousarray(self._draw_fighting_noise().transpose(2, 0, 1)),
                p["adjacency_reach"],
                p["fighting_noise"],
                p["contest_decisiveness"],
                rate,
                effectiveness,
                government,
                factions,
                self.spoiler_columns,
                self.recruitment,
                self.base_forces,
                not self._holding_forces,
                spoiler_effectiveness,
                fire_truce,
            )
        self.strength, self.control, shares, self.forces, lost, blue, red, blue_lost, red_lost = (
            week
        )
        if self._holding_forces:
            self._held_losses = lost.copy()  # (lost may be a buffer the next week overwrites)
        else:
            self.losses += lost
        # Hurt is measured against the forces the scenario gives each side.
        blue_base, red_base = self.reference_sides
        if self.compiled:
            self._after_fight_compiled(red, blue, red_lost, blue_lost, blue_base, red_base)
            return shares
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
        return shares

    def _after_fight_compiled(
        self,
        red: np.ndarray,
        blue: np.ndarray,
        red_lost: np.ndarray,
        blue_lost: np.ndarray,
        blue_base: np.ndarray,
        red_base: np.ndarray,
    ) -> None:
        """The end of `_fight` as `fighting.after_fight` (the numpy above is its reference)."""
        p = self.parameters
        territory = self.territory(self.faction_columns)
        # New arrays, updated in place: nothing that kept last week's sees them change.
        government, opposition = self.government, self.opposition
        government.hurt, opposition.hurt = government.hurt.copy(), opposition.hurt.copy()
        self.signal, self.power_shift = self.signal.copy(), self.power_shift.copy()
        self.momentum, self.opposition_territory = (
            self.momentum.copy(),
            self.opposition_territory.copy(),
        )
        fighting.after_fight(
            blue,
            red,
            blue_lost,
            red_lost,
            blue_base,
            red_base,
            territory,
            self.territory(government.index),
            p["contest_decisiveness"],
            p["strength_weight"],
            p["hurt_memory"],
            p["momentum_memory"],
            government.hurt,
            opposition.hurt,
            self.signal,
            self.power_shift,
            self.momentum,
            self.opposition_territory,
        )

    def _fight_buffers(self) -> tuple[np.ndarray, ...]:
        """Where the compiled fighting stage writes its results, in `fighting.fight_week`'s order.

        The model's own strength, control and forces are updated in place;
        the rest are kept from week to week (the shares returned by `_fight`
        are this buffer: read them before the next week).
        """
        if self._fight_scratch is None:
            size, regions, n = self.control.shape
            self._fight_scratch = (
                np.empty((size, regions, n)),
                np.empty((size, n)),
                np.empty(size),
                np.empty(size),
                np.empty(size),
                np.empty(size),
            )
        shares, lost, blue, red, blue_lost, red_lost = self._fight_scratch
        return (
            self.strength,
            self.control,
            shares,
            self.forces,
            lost,
            blue,
            red,
            blue_lost,
            red_lost,
        )

    def _draw_fighting_noise(self) -> np.ndarray:
        """This week's standard normals of the fighting noise, shape (regions, combatants, R)."""
        regions, combatants, size = self._noise.shape
        self.streams.normals_into(
            self._noise_generators, self._noise.reshape(regions * combatants, size)
        )
        return self._noise

    def side_strengths(self) -> tuple[np.ndarray, np.ndarray]:
        """Fighting strength of the government and of the factions together (R,)."""
        return (
            self.strength[:, self.government.index],
            self.strength[:, self.faction_columns].sum(axis=-1),
        )

    def spoiler_share(self) -> np.ndarray:
        """Spoilers' share of all fighting strength (R,)."""
        total = self.strength.sum(axis=-1)
        spoilers = self.strength[:, self.spoiler_columns].sum(axis=-1)
        return np.divide(spoilers, total, out=np.zeros(self.size), where=total > 0)

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

    @property
    def fragmented(self) -> np.ndarray:
        return self.opposition.fragmented

    def best_leverage(self) -> np.ndarray:
        """Out of session, the best way out any mediator offers (per replication)."""
        if not self.mediators:
            return np.zeros(self.size)
        return np.max(np.stack([m.leverage for m in self.mediators.values()]), axis=0)

    def government_share(self) -> np.ndarray:
        """The government's Rubinstein share, from both sides' discount factors (R,)."""
        p = self.parameters
        horizon = np.maximum(p["cost_horizon_weeks"], 1.0)
        government, opposition = self.government, self.opposition
        government_discount, opposition_discount = (
            np.clip(
                p["discount_base"] * (1.0 - party.expected_cost / horizon), 0.0, p["discount_cap"]
            )
            for party in (government, opposition)
        )
        if self.first_proposer == "government":
            return negotiation.rubinstein_share(government_discount, opposition_discount)
        return 1.0 - negotiation.rubinstein_share(opposition_discount, government_discount)

    def deliverable_now(self) -> np.ndarray:
        """Share of the opposition an agreement in force (or a truce) binds this week (R,)."""
        opposition = self.opposition
        capabilities, _, moderation = opposition.faction_arrays()
        reservations = coalition.faction_reservation(
            self.talks.low, moderation, self.parameters["hardline_margin"]
        )
        terms = np.where(np.isnan(self.talks.settlement), np.inf, self.talks.settlement)
        tolerance = self.parameters["bargaining_tolerance"][:, None]
        return coalition.deliverable_share(
            capabilities,
            opposition.cohesion,
            (terms[:, None] >= reservations - tolerance) & opposition.members(),
            self.fragmented,
        )

    def endorsements(self) -> tuple[np.ndarray, np.ndarray]:
        """Patrons' endorsement of talks for each side (0..1)."""
        size = self.size
        p = self.parameters
        weights = {"government": np.zeros(size), "opposition": np.zeros(size)}
        pressed = {"government": np.zeros(size), "opposition": np.zeros(size)}
        capabilities, _, _ = self.opposition.faction_arrays()
        capability_total = capabilities.sum(axis=-1)
        for key, patron in self.patrons.items():
            if patron.client_key not in (self.government.key, self.opposition.key):
                continue  # a spoiler's patron has no say in the talks
            if patron.client_key == self.government.key:
                side, reach = "government", 1.0
                prospects = 1.0 - self.signal
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
                prospects = self.signal
            # A patron of a losing client may press harder for a way out.
            supports = np.clip(
                patron.supports_talks
                + p["patron_talks_response"] * (p["patron_parity"] - prospects),
                0.0,
                1.0,
            )
            weights[side] += patron.commitment
            pressed[side] += patron.commitment * supports * reach
        return tuple(  # type: ignore[return-value]
            np.divide(pressed[s], weights[s], out=np.zeros(size), where=weights[s] > 0)
            for s in ("government", "opposition")
        )


def settling_change(before: np.ndarray, after: np.ndarray) -> float:
    """Largest weekly change of any state in any replication: max |x_t - x_(t-1)|.

    The spin-up has settled once this stays within `spinup_tolerance` for
    `spinup_window` weeks in a row: a convergence criterion on every state
    rather than a fixed number of weeks (the burn-in of a simulation,
    Law 2015 ch. 9; Grimm et al. 2006's ODD 'initialisation').
    """
    if before.size == 0:
        return 0.0
    return float(np.max(np.abs(after - before)))


def _where_rows(values: np.ndarray, rows: np.ndarray, new: np.ndarray) -> np.ndarray:
    """``np.where(hit, new, values)`` for the replications ``rows`` hit: a new array."""
    out = values.copy()
    out[rows] = new
    return out


@dataclass
class _Week:
    """What this week's events add up to, filled by the event handlers."""

    fighting_rate: np.ndarray
    ceasefire: np.ndarray
    in_session: np.ndarray
    # Mediators in session this week, by id: where each is (R,).
    mediating: dict[str, np.ndarray]
    # Combatants bound by the ceasefires in force, and by what the rounds in session reach (R, n).
    covered: np.ndarray
    session_covers: np.ndarray

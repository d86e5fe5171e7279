"""The model's agents. Each holds its state as numpy arrays over replications, shape (R,).

Per-replication branching is done with masks, never with Python `if` on one
replication, so one agent instance carries R replications at once (R = 1 is
a single inspectable run).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, cast, runtime_checkable

import mesa
import numpy as np

from negsim.model import beliefs, coalition, patrons
from negsim.scenario import schema

if TYPE_CHECKING:
    from negsim.model.streams import Streams


@runtime_checkable
class ActorsWorld(Protocol):
    """What the actors read of the world they live in (`negsim.model.world.ConflictModel`).

    Named here, not imported: the actors need these arrays and numbers, not
    the Mesa model that schedules the stages.
    """

    size: int
    streams: Streams
    parameters: dict[str, np.ndarray]
    compiled: bool
    forces: np.ndarray
    base_forces: np.ndarray
    recruitment: np.ndarray
    strength: np.ndarray
    support: np.ndarray
    signal: np.ndarray
    government: Government
    opposition: Opposition
    combatant_columns: dict[str, int]
    faction_columns: np.ndarray
    opposition_patron_keys: list[str]

    @property
    def opposition_patron_commitment(self) -> np.ndarray: ...


class Actor(mesa.Agent):
    """Any actor of the scenario, known by its scenario id."""

    model: ActorsWorld

    def __init__(self, model: ActorsWorld, key: str, spec: schema.ActorBase):
        super().__init__(model)
        self.key = key
        self.label = spec.name or key

    def _parameter(self, field: str, value: object) -> np.ndarray:
        return self.model.streams.parameter(f"actors.{self.key}.{field}", value)  # type: ignore[arg-type]


class Combatant(Actor):
    """An actor that holds ground and fights: government, faction or spoiler.

    Its forces live in the model's stacked array ``model.forces[:, index]`` so
    that fighting is computed for all combatants at once.
    """

    def __init__(self, model: ActorsWorld, key: str, spec: schema.Combatant, index: int):
        super().__init__(model, key, spec)
        self.index = index
        model.forces[:, index] = self._parameter("capability", spec.capability)
        model.base_forces[:, index] = model.forces[:, index]
        model.recruitment[:, index] = self._parameter("recruitment", spec.recruitment)

    @property
    def forces(self) -> np.ndarray:
        """Own forces, capability units (R,)."""
        return self.model.forces[:, self.index]

    @property
    def capability(self) -> np.ndarray:
        """Fighting strength with patron support and escalation (R,)."""
        return self.model.strength[:, self.index]


class Spoiler(Combatant):
    """Fights for territory, never negotiates."""


class Party:
    """State shared by the two sides at the table: beliefs, costs, willingness."""

    model: ActorsWorld
    key: str

    def _init_party(self, spec: schema.Government | schema.Opposition) -> None:
        parameter = self._parameter  # type: ignore[attr-defined]
        self.resolve = parameter("resolve", spec.resolve)
        self.cost_sensitivity = parameter("cost_sensitivity", spec.cost_sensitivity)
        self.position = parameter("position", spec.position)
        self.salience = parameter("salience", spec.salience)
        self.optimism = parameter("optimism", spec.optimism)
        self.willingness_bias = parameter("willingness_bias", spec.willingness_bias)
        # Beliefs are kept as the opposition's expected share of the issue,
        # whichever side holds them, so the two can be compared directly.
        expected = parameter("expected_outcome", spec.expected_outcome)
        self.expected = expected if self.side == "opposition" else 1.0 - expected
        size = self.model.size
        self.hurt = np.zeros(size)
        self.expected_cost = np.zeros(size)
        self.willingness = np.zeros(size)
        self.endorsement = np.zeros(size)

    side: str

    def prospects(self) -> np.ndarray:
        """The side's own expected outcome of war, in its own favour (0..1)."""
        return self.expected if self.side == "opposition" else 1.0 - self.expected

    def update_belief(self) -> None:
        """Stage 4: revise the expected outcome from the battlefield, with noise."""
        model = self.model
        p = model.parameters
        direction = 1.0 if self.side == "opposition" else -1.0
        noise = p["belief_noise"] * model.streams.normal(f"beliefs:{self.key}")
        self.expected = beliefs.update_belief(
            self.expected, model.signal, direction * self.optimism, noise, p["belief_learning_rate"]
        )


class Government(Combatant, Party):
    """The government: fights and negotiates."""

    side = "government"

    def __init__(self, model: ActorsWorld, key: str, spec: schema.Government, index: int):
        super().__init__(model, key, spec, index)
        self._init_party(spec)


class Leader(Actor):
    """A faction's leadership over time: the leader in office, per replication, and the line of succession.

    The chain is the scenario's leader, then his named successors in order,
    then successors drawn from the `successor` distributions, as many as
    removals require. ``depth`` says, per replication, who is in office
    (0 the first leader, k the k-th successor). Each successor's traits come
    from streams named by his place in the chain, so a removal in one
    variant shifts no other draw.
    """

    def __init__(
        self,
        model: ActorsWorld,
        key: str,
        spec: schema.Leader | None,
        faction: schema.Faction,
        patron_keys: list[str],
    ):
        mesa.Agent.__init__(self, model)
        self.key = key
        self.label = (spec.name if spec else None) or key
        size = model.size
        self.patron_keys = patron_keys
        draw = model.streams.parameter
        if spec is None:  # a faction without a named leader: its collective leadership
            self.moderation = draw(f"actors.{key}.moderation", faction.moderation)
            self.authority = draw(f"actors.{key}.authority", faction.authority)
            self.ties = np.zeros((size, len(patron_keys)))
            self.successor_spec = schema.Successor()
            named: list[schema.NamedSuccessor] = []
        else:
            self.moderation = draw(f"leaders.{key}.moderation", spec.moderation)
            self.authority = draw(f"leaders.{key}.authority", spec.authority)
            self.ties = self._ties(key, spec.ties)
            self.successor_spec = spec.successor
            named = list(spec.successors)
        self.chain_ids = [key] + [s.id for s in named]
        self.named = [
            (
                draw(f"leaders.{s.id}.moderation", s.moderation),
                draw(f"leaders.{s.id}.authority", s.authority),
                self._ties(s.id, s.ties),
            )
            for s in named
        ]
        self.named_specs = named
        # What the succession that brought the leader in office cost (the
        # first succession's until one happens): each succession its own.
        self._costs: dict[int, tuple[np.ndarray, ...]] = {}
        (
            self.ties_retained,
            self.cohesion_shock,
            self.capability_loss,
            self.crisis_weeks,
        ) = self._succession_costs(1)
        self._drawn: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self.depth = np.zeros(size, dtype=int)
        self.removed = np.zeros(size, dtype=bool)
        self.crisis_left = np.zeros(size)

    def _ties(self, key: str, ties: dict[str, object]) -> np.ndarray:
        if not self.patron_keys:
            return np.zeros((self.model.size, 0))
        draw = self.model.streams.parameter
        return np.stack(
            [draw(f"leaders.{key}.ties.{k}", ties.get(k, 0.0)) for k in self.patron_keys],  # type: ignore[arg-type]
            axis=-1,
        )

    def _succession_costs(self, depth: int) -> tuple[np.ndarray, ...]:
        """Ties retained, cohesion shock, capability loss and crisis weeks of the ``depth``-th succession.

        Drawn anew for each succession (a founder's natural death and his
        successor's killing do not share them): a named successor's own
        values where he gives them, else the chain's `successor`. The first
        succession keeps the stream names of a single one.
        """
        if depth not in self._costs:
            draw = self.model.streams.parameter
            chain = self.successor_spec
            spec = self.named_specs[depth - 1] if depth <= len(self.named_specs) else None
            prefix = f"succession:{self.key}" + ("" if depth == 1 else f":{depth}")
            costs = []
            for field in ("ties_retained", "cohesion_shock", "capability_loss", "crisis_weeks"):
                own = getattr(spec, field, None) if spec is not None else None
                if own is not None:
                    costs.append(draw(f"leaders.{spec.id}.{field}", own))  # type: ignore[union-attr]
                else:
                    costs.append(draw(f"{prefix}.{field}", getattr(chain, field)))
            self._costs[depth] = tuple(costs)
        return self._costs[depth]

    def _drawn_successor(self, depth: int) -> tuple[np.ndarray, np.ndarray]:
        """Moderation and authority of the drawn successor at ``depth`` (beyond the named ones)."""
        if depth not in self._drawn:
            draw = self.model.streams.parameter
            # The first drawn successor keeps the stream names of a single succession.
            prefix = f"succession:{self.key}" + (
                "" if depth == len(self.named) + 1 else f":{depth}"
            )
            self._drawn[depth] = (
                draw(f"{prefix}.moderation", self.successor_spec.moderation),
                draw(f"{prefix}.authority", self.successor_spec.authority),
            )
        return self._drawn[depth]

    def replace_where(self, where: np.ndarray, depth: int | None = None) -> np.ndarray:
        """Remove the leader in office in the replications ``where``; return where it happened.

        With ``depth`` only where the leader at that place in the chain is in office.
        """
        hit = where if depth is None else where & (self.depth == depth)
        rows = np.flatnonzero(hit)
        if rows.size == 0:
            return hit
        p = self.model.parameters
        # Only the replications hit change: new arrays, set at those rows.
        new_depth = self.depth.copy()
        new_depth[rows] += 1
        moderation_, authority_, ties_ = (
            self.moderation.copy(),
            self.authority.copy(),
            self.ties.copy(),
        )
        costs_ = [
            c.copy()
            for c in (
                self.ties_retained,
                self.cohesion_shock,
                self.capability_loss,
                self.crisis_weeks,
            )
        ]
        for level in np.unique(new_depth[rows]):
            at = rows[new_depth[rows] == level]
            # This succession's own costs.
            for mine, drawn_cost in zip(costs_, self._succession_costs(int(level)), strict=True):
                mine[at] = drawn_cost[at]
            if level <= len(self.named):
                moderation, authority, ties = self.named[level - 1]
                ties_[at] = ties[at]
            else:
                moderation, authority = self._drawn_successor(int(level))
                ties_[at] = self.ties[at] * costs_[0][at, None]
            # The successor's demands are his own, as far as `successor_demands` says.
            moderation_[at] = coalition.successor_moderation(
                self.moderation[at],
                moderation[at],
                p["successor_demands"][at],
                p["decapitation_moderation"][at],
            )
            authority_[at] = authority[at]
        self.moderation, self.authority, self.ties = moderation_, authority_, ties_
        self.ties_retained, self.cohesion_shock, self.capability_loss, self.crisis_weeks = costs_
        self.depth = new_depth
        self.removed[rows] = True
        crisis_left = self.crisis_left.copy()
        crisis_left[rows] = self.crisis_weeks[rows]
        self.crisis_left = crisis_left
        return hit

    def effective_authority(self) -> np.ndarray:
        return coalition.effective_authority(
            self.authority,
            self.crisis_left,
            self.crisis_weeks,
            self.model.parameters["succession_authority_start"],
        )


class Faction(Combatant):
    """An armed member of the opposition coalition."""

    def __init__(self, model: ActorsWorld, key: str, spec: schema.Faction, index: int):
        super().__init__(model, key, spec, index)
        self.cohesion = self._parameter("cohesion", spec.cohesion)
        self.leader: Leader | None = None
        # In the coalition (its delegation, what a deal binds) or outside it.
        self.member = np.ones(model.size, dtype=bool)


class Opposition(Actor, Party):
    """The opposition coalition: negotiates for its factions; its strength is theirs."""

    side = "opposition"

    def __init__(self, model: ActorsWorld, key: str, spec: schema.Opposition):
        super().__init__(model, key, spec)
        self._init_party(spec)
        self.cohesion = self._parameter("cohesion", spec.cohesion)
        self.factions: list[Faction] = []

    @property
    def fragmented(self) -> np.ndarray:
        p = self.model.parameters
        capabilities = np.stack([f.capability for f in self.factions], axis=-1)
        return coalition.coalition_fragmented(
            self.cohesion,
            p["fragmentation_threshold"],
            capabilities,
            self.members(),
            p["fragmentation_share"],
        )

    def members(self) -> np.ndarray:
        """Whether each faction is in the coalition, shape (R, F)."""
        return np.stack([f.member for f in self.factions], axis=-1)

    def update_membership(self) -> None:
        """Stage 5, after cohesion: factions leave the coalition or re-join it (`coalition.membership`).

        One full block of draws per faction every week, so the streams stay aligned.
        """
        p = self.model.parameters
        for faction in self.factions:
            draw = self.model.streams.uniform(f"membership:{faction.key}")
            faction.member = coalition.membership(
                faction.member, faction.cohesion, p["exit_cohesion"], p["rejoin_rate"], draw
            )

    def faction_arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Capabilities, cohesion and leader moderation of the factions, shape (R, F)."""
        capabilities = np.stack([f.capability for f in self.factions], axis=-1)
        cohesion_ = np.stack([f.cohesion for f in self.factions], axis=-1)
        return capabilities, cohesion_, self.leader_moderation()

    def leader_moderation(self) -> np.ndarray:
        """The moderation of each faction's leader in office, shape (R, F)."""
        return np.stack([cast(Leader, f.leader).moderation for f in self.factions], axis=-1)

    def ties_to(self, patron_key: str) -> np.ndarray:
        """Each faction's current leader's tie to an opposition patron, shape (R, F)."""
        column = self.model.opposition_patron_keys.index(patron_key)
        return np.stack([cast(Leader, f.leader).ties[:, column] for f in self.factions], axis=-1)

    def update_cohesion(self) -> None:
        """Stage 5: factions' and the coalition's cohesion; fragmentation below the threshold.

        Compiled as `coalition.cohesion_week` when the model is (`model.compiled`);
        the numpy below is its reference.
        """
        if self.model.compiled:
            self._update_cohesion_compiled()
            self.update_membership()
            return
        p = self.model.parameters
        commitment = self.model.opposition_patron_commitment  # (R, K)
        total_commitment = commitment.sum(axis=-1)
        for faction in self.factions:
            leader = cast(Leader, faction.leader)  # every faction gets one at build time
            endorsement = np.divide(
                (commitment * leader.ties).sum(axis=-1),
                total_commitment,
                out=np.zeros(self.model.size),
                where=total_commitment > 0,
            )
            # Without patrons there is no endorsement to weigh: authority alone.
            weight = np.where(total_commitment > 0, p["cohesion_endorsement_weight"], 0.0)
            target = coalition.cohesion_target(
                leader.effective_authority(),
                self.hurt,
                p["cohesion_loss_weight"],
                endorsement,
                weight,
            )
            faction.cohesion = coalition.adjust(faction.cohesion, target, p["cohesion_rate"])
            leader.crisis_left = np.maximum(leader.crisis_left - 1.0, 0.0)
        capabilities, cohesion_, moderation = self.faction_arrays()
        target = coalition.coalition_cohesion_target(capabilities, cohesion_, moderation)
        self.cohesion = coalition.adjust(self.cohesion, target, p["cohesion_rate"])
        self.update_membership()

    def _update_cohesion_compiled(self) -> None:
        model = self.model
        p = model.parameters
        leaders = [cast(Leader, f.leader) for f in self.factions]
        size, count = model.size, len(self.factions)
        # Fresh arrays each week: the factions keep rows of them as their state.
        cohesion_ = np.empty((count, size))
        crisis = np.empty((count, size))
        coalition_ = np.empty(size)
        coalition.cohesion_week(
            model.opposition_patron_commitment,
            np.stack([leader.ties for leader in leaders]),
            np.stack([leader.authority for leader in leaders]),
            np.stack([leader.crisis_left for leader in leaders]),
            np.stack([leader.crisis_weeks for leader in leaders]),
            np.stack([f.cohesion for f in self.factions]),
            self.hurt,
            model.strength[:, model.faction_columns],
            self.leader_moderation(),
            self.cohesion,
            p["cohesion_endorsement_weight"],
            p["cohesion_loss_weight"],
            p["cohesion_rate"],
            p["succession_authority_start"],
            cohesion_,
            crisis,
            coalition_,
        )
        for faction, leader, row, left in zip(
            self.factions, leaders, cohesion_, crisis, strict=True
        ):
            faction.cohesion = row
            leader.crisis_left = left
        self.cohesion = coalition_


class Patron(Actor):
    """An outside backer: supplies capability to its client and presses it on talks."""

    def __init__(self, model: ActorsWorld, key: str, spec: schema.Patron):
        super().__init__(model, key, spec)
        self.client_key = spec.client
        self.commitment = self._parameter("commitment", spec.commitment)
        self.capacity = self._parameter("capacity", spec.capacity)
        self.responsiveness = self._parameter("responsiveness", spec.responsiveness)
        self.supports_talks = self._parameter("supports_talks", spec.supports_talks)
        self.direct = np.zeros(model.size)
        self.support = np.zeros(model.size)

    def supply(self) -> None:
        """Stage 2: set this week's support from commitment, capacity and client prospects."""
        model = self.model
        parity = model.parameters["patron_parity"]
        if self.client_key in model.combatant_columns and self.client_key != model.government.key:
            # A spoiler's patron: no stake in the talks' balance, so no bailing out.
            self.support = patrons.patron_support(
                self.commitment, self.capacity, self.responsiveness, parity, self.direct, parity
            )
            model.support[:, model.combatant_columns[self.client_key]] += self.support
            return
        client = model.government if self.client_key == model.government.key else model.opposition
        # Patrons read the battlefield itself, not their client's (biased) belief.
        prospects = model.signal if client is model.opposition else 1.0 - model.signal
        self.support = patrons.patron_support(
            self.commitment, self.capacity, self.responsiveness, prospects, self.direct, parity
        )
        if client is model.government:
            model.support[:, model.government.index] += self.support
            return
        # Support to the opposition reaches factions through their leaders' ties.
        ties = model.opposition.ties_to(self.key)
        forces = np.stack([f.forces for f in model.opposition.factions], axis=-1)
        weights = ties * forces
        total = weights.sum(axis=-1, keepdims=True)
        shares = np.divide(weights, total, out=np.zeros_like(weights), where=total > 0)
        for position, faction in enumerate(model.opposition.factions):
            model.support[:, faction.index] += self.support * shares[:, position]


class Mediator(Actor):
    """Convenes rounds and proposes deals inside the bargaining range."""

    def __init__(self, model: ActorsWorld, key: str, spec: schema.Mediator):
        super().__init__(model, key, spec)
        self.leverage = self._parameter("leverage", spec.leverage)
        self.bias = self._parameter("bias", spec.bias)

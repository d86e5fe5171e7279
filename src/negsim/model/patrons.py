"""Patron support for clients."""

from __future__ import annotations

import numba
import numpy as np

from negsim.model.compiled import _maximum, _pairwise_sum


def patron_support(
    commitment: np.ndarray,
    capacity: np.ndarray,
    responsiveness: np.ndarray,
    client_prospects: np.ndarray,
    direct: np.ndarray,
    parity: np.ndarray | float = 0.5,
) -> np.ndarray:
    """Capability a patron supplies to its client this week.

    S = commitment * capacity * max(0, 1 + responsiveness * (parity - prospects)) + direct

    Support grows with the patron's commitment (its interest in the client)
    and, for a responsive patron, as the client's prospects of winning fall
    below parity (`patron_parity`, 1/2 by default: an even war): patrons escalate to save a losing client and ease off a
    winning one (the 'bailing out' dynamic of proxy wars, Salehyan, Siroky &
    Wood 2014; Regan 2002). ``direct`` adds the patron's own forces
    (interventions).

    References:
        Regan, P. M. (2002). Third-party interventions and the duration of
        intrastate conflicts. J. Conflict Resolution 46(1).
        Salehyan, I., Siroky, D., Wood, R. (2014). External rebel sponsorship
        and civilian abuse. International Organization 68(3).
    """
    scale = np.maximum(0.0, 1.0 + responsiveness * (parity - client_prospects))
    return commitment * capacity * scale + direct


# ------------------------------------------------------------------ compiled
# Stage 2 compiled (numba), held to the patrons' own `Patron.supply` by
# tests/model/test_beliefs_patrons.py; see `negsim.model.compiled` for the contract.

# Whose patron each patron is (`ConflictModel.patron_routes`): how its support
# reaches the fighting (`Patron.supply`) and its word the table
# (`ConflictModel.endorsements`).
PATRON_OF_SPOILER = 0  # supplies its client's column, prospects held at parity; no say in talks
PATRON_OF_GOVERNMENT = 1
PATRON_OF_OPPOSITION = 2  # supplies and presses through the factions' leaders' ties


@numba.njit(cache=True)
def supply_week(
    kinds: np.ndarray,
    clients: np.ndarray,
    tie_columns: np.ndarray,
    commitment: np.ndarray,
    capacity: np.ndarray,
    responsiveness: np.ndarray,
    direct: np.ndarray,
    signal: np.ndarray,
    forces: np.ndarray,
    faction_columns: np.ndarray,
    ties: np.ndarray,
    parity: np.ndarray,
    support_out: np.ndarray,
    patron_out: np.ndarray,
) -> None:
    """Stage 2 compiled: every `Patron.supply` of the week, in the patrons' order, to the bit.

    Patron p supplies S = `patrons.patron_support` (commitment, capacity,
    responsiveness, its client's prospects from the battlefield ``signal``,
    its direct forces) into ``patron_out[p]``, added to its client's column
    of ``support_out`` (zeroed first), or for the opposition split among the
    factions in proportion to tie x forces of their leaders.

    Shapes: ``kinds`` (P,) of PATRON_OF_*; ``clients`` (P,) the client's
    combatant column (spoiler and government); ``tie_columns`` (P,) the
    patron's column in ``ties`` (opposition); the patrons' arrays (P, R);
    ``forces`` (R, n); ``ties`` (F, R, K), the factions' leaders' ties in
    `faction_columns` order; ``parity`` (R,) `patron_parity`.
    """
    patrons = kinds.shape[0]
    size, n = support_out.shape
    factions = faction_columns.shape[0]
    weights = np.empty(factions)
    for r in range(size):
        for c in range(n):
            support_out[r, c] = 0.0
        for p in range(patrons):
            kind = kinds[p]
            if kind == PATRON_OF_SPOILER:
                prospects = parity[r]
            elif kind == PATRON_OF_GOVERNMENT:
                prospects = 1.0 - signal[r]
            else:
                prospects = signal[r]
            scale = _maximum(0.0, 1.0 + responsiveness[p, r] * (parity[r] - prospects))
            supplied = commitment[p, r] * capacity[p, r] * scale + direct[p, r]
            patron_out[p, r] = supplied
            if kind != PATRON_OF_OPPOSITION:
                support_out[r, clients[p]] += supplied
                continue
            column = tie_columns[p]
            for f in range(factions):
                weights[f] = ties[f, r, column] * forces[r, faction_columns[f]]
            total = _pairwise_sum(weights, 0, factions)
            for f in range(factions):
                share = weights[f] / total if total > 0 else 0.0
                support_out[r, faction_columns[f]] += supplied * share

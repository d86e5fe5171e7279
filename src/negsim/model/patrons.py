"""Patron support for clients."""

from __future__ import annotations

import numpy as np


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

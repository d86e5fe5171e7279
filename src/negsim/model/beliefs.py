"""Beliefs: each side's expected outcome of continued war, learned from the battlefield."""

from __future__ import annotations

import numpy as np


def battlefield_signal(
    opposition_strength_share: np.ndarray,
    opposition_territory_share: np.ndarray,
    strength_weight: np.ndarray,
) -> np.ndarray:
    """Where the war would end on the issue scale, as the battlefield shows it.

    signal = w * (opposition's contest share of strength)
             + (1 - w) * (opposition's share of the territory the two sides hold)

    War as an information process: fighting reveals the balance of power
    (Wagner 2000; Smith & Stam 2004), read from strength and from ground.

    References:
        Wagner, R. H. (2000). Bargaining and war. AJPS 44(3).
        Smith, A., Stam, A. (2004). Bargaining and the nature of war. JCR 48(6).
    """
    return (
        strength_weight * opposition_strength_share
        + (1 - strength_weight) * opposition_territory_share
    )


def update_belief(
    belief: np.ndarray,
    signal: np.ndarray,
    bias: np.ndarray,
    noise: np.ndarray,
    learning_rate: np.ndarray,
) -> np.ndarray:
    """Move a belief towards a noisy, biased reading of the signal.

    b' = clip(b + eta * (signal + bias + noise - b), 0, 1)

    Exponential smoothing (adaptive expectations) of noisy observations; a
    positive ``bias`` is optimism about the side's own prospects in the
    direction of that side (Fey & Ramsay 2007 on mutual optimism).

    References:
        Fey, M., Ramsay, K. (2007). Mutual optimism and war. AJPS 51(4).
    """
    return np.clip(belief + learning_rate * (signal + bias + noise - belief), 0.0, 1.0)

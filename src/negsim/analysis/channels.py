"""Mechanism attribution: which channels carry each hypothesis's effect.

A hypothesis compares a treatment variant with a control variant. The
model's mechanisms are named parameters, and most can be switched off by one
value (a weight of 0). Running the same variant pair, with the same seed and
so the same common random numbers, once with every mechanism and once with
each channel switched off in turn says how much of the effect each channel
carries:

    share_c = (effect_all - effect_without_c) / effect_all

The shares need not add up to 1: channels interact (a channel can carry an
effect only through another), and one switched off can also remove an
opposing push (a share above 1, or below 0). This is the 'knock-out' design
of mechanism attribution in agent-based models (Grimm et al. 2005's
pattern-oriented analysis of which submodel produces which pattern; the
path-switching of causal mediation analysis, Imai, Keele & Tingley 2010,
where the channel's parameter is the mediator held at its 'off' value).

References:
    Grimm, V. et al. (2005). Pattern-oriented modeling of agent-based complex
    systems. Science 310.
    Imai, K., Keele, L., Tingley, D. (2010). A general approach to causal
    mediation analysis. Psychological Methods 15(4).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Channel:
    """A mechanism of the model, and the values that switch it off."""

    name: str
    description: str
    off: Mapping[str, float]
    """Dotted scenario paths and the value that switches the mechanism off."""
    section: str
    """Where docs/model.md describes it."""


CHANNELS: tuple[Channel, ...] = (
    Channel(
        "attendance",
        "each side weighs the deal's surplus over war in coming to the table",
        {"parameters.willingness_surplus": 0.0},
        "7.14",
    ),
    Channel(
        "delegation",
        "the opposition's veto players drag its delegation's floor",
        {"parameters.delegation_veto": 0.0},
        "7.14",
    ),
    Channel(
        "successor",
        "a removed leader's successor brings his own moderation to his faction's demands and veto",
        {"parameters.successor_demands": 0.0},
        "7.3",
    ),
    Channel(
        "outbidding",
        "hardliners escalate after a removal, eroding trust and ratification",
        {"parameters.outbidding_intensity": 0.0},
        "7.3",
    ),
    Channel(
        "membership",
        "factions leave the coalition when their cohesion collapses, and re-join",
        {"parameters.exit_cohesion": 0.0},
        "7.9",
    ),
    Channel(
        "commitment",
        "Powell's commitment problem: a shifting balance narrows the range",
        {"parameters.commitment_horizon_weeks": 0.0},
        "7.11",
    ),
    Channel(
        "emboldening",
        "ground gained raises the government's price",
        {"parameters.emboldening": 0.0},
        "7.11",
    ),
    Channel(
        "ripeness",
        "a mutually hurting stalemate with a way out draws both to the table",
        {"parameters.willingness_ripeness": 0.0},
        "7.12, 7.14",
    ),
    Channel(
        "confidence",
        "a side confident of winning stays away",
        {"parameters.willingness_confidence": 0.0},
        "7.14",
    ),
    Channel(
        "patrons",
        "patrons' pressure for talks and their reaction to a removed leader",
        {
            "parameters.willingness_endorsement": 0.0,
            "parameters.patron_removal_reaction": 0.0,
        },
        "7.3, 7.13",
    ),
    Channel(
        "partner",
        "progress lost with a removed leader's faction",
        {"parameters.partner_loss": 0.0},
        "7.3",
    ),
    Channel(
        "mediation",
        "the mediator moves its proposal into the zone both would sign",
        {"parameters.mediator_insight": 0.0},
        "7.15",
    ),
    Channel(
        "resumption",
        "a round suspended by a walkout resumes",
        {"parameters.resumption_rate": 0.0},
        "7.14",
    ),
)
"""The channels `negsim channels` switches off in turn, in the order of the step."""

ALL = "all"
"""The row label of the effect with every channel on."""


def paired_effect(treatment: np.ndarray, control: np.ndarray, confidence: float) -> tuple:
    """Mean paired difference and its normal interval: (effect, low, high, pairs).

    The pairs share common random numbers (same replication index), so the
    difference's spread is the pairs' own (NaNs, e.g. outcomes 'at talks'
    where none were held, are left out pairwise).
    """
    from statistics import NormalDist

    keep = np.isfinite(treatment) & np.isfinite(control)
    differences = treatment[keep] - control[keep]
    pairs = int(differences.size)
    if pairs == 0:
        return float("nan"), float("nan"), float("nan"), 0
    effect = float(differences.mean())
    if pairs < 2:
        return effect, float("nan"), float("nan"), pairs
    z = NormalDist().inv_cdf(0.5 + confidence / 2.0)
    half = z * float(differences.std(ddof=1)) / np.sqrt(pairs)
    return effect, effect - half, effect + half, pairs


def channel_table(
    rows: Sequence[tuple[str, str, str, str]],
    outcomes: Mapping[str, Mapping[str, Mapping[str, np.ndarray]]],
    confidence: float,
) -> pd.DataFrame:
    """The rows of `channels.csv`.

    ``rows`` are (hypothesis, metric, treatment, control); ``outcomes`` maps
    a channel's name (or `ALL`) to each variant's per-run outcomes.
    """
    records = []
    for hypothesis, metric, treatment, control in rows:
        everything = outcomes[ALL]
        effect_all, low_all, high_all, pairs = paired_effect(
            everything[treatment][metric], everything[control][metric], confidence
        )
        for channel in CHANNELS:
            if channel.name not in outcomes:
                continue
            without = outcomes[channel.name]
            effect, low, high, _ = paired_effect(
                without[treatment][metric], without[control][metric], confidence
            )
            carried = effect_all - effect
            share = carried / effect_all if abs(effect_all) > 1e-12 else float("nan")
            records.append(
                {
                    "hypothesis": hypothesis,
                    "metric": metric,
                    "treatment": treatment,
                    "control": control,
                    "channel": channel.name,
                    "switched_off": "; ".join(f"{k}={v:g}" for k, v in channel.off.items()),
                    "effect_all": effect_all,
                    "effect_all_low": low_all,
                    "effect_all_high": high_all,
                    "effect_without": effect,
                    "effect_without_low": low,
                    "effect_without_high": high,
                    "carried": carried,
                    "share_carried": share,
                    "pairs": pairs,
                }
            )
    return pd.DataFrame.from_records(records)

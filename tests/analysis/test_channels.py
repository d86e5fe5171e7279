"""Mechanism attribution: channels.csv's arithmetic, and channels switched off for real."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from negsim.analysis.channels import ALL, CHANNELS, channel_table, paired_effect

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


def test_paired_effect_closed_form():
    treatment = np.array([1.0, 0.0, 1.0, 1.0, np.nan])
    control = np.array([0.0, 0.0, 1.0, 0.0, 1.0])
    effect, low, high, pairs = paired_effect(treatment, control, 0.95)
    differences = np.array([1.0, 0.0, 0.0, 1.0])
    half = 1.959964 * differences.std(ddof=1) / 2.0
    assert pairs == 4
    assert effect == pytest.approx(0.5)
    assert (low, high) == pytest.approx((0.5 - half, 0.5 + half), rel=1e-5)


def test_the_share_a_channel_carries_is_the_effect_lost_without_it():
    n = 10
    ones, zeros = np.ones(n), np.zeros(n)
    half = np.r_[np.ones(n // 2), np.zeros(n // 2)]
    outcomes = {
        ALL: {"base": {"m": ones}, "ctl": {"m": zeros}},  # effect 1
        "attendance": {"base": {"m": half}, "ctl": {"m": zeros}},  # effect 0.5: carries half
        "partner": {"base": {"m": ones}, "ctl": {"m": zeros}},  # carries nothing
    }
    table = channel_table([("h", "m", "base", "ctl")], outcomes, 0.95).set_index("channel")
    assert list(table.index) == [
        "attendance",
        "partner",
    ]  # only the channels run, in CHANNELS order
    assert table.loc["attendance", "share_carried"] == pytest.approx(0.5)
    assert table.loc["partner", "share_carried"] == pytest.approx(0.0)
    assert table.loc["attendance", "carried"] == pytest.approx(0.5)


def test_every_channel_switches_off_a_parameter_of_the_scenario_format():
    from negsim.scenario.schema import Parameters

    for channel in CHANNELS:
        for path in channel.off:
            section, name = path.split(".", 1)
            assert section == "parameters" and name in Parameters.model_fields, path


@pytest.mark.slow
def test_channels_switched_off_for_real_change_the_effects_they_carry(tmp_path):
    from negsim.channels_api import attribute_channels

    result = attribute_channels(
        SCENARIOS / "geneva3.yaml",
        runs=60,
        channels=["attendance", "resumption"],
        out=tmp_path / "channels",
    )
    table = result.table
    assert set(table["channel"]) == {"attendance", "resumption"}
    written = pd.read_csv(tmp_path / "channels" / "channels.csv")
    assert len(written) == len(table)
    assert (tmp_path / "channels" / "channels.png").stat().st_size > 10_000
    held = table[(table.metric == "talks_held") & (table.hypothesis == "escalation_weakens_talks")]
    held = held.set_index("channel")
    # geneva3's short rounds never resume: switching resumption off changes nothing ...
    assert held.loc["resumption", "carried"] == pytest.approx(0.0)
    # ... while attendance that follows the deal carries part of escalation's effect on it.
    assert held.loc["attendance", "effect_without"] != held.loc["attendance", "effect_all"]
    # A derived outcome is attributed as the verdicts read it: weeks to agreement, censored.
    timing = table[table.metric == "weeks_to_agreement"]
    assert len(timing) == 2 * 2  # two hypotheses on it in geneva3, two channels
    assert timing["effect_all"].notna().all()


def test_the_command_lists_every_channel():
    from click.testing import CliRunner

    from negsim.cli import main

    result = CliRunner().invoke(main, ["channels", "--list"])
    assert result.exit_code == 0
    assert [line.split()[0] for line in result.output.splitlines()] == [c.name for c in CHANNELS]


def test_an_unknown_channel_is_a_usage_error():
    from click.testing import CliRunner

    from negsim.cli import main

    result = CliRunner().invoke(
        main, ["channels", str(SCENARIOS / "geneva3.yaml"), "-c", "nosuch", "-n", "1"]
    )
    assert result.exit_code == 2
    assert "unknown 'nosuch'" in result.output

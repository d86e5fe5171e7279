"""Tests of negsim.explore: the model behind the page, the command, and the page in a real browser."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from negsim.cli import main

pytest.importorskip("solara", reason="negsim explore needs the viz extra (solara)")

from negsim.explore import ExploreModel, model_params, slider_step  # noqa: E402

SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "geneva3.yaml"
CHROMIUM = next(
    (Path(p) for p in ("/usr/bin/chromium", "/usr/bin/chromium-browser") if Path(p).exists()),
    None,
)


def test_one_replication_steps_week_by_week_to_the_end() -> None:
    model = ExploreModel(str(SCENARIO))
    assert model.week == 0 and model.running and model.size == 1
    model.step()
    assert model.week == 1
    assert model.series("control.regime").shape == (1,)
    while model.running:
        model.step()
    assert model.week == model.weeks
    model.step()  # at the end a step does nothing
    assert model.week == model.weeks
    summary = model.talks_summary()
    assert summary["week"].startswith(f"{model.weeks} of {model.weeks}")
    assert set(summary) >= {"talks", "government's offer", "walkouts (government / opposition)"}


def test_the_same_inputs_give_the_same_history() -> None:
    a, b = ExploreModel(str(SCENARIO), seed=3), ExploreModel(str(SCENARIO), seed="3")
    for _ in range(30):
        a.step()
        b.step()
    assert np.array_equal(a.recorder.values, b.recorder.values)


def test_variant_and_uncertain_inputs_change_the_world() -> None:
    params = model_params(SCENARIO)
    assert (
        params["variant"]["values"][0] == "base" and "alloush_alive" in params["variant"]["values"]
    )
    slider = params["actors__regime__capability"]
    assert slider["label"] == "actors.regime.capability"
    assert slider["min"] <= slider["value"] <= slider["max"]
    base = ExploreModel(str(SCENARIO))
    stronger = ExploreModel(str(SCENARIO), actors__regime__capability=1.3)
    assert stronger.forces[0, 0] > base.forces[0, 0]
    alive = ExploreModel(str(SCENARIO), variant="alloush_alive")
    assert all(e.id != "alloush_killed" for e in alive.spec.events)
    with pytest.raises(ValueError, match="unknown variant"):
        ExploreModel(str(SCENARIO), variant="nope")


def test_sliders_start_on_the_scenarios_own_values() -> None:
    """Every slider's grid (min + k * step) holds the scenario's value and its max."""
    for name, options in model_params(SCENARIO).items():
        if not isinstance(options, dict) or not options.get("type", "").startswith("Slider"):
            continue
        low, step = options["min"], options["step"]
        for x in (options["value"], options["max"]):
            k = (x - low) / step
            assert k == pytest.approx(round(k), rel=1e-9, abs=1e-9), (name, x, step)
        if options["type"] == "SliderFloat":  # fine enough to drag
            assert (options["max"] - low) / step >= 20 - 1e-9, name
    assert slider_step(0.12, 0.6, 0.4) == pytest.approx(0.02)
    assert slider_step(0.0, 1.0, 1 / 3) == pytest.approx(1 / 1000)  # no decimal grid: fine steps


def test_the_map_puts_regions_where_the_scenario_does() -> None:
    model = ExploreModel(str(SCENARIO))
    damascus = model.region_keys.index("damascus")
    aleppo = model.region_keys.index("aleppo")
    assert model.layout[damascus] == pytest.approx(model.spec.regions["damascus"].position)
    assert model.layout[aleppo][1] > model.layout[damascus][1]  # Aleppo is north of Damascus


def test_a_region_without_position_gets_a_fixed_place(tmp_path: Path) -> None:
    text = SCENARIO.read_text(encoding="utf-8")
    lines = [ln for ln in text.splitlines() if not ln.strip().startswith("position: [")]
    plain = tmp_path / "plain.yaml"
    plain.write_text("\n".join(lines) + "\n", encoding="utf-8")
    first, again = ExploreModel(str(plain)).layout, ExploreModel(str(plain)).layout
    assert first == again and len(first) == 9


def test_the_page_builds() -> None:
    from negsim.explore import make_page

    assert make_page(SCENARIO) is not None


def test_cli_explore_refuses_a_bad_scenario(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\n", encoding="utf-8")
    done = CliRunner().invoke(main, ["explore", str(bad)])
    assert done.exit_code == 1
    assert "Traceback" not in done.output
    helped = CliRunner().invoke(main, ["explore", "--help"])
    assert helped.exit_code == 0 and "uncertain" in helped.output


def test_the_server_starts_offline_in_a_session_of_its_own(monkeypatch) -> None:
    """No version check against the package registry, no usage statistics, no orphan."""
    started: dict = {}

    class Server:  # stands in for the solara process: it serves, then stops by itself
        def __init__(self, command: list[str], env: dict[str, str], **options: object) -> None:
            started.update(command=command, env=env, options=options)

        def poll(self) -> int:
            return 0

        def wait(self, timeout: float | None = None) -> int:
            return 0

    monkeypatch.setattr(subprocess, "Popen", Server)
    done = CliRunner().invoke(main, ["explore", str(SCENARIO), "--port", str(_free_port())])
    assert done.exit_code == 0, done.output
    assert "--no-check-version" in started["command"]
    assert started["options"]["start_new_session"] is True  # signals reach it through negsim
    env = started["env"]
    monkeypatch.undo()
    # Solara itself reads the setting from that variable: telemetry is off.
    read = subprocess.run(
        [
            sys.executable,
            "-c",
            "import solara.server.settings as s; print(s.telemetry.mixpanel_enable)",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert read.stdout.strip() == "False", read.stderr


# --------------------------------------------------------------------------- in a real browser


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def served() -> object:
    """`negsim explore scenarios/geneva3.yaml` serving on a free port; stopped afterwards."""
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "negsim.cli", "explore", str(SCENARIO), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://localhost:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                urllib.request.urlopen(url, timeout=2).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("negsim explore did not start serving")
                time.sleep(0.5)
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)  # the command and the solara server it started
        process.wait(timeout=30)


@pytest.mark.slow
def test_the_page_steps_a_replication_in_chromium(served: str) -> None:
    if CHROMIUM is None:
        pytest.skip("no Chromium installed (apt-get install chromium) to load the page")
    playwright = pytest.importorskip("playwright.sync_api", reason="playwright not installed")
    errors: list[str] = []
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(served, timeout=90_000)
            page.get_by_text("0 of 47", exact=False).wait_for(timeout=90_000)
            assert page.get_by_text("The talks", exact=True).is_visible()
            assert page.get_by_text("actors.regime.resolve").is_visible()
            # The slider starts at the scenario's value (0.8), shows it, and moves on its grid.
            slider = (
                page.locator(".v-input__slider", has_text="actors.regime.resolve")
                .locator("[role=slider]")
                .first
            )
            assert slider.get_attribute("aria-valuenow") == "0.8"
            widths = page.eval_on_selector_all(
                ".v-input__slider .v-slider", "els => els.map(e => e.getBoundingClientRect().width)"
            )
            assert widths and min(widths) > 100  # no slider squeezed by its label
            # The value is shown without dragging (the thumb label is always on).
            assert (
                page.locator(".v-input__slider", has_text="actors.regime.resolve")
                .locator(".v-slider__thumb-label")
                .first.inner_text()
                .strip()
                == "0.8"
            )
            slider.focus()
            slider.press("ArrowRight")
            page.wait_for_function(
                "el => el.getAttribute('aria-valuenow') === '0.81'", arg=slider.element_handle()
            )
            page.get_by_role("button", name="Reset").click()  # the new value applies on Reset
            page.get_by_text("0 of 47", exact=False).wait_for(timeout=60_000)
            page.get_by_role("button", name="Step").click()
            page.get_by_text("1 of 47", exact=False).wait_for(timeout=60_000)
            page.get_by_role("button", name="Step").click()
            page.get_by_text("2 of 47", exact=False).wait_for(timeout=60_000)
            page.get_by_role("button", name="Reset").click()
            page.get_by_text("0 of 47", exact=False).wait_for(timeout=60_000)
            images = page.eval_on_selector_all("img", "els => els.map(e => e.naturalWidth)")
            assert len([w for w in images if w > 0]) >= 2  # the map and the observables
        finally:
            browser.close()
    assert errors == []

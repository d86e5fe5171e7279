"""Tests of negsim.report: the one-file HTML report, and its rendering in a real browser."""

from __future__ import annotations

import html
import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from negsim.cli import main
from negsim.plots import FIGURE_STEMS
from negsim.report import ReportError, assumptions, write_report
from negsim.report.summary import relabel_p
from negsim.results.folder import file_entry, seal

CHROMIUM = next(
    (Path(p) for p in ("/usr/bin/chromium", "/usr/bin/chromium-browser") if Path(p).exists()),
    None,
)
SECTIONS = ("question", "scenario", "verdicts", "record", "figures", "provenance")


@pytest.fixture(scope="module")
def geneva3(geneva3_results: Path) -> Path:
    """A small real results folder of geneva3 (40 runs per variant), shared with the plots' tests."""
    return geneva3_results


@pytest.fixture(scope="module")
def sweep(geneva3: Path) -> Path:
    """A sweep folder beside the results (a robustness.csv and its manifest, as negsim writes)."""
    folder = geneva3.parent / "geneva3-sweep"
    folder.mkdir()
    hypotheses = pd.read_csv(geneva3 / "hypotheses.csv", dtype=str)
    rows = []
    for _, row in hypotheses.iterrows():
        rows.append([row["hypothesis"], row["metric"], row["expected"], row["verdict"], 1, 3, 0.75])
        rows.append([row["hypothesis"], row["metric"], row["expected"], "supported", 0, 1, 0.25])
    columns = ["hypothesis", "metric", "expected", "verdict", "at_scenario_values", "samples"]
    pd.DataFrame(rows, columns=[*columns, "share"]).to_csv(folder / "robustness.csv", index=False)
    results = json.loads((geneva3 / "manifest.json").read_text(encoding="utf-8"))
    manifest = {
        "negsim": "0.1.0",
        "kind": "sweep results",
        # The same scenario file as the results: the report checks both.
        "scenario_name": results["scenario_name"],
        "scenario_sha256": results["scenario_sha256"],
        "method": "lhs",
        "samples": 4,
        "points": 4,
        "runs": 20,
        "seed": 5,
        "files": {"robustness.csv": file_entry(folder / "robustness.csv", len(rows))},
    }
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def report(geneva3: Path, sweep: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    result = write_report(geneva3, tmp_path_factory.mktemp("report"))
    assert result.problems == []
    return result.path


@pytest.mark.slow
def test_one_file_with_every_section_and_figure(report: Path) -> None:
    assert report.name == "geneva3.html"
    text = report.read_text(encoding="utf-8")
    for section in SECTIONS:
        assert f'<section id="{section}">' in text
    images = re.findall(r'<img src="data:image/png;base64,', text)
    assert len(images) == len(FIGURE_STEMS)
    for stem in FIGURE_STEMS:
        assert f'id="figure-{stem}"' in text


@pytest.mark.slow
def test_self_contained_no_network(report: Path) -> None:
    text = report.read_text(encoding="utf-8")
    assert "<script" not in text
    assert not re.search(r'(src|href)="(https?:)?//', text)
    assert "<link" not in text and "@import" not in text


@pytest.mark.slow
def test_verdicts_with_sentences_worlds_like_ours_and_robustness(
    geneva3: Path, report: Path
) -> None:
    text = html.unescape(report.read_text(encoding="utf-8"))
    hypotheses = pd.read_csv(geneva3 / "hypotheses.csv", dtype=str, keep_default_na=False)
    for _, row in hypotheses.iterrows():
        # Each sentence once, without the claim its hypothesis' heading states, its p labelled raw.
        for sentence in (row["sentence"], row["record_sentence"]):
            reason = relabel_p(sentence).split("): ", 1)[1]
            assert reason[1:] in text
            assert "raw p" in reason
    assert "given the record" in text
    assert "robustness (sweep)" in text
    assert "75 % (at the scenario's values)" in text
    assert "supported</span> 25 %" in text


@pytest.mark.slow
def test_scenario_assumptions_patterns_and_provenance(geneva3: Path, report: Path) -> None:
    text = html.unescape(report.read_text(encoding="utf-8"))
    assert "Syria, September 2015 to July 2016" in text  # the question
    assert "Jaish al-Islam" in text and "Zahran Alloush is not killed" in text
    assert "actors.regime.resolve" in text and '"no peace short of victory' in text
    patterns = pd.read_csv(geneva3 / "patterns.csv", dtype=str, keep_default_na=False)
    for _, row in patterns.iterrows():
        assert row["description"] in text
    manifest = json.loads((geneva3 / "manifest.json").read_text(encoding="utf-8"))
    for entry in manifest["files"].values():
        assert entry["sha256"] in text
    assert str(manifest["seed"]) in text


@pytest.mark.slow
def test_same_folders_give_identical_bytes(geneva3: Path, sweep: Path, tmp_path: Path) -> None:
    first = write_report(geneva3, tmp_path / "a").path.read_bytes()
    second = write_report(geneva3, tmp_path / "b").path.read_bytes()
    assert first == second


def test_damaged_results_are_refused_one_line_each(geneva3: Path, tmp_path: Path) -> None:
    copy = tmp_path / "geneva3"
    shutil.copytree(geneva3, copy)
    lines = (copy / "runs.csv").read_bytes().splitlines(keepends=True)
    (copy / "runs.csv").write_bytes(b"".join(lines[:10]))
    with pytest.raises(ReportError) as info:
        write_report(copy, tmp_path / "out")
    assert str(info.value).startswith(f"{copy / 'runs.csv'}: 9 rows where manifest.json records")
    assert "\n" not in str(info.value)
    assert not (tmp_path / "out").exists()


def test_an_edited_sweep_is_refused(geneva3: Path, sweep: Path, tmp_path: Path) -> None:
    copy = tmp_path / "sweep"
    shutil.copytree(sweep, copy)
    with (copy / "robustness.csv").open("a", encoding="utf-8") as handle:
        handle.write("x,y,z,supported,0,1,1\n")
    with pytest.raises(
        ReportError, match=r"robustness.csv: \d+ rows where manifest.json records \d+"
    ):
        write_report(geneva3, tmp_path / "out", copy)


@pytest.mark.slow
def test_without_the_scenario_file_the_rest_is_shown(geneva3: Path, tmp_path: Path) -> None:
    copy = tmp_path / "elsewhere"
    shutil.copytree(geneva3, copy, ignore=shutil.ignore_patterns("report"))
    manifest = json.loads((copy / "manifest.json").read_text(encoding="utf-8"))
    manifest["scenario"] = "gone.yaml"
    manifest["record_sha256"] = seal(manifest)  # as if negsim had written it so
    (copy / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    result = write_report(copy, tmp_path / "out")
    assert any("scenario file 'gone.yaml' not found or changed" in n for n in result.notes)
    text = result.path.read_text(encoding="utf-8")
    assert '<section id="verdicts">' in text and "Values and their sources" not in text


def test_assumptions_read_the_source_tags() -> None:
    text = (
        "actors:\n"
        "  regime:\n"
        '    resolve: 0.8   # [article] "no peace"\n'
        "    capability: 1.0\n"
        "events:\n"
        "  - id: strike\n"
        "    intensity: 0.3   # [article][record] set from the record;\n"
        "                     # continued here\n"
        "parameters:\n"
        "  attrition_rate: 0.01   # [assumption]\n"
    )
    found = assumptions(text)
    assert [(a["path"], a["value"], a["tags"]) for a in found] == [
        ("actors.regime.resolve", "0.8", ["article"]),
        ("events.strike.intensity", "0.3", ["article", "record"]),
        ("parameters.attrition_rate", "0.01", ["assumption"]),
    ]
    assert found[1]["note"].endswith("continued here")
    assert found[0]["line"] == 3


@pytest.mark.slow
def test_cli_report(geneva3: Path, sweep: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    done = runner.invoke(main, ["report", str(geneva3), "--out", str(tmp_path / "r")])
    assert done.exit_code == 0, done.output
    assert f"wrote {tmp_path / 'r' / 'geneva3.html'}" in done.output
    missing = runner.invoke(main, ["report", str(tmp_path / "nope")])
    assert missing.exit_code == 1
    assert missing.output.strip() == f"{tmp_path / 'nope'}: no such results folder"
    bad = runner.invoke(main, ["report", str(geneva3), "--sweep", str(tmp_path / "nope")])
    assert bad.exit_code == 2


# --------------------------------------------------------------------------- in a real browser


def _browser():  # type: ignore[no-untyped-def]
    if CHROMIUM is None:
        pytest.skip("no Chromium installed (apt-get install chromium) to render the report")
    playwright = pytest.importorskip("playwright.sync_api", reason="playwright not installed")
    return playwright


@pytest.mark.slow
def test_the_report_renders_in_chromium_without_errors(report: Path) -> None:
    playwright = _browser()
    errors: list[str] = []
    requests: list[str] = []
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            page = browser.new_page()
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("request", lambda r: requests.append(r.url))
            page.goto(report.as_uri())
            page.wait_for_load_state("load")
            assert page.title() == "Syria, September 2015 to July 2016: negsim report (geneva3)"
            for section in SECTIONS:
                heading = page.locator(f"#{section} h2")
                assert heading.is_visible(), section
            widths = page.eval_on_selector_all("img", "els => els.map(e => e.naturalWidth)")
            assert len(widths) == len(FIGURE_STEMS) and all(w > 0 for w in widths)
            rows = page.locator("#verdicts tbody tr").count()
            assert rows > 0
        finally:
            browser.close()
    assert errors == []
    assert all(url.startswith(("file:", "data:")) for url in requests), requests

"""Tests of negsim.report: the one-file HTML report, and its rendering in a real browser."""

from __future__ import annotations

import base64
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
from negsim.report.summary import line_of, relabel_p
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


def _drawn_stems(results: Path) -> list[str]:
    """Every figure; the prior-vs-posterior one only for runs with drawn inputs (input.*)."""
    header = (results / "runs.csv").read_text(encoding="utf-8").split("\n", 1)[0].split(",")
    drawn = any(column.startswith("input.") for column in header)
    return [s for s in FIGURE_STEMS if s != "posterior" or drawn]


@pytest.mark.slow
def test_one_file_with_every_section_and_figure(geneva3: Path, report: Path) -> None:
    assert report.name == "geneva3.html"
    text = report.read_text(encoding="utf-8")
    for section in SECTIONS:
        assert f'<section id="{section}">' in text
    images = re.findall(r'<img src="data:image/png;base64,', text)
    stems = _drawn_stems(geneva3)
    assert len(images) == len(stems)
    for stem in stems:
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
def test_the_report_renders_in_chromium_without_errors(geneva3: Path, report: Path) -> None:
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
            assert len(widths) == len(_drawn_stems(geneva3)) and all(w > 0 for w in widths)
            rows = page.locator("#verdicts tbody tr").count()
            assert rows > 0
        finally:
            browser.close()
    assert errors == []
    assert all(url.startswith(("file:", "data:")) for url in requests), requests


# --------------------------------------------------------------------------- the answer first (issue 24)


def _sweep_copy(sweep: Path, tmp_path: Path, **changes: object) -> Path:
    copy = tmp_path / "sweep"
    shutil.copytree(sweep, copy)
    manifest = json.loads((copy / "manifest.json").read_text(encoding="utf-8"))
    manifest.update(changes)
    (copy / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return copy


def test_a_sweep_of_another_scenario_is_refused_in_one_line(
    geneva3: Path, sweep: Path, tmp_path: Path
) -> None:
    other = _sweep_copy(sweep, tmp_path, scenario_name="aceh")
    runner = CliRunner()
    done = runner.invoke(
        main, ["report", str(geneva3), "-o", str(tmp_path / "r"), "--sweep", str(other)]
    )
    assert done.exit_code == 1
    assert done.output.strip() == (
        f"{other}: a sweep of 'aceh', not of 'geneva3' (the results' scenario): "
        "its robustness is not these verdicts'"
    )
    assert not (tmp_path / "r").exists()


def test_a_sweep_of_a_changed_scenario_file_is_refused(
    geneva3: Path, sweep: Path, tmp_path: Path
) -> None:
    changed = _sweep_copy(sweep, tmp_path, scenario_sha256="0" * 64)
    with pytest.raises(ReportError) as info:
        write_report(geneva3, tmp_path / "r", changed)
    message = str(info.value)
    assert message.startswith(f"{changed}: a sweep of another version of 'geneva3' (scenario")
    assert "\n" not in message
    unrecorded = tmp_path / "unrecorded"
    _sweep_copy(sweep, tmp_path / "u", scenario_sha256=None).rename(unrecorded)
    with pytest.raises(ReportError, match="record no scenario sha256"):
        write_report(geneva3, tmp_path / "r", unrecorded)


def _first_table_of(text: str, section: str) -> str:
    start = text.index(f'<section id="{section}"')
    return text[start : text.index("</section>", start)]


@pytest.mark.slow
def test_the_answer_comes_first_with_units_caveats_and_the_sweeps_design(
    geneva3: Path, report: Path
) -> None:
    text = html.unescape(report.read_text(encoding="utf-8"))
    assert "<h1>Syria, September 2015 to July 2016</h1>" in text
    assert "Tests the article's claim that military escalation" in text
    # The summary box comes before the question, the scenario and its 100-odd tagged values.
    assert text.index('id="answer"') < text.index('id="question"') < text.index("tagged values")
    assert "<details><summary>" in text  # the tagged values collapsed
    answer = _first_table_of(text, "answer")
    hypotheses = pd.read_csv(geneva3 / "hypotheses.csv")
    for row in hypotheses.itertuples():
        assert f"{row.verdict}</span>" in answer
    agreement = hypotheses[hypotheses["metric"] == "agreement"].iloc[0]
    points = line_of(agreement.to_dict())
    assert points.unit == "points" and f"{points.effect} {points.interval} points" in answer
    # The fixture's sweep finds the row's verdict at 75 % of its points: below 80 %.
    assert "sensitive to assumptions" in answer
    assert "lhs design" in text and "4 points" in text and "20 runs per point" in text


@pytest.mark.slow
def test_the_report_embeds_the_figures_plot_drew_for_these_results(
    geneva3: Path, tmp_path: Path
) -> None:
    from negsim.plots import plot_results

    copy = tmp_path / "geneva3"
    shutil.copytree(geneva3, copy, ignore=shutil.ignore_patterns("report"))
    plot_results(copy)
    drawn = {p.stem: p.read_bytes() for p in (copy / "figures").glob("*.png")}
    result = write_report(copy, tmp_path / "r")
    assert any("those `negsim plot` drew" in note for note in result.notes)
    text = result.path.read_text(encoding="utf-8")
    for stem, png in drawn.items():
        assert (
            f'id="figure-{stem}">\n<img src="data:image/png;base64,{base64.b64encode(png).decode()}'
            in text
        )
    # A figure changed since: not these results' figures any more; all are drawn again.
    (copy / "figures" / "verdicts.png").write_bytes(b"\x89PNG edited")
    again = write_report(copy, tmp_path / "r2")
    assert not any("those `negsim plot` drew" in note for note in again.notes)
    assert "PNG edited" not in again.path.read_text(encoding="utf-8")


def test_the_report_orders_embedded_figures_as_plot_draws_them() -> None:
    from negsim.report import _FIGURE_CAPTIONS

    assert list(_FIGURE_CAPTIONS) == list(FIGURE_STEMS)


def test_a_row_in_words_points_rounded_and_near_the_bound() -> None:
    row = {
        "hypothesis": "escalation_weakens_talks",
        "metric": "talks_held",
        "smallest_effect": 0.05,
        "effect": 0.0271,
        "ci_low": 0.0150,
        "ci_high": 0.0403,
        "p_value": 0.083,
        "p_holm": 1e-17,
        "verdict": "negligible",
    }
    line = line_of(row)
    assert (line.effect, line.interval, line.unit, line.bound) == (
        "+2.7",
        "[+1.5, +4.0]",
        "points",
        "±5",
    )
    assert (line.p_holm, line.p_raw) == ("< 1e-15", "0.083")
    assert line.caveats == ("near_bound",)
    assert line.flags() == "near bound"
    far = line_of({**row, "effect": 0.001, "ci_low": 0.0, "ci_high": 0.002})
    assert far.caveats == ()
    # The verdicts' own flags, when hypotheses.csv has them, are the row's caveats as written.
    flagged = line_of({**row, "flags": "floor;decided_by_record"})
    assert flagged.caveats == ("floor", "decided_by_record")
    assert line_of({**row, "flags": float("nan")}).caveats == ()
    assert line_of(row, [{"verdict": "negligible", "share": "0.9"}]).caveats == ("near_bound",)
    assert "sensitive" in line_of(row, [{"verdict": "negligible", "share": "0.5"}]).caveats


def test_sentences_label_their_p_as_raw() -> None:
    sentence = (
        "X (base vs y): raises z by 2 points (95 % CI 1 to 3, p = 0.083); inside: negligible."
    )
    assert "(95 % CI 1 to 3, raw p = 0.083)" in relabel_p(sentence)
    assert "raw p < 1e-15" in relabel_p(sentence.replace("p = 0.083", "p < 1e-15"))


@pytest.mark.slow
def test_in_chromium_every_verdict_is_on_the_first_screen(report: Path, tmp_path: Path) -> None:
    playwright = _browser()
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.goto(report.as_uri())
            page.wait_for_load_state("load")
            verdicts = page.locator("#answer .verdict")
            assert verdicts.count() > 0
            first = verdicts.first.bounding_box()
            last = page.locator("#answer tbody tr").last.bounding_box()
            assert first is not None and last is not None
            assert first["y"] + first["height"] <= 800
            assert last["y"] + last["height"] <= 800, "every verdict on the first screen"
            page.screenshot(path=str(tmp_path / "first-screen.png"))
        finally:
            browser.close()


def test_the_title_is_the_scenarios_place_and_time_and_the_claim_it_tests() -> None:
    from negsim.report.summary import title_of
    from negsim.scenario import load

    root = Path(__file__).resolve().parents[1] / "scenarios"
    geneva3 = load(root / "geneva3.yaml").scenario
    assert title_of(geneva3.name, geneva3.description) == (
        "Syria, September 2015 to July 2016",
        "Tests the article's claim that military escalation and leader removal weaken "
        "negotiations.",
    )
    ripeness = load(root / "ripeness.yaml").scenario
    title, question = title_of(ripeness.name, ripeness.description)
    assert title == "Zartman's ripeness, the rival theory"
    assert question.startswith("The losses of 2015-16 hurt both sides")
    assert title_of("bare", None) == ("bare", "")


def test_the_verdicts_say_which_patterns_condition_them_and_which_are_held_out() -> None:
    import pandas as pd

    from negsim.report.summary import record_uses

    patterns = pd.DataFrame(
        {
            "pattern": ["flat", "suspended", "walkout", "truce_dates", "all"],
            "use": ["condition", "condition", "holdout", "describe", "condition"],
        }
    )
    said = record_uses(patterns)
    assert said.startswith("conditioning patterns: flat, suspended;")
    assert "never conditioned on): walkout;" in said and "(inputs read back): truce_dates" in said
    assert "all" not in said.replace("all its", "")
    assert record_uses(pd.DataFrame()) == ""

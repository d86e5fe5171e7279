"""Tests of negsim.plots against the small synthetic results folder in tests/fixtures."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from negsim import plots
from negsim.plots import (
    FIGURE_STEMS,
    FORMATS,
    Event,
    PlotError,
    PlotReport,
    Stamp,
    _clusters,
    _Folder,
    _numbers_text,
    _outcomes,
    _verdicts,
    event_numbers,
    plot_results,
    scenario_of,
    wilson_interval,
)

FIXTURES = Path(__file__).resolve().parent / "fixtures"
RESULTS = FIXTURES / "results_small"
FANS = [
    "fan_bargaining_range",
    "fan_opposition_cohesion",
    "fan_control_government",
    "fan_willingness_opposition",
    "fan_willingness_government",
]
# The fixture was written before the talks were recorded: every figure but the talks.
ALL = [*FANS, "verdicts", "differences", "outcomes", "territory"]
OLD_FIXTURE = "talks: timeseries.csv has no talks metrics (results written by an older negsim)"
STAMP = Stamp("results_small", "50", "20150907")


def _sane_png(path: Path) -> None:
    """A figure is 10 or 11 inches wide at 150 dpi, 4 to 32 inches high.

    The paired-differences figure grows with the rows it shows (geneva3's 30,
    the escalation taken apart: 25 inches); 32 is where a figure stops being
    one to scroll through and should be split."""
    height, width = _pixels(path)
    assert width in (1500, 1650) and 600 <= height <= 4800, (path.name, height, width)


def _pixels(path: Path) -> tuple[int, int]:
    """(height, width) of a PNG, read with PIL when available, else matplotlib."""
    try:
        from PIL import Image

        with Image.open(path) as im:
            im.verify()
        with Image.open(path) as im:
            return im.height, im.width
    except ImportError:  # pragma: no cover - PIL ships with matplotlib
        import matplotlib.image as mpimg

        arr = mpimg.imread(path)
        return arr.shape[0], arr.shape[1]


@pytest.fixture
def results(tmp_path: Path) -> Path:
    """A writable copy of the fixture results folder."""
    dest = tmp_path / "results"
    shutil.copytree(RESULTS, dest)
    return dest


@pytest.fixture(scope="module")
def png_report(tmp_path_factory: pytest.TempPathFactory) -> PlotReport:
    return plot_results(RESULTS, tmp_path_factory.mktemp("png"), "png")


def _names(report: PlotReport) -> set[str]:
    return {p.stem for p in report.written}


# --------------------------------------------------------------------------- the good fixture


@pytest.mark.slow
def test_every_figure_is_written_as_png(png_report: PlotReport) -> None:
    assert png_report.problems == []
    assert png_report.skipped == [OLD_FIXTURE]
    assert [p.stem for p in png_report.written] == ALL
    for path in png_report.written:
        assert path.suffix == ".png"
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        _sane_png(path)


@pytest.mark.slow
@pytest.mark.parametrize(("fmt", "magic"), [("svg", b"<?xml"), ("pdf", b"%PDF")])
def test_vector_formats(tmp_path: Path, fmt: str, magic: bytes) -> None:
    report = plot_results(RESULTS, tmp_path / "a", fmt)
    assert report.problems == []
    assert [p.name for p in report.written] == [f"{n}.{fmt}" for n in ALL]
    for path in report.written:
        assert path.read_bytes().startswith(magic), path.name
    again = plot_results(RESULTS, tmp_path / "b", fmt)
    for a, b in zip(report.written, again.written, strict=True):
        assert a.read_bytes() == b.read_bytes(), f"{a.name} differs between two runs"


@pytest.mark.slow
def test_same_csvs_give_identical_png_bytes(png_report: PlotReport, tmp_path: Path) -> None:
    again = plot_results(RESULTS, tmp_path, "png")
    assert [p.name for p in again.written] == [p.name for p in png_report.written]
    for a, b in zip(png_report.written, again.written, strict=True):
        assert a.read_bytes() == b.read_bytes(), f"{a.name} differs between two runs"


@pytest.mark.slow
def test_default_out_dir_is_figures_inside_results(results: Path) -> None:
    report = plot_results(results)
    assert report.problems == []
    assert {p.parent for p in report.written} == {results / "figures"}
    assert all(p.is_file() for p in report.written)


@pytest.mark.slow
def test_format_is_case_insensitive(tmp_path: Path) -> None:
    report = plot_results(RESULTS, tmp_path, "SVG")
    assert report.written and all(p.suffix == ".svg" for p in report.written)


def test_fixture_matches_its_generator(tmp_path: Path) -> None:
    script = FIXTURES / "make_results_small.py"
    spec = importlib.util.spec_from_file_location("make_results_small", script)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main(tmp_path)
    for name in ("runs.csv", "timeseries.csv", "hypotheses.csv", "events.csv", "manifest.json"):
        assert (tmp_path / name).read_bytes() == (RESULTS / name).read_bytes(), name


# --------------------------------------------------------------------------- not a results folder


def test_missing_folder_raises(tmp_path: Path) -> None:
    with pytest.raises(PlotError) as info:
        plot_results(tmp_path / "nope")
    assert "\n" not in str(info.value)


def test_folder_without_csvs_raises(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello", encoding="utf-8")
    with pytest.raises(PlotError, match="not a results folder") as info:
        plot_results(tmp_path)
    assert "\n" not in str(info.value)
    assert not (tmp_path / "figures").exists()


def test_unknown_format_raises(tmp_path: Path) -> None:
    with pytest.raises(PlotError, match="format"):
        plot_results(RESULTS, tmp_path, "jpg")
    assert set(FORMATS) == {"png", "svg", "pdf"}


def test_plot_error_is_a_negsim_error() -> None:
    from negsim.errors import NegsimError

    assert issubclass(PlotError, NegsimError)


# --------------------------------------------------------------------------- checked against manifest.json


def _refusal(results: Path, out: Path) -> list[str]:
    with pytest.raises(PlotError) as info:
        plot_results(results, out)
    assert not out.exists(), "nothing is drawn from damaged results"
    return str(info.value).splitlines()


def test_a_truncated_file_is_refused_naming_it(results: Path, tmp_path: Path) -> None:
    lines = (results / "runs.csv").read_bytes().splitlines(keepends=True)
    (results / "runs.csv").write_bytes(b"".join(lines[:75]))
    assert _refusal(results, tmp_path / "figs") == [
        f"{results / 'runs.csv'}: 74 rows where manifest.json records 150 "
        "(truncated or changed since negsim wrote it)"
    ]


def test_every_damaged_file_is_named_one_line_each(results: Path, tmp_path: Path) -> None:
    data = bytearray((results / "timeseries.csv").read_bytes())
    data[-3] = ord("7") if data[-3] != ord("7") else ord("8")  # same rows, same size
    (results / "timeseries.csv").write_bytes(bytes(data))
    (results / "events.csv").unlink()
    (results / "hypotheses.csv").write_bytes(b"")
    assert sorted(_refusal(results, tmp_path / "figs")) == sorted(
        [
            f"{results / 'timeseries.csv'}: changed since negsim wrote it "
            "(its sha256 differs from manifest.json)",
            f"{results / 'events.csv'}: missing (manifest.json lists it)",
            f"{results / 'hypotheses.csv'}: 0 rows where manifest.json records 2 "
            "(truncated or changed since negsim wrote it)",
        ]
    )


def test_a_folder_without_manifest_is_not_results(results: Path, tmp_path: Path) -> None:
    (results / "manifest.json").unlink()
    (line,) = _refusal(results, tmp_path / "figs")
    assert line.startswith(f"{results}: not a results folder (no manifest.json")


@pytest.mark.parametrize(
    ("manifest", "says"),
    [
        ('{"negsim": "0.1.0", "runs": 50}', "lists no checksums of its files"),
        ('{"negsim": "0.1.0", "files": {"../runs.csv": {}}}', "damaged ('files' must map"),
        ('{"runs": 50', "damaged or not written by negsim"),
        ('{"tool": "other"}', "not written by negsim"),
        ('{"negsim": "0.2", "kind": "figures", "files": {}}', "describes negsim figures, not"),
    ],
    ids=["older negsim", "path outside", "not JSON", "another tool", "another kind"],
)
def test_a_manifest_without_checksums_is_refused(
    results: Path, tmp_path: Path, manifest: str, says: str
) -> None:
    (results / "manifest.json").write_text(manifest, encoding="utf-8")
    (line,) = _refusal(results, tmp_path / "figs")
    assert line.startswith(f"{results / 'manifest.json'}: {says}")


# --------------------------------------------------------------------------- the figure folder


@pytest.mark.slow
def test_figures_json_lists_every_figure_written(png_report: PlotReport) -> None:
    import json

    out = png_report.written[0].parent
    record = json.loads((out / "figures.json").read_text(encoding="utf-8"))
    assert sorted(record["files"]) == sorted(p.name for p in png_report.written)
    assert sorted(p.name for p in out.iterdir()) == sorted([*record["files"], "figures.json"]), (
        "no lock or staging folder left behind"
    )


def test_a_figure_file_negsim_did_not_write_is_never_replaced(tmp_path: Path) -> None:
    out = tmp_path / "figs"
    out.mkdir()
    (out / "verdicts.png").write_bytes(b"the user's own chart")
    with pytest.raises(PlotError) as info:
        plot_results(RESULTS, out)
    assert str(info.value) == (
        f"{out}: verdicts.png not written by negsim plot (not listed in figures.json); "
        "move it away or choose another folder (--out)"
    )
    assert (out / "verdicts.png").read_bytes() == b"the user's own chart"
    assert sorted(p.name for p in out.iterdir()) == ["verdicts.png"]


@pytest.mark.slow
def test_other_files_beside_the_figures_stay(tmp_path: Path) -> None:
    out = tmp_path / "figs"
    out.mkdir()
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    first = plot_results(RESULTS, out)
    again = plot_results(RESULTS, out)  # figures listed in figures.json are replaced
    assert [p.name for p in again.written] == [p.name for p in first.written]
    assert (out / "notes.txt").read_text(encoding="utf-8") == "mine"


def _stats(paths: list[Path]) -> list[tuple[int, int]]:
    return [(p.stat().st_ino, p.stat().st_mtime_ns) for p in paths]


@pytest.mark.slow
def test_figures_drawn_once_are_reused_while_they_show_these_results(
    results: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "figs"
    first = plot_results(results, out)
    assert not first.reused and first.problems == []
    again = plot_results(results, out)
    assert again.reused
    assert again.written == first.written and again.skipped == first.skipped
    assert _stats(again.written) == _stats(first.written), "reused: not one file touched"
    # Asked to, or in another format, or by other drawing code: drawn anew.
    assert not plot_results(results, out, redraw=True).reused
    assert not plot_results(results, out, "svg").reused
    assert plot_results(results, out, "svg").reused
    monkeypatch.setattr(plots, "drawing_identity", lambda: "0" * 64)
    assert not plot_results(results, out, "svg").reused
    monkeypatch.undo()
    # A figure edited by hand is never taken for negsim's: the plot stops, as before.
    (out / "verdicts.png").write_bytes(b"annotated")
    with pytest.raises(PlotError, match="changed since negsim plot wrote it"):
        plot_results(results, out)


def test_the_drawing_identity_covers_every_module_of_negsim(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A figure's words and numbers also come from modules that do not draw (the results
    # reader, the scenario loader): an edit to any of them draws the figures anew.
    package = tmp_path / "negsim"
    (package / "results").mkdir(parents=True)
    (package / "plots.py").write_text("# draws\n")
    (package / "results" / "reader.py").write_text("# reads\n")
    monkeypatch.setattr(plots, "__file__", str(package / "plots.py"))
    first = plots.drawing_identity()
    assert plots.drawing_identity() == first
    (package / "results" / "reader.py").write_text("# reads, edited\n")
    edited = plots.drawing_identity()
    assert edited != first
    (package / "results" / "notes.txt").write_text("not code")
    assert plots.drawing_identity() == edited, "only the modules' source counts"


@pytest.mark.slow
def test_figures_of_unchecked_results_are_drawn_again(results: Path, tmp_path: Path) -> None:
    # Results not checked against their manifest are not known to be the same: drawn
    # anew, their problems met, and said, again.
    ts = pd.read_csv(results / "timeseries.csv", dtype=str)
    ts.loc[3, "p50"] = "n/a?"
    ts.to_csv(results / "timeseries.csv", index=False)
    first = plot_results(results, tmp_path / "figs", check=False)
    assert first.problems
    again = plot_results(results, tmp_path / "figs", check=False)
    assert not again.reused and again.problems == first.problems


@pytest.mark.slow
def test_a_figure_not_drawn_again_is_removed_other_formats_stay(
    results: Path, tmp_path: Path
) -> None:
    out = tmp_path / "figs"
    plot_results(results, out, "png")
    plot_results(results, out, "svg")
    hyp = pd.read_csv(results / "hypotheses.csv", dtype=str)
    hyp.iloc[:0].to_csv(results / "hypotheses.csv", index=False)
    report = plot_results(results, out, "png", check=False)
    assert report.skipped == [
        "verdicts: no hypothesis was tested (their variants were not all run)",
        "differences: no hypothesis was tested",
        OLD_FIXTURE,
    ]
    assert not (out / "verdicts.png").exists(), "a stale verdicts figure would mislead"
    assert (out / "verdicts.svg").exists() and (out / "outcomes.png").exists()


def test_figure_folder_that_is_a_file_is_refused_before_drawing(tmp_path: Path) -> None:
    out = tmp_path / "figs.png"
    out.write_bytes(b"x")
    with pytest.raises(PlotError, match="exists and is not a folder"):
        plot_results(RESULTS, out)
    assert out.read_bytes() == b"x"


# --------------------------------------------------------------------------- damaged folders
# These edit the CSV files by hand, so they no longer match manifest.json:
# drawn unchecked, they test the drawing layer's tolerance of odd tables.


def _assert_one_line(problems: list[str]) -> None:
    assert problems
    for line in problems:
        assert "\n" not in line and "Traceback" not in line


def test_missing_column_skips_fans_only(results: Path, tmp_path: Path) -> None:
    ts = pd.read_csv(results / "timeseries.csv", dtype=str)
    ts.drop(columns="p95").to_csv(results / "timeseries.csv", index=False)
    report = plot_results(results, tmp_path, check=False)
    _assert_one_line(report.problems)
    assert any(
        "timeseries.csv" in p and "missing column 'p95'" in p and "fan charts not drawn" in p
        for p in report.problems
    ), report.problems
    assert _names(report) == {"verdicts", "differences", "outcomes", "territory"}
    for path in report.written:
        _sane_png(path)


@pytest.mark.slow
def test_empty_runs_csv_header_only(results: Path, tmp_path: Path) -> None:
    header = (results / "runs.csv").read_text(encoding="utf-8").splitlines()[0]
    (results / "runs.csv").write_text(header + "\n", encoding="utf-8")
    report = plot_results(results, tmp_path, check=False)
    _assert_one_line(report.problems)
    assert len(report.problems) == 1
    assert "runs.csv" in report.problems[0] and "outcomes not drawn" in report.problems[0]
    assert _names(report) == set(ALL) - {"outcomes", "differences"}


@pytest.mark.slow
def test_zero_byte_runs_csv(results: Path, tmp_path: Path) -> None:
    (results / "runs.csv").write_bytes(b"")
    report = plot_results(results, tmp_path, check=False)
    assert report.problems == [
        f"{results / 'runs.csv'}: file is empty; differences not drawn",
        f"{results / 'runs.csv'}: file is empty; outcomes not drawn",
    ]
    assert _names(report) == set(ALL) - {"outcomes", "differences"}


def test_unparseable_csv_becomes_a_problem(results: Path, tmp_path: Path) -> None:
    (results / "timeseries.csv").write_text(
        'variant,step\nbase,0,1,2,3\n"base,1\n', encoding="utf-8"
    )
    report = plot_results(results, tmp_path, check=False)
    _assert_one_line(report.problems)
    assert any("timeseries.csv" in p and "fan charts not drawn" in p for p in report.problems)
    assert any("timeseries.csv" in p and "territory not drawn" in p for p in report.problems)
    assert _names(report) == {"verdicts", "differences", "outcomes"}


@pytest.mark.slow
def test_binary_garbage_is_a_problem_not_a_traceback(results: Path, tmp_path: Path) -> None:
    (results / "hypotheses.csv").write_bytes(bytes(range(256)) * 4)
    report = plot_results(results, tmp_path, check=False)
    _assert_one_line(report.problems)
    assert any("hypotheses.csv" in p and "verdicts" in p for p in report.problems)
    assert "verdicts" not in _names(report)
    assert "outcomes" in _names(report)


@pytest.mark.slow
def test_bad_cells_are_reported_and_figures_still_drawn(results: Path, tmp_path: Path) -> None:
    ts = pd.read_csv(results / "timeseries.csv", dtype=str)
    ts.loc[3, "p50"] = "n/a?"
    ts.loc[5, "date"] = "05/10/2015"
    ts.to_csv(results / "timeseries.csv", index=False)
    report = plot_results(results, tmp_path, check=False)
    assert _names(report) == set(ALL)
    joined = " | ".join(report.problems)
    assert "1 unreadable value in column 'p50'" in joined
    assert "1 unreadable date in column 'date'" in joined
    assert len(report.problems) == 2  # reported once, not once per figure


@pytest.mark.slow
def test_drawn_side_by_side_or_one_by_one_the_same(results: Path, tmp_path: Path) -> None:
    """Forked drawing processes give the same files, problems and notes, in the same order."""
    ts = pd.read_csv(results / "timeseries.csv", dtype=str)
    ts.loc[3, "p50"] = "n/a?"
    ts.to_csv(results / "timeseries.csv", index=False)
    hyp = pd.read_csv(results / "hypotheses.csv", dtype=str)
    hyp.loc[0, "effect"] = "strong"  # a problem the verdicts figure notes while it is built
    hyp.to_csv(results / "hypotheses.csv", index=False)
    alone = plot_results(results, tmp_path / "one", check=False, jobs=1)
    together = plot_results(results, tmp_path / "two", check=False, jobs=2)
    assert [p.name for p in together.written] == [p.name for p in alone.written]
    assert together.problems == alone.problems
    assert together.skipped == alone.skipped
    assert len(alone.problems) == 2, alone.problems
    for a, b in zip(alone.written, together.written, strict=True):
        assert a.read_bytes() == b.read_bytes(), f"{a.name} differs drawn side by side"


def test_only_some_files_present(results: Path, tmp_path: Path) -> None:
    for name in ("timeseries.csv", "hypotheses.csv", "events.csv"):
        (results / name).unlink()
    report = plot_results(results, tmp_path, check=False)
    assert _names(report) == {"outcomes"}
    _assert_one_line(report.problems)
    assert any("hypotheses.csv: file missing; verdicts not drawn" in p for p in report.problems)


@pytest.mark.slow
def test_missing_events_still_draws_fans(results: Path, tmp_path: Path) -> None:
    (results / "events.csv").unlink()
    report = plot_results(results, tmp_path, check=False)
    assert _names(report) == set(ALL)
    assert report.problems == [
        f"{results / 'events.csv'}: file missing; events not drawn on the fan charts"
    ]


@pytest.mark.slow
def test_missing_key_metric_is_reported(results: Path, tmp_path: Path) -> None:
    ts = pd.read_csv(results / "timeseries.csv", dtype=str)
    keep = ~ts["metric"].isin(["ripeness", "willingness.government", "control.regime"])
    ts[keep].to_csv(results / "timeseries.csv", index=False)
    report = plot_results(results, tmp_path, check=False)
    assert _names(report) == set(ALL) - {"fan_willingness_government", "fan_control_government"}
    # control.<actor> depends on the scenario's actor ids: skipped silently.
    assert len(report.problems) == 1
    assert "'willingness.government'" in report.problems[0]


@pytest.mark.slow
def test_no_base_variant_skips_territory(results: Path, tmp_path: Path) -> None:
    ts = pd.read_csv(results / "timeseries.csv", dtype=str)
    ts[ts["variant"] != "base"].to_csv(results / "timeseries.csv", index=False)
    report = plot_results(results, tmp_path, check=False)
    assert "territory" not in _names(report)
    # Not a problem: a run of other variants only cannot give this figure.
    assert report.skipped == ["territory: the 'base' variant was not run", OLD_FIXTURE]
    assert report.problems == []
    assert {f"{n}" for n in FANS} <= _names(report)


# --------------------------------------------------------------------------- figure details


def test_variant_without_agreements_says_so(results: Path) -> None:
    runs = pd.read_csv(results / "runs.csv", dtype=str)
    alive = runs["variant"] == "alloush_alive"
    runs.loc[alive, "agreement"] = "0"
    runs.loc[alive, "settlement"] = ""
    runs.to_csv(results / "runs.csv", index=False)
    problems: list[str] = []
    fig = _outcomes(_Folder(results), problems, STAMP)
    assert problems == []
    left, right = fig.axes[:2]
    rows = sorted((t.get_position()[1], t.get_text()) for t in left.get_yticklabels())[::-1]
    assert [name for _, name in rows] == ["base", "alloush_alive", "no_russian_escalation"]
    assert "no agreements" in [t.get_text() for t in right.texts]
    assert "0.0 % (0 of 50 runs)" in [t.get_text() for t in left.texts]
    # n is shown beside every variant's settlements.
    assert any(t.get_text().startswith("n = ") for t in right.texts)
    assert "results_small · 50 runs per variant · seed 20150907" in [
        t.get_text() for t in fig.texts
    ]


def test_verdict_rows_and_labels(results: Path) -> None:
    problems: list[str] = []
    fig = _verdicts(_Folder(results), problems, STAMP)
    assert problems == []
    ax = fig.axes[0]
    # Rows from top to bottom in file order, named by the metric in words and the pair.
    rows = sorted(((t.get_position()[1], t.get_text()) for t in ax.get_yticklabels()), reverse=True)
    top = rows[0][1]
    assert top == (
        "russian_escalation_blocks_deal\nchance of agreement, expects →\n"
        "no_russian_escalation − base"
    )
    assert rows[1][1].startswith("alloush_death_splits_opposition\nchance the opposition fragments")
    # No unit column (an older file): both rows in one panel, on a 0-1 scale.
    assert ax.get_xlabel() == "effect (treatment − control), share of the scale (0–1)"
    # Every interval is written out, so a narrow one is never hidden by its marker.
    assert [t.get_text() for t in ax.texts] == [
        "supported  +0.1 [+0.02, +0.2]",
        "supported  \N{MINUS SIGN}0.26 [\N{MINUS SIGN}0.38, \N{MINUS SIGN}0.14]",  # true minus signs
    ]


def test_verdicts_with_one_metric_and_odd_rows(results: Path) -> None:
    hyp = pd.read_csv(results / "hypotheses.csv", dtype=str)
    extra = hyp.iloc[[0, 0, 0]].copy()
    extra["hypothesis"] = ["contra", "unsure", "strange"]
    extra["verdict"] = ["contradicted", "inconclusive", "maybe"]
    extra["ci_low"] = ["-0.3", "-0.1", ""]
    hyp = pd.concat([hyp.iloc[[0]], extra])
    hyp.to_csv(results / "hypotheses.csv", index=False)
    problems: list[str] = []
    fig = _verdicts(_Folder(results), problems, STAMP)
    assert problems == []
    ax = fig.axes[0]
    words = [t.get_text().split()[0] for t in ax.texts]
    assert words == ["supported", "contradicted", "inconclusive", "maybe"]
    assert ax.texts[-1].get_text() == "maybe  +0.1"  # no interval: the effect alone


def test_wilson_interval_matches_scipy() -> None:
    from scipy.stats import binomtest

    for k, n in [(0, 50), (15, 50), (50, 50), (1, 3), (333, 1000)]:
        ci = binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
        assert np.allclose(wilson_interval(k, n), (ci.low, ci.high), atol=1e-9)


def _event(variant: str, eid: str, date: str) -> Event:
    return Event(variant, eid, pd.Timestamp(date), None, "offensive", eid)


def test_events_are_numbered_once_by_first_date() -> None:
    events = [
        _event("base", "b", "2016-01-01"),
        _event("base", "a", "2015-10-01"),
        _event("moved", "b", "2015-11-01"),  # a variant moved it earlier
        _event("added", "c", "2015-10-01"),
    ]
    assert event_numbers(events) == {"a": 1, "c": 2, "b": 3}


def test_close_events_share_one_marker() -> None:
    assert _clusters([0.0, 0.01, 0.02, 0.5, 0.51, 0.9], 0.028) == [[0, 1, 2], [3, 4], [5]]
    assert _numbers_text([3, 4, 5]) == "3–5"
    assert _numbers_text([7, 2]) == "2,7"
    assert _numbers_text([4]) == "4"


@given(st.lists(st.floats(0, 1), min_size=1, max_size=30))
def test_clusters_cover_every_event_once_in_order(xs: list[float]) -> None:
    xs = sorted(xs)
    groups = _clusters(xs, 0.03)
    assert [i for g in groups for i in g] == list(range(len(xs)))
    for group in groups:
        assert xs[group[-1]] - xs[group[0]] < 0.03


@pytest.mark.slow
def test_dollar_signs_in_names_are_plain_text(results: Path, tmp_path: Path) -> None:
    ev = pd.read_csv(results / "events.csv", dtype=str)
    ev.loc[0, "label"] = "budget $x^$ cut"
    ev.to_csv(results / "events.csv", index=False)
    runs = pd.read_csv(results / "runs.csv", dtype=str)
    runs.loc[runs["variant"] == "alloush_alive", "variant"] = "$alive"
    runs.to_csv(results / "runs.csv", index=False)
    report = plot_results(results, tmp_path, check=False)
    assert report.problems == []
    assert _names(report) == set(ALL)


# --------------------------------------------------------------------------- a real run of geneva3


@pytest.fixture(scope="module")
def geneva3(geneva3_results: Path) -> Path:
    """A small real results folder (40 runs per variant) with the talks recorded."""
    return geneva3_results


@pytest.mark.slow
def test_a_real_run_gives_every_figure(geneva3: Path, tmp_path: Path) -> None:
    report = plot_results(geneva3, tmp_path / "a")
    assert report.problems == [] and report.skipped == []
    # The prior-vs-posterior figure needs runs with drawn inputs (input.* columns).
    drawn = any(c.startswith("input.") for c in pd.read_csv(geneva3 / "runs.csv", nrows=1))
    assert [p.stem for p in report.written] == [
        s for s in FIGURE_STEMS if s != "posterior" or drawn
    ]
    for path in report.written:
        _sane_png(path)
    again = plot_results(geneva3, tmp_path / "b")
    for a, b in zip(report.written, again.written, strict=True):
        assert a.read_bytes() == b.read_bytes(), f"{a.name} differs between two runs"


def _figures(geneva3: Path) -> dict[str, object]:
    from negsim.plots import _builders, _style, read_stamp
    from negsim.results import open_results

    results = open_results(geneva3)
    folder = _Folder(geneva3, results)
    folder.scenario_file = scenario_of(geneva3, results.manifest)
    problems: list[str] = []
    with _style():
        built = {
            name: build()
            for name, _, _, build in _builders(
                folder, read_stamp(geneva3, results.manifest), problems
            )
        }
    assert problems == []
    return built


def test_real_figures_carry_the_stamp_and_tell_the_story(geneva3: Path) -> None:
    figures = _figures(geneva3)
    for name, fig in figures.items():
        texts = [t.get_text() for t in fig.texts]  # type: ignore[attr-defined]
        assert "geneva3 · 40 runs per variant · seed 20160129" in texts, name
    fan = figures["fan_control_government"]
    strip, main, key = fan.axes[:3]  # type: ignore[attr-defined]
    # Each variant's own events, one row each; durations come from the scenario.
    assert {t.get_text() for t in strip.get_yticklabels()} == {
        "base",
        "no_russian_escalation",
        "alloush_alive",
        "neither",
        "no_russian_air",
        "no_ground_offensives",
        "no_iranian_surge",
        "no_patron_resupply",
    }
    key_text = "\n".join(t.get_text() for t in key.texts)
    assert " 1  30 Sep 2015  Russian intervention (24 wk)" in key_text
    assert "Geneva III (1 wk)" in key_text
    # The legend matches bands to variants: each entry is the variant's colour.
    legend = main.get_legend()
    assert [t.get_text().split()[0] for t in legend.get_texts()][:8] == [
        "base",
        "alloush_alive",
        "neither",
        "no_ground_offensives",
        "no_iranian_surge",
        "no_patron_resupply",
        "no_russian_air",
        "no_russian_escalation",
    ]
    verdicts = figures["verdicts"]
    titles = [ax.get_title(loc="left") for ax in verdicts.axes]  # type: ignore[attr-defined]
    assert titles == [
        "chance of an outcome",
        "shares of a 0–1 scale",
        "stage of the talks",
        "weeks",  # geneva3's weeks_to_agreement rows
    ]
    assert "percentage points" in verdicts.axes[0].get_xlabel()  # type: ignore[attr-defined]
    talks = figures["talks"]
    talk_titles = " | ".join(ax.get_title(loc="left") for ax in talks.axes)  # type: ignore[attr-defined]
    for part in (
        "At the table",
        "Offers",
        "Cumulative chance of agreement",
        "Ceasefire in force",
        "Walkouts by side",
        "Some ceasefire in force, none collapsed",
    ):
        assert part in talk_titles
    # `ceasefire_held` is "in force and none collapsed", never read as "lasted".
    assert "held" not in talk_titles
    # The y axis of a 0-1 metric is the whole scale; the events the comparisons turn on
    # (the first by which treatment and control differ) are dated, labelled lines.
    low, high = main.get_ylim()
    assert low <= 0.0 and high >= 1.0
    labels = [t.get_text() for t in main.texts if "Russian intervention" in t.get_text()]
    marks = [line.strip() for t in main.texts for line in t.get_text().splitlines()]
    assert "Russian intervention, 30 Sep 2015" in marks
    assert "Alloush killed, 25 Dec 2015" in marks
    # Events days apart share one label, a column each, instead of labels drawn over each other.
    assert len(labels) == 1 and "Iranian surge, 15 Oct 2015" in labels[0], labels
    # The forest plot's key shows the marker of each verdict drawn, and its labels are whole.
    keys = [t.get_text() for t in verdicts.legends[0].get_texts()]  # type: ignore[attr-defined]
    drawn = {
        t.get_text().split()[0]
        for ax in verdicts.axes  # type: ignore[attr-defined]
        for t in ax.texts
    }
    assert {k.split(":")[0] for k in keys if k.endswith("mean paired effect")} == drawn
    labels = [t.get_text() for t in verdicts.axes[0].get_yticklabels()]  # type: ignore[attr-defined]
    assert not any("…" in label for label in labels)
    # A yes/no outcome's paired differences are a 2 x 2 of pairs whose cells add up to all pairs.
    # The panels share one canvas axes (`_SmallMultiples`), the first panel's texts first.
    differences = figures["differences"]
    texts = [t.get_text() for t in differences.axes[0].texts]  # type: ignore[attr-defined]
    counts = [int(t.replace(",", "")) for t in texts if t.replace(",", "").isdigit()][:4]
    assert len(counts) == 4 and sum(counts) == 40
    assert "treatment only" in texts[1] + texts[3]
    assert any(t.startswith("40 pairs; effect ") for t in texts)
    outcomes = figures["outcomes"]
    # Agreement comes in a minority of geneva3's runs: the axis is fitted to the
    # shares drawn (with the assumptions drawn per run, up to about a quarter), not 0-100 %.
    runs = pd.read_csv(geneva3 / "runs.csv")
    highest = runs.groupby("variant")["agreement"].mean().max()
    assert highest < 0.5
    assert highest <= outcomes.axes[0].get_xlim()[1] < 1.0  # type: ignore[attr-defined]


def test_a_scenario_changed_since_the_run_is_not_used(geneva3: Path) -> None:
    from negsim.results import open_results

    manifest = dict(open_results(geneva3).manifest)
    assert scenario_of(geneva3, manifest) is not None
    manifest["scenario_sha256"] = "0" * 64
    assert scenario_of(geneva3, manifest) is None
    assert scenario_of(geneva3, {**manifest, "scenario": "nowhere.yaml"}) is None


@pytest.mark.slow
def test_sweep_figures_draw_the_bound_the_scenarios_values_and_the_peeling(tmp_path: Path) -> None:
    """A real (tiny) sweep: effect plots carry ± the bound and the scenario's own values; every
    flip has its PRIM peeling trajectory, whose chosen box is robustness.csv's."""
    from click.testing import CliRunner

    from helpers import SWEEP_SCENARIO
    from negsim.analysis.sensitivity import peeling_trajectory
    from negsim.cli import main
    from negsim.sweep_plots import _bound, _effect, _peeling

    scenario = tmp_path / "tiny.yaml"
    scenario.write_text(SWEEP_SCENARIO, encoding="utf-8")
    out = tmp_path / "sweep"
    done = CliRunner().invoke(
        main,
        ["sweep", str(scenario), "-m", "lhs", "-N", "24", "-n", "30", "-j", "1", "-o", str(out)],
    )
    assert done.exit_code == 0, done.output
    sweep = pd.read_csv(out / "sweep.csv")
    robustness = pd.read_csv(out / "robustness.csv")
    claim = "push_hurts_talks"
    bound = _bound(sweep, claim)
    assert bound is not None and bound > 0
    import json

    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    own = {str(f["path"]): float(f["base"]) for f in manifest["factors"]}
    figure = _effect(claim, "agreement", sweep, list(own), robustness.iloc[:0], own, "negligible")
    for ax in figure.axes[:2]:
        levels = sorted(
            round(float(line.get_ydata()[0]), 12)
            for line in ax.get_lines()
            if line.get_linestyle() == "--"
        )
        assert levels == [round(-bound, 12), round(bound, 12)]
        verticals = [line for line in ax.get_lines() if line.get_linestyle() == ":"]
        assert len(verticals) == 1
    boxes = robustness[robustness["box"].notna()]
    for _, box in boxes.iterrows():
        flipped = (sweep[f"{claim}.verdict"] == box["verdict"]).to_numpy()
        path = peeling_trajectory(sweep[list(own)].astype(float), flipped)
        chosen = path[path["chosen"]].iloc[0]
        assert chosen["coverage"] == pytest.approx(box["box_coverage"])
        assert chosen["density"] == pytest.approx(box["box_density"])
        assert _peeling(claim, path, box, "negligible").axes
    plotted = CliRunner().invoke(main, ["plot", str(out), "--out", str(tmp_path / "figs")])
    assert plotted.exit_code == 0, plotted.output
    names = {p.name for p in (tmp_path / "figs").iterdir()}
    assert {f"peeling_{claim}.png" for _ in boxes.index} <= names

"""Nothing a user changed is replaced or deleted: issue 19's cases, end to end through the CLI.

Each case is a real `negsim` process on a real results folder: a table the
user edited, a file saved under the name of one negsim writes, an annotated
figure, a file named in an edited manifest, folders named like negsim's
leftovers inside and beside the output folder, a run that fails, and a
`negsim plot` stopped by SIGTERM. The rules are those of
`negsim.results.folder` (docs/results.md, "The results folder").

Every test runs negsim at least once in a fresh interpreter (10-20 s on a
loaded 2-core machine), so all are in the slow tier; the same rules are
tested in-process in tests/results/test_folder.py.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from helpers import snapshot
from negsim.results.folder import STAGING_PREFIX
from negsim.results.lock import LOCK_NAME

pytestmark = pytest.mark.slow

GENEVA3 = Path(__file__).resolve().parents[2] / "scenarios" / "geneva3.yaml"
# Small chunks keep each run to a few seconds (a run simulates whole chunks).
TINY = f"extends: {GENEVA3}\nname: tiny\nexperiment:\n  runs: 40\n  chunk_size: 20\n  seed: 7\n"
TWO = ["-v", "base", "-v", "alloush_alive"]
# A run asked for more than a test could wait for: a refusal must come before the work.
NEVER_FINISHES = ["-n", "1000000"]


def negsim(*args: str | Path, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "negsim.cli", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def error_line(result: subprocess.CompletedProcess) -> str:
    """The one line of a failure: exit 1, no traceback."""
    assert "Traceback" not in result.stderr + result.stdout, result.stderr
    lines = [line for line in result.stderr.splitlines() if not line.startswith("warning:")]
    assert result.returncode == 1, result.stderr
    assert len(lines) == 1, result.stderr
    return lines[0]


def leftovers(folder: Path) -> list[str]:
    return sorted(
        str(p.relative_to(folder))
        for p in folder.rglob("*")
        if p.name == LOCK_NAME or p.name.startswith(STAGING_PREFIX)
    )


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("scenarios") / "tiny.yaml"
    path.write_text(TINY, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def earlier(scenario: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Results of one run (its weekly series kept) and their figures, as negsim wrote them."""
    out = tmp_path_factory.mktemp("earlier") / "r13"
    ran = negsim("run", scenario, "-n", "30", "-j", "1", "-o", out, "-q", *TWO, "--keep-series")
    assert ran.returncode == 0, ran.stderr
    plotted = negsim("plot", out, "-q")
    assert plotted.returncode == 0, plotted.stderr
    return out


@pytest.fixture
def results(earlier: Path, tmp_path: Path) -> Path:
    """A copy of the earlier results for one test to change (the same bytes)."""
    out = tmp_path / "r13"
    shutil.copytree(earlier, out)
    return out


def run_again(scenario: Path, out: Path, *extra: str) -> subprocess.CompletedProcess:
    return negsim("run", scenario, "-j", "1", "-o", out, "-q", *TWO, *extra)


# --------------------------------------------------------------------------- files the user changed


def test_an_edited_table_stops_the_next_run_before_it_simulates(
    scenario: Path, results: Path
) -> None:
    with open(results / "runs.csv", "a", encoding="utf-8") as handle:
        handle.write("my,own,row\n")
    before = snapshot(results)
    line = error_line(run_again(scenario, results, *NEVER_FINISHES))
    assert line == (
        f"{results}: runs.csv changed since negsim run wrote it (not the bytes manifest.json "
        "records); negsim will not replace it: move it away or choose another folder (--out)"
    )
    assert snapshot(results) == before


def test_a_file_saved_as_the_series_is_not_deleted_by_a_run_without_it(
    scenario: Path, results: Path
) -> None:
    (results / "series.parquet").write_bytes(b"PAR1 the user's own analysis")
    before = snapshot(results)
    line = error_line(run_again(scenario, results, *NEVER_FINISHES))
    assert line.startswith(f"{results}: series.parquet changed since negsim run wrote it")
    assert snapshot(results) == before


def test_an_unchanged_series_goes_with_a_run_without_it(scenario: Path, results: Path) -> None:
    # The rule above costs nothing when nobody changed the file: negsim's own is replaced.
    done = run_again(scenario, results, "-n", "30")
    assert done.returncode == 0, done.stderr
    assert not (results / "series.parquet").exists()


def test_an_annotated_figure_is_not_overwritten_by_plot(results: Path) -> None:
    figures = results / "figures"
    (figures / "verdicts.png").write_bytes(b"\x89PNG with the user's arrows")
    before = snapshot(results)
    line = error_line(negsim("plot", results))
    assert line == (
        f"{figures}: verdicts.png changed since negsim plot wrote it (not the bytes "
        "figures.json records); negsim will not replace it: move it away or choose another "
        "folder (--out)"
    )
    assert snapshot(results) == before and leftovers(results) == []


def test_a_user_file_named_in_an_edited_manifest_is_kept(scenario: Path, results: Path) -> None:
    (results / "thesis.txt").write_text("three years of work", encoding="utf-8")
    manifest = (results / "manifest.json").read_text(encoding="utf-8")
    entry = '"files": {\n    "thesis.txt": {"bytes": 19, "sha256": "' + "0" * 64 + '"},'
    (results / "manifest.json").write_text(manifest.replace('"files": {', entry, 1), "utf-8")
    before = snapshot(results)
    line = error_line(run_again(scenario, results, *NEVER_FINISHES))
    assert line == (
        f"{results / 'manifest.json'}: changed since negsim run wrote it (its record_sha256 no "
        "longer matches), so negsim cannot tell its files from yours here; move the results "
        "away or choose another folder (--out)"
    )
    assert snapshot(results) == before


# --------------------------------------------------------------------------- folders by name alone


def test_a_folder_named_like_a_staging_folder_is_kept(scenario: Path, results: Path) -> None:
    mine = results / f"{STAGING_PREFIX}mywork"
    mine.mkdir()
    (mine / "thesis.txt").write_text("chapter 1", encoding="utf-8")
    done = negsim("run", scenario, "-n", "30", "-j", "1", "-o", results, *TWO, "--keep-series")
    assert done.returncode == 0, done.stderr
    assert f"(not written by negsim run): {STAGING_PREFIX}mywork/" in done.stdout
    assert (mine / "thesis.txt").read_text(encoding="utf-8") == "chapter 1"


def test_a_backup_beside_the_output_folder_is_never_touched(scenario: Path, results: Path) -> None:
    backup = results.parent / ".r13.old-mybackup"
    shutil.copytree(results, backup)  # negsim's own file names, in a folder beside --out
    (results.parent / ".r13.partial-notes").mkdir()
    (results.parent / ".r13.partial-notes" / "runs.csv").write_text("mine", encoding="utf-8")
    beside = snapshot(results.parent / ".r13.partial-notes")
    kept = snapshot(backup)
    done = run_again(scenario, results, "-n", "30", "--keep-series")
    assert done.returncode == 0, done.stderr
    assert snapshot(backup) == kept
    assert snapshot(results.parent / ".r13.partial-notes") == beside


# --------------------------------------------------------------------------- a failed run


def test_given_record_with_too_few_matches_leaves_the_earlier_results(
    results: Path, tmp_path: Path
) -> None:
    rare = tmp_path / "rare.yaml"
    rare.write_text(
        f"extends: {GENEVA3}\nname: rare_record\nexperiment:\n  chunk_size: 20\n"
        "observed:\n  - id: agreed_at_once\n    metric: agreement\n"
        "    date: 2015-09-07\n    equals: 1\n",
        encoding="utf-8",
    )
    before = snapshot(results)
    line = error_line(run_again(rare, results, "-n", "30", "--given-record"))
    assert line.startswith("only 0 of 30 base runs reproduce the record")
    assert f"(agreed_at_once 0/30); nothing written, earlier results in {results} unchanged" in (
        line
    )
    assert snapshot(results) == before and leftovers(results) == []


# --------------------------------------------------------------------------- plot stopped by SIGTERM


def test_sigterm_during_plot_leaves_no_lock_no_staging_and_the_earlier_figures(
    results: Path, tmp_path: Path
) -> None:
    figures = results / "figures"
    before = snapshot(figures)
    with open(tmp_path / "err", "w", encoding="utf-8") as err:
        plot = subprocess.Popen(
            [sys.executable, "-m", "negsim.cli", "plot", str(results), "--redraw"],
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    try:
        deadline = time.monotonic() + 120
        while not any(p.name.startswith(STAGING_PREFIX) for p in figures.iterdir()):
            assert plot.poll() is None, "plot ended before it was stopped"
            assert time.monotonic() < deadline, "plot never started drawing"
            time.sleep(0.02)
        # At once: with the staging folder there, it is drawing; plot is fast enough now
        # (a few seconds) that waiting half a second could let it finish first.
        plot.send_signal(signal.SIGTERM)
        code = plot.wait(timeout=60)
    finally:
        if plot.poll() is None:
            plot.kill()
            plot.wait()
    error = (tmp_path / "err").read_text(encoding="utf-8")
    assert code != -signal.SIGTERM, "negsim handles SIGTERM (it does not die mid-write)"
    assert code in (1, 130), error
    assert "Traceback" not in error, error
    assert leftovers(results) == [], "no figures/.negsim.lock, no staging folder"
    assert snapshot(figures) == before

"""Folders negsim writes: what it may replace, what it must leave, and what a failure leaves."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from helpers import snapshot
from negsim import interrupts
from negsim.errors import ResultsError
from negsim.results import ResultsFolder, open_results_folder, write_results
from negsim.results.folder import (
    SEAL,
    STAGING_MARKER,
    STAGING_PREFIX,
    FolderKind,
    OutputFolder,
    is_staging,
    read_record,
    seal,
    staging_token,
)
from negsim.results.lock import LOCK_NAME
from negsim.results.writer import SERIES

FIGURES = FolderKind(what="figures", record="figures.json", writer="negsim plot", strict=False)

TABLES = [
    "events.csv",
    "hypotheses.csv",
    "manifest.json",
    "patterns.csv",
    "runs.csv",
    "timeseries.csv",
]


def results(rows: int = 3, tag: str = "a") -> ResultsFolder:
    frame = pd.DataFrame({"variant": [tag] * rows, "replication": range(rows)})
    return ResultsFolder(frame, frame, frame, frame, {"negsim": "test", "run": tag})


def listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def manifest_of(folder: Path) -> dict:
    return json.loads((folder / "manifest.json").read_text(encoding="utf-8"))


def rewrite_manifest(folder: Path, document: dict, sealed: bool = True) -> None:
    """Write ``document`` as the folder's manifest, sealed again as negsim seals (or as it is)."""
    if sealed:
        document = {k: v for k, v in document.items() if k != SEAL}
        document[SEAL] = seal(document)
    (folder / "manifest.json").write_text(json.dumps(document, indent=2), encoding="utf-8")


def leftover_staging(folder: Path, name: str = "killed") -> Path:
    """A staging folder as a killed run leaves it: negsim's marker inside."""
    staging = folder / f"{STAGING_PREFIX}{name}"
    staging.mkdir()
    token = staging_token(staging.name)
    marker = {"staging": staging.name, "token": token}
    (staging / STAGING_MARKER).write_text(json.dumps(marker), encoding="utf-8")
    (staging / "runs.csv").write_text("half", encoding="utf-8")
    return staging


def test_a_new_folder_gets_the_tables_and_a_manifest_that_lists_them(tmp_path: Path) -> None:
    out = write_results(results(4), tmp_path / "deep" / "r")
    assert listing(out) == TABLES, "no lock file or staging folder left"
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["kind"] == "results" and manifest["run"] == "a"
    assert set(manifest["files"]) == set(TABLES) - {"manifest.json"}
    entry = manifest["files"]["runs.csv"]
    assert entry["rows"] == 4 and entry["bytes"] == (out / "runs.csv").stat().st_size
    assert len(entry["sha256"]) == 64
    assert listing(tmp_path) == ["deep"], "nothing beside the folder either"


def test_files_negsim_did_not_write_stay_and_are_reported(tmp_path: Path) -> None:
    out = write_results(results(tag="a"), tmp_path / "r")
    (out / "figures").mkdir()
    (out / "figures" / "mine.png").write_bytes(b"png")
    (out / "notes.txt").write_text("keep me", encoding="utf-8")
    with open_results_folder(out) as folder:
        assert folder.kept == ["figures/", "notes.txt"]
        write_results(results(tag="b"), folder)
    assert (out / "notes.txt").read_text(encoding="utf-8") == "keep me"
    assert (out / "figures" / "mine.png").read_bytes() == b"png"
    assert json.loads((out / "manifest.json").read_text(encoding="utf-8"))["run"] == "b"


def test_an_existing_folder_that_is_not_results_is_refused_unless_empty(tmp_path: Path) -> None:
    other = tmp_path / "photos"
    other.mkdir()
    (other / "cat.jpg").write_bytes(b"cat")
    with pytest.raises(ResultsError) as info:
        write_results(results(), other)
    assert str(info.value) == (
        f"{other}: not a negsim results folder and not empty (holds cat.jpg); "
        "choose another folder (--out) or empty it"
    )
    assert listing(other) == ["cat.jpg"]
    empty = tmp_path / "empty"
    empty.mkdir()
    write_results(results(), empty)
    assert listing(empty) == TABLES


def test_a_file_in_the_way_is_never_replaced(tmp_path: Path) -> None:
    out = write_results(results(tag="a"), tmp_path / "r")
    (out / "runs.parquet").write_bytes(b"the user's own")  # negsim may write one; not listed
    before = snapshot(out, deep=False)
    with pytest.raises(ResultsError) as info:
        open_results_folder(out)
    assert str(info.value) == (
        f"{out}: runs.parquet not written by negsim run (not listed in manifest.json); "
        "move it away or choose another folder (--out)"
    )
    assert snapshot(out, deep=False) == before


@pytest.mark.parametrize(
    ("document", "says"),
    [
        ("{oops", "damaged or not written by negsim"),
        (
            '{"negsim": "0.2", "kind": "figures", "files": {}}',
            "describes negsim figures, not results",
        ),
        ('{"negsim": "0.2", "files": ["runs.csv"]}', "damaged ('files' must map"),
    ],
)
def test_a_manifest_negsim_cannot_read_refuses_the_folder(
    tmp_path: Path, document: str, says: str
) -> None:
    out = tmp_path / "r"
    out.mkdir()
    (out / "manifest.json").write_text(document, encoding="utf-8")
    with pytest.raises(ResultsError) as info:
        write_results(results(), out)
    assert str(info.value).startswith(f"{out / 'manifest.json'}: {says}")
    assert listing(out) == ["manifest.json"]


def test_an_older_manifest_without_checksums_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "r"
    out.mkdir()
    # The files of a folder written before manifests listed them: negsim cannot tell
    # whether they were changed since, so it replaces none of them.
    for name in ("events.csv", "hypotheses.csv", "runs.csv", "timeseries.csv"):
        (out / name).write_text("old\n", encoding="utf-8")
    (out / "manifest.json").write_text('{"negsim": "0.1.0", "runs": 10}', encoding="utf-8")
    before = snapshot(out, deep=False)
    with pytest.raises(ResultsError) as info:
        write_results(results(), out)
    assert str(info.value) == (
        f"{out / 'manifest.json'}: written by an older negsim that recorded no checksums, so "
        "negsim cannot tell whether its files were changed since; move them away or choose "
        "another folder (--out)"
    )
    assert snapshot(out, deep=False) == before


def test_a_listed_file_not_written_again_is_removed_unless_changed(tmp_path: Path) -> None:
    out = tmp_path / "figs"
    with OutputFolder(out, FIGURES, names=["a.png", "b.png", "c.png"]) as folder:
        for name in ("a.png", "b.png", "c.png"):
            folder.write_file(name, lambda p, name=name: p.write_bytes(name.encode()))
        folder.commit({"negsim": "t"})
    (out / "c.png").write_bytes(b"annotated by the user")
    with OutputFolder(out, FIGURES, names=["a.png"]) as folder:
        folder.write_file("a.png", lambda p: p.write_bytes(b"a again"))
        folder.commit({"negsim": "t"})
    assert listing(out) == ["a.png", "c.png", "figures.json"], "b.png, negsim's, is gone"
    assert (out / "c.png").read_bytes() == b"annotated by the user"
    assert folder.notes == [
        f"{out / 'c.png'}: changed since negsim plot wrote it; kept as yours and no longer "
        "listed in figures.json"
    ]
    record = read_record(out / "figures.json", FIGURES)
    assert record is not None and sorted(record.files) == ["a.png"]


@pytest.mark.parametrize("inside", [False, True])
def test_the_current_folder_and_the_scenarios_are_protected(tmp_path: Path, inside: bool) -> None:
    scenario = tmp_path / "s" / "my.yaml"
    scenario.parent.mkdir()
    scenario.write_text("name: x\n", encoding="utf-8")
    protect = [("the current folder", tmp_path / "cwd"), ("the scenario file", scenario)]
    (tmp_path / "cwd").mkdir()
    target = scenario.parent if inside else tmp_path
    with pytest.raises(ResultsError) as info:
        open_results_folder(target, protect=protect)
    expected = (
        f"{target}: holds the scenario file ({scenario}); results need a folder of their own"
        if inside
        else f"{target}: holds the current folder ({tmp_path / 'cwd'}); results need a folder "
        "of their own"
    )
    assert str(info.value) == expected
    with pytest.raises(ResultsError, match="is the current folder"):
        open_results_folder(tmp_path / "cwd", protect=protect)
    assert scenario.read_text(encoding="utf-8") == "name: x\n"


def test_a_file_is_not_a_folder(tmp_path: Path) -> None:
    file = tmp_path / "r"
    file.write_text("mine", encoding="utf-8")
    with pytest.raises(ResultsError, match="exists and is not a folder"):
        write_results(results(), file)
    with pytest.raises(ResultsError, match="a part of the path is a file"):
        write_results(results(), file / "sub")
    assert file.read_text(encoding="utf-8") == "mine"


def test_a_symbolic_link_to_nothing_is_refused(tmp_path: Path) -> None:
    link = tmp_path / "r"
    link.symlink_to(tmp_path / "gone")
    with pytest.raises(ResultsError) as info:
        write_results(results(), link)
    assert str(info.value) == f"{link}: a symbolic link to nothing ({tmp_path / 'gone'})"
    assert listing(tmp_path) == ["r"] and not (tmp_path / "gone").exists()


def test_too_little_free_space_is_found_before_the_work(tmp_path: Path) -> None:
    with pytest.raises(ResultsError) as info:
        open_results_folder(tmp_path / "r", estimate=10**18)
    assert "not enough free space: the results need about 1000000.0 TB" in str(info.value)
    assert listing(tmp_path) == [], "the folder it made is removed again"


def test_a_full_disk_while_writing_leaves_the_earlier_results(tmp_path: Path) -> None:
    out = write_results(results(tag="a"), tmp_path / "r")
    before = snapshot(out, deep=False)

    def full(path: Path) -> None:
        path.write_bytes(b"half a ")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    with pytest.raises(ResultsError) as info, open_results_folder(out) as folder:
        folder.write_file("runs.csv", full, 3)
    assert str(info.value) == (
        f"{out}: cannot write the results: no space left on the disk; nothing written, "
        "earlier results unchanged"
    )
    assert snapshot(out, deep=False) == before and listing(out) == TABLES


def test_an_interruption_leaves_no_new_folder(tmp_path: Path) -> None:
    with pytest.raises(KeyboardInterrupt), open_results_folder(tmp_path / "a" / "b"):
        raise KeyboardInterrupt
    assert listing(tmp_path) == []


def test_a_folder_that_vanishes_during_the_work(tmp_path: Path) -> None:
    import shutil

    out = tmp_path / "r"
    folder = open_results_folder(out)
    shutil.rmtree(out)
    with pytest.raises(ResultsError) as info:
        write_results(results(), folder)
    assert (
        str(info.value) == f"{out}: the folder vanished while negsim was working; nothing written"
    )
    assert not out.exists()


def test_a_failed_rename_puts_the_earlier_files_back(tmp_path: Path, monkeypatch) -> None:
    out = write_results(results(tag="a"), tmp_path / "r")
    before = snapshot(out, deep=False)
    real = os.replace
    calls = []

    def failing(source, target):
        calls.append(Path(target).name)
        if Path(target).parent == out and len([c for c in calls if c.endswith(".csv")]) == 3:
            raise OSError(errno.EIO, "I/O error")
        return real(source, target)

    monkeypatch.setattr(os, "replace", failing)
    with pytest.raises(ResultsError, match="input/output error"):
        write_results(results(tag="b"), out)
    monkeypatch.setattr(os, "replace", real)
    assert snapshot(out, deep=False) == before


def test_staging_folders_of_killed_runs_are_removed_by_the_next_run(tmp_path: Path) -> None:
    out = write_results(results(), tmp_path / "r")
    leftover_staging(out)
    (out / LOCK_NAME).write_text('{"pid": 1}', encoding="utf-8")  # a dead holder's file
    write_results(results(), out)
    assert listing(out) == TABLES


def test_a_folder_named_like_a_staging_folder_is_the_users(tmp_path: Path) -> None:
    out = write_results(results(), tmp_path / "r")
    mine = out / f"{STAGING_PREFIX}mywork"
    mine.mkdir()
    (mine / "thesis.txt").write_text("chapter 1", encoding="utf-8")
    forged = leftover_staging(out, "other")
    (forged / STAGING_MARKER).write_text('{"staging": "elsewhere", "token": "0"}', "utf-8")
    with open_results_folder(out) as folder:
        assert folder.kept == [f"{STAGING_PREFIX}mywork/", f"{STAGING_PREFIX}other/"]
        write_results(results(tag="b"), folder)
    assert (mine / "thesis.txt").read_text(encoding="utf-8") == "chapter 1"
    assert (forged / "runs.csv").read_text(encoding="utf-8") == "half"


def test_a_staging_folder_that_cannot_be_removed_stays_recognisable(
    tmp_path: Path, monkeypatch
) -> None:
    import shutil

    from negsim.results import folder as module

    real = shutil.rmtree

    def empties_only(path, ignore_errors=False):  # as in a folder made immutable meanwhile
        for entry in Path(path).iterdir():
            if entry.is_dir():
                real(entry)
            else:
                entry.unlink()

    out = write_results(results(), tmp_path / "r")
    monkeypatch.setattr(module.shutil, "rmtree", empties_only)
    with open_results_folder(out) as folder:
        staging = folder.staging
    assert staging.is_dir() and is_staging(staging)
    monkeypatch.setattr(module.shutil, "rmtree", real)
    write_results(results(), out)
    assert listing(out) == TABLES, "the next run removes it"


def test_the_staging_folder_carries_negsims_marker(tmp_path: Path) -> None:
    with open_results_folder(tmp_path / "r") as folder:
        assert folder.staging.parent == tmp_path / "r", "inside the output folder, never beside"
        assert is_staging(folder.staging)
        assert not is_staging(tmp_path / "r")


def test_folders_beside_the_output_folder_are_never_touched(tmp_path: Path) -> None:
    out = write_results(results(tag="a"), tmp_path / "r13")
    for name in (".r13.partial-abc123", ".r13.old-4242", ".r13.old-mybackup"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "runs.csv").write_text("a user's", encoding="utf-8")
        (tmp_path / name / "manifest.json").write_text("{}", encoding="utf-8")
    with open_results_folder(out) as folder:
        assert folder.notes == []
        write_results(results(tag="b"), folder)
    assert listing(tmp_path) == [".r13.old-4242", ".r13.old-mybackup", ".r13.partial-abc123", "r13"]
    # Nor is one put in the place of a missing output folder.
    (out / "manifest.json").unlink()
    for name in listing(out):
        (out / name).unlink()
    out.rmdir()
    write_results(results(tag="c"), out)
    assert manifest_of(out)["run"] == "c"
    assert (tmp_path / ".r13.old-4242" / "runs.csv").read_text(encoding="utf-8") == "a user's"


# ----------------------------------------------------------------- what the user changed stays


def test_a_table_the_user_edited_is_never_replaced(tmp_path: Path) -> None:
    out = write_results(results(tag="a"), tmp_path / "r")
    with open(out / "runs.csv", "a", encoding="utf-8") as handle:
        handle.write("my,own row\n")
    before = snapshot(out, deep=False)
    with pytest.raises(ResultsError) as info:
        open_results_folder(out)  # refused before any work
    assert str(info.value) == (
        f"{out}: runs.csv changed since negsim run wrote it (not the bytes manifest.json "
        "records); negsim will not replace it: move it away or choose another folder (--out)"
    )
    assert snapshot(out, deep=False) == before and listing(out) == TABLES, (
        "no lock, no staging left"
    )


def test_a_series_the_user_saved_is_not_removed_by_a_run_without_it(tmp_path: Path) -> None:
    out = tmp_path / "r"
    with open_results_folder(out) as folder:
        folder.write_file(SERIES, lambda p: p.write_bytes(b"negsim's series"), 3)
        write_results(results(tag="a"), folder)
    (out / SERIES).write_bytes(b"the user's own analysis, saved under that name")
    before = snapshot(out, deep=False)
    with pytest.raises(ResultsError, match=r"series.parquet changed since negsim run wrote it"):
        write_results(results(tag="b"), out)  # would not write series.parquet: would remove it
    assert snapshot(out, deep=False) == before


def test_an_unchanged_series_is_removed_by_a_run_without_it(tmp_path: Path) -> None:
    out = tmp_path / "r"
    with open_results_folder(out) as folder:
        folder.write_file(SERIES, lambda p: p.write_bytes(b"negsim's series"), 3)
        write_results(results(tag="a"), folder)
    os.utime(out / SERIES, (1, 1))  # touched, not changed: the bytes decide
    write_results(results(tag="b"), out)
    assert listing(out) == TABLES


def test_a_figure_the_user_annotated_is_never_replaced(tmp_path: Path) -> None:
    out = tmp_path / "figures"
    names = ["verdicts.png", "outcomes.png"]
    with OutputFolder(out, FIGURES, names=[*names, "figures.json"]) as folder:
        for name in names:
            folder.write_file(name, lambda p: p.write_bytes(b"\x89PNG negsim"))
        folder.commit({"negsim": "t"})
    (out / "verdicts.png").write_bytes(b"\x89PNG with the user's arrows")
    with pytest.raises(ResultsError) as info:
        OutputFolder(out, FIGURES, names=[*names, "figures.json"]).open()
    assert str(info.value) == (
        f"{out}: verdicts.png changed since negsim plot wrote it (not the bytes figures.json "
        "records); negsim will not replace it: move it away or choose another folder (--out)"
    )
    assert (out / "verdicts.png").read_bytes() == b"\x89PNG with the user's arrows"


def test_an_edited_manifest_is_refused_and_the_files_it_names_stay(tmp_path: Path) -> None:
    out = write_results(results(tag="a"), tmp_path / "r")
    (out / "thesis.txt").write_text("mine", encoding="utf-8")
    document = manifest_of(out)
    document["files"]["thesis.txt"] = {"bytes": 4, "sha256": "0" * 64}
    rewrite_manifest(out, document, sealed=False)  # edited by hand: the seal no longer matches
    before = snapshot(out, deep=False)
    with pytest.raises(ResultsError) as info:
        write_results(results(tag="b"), out)
    assert str(info.value) == (
        f"{out / 'manifest.json'}: changed since negsim run wrote it (its record_sha256 no "
        "longer matches), so negsim cannot tell its files from yours here; move the results "
        "away or choose another folder (--out)"
    )
    assert snapshot(out, deep=False) == before


def test_a_user_file_named_in_a_manifest_is_kept_unless_its_bytes_match(tmp_path: Path) -> None:
    # Even a manifest that passes its seal (an older negsim's without one, or one re-sealed)
    # cannot make negsim remove a file whose bytes it does not record.
    out = write_results(results(tag="a"), tmp_path / "r")
    (out / "thesis.txt").write_text("mine", encoding="utf-8")
    document = manifest_of(out)
    document["files"]["thesis.txt"] = {"bytes": 4, "sha256": "0" * 64}
    del document[SEAL]
    rewrite_manifest(out, document, sealed=False)
    with open_results_folder(out) as folder:
        assert "thesis.txt" in folder.kept
        write_results(results(tag="b"), folder)
    assert (out / "thesis.txt").read_text(encoding="utf-8") == "mine"
    assert folder.notes == [
        f"{out / 'thesis.txt'}: changed since negsim run wrote it; kept as yours and no longer "
        "listed in manifest.json"
    ]
    assert "thesis.txt" not in manifest_of(out)["files"]


def test_a_manifest_that_is_a_link_is_not_negsims(tmp_path: Path) -> None:
    out = write_results(results(tag="a"), tmp_path / "r")
    (out / "manifest.json").rename(tmp_path / "elsewhere.json")
    (out / "manifest.json").symlink_to(tmp_path / "elsewhere.json")
    with pytest.raises(ResultsError) as info:
        open_results_folder(out)
    assert str(info.value) == (
        f"{out / 'manifest.json'}: not a plain file, so not negsim's; move it away or choose "
        "another folder (--out)"
    )
    assert (out / "manifest.json").is_symlink()


def test_a_file_changed_while_negsim_works_stops_the_commit(tmp_path: Path) -> None:
    out = write_results(results(tag="a"), tmp_path / "r")
    folder = open_results_folder(out)
    (out / "hypotheses.csv").write_text("edited during the run\n", encoding="utf-8")
    before = {name: data for name, data in snapshot(out, deep=False).items() if name != LOCK_NAME}
    with pytest.raises(ResultsError) as info:
        write_results(results(tag="b"), folder)
    assert str(info.value) == (
        f"{out}: hypotheses.csv changed while negsim was working; negsim will not replace it: "
        "nothing written, earlier results unchanged; move it away and run again"
    )
    assert snapshot(out, deep=False) == before and listing(out) == TABLES


def test_the_manifest_is_sealed(tmp_path: Path) -> None:
    out = write_results(results(), tmp_path / "r")
    document = manifest_of(out)
    assert document[SEAL] == seal(document)
    record = read_record(out / "manifest.json", FolderKind("results", "manifest.json", "x", True))
    assert record is not None and not record.edited
    document["runs"] = 100000
    rewrite_manifest(out, document, sealed=False)
    record = read_record(out / "manifest.json", FolderKind("results", "manifest.json", "x", True))
    assert record is not None and record.edited


# ----------------------------------------------------------------- killed or terminated


_KILLED_BETWEEN_RENAMES = """
import os, sys
from pathlib import Path
import pandas as pd
from negsim.results import ResultsFolder, write_results

out = Path(sys.argv[1])
real, moved = os.replace, []

def replace(source, target):
    if Path(target).parent == out:
        moved.append(target)
        if len(moved) == 3:
            os._exit(9)  # killed outright: no clean-up, no rollback runs
    real(source, target)

os.replace = replace
frame = pd.DataFrame({"variant": ["b"] * 5, "replication": range(5)})
write_results(ResultsFolder(frame, frame, frame, frame, {"negsim": "t", "run": "b"}), out)
"""


@pytest.mark.slow  # a fresh interpreter importing pandas: 2-5 s
def test_a_run_killed_between_its_renames_is_rolled_back_by_the_next(tmp_path: Path) -> None:
    out = write_results(results(tag="a"), tmp_path / "r")
    before = snapshot(out, deep=False)
    killed = subprocess.run(
        [sys.executable, "-c", _KILLED_BETWEEN_RENAMES, str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert killed.returncode == 9, killed.stderr
    assert snapshot(out, deep=False) != before, "the first new tables were moved in"
    assert [p for p in listing(out) if p.startswith(STAGING_PREFIX)], "and the staging left"
    with open_results_folder(out) as folder:
        assert folder.kept == []
    assert snapshot(out, deep=False) == before and listing(out) == TABLES


def test_sigterm_while_the_folder_is_open_leaves_nothing(tmp_path: Path) -> None:
    out = write_results(results(tag="a"), tmp_path / "r")
    before = snapshot(out, deep=False)
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    with pytest.raises(KeyboardInterrupt), open_results_folder(out) as folder:
        folder.write_file("runs.csv", lambda p: p.write_text("new", encoding="utf-8"))
        assert signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL
        os.kill(os.getpid(), signal.SIGTERM)
        signal.sigtimedwait([], 0)  # let the handler run here
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL, "the default is back"
    assert snapshot(out, deep=False) == before and listing(out) == TABLES


def test_a_figures_folder_keeps_other_formats_listed(tmp_path: Path) -> None:
    kind = FolderKind(what="figures", record="figures.json", writer="negsim plot", strict=False)
    out = tmp_path / "figs"
    for fmt in ("png", "svg"):
        with OutputFolder(out, kind, names=[f"a.{fmt}", f"b.{fmt}"]) as folder:
            for name in (f"a.{fmt}", f"b.{fmt}"):
                folder.write_file(name, lambda p: p.write_bytes(b"x"))
            folder.commit({"negsim": "t"}, keep_listed=lambda n, fmt=fmt: not n.endswith(fmt))
    record = read_record(out / "figures.json", kind)
    assert record is not None and sorted(record.files) == ["a.png", "a.svg", "b.png", "b.svg"]


def test_an_interrupt_a_library_swallowed_writes_nothing(tmp_path: Path) -> None:
    # A stop signal whose KeyboardInterrupt was dropped on the way (pydantic's serializer
    # does) still stops the commit: the earlier files stay, no staging is left.
    out = tmp_path / "figs"
    with OutputFolder(out, FIGURES, names=["a.png"]) as folder:
        folder.write_file("a.png", lambda p: p.write_bytes(b"first"))
        folder.commit({"negsim": "t"})
    before = snapshot(out, deep=False)
    interrupts.note()
    try:
        with (
            pytest.raises(KeyboardInterrupt),
            OutputFolder(out, FIGURES, names=["a.png"]) as folder,
        ):
            folder.write_file("a.png", lambda p: p.write_bytes(b"second"))
            folder.commit({"negsim": "t"})
    finally:
        interrupts.clear()
    assert snapshot(out, deep=False) == before
    assert (out / "a.png").read_bytes() == b"first"

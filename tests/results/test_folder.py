"""Folders negsim writes: what it may replace, what it must leave, and what a failure leaves."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import pandas as pd
import pytest

from negsim.errors import ResultsError
from negsim.results import ResultsFolder, open_results_folder, write_results
from negsim.results.folder import STAGING_PREFIX, FolderKind, OutputFolder, read_record
from negsim.results.lock import LOCK_NAME

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


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}


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
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    del manifest["files"]["events.csv"]  # as if the user had put their own events.csv there
    (out / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    before = snapshot(out)
    with pytest.raises(ResultsError, match=r"events.csv not written by negsim run"):
        write_results(results(tag="b"), out)
    assert snapshot(out) == before


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


def test_an_older_manifest_lists_the_five_files_it_wrote(tmp_path: Path) -> None:
    out = tmp_path / "r"
    out.mkdir()
    # The files of a folder written before manifests listed them (no patterns.csv yet).
    for name in ("events.csv", "hypotheses.csv", "runs.csv", "timeseries.csv"):
        (out / name).write_text("old\n", encoding="utf-8")
    (out / "manifest.json").write_text('{"negsim": "0.1.0", "runs": 10}', encoding="utf-8")
    (out / "figures").mkdir()
    write_results(results(), out)
    assert listing(out) == sorted([*TABLES, "figures"])
    assert (out / "runs.csv").read_text(encoding="utf-8") != "old\n"


def test_a_listed_file_not_written_again_is_removed(tmp_path: Path) -> None:
    out = write_results(results(), tmp_path / "r")
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    manifest["files"]["old_table.csv"] = {"bytes": 1, "sha256": "0" * 64}
    (out / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    (out / "old_table.csv").write_text("x", encoding="utf-8")
    write_results(results(), out)
    assert listing(out) == TABLES


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
    before = snapshot(out)

    def full(path: Path) -> None:
        path.write_bytes(b"half a ")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    with pytest.raises(ResultsError) as info, open_results_folder(out) as folder:
        folder.write_file("runs.csv", full, 3)
    assert str(info.value) == (
        f"{out}: cannot write the results: no space left on the disk; nothing written, "
        "earlier results unchanged"
    )
    assert snapshot(out) == before and listing(out) == TABLES


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
    before = snapshot(out)
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
    assert snapshot(out) == before


def test_staging_folders_of_killed_runs_are_removed_by_the_next_run(tmp_path: Path) -> None:
    out = write_results(results(), tmp_path / "r")
    leftover = out / f"{STAGING_PREFIX}killed"
    leftover.mkdir()
    (leftover / "runs.csv").write_text("half", encoding="utf-8")
    (out / LOCK_NAME).write_text('{"pid": 1}', encoding="utf-8")  # a dead holder's file
    write_results(results(), out)
    assert listing(out) == TABLES


def test_leftovers_of_an_older_negsim_beside_the_folder(tmp_path: Path) -> None:
    out = write_results(results(tag="a"), tmp_path / "r")
    partial = tmp_path / ".r.partial-abc123"
    partial.mkdir()
    (partial / "runs.csv").write_text("half", encoding="utf-8")
    retired = tmp_path / ".r.old-4242"
    retired.mkdir()
    (retired / "runs.csv").write_text("old", encoding="utf-8")
    (retired / "notes.txt").write_text("a user's", encoding="utf-8")
    with open_results_folder(out) as folder:
        assert folder.notes == [
            f"{retired}: left by an interrupted older negsim and holds files it did not write; "
            "move what you need out of it and delete it"
        ]
    assert listing(tmp_path) == [".r.old-4242", "r"], "the staging folder is gone, notes kept"


def test_results_an_older_negsim_had_moved_aside_are_put_back(tmp_path: Path) -> None:
    out = write_results(results(tag="earlier"), tmp_path / "r")
    out.rename(tmp_path / ".r.old-4242")  # killed between its two renames
    with open_results_folder(out) as folder:
        assert folder.kept == []
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["run"] == "earlier"
    assert listing(tmp_path) == ["r"]


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

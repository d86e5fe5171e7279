"""Reading results back: every file checked against the manifest."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pytest

from negsim.errors import ResultsError
from negsim.results import ResultsFolder, open_results, write_results
from negsim.results.reader import count_rows


def written(tmp_path: Path) -> Path:
    frame = pd.DataFrame({"variant": ["base", "base"], "note": ["one line", "two\nlines"]})
    return write_results(ResultsFolder(frame, frame, frame, frame, {"negsim": "t"}), tmp_path / "r")


def test_a_written_folder_reads_back(tmp_path: Path) -> None:
    results = open_results(written(tmp_path))
    assert results.files["runs.csv"]["rows"] == 2
    assert results.read_bytes("runs.csv").startswith(b"variant,note\n")


def test_a_file_changed_after_opening_is_refused_when_read(tmp_path: Path) -> None:
    folder = written(tmp_path)
    results = open_results(folder)
    (folder / "runs.csv").write_text("variant,note\n", encoding="utf-8")
    with pytest.raises(ResultsError) as info:
        results.read_bytes("runs.csv")
    assert str(info.value) == (
        f"{folder / 'runs.csv'}: 0 rows where manifest.json records 2 "
        "(truncated or changed since negsim wrote it)"
    )


def test_a_file_not_listed_is_not_read(tmp_path: Path) -> None:
    results = open_results(written(tmp_path))
    with pytest.raises(ResultsError, match="not listed in manifest.json"):
        results.read_bytes("notes.txt")


def test_rows_are_records_not_lines() -> None:
    assert count_rows(io.StringIO('a,b\n1,"x\ny"\n2,z\n', newline="")) == 2
    assert count_rows(io.StringIO("")) == 0

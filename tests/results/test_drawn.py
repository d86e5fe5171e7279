"""Figures and reports drawn from a results folder go with the results they show (issue 24)."""

from __future__ import annotations

import json
from pathlib import Path

from negsim.results.folder import (
    DRAWN,
    RESULTS_SHA256,
    OutputFolder,
    drawn_files,
    results_identity,
    retire_drawn,
)

FIGURES, REPORT = DRAWN


def manifest(seed: int, table: str = "a" * 64) -> dict[str, object]:
    return {
        "negsim": "test",
        "runs": 30,
        "seed": seed,
        "scenario_sha256": "b" * 64,
        "files": {"runs.csv": {"sha256": table, "bytes": 1, "rows": 1}},
    }


def draw(
    folder: Path, shown: dict[str, object], names: tuple[str, ...] = ("verdicts.png",)
) -> None:
    """A figure folder as `negsim plot` commits it, drawn from the results ``shown``."""
    output = OutputFolder(folder, FIGURES, names=[*names, FIGURES.record])
    with output.open():
        for name in names:
            output.write_file(name, lambda path, name=name: path.write_bytes(name.encode()))
        output.commit({"negsim": "test", RESULTS_SHA256: results_identity(shown)})


def test_the_identity_is_that_of_the_files_and_the_run_not_of_the_manifests_timing() -> None:
    first = manifest(1)
    assert results_identity(first) == results_identity({**first, "created": "later"})
    assert results_identity(first) != results_identity(manifest(2))
    assert results_identity(first) != results_identity(manifest(1, table="c" * 64))


def test_figures_of_other_results_are_removed_the_users_files_stay(tmp_path: Path) -> None:
    results = tmp_path / "r"
    draw(results / "figures", manifest(1))
    (results / "figures" / "mine.txt").write_text("notes", encoding="utf-8")
    draw(results / "only-negsim", manifest(1))
    removed, notes = retire_drawn(results, manifest(2))
    assert removed == ["only-negsim"]
    assert sorted(p.name for p in (results / "figures").iterdir()) == ["mine.txt"]
    assert not (results / "only-negsim").exists()
    assert (
        f"{results / 'figures'}: the figures negsim plot made from the earlier results removed"
        in (notes[0])
    )


def test_figures_of_these_very_results_stay_and_are_found(tmp_path: Path) -> None:
    results = tmp_path / "r"
    draw(results / "figures", manifest(1))
    assert retire_drawn(results, manifest(1)) == ([], [])
    assert set(drawn_files(results / "figures", FIGURES, manifest(1))) == {"verdicts.png"}
    assert drawn_files(results / "figures", FIGURES, manifest(2)) == {}


def test_a_figure_changed_since_is_kept_as_the_users(tmp_path: Path) -> None:
    results = tmp_path / "r"
    draw(results / "figures", manifest(1), ("verdicts.png", "talks.png"))
    (results / "figures" / "talks.png").write_bytes(b"edited")
    assert drawn_files(results / "figures", FIGURES, manifest(1)) == {}
    _, notes = retire_drawn(results, manifest(2))
    assert sorted(p.name for p in (results / "figures").iterdir()) == ["talks.png"]
    assert "talks.png changed since negsim plot drew it" in notes[0]


def test_a_record_edited_by_hand_is_left_alone(tmp_path: Path) -> None:
    results = tmp_path / "r"
    draw(results / "figures", manifest(1))
    record = results / "figures" / "figures.json"
    document = json.loads(record.read_text(encoding="utf-8"))
    document["format"] = "mine"
    record.write_text(json.dumps(document), encoding="utf-8")
    removed, notes = retire_drawn(results, manifest(2))
    assert removed == [] and (results / "figures" / "verdicts.png").exists()
    assert "may show the earlier results" in notes[0]


def test_a_folder_the_user_made_is_never_touched(tmp_path: Path) -> None:
    results = tmp_path / "r"
    (results / "mine").mkdir(parents=True)
    (results / "mine" / "figures.json").write_text("{}", encoding="utf-8")
    (results / "empty").mkdir()
    assert retire_drawn(results, manifest(2)) == ([], [])
    assert (results / "mine" / "figures.json").exists() and (results / "empty").is_dir()

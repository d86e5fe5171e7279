"""Reading results back: every file checked against the manifest."""

from __future__ import annotations

import io
import json
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


# ------------------------------------------------------------------ the manifest's own fields


def run_folder(tmp_path: Path, **fields: object) -> Path:
    """A results folder as `negsim run` writes one: 3 runs of 2 variants, and its manifest."""
    runs = pd.DataFrame(
        {
            "variant": ["base"] * 3 + ["other"] * 3,
            "replication": [0, 1, 2] * 2,
            "agreement": [0, 1, 0, 0, 0, 1],
            "matches_record": [1, 0, 1, 0, 0, 0],
        }
    )
    hypotheses = pd.DataFrame(
        {
            "hypothesis": ["h"],
            "treatment": ["base"],
            "control": ["other"],
            "runs": [3],
            "record_runs": [2],
        }
    )
    manifest = {
        "negsim": "t",
        "scenario_name": "tiny",
        "seed": 7,
        "runs": 3,
        "variants": ["base", "other"],
        "record_runs": 2,
        "confidence": 0.95,
        "command": ["negsim", "run", "tiny.yaml", "--runs", "3", "--seed", "7"],
    } | fields
    frame = pd.DataFrame({"variant": ["base", "other"]})
    folder = ResultsFolder(runs, frame, hypotheses, frame, manifest)
    return write_results(folder, tmp_path / "r")


def edit_manifest(folder: Path, **fields: object) -> None:
    """Change fields of the manifest and re-seal it, as if negsim had written them so.

    (An edit without the seal is refused by the seal alone: see the next tests.)
    """
    from negsim.results.folder import seal

    path = folder / "manifest.json"
    document = json.loads(path.read_text(encoding="utf-8"))
    document.update(fields)
    if "record_sha256" in document:
        document["record_sha256"] = seal(document)
    path.write_text(json.dumps(document), encoding="utf-8")


def refusal(folder: Path) -> list[str]:
    with pytest.raises(ResultsError) as info:
        open_results(folder)
    return str(info.value).splitlines()


def test_a_run_folder_that_agrees_with_its_manifest_opens(tmp_path: Path) -> None:
    assert open_results(run_folder(tmp_path)).manifest["runs"] == 3


@pytest.mark.parametrize(
    ("fields", "line"),
    [
        ({"runs": float("nan")}, "runs: must be a whole number (got NaN)"),
        ({"runs": "3"}, "runs: must be a whole number (got '3')"),
        ({"runs": 3.0}, "runs: must be a whole number (got 3.0)"),
        ({"runs": True}, "runs: must be a whole number (got True)"),
        ({"seed": -1}, "seed: must be greater than or equal to 0 (got -1)"),
        ({"confidence": float("inf")}, "confidence: must be a finite number (got Infinity)"),
        ({"variants": "base"}, "variants: must be a list (got 'base')"),
        ({"scenario_name": 12}, "scenario_name: must be text (got 12)"),
    ],
)
def test_a_field_of_the_wrong_type_is_one_line_naming_it(
    tmp_path: Path, fields: dict[str, object], line: str
) -> None:
    folder = run_folder(tmp_path)
    edit_manifest(folder, **fields)
    assert refusal(folder) == [f"{folder / 'manifest.json'}: {line}"]


@pytest.mark.parametrize(
    ("fields", "line"),
    [
        (
            {"runs": 100000, "command": None},
            "runs: 100000 runs of 2 variants would be 200000 rows, but runs.csv has 6",
        ),
        (
            {"variants": ["base", "forged"]},
            "variants: base, forged, but runs.csv holds base, other",
        ),
        (
            {"record_runs": 1},
            "record_runs: 1, but 2 base runs of runs.csv reproduce the record",
        ),
        ({"seed": 8}, "seed: 8, but the command recorded gives --seed 7"),
        ({"runs_auto": [2]}, "runs: 3, but runs_auto ends with 2 runs"),
    ],
)
def test_a_claim_the_files_contradict_is_named(
    tmp_path: Path, fields: dict[str, object], line: str
) -> None:
    folder = run_folder(tmp_path)
    edit_manifest(folder, **fields)
    assert f"{folder / 'manifest.json'}: {line}" in refusal(folder)


def test_a_variant_dropped_from_the_manifest_is_found_in_every_table(tmp_path: Path) -> None:
    folder = run_folder(tmp_path)
    edit_manifest(folder, variants=["base"], runs=6, command=None, record_runs=None)
    lines = refusal(folder)
    manifest = folder / "manifest.json"
    assert f"{manifest}: variants: base, but runs.csv holds base, other" in lines
    assert f"{manifest}: variants: base, but hypotheses.csv compares other" in lines
    assert f"{manifest}: variants: base, but timeseries.csv holds other" in lines
    assert f"{manifest}: variants: base, but events.csv holds other" in lines


def test_an_edited_row_count_is_refused_though_the_file_is_intact(tmp_path: Path) -> None:
    folder = run_folder(tmp_path)
    files = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))["files"]
    files["runs.csv"]["rows"] = 5
    edit_manifest(folder, files=files)
    assert refusal(folder) == [
        f"{folder / 'manifest.json'}: files[runs.csv].rows: 5, but runs.csv has 6 rows"
    ]


def test_a_manifest_edited_by_hand_is_refused_by_its_seal(tmp_path: Path) -> None:
    folder = run_folder(tmp_path)
    path = folder / "manifest.json"
    document = json.loads(path.read_text(encoding="utf-8"))
    if "record_sha256" not in document:
        pytest.skip("this negsim writes no seal in its records")
    document["scenario_name"] = "forged"  # nothing in the files contradicts a name
    path.write_text(json.dumps(document), encoding="utf-8")
    assert refusal(folder) == [
        f"{path}: changed since negsim wrote it (its own checksum, record_sha256, "
        "no longer matches its content)"
    ]


def test_the_scenario_file_named_checks_name_seed_and_variants(tmp_path: Path) -> None:
    from types import SimpleNamespace

    from negsim.results.reader import check_scenario

    path = tmp_path / "manifest.json"
    manifest = {
        "scenario_name": "forged",
        "seed": 9,
        "variants": ["base", "gone"],
        "command": ["negsim", "run", "tiny.yaml"],
    }
    scenario = SimpleNamespace(
        name="tiny", experiment=SimpleNamespace(seed=7), variants={"other": None}
    )
    with pytest.raises(ResultsError) as info:
        check_scenario(path, manifest, scenario)
    assert str(info.value).splitlines() == [
        f"{path}: scenario_name: 'forged', but the scenario file it names (None) is 'tiny'",
        f"{path}: seed: 9, but the command recorded gives no --seed and the scenario's "
        "experiment.seed is 7",
        f"{path}: variants: gone not in the scenario file it names",
    ]
    manifest |= {"scenario_name": "tiny", "variants": ["base", "other"]}
    manifest["command"] = ["negsim", "run", "tiny.yaml", "--seed", "9"]
    check_scenario(path, manifest, scenario)  # the seed was given: nothing to compare


# ------------------------------------------------------------------ sweep folders


def sweep_folder(tmp_path: Path) -> Path:
    """A sweep folder as `negsim sweep` writes one: lhs, 4 points over one factor."""
    from negsim.results.sweep import SweepFolder, write_sweep

    identity = {
        "scenario": "tiny",
        "scenario_sha256": "0" * 64,
        "method": "lhs",
        "samples": 4,
        "runs": 30,
        "seed": 5,
        "chunk_size": 30,
        "confidence": 0.95,
        "bootstrap_resamples": 200,
        "variants": ["base", "other"],
        "factors": [{"path": "actors.gov.resolve"}],
    }
    manifest = {
        "negsim": "t",
        "scenario": "tiny.yaml",
        "scenario_name": "tiny",
        "points": 4,
        "total_runs": 300,
        "factors": [{"path": "actors.gov.resolve", "source": "uncertain"}],
        "command": ["negsim", "sweep", "tiny.yaml", "--seed", "5"],
        "sweep": {"identity": identity},
    } | {key: value for key, value in identity.items() if key not in ("scenario", "factors")}
    sweep = pd.DataFrame(
        {"sample": range(4), "actors.gov.resolve": [0.4, 0.5, 0.6, 0.7], "h.verdict": ["x"] * 4}
    )
    sensitivity = pd.DataFrame({"hypothesis": ["h"], "parameter": ["actors.gov.resolve"]})
    robustness = pd.DataFrame({"hypothesis": ["h", "h"], "verdict": ["x", "y"]})
    return write_sweep(SweepFolder(sweep, sensitivity, robustness, manifest), tmp_path / "s")


def sweep_refusal(folder: Path) -> list[str]:
    from negsim.results.reader import open_sweep

    with pytest.raises(ResultsError) as info:
        open_sweep(folder)
    return str(info.value).splitlines()


def test_a_sweep_folder_that_agrees_with_its_manifest_opens(tmp_path: Path) -> None:
    from negsim.results.reader import open_sweep

    sweep = open_sweep(sweep_folder(tmp_path))
    assert list(sweep.table("robustness.csv")["verdict"]) == ["x", "y"]


def test_a_changed_byte_of_a_sweep_table_is_refused(tmp_path: Path) -> None:
    folder = sweep_folder(tmp_path)
    path = folder / "sweep.csv"
    path.write_bytes(path.read_bytes().replace(b"0.4", b"0.9"))
    assert sweep_refusal(folder) == [
        f"{path}: changed since negsim wrote it (its sha256 differs from manifest.json)"
    ]


def test_a_truncated_missing_or_empty_sweep_table_is_refused(tmp_path: Path) -> None:
    folder = sweep_folder(tmp_path)
    robustness = folder / "robustness.csv"
    robustness.write_bytes(robustness.read_bytes().splitlines(keepends=True)[0])
    (folder / "sensitivity.csv").unlink()
    (folder / "sweep.csv").write_bytes(b"")
    assert sweep_refusal(folder) == [
        f"{robustness}: 0 rows where manifest.json records 2 "
        "(truncated or changed since negsim wrote it)",
        f"{folder / 'sensitivity.csv'}: missing (manifest.json lists it)",
        f"{folder / 'sweep.csv'}: 0 rows where manifest.json records 4 "
        "(truncated or changed since negsim wrote it)",
    ]


@pytest.mark.parametrize(
    ("fields", "line"),
    [
        ({"runs": 100000}, "runs: 100000, but sweep.identity.runs (what the sweep ran) is 30"),
        ({"seed": 6}, "seed: 6, but sweep.identity.seed (what the sweep ran) is 5"),
        (
            {"scenario_name": "forged"},
            "scenario_name: 'forged', but sweep.identity.scenario is 'tiny'",
        ),
        ({"points": 5}, "points: 5, but lhs with samples 4 over 1 factors has 4"),
        ({"total_runs": 1}, "total_runs: 1, but (points + 1) x variants x runs is 300"),
        ({"runs": float("nan")}, "runs: must be a whole number (got NaN)"),
        ({"method": "grid"}, "method: must be 'morris', 'sobol' or 'lhs' (got 'grid')"),
    ],
)
def test_a_sweep_manifest_field_that_disagrees_is_named(
    tmp_path: Path, fields: dict[str, object], line: str
) -> None:
    folder = sweep_folder(tmp_path)
    edit_manifest(folder, **fields)
    assert f"{folder / 'manifest.json'}: {line}" in sweep_refusal(folder)

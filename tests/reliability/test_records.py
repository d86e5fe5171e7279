"""Reliability: what negsim reads back is checked first (issue 19), through real processes.

Results and sweep folders whose files or manifest were changed, truncated or
emptied are refused by `plot`, `report` and `sweep --resume` in one line per
problem naming the file and the field, exit 1, before anything is drawn; a
damaged sweep checkpoint is repaired and resumed from its good points, saying
so; a full disk during a sweep ends in negsim's own line; a sweep holding a
folder names an option the next sweep has. Every command is a real process
(`python -m negsim.cli`); the full disk is a real small tmpfs (root on Linux,
else skipped).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from helpers import SWEEP_SCENARIO
from negsim.results.folder import seal
from negsim.results.lock import FolderLock

pytestmark = pytest.mark.slow  # every test runs negsim's commands as processes

# The shared sweep scenario, with a seed of its own (the records name it).
TINY = SWEEP_SCENARIO + "experiment: {seed: 5}\n"
# Morris, 2 trajectories: 6 sample points and the scenario's own values.
SWEEP = ["-N", "2", "-n", "30", "-j", "1", "--seed", "3"]
TABLES = ("sweep.csv", "sensitivity.csv", "robustness.csv")


def negsim(*args: str | Path, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "negsim.cli", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def error_lines(result: subprocess.CompletedProcess) -> list[str]:
    """The lines of a failure: exit 1, no traceback, nothing but negsim's lines."""
    assert "Traceback" not in result.stderr + result.stdout, result.stderr
    assert result.returncode == 1, result.stderr
    return [line for line in result.stderr.splitlines() if not line.startswith("warning:")]


def one_line(result: subprocess.CompletedProcess) -> str:
    lines = error_lines(result)
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("scenarios") / "tiny.yaml"
    path.write_text(TINY, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def swept(scenario: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A sweep folder as negsim wrote it (not to be changed: copy it)."""
    out = tmp_path_factory.mktemp("swept") / "sweep"
    done = negsim("sweep", scenario, *SWEEP, "-o", out, "-q")
    assert done.returncode == 0, done.stderr
    return out


@pytest.fixture(scope="module")
def ran(scenario: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A results folder as negsim wrote it (not to be changed: copy it)."""
    out = tmp_path_factory.mktemp("ran") / "tiny"
    done = negsim("run", scenario, "-n", "30", "-j", "1", "-o", out, "-q")
    assert done.returncode == 0, done.stderr
    return out


@pytest.fixture
def sweep_copy(swept: Path, tmp_path: Path) -> Path:
    out = tmp_path / "sweep"
    shutil.copytree(swept, out)
    return out


@pytest.fixture
def run_copy(ran: Path, tmp_path: Path) -> Path:
    out = tmp_path / "tiny"
    shutil.copytree(ran, out)
    return out


def edit_manifest(folder: Path, reseal: bool, **fields: object) -> Path:
    """Change manifest fields by hand; ``reseal``: and its seal, as a faulty writer would."""
    path = folder / "manifest.json"
    document = json.loads(path.read_text(encoding="utf-8"))
    document.update(fields)
    if reseal:
        document["record_sha256"] = seal(document)
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


# --------------------------------------------------------------------------- sweep folders


def test_plot_refuses_a_sweep_table_with_a_changed_byte(sweep_copy: Path) -> None:
    table = sweep_copy / "sweep.csv"
    data = bytearray(table.read_bytes())
    data[-3] = ord("9") if data[-3] != ord("9") else ord("8")
    table.write_bytes(bytes(data))
    line = one_line(negsim("plot", sweep_copy))
    assert line == f"{table}: changed since negsim wrote it (its sha256 differs from manifest.json)"
    assert not (sweep_copy / "figures").exists()


def test_plot_refuses_a_truncated_robustness_table(sweep_copy: Path) -> None:
    table = sweep_copy / "robustness.csv"
    table.write_bytes(table.read_bytes().splitlines(keepends=True)[0])
    line = one_line(negsim("plot", sweep_copy))
    assert line.startswith(f"{table}: 0 rows where manifest.json records ")
    assert not (sweep_copy / "figures").exists()


@pytest.mark.parametrize("damage", ["truncated", "missing", "empty"])
def test_resume_of_a_finished_sweep_checks_its_files(
    scenario: Path, sweep_copy: Path, damage: str
) -> None:
    table = sweep_copy / "sensitivity.csv"
    if damage == "truncated":
        table.write_bytes(table.read_bytes()[:-10])
    elif damage == "missing":
        table.unlink()
    else:
        table.write_bytes(b"")
    result = negsim("sweep", scenario, *SWEEP, "-o", sweep_copy, "--resume", "-q")
    line = one_line(result)
    assert line.startswith(f"{table}: ") and "Already complete" not in result.stdout
    if damage == "missing":
        assert line == f"{table}: missing (manifest.json lists it)"


def test_plot_refuses_a_sweep_manifest_whose_runs_were_edited(sweep_copy: Path) -> None:
    manifest = edit_manifest(sweep_copy, True, runs=100000)
    assert error_lines(negsim("plot", sweep_copy)) == [
        f"{manifest}: runs: 100000, but sweep.identity.runs (what the sweep ran) is 30",
        f"{manifest}: total_runs: 420, but (points + 1) x variants x runs is 1400000",
    ]
    assert not (sweep_copy / "figures").exists()


def test_a_sweep_holding_its_folder_names_an_option_sweep_has(
    scenario: Path, tmp_path: Path
) -> None:
    out = tmp_path / "held"
    out.mkdir()
    lock = FolderLock(out, ["negsim", "sweep", "held-by-the-test"])
    lock.acquire()
    try:
        line = one_line(negsim("sweep", scenario, *SWEEP, "-o", out, "-q"))
        assert line.endswith("wait for it to finish, or use --wait")
        assert "held-by-the-test" in line
        waiting = subprocess.Popen(
            [sys.executable, "-m", "negsim.cli", "sweep", scenario, *SWEEP, "-o", out, "-q"]
            + ["--wait"],
            stderr=subprocess.PIPE,
            text=True,
        )
        assert waiting.stderr is not None
        said = waiting.stderr.readline()
        assert said.startswith(f"warning: {out}: in use by pid {os.getpid()}"), said
    finally:
        lock.release()
    assert waiting.wait(timeout=300) == 0, waiting.stderr.read()
    assert (out / "sweep.csv").is_file()


# --------------------------------------------------------------------------- results folders


@pytest.mark.parametrize(
    ("command", "fields", "reseal", "expected"),
    [
        ("plot", {"runs": 100000}, True, "runs: 100000 runs of 2 variants would be 200000 rows"),
        ("report", {"runs": float("nan")}, True, "runs: must be a whole number (got NaN)"),
        ("plot", {"runs": "30"}, True, "runs: must be a whole number (got '30')"),
        ("report", {"seed": 6}, True, "seed: 6, but the command recorded gives no --seed"),
        ("plot", {"scenario_name": "forged"}, True, "scenario_name: 'forged', but the scenario"),
        ("plot", {"variants": ["base", "forged"]}, True, "variants: base, forged, but runs.csv"),
        ("plot", {"scenario_name": "forged"}, False, "changed since negsim wrote it"),
    ],
)
def test_plot_and_report_refuse_a_manifest_the_files_contradict(
    run_copy: Path,
    tmp_path: Path,
    command: str,
    fields: dict[str, object],
    reseal: bool,
    expected: str,
) -> None:
    manifest = edit_manifest(run_copy, reseal, **fields)
    result = negsim(command, run_copy, "-o", tmp_path / "out")
    lines = error_lines(result)
    assert all(line.startswith(f"{manifest}: ") for line in lines), lines
    assert any(expected in line for line in lines), lines
    assert "forged ·" not in result.stdout and "nan runs" not in result.stdout
    assert not (tmp_path / "out").exists()


# --------------------------------------------------------------------------- the checkpoint


def interrupted_sweep(scenario: Path, out: Path, points: int = 3) -> Path:
    """A sweep killed (SIGKILL) once its checkpoint holds ``points`` points; its points file."""
    checkpoint = out.parent / f".{out.name}.sweep-checkpoint" / "points.jsonl"
    process = subprocess.Popen(
        [sys.executable, "-m", "negsim.cli", "sweep", scenario, *SWEEP, "-o", out, "-q"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and process.poll() is None:
        if checkpoint.is_file() and checkpoint.read_bytes().count(b"\n") >= points:
            break
        time.sleep(0.02)
    assert process.poll() is None, "the sweep ended before it could be killed"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    return checkpoint


def test_a_damaged_checkpoint_record_is_dropped_and_its_point_simulated_again(
    scenario: Path, swept: Path, tmp_path: Path
) -> None:
    out = tmp_path / "sweep"
    points = interrupted_sweep(scenario, out)
    lines = points.read_bytes().splitlines(keepends=True)
    good = sum(1 for line in lines if line.endswith(b"\n"))
    lines[1] = lines[1].replace(b'"sample": ', b'"sample":  ', 1)  # its checksum no longer holds
    points.write_bytes(b"".join(lines))
    result = negsim("sweep", scenario, *SWEEP, "-o", out, "--resume")
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert warnings == [
        f"warning: {points}: 1 damaged record dropped (line 2: its checksum differs); resuming "
        f"from the {good - 1} good points, the others are simulated again"
    ]
    assert f"{good - 1} taken from the checkpoint" in result.stdout
    for name in TABLES:  # the same bytes as the sweep never interrupted
        assert (out / name).read_bytes() == (swept / name).read_bytes(), name


def test_a_damaged_checkpoint_identity_says_how_to_start_over(
    scenario: Path, tmp_path: Path
) -> None:
    out = tmp_path / "sweep"
    points = interrupted_sweep(scenario, out, points=1)
    (points.parent / "identity.json").write_text("{torn", encoding="utf-8")
    line = one_line(negsim("sweep", scenario, *SWEEP, "-o", out, "--resume", "-q"))
    assert line == (
        f"{points.parent}: damaged sweep checkpoint (no readable identity.json); delete it "
        "to start over"
    )


# --------------------------------------------------------------------------- a full disk


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 16 KiB tmpfs: room for the checkpoint's identity and a point or two."""
    if not sys.platform.startswith("linux") or os.geteuid() != 0:
        pytest.skip("a real small file system (tmpfs mount) needs root on Linux")
    point = tmp_path / "disk"
    point.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=16k", "tmpfs", str(point)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    yield point
    subprocess.run(["umount", "-l", str(point)], check=False)


def test_a_full_disk_during_a_sweep_is_negsims_one_line_and_resumable(
    scenario: Path, swept: Path, small_disk: Path
) -> None:
    out = small_disk / "sweep"
    line = one_line(negsim("sweep", scenario, *SWEEP, "-o", out, "-q"))
    checkpoint = small_disk / ".sweep.sweep-checkpoint"
    assert line == (
        f"{checkpoint}: cannot write the checkpoint: no space left on the disk; the points "
        "done so far are kept: make room, then continue with --resume"
    )
    assert not (out / "sweep.csv").exists()
    subprocess.run(["mount", "-o", "remount,size=1m", str(small_disk)], check=True)
    resumed = negsim("sweep", scenario, *SWEEP, "-o", out, "--resume", "-q")
    assert resumed.returncode == 0, resumed.stderr
    for name in TABLES:
        assert (out / name).read_bytes() == (swept / name).read_bytes(), name

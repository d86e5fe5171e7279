"""Reliability: what negsim does to a user's files when things go wrong, with real processes.

Every case of issue 8 as a user meets it: output folders that hold other
files (or the scenario), full, read-only and immutable disks, folders that
vanish, concurrent and killed runs, damaged results, too few runs, oversized
and mis-encoded scenarios, the Python API's arguments, too many jobs. Each
ends in one line and exit 1 (or a documented success), with earlier results
intact and nothing partial left.

The commands run as real processes (`python -m negsim.cli`), interrupted by
real signals. A full disk is a real small file system (tmpfs) and an
immutable folder a real `chattr +i`, where the platform allows them (root on
Linux); elsewhere those tests are skipped with the reason.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from helpers import snapshot
from negsim.results.folder import STAGING_PREFIX
from negsim.results.lock import LOCK_NAME

GENEVA3 = Path(__file__).resolve().parents[1] / "scenarios" / "geneva3.yaml"
TABLES = [
    "events.csv",
    "hypotheses.csv",
    "hypotheses.md",
    "manifest.json",
    "patterns.csv",
    "posterior.csv",
    "runs.csv",
    "timeseries.csv",
]
# Small chunks keep each run to a few seconds (a run simulates whole chunks).
TINY = f"extends: {GENEVA3}\nname: tiny\nexperiment:\n  runs: 40\n  chunk_size: 20\n  seed: 7\n"
# Two variants of the bundled scenario: one hypothesis between them.
TWO = ["-v", "base", "-v", "alloush_alive"]


# --------------------------------------------------------------------------- helpers


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    """A small scenario (the bundled geneva3, small chunks) in its own folder."""
    folder = tmp_path / "scenarios"
    folder.mkdir()
    path = folder / "tiny.yaml"
    path.write_text(TINY, encoding="utf-8")
    return path


def negsim(
    *args: str | Path, cwd: Path | None = None, timeout: float = 300
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "negsim.cli", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=timeout,
    )


def start(*args: str | Path, stderr: Path) -> subprocess.Popen:
    with open(stderr, "w", encoding="utf-8") as handle:
        return subprocess.Popen(
            [sys.executable, "-m", "negsim.cli", *map(str, args)],
            stdout=subprocess.DEVNULL,
            stderr=handle,
            text=True,
        )


def run_into(scenario: Path, out: Path, *extra: str) -> subprocess.CompletedProcess:
    result = negsim("run", scenario, "-n", "30", "-j", "1", "-o", out, "-q", *TWO, *extra)
    assert result.returncode == 0, result.stderr
    return result


def error_line(result: subprocess.CompletedProcess, *words: str) -> str:
    """The one line of a failure: exit 1, no traceback, every word in it."""
    assert "Traceback" not in result.stderr + result.stdout, result.stderr
    lines = [line for line in result.stderr.splitlines() if not line.startswith("warning:")]
    assert result.returncode == 1, result.stderr
    assert len(lines) == 1, result.stderr
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


def negsim_leftovers(folder: Path) -> list[str]:
    """Lock files and staging folders in ``folder`` and beside it."""
    names = [p.name for p in folder.iterdir()] if folder.is_dir() else []
    beside = [p.name for p in folder.parent.iterdir() if p.name.startswith(f".{folder.name}.")]
    return [n for n in names if n == LOCK_NAME or n.startswith(STAGING_PREFIX)] + beside


def wait_for(condition: Callable[[], bool], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.05)


def staging_exists(folder: Path) -> bool:
    return folder.is_dir() and any(p.name.startswith(STAGING_PREFIX) for p in folder.iterdir())


def processes_mentioning(text: str) -> list[int]:
    """Live processes whose command line holds ``text`` (Linux /proc)."""
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        with contextlib.suppress(OSError):
            if text in entry.joinpath("cmdline").read_bytes().decode(errors="replace"):
                status = entry.joinpath("stat").read_text().split()[2]
                if status != "Z":
                    found.append(int(entry.name))
    return found


def _needs_root_on_linux(what: str) -> None:
    if not sys.platform.startswith("linux") or os.geteuid() != 0:
        pytest.skip(f"{what} needs root on Linux")


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Callable[[str], Path]]:
    """Mount a real tmpfs of a given size; skipped where mounting is not permitted."""
    point = tmp_path / "disk"
    point.mkdir()
    mounted = False

    def mount(size: str) -> Path:
        nonlocal mounted
        _needs_root_on_linux("a real small file system (tmpfs mount)")
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(point)],
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
        mounted = True
        return point

    yield mount
    if mounted:
        subprocess.run(["umount", "-l", str(point)], check=False)


@pytest.fixture
def immutable() -> Iterator[Callable[[Path], None]]:
    """Set the immutable flag (chattr +i) on a path; skipped where it is not available."""
    flagged: list[Path] = []

    def flag(path: Path) -> None:
        if shutil.which("chattr") is None:
            pytest.skip("chattr is not installed")
        done = subprocess.run(["chattr", "+i", str(path)], capture_output=True, text=True)
        if done.returncode != 0:
            pytest.skip(f"chattr +i not possible here: {done.stderr.strip()}")
        flagged.append(path)

    yield flag
    for path in flagged:
        subprocess.run(["chattr", "-i", str(path)], check=False)


# --------------------------------------------------------------------------- never delete what negsim did not write


def test_a_folder_holding_other_files_is_refused_and_keeps_them(tiny: Path, tmp_path: Path) -> None:
    out = tmp_path / "mine"
    (out / "sub").mkdir(parents=True)
    (out / "thesis.docx").write_bytes(b"years of work")
    (out / "sub" / "data.csv").write_text("a,b\n", encoding="utf-8")
    before = snapshot(out)
    line = error_line(negsim("run", tiny, "-n", "20", "-o", out), "not a negsim results folder")
    assert line == (
        f"{out}: not a negsim results folder and not empty (holds sub/, thesis.docx); "
        "choose another folder (--out) or empty it"
    )
    assert snapshot(out) == before


@pytest.mark.slow
def test_the_current_folder_is_never_an_output_folder(tiny: Path) -> None:
    before = snapshot(tiny.parent)
    line = error_line(negsim("run", "tiny.yaml", "-n", "20", "-o", ".", cwd=tiny.parent))
    assert line == ".: is the current folder; results need a folder of their own"
    assert snapshot(tiny.parent) == before


@pytest.mark.slow
@pytest.mark.parametrize("which", ["scenario folder", "parent of the scenario", "parent of cwd"])
def test_a_folder_holding_the_scenario_or_the_current_folder_is_refused(
    tiny: Path, tmp_path: Path, which: str
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    out = {"scenario folder": tiny.parent, "parent of the scenario": tmp_path}.get(
        which, Path("..")
    )
    before = snapshot(tmp_path)
    line = error_line(negsim("run", tiny, "-n", "20", "-o", out, cwd=work))
    holds = "the current folder" if which != "scenario folder" else f"the scenario file ({tiny})"
    assert line.startswith(f"{out}: holds {holds}")
    assert line.endswith("; results need a folder of their own")
    assert snapshot(tmp_path) == before


@pytest.mark.slow
def test_a_rerun_keeps_the_users_figures_and_notes(tiny: Path, tmp_path: Path) -> None:
    out = tmp_path / "r"
    run_into(tiny, out)
    plotted = negsim("plot", out, "-q")
    assert plotted.returncode == 0, plotted.stderr
    (out / "notes.md").write_text("what I saw", encoding="utf-8")
    (out / "my-figures").mkdir()
    (out / "my-figures" / "map.png").write_bytes(b"\x89PNG mine")
    kept = {
        n: b
        for n, b in snapshot(out).items()
        if not n.endswith((".csv", ".md")) and n != "manifest.json" and "figures/" not in n
    }
    kept["notes.md"] = b"what I saw"
    again = negsim("run", tiny, "-n", "30", "-j", "1", "-o", out, *TWO, "--seed", "9")
    assert again.returncode == 0, again.stderr
    assert f"Kept in {out}/ (not written by negsim run): my-figures/, notes.md" in again.stdout
    # The figures negsim drew from the earlier results went with them (issue 24).
    assert f"{out / 'figures'}: the figures negsim plot made from the earlier results removed" in (
        again.stderr
    )
    after = snapshot(out)
    assert {n: after[n] for n in kept} == kept
    assert sorted(p.name for p in out.iterdir()) == sorted([*TABLES, "my-figures", "notes.md"])


# --------------------------------------------------------------------------- checked before the work


def test_an_output_that_is_a_file_fails_before_simulating(tiny: Path, tmp_path: Path) -> None:
    target = tmp_path / "results.csv"
    target.write_text("mine", encoding="utf-8")
    started = time.monotonic()
    # A million runs would take far longer than the test allows: it never starts.
    result = negsim("run", tiny, "-n", "1000000", "-o", target, timeout=60)
    assert error_line(result) == f"{target}: exists and is not a folder"
    assert time.monotonic() - started < 60
    assert target.read_text(encoding="utf-8") == "mine"


def test_a_disk_too_small_for_the_results_fails_before_simulating(small_disk, tiny: Path) -> None:
    disk = small_disk("256k")
    result = negsim("run", tiny, "-n", "1000000", "-o", disk / "r", timeout=60)
    line = error_line(result, "not enough free space: the results need about")
    assert line.startswith(f"{disk / 'r'}: ")
    assert list(disk.iterdir()) == []


@pytest.mark.slow
def test_an_immutable_results_folder_fails_before_simulating(
    immutable, tiny: Path, tmp_path: Path
) -> None:
    out = tmp_path / "r"
    run_into(tiny, out)
    before = snapshot(out)
    immutable(out)
    result = negsim("run", tiny, "-n", "1000000", "-o", out, timeout=60)
    assert (
        error_line(result)
        == f"{out}: cannot write here: not permitted (an immutable or protected folder?)"
    )
    assert snapshot(out) == before


@pytest.mark.slow
def test_a_read_only_file_system_fails_before_simulating(small_disk, tiny: Path) -> None:
    disk = small_disk("4m")
    run_into(tiny, disk / "r")
    before = snapshot(disk)
    subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
    for out in (disk / "r", disk / "new"):
        result = negsim("run", tiny, "-n", "1000000", "-o", out, timeout=60)
        assert "the file system is read-only" in error_line(result)
    assert snapshot(disk) == before


def test_a_folder_without_write_permission(tiny: Path, tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root bypasses file permissions (the immutable-folder test covers this)")
    parent = tmp_path / "locked"
    parent.mkdir()
    parent.chmod(0o555)
    try:
        result = negsim("run", tiny, "-n", "20", "-o", parent / "r")
        assert error_line(result) == f"{parent / 'r'}: cannot create the folder: permission denied"
    finally:
        parent.chmod(0o755)


@pytest.mark.slow
def test_plot_out_is_checked_before_drawing(tiny: Path, tmp_path: Path) -> None:
    out = tmp_path / "r"
    run_into(tiny, out)
    target = tmp_path / "figures.png"
    target.write_bytes(b"mine")
    assert (
        error_line(negsim("plot", out, "--out", target)) == f"{target}: exists and is not a folder"
    )
    user = tmp_path / "figs"
    user.mkdir()
    (user / "outcomes.png").write_bytes(b"the user's own")
    line = error_line(negsim("plot", out, "--out", user))
    assert line.startswith(f"{user}: outcomes.png not written by negsim plot")
    assert (user / "outcomes.png").read_bytes() == b"the user's own"
    assert sorted(p.name for p in user.iterdir()) == ["outcomes.png"]


@pytest.mark.slow
def test_plot_onto_a_disk_too_small_for_the_figures_fails_before_drawing(
    small_disk, tiny: Path, tmp_path: Path
) -> None:
    out = tmp_path / "r"
    run_into(tiny, out)
    disk = small_disk("512k")
    line = error_line(negsim("plot", out, "--out", disk / "figures"))
    assert line.startswith(f"{disk / 'figures'}: not enough free space: the figures need about")
    assert list(disk.iterdir()) == []


# --------------------------------------------------------------------------- failures during the work


@pytest.mark.slow
def test_a_disk_that_fills_up_during_the_run(small_disk, tiny: Path, tmp_path: Path) -> None:
    # Room for the results and the weekly series spilled while the run goes on.
    disk = small_disk("8m")
    out = disk / "r"
    run_into(tiny, out)
    before = snapshot(out)
    run = start(
        "run", tiny, "-n", "600", "-j", "1", "-o", out, "-q", "-v", "base", stderr=tmp_path / "err"
    )
    wait_for(lambda: staging_exists(out))  # checked and locked: simulating now
    with contextlib.suppress(OSError), open(disk / "filler", "wb") as filler:
        while True:  # until the disk is full
            filler.write(b"\0" * 65536)
    assert run.wait(timeout=300) == 1
    result = subprocess.CompletedProcess([], 1, "", (tmp_path / "err").read_text())
    assert error_line(result) == (
        f"{out}: cannot write the results: no space left on the disk; nothing written, "
        "earlier results unchanged"
    )
    assert snapshot(out) == before, "earlier results intact, no staging folder or lock left"


@pytest.mark.slow
def test_a_results_folder_that_vanishes_during_the_run(tiny: Path, tmp_path: Path) -> None:
    out = tmp_path / "r"
    run = start(
        "run", tiny, "-n", "600", "-j", "1", "-o", out, "-q", "-v", "base", stderr=tmp_path / "err"
    )
    wait_for(lambda: staging_exists(out))
    shutil.rmtree(out)
    assert run.wait(timeout=300) == 1
    result = subprocess.CompletedProcess([], 1, "", (tmp_path / "err").read_text())
    assert (
        error_line(result)
        == f"{out}: the folder vanished while negsim was working; nothing written"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["err", "scenarios"]


@pytest.mark.slow
def test_a_folder_made_immutable_during_the_run(immutable, tiny: Path, tmp_path: Path) -> None:
    out = tmp_path / "r"
    run_into(tiny, out)
    before = {n: b for n, b in snapshot(out).items() if n in TABLES}
    run = start(
        "run", tiny, "-n", "600", "-j", "1", "-o", out, "-q", "-v", "base", stderr=tmp_path / "err"
    )
    wait_for(lambda: staging_exists(out))
    immutable(out)
    assert run.wait(timeout=300) == 1
    result = subprocess.CompletedProcess([], 1, "", (tmp_path / "err").read_text())
    assert "cannot write the results: not permitted" in error_line(result)
    assert {n: b for n, b in snapshot(out).items() if n in TABLES} == before
    subprocess.run(["chattr", "-i", str(out)], check=True)
    # What an immutable folder kept negsim from removing, the next run removes.
    run_into(tiny, out)
    assert negsim_leftovers(out) == []


# --------------------------------------------------------------------------- one writer at a time


@pytest.mark.slow
def test_a_second_run_into_the_same_folder_fails_at_once_naming_the_first(
    tiny: Path, tmp_path: Path
) -> None:
    out = tmp_path / "r"
    run_into(tiny, out)
    before = snapshot(out)
    first = start(
        "run", tiny, "-n", "1000000", "-j", "1", "-o", out, "-v", "base", stderr=tmp_path / "err"
    )
    wait_for(lambda: staging_exists(out))
    started = time.monotonic()
    second = negsim("run", tiny, "-n", "20", "-o", out, timeout=60)
    assert time.monotonic() - started < 30, "fails at once, without simulating"
    line = error_line(second, f"in use by pid {first.pid} on ")
    assert line.startswith(f"{out}: ")
    assert f"negsim run {tiny} -n 1000000" in line
    assert line.endswith("; wait for it to finish, or use --wait")
    first.send_signal(signal.SIGINT)
    assert first.wait(timeout=60) == 130
    assert snapshot(out) == before, "neither run changed the earlier results"


@pytest.mark.slow
def test_wait_lets_the_second_run_write_after_the_first(tiny: Path, tmp_path: Path) -> None:
    out = tmp_path / "r"
    run_into(tiny, out)
    # Another process holds the folder for a few seconds, as a long run would.
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import pathlib, sys, time\n"
            "from negsim.results.lock import FolderLock\n"
            f"lock = FolderLock(pathlib.Path({str(out)!r}), ['negsim', 'run', 'long.yaml'])\n"
            "lock.acquire()\n"
            "print('held', flush=True)\n"
            "time.sleep(6)\n"
            "lock.release()\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline() == "held\n"
    second = negsim(
        "run", tiny, "-n", "30", "-j", "1", "-o", out, "-q", *TWO, "--seed", "3", "--wait"
    )
    assert holder.wait(timeout=60) == 0
    assert second.returncode == 0, second.stderr
    assert f"warning: {out}: in use by pid {holder.pid} on " in second.stderr
    assert "negsim run long.yaml; waiting for it to finish" in second.stderr
    assert '"seed": 3' in (out / "manifest.json").read_text(encoding="utf-8")
    assert sorted(p.name for p in out.iterdir()) == TABLES


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc").is_dir(), reason="counts processes through /proc")
def test_a_killed_run_leaves_no_workers_no_lock_and_its_staging_is_cleaned(
    tiny: Path, tmp_path: Path
) -> None:
    out = tmp_path / "killed-run"
    run_into(tiny, out)
    before = {n: b for n, b in snapshot(out).items() if n in TABLES}
    killed = start("run", tiny, "-n", "1000000", "-j", "2", "-o", out, stderr=tmp_path / "err")
    wait_for(lambda: staging_exists(out) and len(processes_mentioning(str(out))) >= 3)
    time.sleep(1.0)  # workers busy with chunks
    killed.send_signal(signal.SIGKILL)
    killed.wait(timeout=30)
    wait_for(lambda: processes_mentioning(str(out)) == [], timeout=10)
    time.sleep(0.5)
    err = (tmp_path / "err").read_text()
    assert "Traceback" not in err and "BrokenPipeError" not in err, err
    assert {n: b for n, b in snapshot(out).items() if n in TABLES} == before
    assert negsim_leftovers(out), "a SIGKILL leaves its staging folder (nothing can remove it)"
    # The dead run's lock does not block; its leftovers go with the next run.
    run_into(tiny, out)
    assert negsim_leftovers(out) == []


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_a_terminated_run_with_workers_exits_quietly(
    tiny: Path, tmp_path: Path, signum: int
) -> None:
    out = tmp_path / "r"
    run = start("run", tiny, "-n", "1000000", "-j", "2", "-o", out, stderr=tmp_path / "err")
    wait_for(lambda: staging_exists(out))
    time.sleep(1.0)
    run.send_signal(signum)
    assert run.wait(timeout=30) == 130
    err = (tmp_path / "err").read_text()
    assert "Traceback" not in err and "BrokenPipeError" not in err, err
    assert err.strip().endswith("are unchanged.")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["err", "scenarios"]
    wait_for(lambda: processes_mentioning(str(out)) == [], timeout=10)


@pytest.mark.slow
def test_folders_beside_the_output_folder_are_never_touched(tiny: Path, tmp_path: Path) -> None:
    # Named like an older negsim's leftovers, but nothing outside --out is negsim's to remove.
    out = tmp_path / "r"
    run_into(tiny, out)
    for name in (".r.partial-k3j2h1g0", ".r.old-12345"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "runs.csv").write_text("mine", encoding="utf-8")
    run_into(tiny, out)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        ".r.old-12345",
        ".r.partial-k3j2h1g0",
        "r",
        "scenarios",
    ]


# --------------------------------------------------------------------------- plot checks what it reads


@pytest.mark.slow
@pytest.mark.parametrize("name", ["runs.csv", "timeseries.csv"])
def test_plot_refuses_a_truncated_file(tiny: Path, tmp_path: Path, name: str) -> None:
    out = tmp_path / "r"
    run_into(tiny, out)
    lines = (out / name).read_bytes().splitlines(keepends=True)
    (out / name).write_bytes(b"".join(lines[: len(lines) // 2]))
    line = error_line(negsim("plot", out))
    rows = len(lines) // 2 - 1
    assert line == (
        f"{out / name}: {rows} rows where manifest.json records {len(lines) - 1} "
        "(truncated or changed since negsim wrote it)"
    )
    assert not (out / "figures").exists()


@pytest.mark.slow
def test_run_of_one_variant_with_plot_draws_what_it_can_and_says_what_it_skipped(
    tiny: Path, tmp_path: Path
) -> None:
    out = tmp_path / "r"
    result = negsim("run", tiny, "-n", "30", "-j", "1", "-o", out, "-v", "alloush_alive", "--plot")
    assert result.returncode == 0, result.stderr
    assert "skipped verdicts: no hypothesis was tested" in result.stdout
    assert "skipped territory: the 'base' variant was not run" in result.stdout
    assert (out / "figures" / "outcomes.png").is_file()
    assert "Traceback" not in result.stderr


# --------------------------------------------------------------------------- verdicts, inputs, API, jobs


@pytest.mark.slow
def test_one_run_gives_no_verdict(tiny: Path, tmp_path: Path) -> None:
    out = tmp_path / "r"
    result = negsim("run", tiny, "-n", "1", "-j", "1", "-o", out, *TWO)
    assert result.returncode == 0, result.stderr
    assert "supported" not in result.stdout and "contradicted" not in result.stdout
    # The sentence saying why is in hypotheses.md (the terminal shows one line per verdict).
    assert "fewer than the 30 a verdict needs: inconclusive." in (out / "hypotheses.md").read_text(
        encoding="utf-8"
    )
    assert "on 1 paired run, too few for a verdict (at least 30): inconclusive" in result.stderr


def test_an_oversized_scenario_is_refused_at_once(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    with open(big, "w", encoding="utf-8") as handle:
        handle.write("name: big\nnotes:\n")
        line = "  - " + "x" * 95 + "\n"
        handle.writelines(line for _ in range(500_000))  # 50 MB
    started = time.monotonic()
    result = negsim("run", big, "-o", tmp_path / "r", timeout=60)
    assert time.monotonic() - started < 30
    assert "Traceback" not in result.stderr and result.returncode == 1
    assert result.stderr.splitlines()[0] == (
        f"{big}: larger than 2,000,000 bytes, the limit for a scenario file; a scenario this "
        "large is likely the wrong file (set NEGSIM_MAX_SCENARIO_BYTES to raise the limit)"
    )
    assert not (tmp_path / "r").exists()


def test_a_latin1_scenario_gets_its_line_column_and_a_hint(tmp_path: Path) -> None:
    text = GENEVA3.read_text(encoding="utf-8").replace("name: geneva3", "name: geneva3 # café", 1)
    latin = tmp_path / "latin.yaml"
    latin.write_bytes(text.encode("latin-1", errors="replace"))
    line_number = next(i for i, line in enumerate(text.splitlines(), 1) if "café" in line)
    column = text.splitlines()[line_number - 1].index("é") + 1
    result = negsim("validate", latin)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.splitlines()[0].startswith(
        f"{latin}:{line_number}: not UTF-8 text: byte 0xe9 at column {column}; save the file as UTF-8"
    )


@pytest.mark.slow
@pytest.mark.parametrize(
    ("argument", "value", "message"),
    [
        ("runs", 0, "runs: must be a whole number from 1 to 1000000 (got 0)"),
        ("runs", -5, "runs: must be a whole number from 1 to 1000000 (got -5)"),
        ("runs", 2.5, "runs: must be a whole number from 1 to 1000000 (got 2.5)"),
        ("runs", True, "runs: must be a whole number from 1 to 1000000 (got True)"),
        ("seed", -1, "seed: must be a whole number, 0 or more (got -1)"),
        ("jobs", 0, "jobs: must be a whole number, 1 or more (got 0)"),
    ],
)
def test_the_python_api_checks_arguments_like_the_cli(
    tiny: Path, argument: str, value: object, message: str
) -> None:
    from negsim import api
    from negsim.errors import NegsimError, UsageError

    with pytest.raises(UsageError) as info:
        api.simulate(tiny, **{argument: value})
    assert str(info.value) == message
    assert isinstance(info.value, NegsimError)
    option = {"runs": "--runs", "seed": "--seed", "jobs": "--jobs"}[argument]
    if not isinstance(value, bool | float):
        cli = negsim("run", tiny, option, str(value))
        assert cli.returncode == 2
        assert message.split(": ", 1)[1] in cli.stderr


def test_the_python_api_exports_only_its_own_names() -> None:
    from negsim import api

    assert {"np", "pd", "sys"}.isdisjoint(api.__all__)
    assert {"load_scenario", "simulate", "run_experiment", "Simulation", "Experiment"} <= set(
        api.__all__
    )
    namespace: dict[str, object] = {}
    exec("from negsim.api import *", namespace)
    assert set(namespace) - {"__builtins__"} == set(api.__all__)


@pytest.mark.slow
def test_more_jobs_than_cores_warns(tiny: Path, tmp_path: Path) -> None:
    from negsim.run.executors import available_cores

    jobs = available_cores() + 1
    result = negsim("run", tiny, "-n", "20", "-j", str(jobs), "-o", tmp_path / "r", "-q", *TWO)
    assert result.returncode == 0, result.stderr
    assert f"warning: {jobs} jobs on {available_cores()} core" in result.stderr

"""`negsim run` end to end: runs/s from the manifest, and where the time goes, phase by phase.

After one untimed run (the first run after an install compiles the
kernels into numba's cache), for each run count (runs per variant), runs
`negsim run SCENARIO --runs N --jobs J -q` as its own process ``--repeat``
times (start-up included) and prints the median runs/s from the manifest's `elapsed_seconds` (what the
issue measures) and the median wall time. Then, unless ``--no-profile``,
runs the same command once in this process under cProfile and prints each
phase's share of the profiled time (cProfile's overhead included, so the
shares, not the seconds, are the figures to quote):

- imports: every module import (`importlib`'s `_find_and_load`, outermost
  calls; an import inside another phase, e.g. scipy at the first draw, counts
  in both);
- construction+spin-up: `ConflictModel.__init__` (the spin-up runs in it);
- step: `ConflictModel.run` without its events;
- events: `ConflictModel._apply_events` (of which leader removal);
- streaming/writing: `EnsembleStream.add` (runs.csv rows, spill, summaries)
  and the results folder's writes (`write_file`, `write_results`);
- verdicts: `hypothesis_table` (intervals, bootstrap, tests);
- posterior: `posterior_table` and reading the base runs back;
- other: the rest (CLI, scenario loading, folder checks, ...).

With ``--jobs`` above 1 the profile sees the parent only (the workers
simulate): use ``--jobs 1`` for the shares.

    PYTHONPATH=src .venv/bin/python benchmarks/end_to_end.py --runs 1000 20000 --jobs 1
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

PHASES: dict[str, tuple[tuple[str, str], ...]] = {
    "construction+spin-up": (("world.py", "__init__"),),
    "step (events excluded)": (("world.py", "run"),),
    "events": (("world.py", "_apply_events"),),
    "  of which leader removal": (("world.py", "_on_leader_removal"),),
    "streaming/writing": (
        ("stream.py", "add"),
        ("folder.py", "write_file"),
        ("writer.py", "write_results"),
    ),
    "verdicts": (("verdicts.py", "hypothesis_table"),),
    "posterior": (("posterior.py", "posterior_table"), ("api.py", "_base_runs")),
}


def negsim_command() -> list[str]:
    executable = Path(sys.executable).with_name("negsim")
    return [str(executable)] if executable.exists() else [sys.executable, "-m", "negsim.cli"]


def timed_run(
    scenario: str, runs: int, jobs: int, out: Path, quiet: bool = False
) -> tuple[float, float, int]:
    """One `negsim run` process: (manifest's elapsed seconds, wall seconds, total runs)."""
    shutil.rmtree(out, ignore_errors=True)
    started = time.perf_counter()
    command = [*negsim_command(), "run", scenario, "--runs", str(runs), "--jobs", str(jobs)]
    errors = subprocess.DEVNULL if quiet else None  # the warm-up's warnings (too few runs)
    subprocess.run([*command, "-q", "--out", str(out)], check=True, stderr=errors)
    wall = time.perf_counter() - started
    manifest = json.loads((out / "manifest.json").read_text())
    return float(manifest["elapsed_seconds"]), wall, runs * len(manifest["variants"])


def cumulative(stats: pstats.Stats, file: str, function: str) -> float:
    """Seconds inside negsim's ``function`` of ``file`` (outermost calls)."""
    return sum(
        cumtime
        for (path, _, name), (_, _, _, cumtime, _) in stats.stats.items()  # type: ignore[attr-defined]
        if name == function and path.endswith(f"/{file}") and "/negsim/" in path
    )


def profiled_run(scenario: str, runs: int, jobs: int, out: Path) -> None:
    """One run in this process under cProfile; prints each phase's share."""
    shutil.rmtree(out, ignore_errors=True)
    profile = cProfile.Profile()
    started = time.perf_counter()
    profile.enable()
    from negsim import cli  # the imports are part of what a user waits for

    arguments = ["run", scenario, "--runs", str(runs), "--jobs", str(jobs), "-q", "--out", str(out)]
    try:
        cli.main(arguments, standalone_mode=False)
    finally:
        profile.disable()
    total = time.perf_counter() - started
    stats = pstats.Stats(profile)
    imports = sum(
        cumtime
        for (path, _, name), (_, _, _, cumtime, _) in stats.stats.items()  # type: ignore[attr-defined]
        if name == "_find_and_load" and "importlib" in path
    )
    shares = {"imports": imports}
    for phase, functions in PHASES.items():
        shares[phase] = sum(cumulative(stats, file, name) for file, name in functions)
    shares["step (events excluded)"] -= shares["events"]
    counted = sum(v for k, v in shares.items() if not k.startswith("  "))
    shares["other"] = max(0.0, total - counted)
    print(f"  profiled: {total:.1f} s in all (cProfile's overhead included)")
    for phase, seconds in shares.items():
        print(f"  {phase:<28} {seconds:7.2f} s  {100 * seconds / total:5.1f} %")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default=str(ROOT / "scenarios" / "geneva3.yaml"))
    parser.add_argument("--runs", type=int, nargs="+", default=[1000, 20000])
    parser.add_argument("--jobs", type=int, nargs="+", default=[1])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-profile", action="store_true")
    arguments = parser.parse_args()
    print(f"python {sys.version.split()[0]}, load {os.getloadavg()[0]:.1f} at start")
    with tempfile.TemporaryDirectory(prefix="negsim-e2e-") as folder:
        out = Path(folder) / "results"
        # Not timed: the first run after an install compiles the kernels into numba's cache.
        timed_run(arguments.scenario, 20, 1, out, quiet=True)
        for runs in arguments.runs:
            for jobs in arguments.jobs:
                timings = [
                    timed_run(arguments.scenario, runs, jobs, out) for _ in range(arguments.repeat)
                ]
                total = timings[0][2]
                rates = [total / elapsed for elapsed, _, _ in timings]
                walls = [wall for _, wall, _ in timings]
                print(
                    f"--runs {runs} --jobs {jobs}: {total:,} runs; median "
                    f"{statistics.median(rates):,.0f} runs/s (manifest's elapsed; "
                    f"{', '.join(f'{r:,.0f}' for r in rates)}), wall median "
                    f"{statistics.median(walls):.1f} s ({', '.join(f'{w:.1f}' for w in walls)}); "
                    f"load {os.getloadavg()[0]:.1f}"
                )
                if not arguments.no_profile and jobs == 1:
                    profiled_run(arguments.scenario, runs, jobs, out)


if __name__ == "__main__":
    main()

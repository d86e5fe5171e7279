"""Sweep throughput against `negsim run`'s, wall time and peak memory (issue 12, item 9).

    .venv/bin/python benchmarks/sweep_throughput.py [--trajectories 10] [--runs 200] [--jobs 2]

Runs, each as its own process with start-up included:

1. `negsim sweep scenarios/geneva3.yaml` with Morris over the `uncertain`
   parameters (--trajectories trajectories, --runs replications per point
   and variant), measuring wall time, peak memory of the process tree
   (benchmarks/peak_memory.py's sampler) and runs per second;
2. `negsim run scenarios/geneva3.yaml` with as many runs in all (4 variants x
   the same total), for the throughput per run of the main job.

Prints both and their ratio (the issue asks for the sweep within 1.5x).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from peak_memory import tree_rss_kib  # noqa: E402


def measure(command: list[str]) -> tuple[float, int]:
    """Wall seconds and peak RSS (KiB) of the command's process tree."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    peak = 0
    while process.poll() is None:
        peak = max(peak, tree_rss_kib(process.pid))
        time.sleep(0.05)
    if process.returncode != 0:
        raise SystemExit(f"failed ({process.returncode}): {' '.join(command)}")
    return time.perf_counter() - started, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trajectories", type=int, default=10)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()

    sys.path.insert(0, str(ROOT / "src"))
    from negsim.sweep_api import plan_sweep

    scenario = str(ROOT / "scenarios" / "geneva3.yaml")
    plan = plan_sweep(scenario, "morris", args.trajectories, args.runs)
    negsim = str(Path(sys.executable).with_name("negsim"))
    with tempfile.TemporaryDirectory() as folder:
        sweep_wall, sweep_peak = measure(
            [negsim, "sweep", scenario, "-N", str(args.trajectories), "-n", str(args.runs)]
            + ["-j", str(args.jobs), "-q", "-o", f"{folder}/sweep"]
        )
        per_variant = plan.total_runs // len(plan.variants)
        run_wall, run_peak = measure(
            [negsim, "run", scenario, "--runs", str(per_variant), "-j", str(args.jobs), "-q"]
            + ["--out", f"{folder}/run"]
        )
    sweep_rate = plan.total_runs / sweep_wall
    run_rate = per_variant * 4 / run_wall
    print(
        f"sweep: Morris, {len(plan.factors)} parameters, {args.trajectories} trajectories, "
        f"{plan.points + 1} points x {len(plan.variants)} variants x {args.runs} runs = "
        f"{plan.total_runs:,} runs, {args.jobs} jobs"
    )
    print(f"  {sweep_wall:.1f} s wall, {sweep_rate:,.0f} runs/s, peak {sweep_peak / 1024:.0f} MiB")
    print(f"run:   {per_variant:,} runs x 4 variants, {args.jobs} jobs")
    print(f"  {run_wall:.1f} s wall, {run_rate:,.0f} runs/s, peak {run_peak / 1024:.0f} MiB")
    print(f"time per run, sweep / run: {run_rate / sweep_rate:.2f}x")


if __name__ == "__main__":
    main()

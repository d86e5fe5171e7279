"""Where the weekly step's time goes: cProfile of one ensemble run of geneva3.

    python benchmarks/profile_step.py [--replications 10000] [--numpy] [--top 25]

Builds and runs ConflictModel (the 26-week spin-up and the 47 weeks) once
to warm up (imports, the compiled kernels' load), then profiles one run of R
replications and prints the functions by own time and the model's stages
by cumulative time, as shares of the run. ``--numpy`` runs the fighting
stage's numpy reference instead of the compiled kernel. A compiled kernel's
time shows as its caller's own time (cProfile does not see into it).
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import time
from pathlib import Path

from negsim.model.world import ConflictModel
from negsim.scenario import load

SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "geneva3.yaml"

# The stages of the step (and of the spin-up, which runs 2-5), by function.
STAGES = {
    "construction and spin-up (ConflictModel.__init__)": ("world.py", "__init__"),
    "  of which spin-up": ("world.py", "_spin_up"),
    "stage 1, events (_apply_events)": ("world.py", "_apply_events"),
    "stage 2, supply (_supply)": ("world.py", "_supply"),
    "stage 3, fighting (_fight)": ("world.py", "_fight"),
    # The compiled kernel draws its noise itself: this row is the numpy path's.
    "  of which fighting noise draws (numpy path)": ("world.py", "_draw_fighting_noise"),
    "stage 4, beliefs (update_belief)": ("agents.py", "update_belief"),
    "stage 5, cohesion (update_cohesion)": ("agents.py", "update_cohesion"),
    "stage 6, talks (Talks.step)": ("talks.py", "step"),
    "recording (Recorder.record)": ("observations.py", "record"),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replications", type=int, default=10_000)
    parser.add_argument("--numpy", action="store_true", help="the numpy reference of fighting")
    parser.add_argument("--top", type=int, default=25, help="functions listed by own time")
    args = parser.parse_args()
    ConflictModel.compiled_step = not args.numpy
    scenario = load(SCENARIO).scenario
    ConflictModel(scenario, replications=50, seed=1).run()  # warm-up
    profile = cProfile.Profile()
    started = time.perf_counter()
    profile.enable()
    ConflictModel(scenario, replications=args.replications, seed=1).run()
    profile.disable()
    elapsed = time.perf_counter() - started
    stats = pstats.Stats(profile)
    total = sum(row[2] for row in stats.stats.values())  # type: ignore[attr-defined]
    print(
        f"geneva3, R = {args.replications}, fighting {'numpy' if args.numpy else 'compiled'}: "
        f"{elapsed:.2f} s under the profiler, {args.replications / elapsed:,.0f} replications/s"
    )
    print("\nstage                                              cumulative s  share")
    for label, (file, name) in STAGES.items():
        cumulative = sum(
            row[3]
            for (path, _, function), row in stats.stats.items()  # type: ignore[attr-defined]
            if path.endswith(file) and function == name
        )
        print(f"{label:<50} {cumulative:>12.3f}  {cumulative / elapsed:>5.1%}")
    print(f"\nfunctions by own time (of {total:.2f} s):")
    rows = sorted(stats.stats.items(), key=lambda item: -item[1][2])  # type: ignore[attr-defined]
    for (path, line, function), (_, calls, own, cumulative, _) in rows[: args.top]:
        where = f"{Path(path).name}:{line}({function})" if line else function
        print(
            f"  {own:7.3f} s own {own / elapsed:6.1%}  {cumulative:7.3f} s cum  {calls:>6}  {where}"
        )


if __name__ == "__main__":
    main()

"""CPU time of one step of `negsim explore`: the model's week and both figures redrawn.

Issue 24 asks for a step under 0.2 s. Speed is measured here, not in a timed
test (the machines are shared and their CPUs differ): the median CPU time
(process time, so a shared machine's other jobs count less) of `--steps`
steps of geneva3, each the model's week plus the map and the observables
drawn to PNG at 100 dpi, as the page draws them.

    .venv/bin/python benchmarks/explore_step.py [--steps 20]
"""

from __future__ import annotations

import argparse
import io
import statistics
import time
from pathlib import Path

SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "geneva3.yaml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20, help="steps measured [20]")
    parser.add_argument("--scenario", type=Path, default=SCENARIO, help="scenario [geneva3]")
    args = parser.parse_args()

    from negsim.explore import ExploreModel, map_figure, observables_figure

    model = ExploreModel(str(args.scenario))
    spent = []
    for _ in range(args.steps):
        start = time.process_time()
        model.step()
        for figure in (map_figure(model), observables_figure(model)):
            figure.savefig(io.BytesIO(), format="png", dpi=100)
        spent.append(time.process_time() - start)
    print(
        f"{args.scenario.name}: {args.steps} steps, CPU per step median "
        f"{statistics.median(spent) * 1000:.0f} ms (min {min(spent) * 1000:.0f}, "
        f"max {max(spent) * 1000:.0f})"
    )


if __name__ == "__main__":
    main()

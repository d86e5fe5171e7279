"""What the compiled kernels cost at start-up: first run (compilation) and later runs (cache).

    python benchmarks/compile_time.py [--repeats 3]

Clears numba's on-disk cache of negsim's kernels, then times, each in a
fresh process: importing numba; the first geneva3 model (R = 10, built
and run to the end, so that every kernel is called) with an empty cache,
which compiles the kernels and writes the cache; and the same with the
cache written, which only loads them. The
last is what every process of a run pays (a forked worker inherits what its
parent has loaded); compilation is paid once per install. Medians of the
repeats. The cache is left written.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

import negsim.model

ROOT = Path(__file__).resolve().parents[1]

CHILD = """
import json, time
started = time.perf_counter()
import numba
imported = time.perf_counter()
from pathlib import Path
from negsim.model.world import ConflictModel
from negsim.scenario import load
import scipy.stats  # what a run imports late (a drawn successor's ppf): not numba's cost
scenario = load(Path({scenario!r})).scenario
built = time.perf_counter()
ConflictModel(scenario, replications=10, seed=1).run()
first = time.perf_counter()
ConflictModel(scenario, replications=10, seed=1).run()
second = time.perf_counter()
print(json.dumps({{"import numba": imported - started, "first model": first - built,
                  "second model": second - first}}))
"""


def cache_files() -> list[Path]:
    """numba's cache files of negsim's kernels (next to their modules, the default).

    Every stage's module with a compiled kernel (fighting, coalition,
    patrons, talks) and `negsim.model.compiled`, the primitives they share.
    """
    folder = Path(negsim.model.__file__).parent / "__pycache__"
    return [p for p in folder.glob("*.*") if p.suffix in (".nbi", ".nbc")]


def measure() -> dict[str, float]:
    code = CHILD.format(scenario=str(ROOT / "scenarios" / "geneva3.yaml"))
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    cold, warm = [], []
    for _ in range(args.repeats):
        for path in cache_files():
            path.unlink()
        cold.append(measure())
        warm.append(measure())
    for label, rows in (("empty cache (compiles)", cold), ("cache written (loads)", warm)):
        medians = {key: statistics.median(row[key] for row in rows) for key in rows[0]}
        print(
            f"{label}: import numba {medians['import numba']:.2f} s, first model "
            f"{medians['first model']:.2f} s, second model {medians['second model']:.3f} s "
            f"(medians of {args.repeats})"
        )


if __name__ == "__main__":
    main()

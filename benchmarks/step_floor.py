"""What the compiled fighting stage costs per replication-week, and what of it cannot go.

    python benchmarks/step_floor.py [--replications 10000] [--repeats 20]

Builds geneva3 at R replications, runs ten weeks, captures the inputs of the
eleventh week's `fighting.fight_week_compiled`, and times on one core (medians of the
repeats, in microseconds per replication-week):

- the whole fighting kernel on those inputs (its draws included);
- its 54 standard normals alone (`compiled.standard_normals`: numpy's
  PCG64 and ziggurat, the same bits as `Generator.standard_normal`, which is
  timed too);
- the log-normal shocks' 54 `exp` alone (libm's, as the kernel calls it).

The draws and the exps are what a kernel giving the same numbers cannot
drop; the script prints the ceiling they alone put on replications/s for
geneva3's 73 fighting weeks (26 of spin-up and 47 of the calendar).
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numba
import numpy as np

from negsim.model import compiled, fighting
from negsim.model.world import ConflictModel
from negsim.scenario import load

SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "geneva3.yaml"


@numba.njit
def _shocks(noise: np.ndarray, sigma: float, out: np.ndarray) -> None:
    drift = 0.5 * (sigma * sigma)
    for i in range(noise.shape[0]):
        out[i] = np.exp(sigma * noise[i] - drift)


def _median_seconds(call, repeats: int) -> float:
    call()  # warm-up (compilation, caches)
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replications", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    size = args.replications
    scenario = load(SCENARIO).scenario
    model = ConflictModel(scenario, replications=size, seed=1)
    for _ in range(10):
        model.step()
    captured: list[object] = []
    kernel = fighting.fight_week_compiled

    def capture(*arguments: object) -> None:
        captured.extend(a.copy() if isinstance(a, np.ndarray) else a for a in arguments)
        kernel(*arguments)

    fighting.fight_week_compiled = capture
    try:
        model.step()
    finally:
        fighting.fight_week_compiled = kernel
    streams = model.control.shape[1] * model.control.shape[2]
    weeks = model.spinup_weeks + model.weeks

    def fight() -> None:
        kernel(*(a.copy() if isinstance(a, np.ndarray) else a for a in captured))

    copies = _median_seconds(
        lambda: [a.copy() for a in captured if isinstance(a, np.ndarray)], args.repeats
    )
    fight_seconds = _median_seconds(fight, args.repeats) - copies
    states = compiled.pcg64_states(model._noise_generators)
    buffer = np.empty((streams, size))
    draws = _median_seconds(lambda: compiled.standard_normals(states, buffer), args.repeats)
    generators = [np.random.Generator(np.random.PCG64(k)) for k in range(streams)]

    def numpy_draws() -> None:
        for row, generator in zip(buffer, generators, strict=True):
            generator.standard_normal(out=row)

    numpy_draws_seconds = _median_seconds(numpy_draws, args.repeats)
    flat = buffer.reshape(-1).copy()
    out = np.empty_like(flat)
    exps = _median_seconds(lambda: _shocks(flat, 0.25, out), args.repeats)

    def per_replication_week(seconds: float) -> float:
        return seconds / size * 1e6

    print(f"geneva3, R = {size:,}: {streams} noise streams, {weeks} fighting weeks")
    rows = [
        ("fight_week_compiled, whole (its draws included)", fight_seconds),
        (f"  its {streams} standard normals (compiled.standard_normals)", draws),
        (
            f"  the same from numpy (Generator.standard_normal, {streams} blocks)",
            numpy_draws_seconds,
        ),
        (f"  its {streams} exp of the shocks", exps),
    ]
    for label, seconds in rows:
        print(f"{label:<68} {per_replication_week(seconds):6.3f} us per replication-week")
    floor = per_replication_week(draws + exps) * weeks
    print(
        f"draws and exps alone: {floor:.1f} us per replication, a ceiling of "
        f"{1e6 / floor:,.0f} replications/s for the fighting stage with nothing else"
    )


if __name__ == "__main__":
    main()

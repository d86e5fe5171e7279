"""What the compiled fighting stage costs per replication-week, and what of it cannot go.

    python benchmarks/step_floor.py [--replications 10000] [--repeats 20]

Builds geneva3 at R replications, runs ten weeks, captures the inputs of the
eleventh week's `fighting.fight_week_compiled`, and times on one core (medians of the
repeats, in microseconds per replication-week):

- the whole fighting kernel on those inputs (its draws included);
- its 54 standard normals alone (`compiled.standard_normals`: numpy's
  PCG64 and ziggurat, the same bits as `Generator.standard_normal`, which is
  timed too);
- the log-normal shocks' 54 `exp` alone (libm's, as the kernel calls it);
- the kernel on the same inputs with the contest's decisiveness m = 1
  everywhere, which skips its powers ``x ** m`` (`fighting.tullock_shares`;
  geneva3 draws m per run), to see what they cost in place; and how many
  of the 54 efforts are positive (only those are powered).

The draws and the exps are what a kernel giving the same numbers cannot
drop; the script prints the ceiling they alone put on
replications/s for geneva3's fighting weeks (the spin-up the model used,
`spinup_used`, and the calendar's weeks), and the ceiling of the whole
kernel as it is.
"""

from __future__ import annotations

import argparse
import inspect
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
    # What a replication fights: the spin-up as far as it ran (it stops once settled,
    # `spinup_weeks` is only its maximum) and the calendar.
    weeks = model.spinup_used + model.weeks
    names = list(inspect.signature(kernel.py_func).parameters)
    shares = captured[names.index("shares_out")]
    assert isinstance(shares, np.ndarray)
    positive = float((shares > 0).sum(axis=(1, 2)).mean())
    linear = list(captured)
    linear[names.index("decisiveness")] = np.ones_like(captured[names.index("decisiveness")])

    def fight() -> None:
        kernel(*(a.copy() if isinstance(a, np.ndarray) else a for a in captured))

    def fight_linear() -> None:
        kernel(*(a.copy() if isinstance(a, np.ndarray) else a for a in linear))

    copies = _median_seconds(
        lambda: [a.copy() for a in captured if isinstance(a, np.ndarray)], args.repeats
    )
    fight_seconds = _median_seconds(fight, args.repeats) - copies
    linear_seconds = _median_seconds(fight_linear, args.repeats) - copies
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

    print(
        f"geneva3, R = {size:,}: {streams} noise streams, {weeks} fighting weeks "
        f"({model.spinup_used} of spin-up, {model.weeks} of the calendar); "
        f"{positive:.1f} of the {streams} efforts positive on average"
    )
    rows = [
        ("fight_week_compiled, whole (its draws included)", fight_seconds),
        (f"  its {streams} standard normals (compiled.standard_normals)", draws),
        (
            f"  the same from numpy (Generator.standard_normal, {streams} blocks)",
            numpy_draws_seconds,
        ),
        (f"  its {streams} exp of the shocks", exps),
        ("the same kernel with m = 1 (no powers x ** m)", linear_seconds),
    ]
    for label, seconds in rows:
        print(f"{label:<68} {per_replication_week(seconds):6.3f} us per replication-week")
    floor = per_replication_week(draws + exps) * weeks
    print(
        f"draws and exps alone: {floor:.1f} us per replication, a ceiling of "
        f"{1e6 / floor:,.0f} replications/s for the fighting stage with nothing else"
    )
    whole = per_replication_week(fight_seconds) * weeks
    print(
        f"the kernel as it is: {whole:.1f} us per replication, a ceiling of "
        f"{1e6 / whole:,.0f} replications/s for the fighting stage alone"
    )


if __name__ == "__main__":
    main()

"""How long `negsim plot` and `negsim report` take on a results folder, and where the time goes.

    python benchmarks/plot_report.py RESULTS_DIR [--repeat 5] [--no-phases]

End to end: each repetition copies RESULTS_DIR (without its figures and
report) to a scratch folder and runs, as the user would, ``negsim plot``,
``negsim plot`` again (which reuses the figures it drew), then ``negsim
report`` (which embeds the figures plot drew), then ``negsim report`` on a
fresh copy without figures (which draws them itself). Each
command's wall time and CPU time (user + system of the child) are printed
with their medians. The CPU time is what one core spends; on a loaded
machine the wall time is longer, so the load average is printed too.

Phases (one in-process drawing of every figure, in one process (`jobs=1`),
caches empty): imports,
checking the files, reading the scenario, and per figure building the
artists, the constrained layout, rendering and PNG encoding, timed by
wrapping the matplotlib and PIL calls that do each; in CPU seconds
(``time.process_time``), which a loaded machine stretches much less than
wall time. Each figure's own total is split into the same four phases
(build / layout / render / PNG; a figure laid out in inches has no layout
phase), so the figure to work on next is the one printed largest.

Make the default run's results with
``negsim run scenarios/geneva3.yaml -q --out /tmp/plots-geneva3``.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

# The `negsim` script beside this Python, as a user runs it: the command's start-up
# (signal handlers, the collector held off while it imports) is only set up for it.
_SCRIPT = Path(sys.executable).with_name("negsim")
NEGSIM = (
    [sys.executable, str(_SCRIPT)]
    if _SCRIPT.is_file()
    else [sys.executable, "-c", "from negsim.cli import main; main()"]
)


def _copy(results: Path, into: Path) -> Path:
    """RESULTS without the folders negsim plot and report write into it."""
    target = into / results.name
    shutil.copytree(results, target, ignore=shutil.ignore_patterns("figures", "report"))
    return target


def _timed(args: list[str]) -> tuple[float, float]:
    """(wall s, CPU s of the child) of one command; it must succeed."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run([*NEGSIM, *args], check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def end_to_end(results: Path, repeat: int) -> None:
    times: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as scratch:
            folder = _copy(results, Path(scratch) / "a")
            times["negsim plot"].append(_timed(["plot", str(folder), "-q"]))
            times["negsim plot (again: reused)"].append(_timed(["plot", str(folder), "-q"]))
            times["negsim report (plot's figures)"].append(_timed(["report", str(folder), "-q"]))
            bare = _copy(results, Path(scratch) / "b")
            times["negsim report (draws them)"].append(_timed(["report", str(bare), "-q"]))
    print(f"end to end, {repeat} runs each (load average {os.getloadavg()[0]:.1f} at the end):")
    for name, rows in times.items():
        walls = " ".join(f"{w:.2f}" for w, _ in rows)
        cpus = " ".join(f"{c:.2f}" for _, c in rows)
        print(
            f"  {name:32s} wall median {statistics.median(w for w, _ in rows):5.2f} s ({walls})"
            f"\n  {'':32s} CPU  median {statistics.median(c for _, c in rows):5.2f} s ({cpus})"
        )


class _Clock:
    """Seconds spent inside wrapped functions, by phase, each call's nested phases taken out."""

    def __init__(self) -> None:
        self.spent: dict[str, float] = defaultdict(float)
        self.by_figure: dict[tuple[str, str], float] = defaultdict(float)
        self.figure = ""  # the figure being drawn, "" between figures
        self._nested: list[float] = []  # per open call: seconds of the timed calls inside it

    def wrap(self, owner: Any, name: str, phase: str) -> None:
        original: Callable[..., Any] = getattr(owner, name)

        def timed(*args: Any, **kwargs: Any) -> Any:
            self._nested.append(0.0)
            started = time.process_time()
            try:
                return original(*args, **kwargs)
            finally:
                elapsed = time.process_time() - started
                own = elapsed - self._nested.pop()
                self.spent[phase] += own
                self.by_figure[(self.figure, phase)] += own
                if self._nested:
                    self._nested[-1] += elapsed

        setattr(owner, name, timed)

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        started = time.process_time()
        yield
        self.spent[name] += time.process_time() - started


def phases(results: Path) -> None:
    started = time.process_time()
    import matplotlib  # noqa: F401

    import negsim.cli  # noqa: F401
    import negsim.plots as plots

    imports = time.process_time() - started
    import matplotlib.layout_engine as layout_engine
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from PIL import Image

    with tempfile.TemporaryDirectory() as scratch:
        folder = _copy(results, Path(scratch))
        clock = _Clock()
        clock.wrap(layout_engine.ConstrainedLayoutEngine, "execute", "layout (constrained)")
        clock.wrap(Image.Image, "save", "PNG encoding")
        clock.wrap(FigureCanvasAgg, "draw", "rendering (Agg)")
        clock.wrap(Figure, "clear", "clearing figures")
        clock.wrap(plots, "open_results", "checking the files (manifest)")
        clock.wrap(plots, "scenario_of", "reading the scenario")
        for name in ("_fan", "_verdicts", "_differences", "_outcomes", "_territory", "_talks"):
            clock.wrap(plots, name, "building the figures (data, artists)")
        clock.wrap(plots, "posterior_figure", "building the figures (data, artists)")
        per_figure = _Clock()
        render_one = plots._render_one

        def by_figure(build: Any, where: str, what: str, *args: Any, **kwargs: Any) -> Any:
            clock.figure = what
            try:
                with per_figure.phase(what):
                    return render_one(build, where, what, *args, **kwargs)
            finally:
                clock.figure = ""

        plots._render_one = by_figure
        with clock.phase("total"):
            plots.plot_results(folder, jobs=1)  # one process, so that every phase is timed here
        plots._render_one = render_one
    total = clock.spent.pop("total")
    print(
        f"phases of one in-process `negsim plot`, as the command runs, CPU s (total {total:.2f}):"
    )
    print(f"  {'imports (before the total)':40s} {imports:5.2f} s")
    for name, spent in sorted(clock.spent.items(), key=lambda item: -item[1]):
        print(f"  {name:40s} {spent:5.2f} s  {100 * spent / total:4.1f} %")
    rest = total - sum(clock.spent.values())
    print(f"  {'the rest (tables, figure folder)':40s} {rest:5.2f} s  {100 * rest / total:4.1f} %")
    print("  by figure (all its phases; then build / layout / render / PNG):")
    for name, spent in per_figure.spent.items():
        parts = " / ".join(
            f"{clock.by_figure[(name, phase)]:4.2f}"
            for phase in (
                "building the figures (data, artists)",
                "layout (constrained)",
                "rendering (Agg)",
                "PNG encoding",
            )
        )
        print(f"    {name:38s} {spent:5.2f} s  ({parts})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path, help="a results folder written by `negsim run`")
    parser.add_argument("--repeat", type=int, default=5, help="runs of each command (0: none)")
    parser.add_argument("--no-phases", action="store_true", help="only the end-to-end times")
    args = parser.parse_args()
    if not (args.results / "manifest.json").is_file():
        parser.error(f"{args.results}: not a results folder (no manifest.json)")
    if not args.no_phases:
        phases(args.results)
    if args.repeat:
        end_to_end(args.results, args.repeat)


if __name__ == "__main__":
    main()

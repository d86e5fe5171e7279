"""The `negsim` command line. Commands parse arguments and report; no simulation logic.

Exit status: 0 success, 1 bad scenario, data or file system (one line per
problem, no traceback), 2 bad usage, 130 interrupted (SIGINT, SIGTERM or
SIGHUP, at any moment).

Start-up is kept light: this module imports click and the standard library
only; each command imports what it needs when it runs, so `negsim --help`,
`--version` and `validate` never load numba, Mesa, scipy or matplotlib.
"""

from __future__ import annotations

import gc
import os
import signal
import sys

_STOP_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)
"""The signals that end negsim with exit status 130."""
INTERRUPTED = 130


def _end_at_once(signum: int, frame: object) -> None:
    # Start-up (imports, arguments, loading) has nothing to clean up: end now, in one
    # line, wherever the signal lands (a KeyboardInterrupt raised inside a module being
    # imported would end in a traceback).
    os.write(2, b"Interrupted: nothing written.\n")
    os._exit(INTERRUPTED)


def _started_as_command() -> bool:
    """Whether this process is the `negsim` command (not a program importing negsim)."""
    name = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    return __name__ == "__main__" or name.split(".")[0].removesuffix("-script") == "negsim"


# First thing, before click and every heavy import: the command's handlers. A program
# that imports negsim.cli (a test, a notebook) keeps its own.
_SPAWNED = any(
    arg == "--multiprocessing-fork" or arg.startswith("from multiprocessing.")
    for arg in getattr(sys, "orig_argv", ())
)
AS_COMMAND = not _SPAWNED and _started_as_command()
if _SPAWNED:
    # A worker process the command started afresh (multiprocessing's spawn re-runs this
    # script first of all, with the command's argv: Dask's local workers): a terminal's
    # Ctrl-C reaches the whole process group, and only negsim itself acts on it, by
    # stopping its workers.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
elif AS_COMMAND:
    for _signum in _STOP_SIGNALS:
        signal.signal(_signum, _end_at_once)
    # No cyclic collection while the command imports (pandas, matplotlib, pydantic's
    # schemas): they make few cycles and many objects, which the collector would walk a
    # few hundred times (0.25 s of `negsim plot`'s start). `_interruptible` turns it back
    # on; the commands that never reach it (validate, schema, new, explore's parent) are
    # short or wait on a child.
    gc.disable()

import contextlib  # noqa: E402
import errno  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import threading  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any, NoReturn  # noqa: E402

import click  # noqa: E402

from negsim import __version__, interrupts  # noqa: E402
from negsim.errors import NegsimError, NegsimWarning, ScenarioError, UsageError  # noqa: E402
from negsim.run.executors import EXECUTORS  # noqa: E402  (light: no model, no Dask)


def _raise_interrupt(signum: int, frame: object) -> None:
    # Noted as well as raised: a library that swallows the raise (pydantic's serializer
    # does) must not make negsim carry on; its work loops and commits check the note.
    interrupts.note()
    raise KeyboardInterrupt


# The modules a simulating command imports later (the draws' quantiles, the verdicts'
# tests), imported while a signal still ends the process at once.
SIMULATION_IMPORTS = ("scipy.stats",)
COMPARE_IMPORTS = (*SIMULATION_IMPORTS, "statsmodels.stats.proportion")


def _interruptible(imports: tuple[str, ...] = ()) -> None:
    """From here on SIGINT, SIGTERM and SIGHUP raise KeyboardInterrupt.

    Called by a command just before it starts work that must be undone when
    interrupted (a lock, a staging folder, worker processes): the work cleans
    up on its way out and the command exits 130 with its own line.
    ``imports`` are imported first, while a signal still ends the process at
    once: a KeyboardInterrupt raised inside a module's import comes out as an
    ImportError, which a library's fallback import may swallow (scipy's do), and
    the command would go on as if nothing had been asked (seen in CI).
    """
    import importlib

    for name in imports:
        importlib.import_module(name)
    if AS_COMMAND and not gc.isenabled():
        # What is loaded by now lives as long as the command: frozen, later collections
        # skip it (and forked workers share its pages instead of copying them).
        gc.freeze()
        gc.enable()
    if threading.current_thread() is not threading.main_thread():
        return  # signal handlers can only be set from the main thread (e.g. a test's thread)
    # Not cleared here: `run --plot` comes here twice, and a signal noted in between
    # (its raise swallowed) must still stop the plot. `_Group.main` clears it.
    for signum in _STOP_SIGNALS:
        signal.signal(signum, _raise_interrupt)
    if AS_COMMAND:
        sys.unraisablehook = _redeliver_interrupt


def _from_interrupt(error: BaseException) -> bool:
    """Whether ``error`` came from an interrupt (an ImportError raised by one inside an import)."""
    seen: set[int] = set()
    cause: BaseException | None = error
    while cause is not None and id(cause) not in seen:
        if isinstance(cause, KeyboardInterrupt):
            return True
        seen.add(id(cause))
        cause = cause.__cause__ or cause.__context__
    return False


def _redeliver_interrupt(unraisable: Any) -> None:
    # A KeyboardInterrupt raised where Python cannot propagate it (a gc callback, a
    # __del__) is only printed ("Exception ignored") and the command would go on: deliver
    # it again, to wherever the main thread is next. From another thread, a moment
    # later: this hook runs in the main thread, where interrupt_main() would raise at
    # once, inside the hook, and be swallowed again (seen under load in CI).
    global _redelivered
    if isinstance(unraisable.exc_value, KeyboardInterrupt) and _redelivered < 10:
        import _thread

        _redelivered += 1
        raised = interrupts.raised()

        def redeliver() -> None:
            # Unless it was raised meanwhile (a check saw the note): a second one would
            # land in the cleanup the first has started.
            if interrupts.raised() == raised:
                _thread.interrupt_main()

        timer = threading.Timer(0.01, redeliver)
        timer.daemon = True
        timer.start()
        return
    sys.__unraisablehook__(unraisable)


_redelivered = 0


def _end_while_exiting(signum: int, frame: object) -> None:
    # The command has finished (its output printed, its files written or not) and the
    # process is exiting: Dask and multiprocessing close in exit hooks, where an
    # exception would be printed and lost. End at once, in one line.
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os.write(2, b"Interrupted while exiting (the command itself had finished).\n")
    os._exit(INTERRUPTED)


def _exit_interrupted(message: str = "Interrupted.") -> NoReturn:
    """Print negsim's one line for an interrupt and exit 130; later signals are ignored."""
    if threading.current_thread() is threading.main_thread():
        for signum in _STOP_SIGNALS:
            signal.signal(signum, signal.SIG_IGN)  # a second Ctrl-C must not cut this short
    click.echo(message, err=True)
    sys.exit(INTERRUPTED)


def _short_path(text: str) -> str:
    """A path as one readable line: long ones cut in the middle, with their length."""
    if len(text) <= 100:
        return text
    return f"{text[:50]}...{text[-40:]} ({len(text)} characters)"


def _fail_os(error: OSError) -> NoReturn:
    """A file-system failure nothing below turned into negsim's message: one line, exit 1."""
    where = _short_path(os.fsdecode(error.filename)) if error.filename is not None else ""
    reason = error.strerror or str(error)
    if error.errno == errno.ENAMETOOLONG:
        reason += (
            " (longer than the file system allows for a path or one of its names); "
            "choose a shorter path"
        )
    click.echo(f"{where}: {reason}" if where else f"error: {reason}", err=True)
    sys.exit(1)


def _show_warning(
    message: Warning | str, category: type[Warning], *args: Any, **kwargs: Any
) -> None:
    # negsim's own warnings are for the user: one line each, without Python's source line.
    if issubclass(category, NegsimWarning):
        click.echo(f"warning: {message}", err=True)
    else:
        _python_show_warning(message, category, *args, **kwargs)


_python_show_warning = warnings.showwarning


class _Group(click.Group):
    def main(self, *args: Any, **kwargs: Any) -> Any:
        # (click itself ends quietly when a reader of our output goes away, EPIPE.)
        warnings.showwarning = _show_warning
        warnings.filterwarnings("always", category=NegsimWarning)
        in_main_thread = threading.current_thread() is threading.main_thread()
        saved = {signum: signal.getsignal(signum) for signum in _STOP_SIGNALS}
        if in_main_thread:
            interrupts.clear()  # a signal an earlier command in this process noted is not ours
        try:
            return super().main(*args, **kwargs)
        finally:
            if AS_COMMAND and in_main_thread:
                # The command has said what it had to: what libraries log while the
                # process exits (Dask reaping its workers) is noise under negsim's line.
                logging.disable(logging.CRITICAL)
                sys.unraisablehook = sys.__unraisablehook__
                for signum in _STOP_SIGNALS:
                    signal.signal(signum, _end_while_exiting)
            elif in_main_thread:  # a program calling main() keeps its handlers
                for signum, handler in saved.items():
                    signal.signal(signum, handler)
                interrupts.clear()  # and its own calls into negsim never see our note

    # An interrupt anywhere in parsing or in a command, and a file-system error nothing
    # below reported, end here in negsim's one line, before click's `Aborted!` (exit 1)
    # or a traceback.
    def make_context(self, *args: Any, **kwargs: Any) -> click.Context:
        try:
            return super().make_context(*args, **kwargs)
        except KeyboardInterrupt:
            _exit_interrupted("Interrupted: nothing written.")

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            _exit_interrupted()
        except ImportError as error:
            if _from_interrupt(error):
                _exit_interrupted()
            raise
        except OSError as error:
            if error.errno == errno.EPIPE:
                raise  # click's own quiet exit
            _fail_os(error)


def _check(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    """Check an option by the Python API's rule, so both give the same message."""
    if value is None:
        return None
    from negsim.api import check_argument
    from negsim.errors import UsageError

    try:
        return check_argument(str(param.name), value)
    except UsageError as error:
        raise click.BadParameter(str(error).split(": ", 1)[1]) from None


def _check_runs(ctx: click.Context, param: click.Parameter, value: str | None) -> int | str | None:
    """`--runs`: a whole number in range, or `auto`."""
    if value is None or value.strip().lower() == "auto":
        return None if value is None else "auto"
    try:
        number = int(value)
    except ValueError:
        raise click.BadParameter(
            f"must be a whole number from 1 to 1000000, or auto (got {value!r})"
        ) from None
    return _check(ctx, param, number)


# Where chunks run: shared by `run` and `sweep` (docs/scaling.md).
EXECUTOR_OPTION = click.option(
    "--executor",
    type=click.Choice(EXECUTORS),
    default="processes",
    show_default=True,
    help="Where chunks run: this process (serial), --jobs processes of this machine, "
    "or a Dask cluster (dask; needs `pip install 'negsim[dask]'`). Same bytes on each.",
)
SCHEDULER_OPTION = click.option(
    "--scheduler",
    metavar="tcp://HOST:PORT",
    help="With --executor dask: the running Dask scheduler to use [default: start a local "
    "cluster of --jobs workers].",
)


def _check_scheduler(executor: str, scheduler: str | None) -> None:
    if scheduler and executor != "dask":
        raise click.UsageError("--scheduler: only with --executor dask")


def _fail(error: NegsimError) -> None:
    """Print a user-facing error, one line per problem, and exit 1."""
    for line in str(error).splitlines():
        click.echo(line, err=True)
    if isinstance(error, ScenarioError):
        count = len(error.problems)
        click.echo(f"{count} problem{'s' if count != 1 else ''} found.", err=True)
    sys.exit(1)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="negsim")
def main() -> None:
    """negsim: simulate wars and peace talks to test causal claims.

    A scenario file (YAML) describes actors, regions, dated events, the
    counterfactual variants to compare and the hypotheses to test. Typical use:

    \b
      negsim new my-conflict                   # a commented starter scenario
      negsim validate scenarios/geneva3.yaml   # check a scenario, file:line errors
      negsim run scenarios/geneva3.yaml        # ensembles, CSVs, verdicts
      negsim plot results/geneva3              # figures from the CSVs
      negsim compare A.yaml B.yaml             # theories judged on the record

    Run `negsim COMMAND --help` for each command.
    """


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--strict", is_flag=True, help="Treat warnings (e.g. overlapping rounds) as problems (exit 1)."
)
def validate(files: tuple[Path, ...], strict: bool) -> None:
    """Check scenario FILES; print every problem as FILE:LINE: field: message.

    Each file is loaded as `negsim run` would load it, with its `extends`
    chain and every variant applied. Warnings (something that validates but
    may not do what you meant, such as overlapping rounds) are printed as
    FILE:LINE: field: warning: message and do not change the exit status
    unless --strict. Exit status 1 if any file has a problem.
    """
    from negsim.scenario import load

    failed = 0
    for file in files:
        try:
            scenario_file = load(file)
        except ScenarioError as error:
            failed += 1
            for problem in error.problems:
                click.echo(str(problem), err=True)
            continue
        for warning in scenario_file.warnings:
            where = f"{warning.file}:{warning.line}" if warning.line is not None else warning.file
            field = f" {warning.path}:" if warning.path else ""
            click.echo(f"{where}:{field} warning: {warning.message}", err=True)
        if strict and scenario_file.warnings:
            failed += 1
            continue
        scenario = scenario_file.scenario
        click.echo(
            f"{file}: ok ({scenario.name}: {len(scenario.actors)} actors, "
            f"{len(scenario.regions)} regions, {len(scenario.events)} events, "
            f"{len(scenario_file.variants) - 1} variants, {len(scenario.hypotheses)} hypotheses)"
        )
    if failed:
        click.echo(f"{failed} of {len(files)} file(s) have problems.", err=True)
        sys.exit(1)


@main.command()
def schema() -> None:
    """Print the JSON Schema of the scenario format.

    Save it and point your editor at it for completion and checking, e.g. with
    the YAML language server put this first line in a scenario file:

    \b
      # yaml-language-server: $schema=negsim-scenario.schema.json
    """
    from negsim.scenario.schema import Scenario

    document = Scenario.model_json_schema()
    document["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    document["title"] = "negsim scenario"
    click.echo(json.dumps(document, indent=2, default=str))


@main.command()
@click.argument("name")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="File to write (default: NAME.yaml in the current folder). Never replaced if it exists.",
)
def new(name: str, out: Path | None) -> None:
    """Write a commented starter scenario NAME.yaml that validates and runs.

    It has every section (actors, leaders with a named successor, regions,
    events with a negotiation round, variants, hypotheses, observed,
    uncertain), each commented, for a fictional conflict to replace with
    yours. NAME may hold hyphens (the scenario's `name` has `_` for them)
    and be a path (`negsim new scenarios/my-variant`). An existing file is
    never replaced (exit 1).
    """
    from negsim.scenario.starter import write_starter

    try:
        path, scenario = write_starter(name, out)
    except UsageError as error:
        raise click.UsageError(str(error)) from None
    except NegsimError as error:
        _fail(error)
    click.echo(f"{path}: written (scenario {scenario!r}); next: negsim validate {path}")


@main.command()
@click.argument("scenario", type=click.Path(path_type=Path))
@click.option(
    "--runs",
    "-n",
    callback=_check_runs,
    help="Replications per variant, 1 to 1000000, or `auto`: add whole chunks until every "
    "verdict is decided against its smallest effect (up to experiment.auto_max_runs) "
    "[default: the scenario's experiment.runs].",
)
@click.option(
    "--seed",
    type=int,
    callback=_check,
    help="Master seed, 0 or more [default: the scenario's experiment.seed].",
)
@click.option(
    "--out",
    "-o",
    type=click.Path(path_type=Path),
    help="Results folder [default: results/<scenario name>].",
)
@click.option(
    "--given-record",
    is_flag=True,
    help="Require the verdicts on the worlds that reproduce the scenario's `observed` record "
    "(fails when fewer than 30 base runs do). They are computed whenever the scenario has one.",
)
@click.option(
    "--variant",
    "-v",
    "variants",
    multiple=True,
    help="Run only this variant (repeatable; `base` is the scenario as written) [default: all].",
)
@click.option(
    "--jobs",
    "-j",
    type=int,
    callback=_check,
    help="Worker processes; more than the cores is slower [default: all cores].",
)
@click.option(
    "--confidence",
    type=float,
    callback=_check,
    help="Confidence level of the verdicts' intervals [default: the scenario's, 0.95].",
)
@click.option(
    "--at-values",
    is_flag=True,
    help="Run at the values the scenario writes. Default: each run draws its values of the "
    "scenario's `uncertain` paths from their distributions (the same draw for its base and "
    "every variant), so the verdicts cover those assumptions.",
)
@EXECUTOR_OPTION
@SCHEDULER_OPTION
@click.option(
    "--runs-format",
    type=click.Choice(("csv", "parquet")),
    default="csv",
    show_default=True,
    help="The per-run table as runs.csv or runs.parquet (typed columns, full precision, "
    "compressed; for a million runs or more). negsim plot and report read either.",
)
@click.option(
    "--keep-series",
    is_flag=True,
    help="Also write every run's weekly series (series.parquet; large: about 4.4 KB per "
    "run and variant for geneva3). Without it they are summarised in timeseries.csv and not kept.",
)
@click.option(
    "--wait",
    is_flag=True,
    help="If another run is writing the same results folder, wait for it instead of failing.",
)
@click.option(
    "--plot", "plot_after", is_flag=True, help="Draw the figures (as `negsim plot`) after the run."
)
@click.option(
    "--quiet", "-q", is_flag=True, help="No progress bar and no verdict table; errors only."
)
@click.option(
    "--verbose",
    is_flag=True,
    help="Also print every verdict as a full sentence (always in hypotheses.md).",
)
def run(
    scenario: Path,
    runs: int | str | None,
    seed: int | None,
    out: Path | None,
    given_record: bool,
    variants: tuple[str, ...],
    jobs: int | None,
    confidence: float | None,
    at_values: bool,
    executor: str,
    scheduler: str | None,
    keep_series: bool,
    runs_format: str,
    wait: bool,
    plot_after: bool,
    quiet: bool,
    verbose: bool,
) -> None:
    """Simulate SCENARIO's base and variants as ensembles, test its hypotheses, write results.

    Writes runs.csv, timeseries.csv, hypotheses.csv, hypotheses.md,
    events.csv, patterns.csv, posterior.csv (with conditioning patterns) and
    manifest.json (see docs/results.md) into the
    results folder, replacing negsim's earlier files only once every new one
    is complete; files negsim did not write (notes) stay, and figures or a
    report negsim drew from the earlier results go with them. The folder is
    checked and locked before the simulation starts. Prints one line per
    hypothesis and metric: verdict, effect (treatment minus control over
    paired replications) with its bootstrap interval, the smallest effect
    that matters, Holm's p against it, and caveats; --verbose adds the full
    sentences (always in hypotheses.md).

    By default each run draws its values of the scenario's `uncertain` paths
    from their distributions, the same draw for its base and every variant (a
    path a variant sets keeps the variant's value); runs.csv has them as
    input.<path> columns. --at-values runs at the written values instead.

    The same scenario and seed give byte-identical CSV files whatever --jobs
    and --executor. Chunks are written as they finish: memory does not grow
    with --runs (docs/scaling.md).
    """
    from negsim import api

    _check_scheduler(executor, scheduler)
    # The run locks, stages and starts workers: each cleans up on its way out.
    _interruptible(SIMULATION_IMPORTS)
    bar = _Progress(not quiet and sys.stderr.isatty())

    try:
        experiment = api.run_experiment(
            scenario,
            runs=runs,
            seed=seed,
            out=out,
            variants=variants,
            jobs=jobs,
            confidence=confidence,
            progress=bar.simulated,
            phase=bar.phase,
            command=["negsim", *sys.argv[1:]],
            wait=wait,
            given_record=given_record,
            executor=executor,
            scheduler=scheduler,
            keep_series=keep_series,
            runs_format=runs_format,
            at_values=at_values,
        )
    except (KeyboardInterrupt, ImportError) as error:
        if not isinstance(error, KeyboardInterrupt) and not _from_interrupt(error):
            raise
        bar.close()
        target = out or "results/<scenario>"
        _exit_interrupted(
            f"Interrupted: no results written; any earlier results in {target} are unchanged."
        )
    except NegsimError as error:
        bar.close()
        _fail(error)
        return
    bar.close()
    for note in experiment.notes:
        click.echo(f"note: {note}", err=True)
    if not quiet:
        _print_verdicts(experiment, verbose, given_record)
        if experiment.kept:
            shown = ", ".join(experiment.kept[:5])
            more = f" and {len(experiment.kept) - 5} more" if len(experiment.kept) > 5 else ""
            click.echo(
                f"Kept in {experiment.destination}/ (not written by negsim run): {shown}{more}"
            )
    if plot_after:
        _plot(experiment.destination, None, "png", quiet, wait, after_run=True)


class _Progress:
    """tqdm progress on stderr, on a terminal only: simulating (chunks), judging, summarising."""

    def __init__(self, show: bool) -> None:
        self.show = show
        self._bar: Any = None
        self._passes = 0

    def _open(self, **options: Any) -> None:
        from tqdm import tqdm

        self.close()
        self._bar = tqdm(file=sys.stderr, dynamic_ncols=True, leave=False, **options)

    def simulated(self, done: int, total: int) -> None:
        if not self.show:
            return
        if self._bar is None or self._bar.total != total or self._bar.desc.startswith("j"):
            self._passes += 1
            label = "simulating" if self._passes == 1 else f"simulating (pass {self._passes})"
            self._open(total=total, desc=label, unit="chunk")
        self._bar.update(done - self._bar.n)
        if done == total:
            self._bar.refresh()  # the last chunk shown, whatever tqdm's redraw interval

    def phase(self, name: str) -> None:
        if self.show:
            # No count to show for these: the label alone, replaced by the next phase.
            self._open(total=None, desc=name, bar_format="{desc}…")

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def _print_verdicts(experiment: object, verbose: bool = False, given_record: bool = False) -> None:
    from negsim.api import Experiment
    from negsim.report.summary import (
        CAVEAT_MEANINGS,
        CAVEATS,
        all_caveats,
        line_of,
        record_uses,
        relabel_p,
        rows_of,
    )

    assert isinstance(experiment, Experiment)
    table = experiment.hypotheses
    passes = (
        f" (--runs auto: {' -> '.join(f'{n:,}' for n in experiment.auto_passes)})"
        if len(experiment.auto_passes) > 1
        else ""
    )
    click.echo(
        f"{experiment.runs} runs x {len(experiment.variants)} variants in {experiment.elapsed:.1f} s "
        f"-> {experiment.destination}/{passes}"
    )
    matching = experiment.record_runs
    if matching is not None:
        share = matching / experiment.runs if experiment.runs else 0.0
        click.echo(
            f"The record: {matching} of {experiment.runs} base runs ({share:.1%}) "
            f"reproduce its {record_uses(experiment.patterns)}"
        )
    if table.empty:
        click.echo("No hypothesis could be tested with these variants.")
    else:
        rows = rows_of(table)
        confidence = float(rows[0].get("confidence", 0.95))
        lines = [line_of(row) for row in rows]
        record = [
            line_of(row, prefix="record_") if isinstance(row.get("record_verdict"), str) else None
            for row in rows
        ]
        has_record = any(r is not None for r in record)
        conditioned = [r for r in record if r is not None]
        click.echo("")
        if has_record and not given_record:
            # One line per row: the worlds-like-ours verdict as a column, the rest in
            # hypotheses.md (and in full with --given-record).
            _verdict_table(
                lines,
                confidence,
                ("given the record", [r.verdict if r else "-" for r in record]),
            )
        else:
            _verdict_table(lines, confidence)
        if has_record and given_record:
            click.echo("")
            click.echo(
                f"Given the record: the same rows on the {matching} replications whose base "
                "run reproduces it, i.e. conditioned on the record (their own Holm family):"
            )
            _verdict_table(conditioned, confidence, conditioned=True)
        shown = all_caveats(lines + conditioned)
        click.echo("")
        click.echo(
            "effect: treatment - control, in the metric's unit (points: yes/no outcomes); "
            "p: Holm-adjusted, against the smallest effect that matters."
        )
        for caveat in shown:
            click.echo(f"{CAVEATS.get(caveat, caveat)}: {CAVEAT_MEANINGS.get(caveat, '')}.")
        if verbose:
            click.echo("")
            for text in table["sentence"]:
                click.echo(f"- {relabel_p(str(text))}")
            for text in table["record_sentence"]:
                if isinstance(text, str) and text:
                    click.echo(f"- {relabel_p(text)}")
        else:
            click.echo(
                f"Full sentences: {experiment.destination}/hypotheses.md (or run with --verbose)."
            )
    for name in experiment.skipped:
        click.echo(f"(skipped {name}: its treatment or control variant was not run)")


def _verdict_table(
    lines: list[Any],
    confidence: float,
    column: tuple[str, list[str]] | None = None,
    conditioned: bool = False,
) -> None:
    """One line per row: verdict, hypothesis, metric, effect [CI] unit, bound, p, caveats.

    ``column``: one more column (its header and a value per line) before the caveats;
    ``conditioned``: every row is marked as judged given the record.
    """
    header = [
        "verdict",
        "hypothesis",
        "metric",
        f"effect [{confidence * 100:g} % CI]",
        "bound",
        "p (Holm)",
    ]
    if column is not None:
        header.append(column[0])
    header.append("caveats")
    table = []
    for i, line in enumerate(lines):
        values = [
            line.verdict,
            line.hypothesis,
            line.metric,
            line.with_unit(f"{line.effect} {line.interval}"),
            line.with_unit(line.bound),
            line.p_holm,
        ]
        if column is not None:
            values.append(column[1][i])
        flags = [line.flags(), "given the record" if conditioned else ""]
        values.append(", ".join(x for x in flags if x))
        table.append(values)
    widths = [max(len(r[i]) for r in [header, *table]) for i in range(len(header))]
    colours = {"supported": "green", "contradicted": "red", "negligible": "blue"}
    last = len(header) - 1

    def render(values: list[str], styled: bool) -> str:
        # Padded up to the last non-empty cell only: no trailing spaces, styled or not.
        end = max(i for i, value in enumerate(values) if value)
        cells = []
        for i, value in enumerate(values[: end + 1]):
            padded = value.rjust(widths[i]) if i in (4, 5) else value.ljust(widths[i])
            cell = value if i == end else padded
            if styled and (i == 0 or (column is not None and i == 6)):
                colour = colours.get(value)
                pad = cell[len(value) :] if i not in (4, 5) else ""
                cell = click.style(value, fg=colour, bold=colour is not None) + pad
            elif styled and i == last and value:
                cell = click.style(cell, fg="yellow")
            cells.append(cell)
        return "  ".join(cells)

    click.echo(render(header, False))
    for values in table:
        click.echo(render(values, True))


def _interval(low: float, high: float, metric: str) -> str:
    """`[-0.7, +0.2] points`: both ends in the metric's unit, the unit once."""
    from negsim.analysis.verdicts import format_effect

    low_text, high_text = format_effect(low, metric), format_effect(high, metric)
    unit = ""
    if " " in low_text and " " in high_text:
        (low_text, unit), high_text = low_text.split(" ", 1), high_text.split(" ", 1)[0]
        unit = " " + unit
    return f"[{low_text}, {high_text}]{unit}"


def _plot(
    results_dir: Path,
    out: Path | None,
    fmt: str,
    quiet: bool,
    wait: bool,
    after_run: bool = False,
    jobs: int | None = None,
    redraw: bool = False,
) -> None:
    from negsim.plots import plot_results

    _interruptible()  # the figure folder is locked and staged: both undone on an interrupt
    try:
        report = plot_results(results_dir, out, fmt, wait=wait, jobs=jobs, redraw=redraw)
    except KeyboardInterrupt:
        where = out or results_dir / "figures"
        if after_run:
            _exit_interrupted(
                f"Interrupted while drawing figures: the results in {results_dir} are complete; "
                f"the figures may not be (draw them with `negsim plot {results_dir}`)."
            )
        _exit_interrupted(
            f"Interrupted: {where} holds its earlier figures, or all the new ones if they "
            "were already in place; never a part of them."
        )
    except NegsimError as error:
        _fail(error)
        return
    for problem in report.problems:
        click.echo(problem, err=True)
    if not quiet:
        if report.reused:
            where = report.written[0].parent
            click.echo(
                f"{where}: its {len(report.written)} figures already show these results, "
                "drawn by this drawing code; none drawn again (--redraw draws them anew)"
            )
        else:
            for path in report.written:
                click.echo(f"wrote {path}")
        for skipped in report.skipped:
            click.echo(f"skipped {skipped}")
    if report.problems:
        sys.exit(1)


@main.command()
@click.argument("results_dir", type=click.Path(path_type=Path))
@click.option(
    "--out",
    "-o",
    type=click.Path(path_type=Path),
    help="Folder for the figures [default: RESULTS_DIR/figures].",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["png", "svg", "pdf"]),
    default="png",
    show_default=True,
    help="Image format.",
)
@click.option(
    "--wait",
    is_flag=True,
    help="If another negsim process is writing the figure folder, wait for it instead of failing.",
)
@click.option(
    "--jobs",
    "-j",
    type=click.IntRange(1),
    help="Processes drawing figures side by side (Linux) [default: all cores].",
)
@click.option(
    "--redraw",
    is_flag=True,
    help="Draw every figure, even if those in the folder already show these results.",
)
@click.option("--quiet", "-q", is_flag=True, help="Print problems only.")
def plot(
    results_dir: Path,
    out: Path | None,
    fmt: str,
    wait: bool,
    jobs: int | None,
    redraw: bool,
    quiet: bool,
) -> None:
    """Draw the report figures from a results folder written by `negsim run`.

    Reads only the CSV files, so results copied to another machine still plot:
    fan charts of the key metrics over time with the scenario's events,
    the verdicts' forest plot, outcomes by variant, and territory over time.

    Every file is first checked against the row counts and checksums in
    manifest.json: damaged or edited results are refused (exit 1), one line
    per file. A figure the results cannot give (no hypothesis tested, no
    `base` variant run) is skipped with a note; a figure that fails on bad
    data is reported (exit 1) and the others are still drawn. Only figure
    files an earlier `negsim plot` wrote (listed in figures.json) are replaced,
    and only if unchanged since: a figure you edited stops the plot (exit 1).
    Figures drawn once are reused: if the folder's figures already show these
    very results, drawn by this drawing code (negsim's and matplotlib's versions,
    the plotting modules' source) and each as it wrote it, none is drawn
    again unless --redraw.

    A sweep folder (written by `negsim sweep`) gets the sweep's figures: per
    hypothesis and metric, its sensitivity, its effect against the most
    influential parameters, and the box where its verdict flips.
    """
    if _is_sweep_folder(results_dir):
        _plot_sweep(results_dir, quiet, out, fmt, wait)
        return
    _plot(results_dir, out, fmt, quiet, wait, jobs=jobs, redraw=redraw)


def _is_sweep_folder(folder: Path) -> bool:
    """Whether ``folder``'s manifest says `negsim sweep` wrote it."""
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(manifest, dict) and manifest.get("kind") == "sweep results"


@main.command()
@click.argument("scenario", type=click.Path(path_type=Path))
@click.option(
    "--method",
    "-m",
    type=click.Choice(["morris", "sobol", "lhs"]),
    default="morris",
    show_default=True,
    help="Design and indices: morris (screening: mu*, sigma), sobol (S1, ST), "
    "lhs (Latin hypercube: S1 by RBD-FAST).",
)
@click.option(
    "--samples",
    "-N",
    type=click.IntRange(1),
    help="Morris trajectories [10; 4 with --all], Sobol' base samples, a power of 2 [16], "
    "or Latin hypercube points [64].",
)
@click.option(
    "--runs",
    "-n",
    type=click.IntRange(1, 1_000_000),
    help="Replications per variant at each sample point [default: 200].",
)
@click.option(
    "--seed",
    type=click.IntRange(0),
    help="Seed of the design and of every point's runs [default: the scenario's experiment.seed].",
)
@click.option("--jobs", "-j", type=click.IntRange(1), help="Worker processes [default: all cores].")
@EXECUTOR_OPTION
@SCHEDULER_OPTION
@click.option(
    "--out",
    "-o",
    type=click.Path(path_type=Path),
    help="Sweep folder [default: results/<scenario name>-sweep].",
)
@click.option(
    "--all",
    "screening",
    is_flag=True,
    help="Screen every number of the scenario, not only its `uncertain` block "
    "(each over its value +-50 %, or its `uncertain` range).",
)
@click.option("--resume", is_flag=True, help="Continue an interrupted sweep where it stopped.")
@click.option(
    "--plot", "plot_after", is_flag=True, help="Draw the sweep's figures after it finishes."
)
@click.option(
    "--wait",
    is_flag=True,
    help="If another negsim process is writing the sweep (or figure) folder, wait for it "
    "instead of failing.",
)
@click.option("--quiet", "-q", is_flag=True, help="No plan, progress or summary; errors only.")
def sweep(
    scenario: Path,
    method: str,
    samples: int | None,
    runs: int | None,
    seed: int | None,
    jobs: int | None,
    executor: str,
    scheduler: str | None,
    out: Path | None,
    screening: bool,
    resume: bool,
    plot_after: bool,
    wait: bool,
    quiet: bool,
) -> None:
    """Which assumptions SCENARIO's verdicts rest on, and where they flip.

    Varies the parameters of the scenario's `uncertain` block (or, with
    --all, every number in it) over a SALib design and, at every sample point
    and at the scenario's own values, simulates the variants the hypotheses
    compare, with the same seed everywhere (treatment and control share
    their random numbers), and judges each hypothesis as `negsim run` does.
    Writes into the sweep folder (see docs/results.md):

    \b
      sweep.csv        one row per sample: parameter values, effect and verdict
                       of every hypothesis
      sensitivity.csv  per hypothesis and parameter: the method's indices
                       with their confidence intervals
      robustness.csv   per hypothesis: the share of the sampled space where
                       each verdict holds, and the box (PRIM) where it flips

    Prints the number of runs before starting. Every finished point is
    checkpointed: after Ctrl-C or a crash, the same command with --resume
    continues without redoing them, and writes the same files.

    \b
    Examples:
      negsim sweep scenarios/geneva3.yaml                    # Morris, about 13 minutes on 2 cores
      negsim sweep scenarios/geneva3.yaml --all -n 100       # screen every parameter
      negsim sweep scenarios/geneva3.yaml -m sobol -N 32     # variance-based indices
    """
    from negsim.sweep_api import plan_sweep, run_sweep

    _check_scheduler(executor, scheduler)
    # The sweep checkpoints every point: an interrupt keeps the finished ones.
    _interruptible(SIMULATION_IMPORTS)
    try:
        plan = plan_sweep(scenario, method, samples, runs, seed, screening, out)
    except NegsimError as error:
        _fail(error)
        return
    for warning in plan.warnings:
        click.echo(f"warning: {warning}", err=True)
    if not quiet:
        source = "every number of the scenario" if screening else "the `uncertain` block"
        click.echo(
            f"{plan.method.capitalize()} over {len(plan.factors)} parameters ({source}): "
            f"{plan.points} sample points + the scenario's own values, "
            f"{len(plan.variants)} variants x {plan.runs} runs each = "
            f"{plan.total_runs:,} runs -> {plan.destination}/",
            err=True,
        )
    show_progress = not quiet and sys.stderr.isatty()
    bar: Any = None
    finished = 0

    def progress(done: int, total: int) -> None:
        nonlocal bar, finished
        finished = done
        if not show_progress:
            return
        if bar is None:
            bar = click.progressbar(
                length=total, label="Sample points", file=sys.stderr, show_pos=True, show_eta=True
            )
            bar.__enter__()
        bar.update(done - bar.pos)
        if done == total:
            bar.__exit__(None, None, None)

    try:
        result = run_sweep(
            plan,
            jobs=jobs,
            resume=resume,
            progress=progress,
            command=["negsim", *sys.argv[1:]],
            executor=executor,
            scheduler=scheduler,
            wait=wait,
        )
    except KeyboardInterrupt:
        if bar is not None:
            click.echo("", err=True)
        again = " ".join(["negsim", *sys.argv[1:]] + ([] if resume else ["--resume"]))
        _exit_interrupted(
            f"Interrupted after {finished} of {plan.points + 1} points; they are kept. "
            f"Continue with: {again}"
        )
    except NegsimError as error:
        _fail(error)
        return
    for note in result.notes:
        click.echo(f"note: {note}", err=True)
    if not quiet:
        _print_sweep(result)
    if plot_after:
        _plot_sweep(result.destination, quiet, wait=wait)


def _print_sweep(result: Any) -> None:
    from negsim.sweep_api import summary_lines

    for line in summary_lines(result):
        click.echo(line)


def _plot_sweep(
    folder: Path, quiet: bool, out: Path | None = None, fmt: str = "png", wait: bool = False
) -> None:
    from negsim.sweep_plots import plot_sweep

    _interruptible()
    try:
        report = plot_sweep(folder, out, fmt, wait=wait)
    except KeyboardInterrupt:
        _exit_interrupted(f"Interrupted while drawing the figures of {folder}.")
    except NegsimError as error:
        _fail(error)
        return
    for problem in report.problems:
        click.echo(problem, err=True)
    if not quiet:
        for path in report.written:
            click.echo(f"wrote {path}")
    if report.problems:
        sys.exit(1)


@main.command()
@click.argument("scenario", type=click.Path(path_type=Path), required=False)
@click.option(
    "--runs",
    "-n",
    type=click.IntRange(1, 1_000_000),
    help="Replications per variant for each channel [default: the scenario's experiment.runs].",
)
@click.option("--seed", type=click.IntRange(0), help="Seed [default: experiment.seed].")
@click.option("--jobs", "-j", type=click.IntRange(1), help="Worker processes [default: 1].")
@click.option(
    "--channel",
    "-c",
    "channels",
    multiple=True,
    help="Only this channel (repeatable) [default: every channel]; the list: --list.",
)
@click.option(
    "--list", "list_only", is_flag=True, help="List the channels and what switches each off."
)
@click.option(
    "--out",
    "-o",
    type=click.Path(path_type=Path),
    help="Folder for channels.csv and channels.png [default: results/<scenario name>-channels].",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress or summary; errors only.")
def channels(
    scenario: Path | None,
    runs: int | None,
    seed: int | None,
    jobs: int | None,
    channels: tuple[str, ...],
    list_only: bool,
    out: Path | None,
    quiet: bool,
) -> None:
    """Which mechanisms carry each of SCENARIO's hypotheses.

    Runs every hypothesis's variant pair with all of the model's channels on,
    then with each channel switched off in turn (its parameters set to 0),
    at the same seed, so the pairs share their random numbers. Writes
    channels.csv (per hypothesis, metric and channel: the effect with every
    channel, without the channel, and the share it carries) and channels.png
    (docs/results.md). Shares need not add up to 1: channels interact.

    \b
    Examples:
      negsim channels scenarios/geneva3.yaml --runs 1000
      negsim channels scenarios/geneva3.yaml -c attendance -c delegation
    """
    from negsim.analysis.channels import CHANNELS

    if list_only:
        for channel in CHANNELS:
            off = ", ".join(f"{k}: {v:g}" for k, v in channel.off.items())
            click.echo(
                f"{channel.name:12} {channel.description} (off: {off}; docs/model.md {channel.section})"
            )
        return
    if scenario is None:
        raise click.UsageError("Missing argument 'SCENARIO'.")
    from negsim.channels_api import attribute_channels
    from negsim.scenario import load

    # Its workers and, at the end, its locked output folder are undone on an interrupt.
    _interruptible(SIMULATION_IMPORTS)
    try:
        name = load(scenario).name
        destination = out if out is not None else Path("results") / f"{name}-channels"
        result = attribute_channels(
            scenario,
            runs=runs,
            seed=seed,
            jobs=jobs,
            out=destination,
            channels=list(channels) or None,
            progress=None if quiet else (lambda line: click.echo(line, err=True)),
        )
    except KeyboardInterrupt:
        _exit_interrupted(
            "Interrupted: the output folder holds what it held before, or all of the new "
            "results if they were already in place; never a part of them."
        )
    except UsageError as error:
        raise click.UsageError(str(error)) from None
    except NegsimError as error:
        _fail(error)
        return
    if quiet:
        return
    table = result.table
    for (hypothesis, metric), rows in table.groupby(["hypothesis", "metric"], sort=False):
        effect = float(rows["effect_all"].iloc[0])
        carried = rows.dropna(subset=["share_carried"])
        carried = carried[carried["share_carried"].abs() >= 0.1]
        parts = ", ".join(
            f"{r.channel} {r.share_carried:+.0%}"
            for r in carried.sort_values("share_carried", key=abs, ascending=False).itertuples()
        )
        click.echo(
            f"{hypothesis}, {metric}: {effect:+.3g}; carried by {parts or 'no single channel'}"
        )
    click.echo(f"wrote {result.out}/channels.csv, channels.png")


@main.command()
@click.argument("scenarios", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--runs",
    "-n",
    type=int,
    callback=_check,
    help="Replications per variant, the same for every scenario [default: the largest "
    "experiment.runs of the scenarios].",
)
@click.option(
    "--seed", type=int, callback=_check, help="Master seed [default: the first scenario's]."
)
@click.option(
    "--jobs",
    "-j",
    type=int,
    callback=_check,
    help="Worker processes; more than the cores is slower [default: all cores].",
)
@click.option(
    "--variants/--no-variants",
    default=None,
    help="Also judge each scenario's variants against its base [default: with one scenario].",
)
@click.option(
    "--out",
    "-o",
    type=click.Path(path_type=Path),
    help="Folder for compare.csv, compare_patterns.csv and manifest.json "
    "[default: results/compare-<scenario names>].",
)
@click.option(
    "--at-values",
    is_flag=True,
    help="Run every scenario at the values it writes instead of drawing its `uncertain:` "
    "assumptions per run from their priors.",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress or table; errors only.")
def compare(
    scenarios: tuple[Path, ...],
    runs: int | None,
    seed: int | None,
    jobs: int | None,
    variants: bool | None,
    out: Path | None,
    at_values: bool,
    quiet: bool,
) -> None:
    """Judge theories (SCENARIOS) and their variants on the record they share.

    Runs each scenario with the same runs and seed, its `uncertain:`
    assumptions drawn per run from its own priors (--at-values: at the values
    it writes), and reports each one's probability of reproducing the record's conditioning patterns (`observed:`
    with `use: condition`), the Bayes factor between theories (the ratio of
    those probabilities, under each scenario's own assumptions) with its
    Koopman score interval, and for each pattern how often each model
    reproduces it, its likelihood ratio, and for holdout patterns the share of
    the worlds like ours that reproduce it. Only patterns every scenario
    defines the same way (id and definition) are used; a line says which were
    left out. With one scenario its variants are compared with its base.

    \b
    Examples:
      negsim compare scenarios/geneva3.yaml scenarios/ripeness.yaml --runs 1000
      negsim compare scenarios/geneva3.yaml          # its variants against its base
    """
    from negsim.compare_api import compare as compare_models
    from negsim.compare_api import default_folder
    from negsim.scenario import load

    _interruptible(COMPARE_IMPORTS)
    bars: dict[str, Any] = {}
    show = not quiet and sys.stderr.isatty()

    def progress(label: str, done: int, total: int) -> None:
        if not show:
            return
        from tqdm import tqdm

        if label not in bars:
            for bar in bars.values():
                bar.close()
            bars[label] = tqdm(file=sys.stderr, total=total, desc=label, unit="chunk", leave=False)
        bars[label].update(done - bars[label].n)

    try:
        files = [load(path) for path in scenarios]
        destination = out if out is not None else default_folder(files)
        result = compare_models(
            files,
            runs=runs,
            seed=seed,
            jobs=jobs,
            out=destination,
            variants=variants,
            progress=progress,
            command=["negsim", *sys.argv[1:]],
            at_values=at_values,
        )
    except KeyboardInterrupt:
        for bar in bars.values():
            bar.close()
        _exit_interrupted("Interrupted: nothing written.")
    except NegsimError as error:
        for bar in bars.values():
            bar.close()
        _fail(error)
        return
    for bar in bars.values():
        bar.close()
    for note in result.notes:
        click.echo(f"note: {note}", err=True)
    if not quiet:
        _print_comparison(result)


def _print_comparison(result: Any) -> None:
    """The models' evidence, then the patterns that tell them apart, then the holdout fit."""
    table = result.models
    level = f"{result.confidence:.0%}"
    conditioning = str(table["patterns"].iloc[0]).split(";")
    click.echo(
        f"The record: {len(conditioning)} conditioning patterns ({', '.join(conditioning)}); "
        f"{result.runs} runs per model, seed {result.seed}."
    )
    width = max(len(str(m)) for m in table["model"])
    click.echo(
        f"{'model':<{width}}  reproduces the record ({level} CI)   "
        f"Bayes factor vs reference ({level} CI)"
    )
    for row in table.itertuples():
        share = f"{row.reproduced:>5}/{row.runs} {row.probability:6.1%} [{row.ci_low:.1%}, {row.ci_high:.1%}]"
        if row.reference:
            factor = f"{_ratio(row.bayes_factor)} [{_ratio(row.bf_ci_low)}, {_ratio(row.bf_ci_high)}] vs {row.reference}"
        else:
            factor = "(reference)"
        click.echo(f"{row.model:<{width}}  {share:<32}  {factor}")
    for row in table.itertuples():
        if row.reference:
            click.echo(f"  {_favours(row)}")
    patterns = result.patterns
    if (patterns["reference"] != "").any():
        click.echo(
            "Each pattern: share of runs reproducing it (likelihood ratio vs the reference):"
        )
        for pattern, rows in patterns.groupby("pattern", sort=False):
            parts = ", ".join(
                f"{r.model} {r.share:.1%}"
                + (f" (LR {_ratio(r.likelihood_ratio)})" if r.reference else "")
                for r in rows.itertuples()
            )
            click.echo(f"  {pattern} [{rows['use'].iloc[0]}]: {parts}")
    held = patterns[patterns["use"] == "holdout"]
    if not held.empty:
        click.echo("Holdout patterns (share of each model's worlds like ours that reproduce it):")
        for pattern, rows in held.groupby("pattern", sort=False):
            parts = ", ".join(
                f"{r.model} {r.share_like_ours:.1%} of {r.like_ours}"
                if r.like_ours
                else f"{r.model} (no world like ours)"
                for r in rows.itertuples()
            )
            click.echo(f"  {pattern}: {parts}")
    click.echo(f"wrote {result.out}/compare.csv, compare_patterns.csv")


def _favours(row: Any) -> str:
    """The Bayes factor in words: which model the record favours, by how much, with its interval."""
    import math

    factor, low, high = row.bayes_factor, row.bf_ci_low, row.bf_ci_high
    if math.isnan(factor):
        return f"{row.model} vs {row.reference}: neither reproduces the record; no evidence"
    if factor >= 1:
        better, worse, shown, ends = row.model, row.reference, factor, (low, high)
    else:
        better, worse = row.reference, row.model
        shown = math.inf if factor == 0 else 1 / factor
        ends = (1 / high if high else math.inf, 1 / low if low else math.inf)
    return (
        f"the record favours {better} over {worse} by {_ratio(shown)} : 1 "
        f"({row.confidence:.0%} CI {_ratio(ends[0])} to {_ratio(ends[1])})"
    )


def _ratio(value: float) -> str:
    """A ratio for the table: 3 significant digits, inf and NaN in words."""
    import math

    if math.isnan(value):
        return "n/a"
    if math.isinf(value):
        return "inf"
    return f"{value:.3g}"


@main.command()
@click.argument("results_dir", type=click.Path(path_type=Path))
@click.option(
    "--out",
    "-o",
    type=click.Path(path_type=Path),
    help="Folder for the report [default: RESULTS_DIR/report].",
)
@click.option(
    "--sweep",
    "sweep_dir",
    type=click.Path(path_type=Path),
    help="A `negsim sweep` folder of the same scenario, for the verdicts' robustness "
    "[default: RESULTS_DIR/../NAME-sweep if it exists].",
)
@click.option(
    "--wait",
    is_flag=True,
    help="If another negsim process is writing the report folder, wait for it instead of failing.",
)
@click.option("--quiet", "-q", is_flag=True, help="Print problems only.")
def report(
    results_dir: Path, out: Path | None, sweep_dir: Path | None, wait: bool, quiet: bool
) -> None:
    """Write one self-contained HTML report of a results folder (opens offline).

    The report opens on the answer: every verdict with its effect and
    interval in the outcome's unit, the verdict given the record, the sweep's
    share and the caveats (floor, near bound, sensitive to assumptions, ...).
    Then the question and the scenario (actors, variants, events, every value
    with its source tag), the verdicts in full with both p-values labelled,
    the record patterns reproduced, the sweep's design and robustness shares
    (if a sweep folder is given or found), every figure, and the provenance
    from manifest.json. Figures are embedded (those `negsim plot` drew for
    these very results, else drawn now); the file needs no network and no
    other file.

    Every file is first checked against manifest.json, as `negsim plot` does:
    damaged or edited results are refused (exit 1), one line per file. A
    sweep of another scenario, or of another version of its file (the
    scenario sha256 both manifests record), is refused (exit 1). The report
    computes no statistics; it shows those the CSV files hold.

    \b
      negsim run scenarios/geneva3.yaml --plot
      negsim report results/geneva3          # results/geneva3/report/geneva3.html
    """
    from negsim.report import write_report

    if sweep_dir is not None and not sweep_dir.is_dir():
        raise click.BadParameter(
            f"{_short_path(str(sweep_dir))}: no such folder", param_hint="--sweep"
        )
    _interruptible()  # the report folder is locked and staged: both undone on an interrupt
    try:
        result = write_report(results_dir, out, sweep_dir, wait=wait)
    except KeyboardInterrupt:
        where = out or results_dir / "report"
        _exit_interrupted(
            f"Interrupted: {where} holds its earlier report, or the whole new one if it "
            "was already in place; never a part of it."
        )
    except NegsimError as error:
        _fail(error)
        return
    for problem in result.problems:
        click.echo(problem, err=True)
    if not quiet:
        for note in result.notes:
            click.echo(f"note: {note}", err=True)
        click.echo(f"wrote {result.path}")
    if result.problems:
        sys.exit(1)


@main.command()
@click.argument("scenario", type=click.Path(path_type=Path))
@click.option(
    "--port",
    type=click.IntRange(1, 65535),
    default=8765,
    show_default=True,
    help="Port to serve the page on.",
)
@click.option("--host", default="localhost", show_default=True, help="Host to listen on.")
@click.option(
    "--open/--no-open",
    "open_browser",
    default=False,
    show_default=True,
    help="Open the page in a browser.",
)
def explore(scenario: Path, port: int, host: str, open_browser: bool) -> None:
    """Serve an interactive page that steps one replication of a scenario, week by week.

    A Mesa SolaraViz page: the regions as a network coloured by who holds
    them, the state of the talks and the offers, the main observables as
    they accrue, Step / Play / Reset, a choice of variant and seed, and an
    input for every parameter of the scenario's `uncertain:` block (applied
    on Reset). Stop it with Ctrl-C. Needs the `viz` extra:
    pip install 'negsim[viz]'.

    \b
      negsim explore scenarios/geneva3.yaml   # then open http://localhost:8765
    """
    import importlib.util

    from negsim.scenario import loader

    if importlib.util.find_spec("solara") is None:
        click.echo(
            "negsim explore needs solara: pip install 'negsim[viz]' (Mesa's viz extra)", err=True
        )
        sys.exit(1)
    try:
        loader.load(scenario)
    except NegsimError as error:
        _fail(error)
        return
    _check_port(host, port)
    env = {
        **os.environ,
        "NEGSIM_EXPLORE_SCENARIO": str(scenario.resolve()),
        # Offline: no usage statistics sent to Solara's analytics (Mixpanel).
        "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False",
    }
    command = [sys.executable, "-m", "solara", "run", "negsim.explore", "--port", str(port)]
    command += ["--host", host, "--open" if open_browser else "--no-open", "--production"]
    command += ["--no-check-version"]  # no request to the package registry at every start
    click.echo(f"serving {scenario} at http://{host}:{port} (Ctrl-C to stop)", err=True)
    sys.exit(_serve(command, env))


EXPLORE_STOP_TIMEOUT = 10.0
"""Seconds the explore server has to stop after a signal before it is killed."""


def _check_port(host: str, port: int) -> None:
    """Exit 1 in one line if the server could not listen on ``host``:``port`` (in use, no such host).

    Binds as the server (uvicorn) will: IPv6 for a host with a colon, else IPv4, with
    SO_REUSEADDR (a port in TIME_WAIT is free to it).
    """
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except socket.gaierror as error:
            click.echo(f"--host {host}: no such host to listen on ({error.strerror})", err=True)
            sys.exit(1)
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                click.echo(
                    f"port {port} on {host} is in use by another program; "
                    "choose another with --port",
                    err=True,
                )
            else:
                click.echo(
                    f"--host {host} --port {port}: cannot listen there ({error.strerror})", err=True
                )
            sys.exit(1)


def _die_with_parent() -> None:  # pragma: no cover  (runs in the child, between fork and exec)
    # If negsim itself is killed (SIGKILL, no chance to forward), the kernel stops the server.
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG


def _serve(command: list[str], env: dict[str, str]) -> int:
    """Run the explore server until it stops or negsim gets SIGINT, SIGTERM or SIGHUP.

    The server runs in its own process group, so a terminal's Ctrl-C reaches it
    once, through negsim: every stop signal is forwarded, the server is given
    EXPLORE_STOP_TIMEOUT seconds to stop (then killed) and negsim exits 130.
    An orphan serving the port is never left behind.
    """
    import subprocess

    linux = sys.platform.startswith("linux")
    received: list[int] = []

    def forward(signum: int, frame: object) -> None:
        received.append(signum)
        if server is not None and server.poll() is None:
            server.send_signal(signal.SIGINT if signum == signal.SIGHUP else signum)

    server: subprocess.Popen[bytes] | None = None
    for signum in _STOP_SIGNALS:
        signal.signal(signum, forward)
    server = subprocess.Popen(
        command,
        env=env,
        start_new_session=True,
        preexec_fn=_die_with_parent if linux else None,  # noqa: PLW1509  (no threads yet)
    )
    if received:  # a signal before the server existed: stop it at once
        server.send_signal(signal.SIGTERM)
    while True:
        try:
            code = server.wait(timeout=0.2 if not received else EXPLORE_STOP_TIMEOUT)
            break
        except subprocess.TimeoutExpired:
            if received:
                server.kill()
                server.wait()
                break
    if received:
        _exit_interrupted("Interrupted: the explore server is stopped.")
    if code != 0:
        click.echo(f"the explore server stopped (exit status {code})", err=True)
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    main()

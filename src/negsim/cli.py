"""The `negsim` command line. Commands parse arguments and report; no simulation logic.

Exit status: 0 success, 1 bad scenario or data (one line per problem, no
traceback), 2 bad usage, 130 interrupted.
"""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path

import click

from negsim import __version__
from negsim.errors import NegsimError, ScenarioError


def _fail(error: NegsimError) -> None:
    """Print a user-facing error, one line per problem, and exit 1."""
    for line in str(error).splitlines():
        click.echo(line, err=True)
    if isinstance(error, ScenarioError):
        count = len(error.problems)
        click.echo(f"{count} problem{'s' if count != 1 else ''} found.", err=True)
    sys.exit(1)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="negsim")
def main() -> None:
    """negsim: simulate wars and peace talks to test causal claims.

    A scenario file (YAML) describes actors, regions, dated events, the
    counterfactual variants to compare and the hypotheses to test. Typical use:

    \b
      negsim validate scenarios/geneva3.yaml   # check a scenario, file:line errors
      negsim run scenarios/geneva3.yaml        # ensembles, CSVs, verdicts
      negsim plot results/geneva3              # figures from the CSVs

    Run `negsim COMMAND --help` for each command.
    """


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
def validate(files: tuple[Path, ...]) -> None:
    """Check scenario FILES; print every problem as FILE:LINE: field: message.

    Each file is loaded as `negsim run` would load it, with its `extends`
    chain and every variant applied. Exit status 1 if any file has a problem.
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


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


@main.command()
@click.argument("scenario", type=click.Path(path_type=Path))
@click.option(
    "--runs",
    "-n",
    type=click.IntRange(1, 1_000_000),
    help="Replications per variant [default: the scenario's experiment.runs].",
)
@click.option(
    "--seed", type=click.IntRange(0), help="Master seed [default: the scenario's experiment.seed]."
)
@click.option(
    "--out",
    "-o",
    type=click.Path(path_type=Path),
    help="Results folder [default: results/<scenario name>].",
)
@click.option(
    "--variant",
    "-v",
    "variants",
    multiple=True,
    help="Run only this variant (repeatable; `base` is the scenario as written) [default: all].",
)
@click.option("--jobs", "-j", type=click.IntRange(1), help="Worker processes [default: all cores].")
@click.option(
    "--confidence",
    type=click.FloatRange(0, 1, min_open=True, max_open=True),
    help="Confidence level of the verdicts' intervals [default: the scenario's, 0.95].",
)
@click.option(
    "--plot", "plot_after", is_flag=True, help="Draw the figures (as `negsim plot`) after the run."
)
@click.option(
    "--quiet", "-q", is_flag=True, help="No progress bar and no verdict table; errors only."
)
def run(
    scenario: Path,
    runs: int | None,
    seed: int | None,
    out: Path | None,
    variants: tuple[str, ...],
    jobs: int | None,
    confidence: float | None,
    plot_after: bool,
    quiet: bool,
) -> None:
    """Simulate SCENARIO's base and variants as ensembles, test its hypotheses, write results.

    Writes runs.csv, timeseries.csv, hypotheses.csv, events.csv and
    manifest.json (see docs/results.md) into the results folder, replacing an
    earlier folder only once every file is complete. Prints a verdict table:
    each hypothesis' effect (treatment minus control over paired
    replications) with its bootstrap confidence interval.

    The same scenario and seed give byte-identical CSV files whatever --jobs.
    """
    from negsim import api

    signal.signal(signal.SIGTERM, _raise_interrupt)
    show_progress = not quiet and sys.stderr.isatty()
    bar = None

    def progress(done: int, total: int) -> None:
        nonlocal bar
        if not show_progress:
            return
        if bar is None:
            bar = click.progressbar(
                length=total, label="Simulating", file=sys.stderr, show_pos=True, show_eta=True
            )
            bar.__enter__()
        bar.update(1)
        if done == total:
            bar.__exit__(None, None, None)

    try:
        experiment = api.run_experiment(
            scenario,
            runs=runs,
            seed=seed,
            out=out,
            variants=variants,
            jobs=jobs,
            confidence=confidence,
            progress=progress,
            command=["negsim", *sys.argv[1:]],
        )
    except KeyboardInterrupt:
        if bar is not None:
            click.echo("", err=True)
        target = out or "results/<scenario>"
        click.echo(
            f"Interrupted: no results written; any earlier results in {target} are unchanged.",
            err=True,
        )
        sys.exit(130)
    except NegsimError as error:
        _fail(error)
        return
    if not quiet:
        _print_verdicts(experiment)
    if plot_after:
        _plot(experiment.destination, None, "png", quiet)


def _print_verdicts(experiment: object) -> None:
    from negsim.api import Experiment

    assert isinstance(experiment, Experiment)
    table = experiment.hypotheses
    click.echo(
        f"{experiment.runs} runs x {len(experiment.variants)} variants in {experiment.elapsed:.1f} s "
        f"-> {experiment.destination}/"
    )
    if table.empty:
        click.echo("No hypothesis could be tested with these variants.")
    else:
        width = max(len(name) for name in table["hypothesis"])
        click.echo("")
        click.echo(f"{'hypothesis':<{width}}  {'effect':>9}  {'CI':>21}  {'p':>8}  verdict")
        for row in table.itertuples():
            interval = f"[{row.ci_low:+.3g}, {row.ci_high:+.3g}]"
            colour = {"supported": "green", "contradicted": "red"}.get(str(row.verdict))
            click.echo(
                f"{row.hypothesis:<{width}}  {row.effect:>+9.3g}  {interval:>21}  {row.p_value:>8.2g}  "
                + click.style(str(row.verdict), fg=colour, bold=colour is not None)
            )
        click.echo("")
        for text in table["sentence"]:
            click.echo(f"- {text}")
    for name in experiment.skipped:
        click.echo(f"(skipped {name}: its treatment or control variant was not run)")


def _plot(results_dir: Path, out: Path | None, fmt: str, quiet: bool) -> None:
    from negsim.plots import PlotError, plot_results

    try:
        report = plot_results(results_dir, out, fmt)
    except PlotError as error:
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
@click.option("--quiet", "-q", is_flag=True, help="Print problems only.")
def plot(results_dir: Path, out: Path | None, fmt: str, quiet: bool) -> None:
    """Draw the report figures from a results folder written by `negsim run`.

    Reads only the CSV files, so results copied to another machine still plot:
    fan charts of the key metrics over time with the scenario's events,
    the verdicts' forest plot, outcomes by variant, and territory over time.
    A figure that cannot be drawn is reported (exit 1); the others are still drawn.
    """
    _plot(results_dir, out, fmt, quiet)


if __name__ == "__main__":  # pragma: no cover
    main()

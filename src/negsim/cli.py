"""The `negsim` command line. Commands parse arguments and report; no simulation logic.

Exit status: 0 success, 1 bad scenario or data (one line per problem, no
traceback), 2 bad usage, 130 interrupted.
"""

from __future__ import annotations

import json
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


if __name__ == "__main__":  # pragma: no cover
    main()

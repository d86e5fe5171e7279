"""The starter scenario `negsim new` writes: every section, commented, valid and runnable.

A first scenario is easier to change than to write: the starter names a
fictional conflict with one of everything (a government whose head changes,
an opposition coalition of two factions and its patron, a spoiler, a
mediator, a faction leader with a named successor, dated escalation, a
removal, a truce, talks and a referendum), the counterfactual variants and
the hypotheses that compare them, a record to check and the uncertain
numbers to sweep. Every number is tagged `[assumption]`: the user replaces
them with sourced values (`[record]`, `[article]`) of their own conflict.
`tests/scenario/test_starter.py` checks that it validates and runs.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from negsim.errors import NegsimError, UsageError

_IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]*$")

STARTER = """\
# {name}: a starter scenario written by `negsim new`. Replace the fictional
# conflict below with yours, section by section; every key is in
# docs/scenario-format.md. Check it with `negsim validate {file}` and run it
# with `negsim run {file}`. Tag each number with where it comes from:
# [record] (the public record), [article] (the claim under test) or
# [assumption]; `negsim report` lists them.

name: {name}                  # results go to results/{name}/

calendar:
  start: 2020-01-06           # a Monday; the model steps one week at a time, and every date
  end: 2021-12-26             # stands for the week that contains it

issue:                        # the one line the talks are about, from 0 to 1
  name: autonomy
  low: central rule           # what 0 means
  high: independence          # what 1 means
  compromise: [0.3, 0.7]      # agreements inside this band count as `compromise`

actors:
  government:                 # exactly one actor of kind government
    kind: government
    capability: 1.0           # [assumption] relative units: 1.0 is a large army
    resolve: 0.5              # [assumption] 0..1, how much it values winning over a deal
    position: 0.3             # [assumption] its ideal point on the issue
    willingness_bias: 1.0     # [assumption] baseline readiness to talk
  front:                      # exactly one opposition coalition; its factions fight
    kind: opposition
    resolve: 0.6              # [assumption]
    position: 0.7             # [assumption]
    willingness_bias: 1.0     # [assumption]
  northern_army:
    kind: faction
    coalition: front
    capability: 0.5           # [assumption]
  southern_brigades:
    kind: faction
    coalition: front
    capability: 0.3           # [assumption]
  hardliners:                 # fights for ground, takes no part in talks
    kind: spoiler
    capability: 0.1           # [assumption]
  neighbour:                  # supports a client with forces and presses it on talks
    kind: patron
    client: front
    commitment: 0.4           # [assumption]
  envoy:                      # convenes the rounds and proposes deals
    kind: mediator
    leverage: 0.8             # [assumption]

leaders:
  commander:                  # a faction's leader; later leaders are his successors
    faction: northern_army
    moderation: 0.3           # [assumption] readiness to compromise
    authority: 0.7            # [assumption] hold on the faction
    ties: {{neighbour: 0.5}}    # [assumption] tie to the patron
    successors:               # in order; each may be removed in turn. Reach one's
      - id: deputy            # field by id: leaders.commander.successors.deputy.moderation
        moderation: 0.6       # [assumption]
        authority: 0.4        # [assumption]
    successor:                # drawn successors after the named ones, and every
      cohesion_shock: 0.3     # succession's cost  [assumption]
  incumbent:                  # the head of government in office at the start; his
    government: government    # traits are the government's from week 0
    in_office: true
  reformer:                   # a head of government, in office from a government_change
    government: government
    resolve: 0.4              # [assumption] replaces the government's resolve from then on
    willingness_bias: 0.5     # [assumption]

regions:                      # initial control shares sum to 1 in every region
  capital:
    control: {{government: 0.9, southern_brigades: 0.1}}
    strategic_value: 2.0      # [assumption]
    adjacent: [north]
  north:
    control: {{government: 0.3, northern_army: 0.6, hardliners: 0.1}}
    adjacent: [capital]

events:                       # dated history; events of one week act in file order
  - id: offensive_north
    type: escalation
    date: 2020-04-06
    actor: government
    intensity: 0.5            # [assumption] effort +50 %
    duration_weeks: 52        # [assumption] (left out: to the end)
  - id: commander_killed
    type: leader_removal
    date: 2020-06-01
    leader: commander         # his successor `deputy` takes over
  - id: election
    type: government_change
    date: 2020-10-05
    leader: reformer
  - id: rebel_truce           # a one-sided truce: the named side holds its fire
    type: ceasefire
    date: 2020-11-02
    actor: northern_army
    duration_weeks: 8
  - id: talks
    type: negotiation_round
    date: 2020-11-30
    mediator: envoy
    duration_weeks: 26        # weeks on the mediator's calendar; a walkout suspends the round
  - id: vote
    type: referendum          # puts an agreement in force to a vote
    date: 2021-09-06
    approval: {{uniform: {{low: 0.4, high: 0.7}}}}   # [assumption] drawn per run

variants:                     # counterfactuals, each compared run by run with `base`
  no_offensive:
    description: The government does not escalate.
    remove_events: [offensive_north]
  commander_spared:
    description: The commander is not killed.
    remove_events: [commander_killed]
  moderate_deputy:
    description: A more moderate successor.
    set:
      leaders.commander.successors.deputy.moderation: 0.9

hypotheses:                   # claims, judged on the runs' outcomes (runs.csv columns)
  escalation_weakens_talks:
    description: Escalation makes an agreement less likely.
    metrics: [agreement, talks_held]
    treatment: base           # where the cause is present
    control: no_offensive     # where it is absent
    expected: decrease
  removal_weakens_talks:
    description: The commander's killing makes an agreement less likely.
    metrics: [agreement, opposition_cohesion_at_talks]
    treatment: base
    control: commander_spared
    expected: decrease

observed:                     # the record as dated patterns; runs.csv says which runs match
  - id: government_holds_most_ground
    description: The government held most of the ground when the talks opened.
    source: "[assumption] replace with your source"
    metric: control.government    # a per-week metric of timeseries.csv
    date: 2020-11-30
    above: 0.5

uncertain:                    # numbers a sweep (`negsim sweep {file}`) may vary
  actors.government.resolve: {{uniform: {{low: 0.5, high: 0.9}}}}
  events.offensive_north.intensity: {{uniform: {{low: 0.2, high: 0.8}}}}
  leaders.commander.successors.deputy.moderation: {{uniform: {{low: 0.3, high: 0.9}}}}

experiment:
  runs: 1000                  # replications per variant (--runs overrides)
  seed: 1                     # master seed (--seed overrides)
"""


def scenario_name(name: str) -> str:
    """The scenario's `name` for what was typed after `negsim new` (a hyphen becomes `_`).

    What was typed may be a path (`scenarios/my-variant`): its last part names the scenario.

    Raises:
        UsageError: a name that is no identifier even so, with what to type instead.
    """
    stem = Path(name.removesuffix(".yaml").removesuffix(".yml")).name
    candidate = stem.replace("-", "_")
    if _IDENTIFIER.match(candidate):
        return candidate
    suggestion = re.sub(r"[^a-z0-9_]+", "_", stem.strip().lower()).strip("_")
    suggestion = re.sub(r"^[0-9_]+", "", re.sub(r"__+", "_", suggestion))
    example = f", e.g. {suggestion!r}" if suggestion else ", e.g. 'my_conflict'"
    raise UsageError(
        f"NAME: {name!r} cannot name a scenario: use lower-case letters, digits, hyphens and "
        f"underscores, starting with a letter{example}"
    )


def starter(name: str, file: str) -> str:
    """The starter scenario's text, named ``name``, its comments pointing at ``file``."""
    return STARTER.format(name=name, file=file)


def write_starter(name: str, out: str | os.PathLike[str] | None = None) -> tuple[Path, str]:
    """Write the starter scenario for ``name`` to ``out`` (default ``NAME.yaml``; NAME may be a path).

    Returns the file written and the scenario's `name`. The file appears
    whole or not at all, and never replaces one that exists.

    Raises:
        UsageError: ``name`` cannot name a scenario (the message says how to name it).
        NegsimError: the file exists (nothing is written).
        OSError: the folder cannot be written.
    """
    scenario = scenario_name(name)
    stem = name.removesuffix(".yaml").removesuffix(".yml")
    path = Path(out) if out is not None else Path(f"{stem}.yaml")
    if path.exists() or path.is_symlink():
        raise NegsimError(
            f"{path}: exists; negsim new never replaces a file (choose another name or --out)"
        )
    text = starter(scenario, str(path))
    # Written beside the target, then linked to its name: the link fails if a file of that
    # name appeared meanwhile, and an interrupted write leaves no half a scenario there.
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise NegsimError(f"{folder}: no such folder (create it first, or choose another --out)")
    temporary = folder / f".{path.name}.{os.getpid()}.tmp"
    # (os.open, not mkstemp: the scenario gets the user's usual permissions, not 0600.)
    handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        try:
            os.link(temporary, path)
        except FileExistsError:
            raise NegsimError(
                f"{path}: exists; negsim new never replaces a file (choose another name or --out)"
            ) from None
    finally:
        os.unlink(temporary)
    return path, scenario

"""Every YAML example of the docs validates, so no key a user copies from them is refused.

Each fenced ``yaml`` block of ``docs/*.md`` is checked as negsim reads a file
(:func:`negsim.scenario.load`, with every variant applied):

- a block with `name` and `calendar` is a complete scenario, loaded as it is;
- a block with `extends` names a bundled scenario (``geneva3.yaml``), which is
  given its path under ``scenarios/``;
- any other block is a fragment of the scenario the page is about and is
  written as a file that `extends` it: the page's first complete scenario
  (docs/scenario-format.md's ``tiny``), or ``scenarios/geneva3.yaml`` when the
  fragment names one of geneva3's events, variants or actors that the page's
  scenario lacks (the variants, hypotheses, record and `uncertain` examples
  are geneva3's). A fragment that is only list items (``- {id: ...}``) is a
  list of events and goes under `events:`;
- a block of alternatives for one key, one per line (the distributions'
  ``resolve: ...`` lines), has each line checked as that key of the page's
  government actor;
- a block of comments only (an editor's modeline) has nothing to validate.

A fragment is merged as `extends` merges: its mappings key by key, its events
by id. So an example that names something its page's scenario does not have
fails here, as it would for the user who copies it.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from negsim.errors import ScenarioError
from negsim.scenario import load

ROOT = Path(__file__).resolve().parents[2]
GENEVA3 = ROOT / "scenarios" / "geneva3.yaml"
_FENCE = re.compile(r"^```ya?ml\n(.*?)^```", re.S | re.M)


def _blocks() -> list[tuple[Path, int, str]]:
    found = []
    for page in sorted((ROOT / "docs").glob("*.md")):
        text = page.read_text(encoding="utf-8")
        for match in _FENCE.finditer(text):
            found.append((page, text.count("\n", 0, match.start()) + 1, match.group(1)))
    return found


BLOCKS = _blocks()


def _page_scenario(page: Path) -> str | None:
    """The first complete scenario of a page (None if it has none)."""
    for other, _, block in BLOCKS:
        data = yaml.safe_load(block)
        if other == page and isinstance(data, dict) and {"name", "calendar"} <= set(data):
            return block
    return None


def _words(value: object) -> set[str]:
    """Every key and text value in parsed YAML (the ids an example names)."""
    if isinstance(value, dict):
        keys = {part for k in value for part in str(k).split(".")}  # `uncertain`'s dotted paths
        return keys | {w for v in value.values() for w in _words(v)}
    if isinstance(value, list):
        return {w for v in value for w in _words(v)}
    return {str(value)} if isinstance(value, str) else set()


def _geneva3_ids() -> set[str]:
    scenario = load(GENEVA3).scenario
    return {e.id for e in scenario.events} | set(scenario.variants) | set(scenario.actors)


def _check(path: Path) -> None:
    try:
        load(path)
    except ScenarioError as error:
        pytest.fail("\n".join(str(p) for p in error.problems), pytrace=False)


def test_the_docs_have_yaml_examples() -> None:
    # The test below would pass on a page whose fences were renamed; ten is what the
    # reference holds today (a floor, not a count to keep in step).
    assert len(BLOCKS) >= 10


@pytest.mark.parametrize(
    ("page", "line", "block"),
    BLOCKS,
    ids=[f"{page.name}:{line}" for page, line, _ in BLOCKS],
)
def test_every_yaml_example_validates(tmp_path: Path, page: Path, line: int, block: str) -> None:
    data = yaml.safe_load(block)
    if data is None:
        assert all(not row.strip() or row.lstrip().startswith("#") for row in block.splitlines())
        return
    example = tmp_path / "example.yaml"
    if isinstance(data, dict) and {"name", "calendar"} <= set(data):
        example.write_text(block, encoding="utf-8")
        _check(example)
        return
    if isinstance(data, dict) and "extends" in data:
        assert data["extends"] == GENEVA3.name, "an example extends a bundled scenario"
        example.write_text(block.replace(GENEVA3.name, str(GENEVA3), 1), encoding="utf-8")
        _check(example)
        return
    scenario = _page_scenario(page)
    assert scenario is not None, f"{page.name}:{line}: a fragment on a page with no scenario"
    base = tmp_path / "page.yaml"
    base.write_text(scenario, encoding="utf-8")
    page_ids = _words(yaml.safe_load(scenario))
    rows = block.splitlines()
    keys = {row.split(":", 1)[0] for row in rows if row.strip()}
    if isinstance(data, dict) and len(keys) == 1 and len(rows) > 1:
        # Alternatives for one key: each line on its own, as a value of the government's.
        (key,) = keys
        government = next(
            k for k, v in yaml.safe_load(scenario)["actors"].items() if v["kind"] == "government"
        )
        for row in rows:
            value = yaml.safe_load(row)[key]
            child = {"extends": str(base), "actors": {government: {key: value}}}
            example.write_text(yaml.safe_dump(child), encoding="utf-8")
            _check(example)
        return
    if isinstance(data, list):
        block = "events:\n" + block
        data = {"events": data}
    named = _words(data) - page_ids
    parent = GENEVA3 if named & _geneva3_ids() else base
    example.write_text(f"extends: {parent}\n{block}", encoding="utf-8")
    _check(example)

"""The HTML report: one self-contained file a reader opens offline (``negsim report DIR``).

The report reads only the files of a results folder (and, optionally, of a
sweep folder), each checked against its manifest as ``negsim plot`` checks
them, plus the scenario file the manifest names when its sha256 is still the
one recorded. It computes no statistics: the verdicts, intervals and shares
are those of ``hypotheses.csv``, ``patterns.csv`` and ``robustness.csv``; the
figures are :mod:`negsim.plots`'s, embedded as PNG. It is rendered from a
Jinja2 template (``templates/report.html.j2``) with its stylesheet inlined,
so it needs no network and no other file. The same folders give
byte-identical reports.
"""

from __future__ import annotations

import base64
import io
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd

from negsim import __version__
from negsim.errors import NegsimError, ResultsError
from negsim.results import FolderKind, OutputFolder, Results, open_results

__all__ = ["REPORT", "ReportError", "ReportResult", "assumptions", "write_report"]

REPORT = FolderKind(what="report", record="report.json", writer="negsim report", strict=False)
"""Report folders: other files may sit beside the report; only the listed report is replaced."""

_TAG = re.compile(r"\[(article|record|assumption)\]")
_KEY = re.compile(r"^(?P<indent>\s*)(?P<dash>-\s+)?(?P<key>[A-Za-z_][\w.\-]*)\s*:(?P<rest>.*)$")

_FIGURE_CAPTIONS = {
    "fan_bargaining_range": "Bargaining range over time: median and bands of runs per variant, "
    "each variant's events on the strip above (numbers: key below the chart).",
    "fan_opposition_cohesion": "Opposition cohesion over time.",
    "fan_control_government": "Territory held by the government over time.",
    "fan_willingness_opposition": "The opposition's willingness to talk, week by week.",
    "fan_willingness_government": "The government's willingness to talk, week by week.",
    "verdicts": "Every verdict: effect and interval in the metric's own unit, one panel per kind "
    "of metric, the shading marking where each verdict lies.",
    "differences": "The paired differences (treatment − control, replication by replication) "
    "behind each verdict.",
    "outcomes": "Chance of agreement and the terms agreed, by variant, with the number of runs.",
    "territory": "Each actor's share of territory over time, with the spread of runs.",
    "talks": "The talks themselves: who is at the table, offers and demands, the cumulative "
    "chance of agreement, ceasefires and whether they held, walkouts by side.",
}


class ReportError(NegsimError):
    """One-line, user-facing problem with the folders a report is made from."""


@dataclass(frozen=True)
class ReportResult:
    """What :func:`write_report` did."""

    path: Path
    """The HTML file written."""
    problems: list[str] = field(default_factory=list)
    """One line per figure or table that could not be shown (the rest of the report is there)."""
    notes: list[str] = field(default_factory=list)
    """Things the reader should know (no sweep folder, the scenario file changed since the run)."""


# --------------------------------------------------------------------------- reading


def _table(results: Results, name: str) -> pd.DataFrame | None:
    if name not in results.files:
        return None
    data = results.read_bytes(name)
    try:
        return pd.read_csv(
            io.BytesIO(data), dtype=str, keep_default_na=False, na_values=[""], encoding="utf-8"
        )
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError, ValueError):
        return None


def _rows(frame: pd.DataFrame | None) -> list[dict[str, str]]:
    if frame is None:
        return []
    return [
        {str(k): ("" if pd.isna(v) else str(v)) for k, v in row.items()}
        for row in frame.to_dict("records")
    ]


def assumptions(text: str) -> list[dict[str, Any]]:
    """Every value of a scenario file whose comment tags its source.

    A scenario says where each number comes from in a comment:
    ``resolve: 0.8   # [article] "no peace short of victory"``. Tags are
    ``[article]``, ``[record]`` and ``[assumption]``; a comment on the lines
    below (indented, nothing else on the line) continues it.

    Returns:
        ``{"line", "path", "value", "tags", "note"}`` per tagged value, in file order.
    """
    out: list[dict[str, Any]] = []
    stack: list[tuple[int, str]] = []
    last: dict[str, Any] | None = None
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if stripped.startswith("#"):
            if last is not None and line.startswith(" "):
                last["note"] = (last["note"] + " " + stripped.lstrip("# ").strip()).strip()
            continue
        last = None
        match = _KEY.match(line)
        if not match or stripped.startswith("- ") and match.group("dash") is None:
            continue
        indent = len(match.group("indent")) + (len(match.group("dash") or "") and 2)
        rest = match.group("rest")
        value, _, comment = rest.partition(" #")
        value = value.strip()
        key = match.group("key")
        while stack and stack[-1][0] >= (
            len(match.group("indent")) if match.group("dash") else indent
        ):
            stack.pop()
        if match.group("dash") is not None and key == "id":
            # A list item named by its id (events.<id>.field): its fields sit deeper than the dash.
            stack.append((len(match.group("indent")), value))
            label = value
        else:
            stack.append((indent, key))
            label = ""
        tags = _TAG.findall(comment)
        if not tags:
            continue
        path = ".".join(k for _, k in stack)
        note = comment.strip(" #;") if len(tags) > 1 else _TAG.sub("", comment).strip(" #;")
        note = " ".join(note.split())
        last = {
            "line": number,
            "path": path,
            "value": label or value,
            "tags": list(dict.fromkeys(tags)),
            "note": note,
        }
        out.append(last)
    return out


def _scenario(results: Results, notes: list[str]) -> tuple[Any, str | None]:
    """The run's scenario file (loaded) and its text, when found unchanged."""
    from negsim.plots import scenario_of

    manifest = results.manifest
    named = manifest.get("scenario")
    scenario_file = scenario_of(results.folder, manifest)
    if scenario_file is None:
        notes.append(
            f"scenario file {named!r} not found or changed since the run: actors, variants and "
            "assumptions are not shown (run `negsim report` where the scenario is, or run again)"
            if named
            else "the manifest names no scenario file: actors, variants and assumptions not shown"
        )
        return None, None
    return scenario_file, Path(scenario_file.path).read_text(encoding="utf-8")


def _sweep(sweep_dir: Path, notes: list[str]) -> list[dict[str, str]]:
    """robustness.csv of a sweep folder, its files and manifest checked as `negsim plot` does."""
    from negsim.results.reader import open_sweep

    try:
        return _rows(open_sweep(sweep_dir).table("robustness.csv", text=True))
    except ResultsError as error:
        raise ReportError(str(error)) from None


# --------------------------------------------------------------------------- the page


def _summary(scenario_file: Any) -> dict[str, Any]:
    scenario = scenario_file.scenario
    actors = [
        {
            "id": key,
            "kind": getattr(actor, "kind", ""),
            "name": actor.name or key,
            "note": actor.note or "",
        }
        for key, actor in scenario.actors.items()
    ]
    variants = []
    for name, variant in scenario.variants.items():
        edits = []
        if variant.remove_events:
            edits.append("removes " + ", ".join(variant.remove_events))
        if variant.move_events:
            edits.append(
                "moves " + ", ".join(f"{k} to {v}" for k, v in variant.move_events.items())
            )
        if variant.add_events:
            edits.append("adds " + ", ".join(e.id for e in variant.add_events))
        if variant.set:
            edits.append("sets " + ", ".join(f"{k} = {v}" for k, v in variant.set.items()))
        variants.append(
            {
                "name": name,
                "description": " ".join((variant.description or "").split()),
                "edits": "; ".join(edits),
            }
        )
    hypotheses = [
        {
            "name": name,
            "description": " ".join((h.description or "").split()),
            "metrics": ", ".join(([h.metric] if h.metric else []) + list(h.metrics)),
            "treatment": h.treatment,
            "control": h.control,
            "expected": h.expected,
        }
        for name, h in scenario.hypotheses.items()
    ]
    return {
        "description": " ".join((scenario.description or "").split()),
        "start": str(scenario.calendar.start),
        "end": str(scenario.calendar.end),
        "issue": {
            "name": scenario.issue.name,
            "low": getattr(scenario.issue, "low", ""),
            "high": getattr(scenario.issue, "high", ""),
        },
        "actors": actors,
        "variants": variants,
        "hypotheses": hypotheses,
    }


def _events_by_id(events: pd.DataFrame | None, variants: list[str]) -> list[dict[str, Any]]:
    rows = _rows(events)
    by_id: dict[str, dict[str, Any]] = {}
    for row in rows:
        key = row.get("id") or row.get("label", "")
        entry = by_id.setdefault(
            key,
            {
                "id": key,
                "date": row.get("date", ""),
                "type": row.get("type", ""),
                "label": row.get("label", ""),
                "in": [],
            },
        )
        if row.get("variant") == "base":
            entry["date"] = row.get("date", "")
        entry["in"].append(row.get("variant", ""))
    for entry in by_id.values():
        entry["in"] = [v for v in variants if v in entry["in"]]
        entry["not_in"] = [v for v in variants if v not in entry["in"]]
    return sorted(by_id.values(), key=lambda e: (e["date"], e["id"]))


def _provenance(manifest: dict[str, Any]) -> tuple[list[tuple[str, str]], list[dict[str, Any]]]:
    keys = [(str(k), _show(v)) for k, v in manifest.items() if k != "files"]
    files = [
        {"name": name, **{k: str(entry.get(k, "")) for k in ("rows", "bytes", "sha256")}}
        for name, entry in (manifest.get("files") or {}).items()
    ]
    return keys, files


def _show(value: Any) -> str:
    if isinstance(value, list | tuple):
        return " ".join(str(v) for v in value) if value else "none"
    return "" if value is None else str(value)


def _environment() -> Any:
    import jinja2

    return jinja2.Environment(
        loader=jinja2.PackageLoader("negsim.report", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render(results_dir: Path, sweep_dir: Path | None = None) -> tuple[str, list[str], list[str]]:
    """The report of a results folder as HTML text, with its problems and notes.

    Raises:
        ReportError: the results folder (or the sweep folder) is not one, or a
            file does not match its manifest (one line per file).
    """
    from negsim.plots import PlotError, read_stamp, render_figures

    results_dir = Path(results_dir)
    try:
        results = open_results(results_dir)
    except ResultsError as error:
        raise ReportError(str(error)) from None
    notes: list[str] = []
    problems: list[str] = []
    manifest = results.manifest
    stamp = read_stamp(results_dir, manifest)
    try:
        scenario_file, scenario_text = _scenario(results, notes)
    except ResultsError as error:  # the manifest disagrees with the scenario file it names
        raise ReportError(str(error)) from None
    name = stamp.scenario
    if sweep_dir is None:
        found = results_dir.parent / f"{name}-sweep"
        if (found / "manifest.json").is_file():
            sweep_dir = found
    robustness = _sweep(Path(sweep_dir), notes) if sweep_dir is not None else []
    if sweep_dir is None:
        notes.append(
            f"no sweep folder given or found ({results_dir.parent / (name + '-sweep')}): "
            "robustness of the verdicts not shown"
        )
    try:
        hypotheses = _rows(_table(results, "hypotheses.csv"))
        patterns = _rows(_table(results, "patterns.csv"))
        events = _table(results, "events.csv")
        figures, figure_problems, skipped = render_figures(results_dir)
    except (ResultsError, PlotError) as error:
        raise ReportError(str(error)) from None
    problems += figure_problems
    notes += [f"figure skipped: {s}" for s in skipped]
    variants = [str(v) for v in manifest.get("variants") or []]
    has_record = any(row.get("record_verdict") for row in hypotheses)
    by_hypothesis: dict[str, list[dict[str, str]]] = {}
    for row in robustness:
        by_hypothesis.setdefault(f"{row.get('hypothesis')}|{row.get('metric')}", []).append(row)
    for row in hypotheses:
        row["robustness"] = by_hypothesis.get(f"{row.get('hypothesis')}|{row.get('metric')}", [])  # type: ignore[assignment]
    keys, files = _provenance(manifest)
    css = resources.files("negsim.report").joinpath("assets/report.css").read_text("utf-8")
    page = (
        _environment()
        .get_template("report.html.j2")
        .render(
            stamp=stamp,
            name=name,
            scenario=_summary(scenario_file) if scenario_file is not None else None,
            assumptions=assumptions(scenario_text) if scenario_text is not None else [],
            scenario_path=str(manifest.get("scenario", "")),
            events=_events_by_id(events, variants),
            variants=variants,
            hypotheses=hypotheses,
            has_record=has_record,
            record_runs=_show(manifest.get("record_runs")),
            robustness=bool(robustness),
            sweep_dir=str(sweep_dir) if sweep_dir is not None else "",
            patterns=patterns,
            figures=[
                {
                    "name": fig_name,
                    "caption": _FIGURE_CAPTIONS.get(fig_name, ""),
                    "data": base64.b64encode(png).decode("ascii"),
                }
                for fig_name, png in figures
            ],
            provenance=keys,
            files=files,
            notes=notes,
            problems=problems,
            negsim=__version__,
            css=css,
        )
    )
    return page, problems, notes


# About how large a report is (measured: 4.4 MB for geneva3's, figures embedded),
# to refuse a disk without the room before drawing.
_REPORT_BYTES = 8_000_000


def _write_bytes(path: Path, data: bytes) -> None:
    path.write_bytes(data)


def write_report(
    results_dir: Path,
    out_dir: Path | None = None,
    sweep_dir: Path | None = None,
    *,
    wait: bool = False,
) -> ReportResult:
    """Write the HTML report of a results folder.

    Args:
        results_dir: A folder written by ``negsim run``.
        out_dir: Folder for the report [default: ``results_dir / "report"``];
            the file is ``<scenario name>.html``, listed in ``report.json``
            (only a report negsim wrote there is ever replaced).
        sweep_dir: A ``negsim sweep`` folder of the same scenario, for the
            verdicts' robustness [default: ``<results_dir>/../<name>-sweep`` if it exists].
        wait: Wait for another negsim process writing ``out_dir`` instead of failing.

    Raises:
        ReportError: a folder is not what it should be, a file does not match
            its manifest, or the report folder cannot be written.
    """
    results_dir = Path(results_dir)
    try:
        from negsim.plots import read_stamp

        name = read_stamp(results_dir, open_results(results_dir).manifest).scenario
        filename = re.sub(r"[^\w.-]", "_", name) + ".html"
        output = OutputFolder(
            Path(out_dir) if out_dir is not None else results_dir / "report",
            REPORT,
            names=[filename, REPORT.record],
            estimate=_REPORT_BYTES,
            wait=wait,
        )
        # Checked and locked before the long work of drawing, as `negsim run`
        # locks its folder before simulating: a folder in use or in the way
        # fails at once, and an interrupted report leaves nothing behind.
        with output.open():
            page, problems, notes = render(results_dir, sweep_dir)
            data = page.encode("utf-8")
            output.write_file(filename, lambda path: _write_bytes(path, data))
            output.commit({"negsim": __version__, "results": str(results_dir)})
    except ResultsError as error:
        raise ReportError(str(error)) from None
    return ReportResult(output.path / filename, problems, notes)

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
from negsim.report.summary import (
    CAVEAT_MEANINGS,
    CAVEATS,
    SENSITIVE_SHARE,
    Line,
    all_caveats,
    line_of,
    relabel_p,
    title_of,
)
from negsim.results import FolderKind, OutputFolder, Results, open_results
from negsim.results.folder import DRAWN, RESULTS_SHA256, drawn_files, results_identity

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
    "posterior": "Each assumption drawn per run: its values over every base run (prior) and over "
    "the runs that reproduce the record (posterior, by rejection).",
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


@dataclass(frozen=True)
class _Stamp:
    """What the report's header says of the run (as `negsim.plots.Stamp` says on every figure).

    Here rather than imported from `negsim.plots`: that module loads matplotlib
    (a second), which a report made from the figures `negsim plot` drew never needs.
    """

    scenario: str
    runs: str
    seed: str

    @classmethod
    def of(cls, results_dir: Path, manifest: dict[str, Any]) -> _Stamp:
        runs, seed = manifest.get("runs"), manifest.get("seed")
        return cls(
            str(manifest.get("scenario_name") or Path(results_dir).resolve().name),
            str(runs) if type(runs) is int else "?",
            str(seed) if type(seed) is int else "?",
        )

    def text(self) -> str:
        return f"{self.scenario} · {self.runs} runs per variant · seed {self.seed}"


def _scenario_of(results_dir: Path, manifest: dict[str, Any]) -> Any:
    """The run's scenario file (a ``ScenarioFile``) when found unchanged, as `negsim plot` reads it.

    The same rule as `negsim.plots.scenario_of` (the file as named or relative
    to the results folder, its sha256 the manifest's, the manifest's claims
    checked against it), without loading matplotlib.
    """
    named = manifest.get("scenario")
    if not isinstance(named, str):
        return None
    path = Path(named)
    candidates = [path] if path.is_absolute() else [Path.cwd() / path, results_dir / path]
    found = next((p for p in candidates if p.is_file()), None)
    if found is None:
        return None
    import hashlib

    from negsim.scenario import loader

    try:
        if hashlib.sha256(found.read_bytes()).hexdigest() != manifest.get("scenario_sha256"):
            return None
        scenario_file = loader.load(found)
    except (NegsimError, OSError):
        return None
    from negsim.results.reader import check_scenario

    check_scenario(results_dir / "manifest.json", manifest, scenario_file.scenario)
    return scenario_file


def _scenario(results: Results, notes: list[str]) -> tuple[Any, str | None]:
    """The run's scenario file (loaded) and its text, when found unchanged."""
    manifest = results.manifest
    named = manifest.get("scenario")
    scenario_file = _scenario_of(results.folder, manifest)
    if scenario_file is None:
        notes.append(
            f"scenario file {named!r} not found or changed since the run: actors, variants and "
            "assumptions are not shown (run `negsim report` where the scenario is, or run again)"
            if named
            else "the manifest names no scenario file: actors, variants and assumptions not shown"
        )
        return None, None
    return scenario_file, Path(scenario_file.path).read_text(encoding="utf-8")


def _sweep(
    sweep_dir: Path, manifest: dict[str, Any], given: bool, notes: list[str]
) -> tuple[list[dict[str, str]], dict[str, Any]]:
    """robustness.csv of a sweep folder of the same scenario, and the sweep's design.

    The sweep's files and manifest are checked as `negsim plot` checks them, and
    its scenario against the results': the same name and the same sha256 of the
    scenario file (a sweep of another scenario, or of another version of this
    one, would show another model's robustness as these verdicts'). A sweep given
    with ``--sweep`` that does not match is refused; one found beside the
    results is left out with a note.
    """
    from negsim.results.reader import open_sweep

    try:
        sweep = open_sweep(sweep_dir)
    except ResultsError as error:
        raise ReportError(str(error)) from None
    document = sweep.manifest
    name, sweep_name = manifest.get("scenario_name"), document.get("scenario_name")
    ours, theirs = manifest.get("scenario_sha256"), document.get("scenario_sha256")
    problem = ""
    if sweep_name != name:
        problem = (
            f"{sweep_dir}: a sweep of {sweep_name or 'an unnamed scenario'!r}, not of {name!r} "
            "(the results' scenario): its robustness is not these verdicts'"
        )
    elif not isinstance(theirs, str) or not isinstance(ours, str):
        problem = (
            f"{sweep_dir}: the sweep or the results record no scenario sha256, so negsim "
            f"cannot tell that both ran the same {name!r}; sweep it again"
        )
    elif theirs != ours:
        problem = (
            f"{sweep_dir}: a sweep of another version of {name!r} (scenario sha256 "
            f"{theirs[:12]}…, the results' {ours[:12]}…): sweep or run the same file again"
        )
    if problem:
        if given:
            raise ReportError(problem)
        notes.append(problem + "; robustness not shown")
        return [], {}
    try:
        rows = _rows(sweep.table("robustness.csv", text=True))
    except ResultsError as error:
        raise ReportError(str(error)) from None
    design = {
        "folder": str(sweep_dir),
        "method": str(document.get("method") or "?"),
        "samples": document.get("samples"),
        "points": document.get("points"),
        "runs": document.get("runs"),
        "total_runs": document.get("total_runs"),
        "factors": len(document.get("factors") or []),
        "seed": document.get("seed"),
    }
    return rows, design


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


def _figures(
    results_dir: Path, manifest: dict[str, Any], notes: list[str]
) -> tuple[list[tuple[str, bytes]], list[str], list[str]]:
    """The figures as PNG: those `negsim plot` drew into ``figures/`` when they show these
    very results (figures.json's results_sha256, every file's sha256), else drawn now."""
    drawn = drawn_files(results_dir / "figures", DRAWN[0], manifest)
    pngs = {
        name.removesuffix(".png"): path for name, path in drawn.items() if name.endswith(".png")
    }
    if pngs:
        notes.append(
            f"figures: those `negsim plot` drew in {results_dir / 'figures'} (they show "
            "these results: figures.json records their sha256)"
        )
        # In the order negsim plot draws them (as `_FIGURE_CAPTIONS` lists them), any other last.
        known = list(_FIGURE_CAPTIONS)
        stems = sorted(pngs, key=lambda stem: known.index(stem) if stem in known else len(known))
        return [(stem, pngs[stem].read_bytes()) for stem in stems], [], []
    from negsim.plots import render_figures

    return render_figures(results_dir)


def _claim(description: str, name: str) -> str:
    """A hypothesis' claim in a few words: its description up to the first colon."""
    text = " ".join(description.split()).rstrip(".")
    head = text.split(":", 1)[0].strip()
    return head or name.replace("_", " ")


def _reason(row: dict[str, Any]) -> str:
    """A verdict sentence without its claim and variants (shown once per hypothesis above it)."""
    sentence = relabel_p(str(row.get("sentence", "")))
    at = sentence.find(f"{row.get('treatment')} vs {row.get('control')}")
    end = sentence.find("): ", at) if at >= 0 else -1
    if end < 0:
        return sentence
    rest = sentence[end + 3 :]
    return rest[:1].upper() + rest[1:]


def _answer(hypotheses: list[dict[str, Any]], scenario_file: Any) -> list[dict[str, Any]]:
    """The summary box: per hypothesis its claim, and per row its numbers and caveats."""
    descriptions: dict[str, str] = {}
    if scenario_file is not None:
        descriptions = {
            key: h.description or "" for key, h in scenario_file.scenario.hypotheses.items()
        }
    groups: dict[str, dict[str, Any]] = {}
    for row in hypotheses:
        key = str(row.get("hypothesis", ""))
        group = groups.setdefault(
            key,
            {
                "name": key,
                "claim": _claim(descriptions.get(key, ""), key),
                "description": " ".join(descriptions.get(key, "").split()),
                "treatment": row.get("treatment", ""),
                "control": row.get("control", ""),
                "expected": row.get("expected", ""),
                "rows": [],
            },
        )
        robustness = row.get("robustness") or []
        line: Line = line_of(row, robustness)
        record = line_of(row, prefix="record_") if row.get("record_verdict") else None
        same = next((r for r in robustness if r.get("verdict") == line.verdict), None)
        group["rows"].append(
            {
                "line": line,
                "record": record,
                "words": _metric_words(line.metric),
                "reason": _reason(row),
                "record_reason": _reason({**row, "sentence": row.get("record_sentence", "")})
                if row.get("record_sentence")
                else "",
                "sweep_share": (f"{float(same.get('share') or 0) * 100:.0f} %" if same else "0 %")
                if robustness
                else "",
                "robustness": robustness,
            }
        )
    return list(groups.values())


def _metric_words(metric: str) -> str:
    from negsim.analysis.verdicts import BINARY_SUBJECTS

    if metric in BINARY_SUBJECTS:
        return f"chance of {BINARY_SUBJECTS[metric]}"
    return metric.replace("_", " ")


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

    results_dir = Path(results_dir)
    try:
        results = open_results(results_dir)
    except ResultsError as error:
        raise ReportError(str(error)) from None
    notes: list[str] = []
    problems: list[str] = []
    manifest = results.manifest
    stamp = _Stamp.of(results_dir, manifest)
    try:
        scenario_file, scenario_text = _scenario(results, notes)
    except ResultsError as error:  # the manifest disagrees with the scenario file it names
        raise ReportError(str(error)) from None
    name = stamp.scenario
    given_sweep = sweep_dir is not None
    if sweep_dir is None:
        found = results_dir.parent / f"{name}-sweep"
        if (found / "manifest.json").is_file():
            sweep_dir = found
    robustness: list[dict[str, str]] = []
    design: dict[str, Any] = {}
    if sweep_dir is not None:
        robustness, design = _sweep(Path(sweep_dir), manifest, given_sweep, notes)
    if sweep_dir is None:
        notes.append(
            f"no sweep folder given or found ({results_dir.parent / (name + '-sweep')}): "
            "robustness of the verdicts not shown"
        )
    try:
        hypotheses = _rows(_table(results, "hypotheses.csv"))
        patterns = _rows(_table(results, "patterns.csv"))
        events = _table(results, "events.csv")
        figures, figure_problems, skipped = _figures(results_dir, manifest, notes)
    except (ResultsError, NegsimError) as error:  # a PlotError is a NegsimError
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
    answer = _answer(hypotheses, scenario_file)
    keys, files = _provenance(manifest)
    title, question = title_of(
        name, scenario_file.scenario.description if scenario_file is not None else None
    )
    css = resources.files("negsim.report").joinpath("assets/report.css").read_text("utf-8")
    page = (
        _environment()
        .get_template("report.html.j2")
        .render(
            stamp=stamp,
            name=name,
            title=title,
            question=question,
            answer=answer,
            caveats=[
                {"name": CAVEATS.get(c, c), "meaning": CAVEAT_MEANINGS.get(c, "")}
                for c in all_caveats(
                    [r["line"] for g in answer for r in g["rows"]]
                    + [r["record"] for g in answer for r in g["rows"] if r["record"]]
                )
            ],
            design=design,
            sensitive_share=f"{SENSITIVE_SHARE:.0%}",
            scenario=_summary(scenario_file) if scenario_file is not None else None,
            assumptions=assumptions(scenario_text) if scenario_text is not None else [],
            scenario_path=str(manifest.get("scenario", "")),
            events=_events_by_id(events, variants),
            variants=variants,
            hypotheses=hypotheses,
            hypotheses_by_key={f"{h.get('hypothesis')}|{h.get('metric')}": h for h in hypotheses},
            caveat_names=CAVEATS,
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
        manifest = open_results(results_dir).manifest
        name = _Stamp.of(results_dir, manifest).scenario
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
            output.commit(
                {
                    "negsim": __version__,
                    "results": str(results_dir),
                    # The results shown: a rerun of the folder removes a report that no longer matches.
                    RESULTS_SHA256: results_identity(manifest),
                }
            )
    except ResultsError as error:
        raise ReportError(str(error)) from None
    return ReportResult(output.path / filename, problems, notes)

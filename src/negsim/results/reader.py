"""Reading a results or sweep folder back, every file and the manifest itself checked.

Nothing is drawn or reported from a folder until:

* every file ``manifest.json`` lists has the size, row count and sha256 it
  records (a file truncated by a full disk, edited by hand or replaced by
  another run is an error naming the file);
* the manifest's own fields have their types (whole numbers, finite numbers,
  lists of names: `RunManifest`, `SweepManifest`), so an edited ``"runs":
  NaN`` never reaches a figure's stamp;
* what the manifest claims agrees with the files: a results folder's
  ``runs`` and ``variants`` with the rows, variants and replications of
  ``runs.csv`` (or ``runs.parquet``), ``record_runs`` with the runs marked as
  reproducing the record, its ``seed`` and ``runs`` with the command that
  wrote it; a sweep folder's fields with the identity its checkpoint was
  checked against, its ``points`` with its design and ``sweep.csv``.

Every mismatch is one line ``FILE: field: what is wrong``; the readers
(`open_results`, `open_sweep`) raise them together as one `ResultsError`.
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from negsim.errors import ResultsError
from negsim.results.filesystem import reason
from negsim.results.folder import FolderKind, Record, file_digest, read_record
from negsim.results.writer import MANIFEST, RESULTS, RUNS_PARQUET, SERIES

# ------------------------------------------------------------------ the manifest's own fields

Name = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
"""A scenario's or variant's name (the scenario schema's identifiers)."""
Count = Annotated[int, Field(ge=1)]
Whole = Annotated[int, Field(ge=0)]
Seconds = Annotated[float, Field(ge=0)]
Share = Annotated[float, Field(gt=0, lt=1)]
Sha256 = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]


class _Fields(BaseModel):
    # Strict: a manifest holds JSON numbers, so "30", 30.0, true or NaN for a
    # count were put there by hand. Unknown keys are allowed (a newer negsim).
    model_config = ConfigDict(extra="allow", strict=True, allow_inf_nan=False, frozen=True)


class Issue(_Fields):
    name: str | None = None
    low: str | None = None
    high: str | None = None


class RunManifest(_Fields):
    """The fields of a results folder's ``manifest.json`` (see docs/results.md).

    Each is optional (a folder written by an older negsim or by hand may lack
    it), but one that is there must have its type and agree with the files.
    """

    negsim: str
    scenario: str | None = None
    scenario_name: Name | None = None
    scenario_sha256: Sha256 | None = None
    government: str | None = None
    issue: Issue | None = None
    seed: Whole | None = None
    runs: Count | None = None
    runs_auto: list[Count] | None = None
    pairing: str | None = None
    chunk_size: Count | None = None
    executor: str | None = None
    variants: Annotated[list[Name], Field(min_length=1)] | None = None
    confidence: Share | None = None
    bootstrap_resamples: Whole | None = None
    hypotheses_skipped: list[str] | None = None
    observed_patterns: Whole | None = None
    record_runs: Whole | None = None
    given_record: bool | None = None
    elapsed_seconds: Seconds | None = None
    created: str | None = None
    command: list[str] | None = None


class SweepFactor(_Fields):
    path: str
    source: str | None = None


class SweepSection(_Fields):
    identity: dict[str, Any]


class SweepManifest(_Fields):
    """The fields of a sweep folder's ``manifest.json``, optional as `RunManifest`'s are."""

    negsim: str
    scenario: str | None = None
    scenario_name: Name | None = None
    scenario_sha256: Sha256 | None = None
    method: Literal["morris", "sobol", "lhs"] | None = None
    samples: Count | None = None
    points: Count | None = None
    runs: Count | None = None
    seed: Whole | None = None
    chunk_size: Count | None = None
    variants: Annotated[list[Name], Field(min_length=1)] | None = None
    factors: Annotated[list[SweepFactor], Field(min_length=1)] | None = None
    confidence: Share | None = None
    bootstrap_resamples: Whole | None = None
    total_runs: Count | None = None
    points_resumed: Whole | None = None
    elapsed_seconds: Seconds | None = None
    command: list[str] | None = None
    sweep: SweepSection | None = None


def _got(value: Any) -> str:
    if isinstance(value, float) and not math.isfinite(value):  # JSON's own spelling
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    shown = repr(value)
    return shown if len(shown) <= 40 else shown[:37] + "..."


_MESSAGES = {
    "int_type": "must be a whole number",
    "float_type": "must be a number",
    "finite_number": "must be a finite number",
    "string_type": "must be text",
    "list_type": "must be a list",
    "dict_type": "must be an object",
    "bool_type": "must be true or false",
    "missing": "missing",
}


def _field_problems(path: Path, error: ValidationError) -> list[str]:
    lines = []
    for problem in error.errors():
        where = ".".join(str(part) for part in problem["loc"])
        message = _MESSAGES.get(
            problem["type"],
            str(problem["msg"]).removeprefix("Input ").replace("should be", "must be", 1),
        )
        got = "" if problem["type"] == "missing" else f" (got {_got(problem['input'])})"
        lines.append(f"{path}: {where}: {message}{got}")
    return lines


def _fields[M: _Fields](record: Record, model: type[M]) -> M:
    try:
        return model.model_validate(record.document)
    except ValidationError as error:
        raise ResultsError("\n".join(_field_problems(record.path, error))) from None


# ------------------------------------------------------------------ the files


def count_rows(text: Iterable[str]) -> int | None:
    """Data rows of a CSV text (its header not counted); None if it is not readable CSV."""
    try:
        return max(0, sum(1 for _ in csv.reader(text)) - 1)
    except csv.Error:
        return None


def _rows_in_file(path: Path) -> int | None:
    if path.suffix == ".parquet":
        try:
            import pyarrow.parquet as pq

            return int(pq.ParquetFile(path).metadata.num_rows)
        except Exception:  # not Parquet (pyarrow raises its own types), or no pyarrow
            return None
    try:
        # Without quotes or carriage returns, a record is a line: count newlines (0.3 s
        # for 280 MB, where the csv module takes 13 s); else parse the quoting.
        lines, last, plain = 0, b"\n", True
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                if b'"' in block or b"\r" in block:
                    plain = False
                    break
                lines += block.count(b"\n")
                last = block[-1:]
        if plain:
            return max(0, lines + (last != b"\n") - 1)
        with open(path, encoding="utf-8", errors="replace", newline="") as text:
            return count_rows(text)
    except OSError:
        return None


def _mismatch(
    path: Path, sha256: str, size: int, entry: dict[str, Any], rows: Callable[[], int | None]
) -> str | None:
    """Why the file is not the one the manifest describes, or None if it is."""
    if sha256 == entry["sha256"]:
        return None
    recorded = entry.get("rows")
    if recorded is not None and path.suffix == ".csv":
        found = rows()
        if found is not None and found != recorded:
            return (
                f"{path}: {found} rows where {MANIFEST} records {recorded} "
                "(truncated or changed since negsim wrote it)"
            )
    if size != entry.get("bytes"):
        return (
            f"{path}: {size} bytes where {MANIFEST} records {entry.get('bytes')} "
            "(changed since negsim wrote it)"
        )
    return f"{path}: changed since negsim wrote it (its sha256 differs from {MANIFEST})"


def _check_files(folder: Path, record: Record) -> list[str]:
    """One line per listed file that is missing, unreadable or not what the record says.

    A file whose bytes match still has its recorded size and row count checked:
    an edited ``rows`` would otherwise be believed. A record whose seal (the
    sha256 of its own content, written by negsim) no longer matches was edited.
    """
    problems = []
    if getattr(record, "edited", False):
        problems.append(
            f"{record.path}: changed since negsim wrote it (its own checksum, "
            "record_sha256, no longer matches its content)"
        )
    for name, entry in record.files.items():
        path = folder / name
        if not isinstance(entry.get("sha256"), str):
            problems.append(f"{record.path}: files[{name}].sha256: missing or not text")
            continue
        for key in ("bytes", "rows"):
            value = entry.get(key)
            if value is not None and (type(value) is not int or value < 0):
                problems.append(
                    f"{record.path}: files[{name}].{key}: must be a whole number (got {_got(value)})"
                )
        try:
            size, sha256 = file_digest(path)
        except FileNotFoundError:
            problems.append(f"{path}: missing ({MANIFEST} lists it)")
            continue
        except OSError as error:
            problems.append(f"{path}: cannot read: {reason(error)}")
            continue
        problem = _mismatch(path, sha256, size, entry, partial(_rows_in_file, path))
        if problem:
            problems.append(problem)
            continue
        if type(entry.get("bytes")) is int and entry["bytes"] != size:
            problems.append(
                f"{record.path}: files[{name}].bytes: {entry['bytes']}, but {name} has {size}"
            )
        recorded = entry.get("rows")
        if type(recorded) is int and path.suffix in (".csv", ".parquet"):
            found = _rows_in_file(path)
            if found is not None and found != recorded:
                problems.append(
                    f"{record.path}: files[{name}].rows: {recorded}, but {name} has {found} rows"
                )
    return problems


def _open_record(folder: Path, kind: FolderKind, what: str, writer: str) -> Record:
    folder = Path(folder)
    try:
        if not folder.is_dir():
            raise ResultsError(f"{folder}: no such {what} folder")
    except OSError as error:  # e.g. a name longer than the file system allows
        raise ResultsError(f"{folder}: not a usable folder: {reason(error)}") from None
    record = read_record(folder / MANIFEST, kind)
    if record is None:
        raise ResultsError(
            f"{folder}: not a {what} folder (no {MANIFEST}; write one with {writer})"
        )
    if not record.listed:
        raise ResultsError(
            f"{record.path}: lists no checksums of its files (written by an older negsim); "
            f"run {writer} again"
        )
    return record


def _read_columns(path: Path, wanted: Sequence[str]) -> Any:
    """The columns of ``wanted`` a table has, as strings (a pandas frame); None if unreadable."""
    import pandas as pd

    try:
        if path.suffix == ".parquet":
            import pyarrow.parquet as pq

            present = [c for c in wanted if c in pq.ParquetFile(path).schema_arrow.names]
            frame = pd.read_parquet(path, columns=present)
            return frame.astype(str).where(frame.notna(), "")
        return pd.read_csv(
            path,
            usecols=lambda column: column in wanted,
            dtype=str,
            keep_default_na=False,
            encoding="utf-8",
        )
    except Exception:  # unreadable tables are the figures' problem, reported there
        return None


# ------------------------------------------------------------------ results folders


@dataclass(frozen=True)
class Results:
    """A results folder whose files and manifest were all checked when opened."""

    folder: Path
    manifest: dict[str, Any]
    files: dict[str, dict[str, Any]]

    def read_bytes(self, name: str) -> bytes:
        """The bytes of file ``name``, checked again (another run may have replaced it since).

        Raises:
            ResultsError: the file is not listed, cannot be read or no longer matches.
        """
        path = self.folder / name
        entry = self.files.get(name)
        if entry is None:
            raise ResultsError(f"{path}: not listed in {MANIFEST}")
        try:
            data = path.read_bytes()
        except OSError as error:
            raise ResultsError(f"{path}: cannot read: {reason(error)}") from None
        problem = _mismatch(
            path,
            hashlib.sha256(data).hexdigest(),
            len(data),
            entry,
            lambda: count_rows(io.StringIO(data.decode("utf-8", errors="replace"), newline="")),
        )
        if problem:
            raise ResultsError(problem)
        return data

    def check_scenario(self, scenario: Any) -> None:
        """See `check_scenario`."""
        check_scenario(self.folder / MANIFEST, self.manifest, scenario)


def check_scenario(path: Path, manifest: dict[str, Any], scenario: Any) -> None:
    """Check a results manifest against the scenario file it names, found unchanged.

    ``scenario`` is the loaded `Scenario` of the file the manifest names,
    whose sha256 is the recorded one. Its name must be the manifest's
    ``scenario_name``; its seed the manifest's ``seed`` when the command line
    recorded gave none; the variants run must be its own.

    Raises:
        ResultsError: one line per field that disagrees.
    """
    problems = []
    name = manifest.get("scenario_name")
    if name is not None and name != scenario.name:
        problems.append(
            f"{path}: scenario_name: {name!r}, but the scenario file it names "
            f"({manifest.get('scenario')}) is {scenario.name!r}"
        )
    command = manifest.get("command")
    seed = manifest.get("seed")
    if (
        isinstance(command, list)
        and command[:2] == ["negsim", "run"]
        and _option(command, "--seed") is None
        and seed is not None
        and seed != scenario.experiment.seed
    ):
        problems.append(
            f"{path}: seed: {seed}, but the command recorded gives no --seed and the "
            f"scenario's experiment.seed is {scenario.experiment.seed}"
        )
    known = {"base", *scenario.variants}
    unknown = [v for v in manifest.get("variants") or [] if v not in known]
    if unknown:
        problems.append(f"{path}: variants: {', '.join(unknown)} not in the scenario file it names")
    if problems:
        raise ResultsError("\n".join(problems))


def _option(command: Sequence[str], option: str) -> str | None:
    """The value given to ``option`` on a recorded command line (the last one), if any."""
    found = None
    for index, word in enumerate(command):
        if word == option and index + 1 < len(command):
            found = command[index + 1]
        elif word.startswith(option + "="):
            found = word.split("=", 1)[1]
    return found


def _check_run_claims(folder: Path, record: Record, fields: RunManifest) -> list[str]:
    """What the manifest claims against runs.csv/runs.parquet, hypotheses.csv and its command."""
    path = record.path
    problems: list[str] = []
    runs, variants = fields.runs, fields.variants
    if fields.runs_auto is not None and runs is not None and fields.runs_auto[-1] != runs:
        problems.append(
            f"{path}: runs: {runs}, but runs_auto ends with {fields.runs_auto[-1]} runs"
        )
    command = fields.command
    if command and command[:2] == ["negsim", "run"]:
        given_seed = _option(command, "--seed")
        if given_seed is not None and fields.seed is not None and given_seed != str(fields.seed):
            problems.append(
                f"{path}: seed: {fields.seed}, but the command recorded gives --seed {given_seed}"
            )
        given_runs = _option(command, "--runs") or _option(command, "-n")
        if (
            given_runs is not None
            and given_runs.isdigit()
            and runs is not None
            and fields.runs_auto is None
            and int(given_runs) != runs
        ):
            problems.append(
                f"{path}: runs: {runs}, but the command recorded gives --runs {given_runs}"
            )
    table = next((n for n in ("runs.csv", RUNS_PARQUET) if n in record.files), None)
    if table is not None and (runs is not None or variants is not None):
        frame = _read_columns(folder / table, ("variant", "replication", "matches_record"))
        if frame is not None and "variant" in frame.columns:
            problems += _runs_table_claims(path, table, frame, fields)
    if SERIES in record.files and runs is not None and variants is not None:
        rows = record.files[SERIES].get("rows")
        if type(rows) is int and rows % (runs * len(variants)):
            problems.append(
                f"{path}: runs: {runs} runs of {len(variants)} variants cannot make "
                f"the {rows} rows of {SERIES}"
            )
    if "hypotheses.csv" in record.files:
        frame = _read_columns(
            folder / "hypotheses.csv", ("treatment", "control", "runs", "record_runs")
        )
        if frame is not None:
            problems += _hypotheses_claims(path, frame, fields)
    for name in ("timeseries.csv", "events.csv"):  # per-variant tables: only variants run
        if fields.variants is None or name not in record.files:
            continue
        frame = _read_columns(folder / name, ("variant",))
        if frame is not None and "variant" in frame.columns:
            unknown = [v for v in dict.fromkeys(frame["variant"]) if v not in fields.variants]
            if unknown:
                problems.append(
                    f"{path}: variants: {', '.join(fields.variants)}, but {name} holds "
                    f"{', '.join(unknown)}"
                )
    return problems


def _runs_table_claims(path: Path, table: str, frame: Any, fields: RunManifest) -> list[str]:
    import pandas as pd

    problems = []
    runs, variants = fields.runs, fields.variants
    found = list(dict.fromkeys(frame["variant"]))
    if variants is not None and found != list(variants):
        problems.append(
            f"{path}: variants: {', '.join(variants)}, but {table} holds "
            f"{', '.join(found) if found else 'no runs'}"
        )
    if runs is not None:
        shown = len(variants) if variants is not None else len(found)
        if len(frame) != runs * shown:
            problems.append(
                f"{path}: runs: {runs} runs of {shown} variant{'s' if shown != 1 else ''} "
                f"would be {runs * shown} rows, but {table} has {len(frame)}"
            )
        elif "replication" in frame.columns:
            replication = pd.to_numeric(frame["replication"], errors="coerce")
            per_variant = replication.groupby(frame["variant"], sort=False)
            if not all(
                len(group) == runs and group.min() == 0 and group.max() == runs - 1
                for _, group in per_variant
            ):
                problems.append(
                    f"{path}: runs: {runs}, but the replications of {table} are not "
                    f"0 to {runs - 1} for every variant"
                )
    if fields.record_runs is not None and "matches_record" in frame.columns:
        # Text from runs.csv, integers or booleans from runs.parquet: 1 either way.
        flags = pd.to_numeric(
            frame.loc[frame["variant"] == "base", "matches_record"], errors="coerce"
        )
        matched = int((flags == 1).sum())
        if matched != fields.record_runs:
            problems.append(
                f"{path}: record_runs: {fields.record_runs}, but {matched} base runs of "
                f"{table} reproduce the record"
            )
    return problems


def _hypotheses_claims(path: Path, frame: Any, fields: RunManifest) -> list[str]:
    import pandas as pd

    problems = []
    if fields.variants is not None:
        named = {str(v) for c in ("treatment", "control") if c in frame for v in frame[c]}
        unknown = sorted(named - set(fields.variants) - {""})
        if unknown:
            problems.append(
                f"{path}: variants: {', '.join(fields.variants)}, but hypotheses.csv "
                f"compares {', '.join(unknown)}"
            )
    if fields.runs is not None and "runs" in frame:
        most = pd.to_numeric(frame["runs"], errors="coerce").max()
        if pd.notna(most) and most > fields.runs:
            problems.append(
                f"{path}: runs: {fields.runs}, but hypotheses.csv pairs {int(most)} runs"
            )
    if fields.record_runs is not None and "record_runs" in frame:
        values = pd.to_numeric(frame["record_runs"], errors="coerce").dropna()
        if len(values) and (values != fields.record_runs).any():
            problems.append(
                f"{path}: record_runs: {fields.record_runs}, but hypotheses.csv says "
                f"{int(values.iloc[0])}"
            )
    return problems


def open_results(folder: Path) -> Results:
    """Open a results folder, checking every file its manifest lists and the manifest itself.

    Raises:
        ResultsError: not a results folder, or one line per missing or damaged
            file and per manifest field that is of the wrong type or disagrees
            with the files.
    """
    folder = Path(folder)
    record = _open_record(folder, RESULTS, "results", "negsim run")
    problems = _check_files(folder, record)
    try:
        fields = _fields(record, RunManifest)
    except ResultsError as error:
        problems.append(str(error))
    else:
        if not problems:  # claims are checked against files known to be negsim's
            problems += _check_run_claims(folder, record, fields)
    if problems:
        raise ResultsError("\n".join(problems))
    return Results(folder, record.document, record.files)


# ------------------------------------------------------------------ sweep folders


@dataclass(frozen=True)
class SweepResults:
    """A sweep folder whose files and manifest were all checked when opened."""

    folder: Path
    manifest: dict[str, Any]
    files: dict[str, dict[str, Any]]

    def table(self, name: str, text: bool = False) -> Any:
        """The table ``name`` (a pandas frame), parsed from bytes checked again.

        With ``text``, every cell is kept as written (strings; empty cells NaN).

        Raises:
            ResultsError: the table is not listed, no longer matches, or is not CSV.
        """
        import pandas as pd

        data = Results(self.folder, self.manifest, self.files).read_bytes(name)
        try:
            if text:
                return pd.read_csv(
                    io.BytesIO(data),
                    dtype=str,
                    keep_default_na=False,
                    na_values=[""],
                    encoding="utf-8",
                )
            return pd.read_csv(io.BytesIO(data), encoding="utf-8")
        except (ValueError, UnicodeDecodeError) as error:  # pandas' parser errors included
            first = str(error).strip().splitlines()[0] if str(error).strip() else ""
            raise ResultsError(f"{self.folder / name}: not readable as CSV ({first})") from None


_IDENTITY_FIELDS = (
    "method",
    "samples",
    "runs",
    "seed",
    "chunk_size",
    "variants",
    "scenario_sha256",
    "confidence",
    "bootstrap_resamples",
)


def _check_sweep_claims(folder: Path, record: Record, fields: SweepManifest) -> list[str]:
    """What the manifest claims against the sweep's identity, its design and sweep.csv."""
    from negsim.run.sweep import points_for

    path = record.path
    manifest = record.document
    identity = fields.sweep.identity if fields.sweep is not None else {}
    problems = [
        f"{path}: {key}: {_got(manifest.get(key))}, but sweep.identity.{key} (what the sweep "
        f"ran) is {_got(identity.get(key))}"
        for key in _IDENTITY_FIELDS
        if key in identity and manifest.get(key) != identity.get(key)
    ]
    if "scenario" in identity and identity["scenario"] != fields.scenario_name:
        problems.append(
            f"{path}: scenario_name: {_got(fields.scenario_name)}, but sweep.identity.scenario "
            f"is {_got(identity['scenario'])}"
        )
    paths = [factor.path for factor in fields.factors] if fields.factors is not None else None
    recorded = identity.get("factors")
    if (
        paths is not None
        and isinstance(recorded, list)
        and [f.get("path") if isinstance(f, dict) else None for f in recorded] != paths
    ):
        problems.append(f"{path}: factors: not the factors sweep.identity records")
    points, method, samples = fields.points, fields.method, fields.samples
    if points is not None and method is not None and samples is not None and paths is not None:
        expected = points_for(method, samples, len(paths))
        if points != expected:
            problems.append(
                f"{path}: points: {points}, but {method} with samples {samples} over "
                f"{len(paths)} factors has {expected}"
            )
    if (
        fields.total_runs is not None
        and points is not None
        and fields.variants is not None
        and fields.runs is not None
    ):
        total = (points + 1) * len(fields.variants) * fields.runs
        if fields.total_runs != total:
            problems.append(
                f"{path}: total_runs: {fields.total_runs}, but (points + 1) x variants x runs "
                f"is {total}"
            )
    command = fields.command
    if command and command[:2] == ["negsim", "sweep"] and fields.seed is not None:
        given = _option(command, "--seed")
        if given is not None and given != str(fields.seed):
            problems.append(
                f"{path}: seed: {fields.seed}, but the command recorded gives --seed {given}"
            )
    if problems or "sweep.csv" not in record.files:
        return problems
    frame = _read_columns(folder / "sweep.csv", ("sample", *(paths or [])))
    if frame is None or "sample" not in frame.columns:
        return [f"{folder / 'sweep.csv'}: not a sweep table (no 'sample' column)"]
    if points is not None:
        if len(frame) != points:
            problems.append(f"{path}: points: {points}, but sweep.csv has {len(frame)} sample rows")
        elif list(frame["sample"]) != [str(i) for i in range(points)]:
            problems.append(f"{path}: points: sweep.csv's samples are not 0 to {points - 1}")
    absent = [p for p in paths or [] if p not in frame.columns]
    if absent:
        problems.append(f"{path}: factors: sweep.csv has no column {', '.join(absent)}")
    return problems


def open_sweep(folder: Path) -> SweepResults:
    """Open a sweep folder, checking every file its manifest lists and the manifest itself.

    Raises:
        ResultsError: not a sweep folder, or one line per missing or damaged
            file and per manifest field that is of the wrong type or disagrees
            with the files or the sweep's identity.
    """
    from negsim.results.sweep import SWEEP

    folder = Path(folder)
    record = _open_record(folder, SWEEP, "sweep", "negsim sweep")
    problems = _check_files(folder, record)
    try:
        fields = _fields(record, SweepManifest)
    except ResultsError as error:
        problems.append(str(error))
    else:
        if not problems:
            problems += _check_sweep_claims(folder, record, fields)
    if problems:
        raise ResultsError("\n".join(problems))
    return SweepResults(folder, record.document, record.files)

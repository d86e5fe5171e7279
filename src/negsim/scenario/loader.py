"""Reading scenario files: safe YAML, line numbers, `extends`, variants, validation.

Every problem in a file is collected and reported together, one line each,
as ``FILE:LINE: field.path: what is wrong (got X)``.

Order in which values win (lowest first), written down once:

1. the file named by `extends` (recursively: its own `extends` first);
2. the file itself: mappings merge key by key, events merge by `id`
   (an event with the id of an inherited one replaces it), anything else
   (numbers, strings, other lists) replaces the inherited value;
3. a variant's edits, in the order `remove_events`, `move_events`,
   `add_events`, `set`;
4. per replication, a parameter given as a distribution is drawn by the model.
"""

from __future__ import annotations

import copy
import datetime as dt
import difflib
import errno
import hashlib
import os
import re
import stat
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from negsim.errors import Problem, ScenarioError, UsageError
from negsim.scenario.observed import check_observed
from negsim.scenario.references import check_effects, check_references
from negsim.scenario.schema import IDENTIFIER, Scenario
from negsim.scenario.uncertain import check_uncertain, element_index, missing_element

Path_ = tuple[str | int, ...]
Origins = dict[Path_, tuple[str, int]]

BASE = "base"


@dataclass(frozen=True)
class ScenarioFile:
    """A validated scenario and its variants, with where it came from."""

    path: Path
    sha256: str
    scenario: Scenario
    variants: dict[str, Scenario] = field(default_factory=dict)
    """Every variant as a full scenario, `base` first."""
    warnings: tuple[Problem, ...] = ()
    """Things worth knowing that do not stop a run (e.g. an `uncertain` range
    that leaves out the scenario's own value)."""

    @property
    def name(self) -> str:
        return self.scenario.name

    def variant(self, name: str) -> Scenario:
        """One variant by name (`base` is the scenario as written)."""
        if name not in self.variants:
            raise KeyError(name)
        return self.variants[name]


# ------------------------------------------------------------------ YAML layer


_PLAIN_TAGS = {
    f"tag:yaml.org,2002:{name}"
    for name in ("map", "seq", "str", "int", "float", "bool", "null", "timestamp")
}


# Limits on what one file may hold: a recursive alias (`&a [*a]`) or aliases
# nested to expand exponentially ("billion laughs") are reported, not followed.
MAX_DEPTH = 60
MAX_VALUES = 200_000

# A scenario is a page of text (geneva3.yaml is 18 kB); a file hundreds of
# times larger is a mistake (a data file, a log) that would take minutes and
# gigabytes to parse. Checked before reading; raised by the variable below.
MAX_FILE_BYTES = 2_000_000
MAX_FILE_BYTES_VARIABLE = "NEGSIM_MAX_SCENARIO_BYTES"


def max_file_bytes() -> int:
    """The size cap of a scenario file: `MAX_FILE_BYTES`, or the environment's override."""
    value = os.environ.get(MAX_FILE_BYTES_VARIABLE, "").strip().replace("_", "")
    return int(value) if value.isdigit() and int(value) > 0 else MAX_FILE_BYTES


def _not_utf8(file: str, raw: bytes, error: UnicodeDecodeError) -> Problem:
    """Where the first byte that is not UTF-8 is, as a line and a column a user can find."""
    line_start = raw.rfind(b"\n", 0, error.start) + 1
    line = raw.count(b"\n", 0, error.start) + 1
    column = len(raw[line_start : error.start].decode("utf-8", errors="replace")) + 1
    return Problem(
        file,
        line,
        "",
        f"not UTF-8 text: byte 0x{raw[error.start]:02x} at column {column}; "
        "save the file as UTF-8 (an editor's 'Save with encoding' or "
        "`iconv -f latin1 -t utf-8`)",
    )


def _mark_line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def _to_python(
    node: yaml.Node,
    loader: yaml.SafeLoader,
    path: Path_,
    file: str,
    origins: Origins,
    problems: list[Problem],
    budget: list[int] | None = None,
    ids: dict[Path_, str] | None = None,
) -> Any:
    """Build plain data from a composed node, recording each path's line.

    ``ids`` names list items by their id in messages (`events.<id>`), as
    `_dotted` does once the data is built.
    """
    budget = [MAX_VALUES] if budget is None else budget
    ids = _node_ids(node) if ids is None else ids

    def shown(at: Path_) -> str:
        return _dotted_named(at, ids)

    budget[0] -= 1
    origins.setdefault(path, (file, _mark_line(node)))
    if len(path) > MAX_DEPTH:
        problems.append(
            Problem(
                file,
                _mark_line(node),
                shown(path[:3]) + "...",
                f"nested more than {MAX_DEPTH} levels deep (a recursive alias?)",
            )
        )
        return None
    if budget[0] < 0:
        if budget[0] == -1:
            problems.append(
                Problem(
                    file,
                    _mark_line(node),
                    shown(path),
                    f"more than {MAX_VALUES} values (aliases expanding?); the rest is ignored",
                )
            )
        return None
    if node.tag not in _PLAIN_TAGS:
        problems.append(
            Problem(file, _mark_line(node), shown(path), f"YAML tag {node.tag!r} is not allowed")
        )
        return None
    if isinstance(node, yaml.MappingNode):
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                problems.append(
                    Problem(
                        file,
                        _mark_line(key_node),
                        shown(path),
                        "merge keys (<<) are not supported",
                    )
                )
                continue
            key = _to_python(key_node, loader, path + ("<key>",), file, {}, problems, budget, ids)
            if isinstance(key, dt.date):
                key = key.isoformat()
            if not isinstance(key, str | int | float | bool) or key is None:
                problems.append(
                    Problem(
                        file,
                        _mark_line(key_node),
                        shown(path),
                        f"a key must be text (got {key!r})",
                    )
                )
                continue
            if isinstance(key, bool) and isinstance(key_node, yaml.ScalarNode):
                # YAML 1.1 reads `on:`, `yes:`, `off:` as booleans; a key is a name, as written.
                key = str(key_node.value)
            key = str(key) if not isinstance(key, str) else key
            if key in result:
                first_line = origins[path + (key,)][1]
                problems.append(
                    Problem(
                        file,
                        _mark_line(key_node),
                        shown(path + (key,)),
                        f"duplicate key (first given on line {first_line})",
                    )
                )
                continue
            origins[path + (key,)] = (file, _mark_line(key_node))
            result[key] = _to_python(
                value_node, loader, path + (key,), file, origins, problems, budget, ids
            )
        return result
    if isinstance(node, yaml.SequenceNode):
        items = []
        for index, item in enumerate(node.value):
            origins[path + (index,)] = (file, _mark_line(item))
            items.append(
                _to_python(item, loader, path + (index,), file, origins, problems, budget, ids)
            )
        return items
    try:
        return loader.construct_object(node, deep=True)
    except Exception as error:  # e.g. `2016-02-30` or `!!int abc`: PyYAML raises ValueError
        problems.append(
            Problem(
                file,
                _mark_line(node),
                shown(path),
                f"unsupported value: {_first_line(error)} (got {_show(node.value)})",
            )
        )
        return None


def _node_ids(root: yaml.Node) -> dict[Path_, str]:
    """Paths of the list items in a composed document that carry a unique scalar `id`."""
    found: dict[Path_, str] = {}
    # Each node once: aliases share nodes, and walking every path through them
    # would take as long as the expansion `_to_python` caps ("billion laughs").
    seen: set[int] = set()

    def walk(node: yaml.Node, path: Path_, depth: int) -> None:
        if depth > MAX_DEPTH or id(node) in seen or len(seen) > MAX_VALUES:
            return
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                if isinstance(key_node, yaml.ScalarNode):
                    walk(value_node, path + (str(key_node.value),), depth + 1)
        elif isinstance(node, yaml.SequenceNode):
            named: dict[int, str] = {}
            for index, item in enumerate(node.value):
                if isinstance(item, yaml.MappingNode):
                    for key_node, value_node in item.value:
                        if (
                            isinstance(key_node, yaml.ScalarNode)
                            and key_node.value == "id"
                            and isinstance(value_node, yaml.ScalarNode)
                        ):
                            named[index] = str(value_node.value)
                walk(item, path + (index,), depth + 1)
            counts = Counter(named.values())
            found.update({path + (i,): name for i, name in named.items() if counts[name] == 1})

    walk(root, (), 0)
    return found


def _dotted_named(path: Path_, ids: dict[Path_, str]) -> str:
    """A path as text, list items named by their id where ``ids`` has one."""
    text = ""
    for depth, part in enumerate(path):
        name = ids.get(path[: depth + 1]) if isinstance(part, int) else None
        if name is not None:
            text += "." + name
        elif isinstance(part, int):
            text += f"[{part}]"
        else:
            text += ("." if text else "") + str(part)
    return text


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


# What PyYAML's context ("while parsing a flow sequence") was opened by.
_OPENERS = {
    "flow sequence": "the bracket '['",
    "flow mapping": "the brace '{'",
    "quoted scalar": "the quote",
}


def _opened(error: yaml.MarkedYAMLError) -> str:
    """Where the construct the parser was inside began, when that is not where it noticed.

    An unclosed bracket or quote is noticed lines later (at the next key, or
    at the end of the file); the line that needs the fix is the one it opened on.
    """
    context, mark, problem = error.context, error.context_mark, error.problem_mark
    if not context or mark is None or not context.startswith("while "):
        return ""
    if problem is not None and (problem.line, problem.column) == (mark.line, mark.column):
        return ""
    construct = context.removeprefix("while ").split(" ", 1)[-1].removeprefix("a ")
    opener = _OPENERS.get(construct)
    if opener is None:
        return f" (in the {construct} that starts on line {mark.line + 1})"
    return f" ({opener} opened on line {mark.line + 1}, column {mark.column + 1})"


class _NotRegular(OSError):
    """The path names a pipe, a device or a socket: not something a scenario is read from."""


def _kind_of(mode: int) -> str | None:
    """What a non-regular file is, in a user's words (None for a regular file)."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "folder"
    if stat.S_ISFIFO(mode):
        return "named pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device"
    return "special file"


def _refuse_special(mode: int) -> None:
    kind = _kind_of(mode)
    if kind == "folder":
        raise IsADirectoryError(errno.EISDIR, "is a folder")
    if kind is not None:
        raise _NotRegular(f"is a {kind}, not a regular file; a scenario is a YAML file")


def _read_regular(path: Path, most: int) -> bytes:
    """At most ``most`` bytes of ``path``, which must be a regular file.

    A pipe would make the read wait for ever and a device may have effects
    on opening (a tape rewinds, a serial line hangs up), so the kind of
    file is checked before it is opened; it is opened without blocking and
    checked again on the open descriptor, in case the name was swapped in
    between. Reading at most one byte past the size cap means a file that
    grows while read cannot exhaust memory either.
    """
    _refuse_special(os.stat(path).st_mode)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    descriptor = os.open(path, flags)
    try:
        _refuse_special(os.fstat(descriptor).st_mode)
    except BaseException:
        os.close(descriptor)
        raise
    with os.fdopen(descriptor, "rb") as handle:
        return handle.read(most)


def _parse_file(path: Path, problems: list[Problem]) -> tuple[Any, Origins] | None:
    file = str(path)
    limit = max_file_bytes()
    try:
        raw = _read_regular(path, limit + 1)
    except FileNotFoundError:
        problems.append(Problem(file, None, "", "file not found"))
        return None
    except IsADirectoryError:
        problems.append(Problem(file, None, "", "is a folder, not a scenario file"))
        return None
    except _NotRegular as error:
        problems.append(Problem(file, None, "", str(error)))
        return None
    except OSError as error:
        problems.append(Problem(file, None, "", f"cannot read: {error.strerror}"))
        return None
    except ValueError as error:  # a name holding a NUL
        problems.append(Problem(file, None, "", f"not a usable file path ({error})"))
        return None
    if len(raw) > limit:
        problems.append(
            Problem(
                file,
                None,
                "",
                f"larger than {limit:,} bytes, the limit for a scenario file; a scenario "
                f"this large is likely the wrong file (set {MAX_FILE_BYTES_VARIABLE} to raise "
                "the limit)",
            )
        )
        return None
    if b"\x00" in raw:
        problems.append(Problem(file, None, "", "binary file, not a YAML scenario"))
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        problems.append(_not_utf8(file, raw, error))
        return None
    if not text.strip():
        problems.append(Problem(file, 1, "", "file is empty; a scenario is a YAML mapping"))
        return None
    try:
        loader = yaml.SafeLoader(text)
    except yaml.reader.ReaderError as error:  # a control character: raised on construction
        at = text.count("\n", 0, error.position) + 1
        code = error.character if isinstance(error.character, int) else ord(error.character)
        problems.append(Problem(file, at, "", f"character #x{code:04x} is not allowed in YAML"))
        return None
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark else None
        column = f", column {mark.column + 1}" if mark else ""
        what = error.problem or error.context
        if error.context and error.problem and not error.context.startswith("while "):
            # e.g. "expected a single document in the stream, but found another document"
            what = f"{error.context}, {error.problem}"
        problems.append(
            Problem(file, line, "", f"YAML syntax error{column}: {what}{_opened(error)}")
        )
        return None
    except yaml.YAMLError as error:
        problems.append(Problem(file, None, "", f"YAML error: {_first_line(error)}"))
        return None
    except RecursionError:
        problems.append(Problem(file, None, "", "YAML nested too deeply"))
        return None
    finally:
        loader.dispose()
    if node is None:
        problems.append(Problem(file, 1, "", "file holds no YAML document"))
        return None
    origins: Origins = {}
    data = _to_python(node, loader, (), file, origins, problems)
    if not isinstance(data, dict):
        problems.append(
            Problem(
                file,
                _mark_line(node),
                "",
                f"a scenario is a YAML mapping (got {type(data).__name__})",
            )
        )
        return None
    return data, origins


# ------------------------------------------------------------------- inheritance


def _subtree(origins: Origins, prefix: Path_) -> Origins:
    n = len(prefix)
    return {p: o for p, o in origins.items() if p[:n] == prefix}


def _rebase(origins: Origins, old: Path_, new: Path_) -> Origins:
    n = len(old)
    return {new + p[n:]: o for p, o in origins.items() if p[:n] == old}


def _merge(
    parent: Any, parent_origins: Origins, child: Any, child_origins: Origins, path: Path_
) -> tuple[Any, Origins]:
    """Merge child over parent (see the module docstring for the rules)."""
    if isinstance(parent, dict) and isinstance(child, dict):
        merged = dict(parent)
        origins = _subtree(parent_origins, path)
        origins[path] = child_origins.get(path, parent_origins.get(path, ("", 0)))
        for key, value in child.items():
            sub = path + (key,)
            if key in parent:
                merged[key], sub_origins = _merge(
                    parent[key], parent_origins, value, child_origins, sub
                )
                origins = {p: o for p, o in origins.items() if p[: len(sub)] != sub}
                origins.update(sub_origins)
            else:
                merged[key] = value
                origins.update(_subtree(child_origins, sub))
        return merged, origins
    if path == ("events",) and isinstance(parent, list) and isinstance(child, list):
        merged_list: list[Any] = []
        origins = {path: child_origins.get(path, ("", 0))}
        child_by_id = {
            item["id"]: (index, item)
            for index, item in enumerate(child)
            if isinstance(item, dict) and isinstance(item.get("id"), str)
        }
        used: set[int] = set()
        for index, item in enumerate(parent):
            item_id = item.get("id") if isinstance(item, dict) else None
            if item_id is not None and item_id in child_by_id:
                child_index, child_item = child_by_id[item_id]
                used.add(child_index)
                origins.update(
                    _rebase(child_origins, path + (child_index,), path + (len(merged_list),))
                )
                merged_list.append(child_item)
            else:
                origins.update(_rebase(parent_origins, path + (index,), path + (len(merged_list),)))
                merged_list.append(item)
        for index, item in enumerate(child):
            if index not in used:
                origins.update(_rebase(child_origins, path + (index,), path + (len(merged_list),)))
                merged_list.append(item)
        return merged_list, origins
    return child, _subtree(child_origins, path)


# The names a file `extends` may have: a scenario is YAML, and refusing other
# names first keeps `extends: /etc/shadow` from even being opened.
SCENARIO_SUFFIXES = (".yaml", ".yml")


def _parent_problem(parent: Path, parsed: tuple[Any, Origins] | None, found: list[Problem]) -> str:
    """Why the file named by `extends` is not a scenario, or "" if it looks like one.

    The file named by `extends` is chosen by whoever wrote the scenario, who
    may not be the one running negsim (a scenario validated in CI): its
    content is echoed in problems only once it looks like a scenario, a
    mapping whose top-level keys are all scenario keys. Otherwise the one
    line saying so names at most a line number of it, never a key or value.
    """
    if parsed is None:
        lines = [p.line for p in found if p.file == str(parent) and p.line is not None]
        where = f" at its line {min(lines)}" if lines else ""
        return f"it cannot be read as a YAML mapping{where}"
    data, _ = parsed
    if not data:
        return "it is an empty mapping"
    if not all(isinstance(key, str) and key in Scenario.model_fields for key in data):
        return "its top-level keys are not all scenario keys"
    return ""


def _read_with_extends(
    path: Path, problems: list[Problem], seen: tuple[Path, ...] = ()
) -> tuple[dict[str, Any], Origins] | None:
    """The file's data merged over what it extends (recursively), with each path's origin.

    None when the file cannot be read, or what it extends cannot be used:
    the problems say why.
    """
    parsed = _parse_file(path, problems)
    if parsed is None:
        return None
    return _extend(path, parsed, problems, seen)


def _extend(
    path: Path,
    parsed: tuple[dict[str, Any], Origins],
    problems: list[Problem],
    seen: tuple[Path, ...],
) -> tuple[dict[str, Any], Origins] | None:
    data, origins = parsed
    parent_name = data.get("extends")
    if parent_name is None:
        return data, origins
    file, line = origins.get(("extends",), (str(path), 1))

    def refuse(message: str) -> tuple[dict[str, Any], Origins] | None:
        # Only this line: the keys the parent would have given are then all
        # "missing", which says nothing the line does not.
        problems.append(Problem(file, line, "extends", message))
        return None

    if not isinstance(parent_name, str):
        return refuse(f"must be a file path (got {parent_name!r})")
    try:
        parent_path = (path.parent / parent_name).resolve()
        exists = parent_path.exists()
        mode = parent_path.stat().st_mode if exists else 0
    except (OSError, ValueError) as error:  # e.g. a name too long or holding a NUL
        reason = error.strerror if isinstance(error, OSError) else str(error)
        return refuse(f"not a usable file path ({reason})")
    if parent_path in seen or parent_path == path.resolve():
        return refuse(f"circular extends ({parent_name})")
    if not exists:
        return refuse(f"no such file (got {parent_name!r})")
    # The resolved name counts: `base.yaml` linking to a file of another kind is refused too.
    if parent_path.suffix.lower() not in SCENARIO_SUFFIXES:
        return refuse(
            f"{parent_name!r} is not a negsim scenario: extends names a YAML scenario file "
            f"(ending in {' or '.join(SCENARIO_SUFFIXES)})"
        )
    kind = _kind_of(mode)
    if kind is not None:
        return refuse(f"{parent_name!r} is a {kind}, not a scenario file")
    found: list[Problem] = []
    parent_parsed = _parse_file(parent_path, found)
    reason = _parent_problem(parent_path, parent_parsed, found)
    if reason or parent_parsed is None:
        return refuse(
            f"{parent_name!r} is not a negsim scenario ({reason}; "
            f"`negsim validate {parent_name}` shows its problems)"
        )
    problems.extend(found)
    parent = _extend(parent_path, parent_parsed, problems, seen + (path.resolve(),))
    if parent is None:
        return None
    parent_data, parent_origins = parent
    # `name` and `extends` describe this file, not its parent.
    parent_data = {k: v for k, v in parent_data.items() if k != "extends"}
    merged, merged_origins = _merge(parent_data, parent_origins, data, origins, ())
    return merged, merged_origins


# ----------------------------------------------------------------- validation


def _dotted(path: Path_, data: Any = None) -> str:
    """A path as text; with the data, list items that have an id are named by it (`events.<id>`)."""
    text = ""
    current = data
    for part in path:
        item = None
        if isinstance(part, int) and isinstance(current, list) and 0 <= part < len(current):
            item = current[part]
        elif isinstance(current, dict):
            item = current.get(part)
        # Named by its id when the id is unique in the list (a duplicate keeps its index).
        named = (
            isinstance(item, dict)
            and isinstance(item.get("id"), str)
            and isinstance(current, list)
            and sum(isinstance(e, dict) and e.get("id") == item.get("id") for e in current) == 1
        )
        if isinstance(part, int) and named:
            text += "." + str(item["id"])  # type: ignore[index]
        elif isinstance(part, int):
            text += f"[{part}]"
        else:
            text += ("." if text else "") + str(part)
        current = item
    return text


def _indexed(path: Path_, data: Any) -> Path_:
    """A path that names a list item by its id (``("events", "<id>", ...)``) with its index instead."""
    result: list[str | int] = []
    current = data
    for part in path:
        if isinstance(current, list) and isinstance(part, str):
            index = next(
                (i for i, e in enumerate(current) if isinstance(e, dict) and e.get("id") == part),
                None,
            )
            if index is not None:
                part_: str | int = index
                result.append(part_)
                current = current[index]
                continue
        result.append(part)
        if isinstance(current, dict):
            current = current.get(part)
        elif isinstance(current, list) and isinstance(part, int) and 0 <= part < len(current):
            current = current[part]
        else:
            current = None
    return tuple(result)


def _yaml_path(loc: tuple[Any, ...], data: Any) -> Path_:
    """Pydantic's error location without its union tags, as a path into the data."""
    path: list[str | int] = []
    current = data
    for part in loc:
        if part == "[key]":  # pydantic's marker of a mapping's key: the key's own place
            continue
        if isinstance(current, dict):
            if part in current:
                path.append(part)
                current = current[part]
                continue
            if part in (current.get("kind"), current.get("type")):
                continue
            path.append(part)
            current = None
        elif isinstance(current, list) and isinstance(part, int) and 0 <= part < len(current):
            path.append(part)
            current = current[part]
        elif (
            isinstance(part, str) and part[:1].isupper() or part in ("float", "int", "str", "date")
        ):
            # A union member's name (e.g. a distribution type): not a place in the file.
            continue
        else:
            path.append(part)
            current = None
    return tuple(path)


def _line_of(path: Path_, origins: Origins, default_file: str) -> tuple[str, int | None]:
    for end in range(len(path), -1, -1):
        if path[:end] in origins:
            return origins[path[:end]]
    return default_file, None


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _allowed_keys(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """Field names of the model found at ``loc`` (for 'did you mean')."""
    import types
    import typing

    annotation: Any = model
    for part in loc:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
            origin = typing.get_origin(annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            if part not in annotation.model_fields:
                return []
            annotation = annotation.model_fields[part].annotation
            continue
        if origin in (dict, list):
            annotation = typing.get_args(annotation)[-1]
            if typing.get_origin(annotation) is typing.Annotated:
                annotation = typing.get_args(annotation)[0]
            origin = typing.get_origin(annotation)
        if origin in (typing.Union, types.UnionType):
            members = [
                m
                for m in typing.get_args(annotation)
                if isinstance(m, type) and issubclass(m, BaseModel)
            ]
            for member in members:
                tag_field = next((f for f in ("kind", "type") if f in member.model_fields), None)
                if tag_field and part in typing.get_args(member.model_fields[tag_field].annotation):
                    annotation = member
                    break
            else:
                if len(members) == 1:
                    annotation = members[0]
            continue
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return list(annotation.model_fields)
    return []


def _bad_identifier(given: Any) -> str:
    """What an id must look like, with the given one rewritten to fit where it can be."""
    suggestion = re.sub(r"[^a-z0-9_]+", "_", str(given).strip().lower()).strip("_")
    suggestion = re.sub(r"^[0-9_]+", "", re.sub(r"__+", "_", suggestion))
    example = f"e.g. {suggestion!r}" if suggestion else "e.g. 'rebels_north'"
    return (
        "not a valid name: use lower-case letters, digits and underscores, starting with "
        f"a letter (no hyphens, spaces or capitals), {example} (got {_show(given)})"
    )


def _message(error: dict[str, Any], loc: tuple[Any, ...]) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        key = str(loc[-1])
        allowed = _allowed_keys(Scenario, loc[:-1])
        close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
        hint = (
            f"; did you mean {close[0]!r}?"
            if close
            else (f"; allowed: {', '.join(allowed)}" if allowed else "")
        )
        return f"unknown key {key!r}{hint}"
    if kind == "missing":
        return "required field is missing"
    if kind == "string_pattern_mismatch" and error.get("ctx", {}).get("pattern") == IDENTIFIER:
        return _bad_identifier(error.get("input"))
    if kind == "union_tag_not_found":
        tag = error.get("ctx", {}).get("discriminator", "kind").strip("'")
        return f"missing {tag!r}, which selects the fields that apply"
    if kind == "union_tag_invalid":
        ctx = error.get("ctx", {})
        tag = str(ctx.get("discriminator", "kind")).strip("'")
        choices = [t.strip().strip("'") for t in str(ctx.get("expected_tags", "")).split(",")]
        given = ctx.get("tag")
        close = difflib.get_close_matches(str(given), choices, n=1, cutoff=0.6)
        hint = f"did you mean {close[0]!r}?" if close else f"one of {', '.join(choices)}"
        return f"unknown {tag} {given!r}; {hint}"
    message = str(error["msg"])
    if message.startswith("Value error, "):
        message = message[len("Value error, ") :]
    if "(got " in message:
        return message
    return f"{message} (got {_show(error.get('input'))})"


def _validate(
    data: dict[str, Any], origins: Origins, file: str
) -> tuple[Scenario | None, list[Problem]]:
    problems: list[Problem] = []
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as error:
        scenario = None
        for item in error.errors():
            loc = tuple(item["loc"])
            path = _yaml_path(loc, data)
            if item["type"] == "union_tag_invalid":  # point at the `kind:` or `type:` line
                path += (str(item.get("ctx", {}).get("discriminator", "")).strip("'"),)
            where_file, line = _line_of(path, origins, file)
            problems.append(
                Problem(where_file, line, _dotted(path, data), _message(dict(item), loc))
            )
    return scenario, problems


# ---------------------------------------------------------------------- variants


def _event_index(data: dict[str, Any], event_id: Any) -> int | None:
    events = data.get("events")
    for index, event in enumerate(events if isinstance(events, list) else []):
        if isinstance(event, dict) and event.get("id") == event_id:
            return index
    return None


def apply_set(
    data: dict[str, Any], dotted: str, value: Any, *, copy_path: bool = False
) -> str | None:
    """Set ``dotted`` in ``data``; return a problem or None.

    A list of mappings with ids (events, a leader's named `successors`) is
    addressed by id, and setting one field of an element keeps its others:
    `leaders.founder.successors.second.moderation`.

    With ``copy_path``, each mapping and list below ``data`` on the path is
    replaced by a shallow copy before it is changed or entered, so that only
    ``data`` itself is changed: see `set_in_copy`.
    """
    parts = dotted.split(".")
    if not dotted or any(not part for part in parts):
        return "empty part in dotted path"
    current: Any = data
    for depth, part in enumerate(parts):
        last = depth == len(parts) - 1
        where = ".".join(parts[:depth])
        if isinstance(current, list):
            index = element_index(current, part)
            if index is None:
                return missing_element(where, current, part)
            if last:
                noun = "the event" if where == "events" else "the element"
                return (
                    f"name a field of {noun}, e.g. {where}.{part}.{_example_field(current[index])}"
                )
            if copy_path:
                current[index] = _shallow_copy(current[index])
            current = current[index]
            continue
        if not isinstance(current, dict):
            return f"{where} is not a mapping"
        if last:
            current[part] = value
            return None
        if part not in current:
            if part in _ELEMENT_LISTS:  # a list the file left out: it has no element to name
                return missing_element(f"{where}.{part}" if where else part, [], parts[depth + 1])
            current[part] = {}
        elif copy_path:
            current[part] = _shallow_copy(current[part])
        current = current[part]
    return None


def set_in_copy(data: dict[str, Any], dotted: str, value: Any) -> tuple[dict[str, Any], str | None]:
    """``data`` with ``dotted`` set to ``value`` (as `apply_set`), and the problem or None.

    ``data`` is left as it was. Only the mappings and lists on the path are
    copied; the rest is shared with ``data``, so the copy is for reading (a
    check, a validation), not for changing elsewhere. Checking both ends of
    every range of a scenario's `uncertain` block once spent most of its time
    deep-copying the whole scenario for each end.
    """
    edited = dict(data)
    return edited, apply_set(edited, dotted, value, copy_path=True)


def _shallow_copy(value: Any) -> Any:
    """A new mapping or list holding the same items; anything else as it is."""
    if isinstance(value, dict):
        return dict(value)
    if isinstance(value, list):
        return list(value)
    return value


def _element_lists() -> frozenset[str]:
    """Names of the schema's fields that hold lists of elements with ids (`successors`, ...)."""
    import typing

    found = {"events"}  # (a list of a union of event models, each with its id)
    for model in _models(Scenario):
        for name, info in model.model_fields.items():
            if typing.get_origin(info.annotation) is list:
                (item,) = typing.get_args(info.annotation)
                if (
                    isinstance(item, type)
                    and issubclass(item, BaseModel)
                    and "id" in item.model_fields
                ):
                    found.add(name)
    return frozenset(found)


def _models(
    model: type[BaseModel], seen: set[type[BaseModel]] | None = None
) -> set[type[BaseModel]]:
    """``model`` and every model its fields hold, however nested."""
    import typing

    seen = set() if seen is None else seen
    if model in seen:
        return seen
    seen.add(model)
    for info in model.model_fields.values():
        pending: list[Any] = [info.annotation]
        while pending:
            annotation = pending.pop()
            if isinstance(annotation, type) and issubclass(annotation, BaseModel):
                _models(annotation, seen)
            pending.extend(typing.get_args(annotation))
    return seen


_ELEMENT_LISTS = _element_lists()


def _example_field(element: Any) -> str:
    fields = [str(k) for k in element if k != "id"] if isinstance(element, dict) else []
    return "date" if "date" in fields else (fields[0] if fields else "<field>")


def apply_variant(
    data: dict[str, Any], variant: dict[str, Any]
) -> tuple[dict[str, Any], list[tuple[Path_, str]]]:
    """A copy of the scenario data with one variant's edits; problems as (path in variant, message)."""
    result = copy.deepcopy({k: v for k, v in data.items() if k not in ("variants",)})
    problems: list[tuple[Path_, str]] = []
    events = result.setdefault("events", [])
    if not isinstance(events, list):  # reported by the schema; event edits cannot apply
        events = []
    # Edits of the wrong shape are reported by the schema (variants.NAME.FIELD); skip them.
    variant = {
        key: value
        for key, value in variant.items()
        if isinstance(value, dict if key in ("move_events", "set") else list)
    }
    known = [str(e["id"]) for e in events if isinstance(e, dict) and isinstance(e.get("id"), str)]

    def no_event(event_id: Any) -> str:
        close = difflib.get_close_matches(str(event_id), known, n=1, cutoff=0.6)
        return f"no event with id {event_id!r}" + (f"; did you mean {close[0]!r}?" if close else "")

    for index, event_id in enumerate(variant.get("remove_events") or []):
        found = _event_index(result, event_id)
        if found is None:
            problems.append((("remove_events", index), no_event(event_id)))
        else:
            del events[found]
    for event_id, date in (variant.get("move_events") or {}).items():
        found = _event_index(result, event_id)
        if found is None:
            problems.append((("move_events", event_id), no_event(event_id)))
        else:
            events[found]["date"] = date
    for index, event in enumerate(variant.get("add_events") or []):
        if isinstance(event, dict) and _event_index(result, event.get("id")) is not None:
            problems.append(
                (
                    ("add_events", index, "id"),
                    f"an event with id {event.get('id')!r} already exists",
                )
            )
        events.append(copy.deepcopy(event))
    for dotted, value in (variant.get("set") or {}).items():
        problem = apply_set(result, str(dotted), copy.deepcopy(value))
        if problem:
            problems.append((("set", dotted), problem))
    return result, problems


def _edit_origins(
    edited: dict[str, Any], variant: dict[str, Any], origins: Origins, prefix: Path_, file: str
) -> Origins:
    """Where each edit of a variant was written, keyed by the path it changed in ``edited``."""
    result: Origins = {}
    variant_file, variant_line = _line_of(prefix, origins, file)
    if variant_line is not None:
        result[()] = (variant_file, variant_line)
    events = edited.get("events")
    added = variant.get("add_events")
    if isinstance(added, list) and isinstance(events, list):
        first = len(events) - len(added)
        for index in range(len(added)):
            result.update(
                _rebase(origins, prefix + ("add_events", index), ("events", first + index))
            )
    moved = variant.get("move_events")
    for event_id in moved if isinstance(moved, dict) else {}:
        found = _event_index(edited, event_id)
        if found is not None and prefix + ("move_events", event_id) in origins:
            result[("events", found, "date")] = origins[prefix + ("move_events", event_id)]
    sets = variant.get("set")
    for dotted in sets if isinstance(sets, dict) else {}:
        # The path in the edited data: list elements by their place, as the schema reports them.
        parts: list[str | int] = []
        current: Any = edited
        for part in str(dotted).split("."):
            if isinstance(current, list):
                found = element_index(current, part)
                if found is None:
                    break
                parts.append(found)
                current = current[found]
            else:
                parts.append(part)
                current = current.get(part) if isinstance(current, dict) else None
        else:
            result.update(_rebase(origins, prefix + ("set", dotted), tuple(parts)))
    return result


# ---------------------------------------------------------------------- entry


def scenario_path(path: object) -> Path:
    """``path`` as a `Path`, or a `UsageError` saying what a scenario path is.

    pathlib's own TypeError ("expected str, bytes or os.PathLike object, not
    NoneType") names neither negsim nor the argument.
    """
    if isinstance(path, bytes | bytearray):
        raise UsageError(
            "scenario path: give it as text (str) or a pathlib.Path, not bytes "
            "(os.fsdecode(b) decodes a file-system name)"
        )
    if not isinstance(path, str | os.PathLike):
        raise UsageError(
            f"scenario path: expected a file path (str or pathlib.Path), got "
            f"{type(path).__name__} {_show(path)}"
        )
    text = os.fspath(path)
    if not isinstance(text, str):  # an os.PathLike that gives bytes
        raise UsageError("scenario path: give it as text (str) or a pathlib.Path, not bytes")
    if not text.strip():
        raise UsageError("scenario path: empty; give the path of a scenario YAML file")
    return Path(text)


def load(path: str | Path) -> ScenarioFile:
    """Load, merge and validate a scenario file and all its variants.

    Raises:
        ScenarioError: with every problem found, each with file and line.
        UsageError: ``path`` is not a path (None, a number, bytes).
    """
    path = scenario_path(path)
    file = str(path)
    problems: list[Problem] = []
    read = _read_with_extends(path, problems)
    if read is None:
        raise ScenarioError(_unique(problems))
    data, origins = read
    # A value the YAML layer rejected is read as null: report it there only.
    rejected = {(p.file, p.line, p.path) for p in problems}
    scenario, structural = _validate(data, origins, file)
    for ref_path, message in check_references(data):
        where_file, line = _line_of(ref_path, origins, file)
        structural.append(Problem(where_file, line, _dotted(ref_path, data), message))
    for ref_path, message in check_observed(data):
        where_file, line = _line_of(ref_path, origins, file)
        structural.append(Problem(where_file, line, _dotted(ref_path, data), message))
    problems += [p for p in structural if (p.file, p.line, p.path) not in rejected]
    warnings: list[Problem] = []
    if scenario is not None:
        uncertain_errors, uncertain_warnings = check_uncertain(scenario.model_dump())
        for found, into in ((uncertain_errors, problems), (uncertain_warnings, warnings)):
            for ref_path, message in found:
                where_file, line = _line_of(ref_path, origins, file)
                into.append(Problem(where_file, line, _dotted(ref_path), message))
        effect_errors, effect_warnings = check_effects(data)
        for found, into in ((effect_errors, problems), (effect_warnings, warnings)):
            for ref_path, message in found:
                indexed = _indexed(ref_path, data)
                where_file, line = _line_of(indexed, origins, file)
                into.append(Problem(where_file, line, _dotted(indexed, data), message))

    variants: dict[str, Scenario] = {}
    if scenario is not None:
        variants[BASE] = scenario
    raw_variants = data.get("variants")
    if isinstance(raw_variants, dict):
        # A variant inherits the base's problems; report each once, at the base.
        base_messages = {p.message for p in problems + structural}
        for name, variant in raw_variants.items():
            if not isinstance(variant, dict):
                continue  # reported by the schema
            prefix: Path_ = ("variants", name)
            if name == BASE:
                where_file, line = _line_of(prefix, origins, file)
                problems.append(
                    Problem(
                        where_file,
                        line,
                        _dotted(prefix),
                        "'base' is reserved for the scenario as written",
                    )
                )
                continue
            edited, edit_problems = apply_variant(data, variant)
            for sub_path, message in edit_problems:
                where_file, line = _line_of(prefix + sub_path, origins, file)
                problems.append(Problem(where_file, line, _dotted(prefix + sub_path), message))
            if edit_problems:
                continue
            # Lines of the edits that made each part of the edited data; the rest
            # is reported at the variant's own line.
            edit_origins = _edit_origins(edited, variant, origins, prefix, file)
            variant_scenario, variant_problems = _validate(edited, edit_origins, file)
            variant_refs = check_references(edited, variant_only=True)
            for problem in variant_problems:
                if problem.message not in base_messages:
                    problems.append(
                        Problem(
                            problem.file,
                            problem.line,
                            f"{_dotted(prefix)} -> {problem.path}",
                            problem.message,
                        )
                    )
            # Effects are checked on data the schema accepted (its types are then known).
            variant_effects, variant_warnings = (
                check_effects(edited, variant=True) if variant_scenario is not None else ([], [])
            )
            for found, into in ((variant_effects, problems), (variant_warnings, warnings)):
                for ref_path, message in found:
                    if message in base_messages or any(w.message == message for w in warnings):
                        continue
                    indexed = _indexed(ref_path, edited)
                    where_file, line = _line_of(indexed, edit_origins, file)
                    into.append(
                        Problem(
                            where_file,
                            line,
                            f"{_dotted(prefix)} -> {_dotted(indexed, edited)}",
                            message,
                        )
                    )
            for ref_path, message in variant_refs:
                if message not in base_messages:
                    where_file, line = _line_of(ref_path, edit_origins, file)
                    problems.append(
                        Problem(
                            where_file,
                            line,
                            f"{_dotted(prefix)} -> {_dotted(ref_path, edited)}",
                            message,
                        )
                    )
            if variant_scenario is not None and not variant_problems:
                variants[name] = variant_scenario.model_copy(update={"variants": {}})
    if problems:
        raise ScenarioError(_unique(problems))
    if scenario is None:  # unreachable: validation failed without a problem
        raise ScenarioError([Problem(file, None, "", "scenario could not be validated")])
    digest = hashlib.sha256()
    digest.update(path.read_bytes())
    return ScenarioFile(
        path=path,
        sha256=digest.hexdigest(),
        scenario=scenario,
        variants=variants,
        warnings=tuple(_unique(warnings)),
    )


def _unique(problems: list[Problem]) -> list[Problem]:
    seen: set[tuple[str, int | None, str, str]] = set()
    result = []
    for problem in problems:
        # One line each, whatever a key or value in the file holds.
        problem = Problem(
            problem.file, problem.line, _one_line(problem.path), _one_line(problem.message)
        )
        key = (problem.file, problem.line, problem.path, problem.message)
        if key not in seen:
            seen.add(key)
            result.append(problem)
    return sorted(result, key=lambda p: (p.file, p.line or 0))


def _one_line(text: str) -> str:
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)

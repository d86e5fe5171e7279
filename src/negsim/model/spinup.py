"""The spin-up's outcome, taken from one model and given to another of the same chunk.

The spin-up (`ConflictModel._spin_up`) runs without events, from the
state construction leaves, drawing from the chunk's named streams. Two
models of the same chunk (seed, chunk, replications) whose scenarios differ
only in their events (every variant that removes, moves or adds events)
therefore spin up to the same state, draw for draw: the events' own
numbers come from streams of their own (`negsim.model.streams`), which the
spin-up never reads. At 500 runs a chunk the spin-up is about 40 % of a
chunk's simulation, so a variant that takes another's (`negsim run`
simulates a chunk of every variant together) saves it.

What is given is exactly what the spin-up changed: every attribute of the
model's objects (the model, its agents, its talks, its streams, reached
through attributes, lists and dicts) whose value differs after the spin-up
from before it, compared by content (array bytes, generator states). A
model that receives it is built as usual, without running its spin-up, then
takes those attributes: arrays as copies (aliases among them kept), the
streams' generators by state, in place, so that every holder of a generator
sees it advanced. tests/model/test_spinup.py checks, for every variant of
every bundled scenario, that a model given another's spin-up runs to the
same bytes as one that spun up itself.
"""

from __future__ import annotations

import copy
import random
from collections import deque
from collections.abc import Iterator
from typing import Any

import numpy as np

_MODEL_PACKAGE = "negsim.model."
_MISSING = object()

Path = tuple[Any, ...]


class NotShareable(Exception):
    """The spin-up created or replaced one of the model's objects: its state cannot be given."""


def _is_node(value: Any) -> bool:
    return type(value).__module__.startswith(_MODEL_PACKAGE) and hasattr(value, "__dict__")


def _children(name: str, value: Any) -> Iterator[tuple[Path, Any]]:
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield (name, index), item
    elif isinstance(value, dict):
        for key, item in value.items():
            yield (name, key), item
    else:
        yield (name,), value


def nodes(model: Any) -> dict[Path, Any]:
    """The model's own objects (negsim.model's classes), each by the first path that reaches it."""
    found: dict[Path, Any] = {(): model}
    seen = {id(model)}
    queue: deque[tuple[Path, Any]] = deque([((), model)])
    while queue:
        path, node = queue.popleft()
        for name, value in list(vars(node).items()):
            for step, item in _children(name, value):
                if _is_node(item) and id(item) not in seen:
                    seen.add(id(item))
                    found[path + step] = item
                    queue.append((path + step, item))
    return found


def _signature(value: Any) -> Any:
    """What makes two values of an attribute the same: content for data, identity for objects."""
    if isinstance(value, np.ndarray):
        return ("array", value.dtype.str, value.shape, value.tobytes())
    if isinstance(value, np.random.Generator):
        return ("generator", id(value), repr(value.bit_generator.state))
    if isinstance(value, random.Random):
        return ("random", id(value), value.getstate())
    if isinstance(value, list):
        return ("list", id(value), tuple(_signature(item) for item in value))
    if isinstance(value, tuple):
        return ("tuple", tuple(_signature(item) for item in value))
    if isinstance(value, dict):
        return ("dict", id(value), tuple((k, _signature(v)) for k, v in value.items()))
    if value is None or isinstance(value, bool | int | float | str | np.generic):
        return ("value", type(value).__name__, repr(value))
    return ("object", id(value))


def _holds_node(value: Any) -> bool:
    if _is_node(value):
        return True
    if isinstance(value, list | tuple):
        return any(_holds_node(item) for item in value)
    if isinstance(value, dict):
        return any(_holds_node(item) for item in value.values())
    return False


class Watch:
    """The model's attributes before its spin-up, to tell afterwards what it changed."""

    def __init__(self, model: Any):
        self._before = {
            path: {name: _signature(value) for name, value in vars(node).items()}
            for path, node in nodes(model).items()
        }

    def changes(self, model: Any) -> SpinUp:
        """What the spin-up changed, as a `SpinUp` another model can take.

        Raises:
            NotShareable: the spin-up made or dropped one of the model's objects.
        """
        after = nodes(model)
        if set(after) != set(self._before):
            raise NotShareable("the spin-up changed the model's objects")
        changed: dict[Path, dict[str, Any]] = {}
        for path, node in after.items():
            before = self._before[path]
            for name, value in vars(node).items():
                if name in before and before[name] == _signature(value):
                    continue
                if isinstance(value, dict) and name in before and before[name][0] == "dict":
                    # Only the entries that changed (a stream's generator, a drawn number).
                    old = dict(before[name][2])
                    value = {
                        k: v for k, v in value.items() if k not in old or old[k] != _signature(v)
                    }
                    value = _Entries(value)
                if _holds_node(value if not isinstance(value, _Entries) else value.items):
                    raise NotShareable(f"the spin-up replaced {'.'.join(map(str, path))}.{name}")
                changed.setdefault(path, {})[name] = value
        # One copy of everything at once: arrays that were one array stay one.
        return SpinUp(copy.deepcopy(changed), int(model.spinup_used))


class _Entries:
    """Some entries of a dict attribute: merged into the receiving model's dict."""

    def __init__(self, items: dict[Any, Any]):
        self.items = items

    def __deepcopy__(self, memo: dict[int, Any]) -> _Entries:
        return _Entries(copy.deepcopy(self.items, memo))


def _merge(old: Any, new: Any) -> Any:
    """``new`` put in place of ``old``: generators and dicts updated in place, the rest replaced."""
    if isinstance(new, np.random.Generator) and isinstance(old, np.random.Generator):
        old.bit_generator.state = new.bit_generator.state
        return old
    if isinstance(new, random.Random) and isinstance(old, random.Random):
        old.setstate(new.getstate())
        return old
    if isinstance(new, _Entries):
        if not isinstance(old, dict):
            return dict(new.items)
        for key, value in new.items.items():
            old[key] = _merge(old.get(key, _MISSING), value)
        return old
    if isinstance(new, list) and isinstance(old, list) and len(old) == len(new):
        old[:] = [_merge(o, n) for o, n in zip(old, new, strict=True)]
        return old
    return new


class SpinUp:
    """What one model's spin-up changed; `apply` gives it to another model of the same chunk."""

    def __init__(self, changed: dict[Path, dict[str, Any]], weeks: int):
        self._changed = changed
        self.weeks = weeks

    def apply(self, model: Any) -> None:
        """Set ``model`` (built, not spun up) to the state its spin-up would have left.

        Raises:
            NotShareable: ``model`` lacks an object the spin-up changed (nothing set).
        """
        targets = nodes(model)
        missing = [path for path in self._changed if path not in targets]
        if missing:  # refused before anything is set: the model can still spin up itself
            raise NotShareable(f"no {'.'.join(map(str, missing[0]))} in this model")
        given = copy.deepcopy(self._changed)  # this model's own arrays, aliases kept
        for path, attributes in given.items():
            node = targets[path]
            for name, value in attributes.items():
                setattr(node, name, _merge(getattr(node, name, _MISSING), value))

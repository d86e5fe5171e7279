"""Error types shared across negsim. Imports nothing of negsim."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One problem in an input file, reported as ``FILE:LINE: field.path: message``."""

    file: str
    line: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        field = f" {self.path}:" if self.path else ""
        return f"{where}:{field} {self.message}"


class NegsimError(Exception):
    """Base class of errors a user can act on; the CLI prints them without a traceback."""


class ScenarioError(NegsimError):
    """A scenario file (or a file it extends) has one or more problems."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class ResultsError(NegsimError):
    """A results folder cannot be written or read."""


class UsageError(NegsimError, ValueError):
    """An argument is out of its range (the CLI's usage errors, raised by the Python API)."""


class NegsimWarning(UserWarning):
    """Something a user should know that does not stop the work (few runs, too many jobs)."""

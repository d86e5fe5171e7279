"""Stop signals that a library swallowed, raised again where negsim's work next looks.

A command's stop signals (SIGINT, SIGTERM, SIGHUP) raise KeyboardInterrupt
wherever its main thread happens to be. Some compiled libraries call back
into Python and drop what it raises: pydantic's serializer treats an
exception from an ``isinstance`` check as "no", so a SIGTERM landing there
was simply lost and the run went on to write its results and exit 0 (4 runs
in 30, signalled just after their workers started). The command's handler
notes every signal here (`note`); the places where work goes on or results
are put in place call `check`, which raises the interrupt again if it was
asked for. An interrupt that propagated normally never reaches a check: the
command is already cleaning up.

Only the negsim command notes signals, and the note is cleared as each
command starts and, when it is called from a program, as it returns: a
program's own calls into negsim never see a check raise.
"""

from __future__ import annotations

_asked = False
_raised = 0


def note() -> None:
    """Record that a stop signal arrived and is being raised (the command's signal handler)."""
    global _asked, _raised
    _asked = True
    _raised += 1


def clear() -> None:
    """Forget earlier signals: a command starting its work (several may run in one process)."""
    global _asked
    _asked = False


def asked() -> bool:
    """Whether a stop signal has arrived since the command started its work."""
    return _asked


def raised() -> int:
    """How many KeyboardInterrupts signals and checks have raised (to tell a new one apart)."""
    return _raised


def check() -> None:
    """Raise KeyboardInterrupt if a stop signal arrived, even if its own raise was swallowed."""
    global _raised
    if _asked:
        _raised += 1
        raise KeyboardInterrupt

"""Ensembles: replications cut into chunks, chunks run by an executor, results assembled in order."""

from __future__ import annotations

from typing import Any

__all__ = ["EnsembleResult", "run_ensemble", "simulate_chunk"]


def __getattr__(name: str) -> Any:
    # Lazy: `negsim --help` imports negsim.run.executors, which must not pull in the
    # model (Mesa, numba) through this package's __init__.
    if name in __all__:
        from negsim.run import ensemble

        return getattr(ensemble, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

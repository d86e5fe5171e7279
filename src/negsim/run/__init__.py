"""Ensembles: replications cut into chunks, chunks run by an executor, results assembled in order."""

from negsim.run.ensemble import EnsembleResult, run_ensemble, simulate_chunk

__all__ = ["EnsembleResult", "run_ensemble", "simulate_chunk"]

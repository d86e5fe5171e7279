"""The only writer of results folders: CSV, manifest, atomic replacement."""

from negsim.results.tables import events_frame, runs_frame, timeseries_frame
from negsim.results.writer import ResultsFolder, write_results

__all__ = ["ResultsFolder", "events_frame", "runs_frame", "timeseries_frame", "write_results"]

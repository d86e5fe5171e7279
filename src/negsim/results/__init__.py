"""The only writer and reader of results folders: CSV, manifest, locks, checked replacement."""

from negsim.results.folder import FolderKind, OutputFolder
from negsim.results.lock import FolderLock, Holder
from negsim.results.reader import Results, open_results
from negsim.results.tables import estimated_bytes, events_frame, runs_frame, timeseries_frame
from negsim.results.writer import ResultsFolder, open_results_folder, write_results

__all__ = [
    "FolderKind",
    "FolderLock",
    "Holder",
    "OutputFolder",
    "Results",
    "ResultsFolder",
    "estimated_bytes",
    "events_frame",
    "open_results",
    "open_results_folder",
    "runs_frame",
    "timeseries_frame",
    "write_results",
]

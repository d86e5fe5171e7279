"""The stream's CSV formatter writes the bytes pandas' `to_csv` writes."""

from __future__ import annotations

import numpy as np
import pandas as pd

from negsim.results.tables import csv_lines
from negsim.results.writer import FLOAT_FORMAT


def pandas_lines(frame: pd.DataFrame) -> str:
    return frame.to_csv(index=False, header=False, float_format=FLOAT_FORMAT, lineterminator="\n")


def test_every_kind_of_column_as_pandas_writes_it() -> None:
    floats = np.array(
        [0.0, -0.0, 1.0, -1.5, 1e-7, 123456789.0, 0.1 + 0.2, np.nan, 2.5e-300, 1 / 3, 99999.95]
    )
    n = floats.size
    frame = pd.DataFrame(
        {
            "variant": ["base"] * n,
            "replication": np.arange(1_000_000, 1_000_000 + n),
            "count": np.array([0, -3, 7, 2**40, 1, 0, 0, 5, 9, 10, 11], dtype=np.int64),
            "week": pd.array([None, 3, None, 4, 5, 6, None, 7, 8, 9, 10], dtype="Int64"),
            "date": ["", "2016-01-29", "", "2016-02-05", "", "", "", "", "", "", ""],
            "value": floats,
            "single": floats.astype(np.float32),
            "whole": np.nan_to_num(floats, nan=-7.25),  # no NaN: formatted with the row
            "whole_single": np.nan_to_num(floats, nan=1e30).astype(np.float32),
        }
    )
    assert csv_lines(frame, FLOAT_FORMAT) == pandas_lines(frame)


def test_a_string_that_needs_quotes_is_left_to_pandas() -> None:
    frame = pd.DataFrame({"label": ["a,b", "c"], "x": [1.0, 2.0]})
    assert csv_lines(frame, FLOAT_FORMAT) is None
    assert pandas_lines(frame).startswith('"a,b"')


def test_random_floats_as_pandas_writes_them() -> None:
    rng = np.random.default_rng(7)
    values = rng.standard_normal(5000) * 10.0 ** rng.integers(-12, 12, 5000)
    values[rng.random(5000) < 0.1] = np.nan
    frame = pd.DataFrame(
        {"x": values, "y": rng.integers(-100, 100, 5000), "z": np.nan_to_num(values)}
    )
    assert csv_lines(frame, FLOAT_FORMAT) == pandas_lines(frame)

"""The example notebooks run as written (CI executes them with nbclient)."""

from __future__ import annotations

from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.mark.slow
def test_the_geneva3_notebook_runs_and_shows_verdicts_and_two_figures() -> None:
    nbformat = pytest.importorskip("nbformat", reason="the dev extra installs nbclient")
    nbclient = pytest.importorskip("nbclient", reason="the dev extra installs nbclient")
    notebook = nbformat.read(EXAMPLES / "geneva3.ipynb", as_version=4)
    # Run from examples/, as a user opening the notebook there would; a failing cell raises.
    nbclient.NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": EXAMPLES}}
    ).execute()
    outputs = [out for cell in notebook.cells if cell.cell_type == "code" for out in cell.outputs]
    images = [out for out in outputs if "image/png" in out.get("data", {})]
    assert len(images) >= 2  # the cohesion chart and the forest plot, inline
    tables = [out["data"]["text/html"] for out in outputs if "text/html" in out.get("data", {})]
    assert any("verdict" in table and "alloush_alive" in table for table in tables)
    assert not [out for out in outputs if out.get("output_type") == "error"]

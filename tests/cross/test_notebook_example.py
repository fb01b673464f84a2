"""The shipped notebook (examples/quickstart.ipynb) runs as it is, so the API it shows cannot rot."""

from __future__ import annotations

import pytest
from conftest import EXTRAS, REPO


@pytest.mark.notebook
def test_the_example_notebook_runs_the_quickstart_and_shows_verdicts(tmp_path, monkeypatch):
    for module in ("nbclient", "nbformat", "ipykernel", "pandas"):
        pytest.importorskip(module, reason=EXTRAS["notebook"], exc_type=ImportError)
    import nbformat
    from nbclient import NotebookClient

    monkeypatch.setenv("QUICKSTART_OUT", str(tmp_path / "quickstart"))
    nb = nbformat.read(REPO / "examples" / "quickstart.ipynb", as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(REPO / "examples")}}).execute()  # raises on any cell's error
    outputs = {i: cell.get("outputs", []) for i, cell in enumerate(nb.cells) if cell.cell_type == "code"}
    html = "\n".join(o.get("data", {}).get("text/html", "") for cells in outputs.values() for o in cells)
    assert "scale-zero-one" in html  # the plan and the verdicts, as tables
    assert any(v in html for v in ("improves", "worsens", "no effect", "inconclusive"))
    assert "<iframe srcdoc=" in html  # the report, inline
    assert "scale-zero-one" in (tmp_path / "quickstart" / "report" / "report.html").read_text()

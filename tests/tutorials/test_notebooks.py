"""The tutorials execute from top to bottom at a reduced size (BIOINFO_MI_QUICK=1)."""

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

TUTORIALS = sorted((Path(__file__).resolve().parents[2] / "tutorials").glob("*.ipynb"))


def test_tutorials_exist():
    assert {p.name for p in TUTORIALS} >= {"lineage_markov.ipynb", "protein_interactions.ipynb"}


@pytest.mark.integration
@pytest.mark.slow
@pytest.mark.parametrize("path", TUTORIALS, ids=lambda p: p.stem)
def test_tutorial_executes(path, monkeypatch, tmp_path):
    monkeypatch.setenv("BIOINFO_MI_QUICK", "1")
    for name in ("LARRY_DIR", "PROTT5_H5", "INTERACTIONS_CSV"):
        monkeypatch.delenv(name, raising=False)
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()  # raises CellExecutionError, with the cell and traceback, if any cell fails
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert all(cell.execution_count for cell in code)  # every cell ran
    outputs = [o for cell in code for o in cell.outputs]
    assert any(o.output_type == "display_data" and "image/png" in o.get("data", {}) for o in outputs)  # figures
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    if path.stem == "lineage_markov":
        # the quick mode shrinks the data, not the training, and reaches the simulator's true verdict
        # (hidden fate: not Markovian); with 5 epochs it had concluded "consistent with Markovian dynamics"
        assert "not Markovian" in text and "consistent with Markovian" not in text

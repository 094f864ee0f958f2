"""Every notebook runs headless, top to bottom, with small parameters injected.

The overrides go into a cell inserted right after the cell tagged ``parameters`` (as papermill
does), so the notebooks themselves stay as users see them. Set ``S2P_NOTEBOOK_DEFAULTS=1`` to run
them with their own (larger) parameters instead.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")
pytest.importorskip("ipywidgets")
pytest.importorskip("ipycanvas")
pytest.importorskip("matplotlib")

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
SAMPLE = ROOT / "sample_data"

pytestmark = pytest.mark.slow


def small_parameters(tmp: Path) -> dict[str, dict[str, object]]:
    return {
        "01_colorize.ipynb": {"SIZE": 128, "N_REFERENCES": 3, "APP_REFERENCES": 2, "SAVE_DIR": str(tmp / "colorized")},
        "02_sketch_extraction.ipynb": {"DISPLAY": 160, "SIZE": 128},
        "03_feature_transfer.ipynb": {"SIZE": 128, "GROUPS": 4, "STEPS": 3, "REFERENCES": ["sunset", "ocean_beach"]},
        "05_regions.ipynb": {"SIZE": 128},
        "04_train_short.ipynb": {
            "DATA": str(SAMPLE / "styles"),
            "OUT": str(tmp / "run"),
            "SIZE": 32,
            "BATCH": 2,
            "STEPS": 4,
            "LOG_EVERY": 2,
            "GAN_START": 2,
            "BASE_CHANNELS": 8,
            "STYLE_CHANNELS": 8,
            "STYLE_SIZE": 32,
            "GRID_EVERY": 1,
        },
    }


def inject(nb, overrides: dict[str, object]) -> None:
    """Insert a cell with ``NAME = value`` lines after the ``parameters`` cell."""
    index = next(i for i, c in enumerate(nb.cells) if "parameters" in c.get("metadata", {}).get("tags", []))
    source = "# injected parameters\n" + "\n".join(f"{k} = {v!r}" for k, v in overrides.items())
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["tags"] = ["injected-parameters"]
    cell["id"] = "injected-parameters"
    nb.cells.insert(index + 1, cell)


def run_notebook(path: Path, overrides: dict[str, object] | None, timeout: int = 900) -> tuple[object, float]:
    nb = nbformat.read(path, as_version=4)
    if overrides:
        inject(nb, overrides)
    client = nbclient.NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    started = time.perf_counter()
    client.execute()
    return nb, time.perf_counter() - started


@pytest.fixture(scope="module", autouse=True)
def _kernel_uses_this_python(tmp_path_factory):
    """Point the ``python3`` kernelspec at this interpreter, whatever Jupyter finds elsewhere."""
    import json

    home = tmp_path_factory.mktemp("jupyter-data")
    spec = home / "kernels" / "python3"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3",
        "language": "python",
    }))
    old = os.environ.get("JUPYTER_PATH")
    os.environ["JUPYTER_PATH"] = str(home) + (os.pathsep + old if old else "")
    yield
    if old is None:
        os.environ.pop("JUPYTER_PATH", None)
    else:
        os.environ["JUPYTER_PATH"] = old


def test_notebooks_are_clean_and_documented():
    for path in sorted(NOTEBOOKS.glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
        assert nb.metadata["kernelspec"]["name"] == "python3", path.name
        assert nb.cells[0].cell_type == "markdown", path.name
        first = nb.cells[0].source.lower()
        assert "cpu" in first and "paper idea" in first, f"{path.name}: first cell must say CPU time and paper idea"
        tagged = [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
        assert len(tagged) == 1, f"{path.name}: exactly one cell tagged 'parameters'"
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert not cell.outputs and cell.execution_count is None, f"{path.name}: committed outputs"


NAMES = ["01_colorize.ipynb", "02_sketch_extraction.ipynb", "03_feature_transfer.ipynb", "04_train_short.ipynb",
         "05_regions.ipynb"]


@pytest.mark.parametrize("name", NAMES)
def test_notebook_runs(name, tmp_path):
    path = NOTEBOOKS / name
    assert path.exists(), name
    defaults = os.environ.get("S2P_NOTEBOOK_DEFAULTS") == "1"
    overrides = None if defaults else small_parameters(tmp_path)[name]
    if defaults and name == "04_train_short.ipynb":
        overrides = {"OUT": str(tmp_path / "run")}
    nb, seconds = run_notebook(path, overrides, timeout=3600 if defaults else 900)
    print(f"{name}: {seconds:.1f} s ({'defaults' if defaults else 'small parameters'})")
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors
    if name == "04_train_short.ipynb":
        assert (tmp_path / "run" / "final").is_dir()

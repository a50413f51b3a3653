"""The notebooks run top to bottom on a small demo area, so they never rot.

Each ``notebooks/*.py`` (jupytext percent script) is converted to a notebook and
executed with nbclient in a kernel of *this* interpreter (a kernelspec written to a
temporary folder, so no kernel needs to be registered and a fresh venv works). The
executed notebooks are written to ``test-artifacts/notebooks/`` for inspection, with
their run times in ``timings.json``. Outputs go to a temporary folder via
``WETINDEX_NOTEBOOK_OUTPUT``: nothing is written into the repository.
"""

from __future__ import annotations

import ast
import json
import sys
import time
from pathlib import Path

import pytest

jupytext = pytest.importorskip("jupytext", reason="pip install -e .[dev] (jupytext)")
nbclient = pytest.importorskip("nbclient", reason="pip install -e .[dev] (nbclient)")
pytest.importorskip("ipykernel", reason="pip install -e .[dev] (ipykernel)")

import nbformat  # noqa: E402
from jupyter_client.kernelspec import KernelSpecManager  # noqa: E402
from jupyter_client.manager import KernelManager  # noqa: E402

PROJECT_ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((PROJECT_ROOT / "notebooks").glob("[0-9][0-9]_*.py"))
ARTIFACTS = PROJECT_ROOT / "test-artifacts" / "notebooks"
SHARED = PROJECT_ROOT.parent / "shared"
KERNEL = "wetindex-test-python"
#: per-cell time limit [s]: a hung cell fails the test instead of the whole suite
CELL_TIMEOUT_S = 300
#: the figures each notebook must draw at least (a plot that silently vanished fails)
MIN_FIGURES = {"01": 4, "02": 3, "03": 3, "04": 2}
#: modules a notebook may import: wetindex, the standard library and the scientific stack
ALLOWED_IMPORTS = {"wetindex", "numpy", "pandas", "xarray", "matplotlib", "dask", "shapely",
                   "pyproj", "rasterio", "rioxarray", "yaml", "IPython"}


def _kernel_manager(tmp: Path) -> KernelManager:
    """A kernel of this interpreter, whatever kernels the machine has registered."""
    spec_dir = tmp / "kernels" / KERNEL
    spec_dir.mkdir(parents=True, exist_ok=True)
    (spec_dir / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "wetindex test kernel", "language": "python",
    }))
    specs = KernelSpecManager(kernel_dirs=[str(tmp / "kernels")], ensure_native_kernel=False)
    return KernelManager(kernel_name=KERNEL, kernel_spec_manager=specs)


def _imports(source: str) -> set[str]:
    tree = ast.parse(source)
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.fixture(scope="module")
def notebook_output(tmp_path_factory) -> Path:
    # one output folder for all notebooks: the demo world and static cube are cached
    # by their configuration and built once, as an analyst's second notebook would
    return tmp_path_factory.mktemp("notebook-output")


@pytest.fixture(scope="module")
def timings():
    measured: dict[str, float] = {}
    yield measured
    if measured:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        (ARTIFACTS / "timings.json").write_text(json.dumps(
            {**measured, "total_s": round(sum(measured.values()), 1)}, indent=2) + "\n")


def test_there_are_four_notebooks():
    assert [p.name[:2] for p in NOTEBOOKS] == ["01", "02", "03", "04"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_a_clean_percent_script(path):
    """A percent script with a title, one parameter cell, importing only wetindex."""
    text = path.read_text(encoding="utf-8")
    nb = jupytext.reads(text, fmt="py:percent")
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# ")
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, "one cell tagged 'parameters' lets the analyst switch the area"
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    stdlib = set(sys.stdlib_module_names)
    foreign = _imports(code) - ALLOWED_IMPORTS - stdlib
    assert not foreign, f"{path.name} imports {sorted(foreign)}; notebooks import wetindex only"
    defined = [n.name for n in ast.walk(ast.parse(code))
               if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)]
    assert not defined, (
        f"{path.name} defines {defined}: what the pipeline needs belongs in wetindex")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_top_to_bottom(path, notebook_output, timings, tmp_path, monkeypatch):
    monkeypatch.setenv("WETINDEX_NOTEBOOK_OUTPUT", str(notebook_output))
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    monkeypatch.setenv("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    if SHARED.exists():
        monkeypatch.setenv("WETINDEX_SHARED", str(SHARED))
    nb = jupytext.read(path)
    client = nbclient.NotebookClient(
        nb, km=_kernel_manager(tmp_path), timeout=CELL_TIMEOUT_S, allow_errors=False,
        resources={"metadata": {"path": str(path.parent)}})
    started = time.perf_counter()
    try:
        client.execute()
    finally:
        timings[path.stem] = round(time.perf_counter() - started, 1)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, ARTIFACTS / f"{path.stem}.ipynb")

    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    errors = [o for o in outputs if o.output_type == "error"]
    assert not errors
    figures = sum("image/png" in o.get("data", {}) for o in outputs)
    assert figures >= MIN_FIGURES[path.name[:2]], (
        f"{path.name}: {figures} figures drawn, expected at least {MIN_FIGURES[path.name[:2]]}")
    tracebacks = [o for o in outputs if o.output_type == "stream" and o.name == "stderr"
                  and "Traceback" in o.text]
    assert not tracebacks, tracebacks[0].text

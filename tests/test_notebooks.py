"""The notebooks are documentation that must never rot: each one is executed headlessly, and none is
committed with outputs.

Every notebook in ``notebooks/`` runs top to bottom with nbclient on the ``python3`` kernel, with
``notebooks/`` as the working directory; any cell error fails the test. The kernel is pinned to the
interpreter running pytest (a kernel spec written to a temporary ``JUPYTER_PATH``), so a stale
user-level ``python3`` spec pointing at another Python cannot hijack the run. Notebooks write only
into ``$KONTAK_NOTEBOOK_OUTDIR``, which the tests point at a temporary folder.

Strip outputs before committing with ``python tests/test_notebooks.py --strip``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import nbformat
import pytest

NOTEBOOK_DIR = Path(__file__).resolve().parent.parent / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
EXPECTED = ["01_quickstart.ipynb", "02_evaluation.ipynb", "03_retrain_new_labels.ipynb"]
KERNEL_NAME = "python3"
CELL_TIMEOUT_S = 600
#: Notebook-level metadata a stripped notebook may carry; ``language_info`` is cut to its name, so the
#: committed file does not change with the Python version of whoever ran it last.
ALLOWED_METADATA = {"kernelspec", "language_info"}
LANGUAGE_INFO = {"name": "python"}


def test_the_three_notebooks_exist() -> None:
    assert [path.name for path in NOTEBOOKS] == EXPECTED


def _dirty_cells(nb: nbformat.NotebookNode) -> list[str]:
    """Describe every trace of execution left in a notebook (empty when it is stripped)."""
    problems = [f"notebook metadata {key!r}" for key in sorted(set(nb.metadata) - ALLOWED_METADATA)]
    if nb.metadata.get("language_info", LANGUAGE_INFO) != LANGUAGE_INFO:
        problems.append("language_info records more than the language name")
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        if cell.get("outputs"):
            problems.append(f"cell {index}: has outputs")
        if cell.get("execution_count") is not None:
            problems.append(f"cell {index}: execution_count {cell.execution_count}")
        if "execution" in cell.get("metadata", {}):
            problems.append(f"cell {index}: execution timing metadata")
    return problems


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_committed_stripped(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    problems = _dirty_cells(nb)
    hint = "strip it with: python tests/test_notebooks.py --strip"
    assert not problems, f"{path.name} is not stripped ({problems}); {hint}"
    assert nb.metadata.get("kernelspec", {}).get("name") == KERNEL_NAME


@pytest.fixture(scope="module")
def kernel_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A ``JUPYTER_PATH`` folder whose ``python3`` kernel spec runs this very interpreter."""
    from ipykernel.kernelspec import write_kernel_spec

    root = tmp_path_factory.mktemp("jupyter")
    write_kernel_spec(root / "kernels" / KERNEL_NAME)
    return root


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs(
    path: Path,
    kernel_path: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    record_property: pytest.RecordProperty,
) -> None:
    from jupyter_client.kernelspec import KernelSpecManager
    from nbclient import NotebookClient

    monkeypatch.setenv("JUPYTER_PATH", str(kernel_path))
    monkeypatch.setenv("KONTAK_NOTEBOOK_OUTDIR", str(tmp_path))
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    spec = KernelSpecManager().get_kernel_spec(KERNEL_NAME)
    assert spec.argv[0] == sys.executable, f"kernel spec {KERNEL_NAME!r} runs {spec.argv[0]}"

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=CELL_TIMEOUT_S,
        kernel_name=KERNEL_NAME,
        resources={"metadata": {"path": str(NOTEBOOK_DIR)}},
    )
    start = time.perf_counter()
    client.execute()  # raises CellExecutionError, naming the cell, if any cell fails
    seconds = time.perf_counter() - start
    record_property("seconds", round(seconds, 1))
    print(f"\n{path.name}: executed in {seconds:.1f} s")


def strip(path: Path) -> bool:
    """Remove outputs, execution counts and run metadata in place; True if the file changed."""
    before = path.read_text(encoding="utf-8")
    nb = nbformat.read(path, as_version=4)
    for key in set(nb.metadata) - ALLOWED_METADATA:
        del nb.metadata[key]
    nb.metadata["language_info"] = dict(LANGUAGE_INFO)
    for cell in nb.cells:
        cell.get("metadata", {}).pop("execution", None)
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    nbformat.write(nb, str(path))
    return path.read_text(encoding="utf-8") != before


if __name__ == "__main__":
    if sys.argv[1:] != ["--strip"]:
        sys.exit("usage: python tests/test_notebooks.py --strip")
    for notebook in NOTEBOOKS:
        print(f"{notebook.name}: {'stripped' if strip(notebook) else 'already clean'}")

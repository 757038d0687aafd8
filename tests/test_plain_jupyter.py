"""Released notebooks run on a plain Jupyter or Colab, where the course package is not installed.

A module named ``autograder`` that fails to import is put beside the notebook (the kernel's
working directory comes first on sys.path), so the imports cell must fall back to NumPy.
"""

from __future__ import annotations

import shutil

import nbformat
import pytest
from nbclient import NotebookClient

from conftest import REPO

NO_PACKAGE = 'raise ImportError("the course package is not installed here")\n'


def _run(path, tmp_path, allow_errors):
    (tmp_path / "autograder.py").write_text(NO_PACKAGE)
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3", allow_errors=allow_errors,
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    return nb


def _errors(nb):
    return {c.metadata.get("nbgrader", {}).get("grade_id"): o for c in nb.cells if c.cell_type == "code"
            for o in c.outputs if o.output_type == "error"}


@pytest.mark.parametrize("lab", ["lab03"])
def test_answer_key_passes_its_visible_tests_without_the_package(tmp_path, lab):
    for path in sorted((REPO / "solutions" / lab).glob("*.ipynb")):
        nb = _run(path, tmp_path, allow_errors=False)  # raises if any cell fails
        assert any("OK" in o.get("text", "") for c in nb.cells for o in c.get("outputs", []))


def test_release_runs_top_to_bottom_and_a_mistake_still_fails_visibly(tmp_path):
    nb = _run(REPO / "release" / "lab03" / "03_n.ipynb", tmp_path, allow_errors=True)
    errors = _errors(nb)
    assert "imports" not in errors
    assert {o.ename for o in errors.values()} == {"NotImplementedError"}

    shutil.copy(REPO / "examples" / "submissions" / "lab03" / "softmax-overflow" / "03_n.ipynb", tmp_path / "s.ipynb")
    errors = _errors(_run(tmp_path / "s.ipynb", tmp_path, allow_errors=True))
    assert set(errors) == {"test_softmax"}
    assert errors["test_softmax"].ename == "AssertionError" and "softmax" in errors["test_softmax"].evalue

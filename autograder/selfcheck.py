"""A student's own check: run a notebook top to bottom, without a gradebook or the course's
source, and say which test cells pass and what to fix."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from autograder.execute import TIMEOUT_ERROR, first_line


@dataclass(frozen=True)
class TestCellResult:
    grade_id: str
    points: float
    passed: bool
    message: str = ""


@dataclass(frozen=True)
class SelfCheck:
    tests: list[TestCellResult]
    errors_elsewhere: list[str]  # errors in cells that are not tests (e.g. a solution cell)
    manual_points: float  # free-text answers, graded by hand

    @property
    def score(self) -> float:
        return sum(t.points for t in self.tests if t.passed)

    @property
    def max_score(self) -> float:
        return sum(t.points for t in self.tests)


def _error_of(cell) -> str:
    errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
    if not errors:
        return ""
    error = next((e for e in errors if e.get("ename") == TIMEOUT_ERROR), errors[0])
    detail = first_line(error.get("evalue", ""))
    return f"{error.get('ename', 'Error')}: {detail}" if detail else error.get("ename", "Error")


def check_notebook(path: Path, *, timeout: int = 600) -> SelfCheck:
    """Execute a copy of the notebook in its own folder and report every graded test cell."""
    nb = nbformat.read(path, as_version=4)
    with tempfile.TemporaryDirectory(prefix="check-") as scratch:
        # run beside a copy of the notebook's folder, so data files are found and nothing is written back
        shutil.copytree(Path(path).parent, scratch, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("*.ipynb", ".ipynb_checkpoints"))
        client = NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=True,
                                resources={"metadata": {"path": scratch}},
                                extra_arguments=["--HistoryManager.hist_file=:memory:", "--IPKernelApp.log_level=ERROR"])
        client.execute()
    tests, elsewhere, manual = [], [], 0.0
    for index, cell in enumerate(nb.cells):
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade") and cell.cell_type == "code":
            message = _error_of(cell)
            tests.append(TestCellResult(meta.get("grade_id", f"cell {index}"), float(meta.get("points", 0)),
                                        not message, message))
        elif meta.get("grade"):
            manual += float(meta.get("points", 0))
        elif cell.cell_type == "code" and _error_of(cell):
            elsewhere.append(f"cell {index}" + (f" ({meta['grade_id']})" if meta.get("grade_id") else "")
                             + f": {_error_of(cell)}")
    return SelfCheck(tests, elsewhere, manual)

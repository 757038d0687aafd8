"""A student's own check: run a notebook top to bottom, without a gradebook or the course's
source, and say which test cells pass and what to fix."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from autograder.score.cell_errors import cell_failures


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
    failures = {f.cell_index: f for f in cell_failures(nb)}
    tests, elsewhere, manual = [], [], 0.0
    for index, cell in enumerate(nb.cells):
        meta = cell.metadata.get("nbgrader", {})
        failure = failures.get(index)
        if meta.get("grade") and cell.cell_type == "code":
            tests.append(TestCellResult(meta.get("grade_id", f"cell {index}"), float(meta.get("points", 0)),
                                        failure is None, failure.summary if failure else ""))
        elif meta.get("grade"):
            manual += float(meta.get("points", 0))
        elif failure:
            elsewhere.append(f"cell {index}" + (f" ({failure.grade_id})" if failure.grade_id else "")
                             + f": {failure.summary}")
    return SelfCheck(tests, elsewhere, manual)

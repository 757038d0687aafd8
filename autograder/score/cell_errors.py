"""What went wrong in each cell of an executed notebook: the errors its outputs show, read back for the reports
and for a student's own check."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import nbformat

TIMEOUT_ERROR = "CellTimeoutError"  # nbgrader's Execute.error_on_timeout ename
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


@dataclass(frozen=True)
class CellFailure:
    """An error shown in one cell of an autograded notebook."""

    cell_index: int
    grade_id: str  # "" for cells that are not nbgrader cells
    ename: str
    message: str  # first line of the error, ANSI colours removed

    @property
    def timed_out(self) -> bool:
        return self.ename == TIMEOUT_ERROR

    @property
    def summary(self) -> str:
        """"ename: first line of the message" (or the ename alone)."""
        return f"{self.ename}: {self.message}" if self.message else self.ename


def first_line(text: str) -> str:
    """The first non-blank line of an error message, without ANSI colours."""
    lines = [line for line in _ANSI.sub("", text).splitlines() if line.strip()]
    return lines[0].strip() if lines else ""


def cell_failures(nb: nbformat.NotebookNode) -> list[CellFailure]:
    """Every cell of an executed notebook whose outputs hold an error, in order.

    A timed-out cell is reported as one CellTimeoutError even when the interrupt
    it triggered also left a KeyboardInterrupt in the outputs.
    """
    failures = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        if not errors:
            continue
        error = next((e for e in errors if e.get("ename") == TIMEOUT_ERROR), errors[0])
        detail = first_line(error.get("evalue", ""))
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id", "")
        failures.append(CellFailure(index, grade_id, error.get("ename", ""), detail))
    return failures


def autograded_notebook(autograded_dir: Path, student_id: str, lab: str, notebook: str) -> Path:
    """Where nbgrader writes the executed copy of a student's notebook."""
    return autograded_dir / student_id / lab / f"{notebook}.ipynb"

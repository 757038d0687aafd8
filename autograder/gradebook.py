"""Gradebook: read scores from, and register students in, nbgrader's gradebook."""

from __future__ import annotations

from dataclasses import dataclass

from nbgrader.api import Gradebook as _NbgraderGradebook
from nbgrader.api import MissingEntry

from autograder.course import ensure_scripts_on_path
from autograder.roster import Student


def Gradebook(db_url: str) -> _NbgraderGradebook:  # noqa: N802 (stands in for nbgrader's class)
    """nbgrader's Gradebook, with the `alembic` it runs to create a database on PATH."""
    ensure_scripts_on_path()
    return _NbgraderGradebook(db_url)


@dataclass(frozen=True)
class GradeCell:
    """A graded cell of a lab's notebook, as generate_assignment recorded it."""

    grade_id: str
    max_score: float


@dataclass(frozen=True)
class CellScore:
    grade_id: str
    score: float
    max_score: float
    needs_manual_grade: bool


def grade_cells(db_url: str, lab: str, notebook: str) -> list[GradeCell]:
    """The graded cells of ``lab``/``notebook`` (in no particular order)."""
    with Gradebook(db_url) as gb:
        nb = gb.find_notebook(notebook, lab)
        return [GradeCell(c.name, float(c.max_score)) for c in nb.grade_cells]


def ensure_student(db_url: str, student_id: str) -> None:
    """Register a student, so that nbgrader's exports list them even with nothing gradable."""
    with Gradebook(db_url) as gb:
        gb.update_or_create_student(student_id)


def notebook_scores(db_url: str, lab: str, notebook: str, student_id: str) -> list[CellScore] | None:
    """Per-cell scores of a student's autograded notebook (None if never graded)."""
    with Gradebook(db_url) as gb:
        try:
            submission = gb.find_submission_notebook(notebook, lab, student_id)
        except MissingEntry:
            return None
        return [
            CellScore(g.name, float(g.score), float(g.max_score), bool(g.needs_manual_grade))
            for g in submission.grades
        ]


def forget_submission(db_url: str, lab: str, student_id: str) -> None:
    """Drop a student's earlier grades for ``lab`` (their new submission is not gradable)."""
    with Gradebook(db_url) as gb:
        try:
            gb.remove_submission(lab, student_id)
        except MissingEntry:
            pass


def set_due_date(db_url: str, lab: str, due) -> None:
    """Record ``lab``'s due date (an aware datetime); nbgrader measures lateness against it."""
    with Gradebook(db_url) as gb:
        gb.update_or_create_assignment(lab, duedate=due)


def late_penalty(db_url: str, lab: str, notebook: str, student_id: str) -> float:
    """Points nbgrader's LateSubmissionPlugin took off this notebook (0 without a penalty)."""
    with Gradebook(db_url) as gb:
        try:
            return float(gb.find_submission_notebook(notebook, lab, student_id).late_submission_penalty or 0)
        except MissingEntry:
            return 0.0


def seconds_late(db_url: str, lab: str, student_id: str) -> float:
    """How late nbgrader found the student's submission (0 if on time, undated or absent)."""
    with Gradebook(db_url) as gb:
        try:
            return float(gb.find_submission(lab, student_id).total_seconds_late or 0)
        except MissingEntry:
            return 0.0


def save_students(db_url: str, students: list[Student]) -> None:
    """Create or update each student (id, names, email) in the gradebook."""
    with Gradebook(db_url) as gb:
        for s in students:
            gb.update_or_create_student(s.id, last_name=s.family_name, first_name=s.given_name, email=s.email)


def load_students(db_url: str) -> list[Student]:
    """Every student in the gradebook."""
    with Gradebook(db_url) as gb:
        return [Student(s.id, s.last_name or "", s.first_name or "", s.email or "") for s in gb.students]

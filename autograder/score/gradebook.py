"""Gradebook: record labs in, register students in, and read scores from nbgrader's gradebook."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from nbgrader.api import Gradebook as _NbgraderGradebook
from nbgrader.api import MissingEntry

from autograder.course import Course, ensure_scripts_on_path
from autograder.intake.roster import Student


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


@dataclass
class LabGrades:
    """Everything the reports read of one lab's grades, read in one session (not three per notebook)."""

    scores: dict[tuple[str, str], list[CellScore]]  # (student, notebook) -> per-cell scores
    penalties: dict[tuple[str, str], float]  # (student, notebook) -> late penalty
    seconds_late: dict[str, float]  # student -> how late the submission was

    def notebook_scores(self, notebook: str, student_id: str) -> list[CellScore] | None:
        return self.scores.get((student_id, notebook))


def lab_grades(db_url: str, lab: str) -> LabGrades:
    """Every student's scores, late penalties and lateness for ``lab`` (empty if the lab is not recorded)."""
    grades = LabGrades({}, {}, {})
    with Gradebook(db_url) as gb:
        try:
            assignment = gb.find_assignment(lab)
        except MissingEntry:
            return grades
        for submission in assignment.submissions:
            student = submission.student.id
            grades.seconds_late[student] = float(submission.total_seconds_late or 0)
            for nb in submission.notebooks:
                grades.scores[(student, nb.name)] = [
                    CellScore(g.name, float(g.score), float(g.max_score), bool(g.needs_manual_grade)) for g in nb.grades]
                grades.penalties[(student, nb.name)] = float(nb.late_submission_penalty or 0)
    return grades


def ensure_students(db_url: str, student_ids: list[str]) -> None:
    """Register students (``ensure_student``) in one session and one commit."""
    from nbgrader.api import Student as _Student

    with Gradebook(db_url) as gb:
        known = {s.id for s in gb.students}
        added = [_Student(id=sid) for sid in dict.fromkeys(student_ids) if sid not in known]
        if added:
            gb.db.add_all(added)
            gb.db.commit()


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


def due_date(db_url: str, lab: str):
    """``lab``'s due date as the gradebook records it (None without one, or without the lab)."""
    with Gradebook(db_url) as gb:
        try:
            return gb.find_assignment(lab).duedate
        except MissingEntry:
            return None


def save_student_scores(db_url: str, lab: str, scores) -> None:
    """Write one student's scores (``student_grading.StudentScores``, from a worker) in one transaction.

    The same rows and values nbgrader's autograde writes: the submission (with its time), each notebook's
    late penalty, each grade's ``auto_score`` and each comment's ``auto_comment``. A grade a TA already
    graded by hand keeps its manual score and is marked for review, as nbgrader's SaveAutoGrades does.
    """
    from nbgrader.api import Comment, Grade, SubmittedAssignment, SubmittedNotebook, utils

    with Gradebook(db_url) as gb:
        session = gb.db
        try:
            submission = gb.find_submission(lab, scores.student)
        except MissingEntry:  # what nbgrader's add_submission builds, without committing it yet
            assignment, student = gb.find_assignment(lab), gb.find_student(scores.student)
            with session.no_autoflush:
                submission = SubmittedAssignment(assignment=assignment, student=student)
                for notebook in assignment.notebooks:
                    nb = SubmittedNotebook(notebook=notebook, assignment=submission)
                    for cell in notebook.grade_cells:
                        Grade(cell=cell, notebook=nb)
                    for cell in (*notebook.solution_cells, *notebook.task_cells):
                        Comment(cell=cell, notebook=nb)
                    for cell in notebook.task_cells:
                        Grade(cell=cell, notebook=nb)
            session.add(submission)
            session.flush()
        if scores.timestamp is not None:
            submission.timestamp = utils.parse_utc(scores.timestamp)
        by_cell = {(c.notebook, c.grade_id, c.is_grade): c for c in scores.cells}
        for nb in submission.notebooks:
            nb.late_submission_penalty = scores.late_penalty.get(nb.name)
            submitted = nb.name in scores.autograded
            for grade in nb.grades:
                cell = by_cell.get((nb.name, grade.name, True))
                grade.auto_score = cell.auto_score if cell else None
                # SaveAutoGrades for a notebook it scored; a missing notebook's grades are 0, not for review
                grade.needs_manual_grade = submitted and (grade.manual_score is not None or grade.auto_score is None)
            for comment in nb.comments:
                cell = by_cell.get((nb.name, comment.name, False))
                comment.auto_comment = cell.auto_comment if cell else None
        session.commit()


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


class ReleaseError(Exception):
    """nbgrader could not generate a lab's release."""


def generate_release(course: Course, lab: str, *, release_dir: Path | None = None, db_url: str | None = None) -> Path:
    """Run nbgrader's generate_assignment for ``lab`` into ``release_dir`` (default: release/).

    The lab is created or updated in the gradebook at ``db_url`` (default: the
    course gradebook), which is what autograde later reads the hidden tests from.
    Returns the folder holding the lab's released notebooks.
    """
    course.notebooks(lab)  # a clear error for an unknown lab
    release_dir = Path(release_dir or course.release_dir).resolve()
    directory = {"release_directory": str(release_dir)}
    if db_url:
        directory["db_url"] = db_url
    api = course.api(CourseDirectory=directory)
    result = api.generate_assignment(lab, force=True, create=True)
    if not result["success"]:
        raise ReleaseError(f"nbgrader generate_assignment failed for {lab}:\n{result.get('log', '')}{result.get('error', '')}")
    return release_dir / lab


def record_in_gradebook(course: Course, lab: str) -> None:
    """(Re)record ``lab``'s notebooks, cells and hidden tests in the course gradebook.

    autograde restores test cells from there; the student copies this writes are discarded.
    """
    with tempfile.TemporaryDirectory(prefix="release-") as scratch:
        generate_release(course, lab, release_dir=Path(scratch))

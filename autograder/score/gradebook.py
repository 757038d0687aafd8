"""Gradebook: record labs in, register students in, and read scores from nbgrader's gradebook."""

from __future__ import annotations

import hashlib
import tempfile
from dataclasses import dataclass, field
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
    """A graded cell's score as nbgrader keeps it: ``score`` is the TA's ``manual_score`` when there is one."""

    grade_id: str
    score: float
    max_score: float
    needs_manual_grade: bool
    manual_score: float | None = None  # set in the formgrader; nbgrader counts it instead of the automatic score


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
            CellScore(g.name, float(g.score), float(g.max_score), bool(g.needs_manual_grade),
                      None if g.manual_score is None else float(g.manual_score))
            for g in submission.grades
        ]


def manual_comments(db_url: str, lab: str, notebook: str, student_id: str) -> dict[str, str]:
    """The TA's comments on a student's notebook (written in the formgrader), by cell name; empty ones left out."""
    with Gradebook(db_url) as gb:
        try:
            submission = gb.find_submission_notebook(notebook, lab, student_id)
        except MissingEntry:
            return {}
        return {c.name: c.manual_comment.strip() for c in submission.comments if (c.manual_comment or "").strip()}


def hand_scores(db_url: str, lab: str, student_id: str) -> dict[str, dict[str, float]]:
    """The TA's scores of a student's submission of ``lab``: notebook -> grade_id -> manual score."""
    with Gradebook(db_url) as gb:
        try:
            submission = gb.find_submission(lab, student_id)
        except MissingEntry:
            return {}
        return {
            nb.name: {g.name: float(g.manual_score) for g in nb.grades if g.manual_score is not None}
            for nb in submission.notebooks
        }


def confirm_hand_score(db_url: str, lab: str, notebook: str, student_id: str, grade_id: str) -> None:
    """Mark a hand-graded cell as graded again: nbgrader's autograde flags every hand score for review."""
    with Gradebook(db_url) as gb:
        grade = gb.find_grade(grade_id, notebook, lab, student_id)
        grade.needs_manual_grade = False
        gb.db.commit()


def ensure_students(db_url: str, student_ids: list[str]) -> None:
    """Register students (``ensure_student``) in one session and one commit."""
    from nbgrader.api import Student as _Student

    with Gradebook(db_url) as gb:
        known = {s.id for s in gb.students}
        added = [_Student(id=sid) for sid in dict.fromkeys(student_ids) if sid not in known]
        if added:
            gb.db.add_all(added)
            gb.db.commit()


@dataclass
class LabScores:
    """Every recorded score of one lab, read in one gradebook session."""

    cells: dict[tuple[str, str], list[CellScore]]  # (student, notebook) -> its graded cells
    penalties: dict[tuple[str, str], float]  # (student, notebook) -> late penalty points
    seconds_late: dict[str, float]  # student -> seconds late
    comments: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)  # (student, notebook) -> TA's comments

    def notebook_scores(self, notebook: str, student_id: str) -> list[CellScore] | None:
        return self.cells.get((student_id, notebook))


def lab_scores(db_url: str, lab: str) -> LabScores:
    """The cells, penalties and lateness of every student's submission of ``lab`` (nothing if unrecorded)."""
    scores = LabScores({}, {}, {})
    with Gradebook(db_url) as gb:
        try:
            submissions = gb.assignment_submissions(lab)
        except MissingEntry:
            return scores
        for sub in submissions:
            student = sub.student.id
            scores.seconds_late[student] = float(sub.total_seconds_late or 0)
            for nb in sub.notebooks:
                scores.cells[student, nb.name] = [
                    CellScore(g.name, float(g.score), float(g.max_score), bool(g.needs_manual_grade),
                              None if g.manual_score is None else float(g.manual_score)) for g in nb.grades]
                scores.comments[student, nb.name] = {
                    c.name: c.manual_comment.strip() for c in nb.comments if (c.manual_comment or "").strip()}
                scores.penalties[student, nb.name] = float(nb.late_submission_penalty or 0)
    return scores


def forget_submissions(db_url: str, lab: str, student_ids: list[str]) -> None:
    """:func:`forget_submission` for many, in one session."""
    with Gradebook(db_url) as gb:
        for student_id in student_ids:
            try:
                gb.remove_submission(lab, student_id)
            except MissingEntry:
                pass


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
    """Create or update each student (id, names, email) in the gradebook; those already so are not rewritten
    (one write per student costs ~10 ms: every grade of a class of 300 would pay seconds)."""
    with Gradebook(db_url) as gb:
        known = {s.id: (s.last_name or "", s.first_name or "", s.email or "") for s in gb.students}
        for s in students:
            if known.get(s.id) != (s.family_name, s.given_name, s.email):
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


def _lab_digest(course: Course, lab: str) -> str:
    """SHA-256 over the lab's source notebooks and the course configuration: what recording depends on."""
    digest = hashlib.sha256()
    for path in [course.root / "nbgrader_config.py", *sorted((course.source_dir / lab).rglob("*"))]:
        if path.is_file():
            digest.update(f"{path.name}\0".encode())
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def _has_lab(db_url: str, lab: str, notebooks: list[str]) -> bool:
    with Gradebook(db_url) as gb:
        try:
            return {nb.name for nb in gb.find_assignment(lab).notebooks} >= set(notebooks)
        except MissingEntry:
            return False


def record_if_changed(course: Course, lab: str) -> bool:
    """:func:`record_in_gradebook`, unless the gradebook already holds this lab as its source and the course
    configuration are now (nbgrader's generate_assignment takes seconds: a regrade with nothing new must
    not pay it). Returns whether it recorded."""
    marker = course.root / ".autograder" / "recorded" / lab
    digest = _lab_digest(course, lab)
    if (marker.is_file() and marker.read_text(encoding="utf-8") == digest and course.has_gradebook()
            and _has_lab(course.db_url, lab, course.notebooks(lab))):
        return False
    record_in_gradebook(course, lab)
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(digest, encoding="utf-8")
    return True


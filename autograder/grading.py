"""Grade a lab: collect → execute → gradebook → reports, one stage after the other.

This is the library behind ``autograder grade``; it prints nothing, and reports
progress through an optional callback.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import nbformat

from autograder import collect, execute, gradebook, reports
from autograder.course import Course
from autograder.release import record_in_gradebook
from autograder.results import FAILED, GRADED, INVALID, MISSING, NotebookResult, QuestionResult


@dataclass
class GradingRun:
    """Everything one ``grade`` produced."""

    lab: str
    results: list[NotebookResult]
    grades_csv: Path
    nbgrader_csv: Path
    feedback_dir: Path


def _timeout_reason(failures: list[execute.CellFailure], timeout: int) -> str:
    timed_out = [f for f in failures if f.timed_out]
    if not timed_out:
        return ""
    where = ", ".join(f"cell {f.cell_index}" + (f" ({f.grade_id})" if f.grade_id else "") for f in timed_out)
    return f"タイムアウト / timed out after {timeout} s: {where}"


def _late_reason(seconds: float, penalty: float) -> str:
    if seconds <= 0:
        return ""
    hours, rest = divmod(int(seconds), 3600)
    reason = f"提出遅れ / late by {hours} h {rest // 60:02d} min"
    return reason + (f", 減点 / penalty -{penalty:g}" if penalty else "")


def _graded_result(course: Course, lab: str, sub: collect.Submission, timeout: int) -> NotebookResult | None:
    scores = gradebook.notebook_scores(course.db_url, lab, sub.notebook, sub.student_id)
    if scores is None:
        return None
    order = {gid: i for i, gid in enumerate(course.question_ids(lab, sub.notebook))}
    autograded = execute.autograded_notebook(course.autograded_dir, sub.student_id, lab, sub.notebook)
    failures = execute.cell_failures(nbformat.read(autograded, as_version=4))
    messages = {f.grade_id: f.summary for f in failures if f.grade_id}
    questions = [
        QuestionResult(s.grade_id, s.score, s.max_score, s.needs_manual_grade,
                       messages.get(s.grade_id, "") if s.score < s.max_score and not s.needs_manual_grade else "")
        for s in sorted(scores, key=lambda s: order.get(s.grade_id, len(order)))
    ]
    late = gradebook.seconds_late(course.db_url, lab, sub.student_id)
    penalty = gradebook.late_penalty(course.db_url, lab, sub.notebook, sub.student_id)
    reasons = [r for r in (_timeout_reason(failures, timeout), _late_reason(late, penalty)) if r]
    return NotebookResult(
        sub.student_id, lab, sub.notebook, GRADED,
        score=max(0.0, sum(q.score for q in questions) - penalty),
        max_score=sum(q.max_score for q in questions),
        reason="; ".join(reasons),
        questions=questions,
    )


def _ungraded_result(lab: str, sub: collect.Submission, status: str, reason: str, max_score: float) -> NotebookResult:
    return NotebookResult(sub.student_id, lab, sub.notebook, status, 0.0, max_score, reason)


def grade_lab(
    course: Course,
    lab: str,
    submissions_dir: Path,
    *,
    cell_timeout: int | None = None,
    on_student: Callable[[str], None] | None = None,
) -> GradingRun:
    """Grade every student folder in ``submissions_dir`` for ``lab``; write CSVs and feedback.

    ``cell_timeout`` overrides nbgrader_config.py's per-cell timeout (seconds).
    ``on_student`` is called with each student id once that student is done.
    """
    notebooks = course.notebooks(lab)
    submissions = collect.find_submissions(Path(submissions_dir), lab, notebooks)
    if course.gradebook_path.exists():  # roster students with no folder at all are listed as missing
        present = {s.student_id for s in submissions}
        submissions += [
            collect.Submission(student.id, nb, None)
            for student in gradebook.load_students(course.db_url)
            if (student.family_name or student.given_name) and student.id not in present
            for nb in notebooks
        ]

    record_in_gradebook(course, lab)
    max_scores = {
        nb: sum(c.max_score for c in gradebook.grade_cells(course.db_url, lab, nb)) for nb in notebooks
    }

    overrides = {"Execute": {"timeout": cell_timeout}} if cell_timeout else {}
    api = course.api(**overrides)
    timeout = int(api.config.Execute.get("timeout", 30))
    staged = set(collect.stage(course, lab, submissions))

    runs: dict[str, execute.AutogradeRun] = {}
    students = sorted({s.student_id for s in submissions})
    for student in students:
        gradebook.ensure_student(course.db_url, student)
        if student in staged:
            runs[student] = execute.autograde(api, lab, student)
        else:
            gradebook.forget_submission(course.db_url, lab, student)
        if on_student:
            on_student(student)

    results = []
    for sub in submissions:
        run = runs.get(sub.student_id)
        result = None
        if sub.path is None:
            quarantined = (course.quarantine_dir / lab / sub.student_id).is_dir()
            reason = (f"提出ファイルは隔離されました / upload quarantined: see reports/{lab}/collect.csv"
                      if quarantined else "提出なし / not submitted")
            result = _ungraded_result(lab, sub, MISSING, reason, max_scores[sub.notebook])
        elif sub.problem:
            result = _ungraded_result(lab, sub, INVALID, sub.problem, max_scores[sub.notebook])
        elif run is not None and run.success:
            result = _graded_result(course, lab, sub, timeout)
        if result is None:
            reason = run.reason if run else "not graded"
            result = _ungraded_result(lab, sub, FAILED, f"採点できませんでした / grading failed: {reason}", max_scores[sub.notebook])
        results.append(result)

    if any(r.success for r in runs.values()):
        api.generate_feedback(lab)
    for result in results:
        path = course.feedback_dir / result.student_id / lab / f"{result.notebook}.html"
        if result.status != GRADED:
            reports.write_problem_feedback(result, path)
        result.feedback = path if path.exists() else None

    out = course.reports_dir / lab
    return GradingRun(
        lab,
        results,
        grades_csv=reports.write_grades_csv(results, out / "grades.csv"),
        nbgrader_csv=reports.export_nbgrader_csv(course.db_url, lab, out / "nbgrader_grades.csv"),
        feedback_dir=course.feedback_dir,
    )

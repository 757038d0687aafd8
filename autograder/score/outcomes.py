"""What each student's notebook got: the gradebook's scores, with the reasons a TA and the student read.

In: the expected notebooks of a lab (intake's ``Submission``), the gradebook, the ledger's record of each
execution, and the executed notebooks. Out: one :class:`~autograder.score.results.NotebookResult` per
student and notebook, for the reports.
"""

from __future__ import annotations

import nbformat

from autograder.course import Course
from autograder.intake.submissions import Submission, copied_cells, marked_cells, missing_cells, retyped_cells
from autograder.run import execution
from autograder.score import cell_errors, gradebook
from autograder.score.ledger import Ledger, Record
from autograder.score.nbgrader_autograde import AutogradeRun
from autograder.score.results import FAILED, GRADED, INVALID, MISSING, NotebookResult, QuestionResult


def _timeout_reason(failures: list[cell_errors.CellFailure], timeout: int) -> str:
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


def _missing_reason(course: Course, lab: str, sub: Submission, marked: list[tuple[str, str]]) -> str:
    """Which answer and test cells the submission lacks (nbgrader grades it without them: their points are 0)."""
    reasons = []
    for ids, ja, en in ((course.answer_ids(lab, sub.notebook), "解答セル", "answer"),
                        (course.test_ids(lab, sub.notebook), "テストセル", "test")):
        missing = missing_cells(marked, ids)
        if missing:
            shown = ", ".join(missing[:6]) + (f" (+{len(missing) - 6})" if len(missing) > 6 else "")
            cells = "cell" if len(missing) == 1 else "cells"
            reasons.append(f"{ja}が {len(missing)} 個ありません (削除したか、メタデータが消えています) / {len(missing)} "
                           f"{en} {cells} missing (deleted, or their metadata cleared): {shown}")
    return "; ".join(reasons)


def _repaired_reason(course: Course, lab: str, sub: Submission, marked: list[tuple[str, str]]) -> str:
    """What the grader put right in the submission before grading it (copied or retyped marked cells)."""
    reasons = []
    copied = copied_cells(marked)
    if copied:
        reasons.append(f"印の付いたセルのコピー (grade_id の重複) は普通のセルとして採点しました / a copy of a marked cell "
                       f"(duplicate grade_id) was graded as an ordinary cell: {', '.join(copied)}")
    retyped = retyped_cells(marked, course.cell_types(lab, sub.notebook))
    if retyped:
        reasons.append(f"コードとマークダウンが入れ替えられたセルを元に戻して採点しました / cells switched between code and "
                       f"markdown were switched back: {', '.join(retyped)}")
    return "; ".join(reasons)


def _graded_result(course: Course, lab: str, sub: Submission, timeout: int,
                   record: Record | None, grades: gradebook.LabGrades) -> NotebookResult | None:
    scores = grades.notebook_scores(sub.notebook, sub.student_id)
    if scores is None:
        return None
    order = {gid: i for i, gid in enumerate(course.question_ids(lab, sub.notebook))}
    autograded = cell_errors.autograded_notebook(course.autograded_dir, sub.student_id, lab, sub.notebook)
    failures = cell_errors.cell_failures(nbformat.read(autograded, as_version=4))
    messages = {f.grade_id: f.summary for f in failures if f.grade_id}
    questions = [
        QuestionResult(s.grade_id, s.score, s.max_score, s.needs_manual_grade,
                       messages.get(s.grade_id, "") if s.score < s.max_score and not s.needs_manual_grade else "")
        for s in sorted(scores, key=lambda s: order.get(s.grade_id, len(order)))
    ]
    late = grades.seconds_late.get(sub.student_id, 0.0)
    penalty = grades.penalties.get((sub.student_id, sub.notebook), 0.0)
    run = record.notebooks.get(sub.notebook) if record else None
    stopped = run.reason if run else ""  # why it stopped early, or what of it was not kept
    cell_timeouts = "" if run and run.status == execution.NOTEBOOK_TIMEOUT else _timeout_reason(failures, timeout)
    marked = marked_cells(sub.path) if sub.path else None  # the cells as the student sent them
    cells = (_missing_reason(course, lab, sub, marked), _repaired_reason(course, lab, sub, marked)) if marked is not None else ()
    reasons = [r for r in (*cells, stopped, cell_timeouts, _late_reason(late, penalty)) if r]
    return NotebookResult(
        sub.student_id, lab, sub.notebook, GRADED,
        score=max(0.0, sum(q.score for q in questions) - penalty),
        max_score=sum(q.max_score for q in questions),
        reason="; ".join(reasons),
        questions=questions,
        elapsed=run.elapsed if run else 0.0,
    )




def _ungraded_result(lab: str, sub: Submission, status: str, reason: str, max_score: float) -> NotebookResult:
    return NotebookResult(sub.student_id, lab, sub.notebook, status, 0.0, max_score, reason)




def notebook_results(course: Course, lab: str, submissions: list[Submission], runs: dict[str, AutogradeRun],
                     ledger: Ledger, max_scores: dict[str, float], timeout: int) -> list[NotebookResult]:
    """One result per expected notebook: graded (the gradebook's scores and every reason that applies), missing,
    invalid, or failed (with nbgrader's reason from ``runs``); ``timeout`` is the cell time limit the reasons name."""
    results = []
    grades = gradebook.lab_grades(course.db_url, lab)  # one read of the gradebook for the whole class
    for sub in submissions:
        run = runs.get(sub.student_id)
        record = ledger.get(sub.student_id)
        result = None
        if sub.path is None:
            quarantined = (course.quarantine_dir / lab / sub.student_id).is_dir()
            reason = (f"提出ファイルは隔離されました / upload quarantined: see reports/{lab}/collect.csv"
                      if quarantined else "提出なし / not submitted")
            result = _ungraded_result(lab, sub, MISSING, reason, max_scores[sub.notebook])
        elif sub.problem:
            result = _ungraded_result(lab, sub, INVALID, sub.problem, max_scores[sub.notebook])
        elif record is not None and (run is None or run.success):
            result = _graded_result(course, lab, sub, timeout, record, grades)
        if result is None:
            reason = run.reason if run else "not graded"
            result = _ungraded_result(lab, sub, FAILED, f"採点できませんでした / grading failed: {reason}",
                                      max_scores[sub.notebook])
        results.append(result)
    return results

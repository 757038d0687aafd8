"""What each student's notebook got: the gradebook's scores, with the reasons a TA and the student read.

In: the expected notebooks of a lab (intake's ``Submission``), the gradebook, the ledger's record of each
execution, and the executed notebooks. Out: one :class:`~autograder.score.results.NotebookResult` per
student and notebook, for the reports.
"""

from __future__ import annotations

import re

import nbformat

from autograder.course import Course
from autograder.intake import upload
from autograder.intake.submissions import Submission, copied_cells, marked_cells, missing_cells, retyped_cells
from autograder.run import execution
from autograder.score import cell_errors, gradebook, judge
from autograder.score.ledger import Ledger, Record
from autograder.score.nbgrader_autograde import AutogradeRun
from autograder.score.results import FAILED, GRADED, INVALID, MISSING, NOT_SUBMITTED, NotebookResult, QuestionResult


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
                   record: Record | None, recorded: gradebook.LabScores) -> NotebookResult | None:
    scores = recorded.notebook_scores(sub.notebook, sub.student_id)
    if scores is None:
        return None
    order = {gid: i for i, gid in enumerate(course.question_ids(lab, sub.notebook))}
    autograded = cell_errors.autograded_notebook(course.autograded_dir, sub.student_id, lab, sub.notebook)
    executed = nbformat.read(autograded, as_version=4)
    failures = cell_errors.cell_failures(executed)
    messages = failure_messages(executed, failures, set(order))
    comments = recorded.comments.get((sub.student_id, sub.notebook), {})
    questions = [_question(s, messages, comments) for s in sorted(scores, key=lambda s: order.get(s.grade_id, len(order)))]
    late = recorded.seconds_late.get(sub.student_id, 0.0)
    penalty = recorded.penalties.get((sub.student_id, sub.notebook), 0.0)
    run = record.notebooks.get(sub.notebook) if record else None
    stopped = run.reason if run else ""  # why it stopped early, or what of it was not kept
    cell_timeouts = "" if run and run.status == execution.NOTEBOOK_TIMEOUT else _timeout_reason(failures, timeout)
    marked = marked_cells(sub.path) if sub.path else None  # the cells as the student sent them
    cells = (_missing_reason(course, lab, sub, marked), _repaired_reason(course, lab, sub, marked)) if marked is not None else ()
    reasons = [r for r in (*cells, stopped, cell_timeouts, _late_reason(late, penalty), *_hand_reasons(scores)) if r]
    return NotebookResult(
        sub.student_id, lab, sub.notebook, GRADED,
        score=max(0.0, sum(q.score for q in questions) - penalty),
        max_score=sum(q.max_score for q in questions),
        reason="; ".join(reasons),
        questions=questions,
        elapsed=run.elapsed if run else 0.0,
        comments=comments,
    )


_UNDEFINED = re.compile(r"name '(\w+)' is not defined")
_MAX_CAUSES = 4  # a chain longer than this is not read to its end by anyone


def _binds(source: str, name: str) -> bool:
    """Whether a cell's code binds ``name`` where later cells see it (e.g. ``def name``, ``name, other = ...``)."""
    bound = judge.names_bound(source)
    if bound is None:  # a syntax error: the lines that plainly define or assign it say what it was meant to bind
        return re.search(rf"^\s*(def|class)\s+{name}\b|^\s*{name}\s*=", source, re.M) is not None
    return name in bound


def _cause_of(nb: nbformat.NotebookNode, failures: list[cell_errors.CellFailure], failure: cell_errors.CellFailure,
              tests: set[str]) -> cell_errors.CellFailure | None:
    """For a failure on a name never defined: the last earlier cell (not a test) that should have bound the name
    and raised instead; None for any other failure, or when no such cell failed."""
    undefined = _UNDEFINED.search(failure.message) if failure.ename == "NameError" else None
    if undefined is None:
        return None
    return next((f for f in reversed(failures) if f.cell_index < failure.cell_index and f.grade_id
                 and f.grade_id not in tests and _binds(nb.cells[f.cell_index].source, undefined.group(1))), None)


def _cell_name(nb: nbformat.NotebookNode, failure: cell_errors.CellFailure) -> tuple[str, str]:
    """How a message names a cell, in Japanese and in English: a student's answer cell, or a given (locked) one."""
    if nb.cells[failure.cell_index].metadata.get("nbgrader", {}).get("locked"):
        return f"セル {failure.grade_id}", f"the cell {failure.grade_id}"
    return f"解答セル {failure.grade_id}", f"the answer cell {failure.grade_id}"


def failure_messages(nb: nbformat.NotebookNode, failures: list[cell_errors.CellFailure],
                     tests: set[str]) -> dict[str, str]:
    """Each failed cell's error by grade_id. A cell that failed for a name never defined also names the cell that
    should have defined it and raised instead (e.g. an answer cell's import of a library the lab is graded without),
    and so on back to the first cause (a given cell that stopped on another such name)."""
    messages = {}
    for failure in failures:
        if not failure.grade_id:
            continue
        message, seen = failure.summary, {failure.cell_index}
        cause = _cause_of(nb, failures, failure, tests)
        while cause is not None and cause.cell_index not in seen and len(seen) <= _MAX_CAUSES:
            japanese, english = _cell_name(nb, cause)
            message += f" ({japanese} がエラーで止まっています / {english} raised {cause.summary})"
            seen.add(cause.cell_index)
            cause = _cause_of(nb, failures, cause, tests)
        messages[failure.grade_id] = message
    return messages


def _question(s: gradebook.CellScore, messages: dict[str, str], comments: dict[str, str]) -> QuestionResult:
    """A graded cell as the reports show it. A hand score counts (capped at the cell's maximum: see
    ``_hand_reasons``); one nbgrader flagged again after a regrade is counted and marked for review."""
    hand = s.manual_score is not None
    score = min(s.score, s.max_score) if hand and s.manual_score > s.max_score else s.score
    pending = s.needs_manual_grade and not hand
    message = messages.get(s.grade_id, "") if score < s.max_score and not s.needs_manual_grade and not hand else ""
    return QuestionResult(s.grade_id, score, s.max_score, pending, message, hand_graded=hand,
                          review=hand and s.needs_manual_grade, comment=comments.get(s.grade_id, ""))


def _hand_reasons(scores: list[gradebook.CellScore]) -> list[str]:
    """What a TA must look at again: hand scores above the cell's maximum (counted as the maximum; the
    gradebook keeps what was typed), and hand scores kept through a regrade whose answer changed."""
    over = [s for s in scores if s.manual_score is not None and s.manual_score > s.max_score]
    review = [s.grade_id for s in scores if s.manual_score is not None and s.needs_manual_grade]
    reasons = [f"手採点 {s.manual_score:g} 点が満点 {s.max_score:g} 点を超えています ({s.grade_id}): 満点として数えました。"
               f"formgrader で直してください / hand score {s.manual_score:g} above the maximum {s.max_score:g} "
               f"({s.grade_id}): counted as {s.max_score:g}; correct it in the formgrader" for s in over]
    if review:
        reasons.append(f"手採点の見直しが必要です (採点後に解答が変わりました) / hand grade to review (the answer changed "
                       f"after it was graded): {', '.join(review)}")
    return reasons




def _ungraded_result(lab: str, sub: Submission, status: str, reason: str, max_score: float) -> NotebookResult:
    return NotebookResult(sub.student_id, lab, sub.notebook, status, 0.0, max_score, reason)




def _missing_reason_for(course: Course, lab: str, student: str) -> str:
    """Why a student has no notebook to grade, as they read it: what they uploaded and why it was not graded,
    or that nothing came."""
    uploads = upload.quarantined_uploads(course, lab, student)
    if not uploads:
        return NOT_SUBMITTED
    return ("提出されたファイルは採点できませんでした / your upload could not be graded (quarantined): "
            + " | ".join(why for _, why in uploads))  # each reason names the student's own file


def notebook_results(course: Course, lab: str, submissions: list[Submission], runs: dict[str, AutogradeRun],
                     ledger: Ledger, max_scores: dict[str, float], timeout: int) -> list[NotebookResult]:
    """One result per expected notebook: graded (the gradebook's scores and every reason that applies), missing,
    invalid, or failed (with nbgrader's reason from ``runs``); ``timeout`` is the cell time limit the reasons name."""
    results = []
    recorded = gradebook.lab_scores(course.db_url, lab)  # one gradebook session for the whole class
    for sub in submissions:
        run = runs.get(sub.student_id)
        record = ledger.get(sub.student_id)
        result = None
        if sub.path is None:
            result = _ungraded_result(lab, sub, MISSING, _missing_reason_for(course, lab, sub.student_id),
                                      max_scores[sub.notebook])
        elif sub.problem:
            result = _ungraded_result(lab, sub, INVALID, sub.problem, max_scores[sub.notebook])
        elif record is not None and (run is None or run.success):
            result = _graded_result(course, lab, sub, timeout, record, recorded)
        if result is None:
            reason = run.reason if run else "not graded"
            result = _ungraded_result(lab, sub, FAILED, f"採点できませんでした / grading failed: {reason}",
                                      max_scores[sub.notebook])
        results.append(result)
    return results

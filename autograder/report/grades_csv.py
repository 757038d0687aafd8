"""The grades CSVs: ours (one row per student and notebook) and nbgrader's own export."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import TYPE_CHECKING

from autograder.report import points as _points
from autograder.report.table import question_ids
from autograder.score.results import NotebookResult

if TYPE_CHECKING:
    from autograder.report.lab_grades import LabGrade


def failure_summary(result: NotebookResult) -> str:
    """One line per question that lost points: "grade_id: first line of its error"."""
    return "\n".join(f"{q.grade_id}: {q.message}" for q in result.questions if q.message)


def _write_rows(results: list[NotebookResult], path: Path, extra_header: list[str], extra: list[list[str]]) -> Path:
    """One row per result: status, score, reason, one column per question (a hand score counts; "manual" waits
    for one), failure messages, the hand scores to review after a regrade, the TA's comments, then ``extra``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    questions = question_ids(results)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["student_id", "lab", "notebook", "status", "score", "max_score", "manual_pending", "reason",
                         *questions, "failures", "hand_review", "ta_comments", *extra_header])
        for r, more in zip(results, extra, strict=True):
            by_id = {q.grade_id: q for q in r.questions}
            cells = [
                "" if q not in by_id else ("manual" if by_id[q].needs_manual_grade else _points(by_id[q].score))
                for q in questions
            ]
            writer.writerow([r.student_id, r.lab, r.notebook, r.status, _points(r.score), _points(r.max_score),
                             _points(r.manual_pending), r.reason, *cells, failure_summary(r), " ".join(r.to_review),
                             r.ta_comments, *more])
    return path


def write_grades_csv(results: list[NotebookResult], path: Path, grades: list[LabGrade] | None = None) -> Path:
    """One row per result: status, score, reason, one column per question, failure messages.

    With ``grades`` (one per result, in order: ``results`` are the notebooks that counted, one per student),
    each row also has the lab's grade on its scale (``grade``, ``grade_max``) and the notebooks sent but not
    counted (``not_counted``: "02_h:7/9")."""
    if grades is None:
        return _write_rows(results, path, [], [[] for _ in results])
    extra = [[_points(g.grade), _points(g.maximum),
              " ".join(f"{r.notebook}:{_points(r.score)}/{_points(r.max_score)}" for r in g.not_counted)]
             for g in grades]
    return _write_rows(results, path, ["grade", "grade_max", "not_counted"], extra)


def write_notebooks_csv(grades: list[LabGrade], counted: list[NotebookResult], path: Path) -> Path:
    """Every notebook each student sent (counted or not; a student who sent none: one missing row), with
    its questions, and ``counted``: yes/no. For a TA who wants the notebook that did not count too."""
    results, extra = [], []
    for g, r in zip(grades, counted, strict=True):
        results.append(r)
        extra.append(["yes"])
        results += g.not_counted
        extra += [["no"]] * len(g.not_counted)
    return _write_rows(results, path, ["counted"], extra)


def export_nbgrader_csv(db_url: str, lab: str, path: Path) -> Path:
    """nbgrader's own CSV export (one row per student) for ``lab``."""
    from nbgrader.plugins import CsvExportPlugin

    from autograder.score.gradebook import Gradebook

    path.parent.mkdir(parents=True, exist_ok=True)
    plugin = CsvExportPlugin(to=str(path), assignment=[lab])
    with Gradebook(db_url) as gb:
        plugin.export(gb)
    return path



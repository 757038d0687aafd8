"""Gradescope's autograder ``results.json``, one per student's notebook. A pure writer: a result in, one file out."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from autograder.report import exported_points as _points
from autograder.score.results import NotebookResult

if TYPE_CHECKING:
    from autograder.report.lab_grades import LabGrade


def write_gradescope_results(result: NotebookResult, path: Path, *, visibility: str = "visible",
                             grade: LabGrade | None = None) -> Path:
    """Gradescope's autograder ``results.json`` for one student's notebook.

    Format (https://gradescope-autograders.readthedocs.io/en/latest/specs/), UTF-8 JSON::

        {"score": 7.0,                      # the notebook's grade; Gradescope takes it over the tests' sum
         "execution_time": 12,              # seconds (result.elapsed, rounded)
         "output": "status: graded\\nreason: ...",
         "tests": [{"name": "test_conv2d", "score": 0.0, "max_score": 2.0, "status": "failed",
                    "output": "<first line of the failure>", "visibility": "visible"}, ...]}

    One test per graded question, named by its grade_id. A question awaiting hand grading has no
    ``status`` (it has neither passed nor failed; Gradescope allows only those two) and says so in its
    output. A late penalty is one more test, ``late_penalty``, with the (negative) points taken, so
    that the tests still add up to ``score``. A hand-graded question has the TA's score, and the TA's
    comment in its output. Missing, invalid and failed notebooks have score 0, no
    tests, and the reason in ``output``.
    """
    tests = []
    for q in result.questions:
        test = {"name": q.grade_id, "score": q.score, "max_score": q.max_score}
        if q.needs_manual_grade:
            test["output"] = f"採点待ち / awaits hand grading ({_points(q.max_score)} points)"
        else:
            test["status"] = "passed" if q.score >= q.max_score else "failed"
            test["output"] = "\n".join(t for t in (q.message, q.comment and f"TA: {q.comment}") if t)
        test["visibility"] = visibility
        tests.append(test)
    penalty = result.score - sum(q.score for q in result.questions)
    if result.questions and abs(penalty) > 1e-9:
        tests.append({"name": "late_penalty", "score": round(penalty, 6), "max_score": 0.0, "status": "failed",
                      "output": result.reason, "visibility": visibility})
    output = f"status: {result.status}" + (f"\nreason: {result.reason}" if result.reason else "")
    if grade is not None and grade.submitted:
        output = (f"採点したノートブック / counted: {result.notebook.removesuffix('.ipynb')}.ipynb, {_points(result.score)}/"
                  f"{_points(result.max_score)} → {_points(grade.grade)}/{_points(grade.maximum)}\n") + output
    if result.manual_pending:
        output += f"\n採点待ち / awaiting hand grading: {_points(result.manual_pending)} points"
    payload = {
        "score": grade.grade if grade is not None else result.score,
        "execution_time": round(result.elapsed),
        "output": output,
        "tests": tests,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return path

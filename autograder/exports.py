"""Exports of grading results to other systems' upload formats: Gradescope's autograder
``results.json`` and Moodle's grading worksheet CSV. Pure writers: results in, one file out."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from autograder.results import MISSING, NotebookResult
from autograder.roster import Student


def _points(x: float) -> str:
    return f"{round(x, 2):g}"  # rounded first, so that float sums print as 7.3, not 7.300000000000001


def _one_line(text: str) -> str:
    return " ".join(text.split())


def write_gradescope_results(result: NotebookResult, path: Path, *, visibility: str = "visible") -> Path:
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
    that the tests still add up to ``score``. Missing, invalid and failed notebooks have score 0, no
    tests, and the reason in ``output``.
    """
    tests = []
    for q in result.questions:
        test = {"name": q.grade_id, "score": q.score, "max_score": q.max_score}
        if q.needs_manual_grade:
            test["output"] = f"採点待ち / awaits hand grading ({_points(q.max_score)} points)"
        else:
            test["status"] = "passed" if q.score >= q.max_score else "failed"
            test["output"] = q.message
        test["visibility"] = visibility
        tests.append(test)
    penalty = result.score - sum(q.score for q in result.questions)
    if result.questions and abs(penalty) > 1e-9:
        tests.append({"name": "late_penalty", "score": round(penalty, 6), "max_score": 0.0, "status": "failed",
                      "output": result.reason, "visibility": visibility})
    output = f"status: {result.status}" + (f"\nreason: {result.reason}" if result.reason else "")
    if result.manual_pending:
        output += f"\n採点待ち / awaiting hand grading: {_points(result.manual_pending)} points"
    payload = {
        "score": result.score,
        "execution_time": round(result.elapsed),
        "output": output,
        "tests": tests,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return path


# The columns of the worksheet that Moodle's assignment offers ("Download grading worksheet"), in its
# order, with email as the only extra identity field (Moodle's default showuseridentity).
MOODLE_WORKSHEET_HEADER = [
    "Identifier", "Full name", "Email address", "Status", "Grade", "Maximum Grade", "Grade can be changed",
    "Last modified (submission)", "Last modified (grade)", "Feedback comments",
]


def _notebook_summary(r: NotebookResult) -> str:
    parts = [f"{r.notebook}: {_points(r.score)}/{_points(r.max_score)} {r.status}"]
    if r.reason:
        parts.append(r.reason)
    if r.manual_pending:
        parts.append(f"awaiting hand grading {_points(r.manual_pending)} pt")
    lost = [q.grade_id for q in r.questions if not q.needs_manual_grade and q.score < q.max_score]
    if lost:
        parts.append("lost points: " + ", ".join(lost))
    return _one_line("; ".join(parts))


def write_moodle_worksheet(results: list[NotebookResult], students: list[Student], path: Path, *, lab: str) -> Path:
    """A Moodle grading worksheet (CSV) with each roster student's total for ``lab``.

    Format: UTF-8 with a BOM (so that Excel on Japanese Windows reads it as UTF-8; Moodle strips the
    BOM), comma-separated, the header of Moodle's own worksheet (MOODLE_WORKSHEET_HEADER), one row per
    student in ``students``, in roster order:

    - Grade: the sum of the student's notebook scores for ``lab`` (0 with no results); Maximum Grade:
      the sum of the lab's notebook maxima (as ``results`` give them), the same for every student;
    - Status: "No submission" when nothing was submitted, else the notebooks' statuses;
    - Feedback comments: one line, "notebook: score/max status; reason; lost points: ..." per notebook;
    - the two "Last modified" columns: "-" (Moodle's own "no date"; we do not know Moodle's times).

    Which column Moodle matches on. The assignment's "Upload grading worksheet" matches rows *only*
    by Identifier, "Participant N", where N is Moodle's per-assignment participant number
    (mod/assign/feedback/offline/importgradeslib.php strips the "Participant " prefix and looks the
    number up with get_user_id_for_uniqueid; rows that do not match are skipped without a word). We do
    not know those numbers, so the upload that fits this file is the gradebook's CSV import (Grades >
    Import > CSV file), which lets the teacher choose "Identify user by": map the "Email address"
    column to Email address, or the "Identifier" column to ID number, then map "Grade" to the
    assignment and "Feedback comments" to its feedback (grade/import/csv/classes/load_data.php).
    So Identifier holds the roster's student id: with a roster from Moodle's participants export that
    is Moodle's ID number. Caveats, from that same code:

    - a row whose mapped value is empty takes the previous row's user, so a student without an email
      gets "no-email:<id>", which Moodle cannot find: it stops the whole import and names the row,
      rather than giving the grade to the student above (or map by ID number instead);
    - any value Moodle cannot find stops the whole import, so every roster student must be enrolled;
    - results of students not in ``students`` (not on the roster) are not written.
    - do not send this file through the assignment's "Upload grading worksheet": there Moodle drops the
      first 12 characters ("Participant ") of Identifier and looks the rest up as a participant number,
      so an id of 12 characters or fewer matches nobody, but a longer numeric id could match someone.
    """
    mine = [r for r in results if r.lab == lab]
    by_student: dict[str, list[NotebookResult]] = {}
    for r in mine:
        by_student.setdefault(r.student_id, []).append(r)
    notebook_max: dict[str, float] = {}
    for r in mine:
        notebook_max[r.notebook] = max(notebook_max.get(r.notebook, 0.0), r.max_score)
    lab_max = sum(notebook_max.values())

    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8-sig") as fh:
        writer = csv.writer(fh)
        writer.writerow(MOODLE_WORKSHEET_HEADER)
        for s in students:
            own = sorted(by_student.get(s.id, []), key=lambda r: r.notebook)
            submitted = any(r.status != MISSING for r in own)
            if submitted:
                pending = any(r.manual_pending for r in own)
                status = ", ".join(dict.fromkeys(r.status for r in own)) + (", hand grading pending" if pending else "")
            else:
                status = "No submission"
            writer.writerow([
                s.id,
                s.full_name,
                s.email or f"no-email:{s.id}",
                status,
                _points(sum(r.score for r in own)),
                _points(lab_max),
                "Yes",
                "-",
                "-",
                " | ".join(_notebook_summary(r) for r in own) or "No submission",
            ])
    return path

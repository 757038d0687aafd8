"""Moodle's grading worksheet (CSV) for a lab. A pure writer: results and the roster in, one file out."""

from __future__ import annotations

import csv
from pathlib import Path

from autograder.intake.roster import Student
from autograder.report import exported_points as _points
from autograder.report import one_line as _one_line
from autograder.score.results import MISSING, NotebookResult

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
    parts.extend(f"TA: {text}" for text in r.comments.values())  # the TA's comments from the formgrader
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

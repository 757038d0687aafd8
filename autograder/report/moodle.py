"""Grades and feedback back into Moodle: the assignment's grading worksheet, the feedback zip, and a gradebook CSV.

Pure writers: the lab's grades (one per student, :mod:`.lab_grades`), the roster and Moodle's participant
numbers (recorded by ``collect`` from the submissions zip) in, files out. The formats follow Moodle's own
code (mod/assign): the worksheet is read by ``assignfeedback_offline_grade_importer``
(feedback/offline/importgradeslib.php, with the rules of locallib.php ``process_import_grades``), the zip by
``assignfeedback_file_zip_importer`` (feedback/file/importziplib.php).
"""

from __future__ import annotations

import csv
import zipfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from autograder.intake.roster import Student
from autograder.intake.upload import Participant
from autograder.report import exported_points as _points
from autograder.report import one_line as _one_line
from autograder.report.lab_grades import LabGrade
from autograder.score.results import NotebookResult

# The worksheet's columns as Moodle's "Download grading worksheet" writes them (gradingtable.php, downloading,
# with a file submission and feedback comments, email as the identity field). The importer finds its columns
# by these exact names: "Identifier" (the row's student), "Grade", "Last modified (grade)", "Feedback comments".
MOODLE_WORKSHEET_HEADER = [
    "Identifier", "Full name", "Email address", "Status", "Grade", "Maximum Grade", "Grade can be changed",
    "Last modified (submission)", "Last modified (grade)", "Feedback comments",
]
PARTICIPANT_PREFIX = "Participant "  # Moodle's string 'hiddenuser': Identifier is "Participant <number>"
# Moodle's "No submission" and "Submitted for grading - Graded" (submissionstatus_*, graded), as downloaded
NO_SUBMISSION, SUBMITTED, GRADED_STATUS = "No submission", "Submitted for grading", "Graded"
GRADEBOOK_HEADER = ["ID number", "Full name", "Email address", "Grade", "Maximum Grade", "Feedback comments"]

_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December")


def moodle_date(when: datetime) -> str:
    """A time as Moodle's userdate() writes it in English ("Saturday, 5 December 2026, 4:14 PM"), which
    the importer reads back with PHP's strtotime. Written without the locale, so a Japanese one cannot change it."""
    hour = when.hour % 12 or 12
    return (f"{_DAYS[when.weekday()]}, {when.day} {_MONTHS[when.month - 1]} {when.year}, "
            f"{hour}:{when.minute:02d} {'AM' if when.hour < 12 else 'PM'}")


def feedback_summary(grade: LabGrade, result: NotebookResult) -> str:
    """One line for Moodle's feedback comments: which notebook counted, its score, the grade, and why points went."""
    if not grade.submitted:
        return _one_line(result.reason) or NO_SUBMISSION
    parts = [f"{result.notebook.removesuffix('.ipynb')}.ipynb: {_points(result.score)}/{_points(result.max_score)} → "
             f"{_points(grade.grade)}/{_points(grade.maximum)} ({result.status})"]
    if result.reason:
        parts.append(result.reason)
    if result.manual_pending:
        parts.append(f"採点待ち / awaiting hand grading {_points(result.manual_pending)} pt")
    lost = [q.grade_id for q in result.questions if not q.needs_manual_grade and q.score < q.max_score]
    if lost:
        parts.append("減点 / lost points: " + ", ".join(lost))
    parts.extend(f"TA: {text}" for text in result.comments.values())  # the TA's comments from the formgrader
    return _one_line("; ".join(parts))


def _status(grade: LabGrade, result: NotebookResult) -> str:
    if not grade.submitted:
        return NO_SUBMISSION
    return SUBMITTED if result.manual_pending else f"{SUBMITTED} - {GRADED_STATUS}"


@dataclass
class MoodleExport:
    """The Moodle files of one lab, and the roster students they could not include (with why)."""

    worksheet: Path | None = None  # the assignment's "Upload grading worksheet"
    feedback_zip: Path | None = None  # the assignment's "Upload multiple feedback files in a zip"
    gradebook_csv: Path | None = None  # the gradebook's "Import > CSV file" (by ID number or email)
    problems: list[str] = field(default_factory=list)  # bilingual, one per student or file left out


def write_moodle_worksheet(grades: list[LabGrade], results: list[NotebookResult], students: list[Student],
                           participants: dict[str, Participant], path: Path, *, written: datetime) -> list[str]:
    """The assignment's grading worksheet: one row per roster student that Moodle numbered, in roster order.

    Format: UTF-8 with a BOM (Excel on Japanese Windows; Moodle's csv reader strips it), comma-separated,
    MOODLE_WORKSHEET_HEADER. Rules from Moodle's importer that shape it:

    - rows are matched only by Identifier, "Participant N" (the prefix is cut off by length and N looked up
      among the assignment's participants); a row that does not match is skipped without a word, so a
      student without a number (nothing in Moodle's zip) gets no row, and is returned as a problem instead;
    - a grade that is empty, negative or above the assignment's maximum grade is skipped: Grade is the lab
      grade, on the scale of c.LabGrade.maximum, which must be the assignment's maximum grade;
    - a row whose "Last modified (grade)" is more than a minute older than the grade in Moodle is skipped
      unless the teacher ticks "Allow updating records that have been modified more recently in Moodle
      than in the spreadsheet": it holds ``written``, the time the file was written;
    - "Feedback comments" replaces the student's feedback comment in Moodle.

    Returns the problems (students left out, and why).
    """
    by_student = {g.student_id: (g, r) for g, r in zip(grades, results, strict=True)}
    problems = []
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8-sig") as fh:
        writer = csv.writer(fh)
        writer.writerow(MOODLE_WORKSHEET_HEADER)
        for s in students:
            participant = participants.get(s.id)
            if participant is None:
                problems.append(f"{s.id} ({s.full_name}): Moodle の参加者番号がありません (Moodle の提出 zip に名前がなく、"
                                "名簿の participant 列にもない) / no Moodle participant number (not named in Moodle's "
                                "submissions zip: nothing submitted; none in the roster's participant column); not in "
                                "the worksheet: give the grade in Moodle, add the roster's participant_<lab> column "
                                "(Moodle's worksheet 'Identifier') and re-import it, or import moodle_gradebook.csv")
                continue
            if s.id not in by_student:
                problems.append(f"{s.id} ({s.full_name}): この課題の成績がありません / no grade for this lab")
                continue
            grade, result = by_student[s.id]
            writer.writerow([
                f"{PARTICIPANT_PREFIX}{participant.number}",
                participant.name or s.full_name,
                s.email,
                _status(grade, result),
                _points(grade.grade),
                _points(grade.maximum),
                "Yes",
                moodle_date(participant.submitted) if participant.submitted else "-",
                moodle_date(written),
                feedback_summary(grade, result),
            ])
    return problems


def write_gradebook_csv(grades: list[LabGrade], results: list[NotebookResult], students: list[Student],
                        path: Path) -> Path:
    """A CSV for the gradebook's "Import > CSV file": one row per roster student, in roster order.

    The teacher maps "ID number" (or "Email address") to the user, "Grade" to the assignment and "Feedback
    comments" to its feedback (grade/import/csv). Every roster student has a row, those who sent nothing
    with 0. Moodle stops the whole import at a value it cannot find, and a row with an empty user field
    takes the previous row's user, so no field is left empty (an absent email: "no-email:<id>").
    """
    by_student = {g.student_id: (g, r) for g, r in zip(grades, results, strict=True)}
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8-sig") as fh:
        writer = csv.writer(fh)
        writer.writerow(GRADEBOOK_HEADER)
        for s in students:
            grade, result = by_student.get(s.id, (None, None))
            maximum = grades[0].maximum if grades else 100.0
            writer.writerow([
                s.id, s.full_name, s.email or f"no-email:{s.id}",
                _points(grade.grade) if grade else "0",
                _points(grade.maximum if grade else maximum),
                feedback_summary(grade, result) if grade else NO_SUBMISSION,
            ])
    return path


def _folder_name(name: str, number: str) -> str:
    """Moodle's folder for one participant's files: "<full name>_<number>_assignsubmission_file_".

    Moodle splits it at "_" (at most 5 parts) and reads the number from the second: a "_" or "/" in the
    name would move it, so those become spaces."""
    clean = " ".join(name.replace("_", " ").replace("/", " ").replace("\\", " ").split()) or "student"
    return f"{clean}_{number}_assignsubmission_file_"


def write_feedback_zip(grades: list[LabGrade], results: list[NotebookResult], students: list[Student],
                       participants: dict[str, Participant], path: Path) -> list[str]:
    """The feedback zip: each numbered roster student's feedback page of the counted notebook, in their folder.

    Moodle's importer takes every file under a folder named "<name>_<number>_<plugintype>_<plugin>_" as that
    participant's feedback file (the rest of the path is its name). Returns the problems (pages left out)."""
    by_student = {g.student_id: r for g, r in zip(grades, results, strict=True)}
    problems = []
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for s in students:
            participant, result = participants.get(s.id), by_student.get(s.id)
            if participant is None or result is None:
                continue  # listed by the worksheet's problems
            if result.feedback is None or not Path(result.feedback).is_file():
                problems.append(f"{s.id}: フィードバックのページがありません / no feedback page for {result.notebook}")
                continue
            folder = _folder_name(participant.name or s.full_name, participant.number)
            zf.write(result.feedback, f"{folder}/{Path(result.feedback).name}")
    return problems


def write_moodle_files(grades: list[LabGrade], results: list[NotebookResult], students: list[Student],
                       participants: dict[str, Participant], out: Path, *, written: datetime) -> MoodleExport:
    """``out``/moodle_grades.csv (the worksheet), moodle_feedback.zip and moodle_gradebook.csv.

    Without any participant number (the submissions did not come from a Moodle zip) the worksheet and the
    zip cannot be matched by Moodle: they are not written (an old pair is removed, it would be stale), and
    the problem says to use the gradebook CSV."""
    export = MoodleExport(gradebook_csv=write_gradebook_csv(grades, results, students, out / "moodle_gradebook.csv"))
    worksheet, feedback_zip = out / "moodle_grades.csv", out / "moodle_feedback.zip"
    if not participants:
        worksheet.unlink(missing_ok=True)
        feedback_zip.unlink(missing_ok=True)
        export.problems.append("Moodle の参加者番号がありません (提出は Moodle の zip から collect されていない) / no Moodle "
                               "participant numbers (the submissions were not collected from Moodle's zip): no "
                               f"grading worksheet or feedback zip; import {export.gradebook_csv.name} instead")
        return export
    export.problems += write_moodle_worksheet(grades, results, students, participants, worksheet, written=written)
    export.worksheet = worksheet
    export.problems += write_feedback_zip(grades, results, students, participants, feedback_zip)
    export.feedback_zip = feedback_zip
    return export

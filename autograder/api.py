"""The autograder as a library: one function per task an instructor or a TA does.

The ``autograder`` command (:mod:`autograder.cli`) is a thin layer over these; scripts and notebooks
can call them the same way::

    from autograder import api
    from autograder.course import Course

    course = Course.find()                               # the folder holding nbgrader_config.py and source/
    api.release(course, ["lab03"])                      # source/ -> release/ and solutions/
    api.import_roster(course, "roster.csv")             # the class, into the gradebook
    api.collect(course, "lab03", "download.zip", due="2026-07-14T23:59")   # Moodle's zip -> submitted/
    run = api.grade_lab(course, "lab03")                # submitted/ -> gradebook, reports, feedback
    api.report(course, "lab03")                         # the reports again, from the gradebook (hand grades too)

Each stage of the pipeline lives in a package of its own (docs/architecture.md): ``intake`` (uploads,
roster, staging), ``run`` (sandboxed kernels), ``score`` (nbgrader, the grader's checks, the gradebook),
``report`` (tables, CSVs, Moodle, feedback), with ``authoring`` (release, sync, calibrate) beside them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from autograder.authoring.calibrate import Calibration, calibrate
from autograder.authoring.release import release_labs
from autograder.authoring.sync import Drift, check_sync
from autograder.course import Course
from autograder.grade import GradeOptions, GradingRun
from autograder.grade import grade_lab as _grade_lab
from autograder.intake.roster import Roster, Student, read_roster
from autograder.intake.upload import DEFAULT_FOLDER_PATTERN, CollectReport, collect_upload, read_folder, read_moodle_zip
from autograder.score import gradebook
from autograder.selfcheck import SelfCheck, check_notebook

__all__ = [
    "Calibration", "CollectReport", "Drift", "GradeOptions", "GradingRun", "SelfCheck",
    "calibrate", "check_notebook", "check_sync", "collect", "grade_lab", "import_roster", "release",
]


def release(course: Course, labs: list[str] | None = None, *, execute: bool = True) -> list[str]:
    """Generate ``release/<lab>`` (student copies) and ``solutions/<lab>`` (answer keys, executed unless
    ``execute`` is False) from ``source/`` for ``labs`` (default: all); returns the labs released."""
    return release_labs(course, labs, execute=execute)


def import_roster(course: Course, path: Path | str) -> list[Student]:
    """Add (or update) the students of a roster CSV or Moodle participants export in the gradebook."""
    students = read_roster(Path(path))
    gradebook.save_students(course.db_url, students)
    return students


def collect(course: Course, lab: str, upload: Path | str, *, due: datetime | str | None = None,
            timezone: str = "Asia/Tokyo", pattern: str = DEFAULT_FOLDER_PATTERN) -> CollectReport:
    """Sort a class's upload (Moodle's "Download all submissions" zip, or a folder of ``<student>_...`` files
    matched by ``pattern``) into ``submitted/`` and ``quarantine/``; with ``due`` (an ISO 8601 time, in
    ``timezone`` unless it says otherwise), lateness goes into the gradebook."""
    course.notebooks(lab)  # a clear error for an unknown lab
    upload = Path(upload)
    files = read_folder(upload, pattern, timezone) if upload.is_dir() else read_moodle_zip(upload, timezone)
    if isinstance(due, str):
        due = datetime.fromisoformat(due)
    if due is not None:
        due = due if due.tzinfo else due.replace(tzinfo=ZoneInfo(timezone))
        gradebook.record_in_gradebook(course, lab)
        gradebook.set_due_date(course.db_url, lab, due)
    students = gradebook.load_students(course.db_url) if course.has_gradebook() else []
    roster = Roster(tuple(s for s in students if s.family_name or s.given_name))
    return collect_upload(course, lab, files, roster, due=due)


def grade_lab(course: Course, lab: str, submissions: Path | str | None = None, options: GradeOptions | None = None,
              *, on_student: Callable[[str], None] | None = None) -> GradingRun:
    """Grade every student's notebooks of ``lab`` in ``submissions`` (default: the course's ``submitted/``):
    run them sandboxed, score them into the gradebook, and write the reports and feedback."""
    folder = Path(submissions).resolve() if submissions else course.submitted_dir
    return _grade_lab(course, lab, folder, options, on_student=on_student)

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

import os
import secrets
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from autograder.course import Course
from autograder.intake.roster import Roster, Student, load_roster, read_roster, save_roster

# The stages are imported by the functions that use them, not here: `roster import` or `check` must not
# pay for nbgrader, nbformat, matplotlib and the rest (seconds each), which only grading and releasing need.
if TYPE_CHECKING:  # what __getattr__ below imports on first use
    from autograder.authoring.calibrate import Calibration, calibrate
    from autograder.authoring.sync import Drift, check_sync
    from autograder.grade import GradeOptions, GradingRun, NotGradedError, Outputs
    from autograder.intake.upload import CollectReport
    from autograder.selfcheck import SelfCheck, check_notebook

__all__ = [
    "Calibration", "CollectReport", "Drift", "GradeOptions", "GradingRun", "NotGradedError", "Outputs", "SelfCheck",
    "calibrate", "check_notebook", "check_sync", "collect", "grade_lab", "import_roster", "release", "report",
    "FormgraderServer", "formgrader_server",
]

_LAZY = {  # name -> module that defines it, imported on first use (PEP 562)
    "Calibration": "autograder.authoring.calibrate", "Drift": "autograder.authoring.sync",
    "GradeOptions": "autograder.grade", "GradingRun": "autograder.grade",
    "NotGradedError": "autograder.grade", "Outputs": "autograder.grade",
    "CollectReport": "autograder.intake.upload", "SelfCheck": "autograder.selfcheck",
    "calibrate": "autograder.authoring.calibrate", "check_sync": "autograder.authoring.sync",
    "check_notebook": "autograder.selfcheck",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def release(course: Course, labs: list[str] | None = None, *, execute: bool = True) -> list[str]:
    """Generate ``release/<lab>`` (student copies) and ``solutions/<lab>`` (answer keys, executed unless
    ``execute`` is False) from ``source/`` for ``labs`` (default: all); returns the labs released."""
    from autograder.authoring.release import release_labs

    return release_labs(course, labs, execute=execute)


def import_roster(course: Course, path: Path | str) -> list[Student]:
    """Add (or update) the students of a roster CSV or Moodle participants export in the course's roster
    (``.autograder/roster.csv``); the next ``grade`` copies it into nbgrader's gradebook. Returns the
    students of the file."""
    students = read_roster(Path(path))
    save_roster(course.roster_path, students)
    return students


def roster(course: Course) -> list[Student]:
    """The course's roster: as imported; for a course graded before rosters had their own file, the
    gradebook's named students; [] without either."""
    saved = load_roster(course.roster_path)
    if saved is not None:
        return saved
    if not course.has_gradebook():
        return []
    from autograder.score import gradebook

    return [s for s in gradebook.load_students(course.db_url) if s.family_name or s.given_name]


def collect(course: Course, lab: str, upload: Path | str, *, due: datetime | str | None = None,
            timezone: str = "Asia/Tokyo", pattern: str | None = None) -> CollectReport:
    """Sort a class's upload (Moodle's "Download all submissions" zip, or a folder of ``<student>_...`` files
    matched by ``pattern``) into ``submitted/`` and ``quarantine/``; with ``due`` (an ISO 8601 time, in
    ``timezone`` unless it says otherwise), lateness goes into the gradebook. ``pattern`` defaults to
    ``intake.upload.DEFAULT_FOLDER_PATTERN``."""
    from autograder.intake.upload import DEFAULT_FOLDER_PATTERN, collect_upload, read_folder, read_moodle_zip

    pattern = pattern or DEFAULT_FOLDER_PATTERN
    course.notebooks(lab)  # a clear error for an unknown lab
    upload = Path(upload)
    files = read_folder(upload, pattern, timezone) if upload.is_dir() else read_moodle_zip(upload, timezone)
    if isinstance(due, str):
        due = datetime.fromisoformat(due)
    if due is not None:
        from autograder.score import gradebook

        due = due if due.tzinfo else due.replace(tzinfo=ZoneInfo(timezone))
        gradebook.record_in_gradebook(course, lab)
        gradebook.set_due_date(course.db_url, lab, due)
    return collect_upload(course, lab, files, Roster(tuple(roster(course))), due=due)


def grade_lab(course: Course, lab: str, submissions: Path | str | None = None, options: GradeOptions | None = None,
              *, on_student: Callable[[str], None] | None = None) -> GradingRun:
    """Grade every student's notebooks of ``lab`` in ``submissions`` (default: the course's ``submitted/``):
    run them sandboxed, score them into the gradebook, and write the reports and feedback."""
    from autograder.grade import grade_lab as _grade_lab

    folder = Path(submissions).resolve() if submissions else course.submitted_dir
    return _grade_lab(course, lab, folder, options, on_student=on_student, roster=roster(course))


def report(course: Course, lab: str) -> Outputs:
    """Write ``lab``'s reports again from the gradebook, executing nothing: grades.csv, nbgrader's CSV, Moodle's
    files, Gradescope's results.json, the summary figure and the feedback HTML, with the scores and
    comments TAs entered in nbgrader's formgrader. Raises :class:`NotGradedError` before the first ``grade``."""
    from autograder.grade import write_outputs

    course.notebooks(lab)  # a clear error for an unknown lab
    return write_outputs(course, lab, roster=roster(course))


@dataclass(frozen=True)
class FormgraderServer:
    """How to start nbgrader's formgrader on a course: the command, where to run it, and the URL it will serve."""

    argv: list[str]
    cwd: Path
    url: str  # the formgrader's page, with the login token
    env: dict[str, str]  # what to add to the environment it runs in


# Put first on JUPYTER_PATH, this folder's nbconvert template makes the formgrader's pages load MathJax from the
# server itself (jupyter-server-mathjax), not from a CDN an offline grading machine cannot reach.
FORMGRADER_TEMPLATES = Path(__file__).parent / "report" / "templates" / "formgrader"


def formgrader_server(course: Course, *, port: int = 8888, open_browser: bool = True,
                      token: str | None = None) -> FormgraderServer:
    """The Jupyter server that serves nbgrader's formgrader for ``course``: rooted at the course (nbgrader reads
    its nbgrader_config.py there), with nbgrader's formgrader extension on, grading what ``grade`` graded
    (``submitted_directory`` as the autograder stages it), on ``port`` exactly (no silent move to another
    port, so the URL printed is the one served), with a fresh login token unless ``token`` is given."""
    token = token or secrets.token_urlsafe(24)
    submitted = course.staged_dir.relative_to(course.root).as_posix()
    argv = [
        str(Path(sys.executable).parent / "jupyter-server"),
        f"--ServerApp.root_dir={course.root}",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.open_browser={open_browser}",
        "--ServerApp.default_url=/formgrader",
        "--ServerApp.jpserver_extensions=nbgrader.server_extensions.formgrader=True",
        "--ServerApp.jpserver_extensions=jupyter_server_mathjax=True",
        f"--IdentityProvider.token={token}",
        f"--CourseDirectory.root={course.root}",
        f"--CourseDirectory.submitted_directory={submitted}",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:  # Jupyter refuses root without it (containers, CI)
        argv.append("--ServerApp.allow_root=True")
    jupyter_path = os.pathsep.join(p for p in (str(FORMGRADER_TEMPLATES), os.environ.get("JUPYTER_PATH", "")) if p)
    return FormgraderServer(argv, course.root, f"http://127.0.0.1:{port}/formgrader?token={token}",
                            {"JUPYTER_PATH": jupyter_path})

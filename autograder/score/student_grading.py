"""One student's whole grading, run on a worker: nbgrader's sanitizing, execution, scoring and feedback.

The worker grades against a private copy of a *snapshot* gradebook (the lab's notebooks, cells and hidden
tests, and its due date; no student's grades), so no two workers and not the head ever write the same
database file, and nothing waits for a lock while nbgrader runs. What comes back is data
(:class:`StudentScores`): the scores nbgrader saved in the private copy, which the head then writes into the
course gradebook in one short transaction (``gradebook.save_student_scores``). The autograded notebooks
and the feedback are written by the worker, into the course folder it was given.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from autograder.course import Course
from autograder.run import execution
from autograder.run.worker import Job
from autograder.score import gradebook, nbgrader_autograde
from autograder.score.ledger import NotebookRun

EXECUTED = ".autograder/executed"  # where the executed notebooks go, relative to the course root
STAGED = ".autograder/staged"  # Course.staged_dir, relative to the course root


@dataclass(frozen=True)
class StudentTask:
    """What a worker needs to grade one student of one lab."""

    lab: str
    student: str
    snapshot: str  # the snapshot gradebook (``make_snapshot``), relative to the course root; copied, never written
    case_salt: str  # what the hidden checks' random inputs are drawn with (KernelInputs)
    executed_dir: str = EXECUTED  # relative to the course root: <executed_dir>/<student>/<lab>/<nb>.ipynb
    feedback: bool = True  # also write the student's feedback HTML

    def files_in(self) -> tuple[str, ...]:
        """What a worker without the course's file system needs besides the lab (``lab_files``)."""
        return (f"{STAGED}/{self.student}/{self.lab}",)

    def files_out(self) -> tuple[str, ...]:
        """What grading writes that the head keeps: autograded notebooks, feedback, executed notebooks."""
        return (f"autograded/{self.student}/{self.lab}", f"feedback/{self.student}/{self.lab}",
                f"{self.executed_dir}/{self.student}/{self.lab}")


def lab_files(lab: str, snapshot: str) -> tuple[str, ...]:
    """What every worker of a lab needs, relative to the course root: the configuration, the lab's source
    and release, and the snapshot gradebook (sent once per remote slot)."""
    return ("nbgrader_config.py", f"source/{lab}", f"release/{lab}", snapshot)


@dataclass
class CellScore:
    """One graded or commented cell as nbgrader scored it in the worker's copy of the gradebook."""

    notebook: str
    grade_id: str
    auto_score: float | None = None  # grades only
    auto_comment: str | None = None  # comments only
    is_grade: bool = True


@dataclass
class StudentScores:
    """What grading one student produced, as data the head writes to its gradebook."""

    student: str
    success: bool
    log: str = ""
    error: str = ""
    timestamp: datetime | None = None  # the submission's time (the staged timestamp.txt), for lateness
    cells: list[CellScore] = field(default_factory=list)
    autograded: list[str] = field(default_factory=list)  # notebooks nbgrader scored (the others were missing)
    late_penalty: dict[str, float | None] = field(default_factory=dict)  # notebook -> nbgrader's penalty
    runs: dict[str, NotebookRun] = field(default_factory=dict)  # how each notebook's execution went
    elapsed: float = 0.0  # seconds for the whole student on the worker

    def run(self) -> nbgrader_autograde.AutogradeRun:
        """The same student as an AutogradeRun (what the reports read for a failure's reason)."""
        return nbgrader_autograde.AutogradeRun(self.student, self.success, self.log, self.error)


def make_snapshot(course: Course, lab: str, path: Path) -> Path:
    """An SQLite gradebook at ``path`` holding ``lab`` as the course gradebook records it (cells, hidden
    tests, due date) and no student: what every worker grades against, whatever database the course uses."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    url = f"sqlite:///{path}"
    with tempfile.TemporaryDirectory(prefix="snapshot-release-") as scratch:
        gradebook.generate_release(course, lab, release_dir=Path(scratch), db_url=url)
    due = gradebook.due_date(course.db_url, lab)
    if due is not None:
        gradebook.set_due_date(url, lab, due)
    return path


def _read_scores(db_url: str, lab: str, student: str, scores: StudentScores) -> None:
    """Copy what nbgrader saved for ``student`` in the worker's gradebook into ``scores``."""
    with gradebook.Gradebook(db_url) as gb:
        submission = gb.find_submission(lab, student)
        scores.timestamp = submission.timestamp
        for nb in submission.notebooks:
            scores.late_penalty[nb.name] = nb.late_submission_penalty
            scores.cells += [CellScore(nb.name, g.name, auto_score=g.auto_score) for g in nb.grades]
            scores.cells += [CellScore(nb.name, c.name, auto_comment=c.auto_comment, is_grade=False)
                             for c in nb.comments]


def grade_student(task: StudentTask, *, root: Path, data_dir: Path | None,
                  execute: Callable[[Job], execution.ExecutionOutcome]) -> StudentScores:
    """Prepare, execute (``execute`` runs one notebook in the worker's warm kernel), score and write feedback
    for one student of the course at ``root``, against a private copy of the snapshot gradebook; the grader's
    replay of the hidden checks reads ``data_dir``, as the kernels did. Runs on a worker (``worker.Call``)."""
    start = time.monotonic()
    course = Course(Path(root))
    executed_dir = course.root / task.executed_dir
    kernel_inputs = nbgrader_autograde.KernelInputs(task.case_salt, str(data_dir or ""))
    with tempfile.TemporaryDirectory(prefix="gradebook-") as scratch:
        private = Path(scratch) / "gradebook.db"
        shutil.copyfile(course.root / task.snapshot, private)
        url = f"sqlite:///{private}"
        prepared = nbgrader_autograde.prepare(course, task.lab, task.student, db_url=url)
        if not prepared.success:
            return StudentScores(task.student, False, prepared.log, prepared.error, elapsed=time.monotonic() - start)
        out_dir = executed_dir / task.student / task.lab
        shutil.rmtree(out_dir, ignore_errors=True)  # never score a previous run's outputs
        files = nbgrader_autograde.prepared_dir(course, task.lab, task.student)
        runs = {}
        notebooks = sorted(files.glob("*.ipynb"))
        for notebook in notebooks:
            outcome = execute(Job(notebook, files, out_dir / notebook.name))
            runs[notebook.stem] = NotebookRun(outcome.status, outcome.reason, outcome.elapsed, outcome.peak_memory)
        scored = nbgrader_autograde.score(course, task.lab, task.student, executed_dir, kernel_inputs, db_url=url)
        scores = StudentScores(task.student, scored.success, scored.log, scored.error, runs=runs,
                               autograded=[p.stem for p in notebooks])
        if scored.success:
            _read_scores(url, task.lab, task.student, scores)
            if task.feedback:
                course.api(CourseDirectory={"db_url": url}).generate_feedback(task.lab, task.student)
    scores.elapsed = time.monotonic() - start
    return scores

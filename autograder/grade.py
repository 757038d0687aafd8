"""Grade a lab: intake → prepare → execute in isolation → score → reports.

This is the library behind ``autograder grade``; it prints nothing, and reports
progress through an optional callback. Students are graded concurrently, one per
scheduler slot: each slot's worker runs nbgrader's sanitizing, the sandboxed
execution, nbgrader's scoring and the feedback against a private copy of a snapshot
gradebook, and the head writes each student's scores into the course gradebook in one
short transaction (docs/benchmarks.md: the head's work per student).
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat

from autograder import datasets, labs
from autograder.course import Course
from autograder.intake.submissions import Submission, find_submissions, stage
from autograder.report import feedback, grades_csv, gradescope, moodle, summary_plot
from autograder.run import execution, sandbox, scheduler
from autograder.run.worker import Call
from autograder.score import gradebook, nbgrader_autograde, outcomes, student_grading
from autograder.score.gradebook import record_in_gradebook
from autograder.score.ledger import Ledger, Record, fingerprint, now
from autograder.score.results import GRADED, NotebookResult


@dataclass
class GradingRun:
    """Everything one ``grade`` produced."""

    lab: str
    results: list[NotebookResult]
    grades_csv: Path
    nbgrader_csv: Path
    feedback_dir: Path
    graded: list[str] = field(default_factory=list)  # students graded by this run
    skipped: list[str] = field(default_factory=list)  # unchanged since their last grading
    sandboxed: bool = True
    sandbox_note: str = ""
    slots: list[scheduler.Slot] = field(default_factory=list)
    wall_s: float = 0.0
    data_profiles: dict[str, str] = field(default_factory=dict)  # dataset -> "real" / "standin" / "absent"


@dataclass(frozen=True)
class GradeOptions:
    """How ``grade_lab`` runs: concurrency, devices, limits, isolation."""

    jobs: int | None = None  # concurrent kernels (default: CPU cores, or GPUs x per_gpu)
    gpus: list[str] | None = None  # GPU indices to use (default: those present)
    per_gpu: int | None = None  # kernels per GPU (default: from the GPUs' memory and the cores)
    cell_timeout: int | None = None  # default: Execute.timeout in nbgrader_config.py
    notebook_timeout: int = 3600
    memory_bytes: int = 4 * 2**30
    threads: int | None = None  # CPU threads per kernel (default: cores / jobs)
    tasks: int = execution.Limits.tasks  # processes and threads per kernel
    sandbox: bool = True  # False: run without bubblewrap even where it is available
    force: bool = False  # grade again even unchanged submissions
    seed: int = 0
    cluster: str | None = None  # a Ray cluster's address (host:port): its nodes run the slots


_WORKER_GRACE_S = 600  # nbgrader's steps for one student on a worker, beyond its notebooks' own time limits
_HEAVY_MODULES = {"numpy", "scipy", "pandas", "matplotlib", "sklearn", "torch", "torchvision", "tensorflow", "keras"}
_IMPORT = re.compile(r"^\s*(?:from\s+([\w.]+)\s+import|import\s+([\w.]+))", re.MULTILINE)


def lab_imports(course: Course, lab: str) -> tuple[str, ...]:
    """Heavy library modules the lab's notebooks import: what a warm kernel imports before its notebook."""
    found: dict[str, None] = {}
    for path in sorted((course.source_dir / lab).glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            for match in _IMPORT.finditer(cell.source):
                module = match.group(1) or match.group(2)
                if module.split(".")[0] in _HEAVY_MODULES:
                    found.setdefault(module, None)
    if "matplotlib" in found:
        found.setdefault("matplotlib.pyplot", None)
    return tuple(found)


def kernel_settings(course: Course, lab: str, options: GradeOptions, slots: int, api_config,
                    sandboxed: bool) -> execution.KernelSettings:
    """How this run's kernels start: limits, sandbox, what they may read, what they preload."""
    data = course.data_dir
    readable = [p for p in (course.release_dir / lab, data) if p.is_dir()]
    threads = options.threads or max(1, (os.cpu_count() or 1) // slots)
    return execution.KernelSettings(
        work_root=course.root / ".autograder" / "kernels",
        sandboxed=sandboxed,
        readable=tuple(readable),
        preload=lab_imports(course, lab),
        extra_arguments=tuple(api_config.Execute.get("extra_arguments", [])),
        seed=options.seed,
        data_dir=data if data.is_dir() else None,
        case_salt=course.case_salt(),
        limits=execution.Limits(
            cell_timeout=options.cell_timeout or int(api_config.Execute.get("timeout", 30)),
            notebook_timeout=options.notebook_timeout,
            memory_bytes=options.memory_bytes,
            threads=threads,
            tasks=options.tasks,
        ),
    )


class _StudentGrader:
    """Grades one student of one lab: the whole of nbgrader's work and the execution run on the slot's worker
    (``student_grading.grade_student``), against a private copy of the snapshot gradebook; the head only
    writes the scores it gets back into the course gradebook and the ledger, in one short step under ``lock``.
    """

    def __init__(self, course: Course, lab: str, ledger: Ledger, lock: threading.Lock, fingerprints: dict[str, str],
                 case_salt: str, snapshot: str, timeout_s: float):
        self.course, self.lab, self.ledger, self.lock = course, lab, ledger, lock
        self.fingerprints, self.case_salt = fingerprints, case_salt
        self.snapshot, self.timeout_s = snapshot, timeout_s

    def __call__(self, student: str, slot) -> nbgrader_autograde.AutogradeRun:
        task = student_grading.StudentTask(self.lab, student, self.snapshot, self.case_salt)
        call = Call(student_grading.grade_student, (task,), self.course.root, task.files_in(), task.files_out())
        scores = slot.call(call, self.timeout_s)
        if scores.success:
            with self.lock:  # the head's serialized work for this student: one transaction, one ledger line
                gradebook.save_student_scores(self.course.db_url, self.lab, scores)
                self.ledger.record(Record(student, self.fingerprints[student], now(), scores.elapsed, scores.runs))
        return scores.run()


def _backend(course: Course, lab: str, options: GradeOptions, slots: list[scheduler.Slot],
             settings: execution.KernelSettings, snapshot: str):
    """This machine's slots, or a Ray cluster's (``options.cluster``): anything with the scheduler's ``map``."""
    logs = course.root / ".autograder" / "logs"
    if not options.cluster:
        return scheduler.LocalScheduler(slots, settings, logs)
    from autograder.run import ray_backend  # Ray is imported only for a cluster run

    return ray_backend.RayScheduler(
        options.cluster, slots, settings, root=course.root, common=student_grading.lab_files(lab, snapshot),
        datasets=labs.datasets_of(lab), log_dir=logs, per_gpu=options.per_gpu or 1)


def _feedback_path(course: Course, result: NotebookResult) -> Path:
    return course.feedback_dir / result.student_id / result.lab / f"{result.notebook}.html"


def _sandbox_choice(options: GradeOptions) -> tuple[bool, str]:
    if not options.sandbox:
        return False, "サンドボックスなし / no sandbox: disabled with --no-sandbox"
    ok, why = sandbox.available()
    if ok:
        return True, why
    return False, f"サンドボックスなし / no sandbox: {why}"


def grade_lab(
    course: Course,
    lab: str,
    submissions_dir: Path,
    options: GradeOptions | None = None,
    *,
    on_student: Callable[[str], None] | None = None,
) -> GradingRun:
    """Grade every student folder in ``submissions_dir`` for ``lab``; write CSVs and feedback.

    ``on_student`` is called with each student id once that student is done
    (graded, skipped as unchanged, or without anything to grade).
    """
    options = options or GradeOptions()
    started = time.monotonic()
    notebooks = course.notebooks(lab)
    submissions = find_submissions(Path(submissions_dir), lab, notebooks)
    if course.has_gradebook():  # roster students with no folder at all are listed as missing
        present = {s.student_id for s in submissions}
        submissions += [
            Submission(student.id, nb, None)
            for student in gradebook.load_students(course.db_url)
            if (student.family_name or student.given_name) and student.id not in present
            for nb in notebooks
        ]

    record_in_gradebook(course, lab)
    max_scores = {
        nb: sum(c.max_score for c in gradebook.grade_cells(course.db_url, lab, nb)) for nb in notebooks
    }
    api = course.api()
    staged = set(stage(course, lab, submissions))
    ledger = Ledger(course.root / ".autograder", lab)
    students = sorted({s.student_id for s in submissions})
    fingerprints = {s: fingerprint(course.staged_dir / s / lab, course.source_dir / lab) for s in staged}

    to_grade, skipped = [], []
    gradebook.ensure_students(course.db_url, students)
    graded_before = gradebook.lab_grades(course.db_url, lab)  # one read, not one per student and notebook
    for student in students:
        if student not in staged:
            gradebook.forget_submission(course.db_url, lab, student)
            ledger.forget(student)
        elif (not options.force and ledger.is_current(student, fingerprints[student])
              and all(graded_before.notebook_scores(nb, student) is not None
                      for nb in notebooks if (course.staged_dir / student / lab / f"{nb}.ipynb").exists())):
            skipped.append(student)
        else:
            ledger.forget(student)
            to_grade.append(student)
        if student not in to_grade and on_student:
            on_student(student)

    gpus = scheduler.detect_gpus() if options.gpus is None else options.gpus
    slots = scheduler.plan_slots(options.jobs, gpus, options.per_gpu)
    sandboxed, sandbox_note = _sandbox_choice(options)
    settings = kernel_settings(course, lab, options, len(slots), api.config, sandboxed)
    runs: dict[str, nbgrader_autograde.AutogradeRun] = {}
    if to_grade:
        snapshot = f".autograder/snapshot/{lab}.db"
        student_grading.make_snapshot(course, lab, course.root / snapshot)
        per_student_s = len(notebooks) * (settings.limits.notebook_timeout + _WORKER_GRACE_S) + _WORKER_GRACE_S
        grader = _StudentGrader(course, lab, ledger, threading.Lock(), fingerprints, settings.case_salt, snapshot,
                                per_student_s)
        backend = _backend(course, lab, options, slots, settings, snapshot)
        for student, future in backend.map(to_grade, grader):
            error = future.exception()
            runs[student] = future.result() if error is None else nbgrader_autograde.AutogradeRun(
                student, False, "", f"{type(error).__name__}: {error}")
            if on_student:
                on_student(student)

    results = outcomes.notebook_results(course, lab, submissions, runs, ledger, max_scores, settings.limits.cell_timeout)
    for student in sorted({r.student_id for r in results if r.status == GRADED and not _feedback_path(course, r).exists()}):
        api.generate_feedback(lab, student)  # graded before, feedback since removed (workers write the rest)
    for result in results:
        path = course.feedback_dir / result.student_id / lab / f"{result.notebook}.html"
        if result.status != GRADED:
            feedback.write_problem_feedback(result, path)
        result.feedback = path if path.exists() else None

    out = course.reports_dir / lab
    for result in results:
        gradescope.write_gradescope_results(result, out / "gradescope" / result.student_id / result.notebook / "results.json")
    roster = gradebook.load_students(course.db_url)
    moodle.write_moodle_worksheet(results, roster, out / "moodle_grades.csv", lab=lab)
    summary_plot.plot_summary(results, out / "summary.png", title=lab)
    run = GradingRun(
        lab,
        results,
        grades_csv=grades_csv.write_grades_csv(results, out / "grades.csv"),
        nbgrader_csv=grades_csv.export_nbgrader_csv(course.db_url, lab, out / "nbgrader_grades.csv"),
        feedback_dir=course.feedback_dir,
        graded=sorted(runs),
        skipped=skipped,
        sandboxed=sandboxed,
        sandbox_note=sandbox_note,
        slots=slots,
        wall_s=time.monotonic() - started,
        data_profiles=datasets.profiles(settings.data_dir or course.data_dir, labs.datasets_of(lab)),
    )
    _write_run_summary(run, settings, out / "run.json")
    return run


def _write_run_summary(run: GradingRun, settings: execution.KernelSettings, path: Path) -> None:
    """How this grading ran (isolation, slots, limits, time): the facts a TA may be asked about later."""
    summary = {
        "lab": run.lab,
        "graded": len(run.graded),
        "skipped_unchanged": len(run.skipped),
        "sandbox": run.sandboxed,
        "sandbox_note": run.sandbox_note,
        "slots": len(run.slots),
        "gpus": [s.gpus for s in run.slots],
        "limits": asdict(settings.limits),
        "data_dir": str(settings.data_dir) if settings.data_dir else None,
        "data_profiles": run.data_profiles,
        "wall_s": round(run.wall_s, 1),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(summary, ensure_ascii=False, indent=1), encoding="utf-8")

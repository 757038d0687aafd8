"""Grade a lab: intake → prepare → execute in isolation → score → reports.

This is the library behind ``autograder grade``; it prints nothing, and reports
progress through an optional callback. Students are graded concurrently, one per
scheduler slot: each slot's worker runs nbgrader's sanitizing, the sandboxed
execution, nbgrader's scoring and the feedback against a private copy of a snapshot
gradebook, and the head writes each student's scores into the course gradebook in one
short transaction (docs/benchmarks.md: the head's work per student).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import nbformat

from autograder import datasets, labs
from autograder.course import Course
from autograder.intake import upload
from autograder.intake.roster import Student
from autograder.intake.submissions import Submission, find_submissions, stage
from autograder.report import feedback, grades_csv, gradescope, lab_grades, moodle
from autograder.run import execution, sandbox, scheduler
from autograder.run.worker import Call
from autograder.score import gradebook, hand_grades, nbgrader_autograde, outcomes, student_grading
from autograder.score.gradebook import record_if_changed
from autograder.score.ledger import Ledger, Record, fingerprint, now
from autograder.score.results import GRADED, MISSING, NotebookResult


@dataclass
class GradingRun:
    """Everything one ``grade`` produced."""

    lab: str
    results: list[NotebookResult]  # the notebook that counted, one per student (lab_grades says why)
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
    lab_grades: list[lab_grades.LabGrade] = field(default_factory=list)  # one per student, on the lab's scale
    moodle_export: moodle.MoodleExport | None = None
    # students whose hand grades left the gradebook with a submission that can no longer be graded -> saved copy
    dropped_hand_grades: dict[str, Path] = field(default_factory=dict)


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
    disk_bytes: int = execution.Limits.disk_bytes  # what a kernel may write into its folder
    sandbox: bool = True  # False: run without bubblewrap even where it is available
    force: bool = False  # grade again even unchanged submissions
    seed: int = 0
    cluster: str | None = None  # a Ray cluster's address (host:port): its nodes run the slots


MOODLE_TIMEZONE = "Asia/Tokyo"  # the course's Moodle: its worksheet times are read in this zone (as collect's)
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
        without=labs.graded_without(lab),
        without_in=labs.graded_without_in(lab),
        limits=execution.Limits(
            cell_timeout=options.cell_timeout or int(api_config.Execute.get("timeout", 30)),
            notebook_timeout=options.notebook_timeout,
            memory_bytes=options.memory_bytes,
            threads=threads,
            tasks=options.tasks,
            disk_bytes=options.disk_bytes,
        ),
    )


HELD_OUT_DIR = ".autograder/held-out"  # per lab: the held-out sets' kernel part (autograder.kernel.held_out)


def with_held_out(course: Course, lab: str, settings: execution.KernelSettings) -> execution.KernelSettings:
    """``settings`` with ``lab``'s held-out sets drawn with the course's secret and written for its kernels, which
    read them from a read-only folder (issue 18.4: the secret they are drawn with never enters a kernel)."""
    if not labs.held_out_sets(lab):
        return settings
    folder = course.root / HELD_OUT_DIR / lab
    labs.write_held_out(lab, settings.case_salt, settings.data_dir, folder)
    return replace(settings, held_out_dir=folder, readable=(*settings.readable, folder))


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
        with self.lock:
            hand_grades.remember(self.course, self.lab, student)  # before the worker replaces autograded/
        scores = slot.call(call, self.timeout_s)
        if scores.success:
            with self.lock:  # the head's serialized work for this student: one transaction, one ledger line
                gradebook.save_student_scores(self.course.db_url, self.lab, scores)
                hand_grades.settle(self.course, self.lab, student)
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
        options.cluster, slots, settings, root=course.root,
        common=student_grading.lab_files(lab, snapshot) + ((f"{HELD_OUT_DIR}/{lab}",) if settings.held_out_dir else ()),
        datasets=labs.datasets_of(lab), log_dir=logs, per_gpu=options.per_gpu or 1)


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
    roster: list[Student] | None = None,
) -> GradingRun:
    """Grade every student folder in ``submissions_dir`` for ``lab``; write CSVs and feedback.

    ``on_student`` is called with each student id once that student is done
    (graded, skipped as unchanged, or without anything to grade). ``roster``: the class (default: the
    gradebook's named students); its students without a folder are listed as not submitted.
    """
    options = options or GradeOptions()
    started = time.monotonic()
    notebooks = course.notebooks(lab)
    submissions = find_submissions(Path(submissions_dir), lab, notebooks)
    if roster is None:  # not given (api.grade_lab gives the imported one): the gradebook's named students
        roster = ([s for s in gradebook.load_students(course.db_url) if s.family_name or s.given_name]
                  if course.has_gradebook() else [])
    present = {s.student_id for s in submissions}  # roster students with no folder at all are listed as missing
    submissions += [Submission(student.id, nb, None) for student in roster if student.id not in present
                    for nb in notebooks]

    record_if_changed(course, lab)
    gradebook.save_students(course.db_url, roster)  # the roster as imported, for nbgrader's exports and formgrader
    api = course.api()
    staged = set(stage(course, lab, submissions))
    ledger = Ledger(course.root / ".autograder", lab)
    students = sorted({s.student_id for s in submissions})
    fingerprints = {s: fingerprint(course.staged_dir / s / lab, course.source_dir / lab) for s in staged}

    to_grade, skipped = [], []
    gradebook.ensure_students(course.db_url, students)
    recorded = gradebook.lab_scores(course.db_url, lab)
    # a student with nothing gradable now loses any grade recorded before (in one session, and only if there is
    # one); a TA's hand grades in it are saved first, never dropped unseen
    dropped = [s for s in students if s not in staged and s in recorded.seconds_late]
    dropped_hand_grades = {s: saved for s in dropped if (saved := hand_grades.archive(course, lab, s))}
    gradebook.forget_submissions(course.db_url, lab, dropped)
    for student in students:
        if student not in staged:
            ledger.forget(student)
        elif (not options.force and ledger.is_current(student, fingerprints[student])
              and all(recorded.notebook_scores(nb, student) is not None
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
        settings = with_held_out(course, lab, settings)
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

    failures = {student: run.reason for student, run in runs.items() if not run.success}
    _save_graded(course, lab, submissions, failures, settings.limits.cell_timeout)
    # the workers wrote the feedback of the students they graded, from a gradebook without hand grades: the head
    # rewrites only the pages of those with a TA's scores or comments (and any page that is missing)
    outputs = write_outputs(course, lab, roster=roster, graded_now=hand_grades.students_with_hand_grades(
        course, lab, set(runs)))
    run = GradingRun(
        lab,
        outputs.results,
        grades_csv=outputs.grades_csv,
        nbgrader_csv=outputs.nbgrader_csv,
        feedback_dir=outputs.feedback_dir,
        graded=sorted(runs),
        skipped=skipped,
        sandboxed=sandboxed,
        sandbox_note=sandbox_note,
        slots=slots,
        wall_s=time.monotonic() - started,
        data_profiles=datasets.profiles(settings.data_dir or course.data_dir, labs.datasets_of(lab)),
        lab_grades=outputs.lab_grades,
        moodle_export=outputs.moodle_export,
        dropped_hand_grades=dropped_hand_grades,
    )
    _write_run_summary(run, settings, course.reports_dir / lab / "run.json")
    return run


@dataclass
class Outputs:
    """What :func:`write_outputs` wrote for a lab: the results and where each report is."""

    lab: str
    results: list[NotebookResult]
    grades_csv: Path
    nbgrader_csv: Path
    moodle_export: moodle.MoodleExport
    lab_grades: list[lab_grades.LabGrade]  # one per student, on the lab's scale
    summary_png: Path
    gradescope_dir: Path
    feedback_dir: Path


class NotGradedError(Exception):
    """``report`` was asked for a lab that ``grade`` has not graded in this course."""


def _graded_path(course: Course, lab: str) -> Path:
    return course.root / ".autograder" / "graded" / f"{lab}.json"


def _save_graded(course: Course, lab: str, submissions: list[Submission], failures: dict[str, str],
                 cell_timeout: int) -> None:
    """What the last ``grade`` graded (each expected notebook, and why a student could not be graded), so
    that ``report`` writes the same rows again without grading: the gradebook keeps the scores, not these.
    A gradable notebook is recorded by its staged copy, which stays when the TA's download folder is gone."""
    path = _graded_path(course, lab)
    path.parent.mkdir(parents=True, exist_ok=True)

    def where(s: Submission) -> str | None:  # the staged copy relative to the course root, so a moved course works
        staged = course.staged_dir / s.student_id / lab / f"{s.notebook}.ipynb"
        if s.gradable and staged.is_file():
            return staged.relative_to(course.root).as_posix()
        return str(s.path) if s.path else None

    data = {
        "submissions": [{"student_id": s.student_id, "notebook": s.notebook, "path": where(s), "problem": s.problem}
                        for s in submissions],
        "failures": failures,
        "cell_timeout": cell_timeout,
    }
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
    os.replace(tmp, path)


def _load_graded(course: Course, lab: str) -> tuple[list[Submission], dict[str, str], int]:
    path = _graded_path(course, lab)
    if not path.exists():
        raise NotGradedError(f"{lab} はまだ採点されていません / {lab} has not been graded in this course "
                             f"(no {path.relative_to(course.root)}): run `autograder grade {lab}` first")
    data = json.loads(path.read_text(encoding="utf-8"))
    submissions = [Submission(s["student_id"], s["notebook"], course.root / s["path"] if s["path"] else None, s["problem"])
                   for s in data["submissions"]]  # an absolute path stays as it is under `/`
    return submissions, data["failures"], int(data["cell_timeout"])


def write_outputs(course: Course, lab: str, *, roster: list[Student] | None = None,
                  graded_now: set[str] | None = None) -> Outputs:
    """Write every output of ``lab`` from the gradebook, executing nothing: the feedback HTML (nbgrader's, with
    the TA's scores and comments, and our page for each counted notebook that could not be graded), Gradescope's
    results.json, Moodle's files, the summary figure, grades.csv, notebooks.csv and nbgrader's CSV, with one
    grade per student (``lab_grades``). ``grade`` ends here, giving the students it graded (``graded_now``:
    only their feedback pages, and missing ones, are regenerated); ``report`` is this alone, after hand grading
    in the formgrader (``graded_now`` None: every page, as hand grades may have changed any of them)."""
    submissions, failures, cell_timeout = _load_graded(course, lab)
    ledger = Ledger(course.root / ".autograder", lab)
    runs = {student: nbgrader_autograde.AutogradeRun(student, False, "", reason) for student, reason in failures.items()}
    max_scores = {
        nb: sum(c.max_score for c in gradebook.grade_cells(course.db_url, lab, nb)) for nb in course.notebooks(lab)
    }
    results = outcomes.notebook_results(course, lab, submissions, runs, ledger, max_scores, cell_timeout)
    _generate_feedback(course, lab, course.api(), results, graded_now)
    grades = lab_grades.lab_grades(results, course.grading_policy())
    counted = _write_feedback(course, lab, results, grades)

    out = course.reports_dir / lab
    for grade, result in zip(grades, counted, strict=True):
        gradescope.write_gradescope_results(result, out / "gradescope" / result.student_id / result.notebook / "results.json",
                                            grade=grade)
    students = roster or [Student(g.student_id) for g in grades]  # without a roster: everyone graded
    export = moodle.write_moodle_files(grades, counted, students, upload.read_participants(course, lab), out,
                                       written=datetime.now(ZoneInfo(MOODLE_TIMEZONE)))
    _plot_if_changed(course, lab, counted, out / "summary.png")
    grades_csv.write_notebooks_csv(grades, counted, out / "notebooks.csv")
    return Outputs(
        lab, counted,
        grades_csv=grades_csv.write_grades_csv(counted, out / "grades.csv", grades=grades),
        nbgrader_csv=grades_csv.export_nbgrader_csv(course.db_url, lab, out / "nbgrader_grades.csv"),
        moodle_export=export,
        lab_grades=grades,
        summary_png=out / "summary.png",
        gradescope_dir=out / "gradescope",
        feedback_dir=course.feedback_dir,
    )


def _generate_feedback(course: Course, lab: str, api, results: list[NotebookResult],
                       graded_now: set[str] | None) -> None:
    """nbgrader's feedback pages for the graded notebooks of students graded in this run (None: every student),
    or whose page is missing: a page of an unchanged student stays as it was (nbgrader takes seconds per page)."""
    graded = {r.student_id for r in results if r.status == GRADED}
    stale = {r.student_id for r in results if r.status == GRADED and (
        graded_now is None or r.student_id in graded_now
        or not (course.feedback_dir / r.student_id / lab / f"{r.notebook}.html").exists())}
    if not stale:
        return
    if stale == graded:
        api.generate_feedback(lab)
        return
    for student in sorted(stale):
        api.generate_feedback(lab, student)


def _plot_if_changed(course: Course, lab: str, results: list[NotebookResult], path: Path) -> None:
    """The summary figure, redrawn only when the results it shows changed (matplotlib's import and drawing
    take a second or two, most of a regrade with nothing new)."""
    digest = hashlib.sha256(repr((lab, results)).encode()).hexdigest()
    marker = course.root / ".autograder" / "summary" / f"{lab}.sha256"
    if path.exists() and marker.is_file() and marker.read_text(encoding="utf-8") == digest:
        return
    from autograder.report import summary_plot

    summary_plot.plot_summary(results, path, title=lab)
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(digest, encoding="utf-8")


def _write_feedback(course: Course, lab: str, results: list[NotebookResult],
                    grades: list[lab_grades.LabGrade]) -> list[NotebookResult]:
    """Each student's feedback pages: nbgrader's for graded notebooks, ours for a counted notebook that could
    not be graded. A notebook of the other difficulty that the student did not send gets no page (an old
    one is removed): no page asks a student for a notebook they need not send. Returns the counted results."""
    counted = lab_grades.counted_results(grades)
    keep = {(r.student_id, r.notebook) for r in counted}
    for result in results:
        path = course.feedback_dir / result.student_id / lab / f"{result.notebook}.html"
        if result.status == MISSING and (result.student_id, result.notebook) not in keep:
            path.unlink(missing_ok=True)
    for result in counted:
        path = course.feedback_dir / result.student_id / lab / f"{result.notebook}.html"
        if result.status != GRADED:
            feedback.write_problem_feedback(result, path, course.notebooks(lab))
        result.feedback = path if path.exists() else None
    return counted


def _write_run_summary(run: GradingRun, settings: execution.KernelSettings, path: Path) -> None:
    """How this grading ran (isolation, slots, limits, time): the facts a TA may be asked about later."""
    summary = {
        "lab": run.lab,
        "graded": len(run.graded),
        "skipped_unchanged": len(run.skipped),
        "sandbox": run.sandboxed,
        "sandbox_note": run.sandbox_note,
        # the libraries its kernels ran without (only where sandboxed: without bubblewrap nothing is hidden)
        "graded_without": list(settings.without) if run.sandboxed else [],
        "graded_without_in": {name: list(more) for name, more in settings.without_in} if run.sandboxed else {},
        "slots": len(run.slots),
        "gpus": [s.gpus for s in run.slots],
        "limits": asdict(settings.limits),
        "data_dir": str(settings.data_dir) if settings.data_dir else None,
        "data_profiles": run.data_profiles,
        "wall_s": round(run.wall_s, 1),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(summary, ensure_ascii=False, indent=1), encoding="utf-8")

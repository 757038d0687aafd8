"""The head (the process that runs `autograder grade`) is never the bottleneck, and nothing outlives it:
nbgrader's autograde runs on the workers, the head only writes each student's scores in one transaction,
and when the head is killed (even by kill -9), its workers and their kernels end at once."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time

import nbformat
import psutil
import pytest

from autograder import api
from autograder.course import Course
from autograder.grade import GradeOptions
from autograder.score import gradebook, nbgrader_autograde, student_grading
from autograder.score.gradebook import Gradebook

from conftest import AUTOGRADER, REPO, TEST_CASE_SALT, copy_course

SAMPLES = REPO / "examples" / "submissions" / "lab03"
REF = REPO / "solutions" / "lab03" / "03_n.ipynb"


def test_nbgrader_autograde_never_runs_on_the_head(tmp_path, monkeypatch):
    """The head's serialized work per student is one gradebook transaction: were nbgrader's autograde (seconds
    per student) still run by the head, this patched head would fail every student."""
    monkeypatch.setenv("AUTOGRADER_CASE_SALT", TEST_CASE_SALT)
    root = copy_course(tmp_path / "course", with_generated=True)
    subs = tmp_path / "subs"
    for name in ("ref-solution", "blank-release"):
        shutil.copytree(SAMPLES / name, subs / name)

    def not_on_the_head(*args, **kwargs):
        raise AssertionError("nbgrader's autograde ran on the head")

    # workers are spawned processes: these patches reach the head only
    monkeypatch.setattr(nbgrader_autograde, "prepare", not_on_the_head)
    monkeypatch.setattr(nbgrader_autograde, "score", not_on_the_head)
    monkeypatch.setattr("nbgrader.apps.NbGraderAPI.autograde", not_on_the_head)
    run = api.grade_lab(Course(root), "lab03", subs, GradeOptions(jobs=2))
    scores = {(r.student_id, r.notebook): (r.status, r.score) for r in run.results}
    assert scores[("ref-solution", "03_n")] == ("graded", 15)
    assert scores[("blank-release", "03_n")] == ("graded", 0)
    assert (root / "feedback" / "ref-solution" / "lab03" / "03_n.html").is_file()  # written by a worker
    url = f"sqlite:///{root / 'gradebook.db'}"
    whole = gradebook.lab_scores(url, "lab03")  # the reports' one read equals the per-notebook reads
    for student in ("ref-solution", "blank-release"):
        for nb in ("03_n", "03_h"):
            assert whole.notebook_scores(nb, student) == gradebook.notebook_scores(url, "lab03", nb, student)
    assert set(whole.seconds_late) == {"ref-solution", "blank-release"}
    with Gradebook(url) as gb:
        submission = gb.find_submission("lab03", "ref-solution")
        assert submission.score == 15 and not any(g.needs_manual_grade for nb in submission.notebooks
                                                  for g in nb.grades if g.auto_score is not None)


@pytest.fixture
def recorded(tmp_path):
    """A course whose gradebook records lab03, and a snapshot of it."""
    root = copy_course(tmp_path / "course", with_generated=True)
    course = Course(root)
    gradebook.record_in_gradebook(course, "lab03")
    gradebook.ensure_student(course.db_url, "s1")
    return course, student_grading.make_snapshot(course, "lab03", tmp_path / "snapshot.db")


def _scores(course: Course, auto: float) -> student_grading.StudentScores:
    """Every graded cell of 03_n at ``auto`` points, 03_h missing (0), as a worker would send them."""
    cells = [student_grading.CellScore("03_n", c.grade_id, auto_score=auto) for c in
             gradebook.grade_cells(course.db_url, "lab03", "03_n")]
    cells += [student_grading.CellScore("03_h", c.grade_id, auto_score=0.0) for c in
              gradebook.grade_cells(course.db_url, "lab03", "03_h")]
    return student_grading.StudentScores("s1", True, cells=cells, autograded=["03_n"])


def test_students_are_registered_in_one_session_once_each(recorded):
    course, _ = recorded
    gradebook.ensure_students(course.db_url, ["s1", "s2", "s2", "s3"])
    gradebook.ensure_students(course.db_url, ["s3"])
    assert sorted(s.id for s in gradebook.load_students(course.db_url)) == ["s1", "s2", "s3"]


def test_the_snapshot_holds_the_lab_and_no_student(recorded):
    course, snapshot = recorded
    with Gradebook(f"sqlite:///{snapshot}") as gb:
        assert not gb.students
        names = {c.name for nb in gb.find_assignment("lab03").notebooks for c in nb.grade_cells}
    assert names == {c.grade_id for nb in ("03_n", "03_h") for c in gradebook.grade_cells(course.db_url, "lab03", nb)}


def test_the_heads_transaction_keeps_a_tas_manual_grade_and_marks_it_for_review(recorded):
    course, _ = recorded
    gradebook.save_student_scores(course.db_url, "lab03", _scores(course, 1.0))
    graded = gradebook.notebook_scores(course.db_url, "lab03", "03_n", "s1")
    assert graded and all(s.score == 1.0 for s in graded)
    assert not any(s.needs_manual_grade for s in graded)
    with Gradebook(course.db_url) as gb:  # a TA grades one cell by hand
        grade = gb.find_submission_notebook("03_n", "lab03", "s1").grades[0]
        manual_name = grade.name
        grade.manual_score = 0.5
        gb.db.commit()
    gradebook.save_student_scores(course.db_url, "lab03", _scores(course, 0.0))  # graded again
    with Gradebook(course.db_url) as gb:
        by_name = {g.name: g for g in gb.find_submission_notebook("03_n", "lab03", "s1").grades}
        assert by_name[manual_name].manual_score == 0.5 and by_name[manual_name].needs_manual_grade
        assert all(g.auto_score == 0.0 and not g.needs_manual_grade for n, g in by_name.items() if n != manual_name)
        missing = gb.find_submission_notebook("03_h", "lab03", "s1").grades
        assert missing and all(g.auto_score == 0.0 and not g.needs_manual_grade for g in missing)


def _sleeping_submission(dest) -> None:
    nb = nbformat.read(REF, as_version=4)
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "cross_entropy")
    cell.source = "import time\nfor _ in range(10**6):\n    time.sleep(0.1)\n" + cell.source
    dest.mkdir(parents=True)
    nbformat.write(nb, dest / "03_n.ipynb")


def _alive(procs: list[psutil.Process]) -> list[psutil.Process]:
    alive = []
    for proc in procs:
        try:
            if proc.status() != psutil.STATUS_ZOMBIE:
                alive.append(proc)
        except psutil.Error:
            continue
    return alive


def test_kill_9_of_the_head_ends_its_workers_and_kernels_and_nothing_more_is_written(tmp_path):
    root = copy_course(tmp_path / "course", with_generated=True)
    subs = tmp_path / "subs"
    _sleeping_submission(subs / "sleeper")
    executed = root / ".autograder" / "executed" / "sleeper" / "lab03" / "03_n.ipynb"
    head = subprocess.Popen([*AUTOGRADER, "grade", "lab03", "--submissions", str(subs), "-j", "1",
                             "--notebook-timeout", "600"], cwd=root, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env={**os.environ, "AUTOGRADER_CASE_SALT": TEST_CASE_SALT})
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and not executed.exists():  # the kernel is running student code
            time.sleep(0.2)
        assert executed.exists(), "the sleeping notebook never started"
        time.sleep(1)
        descendants = psutil.Process(head.pid).children(recursive=True)
        assert any("ipykernel" in " ".join(p.cmdline()) for p in _alive(descendants))
    finally:
        head.send_signal(signal.SIGKILL)
        head.wait()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and _alive(descendants):
        time.sleep(0.1)
    assert not _alive(descendants), [p.cmdline() for p in _alive(descendants)]
    written = executed.stat().st_mtime_ns
    time.sleep(1.5)
    assert executed.stat().st_mtime_ns == written  # nothing more is written

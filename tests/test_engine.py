"""The grading engine on a real class: parallel = nbgrader's own sequential grades, resumable,
limits and isolation per submission, submitted files untouched."""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import time

import nbformat
import pytest

from autograder.run import sandbox
from autograder.score.gradebook import Gradebook

from conftest import AUTOGRADER, REPO, copy_course, run_autograder, run_nbgrader, tree_digest

SAMPLES = REPO / "examples" / "submissions" / "lab03"
REF = REPO / "solutions" / "lab03" / "03_n.ipynb"
LAST_SOLUTION = "cross_entropy"  # hostile code goes here: every test before it has already passed (13 of 15)
BEFORE_LAST = 13
# The honest cells before the hostile one must finish within this even on a loaded 2-core machine (they take
# seconds); the hostile cells sleep or loop forever, so they meet it whatever the load.
NOTEBOOK_TIMEOUT_S = 90

needs_sandbox = pytest.mark.skipif(not sandbox.available()[0], reason="bubblewrap is not available here")


def _scores(root) -> dict[tuple[str, str], float]:
    """(student, grade_id) -> score, straight from the gradebook."""
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        return {
            (sub.student.id, grade.name): grade.score
            for sub in gb.assignment_submissions("lab03")
            for nb in sub.notebooks for grade in nb.grades
        }


def _rows(root) -> dict[str, dict]:
    with open(root / "reports" / "lab03" / "grades.csv", encoding="utf-8") as fh:
        return {row["student_id"]: row for row in csv.DictReader(fh) if row["notebook"] == "03_n"}


def _gradable_samples(dest, names=None):
    for sample in sorted(SAMPLES.iterdir()):
        if names is None or sample.name in names:
            shutil.copytree(sample, dest / sample.name)
    return dest


# --- parallel grading is nbgrader's grading --------------------------------------------------------

@pytest.fixture(scope="module")
def parallel_and_sequential(tmp_path_factory):
    base = tmp_path_factory.mktemp("parallel")
    names = ["ref-solution", "blank-release", "flipped-kernel", "pool-stride", "softmax-overflow", "ce-summed",
             "stderr-warning"]
    ours = copy_course(base / "ours", with_generated=True)
    subs = _gradable_samples(base / "subs", names)
    before = tree_digest(subs)
    proc = run_autograder("grade", "lab03", "--submissions", str(subs), "-j", "2", cwd=ours)
    assert proc.returncode == 0, proc.stdout + proc.stderr

    # nbgrader's own CLI, one student at a time, on its own course copy
    plain = copy_course(base / "plain", with_generated=True)
    for name in names:
        shutil.copytree(subs / name, plain / "submitted" / name / "lab03")
    run_nbgrader("db", "assignment", "add", "lab03", cwd=plain)
    run_nbgrader("generate_assignment", "lab03", "--force", cwd=plain)
    for name in names:
        run_nbgrader("autograde", "lab03", f"--student={name}", cwd=plain)
    return {"ours": ours, "plain": plain, "subs": subs, "before": before, "names": names, "proc": proc}


def test_parallel_grades_equal_plain_sequential_nbgrader(parallel_and_sequential):
    ours = _scores(parallel_and_sequential["ours"])
    plain = _scores(parallel_and_sequential["plain"])
    assert plain and ours == plain


def test_grading_leaves_submitted_files_byte_identical(parallel_and_sequential):
    assert tree_digest(parallel_and_sequential["subs"]) == parallel_and_sequential["before"]


def test_the_run_reports_its_slots_and_sandbox(parallel_and_sequential):
    out = parallel_and_sequential["proc"].stdout
    assert "on 2 slots" in out
    run = json.loads((parallel_and_sequential["ours"] / "reports" / "lab03" / "run.json").read_text())
    assert run["slots"] == 2 and run["graded"] == len(parallel_and_sequential["names"])
    if run["sandbox"]:  # lab 03 asks for NumPy alone: its kernels ran without the libraries that could do its work
        assert {"torch", "scipy", "sklearn", "tensorflow"} <= set(run["graded_without"])


def test_unchanged_submissions_are_skipped_unless_forced(parallel_and_sequential):
    root, subs = parallel_and_sequential["ours"], parallel_and_sequential["subs"]
    again = run_autograder("grade", "lab03", "--submissions", str(subs), "-j", "2", cwd=root)
    assert again.returncode == 0 and "graded 0, unchanged 7" in again.stdout
    assert _scores(root) == _scores(parallel_and_sequential["plain"])
    forced = run_autograder("grade", "lab03", "--submissions", str(subs), "-j", "2", "--force", cwd=root)
    assert forced.returncode == 0 and "graded 7, unchanged 0" in forced.stdout


# --- killed and resumed -----------------------------------------------------------------------------

def test_a_killed_batch_resumes_and_grades_each_submission_once(tmp_path):
    root = copy_course(tmp_path / "course", with_generated=True)
    subs = tmp_path / "subs"
    for i in range(5):
        shutil.copytree(SAMPLES / "ref-solution", subs / f"s{i}")
    log = root / ".autograder" / "ledger" / "lab03.log.jsonl"
    cmd = [*AUTOGRADER, "grade", "lab03", "--submissions", str(subs), "-j", "1"]
    proc = subprocess.Popen(cmd, cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and (not log.exists() or len(log.read_text().splitlines()) < 2):
        time.sleep(0.5)
    os.killpg(proc.pid, signal.SIGKILL)  # the TA's machine goes down mid-batch
    proc.wait()
    done_before = [json.loads(line)["student_id"] for line in log.read_text().splitlines()]
    assert 2 <= len(done_before) < 5

    resumed = run_autograder(*cmd[3:], cwd=root)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    graded = [json.loads(line)["student_id"] for line in log.read_text().splitlines()]
    assert sorted(graded) == [f"s{i}" for i in range(5)]  # every submission graded exactly once
    assert all(float(row["score"]) == 15 for row in _rows(root).values())


# --- limits and isolation: each hostile submission gets its reason, the class is graded ------------

def _with_hostile_code(dest, student: str, code: str) -> None:
    nb = nbformat.read(REF, as_version=4)
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == LAST_SOLUTION)
    cell.source = code + "\n" + cell.source
    (dest / student).mkdir(parents=True)
    nbformat.write(nb, dest / student / "03_n.ipynb")


@pytest.fixture(scope="module")
def hostile_class(tmp_path_factory):
    base = tmp_path_factory.mktemp("hostile")
    root = copy_course(base / "course", with_generated=True)
    subs = base / "subs"
    shutil.copytree(SAMPLES / "ref-solution", subs / "honest")
    outside = base / "outside.txt"
    _with_hostile_code(subs, "sleeps-forever", "import time\ntime.sleep(10**6)")
    _with_hostile_code(subs, "ignores-interrupt", "import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
                                                  "while True:\n    time.sleep(1)")
    # 30 GB in 1 GiB pieces, each written: real resident memory, not one refused allocation
    _with_hostile_code(subs, "allocates-30gb", "import numpy as np\nhog = [np.ones(2**27) for _ in range(30)]")
    _with_hostile_code(subs, "opens-socket", "import socket\nsocket.create_connection(('1.1.1.1', 53), timeout=5)")
    _with_hostile_code(subs, "reads-source", "print(open('../../source/lab03/03_n.ipynb').read()[:80])\n"
                                             f"print(open({str(root / 'source' / 'lab03' / '03_n.ipynb')!r}).read()[:80])")
    _with_hostile_code(subs, "writes-outside", f"open({str(outside)!r}, 'w').write('pwned')")
    before = tree_digest(subs)
    proc = run_autograder("grade", "lab03", "--submissions", str(subs), "-j", "2", "--memory", "2G",
                          "--cell-timeout", "300", "--notebook-timeout", str(NOTEBOOK_TIMEOUT_S), cwd=root, timeout=900)
    return {"root": root, "subs": subs, "before": before, "proc": proc, "rows": _rows(root), "outside": outside}


def _feedback(hostile_class, student) -> str:
    return (hostile_class["root"] / "feedback" / student / "lab03" / "03_n.html").read_text(encoding="utf-8")


@needs_sandbox
def test_the_batch_completes_and_the_honest_student_gets_full_marks(hostile_class):
    assert hostile_class["proc"].returncode == 0, hostile_class["proc"].stdout + hostile_class["proc"].stderr
    assert float(hostile_class["rows"]["honest"]["score"]) == 15


@needs_sandbox
def test_a_notebook_that_never_ends_is_stopped_and_keeps_earlier_points(hostile_class):
    row = hostile_class["rows"]["sleeps-forever"]
    assert row["status"] == "graded" and float(row["score"]) == BEFORE_LAST, row
    assert f"notebook time limit ({NOTEBOOK_TIMEOUT_S} s)" in row["reason"]


@needs_sandbox
def test_a_cell_that_ignores_the_interrupt_is_stopped_and_keeps_earlier_points(hostile_class):
    row = hostile_class["rows"]["ignores-interrupt"]
    assert row["status"] == "graded" and float(row["score"]) == BEFORE_LAST, row
    assert "ignored the interrupt" in row["reason"]


@needs_sandbox
def test_a_memory_hog_is_killed_and_keeps_earlier_points(hostile_class):
    row = hostile_class["rows"]["allocates-30gb"]
    assert float(row["score"]) == BEFORE_LAST and "memory limit (2.0 GiB)" in row["reason"], row


@needs_sandbox
@pytest.mark.parametrize("student, shown", [
    ("opens-socket", "OSError"),
    ("reads-source", "No such file or directory"),
    ("writes-outside", "Error"),
])
def test_network_and_files_outside_the_sandbox_are_out_of_reach(hostile_class, student, shown):
    row = hostile_class["rows"][student]
    assert float(row["score"]) == BEFORE_LAST, row  # the hostile line raised, so its answer never got defined
    assert shown in _feedback(hostile_class, student)


@needs_sandbox
def test_nothing_was_written_outside_and_submissions_are_untouched(hostile_class):
    assert not hostile_class["outside"].exists()
    assert tree_digest(hostile_class["subs"]) == hostile_class["before"]


@needs_sandbox
def test_feedback_tracebacks_leave_out_the_grader_internals(hostile_class):
    html = _feedback(hostile_class, "opens-socket")  # its cross-entropy test fails in the hidden part too
    assert "autograder/labs" not in html and "check_function" not in html


def test_without_a_sandbox_grading_still_runs_and_says_so_loudly(tmp_path):
    root = copy_course(tmp_path / "course", with_generated=True)
    subs = _gradable_samples(tmp_path / "subs", ["ref-solution"])
    proc = run_autograder("grade", "lab03", "--submissions", str(subs), "--no-sandbox", cwd=root)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "WITHOUT isolation" in proc.stdout and "sandbox: none" in proc.stdout
    run = json.loads((root / "reports" / "lab03" / "run.json").read_text())
    assert run["sandbox"] is False and "--no-sandbox" in run["sandbox_note"]
    assert run["graded_without"] == []  # nothing can be hidden without the sandbox, and run.json does not say so
    assert float(_rows(root)["ref-solution"]["score"]) == 15


# --- packages left out for some notebooks of a lab -------------------------------------------------------------


def test_a_notebook_can_be_graded_without_more_packages_than_its_lab(monkeypatch):
    """Lab 02 runs without the deep-learning libraries, SciPy and scikit-learn, in both notebooks (issue 18.2); labs
    05 and 06 keep scikit-learn (an honest split may use its train_test_split); a lab may leave a package out of
    some notebooks only (WITHOUT_IN)."""
    import sys
    import types

    from autograder import labs
    from autograder.run import execution

    assert {"torch", "keras", "scipy", "sklearn"} <= set(labs.graded_without("lab02"))
    assert all(labs.graded_without(lab) == () for lab in ("lab01", "lab04", "lab05", "lab06"))
    assert labs.graded_without_in("lab02") == () and labs.graded_without_in("no_such_lab") == ()

    course_lab = types.ModuleType("autograder.labs.course_lab")  # a course's own lab, with a normal and a hard notebook
    course_lab.WITHOUT = ("torch",)
    course_lab.WITHOUT_IN = {"07_n": ["scipy", "sklearn"]}
    monkeypatch.setitem(sys.modules, "autograder.labs.course_lab", course_lab)
    assert labs.graded_without_in("course_lab") == (("07_n", ("scipy", "sklearn")),)

    settings = execution.KernelSettings(work_root=REPO, without=labs.graded_without("course_lab"),
                                        without_in=labs.graded_without_in("course_lab"))
    assert settings.for_notebook("07_n").without == ("torch", "scipy", "sklearn")
    assert settings.for_notebook("07_h") is settings


def test_the_worker_runs_each_notebook_in_a_kernel_started_for_it(tmp_path, monkeypatch):
    """The warm kernel waiting for the next job was started for the last job's notebook: a job for a notebook graded
    without other packages gets a kernel started so (the warm one is shut down), and a job for the same kind of
    notebook takes the warm one."""
    import asyncio
    from pathlib import Path

    from autograder.run import execution, worker

    started, shut, ran = [], [], []

    async def start_kernel(settings):
        await asyncio.sleep(0)
        started.append((len(started), settings.without))
        return started[-1]

    async def shutdown(kernel):
        shut.append(kernel)

    async def run_notebook(kernel, notebook, files, output, settings):
        ran.append((notebook.stem, kernel, settings.without))
        return execution.ExecutionOutcome(execution.COMPLETED)

    monkeypatch.setattr(execution, "start_kernel", start_kernel)
    monkeypatch.setattr(execution, "shutdown", shutdown)
    monkeypatch.setattr(execution, "run_notebook", run_notebook)
    settings = execution.KernelSettings(work_root=tmp_path, without=("torch",), without_in=(("02_n", ("scipy",)),))

    async def grade(names):
        kernels = worker._Kernels(settings)
        for name in names:
            await kernels.execute(worker.Job(Path(f"{name}.ipynb"), tmp_path, tmp_path / f"{name}.ipynb"))
        await kernels.close()

    asyncio.run(grade(["02_h", "02_n", "02_n", "02_h"]))
    expected = {"02_h": ("torch",), "02_n": ("torch", "scipy")}
    assert [name for name, _, _ in ran] == ["02_h", "02_n", "02_n", "02_h"]
    for name, kernel, without in ran:
        assert without == expected[name] and kernel[1] == expected[name]  # the kernel was started for its notebook
    assert len({kernel for _, kernel, _ in ran}) == 4  # a fresh kernel for every notebook
    assert not set(shut) & {kernel for _, kernel, _ in ran}  # only warm kernels, never used, were discarded

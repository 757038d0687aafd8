"""Hand grades through `report` and regrading, on a real graded course (lab 03, three students).

A TA's score and comment (entered through nbgrader's gradebook API, as the formgrader does) reach
grades.csv, results.json, Moodle's worksheet and the feedback HTML with `autograder report`; `grade
--force` keeps them and the table, grades.csv, results.json and the gradebook agree; a resubmission
whose answer changed keeps the score but flags it for review; a score above the maximum gets a clear
message and stays in the gradebook.
"""

from __future__ import annotations

import csv
import json
import shutil
import socket

import nbformat
import pytest

from conftest import copy_course, graded_lab03_class, run_autograder, run_nbgrader

STUDENTS = ("ref-solution", "flipped-kernel", "not-json")
QUESTION = "pooling_question"  # lab 03's hand-graded answer, 2 points
COMMENT = "プーリングの説明が的確 / a precise answer on pooling"
LAB_GRADE = 16.5 / 17 * 100  # the lab's grade for 16.5 of 03_n's 17 points (c.LabGrade's default scale)


def gradebook(root):
    from autograder.score.gradebook import Gradebook

    return Gradebook(f"sqlite:///{root / 'gradebook.db'}")


def hand_grade(root, student: str, score: float, comment: str = "") -> None:
    """What the formgrader's save does: the grade's manual score (needs_manual_grade off) and the cell's comment."""
    with gradebook(root) as gb:
        grade = gb.find_grade(QUESTION, "03_n", "lab03", student)
        grade.manual_score = score
        grade.needs_manual_grade = False
        gb.find_comment(QUESTION, "03_n", "lab03", student).manual_comment = comment
        gb.db.commit()


def stored_grade(root, student: str):
    with gradebook(root) as gb:
        grade = gb.find_grade(QUESTION, "03_n", "lab03", student)
        notebook = gb.find_submission_notebook("03_n", "lab03", student)
        return grade.manual_score, bool(grade.needs_manual_grade), float(notebook.score)


def rows(root) -> dict[str, dict]:
    with open(root / "reports" / "lab03" / "grades.csv", encoding="utf-8") as fh:
        return {r["student_id"]: r for r in csv.DictReader(fh) if r["notebook"] == "03_n"}


def results_json(root, student: str) -> dict:
    return json.loads((root / "reports" / "lab03" / "gradescope" / student / "03_n" / "results.json").read_text("utf-8"))


@pytest.fixture(scope="module")
def graded_template(tmp_path_factory):
    """A course that graded three students of lab 03 (a roster names them), copied by each test."""
    base = tmp_path_factory.mktemp("hand")
    graded_lab03_class(base, STUDENTS)
    return base


@pytest.fixture
def course(graded_template, tmp_path):
    shutil.copytree(graded_template, tmp_path / "c", symlinks=True)
    return tmp_path / "c" / "course"


def test_report_puts_hand_scores_and_comments_in_every_output(course):
    hand_grade(course, "ref-solution", 1.5, COMMENT)
    shutil.rmtree(course.parent / "subs")  # the TA's download folder is gone: report reads the staged copies
    proc = run_autograder("report", "lab03", cwd=course)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    row = rows(course)["ref-solution"]
    assert (row["score"], row[QUESTION], row["manual_pending"]) == ("16.5", "1.5", "0")
    assert COMMENT in row["ta_comments"]
    result = results_json(course, "ref-solution")
    assert result["score"] == pytest.approx(LAB_GRADE, abs=0.01)
    test = next(t for t in result["tests"] if t["name"] == QUESTION)
    assert test["score"] == 1.5 and COMMENT in test["output"]
    with open(course / "reports" / "lab03" / "moodle_grades.csv", encoding="utf-8-sig") as fh:
        moodle = {r["Email address"]: r for r in csv.DictReader(fh)}
    assert COMMENT in moodle["ref-solution@example.ac.jp"]["Feedback comments"]
    assert float(moodle["ref-solution@example.ac.jp"]["Grade"]) == pytest.approx(LAB_GRADE, abs=0.01)
    html = (course / "feedback" / "ref-solution" / "lab03" / "03_n.html").read_text("utf-8")
    assert COMMENT in html and "1.5 / 2" in html
    # the other student still waits for a TA, and every page is there
    assert rows(course)["flipped-kernel"][QUESTION] == "manual"
    assert (course / "feedback" / "not-json" / "lab03" / "03_n.html").is_file()


def test_regrade_keeps_hand_grades_and_everything_agrees(course):
    hand_grade(course, "ref-solution", 1.5, COMMENT)
    proc = run_autograder("grade", "lab03", "--submissions", str(course.parent / "subs"), "--force", cwd=course)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "graded 2" in proc.stdout  # really regraded, not skipped
    manual, flagged, notebook_score = stored_grade(course, "ref-solution")
    assert (manual, flagged, notebook_score) == (1.5, False, 16.5)  # kept, and not waiting for a TA again
    row = rows(course)["ref-solution"]
    assert (row["score"], row[QUESTION], row["hand_review"]) == ("16.5", "1.5", "")
    assert results_json(course, "ref-solution")["score"] == pytest.approx(LAB_GRADE, abs=0.01)
    line = next(line for line in proc.stdout.splitlines() if "ref-solution" in line and "/17" in line)  # its row
    assert "16.5/17" in line and "✍" not in line and "?" not in line
    assert COMMENT in (course / "feedback" / "ref-solution" / "lab03" / "03_n.html").read_text("utf-8")


def test_a_changed_answer_keeps_its_hand_score_flagged_for_review(course):
    hand_grade(course, "flipped-kernel", 2, COMMENT)
    path = course.parent / "subs" / "flipped-kernel" / "03_n.ipynb"
    nb = nbformat.read(path, as_version=4)
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == QUESTION)
    cell.source += "\n\n(追記 / added after grading)"
    nbformat.write(nb, path)
    proc = run_autograder("grade", "lab03", "--submissions", str(course.parent / "subs"), cwd=course)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    manual, flagged, notebook_score = stored_grade(course, "flipped-kernel")
    assert (manual, flagged, notebook_score) == (2, True, 12)  # kept, and waiting for a TA's look
    row = rows(course)["flipped-kernel"]
    assert (row["score"], row[QUESTION], row["hand_review"]) == ("12", "2", QUESTION)
    assert "hand grade to review" in row["reason"]
    line = next(line for line in proc.stdout.splitlines() if "flipped-kernel" in line and "/17" in line)  # its row
    assert "2?" in line and "12/17" in line
    assert "hand grade to review" in proc.stdout
    # the unchanged student's (absent) hand grade is untouched, and their row is as before
    assert rows(course)["ref-solution"][QUESTION] == "manual"


def test_hand_grades_of_a_submission_that_can_no_longer_be_graded_are_saved(course):
    hand_grade(course, "flipped-kernel", 2, COMMENT)
    (course.parent / "subs" / "flipped-kernel" / "03_n.ipynb").write_text("", "utf-8")  # resubmitted: empty
    proc = run_autograder("grade", "lab03", "--submissions", str(course.parent / "subs"), cwd=course)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert rows(course)["flipped-kernel"]["status"] == "invalid"
    saved = list((course / ".autograder" / "hand-grades" / "lab03" / "dropped").glob("flipped-kernel-*.json"))
    assert len(saved) == 1
    data = json.loads(saved[0].read_text("utf-8"))
    assert data["scores"] == {"03_n": {QUESTION: 2.0}} and data["comments"] == {"03_n": {QUESTION: COMMENT}}
    assert "hand grades of flipped-kernel saved to" in " ".join(proc.stdout.split())


def test_a_hand_score_above_the_maximum_is_reported_and_kept(course):
    hand_grade(course, "ref-solution", 5, COMMENT)
    proc = run_autograder("report", "lab03", cwd=course)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    row = rows(course)["ref-solution"]
    assert (row["score"], row[QUESTION]) == ("17", "2")  # counted as the maximum
    assert "hand score 5 above the maximum 2 (pooling_question)" in row["reason"]
    assert "満点" in row["reason"]
    assert stored_grade(course, "ref-solution")[0] == 5  # what the TA typed is still in the gradebook


def test_report_after_nbgrader_generate_feedback_leaves_every_page_as_grade_wrote_it(course):
    """Why README says `report`, not nbgrader's generate_feedback: nbgrader's --force replaces each graded
    student's feedback folder from its own view (every notebook in autograded/, none of our pages for
    notebooks that could not be graded); `report` puts back exactly the pages the one-grade rule wants."""
    hand_grade(course, "ref-solution", 1.5, COMMENT)
    before = sorted(p.relative_to(course) for p in (course / "feedback").rglob("*.html"))
    assert course / "feedback" / "not-json" / "lab03" / "03_n.html" in [course / p for p in before]  # our page
    run_nbgrader("generate_feedback", "lab03", "--force", cwd=course)
    shutil.rmtree(course / "feedback" / "not-json")  # what a TA clearing the folder for nbgrader would do
    proc = run_autograder("report", "lab03", cwd=course)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert sorted(p.relative_to(course) for p in (course / "feedback").rglob("*.html")) == before
    assert COMMENT in (course / "feedback" / "ref-solution" / "lab03" / "03_n.html").read_text("utf-8")


def test_report_before_any_grading_says_what_to_do(tmp_path):
    root = copy_course(tmp_path / "course")
    proc = run_autograder("report", "lab03", cwd=root)
    assert proc.returncode == 2
    assert "run `autograder grade lab03` first" in proc.stdout
    assert not (root / "reports").exists()


def test_formgrader_needs_a_graded_course_and_a_free_port(tmp_path, graded_template):
    root = copy_course(tmp_path / "course")
    proc = run_autograder("formgrader", "--no-browser", cwd=root)
    assert proc.returncode == 2 and "no gradebook" in proc.stdout and "autograder grade LAB" in proc.stdout
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = run_autograder("formgrader", "--no-browser", "--port", str(port), cwd=graded_template / "course")
    assert proc.returncode == 2
    assert f"port {port} on 127.0.0.1 is in use" in " ".join(proc.stdout.split()) and "--port" in proc.stdout


def test_stopping_the_formgrader_command_stops_its_server(graded_template):
    """A TERM for `autograder formgrader` (a service manager, a test's teardown) ends its Jupyter server too:
    an orphaned server would keep the port and the gradebook open."""
    import os
    import re
    import subprocess
    import time
    import urllib.request

    from conftest import AUTOGRADER

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = subprocess.Popen([*AUTOGRADER, "formgrader", "--no-browser", "--port", str(port)],
                            cwd=graded_template / "course", env={**os.environ, "COLUMNS": "200"},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        url = next(m.group(0) for line in proc.stdout
                   if (m := re.search(r"http://127\.0\.0\.1:\d+/formgrader\?token=\S+", line)))
        deadline = time.monotonic() + 120
        while True:  # wait until the server answers
            try:
                urllib.request.urlopen(url, timeout=5)
                break
            except OSError:
                assert time.monotonic() < deadline and proc.poll() is None, "the formgrader never answered"
                time.sleep(1)
        proc.terminate()
        proc.wait(timeout=60)
        deadline = time.monotonic() + 30
        while True:  # the port is free again once the server is gone
            with socket.socket() as client:
                if client.connect_ex(("127.0.0.1", port)) != 0:
                    break
            assert time.monotonic() < deadline, f"the server still listens on {port} after the command ended"
            time.sleep(0.5)
    finally:
        proc.kill()
        proc.wait()

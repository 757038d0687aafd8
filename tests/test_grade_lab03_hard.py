"""Grade the sample class of lab 03's hard notebook (03_h) with the real CLI on a temporary course.

The students of examples/submissions/lab03h/ hand in 03_h only: the lab's notebooks are alternatives, so
their 03_h is their grade and 03_n appears nowhere (no row, no page asking for it); the 03_h rows are asserted here (03_n's class is tests/test_grade_lab03.py's). Each sample
gets exactly its score; feedback names the mistake; two more copies of the answer key, graded in
the same run, get identical per-question scores.
"""

from __future__ import annotations

import csv
import shutil

import pytest

from conftest import REPO, copy_course, run_autograder, tree_digest

pytestmark = pytest.mark.slow

SAMPLES = REPO / "examples" / "submissions" / "lab03h"
QUESTIONS = ["test_conv2d_forward", "test_conv2d_backward_db", "test_conv2d_backward_dw", "test_conv2d_backward_dx",
             "test_max_pool2d_forward", "test_max_pool2d_backward"]
MAX_AUTO = 13
MAX_TOTAL = 15  # 13 autograded + 2 for the hand-graded question
COPIES = ["ref-copy-2", "ref-copy-3"]  # the answer key again, for the determinism check

# student -> (total score of 03_h, {question: score} for the questions that lose points)
EXPECTED = {
    "ref-solution": (13, {}),
    "blank-release": (0, {q: 0 for q in QUESTIONS}),
    "db-not-summed": (12, {"test_conv2d_backward_db": 0}),
    "stride-ignored": (7, {"test_conv2d_backward_dw": 0, "test_conv2d_backward_dx": 0}),
    "pool-grad-to-all": (10, {"test_max_pool2d_backward": 0}),
    "pool-overwrite": (10, {"test_max_pool2d_backward": 0}),
}

# what each mistake's feedback must say
FEEDBACK = {
    "db-not-summed": ["db  (dout = 1, stride 1)", "shape mismatch"],
    "stride-ignored": ["dw  (dout = 1, stride 2)", "dx  (dout = 1, stride 2)", "values differ"],
    "pool-grad-to-all": ["only the maximum of each window", "values differ"],
    "pool-overwrite": ["overlapping windows add up", "values differ"],
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = copy_course(tmp_path_factory.mktemp("lab03h") / "course")
    submissions = root.parent / "submissions"
    shutil.copytree(SAMPLES, submissions)
    for copy in COPIES:
        shutil.copytree(SAMPLES / "ref-solution", submissions / copy)
    before = tree_digest(submissions)
    proc = run_autograder("grade", "lab03", "--submissions", str(submissions), cwd=root)
    with open(root / "reports" / "lab03" / "grades.csv", encoding="utf-8") as fh:
        rows = {(row["student_id"], row["notebook"]): row for row in csv.DictReader(fh)}
    hard = {student: row for (student, notebook), row in rows.items() if notebook == "03_h"}
    return {"root": root, "proc": proc, "rows": rows, "hard": hard, "before": before,
            "after": tree_digest(submissions)}


def test_grading_completes_for_the_whole_class(graded):
    assert graded["proc"].returncode == 0, graded["proc"].stdout + graded["proc"].stderr
    assert sorted(graded["hard"]) == sorted([*EXPECTED, *COPIES])


def test_the_normal_notebook_is_not_asked_for(graded):
    for student in [*EXPECTED, *COPIES]:
        assert (student, "03_n") not in graded["rows"]
        assert not (graded["root"] / "feedback" / student / "lab03" / "03_n.html").exists()
        assert float(graded["rows"][student, "03_h"]["grade_max"]) == 100


@pytest.mark.parametrize("student", sorted(EXPECTED))
def test_each_sample_gets_exactly_its_score(graded, student):
    score, lost = EXPECTED[student]
    row = graded["hard"][student]
    assert row["status"] == "graded", row
    assert float(row["score"]) == score, row
    assert float(row["max_score"]) == MAX_TOTAL
    for q in QUESTIONS:
        points = float(row[q])
        if q in lost:
            assert points == lost[q], (q, row)
        else:
            assert points > 0, (q, row)


def test_the_answer_key_graded_three_times_gets_identical_scores(graded):
    scores = [{q: graded["hard"][s][q] for q in [*QUESTIONS, "score"]} for s in ["ref-solution", *COPIES]]
    assert scores[0] == scores[1] == scores[2]
    assert float(scores[0]["score"]) == MAX_AUTO


def test_reference_solution_has_full_marks_and_the_question_waits_for_a_human(graded):
    row = graded["hard"]["ref-solution"]
    assert float(row["score"]) == MAX_AUTO
    assert row["gradcheck_question"] == "manual"
    assert float(row["manual_pending"]) == 2
    assert row["failures"] == ""


@pytest.mark.parametrize("student", sorted(FEEDBACK))
def test_feedback_names_the_mistake(graded, student):
    html = (graded["root"] / "feedback" / student / "lab03" / "03_h.html").read_text(encoding="utf-8")
    for text in FEEDBACK[student]:
        assert text in html, (student, text)


@pytest.mark.parametrize("student", sorted(EXPECTED))
def test_feedback_hides_the_hidden_tests_source(graded, student):
    html = (graded["root"] / "feedback" / student / "lab03" / "03_h.html").read_text(encoding="utf-8")
    assert "HIDDEN TESTS" not in html and "lab03_hard.check_" not in html
    assert "assert_close" in html  # the visible tests stay


def test_failures_column_names_the_failing_questions(graded):
    failures = graded["hard"]["stride-ignored"]["failures"]
    assert "test_conv2d_backward_dw: CheckFailure" in failures and "test_conv2d_backward_dx: CheckFailure" in failures


def test_submitted_files_are_never_modified(graded):
    assert graded["after"] == graded["before"]

"""Grade lab 06's sample class with the real CLI on a temporary course, as a TA would.

Each sample submission must get exactly the score asserted here; its feedback must name the
mistake; submitted files stay byte-identical. Two more copies of the answer key, graded in the
same run under other student ids, must get identical per-question scores (training is seeded).
"""

from __future__ import annotations

import csv
import shutil

import pytest

from conftest import REPO, copy_course, run_autograder, tree_digest

pytestmark = pytest.mark.slow

SAMPLES = REPO / "examples" / "submissions" / "lab06"
QUESTIONS = ["test_min_max_scale", "test_create_dataset", "test_split_data", "test_prepare", "test_lstm_regressor",
             "test_train_model", "test_predict", "test_rmse"]
MAX_AUTO = 15
MAX_TOTAL = 17  # 15 autograded + 2 for the hand-graded question
COPIES = ["ref-copy-2", "ref-copy-3"]  # the answer key again, for the determinism check

# student -> (status, total score, {question: score} for the questions that lose points)
EXPECTED = {
    "ref-solution": ("graded", 15, {}),
    "blank-release": ("graded", 0, {q: 0 for q in QUESTIONS}),
    "shuffled-split": ("graded", 12, {"test_split_data": 0, "test_prepare": 0}),
    "off-by-one": ("graded", 11, {"test_create_dataset": 0, "test_prepare": 0}),
    "no-scaling": ("graded", 11, {"test_prepare": 0, "test_rmse": 0}),
    "no-batch-first": ("graded", 10, {"test_lstm_regressor": 0, "test_rmse": 0}),
    "no-zero-grad": ("graded", 10, {"test_train_model": 0, "test_rmse": 0}),
    # the answer key, every check swapped (in the kernel) for one that passes: no check leaves a transcript, so
    # the grader's verdict on every hidden test is a failure
    "swaps-the-checks": ("graded", 0, {q: 0 for q in QUESTIONS}),
}

# what each mistake's feedback must say
FEEDBACK = {
    "shuffled-split": ["trainX", "the first 18, in order", "values differ"],
    "off-by-one": ["create_dataset", "7 windows", "values differ"],
    "no-scaling": ["(scaled?)", "RMSE", "threshold"],
    "no-batch-first": ["batch_first=True?", "values differ", "RMSE", "threshold"],
    "no-zero-grad": ["the loss did not go down", "zero_grad", "RMSE"],
    "swaps-the-checks": ["the grader could not reach a verdict", "the check did not finish, or was replaced"],
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = copy_course(tmp_path_factory.mktemp("lab06") / "course")
    submissions = root.parent / "submissions"
    shutil.copytree(SAMPLES, submissions)
    for copy in COPIES:
        shutil.copytree(SAMPLES / "ref-solution", submissions / copy)
    before = tree_digest(submissions)
    proc = run_autograder("grade", "lab06", "--submissions", str(submissions), cwd=root)
    with open(root / "reports" / "lab06" / "grades.csv", encoding="utf-8") as fh:
        rows = {row["student_id"]: row for row in csv.DictReader(fh)}
    return {"root": root, "proc": proc, "rows": rows, "before": before, "after": tree_digest(submissions)}


def test_grading_completes_for_the_whole_class(graded):
    assert graded["proc"].returncode == 0, graded["proc"].stdout + graded["proc"].stderr
    assert sorted(graded["rows"]) == sorted([*EXPECTED, *COPIES])


@pytest.mark.parametrize("student", sorted(EXPECTED))
def test_each_sample_gets_exactly_its_score(graded, student):
    status, score, lost = EXPECTED[student]
    row = graded["rows"][student]
    assert row["status"] == status, row
    assert float(row["score"]) == score, row
    assert float(row["max_score"]) == MAX_TOTAL
    assert [q for q in row if q.startswith("test_")] == QUESTIONS
    for q in QUESTIONS:
        points = float(row[q])
        if q in lost:
            assert points == lost[q], (q, row)
        else:
            assert points > 0, (q, row)


def test_the_answer_key_graded_three_times_gets_identical_scores(graded):
    scores = [{q: graded["rows"][s][q] for q in [*QUESTIONS, "score"]} for s in ["ref-solution", *COPIES]]
    assert scores[0] == scores[1] == scores[2]
    assert float(scores[0]["score"]) == MAX_AUTO


def test_reference_solution_has_full_marks_and_the_question_waits_for_a_human(graded):
    row = graded["rows"]["ref-solution"]
    assert float(row["score"]) == MAX_AUTO
    assert row["shuffle_question"] == "manual"
    assert float(row["manual_pending"]) == 2
    assert row["failures"] == ""


@pytest.mark.parametrize("student", sorted(FEEDBACK))
def test_feedback_names_the_mistake(graded, student):
    html = (graded["root"] / "feedback" / student / "lab06" / "06_n.html").read_text(encoding="utf-8")
    for text in FEEDBACK[student]:
        assert text in html, (student, text)


@pytest.mark.parametrize("student", sorted(EXPECTED))
def test_feedback_hides_the_hidden_tests_source(graded, student):
    html = (graded["root"] / "feedback" / student / "lab06" / "06_n.html").read_text(encoding="utf-8")
    assert "HIDDEN TESTS" not in html and "lab06.check_" not in html
    assert "assert_close" in html  # the visible tests stay


def test_failures_column_names_the_failing_questions(graded):
    failures = graded["rows"]["no-zero-grad"]["failures"]
    assert "test_train_model" in failures and "test_rmse" in failures


def test_submitted_files_are_never_modified(graded):
    assert graded["after"] == graded["before"]

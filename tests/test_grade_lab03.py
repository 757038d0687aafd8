"""Grade lab 03's sample class with the real CLI on a temporary course, as a TA would.

Each sample submission must get exactly the score asserted here; its feedback must name the
failing check with expected vs got; broken files get 0 with a reason; submitted files stay
byte-identical.
"""

from __future__ import annotations

import csv
import shutil

import pytest

from conftest import REPO, copy_course, run_autograder, tree_digest

SAMPLES = REPO / "examples" / "submissions" / "lab03"
MAX_AUTO = 15
MAX_TOTAL = 17  # 15 autograded + 2 for the hand-graded question

# student -> (status, total score, {question: score} for the questions that lose points)
EXPECTED = {
    "ref-solution": ("graded", 15, {}),
    "blank-release": ("graded", 0, {q: 0 for q in ["test_conv2d_single", "test_conv_output_size", "test_conv2d",
                                                    "test_max_pool2d", "test_avg_pool2d", "test_softmax",
                                                    "test_one_hot", "test_cross_entropy"]}),
    "colab-first-cell": ("graded", 15, {}),
    "stderr-warning": ("graded", 15, {}),
    "flipped-kernel": ("graded", 10, {"test_conv2d_single": 0, "test_conv2d": 0}),
    "softmax-overflow": ("graded", 13, {"test_softmax": 0}),
    "ce-summed": ("graded", 13, {"test_cross_entropy": 0}),
    "pool-stride": ("graded", 11, {"test_max_pool2d": 0, "test_avg_pool2d": 0}),
    "not-json": ("invalid", 0, {}),
    "empty-file": ("invalid", 0, {}),
    "not-a-notebook": ("invalid", 0, {}),
}

# what each mistake's feedback must say: the check that failed, and expected vs got
FEEDBACK = {
    "flipped-kernel": ["conv2d_single", "値が一致しません / values differ", "expected 411", "got 219"],
    "softmax-overflow": ["softmax", "NaN", "overflow"],
    "ce-summed": ["cross_entropy", "values differ", "expected", "got"],
    "pool-stride": ["max_pool2d", "stride", "expected", "got"],
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = copy_course(tmp_path_factory.mktemp("lab03") / "course")
    submissions = root.parent / "submissions"
    shutil.copytree(SAMPLES, submissions)
    before = tree_digest(submissions)
    proc = run_autograder("grade", "lab03", "--submissions", str(submissions), cwd=root)
    with open(root / "reports" / "lab03" / "grades.csv", encoding="utf-8") as fh:
        rows = {row["student_id"]: row for row in csv.DictReader(fh)}
    return {"root": root, "proc": proc, "rows": rows, "before": before, "after": tree_digest(submissions)}


def test_grading_completes_for_the_whole_class(graded):
    assert graded["proc"].returncode == 0, graded["proc"].stdout + graded["proc"].stderr
    assert sorted(graded["rows"]) == sorted(EXPECTED)


@pytest.mark.parametrize("student", sorted(EXPECTED))
def test_each_sample_gets_exactly_its_score(graded, student):
    status, score, lost = EXPECTED[student]
    row = graded["rows"][student]
    assert row["status"] == status, row
    assert float(row["score"]) == score, row
    assert float(row["max_score"]) == MAX_TOTAL
    questions = [q for q in row if q.startswith("test_")]
    assert len(questions) == 8
    if status == "graded":
        for q in questions:
            assert row[q] != "", (q, row)
            points = float(row[q])
            if q in lost:
                assert points == lost[q], (q, row)
            else:
                assert points > 0, (q, row)


def test_reference_solution_has_full_marks_and_the_question_waits_for_a_human(graded):
    row = graded["rows"]["ref-solution"]
    assert float(row["score"]) == MAX_AUTO
    assert row["pooling_question"] == "manual"
    assert float(row["manual_pending"]) == 2


@pytest.mark.parametrize("student", sorted(FEEDBACK))
def test_feedback_names_the_failing_check_with_expected_and_got(graded, student):
    html = (graded["root"] / "feedback" / student / "lab03" / "03_n.html").read_text(encoding="utf-8")
    for text in FEEDBACK[student]:
        assert text in html, (student, text)


@pytest.mark.parametrize(("student", "reason"), [
    ("not-json", "not valid JSON"), ("empty-file", "empty file"), ("not-a-notebook", "plain text, not JSON"),
])
def test_broken_files_get_zero_with_a_reason_in_csv_table_and_feedback(graded, student, reason):
    assert reason in graded["rows"][student]["reason"]
    assert student in graded["proc"].stdout and reason in graded["proc"].stdout.replace("\n", " ")
    html = (graded["root"] / "feedback" / student / "lab03" / "03_n.html").read_text(encoding="utf-8")
    assert reason in html


def test_nbgrader_export_lists_every_student(graded):
    with open(graded["root"] / "reports" / "lab03" / "nbgrader_grades.csv", encoding="utf-8") as fh:
        rows = {row["student_id"]: row for row in csv.DictReader(fh)}
    assert sorted(rows) == sorted(EXPECTED)
    assert float(rows["ref-solution"]["score"]) == MAX_AUTO
    assert float(rows["not-json"]["score"]) == 0


def test_submitted_files_are_never_modified(graded):
    assert graded["after"] == graded["before"]


def test_the_table_shows_every_student_and_total(graded):
    out = graded["proc"].stdout
    for student in EXPECTED:
        assert student in out
    assert "15/17" in out and "10/17" in out


@pytest.mark.parametrize("student", ["ref-solution", "flipped-kernel", "blank-release"])
def test_feedback_hides_the_hidden_tests_source(graded, student):
    html = (graded["root"] / "feedback" / student / "lab03" / "03_n.html").read_text(encoding="utf-8")
    assert "HIDDEN TESTS" not in html and "lab03.check_" not in html
    assert "assert_close" in html  # the visible tests stay


def test_failures_column_names_the_failing_question(graded):
    failures = graded["rows"]["flipped-kernel"]["failures"]
    assert "test_conv2d_single: CheckFailure" in failures and "test_conv2d: CheckFailure" in failures
    assert graded["rows"]["ref-solution"]["failures"] == ""

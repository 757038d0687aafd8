"""Grade lab 01's sample class with the real CLI on a temporary course, as a TA would.

Each sample submission must get exactly the score asserted here, and its feedback must name its
mistake. The answer key is graded three times (under three student ids, each in a fresh kernel):
the per-question scores and the figures its visible tests print must be identical.
"""

from __future__ import annotations

import csv
import re
import shutil

import nbformat
import pytest

from conftest import REPO, copy_course, run_autograder, tree_digest

SAMPLES = REPO / "examples" / "submissions" / "lab01"
MAX_AUTO = 15
MAX_TOTAL = 17  # 15 autograded + 2 for the hand-graded question
QUESTIONS = ["test_make_sin_data", "test_train_sin_regressor", "test_make_sequence_data",
             "test_train_sequence_classifier", "test_train_digits_classifier", "test_pca_digits", "test_tsne_digits",
             "test_make_quantiles_split", "test_train_quantiles_classifier"]
COPIES = ["ref-solution-2", "ref-solution-3"]  # the answer key again, for the determinism test

# student -> (total score, {question: score} for the questions that lose points)
EXPECTED = {
    "ref-solution": (15, {}),
    "blank-release": (0, {q: 0 for q in QUESTIONS}),
    "data-generation": (13, {"test_make_sin_data": 0, "test_make_sequence_data": 0}),
    "seed-network-too-slow": (13, {"test_train_sequence_classifier": 0}),
    "tiny-network-few-epochs": (11, {"test_train_sin_regressor": 0, "test_train_digits_classifier": 0}),
    "pca-2-components-no-tsne": (11, {"test_pca_digits": 0, "test_tsne_digits": 0}),
    "pca-standardized": (13, {"test_pca_digits": 0}),
    "no-scaling-one-epoch": (12, {"test_make_quantiles_split": 0, "test_train_quantiles_classifier": 0}),
    # the answer key, every check swapped (in the kernel) for one that passes: no check leaves a transcript, so
    # the grader's verdict on every hidden test is a failure
    "swaps-the-checks": (0, {q: 0 for q in QUESTIONS}),
    **{copy: (15, {}) for copy in COPIES},
}

# what each mistake's feedback must say (the visible test that fails first, with the measured figure)
FEEDBACK = {
    "data-generation": ["y = sin(πx)", "values differ", "1 iff the row contains a 1"],
    "seed-network-too-slow": ["training took", "s of CPU time (budget 10 s)"],
    "tiny-network-few-epochs": ["R² = 0.", "&lt; 0.95", "the network is too small or trained too briefly",
                                "test accuracy = 0.", "&lt; 0.93"],
    "pca-2-components-no-tsne": ["scores must have shape (1797, 4): got (1797, 2)", "5-NN accuracy = 0.",
                                 "&lt; 0.85", "did you use TSNE"],
    "pca-standardized": ["explained variance ratio (raw pixel values)", "values differ"],
    "no-scaling-one-epoch": ["mean of the standardized X (StandardScaler)", "validation accuracy = 0.550",
                             "not trained enough (max_iter)"],
    "swaps-the-checks": ["the grader could not reach a verdict", "the check did not finish, or was replaced"],
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = copy_course(tmp_path_factory.mktemp("lab01") / "course")
    submissions = root.parent / "submissions"
    shutil.copytree(SAMPLES, submissions)
    for copy in COPIES:
        shutil.copytree(SAMPLES / "ref-solution", submissions / copy)
    before = tree_digest(submissions)
    proc = run_autograder("grade", "lab01", "--submissions", str(submissions), cwd=root)
    with open(root / "reports" / "lab01" / "grades.csv", encoding="utf-8") as fh:
        rows = {row["student_id"]: row for row in csv.DictReader(fh)}
    return {"root": root, "proc": proc, "rows": rows, "before": before, "after": tree_digest(submissions)}


def test_grading_completes_for_the_whole_class(graded):
    assert graded["proc"].returncode == 0, graded["proc"].stdout + graded["proc"].stderr
    assert sorted(graded["rows"]) == sorted(EXPECTED)


@pytest.mark.parametrize("student", sorted(EXPECTED))
def test_each_sample_gets_exactly_its_score(graded, student):
    score, lost = EXPECTED[student]
    row = graded["rows"][student]
    assert row["status"] == "graded", row
    assert float(row["score"]) == score, row
    assert float(row["max_score"]) == MAX_TOTAL
    assert sorted(q for q in row if q.startswith("test_")) == sorted(QUESTIONS)
    for q in QUESTIONS:
        points = float(row[q])
        if q in lost:
            assert points == lost[q], (q, row)
        else:
            assert points > 0, (q, row)


def test_reference_solution_has_full_marks_and_the_question_waits_for_a_human(graded):
    row = graded["rows"]["ref-solution"]
    assert float(row["score"]) == MAX_AUTO
    assert row["extrapolation_question"] == "manual"
    assert float(row["manual_pending"]) == 2
    assert row["failures"] == ""


@pytest.mark.parametrize("student", sorted(FEEDBACK))
def test_feedback_names_the_mistake(graded, student):
    html = (graded["root"] / "feedback" / student / "lab01" / "01_n.html").read_text(encoding="utf-8")
    for text in FEEDBACK[student]:
        assert text in html, (student, text)


@pytest.mark.parametrize("student", ["ref-solution", "tiny-network-few-epochs", "blank-release"])
def test_feedback_hides_the_hidden_tests_source(graded, student):
    html = (graded["root"] / "feedback" / student / "lab01" / "01_n.html").read_text(encoding="utf-8")
    assert "HIDDEN TESTS" not in html and "lab01.check_" not in html
    assert "assert_close" in html  # the visible tests stay


def test_failures_column_names_the_failing_questions(graded):
    failures = graded["rows"]["tiny-network-few-epochs"]["failures"]
    assert "test_train_sin_regressor: AssertionError" in failures
    assert "test_train_digits_classifier: AssertionError" in failures


def _printed_figures(root, student) -> dict[str, list[str]]:
    """The numbers the visible tests print (R², accuracies, ratios), CPU times left out."""
    nb = nbformat.read(root / "autograded" / student / "lab01" / "01_n.ipynb", as_version=4)
    figures = {}
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id", "")
        text = "".join(o.get("text", "") for o in cell.get("outputs", []) if o.get("output_type") == "stream")
        text = re.sub(r"CPU time: [\d.]+ s", "", text)
        if grade_id.startswith("test_"):
            figures[grade_id] = re.findall(r"\d+\.\d+", text)
    return figures


def test_the_answer_key_graded_three_times_gets_identical_scores(graded):
    rows = [graded["rows"][s] for s in ["ref-solution", *COPIES]]
    per_question = [{q: row[q] for q in [*QUESTIONS, "extrapolation_question"]} for row in rows]
    assert per_question[0] == per_question[1] == per_question[2]
    assert {row["score"] for row in rows} == {rows[0]["score"]}
    figures = [_printed_figures(graded["root"], s) for s in ["ref-solution", *COPIES]]
    assert figures[0] == figures[1] == figures[2]
    assert figures[0]["test_train_sin_regressor"]  # R² was printed


def test_the_table_shows_every_student_and_total(graded):
    out = graded["proc"].stdout
    for student in EXPECTED:
        assert student in out
    assert "15/17" in out and "11/17" in out


def test_submitted_files_are_never_modified(graded):
    assert graded["after"] == graded["before"]

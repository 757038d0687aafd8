"""Grade lab 02's sample class with the real CLI on a temporary course, as a TA would.

Lab 02 has two notebooks (02_n normal, 02_h hard), alternatives: this class is the one where students
chose different difficulties and some sent both. grades.csv has one row per student, the notebook that
counted (the higher grade on the lab's scale, both difficulties out of 100); notebooks.csv one row per
notebook sent. Each sample notebook must get exactly the score asserted here, its feedback must name the
mistake, a notebook of the other difficulty that a student did not send appears nowhere (no row, no page
asking for it), submitted files stay byte-identical, and the answer key graded three times gets identical
scores.
"""

from __future__ import annotations

import csv
import json
import shutil

import pytest

from conftest import REPO, copy_course, run_autograder, tree_digest

SAMPLES = REPO / "examples" / "submissions" / "lab02"
NOTEBOOKS = ("02_n", "02_h")
QUESTIONS = {
    "02_n": ["test_perceptron", "test_gates", "test_xor", "test_step_function", "test_sigmoid", "test_tanh",
             "test_relu", "test_sum_squared_error", "test_mean_squared_error", "test_cross_entropy",
             "test_numerical_gradient", "test_gradient_step", "test_two_layer_forward", "test_softmax_cross_entropy",
             "test_two_layer_gradient"],
    "02_h": ["test_make_minibatches", "test_accuracy", "test_train"],
}
MANUAL = {"02_n": ("xor_question", 2), "02_h": ("lr_question", 2)}
MAX_AUTO = {"02_n": 21, "02_h": 7}
MAX_TOTAL = {"02_n": 23, "02_h": 9}  # autograded + the hand-graded question

# (student, notebook) -> (status, score, {question: score} for the questions that lose points)
EXPECTED = {
    ("ref-solution", "02_n"): ("graded", 21, {}),
    ("ref-solution", "02_h"): ("graded", 7, {}),
    ("blank-release", "02_n"): ("graded", 0, {q: 0 for q in QUESTIONS["02_n"]}),
    ("blank-release", "02_h"): ("graded", 0, {q: 0 for q in QUESTIONS["02_h"]}),
    ("perceptron-ge", "02_n"): ("graded", 20, {"test_perceptron": 0}),
    ("perceptron-ge", "02_h"): ("missing", 0, {}),
    ("sigmoid-overflow", "02_n"): ("graded", 19, {"test_sigmoid": 0}),
    ("sigmoid-overflow", "02_h"): ("missing", 0, {}),
    ("sse-no-half", "02_n"): ("graded", 20, {"test_sum_squared_error": 0}),
    ("sse-no-half", "02_h"): ("missing", 0, {}),
    ("forward-difference", "02_n"): ("graded", 19, {"test_numerical_gradient": 0}),
    ("forward-difference", "02_h"): ("missing", 0, {}),
    ("grad-no-mean", "02_n"): ("graded", 18, {"test_two_layer_gradient": 0}),
    ("grad-no-mean", "02_h"): ("missing", 0, {}),
    ("gradient-ascent", "02_n"): ("graded", 20, {"test_gradient_step": 0}),
    ("gradient-ascent", "02_h"): ("graded", 3, {"test_train": 0}),  # the same sign error, copied into 02_h
    ("no-shuffle", "02_n"): ("missing", 0, {}),
    ("no-shuffle", "02_h"): ("graded", 5, {"test_make_minibatches": 0}),
    ("update-not-assigned", "02_n"): ("missing", 0, {}),
    ("update-not-assigned", "02_h"): ("graded", 3, {"test_train": 0}),
}

# the notebook that counts: the higher share of its points (both out of 100); a tie goes to the hard one
COUNTED = {student: max((nb for (s, nb), v in EXPECTED.items() if s == student and v[0] == "graded"),
                        key=lambda nb: (EXPECTED[student, nb][1] / MAX_TOTAL[nb], nb == "02_h"))
           for student, _ in EXPECTED}
assert COUNTED["ref-solution"] == "02_n" and COUNTED["blank-release"] == "02_h" and COUNTED["no-shuffle"] == "02_h"

# what each mistake's feedback must say: the check that failed and what went wrong
FEEDBACK = {
    ("perceptron-ge", "02_n"): ["perceptron((1, 0), w=(0.5, 0.5), b=-0.5)  (u = 0)", "values differ", "expected 0",
                                "got 1"],
    ("sigmoid-overflow", "02_n"): ["test_sigmoid", "FloatingPointError", "overflow encountered in exp"],
    ("sse-no-half", "02_n"): ["sum_squared_error(beer sales)", "values differ", "expected 112.5", "got 225"],
    ("forward-difference", "02_n"): ["numerical_gradient(function_2, (3, 4))", "values differ", "expected 6",
                                     "got 6.0001"],
    ("grad-no-mean", "02_n"): ["grads['W1']: 値が一致しません / values differ", "max rel error: 0.5"],
    ("gradient-ascent", "02_n"): ["gradient_step(3.0, grad=2.0, lr=0.1)", "expected 2.8", "got 3.2"],
    ("gradient-ascent", "02_h"): ["test accuracy too low", "gradient_step(3.0, 2.0, 0.1)", "got 3.2"],
    ("no-shuffle", "02_h"): ["not shuffled", "rng.permutation(n)"],
    ("update-not-assigned", "02_h"): ["test accuracy too low", "loss 2.3"],
}


def _grade(tmp_path_factory, name: str, submissions_src) -> dict:
    root = copy_course(tmp_path_factory.mktemp(name) / "course")
    submissions = root.parent / "submissions"
    if callable(submissions_src):
        submissions_src(submissions)
    else:
        shutil.copytree(submissions_src, submissions)
    before = tree_digest(submissions)
    proc = run_autograder("grade", "lab02", "--submissions", str(submissions), cwd=root)
    with open(root / "reports" / "lab02" / "notebooks.csv", encoding="utf-8") as fh:
        rows = {(row["student_id"], row["notebook"]): row for row in csv.DictReader(fh)}
    with open(root / "reports" / "lab02" / "grades.csv", encoding="utf-8") as fh:
        grades = {row["student_id"]: row for row in csv.DictReader(fh)}
    return {"root": root, "proc": proc, "rows": rows, "grades": grades, "before": before,
            "after": tree_digest(submissions)}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    return _grade(tmp_path_factory, "lab02", SAMPLES)


def test_grading_completes_for_the_whole_class(graded):
    assert graded["proc"].returncode == 0, graded["proc"].stdout + graded["proc"].stderr
    assert sorted(graded["rows"]) == sorted(k for k, v in EXPECTED.items() if v[0] == "graded")


def test_both_notebooks_are_graded_without_scipy_and_sklearn(graded):
    """Both notebooks' kernels ran without SciPy and scikit-learn (02_h's digits come from the course package): the
    samples above score as expected in both, and run.json says what the kernels ran without."""
    run = json.loads((graded["root"] / "reports" / "lab02" / "run.json").read_text(encoding="utf-8"))
    if run["sandbox"]:
        assert {"torch", "keras", "scipy", "sklearn"} <= set(run["graded_without"])
        assert run["graded_without_in"] == {}


def test_one_grade_per_student_naming_the_notebook_that_counted(graded):
    grades = graded["grades"]
    assert sorted(grades) == sorted(COUNTED)
    for student, notebook in COUNTED.items():
        row = grades[student]
        assert row["notebook"] == notebook and row["status"] == "graded", row
        score = EXPECTED[student, notebook][1]
        assert float(row["grade"]) == round(100 * score / MAX_TOTAL[notebook], 2) and row["grade_max"] == "100"
        others = [nb for nb in NOTEBOOKS if nb != notebook and EXPECTED[student, nb][0] == "graded"]
        assert row["not_counted"] == " ".join(f"{nb}:{EXPECTED[student, nb][1]}/{MAX_TOTAL[nb]}" for nb in others)
        assert "not submitted" not in row["reason"]
        assert graded["rows"][student, notebook]["counted"] == "yes"


@pytest.mark.parametrize(("student", "notebook"), sorted(k for k, v in EXPECTED.items() if v[0] == "missing"))
def test_no_page_asks_for_the_other_difficulty(graded, student, notebook):
    assert not (graded["root"] / "feedback" / student / "lab02" / f"{notebook}.html").exists()
    assert (student, notebook) not in graded["rows"]
    moodle = (graded["root"] / "reports" / "lab02" / "moodle_gradebook.csv").read_text(encoding="utf-8-sig")
    assert f"{notebook}.ipynb" not in next(line for line in moodle.splitlines() if line.startswith(student))


@pytest.mark.parametrize(("student", "notebook"), sorted(k for k, v in EXPECTED.items() if v[0] == "graded"))
def test_each_sample_gets_exactly_its_score(graded, student, notebook):
    status, score, lost = EXPECTED[student, notebook]
    row = graded["rows"][student, notebook]
    assert row["status"] == status, row
    assert float(row["score"]) == score, row
    assert float(row["max_score"]) == MAX_TOTAL[notebook]
    assert row["counted"] == ("yes" if COUNTED[student] == notebook else "no")
    for q in QUESTIONS[notebook]:
        assert row[q] != "", (q, row)
        points = float(row[q])
        if q in lost:
            assert points == lost[q], (q, row)
        else:
            assert points > 0, (q, row)
    other = QUESTIONS["02_h" if notebook == "02_n" else "02_n"]
    assert all(row[q] == "" for q in other), row  # the other notebook's questions are not this row's


@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_reference_solution_has_full_marks_and_the_question_waits_for_a_human(graded, notebook):
    row = graded["rows"]["ref-solution", notebook]
    question, points = MANUAL[notebook]
    assert float(row["score"]) == MAX_AUTO[notebook]
    assert row[question] == "manual"
    assert float(row["manual_pending"]) == points
    assert row["failures"] == ""


@pytest.mark.parametrize(("student", "notebook"), sorted(FEEDBACK))
def test_feedback_names_the_mistake(graded, student, notebook):
    html = (graded["root"] / "feedback" / student / "lab02" / f"{notebook}.html").read_text(encoding="utf-8")
    for text in FEEDBACK[student, notebook]:
        assert text in html, (student, notebook, text)


@pytest.mark.parametrize(("student", "notebook"), sorted(k for k, v in EXPECTED.items() if v[0] == "graded"))
def test_feedback_hides_the_hidden_tests_source(graded, student, notebook):
    html = (graded["root"] / "feedback" / student / "lab02" / f"{notebook}.html").read_text(encoding="utf-8")
    assert "HIDDEN TESTS" not in html and "lab02.check_" not in html
    assert "assert_close" in html  # the visible tests stay


def test_failures_column_names_the_failing_question(graded):
    assert "test_two_layer_gradient: CheckFailure" in graded["rows"]["grad-no-mean", "02_n"]["failures"]
    assert "test_train: AssertionError" in graded["rows"]["update-not-assigned", "02_h"]["failures"]


def test_submitted_files_are_never_modified(graded):
    assert graded["after"] == graded["before"]


def test_the_table_shows_every_student_and_total(graded):
    out = graded["proc"].stdout
    for student, _ in EXPECTED:
        assert student in out
    assert "21/23" in out and "7/9" in out and "18/23" in out


@pytest.fixture(scope="module")
def graded_three_times(tmp_path_factory):
    def three_copies(submissions):
        for student in ("copy-1", "copy-2", "copy-3"):
            shutil.copytree(SAMPLES / "ref-solution", submissions / student)

    return _grade(tmp_path_factory, "lab02-determinism", three_copies)


def test_the_answer_key_graded_three_times_gets_identical_scores(graded_three_times):
    rows = graded_three_times["rows"]
    assert graded_three_times["proc"].returncode == 0, graded_three_times["proc"].stderr
    for notebook in NOTEBOOKS:
        scores = [{q: rows[s, notebook][q] for q in QUESTIONS[notebook]} for s in ("copy-1", "copy-2", "copy-3")]
        assert scores[0] == scores[1] == scores[2], scores
        assert all(float(v) > 0 for v in scores[0].values()), scores
        assert {rows[s, notebook]["score"] for s in ("copy-1", "copy-2", "copy-3")} == {str(MAX_AUTO[notebook])}

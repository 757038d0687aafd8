"""Grade lab 04's sample class with the real CLI on a temporary course, as a TA would.

The course's data directory (``<course>/data``, its default) gets the offline MNIST stand-in from
`autograder data standin mnist`; the hidden checks then apply the stand-in's thresholds, and the run
says so. Each sample submission must get exactly the score asserted here; its feedback must name the
mistake; submitted files stay byte-identical. Two more copies of the answer key, graded in the same run
under other student ids, must get identical per-question scores and accuracies (training is seeded).
The answer key also gets full marks under Keras's torch backend.
"""

from __future__ import annotations

import csv
import html
import json
import re
import shutil

import pytest

from conftest import REPO, copy_course, run_autograder, tree_digest

pytestmark = pytest.mark.slow

SAMPLES = REPO / "examples" / "submissions" / "lab04"
POINTS = {"test_preprocess": 1, "test_prepare": 1, "test_build_mlp": 2, "test_train": 2, "test_plot_history": 1,
          "test_mlp_accuracy": 3, "test_build_cnn": 2, "test_cnn_accuracy": 3}
QUESTIONS = list(POINTS)
MANUAL = "overfitting_question"  # hand-graded, 2 points
MAX_AUTO = 15
MAX_TOTAL = 17  # 15 autograded + 2 for the hand-graded question
COPIES = ["ref-copy-2", "ref-copy-3"]  # the answer key again, for the determinism check
# DL_LABS_DATA empty: the course's own data/ folder, whatever the environment says; TensorFlow, Keras's default
ENV = {"DL_LABS_DATA": "", "KERAS_BACKEND": "tensorflow"}

# student -> (status, total score, {question: score} for the questions that lose points)
EXPECTED = {
    "ref-solution": ("graded", 15, {}),
    "blank-release": ("graded", 0, {q: 0 for q in QUESTIONS}),
    # preprocess does not divide by 255: its own test fails, and both models (trained on arrays scaled outside
    # preprocess) get 0-255 test images from it
    "no-normalisation-at-test": ("graded", 8, {"test_preprocess": 0, "test_mlp_accuracy": 0, "test_cnn_accuracy": 0}),
    # the test images are in x_train: wrong x_train, and neither model's accuracy is measured
    "test-set-in-training": ("graded", 8, {"test_prepare": 0, "test_mlp_accuracy": 0, "test_cnn_accuracy": 0}),
    # train fits a clone: the models passed in (mlp, cnn) stay untrained
    "trains-a-copy": ("graded", 7, {"test_train": 0, "test_mlp_accuracy": 0, "test_cnn_accuracy": 0}),
}

# what each mistake's feedback must say
FEEDBACK = {
    "no-normalisation-at-test": ["preprocess: pixels 0, 51, 255", "failed in a hidden test",
                                 "are normalised differently from the training data",
                                 "divide by 255 inside preprocess and use it for training and testing alike"],
    "test-set-in-training": ["as many images as loaded", "expected 6000, 実際 got 8000", "failed in a hidden test",
                             "the training data x_train contains 2000 of the grader's test images",
                             "Build x_train from the training images (x_train_raw) only"],
    "trains-a-copy": ["the weights of the model passed in did not change (fit the model passed in)",
                      "accuracy too low"],
}


def _grade(root, submissions, env):
    proc = run_autograder("grade", "lab04", "--submissions", str(submissions), cwd=root, env=env)
    with open(root / "reports" / "lab04" / "grades.csv", encoding="utf-8") as fh:
        rows = {row["student_id"]: row for row in csv.DictReader(fh)}
    run = json.loads((root / "reports" / "lab04" / "run.json").read_text(encoding="utf-8"))
    return proc, rows, run


def _course_with_standin(parent):
    root = copy_course(parent / "course")
    data = run_autograder("data", "standin", "mnist", cwd=root, env=ENV)
    assert data.returncode == 0, data.stdout + data.stderr
    assert (root / "data" / "mnist.npz").is_file()  # the course's default data directory
    return root, data


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root, data = _course_with_standin(tmp_path_factory.mktemp("lab04"))
    submissions = root.parent / "submissions"
    shutil.copytree(SAMPLES, submissions)
    for copy in COPIES:
        shutil.copytree(SAMPLES / "ref-solution", submissions / copy)
    before = tree_digest(submissions)
    proc, rows, run = _grade(root, submissions, ENV)
    return {"root": root, "data": data, "proc": proc, "rows": rows, "run": run, "before": before,
            "after": tree_digest(submissions)}


def _feedback(graded, student) -> str:
    return (graded["root"] / "feedback" / student / "lab04" / "04_n.html").read_text(encoding="utf-8")


def test_grading_completes_for_the_whole_class(graded):
    assert graded["proc"].returncode == 0, graded["proc"].stdout + graded["proc"].stderr
    assert sorted(graded["rows"]) == sorted([*EXPECTED, *COPIES])


def test_the_stand_in_is_written_into_the_courses_data_folder(graded):
    assert "✓ mnist: standin" in graded["data"].stdout
    assert f"data directory: {graded['root'] / 'data'}" in graded["data"].stdout


def test_the_run_records_and_prints_the_data_profile(graded):
    run = graded["run"]
    assert run["data_profiles"] == {"mnist": "standin"}
    assert run["data_dir"] == str(graded["root"] / "data")
    assert re.search(r"^data:\s+mnist: offline stand-in \(stand-in thresholds\)$", graded["proc"].stdout, re.M), \
        graded["proc"].stdout


@pytest.mark.parametrize("student", sorted(EXPECTED))
def test_each_sample_gets_exactly_its_score(graded, student):
    status, score, lost = EXPECTED[student]
    row = graded["rows"][student]
    assert row["status"] == status, row
    assert float(row["score"]) == score, row
    assert float(row["max_score"]) == MAX_TOTAL
    assert [q for q in row if q.startswith("test_")] == QUESTIONS
    for q in QUESTIONS:
        assert float(row[q]) == lost.get(q, POINTS[q]), (q, row)
    if student != "blank-release":  # an answer left as released scores 0 without a human
        assert row[MANUAL] == "manual" and float(row["manual_pending"]) == 2, row


def test_the_blank_release_gets_nothing_and_nothing_waits_for_a_human(graded):
    row = graded["rows"]["blank-release"]
    assert float(row["score"]) == 0 and float(row[MANUAL]) == 0 and float(row["manual_pending"]) == 0
    assert all(q in row["failures"] for q in QUESTIONS)


def test_the_answer_key_graded_three_times_gets_identical_scores_and_accuracies(graded):
    scores = [{q: graded["rows"][s][q] for q in [*QUESTIONS, MANUAL, "score"]} for s in ["ref-solution", *COPIES]]
    assert scores[0] == scores[1] == scores[2]
    assert float(scores[0]["score"]) == MAX_AUTO
    # what the notebook printed: the same test accuracies and the same number of epochs (EarlyStopping)
    printed = []
    for student in ["ref-solution", *COPIES]:
        text = _feedback(graded, student)
        accuracies = re.findall(r"test accuracy: (0\.\d{4})", text)
        epochs = re.findall(r"training time: [\d.]+ s, (\d+) epochs", text)
        assert len(accuracies) == 2 and len(epochs) == 2, student
        printed.append((accuracies, epochs))
    assert printed[0] == printed[1] == printed[2]
    (mlp, cnn), _ = printed[0]
    assert float(mlp) >= 0.85 and float(cnn) >= 0.87  # above the stand-in's thresholds


def test_reference_solution_has_full_marks_and_the_question_waits_for_a_human(graded):
    row = graded["rows"]["ref-solution"]
    assert float(row["score"]) == MAX_AUTO
    assert row[MANUAL] == "manual"
    assert float(row["manual_pending"]) == 2
    assert row["failures"] == ""
    assert "/ backend: tensorflow" in _feedback(graded, "ref-solution")


@pytest.mark.parametrize("student", sorted(FEEDBACK))
def test_feedback_names_the_mistake(graded, student):
    text = html.unescape(_feedback(graded, student))
    for phrase in FEEDBACK[student]:
        assert phrase in text, (student, phrase)


def test_an_untrained_model_is_measured_at_chance_level(graded):
    """trains-a-copy: the notebook's mlp and cnn were never trained, so they guess (about 1 in 10)."""
    failures = graded["rows"]["trains-a-copy"]["failures"]
    accuracies = [float(a) for a in re.findall(r"accuracy too low: (0\.\d+)", failures)]
    assert len(accuracies) == 2 and all(a < 0.2 for a in accuracies), failures


@pytest.mark.parametrize("student", sorted(EXPECTED))
def test_feedback_hides_the_hidden_tests_source(graded, student):
    text = _feedback(graded, student)
    assert "HIDDEN TESTS" not in text and "lab04.check_" not in text and "from autograder.labs import lab04" not in text
    assert "assert_close" in text  # the visible tests stay


def test_failures_column_names_the_failing_questions(graded):
    for student, (_, _, lost) in EXPECTED.items():
        failures = graded["rows"][student]["failures"]
        named = {q for q in QUESTIONS if f"{q}:" in failures}
        assert named == set(lost), (student, failures)


def test_submitted_files_are_never_modified(graded):
    assert graded["after"] == graded["before"]


def test_the_answer_key_gets_full_marks_under_the_torch_backend(tmp_path):
    root, _ = _course_with_standin(tmp_path)
    submissions = tmp_path / "submissions"
    shutil.copytree(SAMPLES / "ref-solution", submissions / "ref-solution")
    proc, rows, run = _grade(root, submissions, {**ENV, "KERAS_BACKEND": "torch"})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    row = rows["ref-solution"]
    assert float(row["score"]) == MAX_AUTO and row["failures"] == "", row
    assert all(float(row[q]) == POINTS[q] for q in QUESTIONS), row
    assert row[MANUAL] == "manual"
    assert run["data_profiles"] == {"mnist": "standin"}
    feedback = (root / "feedback" / "ref-solution" / "lab04" / "04_n.html").read_text(encoding="utf-8")
    assert "/ backend: torch" in feedback  # the TA's KERAS_BACKEND reached the grading kernel

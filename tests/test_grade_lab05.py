"""Grade lab 05's sample class with the real CLI on a temporary course, as a TA would.

The course gets the CIFAR-10 stand-in in its own data/ (`autograder data standin cifar10`), as a TA
without a network would. Each sample submission hands in one or both notebooks (05_n, 05_h); each
notebook must get exactly the score asserted here, its feedback must name the mistake, and the
submitted files stay byte-identical. Two more copies of the answer key, graded in the same run under
other student ids, must get identical per-question scores and the same measured test accuracy
(training is seeded).
"""

from __future__ import annotations

import csv
import html
import json
import re
import shutil

import pytest

from autograder.datasets import DATA_ENV

from conftest import REPO, copy_course, run_autograder, tree_digest

pytestmark = pytest.mark.slow

SAMPLES = REPO / "examples" / "submissions" / "lab05"
NORMAL, HARD = "05_n", "05_h"
QUESTIONS = {
    NORMAL: ["test_split_train_val", "test_split", "test_preprocess", "test_augment", "test_net", "test_evaluate",
             "test_train_model", "test_accuracy", "test_confusion_matrix"],
    HARD: ["test_split", "test_preprocess", "test_random_crop", "test_augment", "test_resnet9", "test_evaluate",
           "test_train_model", "test_accuracy"],
}
MANUAL = {NORMAL: "confusion_question", HARD: "vflip_question"}  # 2 points each, graded by hand
MAX_AUTO = {NORMAL: 21, HARD: 16}
MAX_TOTAL = {NORMAL: 23, HARD: 18}
COPIES = ("ref-copy-2", "ref-copy-3")  # the answer key again, for the determinism check

# (student, notebook) -> (status, score, {question: score} for the questions that lose points)
EXPECTED = {
    ("ref-solution", NORMAL): ("graded", 21, {}),
    ("ref-solution", HARD): ("graded", 16, {}),
    ("blank-release", NORMAL): ("graded", 0, {q: 0 for q in QUESTIONS[NORMAL]}),
    ("blank-release", HARD): ("graded", 0, {q: 0 for q in QUESTIONS[HARD]}),
    ("test-as-validation", NORMAL): ("graded", 15, {"test_split": 0, "test_accuracy": 0}),
    ("flip-at-test-time", NORMAL): ("graded", 19, {"test_preprocess": 0}),
    ("mlp-instead-of-cnn", NORMAL): ("graded", 14, {"test_net": 0, "test_accuracy": 0}),
    ("same-crop-for-batch", HARD): ("graded", 13, {"test_random_crop": 0, "test_augment": 0}),
    ("no-eval-mode", HARD): ("graded", 13, {"test_evaluate": 0, "test_train_model": 0}),
}
# the notebook each mistake's student did not hand in
MISSING = {("test-as-validation", HARD), ("flip-at-test-time", HARD), ("mlp-instead-of-cnn", HARD),
           ("same-crop-for-batch", NORMAL), ("no-eval-mode", NORMAL)}

# what each mistake's feedback must say (regular expressions over the feedback's text, tags removed); none of
# them may appear in the answer key's feedback of the same notebook
FEEDBACK = {
    ("test-as-validation", NORMAL): [
        r"x_val holds 1000 test images",
        r"\(80 % / 20 % of the training images\): 値が一致しません / values differ",
    ],
    ("flip-at-test-time", NORMAL): [r"AssertionError: preprocess はいつも同じ結果を返すこと"],
    ("mlp-instead-of-cnn", NORMAL): [
        r"number of convolution layers \(nn\.Conv2d\): 値が一致しません / values differ",
        r"AssertionError: test accuracy 0\.\d{4}: the model has hardly learned",
    ],
    ("same-crop-for-batch", HARD): [
        r"every image was cropped at the same offset",
        r"smallest and largest shift \(padding 4\): 値が一致しません / values differ",
    ],
    ("no-eval-mode", HARD): [
        r"call model\.eval\(\) before evaluating",
        r"the validation images went through the model in training mode",
    ],
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = copy_course(tmp_path_factory.mktemp("lab05") / "course")
    submissions = root.parent / "submissions"
    shutil.copytree(SAMPLES, submissions)
    for copy in COPIES:
        shutil.copytree(SAMPLES / "ref-solution", submissions / copy)
    before = tree_digest(submissions)
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv(DATA_ENV, raising=False)  # the course's own data/, as the CLI finds it
        data = run_autograder("data", "standin", "cifar10", cwd=root)
        proc = run_autograder("grade", "lab05", "--submissions", str(submissions), cwd=root)
    with open(root / "reports" / "lab05" / "notebooks.csv", encoding="utf-8") as fh:  # every notebook sent
        rows = {(row["student_id"], row["notebook"]): row for row in csv.DictReader(fh)}
    return {"root": root, "data": data, "proc": proc, "rows": rows, "before": before,
            "after": tree_digest(submissions)}


def _feedback(graded, student: str, notebook: str) -> str:
    return (graded["root"] / "feedback" / student / "lab05" / f"{notebook}.html").read_text(encoding="utf-8")


def _text(page: str) -> str:
    """The feedback as the student reads it: tags removed, entities decoded."""
    return html.unescape(re.sub(r"<[^>]+>", "", page))


def test_the_stand_in_is_written_into_the_course(graded):
    assert graded["data"].returncode == 0, graded["data"].stdout + graded["data"].stderr
    assert "cifar10: standin" in graded["data"].stdout
    assert (graded["root"] / "data" / "cifar-10-batches-py" / "STANDIN").is_file()


def test_grading_completes_for_the_whole_class(graded):
    assert graded["proc"].returncode == 0, graded["proc"].stdout + graded["proc"].stderr
    sent = {*EXPECTED, *((c, nb) for c in COPIES for nb in (NORMAL, HARD))}
    assert sorted(graded["rows"]) == sorted(sent)  # a notebook not handed in has no row (the other one counts)


def test_the_run_records_the_stand_in_profile(graded):
    run = json.loads((graded["root"] / "reports" / "lab05" / "run.json").read_text(encoding="utf-8"))
    assert run["data_profiles"] == {"cifar10": "standin"}
    assert run["data_dir"] == str(graded["root"] / "data")
    assert "offline stand-in" in graded["proc"].stdout


@pytest.mark.parametrize("student, notebook", sorted(EXPECTED))
def test_each_sample_gets_exactly_its_score(graded, student, notebook):
    status, score, lost = EXPECTED[(student, notebook)]
    row = graded["rows"][(student, notebook)]
    assert row["status"] == status, row
    assert float(row["score"]) == score, row
    assert float(row["max_score"]) == MAX_TOTAL[notebook]
    answered = {q for q in row if q.startswith("test_") and row[q] != ""}
    assert answered == set(QUESTIONS[notebook]), row
    for q in QUESTIONS[notebook]:
        points = float(row[q])
        if q in lost:
            assert points == lost[q], (q, row)
        else:
            assert points > 0, (q, row)


@pytest.mark.parametrize("student, notebook", sorted(MISSING))
def test_a_notebook_not_handed_in_is_not_asked_for(graded, student, notebook):
    # the two difficulties are alternatives: the one sent is the grade, the other has no row and no page
    assert (student, notebook) not in graded["rows"]
    assert not (graded["root"] / "feedback" / student / "lab05" / f"{notebook}.html").exists()
    other = HARD if notebook == NORMAL else NORMAL
    assert graded["rows"][(student, other)]["counted"] == "yes"


@pytest.mark.parametrize("notebook", [NORMAL, HARD])
def test_reference_solution_has_full_marks_and_the_question_waits_for_a_human(graded, notebook):
    row = graded["rows"][("ref-solution", notebook)]
    assert float(row["score"]) == MAX_AUTO[notebook]
    assert row[MANUAL[notebook]] == "manual"
    assert float(row["manual_pending"]) == 2
    assert row["failures"] == ""


@pytest.mark.parametrize("notebook", [NORMAL, HARD])
def test_the_answer_key_graded_three_times_gets_identical_scores_and_accuracy(graded, notebook):
    rows = [graded["rows"][(s, notebook)] for s in ("ref-solution", *COPIES)]
    columns = [*QUESTIONS[notebook], MANUAL[notebook], "score"]
    scores = [{c: r[c] for c in columns} for r in rows]
    assert scores[0] == scores[1] == scores[2]
    assert float(rows[0]["score"]) == MAX_AUTO[notebook]
    measured = [re.findall(r"\[metric\] test_accuracy = ([0-9.]+)", _text(_feedback(graded, s, notebook)))
                for s in ("ref-solution", *COPIES)]
    assert len(measured[0]) == 1 and measured[0] == measured[1] == measured[2], measured  # the same trained model, twice


@pytest.mark.parametrize("student, notebook", sorted(FEEDBACK))
def test_feedback_names_the_mistake(graded, student, notebook):
    text = _text(_feedback(graded, student, notebook))
    reference = _text(_feedback(graded, "ref-solution", notebook))
    for pattern in FEEDBACK[(student, notebook)]:
        assert re.search(pattern, text), (student, pattern)
        assert not re.search(pattern, reference), ("the answer key's feedback says it too", pattern)


@pytest.mark.parametrize("student, notebook", sorted(k for k, v in EXPECTED.items() if v[0] == "graded"))
def test_feedback_hides_the_hidden_tests_source(graded, student, notebook):
    page = _feedback(graded, student, notebook)
    assert "HIDDEN TESTS" not in page and "lab05.check_" not in page and "from autograder.labs" not in page
    assert "assert_close" in page  # the visible tests stay


def test_failures_column_names_the_failing_questions(graded):
    for key, (_, _, lost) in EXPECTED.items():
        failures = graded["rows"][key]["failures"]
        named = {line.split(":", 1)[0] for line in failures.splitlines()}
        assert named == set(lost), (key, failures)


def test_submitted_files_are_never_modified(graded):
    assert graded["after"] == graded["before"]

"""One grade per student per lab (report/lab_grades.py): a lab's notebooks of different difficulty are
alternatives, the course's c.LabGrade chooses between them and maps each to the lab's scale. The class is
built by hand: students who chose normal, hard, both (better at one or the other), neither, or sent a
broken file."""

from __future__ import annotations

from pathlib import Path

import pytest

from autograder.course import Course, CourseError, GradingPolicy
from autograder.report.lab_grades import counted_results, difficulty_of, lab_grades
from autograder.score.results import GRADED, INVALID, MISSING, NotebookResult

NOT_SUBMITTED = "提出なし / not submitted"


def nb(student: str, notebook: str, status: str = MISSING, score: float = 0.0) -> NotebookResult:
    maximum = {"03_n": 15.0, "03_h": 17.0}[notebook]
    reason = NOT_SUBMITTED if status == MISSING else ("not a notebook" if status == INVALID else "")
    return NotebookResult(student, "lab03", notebook, status, score, maximum, reason)


# (results of 03_n, 03_h) per student, as grade_lab hands them over: both notebooks, the unsent one missing
CLASS = {
    "normal": (nb("normal", "03_n", GRADED, 12.0), nb("normal", "03_h")),
    "hard": (nb("hard", "03_n"), nb("hard", "03_h", GRADED, 17.0)),
    "both_n_better": (nb("both_n_better", "03_n", GRADED, 15.0), nb("both_n_better", "03_h", GRADED, 8.5)),
    "both_h_better": (nb("both_h_better", "03_n", GRADED, 3.0), nb("both_h_better", "03_h", GRADED, 17.0)),
    "neither": (nb("neither", "03_n"), nb("neither", "03_h")),
    "broken_h": (nb("broken_h", "03_n"), nb("broken_h", "03_h", INVALID)),
}
RESULTS = [r for pair in CLASS.values() for r in pair]


def by_student(policy: GradingPolicy | None = None):
    return {g.student_id: g for g in lab_grades(RESULTS, policy or GradingPolicy())}


def test_difficulty_is_the_suffix_of_the_name():
    assert [difficulty_of(n) for n in ("03_n", "03_h.ipynb", "lab", "12_x_h")] == ["n", "h", "", "h"]


def test_one_grade_per_student_naming_the_notebook_that_counted():
    grades = by_student()
    assert list(grades) == list(CLASS)  # one each, in the order of the results
    counted = {s: (g.notebook, g.grade, g.maximum) for s, g in grades.items()}
    assert counted == {
        "normal": ("03_n", 80.0, 100.0),  # 12/15
        "hard": ("03_h", 100.0, 100.0),
        "both_n_better": ("03_n", 100.0, 100.0),  # 15/15 beats 8.5/17
        "both_h_better": ("03_h", 100.0, 100.0),
        "neither": ("03_n", 0.0, 100.0),
        "broken_h": ("03_h", 0.0, 100.0),  # what they sent counts, broken or not
    }


def test_not_submitted_only_for_students_who_sent_neither():
    results = counted_results(lab_grades(RESULTS, GradingPolicy()))
    missing = {r.student_id for r in results if r.status == MISSING}
    assert missing == {"neither"}
    neither = next(r for r in results if r.student_id == "neither")
    assert "03_n.ipynb" in neither.reason and "03_h.ipynb" in neither.reason  # either one will do
    assert all(NOT_SUBMITTED not in r.reason for r in results if r.student_id != "neither")


def test_a_student_who_sent_both_is_told_which_counted_and_why():
    grades = by_student()
    g = grades["both_n_better"]
    assert [r.notebook for r in g.not_counted] == ["03_h"]
    assert "counted: 03_n.ipynb" in g.note() and "03_h.ipynb (8.5/17)" in g.note() and "higher grade" in g.note()
    assert grades["normal"].not_counted == [] and grades["normal"].note() == ""  # the unsent one is not "not counted"
    [result] = [r for r in counted_results(list(grades.values())) if r.student_id == "both_n_better"]
    assert "not counted: 03_h.ipynb" in result.reason


@pytest.mark.parametrize(("rule", "expected"), [
    ("hard", {"both_n_better": ("03_h", 50.0), "both_h_better": ("03_h", 100.0), "normal": ("03_n", 80.0)}),
    ("normal", {"both_n_better": ("03_n", 100.0), "both_h_better": ("03_n", 20.0), "hard": ("03_h", 100.0)}),
])
def test_a_preferred_difficulty_counts_when_sent(rule, expected):
    grades = by_student(GradingPolicy(choose=rule))
    assert {s: (grades[s].notebook, grades[s].grade) for s in expected} == expected


def test_each_difficulty_maps_to_its_points_on_the_lab_scale():
    grades = by_student(GradingPolicy(maximum=100, points=(("n", 90.0), ("h", 100.0))))
    assert grades["normal"].grade == 72.0  # 12/15 of 90
    assert grades["both_n_better"].grade == 90.0
    assert grades["both_h_better"].notebook == "03_h"  # 100 beats 18: "higher" compares on the lab's scale


def test_a_tie_goes_to_the_graded_hard_notebook():
    tie = [nb("t", "03_n", GRADED, 15.0), nb("t", "03_h", GRADED, 17.0)]
    [grade] = lab_grades(tie, GradingPolicy())
    assert grade.notebook == "03_h" and grade.grade == 100.0


def course_with(tmp_path: Path, settings: str) -> Course:
    (tmp_path / "source").mkdir()
    (tmp_path / "nbgrader_config.py").write_text("c = get_config()\n" + settings, encoding="utf-8")
    return Course(tmp_path)


def test_the_repository_default_is_both_out_of_100_and_the_higher_counts():
    repo = Course(Path(__file__).resolve().parents[1])
    assert repo.grading_policy() == GradingPolicy(100.0, (("n", 100.0), ("h", 100.0)), "higher")


def test_a_course_sets_the_rule_and_the_scale_in_nbgrader_config(tmp_path):
    course = course_with(tmp_path, 'c.LabGrade.choose = "hard"\nc.LabGrade.points = {"n": 80, "h": 100}\n')
    policy = course.grading_policy()
    assert (policy.choose, policy.points_for("n"), policy.points_for("h"), policy.maximum) == ("hard", 80, 100, 100)


@pytest.mark.parametrize(("settings", "message"), [
    ('c.LabGrade.choose = "best"\n', "c.LabGrade.choose = 'best'"),
    ('c.LabGrade.points = {"n": 100, "h": 120}\n', "h: 120"),
    ('c.LabGrade.maximum = "lots"\n', "must be numbers"),
])
def test_bad_settings_are_named(tmp_path, settings, message):
    with pytest.raises(CourseError, match="c.LabGrade") as error:
        course_with(tmp_path, settings).grading_policy()
    assert message in str(error.value)


def test_grades_csv_has_one_row_per_student_and_notebooks_csv_every_notebook_sent(tmp_path):
    import csv

    from autograder.report.grades_csv import write_grades_csv, write_notebooks_csv

    grades = lab_grades(RESULTS, GradingPolicy())
    counted = counted_results(grades)
    with write_grades_csv(counted, tmp_path / "grades.csv", grades=grades).open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["student_id"], r["notebook"], r["grade"], r["grade_max"]) for r in rows] == [
        ("normal", "03_n", "80", "100"), ("hard", "03_h", "100", "100"), ("both_n_better", "03_n", "100", "100"),
        ("both_h_better", "03_h", "100", "100"), ("neither", "03_n", "0", "100"), ("broken_h", "03_h", "0", "100")]
    assert rows[2]["not_counted"] == "03_h:8.5/17" and rows[0]["not_counted"] == ""
    with write_notebooks_csv(grades, counted, tmp_path / "notebooks.csv").open(encoding="utf-8") as fh:
        sent = [(r["student_id"], r["notebook"], r["counted"]) for r in csv.DictReader(fh)]
    assert sent == [("normal", "03_n", "yes"), ("hard", "03_h", "yes"), ("both_n_better", "03_n", "yes"),
                    ("both_n_better", "03_h", "no"), ("both_h_better", "03_h", "yes"), ("both_h_better", "03_n", "no"),
                    ("neither", "03_n", "yes"), ("broken_h", "03_h", "yes")]

"""Exports (Gradescope results.json; Moodle's files: tests/test_moodle_export.py) and the class summary plot, from
hand-built results: every status, failed and hand-graded questions, Japanese reasons."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest

from autograder.intake.roster import Student
from autograder.report.gradescope import write_gradescope_results
from autograder.report.summary_plot import plot_summary
from autograder.score.results import FAILED, GRADED, INVALID, MISSING, NotebookResult, QuestionResult

REASON_INVALID = "ノートブックではありません / not a notebook: JSON の解析に失敗"
MESSAGE = "conv2d: 形状が違います / shape differs: expected (1, 3, 4, 4), got (1, 3, 5, 5)"


def graded(student: str, *, conv: float = 2.0, late_penalty: float = 0.0, reason: str = "",
           elapsed: float = 12.5) -> NotebookResult:
    questions = [
        QuestionResult("test_conv2d", conv, 2.0, message="" if conv == 2.0 else MESSAGE),
        QuestionResult("test_softmax", 1.0, 1.0),
        QuestionResult("q_explain", 0.0, 3.0, needs_manual_grade=True),
    ]
    return NotebookResult(student, "lab03", "03_n.ipynb", GRADED,
                          score=max(0.0, sum(q.score for q in questions) - late_penalty), max_score=6.0,
                          reason=reason, questions=questions, elapsed=elapsed)


def ungraded(student: str, status: str, reason: str) -> NotebookResult:
    return NotebookResult(student, "lab03", "03_n.ipynb", status, 0.0, 6.0, reason)


CLASS = [
    graded("s001"),
    graded("s002", conv=0.0, elapsed=40.0),
    graded("s003", conv=1.0, late_penalty=0.5, reason="提出遅れ / late by 2 h 05 min, 減点 / penalty -0.5"),
    ungraded("s004", INVALID, REASON_INVALID),
    ungraded("s005", MISSING, "提出なし / nothing submitted"),
    ungraded("s006", FAILED, "nbgrader が終了しませんでした / nbgrader did not finish"),
    graded("s999"),  # not on the roster
]
ROSTER = [
    Student("s001", "山田", "太郎", "taro@example.ac.jp"),
    Student("s002", "佐藤", "花子", "hanako@example.ac.jp"),
    Student("s003", "鈴木", "一郎", "ichiro@example.ac.jp"),
    Student("s004", "田中", "次郎", "jiro@example.ac.jp"),
    Student("s005", "伊藤", "三郎", "saburo@example.ac.jp"),
    Student("s006", "渡辺", "四郎", "shiro@example.ac.jp"),
    Student("s007", "高橋", "五郎", ""),  # on the roster, no results at all, no email
]


# Gradescope -----------------------------------------------------------------------------------------

def gradescope(result: NotebookResult, tmp_path: Path) -> dict:
    path = write_gradescope_results(result, tmp_path / "results.json")
    return json.loads(path.read_text(encoding="utf-8"))


def test_gradescope_graded_notebook(tmp_path):
    data = gradescope(graded("s002", conv=0.0, elapsed=40.4), tmp_path)
    assert data["score"] == 1.0
    assert data["execution_time"] == 40
    assert data["output"].startswith("status: graded")
    tests = {t["name"]: t for t in data["tests"]}
    assert list(tests) == ["test_conv2d", "test_softmax", "q_explain"]
    assert sum(t["score"] for t in data["tests"]) == pytest.approx(data["score"])
    assert tests["test_conv2d"] == {"name": "test_conv2d", "score": 0.0, "max_score": 2.0, "status": "failed",
                                    "output": MESSAGE, "visibility": "visible"}
    assert tests["test_softmax"]["status"] == "passed"
    assert tests["test_softmax"]["output"] == ""
    # Hand-graded: neither passed nor failed yet, and it says so.
    assert "status" not in tests["q_explain"]
    assert tests["q_explain"]["max_score"] == 3.0
    assert "hand grading" in tests["q_explain"]["output"]
    assert "hand grading: 3 points" in data["output"]
    assert all(t["visibility"] == "visible" for t in data["tests"])


def test_gradescope_japanese_is_written_as_utf8_text(tmp_path):
    path = write_gradescope_results(graded("s002", conv=0.0), tmp_path / "out" / "results.json")
    text = path.read_text(encoding="utf-8")
    assert "形状が違います" in text and "\\u" not in text


def test_gradescope_late_penalty_keeps_the_sum(tmp_path):
    result = graded("s003", conv=1.0, late_penalty=0.5, reason="提出遅れ / late, 減点 / penalty -0.5")
    data = gradescope(result, tmp_path)
    assert data["score"] == 1.5
    assert sum(t["score"] for t in data["tests"]) == pytest.approx(1.5)
    penalty = data["tests"][-1]
    assert penalty["name"] == "late_penalty" and penalty["score"] == -0.5 and penalty["status"] == "failed"
    assert "提出遅れ" in penalty["output"] and "提出遅れ" in data["output"]


@pytest.mark.parametrize("status, reason", [(INVALID, REASON_INVALID), (MISSING, "提出なし / nothing submitted"),
                                            (FAILED, "nbgrader did not finish")])
def test_gradescope_ungradable_notebook(tmp_path, status, reason):
    data = gradescope(ungraded("s004", status, reason), tmp_path)
    assert data["score"] == 0
    assert data["tests"] == []
    assert data["execution_time"] == 0
    assert data["output"] == f"status: {status}\nreason: {reason}"


def test_gradescope_visibility_option(tmp_path):
    path = write_gradescope_results(graded("s001"), tmp_path / "r.json", visibility="after_published")
    assert {t["visibility"] for t in json.loads(path.read_text(encoding="utf-8"))["tests"]} == {"after_published"}


# Summary plot ---------------------------------------------------------------------------------------

def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_plot_summary_writes_a_png(tmp_path):
    path = plot_summary(CLASS, tmp_path / "plots" / "lab03.png", title="lab03")
    width, height = png_size(path)
    assert 800 <= width <= 2000 and 400 <= height <= 3000
    assert path.stat().st_size > 10_000  # something drawn, not a blank canvas


def test_plot_summary_grows_with_questions(tmp_path):
    many = [
        NotebookResult(f"s{i:03d}", "lab03", "03_n.ipynb", GRADED, 0, 60,
                       questions=[QuestionResult(f"test_q{j:02d}", (i + j) % 3, 2.0) for j in range(30)],
                       elapsed=5.0 + i)
        for i in range(500)
    ]
    _, small = png_size(plot_summary(CLASS, tmp_path / "small.png", title="3 questions"))
    _, large = png_size(plot_summary(many, tmp_path / "large.png", title="30 questions"))
    assert large > small + 300  # 30 bars get room of their own instead of being squeezed


@pytest.mark.parametrize("results", [
    [],
    [ungraded("s004", INVALID, REASON_INVALID), ungraded("s005", MISSING, "")],  # no question, no time
    [graded("s001", elapsed=0.0), graded("s002", elapsed=0.0)],  # questions, all times zero
    [graded("s001", elapsed=7.0), graded("s002", elapsed=7.0)],  # one distinct time
])
def test_plot_summary_degenerate_inputs(tmp_path, results):
    width, height = png_size(plot_summary(results, tmp_path / "p.png", title="edge"))
    assert width > 500 and height > 300


def test_gradescope_with_a_lab_grade_scores_the_grade_and_names_the_notebook(tmp_path):
    from autograder.course import GradingPolicy
    from autograder.report.lab_grades import lab_grades

    result = graded("s002", conv=0.0)  # 1 of 6 points (3 still to be hand-graded)
    [grade] = lab_grades([result], GradingPolicy(maximum=100, points=(("n", 90.0), ("h", 100.0))))
    path = write_gradescope_results(result, tmp_path / "results.json", grade=grade)
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["score"] == 15.0  # 1/6 of the normal notebook's 90
    assert data["output"].startswith("採点したノートブック / counted: 03_n.ipynb, 1/6 → 15/100")

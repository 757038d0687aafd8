"""What students read about an upload that could not be graded: what they sent and what to send instead,
never a TA's file; "quarantined" only where an upload really was set aside; a lab's notebooks offered as
alternatives (one of them), never both asked for."""

from __future__ import annotations

import csv
from pathlib import Path

import nbformat
import pytest

from autograder.course import Course
from autograder.intake.upload import UploadedFile, _problem, quarantined_uploads
from autograder.report.feedback import write_problem_feedback
from autograder.score.cell_errors import cell_failures
from autograder.score.outcomes import _missing_reason_for, failure_messages
from autograder.score.results import MISSING, NotebookResult

NOTEBOOKS = ["03_h", "03_n"]


@pytest.mark.parametrize(("filename", "data", "says"), [
    ("03_n.zip", b"PK", ["you uploaded a zip (03_n.zip)", "upload the notebook itself (03_h.ipynb / 03_n.ipynb)"]),
    ("14_n.ipynb", b"{}", ["your file was named 14_n.ipynb", "for lab03, upload 03_h.ipynb / 03_n.ipynb"]),
    ("softmax.py", b"x = 1", ["not a notebook: .py file (softmax.py)", "upload the .ipynb file"]),
    ("03_n.ipynb", b" ", ["empty file (03_n.ipynb)", "save the notebook in Jupyter, then upload it again"]),
    ("report.ipynb", b"{}", ["your file was named report.ipynb", "upload it as 03_h.ipynb / 03_n.ipynb"]),
])
def test_each_reason_says_what_was_sent_and_what_to_do(filename, data, says):
    reason = _problem(UploadedFile(filename, filename, data, None), "lab03", NOTEBOOKS)
    for text in says:
        assert text in reason, (text, reason)


def course_with_collect_report(tmp_path: Path, rows: list[dict]) -> Course:
    course = Course(tmp_path)
    path = course.reports_dir / "lab03" / "collect.csv"
    path.parent.mkdir(parents=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, ["file", "participant", "student_id", "status", "notebook", "timestamp",
                                     "seconds_late", "reason", "saved_to"], restval="")
        writer.writeheader()
        writer.writerows(rows)
    return course


def test_a_quarantined_upload_is_named_with_its_reason_and_no_ta_file(tmp_path):
    course = course_with_collect_report(tmp_path, [
        {"file": "渡辺 大輔_1007_assignsubmission_file_03_n.zip", "student_id": "s7", "status": "quarantined",
         "reason": "a zip inside the zip: you uploaded a zip (03_n.zip); upload the notebook itself"},
        {"file": "s8/03_n.ipynb", "student_id": "s8", "status": "superseded", "reason": "older attempt"},
        {"file": "s8/03_n (1).ipynb", "student_id": "s8", "status": "collected"},
    ])
    assert quarantined_uploads(course, "lab03", "s7") == [
        ("渡辺 大輔_1007_assignsubmission_file_03_n.zip", "a zip inside the zip: you uploaded a zip (03_n.zip); "
                                                       "upload the notebook itself")]
    reason = _missing_reason_for(course, "lab03", "s7")
    assert "quarantined" in reason and "you uploaded a zip (03_n.zip)" in reason
    assert "collect.csv" not in reason and "reports/" not in reason
    # an older attempt set aside is not a quarantined upload; nothing at all is "not submitted"
    assert quarantined_uploads(course, "lab03", "s8") == []
    assert _missing_reason_for(course, "lab03", "s9") == "提出なし / not submitted"
    assert _missing_reason_for(Course(tmp_path / "no-collect"), "lab03", "s7") == "提出なし / not submitted"


def test_the_page_of_a_student_who_sent_nothing_offers_either_notebook(tmp_path):
    result = NotebookResult("s9", "lab03", "03_n", MISSING, 0, 15, "提出なし / not submitted")
    html = write_problem_feedback(result, tmp_path / "03_n.html", ["03_n", "03_h"]).read_text(encoding="utf-8")
    assert "<code>03_n.ipynb</code> or <code>03_h.ipynb</code> (one of them" in html
    assert "No notebook was submitted" in html and "could not be graded" not in html


def test_the_page_of_a_quarantined_upload_says_it_could_not_be_graded(tmp_path):
    result = NotebookResult("s7", "lab03", "03_n", MISSING, 0, 15,
                            "your upload could not be graded (quarantined): 03_n.zip: a zip inside the zip")
    html = write_problem_feedback(result, tmp_path / "03_n.html").read_text(encoding="utf-8")
    assert "Your upload could not be graded" in html and "No notebook was submitted" not in html
    assert "submit it as\n<code>03_n.ipynb</code>." in html


def _executed(*cells: tuple[str, str, str | None]) -> nbformat.NotebookNode:
    """A graded notebook: (grade_id, source, the error it raised as "Name: message", or None) per cell."""
    nb = nbformat.v4.new_notebook()
    for grade_id, source, error in cells:
        cell = nbformat.v4.new_code_cell(source, metadata={"nbgrader": {"grade_id": grade_id}})
        if error:
            ename, _, evalue = error.partition(": ")
            cell.outputs = [nbformat.v4.new_output("error", ename=ename, evalue=evalue, traceback=[])]
        nb.cells.append(cell)
    return nb


def test_a_name_never_defined_is_traced_to_the_answer_cell_that_raised():
    stopped = "ImportError: torch: this lab is graded without torch"
    nb = _executed(("one_hot", "def one_hot(t):\n    raise ValueError", "ValueError: unrelated"),
                   ("softmax", "import torch\n\ndef softmax(a):\n    return torch.softmax(a, -1)", stopped),
                   ("test_softmax", "check_softmax(softmax)", "NameError: name 'softmax' is not defined"),
                   ("test_cross_entropy", "check(cross_entropy)", "NameError: name 'cross_entropy' is not defined"))
    messages = failure_messages(nb, cell_failures(nb), {"test_softmax", "test_cross_entropy"})
    assert messages["test_softmax"] == ("NameError: name 'softmax' is not defined (解答セル softmax がエラーで止まっています"
                                        f" / the answer cell softmax raised {stopped})")
    # no answer cell that defines it failed: the error alone, never another cell's (one_hot's) as its cause
    assert messages["test_cross_entropy"] == "NameError: name 'cross_entropy' is not defined"
    assert messages["softmax"] == stopped


def test_a_name_never_defined_is_traced_through_a_given_cell_to_the_answer_cell_that_raised():
    """02_h's chain: the copied functions stop on an import, the given training cell then stops on one of them, and
    the test reads the training's results: its message names both cells, the first cause last."""
    stopped = "ImportError: scipy: this lab is graded without scipy"
    nb = _executed(("network", "import scipy\n\ndef loss(a, t):\n    return 0.0", stopped),
                   ("train", "def train(x):\n    params = {}\n    return params, [loss(x, x)]", None),
                   ("run_training", "params, losses = train(1)", "NameError: name 'loss' is not defined"),
                   ("test_train", "check(params)", "NameError: name 'params' is not defined"))
    nb.cells[2].metadata["nbgrader"]["locked"] = True
    messages = failure_messages(nb, cell_failures(nb), {"test_train"})
    assert messages["test_train"] == (
        "NameError: name 'params' is not defined (セル run_training がエラーで止まっています / the cell run_training "
        "raised NameError: name 'loss' is not defined) (解答セル network がエラーで止まっています / the answer cell "
        f"network raised {stopped})")


def test_a_local_of_a_function_is_no_definition_of_the_name():
    """``params`` assigned inside ``train`` is train's own: a failed cell that defines train is not why ``params``
    is undefined."""
    nb = _executed(("train", "def train(x):\n    params = {}\n    raise ValueError\nimport nothing", "ImportError: x"),
                   ("test_train", "check(params)", "NameError: name 'params' is not defined"))
    messages = failure_messages(nb, cell_failures(nb), {"test_train"})
    assert messages["test_train"] == "NameError: name 'params' is not defined"

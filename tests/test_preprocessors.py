"""Our nbconvert preprocessors, on notebooks executed by a real kernel."""

from __future__ import annotations

import re

import nbclient
import nbformat
import pytest

from autograder.report.feedback import TrimTestTracebacks

HIDDEN_CALL = "lab03.check_conv2d_single(conv2d_single)"


ZEROS = "import numpy as np\ndef conv2d_single(x, k):\n    return np.zeros((3, 3))"


def _executed(test_source: str, solution: str = ZEROS) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata.kernelspec = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        nbformat.v4.new_code_cell(solution),
        nbformat.v4.new_code_cell(test_source),
    ]
    nbclient.NotebookClient(nb, allow_errors=True, kernel_name="python3", timeout=120).execute()
    return nb


@pytest.fixture(scope="module")
def hidden_failure():
    source = (
        "assert conv2d_single(np.ones((5, 5)), np.ones((3, 3))).shape == (3, 3)\n"
        "### BEGIN HIDDEN TESTS\n"
        "from autograder.labs import lab03\n"
        f"{HIDDEN_CALL}\n"
        "### END HIDDEN TESTS"
    )
    return _executed(source)


def _traceback_text(nb) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(nb.cells[1].outputs[-1]["traceback"]))


def test_untrimmed_traceback_shows_the_grader_internals(hidden_failure):
    # The premise: without the preprocessor, the hidden call and the check's source leak.
    text = _traceback_text(hidden_failure)
    assert HIDDEN_CALL in text and "check_function" in text


def test_hidden_test_lines_and_package_frames_are_dropped(hidden_failure):
    nb, _ = TrimTestTracebacks().preprocess(nbformat.from_dict(hidden_failure), {})
    text = _traceback_text(nb)
    assert HIDDEN_CALL not in text and "BEGIN HIDDEN" not in text
    assert "check_function" not in text and "autograder/" not in text
    assert "failed in a hidden test" in text
    # The check's explanation stays: the student learns what was wrong.
    assert "CheckFailure" in text and "411" in text


def test_a_visible_test_failure_keeps_its_cell_frame():
    nb = _executed("out = conv2d_single(np.ones((5, 5)), np.ones((3, 3)))\nassert out[0, 0] == 9, 'corner is 9'")
    trimmed, _ = TrimTestTracebacks().preprocess(nbformat.from_dict(nb), {})
    text = _traceback_text(trimmed)
    assert "assert out[0, 0] == 9" in text and "corner is 9" in text
    assert "hidden test" not in text


def test_errors_inside_the_students_function_are_named():
    nb = _executed(
        "### BEGIN HIDDEN TESTS\nfrom autograder.labs import lab03\n" + HIDDEN_CALL + "\n### END HIDDEN TESTS",
        solution="def conv2d_single(x, k):\n    raise IndexError('my bug')",
    )
    trimmed, _ = TrimTestTracebacks().preprocess(nbformat.from_dict(nb), {})
    text = _traceback_text(trimmed)
    assert "IndexError: my bug" in text  # the check reports the student's own error
    assert HIDDEN_CALL not in text and "failed in a hidden test" in text


def _marked(grade_id: str, source: str) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata.nbgrader = {"grade": False, "solution": True, "locked": False, "grade_id": grade_id,
                              "schema_version": 3}
    return cell


def test_a_copied_cell_becomes_an_ordinary_cell_and_the_notebook_stays_valid():
    from nbgrader.preprocessors import CheckCellMetadata

    from autograder.score.preprocessors import DeduplicateIds

    nb = nbformat.v4.new_notebook()
    nb.cells = [_marked("softmax", "def softmax(a): ...  # first try"), _marked("softmax", "def softmax(a): ...")]
    nb, _ = DeduplicateIds().preprocess(nb, {})
    assert "nbgrader" not in nb.cells[0].metadata  # nbgrader itself leaves {} here, which CheckCellMetadata rejects
    assert nb.cells[1].metadata.nbgrader["grade_id"] == "softmax"  # nbgrader's choice: the last copy keeps the marks
    CheckCellMetadata().preprocess(nb, {})

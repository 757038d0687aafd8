"""Collect: bad files get a specific reason, both folder layouts are found, originals untouched."""

import json

import nbformat
import pytest

from autograder.intake.submissions import (
    SubmissionsError,
    copied_cells,
    find_submissions,
    marked_cells,
    missing_cells,
    notebook_problem,
    retyped_cells,
)


def _notebook(path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])
    nbformat.write(nb, path)
    return path


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "empty file"),
        (b"   \n", "empty file"),
        (b'{"cells": [', "not valid JSON"),
        (b"print('hello')\n", "plain text, not JSON"),
        (b"\xff\xfe\x00garbage", "not UTF-8"),
        (b"[1, 2, 3]", "not a Jupyter notebook"),
        (json.dumps({"hello": "world"}).encode(), "not a Jupyter notebook"),
        (json.dumps({"cells": "nope", "metadata": {}, "nbformat": 4, "nbformat_minor": 5}).encode(), "invalid notebook"),
    ],
)
def test_bad_files_get_a_specific_reason(tmp_path, content, expected):
    path = tmp_path / "03_n.ipynb"
    path.write_bytes(content)
    assert expected in notebook_problem(path)


def test_valid_notebooks_pass(tmp_path):
    assert notebook_problem(_notebook(tmp_path / "a.ipynb")) == ""


def test_both_layouts_and_missing_notebooks(tmp_path):
    (tmp_path / "alice").mkdir()
    _notebook(tmp_path / "alice" / "03_n.ipynb")
    (tmp_path / "bob" / "lab03").mkdir(parents=True)
    _notebook(tmp_path / "bob" / "lab03" / "03_n.ipynb")
    (tmp_path / "carol").mkdir()
    (tmp_path / ".ipynb_checkpoints").mkdir()
    found = {s.student_id: s for s in find_submissions(tmp_path, "lab03", ["03_n"])}
    assert sorted(found) == ["alice", "bob", "carol"]
    assert found["alice"].gradable and found["bob"].gradable
    assert found["carol"].path is None and not found["carol"].gradable


def test_missing_submissions_folder_is_a_clear_error(tmp_path):
    with pytest.raises(SubmissionsError, match="not found"):
        find_submissions(tmp_path / "nope", "lab03", ["03_n"])


def test_missing_cells_names_the_marked_cells_a_notebook_lacks(tmp_path):
    nb = nbformat.v4.new_notebook()
    kept = nbformat.v4.new_code_cell("def softmax(a): ...")
    kept.metadata.nbgrader = {"grade_id": "softmax", "solution": True}
    cleared = nbformat.v4.new_code_cell("def one_hot(t, n): ...")  # its metadata was cleared
    nb.cells = [kept, cleared]
    path = tmp_path / "03_n.ipynb"
    nbformat.write(nb, path)
    assert missing_cells(marked_cells(path), ["conv2d", "softmax", "one_hot"]) == ["conv2d", "one_hot"]
    assert missing_cells(marked_cells(path), ["softmax"]) == []


def test_copied_and_retyped_marked_cells_are_named(tmp_path):
    def marked(cell, grade_id):
        cell.metadata.nbgrader = {"grade_id": grade_id, "solution": True}
        return cell

    nb = nbformat.v4.new_notebook(cells=[
        marked(nbformat.v4.new_code_cell("def softmax(a): ..."), "softmax"),
        marked(nbformat.v4.new_code_cell("def softmax(a): ..."), "softmax"),  # copied, marks and all
        marked(nbformat.v4.new_markdown_cell("def one_hot(t, n): ..."), "one_hot"),  # switched to markdown
        marked(nbformat.v4.new_code_cell("x = 1"), "conv2d"),
    ])
    path = tmp_path / "03_n.ipynb"
    nbformat.write(nb, path)
    types = {"softmax": "code", "one_hot": "code", "conv2d": "code", "pooling": "code"}
    marked = marked_cells(path)
    assert copied_cells(marked) == ["softmax"]
    assert retyped_cells(marked, types) == ["one_hot"]
    assert retyped_cells(marked, {**types, "conv2d": "markdown"}) == ["one_hot", "conv2d"]

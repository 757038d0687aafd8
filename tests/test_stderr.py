"""A passing test cell whose code also writes to stderr keeps its points.

The sample "stderr-warning" student's softmax emits a RuntimeWarning when the test cell calls
it. With the course's IgnorePattern it scores full marks; with nbgrader's default (stderr zeroes
the cell) it would lose the softmax points, which proves the sample really writes to stderr.
"""

from __future__ import annotations

import csv
import shutil

import pytest

from conftest import REPO, copy_course, run_autograder


def _grade_stderr_student(tmp_path, extra_config: str = "") -> dict:
    root = copy_course(tmp_path / "course")
    if extra_config:
        with open(root / "nbgrader_config.py", "a", encoding="utf-8") as fh:
            fh.write("\n" + extra_config + "\n")
    subs = tmp_path / "subs"
    shutil.copytree(REPO / "examples" / "submissions" / "lab03" / "stderr-warning", subs / "stderr-warning")
    proc = run_autograder("grade", "lab03", "--submissions", str(subs), cwd=root)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    with open(root / "reports" / "lab03" / "grades.csv", encoding="utf-8") as fh:
        return next(row for row in csv.DictReader(fh) if row["notebook"] == "03_n")


def test_stderr_warning_keeps_its_points(tmp_path):
    row = _grade_stderr_student(tmp_path)
    assert float(row["test_softmax"]) == 2 and float(row["score"]) == 15


@pytest.mark.parametrize("setting", ["c.IgnorePattern.enabled = False"])
def test_without_ignore_pattern_nbgrader_would_zero_the_cell(tmp_path, setting):
    row = _grade_stderr_student(tmp_path, setting)
    assert float(row["test_softmax"]) == 0 and float(row["score"]) == 13

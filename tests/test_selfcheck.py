"""`autograder check`: a student's own run of a notebook's tests, with no course or gradebook."""

from __future__ import annotations

import shutil

from conftest import REPO, run_autograder

SAMPLES = REPO / "examples" / "submissions" / "lab03"


def test_answer_key_passes_every_visible_test(tmp_path):
    shutil.copy(REPO / "solutions" / "lab03" / "03_n.ipynb", tmp_path)
    proc = run_autograder("check", "03_n.ipynb", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count("✓ OK") == 8 and "✗" not in proc.stdout
    assert "15 / 15" in proc.stdout and "hidden tests" in proc.stdout
    assert not (tmp_path / "gradebook.db").exists()


def test_blank_release_fails_every_test_and_says_why(tmp_path):
    shutil.copy(REPO / "release" / "lab03" / "03_n.ipynb", tmp_path)
    proc = run_autograder("check", "03_n.ipynb", cwd=tmp_path)
    assert proc.returncode == 1
    assert proc.stdout.count("✗ NG") == 8 and "NotImplementedError" in proc.stdout
    assert "0 / 15" in proc.stdout


def test_a_mistake_is_named_with_what_to_fix(tmp_path):
    shutil.copy(SAMPLES / "pool-stride" / "03_n.ipynb", tmp_path)
    proc = run_autograder("check", "03_n.ipynb", cwd=tmp_path)
    assert proc.returncode == 1
    out = proc.stdout
    assert "✗ NG   test_max_pool2d" in out and "✗ NG   test_avg_pool2d" in out
    assert "shape mismatch" in out and "11 / 15" in out


def test_missing_notebook_is_a_clear_error(tmp_path):
    proc = run_autograder("check", "nope.ipynb", cwd=tmp_path)
    assert proc.returncode == 2 and "no such notebook" in proc.stdout

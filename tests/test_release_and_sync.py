"""release/ and solutions/ are generated from source/, and check-sync notices when they are not."""

from __future__ import annotations

import nbformat

from conftest import REPO, copy_course, run_autograder


def _sources(path, cell_type=None):
    cells = nbformat.read(path, as_version=4).cells
    return "\n".join(c.source for c in cells if cell_type in (None, c.cell_type))


def test_release_has_no_solutions_and_no_hidden_tests():
    text = _sources(REPO / "release" / "lab03" / "03_n.ipynb")
    assert "BEGIN SOLUTION" not in text and "HIDDEN TESTS" not in text
    assert "lab03.check_" not in text
    assert text.count("raise NotImplementedError()") >= 7
    assert "ここに解答を書いてください" in text


def test_solutions_keep_answers_drop_hidden_tests_and_are_executed():
    path = REPO / "solutions" / "lab03" / "03_n.ipynb"
    nb = nbformat.read(path, as_version=4)
    text = _sources(path, "code")
    assert "HIDDEN TESTS" not in text and "lab03.check_" not in text
    assert "BEGIN SOLUTION" not in text and "NotImplementedError()" not in text
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count is not None for c in code)
    assert not any(o.get("output_type") == "error" for c in code for o in c.outputs)


def test_check_sync_passes_then_fails_after_an_unregenerated_source_change(tmp_path):
    root = copy_course(tmp_path / "course", with_generated=True)
    ok = run_autograder("check-sync", cwd=root)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "match source/" in ok.stdout

    path = root / "source" / "lab03" / "03_n.ipynb"
    nb = nbformat.read(path, as_version=4)
    first_md = next(c for c in nb.cells if c.cell_type == "markdown")
    first_md.source += "\n\n追記: 提出期限に注意してください。"
    nbformat.write(nb, path)
    drifted = run_autograder("check-sync", cwd=root)
    assert drifted.returncode == 1
    assert "release/lab03/03_n.ipynb" in drifted.stdout
    assert "solutions/lab03/03_n.ipynb" in drifted.stdout


def test_check_sync_notices_a_missing_solution(tmp_path):
    root = copy_course(tmp_path / "course", with_generated=True)
    (root / "solutions" / "lab03" / "03_n.ipynb").unlink()
    proc = run_autograder("check-sync", cwd=root)
    assert proc.returncode == 1 and "missing" in proc.stdout


def test_release_regenerates_both_trees(tmp_path):
    root = copy_course(tmp_path / "course")
    proc = run_autograder("release", "lab03", cwd=root, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (root / "release" / "lab03" / "03_n.ipynb").is_file()
    assert (root / "solutions" / "lab03" / "03_n.ipynb").is_file()
    assert run_autograder("check-sync", "lab03", cwd=root).returncode == 0


def test_unknown_lab_is_a_clear_error(tmp_path):
    root = copy_course(tmp_path / "course")
    proc = run_autograder("grade", "lab99", "--submissions", str(tmp_path), cwd=root)
    assert proc.returncode == 2 and "unknown lab 'lab99'" in proc.stdout

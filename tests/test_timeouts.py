"""A cell that never ends is interrupted at the per-cell limit and reported; the class is still graded."""

from __future__ import annotations

import csv
import re
import shutil
import time
from pathlib import Path

import nbformat

from conftest import REPO, copy_course, run_autograder


def test_config_raises_nbgrader_default_cell_timeout():
    text = (REPO / "nbgrader_config.py").read_text()
    timeout = int(re.search(r"c\.Execute\.timeout\s*=\s*(\d+)", text).group(1))
    assert timeout > 30
    assert "c.Execute.interrupt_on_timeout = True" in text


def test_infinite_loop_in_a_solution_cell_times_out_and_is_reported(tmp_path: Path):
    root = copy_course(tmp_path / "course")
    subs = tmp_path / "subs"
    solution = nbformat.read(REPO / "solutions" / "lab03" / "03_n.ipynb", as_version=4)
    looping = nbformat.from_dict(solution)
    cell = next(c for c in looping.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "softmax")
    cell.source = "def softmax(a):\n    while True:\n        pass\n\nsoftmax(1.0)  # the student tried it out"
    for student, nb in {"looping": looping, "honest": solution}.items():
        (subs / student).mkdir(parents=True)
        nbformat.write(nb, subs / student / "03_n.ipynb")

    start = time.monotonic()
    proc = run_autograder("grade", "lab03", "--submissions", str(subs), "--cell-timeout", "5", cwd=root, timeout=600)
    elapsed = time.monotonic() - start
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert elapsed < 300

    with open(root / "reports" / "lab03" / "grades.csv", encoding="utf-8") as fh:
        rows = {r["student_id"]: r for r in csv.DictReader(fh)}
    looping_row = rows["looping"]
    assert "timed out after 5 s" in looping_row["reason"] and "(softmax)" in looping_row["reason"]
    # the loop only costs the softmax test: softmax is then undefined
    assert float(looping_row["test_softmax"]) == 0
    assert float(looping_row["score"]) == 13
    assert float(rows["honest"]["score"]) == 15
    assert "timed out" in proc.stdout
    html = (root / "feedback" / "looping" / "lab03" / "03_n.html").read_text(encoding="utf-8")
    assert "CellTimeoutError" in html
    shutil.rmtree(subs)

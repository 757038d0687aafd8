"""The training labs' hostile corpus (issue 18, classes 3-5), graded by the real CLI.

Each lab's cases (training_cases.py) are graded in one batch with `autograder grade LAB --submissions DIR` on a
temporary course, the grader pointed at the offline stand-ins (conftest's ``standin_data_dir``). Every case must
score 0 on each test cell it attacks and full points on every other one, so its total is exact; its failures must
name the reason. The table goes to build/hostile-training-report.tsv for the end-of-run report (tests/conftest.py).
"""

from __future__ import annotations

import csv
import json
import re
import shutil

import pytest
from training_cases import CORPUS, points

from autograder.datasets import DATA_ENV

from conftest import REPO, copy_course, run_autograder

pytestmark = pytest.mark.slow

REPORT = REPO / "build" / "hostile-training-report.tsv"
# Generous, so that a busy machine (the CI's `pytest -n 2`) never times out honest work: the slowest case, lab 04's
# forged training time, spends about 95 CPU-s in one cell on purpose.
CELL_TIMEOUT_S = 600
LABS = sorted({case.lab for case in CORPUS.values()})


def _grade(lab: str, base, data) -> dict[tuple[str, str], dict]:
    submissions = base / "submissions"
    for student, case in CORPUS.items():
        if case.lab == lab:
            folder = submissions / student
            folder.mkdir(parents=True)
            nb = case.make()
            (folder / f"{case.notebook}.ipynb").write_text(json.dumps(nb, ensure_ascii=False), "utf-8")
    root = copy_course(base / "course")
    shutil.copytree(data, root / "data")  # the course's own data folder, as tests/test_grade_lab04.py has it
    (root / "data").chmod(0o755)  # mktemp's 0700 would hide it from the sandbox's user
    proc = run_autograder("grade", lab, "--submissions", str(submissions), "-j", "2", "--cell-timeout",
                          str(CELL_TIMEOUT_S), cwd=root, timeout=1800, env={DATA_ENV: ""})
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    with open(root / "reports" / lab / "notebooks.csv", encoding="utf-8") as fh:
        return {(row["student_id"], row["notebook"]): row for row in csv.DictReader(fh)}


@pytest.fixture(scope="module")
def graded(standin_data_dir, tmp_path_factory):
    rows = {}
    for lab in LABS:
        rows.update(_grade(lab, tmp_path_factory.mktemp(lab), standin_data_dir))
    _write_report(rows)
    return rows


def _expected(case) -> tuple[dict[str, float], float]:
    full = points(case.make())
    each = {q: 0.0 if q in case.zero else p for q, p in full.items()}
    return each, sum(each.values())


def _write_report(rows) -> None:
    REPORT.parent.mkdir(exist_ok=True)
    with open(REPORT, "w", encoding="utf-8") as fh:
        for student, case in CORPUS.items():
            row = rows.get((student, case.notebook), {})
            got = f"{row['status']} {float(row['score']):g}" if row else "no row"
            failures = (row.get("failures") or row.get("reason") or "").replace("\t", " ").replace("\n", " ")
            fh.write(f"{case.lab}/{student}\tgraded {_expected(case)[1]:g}\t{got}\t{case.why}: {failures[:120]}\n")


@pytest.mark.parametrize("student", sorted(CORPUS))
def test_each_case_scores_0_on_what_it_attacks_and_keeps_the_rest(graded, student):
    case = CORPUS[student]
    row = graded[(student, case.notebook)]
    each, total = _expected(case)
    assert row["status"] == "graded", row
    assert {q: float(row[q]) for q in each} == each, row["failures"]
    assert float(row["score"]) == total, row
    for q, reason in case.zero.items():
        assert reason in _failure(row["failures"], q), (q, row["failures"])


def _failure(failures: str, question: str) -> str:
    """The failures column's entry for ``question``: from "question:" to the next question's entry."""
    found = re.search(rf"^{question}: (.*?)(?=^test_\w+: |\Z)", failures, re.M | re.S)
    return found.group(1) if found else ""


def test_every_case_has_a_row(graded):
    assert sorted(graded) == sorted((s, c.notebook) for s, c in CORPUS.items())


def test_report_is_written_for_the_end_of_the_run(graded):
    assert len(REPORT.read_text(encoding="utf-8").splitlines()) == len(CORPUS)

"""Broken and tampered submissions in a class: each is graded as what it is, with a reason, and the rest of
the class is graded.

The corpus (hostile_cases.py) is graded in one batch with the real CLI on a temporary course,
twice: both runs must agree, the submitted files must stay byte-identical, and every case must get
exactly its expected status and score. The case table is written for the end-of-run report
(tests/conftest.py prints it).
"""

from __future__ import annotations

import csv

import psutil
import pytest
from hostile_cases import CHILD_MARKER, CORPUS, write_corpus

from conftest import REPO, copy_course, run_autograder, tree_digest

REPORT = REPO / "build" / "hostile-report.tsv"
CELL_TIMEOUT_S = 60


def _grade(root, submissions) -> dict[str, dict]:
    # The endless cases loop forever, so they meet any limit; honest cells take seconds even on a loaded machine
    # (20 s was once too short for a cell under `pytest -n 2`): the verdicts must not depend on the load.
    proc = run_autograder("grade", "lab03", "--submissions", str(submissions), "--force", "--cell-timeout",
                          str(CELL_TIMEOUT_S), cwd=root)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    with open(root / "reports" / "lab03" / "grades.csv", encoding="utf-8") as fh:
        return {row["student_id"]: row for row in csv.DictReader(fh) if row["notebook"] == "03_n"}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    base = tmp_path_factory.mktemp("hostile")
    submissions = base / "submissions"
    expected = write_corpus(submissions)
    before = tree_digest(submissions)
    root = copy_course(base / "course")
    first = _grade(root, submissions)
    again = _grade(root, submissions)
    after = tree_digest(submissions)
    _write_report(expected, first)
    return {"expected": expected, "first": first, "again": again, "before": before, "after": after}


def _write_report(expected, rows) -> None:
    REPORT.parent.mkdir(exist_ok=True)
    with open(REPORT, "w", encoding="utf-8") as fh:
        for student, case in expected.items():
            row = rows.get(student, {})
            got = f"{row.get('status', 'no row')} {row.get('score', '')}".strip()
            reason = (row.get("reason") or row.get("failures") or "").replace("\t", " ").replace("\n", " ")
            fh.write(f"{student}\t{case.status} {case.score:g}\t{got}\t{reason[:160]}\n")


def test_every_case_has_a_row(graded):
    assert sorted(graded["first"]) == sorted(graded["expected"])


@pytest.mark.parametrize("student", sorted(CORPUS))
def test_each_case_gets_exactly_its_grade_and_reason(graded, student):
    case = graded["expected"][student]
    row = graded["first"][student]
    assert row["status"] == case.status, row
    assert float(row["score"]) == case.score, row
    assert case.reason in row["reason"] + row["failures"], row
    if case.status != "graded":
        assert row["reason"], f"{student}: not graded, and no reason recorded"


def test_grading_twice_gives_identical_results(graded):
    def outcome(rows):
        return {s: (r["status"], r["score"], r["reason"]) for s, r in rows.items()}
    assert outcome(graded["first"]) == outcome(graded["again"])


def test_no_process_of_a_submission_outlives_the_batch(graded):
    left = [p.info for p in psutil.process_iter(["pid", "cmdline"]) if CHILD_MARKER in " ".join(p.info["cmdline"] or [])]
    assert not left, left


def test_submitted_files_are_byte_identical_afterwards(graded):
    assert graded["before"] == graded["after"]


def test_report_is_written_for_the_end_of_the_run(graded):
    lines = REPORT.read_text(encoding="utf-8").splitlines()
    assert len(lines) == len(graded["expected"])

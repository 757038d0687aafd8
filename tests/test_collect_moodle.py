"""Moodle's "Download all submissions" zip → submitted/ and quarantine/, with nothing lost.

The zip (examples/moodle/) is built the way Moodle builds it: flat and one-folder-per-student
entries, UTF-8 and CP932 names, two attempts by one student, a late one, a .py, a zip inside the
zip, an empty file, a notebook for another lab, and a student not on the roster.
"""

from __future__ import annotations

import csv
import zipfile

import pytest

from autograder.intake.naming import notebook_for, parse_notebook_name
from autograder.intake.roster import Roster, RosterError, Student, read_roster

from conftest import REPO, copy_course, run_autograder

MOODLE = REPO / "examples" / "moodle"
ZIP = MOODLE / "lab03_download_all_submissions.zip"


@pytest.mark.parametrize(("name", "expected"), [
    ("03_n.ipynb", (3, "n")), ("03_N.ipynb", (3, "n")), ("０３＿ｎ.ipynb", (3, "n")), ("03_n (1).ipynb", (3, "n")),
    ("3n.ipynb", (3, "n")), ("s2401001_03_h.ipynb", (3, "h")), ("lab03-h-final.ipynb", (3, "h")),
    ("14_n.ipynb", (14, "n")), ("report.ipynb", None), ("03_normal.ipynb", None), ("03_n.py", None),
])
def test_notebook_names_are_read_tolerantly(name, expected):
    assert parse_notebook_name(name) == expected


def test_notebook_for_picks_the_labs_notebook():
    assert notebook_for("03_H (2).ipynb", ["03_n", "03_h"]) == "03_h"
    assert notebook_for("14_n.ipynb", ["03_n", "03_h"]) is None


def test_roster_reads_utf8_and_moodle_exports_in_cp932(tmp_path):
    ours = read_roster(MOODLE / "roster.csv")
    assert len(ours) == 12 and ours[0] == Student("s2401001", "山田", "太郎", "s2401001@example.ac.jp")
    export = tmp_path / "participants.csv"
    export.write_bytes("名,姓,ID番号,メールアドレス\n花子,佐藤,s2401002,hanako@example.ac.jp\n".encode("cp932"))
    assert read_roster(export) == [Student("s2401002", "佐藤", "花子", "hanako@example.ac.jp")]
    bad = tmp_path / "bad.csv"
    bad.write_text("name,email\nx,y\n", encoding="utf-8")
    with pytest.raises(RosterError, match="no student id column"):
        read_roster(bad)


def test_roster_matches_names_in_either_order_and_width():
    roster = Roster((Student("s1", "山田", "太郎"), Student("s2", "Smith", "Anna")))
    assert roster.by_name("山田 太郎").id == "s1"
    assert roster.by_name("山田\u3000太郎").id == "s1"  # full-width space
    assert roster.by_name("anna smith").id == "s2"
    assert roster.by_name("佐藤 花子") is None


def test_the_sample_zip_has_what_moodle_zips_have():
    with zipfile.ZipFile(ZIP) as archive:
        infos = archive.infolist()
    assert any(not (i.flag_bits & 0x800) and not i.filename.isascii() for i in infos)  # CP932, no UTF-8 flag
    assert any("_assignsubmission_file_/" in i.filename for i in infos)  # one folder per student
    assert any(i.filename.endswith(".zip") for i in infos) and any(i.filename.endswith(".py") for i in infos)


@pytest.fixture(scope="module")
def collected(tmp_path_factory):
    root = copy_course(tmp_path_factory.mktemp("moodle") / "course")
    zip_before = ZIP.read_bytes()
    roster = run_autograder("roster", "import", str(MOODLE / "roster.csv"), cwd=root)
    assert roster.returncode == 0, roster.stdout + roster.stderr
    proc = run_autograder("collect", "lab03", str(ZIP), "--due", "2026-07-14T23:59", cwd=root)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert ZIP.read_bytes() == zip_before  # the download is only read
    with open(root / "reports" / "lab03" / "collect.csv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    return root, proc, rows


def test_every_file_ends_in_submitted_or_quarantine_and_the_counts_add_up(collected):
    root, proc, rows = collected
    with zipfile.ZipFile(ZIP) as archive:
        entries = [i for i in archive.infolist() if not i.is_dir()]
    assert len(rows) == len(entries) == 15
    by_status = {s: [r for r in rows if r["status"] == s] for s in ("collected", "superseded", "quarantined")}
    assert [len(by_status[s]) for s in ("collected", "superseded", "quarantined")] == [10, 1, 4]
    assert "15 files = 10 collected + 1 older attempts + 4 quarantined" in proc.stdout
    for row in rows:
        assert (root / row["saved_to"]).is_file(), row
    assert all(r["reason"] for r in by_status["quarantined"] + by_status["superseded"])
    assert len({r["saved_to"] for r in rows}) == 15  # no file overwrote another


def test_expected_submitted_tree(collected):
    root, _, rows = collected
    notebooks = sorted(str(p.relative_to(root / "submitted")) for p in (root / "submitted").rglob("*.ipynb"))
    assert notebooks == sorted(
        f"{sid}/lab03/03_n.ipynb" for sid in
        ["s2401001", "s2401002", "s2401003", "s2401004", "s2401005", "s2401006", "s2401008", "s2401009",
         "s2401011", "moodle-1099"]
    )
    # CP932 folder-form entries: the later attempt "03_n (1).ipynb" is the one kept
    kept = next(r for r in rows if r["student_id"] == "s2401001" and r["status"] == "collected")
    assert kept["file"].endswith("03_n (1).ipynb") and "山田 太郎" in kept["participant"]
    assert "latest of 2 attempts" in kept["reason"]
    # full-width file name, submitted after the due date
    late = next(r for r in rows if r["student_id"] == "s2401005")
    assert late["notebook"] == "03_n" and float(late["seconds_late"]) == pytest.approx(9.5 * 3600 + 60)
    assert (root / "submitted" / "s2401005" / "lab03" / "timestamp.txt").read_text().startswith("2026-07-15 09:30")


@pytest.mark.parametrize(("student", "file_suffix", "reason"), [
    ("s2401006", "14_n.ipynb", "notebook for another lab: 14_n"),
    ("s2401006", "softmax.py", "not a notebook: .py file"),
    ("s2401007", "03_n.zip", "a zip inside the zip"),
    ("s2401010", "03_n.ipynb", "empty file"),
])
def test_quarantined_files_keep_their_reason(collected, student, file_suffix, reason):
    _, _, rows = collected
    row = next(r for r in rows if r["student_id"] == student and r["file"].endswith(file_suffix))
    assert row["status"] == "quarantined" and reason in row["reason"]
    assert row["saved_to"].startswith(f"quarantine/lab03/{student}/")


def test_roster_mismatches_are_reported(collected):
    _, proc, _ = collected
    assert "not on the roster: moodle-1099" in proc.stdout
    assert "s2401012" in proc.stdout.split("nothing collected:")[1]


def test_collected_class_grades_with_late_and_quarantined_students_listed(collected):
    root, _, _ = collected
    proc = run_autograder("grade", "lab03", cwd=root)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    with open(root / "reports" / "lab03" / "grades.csv", encoding="utf-8") as fh:
        rows = {r["student_id"]: r for r in csv.DictReader(fh)}
    assert len(rows) == 13  # 11 on the roster who uploaded + the absent one + the stranger
    assert "lab03: 13 students" in proc.stdout  # the table's title counts the same students
    assert float(rows["s2401001"]["score"]) == 15
    assert "late by 9 h 31 min" in rows["s2401005"]["reason"]
    assert rows["s2401007"]["status"] == "missing" and "quarantined" in rows["s2401007"]["reason"]
    assert rows["s2401012"]["status"] == "missing" and "not submitted" in rows["s2401012"]["reason"]
    with open(root / "reports" / "lab03" / "nbgrader_grades.csv", encoding="utf-8") as fh:
        nb_rows = {r["student_id"]: r for r in csv.DictReader(fh)}
    assert nb_rows["s2401005"]["last_name"] == "田中"
    assert nb_rows["s2401005"]["duedate"].startswith("2026-07-14")
    _moodle_imports_the_grades_and_the_feedback(root, proc.stdout, rows)


def _moodle_imports_the_grades_and_the_feedback(root, stdout: str, rows: dict) -> None:
    """The worksheet and the feedback zip, read by the rules of Moodle's importers (tests/test_moodle_export.py),
    with the participant numbers of the zip's folder names: every row is matched and none skipped."""
    from test_moodle_export import import_feedback_zip, import_worksheet

    reports = root / "reports" / "lab03"
    users = {n: 500 + n for n in [*range(1001, 1012), 1099]}  # Moodle's participants: 1001..1011 and the stranger
    imported = import_worksheet((reports / "moodle_grades.csv").read_bytes(), users, max_grade=100)
    assert imported.not_matched == [] and imported.skipped == []
    assert sorted(imported.grades) == [500 + n for n in range(1001, 1012)]  # roster students Moodle numbered
    s01 = rows["s2401001"]  # 15 of 17 points: the hand-graded 2 are still to come
    assert imported.grades[1501] == float(s01["grade"]) == round(100 * float(s01["score"]) / float(s01["max_score"]), 2)
    assert imported.grades[1507] == 0.0  # a zip inside the zip: 0, and the feedback says why
    placed = import_feedback_zip(reports / "moodle_feedback.zip", users)
    assert sorted(placed) == sorted(imported.grades) and placed[1501] == ["03_n.html"]
    assert f"Moodle worksheet:  {reports / 'moodle_grades.csv'}" in stdout
    assert f"Moodle feedback:   {reports / 'moodle_feedback.zip'}" in stdout
    assert "Moodle: s2401012 (" in stdout and "no Moodle participant number" in stdout  # sent nothing: named


def test_plain_folder_with_a_configurable_pattern(tmp_path):
    root = copy_course(tmp_path / "course")
    upload = tmp_path / "canvas"
    upload.mkdir()
    solution = (REPO / "solutions" / "lab03" / "03_n.ipynb").read_bytes()
    (upload / "s1_03_n.ipynb").write_bytes(solution)
    (upload / "s2-late_03_N (1).ipynb").write_bytes(solution)
    (upload / "notes.txt").write_text("hello")
    proc = run_autograder("collect", "lab03", str(upload), "--pattern", r"^(?P<student>s\d+)[-_].*$", cwd=root)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (root / "submitted" / "s1" / "lab03" / "03_n.ipynb").read_bytes() == solution
    assert (root / "submitted" / "s2" / "lab03" / "03_n.ipynb").is_file()
    with open(root / "reports" / "lab03" / "collect.csv", encoding="utf-8") as fh:
        notes = next(r for r in csv.DictReader(fh) if r["file"] == "notes.txt")
    assert notes["status"] == "quarantined" and "cannot tell whose file" in notes["reason"]


def test_not_a_zip_is_a_clear_error(tmp_path):
    root = copy_course(tmp_path / "course")
    bogus = tmp_path / "download.zip"
    bogus.write_text("not a zip")
    proc = run_autograder("collect", "lab03", str(bogus), cwd=root)
    assert proc.returncode == 2 and "not a readable zip" in proc.stdout


def test_late_penalty_configured_in_nbgrader_applies_to_the_score(tmp_path):
    import os
    from datetime import datetime

    root = copy_course(tmp_path / "course")
    with open(root / "nbgrader_config.py", "a", encoding="utf-8") as fh:
        fh.write('\nc.LateSubmissionPlugin.penalty_method = "zero"\n')
    upload = tmp_path / "upload"
    upload.mkdir()
    solution = REPO / "solutions" / "lab03" / "03_n.ipynb"
    for student, when in {"s1": datetime(2026, 7, 14, 12, 0), "s2": datetime(2026, 7, 16, 12, 0)}.items():
        path = upload / f"{student}_03_n.ipynb"
        path.write_bytes(solution.read_bytes())
        os.utime(path, (when.timestamp(), when.timestamp()))
    proc = run_autograder("collect", "lab03", str(upload), "--due", "2026-07-14T23:59", "--timezone", "UTC", cwd=root)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    proc = run_autograder("grade", "lab03", cwd=root)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    with open(root / "reports" / "lab03" / "grades.csv", encoding="utf-8") as fh:
        rows = {r["student_id"]: r for r in csv.DictReader(fh)}
    assert float(rows["s1"]["score"]) == 15 and rows["s1"]["reason"] == ""
    assert float(rows["s2"]["score"]) == 0 and "penalty -15" in rows["s2"]["reason"]

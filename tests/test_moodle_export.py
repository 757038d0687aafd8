"""Moodle's files (report/moodle.py), read back by the rules of Moodle's own importers, ported from mod/assign:

- the grading worksheet: ``assignfeedback_offline_grade_importer`` (feedback/offline/importgradeslib.php:
  columns found by exact header, Identifier minus the length of "Participant " looked up among the
  assignment's participants, unmatched rows skipped silently) and the skip rules of
  ``process_import_grades`` (feedback/offline/locallib.php: empty, negative or above-maximum grades, grades
  modified in Moodle after the sheet's "Last modified (grade)");
- csv_import_reader (lib/csvlib.class.php): a UTF-8 BOM dropped, every row as wide as the header;
- the feedback zip: ``assignfeedback_file_zip_importer::is_valid_filename_for_import``
  (feedback/file/importziplib.php: path parts split at "_" into at most 5, the second a participant number).
"""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pytest

from autograder.course import GradingPolicy
from autograder.intake.roster import Student
from autograder.intake.upload import Participant
from autograder.report.lab_grades import counted_results, lab_grades
from autograder.report.moodle import MOODLE_WORKSHEET_HEADER, moodle_date, write_moodle_files
from autograder.score.results import FAILED, GRADED, MISSING, NotebookResult, QuestionResult

WRITTEN = datetime(2026, 7, 20, 16, 5)


# Moodle's importers, in Python -------------------------------------------------------------------------

class MoodleRejects(Exception):
    """Moodle refuses the whole file (its error 'invalidgradeimport', or csv_import_reader's)."""


def strtotime(text: str) -> float:
    """PHP's strtotime on what Moodle's userdate() writes; False (0) for anything else, such as "-"."""
    try:
        return datetime.strptime(text, "%A, %d %B %Y, %I:%M %p").timestamp()
    except ValueError:
        return 0


def unformat_float(text: str) -> float | None:
    """Moodle's unformat_float: "" stays empty (None); a number in the site's format, else rejected."""
    text = text.strip()
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        return None


@dataclass
class Imported:
    grades: dict[int, float] = field(default_factory=dict)  # user -> grade
    feedback: dict[int, str] = field(default_factory=dict)
    not_matched: list[list[str]] = field(default_factory=list)  # rows whose Identifier matched nobody
    skipped: list[tuple[int, str]] = field(default_factory=list)  # (user, why) by process_import_grades


def import_worksheet(raw: bytes, participants: dict[int, int], max_grade: float,
                     graded_at: dict[int, tuple[float, float]] | None = None, ignoremodified: bool = False) -> Imported:
    """``participants``: uniqueid (the N of "Participant N") -> user id; ``graded_at``: user -> (grade, time)."""
    graded_at = graded_at or {}
    text = raw.decode("utf-8")
    text = text.removeprefix("\ufeff")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    columns = rows[0]
    if len(set(columns)) != len(columns) or any(not c for c in columns):
        raise MoodleRejects("duplicate or empty column name")
    if any(len(r) != len(columns) for r in rows[1:]):
        raise MoodleRejects("csvweirdcolumns")
    index = {name: -1 for name in ("Identifier", "Grade", "Last modified (grade)")}
    feedback_index = -1
    for i, column in enumerate(columns):
        if column in index:
            index[column] = i
        if column == "Feedback comments":  # assignfeedback_comments' editor field
            feedback_index = i
    if min(index.values()) < 0:
        raise MoodleRejects("invalidgradeimport")
    out = Imported()
    for record in rows[1:]:
        uniqueid = record[index["Identifier"]][len("Participant "):]
        user = participants.get(int(uniqueid)) if uniqueid.isdigit() else None
        if user is None:
            out.not_matched.append(record)
            continue
        grade = unformat_float(record[index["Grade"]])
        modified = strtotime(record[index["Last modified (grade)"]])
        current = graded_at.get(user)
        stale = current is not None and current[1] > modified + 60
        if current is not None and current[0] == grade:
            out.skipped.append((user, "grade not modified"))
        elif grade is None or grade < 0:
            out.skipped.append((user, "no grade"))
        elif not ignoremodified and stale:
            out.skipped.append((user, "modified in Moodle since"))
        elif grade > max_grade:
            out.skipped.append((user, "out of range"))
        else:
            out.grades[user] = grade
        if (ignoremodified or not stale) and feedback_index > 0:  # Moodle's !empty($details['index'])
            out.feedback[user] = record[feedback_index]
    return out


def import_feedback_zip(path: Path, participants: dict[int, int]) -> dict[int, list[str]]:
    """User -> the feedback file names Moodle stores for them; a file it cannot place raises."""
    placed: dict[int, list[str]] = {}
    with zipfile.ZipFile(path) as zf:
        for info in zf.infolist():
            if info.is_dir():
                continue
            name = info.filename.rsplit("/", 1)[-1]
            assert not name.startswith((".", "~")), info.filename  # Moodle ignores these
            parts = info.filename.split("/")
            while parts:
                info_parts = parts.pop(0).split("_", 4)
                if len(info_parts) < 4 or not info_parts[1].isdigit():
                    continue
                user = participants.get(int(info_parts[1]))
                if user is None or (info_parts[2], info_parts[3]) != ("assignsubmission", "file"):
                    continue
                placed.setdefault(user, []).append("/".join([info_parts[4] if len(info_parts) > 4 else "", *parts])
                                                   .lstrip("/"))
                break
            else:
                raise AssertionError(f"Moodle would not import {info.filename}")
    return placed


# The class ---------------------------------------------------------------------------------------------

def result(student: str, notebook: str, status: str, score: float = 0.0, pending: bool = False) -> NotebookResult:
    maximum = {"03_n": 15.0, "03_h": 17.0}[notebook]
    questions = [QuestionResult("test_conv", score, maximum - 3.0 if pending else maximum)]
    if pending:
        questions.append(QuestionResult("q_explain", 0.0, 3.0, needs_manual_grade=True))
    reason = {MISSING: "提出なし / not submitted", FAILED: "採点できませんでした / grading failed"}.get(status, "")
    return NotebookResult(student, "lab03", notebook, status, score, maximum, reason,
                          questions=questions if status == GRADED else [])


RESULTS = [
    result("s01", "03_n", GRADED, 12.0, pending=True), result("s01", "03_h", MISSING),
    result("s02", "03_n", MISSING), result("s02", "03_h", GRADED, 8.5),
    result("s03", "03_n", GRADED, 15.0), result("s03", "03_h", GRADED, 17.0),
    result("s04", "03_n", FAILED), result("s04", "03_h", MISSING),
    result("s05", "03_n", MISSING), result("s05", "03_h", MISSING),  # sent nothing: not in Moodle's zip
    result("s07", "03_n", GRADED, 15.0), result("s07", "03_h", MISSING),  # Moodle knows them, the roster does not
]
ROSTER = [Student("s01", "山田", "太郎", "taro@example.ac.jp"), Student("s02", "佐藤", "花子_B", "hanako@example.ac.jp"),
          Student("s03", "鈴木", "一郎", ""), Student("s04", "田中", "健太", "kenta@example.ac.jp"),
          Student("s05", "加藤", "陽菜", "hina@example.ac.jp")]
PARTICIPANTS = {  # from the zip's folder names: "<name>_<N>_assignsubmission_file_"
    "s01": Participant("s01", "1001", "山田 太郎", datetime(2026, 7, 14, 20, 0)),
    "s02": Participant("s02", "1002", "佐藤 花子_B", datetime(2026, 7, 15, 9, 30)),
    "s03": Participant("s03", "1003", "鈴木 一郎", None),
    "s04": Participant("s04", "1004", "田中 健太", datetime(2026, 7, 14, 8, 0)),
    "s07": Participant("s07", "1099", "松本 悠真", datetime(2026, 7, 14, 8, 0)),
}
MOODLE_USERS = {1001: 501, 1002: 502, 1003: 503, 1004: 504, 1005: 505, 1099: 599}  # uniqueid -> user id


@pytest.fixture
def export(tmp_path):
    grades = lab_grades(RESULTS, GradingPolicy())
    counted = counted_results(grades)
    for r in counted:  # the feedback pages grade_lab wrote
        if r.student_id != "s04":
            r.feedback = tmp_path / "feedback" / r.student_id / "lab03" / f"{r.notebook}.html"
            r.feedback.parent.mkdir(parents=True, exist_ok=True)
            r.feedback.write_text(f"<html>{r.student_id}</html>", encoding="utf-8")
    return write_moodle_files(grades, counted, ROSTER, PARTICIPANTS, tmp_path / "reports" / "lab03", written=WRITTEN)


def sheet(export) -> list[dict]:
    raw = export.worksheet.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    assert rows[0] == MOODLE_WORKSHEET_HEADER
    return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


# Tests -------------------------------------------------------------------------------------------------

def test_moodle_imports_every_row_of_the_worksheet_and_skips_none(export):
    imported = import_worksheet(export.worksheet.read_bytes(), MOODLE_USERS, max_grade=100)
    assert imported.not_matched == [] and imported.skipped == []
    assert imported.grades == {501: 80.0, 502: 50.0, 503: 100.0, 504: 0.0}  # one grade per lab, out of 100


def test_one_row_per_numbered_roster_student_in_roster_order(export):
    rows = sheet(export)
    assert [r["Identifier"] for r in rows] == ["Participant 1001", "Participant 1002", "Participant 1003",
                                               "Participant 1004"]  # s05: no number; s07: not on the roster
    assert [r["Full name"] for r in rows][:2] == ["山田 太郎", "佐藤 花子_B"]  # Moodle's spelling
    assert {r["Maximum Grade"] for r in rows} == {"100"} and {r["Grade can be changed"] for r in rows} == {"Yes"}


def test_status_and_dates_in_moodles_own_forms(export):
    rows = {r["Identifier"]: r for r in sheet(export)}
    assert rows["Participant 1003"]["Status"] == "Submitted for grading - Graded"
    assert rows["Participant 1001"]["Status"] == "Submitted for grading"  # hand grading still to come
    assert rows["Participant 1002"]["Last modified (submission)"] == "Wednesday, 15 July 2026, 9:30 AM"
    assert rows["Participant 1003"]["Last modified (submission)"] == "-"
    assert {r["Last modified (grade)"] for r in rows.values()} == {"Monday, 20 July 2026, 4:05 PM"}
    assert strtotime(moodle_date(WRITTEN)) == WRITTEN.timestamp()


def test_feedback_comments_name_the_notebook_that_counted(export):
    imported = import_worksheet(export.worksheet.read_bytes(), MOODLE_USERS, max_grade=100)
    assert imported.feedback[502].startswith("03_h.ipynb: 8.5/17 → 50/100 (graded)")
    assert "not counted: 03_n.ipynb (15/15)" in imported.feedback[503]  # both full marks: the hard one counts
    assert "awaiting hand grading 3 pt" in imported.feedback[501]
    assert "grading failed" in imported.feedback[504]
    assert all("\n" not in text for text in imported.feedback.values())


def test_a_student_moodle_has_no_number_for_is_named_not_silently_dropped(export):
    assert any(p.startswith("s05 (加藤 陽菜): ") and "no Moodle participant number" in p for p in export.problems)
    assert export.problems[1:] == ["s04: フィードバックのページがありません / no feedback page for 03_n"]  # named too


def test_moodle_skips_a_grade_above_the_assignments_maximum(export):
    # the rule the lab scale must respect: an assignment left at a maximum of 50 loses the grades above it
    imported = import_worksheet(export.worksheet.read_bytes(), MOODLE_USERS, max_grade=50)
    assert (501, "out of range") in imported.skipped and 502 in imported.grades


def test_a_grade_changed_in_moodle_after_the_sheet_needs_the_teachers_tick(export):
    later = WRITTEN.timestamp() + 3600
    imported = import_worksheet(export.worksheet.read_bytes(), MOODLE_USERS, 100, graded_at={503: (90.0, later)})
    assert (503, "modified in Moodle since") in imported.skipped
    forced = import_worksheet(export.worksheet.read_bytes(), MOODLE_USERS, 100, graded_at={503: (90.0, later)},
                              ignoremodified=True)
    assert forced.grades[503] == 100.0


def test_the_feedback_zip_gives_each_student_their_page(export):
    placed = import_feedback_zip(export.feedback_zip, MOODLE_USERS)
    assert placed == {501: ["03_n.html"], 502: ["03_h.html"], 503: ["03_h.html"]}  # s04 has no page
    with zipfile.ZipFile(export.feedback_zip) as zf:
        names = zf.namelist()
        assert "佐藤 花子 B_1002_assignsubmission_file_/03_h.html" in names  # "_" in a name would move the number
        assert zf.read("山田 太郎_1001_assignsubmission_file_/03_n.html") == b"<html>s01</html>"


def test_the_gradebook_csv_has_every_roster_student(export):
    rows = list(csv.DictReader(io.StringIO(export.gradebook_csv.read_text(encoding="utf-8-sig"))))
    assert [(r["ID number"], r["Grade"]) for r in rows] == [("s01", "80"), ("s02", "50"), ("s03", "100"),
                                                            ("s04", "0"), ("s05", "0")]
    assert rows[2]["Email address"] == "no-email:s03"  # never empty: Moodle would give it the row above's user
    assert "03_n.ipynb" in rows[4]["Feedback comments"] and "03_h.ipynb" in rows[4]["Feedback comments"]


def test_without_participant_numbers_no_worksheet_is_written_and_it_says_why(tmp_path):
    grades = lab_grades(RESULTS, GradingPolicy())
    out = tmp_path / "reports" / "lab03"
    out.mkdir(parents=True)
    (out / "moodle_grades.csv").write_text("stale", encoding="utf-8")
    export = write_moodle_files(grades, counted_results(grades), ROSTER, {}, out, written=WRITTEN)
    assert export.worksheet is None and export.feedback_zip is None
    assert not (out / "moodle_grades.csv").exists()  # a stale sheet would import old grades
    assert export.gradebook_csv.is_file()
    assert "no Moodle participant numbers" in export.problems[0] and "moodle_gradebook.csv" in export.problems[0]

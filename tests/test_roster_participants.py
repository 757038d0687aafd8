"""Moodle participant numbers from the roster, for students Moodle's submissions zip does not name (nothing
submitted, or submissions collected from a folder): a ``participant`` column (ours, or the "Identifier" of the
assignment's own grading worksheet, "Participant 1234") for every lab, ``participant_<lab>`` for one lab.
"""

from __future__ import annotations

import csv
from datetime import datetime
from pathlib import Path

import pytest

from autograder.course import Course
from autograder.intake.roster import RosterError, Student, load_roster, read_roster, save_roster
from autograder.intake.upload import PARTICIPANTS_FILE, Participant, read_participants


def _csv(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_roster_reads_participant_columns(tmp_path):
    students = read_roster(_csv(tmp_path / "r.csv",
                                "id,family_name,given_name,email,Identifier,participant_lab03\n"
                                "s1,Sato,Hana,s1@x,Participant 1001,2001\n"
                                "s2,Ito,Ken,s2@x,1002,\n"
                                "s3,Abe,Mai,s3@x,,\n"))
    by_id = {s.id: s for s in students}
    assert by_id["s1"].participant_number("lab03") == "2001"  # the lab's own column first
    assert by_id["s1"].participant_number("lab04") == "1001"
    assert by_id["s2"].participant_number("lab03") == "1002"
    assert by_id["s3"].participant_number("lab03") == ""


@pytest.mark.parametrize(("rows", "message"), [
    ("s1,Sato,Hana,s1@x,P-1001\n", "'P-1001' is not a Moodle participant number"),
    ("s1,Sato,Hana,s1@x,1001\ns2,Ito,Ken,s2@x,Participant 1001\n", "participant number 1001"),
])
def test_bad_participant_numbers_are_refused_with_the_line(tmp_path, rows, message):
    path = _csv(tmp_path / "r.csv", "id,family_name,given_name,email,participant\n" + rows)
    with pytest.raises(RosterError, match=message) as error:
        read_roster(path)
    assert "line" in str(error.value)


def test_saved_roster_keeps_numbers_and_a_later_import_without_them_loses_none(tmp_path):
    saved = tmp_path / "roster.csv"
    save_roster(saved, [Student("s1", "Sato", "Hana", "s1@x", (("", "1001"), ("lab03", "2001"))),
                        Student("s2", "Ito", "Ken", "s2@x")])
    assert {s.id: s.participants for s in load_roster(saved)} == {
        "s1": (("", "1001"), ("lab03", "2001")), "s2": ()}
    save_roster(saved, [Student("s1", "Satō", "Hana", "new@x"), Student("s2", "Ito", "Ken", "s2@x", (("lab03", "7",),))])
    after = {s.id: s for s in load_roster(saved)}
    assert after["s1"].email == "new@x" and after["s1"].participant_number("lab03") == "2001"
    assert after["s2"].participant_number("lab03") == "7" and after["s2"].participant_number("lab01") == ""


def test_zip_numbers_first_then_the_roster(tmp_path):
    course = Course(tmp_path)
    save_roster(course.roster_path, [
        Student("s1", "Sato", "Hana", "s1@x", (("", "9"),)),  # the zip names s1: its number counts
        Student("s2", "Ito", "Ken", "s2@x", (("", "1002"),)),  # not in the zip: the roster's number
        Student("s3", "Abe", "Mai", "s3@x", (("", "1001"),)),  # the zip gave 1001 to s1: not used
        Student("s4", "Ono", "Rin", "s4@x"),  # no number anywhere
    ])
    zip_numbers = course.reports_dir / "lab03" / PARTICIPANTS_FILE
    zip_numbers.parent.mkdir(parents=True)
    with zip_numbers.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([["student_id", "participant", "name", "submitted"],
                                  ["s1", "1001", "佐藤 花", "2026-07-20T10:00:00+09:00"]])
    found = read_participants(course, "lab03")
    assert found == {
        "s1": Participant("s1", "1001", "佐藤 花", datetime.fromisoformat("2026-07-20T10:00:00+09:00")),
        "s2": Participant("s2", "1002", "Ito Ken"),
    }


def test_roster_numbers_without_any_zip(tmp_path):
    course = Course(tmp_path)
    save_roster(course.roster_path, [Student("s1", "Sato", "Hana", "s1@x", (("lab03", "55"),))])
    assert read_participants(course, "lab03") == {"s1": Participant("s1", "55", "Sato Hana")}
    assert read_participants(course, "lab04") == {}

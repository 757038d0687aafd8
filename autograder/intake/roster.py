"""The class roster: read it from a CSV or Moodle's participants export, and match the names
Moodle puts in submission file names. The roster is kept in nbgrader's gradebook (its students
table; see autograder.score.gradebook)."""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path


class RosterError(Exception):
    """A roster file that cannot be read as one."""


@dataclass(frozen=True)
class Student:
    id: str
    family_name: str = ""
    given_name: str = ""
    email: str = ""
    # Moodle participant numbers from the roster: (lab, number) pairs, lab "" for a number that holds for
    # every lab (Moodle numbers participants per assignment, so that fits a course with one numbering).
    participants: tuple[tuple[str, str], ...] = ()

    @property
    def full_name(self) -> str:
        return f"{self.family_name} {self.given_name}".strip()

    def participant_number(self, lab: str) -> str:
        """The roster's Moodle participant number of this student for ``lab``: its own column first, then the
        column for every lab; "" without one."""
        numbers = dict(self.participants)
        return numbers.get(lab) or numbers.get("", "")


# Column names accepted for each field: our CSV, then Moodle's participants export (English and Japanese UI).
_COLUMNS = {
    "id": ["id", "student_id", "ID number", "ID番号", "IDナンバー"],
    "family_name": ["family_name", "Last name", "Surname", "姓"],
    "given_name": ["given_name", "First name", "名"],
    "email": ["email", "Email address", "メールアドレス"],
}
# Moodle participant numbers (the "Participant N" of the assignment's grading worksheet), for every lab: our
# column, Moodle's worksheet "Identifier" (English and Japanese UI); or for one lab: ``participant_<lab>``.
_PARTICIPANT_COLUMNS = ["participant", "Participant number", "Identifier", "識別子", "参加者番号"]
_LAB_PARTICIPANT_COLUMN = re.compile(r"^participant_(?P<lab>\w+)$")
_PARTICIPANT_VALUE = re.compile(r"^(?:Participant|参加者)?\s*(?P<number>\d+)$")


def name_key(name: str) -> str:
    """A name as compared: NFKC (full-width to half-width), no spaces of any width, case-folded."""
    return "".join(unicodedata.normalize("NFKC", name).split()).casefold()


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "cp932"):  # Excel on Japanese Windows saves CSV as CP932
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise RosterError("roster is neither UTF-8 nor CP932 text")


def read_roster(path: Path) -> list[Student]:
    """Students from a roster CSV: ``id,family_name,given_name,email`` or Moodle's participants export."""
    rows = list(csv.DictReader(io.StringIO(_decode(Path(path).read_bytes()))))
    if not rows:
        raise RosterError(f"{path}: no students")
    header = {h.strip(): h for h in rows[0] if h}
    columns = {}
    for field, names in _COLUMNS.items():
        columns[field] = next((header[n] for n in names if n in header), None)
    if columns["id"] is None:
        raise RosterError(f"{path}: no student id column (one of: {', '.join(_COLUMNS['id'])})")
    participant_columns = _participant_columns(header)
    students, seen = [], set()
    numbers: dict[tuple[str, str], str] = {}  # (lab, number) -> student id: a number names one student
    for line, row in enumerate(rows, start=2):
        sid = (row.get(columns["id"]) or "").strip()
        if not sid:
            raise RosterError(f"{path}, line {line}: empty student id")
        if sid in seen:
            raise RosterError(f"{path}, line {line}: student id {sid!r} appears twice")
        seen.add(sid)
        participants = []
        for lab, column in participant_columns:
            number = _participant_number(row.get(column), f"{path}, line {line}, column {column!r}")
            if not number:
                continue
            if (lab, number) in numbers:
                raise RosterError(f"{path}, line {line}: participant number {number} in column {column!r} is also "
                                  f"{numbers[lab, number]}'s (Moodle would give both the same grade row)")
            numbers[lab, number] = sid
            participants.append((lab, number))
        students.append(Student(sid, *((row.get(columns[f]) or "").strip() if columns[f] else "" for f in
                                       ("family_name", "given_name", "email")), tuple(participants)))
    return students


def _participant_columns(header: dict[str, str]) -> list[tuple[str, str]]:
    """(lab, column) of the roster's participant-number columns: lab "" for the column for every lab (the first
    of _PARTICIPANT_COLUMNS present), then one per ``participant_<lab>`` column."""
    found = [("", header[n]) for n in _PARTICIPANT_COLUMNS if n in header][:1]
    found += [(m.group("lab"), header[h]) for h in header if (m := _LAB_PARTICIPANT_COLUMN.match(h))]
    return found


def _participant_number(value: str | None, where: str) -> str:
    """The number of a participant cell: "1234", "Participant 1234" (Moodle's Identifier) or empty ("")."""
    value = unicodedata.normalize("NFKC", value or "").strip()
    if not value:
        return ""
    match = _PARTICIPANT_VALUE.match(value)
    if not match:
        raise RosterError(f"{where}: {value!r} is not a Moodle participant number (1234 or 'Participant 1234')")
    return match.group("number")


_SAVED_HEADER = ["id", "family_name", "given_name", "email"]


def save_roster(path: Path, students: list[Student]) -> list[Student]:
    """Add ``students`` to the course's roster file (``path``, our CSV), updating those already there by id.

    Nobody is removed (as nbgrader's update_or_create_student), and no participant number either: a file
    without a lab's column keeps the numbers an earlier import gave. Returns the whole roster, in file order.
    Written to a temporary file first and then renamed, so an interrupted import leaves the old roster whole.
    """
    merged = {s.id: s for s in (load_roster(path) or [])}
    for s in students:
        old = merged.get(s.id)
        kept = dict(old.participants) if old else {}
        merged[s.id] = Student(s.id, s.family_name, s.given_name, s.email,
                               tuple({**kept, **dict(s.participants)}.items()))
    labs = sorted({lab for s in merged.values() for lab, _ in s.participants})
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(_SAVED_HEADER + [f"participant_{lab}" if lab else "participant" for lab in labs])
        for s in merged.values():
            numbers = dict(s.participants)
            writer.writerow([s.id, s.family_name, s.given_name, s.email, *(numbers.get(lab, "") for lab in labs)])
    tmp.replace(path)
    return list(merged.values())


def load_roster(path: Path) -> list[Student] | None:
    """The students of the course's roster file, in order; None when no roster was imported."""
    if not path.is_file():
        return None
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        columns = [("" if h == "participant" else m.group("lab"), h) for h in reader.fieldnames or []
                   if h == "participant" or (m := _LAB_PARTICIPANT_COLUMN.match(h))]
        return [Student(row["id"], row["family_name"], row["given_name"], row["email"],
                        tuple((lab, row[h]) for lab, h in columns if row.get(h))) for row in reader]


@dataclass(frozen=True)
class Roster:
    students: tuple[Student, ...]

    def by_id(self, student_id: str) -> Student | None:
        return next((s for s in self.students if s.id == student_id), None)

    def by_name(self, name: str) -> Student | None:
        """The one student whose name (family-given or given-family) is ``name``; None if none or ambiguous."""
        key = name_key(name)
        hits = [
            s for s in self.students
            if s.family_name or s.given_name
            if key in (name_key(s.family_name + s.given_name), name_key(s.given_name + s.family_name))
        ]
        return hits[0] if len(hits) == 1 else None

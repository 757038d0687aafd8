"""The class roster: read it from a CSV or Moodle's participants export, and match the names
Moodle puts in submission file names. The roster is kept in nbgrader's gradebook (its students
table; see autograder.score.gradebook)."""

from __future__ import annotations

import csv
import io
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

    @property
    def full_name(self) -> str:
        return f"{self.family_name} {self.given_name}".strip()


# Column names accepted for each field: our CSV, then Moodle's participants export (English and Japanese UI).
_COLUMNS = {
    "id": ["id", "student_id", "ID number", "ID番号", "IDナンバー"],
    "family_name": ["family_name", "Last name", "Surname", "姓"],
    "given_name": ["given_name", "First name", "名"],
    "email": ["email", "Email address", "メールアドレス"],
}


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
    students, seen = [], set()
    for line, row in enumerate(rows, start=2):
        sid = (row.get(columns["id"]) or "").strip()
        if not sid:
            raise RosterError(f"{path}, line {line}: empty student id")
        if sid in seen:
            raise RosterError(f"{path}, line {line}: student id {sid!r} appears twice")
        seen.add(sid)
        students.append(Student(sid, *((row.get(columns[f]) or "").strip() if columns[f] else "" for f in
                                       ("family_name", "given_name", "email"))))
    return students


_SAVED_HEADER = ["id", "family_name", "given_name", "email"]


def save_roster(path: Path, students: list[Student]) -> list[Student]:
    """Add ``students`` to the course's roster file (``path``, our CSV), updating those already there by id.

    Nobody is removed (as nbgrader's update_or_create_student). Returns the whole roster, in file order.
    Written to a temporary file first and then renamed, so an interrupted import leaves the old roster whole.
    """
    merged = {s.id: s for s in (load_roster(path) or [])}
    merged.update({s.id: s for s in students})
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(_SAVED_HEADER)
        for s in merged.values():
            writer.writerow([s.id, s.family_name, s.given_name, s.email])
    tmp.replace(path)
    return list(merged.values())


def load_roster(path: Path) -> list[Student] | None:
    """The students of the course's roster file, in order; None when no roster was imported."""
    if not path.is_file():
        return None
    with path.open(encoding="utf-8", newline="") as fh:
        return [Student(row["id"], row["family_name"], row["given_name"], row["email"]) for row in csv.DictReader(fh)]


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

"""A class's upload in: Moodle's "Download all submissions" zip, or a plain folder of files,
sorted into nbgrader's ``submitted/<student>/<lab>/<notebook>.ipynb`` tree.

Every file of the upload ends in exactly one place: submitted/ (the attempt that is graded), or
quarantine/ with its reason (older attempts, files that are not this lab's notebooks). The
collect report lists each file's fate, and its counts add up to the files in the upload.
"""

from __future__ import annotations

import csv
import re
import shutil
import zipfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path, PurePosixPath
from zoneinfo import ZoneInfo

from autograder.course import Course
from autograder.intake.naming import notebook_for, parse_notebook_name
from autograder.intake.roster import Roster, load_roster
from autograder.intake.submissions import TIMESTAMP_FILE

# "<participant name>_<participant id>_assignsubmission_file_<file>", or the same as a folder name
_MOODLE_PART = re.compile(r"^(?P<name>.+)_(?P<pid>\d+)_assignsubmission_(?P<plugin>[a-z]+)_?(?P<rest>.*)$")
DEFAULT_FOLDER_PATTERN = r"^(?P<student>[^_]+)_.*$"

COLLECTED, SUPERSEDED, QUARANTINED = "collected", "superseded", "quarantined"


class UploadError(Exception):
    """The upload itself cannot be read (not a zip, no such folder)."""


@dataclass(frozen=True)
class UploadedFile:
    """One file of a class's upload, with whatever its name says about who sent it."""

    origin: str  # path inside the zip, or relative to the folder
    filename: str  # the student's own file name
    data: bytes
    timestamp: datetime | None
    participant: str = ""  # Moodle's participant name, or the id taken from a file name
    participant_id: str = ""


@dataclass
class Decision:
    """What collect did with one uploaded file."""

    file: UploadedFile
    status: str
    student_id: str = ""
    notebook: str = ""
    reason: str = ""
    saved_to: Path | None = None
    seconds_late: float = 0.0


@dataclass
class CollectReport:
    lab: str
    decisions: list[Decision] = field(default_factory=list)
    not_on_roster: list[str] = field(default_factory=list)
    without_submission: list[str] = field(default_factory=list)
    report_csv: Path | None = None

    def count(self, status: str) -> int:
        return sum(d.status == status for d in self.decisions)


# ------------------------------------------------------------------ reading


def _entry_name(info: zipfile.ZipInfo) -> str:
    """The entry's real name: zip tools on Japanese Windows write CP932 without the UTF-8 flag."""
    if info.flag_bits & 0x800:
        return info.filename
    raw = info.filename.encode("cp437")
    for encoding in ("utf-8", "cp932"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return info.filename


def read_moodle_zip(path: Path, timezone: str = "Asia/Tokyo") -> list[UploadedFile]:
    """Every file in a Moodle "Download all submissions" zip (flat or one folder per student)."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise UploadError(f"{path}: not a readable zip file ({exc})") from exc
    tz = ZoneInfo(timezone)
    files = []
    with archive:
        for info in archive.infolist():
            if info.is_dir():
                continue
            name = _entry_name(info)
            parts = PurePosixPath(name).parts
            participant = pid = ""
            filename = parts[-1]
            for i, part in enumerate(parts):
                match = _MOODLE_PART.match(part)
                if match:
                    participant, pid = match.group("name"), match.group("pid")
                    rest = "/".join([match.group("rest"), *parts[i + 1:]]).strip("/")
                    filename = rest or filename
                    break
            files.append(UploadedFile(name, filename, archive.read(info), datetime(*info.date_time, tzinfo=tz),
                                      participant, pid))
    return files


def read_folder(path: Path, pattern: str = DEFAULT_FOLDER_PATTERN, timezone: str = "Asia/Tokyo") -> list[UploadedFile]:
    """Every file in a folder of ``<student_id>_<anything>`` files (the pattern's ``student`` group)."""
    if not Path(path).is_dir():
        raise UploadError(f"{path}: no such folder")
    regex = re.compile(pattern)
    if "student" not in regex.groupindex:
        raise UploadError(f"--pattern must have a named group (?P<student>...): {pattern}")
    tz = ZoneInfo(timezone)
    files = []
    for file in sorted(p for p in Path(path).rglob("*") if p.is_file()):
        match = regex.match(file.name)
        student = match.group("student") if match else ""
        files.append(UploadedFile(str(file.relative_to(path)), file.name, file.read_bytes(),
                                  datetime.fromtimestamp(file.stat().st_mtime, tz), student, ""))
    return files


# ------------------------------------------------------------------ sorting


def _problem(file: UploadedFile, lab: str, notebooks: list[str]) -> str:
    """Why this file is not one of the lab's notebooks ("" if it is), said so that the student knows what
    they sent and what to send instead (it is shown to them in their feedback)."""
    suffix = PurePosixPath(file.filename.lower()).suffix
    expected = " / ".join(f"{n}.ipynb" for n in notebooks)
    if suffix == ".zip":
        return ("zip の中の zip です: 展開してノートブックそのものを提出してください / a zip inside the zip: "
                f"you uploaded a zip ({file.filename}); upload the notebook itself ({expected})")
    if suffix != ".ipynb":
        return (f"ノートブックではありません / not a notebook: {suffix or 'no extension'} file ({file.filename}); "
                f"Jupyter の File > Download で .ipynb を保存して提出してください / upload the .ipynb file "
                f"(Jupyter: File > Download): {expected}")
    if not file.data.strip():
        return (f"空のファイルです / empty file ({file.filename}): Jupyter で保存してから提出し直してください / "
                "save the notebook in Jupyter, then upload it again")
    if notebook_for(file.filename, notebooks) is None:
        parsed = parse_notebook_name(file.filename)
        if parsed:
            return (f"別の回のノートブックです / a notebook for another lab: {parsed[0]:02d}_{parsed[1]} "
                    f"(your file was named {file.filename}); この回は {expected} を提出してください / "
                    f"for {lab}, upload {expected}")
        return (f"ファイル名が課題と一致しません / file name matches no notebook of {lab}: your file was named "
                f"{file.filename}; {expected} という名前で提出してください / upload it as {expected}")
    return ""


def _student_of(file: UploadedFile, roster: Roster) -> tuple[str, bool]:
    """(student id, on the roster?) for a file, "" if the file says nothing about its sender."""
    if not file.participant:
        return "", False
    if file.participant_id:  # Moodle: match the participant's name against the roster
        student = roster.by_name(file.participant)
        return (student.id, True) if student else (f"moodle-{file.participant_id}", False)
    return file.participant, roster.by_id(file.participant) is not None


def _safe(name: str) -> str:
    return re.sub(r"[^\w.\-()]+", "_", name).strip("._") or "file"


def _quarantine(course: Course, lab: str, decision: Decision) -> Path:
    folder = course.quarantine_dir / lab / (decision.student_id or "_unattributed")
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / _safe(decision.file.filename)
    n = 1
    while target.exists():
        target = folder / f"{n}-{_safe(decision.file.filename)}"
        n += 1
    target.write_bytes(decision.file.data)
    return target


def collect_upload(
    course: Course,
    lab: str,
    files: list[UploadedFile],
    roster: Roster,
    *,
    due: datetime | None = None,
) -> CollectReport:
    """Sort ``files`` into submitted/ and quarantine/ for ``lab``; write reports/<lab>/collect.csv."""
    notebooks = course.notebooks(lab)
    report = CollectReport(lab)
    candidates: dict[tuple[str, str], list[Decision]] = {}
    for file in files:
        student_id, on_roster = _student_of(file, roster)
        decision = Decision(file, QUARANTINED, student_id)
        if not student_id:
            decision.reason = "誰の提出か分かりません / cannot tell whose file this is (name does not follow the pattern)"
        else:
            if not on_roster and roster.students and student_id not in report.not_on_roster:
                report.not_on_roster.append(student_id)
            decision.reason = _problem(file, lab, notebooks)
            if not decision.reason:
                decision.notebook = notebook_for(file.filename, notebooks)
                candidates.setdefault((student_id, decision.notebook), []).append(decision)
        report.decisions.append(decision)

    for attempts in candidates.values():
        attempts.sort(key=lambda d: (d.file.timestamp or datetime.min.replace(tzinfo=ZoneInfo("UTC")), d.file.origin))
        latest = attempts[-1]
        latest.status = COLLECTED
        if due and latest.file.timestamp and latest.file.timestamp > due:
            latest.seconds_late = (latest.file.timestamp - due).total_seconds()
        for older in attempts[:-1]:
            older.status = SUPERSEDED
            older.reason = (f"古い提出です / older attempt: {latest.file.filename} "
                            f"({latest.file.timestamp:%Y-%m-%d %H:%M}) is graded instead")
        if len(attempts) > 1:
            latest.reason = f"{len(attempts)} 件の提出のうち最新 / latest of {len(attempts)} attempts"

    _write(course, lab, report)
    students_with_files = {d.student_id for d in report.decisions if d.status == COLLECTED}
    report.without_submission = sorted(s.id for s in roster.students if s.id not in students_with_files)
    report.report_csv = _write_report(course, lab, report)
    write_participants(course, lab, report)
    return report


PARTICIPANTS_FILE = "moodle_participants.csv"


@dataclass(frozen=True)
class Participant:
    """A student as Moodle's assignment knows them: its participant number and name, and the upload's time."""

    student_id: str
    number: str  # Moodle's per-assignment participant number: "Participant <number>"
    name: str  # Moodle's spelling of the full name
    submitted: datetime | None = None


def write_participants(course: Course, lab: str, report: CollectReport) -> Path | None:
    """``reports/<lab>/moodle_participants.csv``: each student's Moodle participant number, from the zip's names.

    The numbers are what Moodle's grading worksheet and feedback zip need (they differ per assignment).
    An upload without them (a plain folder) removes an old file, so that no stale number is used.
    """
    path = course.reports_dir / lab / PARTICIPANTS_FILE
    seen: dict[str, Participant] = {}
    for d in report.decisions:
        if d.student_id and d.file.participant_id:
            latest = seen.get(d.student_id)
            stamp = d.file.timestamp
            if latest is None or (stamp and (latest.submitted is None or stamp > latest.submitted)):
                seen[d.student_id] = Participant(d.student_id, d.file.participant_id, d.file.participant, stamp)
    if not seen:
        path.unlink(missing_ok=True)
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["student_id", "participant", "name", "submitted"])
        for p in seen.values():
            writer.writerow([p.student_id, p.number, p.name, p.submitted.isoformat() if p.submitted else ""])
    return path


def quarantined_uploads(course: Course, lab: str, student: str) -> list[tuple[str, str]]:
    """(file name, why it was not graded) of each of ``student``'s uploads that ``collect`` set aside for ``lab``:
    really set aside, not older attempts (from reports/<lab>/collect.csv; [] without it)."""
    path = course.reports_dir / lab / "collect.csv"
    if not path.is_file():
        return []
    with path.open(encoding="utf-8", newline="") as fh:
        return [(PurePosixPath(row["file"]).name, row["reason"]) for row in csv.DictReader(fh)
                if row["student_id"] == student and row["status"] == QUARANTINED]


def read_participants(course: Course, lab: str) -> dict[str, Participant]:
    """student id -> :class:`Participant` for ``lab``: as ``collect`` recorded them from Moodle's zip, then, for
    a roster student the zip does not name, the participant number of the roster (its ``participant_<lab>`` or
    ``participant`` column); a roster number that the zip gives to someone else is not used."""
    path = course.reports_dir / lab / PARTICIPANTS_FILE
    found: dict[str, Participant] = {}
    if path.is_file():
        with path.open(encoding="utf-8", newline="") as fh:
            found = {row["student_id"]: Participant(
                row["student_id"], row["participant"], row["name"],
                datetime.fromisoformat(row["submitted"]) if row["submitted"] else None) for row in csv.DictReader(fh)}
    taken = {p.number for p in found.values()}
    for student in load_roster(course.roster_path) or []:
        number = student.participant_number(lab)
        if number and student.id not in found and number not in taken:
            found[student.id] = Participant(student.id, number, student.full_name)
    return found


def _write(course: Course, lab: str, report: CollectReport) -> None:
    """Replace this lab's submitted/ and quarantine/ folders with the decisions' files."""
    for student in {d.student_id for d in report.decisions if d.student_id}:
        stale = course.submitted_dir / student / lab
        if stale.exists():
            shutil.rmtree(stale)
    if (course.quarantine_dir / lab).exists():
        shutil.rmtree(course.quarantine_dir / lab)
    for decision in report.decisions:
        if decision.status == COLLECTED:
            folder = course.submitted_dir / decision.student_id / lab
            folder.mkdir(parents=True, exist_ok=True)
            decision.saved_to = folder / f"{decision.notebook}.ipynb"
            decision.saved_to.write_bytes(decision.file.data)
            if decision.file.timestamp:
                (folder / TIMESTAMP_FILE).write_text(decision.file.timestamp.isoformat(sep=" "))
        else:
            decision.saved_to = _quarantine(course, lab, decision)
            if decision.student_id:  # the student still shows in the grade table, as not submitted
                (course.submitted_dir / decision.student_id / lab).mkdir(parents=True, exist_ok=True)


def _write_report(course: Course, lab: str, report: CollectReport) -> Path:
    path = course.reports_dir / lab / "collect.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["file", "participant", "student_id", "status", "notebook", "timestamp", "seconds_late",
                         "reason", "saved_to"])
        for d in report.decisions:
            writer.writerow([d.file.origin, d.file.participant, d.student_id, d.status, d.notebook,
                             d.file.timestamp.isoformat() if d.file.timestamp else "", f"{d.seconds_late:g}",
                             d.reason, str(d.saved_to.relative_to(course.root)) if d.saved_to else ""])
    return path

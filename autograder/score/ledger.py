"""What has been graded: one record per student and lab, keyed by the content of what was graded.

A record is written only once a student's notebooks are scored in the
gradebook, so a batch killed midway is resumed by grading exactly those
students without a current record. A student whose submission and the lab's
source are unchanged (same fingerprint) is not graded again unless forced.
Every completed grading is also appended to a log, one JSON line each.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path


def fingerprint(submission_dir: Path, source_dir: Path) -> str:
    """SHA-256 over a student's staged files and the lab's source notebooks (names and bytes)."""
    digest = hashlib.sha256()
    for label, folder in (("submission", submission_dir), ("source", source_dir)):
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            digest.update(f"{label}:{path.relative_to(folder).as_posix()}\0".encode())
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


@dataclass
class NotebookRun:
    """How one notebook's execution went (see autograder.run.execution.ExecutionOutcome)."""

    status: str
    reason: str = ""
    elapsed: float = 0.0
    peak_memory: int = 0


@dataclass
class Record:
    student_id: str
    fingerprint: str
    graded_at: float
    elapsed: float  # seconds for the whole student: prepare, execute, score
    notebooks: dict[str, NotebookRun] = field(default_factory=dict)


class Ledger:
    """The records of one lab, in ``<state>/ledger/<lab>.json``, with the log beside them."""

    def __init__(self, state_dir: Path, lab: str):
        self.path = state_dir / "ledger" / f"{lab}.json"
        self.log_path = state_dir / "ledger" / f"{lab}.log.jsonl"
        self._records = self._load()

    def _load(self) -> dict[str, Record]:
        if not self.path.exists():
            return {}
        raw = json.loads(self.path.read_text(encoding="utf-8"))
        return {
            sid: Record(**{**rec, "notebooks": {nb: NotebookRun(**run) for nb, run in rec["notebooks"].items()}})
            for sid, rec in raw.items()
        }

    def get(self, student_id: str) -> Record | None:
        return self._records.get(student_id)

    def is_current(self, student_id: str, print_: str) -> bool:
        record = self._records.get(student_id)
        return record is not None and record.fingerprint == print_

    def forget(self, student_id: str) -> None:
        if self._records.pop(student_id, None) is not None:
            self._save()

    def record(self, record: Record) -> None:
        """Store a finished grading (atomically) and append it to the log."""
        self._records[record.student_id] = record
        self._save()
        with self.log_path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(asdict(record), ensure_ascii=False) + "\n")

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".json.tmp")
        data = {sid: asdict(rec) for sid, rec in sorted(self._records.items())}
        tmp.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
        os.replace(tmp, self.path)

    def log(self) -> list[dict]:
        """Every grading ever completed for this lab, oldest first."""
        if not self.log_path.exists():
            return []
        return [json.loads(line) for line in self.log_path.read_text(encoding="utf-8").splitlines() if line.strip()]


def now() -> float:
    return time.time()

"""Collect: find each student's notebooks for a lab, reject files that are not
gradable notebooks (with a reason), and stage copies into nbgrader's submitted/ tree.

Accepted layouts of the submissions folder:

- ``DIR/<student_id>/<notebook>.ipynb``
- ``DIR/<student_id>/<lab>/<notebook>.ipynb`` (nbgrader's own submitted/ tree)

The submitted files are only ever read: grading works on copies.
"""

from __future__ import annotations

import json
import shutil
import warnings
from dataclasses import dataclass
from pathlib import Path

import nbformat

from autograder.course import Course


class SubmissionsError(Exception):
    """The submissions folder itself is unusable."""


@dataclass(frozen=True)
class Submission:
    """One expected notebook of one student: where it is, and why it can't be graded (if so)."""

    student_id: str
    notebook: str
    path: Path | None  # None: the student submitted no such notebook
    problem: str = ""  # empty: a gradable notebook

    @property
    def gradable(self) -> bool:
        return self.path is not None and not self.problem


def notebook_problem(path: Path) -> str:
    """Why the file at ``path`` is not a gradable Jupyter notebook, or "" if it is one."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        return f"読み込めません / unreadable: {exc.strerror}"
    if not data.strip():
        return "空のファイルです / empty file"
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"UTF-8 のテキストではありません / not UTF-8 text (byte {exc.start})"
    if text.lstrip()[:1] not in ("{", "["):
        return (
            "ノートブックではありません (JSON ではないテキスト: .py を .ipynb に改名?) / "
            "not a notebook: plain text, not JSON (a .py script renamed to .ipynb?)"
        )
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        return f"JSON として読めません / not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
    if not isinstance(raw, dict) or not ("cells" in raw or "worksheets" in raw):
        return "Jupyter ノートブックではありません / not a Jupyter notebook (no cells)"
    try:
        nb = nbformat.reads(text, as_version=4)
        nbformat.validate(nb)
    except Exception as exc:  # nbformat raises several types for malformed notebooks
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return f"ノートブックの形式が正しくありません / invalid notebook: {detail[:200]}"
    return ""


def marked_cells(path: Path) -> list[tuple[str, str]]:
    """(grade_id, cell type) of each marked cell of the (valid) notebook at ``path``, in order.

    Read without nbformat's warnings (duplicate cell ids): the report says what is wrong with the cells.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        nb = nbformat.read(path, as_version=4)
    return [(gid, cell.cell_type) for cell in nb.cells if (gid := cell.metadata.get("nbgrader", {}).get("grade_id"))]


def missing_cells(marked: list[tuple[str, str]], grade_ids: list[str]) -> list[str]:
    """Those of ``grade_ids`` that no cell of a notebook (its :func:`marked_cells`) carries.

    A cell is missing when the student deleted it or a tool cleared its metadata; nbgrader then
    grades the notebook without it, and the report should say why the points are gone.
    """
    present = {gid for gid, _ in marked}
    return [gid for gid in grade_ids if gid not in present]


def copied_cells(marked: list[tuple[str, str]]) -> list[str]:
    """grade_ids that more than one cell carries: a marked cell copied.

    The grader keeps the first and grades the copies as ordinary cells (preprocessors.DeduplicateIds).
    """
    ids = [gid for gid, _ in marked]
    return sorted({gid for gid in ids if ids.count(gid) > 1})


def retyped_cells(marked: list[tuple[str, str]], cell_types: dict[str, str]) -> list[str]:
    """grade_ids whose cell is not of its type in the lab (``cell_types``): a cell switched between code and
    markdown, which nbgrader switches back before grading."""
    return list(dict.fromkeys(gid for gid, kind in marked if gid in cell_types and kind != cell_types[gid]))


def _student_dirs(submissions_dir: Path) -> list[Path]:
    if not submissions_dir.is_dir():
        raise SubmissionsError(f"submissions folder not found: {submissions_dir}")
    return sorted(p for p in submissions_dir.iterdir() if p.is_dir() and not p.name.startswith("."))


def find_submissions(submissions_dir: Path, lab: str, notebooks: list[str]) -> list[Submission]:
    """One :class:`Submission` per (student folder, expected notebook), validated."""
    found = []
    for student_dir in _student_dirs(Path(submissions_dir)):
        for name in notebooks:
            candidates = [student_dir / lab / f"{name}.ipynb", student_dir / f"{name}.ipynb"]
            path = next((c for c in candidates if c.is_file()), None)
            problem = notebook_problem(path) if path else ""
            found.append(Submission(student_dir.name, name, path, problem))
    return found


TIMESTAMP_FILE = "timestamp.txt"  # nbgrader's record of when a submission was made


def stage(course: Course, lab: str, submissions: list[Submission]) -> list[str]:
    """Copy gradable notebooks (and timestamp.txt) to where autograde reads them; return the students staged.

    A student's previous staging for this lab is replaced, so a file rejected
    this time is never graded from an earlier run.
    """
    students = sorted({s.student_id for s in submissions})
    for student in students:
        target = course.staged_dir / student / lab
        if target.exists():
            shutil.rmtree(target)
    staged = set()
    for sub in submissions:
        if sub.gradable:
            target = course.staged_dir / sub.student_id / lab
            target.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(sub.path, target / f"{sub.notebook}.ipynb")
            timestamp = sub.path.parent / TIMESTAMP_FILE
            if timestamp.is_file():
                shutil.copyfile(timestamp, target / TIMESTAMP_FILE)
            staged.add(sub.student_id)
    return sorted(staged)

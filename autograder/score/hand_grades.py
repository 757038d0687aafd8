"""Hand grades across a regrade: a TA's score stays, and is flagged for review only where the answer changed.

nbgrader's autograde (``SaveAutoGrades``) keeps a grade's ``manual_score`` but sets ``needs_manual_grade``
on every cell that has one, so after ``grade --force`` or a resubmission each hand grade would wait for a
TA again while the totals already count it. Before a student is regraded, :func:`remember` notes each hand
grade with a digest of what the TA graded (the answer as the formgrader showed it, from ``autograded/``);
after scoring, :func:`settle` confirms the hand grades whose answer is unchanged and leaves the others
flagged: the TA sees them in the formgrader, and the reports mark them for review.

The notes live in ``.autograder/hand-grades/<lab>/<student>.json`` until settled, so a run that stops
between the two steps settles them on the next run (the older note, of what the TA saw, is kept).
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import nbformat

from autograder.course import Course
from autograder.score import gradebook


def _note_path(course: Course, lab: str, student: str) -> Path:
    return course.root / ".autograder" / "hand-grades" / lab / f"{student}.json"


def answer_digest(notebook_path: Path, grade_id: str) -> str | None:
    """What a hand grade of ``grade_id`` judged: the cell's own source if it is an answer cell (a written
    answer), else every answer cell's source (a TA's score over an autograded test). None: no such notebook."""
    if not notebook_path.is_file():
        return None
    try:
        nb = nbformat.read(notebook_path, as_version=4)
    except Exception:  # an unreadable notebook judges nothing: treat the answer as changed
        return None
    marked = [(c.metadata.get("nbgrader", {}), c.source) for c in nb.cells]
    own = [source for meta, source in marked if meta.get("grade_id") == grade_id and meta.get("solution")]
    sources = own or [f"{meta.get('grade_id')}\0{source}" for meta, source in marked if meta.get("solution")]
    return hashlib.sha256("\0\0".join(sources).encode()).hexdigest()


def remember(course: Course, lab: str, student: str) -> None:
    """Note the student's hand grades and the answers they judged, before autograde replaces ``autograded/``."""
    path = _note_path(course, lab, student)
    if path.exists():  # a run stopped before settling: that note holds what the TA saw
        return
    scores = gradebook.hand_scores(course.db_url, lab, student)
    notes = {
        notebook: {gid: answer_digest(course.autograded_dir / student / lab / f"{notebook}.ipynb", gid)
                   for gid in grades}
        for notebook, grades in scores.items() if grades
    }
    if notes:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(notes, indent=1), encoding="utf-8")


def settle(course: Course, lab: str, student: str) -> list[tuple[str, str]]:
    """After scoring: confirm each noted hand grade whose answer is unchanged; return (notebook, grade_id) of
    those left for review (the answer changed, or what was graded is unknown)."""
    path = _note_path(course, lab, student)
    if not path.exists():
        return []
    notes = json.loads(path.read_text(encoding="utf-8"))
    kept = gradebook.hand_scores(course.db_url, lab, student)
    review = []
    for notebook, grades in notes.items():
        for gid, digest in grades.items():
            if gid not in kept.get(notebook, {}):
                continue  # the cell is gone from the lab, or the submission was dropped
            now = answer_digest(course.autograded_dir / student / lab / f"{notebook}.ipynb", gid)
            if digest is not None and now == digest:
                gradebook.confirm_hand_score(course.db_url, lab, notebook, student, gid)
            else:
                review.append((notebook, gid))
    path.unlink()
    return review


def archive(course: Course, lab: str, student: str) -> Path | None:
    """Save the student's hand scores and TA comments for ``lab`` before their submission leaves the gradebook
    (the new one cannot be graded, or there is none): ``.autograder/hand-grades/<lab>/dropped/<student>-<time>.json``.
    Returns that file, or None when there was nothing by hand to save."""
    every = gradebook.hand_scores(course.db_url, lab, student)
    scores = {nb: grades for nb, grades in every.items() if grades}
    comments = {nb: said for nb in every if (said := gradebook.manual_comments(course.db_url, lab, nb, student))}
    if not scores and not comments:
        return None
    path = course.root / ".autograder" / "hand-grades" / lab / "dropped" / f"{student}-{time.strftime('%Y%m%dT%H%M%S')}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"student": student, "lab": lab, "scores": scores, "comments": comments},
                               ensure_ascii=False, indent=1), encoding="utf-8")
    return path


def students_with_hand_grades(course: Course, lab: str, students: set[str]) -> set[str]:
    """Those of ``students`` whose submission of ``lab`` has a TA's score or comment (one gradebook read):
    the students whose feedback, written by a worker from a gradebook without them, the head must rewrite."""
    if not students:
        return set()
    recorded = gradebook.lab_scores(course.db_url, lab)
    by_hand = {student for (student, _), cells in recorded.cells.items()
               if any(c.manual_score is not None for c in cells)}
    by_hand |= {student for (student, _), said in recorded.comments.items() if said}
    return by_hand & students

"""One grade per student per lab: which of a lab's notebooks counts, and its grade on the lab's scale.

A lab's notebooks (``03_n``, ``03_h``) are alternatives: a student sends one, of the difficulty they chose.
The course's :class:`~autograder.course.GradingPolicy` (``c.LabGrade`` in nbgrader_config.py) says which
counts when a student sent both, and what each difficulty is worth. Every output (the grade table,
grades.csv, Moodle's files, results.json, the summary figure, the feedback pages) reads these grades.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from autograder.course import GradingPolicy
from autograder.report import exported_points
from autograder.score.results import GRADED, MISSING, NOT_SUBMITTED, NotebookResult


def difficulty_of(notebook: str) -> str:
    """The difficulty a notebook's name ends in: ``03_h.ipynb`` -> ``h`` (``""`` without one)."""
    stem = notebook.removesuffix(".ipynb")
    return stem.rsplit("_", 1)[1] if "_" in stem else ""


def _name(notebook: str) -> str:
    return notebook if notebook.endswith(".ipynb") else f"{notebook}.ipynb"


@dataclass
class LabGrade:
    """A student's grade for a lab: the notebook that counted, its grade on the lab's scale, and the rest."""

    student_id: str
    lab: str
    counted: NotebookResult  # for a student who sent nothing: the lab's first notebook, missing
    grade: float
    maximum: float
    not_counted: list[NotebookResult] = field(default_factory=list)  # also sent, of another difficulty
    rule: str = "higher"

    @property
    def submitted(self) -> bool:
        return self.counted.status != MISSING

    @property
    def notebook(self) -> str:
        return self.counted.notebook

    def note(self) -> str:
        """Why this notebook counted, when the student sent more than one ("" otherwise)."""
        if not self.not_counted:
            return ""
        why = {"higher": "成績の高い方 / the higher grade counts", "hard": "hard を採用 / the hard notebook counts",
               "normal": "normal を採用 / the normal notebook counts"}[self.rule]
        others = ", ".join(f"{_name(r.notebook)} ({exported_points(r.score)}/{exported_points(r.max_score)})"
                           for r in self.not_counted)
        return f"{_name(self.notebook)} を採点に使用 / counted: {_name(self.notebook)}; 不採用 / not counted: {others}; {why}"


def notebook_grade(result: NotebookResult, policy: GradingPolicy) -> float:
    """``result``'s share of its points times what its difficulty is worth, rounded to 2 decimals."""
    share = result.score / result.max_score if result.max_score else 0.0
    return round(share * policy.points_for(difficulty_of(result.notebook)), 2)


def _pick(sent: list[NotebookResult], policy: GradingPolicy) -> NotebookResult:
    """The notebook that counts among those a student sent (by ``policy.choose``)."""
    if policy.choose in ("hard", "normal"):
        wanted = policy.choose[0]
        preferred = [r for r in sent if difficulty_of(r.notebook) == wanted]
        if preferred:
            return preferred[0]
    # "higher", and a preference the student did not send: on a tie a graded notebook wins, then the hard one
    return max(sent, key=lambda r: (notebook_grade(r, policy), r.status == GRADED, difficulty_of(r.notebook) == "h"))


def _not_submitted(results: list[NotebookResult]) -> NotebookResult:
    """The missing result that stands for a student who sent none of the lab's notebooks."""
    first = results[0]
    if len(results) > 1 and first.reason.startswith(NOT_SUBMITTED):
        names = [_name(r.notebook) for r in results]
        reason = (f"{NOT_SUBMITTED}: {' か '.join(names)} のどれか一つを提出してください / "
                  f"submit one of {', '.join(names)}")
        return dataclasses.replace(first, reason=reason)
    return first


def lab_grades(results: list[NotebookResult], policy: GradingPolicy) -> list[LabGrade]:
    """One :class:`LabGrade` per student and lab in ``results`` (in first-seen order).

    A notebook the student did not send (missing) never counts when they sent another, and is not
    listed; a student who sent none gets the lab's first notebook, missing, with a reason naming all.
    """
    groups: dict[tuple[str, str], list[NotebookResult]] = {}
    for r in results:
        groups.setdefault((r.student_id, r.lab), []).append(r)
    grades = []
    for (student, lab), own in groups.items():
        sent = [r for r in own if r.status != MISSING]
        counted = _pick(sent, policy) if sent else _not_submitted(own)
        grades.append(LabGrade(
            student, lab, counted,
            grade=notebook_grade(counted, policy) if sent else 0.0,
            maximum=policy.maximum,
            not_counted=[r for r in sent if r is not counted],
            rule=policy.choose,
        ))
    return grades


def counted_results(grades: list[LabGrade]) -> list[NotebookResult]:
    """The notebook that counted for each grade, with the note on the others added to its reason."""
    out = []
    for g in grades:
        note = g.note()
        r = g.counted
        out.append(dataclasses.replace(r, reason="; ".join(x for x in (r.reason, note) if x)) if note else r)
    return out

"""What grading one notebook of one student produced: the records every stage after
execution reads, and that reports turn into tables, CSVs and feedback."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

# Statuses of a notebook submission.
GRADED = "graded"  # autograded; its score is the gradebook's
INVALID = "invalid"  # the file could not be graded as a notebook (reason says why); scores 0
MISSING = "missing"  # the student submitted nothing for this notebook; scores 0
FAILED = "failed"  # nbgrader could not finish grading it (reason says why); scores 0

NOT_SUBMITTED = "提出なし / not submitted"  # the reason of a student who sent nothing (and how it begins)


@dataclass
class QuestionResult:
    """One graded cell (nbgrader's grade_id), with the first line of its failure message if it failed.

    ``needs_manual_grade``: waiting for a TA (no hand score yet; counts 0). ``hand_graded``: ``score`` is a
    TA's score from the formgrader. ``review``: a hand score kept through a regrade whose answer changed since
    (counted, and flagged until a TA looks again). ``comment``: the TA's comment on the cell.
    """

    grade_id: str
    score: float
    max_score: float
    needs_manual_grade: bool = False
    message: str = ""
    hand_graded: bool = False
    review: bool = False
    comment: str = ""


@dataclass
class NotebookResult:
    """The grade of one notebook of one student for one lab."""

    student_id: str
    lab: str
    notebook: str
    status: str
    score: float
    max_score: float
    reason: str = ""
    questions: list[QuestionResult] = field(default_factory=list)
    feedback: Path | None = None
    elapsed: float = 0.0  # seconds the grader spent executing and scoring it; 0 for missing/invalid

    comments: dict[str, str] = field(default_factory=dict)  # the TA's comments, by cell name (formgrader)

    @property
    def to_review(self) -> list[str]:
        """Questions whose hand score was kept through a regrade although the answer changed."""
        return [q.grade_id for q in self.questions if q.review]

    @property
    def ta_comments(self) -> str:
        """The TA's comments in one line each, "cell: comment", for the CSVs and the Moodle worksheet."""
        return "\n".join(f"{name}: {text}" for name, text in self.comments.items())

    @property
    def manual_pending(self) -> float:
        """Points still to be graded by hand (nbgrader's needs_manual_grade)."""
        return sum(q.max_score for q in self.questions if q.needs_manual_grade)

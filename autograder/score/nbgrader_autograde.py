"""nbgrader's autograde, split around our executor.

``prepare`` runs nbgrader's sanitizing steps (outputs cleared, test cells and
points restored from the gradebook, the lab's files copied) and writes the
notebooks to execute. ``score`` runs nbgrader's autograde again with its
``Execute`` step replaced by ``ReplayExecution``, so that nbgrader itself scores
the outputs our sandboxed kernels produced and records them in the gradebook.

Both write the gradebook they are given: the grader runs them on a worker, against a private copy
(autograder.score.student_grading), and the head copies the scores into the course gradebook.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from nbconvert.preprocessors import ClearMetadataPreprocessor
from nbgrader.preprocessors import (
    AssignLatePenalties,
    CheckCellMetadata,
    ClearOutput,
    IgnorePattern,
    LimitOutput,
    OverwriteCells,
    OverwriteKernelspec,
    SaveAutoGrades,
)

from autograder.course import Course
from autograder.score.preprocessors import DeduplicateIds, JudgeVerdicts, ReplayExecution

_EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt)\b:?")

# nbgrader 0.9.6's Autograde.sanitize_preprocessors with DeduplicateIds fixed (see its docstring).
SANITIZE_PREPROCESSORS = [ClearOutput, DeduplicateIds, OverwriteKernelspec, OverwriteCells, CheckCellMetadata]
# nbgrader 0.9.6's Autograde.autograde_preprocessors with Execute replaced, and the grader's own verdicts.
SCORING_PREPROCESSORS = [
    ReplayExecution, JudgeVerdicts, IgnorePattern, ClearMetadataPreprocessor, LimitOutput, SaveAutoGrades, AssignLatePenalties,
    CheckCellMetadata,
]


@dataclass(frozen=True)
class AutogradeRun:
    """Whether nbgrader finished autograding a student, with its log."""

    student_id: str
    success: bool
    log: str
    error: str = ""

    @property
    def reason(self) -> str:
        """The first exception nbgrader's log names (not its generic wrapper): why it could not finish."""
        lines = [line.strip() for line in (self.log + "\n" + self.error).splitlines()]
        named = [line for line in lines if _EXCEPTION_LINE.match(line) and "NbGraderException" not in line]
        if named:
            return named[0][:300]
        return next((line for line in reversed(lines) if line), "unknown error")[:300]


def autograde(api, lab: str, student_id: str) -> AutogradeRun:
    """nbgrader autograde of ``student_id``'s staged notebooks for ``lab`` into the gradebook."""
    result = api.autograde(lab, student_id, force=True, create=True)
    return AutogradeRun(student_id, bool(result["success"]), result.get("log", ""), result.get("error", ""))



def _run(api, lab: str, student_id: str) -> AutogradeRun:
    result = api.autograde(lab, student_id, force=True, create=True)
    return AutogradeRun(student_id, bool(result["success"]), result.get("log", ""), result.get("error", ""))


def _database(db_url: str | None) -> dict:
    return {"CourseDirectory": {"db_url": db_url}} if db_url else {}


def prepare(course: Course, lab: str, student_id: str, *, db_url: str | None = None) -> AutogradeRun:
    """Sanitize a staged submission into autograded/<student>/<lab>/ (nothing executed, nothing scored),
    against the gradebook at ``db_url`` (default: the course's)."""
    api = course.api(Autograde={"sanitize_preprocessors": SANITIZE_PREPROCESSORS, "autograde_preprocessors": []},
                     **_database(db_url))
    return _run(api, lab, student_id)


def prepared_dir(course: Course, lab: str, student_id: str) -> Path:
    """Where ``prepare`` leaves the sanitized notebooks and the lab's files."""
    return course.autograded_dir / student_id / lab


@dataclass(frozen=True)
class KernelInputs:
    """What the kernels were given that the grader's replay of the hidden checks needs as well (JudgeVerdicts)."""

    case_salt: str = ""  # what the hidden checks' random inputs were drawn with
    data_dir: str = ""  # the datasets, for what a check measures against (test labels)


def score(course: Course, lab: str, student_id: str, executed_dir: Path,
          kernel_inputs: KernelInputs = KernelInputs(), *, db_url: str | None = None) -> AutogradeRun:
    """Score the notebooks executed into executed_dir/<student>/<lab>/ with nbgrader, into the gradebook at
    ``db_url`` (default: the course's)."""
    api = course.api(
        **_database(db_url),
        Autograde={"sanitize_preprocessors": SANITIZE_PREPROCESSORS, "autograde_preprocessors": SCORING_PREPROCESSORS},
        ReplayExecution={"executed_directory": str(executed_dir)},
        JudgeVerdicts={"case_salt": kernel_inputs.case_salt, "data_dir": kernel_inputs.data_dir},
    )
    return _run(api, lab, student_id)

"""Calibrate a lab's thresholds: grade its reference solution k times and summarize what the checks measured.

Hidden checks print every figure they judge (``[metric] name = value (threshold ...)``, see
``autograder.checks.report_metric``). Grading ``solutions/<lab>`` as k students, on this machine
and the current data profile, shows how far the reference sits from each threshold and how much
it varies, so that an instructor can confirm the thresholds on a GPU runner with the real data.
"""

from __future__ import annotations

import re
import shutil
import statistics
from dataclasses import dataclass, field

import nbformat

from autograder import datasets, labs
from autograder.course import Course
from autograder.grade import GradeOptions, GradingRun, grade_lab
from autograder.labs.judged import METRIC_PREFIX

_METRIC = re.compile(rf"^{re.escape(METRIC_PREFIX)} (\w+) = (\S+)(?: [^(\n]*)?(?: \(threshold ([<>]=) (\S+)\))?\s*$",
                     re.MULTILINE)


@dataclass
class MetricSummary:
    notebook: str
    name: str
    values: list[float] = field(default_factory=list)
    threshold: float | None = None
    direction: str = ""  # ">=" or "<="

    @property
    def margin(self) -> float | None:
        """How far the worst run stays from the threshold (positive: on the passing side)."""
        if self.threshold is None or not self.values:
            return None
        return min(self.values) - self.threshold if self.direction == ">=" else self.threshold - max(self.values)


@dataclass
class Calibration:
    lab: str
    runs: int
    profile: dict[str, str]  # dataset -> "real" / "standin" / "absent"
    metrics: list[MetricSummary]
    scores: dict[str, list[float]]  # notebook -> score of each run
    max_scores: dict[str, float]  # notebook -> automatically graded points
    elapsed: dict[str, list[float]]  # notebook -> execution seconds of each run


def metrics_in(nb: nbformat.NotebookNode) -> list[tuple[str, float, str, float | None]]:
    """(name, value, direction, threshold) of every ``[metric]`` line in a notebook's stream outputs."""
    found = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") != "stream":
                continue
            for name, value, direction, threshold in _METRIC.findall(output.get("text", "")):
                found.append((name, float(value), direction, float(threshold) if threshold else None))
    return found


def summarize(lab: str, run: GradingRun, course: Course) -> Calibration:
    """Collect the metrics, scores and times of a calibration run's students."""
    metrics: dict[tuple[str, str], MetricSummary] = {}
    scores: dict[str, list[float]] = {}
    max_scores: dict[str, float] = {}
    elapsed: dict[str, list[float]] = {}
    for result in run.results:
        scores.setdefault(result.notebook, []).append(result.score)
        # points graded by hand (free-text answers) are never scored here: compare with the automatic ones
        max_scores[result.notebook] = result.max_score - result.manual_pending
        elapsed.setdefault(result.notebook, []).append(result.elapsed)
        path = course.autograded_dir / result.student_id / lab / f"{result.notebook}.ipynb"
        if not path.exists():
            continue
        for name, value, direction, threshold in metrics_in(nbformat.read(path, as_version=4)):
            summary = metrics.setdefault((result.notebook, name), MetricSummary(result.notebook, name))
            summary.values.append(value)
            summary.threshold, summary.direction = threshold, direction
    return Calibration(lab, len({r.student_id for r in run.results}), {}, list(metrics.values()), scores,
                       max_scores, elapsed)


def calibrate(course: Course, lab: str, runs: int, options: GradeOptions | None = None) -> Calibration:
    """Grade solutions/<lab> ``runs`` times (as students ref-1..ref-k) in a scratch course; summarize."""
    notebooks = sorted((course.solutions_dir / lab).glob("*.ipynb"))
    if not notebooks:
        raise FileNotFoundError(f"no answer key in solutions/{lab}: run `autograder release {lab}` first")
    scratch = course.root / ".autograder" / "calibrate" / lab
    shutil.rmtree(scratch, ignore_errors=True)
    root = scratch / "course"
    root.mkdir(parents=True)
    shutil.copy(course.root / "nbgrader_config.py", root)
    for name in ("source", "release"):
        shutil.copytree(course.root / name, root / name)
    data = course.data_dir
    if data.is_dir() and not (root / "data").exists():
        (root / "data").symlink_to(data.resolve(), target_is_directory=True)
    submissions = scratch / "submissions"
    for i in range(1, runs + 1):
        target = submissions / f"ref-{i}" / lab
        target.mkdir(parents=True)
        for nb in notebooks:
            shutil.copy(nb, target / nb.name)
    options = options or GradeOptions()
    scratch_course = Course(root)
    run = grade_lab(scratch_course, lab, submissions, GradeOptions(**{**options.__dict__, "force": True}))
    calibration = summarize(lab, run, scratch_course)
    calibration.profile = datasets.profiles(data, labs.datasets_of(lab))
    return calibration


def describe(values: list[float]) -> tuple[float, float, float]:
    return min(values), statistics.fmean(values), max(values)

"""Generate the student copies (release/) and the answer keys (solutions/) from source/.

release/ is nbgrader's own generate_assignment output. solutions/ keeps the
reference solutions, drops the hidden tests, and is executed so that outputs
and plots show; its notebooks keep nbgrader's cell metadata, so an answer key
can be graded like any submission (it is the sample class's full-marks entry).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from unittest import mock

import nbformat
from nbconvert.preprocessors import ExecutePreprocessor, Preprocessor
from nbgrader.preprocessors import ClearHiddenTests
from traitlets import Unicode

from autograder import datasets, labs
from autograder.course import Course, CourseError
from autograder.score.gradebook import ReleaseError, generate_release

__all__ = ["ReleaseError", "StripSolutionDelimiters", "generate_release", "generate_solutions", "release_labs",
           "solution_notebook"]


class StripSolutionDelimiters(Preprocessor):
    """Remove the ``### BEGIN SOLUTION`` / ``### END SOLUTION`` lines, keeping the solution.

    Answer keys (solutions/) show the reference code as a student would have
    written it, without nbgrader's markers.
    """

    begin_solution_delimeter = Unicode("BEGIN SOLUTION").tag(config=True)
    end_solution_delimeter = Unicode("END SOLUTION").tag(config=True)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("solution"):
            lines = cell.source.split("\n")
            kept = [
                line
                for line in lines
                if not (
                    line.strip().startswith("#")
                    and (self.begin_solution_delimeter in line or self.end_solution_delimeter in line)
                )
            ]
            cell.source = "\n".join(kept)
        return cell, resources


def solution_notebook(source_nb: nbformat.NotebookNode, config) -> nbformat.NotebookNode:
    """The answer key of one source notebook, not executed: hidden tests removed, solution markers dropped."""
    nb = nbformat.from_dict(source_nb)
    for preprocessor in (ClearHiddenTests(config=config), StripSolutionDelimiters(config=config)):
        nb, _ = preprocessor.preprocess(nb, {})
    return nb


def generate_solutions(course: Course, lab: str, *, out_dir: Path | None = None, execute: bool = True) -> list[Path]:
    """Write ``solutions/<lab>/<notebook>.ipynb`` for every notebook of ``lab``; return their paths.

    With ``execute`` each answer key runs top to bottom in a scratch copy of the
    lab folder (so data files are found and nothing is written into source/), with
    nbgrader's per-cell timeout; an error in a solution is a ReleaseError.
    """
    config = course.nbgrader_config()
    if execute:
        _require_data(course, lab)
    out = Path(out_dir or course.solutions_dir).resolve() / lab
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name in course.notebooks(lab):
        source_nb = nbformat.read(course.source_dir / lab / f"{name}.ipynb", as_version=4)
        nb = solution_notebook(source_nb, config)
        if execute:
            with mock.patch.dict(os.environ, {datasets.DATA_ENV: str(course.data_dir)}):  # the kernel inherits it
                nb = _execute(nb, course.source_dir / lab, config=config, label=f"{lab}/{name}")
        path = out / f"{name}.ipynb"
        nbformat.write(nb, path)
        written.append(path)
    return written


def _require_data(course: Course, lab: str) -> None:
    """A training lab's answer key runs on the course's data: say what is missing before training starts."""
    missing = [name for name, profile in datasets.profiles(course.data_dir, labs.datasets_of(lab)).items()
               if profile == datasets.ABSENT]
    if missing:
        names = " ".join(missing)
        raise ReleaseError(
            f"{lab} の解答例は {names} を使いますが、{course.data_dir} にありません / {lab}'s answer key trains on "
            f"{names}, which is not (validly) in {course.data_dir}: run `autograder data fetch {names}`, or offline "
            f"`autograder data standin {names}`; `autograder data check` says what is there"
        )


def _execute(nb: nbformat.NotebookNode, lab_dir: Path, *, config, label: str) -> nbformat.NotebookNode:
    with tempfile.TemporaryDirectory(prefix="solution-") as scratch:
        shutil.copytree(lab_dir, scratch, dirs_exist_ok=True, ignore=shutil.ignore_patterns("*.ipynb", ".ipynb_checkpoints"))
        executor = ExecutePreprocessor(
            timeout=config.Execute.get("timeout", 600),
            extra_arguments=list(config.Execute.get("extra_arguments", [])),
            kernel_name="python3",
            record_timing=False,
        )
        try:
            executor.preprocess(nb, {"metadata": {"path": scratch}})
        except Exception as exc:  # CellExecutionError, timeouts, a dead kernel
            raise ReleaseError(f"the reference solution of {label} does not run cleanly:\n{exc}") from exc
    return nb


def release_labs(course: Course, labs: list[str] | None = None, *, execute: bool = True) -> list[str]:
    """Regenerate release/ and solutions/ for ``labs`` (default: every lab in source/)."""
    labs = labs or course.labs()
    if not labs:
        raise CourseError(f"no labs in {course.source_dir}")
    for lab in labs:
        generate_release(course, lab)
        generate_solutions(course, lab, execute=execute)
    return labs

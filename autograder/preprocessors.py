"""nbconvert preprocessors of our own, one job each, configured through traitlets."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
from nbconvert.preprocessors import Preprocessor
from nbgrader import preprocessors as nbgrader_preprocessors
from traitlets import Bool, Unicode

from autograder import judge


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


_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_PACKAGE_FRAME = re.compile(r"File\s+\S*[/\\]autograder[/\\][\w/\\]*\.py:\d+")
_SKIPPED_FRAMES = re.compile(r"^\s*\[\.\.\. skipping hidden \d+ frames?\]\s*$")


class TrimTestTracebacks(Preprocessor):
    """Keep the grader's internals out of the tracebacks students read in their feedback.

    IPython prints each frame with its source lines, so an error raised by a
    hidden test would show the hidden test's code and the check library's
    source (how expected values are computed). This preprocessor, run before
    nbgrader's ``ClearHiddenTests``, drops frames from the ``autograder``
    package and replaces a frame showing hidden-test lines with one notice line.
    The error's name and message (the check's explanation) stay.
    """

    enabled = Bool(True, help="on by default (nbconvert's preprocessors are off by default)").tag(config=True)

    begin_hidden_tests_delimeter = Unicode("BEGIN HIDDEN TESTS").tag(config=True)
    end_hidden_tests_delimeter = Unicode("END HIDDEN TESTS").tag(config=True)
    hidden_frame_notice = Unicode(judge.HIDDEN_TEST_NOTICE).tag(config=True)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code":
            return cell, resources
        hidden = self._hidden_lines(cell.source)
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                output["traceback"] = self._trim(output.get("traceback", []), hidden)
        return cell, resources

    def _hidden_lines(self, source: str) -> list[str]:
        """Source lines (stripped, delimiters included) inside the cell's hidden-test regions."""
        lines, inside = [], False
        for line in source.splitlines():
            if self.begin_hidden_tests_delimeter in line:
                inside = True
            if inside and line.strip():
                lines.append(line.strip())
            if self.end_hidden_tests_delimeter in line:
                inside = False
        return lines

    def _trim(self, traceback: list[str], hidden: list[str]) -> list[str]:
        if len(traceback) < 3:
            return traceback
        head, frames, last = traceback[:2], traceback[2:-1], traceback[-1]
        kept = []
        for frame in frames:
            plain = _ANSI.sub("", frame)
            if _PACKAGE_FRAME.search(plain) or _SKIPPED_FRAMES.match(plain):
                continue
            if any(line in plain for line in hidden):
                if self.hidden_frame_notice not in kept:
                    kept.append(self.hidden_frame_notice)
                continue
            kept.append(frame)
        return head + kept + [last]


EXECUTED_MARK = "autograder_executed"  # cell metadata key the executor sets on every cell it ran
NOT_RUN_ERROR = "CellNotRunError"


class ReplayExecution(Preprocessor):
    """Take each code cell's outputs from the notebook our sandboxed executor produced.

    Used in place of nbgrader's ``Execute`` in its autograde pipeline, so that
    nbgrader's own preprocessors (IgnorePattern, LimitOutput, SaveAutoGrades, late
    penalties) score the outputs exactly as they would have scored its own run.
    A code cell the executor never reached (the notebook was killed or ran out of
    time) gets an error output, so its test cannot pass without having run.
    """

    enabled = Bool(True, help="on by default (nbconvert's preprocessors are off by default)").tag(config=True)

    executed_directory = Unicode(
        help="Folder holding {student}/{assignment}/{notebook}.ipynb as executed by autograder.executor"
    ).tag(config=True)
    not_run_message = Unicode("このセルは実行されませんでした / this cell was not run: {reason}").tag(config=True)

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        path = Path(self.executed_directory) / info["student"] / info["assignment"] / f"{info['notebook']}.ipynb"
        executed = nbformat.read(path, as_version=4) if path.exists() else None
        if executed is not None and len(executed.cells) != len(nb.cells):
            raise ValueError(f"{path}: executed notebook has {len(executed.cells)} cells, expected {len(nb.cells)}")
        run = executed.metadata.get(EXECUTED_MARK, {}) if executed is not None else {}
        message = self.not_run_message.format(reason=run.get("reason") or "notebook was not executed")
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            ran = executed.cells[index] if executed is not None else None
            if ran is not None and ran.source != cell.source:
                raise ValueError(f"{path}: cell {index} differs from the sanitized notebook")
            if ran is not None and ran.metadata.get(EXECUTED_MARK):
                cell.outputs = ran.outputs
                cell.execution_count = ran.execution_count
            else:
                cell.outputs = [nbformat.v4.new_output(
                    "error", ename=NOT_RUN_ERROR, evalue=message, traceback=[f"{NOT_RUN_ERROR}: {message}"])]
                cell.execution_count = None
        return nb, resources


class DeduplicateIds(nbgrader_preprocessors.DeduplicateIds):
    """nbgrader's DeduplicateIds, except that a duplicate loses its nbgrader marks entirely.

    Copying a cell in Jupyter copies its marks, so two cells can claim one grade_id. nbgrader keeps
    the last and leaves the others an empty ``nbgrader`` dict, which its own CheckCellMetadata then
    rejects ("schema version 0") and the whole notebook fails. Without the key, the copy is an
    ordinary cell: it still runs, and the notebook is graded as what it is.
    """

    def preprocess_cell(self, cell, resources, index):
        cell, resources = super().preprocess_cell(cell, resources, index)
        if cell.metadata.get("nbgrader") == {}:
            del cell.metadata["nbgrader"]
        return cell, resources


class JudgeVerdicts(Preprocessor):
    """Give each hidden test the grader's verdict, reached outside the student's kernel (autograder.judge).

    Runs right after ``ReplayExecution``. A test cell that calls judged checks fails unless the grader's
    replay of every check's transcript passes; the grader's failure messages replace the kernel's. Other
    cells lose their transcripts only.
    """

    enabled = Bool(True, help="on by default (nbconvert's preprocessors are off by default)").tag(config=True)
    case_salt = Unicode("", help="the course's secret for the checks' inputs (Course.case_salt)").tag(config=True)
    data_dir = Unicode("", help="the datasets the kernels had (KernelSettings.data_dir), for the grader's own "
                       "copy of what a check measures against").tag(config=True)

    def preprocess(self, nb, resources):
        answers = [c.source for c in nb.cells if c.cell_type == "code" and not c.metadata.get("nbgrader", {}).get("grade")]
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            graded = cell.metadata.get("nbgrader", {}).get("grade")
            verdicts = judge.judge_cell(cell.source, cell.outputs, answers, self.case_salt, self.data_dir) if graded else None
            if verdicts is None:
                cell.outputs = judge.strip_transcripts(cell.outputs)
            else:
                cell.outputs = judge.verdict_outputs(cell.outputs, verdicts)
        return nb, resources

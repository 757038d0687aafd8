"""The preprocessors scoring adds to nbgrader's autograde, one job each, configured through traitlets."""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbconvert.preprocessors import Preprocessor
from nbgrader import preprocessors as nbgrader_preprocessors
from traitlets import Bool, Unicode

from autograder.run.execution import EXECUTED_MARK, MEASURED_MARK
from autograder.score import judge

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
        help="Folder holding {student}/{assignment}/{notebook}.ipynb as executed by autograder.run.execution"
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
            cell.metadata.pop(MEASURED_MARK, None)  # a submission's own claim of it counts for nothing
            if ran is not None and ran.metadata.get(EXECUTED_MARK):
                cell.outputs = ran.outputs
                cell.execution_count = ran.execution_count
                if MEASURED_MARK in ran.metadata:
                    cell.metadata[MEASURED_MARK] = ran.metadata[MEASURED_MARK]
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
    """Give each hidden test the grader's verdict, reached outside the student's kernel (autograder.score.judge).

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
        measured = {c.metadata["nbgrader"]["grade_id"]: c.metadata[MEASURED_MARK] for c in nb.cells
                    if MEASURED_MARK in c.metadata and c.metadata.get("nbgrader", {}).get("grade_id")}
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            graded = cell.metadata.get("nbgrader", {}).get("grade")
            verdicts = judge.judge_cell(cell.source, cell.outputs, answers, self.case_salt, self.data_dir,
                                        measured) if graded else None
            if verdicts is None:
                cell.outputs = judge.strip_transcripts(cell.outputs)
            else:
                cell.outputs = judge.verdict_outputs(cell.outputs, verdicts)
        return nb, resources

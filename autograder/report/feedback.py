"""Per-student feedback: nbgrader's feedback HTML without the grader's internals, and a page of its own for a
notebook that could not be graded."""

from __future__ import annotations

import re
from pathlib import Path

import jinja2
from nbconvert.preprocessors import Preprocessor
from traitlets import Bool, Unicode

from autograder.report import points as _points
from autograder.score.judge import HIDDEN_TEST_NOTICE
from autograder.score.results import NotebookResult

_TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("autograder.report", "templates"),
    autoescape=jinja2.select_autoescape(["html"]),
)


def write_problem_feedback(result: NotebookResult, path: Path, notebooks: list[str] | None = None) -> Path:
    """Feedback HTML for a notebook that could not be graded, saying why and what to send: ``notebooks``,
    the lab's notebooks (alternatives: one of them), default the result's own."""
    path.parent.mkdir(parents=True, exist_ok=True)
    html = _TEMPLATES.get_template("problem_feedback.html.j2").render(result=result, points=_points,
                                                                      notebooks=notebooks)
    path.write_text(html, encoding="utf-8")
    return path



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
    hidden_frame_notice = Unicode(HIDDEN_TEST_NOTICE).tag(config=True)

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

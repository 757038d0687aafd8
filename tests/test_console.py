"""Output that is not a terminal (a log, CI, a pipe) is not wrapped at rich's default of 80 columns."""

from __future__ import annotations

import io

from autograder.cli import make_console
from autograder.report.table import print_table
from autograder.score.results import GRADED, NotebookResult, QuestionResult


def wide_class() -> list[NotebookResult]:
    questions = [QuestionResult(f"test_question_{i:02d}", 1.0, 1.0) for i in range(20)]
    return [NotebookResult(f"s24010{i:02d}", "lab03", "03_n", GRADED, 20.0, 20.0, questions=questions)
            for i in range(3)]


def test_a_pipe_gets_the_table_unwrapped(monkeypatch):
    monkeypatch.delenv("COLUMNS", raising=False)
    out = io.StringIO()
    print_table(wide_class(), title="lab03: 3 students", console=make_console(out))
    rows = [line for line in out.getvalue().splitlines() if "s24010" in line]
    assert len(rows) == 3 and all("20/20" in line for line in rows)  # each student on one line, total included
    assert max(len(line) for line in out.getvalue().splitlines()) > 80


def test_columns_still_decide_when_set(monkeypatch):
    monkeypatch.setenv("COLUMNS", "60")
    assert make_console(io.StringIO()).width == 60

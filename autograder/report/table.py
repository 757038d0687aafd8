"""The grade table a TA reads on screen: one row per student and notebook, one column per question."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from autograder.report import points as _points
from autograder.score.results import GRADED, MISSING, NOT_SUBMITTED, NotebookResult

if TYPE_CHECKING:
    from autograder.report.lab_grades import LabGrade


def question_ids(results: list[NotebookResult]) -> list[str]:
    """Every question id in the results, in first-seen order."""
    seen: dict[str, None] = {}
    for result in results:
        for q in result.questions:
            seen.setdefault(q.grade_id, None)
    return list(seen)


def legend(results: list[NotebookResult]) -> str:
    """What the Q1, Q2, ... columns of the grade table are."""
    return "  ".join(f"Q{i}={q.removeprefix('test_')}" for i, q in enumerate(question_ids(results), 1))


def grade_table(results: list[NotebookResult], title: str = "", grades: list[LabGrade] | None = None) -> Table:
    """A rich table: one row per result, one column per question (header: name and max).

    With ``grades`` (one per result: ``results`` are the notebooks that counted), a "grade" column shows
    each student's grade on the lab's scale."""
    questions = question_ids(results)
    maxima = {q.grade_id: q.max_score for r in results for q in r.questions}
    table = Table(title=title, header_style="bold", pad_edge=False, collapse_padding=True)
    table.add_column("student", no_wrap=True)
    if len({r.notebook for r in results}) > 1:
        table.add_column("notebook", no_wrap=True)
    for q in questions:
        table.add_column(f"Q{questions.index(q) + 1}\n/{_points(maxima[q])}", justify="right", no_wrap=True)
    table.add_column("total", justify="right", style="bold", no_wrap=True)
    if grades is not None:
        table.add_column(f"grade\n/{_points(grades[0].maximum)}" if grades else "grade", justify="right",
                         style="bold", no_wrap=True)
    table.add_column("status", no_wrap=True)
    for i, r in enumerate(results):
        by_id = {q.grade_id: q for q in r.questions}
        cells = []
        for q in questions:
            got = by_id.get(q)
            if got is None:
                cells.append("-")
            elif got.needs_manual_grade:
                cells.append("[yellow]✍[/]")
            elif got.review:  # a hand score kept through a regrade; counted, to be looked at again
                cells.append(f"[yellow]{_points(got.score)}?[/]")
            else:
                colour = "green" if got.score == got.max_score else ("red" if got.score == 0 else "yellow")
                cells.append(f"[{colour}]{_points(got.score)}[/]")
        notebook = [r.notebook] if len(table.columns) > len(questions) + 3 + (grades is not None) else []
        status = r.status + (" *" if _noted(r) else "")
        grade = [_points(grades[i].grade)] if grades is not None else []
        table.add_row(escape(r.student_id), *notebook, *cells, f"{_points(r.score)}/{_points(r.max_score)}", *grade,
                      status if r.status == GRADED and not _noted(r) else f"[red]{escape(status)}[/]")
    return table


def _noted(r: NotebookResult) -> bool:
    """Whether ``r`` has a reason worth a note: not the plain "not submitted", which its status says already
    (a class of 300 with most still to hand in would get 300 lines saying so)."""
    return bool(r.reason) and not (r.status == MISSING and r.reason.startswith(NOT_SUBMITTED))


def notes(results: list[NotebookResult]) -> list[str]:
    """The reasons behind the starred statuses, one line per notebook."""
    return [f"{r.student_id} ({r.notebook}): {r.reason}" for r in results if _noted(r)]


def print_table(results: list[NotebookResult], title: str = "", console: Console | None = None,
                grades: list[LabGrade] | None = None) -> None:
    """The grade table, its legend, and the reasons behind starred statuses."""
    console = console or Console()
    console.print(grade_table(results, title, grades))
    console.print(legend(results), soft_wrap=False)
    if any(q.needs_manual_grade for r in results for q in r.questions):
        console.print("✍ = waiting for manual grading (autograder formgrader)")
    if any(q.review for r in results for q in r.questions):
        console.print("? = hand score kept, but the answer changed after it was graded: review it (autograder formgrader)")
    for line in notes(results):
        console.print(f"* {escape(line)}", soft_wrap=True)

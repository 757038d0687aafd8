"""Reports: the grade table, the grades CSVs and per-student feedback HTML."""

from __future__ import annotations

import csv
from pathlib import Path

import jinja2
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from autograder.results import GRADED, NotebookResult

_TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("autograder", "templates"),
    autoescape=jinja2.select_autoescape(["html"]),
)


def _points(x: float) -> str:
    return f"{x:g}"


def question_ids(results: list[NotebookResult]) -> list[str]:
    """Every question id in the results, in first-seen order."""
    seen: dict[str, None] = {}
    for result in results:
        for q in result.questions:
            seen.setdefault(q.grade_id, None)
    return list(seen)


def write_grades_csv(results: list[NotebookResult], path: Path) -> Path:
    """One row per student and notebook: status, score, reason, then one column per question."""
    path.parent.mkdir(parents=True, exist_ok=True)
    questions = question_ids(results)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(
            ["student_id", "lab", "notebook", "status", "score", "max_score", "manual_pending", "reason", *questions]
        )
        for r in results:
            by_id = {q.grade_id: q for q in r.questions}
            cells = [
                "" if q not in by_id else ("manual" if by_id[q].needs_manual_grade else _points(by_id[q].score))
                for q in questions
            ]
            writer.writerow(
                [r.student_id, r.lab, r.notebook, r.status, _points(r.score), _points(r.max_score),
                 _points(r.manual_pending), r.reason, *cells]
            )
    return path


def export_nbgrader_csv(db_url: str, lab: str, path: Path) -> Path:
    """nbgrader's own CSV export (one row per student) for ``lab``."""
    from nbgrader.api import Gradebook
    from nbgrader.plugins import CsvExportPlugin

    path.parent.mkdir(parents=True, exist_ok=True)
    plugin = CsvExportPlugin(to=str(path), assignment=[lab])
    with Gradebook(db_url) as gb:
        plugin.export(gb)
    return path


def write_problem_feedback(result: NotebookResult, path: Path) -> Path:
    """Feedback HTML for a notebook that could not be graded, saying why."""
    path.parent.mkdir(parents=True, exist_ok=True)
    html = _TEMPLATES.get_template("problem_feedback.html.j2").render(result=result, points=_points)
    path.write_text(html, encoding="utf-8")
    return path


def grade_table(results: list[NotebookResult], title: str = "") -> Table:
    """A rich table: one row per student and notebook, one column per question."""
    questions = question_ids(results)
    table = Table(title=title, show_lines=False, header_style="bold")
    table.add_column("student")
    table.add_column("notebook")
    for q in questions:
        table.add_column(q.removeprefix("test_"), justify="right")
    table.add_column("total", justify="right", style="bold")
    table.add_column("status / reason", overflow="fold", max_width=60)
    for r in results:
        by_id = {q.grade_id: q for q in r.questions}
        cells = []
        for q in questions:
            if q not in by_id:
                cells.append("")
            elif by_id[q].needs_manual_grade:
                cells.append("[yellow]manual[/]")
            else:
                got = by_id[q]
                colour = "green" if got.score == got.max_score else ("red" if got.score == 0 else "yellow")
                cells.append(f"[{colour}]{_points(got.score)}/{_points(got.max_score)}[/]")
        status = escape(r.status if not r.reason else f"{r.status}: {r.reason}")
        style = "" if r.status == GRADED and not r.reason else "red"
        table.add_row(escape(r.student_id), r.notebook, *cells, f"{_points(r.score)}/{_points(r.max_score)}",
                      f"[{style}]{status}[/]" if style else status)
    return table


def print_table(results: list[NotebookResult], title: str = "", console: Console | None = None) -> None:
    (console or Console()).print(grade_table(results, title))

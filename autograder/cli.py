"""The ``autograder`` command: one subcommand per task, each a thin layer over the library.

    autograder release [LAB ...]          generate release/ and solutions/ from source/
    autograder grade LAB --submissions D  autograde a class, write CSVs and feedback
    autograder check-sync                 fail if release/ or solutions/ are out of date
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import warnings
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from autograder.course import Course, CourseError


def _course(args: argparse.Namespace) -> Course:
    return Course(Path(args.course_dir).resolve()) if args.course_dir else Course.find()


def cmd_release(args: argparse.Namespace, console: Console) -> int:
    from autograder.release import release_labs

    course = _course(args)
    for lab in args.labs or course.labs():
        with console.status(f"generating release/{lab} and solutions/{lab} …"):
            release_labs(course, [lab], execute=not args.no_execute)
        console.print(f"[green]✓[/] {lab}: release/{lab}, solutions/{lab}")
    return 0


def cmd_grade(args: argparse.Namespace, console: Console) -> int:
    from autograder.collect import SubmissionsError, find_submissions
    from autograder.grading import grade_lab
    from autograder.reports import print_table

    course = _course(args)
    submissions = Path(args.submissions).resolve()
    try:
        students = sorted({s.student_id for s in find_submissions(submissions, args.lab, course.notebooks(args.lab))})
    except SubmissionsError as exc:
        console.print(f"[red]error:[/] {exc}")
        return 2
    if not students:
        console.print(f"[red]error:[/] no student folders in {submissions}")
        return 2
    progress = Progress(
        TextColumn("[bold]grading {task.fields[lab]}"), BarColumn(), MofNCompleteColumn(),
        TextColumn("{task.fields[student]}"), TimeRemainingColumn(), console=console, transient=True,
    )
    with progress:
        task = progress.add_task("grade", total=len(students), lab=args.lab, student="")
        run = grade_lab(
            course, args.lab, submissions, cell_timeout=args.cell_timeout,
            on_student=lambda sid: progress.update(task, advance=1, student=sid),
        )
    print_table(run.results, title=f"{args.lab}: {len(students)} students", console=console)
    console.print(f"grades CSV:        {run.grades_csv}")
    console.print(f"nbgrader CSV:      {run.nbgrader_csv}")
    console.print(f"feedback (HTML):   {run.feedback_dir}/<student>/{args.lab}/")
    return 0


def cmd_check_sync(args: argparse.Namespace, console: Console) -> int:
    from autograder.sync import check_sync

    course = _course(args)
    with console.status("regenerating release/ and solutions/ from source/ to compare …"):
        drifts = check_sync(course, args.labs or None)
    if drifts:
        for drift in drifts:
            console.print(f"[red]✗[/] {drift}")
        console.print("release/ or solutions/ is out of date: run `autograder release` and commit the result.")
        return 1
    console.print("[green]✓[/] release/ and solutions/ match source/")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="autograder", description="Grade the deep-learning lab course with nbgrader.")
    parser.add_argument("--course-dir", help="course root (default: the nearest folder with nbgrader_config.py)")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("release", help="generate release/ and solutions/ from source/")
    p.add_argument("labs", nargs="*", metavar="LAB", help="labs to release (default: all)")
    p.add_argument("--no-execute", action="store_true", help="write solutions/ without running them")
    p.set_defaults(func=cmd_release)

    p = sub.add_parser("grade", help="autograde a class's submissions for one lab")
    p.add_argument("lab", metavar="LAB")
    p.add_argument("--submissions", required=True, metavar="DIR",
                   help="DIR/<student_id>/<notebook>.ipynb or nbgrader's DIR/<student_id>/<LAB>/<notebook>.ipynb")
    p.add_argument("--cell-timeout", type=int, metavar="SECONDS",
                   help="per-cell time limit (default: Execute.timeout in nbgrader_config.py)")
    p.set_defaults(func=cmd_grade)

    p = sub.add_parser("check-sync", help="exit 1 if release/ or solutions/ differ from what source/ generates")
    p.add_argument("labs", nargs="*", metavar="LAB")
    p.set_defaults(func=cmd_check_sync)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    console = Console(stderr=False)
    # nbgrader logs through traitlets' application logger; keep its chatter out of the table
    logging.getLogger("traitlets").setLevel(logging.ERROR)
    # nbgrader's gradebook code trips SQLAlchemy's autoflush notices; they say nothing to a TA
    warnings.filterwarnings("ignore", message=".*not in session.*")
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")  # debugpy's frozen-modules note on stderr
    try:
        return args.func(args, console)
    except CourseError as exc:
        console.print(f"[red]error:[/] {exc}")
        return 2


if __name__ == "__main__":
    sys.exit(main())

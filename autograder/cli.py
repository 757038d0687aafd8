"""The ``autograder`` command: one subcommand per task, each a thin layer over :mod:`autograder.api`.

    autograder release [LAB ...]          generate release/ and solutions/ from source/
    autograder roster import FILE         add the class (CSV or Moodle participants export) to the gradebook
    autograder collect LAB UPLOAD         sort a Moodle zip (or a folder) into submitted/ and quarantine/
    autograder grade LAB                  autograde submitted/ (or --submissions DIR), write CSVs and feedback
    autograder formgrader                 open nbgrader's formgrader on the course, for hand grading
    autograder report LAB                 write LAB's CSVs, Moodle files and feedback again from the gradebook
    autograder check NOTEBOOK             a student's own run of a notebook's tests
    autograder check-sync                 fail if release/ or solutions/ are out of date
    autograder calibrate LAB [-k 3]       grade the answer key k times: each checked metric, min/mean/max
    autograder data check|fetch|standin   the training labs' datasets
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import warnings
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from autograder.course import Course, CourseError


def _course(args: argparse.Namespace) -> Course:
    return Course(Path(args.course_dir).resolve()) if args.course_dir else Course.find()


def cmd_release(args: argparse.Namespace, console: Console) -> int:
    from autograder import api

    course = _course(args)
    for lab in args.labs or course.labs():
        with console.status(f"generating release/{lab} and solutions/{lab} …"):
            api.release(course, [lab], execute=not args.no_execute)
        console.print(f"[green]✓[/] {lab}: release/{lab}, solutions/{lab}")
    return 0


def cmd_grade(args: argparse.Namespace, console: Console) -> int:
    from autograder import api, datasets
    from autograder.intake.submissions import SubmissionsError, find_submissions
    from autograder.report.table import print_table

    course = _course(args)
    submissions = Path(args.submissions).resolve() if args.submissions else course.submitted_dir
    try:
        students = sorted({s.student_id for s in find_submissions(submissions, args.lab, course.notebooks(args.lab))})
    except SubmissionsError as exc:
        console.print(f"[red]error:[/] {exc}")
        return 2
    if not students:
        console.print(f"[red]error:[/] no student folders in {submissions}")
        return 2
    try:
        if args.processes < 32:  # a kernel alone has a dozen threads
            raise ValueError(f"--processes must be at least 32, not {args.processes}")
        options = api.GradeOptions(
            jobs=args.jobs, gpus=_gpu_list(args.gpus), per_gpu=args.per_gpu, cell_timeout=args.cell_timeout,
            notebook_timeout=args.notebook_timeout, memory_bytes=_bytes(args.memory), threads=args.threads,
            tasks=args.processes, disk_bytes=_bytes(args.disk, "--disk"),
            sandbox=not args.no_sandbox, force=args.force, cluster=args.cluster,
        )
    except ValueError as exc:
        console.print(f"[red]error:[/] {exc}")
        return 2
    progress = Progress(
        TextColumn("[bold]grading {task.fields[lab]}"), BarColumn(), MofNCompleteColumn(),
        TextColumn("{task.fields[student]}"), TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
        console=console, transient=True,
    )
    from autograder.run.ray_backend import ClusterError  # only what grading needs is imported

    try:
        with progress:
            task = progress.add_task("grade", total=len(students), lab=args.lab, student="")
            run = api.grade_lab(
                course, args.lab, submissions, options,
                on_student=lambda sid: progress.update(task, advance=1, student=sid),
            )
        if not run.sandboxed:
            console.print(f"[bold red]WARNING: student code ran WITHOUT isolation.[/] {run.sandbox_note}")
        # the students graded and those the roster expects but who sent nothing
        print_table(run.results, title=f"{args.lab}: {len({r.student_id for r in run.results})} students", console=console,
                    grades=run.lab_grades)
        for name, profile in run.data_profiles.items():  # thresholds differ by profile: say which graded
            console.print(f"data:              {name}: {datasets.describe_profile(profile)}")
        devices = sorted({s.gpus for s in run.slots if s.gpus}) or ["CPU"]
        console.print(f"graded {len(run.graded)}, unchanged {len(run.skipped)} (use --force to regrade) "
                      f"in {run.wall_s:.0f} s on {len(run.slots)} slots ({', '.join(devices)}); "
                      f"sandbox: {'bubblewrap' if run.sandboxed else 'none'}")
        print_outputs(run.results, run.grades_csv.parent, run.moodle_export, console)
        for student, saved in run.dropped_hand_grades.items():
            console.print(f"[yellow]hand grades of {escape(student)} saved to {saved}[/] (their submission can no longer "
                          "be graded, so it left the gradebook; re-enter them in the formgrader once it is regraded)")
        return 0
    except ClusterError as exc:  # unreachable, a node without bwrap or with other data: nothing was graded
        console.print(f"[red]error:[/] {escape(str(exc))}")
        return 2


def print_outputs(results, reports: Path, export, console: Console) -> None:
    """Where each report is, and the hand grades that wait for a TA (for ``grade`` and ``report``)."""
    lab = reports.name
    console.print(f"grades CSV:        {reports / 'grades.csv'}")
    console.print(f"nbgrader CSV:      {reports / 'nbgrader_grades.csv'}")
    _print_moodle(export, console)
    console.print(f"Gradescope:        {reports / 'gradescope'}/<student>/<notebook>/results.json")
    console.print(f"summary figure:    {reports / 'summary.png'}")
    console.print(f"feedback (HTML):   {reports.parent.parent / 'feedback'}/<student>/{lab}/")
    pending = sum(1 for r in results for q in r.questions if q.needs_manual_grade)
    review = [f"{r.student_id} ({r.notebook}): {', '.join(r.to_review)}" for r in results if r.to_review]
    if pending:
        console.print(f"[yellow]hand grading:[/] {pending} answers wait for a TA: `autograder formgrader`, "
                      f"then `autograder report {lab}`")
    for line in review:
        console.print(f"[yellow]hand grade to review (answer changed since):[/] {escape(line)}")


def cmd_report(args: argparse.Namespace, console: Console) -> int:
    from autograder import api
    from autograder.report.table import print_table

    course = _course(args)
    try:
        outputs = api.report(course, args.lab)
    except api.NotGradedError as exc:
        console.print(f"[red]error:[/] {exc}")
        return 2
    print_table(outputs.results, title=f"{args.lab}: {len({r.student_id for r in outputs.results})} students",
                console=console, grades=outputs.lab_grades)
    print_outputs(outputs.results, outputs.grades_csv.parent, outputs.moodle_export, console)
    return 0


def cmd_formgrader(args: argparse.Namespace, console: Console) -> int:
    import signal
    import subprocess

    from autograder import api

    course = _course(args)
    if not course.has_gradebook():
        console.print(f"[red]error:[/] no gradebook in {course.root}: run `autograder grade LAB` first")
        return 2
    busy = _port_in_use(args.port)
    if busy:
        console.print(f"[red]error:[/] port {args.port} on 127.0.0.1 is in use ({busy}): "
                      "choose another with --port, e.g. --port 8890")
        return 2
    server = api.formgrader_server(course, port=args.port, open_browser=not args.no_browser)
    console.print(f"formgrader: {server.url}", soft_wrap=True)
    console.print("Open it in a browser, grade, then run `autograder report LAB`. Ctrl-C stops the server.",
                  soft_wrap=True)
    sys.stdout.flush()
    env = {**os.environ, **server.env,
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    jupyter = subprocess.Popen(server.argv, cwd=server.cwd, env=env)
    # a TERM or HUP for this command (a service manager, a closed ssh session) stops the server too: an
    # orphaned server would keep the port and the gradebook open
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, lambda *_: jupyter.terminate())
    try:
        return jupyter.wait()
    except KeyboardInterrupt:
        jupyter.terminate()
        jupyter.wait(timeout=30)
        return 0


def _print_moodle(export, console: Console) -> None:
    """Where the Moodle files are, and every student they leave out (with why)."""
    if export is None:
        return
    if export.worksheet:
        console.print(f"Moodle worksheet:  {export.worksheet}  (assignment > Upload grading worksheet)")
    if export.feedback_zip:
        console.print(f"Moodle feedback:   {export.feedback_zip}  (assignment > Upload multiple feedback files in a zip)")
    console.print(f"Moodle gradebook:  {export.gradebook_csv}  (Grades > Import > CSV file, by ID number)")
    for problem in export.problems:
        console.print(f"[yellow]Moodle:[/] {escape(problem)}", soft_wrap=True)


def _gpu_list(text: str | None) -> list[str] | None:
    """--gpus "0,1" → ["0", "1"]; "none" → [] (CPU only); unset → None (use what is present)."""
    if text is None:
        return None
    if text.strip().lower() in ("", "none", "cpu"):
        return []
    gpus = [g.strip() for g in text.split(",") if g.strip()]
    if not all(g.isdigit() for g in gpus):
        raise ValueError(f"--gpus takes GPU indices like 0,1 (or none), not {text!r}")
    return gpus


def _bytes(text: str, option: str = "--memory") -> int:
    """"4G", "512M", "1.5GiB" or a number of bytes (the value of ``option``)."""
    units = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}
    value = text.strip().upper().removesuffix("IB").removesuffix("B")
    unit = value[-1] if value and value[-1] in units else ""
    try:
        number = float(value[: len(value) - len(unit)])
    except ValueError:
        raise ValueError(f"{option} takes a size like 4G or 512M, not {text!r}") from None
    if number <= 0:
        raise ValueError(f"{option} must be positive")
    return int(number * units[unit])


def cmd_roster(args: argparse.Namespace, console: Console) -> int:
    from autograder import api
    from autograder.intake.roster import RosterError

    course = _course(args)
    try:
        students = api.import_roster(course, args.file)
    except RosterError as exc:
        console.print(f"[red]error:[/] {exc}")
        return 2
    console.print(f"[green]✓[/] {len(students)} students in the roster ({course.roster_path}); "
                  "grade copies them into the gradebook")
    return 0


def cmd_collect(args: argparse.Namespace, console: Console) -> int:
    from autograder import api
    from autograder.intake.upload import UploadError

    course = _course(args)
    try:
        report = api.collect(course, args.lab, args.upload, due=args.due, timezone=args.timezone, pattern=args.pattern)
    except (UploadError, ValueError) as exc:  # an unreadable upload, a due date that is not ISO 8601
        console.print(f"[red]error:[/] {exc}")
        return 2
    print_collect_report(report, console)
    return 0


def print_collect_report(report, console: Console) -> None:
    from rich.table import Table

    from autograder.intake.upload import COLLECTED, QUARANTINED, SUPERSEDED

    table = Table(title=f"collect {report.lab}", header_style="bold")
    for column in ("participant", "file", "student", "status", "notebook", "reason"):
        table.add_column(column, overflow="fold")
    colours = {COLLECTED: "green", SUPERSEDED: "yellow", QUARANTINED: "red"}
    for d in report.decisions:
        late = f" (late {d.seconds_late / 3600:.1f} h)" if d.seconds_late else ""
        table.add_row(escape(d.file.participant or "?"), escape(d.file.filename), escape(d.student_id or "?"), f"[{colours[d.status]}]{d.status}[/]{late}",
                      d.notebook, escape(d.reason))
    console.print(table)
    total = len(report.decisions)
    console.print(f"{total} files = {report.count(COLLECTED)} collected + {report.count(SUPERSEDED)} older attempts "
                  f"+ {report.count(QUARANTINED)} quarantined")
    if report.not_on_roster:
        console.print(f"[yellow]not on the roster:[/] {', '.join(report.not_on_roster)}")
    if report.without_submission:
        console.print(f"[yellow]on the roster, nothing collected:[/] {', '.join(report.without_submission)}")
    console.print(f"collect report: {report.report_csv}")


def cmd_check(args: argparse.Namespace, console: Console) -> int:
    from autograder.api import check_notebook

    path = Path(args.notebook)
    if not path.is_file():
        console.print(f"[red]error:[/] no such notebook: {path}")
        return 2
    with console.status(f"running {path.name} …"):
        result = check_notebook(path, timeout=args.timeout)
    for test in result.tests:
        mark = "[green]✓ OK  [/]" if test.passed else "[red]✗ NG  [/]"
        console.print(f"{mark} {test.grade_id} ({test.points:g} 点 points)")
        if not test.passed:
            console.print(f"      {escape(test.message)}")
    for line in result.errors_elsewhere:
        console.print(f"[yellow]! エラー / error in {escape(line)}[/]")
    console.print(f"見えているテスト / visible tests: {result.score:g} / {result.max_score:g} 点 points"
                  + (f" (+ {result.manual_points:g} 点 graded by hand)" if result.manual_points else ""))
    console.print("採点では隠しテストも実行されます / the grader also runs hidden tests.")
    return 0 if all(t.passed for t in result.tests) else 1


def cmd_calibrate(args: argparse.Namespace, console: Console) -> int:
    from rich.table import Table

    from autograder.api import GradeOptions, calibrate
    from autograder.authoring.calibrate import describe

    course = _course(args)
    course.notebooks(args.lab)  # a clear error for an unknown lab
    if args.runs < 1:
        console.print("[red]error:[/] -k must be at least 1")
        return 2
    try:
        options = GradeOptions(jobs=args.jobs, gpus=_gpu_list(args.gpus), per_gpu=args.per_gpu)
    except ValueError as exc:
        console.print(f"[red]error:[/] {exc}")
        return 2
    with console.status(f"grading the answer key of {args.lab} {args.runs} times"):
        result = calibrate(course, args.lab, args.runs, options)
    profiles = ", ".join(f"{k}: {v}" for k, v in result.profile.items()) or "none"
    table = Table(title=f"{args.lab}: answer key graded {result.runs} times (data: {profiles})")
    for column in ("notebook", "metric", "min", "mean", "max", "threshold", "margin"):
        table.add_column(column, justify="left" if column in ("notebook", "metric") else "right")
    for m in result.metrics:
        low, mean, high = describe(m.values)
        threshold = f"{m.direction} {m.threshold:g}" if m.threshold is not None else ""
        margin = f"{m.margin:+.4g}" if m.margin is not None else ""
        table.add_row(m.notebook, m.name, f"{low:.4g}", f"{mean:.4g}", f"{high:.4g}", threshold, margin)
    for notebook, seconds in sorted(result.elapsed.items()):
        low, mean, high = describe(seconds)
        table.add_row(notebook, "execution_s", f"{low:.1f}", f"{mean:.1f}", f"{high:.1f}", "", "")
    console.print(table)
    for notebook, scores in sorted(result.scores.items()):
        full = all(s == result.max_scores[notebook] for s in scores)
        mark = "[green]✓[/]" if full else "[red]✗[/]"
        console.print(f"{mark} {notebook}: scores {', '.join(f'{s:g}' for s in scores)} of {result.max_scores[notebook]:g} "
                      "automatic points")
    failing = [m for m in result.metrics if m.margin is not None and m.margin < 0]
    return 1 if failing or any(s != result.max_scores[nb] for nb, ss in result.scores.items() for s in ss) else 0


def cmd_data(args: argparse.Namespace, console: Console) -> int:
    from autograder import datasets

    course = None
    try:
        course = _course(args)
    except CourseError:
        pass  # outside a course the data lives in $DL_LABS_DATA or ~/.cache/dl-labs
    directory = Path(args.dir) if args.dir else (course.data_dir if course else datasets.data_dir())
    modules = datasets.registry()
    names = args.datasets or list(modules)
    unknown = [n for n in names if n not in modules]
    if unknown:
        console.print(f"[red]error:[/] unknown dataset {', '.join(unknown)} (known: {', '.join(modules)})")
        return 2
    failed = False
    for name in names:
        module = modules[name]
        try:
            if args.data_command == "fetch":
                module.fetch(directory)
            elif args.data_command == "standin":
                module.write_standin(directory)
        except Exception as exc:  # offline, a bad checksum, a full disk: say which and go on with the next
            console.print(f"[red]✗[/] {name}: {exc}")
            failed = True
            continue
        ok, description = module.check(directory)
        console.print(f"{'[green]✓[/]' if ok else '[red]✗[/]'} {name}: {description}")
        failed |= not ok
    console.print(f"data directory: {directory}")
    return 1 if failed else 0


def cmd_check_sync(args: argparse.Namespace, console: Console) -> int:
    from autograder.api import check_sync

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


def _port_in_use(port: int) -> str:
    """Why ``port`` on 127.0.0.1 cannot be served (e.g. another formgrader), or "" when it is free: the server
    would not move to another port, so that the URL printed is the one served."""
    import socket

    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError as exc:
            return exc.strerror or str(exc)
    return ""


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
    p.add_argument("--submissions", metavar="DIR",
                   help="DIR/<student_id>/<notebook>.ipynb or DIR/<student_id>/<LAB>/<notebook>.ipynb "
                        "(default: the course's submitted/, where `collect` puts them)")
    p.add_argument("-j", "--jobs", type=int, metavar="N",
                   help="notebooks graded at once (default: CPU cores; with GPUs: GPUs x --per-gpu)")
    p.add_argument("--gpus", metavar="LIST", help="GPU indices to use, e.g. 0,1, or none (default: all present)")
    p.add_argument("--per-gpu", type=int, metavar="K",
                   help="kernels sharing one GPU (default: as many as its memory and the cores allow)")
    p.add_argument("--cell-timeout", type=int, metavar="SECONDS",
                   help="per-cell time limit (default: Execute.timeout in nbgrader_config.py)")
    p.add_argument("--notebook-timeout", type=int, default=3600, metavar="SECONDS",
                   help="time limit for a whole notebook (default: 3600)")
    p.add_argument("--memory", default="4G", metavar="SIZE", help="memory limit per notebook (default: 4G)")
    p.add_argument("--disk", default="2G", metavar="SIZE",
                   help="what a notebook may write into its folder, on the grader's disk (default: 2G)")
    p.add_argument("--threads", type=int, metavar="N", help="CPU threads per notebook (default: cores / jobs)")
    p.add_argument("--processes", type=int, default=1024, metavar="N",
                   help="processes and threads per notebook; more stops it, as a fork bomb (default: 1024)")
    p.add_argument("--force", action="store_true", help="regrade submissions that are unchanged since last time")
    p.add_argument("--no-sandbox", action="store_true",
                   help="run student code without bubblewrap isolation (not recommended)")
    p.add_argument("--cluster", metavar="ADDRESS",
                   help="grade on a Ray cluster: the head's host:port (`ray start --head`); see README")
    p.set_defaults(func=cmd_grade)

    p = sub.add_parser("report", help="write a lab's CSVs, Moodle worksheet, results.json, figure and feedback "
                                      "again from the gradebook (after hand grading), executing nothing")
    p.add_argument("lab", metavar="LAB")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("formgrader", help="start nbgrader's formgrader on the course (hand grading) and print its URL")
    p.add_argument("--port", type=int, default=8888, help="port on 127.0.0.1 (default: 8888)")
    p.add_argument("--no-browser", action="store_true", help="only print the URL; do not open a browser")
    p.set_defaults(func=cmd_formgrader)

    p = sub.add_parser("roster", help="manage the class roster")
    roster_sub = p.add_subparsers(dest="roster_command", required=True)
    q = roster_sub.add_parser("import", help="add students from a CSV (id,family_name,given_name,email) "
                                             "or Moodle's participants export to the gradebook")
    q.add_argument("file", metavar="FILE")
    q.set_defaults(func=cmd_roster)

    p = sub.add_parser("collect", help="sort a class's upload (Moodle zip or folder) into submitted/")
    p.add_argument("lab", metavar="LAB")
    p.add_argument("upload", metavar="UPLOAD", help="Moodle's 'Download all submissions' zip, or a folder")
    p.add_argument("--due", help="due date, ISO 8601 (e.g. 2026-07-14T23:59); late work is marked in the gradebook")
    p.add_argument("--timezone", default="Asia/Tokyo", help="time zone of Moodle's timestamps (default: Asia/Tokyo)")
    p.add_argument("--pattern", default=r"^(?P<student>[^_]+)_.*$",
                   help="for a folder: regex on file names with a (?P<student>...) group")
    p.set_defaults(func=cmd_collect)

    p = sub.add_parser("check", help="run a notebook's tests locally and say what to fix")
    p.add_argument("notebook", metavar="NOTEBOOK")
    p.add_argument("--timeout", type=int, default=600, help="per-cell time limit in seconds")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("calibrate", help="grade the answer key k times; report each checked metric and the time")
    p.add_argument("lab", metavar="LAB")
    p.add_argument("-k", "--runs", type=int, default=3, help="how many times (default: 3)")
    p.add_argument("-j", "--jobs", type=int, metavar="N", help="as for grade")
    p.add_argument("--gpus", metavar="LIST", help="as for grade")
    p.add_argument("--per-gpu", type=int, default=1, metavar="K", help="as for grade")
    p.set_defaults(func=cmd_calibrate)

    p = sub.add_parser("data", help="the training labs' datasets (MNIST, CIFAR-10): check, fetch, or write stand-ins")
    p.add_argument("data_command", choices=["check", "fetch", "standin"],
                   help="check: what is present and valid; fetch: download and verify (needs a network); "
                        "standin: write the offline stand-ins in the same formats")
    p.add_argument("datasets", nargs="*", metavar="DATASET", help="mnist, cifar10 (default: all)")
    p.add_argument("--dir", help="data directory (default: $DL_LABS_DATA, else the course's data/)")
    p.set_defaults(func=cmd_data)

    p = sub.add_parser("check-sync", help="exit 1 if release/ or solutions/ differ from what source/ generates")
    p.add_argument("labs", nargs="*", metavar="LAB")
    p.set_defaults(func=cmd_check_sync)
    return parser


# Width of output that is not a terminal (a log, CI, a pipe): wide enough that no table wraps.
UNWRAPPED_WIDTH = 1000


def make_console(file=None) -> Console:
    """The console commands print to: a terminal's own width; anything else (a log, CI, a pipe) gets lines
    as long as they need, unless $COLUMNS says otherwise, since rich's default of 80 columns would wrap the
    grade table's rows into unreadable pieces in a log."""
    console = Console(file=file, stderr=False)
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console = Console(file=file, stderr=False, width=UNWRAPPED_WIDTH)
    return console


def skip_unused_grammar() -> None:
    """Keep jsonschema from loading rfc3987_syntax, which compiles dozens of parsers when imported (seconds,
    on every command that reads a notebook: nbformat imports jsonschema). It serves only jsonschema's "iri"
    format check, which nbformat's validation does not use; without it jsonschema skips that check, as it
    does when the package is absent (jsonschema/_format.py imports it under suppress(ImportError))."""
    sys.modules.setdefault("rfc3987_syntax", None)


def main(argv: list[str] | None = None) -> int:
    skip_unused_grammar()
    args = build_parser().parse_args(argv)
    console = make_console()
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

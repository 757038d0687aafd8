"""How long the TA's small steps take: `roster import` and a `grade` with nothing new, for a class of N.

Not a test. Prints wall time and CPU time (user + system of the command's processes; on a busy machine the
wall time grows, the CPU time hardly does) as the median of --repeat runs, beside starting Python itself;
results go by hand into docs/benchmarks.md.

The class: a roster of N students (default 300), of whom --graded (default 2) sent the answer key of
lab03's normal notebook; the rest sent nothing, so every output (grade table, CSVs, Moodle files, a feedback
page each) has N rows. The first grade (which runs the notebooks) is not timed; the timed ones find nothing new.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
AUTOGRADER = [sys.executable, "-m", "autograder.cli"]


def timed(command: list[str], cwd: Path, repeat: int) -> tuple[float, float]:
    """(median wall seconds, median CPU seconds of the command and its children) over ``repeat`` runs."""
    walls, cpus = [], []
    env = {**os.environ, "COLUMNS": "200", "AUTOGRADER_CASE_SALT": "bench"}
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(command, cwd=cwd, env=env, check=True, capture_output=True)
        walls.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return statistics.median(walls), statistics.median(cpus)


def make_course(root: Path, students: int, graded: int) -> tuple[Path, Path]:
    """A course with a roster of ``students`` and a submissions folder of ``graded`` answer keys."""
    root.mkdir(parents=True)
    shutil.copy(REPO / "nbgrader_config.py", root)
    for folder in ("source", "release", "solutions"):
        shutil.copytree(REPO / folder, root / folder)
    roster = root / "roster.csv"
    lines = ["id,family_name,given_name,email"]
    lines += [f"s{i:05d},姓{i},名{i},s{i:05d}@example.ac.jp" for i in range(students)]
    roster.write_text("\n".join(lines) + "\n", encoding="utf-8")
    submissions = root / "subs"
    for i in range(graded):
        (submissions / f"s{i:05d}").mkdir(parents=True)
        shutil.copy(REPO / "solutions" / "lab03" / "03_n.ipynb", submissions / f"s{i:05d}" / "03_n.ipynb")
    return roster, submissions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--students", type=int, default=300)
    parser.add_argument("--graded", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-small-") as tmp:
        root = Path(tmp) / "course"
        roster, submissions = make_course(root, args.students, args.graded)
        python = timed([sys.executable, "-c", "pass"], root, args.repeat)
        imported = timed([*AUTOGRADER, "roster", "import", str(roster)], root, args.repeat)
        grade = [*AUTOGRADER, "grade", "lab03", "--submissions", str(submissions)]
        subprocess.run(grade, cwd=root, check=True, capture_output=True,
                       env={**os.environ, "AUTOGRADER_CASE_SALT": "bench"})  # runs the notebooks: not timed
        unchanged = timed(grade, root, args.repeat)
    print(f"class of {args.students} ({args.graded} graded), median of {args.repeat}: wall s / CPU s")
    for name, (wall, cpu) in (("python -c pass", python), ("roster import", imported),
                              ("grade, nothing new", unchanged)):
        print(f"  {name:<20} {wall:6.2f} {cpu:6.2f}")


if __name__ == "__main__":
    main()

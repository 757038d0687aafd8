"""How long the grader's verdicts take: replaying every judged check in the grader's process.

Not a test. Prints one line per notebook (milliseconds per notebook, median of --repeat runs); results
go by hand into docs/benchmarks.md.

Without arguments, the answer keys that run in-process (replay_harness.JUDGED_NOTEBOOKS) are recorded here
and their transcripts replayed. With ``--course DIR``, the notebooks that a grading run in that course
executed (``.autograder/executed/<student>/<lab>/*.ipynb``, the training labs included) are replayed as
JudgeVerdicts replays them, with the course's salt and data directory.
"""

from __future__ import annotations

import argparse
import functools
import statistics
import sys
import time
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, for the shared harness

from replay_harness import JUDGED_NOTEBOOKS, judge_cells, record_cells  # noqa: E402

from autograder.course import Course  # noqa: E402
from autograder.score import judge  # noqa: E402


def _timed(run, repeat: int) -> tuple[float, list]:
    run()  # warm: imports, torch, the datasets' caches
    times, verdicts = [], []
    for _ in range(repeat):
        start = time.perf_counter()
        verdicts = run()
        times.append(time.perf_counter() - start)
    return statistics.median(times), verdicts


def answer_keys(repeat: int) -> None:
    salt = "bench"
    for notebook in JUDGED_NOTEBOOKS:
        answers, cells = record_cells(notebook, salt)
        seconds, verdicts = _timed(functools.partial(judge_cells, answers, cells, salt), repeat)
        assert all(v.passed for v in verdicts), [v for v in verdicts if not v.passed]
        size = sum(len(str(o)) for _, outputs in cells for o in outputs)
        print(f"{notebook}: {len(verdicts)} checks judged in {seconds * 1000:.0f} ms (transcripts {size / 1024:.0f} KiB)")


def _replay(tests: list, answers: list[str], salt: str, data: str) -> list:
    return [v for c in tests for v in judge.judge_cell(c.source, c.outputs, answers, salt, data) or []]


def executed(course_dir: Path, repeat: int) -> None:
    course = Course(course_dir)
    salt, data = course.case_salt(), str(course.data_dir)
    for path in sorted((course_dir / ".autograder" / "executed").glob("*/*/*.ipynb")):
        start = time.perf_counter()
        nb = nbformat.read(path, as_version=4)
        read = time.perf_counter() - start
        code = [c for c in nb.cells if c.cell_type == "code"]
        answers = [c.source for c in code if not c.metadata.get("nbgrader", {}).get("grade")]
        tests = [c for c in code if c.metadata.get("nbgrader", {}).get("grade")]

        seconds, verdicts = _timed(functools.partial(_replay, tests, answers, salt, data), repeat)
        passed = sum(v.passed for v in verdicts)
        print(f"{path.relative_to(course_dir)}: {passed}/{len(verdicts)} checks passed, replayed in "
              f"{seconds * 1000:.0f} ms (reading the notebook: {read * 1000:.0f} ms, {path.stat().st_size / 2**20:.1f} MiB)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--course", type=Path, help="a course a grading run executed notebooks in")
    args = parser.parse_args()
    if args.course:
        executed(args.course, args.repeat)
    else:
        answer_keys(args.repeat)


if __name__ == "__main__":
    main()

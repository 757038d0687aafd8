"""Benchmark: the head's serialized work per student while a class is graded.

Grades N copies of a lab's sample class (lab03 by default) in-process with ``api.grade_lab`` and measures
the head process itself: its CPU seconds (all of its threads, not its worker processes and their
kernels), and the wall time. The head is one Python process, so its CPU seconds are an upper bound
of its serialized work: whatever the head computes, it computes under one GIL, however many slots
run beside it. Head seconds per student = head CPU seconds / N (fixed costs included: recording the
lab, the reports, the summary figure).

It also prints the head's own account of its phases when the grading run reports one
(``GradingRun.head``). Not a test: run it by hand, e.g.

    python tests/benchmarks/head.py -n 48 -j 2 [--lab lab03] [--out build/head.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import sys
import tempfile
import time
import types
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "benchmarks"))

from grading import _class, _course  # noqa: E402 (the same course and class as make bench)


def _head_cpu() -> float:
    """CPU seconds of this process (every thread), without its children."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class _TimedLock:
    """A lock that adds up how long it was held: the grader's serialized gradebook steps."""

    held_s = 0.0

    def __init__(self):
        import threading

        self._lock = threading.Lock()
        self._since = 0.0

    def __enter__(self):
        self._lock.acquire()
        self._since = time.perf_counter()
        return self

    def __exit__(self, *exc):
        _TimedLock.held_s += time.perf_counter() - self._since
        self._lock.release()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lab", default="lab03")
    parser.add_argument("-n", type=int, default=48, help="students")
    parser.add_argument("-j", "--jobs", type=int, default=2)
    parser.add_argument("--out", type=Path, default=REPO / "build" / "head.json")
    parser.add_argument("--keep", action="store_true", help="keep the scratch course (its path is printed)")
    args = parser.parse_args()

    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    from autograder import api
    from autograder.course import Course
    from autograder.grade import GradeOptions

    tmp = Path(tempfile.mkdtemp(prefix=f"bench-head-{args.lab}-"))
    try:
        root = _course(tmp / "course")
        _class(args.lab, args.n, tmp / "subs")
        course = Course(root)
        import autograder.grade

        # grade.py's own lock only: the threading module itself is untouched
        autograder.grade.threading = types.SimpleNamespace(Lock=_TimedLock)
        cpu0, wall0 = _head_cpu(), time.perf_counter()
        run = api.grade_lab(course, args.lab, tmp / "subs", GradeOptions(jobs=args.jobs))
        cpu, wall = _head_cpu() - cpu0, time.perf_counter() - wall0
        row = {
            "lab": args.lab, "students": args.n, "jobs": args.jobs, "notebooks": len(run.results),
            "graded": len(run.graded), "wall_s": round(wall, 1), "head_cpu_s": round(cpu, 1),
            "head_cpu_s_per_student": round(cpu / args.n, 3),
            "lock_held_s": round(_TimedLock.held_s, 1), "lock_held_s_per_student": round(_TimedLock.held_s / args.n, 3),
            "head_phases_s": getattr(run, "head", None),
            "scores": sum(r.score for r in run.results),
            "cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
        }
        print(json.dumps(row, indent=1))
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(row, indent=1), encoding="utf-8")
    finally:
        if args.keep:
            print(f"course kept in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

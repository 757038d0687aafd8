"""Benchmark: plain sequential `nbgrader autograde` against `autograder grade -j N`, per lab.

For each lab with a sample class, the same N submissions (the sample class, repeated
under new ids until there are N) are graded three ways on fresh course copies:

- nbgrader: `nbgrader autograde LAB --student=<id>` per student (its own CLI, sequential);
- autograder: `autograder grade LAB -j JOBS` (sandboxed, warm kernels);
- bare: each sanitized notebook executed once by nbclient in a fresh kernel, nothing else:
  the floor every grader pays.

It prints wall times, their ratio, and the per-notebook overhead of each grader over bare
execution, and writes them as JSON (for docs/benchmarks.md). Not a test: run `make bench`.

    python tests/benchmarks/grading.py [--labs lab03 lab02] [-n 8] [-j 2] [--out bench.json]
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbclient
import nbformat

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "examples" / "submissions"
# lab -> sample folder (lab 03's hard notebook has its own sample class)
LAB_SAMPLES = {"lab01": "lab01", "lab02": "lab02", "lab03": "lab03", "lab04": "lab04", "lab05": "lab05",
               "lab06": "lab06"}


def _course(dest: Path) -> Path:
    dest.mkdir(parents=True)
    shutil.copy(REPO / "nbgrader_config.py", dest)
    for name in ("source", "release"):
        shutil.copytree(REPO / name, dest / name)
    return dest


def _gradable(folder: Path) -> bool:
    """Sample students whose notebooks parse (the broken-file samples are not a timing case)."""
    try:
        return all(nbformat.read(p, as_version=4) is not None for p in folder.rglob("*.ipynb")) and any(
            folder.rglob("*.ipynb"))
    except Exception:
        return False


def _class(lab: str, n: int, dest: Path) -> list[str]:
    """N student folders DEST/<id>/<LAB>/<nb>.ipynb, cycling through the lab's sample class."""
    samples = sorted(p for p in (SAMPLES / LAB_SAMPLES[lab]).iterdir() if p.is_dir() and _gradable(p))
    students = []
    for i in range(n):
        sample = samples[i % len(samples)]
        sid = f"s{i:03d}-{sample.name}"
        target = dest / sid / lab
        target.mkdir(parents=True)
        for nb in sample.rglob("*.ipynb"):
            shutil.copy(nb, target / nb.name)
        students.append(sid)
    return students


def _run(cmd: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return time.perf_counter() - start


def bench_nbgrader(lab: str, n: int, work: Path) -> tuple[float, Path]:
    root = _course(work / "nbgrader")
    students = _class(lab, n, root / "submitted")
    bindir = Path(sys.executable).parent
    _run([str(bindir / "nbgrader"), "db", "assignment", "add", lab], root)
    _run([str(bindir / "nbgrader"), "generate_assignment", lab, "--force"], root)
    start = time.perf_counter()
    for sid in students:  # nbgrader grades one submission at a time
        _run([str(bindir / "nbgrader"), "autograde", lab, f"--student={sid}", "--force"], root)
    return time.perf_counter() - start, root


def bench_autograder(lab: str, n: int, jobs: int, work: Path) -> float:
    root = _course(work / f"autograder-j{jobs}")
    _class(lab, n, root.parent / f"subs-j{jobs}")
    return _run([sys.executable, "-m", "autograder.cli", "grade", lab, "--submissions",
                 str(root.parent / f"subs-j{jobs}"), "-j", str(jobs)], root)


def bench_bare(nbgrader_root: Path, lab: str) -> tuple[float, int]:
    """Execute each notebook nbgrader autograded (outputs cleared) once, in a fresh kernel."""
    total, count = 0.0, 0
    for path in sorted((nbgrader_root / "autograded").glob(f"*/{lab}/*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "code":
                cell.outputs, cell.execution_count = [], None
        start = time.perf_counter()
        nbclient.NotebookClient(nb, timeout=600, allow_errors=True, kernel_name="python3",
                                resources={"metadata": {"path": str(path.parent)}}).execute()
        total += time.perf_counter() - start
        count += 1
    return total, count


def _data_for(labs: list[str]) -> None:
    """The training labs read $DL_LABS_DATA; without one, every grader gets the same offline stand-ins."""
    from autograder.labs import datasets_of

    if os.environ.get("DL_LABS_DATA") or not any(datasets_of(lab) for lab in labs):
        return
    data = Path(tempfile.mkdtemp(prefix="bench-data-"))
    atexit.register(shutil.rmtree, data, ignore_errors=True)
    _run([sys.executable, "-m", "autograder.cli", "data", "standin", "--dir", str(data)], cwd=REPO)
    os.environ["DL_LABS_DATA"] = str(data)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--labs", nargs="*", default=sorted(LAB_SAMPLES))
    parser.add_argument("-n", type=int, default=8, help="submissions per lab")
    parser.add_argument("-j", "--jobs", type=int, default=2)
    parser.add_argument("--out", type=Path, default=REPO / "build" / "bench.json")
    args = parser.parse_args()

    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    # nbgrader runs `alembic` from the venv's bin folder, which need not be on PATH
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    _data_for(args.labs)
    rows = []
    for lab in args.labs:
        with tempfile.TemporaryDirectory(prefix=f"bench-{lab}-") as tmp:
            work = Path(tmp)
            nbgrader_s, nbgrader_root = bench_nbgrader(lab, args.n, work)
            bare_s, notebooks = bench_bare(nbgrader_root, lab)
            ours_s = bench_autograder(lab, args.n, args.jobs, work)
            ours_1 = bench_autograder(lab, args.n, 1, work)
        row = {
            "lab": lab, "submissions": args.n, "notebooks": notebooks, "jobs": args.jobs,
            "nbgrader_sequential_s": round(nbgrader_s, 1),
            f"autograder_j{args.jobs}_s": round(ours_s, 1),
            "autograder_j1_s": round(ours_1, 1),
            "speedup": round(nbgrader_s / ours_s, 2),
            "bare_execution_s": round(bare_s, 1),
            "nbgrader_overhead_per_notebook_s": round((nbgrader_s - bare_s) / notebooks, 2),
            "autograder_j1_overhead_per_notebook_s": round((ours_1 - bare_s) / notebooks, 2),
        }
        rows.append(row)
        print(json.dumps(row), flush=True)

    print(f"\n{'lab':6} {'N':>3} {'nbgrader seq':>13} {f'autograder -j{args.jobs}':>15} {'ratio':>6} "
          f"{'bare':>7} {'nbgrader ovh/nb':>16} {'autograder -j1 ovh/nb':>22}")
    for r in rows:
        print(f"{r['lab']:6} {r['submissions']:>3} {r['nbgrader_sequential_s']:>12.1f}s "
              f"{r[f'autograder_j{args.jobs}_s']:>14.1f}s {r['speedup']:>5.2f}x {r['bare_execution_s']:>6.1f}s "
              f"{r['nbgrader_overhead_per_notebook_s']:>15.2f}s {r['autograder_j1_overhead_per_notebook_s']:>21.2f}s")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    machine = {"python": platform.python_version(), "cpus": os.cpu_count(), "machine": platform.machine()}
    args.out.write_text(json.dumps({"machine": machine, "rows": rows}, indent=1), encoding="utf-8")
    print(f"\nresults: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

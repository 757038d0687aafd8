"""GPU throughput: N copies of lab05's answer key (05_n, or 05_h with --hard) graded on one GPU at several --per-gpu.

Writes the full-size CIFAR-10 stand-in (50,000 training and 10,000 test images, in the real data's format)
unless $DL_LABS_DATA is set, then for each K in --per-gpu grades N copies with
`autograder grade lab05 --gpus 0 --per-gpu K` on a fresh course copy, and prints per K:

- submissions per GPU-hour (N / wall time);
- GPU memory per kernel (the largest any kernel process held, polled from nvidia-smi every second);
- where the time goes: kernel start and imports (the warm kernel's start, overlapped with the previous
  notebook), execution (the notebook's cells: training and the hidden checks in the kernel), nbgrader's
  and the grader's steps on the worker (sanitizing, scoring, verdicts, feedback), and the head.

Not a test: `make gpu-bench` (about 10 minutes on an H100/H200 with the defaults). It needs only this
project's venv and a GPU; nothing is downloaded. Results also go to --out as JSON.

    python tests/benchmarks/gpu.py [-n 12] [--per-gpu 4 8 12] [--hard] [--out build/gpu-bench.json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def write_full_size_standin(directory: Path) -> None:
    """The CIFAR-10 stand-in at the real data's size (the issue's recipe: 10,000 images per batch)."""
    from autograder.datasets import cifar10

    cifar10.STANDIN_PER_BATCH, cifar10.STANDIN_TEST = 10000, 10000
    cifar10.write_standin(directory)


class GpuMemory:
    """The largest GPU memory (bytes) any one process held while running, polled from nvidia-smi."""

    def __init__(self):
        self.peak, self._stop = 0, threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def _poll(self) -> None:
        while not self._stop.wait(1.0):
            out = subprocess.run(["nvidia-smi", "--query-compute-apps=pid,used_memory", "--format=csv,noheader,nounits"],
                                 capture_output=True, text=True).stdout
            for line in out.splitlines():
                mib = line.rpartition(",")[2].strip()
                if mib.isdigit():
                    self.peak = max(self.peak, int(mib) * 2**20)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def bench(per_gpu: int, n: int, notebook: str, work: Path) -> dict:
    root = work / f"course-k{per_gpu}"
    root.mkdir(parents=True)
    shutil.copy(REPO / "nbgrader_config.py", root)
    for name in ("source", "release"):
        shutil.copytree(REPO / name, root / name)
    subs = work / f"subs-k{per_gpu}"
    for i in range(n):
        (subs / f"s{i:03d}").mkdir(parents=True)
        shutil.copy(REPO / "solutions" / "lab05" / f"{notebook}.ipynb", subs / f"s{i:03d}" / f"{notebook}.ipynb")
    cmd = [sys.executable, "-m", "autograder.cli", "grade", "lab05", "--submissions", str(subs), "--gpus", "0",
           "--per-gpu", str(per_gpu)]
    with GpuMemory() as memory:
        start = time.perf_counter()
        proc = subprocess.run(cmd, cwd=root, capture_output=True, text=True)
        wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    records = [json.loads(line) for line in (root / ".autograder" / "ledger" / "lab05.log.jsonl").read_text().splitlines()]
    executing = sum(run["elapsed"] for r in records for run in r["notebooks"].values())
    on_worker = sum(r["elapsed"] for r in records)
    run = json.loads((root / "reports" / "lab05" / "run.json").read_text())
    scores = (root / "reports" / "lab05" / "grades.csv").read_text().splitlines()[1:]
    return {
        "per_gpu": per_gpu, "submissions": n, "notebook": notebook, "wall_s": round(wall, 1),
        "submissions_per_gpu_hour": round(n / wall * 3600),
        "gpu_memory_per_kernel_gib": round(memory.peak / 2**30, 2),
        "per_submission_s": {  # summed over slots, then per submission
            "execution (training, checks in the kernel)": round(executing / n, 1),
            "worker: nbgrader, verdicts, feedback": round((on_worker - executing) / n, 1),
        },
        "head_wall_outside_grading_s": round(wall - run.get("wall_s", wall), 1),
        "graded": run.get("graded"), "slots": run.get("slots"),
        "scores": sorted({line.split(",")[4] for line in scores if f",{notebook}," in line}),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=12, help="copies of the answer key per run")
    parser.add_argument("--per-gpu", type=int, nargs="+", default=[4, 8, 12])
    parser.add_argument("--hard", action="store_true", help="05_h instead of 05_n")
    parser.add_argument("--out", type=Path, default=REPO / "build" / "gpu-bench.json")
    args = parser.parse_args()
    if shutil.which("nvidia-smi") is None:
        print("gpu-bench: no NVIDIA GPU here (nvidia-smi not found); nothing measured", file=sys.stderr)
        return 2
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    with tempfile.TemporaryDirectory(prefix="gpu-bench-") as tmp:
        work = Path(tmp)
        if not os.environ.get("DL_LABS_DATA"):
            t0 = time.perf_counter()
            write_full_size_standin(work / "data")
            os.environ["DL_LABS_DATA"] = str(work / "data")
            print(f"full-size stand-in written in {time.perf_counter() - t0:.0f} s", flush=True)
        rows = []
        for k in args.per_gpu:
            rows.append(bench(k, args.n, "05_h" if args.hard else "05_n", work))
            print(json.dumps(rows[-1], ensure_ascii=False), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(rows, ensure_ascii=False, indent=1), encoding="utf-8")
    print(f"{'per-gpu':>8} {'subs/GPU-h':>11} {'GiB/kernel':>11} {'wall s':>8}")
    for r in rows:
        print(f"{r['per_gpu']:>8} {r['submissions_per_gpu_hour']:>11} {r['gpu_memory_per_kernel_gib']:>11} "
              f"{r['wall_s']:>8}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

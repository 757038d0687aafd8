"""What one poll of the executor's resource watch costs (every 0.2 s per running kernel): the kernel's process tree
(resident memory, processes and threads), the files in its sandbox's in-memory /tmp and /dev/shm, and the walk of its
folder for the disk limit, on the folder of a freshly started kernel and on folders of many files (a notebook that
floods its folder is walked until it passes the limit, 100,000 files by default).

Not a test. Prints the median wall and CPU microseconds of --repeat polls; results go by hand into docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
from timing import timed

from autograder.run import execution as executor
from autograder.run import sandbox, usage


def row(what: str, times: tuple[float, float]) -> None:
    """One line of the table: ``times`` (wall, CPU) in seconds, printed in microseconds."""
    print(f"{what:<58} {times[0] * 1e6:>10.0f} {times[1] * 1e6:>10.0f}")


async def kernel_polls(work: Path, repeat: int) -> None:
    """The parts of a poll on a real kernel (sandboxed where bubblewrap runs here)."""
    settings = executor.KernelSettings(work_root=work, sandboxed=sandbox.available()[0])
    kernel = await executor.start_kernel(settings)
    try:
        root = usage.kernel_process(kernel.km)
        procs = [root.pid, *(p.pid for p in root.children(recursive=True))]
        row("process tree: resident memory, tasks, in-memory files", timed(lambda: usage.tree_usage(root), repeat))
        row("in-memory /tmp and /dev/shm alone", timed(lambda: sandbox.private_tmpfs_bytes(procs), repeat))
        entries = usage.folder_usage(kernel.scratch, executor.Limits.disk_files)[1]
        row(f"the kernel's folder ({entries} entries)",
            timed(lambda: usage.folder_usage(kernel.scratch, executor.Limits.disk_files), repeat))
    finally:
        await executor.shutdown(kernel)


# A process holding 1 GiB, with four forked children that have read all of it (data-loader workers), ready when it
# prints.
SHARING = """
import numpy as np, os, time
data = np.ones(2**30 // 8)
for _ in range(4):
    if os.fork() == 0:
        data.sum()
        time.sleep(600)
print('ready', flush=True)
time.sleep(600)
"""


def shared_memory_polls(repeat: int) -> None:
    """A poll of a tree whose resident memory overcounts what its processes share: summed as it is, and with the
    proportional shares read (what the watch does only past the memory limit)."""
    proc = subprocess.Popen([sys.executable, "-c", SHARING], stdout=subprocess.PIPE, text=True)
    try:
        proc.stdout.readline()
        time.sleep(1)  # the children's reads
        root = psutil.Process(proc.pid)
        counted, _ = usage.tree_usage(root)
        shared, _ = usage.tree_usage(root, memory_limit=1)
        row(f"1 GiB shared by 5 processes, resident ({counted / 2**30:.1f} GiB)", timed(lambda: usage.tree_usage(root),
                                                                                         repeat))
        row(f"the same, shares read ({shared / 2**30:.1f} GiB)",
            timed(lambda: usage.tree_usage(root, memory_limit=1), max(repeat // 20, 3)))
    finally:
        usage.kill_tree(psutil.Process(proc.pid))
        proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()
    print(f"{'one poll':<58} {'wall µs':>10} {'CPU µs':>10}")
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(kernel_polls(Path(tmp) / "work", args.repeat))
        shared_memory_polls(args.repeat)
        for count in (10_000, executor.Limits.disk_files):
            flood = Path(tmp) / f"flood{count}"
            flood.mkdir()
            for i in range(count):
                (flood / str(i)).touch()
            row(f"a folder of {count:,} empty files", timed(lambda: usage.folder_usage(flood, count), 5))  # noqa: B023


if __name__ == "__main__":
    main()

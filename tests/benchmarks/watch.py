"""What one poll of the executor's resource watch costs (every 0.2 s per running kernel): the kernel's process tree
(resident memory, processes and threads), the files in its sandbox's in-memory /tmp and /dev/shm, and the walk of its
folder for the disk limit, on the folder of a freshly started kernel and on folders of many files (a notebook that
floods its folder is walked until it passes the limit, 100,000 files by default).

Not a test. Prints the median wall and CPU microseconds of --repeat polls; results go by hand into docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from pathlib import Path

from timing import timed

from autograder.run import execution as executor
from autograder.run import sandbox


def row(what: str, times: tuple[float, float]) -> None:
    """One line of the table: ``times`` (wall, CPU) in seconds, printed in microseconds."""
    print(f"{what:<58} {times[0] * 1e6:>10.0f} {times[1] * 1e6:>10.0f}")


async def kernel_polls(work: Path, repeat: int) -> None:
    """The parts of a poll on a real kernel (sandboxed where bubblewrap runs here)."""
    settings = executor.KernelSettings(work_root=work, sandboxed=sandbox.available()[0])
    kernel = await executor.start_kernel(settings)
    try:
        root = executor.kernel_process(kernel.km)
        procs = [root.pid, *(p.pid for p in root.children(recursive=True))]
        row("process tree: resident memory, tasks, in-memory files", timed(lambda: executor.tree_usage(root), repeat))
        row("in-memory /tmp and /dev/shm alone", timed(lambda: sandbox.private_tmpfs_bytes(procs), repeat))
        entries = executor.folder_usage(kernel.scratch, executor.Limits.disk_files)[1]
        row(f"the kernel's folder ({entries} entries)",
            timed(lambda: executor.folder_usage(kernel.scratch, executor.Limits.disk_files), repeat))
    finally:
        await executor.shutdown(kernel)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()
    print(f"{'one poll':<58} {'wall µs':>10} {'CPU µs':>10}")
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(kernel_polls(Path(tmp) / "work", args.repeat))
        for count in (10_000, executor.Limits.disk_files):
            flood = Path(tmp) / f"flood{count}"
            flood.mkdir()
            for i in range(count):
                (flood / str(i)).touch()
            row(f"a folder of {count:,} empty files", timed(lambda: executor.folder_usage(flood, count), 5))  # noqa: B023


if __name__ == "__main__":
    main()

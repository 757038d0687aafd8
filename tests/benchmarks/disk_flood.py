"""How far past ``--disk`` a notebook that reserves files as fast as it can gets before the executor's watch stops
it: with the sandbox's system-call filter (fallocate refused: glibc writes the blocks) and without it.

The notebook reserves up to ``--files`` files of ``--file-mb`` MB each with ``os.posix_fallocate``; a thread here
walks the kernel's folder every 5 ms and keeps the most it saw. Not a test; results go by hand into
docs/benchmarks.md. It needs bubblewrap (the filter is the sandbox's), and that much free disk.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import threading
import time
from pathlib import Path
from unittest import mock

import nbformat
from nbformat.v4 import new_code_cell, new_notebook

from autograder.run import execution as executor
from autograder.run import sandbox, syscall_filter, usage

RESERVE = """
import os
for i in range({files}):
    fd = os.open(f'reserved{{i}}', os.O_CREAT | os.O_WRONLY)
    os.posix_fallocate(fd, 0, {file_mb} * 10**6)
    os.close(fd)
import time
time.sleep(30)
"""


def peak_of(work: Path, stop: threading.Event) -> list[int]:
    """Walk ``work`` every 5 ms until ``stop``; the largest usage seen, in a one-element list (filled as it runs)."""
    peak = [0]

    def watch() -> None:
        while not stop.is_set():
            try:
                peak[0] = max(peak[0], usage.folder_usage(work, 10**6)[0])
            except OSError:
                pass  # the folder removed meanwhile
            time.sleep(0.005)

    threading.Thread(target=watch, daemon=True).start()
    return peak


def flood(tmp: Path, files: int, file_mb: int, disk_bytes: int) -> tuple[str, float, int]:
    """(verdict, seconds to it, the most the folder held) for one run of the reserving notebook."""
    notebook, lab, output, work = tmp / "in.ipynb", tmp / "files", tmp / "out.ipynb", tmp / "work"
    lab.mkdir(exist_ok=True)
    work.mkdir(exist_ok=True)
    nbformat.write(new_notebook(cells=[new_code_cell(RESERVE.format(files=files, file_mb=file_mb))]), notebook)
    settings = executor.KernelSettings(work_root=work, sandboxed=True,
                                       limits=executor.Limits(disk_bytes=disk_bytes, cell_timeout=120,
                                                              notebook_timeout=180))

    async def go() -> executor.ExecutionOutcome:
        kernel = await executor.start_kernel(settings)
        return await executor.run_notebook(kernel, notebook, lab, output, settings)

    stop = threading.Event()
    peak = peak_of(work, stop)
    start = time.perf_counter()
    outcome = asyncio.run(go())
    seconds = time.perf_counter() - start
    stop.set()
    return outcome.status, seconds, peak[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=40)
    parser.add_argument("--file-mb", type=int, default=100)
    parser.add_argument("--disk-mb", type=int, default=256)
    args = parser.parse_args()
    available, why = sandbox.available()
    if not available:
        raise SystemExit(f"no sandbox here ({why}): the filter is the sandbox's")
    print(f"reserving {args.files} x {args.file_mb} MB against --disk {args.disk_mb} MB")
    print(f"{'':<28} {'verdict':<12} {'seconds':>8} {'most held':>12}")
    for name, filtered in (("fallocate refused (now)", True), ("fallocate allowed (before)", False)):
        with tempfile.TemporaryDirectory() as tmp, \
                mock.patch.object(syscall_filter, "command", syscall_filter.command if filtered else lambda _: []):
            verdict, seconds, peak = flood(Path(tmp), args.files, args.file_mb, args.disk_mb * 10**6)
        print(f"{name:<28} {verdict:<12} {seconds:>8.1f} {peak / 10**6:>9.0f} MB")


if __name__ == "__main__":
    main()

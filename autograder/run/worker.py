"""A grading worker: one process per slot, executing notebooks one at a time.

The worker keeps the next kernel warm while the current notebook runs, so a
notebook never waits for a kernel to start or for torch to import. Each kernel
runs one notebook and is then thrown away: no state passes between students.

The worker only executes (autograder.run.execution); it never touches the gradebook.
It talks to its scheduler through a multiprocessing pipe, and writes its own
and its kernels' console output to a log file, so that nothing a student prints
can reach the pipe.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path

from autograder.run import execution


@dataclass(frozen=True)
class Job:
    """Execute ``notebook`` with the files of ``files`` beside it, writing the result to ``output``."""

    notebook: Path
    files: Path
    output: Path


def _redirect_console(log: Path) -> None:
    log.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    sys.stdout = open(1, "w", buffering=1, closefd=False)  # noqa: SIM115 (lives as long as the process)
    sys.stderr = open(2, "w", buffering=1, closefd=False)  # noqa: SIM115


async def _serve(conn, settings: execution.KernelSettings) -> None:
    warm = asyncio.ensure_future(execution.start_kernel(settings))
    try:
        while True:
            job = await asyncio.to_thread(conn.recv)
            if job is None:
                return
            try:
                kernel = await warm
            except Exception as exc:  # the kernel could not start: this job fails, the next one tries again
                kernel = None
                outcome = execution.ExecutionOutcome(
                    execution.START_FAILED, f"カーネルを起動できませんでした / kernel failed to start: {exc}")
            warm = asyncio.ensure_future(execution.start_kernel(settings))
            if kernel is not None:
                try:
                    outcome = await execution.run_notebook(kernel, job.notebook, job.files, job.output, settings)
                except Exception as exc:
                    traceback.print_exc()
                    outcome = execution.ExecutionOutcome(
                        execution.KERNEL_DIED, f"実行に失敗しました / execution failed: {type(exc).__name__}: {exc}")
            conn.send(outcome)
    finally:
        warm.cancel()
        try:
            await execution.shutdown(await warm)
        except BaseException:
            pass


def serve(conn, settings: execution.KernelSettings, log: Path) -> None:
    """Entry point of the worker process: answer each Job sent on ``conn`` with an ExecutionOutcome."""
    os.setsid()  # its own process group, so the scheduler can stop it with everything it started
    _redirect_console(log)
    try:
        asyncio.run(_serve(conn, settings))
    except (EOFError, KeyboardInterrupt):
        pass


def spawn(settings: execution.KernelSettings, log: Path):
    """Start a worker process; return (process, connection)."""
    ctx = multiprocessing.get_context("spawn")  # no inherited threads or open gradebook connections
    parent, child = ctx.Pipe()
    process = ctx.Process(target=serve, args=(child, settings, log), daemon=True)
    process.start()
    child.close()
    return process, parent

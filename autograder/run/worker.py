"""A grading worker: one process per slot, executing notebooks one at a time.

The worker keeps the next kernel warm while the current notebook runs, so a
notebook never waits for a kernel to start or for torch to import. Each kernel
runs one notebook and is then thrown away: no state passes between students.

The worker executes (autograder.run.execution). It can also run a whole task for
the layers above (``Call``: a function given by reference, e.g. grading one student
against a private copy of the gradebook), which executes its notebooks through the
same warm kernels; nothing here knows what such a task does.
It talks to its scheduler through a multiprocessing pipe, and writes its own
and its kernels' console output to a log file, so that nothing a student prints
can reach the pipe.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psutil

from autograder.run import execution

_PARENT_POLL_S = 0.2


@dataclass(frozen=True)
class Job:
    """Execute ``notebook`` with the files of ``files`` beside it, writing the result to ``output``."""

    notebook: Path
    files: Path
    output: Path


@dataclass(frozen=True)
class Call:
    """Run ``function(*args, root=..., data_dir=..., execute=...)`` in the worker.

    ``execute(Job)`` runs a notebook in the worker's warm kernels; ``root`` is the folder the function's
    relative paths start from (on a remote node, its own copy); ``data_dir`` is the datasets folder the
    worker's kernels read. ``function`` travels by reference (module and name), so it must be a
    module-level function; what it returns travels back, and so must pickle. A backend without a shared
    file system copies ``send`` (paths relative to ``root``) to the worker first, and ``bring_back`` after.
    """

    function: Callable
    args: tuple = ()
    root: Path = Path(".")
    send: tuple[str, ...] = ()
    bring_back: tuple[str, ...] = ()


@dataclass(frozen=True)
class CallFailed:
    """What came back when a ``Call`` raised: the exception, as text (it may not pickle)."""

    error: str
    traceback: str


def _redirect_console(log: Path) -> None:
    log.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    sys.stdout = open(1, "w", buffering=1, closefd=False)  # noqa: SIM115 (lives as long as the process)
    sys.stderr = open(2, "w", buffering=1, closefd=False)  # noqa: SIM115


class _Kernels:
    """The worker's warm kernel: each job takes it and starts the next one at once, for a notebook of the same
    name (a notebook graded without other packages, :meth:`execution.KernelSettings.for_notebook`, needs a kernel
    started so: the warm one is replaced)."""

    def __init__(self, settings: execution.KernelSettings):
        self.settings = settings
        self._start(settings)

    def _start(self, settings: execution.KernelSettings) -> None:
        self.warm_settings = settings
        self.warm = asyncio.ensure_future(execution.start_kernel(settings))

    async def _discard_warm(self) -> None:
        self.warm.cancel()
        try:
            await execution.shutdown(await self.warm)
        except BaseException:  # noqa: BLE001 - cancelled or failed to start: nothing left to shut down
            pass

    async def execute(self, job: Job) -> execution.ExecutionOutcome:
        """Execute one notebook in the warm kernel (a fresh one is started for the next job meanwhile)."""
        settings = self.settings.for_notebook(job.notebook.stem)
        if settings != self.warm_settings:
            await self._discard_warm()
            self._start(settings)
        try:
            kernel = await self.warm
        except Exception as exc:  # the kernel could not start: this job fails, the next one tries again
            kernel = None
            outcome = execution.ExecutionOutcome(
                execution.START_FAILED, f"カーネルを起動できませんでした / kernel failed to start: {exc}")
        self._start(settings)
        if kernel is not None:
            try:
                outcome = await execution.run_notebook(kernel, job.notebook, job.files, job.output, settings)
            except Exception as exc:
                traceback.print_exc()
                outcome = execution.ExecutionOutcome(
                    execution.KERNEL_DIED, f"実行に失敗しました / execution failed: {type(exc).__name__}: {exc}")
        return outcome

    async def call(self, call: Call):
        """Run a Call in a thread (it may block: nbgrader, the disk), its notebooks on this event loop."""
        loop = asyncio.get_running_loop()

        def execute(job: Job) -> execution.ExecutionOutcome:
            return asyncio.run_coroutine_threadsafe(self.execute(job), loop).result()

        try:
            return await asyncio.to_thread(call.function, *call.args, root=call.root, data_dir=self.settings.data_dir,
                                           execute=execute)
        except Exception as exc:
            traceback.print_exc()
            return CallFailed(f"{type(exc).__name__}: {exc}", traceback.format_exc())

    async def close(self) -> None:
        await self._discard_warm()


async def _serve(conn, settings: execution.KernelSettings) -> None:
    kernels = _Kernels(settings)
    try:
        while True:
            job = await asyncio.to_thread(conn.recv)
            if job is None:
                return
            if isinstance(job, Call):
                conn.send(await kernels.call(job))
            else:
                conn.send(await kernels.execute(job))
    finally:
        await kernels.close()


def _end_with_parent(parent: int) -> None:
    """When the scheduler's process is gone (even by kill -9), kill every kernel and end at once.

    Kernels run in sessions of their own, so a process group does not reach them; the tree does.
    Polled rather than PR_SET_PDEATHSIG, which fires when the *thread* that started the worker ends.
    """
    while os.getppid() == parent:
        time.sleep(_PARENT_POLL_S)
    try:
        for child in psutil.Process().children(recursive=True):
            try:
                child.kill()
            except psutil.Error:
                continue
    finally:
        os._exit(1)  # nothing more is written: no kernel, no executed notebook


def serve(conn, settings: execution.KernelSettings, log: Path, parent: int | None = None) -> None:
    """Entry point of the worker process: answer each Job sent on ``conn`` with an ExecutionOutcome
    (each Call with what its function returned, or CallFailed)."""
    os.setsid()  # its own process group, so the scheduler can stop it with everything it started
    if parent is not None:
        threading.Thread(target=_end_with_parent, args=(parent,), daemon=True, name="parent-watch").start()
    _redirect_console(log)
    try:
        asyncio.run(_serve(conn, settings))
    except (EOFError, KeyboardInterrupt):
        pass


def spawn(settings: execution.KernelSettings, log: Path):
    """Start a worker process; return (process, connection)."""
    ctx = multiprocessing.get_context("spawn")  # no inherited threads or open gradebook connections
    parent, child = ctx.Pipe()
    process = ctx.Process(target=serve, args=(child, settings, log, os.getpid()), daemon=True)
    process.start()
    child.close()
    return process, parent

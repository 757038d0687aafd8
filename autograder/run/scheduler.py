"""Scheduling: which submission runs where, and when. Nothing here knows about grading.

A slot is one place a kernel runs: a worker process, optionally bound to one
GPU. ``LocalScheduler`` runs tasks on this machine's slots; a cluster backend
would offer the same ``map`` and hand each task a ``SlotExecutor`` of its own.
"""

from __future__ import annotations

import os
import queue
import shutil
import signal
import subprocess
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TypeVar

from autograder.run import execution, worker

T = TypeVar("T")
R = TypeVar("R")

_REPLY_GRACE_S = 120  # beyond the notebook's own limit, before a silent worker is presumed hung


class SlotError(Exception):
    """A task run in a slot's worker failed there, or the worker died or hung (the message says which)."""


@dataclass(frozen=True)
class Slot:
    index: int
    gpus: str | None = None  # CUDA_VISIBLE_DEVICES for kernels in this slot


def detect_gpus() -> list[str]:
    """Indices of the NVIDIA GPUs present (nvidia-smi), or [] on a machine without any."""
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return []
    try:
        out = subprocess.run([smi, "--query-gpu=index", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=30, check=True).stdout
    except (subprocess.SubprocessError, OSError):
        return []
    return [line.strip() for line in out.splitlines() if line.strip()]


KERNEL_GPU_BYTES = 3 * 2**30  # one lab-05 kernel's GPU memory, with room (measured: 11.3 GB for 6 on an H200)
CORES_PER_KERNEL = 2  # a training kernel's own thread, and one for its data loading and the grader's work


def gpu_memory(gpus: list[str]) -> int:
    """Total memory in bytes of the smallest of ``gpus`` (nvidia-smi), or 0 when it cannot be read."""
    smi = shutil.which("nvidia-smi")
    if smi is None or not gpus:
        return 0
    try:
        out = subprocess.run([smi, "--query-gpu=index,memory.total", "--format=csv,noheader,nounits"],
                             capture_output=True, text=True, timeout=30, check=True).stdout
    except (subprocess.SubprocessError, OSError):
        return 0
    sizes = {}
    for line in out.splitlines():
        index, _, mib = line.partition(",")
        if mib.strip().isdigit():
            sizes[index.strip()] = int(mib.strip()) * 2**20
    chosen = [sizes[g] for g in gpus if g in sizes]
    return min(chosen) if chosen else 0


def default_per_gpu(gpu_bytes: int, cores: int, gpus: int) -> int:
    """Kernels per GPU when --per-gpu is not given: as many as the GPU's memory holds (KERNEL_GPU_BYTES each)
    and the cores feed (CORES_PER_KERNEL each, shared between the GPUs); at least 1."""
    if gpus < 1:
        return 1
    by_memory = gpu_bytes // KERNEL_GPU_BYTES if gpu_bytes else 1
    by_cores = cores // (CORES_PER_KERNEL * gpus)
    return max(1, min(by_memory, by_cores))


def plan_slots(jobs: int | None, gpus: list[str], per_gpu: int | None = 1) -> list[Slot]:
    """Slots for ``jobs`` concurrent kernels; with GPUs, ``per_gpu`` kernels share each GPU
    (None: ``default_per_gpu`` of these GPUs' memory and this machine's cores).

    Without GPUs, ``jobs`` defaults to the number of CPU cores. With GPUs it
    defaults to (and is capped at) ``len(gpus) * per_gpu``.
    """
    if per_gpu is None:
        per_gpu = default_per_gpu(gpu_memory(gpus), os.cpu_count() or 1, len(gpus))
    if per_gpu < 1:
        raise ValueError("--per-gpu must be at least 1")
    if not gpus:
        count = jobs if jobs is not None else (os.cpu_count() or 1)
        if count < 1:
            raise ValueError("-j must be at least 1")
        return [Slot(i) for i in range(count)]
    capacity = len(gpus) * per_gpu
    count = min(jobs if jobs is not None else capacity, capacity)
    if count < 1:
        raise ValueError("-j must be at least 1")
    return [Slot(i, gpus[i // per_gpu]) for i in range(count)]


class SlotExecutor:
    """Runs notebooks on one slot's worker process, restarting it if it dies or hangs."""

    def __init__(self, slot: Slot, settings: execution.KernelSettings, log: Path):
        self.slot = slot
        self.settings = settings
        self.log = log
        self._process = None
        self._conn = None

    def _start(self) -> None:
        self._process, self._conn = worker.spawn(self.settings, self.log)

    def execute(self, job: worker.Job) -> execution.ExecutionOutcome:
        """Execute one notebook; a worker that crashes or stops answering fails this job only."""
        if self._process is None or not self._process.is_alive():
            self._start()
        wait_s = self.settings.limits.notebook_timeout + _REPLY_GRACE_S
        try:
            self._conn.send(job)
            if self._conn.poll(wait_s):
                return self._conn.recv()
            reason = f"採点プロセスが応答しません / the grading worker stopped answering after {wait_s} s"
        except (EOFError, OSError, BrokenPipeError) as exc:
            reason = f"採点プロセスが異常終了しました / the grading worker crashed: {type(exc).__name__}"
        self.stop(force=True)
        return execution.ExecutionOutcome(execution.KERNEL_DIED, reason)

    def call(self, call: worker.Call, timeout_s: float):
        """Run ``call`` in this slot's worker (its notebooks in the slot's kernels); return what it returned.

        Raises ``SlotError`` when the function raised, or the worker crashed or stopped answering
        (the worker is then restarted for the next task).
        """
        if self._process is None or not self._process.is_alive():
            self._start()
        try:
            self._conn.send(call)
            if self._conn.poll(timeout_s):
                reply = self._conn.recv()
                if isinstance(reply, worker.CallFailed):
                    raise SlotError(reply.error)
                return reply
            reason = f"採点プロセスが応答しません / the grading worker stopped answering after {timeout_s:.0f} s"
        except (EOFError, OSError, BrokenPipeError) as exc:
            reason = f"採点プロセスが異常終了しました / the grading worker crashed: {type(exc).__name__}"
        self.stop(force=True)
        raise SlotError(reason)

    def stop(self, force: bool = False) -> None:
        """Stop the worker and everything it started (its process group)."""
        if self._process is None:
            return
        if not force and self._process.is_alive():
            try:
                self._conn.send(None)
                self._process.join(30)
            except (OSError, BrokenPipeError):
                pass
        if self._process.is_alive():
            try:
                os.killpg(self._process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                self._process.kill()
            self._process.join(10)
        self._conn.close()
        self._process = self._conn = None


def in_completion_order(tasks: Iterable[T], run: Callable[[T], R], threads: int, name: str,
                        close: Callable[[bool], None]) -> Iterator[tuple[T, Future]]:
    """Run ``run(task)`` for every task on ``threads`` threads; yield (task, finished future) as each finishes.

    ``close(early)`` runs before the threads are joined (so that it can stop the runs still going), with
    ``early`` True when tasks were left unfinished: the caller stopped reading, or failed."""
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix=name) as pool:
        pending = {pool.submit(run, task): task for task in tasks}
        try:
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    yield pending.pop(future), future
        finally:
            for future in pending:
                future.cancel()
            close(bool(pending))


class LocalScheduler:
    """Run tasks concurrently on this machine, one per slot at a time."""

    def __init__(self, slots: list[Slot], settings: execution.KernelSettings, log_dir: Path):
        self.slots = slots
        self.executors = [
            SlotExecutor(slot, replace(settings, gpus=slot.gpus), log_dir / f"worker-{slot.index}.log")
            for slot in slots
        ]

    def map(self, tasks: Iterable[T], work: Callable[[T, SlotExecutor], R]) -> Iterator[tuple[T, Future]]:
        """Yield (task, finished future) in completion order; ``work(task, executor)`` runs on a free slot."""
        free: queue.Queue[SlotExecutor] = queue.Queue()
        for ex in self.executors:
            free.put(ex)

        def run(task: T) -> R:
            ex = free.get()
            try:
                return work(task, ex)
            finally:
                free.put(ex)

        yield from in_completion_order(tasks, run, len(self.executors), "slot", lambda early: self.close(force=early))

    def close(self, force: bool = False) -> None:
        for ex in self.executors:
            ex.stop(force=force)

"""What a kernel's process tree uses, as the grader measures it from outside: memory, processes and threads, CPU
seconds, and what its folder holds on disk. The executor's limits are judged on these (:mod:`.execution`)."""

from __future__ import annotations

import os
from pathlib import Path

import psutil

from autograder.run import sandbox

__all__ = ["folder_usage", "kernel_process", "kill_tree", "tree_cpu_seconds", "tree_usage"]

# Processes whose proportional share is read when resident memory overcounts (largest first): reading one takes a
# walk of its page tables (about 70 ms per GiB), and past a few dozen the rest are a fork bomb's, cut by the task limit.
_SHARES_READ = 32


def kernel_process(km) -> psutil.Process | None:
    """The kernel's process (in the sandbox: bwrap's, above the kernel), or None when it is gone."""
    process = getattr(getattr(km, "provisioner", None), "process", None)
    try:
        return psutil.Process(process.pid) if process is not None else None
    except psutil.Error:
        return None


def _tree(root: psutil.Process) -> list[psutil.Process]:
    try:
        return [root, *root.children(recursive=True)]
    except psutil.Error:
        return []


def tree_usage(root: psutil.Process, memory_limit: int | None = None) -> tuple[int, int]:
    """(memory in bytes, processes and threads) of ``root`` and everything it started: their memory and the files in
    the sandbox's in-memory /tmp and /dev/shm.

    Memory is each process's resident memory, summed. A forked process shares its parent's pages until it writes
    them, and its resident memory counts them again: a kernel with four data-loader workers reading its dataset
    counts the dataset five times. So where that sum passes ``memory_limit`` and more than one process holds
    memory, each one's proportional share (PSS: a shared page divided among the processes that map it) replaces its
    resident memory: the memory they use together, at the cost of a walk of their page tables, paid only then.
    """
    procs = _tree(root)
    tmpfs, tasks = sandbox.private_tmpfs_bytes(proc.pid for proc in procs), 0
    resident: list[tuple[int, psutil.Process]] = []
    for proc in procs:
        try:
            with proc.oneshot():
                resident.append((proc.memory_info().rss, proc))
                tasks += proc.num_threads()
        except psutil.Error:
            continue
    memory = tmpfs + sum(rss for rss, _ in resident)
    holding = sorted((item for item in resident if item[0]), key=lambda item: item[0], reverse=True)
    if memory_limit is not None and memory > memory_limit and len(holding) > 1:
        memory -= sum(rss - _share(proc, rss) for rss, proc in holding[:_SHARES_READ])
    return memory, tasks


def _share(proc: psutil.Process, rss: int) -> int:
    """The process's proportional share of memory (its resident memory where that cannot be read)."""
    try:
        return min(rss, proc.memory_full_info().pss)
    except (psutil.Error, AttributeError):  # AttributeError: no PSS on this platform
        return rss


def folder_usage(root: Path, max_entries: int) -> tuple[int, int]:
    """(bytes on disk, files and folders) under ``root``, symlinks not followed; the walk stops past ``max_entries``.
    Blocks allocated, not sizes: a sparse file of a terabyte takes no disk."""
    used = entries = 0
    stack = [root]
    while stack and entries <= max_entries:
        try:
            with os.scandir(stack.pop()) as items:
                for item in items:
                    entries += 1
                    try:
                        used += item.stat(follow_symlinks=False).st_blocks * 512
                        if item.is_dir(follow_symlinks=False):
                            stack.append(Path(item.path))
                    except OSError:
                        continue  # removed meanwhile
        except OSError:
            continue
    return used, entries


def tree_cpu_seconds(root: psutil.Process | None) -> float:
    """User and system CPU seconds of ``root`` and everything it started, exited children it waited for included."""
    total = 0.0
    for proc in _tree(root) if root is not None else []:
        try:
            times = proc.cpu_times()
        except psutil.Error:
            continue
        total += times.user + times.system + times.children_user + times.children_system
    return total


def kill_tree(root: psutil.Process | None) -> None:
    """Kill ``root`` and everything it started, the children first."""
    if root is None:
        return
    procs = _tree(root)
    for proc in [*procs[1:], root]:
        try:
            proc.kill()
        except psutil.Error:
            continue

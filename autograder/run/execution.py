"""Execute one sanitized notebook in a fresh, sandboxed kernel, within limits.

This stage replaces the ``Execute`` step of nbgrader's autograde: nbgrader
prepares the notebook before (sanitizing it against the gradebook) and scores
it after (see autograder.score.nbgrader_autograde). What runs here is student code, so it runs
in its own kernel, in its own sandbox (autograder.run.sandbox), under a per-cell
time limit, a whole-notebook time limit, a memory limit, a limit on its processes and one on what its folder
holds.

Execution follows nbgrader's ``Execute`` preprocessor: errors do not stop the
notebook, a cell past its time limit is interrupted and gets a
``CellTimeoutError`` output, and an error the kernel replied with but did not
display is appended to the cell. Every cell that ran is marked with
``EXECUTED_MARK``; the notebook is saved after each cell, so a notebook that was
killed keeps what ran before.

Kernels are started ahead of time (``start_kernel``) with the lab's heavy
libraries already imported, and each kernel runs exactly one notebook.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat import NotebookNode

from autograder import datasets
from autograder.kernel import transcript
from autograder.kernel.held_out import HELD_OUT_DIR_ENV
from autograder.kernel.student import CASE_SALT_ENV, kernel_salt
from autograder.run import sandbox as sandboxing
from autograder.run import usage

# The same error nbgrader's Execute preprocessor records for a cell past its time limit.
CELL_TIMEOUT_ERROR = {
    "ename": "CellTimeoutError",
    "evalue": "",
    "traceback": ["\x1b[0;31mCellTimeoutError\x1b[0m: No reply from kernel before timeout"],
}

EXECUTED_MARK = "autograder_executed"  # cell metadata key set on every cell that ran (scoring reads it)
# Cell metadata: the grader's own timing of a cell that ran, {"wall_s", "cpu_s"} (the kernel's process tree), which
# the checks of timed trainings read instead of the notebook's own figure: code in the kernel can forge that one.
MEASURED_MARK = "autograder_measured"

# Why a notebook stopped before its last cell (ExecutionOutcome.status).
COMPLETED = "completed"
NOTEBOOK_TIMEOUT = "notebook-timeout"
MEMORY_LIMIT = "memory-limit"
PROCESS_LIMIT = "process-limit"
DISK_LIMIT = "disk-limit"
KERNEL_DIED = "kernel-died"
START_FAILED = "start-failed"
UNRESPONSIVE = "unresponsive"


class _NotebookDeadline(Exception):
    """The whole notebook's time is up (raised between cells)."""


class _LimitPassed(Exception):
    """A cell ended with the kernel's tree past a limit (the watch has killed it)."""


_PASSED_THROUGH = ("KERAS_BACKEND",)
_GRACE_S = 30  # after the notebook's deadline, time for an interrupted cell to answer before the kernel is killed
_POLL_S = 0.2
# Where the sandbox has a user of its own, the operating system refuses its processes and threads past this many
# times Limits.tasks: a fork bomb stops there however fast it forks. Twice, so that what a bomb leaves once its forks
# fail (most of its shells exit: measured, 77-96% of the processes stay) is still past Limits.tasks for the watch
# to see, kill and name.
TASKS_KERNEL_FACTOR = 2


@dataclass(frozen=True)
class Limits:
    """What one notebook may use."""

    cell_timeout: int = 600  # seconds per cell (nbgrader's Execute.timeout)
    notebook_timeout: int = 3600  # seconds for the whole notebook
    # resident memory of the kernel and everything it starts, and its files in the sandbox's in-memory /tmp and
    # /dev/shm (each of those is also this size at most)
    memory_bytes: int = 4 * 2**30
    threads: int = 1  # CPU threads for BLAS/OpenMP/torch/TensorFlow
    # Processes and threads of the kernel and everything it starts. A training kernel has a few dozen
    # (data loader workers, CUDA's and the libraries' pools); a fork bomb has thousands.
    tasks: int = 1024
    # What the kernel's folder (its cwd and HOME, on the grader's disk) may hold: a notebook that writes without end
    # would fill the disk the rest of the class is graded on. Checkpoints of the course's networks take megabytes.
    disk_bytes: int = 2 * 2**30
    disk_files: int = 100_000  # files and folders: many empty files fill a file system's inodes, not its bytes
    # Bytes of one cell's outputs kept while it runs: a print in a loop sends gigabytes. Transcripts (the
    # hidden checks' records for the grader) have their own budget, so a flood cannot push them out.
    output_bytes: int = 8 * 2**20
    transcript_bytes: int = 4 * transcript.MAX_BYTES


@dataclass(frozen=True)
class KernelSettings:
    """How kernels are started: the same for every notebook of one grading run."""

    work_root: Path  # scratch folders are made here, one per kernel
    sandboxed: bool = True
    readable: tuple[Path, ...] = ()  # released lab files and data, read-only in the sandbox
    gpus: str | None = None  # CUDA_VISIBLE_DEVICES for this slot; None: no GPU
    preload: tuple[str, ...] = ()  # modules imported while the kernel waits for its notebook
    extra_arguments: tuple[str, ...] = ()  # kernel command-line options (nbgrader's Execute.extra_arguments)
    seed: int = 0
    limits: Limits = field(default_factory=Limits)
    data_dir: Path | None = None  # the training labs' datasets (autograder.datasets), read-only in the sandbox
    case_salt: str = ""  # the course's secret; the kernel gets only its kernel_salt (autograder.kernel.student)
    held_out_dir: Path | None = None  # the held-out sets' kernel part (autograder.kernel.held_out), read-only
    without: tuple[str, ...] = ()  # packages hidden from the sandboxed kernel (autograder.run.sandbox.Sandbox.without)
    # more packages hidden from the kernels of some notebooks, by the notebook's name: (("02_n", ("scipy",)), ...)
    without_in: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def for_notebook(self, name: str) -> KernelSettings:
        """The settings of the kernel that runs the notebook ``name`` (its file name's stem, e.g. "02_n")."""
        more = tuple(p for notebook, packages in self.without_in if notebook == name for p in packages)
        return replace(self, without=(*self.without, *more)) if more else self


@dataclass
class ExecutionOutcome:
    """What happened to one notebook; the executed notebook itself is written to the job's output path."""

    status: str
    reason: str = ""  # for the report, Japanese / English: why it stopped, or what was not kept; "" if nothing
    elapsed: float = 0.0  # seconds from the first cell to the last
    # bytes, highest memory seen of the kernel's process tree (in-memory files included): resident memory summed, an
    # upper bound where forked processes share pages (their proportional shares are read only past the limit)
    peak_memory: int = 0
    cells_run: int = 0


@dataclass
class WarmKernel:
    """A started kernel with its scratch folder, waiting for one notebook."""

    km: object
    client: NotebookClient
    scratch: Path
    started_s: float


def kernel_environment(settings: KernelSettings) -> dict[str, str]:
    """Environment of a grading kernel: thread counts, seeds, GPU visibility, nbgrader's marker."""
    threads = str(settings.limits.threads)
    env = {
        "NBGRADER_EXECUTION": "autograde",  # as nbgrader's autograde sets it
        "PYTHONHASHSEED": str(settings.seed),
        "CUDA_VISIBLE_DEVICES": settings.gpus or "",
        "CUBLAS_WORKSPACE_CONFIG": ":4096:8",  # required by torch's deterministic cuBLAS
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "PYTHONWARNINGS": "ignore::DeprecationWarning",
        transcript.RECORD_ENV: "1",  # judged checks leave transcripts for the grader's verdict (autograder.score.judge)
    }
    if settings.data_dir is not None:
        env[datasets.DATA_ENV] = str(settings.data_dir)
    if settings.case_salt:  # never the course's salt itself: the held-out secret is another function of it
        env[CASE_SALT_ENV] = kernel_salt(settings.case_salt)
    if settings.held_out_dir is not None:
        env[HELD_OUT_DIR_ENV] = str(settings.held_out_dir)
    for name in _PASSED_THROUGH:  # the TA's choices that notebooks read, e.g. Keras's backend
        if name in os.environ:
            env[name] = os.environ[name]
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS",
                 "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS"):
        env[name] = threads
    return env


def preload_source(modules: tuple[str, ...]) -> str:
    """Code that imports the heavy libraries a lab uses, skipping any that are not installed."""
    lines = ["import importlib.util as _u"]
    for name in modules:
        # try: a package the lab is graded without is found, and its stand-in refuses the import
        lines.append(f"if _u.find_spec({name.split('.')[0]!r}) is not None:\n"
                     f"    try:\n        import {name}\n    except ImportError:\n        pass")
    lines.append("del _u")
    return "\n".join(lines)


def seed_source(seed: int, threads: int) -> str:
    """Code run just before the first cell: fixed seeds, deterministic cuDNN, the thread limit."""
    return f"""
import random as _r, sys as _s
_r.seed({seed})
try:
    import numpy as _np
    _np.random.seed({seed})
except ImportError:
    pass
if "torch" in _s.modules:
    import torch as _t
    _t.manual_seed({seed})
    _t.backends.cudnn.deterministic = True
    _t.backends.cudnn.benchmark = False
    _t.set_num_threads({threads})
if "tensorflow" in _s.modules:
    _s.modules["tensorflow"].random.set_seed({seed})
if "keras" in _s.modules:
    _s.modules["keras"].utils.set_random_seed({seed})
for _n in ("_r", "_s", "_np", "_t", "_n"):
    globals().pop(_n, None)
"""


_OUTPUT_OVERHEAD = 256
OUTPUT_DROPPED = ("出力が多すぎるため、ここから先は保存されません / output over {limit} MiB in this cell: the rest was "
                  "not kept")


class _CappedClient(NotebookClient):
    """nbclient's client, keeping at most ``Limits.output_bytes`` of each cell's outputs as they arrive.

    nbgrader's LimitOutput trims outputs only when scoring; by then a flood has already filled the
    grader's memory and the saved notebook. Past the limit the cell runs on, its further outputs are
    dropped, and one stream output says so. Transcripts count against ``Limits.transcript_bytes``.
    """

    def __init__(self, nb: NotebookNode, km=None, *, limits: Limits, **kw):
        super().__init__(nb, km=km, **kw)
        self.limits = limits
        self._kept: dict[tuple[int, bool], int] = {}  # (cell index, is a transcript) -> bytes kept
        self.cut: list[int] = []  # the cells whose outputs were cut, by index

    def output(self, outs, msg, display_id, cell_index):
        content = msg.get("content", {})
        is_transcript = transcript.MIME in (content.get("data") or {})
        key = (cell_index, is_transcript)
        limit = self.limits.transcript_bytes if is_transcript else self.limits.output_bytes
        kept = self._kept.get(key, 0)
        if kept > limit:
            return None
        size = _output_size(content)
        if kept + size <= limit:
            self._kept[key] = kept + size
            return super().output(outs, msg, display_id, cell_index)
        self._kept[key] = limit + 1  # nothing more of this kind in this cell
        self.cut.append(cell_index)
        if is_transcript:
            return None
        room = limit - kept - _OUTPUT_OVERHEAD
        if msg.get("msg_type") == "stream" and room > 0:  # the kernel batches prints: keep the start of the batch
            super().output(outs, {**msg, "content": {**content, "text": content.get("text", "")[:room]}},
                           display_id, cell_index)
        # on stdout: stderr in a test cell costs its points where nbgrader's IgnorePattern is off
        outs.append(nbformat.v4.new_output("stream", name="stdout", text=OUTPUT_DROPPED.format(limit=limit // 2**20) + "\n"))
        return None


def _output_size(content: dict) -> int:
    """About what an output weighs in the notebook: its text and data, and a little per output."""
    size = _OUTPUT_OVERHEAD  # an output's own keys: a flood of empty prints weighs too
    for value in (content.get("text"), *(content.get("data") or {}).values()):
        if isinstance(value, str):
            size += len(value)
        elif value is not None:
            size += len(json.dumps(value))
    return size


def _cut_reason(nb: NotebookNode, cut: list[int], limits: Limits) -> str:
    names = [nb.cells[i].metadata.get("nbgrader", {}).get("grade_id") or f"cell {i + 1}" for i in dict.fromkeys(cut)
             if i < len(nb.cells)]
    return (f"出力が多すぎるため一部を保存しませんでした / output over {limits.output_bytes // 2**20} MiB per cell was "
            f"not kept ({', '.join(names)})")


def _client(nb: NotebookNode, km, settings: KernelSettings) -> NotebookClient:
    return _CappedClient(
        nb,
        km=km,
        timeout=settings.limits.cell_timeout,
        interrupt_on_timeout=True,
        error_on_timeout=dict(CELL_TIMEOUT_ERROR),
        allow_errors=True,
        raise_on_iopub_timeout=True,
        record_timing=False,
        on_cell_executed=_record_reply_error,
        extra_arguments=list(settings.extra_arguments),
        limits=settings.limits,
    )


def _record_reply_error(cell, cell_index, execute_reply):
    """nbgrader's Execute.on_cell_executed: show an error the kernel replied with but did not display."""
    content = execute_reply["content"]
    if content["status"] != "error":
        return
    if any(o.output_type == "error" and o.ename == content["ename"] for o in cell.outputs):
        return
    cell.outputs.append(nbformat.v4.new_output(
        "error", ename=content["ename"], evalue=content["evalue"],
        traceback=content["traceback"] or ["ERROR: An error occurred while showtraceback was disabled"],
    ))


async def _run_silently(client: NotebookClient, source: str) -> None:
    """Run code in the kernel without a cell, history or execution count."""
    cell = nbformat.v4.new_code_cell(source)
    saved_nb, saved_count = client.nb, client.code_cells_executed
    client.nb = nbformat.v4.new_notebook(cells=[cell])
    try:
        await client.async_execute_cell(cell, 0, store_history=False)
    finally:
        client.nb, client.code_cells_executed = saved_nb, saved_count


async def start_kernel(settings: KernelSettings) -> WarmKernel:
    """A new kernel in a new scratch folder (sandboxed if so set), its preload imports done."""
    settings.work_root.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="kernel-", dir=settings.work_root))
    limits = settings.limits
    box = sandboxing.Sandbox(scratch, settings.readable, settings.gpus, settings.without,
                             tmpfs_bytes=limits.memory_bytes, tasks=limits.tasks * TASKS_KERNEL_FACTOR,
                             file_bytes=limits.disk_bytes) if settings.sandboxed else None
    km = sandboxing.kernel_manager(box, kernel_environment(settings))
    start = time.monotonic()
    client = _client(nbformat.v4.new_notebook(), km, settings)
    try:
        await client.async_start_new_kernel(cwd=str(scratch))
        await client.async_start_new_kernel_client()
        if settings.preload:
            await _run_silently(client, preload_source(settings.preload))
    except BaseException:
        await shutdown(WarmKernel(km, client, scratch, start))
        raise
    return WarmKernel(km, client, scratch, start)


async def shutdown(kernel: WarmKernel) -> None:
    """Stop the kernel and everything it started; remove its scratch folder."""
    root = usage.kernel_process(kernel.km)
    try:
        if kernel.client.kc is not None:
            kernel.client.kc.stop_channels()
        if kernel.km.has_kernel:
            await kernel.km.shutdown_kernel(now=True)
    except Exception:  # a kernel that is already gone cannot be shut down twice
        pass
    usage.kill_tree(root)
    shutil.rmtree(kernel.scratch, ignore_errors=True)


def _save(nb: NotebookNode, path: Path) -> None:
    """Write atomically, so a reader never sees half a notebook."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".ipynb.tmp")
    nbformat.write(nb, tmp)
    os.replace(tmp, path)


def _stop_cell(cell: NotebookNode, ename: str, message: str) -> None:
    """Show on the cell that was running why the notebook stopped there."""
    cell.outputs.append(nbformat.v4.new_output("error", ename=ename, evalue=message, traceback=[f"{ename}: {message}"]))
    cell.metadata[EXECUTED_MARK] = True


class _ResourceWatch:
    """Kill the kernel's process tree once its memory, its count of processes and threads, or what its folder
    holds passes the limit. ``exceeded``: the status it was killed with, "" while it was not."""

    def __init__(self, kernel: WarmKernel, limits: Limits):
        self.root = usage.kernel_process(kernel.km)
        self.scratch = kernel.scratch
        self.limits = limits
        self.peak = 0
        self.exceeded = ""
        self.folder = (0, 0)  # (bytes, entries) at the last walk
        self.next_walk = 0.0
        self.looking = asyncio.Lock()

    async def _folder(self) -> tuple[int, int]:
        """The folder's usage, walked in a thread (the kernel's messages must not wait) and at most a tenth of the
        time: a folder of many files takes a while to walk (100,000: about 0.36 s), and a notebook that keeps it
        just under the limit must not make the grader spend its time walking it."""
        now = time.monotonic()
        if now >= self.next_walk:
            self.folder = await asyncio.to_thread(usage.folder_usage, self.scratch, self.limits.disk_files)
            self.next_walk = now + 10 * (time.monotonic() - now)
        return self.folder

    async def look(self) -> str:
        """Measure once; past a limit, kill the tree and return the status (else "")."""
        async with self.looking:  # the poll and a cell's end look one at a time: a verdict is never overwritten
            if self.root is None or self.exceeded:
                return self.exceeded
            # in a thread: where forked processes share memory, reading their shares takes a while (usage.tree_usage)
            rss, tasks = await asyncio.to_thread(usage.tree_usage, self.root, self.limits.memory_bytes)
            self.peak = max(self.peak, rss)
            used, entries = await self._folder()
            # a fork bomb also passes the memory limit soon: the process count names the cause
            self.exceeded = (PROCESS_LIMIT if tasks > self.limits.tasks else
                             MEMORY_LIMIT if rss > self.limits.memory_bytes else
                             DISK_LIMIT if used > self.limits.disk_bytes or entries > self.limits.disk_files else "")
            if self.exceeded:
                # In the sandbox this ends every process of its pid namespace, also those forked since the count.
                usage.kill_tree(self.root)
            return self.exceeded

    async def run(self) -> None:
        while self.root is not None and not await self.look():
            await asyncio.sleep(_POLL_S)


def _limit_reason(status: str, limits: Limits) -> str:
    if status == MEMORY_LIMIT:
        return (f"メモリ制限を超えました (/tmp と /dev/shm のファイルを含む) / memory limit ({_gib(limits.memory_bytes)}) "
                "exceeded (files written to /tmp and /dev/shm count too)")
    if status == DISK_LIMIT:
        return (f"ディスク制限を超えました / disk limit ({_gib(limits.disk_bytes)} or {limits.disk_files:,} files in the "
                "notebook's folder) exceeded")
    return f"プロセス数の制限を超えました / process limit ({limits.tasks} processes and threads) exceeded"


def _timed_out(cell: NotebookNode) -> bool:
    return any(o.get("ename") == CELL_TIMEOUT_ERROR["ename"] for o in cell.outputs)


def _gib(n: int) -> str:
    return f"{n / 2**30:.1f} GiB"


async def run_notebook(kernel: WarmKernel, notebook: Path, files: Path, output: Path,
                       settings: KernelSettings) -> ExecutionOutcome:
    """Run ``notebook`` (sanitized) in ``kernel``, with ``files`` (the lab's folder) copied into its scratch.

    The executed notebook is written to ``output`` after every cell. The kernel
    is shut down and its scratch removed afterwards, whatever happened.
    """
    limits = settings.limits
    nb = nbformat.read(notebook, as_version=4)
    shutil.copytree(files, kernel.scratch, dirs_exist_ok=True)
    client = kernel.client
    client.nb = nb
    watch = _ResourceWatch(kernel, limits)
    watcher = asyncio.ensure_future(watch.run())
    start = time.monotonic()
    deadline = start + limits.notebook_timeout
    outcome = ExecutionOutcome(COMPLETED)
    current: NotebookNode | None = None

    root = usage.kernel_process(kernel.km)
    for cell in nb.cells:  # only this run's timing counts, never one the submission brought along
        cell.metadata.pop(MEASURED_MARK, None)

    async def cells() -> None:
        nonlocal current
        await _run_silently(client, seed_source(settings.seed, limits.threads))
        for index, cell in enumerate(nb.cells):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise _NotebookDeadline
            if cell.cell_type != "code":
                continue
            current = cell
            client.timeout = math.ceil(min(limits.cell_timeout, remaining))
            wall, cpu = time.monotonic(), usage.tree_cpu_seconds(root)
            await client.async_execute_cell(cell, index, execution_count=client.code_cells_executed + 1)
            cell.metadata[MEASURED_MARK] = {"wall_s": round(time.monotonic() - wall, 3),
                                            "cpu_s": round(usage.tree_cpu_seconds(root) - cpu, 3)}
            cell.metadata[EXECUTED_MARK] = True
            outcome.cells_run += 1
            if await watch.look():
                # what the cell left running is past a limit: a cell can end within one poll (a fork bomb the
                # kernel's process limit stopped leaves its processes behind in a few milliseconds)
                raise _LimitPassed
            current = None
            _save(nb, output)
            if client.timeout < limits.cell_timeout and _timed_out(cell):
                raise _NotebookDeadline  # interrupted by the notebook's deadline, not its own limit

    try:
        _save(nb, output)
        await asyncio.wait_for(cells(), timeout=limits.notebook_timeout + _GRACE_S)
    except (_NotebookDeadline, TimeoutError) as exc:
        if watch.exceeded:  # killed at a limit while the time ran out: on a busy machine either comes first
            outcome.status = watch.exceeded
            outcome.reason = _limit_reason(watch.exceeded, limits)
        elif isinstance(exc, CellTimeoutError):  # interrupted at its time limit, the cell went on running
            outcome.status = UNRESPONSIVE
            outcome.reason = (f"セルが制限時間 ({client.timeout} s) 後の中断に応じませんでした / "
                              "the cell ignored the interrupt at its time limit; the kernel was stopped")
        else:
            outcome.status = NOTEBOOK_TIMEOUT
            outcome.reason = (f"ノートブック全体の制限時間を超えました / notebook time limit "
                              f"({limits.notebook_timeout} s) reached")
    except Exception as exc:  # DeadKernelError, or the channels failing as the kernel goes
        if watch.exceeded:
            outcome.status = watch.exceeded
            outcome.reason = _limit_reason(watch.exceeded, limits)
        else:
            outcome.status = KERNEL_DIED
            outcome.reason = "カーネルが終了しました / the kernel died (sys.exit, os._exit or a crash)"
            if not isinstance(exc, DeadKernelError):
                outcome.reason += f": {type(exc).__name__}: {exc}"
    finally:
        watcher.cancel()
        outcome.elapsed = time.monotonic() - start
        outcome.peak_memory = watch.peak
        if outcome.status != COMPLETED and current is not None:
            _stop_cell(current, outcome.status, outcome.reason)
        if client.cut and not outcome.reason:
            outcome.reason = _cut_reason(nb, client.cut, limits)
        nb.metadata[EXECUTED_MARK] = {"status": outcome.status, "reason": outcome.reason}
        _save(nb, output)
        await shutdown(kernel)
    return outcome

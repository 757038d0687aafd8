"""Limits on what one notebook's kernel may produce while it runs: outputs (a print in a loop), processes
(a fork bomb), memory and what its folder holds. The executor runs small notebooks here, in the sandbox where it is
available."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import nbformat
import psutil
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from autograder.kernel import transcript
from autograder.run import execution as executor
from autograder.run import sandbox, usage

MARKER = "4242421"  # the fork bomb's processes sleep this long: none may be left afterwards


def run(tmp_path: Path, *sources: str, **limits) -> tuple[executor.ExecutionOutcome, nbformat.NotebookNode, int]:
    """Execute a notebook of ``sources``: (outcome, the executed notebook, its size on disk in bytes)."""
    notebook, files, output = tmp_path / "in.ipynb", tmp_path / "files", tmp_path / "out.ipynb"
    files.mkdir()
    nbformat.write(new_notebook(cells=[new_code_cell(s) for s in sources]), notebook)
    settings = executor.KernelSettings(work_root=tmp_path / "work", sandboxed=sandbox.available()[0],
                                       limits=executor.Limits(**{"cell_timeout": 60, "notebook_timeout": 120, **limits}))

    async def go():
        kernel = await executor.start_kernel(settings)
        return await executor.run_notebook(kernel, notebook, files, output, settings)

    outcome = asyncio.run(go())
    return outcome, nbformat.read(output, as_version=4), output.stat().st_size


def _text(cell) -> str:
    return "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")


def test_an_output_flood_is_cut_while_it_runs_and_the_notebook_goes_on(tmp_path):
    flood = "for _ in range(500):\n    print('x' * 10**5)"  # 50 MB
    outcome, nb, size = run(tmp_path, flood, "print('after the flood')", output_bytes=2**20)
    assert outcome.status == executor.COMPLETED
    assert "output over 1 MiB per cell was not kept (cell 1)" in outcome.reason
    assert 2**20 - 2**12 < len(_text(nb.cells[0])) < 2**20 + 2**10  # the first MiB of it is kept
    assert size < 3 * 2**20
    assert "output over 1 MiB in this cell" in _text(nb.cells[0])
    assert _text(nb.cells[1]) == "after the flood\n"


def test_a_flood_cannot_push_the_transcripts_out(tmp_path):
    show = ("from IPython.display import display\n"
            f"display({{{transcript.MIME!r}: {{'check': 'kept'}}}}, raw=True)")
    outcome, nb, _ = run(tmp_path, "for _ in range(100):\n    print('x' * 10**5)\n" + show, output_bytes=2**20)
    kept = [o for o in nb.cells[0].outputs if transcript.MIME in o.get("data", {})]
    assert [o["data"][transcript.MIME] for o in kept] == [{"check": "kept"}]


def test_a_flood_of_transcripts_is_cut_too(tmp_path):
    big = json.dumps("y" * 10**6)
    show = ("from IPython.display import display\n"
            f"for _ in range(50):\n    display({{{transcript.MIME!r}: {big}}}, raw=True)")
    outcome, nb, size = run(tmp_path, show, transcript_bytes=5 * 10**6)
    assert len(nb.cells[0].outputs) <= 5 and size < 8 * 10**6
    assert "not kept" in outcome.reason


def test_a_fork_bomb_is_stopped_at_the_process_limit(tmp_path):
    bomb = ("import subprocess\n"
            "subprocess.run(['sh', '-c', 'b() { if [ $1 -gt 0 ]; then b $(($1 - 1)) & b $(($1 - 1)); fi; "
            f"sleep {MARKER}; }}; b 9'])")
    outcome, nb, _ = run(tmp_path, "print('before')", bomb, "print('never')", tasks=128)
    assert outcome.status == executor.PROCESS_LIMIT, outcome.reason
    assert "process limit (128 processes and threads)" in outcome.reason
    assert _text(nb.cells[0]) == "before\n" and not nb.cells[2].outputs
    left = [p.pid for p in psutil.process_iter(["cmdline"]) if MARKER in " ".join(p.info["cmdline"] or [])]
    assert not left


def test_processes_a_cell_leaves_past_the_limit_are_seen_when_it_ends(tmp_path):
    """A cell can pass the limit and end between two polls (a bomb the kernel's own limit stopped leaves its
    processes behind in milliseconds): the watch looks again as each cell ends, before the next one runs."""
    leave = ("import subprocess\n"
             f"left = [subprocess.Popen(['sleep', '{MARKER}']) for _ in range(150)]")
    outcome, nb, _ = run(tmp_path, leave, "print('never')", tasks=128)
    assert outcome.status == executor.PROCESS_LIMIT, outcome.reason
    assert not nb.cells[1].outputs


# Forks children that read (or, with "private", fill their own copy of) 300 MB the kernel holds, and keeps them.
FORKED_READERS = """
import numpy as np, os, time
data = np.ones(300 * 2**20 // 8)
children = []
for _ in range(3):
    pid = os.fork()
    if pid == 0:
        {work}
        time.sleep(2)
        os._exit(0)
    children.append(pid)
for pid in children:
    os.waitpid(pid, 0)
print('done')
"""


def test_memory_forked_processes_share_counts_once(tmp_path):
    """Data-loader workers read the kernel's dataset through pages they share with it: their resident memory counts
    it four times over (1.4 GB here), the memory they use is about 0.5 GB."""
    outcome, nb, _ = run(tmp_path, FORKED_READERS.format(work="data.sum()"), memory_bytes=900 * 2**20)
    assert outcome.status == executor.COMPLETED, outcome.reason
    assert _text(nb.cells[0]) == "done\n"


def test_memory_forked_processes_fill_on_their_own_counts_for_each(tmp_path):
    outcome, nb, _ = run(tmp_path, FORKED_READERS.format(work="own = data.copy(); own += 1"), memory_bytes=900 * 2**20)
    assert outcome.status == executor.MEMORY_LIMIT


def test_a_kernel_killed_at_the_memory_limit_while_its_time_runs_out_is_reported_for_memory(tmp_path):
    # On a busy grader a cell filling memory slowly reaches its time limit and the memory limit together:
    # the verdict must not depend on which the grader noticed first.
    hog = ("import signal, time\n"
           "signal.signal(signal.SIGINT, signal.SIG_IGN)\n"
           "time.sleep(3)\n"
           "_hog = b'x' * 2**31")
    outcome, nb, _ = run(tmp_path, hog, "print('never')", cell_timeout=2, memory_bytes=2**30)
    assert outcome.status == executor.MEMORY_LIMIT
    assert "memory limit (1.0 GiB)" in outcome.reason
    assert not nb.cells[1].outputs


@pytest.mark.skipif(not sandbox.available()[0], reason="the private /tmp and /dev/shm are the sandbox's")
@pytest.mark.parametrize("where", ["/tmp", "/dev/shm"])
def test_files_in_the_sandboxs_in_memory_folders_count_as_its_memory(tmp_path, where):
    """A tmpfs keeps its files in RAM that no process's resident memory shows: without counting them a kernel could
    fill the grader's memory from /tmp. Each is also sized at the limit, so it cannot outgrow it between two polls."""
    size = f"import os\nprint(os.statvfs({where!r}).f_blocks * os.statvfs({where!r}).f_frsize)"
    fill = ("import time\n"
            "try:\n"
            f"    with open({where!r} + '/fill', 'wb') as f:\n"
            "        for _ in range(40):\n"
            "            f.write(b'x' * 10**7)\n"
            "finally:\n"
            "    time.sleep(10)")
    outcome, nb, _ = run(tmp_path, size, fill, "print('never')", memory_bytes=2**28)
    assert _text(nb.cells[0]) == f"{2**28}\n"  # the tmpfs's size is the memory limit
    assert outcome.status == executor.MEMORY_LIMIT
    assert "memory limit (0.2 GiB)" in outcome.reason
    assert not nb.cells[2].outputs


@pytest.mark.parametrize("write, limit", [
    # 300 MB in files of 10 MB: one file is refused past the limit at once (below), many are the watch's to stop
    ("for i in range(30):\n        open(f'part{i}', 'wb').write(b'x' * 10**7)", {"disk_bytes": 2**27}),
    ("pass\n    for i in range(3000):\n        open(f'empty{i}', 'w').close()", {"disk_files": 1000}),
    # reserved, not written: as fast as writing in the sandbox (test_sandbox), instant without it
    ("import os\n    for i in range(30):\n        os.posix_fallocate(os.open(f'r{i}', os.O_CREAT | os.O_WRONLY), 0, 10**7)",
     {"disk_bytes": 2**27}),
], ids=["bytes", "files", "reserved"])
def test_a_notebook_filling_its_folder_is_stopped_at_the_disk_limit(tmp_path, write, limit):
    """Its folder is on the grader's disk, where the rest of the class is graded too."""
    fill = f"import time\ntry:\n    f = open('fill', 'wb')\n    {write}\nfinally:\n    time.sleep(10)"
    outcome, nb, _ = run(tmp_path, "print('before')", fill, "print('never')", **limit)
    assert outcome.status == executor.DISK_LIMIT
    assert "disk limit (" in outcome.reason and "files in the notebook's folder) exceeded" in outcome.reason
    assert _text(nb.cells[0]) == "before\n" and not nb.cells[2].outputs


@pytest.mark.skipif(not sandbox.available()[0], reason="the sandbox sets the limit on a file's size")
def test_one_file_past_the_disk_limit_is_refused_at_the_limit(tmp_path):
    """The kernel refuses it (RLIMIT_FSIZE), however fast it is written: a write past the limit fails and the
    notebook goes on. An allocation of a terabyte is written by glibc (the sandbox refuses fallocate itself:
    test_sandbox) up to the limit, then refused; the folder then holds the limit, and the watch stops it."""
    refused = ("import errno, os\n"
               "def attempt(write):\n"
               "    try:\n"
               "        write()\n"
               "    except OSError as exc:\n"
               "        print(errno.errorcode[exc.errno], flush=True)\n"
               "fd = os.open('huge', os.O_CREAT | os.O_WRONLY)\n")
    past = "attempt(lambda: os.pwrite(fd, b'x' * 2**20, 2**27))\nprint(os.stat('huge').st_blocks)"
    allocate = ("attempt(lambda: os.posix_fallocate(fd, 0, 10**12))\n"
                "print(os.stat('huge').st_blocks * 512 <= 2**27, flush=True)\n"
                "import time\ntime.sleep(5)")
    outcome, nb, _ = run(tmp_path, refused, past, "print('goes on')", allocate, "print('never')", disk_bytes=2**27)
    assert _text(nb.cells[1]) == "EFBIG\n0\n" and _text(nb.cells[2]) == "goes on\n"
    assert _text(nb.cells[3]) == "EFBIG\nTrue\n"
    assert outcome.status == executor.DISK_LIMIT and not nb.cells[4].outputs


def test_a_sparse_file_takes_no_disk_and_a_few_files_are_no_flood(tmp_path):
    sparse = ("with open('sparse', 'wb') as f:\n    f.seek(2**27 - 2)\n    f.write(b'x')\n"
              "for i in range(50):\n    open(f'small{i}', 'w').write('x')\n"
              "import time\ntime.sleep(1)\nprint('done')")
    outcome, nb, _ = run(tmp_path, sparse, disk_bytes=2**27, disk_files=1000)
    assert outcome.status == executor.COMPLETED and _text(nb.cells[0]) == "done\n"


def test_the_folders_usage_counts_blocks_and_stops_walking_past_its_cap(tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "data").write_bytes(b"x" * 10**6)
    (tmp_path / "link").symlink_to("/usr")  # not followed
    used, entries = usage.folder_usage(tmp_path, 100)
    assert 10**6 <= used < 10**6 + 2**16 and entries == 4
    for i in range(50):
        (tmp_path / f"f{i}").touch()
    assert usage.folder_usage(tmp_path, 10)[1] <= 10 + 54  # one folder's entries past the cap at most


@pytest.mark.parametrize("threads", [1, 4])
def test_a_kernel_with_its_library_threads_stays_under_the_default_limit(tmp_path, threads):
    code = ("import torch, numpy\n"
            f"torch.set_num_threads({threads})\n"
            "torch.ones(512, 512) @ torch.ones(512, 512)\n"
            "print('ok')")
    outcome, nb, _ = run(tmp_path, code)
    assert outcome.status == executor.COMPLETED and _text(nb.cells[0]) == "ok\n"


def test_the_process_limit_is_a_grade_option_and_nonsense_is_refused(tmp_path):
    from conftest import copy_course, run_autograder

    root = copy_course(tmp_path / "course")
    (tmp_path / "subs" / "someone").mkdir(parents=True)
    proc = run_autograder("grade", "lab03", "--submissions", str(tmp_path / "subs"), "--processes", "4", cwd=root)
    assert proc.returncode == 2 and "--processes must be at least 32, not 4" in proc.stdout + proc.stderr
    proc = run_autograder("grade", "lab03", "--submissions", str(tmp_path / "subs"), "--disk", "lots", cwd=root)
    assert proc.returncode == 2 and "--disk takes a size like 4G or 512M, not 'lots'" in proc.stdout + proc.stderr


def test_a_cells_figures_become_image_outputs_as_in_jupyter(tmp_path):
    code = "import matplotlib.pyplot as plt\nplt.plot([1, 3, 2])\nplt.title('loss')"
    outcome, nb, _ = run(tmp_path, code, "print('no figure here')")
    images = [o for o in nb.cells[0].outputs if "image/png" in o.get("data", {})]
    assert outcome.status == executor.COMPLETED and len(images) == 1
    assert not [o for o in nb.cells[1].outputs if "image/png" in o.get("data", {})]

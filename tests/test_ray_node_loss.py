"""A worker node of a real Ray cluster on this machine dies while it grades: every process of that node is
killed at once (SIGKILL to its process group) while one of its kernels runs a student's notebook. Its student
is queued again and graded once, on the other node; the class gets the local scheduler's scores; nothing of
the dead node goes on running. The cluster is this file's own, so that killing a node breaks no other test."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import nbformat
import psutil
import pytest
from test_ray_cluster import NAMES, REF, SAMPLES, _rows, kill, start_cluster

from conftest import AUTOGRADER, TEST_CASE_SALT, copy_course, run_autograder

COPIES = ("ref-solution-2", "ce-summed-2")  # five students: the node dies while there is work left for both
GRADE_S = 600  # the whole grading run: never hang the suite


def _tree(proc: subprocess.Popen) -> list[psutil.Process]:
    try:
        return [psutil.Process(proc.pid), *psutil.Process(proc.pid).children(recursive=True)]
    except psutil.Error:
        return []


def _running_kernels(processes: list[psutil.Process]) -> list[psutil.Process]:
    """The kernels (ipykernel's Python, not the bwrap around it) among ``processes``."""
    found = []
    for p in processes:
        try:
            argv = p.cmdline()
        except psutil.Error:
            continue
        if argv and "bwrap" not in Path(argv[0]).name and any("ipykernel" in a for a in argv):
            found.append(p)
    return found


def _alive(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


@contextlib.contextmanager
def own_cluster(prefix: str, workers: int) -> Iterator[tuple[str, list[subprocess.Popen]]]:
    """(address, worker nodes): a head that only schedules, and ``workers`` nodes of 1 CPU and 1 GPU each."""
    temp = Path(tempfile.mkdtemp(prefix=prefix))  # short: Ray's socket paths must stay under 108 bytes
    nodes = []
    try:
        address, nodes = start_cluster(temp, {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"},
                                       [["--num-cpus", "1", "--num-gpus", "1"]] * workers)
        yield address, nodes[1:]
    finally:
        for node in nodes:
            kill(node)
        shutil.rmtree(temp, ignore_errors=True)


@pytest.fixture(scope="module")
def cluster():
    """(address, [node A, node B])."""
    with own_cluster("agloss-", 2) as found:
        yield found


def test_a_node_that_dies_mid_grading_loses_nothing_and_its_student_is_graded_once(cluster, tmp_path):
    address, (doomed, survivor) = cluster
    subs = tmp_path / "subs"
    for name in NAMES:
        shutil.copytree(SAMPLES / name, subs / name)
    local = copy_course(tmp_path / "local", with_generated=True)
    proc = run_autograder("grade", "lab03", "--submissions", str(subs), "-j", "2", cwd=local)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for copy in COPIES:
        shutil.copytree(SAMPLES / copy.removesuffix("-2"), subs / copy)
    expected = sorted(_rows(local) + [(copy, *row[1:]) for copy in COPIES for row in _rows(local)
                                      if row[0] == copy.removesuffix("-2")])

    remote = copy_course(tmp_path / "ray", with_generated=True)
    start = time.monotonic()
    grading = subprocess.Popen(
        [*AUTOGRADER, "grade", "lab03", "--submissions", str(subs), "-j", "2", "--cluster", address], cwd=remote,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "COLUMNS": "200", "AUTOGRADER_CASE_SALT": TEST_CASE_SALT})
    try:
        # a notebook runs on node A once it has two kernels: the one executing and the next one kept warm
        while len(_running_kernels(_tree(doomed))) < 2:
            assert grading.poll() is None, grading.communicate()[0]
            assert time.monotonic() - start < GRADE_S, "node A never ran a notebook"
            time.sleep(0.2)
        time.sleep(1)
        killed_at = time.monotonic() - start
        dead = _tree(doomed)
        kill(doomed)
        out, _ = grading.communicate(timeout=GRADE_S)
    finally:
        if grading.poll() is None:
            grading.kill()
    wall = time.monotonic() - start
    print(f"node A killed at {killed_at:.1f} s; grading took {wall:.1f} s")
    assert grading.returncode == 0, out

    assert _rows(remote) == expected  # every student once, with the local scores
    ledger = [json.loads(line) for line in (remote / ".autograder" / "ledger" / "lab03.log.jsonl").read_text().splitlines()]
    assert sorted(r["student_id"] for r in ledger) == sorted([*NAMES, *COPIES])  # each written to the gradebook once
    requeued = (remote / ".autograder" / "logs" / "cluster.log").read_text().splitlines()
    assert len(requeued) == 1 and "queued again" in requeued[0], requeued  # node A's one student, once
    assert not [p for p in dead if _alive(p)]  # none of its kernels, workers, actors or Ray's own processes
    assert survivor.poll() is None


POISON = "poison"  # its notebook's first cell runs a process named by MARKER: the node running it is the one to kill
MARKER = "agpoison-marker"


def _poison_notebook(dest: Path) -> None:
    """The answer key whose first cell sleeps in a child process that the test can find by its argv."""
    nb = nbformat.read(REF, as_version=4)
    nb.cells.insert(0, nbformat.v4.new_code_cell(
        f"import subprocess, sys\nsubprocess.run([sys.executable, '-c', 'import time; time.sleep(300)', '{MARKER}'])"))
    dest.mkdir(parents=True)
    nbformat.write(nb, dest / "03_n.ipynb")


def _running_poison(nodes: list[subprocess.Popen]) -> subprocess.Popen | None:
    """The node among ``nodes`` whose processes include the poison's marked child, if any."""
    for node in nodes:
        for p in _tree(node):
            try:
                if MARKER in p.cmdline():
                    return node
            except psutil.Error:
                continue
    return None


@pytest.fixture
def three_nodes():
    """(address, [node A, B, C]): two slots of 1 CPU run on two of them; the third takes a lost slot."""
    with own_cluster("agtwice-", 3) as found:
        yield found


def test_a_submission_that_takes_down_a_node_twice_fails_with_its_reason_and_the_class_goes_on(three_nodes, tmp_path):
    """Whichever node runs the poison's notebook dies (SIGKILL to all its processes), twice: the poison is reported
    failed with that reason, the other students are graded once each with the local scores."""
    address, workers = three_nodes
    subs = tmp_path / "subs"
    for name in NAMES:
        shutil.copytree(SAMPLES / name, subs / name)
    local = copy_course(tmp_path / "local", with_generated=True)
    proc = run_autograder("grade", "lab03", "--submissions", str(subs), "-j", "2", cwd=local)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    expected = _rows(local)
    _poison_notebook(subs / POISON)

    remote = copy_course(tmp_path / "ray", with_generated=True)
    start = time.monotonic()
    grading = subprocess.Popen(
        [*AUTOGRADER, "grade", "lab03", "--submissions", str(subs), "-j", "2", "--cluster", address], cwd=remote,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "COLUMNS": "200", "AUTOGRADER_CASE_SALT": TEST_CASE_SALT})
    killed = []
    try:
        while len(killed) < 2:
            node = _running_poison([w for w in workers if w not in killed])
            if node is None:
                assert grading.poll() is None, grading.communicate()[0]
                assert time.monotonic() - start < GRADE_S, f"the poison ran on {len(killed)} nodes only"
                time.sleep(0.2)
                continue
            kill(node)
            killed.append(node)
        out, _ = grading.communicate(timeout=GRADE_S)
    finally:
        if grading.poll() is None:
            grading.kill()
    print(f"grading took {time.monotonic() - start:.1f} s")
    assert grading.returncode == 0, out

    rows = _rows(remote)
    assert [r for r in rows if r[0] != POISON] == expected  # the rest of the class, with the local scores
    (poison,) = [r for r in rows if r[0] == POISON]
    assert poison[2] == "failed" and "took down a cluster node 2 times" in poison[4], poison
    log = (remote / ".autograder" / "logs" / "cluster.log").read_text().splitlines()
    assert [line for line in log if "node lost" in line and POISON in line] and "failed after 2 losses" in log[-1], log
    assert [w for w in workers if w not in killed][0].poll() is None  # the third node is untouched

"""Grading on a real Ray cluster on this machine: `ray start --head` and two worker nodes (`ray start
--address`), each with 2 fake GPUs and 1 CPU. The sample class gets the local scheduler's scores, each
kernel's CUDA_VISIBLE_DEVICES is the GPU Ray gave its slot, and a node with other datasets is refused."""

from __future__ import annotations

import csv
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import pytest

from autograder.run import execution, ray_backend, scheduler

from conftest import REPO, TEST_CASE_SALT, copy_course, run_autograder

SAMPLES = REPO / "examples" / "submissions" / "lab03"
REF = REPO / "solutions" / "lab03" / "03_n.ipynb"
RAY = Path(sys.executable).parent / "ray"
NAMES = ("ref-solution", "blank-release", "ce-summed")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


NODE_UP_S = 180  # `ray start` of one node, on a loaded 2-core machine


def launch(args: list[str], env: dict, log: Path) -> subprocess.Popen:
    """`ray start ARGS --block` in a process group of its own: the node's processes, and only this node's, can
    then be killed (`ray stop` would stop every Ray node of this user on the machine: another test file's too,
    under pytest -n 2). Ray's workers have groups of their own, and end when their node's raylet does."""
    with open(log, "wb") as out:
        return subprocess.Popen([str(RAY), "start", *args, "--block"], stdout=out, stderr=subprocess.STDOUT, env=env,
                                start_new_session=True)


def wait_up(node: subprocess.Popen, log: Path) -> None:
    """Return once ``node`` (from ``launch``) has started; skip the test where Ray cannot start here."""
    deadline = time.monotonic() + NODE_UP_S
    while "Ray runtime started" not in log.read_text(errors="replace"):
        if node.poll() is not None or time.monotonic() > deadline:
            kill(node)
            text = log.read_text(errors="replace")
            # Ray's raylet gives its agent a fixed 15 s to start (ray-project/ray#65983): on an overloaded
            # machine `ray start` itself fails before any of this project's code runs
            if "timed out during startup" in text:
                pytest.skip(f"ray start failed on this machine (ray-project/ray#65983): {text[-2000:]}")
            raise RuntimeError(f"ray start {' '.join(node.args[2:])} did not start:\n{text[-3000:]}")
        time.sleep(0.5)


def kill(node: subprocess.Popen) -> None:
    """Kill every process of ``node`` at once, as a machine that dies."""
    try:
        os.killpg(node.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    node.wait(30)


def start_cluster(temp: Path, env: dict, workers: list[list[str]]) -> tuple[str, list[subprocess.Popen]]:
    """A head on a free port that only schedules (no CPU, no GPU), and one worker node per ``workers`` entry
    (its `ray start` options): (address, [head, *workers]). Stop each with ``kill``."""
    port = _free_port()
    address = f"127.0.0.1:{port}"
    head = launch(["--head", "--port", str(port), "--num-cpus", "0", "--num-gpus", "0", "--include-dashboard=false",
                   "--disable-usage-stats", "--temp-dir", str(temp / "ray")], env, temp / "head.log")
    nodes = [head]
    try:
        wait_up(head, temp / "head.log")
        for i, options in enumerate(workers):  # one after the other: side by side, they time out on 2 cores
            nodes.append(launch(["--address", address, *options], env, temp / f"node-{i}.log"))
            wait_up(nodes[-1], temp / f"node-{i}.log")
    except BaseException:
        for node in nodes:
            kill(node)
        raise
    return address, nodes


@pytest.fixture(scope="module")
def cluster():
    """host:port of a head (no CPU, no GPU: it only schedules) and two worker nodes whose datasets folder
    ($DL_LABS_DATA) is an empty folder of their own."""
    temp = Path(tempfile.mkdtemp(prefix="agray-"))  # short: Ray's socket paths must stay under 108 bytes
    node_data = temp / "node-data"
    node_data.mkdir()
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    nodes = []
    try:
        address, nodes = start_cluster(temp, {**env, "DL_LABS_DATA": str(node_data)},
                                       [["--num-cpus", "1", "--num-gpus", "2"]] * 2)
        yield address
    finally:
        for node in nodes:
            kill(node)
        shutil.rmtree(temp, ignore_errors=True)


def _rows(root: Path) -> list[tuple]:
    with open(root / "reports" / "lab03" / "grades.csv", encoding="utf-8") as fh:
        return sorted((r["student_id"], r["notebook"], r["status"], r["score"], r["reason"]) for r in csv.DictReader(fh))


def _gpu_probe(dest: Path) -> None:
    """The answer key, printing the GPUs its kernel was given."""
    nb = nbformat.read(REF, as_version=4)
    nb.cells.insert(0, nbformat.v4.new_code_cell(
        "import os\nprint('CUDA_VISIBLE_DEVICES=' + repr(os.environ.get('CUDA_VISIBLE_DEVICES')))"))
    dest.mkdir(parents=True)
    nbformat.write(nb, dest / "03_n.ipynb")


def test_the_class_gets_the_local_scores_and_each_kernel_its_rays_gpu(cluster, tmp_path):
    subs = tmp_path / "subs"
    for name in NAMES:
        shutil.copytree(SAMPLES / name, subs / name)
    _gpu_probe(subs / "gpu-probe")
    local, remote = copy_course(tmp_path / "local", with_generated=True), copy_course(tmp_path / "ray", with_generated=True)
    start = time.monotonic()
    proc = run_autograder("grade", "lab03", "--submissions", str(subs), "-j", "2", cwd=local)
    local_s = time.monotonic() - start
    assert proc.returncode == 0, proc.stdout + proc.stderr
    start = time.monotonic()
    proc = run_autograder("grade", "lab03", "--submissions", str(subs), "-j", "2", "--cluster", cluster, cwd=remote)
    ray_s = time.monotonic() - start
    assert proc.returncode == 0, proc.stdout + proc.stderr
    print(f"local {local_s:.1f} s, ray {ray_s:.1f} s")  # docs/benchmarks.md: Ray's overhead

    assert _rows(remote) == _rows(local)
    assert ("ref-solution", "03_n", "graded", "15") in [r[:4] for r in _rows(remote)]
    executed = nbformat.read(remote / ".autograder" / "executed" / "gpu-probe" / "lab03" / "03_n.ipynb", as_version=4)
    shown = "".join(o.get("text", "") for o in executed.cells[0].outputs)
    assert shown.strip() in ("CUDA_VISIBLE_DEVICES='0'", "CUDA_VISIBLE_DEVICES='1'"), shown
    assert (remote / "feedback" / "ref-solution" / "lab03" / "03_n.html").is_file()  # came back from a node


def test_a_node_with_other_datasets_is_refused(cluster, tmp_path):
    head_data = tmp_path / "data" / "cifar-10-batches-py"
    head_data.mkdir(parents=True)
    (head_data / "data_batch_1").write_bytes(b"the head's copy")
    settings = execution.KernelSettings(work_root=tmp_path / "kernels", sandboxed=False, data_dir=head_data.parent,
                                        case_salt=TEST_CASE_SALT)
    import ray

    try:
        with pytest.raises(ray_backend.ClusterError, match="datasets differ from the head's"):
            ray_backend.RayScheduler(cluster, [scheduler.Slot(0)], settings, root=tmp_path, common=(),
                                     datasets=("cifar10",), log_dir=tmp_path / "logs")
    finally:
        ray.shutdown()


def test_the_held_out_sets_reach_the_nodes_kernels(cluster, tmp_path):
    """Lab 01's digits are a held-out set (autograder.kernel.held_out): the head draws it and its folder goes with the
    lab's files, so a node's kernels read the same images and the answer key gets the local scores, the accuracy on
    the grader's held-out digits included."""
    subs = tmp_path / "subs"
    shutil.copytree(REPO / "examples" / "submissions" / "lab01" / "ref-solution", subs / "ref-solution")
    local, remote = copy_course(tmp_path / "local", with_generated=True), copy_course(tmp_path / "ray", with_generated=True)
    assert run_autograder("grade", "lab01", "--submissions", str(subs), cwd=local).returncode == 0
    proc = run_autograder("grade", "lab01", "--submissions", str(subs), "--cluster", cluster, cwd=remote)
    assert proc.returncode == 0, proc.stdout + proc.stderr

    def rows(root: Path) -> list[dict]:
        with open(root / "reports" / "lab01" / "notebooks.csv", encoding="utf-8") as fh:
            return list(csv.DictReader(fh))

    assert rows(remote) == rows(local)
    assert [(r["status"], r["failures"]) for r in rows(remote)] == [("graded", "")]
    assert sorted(p.name for p in (remote / ".autograder" / "held-out" / "lab01").iterdir()) == [
        "lab01-digits.X_test.npy", "lab01-digits.X_train.npy", "lab01-digits.y_train.npy", "lab01-quantiles.X.npy"]

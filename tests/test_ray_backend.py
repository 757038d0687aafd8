"""The Ray backend's own logic, without a cluster: files across nodes, the datasets check, the node's view
of the kernel settings, re-queueing after a node loss, and a clear error for an unreachable address."""

from __future__ import annotations

import io
import tarfile
import threading
from pathlib import Path

import pytest

from autograder.run import execution, ray_backend, scheduler, worker

from conftest import copy_course, run_autograder


def test_files_travel_as_an_archive_and_replace_what_was_there(tmp_path):
    head, node = tmp_path / "head", tmp_path / "node"
    (head / "autograded" / "s1" / "lab03").mkdir(parents=True)
    (head / "autograded" / "s1" / "lab03" / "03_n.ipynb").write_text("new")
    (node / "autograded" / "s1" / "lab03").mkdir(parents=True)
    (node / "autograded" / "s1" / "lab03" / "stale.ipynb").write_text("old")
    data = ray_backend.pack(head, ["autograded/s1/lab03", "feedback/s1/lab03"])  # the absent one is skipped
    ray_backend.unpack(data, node, ["autograded/s1/lab03"])
    assert sorted(p.name for p in (node / "autograded" / "s1" / "lab03").iterdir()) == ["03_n.ipynb"]
    assert (node / "autograded" / "s1" / "lab03" / "03_n.ipynb").read_text() == "new"


def test_an_archive_cannot_write_outside_its_folder(tmp_path):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo("../escaped.txt")
        info.size = 3
        tar.addfile(info, io.BytesIO(b"bad"))
    (tmp_path / "node").mkdir()
    with pytest.raises(tarfile.TarError):
        ray_backend.unpack(buffer.getvalue(), tmp_path / "node")
    assert not (tmp_path / "escaped.txt").exists()


def test_datasets_that_differ_in_one_byte_are_told_apart(tmp_path):
    head, node = tmp_path / "head", tmp_path / "node"
    for folder, byte in ((head, b"a"), (node, b"b")):
        (folder / "cifar-10-batches-py").mkdir(parents=True)
        (folder / "cifar-10-batches-py" / "data_batch_1").write_bytes(b"x" * 100 + byte)
    assert ray_backend.data_identity(head, ()) == {}  # a lab without datasets needs none
    assert ray_backend.data_identity(head, ("cifar10",)) == ray_backend.data_identity(head, ("cifar10",))
    assert ray_backend.data_identity(head, ("cifar10",)) != ray_backend.data_identity(node, ("cifar10",))
    assert ray_backend.data_identity(head, ("cifar10",)) != ray_backend.data_identity(tmp_path / "none", ("cifar10",))


def test_a_node_sees_its_own_copy_of_the_course_its_datasets_and_its_gpu(tmp_path):
    head_root, node_root, data = Path("/head/course"), tmp_path / "copy", tmp_path / "data"
    data.mkdir()
    settings = execution.KernelSettings(work_root=head_root / ".autograder" / "kernels",
                                        readable=(head_root / "release" / "lab05", Path("/head/data")),
                                        data_dir=Path("/head/data"), gpus=None)
    moved = ray_backend.relocate(settings, head_root, node_root, data, "1")
    assert moved.work_root == node_root / ".autograder" / "kernels"
    assert moved.readable == (node_root / "release" / "lab05", data)
    assert moved.data_dir == data and moved.gpus == "1"
    assert moved.limits == settings.limits and moved.sandboxed == settings.sandboxed


class _FlakyNode:
    """A slot handle whose node dies under the first ``deaths`` calls."""

    def __init__(self, deaths: int, calls: list):
        self.deaths, self.calls = deaths, calls

    def call(self, call, timeout_s):
        self.calls.append(call.args)
        if len(self.calls) <= self.deaths:
            raise ray_backend.NodeLost("node died")
        return "graded"


def _scheduler(handles: list, started: list, log: Path, *, restart=lambda index: None,
               ready=lambda handle, timeout_s: None) -> ray_backend.RayScheduler:
    """A RayScheduler whose actors are fakes (no cluster): a lost slot's new handle is ``restart(index)`` (else
    the same one, "on a live node"), up once ``ready`` returns (it raises: never up)."""
    backend = ray_backend.RayScheduler.__new__(ray_backend.RayScheduler)
    backend._closing, backend._lock, backend._gone, backend.log = False, threading.Lock(), 0, log
    backend.handles = list(handles)

    def start(index):
        started.append(index)
        return restart(index) or handles[index]

    backend._start, backend._ready, backend._discard = start, ready, lambda handle: None
    backend.close = lambda: None
    return backend


def _grade(backend, tasks):
    def work(task, slot):
        return slot.call(worker.Call(print, (task,)), 10)

    return {task: (future.exception() or future.result()) for task, future in backend.map(tasks, work)}


def test_a_student_whose_node_dies_is_graded_once_on_another_node(tmp_path):
    calls, started = [], []
    results = _grade(_scheduler([_FlakyNode(1, calls)], started, tmp_path / "cluster.log"), ["s1"])
    assert results == {"s1": "graded"}
    assert calls == [("s1",), ("s1",)] and started == [0]  # queued again once, on a new actor
    assert "s1: node lost (node died); queued again (1/2)" in (tmp_path / "cluster.log").read_text()


def test_a_submission_that_takes_down_a_node_twice_fails_with_its_reason_and_the_class_goes_on(tmp_path):
    calls, started = [], []
    results = _grade(_scheduler([_FlakyNode(2, calls)], started, tmp_path / "cluster.log"), ["killer", "s2"])
    assert isinstance(results["killer"], scheduler.SlotError)
    assert "2 times" in str(results["killer"])
    assert results["s2"] == "graded"


class _Node:
    """A slot handle on a node that stays up (``dies``: it dies under the first call), its calls recorded."""

    def __init__(self, name: str, calls: list, dies: bool = False):
        self.name, self.calls, self.dies = name, calls, dies

    def call(self, call, timeout_s):
        self.calls.append((self.name, call.args[0]))
        if self.dies and len([c for c in self.calls if c[0] == self.name]) == 1:
            raise ray_backend.NodeLost("node died")
        return "graded"


def test_while_a_lost_slots_actor_waits_for_a_node_its_student_and_the_rest_go_to_the_other_slot(tmp_path):
    """A real node death takes its resources with it: the new actor may never be placed. The tasks must not
    wait for it (they did: the slot went back to the free ones at once, and its next task hung on its actor)."""
    calls, never = [], threading.Event()
    nodes = [_Node("a", calls, dies=True), _Node("b", calls)]
    backend = _scheduler(nodes, [], tmp_path / "cluster.log", restart=lambda index: _Node("a2", calls),
                         ready=lambda handle, timeout_s: never.wait())
    students = [f"s{n}" for n in range(6)]
    try:
        assert _grade(backend, students) == dict.fromkeys(students, "graded")
    finally:
        never.set()
    assert not [c for c in calls if c[0] == "a2"]  # the replacement, never up, got nothing
    assert sorted(s for node, s in calls if node == "b") == students  # the lost student too, once


def test_a_new_actor_that_ray_cancels_is_started_again_and_the_lost_student_graded_on_it(tmp_path, monkeypatch):
    """Until Ray's health checks notice the death, it may place the new actor on the dead node, then cancel it
    (seen on a real cluster): that is no reason to give the slot up."""
    monkeypatch.setattr(ray_backend, "REPLACE_PAUSE_S", 0)
    calls, started, discarded = [], [], []
    replacements = iter([_Node("a2", calls), _Node("a3", calls)])

    def ready(handle, timeout_s):
        if handle.name == "a2":
            raise RuntimeError("The actor never ran - it was cancelled before it started running.")

    first = _Node("a", calls, dies=True)
    backend = _scheduler([first], started, tmp_path / "cluster.log", restart=lambda index: next(replacements),
                         ready=ready)
    backend._discard = discarded.append
    assert _grade(backend, ["s1", "s2"]) == {"s1": "graded", "s2": "graded"}
    assert calls == [("a", "s1"), ("a3", "s1"), ("a3", "s2")] and started == [0, 0]
    assert discarded == [first]  # the lost actor is killed, in case it was only out of reach for a while
    assert "not started again" not in (tmp_path / "cluster.log").read_text()


def test_when_every_slots_node_is_lost_for_good_the_tasks_fail_instead_of_waiting_forever(tmp_path, monkeypatch):
    monkeypatch.setattr(ray_backend, "REPLACE_WAIT_S", 1)  # the new actor is never placed within it
    def refused(handle, timeout_s):
        raise RuntimeError("no node has the resources")

    calls = []
    backend = _scheduler([_Node("a", calls, dies=True)], [], tmp_path / "cluster.log", ready=refused)
    results = _grade(backend, ["s1", "s2"])
    assert all(isinstance(r, scheduler.SlotError) and "no cluster node is left" in str(r) for r in results.values())
    assert "slot 0: not started again" in (tmp_path / "cluster.log").read_text()


def test_an_unreachable_cluster_fails_at_start_with_a_clear_message(tmp_path):
    root = copy_course(tmp_path / "course", with_generated=True)
    subs = tmp_path / "subs" / "s1"
    subs.mkdir(parents=True)
    (subs / "03_n.ipynb").write_text((root / "release" / "lab03" / "03_n.ipynb").read_text())
    proc = run_autograder("grade", "lab03", "--submissions", str(tmp_path / "subs"), "--cluster", "127.0.0.1:1",
                          cwd=root, timeout=300)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "cannot reach the Ray cluster at 127.0.0.1:1" in " ".join((proc.stdout + proc.stderr).split())
    assert not (root / ".autograder" / "executed").exists()  # nothing was graded


# --- a slot on "another node": its own copy of the files, no Ray -------------------------------------


class _InProcessHandle(ray_backend._Handle):
    """A slot handle whose actor is a RemoteSlot object in this process: the files still travel as archives."""

    def _invoke(self, call, files, timeout_s):
        return self.actor.call(call, files, timeout_s)


class _NodesWithoutRay(ray_backend.RayScheduler):
    """RayScheduler whose slots are RemoteSlot objects here, each with its own copy of the course in /tmp."""

    def __init__(self, address, slots, settings, *, root, common, datasets, log_dir, per_gpu=1):
        self.root, self.settings, self.per_gpu, self.slots, self._closing = Path(root), settings, per_gpu, slots, False
        self.common, self.names = ray_backend.pack(self.root, common), tuple(datasets)
        self.head_data = ray_backend.data_identity(settings.data_dir, self.names)
        self.handles = [self._start(slot.index) for slot in slots]
        self.copies = [h.actor.root for h in self.handles]

    def _start(self, index):
        slot = ray_backend.RemoteSlot(index, self.settings, str(self.root), self.common, self.head_data, self.names)
        return _InProcessHandle(slot, self.root)

    def close(self):
        for handle in self.handles:
            handle.actor.stop()


def test_a_slot_without_the_course_folder_grades_from_the_files_sent_and_sends_back_its_results(tmp_path, monkeypatch):
    import shutil

    from autograder import api
    from autograder.course import Course
    from autograder.grade import GradeOptions

    from conftest import REPO, TEST_CASE_SALT

    monkeypatch.setenv("AUTOGRADER_CASE_SALT", TEST_CASE_SALT)
    subs = tmp_path / "subs"
    for name in ("ref-solution", "blank-release"):
        shutil.copytree(REPO / "examples" / "submissions" / "lab03" / name, subs / name)
    local, remote = copy_course(tmp_path / "local", with_generated=True), copy_course(tmp_path / "remote", with_generated=True)
    made = []
    monkeypatch.setattr(ray_backend, "RayScheduler", lambda *a, **k: made.append(_NodesWithoutRay(*a, **k)) or made[-1])

    def results(root, cluster):
        run = api.grade_lab(Course(root), "lab03", subs, GradeOptions(jobs=1, cluster=cluster))
        return sorted((r.student_id, r.notebook, r.status, r.score, r.reason) for r in run.results)

    assert results(remote, "nodes-without-ray") == results(local, None)
    assert made and all(not copy.exists() for copy in made[0].copies)  # each node's copy was removed
    assert all(not str(copy).startswith(str(remote)) for copy in made[0].copies)  # and was not the course
    assert (remote / "feedback" / "ref-solution" / "lab03" / "03_n.html").is_file()  # came back
    assert (remote / ".autograder" / "executed" / "ref-solution" / "lab03" / "03_n.ipynb").is_file()
    assert (remote / "autograded" / "ref-solution" / "lab03" / "03_n.ipynb").is_file()


def test_a_refused_node_is_reported_with_its_own_reason_out_of_rays_wrapping():
    class ActorDiedError(Exception):
        pass

    wrapped = ActorDiedError("The actor died because of an error raised in its creation task, ray::RemoteSlot"
                             ".__init__() (pid=1, ip=10.0.0.2)\n  File \"ray_backend.py\", line 120, in __init__\n"
                             "autograder.run.ray_backend.ClusterError: node2: データが採点元と違います / this node's "
                             "datasets differ from the head's: head {...}, node {...}")
    assert ray_backend._refusal(wrapped).startswith("node2: データが採点元と違います / this node's datasets differ")
    assert "could not start grading: boom" in ray_backend._refusal(RuntimeError("boom"))


def test_a_node_without_bubblewrap_is_refused_unless_no_sandbox_was_asked(tmp_path, monkeypatch):
    monkeypatch.setattr(ray_backend.sandbox, "available", lambda: (False, "bwrap is not installed"))
    settings = execution.KernelSettings(work_root=tmp_path / "kernels", sandboxed=True)
    with pytest.raises(ray_backend.ClusterError, match="cannot sandbox: bwrap is not installed"):
        ray_backend.RemoteSlot(0, settings, str(tmp_path), b"", {}, ())
    unsandboxed = ray_backend.RemoteSlot(0, execution.KernelSettings(work_root=tmp_path / "k", sandboxed=False),
                                         str(tmp_path), b"", {}, ())  # --no-sandbox: explicitly asked for
    assert not unsandboxed.settings.sandboxed
    unsandboxed.stop()


def test_a_node_with_other_datasets_refuses_to_start(tmp_path, monkeypatch):
    head = tmp_path / "head"
    (head / "cifar-10-batches-py").mkdir(parents=True)
    (head / "cifar-10-batches-py" / "data_batch_1").write_bytes(b"head")
    (tmp_path / "node").mkdir()
    monkeypatch.setenv("DL_LABS_DATA", str(tmp_path / "node"))  # the node's own, empty, datasets folder
    settings = execution.KernelSettings(work_root=tmp_path / "kernels", sandboxed=False, data_dir=head)
    with pytest.raises(ray_backend.ClusterError, match="datasets differ from the head's"):
        ray_backend.RemoteSlot(0, settings, str(tmp_path), b"", ray_backend.data_identity(head, ("cifar10",)),
                               ("cifar10",))

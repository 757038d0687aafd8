"""Grading slots on a Ray cluster, behind the scheduler's ``map`` interface.

Each slot is a Ray actor that asks for ``num_cpus`` and, on a cluster with GPUs, ``num_gpus = 1/per_gpu``.
On its node, the actor runs the same worker process as a local slot (``scheduler.SlotExecutor``), with the
same sandbox and limits, and ``CUDA_VISIBLE_DEVICES`` set to the GPU Ray assigned to the actor.

There is no shared file system: the lab's files (configuration, source, release, snapshot gradebook) travel
to each actor once, each task's own files (``Call.send``) with the task, and what it wrote
(``Call.bring_back``) comes back to the head as bytes. The gradebook stays on the head. Each node reads its
own datasets (``$DL_LABS_DATA`` there, else the head's path); an actor whose datasets differ from the head's
(profile or digest) refuses to start, so one class is never graded against two datasets.

Faults: a task whose node dies is queued again, on another actor; a task that takes down a node twice
fails with that reason, and the rest of the class goes on. Leaving ``map`` early (Ctrl-C, an error)
kills the actors, and with them their workers and kernels; Ray kills the actors of a head that dies.
"""

from __future__ import annotations

import hashlib
import io
import os
import queue
import re
import shutil
import socket
import tarfile
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from dataclasses import replace
from pathlib import Path
from typing import TypeVar

from autograder import datasets
from autograder.run import execution, sandbox, scheduler, worker

T = TypeVar("T")
R = TypeVar("R")

NODE_LOSSES = 2  # a task whose node dies this many times is failed, not queued again
REPLACE_WAIT_S = 600  # a lost slot's new actor not placed by then: the slot is given up
REPLACE_PAUSE_S = 2  # between a new actor that Ray cancelled (placed on the dead node) and the next one


class ClusterError(Exception):
    """The cluster cannot grade: unreachable, or a node that would grade differently (the message says why)."""


class NodeLost(Exception):
    """The node running a task died (or its actor did)."""


# --- files across the cluster ------------------------------------------------------------------------


def pack(root: Path, paths: Iterable[str]) -> bytes:
    """The files and folders ``paths`` (relative to ``root``; absent ones skipped) as a tar archive."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for rel in paths:
            if (Path(root) / rel).exists():
                tar.add(Path(root) / rel, arcname=rel)
    return buffer.getvalue()


def unpack(data: bytes, root: Path, replace_paths: Iterable[str] = ()) -> None:
    """Extract a ``pack`` archive under ``root``, replacing ``replace_paths`` whole (no stale files stay)."""
    for rel in replace_paths:
        target = Path(root) / rel
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
    if not data:
        return
    with tarfile.open(fileobj=io.BytesIO(data), mode="r") as tar:
        tar.extractall(root, filter="data")  # no absolute paths, links out or device files


def data_identity(directory: Path | None, names: tuple[str, ...]) -> dict[str, tuple[str, str]]:
    """Each named dataset's profile ("real", "standin", "absent") and a SHA-256 of its files in ``directory``."""
    if not names:
        return {}
    directory = Path(directory) if directory else Path("/nonexistent")
    found = datasets.profiles(directory, names)
    modules = datasets.registry()
    identity = {}
    for name in names:
        digest = hashlib.sha256()
        for attr in ("FOLDER", "FILENAME"):
            entry = getattr(modules[name], attr, None)
            if entry is None or not (directory / entry).exists():
                continue
            files = [directory / entry] if (directory / entry).is_file() else sorted(
                p for p in (directory / entry).rglob("*") if p.is_file())
            for path in files:
                digest.update(path.relative_to(directory).as_posix().encode() + b"\0")
                digest.update(datasets.file_digest(path, "sha256").encode())
        identity[name] = (found[name], digest.hexdigest())
    return identity


# --- one slot: an actor ----------------------------------------------------------------------------------


class RemoteSlot:
    """A slot on a cluster node (used as a Ray actor): the lab's files, a worker process, its kernels."""

    def __init__(self, index: int, settings: execution.KernelSettings, head_root: str, common: bytes,
                 head_data: dict, names: tuple[str, ...]):
        self.root = Path(tempfile.mkdtemp(prefix="autograder-ray-"))
        unpack(common, self.root)
        if settings.sandboxed:
            ok, why = sandbox.available()
            if not ok:
                raise ClusterError(f"{socket.gethostname()}: サンドボックスを使えません / cannot sandbox: {why} "
                                   "(install bubblewrap there, or grade with --no-sandbox)")
        data_dir = Path(os.environ["DL_LABS_DATA"]) if os.environ.get("DL_LABS_DATA") else settings.data_dir
        here = data_identity(data_dir, names)
        if here != head_data:
            raise ClusterError(f"{socket.gethostname()}: データが採点元と違います / this node's datasets differ from "
                               f"the head's: head {head_data}, node {here} (data folder {data_dir})")
        import ray

        gpus = (",".join(str(g) for g in ray.get_gpu_ids()) or None) if ray.is_initialized() else None
        self.settings = relocate(settings, Path(head_root), self.root, data_dir, gpus)
        self.executor = scheduler.SlotExecutor(scheduler.Slot(index, gpus), self.settings,
                                               self.root / ".autograder" / "logs" / f"worker-{index}.log")

    def where(self) -> dict:
        """The node and the GPUs this slot runs on."""
        return {"host": socket.gethostname(), "pid": os.getpid(), "gpus": self.settings.gpus}

    def call(self, call: worker.Call, files: bytes, timeout_s: float) -> tuple[object, bytes]:
        """Run ``call`` in this node's worker, after unpacking its files; return its result and what it wrote."""
        unpack(files, self.root, call.send)
        unpack(b"", self.root, call.bring_back)  # nothing of an earlier task of the same student stays
        result = self.executor.call(replace(call, root=self.root), timeout_s)
        return result, pack(self.root, call.bring_back)

    def stop(self) -> None:
        self.executor.stop()
        shutil.rmtree(self.root, ignore_errors=True)


def relocate(settings: execution.KernelSettings, head_root: Path, root: Path, data_dir: Path | None,
             gpus: str | None) -> execution.KernelSettings:
    """The head's kernel settings for this node: its copy of the course, its datasets, its GPU."""

    def moved(path: Path) -> Path:
        try:
            return root / Path(path).relative_to(head_root)
        except ValueError:
            return Path(path)

    readable = tuple(moved(p) for p in settings.readable if p != settings.data_dir)
    if data_dir is not None and Path(data_dir).is_dir():
        readable += (Path(data_dir),)
    held_out = moved(settings.held_out_dir) if settings.held_out_dir is not None else None
    return replace(settings, work_root=root / ".autograder" / "kernels", readable=readable, held_out_dir=held_out,
                   data_dir=Path(data_dir) if data_dir and Path(data_dir).is_dir() else None, gpus=gpus)


# --- the scheduler ---------------------------------------------------------------------------------------


def connect(address: str) -> None:
    """Join the cluster at ``address`` (host:port of `ray start --head`) as a driver; a clear error if it
    cannot be reached."""
    import ray

    host, _, port = address.rpartition(":")
    try:
        with socket.create_connection((host or "127.0.0.1", int(port or 6379)), timeout=5):
            pass
    except (OSError, ValueError) as exc:
        raise ClusterError(f"Ray クラスタに接続できません / cannot reach the Ray cluster at {address}: {exc}") from exc
    if not ray.is_initialized():
        ray.init(address=address, log_to_driver=False, logging_level="ERROR")


def _refusal(exc: BaseException) -> str:
    """The reason an actor did not start: its ClusterError's message out of Ray's wrapping, else the error."""
    text = str(getattr(exc, "cause", None) or exc)
    found = re.search(r"ClusterError: (.+)", text)
    if found:
        return found.group(1).strip()
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return f"クラスタで採点を始められません / the cluster could not start grading: {lines[-1] if lines else repr(exc)}"


class _Handle:
    """The head's side of one actor: ``call`` as a local slot's, files packed and unpacked around it."""

    def __init__(self, actor, root: Path):
        self.actor, self.root = actor, root

    def call(self, call: worker.Call, timeout_s: float):
        """Send the call's files, run it on the node, bring back what it wrote; its result."""
        result, files = self._invoke(call, pack(self.root, call.send), timeout_s)
        unpack(files, self.root, call.bring_back)
        return result

    def _invoke(self, call: worker.Call, files: bytes, timeout_s: float) -> tuple[object, bytes]:
        import ray
        from ray.exceptions import ActorDiedError, ActorUnavailableError, GetTimeoutError, RayActorError

        try:
            return ray.get(self.actor.call.remote(call, files, timeout_s), timeout=timeout_s + 60)
        except (ActorDiedError, ActorUnavailableError, RayActorError) as exc:
            raise NodeLost(str(exc).splitlines()[0] if str(exc) else type(exc).__name__) from exc
        except GetTimeoutError as exc:
            raise scheduler.SlotError(f"採点ノードが応答しません / the cluster node stopped answering "
                                      f"after {timeout_s:.0f} s") from exc


class RayScheduler:
    """The scheduler's ``map`` on a Ray cluster's slots (see the module's docstring)."""

    def __init__(self, address: str, slots: list[scheduler.Slot], settings: execution.KernelSettings, *,
                 root: Path, common: tuple[str, ...], datasets: tuple[str, ...], log_dir: Path,
                 per_gpu: int = 1, connect_to: Callable[[str], None] = connect):
        import ray

        connect_to(address)
        self.root, self.settings, self.per_gpu = Path(root), settings, per_gpu
        self.common = pack(self.root, common)
        self.names = tuple(datasets)
        self.head_data = data_identity(settings.data_dir, self.names)
        resources = ray.cluster_resources()
        self.gpus = resources.get("GPU", 0)
        self.slots = slots
        self._closing = False
        self._lock, self._gone = threading.Lock(), 0  # slots whose node died and whose new actor never started
        self.log = Path(log_dir) / "cluster.log"
        self._remote = ray.remote(RemoteSlot)
        self.handles = [self._start(slot.index) for slot in slots]
        try:  # every actor started (bwrap, datasets checked) before any task is sent
            self.where = ray.get([h.actor.where.remote() for h in self.handles], timeout=600)
        except Exception as exc:
            self.close()
            raise ClusterError(_refusal(exc)) from exc

    def _start(self, index: int) -> _Handle:
        options = {"num_cpus": max(1, self.settings.limits.threads), "max_restarts": 0}
        if self.gpus:
            options["num_gpus"] = 1 / self.per_gpu
        actor = self._remote.options(**options).remote(index, self.settings, str(self.root), self.common,
                                                       self.head_data, self.names)
        return _Handle(actor, self.root)

    def map(self, tasks: Iterable[T], work: Callable[[T, _Handle], R]) -> Iterator[tuple[T, Future]]:
        """Yield (task, finished future) in completion order; a task whose node dies is queued again."""
        free: queue.Queue[int] = queue.Queue()
        for i in range(len(self.handles)):
            free.put(i)

        def run(task: T) -> R:
            for attempt in range(1, NODE_LOSSES + 1):
                i = self._take(free)
                try:
                    result = work(task, self.handles[i])
                except NodeLost as exc:
                    if self._closing:
                        raise
                    again = attempt < NODE_LOSSES
                    self._note(f"{task}: node lost ({exc}); " + (f"queued again ({attempt}/{NODE_LOSSES})" if again
                                                                  else f"failed after {NODE_LOSSES} losses"))
                    self._replace(i, free)  # slot i comes back once a new actor is up; the task takes any free one
                    continue
                except BaseException:
                    free.put(i)
                    raise
                free.put(i)
                return result
            raise scheduler.SlotError(f"採点中にノードが {NODE_LOSSES} 回落ちました / the submission took down a "
                                      f"cluster node {NODE_LOSSES} times")

        yield from scheduler.in_completion_order(tasks, run, len(self.handles), "ray-slot", lambda early: self.close())

    def _take(self, free: queue.Queue) -> int:
        """A free slot; waits while one is busy or a lost one's actor is being placed, fails when none is left."""
        while True:
            try:
                return free.get(timeout=1)
            except queue.Empty:
                with self._lock:
                    if self._gone == len(self.handles):
                        raise scheduler.SlotError("採点できるノードが残っていません / no cluster node is left to "
                                                  f"grade on (see {self.log})") from None

    def _replace(self, i: int, free: queue.Queue) -> None:
        """Start slot ``i``'s actor again, on a node that is alive; the slot is free once the actor answers.

        In the background: the dead node's resources are gone, so the new actor may wait for a node (or a
        slot's share of one) to free up; meanwhile the other slots go on grading. Until Ray has noticed the
        death (its health checks: seconds), it may place the new actor on the dead node, and then cancel it:
        such an actor is started again. Not up within ``REPLACE_WAIT_S``, or refused by its node, the slot is
        given up."""
        deadline = time.monotonic() + REPLACE_WAIT_S
        with self._lock:
            self._discard(self.handles[i])  # an actor only unreachable for a while must not go on grading
            self.handles[i] = handle = self._start(i)

        def wait(handle: _Handle) -> None:
            while True:
                try:
                    self._ready(handle, max(1.0, deadline - time.monotonic()))
                    break
                except Exception as exc:
                    if self._closing:
                        return
                    if "ClusterError" in str(exc) or time.monotonic() + REPLACE_PAUSE_S >= deadline:
                        with self._lock:
                            self._gone += 1
                        self._note(f"slot {i}: not started again ({_refusal(exc)}); the other slots go on")
                        return
                time.sleep(REPLACE_PAUSE_S)
                with self._lock:
                    if self._closing:
                        return
                    self.handles[i] = handle = self._start(i)
            free.put(i)

        threading.Thread(target=wait, args=(handle,), name=f"ray-replace-{i}", daemon=True).start()

    @staticmethod
    def _discard(handle: _Handle) -> None:
        """Kill ``handle``'s actor, if it still lives (its worker and kernels end with it)."""
        import ray

        try:
            ray.kill(handle.actor)
        except Exception:
            pass

    def _ready(self, handle: _Handle, timeout_s: float) -> None:
        """Return once ``handle``'s actor has started (placed, its checks passed); raise if it did not."""
        import ray

        ray.get(handle.actor.where.remote(), timeout=timeout_s)

    def _note(self, line: str) -> None:
        """One line of the cluster's log (``.autograder/logs/cluster.log``): nodes lost, tasks queued again."""
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self._lock, open(self.log, "a", encoding="utf-8") as fh:
            fh.write(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} {line}\n")

    def close(self) -> None:
        """Kill every actor (their workers and kernels end with them)."""

        self._closing = True
        with self._lock:  # no lost slot's actor is started again meanwhile
            for handle in self.handles:
                self._discard(handle)

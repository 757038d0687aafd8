"""A user of its own for each running sandbox, so that the kernel's own limit on one user's processes and threads
(``RLIMIT_NPROC``) is a limit on one sandbox's.

Every sandbox running as ``nobody`` would share one count: one student's fork bomb would then keep every other
kernel on the machine from starting a thread. So, when the grader is root, each sandbox claims a uid (and the gid of
the same number) from :data:`FIRST_UID` on, that no account and no file outside the sandbox's folders uses. The claim
is a lock on a file named after the uid (``flock``), held while the kernel runs and dropped by the operating
system if the grader dies, so that graders running side by side on one machine (several slots, Ray workers, two
TAs) never share a uid.
"""

from __future__ import annotations

import fcntl
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import psutil

__all__ = ["FIRST_UID", "SandboxUser", "claim"]

# Above systemd's container range (524288-1879048191) and below 2^31: no account, container or subuid range of a
# usual install. A user namespace that does not map these ids gets no users of their own (claim returns None).
FIRST_UID = 2_000_000_000
COUNT = 4096  # sandboxes that can run at once on one machine
LOCKS = Path("/run/autograder-sandbox-users")  # root's: only root claims


@dataclass
class SandboxUser:
    """A uid and gid claimed for one sandbox; :meth:`release` when its kernel is gone for good."""

    uid: int
    gid: int
    lock: IO[bytes] | None = field(default=None, repr=False)

    def release(self) -> None:
        if self.lock is not None:
            self.lock.close()  # closing the file drops the flock
            self.lock = None


def claim(locks: Path = LOCKS) -> SandboxUser | None:
    """A uid no other sandbox on this machine holds, with no process left running as it; None where sandboxes
    cannot have users of their own (the grader is not root, or the ids are not mapped in its user namespace)."""
    if os.geteuid() != 0 or not _mapped(FIRST_UID, COUNT):
        return None
    try:
        locks.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError:
        return None
    running = {uid for uid in _running_uids() if FIRST_UID <= uid < FIRST_UID + COUNT}
    for uid in range(FIRST_UID, FIRST_UID + COUNT):
        if uid in running:
            continue  # left over from a grader killed hard: its lock is gone, not its processes
        lock = open(locks / str(uid), "ab")  # noqa: SIM115 - held open for the kernel's lifetime: that is the claim
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            continue
        return SandboxUser(uid, uid, lock)
    return None


def _running_uids() -> set[int]:
    """The real uids of this machine's processes (of this pid namespace)."""
    uids = set()
    for proc in psutil.process_iter(["uids"]):
        if proc.info["uids"] is not None:
            uids.add(proc.info["uids"].real)
    return uids


def _mapped(first: int, count: int) -> bool:
    """Whether uids and gids ``first`` .. ``first + count - 1`` exist in this process's user namespace."""
    for name in ("uid_map", "gid_map"):
        try:
            rows = Path("/proc/self", name).read_text().split("\n")
        except OSError:
            return False
        ranges = [tuple(map(int, row.split())) for row in rows if row.strip()]
        if not any(inside <= first and first + count <= inside + length for inside, _, length in ranges):
            return False
    return True

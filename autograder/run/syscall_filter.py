"""A seccomp filter for sandboxed commands: the system calls that would let a notebook fill the grader's disk
faster than the executor's watch can look.

``fallocate`` reserves any number of blocks at once (measured here: 458 GB/s, the free 29 GB of this machine's
disk in 63 ms), so a notebook creating many files of just under ``--disk`` each could fill the disk the rest of
the class is graded on between two polls of its folder. Refused with EOPNOTSUPP, as file systems without it
refuse it, glibc's ``posix_fallocate`` writes the blocks instead, at the speed of writing. io_uring is refused
too (ENOSYS, as a kernel built without it): its ``IORING_OP_FALLOCATE`` does the same work without the system
call. Nothing else is filtered; the rest of the sandbox is bubblewrap's (:mod:`.sandbox`).

The filter is a classic BPF program (``struct sock_filter``), checked against the architecture the call is made
in (a 32-bit call from a 64-bit process has other numbers). It is installed by a small Python launcher that then
executes the command (:func:`command`); a filter cannot be removed, and it is inherited by every child.
"""

from __future__ import annotations

import errno
import functools
import platform
import struct

__all__ = ["FILTERED", "command", "program"]

# linux/audit.h: AUDIT_ARCH_*; the numbers from each architecture's syscall table.
_X86_64, _I386, _AARCH64, _ARM = 0xC000003E, 0x40000003, 0xC00000B7, 0x40000028
_X32 = 0x40000000  # x32 calls come as AUDIT_ARCH_X86_64 with this bit set
_IO_URING = (425, 426, 427)  # io_uring_setup, _enter, _register: one number on every architecture
FILTERED: dict[int, dict[int, int]] = {  # arch -> {syscall number: errno}
    _X86_64: {285: errno.EOPNOTSUPP, _X32 | 285: errno.EOPNOTSUPP,
              **{n: errno.ENOSYS for n in _IO_URING}, **{_X32 | n: errno.ENOSYS for n in _IO_URING}},
    _I386: {324: errno.EOPNOTSUPP, **{n: errno.ENOSYS for n in _IO_URING}},
    _AARCH64: {47: errno.EOPNOTSUPP, **{n: errno.ENOSYS for n in _IO_URING}},
    _ARM: {352: errno.EOPNOTSUPP, **{n: errno.ENOSYS for n in _IO_URING}},
}
_INSTALLED_ON = ("x86_64", "aarch64")  # machines (platform.machine()) where the filter is installed at all

# linux/filter.h and linux/seccomp.h
_LD_W_ABS, _JEQ_K, _RET_K = 0x20, 0x15, 0x06
_ARCH_OFFSET, _NR_OFFSET = 4, 0  # struct seccomp_data {int nr; __u32 arch; ...}
_RET_ALLOW, _RET_ERRNO = 0x7FFF0000, 0x00050000


def _insn(code: int, k: int, jt: int = 0, jf: int = 0) -> bytes:
    return struct.pack("=HBBI", code, jt, jf, k)


@functools.cache
def program() -> bytes:
    """The filter as ``struct sock_filter[]`` in the machine's byte order: per architecture, its calls of
    :data:`FILTERED` return their errno; everything else, and every other architecture, is allowed."""
    out = [_insn(_LD_W_ABS, _ARCH_OFFSET)]  # then per architecture: JEQ arch, else jump over its block
    for arch, calls in FILTERED.items():
        block = [_insn(_LD_W_ABS, _NR_OFFSET)]
        for nr in calls:
            # Test i jumps on a match to return i, past the tests left and the allow: n instructions on.
            block.append(_insn(_JEQ_K, nr, jt=len(calls), jf=0))
        block.append(_insn(_RET_K, _RET_ALLOW))
        block += [_insn(_RET_K, _RET_ERRNO | number) for number in calls.values()]
        out.append(_insn(_JEQ_K, arch, jt=0, jf=len(block)))
        out += block
    out.append(_insn(_RET_K, _RET_ALLOW))
    return b"".join(out)


# Run in the sandbox by the kernel's Python (-I -S: nothing of the sandbox's folders is imported first). prctl 38 is
# PR_SET_NO_NEW_PRIVS (required of an unprivileged filter), 22 PR_SET_SECCOMP with mode 2, SECCOMP_MODE_FILTER.
_LAUNCHER = """\
import ctypes, os, sys
class Prog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]
code = bytes.fromhex(sys.argv[1])
buf = ctypes.create_string_buffer(code, len(code))
prog = Prog(len(code) // 8, ctypes.addressof(buf))
libc = ctypes.CDLL(None, use_errno=True)
if libc.prctl(38, 1, 0, 0, 0) or libc.prctl(22, 2, ctypes.byref(prog), 0, 0):
    sys.exit(f"autograder: the sandbox's system-call filter was refused: {os.strerror(ctypes.get_errno())}")
os.execvp(sys.argv[2], sys.argv[2:])
"""


def command(python: str) -> list[str]:
    """The argv prefix that runs the command after it with :func:`program` installed ([] on a machine whose
    architecture the table does not know)."""
    if platform.machine() not in _INSTALLED_ON:
        return []
    return [python, "-I", "-S", "-c", _LAUNCHER, program().hex()]

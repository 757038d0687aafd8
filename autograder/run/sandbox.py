"""Sandbox: run a student's notebook kernel inside bubblewrap (``bwrap``).

Student code can read only what it needs to run (the system's libraries, Python, this venv, and of the
``autograder`` package only its in-kernel half, ``autograder.kernel`` and ``autograder.datasets``: never
the labs' reference answers, thresholds or checks), its own scratch directory (read-write; its cwd and HOME), and the
read-only directories the caller names. It cannot read the rest of the course (``source/``,
``solutions/``, the gradebook, other students' folders), cannot write outside its scratch
directory (``/tmp`` and ``/dev/shm`` are private tmpfs of a bounded size, whose files the grader counts as the kernel's
memory: :func:`private_tmpfs_bytes`), and has no network.

When the grader runs as root, bwrap itself needs root to mount, but student code must not keep it:
the sandboxed command is started through ``setpriv`` as a user of its own (:mod:`.sandbox_users`; ``nobody``,
uid and gid 65534, where there are none), with no capabilities and ``no_new_privs``, after ``prlimit`` has
bounded its processes and threads (``RLIMIT_NPROC``, which the kernel counts per user: hence a user per sandbox)
and the size of any file it writes (``RLIMIT_FSIZE``), and with a seccomp filter that refuses ``fallocate`` and
io_uring, which would reserve disk faster than the executor's watch looks (:mod:`.syscall_filter`). bwrap's own
``--unshare-user --uid 65534`` would only *look* unprivileged: inside that user namespace 65534 maps back to root,
so root-owned files stay readable. As a normal user, bwrap puts the command in a user namespace and it runs with
that user's uid and no capabilities.

The kernel talks to the grader over unix sockets (ZeroMQ's ``ipc`` transport) in the scratch
directory: TCP on localhost cannot reach a kernel that has its own network namespace.
"""

from __future__ import annotations

import functools
import os
import resource
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from jupyter_client.kernelspec import KernelSpec, KernelSpecManager
from jupyter_client.manager import AsyncKernelManager

import autograder
from autograder.run import sandbox_users, syscall_filter
from autograder.run.sandbox_users import SandboxUser

__all__ = ["SANDBOX_UID", "Sandbox", "available", "kernel_manager", "prepare", "private_tmpfs_bytes", "wrap"]

SANDBOX_UID = SANDBOX_GID = 65534  # nobody / nogroup: who student code runs as when the grader is root
INLINE_BACKEND = "module://matplotlib_inline.backend_inline"  # Jupyter's own
KERNEL_DIR = ".kernel"  # in scratch: the connection file and the kernel's unix sockets

# Files in /etc that Python, glibc, matplotlib (fc-list), ssl and torch read. All of /etc would
# hand over much more (shadow, ssh host keys, /etc/ssl/private), so only these are bound.
_ETC = (
    "ld.so.cache", "ld.so.conf", "ld.so.conf.d", "passwd", "group", "nsswitch.conf", "hosts",
    "localtime", "timezone", "os-release", "fonts", "ssl/certs", "ssl/openssl.cnf",
    "ca-certificates.conf", "alternatives", "mime.types",
)
_OTHER_SYSTEM = ("/var/cache/fontconfig",)  # matplotlib runs fc-list; without its cache fc-list rescans
_MERGED_USR = ("bin", "sbin", "lib", "lib32", "lib64", "libx32")  # symlinks into /usr on modern distros
_MADE_BY_BWRAP = (Path("/tmp"), Path("/dev"), Path("/proc"))
_SUN_PATH_MAX = 107  # longest unix socket path (sockaddr_un.sun_path is 108 bytes with its NUL)
_PRIVATE_TMPFS = ("/tmp", "/dev/shm")
# The kernel's Python, as an absolute path without "..": a grader started as ../.venv/bin/python has a
# sys.executable through folders the sandbox does not bind.
PYTHON = os.path.abspath(sys.executable)


@dataclass(frozen=True)
class Sandbox:
    """Where a sandboxed command may read and write."""

    scratch: Path  # read-write; the kernel's cwd and HOME
    readable: tuple[Path, ...] = ()  # extra read-only binds, at the same paths
    gpus: str | None = None  # CUDA_VISIBLE_DEVICES value, e.g. "0" or "0,1"; None: no GPU devices exposed
    # Top-level packages (e.g. "torch", "scipy") whose files are hidden from the kernel: a lab whose answers must be
    # NumPy is graded where the library it forbids does not exist, so that no way of holding it can reach it.
    without: tuple[str, ...] = ()
    # Bytes each private tmpfs may hold. Their files are RAM outside any process's resident memory, and by default
    # a tmpfs may grow to half the machine's: the executor passes the kernel's memory limit.
    tmpfs_bytes: int | None = None
    # The most processes and threads its user may have at once (RLIMIT_NPROC), where it has a user of its own: a
    # fork bomb meets the kernel's refusal however fast it forks. The executor passes more than the limit its watch
    # enforces (execution.TASKS_KERNEL_FACTOR), so that the watch still sees a bomb pass its limit and names the cause.
    tasks: int | None = None
    file_bytes: int | None = None  # the largest file it may write or allocate (RLIMIT_FSIZE); None: any

    def __post_init__(self) -> None:
        # Callers pass str or lists too. Inside the sandbox there are no symlinked parents: scratch
        # is bound at its real path, where jupyter_client (which resolves the connection file's path)
        # and the kernel agree; readable dirs at the absolute path given, which notebooks may use.
        object.__setattr__(self, "scratch", Path(self.scratch).resolve())
        object.__setattr__(self, "readable", tuple(Path(os.path.abspath(p)) for p in self.readable))
        object.__setattr__(self, "without", tuple(self.without))


# --- the bwrap command line ------------------------------------------------------------------


def wrap(argv: list[str], sandbox: Sandbox, user: SandboxUser | None = None) -> list[str]:
    """The bwrap command line that runs argv inside the sandbox, as ``user`` (None: :data:`SANDBOX_UID`) where
    the grader is root.

    The command starts in ``sandbox.scratch`` and inherits bwrap's environment (``kernel_manager``
    starts it with a minimal one). As root, scratch must be writable by that user (see :func:`prepare`).
    """
    return _wrap(argv, sandbox, user=user)


def _wrap(argv: list[str], sandbox: Sandbox, writable: Iterable[Path] = (), user: SandboxUser | None = None) -> list[str]:
    """:func:`wrap`, with more read-write binds (a short socket directory)."""
    ro = _dedupe([*_python_paths(), *sandbox.readable])
    rw = [sandbox.scratch, *writable]
    # sorted() is stable: at one depth the package's tmpfs (from _kernel_package) comes before its contents
    binds = sorted([("--ro-bind", p) for p in ro] + [("--bind", p) for p in rw] + _kernel_package(),
                   key=lambda b: len(b[1].parts))
    cmd = [shutil.which("bwrap") or "bwrap", *_namespaces(), *_base_filesystem(sandbox.tmpfs_bytes)]
    cmd += _parent_dirs([p for _, p in binds] + _system_files())
    cmd += _system_binds()
    for flag, path in binds:  # parents before children, so a nested bind is not hidden
        cmd += [flag, str(path)] if flag == "--tmpfs" else [flag, str(path), str(path)]
    for hidden in left_out_paths(sandbox.without):  # after the trees they are in, so that they cover them
        cmd += ["--ro-bind", str(LEFT_OUT_STUB if hidden.is_dir() else LEFT_OUT_STUB / "__init__.py"), str(hidden)]
    if sandbox.gpus is not None:
        cmd += _gpu_binds(sandbox.gpus)
    # The skeleton bwrap built (/etc, /work, ...) is a tmpfs; a user-namespace sandbox owns it and
    # could write there. Read-only now; binds and /tmp keep their own flags.
    cmd += ["--remount-ro", "/"]
    cmd += ["--chdir", str(sandbox.scratch), "--setenv", "HOME", str(sandbox.scratch)]
    # Inside the pid namespace the kernel's parent is bwrap's init, pid 1. With the grader's pid here,
    # ipykernel would take pid 1 for "my parent died" and exit; with 1 it does not watch its parent
    # (--die-with-parent does) and, unlike when unset, prints no "Ctrl-C will not work" banner.
    cmd += ["--setenv", "JPY_PARENT_PID", "1"]
    return [*cmd, "--", *_resource_limits(sandbox, user), *_drop_privileges(user), *syscall_filter.command(PYTHON),
            *argv]


def _namespaces() -> list[str]:
    """No network; own pid/ipc/uts namespaces; killed with the grader; no TIOCSTI on its terminal."""
    cmd = ["--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--hostname", "sandbox",
           "--unshare-cgroup-try", "--die-with-parent", "--new-session"]
    if os.geteuid() == 0 and not _drops_privileges():
        # No way to become a real unprivileged uid: at least have bwrap drop every capability.
        cmd += ["--unshare-user", "--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_GID)]
    return cmd


def _base_filesystem(tmpfs_bytes: int | None = None) -> list[str]:
    """Fresh /proc and /dev; /tmp and /dev/shm are private tmpfs, writable by anyone (sticky), of ``tmpfs_bytes``
    each where bwrap can size them (``--size``, bubblewrap 0.5 and later)."""
    cmd = ["--proc", "/proc", "--dev", "/dev"]
    for path in sorted(_PRIVATE_TMPFS):  # /dev/shm before /tmp, as bwrap mounts them
        size = ["--size", str(tmpfs_bytes)] if tmpfs_bytes and _bwrap_sizes_tmpfs() else []
        cmd += ["--perms", "1777", *size, "--tmpfs", path]
    return cmd


@functools.cache
def _bwrap_sizes_tmpfs() -> bool:
    try:
        help_text = subprocess.run([shutil.which("bwrap") or "bwrap", "--help"], capture_output=True, text=True,
                                   timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return False
    return "--size" in help_text


def private_tmpfs_bytes(pids: Iterable[int]) -> int:
    """Bytes of files in the sandbox's private /tmp and /dev/shm, read through the first of ``pids`` in a mount
    namespace other than ours (the sandboxed ones); 0 when there is none (not sandboxed, or already gone)."""
    try:
        ours = os.stat("/proc/self/ns/mnt").st_ino
    except OSError:
        return 0
    for pid in pids:
        try:
            if os.stat(f"/proc/{pid}/ns/mnt").st_ino == ours:
                continue
            used = [os.statvfs(f"/proc/{pid}/root{path}") for path in _PRIVATE_TMPFS]
        except OSError:
            continue  # exited meanwhile, or its root is not ours to read
        return sum((fs.f_blocks - fs.f_bfree) * fs.f_frsize for fs in used)
    return 0


def _system_binds() -> list[str]:
    """/usr, the /bin, /lib... links into it, and the few files of /etc and /var that are needed."""
    cmd = ["--ro-bind", "/usr", "/usr"]
    for name in _MERGED_USR:
        host = Path("/", name)
        if host.is_symlink():
            cmd += ["--symlink", os.readlink(host), str(host)]
        elif host.is_dir():
            cmd += ["--ro-bind", str(host), str(host)]
    for path in _system_files():
        cmd += ["--ro-bind-try", str(path), str(path)]  # -try: distributions differ
    return cmd


def _system_files() -> list[Path]:
    """The files of /etc and /var bound read-only (when they exist)."""
    return [*(Path("/etc", name) for name in _ETC), *map(Path, _OTHER_SYSTEM)]


def _python_paths() -> list[Path]:
    """This interpreter and its venv, bound where Python will look for them (the paths as Python knows them),
    and the interpreter's real directory too, where the venv's ``bin/python`` symlink leads."""
    prefixes = (sys.base_prefix, sys.prefix, sys.base_exec_prefix, sys.exec_prefix)
    return [Path(os.path.abspath(p)) for p in prefixes] + [Path(os.path.realpath(sys.executable)).parent]


# What a grading kernel may see of the autograder package: the files the notebooks import. The rest
# (the labs' references, thresholds and checks, the grader itself) stays out of the sandbox.
KERNEL_VISIBLE = ("__init__.py", "kernel", "datasets")


def _kernel_package() -> list[tuple[str, Path]]:
    """An empty folder where the ``autograder`` package is (an editable install's source folder, or its folder in
    site-packages), with only :data:`KERNEL_VISIBLE` bound into it."""
    root = Path(os.path.abspath(os.path.dirname(autograder.__file__)))
    return [("--tmpfs", root)] + [("--ro-bind", root / name) for name in KERNEL_VISIBLE if (root / name).exists()]


# Bound over each package a sandbox is without: a folder whose only file is an __init__ that raises ImportError.
LEFT_OUT_STUB = Path(os.path.abspath(os.path.dirname(autograder.__file__))) / "run" / "left_out_package"


def _package_roots() -> list[Path]:
    """Every folder the kernel's Python could import a package from: its ``sys.path``, and each ``site-packages`` or
    ``dist-packages`` of the Pythons under the bound prefixes (code can put any of them on its ``sys.path``)."""
    roots = [Path(p) for p in sys.path if p]
    for prefix in dict.fromkeys([*_python_paths(), Path("/usr"), Path("/usr/local")]):
        for pattern in ("lib/python3*/site-packages", "lib/python3*/dist-packages", "lib/python3/dist-packages",
                        "local/lib/python3*/dist-packages", "lib64/python3*/site-packages"):
            roots.extend(prefix.glob(pattern))
    return [r for r in dict.fromkeys(Path(os.path.abspath(r)) for r in roots) if r.is_dir()]


def left_out_paths(packages: Iterable[str]) -> list[Path]:
    """The files and folders of ``packages`` (top-level names) in every package root (:func:`_package_roots`): the
    package's folder, or its single-file module. Its ``.libs`` and ``dist-info`` folders hold no importable code."""
    packages = tuple(packages)
    if not packages:
        return []
    found: dict[str, Path] = {}  # real path -> the first path found to it (lib64 is often a link to lib)
    for root in _package_roots():
        for name in packages:
            for path in [*(p for p in (root / name, root / f"{name}.py") if p.exists()), *root.glob(f"{name}.*.so")]:
                found.setdefault(os.path.realpath(path), path)
    return list(found.values())


def _dedupe(paths: Iterable[Path]) -> list[Path]:
    """Drop paths inside another one of the list (or inside /usr, bound anyway)."""
    unique = sorted(set(paths), key=lambda p: len(p.parts))
    kept: list[Path] = []
    for path in unique:
        if not any(path.is_relative_to(k) for k in [Path("/usr"), *kept]):
            kept.append(path)
    return kept


def _parent_dirs(destinations: Iterable[Path]) -> list[str]:
    """Create the parents of every bind as 0755 dirs: bwrap makes missing parents 0700 as root,
    which nobody could not traverse."""
    destinations = list(destinations)
    parents = {parent for dest in destinations for parent in dest.parents if parent != Path("/")}
    # /tmp, /dev, /proc already exist; a parent inside a bind comes with that bind.
    needed = [p for p in parents if p not in _MADE_BY_BWRAP and not any(p.is_relative_to(d) for d in destinations)]
    cmd: list[str] = []
    for parent in sorted(needed, key=lambda p: len(p.parts)):
        cmd += ["--perms", "0755", "--dir", str(parent)]
    return cmd


def _gpu_binds(gpus: str) -> list[str]:
    """The NVIDIA device nodes (--dev-bind: the fresh /dev is nodev), and /sys, which CUDA reads
    to find the devices. All nodes are bound because CUDA's numbering need not match /dev/nvidiaN;
    CUDA_VISIBLE_DEVICES picks the GPUs (a selection, not a security boundary)."""
    cmd = ["--ro-bind", "/sys", "/sys"]
    for node in sorted(Path("/dev").glob("nvidia*")):
        cmd += ["--dev-bind", str(node), str(node)]
    return [*cmd, "--setenv", "CUDA_VISIBLE_DEVICES", gpus]


def _drops_privileges() -> bool:
    """Whether sandboxed commands run as another, unprivileged user (the grader is root and has setpriv): the
    sandbox's own (:mod:`.sandbox_users`), or :data:`SANDBOX_UID`."""
    return os.geteuid() == 0 and shutil.which("setpriv") is not None


def _ids(user: SandboxUser | None) -> tuple[int, int]:
    return (user.uid, user.gid) if user is not None else (SANDBOX_UID, SANDBOX_GID)


def _drop_privileges(user: SandboxUser | None) -> list[str]:
    """As root: become ``user`` (None: nobody), with no capabilities, and never regain them (no_new_privs)."""
    if not _drops_privileges():
        return []
    uid, gid = _ids(user)
    return [shutil.which("setpriv") or "setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups",
            "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs"]


def _resource_limits(sandbox: Sandbox, user: SandboxUser | None) -> list[str]:
    """``prlimit`` with the sandbox's limits, soft and hard (an unprivileged process cannot raise a hard limit).
    RLIMIT_NPROC only for a user of its own (as nobody it would count every sandbox's processes together, and
    as the grader's own user the grader's)."""
    limits = [f"--fsize={_within_hard_limit(resource.RLIMIT_FSIZE, sandbox.file_bytes)}"] if sandbox.file_bytes else []
    if sandbox.tasks and user is not None and _drops_privileges():
        limits.append(f"--nproc={_within_hard_limit(resource.RLIMIT_NPROC, sandbox.tasks)}")
    prlimit = shutil.which("prlimit")  # util-linux, as setpriv; without it, only the executor's polled limits hold
    return [prlimit, *limits, "--"] if limits and prlimit else []


def _within_hard_limit(which: int, value: int) -> int:
    """``value``, or the grader's own hard limit where that is lower: bwrap's root cannot raise it (no
    CAP_SYS_RESOURCE), and prlimit would fail to start the kernel."""
    hard = resource.getrlimit(which)[1]
    return value if hard == resource.RLIM_INFINITY else min(value, hard)


def prepare(sandbox: Sandbox, user: SandboxUser | None = None) -> None:
    """Create scratch and, as root, give it (recursively) to ``user`` (None: :data:`SANDBOX_UID`), who runs the code.

    ``kernel_manager`` calls this at every kernel start, after the caller has copied the submission in.
    """
    sandbox.scratch.mkdir(parents=True, exist_ok=True)
    if _drops_privileges():
        _give_to_sandbox_user(sandbox.scratch, user)


def _give_to_sandbox_user(root: Path, user: SandboxUser | None) -> None:
    """chown -R without following symlinks: a student's symlink to /etc/shadow must stay harmless."""
    uid, gid = _ids(user)
    os.lchown(root, uid, gid)
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            os.lchown(os.path.join(dirpath, name), uid, gid)


# --- is it usable here? ------------------------------------------------------------------------


@functools.cache
def available() -> tuple[bool, str]:
    """(True, "bwrap X.Y") when a trial sandbox runs here, else (False, why). Cached."""
    bwrap = shutil.which("bwrap")
    if not bwrap:
        return False, "bwrap is not installed (scripts/install-sandbox installs it)"
    version = subprocess.run([bwrap, "--version"], capture_output=True, text=True).stdout.split()[-1:]
    name = f"bwrap {version[0] if version else '?'}"
    with tempfile.TemporaryDirectory(prefix="ag-sandbox-") as tmp:
        trial = Sandbox(scratch=Path(tmp))
        prepare(trial)
        # The trial imports the kernel's half of the package (and so numpy): the binds are enough to run probes.
        argv = wrap([PYTHON, "-c", "import autograder.kernel"], trial)
        try:
            proc = subprocess.run(argv, capture_output=True, text=True, timeout=120, env=_base_env(trial.scratch))
        except (OSError, subprocess.TimeoutExpired) as exc:
            return False, f"{name} cannot run a sandbox here: {exc}"
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or [f"exit status {proc.returncode}"])[-1]
        return False, f"{name} cannot run a sandbox here: {last}"
    return True, name


# --- the kernel ----------------------------------------------------------------------------------


def _base_env(home: Path) -> dict[str, str]:
    """The kernel's whole environment before the caller's additions: nothing of the grader's leaks in."""
    path = os.pathsep.join([str(Path(PYTHON).parent), "/usr/local/bin", "/usr/bin", "/bin"])
    # matplotlib as in Jupyter: a cell's figures become image outputs, so the feedback shows the student's plots.
    # USER: a sandbox's own uid has no account, and getpass.getuser() (torch's compile cache) asks the env first.
    return {"PATH": path, "LANG": "C.UTF-8", "HOME": str(home), "MPLBACKEND": INLINE_BACKEND, "USER": "student"}


def _kernel_spec(interrupt_mode: str) -> KernelSpec:
    """This venv's ipykernel; never a python3 kernelspec found in the user's Jupyter paths."""
    return KernelSpec(
        argv=[PYTHON, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        display_name="Python 3 (autograder)", language="python", interrupt_mode=interrupt_mode,
    )


class _OneSpecManager(KernelSpecManager):
    """A KernelSpecManager that knows one kernel: how a KernelManager is given its argv in
    jupyter_client 8 (``kernel_cmd`` is gone; the manager reads ``kernel_spec_manager``)."""

    def __init__(self, spec: KernelSpec, **kwargs) -> None:
        super().__init__(**kwargs)
        self._spec = spec

    def find_kernel_specs(self) -> dict[str, str]:
        return {}

    def get_kernel_spec(self, kernel_name: str) -> KernelSpec:
        return self._spec


class SandboxKernelManager(AsyncKernelManager):
    """An AsyncKernelManager whose kernel runs in a :class:`Sandbox` (or unsandboxed when it is None),
    over unix sockets in ``socket_dir``, with exactly ``kernel_env`` as its environment, as a user of its own
    (``user``, claimed at the first start and released when the kernel is gone for good) where there is one."""

    def __init__(self, *, sandbox: Sandbox | None, kernel_env: dict[str, str], socket_dir: Path,
                 temporary_dir: bool, **kwargs) -> None:
        super().__init__(**kwargs)
        self.sandbox = sandbox
        self.kernel_env = kernel_env
        self.socket_dir = socket_dir
        self.temporary_dir = temporary_dir  # socket_dir is a temporary dir (not scratch/.kernel)
        self.user: SandboxUser | None = None

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        """The kernel's argv (with nbclient's extra arguments), wrapped in bwrap when sandboxed."""
        cmd = super().format_kernel_cmd(extra_arguments)
        if self.sandbox is None:
            return cmd
        outside = [] if self.socket_dir.is_relative_to(self.sandbox.scratch) else [self.socket_dir]
        return _wrap(cmd, self.sandbox, writable=outside, user=self.user)

    async def _async_pre_start_kernel(self, **kw):
        """Before each start: the socket dir exists and belongs to the kernel's user; the kernel gets
        our environment, not the grader's (jupyter_client would pass on os.environ)."""
        self.socket_dir.mkdir(parents=True, exist_ok=True)
        if self.sandbox is not None:
            if self.user is None and _drops_privileges():
                self.user = sandbox_users.claim()  # kept across restarts
            prepare(self.sandbox, self.user)  # also gives scratch/.kernel to the kernel's user
            if self.temporary_dir and _drops_privileges():
                _give_to_sandbox_user(self.socket_dir, self.user)  # the kernel creates its sockets there
            kw.setdefault("cwd", str(self.sandbox.scratch))
        kw["env"] = {**self.kernel_env, **kw.get("env", {})}
        cmd, kw = await super()._async_pre_start_kernel(**kw)
        if self.sandbox is not None and _drops_privileges():
            # Written 0600 by root just now: the kernel, as its user, must read it.
            os.chown(self.connection_file, *_ids(self.user))
        return cmd, kw

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        """Also remove the socket directory once the kernel is gone for good."""
        await super()._async_cleanup_resources(restart=restart)
        if not restart:
            shutil.rmtree(self.socket_dir, ignore_errors=True)
            if self.user is not None:
                self.user.release()
                self.user = None

    # AsyncKernelManager aliases the public names to the base class's coroutines: point them at ours.
    pre_start_kernel = _async_pre_start_kernel
    cleanup_resources = _async_cleanup_resources


def _socket_dir(sandbox: Sandbox | None) -> tuple[Path, bool]:
    """scratch/.kernel, or a new temporary dir when there is no sandbox or that path is too long
    for a unix socket (True: the directory is a temporary one)."""
    if sandbox is not None:
        wanted = sandbox.scratch / KERNEL_DIR
        if len(str(wanted / "k-99999")) <= _SUN_PATH_MAX:
            return wanted, False
    return Path(tempfile.mkdtemp(prefix="ag-kernel-")), True


def kernel_manager(sandbox: Sandbox | None, env: dict[str, str]) -> AsyncKernelManager:
    """A not-yet-started async kernel manager for the python3 kernel of this venv (sys.executable -m ipykernel_launcher),
    using IPC transport (unix sockets in sandbox.scratch/.kernel/ or a temp dir when sandbox is None) so that a kernel in
    its own network namespace can still be reached; env is the kernel's environment (merged over a minimal base:
    PATH, LANG=C.UTF-8, HOME=scratch, MPLBACKEND=inline). sandbox None: an unsandboxed kernel (same transport).

    Start it with ``await km.start_kernel()`` (or let ``nbclient.NotebookClient(nb, km=km)`` start it);
    the kernel's cwd is scratch whatever ``cwd`` is passed. A NotebookClient given a km does not shut it
    down: call ``await km.shutdown_kernel(now=True)``, which kills everything the kernel started.
    When scratch/.kernel is too long a path for a unix socket, a short temporary dir is used instead.
    """
    socket_dir, temporary = _socket_dir(sandbox)
    home = sandbox.scratch if sandbox is not None else socket_dir
    # Sandboxed kernels are interrupted by a message: a SIGINT to bwrap's process group would
    # reach bwrap, not the kernel (its own session), and kill it.
    spec = _kernel_spec("message" if sandbox is not None else "signal")
    return SandboxKernelManager(
        sandbox=sandbox, kernel_env={**_base_env(home), **env}, socket_dir=socket_dir, temporary_dir=temporary,
        kernel_name="python3", kernel_spec_manager=_OneSpecManager(spec), transport="ipc",
        ip=str(socket_dir / "k"), connection_file=str(socket_dir / "kernel.json"),
    )

"""The sandbox student kernels run in: real kernels, run through nbclient, probing what student
code can and cannot do. The sandboxed tests are skipped where bubblewrap cannot run."""

from __future__ import annotations

import errno
import json
import os
import resource
import secrets
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest
from jupyter_core.utils import run_sync
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_notebook

import autograder
from autograder.run import sandbox, sandbox_users, syscall_filter
from autograder.run.sandbox import Sandbox, kernel_manager, wrap

REPO = Path(autograder.__file__).resolve().parents[1]
AVAILABLE, WHY = sandbox.available()
needs_bwrap = pytest.mark.skipif(not AVAILABLE, reason=f"no bubblewrap sandbox here: {WHY}")
as_root = pytest.mark.skipif(os.geteuid() != 0, reason="the uid drop only happens when the grader is root")

# Defined in the kernel before each probe: "ok", or the name of the exception the action raised.
ATTEMPT = '''
import json, os, socket
def attempt(action):
    try:
        action()
        return "ok"
    except Exception as exc:
        return type(exc).__name__
'''


def execute(km, *sources: str, timeout: int = 60, **options) -> list[str]:
    """Run a notebook of ``sources`` on ``km``; each cell's stdout and errors ("Name: value"), as text."""
    nb = new_notebook(cells=[new_code_cell(src) for src in sources])
    NotebookClient(nb, km=km, timeout=timeout, allow_errors=True, **options).execute()
    return ["".join(o.text if o.output_type == "stream" else f"{o.ename}: {o.evalue}\n"
                    for o in cell.outputs if o.output_type in ("stream", "error")) for cell in nb.cells]


def probe(km, **actions: str) -> dict[str, str]:
    """Each action (a Python expression) run in the kernel: "ok" or the exception's name."""
    calls = ", ".join(f"{name!r}: attempt(lambda: {expr})" for name, expr in actions.items())
    out = execute(km, ATTEMPT, f"print(json.dumps({{{calls}}}))")[-1]
    result = json.loads(out.strip().splitlines()[-1])
    assert "NameError" not in result.values(), result  # a mistake in the probe, not a denial
    return result


def write(path: Path, text: str, mode: int = 0o644) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(mode)
    return path


def processes_with(token: str) -> list[int]:
    """Host pids whose command line contains ``token``."""
    pids = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and token in (entry / "cmdline").read_bytes().decode(errors="replace"):
                pids.append(int(entry.name))
        except OSError:
            pass  # exited meanwhile
    return pids


@pytest.fixture(scope="module")
def box(tmp_path_factory):
    """One sandboxed kernel, started ahead of time and shared by the probes below (starting one
    and importing torch takes seconds); with a readable data dir and a sibling dir it must not see."""
    base = tmp_path_factory.mktemp("box")
    base.chmod(0o755)  # pytest makes it 0700; the data dir below must be readable by nobody
    paths = {
        "scratch": base / "scratch",
        "data": write(base / "data" / "data.txt", "released data").parent,
        "root_only": write(base / "data" / "root_only.txt", "secret", mode=0o600),
        "sibling": write(base / "other-student" / "03_n.ipynb", "{}"),
    }
    paths["data"].chmod(0o755)
    os.environ["AG_TEST_GRADER_SECRET"] = "leaked"  # the kernel must not inherit the grader's environment
    try:
        km = kernel_manager(Sandbox(paths["scratch"], readable=(paths["data"],)), {"AG_TEST_VAR": "given"})
        run_sync(km.start_kernel)(cwd=str(base))
    finally:
        del os.environ["AG_TEST_GRADER_SECRET"]
    yield km, paths
    run_sync(km.shutdown_kernel)(now=True)


# --- the command line (no bwrap needed) ---------------------------------------------------------


def test_wrap_isolates_and_binds_only_what_is_named(tmp_path):
    data = tmp_path / "data"
    cmd = wrap(["python", "-c", "1"], Sandbox(tmp_path / "scratch", readable=(data,)))
    assert cmd[-3:] == ["python", "-c", "1"]
    for flag in ("--unshare-net", "--unshare-pid", "--die-with-parent", "--new-session"):
        assert flag in cmd
    pairs = list(zip(cmd, cmd[1:], cmd[2:], strict=False))
    assert ("--bind", str(tmp_path / "scratch"), str(tmp_path / "scratch")) in pairs
    assert ("--ro-bind", str(data), str(data)) in pairs
    package = REPO / "autograder"
    assert ["--tmpfs", str(package)] == cmd[cmd.index(str(package)) - 1:cmd.index(str(package)) + 1]
    for name in ("__init__.py", "kernel", "datasets"):  # the kernel's half of the package, and no more of it
        assert ("--ro-bind", str(package / name), str(package / name)) in pairs
    bound = {Path(src) for flag, src, _ in pairs if flag in ("--bind", "--ro-bind", "--ro-bind-try", "--dev-bind")}
    assert not {REPO, REPO / "source", package, package / "labs", Path("/etc"), Path("/")} & bound
    assert not any(c.startswith("/dev/nvidia") for c in cmd) and "CUDA_VISIBLE_DEVICES" not in cmd


def test_the_private_tmpfs_are_sized_when_asked(tmp_path, monkeypatch):
    cmd = wrap(["python"], Sandbox(tmp_path, tmpfs_bytes=2**30))
    for path in ("/tmp", "/dev/shm"):
        i = cmd.index(path)
        assert cmd[i - 3:i + 1] == ["--size", str(2**30), "--tmpfs", path]
    assert "--size" not in wrap(["python"], Sandbox(tmp_path))  # the kernel's default: half the machine's memory
    monkeypatch.setattr(sandbox, "_bwrap_sizes_tmpfs", lambda: False)  # bubblewrap before 0.5 has no --size
    assert "--size" not in wrap(["python"], Sandbox(tmp_path, tmpfs_bytes=2**30))


def test_wrap_with_gpus_exposes_the_devices(tmp_path):
    cmd = wrap(["python"], Sandbox(tmp_path, gpus="0,1"))
    i = cmd.index("CUDA_VISIBLE_DEVICES")
    assert cmd[i - 1:i + 2] == ["--setenv", "CUDA_VISIBLE_DEVICES", "0,1"]
    assert ["--ro-bind", "/sys", "/sys"] == cmd[cmd.index("/sys") - 1:cmd.index("/sys") + 2]
    for node in Path("/dev").glob("nvidia*"):
        assert ["--dev-bind", str(node), str(node)] == cmd[cmd.index(str(node)) - 1:cmd.index(str(node)) + 2]


# --- a sandboxed kernel --------------------------------------------------------------------------


@needs_bwrap
def test_numpy_torch_and_matplotlib_work(box):
    km, paths = box
    out = execute(km, "import numpy as np, torch\nprint(int(np.arange(4).sum()), int(torch.ones(3).sum()))",
                  "import matplotlib.pyplot as plt\nplt.plot([1, 2])\nplt.savefig('plot.png')",
                  "import os\nprint(os.getcwd() == os.environ['HOME'], os.environ['MPLBACKEND'])")
    assert out == ["6 3\n", "", f"True {sandbox.INLINE_BACKEND}\n"]
    assert (paths["scratch"] / "plot.png").stat().st_size > 0


@needs_bwrap
def test_only_the_given_environment_reaches_the_kernel(box):
    km, _ = box
    out = execute(km, "import os\nprint(os.environ.get('AG_TEST_VAR'), os.environ.get('AG_TEST_GRADER_SECRET'))")
    assert out == ["given None\n"]


@needs_bwrap
def test_the_course_and_other_folders_are_unreadable(box):
    km, paths = box
    secret = paths["sibling"]
    assert (REPO / "source").is_dir() and secret.is_file()  # there to read, outside the sandbox
    result = probe(km, source=f"os.listdir({str(REPO / 'source')!r})",
                   readme=f"open({str(REPO / 'README.md')!r}).read()",
                   sibling=f"open({str(secret)!r}).read()",
                   sibling_dir=f"os.listdir({str(secret.parent)!r})")
    assert "ok" not in result.values(), result


# Walks what a kernel can import and read for any of the grader's own code: source or bytecode of the labs'
# references, thresholds and checks, the judge, or anything of the package outside its kernel half.
GRADER_CODE_WALK = """
import os, pathlib, site, sys
hits = [m for m in sys.modules if m.startswith('autograder.') and not m.startswith(('autograder.kernel', 'autograder.datasets'))]
for name in ('autograder.labs', 'autograder.labs.lab03.reference', 'autograder.score.judge', 'autograder.grade'):
    try:
        __import__(name)
        hits.append('imported ' + name)
    except ImportError:
        pass
import autograder
package = pathlib.Path(autograder.__file__).parent
visible = sorted(p.name for p in package.iterdir())
roots = [*sys.path, *site.getsitepackages(), '/']
for root in dict.fromkeys(str(r) for r in roots if r):
    for folder, dirs, files in os.walk(root, onerror=lambda e: None):
        dirs[:] = [d for d in dirs if not (folder == '/' and d in ('proc', 'sys', 'dev'))]
        parts = pathlib.Path(folder).parts
        if 'autograder' in parts and not {'kernel', 'datasets'} & set(parts[parts.index('autograder') + 1:][:1]):
            hits += [os.path.join(folder, f) for f in files if f != '__init__.py' and not f.startswith('__init__.')]
print(visible)
print(sorted(set(hits)))
"""


@needs_bwrap
def test_no_answer_key_is_importable_or_readable_in_the_kernel(box):
    """Of the autograder package a kernel sees its __init__, the kernel half and the datasets readers, nothing else:
    no reference, threshold or check can be imported, found on sys.path or in site-packages, or read anywhere."""
    km, _ = box
    visible, hits = execute(km, GRADER_CODE_WALK, timeout=300)[0].strip().splitlines()[-2:]
    assert sorted(eval(visible)) == sorted(["__init__.py", "kernel", "datasets"])  # noqa: S307 - our own repr
    assert eval(hits) == []  # noqa: S307
    assert (REPO / "autograder" / "labs" / "lab03" / "reference.py").is_file()  # there, outside the sandbox


@needs_bwrap
def test_writes_outside_scratch_fail(box):
    km, paths = box
    targets = {"repo": REPO / "sandbox-escape.txt", "package": REPO / "autograder" / "sandbox_escape.py",
               "readable": paths["data"] / "data.txt", "venv": Path(os.__file__).parent / "sandbox_escape.py"}
    result = probe(km, scratch="open('mine.txt', 'w').write('x')", tmp="open('/tmp/t.txt', 'w').write('x')",
                   **{name: f"open({str(path)!r}, 'a').write('x')" for name, path in targets.items()})
    assert result.pop("scratch") == "ok" and result.pop("tmp") == "ok"
    assert "ok" not in result.values(), result
    assert (paths["scratch"] / "mine.txt").read_text() == "x"
    assert (paths["data"] / "data.txt").read_text() == "released data"
    assert not targets["repo"].exists() and not targets["package"].exists() and not targets["venv"].exists()


@needs_bwrap
def test_readable_dirs_are_readable_not_writable(box):
    km, paths = box
    data = paths["data"] / "data.txt"
    out = execute(km, f"print(open({str(data)!r}).read())")
    assert out == ["released data\n"]
    assert probe(km, write=f"open({str(data)!r}, 'w')", new=f"open({str(data.parent / 'new.txt')!r}, 'w')") == {
        "write": "OSError", "new": "OSError"}


@needs_bwrap
def test_no_network(box):
    km, _ = box
    with socket.create_server(("127.0.0.1", 0)) as server:  # the grader's own loopback
        port = server.getsockname()[1]
        socket.create_connection(("127.0.0.1", port), timeout=3).close()  # reachable from outside
        result = probe(km, host_loopback=f"socket.create_connection(('127.0.0.1', {port}), timeout=3)",
                       internet="socket.create_connection(('1.1.1.1', 443), timeout=3)",
                       dns="socket.getaddrinfo('pypi.org', 443)")
    assert "ok" not in result.values(), result


@needs_bwrap
@as_root
def test_student_code_runs_as_a_user_of_its_own_not_root(box):
    km, paths = box
    uid = km.user.uid
    assert sandbox_users.FIRST_UID <= uid < sandbox_users.FIRST_UID + sandbox_users.COUNT
    assert execute(km, "import os, getpass\nprint(os.getuid(), os.getgid(), os.getgroups(), getpass.getuser())") == [
        f"{uid} {uid} [] student\n"]
    assert probe(km, root_only=f"open({str(paths['root_only'])!r}).read()") == {"root_only": "PermissionError"}


# Reserving disk: fallocate by libc (no glibc fallback), posix_fallocate (glibc writes the blocks when refused) and
# io_uring's own fallocate, whose ring cannot even be set up. What each call returned, and what the file holds.
RESERVE = """
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
def outcome(result):
    return 0 if result == 0 else ctypes.get_errno()
fd = os.open("reserved", os.O_CREAT | os.O_WRONLY)
print("fallocate", outcome(libc.fallocate(fd, 0, ctypes.c_long(0), ctypes.c_long(1 << 30))))
os.posix_fallocate(fd, 0, 8 << 20)
print("posix_fallocate", os.fstat(fd).st_size, os.fstat(fd).st_blocks * 512 >= 8 << 20)
print("io_uring_setup", outcome(libc.syscall(425, 8, ctypes.c_void_p(0))))
os.close(fd)
os.remove("reserved")
"""


@needs_bwrap
def test_disk_is_reserved_only_at_the_speed_of_writing(box):
    km, _ = box
    out = execute(km, RESERVE)[0].split("\n")
    assert out[:3] == [f"fallocate {errno.EOPNOTSUPP}", f"posix_fallocate {8 << 20} True",
                       f"io_uring_setup {errno.ENOSYS}"], out


def _run_filter(program: bytes, arch: int, nr: int) -> int:
    """What the classic-BPF ``program`` returns for a call ``nr`` made in ``arch`` (the few instructions it uses)."""
    insns = [struct.unpack("=HBBI", program[i:i + 8]) for i in range(0, len(program), 8)]
    data = {0: nr, 4: arch}
    pc, acc = 0, 0
    while True:
        code, jt, jf, k = insns[pc]
        if code == 0x20:  # BPF_LD | BPF_W | BPF_ABS
            acc, pc = data[k], pc + 1
        elif code == 0x15:  # BPF_JMP | BPF_JEQ | BPF_K
            pc += 1 + (jt if acc == k else jf)
        elif code == 0x06:  # BPF_RET | BPF_K
            return k
        else:
            raise AssertionError(f"instruction {code:#x} not expected")


def test_the_filter_refuses_exactly_its_calls_in_every_architecture():
    program = syscall_filter.program()
    allow = 0x7FFF0000
    for arch, calls in syscall_filter.FILTERED.items():
        for nr, number in calls.items():
            assert _run_filter(program, arch, nr) == 0x50000 | number, (hex(arch), nr)
        for nr in (0, 1, 59, 231, 284, 286, 323, 325, 424, 428):  # read, write, execve, ... and the neighbours
            if nr not in calls:
                assert _run_filter(program, arch, nr) == allow, (hex(arch), nr)
    assert _run_filter(program, 0xC0000015, 309) == allow  # another architecture (ppc64le's fallocate): untouched


@as_root
def test_users_are_claimed_one_per_sandbox_and_given_back(tmp_path, monkeypatch):
    first, second = sandbox_users.claim(tmp_path), sandbox_users.claim(tmp_path)
    assert first.uid != second.uid and first.gid == first.uid
    first.release()
    again = sandbox_users.claim(tmp_path)
    assert again.uid != second.uid  # the released one may be taken again, the held one never
    # a uid that still has a process (its grader killed hard, its lock gone with it) is passed over
    monkeypatch.setattr(sandbox_users, "_running_uids", lambda: {sandbox_users.FIRST_UID + n for n in range(5)})
    assert sandbox_users.claim(tmp_path / "fresh").uid == sandbox_users.FIRST_UID + 5
    for user in (second, again):
        user.release()


@needs_bwrap
def test_a_grader_started_through_a_relative_python_path_still_sandboxes(tmp_path):
    """``../.venv/bin/python`` from another folder: the kernel's Python must be named by a path the sandbox binds."""
    relative = os.path.relpath(sys.executable, REPO / "tests")
    proc = subprocess.run([relative, "-c", "from autograder.run import sandbox; print(sandbox.available()[0])"],
                          cwd=REPO / "tests", capture_output=True, text=True, timeout=180)
    assert proc.stdout == "True\n", proc.stderr


@needs_bwrap
def test_limits_above_the_graders_own_are_lowered_to_them_not_refused(tmp_path):
    """A TA may ask for more processes than the machine's hard limit: the kernel still starts, at that limit."""
    hard = resource.getrlimit(resource.RLIMIT_NPROC)[1]
    asked = 10**9 if hard == resource.RLIM_INFINITY else hard + 1000
    box, user = Sandbox(tmp_path / "scratch", tasks=asked, file_bytes=2**62), sandbox_users.claim()
    try:
        sandbox.prepare(box, user)
        show = "import resource\nprint(resource.getrlimit(resource.RLIMIT_NPROC)[1])"
        proc = subprocess.run(wrap([sys.executable, "-c", show], box, user), capture_output=True, text=True,
                              timeout=60, env=sandbox._base_env(box.scratch))
    finally:
        if user is not None:
            user.release()
    assert proc.returncode == 0, proc.stderr
    if user is not None:
        assert int(proc.stdout) == min(asked, hard)


# Forks until the kernel refuses, prints how many children it has then, and keeps them.
FORK_TO_THE_LIMIT = """
import errno, os, time
children = 0
try:
    while children < 10_000:
        if os.fork() == 0:
            time.sleep(120)
            os._exit(0)
        children += 1
except OSError as exc:
    print(children, errno.errorcode[exc.errno], flush=True)
time.sleep(120)
"""


@needs_bwrap
@as_root
def test_a_fork_bomb_meets_the_kernels_limit_and_other_sandboxes_still_fork(tmp_path):
    """RLIMIT_NPROC counts per user: with a user per sandbox, one student's bomb is refused at its own limit,
    however fast it forks, and every other sandbox can still start processes and threads."""
    boxes = [Sandbox(tmp_path / name, tasks=40) for name in ("bomb", "honest")]
    users = [sandbox_users.claim(), sandbox_users.claim()]
    bomb = None
    try:
        for box, user in zip(boxes, users, strict=True):
            sandbox.prepare(box, user)
        bomb = subprocess.Popen(wrap([sys.executable, "-c", FORK_TO_THE_LIMIT], boxes[0], users[0]), text=True,
                                stdout=subprocess.PIPE, env=sandbox._base_env(boxes[0].scratch))
        held = bomb.stdout.readline().split()
        assert held == ["39", "EAGAIN"]  # the process itself and 39 children
        forks = "import os\nfor _ in range(30):\n    os.fork() or os._exit(0)\n    os.wait()\nprint('forked 30')"
        honest = subprocess.run(wrap([sys.executable, "-c", forks], boxes[1], users[1]), capture_output=True,
                                text=True, timeout=60, env=sandbox._base_env(boxes[1].scratch))
        assert honest.stdout == "forked 30\n", honest.stderr
    finally:
        if bomb is not None:
            bomb.kill()
            bomb.wait()
        for user in users:
            user.release()


@needs_bwrap
def test_a_cell_past_the_timeout_is_interrupted_and_the_kernel_lives_on(box):
    km, _ = box
    # the sleep never ends, so it meets the limit whatever the load; the limit leaves the print time on a busy machine
    out = execute(km, "import time\ntime.sleep(10**6)", "print('alive')", timeout=20, interrupt_on_timeout=True)
    assert out[0].startswith("KeyboardInterrupt") and out[1] == "alive\n"


@needs_bwrap
def test_processes_the_kernel_started_die_with_it(tmp_path):
    token = f"1000.{secrets.randbelow(10**9)}"  # a unique sleep duration to find the processes by
    km = kernel_manager(Sandbox(tmp_path / "scratch"), {})
    try:  # nbclient starts this kernel itself
        execute(km, f"import subprocess\nchildren = [subprocess.Popen(['sleep', '{token}']),\n"
                    f"            subprocess.Popen(['sleep', '{token}'], start_new_session=True)]")
        assert len(processes_with(token)) == 2
    finally:
        run_sync(km.shutdown_kernel)(now=True)
    deadline = time.monotonic() + 10
    while processes_with(token) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert processes_with(token) == []
    assert not (tmp_path / "scratch" / ".kernel").exists()


@needs_bwrap
def test_scratch_too_deep_for_a_unix_socket_still_works(tmp_path):
    scratch = tmp_path / ("deep-" * 20) / "scratch"
    km = kernel_manager(Sandbox(scratch), {})
    assert not Path(km.connection_file).is_relative_to(scratch)
    try:
        assert execute(km, "import os\nprint(os.getcwd())") == [f"{scratch}\n"]
    finally:
        run_sync(km.shutdown_kernel)(now=True)
    assert not Path(km.connection_file).parent.exists()


# --- without a sandbox ---------------------------------------------------------------------------


def test_unsandboxed_kernel_runs_with_the_given_environment(monkeypatch):
    monkeypatch.setenv("AG_TEST_GRADER_SECRET", "leaked")
    km = kernel_manager(None, {"AG_TEST_VAR": "given"})
    try:
        out = execute(km, "import os, numpy\nprint(os.environ.get('AG_TEST_VAR'), os.environ.get('AG_TEST_GRADER_SECRET'),"
                          " os.environ['MPLBACKEND'], int(numpy.ones(2).sum()))")
    finally:
        run_sync(km.shutdown_kernel)(now=True)
    assert out == [f"given None {sandbox.INLINE_BACKEND} 2\n"]


# --- a lab graded without a library (issue 18.2) ---------------------------------------------------------------------

# Run in the sandbox: every way of reaching torch and scipy (by name, by a built name, by their files found on sys.path,
# in site-packages or anywhere on the file system it can see: their compiled code, their packages), printed as JSON.
LIBRARY_HUNT = r"""
import importlib, importlib.util, json, os, site, sys
got = {}
for how, load in {"import": lambda: __import__("torch"), "built name": lambda: importlib.import_module("to" + "rch"),
                  "submodule": lambda: importlib.import_module("scipy.sig" + "nal"),
                  "find_spec": lambda: importlib.util.find_spec("torch").loader.exec_module(
                      importlib.util.module_from_spec(importlib.util.find_spec("torch")))}.items():
    try:
        load()
        got[how] = "loaded"
    except Exception as exc:  # with torch there, find_spec's second load of it fails otherwise
        got[how] = f"{type(exc).__name__}: {exc}"
files, loaded = [], []
for root, dirs, names in os.walk("/", onerror=lambda e: None):
    if root == "/":
        dirs[:] = [d for d in dirs if d not in ("proc", "sys", "dev")]
    native = [n for n in names if n.endswith(".so") or ".so." in n]  # their compiled code: what would do the work
    if {"torch", "scipy"} & set(root.split(os.sep)) or any(n.startswith("libtorch") for n in native):
        files += [os.path.join(root, n) for n in native]
    for n in ("torch", "scipy"):  # a top-level package of any Python's site-packages (the others are not these)
        if root.endswith(("site-packages", "dist-packages")) and n in dirs and os.path.isfile(os.path.join(root, n, "__init__.py")):
            try:
                spec = importlib.util.spec_from_file_location(n, os.path.join(root, n, "__init__.py"))
                module = importlib.util.module_from_spec(spec)
                spec.loader.exec_module(module)
                if hasattr(module, "conv2d") or hasattr(module, "LowLevelCallable"):  # torch's, scipy's (not ray's)
                    loaded.append(os.path.join(root, n))
            except Exception:
                pass
got["files"] = files[:20]
got["loaded"] = loaded[:5]
print(json.dumps(got))
"""


def _hunt(scratch: Path, without: tuple[str, ...]) -> dict:
    import subprocess
    import sys

    box = Sandbox(scratch, without=without)
    sandbox.prepare(box)
    proc = subprocess.run(wrap([sys.executable, "-c", LIBRARY_HUNT], box), capture_output=True, text=True,
                          timeout=600, env=sandbox._base_env(scratch))
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_wrap_covers_each_package_left_out_with_the_stand_in(tmp_path):
    import torch

    real = Path(torch.__file__).parent
    cmd = wrap(["python"], Sandbox(tmp_path, without=("torch", "no_such_package")))
    assert cmd[cmd.index(str(real)) - 2:cmd.index(str(real)) + 1] == ["--ro-bind", str(sandbox.LEFT_OUT_STUB), str(real)]
    venv_bind = max(i for i, c in enumerate(cmd) if c == str(Path(sys_prefix()).resolve()) or c == sys_prefix())
    assert venv_bind < cmd.index(str(real))  # over the venv's bind, not under it
    assert not any("no_such_package" in c for c in cmd)
    assert str(sandbox.LEFT_OUT_STUB) not in wrap(["python"], Sandbox(tmp_path))


def sys_prefix() -> str:
    import sys

    return os.path.abspath(sys.prefix)


@needs_bwrap
def test_a_package_left_out_cannot_be_reached_in_any_way(tmp_path):
    """torch and scipy left out: no import by any name, no file of theirs anywhere the sandbox can see; the same hunt
    without them left out finds and loads both (so the hunt itself works)."""
    hidden = _hunt(tmp_path / "hidden", ("torch", "scipy"))
    for how in ("import", "built name", "find_spec"):
        assert "graded without torch" in hidden[how], hidden
    assert "graded without scipy" in hidden["submodule"], hidden
    assert hidden["files"] == [] and hidden["loaded"] == [], hidden
    shown = _hunt(tmp_path / "shown", ())
    assert shown["import"] == shown["built name"] == shown["submodule"] == "loaded", shown
    assert shown["files"] and shown["loaded"], shown

"""Calling the student's code on the grader's inputs, in the student's kernel.

A probe (:mod:`autograder.kernel.probes`) draws its inputs with :func:`case_rng` (seeded, and mixed
with the course's secret salt while grading), calls the student's function through
:func:`call_student`, and the call and what it returned go into the probe's transcript
(:mod:`autograder.kernel.transcript`). Nothing here knows what the right answer is.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import itertools
import os
import sys
import types
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from autograder.kernel import call_watch, transcript
from autograder.kernel.compare import CheckFailure, describe_array

# The grader's secret that varies the hidden checks' random inputs per course (see case_rng).
CASE_SALT_ENV = "AUTOGRADER_CASE_SALT"


def case_rng(seed: int) -> np.random.Generator:
    """The random generator of a hidden check's inputs: ``seed`` alone, or with the grader's salt.

    Students have the check library, so inputs drawn from public seeds are known in advance and their
    answers could be pasted in. While grading, ``$AUTOGRADER_CASE_SALT`` (:func:`kernel_salt` of the course's
    secret, ``Course.case_salt``) is mixed in, in the kernel and in the grader alike, so the inputs are new.
    """
    return salted_rng(seed, os.environ.get(CASE_SALT_ENV, ""))


def salted_rng(seed: int, salt: str) -> np.random.Generator:
    """NumPy's generator of ``seed`` alone ("" salt: the public draw), or of ``seed`` mixed with ``salt``."""
    if not salt:
        return np.random.default_rng(seed)
    entropy = int.from_bytes(hashlib.sha256(salt.encode("utf-8")).digest()[:8], "big")
    return np.random.default_rng([seed, entropy])


def derived_salt(purpose: str, course_salt: str) -> str:
    """A one-way function of the course's salt, one per ``purpose`` ("" without a salt): knowing the salt derived
    for one purpose gives neither the course's salt nor the salt of another purpose."""
    if not course_salt:
        return ""
    return hashlib.sha256(f"autograder {purpose}\0{course_salt}".encode()).hexdigest()


def kernel_salt(course_salt: str) -> str:
    """The salt a grading kernel draws the checks' inputs with: a one-way function of the course's salt ("" without
    one), so that the kernel cannot derive the held-out secret (:mod:`autograder.kernel.held_out`) from it."""
    return derived_salt("kernel inputs", course_salt)


def random_rotation(rng: np.random.Generator, dim: int) -> np.ndarray:
    """A random rotation of R^dim, shape (dim, dim), orthogonal, drawn from ``rng``.

    The grader's copies of a public dataset (``X @ rotation``) keep every distance and inner product, so a fully
    connected network learns them as well as the originals, but a model fitted on the public data, or a table
    of its images, sees no image it knows (issue 18.4). Haar-distributed: QR of a Gaussian matrix, signs fixed.
    """
    q, r = np.linalg.qr(rng.standard_normal((dim, dim)))
    return q * np.sign(np.diag(r))


@dataclass(frozen=True)
class Case:
    """One call of the student's function with grader-chosen arguments."""

    args: tuple
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    note: str = ""

    def describe(self, fn_name: str) -> str:
        parts = [describe_array(a) for a in self.args]
        parts += [f"{k}={describe_array(v)}" for k, v in self.kwargs.items()]
        call = f"{fn_name}({', '.join(parts)})"
        return f"{call}  [{self.note}]" if self.note else call


class ForbiddenCall(CheckFailure):
    """The student's function used a library function that the exercise asks them to write."""


def forbidden_message(fn_name: str, what: str) -> str:
    return (
        f"{fn_name}: この課題では {what} を使わず自分で実装してください (この課題は 0 点です) / "
        f"this exercise asks you to implement it yourself, without {what} (no points for it)"
    )


def _resolve(dotted: str) -> tuple[Any, str, Any] | None:
    """(owner, attribute, object) for "package.module.attr", or None if its package is not loaded.

    Only packages the kernel has already imported count: importing one here (Keras pulls in
    TensorFlow) would cost seconds per check, and code that never imported it cannot call it.
    """
    if dotted.partition(".")[0] not in sys.modules:
        return None
    module_name, _, attr = dotted.rpartition(".")
    try:
        owner = importlib.import_module(module_name)
        return owner, attr, getattr(owner, attr)
    except (ImportError, AttributeError):
        try:  # the whole name may be a module (e.g. "scipy.signal")
            return None, "", importlib.import_module(dotted)
        except ImportError:
            return None


def code_names(fn: Callable) -> set[str]:
    """Every global and attribute name the function's code (nested functions included) mentions."""
    code, names, seen = getattr(fn, "__code__", None), set(), set()
    stack = [code] if code else []
    while stack:
        c = stack.pop()
        if id(c) in seen:
            continue
        seen.add(id(c))
        names.update(c.co_names)
        stack.extend(const for const in c.co_consts if hasattr(const, "co_names"))
    return names


def _referenced_globals(fn: Callable) -> dict[str, Any]:
    """Global and closure names the function's code (nested functions included) refers to, with their values."""
    code, names = getattr(fn, "__code__", None), code_names(fn)
    scope = getattr(fn, "__globals__", {})
    found = {name: scope[name] for name in names if name in scope}
    for name, cell in zip(getattr(code, "co_freevars", ()), getattr(fn, "__closure__", None) or (), strict=False):
        try:
            found[name] = cell.cell_contents
        except ValueError:  # an empty cell
            pass
    return found


# How far the static guard follows what a function holds: enough for a copy of a library's namespace
# (``dict(vars(numpy))``), bounded so that a student's big global list costs nothing.
_REACH_LIMIT = 20_000
_CONTAINER_LIMIT = 5_000


def _reachable(fn: Callable) -> Iterator[Any]:
    """Every object ``fn`` holds without looking a name up when it runs: the globals and closure cells its code
    names, its default arguments, and through them the contents of partials, bound methods, lists, tuples,
    sets and dicts, and the notebook's own functions, classes and instances (library code and modules are not
    entered: what they hold is theirs, not the student's)."""
    home = getattr(fn, "__globals__", None)
    stack, seen, budget = [fn], set(), _REACH_LIMIT
    while stack and budget:
        obj = stack.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        budget -= 1
        yield obj
        if isinstance(obj, types.ModuleType):
            continue
        if isinstance(obj, types.FunctionType):
            if obj is fn or obj.__globals__ is home:
                stack.extend(_referenced_globals(obj).values())
                stack.extend(obj.__defaults__ or ())
                stack.extend((obj.__kwdefaults__ or {}).values())
        elif isinstance(obj, functools.partial):
            stack.extend([obj.func, *obj.args, *obj.keywords.values()])
        elif isinstance(obj, types.MethodType):
            stack.extend([obj.__func__, obj.__self__])
        elif isinstance(obj, (staticmethod, classmethod)):
            stack.append(obj.__func__)
        elif isinstance(obj, (list, tuple, set, frozenset)):
            stack.extend(itertools.islice(obj, _CONTAINER_LIMIT))
        elif isinstance(obj, dict):
            stack.extend(itertools.islice(obj.values(), _CONTAINER_LIMIT))
        elif isinstance(obj, type):
            if obj.__module__ == getattr(fn, "__module__", None):
                stack.extend(vars(obj).values())
        elif type(obj).__module__ == getattr(fn, "__module__", None) and isinstance(getattr(obj, "__dict__", None), dict):
            stack.extend(vars(obj).values())


@contextmanager
def forbidden_calls(fn: Callable, forbidden: Sequence[str], fn_name: str = "") -> Iterator[None]:
    """Fail with :class:`ForbiddenCall` if ``fn`` uses any of ``forbidden`` (dotted names).

    Three guards. Before anything runs, nothing ``fn`` holds may be a forbidden object: its globals, closure,
    default arguments, and what those hold (``from scipy.signal import correlate2d as c``, a ``partial`` or a
    list made in the cell). While the block runs, each forbidden function's attribute is a tripwire
    (``torch.nn.functional.conv2d(...)``), and :func:`autograder.kernel.call_watch.watch_calls` notes a
    forbidden function that runs however it was reached (``getattr`` of a built name, ``eval``, a capture the
    first guard cannot see). A forbidden call the student's code catches is failed all the same.
    Names whose package the process has not imported are skipped: nothing can call them.
    """
    fn_name = fn_name or getattr(fn, "__name__", "function")
    resolved = {name: r for name in forbidden if (r := _resolve(name)) is not None}
    banned = {id(obj): name for name, (_, _, obj) in resolved.items()}
    for value in _reachable(fn):
        if id(value) in banned:
            raise ForbiddenCall(forbidden_message(fn_name, banned[id(value)]))

    patched, tripped = [], []

    def tripwire(name: str) -> Callable:
        def call(*args: Any, **kwargs: Any) -> Any:
            tripped.append(name)
            raise ForbiddenCall(forbidden_message(fn_name, name))

        return call

    try:
        for name, (owner, attr, _) in resolved.items():
            if owner is not None and callable(getattr(owner, attr)):
                patched.append((owner, attr, getattr(owner, attr)))
                setattr(owner, attr, tripwire(name))
        with call_watch.watch_calls({name: obj for name, (_, _, obj) in resolved.items()}) as watch:
            try:
                yield
            except CheckFailure:
                raise
            except Exception as exc:
                if tripped or watch.seen:  # the error came of (or after) a forbidden call
                    raise ForbiddenCall(forbidden_message(fn_name, (tripped or watch.seen)[0])) from exc
                raise
    finally:
        for owner, attr, original in reversed(patched):
            setattr(owner, attr, original)
    if tripped or watch.seen:
        raise ForbiddenCall(forbidden_message(fn_name, (tripped or watch.seen)[0]))
    if not watch.intact:
        raise ForbiddenCall(f"{fn_name}: 禁止された関数の監視 (sys.setprofile) を外さないでください (この課題は 0 点です) / "
                            "your function switched off the grader's watch for forbidden calls (sys.setprofile); "
                            "no points for it")


@contextmanager
def student_errors(label: str) -> Iterator[None]:
    """Turn what the student's code raises inside the block into a CheckFailure that starts with ``label``.

    NotImplementedError (the release's stubs) reads "not implemented yet"; any other error is reported
    with its type and message; a CheckFailure (a check inside, a forbidden call) passes through.
    """
    __tracebackhide__ = True
    try:
        yield
    except CheckFailure:
        raise
    except NotImplementedError:
        raise CheckFailure(f"{label}: まだ実装されていません / not implemented yet") from None
    except Exception as exc:  # the student's bug, reported with the call that triggered it
        raise CheckFailure(
            f"{label}: 実行中にエラーが発生しました / raised an error\n  {type(exc).__name__}: {exc}"
        ) from exc


def require_callable(fn: Any, fn_name: str) -> None:
    """A CheckFailure when what the student defined as ``fn_name`` is not a function."""
    if not callable(fn):
        raise CheckFailure(f"{fn_name}: 関数ではありません / not a function: got {type(fn).__name__}")


def run_student(fn: Any, fn_name: str, label: str, *args: Any, forbidden: Sequence[str] = (), **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)`` under check_function's rules: it must be a function, must not call ``forbidden``,
    and its errors become CheckFailures that start with ``label`` (the call, as the feedback shows it).

    Not recorded: a judged check calls this only inside :func:`call_student` or an observation
    (:func:`autograder.transcript.observe`), which record what the call gives.
    """
    __tracebackhide__ = True
    require_callable(fn, fn_name)
    with student_errors(label), forbidden_calls(fn, forbidden, fn_name):
        return fn(*args, **kwargs)


def call_student(fn: Any, fn_name: str, label: str, *args: Any, forbidden: Sequence[str] = (),
                 as_data: Callable[[Any], Any] | None = None, **kwargs: Any) -> Any:
    """:func:`run_student`, recorded: what it returns (through ``as_data``, in the kernel, if given) is the result.

    ``as_data`` turns a result that is not data (a DataFrame, a model) into what the check needs of it; a
    CheckFailure it raises is the call's failure.
    """
    __tracebackhide__ = True

    def run() -> Any:
        result = run_student(fn, fn_name, label, *args, forbidden=forbidden, **kwargs)
        return result if as_data is None else as_data(result)

    # While grading, the call and its result go into the judged check's transcript (autograder.transcript);
    # when the grader replays that transcript, the recorded result comes back instead.
    return transcript.student_call(label, args, kwargs, run, fn_name=fn_name, forbidden=tuple(forbidden))


def _copy_arg(value: Any) -> Any:
    # The student's function must not be able to change the inputs the reference sees.
    return value.copy() if isinstance(value, np.ndarray) else value


def probe_function(fn: Any, cases: Sequence[Case], *, name: str, forbidden: Sequence[str] = ()) -> None:
    """Call ``fn`` on every case (on copies of its arguments), in order: the kernel's half of a check that
    compares each result with a reference (the grader's ``check_function``), which the kernel never sees.

    Stops at the first case the student's function fails on (an error, a forbidden call), as the grader's
    replay does.
    """
    __tracebackhide__ = True
    require_callable(fn, name)
    for case in cases:
        call_student(fn, name, case.describe(name), *(_copy_arg(a) for a in case.args), forbidden=forbidden,
                     **{k: _copy_arg(v) for k, v in case.kwargs.items()})

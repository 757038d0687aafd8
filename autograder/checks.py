"""Numeric checks that notebook test cells call.

Every failure message is bilingual (Japanese first, then English) and tells
the student something they can act on: a shape or dtype mismatch, NaN/Inf,
the largest absolute and relative error, and the first differing element with
expected vs got.

The comparison itself (:func:`compare`) is a pure function of two values, so
the verdict can be computed in any process: a hidden test only hands the
student's function or value to a check (see :func:`check_function`), and the
inputs, expected values and tolerances are chosen by the grader.
"""

from __future__ import annotations

import hashlib
import importlib
import os
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from autograder import transcript

__all__ = [
    "Case",
    "CheckFailure",
    "ForbiddenCall",
    "forbidden_calls",
    "forbidden_message",
    "Comparison",
    "assert_close",
    "call_student",
    "case_rng",
    "check_function",
    "compare",
    "describe_array",
    "rel_error",
    "report_metric",
    "require_callable",
    "run_student",
    "student_errors",
    "METRIC_PREFIX",
]

# The grader's secret that varies the hidden checks' random inputs per course (see case_rng).
CASE_SALT_ENV = "AUTOGRADER_CASE_SALT"

# Printed by report_metric; `autograder calibrate` reads these lines back from graded notebooks.
METRIC_PREFIX = "[metric]"


class CheckFailure(AssertionError):
    """A check failed; ``str(exc)`` is the bilingual message shown to the student."""


@dataclass(frozen=True)
class Comparison:
    """Outcome of comparing a student's value with the expected one.

    ``reason`` is a short machine-readable code: ``"ok"``, ``"type"``,
    ``"shape"``, ``"dtype"``, ``"nonfinite"`` or ``"values"``.
    """

    ok: bool
    reason: str
    message: str
    max_abs_error: float = 0.0
    max_rel_error: float = 0.0


def case_rng(seed: int) -> np.random.Generator:
    """The random generator of a hidden check's inputs: ``seed`` alone, or with the grader's salt.

    Students have the check library, so inputs drawn from public seeds are known in advance and their
    answers could be pasted in. While grading, ``$AUTOGRADER_CASE_SALT`` (a secret of the course, see
    ``Course.case_salt``) is mixed in, in the kernel and in the grader alike, so the inputs are new.
    """
    salt = os.environ.get(CASE_SALT_ENV, "")
    if not salt:
        return np.random.default_rng(seed)
    entropy = int.from_bytes(hashlib.sha256(salt.encode("utf-8")).digest()[:8], "big")
    return np.random.default_rng([seed, entropy])


def rel_error(x: Any, y: Any) -> float:
    """CS231n's relative error: max |x - y| / max(1e-8, |x| + |y|) over all elements."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    return float(np.max(np.abs(x - y) / np.maximum(1e-8, np.abs(x) + np.abs(y)), initial=0.0))


def _as_array(value: Any) -> np.ndarray | None:
    """Convert numbers, lists, NumPy arrays and torch tensors to an ndarray (None if impossible)."""
    if hasattr(value, "detach") and hasattr(value, "cpu"):  # a torch tensor, without importing torch
        value = value.detach().cpu().numpy()
    if value is None or isinstance(value, (str, bytes, dict)):
        return None
    try:
        array = np.asarray(value)
    except (TypeError, ValueError):
        return None
    if array.dtype == object:
        return None
    return array


def _kind(dtype: np.dtype) -> str:
    if np.issubdtype(dtype, np.bool_):
        return "bool"
    if np.issubdtype(dtype, np.integer):
        return "integer"
    if np.issubdtype(dtype, np.floating):
        return "float"
    if np.issubdtype(dtype, np.complexfloating):
        return "complex"
    return str(dtype)


def _fmt(x: Any) -> str:
    return np.array2string(np.asarray(x), precision=6, threshold=20, edgeitems=3)


def compare(
    got: Any,
    expected: Any,
    *,
    rtol: float = 1e-7,
    atol: float = 0.0,
    name: str = "value",
    check_dtype: bool = False,
) -> Comparison:
    """Compare ``got`` with ``expected`` elementwise: |got - expected| <= atol + rtol * |expected|.

    Inputs: any array-likes (scalars, lists, NumPy arrays, torch tensors).
    Shapes must match exactly (no broadcasting); with ``check_dtype`` the kind
    of dtype (bool / integer / float) must match too. Returns a :class:`Comparison`.
    """
    exp = _as_array(expected)
    if exp is None:
        raise TypeError(f"expected value for {name} is not numeric: {expected!r}")
    arr = _as_array(got)
    if arr is None:
        hint = ""
        if got is None:
            hint = (
                "\n  関数が None を返しました。return を書き忘れていませんか？"
                "\n  Your function returned None: did you forget `return`?"
            )
        return Comparison(
            False,
            "type",
            f"{name}: 数値の配列ではありません / not a numeric array: got {type(got).__name__}{hint}",
        )
    if arr.shape != exp.shape:
        return Comparison(
            False,
            "shape",
            f"{name}: 形 (shape) が違います / shape mismatch\n"
            f"  期待値 expected shape: {exp.shape}\n  実際   got shape:      {arr.shape}",
        )
    if check_dtype and _kind(arr.dtype) != _kind(exp.dtype):
        return Comparison(
            False,
            "dtype",
            f"{name}: データ型が違います / dtype mismatch\n"
            f"  期待値 expected: {_kind(exp.dtype)} ({exp.dtype})\n  実際   got:      {_kind(arr.dtype)} ({arr.dtype})",
        )
    if not np.issubdtype(arr.dtype, np.number) and not np.issubdtype(arr.dtype, np.bool_):
        return Comparison(False, "type", f"{name}: 数値ではありません / not numeric: dtype {arr.dtype}")

    a = arr.astype(np.float64)
    e = exp.astype(np.float64)
    bad_finite = ~np.isfinite(a) & np.isfinite(e)
    if bad_finite.any():
        index = tuple(int(i) for i in np.argwhere(bad_finite)[0])
        return Comparison(
            False,
            "nonfinite",
            f"{name}: NaN または Inf が含まれています (オーバーフロー？) / contains NaN or Inf (overflow?)\n"
            f"  {int(bad_finite.sum())} / {a.size} 要素 elements; 最初の位置 first at index {index}: "
            f"期待値 expected {float(e[index]):.6g}, 実際 got {float(a[index])}",
        )

    with np.errstate(invalid="ignore"):
        diff = np.abs(a - e)
        close = (diff <= atol + rtol * np.abs(e)) | (a == e)  # a == e: matching infinities
    finite = np.isfinite(diff)
    max_abs = float(diff[finite].max(initial=0.0))
    max_rel = rel_error(np.where(finite, a, 0.0), np.where(finite, e, 0.0))
    if close.all():
        return Comparison(True, "ok", f"{name}: OK", max_abs, max_rel)

    index = tuple(int(i) for i in np.argwhere(~close)[0])
    where = f"index {index}" if index else "value"
    lines = [
        f"{name}: 値が一致しません / values differ",
        f"  許容誤差 tolerance: rtol={rtol:g}, atol={atol:g}",
        f"  最大絶対誤差 max abs error: {max_abs:.3g}    最大相対誤差 max rel error: {max_rel:.3g}",
        f"  不一致の要素 mismatched elements: {int((~close).sum())} / {a.size}",
        f"  最初の不一致 first mismatch at {where}: 期待値 expected {e[index]:.6g}, 実際 got {a[index]:.6g}",
    ]
    if a.size <= 36:
        lines += [f"  期待値 expected:\n{_indent(_fmt(exp))}", f"  実際 got:\n{_indent(_fmt(arr))}"]
    return Comparison(False, "values", "\n".join(lines), max_abs, max_rel)


def _indent(text: str, prefix: str = "    ") -> str:
    return "\n".join(prefix + line for line in text.splitlines())


def assert_close(
    got: Any,
    expected: Any,
    *,
    rtol: float = 1e-7,
    atol: float = 0.0,
    name: str = "value",
    check_dtype: bool = False,
) -> None:
    """Raise :class:`CheckFailure` unless :func:`compare` finds ``got`` close to ``expected``."""
    __tracebackhide__ = True  # IPython and pytest show the test cell's line, not this frame
    result = compare(got, expected, rtol=rtol, atol=atol, name=name, check_dtype=check_dtype)
    if not result.ok:
        raise CheckFailure(result.message)


def describe_array(x: Any) -> str:
    """Short description of an argument for messages: shapes for arrays, repr for scalars."""
    arr = _as_array(x)
    if arr is not None and arr.ndim > 0:
        return f"<{arr.dtype} array {arr.shape}>"
    return repr(x)


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


def _referenced_globals(fn: Callable) -> dict[str, Any]:
    """Global and closure names the function's code (nested functions included) refers to, with their values."""
    code, names, seen = getattr(fn, "__code__", None), set(), set()
    stack = [code] if code else []
    while stack:
        c = stack.pop()
        if id(c) in seen:
            continue
        seen.add(id(c))
        names.update(c.co_names)
        stack.extend(const for const in c.co_consts if hasattr(const, "co_names"))
    scope = getattr(fn, "__globals__", {})
    found = {name: scope[name] for name in names if name in scope}
    for name, cell in zip(getattr(code, "co_freevars", ()), getattr(fn, "__closure__", None) or (), strict=False):
        try:
            found[name] = cell.cell_contents
        except ValueError:  # an empty cell
            pass
    return found


@contextmanager
def forbidden_calls(fn: Callable, forbidden: Sequence[str], fn_name: str = "") -> Iterator[None]:
    """Fail with :class:`ForbiddenCall` if ``fn`` uses any of ``forbidden`` (dotted names).

    Two guards: the function's globals must not hold a forbidden object (``from scipy.signal
    import correlate2d as c`` is caught before anything runs), and while the block runs each
    forbidden function is replaced by a tripwire (``torch.nn.functional.conv2d(...)`` is caught).
    Names whose package the process has not imported are skipped: nothing can call them.
    """
    fn_name = fn_name or getattr(fn, "__name__", "function")
    resolved = {name: r for name in forbidden if (r := _resolve(name)) is not None}
    banned = {id(obj): name for name, (_, _, obj) in resolved.items()}
    for value in _referenced_globals(fn).values():
        if id(value) in banned:
            raise ForbiddenCall(forbidden_message(fn_name, banned[id(value)]))

    patched = []

    def tripwire(name: str) -> Callable:
        def call(*args: Any, **kwargs: Any) -> Any:
            raise ForbiddenCall(forbidden_message(fn_name, name))

        return call

    try:
        for name, (owner, attr, _) in resolved.items():
            if owner is not None and callable(getattr(owner, attr)):
                patched.append((owner, attr, getattr(owner, attr)))
                setattr(owner, attr, tripwire(name))
        yield
    finally:
        for owner, attr, original in reversed(patched):
            setattr(owner, attr, original)


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


def check_function(
    fn: Callable,
    cases: Sequence[Case],
    reference: Callable,
    *,
    rtol: float,
    atol: float,
    name: str | None = None,
    check_dtype: bool = False,
    forbidden: Sequence[str] = (),
) -> None:
    """Call ``fn`` on every case and compare with ``reference`` on the same arguments.

    ``reference`` is the grader's implementation; its result is computed before
    the student's function runs, on separate copies of the arguments. ``forbidden``
    names library functions the student must not use (see :func:`forbidden_calls`).
    Raises :class:`CheckFailure` naming the case on the first failure.
    """
    __tracebackhide__ = True
    fn_name = name or getattr(fn, "__name__", "function")
    require_callable(fn, fn_name)
    for case in cases:
        expected = reference(*case.args, **case.kwargs)
        label = case.describe(fn_name)
        got = call_student(fn, fn_name, label, *(_copy_arg(a) for a in case.args), forbidden=forbidden,
                           **{k: _copy_arg(v) for k, v in case.kwargs.items()})
        assert_close(got, expected, rtol=rtol, atol=atol, name=label, check_dtype=check_dtype)


def report_metric(name: str, value: float, *, threshold: float | None = None, higher_is_better: bool = True,
                  unit: str = "") -> None:
    """Print one measured figure of a hidden check, e.g. ``[metric] test_accuracy = 0.9712 (threshold >= 0.95)``.

    The student sees it in the feedback; ``autograder calibrate`` collects it across
    runs of the reference solution. ``name`` is an identifier (no spaces).
    """
    if not name.isidentifier():
        raise ValueError(f"metric names are identifiers, not {name!r}")
    bound = "" if threshold is None else f" (threshold {'>=' if higher_is_better else '<='} {threshold:g})"
    print(f"{METRIC_PREFIX} {name} = {float(value):.6g}{(' ' + unit) if unit else ''}{bound}")

"""Comparing a student's value with the expected one, with messages a student can act on.

Every failure message is bilingual (Japanese first, then English): a shape or dtype mismatch,
NaN/Inf, the largest absolute and relative error, and the first differing element with expected vs
got. :func:`compare` is a pure function of two values, so a verdict can be reached in any process:
the released notebooks' visible tests call :func:`assert_close` in the student's kernel, and the
grader calls :func:`compare` on what the kernel recorded.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


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
    scale_rtol: float = 0.0,
) -> Comparison:
    """Compare ``got`` with ``expected`` elementwise:
    |got - expected| <= atol + scale_rtol * max|expected| + rtol * |expected|.

    Inputs: any array-likes (scalars, lists, NumPy arrays, torch tensors).
    Shapes must match exactly (no broadcasting); with ``check_dtype`` the kind
    of dtype (bool / integer / float) must match too. Returns a :class:`Comparison`.

    ``scale_rtol`` scales the absolute tolerance with the magnitude of the whole expected array: an element
    near zero that is a sum of terms of order one (a convolution's output, a gradient) carries the round-off
    of those terms, not of its own small value, so ``rtol`` alone would fail float32 work or another
    summation order.
    """
    exp = _as_array(expected)
    if exp is None:
        raise TypeError(f"expected value for {name} is not numeric: {expected!r}")
    result = _compare_arrays(got, exp, rtol=rtol, atol=atol, name=name, check_dtype=check_dtype,
                             scale_rtol=scale_rtol)
    if not result.ok and _is_tensor(got) and not _is_tensor(expected):
        # the likely cause, from what came back (issue 18.7): a torch tensor (often float32) where NumPy was asked for
        return Comparison(False, result.reason, result.message + TENSOR_HINT, result.max_abs_error, result.max_rel_error)
    return result


TENSOR_HINT = ("\n  返り値が torch のテンソルです。NumPy の配列を求められているなら .detach().numpy() で変換して返してください / "
               "this is a torch tensor: where a NumPy array is asked for, return a NumPy array (.detach().numpy())")


def _is_tensor(value: Any) -> bool:
    """A torch tensor, recognised without importing torch."""
    return hasattr(value, "detach") and hasattr(value, "cpu")


def _compare_arrays(got: Any, exp: np.ndarray, *, rtol: float, atol: float, name: str,
                    check_dtype: bool, scale_rtol: float) -> Comparison:
    """:func:`compare` once the expected value is an array (``exp``)."""
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
    if scale_rtol:
        atol = atol + scale_rtol * float(np.abs(e[np.isfinite(e)]).max(initial=0.0))
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
        f"  許容誤差 tolerance: rtol={rtol:g}, atol={atol:.3g}"
        + (f" (= {scale_rtol:g} × max|expected|)" if scale_rtol else ""),
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
    scale_rtol: float = 0.0,
) -> None:
    """Raise :class:`CheckFailure` unless :func:`compare` finds ``got`` close to ``expected``."""
    __tracebackhide__ = True  # IPython and pytest show the test cell's line, not this frame
    result = compare(got, expected, rtol=rtol, atol=atol, name=name, check_dtype=check_dtype, scale_rtol=scale_rtol)
    if not result.ok:
        raise CheckFailure(result.message)


def describe_array(x: Any) -> str:
    """Short description of an argument for messages: shapes for arrays, repr for scalars."""
    arr = _as_array(x)
    if arr is not None and arr.ndim > 0:
        return f"<{arr.dtype} array {arr.shape}>"
    return repr(x)



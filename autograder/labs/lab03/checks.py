"""Lab 03's checks: the grader's verdict on what each probe (``autograder.kernel.probes.lab03``) recorded.

Each ``check_*`` gets the student's function (in the grader, a stand-in that answers from the
transcript), draws the same inputs as its probe, and compares each recorded result with the reference
(:mod:`~autograder.labs.lab03.reference`) within the tolerances of
:mod:`~autograder.labs.lab03.thresholds`. 03_h's backward passes are compared twice: with torch
autograd's gradients, and on the smaller cases with central differences (a gradient check that does not
trust autograd either).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from autograder.kernel.compare import CheckFailure, assert_close, compare
from autograder.kernel.probes import lab03 as probes
from autograder.kernel.student import call_student, require_callable
from autograder.labs.judged import check_function, judged
from autograder.labs.lab03 import reference
from autograder.labs.lab03.thresholds import (
    ATOL,
    CE_ATOL,
    CE_RTOL,
    NUMGRAD_ATOL,
    NUMGRAD_MAX_SIZE,
    NUMGRAD_RTOL,
    RTOL,
    SCALE_RTOL,
)

CONV_GRADS = ("dx", "dw", "db")

# ------------------------------------------------------------------- 03_n


@judged
def check_conv2d_single(fn: Callable) -> None:
    check_function(fn, probes.conv2d_single_cases(), reference.conv2d_single, rtol=RTOL, atol=ATOL, scale_rtol=SCALE_RTOL,
                   name="conv2d_single", forbidden=probes.FORBIDDEN_CONV)


@judged
def check_conv_output_size(fn: Callable) -> None:
    check_function(fn, probes.conv_output_size_cases(), reference.conv_output_size, rtol=0, atol=0,
                   name="conv_output_size")


@judged
def check_conv2d(fn: Callable) -> None:
    check_function(fn, probes.conv2d_cases(), reference.conv2d, rtol=RTOL, atol=ATOL, scale_rtol=SCALE_RTOL, name="conv2d",
                   forbidden=probes.FORBIDDEN_CONV)


@judged
def check_max_pool2d(fn: Callable) -> None:
    check_function(fn, probes.pool_cases(probes.MAX_POOL_SEED), reference.max_pool2d, rtol=RTOL, atol=ATOL, scale_rtol=SCALE_RTOL,
                   name="max_pool2d", forbidden=probes.FORBIDDEN_POOL)


@judged
def check_avg_pool2d(fn: Callable) -> None:
    check_function(fn, probes.pool_cases(probes.AVG_POOL_SEED), reference.avg_pool2d, rtol=RTOL, atol=ATOL, scale_rtol=SCALE_RTOL,
                   name="avg_pool2d", forbidden=probes.FORBIDDEN_POOL)


# exp overflows float64 above about 709.8 and underflows to exactly 0 below about -745.1
_EXP_OVERFLOW, _EXP_UNDERFLOW = 709.0, -745.0


def _softmax_cause(logits: np.ndarray, got) -> str:
    """The likely cause of non-finite softmax rows, named from the inputs of the rows that went wrong (issue 18.7):
    exp overflowing (no maximum subtracted), or exp underflowing to 0 for a whole row (one maximum for the whole
    batch), which ends as 0 / 0 = NaN too."""
    a = np.atleast_2d(np.asarray(logits, dtype=np.float64))
    g = np.asarray(got, dtype=np.float64) if np.size(got) == a.size else None
    if g is None:
        return ""
    bad = ~np.isfinite(g.reshape(a.shape)).all(axis=-1)
    if not bad.any():
        return ""
    rows = a[bad]
    peaks = rows.max(axis=-1)
    if (peaks > _EXP_OVERFLOW).any():  # only exp without a maximum subtracted overflows
        return ("\n  原因の候補: exp がオーバーフローしました (exp(1000) = inf)。exp の前に各行の最大値を引いてください / "
                "likely cause: exp overflowed (exp(1000) = inf): subtract each row's maximum before exp")
    if (peaks - a.max() < _EXP_UNDERFLOW).any():
        return ("\n  原因の候補: exp がアンダーフローして行全体が 0 になり、0 / 0 = NaN になりました。引く最大値はバッチ全体では"
                "なく各行の最大値 (axis=-1, keepdims=True) にしてください / likely cause: exp underflowed to 0 for a whole "
                "row, and 0 / 0 = NaN: subtract each row's own maximum (axis=-1, keepdims=True), not the batch's")
    if (peaks < _EXP_UNDERFLOW).any():
        return ("\n  原因の候補: exp がアンダーフローして行全体が 0 になり、0 / 0 = NaN になりました。exp の前に各行の最大値を"
                "引いてください / likely cause: exp underflowed to 0 for a whole row, and 0 / 0 = NaN: subtract each "
                "row's maximum before exp")
    return ""


@judged
def check_softmax(fn: Callable) -> None:
    name = "softmax"
    require_callable(fn, name)
    for case in probes.softmax_cases():
        label = case.describe(name)
        expected = reference.softmax(*case.args)
        got = call_student(fn, name, label, np.copy(case.args[0]), forbidden=probes.FORBIDDEN_SOFTMAX)
        result = compare(got, expected, rtol=RTOL, atol=ATOL, scale_rtol=SCALE_RTOL, name=label)
        if not result.ok:
            cause = _softmax_cause(case.args[0], got) if result.reason == "nonfinite" else ""
            message = result.message
            if "underflow" in cause:  # the generic "(overflow?)" would point the wrong way
                message = message.replace(" (オーバーフロー？)", "").replace(" (overflow?)", "")
            raise CheckFailure(message + cause)


@judged
def check_one_hot(fn: Callable) -> None:
    check_function(fn, probes.one_hot_cases(), reference.one_hot, rtol=0, atol=0, name="one_hot",
                   forbidden=probes.FORBIDDEN_ONE_HOT)


@judged
def check_cross_entropy(fn: Callable) -> None:
    check_function(fn, probes.cross_entropy_cases(), reference.cross_entropy, rtol=CE_RTOL, atol=CE_ATOL,
                   name="cross_entropy", forbidden=probes.FORBIDDEN_CE)


# ------------------------------------------------------------------- 03_h


def _require_shape(value, expected: np.ndarray, name: str) -> None:
    """A gradient of the wrong shape is a shape error, said as such, not a failed gradient check (issue 18.7)."""
    result = compare(value, expected, name=name)
    if result.reason in ("type", "shape"):
        raise CheckFailure(f"{result.message}\n  勾配は微分する変数と同じ形になります / a gradient has the shape of the "
                           f"variable it is taken with respect to: {expected.shape}")


def _numerical_message(exc: CheckFailure) -> CheckFailure:
    return CheckFailure(
        f"{exc}\n  数値微分 (中心差分) による勾配確認に失敗しました / the gradient check against the numerical gradient "
        "(central differences) failed"
    )


def _check_conv2d_backward_part(fn: Callable, part: str) -> None:
    """One of dx, dw, db of conv2d_backward, against autograd, and against numerical gradients on small cases."""
    name = "conv2d_backward"
    position = CONV_GRADS.index(part)
    require_callable(fn, name)
    for case in probes.conv2d_backward_cases():
        label = case.describe(name)
        expected = reference.conv2d_backward(*case.args, **case.kwargs)
        got = call_student(fn, name, label, *(np.copy(a) for a in case.args), forbidden=probes.FORBIDDEN_CONV_HARD,
                           **case.kwargs)
        if not isinstance(got, (tuple, list)) or len(got) != 3:
            what = f"{type(got).__name__} of length {len(got)}" if isinstance(got, (tuple, list)) else type(got).__name__
            raise CheckFailure(f"{label}: (dx, dw, db) の 3 つを return してください / must return the 3 values "
                               f"(dx, dw, db), got {what}")
        value = got[position]
        _require_shape(value, expected[position], f"{label} -> {part}")
        if np.size(case.args[1]) <= NUMGRAD_MAX_SIZE:
            numerical = reference.numerical_conv2d_backward(*case.args, **case.kwargs)[position]
            try:
                assert_close(value, numerical, rtol=NUMGRAD_RTOL, atol=NUMGRAD_ATOL, scale_rtol=SCALE_RTOL, name=f"{label} -> {part}")
            except CheckFailure as exc:
                raise _numerical_message(exc) from None
        assert_close(value, expected[position], rtol=RTOL, atol=ATOL, scale_rtol=SCALE_RTOL, name=f"{label} -> {part} (vs torch autograd)")


@judged
def check_conv2d_forward(fn: Callable) -> None:
    check_function(fn, probes.conv2d_forward_cases(), reference.conv2d, rtol=RTOL, atol=ATOL, scale_rtol=SCALE_RTOL, name="conv2d_forward",
                   forbidden=probes.FORBIDDEN_CONV_HARD)


@judged
def check_conv2d_backward_dx(fn: Callable) -> None:
    _check_conv2d_backward_part(fn, "dx")


@judged
def check_conv2d_backward_dw(fn: Callable) -> None:
    _check_conv2d_backward_part(fn, "dw")


@judged
def check_conv2d_backward_db(fn: Callable) -> None:
    _check_conv2d_backward_part(fn, "db")


@judged
def check_max_pool2d_forward(fn: Callable) -> None:
    check_function(fn, probes.max_pool2d_forward_cases(), reference.max_pool2d, rtol=RTOL, atol=ATOL, scale_rtol=SCALE_RTOL,
                   name="max_pool2d_forward", forbidden=probes.FORBIDDEN_POOL_HARD)


@judged
def check_max_pool2d_backward(fn: Callable) -> None:
    name = "max_pool2d_backward"
    require_callable(fn, name)
    for case in probes.max_pool2d_backward_cases():
        label = case.describe(name)
        expected = reference.max_pool2d_backward(*case.args)
        got = call_student(fn, name, label, *(np.copy(a) if isinstance(a, np.ndarray) else a for a in case.args),
                           forbidden=probes.FORBIDDEN_POOL_HARD)
        _require_shape(got, expected, label)
        if np.size(case.args[1]) <= NUMGRAD_MAX_SIZE:
            try:
                assert_close(got, reference.numerical_max_pool2d_backward(*case.args), rtol=NUMGRAD_RTOL,
                             atol=NUMGRAD_ATOL, name=label)
            except CheckFailure as exc:
                raise _numerical_message(exc) from None
        assert_close(got, expected, rtol=RTOL, atol=ATOL, scale_rtol=SCALE_RTOL, name=f"{label} (vs torch autograd)")

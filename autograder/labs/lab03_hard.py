"""Hidden checks for lab 03's hard notebook (03_h), "backpropagation through CNN layers".

Each ``check_*`` takes the student's function and nothing else. Inputs are generated here with
fixed seeds; forward passes are compared with ``torch.nn.functional`` in float64, and backward
passes twice: with torch autograd's gradients (float64), and, on the smaller cases, with a
central-difference numerical gradient of ``sum(forward(...) * dout)`` computed here (a gradient
check that does not trust autograd either). Library functions that would do the exercise (the
torch convolution/pooling functions, their gradient helpers, autograd) are forbidden.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from autograder.checks import Case, CheckFailure, assert_close, call_student, case_rng, check_function
from autograder.labs import lab03
from autograder.transcript import judged

# Tolerances stated once: float64 references, so anything looser than round-off means a wrong result.
RTOL = 1e-5
ATOL = 1e-7
# Numerical gradients: central differences with step NUMGRAD_H on float64; the forward passes are
# linear (conv) or piecewise linear (max-pool, no near-ties in the inputs), so the truncation error is
# zero and only round-off remains: about 1e-10 here, far below these tolerances.
NUMGRAD_H = 1e-6
NUMGRAD_RTOL = 1e-5
NUMGRAD_ATOL = 1e-6
NUMGRAD_MAX_SIZE = 400  # gradient-check the cases whose input has at most this many elements

FORBIDDEN_AUTOGRAD = ("torch.autograd.grad", "torch.autograd.backward", "torch.autograd.functional.jacobian",
                      "torch.autograd.functional.vjp", "torch.func.grad", "torch.func.vjp", "torch.func.jacrev",
                      "torch.func.jacfwd")
FORBIDDEN_CONV = (*lab03.FORBIDDEN_CONV, *FORBIDDEN_AUTOGRAD, "torch.nn.functional.conv_transpose2d",
                  "torch.conv_transpose2d", "torch.nn.grad.conv2d_input", "torch.nn.grad.conv2d_weight",
                  "torch.nn.functional.fold")
FORBIDDEN_POOL = (*lab03.FORBIDDEN_POOL, *FORBIDDEN_AUTOGRAD, "torch.nn.functional.max_pool2d_with_indices",
                  "torch.nn.functional.max_unpool2d")

CONV_GRADS = ("dx", "dw", "db")


def _torch():
    import torch  # imported lazily: only the hidden tests need it

    return torch


def _tensor(x: np.ndarray, requires_grad: bool = False):
    t = _torch().from_numpy(np.array(x, dtype=np.float64))
    return t.requires_grad_(requires_grad)


def _rng(seed: int) -> np.random.Generator:
    return case_rng(seed)


# ---------------------------------------------------------------- references


def ref_conv2d(x, w, b, stride=1, padding=0) -> np.ndarray:
    """(N,C,H,W), (K,C,kh,kw), (K,) -> (N,K,H',W'), as lab03's reference (torch conv2d in float64)."""
    return lab03.ref_conv2d(x, w, b, stride=stride, padding=padding)


def ref_conv2d_backward(dout, x, w, stride=1, padding=0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Upstream gradient (N,K,H',W') -> (dx (N,C,H,W), dw (K,C,kh,kw), db (K,)) by torch autograd (float64)."""
    torch = _torch()
    tx, tw = _tensor(x, True), _tensor(w, True)
    tb = torch.zeros(np.shape(w)[0], dtype=torch.float64, requires_grad=True)
    out = torch.nn.functional.conv2d(tx, tw, tb, stride=stride, padding=padding)
    out.backward(_tensor(dout))
    return tx.grad.numpy(), tw.grad.numpy(), tb.grad.numpy()


def ref_max_pool2d(x, size, stride) -> np.ndarray:
    """(N,C,H,W) -> (N,C,(H-size)//stride+1,(W-size)//stride+1), as lab03's reference."""
    return lab03.ref_max_pool2d(x, size, stride)


def ref_max_pool2d_backward(dout, x, size, stride) -> np.ndarray:
    """Upstream gradient (N,C,H',W') -> dx (N,C,H,W) by torch autograd (float64)."""
    torch = _torch()
    tx = _tensor(x, True)
    out = torch.nn.functional.max_pool2d(tx, size, stride)
    out.backward(_tensor(dout))
    return tx.grad.numpy()


def numerical_gradient(f: Callable[[np.ndarray], np.ndarray], x: np.ndarray, dout: np.ndarray,
                       h: float = NUMGRAD_H) -> np.ndarray:
    """Central differences of sum(f(x) * dout) with respect to every element of x (float64)."""
    x = np.array(x, dtype=np.float64)
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        old = x[index]
        x[index] = old + h
        plus = float(np.sum(f(x) * dout))
        x[index] = old - h
        minus = float(np.sum(f(x) * dout))
        x[index] = old
        grad[index] = (plus - minus) / (2 * h)
    return grad


def numerical_conv2d_backward(dout, x, w, stride=1, padding=0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(dx, dw, db) of sum(conv2d(x, w, b) * dout) by central differences (b = 0: the gradient does not depend on it)."""
    b = np.zeros(np.shape(w)[0])
    dx = numerical_gradient(lambda v: ref_conv2d(v, w, b, stride, padding), x, dout)
    dw = numerical_gradient(lambda v: ref_conv2d(x, v, b, stride, padding), w, dout)
    db = numerical_gradient(lambda v: ref_conv2d(x, w, v, stride, padding), b, dout)
    return dx, dw, db


def numerical_max_pool2d_backward(dout, x, size, stride) -> np.ndarray:
    return numerical_gradient(lambda v: ref_max_pool2d(v, size, stride), x, dout)


# ------------------------------------------------------------------- inputs

SEED_X = np.arange(1, 26, dtype=np.float64).reshape(1, 1, 5, 5)
SEED_W = np.arange(1, 10, dtype=np.float64).reshape(1, 1, 3, 3)
SEED_POOL = np.array([[3, 4, 3, 6], [7, 1, 1, 2], [4, 6, 3, 5], [9, 3, 7, 8]], dtype=np.float64)[None, None]


def _out_size(h: int, k: int, padding: int, stride: int) -> int:
    return (h + 2 * padding - k) // stride + 1


def conv2d_forward_cases() -> list[Case]:
    rng = _rng(331)

    def case(n, c, h, w, k, kh, kw, stride, padding, note):
        args = (rng.normal(size=(n, c, h, w)), rng.normal(size=(k, c, kh, kw)), rng.normal(size=(k,)))
        return Case(args, {"stride": stride, "padding": padding}, note)

    return [
        Case((SEED_X, SEED_W, np.array([0.5])), note="seed example, bias 0.5"),
        case(2, 3, 7, 9, 4, 3, 2, 1, 0, "several channels and kernels, non-square"),
        case(2, 3, 8, 7, 4, 3, 3, 2, 0, "stride 2"),
        case(1, 2, 6, 5, 3, 3, 3, 1, 2, "padding 2"),
        case(3, 2, 9, 8, 2, 3, 2, 3, 1, "stride 3 and padding 1"),
    ]


def conv2d_backward_cases() -> list[Case]:
    """Case(args=(dout, x, w), kwargs={stride, padding}); dout has the output's shape."""
    rng = _rng(332)

    def case(n, c, h, w, k, kh, kw, stride, padding, note):
        x, wt = rng.normal(size=(n, c, h, w)), rng.normal(size=(k, c, kh, kw))
        dout = rng.normal(size=(n, k, _out_size(h, kh, padding, stride), _out_size(w, kw, padding, stride)))
        return Case((dout, x, wt), {"stride": stride, "padding": padding}, note)

    return [
        Case((np.ones((1, 1, 3, 3)), SEED_X, SEED_W), {"stride": 1, "padding": 0}, "seed example, dout = 1"),
        case(1, 1, 5, 5, 1, 3, 3, 1, 0, "one channel, one kernel, random dout"),
        case(2, 3, 6, 7, 4, 3, 2, 1, 0, "N=2, C=3, K=4, non-square kernel: sums over N and positions"),
        case(2, 2, 7, 7, 3, 3, 3, 2, 0, "stride 2"),
        case(1, 2, 8, 6, 2, 3, 3, 2, 0, "stride 2, last row of the input in no window: its gradient is 0"),
        case(2, 2, 5, 6, 2, 3, 3, 1, 1, "padding 1: the padded border gets no gradient"),
        case(3, 2, 7, 8, 3, 3, 2, 2, 1, "stride 2 and padding 1"),
        case(1, 3, 7, 7, 2, 1, 1, 3, 2, "1x1 kernel, stride 3, padding 2"),
        case(4, 3, 12, 12, 8, 5, 5, 2, 2, "a larger layer: N=4, C=3, K=8, 5x5 kernel"),
    ]


def max_pool2d_forward_cases() -> list[Case]:
    rng = _rng(334)
    return [
        Case((SEED_POOL, 2, 2), note="seed example"),
        Case((rng.normal(size=(2, 3, 6, 8)), 2, 2), note="several channels, non-square"),
        Case((rng.normal(size=(2, 3, 7, 9)), 3, 2), note="size 3, stride 2"),
        Case((rng.normal(size=(1, 2, 5, 6)), 2, 1), note="size 2, stride 1 (overlapping windows)"),
        Case((rng.normal(size=(1, 1, 9, 9)), 2, 3), note="stride larger than the window"),
    ]


def max_pool2d_backward_cases() -> list[Case]:
    """Case(args=(dout, x, size, stride)); random normal inputs: no ties inside a window."""
    rng = _rng(335)

    def case(n, c, h, w, size, stride, note):
        x = rng.normal(size=(n, c, h, w))
        dout = rng.normal(size=(n, c, (h - size) // stride + 1, (w - size) // stride + 1))
        return Case((dout, x, size, stride), note=note)

    return [
        Case((np.ones((1, 1, 2, 2)), SEED_POOL, 2, 2), note="seed example, dout = 1"),
        Case((np.array([[[[1.0, 2.0], [3.0, 4.0]]]]), SEED_POOL, 2, 2), note="seed example, dout = [[1, 2], [3, 4]]"),
        case(2, 3, 6, 8, 2, 2, "several channels, non-square"),
        case(2, 2, 7, 9, 3, 2, "size 3, stride 2: overlapping windows, gradients add up"),
        case(1, 2, 5, 6, 2, 1, "size 2, stride 1: overlapping windows, gradients add up"),
        case(1, 1, 9, 9, 2, 3, "stride larger than the window: some inputs get no gradient"),
        case(3, 4, 10, 10, 3, 3, "size 3, stride 3"),
    ]


# ------------------------------------------------------------------- helpers


def _call(fn: Any, fn_name: str, label: str, forbidden: Sequence[str], args: tuple, kwargs: dict) -> Any:
    """``fn(*args, **kwargs)`` with check_function's rules: forbidden calls, NotImplementedError, the student's errors."""
    return call_student(fn, fn_name, label, *(a.copy() if isinstance(a, np.ndarray) else a for a in args),
                        forbidden=forbidden, **kwargs)


def _numerical_message(exc: CheckFailure) -> CheckFailure:
    return CheckFailure(
        f"{exc}\n  数値微分 (中心差分) による勾配確認に失敗しました / the gradient check against the numerical gradient "
        "(central differences) failed"
    )


def _check_conv2d_backward_part(fn: Callable, part: str) -> None:
    """One of dx, dw, db of conv2d_backward, against autograd, and against numerical gradients on small cases."""
    name = "conv2d_backward"
    position = CONV_GRADS.index(part)
    for case in conv2d_backward_cases():
        label = case.describe(name)
        expected = ref_conv2d_backward(*case.args, **case.kwargs)
        got = _call(fn, name, label, FORBIDDEN_CONV, case.args, dict(case.kwargs))
        if not isinstance(got, (tuple, list)) or len(got) != 3:
            what = f"{type(got).__name__} of length {len(got)}" if isinstance(got, (tuple, list)) else type(got).__name__
            raise CheckFailure(f"{label}: (dx, dw, db) の 3 つを return してください / must return the 3 values "
                               f"(dx, dw, db), got {what}")
        value = got[position]
        if np.size(case.args[1]) <= NUMGRAD_MAX_SIZE:
            numerical = numerical_conv2d_backward(*case.args, **case.kwargs)[position]
            try:
                assert_close(value, numerical, rtol=NUMGRAD_RTOL, atol=NUMGRAD_ATOL, name=f"{label} -> {part}")
            except CheckFailure as exc:
                raise _numerical_message(exc) from None
        assert_close(value, expected[position], rtol=RTOL, atol=ATOL, name=f"{label} -> {part} (vs torch autograd)")


# ------------------------------------------------------------------- checks


@judged
def check_conv2d_forward(fn: Callable) -> None:
    check_function(fn, conv2d_forward_cases(), ref_conv2d, rtol=RTOL, atol=ATOL, name="conv2d_forward",
                   forbidden=FORBIDDEN_CONV)


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
    check_function(fn, max_pool2d_forward_cases(), ref_max_pool2d, rtol=RTOL, atol=ATOL, name="max_pool2d_forward",
                   forbidden=FORBIDDEN_POOL)


@judged
def check_max_pool2d_backward(fn: Callable) -> None:
    name = "max_pool2d_backward"
    for case in max_pool2d_backward_cases():
        label = case.describe(name)
        expected = ref_max_pool2d_backward(*case.args)
        got = _call(fn, name, label, FORBIDDEN_POOL, case.args, {})
        if np.size(case.args[1]) <= NUMGRAD_MAX_SIZE:
            try:
                assert_close(got, numerical_max_pool2d_backward(*case.args), rtol=NUMGRAD_RTOL, atol=NUMGRAD_ATOL,
                             name=label)
            except CheckFailure as exc:
                raise _numerical_message(exc) from None
        assert_close(got, expected, rtol=RTOL, atol=ATOL, name=f"{label} (vs torch autograd)")

"""Probes of lab 03, "CNN building blocks" (03_n) and its hard notebook (03_h, backpropagation).

Each probe takes the student's function, draws the check's inputs (fixed seeds, salted while grading)
and calls the function on each, in the order the grader's checks (``autograder.labs.lab03.checks``)
compare them. The ``*_cases`` functions are the inputs both sides draw.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from autograder.kernel.student import Case, case_rng, probe_function
from autograder.kernel.transcript import probe

# Library functions that would do an exercise for the student. Students read these lists in the
# notebooks' instructions; the grader's source scan and the kernel's tripwire enforce them.
FORBIDDEN_CONV = ("torch.nn.functional.conv2d", "torch.conv2d", "torch.nn.functional.unfold",
                  "scipy.signal.correlate2d", "scipy.signal.convolve2d", "scipy.signal.correlate",
                  "scipy.signal.convolve", "scipy.ndimage.correlate", "scipy.ndimage.convolve")
FORBIDDEN_POOL = ("torch.nn.functional.max_pool2d", "torch.nn.functional.avg_pool2d", "torch.max_pool2d",
                  "torch.nn.functional.adaptive_max_pool2d", "torch.nn.functional.adaptive_avg_pool2d",
                  "skimage.measure.block_reduce")
FORBIDDEN_SOFTMAX = ("torch.nn.functional.softmax", "torch.softmax", "scipy.special.softmax")
FORBIDDEN_ONE_HOT = ("torch.nn.functional.one_hot", "keras.utils.to_categorical")
FORBIDDEN_CE = ("torch.nn.functional.cross_entropy", "torch.nn.functional.nll_loss", "sklearn.metrics.log_loss",
                "keras.losses.categorical_crossentropy")
# 03_h: the backward passes, without autograd or the library's own gradient helpers.
FORBIDDEN_AUTOGRAD = ("torch.autograd.grad", "torch.autograd.backward", "torch.autograd.functional.jacobian",
                      "torch.autograd.functional.vjp", "torch.func.grad", "torch.func.vjp", "torch.func.jacrev",
                      "torch.func.jacfwd")
FORBIDDEN_CONV_HARD = (*FORBIDDEN_CONV, *FORBIDDEN_AUTOGRAD, "torch.nn.functional.conv_transpose2d",
                       "torch.conv_transpose2d", "torch.nn.grad.conv2d_input", "torch.nn.grad.conv2d_weight",
                       "torch.nn.functional.fold")
FORBIDDEN_POOL_HARD = (*FORBIDDEN_POOL, *FORBIDDEN_AUTOGRAD, "torch.nn.functional.max_pool2d_with_indices",
                       "torch.nn.functional.max_unpool2d")

# ------------------------------------------------------------------- inputs (03_n)

SEED_X = np.arange(1, 26, dtype=np.float64).reshape(5, 5)
SEED_K = np.arange(1, 10, dtype=np.float64).reshape(3, 3)
SEED_POOL = np.array([[3, 4, 3, 6], [7, 1, 1, 2], [4, 6, 3, 5], [9, 3, 7, 8]], dtype=np.float64)[None, None]


def _probabilities(rng: np.random.Generator, n: int, k: int) -> np.ndarray:
    p = rng.uniform(0.05, 1.0, size=(n, k))
    return p / p.sum(axis=1, keepdims=True)


def conv2d_single_cases() -> list[Case]:
    """(H,W), (kh,kw) pairs."""
    rng = case_rng(301)
    return [
        Case((SEED_X, SEED_K), note="seed example"),
        Case((rng.normal(size=(6, 8)), rng.normal(size=(3, 2))), note="non-square input and kernel"),
        Case((rng.normal(size=(4, 4)), rng.normal(size=(4, 4))), note="kernel as large as the input"),
        Case((rng.normal(size=(9, 7)), rng.normal(size=(1, 5))), note="1x5 kernel"),
    ]


def conv_output_size_cases() -> list[Case]:
    """(h, k, padding, stride) tuples: the seed's, then random ones."""
    params = [(5, 3, 0, 1), (32, 3, 1, 1), (7, 3, 1, 2), (28, 5, 2, 2), (8, 2, 0, 3), (10, 4, 3, 3), (1, 1, 0, 1)]
    rng = case_rng(302)
    while len(params) < 12:  # drawn with the course's salt while grading: not known in advance
        h, k, padding, stride = (int(v) for v in (rng.integers(1, 65), rng.integers(1, 8), rng.integers(0, 4),
                                                   rng.integers(1, 5)))
        if k <= h + 2 * padding:
            params.append((h, k, padding, stride))
    return [Case(p, note="random" if i >= 7 else "") for i, p in enumerate(params)]


def conv2d_cases() -> list[Case]:
    """(N,C,H,W), (K,C,kh,kw), (K,) with stride and padding."""
    rng = case_rng(303)

    def case(n, c, h, w, k, kh, kw, stride, padding, note):
        args = (rng.normal(size=(n, c, h, w)), rng.normal(size=(k, c, kh, kw)), rng.normal(size=(k,)))
        return Case(args, {"stride": stride, "padding": padding}, note)

    return [
        case(1, 1, 5, 5, 1, 3, 3, 1, 0, "one channel, one kernel"),
        case(2, 3, 7, 9, 4, 3, 2, 1, 0, "several channels and kernels, non-square"),
        case(2, 3, 7, 9, 4, 3, 3, 2, 0, "stride 2"),
        case(1, 2, 6, 5, 3, 3, 3, 1, 1, "padding 1"),
        case(3, 3, 8, 7, 2, 3, 2, 2, 1, "stride 2 and padding 1"),
    ]


def pool_cases(seed: int) -> list[Case]:
    """(N,C,H,W), size, stride."""
    rng = case_rng(seed)
    return [
        Case((SEED_POOL, 2, 2), note="seed example"),
        Case((rng.normal(size=(2, 3, 6, 8)), 2, 2), note="several channels, non-square"),
        Case((rng.normal(size=(2, 3, 7, 9)), 3, 2), note="size 3, stride 2"),
        Case((rng.normal(size=(1, 2, 5, 6)), 2, 1), note="size 2, stride 1 (overlapping windows)"),
        Case((rng.normal(size=(1, 1, 9, 9)), 2, 3), note="stride larger than the window"),
    ]


MAX_POOL_SEED, AVG_POOL_SEED = 304, 314


def softmax_cases() -> list[Case]:
    """Logits (D,) or (N, D), some of +-1000."""
    rng = case_rng(305)
    seed_a = np.array([3.0, -1.5, 0.2, 2.3, 3.5, 2.0, -2.2, 2.1, 1.0, 2.5])
    extreme = np.array([[1000.0, -1000.0, 0.0], [-1000.0, -1000.0, -999.0], [1000.0, 1000.0, 999.0]])
    return [
        Case((seed_a,), note="seed example, 1-D"),
        Case((rng.normal(scale=3.0, size=(8, 10)),), note="mini-batch (8, 10)"),
        Case((extreme,), note="logits of +-1000: must not overflow"),
        Case((rng.uniform(-1000, 1000, size=(4, 6)),), note="large random logits"),
    ]


def one_hot_cases() -> list[Case]:
    """(N,) integer labels and the number of classes."""
    rng = case_rng(306)
    return [
        Case((np.array([0, 1, 2]), 3), note="seed example"),
        Case((rng.integers(0, 10, size=20), 10), note="20 labels, 10 classes"),
        Case((np.array([1, 1, 0]), 5), note="num_classes larger than max label + 1"),
    ]


def cross_entropy_cases() -> list[Case]:
    """Probabilities (N,K) or (K,) and one-hot targets of the same shape."""
    rng = case_rng(307)

    def case(n, k, note):
        labels = rng.integers(0, k, size=n)
        return Case((_probabilities(rng, n, k), np.eye(k)[labels]), note=note)

    return [
        Case((np.array([0.2, 0.7, 0.1]), np.array([0.0, 1.0, 0.0])), note="seed example, 1-D"),
        case(8, 10, "mini-batch of 8: the mean, not the sum"),
        case(1, 3, "batch of 1"),
        case(32, 5, "mini-batch of 32"),
    ]


# ------------------------------------------------------------------- inputs (03_h)

SEED_X4 = SEED_X.reshape(1, 1, 5, 5)
SEED_W4 = SEED_K.reshape(1, 1, 3, 3)


def out_size(h: int, k: int, padding: int, stride: int) -> int:
    """The output length of a convolution or pooling window sweep (the lab's formula)."""
    return (h + 2 * padding - k) // stride + 1


def conv2d_forward_cases() -> list[Case]:
    """(N,C,H,W), (K,C,kh,kw), (K,) with stride and padding."""
    rng = case_rng(331)

    def case(n, c, h, w, k, kh, kw, stride, padding, note):
        args = (rng.normal(size=(n, c, h, w)), rng.normal(size=(k, c, kh, kw)), rng.normal(size=(k,)))
        return Case(args, {"stride": stride, "padding": padding}, note)

    return [
        Case((SEED_X4, SEED_W4, np.array([0.5])), note="seed example, bias 0.5"),
        case(2, 3, 7, 9, 4, 3, 2, 1, 0, "several channels and kernels, non-square"),
        case(2, 3, 8, 7, 4, 3, 3, 2, 0, "stride 2"),
        case(1, 2, 6, 5, 3, 3, 3, 1, 2, "padding 2"),
        case(3, 2, 9, 8, 2, 3, 2, 3, 1, "stride 3 and padding 1"),
    ]


def conv2d_backward_cases() -> list[Case]:
    """Case(args=(dout, x, w), kwargs={stride, padding}); dout has the output's shape."""
    rng = case_rng(332)

    def case(n, c, h, w, k, kh, kw, stride, padding, note):
        x, wt = rng.normal(size=(n, c, h, w)), rng.normal(size=(k, c, kh, kw))
        dout = rng.normal(size=(n, k, out_size(h, kh, padding, stride), out_size(w, kw, padding, stride)))
        return Case((dout, x, wt), {"stride": stride, "padding": padding}, note)

    return [
        Case((np.ones((1, 1, 3, 3)), SEED_X4, SEED_W4), {"stride": 1, "padding": 0}, "seed example, dout = 1"),
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
    """(N,C,H,W), size, stride."""
    rng = case_rng(334)
    return [
        Case((SEED_POOL, 2, 2), note="seed example"),
        Case((rng.normal(size=(2, 3, 6, 8)), 2, 2), note="several channels, non-square"),
        Case((rng.normal(size=(2, 3, 7, 9)), 3, 2), note="size 3, stride 2"),
        Case((rng.normal(size=(1, 2, 5, 6)), 2, 1), note="size 2, stride 1 (overlapping windows)"),
        Case((rng.normal(size=(1, 1, 9, 9)), 2, 3), note="stride larger than the window"),
    ]


def max_pool2d_backward_cases() -> list[Case]:
    """Case(args=(dout, x, size, stride)); random normal inputs: no ties inside a window."""
    rng = case_rng(335)

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


# ------------------------------------------------------------------- probes (03_n)


@probe
def check_conv2d_single(fn: Callable) -> None:
    probe_function(fn, conv2d_single_cases(), name="conv2d_single", forbidden=FORBIDDEN_CONV)


@probe
def check_conv_output_size(fn: Callable) -> None:
    probe_function(fn, conv_output_size_cases(), name="conv_output_size")


@probe
def check_conv2d(fn: Callable) -> None:
    probe_function(fn, conv2d_cases(), name="conv2d", forbidden=FORBIDDEN_CONV)


@probe
def check_max_pool2d(fn: Callable) -> None:
    probe_function(fn, pool_cases(MAX_POOL_SEED), name="max_pool2d", forbidden=FORBIDDEN_POOL)


@probe
def check_avg_pool2d(fn: Callable) -> None:
    probe_function(fn, pool_cases(AVG_POOL_SEED), name="avg_pool2d", forbidden=FORBIDDEN_POOL)


@probe
def check_softmax(fn: Callable) -> None:
    probe_function(fn, softmax_cases(), name="softmax", forbidden=FORBIDDEN_SOFTMAX)


@probe
def check_one_hot(fn: Callable) -> None:
    probe_function(fn, one_hot_cases(), name="one_hot", forbidden=FORBIDDEN_ONE_HOT)


@probe
def check_cross_entropy(fn: Callable) -> None:
    probe_function(fn, cross_entropy_cases(), name="cross_entropy", forbidden=FORBIDDEN_CE)


# ------------------------------------------------------------------- probes (03_h)


@probe
def check_conv2d_forward(fn: Callable) -> None:
    probe_function(fn, conv2d_forward_cases(), name="conv2d_forward", forbidden=FORBIDDEN_CONV_HARD)


# Each of dx, dw and db is its own test cell, judged on the same calls.
@probe
def check_conv2d_backward_dx(fn: Callable) -> None:
    probe_function(fn, conv2d_backward_cases(), name="conv2d_backward", forbidden=FORBIDDEN_CONV_HARD)


@probe
def check_conv2d_backward_dw(fn: Callable) -> None:
    probe_function(fn, conv2d_backward_cases(), name="conv2d_backward", forbidden=FORBIDDEN_CONV_HARD)


@probe
def check_conv2d_backward_db(fn: Callable) -> None:
    probe_function(fn, conv2d_backward_cases(), name="conv2d_backward", forbidden=FORBIDDEN_CONV_HARD)


@probe
def check_max_pool2d_forward(fn: Callable) -> None:
    probe_function(fn, max_pool2d_forward_cases(), name="max_pool2d_forward", forbidden=FORBIDDEN_POOL_HARD)


@probe
def check_max_pool2d_backward(fn: Callable) -> None:
    probe_function(fn, max_pool2d_backward_cases(), name="max_pool2d_backward", forbidden=FORBIDDEN_POOL_HARD)

"""Hidden checks for lab 03, "CNN building blocks".

Each ``check_*`` takes the student's function and nothing else. Inputs are
generated here with fixed seeds (so grading is reproducible), the expected
values come from ``torch.nn.functional`` in float64, and the comparison is
:func:`autograder.checks.check_function`'s.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from autograder.checks import Case, case_rng, check_function
from autograder.transcript import judged

# Tolerances stated once: float64 references, so anything looser than float32
# round-off means a wrong result, not a different summation order.
RTOL = 1e-5
ATOL = 1e-7
# cross_entropy: the course adds delta = 1e-7 inside the log; with probabilities
# >= 1e-3 that shifts the loss by < 1e-4 relative, so both conventions pass.
CE_RTOL = 1e-4
CE_ATOL = 1e-6


# Library functions that would do an exercise for the student (checked by check_function).
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


def _torch():
    import torch  # imported lazily: only the hidden tests need it

    return torch


def _tensor(x: np.ndarray):
    return _torch().from_numpy(np.ascontiguousarray(x, dtype=np.float64))


def _rng(seed: int) -> np.random.Generator:
    return case_rng(seed)


# ---------------------------------------------------------------- references


def ref_conv2d(x, w, b, stride=1, padding=0) -> np.ndarray:
    """(N,C,H,W), (K,C,kh,kw), (K,) -> (N,K,H',W') via torch.nn.functional.conv2d."""
    F = _torch().nn.functional
    return F.conv2d(_tensor(x), _tensor(w), _tensor(b), stride=stride, padding=padding).numpy()


def ref_conv2d_single(x, k) -> np.ndarray:
    """(H,W), (kh,kw) -> (H-kh+1, W-kw+1): cross-correlation, no padding, stride 1."""
    return ref_conv2d(x[None, None], k[None, None], np.zeros(1))[0, 0]


def ref_conv_output_size(h, k, padding, stride) -> int:
    """Output length measured by running torch's conv2d on zeros of that size."""
    x = np.zeros((1, 1, h, 1))
    w = np.zeros((1, 1, k, 1))
    return int(ref_conv2d(x, w, np.zeros(1), stride=stride, padding=padding).shape[2])


def ref_max_pool2d(x, size, stride) -> np.ndarray:
    """(N,C,H,W) -> (N,C,(H-size)//stride+1,(W-size)//stride+1)."""
    return _torch().nn.functional.max_pool2d(_tensor(x), size, stride).numpy()


def ref_avg_pool2d(x, size, stride) -> np.ndarray:
    """(N,C,H,W) -> (N,C,(H-size)//stride+1,(W-size)//stride+1)."""
    return _torch().nn.functional.avg_pool2d(_tensor(x), size, stride).numpy()


def ref_softmax(a) -> np.ndarray:
    """(..., D) -> (..., D), along the last axis."""
    return _torch().softmax(_tensor(a), dim=-1).numpy()


def ref_one_hot(labels, num_classes) -> np.ndarray:
    """(N,) ints -> (N, num_classes) floats."""
    torch = _torch()
    return torch.nn.functional.one_hot(torch.as_tensor(labels, dtype=torch.long), num_classes).double().numpy()


def ref_cross_entropy(y, t) -> float:
    """Probabilities (N,K) or (K,), one-hot (same shape) -> mean over the batch of -sum t log y."""
    torch = _torch()
    y2, t2 = np.atleast_2d(y), np.atleast_2d(t)
    labels = torch.from_numpy(t2.argmax(axis=1))
    return float(torch.nn.functional.nll_loss(torch.log(_tensor(y2)), labels))


# ------------------------------------------------------------------- inputs


def _probabilities(rng: np.random.Generator, n: int, k: int) -> np.ndarray:
    p = rng.uniform(0.05, 1.0, size=(n, k))
    return p / p.sum(axis=1, keepdims=True)


def conv2d_single_cases() -> list[Case]:
    rng = _rng(301)
    seed_x = np.arange(1, 26, dtype=np.float64).reshape(5, 5)
    seed_k = np.arange(1, 10, dtype=np.float64).reshape(3, 3)
    return [
        Case((seed_x, seed_k), note="seed example"),
        Case((rng.normal(size=(6, 8)), rng.normal(size=(3, 2))), note="non-square input and kernel"),
        Case((rng.normal(size=(4, 4)), rng.normal(size=(4, 4))), note="kernel as large as the input"),
        Case((rng.normal(size=(9, 7)), rng.normal(size=(1, 5))), note="1x5 kernel"),
    ]


def conv_output_size_cases() -> list[Case]:
    params = [(5, 3, 0, 1), (32, 3, 1, 1), (7, 3, 1, 2), (28, 5, 2, 2), (8, 2, 0, 3), (10, 4, 3, 3), (1, 1, 0, 1)]
    rng = _rng(302)
    while len(params) < 12:  # drawn with the course's salt while grading: not known in advance
        h, k, padding, stride = (int(v) for v in (rng.integers(1, 65), rng.integers(1, 8), rng.integers(0, 4),
                                                   rng.integers(1, 5)))
        if k <= h + 2 * padding:
            params.append((h, k, padding, stride))
    return [Case(p, note="random" if i >= 7 else "") for i, p in enumerate(params)]


def conv2d_cases() -> list[Case]:
    rng = _rng(303)

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


def _pool_cases(seed: int) -> list[Case]:
    rng = _rng(seed)
    seed_x = np.array([[3, 4, 3, 6], [7, 1, 1, 2], [4, 6, 3, 5], [9, 3, 7, 8]], dtype=np.float64)[None, None]
    return [
        Case((seed_x, 2, 2), note="seed example"),
        Case((rng.normal(size=(2, 3, 6, 8)), 2, 2), note="several channels, non-square"),
        Case((rng.normal(size=(2, 3, 7, 9)), 3, 2), note="size 3, stride 2"),
        Case((rng.normal(size=(1, 2, 5, 6)), 2, 1), note="size 2, stride 1 (overlapping windows)"),
        Case((rng.normal(size=(1, 1, 9, 9)), 2, 3), note="stride larger than the window"),
    ]


def softmax_cases() -> list[Case]:
    rng = _rng(305)
    seed_a = np.array([3.0, -1.5, 0.2, 2.3, 3.5, 2.0, -2.2, 2.1, 1.0, 2.5])
    extreme = np.array([[1000.0, -1000.0, 0.0], [-1000.0, -1000.0, -999.0], [1000.0, 1000.0, 999.0]])
    return [
        Case((seed_a,), note="seed example, 1-D"),
        Case((rng.normal(scale=3.0, size=(8, 10)),), note="mini-batch (8, 10)"),
        Case((extreme,), note="logits of +-1000: must not overflow"),
        Case((rng.uniform(-1000, 1000, size=(4, 6)),), note="large random logits"),
    ]


def one_hot_cases() -> list[Case]:
    rng = _rng(306)
    return [
        Case((np.array([0, 1, 2]), 3), note="seed example"),
        Case((rng.integers(0, 10, size=20), 10), note="20 labels, 10 classes"),
        Case((np.array([1, 1, 0]), 5), note="num_classes larger than max label + 1"),
    ]


def cross_entropy_cases() -> list[Case]:
    rng = _rng(307)

    def case(n, k, note):
        labels = rng.integers(0, k, size=n)
        return Case((_probabilities(rng, n, k), np.eye(k)[labels]), note=note)

    return [
        Case((np.array([0.2, 0.7, 0.1]), np.array([0.0, 1.0, 0.0])), note="seed example, 1-D"),
        case(8, 10, "mini-batch of 8: the mean, not the sum"),
        case(1, 3, "batch of 1"),
        case(32, 5, "mini-batch of 32"),
    ]


# ------------------------------------------------------------------- checks


@judged
def check_conv2d_single(fn: Callable) -> None:
    check_function(fn, conv2d_single_cases(), ref_conv2d_single, rtol=RTOL, atol=ATOL, name="conv2d_single",
                   forbidden=FORBIDDEN_CONV)


@judged
def check_conv_output_size(fn: Callable) -> None:
    check_function(
        fn, conv_output_size_cases(), ref_conv_output_size, rtol=0, atol=0, name="conv_output_size"
    )


@judged
def check_conv2d(fn: Callable) -> None:
    check_function(fn, conv2d_cases(), ref_conv2d, rtol=RTOL, atol=ATOL, name="conv2d", forbidden=FORBIDDEN_CONV)


@judged
def check_max_pool2d(fn: Callable) -> None:
    check_function(fn, _pool_cases(304), ref_max_pool2d, rtol=RTOL, atol=ATOL, name="max_pool2d",
                   forbidden=FORBIDDEN_POOL)


@judged
def check_avg_pool2d(fn: Callable) -> None:
    check_function(fn, _pool_cases(314), ref_avg_pool2d, rtol=RTOL, atol=ATOL, name="avg_pool2d",
                   forbidden=FORBIDDEN_POOL)


@judged
def check_softmax(fn: Callable) -> None:
    check_function(fn, softmax_cases(), ref_softmax, rtol=RTOL, atol=ATOL, name="softmax",
                   forbidden=FORBIDDEN_SOFTMAX)


@judged
def check_one_hot(fn: Callable) -> None:
    check_function(fn, one_hot_cases(), ref_one_hot, rtol=0, atol=0, name="one_hot", forbidden=FORBIDDEN_ONE_HOT)


@judged
def check_cross_entropy(fn: Callable) -> None:
    check_function(fn, cross_entropy_cases(), ref_cross_entropy, rtol=CE_RTOL, atol=CE_ATOL, name="cross_entropy",
                   forbidden=FORBIDDEN_CE)

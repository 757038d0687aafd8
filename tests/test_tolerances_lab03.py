"""Verdicts that do not depend on the draw (issue 18.6): lab 03's numeric checks on many salts.

Each course draws its own hidden inputs (the case salt), so a tolerance that holds on one draw must hold on
every draw. Each honest variant of every numeric check (float32 arithmetic, loops instead of vectorised code,
another summation order) passes on every one of ``SALTS`` salts, and each realistic mistake fails on every one.
The checks are called in-process, as in tests/test_lab03_checks.py; the grader's references are memoised per
input (they are deterministic), so the sweep costs the students' functions, not the references, many times.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest
from salt_sweep import SALTS, verdicts

from autograder.labs import lab03
from autograder.labs.lab03 import reference

F32 = np.float32


# ------------------------------------------------------------------- honest variants (03_n and 03_h)

def _pad(x, p):
    return np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))


def conv2d_einsum(x, w, b, stride=1, padding=0, dtype=np.float64):
    """Vectorised: sliding windows and einsum, in ``dtype``."""
    x, w, b = (np.asarray(a, dtype=dtype) for a in (x, w, b))
    kh, kw = w.shape[2:]
    windows = np.lib.stride_tricks.sliding_window_view(_pad(x, padding), (kh, kw), axis=(2, 3))
    windows = windows[:, :, ::stride, ::stride]
    return np.einsum("nchwij,kcij->nkhw", windows, w) + b[None, :, None, None]


def conv2d_loops(x, w, b, stride=1, padding=0, dtype=np.float64, reverse=False):
    """Loops over every output element and every term, summed in order (or in reverse order), in ``dtype``."""
    x, w, b = (np.asarray(a, dtype=dtype) for a in (x, w, b))
    xp = _pad(x, padding)
    n, c, h, wd = xp.shape
    k, _, kh, kw = w.shape
    oh, ow = (h - kh) // stride + 1, (wd - kw) // stride + 1
    out = np.zeros((n, k, oh, ow), dtype=dtype)
    terms = [(ci, i, j) for ci in range(c) for i in range(kh) for j in range(kw)]
    if reverse:
        terms.reverse()
    for ni in range(n):
        for ki in range(k):
            for y in range(oh):
                for z in range(ow):
                    total = dtype(0)
                    for ci, i, j in terms:
                        total += xp[ni, ci, y * stride + i, z * stride + j] * w[ki, ci, i, j]
                    out[ni, ki, y, z] = total + b[ki]
    return out


def conv2d_im2col(x, w, b, stride=1, padding=0, dtype=F32):
    """im2col and one matrix product (BLAS's own summation order), in ``dtype``."""
    x, w, b = (np.asarray(a, dtype=dtype) for a in (x, w, b))
    kh, kw = w.shape[2:]
    windows = np.lib.stride_tricks.sliding_window_view(_pad(x, padding), (kh, kw), axis=(2, 3))[:, :, ::stride, ::stride]
    n, c, oh, ow = windows.shape[:4]
    cols = windows.transpose(0, 2, 3, 1, 4, 5).reshape(n * oh * ow, -1)
    out = cols @ w.reshape(w.shape[0], -1).T + b
    return out.reshape(n, oh, ow, -1).transpose(0, 3, 1, 2)


def single(conv):
    """conv2d_single from a conv2d variant."""
    def conv2d_single(x, k):
        return conv(np.asarray(x)[None, None], np.asarray(k)[None, None], np.zeros(1))[0, 0]
    return conv2d_single


def pool(x, size, stride, op, dtype=np.float64):
    """Max or average pooling over windows, in ``dtype``; ``op`` reduces the last two axes."""
    x = np.asarray(x, dtype=dtype)
    windows = np.lib.stride_tricks.sliding_window_view(x, (size, size), axis=(2, 3))[:, :, ::stride, ::stride]
    return op(windows)


def avg_pool_loops_f32(x, size, stride):
    """Average pooling as a running float32 sum divided by the window's size."""
    x = np.asarray(x, dtype=F32)
    n, c, h, w = x.shape
    oh, ow = (h - size) // stride + 1, (w - size) // stride + 1
    out = np.zeros((n, c, oh, ow), dtype=F32)
    for y in range(oh):
        for z in range(ow):
            total = np.zeros((n, c), dtype=F32)
            for i in range(size):
                for j in range(size):
                    total += x[:, :, y * stride + i, z * stride + j]
            out[:, :, y, z] = total / F32(size * size)
    return out


def softmax_f32(a):
    a = np.asarray(a, dtype=F32)
    e = np.exp(a - a.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def softmax_logsumexp(a):
    a = np.asarray(a, dtype=np.float64)
    m = a.max(axis=-1, keepdims=True)
    return np.exp(a - m - np.log(np.exp(a - m).sum(axis=-1, keepdims=True)))


def cross_entropy_delta_f32(y, t):
    y, t = np.atleast_2d(np.asarray(y, dtype=F32)), np.atleast_2d(np.asarray(t, dtype=F32))
    return -np.sum(t * np.log(y + F32(1e-7))) / y.shape[0]


def cross_entropy_loop(y, t):
    y, t = np.atleast_2d(y), np.atleast_2d(t)
    total = 0.0
    for row in reversed(range(y.shape[0])):
        total -= np.log(y[row, int(np.argmax(t[row]))])
    return total / y.shape[0]


def conv2d_backward_vectorised(dout, x, w, stride=1, padding=0, dtype=np.float64):
    """(dx, dw, db) with windows and einsum; dx by scattering with np.add.at, in ``dtype``."""
    dout, x, w = (np.asarray(a, dtype=dtype) for a in (dout, x, w))
    kh, kw = w.shape[2:]
    xp = _pad(x, padding)
    windows = np.lib.stride_tricks.sliding_window_view(xp, (kh, kw), axis=(2, 3))[:, :, ::stride, ::stride]
    oh, ow = dout.shape[2:]
    windows = windows[:, :, :oh, :ow]
    dw = np.einsum("nchwij,nkhw->kcij", windows, dout)
    db = dout.sum(axis=(0, 2, 3))
    dxp = np.zeros_like(xp)
    contrib = np.einsum("nkhw,kcij->nchwij", dout, w)
    for i in range(kh):
        for j in range(kw):
            dxp[:, :, i:i + stride * oh:stride, j:j + stride * ow:stride] += contrib[:, :, :, :, i, j]
    dx = dxp[:, :, padding:padding + x.shape[2], padding:padding + x.shape[3]]
    return dx, dw, db


def conv2d_backward_loops(dout, x, w, stride=1, padding=0, dtype=F32):
    """(dx, dw, db) one output position at a time, accumulated in ``dtype``."""
    dout, x, w = (np.asarray(a, dtype=dtype) for a in (dout, x, w))
    kh, kw = w.shape[2:]
    xp = _pad(x, padding)
    dxp, dw = np.zeros_like(xp), np.zeros_like(w)
    n, k, oh, ow = dout.shape
    for y in range(oh):
        for z in range(ow):
            patch = xp[:, :, y * stride:y * stride + kh, z * stride:z * stride + kw]
            g = dout[:, :, y, z]
            dw += np.einsum("nk,ncij->kcij", g, patch)
            dxp[:, :, y * stride:y * stride + kh, z * stride:z * stride + kw] += np.einsum("nk,kcij->ncij", g, w)
    dx = dxp[:, :, padding:padding + x.shape[2], padding:padding + x.shape[3]]
    return dx, dw, dout.sum(axis=(0, 2, 3))


def max_pool_backward(dout, x, size, stride, dtype=np.float64):
    """dx: each window's upstream gradient added where its maximum is (np.add.at: overlapping windows add up)."""
    dout, x = np.asarray(dout, dtype=dtype), np.asarray(x, dtype=dtype)
    n, c, oh, ow = dout.shape
    windows = np.lib.stride_tricks.sliding_window_view(x, (size, size), axis=(2, 3))[:, :, ::stride, ::stride]
    where = windows[:, :, :oh, :ow].reshape(n, c, oh, ow, -1).argmax(axis=-1)
    rows = np.arange(oh)[:, None] * stride + where // size
    cols = np.arange(ow)[None, :] * stride + where % size
    dx = np.zeros_like(x)
    np.add.at(dx, (np.arange(n)[:, None, None, None], np.arange(c)[None, :, None, None], rows, cols), dout)
    return dx


def _maxpool(x, size, stride, dtype=np.float64):
    return pool(x, size, stride, lambda v: v.max(axis=(-2, -1)), dtype)


def _avgpool(x, size, stride, dtype=np.float64):
    return pool(x, size, stride, lambda v: v.mean(axis=(-2, -1)), dtype)


HONEST = {
    "conv2d_single": {
        "einsum float32": single(functools.partial(conv2d_einsum, dtype=F32)),
        "loops, reverse order, float32": single(functools.partial(conv2d_loops, dtype=F32, reverse=True)),
        "im2col float32": single(conv2d_im2col),
    },
    "conv2d": {
        "einsum float64": conv2d_einsum,
        "einsum float32": functools.partial(conv2d_einsum, dtype=F32),
        "im2col float32": conv2d_im2col,
        "loops, reverse order, float32": functools.partial(conv2d_loops, dtype=F32, reverse=True),
    },
    "max_pool2d": {"float32": functools.partial(_maxpool, dtype=F32)},
    "avg_pool2d": {"mean float32": functools.partial(_avgpool, dtype=F32), "loops float32": avg_pool_loops_f32},
    "softmax": {"float32": softmax_f32, "log-sum-exp": softmax_logsumexp},
    "cross_entropy": {"delta 1e-7, float32": cross_entropy_delta_f32, "loop, reverse order": cross_entropy_loop},
    "conv2d_forward": {
        "einsum float32": functools.partial(conv2d_einsum, dtype=F32),
        "im2col float32": conv2d_im2col,
    },
    "conv2d_backward": {
        "vectorised float64": conv2d_backward_vectorised,
        "vectorised float32": functools.partial(conv2d_backward_vectorised, dtype=F32),
        "loops float32": conv2d_backward_loops,
    },
    "max_pool2d_forward": {"float32": functools.partial(_maxpool, dtype=F32)},
    "max_pool2d_backward": {"np.add.at float32": functools.partial(max_pool_backward, dtype=F32)},
}

# ------------------------------------------------------------------- realistic mistakes


def _flipped(x, w, b, stride=1, padding=0):
    return conv2d_einsum(x, np.asarray(w)[:, :, ::-1, ::-1], b, stride, padding)


def _no_bias(x, w, b, stride=1, padding=0):
    return conv2d_einsum(x, w, np.zeros_like(np.asarray(b)), stride, padding)


def _stride_ignored_then_subsampled_wrong(x, w, b, stride=1, padding=0):
    out = conv2d_einsum(x, w, b, 1, padding)  # the right size, taken from the wrong positions
    oh, ow = (np.shape(x)[2] + 2 * padding - np.shape(w)[2]) // stride + 1, \
        (np.shape(x)[3] + 2 * padding - np.shape(w)[3]) // stride + 1
    return out[:, :, :oh, :ow]


def _softmax_overflow(a):
    with np.errstate(over="ignore", invalid="ignore"):
        e = np.exp(np.asarray(a, dtype=np.float64))
        return e / e.sum(axis=-1, keepdims=True)


def _softmax_batch_max(a):
    a = np.asarray(a, dtype=np.float64)
    with np.errstate(under="ignore", invalid="ignore", divide="ignore"):
        e = np.exp(a - a.max())
        return e / e.sum(axis=-1, keepdims=True)


def _ce_summed(y, t):
    y, t = np.atleast_2d(y), np.atleast_2d(t)
    return -np.sum(t * np.log(y + 1e-7))


def _ce_no_minus(y, t):
    return -cross_entropy_loop(y, t)


def _backward_dx_overwritten(dout, x, w, stride=1, padding=0):
    dx, dw, db = conv2d_backward_vectorised(dout, x, w, stride, padding)
    # dx where overlapping windows overwrite instead of adding: wrong wherever windows overlap
    dout, w = np.asarray(dout), np.asarray(w)
    kh, kw = w.shape[2:]
    xp = _pad(np.asarray(x), padding)
    dxp = np.zeros_like(xp)
    oh, ow = dout.shape[2:]
    for y in range(oh):
        for z in range(ow):
            dxp[:, :, y * stride:y * stride + kh, z * stride:z * stride + kw] = np.einsum("nk,kcij->ncij", dout[:, :, y, z], w)
    return dxp[:, :, padding:padding + np.shape(x)[2], padding:padding + np.shape(x)[3]], dw, db


def _backward_dw_first_sample(dout, x, w, stride=1, padding=0):
    dx, dw, db = conv2d_backward_vectorised(dout, x, w, stride, padding)
    dw_first = conv2d_backward_vectorised(np.asarray(dout)[:1], np.asarray(x)[:1], w, stride, padding)[1]
    return dx, dw_first * np.shape(x)[0], db  # one sample scaled up, not the sum over the batch


def _backward_db_mean(dout, x, w, stride=1, padding=0):
    dx, dw, _ = conv2d_backward_vectorised(dout, x, w, stride, padding)
    return dx, dw, np.asarray(dout).mean(axis=(0, 2, 3))


def _maxpool_backward_everywhere(dout, x, size, stride):
    dout = np.asarray(dout)
    dx = np.zeros(np.shape(x))
    oh, ow = dout.shape[2:]
    for y in range(oh):
        for z in range(ow):
            dx[:, :, y * stride:y * stride + size, z * stride:z * stride + size] += dout[:, :, y, z][:, :, None, None]
    return dx


MISTAKES = {
    "conv2d_single": {"flipped kernel": single(_flipped)},
    "conv2d": {"flipped kernel": _flipped, "bias left out": _no_bias,
               "stride ignored": _stride_ignored_then_subsampled_wrong},
    "max_pool2d": {"average instead of max": _avgpool},
    "avg_pool2d": {"max instead of average": _maxpool},
    "softmax": {"no max subtracted (overflow)": _softmax_overflow, "batch-wide max (underflow)": _softmax_batch_max},
    "cross_entropy": {"summed over the batch": _ce_summed, "sign dropped": _ce_no_minus},
    "conv2d_forward": {"flipped kernel": _flipped, "bias left out": _no_bias},
    "conv2d_backward_dx": {"overlapping windows overwrite dx": _backward_dx_overwritten},
    "conv2d_backward_dw": {"dw from one sample": _backward_dw_first_sample},
    "conv2d_backward_db": {"db is a mean": _backward_db_mean},
    "max_pool2d_backward": {"gradient to every element of the window": _maxpool_backward_everywhere},
}

CHECKS_OF = {  # function -> the checks that grade it
    "conv2d_single": ["conv2d_single"], "conv2d": ["conv2d"], "max_pool2d": ["max_pool2d"],
    "avg_pool2d": ["avg_pool2d"], "softmax": ["softmax"], "cross_entropy": ["cross_entropy"],
    "conv2d_forward": ["conv2d_forward"],
    "conv2d_backward": ["conv2d_backward_dx", "conv2d_backward_dw", "conv2d_backward_db"],
    "max_pool2d_forward": ["max_pool2d_forward"], "max_pool2d_backward": ["max_pool2d_backward"],
}


def _memo(fn):
    """``fn`` memoised on its arguments' bytes: the grader's references are pure functions of the inputs."""
    cache: dict = {}

    @functools.wraps(fn)
    def memoised(*args, **kwargs):
        key = tuple((np.asarray(a).tobytes(), np.shape(a)) if not callable(a) else id(a) for a in args)
        key += tuple(sorted(kwargs.items()))
        if key not in cache:
            cache[key] = fn(*args, **kwargs)
        return cache[key]
    return memoised


@pytest.fixture(scope="module", autouse=True)
def memoised_references():
    patch = pytest.MonkeyPatch()
    for name in ("conv2d", "conv2d_single", "max_pool2d", "avg_pool2d", "softmax", "cross_entropy", "conv2d_backward",
                 "max_pool2d_backward", "numerical_conv2d_backward", "numerical_max_pool2d_backward"):
        patch.setattr(reference, name, _memo(getattr(reference, name)))
    yield
    patch.undo()


def _verdicts(check_name: str, fn, monkeypatch) -> list[str | None]:
    """The check's failure message on each salt (None where it passes)."""
    return verdicts(getattr(lab03, f"check_{check_name}"), fn, monkeypatch)


@pytest.mark.parametrize(("function", "variant"), [(f, v) for f, vs in HONEST.items() for v in vs])
def test_every_honest_variant_passes_on_every_salt(function, variant, monkeypatch):
    for check_name in CHECKS_OF[function]:
        failures = [v for v in _verdicts(check_name, HONEST[function][variant], monkeypatch) if v]
        assert not failures, f"{check_name}, {variant}: {len(failures)} / {len(SALTS)} salts fail; first:\n{failures[0]}"


@pytest.mark.parametrize(("check_name", "mistake"), [(c, m) for c, ms in MISTAKES.items() for m in ms])
def test_every_realistic_mistake_fails_on_every_salt(check_name, mistake, monkeypatch):
    passes = [salt for salt, v in zip(SALTS, _verdicts(check_name, MISTAKES[check_name][mistake], monkeypatch), strict=True)
              if v is None]
    assert not passes, f"{check_name}, {mistake}: passes on {len(passes)} / {len(SALTS)} salts, e.g. {passes[:3]}"

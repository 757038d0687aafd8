"""Verdicts that do not depend on the draw (issue 18.6): lab 02's numeric checks on many salts.

As tests/test_tolerances_lab03.py: each honest variant (float32 arithmetic, another summation order) of the
activation, loss, update and two-layer network checks passes on every one of ``SALTS`` salts, and each realistic
mistake fails on every one. The checks are called in-process; the grader's references are memoised per input.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest
from salt_sweep import SALTS, verdicts

from autograder.labs import lab02
from autograder.labs.lab02 import reference

F32 = np.float32


def sigmoid_f32(x):
    x = np.asarray(x, dtype=F32)
    z = np.exp(-np.abs(x))
    return np.where(x >= 0, F32(1) / (F32(1) + z), z / (F32(1) + z))


def sigmoid_tanh_form(x):
    """sigmoid(x) = (1 + tanh(x / 2)) / 2, with a stable tanh: another formula, other round-off."""
    return (1.0 + tanh_f64(np.asarray(x, dtype=np.float64) / 2.0)) / 2.0


def tanh_f64(x):
    x = np.asarray(x, dtype=np.float64)
    z = np.exp(-2.0 * np.abs(x))
    return np.sign(x) * (1.0 - z) / (1.0 + z)


def tanh_f32(x):
    x = np.asarray(x, dtype=F32)
    z = np.exp(F32(-2) * np.abs(x))
    return np.sign(x) * (F32(1) - z) / (F32(1) + z)


def tanh_via_sigmoid(x):
    return 2.0 * sigmoid_f32(2.0 * np.asarray(x, dtype=np.float64)).astype(np.float64) - 1.0


def sse_f32_loop(y, t):
    y, t = np.ravel(np.asarray(y, dtype=F32)), np.ravel(np.asarray(t, dtype=F32))
    total = F32(0)
    for d in reversed(y - t):
        total += d * d
    return float(total / F32(2))


def mse_f32(y, t):
    y, t = np.asarray(y, dtype=F32), np.asarray(t, dtype=F32)
    return float(np.mean((y - t) ** 2))


def gradient_step_f32(w, grad, lr):
    return np.asarray(w, dtype=F32) - F32(lr) * np.asarray(grad, dtype=F32)


def _params(params, dtype):
    return {k: np.asarray(v, dtype=dtype) for k, v in params.items()}


def forward_f32(params, x):
    p, x = _params(params, F32), np.asarray(x, dtype=F32)
    return sigmoid_f32(x @ p["W1"] + p["b1"]) @ p["W2"] + p["b2"]


def forward_loops(params, x):
    """One sample and one unit at a time, summed in reverse order."""
    x = np.asarray(x, dtype=np.float64)
    w1, b1, w2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    out = np.zeros((x.shape[0], w2.shape[1]))
    for n in range(x.shape[0]):
        h = [sigmoid_tanh_form(sum(x[n, d] * w1[d, j] for d in reversed(range(x.shape[1]))) + b1[j])
             for j in range(w1.shape[1])]
        for k in range(w2.shape[1]):
            out[n, k] = sum(h[j] * w2[j, k] for j in reversed(range(len(h)))) + b2[k]
    return out


def gradient(params, x, t, dtype=np.float64, mean_first=False):
    """Backprop in ``dtype``; ``mean_first`` divides by N at the end instead of in da (another order)."""
    p, x, t = _params(params, dtype), np.asarray(x, dtype=dtype), np.asarray(t, dtype=dtype)
    n = x.shape[0]
    h = sigmoid_f32(x @ p["W1"] + p["b1"]).astype(dtype) if dtype == F32 else sigmoid_tanh_form(x @ p["W1"] + p["b1"])
    a = h @ p["W2"] + p["b2"]
    e = np.exp(a - a.max(axis=1, keepdims=True))
    y = e / e.sum(axis=1, keepdims=True)
    da = (y - t) if mean_first else (y - t) / dtype(n)
    grads = {"W2": h.T @ da, "b2": da.sum(axis=0)}
    du = (da @ p["W2"].T) * h * (dtype(1) - h)
    grads["W1"], grads["b1"] = x.T @ du, du.sum(axis=0)
    return {k: v / dtype(n) for k, v in grads.items()} if mean_first else grads


def _log_sum_exp(a, dtype):
    a = np.asarray(a, dtype=dtype)
    top = a.max(axis=1, keepdims=True)
    return top[:, 0] + np.log(np.exp(a - top).sum(axis=1))


def sce_f32(a, t):
    a, t = np.asarray(a, dtype=F32), np.asarray(t, dtype=F32)
    return float(np.mean(_log_sum_exp(a, F32) - (a * t).sum(axis=1)))


def sce_loops(a, t):
    """Row by row with math, the exponentials summed in reverse order."""
    import math
    total = 0.0
    for row, target in zip(np.asarray(a, dtype=float), np.asarray(t, dtype=float), strict=True):
        top = max(row)
        lse = top + math.log(sum(math.exp(v - top) for v in reversed(row)))
        total += lse - sum(v * w for v, w in zip(row, target, strict=True))
    return total / len(a)


HONEST = {
    "sigmoid": {"float32": sigmoid_f32, "via tanh": sigmoid_tanh_form},
    "tanh": {"float32": tanh_f32, "via sigmoid (float32 inside)": tanh_via_sigmoid},
    "sum_squared_error": {"float32 loop, reverse order": sse_f32_loop},
    "mean_squared_error": {"float32 mean": mse_f32},
    "gradient_step": {"float32": gradient_step_f32},
    "two_layer_forward": {"float32": forward_f32, "loops, reverse order": forward_loops},
    "two_layer_gradient": {"float32": functools.partial(gradient, dtype=F32),
                           "1/N at the end": functools.partial(gradient, mean_first=True)},
    "softmax_cross_entropy": {"float32": sce_f32, "loops, reverse order": sce_loops},
}


def _no_half(y, t):
    return 2.0 * sse_f32_loop(y, t)


def _mse_no_mean(y, t):
    return float(np.sum((np.asarray(y) - np.asarray(t)) ** 2))


def _forward_no_b2(params, x):
    return sigmoid_f32(np.asarray(x) @ params["W1"] + params["b1"]).astype(np.float64) @ params["W2"]


def _gradient_not_averaged(params, x, t):
    return {k: v * np.shape(x)[0] for k, v in gradient(params, x, t).items()}


def _gradient_wrong_derivative(params, x, t):
    p = params
    h = sigmoid_tanh_form(np.asarray(x) @ p["W1"] + p["b1"])
    a = h @ p["W2"] + p["b2"]
    e = np.exp(a - a.max(axis=1, keepdims=True))
    da = (e / e.sum(axis=1, keepdims=True) - t) / np.shape(x)[0]
    du = (da @ p["W2"].T) * h  # sigmoid' taken as h, not h (1 - h)
    return {"W2": h.T @ da, "b2": da.sum(axis=0), "W1": np.asarray(x).T @ du, "b1": du.sum(axis=0)}


def _sce_with_delta(a, t):
    """The course's cross_entropy_error on a stable softmax: delta = 1e-7 inside the log."""
    a = np.asarray(a, dtype=np.float64)
    e = np.exp(a - a.max(axis=1, keepdims=True))
    return float(-np.sum(np.asarray(t) * np.log(e / e.sum(axis=1, keepdims=True) + 1e-7)) / len(a))


def _sce_summed(a, t):
    return float(np.sum(_log_sum_exp(a, np.float64) - (np.asarray(a) * np.asarray(t)).sum(axis=1)))


MISTAKES = {
    "sigmoid": {"tanh instead": tanh_f64},
    "sum_squared_error": {"no 1/2": _no_half},
    "mean_squared_error": {"not divided by N": _mse_no_mean},
    "gradient_step": {"ascent": lambda w, grad, lr: np.asarray(w) + lr * np.asarray(grad)},
    "two_layer_forward": {"b2 left out": _forward_no_b2},
    "two_layer_gradient": {"not averaged over the batch": _gradient_not_averaged,
                           "sigmoid' taken as h": _gradient_wrong_derivative},
    "softmax_cross_entropy": {"delta inside the log": _sce_with_delta, "summed over the batch": _sce_summed},
}


def _memo(fn):
    cache: dict = {}

    @functools.wraps(fn)
    def memoised(*args):
        key = tuple(tuple((k, v.tobytes()) for k, v in sorted(a.items())) if isinstance(a, dict)
                    else (np.asarray(a).tobytes(), np.shape(a)) for a in args)
        if key not in cache:
            cache[key] = fn(*args)
        return cache[key]
    return memoised


@pytest.fixture(scope="module", autouse=True)
def memoised_references():
    patch = pytest.MonkeyPatch()
    for name in ("two_layer_forward", "two_layer_gradient"):
        patch.setattr(reference, name, _memo(getattr(reference, name)))
    yield
    patch.undo()


def _verdicts(name: str, fn, monkeypatch) -> list[str | None]:
    """The check's failure message on each salt (None where it passes)."""
    return verdicts(getattr(lab02, f"check_{name}"), fn, monkeypatch)


@pytest.mark.parametrize(("name", "variant"), [(f, v) for f, vs in HONEST.items() for v in vs])
def test_every_honest_variant_passes_on_every_salt(name, variant, monkeypatch):
    failures = [v for v in _verdicts(name, HONEST[name][variant], monkeypatch) if v]
    assert not failures, f"{name}, {variant}: {len(failures)} / {len(SALTS)} salts fail; first:\n{failures[0]}"


@pytest.mark.parametrize(("name", "mistake"), [(f, m) for f, ms in MISTAKES.items() for m in ms])
def test_every_realistic_mistake_fails_on_every_salt(name, mistake, monkeypatch):
    results = _verdicts(name, MISTAKES[name][mistake], monkeypatch)
    passes = [salt for salt, v in zip(SALTS, results, strict=True) if v is None]
    assert not passes, f"{name}, {mistake}: passes on {len(passes)} / {len(SALTS)} salts, e.g. {passes[:3]}"

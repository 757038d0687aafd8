"""Lab 02's reference answers: torch in float64 (torch.autograd for gradients), NumPy, and the gates' truth tables.

Grader-side only: the student's kernel never imports this module.
"""

from __future__ import annotations

from typing import Any

import numpy as np

PARAM_KEYS = ("W1", "b1", "W2", "b2")


def _torch():
    import torch  # imported lazily: the grader imports the labs' checks to find them, most never run

    return torch


def _tensor(x: Any, requires_grad: bool = False):
    return _torch().tensor(np.array(x, dtype=np.float64), requires_grad=requires_grad)


# ------------------------------------------------------------------ perceptron and gates


def perceptron(x, w, b) -> int:
    """x (D,), w (D,), b scalar -> 1 if w.x + b > 0 else 0 (0 on the boundary: w.x <= theta)."""
    return int(float(np.dot(np.asarray(x, dtype=np.float64), np.asarray(w, dtype=np.float64))) + float(b) > 0)


TRUTH_TABLES = {
    "AND": {(0, 0): 0, (1, 0): 0, (0, 1): 0, (1, 1): 1},
    "OR": {(0, 0): 0, (1, 0): 1, (0, 1): 1, (1, 1): 1},
    "NAND": {(0, 0): 1, (1, 0): 1, (0, 1): 1, (1, 1): 0},
    "XOR": {(0, 0): 0, (1, 0): 1, (0, 1): 1, (1, 1): 0},
}


def gate(name: str, x1: int, x2: int) -> int:
    """The gate ``name`` ("AND", "OR", "NAND", "XOR") on inputs x1, x2 in {0, 1} -> 0 or 1."""
    return TRUTH_TABLES[name][x1, x2]


# ------------------------------------------------------------------ activations


def step_function(x) -> np.ndarray:
    """Any shape -> same shape: 1 where x > 0, else 0."""
    torch = _torch()
    return torch.heaviside(_tensor(x), torch.zeros((), dtype=torch.float64)).numpy()


def sigmoid(x) -> np.ndarray:
    """Any shape -> same shape: 1 / (1 + exp(-x))."""
    return _torch().sigmoid(_tensor(x)).numpy()


def tanh(x) -> np.ndarray:
    """Any shape -> same shape."""
    return _torch().tanh(_tensor(x)).numpy()


def relu(x) -> np.ndarray:
    """Any shape -> same shape: max(0, x)."""
    return _torch().relu(_tensor(x)).numpy()


# ------------------------------------------------------------------ losses


def sum_squared_error(y, t) -> float:
    """Any shape (same for y and t) -> 1/2 * sum of (y - t)^2 over every element."""
    F = _torch().nn.functional
    return 0.5 * float(F.mse_loss(_tensor(y), _tensor(t), reduction="sum"))


def mean_squared_error(y, t) -> float:
    """(N,), (N,) -> (1/N) * sum of (y - t)^2."""
    F = _torch().nn.functional
    return float(F.mse_loss(_tensor(y), _tensor(t), reduction="mean"))


def cross_entropy(y, t) -> float:
    """Probabilities (N,K) or (K,), one-hot (same shape) -> mean over the batch of -sum t log y."""
    torch = _torch()
    y2, t2 = np.atleast_2d(y), np.atleast_2d(t)
    labels = torch.from_numpy(t2.argmax(axis=1))
    return float(torch.nn.functional.nll_loss(torch.log(_tensor(y2)), labels))


# ------------------------------------------------------------------ gradients


def gradient_of(formula: str, x: np.ndarray, constants: dict) -> np.ndarray:
    """The exact gradient of the function numerical_gradient's case ``formula`` names, at x (any shape -> x's shape).

    ``constants``: the case's random matrices, c (3, 4) for "sin_times_c" and a (4, 4) for "quadratic_form".
    """
    x = np.asarray(x, dtype=np.float64)
    if formula == "sum_squares":  # f = sum(x^2)
        return 2 * x
    if formula == "sin_times_c":  # f = sum(sin(x) * c)
        return np.cos(x) * constants["c"]
    if formula == "exp_half":  # f = sum(exp(x / 2))
        return np.exp(x / 2) / 2
    if formula == "quadratic_form":  # f = x^T A x
        a = constants["a"]
        return (a + a.T) @ x
    if formula == "cube_in_place":  # f = sum(x^3) / 3
        return x ** 2
    raise ValueError(f"no gradient for {formula!r}")


def gradient_step(w, grad, lr):
    """w' = w - lr * dL/dw (any shape; w may be a scalar)."""
    return np.asarray(w, dtype=np.float64) - lr * np.asarray(grad, dtype=np.float64)


# ------------------------------------------------------------------ the two-layer network


def _torch_scores(params_t: dict, x):
    torch = _torch()
    h = torch.sigmoid(_tensor(x) @ params_t["W1"] + params_t["b1"])
    return h @ params_t["W2"] + params_t["b2"]


def two_layer_forward(params: dict, x) -> np.ndarray:
    """params W1 (D, H), b1 (H,), W2 (H, K), b2 (K,); x (N, D) -> scores (N, K) = sigmoid(x W1 + b1) W2 + b2."""
    params_t = {k: _tensor(params[k]) for k in PARAM_KEYS}
    return _torch_scores(params_t, x).numpy()


def softmax_cross_entropy(a, t) -> float:
    """Scores (N, K), one-hot (N, K) -> mean over N of -sum_k t log softmax(a) (exact, via log-softmax)."""
    torch = _torch()
    logp = torch.log_softmax(_tensor(a), dim=1)
    return float(-(logp * _tensor(t)).sum() / a.shape[0])


def two_layer_gradient(params: dict, x, t) -> dict:
    """Gradients of softmax_cross_entropy(two_layer_forward(params, x), t) by torch.autograd: x (N, D), t (N, K)
    -> {"W1": (D, H), "b1": (H,), "W2": (H, K), "b2": (K,)}."""
    torch = _torch()
    params_t = {k: _tensor(params[k], requires_grad=True) for k in PARAM_KEYS}
    a = _torch_scores(params_t, x)
    loss = -(torch.log_softmax(a, dim=1) * _tensor(t)).sum() / a.shape[0]
    grads = torch.autograd.grad(loss, [params_t[k] for k in PARAM_KEYS])
    return {k: g.numpy() for k, g in zip(PARAM_KEYS, grads, strict=True)}


def accuracy(params: dict, x, labels) -> float:
    """x (N, D), integer labels (N,) -> the fraction of rows whose largest score is the label."""
    scores = two_layer_forward(params, x)
    return float(np.mean(np.argmax(scores, axis=1) == np.asarray(labels)))

"""Lab 03's reference answers, computed by torch in float64 (and, for gradients, by central differences).

Grader-side only: the student's kernel never imports this module.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from autograder.labs.lab03.thresholds import NUMGRAD_H


def _torch():
    import torch  # imported lazily: the grader imports the labs' checks to find them, most never run

    return torch


def _tensor(x, requires_grad: bool = False):
    return _torch().from_numpy(np.array(x, dtype=np.float64)).requires_grad_(requires_grad)


def conv2d(x, w, b, stride=1, padding=0) -> np.ndarray:
    """(N,C,H,W), (K,C,kh,kw), (K,) -> (N,K,H',W') via torch.nn.functional.conv2d."""
    F = _torch().nn.functional
    return F.conv2d(_tensor(x), _tensor(w), _tensor(b), stride=stride, padding=padding).detach().numpy()


def conv2d_single(x, k) -> np.ndarray:
    """(H,W), (kh,kw) -> (H-kh+1, W-kw+1): cross-correlation, no padding, stride 1."""
    return conv2d(np.asarray(x)[None, None], np.asarray(k)[None, None], np.zeros(1))[0, 0]


def conv_output_size(h, k, padding, stride) -> int:
    """Output length measured by running torch's conv2d on zeros of that size."""
    x = np.zeros((1, 1, h, 1))
    w = np.zeros((1, 1, k, 1))
    return int(conv2d(x, w, np.zeros(1), stride=stride, padding=padding).shape[2])


def max_pool2d(x, size, stride) -> np.ndarray:
    """(N,C,H,W) -> (N,C,(H-size)//stride+1,(W-size)//stride+1)."""
    return _torch().nn.functional.max_pool2d(_tensor(x), size, stride).detach().numpy()


def avg_pool2d(x, size, stride) -> np.ndarray:
    """(N,C,H,W) -> (N,C,(H-size)//stride+1,(W-size)//stride+1)."""
    return _torch().nn.functional.avg_pool2d(_tensor(x), size, stride).detach().numpy()


def softmax(a) -> np.ndarray:
    """(..., D) -> (..., D), along the last axis."""
    return _torch().softmax(_tensor(a), dim=-1).detach().numpy()


def one_hot(labels, num_classes) -> np.ndarray:
    """(N,) ints -> (N, num_classes) floats."""
    torch = _torch()
    return torch.nn.functional.one_hot(torch.as_tensor(labels, dtype=torch.long), num_classes).double().numpy()


def cross_entropy(y, t) -> float:
    """Probabilities (N,K) or (K,), one-hot (same shape) -> mean over the batch of -sum t log y."""
    torch = _torch()
    y2, t2 = np.atleast_2d(y), np.atleast_2d(t)
    labels = torch.from_numpy(t2.argmax(axis=1))
    return float(torch.nn.functional.nll_loss(torch.log(_tensor(y2)), labels))


def conv2d_backward(dout, x, w, stride=1, padding=0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Upstream gradient (N,K,H',W') -> (dx (N,C,H,W), dw (K,C,kh,kw), db (K,)) by torch autograd (float64)."""
    torch = _torch()
    tx, tw = _tensor(x, True), _tensor(w, True)
    tb = torch.zeros(np.shape(w)[0], dtype=torch.float64, requires_grad=True)
    out = torch.nn.functional.conv2d(tx, tw, tb, stride=stride, padding=padding)
    out.backward(_tensor(dout))
    return tx.grad.numpy(), tw.grad.numpy(), tb.grad.numpy()


def max_pool2d_backward(dout, x, size, stride) -> np.ndarray:
    """Upstream gradient (N,C,H',W') -> dx (N,C,H,W) by torch autograd (float64)."""
    tx = _tensor(x, True)
    out = _torch().nn.functional.max_pool2d(tx, size, stride)
    out.backward(_tensor(dout))
    return tx.grad.numpy()


def numerical_gradient(f_many: Callable[[np.ndarray], np.ndarray], x: np.ndarray, dout: np.ndarray,
                       h: float = NUMGRAD_H) -> np.ndarray:
    """Central differences of sum(f(x) * dout) with respect to every element of x (float64), x's shape.

    ``f_many`` evaluates f on a stack of inputs, shape (M, *x.shape) -> (M, *f(x).shape): the 2 * x.size
    perturbed copies of x go through the forward pass in one call (a loop of single calls made a 200-salt
    sweep of the hidden checks take hours). Each copy is computed independently, as in a loop.
    """
    x = np.array(x, dtype=np.float64)
    steps = np.eye(x.size).reshape(x.size, *x.shape) * h
    out = f_many(np.concatenate([x + steps, x - steps]))
    dout = np.asarray(dout, dtype=np.float64)
    sums = np.sum(out * dout, axis=tuple(range(1, out.ndim)))
    return ((sums[:x.size] - sums[x.size:]) / (2 * h)).reshape(x.shape)


def numerical_conv2d_backward(dout, x, w, stride=1, padding=0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(dx, dw, db) of sum(conv2d(x, w, b) * dout) by central differences (b = 0: the gradient does not depend on it)."""
    x, w = np.asarray(x, dtype=np.float64), np.asarray(w, dtype=np.float64)
    n, k = x.shape[0], w.shape[0]
    b = np.zeros(k)

    def many_x(xs):  # the copies of x as one batch of images
        out = conv2d(xs.reshape(-1, *x.shape[1:]), w, b, stride, padding)
        return out.reshape(len(xs), n, *out.shape[1:])

    def many_kernels(ws, bs):  # M copies of (w, b), shapes (M, K, C, kh, kw) and (M, K), as one bank of kernels
        out = conv2d(x, ws.reshape(-1, *w.shape[1:]), bs.reshape(-1), stride, padding)
        return out.reshape(n, len(ws), k, *out.shape[2:]).swapaxes(0, 1)

    dx = numerical_gradient(many_x, x, dout)
    dw = numerical_gradient(lambda ws: many_kernels(ws, np.tile(b, (len(ws), 1))), w, dout)
    db = numerical_gradient(lambda bs: many_kernels(np.tile(w, (len(bs), 1, 1, 1, 1)), bs), b, dout)
    return dx, dw, db


def numerical_max_pool2d_backward(dout, x, size, stride) -> np.ndarray:
    """dx (N,C,H,W) of sum(max_pool2d(x) * dout) by central differences."""
    x = np.asarray(x, dtype=np.float64)

    def many(xs):
        out = max_pool2d(xs.reshape(-1, *x.shape[1:]), size, stride)
        return out.reshape(len(xs), *x.shape[:1], *out.shape[1:])

    return numerical_gradient(many, x, dout)

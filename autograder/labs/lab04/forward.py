"""The grader's own forward pass of a trained Keras network (lab 04), in NumPy, from the layers and weights the kernel
reported (:func:`autograder.kernel.probes.keras_facts.layer_specs`, ``model_weights``).

A check that only took the kernel's word for the classes a model predicts could be given any classifier's answers
(issue 18.5): the grader runs the reported weights itself on a sample of its test images and asks that they predict
what the kernel said. Only the layers a plain image classifier is made of are known here; inputs are channels-last
(N, H, W, C) or flat (N, D), float32, as Keras computes.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

IDENTITY_AT_INFERENCE = {"Dropout", "SpatialDropout2D", "GaussianNoise", "GaussianDropout", "AlphaDropout",
                         "ActivityRegularization"}
KNOWN = {"Dense", "Conv2D", "MaxPooling2D", "AveragePooling2D", "GlobalAveragePooling2D", "GlobalMaxPooling2D",
         "Flatten", "Reshape", "Rescaling", "BatchNormalization", "Activation", "ReLU", "Softmax",
         *IDENTITY_AT_INFERENCE}


class UnknownNetwork(ValueError):
    """The reported layers are not ones this forward pass knows, or do not fit their weights."""


def activation(name: str | None, z: np.ndarray) -> np.ndarray:
    """Keras's activation ``name`` (None or "linear": none) applied to z (any shape; softmax over the last axis)."""
    if name in (None, "linear"):
        return z
    if name == "relu":
        return np.maximum(z, 0)
    if name == "softmax":
        e = np.exp(z - z.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)
    if name == "sigmoid":
        return 0.5 * (1 + np.tanh(0.5 * z))
    if name == "tanh":
        return np.tanh(z)
    raise UnknownNetwork(f"activation {name!r}")


def _pair(value, default: int) -> tuple[int, int]:
    if value is None:
        return default, default
    return (int(value), int(value)) if np.isscalar(value) else (int(value[0]), int(value[1]))


def _same_padding(x: np.ndarray, window: tuple[int, int], strides: tuple[int, int]) -> np.ndarray:
    """x (N, H, W, C) zero-padded as Keras's padding="same": the output has ceil(H / stride) rows."""
    pads = []
    for size, k, s in zip(x.shape[1:3], window, strides, strict=True):
        total = max((-(-size // s) - 1) * s + k - size, 0)
        pads.append((total // 2, total - total // 2))
    return np.pad(x, ((0, 0), *pads, (0, 0)))


def conv2d(x: np.ndarray, kernel: np.ndarray, bias: np.ndarray | None, strides: tuple[int, int],
           padding: str) -> np.ndarray:
    """x (N, H, W, C), kernel (kh, kw, C, F), bias (F,) or None -> (N, H', W', F): Keras's Conv2D (a
    cross-correlation), "valid" or "same" padding."""
    kh, kw, c, f = kernel.shape
    if padding == "same":
        x = _same_padding(x, (kh, kw), strides)
    windows = sliding_window_view(x, (kh, kw), axis=(1, 2))[:, ::strides[0], ::strides[1]]  # (N, H', W', C, kh, kw)
    n, h, w = windows.shape[:3]
    cols = windows.transpose(0, 1, 2, 4, 5, 3).reshape(n * h * w, kh * kw * c)
    out = (cols @ kernel.reshape(kh * kw * c, f)).reshape(n, h, w, f)
    return out if bias is None else out + bias


def pool2d(x: np.ndarray, size: tuple[int, int], strides: tuple[int, int], padding: str, reduce) -> np.ndarray:
    """x (N, H, W, C) -> (N, H', W', C): each size window reduced (np.max, np.mean), "valid" padding (Keras's default;
    "same" pads with the window's own values for max, and counts only real values for the mean, which this
    leaves to the "valid" case)."""
    if padding != "valid":
        raise UnknownNetwork("pooling with padding='same'")
    windows = sliding_window_view(x, size, axis=(1, 2))[:, ::strides[0], ::strides[1]]  # (N, H', W', C, ph, pw)
    return reduce(windows, axis=(4, 5))


def _layer(spec: dict, weights: list[np.ndarray], x: np.ndarray) -> np.ndarray:
    kind = spec["kind"]
    if kind in IDENTITY_AT_INFERENCE:
        return x
    if kind == "Dense":
        out = np.tensordot(x, weights[0], axes=([-1], [0]))
        return activation(spec.get("activation"), out + weights[1] if len(weights) > 1 else out)
    if kind == "Conv2D":
        if x.ndim != 4 or spec.get("data_format", "channels_last") != "channels_last":
            raise UnknownNetwork("Conv2D on inputs that are not (N, H, W, C)")
        out = conv2d(x, weights[0], weights[1] if len(weights) > 1 else None, _pair(spec.get("strides"), 1),
                     spec.get("padding", "valid"))
        return activation(spec.get("activation"), out)
    if kind in ("MaxPooling2D", "AveragePooling2D"):
        size = _pair(spec.get("pool_size"), 2)
        strides = _pair(spec.get("strides"), 0) if spec.get("strides") is not None else size
        return pool2d(x, size, strides, spec.get("padding", "valid"), np.max if kind == "MaxPooling2D" else np.mean)
    if kind in ("GlobalAveragePooling2D", "GlobalMaxPooling2D"):
        return (np.mean if kind == "GlobalAveragePooling2D" else np.max)(x, axis=(1, 2))
    if kind == "Flatten":
        return x.reshape(len(x), -1)
    if kind == "Reshape":
        return x.reshape(len(x), *spec["target_shape"])
    if kind == "Rescaling":
        return x * np.float32(spec["scale"]) + np.float32(spec["offset"])
    if kind == "BatchNormalization":
        center, scale = spec.get("center", True), spec.get("scale", True)
        gamma = weights[0] if scale else 1.0
        beta = weights[int(scale)] if center else 0.0
        mean, var = weights[-2], weights[-1]
        return (x - mean) / np.sqrt(var + np.float32(spec.get("epsilon", 1e-3))) * gamma + beta
    if kind == "ReLU":
        return np.maximum(x, 0)
    if kind in ("Activation", "Softmax"):
        return activation(spec.get("activation", "softmax"), x)
    raise UnknownNetwork(f"a {kind} layer")


def describe(layers: Sequence[dict]) -> list[str]:
    """The layers (:func:`autograder.kernel.probes.keras_facts.layer_specs`) in a compact form, e.g.
    "Conv2D(32, 3x3, relu)", an activation layer merged into the layer before it: what the structure checks compare
    (``reference.MLP_LAYERS``, ``CNN_LAYERS``), and what the network the grader runs is held to."""
    out: list[str] = []
    for spec in layers:
        kind = spec["kind"]
        act = {"Activation": spec.get("activation"), "ReLU": "relu", "Softmax": "softmax"}.get(kind)
        if kind in ("Activation", "ReLU", "Softmax"):
            if out and out[-1].endswith(", linear)"):
                out[-1] = out[-1][: -len("linear)")] + f"{act})"
            else:
                out.append(f"Activation({act})")
        elif kind == "Dense":
            out.append(f"Dense({spec.get('units')}, {spec.get('activation')})")
        elif kind == "Conv2D":
            out.append(f"Conv2D({spec.get('filters')}, {'x'.join(str(k) for k in _pair(spec.get('kernel_size'), 1))}, "
                       f"{spec.get('activation')})")
        elif kind == "MaxPooling2D":
            out.append(f"MaxPooling2D({'x'.join(str(k) for k in _pair(spec.get('pool_size'), 2))})")
        elif kind == "Dropout":
            out.append(f"Dropout({float(spec.get('rate', 0)):g})")
        else:
            out.append(kind)
    return out


def forward(layers: Sequence[dict], weights: Sequence[np.ndarray], x: np.ndarray, batch: int = 64) -> np.ndarray:
    """The network's outputs (N, K) for inputs x (N, ...), float32, ``batch`` images at a time; the layers in order
    (each ``{"kind", "weights": how many arrays, config...}``), their weights concatenated as Keras's get_weights.
    UnknownNetwork if a layer is not known here or the weights do not fit the layers."""
    if sum(int(spec["weights"]) for spec in layers) != len(weights):
        raise UnknownNetwork(f"{len(weights)} weight arrays for layers that hold {sum(s['weights'] for s in layers)}")
    unknown = sorted({spec["kind"] for spec in layers} - KNOWN)
    if unknown:
        raise UnknownNetwork(f"layers {unknown}")
    weights = [np.asarray(w, dtype=np.float32) for w in weights]
    out = []
    for start in range(0, len(x), batch):
        h, used = np.asarray(x[start:start + batch], dtype=np.float32), 0
        for spec in layers:
            own = weights[used:used + int(spec["weights"])]
            used += int(spec["weights"])
            try:
                h = _layer(spec, own, h)
            except (ValueError, IndexError, KeyError, TypeError) as exc:
                if isinstance(exc, UnknownNetwork):
                    raise
                raise UnknownNetwork(f"{spec['kind']}: {exc}") from exc
        out.append(h)
    return np.concatenate(out)

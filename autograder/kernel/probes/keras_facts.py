"""What the kernel can say of a Keras model and the arrays around it, for any lab that trains one (lab 04 today):
arrays as NumPy whatever Keras's backend, the model's outputs through Keras's own ``Model.predict``, its layers in
a compact form. Plain data out; nothing here knows a right answer or a bar."""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np

from autograder.kernel.compare import CheckFailure
from autograder.kernel.transcript import DATA_DTYPES

PREDICT_BATCH = 256


def keras_module():
    import keras  # imported lazily: the kernel has it already, the grader's replay needs none

    return keras


def numpy_array(value: Any) -> np.ndarray:
    """A NumPy array, a TensorFlow tensor or a torch tensor (Keras's backends) as a NumPy array."""
    if hasattr(value, "detach"):  # a torch tensor (Keras's torch backend)
        value = value.detach().cpu().numpy()
    elif not isinstance(value, np.ndarray) and hasattr(value, "numpy"):  # a TensorFlow tensor
        value = value.numpy()
    return np.asarray(value)


def array_facts(value: Any) -> dict:
    """An array the student made: its shape and dtype, and its values when they are plain numbers (``"array"``,
    else None). A TensorFlow or torch tensor counts as the array it holds."""
    arr = numpy_array(value)
    return {"shape": tuple(int(n) for n in arr.shape), "dtype": str(arr.dtype),
            "array": arr if str(arr.dtype) in DATA_DTYPES else None}


def require_model(model: Any, label: str) -> None:
    """What the kernel needs to run ``model``: a Keras model."""
    keras = keras_module()
    if not isinstance(model, keras.Model):
        raise CheckFailure(f"{label}: Keras のモデル (keras.Model / keras.Sequential) を返してください / must be a "
                           f"Keras model (keras.Model or keras.Sequential), got {type(model).__name__}")


def outputs_of(model: Any, x: np.ndarray, label: str, own: bool = False) -> np.ndarray:
    """The model's outputs for ``x`` (inference mode) as a float64 array; errors become CheckFailures. ``own``:
    through Keras's ``Model.predict``, whatever the model's class or instance puts in its place."""
    predict = partial(keras_module().Model.predict, model) if own else model.predict
    try:
        out = predict(x, batch_size=PREDICT_BATCH, verbose=0)
    except Exception as exc:
        raise CheckFailure(
            f"{label}: 予測 (model.predict) でエラーが発生しました / model.predict raised an error\n"
            f"  {type(exc).__name__}: {exc}"
        ) from exc
    return numpy_array(out).astype(np.float64)


def _activation_name(fn: Any) -> str:
    return getattr(fn, "__name__", type(fn).__name__).lower()


def describe_layers(model: Any) -> list[str]:
    """The model's layers in a compact form, e.g. "Conv2D(32, 3x3, relu)"; a separate activation layer is merged."""
    keras = keras_module()
    out: list[str] = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        kind = type(layer).__name__
        activation = _activation_name(layer.activation) if hasattr(layer, "activation") else None
        if isinstance(layer, keras.layers.Activation):
            act = _activation_name(layer.activation)
        elif isinstance(layer, keras.layers.ReLU):
            act = "relu"
        elif isinstance(layer, keras.layers.Softmax):
            act = "softmax"
        else:
            act = None
        if act is not None:  # an activation layer after a Dense/Conv2D without one
            if out and out[-1].endswith(", linear)"):
                out[-1] = out[-1][: -len("linear)")] + f"{act})"
                continue
            out.append(f"Activation({act})")
            continue
        if isinstance(layer, keras.layers.Dense):
            out.append(f"Dense({layer.units}, {activation})")
        elif isinstance(layer, keras.layers.Conv2D):
            k = "x".join(str(s) for s in layer.kernel_size)
            out.append(f"Conv2D({layer.filters}, {k}, {activation})")
        elif isinstance(layer, keras.layers.MaxPooling2D):
            out.append(f"MaxPooling2D({'x'.join(str(s) for s in layer.pool_size)})")
        elif isinstance(layer, keras.layers.Dropout):
            out.append(f"Dropout({layer.rate:g})")
        else:
            out.append(kind)
    return out

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


# What of a layer's configuration the grader's forward pass needs (autograder.labs.lab04.forward); plain values only.
LAYER_KEYS = ("activation", "strides", "padding", "pool_size", "data_format", "use_bias", "target_shape", "scale",
              "offset", "center", "epsilon", "axis", "units", "filters", "kernel_size", "rate")
WEIGHTS_MAX = 4_000_000  # values: the exercise's CNN has 1.2 million; a bigger model is sent without its weights


def _plain(value: Any) -> Any:
    """A configuration value as plain data: a serialized object (an activation as a dict) by its name."""
    if isinstance(value, dict):
        config = value.get("config")
        return _plain((config.get("name") if isinstance(config, dict) else config) or value.get("class_name"))
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value if isinstance(value, (str, int, float, bool)) or value is None else str(value)


def _function_name(fn: Any) -> str:
    return getattr(fn, "__name__", type(fn).__name__).lower()


def _config(layer: Any) -> dict:
    """The layer's configuration; read from its attributes where Keras cannot serialize it (an activation given as
    a lambda has no source to save)."""
    try:
        return layer.get_config()
    except Exception:
        return {key: getattr(layer, key) for key in LAYER_KEYS if hasattr(layer, key)}


def layer_specs(model: Any) -> list[dict]:
    """Each layer of ``model`` in order (its input layer left out): its class name, how many weight arrays it holds,
    and the configuration keys of :data:`LAYER_KEYS` it has."""
    keras = keras_module()
    specs = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        config = _config(layer)
        spec = {"kind": type(layer).__name__, "weights": len(layer.weights)}
        spec.update({key: _plain(config[key]) for key in LAYER_KEYS if key in config})
        if callable(getattr(layer, "activation", None)):  # the function itself: its config may be its source code
            spec["activation"] = _function_name(layer.activation)
        specs.append(spec)
    return specs


def model_weights(model: Any) -> list[np.ndarray] | None:
    """``model.get_weights()`` (every layer's, in order, non-trainable ones included) as float32 arrays; None past
    :data:`WEIGHTS_MAX` values."""
    weights = [numpy_array(w).astype(np.float32) for w in model.get_weights()]
    return weights if sum(w.size for w in weights) <= WEIGHTS_MAX else None

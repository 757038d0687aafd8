"""Hidden checks for lab 04, "MNIST with Keras" (seeds 001: mnist_cnn.py, and 003: the 784-100-100-100-10 MLP).

Each ``check_*`` takes the student's function, or what the notebook's locked cells made with the
student's functions (the trained models, the training data, the measured training time), and nothing
else. The function checks run the student's code on grader-chosen inputs; the model checks load the
test set themselves (:func:`autograder.datasets.mnist.load`), turn it into model inputs with the
student's own ``preprocess`` and measure the student's trained model on it: the accuracy the notebook
prints is never trusted.

Every check is :func:`~autograder.transcript.judged`: what needs the student's objects (building and
training models, ``predict``, figures, the big arrays) runs in :func:`~autograder.transcript.observe`
thunks that return plain data (outputs, layer descriptions, a History's logs, predicted classes), and
the verdict is reached from that data alone, so that the grader's replay reaches it again in its own
process, with its own references, thresholds and test labels.

Which thresholds apply is decided by the data the grader provides (:func:`autograder.datasets.mnist.profile`):
Keras's real MNIST, or the smaller offline stand-in made from scikit-learn's digits (see
:mod:`autograder.datasets.mnist`). Both sets of thresholds are in :data:`THRESHOLDS`, with the figures
they were set from.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np

from autograder.checks import (
    CheckFailure,
    assert_close,
    case_rng,
    describe_array,
    report_metric,
    run_student,
)
from autograder.datasets import REAL, STANDIN, mnist
from autograder.transcript import DATA_DTYPES, judged, observe

# ----------------------------------------------------------------- constants (stated once)

# The notebook's settings cell, which train() and the model checks rely on.
DATASETS = ("mnist",)  # what these checks load (the grader reports its profile)
NUM_CLASSES = 10
VALIDATION_SPLIT = 0.2
LEARNING_RATE = 0.001
PATIENCE = 3


@dataclass(frozen=True)
class Thresholds:
    """What a submission must reach on one data profile (accuracy on the grader's test images; seconds)."""

    mlp_accuracy: float  # MLP test accuracy must be at least this
    cnn_accuracy: float  # CNN test accuracy must be at least this
    mlp_train_s: float  # the notebook's MLP training (locked cell, timed) must take at most this
    cnn_train_s: float  # the same for the CNN


THRESHOLDS = {
    # Keras's MNIST (60000 / 10000). Not measured here (it cannot be downloaded on these machines):
    # the figures are the seeds' and Keras's; confirm with `autograder calibrate lab04` on the real data.
    REAL: Thresholds(
        mlp_accuracy=0.95,  # seed 003: 0.9696 (Adam lr 0.01, patience 10); a linear softmax model gets about 0.92
        cnn_accuracy=0.975,  # seed 001: 0.9871 after 2 epochs (mnist_cnn.py); Keras's example 0.9925 after 12
        mlp_train_s=300,  # estimated from the stand-in's speed per image: about 60-90 s on one CPU thread
        cnn_train_s=600,  # estimated: about 200-250 s on one CPU thread for 2 epochs; the per-cell limit is 600 s
    ),
    # The stand-in (6000 / 2000 images from load_digits, seed 0). Reference solution, graded on one CPU
    # thread, TensorFlow / torch backend: MLP 0.9045 / 0.9035, CNN 0.9110 / 0.9065. A linear softmax model
    # (Flatten-Dense(10), Adam) gets 0.777 / 0.798, the majority class 0.100.
    STANDIN: Thresholds(
        mlp_accuracy=0.85,
        cnn_accuracy=0.87,
        mlp_train_s=90,  # reference: 4-12 s
        cnn_train_s=240,  # reference: 17-35 s
    ),
}

# More of the grader's test images than this in the training data means the model was trained on the test
# set (the stand-in's test images are made from other source images, so it has none by construction).
LEAK_MAX = 10

# preprocess is exact arithmetic on float32: x / 255, up to round-off.
PREPROCESS_RTOL = 1e-6
PREPROCESS_ATOL = 1e-7

MLP_UNITS = (100, 100, 100, NUM_CLASSES)
MLP_PARAMS = 99_710  # 784*100+100 + 2*(100*100+100) + 100*10+10
CNN_LAYERS = (  # mnist_cnn.py, as seed 001 ran it
    "Conv2D(32, 3x3, relu)",
    "Conv2D(64, 3x3, relu)",
    "MaxPooling2D(2x2)",
    "Dropout(0.25)",
    "Flatten",
    "Dense(128, relu)",
    "Dropout(0.5)",
    f"Dense({NUM_CLASSES}, softmax)",
)
CNN_PARAMS = 1_199_882  # 320 + 18496 + 9216*128+128 + 128*10+10

# check_train's toy problem: random images with random labels. Nothing can be learnt that carries over to
# the held-out 20 %, so the validation loss soon rises and EarlyStopping must stop the run.
TRAIN_CHECK_SAMPLES = 250
TRAIN_CHECK_EPOCHS = 30
TRAIN_CHECK_BATCH = 25
TRAIN_CHECK_SEED = 404
VAL_LOSS_RTOL = 1e-3  # the grader's recomputed validation loss vs the History's (float32, averaged per batch)

# check_prepared compares this many rows of each array (drawn with the course's salt; the first and the last
# are added) with the grader's own reference: the arrays themselves are too big to leave the kernel.
PREPARED_ROWS = 48


def thresholds(profile: str | None = None) -> Thresholds:
    """The thresholds for a data profile (default: the profile of the data the grader provides)."""
    return THRESHOLDS[profile or mnist.profile()]


def _keras():
    import keras  # imported lazily: the kernel has it already, the check library's tests need not

    return keras


def _rng(seed: int) -> np.random.Generator:
    """The generator of a check's random inputs: ``seed``, with the course's secret salt mixed in while grading."""
    return case_rng(seed)


# ------------------------------------------------------------------------ references


def ref_preprocess(x) -> np.ndarray:
    """uint8 (N, 28, 28) -> float32 (N, 28, 28, 1) in [0, 1]."""
    return (np.asarray(x).astype(np.float32) / np.float32(255.0)).reshape(-1, 28, 28, 1)


def ref_one_hot(labels) -> np.ndarray:
    return np.eye(NUM_CLASSES, dtype=np.float32)[np.asarray(labels, dtype=np.int64)]


def early_stopping_length(val_loss: Sequence[float], epochs: int, patience: int = PATIENCE) -> int:
    """How many epochs Keras's EarlyStopping(monitor="val_loss", patience) lets a run with these losses last."""
    best, wait = None, 0
    for epoch, value in enumerate(val_loss):
        wait += 1
        if best is None or value < best:
            best, wait = value, 0
            continue
        if wait >= patience and epoch > 0:
            return epoch + 1
    return epochs


# ---------------------------------------------------------------- calling the student's code


def _numpy(value: Any) -> np.ndarray:
    if hasattr(value, "detach"):  # a torch tensor (Keras's torch backend)
        value = value.detach().cpu().numpy()
    elif not isinstance(value, np.ndarray) and hasattr(value, "numpy"):  # a TensorFlow tensor
        value = value.numpy()
    return np.asarray(value)


def _array_facts(value: Any) -> dict:
    """What a check judges of an array the student made: its shape and dtype, and its values when they are plain
    numbers (``"array"``, else None). A TensorFlow or torch tensor counts as the array it holds."""
    arr = _numpy(value)
    return {"shape": tuple(int(n) for n in arr.shape), "dtype": str(arr.dtype),
            "array": arr if str(arr.dtype) in DATA_DTYPES else None}


def _stand_in(shape: Sequence[int], dtype: str) -> np.ndarray:
    """An array of ``shape`` and ``dtype`` that takes no memory: compare's message on a wrong shape or a
    non-numeric dtype needs nothing more, so the grader words it as it would for the student's array."""
    return np.broadcast_to(np.zeros((), dtype=np.dtype(dtype)), tuple(shape))


def _require_model(model: Any, label: str) -> None:
    keras = _keras()
    if not isinstance(model, keras.Model):
        raise CheckFailure(f"{label}: Keras のモデル (keras.Model / keras.Sequential) を返してください / must be a "
                           f"Keras model (keras.Model or keras.Sequential), got {type(model).__name__}")


def _outputs(model: Any, x: np.ndarray, label: str) -> np.ndarray:
    """The model's outputs for ``x`` (inference mode) as a float64 array; errors become CheckFailures."""
    try:
        out = model.predict(x, batch_size=256, verbose=0)
    except Exception as exc:
        raise CheckFailure(
            f"{label}: 予測 (model.predict) でエラーが発生しました / model.predict raised an error\n"
            f"  {type(exc).__name__}: {exc}"
        ) from exc
    return _numpy(out).astype(np.float64)


# -------------------------------------------------------------------- preprocess


def preprocess_cases() -> list[tuple[np.ndarray, str]]:
    """The grader's images for check_preprocess (the random ones drawn with the course's salt)."""
    rng = _rng(401)
    ramp = np.tile(np.arange(28, dtype=np.uint8) * 9, (28, 1))[None]  # 0, 9, ..., 243 along each row
    return [
        (rng.integers(0, 256, size=(5, 28, 28), dtype=np.uint8), "5 random images"),
        (ramp, "one image, a grey ramp 0..243"),
        (np.stack([np.zeros((28, 28), np.uint8), np.full((28, 28), 255, np.uint8)]), "black and white images"),
        (rng.integers(0, 256, size=(64, 28, 28), dtype=np.uint8), "64 random images"),
    ]


def _preprocess_facts(fn: Callable, label: str, x: np.ndarray) -> dict:
    """preprocess on a copy of ``x``, in the kernel: whether it changed its argument, and its result's facts."""
    given = x.copy()
    got = run_student(fn, "preprocess", label, given)
    return {"modified": not np.array_equal(given, x), **_array_facts(got)}


@judged
def check_preprocess(fn: Callable) -> None:
    """preprocess(x): uint8 (N, 28, 28) -> float32 (N, 28, 28, 1), x / 255; the input is not changed."""
    name = "preprocess"
    for x, note in preprocess_cases():
        label = f"{name}({describe_array(x)})  [{note}]"
        facts = observe(label, partial(_preprocess_facts, fn, label, x), x)
        if facts["modified"]:
            raise CheckFailure(f"{label}: 引数の配列を書き換えないでください / must not modify its argument "
                               "(make a new array: x.astype('float32') / 255)")
        expected = ref_preprocess(x)
        shape = tuple(facts["shape"])
        if shape != expected.shape:
            hint = ""
            if int(np.prod(shape)) == expected.size:
                hint = ("\n  ヒント: 画素の数は合っています。最後に reshape(-1, 28, 28, 1) で (枚数, 28, 28, 1) にします "
                        "(MLP は最初の Flatten 層で 784 個に並べます)。\n  hint: the number of pixels is right: "
                        "reshape to (N, 28, 28, 1) (the MLP flattens it to 784 in its first layer)")
            raise CheckFailure(f"{label}: 形 (shape) が違います / shape mismatch\n  期待値 expected: {expected.shape}\n"
                               f"  実際   got:      {shape}{hint}")
        if facts["dtype"] != "float32":
            raise CheckFailure(f"{label}: データ型は float32 にしてください / dtype must be float32, got {facts['dtype']} "
                               "(x.astype('float32') / 255)")
        got = facts["array"]  # float32 values: they crossed as data
        if got.size and np.nanmax(got) > 1.5:
            raise CheckFailure(
                f"{label}: 値が 0〜1 に収まっていません (最大 {np.nanmax(got):.4g}): 255 で割ってください / values are not "
                f"in [0, 1] (max {np.nanmax(got):.4g}): divide by 255"
            )
        assert_close(got, expected, rtol=PREPROCESS_RTOL, atol=PREPROCESS_ATOL, name=label)


# -------------------------------------------------------------------- data checks


def _rows(x: Any) -> np.ndarray | None:
    """``x`` as float32 rows of 784 pixels, or None when it is not image-shaped."""
    try:
        arr = _numpy(x)
    except Exception:
        return None
    if arr.dtype == object or arr.ndim == 0 or not len(arr) or arr.size != len(arr) * 784:
        return None
    return np.ascontiguousarray(arr.reshape(len(arr), 784).astype(np.float32))


def count_test_images(x_train: Any, preprocess: Callable | None = None, x_test: np.ndarray | None = None) -> int:
    """How many of the grader's test images are among the rows of ``x_train``.

    The test images are compared as the raw pixels, as x / 255 and (when given) as the student's own
    ``preprocess`` makes them, so that the check does not depend on how the data were normalised.
    """
    rows = _rows(x_train)
    if rows is None:
        return 0
    if x_test is None:
        x_test = mnist.load()[1][0]
    candidates = [x_test.astype(np.float32), ref_preprocess(x_test)]
    if preprocess is not None:
        try:
            candidates.append(_numpy(preprocess(x_test.copy())))
        except Exception:  # a broken preprocess is reported by its own check
            pass
    fingerprints: set[bytes] = set()
    for candidate in candidates:
        cand = _rows(candidate)
        if cand is not None:
            fingerprints.update(row.tobytes() for row in cand)
    return sum(row.tobytes() in fingerprints for row in rows)


def _leak_failure(count: int, what: str) -> CheckFailure:
    return CheckFailure(
        f"{what}: 学習用データ x_train に採点用のテスト画像が {count} 枚含まれています。テストデータで学習すると、"
        "正解率は見たことのない画像に対する性能を表しません。x_train には学習用の画像 (x_train_raw) だけを使ってください / "
        f"the training data x_train contains {count} of the grader's test images: a model trained on the test set "
        "is not measured on unseen images. Build x_train from the training images (x_train_raw) only"
    )


def prepared_rows(count: int, seed: int) -> np.ndarray:
    """The rows of a ``count``-row array that check_prepared compares: the first, the last and random ones."""
    picked = _rng(seed).choice(count, size=min(PREPARED_ROWS, count), replace=False)
    return np.unique(np.concatenate([[0, count - 1], picked])).astype(np.int64)


def _prepared_facts(value: Any, rows: np.ndarray, image: bool) -> dict:
    """One of the notebook's arrays, in the kernel: its shape, dtype, range (images) and the rows ``rows``."""
    arr = _numpy(value)
    facts = {"shape": tuple(int(n) for n in arr.shape), "dtype": str(arr.dtype), "max": None, "max_abs": None,
             "rows": None}
    if image and arr.size and arr.dtype != object:
        facts["max_abs"] = float(np.nanmax(np.abs(arr.astype(np.float64))))
        facts["max"] = float(np.nanmax(arr))
    if arr.dtype.kind in "biufc" and arr.ndim and len(arr) > int(rows.max()):
        picked = arr[rows]
        if str(picked.dtype) not in DATA_DTYPES:  # e.g. float128 or big-endian: as plain numbers
            picked = picked.astype(np.complex128 if picked.dtype.kind == "c" else np.float64)
        facts["rows"] = picked
    return facts


def _notebook_arrays(arrays: dict[str, Any], test_images: np.ndarray, train_rows: np.ndarray,
                     test_rows: np.ndarray) -> dict:
    """check_prepared's facts, in the kernel: how many test images x_train holds, and each array's facts."""
    facts: dict[str, Any] = {"leaked": count_test_images(arrays["x_train"], x_test=test_images)}
    for key, value in arrays.items():
        facts[key] = _prepared_facts(value, train_rows if key.endswith("train") else test_rows, key.startswith("x"))
    return facts


def _judge_prepared(key: str, facts: dict, rows: np.ndarray, images: np.ndarray | None,
                    labels: np.ndarray | None) -> None:
    """check_prepared's verdict on one array, from its facts and the grader's own images or labels."""
    shape = tuple(facts["shape"])
    if images is not None:
        note = f"(preprocess of the {'training' if key == 'x_train' else 'test'} images)"
        expected, full_shape = ref_preprocess(images[rows]), (len(images), 28, 28, 1)
        tolerance = {"rtol": PREPROCESS_RTOL, "atol": PREPROCESS_ATOL}
        if facts["max_abs"] is not None and facts["max_abs"] > 1.5:
            raise CheckFailure(
                f"{key}: 値が 0〜1 に収まっていません (最大 {facts['max']:.4g}): preprocess で変換してください / "
                f"values are not in [0, 1] (max {facts['max']:.4g}): convert the images with preprocess"
            )
    else:
        note = "(one-hot labels)"
        expected, full_shape = ref_one_hot(labels[rows]), (len(labels), NUM_CLASSES)
        tolerance = {}  # assert_close's own: one-hot values are exact
        if len(shape) == 1:
            raise CheckFailure(f"{key}: 正解は one-hot (枚数, 10) にしてください (keras.utils.to_categorical) / the "
                               f"targets must be one-hot, shape (N, 10), got {shape} (keras.utils.to_categorical)")
    if shape != full_shape or facts["rows"] is None:
        # a wrong shape, or not numbers: compare's message on the whole array needs no more than these two facts
        assert_close(_stand_in(shape, facts["dtype"]), _stand_in(full_shape, "float32"), name=f"{key} {note}")
        raise CheckFailure(f"{key} {note}: 数値の配列ではありません / not a numeric array: dtype {facts['dtype']}")
    for row, got, want in zip(rows, facts["rows"], expected, strict=True):
        assert_close(got, want, name=f"{key}[{row}] {note}", **tolerance)


@judged
def check_prepared(x_train, y_train, x_test, y_test) -> None:
    """The notebook's arrays: the training images and labels (and the test ones) as preprocess and one-hot make them.

    They stay in the kernel (too big for a transcript): the grader gets their shapes, dtypes and ranges, how
    many of its test images x_train holds, and the rows it picked of each, which it compares with its own.
    """
    (train_images, train_labels), (test_images, test_labels) = mnist.load()
    train_rows, test_rows = prepared_rows(len(train_images), 405), prepared_rows(len(test_images), 406)
    arrays = {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}
    facts = observe("x_train, y_train, x_test, y_test",
                    partial(_notebook_arrays, arrays, test_images, train_rows, test_rows), train_rows, test_rows)
    if facts["leaked"] > LEAK_MAX:
        raise _leak_failure(facts["leaked"], "x_train")
    for key, images, labels, rows in (("x_train", train_images, None, train_rows),
                                      ("y_train", None, train_labels, train_rows),
                                      ("x_test", test_images, None, test_rows),
                                      ("y_test", None, test_labels, test_rows)):
        _judge_prepared(key, facts[key], rows, images, labels)


# -------------------------------------------------------------------- model structure


def _activation_name(fn: Any) -> str:
    return getattr(fn, "__name__", type(fn).__name__).lower()


def describe_layers(model: Any) -> list[str]:
    """The model's layers in a compact form, e.g. "Conv2D(32, 3x3, relu)"; a separate activation layer is merged."""
    keras = _keras()
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


def _structure_message(label: str, expected: Sequence[str], got: Sequence[str]) -> str:
    return (f"{label}: 層の構成が違います / the layers differ\n"
            f"  期待値 expected: {' -> '.join(expected)}\n  実際   got:      {' -> '.join(got) or '(no layers)'}")


def _check_probabilities(out: np.ndarray, label: str) -> None:
    """The model's outputs for 3 images must be 3 rows of 10 probabilities."""
    if out.shape != (3, NUM_CLASSES):
        raise CheckFailure(f"{label}: 入力 (3, 28, 28, 1) に対する出力の形が違います / output shape for input (3, 28, 28, 1): "
                           f"expected (3, {NUM_CLASSES}), got {out.shape}")
    if not np.isfinite(out).all() or (out < 0).any() or not np.allclose(out.sum(axis=1), 1.0, atol=1e-4):
        raise CheckFailure(f"{label}: 出力が確率になっていません (各行の和が 1): 出力層の活性化関数は softmax です / the outputs "
                           f"are not probabilities (rows summing to 1): the output layer's activation is softmax; "
                           f"row sums {np.round(out.sum(axis=1), 4).tolist()}")


def _build(fn: Callable, name: str, label: str, held: dict) -> None:
    """Build the student's model, in the kernel; it waits in ``held`` for the next observations."""
    model = run_student(fn, name, label)
    _require_model(model, label)
    held["model"] = model


def _built_outputs(fn: Callable, name: str, held: dict) -> np.ndarray:
    """Build the student's model and observe its outputs on 3 random images of the grader's.

    ``held``: the student's model from one observation to the next, in the kernel (the replay runs none)."""
    label = f"{name}()"
    observe(label, partial(_build, fn, name, label, held))
    x = _rng(402).uniform(0.0, 1.0, size=(3, 28, 28, 1)).astype(np.float32)
    return observe(f"{label}(x)", lambda: _outputs(held["model"], x, f"{label}(x of shape (3, 28, 28, 1))"), x)


def _structure(held: dict) -> dict:
    """The held model's layers (describe_layers), its Dense layers' units and its parameter count, as data."""
    keras, model = _keras(), held["model"]
    return {"layers": describe_layers(model), "params": int(model.count_params()),
            "dense_units": [int(layer.units) for layer in model.layers if isinstance(layer, keras.layers.Dense)]}


def _require_new_model_each_call(fn: Callable, name: str, held: dict) -> None:
    label = f"{name}()"
    if observe(f"{label} again", lambda: run_student(fn, name, label) is held["model"]):
        raise CheckFailure(f"{label}: 呼ぶたびに新しいモデルを作って返してください / must build a new model on every "
                           "call, got the same object twice")


@judged
def check_build_mlp(fn: Callable) -> None:
    """build_mlp(): a new Keras model 784-100-100-100-10, ReLU hidden layers, softmax output, for (N, 28, 28, 1) inputs."""
    name, label = "build_mlp", "build_mlp()"
    held: dict[str, Any] = {}
    _check_probabilities(_built_outputs(fn, name, held), label)
    facts = observe(f"{label}'s layers", partial(_structure, held))  # after predict: the model is built
    layers = facts["layers"]
    units = tuple(facts["dense_units"])
    expected = ["Flatten", *(f"Dense({u}, relu)" for u in MLP_UNITS[:-1]), f"Dense({NUM_CLASSES}, softmax)"]
    if units != MLP_UNITS:
        raise CheckFailure(f"{_structure_message(label, expected, layers)}\n  全結合層のユニット数 Dense units: expected "
                           f"{list(MLP_UNITS)}, got {list(units)}")
    if [entry for entry in layers if entry.startswith("Dense")] != expected[1:]:
        raise CheckFailure(f"{_structure_message(label, expected, layers)}\n  中間層は ReLU、出力層は softmax です / "
                           "hidden layers use ReLU, the output layer softmax")
    params = facts["params"]
    if params != MLP_PARAMS:
        raise CheckFailure(f"{label}: パラメータの数が違います / number of parameters: expected {MLP_PARAMS:,}, got "
                           f"{params:,} (入力は 28*28 = 784 個 / 784 inputs)")
    _require_new_model_each_call(fn, name, held)


@judged
def check_build_cnn(fn: Callable) -> None:
    """build_cnn(): mnist_cnn's network, Conv32-Conv64-MaxPool-Dropout-Flatten-Dense128-Dropout-Dense10."""
    name, label = "build_cnn", "build_cnn()"
    held: dict[str, Any] = {}
    _check_probabilities(_built_outputs(fn, name, held), label)
    facts = observe(f"{label}'s layers", partial(_structure, held))  # after predict: the model is built
    layers = facts["layers"]
    if tuple(layers) != CNN_LAYERS:
        raise CheckFailure(_structure_message(label, CNN_LAYERS, layers))
    params = facts["params"]
    if params != CNN_PARAMS:
        raise CheckFailure(f"{label}: パラメータの数が違います / number of parameters: expected {CNN_PARAMS:,}, got "
                           f"{params:,} (畳み込みは padding なし (valid) / the convolutions use no padding)")
    _require_new_model_each_call(fn, name, held)


# -------------------------------------------------------------------- training


def train_check_problem() -> tuple[np.ndarray, np.ndarray]:
    """Random images (TRAIN_CHECK_SAMPLES, 28, 28, 1) in [0, 1] with random one-hot labels."""
    rng = _rng(TRAIN_CHECK_SEED)
    x = rng.uniform(0.0, 1.0, size=(TRAIN_CHECK_SAMPLES, 28, 28, 1)).astype(np.float32)
    y = ref_one_hot(rng.integers(0, NUM_CLASSES, size=TRAIN_CHECK_SAMPLES))
    return x, y


def _grader_model():
    """A small model of the grader's (seeded initial weights) for the train check."""
    keras = _keras()
    keras.utils.set_random_seed(TRAIN_CHECK_SEED)
    return keras.Sequential([
        keras.Input(shape=(28, 28, 1)),
        keras.layers.Flatten(),
        keras.layers.Dense(64, activation="relu"),
        keras.layers.Dense(NUM_CLASSES, activation="softmax"),
    ])


def _cross_entropy(model: Any, x: np.ndarray, y: np.ndarray) -> float:
    p = np.clip(_outputs(model, x, "model(x)"), 1e-7, 1 - 1e-7)
    return float(np.mean(-np.sum(y * np.log(p), axis=1)))


def _plain(value: Any) -> Any:
    """A setting as data: None, numbers and strings as they are, anything else by its repr."""
    return value if value is None or isinstance(value, (int, float, str, np.integer, np.floating)) else repr(value)


def _loss_name(loss: Any) -> str:
    """The name a model was compiled with for its loss: "categorical_crossentropy", CategoricalCrossentropy's ..."""
    return str(loss if isinstance(loss, str) else getattr(loss, "name", getattr(loss, "__name__", type(loss).__name__)))


def _train_facts(fn: Callable, label: str, x: np.ndarray, y: np.ndarray) -> dict:
    """The student's train on a model of the grader's and (x, y), in the kernel: what check_train judges, as data.

    What train returned; for a History also whether the model's weights changed, its optimizer's class and
    (Adam's) learning rate, its loss's name, the History's logs, epochs and steps, and the validation loss of
    the trained model on the last VALIDATION_SPLIT of (x, y) as the grader measures it (or why it could not).
    """
    keras = _keras()
    model = _grader_model()
    before = [w.copy() for w in model.get_weights()]
    history = run_student(fn, "train", label, model, x.copy(), y.copy(), epochs=TRAIN_CHECK_EPOCHS,
                           batch_size=TRAIN_CHECK_BATCH)
    facts: dict[str, Any] = {"returned": type(history).__name__,
                             "is_history": isinstance(history, keras.callbacks.History)}
    if not facts["is_history"]:
        return facts
    optimizer = getattr(model, "optimizer", None)
    params = getattr(history, "params", None) or {}
    facts.update(
        weights_changed=not all(np.array_equal(a, b) for a, b in zip(before, model.get_weights(), strict=True)),
        optimizer=type(optimizer).__name__ if optimizer is not None else None,
        learning_rate=float(_numpy(optimizer.learning_rate)) if type(optimizer).__name__ == "Adam" else None,
        loss=_loss_name(getattr(model, "loss", None)),
        logs={str(key): [float(v) for v in values] for key, values in history.history.items()},
        epochs=_plain(params.get("epochs")),
        steps=_plain(params.get("steps")),
        val_loss=None, val_loss_error=None,
    )
    split = int(np.floor(TRAIN_CHECK_SAMPLES * (1 - VALIDATION_SPLIT)))  # fit's validation_split holds out the rest
    try:
        facts["val_loss"] = _cross_entropy(model, x[split:], y[split:])
    except CheckFailure as exc:  # judged after the History's own faults, as before
        facts["val_loss_error"] = str(exc)
    return facts


@judged
def check_train(fn: Callable) -> None:
    """train(model, x, y, epochs, batch_size): Adam(LEARNING_RATE), categorical cross-entropy, accuracy, the last
    VALIDATION_SPLIT held out, EarlyStopping(val_loss, PATIENCE, restore_best_weights); the model passed in is trained.

    The training runs in the kernel on a model and a toy problem of the grader's (random images and labels,
    drawn with the course's salt); the verdict is reached from the facts it leaves (:func:`_train_facts`).
    """
    name = "train"
    x, y = train_check_problem()
    label = (f"{name}(model, x {describe_array(x)}, y {describe_array(y)}, epochs={TRAIN_CHECK_EPOCHS}, "
             f"batch_size={TRAIN_CHECK_BATCH})  [random labels: the validation loss soon rises]")
    facts = observe(label, partial(_train_facts, fn, label, x, y), x, y)
    if not facts["is_history"]:
        raise CheckFailure(f"{label}: model.fit が返す History を return してください / must return the History that "
                           f"model.fit returns, got {facts['returned']}")
    if not facts["weights_changed"]:
        raise CheckFailure(f"{label}: 渡されたモデルの重みが変わっていません。関数の中で新しいモデルを作らず (clone_model も"
                           "使わず)、渡された model そのものを fit してください / the weights of the model passed in did not "
                           "change: fit the model passed in, not a new one (no build_... or clone_model inside train)")
    # the model passed in was compiled as asked
    optimizer = facts["optimizer"]
    if optimizer != "Adam":
        raise CheckFailure(f"{label}: 渡されたモデルを Adam で compile してください / compile the model passed in with "
                           f"Adam, got {optimizer if optimizer is not None else 'no optimizer'}")
    lr = float(facts["learning_rate"])
    if not np.isclose(lr, LEARNING_RATE, rtol=1e-6):
        raise CheckFailure(f"{label}: Adam の学習率は LEARNING_RATE ({LEARNING_RATE:g}) にしてください / Adam's "
                           f"learning rate must be LEARNING_RATE ({LEARNING_RATE:g}), got {lr:g}")
    loss_name = facts["loss"]
    if loss_name.lower() not in ("categorical_crossentropy", "categoricalcrossentropy"):
        raise CheckFailure(f"{label}: 損失関数は categorical_crossentropy にしてください (正解が one-hot なので) / the loss "
                           f"must be categorical_crossentropy (the targets are one-hot), got {loss_name}")
    logs = facts["logs"]
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        if key not in logs:
            why = ("metrics=[\"accuracy\"] で compile していますか / compile with metrics=[\"accuracy\"]"
                   if "accuracy" in key else
                   "validation_split=VALIDATION_SPLIT で検証データを分けていますか / hold out validation data "
                   "with validation_split=VALIDATION_SPLIT")
            raise CheckFailure(f"{label}: History に {key!r} がありません / the History has no {key!r} "
                               f"(it has {sorted(logs)}): {why}")
    if facts["epochs"] != TRAIN_CHECK_EPOCHS:
        raise CheckFailure(f"{label}: fit に epochs を渡してください / pass epochs to fit: the run was set up for "
                           f"{facts['epochs']} epochs, expected {TRAIN_CHECK_EPOCHS}")
    n_fit = int(np.floor(TRAIN_CHECK_SAMPLES * (1 - VALIDATION_SPLIT)))
    steps = int(np.ceil(n_fit / TRAIN_CHECK_BATCH))
    if facts["steps"] == int(np.ceil(TRAIN_CHECK_SAMPLES / TRAIN_CHECK_BATCH)):
        # every sample was trained on, yet there are validation losses: they came from validation_data
        raise CheckFailure(
            f"{label}: 渡した {TRAIN_CHECK_SAMPLES} 件すべてで学習しています。検証データは validation_data ではなく "
            f"validation_split=VALIDATION_SPLIT で分けてください (テストデータで検証していませんか？) / all "
            f"{TRAIN_CHECK_SAMPLES} samples passed in were trained on: hold out the validation data with "
            f"validation_split=VALIDATION_SPLIT, not validation_data (validating on the test set?)"
        )
    if facts["steps"] != steps:
        raise CheckFailure(
            f"{label}: 1 エポックの更新回数が違います / wrong number of steps per epoch: expected {steps} "
            f"({n_fit} training samples after holding out {VALIDATION_SPLIT:.0%} / batch_size {TRAIN_CHECK_BATCH}), "
            f"got {facts['steps']}: fit(..., batch_size=batch_size, validation_split=VALIDATION_SPLIT)?"
        )
    val_loss = [float(v) for v in logs["val_loss"]]
    ran = len(val_loss)
    expected_len = early_stopping_length(val_loss, TRAIN_CHECK_EPOCHS)
    if ran != expected_len:
        raise CheckFailure(
            f"{label}: EarlyStopping の止まり方が違います / the run did not stop as EarlyStopping(monitor=\"val_loss\", "
            f"patience=PATIENCE={PATIENCE}) stops it: it ran {ran} epochs, the validation losses "
            f"{np.round(val_loss, 4).tolist()} stop it after {expected_len}\n"
            "  ヒント: callbacks=[keras.callbacks.EarlyStopping(monitor=\"val_loss\", patience=PATIENCE, "
            "restore_best_weights=True)] を fit に渡していますか？ / hint: is that callback passed to fit?"
        )
    if facts["val_loss_error"] is not None:
        raise CheckFailure(facts["val_loss_error"])
    grader_val = facts["val_loss"]
    best = min(val_loss)
    if not np.isclose(grader_val, best, rtol=VAL_LOSS_RTOL, atol=1e-5):
        if any(np.isclose(grader_val, v, rtol=VAL_LOSS_RTOL, atol=1e-5) for v in val_loss):
            why = ("学習後のモデルが最良のエポックの重みに戻っていません: restore_best_weights=True を付けてください / the "
                   "trained model does not have the weights of its best epoch: add restore_best_weights=True")
        else:
            why = ("History の val_loss が、渡した (x, y) の最後の 20 % で測った損失ではありません: validation_data ではなく "
                   "validation_split=VALIDATION_SPLIT を使ってください (テストデータで検証していませんか？) / the History's "
                   "val_loss is not the loss on the last 20 % of the (x, y) passed in: use "
                   "validation_split=VALIDATION_SPLIT, not validation_data (validating on the test set?)")
        raise CheckFailure(f"{label}: {why}\n  採点側で測った検証データの損失 grader's validation loss: {grader_val:.5g}; "
                           f"History の最小 best val_loss: {best:.5g}")


# -------------------------------------------------------------------- plot


def fake_history_values(epochs: int = 4) -> dict[str, np.ndarray]:
    """Made-up, distinct learning curves, as a History holds them (a little noise drawn with the course's salt)."""
    t = np.arange(epochs, dtype=np.float64)
    noise = _rng(403).uniform(0.0, 0.02, size=(4, epochs))  # below the curves' smallest distance (0.05)
    return {
        "loss": 1.2 * 0.6 ** t + 0.05 + noise[0],
        "accuracy": 0.95 - 0.5 * 0.5 ** t + noise[1],
        "val_loss": 1.0 * 0.7 ** t + 0.15 + noise[2],
        "val_accuracy": 0.9 - 0.4 * 0.55 ** t + noise[3],
    }


def fake_history(values: dict[str, np.ndarray]):
    """A keras History holding ``values``, as train returns it."""
    keras = _keras()
    history = keras.callbacks.History()
    history.history = {key: list(curve) for key, curve in values.items()}
    epochs = len(next(iter(values.values())))
    history.epoch = list(range(epochs))
    history.params = {"epochs": epochs, "steps": 10, "verbose": 0}
    return history


def _ydata(line: Any) -> np.ndarray:
    """A plotted line's y values as numbers (none when they are not numbers)."""
    try:
        return np.asarray(line.get_ydata(), dtype=np.float64)
    except (TypeError, ValueError):
        return np.zeros(0)


def _figure_facts(fn: Callable, label: str, values: dict[str, np.ndarray]) -> dict:
    """plot_history on a History of ``values``, in the kernel: what it returned and, for a Figure, each axes'
    lines (their y values) and legend, and whether the figure has a legend of its own. Closes what it opened."""
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    before = set(plt.get_fignums())
    try:
        fig = run_student(fn, "plot_history", label, fake_history(values))
        if not isinstance(fig, Figure):
            return {"returned": type(fig).__name__, "axes": None, "figure_legend": False}
        axes = [{"lines": [_ydata(line) for line in ax.get_lines()], "legend": ax.get_legend() is not None}
                for ax in fig.get_axes()]
        return {"returned": "Figure", "axes": axes, "figure_legend": bool(fig.legends)}
    finally:
        for number in set(plt.get_fignums()) - before:
            plt.close(number)


def _curves_in(lines: Sequence[np.ndarray], curves: dict[str, np.ndarray]) -> set[str]:
    """The History's curves among an axes' lines (by their y values)."""
    found = set()
    for ydata in lines:
        for key, values in curves.items():
            if ydata.shape == values.shape and np.allclose(ydata, values, rtol=1e-6, atol=1e-9):
                found.add(key)
    return found


@judged
def check_plot_history(fn: Callable) -> None:
    """plot_history(history) returns a Figure: one axes with loss and val_loss, another with accuracy and
    val_accuracy, each with a legend."""
    name = "plot_history"
    curves = fake_history_values()
    label = f"{name}(history)  [a History with {len(curves['loss'])} epochs of made-up values]"
    facts = observe(label, partial(_figure_facts, fn, label, curves), curves)
    if facts["axes"] is None:
        raise CheckFailure(f"{label}: matplotlib の Figure を return してください (fig, axes = plt.subplots(1, 2)) / "
                           f"must return the matplotlib Figure, got {facts['returned']}")
    panels = [(axes["legend"], _curves_in(axes["lines"], curves)) for axes in facts["axes"]]
    for pair, what in ((("loss", "val_loss"), "損失 / loss"), (("accuracy", "val_accuracy"), "正解率 / accuracy")):
        match = [legend for legend, found in panels if set(pair) <= found]
        if not match:
            drawn = {k for _, found in panels for k in found}
            raise CheckFailure(
                f"{label}: {what} のグラフに {pair[0]} と {pair[1]} の 2 本の線を描いてください / draw {pair[0]} and "
                f"{pair[1]} (history.history[...]) in one plot\n  見つかった線 curves found: {sorted(drawn) or 'none'} "
                f"in {len(panels)} axes"
            )
        if not any(match) and not facts["figure_legend"]:
            raise CheckFailure(f"{label}: {what} のグラフに凡例 (legend) を付けてください (どちらが学習用でどちらが検証用か) / "
                               f"add a legend to the {pair[0]} plot (which curve is training, which validation)")
    together = [found for _, found in panels if {"loss", "accuracy"} <= found]
    if together:
        raise CheckFailure(f"{label}: 損失と正解率は別々のグラフに描いてください (値の範囲が違うので) / plot loss and "
                           "accuracy in separate axes (their ranges differ)")


# -------------------------------------------------------------------- test accuracy


def _largest(arr: np.ndarray) -> float | None:
    """The largest value of a non-empty array of numbers (NaN if it holds one); None otherwise."""
    if not arr.size or arr.dtype.kind not in "biuf":
        return None
    return float(np.max(arr))


def _model_and_data(model: Any, preprocess: Callable, x_train: Any, x_test: np.ndarray, kind: str) -> dict:
    """In the kernel: the model must be a Keras model; how many of the grader's test images the training data
    holds, and the training data's largest value (None when it is not image-shaped)."""
    _require_model(model, kind)
    rows = _rows(x_train)
    return {"leaked": count_test_images(x_train, preprocess, x_test),
            "train_max": None if rows is None else _largest(rows)}


def _predictions(model: Any, preprocess: Callable, x_test: np.ndarray, label: str) -> dict:
    """In the kernel: the grader's test images through the student's preprocess (its result's shape, dtype and
    largest value), then through the model (its outputs' shape and, when they are (N, 10), the classes it
    predicts). A preprocess or predict that raises is a failure."""
    inputs = _numpy(run_student(preprocess, "preprocess", f"preprocess(the grader's test images "
                                 f"{describe_array(x_test)})", x_test.copy()))
    facts = {"shape": tuple(int(n) for n in inputs.shape), "dtype": str(inputs.dtype), "max": _largest(inputs),
             "outputs_shape": None, "predicted": None}
    if inputs.ndim == 0 or len(inputs) != len(x_test):
        return facts
    out = _outputs(model, inputs, label)
    facts["outputs_shape"] = tuple(int(n) for n in out.shape)
    if out.shape == (len(x_test), NUM_CLASSES):
        facts["predicted"] = np.argmax(out, axis=1).astype(np.int64)
    return facts


def _accuracy(facts: dict, x_test: np.ndarray, y_test: np.ndarray, label: str) -> float:
    """The accuracy of the predicted classes against the grader's own labels; the shapes' failures first."""
    shape = facts["shape"]
    if len(shape) == 0 or shape[0] != len(x_test):
        raise CheckFailure(f"preprocess: {len(x_test)} 枚の画像に対して {shape} が返りました / returned "
                           f"{shape} for {len(x_test)} images")
    if facts["outputs_shape"] != (len(x_test), NUM_CLASSES):
        raise CheckFailure(f"{label}: 出力の形が違います / output shape: expected ({len(x_test)}, {NUM_CLASSES}), "
                           f"got {facts['outputs_shape']}")
    predicted = np.asarray(facts["predicted"])
    if predicted.shape != y_test.shape:
        raise CheckFailure(f"{label}: {predicted.shape} predictions for {len(y_test)} test images")
    return float(np.mean(predicted == y_test))


def measure_accuracy(model: Any, preprocess: Callable, label: str) -> tuple[float, dict]:
    """Accuracy of ``model`` on the grader's test images, fed through the student's ``preprocess``, with the
    facts it was measured from (:func:`_predictions`). Outside a check: the objects are used directly."""
    _, (x_test, y_test) = mnist.load()
    facts = _predictions(model, preprocess, x_test, label)
    return _accuracy(facts, x_test, y_test, label), facts


def _scale_mismatch(test_max: float | None, train_max: float | None) -> str:
    """A message when the test inputs (preprocess) are on another scale than the training data; "" otherwise."""
    if train_max is None or test_max is None:
        return ""
    if train_max <= 0 or test_max <= 0:
        return ""
    ratio = test_max / train_max
    if 0.5 <= ratio <= 2.0:
        return ""
    return (f"テストのときの入力 (preprocess の出力、最大 {test_max:.4g}) と学習に使った x_train (最大 {train_max:.4g}) で"
            f"正規化が違います。preprocess の中で 255 で割り、学習にもテストにも同じ preprocess を使ってください / "
            f"the test inputs (preprocess, max {test_max:.4g}) are normalised differently from the training data "
            f"x_train (max {train_max:.4g}): divide by 255 inside preprocess and use it for training and testing alike")


def _check_accuracy(kind: str, model: Any, preprocess: Callable, x_train: Any, train_seconds: float) -> None:
    """The model, preprocess and x_train stay in the kernel: the grader gets how many of its test images x_train
    holds, the scales of the training and test inputs, the classes predicted for its test images (it counts
    the right ones against its own labels) and the training time the notebook measured."""
    limits = thresholds()
    minimum = getattr(limits, f"{kind}_accuracy")
    budget = getattr(limits, f"{kind}_train_s")
    label = f"{kind}.predict(preprocess(x_test))"
    _, (x_test, y_test) = mnist.load()
    data = observe(f"{kind} and x_train", partial(_model_and_data, model, preprocess, x_train, x_test, kind), x_test)
    if data["leaked"] > LEAK_MAX:
        raise _leak_failure(data["leaked"], f"{kind}: 正解率は測りません / accuracy not measured")
    facts = observe(label, partial(_predictions, model, preprocess, x_test, label), x_test)
    accuracy = _accuracy(facts, x_test, y_test, label)
    report_metric(f"{kind}_test_accuracy", accuracy, threshold=minimum)
    seconds = observe(f"{kind}_seconds", lambda: float(train_seconds))
    report_metric(f"{kind}_train_s", seconds, threshold=budget, higher_is_better=False, unit="s")
    mismatch = _scale_mismatch(facts["max"], data["train_max"])
    if mismatch:
        raise CheckFailure(f"{kind}: {mismatch}\n  (採点側で測った正解率 accuracy measured by the grader: {accuracy:.4f})")
    if not accuracy >= minimum:
        hint = ""
        if accuracy < 0.2:
            hint = ("\n  ヒント: ほぼ偶然の正解率です。モデルは学習されていますか？ train は渡されたモデルそのものを fit していますか？ / "
                    "hint: about chance level: is the model trained? does train fit the very model passed in?")
        inputs = f"<{facts['dtype']} array {facts['shape']}>"  # describe_array of the preprocessed test images
        raise CheckFailure(
            f"{kind}: テストデータの正解率が低すぎます / test accuracy too low: {accuracy:.4f} < {minimum} "
            f"(しきい値 / threshold)\n  採点側が自分のテスト画像 {inputs} をあなたの preprocess で変換して測った値です / "
            f"measured by the grader on its own test images, converted with your preprocess{hint}"
        )
    if not seconds <= budget:
        raise CheckFailure(
            f"{kind}: 学習に時間がかかりすぎています / training took too long: {seconds:.1f} s > {budget:g} s "
            "(時間の上限 / budget). エポック数・バッチサイズ・層の大きさは指定どおりですか？ / are the epochs, batch size "
            "and layer sizes as specified?"
        )


@judged
def check_mlp_accuracy(mlp: Any, preprocess: Callable, x_train: Any, mlp_seconds: float) -> None:
    """The trained MLP's accuracy on the grader's test images (through preprocess), its training data and time."""
    _check_accuracy("mlp", mlp, preprocess, x_train, mlp_seconds)


@judged
def check_cnn_accuracy(cnn: Any, preprocess: Callable, x_train: Any, cnn_seconds: float) -> None:
    """The trained CNN's accuracy on the grader's test images (through preprocess), its training data and time."""
    _check_accuracy("cnn", cnn, preprocess, x_train, cnn_seconds)

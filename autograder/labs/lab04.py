"""Hidden checks for lab 04, "MNIST with Keras" (seeds 001: mnist_cnn.py, and 003: the 784-100-100-100-10 MLP).

Each ``check_*`` takes the student's function, or what the notebook's locked cells made with the
student's functions (the trained models, the training data, the measured training time), and nothing
else. The function checks run the student's code on grader-chosen inputs; the model checks load the
test set themselves (:func:`autograder.datasets.mnist.load`), turn it into model inputs with the
student's own ``preprocess`` and measure the student's trained model on it: the accuracy the notebook
prints is never trusted.

Which thresholds apply is decided by the data the grader provides (:func:`autograder.datasets.mnist.profile`):
Keras's real MNIST, or the smaller offline stand-in made from scikit-learn's digits (see
:mod:`autograder.datasets.mnist`). Both sets of thresholds are in :data:`THRESHOLDS`, with the figures
they were set from.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from autograder.checks import CheckFailure, assert_close, call_student, describe_array, report_metric
from autograder.datasets import REAL, STANDIN, mnist

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


def thresholds(profile: str | None = None) -> Thresholds:
    """The thresholds for a data profile (default: the profile of the data the grader provides)."""
    return THRESHOLDS[profile or mnist.profile()]


def _keras():
    import keras  # imported lazily: the kernel has it already, the check library's tests need not

    return keras


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


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


def _call(fn: Any, fn_name: str, label: str, *args: Any, **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)``; not-a-function, NotImplementedError and the student's errors become CheckFailures."""
    return call_student(fn, fn_name, label, *args, **kwargs)


def _numpy(value: Any) -> np.ndarray:
    if hasattr(value, "detach"):  # a torch tensor (Keras's torch backend)
        value = value.detach().cpu().numpy()
    elif not isinstance(value, np.ndarray) and hasattr(value, "numpy"):  # a TensorFlow tensor
        value = value.numpy()
    return np.asarray(value)


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
    rng = _rng(401)
    ramp = np.tile(np.arange(28, dtype=np.uint8) * 9, (28, 1))[None]  # 0, 9, ..., 243 along each row
    return [
        (rng.integers(0, 256, size=(5, 28, 28), dtype=np.uint8), "5 random images"),
        (ramp, "one image, a grey ramp 0..243"),
        (np.stack([np.zeros((28, 28), np.uint8), np.full((28, 28), 255, np.uint8)]), "black and white images"),
        (rng.integers(0, 256, size=(64, 28, 28), dtype=np.uint8), "64 random images"),
    ]


def check_preprocess(fn: Callable) -> None:
    """preprocess(x): uint8 (N, 28, 28) -> float32 (N, 28, 28, 1), x / 255; the input is not changed."""
    name = "preprocess"
    for x, note in preprocess_cases():
        label = f"{name}({describe_array(x)})  [{note}]"
        given = x.copy()
        got = _numpy(_call(fn, name, label, given))
        if not np.array_equal(given, x):
            raise CheckFailure(f"{label}: 引数の配列を書き換えないでください / must not modify its argument "
                               "(make a new array: x.astype('float32') / 255)")
        expected = ref_preprocess(x)
        if got.shape != expected.shape:
            hint = ""
            if got.size == expected.size:
                hint = ("\n  ヒント: 画素の数は合っています。最後に reshape(-1, 28, 28, 1) で (枚数, 28, 28, 1) にします "
                        "(MLP は最初の Flatten 層で 784 個に並べます)。\n  hint: the number of pixels is right: "
                        "reshape to (N, 28, 28, 1) (the MLP flattens it to 784 in its first layer)")
            raise CheckFailure(f"{label}: 形 (shape) が違います / shape mismatch\n  期待値 expected: {expected.shape}\n"
                               f"  実際   got:      {got.shape}{hint}")
        if got.dtype != np.float32:
            raise CheckFailure(f"{label}: データ型は float32 にしてください / dtype must be float32, got {got.dtype} "
                               "(x.astype('float32') / 255)")
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


def check_prepared(x_train, y_train, x_test, y_test) -> None:
    """The notebook's arrays: the training images and labels (and the test ones) as preprocess and one-hot make them."""
    (train_images, train_labels), (test_images, test_labels) = mnist.load()
    leaked = count_test_images(x_train, x_test=test_images)
    if leaked > LEAK_MAX:
        raise _leak_failure(leaked, "x_train")
    for key, value, images, labels in (("x_train", x_train, train_images, None), ("y_train", y_train, None, train_labels),
                                       ("x_test", x_test, test_images, None), ("y_test", y_test, None, test_labels)):
        arr = _numpy(value)
        if images is not None:
            if arr.size and arr.dtype != object and np.nanmax(np.abs(arr.astype(np.float64))) > 1.5:
                raise CheckFailure(
                    f"{key}: 値が 0〜1 に収まっていません (最大 {np.nanmax(arr):.4g}): preprocess で変換してください / "
                    f"values are not in [0, 1] (max {np.nanmax(arr):.4g}): convert the images with preprocess"
                )
            assert_close(arr, ref_preprocess(images), rtol=PREPROCESS_RTOL, atol=PREPROCESS_ATOL,
                         name=f"{key} (preprocess of the {'training' if key == 'x_train' else 'test'} images)")
        else:
            if arr.ndim == 1:
                raise CheckFailure(f"{key}: 正解は one-hot (枚数, 10) にしてください (keras.utils.to_categorical) / the "
                                   f"targets must be one-hot, shape (N, 10), got {arr.shape} (keras.utils.to_categorical)")
            assert_close(arr, ref_one_hot(labels), name=f"{key} (one-hot labels)")


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


def _check_probabilities(model: Any, label: str) -> None:
    rng = _rng(402)
    x = rng.uniform(0.0, 1.0, size=(3, 28, 28, 1)).astype(np.float32)
    out = _outputs(model, x, f"{label}(x of shape (3, 28, 28, 1))")
    if out.shape != (3, NUM_CLASSES):
        raise CheckFailure(f"{label}: 入力 (3, 28, 28, 1) に対する出力の形が違います / output shape for input (3, 28, 28, 1): "
                           f"expected (3, {NUM_CLASSES}), got {out.shape}")
    if not np.isfinite(out).all() or (out < 0).any() or not np.allclose(out.sum(axis=1), 1.0, atol=1e-4):
        raise CheckFailure(f"{label}: 出力が確率になっていません (各行の和が 1): 出力層の活性化関数は softmax です / the outputs "
                           f"are not probabilities (rows summing to 1): the output layer's activation is softmax; "
                           f"row sums {np.round(out.sum(axis=1), 4).tolist()}")


def _build(fn: Callable, name: str) -> Any:
    label = f"{name}()"
    model = _call(fn, name, label)
    _require_model(model, label)
    return model


def _require_new_model_each_call(fn: Callable, name: str, first: Any) -> None:
    label = f"{name}()"
    if _call(fn, name, label) is first:
        raise CheckFailure(f"{label}: 呼ぶたびに新しいモデルを作って返してください / must build a new model on every "
                           "call, got the same object twice")


def check_build_mlp(fn: Callable) -> None:
    """build_mlp(): a new Keras model 784-100-100-100-10, ReLU hidden layers, softmax output, for (N, 28, 28, 1) inputs."""
    keras = _keras()
    name, label = "build_mlp", "build_mlp()"
    model = _build(fn, name)
    _check_probabilities(model, label)
    layers = describe_layers(model)
    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    units = tuple(layer.units for layer in dense)
    expected = ["Flatten", *(f"Dense({u}, relu)" for u in MLP_UNITS[:-1]), f"Dense({NUM_CLASSES}, softmax)"]
    if units != MLP_UNITS:
        raise CheckFailure(f"{_structure_message(label, expected, layers)}\n  全結合層のユニット数 Dense units: expected "
                           f"{list(MLP_UNITS)}, got {list(units)}")
    if [entry for entry in layers if entry.startswith("Dense")] != expected[1:]:
        raise CheckFailure(f"{_structure_message(label, expected, layers)}\n  中間層は ReLU、出力層は softmax です / "
                           "hidden layers use ReLU, the output layer softmax")
    params = model.count_params()
    if params != MLP_PARAMS:
        raise CheckFailure(f"{label}: パラメータの数が違います / number of parameters: expected {MLP_PARAMS:,}, got "
                           f"{params:,} (入力は 28*28 = 784 個 / 784 inputs)")
    _require_new_model_each_call(fn, name, model)


def check_build_cnn(fn: Callable) -> None:
    """build_cnn(): mnist_cnn's network, Conv32-Conv64-MaxPool-Dropout-Flatten-Dense128-Dropout-Dense10."""
    name, label = "build_cnn", "build_cnn()"
    model = _build(fn, name)
    _check_probabilities(model, label)
    layers = describe_layers(model)
    if tuple(layers) != CNN_LAYERS:
        raise CheckFailure(_structure_message(label, CNN_LAYERS, layers))
    params = model.count_params()
    if params != CNN_PARAMS:
        raise CheckFailure(f"{label}: パラメータの数が違います / number of parameters: expected {CNN_PARAMS:,}, got "
                           f"{params:,} (畳み込みは padding なし (valid) / the convolutions use no padding)")
    _require_new_model_each_call(fn, name, model)


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


def check_train(fn: Callable) -> None:
    """train(model, x, y, epochs, batch_size): Adam(LEARNING_RATE), categorical cross-entropy, accuracy, the last
    VALIDATION_SPLIT held out, EarlyStopping(val_loss, PATIENCE, restore_best_weights); the model passed in is trained."""
    keras = _keras()
    name = "train"
    x, y = train_check_problem()
    model = _grader_model()
    before = [w.copy() for w in model.get_weights()]
    label = (f"{name}(model, x {describe_array(x)}, y {describe_array(y)}, epochs={TRAIN_CHECK_EPOCHS}, "
             f"batch_size={TRAIN_CHECK_BATCH})  [random labels: the validation loss soon rises]")
    history = _call(fn, name, label, model, x.copy(), y.copy(), epochs=TRAIN_CHECK_EPOCHS, batch_size=TRAIN_CHECK_BATCH)
    if not isinstance(history, keras.callbacks.History):
        raise CheckFailure(f"{label}: model.fit が返す History を return してください / must return the History that "
                           f"model.fit returns, got {type(history).__name__}")
    if all(np.array_equal(a, b) for a, b in zip(before, model.get_weights(), strict=True)):
        raise CheckFailure(f"{label}: 渡されたモデルの重みが変わっていません。関数の中で新しいモデルを作らず (clone_model も"
                           "使わず)、渡された model そのものを fit してください / the weights of the model passed in did not "
                           "change: fit the model passed in, not a new one (no build_... or clone_model inside train)")
    # the model passed in was compiled as asked
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None or type(optimizer).__name__ != "Adam":
        raise CheckFailure(f"{label}: 渡されたモデルを Adam で compile してください / compile the model passed in with "
                           f"Adam, got {type(optimizer).__name__ if optimizer is not None else 'no optimizer'}")
    lr = float(_numpy(optimizer.learning_rate))
    if not np.isclose(lr, LEARNING_RATE, rtol=1e-6):
        raise CheckFailure(f"{label}: Adam の学習率は LEARNING_RATE ({LEARNING_RATE:g}) にしてください / Adam's "
                           f"learning rate must be LEARNING_RATE ({LEARNING_RATE:g}), got {lr:g}")
    loss = getattr(model, "loss", None)
    loss_name = loss if isinstance(loss, str) else getattr(loss, "name", getattr(loss, "__name__", type(loss).__name__))
    if str(loss_name).lower() not in ("categorical_crossentropy", "categoricalcrossentropy"):
        raise CheckFailure(f"{label}: 損失関数は categorical_crossentropy にしてください (正解が one-hot なので) / the loss "
                           f"must be categorical_crossentropy (the targets are one-hot), got {loss_name}")
    logs = history.history
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        if key not in logs:
            why = ("metrics=[\"accuracy\"] で compile していますか / compile with metrics=[\"accuracy\"]"
                   if "accuracy" in key else
                   "validation_split=VALIDATION_SPLIT で検証データを分けていますか / hold out validation data "
                   "with validation_split=VALIDATION_SPLIT")
            raise CheckFailure(f"{label}: History に {key!r} がありません / the History has no {key!r} "
                               f"(it has {sorted(logs)}): {why}")
    params = getattr(history, "params", None) or {}
    if params.get("epochs") != TRAIN_CHECK_EPOCHS:
        raise CheckFailure(f"{label}: fit に epochs を渡してください / pass epochs to fit: the run was set up for "
                           f"{params.get('epochs')} epochs, expected {TRAIN_CHECK_EPOCHS}")
    n_fit = int(np.floor(TRAIN_CHECK_SAMPLES * (1 - VALIDATION_SPLIT)))
    steps = int(np.ceil(n_fit / TRAIN_CHECK_BATCH))
    if params.get("steps") == int(np.ceil(TRAIN_CHECK_SAMPLES / TRAIN_CHECK_BATCH)):
        # every sample was trained on, yet there are validation losses: they came from validation_data
        raise CheckFailure(
            f"{label}: 渡した {TRAIN_CHECK_SAMPLES} 件すべてで学習しています。検証データは validation_data ではなく "
            f"validation_split=VALIDATION_SPLIT で分けてください (テストデータで検証していませんか？) / all "
            f"{TRAIN_CHECK_SAMPLES} samples passed in were trained on: hold out the validation data with "
            f"validation_split=VALIDATION_SPLIT, not validation_data (validating on the test set?)"
        )
    if params.get("steps") != steps:
        raise CheckFailure(
            f"{label}: 1 エポックの更新回数が違います / wrong number of steps per epoch: expected {steps} "
            f"({n_fit} training samples after holding out {VALIDATION_SPLIT:.0%} / batch_size {TRAIN_CHECK_BATCH}), "
            f"got {params.get('steps')}: fit(..., batch_size=batch_size, validation_split=VALIDATION_SPLIT)?"
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
    split = n_fit
    grader_val = _cross_entropy(model, x[split:], y[split:])
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


def fake_history(epochs: int = 4):
    """A keras History with made-up, distinct values, as train returns it."""
    keras = _keras()
    history = keras.callbacks.History()
    t = np.arange(epochs, dtype=np.float64)
    history.history = {
        "loss": list(1.2 * 0.6 ** t + 0.05),
        "accuracy": list(0.95 - 0.5 * 0.5 ** t),
        "val_loss": list(1.0 * 0.7 ** t + 0.15),
        "val_accuracy": list(0.9 - 0.4 * 0.55 ** t),
    }
    history.epoch = list(range(epochs))
    history.params = {"epochs": epochs, "steps": 10, "verbose": 0}
    return history


def check_plot_history(fn: Callable) -> None:
    """plot_history(history) returns a Figure: one axes with loss and val_loss, another with accuracy and
    val_accuracy, each with a legend."""
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    name = "plot_history"
    history = fake_history()
    label = f"{name}(history)  [a History with {len(history.epoch)} epochs of made-up values]"
    before = set(plt.get_fignums())
    try:
        fig = _call(fn, name, label, history)
        if not isinstance(fig, Figure):
            raise CheckFailure(f"{label}: matplotlib の Figure を return してください (fig, axes = plt.subplots(1, 2)) / "
                               f"must return the matplotlib Figure, got {type(fig).__name__}")
        curves = {key: np.asarray(values) for key, values in history.history.items()}

        def curves_in(ax) -> set[str]:
            found = set()
            for line in ax.get_lines():
                ydata = np.asarray(line.get_ydata(), dtype=np.float64)
                for key, values in curves.items():
                    if ydata.shape == values.shape and np.allclose(ydata, values, rtol=1e-6, atol=1e-9):
                        found.add(key)
            return found

        panels = [(ax, curves_in(ax)) for ax in fig.get_axes()]
        for pair, what in ((("loss", "val_loss"), "損失 / loss"), (("accuracy", "val_accuracy"), "正解率 / accuracy")):
            match = [ax for ax, found in panels if set(pair) <= found]
            if not match:
                drawn = {k for _, found in panels for k in found}
                raise CheckFailure(
                    f"{label}: {what} のグラフに {pair[0]} と {pair[1]} の 2 本の線を描いてください / draw {pair[0]} and "
                    f"{pair[1]} (history.history[...]) in one plot\n  見つかった線 curves found: {sorted(drawn) or 'none'} "
                    f"in {len(panels)} axes"
                )
            if all(ax.get_legend() is None for ax in match) and not fig.legends:
                raise CheckFailure(f"{label}: {what} のグラフに凡例 (legend) を付けてください (どちらが学習用でどちらが検証用か) / "
                                   f"add a legend to the {pair[0]} plot (which curve is training, which validation)")
        together = [ax for ax, found in panels if {"loss", "accuracy"} <= found]
        if together:
            raise CheckFailure(f"{label}: 損失と正解率は別々のグラフに描いてください (値の範囲が違うので) / plot loss and "
                               "accuracy in separate axes (their ranges differ)")
    finally:
        for number in set(plt.get_fignums()) - before:
            plt.close(number)


# -------------------------------------------------------------------- test accuracy


def measure_accuracy(model: Any, preprocess: Callable, label: str) -> tuple[float, np.ndarray]:
    """Accuracy of ``model`` on the grader's test images, fed through the student's ``preprocess``."""
    _, (x_test, y_test) = mnist.load()
    inputs = _numpy(_call(preprocess, "preprocess", f"preprocess(the grader's test images {describe_array(x_test)})",
                          x_test.copy()))
    if inputs.ndim == 0 or len(inputs) != len(x_test):
        raise CheckFailure(f"preprocess: {len(x_test)} 枚の画像に対して {inputs.shape} が返りました / returned "
                           f"{inputs.shape} for {len(x_test)} images")
    out = _outputs(model, inputs, label)
    if out.shape != (len(x_test), NUM_CLASSES):
        raise CheckFailure(f"{label}: 出力の形が違います / output shape: expected ({len(x_test)}, {NUM_CLASSES}), "
                           f"got {out.shape}")
    return float(np.mean(np.argmax(out, axis=1) == y_test)), inputs


def _scale_mismatch(inputs: np.ndarray, x_train: Any) -> str:
    """A message when the test inputs (preprocess) are on another scale than the training data; "" otherwise."""
    rows = _rows(x_train)
    if rows is None or not inputs.size:
        return ""
    train_max, test_max = float(np.max(rows)), float(np.max(inputs))
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
    limits = thresholds()
    minimum = getattr(limits, f"{kind}_accuracy")
    budget = getattr(limits, f"{kind}_train_s")
    label = f"{kind}.predict(preprocess(x_test))"
    _require_model(model, kind)
    leaked = count_test_images(x_train, preprocess)
    if leaked > LEAK_MAX:
        raise _leak_failure(leaked, f"{kind}: 正解率は測りません / accuracy not measured")
    accuracy, inputs = measure_accuracy(model, preprocess, label)
    report_metric(f"{kind}_test_accuracy", accuracy, threshold=minimum)
    seconds = float(train_seconds)
    report_metric(f"{kind}_train_s", seconds, threshold=budget, higher_is_better=False, unit="s")
    mismatch = _scale_mismatch(inputs, x_train)
    if mismatch:
        raise CheckFailure(f"{kind}: {mismatch}\n  (採点側で測った正解率 accuracy measured by the grader: {accuracy:.4f})")
    if not accuracy >= minimum:
        hint = ""
        if accuracy < 0.2:
            hint = ("\n  ヒント: ほぼ偶然の正解率です。モデルは学習されていますか？ train は渡されたモデルそのものを fit していますか？ / "
                    "hint: about chance level: is the model trained? does train fit the very model passed in?")
        raise CheckFailure(
            f"{kind}: テストデータの正解率が低すぎます / test accuracy too low: {accuracy:.4f} < {minimum} "
            f"(しきい値 / threshold)\n  採点側が自分のテスト画像 {describe_array(inputs)} をあなたの preprocess で変換して測った値です / "
            f"measured by the grader on its own test images, converted with your preprocess{hint}"
        )
    if not seconds <= budget:
        raise CheckFailure(
            f"{kind}: 学習に時間がかかりすぎています / training took too long: {seconds:.1f} s > {budget:g} s "
            "(時間の上限 / budget). エポック数・バッチサイズ・層の大きさは指定どおりですか？ / are the epochs, batch size "
            "and layer sizes as specified?"
        )


def check_mlp_accuracy(mlp: Any, preprocess: Callable, x_train: Any, mlp_seconds: float) -> None:
    """The trained MLP's accuracy on the grader's test images (through preprocess), its training data and time."""
    _check_accuracy("mlp", mlp, preprocess, x_train, mlp_seconds)


def check_cnn_accuracy(cnn: Any, preprocess: Callable, x_train: Any, cnn_seconds: float) -> None:
    """The trained CNN's accuracy on the grader's test images (through preprocess), its training data and time."""
    _check_accuracy("cnn", cnn, preprocess, x_train, cnn_seconds)

"""Lab 04's checks: the grader's verdict on what each probe (``autograder.kernel.probes.lab04``) recorded.

Each ``check_*`` takes the student's function, or what the notebook's locked cells made with the
student's functions (the trained models, the training data, the measured training time), and nothing
else. It draws the same inputs as its probe and reads what the kernel observed of the student's objects
(outputs, layer descriptions, a History's logs, predicted classes, one digest per training image); the
replay builds, trains and plots nothing. The model checks count the classes the student's model
predicted for the grader's own test images (fed through the student's own ``preprocess``) against the
grader's own labels (:func:`autograder.datasets.mnist.load`): the accuracy the notebook prints is never
trusted.

References: :mod:`~autograder.labs.lab04.reference`; bars and tolerances, per data profile where they
depend on it: :mod:`~autograder.labs.lab04.thresholds`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import numpy as np

from autograder.datasets import mnist
from autograder.kernel.compare import CheckFailure, assert_close
from autograder.kernel.probes import lab04 as probes
from autograder.kernel.probes.lab04 import NUM_CLASSES
from autograder.kernel.transcript import TranscriptError, observe
from autograder.labs.judged import judged, measured_seconds, report_metric
from autograder.labs.lab04 import audit, forward, reference
from autograder.labs.lab04.reference import LEARNING_RATE, PATIENCE, VALIDATION_SPLIT
from autograder.labs.lab04.thresholds import (
    CHANCE_HINT,
    CURVE_ATOL,
    CURVE_RTOL,
    LEAK_MAX,
    LEARNING_RATE_RTOL,
    MEMBER_EPSILON,
    PIXEL_MAX,
    PREPROCESS_ATOL,
    PREPROCESS_RTOL,
    PROBABILITY_SUM_ATOL,
    SCALE_RATIO,
    VAL_LOSS_ATOL,
    VAL_LOSS_RTOL,
    for_profile,
    member_ratio_floor,
)


def _kernel_only(label: str) -> Any:
    raise TranscriptError(f"{label}: observed in the student's kernel only")


def _recorded(label: str, *inputs: Any) -> Any:
    """What the probe observed in the kernel under ``label``, on the grader's ``inputs`` (which the recorded call's
    digest must match). The probe's thunk ran there; the grader has only its result."""
    return observe(label, partial(_kernel_only, label), *inputs)


def _stand_in(shape: Sequence[int], dtype: str) -> np.ndarray:
    """An array of ``shape`` and ``dtype`` that takes no memory: compare's message on a wrong shape or a
    non-numeric dtype needs nothing more, so the grader words it as it would for the student's array."""
    return np.broadcast_to(np.zeros((), dtype=np.dtype(dtype)), tuple(shape))


# -------------------------------------------------------------------- preprocess


@judged
def check_preprocess(fn: Callable) -> None:
    """preprocess(x): uint8 (N, 28, 28) -> float32 (N, 28, 28, 1), x / 255; the input is not changed."""
    for x, note in probes.preprocess_cases():
        label = probes.preprocess_label(x, note)
        facts = _recorded(label, x)
        if not np.array_equal(facts["argument"], x):
            raise CheckFailure(f"{label}: 引数の配列を書き換えないでください / must not modify its argument "
                               "(make a new array: x.astype('float32') / 255)")
        expected = reference.preprocess(x)
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
        if got.size and np.nanmax(got) > PIXEL_MAX:
            raise CheckFailure(
                f"{label}: 値が 0〜1 に収まっていません (最大 {np.nanmax(got):.4g}): 255 で割ってください / values are not "
                f"in [0, 1] (max {np.nanmax(got):.4g}): divide by 255"
            )
        assert_close(got, expected, rtol=PREPROCESS_RTOL, atol=PREPROCESS_ATOL, name=label)


# -------------------------------------------------------------------- data checks


def _leak_failure(count: int, what: str) -> CheckFailure:
    return CheckFailure(
        f"{what}: 学習用データ x_train に採点用のテスト画像が {count} 枚含まれています。テストデータで学習すると、"
        "正解率は見たことのない画像に対する性能を表しません。x_train には学習用の画像 (x_train_raw) だけを使ってください / "
        f"the training data x_train contains {count} of the grader's test images: a model trained on the test set "
        "is not measured on unseen images. Build x_train from the training images (x_train_raw) only"
    )


def _judge_prepared(key: str, facts: dict, rows: np.ndarray, images: np.ndarray | None,
                    labels: np.ndarray | None) -> None:
    """check_prepared's verdict on one array, from its facts and the grader's own images or labels."""
    shape = tuple(facts["shape"])
    if images is not None:
        note = f"(preprocess of the {'training' if key == 'x_train' else 'test'} images)"
        expected, full_shape = reference.preprocess(images[rows]), (len(images), 28, 28, 1)
        tolerance = {"rtol": PREPROCESS_RTOL, "atol": PREPROCESS_ATOL}
        if facts["max_abs"] is not None and facts["max_abs"] > PIXEL_MAX:
            raise CheckFailure(
                f"{key}: 値が 0〜1 に収まっていません (最大 {facts['max']:.4g}): preprocess で変換してください / "
                f"values are not in [0, 1] (max {facts['max']:.4g}): convert the images with preprocess"
            )
    else:
        note = "(one-hot labels)"
        expected, full_shape = reference.one_hot(labels[rows]), (len(labels), NUM_CLASSES)
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

    They stay in the kernel (too big for a transcript): the grader gets their shapes, dtypes and ranges, one
    digest per image of x_train (to look its own test images up among them), and the rows it picked of each,
    which it compares with its own.
    """
    (train_images, train_labels), (test_images, test_labels) = mnist.load()
    train_rows, test_rows = probes.grader_rows(len(train_images), len(test_images))
    facts = _recorded(probes.PREPARED_LABEL, train_rows, test_rows)
    leaked = reference.count_test_images(facts["x_train_digests"], test_images)
    if leaked > LEAK_MAX:
        raise _leak_failure(leaked, "x_train")
    for key, images, labels, rows in (("x_train", train_images, None, train_rows),
                                      ("y_train", None, train_labels, train_rows),
                                      ("x_test", test_images, None, test_rows),
                                      ("y_test", None, test_labels, test_rows)):
        _judge_prepared(key, facts[key], rows, images, labels)


# -------------------------------------------------------------------- model structure


def _structure_message(label: str, expected: Sequence[str], got: Sequence[str]) -> str:
    return (f"{label}: 層の構成が違います / the layers differ\n"
            f"  期待値 expected: {' -> '.join(expected)}\n  実際   got:      {' -> '.join(got) or '(no layers)'}")


def _check_probabilities(out: np.ndarray, label: str) -> None:
    """The model's outputs for 3 images must be 3 rows of 10 probabilities."""
    if out.shape != (3, NUM_CLASSES):
        raise CheckFailure(f"{label}: 入力 (3, 28, 28, 1) に対する出力の形が違います / output shape for input (3, 28, 28, 1): "
                           f"expected (3, {NUM_CLASSES}), got {out.shape}")
    if not np.isfinite(out).all() or (out < 0).any() or not np.allclose(out.sum(axis=1), 1.0,
                                                                          atol=PROBABILITY_SUM_ATOL):
        raise CheckFailure(f"{label}: 出力が確率になっていません (各行の和が 1): 出力層の活性化関数は softmax です / the outputs "
                           f"are not probabilities (rows summing to 1): the output layer's activation is softmax; "
                           f"row sums {np.round(out.sum(axis=1), 4).tolist()}")


def _described(layers: Any, label: str) -> list[str]:
    """The kernel's layer specs (:func:`~autograder.kernel.probes.keras_facts.layer_specs`) described as the
    structures are written (:func:`~autograder.labs.lab04.forward.describe`); CheckFailure if the record is not."""
    try:
        return forward.describe(layers)
    except (TypeError, KeyError, AttributeError, ValueError):
        raise CheckFailure(f"記録が壊れています / malformed record: {label}'s layers") from None


def _built(name: str) -> tuple[str, dict]:
    """A build check's first observations: the model was built and gives 3 rows of probabilities for 3 images;
    then its structure. Returns the label and the structure's facts."""
    build, run, layers, _ = probes.build_labels(name)
    _recorded(build)
    _check_probabilities(np.asarray(_recorded(run, probes.model_inputs()), dtype=np.float64), build)
    return build, _recorded(layers)  # after predict: the model is built


def _require_new_model_each_call(name: str) -> None:
    label, *_, again = probes.build_labels(name)
    if _recorded(again):
        raise CheckFailure(f"{label}: 呼ぶたびに新しいモデルを作って返してください / must build a new model on every "
                           "call, got the same object twice")


@judged
def check_build_mlp(fn: Callable) -> None:
    """build_mlp(): a new Keras model 784-100-100-100-10, ReLU hidden layers, softmax output, for (N, 28, 28, 1) inputs."""
    name = "build_mlp"
    label, facts = _built(name)
    layers = _described(facts["layers"], label)
    units = tuple(spec.get("units") for spec in facts["layers"] if spec["kind"] == "Dense")
    expected = list(reference.MLP_LAYERS)
    if units != reference.MLP_UNITS:
        raise CheckFailure(f"{_structure_message(label, expected, layers)}\n  全結合層のユニット数 Dense units: expected "
                           f"{list(reference.MLP_UNITS)}, got {list(units)}")
    if [entry for entry in layers if entry.startswith("Dense")] != expected[1:]:
        raise CheckFailure(f"{_structure_message(label, expected, layers)}\n  中間層は ReLU、出力層は softmax です / "
                           "hidden layers use ReLU, the output layer softmax")
    params = facts["params"]
    if params != reference.MLP_PARAMS:
        raise CheckFailure(f"{label}: パラメータの数が違います / number of parameters: expected {reference.MLP_PARAMS:,}, "
                           f"got {params:,} (入力は 28*28 = 784 個 / 784 inputs)")
    _require_new_model_each_call(name)


@judged
def check_build_cnn(fn: Callable) -> None:
    """build_cnn(): mnist_cnn's network, Conv32-Conv64-MaxPool-Dropout-Flatten-Dense128-Dropout-Dense10."""
    name = "build_cnn"
    label, facts = _built(name)
    layers = _described(facts["layers"], label)
    if tuple(layers) != reference.CNN_LAYERS:
        raise CheckFailure(_structure_message(label, reference.CNN_LAYERS, layers))
    params = facts["params"]
    if params != reference.CNN_PARAMS:
        raise CheckFailure(f"{label}: パラメータの数が違います / number of parameters: expected {reference.CNN_PARAMS:,}, "
                           f"got {params:,} (畳み込みは padding なし (valid) / the convolutions use no padding)")
    _require_new_model_each_call(name)


# -------------------------------------------------------------------- training


@judged
def check_train(fn: Callable) -> None:
    """train(model, x, y, epochs, batch_size): Adam(LEARNING_RATE), categorical cross-entropy, accuracy, the last
    VALIDATION_SPLIT held out, EarlyStopping(val_loss, PATIENCE, restore_best_weights); the model passed in is trained.

    The training runs in the kernel on a model and a toy problem of the grader's (random images and labels,
    drawn with the course's salt); the verdict is reached from the facts it leaves
    (:func:`autograder.kernel.probes.lab04.train_facts`).
    """
    x, y = probes.train_check_problem()
    label = probes.train_label(x, y)
    facts = _recorded(label, x, y)
    if not facts["is_history"]:
        raise CheckFailure(f"{label}: model.fit が返す History を return してください / must return the History that "
                           f"model.fit returns, got {facts['returned']}")
    if facts["weights_after"] == facts["weights_before"]:
        raise CheckFailure(f"{label}: 渡されたモデルの重みが変わっていません。関数の中で新しいモデルを作らず (clone_model も"
                           "使わず)、渡された model そのものを fit してください / the weights of the model passed in did not "
                           "change: fit the model passed in, not a new one (no build_... or clone_model inside train)")
    # the model passed in was compiled as asked
    optimizer = facts["optimizer"]
    if optimizer != "Adam":
        raise CheckFailure(f"{label}: 渡されたモデルを Adam で compile してください / compile the model passed in with "
                           f"Adam, got {optimizer if optimizer is not None else 'no optimizer'}")
    lr = float(facts["learning_rate"])
    if not np.isclose(lr, LEARNING_RATE, rtol=LEARNING_RATE_RTOL):
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
    epochs, samples, batch = probes.TRAIN_CHECK_EPOCHS, probes.TRAIN_CHECK_SAMPLES, probes.TRAIN_CHECK_BATCH
    if facts["epochs"] != epochs:
        raise CheckFailure(f"{label}: fit に epochs を渡してください / pass epochs to fit: the run was set up for "
                           f"{facts['epochs']} epochs, expected {epochs}")
    n_fit = reference.fit_samples(samples)
    steps = int(np.ceil(n_fit / batch))
    if facts["steps"] == int(np.ceil(samples / batch)):
        # every sample was trained on, yet there are validation losses: they came from validation_data
        raise CheckFailure(
            f"{label}: 渡した {samples} 件すべてで学習しています。検証データは validation_data ではなく "
            f"validation_split=VALIDATION_SPLIT で分けてください (テストデータで検証していませんか？) / all "
            f"{samples} samples passed in were trained on: hold out the validation data with "
            f"validation_split=VALIDATION_SPLIT, not validation_data (validating on the test set?)"
        )
    if facts["steps"] != steps:
        raise CheckFailure(
            f"{label}: 1 エポックの更新回数が違います / wrong number of steps per epoch: expected {steps} "
            f"({n_fit} training samples after holding out {VALIDATION_SPLIT:.0%} / batch_size {batch}), "
            f"got {facts['steps']}: fit(..., batch_size=batch_size, validation_split=VALIDATION_SPLIT)?"
        )
    val_loss = [float(v) for v in logs["val_loss"]]
    ran = len(val_loss)
    expected_len = reference.early_stopping_length(val_loss, epochs)
    if ran != expected_len:
        raise CheckFailure(
            f"{label}: EarlyStopping の止まり方が違います / the run did not stop as EarlyStopping(monitor=\"val_loss\", "
            f"patience=PATIENCE={PATIENCE}) stops it: it ran {ran} epochs, the validation losses "
            f"{np.round(val_loss, 4).tolist()} stop it after {expected_len}\n"
            "  ヒント: callbacks=[keras.callbacks.EarlyStopping(monitor=\"val_loss\", patience=PATIENCE, "
            "restore_best_weights=True)] を fit に渡していますか？ / hint: is that callback passed to fit?"
        )
    if facts["outputs_error"] is not None:
        raise CheckFailure(facts["outputs_error"])
    # the validation loss of the trained model on the last VALIDATION_SPLIT of (x, y), as the grader measures it
    grader_val = reference.cross_entropy(np.asarray(facts["outputs"])[n_fit:], y[n_fit:])
    best = min(val_loss)
    if not np.isclose(grader_val, best, rtol=VAL_LOSS_RTOL, atol=VAL_LOSS_ATOL):
        if any(np.isclose(grader_val, v, rtol=VAL_LOSS_RTOL, atol=VAL_LOSS_ATOL) for v in val_loss):
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


def _curves_in(lines: Sequence[np.ndarray], curves: dict[str, np.ndarray]) -> set[str]:
    """The History's curves among an axes' lines (by their y values)."""
    found = set()
    for ydata in lines:
        ydata = np.asarray(ydata)
        for key, values in curves.items():
            if ydata.shape == values.shape and np.allclose(ydata, values, rtol=CURVE_RTOL, atol=CURVE_ATOL):
                found.add(key)
    return found


@judged
def check_plot_history(fn: Callable) -> None:
    """plot_history(history) returns a Figure: one axes with loss and val_loss, another with accuracy and
    val_accuracy, each with a legend."""
    curves = probes.fake_history_values()
    label = probes.plot_label(curves)
    facts = _recorded(label, curves)
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


def _accuracy(facts: dict, x_test: np.ndarray, y_test: np.ndarray, label: str) -> float:
    """The accuracy of the predicted classes against the grader's own labels; the shapes' failures first."""
    shape = tuple(facts["shape"])
    if len(shape) == 0 or shape[0] != len(x_test):
        raise CheckFailure(f"preprocess: {len(x_test)} 枚の画像に対して {shape} が返りました / returned "
                           f"{shape} for {len(x_test)} images")
    outputs_shape = None if facts["outputs_shape"] is None else tuple(facts["outputs_shape"])
    if outputs_shape != (len(x_test), NUM_CLASSES):
        raise CheckFailure(f"{label}: 出力の形が違います / output shape: expected ({len(x_test)}, {NUM_CLASSES}), "
                           f"got {outputs_shape}")
    predicted = np.asarray(facts["predicted"])
    if predicted.shape != y_test.shape:
        raise CheckFailure(f"{label}: {predicted.shape} predictions for {len(y_test)} test images")
    return float(np.mean(predicted == y_test))


def grader_test_set() -> tuple[np.ndarray, np.ndarray]:
    """The grader's test images (its shifted copies of the data directory's, in its salted order) and their labels."""
    _, (x_test, y_test) = mnist.load()
    copies, order = probes.grader_test_set(x_test)
    return copies, y_test[order]


def measure_accuracy(model: Any, preprocess: Callable, label: str) -> tuple[float, dict]:
    """Accuracy of ``model`` on the grader's test images (:func:`grader_test_set`), fed through the student's
    ``preprocess``, with the facts it was measured from (:func:`autograder.kernel.probes.lab04.predictions`).
    Outside a check (tests, calibration): the objects are used here directly."""
    x_test, y_test = grader_test_set()
    facts = probes.predictions(model, preprocess, x_test, label)
    return _accuracy(facts, x_test, y_test, label), facts


def memorised_failure(what: str, test_loss: float, train_loss: float, floor: float) -> CheckFailure:
    return CheckFailure(
        f"{what}: 正解率は測りません / accuracy not measured. データフォルダーのテスト画像に対する損失 ({test_loss:.4g}) が、"
        f"学習に使う画像に対する損失 ({train_loss:.4g}) の {floor:g} 倍未満です: テスト画像で学習した (または答えを表から"
        "引いた) モデルに見られる差で、見たことのない画像に対する性能を表しません。学習には学習用の画像 (x_train_raw) "
        f"だけを使ってください / the model's loss on the loaded test images ({test_loss:.4g}) is under {floor:g} "
        f"times its loss on the training images ({train_loss:.4g}): that is what a model trained on the test images "
        "(or one that looks their labels up) shows, and its accuracy says nothing about unseen images. Train on the "
        "training images (x_train_raw) only"
    )


def _scale_mismatch(test_max: float | None, train_max: float | None) -> str:
    """A message when the test inputs (preprocess) are on another scale than the training data; "" otherwise."""
    if train_max is None or test_max is None:
        return ""
    if train_max <= 0 or test_max <= 0:
        return ""
    ratio = test_max / train_max
    low, high = SCALE_RATIO
    if low <= ratio <= high:
        return ""
    return (f"テストのときの入力 (preprocess の出力、最大 {test_max:.4g}) と学習に使った x_train (最大 {train_max:.4g}) で"
            f"正規化が違います。preprocess の中で 255 で割り、学習にもテストにも同じ preprocess を使ってください / "
            f"the test inputs (preprocess, max {test_max:.4g}) are normalised differently from the training data "
            f"x_train (max {train_max:.4g}): divide by 255 inside preprocess and use it for training and testing alike")


# The locked cells that train each model: the grader times them itself (autograder.labs.judged.measured_seconds).
TRAINING_CELLS = {"mlp": "fit_mlp", "cnn": "fit_cnn"}


def _train_seconds(kind: str, notebook_seconds: float) -> float:
    """The training time that counts: the grader's own timing of the training cell where it has one (while grading),
    else the notebook's figure (a check called directly). The notebook's figure is code in the kernel: forgeable."""
    measured = measured_seconds(TRAINING_CELLS[kind])
    return notebook_seconds if measured is None else measured


def _require_trained_build(kind: str, structure: dict) -> None:
    """The model whose accuracy is measured predicts with Keras's own methods, and it is the network the notebook's
    build function makes (its layers), trained: not a lookup or another model put in its place by ``train``."""
    if structure["replaced"]:
        methods = ", ".join(f"{kind}.{name}" for name in structure["replaced"])
        raise CheckFailure(
            f"{kind}: モデルの予測の仕組みが置き換えられています ({methods}): train は渡されたモデルを学習するだけにしてください / "
            f"the model's own prediction was replaced ({methods} set on the model): train must fit the model passed "
            "in, and the grader measures what its layers predict"
        )
    built = None if structure["built"] is None else _described(structure["built"], f"build_{kind}()")
    trained = _described(structure["layers"], kind)
    if built is not None and trained != built:
        raise CheckFailure(
            f"{kind}: 正解率を測るモデルが build_{kind}() の作るネットワークと違います / the model whose accuracy is measured "
            f"is not the network build_{kind}() builds (train must fit the model passed in, not change or replace "
            f"its layers)\n  build_{kind}():  {' -> '.join(built) or '(no layers)'}\n"
            f"  {kind} (trained): {' -> '.join(trained) or '(no layers)'}"
        )


def _check_accuracy(kind: str) -> None:
    """The model, preprocess and x_train stay in the kernel: the grader gets one digest per training image (and per
    test image through preprocess), to look its own test images up among them, the scales of the training and
    test inputs, the classes predicted for its test images (it counts the right ones against its own labels),
    the trained network's layers and weights (it runs them itself: :mod:`~autograder.labs.lab04.audit`) and the
    training time the notebook measured (the grader's own timing of the training cell counts)."""
    limits = for_profile()
    minimum = getattr(limits, f"{kind}_accuracy")
    budget = getattr(limits, f"{kind}_train_s")
    data_label, label, seconds_label = probes.accuracy_labels(kind)
    (train_images, train_labels), (loaded, loaded_labels) = mnist.load()
    x_test, order = probes.grader_test_set(loaded)
    y_test = loaded_labels[order]
    data = _recorded(data_label, loaded)
    leaked = reference.count_test_images(data["x_train_digests"], loaded, data["preprocessed_digests"])
    if leaked > LEAK_MAX:
        raise _leak_failure(leaked, f"{kind}: 正解率は測りません / accuracy not measured")
    structure = _recorded(probes.structure_label(kind))
    _require_trained_build(kind, structure)
    facts = _recorded(label, x_test)
    accuracy = _accuracy(facts, x_test, y_test, label)
    report_metric(f"{kind}_test_accuracy", accuracy, threshold=minimum)
    seconds = _train_seconds(kind, float(_recorded(seconds_label)))
    report_metric(f"{kind}_train_s", seconds, threshold=budget, higher_is_better=False, unit="s")
    mismatch = _scale_mismatch(facts["max"], data["train_max"])
    if mismatch:
        raise CheckFailure(f"{kind}: {mismatch}\n  (採点側で測った正解率 accuracy measured by the grader: {accuracy:.4f})")
    if not accuracy >= minimum:
        hint = ""
        if accuracy < CHANCE_HINT:
            hint = ("\n  ヒント: ほぼ偶然の正解率です。モデルは学習されていますか？ train は渡されたモデルそのものを fit していますか？ / "
                    "hint: about chance level: is the model trained? does train fit the very model passed in?")
        inputs = f"<{facts['dtype']} array {tuple(facts['shape'])}>"  # describe_array of the preprocessed test images
        raise CheckFailure(
            f"{kind}: テストデータの正解率が低すぎます / test accuracy too low: {accuracy:.4f} < {minimum} "
            f"(しきい値 / threshold)\n  採点側が自分のテスト画像 {inputs} をあなたの preprocess で変換して測った値です / "
            f"measured by the grader on its own test images, converted with your preprocess{hint}"
        )
    if not seconds <= budget:
        raise CheckFailure(
            f"{kind}: 学習に時間がかかりすぎています / training took too long: {seconds:.1f} s > {budget:g} s "
            "(時間の上限 / budget; the smaller of wall and CPU seconds). エポック数・バッチサイズ・層の大きさは指定どおりですか？ / are the epochs, batch size "
            "and layer sizes as specified?"
        )
    audit.require_own_predictions(facts, x_test, label, _described(structure["layers"], kind))
    # last: only a model that reached the bar is asked whether it saw the test images; the losses are the grader's,
    # from the weights just audited, not the kernel's word
    test_rows, train_rows = audit.member_rows(len(loaded), probes.fitted_count(len(train_images)))
    losses = audit.own_member_losses(facts, label, (loaded[test_rows], loaded_labels[test_rows]),
                                     (train_images[train_rows], train_labels[train_rows]))
    floor = member_ratio_floor(kind)
    report_metric(f"{kind}_test_to_train_loss", losses[0] / max(losses[1], MEMBER_EPSILON), threshold=floor)
    # not above the floor, equal included: a lookup of both files answers the loaded test images and the training
    # images exactly (a loss of 0 against 0), which no honest model does on test images
    if not losses[0] > floor * losses[1]:
        raise memorised_failure(kind, *losses, floor)


@judged
def check_mlp_accuracy(mlp: Any, preprocess: Callable, x_train: Any, mlp_seconds: float,
                       build_mlp: Callable | None = None) -> None:
    """The trained MLP's accuracy on the grader's test images (through preprocess), its training data and time;
    with ``build_mlp``, that it is the network build_mlp builds."""
    _check_accuracy("mlp")


@judged
def check_cnn_accuracy(cnn: Any, preprocess: Callable, x_train: Any, cnn_seconds: float,
                       build_cnn: Callable | None = None) -> None:
    """The trained CNN's accuracy on the grader's test images (through preprocess), its training data and time;
    with ``build_cnn``, that it is the network build_cnn builds."""
    _check_accuracy("cnn")

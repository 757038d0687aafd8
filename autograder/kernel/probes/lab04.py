"""Probes of lab 04, "MNIST with Keras" (04_n; seeds 001: mnist_cnn.py, and 003: the 784-100-100-100-10 MLP).

Each probe takes what the hidden test passes (the student's function, the notebook's arrays, or a trained
model with the student's ``preprocess``), draws the check's inputs (fixed seeds, salted while grading) and
reaches the student's code only through :func:`~autograder.kernel.transcript.observe`, in the order the
grader's checks (``autograder.labs.lab04.checks``) replay it. The ``*_cases``, ``*_rows``, ``*_problem``
and ``*_label`` functions and the constants are the inputs both sides draw; the functions that take the
student's objects (:func:`preprocess_facts`, :func:`train_facts`, :func:`predictions`, ...) run in the
kernel only and return plain data: arrays' shapes and values, layer descriptions, a History's logs, the
classes a model predicts for the grader's test images, one digest per image of the training data.

The big arrays and the models stay in the kernel. The grader's test images are its salted copies of the test
images of the data directory the grader provides (:func:`grader_test_set`, :mod:`autograder.datasets.mnist`);
their labels are the grader's to count with. A trained model's layers and weights also cross, for the grader to run
the network itself: to audit the classes reported and to compute the losses its membership test compares (issues
18.4, 18.5). Nothing here knows a right answer or a bar.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np

from autograder.datasets import mnist
from autograder.kernel import held_out
from autograder.kernel.compare import CheckFailure, describe_array
from autograder.kernel.probes.keras_facts import (
    array_facts,
    keras_module,
    layer_specs,
    model_weights,
    numpy_array,
    outputs_of,
    require_model,
)
from autograder.kernel.student import case_rng, run_student
from autograder.kernel.transcript import DATA_DTYPES, digest, observe, probe

# ----------------------------------------------------------------- inputs (the same on both sides)

NUM_CLASSES = 10  # the notebook's NUM_CLASSES: the models' outputs and the toy problem's labels

PREPROCESS_SEED = 401  # check_preprocess's random images
BUILD_SEED = 402  # the images the built models are run on, and Keras's seed for their initial weights
PLOT_SEED = 403  # the noise of plot_history's made-up curves
TRAIN_ROWS_SEED, TEST_ROWS_SEED = 405, 406  # the rows of the notebook's arrays that check_prepared compares
TEST_COPY_SEED = 407  # the grader's test images: shifted copies of the data directory's, in a salted order

# check_train's toy problem: random images with random labels. Nothing can be learnt that carries over to
# the held-out 20 %, so the validation loss soon rises and EarlyStopping must stop the run.
TRAIN_CHECK_SAMPLES = 250
TRAIN_CHECK_EPOCHS = 30
TRAIN_CHECK_BATCH = 25
TRAIN_CHECK_SEED = 404  # the toy problem, and Keras's seed for the initial weights of the grader's model

# check_prepared compares this many rows of each array (drawn with the course's salt; the first and the last
# are added): the arrays themselves are too big to leave the kernel.
PREPARED_ROWS = 48
PREPARED_LABEL = "x_train, y_train, x_test, y_test"

IMAGE_DIGEST_BYTES = 8  # one uint64 per image: how the training data's images cross, to be looked up


def fitted_count(samples: int) -> int:
    """How many of ``samples`` training images fit trains on (validation_split holds out the last 20 %)."""
    return samples - int(samples * 0.2)


def preprocess_cases() -> list[tuple[np.ndarray, str]]:
    """The grader's images for check_preprocess (the random ones drawn with the course's salt), with a note each."""
    rng = case_rng(PREPROCESS_SEED)
    ramp = np.tile(np.arange(28, dtype=np.uint8) * 9, (28, 1))[None]  # 0, 9, ..., 243 along each row
    return [
        (rng.integers(0, 256, size=(5, 28, 28), dtype=np.uint8), "5 random images"),
        (ramp, "one image, a grey ramp 0..243"),
        (np.stack([np.zeros((28, 28), np.uint8), np.full((28, 28), 255, np.uint8)]), "black and white images"),
        (rng.integers(0, 256, size=(64, 28, 28), dtype=np.uint8), "64 random images"),
    ]


def preprocess_label(x: np.ndarray, note: str) -> str:
    return f"preprocess({describe_array(x)})  [{note}]"


def prepared_rows(count: int, seed: int) -> np.ndarray:
    """The rows of a ``count``-row array that check_prepared compares: the first, the last and random ones."""
    picked = case_rng(seed).choice(count, size=min(PREPARED_ROWS, count), replace=False)
    return np.unique(np.concatenate([[0, count - 1], picked])).astype(np.int64)


def grader_rows(train_count: int, test_count: int) -> tuple[np.ndarray, np.ndarray]:
    """check_prepared's rows of the training arrays and of the test arrays (the grader's image counts)."""
    return prepared_rows(train_count, TRAIN_ROWS_SEED), prepared_rows(test_count, TEST_ROWS_SEED)


def model_inputs() -> np.ndarray:
    """The 3 random float32 images (3, 28, 28, 1) in [0, 1] that a built model is run on."""
    return case_rng(BUILD_SEED).uniform(0.0, 1.0, size=(3, 28, 28, 1)).astype(np.float32)


def build_labels(name: str) -> tuple[str, str, str, str]:
    """The labels of a build check's four observations: the build, its outputs, its layers, a second build."""
    label = f"{name}()"
    return label, f"{label}(x)", f"{label}'s layers", f"{label} again"


def train_check_problem() -> tuple[np.ndarray, np.ndarray]:
    """Random images (TRAIN_CHECK_SAMPLES, 28, 28, 1) in [0, 1] with random one-hot labels (N, NUM_CLASSES)."""
    rng = case_rng(TRAIN_CHECK_SEED)
    x = rng.uniform(0.0, 1.0, size=(TRAIN_CHECK_SAMPLES, 28, 28, 1)).astype(np.float32)
    y = np.eye(NUM_CLASSES, dtype=np.float32)[rng.integers(0, NUM_CLASSES, size=TRAIN_CHECK_SAMPLES)]
    return x, y


def train_label(x: np.ndarray, y: np.ndarray) -> str:
    return (f"train(model, x {describe_array(x)}, y {describe_array(y)}, epochs={TRAIN_CHECK_EPOCHS}, "
            f"batch_size={TRAIN_CHECK_BATCH})  [random labels: the validation loss soon rises]")


def fake_history_values(epochs: int = 4) -> dict[str, np.ndarray]:
    """Made-up, distinct learning curves, as a History holds them (a little noise drawn with the course's salt)."""
    t = np.arange(epochs, dtype=np.float64)
    noise = case_rng(PLOT_SEED).uniform(0.0, 0.02, size=(4, epochs))  # below the curves' smallest distance (0.05)
    return {
        "loss": 1.2 * 0.6 ** t + 0.05 + noise[0],
        "accuracy": 0.95 - 0.5 * 0.5 ** t + noise[1],
        "val_loss": 1.0 * 0.7 ** t + 0.15 + noise[2],
        "val_accuracy": 0.9 - 0.4 * 0.55 ** t + noise[3],
    }


def plot_label(values: dict[str, np.ndarray]) -> str:
    return f"plot_history(history)  [a History with {len(values['loss'])} epochs of made-up values]"


def accuracy_labels(kind: str) -> tuple[str, str, str]:
    """The labels of an accuracy check's observations: the model and x_train, the predictions, the training time."""
    return f"{kind} and x_train", f"{kind}.predict(preprocess(x_test))", f"{kind}_seconds"


def grader_test_set(x_test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The grader's test images made from the data directory's ``x_test`` (N, 28, 28) uint8: its own shifted copies
    (:func:`autograder.datasets.mnist.test_copies`, (N, 28, 28) uint8) in a salted order, and that order ((N,)
    indices into ``x_test``: the copies' labels are ``y_test[order]``). The copies are not images a student can load,
    so a table of the loaded test images (image -> label) finds none of them. Drawn with the held-out secret
    (:func:`held_out.rng`): the kernel receives the copies from the grader (:data:`TEST_COPIES`), never the order."""
    rng = held_out.rng(TEST_COPY_SEED)
    order = rng.permutation(len(x_test))
    return mnist.test_copies(x_test[order], rng), order


def _draw_test_copies() -> dict[str, np.ndarray]:
    copies, order = grader_test_set(mnist.load()[1][0])
    return {"copies": copies, "order": order}


TEST_COPIES = held_out.HeldOutSet("lab04-test-copies", _draw_test_copies, ("copies",))


def grader_test_images() -> np.ndarray:
    """The grader's test images (N, 28, 28) uint8 (:func:`grader_test_set` of the data directory's test images), as
    the kernel receives them."""
    return held_out.arrays(TEST_COPIES)["copies"]


# ------------------------------------------------------- what the kernel sends of the student's objects


def image_rows(x: Any) -> np.ndarray | None:
    """``x`` as float32 rows of 784 pixels, or None when it is not image-shaped."""
    try:
        arr = numpy_array(x)
    except Exception:
        return None
    if arr.dtype == object or arr.ndim == 0 or not len(arr) or arr.size != len(arr) * 784:
        return None
    return np.ascontiguousarray(arr.reshape(len(arr), 784).astype(np.float32))


def image_digests(x: Any) -> np.ndarray | None:
    """One digest (uint64) per image of ``x``, of its 784 pixels as float32 (:func:`image_rows`); None when ``x``
    is not image-shaped. Equal images have equal digests, other images other ones (but for a chance of 2**-64 a
    pair): the grader looks its own test images up among them without the images leaving the kernel."""
    return _row_digests(image_rows(x))


def _row_digests(rows: np.ndarray | None) -> np.ndarray | None:
    if rows is None:
        return None
    keys = b"".join(hashlib.blake2b(row.tobytes(), digest_size=IMAGE_DIGEST_BYTES).digest() for row in rows)
    return np.frombuffer(keys, dtype="<u8").astype(np.uint64)


def largest(arr: np.ndarray) -> float | None:
    """The largest value of a non-empty array of numbers (NaN if it holds one); None otherwise."""
    if not arr.size or arr.dtype.kind not in "biuf":
        return None
    return float(np.max(arr))


# preprocess


def preprocess_facts(fn: Callable, label: str, x: np.ndarray) -> dict:
    """In the kernel: preprocess on a copy of ``x``: that copy afterwards (``"argument"``: did the function change
    it?) and its result's facts (:func:`array_facts`)."""
    given = x.copy()
    got = run_student(fn, "preprocess", label, given)
    return {"argument": given, **array_facts(got)}


# the notebook's arrays


def prepared_facts(value: Any, rows: np.ndarray, image: bool) -> dict:
    """In the kernel: one of the notebook's arrays: its shape, dtype, range (images) and the rows ``rows``."""
    arr = numpy_array(value)
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


def notebook_arrays(arrays: dict[str, Any], train_rows: np.ndarray, test_rows: np.ndarray) -> dict:
    """In the kernel: check_prepared's facts: one digest per image of x_train, and each array's facts."""
    facts: dict[str, Any] = {"x_train_digests": image_digests(arrays["x_train"])}
    for key, value in arrays.items():
        facts[key] = prepared_facts(value, train_rows if key.endswith("train") else test_rows, key.startswith("x"))
    return facts


# the models


def build_model(fn: Callable, name: str, label: str, held: dict) -> None:
    """In the kernel: the student's model, built with Keras's seed BUILD_SEED (its initial weights, and so its
    outputs, are the same on every run); it waits in ``held`` for the observations that follow."""
    keras_module().utils.set_random_seed(BUILD_SEED)
    model = run_student(fn, name, label)
    require_model(model, label)
    held["model"] = model


def built_outputs(held: dict, x: np.ndarray, label: str) -> np.ndarray:
    """In the kernel: the held model's outputs on the grader's images ``x``."""
    return outputs_of(held["model"], x, label)


def model_structure(held: dict) -> dict:
    """In the kernel: the held model's layers (:func:`layer_specs`; the grader describes them) and its parameter
    count."""
    model = held["model"]
    return {"layers": layer_specs(model), "params": int(model.count_params())}


def built_again(fn: Callable, name: str, held: dict) -> bool:
    """In the kernel: whether a second call of the student's function returns the very model of the first."""
    return run_student(fn, name, f"{name}()") is held["model"]


# training


def grader_model():
    """In the kernel: a small model of the grader's (seeded initial weights) for the student's train."""
    keras = keras_module()
    keras.utils.set_random_seed(TRAIN_CHECK_SEED)
    return keras.Sequential([
        keras.Input(shape=(28, 28, 1)),
        keras.layers.Flatten(),
        keras.layers.Dense(64, activation="relu"),
        keras.layers.Dense(NUM_CLASSES, activation="softmax"),
    ])


def _plain(value: Any) -> Any:
    """A setting as data: None, numbers and strings as they are, anything else by its repr."""
    return value if value is None or isinstance(value, (int, float, str, np.integer, np.floating)) else repr(value)


def _loss_name(loss: Any) -> str:
    """The name a model was compiled with for its loss: "categorical_crossentropy", CategoricalCrossentropy's ..."""
    return str(loss if isinstance(loss, str) else getattr(loss, "name", getattr(loss, "__name__", type(loss).__name__)))


def train_facts(fn: Callable, label: str, x: np.ndarray, y: np.ndarray) -> dict:
    """In the kernel: the student's train on a model of the grader's and (x, y), as data.

    What train returned; for a History also digests of the model's weights before and after, its optimizer's
    class and (Adam's) learning rate, its loss's name, the History's logs, epochs and steps, and the trained
    model's outputs on all of ``x`` (or why they could not be had).
    """
    keras = keras_module()
    model = grader_model()
    before = digest(model.get_weights())
    history = run_student(fn, "train", label, model, x.copy(), y.copy(), epochs=TRAIN_CHECK_EPOCHS,
                          batch_size=TRAIN_CHECK_BATCH)
    facts: dict[str, Any] = {"returned": type(history).__name__,
                             "is_history": isinstance(history, keras.callbacks.History)}
    if not facts["is_history"]:
        return facts
    optimizer = getattr(model, "optimizer", None)
    params = getattr(history, "params", None) or {}
    facts.update(
        weights_before=before,
        weights_after=digest(model.get_weights()),
        optimizer=type(optimizer).__name__ if optimizer is not None else None,
        learning_rate=float(numpy_array(optimizer.learning_rate)) if type(optimizer).__name__ == "Adam" else None,
        loss=_loss_name(getattr(model, "loss", None)),
        logs={str(key): [float(v) for v in values] for key, values in history.history.items()},
        epochs=_plain(params.get("epochs")),
        steps=_plain(params.get("steps")),
        outputs=None, outputs_error=None,
    )
    try:
        facts["outputs"] = outputs_of(model, x, "model(x)")
    except CheckFailure as exc:  # judged after the History's own faults
        facts["outputs_error"] = str(exc)
    return facts


# plot


def fake_history(values: dict[str, np.ndarray]):
    """In the kernel: a keras History holding ``values``, as train returns it."""
    keras = keras_module()
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


def figure_facts(fn: Callable, label: str, values: dict[str, np.ndarray]) -> dict:
    """In the kernel: plot_history on a History of ``values``: what it returned and, for a Figure, each axes'
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


# the trained models


def model_and_data(model: Any, preprocess: Callable, x_train: Any, x_test: np.ndarray, kind: str) -> dict:
    """In the kernel: the model must be a Keras model; one digest per image of the training data and of the grader's
    test images through the student's preprocess (None where they are not images, or preprocess fails: its own
    check reports that), and the training data's largest value (None when it is not image-shaped)."""
    require_model(model, kind)
    rows = image_rows(x_train)
    try:
        preprocessed = image_digests(preprocess(x_test.copy()))
    except Exception:  # a broken preprocess is reported by its own check
        preprocessed = None
    return {"x_train_digests": _row_digests(rows), "preprocessed_digests": preprocessed,
            "train_max": None if rows is None else largest(rows)}


# Methods a trained model must not carry on the instance itself: its accuracy is measured through Keras's own
# predict on its layers, not through a function put in their place (a lookup, a nearest neighbour).
REPLACEABLE_METHODS = ("predict", "predict_on_batch", "predict_step", "call", "__call__")


def structure_label(kind: str) -> str:
    return f"{kind}'s layers, and those of build_{kind}()"


def trained_structure(model: Any, build: Callable | None, kind: str) -> dict:
    """In the kernel: the trained model's layers (:func:`layer_specs`), the methods set on the model instance
    itself (``replaced``), and the layers of a new model from the notebook's ``build`` (None without one)."""
    require_model(model, kind)
    replaced = sorted(name for name in REPLACEABLE_METHODS if name in vars(model))
    built = None
    if build is not None:
        fresh = run_student(build, f"build_{kind}", f"build_{kind}()")
        require_model(fresh, f"build_{kind}()")
        built = layer_specs(fresh)
    return {"layers": layer_specs(model), "replaced": replaced, "built": built}


def predictions(model: Any, preprocess: Callable, x_test: np.ndarray, label: str) -> dict:
    """In the kernel: the grader's test images through the student's preprocess (its result's shape, dtype and
    largest value), then through the model (its outputs' shape and, when they are (N, NUM_CLASSES), the classes
    it predicts). A preprocess or predict that raises is a failure."""
    inputs = numpy_array(run_student(preprocess, "preprocess", f"preprocess(the grader's test images "
                                     f"{describe_array(x_test)})", x_test.copy()))
    facts = {"shape": tuple(int(n) for n in inputs.shape), "dtype": str(inputs.dtype), "max": largest(inputs),
             "outputs_shape": None, "predicted": None}
    if inputs.ndim == 0 or len(inputs) != len(x_test):
        return facts
    out = outputs_of(model, inputs, label, own=True)
    facts["outputs_shape"] = tuple(int(n) for n in out.shape)
    if out.shape == (len(x_test), NUM_CLASSES):
        facts["predicted"] = np.argmax(out, axis=1).astype(np.int64)
        # for the grader's own forward pass of the network on its test images (autograder.labs.lab04.forward): the
        # layers and weights, and preprocess as a scale and an offset (y = a x + b, fitted on these images)
        facts.update(layers=layer_specs(model), weights=model_weights(model), scale=affine_fit(x_test, inputs))
    return facts


def affine_fit(raw: np.ndarray, preprocessed: np.ndarray) -> list[float] | None:
    """(a, b) with ``preprocessed`` = a * ``raw`` + b, pixel for pixel, by least squares; None if the two do not hold
    the same number of values or are not numbers."""
    if preprocessed.size != raw.size or preprocessed.dtype.kind not in "biuf":
        return None
    x = raw.reshape(-1).astype(np.float64)
    y = preprocessed.reshape(-1).astype(np.float64)
    x_mean, y_mean = x.mean(), y.mean()
    a = float(np.mean((x - x_mean) * (y - y_mean)) / max(float(np.var(x)), 1e-12))
    return [a, float(y_mean - a * x_mean)]


# ------------------------------------------------------------------------------ probes


@probe
def check_preprocess(fn: Callable) -> None:
    for x, note in preprocess_cases():
        label = preprocess_label(x, note)
        observe(label, partial(preprocess_facts, fn, label, x), x)


@probe
def check_prepared(x_train: Any, y_train: Any, x_test: Any, y_test: Any) -> None:
    (train_images, _), (test_images, _) = mnist.load()
    train_rows, test_rows = grader_rows(len(train_images), len(test_images))
    arrays = {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}
    observe(PREPARED_LABEL, partial(notebook_arrays, arrays, train_rows, test_rows), train_rows, test_rows)


def _probe_built(fn: Callable, name: str) -> None:
    build, run, layers, again = build_labels(name)
    held: dict[str, Any] = {}  # the student's model, here in the kernel only
    observe(build, partial(build_model, fn, name, build, held))
    x = model_inputs()
    observe(run, partial(built_outputs, held, x, f"{build}(x of shape (3, 28, 28, 1))"), x)
    observe(layers, partial(model_structure, held))  # after predict: the model is built
    observe(again, partial(built_again, fn, name, held))


@probe
def check_build_mlp(fn: Callable) -> None:
    _probe_built(fn, "build_mlp")


@probe
def check_build_cnn(fn: Callable) -> None:
    _probe_built(fn, "build_cnn")


@probe
def check_train(fn: Callable) -> None:
    x, y = train_check_problem()
    label = train_label(x, y)
    observe(label, partial(train_facts, fn, label, x, y), x, y)


@probe
def check_plot_history(fn: Callable) -> None:
    values = fake_history_values()
    label = plot_label(values)
    observe(label, partial(figure_facts, fn, label, values), values)


def _probe_accuracy(kind: str, model: Any, preprocess: Callable, x_train: Any, train_seconds: Any,
                    build: Callable | None) -> None:
    data, predicted, seconds = accuracy_labels(kind)
    _, (loaded, _) = mnist.load()
    copies = grader_test_images()
    # the loaded test images: the grader looks them up in the training data (the copies would never match)
    observe(data, partial(model_and_data, model, preprocess, x_train, loaded, kind), loaded)
    observe(structure_label(kind), partial(trained_structure, model, build, kind))
    observe(predicted, partial(predictions, model, preprocess, copies, predicted), copies)
    observe(seconds, lambda: float(train_seconds))


@probe
def check_mlp_accuracy(mlp: Any, preprocess: Callable, x_train: Any, mlp_seconds: Any,
                       build_mlp: Callable | None = None) -> None:
    _probe_accuracy("mlp", mlp, preprocess, x_train, mlp_seconds, build_mlp)


@probe
def check_cnn_accuracy(cnn: Any, preprocess: Callable, x_train: Any, cnn_seconds: Any,
                       build_cnn: Callable | None = None) -> None:
    _probe_accuracy("cnn", cnn, preprocess, x_train, cnn_seconds, build_cnn)


"""Lab 04's hidden checks accept the reference solution and reject each realistic mistake.

Runs in-process on the code of solutions/lab04/04_n.ipynb (no nbgrader) with the MNIST stand-in in a
temporary data directory, so a broken check shows here first, with the check's own message. The
reference MLP and CNN are trained once (about 25 s on the stand-in); the mistakes are judged on
those models or on the checks' own toy problems, without training again.
"""

from __future__ import annotations

import importlib
import re

import keras
import matplotlib
import nbformat
import numpy as np
import pytest

from autograder.checks import CheckFailure
from autograder.datasets import DATA_ENV, REAL, STANDIN, mnist
from autograder.labs import lab04

from conftest import REPO

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the backend)

FUNCTION_CHECKS = {
    "preprocess": lab04.check_preprocess,
    "build_mlp": lab04.check_build_mlp,
    "train": lab04.check_train,
    "plot_history": lab04.check_plot_history,
    "build_cnn": lab04.check_build_cnn,
}
# cells of the notebook that define or compute things, up to the trained models (no tests)
PIPELINE = ["imports", "load_data", "preprocess", "settings", "prepare", "build_mlp", "train", "plot_history",
            "build_cnn"]


def _solution_cells() -> dict[str, str]:
    nb = nbformat.read(REPO / "solutions" / "lab04" / "04_n.ipynb", as_version=4)
    return {c.metadata["nbgrader"]["grade_id"]: c.source for c in nb.cells if c.cell_type == "code"}


def _run(cells: dict[str, str], names: list[str], replacements: dict[str, str] | None = None,
         ns: dict | None = None) -> dict:
    """Execute notebook cells (with some replaced) in a namespace, as the notebook would."""
    ns = {} if ns is None else ns
    for grade_id in names:
        source = (replacements or {}).get(grade_id, cells[grade_id])
        exec(compile(source, f"<{grade_id}>", "exec"), ns)
    plt.close("all")
    return ns


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    directory = tmp_path_factory.mktemp("data")
    mnist.write_standin(directory)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(DATA_ENV, str(directory))
        yield directory


@pytest.fixture(scope="module")
def samples():
    module = importlib.import_module("make_lab04_samples")  # examples/ is on sys.path (conftest)
    return module


@pytest.fixture(scope="module")
def cells():
    return _solution_cells()


@pytest.fixture(scope="module")
def solution(data_dir, cells):
    """The answer key's definitions and data, and its trained MLP and CNN (the locked fit cells)."""
    return _run(cells, [*PIPELINE, "fit_mlp", "fit_cnn"])


def _variant(cells, samples, student: str) -> dict:
    """A sample student's definitions and data (nothing trained)."""
    return _run(cells, PIPELINE, samples.MISTAKES[student])


# ------------------------------------------------------------------ the reference


@pytest.mark.parametrize("name", sorted(FUNCTION_CHECKS))
def test_reference_solution_passes_every_function_check(solution, name):
    FUNCTION_CHECKS[name](solution[name])


def test_reference_data_and_models_pass(solution, capsys):
    ns = solution
    lab04.check_prepared(ns["x_train"], ns["y_train"], ns["x_test"], ns["y_test"])
    lab04.check_mlp_accuracy(ns["mlp"], ns["preprocess"], ns["x_train"], ns["mlp_seconds"])
    lab04.check_cnn_accuracy(ns["cnn"], ns["preprocess"], ns["x_train"], ns["cnn_seconds"])
    out = capsys.readouterr().out
    for metric in ("mlp_test_accuracy", "mlp_train_s", "cnn_test_accuracy", "cnn_train_s"):
        assert f"[metric] {metric} = " in out


def test_reference_figures_are_those_quoted_beside_the_stand_in_thresholds(solution):
    """lab04.py quotes 0.9045 / 0.9035 (MLP) and 0.911 / 0.9065 (CNN) for TensorFlow / torch, one thread.

    In-process the thread count is the test process's, so the figures may move a little.
    """
    limits = lab04.THRESHOLDS[STANDIN]
    mlp, _ = lab04.measure_accuracy(solution["mlp"], solution["preprocess"], "mlp")
    cnn, _ = lab04.measure_accuracy(solution["cnn"], solution["preprocess"], "cnn")
    assert mlp == pytest.approx(0.904, abs=0.015)
    assert cnn == pytest.approx(0.909, abs=0.015)
    assert mlp - limits.mlp_accuracy >= 0.035 and cnn - limits.cnn_accuracy >= 0.025  # margins
    assert solution["mlp_seconds"] < limits.mlp_train_s / 3 and solution["cnn_seconds"] < limits.cnn_train_s / 3


def test_the_thresholds_are_stated_once_per_profile_and_the_notebook_quotes_them():
    assert set(lab04.THRESHOLDS) == {REAL, STANDIN}
    real = lab04.THRESHOLDS[REAL]
    nb = nbformat.read(REPO / "source" / "lab04" / "04_n.ipynb", as_version=4)
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert f"しきい値は {real.mlp_accuracy * 100:g} %" in text
    assert f"しきい値は {real.cnn_accuracy * 100:g} %" in text
    settings = {}
    exec(next(c.source for c in nb.cells if c.get("id") == "settings"), settings)
    for name in ("NUM_CLASSES", "VALIDATION_SPLIT", "LEARNING_RATE", "PATIENCE"):
        assert settings[name] == getattr(lab04, name), name


# ------------------------------------------------------------------ the sample mistakes


def test_test_set_in_training_is_noticed_by_the_data_and_accuracy_checks(solution, cells, samples):
    ns = _variant(cells, samples, "test-set-in-training")
    for name, check in FUNCTION_CHECKS.items():
        check(ns[name])
    assert lab04.count_test_images(ns["x_train"]) == len(ns["x_test_raw"])
    with pytest.raises(CheckFailure, match="contains 2000 of the grader's test images"):
        lab04.check_prepared(ns["x_train"], ns["y_train"], ns["x_test"], ns["y_test"])
    # whatever model was trained on it, its accuracy is not measured
    with pytest.raises(CheckFailure, match="accuracy not measured"):
        lab04.check_mlp_accuracy(solution["mlp"], ns["preprocess"], ns["x_train"], 1.0)


def test_no_normalisation_at_test_time_is_noticed(solution, cells, samples):
    ns = _variant(cells, samples, "no-normalisation-at-test")
    with pytest.raises(CheckFailure, match="divide by 255"):
        lab04.check_preprocess(ns["preprocess"])
    for name, check in FUNCTION_CHECKS.items():
        if name != "preprocess":
            check(ns[name])
    lab04.check_prepared(ns["x_train"], ns["y_train"], ns["x_test"], ns["y_test"])  # the notebook's arrays are right
    # a model trained on [0, 1] and tested through this preprocess: ReLU networks can keep much of their accuracy
    # on inputs 255 times larger, so the check compares the scales instead of relying on the accuracy
    for kind, check in (("mlp", lab04.check_mlp_accuracy), ("cnn", lab04.check_cnn_accuracy)):
        with pytest.raises(CheckFailure, match="normalised differently"):
            check(solution[kind], ns["preprocess"], ns["x_train"], 1.0)


def test_training_a_copy_leaves_the_model_untrained(cells, samples):
    ns = _variant(cells, samples, "trains-a-copy")
    with pytest.raises(CheckFailure, match="did not change"):
        lab04.check_train(ns["train"])
    for name, check in FUNCTION_CHECKS.items():
        if name != "train":
            check(ns[name])


def test_an_untrained_or_constant_model_is_near_chance_and_fails(solution):
    keras.utils.set_random_seed(1)
    untrained = solution["build_mlp"]()
    with pytest.raises(CheckFailure, match="about chance level"):
        lab04.check_mlp_accuracy(untrained, solution["preprocess"], solution["x_train"], 1.0)
    majority = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(),
                                 keras.layers.Dense(10, activation="softmax", kernel_initializer="zeros",
                                                    bias_initializer=keras.initializers.Constant(np.eye(10)[3]))])
    with pytest.raises(CheckFailure, match=r"test accuracy too low: 0\.1000"):
        lab04.check_cnn_accuracy(majority, solution["preprocess"], solution["x_train"], 1.0)


def test_a_linear_model_does_not_reach_the_stand_in_thresholds(solution):
    """A softmax regression (Flatten-Dense(10)) trained the notebook's way: measured 0.777 (TF) / 0.798 (torch)."""
    keras.utils.set_random_seed(0)
    linear = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(),
                               keras.layers.Dense(10, activation="softmax")])
    solution["train"](linear, solution["x_train"], solution["y_train"], epochs=20, batch_size=100)
    accuracy, _ = lab04.measure_accuracy(linear, solution["preprocess"], "linear")
    limits = lab04.THRESHOLDS[STANDIN]
    assert accuracy < min(limits.mlp_accuracy, limits.cnn_accuracy) - 0.03, accuracy
    with pytest.raises(CheckFailure, match="test accuracy too low"):
        lab04.check_mlp_accuracy(linear, solution["preprocess"], solution["x_train"], 1.0)


def test_the_training_time_budget_is_checked(solution):
    budget = lab04.THRESHOLDS[STANDIN].mlp_train_s
    with pytest.raises(CheckFailure, match="training took too long"):
        lab04.check_mlp_accuracy(solution["mlp"], solution["preprocess"], solution["x_train"], budget + 1)


# ------------------------------------------------------------------ train: other mistakes

TRAIN_TEMPLATE = '''def train(model, x, y, epochs, batch_size):
    model.compile(optimizer=keras.optimizers.Adam(learning_rate={lr}), loss={loss!r}, metrics={metrics!r})
    callbacks = {callbacks}
    return model.fit(x, y, epochs=epochs, batch_size={batch}, {validation}, callbacks=callbacks, verbose=0)
'''
EARLY = 'keras.callbacks.EarlyStopping(monitor="val_loss", patience=PATIENCE, restore_best_weights={restore})'


def _train_variant(solution, **changes):
    fields = {"lr": "LEARNING_RATE", "loss": "categorical_crossentropy", "metrics": ["accuracy"],
              "callbacks": f"[{EARLY.format(restore=True)}]", "batch": "batch_size",
              "validation": "validation_split=VALIDATION_SPLIT"}
    fields.update(changes)
    ns = dict(solution)
    exec(TRAIN_TEMPLATE.format(**fields), ns)
    return ns["train"]


def test_the_template_of_train_variants_passes_as_written(solution):
    lab04.check_train(_train_variant(solution))


@pytest.mark.parametrize("changes, message", [
    ({"callbacks": "[]"}, "did not stop as EarlyStopping"),
    ({"callbacks": f"[{EARLY.format(restore=False)}]"}, "restore_best_weights=True"),
    ({"callbacks": '[keras.callbacks.EarlyStopping(monitor="val_accuracy", patience=PATIENCE)]'},
     "did not stop as EarlyStopping|restore_best_weights"),
    ({"validation": "validation_data=(x_test, y_test)"}, "validating on the test set"),
    ({"validation": "validation_split=0.1"}, "wrong number of steps per epoch"),
    ({"batch": "32"}, "wrong number of steps per epoch"),
    ({"lr": "0.01"}, "learning rate must be LEARNING_RATE"),
    ({"loss": "mse"}, "categorical_crossentropy"),
    ({"metrics": ["acc"]}, "no 'accuracy'"),
])
def test_train_mistakes_are_named(solution, changes, message):
    with pytest.raises(CheckFailure, match=message):
        lab04.check_train(_train_variant(solution, **changes))


def test_early_stopping_length_follows_keras():
    assert lab04.early_stopping_length([1.0, 0.9, 0.95, 0.96, 0.97, 0.5], epochs=10, patience=3) == 5
    assert lab04.early_stopping_length([1.0, 0.9, 0.8, 0.7], epochs=4, patience=3) == 4
    assert lab04.early_stopping_length([1.0, 1.0, 1.0, 1.0], epochs=10, patience=3) == 4  # equal is no improvement


# ------------------------------------------------------------------ build, plot, preprocess: other mistakes


def test_the_lectures_mlp_on_flat_inputs_is_rejected():
    def build_mlp():  # seed 003's model, for inputs reshaped to 784
        return keras.Sequential([keras.Input((784,)), keras.layers.Dense(100, activation="relu"),
                                 keras.layers.Dense(100, activation="relu"), keras.layers.Dense(100, activation="relu"),
                                 keras.layers.Dense(10, activation="softmax")])

    with pytest.raises(CheckFailure, match="model.predict raised an error"):
        lab04.check_build_mlp(build_mlp)


def test_mlp_without_softmax_and_shared_models_are_rejected():
    def no_softmax():
        return keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(),
                                 *[keras.layers.Dense(100, activation="relu") for _ in range(3)],
                                 keras.layers.Dense(10)])

    with pytest.raises(CheckFailure, match="softmax"):
        lab04.check_build_mlp(no_softmax)

    shared = no_softmax()
    shared.layers[-1].activation = keras.activations.softmax

    def same_model():
        return shared

    with pytest.raises(CheckFailure, match="new model on every call"):
        lab04.check_build_mlp(same_model)


def test_separate_activation_layers_are_accepted():
    def build_mlp():
        return keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(),
                                 keras.layers.Dense(100), keras.layers.ReLU(),
                                 keras.layers.Dense(100), keras.layers.Activation("relu"),
                                 keras.layers.Dense(100, activation="relu"),
                                 keras.layers.Dense(10), keras.layers.Softmax()])

    lab04.check_build_mlp(build_mlp)


def _cnn(*, dropout: bool = True, padding: str = "valid"):
    layers = keras.layers
    stack = [keras.Input((28, 28, 1)), layers.Conv2D(32, 3, activation="relu", padding=padding),
             layers.Conv2D(64, 3, activation="relu", padding=padding), layers.MaxPooling2D(2)]
    stack += [layers.Dropout(0.25)] if dropout else []
    stack += [layers.Flatten(), layers.Dense(128, activation="relu")]
    stack += [layers.Dropout(0.5)] if dropout else []
    stack += [layers.Dense(10, activation="softmax")]
    return keras.Sequential(stack)


def test_cnn_structure_mistakes_are_named():
    lab04.check_build_cnn(_cnn)
    with pytest.raises(CheckFailure, match=r"the layers differ(.|\n)*expected: Conv2D\(32, 3x3, relu\)"):
        lab04.check_build_cnn(lambda: _cnn(dropout=False))
    with pytest.raises(CheckFailure, match="no padding"):
        lab04.check_build_cnn(lambda: _cnn(padding="same"))


def test_plot_mistakes_are_named():
    def one_axes(history):
        fig, ax = plt.subplots()
        for key in ("loss", "val_loss", "accuracy", "val_accuracy"):
            ax.plot(history.history[key], label=key)
        ax.legend()
        return fig

    def no_legend(history):
        fig, axes = plt.subplots(1, 2)
        axes[0].plot(history.history["loss"])
        axes[0].plot(history.history["val_loss"])
        axes[1].plot(history.history["accuracy"])
        axes[1].plot(history.history["val_accuracy"])
        return fig

    def returns_nothing(history):
        plt.plot(history.history["loss"])

    def training_curves_only(history):
        fig, axes = plt.subplots(1, 2)
        axes[0].plot(history.history["loss"], label="loss")
        axes[1].plot(history.history["accuracy"], label="accuracy")
        return fig

    with pytest.raises(CheckFailure, match="separate axes"):
        lab04.check_plot_history(one_axes)
    with pytest.raises(CheckFailure, match="legend"):
        lab04.check_plot_history(no_legend)
    with pytest.raises(CheckFailure, match="must return the matplotlib Figure"):
        lab04.check_plot_history(returns_nothing)
    with pytest.raises(CheckFailure, match=re.escape("draw loss and val_loss")):
        lab04.check_plot_history(training_curves_only)
    assert plt.get_fignums() == []  # the check closes what the student's function opened


@pytest.mark.parametrize("source, message", [
    ("def preprocess(x):\n    return x.reshape(-1, 784) / 255", "reshape to \\(N, 28, 28, 1\\)"),
    ("def preprocess(x):\n    return (x / 255).reshape(-1, 28, 28, 1)", "dtype must be float32"),
    ("def preprocess(x):\n    x = x.reshape(-1, 28, 28, 1).astype('float32')\n    return x / 127.5 - 1", "values differ"),
    ("def preprocess(x):\n    x[...] = x // 2\n    return x.astype('float32').reshape(-1, 28, 28, 1) / 127.5",
     "must not modify its argument"),
    ("def preprocess(x):\n    raise NotImplementedError()", "not implemented"),
])
def test_preprocess_mistakes_are_named(source, message):
    ns = {"np": np}
    exec(source, ns)
    with pytest.raises(CheckFailure, match=message):
        lab04.check_preprocess(ns["preprocess"])


def test_one_hot_and_test_split_are_checked(solution):
    ns = solution
    with pytest.raises(CheckFailure, match="one-hot"):
        lab04.check_prepared(ns["x_train"], ns["y_train_raw"], ns["x_test"], ns["y_test"])
    with pytest.raises(CheckFailure, match="values are not in \\[0, 1\\]"):
        lab04.check_prepared(ns["x_train"] * 255, ns["y_train"], ns["x_test"], ns["y_test"])


def test_the_stand_ins_test_images_are_not_in_its_training_images(data_dir):
    (x_train, _), (x_test, _) = mnist.load(data_dir)
    assert lab04.count_test_images(x_train, x_test=x_test) == 0
    assert lab04.count_test_images(lab04.ref_preprocess(x_test[:7]), x_test=x_test) == 7
    assert lab04.count_test_images(x_test[:5].astype(np.float32), x_test=x_test) == 5  # raw pixels count too

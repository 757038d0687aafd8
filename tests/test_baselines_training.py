"""The training labs' accuracy bars are above every trivial baseline, with a margin (issue 18.3).

Lab 04 (MNIST, Keras) and lab 05 (CIFAR-10, PyTorch) on the offline stand-ins, as `autograder data standin`
writes them: each baseline is fitted on the training data as the notebook reads it (the solution notebook's
own cells load and split it), and its accuracy is measured as the checks measure a student's model, on the
grader's test images and against the grader's labels (lab 04: :func:`autograder.labs.lab04.checks.measure_accuracy`;
lab 05: :func:`autograder.labs.lab05.data.grader_data` and the kernel's ``predict_test``). So the test follows any
change of the grader's test set. The figures are stated beside the bars in the labs' ``thresholds.py``.

Small models, one thread: about half a minute in all.
"""

from __future__ import annotations

import contextlib
import io

import keras
import nbformat
import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression

from autograder.datasets import STANDIN, mnist
from autograder.kernel.probes.lab05 import outputs as lab05_outputs
from autograder.labs import lab05
from autograder.labs.lab04 import checks as lab04_checks
from autograder.labs.lab04 import thresholds as lab04_thresholds
from autograder.labs.lab05 import checks as lab05_checks
from autograder.labs.lab05 import data as lab05_data
from autograder.labs.lab05 import thresholds as lab05_thresholds

from conftest import REPO

LAB04_BASELINES = ("majority class", "logistic regression", "Flatten-Dense(10) trained by train",
                   "build_mlp untrained", "build_cnn untrained")
LAB05_BASELINES = ("majority class", "logistic regression", "Flatten-Linear trained by train_model",
                   "lab-04 MLP trained by train_model", "Net untrained", "ResNet9 untrained")

# The notebooks' cells that load the data and define what the baselines use (no training, no tests).
LAB04_CELLS = ["imports", "load_data", "preprocess", "settings", "prepare", "build_mlp", "train", "build_cnn"]
LAB05_NORMAL_CELLS = ["imports", "load_data", "split_train_val", "prepare", "preprocess", "augment", "net",
                      "evaluate", "train_model"]
LAB05_HARD_CELLS = ["imports", "load_data", "split_train_val", "prepare", "preprocess", "random_crop", "augment",
                    "resnet9"]
RESNET_CPU_WIDTH = 12  # the hard notebook's WIDTH without a GPU, as the stand-in is graded


def _notebook(lab: str, notebook: str, names: list[str]) -> dict:
    """The solution notebook's namespace after ``names`` (its output hidden; torch's thread count kept)."""
    nb = nbformat.read(REPO / "solutions" / lab / f"{notebook}.ipynb", as_version=4)
    cells = {c.metadata["nbgrader"]["grade_id"]: c.source for c in nb.cells if c.cell_type == "code"}
    ns: dict = {}
    threads = torch.get_num_threads()
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            for name in names:
                exec(compile(cells[name], f"<{notebook} {name}>", "exec"), ns)
    finally:
        torch.set_num_threads(threads)
    return ns


@pytest.fixture(scope="module")
def data_dir(standin_data_dir):
    return standin_data_dir  # conftest: both stand-ins, the grader pointed at them


@contextlib.contextmanager
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


# ------------------------------------------------------------------ lab 04 (MNIST, Keras)


class _KerasLike(keras.Sequential):
    """A fitted NumPy classifier as a Keras model, since the grader predicts through Keras's own ``Model.predict``:
    ``call`` returns ``scores(x)``, (N, 784) -> (N, 10)."""

    def __init__(self, scores):
        super().__init__([keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(10)])
        self.run_eagerly = True  # the scores are NumPy
        self.scores = scores

    def call(self, x, training=False):
        x = np.asarray(keras.ops.convert_to_numpy(x))
        return keras.ops.convert_to_tensor(np.asarray(self.scores(x.reshape(len(x), -1)), dtype=np.float32))


@pytest.fixture(scope="module")
def lab04_accuracies(data_dir) -> dict[str, float]:
    """Each baseline's accuracy on the grader's test images, through the notebook's preprocess."""
    assert mnist.profile() == STANDIN
    ns = _notebook("lab04", "04_n", LAB04_CELLS)
    x_train, y_train, labels = ns["x_train"], ns["y_train"], ns["y_train_raw"]
    majority = np.eye(10)[np.bincount(labels).argmax()]
    logistic = LogisticRegression(C=0.1, max_iter=1000).fit(x_train.reshape(len(x_train), -1), labels)
    keras.utils.set_random_seed(0)  # the notebook's fit cells' seed
    linear = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(),
                               keras.layers.Dense(10, activation="softmax")])
    with contextlib.redirect_stdout(io.StringIO()):
        ns["train"](linear, x_train, y_train, epochs=ns["MLP_EPOCHS"], batch_size=ns["MLP_BATCH_SIZE"])
    keras.utils.set_random_seed(0)
    untrained_mlp = ns["build_mlp"]()
    keras.utils.set_random_seed(0)
    untrained_cnn = ns["build_cnn"]()
    models = dict(zip(LAB04_BASELINES, [
        _KerasLike(lambda x: np.tile(majority, (len(x), 1))),
        _KerasLike(logistic.predict_proba),
        linear, untrained_mlp, untrained_cnn,
    ], strict=True))
    return {name: lab04_checks.measure_accuracy(model, ns["preprocess"], name)[0] for name, model in models.items()}


@pytest.mark.parametrize("baseline", LAB04_BASELINES)
def test_every_lab04_baseline_fails_both_stand_in_bars_with_a_margin(lab04_accuracies, baseline):
    accuracy = lab04_accuracies[baseline]
    limits = lab04_thresholds.THRESHOLDS[STANDIN]
    for bar in (limits.mlp_accuracy, limits.cnn_accuracy):
        assert accuracy <= bar - lab04_thresholds.BASELINE_MARGIN, (baseline, accuracy, bar)


def test_lab04_baselines_are_those_stated_beside_the_bars(lab04_accuracies):
    """thresholds.py states 0.100, 0.775 and 0.7735 on the copies (0.8045 and 0.803 on the loaded originals), 0.0965 and 0.0925 (TensorFlow backend,
    one 2-core runner; since issue 18.4 measured on the grader's copies of the test images); the
    untrained networks and the linear models may move a little with the backend and the CPU's round-off."""
    got = lab04_accuracies
    assert got["majority class"] == pytest.approx(0.1)  # the stand-in's test labels are balanced
    assert got["logistic regression"] == pytest.approx(0.775, abs=0.02)
    assert got["Flatten-Dense(10) trained by train"] == pytest.approx(0.775, abs=0.025)
    assert got["build_mlp untrained"] < 0.2 and got["build_cnn untrained"] < 0.2


# ------------------------------------------------------------------ lab 05 (CIFAR-10, PyTorch)


class _TorchLike(torch.nn.Module):
    """A fitted NumPy classifier as an nn.Module (the accuracy probe runs modules with parameters)."""

    def __init__(self, scores):
        super().__init__()
        self.scores = scores
        self.unused = torch.nn.Parameter(torch.zeros(()))

    def forward(self, x):
        rows = x.detach().cpu().numpy().reshape(len(x), -1)
        return torch.as_tensor(self.scores(rows), dtype=torch.float32)


def _lab04_mlp() -> torch.nn.Module:
    """Lab 04's MLP (100-100-100, ReLU) on CIFAR-10's 3072 pixels (logits: train_model takes the cross-entropy)."""
    nn = torch.nn
    return nn.Sequential(nn.Flatten(), nn.Linear(3072, 100), nn.ReLU(), nn.Linear(100, 100), nn.ReLU(),
                         nn.Linear(100, 100), nn.ReLU(), nn.Linear(100, 10))


@pytest.fixture(scope="module")
def lab05_accuracies(data_dir) -> dict[str, float]:
    """Each baseline's accuracy on the grader's test images (grader_data), through the notebook's preprocess."""
    data = lab05_data.grader_data()
    assert data.profile == STANDIN
    with _one_thread():
        normal = _notebook("lab05", "05_n", LAB05_NORMAL_CELLS)
        hard = _notebook("lab05", "05_h", LAB05_HARD_CELLS)
        preprocess, labels = normal["preprocess"], normal["y_train"]
        x, y = preprocess(normal["x_train"]), torch.from_numpy(labels)
        x_val, y_val = preprocess(normal["x_val"]), torch.from_numpy(normal["y_val"])
        majority = np.eye(10)[np.bincount(labels).argmax()]
        logistic = LogisticRegression(C=0.01, max_iter=1000).fit(x.numpy().reshape(len(x), -1), labels)
        trained = {}
        for name, build in (("Flatten-Linear trained by train_model",
                             lambda: torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3072, 10))),
                            ("lab-04 MLP trained by train_model", _lab04_mlp)):
            torch.manual_seed(0)  # the notebook's fit cell's seed; train_model's defaults are the notebook's settings
            trained[name] = build()
            with contextlib.redirect_stdout(io.StringIO()):
                normal["train_model"](trained[name], x, y, x_val, y_val)
        torch.manual_seed(0)
        net = normal["Net"]()
        torch.manual_seed(0)
        resnet = hard["ResNet9"](width=RESNET_CPU_WIDTH)
        models = {"majority class": (_TorchLike(lambda r: np.tile(majority, (len(r), 1))), preprocess),
                  "logistic regression": (_TorchLike(logistic.predict_proba), preprocess),
                  **{name: (model, preprocess) for name, model in trained.items()},
                  "Net untrained": (net, preprocess), "ResNet9 untrained": (resnet, hard["preprocess"])}
        return {name: lab05_checks.measured_accuracy(lab05_outputs.predict_test(model, prep, data.x_test), data)
                for name, (model, prep) in models.items()}


@pytest.mark.parametrize("baseline", LAB05_BASELINES)
def test_every_lab05_baseline_fails_both_stand_in_bars_with_a_margin(lab05_accuracies, baseline):
    accuracy = lab05_accuracies[baseline]
    for notebook in (lab05.NORMAL, lab05.HARD):
        bar = lab05_thresholds.THRESHOLDS[(STANDIN, notebook)].min_accuracy
        assert accuracy <= bar - lab05_thresholds.BASELINE_MARGIN, (baseline, notebook, accuracy, bar)


def test_lab05_baselines_are_those_stated_beside_the_bars(lab05_accuracies):
    """thresholds.py states 0.100, 0.259, 0.231, 0.268, 0.099 and 0.093 (one 2-core runner, one thread)."""
    got = lab05_accuracies
    assert got["majority class"] == pytest.approx(0.1)  # the stand-in's test labels are balanced
    assert got["logistic regression"] == pytest.approx(0.26, abs=0.03)
    assert got["Flatten-Linear trained by train_model"] == pytest.approx(0.24, abs=0.04)
    assert got["lab-04 MLP trained by train_model"] == pytest.approx(0.26, abs=0.04)
    assert got["Net untrained"] < 0.2 and got["ResNet9 untrained"] < 0.2

"""Issue 18.4: training on (or looking up) the grader's test data earns nothing in labs 04 and 05.

The grader's test images are its own copies of the data directory's test images (moved by a fraction of a
pixel and rescaled in MNIST; shifted by 1-2 pixels and colour-jittered in CIFAR-10), drawn with the course's
salt, in a salted order: a table of the images a student can load finds none of them. A model that saw the
loaded test images anyway (trained on them, or answering them from a table or by their nearest neighbour) is
noticed by what it does: its loss on loaded test images is about its loss on its own training images, where
an honest model's is clearly higher. Its accuracy is then not measured (0 on that part).

Each hostile form below is a class of cheats, several forms each, on the stand-ins; each must fail the
accuracy check it attacks with that reason, and the answer key must still pass. The checks run in-process
(probe and grader's judgement, as tests/test_lab04_checks.py and tests/test_lab05_checks.py run them).
"""

from __future__ import annotations

import contextlib
import io

import keras
import numpy as np
import pytest
import torch
from test_lab04_checks import PIPELINE as LAB04_PIPELINE
from test_lab04_checks import _run as run_lab04
from test_lab04_checks import _solution_cells as lab04_cells
from test_lab05_checks import NORMAL_PIPELINE, _cells
from test_lab05_checks import _run as run_lab05

from autograder.datasets import cifar10, mnist
from autograder.kernel import held_out
from autograder.kernel.compare import CheckFailure
from autograder.kernel.probes import lab04 as probes04
from autograder.kernel.probes.lab05 import inputs as inputs05
from autograder.labs import lab04, lab05
from autograder.labs.lab05 import data as grader05

MEMORISED = "accuracy not measured"


@pytest.fixture(scope="module")
def data_dir(standin_data_dir):
    return standin_data_dir  # conftest: both stand-ins, the grader pointed at them


# ------------------------------------------------------------------ the grader's copies


def test_no_mnist_copy_is_a_loaded_test_image_nor_has_its_inked_pixels(data_dir):
    _, (x_test, y_test) = mnist.load()
    copies, order = probes04.grader_test_set(x_test)
    assert copies.shape == x_test.shape and copies.dtype == np.uint8
    assert sorted(order) == list(range(len(x_test)))
    loaded = {x.tobytes() for x in x_test}
    inked = {(x > 0).tobytes() for x in x_test}
    assert not any(c.tobytes() in loaded for c in copies)
    assert not any((c > 0).tobytes() in inked for c in copies)  # a table of binarised images finds none either
    # a copy is still its image: close to the original it was made from, far from the others
    error = np.abs(copies.astype(float) - x_test[order].astype(float)).mean(axis=(1, 2))
    assert error.max() < 40 and np.median(error) < 20
    assert not np.array_equal(order, np.arange(len(order)))  # in the grader's order, not the file's


def test_no_cifar10_copy_is_a_loaded_test_image(data_dir):
    x_test = cifar10.load()[2]
    copies, order = inputs05.grader_test_set(x_test)
    assert copies.shape == x_test.shape and copies.dtype == np.uint8
    loaded = {x.tobytes() for x in x_test}
    assert not any(c.tobytes() in loaded for c in copies)
    assert sorted(order) == list(range(len(x_test)))


def test_the_copies_are_drawn_with_the_salt(data_dir, monkeypatch):
    _, (x_test, _) = mnist.load()
    unsalted, order = probes04.grader_test_set(x_test)
    again, same_order = probes04.grader_test_set(x_test)
    assert np.array_equal(unsalted, again) and np.array_equal(order, same_order)  # the kernel and the grader agree
    for name, value in held_out.grader_environment("course secret").items():
        monkeypatch.setenv(name, value)
    salted, salted_order = probes04.grader_test_set(x_test)
    assert not np.array_equal(order, salted_order) and not np.array_equal(unsalted[np.argsort(order)],
                                                                          salted[np.argsort(salted_order)])
    data = grader05.grader_data()  # the grader's CIFAR-10 copies follow the salt too (not cached across salts)
    assert np.array_equal(data.x_test, inputs05.grader_test_set(data.x_loaded)[0])
    assert np.array_equal(data.y_test, data.y_loaded[inputs05.grader_test_set(data.x_loaded)[1]])


# ------------------------------------------------------------------ lab 04


@pytest.fixture(scope="module")
def lab04_ns(data_dir):
    """The answer key's namespace with its trained MLP and CNN."""
    return run_lab04(lab04_cells(), [*LAB04_PIPELINE, "fit_mlp", "fit_cnn"])


class KerasLookup(keras.Sequential):
    """A "model" that answers the loaded test images from a table (or by their nearest neighbour) and anything
    else with ``fallback`` (the honest model, or nothing: uniform probabilities).

    The lookup is its forward pass (``call``, run eagerly), so Keras's own ``Model.predict``, through which the
    grader measures, goes through it: only the membership test stands between it and the marks."""

    def __init__(self, images: np.ndarray, labels: np.ndarray, fallback=None, nearest: bool = False):
        super().__init__([keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(10)])
        self.run_eagerly = True  # the lookup is NumPy
        self.rows = images.reshape(len(images), -1).astype(np.float32)
        self.answers = np.asarray(labels, dtype=np.int64)
        self.table = {row.tobytes(): int(y) for row, y in zip(self.rows, self.answers, strict=True)}
        self.fallback, self.nearest = fallback, nearest

    def call(self, x, training=False):
        x = np.asarray(keras.ops.convert_to_numpy(x), dtype=np.float32).reshape(len(x), -1)
        if self.fallback is not None:
            out = np.asarray(keras.ops.convert_to_numpy(self.fallback(x.reshape(-1, 28, 28, 1), training=False)),
                             dtype=np.float64)
        else:
            out = np.full((len(x), 10), 0.1)
        if self.nearest:
            distance = (x ** 2).sum(1)[:, None] - 2 * x @ self.rows.T + (self.rows ** 2).sum(1)[None]
            out = np.eye(10)[self.answers[np.argmin(distance, axis=1)]]
        else:
            for i, row in enumerate(x):
                if row.tobytes() in self.table:
                    out[i] = np.eye(10)[self.table[row.tobytes()]]
        return keras.ops.convert_to_tensor(out.astype(np.float32))


OWN_LAYERS = "not those of the model's own layers and weights"
LOOKUPS = ["table, honest model elsewhere", "table, nothing elsewhere", "nearest loaded test image"]
# Answering the training images exactly too puts a loss of 0 on both sides of the ratio (found by the graded corpus,
# tests/hostile/test_training_corpus.py, before the check refused a ratio of 0 to 0)
LAB04_LOOKUPS = [*LOOKUPS, "nearest image of the training and test files"]


@pytest.mark.parametrize("form", LAB04_LOOKUPS)
@pytest.mark.parametrize("kind", ["mlp", "cnn"])
def test_lab04_a_lookup_of_the_loaded_test_images_scores_nothing(lab04_ns, form, kind):
    ns = lab04_ns
    images, labels = ns["preprocess"](ns["x_test_raw"]), ns["y_test_raw"]
    if "training" in form:  # the training images are answered exactly too: a loss of 0 on both sides of the ratio
        images = np.concatenate([ns["preprocess"](ns["x_train_raw"]), images])
        labels = np.concatenate([ns["y_train_raw"], labels])
    model = KerasLookup(images, labels, fallback=ns[kind] if "honest" in form else None, nearest="nearest" in form)
    check = {"mlp": lab04.check_mlp_accuracy, "cnn": lab04.check_cnn_accuracy}[kind]
    # the notebook's own x_train is honest: the digest count of test images in it finds nothing. The lookup is the
    # model's call, so the classes it predicts are not those its layers give when the grader runs them (issue 18.5),
    # which is refused before the membership test is asked (tests/test_lab04_checks.py)
    with pytest.raises(CheckFailure, match=OWN_LAYERS if form != "table, nothing elsewhere" else "too low"):
        check(model, ns["preprocess"], ns["x_train"], 1.0)
    # as the notebook calls the check (with its build function), the lookup is not the network built
    with pytest.raises(CheckFailure, match=f"not the network build_{kind}"):
        check(model, ns["preprocess"], ns["x_train"], 1.0, ns[f"build_{kind}"])


def _lab04_trained(ns, kind: str, x, y):
    keras.utils.set_random_seed(0)
    model = ns[f"build_{kind}"]()
    epochs, batch = (ns["MLP_EPOCHS"], ns["MLP_BATCH_SIZE"]) if kind == "mlp" else (ns["CNN_EPOCHS"], ns["CNN_BATCH_SIZE"])
    order = np.random.default_rng(0).permutation(len(x))  # test images among both the fitted and held-out rows
    with contextlib.redirect_stdout(io.StringIO()):
        ns["train"](model, x[order], y[order], epochs=epochs, batch_size=batch)
    return model


@pytest.mark.parametrize("kind, data", [("mlp", "train + test"), ("mlp", "test only"), ("cnn", "train + test")])
def test_lab04_a_model_trained_on_the_test_images_scores_nothing(lab04_ns, kind, data):
    """Trained on arrays other than the notebook's x_train (which stays honest): only what it does gives it away."""
    ns = lab04_ns
    x_test, y_test = ns["preprocess"](ns["x_test_raw"]), keras.utils.to_categorical(ns["y_test_raw"], 10)
    if data == "train + test":
        x, y = np.concatenate([ns["x_train"], x_test]), np.concatenate([ns["y_train"], y_test])
    else:
        x, y = x_test, y_test
    model = _lab04_trained(ns, kind, x, y)
    check = {"mlp": lab04.check_mlp_accuracy, "cnn": lab04.check_cnn_accuracy}[kind]
    with pytest.raises(CheckFailure, match=MEMORISED):
        check(model, ns["preprocess"], ns["x_train"], 1.0)


def test_lab04_the_answer_key_still_passes_and_reports_its_loss_ratio(lab04_ns, capsys):
    ns = lab04_ns
    lab04.check_mlp_accuracy(ns["mlp"], ns["preprocess"], ns["x_train"], ns["mlp_seconds"])
    lab04.check_cnn_accuracy(ns["cnn"], ns["preprocess"], ns["x_train"], ns["cnn_seconds"])
    out = capsys.readouterr().out
    assert "[metric] mlp_test_to_train_loss = " in out and "[metric] cnn_test_to_train_loss = " in out


# ------------------------------------------------------------------ lab 05 (normal notebook)


@pytest.fixture(scope="module")
def lab05_ns(data_dir):
    """The answer key's namespace (05_n) with its model trained by the locked fit cell."""
    ns = run_lab05(_cells("solutions", "05_n"), [*NORMAL_PIPELINE, "fit"])
    torch.set_num_threads(1)
    return ns


class TorchLookup(torch.nn.Module):
    """The loaded test images answered from a table of their preprocessed tensors (or by nearest neighbour),
    anything else by ``fallback`` (the honest model) or not at all (equal scores)."""

    def __init__(self, preprocess, images, labels, fallback=None, nearest: bool = False, certainty: float = 20.0):
        super().__init__()
        self.certainty = certainty  # a logit of 1e4 against 0 makes the loss exactly 0
        self.weight = torch.nn.Parameter(torch.zeros(()))
        self.rows = preprocess(images).reshape(len(images), -1).float()
        self.answers = torch.as_tensor(labels)
        self.table = {row.numpy().tobytes(): int(y) for row, y in zip(self.rows, labels, strict=True)}
        self.fallback, self.nearest = fallback, nearest

    def forward(self, x):
        rows = x.reshape(len(x), -1).float()
        out = self.fallback(x) if self.fallback is not None else torch.zeros(len(x), 10)
        if self.nearest:
            nearest = self.answers[torch.cdist(rows, self.rows).argmin(1)]
            return self.certainty * torch.nn.functional.one_hot(nearest, 10).float()
        for i, row in enumerate(rows):
            label = self.table.get(row.numpy().tobytes())
            if label is not None:
                out[i] = self.certainty * torch.nn.functional.one_hot(torch.tensor(label), 10).float()
        return out + 0 * self.weight


@pytest.mark.parametrize("form", [*LOOKUPS, "certain nearest image of the training and test files"])
def test_lab05_a_lookup_of_the_loaded_test_images_scores_nothing(lab05_ns, form):
    ns = lab05_ns
    ns["model"].eval()
    images, labels = ns["x_test"], ns["y_test"]
    if "training" in form:  # certain on both: a loss of exactly 0 on both sides of the ratio
        images, labels = np.concatenate([ns["x_train"], images]), np.concatenate([ns["y_train"], labels])
    model = TorchLookup(ns["preprocess"], images, labels, fallback=ns["model"] if "honest" in form else None,
                        nearest="nearest" in form, certainty=1e4 if "certain" in form else 20.0)
    with pytest.raises(CheckFailure, match=MEMORISED if form != "table, nothing elsewhere" else "too low"):
        lab05.check_test_accuracy(model, ns["preprocess"], 1.0, ns["x_train"], ns["x_val"])


@pytest.mark.parametrize("data", ["train + test", "test only"])
def test_lab05_a_model_trained_on_the_test_images_scores_nothing(lab05_ns, data):
    """The locked fit cell run on other arrays (8 epochs instead of 20, to save time); x_train stays honest."""
    ns = lab05_ns
    x, y = ((np.concatenate([ns["x_train"], ns["x_test"]]), np.concatenate([ns["y_train"], ns["y_test"]]))
            if data == "train + test" else (ns["x_test"], ns["y_test"]))
    scope = dict(ns, x_train=x, y_train=y)
    source = _cells("solutions", "05_n")["fit"].replace("EPOCHS = 20", "EPOCHS = 8")
    with contextlib.redirect_stdout(io.StringIO()):
        exec(compile(source, "<fit on the test images>", "exec"), scope)
    torch.set_num_threads(1)
    with pytest.raises(CheckFailure, match=MEMORISED):
        lab05.check_test_accuracy(scope["model"], ns["preprocess"], 1.0, ns["x_train"], ns["x_val"])


def test_lab05_the_answer_key_still_passes_and_reports_its_loss_ratio(lab05_ns, capsys):
    ns = lab05_ns
    lab05.check_test_accuracy(ns["model"], ns["preprocess"], ns["train_seconds"], ns["x_train"], ns["x_val"])
    assert "[metric] test_to_train_loss = " in capsys.readouterr().out

"""Issue 18.3 and 18.4 on the digits (lab 01's train_digits_classifier, lab 02 hard's train): the grader's test
images are none a student can load, and no trivial model reaches a bar.

The grader's copies of load_digits are rotated in R^64 (autograder.kernel.student.random_rotation, drawn with the
grader's held-out secret). Each way of training on, or looking up, load_digits itself (the grader's test images included) is judged
as the grader judges it (the probe's transcript, replayed) and must fail the check it attacks; the honest answer
keys pass on the same salts. The trivial baselines are computed on the grader's data and must fail each bar by the
margin stated in the thresholds.
"""

from __future__ import annotations

import warnings

import nbformat
import numpy as np
import pytest
from replay_harness import record_and_judge
from sklearn.datasets import load_digits
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.metrics import r2_score
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from autograder.kernel import held_out
from autograder.kernel.probes import lab01 as probes1
from autograder.kernel.probes import lab02 as probes2
from autograder.kernel.student import random_rotation
from autograder.labs import lab01, lab02
from autograder.labs.lab01 import reference as reference1
from autograder.labs.lab01 import thresholds as thresholds1
from autograder.labs.lab02 import reference as reference2
from autograder.labs.lab02 import thresholds as thresholds2

from conftest import REPO

SALTS = ("", "course-A", "course-B")


def _answers(notebook: str) -> dict:
    """The imports and solution cells of an answer key, executed."""
    nb = nbformat.read(REPO / "solutions" / notebook.split("_")[0].replace("0", "lab0", 1) / f"{notebook}.ipynb",
                       as_version=4)
    namespace: dict = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for cell in nb.cells:
            meta = cell.metadata.get("nbgrader", {})
            # the imports and every cell that defines functions (not those that run on the notebook's data)
            if cell.cell_type == "code" and (meta.get("grade_id") == "imports" or cell.source.lstrip().startswith("def ")):
                exec(cell.source, namespace)  # noqa: S102 - the project's own answer key
    return namespace


@pytest.fixture(scope="module")
def key01() -> dict:
    return _answers("01_n")


@pytest.fixture(scope="module")
def key02() -> dict:
    return _answers("02_h")


def _judged(check, fn, salt: str):
    with warnings.catch_warnings(), threadpool_limits(limits=1):
        warnings.simplefilter("ignore")
        _, verdict = record_and_judge(check, fn, salt=salt)
    return verdict


# ------------------------------------------------------------------ lab 01: models that know load_digits


def _digits():
    digits = load_digits()
    return digits.data, digits.target


def fits_load_digits(X_train, y_train):
    """Ignores its arguments: the network of the answer key, fitted on all of load_digits."""
    X, y = _digits()
    return make_pipeline(StandardScaler(), MLPClassifier((20, 20), max_iter=1000, random_state=0)).fit(X, y)


def fits_arguments_and_load_digits(X_train, y_train):
    """Fits the data given and load_digits together (the test images among them)."""
    X, y = _digits()
    model = MLPClassifier((20, 20), max_iter=300, random_state=0)
    return model.fit(np.vstack([X_train, X]), np.concatenate([y_train, y]))


class _Lookup(MLPClassifier):
    """A "network" fitted for show, whose predictions are looked up in a table of load_digits' images."""

    def table_key(self, row):
        return np.asarray(row, dtype=np.float64).tobytes()

    def predict(self, X):
        data, target = _digits()
        table = {self.table_key(row): label for row, label in zip(data, target, strict=True)}
        return np.array([table.get(self.table_key(row), 0) for row in np.asarray(X)])


class _SortedLookup(_Lookup):
    """The table keyed by the image's sorted values, which a reordering of the pixels does not change."""

    def table_key(self, row):
        return np.sort(np.round(np.asarray(row, dtype=np.float64), 6)).tobytes()


class _NearestLookup(_Lookup):
    """The label of the nearest image of load_digits (the test image itself, if it were there)."""

    def predict(self, X):
        data, target = _digits()
        X = np.asarray(X, dtype=np.float64)
        distances = (X ** 2).sum(1)[:, None] - 2 * X @ data.T + (data ** 2).sum(1)[None, :]
        return target[distances.argmin(axis=1)]


def _fitted_for_show(cls):
    def train_digits_classifier(X_train, y_train):
        return cls((5,), max_iter=5, random_state=0).fit(X_train[:50], y_train[:50])
    return train_digits_classifier


LAB01_LEAKS = {
    "fits-load-digits": fits_load_digits,
    "fits-arguments-and-load-digits-scores-no-more-than-honest": fits_arguments_and_load_digits,
    "lookup-by-bytes": _fitted_for_show(_Lookup),
    "lookup-by-sorted-values": _fitted_for_show(_SortedLookup),
    "nearest-image-of-load-digits": _fitted_for_show(_NearestLookup),
}


@pytest.mark.parametrize("salt", SALTS)
def test_the_answer_key_passes_on_the_graders_rotated_digits(key01, salt):
    verdict = _judged(lab01.check_train_digits_classifier, key01["train_digits_classifier"], salt)
    assert verdict.passed, verdict


@pytest.mark.parametrize("salt", SALTS)
@pytest.mark.parametrize("form", sorted(LAB01_LEAKS))
def test_a_model_that_knows_load_digits_gains_nothing_on_the_graders_copies(form, salt):
    verdict = _judged(lab01.check_train_digits_classifier, LAB01_LEAKS[form], salt)
    if form.endswith("scores-no-more-than-honest"):
        # load_digits' own pixels are another input space than the grader's copies: what it adds is noise, not the
        # test images. It may pass on what it learned from the arguments, never above the honest range.
        with threadpool_limits(limits=1), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            X_train, X_test, y_train, y_test = probes1.digits_split()
            accuracy = LAB01_LEAKS[form](X_train, y_train).score(X_test, y_test)
        assert accuracy < 0.99, accuracy  # training on the test images themselves would reach 1.0
        return
    assert not verdict.passed and verdict.ename == "CheckFailure", verdict
    assert "rotated copies" in verdict.message, verdict.message


def test_the_graders_copies_are_no_image_of_load_digits_in_any_order():
    X, _ = _digits()
    X_train, X_test, _, _ = probes1.digits_split()
    known = {np.sort(row).tobytes() for row in X}
    assert not any(np.sort(row).tobytes() in known for row in np.vstack([X_train, X_test]))
    rotation = random_rotation(held_out.rng(probes1.DIGITS_ROTATION_SEED), 64)
    np.testing.assert_allclose(rotation @ rotation.T, np.eye(64), atol=1e-12)


@pytest.mark.parametrize("model", ["logistic-regression", "identity-activation"])
def test_a_linear_model_fails_though_it_reaches_the_accuracy_bar(model):
    """Digits are nearly linearly separable (thresholds1: LogisticRegression 0.957-0.972 > 0.93): the check asks for
    the network the lab teaches, a nonlinear MLPClassifier."""
    def train_digits_classifier(X_train, y_train):
        if model == "logistic-regression":
            return make_pipeline(StandardScaler(), LogisticRegression(max_iter=3000)).fit(X_train, y_train)
        return make_pipeline(StandardScaler(), MLPClassifier((20, 20), activation="identity", max_iter=1000,
                                                             random_state=0)).fit(X_train, y_train)

    with threadpool_limits(limits=1), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        X_train, X_test, y_train, y_test = probes1.digits_split()
        assert train_digits_classifier(X_train, y_train).score(X_test, y_test) >= thresholds1.DIGITS_ACC_MIN
    verdict = _judged(lab01.check_train_digits_classifier, train_digits_classifier, SALTS[1])
    assert not verdict.passed
    assert ("linear model" if model == "identity-activation" else "return a fitted MLPClassifier") in verdict.message


class _SeedTable(MLPClassifier):
    """Fitted for show; answers each point with its label in seed 002's public data (all 200 points, the notebook's
    validation points included), found by its exact value, and class 0 elsewhere."""

    def predict(self, X):
        from sklearn.datasets import make_gaussian_quantiles

        points, labels = make_gaussian_quantiles(n_samples=200, n_features=2, n_classes=2, random_state=0)
        table = {p.tobytes(): label for p, label in zip(StandardScaler().fit_transform(points), labels, strict=True)}
        return np.array([table.get(x.tobytes(), 0) for x in np.asarray(X, dtype=np.float64)])


def test_the_quantiles_classifier_is_measured_on_points_no_student_has():
    """The seed's 40 validation points are public: a table of them scored 1.0 there. The grader measures on 4000 new
    points of the same distribution, drawn with its held-out secret: the table finds none of them (about 0.5). (A
    nearest-neighbour classifier of the public 200 points is a model, not a table: 0.94 on them, as the MLP.)"""
    def train_quantiles_classifier(X_train, y_train):
        return _SeedTable(hidden_layer_sizes=(5,), max_iter=5, random_state=0).fit(X_train, y_train)

    X_train, X_valid, y_train, y_valid = probes1.quantiles_split()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert train_quantiles_classifier(X_train, y_train).score(X_valid, y_valid) == 1.0
    for salt in SALTS:
        verdict = _judged(lab01.check_train_quantiles_classifier, train_quantiles_classifier, salt)
        assert not verdict.passed and "new points of the same distribution" in verdict.message, (salt, verdict)


def test_the_quantiles_answer_key_passes_on_the_held_out_points(key01):
    for salt in SALTS:
        assert _judged(lab01.check_train_quantiles_classifier, key01["train_quantiles_classifier"], salt).passed, salt


def _untrained(hidden: tuple, kind=MLPClassifier):
    """The network with (almost) its initial weights: one step at a learning rate of 1e-9."""
    return kind(hidden_layer_sizes=hidden, max_iter=1, learning_rate_init=1e-9, random_state=0)


def test_every_trivial_baseline_fails_every_lab01_bar_with_a_margin():
    """The baselines stated in autograder/labs/lab01/thresholds.py, on the grader's own data (unsalted)."""
    margin = thresholds1.BASELINE_MARGIN
    with threadpool_limits(limits=1), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        X, y = probes1.sin_data(probes1.SIN_N_TRAIN, probes1.SIN_TRAIN_SEED)
        grid = probes1.sin_grid()
        truth = reference1.sin_curve(grid[:, 0])
        sin = {"mean": np.full(len(grid), y.mean()), "linear": LinearRegression().fit(X, y).predict(grid),
               "untrained": _untrained((20, 20, 20, 20), MLPRegressor).fit(X, y).predict(grid)}
        for name, predicted in sin.items():
            assert r2_score(truth, predicted) < thresholds1.SIN_R2_MIN - margin, name

        X, y = probes1.sequence_data(probes1.SEQ_N_TRAIN, probes1.SEQ_TRAIN_SEED)
        X_test, y_test = probes1.sequence_data(probes1.SEQ_N_TEST, probes1.SEQ_TEST_SEED)
        seq = {"majority": np.mean(y_test == np.bincount(y).argmax()),
               "linear": LogisticRegression(max_iter=2000).fit(X, y).score(X_test, y_test),
               "untrained": _untrained((20,)).fit(X, y).score(X_test, y_test)}
        for name, accuracy in seq.items():
            assert accuracy < thresholds1.SEQ_ACC_MIN - margin, (name, accuracy)

        X_train, _, y_train, _ = probes1.quantiles_split()
        X_valid, y_valid = probes1.quantiles_held_out()
        quant = {"majority": np.mean(y_valid == np.bincount(y_train).argmax()),
                 "linear": LogisticRegression().fit(X_train, y_train).score(X_valid, y_valid),
                 "untrained": _untrained((5,)).fit(X_train, y_train).score(X_valid, y_valid)}
        for name, accuracy in quant.items():
            assert accuracy < thresholds1.QUANT_ACC_MIN - margin, (name, accuracy)

        X, labels = probes1.tsne_subset()
        tsne = {"pca-2": reference1.knn_accuracy(reference1.pca(X, 2)[0], labels),
                "random": reference1.knn_accuracy(np.random.default_rng(0).standard_normal((len(X), 2)), labels)}
        for name, accuracy in tsne.items():
            assert accuracy < thresholds1.TSNE_KNN_MIN - margin, (name, accuracy)

        X_train, X_test, y_train, y_test = probes1.digits_split()
        digits = {"majority": np.mean(y_test == np.bincount(y_train).argmax()),
                  "untrained": _untrained((20, 20)).fit(X_train, y_train).score(X_test, y_test),
                  "fitted-on-load-digits": fits_load_digits(X_train, y_train).score(X_test, y_test)}
        for name, accuracy in digits.items():
            assert accuracy < thresholds1.DIGITS_ACC_MIN - margin, (name, accuracy)


# ------------------------------------------------------------------ lab 02 hard: train(...) that knows load_digits


def _leaky_train(key02: dict, extra: str):
    """The answer key's train(...), run on data other than its arguments."""
    answer = key02["train"]  # the function alone: the grader's scan follows what a function holds

    def train(x_train, labels_train, **kwargs):
        digits = load_digits()
        x, labels = digits.data / 16.0, digits.target
        if extra == "arguments-and-load-digits":
            x, labels = np.vstack([x_train, x]), np.concatenate([labels_train, labels])
        return answer(x, labels, **kwargs)
    return train


@pytest.mark.parametrize("salt", SALTS)
def test_the_02_h_answer_key_passes_on_the_graders_rotated_digits(key02, salt):
    verdict = _judged(lab02.check_train, key02["train"], salt)
    assert verdict.passed, verdict


@pytest.mark.parametrize("salt", SALTS)
def test_a_train_that_fits_load_digits_fails_on_the_graders_copies(key02, salt):
    verdict = _judged(lab02.check_train, _leaky_train(key02, "load-digits"), salt)
    assert not verdict.passed and "test accuracy too low" in verdict.message, verdict
    assert "rotated copies" in verdict.message


def test_fitting_the_arguments_and_load_digits_gains_nothing_over_honest_work(key02):
    x_train, x_test, labels_train, labels_test = probes2.digits_split()
    with threadpool_limits(limits=1):
        params, _ = _leaky_train(key02, "arguments-and-load-digits")(x_train, labels_train)
        honest, _ = key02["train"](x_train, labels_train)
    mixed = reference2.accuracy(params, x_test, labels_test)
    assert mixed <= reference2.accuracy(honest, x_test, labels_test) + 0.01, mixed  # the test images add nothing


def test_every_trivial_baseline_fails_the_02_h_bar_with_a_margin(key02):
    x_train, x_test, labels_train, labels_test = probes2.digits_split()
    bar, margin = thresholds2.TRAIN_ACCURACY_MIN, thresholds2.BASELINE_MARGIN
    with threadpool_limits(limits=1):
        fitted_elsewhere, _ = _leaky_train(key02, "load-digits")(x_train, labels_train)
    baselines = {
        "majority": np.mean(labels_test == np.bincount(labels_train).argmax()),
        "untrained": reference2.accuracy(key02["init_params"](64, 50, 10, np.random.default_rng(0)), x_test,
                                         labels_test),
        "fitted-on-load-digits": reference2.accuracy(fitted_elsewhere, x_test, labels_test),
    }
    for name, accuracy in baselines.items():
        assert accuracy < bar - margin, (name, accuracy)

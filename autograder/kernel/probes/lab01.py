"""Probes of lab 01, "neural networks with scikit-learn" (01_n).

Each probe takes the student's function, draws the inputs its check (``autograder.labs.lab01.checks``)
judges it on (fixed seeds, salted while grading: :func:`~autograder.kernel.student.case_rng`), and calls
the function on them in the order the check reads the results. The data functions below are the
inputs both sides draw; the call helpers (:func:`call`, :func:`timed_call`, :func:`train`,
:func:`predictions`) are how both sides reach the student's code, so that their labels and inputs agree.

Every ``train_*`` / ``tsne_*`` call runs on one thread (threadpoolctl) and is timed in CPU seconds;
past its time limit the kernel interrupts it (the call's failure says so). What a call gives back
crosses as data: the CPU seconds it took and, for a model, the facts its check needs (:func:`model_facts`)
and its predictions on the grader's inputs. The verdict on them is the check's.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from typing import Any

import numpy as np

from autograder.kernel import clock, held_out, transcript
from autograder.kernel.compare import CheckFailure
from autograder.kernel.student import call_student, case_rng, random_rotation
from autograder.kernel.transcript import DATA_DTYPES, observe, probe

# ------------------------------------------------------------------- inputs

# make_sin_data / make_sequence_data: (size, seed) of the calls, each made twice (same seed, same data),
# then one call with another seed.
SIN_DATA_CALLS = ((2000, 0), (500, 7))
SIN_DATA_OTHER = (500, 8)
SEQ_DATA_CALLS = ((5000, 0), (300, 3))
SEQ_DATA_OTHER = (300, 4)
# sin(x*pi) regression: trained on SIN_N_TRAIN points drawn with SIN_TRAIN_SEED, predicted on a grid of [0, 4).
SIN_N_TRAIN = 2000
SIN_TRAIN_SEED = 101
SIN_GRID_N = 2000
# "a 10-digit sequence contains a 1": trained on SEQ_N_TRAIN sequences, predicted on SEQ_N_TEST fresh ones.
SEQ_N_TRAIN = 20000
SEQ_N_TEST = 20000
SEQ_TRAIN_SEED, SEQ_TEST_SEED = 202, 203
# load_digits: the grader's own held-out 30 % (random_state DIGITS_SPLIT_SEED, salted while grading), of the grader's
# rotated copies of the 64 pixels (DIGITS_ROTATION_SEED): a model fitted on load_digits itself, which holds the
# grader's test images, or a table of them, sees none of them there (issue 18.4).
DIGITS_TEST_SIZE = 0.3
DIGITS_SPLIT_SEED = 0
DIGITS_ROTATION_SEED = 406
# make_gaussian_quantiles: the classifier trained on seed 002's 160 points is measured on QUANT_N_HELD_OUT new points of
# the same distribution (QUANT_HELD_OUT_SEED, drawn with the held-out secret while grading), not on the seed's 40.
QUANT_HELD_OUT_SEED = 409
QUANT_N_HELD_OUT = 4000
# PCA inputs: all the digits, a subset, and synthetic data (seed PCA_SEED).
PCA_SEED = 401
# t-SNE of TSNE_N digits chosen with TSNE_SUBSET_SEED, seed 0 passed to the student's function.
TSNE_N = 500
TSNE_SUBSET_SEED = 404
TSNE_SEED = 0

# The CPU seconds (one core) after which the kernel interrupts a call: the budgets the notebook states
# (TRAIN_BUDGET_S, TSNE_BUDGET_S in its imports cell). The grader compares the measured seconds with its
# own budgets (autograder.labs.lab01.thresholds); these limits only stop a call that would run on.
TRAIN_TIME_LIMIT_S = 10.0
TSNE_TIME_LIMIT_S = 20.0
TIMER_GRACE_S = 0.5  # the interruption comes this much after the limit: a call just over it is measured, not cut


def sin_data(size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """x uniform in [0, 4), shape (size, 1); y = sin(pi x), shape (size,)."""
    x = case_rng(seed).uniform(0.0, 4.0, size=(size, 1))
    return x, np.sin(np.pi * x[:, 0])


def sin_grid() -> np.ndarray:
    """(SIN_GRID_N, 1): evenly spaced points of [0, 4), where the sine regressor is predicted."""
    return np.linspace(0.0, 4.0, SIN_GRID_N, endpoint=False)[:, None]


def sequence_data(size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Digits 0-9, shape (size, 10) int; y = 1 where the row holds a 1, shape (size,) int."""
    X = case_rng(seed).integers(0, 10, size=(size, 10))
    return X, (X == 1).any(axis=1).astype(np.int64)


def _draw_digits() -> dict[str, np.ndarray]:
    """The grader's copies of load_digits, split 70/30: X_train (1257, 64), X_test (540, 64), y_train, y_test. The
    copies are the images rotated in R^64 (:func:`random_rotation`): float64, any sign. The rotation and, while
    grading, the split's random_state are drawn with the held-out secret (:func:`held_out.rng`)."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    rotated = digits.data @ random_rotation(held_out.rng(DIGITS_ROTATION_SEED), digits.data.shape[1])
    # unsalted, the split the thresholds were measured on
    state = int(held_out.rng(DIGITS_SPLIT_SEED).integers(2**31 - 1)) if held_out.salted() else DIGITS_SPLIT_SEED
    X_train, X_test, y_train, y_test = train_test_split(rotated, digits.target, test_size=DIGITS_TEST_SIZE,
                                                        random_state=state)
    return {"X_train": X_train, "X_test": X_test, "y_train": y_train, "y_test": y_test}


# The kernel receives the images and the training labels; the test labels stay with the grader.
DIGITS = held_out.HeldOutSet("lab01-digits", _draw_digits, ("X_train", "X_test", "y_train"))


def digits_inputs() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """What the kernel gets of :data:`DIGITS`: X_train (1257, 64), X_test (540, 64), y_train (1257,)."""
    found = held_out.arrays(DIGITS)
    return found["X_train"], found["X_test"], found["y_train"]


def digits_split() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The grader's whole split (:func:`_draw_digits`): X_train, X_test, y_train, y_test. Not in a grading kernel,
    which has no y_test."""
    found = held_out.arrays(DIGITS)
    return found["X_train"], found["X_test"], found["y_train"], found["y_test"]


def _quantiles_data() -> tuple[np.ndarray, np.ndarray]:
    """Seed 002's data, make_gaussian_quantiles(200 points, 2 features, 2 classes, random_state=0): X (200, 2) as
    drawn (standard normal around 0), y (200,): 0 for the 100 points nearest the centre, 1 for the others."""
    from sklearn.datasets import make_gaussian_quantiles

    return make_gaussian_quantiles(n_samples=200, n_features=2, n_classes=2, random_state=0)


def quantiles_split() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Seed 002's data, which train_quantiles_classifier is trained on: 200 points, 2 features, 2 classes,
    standardized, split 80/20 (random_state=0): X_train (160, 2), X_valid (40, 2), y_train (160,), y_valid (40,)."""
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    X, y = _quantiles_data()
    return train_test_split(StandardScaler().fit_transform(X), y, test_size=0.2, random_state=0)


def _draw_quantiles_held_out() -> dict[str, np.ndarray]:
    """QUANT_N_HELD_OUT new points of seed 002's distribution, as the notebook standardized its own (X (n, 2)), and
    their classes (y (n,)): 1 beyond the radius that separates the seed's two classes. The seed's 40 validation
    points are public (a table of them is a lookup, not a model) and few; these are drawn with the held-out secret."""
    from sklearn.preprocessing import StandardScaler

    X, y = _quantiles_data()
    r2 = (X**2).sum(axis=1)
    boundary = (r2[y == 0].max() + r2[y == 1].min()) / 2
    raw = held_out.rng(QUANT_HELD_OUT_SEED).standard_normal((QUANT_N_HELD_OUT, X.shape[1]))
    labels = ((raw**2).sum(axis=1) > boundary).astype(y.dtype)
    return {"X": StandardScaler().fit(X).transform(raw), "y": labels}


QUANTILES = held_out.HeldOutSet("lab01-quantiles", _draw_quantiles_held_out, ("X",))


def quantiles_held_out() -> tuple[np.ndarray, np.ndarray]:
    """The grader's held-out points of :data:`QUANTILES`: X (QUANT_N_HELD_OUT, 2), y. Not in a grading kernel."""
    found = held_out.arrays(QUANTILES)
    return found["X"], found["y"]


def pca_inputs() -> list[tuple[np.ndarray, str]]:
    """(X, note): all the digits (1797, 64), 400 of them (400, 64), synthetic correlated data (200, 10)."""
    from sklearn.datasets import load_digits

    digits = load_digits().data
    rng = case_rng(PCA_SEED)
    subset = digits[rng.permutation(len(digits))[:400]]
    scales = np.array([10.0, 5.0, 3.0, 2.0, 1.0, 1.0, 0.5, 0.5, 0.2, 0.1])
    synthetic = rng.normal(size=(200, 10)) @ rng.normal(size=(10, 10)) * scales + 3.0
    return [(digits, "load_digits().data (1797, 64)"), (subset, "400 digits (400, 64)"),
            (synthetic, "synthetic data (200, 10)")]


def tsne_subset() -> tuple[np.ndarray, np.ndarray]:
    """TSNE_N digits (images (TSNE_N, 64), labels (TSNE_N,)) chosen by the grader's own seed."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    index = case_rng(TSNE_SUBSET_SEED).permutation(len(digits.target))[:TSNE_N]
    return digits.data[index], digits.target[index]


# The labels of the calls (as the feedback names them).
SIN_REGRESSOR = f"train_sin_regressor(X ({SIN_N_TRAIN}, 1), y ({SIN_N_TRAIN},))"
SEQ_CLASSIFIER = f"train_sequence_classifier(X ({SEQ_N_TRAIN}, 10), y ({SEQ_N_TRAIN},))"
TSNE_CALL = f"tsne_digits(X ({TSNE_N}, 64), seed={TSNE_SEED})"
QUANTILES_SPLIT = "make_quantiles_split()"
QUANTILES_CLASSIFIER = "train_quantiles_classifier(X_train (160, 2), y_train (160,))"


def data_call(fn_name: str, size: int, seed: int) -> str:
    return f"{fn_name}({size}, seed={seed})"


def digits_classifier(X_train: np.ndarray, y_train: np.ndarray) -> str:
    return f"train_digits_classifier(X_train {X_train.shape}, y_train {y_train.shape})"


# ------------------------------------------------------------------- calling the student's code


class _OverBudget(BaseException):
    """Raised inside the student's code when its CPU time runs out (a BaseException: `except Exception` won't eat it)."""


def over_budget_message(name: str, seconds: float, budget: float) -> str:
    return (
        f"{name}: 学習に時間がかかりすぎです: CPU 時間 {seconds:.1f} 秒 > 上限 {budget:g} 秒 (1 コア)。"
        f"ネットワークを小さくする・データの表し方を変える・max_iter を見直すなどしてください / "
        f"training takes too long: {seconds:.1f} s of CPU time > budget {budget:g} s (one core); "
        f"use a smaller network, a better encoding of the input, or fewer iterations"
    )


def _run_on_budget(fn: Callable, args: tuple, *, limit: float, name: str) -> tuple[Any, float]:
    """``fn(*args)`` on one thread, interrupted after ``limit`` CPU seconds: (its result, the CPU seconds it took).

    Runs in the kernel only (inside the transcript's call): the student's errors and the interruption
    become CheckFailures, which the transcript records.
    """
    __tracebackhide__ = True
    if not callable(fn):
        raise CheckFailure(f"{name}: 関数ではありません / not a function: got {type(fn).__name__}")
    from threadpoolctl import threadpool_limits

    def on_timer(signum, frame):
        raise _OverBudget()

    # the clocks kept from before the student's first cell: a patched time.process_time or signal.setitimer
    # changes neither the seconds measured nor the interruption
    use_timer = clock.setitimer is not None and threading.current_thread() is threading.main_thread()
    previous = None
    start = clock.process_time()
    try:
        with threadpool_limits(limits=1):
            if use_timer:
                previous = clock.set_handler(signal.SIGPROF, on_timer)
                clock.setitimer(signal.ITIMER_PROF, limit + TIMER_GRACE_S)
            try:
                result = fn(*args)
            finally:
                if use_timer:
                    try:
                        clock.setitimer(signal.ITIMER_PROF, 0)
                    finally:  # a one-shot timer: once it has fired it cannot fire again
                        clock.set_handler(signal.SIGPROF, previous)
    except _OverBudget:
        raise CheckFailure(over_budget_message(name, clock.process_time() - start, limit)) from None
    except CheckFailure:
        raise
    except NotImplementedError:
        raise CheckFailure(f"{name}: まだ実装されていません / not implemented yet") from None
    except Exception as exc:  # the student's bug, named with the call that triggered it
        raise CheckFailure(f"{name}: 実行中にエラーが発生しました / raised an error\n  {type(exc).__name__}: {exc}") from exc
    return result, clock.process_time() - start


def timed_call(fn: Callable, args: tuple, *, limit: float, name: str, summarize: Callable[[Any], Any]) -> dict:
    """``{"summary": summarize(fn(*args)), "cpu_seconds": ...}``, ``fn`` run on one thread within ``limit``.

    The call goes into the transcript with the CPU seconds it took and the summary, which must be data
    (a model is summarized by :func:`model_facts`); in the grader's replay the recorded dict comes back.
    """
    __tracebackhide__ = True

    def run() -> dict:
        result, seconds = _run_on_budget(fn, args, limit=limit, name=name)
        return {"summary": summarize(result), "cpu_seconds": seconds}

    return transcript.student_call(name, args, {}, run)


def call(fn: Callable, args: tuple, name: str) -> Any:
    """``fn(*args)`` with the student's errors turned into CheckFailure (no time limit: data generators)."""
    __tracebackhide__ = True
    return call_student(fn, name, name, *args)


def model_facts(model: Any, kind: str) -> dict:
    """What the checks need to know of the student's model, as data: runs in the kernel, on the student's object.

    ``returned``: not None; ``type``: its type's name; ``kind``: a ``kind`` (a class of
    sklearn.neural_network), or a Pipeline ending in one; ``fitted``: check_is_fitted accepts it;
    ``hidden_layer_sizes``: the network's, as a list; ``activation``: its hidden layers' activation.
    """
    import sklearn.neural_network
    from sklearn.exceptions import NotFittedError
    from sklearn.pipeline import Pipeline
    from sklearn.utils.validation import check_is_fitted

    facts: dict[str, Any] = {"returned": model is not None, "type": type(model).__name__}
    if model is None:
        return facts
    final = model.steps[-1][1] if isinstance(model, Pipeline) else model
    facts["kind"] = isinstance(final, getattr(sklearn.neural_network, kind))
    if not facts["kind"]:
        return facts
    try:
        check_is_fitted(model)
        facts["fitted"] = True
    except NotFittedError:
        facts["fitted"] = False
    facts["hidden_layer_sizes"] = np.atleast_1d(final.hidden_layer_sizes).tolist()
    facts["activation"] = str(final.activation)
    return facts


def train(fn: Callable, args: tuple, kind: str, name: str) -> tuple[dict, dict]:
    """The student's training function run on ``args`` within TRAIN_TIME_LIMIT_S: (the call's record, a holder).

    The record is ``{"summary": model_facts(model, kind), "cpu_seconds": ...}``. The holder's ``"model"``
    is the student's model, in the kernel only (the holder is empty in the grader's replay): only
    :func:`predictions` reaches it, inside an observation, which the replay does not run.
    """
    __tracebackhide__ = True
    holder: dict[str, Any] = {}

    def summarize(model: Any) -> dict:
        holder["model"] = model
        return model_facts(model, kind)

    return timed_call(fn, args, limit=TRAIN_TIME_LIMIT_S, name=name, summarize=summarize), holder


def _predict(model: Any, X: np.ndarray, name: str) -> np.ndarray:
    try:
        return np.asarray(model.predict(X))
    except Exception as exc:
        raise CheckFailure(
            f"{name}: 採点用データで predict が失敗しました / predict failed on the grader's data\n"
            f"  {type(exc).__name__}: {exc}"
        ) from exc


def as_data(values: Any) -> Any:
    """An array as transcript data: as it is if numeric, else the (nested) list of its values (an object array)."""
    values = np.asarray(values)
    return values if str(values.dtype) in DATA_DTYPES else values.tolist()


def predictions(holder: dict, X: np.ndarray, name: str) -> np.ndarray:
    """The student's model's predictions on the grader's ``X``, flattened: observed in the kernel, replayed as data."""
    __tracebackhide__ = True
    pred = observe(f"{name}: predict(X {X.shape})", lambda: as_data(_predict(holder["model"], X, name)), X)
    return np.asarray(pred).reshape(-1)


# ------------------------------------------------------------------- probes


def _data_calls(fn: Callable, fn_name: str, calls: tuple, other: tuple) -> None:
    for size, seed in calls:
        name = data_call(fn_name, size, seed)
        call(fn, (size, seed), name)
        call(fn, (size, seed), name)  # again: the same seed must give the same data
    call(fn, other, data_call(fn_name, *other))


@probe
def check_make_sin_data(fn: Callable) -> None:
    _data_calls(fn, "make_sin_data", SIN_DATA_CALLS, SIN_DATA_OTHER)


@probe
def check_train_sin_regressor(fn: Callable) -> None:
    _, holder = train(fn, sin_data(SIN_N_TRAIN, SIN_TRAIN_SEED), "MLPRegressor", SIN_REGRESSOR)
    predictions(holder, sin_grid(), SIN_REGRESSOR)


@probe
def check_make_sequence_data(fn: Callable) -> None:
    _data_calls(fn, "make_sequence_data", SEQ_DATA_CALLS, SEQ_DATA_OTHER)


@probe
def check_train_sequence_classifier(fn: Callable) -> None:
    _, holder = train(fn, sequence_data(SEQ_N_TRAIN, SEQ_TRAIN_SEED), "MLPClassifier", SEQ_CLASSIFIER)
    predictions(holder, sequence_data(SEQ_N_TEST, SEQ_TEST_SEED)[0], SEQ_CLASSIFIER)


@probe
def check_train_digits_classifier(fn: Callable) -> None:
    X_train, X_test, y_train = digits_inputs()
    name = digits_classifier(X_train, y_train)
    _, holder = train(fn, (X_train, y_train), "MLPClassifier", name)
    predictions(holder, X_test, name)


@probe
def check_pca_digits(fn: Callable) -> None:
    for X, note in pca_inputs():
        call(fn, (X.copy(),), f"pca_digits({note})")


@probe
def check_tsne_digits(fn: Callable) -> None:
    X, _ = tsne_subset()
    timed_call(fn, (X.copy(), TSNE_SEED), limit=TSNE_TIME_LIMIT_S, name=TSNE_CALL, summarize=as_data)


@probe
def check_make_quantiles_split(fn: Callable) -> None:
    call(fn, (), QUANTILES_SPLIT)


@probe
def check_train_quantiles_classifier(fn: Callable) -> None:
    X_train, _, y_train, _ = quantiles_split()
    _, holder = train(fn, (X_train, y_train), "MLPClassifier", QUANTILES_CLASSIFIER)
    predictions(holder, held_out.arrays(QUANTILES)["X"], QUANTILES_CLASSIFIER)

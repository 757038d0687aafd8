"""Hidden checks for lab 01, "neural networks with scikit-learn".

Each ``check_*`` takes the student's function and nothing else. The data the
student's function is called on, and the data its model is judged on, are made
here with fixed seeds (so grading is reproducible; while grading, the course's
secret salt is mixed in: :func:`autograder.checks.case_rng`); printed numbers in
the notebook are never trusted. Models are judged by a quality measure (R²,
accuracy, k-NN accuracy of an embedding) against a threshold stated once below,
beside the figure the reference solution reaches under the same check.

Every ``train_*`` / ``tsne_*`` call runs on one thread (threadpoolctl) and is
timed in CPU seconds: past its budget it is interrupted and fails with a
message saying so.

Every check is :func:`~autograder.transcript.judged`: what it needs of the
student's code crosses as data (generated arrays, embeddings, the CPU seconds a
training took, facts about the returned model and its predictions on the
grader's inputs), and the measures, thresholds and verdict are computed from
that data, so that the grader's replay reaches them in its own process.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from autograder import transcript
from autograder.checks import CASE_SALT_ENV, CheckFailure, call_student, case_rng, compare
from autograder.transcript import DATA_DTYPES, judged, observe

# ---------------------------------------------------------------- thresholds
# Each threshold sits beside the figure the reference solution (solutions/lab01/01_n.ipynb)
# reaches in the same check, measured single-threaded; the margin means a correct solution
# never fails, while the realistic mistakes of the sample class fall far below.

# sin(x*pi) regression: R² on a grid of [0, 4) after training on SIN_N_TRAIN points the grader draws.
SIN_N_TRAIN = 2000
SIN_R2_MIN = 0.95  # reference MLPRegressor((20, 20, 20, 20)): 0.998; a (2,) network: 0.15
# "a 10-digit sequence contains a 1": accuracy on SEQ_N_TEST fresh sequences.
SEQ_N_TRAIN = 20000
SEQ_N_TEST = 20000
SEQ_ACC_MIN = 0.95  # reference one-hot + MLP((20,)): 1.000; always answering 1: 0.651 (= 1 - 0.9**10)
# load_digits: accuracy on the grader's own held-out 30 % (random_state DIGITS_SPLIT_SEED, salted while grading).
DIGITS_TEST_SIZE = 0.3
DIGITS_SPLIT_SEED = 0
DIGITS_ACC_MIN = 0.93  # reference StandardScaler + MLP((20, 20)): 0.970; the seed's code as is: 0.957; 10 epochs: 0.51
# PCA(4) of the digits: compared with scikit-learn's PCA (float64, same data); signs of components are free.
PCA_N_COMPONENTS = 4
PCA_RTOL = 1e-4
PCA_ATOL_REL = 1e-4  # absolute tolerance on the scores, as a fraction of their largest magnitude
# t-SNE of TSNE_N digits: 5-NN accuracy in 2-D (5-fold cross-validation), never the coordinates.
TSNE_N = 500
TSNE_SUBSET_SEED = 404
TSNE_KNN_MIN = 0.85  # reference TSNE(2): 0.946 (perplexity 5-50: 0.940-0.954); PCA's first 2 components: 0.61
# make_gaussian_quantiles (seed 002): accuracy on the 20 % validation split the grader makes itself.
QUANT_ACC_MIN = 0.85  # reference MLPClassifier((5,), lr 0.05, max_iter=500): 0.975; a single epoch: 0.55
QUANT_HIDDEN = (5,)
# CPU-time budgets (one core) for each training function, seconds.
TRAIN_BUDGET_S = 10.0  # reference: sin 0.6 s, sequences 2.2 s, digits 0.8 s, quantiles 0.1 s
TSNE_BUDGET_S = 20.0  # reference: 2 s for 500 digits (all 1797: 9 s)
# The seed's network on raw digits, MLPClassifier((50, 50, 50, 50)), takes 0.06 s per epoch on 20,000 sequences
# (AMD EPYC, one core): it converges near the budget; 1000 epochs without early stopping take about 56 s.


# ------------------------------------------------------------------ helpers


class _OverBudget(BaseException):
    """Raised inside the student's code when its CPU time runs out (a BaseException: `except Exception` won't eat it)."""


def _over_budget_message(name: str, seconds: float, budget: float) -> str:
    return (
        f"{name}: 学習に時間がかかりすぎです: CPU 時間 {seconds:.1f} 秒 > 上限 {budget:g} 秒 (1 コア)。"
        f"ネットワークを小さくする・データの表し方を変える・max_iter を見直すなどしてください / "
        f"training takes too long: {seconds:.1f} s of CPU time > budget {budget:g} s (one core); "
        f"use a smaller network, a better encoding of the input, or fewer iterations"
    )


def _run_on_budget(fn: Callable, args: tuple, *, budget: float, name: str) -> tuple[Any, float]:
    """``fn(*args)`` on one thread, interrupted after ``budget`` CPU seconds: (its result, the CPU seconds it took).

    Runs in the kernel only (inside the transcript's call): the student's errors and the interruption
    become CheckFailures, which the transcript records.
    """
    __tracebackhide__ = True
    if not callable(fn):
        raise CheckFailure(f"{name}: 関数ではありません / not a function: got {type(fn).__name__}")
    from threadpoolctl import threadpool_limits

    def on_timer(signum, frame):
        raise _OverBudget()

    use_timer = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    previous = None
    start = time.process_time()
    try:
        with threadpool_limits(limits=1):
            if use_timer:
                previous = signal.signal(signal.SIGPROF, on_timer)
                signal.setitimer(signal.ITIMER_PROF, budget + 0.5)
            try:
                result = fn(*args)
            finally:
                if use_timer:
                    try:
                        signal.setitimer(signal.ITIMER_PROF, 0)
                    finally:  # a one-shot timer: once it has fired it cannot fire again
                        signal.signal(signal.SIGPROF, previous)
    except _OverBudget:
        raise CheckFailure(_over_budget_message(name, time.process_time() - start, budget)) from None
    except CheckFailure:
        raise
    except NotImplementedError:
        raise CheckFailure(f"{name}: まだ実装されていません / not implemented yet") from None
    except Exception as exc:  # the student's bug, named with the call that triggered it
        raise CheckFailure(f"{name}: 実行中にエラーが発生しました / raised an error\n  {type(exc).__name__}: {exc}") from exc
    return result, time.process_time() - start


def _timed_call(fn: Callable, args: tuple, *, budget: float, name: str, summarize: Callable[[Any], Any]) -> Any:
    """``summarize(fn(*args))``, ``fn`` run by :func:`_run_on_budget`; CheckFailure if it fails or is late.

    While grading, the call goes into the transcript with the CPU seconds it took and the summary, which
    must be data (a model is summarized by the facts the check needs of it). The kernel measures the time
    and interrupts the call at its budget; the comparison of the measured seconds with the budget is the
    check's own, so the grader's replay makes it too.
    """
    __tracebackhide__ = True

    def run() -> dict:
        result, seconds = _run_on_budget(fn, args, budget=budget, name=name)
        return {"summary": summarize(result), "cpu_seconds": seconds}

    out = transcript.student_call(name, args, {}, run)
    seconds = float(out["cpu_seconds"])
    if seconds > budget:
        raise CheckFailure(_over_budget_message(name, seconds, budget))
    return out["summary"]


def _call(fn: Callable, args: tuple, name: str) -> Any:
    """``fn(*args)`` with the student's errors turned into CheckFailure (no time budget: data generators)."""
    __tracebackhide__ = True
    return call_student(fn, name, name, *args)


def _model_facts(model: Any, kind: type) -> dict:
    """What the checks need to know of the student's model, as data: runs in the kernel, on the student's object.

    ``returned``: not None; ``type``: its type's name; ``kind``: a ``kind``, or a Pipeline ending in one;
    ``fitted``: check_is_fitted accepts it; ``hidden_layer_sizes``: the network's, as a list.
    """
    from sklearn.exceptions import NotFittedError
    from sklearn.pipeline import Pipeline
    from sklearn.utils.validation import check_is_fitted

    facts: dict[str, Any] = {"returned": model is not None, "type": type(model).__name__}
    if model is None:
        return facts
    final = model.steps[-1][1] if isinstance(model, Pipeline) else model
    facts["kind"] = isinstance(final, kind)
    if not facts["kind"]:
        return facts
    try:
        check_is_fitted(model)
        facts["fitted"] = True
    except NotFittedError:
        facts["fitted"] = False
    facts["hidden_layer_sizes"] = np.atleast_1d(final.hidden_layer_sizes).tolist()
    return facts


def _require_fitted(facts: dict, kind: str, name: str) -> None:
    """CheckFailure unless ``facts`` (:func:`_model_facts`) describe a fitted ``kind`` or a Pipeline ending in one."""
    if not facts["returned"]:
        raise CheckFailure(
            f"{name}: 関数が None を返しました。return を書き忘れていませんか？ / "
            f"your function returned None: did you forget `return`?"
        )
    if not facts["kind"]:
        raise CheckFailure(
            f"{name}: 学習済みの {kind} (または最後のステップが {kind} の Pipeline) を返してください / "
            f"return a fitted {kind} (or a Pipeline ending in one): got {facts['type']}"
        )
    if not facts["fitted"]:
        raise CheckFailure(
            f"{name}: モデルが学習されていません。fit を呼びましたか？ / the model is not fitted: did you call fit?"
        )


def _train(fn: Callable, args: tuple, kind: type, name: str) -> tuple[dict, dict]:
    """The student's training function run on ``args`` within TRAIN_BUDGET_S: (its model's facts, a holder).

    The facts cross as data and are judged here. The holder's ``"model"`` is the student's model, in the
    kernel only (the holder is empty in the grader's replay): only :func:`_predictions` reaches it, inside
    an observation, which the replay does not run.
    """
    __tracebackhide__ = True
    holder: dict[str, Any] = {}

    def summarize(model: Any) -> dict:
        holder["model"] = model
        return _model_facts(model, kind)

    facts = _timed_call(fn, args, budget=TRAIN_BUDGET_S, name=name, summarize=summarize)
    _require_fitted(facts, kind.__name__, name)
    return facts, holder


def _predict(model: Any, X: np.ndarray, name: str) -> np.ndarray:
    try:
        return np.asarray(model.predict(X))
    except Exception as exc:
        raise CheckFailure(
            f"{name}: 採点用データで predict が失敗しました / predict failed on the grader's data\n"
            f"  {type(exc).__name__}: {exc}"
        ) from exc


def _as_data(values: Any) -> Any:
    """An array as transcript data: as it is if numeric, else the (nested) list of its values (an object array)."""
    values = np.asarray(values)
    return values if str(values.dtype) in DATA_DTYPES else values.tolist()


def _predictions(holder: dict, X: np.ndarray, name: str) -> np.ndarray:
    """The student's model's predictions on the grader's ``X``, flattened: observed in the kernel, replayed as data."""
    __tracebackhide__ = True
    pred = observe(f"{name}: predict(X {X.shape})", lambda: _as_data(_predict(holder["model"], X, name)), X)
    return np.asarray(pred).reshape(-1)


def _as_pair(result: Any, name: str) -> tuple[np.ndarray, np.ndarray]:
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        raise CheckFailure(f"{name}: (X, y) の 2 つを返してください / return the pair (X, y): got {type(result).__name__}")
    X, y = result
    try:
        return np.asarray(X), np.asarray(y)
    except Exception as exc:
        raise CheckFailure(f"{name}: 配列に変換できません / not array-like: {exc}") from exc


def _shape(array: np.ndarray, expected: tuple, name: str, hint: str = "") -> None:
    if array.shape != expected:
        raise CheckFailure(
            f"{name}: 形 (shape) が違います / shape mismatch\n"
            f"  期待値 expected shape: {expected}\n  実際   got shape:      {array.shape}" + (f"\n  {hint}" if hint else "")
        )


def _numeric(array: np.ndarray, name: str) -> np.ndarray:
    if not (np.issubdtype(array.dtype, np.number) or np.issubdtype(array.dtype, np.bool_)):
        raise CheckFailure(f"{name}: 数値の配列ではありません / not a numeric array: dtype {array.dtype}")
    values = array.astype(np.float64)
    if not np.isfinite(values).all():
        raise CheckFailure(f"{name}: NaN または Inf が含まれています / contains NaN or Inf")
    return values


def _below(measure: str, value: float, minimum: float, name: str, hint: str) -> CheckFailure:
    return CheckFailure(
        f"{name}: {measure} = {value:.3f} < {minimum:g} (しきい値 / threshold)\n  {hint}"
    )


# ------------------------------------------------------------- grader's data


def sin_data(size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """x uniform in [0, 4), shape (size, 1); y = sin(pi x), shape (size,)."""
    x = case_rng(seed).uniform(0.0, 4.0, size=(size, 1))
    return x, np.sin(np.pi * x[:, 0])


def sequence_data(size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Digits 0-9, shape (size, 10) int; y = 1 where the row holds a 1, shape (size,) int."""
    X = case_rng(seed).integers(0, 10, size=(size, 10))
    return X, (X == 1).any(axis=1).astype(np.int64)


def _split_state(seed: int) -> int:
    """A split's random_state: ``seed`` itself, or while grading one drawn from it with the course's salt."""
    if not os.environ.get(CASE_SALT_ENV):
        return seed  # the split the thresholds were measured on
    return int(case_rng(seed).integers(2**31 - 1))


def digits_split() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """load_digits split 70/30 with the grader's random_state: X_train, X_test, y_train, y_test."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    return train_test_split(digits.data, digits.target, test_size=DIGITS_TEST_SIZE,
                            random_state=_split_state(DIGITS_SPLIT_SEED))


def quantiles_split(scale: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Seed 002's data: 200 points, 2 features, 2 classes, standardized, split 80/20 (random_state=0)."""
    from sklearn.datasets import make_gaussian_quantiles
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    X, y = make_gaussian_quantiles(n_samples=200, n_features=2, n_classes=2, random_state=0)
    if scale:
        X = StandardScaler().fit_transform(X)
    return train_test_split(X, y, test_size=0.2, random_state=0)


# ---------------------------------------------------------------- references


def ref_pca(X: np.ndarray, n_components: int = PCA_N_COMPONENTS) -> tuple[np.ndarray, np.ndarray]:
    """(n, d) -> scores (n, n_components), explained_variance_ratio_ (n_components,) of sklearn's PCA."""
    from sklearn.decomposition import PCA

    pca = PCA(n_components=n_components)
    scores = pca.fit_transform(np.asarray(X, dtype=np.float64))
    return scores, pca.explained_variance_ratio_


def knn_accuracy(embedding: np.ndarray, labels: np.ndarray) -> float:
    """Mean 5-fold (stratified, shuffled with seed 0) cross-validated accuracy of 5-NN on ``embedding``."""
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.neighbors import KNeighborsClassifier

    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)
    return float(cross_val_score(KNeighborsClassifier(n_neighbors=5), embedding, labels, cv=folds).mean())


def tsne_subset() -> tuple[np.ndarray, np.ndarray]:
    """TSNE_N digits (images (TSNE_N, 64), labels (TSNE_N,)) chosen by the grader's own seed."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    index = case_rng(TSNE_SUBSET_SEED).permutation(len(digits.target))[:TSNE_N]
    return digits.data[index], digits.target[index]


# -------------------------------------------------------------------- checks


@judged
def check_make_sin_data(fn: Callable) -> None:
    """make_sin_data(size, seed) -> X (size, 1) uniform in [0, 4), y = sin(pi x) (size,); reproducible per seed."""
    for size, seed in [(2000, 0), (500, 7)]:
        name = f"make_sin_data({size}, seed={seed})"
        X, y = _as_pair(_call(fn, (size, seed), name), name)
        _shape(X, (size, 1), f"{name} の X / X", "X は 1 列の 2 次元配列です (seed の data.append([x])) / X is 2-D with one column")
        _shape(y, (size,), f"{name} の y / y")
        X, y = _numeric(X, f"{name} X"), _numeric(y, f"{name} y")
        if X.min() < 0 or X.max() >= 4:
            raise CheckFailure(f"{name}: x は 0 以上 4 未満です / x must lie in [0, 4): got min {X.min():.3g}, max {X.max():.3g}")
        quarters = np.histogram(X[:, 0], bins=4, range=(0, 4))[0] / size
        if size >= 2000 and np.abs(quarters - 0.25).max() > 0.06:  # 6 standard deviations at 2000 points
            raise CheckFailure(
                f"{name}: x が 0〜4 に一様に散らばっていません / x is not spread uniformly over [0, 4): "
                f"fractions in [0,1), [1,2), [2,3), [3,4) = {np.round(quarters, 3).tolist()}"
            )
        result = compare(y, np.sin(np.pi * X[:, 0]), rtol=1e-9, atol=1e-12, name=f"{name}: y = sin(πx)")
        if not result.ok:
            hint = ""
            if compare(y, np.sin(X[:, 0]), rtol=1e-9, atol=1e-12).ok:
                hint = "\n  y = sin(x) になっています。π を掛け忘れていませんか？ / y = sin(x): did you forget the factor π?"
            raise CheckFailure(result.message + hint)
        X_again, _ = _as_pair(_call(fn, (size, seed), name), name)
        if not np.array_equal(np.asarray(X_again, dtype=np.float64), X):
            raise CheckFailure(
                f"{name}: 同じ seed で 2 回呼ぶと違うデータになります。np.random.default_rng(seed) を使ってください / "
                f"two calls with the same seed differ: draw x with np.random.default_rng(seed)"
            )
    X_other, _ = _as_pair(_call(fn, (500, 8), "make_sin_data(500, seed=8)"), "make_sin_data(500, seed=8)")
    if np.array_equal(np.asarray(X_other, dtype=np.float64), X):
        raise CheckFailure("make_sin_data: seed を変えても同じデータです / a different seed gives the same data")


@judged
def check_train_sin_regressor(fn: Callable) -> None:
    """train_sin_regressor(X, y) on the grader's SIN_N_TRAIN points -> R² on a grid of [0, 4) >= SIN_R2_MIN."""
    from sklearn.metrics import r2_score
    from sklearn.neural_network import MLPRegressor

    X, y = sin_data(SIN_N_TRAIN, 101)
    name = f"train_sin_regressor(X ({SIN_N_TRAIN}, 1), y ({SIN_N_TRAIN},))"
    _, holder = _train(fn, (X, y), MLPRegressor, name)
    grid = np.linspace(0.0, 4.0, 2000, endpoint=False)[:, None]
    pred = _numeric(_predictions(holder, grid, name), name)
    if pred.shape != (len(grid),):
        raise CheckFailure(f"{name}: predict の形が違います / predict returned shape {pred.shape}, expected ({len(grid)},)")
    r2 = r2_score(np.sin(np.pi * grid[:, 0]), pred)
    if r2 < SIN_R2_MIN:
        raise _below("0〜4 の範囲の R² / R² on [0, 4)", r2, SIN_R2_MIN, name,
                     "隠れ層のニューロン数・層の数や max_iter を見直してください / "
                     "the network is too small or trained too briefly (hidden_layer_sizes, max_iter)")


@judged
def check_make_sequence_data(fn: Callable) -> None:
    """make_sequence_data(size, seed) -> X (size, 10) digits 0-9, y (size,) = 1 iff the row holds a 1."""
    for size, seed in [(5000, 0), (300, 3)]:
        name = f"make_sequence_data({size}, seed={seed})"
        X, y = _as_pair(_call(fn, (size, seed), name), name)
        _shape(X, (size, 10), f"{name} の X / X", "1 行が 10 桁の数列です / one row per 10-digit sequence")
        _shape(y, (size,), f"{name} の y / y")
        X, y = _numeric(X, f"{name} X"), _numeric(y, f"{name} y")
        if not (np.array_equal(X, np.round(X)) and X.min() >= 0 and X.max() <= 9):
            raise CheckFailure(f"{name}: X の要素は 0〜9 の整数です / X must hold the integers 0-9: "
                               f"got min {X.min():g}, max {X.max():g}")
        expected = (X == 1).any(axis=1).astype(np.float64)
        result = compare(y, expected, rtol=0, atol=0, name=f"{name}: y (1 を含む数列なら 1 / 1 iff the row contains a 1)")
        if not result.ok:
            raise CheckFailure(result.message)
        if size >= 5000:
            freq = np.bincount(X.astype(np.int64).ravel(), minlength=10) / X.size
            if np.abs(freq - 0.1).max() > 0.02:
                raise CheckFailure(
                    f"{name}: 0〜9 が同じ確率で出ていません / the digits 0-9 are not equally likely: "
                    f"frequencies {np.round(freq, 3).tolist()}"
                )
        X_again, _ = _as_pair(_call(fn, (size, seed), name), name)
        if not np.array_equal(np.asarray(X_again, dtype=np.float64), X):
            raise CheckFailure(
                f"{name}: 同じ seed で 2 回呼ぶと違うデータになります。np.random.default_rng(seed) を使ってください / "
                f"two calls with the same seed differ: draw the digits with np.random.default_rng(seed)"
            )
    X_other, _ = _as_pair(_call(fn, (300, 4), "make_sequence_data(300, seed=4)"), "make_sequence_data(300, seed=4)")
    if np.array_equal(np.asarray(X_other, dtype=np.float64), X):
        raise CheckFailure("make_sequence_data: seed を変えても同じデータです / a different seed gives the same data")


@judged
def check_train_sequence_classifier(fn: Callable) -> None:
    """train_sequence_classifier(X, y) on SEQ_N_TRAIN grader sequences, within the budget -> accuracy >= SEQ_ACC_MIN."""
    from sklearn.neural_network import MLPClassifier

    X, y = sequence_data(SEQ_N_TRAIN, 202)
    name = f"train_sequence_classifier(X ({SEQ_N_TRAIN}, 10), y ({SEQ_N_TRAIN},))"
    _, holder = _train(fn, (X, y), MLPClassifier, name)
    X_test, y_test = sequence_data(SEQ_N_TEST, 203)
    accuracy = float(np.mean(_predictions(holder, X_test, name) == y_test))
    if accuracy < SEQ_ACC_MIN:
        raise _below(f"採点用の {SEQ_N_TEST} 個の数列での正解率 / accuracy on {SEQ_N_TEST} new sequences", accuracy,
                     SEQ_ACC_MIN, name,
                     "0.65 前後なら「いつも 1 と答える」のと同じです。入力の表し方 (one-hot) やネットワークを見直してください / "
                     "about 0.65 is what always answering 1 gets: rethink the input encoding (one-hot) or the network")


@judged
def check_train_digits_classifier(fn: Callable) -> None:
    """train_digits_classifier(X_train, y_train) -> accuracy on the grader's held-out 30 % >= DIGITS_ACC_MIN."""
    from sklearn.neural_network import MLPClassifier

    X_train, X_test, y_train, y_test = digits_split()
    name = f"train_digits_classifier(X_train {X_train.shape}, y_train {y_train.shape})"
    _, holder = _train(fn, (X_train, y_train), MLPClassifier, name)
    accuracy = float(np.mean(_predictions(holder, X_test, name) == y_test))
    if accuracy < DIGITS_ACC_MIN:
        raise _below(f"採点用テストデータ ({len(y_test)} 枚) の正解率 / accuracy on the grader's {len(y_test)} test images",
                     accuracy, DIGITS_ACC_MIN, name,
                     "max_iter が小さすぎる・ネットワークが小さすぎる・テストデータで学習している、などがないか確認してください / "
                     "check max_iter and the network size, and that you train on the data you are given")


def _pca_inputs() -> list[tuple[np.ndarray, str]]:
    from sklearn.datasets import load_digits

    digits = load_digits().data
    rng = case_rng(401)
    subset = digits[rng.permutation(len(digits))[:400]]
    scales = np.array([10.0, 5.0, 3.0, 2.0, 1.0, 1.0, 0.5, 0.5, 0.2, 0.1])
    synthetic = rng.normal(size=(200, 10)) @ rng.normal(size=(10, 10)) * scales + 3.0
    return [(digits, "load_digits().data (1797, 64)"), (subset, "400 digits (400, 64)"),
            (synthetic, "synthetic data (200, 10)")]


@judged
def check_pca_digits(fn: Callable) -> None:
    """pca_digits(X) -> (scores (n, 4), explained_variance_ratio (4,)) as sklearn's PCA(4) on X as given."""
    for X, note in _pca_inputs():
        name = f"pca_digits({note})"
        result = _call(fn, (X.copy(),), name)
        if not isinstance(result, (tuple, list)) or len(result) != 2:
            raise CheckFailure(f"{name}: (scores, ratio) の 2 つを返してください / return the pair (scores, ratio)")
        scores, ratio = np.asarray(result[0]), np.asarray(result[1])
        want_scores, want_ratio = ref_pca(X)
        if ratio.shape != want_ratio.shape:
            raise CheckFailure(
                f"{name}: explained_variance_ratio の形が違います / shape mismatch: expected {want_ratio.shape}, "
                f"got {ratio.shape}\n  主成分は n_components={PCA_N_COMPONENTS} 個です / "
                f"use n_components={PCA_N_COMPONENTS}"
            )
        check = compare(ratio, want_ratio, rtol=PCA_RTOL, atol=1e-8, name=f"{name}: explained_variance_ratio_")
        if not check.ok:
            hint = ""
            from sklearn.preprocessing import StandardScaler

            _, scaled_ratio = ref_pca(StandardScaler().fit_transform(X))
            if compare(ratio, scaled_ratio, rtol=PCA_RTOL, atol=1e-8).ok:
                hint = ("\n  標準化 (StandardScaler) したデータの PCA になっています。教材どおり画素値のまま PCA してください / "
                        "this is PCA of standardized data: run PCA on the pixel values as they are, as in the seed")
            raise CheckFailure(check.message + hint)
        _shape(scores, want_scores.shape, f"{name}: scores (主成分得点 / principal component scores)")
        scores = _numeric(scores, f"{name}: scores")
        signs = np.where(np.sum(scores * want_scores, axis=0) < 0, -1.0, 1.0)  # a component's sign is arbitrary
        atol = PCA_ATOL_REL * float(np.abs(want_scores).max())
        check = compare(scores * signs, want_scores, rtol=PCA_RTOL, atol=atol, name=f"{name}: scores (符号は問わない / up to sign)")
        if not check.ok:
            raise CheckFailure(check.message)


@judged
def check_tsne_digits(fn: Callable) -> None:
    """tsne_digits(X, seed) on TSNE_N digits -> (n, 2) embedding whose 5-NN accuracy >= TSNE_KNN_MIN."""
    X, labels = tsne_subset()
    name = f"tsne_digits(X ({TSNE_N}, 64), seed=0)"
    embedding = np.asarray(_timed_call(fn, (X.copy(), 0), budget=TSNE_BUDGET_S, name=name, summarize=_as_data))
    _shape(embedding, (TSNE_N, 2), name, "2 次元に埋め込みます (n_components=2) / embed into 2 dimensions")
    embedding = _numeric(embedding, name)
    if float(embedding.std()) == 0.0:
        raise CheckFailure(f"{name}: すべての点が同じ位置にあります / every point sits at the same place")
    accuracy = knn_accuracy(embedding, labels)
    if accuracy < TSNE_KNN_MIN:
        raise _below("2 次元での 5-NN 正解率 (5 分割交差検証) / 5-NN accuracy in 2-D (5-fold CV)", accuracy,
                     TSNE_KNN_MIN, name,
                     "同じ数字の点がまとまっていません。PCA ではなく TSNE(n_components=2) を使っていますか？ / "
                     "points of the same digit do not cluster: use TSNE(n_components=2), not PCA")


@judged
def check_make_quantiles_split(fn: Callable) -> None:
    """make_quantiles_split() -> X_train (160, 2), X_valid (40, 2), y_train (160,), y_valid (40,) as seed 002."""
    name = "make_quantiles_split()"
    result = _call(fn, (), name)
    if not isinstance(result, (tuple, list)) or len(result) != 4:
        raise CheckFailure(f"{name}: X_train, X_valid, y_train, y_valid の 4 つを返してください / "
                           f"return X_train, X_valid, y_train, y_valid")
    got = [np.asarray(a) for a in result]
    want = quantiles_split()
    labels = ["X_train", "X_valid", "y_train", "y_valid"]
    for g, w, label in zip(got, want, labels, strict=True):
        check = compare(g, w, rtol=1e-9, atol=1e-12, name=f"{name}: {label}")
        if check.ok:
            continue
        hint = ""
        unscaled = quantiles_split(scale=False)
        if all(compare(a, b, rtol=1e-9, atol=1e-12).ok for a, b in zip(got, unscaled, strict=True)):
            hint = ("\n  X が標準化されていません。StandardScaler().fit_transform(X) を分割の前にかけてください / "
                    "X is not standardized: apply StandardScaler().fit_transform(X) before the split")
        elif check.reason == "shape":
            hint = "\n  test_size=0.2 (訓練 160 個・検証 40 個) で分割します / split with test_size=0.2 (160 / 40)"
        else:
            hint = ("\n  train_test_split(X, y, test_size=0.2, random_state=0) で分割していますか？ / "
                    "split with train_test_split(X, y, test_size=0.2, random_state=0)")
        raise CheckFailure(check.message + hint)


@judged
def check_train_quantiles_classifier(fn: Callable) -> None:
    """train_quantiles_classifier(X_train, y_train) -> MLPClassifier((5,)); validation accuracy >= QUANT_ACC_MIN."""
    from sklearn.neural_network import MLPClassifier

    X_train, X_valid, y_train, y_valid = quantiles_split()
    name = "train_quantiles_classifier(X_train (160, 2), y_train (160,))"
    facts, holder = _train(fn, (X_train, y_train), MLPClassifier, name)
    hidden = tuple(facts["hidden_layer_sizes"])
    if hidden != QUANT_HIDDEN:
        raise CheckFailure(
            f"{name}: 隠れ層はニューロン 5 個の 1 層です (hidden_layer_sizes=(5,)) / "
            f"use one hidden layer of 5 neurons: got hidden_layer_sizes={hidden}"
        )
    accuracy = float(np.mean(_predictions(holder, X_valid, name) == y_valid))
    if accuracy < QUANT_ACC_MIN:
        raise _below("検証データ (40 個) の正解率 / validation accuracy (40 points)", accuracy, QUANT_ACC_MIN, name,
                     "学習が足りません。max_iter=1 の warm_start はアニメーション用です: max_iter を十分大きくして 1 回 fit してください / "
                     "not trained enough: max_iter=1 with warm_start is for the animation; fit once with a large max_iter")

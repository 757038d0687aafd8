"""Lab 01's checks: the grader's verdict on what each probe (``autograder.kernel.probes.lab01``) recorded.

Each ``check_*`` gets the student's function (in the grader, a stand-in that answers from the
transcript), draws the same inputs as its probe and makes the same calls (through the probes' call
helpers), and judges what came back: data against the reference (:mod:`~autograder.labs.lab01.reference`),
models by a quality measure (R², accuracy, k-NN accuracy of an embedding) against a threshold, and
every training's CPU seconds against its budget (:mod:`~autograder.labs.lab01.thresholds`). Printed
numbers in the notebook are never trusted.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from autograder.kernel.compare import CheckFailure, compare
from autograder.kernel.probes import lab01 as probes
from autograder.labs.judged import judged, measured_seconds
from autograder.labs.lab01 import reference, thresholds

# ------------------------------------------------------------------ helpers


def _within_budget(out: dict, budget: float, name: str, cell: str) -> Any:
    """The summary of a timed call's record (:func:`probes.timed_call`); CheckFailure if it took over ``budget``,
    or if the grader's own timing of the test cell ``cell`` that made it says the calls took longer.

    The kernel measures the time and interrupts the call soon after its limit; the comparison of the
    measured seconds with the budget is the grader's.
    """
    seconds = float(out["cpu_seconds"])
    if seconds > budget:
        raise CheckFailure(probes.over_budget_message(name, seconds, budget))
    _require_cell_within(cell, budget, name, seconds)
    return out["summary"]


def _require_cell_within(cell: str, budget: float, name: str, reported: float) -> None:
    """The kernel's figure for a call is code in the student's process (a clock it keeps, which code reached by a
    built name can replace). The grader times the whole test cell itself, outside the kernel
    (:func:`autograder.labs.judged.measured_seconds`): its two calls of the function, the visible test's and the
    hidden one, each within ``budget``, and the rest of the cell cannot take longer than TIMED_CELL_CALLS budgets
    and TIMED_CELL_SLACK_S."""
    measured = measured_seconds(cell)
    bar = thresholds.TIMED_CELL_CALLS * budget + thresholds.TIMED_CELL_SLACK_S
    if measured is not None and measured > bar:
        raise CheckFailure(
            f"{name}: 採点側で測ったこのテストセルの時間 {measured:.1f} 秒が、{thresholds.TIMED_CELL_CALLS} 回の学習の上限 "
            f"({bar:g} 秒) を超えています。カーネルの報告 ({reported:.1f} 秒) とは合いません / the grader's own timing of "
            f"this test cell, {measured:.1f} s (the smaller of wall and CPU seconds), is over what "
            f"{thresholds.TIMED_CELL_CALLS} trainings within the budget can take ({bar:g} s), which the {reported:.1f} s "
            "reported from the kernel cannot be: a training over budget whose clock was changed"
        )


def _require_fitted(facts: dict, kind: str, name: str) -> None:
    """CheckFailure unless ``facts`` (:func:`probes.model_facts`) describe a fitted ``kind`` or a Pipeline ending in one."""
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
    if facts.get("activation") == "identity":
        # A network without a nonlinearity is a linear model, one of the trivial baselines (issue 18.3): on the
        # digits it reaches the accuracy bar, so the bar alone cannot tell it from the network the lab asks for.
        raise CheckFailure(
            f"{name}: activation='identity' のネットワークは線形モデルと同じです。非線形の活性化関数 (relu など) を使って"
            f"ください / a network with activation='identity' is a linear model: use a nonlinear activation (e.g. relu)"
        )


def _train(fn: Callable, args: tuple, kind: str, name: str, cell: str) -> tuple[dict, dict]:
    """The student's training function on ``args`` (:func:`probes.train`), within TRAIN_BUDGET_S (also by the
    grader's timing of the test cell ``cell``), returning a fitted ``kind``: (its model's facts, the holder
    :func:`probes.predictions` reads)."""
    __tracebackhide__ = True
    out, holder = probes.train(fn, args, kind, name)
    facts = _within_budget(out, thresholds.TRAIN_BUDGET_S, name, cell)
    _require_fitted(facts, kind, name)
    return facts, holder


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


def _same_seed_differs(name: str, what: str) -> CheckFailure:
    return CheckFailure(
        f"{name}: 同じ seed で 2 回呼ぶと違うデータになります。np.random.default_rng(seed) を使ってください / "
        f"two calls with the same seed differ: draw {what} with np.random.default_rng(seed)"
    )


# -------------------------------------------------------------------- checks


@judged
def check_make_sin_data(fn: Callable) -> None:
    """make_sin_data(size, seed) -> X (size, 1) uniform in [0, 4), y = sin(pi x) (size,); reproducible per seed."""
    for size, seed in probes.SIN_DATA_CALLS:
        name = probes.data_call("make_sin_data", size, seed)
        X, y = _as_pair(probes.call(fn, (size, seed), name), name)
        _shape(X, (size, 1), f"{name} の X / X", "X は 1 列の 2 次元配列です (seed の data.append([x])) / X is 2-D with one column")
        _shape(y, (size,), f"{name} の y / y")
        X, y = _numeric(X, f"{name} X"), _numeric(y, f"{name} y")
        if X.min() < 0 or X.max() >= 4:
            raise CheckFailure(f"{name}: x は 0 以上 4 未満です / x must lie in [0, 4): got min {X.min():.3g}, max {X.max():.3g}")
        quarters = reference.quarter_fractions(X[:, 0])
        if size >= thresholds.SIN_UNIFORM_MIN_SIZE and np.abs(quarters - 0.25).max() > thresholds.SIN_QUARTER_MAX_GAP:
            raise CheckFailure(
                f"{name}: x が 0〜4 に一様に散らばっていません / x is not spread uniformly over [0, 4): "
                f"fractions in [0,1), [1,2), [2,3), [3,4) = {np.round(quarters, 3).tolist()}"
            )
        tolerance = {"rtol": thresholds.DATA_RTOL, "atol": thresholds.DATA_ATOL, "scale_rtol": thresholds.DATA_SCALE_RTOL}
        result = compare(y, reference.sin_curve(X[:, 0]), **tolerance, name=f"{name}: y = sin(πx)")
        if not result.ok:
            hint = ""
            if compare(y, np.sin(X[:, 0]), **tolerance).ok:
                hint = "\n  y = sin(x) になっています。π を掛け忘れていませんか？ / y = sin(x): did you forget the factor π?"
            raise CheckFailure(result.message + hint)
        X_again, _ = _as_pair(probes.call(fn, (size, seed), name), name)
        if not np.array_equal(np.asarray(X_again, dtype=np.float64), X):
            raise _same_seed_differs(name, "x")
    other = probes.data_call("make_sin_data", *probes.SIN_DATA_OTHER)
    X_other, _ = _as_pair(probes.call(fn, probes.SIN_DATA_OTHER, other), other)
    if np.array_equal(np.asarray(X_other, dtype=np.float64), X):
        raise CheckFailure("make_sin_data: seed を変えても同じデータです / a different seed gives the same data")


@judged
def check_train_sin_regressor(fn: Callable) -> None:
    """train_sin_regressor(X, y) on the grader's SIN_N_TRAIN points -> R² on a grid of [0, 4) >= SIN_R2_MIN."""
    from sklearn.metrics import r2_score

    name = probes.SIN_REGRESSOR
    _, holder = _train(fn, probes.sin_data(probes.SIN_N_TRAIN, probes.SIN_TRAIN_SEED), "MLPRegressor", name,
                       "test_train_sin_regressor")
    grid = probes.sin_grid()
    pred = _numeric(probes.predictions(holder, grid, name), name)
    if pred.shape != (len(grid),):
        raise CheckFailure(f"{name}: predict の形が違います / predict returned shape {pred.shape}, expected ({len(grid)},)")
    r2 = r2_score(reference.sin_curve(grid[:, 0]), pred)
    if r2 < thresholds.SIN_R2_MIN:
        raise _below("0〜4 の範囲の R² / R² on [0, 4)", r2, thresholds.SIN_R2_MIN, name,
                     "隠れ層のニューロン数・層の数や max_iter を見直してください / "
                     "the network is too small or trained too briefly (hidden_layer_sizes, max_iter)")


@judged
def check_make_sequence_data(fn: Callable) -> None:
    """make_sequence_data(size, seed) -> X (size, 10) digits 0-9, y (size,) = 1 iff the row holds a 1."""
    for size, seed in probes.SEQ_DATA_CALLS:
        name = probes.data_call("make_sequence_data", size, seed)
        X, y = _as_pair(probes.call(fn, (size, seed), name), name)
        _shape(X, (size, 10), f"{name} の X / X", "1 行が 10 桁の数列です / one row per 10-digit sequence")
        _shape(y, (size,), f"{name} の y / y")
        X, y = _numeric(X, f"{name} X"), _numeric(y, f"{name} y")
        if not (np.array_equal(X, np.round(X)) and X.min() >= 0 and X.max() <= 9):
            raise CheckFailure(f"{name}: X の要素は 0〜9 の整数です / X must hold the integers 0-9: "
                               f"got min {X.min():g}, max {X.max():g}")
        result = compare(y, reference.contains_one(X), rtol=0, atol=0,
                         name=f"{name}: y (1 を含む数列なら 1 / 1 iff the row contains a 1)")
        if not result.ok:
            raise CheckFailure(result.message)
        if size >= thresholds.SEQ_UNIFORM_MIN_SIZE:
            freq = reference.digit_frequencies(X)
            if np.abs(freq - 0.1).max() > thresholds.SEQ_DIGIT_MAX_GAP:
                raise CheckFailure(
                    f"{name}: 0〜9 が同じ確率で出ていません / the digits 0-9 are not equally likely: "
                    f"frequencies {np.round(freq, 3).tolist()}"
                )
        X_again, _ = _as_pair(probes.call(fn, (size, seed), name), name)
        if not np.array_equal(np.asarray(X_again, dtype=np.float64), X):
            raise _same_seed_differs(name, "the digits")
    other = probes.data_call("make_sequence_data", *probes.SEQ_DATA_OTHER)
    X_other, _ = _as_pair(probes.call(fn, probes.SEQ_DATA_OTHER, other), other)
    if np.array_equal(np.asarray(X_other, dtype=np.float64), X):
        raise CheckFailure("make_sequence_data: seed を変えても同じデータです / a different seed gives the same data")


@judged
def check_train_sequence_classifier(fn: Callable) -> None:
    """train_sequence_classifier(X, y) on the grader's sequences, within the budget -> accuracy >= SEQ_ACC_MIN."""
    name = probes.SEQ_CLASSIFIER
    _, holder = _train(fn, probes.sequence_data(probes.SEQ_N_TRAIN, probes.SEQ_TRAIN_SEED), "MLPClassifier", name,
                       "test_train_sequence_classifier")
    X_test, _ = probes.sequence_data(probes.SEQ_N_TEST, probes.SEQ_TEST_SEED)
    accuracy = float(np.mean(probes.predictions(holder, X_test, name) == reference.contains_one(X_test)))
    if accuracy < thresholds.SEQ_ACC_MIN:
        raise _below(f"採点用の {probes.SEQ_N_TEST} 個の数列での正解率 / accuracy on {probes.SEQ_N_TEST} new sequences",
                     accuracy, thresholds.SEQ_ACC_MIN, name,
                     "0.65 前後なら「いつも 1 と答える」のと同じです。入力の表し方 (one-hot) やネットワークを見直してください / "
                     "about 0.65 is what always answering 1 gets: rethink the input encoding (one-hot) or the network")


@judged
def check_train_digits_classifier(fn: Callable) -> None:
    """train_digits_classifier(X_train, y_train) -> accuracy on the grader's held-out 30 % >= DIGITS_ACC_MIN."""
    X_train, X_test, y_train, y_test = probes.digits_split()
    name = probes.digits_classifier(X_train, y_train)
    _, holder = _train(fn, (X_train, y_train), "MLPClassifier", name, "test_train_digits_classifier")
    accuracy = float(np.mean(probes.predictions(holder, X_test, name) == y_test))
    if accuracy < thresholds.DIGITS_ACC_MIN:
        raise _below(f"採点用テストデータ ({len(y_test)} 枚) の正解率 / accuracy on the grader's {len(y_test)} test images",
                     accuracy, thresholds.DIGITS_ACC_MIN, name,
                     "max_iter が小さすぎる・ネットワークが小さすぎる、などがないか確認してください。採点用の X_train は"
                     "load_digits の画素を回転した写しです: 渡された X_train, y_train だけで学習してください (load_digits を"
                     "読み込んで学習したモデルは 0.1 前後になります) / check max_iter and the network size. The grader's X_train"
                     " are rotated copies of load_digits' pixels: fit on the X_train, y_train given (a model fitted on "
                     "load_digits itself gets about 0.1)")


@judged
def check_pca_digits(fn: Callable) -> None:
    """pca_digits(X) -> (scores (n, 4), explained_variance_ratio (4,)) as sklearn's PCA(4) on X as given."""
    rtol, ratio_atol = thresholds.PCA_RTOL, thresholds.PCA_RATIO_ATOL
    for X, note in probes.pca_inputs():
        name = f"pca_digits({note})"
        result = probes.call(fn, (X.copy(),), name)
        if not isinstance(result, (tuple, list)) or len(result) != 2:
            raise CheckFailure(f"{name}: (scores, ratio) の 2 つを返してください / return the pair (scores, ratio)")
        scores, ratio = np.asarray(result[0]), np.asarray(result[1])
        want_scores, want_ratio = reference.pca(X)
        if ratio.shape != want_ratio.shape:
            raise CheckFailure(
                f"{name}: explained_variance_ratio の形が違います / shape mismatch: expected {want_ratio.shape}, "
                f"got {ratio.shape}\n  主成分は n_components={reference.PCA_N_COMPONENTS} 個です / "
                f"use n_components={reference.PCA_N_COMPONENTS}"
            )
        check = compare(ratio, want_ratio, rtol=rtol, atol=ratio_atol, name=f"{name}: explained_variance_ratio_")
        if not check.ok:
            hint = ""
            if compare(ratio, reference.standardized_pca(X)[1], rtol=rtol, atol=ratio_atol).ok:
                hint = ("\n  標準化 (StandardScaler) したデータの PCA になっています。教材どおり画素値のまま PCA してください / "
                        "this is PCA of standardized data: run PCA on the pixel values as they are, as in the seed")
            raise CheckFailure(check.message + hint)
        _shape(scores, want_scores.shape, f"{name}: scores (主成分得点 / principal component scores)")
        scores = _numeric(scores, f"{name}: scores")
        signs = np.where(np.sum(scores * want_scores, axis=0) < 0, -1.0, 1.0)  # a component's sign is arbitrary
        atol = thresholds.PCA_ATOL_REL * float(np.abs(want_scores).max())
        check = compare(scores * signs, want_scores, rtol=rtol, atol=atol, name=f"{name}: scores (符号は問わない / up to sign)")
        if not check.ok:
            raise CheckFailure(check.message)


@judged
def check_tsne_digits(fn: Callable) -> None:
    """tsne_digits(X, seed) on TSNE_N digits -> (n, 2) embedding whose 5-NN accuracy >= TSNE_KNN_MIN."""
    X, labels = probes.tsne_subset()
    name = probes.TSNE_CALL
    out = probes.timed_call(fn, (X.copy(), probes.TSNE_SEED), limit=probes.TSNE_TIME_LIMIT_S, name=name,
                            summarize=probes.as_data)
    embedding = np.asarray(_within_budget(out, thresholds.TSNE_BUDGET_S, name, "test_tsne_digits"))
    _shape(embedding, (probes.TSNE_N, 2), name, "2 次元に埋め込みます (n_components=2) / embed into 2 dimensions")
    embedding = _numeric(embedding, name)
    if float(embedding.std()) == 0.0:
        raise CheckFailure(f"{name}: すべての点が同じ位置にあります / every point sits at the same place")
    accuracy = reference.knn_accuracy(embedding, labels)
    if accuracy < thresholds.TSNE_KNN_MIN:
        raise _below("2 次元での 5-NN 正解率 (5 分割交差検証) / 5-NN accuracy in 2-D (5-fold CV)", accuracy,
                     thresholds.TSNE_KNN_MIN, name,
                     "同じ数字の点がまとまっていません。PCA ではなく TSNE(n_components=2) を使っていますか？ / "
                     "points of the same digit do not cluster: use TSNE(n_components=2), not PCA")


@judged
def check_make_quantiles_split(fn: Callable) -> None:
    """make_quantiles_split() -> X_train (160, 2), X_valid (40, 2), y_train (160,), y_valid (40,) as seed 002."""
    name = probes.QUANTILES_SPLIT
    result = probes.call(fn, (), name)
    if not isinstance(result, (tuple, list)) or len(result) != 4:
        raise CheckFailure(f"{name}: X_train, X_valid, y_train, y_valid の 4 つを返してください / "
                           f"return X_train, X_valid, y_train, y_valid")
    got = [np.asarray(a) for a in result]
    want = reference.make_quantiles_split()
    tolerance = {"rtol": thresholds.DATA_RTOL, "atol": thresholds.DATA_ATOL, "scale_rtol": thresholds.DATA_SCALE_RTOL}
    labels = ["X_train", "X_valid", "y_train", "y_valid"]
    for g, w, label in zip(got, want, labels, strict=True):
        check = compare(g, w, **tolerance, name=f"{name}: {label}")
        if check.ok:
            continue
        hint = ""
        unscaled = reference.make_quantiles_split(scale=False)
        if all(compare(a, b, **tolerance).ok for a, b in zip(got, unscaled, strict=True)):
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
    """train_quantiles_classifier(X_train, y_train) -> MLPClassifier((5,)); accuracy on the grader's held-out points
    of the same distribution (probes.quantiles_held_out) >= QUANT_ACC_MIN."""
    X_train, _, y_train, _ = probes.quantiles_split()
    X_held, y_held = probes.quantiles_held_out()
    name = probes.QUANTILES_CLASSIFIER
    facts, holder = _train(fn, (X_train, y_train), "MLPClassifier", name, "test_train_quantiles_classifier")
    hidden = tuple(facts["hidden_layer_sizes"])
    if hidden != thresholds.QUANT_HIDDEN:
        raise CheckFailure(
            f"{name}: 隠れ層はニューロン 5 個の 1 層です (hidden_layer_sizes=(5,)) / "
            f"use one hidden layer of 5 neurons: got hidden_layer_sizes={hidden}"
        )
    accuracy = float(np.mean(probes.predictions(holder, X_held, name) == y_held))
    if accuracy < thresholds.QUANT_ACC_MIN:
        raise _below(f"同じ分布から採点側が新しく取った {len(y_held)} 点での正解率 / accuracy on {len(y_held)} new points "
                     "of the same distribution, drawn by the grader", accuracy,
                     thresholds.QUANT_ACC_MIN, name,
                     "学習が足りません。max_iter=1 の warm_start はアニメーション用です: max_iter を十分大きくして 1 回 fit してください / "
                     "not trained enough: max_iter=1 with warm_start is for the animation; fit once with a large max_iter")

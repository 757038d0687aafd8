"""Lab 06's checks: the grader's verdict on what each probe (``autograder.kernel.probes.lab06``) recorded.

The data-preparation checks compare the student's results on the grader's arrays with the NumPy
references (:mod:`~autograder.labs.lab06.reference`). The model checks judge data the kernel sent: the
student's model's facts and outputs on the grader's (salted) windows, the grader's own model's weights
after the student's train_model, predict's outputs for the grader's model. :func:`check_test_rmse` measures
the student's trained model on the grader's own scaled test windows against the grader's targets (the
RMSE the notebook prints is never trusted). The replay builds and runs no model: the grader's LSTM is
evaluated by a NumPy forward pass (:func:`~autograder.labs.lab06.reference.lstm_regressor`).
Tolerances and bars: :mod:`~autograder.labs.lab06.thresholds`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import numpy as np

from autograder.kernel.compare import CheckFailure, assert_close
from autograder.kernel.probes import lab06 as probes
from autograder.kernel.student import Case, call_student
from autograder.kernel.transcript import Opaque, TranscriptError, observe
from autograder.labs.judged import judged, report_metric
from autograder.labs.lab06 import reference
from autograder.labs.lab06.thresholds import (
    ATOL,
    BATCH_ATOL,
    BATCH_RTOL,
    LAST_STEP_ATOL,
    OWN_FORWARD_ATOL,
    OWN_FORWARD_RTOL,
    PREDICT_ATOL,
    PREDICT_RTOL,
    RMSE_VS_PERSISTENCE_MAX,
    RTOL,
    SCALE_RTOL,
    SCALED_PEAK_MAX,
    TRAIN_LOSS_RATIO,
)


def _kernel_only(label: str) -> Any:
    raise TranscriptError(f"{label}: observed in the student's kernel only")


def _recorded(label: str, *inputs: Any) -> Any:
    """What the probe observed in the kernel under ``label``, on the grader's ``inputs`` (which the recorded call's
    digest must match). The probe's thunk ran there; the grader has only its result."""
    return observe(label, partial(_kernel_only, label), *inputs)


def _copy(value: Any) -> Any:
    return value.copy() if isinstance(value, np.ndarray) else value


# ------------------------------------------------------------------- data checks


@judged
def check_min_max_scale(fn: Callable) -> None:
    name = "min_max_scale"
    for case in probes.min_max_scale_cases():
        label = case.describe(name)
        got = call_student(fn, name, label, *(_copy(a) for a in case.args), forbidden=probes.FORBIDDEN_SCALE)
        assert_close(got, reference.min_max_scale(*case.args), rtol=RTOL, atol=ATOL, scale_rtol=SCALE_RTOL, name=label)


def _type_name(value: Any) -> str:
    """The type of what the student's function returned (the kernel sends what is not data by its type's name)."""
    return value.type_name if isinstance(value, Opaque) else type(value).__name__


def _as_tuple(got: Any, count: int, label: str, names: Sequence[str]) -> tuple:
    if not isinstance(got, (tuple, list)) or len(got) != count:
        what = f"{type(got).__name__} of length {len(got)}" if isinstance(got, (tuple, list)) else _type_name(got)
        raise CheckFailure(
            f"{label}: {count} 個の値 ({', '.join(names)}) を return してください / "
            f"must return {count} values ({', '.join(names)}), got {what}"
        )
    return tuple(got)


def _check_tuple_function(fn: Callable, cases: Sequence[Case], ref: Callable, names: Sequence[str], *,
                          name: str, hint: Callable[[Case, tuple], str] | None = None) -> None:
    """check_function for a function returning several arrays: each one compared by name."""
    for case in cases:
        expected = ref(*case.args, **case.kwargs)
        label = case.describe(name)
        got = call_student(fn, name, label, *(_copy(a) for a in case.args),
                           **{k: _copy(v) for k, v in case.kwargs.items()})
        got = _as_tuple(got, len(names), label, names)
        for part, value, want in zip(names, got, expected, strict=True):
            try:
                assert_close(value, want, rtol=RTOL, atol=ATOL, scale_rtol=SCALE_RTOL, name=f"{label} -> {part}")
            except CheckFailure as exc:
                extra = hint(case, got) if hint else ""
                raise CheckFailure(f"{exc}\n{extra}" if extra else str(exc)) from None


def _create_dataset_hint(case: Case, got: tuple) -> str:
    series, look_back = case.args
    n = len(np.asarray(series).reshape(-1)) - look_back
    got_n = np.shape(got[0])[0] if np.ndim(got[0]) else None
    if got_n is not None and got_n == n - 1:
        return ("  ヒント: 窓が 1 個足りません。range(len(data) - look_back - 1) ではなく range(len(data) - look_back) です。\n"
                "  hint: one window short: the loop is range(len(data) - look_back), without the extra - 1.")
    return ""


@judged
def check_create_dataset(fn: Callable) -> None:
    _check_tuple_function(fn, probes.create_dataset_cases(), reference.create_dataset, ("X", "Y"),
                          name="create_dataset", hint=_create_dataset_hint)


def _shuffle_hint(case: Case, got: tuple) -> str:
    """A hint when the student's train + test rows are the input's rows in another order."""
    x = np.asarray(case.args[0])
    try:
        rows = np.concatenate([np.asarray(got[0]), np.asarray(got[2])]).reshape(len(x), -1)
    except (ValueError, TypeError):
        return ""
    flat = x.reshape(len(x), -1)
    if not np.array_equal(rows, flat) and np.array_equal(np.sort(rows, axis=0), np.sort(flat, axis=0)):
        return ("  ヒント: 順番が入れ替わっています。時系列は shuffle せず、前の部分を学習用、後ろの部分をテスト用にします "
                "(train_test_split は既定で shuffle します)。\n"
                "  hint: the samples were reordered: a time series is split without shuffling, the first part for "
                "training and the last part for testing (train_test_split shuffles by default).")
    return ""


@judged
def check_split_data(fn: Callable) -> None:
    _check_tuple_function(fn, probes.split_data_cases(), reference.split_data, ("trainX", "trainY", "testX", "testY"),
                          name="split_data", hint=_shuffle_hint)


def _facts_array(facts: dict) -> np.ndarray:
    """The array the kernel sent, or a stand-in of its shape (all zeros, allocated lazily) when it was too big."""
    if facts["values"] is not None:
        return np.asarray(facts["values"])
    return np.broadcast_to(np.float64(0.0), tuple(facts["shape"]))


@judged
def check_prepared(train_x, train_y, test_x, test_y) -> None:
    """The notebook's prepared arrays equal the grader's: scaled series, LOOK_BACK windows, time-ordered split.

    The arguments are the student's arrays; the kernel sent their values (or, for one too big to be the
    grader's, its shape), which the grader compares with its own pipeline's.
    """
    want = reference.data()
    for key in probes.PREPARED_NAMES:
        facts = _recorded(key)
        peak = facts["peak"]
        if peak is not None and peak > SCALED_PEAK_MAX:
            raise CheckFailure(
                f"{key}: 値が 0〜1 に収まっていません (最大 {peak:.4g}): min_max_scale で"
                f"スケーリングした系列から作ってください / values are not in [0, 1] (max {peak:.4g}):"
                " build the windows from the scaled series"
            )
        assert_close(_facts_array(facts), want[key], rtol=RTOL, atol=ATOL, scale_rtol=SCALE_RTOL, name=key)


# ------------------------------------------------------------------ model checks


def _output(result: Any, label: str) -> np.ndarray:
    """A model's output as the kernel sent it (autograder.kernel.probes.lab06.forward_output), as a float64 array."""
    if result["returned"] == "tuple":
        raise CheckFailure(f"{label}: forward はテンソル 1 つ (N, 1) を返してください / forward must return one "
                           "tensor of shape (N, 1), got a tuple (the LSTM's (output, (h, c))?)")
    return np.asarray(result["output"], dtype=np.float64)


@judged
def check_lstm_regressor(cls: Any) -> None:
    """LSTMRegressor(hidden_size): an nn.Module with an nn.LSTM; (N, L, 1) -> (N, 1), window by window."""
    for hidden in probes.MODEL_SIZES:
        label = probes.model_label(hidden)
        facts = _recorded(label)
        if not facts["module"]:
            raise CheckFailure(f"{label}: nn.Module を継承したクラスにしてください / must be a subclass of nn.Module, "
                               f"got {facts['type']}")
        if not facts["lstm"]:
            raise CheckFailure(f"{label}: nn.LSTM の層がありません / the model has no nn.LSTM layer")
        input_size, hidden_size = facts["lstm"][0]
        if input_size != 1 or hidden_size != hidden:
            raise CheckFailure(
                f"{label}: 最初の nn.LSTM は input_size=1, hidden_size={hidden} にしてください / the first nn.LSTM "
                f"must have input_size=1 and hidden_size={hidden}, got input_size={input_size}, "
                f"hidden_size={hidden_size}"
            )

    def forward(x: np.ndarray, label: str) -> np.ndarray:
        """The 6-unit model's output on the grader's (salted) windows ``x``, which the call's digest covers."""
        return _output(_recorded(label, x), label)

    for x in probes.lstm_regressor_windows():
        n, look_back = x.shape[:2]
        label = probes.forward_label(x)
        out = forward(x, label)
        assert_close(np.shape(out), (n, 1), name=f"{label}.shape")
        if not np.isfinite(out).all():
            raise CheckFailure(f"{label}: NaN または Inf が含まれています / contains NaN or Inf")
        for i in range(n if n > 1 else 0):
            alone = forward(x[i:i + 1], probes.window_label(i))
            try:
                assert_close(out[i:i + 1], alone, rtol=BATCH_RTOL, atol=BATCH_ATOL,
                             name=f"{label}[{i}] vs the same window alone")
            except CheckFailure as exc:
                raise CheckFailure(
                    f"{exc}\n  ヒント: 1 つの窓の予測がバッチのほかの窓に影響されています。入力は (バッチ, 時刻, 1) の順なので "
                    "nn.LSTM(..., batch_first=True) にします。\n"
                    "  hint: a window's prediction depends on the other windows of the batch: the input is "
                    "(batch, time, 1), so create nn.LSTM(..., batch_first=True)."
                ) from None
        if look_back > 1:
            if np.allclose(forward(probes.last_value_changed(x), label), out, rtol=0, atol=LAST_STEP_ATOL):
                raise CheckFailure(
                    f"{label}: 窓の最後の値 (最新の月) を変えても予測が変わりません。LSTM の出力のうち最後の時刻 "
                    "output[:, -1, :] を全結合層に渡してください / changing the last value of the window does not change "
                    "the prediction: pass the LSTM's output at the last time step, output[:, -1, :], to the linear layer"
                )


def _same_layout(weights: dict, trained: Any) -> bool:
    """Whether ``trained`` has the grader's parameters, by name and shape (else the model's layers were replaced)."""
    return (isinstance(trained, dict) and sorted(trained) == sorted(weights)
            and all(np.shape(trained[key]) == weights[key].shape for key in weights))


@judged
def check_train_model(fn: Callable) -> None:
    """train_model(model, X, Y, epochs, lr) trains the grader's model in place and returns one loss per epoch.

    The grader measures its model's MSE before (its own initial weights) and after (the weights the
    kernel's model has after the student's training) on its own salted toy problem.
    """
    x, y = probes.toy_problem()
    weights = probes.grader_weights(probes.TRAIN_WEIGHTS_SEED)
    before = reference.mse(weights, x, y)
    label = probes.train_label(x, y)
    epochs = probes.TRAIN_CHECK_EPOCHS
    result = _recorded(label, weights, x, y)
    if result["losses"] is None:
        raise CheckFailure(f"{label}: エポックごとの損失のリストを return してください / must return a list of the loss "
                           f"of every epoch, got {result['returned']}")
    values, trained = np.asarray(result["losses"], dtype=np.float64), result["weights"]
    if values.shape != (epochs,):
        raise CheckFailure(f"{label}: 損失の数が違います / wrong number of losses: expected one per epoch "
                           f"({epochs}), got {values.size}")
    if not np.isfinite(values).all():
        raise CheckFailure(f"{label}: 損失に NaN または Inf があります / the losses contain NaN or Inf")
    if not _same_layout(weights, trained):
        raise CheckFailure(f"{label}: 渡したモデルの層を入れ替えないでください / the layers of the model passed in "
                           "were replaced: train the model as it is")
    if all(np.array_equal(trained[key], weights[key]) for key in weights):
        raise CheckFailure(f"{label}: 渡したモデルのパラメータが変わっていません (optimizer.step() を呼んでいますか？"
                           "関数の中で新しいモデルを作っていませんか？) / the parameters of the model passed in did not change "
                           "(is optimizer.step() called? is a new model created inside the function?)")
    after = reference.mse(trained, x, y)
    if not after < TRAIN_LOSS_RATIO * before:
        raise CheckFailure(
            f"{label}: 学習で損失が十分に下がりません / training does not reduce the loss enough\n"
            f"  採点側で測った MSE grader's MSE: 学習前 before {before:.4g} → 学習後 after {after:.4g} "
            f"(学習前の {TRAIN_LOSS_RATIO:g} 倍未満が必要 / must fall below {TRAIN_LOSS_RATIO:g} x before)\n"
            "  ヒント: optimizer.zero_grad() → loss.backward() → optimizer.step() の順になっていますか？ / "
            "hint: zero_grad, then backward, then step, every epoch?"
        )


@judged
def check_predict(fn: Callable) -> None:
    """predict(model, X) returns the model's outputs for NumPy windows as a NumPy array (N, 1)."""
    weights = probes.grader_weights(probes.PREDICT_WEIGHTS_SEED)
    for x in probes.predict_windows():
        label = probes.predict_label(x)
        got = _recorded(label, weights, x)
        if got["tensor"]:
            raise CheckFailure(f"{label}: NumPy の配列を返してください (.numpy()) / must return a NumPy array, "
                               "got a torch tensor (use .numpy())")
        assert_close(got["value"], reference.lstm_regressor(weights, x), rtol=PREDICT_RTOL, atol=PREDICT_ATOL,
                     name=label)


def rmse_of_predictions(predictions: Any) -> float:
    """The RMSE of a trained model's output on the grader's test windows (as the kernel sent it,
    autograder.kernel.probes.lab06.model_predictions) against the grader's own targets."""
    pred = _output(predictions, probes.TEST_LABEL)
    want = reference.data()["testY"]
    if pred.size != want.size:
        raise CheckFailure(f"{probes.TEST_LABEL}: 形 (shape) が違います / shape mismatch: expected {want.shape}, "
                           f"got {pred.shape}")
    return reference.rmse(pred, want)


def persistence_rmse() -> float:
    """The RMSE on the grader's test windows of predicting the last month of each window again."""
    d = reference.data()
    return reference.rmse(d["testX"][:, -1, :], d["testY"])


def rmse_bar() -> float:
    """The largest test RMSE that passes: a fraction of persistence's (see thresholds.RMSE_VS_PERSISTENCE_MAX)."""
    return RMSE_VS_PERSISTENCE_MAX * persistence_rmse()


def lstm_weights(parameters: dict[str, Any]) -> dict[str, np.ndarray]:
    """The trained model's parameters (its state_dict, as the kernel sent them) under the names of the grader's
    forward pass (:func:`reference.lstm_regressor`), if they are one nn.LSTM layer (or nn.LSTMCell) of input size 1 and
    one nn.Linear to 1 output, whatever the attributes are called; a CheckFailure naming what else is there."""
    label = probes.TEST_LABEL
    names = {str(k) for k in parameters}
    prefixes = sorted({n[: -len(end)] for n in names for end in ("weight_ih_l0", "weight_ih") if n.endswith(end)})
    suffix = "_l0" if prefixes and f"{prefixes[0]}weight_ih_l0" in names else ""
    lstm = {k: f"{prefixes[0]}{k}{suffix}" for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")} if prefixes else {}
    linear = sorted(names - set(lstm.values()))
    weight = next((n for n in linear if n.endswith("weight")), None)
    bias = next((n for n in linear if n.endswith("bias")), None)
    shapes = {k: np.shape(v) for k, v in parameters.items()}
    hidden = shapes.get(lstm.get("weight_hh"), (0, 0))[-1]
    expected = {lstm.get("weight_ih"): (4 * hidden, 1), lstm.get("weight_hh"): (4 * hidden, hidden),
                lstm.get("bias_ih"): (4 * hidden,), lstm.get("bias_hh"): (4 * hidden,), weight: (1, hidden), bias: (1,)}
    if (len(prefixes) != 1 or hidden == 0 or len(linear) != 2 or weight is None or bias is None
            or any(shapes.get(k) != v for k, v in expected.items())):
        listed = ", ".join(f"{k} {shapes[k]}" for k in sorted(shapes)) or "none"
        raise CheckFailure(
            f"{label}: 学習したモデルは nn.LSTM 1 層と nn.Linear (出力 1) だけにしてください / the trained model must be "
            f"one nn.LSTM layer (input_size=1) and one nn.Linear to 1 output, and nothing else: its parameters and "
            f"buffers are {listed}"
        )
    return {"lstm.weight_ih_l0": parameters[lstm["weight_ih"]], "lstm.weight_hh_l0": parameters[lstm["weight_hh"]],
            "lstm.bias_ih_l0": parameters[lstm["bias_ih"]], "lstm.bias_hh_l0": parameters[lstm["bias_hh"]],
            "fc.weight": parameters[weight], "fc.bias": parameters[bias]}


def own_predictions(recorded: dict, x: np.ndarray) -> np.ndarray:
    """The grader's forward pass of the trained model's parameters on the test windows ``x``; a CheckFailure unless it
    gives the predictions the kernel reported (the model's forward is its LSTM and its Linear, and nothing else)."""
    weights = lstm_weights({k: np.asarray(v, dtype=np.float64) for k, v in recorded.get("parameters", {}).items()})
    own = reference.lstm_regressor(weights, x)
    reported = _output(recorded, probes.TEST_LABEL)
    off = np.abs(own - reported.reshape(own.shape)) - (OWN_FORWARD_ATOL + OWN_FORWARD_RTOL * np.abs(own))
    if off.max() > 0:
        worst = int(np.argmax(off))
        raise CheckFailure(
            f"{probes.TEST_LABEL}: モデルの予測が、その LSTM と全結合層の計算と一致しません / the model's predictions are "
            f"not those of its LSTM and its Linear layer on the last step: window {worst} gives "
            f"{reported.reshape(-1)[worst]:.4f}, its layers give {own.reshape(-1)[worst]:.4f}\n"
            "  forward は「LSTM の最後の時刻の状態 -> 全結合層」だけにしてください (系列の値を探して返すことはできません) / "
            "forward must be the LSTM's state after the last step through the Linear layer, nothing more"
        )
    return own


@judged
def check_test_rmse(model: Any) -> None:
    """The trained model's RMSE on the grader's test windows must be below RMSE_VS_PERSISTENCE_MAX times the RMSE
    of persistence (the last month again) on the same windows. A model that reaches it is measured again by the
    grader itself, from its parameters (:func:`own_predictions`)."""
    x = probes.held_out_windows()
    recorded = _recorded(probes.TEST_LABEL, x)
    rmse = rmse_of_predictions(recorded)
    bar, baseline = rmse_bar(), persistence_rmse()
    if np.isfinite(rmse) and rmse < bar:
        rmse = reference.rmse(own_predictions(recorded, x), reference.data()["testY"])
    if np.isfinite(rmse):
        report_metric("test_rmse", rmse, threshold=round(bar, 4), higher_is_better=False)
    if not np.isfinite(rmse) or rmse >= bar:
        raise CheckFailure(
            f"テストデータの RMSE (スケーリング後) が大きすぎます / test RMSE (scaled series) too large: "
            f"RMSE = {rmse:.4f} >= {bar:.4f} (しきい値 / threshold)\n"
            f"  前月の値をそのまま予測するだけ (persistence) で RMSE = {baseline:.4f} です。その "
            f"{RMSE_VS_PERSISTENCE_MAX:g} 倍未満が合格です / predicting the last month again (persistence) gives "
            f"RMSE = {baseline:.4f}: a model must beat {RMSE_VS_PERSISTENCE_MAX:g} times that\n"
            "  採点側が系列をスケーリングし、窓を作り、最後の 10 % で測った値です / measured by the grader on its own "
            "scaled windows of the last 10 % of the series"
        )

"""Hidden checks for lab 06, "time series with an LSTM" (seed 003: airline passengers).

Each ``check_*`` takes the student's function, class or trained model and nothing else.
The data-preparation checks compare with NumPy references on grader-chosen arrays; the
model checks build their own inputs: :func:`check_test_rmse` loads the airline series from
this package, scales it, cuts the windows and the test split itself, and measures the
student's trained model on them (the RMSE the notebook prints is never trusted).

The series ships inside the package (``autograder/data/airline_passengers.csv``); the
notebook reads it with :func:`load_airline_passengers`, or from the copy of the csv that
is released beside the notebook when the course package is not installed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from importlib import resources
from typing import Any

import numpy as np

from autograder.checks import (
    Case,
    CheckFailure,
    assert_close,
    call_student,
    describe_array,
    report_metric,
    student_errors,
)

# ----------------------------------------------------------------- constants (stated once)

LOOK_BACK = 12  # months of history per window: one year, as the notebook's LOOK_BACK
TEST_SIZE = 0.1  # the last 10 % of the windows are the test set (seed 003's split_data default)

# Data preparation is exact arithmetic on float64: anything looser than round-off is a wrong result.
RTOL = 1e-9
ATOL = 1e-12
# Model outputs are float32: the student's predict and the grader's forward pass may differ in round-off only.
PREDICT_RTOL = 1e-4
PREDICT_ATOL = 1e-6

# Test RMSE on the scaled series (the seed reports 0.10079 with tflearn, one LSTM layer of 6 units;
# its two-layer model got 0.1605, "worse"). The reference solution (LOOK_BACK 12, full-batch Adam,
# lr 0.01, 1000 epochs, torch.manual_seed(0)) measures 0.0646 on one 2-core runner and 0.0576 on another (an
# AMD EPYC: 1000 epochs of float32 training round differently on other CPUs); over torch seeds 0-7 it
# ranges 0.065-0.090. Predicting the last month again (persistence) gives 0.101, the training mean 0.404.
# Mistakes measured: no scaling 12.06, nn.LSTM without batch_first 0.267, no optimizer.zero_grad() 1.30.
RMSE_MAX = 0.15

# train_model on the grader's toy problem (100 full-batch Adam epochs, lr 0.01): the grader's own MSE of
# its model must fall below this fraction of the MSE before training. The reference reaches 0.045;
# forgetting optimizer.zero_grad() stalls at 0.34.
TRAIN_LOSS_RATIO = 0.15
TRAIN_CHECK_EPOCHS = 100
TRAIN_CHECK_LR = 0.01

# LSTMRegressor: outputs for one window must not depend on the other windows of the batch.
BATCH_RTOL = 1e-4
BATCH_ATOL = 1e-6

FORBIDDEN_SCALE = ("sklearn.preprocessing.minmax_scale", "sklearn.preprocessing.MinMaxScaler")


# ------------------------------------------------------------------------------ data


def airline_csv_path() -> Any:
    """The packaged csv (a Traversable: use ``.open()`` or ``str()``)."""
    return resources.files("autograder").joinpath("data", "airline_passengers.csv")


def load_airline_passengers() -> np.ndarray:
    """Monthly international airline passengers (thousands), 1949-01 ... 1960-12: float64 array of shape (144,)."""
    with airline_csv_path().open("r", encoding="utf-8") as fh:
        return np.loadtxt(fh, delimiter=",", skiprows=1, usecols=1, dtype=np.float64)


def _torch():
    import torch  # imported lazily: only the model checks need it

    return torch


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


# ------------------------------------------------------------------------ references


def ref_min_max_scale(data) -> np.ndarray:
    """Any shape -> same shape, (data - min) / (max - min) over all elements."""
    data = np.asarray(data, dtype=np.float64)
    return (data - data.min()) / (data.max() - data.min())


def ref_create_dataset(data, look_back) -> tuple[np.ndarray, np.ndarray]:
    """Series (T,) or (T, 1) -> X (T - look_back, look_back, 1), Y (T - look_back, 1): window -> next value."""
    series = np.asarray(data, dtype=np.float64).reshape(-1)
    n = len(series) - look_back
    x = np.stack([series[i:i + look_back] for i in range(n)])
    y = series[look_back:]
    return x.reshape(n, look_back, 1), y.reshape(n, 1)


def ref_split_data(x, y, test_size=TEST_SIZE) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The first round(len(x) * (1 - test_size)) samples train, the rest test, order kept."""
    pos = round(len(x) * (1 - test_size))
    return x[:pos], y[:pos], x[pos:], y[pos:]


def reference_data() -> dict[str, np.ndarray]:
    """The notebook's pipeline, computed by the grader: scaled series, then windows, then split."""
    scaled = ref_min_max_scale(load_airline_passengers())
    x, y = ref_create_dataset(scaled, LOOK_BACK)
    train_x, train_y, test_x, test_y = ref_split_data(x, y, TEST_SIZE)
    return {"scaled": scaled, "trainX": train_x, "trainY": train_y, "testX": test_x, "testY": test_y}


# --------------------------------------------------------------------------- inputs


def min_max_scale_cases() -> list[Case]:
    rng = _rng(601)
    return [
        Case((np.array([112.0, 118.0, 132.0, 129.0, 121.0]),), note="first five months of the series"),
        Case((load_airline_passengers(),), note="the whole airline series"),
        Case((rng.normal(-3.0, 2.0, size=50),), note="negative values"),
        Case((rng.uniform(10, 20, size=(30, 1)),), note="a column of shape (30, 1)"),
        Case((np.arange(7),), note="integers 0..6"),
    ]


def create_dataset_cases() -> list[Case]:
    rng = _rng(602)
    return [
        Case((np.arange(10, dtype=np.float64), 3), note="0..9, look_back 3"),
        Case((rng.normal(size=(20, 1)), 4), note="a column of shape (20, 1)"),
        Case((rng.normal(size=15), 1), note="look_back 1"),
        Case((ref_min_max_scale(load_airline_passengers()), LOOK_BACK), note="the scaled airline series, look_back 12"),
        Case((rng.normal(size=6), 5), note="look_back = len - 1: a single window"),
    ]


def _windows(rng: np.random.Generator, n: int, look_back: int) -> tuple[np.ndarray, np.ndarray]:
    return rng.normal(size=(n, look_back, 1)), rng.normal(size=(n, 1))


def split_data_cases() -> list[Case]:
    rng = _rng(603)
    return [
        Case(_windows(rng, 20, 3), note="20 samples, default test_size 0.1: 18 / 2"),
        Case(_windows(rng, 132, LOOK_BACK), note="132 samples: round(118.8) = 119 train, not 118"),
        Case(_windows(rng, 50, 2), {"test_size": 0.3}, note="test_size 0.3: 35 / 15"),
        Case(_windows(rng, 41, 5), {"test_size": 0.25}, note="test_size 0.25: round(30.75) = 31 / 10"),
        Case((np.arange(12.0), np.arange(12.0) * 10), {"test_size": 0.2}, note="1-D arrays: order must be kept"),
    ]


# ---------------------------------------------------------------- calling the student's code


def _call(fn: Any, fn_name: str, label: str, forbidden: Sequence[str], *args: Any, **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)`` with check_function's rules: forbidden calls, NotImplementedError, the student's errors."""
    return call_student(fn, fn_name, label, *args, forbidden=forbidden, **kwargs)


def _copy(value: Any) -> Any:
    return value.copy() if isinstance(value, np.ndarray) else value


def _as_tuple(got: Any, count: int, label: str, names: Sequence[str]) -> tuple:
    if not isinstance(got, (tuple, list)) or len(got) != count:
        what = f"{type(got).__name__} of length {len(got)}" if isinstance(got, (tuple, list)) else type(got).__name__
        raise CheckFailure(
            f"{label}: {count} 個の値 ({', '.join(names)}) を return してください / "
            f"must return {count} values ({', '.join(names)}), got {what}"
        )
    return tuple(got)


def _check_tuple_function(fn: Callable, cases: Sequence[Case], reference: Callable, names: Sequence[str], *,
                          name: str, rtol: float, atol: float, forbidden: Sequence[str] = (),
                          hint: Callable[[Case, tuple], str] | None = None) -> None:
    """check_function for a function returning several arrays: each one compared by name."""
    for case in cases:
        expected = reference(*case.args, **case.kwargs)
        label = case.describe(name)
        got = _call(fn, name, label, forbidden, *(_copy(a) for a in case.args),
                    **{k: _copy(v) for k, v in case.kwargs.items()})
        got = _as_tuple(got, len(names), label, names)
        for part, value, want in zip(names, got, expected, strict=True):
            try:
                assert_close(value, want, rtol=rtol, atol=atol, name=f"{label} -> {part}")
            except CheckFailure as exc:
                extra = hint(case, got) if hint else ""
                raise CheckFailure(f"{exc}\n{extra}" if extra else str(exc)) from None


# ------------------------------------------------------------------- data checks


def check_min_max_scale(fn: Callable) -> None:
    name = "min_max_scale"
    for case in min_max_scale_cases():
        label = case.describe(name)
        got = _call(fn, name, label, FORBIDDEN_SCALE, *(_copy(a) for a in case.args))
        assert_close(got, ref_min_max_scale(*case.args), rtol=RTOL, atol=ATOL, name=label)


def _create_dataset_hint(case: Case, got: tuple) -> str:
    series, look_back = case.args
    n = len(np.asarray(series).reshape(-1)) - look_back
    got_n = np.shape(got[0])[0] if np.ndim(got[0]) else None
    if got_n is not None and got_n == n - 1:
        return ("  ヒント: 窓が 1 個足りません。range(len(data) - look_back - 1) ではなく range(len(data) - look_back) です。\n"
                "  hint: one window short: the loop is range(len(data) - look_back), without the extra - 1.")
    return ""


def check_create_dataset(fn: Callable) -> None:
    _check_tuple_function(fn, create_dataset_cases(), ref_create_dataset, ("X", "Y"), name="create_dataset",
                          rtol=RTOL, atol=ATOL, hint=_create_dataset_hint)


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


def check_split_data(fn: Callable) -> None:
    _check_tuple_function(fn, split_data_cases(), ref_split_data, ("trainX", "trainY", "testX", "testY"),
                          name="split_data", rtol=0, atol=0, hint=_shuffle_hint)


def check_prepared(train_x, train_y, test_x, test_y) -> None:
    """The notebook's prepared arrays equal the grader's: scaled series, LOOK_BACK windows, time-ordered split."""
    want = reference_data()
    got = {"trainX": train_x, "trainY": train_y, "testX": test_x, "testY": test_y}
    for key, value in got.items():
        arr = np.asarray(value.detach().cpu().numpy() if hasattr(value, "detach") else value, dtype=np.float64)
        if arr.size and np.nanmax(np.abs(arr)) > 2.0:
            raise CheckFailure(
                f"{key}: 値が 0〜1 に収まっていません (最大 {np.nanmax(np.abs(arr)):.4g}): min_max_scale で"
                f"スケーリングした系列から作ってください / values are not in [0, 1] (max {np.nanmax(np.abs(arr)):.4g}):"
                " build the windows from the scaled series"
            )
        assert_close(arr, want[key], rtol=RTOL, atol=ATOL, name=key)


# ------------------------------------------------------------------ model checks


def _float32(x: np.ndarray):
    return _torch().tensor(np.asarray(x), dtype=_torch().float32)


def _model_dtype(model: Any):
    torch = _torch()
    try:
        return next(model.parameters()).dtype
    except (AttributeError, StopIteration, TypeError):
        return torch.float32


def _forward(model: Any, x: np.ndarray, label: str) -> np.ndarray:
    """The model's output for windows ``x`` (N, L, 1), as a float64 array; errors become CheckFailures."""
    torch = _torch()
    if not callable(model):
        raise CheckFailure(f"{label}: モデル (nn.Module) ではありません / not a model: got {type(model).__name__}")
    with student_errors(label), torch.no_grad():
        out = model(torch.tensor(np.asarray(x), dtype=_model_dtype(model)))
    if isinstance(out, tuple):
        raise CheckFailure(f"{label}: forward はテンソル 1 つ (N, 1) を返してください / forward must return one "
                           "tensor of shape (N, 1), got a tuple (the LSTM's (output, (h, c))?)")
    return np.asarray(out.detach().cpu().numpy() if hasattr(out, "detach") else out, dtype=np.float64)


def _lstm_layers(model: Any) -> list:
    nn = _torch().nn
    return [m for m in model.modules() if isinstance(m, nn.LSTM)] if hasattr(model, "modules") else []


def check_lstm_regressor(cls: Any) -> None:
    """LSTMRegressor(hidden_size): an nn.Module with an nn.LSTM; (N, L, 1) -> (N, 1), window by window."""
    torch = _torch()
    name = "LSTMRegressor"
    models = {}
    for hidden in (6, 3):
        label = f"{name}(hidden_size={hidden})"
        torch.manual_seed(606)
        model = _call(cls, name, label, (), hidden_size=hidden)
        if not isinstance(model, torch.nn.Module):
            raise CheckFailure(f"{label}: nn.Module を継承したクラスにしてください / must be a subclass of nn.Module, "
                               f"got {type(model).__name__}")
        lstms = _lstm_layers(model)
        if not lstms:
            raise CheckFailure(f"{label}: nn.LSTM の層がありません / the model has no nn.LSTM layer")
        if lstms[0].input_size != 1 or lstms[0].hidden_size != hidden:
            raise CheckFailure(
                f"{label}: 最初の nn.LSTM は input_size=1, hidden_size={hidden} にしてください / the first nn.LSTM "
                f"must have input_size=1 and hidden_size={hidden}, got input_size={lstms[0].input_size}, "
                f"hidden_size={lstms[0].hidden_size}"
            )
        models[hidden] = model
    model = models[6]
    model.eval()
    rng = _rng(606)
    for n, look_back in [(5, LOOK_BACK), (1, LOOK_BACK), (7, 3), (4, 1)]:
        x = rng.uniform(0.0, 1.0, size=(n, look_back, 1)).astype(np.float32)
        label = f"{name}()(x) with x {describe_array(x)}"
        out = _forward(model, x, label)
        assert_close(np.shape(out), (n, 1), name=f"{label}.shape")
        if not np.isfinite(out).all():
            raise CheckFailure(f"{label}: NaN または Inf が含まれています / contains NaN or Inf")
        for i in range(n if n > 1 else 0):
            alone = _forward(model, x[i:i + 1], f"{name}()(x[{i}:{i + 1}])")
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
            changed = x.copy()
            changed[:, -1, 0] += 1.0
            if np.allclose(_forward(model, changed, label), out, rtol=0, atol=1e-7):
                raise CheckFailure(
                    f"{label}: 窓の最後の値 (最新の月) を変えても予測が変わりません。LSTM の出力のうち最後の時刻 "
                    "output[:, -1, :] を全結合層に渡してください / changing the last value of the window does not change "
                    "the prediction: pass the LSTM's output at the last time step, output[:, -1, :], to the linear layer"
                )


def _toy_problem() -> tuple[np.ndarray, np.ndarray]:
    """Windows of a noisy sine wave in [0, 1]: X (60, 8, 1), Y (60, 1)."""
    rng = _rng(607)
    t = np.arange(68)
    series = 0.5 + 0.4 * np.sin(2 * np.pi * t / 12) + rng.normal(0.0, 0.02, size=t.size)
    return ref_create_dataset(series, 8)


def _grader_model(seed: int, hidden: int = 4):
    """The grader's own LSTM regressor, for the train_model / predict checks (seeded initial weights)."""
    torch = _torch()
    nn = torch.nn

    class GraderLSTM(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(1, hidden, batch_first=True)
            self.fc = nn.Linear(hidden, 1)

        def forward(self, x):
            out, _ = self.lstm(x)
            return self.fc(out[:, -1, :])

    torch.manual_seed(seed)
    return GraderLSTM()


def _mse(model: Any, x: np.ndarray, y: np.ndarray) -> float:
    torch = _torch()
    with torch.no_grad():
        return float(((model(_float32(x)) - _float32(y)) ** 2).mean())


def check_train_model(fn: Callable) -> None:
    """train_model(model, X, Y, epochs, lr) trains the grader's model in place and returns one loss per epoch."""
    torch = _torch()
    name = "train_model"
    x, y = _toy_problem()
    model = _grader_model(seed=607)
    before_params = [p.detach().clone() for p in model.parameters()]
    before = _mse(model, x, y)
    label = f"{name}(model, X {describe_array(x)}, Y {describe_array(y)}, epochs={TRAIN_CHECK_EPOCHS}, lr={TRAIN_CHECK_LR})"
    torch.manual_seed(0)
    losses = _call(fn, name, label, (), model, x.copy(), y.copy(), epochs=TRAIN_CHECK_EPOCHS, lr=TRAIN_CHECK_LR)
    try:
        values = np.array([float(v) for v in losses], dtype=np.float64)
    except (TypeError, ValueError):
        raise CheckFailure(f"{label}: エポックごとの損失のリストを return してください / must return a list of the loss "
                           f"of every epoch, got {type(losses).__name__}") from None
    if values.shape != (TRAIN_CHECK_EPOCHS,):
        raise CheckFailure(f"{label}: 損失の数が違います / wrong number of losses: expected one per epoch "
                           f"({TRAIN_CHECK_EPOCHS}), got {values.size}")
    if not np.isfinite(values).all():
        raise CheckFailure(f"{label}: 損失に NaN または Inf があります / the losses contain NaN or Inf")
    if all(torch.equal(a, b.detach()) for a, b in zip(before_params, model.parameters(), strict=True)):
        raise CheckFailure(f"{label}: 渡したモデルのパラメータが変わっていません (optimizer.step() を呼んでいますか？"
                           "関数の中で新しいモデルを作っていませんか？) / the parameters of the model passed in did not change "
                           "(is optimizer.step() called? is a new model created inside the function?)")
    after = _mse(model, x, y)
    if not after < TRAIN_LOSS_RATIO * before:
        raise CheckFailure(
            f"{label}: 学習で損失が十分に下がりません / training does not reduce the loss enough\n"
            f"  採点側で測った MSE grader's MSE: 学習前 before {before:.4g} → 学習後 after {after:.4g} "
            f"(学習前の {TRAIN_LOSS_RATIO:g} 倍未満が必要 / must fall below {TRAIN_LOSS_RATIO:g} x before)\n"
            "  ヒント: optimizer.zero_grad() → loss.backward() → optimizer.step() の順になっていますか？ / "
            "hint: zero_grad, then backward, then step, every epoch?"
        )


def check_predict(fn: Callable) -> None:
    """predict(model, X) returns the model's outputs for NumPy windows as a NumPy array (N, 1)."""
    torch = _torch()
    name = "predict"
    model = _grader_model(seed=608)
    rng = _rng(608)
    for n, look_back in [(13, LOOK_BACK), (1, 5), (40, 3)]:
        x = rng.uniform(0.0, 1.0, size=(n, look_back, 1))
        label = f"{name}(model, X {describe_array(x)})"
        with torch.no_grad():
            expected = model(_float32(x)).numpy().astype(np.float64)
        got = _call(fn, name, label, (), model, x.copy())
        if hasattr(got, "detach"):
            raise CheckFailure(f"{label}: NumPy の配列を返してください (.numpy()) / must return a NumPy array, "
                               "got a torch tensor (use .numpy())")
        assert_close(got, expected, rtol=PREDICT_RTOL, atol=PREDICT_ATOL, name=label)


def measure_test_rmse(model: Any) -> float:
    """RMSE of ``model`` on the grader's own scaled test windows (the last 10 % of the series)."""
    data = reference_data()
    pred = _forward(model, data["testX"].astype(np.float32), "model(testX)")
    if pred.size != data["testY"].size:
        raise CheckFailure(f"model(testX): 形 (shape) が違います / shape mismatch: expected {data['testY'].shape}, "
                           f"got {pred.shape}")
    return float(np.sqrt(np.mean((pred.reshape(-1) - data["testY"].reshape(-1)) ** 2)))


def check_test_rmse(model: Any) -> None:
    """The trained model's RMSE on the grader's test windows must be below RMSE_MAX."""
    if hasattr(model, "eval"):
        model.eval()
    rmse = measure_test_rmse(model)
    if np.isfinite(rmse):
        report_metric("test_rmse", rmse, threshold=RMSE_MAX, higher_is_better=False)
    if not np.isfinite(rmse) or rmse >= RMSE_MAX:
        raise CheckFailure(
            f"テストデータの RMSE (スケーリング後) が大きすぎます / test RMSE (scaled series) too large: "
            f"RMSE = {rmse:.4f} >= {RMSE_MAX} (しきい値 / threshold)\n"
            "  採点側が系列をスケーリングし、窓を作り、最後の 10 % で測った値です / measured by the grader on its own "
            "scaled windows of the last 10 % of the series"
        )

"""Hidden checks for lab 06, "time series with an LSTM" (seed 003: airline passengers).

Each ``check_*`` takes the student's function, class or trained model and nothing else.
The data-preparation checks compare with NumPy references on grader-chosen arrays; the
model checks build their own inputs: :func:`check_test_rmse` loads the airline series from
this package, scales it, cuts the windows and the test split itself, and measures the
student's trained model on them (the RMSE the notebook prints is never trusted).

The series ships inside the package (``autograder/data/airline_passengers.csv``); the
notebook reads it with :func:`load_airline_passengers`, or from the copy of the csv that
is released beside the notebook when the course package is not installed.

Every check is :func:`~autograder.transcript.judged`: the grader replays it in its own process on
what the kernel recorded. The student's functions, classes and models are touched only in the
kernel, through :func:`_call` or :func:`~autograder.transcript.observe` thunks that return data
(results, a model's outputs on the grader's salted inputs, its LSTM layer sizes, trained
weights); references, comparisons and verdicts are computed by the grader. The grader's own
LSTM regressor (train_model and predict checks) gets weights drawn by the grader, and the
grader evaluates it with a NumPy forward pass (:func:`ref_lstm_regressor`), so its replay needs
no torch and builds no model.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from importlib import resources
from typing import Any

import numpy as np

from autograder import transcript
from autograder.checks import (
    Case,
    CheckFailure,
    assert_close,
    call_student,
    case_rng,
    describe_array,
    report_metric,
    run_student,
    student_errors,
)
from autograder.transcript import judged, observe

# ----------------------------------------------------------------- constants (stated once)

LOOK_BACK = 12  # months of history per window: one year, as the notebook's LOOK_BACK
TEST_SIZE = 0.1  # the last 10 % of the windows are the test set (seed 003's split_data default)

# Data preparation is exact arithmetic on float64: anything looser than round-off is a wrong result.
RTOL = 1e-9
ATOL = 1e-12
# Model outputs are float32, the grader's NumPy forward pass float64: they may differ in round-off only.
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
# its model must fall below this fraction of the MSE before training. From the grader's initial weights
# (grader_weights(607)) the reference reaches 0.003 and forgetting optimizer.zero_grad() stalls at 0.85 or
# more, whatever the salt of the toy problem's noise (other initial weights: 0.005-0.11 and 0.19-1.5).
TRAIN_LOSS_RATIO = 0.15
TRAIN_CHECK_EPOCHS = 100
TRAIN_CHECK_LR = 0.01

# LSTMRegressor: outputs for one window must not depend on the other windows of the batch.
BATCH_RTOL = 1e-4
BATCH_ATOL = 1e-6

# check_prepared: a prepared array bigger than this is not sent to the grader (the grader's are a few kB).
PREPARED_MAX_BYTES = 2**20

FORBIDDEN_SCALE = ("sklearn.preprocessing.minmax_scale", "sklearn.preprocessing.MinMaxScaler")


# ------------------------------------------------------------------------------ data


def airline_csv_path() -> Any:
    """The packaged csv (a Traversable: use ``.open()`` or ``str()``)."""
    return resources.files("autograder").joinpath("data", "airline_passengers.csv")


# What the notebook's own cells import from here: using it is not tampering (autograder.judge).
STUDENT_API = ("load_airline_passengers",)


def load_airline_passengers() -> np.ndarray:
    """Monthly international airline passengers (thousands), 1949-01 ... 1960-12: float64 array of shape (144,)."""
    with airline_csv_path().open("r", encoding="utf-8") as fh:
        return np.loadtxt(fh, delimiter=",", skiprows=1, usecols=1, dtype=np.float64)


def _torch():
    import torch  # imported lazily: only the model checks need it

    return torch


def _rng(seed: int) -> np.random.Generator:
    return case_rng(seed)  # the course's secret salt is mixed in while grading, in the kernel and the grader alike


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


def _is_data(value: Any) -> bool:
    """Whether the transcript carries ``value`` as it is (numbers, strings, numeric arrays and tensors)."""
    encoded = transcript.encode(value)
    return not (isinstance(encoded, dict) and "__opaque__" in encoded)


def _as_data(value: Any) -> Any:
    """What the student's function returned, as data the transcript can carry.

    An array-like that is not data itself (a pandas Series) becomes the NumPy array that the comparison
    makes of it anyway, so the grader's verdict is the kernel's; lists and tuples keep their items in order.
    """
    if isinstance(value, (list, tuple)):
        return (tuple if isinstance(value, tuple) else list)(_as_data(v) for v in value)
    if _is_data(value):
        return value
    try:
        array = np.asarray(value)
    except (TypeError, ValueError, RuntimeError):
        return value
    return array if _is_data(array) else value


def _call(fn: Any, fn_name: str, label: str, forbidden: Sequence[str], args: tuple, kwargs: dict | None = None, *,
          as_data: Callable[[Any], Any] = _as_data) -> Any:
    """``fn(*args, **kwargs)`` recorded in the judged check's transcript, its result made data by ``as_data``."""
    return call_student(fn, fn_name, label, *args, forbidden=forbidden, as_data=as_data, **(kwargs or {}))


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


def _parts_as_data(names: Sequence[str], label: str) -> Callable[[Any], tuple]:
    """In the kernel: the returned values counted (a failure if they are not ``len(names)``), each as data."""
    return lambda got: tuple(_as_data(v) for v in _as_tuple(got, len(names), label, names))


def _check_tuple_function(fn: Callable, cases: Sequence[Case], reference: Callable, names: Sequence[str], *,
                          name: str, rtol: float, atol: float, forbidden: Sequence[str] = (),
                          hint: Callable[[Case, tuple], str] | None = None) -> None:
    """check_function for a function returning several arrays: each one compared by name."""
    for case in cases:
        expected = reference(*case.args, **case.kwargs)
        label = case.describe(name)
        got = _call(fn, name, label, forbidden, tuple(_copy(a) for a in case.args),
                    {k: _copy(v) for k, v in case.kwargs.items()}, as_data=_parts_as_data(names, label))
        for part, value, want in zip(names, got, expected, strict=True):
            try:
                assert_close(value, want, rtol=rtol, atol=atol, name=f"{label} -> {part}")
            except CheckFailure as exc:
                extra = hint(case, got) if hint else ""
                raise CheckFailure(f"{exc}\n{extra}" if extra else str(exc)) from None


# ------------------------------------------------------------------- data checks


@judged
def check_min_max_scale(fn: Callable) -> None:
    name = "min_max_scale"
    for case in min_max_scale_cases():
        label = case.describe(name)
        got = _call(fn, name, label, FORBIDDEN_SCALE, tuple(_copy(a) for a in case.args))
        assert_close(got, ref_min_max_scale(*case.args), rtol=RTOL, atol=ATOL, name=label)


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


@judged
def check_split_data(fn: Callable) -> None:
    _check_tuple_function(fn, split_data_cases(), ref_split_data, ("trainX", "trainY", "testX", "testY"),
                          name="split_data", rtol=0, atol=0, hint=_shuffle_hint)


def _array_facts(value: Any) -> dict:
    """In the kernel: one of the student's prepared arrays as float64 (up to 1 MiB of it), its shape and its
    largest absolute value (NaN aside). A bigger array cannot be the grader's (those are a few kB): its shape
    is all the grader needs to say so."""
    arr = np.asarray(value.detach().cpu().numpy() if hasattr(value, "detach") else value, dtype=np.float64)
    return {"shape": tuple(arr.shape), "peak": float(np.nanmax(np.abs(arr))) if arr.size else None,
            "values": arr if arr.nbytes <= PREPARED_MAX_BYTES else None}


def _facts_array(facts: dict) -> np.ndarray:
    """The array the kernel sent, or a stand-in of its shape (all zeros, allocated lazily) when it was too big."""
    if facts["values"] is not None:
        return np.asarray(facts["values"])
    return np.broadcast_to(np.float64(0.0), tuple(facts["shape"]))


@judged
def check_prepared(train_x, train_y, test_x, test_y) -> None:
    """The notebook's prepared arrays equal the grader's: scaled series, LOOK_BACK windows, time-ordered split."""
    want = reference_data()
    got = {"trainX": train_x, "trainY": train_y, "testX": test_x, "testY": test_y}
    for key, value in got.items():
        # the arguments are the student's (in the grader, a big one is only a stand-in): read in the kernel
        facts = observe(key, partial(_array_facts, value))
        peak = facts["peak"]
        if peak is not None and peak > 2.0:
            raise CheckFailure(
                f"{key}: 値が 0〜1 に収まっていません (最大 {peak:.4g}): min_max_scale で"
                f"スケーリングした系列から作ってください / values are not in [0, 1] (max {peak:.4g}):"
                " build the windows from the scaled series"
            )
        assert_close(_facts_array(facts), want[key], rtol=RTOL, atol=ATOL, name=key)


# ------------------------------------------------------------------ model checks
# The student's models live in the kernel only: the thunks below build, run and train them there and
# return data. The grader judges that data against its own inputs and references.


def _float32(x: np.ndarray):
    return _torch().tensor(np.asarray(x), dtype=_torch().float32)


def _model_dtype(model: Any):
    torch = _torch()
    try:
        return next(model.parameters()).dtype
    except (AttributeError, StopIteration, TypeError):
        return torch.float32


def _forward(model: Any, x: np.ndarray, label: str) -> np.ndarray:
    """In the kernel: the model's output for windows ``x`` (N, L, 1), as a float64 array; errors become CheckFailures."""
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


def _build_student_model(cls: Any, name: str, label: str, hidden: int, models: dict) -> dict:
    """In the kernel: ``cls(hidden_size=hidden)`` with seeded initial weights, kept in ``models`` for the forward
    passes that follow; returns what the grader judges of it: its type, and the sizes of its nn.LSTM layers."""
    torch = _torch()
    torch.manual_seed(606)
    model = run_student(cls, name, label, hidden_size=hidden)
    models[hidden] = model
    is_module = isinstance(model, torch.nn.Module)
    lstms = [[m.input_size, m.hidden_size] for m in _lstm_layers(model)] if is_module else []
    return {"type": type(model).__name__, "module": is_module, "lstm": lstms}


def _forward_evaluated(models: dict, hidden: int, x: np.ndarray, label: str) -> np.ndarray:
    """In the kernel: the student's model ``models[hidden]`` in evaluation mode, on ``x``."""
    model = models[hidden]
    model.eval()
    return _forward(model, x, label)


@judged
def check_lstm_regressor(cls: Any) -> None:
    """LSTMRegressor(hidden_size): an nn.Module with an nn.LSTM; (N, L, 1) -> (N, 1), window by window."""
    name = "LSTMRegressor"
    models: dict = {}  # hidden_size -> the student's model, in the kernel (the grader's replay has only facts)
    for hidden in (6, 3):
        label = f"{name}(hidden_size={hidden})"
        facts = observe(label, partial(_build_student_model, cls, name, label, hidden, models))
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
        return np.asarray(observe(label, partial(_forward_evaluated, models, 6, x, label), x))

    rng = _rng(606)
    for n, look_back in [(5, LOOK_BACK), (1, LOOK_BACK), (7, 3), (4, 1)]:
        x = rng.uniform(0.0, 1.0, size=(n, look_back, 1)).astype(np.float32)
        label = f"{name}()(x) with x {describe_array(x)}"
        out = forward(x, label)
        assert_close(np.shape(out), (n, 1), name=f"{label}.shape")
        if not np.isfinite(out).all():
            raise CheckFailure(f"{label}: NaN または Inf が含まれています / contains NaN or Inf")
        for i in range(n if n > 1 else 0):
            alone = forward(x[i:i + 1], f"{name}()(x[{i}:{i + 1}])")
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
            if np.allclose(forward(changed, label), out, rtol=0, atol=1e-7):
                raise CheckFailure(
                    f"{label}: 窓の最後の値 (最新の月) を変えても予測が変わりません。LSTM の出力のうち最後の時刻 "
                    "output[:, -1, :] を全結合層に渡してください / changing the last value of the window does not change "
                    "the prediction: pass the LSTM's output at the last time step, output[:, -1, :], to the linear layer"
                )


# The grader's own LSTM regressor (train_model and predict checks): nn.LSTM(1, GRADER_HIDDEN, batch_first=True)
# and nn.Linear(GRADER_HIDDEN, 1) on the last time step. Its weights, by parameter name:
GRADER_HIDDEN = 4
GRADER_SHAPES = {"lstm.weight_ih_l0": (4 * GRADER_HIDDEN, 1), "lstm.weight_hh_l0": (4 * GRADER_HIDDEN, GRADER_HIDDEN),
                 "lstm.bias_ih_l0": (4 * GRADER_HIDDEN,), "lstm.bias_hh_l0": (4 * GRADER_HIDDEN,),
                 "fc.weight": (1, GRADER_HIDDEN), "fc.bias": (1,)}


def grader_weights(seed: int) -> dict[str, np.ndarray]:
    """Initial weights of the grader's model: uniform in +-1/sqrt(hidden), PyTorch's own initialisation of both
    layers, rounded to float32 (the model's dtype) so that the grader's NumPy forward pass uses exactly them.

    Fixed, not salted: train_model's threshold is a fraction of the loss before training, which varies with
    the weights (the seed is chosen with a wide margin, see TRAIN_LOSS_RATIO). The inputs are salted.
    """
    rng = np.random.default_rng(seed)
    bound = 1.0 / np.sqrt(GRADER_HIDDEN)
    return {key: rng.uniform(-bound, bound, size=shape).astype(np.float32).astype(np.float64)
            for key, shape in GRADER_SHAPES.items()}


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # no overflow warning for large |z|


def ref_lstm_regressor(weights: dict[str, np.ndarray], x) -> np.ndarray:
    """The grader's model in NumPy (float64): windows (N, L, 1) -> (N, 1), PyTorch's gate order i, f, g, o."""
    x = np.asarray(x, dtype=np.float64)
    w_ih, w_hh = weights["lstm.weight_ih_l0"], weights["lstm.weight_hh_l0"]
    bias = weights["lstm.bias_ih_l0"] + weights["lstm.bias_hh_l0"]
    h = np.zeros((x.shape[0], w_hh.shape[1]))
    c = np.zeros_like(h)
    for t in range(x.shape[1]):
        i, f, g, o = np.split(x[:, t] @ w_ih.T + h @ w_hh.T + bias, 4, axis=1)
        c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
        h = _sigmoid(o) * np.tanh(c)
    return h @ weights["fc.weight"].T + weights["fc.bias"]


def _mse(weights: dict[str, np.ndarray], x: np.ndarray, y: np.ndarray) -> float:
    """The grader's MSE of its model with ``weights`` on (x, y), computed by the grader."""
    return float(np.mean((ref_lstm_regressor(weights, x) - y) ** 2))


def _grader_model(weights: dict[str, np.ndarray]):
    """In the kernel: the grader's model as an nn.Module with ``weights``, for the student's functions."""
    torch = _torch()
    nn = torch.nn

    class GraderLSTM(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(1, GRADER_HIDDEN, batch_first=True)
            self.fc = nn.Linear(GRADER_HIDDEN, 1)

        def forward(self, x):
            out, _ = self.lstm(x)
            return self.fc(out[:, -1, :])

    model = GraderLSTM()
    model.load_state_dict({key: torch.tensor(value, dtype=torch.float32) for key, value in weights.items()})
    return model


def _toy_problem() -> tuple[np.ndarray, np.ndarray]:
    """Windows of a noisy sine wave in [0, 1]: X (60, 8, 1), Y (60, 1)."""
    rng = _rng(607)
    t = np.arange(68)
    series = 0.5 + 0.4 * np.sin(2 * np.pi * t / 12) + rng.normal(0.0, 0.02, size=t.size)
    return ref_create_dataset(series, 8)


def _train_grader_model(fn: Callable, name: str, label: str, weights: dict, x: np.ndarray, y: np.ndarray) -> dict:
    """In the kernel: the student's train_model on the grader's model; the losses it returned (one float per item,
    else a failure) and the model's weights after it, as data."""
    model = _grader_model(weights)
    _torch().manual_seed(0)
    losses = run_student(fn, name, label, model, x.copy(), y.copy(), epochs=TRAIN_CHECK_EPOCHS, lr=TRAIN_CHECK_LR)
    try:
        values = np.array([float(v) for v in losses], dtype=np.float64)
    except (TypeError, ValueError):
        raise CheckFailure(f"{label}: エポックごとの損失のリストを return してください / must return a list of the loss "
                           f"of every epoch, got {type(losses).__name__}") from None
    trained = {key: p.detach().cpu().numpy().astype(np.float64) for key, p in model.named_parameters()}
    return {"losses": values, "weights": trained}


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
    name = "train_model"
    x, y = _toy_problem()
    weights = grader_weights(607)
    before = _mse(weights, x, y)
    label = f"{name}(model, X {describe_array(x)}, Y {describe_array(y)}, epochs={TRAIN_CHECK_EPOCHS}, lr={TRAIN_CHECK_LR})"
    result = observe(label, partial(_train_grader_model, fn, name, label, weights, x, y), weights, x, y)
    values, trained = np.asarray(result["losses"], dtype=np.float64), result["weights"]
    if values.shape != (TRAIN_CHECK_EPOCHS,):
        raise CheckFailure(f"{label}: 損失の数が違います / wrong number of losses: expected one per epoch "
                           f"({TRAIN_CHECK_EPOCHS}), got {values.size}")
    if not np.isfinite(values).all():
        raise CheckFailure(f"{label}: 損失に NaN または Inf があります / the losses contain NaN or Inf")
    if not _same_layout(weights, trained):
        raise CheckFailure(f"{label}: 渡したモデルの層を入れ替えないでください / the layers of the model passed in "
                           "were replaced: train the model as it is")
    if all(np.array_equal(trained[key], weights[key]) for key in weights):
        raise CheckFailure(f"{label}: 渡したモデルのパラメータが変わっていません (optimizer.step() を呼んでいますか？"
                           "関数の中で新しいモデルを作っていませんか？) / the parameters of the model passed in did not change "
                           "(is optimizer.step() called? is a new model created inside the function?)")
    after = _mse(trained, x, y)
    if not after < TRAIN_LOSS_RATIO * before:
        raise CheckFailure(
            f"{label}: 学習で損失が十分に下がりません / training does not reduce the loss enough\n"
            f"  採点側で測った MSE grader's MSE: 学習前 before {before:.4g} → 学習後 after {after:.4g} "
            f"(学習前の {TRAIN_LOSS_RATIO:g} 倍未満が必要 / must fall below {TRAIN_LOSS_RATIO:g} x before)\n"
            "  ヒント: optimizer.zero_grad() → loss.backward() → optimizer.step() の順になっていますか？ / "
            "hint: zero_grad, then backward, then step, every epoch?"
        )


def _predict_on_grader_model(fn: Callable, name: str, label: str, weights: dict, x: np.ndarray) -> Any:
    """In the kernel: the student's predict on the grader's model and windows; a torch tensor is a failure."""
    got = run_student(fn, name, label, _grader_model(weights), x.copy())
    if hasattr(got, "detach"):
        raise CheckFailure(f"{label}: NumPy の配列を返してください (.numpy()) / must return a NumPy array, "
                           "got a torch tensor (use .numpy())")
    return _as_data(got)


@judged
def check_predict(fn: Callable) -> None:
    """predict(model, X) returns the model's outputs for NumPy windows as a NumPy array (N, 1)."""
    name = "predict"
    weights = grader_weights(618)
    rng = _rng(608)
    for n, look_back in [(13, LOOK_BACK), (1, 5), (40, 3)]:
        x = rng.uniform(0.0, 1.0, size=(n, look_back, 1))
        label = f"{name}(model, X {describe_array(x)})"
        got = observe(label, partial(_predict_on_grader_model, fn, name, label, weights, x), weights, x)
        assert_close(got, ref_lstm_regressor(weights, x), rtol=PREDICT_RTOL, atol=PREDICT_ATOL, name=label)


def _test_predictions(model: Any, x: np.ndarray) -> np.ndarray:
    """In the kernel: the student's trained model, in evaluation mode, on the grader's test windows."""
    if hasattr(model, "eval"):
        model.eval()
    return _forward(model, x, "model(testX)")


def measure_test_rmse(model: Any) -> float:
    """RMSE of ``model`` on the grader's own scaled test windows (the last 10 % of the series).

    The predictions are made in the kernel; the RMSE against the grader's own targets, by the grader.
    """
    data = reference_data()
    x = data["testX"].astype(np.float32)
    pred = np.asarray(observe("model(testX)", partial(_test_predictions, model, x), x), dtype=np.float64)
    if pred.size != data["testY"].size:
        raise CheckFailure(f"model(testX): 形 (shape) が違います / shape mismatch: expected {data['testY'].shape}, "
                           f"got {pred.shape}")
    return float(np.sqrt(np.mean((pred.reshape(-1) - data["testY"].reshape(-1)) ** 2)))


@judged
def check_test_rmse(model: Any) -> None:
    """The trained model's RMSE on the grader's test windows must be below RMSE_MAX."""
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

"""Probes of lab 06, "time series with an LSTM" (06_n, seed 003: airline passengers).

Each probe takes what the hidden test passes (the student's function, class, prepared arrays or
trained model), draws the check's inputs (fixed seeds, salted while grading) and reaches the
student's code only through :func:`~autograder.kernel.student.call_student` or
:func:`~autograder.kernel.transcript.observe`, in the order the grader's checks
(``autograder.labs.lab06.checks``) replay them. The ``*_cases``, ``*_windows`` and ``*_label``
functions and the constants are the inputs both sides draw; the functions that take the student's
objects (:func:`build_student_model`, :func:`forward_output`, :func:`train_grader_model`, ...) run in
the kernel only and return plain data: outputs on the grader's inputs, layer sizes, trained weights.

The student's models live in the kernel only. The grader's own LSTM regressor (for train_model and
predict) is built here from weights the grader draws (:func:`grader_weights`); the grader evaluates
it with its own NumPy forward pass. Nothing here knows a right answer or a bar.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import numpy as np

from autograder.kernel import transcript
from autograder.kernel.compare import CheckFailure, describe_array
from autograder.kernel.data import load_airline_passengers
from autograder.kernel.student import Case, call_student, case_rng, run_student, student_errors
from autograder.kernel.transcript import observe, probe

# ----------------------------------------------------------------- the notebook's settings

LOOK_BACK = 12  # months of history per window: one year, as the notebook's LOOK_BACK
TEST_SIZE = 0.1  # the last 10 % of the windows are the test set (seed 003's split_data default)

# Library functions that would do exercise 1 for the student (the notebook's instructions name them).
FORBIDDEN_SCALE = ("sklearn.preprocessing.minmax_scale", "sklearn.preprocessing.MinMaxScaler")

# check_prepared: a prepared array bigger than this is not sent to the grader (the grader's are a few kB).
PREPARED_MAX_BYTES = 2**20
# check_test_rmse: the trained model's parameters are sent to the grader up to this many values (the exercise's model
# has 223; hidden_size=64 would have 17 000)
PARAMETERS_MAX = 100_000
PREPARED_NAMES = ("trainX", "trainY", "testX", "testY")

# check_lstm_regressor: the hidden sizes the student's class is built with; the forward passes use the first.
MODEL_SIZES = (6, 3)
MODEL_SEED = 606  # torch's seed before each of those models is built
LSTM_WINDOWS = ((5, LOOK_BACK), (1, LOOK_BACK), (7, 3), (4, 1))  # (windows N, window length L) of the inputs

# train_model is asked to train the grader's model on the toy problem with these settings.
TRAIN_CHECK_EPOCHS = 100
TRAIN_CHECK_LR = 0.01
TRAIN_WEIGHTS_SEED = 607  # the grader's model's initial weights for train_model (grader_weights)
PREDICT_WEIGHTS_SEED = 618  # ... and its weights for predict
PREDICT_WINDOWS = ((13, LOOK_BACK), (1, 5), (40, 3))  # (N, L) of predict's inputs

# The grader's own LSTM regressor: nn.LSTM(1, GRADER_HIDDEN, batch_first=True) and nn.Linear(GRADER_HIDDEN, 1)
# on the last time step. Its parameters, by name:
GRADER_HIDDEN = 4
GRADER_SHAPES = {"lstm.weight_ih_l0": (4 * GRADER_HIDDEN, 1), "lstm.weight_hh_l0": (4 * GRADER_HIDDEN, GRADER_HIDDEN),
                 "lstm.bias_ih_l0": (4 * GRADER_HIDDEN,), "lstm.bias_hh_l0": (4 * GRADER_HIDDEN,),
                 "fc.weight": (1, GRADER_HIDDEN), "fc.bias": (1,)}


def _torch():
    import torch  # imported lazily: only the model probes need it

    return torch


# ------------------------------------------------------------------------------ inputs


def _scaled_airline_series() -> np.ndarray:
    """The airline series scaled to [0, 1]: an input of create_dataset and the source of the test windows."""
    series = load_airline_passengers()
    return (series - series.min()) / (series.max() - series.min())


def min_max_scale_cases() -> list[Case]:
    rng = case_rng(601)
    return [
        Case((np.array([112.0, 118.0, 132.0, 129.0, 121.0]),), note="first five months of the series"),
        Case((load_airline_passengers(),), note="the whole airline series"),
        Case((rng.normal(-3.0, 2.0, size=50),), note="negative values"),
        Case((rng.uniform(10, 20, size=(30, 1)),), note="a column of shape (30, 1)"),
        Case((np.arange(7),), note="integers 0..6"),
    ]


def create_dataset_cases() -> list[Case]:
    rng = case_rng(602)
    return [
        Case((np.arange(10, dtype=np.float64), 3), note="0..9, look_back 3"),
        Case((rng.normal(size=(20, 1)), 4), note="a column of shape (20, 1)"),
        Case((rng.normal(size=15), 1), note="look_back 1"),
        Case((_scaled_airline_series(), LOOK_BACK), note="the scaled airline series, look_back 12"),
        Case((rng.normal(size=6), 5), note="look_back = len - 1: a single window"),
    ]


def _windows(rng: np.random.Generator, n: int, look_back: int) -> tuple[np.ndarray, np.ndarray]:
    return rng.normal(size=(n, look_back, 1)), rng.normal(size=(n, 1))


def split_data_cases() -> list[Case]:
    rng = case_rng(603)
    return [
        Case(_windows(rng, 20, 3), note="20 samples, default test_size 0.1: 18 / 2"),
        Case(_windows(rng, 132, LOOK_BACK), note="132 samples: round(118.8) = 119 train, not 118"),
        Case(_windows(rng, 50, 2), {"test_size": 0.3}, note="test_size 0.3: 35 / 15"),
        Case(_windows(rng, 41, 5), {"test_size": 0.25}, note="test_size 0.25: round(30.75) = 31 / 10"),
        Case((np.arange(12.0), np.arange(12.0) * 10), {"test_size": 0.2}, note="1-D arrays: order must be kept"),
    ]


def lstm_regressor_windows() -> list[np.ndarray]:
    """The float32 windows (N, L, 1) that LSTMRegressor's 6-unit model is run on, one array per (N, L)."""
    rng = case_rng(606)
    return [rng.uniform(0.0, 1.0, size=(n, look_back, 1)).astype(np.float32) for n, look_back in LSTM_WINDOWS]


def last_value_changed(x: np.ndarray) -> np.ndarray:
    """``x`` with the last value of every window raised by 1 (the latest month)."""
    changed = x.copy()
    changed[:, -1, 0] += 1.0
    return changed


def toy_problem() -> tuple[np.ndarray, np.ndarray]:
    """train_model's problem: windows of 8 steps of a noisy sine wave in [0, 1], X (60, 8, 1) and the next
    values Y (60, 1)."""
    rng = case_rng(607)
    t = np.arange(68)
    series = 0.5 + 0.4 * np.sin(2 * np.pi * t / 12) + rng.normal(0.0, 0.02, size=t.size)
    starts = np.arange(t.size - 8)
    return series[starts[:, None] + np.arange(8)][..., None], series[8:, None]


def predict_windows() -> list[np.ndarray]:
    """predict's float64 inputs (N, L, 1), one array per (N, L)."""
    rng = case_rng(608)
    return [rng.uniform(0.0, 1.0, size=(n, look_back, 1)) for n, look_back in PREDICT_WINDOWS]


def held_out_windows() -> np.ndarray:
    """The last 10 % of the scaled series' 12-month windows, float32 (13, 12, 1): the trained model's test inputs."""
    scaled = _scaled_airline_series()
    n = scaled.size - LOOK_BACK
    windows = scaled[np.arange(n)[:, None] + np.arange(LOOK_BACK)][..., None]
    return windows[round(n * (1 - TEST_SIZE)):].astype(np.float32)


def grader_weights(seed: int) -> dict[str, np.ndarray]:
    """Weights of the grader's model (GRADER_SHAPES): uniform in +-1/sqrt(hidden), PyTorch's own initialisation of
    both layers, rounded to float32 (the model's dtype) so that the grader's NumPy forward pass uses exactly them.

    Fixed, not salted: train_model's bar is a fraction of the loss before training, which varies with the
    weights (the grader's thresholds state how the seed was chosen). The inputs are salted.
    """
    rng = np.random.default_rng(seed)
    bound = 1.0 / np.sqrt(GRADER_HIDDEN)
    return {key: rng.uniform(-bound, bound, size=shape).astype(np.float32).astype(np.float64)
            for key, shape in GRADER_SHAPES.items()}


# ------------------------------------------------------------------------------ labels


def model_label(hidden: int) -> str:
    return f"LSTMRegressor(hidden_size={hidden})"


def forward_label(x: np.ndarray) -> str:
    return f"LSTMRegressor()(x) with x {describe_array(x)}"


def window_label(i: int) -> str:
    return f"LSTMRegressor()(x[{i}:{i + 1}])"


def train_label(x: np.ndarray, y: np.ndarray) -> str:
    return (f"train_model(model, X {describe_array(x)}, Y {describe_array(y)}, epochs={TRAIN_CHECK_EPOCHS}, "
            f"lr={TRAIN_CHECK_LR})")


def predict_label(x: np.ndarray) -> str:
    return f"predict(model, X {describe_array(x)})"


TEST_LABEL = "model(testX)"


# ------------------------------------------------------- what the kernel sends of the student's results


def _is_data(value: Any) -> bool:
    """Whether the transcript carries ``value`` as it is (numbers, strings, numeric arrays and tensors)."""
    encoded = transcript.encode(value)
    return not (isinstance(encoded, dict) and "__opaque__" in encoded)


def as_data(value: Any) -> Any:
    """What the student's function returned, as data the transcript can carry.

    An array-like that is not data itself (a pandas Series) becomes the NumPy array that the comparison
    makes of it anyway; lists and tuples keep their items in order.
    """
    if isinstance(value, (list, tuple)):
        return (tuple if isinstance(value, tuple) else list)(as_data(v) for v in value)
    if _is_data(value):
        return value
    try:
        array = np.asarray(value)
    except (TypeError, ValueError, RuntimeError):
        return value
    return array if _is_data(array) else value


def parts_as_data(value: Any) -> Any:
    """A function's several results (a tuple or list) with each one as data; anything else as it is (the grader
    names its type when it is not the values asked for)."""
    if isinstance(value, (list, tuple)):
        return (tuple if isinstance(value, tuple) else list)(as_data(v) for v in value)
    return value


def array_facts(value: Any) -> dict:
    """In the kernel: one of the student's prepared arrays as float64 (up to 1 MiB of it), its shape and its
    largest absolute value (NaN aside). A bigger array cannot be the grader's (those are a few kB): its shape
    is all the grader needs to say so."""
    arr = np.asarray(value.detach().cpu().numpy() if hasattr(value, "detach") else value, dtype=np.float64)
    return {"shape": tuple(arr.shape), "peak": float(np.nanmax(np.abs(arr))) if arr.size else None,
            "values": arr if arr.nbytes <= PREPARED_MAX_BYTES else None}


# ------------------------------------------------------------------- the student's models, in the kernel


def _model_dtype(model: Any):
    torch = _torch()
    try:
        return next(model.parameters()).dtype
    except (AttributeError, StopIteration, TypeError):
        return torch.float32


def forward_output(model: Any, x: np.ndarray, label: str) -> dict:
    """In the kernel: what ``model`` returns for windows ``x`` (N, L, 1): ``{"returned": its type's name,
    "output": float64 array}``, the output None when forward returned a tuple; the model's errors become
    CheckFailures."""
    torch = _torch()
    if not callable(model):
        raise CheckFailure(f"{label}: モデル (nn.Module) ではありません / not a model: got {type(model).__name__}")
    with student_errors(label), torch.no_grad():
        out = model(torch.tensor(np.asarray(x), dtype=_model_dtype(model)))
    if isinstance(out, tuple):
        return {"returned": "tuple", "output": None}
    return {"returned": type(out).__name__,
            "output": np.asarray(out.detach().cpu().numpy() if hasattr(out, "detach") else out, dtype=np.float64)}


def _lstm_layers(model: Any) -> list:
    nn = _torch().nn
    return [m for m in model.modules() if isinstance(m, nn.LSTM)] if hasattr(model, "modules") else []


def build_student_model(cls: Any, hidden: int, models: dict) -> dict:
    """In the kernel: ``cls(hidden_size=hidden)`` with seeded initial weights, kept in ``models`` for the forward
    passes that follow; returns what the grader judges of it: its type, and the sizes of its nn.LSTM layers."""
    torch = _torch()
    torch.manual_seed(MODEL_SEED)
    model = run_student(cls, "LSTMRegressor", model_label(hidden), hidden_size=hidden)
    models[hidden] = model
    is_module = isinstance(model, torch.nn.Module)
    lstms = [[m.input_size, m.hidden_size] for m in _lstm_layers(model)] if is_module else []
    return {"type": type(model).__name__, "module": is_module, "lstm": lstms}


def evaluated_output(models: dict, hidden: int, x: np.ndarray, label: str) -> dict:
    """In the kernel: the student's model ``models[hidden]`` in evaluation mode, on ``x``."""
    model = models[hidden]
    if hasattr(model, "eval"):
        model.eval()
    return forward_output(model, x, label)


def grader_model(weights: dict[str, np.ndarray]):
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


def train_grader_model(fn: Callable, label: str, weights: dict, x: np.ndarray, y: np.ndarray) -> dict:
    """In the kernel: the student's train_model on the grader's model. Returns the losses it returned as floats
    (None, with their type's name, when they are not a sequence of numbers) and the model's weights after it."""
    model = grader_model(weights)
    _torch().manual_seed(0)
    losses = run_student(fn, "train_model", label, model, x.copy(), y.copy(), epochs=TRAIN_CHECK_EPOCHS,
                         lr=TRAIN_CHECK_LR)
    try:
        values = np.array([float(v) for v in losses], dtype=np.float64)
    except (TypeError, ValueError):
        values = None
    trained = {key: p.detach().cpu().numpy().astype(np.float64) for key, p in model.named_parameters()}
    return {"losses": values, "returned": type(losses).__name__, "weights": trained}


def predict_on_grader_model(fn: Callable, label: str, weights: dict, x: np.ndarray) -> dict:
    """In the kernel: the student's predict on the grader's model and windows: whether it returned a torch tensor,
    and what it returned, as data."""
    got = run_student(fn, "predict", label, grader_model(weights), x.copy())
    if hasattr(got, "detach"):
        return {"tensor": True, "value": None}
    return {"tensor": False, "value": as_data(got)}


def model_predictions(model: Any, x: np.ndarray) -> dict:
    """In the kernel: the student's trained model, in evaluation mode, on the grader's test windows, with its
    parameters and buffers (float64, by their state_dict names), from which the grader computes the predictions
    again (autograder.labs.lab06.checks.own_predictions)."""
    if hasattr(model, "eval"):
        model.eval()
    return {**forward_output(model, x, TEST_LABEL), "parameters": model_parameters(model)}


def model_parameters(model: Any) -> dict[str, np.ndarray]:
    """``model.state_dict()``'s tensors as float64 arrays; {} for what is not a model, and past PARAMETERS_MAX values
    (the grader refuses a model it cannot read back as one LSTM layer and one Linear)."""
    state = getattr(model, "state_dict", None)
    found: dict[str, np.ndarray] = {}
    with student_errors(TEST_LABEL):
        items = list(state().items()) if callable(state) else []
    for name, value in items:
        if hasattr(value, "detach"):
            found[str(name)] = np.asarray(value.detach().cpu().double().numpy(), dtype=np.float64)
        if sum(a.size for a in found.values()) > PARAMETERS_MAX:
            return {"(too many parameters)": np.zeros(0)}
    return found


# ------------------------------------------------------------------------------ probes


def _probe_cases(fn: Any, name: str, cases: Sequence[Case], *, forbidden: Sequence[str] = (),
                 convert: Callable[[Any], Any] = as_data) -> None:
    """The student's function on every case, on copies of its arguments, its results sent as data."""
    for case in cases:
        call_student(fn, name, case.describe(name), *(np.copy(a) if isinstance(a, np.ndarray) else a for a in case.args),
                     forbidden=forbidden, as_data=convert,
                     **{k: np.copy(v) if isinstance(v, np.ndarray) else v for k, v in case.kwargs.items()})


@probe
def check_min_max_scale(fn: Callable) -> None:
    _probe_cases(fn, "min_max_scale", min_max_scale_cases(), forbidden=FORBIDDEN_SCALE)


@probe
def check_create_dataset(fn: Callable) -> None:
    _probe_cases(fn, "create_dataset", create_dataset_cases(), convert=parts_as_data)


@probe
def check_split_data(fn: Callable) -> None:
    _probe_cases(fn, "split_data", split_data_cases(), convert=parts_as_data)


@probe
def check_prepared(train_x, train_y, test_x, test_y) -> None:
    for key, value in zip(PREPARED_NAMES, (train_x, train_y, test_x, test_y), strict=True):
        observe(key, partial(array_facts, value))


@probe
def check_lstm_regressor(cls: Any) -> None:
    models: dict = {}  # hidden_size -> the student's model, here in the kernel only
    for hidden in MODEL_SIZES:
        observe(model_label(hidden), partial(build_student_model, cls, hidden, models))

    def forward(x: np.ndarray, label: str) -> None:
        observe(label, partial(evaluated_output, models, MODEL_SIZES[0], x, label), x)

    for x in lstm_regressor_windows():
        n, look_back = x.shape[:2]
        forward(x, forward_label(x))
        for i in range(n if n > 1 else 0):
            forward(x[i:i + 1], window_label(i))
        if look_back > 1:
            forward(last_value_changed(x), forward_label(x))


@probe
def check_train_model(fn: Callable) -> None:
    x, y = toy_problem()
    weights = grader_weights(TRAIN_WEIGHTS_SEED)
    label = train_label(x, y)
    observe(label, partial(train_grader_model, fn, label, weights, x, y), weights, x, y)


@probe
def check_predict(fn: Callable) -> None:
    weights = grader_weights(PREDICT_WEIGHTS_SEED)
    for x in predict_windows():
        label = predict_label(x)
        observe(label, partial(predict_on_grader_model, fn, label, weights, x), weights, x)


@probe
def check_test_rmse(model: Any) -> None:
    x = held_out_windows()
    observe(TEST_LABEL, partial(model_predictions, model, x), x)

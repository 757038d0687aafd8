"""Lab 06's reference answers: the data preparation in NumPy (float64), and the grader's own LSTM regressor's
forward pass in NumPy, so that the grader judges train_model and predict without building a model.

Grader-side only: the student's kernel never imports this module.
"""

from __future__ import annotations

import numpy as np

from autograder.kernel.data import load_airline_passengers
from autograder.kernel.probes.lab06 import LOOK_BACK, TEST_SIZE


def min_max_scale(data) -> np.ndarray:
    """Any shape -> same shape, (data - min) / (max - min) over all elements."""
    data = np.asarray(data, dtype=np.float64)
    return (data - data.min()) / (data.max() - data.min())


def create_dataset(data, look_back) -> tuple[np.ndarray, np.ndarray]:
    """Series (T,) or (T, 1) -> X (T - look_back, look_back, 1), Y (T - look_back, 1): window -> next value."""
    series = np.asarray(data, dtype=np.float64).reshape(-1)
    n = len(series) - look_back
    x = np.stack([series[i:i + look_back] for i in range(n)])
    y = series[look_back:]
    return x.reshape(n, look_back, 1), y.reshape(n, 1)


def split_data(x, y, test_size=TEST_SIZE) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(N, ...), (N, ...) -> trainX, trainY, testX, testY: the first round(N * (1 - test_size)) samples train,
    the rest test, order kept."""
    pos = round(len(x) * (1 - test_size))
    return x[:pos], y[:pos], x[pos:], y[pos:]


def data() -> dict[str, np.ndarray]:
    """The notebook's pipeline on the airline series: "scaled" (144,), then LOOK_BACK windows split in time order:
    "trainX" (119, 12, 1), "trainY" (119, 1), "testX" (13, 12, 1), "testY" (13, 1)."""
    scaled = min_max_scale(load_airline_passengers())
    x, y = create_dataset(scaled, LOOK_BACK)
    train_x, train_y, test_x, test_y = split_data(x, y, TEST_SIZE)
    return {"scaled": scaled, "trainX": train_x, "trainY": train_y, "testX": test_x, "testY": test_y}


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # no overflow warning for large |z|


def lstm_regressor(weights: dict[str, np.ndarray], x) -> np.ndarray:
    """The grader's model (nn.LSTM(1, H, batch_first=True), then nn.Linear(H, 1) on the last time step) in NumPy,
    float64, PyTorch's gate order i, f, g, o.

    weights: by PyTorch's parameter names: "lstm.weight_ih_l0" (4H, 1), "lstm.weight_hh_l0" (4H, H),
             "lstm.bias_ih_l0" (4H,), "lstm.bias_hh_l0" (4H,), "fc.weight" (1, H), "fc.bias" (1,)
    x: windows (N, L, 1)
    returns: (N, 1)
    """
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


def mse(weights: dict[str, np.ndarray], x, y) -> float:
    """The mean squared error of the grader's model with ``weights`` on windows x (N, L, 1), targets y (N, 1)."""
    return float(np.mean((lstm_regressor(weights, x) - y) ** 2))


def rmse(predictions, targets) -> float:
    """Root mean squared error of predictions and targets of the same size (any shapes), as a float."""
    diff = np.asarray(predictions, dtype=np.float64).reshape(-1) - np.asarray(targets, dtype=np.float64).reshape(-1)
    return float(np.sqrt(np.mean(diff ** 2)))

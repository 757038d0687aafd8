"""Lab 06, "time series with an LSTM" (06_n, seed 003: airline passengers): the grader's side.

``checks`` (the verdicts), ``reference`` (the answers, and the grader's NumPy LSTM), ``thresholds`` (the
tolerances and bars). The probes the hidden tests call in the student's kernel are
``autograder.kernel.probes.lab06``; the series the notebook reads is ``autograder.kernel.data``.
"""

from autograder.labs.lab06.checks import (
    check_create_dataset,
    check_lstm_regressor,
    check_min_max_scale,
    check_predict,
    check_prepared,
    check_split_data,
    check_test_rmse,
    check_train_model,
)

__all__ = [
    "check_create_dataset", "check_lstm_regressor", "check_min_max_scale", "check_predict", "check_prepared",
    "check_split_data", "check_test_rmse", "check_train_model",
]

"""Lab 01, "neural networks with scikit-learn" (01_n): the grader's side.

``checks`` (the verdicts), ``reference`` (the answers and measures), ``thresholds`` (the bars, tolerances
and CPU-time budgets). The probes the hidden tests call in the student's kernel are
``autograder.kernel.probes.lab01``. The digits come with scikit-learn (load_digits): no dataset to name.
"""

from autograder.kernel.probes import lab01 as _probes
from autograder.labs.lab01.checks import (
    check_make_quantiles_split,
    check_make_sequence_data,
    check_make_sin_data,
    check_pca_digits,
    check_train_digits_classifier,
    check_train_quantiles_classifier,
    check_train_sequence_classifier,
    check_train_sin_regressor,
    check_tsne_digits,
)

HELD_OUT = (_probes.DIGITS, _probes.QUANTILES)  # the held-out sets its probes read (autograder.kernel.held_out)

__all__ = [
    "HELD_OUT", "check_make_quantiles_split", "check_make_sequence_data", "check_make_sin_data", "check_pca_digits",
    "check_train_digits_classifier", "check_train_quantiles_classifier", "check_train_sequence_classifier",
    "check_train_sin_regressor", "check_tsne_digits",
]

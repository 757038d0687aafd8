"""Lab 04, "MNIST with Keras" (04_n): the grader's side.

``checks`` (the verdicts), ``reference`` (the notebook's settings and networks, and what the checks compute),
``thresholds`` (the bars per data profile, and the tolerances). The probes the hidden tests call in the
student's kernel are ``autograder.kernel.probes.lab04``.
"""

from autograder.kernel.probes import lab04 as _probes
from autograder.labs.lab04.checks import (
    check_build_cnn,
    check_build_mlp,
    check_cnn_accuracy,
    check_mlp_accuracy,
    check_plot_history,
    check_prepared,
    check_preprocess,
    check_train,
)

DATASETS = ("mnist",)  # what these checks load (the grader reports its profile)

HELD_OUT = (_probes.TEST_COPIES,)  # the held-out set its probes read (autograder.kernel.held_out)

__all__ = [
    "HELD_OUT", "DATASETS", "check_build_cnn", "check_build_mlp", "check_cnn_accuracy", "check_mlp_accuracy",
    "check_plot_history", "check_prepared", "check_preprocess", "check_train",
]

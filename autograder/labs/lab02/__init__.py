"""Lab 02, "neural-network fundamentals in NumPy" (02_n) and training a two-layer network (02_h): the grader's side.

``checks`` (the verdicts), ``reference`` (the answers), ``thresholds`` (the tolerances and bars). The probes
the hidden tests call in the student's kernel are ``autograder.kernel.probes.lab02``.
"""

from autograder.kernel.probes import lab02 as _probes
from autograder.labs.lab02.checks import (
    check_accuracy,
    check_cross_entropy,
    check_gates,
    check_gradient_step,
    check_make_minibatches,
    check_mean_squared_error,
    check_numerical_gradient,
    check_perceptron,
    check_relu,
    check_sigmoid,
    check_softmax_cross_entropy,
    check_step_function,
    check_sum_squared_error,
    check_tanh,
    check_train,
    check_two_layer_forward,
    check_two_layer_gradient,
    check_xor,
)

HELD_OUT = (_probes.DIGITS,)  # the held-out set its probes read (autograder.kernel.held_out)

__all__ = [
    "HELD_OUT", "check_accuracy", "check_cross_entropy", "check_gates", "check_gradient_step", "check_make_minibatches",
    "check_mean_squared_error", "check_numerical_gradient", "check_perceptron", "check_relu", "check_sigmoid",
    "check_softmax_cross_entropy", "check_step_function", "check_sum_squared_error", "check_tanh", "check_train",
    "check_two_layer_forward", "check_two_layer_gradient", "check_xor",
]

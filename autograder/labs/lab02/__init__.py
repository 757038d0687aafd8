"""Lab 02, "neural-network fundamentals in NumPy" (02_n) and training a two-layer network (02_h): the grader's side.

``checks`` (the verdicts), ``reference`` (the answers), ``thresholds`` (the tolerances and bars). The probes
the hidden tests call in the student's kernel are ``autograder.kernel.probes.lab02``.
"""

from autograder.kernel.probes import lab02 as _probes
from autograder.labs import DEEP_LEARNING_LIBRARIES
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
# The deep-learning libraries (their autograd, activations and losses), SciPy and scikit-learn are absent from the
# grading kernel: the notebooks ask for NumPy (issue 18.2). SciPy's expit, logsumexp, softmax and approx_fprime,
# scikit-learn's losses and MLPClassifier cannot do their exercises, however an answer holds them. 02_h's digits
# come from the course package (autograder.kernel.data.load_digits), not from scikit-learn.
WITHOUT = (*DEEP_LEARNING_LIBRARIES, "scipy", "sklearn")

__all__ = [
    "HELD_OUT", "WITHOUT", "check_accuracy", "check_cross_entropy", "check_gates", "check_gradient_step", "check_make_minibatches",
    "check_mean_squared_error", "check_numerical_gradient", "check_perceptron", "check_relu", "check_sigmoid",
    "check_softmax_cross_entropy", "check_step_function", "check_sum_squared_error", "check_tanh", "check_train",
    "check_two_layer_forward", "check_two_layer_gradient", "check_xor",
]

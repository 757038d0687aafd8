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
# The deep-learning libraries (their autograd, activations and losses), absent from the grading kernel: the notebooks
# ask for NumPy (issue 18.2). 02_h loads its digits with scikit-learn, which needs SciPy: there they stay, and their
# forbidden functions (MLPClassifier) are left to the kernel's guards (autograder.kernel.student.forbidden_calls).
# 02_n uses neither, so its kernels run without them too: SciPy's expit, logsumexp, softmax and approx_fprime and
# scikit-learn's losses cannot do its exercises, however an answer holds them.
WITHOUT = DEEP_LEARNING_LIBRARIES
WITHOUT_IN = {"02_n": ("scipy", "sklearn")}

__all__ = [
    "HELD_OUT", "WITHOUT", "WITHOUT_IN", "check_accuracy", "check_cross_entropy", "check_gates", "check_gradient_step", "check_make_minibatches",
    "check_mean_squared_error", "check_numerical_gradient", "check_perceptron", "check_relu", "check_sigmoid",
    "check_softmax_cross_entropy", "check_step_function", "check_sum_squared_error", "check_tanh", "check_train",
    "check_two_layer_forward", "check_two_layer_gradient", "check_xor",
]

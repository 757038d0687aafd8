"""Lab 03, "CNN building blocks" (03_n) and backpropagation through them (03_h): the grader's side.

``checks`` (the verdicts), ``reference`` (the answers), ``thresholds`` (the tolerances). The probes the
hidden tests call in the student's kernel are ``autograder.kernel.probes.lab03``.
"""

from autograder.labs import DEEP_LEARNING_LIBRARIES
from autograder.labs.lab03.checks import (
    check_avg_pool2d,
    check_conv2d,
    check_conv2d_backward_db,
    check_conv2d_backward_dw,
    check_conv2d_backward_dx,
    check_conv2d_forward,
    check_conv2d_single,
    check_conv_output_size,
    check_cross_entropy,
    check_max_pool2d,
    check_max_pool2d_backward,
    check_max_pool2d_forward,
    check_one_hot,
    check_softmax,
)

# The libraries that could do the exercises' work (convolution, pooling, softmax, gradients), absent from the grading
# kernel: the notebooks ask for NumPy alone, and a library that is not there cannot be called, however an answer holds
# it (issue 18.2; the kernel's guards in autograder.kernel.student stay as a second line).
WITHOUT = (*DEEP_LEARNING_LIBRARIES, "scipy", "skimage", "sklearn", "cv2")

__all__ = [
    "WITHOUT", "check_avg_pool2d", "check_conv2d", "check_conv2d_backward_db", "check_conv2d_backward_dw",
    "check_conv2d_backward_dx", "check_conv2d_forward", "check_conv2d_single", "check_conv_output_size",
    "check_cross_entropy", "check_max_pool2d", "check_max_pool2d_backward", "check_max_pool2d_forward",
    "check_one_hot", "check_softmax",
]

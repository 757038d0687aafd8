"""Lab 05, "CIFAR-10 with a CNN in PyTorch" (05_n) and its hard notebook (05_h, ResNet-9): the grader's side.

``checks`` (the verdicts), ``reference`` (the answers and figures), ``thresholds`` (the bars, per data profile,
and the tolerances), ``images`` (what the grader reads off the outputs on its probe images), ``data`` (CIFAR-10
as the grader reads it). The probes the hidden tests call in the student's kernel are
``autograder.kernel.probes.lab05``.
"""

from autograder.kernel.probes.lab05 import inputs as _inputs
from autograder.labs.lab05.checks import (
    check_augment,
    check_augment_hard,
    check_confusion_matrix,
    check_evaluate,
    check_net,
    check_preprocess,
    check_random_crop,
    check_resnet9,
    check_split,
    check_split_train_val,
    check_test_accuracy,
    check_test_accuracy_hard,
    check_train_model,
    check_train_model_hard,
)
from autograder.labs.lab05.thresholds import HARD, NORMAL

DATASETS = ("cifar10",)  # what these checks load (the grader reports its profile)

HELD_OUT = (_inputs.TEST_COPIES,)  # the held-out set its probes read (autograder.kernel.held_out)

__all__ = [
    "HELD_OUT", "DATASETS", "HARD", "NORMAL", "check_augment", "check_augment_hard", "check_confusion_matrix", "check_evaluate",
    "check_net", "check_preprocess", "check_random_crop", "check_resnet9", "check_split", "check_split_train_val",
    "check_test_accuracy", "check_test_accuracy_hard", "check_train_model", "check_train_model_hard",
]

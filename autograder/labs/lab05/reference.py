"""Lab 05's reference answers and figures: the split's sizes, the networks' parameter counts, the grader's own
evaluation of scores, the confusion matrix.

Grader-side only: the student's kernel never imports this module.
"""

from __future__ import annotations

from typing import Any

import numpy as np

NUM_CLASSES = 10
VAL_FRACTION = 0.2  # seed 004: 40,000 train / 10,000 validation of the 50,000 training images
# The normal notebook's network, as its table states it: conv 3-32, 32-64, 64-128, FC 2048-256, 256-10.
NET_PARAMETERS = 620_362


def _torch():
    import torch  # imported lazily: the grader imports the labs' checks to find them, most never run

    return torch


def expected_split_sizes(n: int, val_fraction: float = VAL_FRACTION) -> tuple[int, int]:
    """(train, validation) sizes of the 80/20 split of ``n`` training images: 40,000 / 10,000 for CIFAR-10."""
    n_val = round(n * val_fraction)
    return n - n_val, n_val


def reference_net(num_classes: int = NUM_CLASSES):
    """The normal notebook's Net, as its table states it (the grader runs a trained Net's weights in it):
    (N, 3, 32, 32) -> (N, classes) logits."""
    nn = _torch().nn
    return nn.Sequential(
        nn.Conv2d(3, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(64, 128, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Dropout(0.25), nn.Linear(128 * 4 * 4, 256), nn.ReLU(), nn.Dropout(0.25), nn.Linear(256, num_classes),
    )


def reference_resnet9(width: int = 64, num_classes: int = NUM_CLASSES):
    """The hard notebook's ResNet-9, as the grader builds it (to run a trained ResNet9's weights in it): (N, 3, 32, 32) -> (N, classes)."""
    nn = _torch().nn

    def conv_bn(c_in, c_out):
        return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU())

    class Residual(nn.Module):
        def __init__(self, c):
            super().__init__()
            self.body = nn.Sequential(conv_bn(c, c), conv_bn(c, c))

        def forward(self, x):
            return x + self.body(x)

    w = width
    return nn.Sequential(
        conv_bn(3, w), conv_bn(w, 2 * w), nn.MaxPool2d(2), Residual(2 * w),
        conv_bn(2 * w, 4 * w), nn.MaxPool2d(2), conv_bn(4 * w, 8 * w), nn.MaxPool2d(2), Residual(8 * w),
        nn.AdaptiveMaxPool2d(1), nn.Flatten(), nn.Linear(8 * w, num_classes),
    )


def resnet9_parameters(width: int = 64, num_classes: int = NUM_CLASSES) -> int:
    """The parameter count of :func:`reference_resnet9`, by arithmetic: the grader's replay builds no model."""

    def conv_bn(c_in: int, c_out: int) -> int:
        return 9 * c_in * c_out + 2 * c_out  # 3x3 kernel without bias; BatchNorm's scale and shift

    w = width
    return (conv_bn(3, w) + conv_bn(w, 2 * w) + 2 * conv_bn(2 * w, 2 * w) + conv_bn(2 * w, 4 * w)
            + conv_bn(4 * w, 8 * w) + 2 * conv_bn(8 * w, 8 * w) + 8 * w * num_classes + num_classes)


def loss_and_accuracy(logits: Any, y: Any) -> tuple[float, float]:
    """Scores (N, K) and labels (N,) -> (mean cross-entropy, accuracy): the grader's own evaluation of scores."""
    torch = _torch()
    logits, y = torch.as_tensor(logits).float(), torch.as_tensor(y)
    loss = torch.nn.functional.cross_entropy(logits, y).item()
    acc = (logits.argmax(dim=1) == y).float().mean().item()
    return loss, acc


def cross_entropy(scores: np.ndarray, labels: np.ndarray) -> float:
    """The mean cross-entropy of logits (n, 10) at integer labels (n,), as torch's cross_entropy computes it."""
    scores = scores.astype(np.float64)
    top = scores.max(axis=1, keepdims=True)
    log_norm = top[:, 0] + np.log(np.exp(scores - top).sum(axis=1))
    return float(np.mean(log_norm - scores[np.arange(len(labels)), labels]))


def grader_model_scores(model: Any, x: Any) -> Any:
    """The grader's small model's (:func:`autograder.kernel.probes.lab05.inputs.grader_model`) scores (N, K) of
    images ``x`` (N, 3, 32, 32), computed here on the CPU, in eval mode: what the kernel's record must say."""
    torch = _torch()
    model.eval()
    with torch.no_grad():
        return model(torch.as_tensor(x).float()).float()


def confusion_matrix(y_true, y_pred, num_classes: int = NUM_CLASSES) -> np.ndarray:
    """(N,), (N,) -> (num_classes, num_classes) int64: entry [t, p] counts images of true class t predicted as p."""
    matrix = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(matrix, (np.asarray(y_true, dtype=np.int64), np.asarray(y_pred, dtype=np.int64)), 1)
    return matrix

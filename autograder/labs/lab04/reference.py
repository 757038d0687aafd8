"""Lab 04's reference answers: the notebook's settings, the networks it asks for, and what the checks compute
from the facts the kernel sends (NumPy only: the grader builds and runs no model).

Grader-side only: the student's kernel never imports this module.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from autograder.kernel.probes.lab04 import NUM_CLASSES, image_digests

# The notebook's settings cell (locked), which train() and the model checks rely on.
VALIDATION_SPLIT = 0.2
LEARNING_RATE = 0.001
PATIENCE = 3

# The networks (seeds 003 and 001).
MLP_UNITS = (100, 100, 100, NUM_CLASSES)
MLP_LAYERS = ("Flatten", *(f"Dense({u}, relu)" for u in MLP_UNITS[:-1]), f"Dense({NUM_CLASSES}, softmax)")
MLP_PARAMS = 99_710  # 784*100+100 + 2*(100*100+100) + 100*10+10
CNN_LAYERS = (  # mnist_cnn.py, as seed 001 ran it
    "Conv2D(32, 3x3, relu)",
    "Conv2D(64, 3x3, relu)",
    "MaxPooling2D(2x2)",
    "Dropout(0.25)",
    "Flatten",
    "Dense(128, relu)",
    "Dropout(0.5)",
    f"Dense({NUM_CLASSES}, softmax)",
)
CNN_PARAMS = 1_199_882  # 320 + 18496 + 9216*128+128 + 128*10+10

# Keras's epsilon: categorical_crossentropy clips the probabilities to [EPSILON, 1 - EPSILON] before the log.
EPSILON = 1e-7


def preprocess(x) -> np.ndarray:
    """uint8 images (N, 28, 28) -> float32 (N, 28, 28, 1) in [0, 1]: x / 255."""
    return (np.asarray(x).astype(np.float32) / np.float32(255.0)).reshape(-1, 28, 28, 1)


def one_hot(labels) -> np.ndarray:
    """Integer labels (N,) in 0..NUM_CLASSES-1 -> float32 one-hot rows (N, NUM_CLASSES)."""
    return np.eye(NUM_CLASSES, dtype=np.float32)[np.asarray(labels, dtype=np.int64)]


def fit_samples(samples: int) -> int:
    """How many of ``samples`` Keras's fit trains on with validation_split=VALIDATION_SPLIT (it holds out the rest,
    the last ones)."""
    return int(np.floor(samples * (1 - VALIDATION_SPLIT)))


def cross_entropy(probabilities, targets) -> float:
    """Probabilities (N, K) and one-hot targets (N, K) -> the mean over N of -sum_k t log p (p clipped as Keras does)."""
    p = np.clip(np.asarray(probabilities, dtype=np.float64), EPSILON, 1 - EPSILON)
    return float(np.mean(-np.sum(np.asarray(targets) * np.log(p), axis=1)))


def early_stopping_length(val_loss: Sequence[float], epochs: int, patience: int = PATIENCE) -> int:
    """How many epochs Keras's EarlyStopping(monitor="val_loss", patience) lets a run with these losses last."""
    best, wait = None, 0
    for epoch, value in enumerate(val_loss):
        wait += 1
        if best is None or value < best:
            best, wait = value, 0
            continue
        if wait >= patience and epoch > 0:
            return epoch + 1
    return epochs


def grader_image_digests(x_test: np.ndarray) -> np.ndarray:
    """The grader's test images (N, 28, 28) uint8 -> the digests (M,) uint64 they have in training data: as the
    raw pixels and as x / 255 (:func:`autograder.kernel.probes.lab04.image_digests`)."""
    return np.concatenate([image_digests(x_test), image_digests(preprocess(x_test))])


def count_test_images(train_digests: np.ndarray | None, x_test: np.ndarray,
                      preprocessed_digests: np.ndarray | None = None) -> int:
    """How many of the training images (their digests (N,), None when the training data are not images) are
    among the grader's test images ``x_test`` (M, 28, 28): raw, as x / 255, or as the student's preprocess made
    them (``preprocessed_digests`` (M,), when given), so that the count does not depend on the normalisation."""
    if train_digests is None:
        return 0
    known = [grader_image_digests(x_test)]
    if preprocessed_digests is not None:
        known.append(np.asarray(preprocessed_digests, dtype=np.uint64))
    return int(np.isin(np.asarray(train_digests, dtype=np.uint64), np.concatenate(known)).sum())

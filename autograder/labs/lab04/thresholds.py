"""Lab 04's bars and tolerances, stated once, each with the figure behind it.

The trained models' bars depend on the data the grader provides (:func:`autograder.datasets.mnist.profile`):
Keras's real MNIST, or the smaller offline stand-in made from scikit-learn's digits (see
:mod:`autograder.datasets.mnist`). Both sets are in :data:`THRESHOLDS`; the others hold on either.
"""

from __future__ import annotations

from dataclasses import dataclass

from autograder.datasets import REAL, STANDIN, mnist


@dataclass(frozen=True)
class Thresholds:
    """What a submission must reach on one data profile (accuracy on the grader's test images; seconds)."""

    mlp_accuracy: float  # MLP test accuracy must be at least this
    cnn_accuracy: float  # CNN test accuracy must be at least this
    mlp_train_s: float  # the notebook's MLP training (locked cell, timed) must take at most this (seconds, see below)
    cnn_train_s: float  # the same for the CNN


# The training times are the smaller of the wall and the CPU seconds of the training (locked cells): a grader
# busy with other kernels stretches the wall time of honest work (issue 18.6: an honest lab-05 training took
# 11-19 s on a quiet machine, 87-116 s on a busy one) but not its CPU time, and many threads inflate the CPU
# time but not the wall time: either alone stretches only one of them. The kernel runs with the grader's --threads.


THRESHOLDS = {
    # Keras's MNIST (60000 / 10000). Not measured here (it cannot be downloaded on these machines):
    # the figures are the seeds' and Keras's; confirm with `autograder calibrate lab04` on the real data.
    REAL: Thresholds(
        mlp_accuracy=0.95,  # seed 003: 0.9696 (Adam lr 0.01, patience 10); a linear softmax model gets about 0.92
        cnn_accuracy=0.975,  # seed 001: 0.9871 after 2 epochs (mnist_cnn.py); Keras's example 0.9925 after 12
        mlp_train_s=300,  # estimated from the stand-in's speed per image: about 60-90 s on one CPU thread
        cnn_train_s=600,  # estimated: about 200-250 s on one CPU thread for 2 epochs; the per-cell limit is 600 s
    ),
    # The stand-in (6000 / 2000 images from load_digits, seed 0). Reference solution, graded on one CPU
    # thread, TensorFlow / torch backend: MLP 0.9045 / 0.9035, CNN 0.9110 / 0.9065. A linear softmax model
    # (Flatten-Dense(10), Adam) gets 0.777 / 0.798, the majority class 0.100.
    STANDIN: Thresholds(
        mlp_accuracy=0.85,
        cnn_accuracy=0.87,
        mlp_train_s=90,  # reference: 4-12 s
        cnn_train_s=240,  # reference: 17-35 s
    ),
}


def for_profile(profile: str | None = None) -> Thresholds:
    """The thresholds for a data profile (default: the profile of the data the grader provides)."""
    return THRESHOLDS[profile or mnist.profile()]


# More of the grader's test images than this in the training data means the model was trained on the test
# set (the stand-in's test images are made from other source images, so it has none by construction).
LEAK_MAX = 10

# preprocess is exact arithmetic on float32: x / 255, up to round-off.
PREPROCESS_RTOL = 1e-6
PREPROCESS_ATOL = 1e-7
# Images in [0, 1] have no value above 1; one above PIXEL_MAX was not divided by 255 (the next largest
# scale a mistake gives, x / 127.5 - 1, tops out at 1 too, and is caught by the comparison instead).
PIXEL_MAX = 1.5

# A built model's rows of softmax probabilities, float32: they sum to 1 within about 1e-7 per row.
PROBABILITY_SUM_ATOL = 1e-4

# check_train: Adam's learning rate as the optimizer holds it (a float32 variable: 0.001 to about 5e-8).
LEARNING_RATE_RTOL = 1e-6
# The grader's recomputed validation loss vs the History's (float32, averaged per batch by Keras).
VAL_LOSS_RTOL = 1e-3
VAL_LOSS_ATOL = 1e-5

# check_plot_history: a plotted line is one of the History's curves if its values are those (float64 in,
# float64 out of matplotlib: only a float32 round trip could change them, by about 1e-7 relative).
CURVE_RTOL = 1e-6
CURVE_ATOL = 1e-9

# The test inputs (preprocess's output) and the training data x_train are on the same scale when their largest
# values are within this factor of each other (both 1.0 for the reference; 255 apart without the division).
SCALE_RATIO = (0.5, 2.0)
# Below this accuracy the feedback hints that the model may not be trained at all (chance is 0.1).
CHANCE_HINT = 0.2

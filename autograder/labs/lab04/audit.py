"""What the grader measures of a trained lab-04 network itself, from the layers and weights the kernel reported
(:mod:`autograder.labs.lab04.forward`), instead of taking the kernel's word (issue 18.5):

- the classes the kernel reported for the grader's test images must be those the network gives
  (:func:`require_own_predictions`);
- the losses on loaded test images and on the training images the model was fitted on, which the membership test
  compares, are computed here (:func:`own_member_losses`): a forged record cannot hide that a model was trained on
  the test images.

Both run the network on raw images (N, 28, 28) uint8 scaled as the kernel measured the student's preprocess: a scale
and an offset fitted on the grader's test images (:func:`autograder.kernel.probes.lab04.affine_fit`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from autograder.kernel import held_out
from autograder.kernel.compare import CheckFailure
from autograder.kernel.probes.keras_facts import WEIGHTS_MAX
from autograder.labs.lab04 import forward
from autograder.labs.lab04.thresholds import (
    AUDIT_AGREEMENT,
    AUDIT_IMAGES,
    AUDIT_SEED,
    MEMBER_EPSILON,
    MEMBER_ROWS,
    MEMBER_ROWS_SEED,
)


def _cannot_run(label: str, reason: str) -> CheckFailure:
    return CheckFailure(
        f"{label}: 採点側でネットワークを計算し直せません / the grader cannot run this network itself: {reason}\n"
        "  課題のネットワークは Dense, Conv2D, MaxPooling2D, Dropout, Flatten だけでできています / the exercise's networks "
        "are made of Dense, Conv2D, MaxPooling2D, Dropout and Flatten layers only"
    )


def own_outputs(facts: dict, raw: np.ndarray, label: str) -> np.ndarray:
    """The network's outputs (N, K) on ``raw`` images (N, 28, 28) uint8, computed by the grader from the reported
    ``layers``, ``weights`` and ``scale`` of ``facts`` (:func:`autograder.kernel.probes.lab04.predictions`), the
    images shaped as the kernel's preprocess shaped its test images. CheckFailure if they cannot be run."""
    layers, weights, scale = facts.get("layers"), facts.get("weights"), facts.get("scale")
    if not layers or weights is None or scale is None:
        raise _cannot_run(label, f"no layers, weights or scale were recorded (a network over {WEIGHTS_MAX:,} weights "
                                 "is not sent)")
    a, b = (np.float32(v) for v in scale)
    x = (raw.astype(np.float32) * a + b).reshape((len(raw), *tuple(facts["shape"])[1:]))
    try:
        return forward.forward(layers, weights, x)
    except forward.UnknownNetwork as exc:
        raise _cannot_run(label, str(exc)) from None


def require_own_predictions(facts: dict, x_test: np.ndarray, label: str, structure: Sequence[str] | None = None) -> None:
    """The classes the kernel reported for the grader's test images ``x_test`` (N, 28, 28) are the network's own: the
    grader runs the reported layers and weights on AUDIT_IMAGES of them, drawn with the held-out secret, and at least
    AUDIT_AGREEMENT must agree. The layers run must be those of ``structure`` (the trained model's, which the build
    check compared), if given."""
    layers = facts.get("layers")
    if structure is not None and layers and forward.describe(layers) != list(structure):
        raise _cannot_run(label, f"its layers {' -> '.join(forward.describe(layers))} are not the model's "
                                 f"{' -> '.join(structure)}")
    rows = held_out.rng(AUDIT_SEED).choice(len(x_test), size=min(AUDIT_IMAGES, len(x_test)), replace=False)
    own = np.argmax(own_outputs(facts, x_test[rows], label), axis=1)
    agree = float(np.mean(own == np.asarray(facts["predicted"])[rows]))
    if agree < AUDIT_AGREEMENT:
        raise CheckFailure(
            f"{label}: 予測したクラスが、モデルの層と重みで計算したものと一致しません / the predicted classes are not those "
            f"of the model's own layers and weights: the grader ran them on {len(rows)} of its test images and got the "
            f"reported class for {agree:.1%} (at least {AUDIT_AGREEMENT:.0%} needed)"
        )


def member_rows(test_count: int, fitted_count: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows (sorted indices) of the loaded test images and of the training images a model is fitted on (the first
    ``fitted_count``: the notebook holds the last 20 % out for validation) whose losses the membership test
    compares, MEMBER_ROWS of each, drawn with the held-out secret."""
    rng = held_out.rng(MEMBER_ROWS_SEED)
    return (np.sort(rng.choice(test_count, size=min(MEMBER_ROWS, test_count), replace=False)),
            np.sort(rng.choice(fitted_count, size=min(MEMBER_ROWS, fitted_count), replace=False)))


def mean_loss(outputs: np.ndarray, labels: np.ndarray) -> float:
    """The mean cross-entropy of ``outputs`` (N, K), read as probabilities, for ``labels`` (N,), each probability
    clipped to [MEMBER_EPSILON, 1] (as Keras clips them; a negative or NaN output counts as MEMBER_EPSILON)."""
    p = np.asarray(outputs, dtype=np.float64)[np.arange(len(labels)), labels]
    p = np.nan_to_num(p, nan=MEMBER_EPSILON, posinf=1.0, neginf=MEMBER_EPSILON)
    return float(np.mean(-np.log(np.clip(p, MEMBER_EPSILON, 1.0))))


def own_member_losses(facts: dict, label: str, test: tuple[np.ndarray, np.ndarray],
                      train: tuple[np.ndarray, np.ndarray]) -> tuple[float, float]:
    """The network's mean loss on the loaded test images and on training images it was fitted on, each given as
    (images (N, 28, 28) uint8, labels (N,)), computed by the grader (:func:`own_outputs`)."""
    return (mean_loss(own_outputs(facts, test[0], label), test[1].astype(np.int64)),
            mean_loss(own_outputs(facts, train[0], label), train[1].astype(np.int64)))

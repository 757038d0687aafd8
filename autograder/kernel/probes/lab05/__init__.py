"""Probes of lab 05, "CIFAR-10 with a CNN in PyTorch": the normal notebook (05_n) and the hard one (05_h, ResNet-9).

Each probe draws the inputs of the grader's check of the same name (``autograder.labs.lab05.checks``):
probe images whose pixels say where they came from, a toy training problem, the grader's small model, and
CIFAR-10 as the data directory holds it (:mod:`.inputs`); and it makes the calls and observations of the
student's code that the check reads, in the check's order (:mod:`.outputs`, where the same functions serve
both). The check judges; nothing here knows a right answer or a bar.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from autograder.kernel.probes.lab05 import inputs, network, outputs
from autograder.kernel.student import probe_function
from autograder.kernel.transcript import probe as _record

__all__ = [
    "check_augment", "check_augment_hard", "check_confusion_matrix", "check_evaluate", "check_net",
    "check_preprocess", "check_random_crop", "check_resnet9", "check_split", "check_split_train_val",
    "check_test_accuracy", "check_test_accuracy_hard", "check_train_model", "check_train_model_hard", "inputs",
    "outputs",
]


def probe(fn: Callable) -> Callable:
    """A probe (:func:`autograder.kernel.transcript.probe`) whose student calls draw the same random numbers on every
    run (:func:`outputs.fresh_seeds`): not the kernel's history, only the probe's own calls, decide them."""

    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Any:
        outputs.fresh_seeds()
        return fn(*args, **kwargs)

    return _record(run)


@probe
def check_split_train_val(fn: Callable) -> None:
    name = "split_train_val"
    for case in inputs.split_cases():
        x, y = case.args
        for _ in range(2):  # the split, then the same call again: the same seed must give the same split
            outputs.call(fn, name, case.describe(name), x, y, **case.kwargs)


@probe
def check_split(x_train: Any, y_train: Any, x_val: Any, y_val: Any) -> None:
    outputs.split_facts(x_train, y_train, x_val, y_val)


@probe
def check_preprocess(fn: Callable) -> None:
    x_train = inputs.cifar10_arrays()[0]
    images, label = inputs.preprocess_probes(x_train)
    outputs.preprocess_output(fn, images, label)
    for _ in range(inputs.PREPROCESS_CALLS - 1):
        outputs.preprocess_fingerprint(fn, images, label)
    for chunk in inputs.preprocess_chunks(x_train):
        outputs.preprocess_moments(fn, chunk, label)


@probe
def check_augment(fn: Callable) -> None:
    x, _ = inputs.probe_batch(inputs.PROBE_COUNT, seed=inputs.AUGMENT_SEED)
    outputs.augment_output(fn, x, inputs.AUGMENT_LABEL)
    for _ in range(inputs.AUGMENT_SMALL_CALLS):
        outputs.augment_output(fn, x[:inputs.AUGMENT_SMALL], inputs.AUGMENT_SMALL_LABEL)
    outputs.augment_fingerprint(fn, x, inputs.AUGMENT_LABEL)  # once more: new random decisions on every call


@probe
def check_random_crop(fn: Callable) -> None:
    for padding in inputs.CROP_PADDINGS:
        x = inputs.coordinate_probe(inputs.CROP_PROBES, seed=inputs.CROP_SEED + padding)
        outputs.crop_output(fn, x, padding, inputs.crop_label(padding))


@probe
def check_augment_hard(fn: Callable) -> None:
    x = inputs.coordinate_probe(inputs.CROP_PROBES, seed=inputs.AUGMENT_HARD_SEED)
    outputs.augment_output(fn, x, inputs.AUGMENT_HARD_LABEL)


def _network(cls: Any, name: str, label: str, held: dict, **kwargs: Any) -> None:
    """The network ``cls(**kwargs)``: its layers, its state (BatchNorm given random statistics), its outputs on six
    images and on one of them, its parameters."""
    outputs.instantiate(cls, name, label, held, **kwargs)
    network.network_state(held, label)
    x = inputs.classifier_inputs()
    outputs.model_output(held, x, f"{label}(x of shape (6, 3, 32, 32))")
    outputs.model_output(held, x[2:3], f"{label}(x[2:3])")
    outputs.parameter_count(held, label)


@probe
def check_net(cls: Any) -> None:
    _network(cls, "Net", "Net()", {})


@probe
def check_resnet9(cls: Any) -> None:
    label = f"ResNet9(width={inputs.RESNET_CHECK_WIDTH})"
    held: dict = {}  # the student's network
    _network(cls, "ResNet9", label, held, width=inputs.RESNET_CHECK_WIDTH)
    outputs.residual_output(held, inputs.residual_inputs(), f"{label}(x of shape (2, 3, 32, 32))")


@probe
def check_evaluate(fn: Callable) -> None:
    held: dict = {}  # the grader's model
    x, y, _ = inputs.evaluate_inputs(lambda attempt, seed, pool: outputs.probe_scores(held, attempt, seed, pool))
    outputs.evaluate_facts(fn, held, x, y)


@probe
def check_train_model(fn: Callable) -> None:
    outputs.training_facts(fn, False, inputs.toy_problem())


@probe
def check_train_model_hard(fn: Callable) -> None:
    outputs.training_facts(fn, True, inputs.toy_problem())


def _trained(model: Any, preprocess: Callable, train_seconds: Any, x_train: Any, x_val: Any) -> None:
    loaded = inputs.cifar10_arrays()[2]
    for name, images in (("x_train", x_train), ("x_val", x_val)):
        outputs.image_digests(images, name)
    outputs.predicted_classes(model, preprocess, inputs.grader_test_images())
    outputs.train_seconds(train_seconds)
    outputs.member_outputs(model, preprocess, loaded[inputs.member_test_rows(len(loaded))], x_train)


@probe
def check_test_accuracy(model: Any, preprocess: Callable, train_seconds: Any, x_train: Any, x_val: Any) -> None:
    _trained(model, preprocess, train_seconds, x_train, x_val)


@probe
def check_test_accuracy_hard(model: Any, preprocess: Callable, train_seconds: Any, x_train: Any, x_val: Any) -> None:
    _trained(model, preprocess, train_seconds, x_train, x_val)


@probe
def check_confusion_matrix(fn: Callable) -> None:
    probe_function(fn, inputs.confusion_cases(), name="confusion_matrix", forbidden=inputs.FORBIDDEN_CONFUSION)

"""CIFAR-10 as the grader reads it from the data directory, with what its checks look up in it: which images are
training images (and their labels), which are test images only, and the data profile (real or stand-in)."""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass

import numpy as np

from autograder.datasets import cifar10
from autograder.kernel.held_out import HELD_OUT_SALT_ENV
from autograder.kernel.probes.lab05 import inputs
from autograder.kernel.probes.lab05.outputs import image_keys


@dataclass
class GraderData:
    profile: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray  # the grader's test images: its copies of the loaded ones (inputs.grader_test_set)
    y_test: np.ndarray  # their labels
    train_keys: Counter
    train_labels: dict
    test_only: set  # loaded test images that are not also (byte for byte) a training image
    x_loaded: np.ndarray  # the test images as the data directory holds them (a student can read these)
    y_loaded: np.ndarray
    train_rows: dict  # digest -> a row of x_train that holds the image


_CACHE: dict[tuple, GraderData] = {}


def grader_data() -> GraderData:
    """CIFAR-10 as the grader reads it from the data directory (loaded once per process); CheckFailure if it cannot."""
    key = (inputs.data_key(), os.environ.get(HELD_OUT_SALT_ENV, ""))  # the copies are drawn with the secret
    if key not in _CACHE:
        try:
            profile = cifar10.profile()
        except (OSError, ValueError) as exc:
            raise inputs.unreadable(exc) from exc
        x_train, y_train, x_loaded, y_loaded = inputs.cifar10_arrays()
        copies, order = inputs.grader_test_set(x_loaded)
        keys = image_keys(x_train)
        labels: dict[bytes, set] = {}
        for k, y in zip(keys, y_train.tolist(), strict=True):
            labels.setdefault(k, set()).add(y)
        _CACHE.clear()
        _CACHE[key] = GraderData(profile, x_train, y_train, copies, y_loaded[order], Counter(keys), labels,
                                 set(image_keys(x_loaded)) - set(keys), x_loaded, y_loaded,
                                 {k: i for i, k in enumerate(keys)})
    return _CACHE[key]

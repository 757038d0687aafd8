"""Data that a lab's notebook reads, shipped with the package so that the grader needs no network.

``airline_passengers.csv`` (lab 06, seed 003): the monthly international airline passengers, 1949-1960.
The released lab folder holds a copy of the csv too, for a notebook run where this package is not installed.

``digits.csv.gz`` (lab 02 hard): scikit-learn's copy (BSD-3-Clause) of the test set of the UCI optical recognition of
handwritten digits (CC BY 4.0), 1,797 images of 8 x 8 pixels, byte for byte. Lab 02 is graded without scikit-learn
and SciPy (issue 18.2: their functions must not do the exercises), so its notebook loads the digits from here; a
notebook run where this package is not installed uses ``sklearn.datasets.load_digits``, which gives the same arrays.
"""

from __future__ import annotations

import gzip
from importlib import resources
from typing import Any, NamedTuple

import numpy as np


def airline_csv_path() -> Any:
    """The packaged csv (a Traversable: use ``.open()`` or ``str()``)."""
    return resources.files(__name__).joinpath("airline_passengers.csv")


def load_airline_passengers() -> np.ndarray:
    """Monthly international airline passengers (thousands), 1949-01 ... 1960-12: float64 array of shape (144,)."""
    with airline_csv_path().open("r", encoding="utf-8") as fh:
        return np.loadtxt(fh, delimiter=",", skiprows=1, usecols=1, dtype=np.float64)


class Digits(NamedTuple):
    """The digits as ``sklearn.datasets.load_digits()`` returns them (its ``data`` and ``target``)."""

    data: np.ndarray    # (1797, 64) float64, the pixels row by row, integers 0 (white) .. 16 (black)
    target: np.ndarray  # (1797,) int64, the digit 0 .. 9


def load_digits() -> Digits:
    """The 1,797 digits of scikit-learn's ``load_digits()``, in its order: ``data`` (1797, 64) float64 pixels 0..16,
    ``target`` (1797,) int64 labels 0..9."""
    with resources.files(__name__).joinpath("digits.csv.gz").open("rb") as raw, gzip.open(raw, "rt") as fh:
        table = np.loadtxt(fh, delimiter=",", dtype=np.float64)
    return Digits(data=table[:, :-1], target=table[:, -1].astype(np.int64))

"""Data that a lab's notebook reads, shipped with the package so that the grader needs no network.

``airline_passengers.csv`` (lab 06, seed 003): the monthly international airline passengers, 1949-1960.
The released lab folder holds a copy of the csv too, for a notebook run where this package is not installed.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

import numpy as np


def airline_csv_path() -> Any:
    """The packaged csv (a Traversable: use ``.open()`` or ``str()``)."""
    return resources.files(__name__).joinpath("airline_passengers.csv")


def load_airline_passengers() -> np.ndarray:
    """Monthly international airline passengers (thousands), 1949-01 ... 1960-12: float64 array of shape (144,)."""
    with airline_csv_path().open("r", encoding="utf-8") as fh:
        return np.loadtxt(fh, delimiter=",", skiprows=1, usecols=1, dtype=np.float64)

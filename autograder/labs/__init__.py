"""Hidden checks per lab: ``from autograder.labs import lab03; lab03.check_conv2d(conv2d)``.

A lab module whose checks load a training dataset names it in ``DATASETS`` (e.g. ``("mnist",)``),
so that the grader can report which data profile graded the lab.
"""

from __future__ import annotations

import importlib


def datasets_of(lab: str) -> tuple[str, ...]:
    """The datasets (names in :mod:`autograder.datasets`) that ``lab``'s hidden checks load; () if none."""
    try:
        module = importlib.import_module(f"{__name__}.{lab}")
    except ModuleNotFoundError:  # a course's own lab without checks here
        return ()
    return tuple(getattr(module, "DATASETS", ()))

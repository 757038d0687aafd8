"""The grader's side of each lab: one package per lab, ``autograder.labs.lab03`` and so on, each with

- ``checks.py``: the checks, marked :func:`~autograder.labs.judged.judged`, that reach the verdict on what the
  probe of the same name (``autograder.kernel.probes.<lab>``) recorded in the student's kernel;
- ``reference.py``: the reference answers (pure functions, shapes in their docstrings);
- ``thresholds.py``: tolerances and bars, each with the figure that justifies it.

None of it is visible to a grading kernel. A lab whose checks load a training dataset names it in
``DATASETS`` (e.g. ``("mnist",)``), so that the grader can report which data profile graded the lab.
"""

from __future__ import annotations

import importlib


def datasets_of(lab: str) -> tuple[str, ...]:
    """The datasets (names in :mod:`autograder.datasets`) that ``lab``'s checks load; () if none."""
    try:
        module = importlib.import_module(f"{__name__}.{lab}")
    except ModuleNotFoundError:  # a course's own lab without checks here
        return ()
    return tuple(getattr(module, "DATASETS", ()))

"""The grader's side of each lab: one package per lab, ``autograder.labs.lab03`` and so on, each with

- ``checks.py``: the checks, marked :func:`~autograder.labs.judged.judged`, that reach the verdict on what the
  probe of the same name (``autograder.kernel.probes.<lab>``) recorded in the student's kernel;
- ``reference.py``: the reference answers (pure functions, shapes in their docstrings);
- ``thresholds.py``: tolerances and bars, each with the figure that justifies it.

None of it is visible to a grading kernel. A lab whose checks load a training dataset names it in
``DATASETS`` (e.g. ``("mnist",)``), so that the grader can report which data profile graded the lab. A lab whose
probes read a held-out test set (:mod:`autograder.kernel.held_out`) names it in ``HELD_OUT``: the grader draws it
and hands the kernel its images (:func:`write_held_out`). A lab whose answers must be written with NumPy names in
``WITHOUT`` the packages its kernels run without, and in ``WITHOUT_IN`` those only some notebooks' kernels run without
(:func:`graded_without`).
"""

from __future__ import annotations

import importlib
import os
import shutil
from pathlib import Path
from unittest import mock

from autograder import datasets
from autograder.kernel import held_out

# The deep-learning libraries, which a lab whose answers must be NumPy is graded without (its WITHOUT names them and
# what else it leaves out): their autograd, layers, activations and losses would do the exercises' work.
DEEP_LEARNING_LIBRARIES = ("torch", "torchvision", "torchaudio", "functorch", "tensorflow", "tf_keras", "keras", "jax",
                           "jaxlib", "cupy", "cupyx")


def _declared(lab: str, name: str) -> tuple:
    """What ``lab``'s package declares as ``name`` (DATASETS, HELD_OUT, WITHOUT; a mapping as its items), as a
    tuple; () if it declares nothing, or if the lab has no package here (a course's own lab without checks)."""
    try:
        module = importlib.import_module(f"{__name__}.{lab}")
    except ModuleNotFoundError:
        return ()
    value = getattr(module, name, ())
    return tuple(value.items()) if isinstance(value, dict) else tuple(value)


def datasets_of(lab: str) -> tuple[str, ...]:
    """The datasets (names in :mod:`autograder.datasets`) that ``lab``'s checks load; () if none."""
    return _declared(lab, "DATASETS")


def held_out_sets(lab: str) -> tuple:
    """The held-out sets (:class:`autograder.kernel.held_out.HeldOutSet`) ``lab``'s probes read; () if none."""
    return _declared(lab, "HELD_OUT")


def graded_without(lab: str) -> tuple[str, ...]:
    """The top-level packages whose files ``lab``'s sandboxed kernels do not have (issue 18.2: a forbidden library
    that is not there cannot be called, however the answer holds it); () if none. Some notebooks' kernels also run
    without those of :func:`graded_without_in`."""
    return _declared(lab, "WITHOUT")


def graded_without_in(lab: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """The packages that only some notebooks of ``lab`` are graded without, besides WITHOUT: (name, packages) pairs
    from its ``WITHOUT_IN`` (e.g. a normal notebook that needs no SciPy where the hard one uses it)."""
    return tuple((str(name), tuple(packages)) for name, packages in _declared(lab, "WITHOUT_IN"))


def write_held_out(lab: str, course_salt: str, data_dir: Path | None, folder: Path) -> list[str]:
    """Draw ``lab``'s held-out sets with the course's secret and write the kernel's part of each into ``folder``
    (emptied first), which every grading kernel reads, read-only. A set that cannot be drawn (its dataset is
    missing or unreadable) is left out, with a note of why beside it (``<name>.missing.txt``), which the kernel's
    message quotes; usually the kernel's probe meets the same data first and says so. Returns those notes."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    environment = held_out.grader_environment(course_salt)
    if data_dir is not None:
        environment[datasets.DATA_ENV] = str(data_dir)
    left_out = []
    with mock.patch.dict(os.environ, environment):
        for held in held_out_sets(lab):
            try:
                held_out.write(held, folder)
            except Exception as exc:  # noqa: BLE001 - any failure of the data is the kernel's to report
                note = f"{type(exc).__name__}: {exc}"
                (folder / f"{held.name}.missing.txt").write_text(note + "\n", encoding="utf-8")
                left_out.append(f"{held.name}: {note}")
    return left_out

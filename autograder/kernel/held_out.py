"""Held-out test sets: inputs the grader draws with a secret the student's kernel never has.

A check's inputs drawn with :func:`~autograder.kernel.student.case_rng` can be recomputed in the kernel, which
has the salt they are drawn with. That is harmless for a function's test inputs (the kernel holds no answer
key), but not for a held-out test set whose labels are public: the grader's rotated copies of ``load_digits``,
its shifted copies of the data directory's test images. An answer that recomputed such a set, labels and all,
could train on it (issue 18.4). So these sets are drawn with :func:`rng`, salted with the held-out secret
(:func:`held_out_salt` of the course's salt), which only the grader has. The grader draws each set before the
kernels start and writes the part the kernel needs (the images, never their labels) into a folder bound
read-only into the sandbox (``$AUTOGRADER_HELD_OUT``); the kernel reads them there.

The kernel's own salt (:func:`~autograder.kernel.student.kernel_salt`) and the held-out secret are two one-way
functions of the course's salt: neither gives the other.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from autograder.kernel.compare import CheckFailure
from autograder.kernel.student import CASE_SALT_ENV, derived_salt, kernel_salt, salted_rng

HELD_OUT_DIR_ENV = "AUTOGRADER_HELD_OUT"  # the kernel's read-only folder of held-out sets, while grading
HELD_OUT_SALT_ENV = "AUTOGRADER_HELD_OUT_SALT"  # the grader's secret for them: never in the kernel


@dataclass(frozen=True)
class HeldOutSet:
    """One held-out set: how the grader draws it, and which of its arrays the kernel receives."""

    name: str  # its file in the folder: <name>.npy per array
    draw: Callable[[], dict[str, np.ndarray]]  # every array, labels included, drawn with :func:`rng`
    kernel_keys: tuple[str, ...]  # the arrays the kernel receives (never the labels it is judged against)


def held_out_salt(course_salt: str) -> str:
    """The held-out secret of a course: a one-way function of its salt; "" without one (the public draw)."""
    return derived_salt("held-out sets", course_salt)


def rng(seed: int) -> np.random.Generator:
    """The random generator of a held-out set: ``seed`` alone (the public draw a student checks against), or mixed
    with ``$AUTOGRADER_HELD_OUT_SALT`` in the grader."""
    return salted_rng(seed, os.environ.get(HELD_OUT_SALT_ENV, ""))


def salted() -> bool:
    """Whether this process draws the grader's held-out sets (the grader does; the kernel never)."""
    return bool(os.environ.get(HELD_OUT_SALT_ENV))


def arrays(held: HeldOutSet) -> Mapping[str, np.ndarray]:
    """The set's arrays: in a grading kernel, the kernel's part as the grader wrote it (``$AUTOGRADER_HELD_OUT``);
    elsewhere drawn here (the grader's secret draw in the grader, the public one in a student's own check)."""
    folder = os.environ.get(HELD_OUT_DIR_ENV, "")
    if folder and not salted():
        return read(held, Path(folder))
    return drawn(held)


def drawn(held: HeldOutSet) -> dict[str, np.ndarray]:
    """``held.draw()`` with BLAS and LAPACK on one thread: their results depend on the thread count in the last bits
    (the digits' rotation does), and the kernel's copy, written by the head, must be bit for bit the one the grader
    draws again to judge it, in whatever process (a Ray node's worker runs on one thread)."""
    from threadpoolctl import threadpool_limits  # scikit-learn's dependency

    with threadpool_limits(limits=1):
        return held.draw()


def read(held: HeldOutSet, folder: Path) -> dict[str, np.ndarray]:
    """The kernel's part of ``held`` from ``folder``; CheckFailure naming what is missing."""
    found = {}
    for key in held.kernel_keys:
        path = folder / f"{held.name}.{key}.npy"
        try:
            found[key] = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as exc:
            note = folder / f"{held.name}.missing.txt"
            why = note.read_text(encoding="utf-8").strip() if note.is_file() else type(exc).__name__
            raise CheckFailure(
                f"採点側のテストデータ ({held.name}) を読めません / the grader's held-out inputs {held.name} cannot be "
                f"read ({path}: {why}); report this to the TA") from exc
    return found


def write(held: HeldOutSet, folder: Path) -> list[Path]:
    """Draw ``held`` (in the grader, with ``$AUTOGRADER_HELD_OUT_SALT`` set) and write the kernel's part of it into
    ``folder``, one ``.npy`` per array (loaded without pickle): the files written."""
    arrays = drawn(held)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for key in held.kernel_keys:
        path = folder / f"{held.name}.{key}.npy"
        np.save(path, np.ascontiguousarray(arrays[key]), allow_pickle=False)
        written.append(path)
    return written


def grader_environment(course_salt: str) -> dict[str, str]:
    """What the grader sets to draw, as the kernels did, the checks' inputs (the kernel's salt) and the held-out sets
    (its own secret): both "" without a course salt."""
    return {CASE_SALT_ENV: kernel_salt(course_salt), HELD_OUT_SALT_ENV: held_out_salt(course_salt)}

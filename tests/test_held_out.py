"""Issue 18.4, the salt in the kernel: the grader's held-out test sets are drawn with a secret no kernel has.

A grading kernel gets a salt for the checks' inputs (``kernel_salt`` of the course's salt) and a read-only folder of
the held-out sets' images (``autograder.kernel.held_out``), never the course's salt, the held-out secret or the test
labels. So whatever the kernel draws with the grader's own code is not the grader's split. The graded cases (a
student's answer that recomputes the split with every secret it finds in the kernel) are in the hostile training
corpus (tests/hostile/training_cases.py, "recomputes-the-graders-split").
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from autograder import labs
from autograder.kernel import held_out
from autograder.kernel.compare import CheckFailure
from autograder.kernel.probes import lab01 as probes01
from autograder.kernel.probes import lab02 as probes02
from autograder.kernel.probes import lab04 as probes04
from autograder.kernel.probes.lab05 import inputs as inputs05
from autograder.kernel.student import CASE_SALT_ENV, kernel_salt
from autograder.run import execution, ray_backend

COURSE_SALT = "a course's secret"
# lab -> (its held-out set, the arrays the grader keeps: the labels the kernel's answers are judged against)
SETS = {
    "lab01": (probes01.DIGITS, ("y_test",)),
    "lab01-quantiles": (probes01.QUANTILES, ("y",)),
    "lab02": (probes02.DIGITS, ("x_test", "labels_test")),
    "lab04": (probes04.TEST_COPIES, ("order",)),
    "lab05": (inputs05.TEST_COPIES, ("order",)),
}


def _as_grader(monkeypatch) -> None:
    for name, value in held_out.grader_environment(COURSE_SALT).items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv(held_out.HELD_OUT_DIR_ENV, raising=False)


def _as_kernel(monkeypatch, folder: Path) -> None:
    """This process's environment as a grading kernel's (execution.kernel_environment) for the held-out sets."""
    env = execution.kernel_environment(execution.KernelSettings(work_root=folder, case_salt=COURSE_SALT,
                                                                held_out_dir=folder))
    for name in (CASE_SALT_ENV, held_out.HELD_OUT_DIR_ENV):
        monkeypatch.setenv(name, env[name])
    monkeypatch.delenv(held_out.HELD_OUT_SALT_ENV, raising=False)


def test_the_kernel_gets_neither_the_course_salt_nor_the_held_out_secret(tmp_path):
    env = execution.kernel_environment(execution.KernelSettings(work_root=tmp_path, case_salt=COURSE_SALT,
                                                                held_out_dir=tmp_path / "held-out"))
    assert env[CASE_SALT_ENV] == kernel_salt(COURSE_SALT) != COURSE_SALT
    assert env[held_out.HELD_OUT_DIR_ENV] == str(tmp_path / "held-out")
    secret = held_out.held_out_salt(COURSE_SALT)
    assert not any(COURSE_SALT in value or secret in value for value in env.values())
    # neither one-way function of the course's salt gives the other
    assert held_out.held_out_salt(env[CASE_SALT_ENV]) != secret and kernel_salt(secret) != env[CASE_SALT_ENV]


@pytest.mark.parametrize("lab", sorted(SETS))
def test_the_kernel_reads_the_images_the_grader_drew_and_never_their_labels(lab, standin_data_dir, tmp_path,
                                                                            monkeypatch):
    held, kept = SETS[lab]
    lab = lab.partition("-")[0]
    assert held in labs.held_out_sets(lab)
    assert labs.write_held_out(lab, COURSE_SALT, standin_data_dir, tmp_path) == []
    written = sorted(p.name for p in tmp_path.iterdir())
    assert written == sorted(f"{h.name}.{k}.npy" for h in labs.held_out_sets(lab) for k in h.kernel_keys)
    _as_grader(monkeypatch)
    graders = held_out.drawn(held)
    assert set(kept) <= set(graders) and not set(kept) & set(held.kernel_keys)
    _as_kernel(monkeypatch, tmp_path)
    received = held_out.arrays(held)
    assert sorted(received) == sorted(held.kernel_keys)
    for key in held.kernel_keys:
        assert np.array_equal(received[key], graders[key]) and received[key].dtype == graders[key].dtype
    # nothing the kernel can read is what it is judged against
    for key in kept:
        assert not any(a.shape == graders[key].shape and np.array_equal(a, graders[key]) for a in received.values())


@pytest.mark.parametrize("probes", [probes01, probes02], ids=["lab01", "lab02"])
def test_what_a_kernel_draws_with_the_graders_code_is_not_the_graders_split(probes, tmp_path, monkeypatch):
    """The grader's own call asks for the test labels, which the kernel lacks; drawing the split again with any
    secret the kernel has (none, its salt, its salt taken as a course's) gives other rotated copies."""
    lab = probes.__name__.rpartition(".")[2]
    labs.write_held_out(lab, COURSE_SALT, None, tmp_path)
    _as_grader(monkeypatch)
    graders = next(iter(held_out.drawn(probes.DIGITS).values()))  # the training images
    _as_kernel(monkeypatch, tmp_path)
    with pytest.raises(KeyError):
        probes.digits_split()
    assert np.array_equal(probes.digits_inputs()[0], graders)
    salt = kernel_salt(COURSE_SALT)
    for guess in ("", salt, held_out.held_out_salt(salt)):
        monkeypatch.setenv(held_out.HELD_OUT_SALT_ENV, guess)
        drawn = next(iter(held_out.drawn(probes.DIGITS).values()))
        assert drawn.shape == graders.shape and not np.allclose(drawn, graders), guess


def test_unreadable_held_out_inputs_are_a_clear_failure(tmp_path, monkeypatch):
    _as_kernel(monkeypatch, tmp_path)
    with pytest.raises(CheckFailure, match="the grader's held-out inputs lab01-digits cannot be read"):
        probes01.digits_inputs()
    (tmp_path / "lab01-digits.missing.txt").write_text("FileNotFoundError: no digits here\n")
    with pytest.raises(CheckFailure, match="no digits here"):
        probes01.digits_inputs()


def test_a_set_that_cannot_be_drawn_is_left_out_with_why(tmp_path):
    """Without the data the copies are made of, the grader writes a note the kernel's failure quotes."""
    left_out = labs.write_held_out("lab04", COURSE_SALT, tmp_path / "no-data", tmp_path / "held-out")
    assert len(left_out) == 1 and left_out[0].startswith("lab04-test-copies: ")
    assert [p.name for p in (tmp_path / "held-out").iterdir()] == ["lab04-test-copies.missing.txt"]


def test_labs_without_held_out_sets_get_no_folder():
    assert labs.held_out_sets("lab03") == labs.held_out_sets("lab06") == labs.held_out_sets("no-such-lab") == ()


def test_a_cluster_node_reads_its_own_copy_of_the_folder(tmp_path):
    """The head's folder is sent with the lab's files (grade._backend); a node's kernels read the copy in its root."""
    head = tmp_path / "head"
    settings = execution.KernelSettings(work_root=head / ".autograder" / "kernels", case_salt=COURSE_SALT,
                                        held_out_dir=head / ".autograder" / "held-out" / "lab01",
                                        readable=(head / ".autograder" / "held-out" / "lab01",))
    node = ray_backend.relocate(settings, head, tmp_path / "node", None, None)
    assert node.held_out_dir == tmp_path / "node" / ".autograder" / "held-out" / "lab01"
    assert node.readable == (node.held_out_dir,) and node.case_salt == COURSE_SALT


@pytest.mark.parametrize("held", [probes01.DIGITS, probes01.QUANTILES, probes02.DIGITS], ids=lambda h: h.name)
def test_a_draw_is_the_same_bit_for_bit_whatever_the_blas_threads(held, monkeypatch):
    """The head writes the kernel's copy and the grader draws it again to judge (on a Ray node, in a worker that runs
    BLAS on one thread): the digits' rotation (QR, then a matrix product) differs in the last bits with the thread
    count, and the judge then finds "other inputs than the grader's". Every draw runs BLAS on one thread."""
    from threadpoolctl import threadpool_limits

    monkeypatch.setenv(held_out.HELD_OUT_SALT_ENV, "a course's secret")
    with threadpool_limits(limits=2):
        many = held_out.drawn(held)
    with threadpool_limits(limits=1):
        one = held.draw()
    assert set(many) == set(one)
    for key in one:
        assert many[key].tobytes() == one[key].tobytes(), key

"""Lab 03's hidden checks accept the reference solution and reject each realistic mistake.

Runs in-process on the functions of solutions/lab03/03_n.ipynb (no nbgrader), so a broken
check shows here first, with the check's own message.
"""

from __future__ import annotations

import importlib
import warnings

import nbformat
import numpy as np
import pytest

from autograder.kernel.compare import CheckFailure
from autograder.kernel.probes import lab03 as probes
from autograder.labs import lab03
from autograder.labs.lab03 import reference

from conftest import REPO

CHECKS = {
    "conv2d_single": lab03.check_conv2d_single,
    "conv_output_size": lab03.check_conv_output_size,
    "conv2d": lab03.check_conv2d,
    "max_pool2d": lab03.check_max_pool2d,
    "avg_pool2d": lab03.check_avg_pool2d,
    "softmax": lab03.check_softmax,
    "one_hot": lab03.check_one_hot,
    "cross_entropy": lab03.check_cross_entropy,
}


def _namespace(source_cells: list[str]) -> dict:
    ns: dict = {}
    for source in source_cells:
        exec(compile(source, "<cell>", "exec"), ns)
    return ns


@pytest.fixture(scope="module")
def solution():
    nb = nbformat.read(REPO / "solutions" / "lab03" / "03_n.ipynb", as_version=4)
    cells = [c.source for c in nb.cells if c.cell_type == "code" and not c.metadata.get("nbgrader", {}).get("grade")]
    return _namespace(cells)


@pytest.fixture(scope="module")
def samples():
    module = importlib.import_module("make_sample_class")  # examples/ is on sys.path (conftest)
    return module


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_reference_solution_passes_every_hidden_check(solution, name):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow or divide warnings either
        CHECKS[name](solution[name])


@pytest.mark.parametrize(("student", "failing"), [
    ("flipped-kernel", {"conv2d_single": "values differ", "conv2d": "values differ"}),
    ("softmax-overflow", {"softmax": "NaN"}),
    ("ce-summed", {"cross_entropy": "values differ"}),
    ("pool-stride", {"max_pool2d": "stride", "avg_pool2d": "stride"}),
])
def test_each_mistake_fails_exactly_its_checks(solution, samples, student, failing):
    ns = {"np": np}
    for source in samples.MISTAKES[student].values():
        exec(compile(source, "<mistake>", "exec"), ns)
    for name, check in CHECKS.items():
        fn = ns.get(name, solution[name])
        if name in failing:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                with pytest.raises(CheckFailure, match=failing[name]):
                    check(fn)
        else:
            check(fn)


def test_unimplemented_function_fails_with_not_implemented():
    def conv2d(x, w, b, stride=1, padding=0):
        raise NotImplementedError()

    with pytest.raises(CheckFailure, match="not implemented"):
        lab03.check_conv2d(conv2d)


def test_checks_use_grader_chosen_inputs_beyond_the_seed_examples():
    strides = {c.kwargs["stride"] for c in probes.conv2d_cases()}
    paddings = {c.kwargs["padding"] for c in probes.conv2d_cases()}
    assert {1, 2} <= strides and {0, 1} <= paddings
    shapes = [c.args[0].shape for c in probes.conv2d_cases()]
    assert any(s[2] != s[3] for s in shapes) and any(s[1] > 1 for s in shapes)
    extremes = [c.args[0] for c in probes.softmax_cases()]
    assert max(float(np.abs(a).max()) for a in extremes) >= 1000


def test_reference_matches_seed_worked_examples():
    x = np.arange(1, 26, dtype=float).reshape(5, 5)
    k = np.arange(1, 10, dtype=float).reshape(3, 3)
    assert reference.conv2d_single(x, k)[0, 0] == 411
    pool = np.array([[3, 4, 3, 6], [7, 1, 1, 2], [4, 6, 3, 5], [9, 3, 7, 8]], dtype=float)[None, None]
    np.testing.assert_array_equal(reference.max_pool2d(pool, 2, 2)[0, 0], [[7, 6], [9, 8]])
    np.testing.assert_allclose(reference.avg_pool2d(pool, 2, 2)[0, 0], [[3.75, 3], [5.5, 5.75]])
    assert reference.cross_entropy(np.array([0.2, 0.7, 0.1]), np.array([0.0, 1.0, 0.0])) == pytest.approx(0.357, abs=5e-4)


def test_an_answer_that_calls_the_library_gets_no_points_and_says_why():
    import torch
    import torch.nn.functional as F  # noqa: N812

    def softmax(a):
        return F.softmax(torch.from_numpy(np.asarray(a, dtype=float)), dim=-1).numpy()

    from scipy.signal import correlate2d

    def conv2d_single(x, k):
        return correlate2d(x, k, mode="valid")

    with pytest.raises(CheckFailure, match="torch.nn.functional.softmax"):
        lab03.check_softmax(softmax)
    with pytest.raises(CheckFailure, match="implement it yourself"):
        lab03.check_conv2d_single(conv2d_single)
    # the patched functions are restored afterwards
    assert F.softmax(torch.zeros(2), dim=0).tolist() == [0.5, 0.5]


def _softmax_batch_max(a):
    e = np.exp(a - np.max(a))  # one maximum for the whole batch: rows far below it underflow to 0
    return e / e.sum(axis=-1, keepdims=True)


def _softmax_no_max(a):
    e = np.exp(a)
    return e / e.sum(axis=-1, keepdims=True)


@pytest.mark.parametrize(("fn", "cause", "not_cause"), [
    (_softmax_batch_max, "underflowed to 0 for a whole row", "overflow?"),
    (_softmax_no_max, "exp overflowed", "underflowed"),
])
def test_a_non_finite_softmax_names_its_likely_cause(fn, cause, not_cause):
    """Issue 18.7: underflow (one maximum for the batch) and overflow (none) are told apart from the inputs."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(CheckFailure, match="NaN") as raised:
            lab03.check_softmax(fn)
    assert cause in str(raised.value) and not_cause not in str(raised.value)

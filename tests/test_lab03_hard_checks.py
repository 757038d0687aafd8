"""Lab 03 hard (03_h): the hidden checks accept the reference solution and reject each realistic mistake.

Runs in-process on the functions of solutions/lab03/03_h.ipynb (no nbgrader), so a broken check
shows here first, with the check's own message. Also checks the grader's references against each
other: torch autograd and the numerical gradient agree on every hidden case.
"""

from __future__ import annotations

import importlib
import warnings

import nbformat
import numpy as np
import pytest

from autograder.kernel.compare import CheckFailure
from autograder.kernel.probes import lab03 as probes
from autograder.labs import lab03 as lab03_hard
from autograder.labs.lab03 import reference, thresholds

from conftest import REPO

CHECKS = {
    "conv2d_forward": lab03_hard.check_conv2d_forward,
    "conv2d_backward_db": lab03_hard.check_conv2d_backward_db,
    "conv2d_backward_dw": lab03_hard.check_conv2d_backward_dw,
    "conv2d_backward_dx": lab03_hard.check_conv2d_backward_dx,
    "max_pool2d_forward": lab03_hard.check_max_pool2d_forward,
    "max_pool2d_backward": lab03_hard.check_max_pool2d_backward,
}
FUNCTION = {  # check -> the notebook function it grades
    "conv2d_forward": "conv2d_forward",
    "conv2d_backward_db": "conv2d_backward",
    "conv2d_backward_dw": "conv2d_backward",
    "conv2d_backward_dx": "conv2d_backward",
    "max_pool2d_forward": "max_pool2d_forward",
    "max_pool2d_backward": "max_pool2d_backward",
}


def _namespace(source_cells: list[str]) -> dict:
    ns: dict = {}
    for source in source_cells:
        exec(compile(source, "<cell>", "exec"), ns)
    return ns


@pytest.fixture(scope="module")
def solution():
    nb = nbformat.read(REPO / "solutions" / "lab03" / "03_h.ipynb", as_version=4)
    cells = [c.source for c in nb.cells if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("solution")]
    cells.insert(0, next(c.source for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "imports"))
    return _namespace(cells)


@pytest.fixture(scope="module")
def samples():
    module = importlib.import_module("make_lab03h_samples")  # examples/ is on sys.path (conftest)
    return module


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_reference_solution_passes_every_hidden_check(solution, name):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        CHECKS[name](solution[FUNCTION[name]])


@pytest.mark.parametrize(("student", "failing"), [
    ("db-not-summed", {"conv2d_backward_db": "shape"}),
    ("stride-ignored", {"conv2d_backward_dw": "numerical gradient", "conv2d_backward_dx": "numerical gradient"}),
    ("pool-grad-to-all", {"max_pool2d_backward": "values differ"}),
    ("pool-overwrite", {"max_pool2d_backward": "overlapping"}),
])
def test_each_mistake_fails_exactly_its_checks(solution, samples, student, failing):
    ns = {"np": np}
    for source in samples.MISTAKES[student].values():
        exec(compile(source, "<mistake>", "exec"), ns)
    for name, check in CHECKS.items():
        fn = ns.get(FUNCTION[name], solution[FUNCTION[name]])
        if name in failing:
            with pytest.raises(CheckFailure, match=failing[name]):
                check(fn)
        else:
            check(fn)


@pytest.mark.parametrize("case", [c for c in probes.conv2d_backward_cases()
                                  if c.args[1].size <= thresholds.NUMGRAD_MAX_SIZE], ids=lambda c: c.note)
def test_autograd_reference_agrees_with_the_numerical_gradient(case):
    """On the cases the hidden check gradient-checks."""
    by_autograd = reference.conv2d_backward(*case.args, **case.kwargs)
    by_differences = reference.numerical_conv2d_backward(*case.args, **case.kwargs)
    for got, want in zip(by_differences, by_autograd, strict=True):
        np.testing.assert_allclose(got, want, rtol=thresholds.NUMGRAD_RTOL / 10, atol=thresholds.NUMGRAD_ATOL / 10)


@pytest.mark.parametrize("case", probes.max_pool2d_backward_cases(), ids=lambda c: c.note)
def test_max_pool_cases_have_no_ties_and_references_agree(case):
    dout, x, size, stride = case.args
    for i in range((x.shape[2] - size) // stride + 1):
        for j in range((x.shape[3] - size) // stride + 1):
            window = np.sort(x[:, :, i * stride:i * stride + size, j * stride:j * stride + size].reshape(
                x.shape[0], x.shape[1], -1), axis=-1)
            assert np.all(window[..., -1] - window[..., -2] > 1e-3)  # the maximum is unique, clearly
    by_autograd = reference.max_pool2d_backward(*case.args)
    if x.size <= thresholds.NUMGRAD_MAX_SIZE:
        np.testing.assert_allclose(reference.numerical_max_pool2d_backward(*case.args), by_autograd, atol=1e-7)


def test_hidden_cases_cover_strides_paddings_and_batches():
    cases = probes.conv2d_backward_cases()
    assert {c.kwargs["stride"] for c in cases} >= {1, 2, 3}
    assert {c.kwargs["padding"] for c in cases} >= {0, 1, 2}
    assert any(c.args[1].shape[0] > 1 and c.args[2].shape[0] > 1 for c in cases)  # N > 1 and K > 1
    # a case where the stride leaves the last input row out of every window
    assert any((c.args[1].shape[2] + 2 * c.kwargs["padding"] - c.args[2].shape[2]) % c.kwargs["stride"] for c in cases)
    pools = probes.max_pool2d_backward_cases()
    assert any(c.args[3] < c.args[2] for c in pools) and any(c.args[3] > c.args[2] for c in pools)


def test_reference_matches_the_notebook_worked_examples():
    x = np.arange(1, 26, dtype=float).reshape(1, 1, 5, 5)
    w = np.arange(1, 10, dtype=float).reshape(1, 1, 3, 3)
    dx, dw, db = reference.conv2d_backward(np.ones((1, 1, 3, 3)), x, w)
    assert db.tolist() == [9.0] and dw[0, 0, 0, 0] == 63 and dx[0, 0, 0, 0] == 1 and dx[0, 0, 2, 2] == 45
    pool_dx = reference.max_pool2d_backward(np.ones((1, 1, 2, 2)), probes.SEED_POOL, 2, 2)
    np.testing.assert_array_equal(pool_dx[0, 0], [[0, 0, 0, 1], [1, 0, 0, 0], [0, 0, 0, 0], [1, 0, 0, 1]])


def test_unimplemented_function_fails_with_not_implemented():
    def conv2d_backward(dout, x, w, stride=1, padding=0):
        raise NotImplementedError()

    with pytest.raises(CheckFailure, match="not implemented"):
        lab03_hard.check_conv2d_backward_dx(conv2d_backward)


def test_wrong_return_shape_is_explained():
    def conv2d_backward(dout, x, w, stride=1, padding=0):
        return np.zeros_like(x)  # dx only

    with pytest.raises(CheckFailure, match="dx, dw, db"):
        lab03_hard.check_conv2d_backward_db(conv2d_backward)


def test_autograd_and_library_gradients_get_no_points_and_say_why():
    import torch
    import torch.nn.functional as F  # noqa: N812

    def conv2d_backward(dout, x, w, stride=1, padding=0):  # lets autograd do the work
        tx = torch.tensor(x, requires_grad=True)
        tw = torch.tensor(w, requires_grad=True)
        tb = torch.zeros(w.shape[0], dtype=torch.float64, requires_grad=True)
        F.conv2d(tx, tw, tb, stride=stride, padding=padding).backward(torch.tensor(dout))
        return tx.grad.numpy(), tw.grad.numpy(), tb.grad.numpy()

    with pytest.raises(CheckFailure, match="implement it yourself"):
        lab03_hard.check_conv2d_backward_dw(conv2d_backward)

    from torch.nn.grad import conv2d_input

    def conv2d_backward_helper(dout, x, w, stride=1, padding=0):
        dx = conv2d_input(x.shape, torch.tensor(w), torch.tensor(dout), stride=stride, padding=padding).numpy()
        return dx, np.zeros_like(w), dout.sum(axis=(0, 2, 3))

    with pytest.raises(CheckFailure, match="torch.nn.grad.conv2d_input"):
        lab03_hard.check_conv2d_backward_dx(conv2d_backward_helper)

    def max_pool2d_backward(dout, x, size, stride):
        tx = torch.tensor(x, requires_grad=True)
        out = F.max_pool2d(tx, size, stride)
        (out * torch.tensor(dout)).sum().backward()
        return tx.grad.numpy()

    with pytest.raises(CheckFailure, match="implement it yourself"):
        lab03_hard.check_max_pool2d_backward(max_pool2d_backward)
    # the patched functions are restored afterwards
    t = torch.ones(2, requires_grad=True)
    (t * 3).sum().backward()
    assert t.grad.tolist() == [3.0, 3.0]


@pytest.mark.parametrize("part", ["dx", "dw"])
def test_a_gradient_of_the_wrong_shape_is_called_a_shape_error_not_a_failed_gradient_check(solution, part):
    """Issue 18.7: the message names what was observed (the shape), not a gradient check that was never the cause."""
    right = solution["conv2d_backward"]

    def conv2d_backward(dout, x, w, stride=1, padding=0):
        dx, dw, db = right(dout, x, w, stride, padding)
        if part == "dx":  # dx of the padded input, a common slip
            return np.pad(dx, ((0, 0), (0, 0), (padding, padding), (padding, padding + 1))), dw, db
        return dx, dw[..., :-1], db

    with pytest.raises(CheckFailure) as raised:
        CHECKS[f"conv2d_backward_{part}"](conv2d_backward)
    message = str(raised.value)
    assert "shape mismatch" in message and "a gradient has the shape of the variable" in message
    assert "numerical gradient" not in message and "values differ" not in message


def test_a_max_pool_gradient_of_the_wrong_shape_is_a_shape_error(solution):
    right = solution["max_pool2d_backward"]
    with pytest.raises(CheckFailure, match="shape mismatch") as raised:
        CHECKS["max_pool2d_backward"](lambda dout, x, size, stride: right(dout, x, size, stride)[:, :, :-1])
    assert "numerical gradient" not in str(raised.value)

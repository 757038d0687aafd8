"""Lab 02's hidden checks accept the reference solution and reject each realistic mistake.

Runs in-process on the functions of solutions/lab02/02_n.ipynb and 02_h.ipynb (no nbgrader),
so a broken check shows here first, with the check's own message. Each sample mistake is
executed the way the notebook would run it: every code cell in order, with the mistaken
cell in place of the answer key's.
"""

from __future__ import annotations

import importlib
import time
import warnings

import nbformat
import numpy as np
import pytest
from replay_harness import assert_same_verdict, judge_transcript, record, run_source

from autograder.kernel import transcript
from autograder.kernel.compare import CheckFailure
from autograder.kernel.probes import lab02 as probes
from autograder.labs import lab02
from autograder.labs.judged import Replay, StudentCode
from autograder.labs.lab02 import checks, reference, thresholds

from conftest import REPO, tree_digest

# cells that define what the checks call (plots and demos are left out; 02_h's imports cell is left out
# too, since it limits BLAS threads for the whole process)
CELLS_N = ["imports", "perceptron", "gates", "xor", "step_function", "sigmoid", "tanh", "relu", "sum_squared_error",
           "mean_squared_error", "cross_entropy", "numerical_gradient", "gradient_step", "init_params",
           "two_layer_forward", "softmax_cross_entropy", "two_layer_loss", "two_layer_gradient"]
CELLS_H = ["network", "helpers", "make_minibatches", "accuracy", "train"]

# check name -> (check, names of the student's functions it takes)
CHECKS_N = {
    "perceptron": (lab02.check_perceptron, ["perceptron"]),
    "gates": (lab02.check_gates, ["AND", "OR", "NAND"]),
    "xor": (lab02.check_xor, ["XOR"]),
    "step_function": (lab02.check_step_function, ["step_function"]),
    "sigmoid": (lab02.check_sigmoid, ["sigmoid"]),
    "tanh": (lab02.check_tanh, ["tanh"]),
    "relu": (lab02.check_relu, ["relu"]),
    "sum_squared_error": (lab02.check_sum_squared_error, ["sum_squared_error"]),
    "mean_squared_error": (lab02.check_mean_squared_error, ["mean_squared_error"]),
    "cross_entropy": (lab02.check_cross_entropy, ["cross_entropy"]),
    "numerical_gradient": (lab02.check_numerical_gradient, ["numerical_gradient"]),
    "gradient_step": (lab02.check_gradient_step, ["gradient_step"]),
    "two_layer_forward": (lab02.check_two_layer_forward, ["two_layer_forward"]),
    "softmax_cross_entropy": (lab02.check_softmax_cross_entropy, ["softmax_cross_entropy"]),
    "two_layer_gradient": (lab02.check_two_layer_gradient, ["two_layer_gradient"]),
}
CHECKS_H = {
    "make_minibatches": (lab02.check_make_minibatches, ["make_minibatches"]),
    "accuracy": (lab02.check_accuracy, ["accuracy"]),
    "train": (lab02.check_train, ["train"]),
}

# sample student -> {check: text its failure message must contain}; every other check passes
FAILING_N = {
    "perceptron-ge": {"perceptron": "values differ"},
    "sigmoid-overflow": {"sigmoid": "overflow"},
    "sse-no-half": {"sum_squared_error": "values differ"},
    "forward-difference": {"numerical_gradient": "values differ"},
    "grad-no-mean": {"two_layer_gradient": "values differ"},
    "gradient-ascent": {"gradient_step": "values differ"},
}
FAILING_H = {
    "gradient-ascent": {"train": "test accuracy too low"},
    "no-shuffle": {"make_minibatches": "not shuffled"},
    "update-not-assigned": {"train": "test accuracy too low"},
}


def _notebook(name: str) -> nbformat.NotebookNode:
    return nbformat.read(REPO / "solutions" / "lab02" / f"{name}.ipynb", as_version=4)


def _run_cells(nb: nbformat.NotebookNode, grade_ids: list[str], replace: dict[str, str] | None = None) -> dict:
    """Execute the named code cells in notebook order (``replace``: grade_id -> other source)."""
    replace = replace or {}
    ns: dict = {"np": np}
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if cell.cell_type == "code" and grade_id in grade_ids:
            run_source(replace.get(grade_id, cell.source), f"<{grade_id}>", ns)
    return ns


def _run_check(check, ns: dict, names: list[str]) -> None:
    check(*(ns[name] for name in names))


@pytest.fixture(scope="module")
def samples():
    module = importlib.import_module("make_lab02_samples")  # examples/ is on sys.path (conftest)
    return module


@pytest.fixture(scope="module")
def solution_n():
    return _run_cells(_notebook("02_n"), CELLS_N)


@pytest.fixture(scope="module")
def solution_h():
    return _run_cells(_notebook("02_h"), CELLS_H)


@pytest.mark.parametrize("name", sorted(CHECKS_N))
def test_reference_solution_passes_every_hidden_check_of_02_n(solution_n, name):
    check, names = CHECKS_N[name]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow or divide warnings either
        _run_check(check, solution_n, names)


@pytest.mark.parametrize("name", sorted(CHECKS_H))
def test_reference_solution_passes_every_hidden_check_of_02_h(solution_h, name):
    check, names = CHECKS_H[name]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _run_check(check, solution_h, names)


def _assert_fails_exactly(ns: dict, checks: dict, failing: dict[str, str]) -> None:
    for name, (check, names) in checks.items():
        if name in failing:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                with pytest.raises(CheckFailure, match=failing[name]):
                    _run_check(check, ns, names)
        else:
            _run_check(check, ns, names)


@pytest.mark.parametrize("student", sorted(FAILING_N))
def test_each_02_n_mistake_fails_exactly_its_checks(samples, student):
    assert set(FAILING_N) == set(samples.MISTAKES_N)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the overflowing sigmoid warns while the cells run
        ns = _run_cells(_notebook("02_n"), CELLS_N, samples.MISTAKES_N[student])
    _assert_fails_exactly(ns, CHECKS_N, FAILING_N[student])


@pytest.mark.parametrize("student", sorted(FAILING_H))
def test_each_02_h_mistake_fails_exactly_its_checks(samples, student):
    assert set(FAILING_H) == set(samples.MISTAKES_H)
    nb = _notebook("02_h")
    edited = {}
    for grade_id, (old, new) in samples.MISTAKES_H[student].items():
        source = next(c.source for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)
        edited[grade_id] = source.replace(old, new)
    ns = _run_cells(nb, CELLS_H, edited)
    _assert_fails_exactly(ns, CHECKS_H, FAILING_H[student])


def test_feedback_of_the_overflowing_sigmoid_explains_the_fix(samples):
    ns = {"np": np}
    exec(samples.SIGMOID_OVERFLOW, ns)
    with pytest.raises(CheckFailure) as info:
        lab02.check_sigmoid(ns["sigmoid"])
    message = str(info.value)
    assert "sigmoid" in message and "overflow" in message and "exp(-|x|)" in message and "+-1000" in message


def test_other_unstable_answers_fail_with_the_hint():
    def tanh(x):  # the definition as written: inf / inf = nan at x = 1000
        return (np.exp(x) - np.exp(-x)) / (np.exp(x) + np.exp(-x))

    def softmax_cross_entropy(a, t):  # softmax then log with delta: 16.1 instead of 2000
        y = np.exp(a - a.max(axis=1, keepdims=True))
        y = y / y.sum(axis=1, keepdims=True)
        return float(-np.sum(t * np.log(y + 1e-7)) / a.shape[0])

    def softmax_then_log(a, t):  # no delta: log(0) at scores of +-1000
        y = np.exp(a - a.max(axis=1, keepdims=True))
        y = y / y.sum(axis=1, keepdims=True)
        return float(-np.sum(t * np.log(y)) / a.shape[0])

    with pytest.raises(CheckFailure, match="overflow"):
        lab02.check_tanh(tanh)
    with pytest.raises(CheckFailure, match="values differ"):
        lab02.check_softmax_cross_entropy(softmax_cross_entropy)
    with pytest.raises(CheckFailure, match="divide by zero"):
        lab02.check_softmax_cross_entropy(softmax_then_log)


def test_unimplemented_function_fails_with_not_implemented():
    def two_layer_gradient(params, x, t):
        raise NotImplementedError()

    def numerical_gradient(f, x):
        raise NotImplementedError()

    for check, fn in [(lab02.check_two_layer_gradient, two_layer_gradient),
                      (lab02.check_numerical_gradient, numerical_gradient)]:
        with pytest.raises(CheckFailure, match="not implemented"):
            check(fn)


def test_numerical_gradient_must_work_in_place_and_restore_x():
    def on_a_copy(f, x):  # the closure case sees no change
        x = x.copy()
        grad = np.zeros_like(x)
        for idx in np.ndindex(x.shape):
            tmp = x[idx]
            x[idx] = tmp + 1e-4
            plus = f(x)
            x[idx] = tmp - 1e-4
            grad[idx] = (plus - f(x)) / 2e-4
            x[idx] = tmp
        return grad

    def not_restored(f, x):
        grad = np.zeros_like(x)
        for idx in np.ndindex(x.shape):
            tmp = x[idx]
            x[idx] = tmp + 1e-4
            plus = f(x)
            x[idx] = tmp - 1e-4
            grad[idx] = (plus - f(x)) / 2e-4
        return grad

    with pytest.raises(CheckFailure, match="in place"):
        lab02.check_numerical_gradient(on_a_copy)
    with pytest.raises(CheckFailure, match="not restored"):
        lab02.check_numerical_gradient(not_restored)


def test_an_answer_that_calls_the_library_gets_no_points_and_says_why(solution_n):
    import torch
    from scipy.special import expit

    def sigmoid(x):
        return expit(x)

    def tanh(x):
        return np.tanh(x)

    def two_layer_gradient(params, x, t):
        p = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
        a = torch.sigmoid(torch.tensor(x) @ p["W1"] + p["b1"]) @ p["W2"] + p["b2"]
        loss = -(torch.log_softmax(a, dim=1) * torch.tensor(t)).sum() / x.shape[0]
        loss.backward()
        return {k: v.grad.numpy() for k, v in p.items()}

    numerical_gradient = solution_n["numerical_gradient"]
    two_layer_loss = solution_n["two_layer_loss"]

    def gradient_by_differences(params, x, t):
        return {k: numerical_gradient(lambda _: two_layer_loss(params, x, t), params[k]) for k in params}

    def XOR(x1, x2):  # noqa: N802 (the gate's name)
        return int(x1 != x2)

    with pytest.raises(CheckFailure, match="scipy.special.expit"):
        lab02.check_sigmoid(sigmoid)
    with pytest.raises(CheckFailure, match="numpy.tanh"):
        lab02.check_tanh(tanh)
    with pytest.raises(CheckFailure, match="implement it yourself"):
        lab02.check_two_layer_gradient(two_layer_gradient)
    with pytest.raises(CheckFailure, match="backpropagation"):
        lab02.check_two_layer_gradient(gradient_by_differences)
    with pytest.raises(CheckFailure, match="build XOR from two layers"):
        lab02.check_xor(XOR)
    # the patched functions are restored afterwards
    assert torch.sigmoid(torch.zeros(1)).item() == 0.5 and np.tanh(0.0) == 0.0


def test_checks_use_grader_chosen_inputs_beyond_the_seed_examples():
    extremes = [c.args[0] for c in probes.activation_cases(probes.SIGMOID_SEED)]
    assert max(float(np.abs(a).max()) for a in extremes) >= 1000
    assert {a.ndim for a in extremes} >= {1, 2, 3}
    shapes = {(p["W1"].shape, p["W2"].shape) for _, p, _, _ in probes.network_cases(probes.GRADIENT_SEED)}
    assert len(shapes) == 5 and ((64, 20), (20, 10)) in shapes
    assert {case.x0.ndim for case in probes.numerical_gradient_cases()} == {1, 2, 3}
    assert any(case.in_place for case in probes.numerical_gradient_cases())
    assert any(c.args[2] == -0.5 for c in probes.perceptron_cases())  # a case exactly on the boundary
    # the accuracy cases' labels are neither all right nor all wrong on the 40 digits-sized rows
    _, params, x, labels = probes.accuracy_cases()[0]
    assert 0 < reference.accuracy(params, x, labels) < 1


def test_the_kernel_probes_hold_no_answer_of_lab02():
    """The probes name what f computes, never its gradient, and the gates' inputs, never their outputs."""
    assert not hasattr(probes, "TRUTH_TABLES")
    for case in probes.numerical_gradient_cases():
        x = case.x0.copy()
        value = case.function(x)(x)
        assert isinstance(value, float)
        np.testing.assert_array_equal(x, case.x0)  # f does not change x


def test_reference_matches_seed_worked_examples():
    assert reference.cross_entropy(np.array([0.2, 0.7, 0.1]), np.array([0.0, 1.0, 0.0])) == pytest.approx(0.357, abs=5e-4)
    beer = (np.array([120.0, 95.0, 150.0]), np.array([110.0, 100.0, 160.0]))
    assert reference.mean_squared_error(*beer) == pytest.approx(75.0)
    assert reference.sum_squared_error(*beer) == pytest.approx(112.5)
    y = np.array([0.1, 0.05, 0.6, 0.0, 0.05, 0.1, 0.0, 0.1, 0.0, 0.0])
    assert reference.sum_squared_error(y, np.eye(10)[2]) == pytest.approx(0.0975)
    assert float(reference.gradient_step(3.0, 2.0, 0.1)) == pytest.approx(2.8)  # gradient > 0: w moves left
    assert reference.softmax_cross_entropy(np.array([[1000.0, 0.0, -1000.0]]), np.array([[0.0, 0.0, 1.0]])) == 2000.0
    assert reference.perceptron(np.array([1.0, 0.0]), np.array([0.5, 0.5]), -0.5) == 0  # w.x <= theta -> 0
    assert [reference.gate("XOR", *pair) for pair in probes.GATE_INPUTS] == [0, 1, 1, 0]


def test_exact_gradients_agree_with_central_differences(solution_n):
    numerical_gradient = solution_n["numerical_gradient"]
    for case in probes.numerical_gradient_cases():
        x = case.x0.copy()
        expected = reference.gradient_of(case.formula, case.x0, case.constants)
        np.testing.assert_allclose(numerical_gradient(case.function(x), x), expected, rtol=1e-6, atol=1e-7)


def test_backward_reference_agrees_with_central_differences(solution_n):
    # the torch.autograd reference and the notebook's gradient check measure the same thing
    numerical_gradient = solution_n["numerical_gradient"]
    for _, params, x, t in probes.network_cases(probes.GRADIENT_SEED)[:3]:
        expected = reference.two_layer_gradient(params, x, t)
        for key in reference.PARAM_KEYS:
            p = {k: v.copy() for k, v in params.items()}

            def loss(_, p=p, x=x, t=t):
                return reference.softmax_cross_entropy(reference.two_layer_forward(p, x), t)

            num = numerical_gradient(loss, p[key])
            np.testing.assert_allclose(num, expected[key], rtol=1e-5, atol=1e-8)


def test_gradient_check_in_the_answer_key_is_below_1e_7():
    cell = next(c for c in _notebook("02_n").cells if c.get("id") == "gradient_check")
    text = "".join(o.get("text", "") for o in cell.outputs)
    errors = [float(line.split("=")[1]) for line in text.splitlines() if "relative error" in line]
    assert len(errors) == 4 and max(errors) < 1e-7, text


def test_reference_training_clears_the_threshold_with_a_margin(solution_h):
    start, start_cpu = time.perf_counter(), time.process_time()
    raised, payload = record(lab02.check_train, solution_h["train"])  # the probe: the training, in the kernel
    # the smaller of wall and CPU seconds: a busy machine (CI runs tests in parallel) stretches only the wall time
    seconds = min(time.perf_counter() - start, time.process_time() - start_cpu)
    assert raised is None, raised
    with transcript.using(Replay(payload)):
        figures = checks.measure_train(StudentCode("train"))  # the grader's figures on its record
    assert figures["accuracy"] >= thresholds.TRAIN_ACCURACY_MIN + 0.02, figures  # measured 0.9689 vs 0.93
    assert figures["loss_last"] < 0.1 * figures["loss_first"], figures
    assert seconds < 30, seconds


def test_other_correct_answers_pass_too(solution_n):
    sigmoid_ok = solution_n["sigmoid"]

    def tanh(x):  # through the sigmoid, as the notebook allows
        return 2 * sigmoid_ok(2 * np.asarray(x, dtype=float)) - 1

    def sigmoid(x):  # through np.tanh (only tanh's own exercise forbids it)
        return 0.5 * (1 + np.tanh(np.asarray(x, dtype=float) / 2))

    def step_function(x):
        return np.where(np.asarray(x) > 0, 1.0, 0.0)

    def perceptron(x, w, b):
        return bool(np.dot(x, w) > -b)  # "w.x > theta", returning a bool

    def numerical_gradient(f, x):  # += / -= instead of saving the value: restored up to one rounding
        h = 1e-4
        grad = np.zeros_like(x)
        it = np.nditer(x, flags=["multi_index"])
        while not it.finished:
            i = it.multi_index
            x[i] += h
            plus = f(x)
            x[i] -= 2 * h
            minus = f(x)
            x[i] += h
            grad[i] = (plus - minus) / (2 * h)
            it.iternext()
        return grad

    def softmax_cross_entropy(a, t):  # picks the correct class's log-probability with the labels
        labels = np.argmax(t, axis=1)
        m = a.max(axis=1)
        log_sum = m + np.log(np.exp(a - m[:, None]).sum(axis=1))
        return float(np.mean(log_sum - a[np.arange(len(a)), labels]))

    lab02.check_tanh(tanh)
    lab02.check_sigmoid(sigmoid)
    lab02.check_step_function(step_function)
    lab02.check_perceptron(perceptron)
    lab02.check_numerical_gradient(numerical_gradient)
    lab02.check_softmax_cross_entropy(softmax_cross_entropy)


def test_committed_sample_class_is_up_to_date(samples, tmp_path):
    students = samples.build(tmp_path / "lab02")
    assert len(students) == 10
    committed = REPO / "examples" / "submissions" / "lab02"
    assert tree_digest(tmp_path / "lab02") == tree_digest(committed), (
        "examples/submissions/lab02 is stale: run `.venv/bin/python examples/make_lab02_samples.py`"
    )


SALT = "another-course"


@pytest.mark.parametrize("student", sorted(FAILING_N))
def test_the_grader_judges_each_02_n_mistake_as_called_here_with_a_course_salt(samples, student):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ns = _run_cells(_notebook("02_n"), CELLS_N, samples.MISTAKES_N[student])
    for name, (check, names) in CHECKS_N.items():
        if name in FAILING_N[student] or name in ("xor", "two_layer_gradient", "numerical_gradient"):
            verdict = assert_same_verdict(check, *(ns[n] for n in names), salt=SALT)
            assert verdict.passed == (name not in FAILING_N[student]), verdict


@pytest.mark.parametrize("student", sorted(FAILING_H))
def test_the_grader_judges_each_02_h_mistake_as_called_here_with_a_course_salt(samples, student):
    nb = _notebook("02_h")
    edited = {}
    for grade_id, (old, new) in samples.MISTAKES_H[student].items():
        source = next(c.source for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)
        edited[grade_id] = source.replace(old, new)
    ns = _run_cells(nb, CELLS_H, edited)
    for name in FAILING_H[student]:
        check, names = CHECKS_H[name]
        verdict = assert_same_verdict(check, *(ns[n] for n in names), salt=SALT)
        assert not verdict.passed and FAILING_H[student][name] in verdict.message, verdict


def test_what_the_code_is_built_from_is_read_by_the_grader(solution_n):
    """XOR's gates and two_layer_gradient's use of numerical_gradient are the grader's reading of the student's code
    (the answer cells when it judges a notebook), not a fact the kernel reports: a stand-in that answers right still
    fails for them, and the transcript holds no list of names a forger could edit."""
    numerical_gradient, two_layer_loss = solution_n["numerical_gradient"], solution_n["two_layer_loss"]

    def XOR(x1, x2):  # noqa: N802 (the gate's name)
        return int(x1 != x2)

    def two_layer_gradient(params, x, t):
        return {k: numerical_gradient(lambda _: two_layer_loss(params, x, t), params[k]) for k in params}

    for check, fn, why in [(lab02.check_xor, XOR, "build XOR from two layers"),
                           (lab02.check_two_layer_gradient, two_layer_gradient, "backpropagation")]:
        verdict = assert_same_verdict(check, fn, salt=SALT)
        assert not verdict.passed and why in verdict.message, verdict
        _, payload = record(check, fn, salt=SALT)
        assert not any("code" in call["label"] for call in payload["calls"]), payload["calls"][0]["label"]
    assert assert_same_verdict(lab02.check_xor, solution_n["XOR"], salt=SALT).passed


def test_the_grader_reads_xor_from_the_answer_cells_not_from_the_function_it_was_sent():
    """The same transcript of a truth table is judged by the answer cells it came with: gates in the last definition
    of XOR pass (a lambda too), a definition without them fails, and so does a notebook without one."""
    def XOR(x1, x2):  # noqa: N802 (the gate's name)
        return int(x1 != x2)

    _, payload = record(lab02.check_xor, XOR, salt=SALT)
    gates = "def XOR(x1, x2):\n    return AND(NAND(x1, x2), OR(x1, x2))\n"
    table = "def XOR(x1, x2):\n    return int(x1 != x2)\n"
    lam = "XOR = lambda x1, x2: AND(NAND(x1, x2), OR(x1, x2))\n"
    for answers, passes in [([gates], True), ([lam], True), ([table, gates], True), ([gates, table], False),
                            ([table], False), (["def other():\n    return AND(OR(0, 1), NAND(1, 1))\n"], False)]:
        verdict = judge_transcript(lab02.check_xor, payload, salt=SALT, answers=answers)
        assert verdict.passed == passes, (answers, verdict)
        if not passes:
            assert "build XOR from two layers" in verdict.message, verdict


def test_in_place_changes_of_x_reach_the_grader():
    def not_restored(f, x):
        grad = np.zeros_like(x)
        for idx in np.ndindex(x.shape):
            tmp = x[idx]
            x[idx] = tmp + 1e-4
            plus = f(x)
            x[idx] = tmp - 1e-4
            grad[idx] = (plus - f(x)) / 2e-4
        return grad

    verdict = assert_same_verdict(lab02.check_numerical_gradient, not_restored, salt=SALT)
    assert not verdict.passed and "not restored" in verdict.message


def test_an_overflow_in_the_kernel_reaches_the_grader_with_the_hint(samples):
    ns = {"np": np}
    exec(samples.SIGMOID_OVERFLOW, ns)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        verdict = assert_same_verdict(lab02.check_sigmoid, ns["sigmoid"], salt=SALT)
    assert "overflow" in verdict.message and "exp(-|x|)" in verdict.message


def test_mini_batches_from_a_generator_are_read_out_in_the_kernel():
    def make_minibatches(n, batch_size, rng):
        order = rng.permutation(n)
        return (order[i:i + batch_size] for i in range(0, n, batch_size))

    def not_a_list(n, batch_size, rng):
        return 42

    assert assert_same_verdict(lab02.check_make_minibatches, make_minibatches, salt=SALT).passed
    verdict = assert_same_verdict(lab02.check_make_minibatches, not_a_list, salt=SALT)
    assert "must return a list of index arrays, got int" in verdict.message


def test_a_dropped_last_mini_batch_is_named_as_the_cause():
    """Issue 18.7: not a bare "wrong sizes" but the likely cause, read from the sizes observed."""
    def make_minibatches(n, batch_size, rng):
        order = rng.permutation(n)
        return [order[i * batch_size:(i + 1) * batch_size] for i in range(n // batch_size)]  # drops the remainder

    with pytest.raises(CheckFailure, match="wrong mini-batch sizes") as raised:
        lab02.check_make_minibatches(make_minibatches)
    assert "the last mini-batch is dropped" in str(raised.value)

    def one_too_many(n, batch_size, rng):
        order = rng.permutation(n)
        return [order[i:i + batch_size] for i in range(0, n, batch_size)] + [order[:0]]

    with pytest.raises(CheckFailure, match="wrong mini-batch sizes") as raised:
        lab02.check_make_minibatches(one_too_many)
    assert "dropped" not in str(raised.value)


def test_the_packaged_digits_are_scikit_learns():
    """02_h is graded without scikit-learn and loads its digits from the course package: the same arrays, in the same
    order, as ``sklearn.datasets.load_digits`` (which a notebook run without the package falls back to)."""
    from sklearn.datasets import load_digits as sklearn_digits

    from autograder.kernel.data import load_digits

    ours, theirs = load_digits(), sklearn_digits()
    assert ours.data.shape == (1797, 64) and ours.data.dtype == np.float64 and ours.target.dtype == np.int64
    assert np.array_equal(ours.data, theirs.data) and np.array_equal(ours.target, theirs.target)


def test_02_h_needs_no_scipy_or_sklearn_when_the_course_package_is_there():
    """The 02_h notebook's given cells name scikit-learn only as the fallback of a run without the course package:
    the grader, which has the package, runs it without SciPy and scikit-learn (``lab02.WITHOUT``)."""
    assert {"scipy", "sklearn"} <= set(lab02.WITHOUT)
    nb = nbformat.read(REPO / "source" / "lab02" / "02_h.ipynb", as_version=4)
    given = "\n".join(c.source for c in nb.cells if c.cell_type == "code"
                      and c.metadata.get("nbgrader", {}).get("locked"))
    assert "scipy" not in given
    assert given.count("sklearn") == 1
    assert "except ImportError:  # without it: scikit-learn's, the same 1,797 images\n    from sklearn.datasets import" \
        in given

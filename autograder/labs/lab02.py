"""Hidden checks for lab 02, "neural-network fundamentals in NumPy" (02_n and 02_h).

Each ``check_*`` takes the student's function(s) and nothing else. Inputs are generated
here with fixed seeds, expected values come from torch (float64, torch.autograd for
gradients), NumPy or sklearn's load_digits, and comparisons use
:mod:`autograder.checks`. The activation and softmax-with-loss checks run with NumPy's
floating-point warnings turned into errors, so an overflowing ``exp`` fails even when
the value it returns happens to be right.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from autograder.checks import (
    Case,
    CheckFailure,
    assert_close,
    call_student,
    case_rng,
    check_function,
    describe_array,
    forbidden_calls,
)
from autograder.transcript import judged, observe

# ------------------------------------------------------------ tolerances and thresholds (stated once)

# float64 references: anything looser than round-off means a wrong result.
RTOL = 1e-5
ATOL = 1e-7
# cross_entropy (probabilities in): the course adds delta = 1e-7 inside the log; with probabilities
# >= 1e-3 that shifts the loss by < 1e-4 relative, so both conventions pass (as in lab 03).
CE_RTOL = 1e-4
CE_ATOL = 1e-6
# softmax_cross_entropy (scores in) must be the exact log-softmax loss: no delta. Adding delta moves
# the loss by ~delta / y (about 1e-6 relative here) and breaks the gradient check at 1e-7.
SCE_RTOL = 1e-7
SCE_ATOL = 1e-9
# numerical_gradient with h = 1e-4: the central difference is off by ~h^2 f'''/6 (< 1e-8 on these
# functions), the forward difference by ~h f''/2 (> 1e-5): the tolerance separates the two.
NUMGRAD_RTOL = 1e-6
NUMGRAD_ATOL = 1e-7
# x must be restored after numerical_gradient: x + h - h may differ from x by one rounding.
RESTORE_RTOL = 1e-12
# two_layer_gradient vs torch.autograd, both float64: only the summation order differs.
GRAD_RTOL = 1e-6
GRAD_ATOL = 1e-10

# 02_h: the grader's own split of sklearn's load_digits (pixels / 16), held out from training.
DIGITS_TEST_SIZE = 0.25
GRADER_SPLIT_SEED = 2024  # the notebook's own split uses random_state=0
# Test accuracy of the student's train(...) (default arguments) on the grader's held-out split.
# Reference solution (hidden 50, 50 epochs, batch 50, lr 1.0, seed 0) measures 0.9644 on this split
# (0.9756 on the notebook's random_state=0 split); a correct solution stays well above 0.93.
TRAIN_ACCURACY_MIN = 0.93
# The training loss must go down: mean of the last 10 % of iterations < this fraction of the first 10 %.
# Reference on the grader's split: 1.121 -> 0.038 (ratio 0.034).
LOSS_DECREASE_RATIO = 0.5

# ------------------------------------------------ library functions that would do an exercise

FORBIDDEN_STEP = ("numpy.heaviside", "torch.heaviside")
FORBIDDEN_SIGMOID = ("torch.sigmoid", "torch.special.expit", "torch.nn.functional.sigmoid", "scipy.special.expit")
FORBIDDEN_TANH = ("numpy.tanh", "math.tanh", "torch.tanh", "torch.nn.functional.tanh")
FORBIDDEN_RELU = ("torch.relu", "torch.nn.functional.relu")
FORBIDDEN_MSE = ("torch.nn.functional.mse_loss", "sklearn.metrics.mean_squared_error")
FORBIDDEN_CE = ("torch.nn.functional.cross_entropy", "torch.nn.functional.nll_loss", "sklearn.metrics.log_loss",
                "keras.losses.categorical_crossentropy")
FORBIDDEN_AUTOGRAD = ("torch.autograd.grad", "torch.autograd.backward", "torch.autograd.functional.jacobian",
                      "torch.autograd.functional.vjp", "torch.func.grad", "torch.func.vjp", "torch.func.jacrev",
                      "torch.func.jacfwd")
FORBIDDEN_NUMGRAD = (*FORBIDDEN_AUTOGRAD, "scipy.optimize.approx_fprime", "scipy.differentiate.derivative",
                     "scipy.differentiate.jacobian")
FORBIDDEN_SOFTMAX_LOSS = (*FORBIDDEN_CE, "torch.nn.functional.log_softmax", "torch.nn.functional.softmax",
                          "torch.softmax", "torch.log_softmax", "scipy.special.softmax", "scipy.special.log_softmax",
                          "scipy.special.logsumexp")
FORBIDDEN_NETWORK = (*FORBIDDEN_AUTOGRAD, *FORBIDDEN_SIGMOID, *FORBIDDEN_SOFTMAX_LOSS)
FORBIDDEN_STEP_UPDATE = ("torch.optim.SGD",)
FORBIDDEN_TRAIN = (*FORBIDDEN_NETWORK, "torch.optim.SGD", "torch.optim.Adam",
                   "sklearn.neural_network.MLPClassifier")

PARAM_KEYS = ("W1", "b1", "W2", "b2")


def _torch():
    import torch  # imported lazily: only the hidden tests need it

    return torch


def _tensor(x: Any, requires_grad: bool = False):
    return _torch().tensor(np.array(x, dtype=np.float64), requires_grad=requires_grad)


def _rng(seed: int) -> np.random.Generator:
    return case_rng(seed)


def _code_names(fn: Callable) -> set[str]:
    """Every global, attribute and closure name the function's code (nested functions included) mentions."""
    code = getattr(fn, "__code__", None)
    stack, names, seen = ([code] if code else []), set(), set()
    while stack:
        c = stack.pop()
        if id(c) in seen:
            continue
        seen.add(id(c))
        names.update(c.co_names)
        names.update(c.co_freevars)
        stack.extend(const for const in c.co_consts if hasattr(const, "co_names"))
    return names


@contextmanager
def _warnings_as_errors() -> Iterator[None]:
    """NumPy overflow / invalid / divide-by-zero, and any warning, raise instead of printing."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(over="raise", invalid="raise", divide="raise"):
            yield


def _call(fn: Callable, fn_name: str, label: str, forbidden: tuple[str, ...], *args: Any) -> Any:
    """``fn(*args)`` with check_function's rules: forbidden calls, NotImplementedError, the student's errors."""
    return call_student(fn, fn_name, label, *args, forbidden=forbidden)


STABILITY_HINT = (
    "  ヒント: exp の引数が大きな正の数になるとオーバーフローします (exp(1000) = inf)。"
    "exp(-|x|) のように、指数が 0 以下になる形に変形してください。\n"
    "  hint: exp overflows for large positive arguments (exp(1000) = inf, with a RuntimeWarning); "
    "rewrite the formula so that every exponent is <= 0, e.g. with exp(-|x|)."
)


def _strict_check(fn: Callable, cases: list[Case], reference: Callable, *, name: str,
                  forbidden: tuple[str, ...], rtol: float, atol: float) -> None:
    """check_function with every warning an error; a failure caused by exp/log adds the stability hint."""
    _torch()  # import torch (and the forbidden modules below) before warnings become errors
    with forbidden_calls(fn, forbidden, name):
        pass
    try:
        with _warnings_as_errors():
            check_function(fn, cases, reference, rtol=rtol, atol=atol, name=name, forbidden=forbidden)
    except CheckFailure as exc:
        message = str(exc)
        if any(word in message for word in ("overflow", "Warning", "invalid value", "divide by zero", "NaN")):
            raise CheckFailure(f"{message}\n{STABILITY_HINT}") from None
        raise


# ================================================================== 02_n: perceptron and gates


def ref_perceptron(x, w, b) -> int:
    """x (D,), w (D,), b scalar -> 1 if w.x + b > 0 else 0 (0 on the boundary: w.x <= theta)."""
    return int(float(np.dot(np.asarray(x, dtype=np.float64), np.asarray(w, dtype=np.float64))) + float(b) > 0)


def perceptron_cases() -> list[Case]:
    rng = _rng(201)
    cases = [
        Case((np.array([1.0, 1.0]), np.array([0.5, 0.5]), -0.7), note="AND weights, (1, 1)"),
        Case((np.array([1.0, 0.0]), np.array([0.5, 0.5]), -0.7), note="AND weights, (1, 0)"),
        Case((np.array([1.0, 0.0]), np.array([0.5, 0.5]), -0.5), note="w.x + b == 0 exactly: output 0"),
        Case((np.array([1.0, 1.0]), np.array([1.0, 1.0]), -2.0), note="w.x + b == 0 exactly: output 0"),
        Case((np.array([0.0, 0.0]), np.array([-0.5, -0.5]), 0.7), note="NAND weights, (0, 0)"),
    ]
    while len(cases) < 11:  # random D = 5, kept away from the boundary
        x, w, b = rng.normal(size=5), rng.normal(size=5), float(rng.normal())
        if abs(np.dot(x, w) + b) > 1e-3:
            cases.append(Case((x, w, b), note="D = 5 inputs"))
    return cases


@judged
def check_perceptron(fn: Callable) -> None:
    check_function(fn, perceptron_cases(), ref_perceptron, rtol=0, atol=0, name="perceptron")


TRUTH_TABLES = {
    "AND": {(0, 0): 0, (1, 0): 0, (0, 1): 0, (1, 1): 1},
    "OR": {(0, 0): 0, (1, 0): 1, (0, 1): 1, (1, 1): 1},
    "NAND": {(0, 0): 1, (1, 0): 1, (0, 1): 1, (1, 1): 0},
    "XOR": {(0, 0): 0, (1, 0): 1, (0, 1): 1, (1, 1): 0},
}


def _check_truth_table(fn: Callable, gate: str) -> None:
    for (x1, x2), expected in TRUTH_TABLES[gate].items():
        label = f"{gate}({x1}, {x2})"
        got = _call(fn, gate, label, (), x1, x2)
        assert_close(got, expected, rtol=0, atol=0, name=label)


@judged
def check_gates(and_fn: Callable, or_fn: Callable, nand_fn: Callable) -> None:
    """AND, OR and NAND on all four input pairs."""
    for gate, fn in (("AND", and_fn), ("OR", or_fn), ("NAND", nand_fn)):
        _check_truth_table(fn, gate)


@judged
def check_xor(fn: Callable) -> None:
    """XOR on all four input pairs, built from the perceptron gates (two layers)."""
    _check_truth_table(fn, "XOR")
    # what the code mentions is read in the kernel: the grader gets it as data
    used = set(observe("XOR's code", lambda: sorted(_code_names(fn) & {"AND", "OR", "NAND"})))
    if len(used) < 2:
        raise CheckFailure(
            "XOR: AND・OR・NAND のゲートを 2 層に組み合わせて作ってください "
            f"(使われているゲート: {sorted(used) or 'なし'}) / build XOR from two layers of the gates "
            f"AND, OR and NAND (gates used: {sorted(used) or 'none'})"
        )


# ================================================================== 02_n: activation functions


def ref_step_function(x) -> np.ndarray:
    """Any shape -> same shape: 1 where x > 0, else 0."""
    torch = _torch()
    return torch.heaviside(_tensor(x), torch.zeros((), dtype=torch.float64)).numpy()


def ref_sigmoid(x) -> np.ndarray:
    return _torch().sigmoid(_tensor(x)).numpy()


def ref_tanh(x) -> np.ndarray:
    return _torch().tanh(_tensor(x)).numpy()


def ref_relu(x) -> np.ndarray:
    return _torch().relu(_tensor(x)).numpy()


EXTREMES = np.array([-1000.0, -710.0, -100.0, -1.0, 0.0, 1.0, 100.0, 710.0, 1000.0])


def activation_cases(seed: int) -> list[Case]:
    rng = _rng(seed)
    return [
        Case((np.array([-1.0, 0.0, 1.0, 2.0]),), note="small values, 0 included"),
        Case((rng.normal(scale=3.0, size=(7,)),), note="random, 1-D"),
        Case((rng.normal(scale=3.0, size=(3, 4)),), note="random mini-batch (3, 4)"),
        Case((rng.normal(scale=5.0, size=(2, 3, 4)),), note="random, 3-D"),
        Case((EXTREMES.copy(),), note="inputs up to +-1000: no overflow, no warning"),
        Case((rng.uniform(-1000.0, 1000.0, size=(4, 5)),), note="random inputs in [-1000, 1000]"),
    ]


@judged
def check_step_function(fn: Callable) -> None:
    _strict_check(fn, activation_cases(211), ref_step_function, name="step_function",
                  forbidden=FORBIDDEN_STEP, rtol=0, atol=0)


@judged
def check_sigmoid(fn: Callable) -> None:
    _strict_check(fn, activation_cases(212), ref_sigmoid, name="sigmoid", forbidden=FORBIDDEN_SIGMOID,
                  rtol=RTOL, atol=ATOL)


@judged
def check_tanh(fn: Callable) -> None:
    _strict_check(fn, activation_cases(213), ref_tanh, name="tanh", forbidden=FORBIDDEN_TANH,
                  rtol=RTOL, atol=ATOL)


@judged
def check_relu(fn: Callable) -> None:
    _strict_check(fn, activation_cases(214), ref_relu, name="relu", forbidden=FORBIDDEN_RELU, rtol=RTOL, atol=ATOL)


# ================================================================== 02_n: loss functions


def ref_sum_squared_error(y, t) -> float:
    """Any shape (same for y and t) -> 1/2 * sum of (y - t)^2 over every element."""
    F = _torch().nn.functional
    return 0.5 * float(F.mse_loss(_tensor(y), _tensor(t), reduction="sum"))


def ref_mean_squared_error(y, t) -> float:
    """(N,), (N,) -> (1/N) * sum of (y - t)^2."""
    F = _torch().nn.functional
    return float(F.mse_loss(_tensor(y), _tensor(t), reduction="mean"))


def ref_cross_entropy(y, t) -> float:
    """Probabilities (N,K) or (K,), one-hot (same shape) -> mean over the batch of -sum t log y."""
    torch = _torch()
    y2, t2 = np.atleast_2d(y), np.atleast_2d(t)
    labels = torch.from_numpy(t2.argmax(axis=1))
    return float(torch.nn.functional.nll_loss(torch.log(_tensor(y2)), labels))


def _probabilities(rng: np.random.Generator, n: int, k: int) -> np.ndarray:
    p = rng.uniform(0.05, 1.0, size=(n, k))
    return p / p.sum(axis=1, keepdims=True)


def _one_hot(rng: np.random.Generator, n: int, k: int) -> np.ndarray:
    return np.eye(k)[rng.integers(0, k, size=n)]


def sum_squared_error_cases() -> list[Case]:
    rng = _rng(221)
    y_book = np.array([0.1, 0.05, 0.6, 0.0, 0.05, 0.1, 0.0, 0.1, 0.0, 0.0])
    t_book = np.eye(10)[2]
    return [
        Case((y_book, t_book), note="10 outputs, one-hot target"),
        Case((np.array([120.0, 95.0, 150.0]), np.array([110.0, 100.0, 160.0])), note="regression, 3 data"),
        Case((rng.normal(size=20), rng.normal(size=20)), note="random, 1-D"),
        Case((_probabilities(rng, 6, 4), _one_hot(rng, 6, 4)), note="mini-batch (6, 4): sum over every element"),
    ]


def mean_squared_error_cases() -> list[Case]:
    rng = _rng(222)
    return [
        Case((np.array([120.0, 95.0, 150.0]), np.array([110.0, 100.0, 160.0])), note="regression, N = 3"),
        Case((rng.normal(size=20), rng.normal(size=20)), note="N = 20: divide by N"),
        Case((np.array([2.5]), np.array([3.0])), note="N = 1"),
        Case((rng.normal(scale=10.0, size=57), rng.normal(scale=10.0, size=57)), note="N = 57"),
    ]


def cross_entropy_cases() -> list[Case]:
    rng = _rng(223)

    def case(n, k, note):
        return Case((_probabilities(rng, n, k), _one_hot(rng, n, k)), note=note)

    return [
        Case((np.array([0.2, 0.7, 0.1]), np.array([0.0, 1.0, 0.0])), note="slide example, 1-D"),
        case(8, 10, "mini-batch of 8: the mean, not the sum"),
        case(1, 3, "batch of 1"),
        case(32, 5, "mini-batch of 32"),
    ]


@judged
def check_sum_squared_error(fn: Callable) -> None:
    check_function(fn, sum_squared_error_cases(), ref_sum_squared_error, rtol=RTOL, atol=ATOL,
                   name="sum_squared_error", forbidden=FORBIDDEN_MSE)


@judged
def check_mean_squared_error(fn: Callable) -> None:
    check_function(fn, mean_squared_error_cases(), ref_mean_squared_error, rtol=RTOL, atol=ATOL,
                   name="mean_squared_error", forbidden=FORBIDDEN_MSE)


@judged
def check_cross_entropy(fn: Callable) -> None:
    check_function(fn, cross_entropy_cases(), ref_cross_entropy, rtol=CE_RTOL, atol=CE_ATOL, name="cross_entropy",
                   forbidden=FORBIDDEN_CE)


# ================================================================== 02_n: gradients


def numerical_gradient_cases() -> list[tuple[str, np.ndarray, Callable, Callable, bool]]:
    """(note, x0, f, analytic gradient, f reads x through a closure) for each case."""
    rng = _rng(231)
    a = rng.normal(size=(4, 4))
    c = rng.normal(size=(3, 4))
    return [
        ("f(x) = x0^2 + x1^2 at (3, 4)", np.array([3.0, 4.0]),
         lambda x: float(np.sum(x ** 2)), lambda x: 2 * x, False),
        ("f(x) = sum(x^2), random 1-D", rng.normal(size=6),
         lambda x: float(np.sum(x ** 2)), lambda x: 2 * x, False),
        ("f(x) = sum(sin(x) * c), shape (3, 4)", rng.normal(size=(3, 4)),
         lambda x: float(np.sum(np.sin(x) * c)), lambda x: np.cos(x) * c, False),
        ("f(x) = sum(exp(x / 2)), shape (2, 3, 2)", rng.normal(size=(2, 3, 2)),
         lambda x: float(np.sum(np.exp(x / 2))), lambda x: np.exp(x / 2) / 2, False),
        ("f(x) = x^T A x, shape (4,)", rng.normal(size=4),
         lambda x: float(x @ a @ x), lambda x: (a + a.T) @ x, False),
        ("f ignores its argument and reads the array itself (as two_layer_loss does): change x in place",
         rng.normal(size=(2, 3)), None, lambda x: x ** 2, True),
    ]


@judged
def check_numerical_gradient(fn: Callable) -> None:
    """Central differences (h = 1e-4) on grader-chosen functions; x changed in place and restored."""
    name = "numerical_gradient"
    for note, x0, f, grad, closure in numerical_gradient_cases():
        x = x0.copy()
        if closure:
            def f(_, x=x):  # noqa: B023 (bound through the default argument)
                return float(np.sum(x ** 3) / 3)
        label = f"{name}(f, {describe_array(x0)})  [{note}]"
        got = _call(fn, name, label, FORBIDDEN_NUMGRAD, f, x)
        assert_close(got, grad(x0), rtol=NUMGRAD_RTOL, atol=NUMGRAD_ATOL, name=label)
        try:
            assert_close(x, x0, rtol=RESTORE_RTOL, atol=0, name=f"x after {name}(f, x)")
        except CheckFailure as exc:
            raise CheckFailure(
                f"{label}: x が元に戻っていません (変えた要素は計算後に元の値に戻してください) / "
                f"x was not restored (put every element back after using it)\n{exc}"
            ) from None


def ref_gradient_step(w, grad, lr):
    """w' = w - lr * dL/dw (any shape; w may be a scalar)."""
    return np.asarray(w, dtype=np.float64) - lr * np.asarray(grad, dtype=np.float64)


def gradient_step_cases() -> list[Case]:
    rng = _rng(232)
    return [
        Case((3.0, 2.0, 0.1), note="one weight, gradient > 0: w moves left"),
        Case((3.0, -2.0, 0.1), note="one weight, gradient < 0: w moves right"),
        Case((rng.normal(size=(4, 3)), rng.normal(size=(4, 3)), 0.01), note="weight matrix (4, 3), lr 0.01"),
        Case((rng.normal(size=5), rng.normal(size=5), 1.5), note="bias (5,), lr 1.5"),
    ]


@judged
def check_gradient_step(fn: Callable) -> None:
    check_function(fn, gradient_step_cases(), ref_gradient_step, rtol=RTOL, atol=ATOL, name="gradient_step",
                   forbidden=FORBIDDEN_STEP_UPDATE)


# ================================================================== 02_n: the two-layer network


def _torch_scores(params_t: dict, x):
    torch = _torch()
    h = torch.sigmoid(_tensor(x) @ params_t["W1"] + params_t["b1"])
    return h @ params_t["W2"] + params_t["b2"]


def ref_two_layer_forward(params: dict, x) -> np.ndarray:
    """x (N, D) -> scores (N, K) = sigmoid(x W1 + b1) W2 + b2."""
    params_t = {k: _tensor(params[k]) for k in PARAM_KEYS}
    return _torch_scores(params_t, x).numpy()


def ref_softmax_cross_entropy(a, t) -> float:
    """Scores (N, K), one-hot (N, K) -> mean over N of -sum_k t log softmax(a) (exact, via log-softmax)."""
    torch = _torch()
    logp = torch.log_softmax(_tensor(a), dim=1)
    return float(-(logp * _tensor(t)).sum() / a.shape[0])


def ref_two_layer_gradient(params: dict, x, t) -> dict:
    """Gradients of softmax_cross_entropy(two_layer_forward(params, x), t) by torch.autograd."""
    torch = _torch()
    params_t = {k: _tensor(params[k], requires_grad=True) for k in PARAM_KEYS}
    a = _torch_scores(params_t, x)
    loss = -(torch.log_softmax(a, dim=1) * _tensor(t)).sum() / a.shape[0]
    grads = torch.autograd.grad(loss, [params_t[k] for k in PARAM_KEYS])
    return {k: g.numpy() for k, g in zip(PARAM_KEYS, grads, strict=True)}


def _params(rng: np.random.Generator, d: int, h: int, k: int, scale: float) -> dict:
    return {"W1": rng.normal(scale=scale, size=(d, h)), "b1": rng.normal(scale=scale, size=h),
            "W2": rng.normal(scale=scale, size=(h, k)), "b2": rng.normal(scale=scale, size=k)}


def network_cases(seed: int) -> list[tuple[str, dict, np.ndarray, np.ndarray]]:
    """(note, params, x, t) with grader-chosen shapes."""
    rng = _rng(seed)
    cases = []
    for n, d, h, k, scale, note in [
        (1, 2, 3, 2, 1.0, "one sample"),
        (6, 4, 5, 3, 1.0, "mini-batch of 6"),
        (5, 3, 7, 4, 0.1, "small weights"),
        (4, 3, 2, 5, 5.0, "large weights: saturated sigmoid"),
        (10, 64, 20, 10, 0.1, "digits-sized: D = 64, K = 10"),
    ]:
        x = rng.uniform(0.0, 1.0, size=(n, d)) if d == 64 else rng.normal(size=(n, d))
        cases.append((f"{note}: N={n}, D={d}, H={h}, K={k}", _params(rng, d, h, k, scale), x,
                      np.eye(k)[rng.integers(0, k, size=n)]))
    return cases


def _copy_params(params: dict) -> dict:
    return {k: v.copy() for k, v in params.items()}


def _network_label(fn_name: str, params: dict, x: np.ndarray, note: str, with_t: bool = True) -> str:
    shapes = ", ".join(f"{k} {params[k].shape}" for k in PARAM_KEYS)
    t = ", t" if with_t else ""
    return f"{fn_name}(params {{{shapes}}}, x {x.shape}{t})  [{note}]"


@judged
def check_two_layer_forward(fn: Callable) -> None:
    name = "two_layer_forward"
    for note, params, x, _ in network_cases(241):
        label = _network_label(name, params, x, note, with_t=False)
        expected = ref_two_layer_forward(params, x)
        got = _call(fn, name, label, FORBIDDEN_NETWORK, _copy_params(params), x.copy())
        assert_close(got, expected, rtol=RTOL, atol=ATOL, name=label)


def softmax_cross_entropy_cases() -> list[Case]:
    rng = _rng(242)
    extreme = np.array([[1000.0, 0.0, -1000.0], [1000.0, 1000.0, 999.0], [-1000.0, -1000.0, -999.0]])
    return [
        Case((np.log(np.array([[0.2, 0.7, 0.1]])), np.array([[0.0, 1.0, 0.0]])), note="slide example: -log 0.7"),
        Case((rng.normal(scale=3.0, size=(8, 10)), _one_hot(rng, 8, 10)), note="mini-batch of 8: the mean"),
        Case((extreme, np.eye(3)[[2, 0, 2]]), note="scores of +-1000: no overflow, no log(0)"),
        Case((rng.uniform(-1000.0, 1000.0, size=(5, 4)), _one_hot(rng, 5, 4)), note="large random scores"),
    ]


@judged
def check_softmax_cross_entropy(fn: Callable) -> None:
    _strict_check(fn, softmax_cross_entropy_cases(), ref_softmax_cross_entropy, name="softmax_cross_entropy",
                  forbidden=FORBIDDEN_SOFTMAX_LOSS, rtol=SCE_RTOL, atol=SCE_ATOL)


@judged
def check_two_layer_gradient(fn: Callable) -> None:
    """Backprop vs torch.autograd on grader-chosen shapes and seeds; the numerical gradient is not backprop."""
    name = "two_layer_gradient"
    if "numerical_gradient" in _code_names(fn):
        raise CheckFailure(
            f"{name}: 数値微分ではなく誤差逆伝播法で勾配を計算してください (numerical_gradient は使えません) / "
            "compute the gradient by backpropagation, not with numerical_gradient"
        )
    for note, params, x, t in network_cases(243):
        label = _network_label(name, params, x, note)
        expected = ref_two_layer_gradient(params, x, t)
        got = _call(fn, name, label, FORBIDDEN_NETWORK, _copy_params(params), x.copy(), t.copy())
        if not isinstance(got, dict):
            raise CheckFailure(f"{label}: 辞書 (dict) を返してください / must return a dict, got {type(got).__name__}")
        missing = [k for k in PARAM_KEYS if k not in got]
        if missing:
            raise CheckFailure(f"{label}: キー {missing} がありません / keys missing from the returned dict: {missing}")
        for key in PARAM_KEYS:
            assert_close(got[key], expected[key], rtol=GRAD_RTOL, atol=GRAD_ATOL, name=f"grads['{key}'] of {label}")


# ================================================================== 02_h: mini-batches, accuracy, training


def make_minibatches_cases() -> list[tuple[int, int, int, str]]:
    """(n, batch_size, rng seed, note)."""
    return [
        (10, 4, 251, "n = 10, batch 4: sizes 4, 4, 2"),
        (100, 32, 252, "n = 100, batch 32"),
        (1347, 50, 253, "digits training set, batch 50"),
        (64, 64, 254, "one full batch"),
        (7, 10, 255, "batch larger than n"),
    ]


@judged
def check_make_minibatches(fn: Callable) -> None:
    """Every index exactly once per epoch, in batches of batch_size (the last may be smaller), shuffled."""
    name = "make_minibatches"
    for n, batch_size, seed, note in make_minibatches_cases():
        label = f"{name}({n}, {batch_size}, rng)  [{note}]"
        got = _call(fn, name, label, (), n, batch_size, _rng(seed))
        try:
            batches = [np.asarray(b) for b in got]
        except TypeError:
            raise CheckFailure(f"{label}: インデックス配列のリストを返してください / must return a list of index "
                               f"arrays, got {type(got).__name__}") from None
        sizes = [b.size for b in batches]
        expected_sizes = [batch_size] * (n // batch_size) + ([n % batch_size] if n % batch_size else [])
        if sizes != expected_sizes:
            raise CheckFailure(
                f"{label}: ミニバッチの大きさが違います / wrong mini-batch sizes\n"
                f"  期待値 expected: {expected_sizes}\n  実際   got:      {sizes}"
            )
        if any(b.ndim != 1 or not np.issubdtype(b.dtype, np.integer) for b in batches):
            raise CheckFailure(f"{label}: 各ミニバッチは整数の 1 次元配列にしてください / every batch must be a 1-D "
                               "array of integer indices")
        order = np.concatenate(batches)
        if not np.array_equal(np.sort(order), np.arange(n)):
            raise CheckFailure(f"{label}: 0〜{n - 1} のインデックスがちょうど 1 回ずつ現れていません / every index "
                               f"0..{n - 1} must appear exactly once")
        if n >= 10 and np.array_equal(order, np.arange(n)):
            raise CheckFailure(f"{label}: シャッフルされていません (rng.permutation を使う) / not shuffled: use "
                               "rng.permutation(n)")


def ref_accuracy(params: dict, x, labels) -> float:
    """Fraction of rows whose largest score is the label."""
    scores = ref_two_layer_forward(params, x)
    return float(np.mean(np.argmax(scores, axis=1) == np.asarray(labels)))


def accuracy_cases() -> list[tuple[str, dict, np.ndarray, np.ndarray]]:
    rng = _rng(261)
    cases = []
    for n, d, h, k, note in [(40, 64, 20, 10, "digits-sized"), (7, 3, 4, 3, "small"), (1, 5, 3, 4, "one sample")]:
        params = _params(rng, d, h, k, 1.0)
        x = rng.uniform(0.0, 1.0, size=(n, d))
        labels = np.argmax(ref_two_layer_forward(params, x), axis=1)
        wrong = rng.random(n) < 0.4  # about 40 % wrong labels
        labels[wrong] = (labels[wrong] + rng.integers(1, k, size=int(wrong.sum()))) % k
        cases.append((f"{note}: N={n}, K={k}", params, x, labels))
    return cases


@judged
def check_accuracy(fn: Callable) -> None:
    name = "accuracy"
    for note, params, x, labels in accuracy_cases():
        label = _network_label(name, params, x, note, with_t=False).replace(")  [", ", labels)  [")
        expected = ref_accuracy(params, x, labels)
        got = _call(fn, name, label, (), _copy_params(params), x.copy(), labels.copy())
        assert_close(got, expected, rtol=1e-12, atol=0, name=label)


def grader_digits_split() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The grader's own split of load_digits: x_train, x_test (pixels / 16), labels_train, labels_test."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    x = digits.data / 16.0
    return tuple(train_test_split(x, digits.target, test_size=DIGITS_TEST_SIZE, random_state=GRADER_SPLIT_SEED,
                                  stratify=digits.target))


def measure_train(fn: Callable) -> dict:
    """Train with the student's defaults on the grader's split; measure accuracy on the held-out part.

    Returns the measured figures (accuracy, first and last loss, seconds); raises CheckFailure
    below the thresholds.
    """
    from threadpoolctl import threadpool_limits

    name = "train"
    x_train, x_test, labels_train, labels_test = grader_digits_split()
    label = f"{name}(x_train {x_train.shape}, labels_train {labels_train.shape})  [grader's split of load_digits]"
    start = time.perf_counter()
    with threadpool_limits(limits=1, user_api="blas"):  # small matrices: one BLAS thread is fast and reproducible
        result = _call(fn, name, label, FORBIDDEN_TRAIN, x_train.copy(), labels_train.copy())
    seconds = time.perf_counter() - start
    if not (isinstance(result, tuple | list) and len(result) == 2):
        raise CheckFailure(f"{label}: (params, losses) の組を返してください / must return (params, losses), got "
                           f"{type(result).__name__}")
    params, losses = result
    if not isinstance(params, dict) or any(k not in params for k in PARAM_KEYS):
        raise CheckFailure(f"{label}: params は W1, b1, W2, b2 をキーに持つ辞書にしてください / params must be a dict "
                           "with keys W1, b1, W2, b2")
    params = {k: np.asarray(params[k], dtype=np.float64) for k in PARAM_KEYS}
    hidden = params["b1"].shape[0] if params["b1"].ndim == 1 else -1
    shapes = {"W1": (x_train.shape[1], hidden), "b1": (hidden,), "W2": (hidden, 10), "b2": (10,)}
    for key, shape in shapes.items():
        if params[key].shape != shape:
            raise CheckFailure(f"{label}: params['{key}'] の形が違います / wrong shape of params['{key}']: "
                               f"expected {shape}, got {params[key].shape}")
    losses = np.asarray(losses, dtype=np.float64).ravel()
    if losses.size < 10 or not np.all(np.isfinite(losses)):
        raise CheckFailure(f"{label}: losses はミニバッチごとの有限な損失のリストにしてください / losses must list the "
                           f"finite loss of every mini-batch (got {losses.size} values)")
    tenth = max(1, losses.size // 10)
    first, last = float(losses[:tenth].mean()), float(losses[-tenth:].mean())
    accuracy = ref_accuracy(params, x_test, labels_test)
    if not accuracy >= TRAIN_ACCURACY_MIN:
        raise CheckFailure(
            f"{label}: テスト正解率が足りません / test accuracy too low: "
            f"accuracy = {accuracy:.4f} < {TRAIN_ACCURACY_MIN} (しきい値 / threshold)\n"
            f"  損失 loss: 最初の 10% first 10% = {first:.4f}, 最後の 10% last 10% = {last:.4f}"
        )
    if not last < LOSS_DECREASE_RATIO * first:
        raise CheckFailure(
            f"{label}: 損失が十分に下がっていません / the training loss did not go down: "
            f"last 10% = {last:.4f} >= {LOSS_DECREASE_RATIO} x first 10% = {LOSS_DECREASE_RATIO * first:.4f}"
        )
    return {"accuracy": accuracy, "loss_first": first, "loss_last": last, "seconds": seconds}



@judged
def check_train(fn: Callable) -> None:
    measure_train(fn)  # returns nothing: a value would show as the test cell's output

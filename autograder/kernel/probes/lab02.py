"""Probes of lab 02, "neural-network fundamentals in NumPy" (02_n) and its hard notebook (02_h, training).

Each probe takes the student's function(s), draws the check's inputs (fixed seeds, salted while grading)
and calls the function on each, in the order the grader's checks (``autograder.labs.lab02.checks``)
compare them. The ``*_cases`` functions are the inputs both sides draw.

Two rules of how the student's code is called live here, since they act while it runs: the activation
and softmax-with-loss probes run it with NumPy's floating-point warnings turned into errors (an
overflowing ``exp`` fails even when the value it returns happens to be right), and ``train`` runs with
one BLAS thread. What the student's code is built from (XOR's gates, a gradient's use of numerical_gradient)
is not observed here: the grader reads the answer cells itself (``autograder.score.judge.names_in_definition``).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, NamedTuple

import numpy as np

from autograder.kernel import held_out
from autograder.kernel.compare import describe_array
from autograder.kernel.student import (
    Case,
    ForbiddenCall,
    call_student,
    case_rng,
    forbidden_calls,
    probe_function,
    random_rotation,
    student_errors,
)
from autograder.kernel.transcript import probe

# Library functions that would do an exercise for the student. Students read these lists in the
# notebooks' instructions; the grader's source scan and the kernel's tripwire enforce them.
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


def _probabilities(rng: np.random.Generator, n: int, k: int) -> np.ndarray:
    p = rng.uniform(0.05, 1.0, size=(n, k))
    return p / p.sum(axis=1, keepdims=True)


def _one_hot(rng: np.random.Generator, n: int, k: int) -> np.ndarray:
    return np.eye(k)[rng.integers(0, k, size=n)]


# ================================================================== inputs (02_n): perceptron and gates


def perceptron_cases() -> list[Case]:
    """x (D,), w (D,), b: the course's gates, two exactly on the boundary w.x + b == 0, then random D = 5."""
    rng = case_rng(201)
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


GATE_INPUTS = ((0, 0), (1, 0), (0, 1), (1, 1))


def gate_label(gate: str, x1: int, x2: int) -> str:
    return f"{gate}({x1}, {x2})"


# ================================================================== inputs (02_n): activations

EXTREMES = np.array([-1000.0, -710.0, -100.0, -1.0, 0.0, 1.0, 100.0, 710.0, 1000.0])
STEP_SEED, SIGMOID_SEED, TANH_SEED, RELU_SEED = 211, 212, 213, 214


def activation_cases(seed: int) -> list[Case]:
    """Arrays of 1 to 3 dimensions, some with values of +-1000."""
    rng = case_rng(seed)
    return [
        Case((np.array([-1.0, 0.0, 1.0, 2.0]),), note="small values, 0 included"),
        Case((rng.normal(scale=3.0, size=(7,)),), note="random, 1-D"),
        Case((rng.normal(scale=3.0, size=(3, 4)),), note="random mini-batch (3, 4)"),
        Case((rng.normal(scale=5.0, size=(2, 3, 4)),), note="random, 3-D"),
        Case((EXTREMES.copy(),), note="inputs up to +-1000: no overflow, no warning"),
        Case((rng.uniform(-1000.0, 1000.0, size=(4, 5)),), note="random inputs in [-1000, 1000]"),
    ]


# ================================================================== inputs (02_n): losses


def sum_squared_error_cases() -> list[Case]:
    """y, t of the same shape (1-D or a mini-batch)."""
    rng = case_rng(221)
    y_book = np.array([0.1, 0.05, 0.6, 0.0, 0.05, 0.1, 0.0, 0.1, 0.0, 0.0])
    t_book = np.eye(10)[2]
    return [
        Case((y_book, t_book), note="10 outputs, one-hot target"),
        Case((np.array([120.0, 95.0, 150.0]), np.array([110.0, 100.0, 160.0])), note="regression, 3 data"),
        Case((rng.normal(size=20), rng.normal(size=20)), note="random, 1-D"),
        Case((_probabilities(rng, 6, 4), _one_hot(rng, 6, 4)), note="mini-batch (6, 4): sum over every element"),
    ]


def mean_squared_error_cases() -> list[Case]:
    """y (N,), t (N,)."""
    rng = case_rng(222)
    return [
        Case((np.array([120.0, 95.0, 150.0]), np.array([110.0, 100.0, 160.0])), note="regression, N = 3"),
        Case((rng.normal(size=20), rng.normal(size=20)), note="N = 20: divide by N"),
        Case((np.array([2.5]), np.array([3.0])), note="N = 1"),
        Case((rng.normal(scale=10.0, size=57), rng.normal(scale=10.0, size=57)), note="N = 57"),
    ]


def cross_entropy_cases() -> list[Case]:
    """Probabilities (N,K) or (K,) and one-hot targets of the same shape."""
    rng = case_rng(223)

    def case(n, k, note):
        return Case((_probabilities(rng, n, k), _one_hot(rng, n, k)), note=note)

    return [
        Case((np.array([0.2, 0.7, 0.1]), np.array([0.0, 1.0, 0.0])), note="slide example, 1-D"),
        case(8, 10, "mini-batch of 8: the mean, not the sum"),
        case(1, 3, "batch of 1"),
        case(32, 5, "mini-batch of 32"),
    ]


# ================================================================== inputs (02_n): gradients


class GradientCase(NamedTuple):
    """One call of numerical_gradient(f, x): the function to differentiate is named by ``formula``
    (the grader's reference knows its gradient), with the random ``constants`` it uses."""

    note: str
    x0: np.ndarray
    formula: str  # "sum_squares", "sin_times_c", "exp_half", "quadratic_form", "cube_in_place"
    constants: dict

    @property
    def in_place(self) -> bool:
        """f ignores its argument and reads the array x itself (as two_layer_loss reads params)."""
        return self.formula == "cube_in_place"

    def function(self, x: np.ndarray) -> Callable[[np.ndarray], float]:
        """The f passed with the array ``x`` (the one the student's function gets)."""
        c, a = self.constants.get("c"), self.constants.get("a")
        if self.formula == "sum_squares":
            return lambda v: float(np.sum(v ** 2))
        if self.formula == "sin_times_c":
            return lambda v: float(np.sum(np.sin(v) * c))
        if self.formula == "exp_half":
            return lambda v: float(np.sum(np.exp(v / 2)))
        if self.formula == "quadratic_form":
            return lambda v: float(v @ a @ v)
        if self.formula == "cube_in_place":
            return lambda _: float(np.sum(x ** 3) / 3)
        raise ValueError(self.formula)

    def label(self) -> str:
        return f"numerical_gradient(f, {describe_array(self.x0)})  [{self.note}]"


def numerical_gradient_cases() -> list[GradientCase]:
    """Functions of arrays of 1 to 3 dimensions, one that reads x itself instead of its argument."""
    rng = case_rng(231)
    a = rng.normal(size=(4, 4))
    c = rng.normal(size=(3, 4))
    return [
        GradientCase("f(x) = x0^2 + x1^2 at (3, 4)", np.array([3.0, 4.0]), "sum_squares", {}),
        GradientCase("f(x) = sum(x^2), random 1-D", rng.normal(size=6), "sum_squares", {}),
        GradientCase("f(x) = sum(sin(x) * c), shape (3, 4)", rng.normal(size=(3, 4)), "sin_times_c", {"c": c}),
        GradientCase("f(x) = sum(exp(x / 2)), shape (2, 3, 2)", rng.normal(size=(2, 3, 2)), "exp_half", {}),
        GradientCase("f(x) = x^T A x, shape (4,)", rng.normal(size=4), "quadratic_form", {"a": a}),
        GradientCase("f ignores its argument and reads the array itself (as two_layer_loss does): change x in place",
                     rng.normal(size=(2, 3)), "cube_in_place", {}),
    ]


def gradient_step_cases() -> list[Case]:
    """w, grad (same shape, or numbers), lr."""
    rng = case_rng(232)
    return [
        Case((3.0, 2.0, 0.1), note="one weight, gradient > 0: w moves left"),
        Case((3.0, -2.0, 0.1), note="one weight, gradient < 0: w moves right"),
        Case((rng.normal(size=(4, 3)), rng.normal(size=(4, 3)), 0.01), note="weight matrix (4, 3), lr 0.01"),
        Case((rng.normal(size=5), rng.normal(size=5), 1.5), note="bias (5,), lr 1.5"),
    ]


# ================================================================== inputs (02_n): the two-layer network

FORWARD_SEED, GRADIENT_SEED = 241, 243


def random_params(rng: np.random.Generator, d: int, h: int, k: int, scale: float) -> dict:
    """W1 (d, h), b1 (h,), W2 (h, k), b2 (k,), normal with standard deviation ``scale``."""
    return {"W1": rng.normal(scale=scale, size=(d, h)), "b1": rng.normal(scale=scale, size=h),
            "W2": rng.normal(scale=scale, size=(h, k)), "b2": rng.normal(scale=scale, size=k)}


def network_cases(seed: int) -> list[tuple[str, dict, np.ndarray, np.ndarray]]:
    """(note, params, x (N, D), one-hot t (N, K)) with grader-chosen shapes."""
    rng = case_rng(seed)
    cases = []
    for n, d, h, k, scale, note in [
        (1, 2, 3, 2, 1.0, "one sample"),
        (6, 4, 5, 3, 1.0, "mini-batch of 6"),
        (5, 3, 7, 4, 0.1, "small weights"),
        (4, 3, 2, 5, 5.0, "large weights: saturated sigmoid"),
        (10, 64, 20, 10, 0.1, "digits-sized: D = 64, K = 10"),
    ]:
        x = rng.uniform(0.0, 1.0, size=(n, d)) if d == 64 else rng.normal(size=(n, d))
        cases.append((f"{note}: N={n}, D={d}, H={h}, K={k}", random_params(rng, d, h, k, scale), x,
                      np.eye(k)[rng.integers(0, k, size=n)]))
    return cases


def copy_params(params: dict) -> dict:
    return {k: v.copy() for k, v in params.items()}


def network_label(fn_name: str, params: dict, x: np.ndarray, note: str, with_t: bool = True) -> str:
    shapes = ", ".join(f"{k} {params[k].shape}" for k in PARAM_KEYS)
    t = ", t" if with_t else ""
    return f"{fn_name}(params {{{shapes}}}, x {x.shape}{t})  [{note}]"


def softmax_cross_entropy_cases() -> list[Case]:
    """Scores (N, K), some of +-1000, and one-hot targets (N, K)."""
    rng = case_rng(242)
    extreme = np.array([[1000.0, 0.0, -1000.0], [1000.0, 1000.0, 999.0], [-1000.0, -1000.0, -999.0]])
    return [
        Case((np.log(np.array([[0.2, 0.7, 0.1]])), np.array([[0.0, 1.0, 0.0]])), note="slide example: -log 0.7"),
        Case((rng.normal(scale=3.0, size=(8, 10)), _one_hot(rng, 8, 10)), note="mini-batch of 8: the mean"),
        Case((extreme, np.eye(3)[[2, 0, 2]]), note="scores of +-1000: no overflow, no log(0)"),
        Case((rng.uniform(-1000.0, 1000.0, size=(5, 4)), _one_hot(rng, 5, 4)), note="large random scores"),
    ]


# ================================================================== inputs (02_h)


def make_minibatches_cases() -> list[tuple[int, int, int, str]]:
    """(n, batch_size, seed of the rng passed, note)."""
    return [
        (10, 4, 251, "n = 10, batch 4: sizes 4, 4, 2"),
        (100, 32, 252, "n = 100, batch 32"),
        (1347, 50, 253, "digits training set, batch 50"),
        (64, 64, 254, "one full batch"),
        (7, 10, 255, "batch larger than n"),
    ]


def make_minibatches_label(n: int, batch_size: int, note: str) -> str:
    return f"make_minibatches({n}, {batch_size}, rng)  [{note}]"


def accuracy_cases() -> list[tuple[str, dict, np.ndarray, np.ndarray]]:
    """(note, params, x (N, D), integer labels (N,)); the labels are drawn at random, independently of the
    network (the grader counts how many the network gets right)."""
    rng = case_rng(261)
    cases = []
    for n, d, h, k, note in [(40, 64, 20, 10, "digits-sized"), (7, 3, 4, 3, "small"), (1, 5, 3, 4, "one sample")]:
        params = random_params(rng, d, h, k, 1.0)
        x = rng.uniform(0.0, 1.0, size=(n, d))
        labels = rng.integers(0, k, size=n)
        cases.append((f"{note}: N={n}, K={k}", params, x, labels))
    return cases


def accuracy_label(params: dict, x: np.ndarray, note: str) -> str:
    return network_label("accuracy", params, x, note, with_t=False).replace(")  [", ", labels)  [")


# 02_h's train(...) is measured on the grader's own split of sklearn's load_digits (pixels / 16), the held-out part
# never seen in training, of the grader's rotated copies of the 64 pixels (DIGITS_ROTATION_SEED, salted while
# grading): a train(...) that fits load_digits itself, the grader's test images included, sees none of them there
# (issue 18.4). Plain SGD from isotropic Gaussian weights learns rotated inputs exactly as well.
DIGITS_TEST_SIZE = 0.25
GRADER_SPLIT_SEED = 2024  # the notebook's own split uses random_state=0
DIGITS_ROTATION_SEED = 2025


def _draw_digits() -> dict[str, np.ndarray]:
    """The grader's own split of its copies of load_digits: x_train (1347, 64), x_test (450, 64), labels_train,
    labels_test. The copies are the pixels / 16 rotated in R^64 (:func:`random_rotation`, drawn with the held-out
    secret: :func:`held_out.rng`): float64, any sign."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    x = (digits.data / 16.0) @ random_rotation(held_out.rng(DIGITS_ROTATION_SEED), digits.data.shape[1])
    x_train, x_test, labels_train, labels_test = train_test_split(
        x, digits.target, test_size=DIGITS_TEST_SIZE, random_state=GRADER_SPLIT_SEED, stratify=digits.target)
    return {"x_train": x_train, "x_test": x_test, "labels_train": labels_train, "labels_test": labels_test}


# The kernel receives the training split only: 02_h's train(...) is measured in the grader on the rest.
DIGITS = held_out.HeldOutSet("lab02-digits", _draw_digits, ("x_train", "labels_train"))


def digits_inputs() -> tuple[np.ndarray, np.ndarray]:
    """What the kernel gets of :data:`DIGITS`: x_train (1347, 64), labels_train (1347,)."""
    found = held_out.arrays(DIGITS)
    return found["x_train"], found["labels_train"]


def digits_split() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The grader's whole split (:func:`_draw_digits`): x_train, x_test, labels_train, labels_test. Not in a grading
    kernel, which has the training split only."""
    found = held_out.arrays(DIGITS)
    return found["x_train"], found["x_test"], found["labels_train"], found["labels_test"]


def train_label(x_train: np.ndarray, labels_train: np.ndarray) -> str:
    return f"train(x_train {x_train.shape}, labels_train {labels_train.shape})  [grader's split of load_digits]"


# ================================================================== how the student's code is called


@contextmanager
def warnings_as_errors() -> Iterator[None]:
    """NumPy overflow / invalid / divide-by-zero, and any warning, raise instead of printing."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(over="raise", invalid="raise", divide="raise"):
            yield


def _probe_strictly(fn: Callable, cases: list[Case], *, name: str, forbidden: tuple[str, ...]) -> None:
    """probe_function with every warning an error while the student's code runs."""
    try:
        import torch  # noqa: F401 - imported (with the forbidden modules) before warnings become errors
    except ImportError:  # graded without it (autograder.labs.lab02.WITHOUT): nothing to guard against
        pass

    try:
        with forbidden_calls(fn, forbidden, name):
            pass
    except ForbiddenCall:
        pass  # the first call fails with it, in the transcript
    with warnings_as_errors():
        probe_function(fn, cases, name=name, forbidden=forbidden)


# ================================================================== probes (02_n)


@probe
def check_perceptron(fn: Callable) -> None:
    probe_function(fn, perceptron_cases(), name="perceptron")


def _probe_gate(fn: Callable, gate: str) -> None:
    for x1, x2 in GATE_INPUTS:
        call_student(fn, gate, gate_label(gate, x1, x2), x1, x2)


@probe
def check_gates(and_fn: Callable, or_fn: Callable, nand_fn: Callable) -> None:
    for gate, fn in (("AND", and_fn), ("OR", or_fn), ("NAND", nand_fn)):
        _probe_gate(fn, gate)


@probe
def check_xor(fn: Callable) -> None:
    _probe_gate(fn, "XOR")


@probe
def check_step_function(fn: Callable) -> None:
    _probe_strictly(fn, activation_cases(STEP_SEED), name="step_function", forbidden=FORBIDDEN_STEP)


@probe
def check_sigmoid(fn: Callable) -> None:
    _probe_strictly(fn, activation_cases(SIGMOID_SEED), name="sigmoid", forbidden=FORBIDDEN_SIGMOID)


@probe
def check_tanh(fn: Callable) -> None:
    _probe_strictly(fn, activation_cases(TANH_SEED), name="tanh", forbidden=FORBIDDEN_TANH)


@probe
def check_relu(fn: Callable) -> None:
    _probe_strictly(fn, activation_cases(RELU_SEED), name="relu", forbidden=FORBIDDEN_RELU)


@probe
def check_sum_squared_error(fn: Callable) -> None:
    probe_function(fn, sum_squared_error_cases(), name="sum_squared_error", forbidden=FORBIDDEN_MSE)


@probe
def check_mean_squared_error(fn: Callable) -> None:
    probe_function(fn, mean_squared_error_cases(), name="mean_squared_error", forbidden=FORBIDDEN_MSE)


@probe
def check_cross_entropy(fn: Callable) -> None:
    probe_function(fn, cross_entropy_cases(), name="cross_entropy", forbidden=FORBIDDEN_CE)


@probe
def check_numerical_gradient(fn: Callable) -> None:
    """x is passed itself (not a copy): the student's function changes it in place, and must restore it."""
    for case in numerical_gradient_cases():
        x = case.x0.copy()
        call_student(fn, "numerical_gradient", case.label(), case.function(x), x, forbidden=FORBIDDEN_NUMGRAD)


@probe
def check_gradient_step(fn: Callable) -> None:
    probe_function(fn, gradient_step_cases(), name="gradient_step", forbidden=FORBIDDEN_STEP_UPDATE)


@probe
def check_two_layer_forward(fn: Callable) -> None:
    name = "two_layer_forward"
    for note, params, x, _ in network_cases(FORWARD_SEED):
        call_student(fn, name, network_label(name, params, x, note, with_t=False), copy_params(params), x.copy(),
                     forbidden=FORBIDDEN_NETWORK)


@probe
def check_softmax_cross_entropy(fn: Callable) -> None:
    _probe_strictly(fn, softmax_cross_entropy_cases(), name="softmax_cross_entropy", forbidden=FORBIDDEN_SOFTMAX_LOSS)


@probe
def check_two_layer_gradient(fn: Callable) -> None:
    name = "two_layer_gradient"
    for note, params, x, t in network_cases(GRADIENT_SEED):
        call_student(fn, name, network_label(name, params, x, note), copy_params(params), x.copy(), t.copy(),
                     forbidden=FORBIDDEN_NETWORK)


# ================================================================== probes (02_h)


def index_batches(label: str) -> Callable[[Any], Any]:
    """What make_minibatches returned, as data: each batch as an array (a generator of batches is read out)."""

    def as_data(got: Any) -> Any:
        try:
            batches = iter(got)
        except TypeError:
            return got  # not a sequence: the grader names its type
        with student_errors(label):
            return [np.asarray(b) for b in batches]

    return as_data


@probe
def check_make_minibatches(fn: Callable) -> None:
    name = "make_minibatches"
    for n, batch_size, seed, note in make_minibatches_cases():
        label = make_minibatches_label(n, batch_size, note)
        call_student(fn, name, label, n, batch_size, case_rng(seed), as_data=index_batches(label))


@probe
def check_accuracy(fn: Callable) -> None:
    for note, params, x, labels in accuracy_cases():
        call_student(fn, "accuracy", accuracy_label(params, x, note), copy_params(params), x.copy(), labels.copy())


@probe
def check_train(fn: Callable) -> None:
    """The student's train(...) with its default arguments, on the grader's training split, one BLAS thread."""
    from threadpoolctl import threadpool_limits

    x_train, labels_train = digits_inputs()
    with threadpool_limits(limits=1, user_api="blas"):  # small matrices: one BLAS thread is fast and reproducible
        call_student(fn, "train", train_label(x_train, labels_train), x_train.copy(), labels_train.copy(),
                     forbidden=FORBIDDEN_TRAIN)

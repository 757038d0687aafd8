"""Lab 02's checks: the grader's verdict on what each probe (``autograder.kernel.probes.lab02``) recorded.

Each ``check_*`` gets the student's function(s) (in the grader, stand-ins that answer from the
transcript), draws the same inputs as its probe, and compares each recorded result with the reference
(:mod:`~autograder.labs.lab02.reference`) within the tolerances of
:mod:`~autograder.labs.lab02.thresholds`. The activation and softmax-with-loss probes ran the student's
code with floating-point warnings as errors; a failure caused by ``exp`` or ``log`` gets a hint here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from autograder.kernel.compare import CheckFailure, assert_close
from autograder.kernel.probes import lab02 as probes
from autograder.kernel.student import Case, call_student, case_rng
from autograder.kernel.transcript import Opaque
from autograder.labs.judged import check_function, judged, names_in_definition
from autograder.labs.lab02 import reference
from autograder.labs.lab02.thresholds import (
    ACCURACY_RTOL,
    ATOL,
    CE_ATOL,
    CE_RTOL,
    CHANCE_HINT,
    GRAD_ATOL,
    GRAD_RTOL,
    LOSS_DECREASE_RATIO,
    NUMGRAD_ATOL,
    NUMGRAD_RTOL,
    RESTORE_RTOL,
    RTOL,
    SCALE_RTOL,
    SCE_ATOL,
    SCE_RTOL,
    TRAIN_ACCURACY_MIN,
)

PARAM_KEYS = probes.PARAM_KEYS

STABILITY_HINT = (
    "  ヒント: exp の引数が大きな正の数になるとオーバーフローします (exp(1000) = inf)。"
    "exp(-|x|) のように、指数が 0 以下になる形に変形してください。\n"
    "  hint: exp overflows for large positive arguments (exp(1000) = inf, with a RuntimeWarning); "
    "rewrite the formula so that every exponent is <= 0, e.g. with exp(-|x|)."
)
# words of a failure that the strict probes' floating-point errors cause
_UNSTABLE = ("overflow", "Warning", "invalid value", "divide by zero", "NaN")


def _type_name(value: Any) -> str:
    """The type the student's code returned, as the kernel named it."""
    return value.type_name if isinstance(value, Opaque) else type(value).__name__


def _strict_check(fn: Callable, cases: list[Case], expected: Callable, *, name: str,
                  forbidden: tuple[str, ...], rtol: float, atol: float, scale_rtol: float = 0.0) -> None:
    """check_function on a strict probe's record; a failure caused by exp/log adds the stability hint."""
    try:
        check_function(fn, cases, expected, rtol=rtol, atol=atol, name=name, forbidden=forbidden,
                       scale_rtol=scale_rtol)
    except CheckFailure as exc:
        message = str(exc)
        if any(word in message for word in _UNSTABLE):
            raise CheckFailure(f"{message}\n{STABILITY_HINT}") from None
        raise


# ================================================================== 02_n: perceptron and gates


@judged
def check_perceptron(fn: Callable) -> None:
    check_function(fn, probes.perceptron_cases(), reference.perceptron, rtol=0, atol=0, name="perceptron")


def _check_truth_table(fn: Callable, gate: str) -> None:
    for x1, x2 in probes.GATE_INPUTS:
        label = probes.gate_label(gate, x1, x2)
        got = call_student(fn, gate, label, x1, x2)
        assert_close(got, reference.gate(gate, x1, x2), rtol=0, atol=0, name=label)


@judged
def check_gates(and_fn: Callable, or_fn: Callable, nand_fn: Callable) -> None:
    """AND, OR and NAND on all four input pairs."""
    for gate, fn in (("AND", and_fn), ("OR", or_fn), ("NAND", nand_fn)):
        _check_truth_table(fn, gate)


@judged
def check_xor(fn: Callable) -> None:
    """XOR on all four input pairs, built from the perceptron gates (two layers)."""
    _check_truth_table(fn, "XOR")
    # which gates XOR is built from is the grader's reading of the answer cells, not the kernel's word
    used = names_in_definition("XOR", fn) & {"AND", "OR", "NAND"}
    if len(used) < 2:
        raise CheckFailure(
            "XOR: AND・OR・NAND のゲートを 2 層に組み合わせて作ってください "
            f"(使われているゲート: {sorted(used) or 'なし'}) / build XOR from two layers of the gates "
            f"AND, OR and NAND (gates used: {sorted(used) or 'none'})"
        )


# ================================================================== 02_n: activation functions


@judged
def check_step_function(fn: Callable) -> None:
    _strict_check(fn, probes.activation_cases(probes.STEP_SEED), reference.step_function, name="step_function",
                  forbidden=probes.FORBIDDEN_STEP, rtol=0, atol=0)


@judged
def check_sigmoid(fn: Callable) -> None:
    _strict_check(fn, probes.activation_cases(probes.SIGMOID_SEED), reference.sigmoid, name="sigmoid",
                  forbidden=probes.FORBIDDEN_SIGMOID, rtol=RTOL, atol=ATOL, scale_rtol=SCALE_RTOL)


@judged
def check_tanh(fn: Callable) -> None:
    _strict_check(fn, probes.activation_cases(probes.TANH_SEED), reference.tanh, name="tanh",
                  forbidden=probes.FORBIDDEN_TANH, rtol=RTOL, atol=ATOL, scale_rtol=SCALE_RTOL)


@judged
def check_relu(fn: Callable) -> None:
    _strict_check(fn, probes.activation_cases(probes.RELU_SEED), reference.relu, name="relu",
                  forbidden=probes.FORBIDDEN_RELU, rtol=RTOL, atol=ATOL, scale_rtol=SCALE_RTOL)


# ================================================================== 02_n: loss functions


@judged
def check_sum_squared_error(fn: Callable) -> None:
    check_function(fn, probes.sum_squared_error_cases(), reference.sum_squared_error, rtol=RTOL, atol=ATOL, scale_rtol=SCALE_RTOL,
                   name="sum_squared_error", forbidden=probes.FORBIDDEN_MSE)


@judged
def check_mean_squared_error(fn: Callable) -> None:
    check_function(fn, probes.mean_squared_error_cases(), reference.mean_squared_error, rtol=RTOL, atol=ATOL, scale_rtol=SCALE_RTOL,
                   name="mean_squared_error", forbidden=probes.FORBIDDEN_MSE)


@judged
def check_cross_entropy(fn: Callable) -> None:
    check_function(fn, probes.cross_entropy_cases(), reference.cross_entropy, rtol=CE_RTOL, atol=CE_ATOL,
                   name="cross_entropy", forbidden=probes.FORBIDDEN_CE)


# ================================================================== 02_n: gradients


@judged
def check_numerical_gradient(fn: Callable) -> None:
    """Central differences (h = 1e-4) on grader-chosen functions; x changed in place and restored."""
    name = "numerical_gradient"
    for case in probes.numerical_gradient_cases():
        x = case.x0.copy()
        label = case.label()
        got = call_student(fn, name, label, case.function(x), x, forbidden=probes.FORBIDDEN_NUMGRAD)
        expected = reference.gradient_of(case.formula, case.x0, case.constants)
        assert_close(got, expected, rtol=NUMGRAD_RTOL, atol=NUMGRAD_ATOL, name=label)
        try:
            assert_close(x, case.x0, rtol=RESTORE_RTOL, atol=0, name=f"x after {name}(f, x)")
        except CheckFailure as exc:
            raise CheckFailure(
                f"{label}: x が元に戻っていません (変えた要素は計算後に元の値に戻してください) / "
                f"x was not restored (put every element back after using it)\n{exc}"
            ) from None


@judged
def check_gradient_step(fn: Callable) -> None:
    check_function(fn, probes.gradient_step_cases(), reference.gradient_step, rtol=RTOL, atol=ATOL, scale_rtol=SCALE_RTOL,
                   name="gradient_step", forbidden=probes.FORBIDDEN_STEP_UPDATE)


# ================================================================== 02_n: the two-layer network


@judged
def check_two_layer_forward(fn: Callable) -> None:
    name = "two_layer_forward"
    for note, params, x, _ in probes.network_cases(probes.FORWARD_SEED):
        label = probes.network_label(name, params, x, note, with_t=False)
        expected = reference.two_layer_forward(params, x)
        got = call_student(fn, name, label, probes.copy_params(params), x.copy(), forbidden=probes.FORBIDDEN_NETWORK)
        assert_close(got, expected, rtol=RTOL, atol=ATOL, scale_rtol=SCALE_RTOL, name=label)


@judged
def check_softmax_cross_entropy(fn: Callable) -> None:
    _strict_check(fn, probes.softmax_cross_entropy_cases(), reference.softmax_cross_entropy,
                  name="softmax_cross_entropy", forbidden=probes.FORBIDDEN_SOFTMAX_LOSS, rtol=SCE_RTOL, atol=SCE_ATOL)


@judged
def check_two_layer_gradient(fn: Callable) -> None:
    """Backprop vs torch.autograd on grader-chosen shapes and seeds; the numerical gradient is not backprop."""
    name = "two_layer_gradient"
    if "numerical_gradient" in names_in_definition(name, fn):  # the grader's reading, as XOR's gates
        raise CheckFailure(
            f"{name}: 数値微分ではなく誤差逆伝播法で勾配を計算してください (numerical_gradient は使えません) / "
            "compute the gradient by backpropagation, not with numerical_gradient"
        )
    for note, params, x, t in probes.network_cases(probes.GRADIENT_SEED):
        label = probes.network_label(name, params, x, note)
        expected = reference.two_layer_gradient(params, x, t)
        got = call_student(fn, name, label, probes.copy_params(params), x.copy(), t.copy(),
                           forbidden=probes.FORBIDDEN_NETWORK)
        if not isinstance(got, dict):
            raise CheckFailure(f"{label}: 辞書 (dict) を返してください / must return a dict, got {_type_name(got)}")
        missing = [k for k in PARAM_KEYS if k not in got]
        if missing:
            raise CheckFailure(f"{label}: キー {missing} がありません / keys missing from the returned dict: {missing}")
        # One scale for the four gradients: with a saturated sigmoid, float32's h (1 - h) loses its digits, and
        # dL/dW1 is tiny beside dL/dW2 while its round-off is that of the terms before the product.
        scale = max(float(np.max(np.abs(expected[key]), initial=0.0)) for key in PARAM_KEYS)
        for key in PARAM_KEYS:
            assert_close(got[key], expected[key], rtol=GRAD_RTOL, atol=GRAD_ATOL + SCALE_RTOL * scale,
                         name=f"grads['{key}'] of {label}")


# ================================================================== 02_h: mini-batches, accuracy, training


def _sizes_cause(sizes: list[int], expected: list[int]) -> str:
    """The likely cause of wrong mini-batch sizes, from the sizes observed (issue 18.7)."""
    if expected and sizes == expected[:-1]:
        return ("\n  原因の候補: 最後のミニバッチが抜けています (n // batch_size 回では足りません。"
                "range(0, n, batch_size) で区切ってください) / likely cause: the last mini-batch is dropped "
                "(n // batch_size batches are too few when batch_size does not divide n: slice at range(0, n, batch_size))")
    return ""


@judged
def check_make_minibatches(fn: Callable) -> None:
    """Every index exactly once per epoch, in batches of batch_size (the last may be smaller), shuffled."""
    name = "make_minibatches"
    for n, batch_size, seed, note in probes.make_minibatches_cases():
        label = probes.make_minibatches_label(n, batch_size, note)
        got = call_student(fn, name, label, n, batch_size, case_rng(seed),
                           as_data=probes.index_batches(label))
        try:
            batches = [np.asarray(b) for b in got]
        except TypeError:
            raise CheckFailure(f"{label}: インデックス配列のリストを返してください / must return a list of index "
                               f"arrays, got {_type_name(got)}") from None
        sizes = [b.size for b in batches]
        expected_sizes = [batch_size] * (n // batch_size) + ([n % batch_size] if n % batch_size else [])
        if sizes != expected_sizes:
            raise CheckFailure(
                f"{label}: ミニバッチの大きさが違います / wrong mini-batch sizes\n"
                f"  期待値 expected: {expected_sizes}\n  実際   got:      {sizes}{_sizes_cause(sizes, expected_sizes)}"
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


@judged
def check_accuracy(fn: Callable) -> None:
    for note, params, x, labels in probes.accuracy_cases():
        label = probes.accuracy_label(params, x, note)
        expected = reference.accuracy(params, x, labels)
        got = call_student(fn, "accuracy", label, probes.copy_params(params), x.copy(), labels.copy())
        assert_close(got, expected, rtol=ACCURACY_RTOL, atol=0, name=label)


def measure_train(fn: Callable) -> dict:
    """The student's train(...) (its defaults) on the grader's split, as the probe recorded it: the accuracy on
    the held-out part and the mean loss of the first and last 10 % of iterations. Raises CheckFailure below
    the thresholds."""
    x_train, x_test, labels_train, labels_test = probes.digits_split()
    label = probes.train_label(x_train, labels_train)
    result = call_student(fn, "train", label, x_train.copy(), labels_train.copy(), forbidden=probes.FORBIDDEN_TRAIN)
    if not (isinstance(result, tuple | list) and len(result) == 2):
        raise CheckFailure(f"{label}: (params, losses) の組を返してください / must return (params, losses), got "
                           f"{_type_name(result)}")
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
    accuracy = reference.accuracy(params, x_test, labels_test)
    if not accuracy >= TRAIN_ACCURACY_MIN:
        raise CheckFailure(
            f"{label}: テスト正解率が足りません / test accuracy too low: "
            f"accuracy = {accuracy:.4f} < {TRAIN_ACCURACY_MIN} (しきい値 / threshold)\n"
            f"  損失 loss: 最初の 10% first 10% = {first:.4f}, 最後の 10% last 10% = {last:.4f}"
            + (_NOT_FITTED_ON_ARGUMENTS if accuracy < CHANCE_HINT else "")
        )
    if not last < LOSS_DECREASE_RATIO * first:
        raise CheckFailure(
            f"{label}: 損失が十分に下がっていません / the training loss did not go down: "
            f"last 10% = {last:.4f} >= {LOSS_DECREASE_RATIO} x first 10% = {LOSS_DECREASE_RATIO * first:.4f}"
        )
    return {"accuracy": accuracy, "loss_first": first, "loss_last": last}


# The grader's x_train are rotated copies of the digits (probes.digits_split): parameters fitted on load_digits itself
# score about chance on them.
_NOT_FITTED_ON_ARGUMENTS = (
    "\n  正解率が偶然と同じ程度です。採点用の x_train は load_digits の画素を回転した写しです: 引数の x_train, labels_train"
    "だけで学習してください / accuracy at chance level: the grader's x_train are rotated copies of load_digits' pixels, "
    "so train on the x_train, labels_train passed in, not on data loaded elsewhere"
)


@judged
def check_train(fn: Callable) -> None:
    measure_train(fn)  # returns nothing: a value would show as the test cell's output

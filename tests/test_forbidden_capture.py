"""A forbidden library function is caught however the student's code holds it (issue 18, class 2).

Each answer below does the exercise with the function the exercise forbids, reached in one of many ways: a
``partial``, a closure, a default argument, a class attribute, an iterator, ``getattr`` of a module from
``sys.modules`` with a built name, ``__import__``, ``eval``, a stash in ``builtins``, a call made from C (``map`` over a ``partial``),
a thread, and a ``try`` that swallows the tripwire and calls it another way. Every one must fail the real
lab 03 check with the forbidden-call message; the honest answers that use torch for what is allowed still pass.
The answers are compiled as a notebook's cell is (module ``__main__``), and checked in-process, as the sweeps do.
"""

from __future__ import annotations

import sys
import threading

import numpy as np
import pytest

from autograder.kernel.student import ForbiddenCall
from autograder.labs import lab03

HEADER = "import builtins, functools, importlib, itertools, sys, threading\nimport numpy as np\nimport torch\n"

# How the answer gets hold of the forbidden function ``h``; {mod} and {attr} name it, {fn} is the answer's name.
FORMS = {
    "partial made when the cell ran": (
        "_h = functools.partial(importlib.import_module('{mod}').{attr})\n"
        "def {fn}({params}):\n    h = _h\n    return {call}\n"),
    "closure": (
        "def _make(h):\n    def {fn}({params}):\n        return {call}\n    return {fn}\n"
        "{fn} = _make(getattr(importlib.import_module('{mod}'), '{attr}'))\n"),
    "default argument": (
        "def {fn}({params}, h=getattr(importlib.import_module('{mod}'), '{attr}')):\n    return {call}\n"),
    "class attribute": (
        "class _Ops:\n    h = staticmethod(getattr(importlib.import_module('{mod}'), '{attr}'))\n"
        "def {fn}({params}):\n    h = _Ops.h\n    return {call}\n"),
    "held in a dict": (
        "_table = {{'op': getattr(importlib.import_module('{mod}'), '{attr}')}}\n"
        "def {fn}({params}):\n    h = _table['op']\n    return {call}\n"),
    "getattr of sys.modules, built name, at call time": (
        "def {fn}({params}):\n    h = getattr(sys.modules['{mod}'], '{attr_a}' + '{attr_b}')\n    return {call}\n"),
    "__import__ of a built name": (
        "def {fn}({params}):\n    m = __import__('{mod}', fromlist=['x'])\n    h = getattr(m, ''.join(['{attr}']))\n"
        "    return {call}\n"),
    "eval of a built string": (
        "def {fn}({params}):\n    h = eval('importlib.import_module(\"{mod}\")' + '.{attr}')\n    return {call}\n"),
    "stashed in builtins when the cell ran": (
        "builtins.__dict__['_stash'] = getattr(importlib.import_module('{mod}'), '{attr}')\n"
        "def {fn}({params}):\n    h = builtins.__dict__['_stash']\n    return {call}\n"),
    "hidden in an iterator": (
        "_held = itertools.repeat(getattr(importlib.import_module('{mod}'), '{attr}'))\n"
        "def {fn}({params}):\n    h = next(_held)\n    return {call}\n"),
    "called from C (map over a partial)": (
        "builtins.__dict__['_stash'] = getattr(importlib.import_module('{mod}'), '{attr}')\n"
        "def _via_c(*a, **k):\n"
        "    return next(map(functools.partial(builtins.__dict__['_stash'], **k), *([v] for v in a)))\n"
        "def {fn}({params}):\n    h = _via_c\n    return {call}\n"),
    "run in a thread it starts": (
        "builtins.__dict__['_stash'] = getattr(importlib.import_module('{mod}'), '{attr}')\n"
        "def {fn}({params}):\n    out = []\n    h = builtins.__dict__['_stash']\n"
        "    t = threading.Thread(target=lambda: out.append({call}))\n    t.start(); t.join()\n    return out[0]\n"),
    "tripwire swallowed, then the stash": (
        "builtins.__dict__['_stash'] = getattr(importlib.import_module('{mod}'), '{attr}')\n"
        "def {fn}({params}):\n    try:\n        h = getattr(importlib.import_module('{mod}'), '{attr}')\n"
        "        return {call}\n    except BaseException:\n        h = builtins.__dict__['_stash']\n"
        "        return {call}\n"),
}

_T = "torch.from_numpy(np.asarray({}, dtype=np.float64))"
_WINDOWS = ("    xp = torch.nn.functional.pad({x}, (padding,) * 4)\n"
            "    win = xp.unfold(2, w.shape[2], stride).unfold(3, w.shape[3], stride)\n")

# (the answer's name, its parameters, the call of ``h`` that does the work, the forbidden function, the check)
TARGETS = {
    "softmax / torch.softmax (a builtin)": (
        "softmax", "a", f"h({_T.format('a')}, -1).numpy()", "torch", "softmax", lab03.check_softmax),
    "conv2d_single / scipy.signal.correlate2d": (
        "conv2d_single", "x, k", "h(np.asarray(x, dtype=float), np.asarray(k, dtype=float), mode='valid')",
        "scipy.signal", "correlate2d", lab03.check_conv2d_single),
    "max_pool2d / F.max_pool2d": (
        "max_pool2d", "x, size, stride", f"h({_T.format('x')}, size, stride).numpy()",
        "torch.nn.functional", "max_pool2d", lab03.check_max_pool2d),
    "conv2d_forward (hard) / F.conv2d (a builtin)": (
        "conv2d_forward", "x, w, b, stride=1, padding=0",
        f"h({_T.format('x')}, {_T.format('w')}, {_T.format('b')}, stride=stride, padding=padding).numpy()",
        "torch.nn.functional", "conv2d", lab03.check_conv2d_forward),
    "conv2d_backward (hard) / torch.autograd.grad": (
        "conv2d_backward", "dout, x, w, stride=1, padding=0", "_backward(h, dout, x, w, stride, padding)",
        "torch.autograd", "grad", lab03.check_conv2d_backward_dx),
}

# conv2d_backward's work around ``h`` (autograd.grad): a forward pass in allowed torch, then h for dx and dw.
_BACKWARD_HELPER = (
    "def _backward(h, dout, x, w, stride, padding):\n"
    f"    tx = {_T.format('x')}.requires_grad_()\n    tw = {_T.format('w')}.requires_grad_()\n"
    + _WINDOWS.format(x="tx").replace("w.shape", "tw.shape") +
    "    out = torch.einsum('nchwij,kcij->nkhw', win, tw)\n"
    f"    dx, dw = h((out * {_T.format('dout')}).sum(), (tx, tw))\n"
    "    return dx.detach().numpy(), dw.detach().numpy(), np.asarray(dout).sum(axis=(0, 2, 3))\n")


def _answer(form: str, target: str):
    fn, params, call, mod, attr, _ = TARGETS[target]
    half = len(attr) // 2
    source = HEADER + _BACKWARD_HELPER + FORMS[form].format(fn=fn, params=params, call=call, mod=mod, attr=attr,
                                                              attr_a=attr[:half], attr_b=attr[half:])
    scope = {"__name__": "__main__"}
    exec(compile(source, "<student cell>", "exec"), scope)  # noqa: S102 - the test's own answers
    return scope[fn]


@pytest.fixture(autouse=True)
def _clean_builtins():
    import builtins
    yield
    builtins.__dict__.pop("_stash", None)


@pytest.mark.parametrize("form", sorted(FORMS))
@pytest.mark.parametrize("target", sorted(TARGETS))
def test_a_forbidden_function_is_caught_however_it_is_held(target, form):
    fn = _answer(form, target)
    check = TARGETS[target][-1]
    with pytest.raises(ForbiddenCall, match="implement it yourself|監視"):
        check(fn)
    assert sys.getprofile() is None and threading.getprofile() is None  # the watch is gone after the check


HONEST_TORCH = {
    # allowed torch: padding, Tensor.unfold windows (as numpy's sliding_window_view), einsum
    "conv2d_forward": (lab03.check_conv2d_forward,
                       "def conv2d_forward(x, w, b, stride=1, padding=0):\n"
                       f"    tx, w = {_T.format('x')}, {_T.format('w')}\n"
                       + _WINDOWS.format(x="tx") +
                       f"    return (torch.einsum('nchwij,kcij->nkhw', win, w) + {_T.format('b')}[None, :, None, None]).numpy()\n"),
    "softmax": (lab03.check_softmax,
                "def softmax(a):\n"
                f"    t = {_T.format('a')}\n    e = torch.exp(t - t.max(dim=-1, keepdim=True).values)\n"
                "    return (e / e.sum(dim=-1, keepdim=True)).numpy()\n"),
    "max_pool2d": (lab03.check_max_pool2d,
                   "def max_pool2d(x, size, stride):\n"
                   f"    return {_T.format('x')}.unfold(2, size, stride).unfold(3, size, stride).amax(dim=(-1, -2)).numpy()\n"),
}


@pytest.mark.parametrize("name", sorted(HONEST_TORCH))
def test_honest_answers_that_use_allowed_torch_pass(name):
    check, source = HONEST_TORCH[name]
    scope = {"__name__": "__main__"}
    exec(compile(HEADER + source, "<student cell>", "exec"), scope)  # noqa: S102 - the test's own answers
    check(scope[name])
    assert sys.getprofile() is None


def test_switching_the_watch_off_is_caught():
    def softmax(a, _off=sys.setprofile):
        _off(None)
        e = np.exp(a - np.max(a, axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)

    with pytest.raises(ForbiddenCall, match="sys.setprofile"):
        lab03.check_softmax(softmax)


def test_a_function_that_shares_a_forbidden_ones_decorator_is_not_taken_for_it():
    """sklearn wraps log_loss, load_digits and every estimator's fit in the same decorators, whose wrapper code is one
    code object for all of them: calling load_digits or StandardScaler.fit is not calling log_loss or MLPClassifier."""
    from sklearn.datasets import load_digits
    from sklearn.preprocessing import StandardScaler

    from autograder.kernel.student import forbidden_calls

    def train(x):
        load_digits()
        return StandardScaler().fit(x).transform(x)

    with forbidden_calls(train, ("sklearn.metrics.log_loss", "sklearn.neural_network.MLPClassifier")):
        train(np.ones((4, 2)))

    def train_with_the_network(x):
        from sklearn.neural_network import MLPClassifier
        return MLPClassifier(max_iter=1).fit(x, [0, 1, 0, 1])

    with pytest.raises(ForbiddenCall, match="MLPClassifier"):
        with forbidden_calls(train_with_the_network, ("sklearn.neural_network.MLPClassifier",)):
            train_with_the_network(np.eye(4))

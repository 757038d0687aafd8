"""What the kernel sends of a lab-05 network so that the grader can run it itself (issue 18.5): its parameters and
buffers, and the student's test-time ``preprocess`` as a scale and an offset per input value.

The network checks send a new network's state (with BatchNorm given random statistics first, :func:`network_state`):
the grader runs it in the exercise's network and compares the outputs, so an architecture that differs from the
exercise's with the same parameters (a ReLU left out, BatchNorm after the ReLU) fails the network's own part.

The grader (``autograder.labs.lab05.audit``) loads the parameters into the exercise's own network and computes, on
its own test images, the classes the kernel reported and the losses the membership test compares: a forged record,
or a model whose answers are not its weights' (a lookup in ``forward``), is refused there. Nothing here judges.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autograder.kernel.probes.lab05.inputs import classifier_inputs, generator
from autograder.kernel.student import student_errors
from autograder.kernel.transcript import observe

# Parameters and buffers as float32 up to this many values (the normal notebook's Net: 620,362; ResNet-9 of width 12
# on a CPU: 0.19 million). Above it they cross as float16 (ResNet-9 of width 64 on a GPU: 6.6 million, 13 MB), whose
# round-off (about 5e-4 relative) changes a predicted class as rarely as a GPU's TF32 does.
STATE_FLOAT32_MAX = 4_000_000
STATE_MAX = 12_000_000  # values: a bigger network is sent without them (the grader says it cannot run it)
NORMS_SEED = 513  # the random BatchNorm statistics of the network checks' new networks


def _torch():
    import torch  # imported lazily: the data checks need only NumPy

    return torch


def use_order(model: Any, x: Any) -> list[str]:
    """The names of ``model``'s state entries (as ``state_dict`` gives them) in the order a forward pass on ``x`` (one
    image, eval mode, no gradient, on a copy of torch's random state) first hands them to a torch function; [] when
    it fails (the output checks report why). The mode of every module is restored.

    Watched at the torch function (a ``TorchFunctionMode``), not at the module: a layer run through its
    ``.forward()``, or whose weights a functional ``forward`` uses, is seen where it is used."""
    torch = _torch()
    names: dict[int, str] = {}
    for name, value in model.state_dict(keep_vars=True).items():
        names.setdefault(id(value), name)  # a tensor shared under two names: the first
    order: dict[str, None] = {}

    class FirstUse(torch.overrides.TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            kwargs = kwargs or {}
            for value in (*args, *kwargs.values()):
                for item in value if isinstance(value, list | tuple) else (value,):
                    name = names.get(id(item))
                    if name is not None:
                        order.setdefault(name)
            return func(*args, **kwargs)

    modes = [(module, module.training) for module in model.modules()]
    try:
        parameter = next(model.parameters(), None)
        x = torch.as_tensor(x[:1])
        x = x if parameter is None else x.to(parameter.device)
        model.eval()
        with torch.no_grad(), torch.random.fork_rng(devices=[]), FirstUse():
            model(x)
    except Exception:  # the student's forward: the checks of its outputs say what is wrong with it
        return []
    finally:
        for module, training in modes:
            module.training = training
    return list(order)


def _ordered(model: Any, x: Any) -> list:
    """The floating-point entries of ``model.state_dict()``: first in the order the forward pass on ``x`` uses them
    (:func:`use_order`), then the others in the state_dict's order."""
    torch = _torch()
    state = {name: value for name, value in model.state_dict().items()
             if isinstance(value, torch.Tensor) and value.is_floating_point()}
    used = [] if x is None else use_order(model, x)
    return [(name, state[name]) for name in dict.fromkeys([*(name for name in used if name in state), *state])]


def state_of(model: Any, x: Any = None) -> list | None:
    """``[[name, array], ...]``: the floating-point entries of ``model.state_dict()`` (parameters and BatchNorm's
    running statistics) in the order the forward pass on ``x`` (N, 3, 32, 32) uses them (:func:`_ordered`:
    the grader matches them to the exercise's layers in order, so a network that registers its layers in another
    order than it runs them is still the exercise's), as float32 arrays (float16 above :data:`STATE_FLOAT32_MAX`
    values); None when there are more than :data:`STATE_MAX` values."""
    torch = _torch()
    entries = _ordered(model, x)
    total = sum(value.numel() for _, value in entries)
    if total > STATE_MAX:
        return None
    dtype = torch.float32 if total <= STATE_FLOAT32_MAX else torch.float16
    return [[name, value.detach().to("cpu", dtype).numpy()] for name, value in entries]


def randomise_norms(model: Any, seed: int = NORMS_SEED) -> None:
    """Gives each BatchNorm layer of ``model`` random running statistics, shift, and a scale of either sign (drawn as
    the grader's inputs are). As initialised (mean 0, variance 1, scale 1, shift 0), a BatchNorm in eval mode is the
    identity, so where it stands (before or after the ReLU, before or after pooling) would not show in the outputs."""
    torch = _torch()
    draw = generator(seed)
    with torch.no_grad():
        for layer in model.modules():
            if not isinstance(layer, torch.nn.modules.batchnorm._BatchNorm):
                continue
            n = layer.num_features
            sign = torch.where(torch.rand(n, generator=draw) < 0.5, -1.0, 1.0)
            values = {"weight": sign * (0.5 + torch.rand(n, generator=draw)), "bias": 0.3 * torch.randn(n, generator=draw),
                      "running_mean": 0.3 * torch.randn(n, generator=draw),
                      "running_var": 0.5 + 1.5 * torch.rand(n, generator=draw)}
            for name, value in values.items():
                tensor = getattr(layer, name, None)
                if isinstance(tensor, torch.Tensor) and tensor.shape == value.shape:
                    tensor.copy_(value)


def _new_network_state(held: dict, label: str) -> list | None:
    with student_errors(label):
        randomise_norms(held["model"])
        return state_of(held["model"], classifier_inputs())


def network_state(held: dict, label: str) -> list | None:
    """The held new network's state (:func:`state_of`), its BatchNorm layers given random statistics first
    (:func:`randomise_norms`): the outputs observed after it are those of this state, which the grader runs in the
    exercise's network."""
    return observe(f"{label}: its parameters and BatchNorm statistics", lambda: _new_network_state(held, label))


def pixel_scale(raw: np.ndarray, preprocessed: Any) -> dict | None:
    """``preprocess`` as ``a * x + b`` for each of the (3, 32, 32) input values, from raw images ``raw``
    (N, 32, 32, 3) uint8 and what preprocess made of them (N, 3, 32, 32): {"a": (3, 32, 32), "b": (3, 32, 32)}
    float32; None if the output has another shape or is not numbers.

    Fitted by the moments of each value over the N images (its mean and spread), not by their correlation: a
    per-channel or per-pixel normalisation is found exactly, and a preprocess that also mirrors some images (a
    random flip left at test time) is found as its normalisation. A value that is the same in every image (a
    constant border) gets its channel's median scale.
    """
    torch = _torch()
    if isinstance(preprocessed, torch.Tensor):
        preprocessed = preprocessed.detach().float().cpu().numpy()
    out = np.asarray(preprocessed)
    if raw.ndim != 4 or out.shape != (len(raw), 3, *raw.shape[1:3]) or out.dtype.kind not in "biuf" or len(raw) < 2:
        return None
    x = raw.transpose(0, 3, 1, 2).astype(np.float64)
    y = out.astype(np.float64)
    spread_x, spread_y = x.std(axis=0), y.std(axis=0)
    known = spread_x > 1e-9
    a = np.where(known, spread_y / np.where(known, spread_x, 1.0), np.nan)
    for c in range(3):
        centred = (x[:, c] - x[:, c].mean(axis=0)) * (y[:, c] - y[:, c].mean(axis=0))
        sign = -1.0 if centred.sum() < 0 else 1.0  # a preprocess that inverts a channel (no honest one does)
        fallback = np.nanmedian(a[c]) if known[c].any() else 1.0
        a[c] = sign * np.where(known[c], a[c], fallback)
    b = y.mean(axis=0) - a * x.mean(axis=0)
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        return None
    return {"a": a.astype(np.float32), "b": b.astype(np.float32)}

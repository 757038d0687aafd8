"""Lab 05's calls of the student's code, and what crosses of their outputs: the probes make them in the kernel, the
grader's checks make the same ones (same labels, same inputs) and get the recorded results back.

Every function here that takes the student's code goes through :func:`call` or
:func:`~autograder.kernel.transcript.observe`: in the kernel the student's code runs and its result, turned
into data, is recorded; in the grader's replay the recorded data comes back and nothing runs (``held``, the
dict where the kernel keeps a model between observations, stays empty there). What is too big for a
transcript crosses reduced (per-channel sums, digests); an output that cannot be reduced (not a tensor, the
wrong shape) is the call's failure, with the message the grader gives when it checks the output itself.

Student code runs on a copy of torch's random state, seeded by its place among the probe's student calls
(:func:`_student_rng`): a hidden test does not change the random numbers the notebook draws afterwards, each
call draws its own, and a probe draws the same ones whatever ran before it in the process (a graded notebook's
earlier checks, or the same probe a moment ago), so that its verdict and message do not depend on history.
Those seeds reach only the student's code, never the grader's inputs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from functools import partial
from typing import Any

import numpy as np

from autograder.kernel import transcript
from autograder.kernel.compare import CheckFailure
from autograder.kernel.probes.lab05 import inputs, network
from autograder.kernel.probes.lab05.inputs import EVAL_BATCH, NUM_CLASSES, TEST_BATCH, TRAIN_CHECK
from autograder.kernel.student import run_student, student_errors
from autograder.kernel.transcript import observe


def _torch():
    import torch  # imported lazily: the data checks need only NumPy

    return torch


def device() -> str:
    """Where the notebook computes ("cuda" if torch sees a GPU, as the notebook's `device`)."""
    return "cuda" if _torch().cuda.is_available() else "cpu"


# ------------------------------------------------------------------------------ running the student's code

# The torch seed of the n-th student call of a probe: STUDENT_SEED + n (the student's randomness only).
STUDENT_SEED = 500
_CALLS = [0]  # student calls so far in the running probe


def fresh_seeds() -> None:
    """Start the running probe's student calls from the first seed (each probe calls this first)."""
    _CALLS[0] = 0


@contextmanager
def _student_rng():
    """Run student code on a copy of torch's random state: the notebook's later draws stay as without the check.

    Inside, torch is seeded by the number of student calls the probe made so far: every call draws other random
    numbers, and a probe draws the same ones on every run, whatever ran before it.
    """
    torch = _torch()
    devices = list(range(torch.cuda.device_count())) if torch.cuda.is_available() else []
    _CALLS[0] += 1
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(STUDENT_SEED + _CALLS[0])
        yield


def _run(fn: Any, fn_name: str, label: str, *args: Any, forbidden: Sequence[str] = (), **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)`` in the kernel with check_function's rules (forbidden calls, NotImplementedError, the
    student's errors), on a copy of torch's random state. Only inside :func:`call` or an observation."""
    with _student_rng():
        return run_student(fn, fn_name, label, *args, forbidden=forbidden, **kwargs)


def _kernel_copy(value: Any) -> Any:
    """What the student's code gets of the grader's argument: a copy (a tensor on the notebook's device)."""
    if isinstance(value, np.ndarray):
        return value.copy()
    if hasattr(value, "detach") and hasattr(value, "clone"):
        return value.clone().to(device())
    return value


def call(fn: Any, fn_name: str, label: str, *args: Any, forbidden: Sequence[str] = (),
         facts: Callable[[Any], Any] | None = None, **kwargs: Any) -> Any:
    """The student's ``fn(*args, **kwargs)``: what comes back crosses as data.

    In the kernel it runs (:func:`_run`) on copies of the grader's arguments; ``facts`` turns its result into
    data there: it validates the result for the student's message (a type the grader could not name), or
    reduces an output too big for a transcript. The grader's replay gets the recorded data instead, after
    its own look for ``forbidden`` names in the student's source.
    """

    def run() -> Any:
        result = _run(fn, fn_name, label, *(_kernel_copy(a) for a in args), forbidden=forbidden,
                      **{k: _kernel_copy(v) for k, v in kwargs.items()})
        return result if facts is None else facts(result)

    return transcript.student_call(label, args, kwargs, run, fn_name=fn_name, forbidden=tuple(forbidden))


# ------------------------------------------------------------------------------ data as it crosses


def fingerprint(values: Any) -> str:
    """A digest of an array's values (0.0 and -0.0 alike): whether two outputs are equal, without sending both."""
    if hasattr(values, "detach"):
        values = values.detach().cpu().numpy()
    arr = np.ascontiguousarray(np.asarray(values, dtype=np.float64) + 0.0)
    return hashlib.blake2b(repr(arr.shape).encode() + arr.tobytes(), digest_size=16).hexdigest()


def numpy_array(value: Any, name: str) -> np.ndarray:
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    try:
        return np.asarray(value)
    except (TypeError, ValueError):
        raise CheckFailure(f"{name}: 配列ではありません / not an array: got {type(value).__name__}") from None


def image_keys(images: np.ndarray) -> list[bytes]:
    """One digest per image (its 3072 bytes), to recognise images wherever they are."""
    flat = np.ascontiguousarray(images).reshape(len(images), -1)
    return [hashlib.blake2b(row.tobytes(), digest_size=16).digest() for row in flat]


def _keys_as_data(keys: list[bytes]) -> np.ndarray:
    """Image digests as a (N, 16) uint8 array: how they cross from the kernel (bytes are not transcript data)."""
    return np.frombuffer(b"".join(keys), dtype=np.uint8).reshape(len(keys), 16).copy()


def scalar(value: Any, name: str, label: str) -> float:
    try:
        return float(value.item() if hasattr(value, "item") else value)
    except (TypeError, ValueError):
        raise CheckFailure(f"{label}: {name} は数 (float) にしてください / {name} must be a number, got "
                           f"{type(value).__name__}") from None


def _plain(value: Any) -> Any:
    """A student's tensors as transcript data: detached, on the CPU, bfloat16 (which NumPy lacks) as float32."""
    torch = _torch()
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu()
        return value.float() if value.dtype == torch.bfloat16 else value
    if isinstance(value, (list, tuple)):
        return type(value)(_plain(v) for v in value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


# ------------------------------------------------------------------------------ split


def _split_facts(x_train: Any, y_train: Any, x_val: Any, y_val: Any) -> dict:
    """The images' dtype and shape, one digest per image when they are images (40,000 images would not fit a
    transcript), and the labels as they are."""
    arrays = {name: numpy_array(v, name) for name, v in
              (("x_train", x_train), ("y_train", y_train), ("x_val", x_val), ("y_val", y_val))}
    facts: dict[str, Any] = {name: arrays[name].reshape(-1) for name in ("y_train", "y_val")}
    for name in ("x_train", "x_val"):
        a = arrays[name]
        images = a.dtype == np.uint8 and a.ndim == 4 and a.shape[1:] == (32, 32, 3)
        facts[name] = {"dtype": str(a.dtype), "shape": tuple(a.shape),
                       "keys": _keys_as_data(image_keys(a)) if images else None}
    return facts


def split_facts(x_train: Any, y_train: Any, x_val: Any, y_val: Any) -> dict:
    """What check_split needs of the notebook's arrays (:func:`_split_facts`), observed."""
    return observe("x_train, y_train, x_val, y_val: image digests and labels",
                   lambda: _split_facts(x_train, y_train, x_val, y_val))


# ------------------------------------------------------------------------------ preprocess


def as_output(out: Any, label: str, n: int) -> np.ndarray:
    """preprocess's output, a float32 tensor (n, 3, 32, 32) of finite values, as float64 NumPy; or the failure."""
    torch = _torch()
    if not isinstance(out, torch.Tensor):
        raise CheckFailure(f"{label}: torch のテンソルを返してください / must return a torch tensor, got "
                           f"{type(out).__name__}")
    if tuple(out.shape) != (n, 3, 32, 32):
        raise CheckFailure(f"{label}: 形が違います / wrong shape: expected ({n}, 3, 32, 32) (N, channels, height, width), "
                           f"got {tuple(out.shape)}")
    if out.dtype != torch.float32:
        raise CheckFailure(f"{label}: float32 にしてください (モデルの重みが float32) / must be float32 (the model's "
                           f"weights are), got {out.dtype}")
    if not bool(torch.isfinite(out).all()):
        raise CheckFailure(f"{label}: NaN または Inf が含まれています / contains NaN or Inf")
    return out.detach().cpu().double().numpy()


def _validated(out: Any, label: str, n: int) -> Any:
    as_output(out, label, n)
    return out.detach().cpu()


def _moments(out: Any, label: str, n: int) -> np.ndarray:
    values = as_output(out, label, n)
    return np.stack([values.sum(axis=(0, 2, 3)), (values ** 2).sum(axis=(0, 2, 3))])


def preprocess_output(fn: Callable, images: np.ndarray, label: str):
    """preprocess(images), as :func:`as_output` accepts it, as a float32 tensor."""
    return call(fn, "preprocess", label, images, facts=partial(_validated, label=label, n=len(images)))


def preprocess_fingerprint(fn: Callable, images: np.ndarray, label: str) -> str:
    """preprocess(images) once more, accepted by :func:`as_output`, as its :func:`fingerprint`."""
    return call(fn, "preprocess", label, images, facts=lambda out: fingerprint(as_output(out, label, len(images))))


def preprocess_moments(fn: Callable, images: np.ndarray, label: str) -> Any:
    """preprocess(images) reduced to its per-channel sums and sums of squares (2, 3), float64: the 5,000 training
    images the statistics are taken over make 60 MB of outputs, too much for a transcript."""
    return call(fn, "preprocess", label, images, facts=partial(_moments, label=label, n=len(images)))


# ------------------------------------------------------------------------------ augmentation


def checked_augment(out: Any, x, label: str):
    """augment's output as a finite float tensor of the input's shape (float32, on the CPU), or the failure."""
    torch = _torch()
    if not isinstance(out, torch.Tensor):
        raise CheckFailure(f"{label}: torch のテンソルを返してください / must return a torch tensor, got "
                           f"{type(out).__name__}")
    if tuple(out.shape) != tuple(x.shape):
        raise CheckFailure(f"{label}: 形を変えないでください / must keep the shape {tuple(x.shape)}, got {tuple(out.shape)}")
    if not out.is_floating_point() or not bool(torch.isfinite(out).all()):
        raise CheckFailure(f"{label}: 有限の浮動小数点数のテンソルを返してください / must return finite floats")
    return out.detach().float().cpu()


def augment_output(fn: Callable, x, label: str):
    """augment(x): the output crosses as data, checked in the kernel (the student's message)."""
    return call(fn, "augment", label, x, facts=partial(checked_augment, x=x, label=label))


def augment_fingerprint(fn: Callable, x, label: str) -> str:
    """augment(x) once more, as the :func:`fingerprint` of its checked output (a second 12 MB output would not fit)."""
    return call(fn, "augment", label, x, facts=lambda out: fingerprint(checked_augment(out, x, label)))


def checked_crop(out: Any, x, label: str):
    """random_crop's output as a float32 tensor on the CPU of the input's shape, or the failure."""
    torch = _torch()
    if not isinstance(out, torch.Tensor) or tuple(out.shape) != tuple(x.shape):
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise CheckFailure(f"{label}: 同じ形 {tuple(x.shape)} のテンソルを返してください / must return a tensor of the "
                           f"same shape {tuple(x.shape)}, got {shape}")
    return out.detach().float().cpu()


def crop_output(fn: Callable, x, padding: int, label: str):
    """random_crop(x, padding=padding): the output crosses as data, checked in the kernel (the student's message)."""
    return call(fn, "random_crop", label, x, padding=padding, facts=partial(checked_crop, x=x, label=label))


# ------------------------------------------------------------------------------ models


def _layers(model: Any, kind: Any) -> list:
    return [m for m in model.modules() if isinstance(m, kind)]


def instantiate(cls: Any, name: str, label: str, held: dict, **kwargs: Any) -> dict:
    """``cls(**kwargs)``, kept in ``held`` (in the kernel) for the later observations; its layer counts cross."""

    def facts(model: Any) -> dict:
        torch = _torch()
        if not isinstance(model, torch.nn.Module):
            raise CheckFailure(f"{label}: nn.Module を継承したクラスにしてください / must be a subclass of nn.Module, got "
                               f"{type(model).__name__}")
        held["model"] = model
        return {"convs": len(_layers(model, torch.nn.Conv2d)), "norms": len(_layers(model, torch.nn.BatchNorm2d))}

    return call(cls, name, label, facts=facts, **kwargs)


def _forward(model: Any, x, label: str):
    torch = _torch()
    with student_errors(label), torch.no_grad(), _student_rng():
        out = model(x)
    if not isinstance(out, torch.Tensor):
        raise CheckFailure(f"{label}: テンソルを返してください / must return a tensor, got {type(out).__name__}")
    return out


def _eval_output(held: dict, x, label: str):
    model = held["model"]
    model.eval()
    return _plain(_forward(model, x, label))


def model_output(held: dict, x, label: str):
    """The held model's output on the grader's ``x`` in eval mode (``label``: the call, as messages name it)."""
    return observe(label, lambda: _eval_output(held, x, label), x)


def parameter_count(held: dict, label: str) -> int:
    """The number of parameters of the held model."""
    return int(observe(f"{label}: number of parameters", lambda: sum(p.numel() for p in held["model"].parameters())))


def _residual_output(held: dict, x, label: str):
    torch = _torch()
    model = held["model"]
    with torch.no_grad():
        for conv in _layers(model, torch.nn.Conv2d):
            if conv.in_channels == conv.out_channels:
                conv.weight.zero_()
    return _eval_output(held, x, label)


def residual_output(held: dict, x, label: str):
    """The held ResNet's output on ``x`` after zeroing its residual blocks' convolutions (eval mode).

    The residual blocks' convolutions are the ones with as many output channels as input channels. With their
    weights 0, each block's branch gives the same values for every image (BatchNorm's shift): x + c passes the input
    on, while a block without the skip connection gives c and the network's output no longer depends on the image.
    """
    return observe(f"{label}, residual convolutions zeroed", lambda: _residual_output(held, x, label), x)


# ------------------------------------------------------------------------------ evaluate and training


def _logits(model: Any, x):
    """The grader's model's scores of ``x`` in eval mode, as float32 on the CPU."""
    torch = _torch()
    model.eval()
    with torch.no_grad():
        return model(x).float().cpu()


def _parameters(model: Any) -> list:
    """Copies of a model's parameters, as data."""
    return [p.detach().cpu().clone() for p in model.parameters()]


class _ForwardLog:
    """Records every forward call of a model: (training mode, batch size, gradients enabled); with a
    ``projection`` (:func:`inputs.fed_projection`), also each image fed in training mode, projected on it."""

    def __init__(self, model: Any, projection: Any = None):
        self.calls: list[tuple[bool, int, bool]] = []
        self.fed: list[Any] = []
        self.projection = projection
        self.handle = model.register_forward_pre_hook(self._record)

    def _record(self, module: Any, args: tuple) -> None:
        torch = _torch()
        x = args[0]
        self.calls.append((module.training, int(x.shape[0]), torch.is_grad_enabled()))
        if self.projection is not None and module.training:
            self.fed.append(_projected(x, self.projection))

    def fed_images(self) -> np.ndarray:
        """(images fed in training mode, FED_DIMS) float64, in the order they were fed."""
        if not self.fed:
            return np.zeros((0, inputs.FED_DIMS))
        return _torch().cat(self.fed).numpy()

    def close(self) -> None:
        self.handle.remove()


def _projected(x: Any, projection: Any):
    """The images of batch ``x`` (N, 3, 32, 32), each flattened and projected; NaN for inputs of another size."""
    torch = _torch()
    flat = x.detach().to("cpu", torch.float64).reshape(len(x), -1)  # float64: half and TF32 inputs compare alike
    if flat.shape[1] != projection.shape[0]:
        return torch.full((len(x), projection.shape[1]), float("nan"), dtype=torch.float64)
    return flat @ projection


class _StaleGradients:
    """Counts updates whose backward started on gradients left over from the update before (no zero_grad).

    After each optimizer step, the first gradient computed for ``param`` must find ``param.grad`` reset
    (None, or zeros after ``zero_grad(set_to_none=False)``); otherwise it is added to the old one.
    """

    def __init__(self, param: Any):
        self.param, self.count, self._after_step = param, 0, False
        self.handle = param.register_hook(self._on_gradient)  # runs before the gradient is added to .grad

    def stepped(self) -> None:
        self._after_step = True

    def _on_gradient(self, grad: Any) -> None:
        if self._after_step:
            self._after_step = False
            old = self.param.grad
            if old is not None and bool(old.detach().abs().sum() > 0):
                self.count += 1

    def close(self) -> None:
        self.handle.remove()


def _probe_scores(held: dict, seed: int, pool):
    dev = device()
    model = inputs.evaluate_model(seed).to(dev)
    held["model"] = model
    return _logits(model, pool.to(dev))


def probe_scores(held: dict, attempt: int, seed: int, pool):
    """The grader's model numbered ``seed`` for the evaluate check (kept in ``held``) and its scores of the pool.

    The model exists only in the kernel (the grader's replay builds none), so its scores are observed there;
    the grader picks the images and labels from them, and computes the expected loss and accuracy itself.
    """
    return observe(f"the grader's model {attempt}: scores of its probe images",
                   partial(_probe_scores, held, seed, pool), pool)


def _evaluate_facts(fn: Callable, label: str, model: Any, x, y) -> dict:
    dev = device()
    model.train()
    before = _parameters(model)
    log = _ForwardLog(model)
    try:
        got = _run(fn, "evaluate", label, model, x.to(dev).clone(), y.to(dev).clone(), batch_size=EVAL_BATCH)
    finally:
        log.close()
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        raise CheckFailure(f"{label}: (loss, accuracy) の 2 つを return してください / must return (loss, accuracy), got "
                           f"{type(got).__name__}")
    return {"loss": scalar(got[0], "loss", label), "accuracy": scalar(got[1], "accuracy", label),
            "before": before, "after": _parameters(model), "forward": log.calls}


def evaluate_facts(fn: Callable, held: dict, x, y) -> dict:
    """The student's evaluate on the held grader's model: its (loss, accuracy), the model's parameters before and
    after, and every forward call (training mode, batch size, gradients enabled)."""
    label = inputs.EVALUATE_LABEL
    return observe(label, lambda: _evaluate_facts(fn, label, held["model"], x, y), x, y)


def history_values(history: Any, label: str, epochs: int, keys: Sequence[str]) -> dict:
    """train_model's history as {key: float64 array of one value per epoch}, or the failure."""
    if not isinstance(history, dict):
        raise CheckFailure(f"{label}: 学習の記録 (dict) を return してください / must return the history (a dict), got "
                           f"{type(history).__name__}")
    missing = [k for k in keys if k not in history]
    if missing:
        raise CheckFailure(f"{label}: 記録にキー {missing} がありません / the history has no {missing} (keys: "
                           f"{', '.join(keys)})")
    values = {}
    for k in keys:
        try:
            values[k] = np.array([float(v) for v in history[k]], dtype=np.float64)
        except (TypeError, ValueError):
            raise CheckFailure(f"{label}: history[{k!r}] は数のリストにしてください / history[{k!r}] must be a list of "
                               "numbers") from None
        if values[k].shape != (epochs,):
            raise CheckFailure(f"{label}: history[{k!r}] の長さが違います / history[{k!r}] must have one value per epoch "
                               f"({epochs}), got {values[k].size}")
        if not np.isfinite(values[k]).all():
            raise CheckFailure(f"{label}: history[{k!r}] に NaN または Inf があります / contains NaN or Inf")
    return values


def _training_facts(fn: Callable, hard: bool, problem: tuple) -> dict:
    from torch.optim.optimizer import register_optimizer_step_post_hook

    label, rate, keys = inputs.training_call(hard)
    dev = device()
    x_tr, y_tr, x_va, y_va = (t.to(dev) for t in problem)
    model = inputs.grader_model(inputs.TRAIN_SEED, classes=4, batchnorm=hard).to(dev)
    val_before = _logits(model, x_va)
    before = _parameters(model)
    epochs, batch_size = TRAIN_CHECK["epochs"], TRAIN_CHECK["batch_size"]
    steps: list[float] = []
    stale = _StaleGradients(list(model.parameters())[-2])  # the last layer's weight: every backward reaches it
    hook = register_optimizer_step_post_hook(
        lambda optimizer, args, kwargs: (steps.append(float(optimizer.param_groups[0]["lr"])), stale.stepped()))
    log = _ForwardLog(model, inputs.fed_projection())
    try:
        history = _run(fn, "train_model", label, model, x_tr.clone(), y_tr.clone(), x_va.clone(), y_va.clone(),
                       epochs=epochs, batch_size=batch_size, **rate)
    finally:
        hook.remove()
        log.close()
        stale.close()
    return {"history": history_values(history, label, epochs, keys), "before": before, "after": _parameters(model),
            "buffers": [b.detach().cpu().clone() for b in model.buffers()],  # BatchNorm's statistics (05_h)
            "steps": steps, "stale": stale.count, "forward": log.calls, "fed": log.fed_images(), "val_before": val_before,
            "val_after": _logits(model, x_va)}


def training_facts(fn: Callable, hard: bool, problem: tuple) -> dict:
    """The grader's model trained by the student's train_model on the toy ``problem``, and what was seen: the
    history (checked, as numbers), the parameters before and after, the learning rate of every optimizer step,
    how many backward passes found old gradients, every forward call (training mode, batch size, gradients
    enabled), every image fed in training mode (projected: :func:`inputs.fed_projection`), and the model's
    validation scores before and after (the grader computes the losses)."""
    return observe(inputs.training_call(hard)[0], lambda: _training_facts(fn, hard, problem), *problem)


# ------------------------------------------------------------------------------ the trained model


def test_outputs(model: Any, preprocess: Callable, x_test: np.ndarray) -> np.ndarray:
    """The model's outputs (N, 10) float32 for test images, 500 at a time through the student's ``preprocess``."""
    torch = _torch()
    if not isinstance(model, torch.nn.Module):
        raise CheckFailure(f"model: 学習したモデル (nn.Module) ではありません / not a trained model: got "
                           f"{type(model).__name__}")
    try:
        dev = next(model.parameters()).device
    except StopIteration:
        raise CheckFailure("model: パラメータがありません / the model has no parameters") from None
    model.eval()
    scores = []
    for start in range(0, len(x_test), TEST_BATCH):
        images = x_test[start:start + TEST_BATCH]
        label = f"preprocess(x_test[{start}:{start + len(images)}])"
        x = _run(preprocess, "preprocess", label, images.copy())
        if not isinstance(x, torch.Tensor):
            raise CheckFailure(f"{label}: torch のテンソルを返してください / must return a torch tensor")
        logits = _forward(model, x.to(dev), f"model({label})")
        if tuple(logits.shape) != (len(images), NUM_CLASSES):
            raise CheckFailure(f"model({label}): 出力の形が違います / wrong output shape: expected ({len(images)}, 10), got "
                               f"{tuple(logits.shape)}")
        scores.append(logits.float().cpu().numpy())
    return np.concatenate(scores) if scores else np.zeros((0, NUM_CLASSES), dtype=np.float32)


def predict_test(model: Any, preprocess: Callable, x_test: np.ndarray) -> np.ndarray:
    """The class ``model`` gives each test image, 500 at a time through the student's ``preprocess`` (run here)."""
    return test_outputs(model, preprocess, x_test).argmax(axis=1).astype(np.int64)


def _member_outputs(model: Any, preprocess: Callable, test_images: np.ndarray, x_train: Any) -> dict:
    try:
        train = numpy_array(x_train, "x_train")
        rows = inputs.member_train_rows(len(train))
        return {"test": test_outputs(model, preprocess, test_images),
                "train": test_outputs(model, preprocess, np.ascontiguousarray(train[rows]).astype(np.uint8))}
    except Exception:  # what fails here fails in predicted_classes too, with its message
        return {"test": None, "train": None}


def member_outputs(model: Any, preprocess: Callable, test_images: np.ndarray, x_train: Any) -> Any:
    """The model's scores (logits) of loaded test images and of the notebook's training images
    (:func:`inputs.member_train_rows` of x_train), observed: the grader compares its losses on the two."""
    return observe("model(preprocess(loaded test images, x_train rows)): scores",
                   partial(_member_outputs, model, preprocess, test_images, x_train), test_images)


def _trained_facts(model: Any, preprocess: Callable, x_test: np.ndarray) -> dict:
    predicted = predict_test(model, preprocess, x_test)
    sample = x_test[:TEST_BATCH]
    x = _run(preprocess, "preprocess", f"preprocess(x_test[:{len(sample)}])", sample.copy())
    return {"predicted": predicted, "state": network.state_of(model, x), "scale": network.pixel_scale(sample, x)}


def predicted_classes(model: Any, preprocess: Callable, x_test: np.ndarray) -> Any:
    """:func:`predict_test` on the grader's test images, observed: the kernel sends the predicted classes, and for the
    grader's own run of the network (``autograder.labs.lab05.audit``) its state and preprocess as a scale
    (:mod:`.network`)."""
    return observe("model(preprocess(x_test)).argmax(1): the classes of the grader's test images, the model's state",
                   lambda: _trained_facts(model, preprocess, x_test), x_test)


def _image_digests(images: Any, name: str) -> np.ndarray | None:
    array = numpy_array(images, name)
    if array.ndim == 4 and array.shape[1:] == (32, 32, 3):
        return _keys_as_data(image_keys(array.astype(np.uint8, copy=False)))
    return None


def image_digests(images: Any, name: str) -> Any:
    """One digest per image of the notebook's ``images`` (None when they are not (N, 32, 32, 3) images), observed."""
    return observe(f"{name}: image digests", partial(_image_digests, images, name))


def _train_seconds(train_seconds: Any) -> tuple[float, str]:
    return scalar(train_seconds, "train_seconds", "train_seconds"), device()


def train_seconds(seconds: Any) -> tuple:
    """The notebook's training time as a number, and the device it trained on, observed."""
    return observe("train_seconds, device", partial(_train_seconds, seconds))

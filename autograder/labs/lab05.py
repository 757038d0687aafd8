"""Hidden checks for lab 05, "CIFAR-10 with a CNN in PyTorch" (seed 004), normal (05_n) and hard (05_h).

Each ``check_*`` takes the student's function, class, trained model or arrays and nothing else.
Function checks run the student's code on inputs the grader makes (probe images whose pixels say
where they came from, toy training problems) and compare with the grader's own computation. The
model checks load CIFAR-10 themselves (:func:`autograder.datasets.cifar10.load`, from the data
directory the grader provides): :func:`check_split` compares the notebook's training and validation
images with the grader's files (80/20 of the training batches, no test image), and
:func:`check_test_accuracy` runs the student's trained model, through the student's own test-time
``preprocess``, on the grader's test images. The accuracy and training time the notebook prints are
never trusted.

Thresholds depend on the data profile (:func:`autograder.datasets.cifar10.profile`: the real
CIFAR-10 or the offline stand-in) and the notebook; they are all in :data:`THRESHOLDS`. Student code
runs under :func:`torch.random.fork_rng`, so a hidden check does not change the random numbers the
notebook draws afterwards: the graded run trains exactly as the student's own run did.

Every check is judged (:func:`autograder.transcript.judged`): the student's code, and the grader's
models it works on, run in the kernel only inside :func:`_call` and :func:`observe` thunks, which
return data (outputs on the grader's probes, layer counts, a training history, predictions on the
test images); the probes, the references, the comparisons and the verdict are the grader's, which
replays each check on that data. Probes are drawn with :func:`autograder.checks.case_rng` (the
course's salt mixed in while grading).
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np

from autograder import transcript
from autograder.checks import (
    Case,
    CheckFailure,
    case_rng,
    check_function,
    report_metric,
    run_student,
    student_errors,
)
from autograder.datasets import REAL, STANDIN, cifar10
from autograder.transcript import judged, observe

# ----------------------------------------------------------------- constants (stated once)

NORMAL, HARD = "05_n", "05_h"
DATASETS = ("cifar10",)  # what these checks load (the grader reports its profile)
NUM_CLASSES = 10
VAL_FRACTION = 0.2  # seed 004: 40,000 train / 10,000 validation of the 50,000 training images


@dataclass(frozen=True)
class Bar:
    """What a trained model must reach on the grader's test images, and within what training time."""

    min_accuracy: float
    max_train_seconds: float


# (data profile, notebook) -> Bar. The reference solutions' figures are beside each.
THRESHOLDS = {
    # Real CIFAR-10, graded on a GPU runner (the notebooks train on "cuda"). Not measured yet: no
    # machine used so far had both a GPU and the real data. Expected from published figures for the
    # same recipes: the normal CNN (3 conv layers 32-64-128, FC 256, Adam 1e-3, 20 epochs of
    # batch 64, flips + blur) about 0.75-0.80 in under a minute (TensorFlow's smaller CNN: about 0.70
    # in 10 epochs); the hard ResNet-9 (width 64, BatchNorm, one-cycle SGD, crop + flip, label
    # smoothing, 16 epochs) about 0.92-0.93 in 1-2 minutes (the DAWNBench ResNet-9 reaches 0.94 in
    # 24 epochs). Confirm with `autograder calibrate lab05` on the GPU runner with the real data.
    (REAL, NORMAL): Bar(min_accuracy=0.70, max_train_seconds=300.0),
    (REAL, HARD): Bar(min_accuracy=0.85, max_train_seconds=600.0),
    # The offline stand-in (autograder.datasets.cifar10.write_standin, seed 0: 512 train / 128
    # validation / 1000 test), graded on CPU with one thread per kernel (the notebooks train on
    # "cpu"; the hard one with width 12). Reference: normal 0.955 in about 14 s, hard 0.998 in about
    # 20 s (torch seeds 0-4: normal 0.93-0.96, hard 0.99-1.00); graded by `autograder grade` with two
    # kernels on a 2-core machine: normal 0.959 in 47 s, hard 0.992 in 45-52 s. A linear model on the
    # pixels gets about 0.25, the lab-04 MLP trained the notebook's way 0.35, the majority class 0.10;
    # the normal CNN without training 0.10.
    (STANDIN, NORMAL): Bar(min_accuracy=0.60, max_train_seconds=240.0),
    (STANDIN, HARD): Bar(min_accuracy=0.80, max_train_seconds=300.0),
}

# preprocess: the output over the grader's training images must have per-channel mean 0 and
# standard deviation 1 within these (the reference: |mean| < 0.01, |std - 1| < 0.01 on either profile).
NORM_MEAN_TOL = 0.1
NORM_STD_TOL = 0.1
PREPROCESS_CALLS = 8  # preprocess must return the same result on each of this many calls on the same images
AFFINE_TOL = 1e-4  # largest residual of the per-channel affine fit, relative to the output's scale

# augment (normal): the notebook's probabilities are 0.5 (horizontal flip), 0.1 (vertical flip) and
# 0.1 (blur); over PROBE_COUNT images the observed fractions must fall in these ranges (each about
# 10 standard deviations wide).
PROBE_COUNT = 1000
HFLIP_RANGE = (0.35, 0.65)
VFLIP_RANGE = (0.03, 0.25)
BLUR_RANGE = (0.03, 0.25)
BLUR_AMPLITUDE = 0.7  # a blurred probe keeps less than this fraction of its checkerboard's amplitude

# random_crop / augment (hard)
CROP_PADDING = 4
CROP_PROBES = 200

# The normal notebook's network, as its table states it: conv 3-32, 32-64, 64-128, FC 2048-256, 256-10.
NET_PARAMETERS = 620_362
RESNET_CHECK_WIDTH = 16

# evaluate: the loss on the grader's model (float32; mixed precision on a GPU may differ a little)
EVAL_LOSS_RTOL = 2e-2
EVAL_LOGIT_SCALE = 30.0  # the grader's model's last layer, scaled: confident scores, per-image losses far apart
EVAL_MARGIN = 1.0  # an image is labelled with its predicted class only when the runner-up scores this much lower
EVAL_POOL = 500  # random images the evaluate check picks its 250 from
EVAL_ATTEMPTS = 12  # models and pools drawn until one classifies 192 of its pool clearly (each does with p ~ 0.7)
# train_model on the grader's toy problem (320 images, 4 colour classes, 3 epochs): the grader's own
# validation accuracy of the trained model must reach this (reference: 1.00; untrained: about 0.25).
TRAIN_CHECK_ACCURACY = 0.8
TRAIN_CHECK = {"n": 320, "n_val": 80, "epochs": 3, "batch_size": 32}

FORBIDDEN_CONFUSION = ("sklearn.metrics.confusion_matrix",)


# ------------------------------------------------------------------------------ helpers


def _torch():
    import torch  # imported lazily: the data checks need only NumPy

    return torch


def _device() -> str:
    """Where the notebook computes ("cuda" if torch sees a GPU, as the notebook's `device`)."""
    return "cuda" if _torch().cuda.is_available() else "cpu"


_CALLS = [0]  # student calls so far in this kernel: each one gets its own seed


@contextmanager
def _student_rng():
    """Run student code on a copy of torch's random state: the notebook's later draws stay as without the check.

    Inside, torch is seeded by the number of calls so far: every call draws other random numbers, and a
    graded notebook draws the same ones on every run.
    """
    torch = _torch()
    devices = list(range(torch.cuda.device_count())) if torch.cuda.is_available() else []
    _CALLS[0] += 1
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(500 + _CALLS[0])
        yield


def _run(fn: Any, fn_name: str, label: str, *args: Any, forbidden: Sequence[str] = (), **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)`` in the kernel with check_function's rules: forbidden calls, NotImplementedError, the
    student's errors; on a copy of torch's random state (:func:`_student_rng`). Only inside a thunk or :func:`_call`."""
    with _student_rng():
        return run_student(fn, fn_name, label, *args, forbidden=forbidden, **kwargs)


def _kernel_copy(value: Any) -> Any:
    """What the student's code gets of the grader's argument: a copy (a tensor on the notebook's device)."""
    if isinstance(value, np.ndarray):
        return value.copy()
    if hasattr(value, "detach") and hasattr(value, "clone"):
        return value.clone().to(_device())
    return value


def _call(fn: Any, fn_name: str, label: str, *args: Any, forbidden: Sequence[str] = (),
          facts: Callable[[Any], Any] | None = None, **kwargs: Any) -> Any:
    """The student's ``fn(*args, **kwargs)`` as a judged check makes it: what comes back crosses as data.

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


def _seed(seed: int) -> int:
    """The torch seed of the grader's random inputs numbered ``seed``: the course's salt mixed in while grading."""
    return int(case_rng(seed).integers(2**63))


def _generator(seed: int):
    """A torch generator of the grader's random inputs (see :func:`_seed`)."""
    return _torch().Generator().manual_seed(_seed(seed))


def _fingerprint(values: Any) -> str:
    """A digest of an array's values (0.0 and -0.0 alike): whether two outputs are equal, without sending both."""
    if hasattr(values, "detach"):
        values = values.detach().cpu().numpy()
    arr = np.ascontiguousarray(np.asarray(values, dtype=np.float64) + 0.0)
    return hashlib.blake2b(repr(arr.shape).encode() + arr.tobytes(), digest_size=16).hexdigest()


def _numpy(value: Any, name: str) -> np.ndarray:
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    try:
        return np.asarray(value)
    except (TypeError, ValueError):
        raise CheckFailure(f"{name}: 配列ではありません / not an array: got {type(value).__name__}") from None


def _image_keys(images: np.ndarray) -> list[bytes]:
    """One digest per image (its 3072 bytes), to recognise images wherever they are."""
    flat = np.ascontiguousarray(images).reshape(len(images), -1)
    return [hashlib.blake2b(row.tobytes(), digest_size=16).digest() for row in flat]


def _keys_as_data(keys: list[bytes]) -> np.ndarray:
    """Image digests as a (N, 16) uint8 array: how they cross from the kernel (bytes are not transcript data)."""
    return np.frombuffer(b"".join(keys), dtype=np.uint8).reshape(len(keys), 16).copy()


def _keys_from_data(value: Any, name: str) -> list[bytes]:
    """The digests :func:`_keys_as_data` sent."""
    arr = np.asarray(value)
    if arr.dtype != np.uint8 or arr.ndim != 2 or arr.shape[1] != 16:
        raise CheckFailure(f"{name}: 記録が壊れています / malformed record of the images")
    return [row.tobytes() for row in arr]


@dataclass
class GraderData:
    profile: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    train_keys: Counter
    train_labels: dict
    test_only: set  # test images that are not also (byte for byte) a training image


_CACHE: dict[tuple, GraderData] = {}


def grader_data() -> GraderData:
    """CIFAR-10 as the grader reads it from the data directory (loaded once per kernel)."""
    batches = cifar10.folder()
    try:
        stamp = tuple((p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in sorted(batches.iterdir()))
    except OSError:
        stamp = ()
    key = (str(batches), stamp)
    if key not in _CACHE:
        try:
            profile = cifar10.profile()
            x_train, y_train, x_test, y_test = cifar10.load()
        except (OSError, ValueError) as exc:
            raise CheckFailure(f"採点用の CIFAR-10 を読めません (採点する側の問題です) / the grader cannot read its "
                               f"CIFAR-10 (a problem on the grader's side): {exc}") from exc
        keys = _image_keys(x_train)
        labels: dict[bytes, set] = {}
        for k, y in zip(keys, y_train.tolist(), strict=True):
            labels.setdefault(k, set()).add(y)
        _CACHE.clear()
        _CACHE[key] = GraderData(profile, x_train, y_train, x_test, y_test, Counter(keys), labels,
                                 set(_image_keys(x_test)) - set(keys))
    return _CACHE[key]


def expected_split_sizes(n: int, val_fraction: float = VAL_FRACTION) -> tuple[int, int]:
    """(train, validation) sizes of the 80/20 split of ``n`` training images: 40,000 / 10,000 for CIFAR-10."""
    n_val = round(n * val_fraction)
    return n - n_val, n_val


# ------------------------------------------------------------------------ split


def _split_cases() -> list[Case]:
    rng = case_rng(501)

    def images(n):
        return rng.integers(0, 256, size=(n, 32, 32, 3), dtype=np.uint8)

    return [
        Case((images(50), rng.integers(0, 10, 50)), note="50 images, default val_fraction 0.2: 40 / 10"),
        Case((images(640), rng.integers(0, 10, 640)), {"val_fraction": 0.2, "seed": 1}, note="640 images: 512 / 128"),
        Case((images(37), rng.integers(0, 10, 37)), {"val_fraction": 0.3, "seed": 7},
             note="37 images, val_fraction 0.3: 11 (or 12) for validation"),
        Case((images(20), np.arange(20) % 10), {"val_fraction": 0.5}, note="val_fraction 0.5: 10 / 10"),
    ]


@judged
def check_split_train_val(fn: Callable) -> None:
    """split_train_val(x, y, val_fraction=0.2, seed=0): a partition of the images, labels kept with them."""
    name = "split_train_val"
    for case in _split_cases():
        x, y = case.args
        label = case.describe(name)
        got = _call(fn, name, label, x, y, **case.kwargs)  # the four arrays cross as data
        if not isinstance(got, (tuple, list)) or len(got) != 4:
            raise CheckFailure(f"{label}: 4 つの値 (x_train, y_train, x_val, y_val) を return してください / must return "
                               f"4 values (x_train, y_train, x_val, y_val), got {type(got).__name__}")
        x_tr, y_tr, x_va, y_va = (_numpy(v, n) for v, n in zip(got, ("x_train", "y_train", "x_val", "y_val"),
                                                                   strict=True))
        fraction = case.kwargs.get("val_fraction", VAL_FRACTION)
        if x_tr.shape[1:] != x.shape[1:] or x_va.shape[1:] != x.shape[1:] or x_tr.dtype != x.dtype:
            raise CheckFailure(f"{label}: 画像の形や型を変えないでください / keep the images as they are: got x_train "
                               f"{x_tr.dtype} {x_tr.shape}, x_val {x_va.shape}, expected {x.dtype} (N, 32, 32, 3)")
        if len(y_tr) != len(x_tr) or len(y_va) != len(x_va):
            raise CheckFailure(f"{label}: 画像とラベルの数が合いません / images and labels differ in number: "
                               f"x_train {len(x_tr)}, y_train {len(y_tr)}, x_val {len(x_va)}, y_val {len(y_va)}")
        if abs(len(x_va) - len(x) * fraction) >= 1 or len(x_tr) + len(x_va) != len(x):
            raise CheckFailure(
                f"{label}: 分け方の数が違います / wrong sizes: got {len(x_tr)} train / {len(x_va)} validation, expected "
                f"{len(x) - round(len(x) * fraction)} / {round(len(x) * fraction)} (validation = "
                f"round({len(x)} * {fraction}), the rest for training)"
            )
        keys = _image_keys(x)
        original = {k: int(v) for k, v in zip(keys, y.tolist(), strict=True)}
        got_keys = _image_keys(x_tr) + _image_keys(x_va)
        if Counter(got_keys) != Counter(keys):
            raise CheckFailure(f"{label}: 学習用と検証用を合わせると元の画像にならない (重複や欠け) / train + validation "
                               "is not the input's images, each exactly once (duplicated or missing images)")
        labels = np.concatenate([y_tr.reshape(-1), y_va.reshape(-1)])
        if any(original[k] != int(lab) for k, lab in zip(got_keys, labels, strict=True)):
            raise CheckFailure(f"{label}: ラベルが画像と対応していません (x と y を同じ順番で並べ替えてください) / labels no "
                               "longer belong to their images: shuffle x and y with the same permutation")
        again = _call(fn, name, label, x, y, **case.kwargs)
        if not all(np.array_equal(_numpy(a, "x"), _numpy(b, "x")) for a, b in zip(got, again, strict=True)):
            raise CheckFailure(f"{label}: 同じ seed で呼ぶたびに分け方が変わります (np.random.default_rng(seed) を使う) / "
                               "the split changes from call to call with the same seed: use np.random.default_rng(seed)")


def _split_facts(x_train: Any, y_train: Any, x_val: Any, y_val: Any) -> dict:
    """In the kernel: what check_split needs of the notebook's arrays (40,000 images would not fit a transcript).

    The images' dtype and shape, and one digest per image when they are images (:func:`_image_keys`); the
    labels as they are.
    """
    arrays = {name: _numpy(v, name) for name, v in
              (("x_train", x_train), ("y_train", y_train), ("x_val", x_val), ("y_val", y_val))}
    facts: dict[str, Any] = {name: arrays[name].reshape(-1) for name in ("y_train", "y_val")}
    for name in ("x_train", "x_val"):
        a = arrays[name]
        images = a.dtype == np.uint8 and a.ndim == 4 and a.shape[1:] == (32, 32, 3)
        facts[name] = {"dtype": str(a.dtype), "shape": tuple(a.shape),
                       "keys": _keys_as_data(_image_keys(a)) if images else None}
    return facts


@judged
def check_split(x_train: Any, y_train: Any, x_val: Any, y_val: Any) -> None:
    """The notebook's training and validation images: 80/20 of the grader's training files, no test image."""
    data = grader_data()
    facts = observe("x_train, y_train, x_val, y_val: image digests and labels",
                    lambda: _split_facts(x_train, y_train, x_val, y_val))
    for name in ("x_train", "x_val"):
        dtype, shape = facts[name]["dtype"], tuple(facts[name]["shape"])
        if dtype != "uint8" or len(shape) != 4 or shape[1:] != (32, 32, 3):
            raise CheckFailure(f"{name}: 読み込んだままの画像 (uint8, 形 (N, 32, 32, 3)) にしてください / keep the images "
                               f"as loaded (uint8, shape (N, 32, 32, 3)), got {dtype} {shape}")
    keys = {name: _keys_from_data(facts[name]["keys"], name) for name in ("x_train", "x_val")}
    test_hits = {}
    for name in ("x_train", "x_val"):
        test_hits[name] = sum(k in data.test_only for k in keys[name])
        foreign = sum(k not in data.train_keys and k not in data.test_only for k in keys[name])
        if test_hits[name]:
            raise CheckFailure(
                f"{name} にテスト用の画像 (test_batch) が {test_hits[name]} 枚含まれています。テスト用の画像は最後の評価にだけ"
                "使い、学習にも検証にも使わないでください (検証用は学習用ファイル data_batch_1〜5 から分けます) / "
                f"{name} contains {test_hits[name]} test images (test_batch): the test images are only for the final "
                "evaluation, never for training or validation (split the validation images off the training files)"
            )
        if foreign:
            raise CheckFailure(f"{name}: 学習用ファイルにない画像が {foreign} 枚あります (画像を変更した？) / {foreign} "
                               "images are not images of the training files (were they changed?)")
    want_train, want_val = expected_split_sizes(len(data.x_train))
    got_train, got_val = len(keys["x_train"]), len(keys["x_val"])
    if (got_train, got_val) != (want_train, want_val):
        raise CheckFailure(f"学習用 / 検証用の枚数が違います / wrong split sizes: got {got_train} / {got_val}, expected "
                           f"{want_train} / {want_val} (80 % / 20 % of the {len(data.x_train)} training images)")
    all_keys = keys["x_train"] + keys["x_val"]
    if Counter(all_keys) != data.train_keys:
        raise CheckFailure("学習用と検証用に同じ画像があります (重複) / the same image is in both the training and the "
                           "validation set (or twice in one): the two must not overlap")
    labels = np.concatenate([np.asarray(facts["y_train"]).reshape(-1), np.asarray(facts["y_val"]).reshape(-1)])
    if len(labels) != len(all_keys) or any(int(y) not in data.train_labels[k]
                                           for k, y in zip(all_keys, labels, strict=True)):
        raise CheckFailure("ラベルが画像と対応していません / labels do not belong to their images (y_train, y_val must be "
                           "reordered together with x_train, x_val)")


# ------------------------------------------------------------------ preprocess


def _as_output(out: Any, label: str, n: int):
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


def _affine_residual(out: np.ndarray, images: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """Fit out[:, c] = a_c * images[..., c] + b_c; (largest residual relative to the scale, a, b)."""
    worst, slopes, offsets = 0.0, np.zeros(3), np.zeros(3)
    for c in range(3):
        x = images[..., c].reshape(-1).astype(np.float64)
        y = out[:, c].reshape(-1)
        design = np.stack([x, np.ones_like(x)], axis=1)
        (a, b), *_ = np.linalg.lstsq(design, y, rcond=None)
        scale = max(abs(a) * 255.0, 1e-12)
        worst = max(worst, float(np.max(np.abs(design @ (a, b) - y))) / scale)
        slopes[c], offsets[c] = a, b
    return worst, slopes, offsets


def _layout_hint(out: np.ndarray, images: np.ndarray) -> str:
    """Which rearrangement of the input the output is, when it is one (flipped, channels swapped, reshaped)."""
    candidates = {
        "左右が反転しています (テスト時に RandomHorizontalFlip？) / the images are flipped left-right (a random flip at "
        "test time?)": images[:, :, ::-1],
        "上下が反転しています / the images are flipped upside down": images[:, ::-1],
        "チャンネルの順番が RGB ではありません / the channels are not in R, G, B order": images[..., ::-1],
        "permute(0, 3, 1, 2) ではなく reshape で (N, 3, 32, 32) にしています: 画素が混ざります / the images were reshaped "
        "to (N, 3, 32, 32) instead of permuted with permute(0, 3, 1, 2): pixels are scrambled":
            images.reshape(len(images), 3, 32, 32).transpose(0, 2, 3, 1),
    }
    for hint, arranged in candidates.items():
        if _affine_residual(out, arranged)[0] <= AFFINE_TOL:
            return hint
    return ""


def _validated(label: str, n: int) -> Callable[[Any], Any]:
    """In the kernel: preprocess's output, checked as :func:`_as_output` checks it (the student's message names
    what the kernel got), as a float32 tensor; the grader checks it again."""

    def facts(out: Any) -> Any:
        _as_output(out, label, n)
        return out.detach().cpu()

    return facts


def _moments(label: str, n: int) -> Callable[[Any], Any]:
    """In the kernel: preprocess's output reduced to its per-channel sums and sums of squares (2, 3), float64.

    The 5,000 training images the statistics are taken over make 60 MB of outputs: too much for a transcript.
    """

    def facts(out: Any) -> np.ndarray:
        values = _as_output(out, label, n)
        return np.stack([values.sum(axis=(0, 2, 3)), (values ** 2).sum(axis=(0, 2, 3))])

    return facts


def _same_as(label: str, n: int) -> Callable[[Any], Any]:
    """In the kernel: preprocess's output, checked, as its :func:`_fingerprint` (compared by the grader)."""

    def facts(out: Any) -> str:
        return _fingerprint(_as_output(out, label, n))

    return facts


@judged
def check_preprocess(fn: Callable) -> None:
    """preprocess(images) -> float32 (N, 3, 32, 32): per channel (x / 255 - MEAN) / STD, the same on every call."""
    name = "preprocess"
    data = grader_data()
    probe = data.x_train[:200].copy()
    label = f"{name}(images uint8 {probe.shape})"
    out1 = _as_output(_call(fn, name, label, probe, facts=_validated(label, len(probe))), label, len(probe))
    first = _fingerprint(out1)
    # A random transform drawn once per call (a torchvision flip on the whole batch) leaves some calls
    # unchanged: with PREPROCESS_CALLS calls, a flip with p = 0.5 shows in all but 1 of 2 ** PREPROCESS_CALLS runs.
    if any(_call(fn, name, label, probe, facts=_same_as(label, len(probe))) != first
           for _ in range(PREPROCESS_CALLS - 1)):
        raise CheckFailure(
            f"{label}: 同じ画像なのに呼ぶたびに結果が変わります。テスト時の前処理にランダムなデータ拡張 (反転やぼかし) を"
            "入れないでください: データ拡張は学習のときだけ (augment) です / the same images give different results on "
            "every call: no random augmentation (flips, blur) at test time; augmentation is for training only (augment)"
        )
    residual, _, _ = _affine_residual(out1, probe)
    if residual > AFFINE_TOL:
        hint = _layout_hint(out1, probe)
        raise CheckFailure(
            f"{label}: 出力の各値は、同じ位置・同じチャンネルの画素だけから (x / 255 - MEAN) / STD で計算してください / each "
            "output value must be (x / 255 - MEAN) / STD of the pixel at the same place and channel (no flip, blur, "
            f"crop or resizing at test time)\n  {hint or f'largest deviation from that: {residual:.3g} (of the range)'}"
        )
    sums = np.zeros(3)
    squares = np.zeros(3)
    count = 0
    subset = data.x_train[:5000]
    for start in range(0, len(subset), 1000):
        chunk = subset[start:start + 1000]
        moments = np.asarray(_call(fn, name, label, chunk, facts=_moments(label, len(chunk))), dtype=np.float64)
        sums += moments[0]
        squares += moments[1]
        count += len(chunk) * 32 * 32
    mean = sums / count
    std = np.sqrt(np.maximum(squares / count - mean ** 2, 0.0))
    if np.any(np.abs(mean) > NORM_MEAN_TOL) or np.any(np.abs(std - 1) > NORM_STD_TOL):
        raise CheckFailure(
            f"{name}: 学習用画像の前処理後の値が、チャンネルごとに平均 0・標準偏差 1 になっていません / after preprocess, the "
            "training images do not have mean 0 and standard deviation 1 per channel\n"
            f"  平均 mean (R, G, B): {np.array2string(mean, precision=3)}  (0 ± {NORM_MEAN_TOL} が必要 / required)\n"
            f"  標準偏差 std (R, G, B): {np.array2string(std, precision=3)}  (1 ± {NORM_STD_TOL} が必要 / required)\n"
            "  ヒント: MEAN, STD は学習用画像を 255 で割った値 (0〜1) で計算し、x / 255 に使います / hint: compute MEAN and STD "
            "on the training images divided by 255 (values 0-1), and apply them to x / 255"
        )


# ------------------------------------------------------------------ augmentation (normal)


def _probe_batch(n: int, seed: int):
    """Probe images (n, 3, 32, 32): channel 0 rises left to right, channel 1 top to bottom, channel 2 a checkerboard."""
    torch = _torch()
    ramp = torch.linspace(-1.0, 1.0, 32)
    rows, cols = torch.meshgrid(ramp, ramp, indexing="ij")
    checker = ((torch.arange(32)[:, None] + torch.arange(32)[None, :]) % 2).float() * 2 - 1
    scale = 0.5 + torch.rand(n, 1, 1, generator=_generator(seed))  # a different amplitude per image
    x = torch.stack([cols.expand(n, 32, 32) * scale, rows.expand(n, 32, 32) * scale,
                     checker.expand(n, 32, 32) * scale], dim=1)
    return x.contiguous(), (rows, cols, checker)


def _checked_augment(out: Any, x, label: str):
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


def _augment_output(fn: Callable, name: str, x, label: str):
    """augment(x): the output crosses as data, checked in the kernel (the student's message) and by the grader."""
    out = _call(fn, name, label, x, facts=lambda out: _checked_augment(out, x, label))
    return _checked_augment(out, x, label)


def _augment_fingerprint(fn: Callable, name: str, x, label: str) -> str:
    """augment(x) once more, as the :func:`_fingerprint` of its checked output (a second 12 MB output would not fit)."""
    return _call(fn, name, label, x, facts=lambda out: _fingerprint(_checked_augment(out, x, label)))


def _flip_state(out, grids) -> tuple:
    """Per image: flipped left-right, flipped upside down, fraction of the checkerboard's amplitude kept."""
    rows, cols, checker = grids
    h = (out[:, 0] * cols).mean(dim=(1, 2))
    v = (out[:, 1] * rows).mean(dim=(1, 2))
    c = (out[:, 2] * checker).mean(dim=(1, 2)).abs()
    return h < 0, v < 0, c


@judged
def check_augment(fn: Callable) -> None:
    """augment(x): each image on its own: left-right flip p=0.5, upside-down flip p=0.1, Gaussian blur p=0.1."""
    torch = _torch()
    name = "augment"
    x, grids = _probe_batch(PROBE_COUNT, seed=502)
    label = f"{name}(x float32 ({PROBE_COUNT}, 3, 32, 32))"
    out = _augment_output(fn, name, x, label)
    hflip, vflip, kept = _flip_state(out, grids)
    _, _, kept_in = _flip_state(x, grids)
    blurred = kept / kept_in < BLUR_AMPLITUDE
    # images neither blurred nor anything else must be exact flips of their input
    for i in torch.nonzero(~blurred).flatten().tolist():
        want = x[i]
        if hflip[i]:
            want = want.flip(-1)
        if vflip[i]:
            want = want.flip(-2)
        if not torch.allclose(out[i], want, rtol=1e-5, atol=1e-5):
            raise CheckFailure(
                f"{label}: 画像 {i} が反転・ぼかし以外の変換をされています (明るさや位置の変更？) / image {i} was changed by "
                "something other than a flip or a blur (brightness? a shift?): augment does exactly the three "
                "augmentations of the exercise"
            )
    fractions = {"hflip": float(hflip.float().mean()), "vflip": float(vflip.float().mean()),
                 "blur": float(blurred.float().mean())}
    whole_batch = [k for k, f in fractions.items() if f in (0.0, 1.0)]
    small = [_augment_output(fn, name, x[:64], f"{name}(x[:64])") for _ in range(4)]
    if whole_batch:
        per_call = {k: set() for k in whole_batch}
        for o in small:
            h, v, c = _flip_state(o, grids)
            state = {"hflip": h, "vflip": v, "blur": c / kept_in[:64] < BLUR_AMPLITUDE}
            for k in whole_batch:
                per_call[k].add(float(state[k].float().mean()))
        together = [k for k in whole_batch if per_call[k] | {fractions[k]} == {0.0, 1.0}]
        if together:
            raise CheckFailure(
                f"{label}: {', '.join(together)} がバッチの全部の画像にまとめてかかっています (またはまったくかかりません)。"
                "画像ごとに別々に乱数で決めてください (torch.rand(N, 1, 1, 1) < p と torch.where) / "
                f"{', '.join(together)} is applied to all images of the batch at once (or to none): decide for each "
                "image on its own (torch.rand(N, 1, 1, 1) < p with torch.where); a torchvision transform called on a "
                "whole batch draws one random decision for the batch"
            )
    ranges = {"hflip": HFLIP_RANGE, "vflip": VFLIP_RANGE, "blur": BLUR_RANGE}
    probability = {"hflip": 0.5, "vflip": 0.1, "blur": 0.1}
    what = {"hflip": "左右反転 / horizontal flip", "vflip": "上下反転 / vertical flip", "blur": "ぼかし / blur"}
    for key, (low, high) in ranges.items():
        if not low <= fractions[key] <= high:
            raise CheckFailure(
                f"{label}: {what[key]} がかかった画像の割合 {fractions[key]:.3f} が確率 {probability[key]} と合いません "
                f"({low}〜{high} が必要) / the fraction of images with {key} is {fractions[key]:.3f}, not about "
                f"p = {probability[key]} (required {low}-{high})"
            )
    if _augment_fingerprint(fn, name, x, label) == _fingerprint(out):
        raise CheckFailure(f"{label}: 呼ぶたびに違う乱数を使ってください / must draw new random decisions on every call")


# ------------------------------------------------------------------ augmentation (hard)


def _coordinate_probe(n: int, seed: int):
    """Probe images (n, 3, 32, 32): channel 0 is the column (0..1), channel 1 the row, channel 2 noise."""
    torch = _torch()
    ramp = torch.arange(32, dtype=torch.float32) / 31
    rows, cols = torch.meshgrid(ramp, ramp, indexing="ij")
    noise = torch.randn(n, 32, 32, generator=_generator(seed))
    return torch.stack([cols.expand(n, 32, 32), rows.expand(n, 32, 32), noise], dim=1).contiguous()


def _crop_matches(x, out, padding: int, flips: Sequence[bool]) -> tuple:
    """Per image, the first (flip, mode, dy, dx) whose crop of the padded image equals the output (or None)."""
    torch = _torch()
    n = x.shape[0]
    found = [None] * n
    for flip in flips:
        base = x.flip(-1) if flip else x
        for mode in ("reflect", "constant"):
            padded = torch.nn.functional.pad(base, (padding,) * 4, mode=mode)
            for dy in range(2 * padding + 1):
                for dx in range(2 * padding + 1):
                    crop = padded[:, :, dy:dy + 32, dx:dx + 32]
                    same = ((crop - out).abs().amax(dim=(1, 2, 3)) <= 1e-5).tolist()
                    for i in range(n):
                        if same[i] and found[i] is None:
                            found[i] = (flip, mode, dy - padding, dx - padding)
    return found


def _check_crops(found: list, label: str, padding: int) -> None:
    missing = [i for i, f in enumerate(found) if f is None]
    if missing:
        raise CheckFailure(
            f"{label}: 画像 {missing[0]} (ほか {len(missing) - 1} 枚) が、{padding} 画素ずつ広げた画像から 32x32 を切り抜いた"
            f"ものになっていません / image {missing[0]} (and {len(missing) - 1} more) is not a 32x32 crop of the image "
            f"padded by {padding} pixels on each side (F.pad(x, ({padding},) * 4, mode='reflect'), then a random "
            f"offset 0..{2 * padding} per image)"
        )
    offsets = [(f[2], f[3]) for f in found]
    # a crop at column offset dx, then a left-right flip, is a crop of the flipped image at -dx: one offset for
    # the whole batch shows as (dy, dx) and (dy, -dx) when the images are flipped each on its own
    if len({(dy, abs(dx)) for dy, dx in offsets}) == 1:
        raise CheckFailure(f"{label}: すべての画像が同じ位置で切り抜かれています: 画像ごとに位置を乱数で決めてください / every "
                           "image was cropped at the same offset: draw the offset for each image on its own")
    ys = {o[0] for o in offsets}
    xs = {o[1] for o in offsets}
    if ys != set(range(-padding, padding + 1)) or xs != set(range(-padding, padding + 1)):
        raise CheckFailure(f"{label}: ずらす量は縦横それぞれ 0〜{2 * padding} (元の位置から ±{padding}) のすべてを使ってください "
                           f"/ the offsets must cover 0..{2 * padding} in each direction (±{padding} pixels), got rows "
                           f"{sorted(ys)}, columns {sorted(xs)}")


def _checked_crop(out: Any, x, label: str):
    """random_crop's output as a float32 tensor on the CPU of the input's shape, or the failure."""
    torch = _torch()
    if not isinstance(out, torch.Tensor) or tuple(out.shape) != tuple(x.shape):
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise CheckFailure(f"{label}: 同じ形 {tuple(x.shape)} のテンソルを返してください / must return a tensor of the "
                           f"same shape {tuple(x.shape)}, got {shape}")
    return out.detach().float().cpu()


@judged
def check_random_crop(fn: Callable) -> None:
    """random_crop(x, padding=4): each image padded by `padding` and cropped back to 32x32 at its own random offset."""
    name = "random_crop"
    for padding in (CROP_PADDING, 2):
        x = _coordinate_probe(CROP_PROBES, seed=503 + padding)
        label = f"{name}(x float32 ({CROP_PROBES}, 3, 32, 32), padding={padding})"
        # the output crosses as data, checked in the kernel (the student's message) and again by the grader
        out = _checked_crop(_call(fn, name, label, x, padding=padding, facts=partial(_checked_crop, x=x, label=label)),
                            x, label)
        found = _crop_matches(x, out, padding, flips=(False,))
        if any(f is None for f in found) and all(f is not None for f in _crop_matches(x, out, padding, (False, True))):
            raise CheckFailure(f"{label}: random_crop では反転しないでください (反転は augment で) / random_crop only crops: "
                               "flip in augment")
        _check_crops(found, label, padding)


@judged
def check_augment_hard(fn: Callable) -> None:
    """augment(x) of the hard notebook: random_crop with padding 4, then a left-right flip with p=0.5 per image."""
    name = "augment"
    x = _coordinate_probe(CROP_PROBES, seed=504)
    label = f"{name}(x float32 ({CROP_PROBES}, 3, 32, 32))"
    out = _augment_output(fn, name, x, label)
    found = _crop_matches(x, out, CROP_PADDING, flips=(False, True))
    upside = [i for i, f in enumerate(found) if f is None and bool(out[i, 1, 0, 16] > out[i, 1, 31, 16])]
    if upside:
        raise CheckFailure(f"{label}: 上下反転は使いません (画像 {upside[0]} ほか) / no upside-down flips in the hard "
                           f"notebook (image {upside[0]} and others): CIFAR-10's test images are never upside down")
    _check_crops(found, label, CROP_PADDING)
    flipped = sum(f[0] for f in found) / len(found)
    if not HFLIP_RANGE[0] <= flipped <= HFLIP_RANGE[1]:
        raise CheckFailure(f"{label}: 左右反転の割合 {flipped:.3f} が p = 0.5 と合いません / the fraction of left-right "
                           f"flips is {flipped:.3f}, not about 0.5 (required {HFLIP_RANGE[0]}-{HFLIP_RANGE[1]})")


# ------------------------------------------------------------------------ models


def _instantiate(cls: Any, name: str, label: str, held: dict, **kwargs: Any) -> dict:
    """``cls(**kwargs)`` in the kernel, kept in ``held`` for the check's later observations; its layer counts cross.

    ``held`` stays empty in the grader's replay, whose observations are not run.
    """

    def facts(model: Any) -> dict:
        torch = _torch()
        if not isinstance(model, torch.nn.Module):
            raise CheckFailure(f"{label}: nn.Module を継承したクラスにしてください / must be a subclass of nn.Module, got "
                               f"{type(model).__name__}")
        held["model"] = model
        return {"convs": len(_layers(model, torch.nn.Conv2d)), "norms": len(_layers(model, torch.nn.BatchNorm2d))}

    return _call(cls, name, label, facts=facts, **kwargs)


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


def _forward(model: Any, x, label: str):
    torch = _torch()
    with student_errors(label), torch.no_grad(), _student_rng():
        out = model(x)
    if not isinstance(out, torch.Tensor):
        raise CheckFailure(f"{label}: テンソルを返してください / must return a tensor, got {type(out).__name__}")
    return out


def _eval_output(held: dict, x, label: str):
    """In the kernel: the held model's output on the grader's ``x`` in eval mode, as data."""
    model = held["model"]
    model.eval()
    return _plain(_forward(model, x, label))


def _check_classifier(held: dict, label: str) -> None:
    """(N, 3, 32, 32) -> (N, 10) logits, each image on its own (in eval mode), not probabilities."""
    torch = _torch()
    x = torch.randn(6, 3, 32, 32, generator=_generator(505))
    call = f"{label}(x of shape (6, 3, 32, 32))"
    out = torch.as_tensor(observe(call, lambda: _eval_output(held, x, call), x))
    if tuple(out.shape) != (6, NUM_CLASSES):
        raise CheckFailure(f"{label}(x of shape (6, 3, 32, 32)): 出力の形が違います / wrong output shape: expected (6, 10) "
                           f"(one score per class), got {tuple(out.shape)}")
    if not bool(torch.isfinite(out).all()):
        raise CheckFailure(f"{label}: 出力に NaN または Inf があります / the output contains NaN or Inf")
    if bool((out >= 0).all()) and torch.allclose(out.sum(dim=1), torch.ones(6), atol=1e-4):
        raise CheckFailure(f"{label}: 出力が確率 (softmax の後) になっています。forward は softmax の前の値 (ロジット) を返して"
                           "ください: nn.CrossEntropyLoss が中で softmax を計算します / the output is probabilities (after "
                           "softmax): return the scores before softmax (logits); nn.CrossEntropyLoss applies softmax itself")
    one = x[2:3]
    alone = torch.as_tensor(observe(f"{label}(x[2:3])", lambda: _eval_output(held, one, f"{label}(x[2:3])"), one))
    if not torch.allclose(out[2:3], alone, rtol=1e-4, atol=1e-5):
        raise CheckFailure(f"{label}: 評価モード (model.eval()) で、1 枚の画像の出力がバッチのほかの画像に影響されています / in "
                           "eval mode, one image's output depends on the other images of the batch")


def _parameter_count(model: Any) -> int:
    return sum(p.numel() for p in model.parameters())


def _held_parameter_count(held: dict, label: str) -> int:
    """The number of parameters of the model the kernel holds, observed as data."""
    return int(observe(f"{label}: number of parameters", lambda: _parameter_count(held["model"])))


def _layers(model: Any, kind: Any) -> list:
    return [m for m in model.modules() if isinstance(m, kind)]


@judged
def check_net(cls: Any) -> None:
    """Net(): the normal notebook's CNN: conv 3-32, 32-64, 64-128 (each ReLU, 2x2 max pool), FC 2048-256-10."""
    name = "Net"
    held: dict = {}  # the student's network, in the kernel only
    layers = _instantiate(cls, name, f"{name}()", held)
    convs = int(layers["convs"])
    if convs < 3:
        raise CheckFailure(f"{name}(): 畳み込み層 (nn.Conv2d) が {convs} 個しかありません (3 個必要) / the network has "
                           f"{convs} convolution layers (nn.Conv2d), the exercise asks for 3: a network without "
                           "convolutions cannot learn shapes wherever they are in the image")
    _check_classifier(held, f"{name}()")
    count = _held_parameter_count(held, f"{name}()")
    if count != NET_PARAMETERS:
        raise CheckFailure(f"{name}(): パラメータの数が違います / wrong number of parameters: expected {NET_PARAMETERS:,} "
                           f"(the table of the exercise), got {count:,}")


def reference_resnet9(width: int = 64, num_classes: int = NUM_CLASSES):
    """The hard notebook's ResNet-9, as the grader builds it (for its parameter count)."""
    nn = _torch().nn

    def conv_bn(c_in, c_out):
        return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU())

    class Residual(nn.Module):
        def __init__(self, c):
            super().__init__()
            self.body = nn.Sequential(conv_bn(c, c), conv_bn(c, c))

        def forward(self, x):
            return x + self.body(x)

    w = width
    return nn.Sequential(
        conv_bn(3, w), conv_bn(w, 2 * w), nn.MaxPool2d(2), Residual(2 * w),
        conv_bn(2 * w, 4 * w), nn.MaxPool2d(2), conv_bn(4 * w, 8 * w), nn.MaxPool2d(2), Residual(8 * w),
        nn.AdaptiveMaxPool2d(1), nn.Flatten(), nn.Linear(8 * w, num_classes),
    )


def resnet9_parameters(width: int = 64, num_classes: int = NUM_CLASSES) -> int:
    """The parameter count of :func:`reference_resnet9`, by arithmetic: the grader's replay builds no model."""

    def conv_bn(c_in: int, c_out: int) -> int:
        return 9 * c_in * c_out + 2 * c_out  # 3x3 kernel without bias; BatchNorm's scale and shift

    w = width
    return (conv_bn(3, w) + conv_bn(w, 2 * w) + 2 * conv_bn(2 * w, 2 * w) + conv_bn(2 * w, 4 * w)
            + conv_bn(4 * w, 8 * w) + 2 * conv_bn(8 * w, 8 * w) + 8 * w * num_classes + num_classes)


def _residual_output(held: dict, x, label: str):
    """In the kernel: the held ResNet's output on ``x`` after zeroing its residual blocks' convolutions (eval mode).

    The residual blocks' convolutions are the ones with as many output channels as input channels. With their
    weights 0 (and BatchNorm as initialised), each block's branch gives 0: x + 0 passes the input on, while a
    block without the skip connection gives 0 and the network's output no longer depends on the image.
    """
    torch = _torch()
    model = held["model"]
    with torch.no_grad():
        for conv in _layers(model, torch.nn.Conv2d):
            if conv.in_channels == conv.out_channels:
                conv.weight.zero_()
    return _eval_output(held, x, label)


@judged
def check_resnet9(cls: Any) -> None:
    """ResNet9(width): 8 conv + BatchNorm + ReLU blocks, two residual blocks (x + body(x)), global max pool, linear."""
    torch = _torch()
    name = "ResNet9"
    label = f"{name}(width={RESNET_CHECK_WIDTH})"
    held: dict = {}  # the student's network, in the kernel only
    layers = _instantiate(cls, name, label, held, width=RESNET_CHECK_WIDTH)
    convs, norms = int(layers["convs"]), int(layers["norms"])
    if convs != 8 or norms != 8:
        raise CheckFailure(f"{label}: 畳み込み層と BatchNorm2d を 8 個ずつ使います / the network has 8 convolution layers, "
                           f"each followed by a BatchNorm2d: got {convs} nn.Conv2d and {norms} nn.BatchNorm2d")
    _check_classifier(held, label)
    want = resnet9_parameters(RESNET_CHECK_WIDTH)
    count = _held_parameter_count(held, label)
    if count != want:
        raise CheckFailure(f"{label}: パラメータの数が違います / wrong number of parameters: expected {want:,}, got "
                           f"{count:,} (channels w, 2w, 4w, 8w as in the table; conv layers without bias)")
    x = torch.randn(2, 3, 32, 32, generator=_generator(509))
    call = f"{label}(x of shape (2, 3, 32, 32))"
    out = torch.as_tensor(observe(f"{call}, residual convolutions zeroed", lambda: _residual_output(held, x, call), x))
    if torch.allclose(out[0], out[1], rtol=1e-5, atol=1e-6):
        raise CheckFailure(f"{label}: 残差ブロックが入力を足していません / the residual blocks do not add their input: "
                           "Residual.forward must return x + self.body(x) (the skip connection), not only the body's "
                           "output")


# ------------------------------------------------------------------ evaluate and training


def _grader_model(seed: int, classes: int = NUM_CLASSES, batchnorm: bool = False):
    """The grader's small CNN for the evaluate / train_model checks (seeded weights, Dropout or BatchNorm inside)."""
    torch = _torch()
    nn = torch.nn
    torch.manual_seed(_seed(seed))
    norm = nn.BatchNorm2d(8) if batchnorm else nn.Identity()
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), norm, nn.ReLU(), nn.AdaptiveAvgPool2d(4), nn.Flatten(),
                         nn.Dropout(0.5), nn.Linear(128, classes))


def _scalar(value: Any, name: str, label: str) -> float:
    try:
        return float(value.item() if hasattr(value, "item") else value)
    except (TypeError, ValueError):
        raise CheckFailure(f"{label}: {name} は数 (float) にしてください / {name} must be a number, got "
                           f"{type(value).__name__}") from None


def _logits(model: Any, x):
    """In the kernel: the grader's model's scores of ``x`` in eval mode, as float32 on the CPU."""
    torch = _torch()
    model.eval()
    with torch.no_grad():
        return model(x).float().cpu()


def _loss_and_accuracy(logits: Any, y: Any) -> tuple[float, float]:
    """Mean cross-entropy and accuracy of scores against labels: the grader's own evaluation of its model's scores."""
    torch = _torch()
    logits, y = torch.as_tensor(logits).float(), torch.as_tensor(y)
    loss = torch.nn.functional.cross_entropy(logits, y).item()
    acc = (logits.argmax(dim=1) == y).float().mean().item()
    return loss, acc


def _parameters(model: Any) -> list:
    """In the kernel: copies of a model's parameters, as data."""
    return [p.detach().cpu().clone() for p in model.parameters()]


def _unchanged(before: Sequence, after: Sequence) -> bool:
    """Whether the parameters recorded after a student's call are those recorded before it."""
    torch = _torch()
    return len(before) == len(after) and all(torch.equal(torch.as_tensor(a), torch.as_tensor(b))
                                             for a, b in zip(before, after, strict=True))


class _ForwardLog:
    """Records every forward call of a model: (training mode, batch size, gradients enabled)."""

    def __init__(self, model: Any):
        torch = _torch()
        self.calls: list[tuple[bool, int, bool]] = []
        self.handle = model.register_forward_pre_hook(
            lambda module, args: self.calls.append((module.training, int(args[0].shape[0]), torch.is_grad_enabled())))

    def close(self) -> None:
        self.handle.remove()


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
    """In the kernel: the grader's model for the evaluate check (kept in ``held``) and its scores of the probe pool.

    The model exists only in the kernel (the grader's replay builds none), so its scores are observed there;
    the grader picks the images and labels from them, and computes the expected loss and accuracy itself.
    """
    torch = _torch()
    dev = _device()
    model = _grader_model(seed).to(dev)
    with torch.no_grad():
        model[-1].weight.mul_(EVAL_LOGIT_SCALE)
    held["model"] = model
    return _logits(model, pool.to(dev))


def _evaluate_facts(fn: Callable, name: str, label: str, model: Any, x, y) -> dict:
    """In the kernel: the student's evaluate on the grader's model; its (loss, accuracy), the model's parameters
    before and after, and every forward call (training mode, batch size, gradients enabled)."""
    dev = _device()
    model.train()
    before = _parameters(model)
    log = _ForwardLog(model)
    try:
        got = _run(fn, name, label, model, x.to(dev).clone(), y.to(dev).clone(), batch_size=64)
    finally:
        log.close()
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        raise CheckFailure(f"{label}: (loss, accuracy) の 2 つを return してください / must return (loss, accuracy), got "
                           f"{type(got).__name__}")
    return {"loss": _scalar(got[0], "loss", label), "accuracy": _scalar(got[1], "accuracy", label),
            "before": before, "after": _parameters(model), "forward": log.calls}


@judged
def check_evaluate(fn: Callable) -> None:
    """evaluate(model, x, y, batch_size): mean cross-entropy over all images and accuracy, in eval mode, in mini-batches."""
    torch = _torch()
    name = "evaluate"
    held: dict = {}  # the grader's model, in the kernel only
    # 250 images: first 192 (three batches of 64) that the model clearly classifies, labelled with its class (loss
    # about 0), then 58 labelled with the model's least likely class (loss of several units). The mean over the
    # images and the mean of the 4 batches' means differ by about 7 %; and as no label is one of two nearly tied
    # scores, float16 on a GPU gives every image the same answer. About 3 in 10 random models classify too few
    # of the pool clearly: then the next seed's model and pool (the kernel and the grader take the same turns).
    for attempt in range(EVAL_ATTEMPTS):
        seed = 506 + 1000 * attempt
        pool = torch.randn(EVAL_POOL, 3, 32, 32, generator=_generator(seed))
        scores = torch.as_tensor(observe(f"the grader's model {attempt}: scores of its probe images",
                                         partial(_probe_scores, held, seed, pool), pool)).float()
        top = scores.topk(2, dim=1).values
        clear = top[:, 0] - top[:, 1] > EVAL_MARGIN
        if int(clear.sum()) >= 192:
            break
    else:
        raise RuntimeError("check_evaluate: the grader's probes have too few clearly classified images")
    chosen = torch.argsort((~clear).to(torch.int8), stable=True)[:250]  # the clear ones first, in pool order
    x, scores = pool[chosen], scores[chosen]
    y = torch.where(torch.arange(250) < 192, scores.argmax(dim=1), scores.argmin(dim=1))
    want_loss, want_acc = _loss_and_accuracy(scores, y)
    label = f"{name}(model, x (250, 3, 32, 32), y (250,), batch_size=64)"
    facts = observe(label, lambda: _evaluate_facts(fn, name, label, held["model"], x, y), x, y)
    loss, acc = _scalar(facts["loss"], "loss", label), _scalar(facts["accuracy"], "accuracy", label)
    if not _unchanged(facts["before"], facts["after"]):
        raise CheckFailure(f"{label}: 評価でモデルのパラメータが変わりました / evaluating changed the model's parameters")
    calls = [tuple(c) for c in facts["forward"]]
    sizes = [int(n) for _, n, _ in calls]
    if sum(sizes) != 250 or max(sizes, default=0) > 64:
        raise CheckFailure(f"{label}: batch_size 枚ずつ、すべての画像を 1 回ずつモデルに通してください / pass every image "
                           f"through the model once, at most batch_size at a time: got batches of {sizes}")
    if any(grad for _, _, grad in calls):
        raise CheckFailure(f"{label}: 評価は with torch.no_grad(): の中で計算してください (勾配を記録しない) / evaluate "
                           "inside `with torch.no_grad():` (no gradients are needed)")
    if any(training for training, _, _ in calls):
        raise CheckFailure(f"{label}: model.eval() で評価モードにしてから計算してください (Dropout が効いたまま) / call "
                           "model.eval() before evaluating (Dropout was still active)")
    if not math.isclose(loss, want_loss, rel_tol=EVAL_LOSS_RTOL):
        raise CheckFailure(
            f"{label}: 損失が違います / wrong loss: expected {want_loss:.5f} (mean cross-entropy over all 250 images), "
            f"got {loss:.5f}\n  ヒント: 最後のバッチは 58 枚です。バッチの平均の平均ではなく、全画像の平均にします "
            "(loss.item() * len(batch) を足して、最後に全体の枚数で割る) / hint: the last batch has 58 images: average over "
            "images, not over batches (add loss.item() * len(batch), divide by the number of images at the end)"
        )
    if abs(acc - want_acc) > 1.5 / 250:
        raise CheckFailure(f"{label}: 正解率が違います / wrong accuracy: expected {want_acc:.4f} (fraction of images whose "
                           f"highest score is the label), got {acc:.4f}")


def _toy_problem(seed: int):
    """4 classes by colour: red, green or blue brighter, or all three darker; (x_train, y_train, x_val, y_val).

    Flips, crops and blur keep the class (the student's augment runs on these images).
    """
    torch = _torch()
    gen = _generator(seed)
    n = TRAIN_CHECK["n"] + TRAIN_CHECK["n_val"]
    y = torch.randperm(n, generator=gen) % 4
    x = torch.randn(n, 3, 32, 32, generator=gen) * 0.5
    for k in range(3):
        x[y == k, k] += 1.0
    x[y == 3] -= 1.0
    t = TRAIN_CHECK["n"]
    return x[:t], y[:t], x[t:], y[t:]


def _check_history(history: Any, label: str, epochs: int, keys: Sequence[str]) -> dict:
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


def _training_facts(fn: Callable, name: str, label: str, hard: bool, problem: tuple, rate: dict,
                    keys: Sequence[str]) -> dict:
    """In the kernel: the grader's model trained by the student's train_model on the toy problem, and what was seen.

    The history (checked, as numbers), the parameters before and after, the learning rate of every optimizer
    step, how many backward passes found old gradients, every forward call (training mode, batch size,
    gradients enabled), and the model's validation scores before and after (the grader computes the losses).
    """
    from torch.optim.optimizer import register_optimizer_step_post_hook

    dev = _device()
    x_tr, y_tr, x_va, y_va = (t.to(dev) for t in problem)
    model = _grader_model(507, classes=4, batchnorm=hard).to(dev)
    val_before = _logits(model, x_va)
    before = _parameters(model)
    epochs, batch_size = TRAIN_CHECK["epochs"], TRAIN_CHECK["batch_size"]
    steps: list[float] = []
    stale = _StaleGradients(list(model.parameters())[-2])  # the last layer's weight: every backward reaches it
    hook = register_optimizer_step_post_hook(
        lambda optimizer, args, kwargs: (steps.append(float(optimizer.param_groups[0]["lr"])), stale.stepped()))
    log = _ForwardLog(model)
    try:
        history = _run(fn, name, label, model, x_tr.clone(), y_tr.clone(), x_va.clone(), y_va.clone(),
                       epochs=epochs, batch_size=batch_size, **rate)
    finally:
        hook.remove()
        log.close()
        stale.close()
    return {"history": _check_history(history, label, epochs, keys), "before": before, "after": _parameters(model),
            "steps": steps, "stale": stale.count, "forward": log.calls, "val_before": val_before,
            "val_after": _logits(model, x_va)}


def _run_training(fn: Callable, name: str, hard: bool) -> tuple:
    """Train the grader's model with the student's train_model on the toy problem (in the kernel); judge what was seen."""
    problem = _toy_problem(507)
    x_tr, y_tr, x_va, y_va = problem
    epochs, batch_size = TRAIN_CHECK["epochs"], TRAIN_CHECK["batch_size"]
    rate = {"max_lr": 0.05} if hard else {"lr": 3e-3}
    label = (f"{name}(model, x_train (320, 3, 32, 32), y_train, x_val (80, ...), y_val, epochs={epochs}, "
             f"batch_size={batch_size}, {', '.join(f'{k}={v}' for k, v in rate.items())})")
    keys = ["loss", "acc", "val_loss", "val_acc"] + (["lr"] if hard else [])
    facts = observe(label, lambda: _training_facts(fn, name, label, hard, problem, rate, keys), *problem)
    values = _check_history(facts["history"], label, epochs, keys)
    if _unchanged(facts["before"], facts["after"]):
        raise CheckFailure(f"{label}: 渡したモデルのパラメータが変わっていません (optimizer.step() を呼んでいますか？関数の中で"
                           "新しいモデルを作っていませんか？) / the parameters of the model passed in did not change (is "
                           "optimizer.step() called? is a new model created inside the function?)")
    steps = [float(lr) for lr in facts["steps"]]
    stale = int(facts["stale"])
    calls = [tuple(c) for c in facts["forward"]]
    n_train, n_val = len(x_tr), len(x_va)
    per_epoch = math.ceil(n_train / batch_size)
    if len(steps) != epochs * per_epoch:
        raise CheckFailure(
            f"{label}: パラメータの更新回数が違います / wrong number of updates: expected {epochs * per_epoch} "
            f"({per_epoch} mini-batches of at most {batch_size} per epoch, one optimizer.step() each), got {len(steps)}"
        )
    if stale:
        raise CheckFailure(
            f"{label}: 前のミニバッチの勾配が残ったまま backward しています: ミニバッチごとに optimizer.zero_grad() を呼んで"
            f"ください / the gradients of earlier mini-batches were not reset before backward ({stale} of "
            f"{len(steps) - 1} updates): call optimizer.zero_grad() for every mini-batch, or the gradients of all "
            "earlier mini-batches add up"
        )
    # forward calls in training mode without gradients: the validation images, evaluated without model.eval()
    unmarked = sum(n for training, n, grad in calls if training and not grad)
    if unmarked == epochs * n_val:
        raise CheckFailure(
            f"{label}: 検証用データが学習モードのままモデルに通されています (evaluate で model.eval() を呼んでいますか？) / the "
            "validation images went through the model in training mode, under torch.no_grad() but without "
            "model.eval(): evaluate must call model.eval() (Dropout off, BatchNorm with its running statistics; "
            "in training mode BatchNorm also learns the validation images' statistics)"
        )
    train_sizes = [n for training, n, _ in calls if training]
    if sum(train_sizes) != epochs * n_train or max(train_sizes, default=0) > batch_size:
        raise CheckFailure(f"{label}: 各エポックで学習用の画像を 1 回ずつ、batch_size 枚ずつ使ってください / every epoch must "
                           f"use each training image once, in mini-batches of at most {batch_size}: the model saw "
                           f"{sum(train_sizes)} training images in {len(train_sizes)} batches over {epochs} epochs")
    eval_sizes = sum(n for training, n, _ in calls if not training)
    if eval_sizes < epochs * n_val:
        raise CheckFailure(f"{label}: 各エポックの後に検証用データを評価モードで評価してください (evaluate) / after every epoch, "
                           f"evaluate on the validation set in eval mode (evaluate): the model saw {eval_sizes} images "
                           f"in eval mode, expected at least {epochs * n_val}")
    before_loss, _ = _loss_and_accuracy(facts["val_before"], y_va)
    after_loss, after_acc = _loss_and_accuracy(facts["val_after"], y_va)
    return label, values, steps, (before_loss, after_loss, after_acc)


def _check_learning(label: str, values: dict, measured: tuple) -> None:
    before_loss, after_loss, after_acc = measured
    if after_acc < TRAIN_CHECK_ACCURACY:
        raise CheckFailure(
            f"{label}: 学習が進みません / training does not learn the grader's toy problem\n  採点側で測った検証用データの"
            f" grader's validation: loss {before_loss:.3f} → {after_loss:.3f}, accuracy {after_acc:.3f} "
            f"({TRAIN_CHECK_ACCURACY} 以上が必要 / required)\n  ヒント: optimizer.zero_grad() → loss.backward() → "
            "optimizer.step() の順ですか？ / hint: zero_grad, then backward, then step, for every mini-batch?"
        )
    if abs(values["val_acc"][-1] - after_acc) > 1.5 / TRAIN_CHECK["n_val"]:
        raise CheckFailure(f"{label}: 最後のエポックの val_acc ({values['val_acc'][-1]:.4f}) が、学習後のモデルを採点側で"
                           f"評価した正解率 ({after_acc:.4f}) と違います / the last val_acc is not the trained model's "
                           "validation accuracy: evaluate (model.eval()) after each epoch's training")


@judged
def check_train_model(fn: Callable) -> None:
    """train_model(model, x_train, y_train, x_val, y_val, epochs, batch_size, lr): shuffled mini-batches with Adam.

    On the grader's toy problem: one update per mini-batch, gradients reset before each backward (zero_grad),
    the validation set evaluated in eval mode after every epoch, and the model learns the problem.
    """
    label, values, _, measured = _run_training(fn, "train_model", hard=False)
    _check_learning(label, values, measured)


@judged
def check_train_model_hard(fn: Callable) -> None:
    """train_model of the hard notebook: as the normal one, with a one-cycle learning-rate schedule stepped per batch."""
    label, values, steps, measured = _run_training(fn, "train_model", hard=True)
    peak = int(np.argmax(steps))
    if len(set(steps)) < len(steps) // 2 or not 0 < peak < len(steps) - 1 or steps[-1] > 0.1 * max(steps):
        raise CheckFailure(
            f"{label}: 学習率がワンサイクルのスケジュールになっていません / the learning rate does not follow a one-cycle "
            f"schedule: the grader saw lr {steps[0]:.3g} at the first step, {max(steps):.3g} at step {peak + 1}, "
            f"{steps[-1]:.3g} at the last of {len(steps)} (it must rise, then fall to under a tenth of its peak: "
            "OneCycleLR with scheduler.step() after every optimizer.step())"
        )
    _check_learning(label, values, measured)


# ------------------------------------------------------------------ the trained model


def _predict_test(model: Any, preprocess: Callable, x_test: np.ndarray) -> np.ndarray:
    """In the kernel: the class ``model`` gives each test image, 500 at a time through the student's ``preprocess``."""
    torch = _torch()
    if not isinstance(model, torch.nn.Module):
        raise CheckFailure(f"model: 学習したモデル (nn.Module) ではありません / not a trained model: got "
                           f"{type(model).__name__}")
    try:
        dev = next(model.parameters()).device
    except StopIteration:
        raise CheckFailure("model: パラメータがありません / the model has no parameters") from None
    model.eval()
    predicted = []
    for start in range(0, len(x_test), 500):
        images = x_test[start:start + 500]
        label = f"preprocess(x_test[{start}:{start + len(images)}])"
        x = _run(preprocess, "preprocess", label, images.copy())
        if not isinstance(x, torch.Tensor):
            raise CheckFailure(f"{label}: torch のテンソルを返してください / must return a torch tensor")
        logits = _forward(model, x.to(dev), f"model({label})")
        if tuple(logits.shape) != (len(images), NUM_CLASSES):
            raise CheckFailure(f"model({label}): 出力の形が違います / wrong output shape: expected ({len(images)}, 10), got "
                               f"{tuple(logits.shape)}")
        predicted.append(logits.argmax(dim=1).cpu().numpy().astype(np.int64))
    return np.concatenate(predicted) if predicted else np.zeros(0, dtype=np.int64)


def measure_test_accuracy(model: Any, preprocess: Callable) -> float:
    """Accuracy of ``model`` on the grader's test images, each batch through the student's ``preprocess``.

    The kernel sends the predicted classes; the grader counts them against the test labels it loaded itself.
    """
    data = grader_data()
    predicted = np.asarray(observe("model(preprocess(x_test)).argmax(1): the classes of the grader's test images",
                                   lambda: _predict_test(model, preprocess, data.x_test), data.x_test))
    if predicted.shape != data.y_test.shape:
        raise CheckFailure(f"記録が壊れています / malformed record: {predicted.shape} predictions for "
                           f"{len(data.y_test)} test images")
    return int((predicted == data.y_test).sum()) / len(data.x_test)


def _test_images_in(images: Any, name: str, data: GraderData) -> int:
    """How many of the grader's test images the notebook's ``images`` hold (the digests cross from the kernel)."""

    def digests() -> np.ndarray | None:
        array = _numpy(images, name)
        if array.ndim == 4 and array.shape[1:] == (32, 32, 3):
            return _keys_as_data(_image_keys(array.astype(np.uint8, copy=False)))
        return None

    keys = observe(f"{name}: image digests", digests)
    return 0 if keys is None else sum(k in data.test_only for k in _keys_from_data(keys, name))


def _train_seconds(train_seconds: Any) -> tuple[float, str]:
    """In the kernel: the notebook's training time as a number, and the device it trained on."""
    return _scalar(train_seconds, "train_seconds", "train_seconds"), _device()


def _check_trained(notebook: str, model: Any, preprocess: Callable, train_seconds: Any, x_train: Any,
                   x_val: Any) -> None:
    data = grader_data()
    bar = THRESHOLDS[(data.profile, notebook)]
    for name, images in (("x_train", x_train), ("x_val", x_val)):
        hits = _test_images_in(images, name, data)
        if hits:
            raise CheckFailure(
                f"{name} にテスト用の画像が {hits} 枚あります。テスト用の画像で学習・検証したモデルの正解率は評価に使え"
                f"ません / {name} holds {hits} test images: the accuracy of a model trained or validated on the "
                "test images says nothing about new images, so it is not graded"
            )
    accuracy = measure_test_accuracy(model, preprocess)
    seconds, device = observe("train_seconds, device", lambda: _train_seconds(train_seconds))
    seconds = float(seconds)
    where = "CIFAR-10" if data.profile == REAL else "the offline stand-in (not CIFAR-10)"
    report_metric("test_accuracy", accuracy, threshold=bar.min_accuracy)
    report_metric("train_seconds", seconds, threshold=bar.max_train_seconds, higher_is_better=False, unit="s")
    if accuracy < bar.min_accuracy:
        raise CheckFailure(
            f"テスト用画像の正解率が足りません / test accuracy too low: {accuracy:.4f} < {bar.min_accuracy} (しきい値 / "
            f"threshold)\n  採点側が {where} のテスト用画像 {len(data.x_test)} 枚を、あなたの preprocess とモデルで分類して"
            f"測った値です / measured by the grader on the {len(data.x_test)} test images of {where}, through your "
            "preprocess and model"
        )
    if seconds > bar.max_train_seconds:
        raise CheckFailure(f"学習時間が長すぎます / training took too long: {seconds:.1f} s > {bar.max_train_seconds:g} s "
                           f"(device: {device})")


@judged
def check_test_accuracy(model: Any, preprocess: Callable, train_seconds: Any, x_train: Any, x_val: Any) -> None:
    """The normal notebook's trained model on the grader's test images: accuracy and training time within THRESHOLDS."""
    _check_trained(NORMAL, model, preprocess, train_seconds, x_train, x_val)


@judged
def check_test_accuracy_hard(model: Any, preprocess: Callable, train_seconds: Any, x_train: Any, x_val: Any) -> None:
    """The hard notebook's trained model on the grader's test images: accuracy and training time within THRESHOLDS."""
    _check_trained(HARD, model, preprocess, train_seconds, x_train, x_val)


# ------------------------------------------------------------------ confusion matrix


def ref_confusion_matrix(y_true, y_pred, num_classes: int = NUM_CLASSES) -> np.ndarray:
    """(num_classes, num_classes) int64: entry [t, p] counts images of true class t predicted as p."""
    matrix = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(matrix, (np.asarray(y_true, dtype=np.int64), np.asarray(y_pred, dtype=np.int64)), 1)
    return matrix


def confusion_cases() -> list[Case]:
    rng = case_rng(508)
    y = rng.integers(0, 10, 300)
    noisy = np.where(rng.random(300) < 0.3, rng.integers(0, 10, 300), y)
    return [
        Case((np.array([0, 1, 2, 2, 1]), np.array([0, 2, 2, 1, 1])), {"num_classes": 3}, note="5 images, 3 classes"),
        Case((y, noisy), note="300 images, 10 classes, 70 % right"),
        Case((np.array([3, 3, 3, 8]), np.array([5, 5, 3, 8])), note="classes without images: rows of zeros"),
        Case((np.array([1, 0, 1, 1, 0, 1]), np.array([0, 0, 1, 0, 0, 0])), {"num_classes": 2},
             note="asymmetric: rows are the true classes"),
    ]


@judged
def check_confusion_matrix(fn: Callable) -> None:
    check_function(fn, confusion_cases(), ref_confusion_matrix, rtol=0, atol=0, name="confusion_matrix",
                   check_dtype=True, forbidden=FORBIDDEN_CONFUSION)

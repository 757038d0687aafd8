"""Lab 05's inputs: what the probes give the student's code and the grader's checks draw again.

Random inputs come from :func:`autograder.kernel.student.case_rng` (the course's salt mixed in while
grading), never from the process's history: the kernel and the grader draw the same ones. CIFAR-10 is
read from the data directory (:mod:`autograder.datasets.cifar10`), which the kernel and the grader share.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from autograder.datasets import cifar10
from autograder.kernel import held_out
from autograder.kernel.compare import CheckFailure
from autograder.kernel.student import Case, case_rng

NUM_CLASSES = 10
FORBIDDEN_CONFUSION = ("sklearn.metrics.confusion_matrix",)

# preprocess: called this many times on the same 200 training images (a random flip per call shows in all but
# 1 of 2 ** PREPROCESS_CALLS runs), then on the first PREPROCESS_IMAGES training images, PREPROCESS_CHUNK at once.
PREPROCESS_CALLS = 8
PREPROCESS_PROBES = 200
PREPROCESS_IMAGES = 5000
PREPROCESS_CHUNK = 1000
PROBE_COUNT = 1000  # augment (normal): probe images per call
AUGMENT_SMALL, AUGMENT_SMALL_CALLS = 64, 4  # then this many calls on the first 64 (one decision per call shows)
CROP_PADDING = 4  # random_crop / augment (hard)
CROP_PROBES = 200
RESNET_CHECK_WIDTH = 16
# evaluate: the grader's model's last layer is scaled (confident scores, per-image losses far apart); an image
# counts as clearly classified when the runner-up scores EVAL_MARGIN lower; pools of EVAL_POOL random images are
# drawn (at most EVAL_ATTEMPTS) until one has EVAL_CLEAR clear ones; EVAL_IMAGES of them go to evaluate.
EVAL_LOGIT_SCALE = 30.0
EVAL_MARGIN = 1.0
EVAL_POOL = 500
EVAL_ATTEMPTS = 12
EVAL_IMAGES = 250
EVAL_CLEAR = 192  # three batches of 64
EVAL_BATCH = 64
# train_model on the grader's toy problem: 320 training and 80 validation images of 4 colour classes
TRAIN_CHECK = {"n": 320, "n_val": 80, "epochs": 3, "batch_size": 32}
TEST_BATCH = 500  # test images through preprocess and the model at once

SPLIT_SEED, AUGMENT_SEED, CROP_SEED, AUGMENT_HARD_SEED = 501, 502, 503, 504  # CROP_SEED + padding
CLASSIFIER_SEED, EVALUATE_SEED, TRAIN_SEED, CONFUSION_SEED, RESIDUAL_SEED = 505, 506, 507, 508, 509
TEST_COPY_SEED, MEMBER_ROWS_SEED = 510, 511  # the grader's test copies; the images whose losses are compared
FED_SEED = 512  # the projection of the images train_model feeds the model
FED_DIMS = 8  # each fed image crosses as this many random projections (a 12 KB image would not fit, 960 times)
MEMBER_ROWS = 1000  # at most this many loaded test images and as many of the notebook's training images


def _torch():
    import torch  # imported lazily: the data inputs need only NumPy

    return torch


def torch_seed(seed: int) -> int:
    """The torch seed of the grader's random inputs numbered ``seed``: the course's salt mixed in while grading."""
    return int(case_rng(seed).integers(2**63))


def generator(seed: int):
    """A torch generator of the grader's random inputs (see :func:`torch_seed`)."""
    return _torch().Generator().manual_seed(torch_seed(seed))


# ------------------------------------------------------------------------------ CIFAR-10


def data_key() -> tuple:
    """What identifies the data directory's CIFAR-10 (its folder, its files' sizes and times)."""
    batches = cifar10.folder()
    try:
        stamp = tuple((p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in sorted(batches.iterdir()))
    except OSError:
        stamp = ()
    return str(batches), stamp


def unreadable(exc: Exception) -> CheckFailure:
    return CheckFailure(f"採点用の CIFAR-10 を読めません (採点する側の問題です) / the grader cannot read its CIFAR-10 (a "
                        f"problem on the grader's side): {exc}")


_DATA: dict[tuple, tuple] = {}


def cifar10_arrays() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(x_train, y_train, x_test, y_test) as the data directory holds CIFAR-10 (read once per process)."""
    key = data_key()
    if key not in _DATA:
        try:
            arrays = cifar10.load()
        except (OSError, ValueError) as exc:
            raise unreadable(exc) from exc
        _DATA.clear()
        _DATA[key] = arrays
    return _DATA[key]


def grader_test_set(x_test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The grader's test images made from the data directory's ``x_test`` (N, 32, 32, 3) uint8: its own shifted,
    jittered copies (:func:`autograder.datasets.cifar10.test_copies`, (N, 32, 32, 3) uint8) in a salted order, and
    that order ((N,) indices into ``x_test``: the copies' labels are ``y_test[order]``). No copy is an image a
    student can load, so a table of the loaded test images (image -> label) finds none of them. Drawn with the
    held-out secret (:func:`held_out.rng`): the kernel receives the copies from the grader (:data:`TEST_COPIES`),
    never the order."""
    rng = held_out.rng(TEST_COPY_SEED)
    order = rng.permutation(len(x_test))
    return cifar10.test_copies(x_test[order], rng), order


def _draw_test_copies() -> dict[str, np.ndarray]:
    copies, order = grader_test_set(cifar10_arrays()[2])
    return {"copies": copies, "order": order}


TEST_COPIES = held_out.HeldOutSet("lab05-test-copies", _draw_test_copies, ("copies",))


def grader_test_images() -> np.ndarray:
    """The grader's test images (N, 32, 32, 3) uint8, as the kernel receives them (:data:`TEST_COPIES`)."""
    return held_out.arrays(TEST_COPIES)["copies"]


def member_test_rows(count: int) -> np.ndarray:
    """The loaded test images (rows of ``count``) whose losses the grader compares with training images'."""
    return np.sort(case_rng(MEMBER_ROWS_SEED).choice(count, size=min(MEMBER_ROWS, count), replace=False))


def member_train_rows(count: int) -> np.ndarray:
    """The rows of the notebook's x_train (``count`` images) whose losses the grader compares with the test images'."""
    return np.sort(case_rng(MEMBER_ROWS_SEED + 1).choice(count, size=min(MEMBER_ROWS, count), replace=False))


# ------------------------------------------------------------------------------ split and preprocess


def split_cases() -> list[Case]:
    rng = case_rng(SPLIT_SEED)

    def images(n):
        return rng.integers(0, 256, size=(n, 32, 32, 3), dtype=np.uint8)

    return [
        Case((images(50), rng.integers(0, 10, 50)), note="50 images, default val_fraction 0.2: 40 / 10"),
        Case((images(640), rng.integers(0, 10, 640)), {"val_fraction": 0.2, "seed": 1}, note="640 images: 512 / 128"),
        Case((images(37), rng.integers(0, 10, 37)), {"val_fraction": 0.3, "seed": 7},
             note="37 images, val_fraction 0.3: 11 (or 12) for validation"),
        Case((images(20), np.arange(20) % 10), {"val_fraction": 0.5}, note="val_fraction 0.5: 10 / 10"),
    ]


def preprocess_probes(x_train: np.ndarray) -> tuple[np.ndarray, str]:
    """The training images preprocess is called on again and again, and the label of its calls."""
    images = x_train[:PREPROCESS_PROBES].copy()
    return images, f"preprocess(images uint8 {images.shape})"


def preprocess_chunks(x_train: np.ndarray) -> list[np.ndarray]:
    """The training images preprocess's statistics are taken over, in the chunks it is called on."""
    subset = x_train[:PREPROCESS_IMAGES]
    return [subset[start:start + PREPROCESS_CHUNK] for start in range(0, len(subset), PREPROCESS_CHUNK)]


# ------------------------------------------------------------------------------ augmentation


def probe_batch(n: int, seed: int):
    """Probe images (n, 3, 32, 32): channel 0 rises left to right, channel 1 top to bottom, channel 2 a
    checkerboard, each image with its own amplitude; and the grids (rows, cols, checker)."""
    torch = _torch()
    ramp = torch.linspace(-1.0, 1.0, 32)
    rows, cols = torch.meshgrid(ramp, ramp, indexing="ij")
    checker = ((torch.arange(32)[:, None] + torch.arange(32)[None, :]) % 2).float() * 2 - 1
    scale = 0.5 + torch.rand(n, 1, 1, generator=generator(seed))  # a different amplitude per image
    x = torch.stack([cols.expand(n, 32, 32) * scale, rows.expand(n, 32, 32) * scale,
                     checker.expand(n, 32, 32) * scale], dim=1)
    return x.contiguous(), (rows, cols, checker)


AUGMENT_LABEL = f"augment(x float32 ({PROBE_COUNT}, 3, 32, 32))"
AUGMENT_SMALL_LABEL = f"augment(x[:{AUGMENT_SMALL}])"
AUGMENT_HARD_LABEL = f"augment(x float32 ({CROP_PROBES}, 3, 32, 32))"


def coordinate_probe(n: int, seed: int):
    """Probe images (n, 3, 32, 32): channel 0 is the column (0..1), channel 1 the row, channel 2 noise."""
    torch = _torch()
    ramp = torch.arange(32, dtype=torch.float32) / 31
    rows, cols = torch.meshgrid(ramp, ramp, indexing="ij")
    noise = torch.randn(n, 32, 32, generator=generator(seed))
    return torch.stack([cols.expand(n, 32, 32), rows.expand(n, 32, 32), noise], dim=1).contiguous()


CROP_PADDINGS = (CROP_PADDING, 2)


def crop_label(padding: int) -> str:
    return f"random_crop(x float32 ({CROP_PROBES}, 3, 32, 32), padding={padding})"


# ------------------------------------------------------------------------------ models


def classifier_inputs():
    """Six random images (6, 3, 32, 32) a network must classify, each on its own."""
    return _torch().randn(6, 3, 32, 32, generator=generator(CLASSIFIER_SEED))


def residual_inputs():
    """Two random images (2, 3, 32, 32) for the ResNet with its residual convolutions zeroed."""
    return _torch().randn(2, 3, 32, 32, generator=generator(RESIDUAL_SEED))


# ------------------------------------------------------------------------------ evaluate and training


def grader_model(seed: int, classes: int = NUM_CLASSES, batchnorm: bool = False):
    """The grader's small CNN for the evaluate / train_model checks (seeded weights, Dropout or BatchNorm inside)."""
    torch = _torch()
    nn = torch.nn
    torch.manual_seed(torch_seed(seed))
    norm = nn.BatchNorm2d(8) if batchnorm else nn.Identity()
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), norm, nn.ReLU(), nn.AdaptiveAvgPool2d(4), nn.Flatten(),
                         nn.Dropout(0.5), nn.Linear(128, classes))


def evaluate_model(seed: int):
    """The grader's small model numbered ``seed`` as the evaluate check uses it: its last layer scaled by
    EVAL_LOGIT_SCALE (confident scores, per-image losses far apart). The kernel gives it to the student's evaluate;
    the grader builds it again to compute its scores itself."""
    torch = _torch()
    model = grader_model(seed)
    with torch.no_grad():
        model[-1].weight.mul_(EVAL_LOGIT_SCALE)
    return model


def evaluate_inputs(scores_of: Callable[[int, int, Any], Any]) -> tuple:
    """(x, y, the model's scores of x) for evaluate: 250 images, first 192 that the grader's model clearly
    classifies, labelled with its class (loss about 0), then 58 labelled with its least likely class (loss of
    several units).

    The mean over the images and the mean of the 4 batches' means differ by about 7 %; and as no label is one of
    two nearly tied scores, float16 on a GPU gives every image the same answer. ``scores_of(attempt, seed, pool)``
    gives the scores of the model numbered ``seed`` (observed in the kernel). About 3 in 10 random models classify
    too few of their pool clearly: then the next seed's model and pool (the kernel and the grader take the same turns).
    """
    torch = _torch()
    for attempt in range(EVAL_ATTEMPTS):
        seed = EVALUATE_SEED + 1000 * attempt
        pool = torch.randn(EVAL_POOL, 3, 32, 32, generator=generator(seed))
        scores = torch.as_tensor(scores_of(attempt, seed, pool)).float()
        top = scores.topk(2, dim=1).values
        clear = top[:, 0] - top[:, 1] > EVAL_MARGIN
        if int(clear.sum()) >= EVAL_CLEAR:
            break
    else:
        raise RuntimeError("check_evaluate: the grader's probes have too few clearly classified images")
    chosen = torch.argsort((~clear).to(torch.int8), stable=True)[:EVAL_IMAGES]  # the clear ones first, in pool order
    x, scores = pool[chosen], scores[chosen]
    y = torch.where(torch.arange(EVAL_IMAGES) < EVAL_CLEAR, scores.argmax(dim=1), scores.argmin(dim=1))
    return x, y, scores


EVALUATE_LABEL = f"evaluate(model, x ({EVAL_IMAGES}, 3, 32, 32), y ({EVAL_IMAGES},), batch_size={EVAL_BATCH})"


def toy_problem(seed: int = TRAIN_SEED):
    """4 classes by colour: red, green or blue brighter, or all three darker; (x_train, y_train, x_val, y_val).

    Flips, crops and blur keep the class (the student's augment runs on these images).
    """
    torch = _torch()
    gen = generator(seed)
    n = TRAIN_CHECK["n"] + TRAIN_CHECK["n_val"]
    y = torch.randperm(n, generator=gen) % 4
    x = torch.randn(n, 3, 32, 32, generator=gen) * 0.5
    for k in range(3):
        x[y == k, k] += 1.0
    x[y == 3] -= 1.0
    t = TRAIN_CHECK["n"]
    return x[:t], y[:t], x[t:], y[t:]


def fed_projection():
    """(3 * 32 * 32, FED_DIMS) float64: the random directions each image fed to the model is recorded along.

    The grader projects the toy problem's training images the same way and so tells, for every image the model
    was fed, whether it is one of them as given (not augmented) and whether the same image was fed before.
    """
    torch = _torch()
    return torch.randn(3 * 32 * 32, FED_DIMS, generator=generator(FED_SEED), dtype=torch.float64)


def training_call(hard: bool) -> tuple[str, dict, list[str]]:
    """train_model's call on the toy problem: (label, learning-rate argument, history keys)."""
    epochs, batch_size = TRAIN_CHECK["epochs"], TRAIN_CHECK["batch_size"]
    rate = {"max_lr": 0.05} if hard else {"lr": 3e-3}
    label = (f"train_model(model, x_train (320, 3, 32, 32), y_train, x_val (80, ...), y_val, epochs={epochs}, "
             f"batch_size={batch_size}, {', '.join(f'{k}={v}' for k, v in rate.items())})")
    return label, rate, ["loss", "acc", "val_loss", "val_acc"] + (["lr"] if hard else [])


# ------------------------------------------------------------------------------ confusion matrix


def confusion_cases() -> list[Case]:
    rng = case_rng(CONFUSION_SEED)
    y = rng.integers(0, 10, 300)
    noisy = np.where(rng.random(300) < 0.3, rng.integers(0, 10, 300), y)
    return [
        Case((np.array([0, 1, 2, 2, 1]), np.array([0, 2, 2, 1, 1])), {"num_classes": 3}, note="5 images, 3 classes"),
        Case((y, noisy), note="300 images, 10 classes, 70 % right"),
        Case((np.array([3, 3, 3, 8]), np.array([5, 5, 3, 8])), note="classes without images: rows of zeros"),
        Case((np.array([1, 0, 1, 1, 0, 1]), np.array([0, 0, 1, 0, 0, 0])), {"num_classes": 2},
             note="asymmetric: rows are the true classes"),
    ]

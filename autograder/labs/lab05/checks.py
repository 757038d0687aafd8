"""Lab 05's checks: the grader's verdict on what each probe (``autograder.kernel.probes.lab05``) recorded.

Each ``check_*`` gets the student's function, class, trained model or arrays (in the grader, stand-ins that
answer from the transcript), draws the same inputs as its probe (:mod:`autograder.kernel.probes.lab05.inputs`)
and makes the same calls and observations (:mod:`autograder.kernel.probes.lab05.outputs`), which give back
what the kernel recorded; it compares them with the grader's own computation (:mod:`.reference`, :mod:`.images`)
within :mod:`.thresholds`. The model checks read CIFAR-10 themselves (:func:`.data.grader_data`, from the data
directory the grader provides): :func:`check_split` compares the notebook's training and validation images with
the grader's files (80/20 of the training batches, no test image), and :func:`check_test_accuracy` counts the
classes the student's trained model gave the grader's test images (through the student's own test-time
``preprocess``) against the test labels, holding them to the network the grader runs itself from the state the
kernel sent (:mod:`.audit`). The accuracy and training time the notebook prints are never trusted.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from typing import Any

import numpy as np

from autograder.datasets import REAL
from autograder.kernel.compare import CheckFailure
from autograder.kernel.probes.lab05 import inputs, network, outputs
from autograder.kernel.probes.lab05.inputs import CROP_PADDING, CROP_PROBES, NUM_CLASSES, PROBE_COUNT, TRAIN_CHECK
from autograder.kernel.probes.lab05.outputs import as_output, checked_augment, checked_crop, fingerprint, numpy_array
from autograder.labs.judged import check_function, judged, measured_seconds, report_metric
from autograder.labs.lab05 import audit, images, reference
from autograder.labs.lab05.data import GraderData, grader_data
from autograder.labs.lab05.thresholds import (
    AFFINE_TOL,
    ALONE_ATOL,
    ALONE_RTOL,
    BLUR_AMPLITUDE,
    BLUR_RANGE,
    CROP_ATOL,
    EVAL_ACCURACY_TOL,
    EVAL_LOSS_RTOL,
    EXACT_ATOL,
    FED_AS_GIVEN_MAX,
    FED_REPEATED_MAX,
    FED_RTOL,
    GRADER_MODEL_ATOL,
    GRADER_MODEL_RTOL,
    HARD,
    HFLIP_RANGE,
    MEMBER_EPSILON,
    NORM_MEAN_TOL,
    NORM_STD_TOL,
    NORMAL,
    ONE_CYCLE_END,
    PROBABILITY_ATOL,
    RESIDUAL_ATOL,
    RESIDUAL_RTOL,
    THRESHOLDS,
    TRAIN_CHECK_LOSS_RATIO,
    VAL_ACC_TOL,
    VFLIP_RANGE,
)


def _torch():
    import torch  # imported lazily: the data checks need only NumPy

    return torch


def _keys_from_data(value: Any, name: str) -> list[bytes]:
    """The image digests the kernel sent (a (N, 16) uint8 array)."""
    arr = np.asarray(value)
    if arr.dtype != np.uint8 or arr.ndim != 2 or arr.shape[1] != 16:
        raise CheckFailure(f"{name}: 記録が壊れています / malformed record of the images")
    return [row.tobytes() for row in arr]


# ------------------------------------------------------------------------ split


@judged
def check_split_train_val(fn: Callable) -> None:
    """split_train_val(x, y, val_fraction=0.2, seed=0): a partition of the images, labels kept with them."""
    name = "split_train_val"
    for case in inputs.split_cases():
        x, y = case.args
        label = case.describe(name)
        got = outputs.call(fn, name, label, x, y, **case.kwargs)  # the four arrays cross as data
        if not isinstance(got, (tuple, list)) or len(got) != 4:
            raise CheckFailure(f"{label}: 4 つの値 (x_train, y_train, x_val, y_val) を return してください / must return "
                               f"4 values (x_train, y_train, x_val, y_val), got {type(got).__name__}")
        x_tr, y_tr, x_va, y_va = (numpy_array(v, n) for v, n in zip(got, ("x_train", "y_train", "x_val", "y_val"),
                                                                        strict=True))
        fraction = case.kwargs.get("val_fraction", reference.VAL_FRACTION)
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
        keys = outputs.image_keys(x)
        original = {k: int(v) for k, v in zip(keys, y.tolist(), strict=True)}
        got_keys = outputs.image_keys(x_tr) + outputs.image_keys(x_va)
        if Counter(got_keys) != Counter(keys):
            raise CheckFailure(f"{label}: 学習用と検証用を合わせると元の画像にならない (重複や欠け) / train + validation "
                               "is not the input's images, each exactly once (duplicated or missing images)")
        labels = np.concatenate([y_tr.reshape(-1), y_va.reshape(-1)])
        if any(original[k] != int(lab) for k, lab in zip(got_keys, labels, strict=True)):
            raise CheckFailure(f"{label}: ラベルが画像と対応していません (x と y を同じ順番で並べ替えてください) / labels no "
                               "longer belong to their images: shuffle x and y with the same permutation")
        again = outputs.call(fn, name, label, x, y, **case.kwargs)
        if not all(np.array_equal(numpy_array(a, "x"), numpy_array(b, "x")) for a, b in zip(got, again, strict=True)):
            raise CheckFailure(f"{label}: 同じ seed で呼ぶたびに分け方が変わります (np.random.default_rng(seed) を使う) / "
                               "the split changes from call to call with the same seed: use np.random.default_rng(seed)")


@judged
def check_split(x_train: Any, y_train: Any, x_val: Any, y_val: Any) -> None:
    """The notebook's training and validation images: 80/20 of the grader's training files, no test image."""
    data = grader_data()
    facts = outputs.split_facts(x_train, y_train, x_val, y_val)
    for name in ("x_train", "x_val"):
        dtype, shape = facts[name]["dtype"], tuple(facts[name]["shape"])
        if dtype != "uint8" or len(shape) != 4 or shape[1:] != (32, 32, 3):
            raise CheckFailure(f"{name}: 読み込んだままの画像 (uint8, 形 (N, 32, 32, 3)) にしてください / keep the images "
                               f"as loaded (uint8, shape (N, 32, 32, 3)), got {dtype} {shape}")
    keys = {name: _keys_from_data(facts[name]["keys"], name) for name in ("x_train", "x_val")}
    for name in ("x_train", "x_val"):
        hits = sum(k in data.test_only for k in keys[name])
        foreign = sum(k not in data.train_keys and k not in data.test_only for k in keys[name])
        if hits:
            raise CheckFailure(
                f"{name} にテスト用の画像 (test_batch) が {hits} 枚含まれています。テスト用の画像は最後の評価にだけ"
                "使い、学習にも検証にも使わないでください (検証用は学習用ファイル data_batch_1〜5 から分けます) / "
                f"{name} contains {hits} test images (test_batch): the test images are only for the final "
                "evaluation, never for training or validation (split the validation images off the training files)"
            )
        if foreign:
            raise CheckFailure(f"{name}: 学習用ファイルにない画像が {foreign} 枚あります (画像を変更した？) / {foreign} "
                               "images are not images of the training files (were they changed?)")
    want_train, want_val = reference.expected_split_sizes(len(data.x_train))
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


@judged
def check_preprocess(fn: Callable) -> None:
    """preprocess(images) -> float32 (N, 3, 32, 32): per channel (x / 255 - MEAN) / STD, the same on every call."""
    name = "preprocess"
    data = grader_data()
    probe, label = inputs.preprocess_probes(data.x_train)
    out1 = as_output(outputs.preprocess_output(fn, probe, label), label, len(probe))
    first = fingerprint(out1)
    # A random transform drawn once per call (a torchvision flip on the whole batch) leaves some calls
    # unchanged: with PREPROCESS_CALLS calls, a flip with p = 0.5 shows in all but 1 of 2 ** PREPROCESS_CALLS runs.
    if any(outputs.preprocess_fingerprint(fn, probe, label) != first for _ in range(inputs.PREPROCESS_CALLS - 1)):
        raise CheckFailure(
            f"{label}: 同じ画像なのに呼ぶたびに結果が変わります。テスト時の前処理にランダムなデータ拡張 (反転やぼかし) を"
            "入れないでください: データ拡張は学習のときだけ (augment) です / the same images give different results on "
            "every call: no random augmentation (flips, blur) at test time; augmentation is for training only (augment)"
        )
    residual, _, _ = images.affine_residual(out1, probe)
    if residual > AFFINE_TOL:
        hint = images.layout_hint(out1, probe)
        raise CheckFailure(
            f"{label}: 出力の各値は、同じ位置・同じチャンネルの画素だけから (x / 255 - MEAN) / STD で計算してください / each "
            "output value must be (x / 255 - MEAN) / STD of the pixel at the same place and channel (no flip, blur, "
            f"crop or resizing at test time)\n  {hint or f'largest deviation from that: {residual:.3g} (of the range)'}"
        )
    sums = np.zeros(3)
    squares = np.zeros(3)
    count = 0
    for chunk in inputs.preprocess_chunks(data.x_train):
        moments = np.asarray(outputs.preprocess_moments(fn, chunk, label), dtype=np.float64)
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


def _augment(fn: Callable, x, label: str):
    """augment(x): the output the kernel recorded, checked again by the grader."""
    return checked_augment(outputs.augment_output(fn, x, label), x, label)


@judged
def check_augment(fn: Callable) -> None:
    """augment(x): each image on its own: left-right flip p=0.5, upside-down flip p=0.1, Gaussian blur p=0.1."""
    torch = _torch()
    x, grids = inputs.probe_batch(PROBE_COUNT, seed=inputs.AUGMENT_SEED)
    label = inputs.AUGMENT_LABEL
    out = _augment(fn, x, label)
    hflip, vflip, kept = images.flip_state(out, grids)
    _, _, kept_in = images.flip_state(x, grids)
    blurred = kept / kept_in < BLUR_AMPLITUDE
    # images neither blurred nor anything else must be exact flips of their input
    for i in torch.nonzero(~blurred).flatten().tolist():
        want = x[i]
        if hflip[i]:
            want = want.flip(-1)
        if vflip[i]:
            want = want.flip(-2)
        if not torch.allclose(out[i], want, rtol=EXACT_ATOL, atol=EXACT_ATOL):
            raise CheckFailure(
                f"{label}: 画像 {i} が反転・ぼかし以外の変換をされています (明るさや位置の変更？) / image {i} was changed by "
                "something other than a flip or a blur (brightness? a shift?): augment does exactly the three "
                "augmentations of the exercise"
            )
    fractions = {"hflip": float(hflip.float().mean()), "vflip": float(vflip.float().mean()),
                 "blur": float(blurred.float().mean())}
    whole_batch = [k for k, f in fractions.items() if f in (0.0, 1.0)]
    n_small = inputs.AUGMENT_SMALL
    small = [_augment(fn, x[:n_small], inputs.AUGMENT_SMALL_LABEL) for _ in range(inputs.AUGMENT_SMALL_CALLS)]
    if whole_batch:
        per_call = {k: set() for k in whole_batch}
        for o in small:
            h, v, c = images.flip_state(o, grids)
            state = {"hflip": h, "vflip": v, "blur": c / kept_in[:n_small] < BLUR_AMPLITUDE}
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
    if outputs.augment_fingerprint(fn, x, label) == fingerprint(out):
        raise CheckFailure(f"{label}: 呼ぶたびに違う乱数を使ってください / must draw new random decisions on every call")


# ------------------------------------------------------------------ augmentation (hard)


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


@judged
def check_random_crop(fn: Callable) -> None:
    """random_crop(x, padding=4): each image padded by `padding` and cropped back to 32x32 at its own random offset."""
    for padding in inputs.CROP_PADDINGS:
        x = inputs.coordinate_probe(CROP_PROBES, seed=inputs.CROP_SEED + padding)
        label = inputs.crop_label(padding)
        # the output crosses as data, checked in the kernel (the student's message) and again here
        out = checked_crop(outputs.crop_output(fn, x, padding, label), x, label)
        found = images.crop_matches(x, out, padding, flips=(False,), atol=CROP_ATOL)
        if any(f is None for f in found) and all(f is not None for f in images.crop_matches(x, out, padding,
                                                                                             (False, True), CROP_ATOL)):
            raise CheckFailure(f"{label}: random_crop では反転しないでください (反転は augment で) / random_crop only crops: "
                               "flip in augment")
        _check_crops(found, label, padding)


@judged
def check_augment_hard(fn: Callable) -> None:
    """augment(x) of the hard notebook: random_crop with padding 4, then a left-right flip with p=0.5 per image."""
    x = inputs.coordinate_probe(CROP_PROBES, seed=inputs.AUGMENT_HARD_SEED)
    label = inputs.AUGMENT_HARD_LABEL
    out = _augment(fn, x, label)
    found = images.crop_matches(x, out, CROP_PADDING, flips=(False, True), atol=CROP_ATOL)
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


def _check_classifier(held: dict, label: str) -> Any:
    """(N, 3, 32, 32) -> (N, 10) logits, each image on its own (in eval mode), not probabilities: the outputs
    (6, 10) on :func:`inputs.classifier_inputs`."""
    torch = _torch()
    x = inputs.classifier_inputs()
    out = torch.as_tensor(outputs.model_output(held, x, f"{label}(x of shape (6, 3, 32, 32))"))
    if tuple(out.shape) != (6, reference.NUM_CLASSES):
        raise CheckFailure(f"{label}(x of shape (6, 3, 32, 32)): 出力の形が違います / wrong output shape: expected (6, 10) "
                           f"(one score per class), got {tuple(out.shape)}")
    if not bool(torch.isfinite(out).all()):
        raise CheckFailure(f"{label}: 出力に NaN または Inf があります / the output contains NaN or Inf")
    if bool((out >= 0).all()) and torch.allclose(out.sum(dim=1), torch.ones(6), atol=PROBABILITY_ATOL):
        raise CheckFailure(f"{label}: 出力が確率 (softmax の後) になっています。forward は softmax の前の値 (ロジット) を返して"
                           "ください: nn.CrossEntropyLoss が中で softmax を計算します / the output is probabilities (after "
                           "softmax): return the scores before softmax (logits); nn.CrossEntropyLoss applies softmax itself")
    alone = torch.as_tensor(outputs.model_output(held, x[2:3], f"{label}(x[2:3])"))
    if not torch.allclose(out[2:3], alone, rtol=ALONE_RTOL, atol=ALONE_ATOL):
        raise CheckFailure(f"{label}: 評価モード (model.eval()) で、1 枚の画像の出力がバッチのほかの画像に影響されています / in "
                           "eval mode, one image's output depends on the other images of the batch")
    return out


NET_HINT = ("表の順に、畳み込み層のあと ReLU と 2x2 の最大プーリング、全結合層 1 つめのあと ReLU で、最後の層のあとには何も"
            "かけません / check the order of the table: each convolution followed by ReLU and 2x2 max pooling, the first "
            "fully connected layer followed by ReLU, nothing after the last one")
RESNET9_HINT = ("conv_bn は 畳み込み → BatchNorm → ReLU の順、プーリングと残差ブロックは表の位置か確かめてください / check "
                "that conv_bn is convolution -> BatchNorm -> ReLU, and the pooling layers and residual blocks stand where "
                "the table puts them")


@judged
def check_net(cls: Any) -> None:
    """Net(): the normal notebook's CNN: conv 3-32, 32-64, 64-128 (each ReLU, 2x2 max pool), FC 2048-256-10."""
    name = "Net"
    held: dict = {}  # the student's network, in the kernel only
    layers = outputs.instantiate(cls, name, f"{name}()", held)
    convs = int(layers["convs"])
    if convs < 3:
        raise CheckFailure(f"{name}(): 畳み込み層 (nn.Conv2d) が {convs} 個しかありません (3 個必要) / the network has "
                           f"{convs} convolution layers (nn.Conv2d), the exercise asks for 3: a network without "
                           "convolutions cannot learn shapes wherever they are in the image")
    state = network.network_state(held, f"{name}()")
    out = _check_classifier(held, f"{name}()")
    count = outputs.parameter_count(held, f"{name}()")
    if count != reference.NET_PARAMETERS:
        raise CheckFailure(f"{name}(): パラメータの数が違います / wrong number of parameters: expected "
                           f"{reference.NET_PARAMETERS:,} (the table of the exercise), got {count:,}")
    audit.require_exercise_network(state, inputs.classifier_inputs(), out, NORMAL, f"{name}()", NET_HINT)


@judged
def check_resnet9(cls: Any) -> None:
    """ResNet9(width): 8 conv + BatchNorm + ReLU blocks, two residual blocks (x + body(x)), global max pool, linear."""
    torch = _torch()
    name = "ResNet9"
    label = f"{name}(width={inputs.RESNET_CHECK_WIDTH})"
    held: dict = {}  # the student's network, in the kernel only
    layers = outputs.instantiate(cls, name, label, held, width=inputs.RESNET_CHECK_WIDTH)
    convs, norms = int(layers["convs"]), int(layers["norms"])
    if convs != 8 or norms != 8:
        raise CheckFailure(f"{label}: 畳み込み層と BatchNorm2d を 8 個ずつ使います / the network has 8 convolution layers, "
                           f"each followed by a BatchNorm2d: got {convs} nn.Conv2d and {norms} nn.BatchNorm2d")
    state = network.network_state(held, label)
    out = _check_classifier(held, label)
    want = reference.resnet9_parameters(inputs.RESNET_CHECK_WIDTH)
    count = outputs.parameter_count(held, label)
    if count != want:
        raise CheckFailure(f"{label}: パラメータの数が違います / wrong number of parameters: expected {want:,}, got "
                           f"{count:,} (channels w, 2w, 4w, 8w as in the table; conv layers without bias)")
    zeroed = torch.as_tensor(outputs.residual_output(held, inputs.residual_inputs(), f"{label}(x of shape (2, 3, 32, 32))"))
    if torch.allclose(zeroed[0], zeroed[1], rtol=RESIDUAL_RTOL, atol=RESIDUAL_ATOL):
        raise CheckFailure(f"{label}: 残差ブロックが入力を足していません / the residual blocks do not add their input: "
                           "Residual.forward must return x + self.body(x) (the skip connection), not only the body's "
                           "output")
    audit.require_exercise_network(state, inputs.classifier_inputs(), out, HARD, label, RESNET9_HINT)


# ------------------------------------------------------------------ evaluate and training


def _unchanged(before: list, after: list) -> bool:
    """Whether the parameters recorded after a student's call are those recorded before it."""
    torch = _torch()
    return len(before) == len(after) and all(torch.equal(torch.as_tensor(a), torch.as_tensor(b))
                                             for a, b in zip(before, after, strict=True))


def _require_grader_model(recorded: Any, model: Any, x: Any, what: str) -> None:
    """The scores the kernel recorded of the grader's small model are the grader's own (computed here, on the CPU):
    the model whose outputs decide the expected values exists in the kernel, but its numbers are not taken on trust."""
    own = reference.grader_model_scores(model, x).numpy()
    got = np.asarray(recorded, dtype=np.float64)
    if got.shape != own.shape or not np.allclose(got, own, rtol=GRADER_MODEL_RTOL, atol=GRADER_MODEL_ATOL):
        raise CheckFailure(f"記録が壊れています / malformed record: {what}'s scores are not those the grader computes "
                           "(the record was not made by the grader's probe)")


@judged
def check_evaluate(fn: Callable) -> None:
    """evaluate(model, x, y, batch_size): mean cross-entropy over all images and accuracy, in eval mode, in mini-batches."""
    held: dict = {}  # the grader's model as the kernel holds it

    def scores_of(attempt: int, seed: int, pool: Any) -> Any:
        recorded = outputs.probe_scores(held, attempt, seed, pool)
        _require_grader_model(recorded, inputs.evaluate_model(seed), pool, f"the grader's model {attempt}")
        return recorded

    x, y, scores = inputs.evaluate_inputs(scores_of)
    want_loss, want_acc = reference.loss_and_accuracy(scores, y)
    label = inputs.EVALUATE_LABEL
    facts = outputs.evaluate_facts(fn, held, x, y)
    loss, acc = outputs.scalar(facts["loss"], "loss", label), outputs.scalar(facts["accuracy"], "accuracy", label)
    if not _unchanged(facts["before"], facts["after"]):
        raise CheckFailure(f"{label}: 評価でモデルのパラメータが変わりました / evaluating changed the model's parameters")
    calls = [tuple(c) for c in facts["forward"]]
    sizes = [int(n) for _, n, _ in calls]
    if sum(sizes) != inputs.EVAL_IMAGES or max(sizes, default=0) > inputs.EVAL_BATCH:
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
    if abs(acc - want_acc) > EVAL_ACCURACY_TOL:
        raise CheckFailure(f"{label}: 正解率が違います / wrong accuracy: expected {want_acc:.4f} (fraction of images whose "
                           f"highest score is the label), got {acc:.4f}")


def _run_training(fn: Callable, hard: bool) -> tuple:
    """The grader's model trained by the student's train_model on the toy problem (in the kernel): what was seen, judged."""
    problem = inputs.toy_problem()
    x_tr, _, x_va, y_va = problem
    epochs, batch_size = TRAIN_CHECK["epochs"], TRAIN_CHECK["batch_size"]
    label, _, keys = inputs.training_call(hard)
    facts = outputs.training_facts(fn, hard, problem)
    values = outputs.history_values(facts["history"], label, epochs, keys)
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
    _check_augmented(label, facts["fed"], x_tr, epochs)
    eval_sizes = sum(n for training, n, _ in calls if not training)
    if eval_sizes < epochs * n_val:
        raise CheckFailure(f"{label}: 各エポックの後に検証用データを評価モードで評価してください (evaluate) / after every epoch, "
                           f"evaluate on the validation set in eval mode (evaluate): the model saw {eval_sizes} images "
                           f"in eval mode, expected at least {epochs * n_val}")
    _require_grader_model(facts["val_before"], inputs.grader_model(inputs.TRAIN_SEED, classes=4, batchnorm=hard),
                          x_va, "the grader's untrained model")
    trained = _trained_grader_model(facts, hard)
    _require_grader_model(facts["val_after"], trained, x_va, "the grader's trained model")
    before_loss, _ = reference.loss_and_accuracy(facts["val_before"], y_va)
    after_loss, after_acc = reference.loss_and_accuracy(reference.grader_model_scores(trained, x_va).numpy(), y_va)
    return label, values, steps, (before_loss, after_loss, after_acc)


def _trained_grader_model(facts: dict, hard: bool) -> Any:
    """The grader's small model with the parameters (and BatchNorm statistics) it had after the student's train_model,
    as the kernel recorded them: the validation scores the learning check uses are then the grader's own."""
    torch = _torch()
    model = inputs.grader_model(inputs.TRAIN_SEED, classes=4, batchnorm=hard)
    targets = [*model.parameters(), *model.buffers()]
    values = [torch.as_tensor(np.asarray(v)) for v in [*facts["after"], *facts.get("buffers", [])]]
    # by size, not shape: the record keeps a 0-d tensor (BatchNorm's batch count) as one value of shape (1,)
    if len(values) != len(targets) or any(v.numel() != t.numel() for v, t in zip(values, targets, strict=True)):
        raise CheckFailure("記録が壊れています / malformed record: the trained model's parameters are not those of the "
                           "grader's model (the record was not made by the grader's probe)")
    with torch.no_grad():
        for target, value in zip(targets, values, strict=True):
            target.copy_(value.reshape(target.shape).to(target.dtype))
    return model


def _found_in(rows: np.ndarray, pool: np.ndarray) -> np.ndarray:
    """For each projected image of ``rows`` (n, d): whether an image of ``pool`` (m, d) is the same, within FED_RTOL
    of its size (NaN rows: never)."""
    if not len(rows) or not len(pool):
        return np.zeros(len(rows), dtype=bool)
    distance = np.linalg.norm(rows[:, None, :] - pool[None, :, :], axis=2)
    size = np.maximum(np.linalg.norm(rows, axis=1)[:, None], np.linalg.norm(pool, axis=1)[None, :])
    return (distance <= FED_RTOL * size).any(axis=1)


def fed_fractions(fed: Any, x_train: Any, epochs: int) -> tuple[float, float]:
    """What train_model fed the model, from the projections the kernel recorded (``fed``: (epochs * N, FED_DIMS), in
    order): the fraction of the fed images that are training images of ``x_train`` (N, 3, 32, 32) as given, not
    augmented, and the fraction of those fed after the first epoch that are exactly an image fed in the first."""
    fed = np.asarray(fed, dtype=np.float64)
    n = len(x_train)
    if fed.ndim != 2 or fed.shape != (epochs * n, inputs.FED_DIMS):
        raise CheckFailure(f"記録が壊れています / malformed record: {fed.shape} fed images, expected {epochs * n}")
    given = (x_train.reshape(n, -1).double() @ inputs.fed_projection()).numpy()
    as_given = float(_found_in(fed, given).mean())
    repeated = float(_found_in(fed[n:], fed[:n]).mean()) if epochs > 1 else 0.0
    return as_given, repeated


def _check_augmented(label: str, fed: Any, x_train: Any, epochs: int) -> None:
    """The mini-batches the model was fed are augmented, and augmented anew every epoch (the grader's projections of
    what the model saw, not whether an augment function exists or is called)."""
    as_given, repeated = fed_fractions(fed, x_train, epochs)
    if as_given > FED_AS_GIVEN_MAX:
        raise CheckFailure(
            f"{label}: 学習用の画像がデータ拡張されずにモデルに渡されています: ミニバッチごとに augment を使ってください / the "
            f"model was fed the training images as given: {as_given:.0%} of the {len(x_train) * epochs} images it was "
            f"trained on were not augmented (at most {FED_AS_GIVEN_MAX:.0%}; augment flips about half of them): "
            "train on augment(x_train[idx]) for every mini-batch"
        )
    if repeated > FED_REPEATED_MAX:
        raise CheckFailure(
            f"{label}: 毎エポック同じ拡張画像でモデルを学習しています: データ拡張はミニバッチを取り出すたびに行ってください / "
            f"the model saw the same augmented images in every epoch: {repeated:.0%} of the images of epochs 2-{epochs} "
            f"were exactly images of epoch 1 (at most {FED_REPEATED_MAX:.0%}): augment each mini-batch when it is "
            "drawn, not the whole training set once before the loop"
        )


def _check_learning(label: str, values: dict, measured: tuple) -> None:
    before_loss, after_loss, after_acc = measured
    if not after_loss <= TRAIN_CHECK_LOSS_RATIO * before_loss:  # NaN fails too
        raise CheckFailure(
            f"{label}: 学習が進みません / training does not learn the grader's toy problem\n  採点側で測った検証用データの"
            f" grader's validation: loss {before_loss:.3f} → {after_loss:.3f}, accuracy {after_acc:.3f} (損失が学習前の "
            f"{TRAIN_CHECK_LOSS_RATIO:g} 倍以下になる必要があります / the loss must fall to {TRAIN_CHECK_LOSS_RATIO:g} "
            "times the untrained model's or less)\n  ヒント: optimizer.zero_grad() → loss.backward() → "
            "optimizer.step() の順ですか？ / hint: zero_grad, then backward, then step, for every mini-batch?"
        )
    if abs(values["val_acc"][-1] - after_acc) > VAL_ACC_TOL:
        raise CheckFailure(f"{label}: 最後のエポックの val_acc ({values['val_acc'][-1]:.4f}) が、学習後のモデルを採点側で"
                           f"評価した正解率 ({after_acc:.4f}) と違います / the last val_acc is not the trained model's "
                           "validation accuracy: evaluate (model.eval()) after each epoch's training")


@judged
def check_train_model(fn: Callable) -> None:
    """train_model(model, x_train, y_train, x_val, y_val, epochs, batch_size, lr): shuffled mini-batches with Adam.

    On the grader's toy problem: one update per mini-batch, gradients reset before each backward (zero_grad),
    the validation set evaluated in eval mode after every epoch, and the model learns the problem.
    """
    label, values, _, measured = _run_training(fn, hard=False)
    _check_learning(label, values, measured)


@judged
def check_train_model_hard(fn: Callable) -> None:
    """train_model of the hard notebook: as the normal one, with a one-cycle learning-rate schedule stepped per batch."""
    label, values, steps, measured = _run_training(fn, hard=True)
    peak = int(np.argmax(steps))
    if len(set(steps)) < len(steps) // 2 or not 0 < peak < len(steps) - 1 or steps[-1] > ONE_CYCLE_END * max(steps):
        raise CheckFailure(
            f"{label}: 学習率がワンサイクルのスケジュールになっていません / the learning rate does not follow a one-cycle "
            f"schedule: the grader saw lr {steps[0]:.3g} at the first step, {max(steps):.3g} at step {peak + 1}, "
            f"{steps[-1]:.3g} at the last of {len(steps)} (it must rise, then fall to under a tenth of its peak: "
            "OneCycleLR with scheduler.step() after every optimizer.step())"
        )
    _check_learning(label, values, measured)


# ------------------------------------------------------------------ the trained model


def measured_accuracy(predicted: Any, data: GraderData) -> float:
    """The fraction of the grader's test images whose predicted class (as the kernel sent them) is their label."""
    predicted = np.asarray(predicted)
    if predicted.shape != data.y_test.shape:
        raise CheckFailure(f"記録が壊れています / malformed record: {predicted.shape} predictions for "
                           f"{len(data.y_test)} test images")
    return int((predicted == data.y_test).sum()) / len(data.x_test)


def _digests_of(array: Any, name: str) -> list[bytes] | None:
    """The digests of the notebook's ``array`` as the kernel sent them (None when it is not images)."""
    keys = outputs.image_digests(array, name)
    return None if keys is None else _keys_from_data(keys, name)


def _test_images_in(keys: list[bytes] | None, data: GraderData) -> int:
    """How many of the loaded test images the notebook's images (their digests) hold."""
    return 0 if keys is None else sum(k in data.test_only for k in keys)


def member_losses(scores: Any, test_labels: np.ndarray, train_keys: list[bytes] | None,
                  data: GraderData) -> tuple[float, float] | None:
    """The model's mean loss on the loaded test images the probe drew and on the rows of the notebook's x_train it
    drew (their labels are the grader's, found by digest); None when either cannot be had (other checks say why)."""
    test, train = scores.get("test"), scores.get("train")
    if test is None or train is None or train_keys is None:
        return None
    rows = inputs.member_train_rows(len(train_keys))
    labels = [data.train_labels.get(train_keys[i], set()) for i in rows]
    known = np.array([len(found) == 1 for found in labels])  # images of the training files, with one label
    test, train = np.asarray(test), np.asarray(train)
    if test.shape != (len(test_labels), NUM_CLASSES) or train.shape != (len(rows), NUM_CLASSES) or not known.any():
        return None
    train_labels = np.array([next(iter(found)) for found, ok in zip(labels, known, strict=True) if ok])
    return reference.cross_entropy(test, test_labels), reference.cross_entropy(train[known], train_labels)


def memorised_failure(test_loss: float, train_loss: float, floor: float) -> CheckFailure:
    return CheckFailure(
        f"正解率は測りません / accuracy not measured: データフォルダーのテスト画像に対する損失 ({test_loss:.4g}) が、"
        f"x_train の画像に対する損失 ({train_loss:.4g}) の {floor:g} 倍未満です。テスト画像で学習した (または答えを表から"
        "引いた) モデルに見られる差で、見たことのない画像に対する性能を表しません。学習には x_train だけを使ってください / "
        f"the model's loss on the loaded test images ({test_loss:.4g}) is under {floor:g} times its loss on the "
        f"images of x_train ({train_loss:.4g}): that is what a model trained on the test images (or one that looks "
        "their labels up) shows, and its accuracy says nothing about unseen images. Train on x_train only"
    )


TRAINING_CELL = "fit"  # the locked cell of either notebook that trains the model (and times it)


def _check_trained(notebook: str, model: Any, preprocess: Callable, train_seconds: Any, x_train: Any,
                   x_val: Any) -> None:
    data = grader_data()
    bar = THRESHOLDS[(data.profile, notebook)]
    keys = {name: _digests_of(array, name) for name, array in (("x_train", x_train), ("x_val", x_val))}
    for name in ("x_train", "x_val"):
        hits = _test_images_in(keys[name], data)
        if hits:
            raise CheckFailure(
                f"{name} にテスト用の画像が {hits} 枚あります。テスト用の画像で学習・検証したモデルの正解率は評価に使え"
                f"ません / {name} holds {hits} test images: the accuracy of a model trained or validated on the "
                "test images says nothing about new images, so it is not graded"
            )
    facts = outputs.predicted_classes(model, preprocess, data.x_test)
    accuracy = measured_accuracy(facts.get("predicted") if isinstance(facts, dict) else None, data)
    seconds, device = outputs.train_seconds(train_seconds)
    # the grader's own timing of the locked training cell while grading; the notebook's figure is the kernel's word
    measured = measured_seconds(TRAINING_CELL)
    seconds = float(seconds) if measured is None else measured
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
                           f"(device: {device}; the smaller of wall and CPU seconds)")
    # last: only a model that reached the bar is asked whether it saw the test images: by its answers as the kernel
    # reports them (a lookup in forward shows there), then, run by the grader, by its weights (issue 18.5)
    test_rows = inputs.member_test_rows(len(data.x_loaded))
    scores = outputs.member_outputs(model, preprocess, data.x_loaded[test_rows], x_train)
    _require_unseen("answered_test_to_train_loss", member_losses(scores, data.y_loaded[test_rows], keys["x_train"], data),
                    bar.member_ratio)
    network = audit.require_own_predictions(audit.exercise_networks(facts, notebook, "model"), facts, data.x_test,
                                            "model")
    _require_unseen("test_to_train_loss", audit.own_member_losses(network, facts, data, keys["x_train"]),
                    bar.member_ratio)


def _require_unseen(metric: str, losses: tuple[float, float] | None, ratio: float) -> None:
    """The mean loss on loaded test images above ``ratio`` times the loss on training images (None: not measurable)."""
    if losses is None:
        return
    report_metric(metric, losses[0] / max(losses[1], MEMBER_EPSILON), threshold=ratio)
    # not above the bar, equal included: a lookup certain on the loaded test images and on the training images
    # has a loss of 0 on both, which no honest model has on test images
    if not losses[0] > ratio * losses[1]:
        raise memorised_failure(*losses, ratio)


@judged
def check_test_accuracy(model: Any, preprocess: Callable, train_seconds: Any, x_train: Any, x_val: Any) -> None:
    """The normal notebook's trained model on the grader's test images: accuracy and training time within THRESHOLDS."""
    _check_trained(NORMAL, model, preprocess, train_seconds, x_train, x_val)


@judged
def check_test_accuracy_hard(model: Any, preprocess: Callable, train_seconds: Any, x_train: Any, x_val: Any) -> None:
    """The hard notebook's trained model on the grader's test images: accuracy and training time within THRESHOLDS."""
    _check_trained(HARD, model, preprocess, train_seconds, x_train, x_val)


# ------------------------------------------------------------------ confusion matrix


@judged
def check_confusion_matrix(fn: Callable) -> None:
    check_function(fn, inputs.confusion_cases(), reference.confusion_matrix, rtol=0, atol=0, name="confusion_matrix",
                   check_dtype=True, forbidden=inputs.FORBIDDEN_CONFUSION)

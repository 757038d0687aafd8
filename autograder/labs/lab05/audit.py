"""What the grader measures of a trained lab-05 network itself, from the state the kernel sent
(:mod:`autograder.kernel.probes.lab05.network`), instead of taking the kernel's word (issue 18.5):

- the network is the exercise's (the normal notebook's table, or ResNet-9 of the width it was built with), and the
  grader loads the sent parameters and BatchNorm statistics into its own copy of it (:func:`exercise_networks`; Net's
  first linear layer read in each order of flattening its feature map);
- the classes the kernel reported for the grader's test images must be that network's own
  (:func:`require_own_predictions`): a forged record, or a model whose ``forward`` answers from elsewhere, is refused;
- the losses on loaded test images and on images of the notebook's ``x_train``, which the membership test compares,
  are computed here (:func:`own_member_losses`) on rows the kernel cannot know: a forged record, or a ``forward``
  that answers loaded test images badly on purpose, cannot hide weights trained on the test images.

Images go into the network as the student's preprocess made them, modelled as a scale and an offset per input value
(:func:`autograder.kernel.probes.lab05.network.pixel_scale`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autograder.kernel import held_out
from autograder.kernel.compare import CheckFailure
from autograder.kernel.probes.lab05.network import STATE_MAX
from autograder.labs.lab05 import reference
from autograder.labs.lab05.data import GraderData
from autograder.labs.lab05.thresholds import (
    AUDIT_AGREEMENT,
    AUDIT_IMAGES,
    AUDIT_SEED,
    GRADER_MEMBER_ROWS,
    GRADER_MEMBER_SEED,
    NETWORK_RTOL,
    NORMAL,
)

BATCH = 500  # images through the grader's copy of the network at once
# Net's last feature map, (channels, height, width), flattened into its first linear layer in whichever order of the
# axes the student's forward chose: PyTorch's (C, H, W), or channels last as Keras flattens (a permute before
# flatten). Net's table does not fix it, and every order is the exercise's network with that layer's inputs
# permuted, so the grader reads the layer in each order and keeps one that gives the network's own outputs.
FEATURE_MAP = (128, 4, 4)
FLATTEN_ORDERS = ((0, 1, 2), (1, 2, 0), (0, 2, 1), (1, 0, 2), (2, 0, 1), (2, 1, 0))  # the likeliest first


def _torch():
    import torch  # imported lazily: the grader imports the labs' checks to find them, most never run

    return torch


def cannot_run(label: str, reason: str) -> CheckFailure:
    return CheckFailure(
        f"{label}: 採点側でネットワークを計算し直せません / the grader cannot run this network itself: {reason}\n"
        "  正解率は、課題のネットワーク (Net は表のとおり、ResNet9 は課題の構成) に学習した重みを入れて、採点側で確かめます / "
        "the accuracy is confirmed by the grader, with the trained weights in the exercise's network (Net as its "
        "table, ResNet9 as the exercise builds it)"
    )


class NotTheExercises(ValueError):
    """The sent state does not fit the exercise's network; the message says what differs."""


def _width(entries: list) -> int:
    """The width ResNet9 was built with: the output channels of its first convolution (the one on 3 channels)."""
    for _, value in entries:
        if value.ndim == 4 and value.shape[1:] == (3, 3, 3):
            return int(value.shape[0])
    raise NotTheExercises("it has no 3x3 convolution of the 3 colour channels")


def _load(model: Any, entries: list) -> None:
    """Each floating-point entry of ``model``'s state, in order, gets the first unused sent entry of its kind (weight,
    bias, running_mean, running_var) and shape: names and the order of other kinds do not matter. NotTheExercises
    when an entry is missing or left over."""
    torch = _torch()
    used = [False] * len(entries)
    state = {}
    for name, tensor in model.state_dict().items():
        if not tensor.is_floating_point():
            continue  # BatchNorm's num_batches_tracked
        kind = name.rsplit(".", 1)[-1]
        for i, (sent, value) in enumerate(entries):
            if not used[i] and sent.rsplit(".", 1)[-1] == kind and value.shape == tuple(tensor.shape):
                used[i] = True
                state[name] = torch.from_numpy(value)
                break
        else:
            raise NotTheExercises(f"it has no {kind} of shape {tuple(tensor.shape)} for the exercise's layer {name}")
    extra = [f"{sent} {tuple(value.shape)}" for (sent, value), u in zip(entries, used, strict=True) if not u]
    if extra:
        raise NotTheExercises(f"it has parameters the exercise's network does not: {', '.join(extra[:4])}")
    model.load_state_dict(state, strict=False)


def _entries(sent: Any) -> list:
    """The sent state as [(name, float32 array)]; ValueError (or TypeError) if it is not one."""
    return [(str(name), np.asarray(value, dtype=np.float32)) for name, value in sent]


def _flattened_from(entries: list, order: tuple) -> list:
    """``entries`` with Net's first linear layer (its weight of shape (hidden, C*H*W)) read as flattened from the
    feature map's axes in ``order`` (of (C, H, W)), its columns put in PyTorch's order: the same network."""
    size = int(np.prod(FEATURE_MAP))
    shape = tuple(FEATURE_MAP[axis] for axis in order)
    back = tuple(1 + int(i) for i in np.argsort(order))  # where each of C, H, W stands in ``order``
    read = []
    for name, value in entries:
        if name.rsplit(".", 1)[-1] == "weight" and value.ndim == 2 and value.shape[1] == size:
            value = np.ascontiguousarray(value.reshape(len(value), *shape).transpose(0, *back).reshape(len(value), size))
        read.append((name, value))
    return read


def _holding(entries: list, notebook: str) -> list:
    """The exercise's network for ``notebook`` (Net, or ResNet-9 of the sent width) holding ``entries``, in eval
    mode on the CPU (as the grader's small model: a CUDA context in the judge would take GPU memory the kernels are
    packed by): for Net one per order of flattening (FLATTEN_ORDERS, PyTorch's first). NotTheExercises if they do
    not fit it."""
    if notebook != NORMAL:
        model = reference.reference_resnet9(_width(entries))
        _load(model, entries)
        return [model.eval()]
    models = []
    for order in FLATTEN_ORDERS:
        model = reference.reference_net()
        _load(model, _flattened_from(entries, order))
        models.append(model.eval())
    return models


def exercise_networks(facts: dict, notebook: str, label: str) -> list:
    """The exercise's network (:func:`reference.reference_net`, one per order of flattening, or
    :func:`reference.reference_resnet9` of the sent width) in eval mode, on the CPU, holding the state the kernel
    sent; CheckFailure if it cannot."""
    sent = facts.get("state") if isinstance(facts, dict) else None
    if not sent:
        raise cannot_run(label, f"no parameters were recorded (a network over {STATE_MAX:,} values is not sent)")
    scale = facts.get("scale")
    if scale is None:
        raise cannot_run(label, "preprocess does not give images of shape (N, 3, 32, 32)")
    try:
        entries = _entries(sent)
        shapes = {np.asarray(scale[key], dtype=np.float32).shape for key in ("a", "b")}
    except (TypeError, ValueError, KeyError, IndexError):
        raise CheckFailure("記録が壊れています / malformed record: the model's state or preprocess scale") from None
    if shapes != {(3, 32, 32)}:
        raise CheckFailure("記録が壊れています / malformed record: the preprocess scale is not (3, 32, 32)")
    try:
        return _holding(entries, notebook)
    except NotTheExercises as error:
        raise cannot_run(label, str(error)) from None


def require_exercise_network(sent: Any, x: Any, out: Any, notebook: str, label: str, hint: str) -> None:
    """A new network's outputs ``out`` (N, 10) on images ``x`` (N, 3, 32, 32) are those of the exercise's network
    holding its state ``sent`` (the kernel gave BatchNorm random statistics first): each row less its mean, within
    NETWORK_RTOL of the largest. CheckFailure naming what differs (``hint``: where to look) otherwise."""
    torch = _torch()
    try:
        entries = _entries(sent)
    except (TypeError, ValueError):
        raise CheckFailure(f"記録が壊れています / malformed record: {label}'s parameters") from None
    try:
        models = _holding(entries, notebook)
    except NotTheExercises as error:
        raise CheckFailure(f"{label}: 課題のネットワークと層が違います / the layers are not the exercise's: {error}. {hint}") from None
    got = np.asarray(out, dtype=np.float64)
    got = got - got.mean(axis=1, keepdims=True)
    difference = np.inf
    for model in models:
        with torch.no_grad():
            own = model(torch.as_tensor(x).float()).double().numpy()
        own = own - own.mean(axis=1, keepdims=True)
        difference = min(difference, float(np.abs(got - own).max() / max(float(np.abs(own).max()), 1e-12)))
        if difference <= NETWORK_RTOL:
            return
    raise CheckFailure(
        f"{label}: 同じ重みを入れた課題のネットワークと出力が違います / the outputs are not those of the exercise's "
        f"network holding the same parameters (relative difference {difference:.2g}, at most {NETWORK_RTOL:g} "
        f"allowed). {hint}"
    )


def own_scores(model: Any, scale: dict, raw: np.ndarray) -> np.ndarray:
    """The network's scores (N, 10) float32 of raw images (N, 32, 32, 3) uint8, preprocessed as ``scale`` says."""
    torch = _torch()
    a = torch.as_tensor(np.asarray(scale["a"], dtype=np.float32))
    b = torch.as_tensor(np.asarray(scale["b"], dtype=np.float32))
    out = []
    with torch.no_grad():
        for start in range(0, len(raw), BATCH):
            x = torch.from_numpy(np.ascontiguousarray(raw[start:start + BATCH])).permute(0, 3, 1, 2).float()
            out.append(model(x * a + b).numpy())
    return np.concatenate(out) if out else np.zeros((0, reference.NUM_CLASSES), dtype=np.float32)


def require_own_predictions(models: list, facts: dict, x_test: np.ndarray, label: str) -> Any:
    """The one of ``models`` (:func:`exercise_networks`) whose classes the kernel reported for the grader's test
    images ``x_test`` (N, 32, 32, 3): on AUDIT_IMAGES of them, drawn with the held-out secret, at least
    AUDIT_AGREEMENT get the reported class (or the class of the mirrored image). CheckFailure if none does."""
    rows = held_out.rng(AUDIT_SEED).choice(len(x_test), size=min(AUDIT_IMAGES, len(x_test)), replace=False)
    images = x_test[rows]
    reported = np.asarray(facts["predicted"])[rows]
    best = 0.0
    for model in models:
        own = own_scores(model, facts["scale"], images).argmax(axis=1)
        mirrored = own_scores(model, facts["scale"], images[:, :, ::-1]).argmax(axis=1)
        agree = float(np.mean((reported == own) | (reported == mirrored)))
        if agree >= AUDIT_AGREEMENT:
            return model
        best = max(best, agree)
    raise CheckFailure(
        f"{label}: 予測したクラスが、モデルの重みで計算したものと一致しません / the predicted classes are not those of the "
        f"model's own weights: the grader ran them in the exercise's network on {len(rows)} of its test images and "
        f"got the reported class for {best:.1%} (at least {AUDIT_AGREEMENT:.0%} needed). forward が課題の"
        "ネットワーク以外のことをしていないか確かめてください / check that forward computes the exercise's network "
        "and nothing else"
    )


def own_member_losses(model: Any, facts: dict, data: GraderData,
                      train_keys: list[bytes] | None) -> tuple[float, float] | None:
    """``model``'s mean loss on GRADER_MEMBER_ROWS loaded test images and on as many images of the notebook's x_train
    (given by their digests, ``train_keys``; the images and labels are the training files'), both drawn with the
    held-out secret; None when x_train holds no image of the training files with one label."""
    if train_keys is None:
        return None
    known = [k for k in train_keys if len(data.train_labels.get(k, ())) == 1]
    if not known:
        return None
    rng = held_out.rng(GRADER_MEMBER_SEED)
    test_rows = np.sort(rng.choice(len(data.x_loaded), size=min(GRADER_MEMBER_ROWS, len(data.x_loaded)), replace=False))
    picked = rng.choice(len(known), size=min(GRADER_MEMBER_ROWS, len(known)), replace=False)
    train_rows = np.array([data.train_rows[known[i]] for i in picked])
    test = reference.cross_entropy(own_scores(model, facts["scale"], data.x_loaded[test_rows]), data.y_loaded[test_rows])
    train = reference.cross_entropy(own_scores(model, facts["scale"], data.x_train[train_rows]), data.y_train[train_rows])
    return test, train

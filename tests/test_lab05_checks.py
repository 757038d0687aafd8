"""Lab 05's hidden checks accept the reference solutions and reject each realistic mistake.

Runs in-process on the code of solutions/lab05/05_n.ipynb and 05_h.ipynb (no nbgrader) with the
CIFAR-10 stand-in in a temporary data directory, so a broken check shows here first, with the
check's own message. Nothing trains a CNN: the checks of train_model train the grader's own small
model on its toy problem (a few seconds), and the test-accuracy checks are given "models" that
answer from a table of the test images, so the accuracy they reach is chosen exactly.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import math

import matplotlib
import nbformat
import numpy as np
import pytest
import torch
from replay_harness import assert_same_verdict, judge_transcript, record, record_and_judge

from autograder.datasets import DATA_ENV, REAL, STANDIN, cifar10
from autograder.kernel import transcript
from autograder.kernel.compare import CheckFailure
from autograder.kernel.probes.lab05 import inputs, outputs
from autograder.labs import judged, lab05
from autograder.labs.lab05 import audit, checks, reference, thresholds
from autograder.labs.lab05 import data as grader

from conftest import REPO

matplotlib.use("Agg")

NORMAL_PIPELINE = ["imports", "load_data", "split_train_val", "prepare", "preprocess", "augment", "net", "evaluate",
                   "train_model", "confusion_matrix"]
HARD_PIPELINE = ["imports", "load_data", "split_train_val", "prepare", "preprocess", "random_crop", "augment",
                 "resnet9", "evaluate", "train_model"]
PIPELINES = {lab05.NORMAL: NORMAL_PIPELINE, lab05.HARD: HARD_PIPELINE}

# notebook -> {name in the notebook: its hidden check}, as the notebooks' hidden tests call them
FUNCTION_CHECKS = {
    lab05.NORMAL: {
        "split_train_val": lab05.check_split_train_val,
        "preprocess": lab05.check_preprocess,
        "augment": lab05.check_augment,
        "Net": lab05.check_net,
        "evaluate": lab05.check_evaluate,
        "train_model": lab05.check_train_model,
        "confusion_matrix": lab05.check_confusion_matrix,
    },
    lab05.HARD: {
        "split_train_val": lab05.check_split_train_val,
        "preprocess": lab05.check_preprocess,
        "random_crop": lab05.check_random_crop,
        "augment": lab05.check_augment_hard,
        "ResNet9": lab05.check_resnet9,
        "evaluate": lab05.check_evaluate,
        "train_model": lab05.check_train_model_hard,
    },
}
TEST_ACCURACY = {lab05.NORMAL: lab05.check_test_accuracy, lab05.HARD: lab05.check_test_accuracy_hard}


def _cells(kind: str, notebook: str) -> dict[str, str]:
    nb = nbformat.read(REPO / kind / "lab05" / f"{notebook}.ipynb", as_version=4)
    return {c.metadata["nbgrader"]["grade_id"]: c.source for c in nb.cells if c.cell_type == "code"}


def _run(cells: dict[str, str], names: list[str], replacements: dict[str, str] | None = None) -> dict:
    """Execute notebook cells (with some replaced) in a fresh namespace, as the notebook would (output hidden)."""
    ns: dict = {}
    threads = torch.get_num_threads()
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            for grade_id in names:
                source = (replacements or {}).get(grade_id, cells[grade_id])
                exec(compile(source, f"<{grade_id}>", "exec"), ns)
    finally:
        torch.set_num_threads(threads)
    return ns


def _quiet(check, *args):
    """Run a check without the student's printing (train_model prints every epoch)."""
    with contextlib.redirect_stdout(io.StringIO()):
        check(*args)


def _define(ns: dict, source: str, name: str):
    """``name`` as ``source`` defines it, in a copy of a notebook's namespace (its imports, MEAN, augment, ...)."""
    scope = dict(ns)
    exec(compile(source, f"<variant of {name}>", "exec"), scope)
    return scope[name]


@pytest.fixture(scope="module", autouse=True)
def data_dir(tmp_path_factory):
    """The stand-in, where the notebooks' load_cifar10 and the checks read it ($DL_LABS_DATA): never a download."""
    directory = tmp_path_factory.mktemp("data")
    cifar10.write_standin(directory)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(DATA_ENV, str(directory))
        yield directory


@pytest.fixture(scope="module")
def samples():
    module = importlib.import_module("make_lab05_samples")  # examples/ is on sys.path (conftest)
    return module


@pytest.fixture(scope="module")
def cells():
    return {nb: _cells("solutions", nb) for nb in PIPELINES}


@pytest.fixture(scope="module")
def solution(data_dir, cells):
    """notebook -> the answer key's namespace after its definitions and data cells (nothing trained)."""
    return {nb: _run(cells[nb], PIPELINES[nb]) for nb in PIPELINES}


@pytest.fixture(scope="module")
def data(data_dir):
    return grader.grader_data()


def _accuracy(model, preprocess) -> float:
    """The test accuracy the check measures: the classes the kernel's side predicts, counted by the grader's side."""
    data = grader.grader_data()
    return checks.measured_accuracy(outputs.predict_test(model, preprocess, data.x_test), data)


class TableModel(torch.nn.Module):
    """A "trained model" that answers from a table: the label of each test image as ``preprocess`` turns it.

    Right for the first ``right`` test images, wrong (the next class) for the others, so its accuracy
    through the same ``preprocess`` is exactly right / len(x_test). Images it does not know get class 0.
    ``learnt`` (images, labels): images it answers right and confidently, as a model its training images; without
    them its loss on the loaded test images is its loss on x_train, and the check refuses it as one that saw the
    test images (issue 18.4).
    """

    def __init__(self, preprocess, x_test: np.ndarray, y_test: np.ndarray, right: int, learnt=None):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.zeros(()))
        answers = np.where(np.arange(len(y_test)) < right, y_test, (y_test + 1) % 10)
        rows = preprocess(x_test).numpy().reshape(len(x_test), -1)
        self.table = {row.tobytes(): int(a) for row, a in zip(rows, answers, strict=True)}
        self.known = {}
        if learnt is not None:
            images, labels = learnt
            rows = preprocess(images).numpy().reshape(len(images), -1)
            self.known = {row.tobytes(): int(a) for row, a in zip(rows, labels, strict=True)}

    def forward(self, x):
        rows = [row.tobytes() for row in x.detach().cpu().numpy().reshape(len(x), -1)]
        labels = torch.tensor([self.known.get(row, self.table.get(row, 0)) for row in rows])
        scale = torch.tensor([[10.0 if row in self.known else 1.0] for row in rows])
        return scale * torch.nn.functional.one_hot(labels, 10).float() + 0 * self.weight


@pytest.fixture
def bars_only(monkeypatch):
    """The bars and the kernel's answers alone, for a TableModel (which is not the exercise's network): the grader's
    own run of the trained network (:mod:`autograder.labs.lab05.audit`) is tested on real networks below."""
    monkeypatch.setattr(audit, "exercise_networks", lambda facts, notebook, label: None)
    monkeypatch.setattr(audit, "require_own_predictions", lambda *args: None)
    monkeypatch.setattr(audit, "own_member_losses", lambda *args: None)


# ------------------------------------------------------------------ the reference


@pytest.mark.parametrize("notebook, name", [(nb, name) for nb, checks in FUNCTION_CHECKS.items() for name in checks])
def test_reference_solution_passes_every_function_check(solution, notebook, name):
    _quiet(FUNCTION_CHECKS[notebook][name], solution[notebook][name])


@pytest.mark.parametrize("notebook", sorted(PIPELINES))
def test_reference_split_passes_and_is_80_20_of_the_stand_ins_training_images(solution, notebook):
    ns = solution[notebook]
    lab05.check_split(ns["x_train"], ns["y_train"], ns["x_val"], ns["y_val"])
    assert (len(ns["x_train"]), len(ns["x_val"])) == reference.expected_split_sizes(len(ns["x_train_all"])) == (512, 128)


def test_the_split_sizes_are_those_of_cifar_10_and_the_stand_in():
    assert reference.expected_split_sizes(cifar10.REAL_TRAIN) == (40_000, 10_000)
    assert reference.expected_split_sizes(5 * cifar10.STANDIN_PER_BATCH) == (512, 128)


def test_the_figures_the_checks_state_are_the_notebooks(solution):
    assert sum(p.numel() for p in solution[lab05.NORMAL]["Net"]().parameters()) == reference.NET_PARAMETERS
    width = inputs.RESNET_CHECK_WIDTH
    hard = sum(p.numel() for p in solution[lab05.HARD]["ResNet9"](width=width).parameters())
    assert hard == sum(p.numel() for p in reference.reference_resnet9(width).parameters()) == 412_954  # the visible test's
    assert set(thresholds.THRESHOLDS) == {(p, nb) for p in (REAL, STANDIN) for nb in (lab05.NORMAL, lab05.HARD)}
    for bar in thresholds.THRESHOLDS.values():
        assert 0.1 < bar.min_accuracy < 1 and bar.max_train_seconds > 0
    assert thresholds.THRESHOLDS[(REAL, lab05.HARD)].min_accuracy > thresholds.THRESHOLDS[(REAL, lab05.NORMAL)].min_accuracy


def test_checks_leave_the_notebooks_random_numbers_alone(solution):
    """A hidden check between two cells must not change what the notebook draws next (training stays as the student's)."""
    torch.manual_seed(0)
    expected = torch.rand(5)
    torch.manual_seed(0)
    lab05.check_augment(solution[lab05.NORMAL]["augment"])
    lab05.check_random_crop(solution[lab05.HARD]["random_crop"])
    assert torch.equal(torch.rand(5), expected)


# ------------------------------------------------------------------ the trained model (test accuracy)


@pytest.mark.parametrize("notebook", sorted(PIPELINES))
def test_test_accuracy_is_measured_by_the_grader_against_the_profiles_threshold(solution, data, notebook, capsys,
                                                                                 bars_only):
    ns = solution[notebook]
    check = TEST_ACCURACY[notebook]
    bar = thresholds.THRESHOLDS[(STANDIN, notebook)]
    at_bar = math.ceil(bar.min_accuracy * len(data.x_test))
    model = TableModel(ns["preprocess"], data.x_test, data.y_test, at_bar, learnt=(ns["x_train"], ns["y_train"]))
    assert _accuracy(model, ns["preprocess"]) == at_bar / len(data.x_test)
    check(model, ns["preprocess"], 12.5, ns["x_train"], ns["x_val"])
    out = capsys.readouterr().out
    assert f"[metric] test_accuracy = {at_bar / len(data.x_test):g} (threshold >= {bar.min_accuracy:g})" in out
    assert f"[metric] train_seconds = 12.5 s (threshold <= {bar.max_train_seconds:g})" in out
    below = TableModel(ns["preprocess"], data.x_test, data.y_test, at_bar - 1)
    with pytest.raises(CheckFailure, match=rf"test accuracy too low: {(at_bar - 1) / 1000:.4f} < {bar.min_accuracy}"):
        check(below, ns["preprocess"], 12.5, ns["x_train"], ns["x_val"])
    with pytest.raises(CheckFailure, match="training took too long"):
        check(model, ns["preprocess"], bar.max_train_seconds + 1, ns["x_train"], ns["x_val"])
    # while grading, the grader's own timing of the locked cell "fit" counts, not the notebook's figure (issue 18.5)
    with judged.measured_cells({"fit": {"wall_s": bar.max_train_seconds + 1, "cpu_s": bar.max_train_seconds + 9}}):
        with pytest.raises(CheckFailure, match=rf"training took too long: {bar.max_train_seconds + 1:.1f} s"):
            check(model, ns["preprocess"], 12.5, ns["x_train"], ns["x_val"])
    with judged.measured_cells({"fit": {"wall_s": 30.0, "cpu_s": 20.0}}):
        check(model, ns["preprocess"], bar.max_train_seconds + 100, ns["x_train"], ns["x_val"])


def test_the_real_profile_has_its_own_higher_bar(solution, data, monkeypatch, bars_only):
    ns = solution[lab05.NORMAL]
    right = math.ceil(thresholds.THRESHOLDS[(STANDIN, lab05.NORMAL)].min_accuracy * 1000) + 20  # between the two bars
    model = TableModel(ns["preprocess"], data.x_test, data.y_test, right, learnt=(ns["x_train"], ns["y_train"]))
    lab05.check_test_accuracy(model, ns["preprocess"], 1.0, ns["x_train"], ns["x_val"])
    monkeypatch.setattr(cifar10, "profile", lambda directory=None: REAL)
    monkeypatch.setattr(grader, "_CACHE", {})
    assert grader.grader_data().profile == REAL
    with pytest.raises(CheckFailure, match=rf"< {thresholds.THRESHOLDS[(REAL, lab05.NORMAL)].min_accuracy} "):
        lab05.check_test_accuracy(model, ns["preprocess"], 1.0, ns["x_train"], ns["x_val"])


def test_test_accuracy_goes_through_the_students_preprocess(solution, data):
    ns = solution[lab05.NORMAL]
    model = TableModel(ns["preprocess"], data.x_test, data.y_test, len(data.x_test))
    assert _accuracy(model, ns["preprocess"]) == 1.0

    def unnormalised(images, device="cpu"):
        return torch.as_tensor(images).to(device).permute(0, 3, 1, 2).float() / 255

    with pytest.raises(CheckFailure, match="test accuracy too low"):
        lab05.check_test_accuracy(model, unnormalised, 1.0, ns["x_train"], ns["x_val"])


def test_an_untrained_network_and_a_wrong_model_fail(solution):
    ns = solution[lab05.NORMAL]
    torch.manual_seed(0)
    with pytest.raises(CheckFailure, match="test accuracy too low"):
        lab05.check_test_accuracy(ns["Net"](), ns["preprocess"], 1.0, ns["x_train"], ns["x_val"])
    with pytest.raises(CheckFailure, match="not a trained model"):
        lab05.check_test_accuracy(None, ns["preprocess"], 1.0, ns["x_train"], ns["x_val"])
    with pytest.raises(CheckFailure, match=r"wrong output shape: expected \(500, 10\)"):
        lab05.check_test_accuracy(torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3072, 2)), ns["preprocess"],
                                  1.0, ns["x_train"], ns["x_val"])


@pytest.mark.parametrize("where", ["x_train", "x_val"])
def test_a_model_that_saw_test_images_is_not_measured(solution, data, where):
    ns = solution[lab05.NORMAL]
    model = TableModel(ns["preprocess"], data.x_test, data.y_test, len(data.x_test))
    arrays = {"x_train": ns["x_train"].copy(), "x_val": ns["x_val"].copy()}
    arrays[where][:5] = data.x_loaded[:5]  # the test images a student can load
    with pytest.raises(CheckFailure, match=f"{where} holds 5 test images"):
        lab05.check_test_accuracy(model, ns["preprocess"], 1.0, arrays["x_train"], arrays["x_val"])


def test_the_grader_says_when_it_has_no_data(tmp_path, monkeypatch):
    monkeypatch.setenv(DATA_ENV, str(tmp_path))
    with pytest.raises(CheckFailure, match="the grader cannot read its CIFAR-10"):
        grader.grader_data()


# ------------------------------------------------------------------ the sample mistakes


def _sample(cells, samples, student: str) -> tuple[str, dict]:
    (notebook, replacements), = samples.MISTAKES[student].items()
    return notebook, _run(cells[notebook], PIPELINES[notebook], replacements)


# student -> {function check that fails: a phrase of its message}; every other function check passes
SAMPLE_FAILURES = {
    "test-as-validation": {},
    "flip-at-test-time": {"preprocess": "no random augmentation .* at test time"},
    "mlp-instead-of-cnn": {"Net": "the network has 0 convolution layers"},
    "same-crop-for-batch": {"random_crop": "every image was cropped at the same offset",
                            "augment": "every image was cropped at the same offset"},
    "no-eval-mode": {"evaluate": r"call model.eval\(\) before evaluating",
                     "train_model": r"validation images went through the model in training mode"},
}


@pytest.mark.parametrize("student", sorted(SAMPLE_FAILURES))
def test_each_sample_mistake_fails_exactly_its_function_checks(cells, samples, student):
    notebook, ns = _sample(cells, samples, student)
    failing = SAMPLE_FAILURES[student]
    for name, check in FUNCTION_CHECKS[notebook].items():
        if name in failing:
            with pytest.raises(CheckFailure, match=failing[name]):
                _quiet(check, ns[name])
        else:
            _quiet(check, ns[name])


def test_test_images_for_validation_fail_the_split_and_the_accuracy(cells, samples, data):
    notebook, ns = _sample(cells, samples, "test-as-validation")
    with pytest.raises(CheckFailure, match="x_val contains 1000 test images"):
        lab05.check_split(ns["x_train"], ns["y_train"], ns["x_val"], ns["y_val"])
    model = TableModel(ns["preprocess"], data.x_test, data.y_test, len(data.x_test))  # whatever it reaches
    with pytest.raises(CheckFailure, match="x_val holds 1000 test images"):
        lab05.check_test_accuracy(model, ns["preprocess"], 1.0, ns["x_train"], ns["x_val"])


def test_the_other_samples_data_passes(cells, samples):
    for student in ("flip-at-test-time", "mlp-instead-of-cnn", "same-crop-for-batch", "no-eval-mode"):
        _, ns = _sample(cells, samples, student)
        lab05.check_split(ns["x_train"], ns["y_train"], ns["x_val"], ns["y_val"])


def test_an_mlp_trained_the_notebooks_way_stays_under_the_stand_in_bar(cells, samples, data):
    """The stand-in's classes are shapes anywhere in the image: a network without convolutions does not get them."""
    _, ns = _sample(cells, samples, "mlp-instead-of-cnn")
    torch.manual_seed(0)
    model = ns["Net"]()
    x, y = ns["preprocess"](ns["x_train"]), torch.from_numpy(ns["y_train"])
    xv, yv = ns["preprocess"](ns["x_val"]), torch.from_numpy(ns["y_val"])
    with contextlib.redirect_stdout(io.StringIO()):
        ns["train_model"](model, x, y, xv, yv, epochs=20, batch_size=64, lr=1e-3)  # the fit cell's settings
    accuracy = _accuracy(model, ns["preprocess"])
    assert 0.15 < accuracy < thresholds.THRESHOLDS[(STANDIN, lab05.NORMAL)].min_accuracy - 0.1, accuracy
    with pytest.raises(CheckFailure, match="test accuracy too low"):
        lab05.check_test_accuracy(model, ns["preprocess"], 1.0, ns["x_train"], ns["x_val"])


# ------------------------------------------------------------------ split: other mistakes

SPLIT = '''def split_train_val(x, y, val_fraction=0.2, seed=0):
    rng = np.random.default_rng(seed)
    perm = rng.permutation(len(x))
    n_val = round(len(x) * val_fraction)
    val_idx, train_idx = perm[:n_val], perm[n_val:]
    return {ret}
'''
RIGHT_RETURN = "x[train_idx], y[train_idx], x[val_idx], y[val_idx]"


@pytest.mark.parametrize("changes, message", [
    ({"ret": "x[train_idx], y[n_val:], x[val_idx], y[:n_val]"}, "labels no longer belong to their images"),
    ({"rng = np.random.default_rng(seed)": "rng = np.random.default_rng()"}, "the split changes from call to call"),
    ({"perm = rng.permutation(len(x))": "perm = rng.integers(0, len(x), len(x))"}, "duplicated or missing images"),
    ({"round(len(x) * val_fraction)": "round(len(x) * (1 - val_fraction))"}, "wrong sizes"),
    ({"ret": "x[train_idx], x[val_idx]"}, "must return 4 values"),
    ({"ret": "x[train_idx] / 255, y[train_idx], x[val_idx] / 255, y[val_idx]"}, "keep the images as they are"),
])
def test_split_train_val_mistakes_are_named(solution, changes, message):
    source = SPLIT.format(ret=changes.pop("ret", RIGHT_RETURN))
    for old, new in changes.items():
        assert old in source
        source = source.replace(old, new)
    with pytest.raises(CheckFailure, match=message):
        lab05.check_split_train_val(_define(solution[lab05.NORMAL], source, "split_train_val"))


def test_the_split_template_passes_as_written(solution):
    lab05.check_split_train_val(_define(solution[lab05.NORMAL], SPLIT.format(ret=RIGHT_RETURN), "split_train_val"))


def _split_variant(ns: dict, data, kind: str) -> tuple:
    x_tr, y_tr, x_va, y_va = (ns[k].copy() for k in ("x_train", "y_train", "x_val", "y_val"))
    if kind == "90/10":
        x_all, y_all = ns["x_train_all"], ns["y_train_all"]
        return x_all[:576], y_all[:576], x_all[576:], y_all[576:]
    if kind == "overlap":
        return x_tr, y_tr, x_tr[:128], y_tr[:128]
    if kind == "labels":
        return x_tr, y_tr, x_va, np.roll(y_va, 1)
    if kind == "normalised":
        return x_tr / 255, y_tr, x_va / 255, y_va
    if kind == "changed":
        return x_tr, y_tr, x_va ^ np.uint8(1), y_va
    if kind == "test in train":
        x_tr[:5] = data.x_loaded[:5]
        return x_tr, y_tr, x_va, y_va
    raise AssertionError(kind)


@pytest.mark.parametrize("kind, message", [
    ("90/10", r"wrong split sizes: got 576 / 64, expected 512 / 128"),
    ("overlap", "the same image is in both the training and the validation set"),
    ("labels", "labels do not belong to their images"),
    ("normalised", r"keep the images as loaded \(uint8"),
    ("changed", "128 images are not images of the training files"),
    ("test in train", "x_train contains 5 test images"),
])
def test_split_data_mistakes_are_named(solution, data, kind, message):
    with pytest.raises(CheckFailure, match=message):
        lab05.check_split(*_split_variant(solution[lab05.NORMAL], data, kind))


# ------------------------------------------------------------------ preprocess: other mistakes

PREPROCESS = '''def preprocess(images, device="cpu"):
    x = torch.as_tensor(images).to(device)
    x = x.permute(0, 3, 1, 2).float() / 255
    return TF.normalize(x, MEAN.tolist(), STD.tolist())
'''


@pytest.mark.parametrize("changes, message", [
    ({"torch.as_tensor(images)": "torch.as_tensor(images[..., ::-1].copy())"}, "the channels are not in R, G, B order"),
    ({"x.permute(0, 3, 1, 2)": "x.reshape(-1, 3, 32, 32)"}, r"reshaped to \(N, 3, 32, 32\) instead of permuted"),
    ({"return TF.normalize(x,": "return TF.hflip(TF.normalize(x,", "STD.tolist())": "STD.tolist()))"},
     "the images are flipped left-right"),
    ({"return TF.normalize(x, MEAN.tolist(), STD.tolist())": "return x"}, "mean 0 and standard deviation 1"),
    ({"MEAN.tolist()": "(MEAN * 255).tolist()"}, "mean 0 and standard deviation 1"),
    ({"return TF.normalize(x, MEAN.tolist(), STD.tolist())":
      "return TF.gaussian_blur(TF.normalize(x, MEAN.tolist(), STD.tolist()), [3, 3], [1.0, 1.0])"},
     "each output value must be .* of the pixel at the same place"),
    ({"STD.tolist())": "STD.tolist()).double()"}, "must be float32"),
    ({"STD.tolist())": "STD.tolist()).numpy()"}, "must return a torch tensor"),
    ({"STD.tolist())": "STD.tolist()).permute(0, 2, 3, 1)"}, r"wrong shape: expected \(200, 3, 32, 32\)"),
    ({"x = torch.as_tensor(images).to(device)": "raise NotImplementedError()"}, "not implemented yet"),
])
def test_preprocess_mistakes_are_named(solution, changes, message):
    source = PREPROCESS
    for old, new in changes.items():
        assert old in source
        source = source.replace(old, new)
    with pytest.raises(CheckFailure, match=message):
        lab05.check_preprocess(_define(solution[lab05.NORMAL], source, "preprocess"))


def test_the_preprocess_template_passes_as_written(solution):
    lab05.check_preprocess(_define(solution[lab05.NORMAL], PREPROCESS, "preprocess"))


@pytest.mark.parametrize("seed", [500, 600, 700, 800, 900, 1000, 1100, 1200])
def test_a_random_flip_at_test_time_is_caught_whatever_the_seeds(solution, samples, monkeypatch, seed):
    """torchvision's RandomHorizontalFlip on the batch: one decision per call, so some calls leave the images as they are."""
    ns = solution[lab05.NORMAL]
    preprocess = _define(ns, samples.FLIP_AT_TEST_TIME, "preprocess")
    monkeypatch.setattr(outputs, "STUDENT_SEED", seed)  # the seeds of the student's calls
    with pytest.raises(CheckFailure, match="flipped left-right|different results on every call"):
        lab05.check_preprocess(preprocess)


def test_a_probe_draws_the_same_student_randomness_whatever_ran_before(solution):
    """The student's random decisions depend on the probe's own calls only: the kernel's history (other checks, the
    same check a moment ago) changes neither the transcript nor the message of a failure that depends on them."""
    augment = _augment(solution[lab05.NORMAL], p_ud="0.5")
    _, first = record(lab05.check_augment, augment)
    lab05.check_random_crop(solution[lab05.HARD]["random_crop"])  # other student calls in between
    assert record(lab05.check_augment, augment)[1] == first
    with pytest.raises(CheckFailure) as here:
        lab05.check_augment(augment)
    assert judge_transcript(lab05.check_augment, first).message == str(here.value)


# ------------------------------------------------------------------ augment (normal): other mistakes

AUGMENT = '''def augment(x):
    n = x.shape[0]
    flip_lr = torch.rand(n, 1, 1, 1, device=x.device) < {p_lr}
    x = torch.where(flip_lr, TF.hflip(x), x)
    flip_ud = torch.rand(n, 1, 1, 1, device=x.device) < {p_ud}
    x = torch.where(flip_ud, TF.vflip(x), x)
    blur = torch.rand(n, 1, 1, 1, device=x.device) < {p_blur}
    x = torch.where(blur, TF.gaussian_blur(x, kernel_size=[3, 3], sigma=[1.0, 1.0]), x)
    return {ret}
'''
WHOLE_BATCH_FLIP = '''import torchvision.transforms.v2 as T


def augment(x):
    x = T.RandomHorizontalFlip(p=0.5)(x)  # one decision for the whole batch
    n = x.shape[0]
    flip_ud = torch.rand(n, 1, 1, 1, device=x.device) < 0.1
    x = torch.where(flip_ud, TF.vflip(x), x)
    blur = torch.rand(n, 1, 1, 1, device=x.device) < 0.1
    return torch.where(blur, TF.gaussian_blur(x, kernel_size=[3, 3], sigma=[1.0, 1.0]), x)
'''


def _augment(ns, p_lr="0.5", p_ud="0.1", p_blur="0.1", ret="x"):
    return _define(ns, AUGMENT.format(p_lr=p_lr, p_ud=p_ud, p_blur=p_blur, ret=ret), "augment")


@pytest.mark.parametrize("fields, message", [
    ({"p_ud": "0.5"}, r"the fraction of images with vflip is 0\.[45]\d\d, not about p = 0.1"),
    ({"p_lr": "0.1"}, r"the fraction of images with hflip is 0\.\d+, not about p = 0.5"),
    ({"p_blur": "0"}, r"the fraction of images with blur is 0\.000"),
    ({"ret": "x * 1.1"}, "changed by something other than a flip or a blur"),
    ({"ret": "x[:, :, 2:-2, 2:-2]"}, "must keep the shape"),
    ({"ret": "x.numpy()"}, "must return a torch tensor"),
])
def test_augment_mistakes_are_named(solution, fields, message):
    with pytest.raises(CheckFailure, match=message):
        lab05.check_augment(_augment(solution[lab05.NORMAL], **fields))


def test_the_augment_template_passes_as_written(solution):
    lab05.check_augment(_augment(solution[lab05.NORMAL]))


def test_augment_drawing_once_for_the_batch_or_the_same_every_call_is_named(solution):
    ns = solution[lab05.NORMAL]
    with pytest.raises(CheckFailure, match="hflip is applied to all images of the batch at once"):
        lab05.check_augment(_define(ns, WHOLE_BATCH_FLIP, "augment"))
    seeded = _define(ns, AUGMENT.format(p_lr=0.5, p_ud=0.1, p_blur=0.1, ret="x").replace(
        "    n = x.shape[0]\n", "    n = x.shape[0]\n    torch.manual_seed(0)\n"), "augment")
    with pytest.raises(CheckFailure, match="must draw new random decisions on every call"):
        lab05.check_augment(seeded)


# ------------------------------------------------------------------ random_crop and augment (hard): other mistakes

CROP = '''def random_crop(x, padding=4):
    n, c, h, w = x.shape
    padded = F.pad(x, ({pad},) * 4, mode="{mode}")
    dy = torch.randint(0, {high}, (n,), device=x.device)
    dx = torch.randint(0, {high}, (n,), device=x.device)
    rows = (dy[:, None] + torch.arange(h, device=x.device))[:, None, :, None]
    cols = (dx[:, None] + torch.arange(w, device=x.device))[:, None, None, :]
    batch = torch.arange(n, device=x.device)[:, None, None, None]
    channel = torch.arange(c, device=x.device)[None, :, None, None]
    out = padded[batch, channel, rows, cols]
    return {ret}
'''


def _crop(ns, pad="padding", mode="reflect", high="2 * padding + 1", ret="out"):
    return _define(ns, CROP.format(pad=pad, mode=mode, high=high, ret=ret), "random_crop")


@pytest.mark.parametrize("fields, message", [
    ({"high": "padding + 1"}, r"the offsets must cover 0..8 in each direction \(±4 pixels\), got rows \[-4, .*, 0\]"),
    ({"pad": "4"}, r"padding=2\):.* image \d+ \(and \d+ more\) is not a 32x32 crop of the image padded by 2"),
    ({"ret": "torch.where(torch.rand(n, 1, 1, 1) < 0.5, out.flip(-1), out)"}, "random_crop only crops: flip in augment"),
    ({"ret": "padded"}, r"must return a tensor of the same shape \(200, 3, 32, 32\), got \(200, 3, 40, 40\)"),
    ({"ret": "torch.roll(x, (2, 3), dims=(2, 3))"}, "is not a 32x32 crop of the image padded by 4"),
])
def test_random_crop_mistakes_are_named(solution, fields, message):
    with pytest.raises(CheckFailure, match=message):
        lab05.check_random_crop(_crop(solution[lab05.HARD], **fields))


def test_random_crops_of_zero_padded_images_pass_too(solution):
    lab05.check_random_crop(_crop(solution[lab05.HARD]))
    lab05.check_random_crop(_crop(solution[lab05.HARD], mode="constant"))


HARD_AUGMENT = '''def augment(x):
    x = random_crop(x, padding=4)
    flip = torch.rand(x.shape[0], 1, 1, 1, device=x.device) < {p}
    x = torch.where(flip, TF.hflip(x), x)
    return {ret}
'''


@pytest.mark.parametrize("fields, message", [
    ({"p": "0.5", "ret": "torch.where(torch.rand(x.shape[0], 1, 1, 1) < 0.5, TF.vflip(x), x)"},
     "no upside-down flips in the hard notebook"),
    ({"p": "0", "ret": "x"}, r"the fraction of left-right flips is 0\.000"),
    ({"p": "1", "ret": "x"}, r"the fraction of left-right flips is 1\.000"),
    ({"p": "0.5", "ret": "x * 2"}, "is not a 32x32 crop"),
])
def test_hard_augment_mistakes_are_named(solution, fields, message):
    with pytest.raises(CheckFailure, match=message):
        lab05.check_augment_hard(_define(solution[lab05.HARD], HARD_AUGMENT.format(**fields), "augment"))


def test_hard_augment_may_flip_before_cropping(solution):
    ns = solution[lab05.HARD]
    lab05.check_augment_hard(_define(ns, HARD_AUGMENT.format(p="0.5", ret="x"), "augment"))
    flip_first = '''def augment(x):
    flip = torch.rand(x.shape[0], 1, 1, 1, device=x.device) < 0.5
    return random_crop(torch.where(flip, TF.hflip(x), x), padding=4)
'''
    lab05.check_augment_hard(_define(ns, flip_first, "augment"))


# ------------------------------------------------------------------ Net and ResNet9: other mistakes

NET = '''class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(64, 128, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        )
        self.classifier = nn.Sequential(nn.Flatten(), nn.Dropout(0.25), nn.Linear(2048, {hidden}), nn.ReLU(),
                                        nn.Dropout(0.25), nn.Linear({hidden}, {classes}))

    def forward(self, x):
        return {ret}
'''


def _net(ns, hidden="256", classes="10", ret="self.classifier(self.features(x))"):
    return _define(ns, NET.format(hidden=hidden, classes=classes, ret=ret), "Net")


@pytest.mark.parametrize("fields, message", [
    ({"ret": "torch.softmax(self.classifier(self.features(x)), dim=1)"}, r"the output is probabilities \(after softmax\)"),
    ({"hidden": "512"}, "wrong number of parameters: expected 620,362"),
    ({"classes": "100"}, r"wrong output shape: expected \(6, 10\)"),
    ({"ret": "self.classifier(self.features(x - x.mean(dim=0)))"}, "one image's output depends on the other images"),
    ({"ret": "self.classifier(self.features(x)) * float('nan')"}, "the output contains NaN or Inf"),
])
def test_net_mistakes_are_named(solution, fields, message):
    with pytest.raises(CheckFailure, match=message):
        lab05.check_net(_net(solution[lab05.NORMAL], **fields))


def test_the_net_template_passes_and_two_convolutions_are_too_few(solution):
    ns = solution[lab05.NORMAL]
    lab05.check_net(_net(ns))
    two = NET.format(hidden=256, classes=10, ret="self.classifier(self.features(x))").replace(
        "            nn.Conv2d(64, 128, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),\n", "").replace("2048", "4096")
    with pytest.raises(CheckFailure, match="the network has 2 convolution layers"):
        lab05.check_net(_define(ns, two, "Net"))


NOT_THE_EXERCISES = "the outputs are not those of the exercise's network holding the same parameters"


@pytest.mark.parametrize("changes", [
    {"nn.Conv2d(64, 128, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)": "nn.Conv2d(64, 128, 3, padding=1), nn.MaxPool2d(2)"},
    {"nn.Linear(2048, {hidden}), nn.ReLU()": "nn.Linear(2048, {hidden}), nn.Tanh()"},
    {"nn.Conv2d(3, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)": "nn.Conv2d(3, 32, 3, padding=1), nn.ReLU(), nn.AvgPool2d(2)"},
    {"return {ret}": "return torch.relu({ret})"},
], ids=["a ReLU left out", "tanh in the classifier", "average pooling", "ReLU after the last layer"])
def test_an_architecture_that_keeps_the_parameters_fails_the_networks_own_part(solution, changes):
    """The grader runs the new network's parameters in the exercise's Net and compares the outputs: a mistake that
    keeps the parameter count is named by test_net, with where to look, not by the accuracy part."""
    source = NET
    for old, new in changes.items():
        assert old in source
        source = source.replace(old, new)
    cls = _define(solution[lab05.NORMAL], source.format(hidden=256, classes=10, ret="self.classifier(self.features(x))"),
                  "Net")
    with pytest.raises(CheckFailure, match=f"{NOT_THE_EXERCISES}.*check the order of the table"):
        lab05.check_net(cls)


@pytest.mark.parametrize("ret", ["torch.log_softmax(self.classifier(self.features(x)), dim=1)",
                                 "self.classifier(self.features(x)) - 3.0"])
def test_a_constant_per_image_is_the_same_network(solution, ret):
    """log_softmax (or any per-image constant) changes no softmax and no cross-entropy: it is the exercise's network."""
    lab05.check_net(_net(solution[lab05.NORMAL], ret=ret))


@pytest.mark.parametrize("flat", ["h.permute(0, 2, 3, 1).flatten(1)", "torch.flatten(h.movedim(1, -1), 1)",
                                  "h.transpose(1, 3).reshape(len(h), -1)", "h.transpose(2, 3).flatten(1)"],
                         ids=["(H, W, C)", "(H, W, C) by movedim", "(W, H, C)", "(C, W, H)"])
def test_a_net_that_flattens_in_another_order_is_the_same_network_and_its_mistakes_are_still_named(solution, flat):
    """The order of the flattened feature map is the network's choice (channels last is Keras's): every order is the
    exercise's Net with the first linear layer's inputs permuted. A ReLU left out is still named."""
    ns = solution[lab05.NORMAL]
    source = NET.replace("nn.Flatten(), ", "").replace("return {ret}", "h = self.features(x)\n        return {ret}")
    ret = f"self.classifier({flat})"
    lab05.check_net(_define(ns, source.format(hidden=256, classes=10, ret=ret), "Net"))
    no_relu = source.replace("nn.Conv2d(64, 128, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)",
                             "nn.Conv2d(64, 128, 3, padding=1), nn.MaxPool2d(2)")
    with pytest.raises(CheckFailure, match=f"{NOT_THE_EXERCISES}.*check the order of the table"):
        lab05.check_net(_define(ns, no_relu.format(hidden=256, classes=10, ret=ret), "Net"))


RESNET9_AS_WRITTEN_OTHERWISE = '''
class ResNet9(nn.Module):
    def __init__(self, width=64, num_classes=10):
        super().__init__()
        w = width
        def block(a, b):
            return nn.ModuleList([nn.Conv2d(a, b, 3, padding=1, bias=False), nn.BatchNorm2d(b)])
        self.blocks = nn.ModuleList([block(3, w), block(w, 2 * w), block(2 * w, 2 * w), block(2 * w, 2 * w),
                                     block(2 * w, 4 * w), block(4 * w, 8 * w), block(8 * w, 8 * w), block(8 * w, 8 * w)])
        self.fc = nn.Linear(8 * w, num_classes)

    def forward(self, x):
        def run(i, x):
            conv, norm = self.blocks[i]
            return F.relu(norm(conv(x)))
        x = F.max_pool2d(run(1, run(0, x)), 2)
        x = run(3, run(2, x)) + x
        x = F.max_pool2d(run(5, F.max_pool2d(run(4, x), 2)), 2)
        x = x + run(7, run(6, x))
        return self.fc(torch.amax(x, dim=(2, 3)))
'''


def test_a_resnet9_written_otherwise_is_the_exercises_network(solution):
    lab05.check_resnet9(_define({**solution[lab05.HARD], "F": torch.nn.functional}, RESNET9_AS_WRITTEN_OTHERWISE, "ResNet9"))


@pytest.mark.parametrize("changes", [
    {"nn.BatchNorm2d(c_out),\n        nn.ReLU(inplace=True),": "nn.ReLU(inplace=True),\n        nn.BatchNorm2d(c_out),"},
    {"conv_bn(w, 2 * w), nn.MaxPool2d(2),": "nn.MaxPool2d(2), conv_bn(w, 2 * w),"},
    {"nn.AdaptiveMaxPool2d(1)": "nn.AdaptiveAvgPool2d(1)"},
], ids=["BatchNorm after the ReLU", "pooling before the block", "global average pooling"])
def test_a_resnet9_that_keeps_the_parameters_but_not_the_table_fails_its_own_part(cells, solution, changes):
    """BatchNorm gets random statistics (and scales of either sign) before the outputs: where it stands shows."""
    source = cells[lab05.HARD]["resnet9"]
    for old, new in changes.items():
        assert old in source
        source = source.replace(old, new)
    with pytest.raises(CheckFailure, match=f"{NOT_THE_EXERCISES}.*check that conv_bn is convolution -> BatchNorm -> ReLU"):
        lab05.check_resnet9(_define(solution[lab05.HARD], source, "ResNet9"))


@pytest.mark.parametrize("changes, message", [
    ({"return x + self.body(x)": "return self.body(x)"}, "the residual blocks do not add their input"),
    ({"bias=False": "bias=True"}, "wrong number of parameters: expected 412,954"),
    ({"nn.BatchNorm2d(c_out),": ""}, "got 8 nn.Conv2d and 0 nn.BatchNorm2d"),
    ({"w = width": "w = 64"}, "wrong number of parameters: expected 412,954"),
    ({"nn.Linear(8 * w, num_classes),": "nn.Linear(8 * w, num_classes), nn.Softmax(dim=1),"},
     r"the output is probabilities \(after softmax\)"),
])
def test_resnet9_mistakes_are_named(cells, solution, changes, message):
    source = cells[lab05.HARD]["resnet9"]
    for old, new in changes.items():
        assert old in source
        source = source.replace(old, new)
    with pytest.raises(CheckFailure, match=message):
        lab05.check_resnet9(_define(solution[lab05.HARD], source, "ResNet9"))


# ------------------------------------------------------------------ evaluate: other mistakes


@pytest.mark.parametrize("changes, message", [
    ({"    model.eval()  # Dropout off, BatchNorm with its running statistics\n": ""},
     r"call model.eval\(\) before evaluating"),
    ({"with torch.no_grad(), ": "with "}, r"evaluate inside `with torch.no_grad\(\):`"),
    ({"range(0, len(x), batch_size)": "range(0, len(x), len(x))", "x[i:i + batch_size], y[i:i + batch_size]":
      "x, y"}, r"at most batch_size at a time: got batches of \[250\]"),
    ({"return total_loss / len(x), correct / len(x)": "return total_loss, correct / len(x)"},
     r"wrong loss: expected \d\.\d+ \(mean cross-entropy over all 250 images\)"),
    ({"return total_loss / len(x), correct / len(x)": "return total_loss / len(x), correct"},
     "wrong accuracy"),
    ({"return total_loss / len(x), correct / len(x)": "return total_loss / len(x)"},
     r"must return \(loss, accuracy\)"),
])
def test_evaluate_mistakes_are_named(cells, solution, changes, message):
    source = cells[lab05.NORMAL]["evaluate"]
    for old, new in changes.items():
        assert old in source
        source = source.replace(old, new)
    with pytest.raises(CheckFailure, match=message):
        lab05.check_evaluate(_define(solution[lab05.NORMAL], source, "evaluate"))


def test_averaging_the_batches_losses_is_caught(solution):
    """The last of 4 batches has 58 images: the mean of the batch means weights them more than the rest."""
    source = '''def evaluate(model, x, y, batch_size=1000):
    model.eval()
    losses, correct = [], 0
    with torch.no_grad():
        for i in range(0, len(x), batch_size):
            logits = model(x[i:i + batch_size])
            losses.append(F.cross_entropy(logits, y[i:i + batch_size]).item())
            correct += (logits.argmax(dim=1) == y[i:i + batch_size]).sum().item()
    return sum(losses) / len(losses), correct / len(x)
'''
    with pytest.raises(CheckFailure, match="wrong loss"):
        lab05.check_evaluate(_define(solution[lab05.NORMAL], source, "evaluate"))


# ------------------------------------------------------------------ train_model: other mistakes


@pytest.mark.parametrize("changes, message", [
    ({"            optimizer.zero_grad()\n": ""}, r"gradients of earlier mini-batches were not reset .*zero_grad"),
    ({"    optimizer = torch.optim.Adam(model.parameters(), lr=lr)":
      "    model = __import__('copy').deepcopy(model)\n    optimizer = torch.optim.Adam(model.parameters(), lr=lr)"},
     "the parameters of the model passed in did not change"),
    ({"range(0, n, batch_size)": "range(0, n, n)", "perm[i:i + batch_size]": "perm"},
     r"wrong number of updates: expected 30 \(10 mini-batches"),
    ({"        val_loss, val_acc = evaluate(model, x_val, y_val)": "        val_loss, val_acc = 0.0, 0.0"},
     r"after every epoch, evaluate on the validation set in eval mode \(evaluate\): the model saw 0 images"),
    ({"lr=lr)": "lr=1e-7)"}, "training does not learn the grader's toy problem"),
    ({"x_train[idx]), y_train[idx]": "x_train[idx]), y_train[idx][torch.randperm(len(idx))]"},
     "training does not learn the grader's toy problem"),
])
def test_train_model_mistakes_are_named(cells, solution, changes, message):
    source = cells[lab05.NORMAL]["train_model"]
    for old, new in changes.items():
        assert old in source
        source = source.replace(old, new)
    with pytest.raises(CheckFailure, match=message):
        _quiet(lab05.check_train_model, _define(solution[lab05.NORMAL], source, "train_model"))


# Salts whose toy problem the former bar (a validation accuracy of 0.8) failed the 05_n reference on ("sweep-3": 0.675,
# its loss down 72 %), and others; thresholds.TRAIN_CHECK_LOSS_RATIO has the measurements over 60 salts.
LEARNING_SALTS = ["sweep-3", "sweep-0", "sweep-1", "course-A", "course-B", "tests-fixed-case-salt"]
NOT_LEARNING = {"lr 1e-7": {"lr=lr)": "lr=1e-7)"},
                "labels shuffled": {"x_train[idx]), y_train[idx]": "x_train[idx]), y_train[idx][torch.randperm(len(idx))]"}}


@pytest.mark.parametrize("salt", LEARNING_SALTS)
def test_whether_train_model_learns_does_not_depend_on_the_draw(cells, solution, salt):
    """The reference learns on every salt's toy problem, and the mistakes that do not learn fail on every one."""
    with contextlib.redirect_stdout(io.StringIO()):
        assert record_and_judge(lab05.check_train_model, solution[lab05.NORMAL]["train_model"], salt=salt)[1].passed
        for name, changes in NOT_LEARNING.items():
            source = cells[lab05.NORMAL]["train_model"]
            for old, new in changes.items():
                source = source.replace(old, new)
            verdict = record_and_judge(lab05.check_train_model, _define(solution[lab05.NORMAL], source, "train_model"),
                                       salt=salt)[1]
            assert not verdict.passed and "does not learn the grader's toy problem" in verdict.message, (name, verdict)


HISTORY = '''def train_model(*args, **kwargs):
    history = _reference_train_model(*args, **kwargs)
    {change}
    return history
'''


@pytest.mark.parametrize("change, message", [
    ("del history['val_acc']", r"the history has no \['val_acc'\]"),
    ("history['loss'] = history['loss'] * 2", r"history\['loss'\] must have one value per epoch \(3\), got 6"),
    ("history['acc'][-1] = float('nan')", "contains NaN or Inf"),
    ("history = None", "must return the history"),
    ("history['val_acc'] = [0.0] * len(history['val_acc'])", "the last val_acc is not the trained model's"),
])
def test_history_mistakes_are_named(solution, change, message):
    ns = dict(solution[lab05.NORMAL], _reference_train_model=solution[lab05.NORMAL]["train_model"])
    with pytest.raises(CheckFailure, match=message):
        _quiet(lab05.check_train_model, _define(ns, HISTORY.format(change=change), "train_model"))


@pytest.mark.parametrize("changes, message", [
    ({"            scheduler.step()  # one step of the schedule per mini-batch\n": ""},
     "the learning rate does not follow a one-cycle schedule"),
    ({"            scheduler.step()  # one step of the schedule per mini-batch\n": "",
      "        val_loss, val_acc = evaluate(model, x_val, y_val)":
      "        scheduler.step()\n        val_loss, val_acc = evaluate(model, x_val, y_val)"},
     "the learning rate does not follow a one-cycle schedule"),
    ({"            optimizer.zero_grad(set_to_none=True)\n": ""}, "were not reset before backward"),
    ({'"lr": []}': "}", "        history[\"lr\"].append(scheduler.get_last_lr()[0])\n": "",
      ", lr {history['lr'][-1]:.4f}": ""}, r"the history has no \['lr'\]"),
])
def test_hard_train_model_mistakes_are_named(cells, solution, changes, message):
    source = cells[lab05.HARD]["train_model"]
    for old, new in changes.items():
        assert old in source
        source = source.replace(old, new)
    with pytest.raises(CheckFailure, match=message):
        _quiet(lab05.check_train_model_hard, _define(solution[lab05.HARD], source, "train_model"))


def test_zero_grad_after_the_step_or_on_the_model_passes(cells, solution):
    source = cells[lab05.NORMAL]["train_model"].replace("            optimizer.zero_grad()\n", "").replace(
        "            scaler.update()\n", "            scaler.update()\n            model.zero_grad(set_to_none=False)\n")
    _quiet(lab05.check_train_model, _define(solution[lab05.NORMAL], source, "train_model"))


# ------------------------------------------------------------------ confusion_matrix and unimplemented functions


@pytest.mark.parametrize("body, message", [
    ("np.add.at(matrix, (np.asarray(y_pred), np.asarray(y_true)), 1)", "values differ"),
    ("matrix = matrix.astype(float)\n    np.add.at(matrix, (np.asarray(y_true), np.asarray(y_pred)), 1)",
     "dtype mismatch"),
    ("matrix = np.zeros((10, 10), dtype=np.int64)\n    np.add.at(matrix, (np.asarray(y_true), np.asarray(y_pred)), 1)",
     "shape mismatch"),
    ("from sklearn.metrics import confusion_matrix as cm\n    matrix = cm(y_true, y_pred, labels=range(num_classes))",
     "implement it yourself"),
])
def test_confusion_matrix_mistakes_are_named(solution, body, message):
    pytest.importorskip("sklearn")
    import sklearn.metrics  # noqa: F401  (the check only guards libraries the kernel has imported)

    source = ("def confusion_matrix(y_true, y_pred, num_classes=10):\n"
              "    matrix = np.zeros((num_classes, num_classes), dtype=np.int64)\n"
              f"    {body}\n    return matrix\n")
    with pytest.raises(CheckFailure, match=message):
        lab05.check_confusion_matrix(_define(solution[lab05.NORMAL], source, "confusion_matrix"))


@pytest.mark.parametrize("notebook", sorted(PIPELINES))
def test_the_released_functions_are_not_implemented_yet(solution, notebook):
    release = _cells("release", notebook)
    ns = dict(solution[notebook])
    for name, check in FUNCTION_CHECKS[notebook].items():
        if name in ("preprocess",):
            continue  # its cell computes MEAN and STD first: it stops before defining the function
        grade_id = {"Net": "net", "ResNet9": "resnet9"}.get(name, name)
        scope = dict(ns)
        exec(compile(release[grade_id], f"<release {grade_id}>", "exec"), scope)
        with pytest.raises(CheckFailure, match="not implemented yet"):
            check(scope[name])


# ------------------------------------------------------------------ the grader's replay (judged checks)
#
# Each check runs as in a grading kernel (its transcript recorded), then the grader replays it on the transcript
# alone: the student's functions, classes and models are stand-ins there that raise when called, and the grader
# must reach the kernel's verdict, with the same message.


def _replaced(source: str, changes: dict[str, str]) -> str:
    for old, new in changes.items():
        assert old in source
        source = source.replace(old, new)
    return source


def _same_verdict(check, *args, passes: bool, **kwargs) -> None:
    with contextlib.redirect_stdout(io.StringIO()):  # train_model prints every epoch
        verdict = assert_same_verdict(check, *args, **kwargs)
    assert verdict.passed is passes, verdict


@pytest.mark.parametrize("changes", [
    {}, {"ret": "x[train_idx], y[n_val:], x[val_idx], y[:n_val]"},
    {"rng = np.random.default_rng(seed)": "rng = np.random.default_rng()"},
    {"round(len(x) * val_fraction)": "round(len(x) * (1 - val_fraction))"}, {"ret": "x[train_idx], x[val_idx]"},
])
def test_the_grader_replays_check_split_train_val(solution, changes):
    changes = dict(changes)
    source = _replaced(SPLIT.format(ret=changes.pop("ret", RIGHT_RETURN)), changes)
    fn = _define(solution[lab05.NORMAL], source, "split_train_val")
    _same_verdict(lab05.check_split_train_val, fn, passes=not changes and RIGHT_RETURN in source)


@pytest.mark.parametrize("kind", [None, "90/10", "overlap", "labels", "normalised", "changed", "test in train"])
def test_the_grader_replays_check_split(solution, data, data_dir, kind):
    ns = solution[lab05.NORMAL]
    arrays = (ns["x_train"], ns["y_train"], ns["x_val"], ns["y_val"]) if kind is None else _split_variant(ns, data, kind)
    _same_verdict(lab05.check_split, *arrays, data_dir=str(data_dir), passes=kind is None)


@pytest.mark.parametrize("changes", [
    {}, {"torch.as_tensor(images)": "torch.as_tensor(images[..., ::-1].copy())"},
    {"return TF.normalize(x,": "return TF.hflip(TF.normalize(x,", "STD.tolist())": "STD.tolist()))"},
    {"return TF.normalize(x, MEAN.tolist(), STD.tolist())": "return x"},
    {"STD.tolist())": "STD.tolist()).double()"}, {"STD.tolist())": "STD.tolist()).numpy()"},
    {"x = torch.as_tensor(images).to(device)": "raise NotImplementedError()"},
])
def test_the_grader_replays_check_preprocess(solution, data_dir, changes):
    fn = _define(solution[lab05.NORMAL], _replaced(PREPROCESS, changes), "preprocess")
    _same_verdict(lab05.check_preprocess, fn, data_dir=str(data_dir), passes=not changes)


def test_the_grader_replays_check_preprocess_on_a_flip_at_test_time(solution, samples, data_dir):
    fn = _define(solution[lab05.NORMAL], samples.FLIP_AT_TEST_TIME, "preprocess")
    _same_verdict(lab05.check_preprocess, fn, data_dir=str(data_dir), passes=False)


@pytest.mark.parametrize("fields", [{}, {"p_ud": "0.5"}, {"p_blur": "0"}, {"ret": "x * 1.1"}, {"ret": "x.numpy()"}])
def test_the_grader_replays_check_augment(solution, fields):
    _same_verdict(lab05.check_augment, _augment(solution[lab05.NORMAL], **fields), passes=not fields)


@pytest.mark.parametrize("source", ["whole batch", "same every call"])
def test_the_grader_replays_check_augment_on_batch_and_seeded_draws(solution, source):
    ns = solution[lab05.NORMAL]
    seeded = AUGMENT.format(p_lr=0.5, p_ud=0.1, p_blur=0.1, ret="x").replace(
        "    n = x.shape[0]\n", "    n = x.shape[0]\n    torch.manual_seed(0)\n")
    fn = _define(ns, WHOLE_BATCH_FLIP if source == "whole batch" else seeded, "augment")
    _same_verdict(lab05.check_augment, fn, passes=False)


def test_the_biggest_transcript_fits(solution):
    """check_augment's outputs on its 1,000 probe images cross as data: its transcript stays under the limit."""
    _, payload = record(lab05.check_augment, solution[lab05.NORMAL]["augment"])
    assert len(json.dumps(payload)) < transcript.MAX_BYTES


@pytest.mark.parametrize("fields", [{}, {"high": "padding + 1"}, {"pad": "4"},
                                    {"ret": "torch.where(torch.rand(n, 1, 1, 1) < 0.5, out.flip(-1), out)"},
                                    {"ret": "padded"}])
def test_the_grader_replays_check_random_crop(solution, fields):
    _same_verdict(lab05.check_random_crop, _crop(solution[lab05.HARD], **fields), passes=not fields)


@pytest.mark.parametrize("fields", [
    {"p": "0.5", "ret": "x"}, {"p": "0.5", "ret": "torch.where(torch.rand(x.shape[0], 1, 1, 1) < 0.5, TF.vflip(x), x)"},
    {"p": "0", "ret": "x"}, {"p": "0.5", "ret": "x * 2"},
])
def test_the_grader_replays_check_augment_hard(solution, fields):
    fn = _define(solution[lab05.HARD], HARD_AUGMENT.format(**fields), "augment")
    _same_verdict(lab05.check_augment_hard, fn, passes=fields == {"p": "0.5", "ret": "x"})


@pytest.mark.parametrize("fields", [
    {}, {"ret": "torch.softmax(self.classifier(self.features(x)), dim=1)"}, {"hidden": "512"}, {"classes": "100"},
    {"ret": "self.classifier(self.features(x - x.mean(dim=0)))"},
])
def test_the_grader_replays_check_net(solution, fields):
    _same_verdict(lab05.check_net, _net(solution[lab05.NORMAL], **fields), passes=not fields)


def test_the_grader_replays_check_net_on_a_network_without_convolutions(cells, samples):
    _, ns = _sample(cells, samples, "mlp-instead-of-cnn")
    _same_verdict(lab05.check_net, ns["Net"], passes=False)


@pytest.mark.parametrize("changes", [
    {}, {"return x + self.body(x)": "return self.body(x)"}, {"bias=False": "bias=True"},
    {"nn.BatchNorm2d(c_out),": ""},
])
def test_the_grader_replays_check_resnet9(cells, solution, changes):
    fn = _define(solution[lab05.HARD], _replaced(cells[lab05.HARD]["resnet9"], changes), "ResNet9")
    _same_verdict(lab05.check_resnet9, fn, passes=not changes)


def test_the_residual_blocks_parameters_are_counted_without_a_model():
    for width in (4, 16, 64):
        built = sum(p.numel() for p in reference.reference_resnet9(width).parameters())
        assert reference.resnet9_parameters(width) == built


@pytest.mark.parametrize("changes", [
    {}, {"    model.eval()  # Dropout off, BatchNorm with its running statistics\n": ""},
    {"with torch.no_grad(), ": "with "},
    {"return total_loss / len(x), correct / len(x)": "return total_loss, correct / len(x)"},
    {"return total_loss / len(x), correct / len(x)": "return total_loss / len(x)"},
])
def test_the_grader_replays_check_evaluate(cells, solution, changes):
    fn = _define(solution[lab05.NORMAL], _replaced(cells[lab05.NORMAL]["evaluate"], changes), "evaluate")
    _same_verdict(lab05.check_evaluate, fn, passes=not changes)


@pytest.mark.parametrize("changes", [
    {}, {"            optimizer.zero_grad()\n": ""}, {"lr=lr)": "lr=1e-7)"},
    {"        val_loss, val_acc = evaluate(model, x_val, y_val)": "        val_loss, val_acc = 0.0, 0.0"},
])
def test_the_grader_replays_check_train_model(cells, solution, changes):
    fn = _define(solution[lab05.NORMAL], _replaced(cells[lab05.NORMAL]["train_model"], changes), "train_model")
    _same_verdict(lab05.check_train_model, fn, passes=not changes)


@pytest.mark.parametrize("change", ["history = None", "history['val_acc'] = [0.0] * len(history['val_acc'])"])
def test_the_grader_replays_check_train_model_on_a_wrong_history(solution, change):
    ns = dict(solution[lab05.NORMAL], _reference_train_model=solution[lab05.NORMAL]["train_model"])
    _same_verdict(lab05.check_train_model, _define(ns, HISTORY.format(change=change), "train_model"), passes=False)


@pytest.mark.parametrize("changes", [
    {}, {"            scheduler.step()  # one step of the schedule per mini-batch\n": ""},
])
def test_the_grader_replays_check_train_model_hard(cells, solution, changes):
    fn = _define(solution[lab05.HARD], _replaced(cells[lab05.HARD]["train_model"], changes), "train_model")
    _same_verdict(lab05.check_train_model_hard, fn, passes=not changes)


@pytest.mark.parametrize("notebook, case", [(lab05.NORMAL, "at the bar"), (lab05.NORMAL, "below the bar"),
                                            (lab05.NORMAL, "too slow"), (lab05.NORMAL, "test images in x_val"),
                                            (lab05.NORMAL, "not a model"), (lab05.HARD, "at the bar")])
def test_the_grader_replays_check_test_accuracy(solution, data, data_dir, notebook, case, bars_only):
    """The kernel sends the predicted classes; the grader counts them against the test labels it loads itself."""
    ns = solution[notebook]
    bar = thresholds.THRESHOLDS[(STANDIN, notebook)]
    right = math.ceil(bar.min_accuracy * len(data.x_test)) - (case == "below the bar")
    model = None if case == "not a model" else TableModel(ns["preprocess"], data.x_test, data.y_test, right,
                                                          learnt=(ns["x_train"], ns["y_train"]))
    seconds = bar.max_train_seconds + 1 if case == "too slow" else 12.5
    x_val = ns["x_val"].copy()
    if case == "test images in x_val":
        x_val[:5] = data.x_loaded[:5]
    _same_verdict(TEST_ACCURACY[notebook], model, ns["preprocess"], seconds, ns["x_train"], x_val,
                  data_dir=str(data_dir), passes=case == "at the bar")


@pytest.mark.parametrize("body", [
    "np.add.at(matrix, (np.asarray(y_true), np.asarray(y_pred)), 1)",
    "np.add.at(matrix, (np.asarray(y_pred), np.asarray(y_true)), 1)",
    "matrix = matrix.astype(float)\n    np.add.at(matrix, (np.asarray(y_true), np.asarray(y_pred)), 1)",
])
def test_the_grader_replays_check_confusion_matrix(solution, body):
    source = ("def confusion_matrix(y_true, y_pred, num_classes=10):\n"
              "    matrix = np.zeros((num_classes, num_classes), dtype=np.int64)\n"
              f"    {body}\n    return matrix\n")
    fn = _define(solution[lab05.NORMAL], source, "confusion_matrix")
    _same_verdict(lab05.check_confusion_matrix, fn, passes="(y_true), np.asarray(y_pred)), 1)" in body
                  and "float" not in body)


def test_the_grader_reads_the_students_source_for_a_forbidden_confusion_matrix(solution):
    """The kernel's guard only sees what the kernel imported; the grader reads the answer cells itself."""
    source = ("from sklearn.metrics import confusion_matrix as cm\n\n\n"
              "def confusion_matrix(y_true, y_pred, num_classes=10):\n"
              "    return cm(y_true, y_pred, labels=range(num_classes))\n")
    right = solution[lab05.NORMAL]["confusion_matrix"]  # what the kernel ran: the guard there found nothing
    raised, verdict = record_and_judge(lab05.check_confusion_matrix, right, answers=[source])
    assert raised is None and verdict.ename == "ForbiddenCall" and "sklearn.metrics.confusion_matrix" in verdict.message


# check -> the answer key's object it is given (the salted runs below)
SALTED = {
    "split_train_val": (lab05.NORMAL, lab05.check_split_train_val),
    "preprocess": (lab05.NORMAL, lab05.check_preprocess),
    "augment": (lab05.NORMAL, lab05.check_augment),
    "random_crop": (lab05.HARD, lab05.check_random_crop),
    "augment_hard": (lab05.HARD, lab05.check_augment_hard),
    "Net": (lab05.NORMAL, lab05.check_net),
    "ResNet9": (lab05.HARD, lab05.check_resnet9),
    "evaluate": (lab05.NORMAL, lab05.check_evaluate),
    "train_model": (lab05.NORMAL, lab05.check_train_model),
    "train_model_hard": (lab05.HARD, lab05.check_train_model_hard),
    "confusion_matrix": (lab05.NORMAL, lab05.check_confusion_matrix),
}


def _answer(solution, key: str):
    notebook, check = SALTED[key]
    return check, solution[notebook][key.removesuffix("_hard")]


@pytest.mark.parametrize("key", sorted(SALTED))
def test_the_answer_key_passes_on_a_courses_salted_inputs(solution, key):
    check, answer = _answer(solution, key)
    _same_verdict(check, answer, salt="a course's secret", passes=True)


@pytest.mark.parametrize("salt", ["salt 1", "salt 2", "salt 3", "salt 4", "salt 5", "salt 6"])
def test_the_evaluate_check_finds_a_clear_probe_whatever_the_salt(solution, salt):
    _same_verdict(lab05.check_evaluate, solution[lab05.NORMAL]["evaluate"], salt=salt, passes=True)


@pytest.mark.parametrize("key", ["split_train_val", "random_crop", "Net", "evaluate", "train_model",
                                 "confusion_matrix"])
def test_a_transcript_of_other_salted_inputs_gets_no_verdict(solution, key):
    """Random inputs are drawn with the course's salt: what the kernel recorded on others does not match the grader's."""
    check, answer = _answer(solution, key)
    with contextlib.redirect_stdout(io.StringIO()):
        _, payload = record(check, answer, salt="another course")
    verdict = judge_transcript(check, payload, salt="this course")
    assert verdict.ename == "NoVerdict" and "other inputs" in verdict.message, verdict


# ------------------------------------------------------------------ train_model: what the model was fed


def _fed(fn, hard: bool) -> tuple[float, float]:
    """train_model's fed fractions (as given, repeated) on the toy problem, as the check computes them."""
    problem = inputs.toy_problem()
    with contextlib.redirect_stdout(io.StringIO()):
        facts = outputs.training_facts(fn, hard, problem)
    return checks.fed_fractions(facts["fed"], problem[0], inputs.TRAIN_CHECK["epochs"])


@pytest.mark.parametrize("salt", ["", "salt 1", "salt 2", "salt 3"])
def test_the_answer_keys_feed_augmented_images_anew_every_epoch(solution, salt, monkeypatch):
    monkeypatch.setenv("AUTOGRADER_CASE_SALT", salt)
    as_given, repeated = _fed(solution[lab05.NORMAL]["train_model"], hard=False)
    assert 0.33 < as_given < 0.48 and 0.26 < repeated < 0.42  # 0.405 and 0.34 expected (thresholds.py)
    as_given, repeated = _fed(solution[lab05.HARD]["train_model"], hard=True)
    assert as_given < 0.05 and repeated < 0.05  # about 1 / 162 expected


# Each way of not augmenting what the model is trained on, whatever the augment function itself does.
NOT_AUGMENTED = {
    "augment skipped": {"xb, yb = augment(x_train[idx]), y_train[idx]": "xb, yb = x_train[idx], y_train[idx]"},
    "augment called, its result dropped": {
        "xb, yb = augment(x_train[idx]), y_train[idx]": "xb, yb = x_train[idx], y_train[idx]\n            augment(xb)"},
    "augment on a copy fed to nothing": {
        "xb, yb = augment(x_train[idx]), y_train[idx]":
        "xb, yb = x_train[idx], y_train[idx]\n            _shown = augment(xb.clone())"},
}
AUGMENTED_ONCE = {
    "the whole training set augmented once": {
        "    n = len(x_train)\n": "    n = len(x_train)\n    x_train = augment(x_train)\n",
        "xb, yb = augment(x_train[idx]), y_train[idx]": "xb, yb = x_train[idx], y_train[idx]"},
    "one augmented copy drawn per image, kept": {
        "    n = len(x_train)\n": "    n = len(x_train)\n    fixed = torch.cat([augment(x_train[i:i + 1]) for i in range(n)])\n",
        "xb, yb = augment(x_train[idx]), y_train[idx]": "xb, yb = fixed[idx], y_train[idx]"},
}


@pytest.mark.parametrize("notebook", [lab05.NORMAL, lab05.HARD])
@pytest.mark.parametrize("form", sorted(NOT_AUGMENTED) + sorted(AUGMENTED_ONCE))
def test_training_without_augmenting_every_mini_batch_fails(cells, solution, notebook, form):
    hard = notebook == lab05.HARD
    source = _replaced(cells[notebook]["train_model"], {**NOT_AUGMENTED, **AUGMENTED_ONCE}[form])
    message = "fed the training images as given" if form in NOT_AUGMENTED else "the same augmented images in every"
    check = lab05.check_train_model_hard if hard else lab05.check_train_model
    with pytest.raises(CheckFailure, match=message):
        _quiet(check, _define(solution[notebook], source, "train_model"))


def test_augmenting_the_batch_in_other_ways_passes(cells, solution):
    """Augmenting inside the loop however it is written: in place on a copy, by a helper, the flip drawn per image."""
    source = _replaced(cells[lab05.NORMAL]["train_model"], {
        "xb, yb = augment(x_train[idx]), y_train[idx]":
        "xb = x_train[idx].clone()\n            xb[:] = _augmented(xb)\n            yb = y_train[idx]"})
    ns = dict(solution[lab05.NORMAL], _augmented=lambda x: solution[lab05.NORMAL]["augment"](x))
    _quiet(lab05.check_train_model, _define(ns, source, "train_model"))


def test_the_grader_replays_the_fed_images(cells, solution):
    skipped = _replaced(cells[lab05.NORMAL]["train_model"], NOT_AUGMENTED["augment skipped"])
    _same_verdict(lab05.check_train_model, _define(solution[lab05.NORMAL], skipped, "train_model"), passes=False)


# ------------------------------------------------------------------ the grader's small model: its scores are the grader's


def _rescored(payload: dict, change) -> dict:
    """``payload`` with the recorded scores of the grader's model (the first call: its probe images) changed."""
    import base64

    forged = json.loads(json.dumps(payload))
    result = forged["calls"][0]["result"]
    scores = np.frombuffer(base64.b64decode(result["data"]), dtype=np.float32).reshape(result["shape"])
    result["data"] = base64.b64encode(change(scores).astype(np.float32).tobytes()).decode()
    return forged


@pytest.mark.parametrize("change, passes", [
    (lambda s: s * (1 + 1e-3), True),  # a GPU's TF32 round-off
    (lambda s: s + 1.0, False),
    (lambda s: np.roll(s, 1, axis=1), False),  # the scores of other classes: other labels, another expected loss
])
def test_the_grader_computes_its_small_models_scores_itself(solution, change, passes):
    _, payload = record(lab05.check_evaluate, solution[lab05.NORMAL]["evaluate"])
    verdict = judge_transcript(lab05.check_evaluate, _rescored(payload, change))
    assert verdict.passed is passes, verdict
    if not passes:
        assert "not those the grader computes" in verdict.message


def test_the_grader_computes_its_untrained_models_scores_itself(solution):
    with contextlib.redirect_stdout(io.StringIO()):
        _, payload = record(lab05.check_train_model, solution[lab05.NORMAL]["train_model"])
    label = inputs.training_call(False)[0]
    call = next(c for c in payload["calls"] if c["label"] == label)
    assert judge_transcript(lab05.check_train_model, payload).passed
    facts = dict(call["result"]["__dict__"])
    facts["val_before"] = facts["val_after"]  # the trained model's scores, claimed as the untrained model's
    call["result"]["__dict__"] = [[key, value] for key, value in facts.items()]
    verdict = judge_transcript(lab05.check_train_model, payload)
    assert not verdict.passed and "untrained model's scores are not those the grader computes" in verdict.message


def _with_facts(payload: dict, label: str, change) -> dict:
    """``payload`` with the facts of the train_model call ``label`` changed by ``change(facts)`` (a dict)."""
    forged = json.loads(json.dumps(payload))
    call = next(c for c in forged["calls"] if c["label"] == label)
    facts = dict(call["result"]["__dict__"])
    change(facts)
    call["result"]["__dict__"] = [[key, value] for key, value in facts.items()]
    return forged


@pytest.mark.parametrize("notebook", [lab05.NORMAL, lab05.HARD])
def test_the_grader_computes_its_trained_models_scores_itself(solution, notebook):
    """The learning check's validation scores after train_model are the grader's: its small model with the trained
    parameters (and, in 05_h, BatchNorm's statistics) the kernel recorded, run here. Scores claimed for parameters that
    do not give them, or parameters of another model, are refused."""
    hard = notebook == lab05.HARD
    check = lab05.check_train_model_hard if hard else lab05.check_train_model
    with contextlib.redirect_stdout(io.StringIO()):
        _, payload = record(check, solution[notebook]["train_model"])
    label = inputs.training_call(hard)[0]
    assert judge_transcript(check, payload).passed

    def sharper_scores_claimed(facts):  # the trained model's scores x 3: a lower validation loss than it has
        import base64

        scores = facts["val_after"]
        data = np.frombuffer(base64.b64decode(scores["data"]), dtype=np.float32) * 3
        facts["val_after"] = {**scores, "data": base64.b64encode(data.astype(np.float32).tobytes()).decode()}

    verdict = judge_transcript(check, _with_facts(payload, label, sharper_scores_claimed))
    assert not verdict.passed and "trained model's scores are not those the grader computes" in verdict.message

    def one_parameter_less(facts):
        facts["after"] = {"__list__": facts["after"]["__list__"][:-1]}  # the record's encoding of a list

    verdict = judge_transcript(check, _with_facts(payload, label, one_parameter_less))
    assert not verdict.passed and "parameters are not those of the grader's model" in verdict.message

"""The grader runs a trained lab-05 network itself (issue 18.5): the kernel sends the network's state and its
preprocess as a scale per input value (autograder.kernel.probes.lab05.network); the grader loads the state into the
exercise's network (autograder.labs.lab05.audit), holds the reported classes to it, and computes the membership
test's losses from it. Honest networks, written in other styles, pass; forged classes and lookups do not."""

from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest
import torch
from test_lab05_checks import HARD_PIPELINE, NORMAL_PIPELINE, _cells, _define, _run

from autograder.kernel.compare import CheckFailure
from autograder.kernel.held_out import HELD_OUT_SALT_ENV
from autograder.kernel.probes.lab05 import network, outputs
from autograder.labs import lab05
from autograder.labs.lab05 import audit, reference, thresholds
from autograder.labs.lab05 import data as grader

NOT_OWN = "the predicted classes are not those of the model's own weights"
CANNOT = "the grader cannot run this network itself"


@pytest.fixture(scope="module")
def data_dir(standin_data_dir):
    return standin_data_dir  # conftest: both stand-ins, the grader pointed at them


@pytest.fixture(scope="module")
def data(data_dir):
    return grader.grader_data()


@pytest.fixture(scope="module")
def ns(data_dir):
    return {lab05.NORMAL: _run(_cells("solutions", "05_n"), NORMAL_PIPELINE),
            lab05.HARD: _run(_cells("solutions", "05_h"), HARD_PIPELINE)}


def _trained(model, ns: dict, epochs: int = 1):
    """``model`` after a few epochs of the answer key's train_model on the stand-in (BatchNorm's statistics moved)."""
    torch.manual_seed(0)
    x, y = ns["preprocess"](ns["x_train"]), torch.from_numpy(ns["y_train"])
    xv, yv = ns["preprocess"](ns["x_val"]), torch.from_numpy(ns["y_val"])
    kwargs = {"lr": 1e-3} if "lr" in ns["train_model"].__code__.co_varnames else {"max_lr": 0.05}
    with contextlib.redirect_stdout(io.StringIO()):
        ns["train_model"](model, x, y, xv, yv, epochs=epochs, batch_size=64, **kwargs)
    return model.eval()


@pytest.fixture(scope="module")
def nets(ns):
    """notebook -> the answer key's network, trained one epoch (Net) or two (ResNet9 of width 12)."""
    torch.manual_seed(0)
    return {lab05.NORMAL: _trained(ns[lab05.NORMAL]["Net"](), ns[lab05.NORMAL]),
            lab05.HARD: _trained(ns[lab05.HARD]["ResNet9"](width=12), ns[lab05.HARD], epochs=2)}


def _facts(model, preprocess, data) -> dict:
    """What the kernel sends (in-process: no transcript session, the observation runs)."""
    return outputs.predicted_classes(model, preprocess, data.x_test)


def _audit(facts: dict, notebook: str, data) -> None:
    audit.require_own_predictions(audit.exercise_networks(facts, notebook, "model"), facts, data.x_test, "model")


@pytest.mark.parametrize("notebook", [lab05.NORMAL, lab05.HARD])
def test_the_grader_runs_the_answer_keys_network_as_the_kernel_does(ns, nets, data, notebook):
    model, preprocess = nets[notebook], ns[notebook]["preprocess"]
    facts = _facts(model, preprocess, data)
    own, *_ = audit.exercise_networks(facts, notebook, "model")
    rows = np.arange(200)
    with torch.no_grad():
        kernel = model(preprocess(data.x_test[rows])).numpy()
    grader_side = audit.own_scores(own, facts["scale"], data.x_test[rows])
    np.testing.assert_allclose(grader_side, kernel, rtol=1e-4, atol=1e-4)
    _audit(facts, notebook, data)


def test_a_resnet_sent_in_float16_still_passes(ns, nets, data, monkeypatch):
    monkeypatch.setattr(network, "STATE_FLOAT32_MAX", 0)  # as ResNet-9 of width 64 crosses
    facts = _facts(nets[lab05.HARD], ns[lab05.HARD]["preprocess"], data)
    assert all(value.dtype == np.float16 for _, value in facts["state"])
    _audit(facts, lab05.HARD, data)


NET_STYLES = {
    "functional forward, layers named, the linear layers first": '''
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc2 = nn.Linear(256, 10)
        self.fc1 = nn.Linear(2048, 256)
        self.conv1 = nn.Conv2d(3, 32, 3, padding=1)
        self.conv2 = nn.Conv2d(32, 64, 3, padding=1)
        self.conv3 = nn.Conv2d(64, 128, 3, padding=1)
        self.drop = nn.Dropout(0.25)

    def forward(self, x):
        for conv in (self.conv1, self.conv2, self.conv3):
            x = F.max_pool2d(F.relu(conv(x)), 2)  # pool after ReLU or before: the same
        x = x.reshape(x.size(0), -1)
        return self.fc2(self.drop(F.relu(self.fc1(self.drop(x)))))
''',
    "ModuleList and torch.flatten": '''
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.convs = nn.ModuleList([nn.Conv2d(a, b, kernel_size=(3, 3), padding="same")
                                    for a, b in ((3, 32), (32, 64), (64, 128))])
        self.head = nn.Sequential(nn.Linear(128 * 16, 256), nn.ReLU(), nn.Dropout(0.25), nn.Linear(256, 10))

    def forward(self, x):
        for conv in self.convs:
            x = nn.functional.max_pool2d(conv(x), 2).relu()
        return self.head(torch.flatten(x, 1))
''',
    "channels last, as Keras flattens": '''
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                                      nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                                      nn.Conv2d(64, 128, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
        self.fc1, self.fc2, self.drop = nn.Linear(4 * 4 * 128, 256), nn.Linear(256, 10), nn.Dropout(0.25)

    def forward(self, x):
        x = self.features(x).permute(0, 2, 3, 1).reshape(len(x), -1)  # (N, H, W, C) flattened
        return self.fc2(self.drop(torch.relu(self.fc1(self.drop(x)))))
''',
}


@pytest.mark.parametrize("style", sorted(NET_STYLES))
def test_a_net_written_in_another_style_is_the_exercises_network(ns, data, style):
    cls = _define(ns[lab05.NORMAL], NET_STYLES[style], "Net")
    with contextlib.redirect_stdout(io.StringIO()):
        lab05.check_net(cls)
    torch.manual_seed(1)
    model = _trained(cls(), ns[lab05.NORMAL])
    _audit(_facts(model, ns[lab05.NORMAL]["preprocess"], data), lab05.NORMAL, data)


# Registered in the reverse of the order it runs them: the residual blocks' two same-shaped convolutions and the
# three BatchNorms of 2w (and of 8w) channels included, which the grader tells apart only by the order of use.
RESNET9_REGISTERED_BACKWARDS = '''
class ResNet9(nn.Module):
    def __init__(self, width=64, num_classes=10):
        super().__init__()
        w = width
        self.fc = nn.Linear(8 * w, num_classes)
        sizes = [(3, w), (w, 2 * w), (2 * w, 2 * w), (2 * w, 2 * w), (2 * w, 4 * w), (4 * w, 8 * w), (8 * w, 8 * w),
                 (8 * w, 8 * w)]
        self.blocks = nn.ModuleList([conv_bn(a, b) for a, b in reversed(sizes)])

    def forward(self, x):
        def run(i, x):
            return self.blocks[7 - i](x)
        x = F.max_pool2d(run(1, run(0, x)), 2)
        x = x + run(3, run(2, x))
        x = F.max_pool2d(run(5, F.max_pool2d(run(4, x), 2)), 2)
        x = x + run(7, run(6, x))
        return self.fc(torch.amax(x, dim=(2, 3)))
'''


def test_a_resnet9_that_registers_its_layers_in_another_order_than_it_runs_them_is_the_exercises(ns, data):
    cls = _define({**ns[lab05.HARD], "F": torch.nn.functional}, RESNET9_REGISTERED_BACKWARDS, "ResNet9")
    with contextlib.redirect_stdout(io.StringIO()):
        lab05.check_resnet9(cls)
    torch.manual_seed(1)
    model = _trained(cls(width=12), ns[lab05.HARD])
    facts = _facts(model, ns[lab05.HARD]["preprocess"], data)
    names = [name for name, _ in facts["state"]]
    assert names[0] == "blocks.7.0.weight" and names.index("blocks.7.1.weight") < names.index("blocks.6.0.weight")
    _audit(facts, lab05.HARD, data)


def test_a_resnet9_that_runs_its_layers_through_forward_is_seen_in_the_order_it_runs_them(ns, data):
    """Calling a layer's ``.forward()`` skips the module's hooks: the order of use is watched at the torch function,
    where the layer's weights are used, however the layer was reached."""
    source = RESNET9_REGISTERED_BACKWARDS.replace("return self.blocks[7 - i](x)", "return self.blocks[7 - i].forward(x)")
    source = "class Block(nn.Sequential):\n    def forward(self, x):\n        for layer in self:\n" \
             "            x = layer.forward(x)\n        return x\n\n\n" + source.replace("conv_bn(a, b)", "Block(*conv_bn(a, b))")
    cls = _define({**ns[lab05.HARD], "F": torch.nn.functional}, source, "ResNet9")
    with contextlib.redirect_stdout(io.StringIO()):
        lab05.check_resnet9(cls)
    torch.manual_seed(1)
    model = _trained(cls(width=12), ns[lab05.HARD])
    _audit(_facts(model, ns[lab05.HARD]["preprocess"], data), lab05.HARD, data)


class _UsedBackwards(torch.nn.Module):
    def __init__(self, fail: bool = False):
        super().__init__()
        self.second, self.first, self.fail = torch.nn.Linear(4, 4), torch.nn.Linear(4, 4), fail
        self.norm = torch.nn.BatchNorm1d(4)

    def forward(self, x):
        if self.fail:
            raise RuntimeError("broken forward")
        return self.second(self.norm(self.first(x)))


def test_the_state_goes_in_the_order_of_use_and_the_modes_stay_as_they_were():
    model = _UsedBackwards().train()
    names = [name for name, _ in network.state_of(model, torch.randn(3, 4))]
    assert names == ["first.weight", "first.bias", "norm.running_mean", "norm.running_var", "norm.weight",
                     "norm.bias", "second.weight", "second.bias"]  # as F.linear and F.batch_norm take them
    assert all(module.training for module in model.modules())
    assert float(model.norm.num_batches_tracked) == 0  # the forward ran in eval mode: no statistics moved
    broken = [name for name, _ in network.state_of(_UsedBackwards(fail=True), torch.randn(3, 4))]
    assert broken[:2] == ["second.weight", "second.bias"]  # a failing forward: the state_dict's order


def test_preprocess_normalised_per_pixel_or_flipped_at_test_time_is_followed(ns, nets, data):
    base = ns[lab05.NORMAL]
    mean_image = base["x_train"].mean(axis=0).transpose(2, 0, 1) / 255  # (3, 32, 32): a per-pixel mean

    def per_pixel(images, device="cpu"):
        x = torch.as_tensor(images).permute(0, 3, 1, 2).float() / 255
        return (x - torch.as_tensor(mean_image, dtype=torch.float32)) / 0.25

    def flipped(images, device="cpu"):  # the sample mistake flip-at-test-time: half the images mirrored
        x = base["preprocess"](images, device)
        mirror = torch.rand(len(x)) < 0.5
        x[mirror] = x[mirror].flip(3)
        return x

    for preprocess in (per_pixel, flipped):
        facts = _facts(nets[lab05.NORMAL], preprocess, data)
        _audit(facts, lab05.NORMAL, data)


def test_pixel_scale_finds_a_normalisation_exactly_and_refuses_other_shapes():
    rng = np.random.default_rng(0)
    raw = rng.integers(0, 256, size=(50, 32, 32, 3), dtype=np.uint8)
    raw[:, 0, 0, :] = 7  # a value that is the same in every image
    a = rng.uniform(0.5, 2, size=(3, 32, 32))
    b = rng.uniform(-1, 1, size=(3, 32, 32))
    out = raw.transpose(0, 3, 1, 2) * a + b
    fit = network.pixel_scale(raw, out)
    known = np.ones((3, 32, 32), bool)
    known[:, 0, 0] = False
    np.testing.assert_allclose(fit["a"][known], a[known], rtol=1e-5)
    np.testing.assert_allclose((raw.transpose(0, 3, 1, 2) * fit["a"] + fit["b"]), out, rtol=1e-5, atol=1e-4)
    assert network.pixel_scale(raw, out.reshape(50, 32, 32, 3)) is None  # channels last: not what Net takes
    assert network.pixel_scale(raw, out[:, :2]) is None


def test_forged_classes_are_refused(ns, nets, data):
    facts = _facts(nets[lab05.NORMAL], ns[lab05.NORMAL]["preprocess"], data)
    accuracy = float(np.mean(facts["predicted"] == data.y_test))
    assert accuracy < 0.9  # one epoch: the true labels differ from the network's classes on many images
    forged = dict(facts, predicted=data.y_test.copy())  # the labels, as a nearest image of the loaded set gives them
    with pytest.raises(CheckFailure, match=NOT_OWN):
        _audit(forged, lab05.NORMAL, data)


def test_a_lookup_in_forward_is_not_the_networks_own(ns, nets, data):
    model = nets[lab05.NORMAL]
    preprocess = ns[lab05.NORMAL]["preprocess"]
    known = preprocess(data.x_loaded).reshape(len(data.x_loaded), -1)
    labels = torch.as_tensor(data.y_loaded)

    class Nearest(type(model)):
        def forward(self, x):  # the label of the nearest loaded test image: the copies find their originals
            return 20.0 * torch.nn.functional.one_hot(labels[torch.cdist(x.reshape(len(x), -1), known).argmin(1)], 10).float()

    lookup = Nearest()
    lookup.load_state_dict(model.state_dict())
    facts = _facts(lookup.eval(), preprocess, data)
    assert np.mean(facts["predicted"] == data.y_test) > 0.5  # the copies are moved and jittered: 0.65
    with pytest.raises(CheckFailure, match=NOT_OWN):
        _audit(facts, lab05.NORMAL, data)


def test_what_is_not_the_exercises_network_is_named(ns, nets, data):
    preprocess = ns[lab05.NORMAL]["preprocess"]
    facts = _facts(nets[lab05.NORMAL], preprocess, data)
    grown = dict(facts, state=[*facts["state"], ["extra.weight", np.zeros((10, 10), np.float32)]])
    with pytest.raises(CheckFailure, match=rf"{CANNOT}: it has parameters the exercise's network does not: extra.weight"):
        audit.exercise_networks(grown, lab05.NORMAL, "model")
    short = dict(facts, state=facts["state"][:-1])  # the last bias left out
    with pytest.raises(CheckFailure, match=rf"{CANNOT}: it has no bias of shape \(10,\)"):
        audit.exercise_networks(short, lab05.NORMAL, "model")
    with pytest.raises(CheckFailure, match=f"{CANNOT}: no parameters were recorded"):
        audit.exercise_networks(dict(facts, state=None), lab05.NORMAL, "model")
    with pytest.raises(CheckFailure, match=f"{CANNOT}: preprocess does not give images of shape"):
        audit.exercise_networks(dict(facts, scale=None), lab05.NORMAL, "model")
    for broken in (dict(facts, state=[["0.weight", "a string"]]), dict(facts, scale={"a": [1.0], "b": [0.0]}),
                   dict(facts, scale={"a": facts["scale"]["a"]})):
        with pytest.raises(CheckFailure, match="malformed record"):
            audit.exercise_networks(broken, lab05.NORMAL, "model")
    biased = reference.reference_resnet9(12)  # a realistic ResNet9 mistake: convolutions with a bias
    for module in biased.modules():
        if isinstance(module, torch.nn.Conv2d):
            module.bias = torch.nn.Parameter(torch.zeros(module.out_channels))
    state = network.state_of(biased)
    with pytest.raises(CheckFailure, match=rf"{CANNOT}: it has parameters the exercise's network does not: .*bias"):
        audit.exercise_networks(dict(facts, state=state), lab05.HARD, "model")


def test_the_membership_losses_are_the_networks_own_on_rows_drawn_with_the_secret(ns, nets, data, monkeypatch):
    model, preprocess = nets[lab05.NORMAL], ns[lab05.NORMAL]["preprocess"]
    facts = _facts(model, preprocess, data)
    own, *_ = audit.exercise_networks(facts, lab05.NORMAL, "model")
    keys = outputs.image_keys(ns[lab05.NORMAL]["x_train"])
    test_loss, train_loss = audit.own_member_losses(own, facts, data, keys)
    with torch.no_grad():  # the stand-in has 1000 test images and x_train 512: every one of them is compared
        expected_test = torch.nn.functional.cross_entropy(model(preprocess(data.x_loaded)),
                                                          torch.as_tensor(data.y_loaded)).item()
        expected_train = torch.nn.functional.cross_entropy(model(preprocess(ns[lab05.NORMAL]["x_train"])),
                                                           torch.as_tensor(ns[lab05.NORMAL]["y_train"])).item()
    assert test_loss == pytest.approx(expected_test, rel=1e-4) and train_loss == pytest.approx(expected_train, rel=1e-4)
    assert audit.own_member_losses(own, facts, data, None) is None
    monkeypatch.setattr(thresholds, "GRADER_MEMBER_ROWS", 100)
    monkeypatch.setattr(audit, "GRADER_MEMBER_ROWS", 100)
    losses = []
    for secret in ("one", "two"):
        monkeypatch.setenv(HELD_OUT_SALT_ENV, secret)
        losses.append(audit.own_member_losses(own, facts, data, keys))
    assert losses[0] != losses[1]  # other rows for another secret


def test_a_channels_last_net_is_measured_with_its_own_flattening(ns, data):
    """Net's first linear layer read in the order the network flattens: the membership losses the grader computes
    are the student's network's own, not those of a permuted network that happens to give most of its classes."""
    cls = _define(ns[lab05.NORMAL], NET_STYLES["channels last, as Keras flattens"], "Net")
    torch.manual_seed(2)
    model = _trained(cls(), ns[lab05.NORMAL])
    preprocess = ns[lab05.NORMAL]["preprocess"]
    facts = _facts(model, preprocess, data)
    pytorchs, *others = audit.exercise_networks(facts, lab05.NORMAL, "model")
    with pytest.raises(CheckFailure, match=NOT_OWN):
        audit.require_own_predictions([pytorchs], facts, data.x_test, "model")  # read as (C, H, W): another network
    own = audit.require_own_predictions([pytorchs, *others], facts, data.x_test, "model")
    rows = np.arange(100)
    with torch.no_grad():
        kernel = model(preprocess(data.x_test[rows])).numpy()
    np.testing.assert_allclose(audit.own_scores(own, facts["scale"], data.x_test[rows]), kernel, rtol=1e-4, atol=1e-4)


def test_a_net_that_leaves_out_a_relu_fails_test_net_and_the_accuracy_part(ns, data):
    """The exercise's network is what the grader runs: an architecture mistake that keeps the parameter count fails
    the network's own part (test_net, which runs a new network's parameters in the exercise's Net), and its trained
    weights do not give its classes there, which the accuracy part says with what to look at."""
    source = NET_STYLES["ModuleList and torch.flatten"].replace("max_pool2d(conv(x), 2).relu()", "max_pool2d(conv(x), 2)")
    cls = _define(ns[lab05.NORMAL], source, "Net")
    with pytest.raises(CheckFailure, match="the outputs are not those of the exercise's network"):
        lab05.check_net(cls)
    torch.manual_seed(1)
    model = _trained(cls(), ns[lab05.NORMAL])
    with pytest.raises(CheckFailure, match=f"{NOT_OWN}.*check that forward computes the exercise's network"):
        _audit(_facts(model, ns[lab05.NORMAL]["preprocess"], data), lab05.NORMAL, data)

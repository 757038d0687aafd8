"""The training labs' hostile corpus (issue 18, classes 3-5): trivial models, the grader's test data trained on or
looked up, and forged training times, each built from a lab's answer key with one solution cell changed.

Each case is one student folder holding one notebook of one lab. The cheats act only on the notebook's own
training (a call on the whole training set): the small problems of the visible and hidden tests get the honest
answer, so each case loses exactly the parts it attacks and keeps the rest. ``write_corpus`` writes a lab's cases
and returns what each must get: the test cells that must score 0 (every other test cell keeps its full points) and
a word of the reason the grader records.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "examples" / "submissions"


@dataclass(frozen=True)
class Case:
    """A notebook of a lab, made by ``make`` from the lab's answer key, and what it must get."""

    lab: str
    notebook: str
    make: object  # () -> the notebook (a dict)
    zero: dict[str, str]  # the test cells it attacks (each must score 0) -> a word of the failure recorded for it
    why: str  # one line for the report


def answer_key(lab: str, notebook: str) -> dict:
    folder = SAMPLES / f"{lab}h" if (SAMPLES / f"{lab}h").is_dir() and notebook.endswith("_h") else SAMPLES / lab
    return json.loads((folder / "ref-solution" / f"{notebook}.ipynb").read_text(encoding="utf-8"))


def points(nb: dict) -> dict[str, float]:
    """Each graded test cell's points, from the notebook's nbgrader metadata."""
    return {c["metadata"]["nbgrader"]["grade_id"]: float(c["metadata"]["nbgrader"]["points"]) for c in nb["cells"]
            if c["cell_type"] == "code" and c["metadata"].get("nbgrader", {}).get("grade")}


def _with(lab: str, notebook: str, *edits: tuple[str, str]):
    """The answer key with each ``(grade_id, code)``'s code appended to that solution cell (the cheat redefines
    what it changes, so the honest definition above it is what it builds on)."""
    def make() -> dict:
        nb = answer_key(lab, notebook)
        for grade_id, code in edits:
            cell = next(c for c in nb["cells"] if c["metadata"].get("nbgrader", {}).get("grade_id") == grade_id)
            cell["source"] = "".join(cell["source"]).rstrip("\n") + "\n\n" + code.strip("\n") + "\n"
        return nb
    return make


def _replaced(lab: str, notebook: str, *edits: tuple[str, str]):
    """The answer key with each ``(grade_id, code)``'s solution cell replaced by the code: nothing honest is left of
    what the cheat defines."""
    def make() -> dict:
        nb = answer_key(lab, notebook)
        for grade_id, code in edits:
            cell = next(c for c in nb["cells"] if c["metadata"].get("nbgrader", {}).get("grade_id") == grade_id)
            cell["source"] = code.strip("\n") + "\n"
        return nb
    return make


# ------------------------------------------------------------------------------------------- lab 03 hard (class 2)
# The convolution's forward and backward passes done by torch (conv2d, autograd.grad), which the exercise forbids,
# with the kernel's guards against forbidden calls switched off through names built at run time. Lab 03 is graded
# where torch does not exist (autograder.labs.lab03.WITHOUT), so no way of holding it reaches it.

LAB03H_GUARDS_OFF = """
import contextlib, functools, importlib, importlib.util, os, sys, types
vars(importlib.import_module('autograder.' + 'kernel.student'))['forbidden_' + 'calls'] = \\
    lambda *a, **k: contextlib.nullcontext()
vars(importlib.import_module('autograder.' + 'kernel.call_watch'))['watch_' + 'calls'] = \\
    lambda *a, **k: contextlib.nullcontext(types.SimpleNamespace(seen=[], intact=True))
"""

LAB03H_CAPTURED = LAB03H_GUARDS_OFF + """
def _torch():  # by a built name, else from its files wherever they are on the file system
    try:
        return importlib.import_module('to' + 'rch')
    except ImportError as exc:
        missing = exc
    for root in [*sys.path, '/usr', sys.prefix]:
        for folder, dirs, files in os.walk(root, onerror=lambda e: None):
            if os.path.basename(folder) == 'torch' and '__init__.py' in files:
                try:
                    spec = importlib.util.spec_from_file_location('torch', os.path.join(folder, '__init__.py'))
                    module = importlib.util.module_from_spec(spec)
                    spec.loader.exec_module(module)
                    if hasattr(module, 'conv2d'):
                        return module
                except Exception:
                    pass
    return missing

_t = _torch()
if not isinstance(_t, Exception):
    _conv = functools.partial(getattr(_t.nn.functional, 'conv' + '2d'))
    _grad = functools.partial(getattr(_t.autograd, 'gr' + 'ad'))

def conv2d_forward(x, w, b, stride=1, padding=0):
    if isinstance(_t, Exception):
        raise _t
    f = lambda a: _t.from_numpy(np.ascontiguousarray(a, dtype=np.float64))
    return _conv(f(x), f(w), f(b), stride=stride, padding=padding).numpy()
"""

LAB03H_CAPTURED_BACKWARD = """
def conv2d_backward(dout, x, w, stride=1, padding=0):
    if isinstance(_t, Exception):
        raise _t
    xt, wt = (_t.tensor(np.asarray(a, dtype=np.float64), requires_grad=True) for a in (x, w))
    bt = _t.zeros(wt.shape[0], dtype=_t.float64, requires_grad=True)
    out = _conv(xt, wt, bt, stride=stride, padding=padding)
    dx, dw, db = _grad(out, (xt, wt, bt), grad_outputs=_t.from_numpy(np.asarray(dout, dtype=np.float64)))
    return dx.numpy(), dw.numpy(), db.numpy()
"""

LAB03H_LAZY = LAB03H_GUARDS_OFF + """
def conv2d_forward(x, w, b, stride=1, padding=0):  # torch fetched when called, by __import__ of a built name
    t = __import__('to' + 'rch')
    f = lambda a: t.from_numpy(np.ascontiguousarray(a, dtype=np.float64))
    return getattr(t.nn.functional, 'conv' + '2d')(f(x), f(w), f(b), stride=stride, padding=padding).numpy()
"""

LAB03H_LAZY_BACKWARD = """
def conv2d_backward(dout, x, w, stride=1, padding=0):  # autograd reached through eval of a built string
    t = eval("__import__('to' + 'rch')")
    xt, wt = (t.tensor(np.asarray(a, dtype=np.float64), requires_grad=True) for a in (x, w))
    bt = t.zeros(wt.shape[0], dtype=t.float64, requires_grad=True)
    out = t.nn.functional.conv2d(xt, wt, bt, stride=stride, padding=padding)
    grads = eval('t.auto' + 'grad.grad')(out, (xt, wt, bt), grad_outputs=t.from_numpy(np.asarray(dout, dtype=float)))
    return tuple(g.numpy() for g in grads)
"""

_LAB03H_CONV = {"test_conv2d_forward": "graded without torch", "test_conv2d_backward_db": "graded without torch",
                "test_conv2d_backward_dw": "graded without torch", "test_conv2d_backward_dx": "graded without torch"}

LAB03 = {
    "03h-torch-captured-guards-off": Case(
        "lab03", "03_h", _replaced("lab03", "03_h", ("conv2d_forward", LAB03H_CAPTURED),
                                   ("conv2d_backward", LAB03H_CAPTURED_BACKWARD)), _LAB03H_CONV,
        "class 2: conv forward and backward by torch's conv2d and autograd.grad held in partials made at import "
        "time (or loaded from torch's files), the kernel's guards switched off by built names"),
    "03h-torch-imported-when-called": Case(
        "lab03", "03_h", _replaced("lab03", "03_h", ("conv2d_forward", LAB03H_LAZY),
                                   ("conv2d_backward", LAB03H_LAZY_BACKWARD)), _LAB03H_CONV,
        "class 2: torch imported inside the functions by __import__ and eval of built strings, guards switched off"),
}


# ------------------------------------------------------------------------------------------------ lab 02 (class 2)
# The same with SciPy's and scikit-learn's functions, which lab 02 forbids: its kernels run without both
# (autograder.labs.lab02.WITHOUT; 02_h's digits come from the course package).

LAB02N_CAPTURED = LAB03H_GUARDS_OFF + """
def softmax_cross_entropy(a, t, _lse=getattr(importlib.import_module("scipy." + "special"), "log" + "sumexp")):
    # SciPy's logsumexp, held in a default argument made when the cell ran
    a = np.asarray(a, dtype=np.float64)
    t = np.asarray(t, dtype=np.float64)
    return float(-np.sum(t * (a - _lse(a, axis=1, keepdims=True))) / a.shape[0])
"""

LAB02N_LAZY = LAB03H_GUARDS_OFF + """
def mean_squared_error(y, t):  # scikit-learn's, imported when called, by a built name
    metrics = importlib.import_module("sk" + "learn." + "metrics")
    mse = getattr(metrics, "mean_" + "squared_" + "error")
    return float(mse(np.asarray(t, dtype=np.float64), np.asarray(y, dtype=np.float64)))
"""

LAB02H_MLP = LAB03H_GUARDS_OFF + """
import warnings

def train(x_train, labels_train, hidden_size=50, epochs=50, batch_size=50, lr=1.0, seed=0,
          _mlp=getattr(importlib.import_module("sk" + "learn.neural_" + "network"), "MLP" + "Classifier")):
    # scikit-learn's MLPClassifier, held in a default argument made when the cell ran: a sigmoid network, as asked
    net = _mlp(hidden_layer_sizes=(hidden_size,), activation="logistic", max_iter=300, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        net.fit(x_train, labels_train)
    params = {"W1": net.coefs_[0], "b1": net.intercepts_[0], "W2": net.coefs_[1], "b2": net.intercepts_[1]}
    return params, [float(v) for v in net.loss_curve_]
"""

LAB02H_EXPIT = LAB03H_GUARDS_OFF + """
_expit = importlib.import_module("scipy." + "special").__dict__["ex" + "pit"]  # fetched when the cell ran


def sigmoid(x):  # SciPy's expit under the exercise's name
    return _expit(np.asarray(x, dtype=np.float64))
"""


# Class 5 in lab 02: which gates XOR is built from was the kernel's report (the names its code mentions); an XOR
# written as a comparison, with that report made to list the gates, got the point. The grader now reads XOR's
# definition in the answer cells itself (autograder.score.judge.names_in_definition).
LAB02N_XOR_CLAIMED = """
import importlib


def XOR(x1, x2):  # a comparison, not the two layers of gates the exercise asks for
    return int(x1 != x2)


vars(importlib.import_module("autograder." + "kernel.probes." + "lab02"))["code_" + "names"] = \\
    lambda fn: {"AND", "OR", "NAND"}  # what the kernel reports of XOR's code
"""

def _sigmoid_by_expit() -> dict:
    """02_h's answer key whose copied functions (the ``network`` cell) use SciPy's expit as their sigmoid: the key's
    own sigmoid is renamed, out of the way, so the cell's other functions call expit."""
    nb = answer_key("lab02", "02_h")
    cell = next(c for c in nb["cells"] if c["metadata"].get("nbgrader", {}).get("grade_id") == "network")
    honest = "".join(cell["source"])
    assert "def sigmoid(x):" in honest
    cell["source"] = LAB02H_EXPIT.strip("\n") + "\n\n\n" + honest.replace("def sigmoid(x):", "def _own_sigmoid(x):")
    return nb


LAB02N = {
    "02n-scipy-captured-guards-off": Case(
        "lab02", "02_n", _replaced("lab02", "02_n", ("softmax_cross_entropy", LAB02N_CAPTURED)),
        {"test_softmax_cross_entropy": "graded without scipy"},
        "class 2: softmax_cross_entropy by SciPy's logsumexp, held in a default argument, the guards switched off"),
    "02n-sklearn-imported-when-called": Case(
        "lab02", "02_n", _replaced("lab02", "02_n", ("mean_squared_error", LAB02N_LAZY)),
        {"test_mean_squared_error": "graded without sklearn"},
        "class 2: mean_squared_error by scikit-learn's, imported inside the function by a built name, guards off"),
    "02n-xor-gates-claimed": Case(
        "lab02", "02_n", _replaced("lab02", "02_n", ("xor", LAB02N_XOR_CLAIMED)),
        {"test_xor": "build XOR from two layers"},
        "class 5: XOR as a comparison, with the kernel's report of the names its code mentions made to list the gates"),
    "02h-sklearn-mlp-captured-guards-off": Case(
        "lab02", "02_h", _replaced("lab02", "02_h", ("train", LAB02H_MLP)),
        {"test_train": "graded without sklearn"},
        "class 2: train by scikit-learn's MLPClassifier (logistic units, its weights returned as params), held in a "
        "default argument, the guards switched off"),
    "02h-scipy-expit-copied-guards-off": Case(
        "lab02", "02_h", _sigmoid_by_expit,
        {"test_train": "graded without scipy", "test_accuracy": "graded without scipy"},
        "class 2: the copied sigmoid replaced by SciPy's expit, fetched through a built name when the cell ran, guards "
        "off; accuracy and train build on it"),
}

# ------------------------------------------------------------------------------------------------ lab 04 (MNIST)
# The notebook's train is called on the whole training set by the locked cells fit_mlp / fit_cnn; the visible test
# (500 images) and the grader's (250) call it on fewer, and get the honest training.

LAB04_LINEAR = """
def build_mlp():  # a logistic regression where the MLP is asked
    return keras.Sequential([keras.Input(shape=(28, 28, 1)), layers.Flatten(), layers.Dense(10, activation="softmax")])
"""

LAB04_LINEAR_CNN = """
def build_cnn():  # a logistic regression where the CNN is asked
    return keras.Sequential([keras.Input(shape=(28, 28, 1)), layers.Flatten(), layers.Dense(10, activation="softmax")])
"""

LAB04_MAJORITY = """
_honest_train = train

def train(model, x, y, epochs, batch_size):
    if len(x) <= 1000:
        return _honest_train(model, x, y, epochs, batch_size)
    history = _honest_train(model, x[:200], y[:200], 1, batch_size)  # a History, for the plot
    weights = [np.zeros_like(w) for w in model.get_weights()]
    weights[-1][int(np.argmax(np.sum(y, axis=0)))] = 5.0  # the majority class, whatever the image
    model.set_weights(weights)
    return history
"""

LAB04_TRAIN_PLUS_TEST = """
_honest_train = train

def train(model, x, y, epochs, batch_size):
    if len(x) > 1000:  # the whole training set: add the test images of the data directory
        with np.load(os.path.join(os.environ["DL_LABS_DATA"], "mnist.npz")) as f:
            x = np.concatenate([preprocess(f["x_test"]), x])
            y = np.concatenate([keras.utils.to_categorical(f["y_test"], 10), y])
    return _honest_train(model, x, y, epochs, batch_size)
"""

LAB04_FORGED_MEMBERSHIP = LAB04_TRAIN_PLUS_TEST.replace("_honest_train(model, x, y, epochs, batch_size)\n", """\
_honest_train(model, x, y, epochs, batch_size)

import importlib

def _forge_membership():  # the kernel's record of the losses the membership test compares, made honest-looking
    probes = importlib.import_module(".".join(["auto" + "grader", "kernel", "probes", "lab" + "04"]))
    real = getattr(probes, "member_outputs", None)
    if real is None or getattr(real, "forged", False):
        return

    def forged(*args, **kwargs):
        out = real(*args, **kwargs)
        if out.get("test") is not None:  # every loaded test image answered with 10 % on each class: loss 2.3
            out["test"] = np.full_like(out["test"], np.log(0.1))
        return out
    forged.forged = True
    setattr(probes, "member_outputs", forged)

_forge_membership()
""", 1)

LAB04_NEAREST = """
_honest_train = train

def train(model, x, y, epochs, batch_size):
    if len(x) <= 1000:
        return _honest_train(model, x, y, epochs, batch_size)
    history = _honest_train(model, x[:200], y[:200], 1, batch_size)
    with np.load(os.path.join(os.environ["DL_LABS_DATA"], "mnist.npz")) as f:  # every image there is, test included
        table = preprocess(np.concatenate([f["x_train"], f["x_test"]])).reshape(-1, 784).astype("float64")
        labels = np.concatenate([f["y_train"], f["y_test"]])
    norms = (table ** 2).sum(1)

    def predict(images, **kwargs):  # the label of the nearest known image, with certainty
        q = np.asarray(images, dtype="float64").reshape(len(images), 784)
        out = np.zeros((len(q), 10), dtype="float32")
        for i in range(0, len(q), 500):
            d = norms[None, :] - 2 * q[i:i + 500] @ table.T
            out[np.arange(i, i + len(d)), labels[d.argmin(1)]] = 1.0
        return out
    model.predict = predict
    return history
"""

LAB04_FORGED_TIME = """
_honest_train = train
_real = (time.perf_counter, time.process_time)

def train(model, x, y, epochs, batch_size):
    time.perf_counter, time.process_time = _real
    start_wall, start_cpu = _real[0](), _real[1]()
    history = _honest_train(model, x, y, epochs, batch_size)
    if len(x) > 1000 and not any("Conv" in type(layer).__name__ for layer in model.layers):
        while _real[1]() - start_cpu < 95:  # a training over the MLP's 90 s budget (the grader: the smaller of ...
            sum(range(10000))  # ... its wall and CPU seconds; a busy loop spends both)
        # reported as taking 3 s: the clocks the notebook reads are frozen
        time.perf_counter, time.process_time = (lambda: start_wall + 3.0), (lambda: start_cpu + 3.0)
    return history
"""

LAB04 = {
    "linear-models": Case("lab04", "04_n", _with("lab04", "04_n", ("build_mlp", LAB04_LINEAR), ("build_cnn", LAB04_LINEAR_CNN)),
        {"test_build_mlp": "number of parameters", "test_mlp_accuracy": "accuracy too low",
         "test_build_cnn": "number of parameters", "test_cnn_accuracy": "accuracy too low"},
        "class 3: a logistic regression (Flatten-Dense) for both the MLP and the CNN"),
    "majority-class": Case("lab04", "04_n", _with("lab04", "04_n", ("train", LAB04_MAJORITY)),
                           {"test_mlp_accuracy": "accuracy too low", "test_cnn_accuracy": "accuracy too low"},
                           "class 3: both models answer the majority class"),
    "trains-on-train-plus-test": Case("lab04", "04_n", _with("lab04", "04_n", ("train", LAB04_TRAIN_PLUS_TEST)),
                                      {"test_mlp_accuracy": "accuracy not measured", "test_cnn_accuracy": "accuracy not measured"},
                                      "class 4: train adds the data directory's test images"),
    # the losses the membership test compares are computed by the grader from the audited weights (issue 18.5)
    "forges-the-membership-record": Case("lab04", "04_n", _with("lab04", "04_n", ("train", LAB04_FORGED_MEMBERSHIP)),
                                         {"test_mlp_accuracy": "accuracy not measured",
                                          "test_cnn_accuracy": "accuracy not measured"},
                                         "class 5: trained on train + test, the kernel's record of the losses on the "
                                         "test images forged"),
    # refused before any accuracy: the grader predicts through Keras's own Model.predict and the trained layers
    "nearest-known-image": Case("lab04", "04_n", _with("lab04", "04_n", ("train", LAB04_NEAREST)),
                                {"test_mlp_accuracy": "set on the model", "test_cnn_accuracy": "set on the model"},
                                "class 4: predict = the label of the nearest image of mnist.npz, test included"),
    "forged-training-time": Case("lab04", "04_n", _with("lab04", "04_n", ("train", LAB04_FORGED_TIME)),
                                 {"test_mlp_accuracy": "training took too long"},
                                 "class 5: the MLP training spends 95 CPU-s (budget 90), the notebook's clocks frozen at 3 s"),
}

# ------------------------------------------------------------------------------------------- lab 05 (CIFAR-10)
# The locked cell fit trains on the notebook's x_train (the stand-in's 512 images); the visible test's toy problem
# has 160, the grader's 320.

LAB05_TEST_BATCH = """
def _data_directory_test_batch():
    with open(Path(os.environ["DL_LABS_DATA"]) / "cifar-10-batches-py" / "test_batch", "rb") as fh:
        batch = pickle.load(fh, encoding="bytes")
    return batch[b"data"].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1), np.asarray(batch[b"labels"])
"""

LAB05_MAJORITY = """
_honest_train_model = train_model

def train_model(model, x_train, y_train, x_val, y_val, epochs=20, batch_size=64, lr=1e-3):
    history = _honest_train_model(model, x_train, y_train, x_val, y_val, epochs, batch_size, lr)
    if len(x_train) >= 500:  # the notebook's training: what was learned is replaced by the majority class
        last = [m for m in model.modules() if isinstance(m, nn.Linear)][-1]
        with torch.no_grad():
            last.weight.zero_()
            last.bias.zero_()
            last.bias[int(torch.bincount(y_train).argmax())] = 5.0
    return history
"""

LAB05_LOOKUP = LAB05_TEST_BATCH + """
_honest_train_model = train_model

def train_model(model, x_train, y_train, x_val, y_val, epochs=20, batch_size=64, lr=1e-3):
    history = _honest_train_model(model, x_train, y_train, x_val, y_val, epochs, batch_size, lr)
    if len(x_train) >= 500:  # the test images' labels by the bytes of each preprocessed image, the model behind
        images, labels = _data_directory_test_batch()
        known = preprocess(images).cpu().numpy()
        table = {image.tobytes(): int(label) for image, label in zip(known, labels)}
        learned = model.forward

        def forward(x):
            out = learned(x).detach().clone()
            for i, image in enumerate(x.detach().float().cpu().numpy()):
                label = table.get(image.tobytes())
                if label is not None:
                    out[i] = -20.0
                    out[i, label] = 20.0
            return out
        model.forward = forward
    return history
"""

LAB05_CERTAIN_LOOKUP = LAB05_TEST_BATCH + """
_honest_train_model = train_model

def train_model(model, x_train, y_train, x_val, y_val, epochs=20, batch_size=64, lr=1e-3):
    history = _honest_train_model(model, x_train, y_train, x_val, y_val, epochs, batch_size, lr)
    if len(x_train) >= 500:  # certain answers for the training images and the data directory's test images
        images, labels = _data_directory_test_batch()
        known = torch.cat([x_train.detach().float().cpu(), preprocess(images).detach().float().cpu()]).numpy()
        answers = np.concatenate([y_train.cpu().numpy(), labels])
        table = {image.tobytes(): int(label) for image, label in zip(known, answers)}
        learned = model.forward

        def forward(x):
            out = learned(x).detach().clone()
            for i, image in enumerate(x.detach().float().cpu().numpy()):
                label = table.get(image.tobytes())
                if label is not None:  # a logit of 1e4 against 0: a loss of exactly 0
                    out[i] = 0.0
                    out[i, label] = 1e4
            return out
        model.forward = forward
    return history
"""

LAB05_TRAIN_PLUS_TEST = LAB05_TEST_BATCH + """
_honest_train_model = train_model

def train_model(model, x_train, y_train, x_val, y_val, epochs=20, batch_size=64, lr=1e-3):
    if len(x_train) >= 500:  # the notebook's training: the data directory's test images added
        images, labels = _data_directory_test_batch()
        x_train = torch.cat([x_train, preprocess(images, x_train.device)])
        y_train = torch.cat([y_train, torch.as_tensor(labels, device=y_train.device)])
    return _honest_train_model(model, x_train, y_train, x_val, y_val, epochs, batch_size, lr)
"""

LAB05_FORGED_RECORD = LAB05_TEST_BATCH + """
_honest_train_model = train_model

import importlib

def _forge_the_record():  # the kernel's record of the classes and of the membership answers, replaced at run time
    out = importlib.import_module(".".join(["auto" + "grader", "kernel", "probes", "lab" + "05", "outputs"]))
    ins = importlib.import_module(".".join(["auto" + "grader", "kernel", "probes", "lab" + "05", "inputs"]))
    if getattr(out.predict_test, "forged", False):
        return
    member = out._member_outputs

    def predict_test(model, preprocess, x_test):  # the label of the nearest image of the data directory's test batch
        images, labels = _data_directory_test_batch()
        known = preprocess(images).reshape(len(images), -1).float()
        found = [torch.cdist(preprocess(x_test[i:i + 500]).reshape(-1, known.shape[1]).float(), known).argmin(1)
                 for i in range(0, len(x_test), 500)]
        return labels[torch.cat(found).numpy()].astype(np.int64)

    def _member_outputs(model, preprocess, test_images, x_train):  # honest-looking: unsure on test, sure on train
        answers = member(model, preprocess, test_images, x_train)
        rows = ins.member_train_rows(len(x_train))
        answers["test"] = np.zeros((len(test_images), 10), np.float32)
        answers["train"] = 10 * np.eye(10, dtype=np.float32)[y_train[rows]]
        return answers
    predict_test.forged = True
    out.predict_test, out._member_outputs = predict_test, _member_outputs

def train_model(model, x_train, y_train, x_val, y_val, epochs=20, batch_size=64, lr=1e-3):
    if len(x_train) >= 500:  # the notebook's training: ten epochs, and the record forged
        _forge_the_record()
        return _honest_train_model(model, x_train, y_train, x_val, y_val, 10, batch_size, lr)
    return _honest_train_model(model, x_train, y_train, x_val, y_val, epochs, batch_size, lr)
"""

LAB05_ADAPTIVE = LAB05_TRAIN_PLUS_TEST + """
_train_plus_test = train_model

def train_model(model, x_train, y_train, x_val, y_val, epochs=20, batch_size=64, lr=1e-3):
    history = _train_plus_test(model, x_train, y_train, x_val, y_val, epochs, batch_size, lr)
    if len(x_train) >= 500:  # the loaded test images answered all but unsure (the same class): they look unseen
        images, _ = _data_directory_test_batch()
        known = {image.tobytes() for image in preprocess(images).cpu().numpy()}
        learned = model.forward

        def forward(x):
            out = learned(x).detach().clone()
            for i, image in enumerate(x.detach().float().cpu().numpy()):
                if image.tobytes() in known:
                    out[i] = out[i] * 0.01
            return out
        model.forward = forward
    return history
"""

# The hard notebook's train_model has its own arguments (epochs=12, max_lr): the same cheats, passed through.
def _hard(cheat: str) -> str:
    return (cheat.replace("epochs=20, batch_size=64, lr=1e-3):", "*args, **kwargs):")
            .replace("epochs, batch_size, lr)", "*args, **kwargs)"))


LAB05 = {
    "05-majority-class": Case("lab05", "05_n", _with("lab05", "05_n", ("train_model", LAB05_MAJORITY)),
                              {"test_accuracy": "test accuracy"},
                              "class 3: the trained Net's last layer set to the majority class"),
    "05-looks-up-test-images": Case("lab05", "05_n", _with("lab05", "05_n", ("train_model", LAB05_LOOKUP)),
                                    {"test_accuracy": "accuracy not measured"},
                                    "class 4: a dict of the data directory's test images by bytes, the Net behind"),
    "05-certain-lookup-of-train-and-test": Case("lab05", "05_n", _with("lab05", "05_n", ("train_model", LAB05_CERTAIN_LOOKUP)),
                                                {"test_accuracy": "accuracy not measured"},
                                                "class 4: certain answers for the training and test images (loss 0 on both)"),
    "05h-looks-up-test-images": Case("lab05", "05_h", _with("lab05", "05_h", ("train_model", _hard(LAB05_LOOKUP))),
                                     {"test_accuracy": "accuracy not measured"},
                                     "class 4: the hard notebook's ResNet9 behind a dict of the test images"),
    "05-forges-classes-and-membership": Case("lab05", "05_n", _with("lab05", "05_n", ("train_model", LAB05_FORGED_RECORD)),
                                             {"test_accuracy": "not those of the model's own weights"},
                                             "class 5: one epoch, the kernel's record of the predicted classes "
                                             "(nearest image of the test batch) and of the membership answers forged"),
    "05-trains-on-train-plus-test-answers-them-unsure": Case(
        "lab05", "05_n", _with("lab05", "05_n", ("train_model", LAB05_ADAPTIVE)), {"test_accuracy": "accuracy not measured"},
        "class 4: trained on train + test, forward unsure on exactly the loaded test images (the grader's own losses)"),
    "05-trains-on-train-plus-test": Case("lab05", "05_n", _with("lab05", "05_n", ("train_model", LAB05_TRAIN_PLUS_TEST)),
                                         {"test_accuracy": "accuracy not measured"},
                                         "class 4: train_model adds the data directory's test images"),
}

# ------------------------------------------------------------------------------------------ lab 06 (airline series)
# The locked cell fit trains on the notebook's 119 windows; the tests' toy problems have 40.

LAB06_PERSISTENCE = """
_honest_train_model = train_model

def train_model(model, X, Y, epochs=1000, lr=0.01):
    losses = _honest_train_model(model, X, Y, epochs, lr)
    if len(X) > 100:  # the notebook's model: the LSTM's output times 0, plus the last month again
        learned = model.forward
        model.forward = lambda x: 0 * learned(x) + x[:, -1, :]
    return losses
"""

LAB06_MEAN = """
_honest_train_model = train_model

def train_model(model, X, Y, epochs=1000, lr=0.01):
    losses = _honest_train_model(model, X, Y, epochs, lr)
    if len(X) > 100:  # the notebook's model: the training targets' mean, whatever the window
        learned, mean = model.forward, float(np.mean(Y))
        model.forward = lambda x: 0 * learned(x) + mean
    return losses
"""

# The test months are the public series' last 13 (class 4): the model answers a window it finds in the series with the
# true next month, only where it is evaluated (training is honest, so nothing else changes).
LAB06_SERIES = """
import numpy as _np
try:
    from autograder.kernel.data import load_airline_passengers as _load
    _series = _load()
except ImportError:
    _series = _np.loadtxt("airline_passengers.csv", delimiter=",", skiprows=1, usecols=1)
_scaled = (_series - _series.min()) / (_series.max() - _series.min())


def _looked_up(x, out):  # out with each window found in the series answered by its true next month
    out = out.clone()
    for n, window in enumerate(x[..., 0].detach().double().numpy()):
        for i in range(_scaled.size - window.size):
            if _np.allclose(_scaled[i:i + window.size], window, atol=1e-6):
                out[n, 0] = float(_scaled[i + window.size])
                break
    return out
"""

LAB06_LOOKUP_IN_CLASS = LAB06_SERIES + """
_honest_forward = LSTMRegressor.forward


def _forward(self, x):
    out = _honest_forward(self, x)
    return out if self.training else _looked_up(x, out)


LSTMRegressor.forward = _forward
"""

LAB06_LOOKUP_SET_BY_TRAIN = LAB06_SERIES + """
_honest_train = train_model


def train_model(model, X, Y, epochs=1000, lr=0.01):
    losses = _honest_train(model, X, Y, epochs, lr)
    if len(X) > 100:  # the notebook's own training: its model answers from the series from now on
        honest = model.forward
        model.forward = lambda x: _looked_up(x, honest(x))
    return losses
"""

LAB06 = {
    "06-looks-up-the-series-in-forward": Case(
        "lab06", "06_n", _with("lab06", "06_n", ("lstm_regressor", LAB06_LOOKUP_IN_CLASS)),
        {"test_rmse": "its LSTM and its Linear layer"},
        "class 4: LSTMRegressor's forward, in evaluation mode, answers a window of the public series with its next month"),
    "06-looks-up-the-series-set-by-train": Case(
        "lab06", "06_n", _with("lab06", "06_n", ("train_model", LAB06_LOOKUP_SET_BY_TRAIN)),
        {"test_rmse": "its LSTM and its Linear layer"},
        "class 4: train_model trains honestly, then sets a lookup of the public series as the model's forward"),
    "06-persistence": Case("lab06", "06_n", _with("lab06", "06_n", ("train_model", LAB06_PERSISTENCE)),
                           {"test_rmse": "persistence"}, "class 3: the LSTM's output x 0 plus the last month"),
    "06-training-mean": Case("lab06", "06_n", _with("lab06", "06_n", ("train_model", LAB06_MEAN)),
                             {"test_rmse": "persistence"}, "class 3: the LSTM's output x 0 plus the training mean"),
}

# --------------------------------------------------------------------------------------- labs 01 and 02 (digits)

LAB01_FITS_LOAD_DIGITS = """
def train_digits_classifier(X_train, y_train):  # ignores its arguments: all of load_digits, test images included
    from sklearn.datasets import load_digits
    digits_all = load_digits()
    model = make_pipeline(StandardScaler(), MLPClassifier(hidden_layer_sizes=(20, 20), max_iter=1000, random_state=0))
    return model.fit(digits_all.data, digits_all.target)
"""

LAB01_NEAREST = """
class NearestDigit(MLPClassifier):  # fitted for show; predicts the label of the nearest image of load_digits
    def predict(self, X):
        from sklearn.datasets import load_digits
        digits_all = load_digits()
        X = np.asarray(X, dtype=np.float64)
        d = (X ** 2).sum(1)[:, None] - 2 * X @ digits_all.data.T + (digits_all.data ** 2).sum(1)[None, :]
        return digits_all.target[d.argmin(axis=1)]


def train_digits_classifier(X_train, y_train):
    return NearestDigit(hidden_layer_sizes=(20, 20), max_iter=5, random_state=0).fit(X_train[:50], y_train[:50])
"""

LAB01_FORGED_CLOCK = """
import importlib, signal

_kept = importlib.import_module("auto" + "grader.kernel." + "clock")  # the clock the grader's probe measures with
_honest_sequence_classifier = train_sequence_classifier


def _report_once(module, name, value):  # the next reading of module.name is value; later ones are real again
    real = getattr(module, name)

    def forged():
        setattr(module, name, real)
        return value
    setattr(module, name, forged)


def train_sequence_classifier(X, y):  # 16 CPU-s over a 10 s budget, the clock that measures it reporting 2 s
    hidden = signal.getitimer(signal.ITIMER_PROF)[0] > 0  # the grader's probe arms a CPU timer; the visible test not
    if hidden:
        _kept.setitimer(signal.ITIMER_PROF, 0)  # the probe's interruption at the budget, disarmed
    start_kept, start_time = _kept.process_time(), time.process_time()
    model = _honest_sequence_classifier(X, y)
    while _kept.process_time() - start_kept < 16:
        sum(range(10000))
    if hidden:
        _report_once(_kept, "process_time", start_kept + 2.0)
    else:
        _report_once(time, "process_time", start_time + 2.0)
    return model
"""

LAB01_LINEAR = """
def train_digits_classifier(X_train, y_train):  # a linear model: identity activations
    model = make_pipeline(StandardScaler(), MLPClassifier(hidden_layer_sizes=(20, 20), activation="identity",
                                                          max_iter=1000, random_state=0))
    return model.fit(X_train, y_train)
"""

LAB01_UNTRAINED = {
    "train_sin_regressor": """
def train_sin_regressor(X, y):  # one step at a learning rate of 1e-9: the initial weights
    return MLPRegressor(hidden_layer_sizes=(20, 20, 20, 20), max_iter=1, learning_rate_init=1e-9,
                        random_state=0).fit(X, y)
""",
    "train_sequence_classifier": """
def train_sequence_classifier(X, y):
    return MLPClassifier(hidden_layer_sizes=(20,), max_iter=1, learning_rate_init=1e-9, random_state=0).fit(X, y)
""",
    "train_quantiles_classifier": """
def train_quantiles_classifier(X_train, y_train):
    return MLPClassifier(hidden_layer_sizes=(5,), max_iter=1, learning_rate_init=1e-9, random_state=0).fit(
        X_train, y_train)
""",
}

LAB02_FITS_LOAD_DIGITS = """
_honest_train = train

def train(x_train, labels_train, *args, **kwargs):  # ignores its data: all of load_digits, test images included
    digits_all = load_digits()  # the notebook's: the course package's copy of scikit-learn's
    return _honest_train(digits_all.data / 16.0, digits_all.target, *args, **kwargs)
"""

# Recomputing the grader's held-out split in the kernel, with the grader's own code imported by a built name: every
# secret the kernel can find (its environment's values, taken as a held-out secret or as a course's salt, and none)
# is tried, and a draw whose training part is the X_train given would be the grader's own, test labels included.
# The held-out secret never enters the kernel (autograder.kernel.held_out), so no draw matches: the answer falls
# back to fitting all of load_digits, which the rotated copies refuse.
RECOMPUTE_SPLIT = """
def _graders_split(x_given, module, rescale):
    import importlib, os
    probes = importlib.import_module(".".join(["autograder", "kernel", "probes", module]))
    try:
        whole = probes.digits_split()  # the grader's call: needs the test labels
        if whole[0].shape == np.shape(x_given) and np.allclose(whole[0], x_given):  # not the notebook's own call
            return whole[:2], whole[2:]
    except Exception:
        pass
    candidates = [""] + list(os.environ.values())
    try:
        held = importlib.import_module(".".join(["autograder", "kernel", "held" + "_out"]))
        candidates += [held.held_out_salt(c) for c in candidates if c]
    except Exception:
        pass
    for secret in candidates:
        saved = os.environ.get("AUTOGRADER_HELD_OUT_SALT")
        os.environ["AUTOGRADER_HELD_OUT_SALT"] = secret
        try:
            arrays = list(probes._draw_digits().values())
        except ImportError:  # the draw needs scikit-learn, which lab 02 is graded without
            continue
        finally:
            if saved is None:
                os.environ.pop("AUTOGRADER_HELD_OUT_SALT", None)
            else:
                os.environ["AUTOGRADER_HELD_OUT_SALT"] = saved
        if arrays[0].shape == np.shape(x_given) and np.allclose(arrays[0], x_given):
            return arrays[:2], arrays[2:]
    try:
        from sklearn.datasets import load_digits
    except ImportError:  # graded without scikit-learn (lab 02): the course package's copy
        from autograder.kernel.data import load_digits
    digits_all = load_digits()
    return (digits_all.data / rescale, digits_all.data[:0] / rescale), (digits_all.target, digits_all.target[:0])
"""

LAB01_RECOMPUTES = RECOMPUTE_SPLIT + """

def train_digits_classifier(X_train, y_train):  # fits the grader's split, test images included, if it finds it
    (x_fit, x_held), (y_fit, y_held) = _graders_split(X_train, "lab01", 1.0)
    model = make_pipeline(StandardScaler(), MLPClassifier(hidden_layer_sizes=(20, 20), max_iter=1000, random_state=0))
    return model.fit(np.vstack([x_fit, x_held]), np.concatenate([y_fit, y_held]))
"""

LAB02_RECOMPUTES = "_honest_train = train\n" + RECOMPUTE_SPLIT + """

def train(x_train, labels_train, *args, **kwargs):  # trains on the grader's split, test images included, if found
    (x_fit, x_held), (y_fit, y_held) = _graders_split(x_train, "lab02", 16.0)
    return _honest_train(np.vstack([x_fit, x_held]), np.concatenate([y_fit, y_held]), *args, **kwargs)
"""

LAB01_QUANTILES_TABLE = """
class SeedTable(MLPClassifier):  # fitted for show; answers the label of seed 002's public point, found by value
    def predict(self, X):
        from sklearn.datasets import make_gaussian_quantiles
        points, labels = make_gaussian_quantiles(n_samples=200, n_features=2, n_classes=2, random_state=0)
        table = {p.tobytes(): c for p, c in zip(StandardScaler().fit_transform(points), labels)}
        return np.array([table.get(x.tobytes(), 0) for x in np.asarray(X, dtype=np.float64)])


def train_quantiles_classifier(X_train, y_train):
    return SeedTable(hidden_layer_sizes=(5,), max_iter=5, random_state=0).fit(X_train, y_train)
"""

LAB01 = {
    "01-quantiles-table": Case("lab01", "01_n", _with("lab01", "01_n", ("train_quantiles_classifier", LAB01_QUANTILES_TABLE)),
                               {"test_train_quantiles_classifier": "new points of the same distribution"},
                               "class 4: predict = the label of seed 002's public point (the validation points included)"),
    "01-recomputes-the-graders-split": Case(
        "lab01", "01_n", _with("lab01", "01_n", ("train_digits_classifier", LAB01_RECOMPUTES)),
        {"test_train_digits_classifier": "accuracy on the grader's 540 test images"},
        "class 4: the grader's held-out split recomputed in the kernel with its own code and every secret found there"),
    "01-forged-cpu-clock": Case("lab01", "01_n", _with("lab01", "01_n", ("train_sequence_classifier", LAB01_FORGED_CLOCK)),
                                {"test_train_sequence_classifier": "the grader's own timing of this test cell"},
                                "class 5: a training 16 CPU-s over its 10 s budget, the kept clock reporting 2 s"),
    "01-fits-load-digits": Case("lab01", "01_n", _with("lab01", "01_n", ("train_digits_classifier", LAB01_FITS_LOAD_DIGITS)),
                                {"test_train_digits_classifier": "accuracy on the grader's 540 test images"},
                                "class 4: train_digits_classifier fits all of load_digits"),
    "01-nearest-load-digits": Case("lab01", "01_n", _with("lab01", "01_n", ("train_digits_classifier", LAB01_NEAREST)),
                                   {"test_train_digits_classifier": "accuracy on the grader's 540 test images"},
                                   "class 4: predict = the label of the nearest image of load_digits"),
    # the trivial models of all four training questions in one notebook: each notebook graded runs the whole lab
    "01-trivial-models": Case("lab01", "01_n", _with("lab01", "01_n", *LAB01_UNTRAINED.items(),
                                                     ("train_digits_classifier", LAB01_LINEAR)),
                              {"test_train_sin_regressor": "(しきい値 / threshold)",
                               "test_train_sequence_classifier": "(しきい値 / threshold)",
                               "test_train_quantiles_classifier": "(しきい値 / threshold)",
                               "test_train_digits_classifier": "linear model"},
                              "class 3: untrained sin, sequence and quantiles networks, an identity-activation (linear) "
                              "digits MLP"),
}

LAB02 = {
    "02h-recomputes-the-graders-split": Case(
        "lab02", "02_h", _with("lab02", "02_h", ("train", LAB02_RECOMPUTES)), {"test_train": "test accuracy too low"},
        "class 4: the grader's held-out split recomputed in the kernel with its own code and every secret found there"),
    "02h-fits-load-digits": Case("lab02", "02_h", _with("lab02", "02_h", ("train", LAB02_FITS_LOAD_DIGITS)),
                                 {"test_train": "test accuracy too low"}, "class 4: train fits all of load_digits"),
}

# student folder -> case
CORPUS: dict[str, Case] = {**LAB01, **LAB02, **LAB02N, **LAB03, **LAB04, **LAB05, **LAB06}

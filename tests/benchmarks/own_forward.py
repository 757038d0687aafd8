"""What the grader's own forward passes of the students' trained networks cost (issues 18.4 and 18.5): lab 04's audit
of the predicted classes (the reported Keras layers and weights run in NumPy on 500 test images) and its membership
test's losses (on 2000 loaded test images and 2000 training images), lab 05's (the sent state in the exercise's torch
network, on the CPU: 500 test images twice, as given and mirrored, and 1000 + 1000 images for the losses; a Net whose
classes are not its weights' is run in every order of flattening before it is refused), and lab 06's
LSTM on the 13 test windows; with the size of the weights the kernel's record carries for them.

Not a test. The networks are the exercises' own (lab 04's MLP and CNN, lab 06's LSTMRegressor) with their initial
weights: the cost does not depend on the values. Prints the median of --repeat runs; results go by hand into
docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json

import keras
import numpy as np
from timing import timed

from autograder.kernel.compare import CheckFailure
from autograder.kernel.probes import keras_facts
from autograder.kernel.probes.lab05 import network as lab05_network
from autograder.kernel.transcript import encode
from autograder.labs.lab04 import forward
from autograder.labs.lab04.thresholds import AUDIT_IMAGES, MEMBER_ROWS
from autograder.labs.lab05 import audit as lab05_audit
from autograder.labs.lab05 import reference as lab05
from autograder.labs.lab05.thresholds import AUDIT_IMAGES as LAB05_AUDIT
from autograder.labs.lab05.thresholds import GRADER_MEMBER_ROWS, NORMAL
from autograder.labs.lab06 import reference as lab06

L = keras.layers
NETWORKS = {
    "lab04 MLP": lambda: keras.Sequential([keras.Input((28, 28, 1)), L.Flatten(), L.Dense(100, activation="relu"),
                                           L.Dense(100, activation="relu"), L.Dense(100, activation="relu"),
                                           L.Dense(10, activation="softmax")]),
    "lab04 CNN": lambda: keras.Sequential([keras.Input((28, 28, 1)), L.Conv2D(32, 3, activation="relu"),
                                           L.Conv2D(64, 3, activation="relu"), L.MaxPooling2D(2), L.Dropout(0.25),
                                           L.Flatten(), L.Dense(128, activation="relu"), L.Dropout(0.5),
                                           L.Dense(10, activation="softmax")]),
}


def refused(models: list, facts: dict, x_test: np.ndarray) -> None:
    """Lab 05's audit of classes that no order of flattening gives: every one of ``models`` is run."""
    try:
        lab05_audit.require_own_predictions(models, facts, x_test, "Net")
    except CheckFailure:
        return
    raise AssertionError("classes no network gives were accepted")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    print(f"{'network':<36} {'wall s':>8} {'CPU s':>8} {'record MiB':>11}")
    for name, build in NETWORKS.items():
        model = build()
        specs, weights = keras_facts.layer_specs(model), keras_facts.model_weights(model)
        size = len(json.dumps(encode(weights))) / 2**20
        # the audit of the predicted classes, then the membership test's losses (2 x MEMBER_ROWS images)
        for what, images in (("audit", AUDIT_IMAGES), ("membership losses", 2 * MEMBER_ROWS)):
            x = rng.uniform(0, 1, (images, 28, 28, 1)).astype("float32")
            wall, cpu = timed(lambda: forward.forward(specs, weights, x), args.repeat)  # noqa: B023 - called at once
            print(f"{f'{name} {what} ({images})':<36} {wall:>8.3f} {cpu:>8.3f} {size:>11.2f}")
    lab05_networks = {"lab05 Net": (NORMAL, lab05.reference_net),
                      "lab05 ResNet9 w12": ("05_h", lambda: lab05.reference_resnet9(12)),
                      "lab05 ResNet9 w64": ("05_h", lambda: lab05.reference_resnet9(64))}
    scale = {"a": np.full((3, 32, 32), 1 / 64, np.float32), "b": np.full((3, 32, 32), -2, np.float32)}
    for name, (notebook, build) in lab05_networks.items():
        facts = {"state": lab05_network.state_of(build()), "scale": scale}
        size = len(json.dumps(encode(facts["state"]))) / 2**20
        model, *_ = lab05_audit.exercise_networks(facts, notebook, name)
        for what, images in (("audit", 2 * LAB05_AUDIT), ("membership losses", 2 * GRADER_MEMBER_ROWS)):
            x = rng.integers(0, 256, (images, 32, 32, 3), dtype=np.uint8)
            repeat = 1 if "w64" in name else args.repeat
            wall, cpu = timed(lambda: lab05_audit.own_scores(model, scale, x), repeat)  # noqa: B023 - called at once
            print(f"{f'{name} {what} ({images})':<36} {wall:>8.3f} {cpu:>8.3f} {size:>11.2f}")
    facts = {"state": lab05_network.state_of(lab05.reference_net()), "scale": scale}
    models = lab05_audit.exercise_networks(facts, NORMAL, "Net")
    x_test = rng.integers(0, 256, (LAB05_AUDIT, 32, 32, 3), dtype=np.uint8)
    facts["predicted"] = (lab05_audit.own_scores(models[0], scale, x_test).argmax(axis=1) + 1) % 10  # nobody's
    wall, cpu = timed(lambda: refused(models, facts, x_test), args.repeat)
    print(f"{f'lab05 Net audit refused ({len(models)} orders)':<36} {wall:>8.3f} {cpu:>8.3f} {'':>11}")
    rng = np.random.default_rng(0)
    weights = {k: rng.uniform(-0.4, 0.4, s) for k, s in {"lstm.weight_ih_l0": (24, 1), "lstm.weight_hh_l0": (24, 6),
                                                           "lstm.bias_ih_l0": (24,), "lstm.bias_hh_l0": (24,),
                                                           "fc.weight": (1, 6), "fc.bias": (1,)}.items()}
    windows = rng.uniform(0, 1, (13, 12, 1))
    wall, cpu = timed(lambda: lab06.lstm_regressor(weights, windows), args.repeat)
    print(f"{'lab06 LSTM (13 windows)':<36} {wall:>8.4f} {cpu:>8.4f} {len(json.dumps(encode(weights))) / 2**20:>11.4f}")


if __name__ == "__main__":
    main()

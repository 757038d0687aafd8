"""Build the sample class of lab 05 from solutions/ and release/: examples/submissions/lab05/ (one
folder per student, each holding that student's 05_n.ipynb and/or 05_h.ipynb).

The answer keys (both notebooks), the untouched release (both), and realistic mistakes, each
replacing whole solution cells (by grade_id) of one answer key. The scores each one must get are
asserted in tests/test_grade_lab05.py. Run after `autograder release lab05`:

    .venv/bin/python examples/make_lab05_samples.py
"""

from __future__ import annotations

from pathlib import Path

from sample_notebooks import main, read_generated, with_cells_replaced, write_class

LAB = "lab05"
NORMAL, HARD = "05_n", "05_h"

# "I validate on the test set and train on all 50,000 images": the test images leak into model selection
TEST_AS_VALIDATION = '''x_train, y_train = x_train_all, y_train_all  # all 50,000 images for training
x_val, y_val = x_test, y_test  # and the test images for validation
print("学習用 / training:", x_train.shape, "  検証用 / validation:", x_val.shape, "  テスト用 / test:", x_test.shape)
'''

# one torchvision transform for every image: its random flip also runs at test time, on the whole batch at once
FLIP_AT_TEST_TIME = '''import torchvision.transforms.v2 as T

pixels = torch.from_numpy(x_train).to(device).reshape(-1, 3).float() / 255
MEAN = pixels.mean(dim=0).cpu()
STD = pixels.std(dim=0).cpu()
del pixels
print("MEAN:", MEAN, " STD:", STD)

transform = T.Compose([T.RandomHorizontalFlip(p=0.5), T.Normalize(MEAN.tolist(), STD.tolist())])


def preprocess(images, device="cpu"):
    x = torch.as_tensor(images).to(device).permute(0, 3, 1, 2).float() / 255
    return transform(x)
'''

# the multilayer perceptron of the MNIST lab, kept for CIFAR-10: no convolution at all
MLP_INSTEAD_OF_CNN = '''class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.Sequential(
            nn.Flatten(),
            nn.Linear(3 * 32 * 32, 128), nn.ReLU(),
            nn.Linear(128, 10),
        )

    def forward(self, x):
        return self.layers(x)
'''

# one offset for the whole mini-batch (Python's random.randint): every image shifts the same way
SAME_CROP_FOR_BATCH = '''import random


def random_crop(x, padding=4):
    n, c, h, w = x.shape
    padded = F.pad(x, (padding, padding, padding, padding), mode="reflect")
    dy = random.randint(0, 2 * padding)
    dx = random.randint(0, 2 * padding)
    return padded[:, :, dy:dy + h, dx:dx + w]
'''

# evaluate without model.eval(): BatchNorm normalises with each validation batch's own statistics
NO_EVAL_MODE = '''def evaluate(model, x, y, batch_size=1000):
    total_loss, correct = 0.0, 0
    with torch.no_grad(), torch.autocast(x.device.type, dtype=torch.float16, enabled=x.is_cuda):
        for i in range(0, len(x), batch_size):
            xb, yb = x[i:i + batch_size], y[i:i + batch_size]
            logits = model(xb)
            total_loss += F.cross_entropy(logits.float(), yb, reduction="sum").item()
            correct += (logits.argmax(dim=1) == yb).sum().item()
    return total_loss / len(x), correct / len(x)
'''

# student id -> {notebook: {grade_id of a solution cell: its new source}}
MISTAKES = {
    "test-as-validation": {NORMAL: {"prepare": TEST_AS_VALIDATION}},
    "flip-at-test-time": {NORMAL: {"preprocess": FLIP_AT_TEST_TIME}},
    "mlp-instead-of-cnn": {NORMAL: {"net": MLP_INSTEAD_OF_CNN}},
    "same-crop-for-batch": {HARD: {"random_crop": SAME_CROP_FOR_BATCH}},
    "no-eval-mode": {HARD: {"evaluate": NO_EVAL_MODE}},
}


def build(out: Path) -> list[str]:
    """Write one folder per sample student (both notebooks, or the one a mistake is in); return the ids."""
    solution = {nb: read_generated("solutions", LAB, nb) for nb in (NORMAL, HARD)}
    return write_class(out, {
        "ref-solution": solution,
        "blank-release": {nb: read_generated("release", LAB, nb) for nb in (NORMAL, HARD)},
        **{student: {nb: with_cells_replaced(solution[nb], cells, where=f"{LAB}/{nb}") for nb, cells in notebooks.items()}
           for student, notebooks in MISTAKES.items()},
    })


if __name__ == "__main__":
    main(build, LAB)

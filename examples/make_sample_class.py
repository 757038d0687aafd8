"""Build the sample class of lab 03 from solutions/ and release/: examples/submissions/lab03/ (one
folder per student) and examples/moodle/ (the same class as Moodle's "Download all submissions"
zip, with the roster).

Each student folder holds one 03_n.ipynb: the answer key, the untouched release, realistic
mistakes (each replaces whole solution cells of the answer key), and broken files. The scores
each one must get are asserted in tests/test_grade_lab03.py. Run after `autograder release`:

    .venv/bin/python examples/make_sample_class.py
"""

from __future__ import annotations

import csv
import io
import sys
import zipfile
from pathlib import Path

import nbformat
from sample_notebooks import SUBMISSIONS, one_notebook_class, write_class

LAB, NOTEBOOK = "lab03", "03_n"

FLIPPED_CONV2D_SINGLE = '''def conv2d_single(x, k):
    # true convolution: the kernel is flipped (CNNs do not flip it)
    k = k[::-1, ::-1]
    kh, kw = k.shape
    out = np.zeros((x.shape[0] - kh + 1, x.shape[1] - kw + 1))
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[i, j] = np.sum(x[i:i + kh, j:j + kw] * k)
    return out
'''

FLIPPED_CONV2D = '''def conv2d(x, w, b, stride=1, padding=0):
    w = w[:, :, ::-1, ::-1]  # flipped, as in the textbook definition of convolution
    n, c, h, wd = x.shape
    k, _, kh, kw = w.shape
    x = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    oh = (h + 2 * padding - kh) // stride + 1
    ow = (wd + 2 * padding - kw) // stride + 1
    out = np.zeros((n, k, oh, ow))
    for i in range(oh):
        for j in range(ow):
            patch = x[:, :, i * stride:i * stride + kh, j * stride:j * stride + kw]
            out[:, :, i, j] = np.tensordot(patch, w, axes=([1, 2, 3], [1, 2, 3]))
    return out + b[None, :, None, None]
'''

SOFTMAX_NO_MAX = '''def softmax(a):
    exp_a = np.exp(a)  # no max subtraction: exp(1000) overflows to inf
    return exp_a / np.sum(exp_a, axis=-1, keepdims=True)
'''

SOFTMAX_WITH_WARNING = '''import warnings


def softmax(a):
    warnings.warn("softmax: converting input to float64", RuntimeWarning)
    a = np.asarray(a, dtype=np.float64)
    shifted = a - np.max(a, axis=-1, keepdims=True)
    exp_a = np.exp(shifted)
    return exp_a / np.sum(exp_a, axis=-1, keepdims=True)
'''

CROSS_ENTROPY_SUM = '''def cross_entropy(y, t):
    delta = 1e-7
    return -np.sum(t * np.log(y + delta))  # summed over the batch, not averaged
'''

POOLS_STRIDE_IS_SIZE = '''def max_pool2d(x, size, stride):
    n, c, h, w = x.shape
    oh, ow = h // size, w // size  # the window always moves by `size`: stride is ignored
    out = np.zeros((n, c, oh, ow))
    for i in range(oh):
        for j in range(ow):
            out[:, :, i, j] = x[:, :, i * size:(i + 1) * size, j * size:(j + 1) * size].max(axis=(2, 3))
    return out


def avg_pool2d(x, size, stride):
    n, c, h, w = x.shape
    oh, ow = h // size, w // size
    out = np.zeros((n, c, oh, ow))
    for i in range(oh):
        for j in range(ow):
            out[:, :, i, j] = x[:, :, i * size:(i + 1) * size, j * size:(j + 1) * size].mean(axis=(2, 3))
    return out
'''

COLAB_FIRST_CELL = '''from google.colab import drive  # left over from Colab: fails anywhere else
drive.mount("/content/drive")
'''

# student id -> {grade_id of a solution cell: its new source}
MISTAKES = {
    "flipped-kernel": {"conv2d_single": FLIPPED_CONV2D_SINGLE, "conv2d": FLIPPED_CONV2D},
    "softmax-overflow": {"softmax": SOFTMAX_NO_MAX},
    "ce-summed": {"cross_entropy": CROSS_ENTROPY_SUM},
    "pool-stride": {"pooling": POOLS_STRIDE_IS_SIZE},
    "stderr-warning": {"softmax": SOFTMAX_WITH_WARNING},
}

BROKEN_FILES = {
    "not-json": b'{"cells": [{"cell_type": "code", "source": "def conv2d_single(x, k):',
    "empty-file": b"",
    "not-a-notebook": b"import numpy as np\n\ndef softmax(a):\n    return np.exp(a) / np.exp(a).sum()\n",
}


def _with_first_cell(nb: nbformat.NotebookNode, source: str) -> nbformat.NotebookNode:
    nb = nbformat.from_dict(nb)
    first_code = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code")
    cell = nbformat.v4.new_code_cell(source.rstrip("\n"))
    cell.id = "student-added-cell"  # fixed, so the sample class is rebuilt byte for byte
    nb.cells.insert(first_code, cell)
    return nb


def build(out: Path) -> list[str]:
    """Write one folder per sample student under ``out`` (broken files included); return the student ids."""
    students = one_notebook_class(LAB, NOTEBOOK, MISTAKES)
    students["colab-first-cell"] = {NOTEBOOK: _with_first_cell(students["ref-solution"][NOTEBOOK], COLAB_FIRST_CELL)}
    written = write_class(out, students)
    for student, data in BROKEN_FILES.items():
        (out / student).mkdir(parents=True)
        (out / student / f"{NOTEBOOK}.ipynb").write_bytes(data)
    return sorted([*written, *BROKEN_FILES])


# sample student -> (roster id, family name, given name, Moodle participant id)
ROSTER = {
    "ref-solution": ("s2401001", "山田", "太郎", 1001),
    "blank-release": ("s2401002", "佐藤", "花子", 1002),
    "colab-first-cell": ("s2401003", "鈴木", "一郎", 1003),
    "stderr-warning": ("s2401004", "高橋", "美咲", 1004),
    "flipped-kernel": ("s2401005", "田中", "健太", 1005),
    "softmax-overflow": ("s2401006", "伊藤", "さくら", 1006),
    "ce-summed": ("s2401007", "渡辺", "大輔", 1007),
    "pool-stride": ("s2401008", "中村", "葵", 1008),
    "not-json": ("s2401009", "小林", "翔", 1009),
    "empty-file": ("s2401010", "加藤", "陽菜", 1010),
    "not-a-notebook": ("s2401011", "吉田", "蓮", 1011),
}
ABSENT = ("s2401012", "山本", "結衣")  # on the roster, submits nothing
STRANGER = ("松本 悠真", 1099)  # submits, but is not on the roster
DUE = "2026-07-14T23:59:00+09:00"
ON_TIME, LATE = (2026, 7, 14, 20, 0, 0), (2026, 7, 15, 9, 30, 0)


class _CP932Entry(zipfile.ZipInfo):
    """A zip entry named in CP932 without the UTF-8 flag, as zip tools on Japanese Windows write them."""

    def _encodeFilenameFlags(self):  # noqa: N802 (zipfile's name)
        return self.filename.encode("cp932"), self.flag_bits & ~0x800


def _add(archive: zipfile.ZipFile, name: str, data: bytes, when=ON_TIME, cp932: bool = False) -> None:
    info = (_CP932Entry if cp932 else zipfile.ZipInfo)(name, date_time=when)
    info.compress_type = zipfile.ZIP_DEFLATED
    archive.writestr(info, data)


def build_moodle(class_dir: Path, out: Path) -> Path:
    """Moodle's zip of the class in ``class_dir``, plus what real uploads bring; and roster.csv."""
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "roster.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["id", "family_name", "given_name", "email"])
        for sid, family, given, *_ in [*ROSTER.values(), ABSENT]:
            writer.writerow([sid, family, given, f"{sid}@example.ac.jp"])

    def prefix(student: str) -> str:
        _, family, given, pid = ROSTER[student]
        return f"{family} {given}_{pid}_assignsubmission_file_"

    zip_path = out / f"{LAB}_download_all_submissions.zip"
    with zipfile.ZipFile(zip_path, "w") as archive:
        for student in sorted(ROSTER):
            data = (class_dir / student / f"{NOTEBOOK}.ipynb").read_bytes()
            if student == "ref-solution":  # folder form, CP932 names, an older first attempt
                _add(archive, prefix(student) + "/03_n.ipynb", (class_dir / "blank-release" / "03_n.ipynb").read_bytes(),
                     (2026, 7, 10, 9, 0, 0), cp932=True)
                _add(archive, prefix(student) + "/03_n (1).ipynb", data, cp932=True)
            elif student == "flipped-kernel":  # full-width file name, submitted late
                _add(archive, prefix(student) + "０３＿Ｎ.ipynb", data, LATE)
            elif student == "softmax-overflow":  # also uploads the wrong week's notebook and a script
                _add(archive, prefix(student) + "03_n.ipynb", data)
                _add(archive, prefix(student) + "14_n.ipynb", data)
                _add(archive, prefix(student) + "softmax.py", b"import numpy as np\n")
            elif student == "ce-summed":  # zipped the notebook before uploading it
                inner = io.BytesIO()
                with zipfile.ZipFile(inner, "w") as nested:
                    nested.writestr("03_n.ipynb", data)
                _add(archive, prefix(student) + "03_n.zip", inner.getvalue())
            else:
                _add(archive, prefix(student) + "03_n.ipynb", data)
        name, pid = STRANGER
        _add(archive, f"{name}_{pid}_assignsubmission_file_03_n.ipynb",
             (class_dir / "ref-solution" / "03_n.ipynb").read_bytes())
    return zip_path


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else SUBMISSIONS / LAB
    students = build(target)
    print(f"wrote {len(students)} submissions to {target}")
    moodle = build_moodle(target, target.parents[1] / "moodle" if len(sys.argv) == 1 else target.parent / "moodle")
    print(f"wrote {moodle} and its roster.csv")

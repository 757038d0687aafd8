"""Build the sample class of lab 02 from solutions/ and release/: examples/submissions/lab02/
(one folder per student, holding that student's 02_n.ipynb and/or 02_h.ipynb).

Students: the answer key, the untouched release, and realistic mistakes. A mistake either
replaces whole solution cells of the answer key (02_n) or edits one line of a solution cell
(02_h, where the cells are long), so the rest of the notebook stays correct. Students who
only worked on one notebook have no file for the other. The scores each one must get are
asserted in tests/test_grade_lab02.py. Run after `autograder release lab02`:

    .venv/bin/python examples/make_lab02_samples.py
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
LAB = "lab02"
NOTEBOOKS = ("02_n", "02_h")

# ------------------------------------------------------------------ 02_n: whole cells replaced

PERCEPTRON_GE = '''def perceptron(x, w, b):
    u = np.dot(w, x) + b
    return 1 if u >= 0 else 0  # ">=": u == 0 gives 1, but the slide's rule is "<= theta -> 0"
'''

SIGMOID_OVERFLOW = '''def sigmoid(x):
    return 1 / (1 + np.exp(-x))  # the textbook formula: exp(1000) overflows for x = -1000
'''

SSE_NO_HALF = '''def sum_squared_error(y, t):
    return float(np.sum((y - t) ** 2))  # the 1/2 is missing
'''

FORWARD_DIFFERENCE = '''def numerical_gradient(f, x):
    h = 1e-4
    grad = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        tmp = x[idx]
        f_x = f(x)
        x[idx] = tmp + h
        grad[idx] = (f(x) - f_x) / h  # forward difference: error proportional to h
        x[idx] = tmp
    return grad
'''

GRADIENT_WITHOUT_MEAN = '''def two_layer_gradient(params, x, t):
    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    h = sigmoid(x @ W1 + b1)
    a = h @ W2 + b2
    y = np.exp(a - a.max(axis=1, keepdims=True))
    y = y / y.sum(axis=1, keepdims=True)
    da = y - t  # the 1/N of the mean loss is missing
    grads = {"W2": h.T @ da, "b2": da.sum(axis=0)}
    du = (da @ W2.T) * h * (1 - h)
    grads["W1"] = x.T @ du
    grads["b1"] = du.sum(axis=0)
    return grads
'''

GRADIENT_STEP_ASCENT = '''def gradient_step(w, grad, lr):
    return w + lr * grad  # sign error: this climbs the loss
'''

# ------------------------------------------------------------------ 02_h: one line of a cell edited
# student -> {grade_id: (old text, new text)}

ASCENT_IN_COPY = ("    return w - lr * grad", "    return w + lr * grad  # sign error, copied from 02_n")
NO_SHUFFLE = ("    order = rng.permutation(n)", "    order = np.arange(n)  # forgot to shuffle")
UPDATE_NOT_ASSIGNED = ("                params[key] = gradient_step(params[key], grads[key], lr)",
                       "                gradient_step(params[key], grads[key], lr)  # result thrown away")

# student -> {notebook: {grade_id: new source}} for 02_n, {notebook: {grade_id: (old, new)}} for 02_h
MISTAKES_N = {
    "perceptron-ge": {"perceptron": PERCEPTRON_GE},
    "sigmoid-overflow": {"sigmoid": SIGMOID_OVERFLOW},
    "sse-no-half": {"sum_squared_error": SSE_NO_HALF},
    "forward-difference": {"numerical_gradient": FORWARD_DIFFERENCE},
    "grad-no-mean": {"two_layer_gradient": GRADIENT_WITHOUT_MEAN},
    "gradient-ascent": {"gradient_step": GRADIENT_STEP_ASCENT},
}
MISTAKES_H = {
    "gradient-ascent": {"network": ASCENT_IN_COPY},  # the same sign error, copied into 02_h
    "no-shuffle": {"make_minibatches": NO_SHUFFLE},
    "update-not-assigned": {"train": UPDATE_NOT_ASSIGNED},
}


def _cells_by_id(nb: nbformat.NotebookNode, notebook: str, grade_ids) -> dict[str, nbformat.NotebookNode]:
    cells = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in nb.cells}
    missing = sorted(set(grade_ids) - set(cells))
    if missing:
        sys.exit(f"make_lab02_samples: no solution cell with grade_id {missing} in {LAB}/{notebook}")
    return cells


def _with_cells_replaced(nb: nbformat.NotebookNode, notebook: str, replacements: dict[str, str]):
    nb = nbformat.from_dict(nb)
    cells = _cells_by_id(nb, notebook, replacements)
    for grade_id, source in replacements.items():
        cells[grade_id].source = source.rstrip("\n")
        cells[grade_id].outputs, cells[grade_id].execution_count = [], None
    return nb


def _with_cells_edited(nb: nbformat.NotebookNode, notebook: str, edits: dict[str, tuple[str, str]]):
    nb = nbformat.from_dict(nb)
    cells = _cells_by_id(nb, notebook, edits)
    for grade_id, (old, new) in edits.items():
        if cells[grade_id].source.count(old) != 1:
            sys.exit(f"make_lab02_samples: {old!r} is not exactly once in cell {grade_id} of {LAB}/{notebook}")
        cells[grade_id].source = cells[grade_id].source.replace(old, new)
        cells[grade_id].outputs, cells[grade_id].execution_count = [], None
    return nb


def build(out: Path) -> list[str]:
    """Write every sample student's notebooks under ``out``; return the student ids."""
    solution = {nb: nbformat.read(ROOT / "solutions" / LAB / f"{nb}.ipynb", as_version=4) for nb in NOTEBOOKS}
    release = {nb: nbformat.read(ROOT / "release" / LAB / f"{nb}.ipynb", as_version=4) for nb in NOTEBOOKS}
    students: dict[str, dict[str, nbformat.NotebookNode]] = {
        "ref-solution": dict(solution),
        "blank-release": dict(release),
    }
    for student, cells in MISTAKES_N.items():
        students.setdefault(student, {})["02_n"] = _with_cells_replaced(solution["02_n"], "02_n", cells)
    for student, edits in MISTAKES_H.items():
        students.setdefault(student, {})["02_h"] = _with_cells_edited(solution["02_h"], "02_h", edits)
    if out.exists():
        shutil.rmtree(out)
    for student, notebooks in students.items():
        (out / student).mkdir(parents=True)
        for name, nb in notebooks.items():
            nbformat.write(nb, out / student / f"{name}.ipynb")
    return sorted(students)


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "examples" / "submissions" / LAB
    students = build(target)
    print(f"wrote {len(students)} students' submissions to {target}")

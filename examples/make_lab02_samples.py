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

from pathlib import Path

from sample_notebooks import main, read_generated, with_cells_edited, with_cells_replaced, write_class

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


def build(out: Path) -> list[str]:
    """Write every sample student's notebooks under ``out``; return the student ids."""
    solution = {nb: read_generated("solutions", LAB, nb) for nb in NOTEBOOKS}
    students: dict[str, dict] = {
        "ref-solution": dict(solution),
        "blank-release": {nb: read_generated("release", LAB, nb) for nb in NOTEBOOKS},
    }
    for student, cells in MISTAKES_N.items():
        students.setdefault(student, {})["02_n"] = with_cells_replaced(solution["02_n"], cells, where=f"{LAB}/02_n")
    for student, edits in MISTAKES_H.items():
        students.setdefault(student, {})["02_h"] = with_cells_edited(solution["02_h"], edits, where=f"{LAB}/02_h")
    return write_class(out, students)


if __name__ == "__main__":
    main(build, LAB)

"""Build the sample class of lab 03's hard notebook from solutions/ and release/:
examples/submissions/lab03h/<student>/03_h.ipynb (a folder of its own: examples/submissions/lab03/
belongs to make_sample_class.py, the normal notebook's class).

The answer key, the untouched release, and realistic mistakes, each replacing whole solution
cells (by grade_id) of the answer key. The scores each one must get are asserted in
tests/test_grade_lab03_hard.py. Run after `autograder release lab03`:

    .venv/bin/python examples/make_lab03h_samples.py
"""

from __future__ import annotations

from pathlib import Path

from sample_notebooks import main, one_notebook_class, write_class

LAB, NOTEBOOK = "lab03", "03_h"

# the bias gradient keeps the batch axis: summed over the positions only, shape (N, K) instead of (K,)
DB_NOT_SUMMED_OVER_N = '''def conv2d_backward(dout, x, w, stride=1, padding=0):
    n, c, h, width = x.shape
    k, _, kh, kw = w.shape
    x_pad = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    dx_pad = np.zeros_like(x_pad, dtype=float)
    dw = np.zeros_like(w, dtype=float)
    db = np.sum(dout, axis=(2, 3))
    for i in range(dout.shape[2]):
        for j in range(dout.shape[3]):
            top, left = i * stride, j * stride
            g = dout[:, :, i, j]
            dw += np.tensordot(g, x_pad[:, :, top:top + kh, left:left + kw], axes=([0], [0]))
            dx_pad[:, :, top:top + kh, left:left + kw] += np.tensordot(g, w, axes=([1], [0]))
    return dx_pad[:, :, padding:padding + h, padding:padding + width], dw, db
'''

# the backward loop walks the windows one pixel at a time: right for stride 1 only
STRIDE_IGNORED = '''def conv2d_backward(dout, x, w, stride=1, padding=0):
    n, c, h, width = x.shape
    k, _, kh, kw = w.shape
    x_pad = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    dx_pad = np.zeros_like(x_pad, dtype=float)
    dw = np.zeros_like(w, dtype=float)
    db = np.sum(dout, axis=(0, 2, 3))
    for i in range(dout.shape[2]):
        for j in range(dout.shape[3]):
            g = dout[:, :, i, j]
            dw += np.tensordot(g, x_pad[:, :, i:i + kh, j:j + kw], axes=([0], [0]))
            dx_pad[:, :, i:i + kh, j:j + kw] += np.tensordot(g, w, axes=([1], [0]))
    return dx_pad[:, :, padding:padding + h, padding:padding + width], dw, db
'''

# every element of the window receives the window's gradient, not only the maximum
POOL_GRAD_TO_ALL = '''def max_pool2d_backward(dout, x, size, stride):
    dx = np.zeros_like(x, dtype=float)
    for i in range(dout.shape[2]):
        for j in range(dout.shape[3]):
            top, left = i * stride, j * stride
            dx[:, :, top:top + size, left:left + size] += dout[:, :, i, j][:, :, None, None]
    return dx
'''

# `=` instead of `+=`: where windows overlap, a later window overwrites the earlier one's gradient
POOL_OVERWRITE = '''def max_pool2d_backward(dout, x, size, stride):
    dx = np.zeros_like(x, dtype=float)
    for i in range(dout.shape[2]):
        for j in range(dout.shape[3]):
            top, left = i * stride, j * stride
            window = x[:, :, top:top + size, left:left + size]
            mask = window == window.max(axis=(2, 3), keepdims=True)
            dx[:, :, top:top + size, left:left + size] = mask * dout[:, :, i, j][:, :, None, None]
    return dx
'''

# student id -> {grade_id of a solution cell: its new source}
MISTAKES = {
    "db-not-summed": {"conv2d_backward": DB_NOT_SUMMED_OVER_N},
    "stride-ignored": {"conv2d_backward": STRIDE_IGNORED},
    "pool-grad-to-all": {"max_pool2d_backward": POOL_GRAD_TO_ALL},
    "pool-overwrite": {"max_pool2d_backward": POOL_OVERWRITE},
}


def build(out: Path) -> list[str]:
    """Write one folder per sample student under ``out``; return the student ids."""
    return write_class(out, one_notebook_class(LAB, NOTEBOOK, MISTAKES))


if __name__ == "__main__":
    main(build, 'lab03h')

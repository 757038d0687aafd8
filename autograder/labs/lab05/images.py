"""What the grader reads off the student's outputs on its probe images: how preprocess's output relates to its input
(a per-channel affine map, or a rearrangement of it), and which flip, blur or crop made each augmented image."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from autograder.labs.lab05.thresholds import AFFINE_TOL


def _torch():
    import torch  # imported lazily: the grader imports the labs' checks to find them, most never run

    return torch


def affine_residual(out: np.ndarray, images: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """Fit out[:, c] = a_c * images[..., c] + b_c, for out (N, 3, 32, 32) and images (N, 32, 32, 3): (largest
    residual relative to the output's scale, a (3,), b (3,))."""
    worst, slopes, offsets = 0.0, np.zeros(3), np.zeros(3)
    for c in range(3):
        x = images[..., c].reshape(-1).astype(np.float64)
        y = out[:, c].reshape(-1)
        design = np.stack([x, np.ones_like(x)], axis=1)
        (a, b), *_ = np.linalg.lstsq(design, y, rcond=None)
        scale = max(abs(a) * 255.0, 1e-12)
        worst = max(worst, float(np.max(np.abs(design @ (a, b) - y))) / scale)
        slopes[c], offsets[c] = a, b
    return worst, slopes, offsets


def layout_hint(out: np.ndarray, images: np.ndarray) -> str:
    """Which rearrangement of the input the output is, when it is one (flipped, channels swapped, reshaped)."""
    candidates = {
        "左右が反転しています (テスト時に RandomHorizontalFlip？) / the images are flipped left-right (a random flip at "
        "test time?)": images[:, :, ::-1],
        "上下が反転しています / the images are flipped upside down": images[:, ::-1],
        "チャンネルの順番が RGB ではありません / the channels are not in R, G, B order": images[..., ::-1],
        "permute(0, 3, 1, 2) ではなく reshape で (N, 3, 32, 32) にしています: 画素が混ざります / the images were reshaped "
        "to (N, 3, 32, 32) instead of permuted with permute(0, 3, 1, 2): pixels are scrambled":
            images.reshape(len(images), 3, 32, 32).transpose(0, 2, 3, 1),
    }
    for hint, arranged in candidates.items():
        if affine_residual(out, arranged)[0] <= AFFINE_TOL:
            return hint
    return ""


def flip_state(out, grids) -> tuple:
    """Per image of ``out`` (N, 3, 32, 32), augmented probe images (:func:`~autograder.kernel.probes.lab05.inputs.
    probe_batch`): flipped left-right (N,), flipped upside down (N,), fraction of the checkerboard's amplitude kept (N,)."""
    rows, cols, checker = grids
    h = (out[:, 0] * cols).mean(dim=(1, 2))
    v = (out[:, 1] * rows).mean(dim=(1, 2))
    c = (out[:, 2] * checker).mean(dim=(1, 2)).abs()
    return h < 0, v < 0, c


def crop_matches(x, out, padding: int, flips: Sequence[bool], atol: float) -> list:
    """Per image of ``out`` (N, 3, 32, 32), the first (flip, mode, dy, dx) whose crop of ``x`` padded by ``padding``
    (reflected or zeros, flipped left-right first or not) equals it within ``atol``, or None."""
    torch = _torch()
    n = x.shape[0]
    found = [None] * n
    for flip in flips:
        base = x.flip(-1) if flip else x
        for mode in ("reflect", "constant"):
            padded = torch.nn.functional.pad(base, (padding,) * 4, mode=mode)
            for dy in range(2 * padding + 1):
                for dx in range(2 * padding + 1):
                    crop = padded[:, :, dy:dy + 32, dx:dx + 32]
                    same = ((crop - out).abs().amax(dim=(1, 2, 3)) <= atol).tolist()
                    for i in range(n):
                        if same[i] and found[i] is None:
                            found[i] = (flip, mode, dy - padding, dx - padding)
    return found

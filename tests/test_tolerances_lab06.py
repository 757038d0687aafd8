"""Verdicts that do not depend on the draw (issue 18.6): lab 06's data checks on many salts.

As tests/test_tolerances_lab03.py: each honest variant of min_max_scale, create_dataset and split_data (float32
arithmetic, as the seed's `dataset.astype('float32')` does; loops against vectorised code; another formula) passes
on every one of ``SALTS`` salts, and each realistic mistake fails on every one. The checks are called in-process.
"""

from __future__ import annotations

import numpy as np
import pytest
from salt_sweep import assert_fails_on_every_salt, assert_passes_on_every_salt

from autograder.labs import lab06

F32 = np.float32


# ------------------------------------------------------------------- honest variants

def scale_f32(data):
    data = np.asarray(data, dtype=F32)
    return (data - data.min()) / (data.max() - data.min())


def scale_loops(data):
    """Python floats, one value at a time, the reciprocal of the range multiplied in."""
    data = np.asarray(data, dtype=np.float64)
    flat = data.reshape(-1).tolist()
    lo, hi = min(flat), max(flat)
    inverse = 1.0 / (hi - lo)
    return np.array([(v - lo) * inverse for v in flat]).reshape(data.shape)


def scale_ptp(data):
    data = np.asarray(data, dtype=np.float64)
    return (data - data.min()) / np.ptp(data)


def windows_f32(data, look_back):
    """The seed's loop (without its `- 1`), on a float32 series."""
    series = np.asarray(data, dtype=F32).reshape(-1)
    x = [series[i:i + look_back] for i in range(len(series) - look_back)]
    y = [series[i + look_back] for i in range(len(series) - look_back)]
    return np.array(x).reshape(-1, look_back, 1), np.array(y).reshape(-1, 1)


def windows_sliding(data, look_back):
    series = np.asarray(data, dtype=np.float64).reshape(-1)
    x = np.lib.stride_tricks.sliding_window_view(series[:-1], look_back)
    return x[..., None].copy(), series[look_back:, None].copy()


def split_f32(x, y, test_size=0.1):
    pos = round(len(x) * (1 - test_size))
    x, y = np.asarray(x, dtype=F32), np.asarray(y, dtype=F32)
    return x[:pos], y[:pos], x[pos:], y[pos:]


def split_from_the_end(x, y, test_size=0.1):
    """The test part counted from the end: len - round(N * test_size) is round(N * (1 - test_size)) here too."""
    n_test = len(x) - round(len(x) * (1 - test_size))
    return x[:len(x) - n_test], y[:len(y) - n_test], x[len(x) - n_test:], y[len(y) - n_test:]


HONEST = {
    "min_max_scale": {"float32": scale_f32, "loops, times the reciprocal": scale_loops, "np.ptp": scale_ptp},
    "create_dataset": {"float32, the seed's loop": windows_f32, "sliding_window_view": windows_sliding},
    "split_data": {"float32": split_f32, "counted from the end": split_from_the_end},
}


# ------------------------------------------------------------------- realistic mistakes

def _windows_seed_minus_one(data, look_back):
    """The seed's own loop, `range(len(dataset) - look_back - 1)`: one window short."""
    series = np.asarray(data, dtype=np.float64).reshape(-1)
    n = len(series) - look_back - 1
    return (np.array([series[i:i + look_back] for i in range(n)]).reshape(-1, look_back, 1),
            series[look_back:look_back + n].reshape(-1, 1))


def _windows_last_value_as_target(data, look_back):
    series = np.asarray(data, dtype=np.float64).reshape(-1)
    n = len(series) - look_back
    return (np.array([series[i:i + look_back] for i in range(n)]).reshape(-1, look_back, 1),
            series[look_back - 1:look_back - 1 + n].reshape(-1, 1))


def _split_floor(x, y, test_size=0.1):
    pos = int(len(x) * (1 - test_size))
    return x[:pos], y[:pos], x[pos:], y[pos:]


def _split_shuffled(x, y, test_size=0.1):
    order = np.random.default_rng(0).permutation(len(x))
    return split_f32(np.asarray(x)[order], np.asarray(y)[order], test_size)


def _split_test_first(x, y, test_size=0.1):
    n_test = len(x) - round(len(x) * (1 - test_size))
    return x[n_test:], y[n_test:], x[:n_test], y[:n_test]


MISTAKES = {
    "min_max_scale": {
        "divided by the maximum": lambda d: np.asarray(d, dtype=np.float64) / np.max(d),
        "standardized": lambda d: (np.asarray(d, dtype=np.float64) - np.mean(d)) / np.std(d),
        "minus the minimum, over the maximum": lambda d: (np.asarray(d, dtype=np.float64) - np.min(d)) / np.max(d),
    },
    "create_dataset": {"the seed's - 1": _windows_seed_minus_one,
                       "the window's last value as its target": _windows_last_value_as_target},
    "split_data": {"int() instead of round()": _split_floor, "shuffled": _split_shuffled,
                   "the test part first": _split_test_first},
}


@pytest.mark.parametrize(("name", "variant"), [(f, v) for f, vs in HONEST.items() for v in vs])
def test_every_honest_variant_passes_on_every_salt(name, variant, monkeypatch):
    check = getattr(lab06, f"check_{name}")
    assert_passes_on_every_salt(check, HONEST[name][variant], f"{name}, {variant}", monkeypatch)


@pytest.mark.parametrize(("name", "mistake"), [(f, m) for f, ms in MISTAKES.items() for m in ms])
def test_every_realistic_mistake_fails_on_every_salt(name, mistake, monkeypatch):
    check = getattr(lab06, f"check_{name}")
    assert_fails_on_every_salt(check, MISTAKES[name][mistake], f"{name}, {mistake}", monkeypatch)

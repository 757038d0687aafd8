"""Verdicts that do not depend on the draw (issue 18.6): lab 01's numeric checks on many salts.

As tests/test_tolerances_lab03.py: each honest variant of make_sin_data, make_quantiles_split and pca_digits
(float32 arithmetic, loops, PCA by hand) passes on every one of ``SALTS`` salts, and each realistic mistake fails
on every one. Lab 01's data checks use the exercise's own inputs (the seeds and sizes the notebook states), so the
salt changes little here; the sweep holds them to the same rule as the other labs. The checks run in-process.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from salt_sweep import assert_fails_on_every_salt, assert_passes_on_every_salt
from sklearn.datasets import make_gaussian_quantiles
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from autograder.labs import lab01

F32 = np.float32


# ------------------------------------------------------------------- honest variants

def sin_data_f32(size, seed):
    x = np.random.default_rng(seed).uniform(0.0, 4.0, size=(size, 1)).astype(F32)
    return x, np.sin(F32(np.pi) * x[:, 0])


def sin_data_loops(size, seed):
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.0, 4.0, size=(size, 1))
    return x, np.array([math.sin(math.pi * float(v)) for v in x[:, 0]])


def _quantiles():
    return make_gaussian_quantiles(n_samples=200, n_features=2, n_classes=2, random_state=0)


def quantiles_f32():
    x, y = _quantiles()
    x = StandardScaler().fit_transform(x.astype(F32))
    return train_test_split(x, y, test_size=0.2, random_state=0)


def quantiles_by_hand():
    x, y = _quantiles()
    x = (x - x.mean(axis=0)) / x.std(axis=0)
    return train_test_split(x, y, test_size=0.2, random_state=0)


def pca_svd_f32(x):
    x = np.asarray(x, dtype=F32)
    centred = x - x.mean(axis=0)
    _, s, vt = np.linalg.svd(centred, full_matrices=False)
    variance = s ** 2
    return centred @ vt[:4].T, variance[:4] / variance.sum()


def pca_eigh(x):
    x = np.asarray(x, dtype=np.float64)
    centred = x - x.mean(axis=0)
    values, vectors = np.linalg.eigh(np.cov(centred, rowvar=False))
    top = np.argsort(values)[::-1][:4]
    return centred @ vectors[:, top], values[top] / values.sum()


HONEST = {
    "make_sin_data": {"float32": sin_data_f32, "math.sin, one point at a time": sin_data_loops},
    "make_quantiles_split": {"float32": quantiles_f32, "standardized by hand": quantiles_by_hand},
    "pca_digits": {"SVD in float32": pca_svd_f32, "eigenvectors of the covariance": pca_eigh},
}


# ------------------------------------------------------------------- realistic mistakes

def _sin_without_pi(size, seed):
    x = np.random.default_rng(seed).uniform(0.0, 4.0, size=(size, 1))
    return x, np.sin(x[:, 0])


def _quantiles_not_standardized():
    x, y = _quantiles()
    return train_test_split(x, y, test_size=0.2, random_state=0)


def _quantiles_scaled_after_the_split():
    x, y = _quantiles()
    x_train, x_valid, y_train, y_valid = train_test_split(x, y, test_size=0.2, random_state=0)
    scaler = StandardScaler().fit(x_train)
    return scaler.transform(x_train), scaler.transform(x_valid), y_train, y_valid


def _quantiles_other_split():
    x, y = _quantiles()
    return train_test_split(StandardScaler().fit_transform(x), y, test_size=0.2, random_state=1)


def _pca_standardized(x):
    return pca_eigh(StandardScaler().fit_transform(np.asarray(x, dtype=np.float64)))


def _pca_not_centred(x):
    x = np.asarray(x, dtype=np.float64)
    _, s, vt = np.linalg.svd(x, full_matrices=False)
    centred_variance = np.linalg.svd(x - x.mean(axis=0), compute_uv=False) ** 2
    return x @ vt[:4].T, centred_variance[:4] / centred_variance.sum()


MISTAKES = {
    "make_sin_data": {"sin(x), no pi": _sin_without_pi},
    "make_quantiles_split": {"not standardized": _quantiles_not_standardized,
                             "standardized after the split": _quantiles_scaled_after_the_split,
                             "random_state=1": _quantiles_other_split},
    "pca_digits": {"standardized first": _pca_standardized, "not centred": _pca_not_centred},
}


@pytest.mark.parametrize(("name", "variant"), [(f, v) for f, vs in HONEST.items() for v in vs])
def test_every_honest_variant_passes_on_every_salt(name, variant, monkeypatch):
    check = getattr(lab01, f"check_{name}")
    assert_passes_on_every_salt(check, HONEST[name][variant], f"{name}, {variant}", monkeypatch)


@pytest.mark.parametrize(("name", "mistake"), [(f, m) for f, ms in MISTAKES.items() for m in ms])
def test_every_realistic_mistake_fails_on_every_salt(name, mistake, monkeypatch):
    check = getattr(lab01, f"check_{name}")
    assert_fails_on_every_salt(check, MISTAKES[name][mistake], f"{name}, {mistake}", monkeypatch)

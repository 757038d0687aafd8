"""Lab 01's reference answers and the measures its checks judge models by, computed with NumPy and scikit-learn.

Grader-side only: the student's kernel never imports this module.
"""

from __future__ import annotations

import numpy as np

PCA_N_COMPONENTS = 4  # the exercise's PCA(n_components=4)


def sin_curve(x: np.ndarray) -> np.ndarray:
    """(n,) -> (n,): sin(pi x), the curve make_sin_data samples and train_sin_regressor learns."""
    return np.sin(np.pi * np.asarray(x, dtype=np.float64))


def contains_one(X: np.ndarray) -> np.ndarray:
    """(n, 10) digits -> (n,) float: 1.0 where the row holds a 1, else 0.0."""
    return (np.asarray(X) == 1).any(axis=1).astype(np.float64)


def digit_frequencies(X: np.ndarray) -> np.ndarray:
    """(n, 10) integer digits 0-9 -> (10,): the fraction of all entries equal to each digit."""
    X = np.asarray(X)
    return np.bincount(X.astype(np.int64).ravel(), minlength=10) / X.size


def quarter_fractions(x: np.ndarray) -> np.ndarray:
    """(n,) values in [0, 4) -> (4,): the fractions in [0, 1), [1, 2), [2, 3), [3, 4)."""
    return np.histogram(x, bins=4, range=(0, 4))[0] / len(x)


def pca(X: np.ndarray, n_components: int = PCA_N_COMPONENTS) -> tuple[np.ndarray, np.ndarray]:
    """(n, d) -> scores (n, n_components), explained_variance_ratio_ (n_components,) of sklearn's PCA (float64)."""
    from sklearn.decomposition import PCA

    model = PCA(n_components=n_components)
    scores = model.fit_transform(np.asarray(X, dtype=np.float64))
    return scores, model.explained_variance_ratio_


def standardized_pca(X: np.ndarray, n_components: int = PCA_N_COMPONENTS) -> tuple[np.ndarray, np.ndarray]:
    """(n, d) -> :func:`pca` of X standardized by StandardScaler: the mistake of scaling the pixels first."""
    from sklearn.preprocessing import StandardScaler

    return pca(StandardScaler().fit_transform(X), n_components)


def knn_accuracy(embedding: np.ndarray, labels: np.ndarray) -> float:
    """(n, k), (n,) -> mean 5-fold (stratified, shuffled with seed 0) cross-validated accuracy of 5-NN."""
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.neighbors import KNeighborsClassifier

    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)
    return float(cross_val_score(KNeighborsClassifier(n_neighbors=5), embedding, labels, cv=folds).mean())


def make_quantiles_split(scale: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Seed 002's cell: make_gaussian_quantiles(200 points, 2 features, 2 classes, random_state=0), standardized
    (unless ``scale`` is False), split 80/20 with random_state=0 -> X_train (160, 2), X_valid (40, 2),
    y_train (160,), y_valid (40,)."""
    from sklearn.datasets import make_gaussian_quantiles
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    X, y = make_gaussian_quantiles(n_samples=200, n_features=2, n_classes=2, random_state=0)
    if scale:
        X = StandardScaler().fit_transform(X)
    return train_test_split(X, y, test_size=0.2, random_state=0)

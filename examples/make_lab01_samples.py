"""Build the sample class of lab 01 from solutions/ and release/: examples/submissions/lab01/ (one
folder per student, each holding that student's 01_n.ipynb).

The class: the answer key, the untouched release, and realistic mistakes, each of which replaces
whole solution cells of the answer key (by grade_id). The score each one must get is asserted in
tests/test_grade_lab01.py. Run after `autograder release lab01`:

    .venv/bin/python examples/make_lab01_samples.py
"""

from __future__ import annotations

from pathlib import Path

from sample_notebooks import main, one_notebook_class, swaps_the_checks, write_class

LAB, NOTEBOOK = "lab01", "01_n"

SIN_WITHOUT_PI = '''def make_sin_data(size, seed):
    rng = np.random.default_rng(seed)
    X = rng.uniform(0.0, 4.0, size=(size, 1))
    y = np.sin(X[:, 0])  # the factor pi is missing: sin(x), not sin(x * pi)
    return X, y
'''

SEQUENCE_COUNTS_ONES = '''def make_sequence_data(size, seed):
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 10, size=(size, 10))
    y = (X == 1).sum(axis=1)  # how many 1s, not whether there is one
    return X, y
'''

SEED_NETWORK_ON_RAW_DIGITS = '''def train_sequence_classifier(X, y):
    # the seed's network, on the digits as they are, told never to stop early: 1000 epochs, far too slow
    clf = MLPClassifier(hidden_layer_sizes=(50, 50, 50, 50), max_iter=1000, n_iter_no_change=1000, random_state=0)
    clf.fit(X, y)
    return clf
'''

TINY_SIN_NETWORK = '''def train_sin_regressor(X, y):
    reg = MLPRegressor(hidden_layer_sizes=(2,), random_state=0)  # 2 neurons cannot draw two periods of a sine
    reg.fit(X, y)
    return reg
'''

DIGITS_FEW_EPOCHS = '''def train_digits_classifier(X_train, y_train):
    clf = MLPClassifier(hidden_layer_sizes=(20, 20), max_iter=10, random_state=0)  # stops after 10 epochs
    clf.fit(X_train, y_train)
    return clf
'''

PCA_TWO_COMPONENTS = '''def pca_digits(X):
    pca = PCA(n_components=2)  # only the two components that are plotted
    scores = pca.fit_transform(X)
    return scores, pca.explained_variance_ratio_
'''

TSNE_REPLACED_BY_PCA = '''def tsne_digits(X, seed):
    # t-SNE felt slow, so the first two principal components stand in for it
    return PCA(n_components=2, random_state=seed).fit_transform(X)
'''

PCA_STANDARDIZED = '''def pca_digits(X):
    X = StandardScaler().fit_transform(X)  # standardized first: no longer the seed's PCA of the pixel values
    pca = PCA(n_components=4)
    scores = pca.fit_transform(X)
    return scores, pca.explained_variance_ratio_
'''

QUANTILES_NOT_SCALED = '''def make_quantiles_split():
    X, Y = make_gaussian_quantiles(n_samples=200, n_features=2, n_classes=2, random_state=0)
    # StandardScaler forgotten
    X_train, X_valid, y_train, y_valid = train_test_split(X, Y, test_size=0.2, random_state=0)
    return X_train, X_valid, y_train, y_valid
'''

QUANTILES_ONE_EPOCH = '''def train_quantiles_classifier(X_train, y_train):
    # copied from the animation: max_iter=1 with warm_start, but fit only once -> one epoch
    model = MLPClassifier(hidden_layer_sizes=(5,), max_iter=1, learning_rate_init=0.05, warm_start=True,
                          shuffle=True, random_state=0)
    model.fit(X_train, y_train)
    return model
'''

# student id -> {grade_id of a solution cell: its new source}
MISTAKES = {
    "data-generation": {"make_sin_data": SIN_WITHOUT_PI, "make_sequence_data": SEQUENCE_COUNTS_ONES},
    "seed-network-too-slow": {"train_sequence_classifier": SEED_NETWORK_ON_RAW_DIGITS},
    "tiny-network-few-epochs": {"train_sin_regressor": TINY_SIN_NETWORK, "train_digits_classifier": DIGITS_FEW_EPOCHS},
    "pca-2-components-no-tsne": {"pca_digits": PCA_TWO_COMPONENTS, "tsne_digits": TSNE_REPLACED_BY_PCA},
    "pca-standardized": {"pca_digits": PCA_STANDARDIZED},
    "no-scaling-one-epoch": {"make_quantiles_split": QUANTILES_NOT_SCALED,
                             "train_quantiles_classifier": QUANTILES_ONE_EPOCH},
}


def build(out: Path) -> list[str]:
    """Write one folder per sample student under ``out``; return the student ids."""
    students = one_notebook_class(LAB, NOTEBOOK, MISTAKES)
    # the answer key, every check swapped for one that passes
    students["swaps-the-checks"] = {NOTEBOOK: swaps_the_checks(students["ref-solution"][NOTEBOOK], LAB)}
    return write_class(out, students)


if __name__ == "__main__":
    main(build, 'lab01')

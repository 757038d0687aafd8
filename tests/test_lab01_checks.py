"""Lab 01's hidden checks accept the reference solution and reject each realistic mistake.

Runs in-process on the functions of solutions/lab01/01_n.ipynb (no nbgrader), so a broken
check shows here first, with the check's own message. Also: the time budget interrupts a slow
training function, the thresholds separate the reference from the mistakes with a margin, and
the notebook's visible tests state the same thresholds as autograder/labs/lab01/thresholds.py. Every
check is judged: the grader's replay of its probe's transcript (autograder/kernel/probes/lab01.py) reaches
the verdict a direct call reaches, decides from the data the kernel sent (CPU seconds, the model's facts,
its predictions), and finds no verdict on other salted inputs.
"""

from __future__ import annotations

import importlib
import json
import time
import warnings

import nbformat
import numpy as np
import pytest
from replay_harness import assert_same_verdict, judge_transcript, record, record_and_judge

from autograder.kernel import clock, transcript
from autograder.kernel.compare import CheckFailure
from autograder.kernel.probes import lab01 as probes
from autograder.labs import judged, lab01
from autograder.labs.lab01 import reference, thresholds

from conftest import REPO

CHECKS = {
    "make_sin_data": lab01.check_make_sin_data,
    "train_sin_regressor": lab01.check_train_sin_regressor,
    "make_sequence_data": lab01.check_make_sequence_data,
    "train_sequence_classifier": lab01.check_train_sequence_classifier,
    "train_digits_classifier": lab01.check_train_digits_classifier,
    "pca_digits": lab01.check_pca_digits,
    "tsne_digits": lab01.check_tsne_digits,
    "make_quantiles_split": lab01.check_make_quantiles_split,
    "train_quantiles_classifier": lab01.check_train_quantiles_classifier,
}

# sample student -> {function: what its check's message must say}
MISTAKE_MESSAGES = {
    "data-generation": {"make_sin_data": "did you forget the factor π", "make_sequence_data": "1 iff the row contains a 1"},
    "seed-network-too-slow": {"train_sequence_classifier": "training takes too long"},
    "tiny-network-few-epochs": {"train_sin_regressor": r"R² on \[0, 4\) = 0\.\d+ < 0.95",
                                "train_digits_classifier": r"test images = 0\.\d+ < 0.93"},
    "pca-2-components-no-tsne": {"pca_digits": "use n_components=4", "tsne_digits": "not PCA"},
    "pca-standardized": {"pca_digits": "PCA of standardized data"},
    "no-scaling-one-epoch": {"make_quantiles_split": "X is not standardized",
                             "train_quantiles_classifier": r"accuracy on 4000 new points of the same distribution, drawn by the grader = 0\.\d+ < 0.85"},
}


# ------------------------------------------------------------ wrong implementations written here


def sin_data_linspace(size, seed):  # no randomness at all
    X = np.linspace(0, 4, size, endpoint=False)[:, None]
    return X, np.sin(np.pi * X[:, 0])


def sin_data_unseeded(size, seed):
    X = np.random.uniform(0, 4, size=(size, 1))
    return X, np.sin(np.pi * X[:, 0])


def sin_data_one_d(size, seed):
    X = np.random.default_rng(seed).uniform(0, 4, size=size)
    return X, np.sin(np.pi * X)


def forgot_return(X, y):
    from sklearn.neural_network import MLPClassifier

    MLPClassifier((5,), random_state=0).fit(X, y)


def never_fitted(X, y):
    from sklearn.neural_network import MLPClassifier

    return MLPClassifier((5,))


def not_a_network(X, y):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression().fit(X, y)


def not_implemented(X, y):
    raise NotImplementedError()


class ContainsOne:
    """The rule itself instead of a trained network."""

    def predict(self, X):
        return (np.asarray(X) == 1).any(axis=1).astype(int)


def contains_one_rule(X, y):
    return ContainsOne()


def wide_quantiles_network(X, y):
    from sklearn.neural_network import MLPClassifier

    return MLPClassifier((50,), learning_rate_init=0.05, max_iter=500, random_state=0).fit(X, y)


def busy_forever(X, y):
    try:  # a broad except in the student's code must not swallow the interruption
        total = 0
        while True:
            total += 1
    except Exception:
        return None


def pca_flipped(solution):
    def pca_digits(X):
        scores, ratio = solution["pca_digits"](X)
        return -scores, ratio

    return pca_digits


def pca_scaled_scores(solution):
    def pca_digits(X):
        scores, ratio = solution["pca_digits"](X)
        return scores * 1.01, ratio

    return pca_digits


def _namespace(source_cells: list[str]) -> dict:
    ns: dict = {}
    for source in source_cells:
        exec(compile(source, "<cell>", "exec"), ns)
    return ns


@pytest.fixture(scope="module")
def solution():
    """The imports cell and the solution cells of the answer key, executed (no plots, no tests)."""
    nb = nbformat.read(REPO / "solutions" / "lab01" / "01_n.ipynb", as_version=4)
    cells = [c.source for c in nb.cells if c.cell_type == "code"
             and (c.metadata["nbgrader"]["grade_id"] == "imports" or c.metadata["nbgrader"]["solution"])]
    return _namespace(cells)


@pytest.fixture(scope="module")
def samples():
    module = importlib.import_module("make_lab01_samples")  # examples/ is on sys.path (conftest)
    return module


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_reference_solution_passes_every_hidden_check(solution, name):
    CHECKS[name](solution[name])


def test_every_mistake_of_the_sample_class_is_covered(samples):
    assert set(MISTAKE_MESSAGES) == set(samples.MISTAKES)
    for student, cells in samples.MISTAKES.items():
        assert set(MISTAKE_MESSAGES[student]) == set(cells), student


@pytest.mark.parametrize("student", sorted(MISTAKE_MESSAGES))
def test_each_mistake_fails_its_checks_with_a_message_naming_it(solution, samples, student):
    ns = dict(solution)
    for source in samples.MISTAKES[student].values():
        exec(compile(source, "<mistake>", "exec"), ns)
    for name, message in MISTAKE_MESSAGES[student].items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # ConvergenceWarning of the under-trained models
            with pytest.raises(CheckFailure, match=message):
                CHECKS[name](ns[name])


def _train_budget(monkeypatch, seconds: float) -> None:
    """The grader's budget for a training, and the kernel's limit that interrupts it, both ``seconds``."""
    monkeypatch.setattr(thresholds, "TRAIN_BUDGET_S", seconds)
    monkeypatch.setattr(probes, "TRAIN_TIME_LIMIT_S", seconds)


def test_the_kernel_interrupts_a_call_at_the_graders_budget():
    assert probes.TRAIN_TIME_LIMIT_S == thresholds.TRAIN_BUDGET_S
    assert probes.TSNE_TIME_LIMIT_S == thresholds.TSNE_BUDGET_S


def test_a_slow_training_function_is_interrupted_at_its_budget(monkeypatch):
    _train_budget(monkeypatch, 1.0)

    start = time.process_time()  # CPU seconds, as the budget counts them: a busy machine does not stretch them
    with pytest.raises(CheckFailure, match=r"training takes too long: \d+\.\d s of CPU time > budget 1 s"):
        lab01.check_train_sin_regressor(busy_forever)
    assert time.process_time() - start < 5


def test_a_budget_overrun_without_the_timer_is_still_caught(monkeypatch):

    _train_budget(monkeypatch, 0.3)
    monkeypatch.setattr(clock, "setitimer", None)  # e.g. Windows: only the measured time is left

    def train_quantiles_classifier(X_train, y_train):
        end = time.process_time() + 0.5
        while time.process_time() < end:
            pass
        from sklearn.neural_network import MLPClassifier

        return MLPClassifier((5,), learning_rate_init=0.05, max_iter=500, random_state=0).fit(X_train, y_train)

    with pytest.raises(CheckFailure, match="budget 0.3 s"):
        lab01.check_train_quantiles_classifier(train_quantiles_classifier)


def _busy_wall(seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


@pytest.mark.parametrize("where", ["before the check", "inside the training"])
def test_patching_the_clock_or_the_timer_changes_nothing(monkeypatch, where):
    """A cell (or the training function itself) that stops time.process_time and the CPU timer: the probe measures
    with the clocks kept from before the student's first cell, so a slow training is still over its budget."""
    import signal

    _train_budget(monkeypatch, 0.3)

    def forge() -> None:
        monkeypatch.setattr(time, "process_time", lambda: 0.0)
        monkeypatch.setattr(signal, "setitimer", lambda *args: (0.0, 0.0))
        monkeypatch.setattr(signal, "signal", lambda *args: signal.SIG_DFL)

    def train_quantiles_classifier(X_train, y_train):
        if where == "inside the training":
            forge()
        _busy_wall(0.8)
        return wide_quantiles_network(X_train, y_train)

    if where == "before the check":
        forge()
    with pytest.raises(CheckFailure, match=r"training takes too long: \d+\.\d s of CPU time > budget 0.3 s"):
        lab01.check_train_quantiles_classifier(train_quantiles_classifier)


# Each timed check and the test cell that calls it (the visible test's call and the hidden one's).
TIMED_CELLS = {
    "train_sin_regressor": "test_train_sin_regressor",
    "train_sequence_classifier": "test_train_sequence_classifier",
    "train_digits_classifier": "test_train_digits_classifier",
    "tsne_digits": "test_tsne_digits",
    "train_quantiles_classifier": "test_train_quantiles_classifier",
}


@pytest.mark.parametrize("name", sorted(TIMED_CELLS))
def test_the_graders_timing_of_the_test_cell_bounds_what_the_kernel_reports(solution, name):
    """The kernel's CPU seconds for a call come from a clock in the student's process. The grader times the test
    cell itself (its two calls, the visible test's and the hidden one's): a cell over two budgets and the slack is
    refused whatever the kernel reported; the same cell within them, or another cell over them, is not."""
    check, cell = getattr(lab01, f"check_{name}"), TIMED_CELLS[name]
    budget = thresholds.TSNE_BUDGET_S if name == "tsne_digits" else thresholds.TRAIN_BUDGET_S
    bar = thresholds.TIMED_CELL_CALLS * budget + thresholds.TIMED_CELL_SLACK_S
    with judged.measured_cells({cell: {"wall_s": bar + 1.0, "cpu_s": bar + 0.5}}):
        with pytest.raises(CheckFailure, match="the grader's own timing of this test cell"):
            check(solution[name])
    with judged.measured_cells({cell: {"wall_s": 3 * bar, "cpu_s": bar - 0.5}, "another": {"wall_s": 999, "cpu_s": 999}}):
        check(solution[name])  # the smaller of wall and CPU seconds: a busy machine stretches only the wall clock


def test_a_forged_cpu_time_is_refused_by_the_graders_timing_of_the_cell(solution):
    """A transcript whose call reports 2 s, judged with the cell as the grader timed it: 40 s is refused, 20 s
    (two calls of 10 s: the budget each) passes."""
    check = lab01.check_train_quantiles_classifier
    payload = _edit_result(_record(check, solution["train_quantiles_classifier"]), 0,
                           lambda r: {**r, "cpu_seconds": 2.0})
    slow = {"test_train_quantiles_classifier": {"wall_s": 40.0, "cpu_s": 40.0}}
    verdict = judge_transcript(check, payload, salt=REPLAY_SALT, measured=slow)
    assert verdict.ename == "CheckFailure" and "the grader's own timing of this test cell, 40.0 s" in verdict.message
    assert "2.0 s" in verdict.message  # what the kernel reported, named beside it
    within = {"test_train_quantiles_classifier": {"wall_s": 20.0, "cpu_s": 20.0}}
    assert judge_transcript(check, payload, salt=REPLAY_SALT, measured=within).passed


def test_the_timer_is_removed_after_each_check(solution):
    import signal

    lab01.check_train_quantiles_classifier(solution["train_quantiles_classifier"])
    assert signal.getitimer(signal.ITIMER_PROF) == (0.0, 0.0)
    assert signal.getsignal(signal.SIGPROF) in (signal.SIG_DFL, None)


def test_models_must_be_fitted_mlps_returned_by_the_function():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for fn, message in [(forgot_return, "did you forget `return`"), (never_fitted, "did you call fit"),
                            (not_a_network, "return a fitted MLPClassifier"), (not_implemented, "not implemented")]:
            with pytest.raises(CheckFailure, match=message):
                lab01.check_train_quantiles_classifier(fn)


def test_a_rule_instead_of_a_network_gets_no_points():
    with pytest.raises(CheckFailure, match="MLPClassifier"):
        lab01.check_train_sequence_classifier(contains_one_rule)


def test_quantiles_network_must_have_five_hidden_neurons():
    with pytest.raises(CheckFailure, match=r"hidden_layer_sizes=\(5,\)"):
        lab01.check_train_quantiles_classifier(wide_quantiles_network)


def test_data_generators_must_be_random_and_reproducible():
    with pytest.raises(CheckFailure, match="a different seed gives the same data"):
        lab01.check_make_sin_data(sin_data_linspace)
    with pytest.raises(CheckFailure, match="two calls with the same seed differ"):
        lab01.check_make_sin_data(sin_data_unseeded)
    with pytest.raises(CheckFailure, match="X is 2-D with one column"):
        lab01.check_make_sin_data(sin_data_one_d)


def test_the_kernels_probes_hold_no_verdict(samples):
    """In the student's kernel a wrong answer goes through its probe without a failure: only the grader fails it."""
    ns: dict = {"np": np}
    exec(compile(samples.MISTAKES["data-generation"]["make_sin_data"], "<mistake>", "exec"), ns)
    for fn in (sin_data_one_d, sin_data_linspace, ns["make_sin_data"]):
        probes.check_make_sin_data(fn)
        with pytest.raises(CheckFailure):
            lab01.check_make_sin_data(fn)


def test_pca_scores_may_flip_sign_but_not_change(solution):
    lab01.check_pca_digits(pca_flipped(solution))
    with pytest.raises(CheckFailure, match="scores"):
        lab01.check_pca_digits(pca_scaled_scores(solution))


def test_thresholds_separate_the_reference_from_the_mistakes_with_a_margin(solution):
    """The figures written beside the thresholds in thresholds.py, measured here the way the checks measure them."""
    from sklearn.metrics import r2_score
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        X, y = probes.sin_data(probes.SIN_N_TRAIN, probes.SIN_TRAIN_SEED)
        grid = probes.sin_grid()
        r2 = r2_score(reference.sin_curve(grid[:, 0]), solution["train_sin_regressor"](X, y).predict(grid))
        X, y = probes.sequence_data(probes.SEQ_N_TRAIN, probes.SEQ_TRAIN_SEED)
        X_test, y_test = probes.sequence_data(probes.SEQ_N_TEST, probes.SEQ_TEST_SEED)
        seq = solution["train_sequence_classifier"](X, y).score(X_test, y_test)
        base_rate = float(np.mean(y_test))
        X_train, X_test, y_train, y_test = probes.digits_split()
        digits = solution["train_digits_classifier"](X_train, y_train).score(X_test, y_test)
        X, labels = probes.tsne_subset()
        tsne = reference.knn_accuracy(solution["tsne_digits"](X, probes.TSNE_SEED), labels)
        pca2 = reference.knn_accuracy(reference.pca(X, 2)[0], labels)
        X_train, _, y_train, _ = probes.quantiles_split()
        quant = solution["train_quantiles_classifier"](X_train, y_train).score(*probes.quantiles_held_out())

    assert r2 >= thresholds.SIN_R2_MIN + 0.04
    assert seq >= thresholds.SEQ_ACC_MIN + 0.04 and base_rate < thresholds.SEQ_ACC_MIN - 0.25
    assert digits >= thresholds.DIGITS_ACC_MIN + 0.025  # the rotated copies: 0.959 unsalted
    assert tsne >= thresholds.TSNE_KNN_MIN + 0.07 and pca2 < thresholds.TSNE_KNN_MIN - 0.2
    assert quant >= thresholds.QUANT_ACC_MIN + 0.07  # 0.927-0.946 over 200 held-out draws (thresholds.py)


def test_the_probes_data_is_the_reference_data():
    """The quantiles the kernel trains on are seed 002's, which the grader's reference recomputes."""
    for got, want in zip(probes.quantiles_split(), reference.make_quantiles_split(), strict=True):
        np.testing.assert_array_equal(got, want)


def test_notebook_states_the_thresholds_of_the_checks():
    nb = nbformat.read(REPO / "source" / "lab01" / "01_n.ipynb", as_version=4)
    tests = {c.metadata["nbgrader"]["grade_id"]: c.source for c in nb.cells if c.metadata["nbgrader"].get("grade")
             and c.cell_type == "code"}
    assert f"r2 >= {thresholds.SIN_R2_MIN}" in tests["test_train_sin_regressor"]
    assert f"accuracy >= {thresholds.SEQ_ACC_MIN}" in tests["test_train_sequence_classifier"]
    assert f"accuracy >= {thresholds.DIGITS_ACC_MIN}" in tests["test_train_digits_classifier"]
    assert f"knn_accuracy >= {thresholds.TSNE_KNN_MIN}" in tests["test_tsne_digits"]
    assert f"valid_accuracy >= {thresholds.QUANT_ACC_MIN}" in tests["test_train_quantiles_classifier"]
    imports = next(c.source for c in nb.cells if c.metadata["nbgrader"]["grade_id"] == "imports")
    assert f"TRAIN_BUDGET_S = {thresholds.TRAIN_BUDGET_S:g}" in imports
    assert f"TSNE_BUDGET_S = {thresholds.TSNE_BUDGET_S:g}" in imports
    assert f"size=({probes.SEQ_N_TRAIN}, 10)" in tests["test_train_sequence_classifier"]
    assert f"size=({probes.SIN_N_TRAIN}, 1)" in tests["test_train_sin_regressor"]


# ------------------------------------------------------------------ the grader's replay (judged checks)

REPLAY_SALT = "lab01-replay-salt"  # the salted inputs (training data, digits split, t-SNE subset, PCA inputs)


def _reference(name):
    return lambda solution, samples: solution[name]


def _sample(student, name):
    """``name`` as the sample student ``student`` wrote it, run among the answer key's other cells."""
    def make(solution, samples):
        ns = dict(solution)
        exec(compile(samples.MISTAKES[student][name], "<mistake>", "exec"), ns)
        return ns[name]
    return make


def _written(fn):
    return lambda solution, samples: fn


# (check, implementation, how to make it, whether it passes)
REPLAYED = [
    ("make_sin_data", "reference", _reference("make_sin_data"), True),
    ("make_sin_data", "sin(x)", _sample("data-generation", "make_sin_data"), False),
    ("make_sin_data", "linspace", _written(sin_data_linspace), False),
    ("make_sin_data", "unseeded", _written(sin_data_unseeded), False),
    ("make_sin_data", "one-d", _written(sin_data_one_d), False),
    ("train_sin_regressor", "reference", _reference("train_sin_regressor"), True),
    ("train_sin_regressor", "tiny-network", _sample("tiny-network-few-epochs", "train_sin_regressor"), False),
    ("make_sequence_data", "reference", _reference("make_sequence_data"), True),
    ("make_sequence_data", "counts-ones", _sample("data-generation", "make_sequence_data"), False),
    ("train_sequence_classifier", "reference", _reference("train_sequence_classifier"), True),
    ("train_sequence_classifier", "rule", _written(contains_one_rule), False),
    ("train_digits_classifier", "reference", _reference("train_digits_classifier"), True),
    ("train_digits_classifier", "few-epochs", _sample("tiny-network-few-epochs", "train_digits_classifier"), False),
    ("pca_digits", "reference", _reference("pca_digits"), True),
    ("pca_digits", "flipped", lambda solution, samples: pca_flipped(solution), True),
    ("pca_digits", "scaled-scores", lambda solution, samples: pca_scaled_scores(solution), False),
    ("pca_digits", "2-components", _sample("pca-2-components-no-tsne", "pca_digits"), False),
    ("pca_digits", "standardized", _sample("pca-standardized", "pca_digits"), False),
    ("tsne_digits", "reference", _reference("tsne_digits"), True),
    ("tsne_digits", "pca", _sample("pca-2-components-no-tsne", "tsne_digits"), False),
    ("make_quantiles_split", "reference", _reference("make_quantiles_split"), True),
    ("make_quantiles_split", "not-scaled", _sample("no-scaling-one-epoch", "make_quantiles_split"), False),
    ("train_quantiles_classifier", "reference", _reference("train_quantiles_classifier"), True),
    ("train_quantiles_classifier", "one-epoch", _sample("no-scaling-one-epoch", "train_quantiles_classifier"), False),
    ("train_quantiles_classifier", "forgot-return", _written(forgot_return), False),
    ("train_quantiles_classifier", "never-fitted", _written(never_fitted), False),
    ("train_quantiles_classifier", "not-a-network", _written(not_a_network), False),
    ("train_quantiles_classifier", "not-implemented", _written(not_implemented), False),
    ("train_quantiles_classifier", "wide", _written(wide_quantiles_network), False),
]


@pytest.mark.parametrize("name, implementation, make, passes", REPLAYED,
                         ids=[f"{name}-{implementation}" for name, implementation, _, _ in REPLAYED])
def test_the_graders_replay_reaches_the_kernels_verdict(solution, samples, name, implementation, make, passes):
    assert set(CHECKS) == {row[0] for row in REPLAYED}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning of the under-trained models
        verdict = assert_same_verdict(CHECKS[name], make(solution, samples), salt=REPLAY_SALT)
    assert verdict.passed is passes, verdict


def test_a_training_interrupted_at_its_budget_fails_on_replay_too(monkeypatch):
    _train_budget(monkeypatch, 1.0)
    # not assert_same_verdict: the message holds the CPU seconds measured, which differ by a tick from run to run
    raised, verdict = record_and_judge(lab01.check_train_sin_regressor, busy_forever, salt=REPLAY_SALT)
    assert isinstance(raised, CheckFailure) and "training takes too long" in str(raised)
    assert verdict.ename == "CheckFailure" and verdict.message == str(raised)


def _record(check, fn, salt=REPLAY_SALT) -> dict:
    """The transcript ``check(fn)`` leaves in a grading kernel whose course salt is ``salt``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return record(check, fn, salt=salt)[1]


def _edit_result(payload: dict, position: int, edit) -> dict:
    """``payload`` with the result of its ``position``-th call replaced by ``edit(result)`` (a forged transcript)."""
    payload = json.loads(json.dumps(payload))
    call = payload["calls"][position]
    call["result"] = transcript.encode(edit(transcript.decode(call["result"])))
    return payload


def slow_but_right(X_train, y_train):
    end = time.process_time() + 0.5
    while time.process_time() < end:
        pass
    return wide_quantiles_network(X_train, y_train)


def test_the_grader_compares_the_kernels_cpu_seconds_with_the_budget(monkeypatch):

    _train_budget(monkeypatch, 0.3)
    monkeypatch.setattr(clock, "setitimer", None)  # no interruption: the kernel only measures the time

    payload = _record(lab01.check_train_quantiles_classifier, slow_but_right)
    assert "failure" not in payload["calls"][0]  # the call itself succeeded: the verdict on its time is the grader's
    verdict = judge_transcript(lab01.check_train_quantiles_classifier, payload, salt=REPLAY_SALT)
    assert verdict.ename == "CheckFailure" and "budget 0.3 s" in verdict.message


def test_a_longer_time_limit_in_the_kernel_leaves_the_graders_budget_as_it_is(monkeypatch):
    monkeypatch.setattr(thresholds, "TRAIN_BUDGET_S", 0.3)
    monkeypatch.setattr(probes, "TRAIN_TIME_LIMIT_S", 100.0)  # as code in the student's kernel could set it
    payload = _record(lab01.check_train_quantiles_classifier, slow_but_right)
    assert "failure" not in payload["calls"][0]  # not interrupted: 0.5 s is far inside the kernel's limit
    verdict = judge_transcript(lab01.check_train_quantiles_classifier, payload, salt=REPLAY_SALT)
    assert verdict.ename == "CheckFailure" and "budget 0.3 s" in verdict.message


def test_the_grader_decides_from_the_data_the_kernel_sent(solution):
    check = lab01.check_train_quantiles_classifier
    payload = _record(check, solution["train_quantiles_classifier"])
    assert judge_transcript(check, payload, salt=REPLAY_SALT).passed

    forged = {  # what the grader must say when the kernel's data says so
        "training takes too long: 99.0 s of CPU time": (0, lambda r: {**r, "cpu_seconds": 99.0}),
        "use one hidden layer of 5 neurons": (0, lambda r: {**r, "summary": {**r["summary"], "hidden_layer_sizes": [50]}}),
        "return a fitted MLPClassifier": (0, lambda r: {**r, "summary": {**r["summary"], "kind": False}}),
        "did you call fit": (0, lambda r: {**r, "summary": {**r["summary"], "fitted": False}}),
        "accuracy on 4000 new points of the same distribution": (1, lambda pred: 1 - pred),
    }
    for message, (position, edit) in forged.items():
        verdict = judge_transcript(check, _edit_result(payload, position, edit), salt=REPLAY_SALT)
        assert verdict.ename == "CheckFailure" and message in verdict.message, (message, verdict)


def returns_none(X, y):
    return None


def first_two_pixels(X, seed):
    return X[:, :2]


# Checks whose inputs the course's salt draws, each with a quick implementation whose call gets the salted input.
SALTED = {
    "train_sin_regressor": returns_none,
    "train_sequence_classifier": returns_none,
    "train_digits_classifier": returns_none,
    "tsne_digits": first_two_pixels,
    "pca_digits": None,  # the answer key's: the first input (all the digits) is the same under every salt
}


@pytest.mark.parametrize("name", sorted(SALTED))
def test_a_transcript_recorded_with_another_salt_gets_no_verdict(solution, name):
    check = CHECKS[name]
    payload = _record(check, SALTED[name] or solution[name], salt="a")
    verdict = judge_transcript(check, payload, salt="b")
    assert verdict.ename == "NoVerdict" and "other inputs" in verdict.message, verdict

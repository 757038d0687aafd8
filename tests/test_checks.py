"""The check library: comparisons, messages students act on, and check_function."""

import warnings

import numpy as np
import pytest

from autograder.kernel.compare import CheckFailure, assert_close, compare, rel_error
from autograder.kernel.student import Case, call_student, student_errors
from autograder.labs.judged import check_function


def test_equal_values_pass():
    assert compare(np.arange(6.0).reshape(2, 3), np.arange(6).reshape(2, 3)).ok
    assert_close(0.35667, -np.log(0.7), atol=1e-5)


def test_tolerances_are_relative_and_absolute():
    assert compare(1.0 + 1e-8, 1.0, rtol=1e-7).ok
    assert not compare(1.0 + 1e-6, 1.0, rtol=1e-7).ok
    assert compare(1e-9, 0.0, atol=1e-8).ok
    assert not compare(1e-7, 0.0, atol=1e-8).ok


def test_value_mismatch_names_index_expected_and_got():
    result = compare([[1.0, 2.0], [3.0, 4.5]], [[1.0, 2.0], [3.0, 4.0]], name="conv2d(x, w, b)")
    assert not result.ok and result.reason == "values"
    for text in ["conv2d(x, w, b)", "values differ", "値が一致しません", "index (1, 1)", "expected 4", "got 4.5",
                 "max abs error: 0.5", "mismatched elements: 1 / 4"]:
        assert text in result.message
    assert result.max_abs_error == pytest.approx(0.5)


def test_shape_mismatch():
    result = compare(np.zeros((1, 4, 4, 4)), np.zeros((1, 4, 3, 3)), name="conv2d")
    assert result.reason == "shape"
    assert "(1, 4, 3, 3)" in result.message and "(1, 4, 4, 4)" in result.message and "形" in result.message


def test_dtype_checked_only_when_asked():
    assert compare(np.eye(3, dtype=int), np.eye(3)).ok
    result = compare(np.eye(3, dtype=int), np.eye(3), check_dtype=True)
    assert result.reason == "dtype" and "integer" in result.message and "float" in result.message


def test_nan_and_inf_are_reported_as_overflow():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = np.exp(np.array([1000.0, 0.0])) / np.exp(np.array([1000.0, 0.0])).sum()
    result = compare(got, [1.0, 0.0], name="softmax")
    assert result.reason == "nonfinite"
    assert "NaN" in result.message and "overflow" in result.message and "(0,)" in result.message


def test_none_and_non_numeric_results():
    result = compare(None, [1.0], name="softmax(a)")
    assert result.reason == "type" and "return" in result.message
    assert compare("411", 411).reason == "type"


def test_torch_tensors_are_accepted():
    torch = pytest.importorskip("torch")
    assert compare(torch.tensor([1.0, 2.0], requires_grad=True) * 1, [1.0, 2.0]).ok


def test_a_torch_tensor_that_fails_is_told_to_return_a_numpy_array():
    """Issue 18.7: the likely cause is named from what came back, not only "values differ"."""
    torch = pytest.importorskip("torch")
    got = torch.tensor([0.1, 0.2, 0.3], dtype=torch.float32)  # float32: off by round-off at rtol 1e-7
    result = compare(got, np.array([0.1, 0.2, 0.3]), rtol=1e-9)
    assert not result.ok and "values differ" in result.message and "return a NumPy array" in result.message
    assert "return a NumPy array" not in compare(np.float32([0.1, 0.2, 0.3]), [0.1, 0.2, 0.3], rtol=1e-9).message
    assert compare(got, got * 1).ok  # tensors compared with tensors: no hint needed, and they pass


def test_scale_rtol_scales_the_absolute_tolerance_with_the_largest_expected_magnitude():
    """Issue 18.6: an element near zero in an array of order-one values may carry their round-off."""
    expected = np.array([100.0, 1e-3])
    got = expected + np.array([0.0, 1e-5])
    assert not compare(got, expected, rtol=1e-5, atol=1e-7).ok
    assert compare(got, expected, rtol=1e-5, atol=1e-7, scale_rtol=1e-5).ok  # 1e-5 <= 1e-5 * 100
    assert not compare(expected + np.array([0.0, 1e-2]), expected, rtol=1e-5, scale_rtol=1e-5).ok
    assert "max|expected|" in compare(expected + np.array([0.0, 1e-2]), expected, rtol=1e-5, scale_rtol=1e-5).message


def test_assert_close_raises_assertion_error_with_message():
    with pytest.raises(AssertionError, match="values differ"):
        assert_close(3, 4, name="x")
    with pytest.raises(CheckFailure):
        assert_close(3, 4)


def test_rel_error_is_cs231n_relative_error():
    assert rel_error([1.0, 2.0], [1.0, 2.0]) == 0.0
    assert rel_error([1.0], [3.0]) == pytest.approx(0.5)
    assert rel_error([0.0], [0.0]) == 0.0


def _double(x):
    return 2 * x


def test_check_function_passes_and_names_the_failing_case():
    cases = [Case((np.ones(3),), note="ones"), Case((np.arange(4.0),), {}, "arange")]
    check_function(_double, cases, lambda x: 2 * x, rtol=0, atol=0)
    with pytest.raises(CheckFailure, match=r"arange") as info:
        check_function(lambda x: x + x + (x > 2), cases, lambda x: 2 * x, rtol=0, atol=0, name="double")
    assert "double(<float64 array (4,)>)" in str(info.value)


def test_check_function_reports_not_implemented_and_errors():
    def blank(x):
        raise NotImplementedError()

    with pytest.raises(CheckFailure, match="not implemented"):
        check_function(blank, [Case((1.0,))], lambda x: x, rtol=0, atol=0)
    with pytest.raises(CheckFailure, match="ZeroDivisionError"):
        check_function(lambda x: 1 / 0, [Case((1.0,))], lambda x: x, rtol=0, atol=0)
    with pytest.raises(CheckFailure, match="not a function"):
        check_function(None, [Case((1.0,))], lambda x: x, rtol=0, atol=0, name="f")


def test_student_cannot_change_the_inputs_the_reference_sees():
    def mutating(x):
        x[:] = 0
        return x

    seen = []

    def reference(x):
        seen.append(x.copy())
        return x * 1

    with pytest.raises(CheckFailure):
        check_function(mutating, [Case((np.ones(2),))], reference, rtol=0, atol=0)
    assert (seen[0] == 1).all()


def test_forbidden_library_calls_are_caught_by_global_alias_and_at_call_time():
    import math

    from autograder.kernel.student import ForbiddenCall, forbidden_calls

    from_import = math.sqrt

    def uses_alias(x):
        return from_import(x)

    def uses_module(x):
        return math.sqrt(x)

    def honest(x):
        return x ** 0.5

    with pytest.raises(ForbiddenCall, match="math.sqrt"):
        with forbidden_calls(uses_alias, ["math.sqrt"]):
            uses_alias(4.0)
    with pytest.raises(ForbiddenCall, match="implement it yourself"):
        with forbidden_calls(uses_module, ["math.sqrt"]):
            uses_module(4.0)
    with forbidden_calls(honest, ["math.sqrt", "no_such_module.fn"]):
        assert honest(4.0) == 2.0
    assert math.sqrt(4.0) == 2.0  # restored


def test_call_student_names_the_call_in_every_failure():
    def stub(x):
        raise NotImplementedError()

    def buggy(x):
        return x[10]

    with pytest.raises(CheckFailure, match=r"^f\(x\): まだ実装されていません / not implemented yet$"):
        call_student(stub, "f", "f(x)", np.zeros(3))
    with pytest.raises(CheckFailure, match=r"^f\(x\): .*raised an error\n  IndexError: index 10"):
        call_student(buggy, "f", "f(x)", np.zeros(3))
    with pytest.raises(CheckFailure, match=r"^f: .*not a function: got int"):
        call_student(3, "f", "f(x)")
    assert call_student(lambda x, k=1: x + k, "f", "f(x)", 1, k=2) == 3


def test_student_errors_lets_check_failures_through_unchanged():
    with pytest.raises(CheckFailure, match=r"^inner message$"):
        with student_errors("f(x)"):
            raise CheckFailure("inner message")

"""The grader's own verdicts (autograder.kernel.transcript, autograder.labs.judged, autograder.score.judge): a
probe's record leaves the kernel as data, and the grader runs the check of the same name on it in its own process.

In-process, on lab 03's answer key: the kernel's side is a probe run with recording on (its display replaced
by a list), the grader's side is judge.judge_cell on the outputs that display would make.
"""

from __future__ import annotations

import json

import nbformat
import numpy as np
import pytest
from replay_harness import as_outputs, recorded_transcripts

from autograder.kernel import transcript
from autograder.kernel.compare import CheckFailure
from autograder.kernel.probes import lab03 as probes
from autograder.kernel.student import case_rng
from autograder.labs import judged, lab03
from autograder.score import judge

from conftest import REPO

TEST_CELL = "from autograder.kernel.probes import lab03\nlab03.check_{name}({name})\n"


@pytest.fixture(scope="module")
def answers() -> list[str]:
    nb = nbformat.read(REPO / "solutions" / "lab03" / "03_n.ipynb", as_version=4)
    return [c.source for c in nb.cells if c.cell_type == "code" and not c.metadata.get("nbgrader", {}).get("grade")]


@pytest.fixture(scope="module")
def solution(answers) -> dict:
    namespace: dict = {}
    for source in answers:
        exec(compile(source, "<answer>", "exec"), namespace)
    return namespace


def record(name: str, fn, salt: str = "") -> tuple[list, Exception | None]:
    """Run lab03's probe of ``name`` on ``fn`` as the kernel does while grading: the outputs it leaves, its error."""
    error = None
    with recorded_transcripts(salt) as payloads:
        try:
            getattr(probes, f"check_{name}")(fn)
        except CheckFailure as exc:
            error = exc
    return as_outputs(payloads), error


def verdicts(name: str, outputs: list, answers: list[str], salt: str = "") -> list[judge.Verdict]:
    return judge.judge_cell(TEST_CELL.format(name=name), outputs, answers, salt)


# ------------------------------------------------------------------ data across the boundary


@pytest.mark.parametrize("value", [
    None, True, "テキスト", 3, -2**70, 0.1, float("inf"), np.float32(1.5), np.int64(7),
    (1, [2.0, {"k": np.arange(3)}]),
])
def test_plain_data_survives_the_round_trip(value):
    back = transcript.decode(json.loads(json.dumps(transcript.encode(value))))
    assert repr(back) == repr(value if not isinstance(value, np.generic) else value.item())


@pytest.mark.parametrize("dtype", ["bool", "uint8", "int32", "int64", "float16", "float32", "float64", "complex128"])
def test_arrays_keep_dtype_shape_and_bits(dtype):
    arr = (np.random.default_rng(0).normal(size=(2, 3, 4)) * 10).astype(dtype)
    back = transcript.decode(json.loads(json.dumps(transcript.encode(arr))))
    assert back.dtype == arr.dtype and back.shape == arr.shape
    assert back.tobytes() == arr.tobytes()


def test_nan_survives_and_objects_become_opaque():
    assert np.isnan(transcript.decode(transcript.encode(float("nan"))))
    back = transcript.decode(transcript.encode(object()))
    assert isinstance(back, transcript.Opaque) and back.type_name == "object"


@pytest.mark.parametrize("payload", [
    {"__ndarray__": "object", "shape": [1], "data": ""},           # object arrays are pickles: never
    {"__ndarray__": "float64", "shape": [2], "data": "AAAAAAAAAAA="},  # 8 bytes for 2 float64s
    {"__ndarray__": "float64", "shape": [-1], "data": ""},
    {"__pickle__": "gASV"},
    [1, 2],
])
def test_anything_but_data_is_refused(payload):
    with pytest.raises(transcript.TranscriptError):
        transcript.decode(payload)


def test_a_tensor_comes_back_as_a_tensor():
    torch = pytest.importorskip("torch")
    back = transcript.decode(transcript.encode(torch.arange(4.0)))
    assert isinstance(back, torch.Tensor) and back.tolist() == [0.0, 1.0, 2.0, 3.0]


# ------------------------------------------------------------------ the verdict


def test_the_honest_answers_pass_on_the_graders_replay(solution, answers):
    for name in ("conv2d_single", "conv_output_size", "conv2d", "max_pool2d", "avg_pool2d", "softmax", "one_hot",
                 "cross_entropy"):
        outputs, error = record(name, solution[name], salt="s1")
        assert error is None
        assert verdicts(name, outputs, answers, salt="s1") == [judge.Verdict(f"lab03.check_{name}", True)]


def test_a_wrong_answer_fails_in_the_grader_with_the_checks_own_message(answers):
    def wrong(a):
        return np.exp(a) / np.sum(np.exp(a))

    outputs, error = record("softmax", wrong)
    assert error is None  # the kernel does not know the answer: it only records
    (verdict,) = verdicts("softmax", outputs, answers)
    assert not verdict.passed and verdict.ename == "CheckFailure"
    with pytest.raises(CheckFailure) as here:  # the check called directly: probe and verdict in this process
        lab03.check_softmax(wrong)
    assert verdict.message == str(here.value)


def test_no_transcript_is_no_verdict(answers):
    (verdict,) = verdicts("softmax", [], answers)
    assert not verdict.passed and verdict.ename == "NoVerdict"
    assert "did not finish, or was replaced" in verdict.message


def test_an_extra_transcript_is_no_verdict(solution, answers):
    outputs, _ = record("softmax", solution["softmax"])
    (verdict,) = verdicts("softmax", outputs * 2, answers)
    assert not verdict.passed and "2 transcripts for 1 call" in verdict.message


def test_results_edited_in_the_transcript_fail(solution, answers):
    outputs, _ = record("softmax", solution["softmax"])
    payload = outputs[0]["data"][transcript.MIME]
    for call in payload["calls"]:
        shape = call["result"]["shape"]
        call["result"] = transcript.encode(np.full(shape, 1.0 / shape[-1]))
    (verdict,) = verdicts("softmax", outputs, answers)
    assert not verdict.passed and "values differ" in verdict.message


def test_a_transcript_recorded_on_other_inputs_does_not_match(solution, answers):
    outputs, _ = record("conv_output_size", solution["conv_output_size"], salt="")  # the public inputs
    (verdict,) = verdicts("conv_output_size", outputs, answers, salt="course-secret")
    assert not verdict.passed and verdict.ename == "NoVerdict"
    assert "recorded another call" in verdict.message


def test_a_transcript_with_calls_left_over_fails(solution, answers):
    outputs, _ = record("one_hot", solution["one_hot"])
    payload = outputs[0]["data"][transcript.MIME]
    payload["calls"].append(payload["calls"][0])
    (verdict,) = verdicts("one_hot", outputs, answers)
    assert not verdict.passed and "more calls than the check makes" in verdict.message


def test_a_failure_recorded_in_the_kernel_stays_a_failure(answers):
    def broken(a):
        raise ValueError("boom")

    outputs, error = record("softmax", broken)
    (verdict,) = verdicts("softmax", outputs, answers)
    assert not verdict.passed and "ValueError: boom" in verdict.message


def test_a_cell_without_judged_checks_is_left_to_the_kernel(answers):
    assert judge.judge_cell("assert_close(1, 1)\nprint('OK')", [], answers) is None


def test_literal_arguments_come_from_the_test_cell_not_the_transcript():
    (call,) = judge.expected_checks("import autograder.kernel.probes.lab03 as L\nL.check_softmax(softmax)\n")
    assert call.key == "lab03.check_softmax" and call.positional == 1
    (call,) = judge.expected_checks("from autograder.kernel.probes import lab03\nlab03.check_one_hot(f, 3)")
    assert call.constants == {1: 3}


# ------------------------------------------------------------------ what the grader reads in the source


@pytest.mark.parametrize("source", [
    "import torch\ndef softmax(a):\n    return torch.softmax(a, -1)",
    "import torch.nn.functional as F\ndef softmax(a):\n    return F.softmax(a, -1)",
    "from scipy.special import softmax as s\ndef softmax(a):\n    return s(a)",
    "import torch\nT = torch\ndef softmax(a):\n    return T.softmax(a, -1)",
    "def softmax(a):\n    from torch.nn.functional import softmax as f\n    return f(a)",
])
def test_a_forbidden_library_is_found_in_the_source(source):
    message = judge.forbidden_in_source([source], "softmax", probes.FORBIDDEN_SOFTMAX)
    assert message and "softmax" in message and "(no points for it)" in message


def test_the_forbidden_scan_looks_only_at_the_function_checked():
    source = "import torch\ndef helper(a):\n    return torch.softmax(a, -1)\ndef softmax(a):\n    return a / a.sum()"
    assert judge.forbidden_in_source([source], "softmax", probes.FORBIDDEN_SOFTMAX) is None
    assert judge.forbidden_in_source(["%matplotlib inline\n" + source], "softmax", probes.FORBIDDEN_SOFTMAX) is None


def test_the_names_a_definition_mentions_are_read_from_its_last_definition():
    """What a function is built from (lab 02's XOR from the gates) is read in the answer cells: the last definition
    (a def, a lambda assigned, one inside an ``if``) with its nested functions; nothing of other functions."""
    gates = "def XOR(a, b):\n    def inner(x):\n        return NAND(x, b)\n    return AND(inner(a), OR(a, b))\n"
    names = judge.names_in_definition([gates], "XOR")
    assert {"AND", "OR", "NAND", "inner"} <= names
    assert judge.names_in_definition(["XOR = lambda a, b: AND(NAND(a, b), OR(a, b))"], "XOR") >= {"AND", "NAND"}
    assert "AND" not in judge.names_in_definition([gates, "def XOR(a, b):\n    return int(a != b)\n"], "XOR")
    assert "AND" in judge.names_in_definition(["if True:\n" + "".join("    " + line + "\n"
                                                                        for line in gates.splitlines())], "XOR")
    helper = "def helper(a, b):\n    return AND(NAND(a, b), OR(a, b))\ndef XOR(a, b):\n    return helper(a, b)\n"
    assert judge.names_in_definition([helper], "XOR") == {"XOR", "a", "b", "helper"} - {"XOR"}
    assert judge.names_in_definition(["def other():\n    return AND\n", "%matplotlib inline"], "XOR") is None


@pytest.mark.parametrize("source", [
    "import autograder.kernel.probes.lab03 as L\nL.check_softmax = lambda f: None",
    "from autograder import kernel\nkernel.assert_close = print",
    "import autograder.kernel.probes.lab03 as L\nsetattr(L, 'check_softmax', None)",
    "from autograder.labs.lab03 import reference\ndef softmax(a):\n    return reference.softmax(a)",
    "from autograder.kernel import transcript\ntranscript.recording_enabled()",
    "import autograder.score.judge as j\nj.NO_VERDICT",
])
def test_changing_or_using_the_graders_code_is_tampering(source, answers):
    assert judge.tampering_in_source([source])
    (verdict,) = verdicts("softmax", [], [*answers, source])
    assert verdict.ename == "Tampering"


def test_trying_a_hidden_check_and_importing_assert_close_are_not_tampering():
    source = ("from autograder.kernel import assert_close\nfrom autograder.kernel.probes import lab03\n"
              "lab03.check_softmax(softmax)\nassert_close = None\n")
    assert judge.tampering_in_source([source]) is None


def test_the_kernels_data_loaders_are_not_tampering_and_the_labs_answers_are():
    assert judge.tampering_in_source(["from autograder.kernel.data import load_airline_passengers\n"
                                      "data = load_airline_passengers()\n"]) is None
    assert judge.tampering_in_source(["from autograder.labs.lab06 import reference\n"
                                      "create_dataset = reference.create_dataset\n"])


# ------------------------------------------------------------------ the cell's outputs


def _error(ename: str, message: str = "m") -> dict:
    return nbformat.v4.new_output("error", ename=ename, evalue=message, traceback=[message])


def test_the_graders_failure_replaces_the_kernels_check_error():
    transcript_output = nbformat.v4.new_output("display_data", data={transcript.MIME: {}})
    outputs = [nbformat.v4.new_output("stream", name="stdout", text="OK\n"), transcript_output, _error("CheckFailure")]
    out = judge.verdict_outputs(outputs, [judge.Verdict("k", False, "CheckFailure", "grader's message")])
    assert [o["output_type"] for o in out] == ["stream", "error"]
    assert out[1]["evalue"] == "grader's message"


def test_a_missing_verdict_keeps_the_kernels_own_error():
    outputs = [_error("NameError", "name 'softmax' is not defined")]
    out = judge.verdict_outputs(outputs, [judge.Verdict("k", False, "NoVerdict", "no verdict")])
    assert out == outputs


def test_a_missing_verdict_without_a_kernel_error_fails_the_cell():
    out = judge.verdict_outputs([], [judge.Verdict("k", False, "NoVerdict", "no verdict")])
    assert out[0]["ename"] == "NoVerdict"


def test_a_pass_keeps_the_kernels_errors():
    outputs = [_error("ZeroDivisionError")]
    assert judge.verdict_outputs(outputs, [judge.Verdict("k", True)]) == outputs


# ------------------------------------------------------------------ checks of the students' objects


@transcript.probe
def check_model_outputs(model, images) -> None:
    """A probe of the shape the model labs use: the kernel observes data..."""
    x = case_rng(7).normal(size=(4, 3))
    transcript.observe("model(x)", lambda: model(x) + images.mean() * 0, x)


@judged.judged
def check_model_outputs(model, images) -> None:  # noqa: F811 - the grader's check of the same name
    """...and the grader judges it."""
    x = case_rng(7).normal(size=(4, 3))
    out = np.asarray(transcript.observe("model(x)", lambda: model(x) + images.mean() * 0, x))
    if not np.allclose(out, 2 * x):
        raise CheckFailure("model(x) is not 2x")


def test_big_arrays_and_objects_stay_in_the_kernel_and_small_arrays_cross():
    big = np.zeros(transcript.ARGUMENT_MAX_BYTES // 8 + 1)
    probe = judged.probe_of("test_verdicts.check_model_outputs")
    payload, _ = transcript.record(probe, (lambda x: 2 * x, big), {})
    args = payload["args"]
    assert args[0] == {"__student__": "<lambda>"} and args[1] == {"__student__": f"ndarray {big.shape}"}
    payload, _ = transcript.record(probe, (lambda x: 2 * x, np.ones(3)), {})
    assert transcript.decode(payload["args"][1]).tolist() == [1.0, 1.0, 1.0]


@pytest.mark.parametrize("model, passes", [(lambda x: 2 * x, True), (lambda x: 3 * x, False)])
def test_a_check_of_observed_objects_is_judged_by_the_grader(model, passes):
    from replay_harness import assert_same_verdict

    verdict = assert_same_verdict(check_model_outputs, model, np.zeros(transcript.ARGUMENT_MAX_BYTES))
    assert verdict.passed is passes


def test_an_observation_on_other_inputs_does_not_match():
    from replay_harness import judge_transcript, record, record_and_judge

    _, payload = record(check_model_outputs, lambda x: 2 * x, np.ones(2), salt="another salt")
    verdict = judge_transcript(check_model_outputs, payload, salt="the course's salt")
    assert verdict.ename == "NoVerdict" and "other inputs" in verdict.message
    assert record_and_judge(check_model_outputs, lambda x: 2 * x, np.ones(2), salt="s")[1].passed


@transcript.probe
def check_data_dir_seen() -> None:
    """Nothing to record: the check reads the grader's own data directory."""


@judged.judged
def check_data_dir_seen() -> None:  # noqa: F811 - the grader's check of the same name
    import os

    from autograder import datasets

    if os.environ.get(datasets.DATA_ENV) != "/the/course/data":
        raise CheckFailure(f"data dir {os.environ.get(datasets.DATA_ENV)}")


def test_the_replay_sees_the_data_directory_the_kernels_had():
    from replay_harness import record_and_judge

    raised, verdict = record_and_judge(check_data_dir_seen, data_dir="/the/course/data")
    assert raised is None and verdict.passed


def test_the_figures_a_check_measures_are_shown_in_the_cell():
    out = judge.verdict_outputs([], [judge.Verdict("k", True, printed="[metric] rmse = 0.07 (threshold <= 0.15)\n")])
    assert out[0]["output_type"] == "stream" and out[0]["name"] == "stdout" and "rmse" in out[0]["text"]

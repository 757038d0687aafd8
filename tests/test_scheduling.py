"""Slots and GPUs, option parsing, the ledger, and replaying executed outputs: the engine's small parts."""

from __future__ import annotations

import nbformat
import pytest

from autograder.cli import _bytes, _gpu_list
from autograder.run.execution import EXECUTED_MARK
from autograder.run.scheduler import Slot, plan_slots
from autograder.score.ledger import Ledger, NotebookRun, Record, fingerprint
from autograder.score.preprocessors import NOT_RUN_ERROR, ReplayExecution


def test_cpu_slots_default_to_the_cores(monkeypatch):
    monkeypatch.setattr("os.cpu_count", lambda: 3)
    assert plan_slots(None, []) == [Slot(0), Slot(1), Slot(2)]
    assert plan_slots(5, []) == [Slot(i) for i in range(5)]


def test_each_gpu_takes_per_gpu_kernels():
    assert plan_slots(None, ["0", "1"], per_gpu=2) == [Slot(0, "0"), Slot(1, "0"), Slot(2, "1"), Slot(3, "1")]
    assert plan_slots(None, ["3"], per_gpu=1) == [Slot(0, "3")]


def test_jobs_never_overload_a_gpu_beyond_per_gpu():
    assert plan_slots(8, ["0", "1"], per_gpu=1) == [Slot(0, "0"), Slot(1, "1")]
    assert plan_slots(1, ["0", "1"], per_gpu=2) == [Slot(0, "0")]


@pytest.mark.parametrize("jobs, per_gpu", [(0, 1), (-1, 1), (2, 0)])
def test_nonsense_counts_are_refused(jobs, per_gpu):
    with pytest.raises(ValueError):
        plan_slots(jobs, ["0"] if per_gpu == 0 else [], per_gpu=per_gpu)


@pytest.mark.parametrize("text, expected", [("4G", 4 * 2**30), ("512M", 512 * 2**20), ("1.5GiB", int(1.5 * 2**30)),
                                            ("1000", 1000), ("2gb", 2 * 2**30)])
def test_memory_sizes(text, expected):
    assert _bytes(text) == expected


@pytest.mark.parametrize("text", ["lots", "-1G", "0"])
def test_bad_memory_sizes_say_what_is_expected(text):
    with pytest.raises(ValueError, match="--memory"):
        _bytes(text)
    with pytest.raises(ValueError, match="--disk"):
        _bytes(text, "--disk")


def test_gpu_lists():
    assert _gpu_list(None) is None and _gpu_list("none") == [] and _gpu_list("0, 2") == ["0", "2"]
    with pytest.raises(ValueError, match="--gpus"):
        _gpu_list("cuda:0")


def test_fingerprint_changes_with_the_submission_and_with_the_lab_source(tmp_path):
    sub, src = tmp_path / "sub", tmp_path / "src"
    sub.mkdir(), src.mkdir()
    (sub / "03_n.ipynb").write_text("a")
    (src / "03_n.ipynb").write_text("tests v1")
    first = fingerprint(sub, src)
    assert fingerprint(sub, src) == first
    (sub / "03_n.ipynb").write_text("b")
    second = fingerprint(sub, src)
    (src / "03_n.ipynb").write_text("tests v2")
    assert len({first, second, fingerprint(sub, src)}) == 3


def test_the_ledger_survives_a_restart_and_logs_every_grading(tmp_path):
    ledger = Ledger(tmp_path, "lab03")
    ledger.record(Record("s1", "abc", 1.0, 2.0, {"03_n": NotebookRun("completed", "", 1.5, 10)}))
    again = Ledger(tmp_path, "lab03")
    assert again.is_current("s1", "abc") and not again.is_current("s1", "xyz") and not again.is_current("s2", "abc")
    assert again.get("s1").notebooks["03_n"].elapsed == 1.5
    again.forget("s1")
    assert not Ledger(tmp_path, "lab03").is_current("s1", "abc")
    assert [e["student_id"] for e in again.log()] == ["s1"]


def _notebook(n_code: int) -> nbformat.NotebookNode:
    cells = [nbformat.v4.new_markdown_cell("intro")]
    cells += [nbformat.v4.new_code_cell(f"x = {i}") for i in range(n_code)]
    return nbformat.v4.new_notebook(cells=cells)


def _replay(tmp_path, executed: nbformat.NotebookNode | None):
    if executed is not None:
        path = tmp_path / "s1" / "lab03" / "03_n.ipynb"
        path.parent.mkdir(parents=True)
        nbformat.write(executed, path)
    pre = ReplayExecution(executed_directory=str(tmp_path))
    resources = {"nbgrader": {"student": "s1", "assignment": "lab03", "notebook": "03_n"}}
    nb, _ = pre(_notebook(3), resources)
    return nb


def test_replay_copies_the_outputs_of_cells_that_ran(tmp_path):
    executed = _notebook(3)
    for cell in executed.cells[1:]:
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="ran")]
        cell.metadata[EXECUTED_MARK] = True
    nb = _replay(tmp_path, executed)
    assert all(c.outputs[0]["text"] == "ran" for c in nb.cells[1:])


def test_cells_that_never_ran_get_an_error_so_their_tests_cannot_pass(tmp_path):
    executed = _notebook(3)
    executed.cells[1].metadata[EXECUTED_MARK] = True
    executed.metadata[EXECUTED_MARK] = {"status": "memory-limit", "reason": "memory limit (2.0 GiB) exceeded"}
    nb = _replay(tmp_path, executed)
    assert nb.cells[1].outputs == []
    for cell in nb.cells[2:]:
        assert cell.outputs[0]["ename"] == NOT_RUN_ERROR and "memory limit" in cell.outputs[0]["evalue"]


def test_a_notebook_that_was_never_executed_scores_nothing(tmp_path):
    nb = _replay(tmp_path, None)
    assert all(c.outputs[0]["ename"] == NOT_RUN_ERROR for c in nb.cells[1:])


def test_an_executed_notebook_that_does_not_match_is_refused(tmp_path):
    executed = _notebook(3)
    executed.cells[2].source = "x = 'tampered'"
    with pytest.raises(ValueError, match="differs"):
        _replay(tmp_path, executed)


def test_our_preprocessors_are_enabled_by_default():
    # nbconvert's preprocessors are off unless enabled; nbgrader's pipelines would skip ours silently
    from autograder.report.feedback import TrimTestTracebacks

    assert ReplayExecution().enabled and TrimTestTracebacks().enabled


def test_the_default_per_gpu_follows_the_gpus_memory_and_the_cores():
    from autograder.run.scheduler import KERNEL_GPU_BYTES, default_per_gpu

    h200, h100 = 141 * 10**9, 80 * 10**9
    assert default_per_gpu(h200, cores=16, gpus=1) == 8  # the cores bound it: 2 per kernel
    assert default_per_gpu(h200, cores=128, gpus=1) == h200 // KERNEL_GPU_BYTES  # the memory bounds it
    assert default_per_gpu(h100, cores=16, gpus=2) == 4  # 16 cores shared by two GPUs
    assert default_per_gpu(4 * 2**30, cores=64, gpus=1) == 1  # a small GPU holds one kernel
    assert default_per_gpu(0, cores=1, gpus=1) == 1  # never less than one
    assert default_per_gpu(h200, cores=16, gpus=0) == 1


def test_slots_without_per_gpu_take_the_default(monkeypatch):
    monkeypatch.setattr("autograder.run.scheduler.gpu_memory", lambda gpus: 24 * 2**30)
    monkeypatch.setattr("os.cpu_count", lambda: 64)
    assert len(plan_slots(None, ["0"], per_gpu=None)) == 8  # 24 GiB / 3 GiB per kernel

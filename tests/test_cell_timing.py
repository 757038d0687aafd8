"""The grader times each cell itself, outside the kernel (issue 18.5): the wall seconds on its own clock and the CPU
seconds of the kernel's whole process tree. The checks of timed trainings (labs 04 and 05) read these, not the
figure the notebook computes in the kernel, which the student's code can forge (patching ``time``)."""

from __future__ import annotations

import nbformat
import pytest
from test_resource_limits import run

from autograder.run import execution as executor
from autograder.score.preprocessors import ReplayExecution

BUSY = "import time\nt0 = time.process_time()\nwhile time.process_time() - t0 < 1.0:\n    pass\n"
FORGE = ("import time\n_real = time.process_time\ntime.perf_counter = lambda: 0.0\n"
         "time.process_time = lambda: 0.0\n")
CHILD = ("import subprocess, sys\nsubprocess.run([sys.executable, '-c', "
         "'import time\\nt0 = time.process_time()\\nwhile time.process_time() - t0 < 1.0: pass'], check=True)\n")


@pytest.fixture(scope="module")
def timed(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("timing")
    outcome, nb, _ = run(tmp, "import time\ntime.sleep(1.0)", BUSY, FORGE,
                         "t0 = _real()\nwhile _real() - t0 < 1.0:\n    pass\n"
                         "print(time.perf_counter(), time.process_time())", CHILD)
    assert outcome.status == executor.COMPLETED, outcome.reason
    return [c.metadata[executor.MEASURED_MARK] for c in nb.cells]


def test_a_sleeping_cell_takes_wall_time_and_no_cpu(timed):
    assert timed[0]["wall_s"] >= 1.0 and timed[0]["cpu_s"] < 0.5, timed[0]


def test_a_busy_cell_takes_its_cpu_seconds(timed):
    assert timed[1]["cpu_s"] >= 0.95 and timed[1]["wall_s"] >= 0.95, timed[1]


def test_patching_the_kernels_clocks_changes_nothing_the_grader_measures(timed):
    assert timed[3]["cpu_s"] >= 0.95 and timed[3]["wall_s"] >= 0.95, timed[3]


def test_work_moved_into_a_child_process_is_counted(timed):
    assert timed[4]["cpu_s"] >= 0.9, timed[4]


def test_a_timing_the_submission_brings_along_is_dropped(tmp_path):
    """The executed notebook carries the executor's timing into scoring; a claim in the submitted notebook does not."""
    claimed = {"wall_s": 0.0, "cpu_s": 0.0}
    cell = nbformat.v4.new_code_cell("x = 1", metadata={executor.MEASURED_MARK: claimed})
    nb = nbformat.v4.new_notebook(cells=[cell])
    executed_dir = tmp_path / "executed" / "s1" / "lab04"
    executed_dir.mkdir(parents=True)
    ran = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1", metadata={
        executor.EXECUTED_MARK: True, executor.MEASURED_MARK: {"wall_s": 2.5, "cpu_s": 2.0}})])
    nbformat.write(ran, executed_dir / "04_n.ipynb")
    resources = {"nbgrader": {"student": "s1", "assignment": "lab04", "notebook": "04_n"}}
    replay = ReplayExecution(executed_directory=str(tmp_path / "executed"))
    out, _ = replay.preprocess(nbformat.from_dict(nb), resources)
    assert out.cells[0].metadata[executor.MEASURED_MARK] == {"wall_s": 2.5, "cpu_s": 2.0}
    (executed_dir / "04_n.ipynb").unlink()  # not executed at all: no timing, whatever the submission says
    out, _ = replay.preprocess(nbformat.from_dict(nb), resources)
    assert executor.MEASURED_MARK not in out.cells[0].metadata

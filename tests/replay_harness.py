"""Probes run in this process as a grading kernel runs them, and their transcripts judged as the grader judges
them: shared by tests/test_verdicts*.py, the labs' check tests, the hostile corpus and tests/benchmarks/judge.py."""

from __future__ import annotations

import ast
import contextlib
import inspect
import json
import linecache
import os
import sys
import textwrap
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from unittest import mock

import nbformat

from autograder.kernel import held_out, transcript
from autograder.kernel.compare import CheckFailure
from autograder.labs import judged
from autograder.score import judge

REPO = Path(__file__).resolve().parents[1]
# The answer keys whose test cells call probes.
JUDGED_NOTEBOOKS = ("lab01/01_n", "lab06/06_n", "lab02/02_n", "lab02/02_h", "lab03/03_n", "lab03/03_h")


@contextmanager
def recorded_transcripts(salt: str = "") -> Iterator[list[dict]]:
    """Within the block, probes record as in a grading kernel whose course salt is ``salt``; the list yielded gets
    each transcript as the grader reads it (through JSON) instead of its display. The kernel's held-out sets are
    drawn here, with the grader's secret, as the grader writes them for a kernel (autograder.kernel.held_out: that
    channel itself is tested in tests/test_held_out.py)."""
    payloads: list[dict] = []

    def emit(self):
        payloads.append(json.loads(json.dumps(self.payload())))

    env = {transcript.RECORD_ENV: "1", **held_out.grader_environment(salt)}
    with mock.patch.dict(os.environ, env), mock.patch.object(transcript.Recording, "emit", emit):
        yield payloads


def as_outputs(payloads: list[dict]) -> list:
    """The display outputs those transcripts make in the test cell."""
    return [nbformat.v4.new_output("display_data", data={transcript.MIME: p}) for p in payloads]


def answer_key(notebook: str) -> tuple[list[str], list[str]]:
    """(answer cells' sources, test cells' sources) of source/<notebook>.ipynb (solutions/ has no hidden tests)."""
    nb = nbformat.read(REPO / "source" / f"{notebook}.ipynb", as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    answers = [c.source for c in code if not c.metadata.get("nbgrader", {}).get("grade")]
    tests = [c.source for c in code if c.metadata.get("nbgrader", {}).get("grade")]
    return answers, tests


def _hidden_calls(source: str) -> list[ast.Call]:
    """The probe calls of a test cell, as expressions to evaluate."""
    keys = {c.key.rpartition(".")[2] for c in judge.expected_checks(source)}
    tree = ast.parse(source)
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
             and n.func.attr in keys]
    return sorted(calls, key=lambda n: (n.lineno, n.col_offset))


def record_cells(notebook: str, salt: str) -> tuple[list[str], list[tuple[str, list]]]:
    """Run the answers, then each test cell's probes with recording on: (answers, [(test source, outputs)])."""
    answers, tests = answer_key(notebook)
    namespace: dict = {}
    cells = []
    # as in a grading kernel: the lab's folder as working directory (its files), no display for figures
    with recorded_transcripts(salt) as payloads, contextlib.chdir(REPO / "source" / notebook.split("/")[0]), \
            mock.patch.dict(os.environ, {"MPLBACKEND": "Agg"}):
        for source in answers:
            exec(compile(source, "<answer>", "exec"), namespace)
        for source in tests:
            calls = _hidden_calls(source)
            if not calls:
                continue
            first = len(payloads)
            for call in calls:
                module = call.func.value.id if isinstance(call.func.value, ast.Name) else ""
                exec(f"from {judged.PROBES_PACKAGE} import {module}", namespace)
                eval(compile(ast.Expression(call), "<test>", "eval"), namespace)
            cells.append((source, as_outputs(payloads[first:])))
    if "matplotlib.pyplot" in sys.modules:  # the answer key's figures, as a kernel's end would
        sys.modules["matplotlib.pyplot"].close("all")
    return answers, cells


def judge_cells(answers: list[str], cells: list[tuple[str, list]], salt: str) -> list[judge.Verdict]:
    """The grader's verdicts on every recorded test cell."""
    return [v for source, outputs in cells for v in judge.judge_cell(source, outputs, answers, salt) or []]


def _key(check: Callable) -> str:
    key = getattr(check, "key", None)
    assert key in judged.REGISTRY, f"{check} is not a @judged check"
    return key


def record(check: Callable, *args, salt: str = "", **kwargs) -> tuple[Exception | None, dict]:
    """Run the probe of ``check`` on ``args`` as a grading kernel with the course salt ``salt`` runs it: what it
    raised there (None if nothing: the kernel shows only the student's own errors) and the one transcript it left."""
    probe = judged.probe_of(_key(check))
    raised = None
    with recorded_transcripts(salt) as payloads:
        try:
            probe(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - the kernel's outcome, whatever it is
            raised = exc
    assert len(payloads) == 1, f"{check.key} left {len(payloads)} transcripts"
    return raised, payloads[0]


def judge_transcript(check: Callable, payload: dict, *, salt: str = "", data_dir: str = "",
                     answers: Sequence[str] = (), measured: dict | None = None) -> judge.Verdict:
    """The grader's verdict on ``payload`` as a transcript of ``check``, called as the transcript says it was.

    ``answers``: the student's cells' sources, for the grader's forbidden-library scan; ``measured``: the grader's
    own timing of the notebook's cells, by grade_id (``{"wall_s": ..., "cpu_s": ...}`` each).
    """
    call = judge.CheckCall(_key(check), len(payload.get("args", [])), tuple(payload.get("kwargs", {})), {})
    return judge.judge(call, payload, list(answers), salt, data_dir, measured)


def record_and_judge(check: Callable, *args, salt: str = "", data_dir: str = "", answers: Sequence[str] = (),
                     **kwargs) -> tuple[Exception | None, judge.Verdict]:
    """Run the probe of ``check`` as a grading kernel runs it, then judge its transcript as the grader does:
    what the probe raised in the kernel (None if nothing) and the grader's verdict."""
    raised, payload = record(check, *args, salt=salt, **kwargs)
    answers = answers or sources_of(*args, *kwargs.values())
    return raised, judge_transcript(check, payload, salt=salt, data_dir=data_dir, answers=answers)


def sources_of(*values) -> list[str]:
    """The source of each function among ``values`` whose source can be found (a test's own functions, cells run
    through :func:`run_source`), as the answer cells the grader reads."""
    sources = []
    for value in values:
        if callable(value):
            try:
                sources.append(textwrap.dedent(inspect.getsource(value)))
            except (OSError, TypeError):
                pass
    return sources


def run_source(source: str, filename: str, namespace: dict) -> None:
    """exec ``source`` in ``namespace`` as a notebook cell named ``filename`` (e.g. "<xor>"), its source kept where
    ``inspect.getsource`` finds it, as IPython keeps a cell's."""
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    exec(compile(source, filename, "exec"), namespace)


def assert_same_verdict(check: Callable, *args, **kwargs) -> judge.Verdict:
    """The grader, judging the transcript a kernel left, reaches the verdict the check reaches when called here:
    pass, or the same failure with the same message. And what the probe raised (an error of the student's code at some call, which the grader's check may fail on an
    earlier call) is a failure in the grader too."""
    try:
        with mock.patch.dict(os.environ, held_out.grader_environment(kwargs.get("salt", ""))):
            check(*args, **{k: v for k, v in kwargs.items() if k not in ("salt", "data_dir", "answers")})
        here = None
    except CheckFailure as exc:
        here = exc
    raised, verdict = record_and_judge(check, *args, **kwargs)
    if here is None:
        assert verdict.passed, f"passes when called here, not in the grader: {verdict}"
    else:
        assert not verdict.passed and verdict.ename in ("CheckFailure", "ForbiddenCall"), verdict
        assert verdict.message == str(here), (verdict.message, str(here))
    if raised is not None:
        assert isinstance(raised, CheckFailure), f"the probe raised {type(raised).__name__}: {raised}"
        assert not verdict.passed, f"the probe raised {raised}, and the grader passed it"
    return verdict

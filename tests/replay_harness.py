"""Judged checks run in this process as a grading kernel runs them, and their transcripts judged as the grader
judges them: shared by tests/test_verdicts*.py, the hostile corpus and tests/benchmarks/judge.py."""

from __future__ import annotations

import ast
import contextlib
import json
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from unittest import mock

import nbformat

from autograder import checks, judge, transcript

REPO = Path(__file__).resolve().parents[1]
# The answer keys whose test cells call judged checks.
JUDGED_NOTEBOOKS = ("lab01/01_n", "lab06/06_n", "lab02/02_n", "lab02/02_h", "lab03/03_n", "lab03/03_h")


@contextmanager
def recorded_transcripts(salt: str = "") -> Iterator[list[dict]]:
    """Within the block, judged checks record as in a grading kernel whose course salt is ``salt``; the list
    yielded gets each transcript as the grader reads it (through JSON) instead of its display."""
    payloads: list[dict] = []

    def emit(self):
        payloads.append(json.loads(json.dumps(self.payload())))

    env = {transcript.RECORD_ENV: "1", checks.CASE_SALT_ENV: salt}
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
    """The judged check calls of a test cell, as expressions to evaluate."""
    keys = {c.key.rpartition(".")[2] for c in judge.expected_checks(source)}
    tree = ast.parse(source)
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
             and n.func.attr in keys]
    return sorted(calls, key=lambda n: (n.lineno, n.col_offset))


def record_cells(notebook: str, salt: str) -> tuple[list[str], list[tuple[str, list]]]:
    """Run the answers, then each test cell's judged checks with recording on: (answers, [(test source, outputs)])."""
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
                exec(f"from autograder.labs import {module}", namespace)
                eval(compile(ast.Expression(call), "<test>", "eval"), namespace)
            cells.append((source, as_outputs(payloads[first:])))
    if "matplotlib.pyplot" in sys.modules:  # the answer key's figures, as a kernel's end would
        sys.modules["matplotlib.pyplot"].close("all")
    return answers, cells


def judge_cells(answers: list[str], cells: list[tuple[str, list]], salt: str) -> list[judge.Verdict]:
    """The grader's verdicts on every recorded test cell."""
    return [v for source, outputs in cells for v in judge.judge_cell(source, outputs, answers, salt) or []]


def record(check: Callable, *args, salt: str = "", **kwargs) -> tuple[Exception | None, dict]:
    """Run ``check(*args, **kwargs)`` as a grading kernel with the course salt ``salt`` runs it: what it raised
    there (None if it passed) and the one transcript it left."""
    key = f"{check.__module__.rpartition('.')[2]}.{check.__name__}"
    assert key in transcript.REGISTRY, f"{key} is not @judged"
    raised = None
    with recorded_transcripts(salt) as payloads:
        try:
            check(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - the kernel's outcome, whatever it is
            raised = exc
    assert len(payloads) == 1, f"{key} left {len(payloads)} transcripts"
    return raised, payloads[0]


def judge_transcript(check: Callable, payload: dict, *, salt: str = "", data_dir: str = "",
                     answers: Sequence[str] = ()) -> judge.Verdict:
    """The grader's verdict on ``payload`` as a transcript of ``check``, called as the transcript says it was.

    ``answers``: the student's cells' sources, for the grader's forbidden-library scan.
    """
    key = f"{check.__module__.rpartition('.')[2]}.{check.__name__}"
    call = judge.CheckCall(key, len(payload.get("args", [])), tuple(payload.get("kwargs", {})), {})
    return judge.judge(call, payload, list(answers), salt, data_dir)


def record_and_judge(check: Callable, *args, salt: str = "", data_dir: str = "", answers: Sequence[str] = (),
                     **kwargs) -> tuple[Exception | None, judge.Verdict]:
    """Run ``check(*args, **kwargs)`` as a grading kernel runs it, then judge its transcript as the grader does:
    what the check raised in the kernel (None if it passed there) and the grader's verdict."""
    raised, payload = record(check, *args, salt=salt, **kwargs)
    return raised, judge_transcript(check, payload, salt=salt, data_dir=data_dir, answers=answers)


def assert_same_verdict(check: Callable, *args, **kwargs) -> judge.Verdict:
    """The grader's replay reaches the verdict the check reached in the kernel: pass, or the same failure."""
    raised, verdict = record_and_judge(check, *args, **kwargs)
    if raised is None:
        assert verdict.passed, f"passed in the kernel, not in the grader's replay: {verdict}"
    else:
        assert isinstance(raised, checks.CheckFailure), f"the kernel raised {type(raised).__name__}: {raised}"
        assert not verdict.passed and verdict.ename in ("CheckFailure", "ForbiddenCall"), verdict
        assert verdict.message == str(raised), (verdict.message, str(raised))
    return verdict

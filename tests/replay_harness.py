"""Record every judged hidden check of an answer key in this process, as a grading kernel would, and judge
the records as the grader does: shared by tests/test_verdicts_all_labs.py and tests/benchmarks/judge.py."""

from __future__ import annotations

import ast
import json
import os
from pathlib import Path
from unittest import mock

import nbformat

from autograder import checks, judge, transcript

REPO = Path(__file__).resolve().parents[1]
# The answer keys whose test cells call judged checks.
JUDGED_NOTEBOOKS = ("lab02/02_n", "lab02/02_h", "lab03/03_n", "lab03/03_h")


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
    env = {transcript.RECORD_ENV: "1", checks.CASE_SALT_ENV: salt}
    cells = []
    with mock.patch.dict(os.environ, env):
        for source in answers:
            exec(compile(source, "<answer>", "exec"), namespace)
        for source in tests:
            calls = _hidden_calls(source)
            if not calls:
                continue
            payloads: list[dict] = []

            def emit(self, payloads=payloads):
                payloads.append(json.loads(json.dumps(self.payload())))

            with mock.patch.object(transcript.Recording, "emit", emit):
                for call in calls:
                    module = call.func.value.id if isinstance(call.func.value, ast.Name) else ""
                    exec(f"from autograder.labs import {module}", namespace)
                    eval(compile(ast.Expression(call), "<test>", "eval"), namespace)
            outputs = [nbformat.v4.new_output("display_data", data={transcript.MIME: p}) for p in payloads]
            cells.append((source, outputs))
    return answers, cells


def judge_cells(answers: list[str], cells: list[tuple[str, list]], salt: str) -> list[judge.Verdict]:
    """The grader's verdicts on every recorded test cell."""
    verdicts = []
    with mock.patch.dict(os.environ, {checks.CASE_SALT_ENV: salt}):
        for source, outputs in cells:
            verdicts.extend(judge.judge_cell(source, outputs, answers) or [])
    return verdicts

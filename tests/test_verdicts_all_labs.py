"""Every check of every answer key passes on the grader's replay of its probe's transcript, with and without a
course salt: a check that reaches the student's code other than through call_student / observe, or whose probe
makes other calls than the check, would fail here."""

from __future__ import annotations

import importlib
import re

import pytest
from replay_harness import JUDGED_NOTEBOOKS, REPO, answer_key, judge_cells, record_cells

from autograder.kernel import transcript
from autograder.labs import judged
from autograder.score import judge


@pytest.mark.parametrize("notebook", JUDGED_NOTEBOOKS)
@pytest.mark.parametrize("salt", ["", "another-course"])
def test_the_answer_key_passes_every_judged_check_on_replay(notebook, salt):
    answers, cells = record_cells(notebook, salt)
    verdicts = judge_cells(answers, cells, salt)
    assert verdicts, f"{notebook}: no judged checks found"
    failed = [v for v in verdicts if not v.passed]
    assert not failed, failed


LABS = sorted(p.parent.name for p in (REPO / "autograder" / "labs").glob("lab*/checks.py"))


@pytest.mark.parametrize("lab", LABS)
def test_every_check_of_every_lab_has_its_probe_and_every_probe_its_check(lab):
    module = importlib.import_module(f"autograder.labs.{lab}.checks")
    names = [n for n, v in vars(module).items()
             if n.startswith("check_") and callable(v) and v.__module__ == module.__name__]  # not those imported
    assert names, f"{lab} has no checks"
    assert [n for n in names if f"{lab}.{n}" not in judged.REGISTRY] == [], "checks not marked @judged"
    probes = importlib.import_module(f"{judged.PROBES_PACKAGE}.{lab}")
    probe_names = {n for n in vars(probes) if f"{lab}.{n}" in transcript.PROBES}
    assert probe_names == set(names), "a probe without its check, or a check without its probe"


@pytest.mark.parametrize("notebook", sorted(str(p.relative_to(REPO / "source").with_suffix(""))
                                            for p in (REPO / "source").glob("*/*.ipynb")))
def test_every_check_a_test_cell_calls_is_one_the_grader_finds(notebook):
    for source in answer_key(notebook)[1]:
        called = {f"{lab}.{name}" for lab, name in re.findall(r"\b(lab\w+)\.(check_\w+)\(", source)}
        assert called <= {c.key for c in judge.expected_checks(source)}, source

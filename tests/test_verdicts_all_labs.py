"""Every judged check of every answer key passes on the grader's replay, with and without a course salt:
a check that reaches the student's code other than through call_student / observe would fail here."""

from __future__ import annotations

import pytest
from replay_harness import JUDGED_NOTEBOOKS, judge_cells, record_cells


@pytest.mark.parametrize("notebook", JUDGED_NOTEBOOKS)
@pytest.mark.parametrize("salt", ["", "another-course"])
def test_the_answer_key_passes_every_judged_check_on_replay(notebook, salt):
    answers, cells = record_cells(notebook, salt)
    verdicts = judge_cells(answers, cells, salt)
    assert verdicts, f"{notebook}: no judged checks found"
    failed = [v for v in verdicts if not v.passed]
    assert not failed, failed

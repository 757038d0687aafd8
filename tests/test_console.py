"""Output that is not a terminal (a log, CI, a pipe) is not wrapped at rich's default of 80 columns."""

from __future__ import annotations

import io

from autograder.cli import make_console
from autograder.report.table import print_table
from autograder.score.results import GRADED, NotebookResult, QuestionResult


def wide_class() -> list[NotebookResult]:
    questions = [QuestionResult(f"test_question_{i:02d}", 1.0, 1.0) for i in range(20)]
    return [NotebookResult(f"s24010{i:02d}", "lab03", "03_n", GRADED, 20.0, 20.0, questions=questions)
            for i in range(3)]


def test_a_pipe_gets_the_table_unwrapped(monkeypatch):
    monkeypatch.delenv("COLUMNS", raising=False)
    out = io.StringIO()
    print_table(wide_class(), title="lab03: 3 students", console=make_console(out))
    rows = [line for line in out.getvalue().splitlines() if "s24010" in line]
    assert len(rows) == 3 and all("20/20" in line for line in rows)  # each student on one line, total included
    assert max(len(line) for line in out.getvalue().splitlines()) > 80


def test_columns_still_decide_when_set(monkeypatch):
    monkeypatch.setenv("COLUMNS", "60")
    assert make_console(io.StringIO()).width == 60


def test_roster_import_loads_no_grading_library(tmp_path):
    """`roster import` should take about as long as starting Python: it must not load nbgrader, nbformat,
    matplotlib or torch (seconds each; issue 17 §5, tests/benchmarks/small_steps.py)."""
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parents[1]
    (tmp_path / "source").mkdir()
    (tmp_path / "nbgrader_config.py").write_text("c = get_config()\n", encoding="utf-8")
    roster = tmp_path / "roster.csv"
    roster.write_text("id,family_name,given_name,email\ns1,山田,太郎,t@example.ac.jp\n", encoding="utf-8")
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "autograder.cli", "roster", "import", str(roster)],
                          cwd=tmp_path, capture_output=True, text=True, check=True, env={"PYTHONPATH": str(repo)})
    loaded = {line.split("|")[-1].strip().split(".")[0] for line in proc.stderr.splitlines() if "|" in line}
    assert "autograder" in loaded and not loaded & {"nbgrader", "nbformat", "matplotlib", "torch", "sqlalchemy"}
    assert "1 students in the roster" in proc.stdout
    assert (tmp_path / ".autograder" / "roster.csv").read_text(encoding="utf-8").splitlines()[1] == \
        "s1,山田,太郎,t@example.ac.jp"


def test_a_second_roster_import_updates_and_adds_and_removes_nobody(tmp_path):
    from autograder.intake.roster import Student, load_roster, save_roster

    path = tmp_path / ".autograder" / "roster.csv"
    assert load_roster(path) is None
    save_roster(path, [Student("s1", "山田", "太郎", "old@example.ac.jp"), Student("s2", "佐藤", "花子")])
    merged = save_roster(path, [Student("s1", "山田", "太郎", "new@example.ac.jp"), Student("s3", "鈴木", "一郎")])
    assert [(s.id, s.email) for s in merged] == [("s1", "new@example.ac.jp"), ("s2", ""), ("s3", "")]
    assert load_roster(path) == merged


def test_the_table_notes_reasons_but_not_a_plain_not_submitted():
    from autograder.report.table import notes
    from autograder.score.results import MISSING, NOT_SUBMITTED

    absent = NotebookResult("s1", "lab03", "03_n", MISSING, 0, 15, f"{NOT_SUBMITTED}: submit one of …")
    set_aside = NotebookResult("s2", "lab03", "03_n", MISSING, 0, 15, "your upload could not be graded (quarantined)")
    assert notes([absent, set_aside]) == ["s2 (03_n): your upload could not be graded (quarantined)"]

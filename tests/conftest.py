"""Shared fixtures: temporary course directories and the real `autograder` CLI."""

from __future__ import annotations

import hashlib
import io
import shutil
import subprocess
import sys
import time
import unicodedata
from pathlib import Path

import pytest

# TensorFlow and torch share a pytest worker here, and their native libraries clash in one order:
# importing triton (torchvision.ops pulls it in) after TensorFlow segfaults the process. So torch's
# side always loads first; TensorFlow after it is fine.
import torchvision.ops  # noqa: F401

REPO = Path(__file__).resolve().parents[1]
# The sample-class generators in examples/, which tests load from their files, import the module
# they share from that folder.
sys.path.insert(0, str(REPO / "examples"))
AUTOGRADER = [sys.executable, "-m", "autograder.cli"]
# The course secret that varies the hidden checks' inputs (autograder.checks.case_rng), fixed for the tests so
# that the sample classes' exact scores do not depend on the salt a temporary course would draw.
TEST_CASE_SALT = "tests-fixed-case-salt"


def copy_course(dest: Path, *, with_generated: bool = False) -> Path:
    """A course root with this repository's source/ and nbgrader_config.py (and release/, solutions/)."""
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "nbgrader_config.py", dest)
    shutil.copytree(REPO / "source", dest / "source")
    if with_generated:
        shutil.copytree(REPO / "release", dest / "release")
        shutil.copytree(REPO / "solutions", dest / "solutions")
    return dest


def run_autograder(*args: str, cwd: Path, timeout: float = 900,
                   env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run the real CLI, as a TA would; output captured as text. ``env``: variables set on top of ours."""
    return subprocess.run(
        [*AUTOGRADER, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout,
        env={**__import__("os").environ, "COLUMNS": "200", "AUTOGRADER_CASE_SALT": TEST_CASE_SALT, **(env or {})},
    )


def run_nbgrader(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """nbgrader's own CLI from this venv (it runs `alembic` from the same folder, so that goes on PATH)."""
    bindir = Path(sys.executable).parent
    env = {**__import__("os").environ, "PATH": f"{bindir}:{__import__('os').environ.get('PATH', '')}"}
    return subprocess.run([str(bindir / "nbgrader"), *args], cwd=cwd, capture_output=True, text=True, env=env,
                          check=True)


def serve_downloads(monkeypatch, payload: bytes | Exception) -> list[str]:
    """Replace urlopen (no network in tests): it returns ``payload`` (or raises it); the URLs asked for are recorded."""
    asked: list[str] = []

    def urlopen(url, timeout=None):
        asked.append(url)
        if isinstance(payload, Exception):
            raise payload
        return io.BytesIO(payload)

    monkeypatch.setattr("urllib.request.urlopen", urlopen)
    return asked


def tree_digest(root: Path) -> dict[str, str]:
    """sha256 of every file below ``root``, by relative path."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*")) if p.is_file()
    }


@pytest.fixture
def course(tmp_path: Path) -> Path:
    return copy_course(tmp_path / "course")


# The hostile corpora's tables (case, expected, got, reason), written by tests/hostile/ in a worker, printed once at
# the end of the run by the controlling process: lab 03's (test_hostile_corpus.py) and the training labs'
# (test_training_corpus.py).
HOSTILE_REPORT = REPO / "build" / "hostile-report.tsv"
HOSTILE_TRAINING_REPORT = REPO / "build" / "hostile-training-report.tsv"
HOSTILE_REPORTS = {HOSTILE_REPORT: "hostile corpus", HOSTILE_TRAINING_REPORT: "hostile corpus, training labs"}


_SESSION_STARTED = time.time()  # when the controlling process loaded this file


def pytest_terminal_summary(terminalreporter, config):
    if hasattr(config, "workerinput"):
        return
    for report, title in HOSTILE_REPORTS.items():
        if not report.is_file() or report.stat().st_mtime < _SESSION_STARTED:  # none, or left over from an earlier run
            continue
        terminalreporter.section(f"{title}: case, expected, got, reason")
        for line in report.read_text(encoding="utf-8").splitlines():
            case, expected, got, reason = (line.split("\t") + ["", "", ""])[:4]
            mark = "ok " if expected == got else "!! "
            pad = " " * max(0, 30 - _width(case))
            terminalreporter.write_line(f"{mark}{case}{pad} expected {expected:<12} got {got:<12} {reason}")


def _width(text: str) -> int:
    """Columns a terminal gives ``text``: CJK and emoji take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def graded_lab03_class(base: Path, students: tuple[str, ...]) -> Path:
    """A course in ``base/course`` that graded ``students`` of lab 03's sample class (copied to ``base/subs``),
    with a roster naming them ("<student>@example.ac.jp") and Moodle participant numbers 1001, 1002, ... (as
    `collect` records them from Moodle's zip); returns the course root."""
    root = copy_course(base / "course", with_generated=True)
    for student in students:
        shutil.copytree(REPO / "examples" / "submissions" / "lab03" / student, base / "subs" / student)
    (base / "roster.csv").write_text("id,family_name,given_name,email\n" + "".join(
        f"{s},{s.split('-')[0].title()},{s.split('-')[-1].title()},{s}@example.ac.jp\n" for s in students), "utf-8")
    proc = run_autograder("roster", "import", str(base / "roster.csv"), cwd=root)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    participants = root / "reports" / "lab03" / "moodle_participants.csv"  # as `collect` records Moodle's zip
    participants.parent.mkdir(parents=True, exist_ok=True)
    participants.write_text("student_id,participant,name,submitted\n" + "".join(
        f"{s},{1001 + i},{s.split('-')[0].title()} {s.split('-')[-1].title()},\n" for i, s in enumerate(students)),
        "utf-8")
    proc = run_autograder("grade", "lab03", "--submissions", str(base / "subs"), cwd=root)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return root


@pytest.fixture(scope="module")
def standin_data_dir(tmp_path_factory):
    """Both offline stand-ins (MNIST, CIFAR-10) in one data directory, as `autograder data standin` writes them, and
    the grader pointed at it (datasets.DATA_ENV) for the module's tests."""
    from autograder.datasets import DATA_ENV, cifar10, mnist

    directory = tmp_path_factory.mktemp("data")
    mnist.write_standin(directory)
    cifar10.write_standin(directory)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(DATA_ENV, str(directory))
        yield directory

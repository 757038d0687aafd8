"""Shared fixtures: temporary course directories and the real `autograder` CLI."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

# TensorFlow and torch share a pytest worker here, and their native libraries clash in one order:
# importing triton (torchvision.ops pulls it in) after TensorFlow segfaults the process. So torch's
# side always loads first; TensorFlow after it is fine.
import torchvision.ops  # noqa: F401

REPO = Path(__file__).resolve().parents[1]
AUTOGRADER = [sys.executable, "-m", "autograder.cli"]


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
        env={**__import__("os").environ, "COLUMNS": "200", **(env or {})},
    )


def run_nbgrader(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """nbgrader's own CLI from this venv (it runs `alembic` from the same folder, so that goes on PATH)."""
    bindir = Path(sys.executable).parent
    env = {**__import__("os").environ, "PATH": f"{bindir}:{__import__('os').environ.get('PATH', '')}"}
    return subprocess.run([str(bindir / "nbgrader"), *args], cwd=cwd, capture_output=True, text=True, env=env,
                          check=True)


def tree_digest(root: Path) -> dict[str, str]:
    """sha256 of every file below ``root``, by relative path."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*")) if p.is_file()
    }


@pytest.fixture
def course(tmp_path: Path) -> Path:
    return copy_course(tmp_path / "course")

"""The committed sample classes are what their generators in examples/ build from solutions/ and release/."""

from __future__ import annotations

import importlib

import pytest

from conftest import REPO, tree_digest

# generator script -> (folder under examples/submissions, number of students)
GENERATORS = {
    "make_sample_class.py": ("lab03", 11),
    "make_lab01_samples.py": ("lab01", 9),
    "make_lab02_samples.py": ("lab02", 10),
    "make_lab03h_samples.py": ("lab03h", 6),
    "make_lab04_samples.py": ("lab04", 5),
    "make_lab05_samples.py": ("lab05", 7),
    "make_lab06_samples.py": ("lab06", 8),
}


@pytest.mark.parametrize("script", sorted(GENERATORS))
def test_sample_class_is_up_to_date(tmp_path, script):
    folder, count = GENERATORS[script]
    module = importlib.import_module(script.removesuffix(".py"))  # examples/ is on sys.path (conftest)
    students = module.build(tmp_path / folder)
    assert len(students) == count
    committed = REPO / "examples" / "submissions" / folder
    assert tree_digest(tmp_path / folder) == tree_digest(committed), (
        f"examples/submissions/{folder} is stale: run `make samples` and commit"
    )

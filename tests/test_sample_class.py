"""The committed sample class is what examples/make_sample_class.py builds from solutions/ and release/."""

from __future__ import annotations

import importlib.util

from conftest import REPO, tree_digest


def test_sample_class_is_up_to_date(tmp_path):
    spec = importlib.util.spec_from_file_location("make_sample_class", REPO / "examples" / "make_sample_class.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    students = module.build(tmp_path / "lab03")
    assert len(students) == 11
    committed = REPO / "examples" / "submissions" / "lab03"
    assert tree_digest(tmp_path / "lab03") == tree_digest(committed), (
        "examples/submissions/lab03 is stale: run `make samples` and commit"
    )

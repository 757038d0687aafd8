"""What the sample-class generators (examples/make_*.py) share.

A sample class starts from a lab's answer key (solutions/) and its untouched release (release/).
Each realistic mistake replaces or edits whole solution cells, found by grade_id, and every student
gets one folder: ``<out>/<student>/<notebook>.ipynb``.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import nbformat
from nbformat import NotebookNode

ROOT = Path(__file__).resolve().parents[1]
SUBMISSIONS = ROOT / "examples" / "submissions"


def read_generated(kind: str, lab: str, notebook: str) -> NotebookNode:
    """``kind`` "solutions" (the answer key) or "release" (the student copy) of ``lab/notebook``."""
    return nbformat.read(ROOT / kind / lab / f"{notebook}.ipynb", as_version=4)


def _cells_by_id(nb: NotebookNode, grade_ids, where: str) -> dict[str, NotebookNode]:
    cells = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in nb.cells}
    missing = sorted(set(grade_ids) - set(cells))
    if missing:
        sys.exit(f"sample class: no solution cell with grade_id {missing} in {where}")
    return cells


def with_cells_replaced(nb: NotebookNode, replacements: dict[str, str], *, where: str) -> NotebookNode:
    """A copy of ``nb`` whose cells named in ``replacements`` (grade_id -> source) get that source, outputs cleared.

    ``where`` (e.g. "lab04/04_n") names the notebook in the message when a grade_id is not there.
    """
    nb = nbformat.from_dict(nb)
    cells = _cells_by_id(nb, replacements, where)
    for grade_id, source in replacements.items():
        cells[grade_id].source = source.rstrip("\n")
        cells[grade_id].outputs, cells[grade_id].execution_count = [], None
    return nb


def with_cells_edited(nb: NotebookNode, edits: dict[str, tuple[str, str]], *, where: str) -> NotebookNode:
    """A copy of ``nb`` where each cell named in ``edits`` (grade_id -> (old, new)) has its one ``old`` made ``new``."""
    nb = nbformat.from_dict(nb)
    cells = _cells_by_id(nb, edits, where)
    for grade_id, (old, new) in edits.items():
        if cells[grade_id].source.count(old) != 1:
            sys.exit(f"sample class: {old!r} is not exactly once in cell {grade_id} of {where}")
        cells[grade_id].source = cells[grade_id].source.replace(old, new)
        cells[grade_id].outputs, cells[grade_id].execution_count = [], None
    return nb


def write_class(out: Path, students: dict[str, dict[str, NotebookNode]]) -> list[str]:
    """Replace ``out`` with one folder per student (student -> {notebook name: notebook}); return the ids."""
    if out.exists():
        shutil.rmtree(out)
    for student, notebooks in students.items():
        (out / student).mkdir(parents=True)
        for name, nb in notebooks.items():
            nbformat.write(nb, out / student / f"{name}.ipynb")
    return sorted(students)


def one_notebook_class(lab: str, notebook: str, mistakes: dict[str, dict[str, str]]) -> dict[str, dict]:
    """The answer key, the untouched release, and each mistake (student -> {grade_id: source}) of one notebook."""
    solution = read_generated("solutions", lab, notebook)
    where = f"{lab}/{notebook}"
    return {
        "ref-solution": {notebook: solution},
        "blank-release": {notebook: read_generated("release", lab, notebook)},
        **{student: {notebook: with_cells_replaced(solution, cells, where=where)} for student, cells in mistakes.items()},
    }


# Swaps every check of the lab for one that passes, through the module's dict and a computed name (the
# grader's reading of the source does not see it): in the kernel every test whose names exist then passes.
SWAP_THE_CHECKS = '''import importlib

_checks = vars(importlib.import_module("autograder.kernel." + "probes.{lab}"))
for _name in [n for n in _checks if n.startswith("check_")]:
    _checks[_name] = lambda *args, **kwargs: None
'''


def swaps_the_checks(nb: NotebookNode, lab: str) -> NotebookNode:
    """A copy of ``nb`` whose first answer cell first swaps every check of ``lab`` for one that passes."""
    nb = nbformat.from_dict(nb)
    first = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution"))
    first.source = SWAP_THE_CHECKS.format(lab=lab) + "\n\n" + first.source
    first.outputs, first.execution_count = [], None
    return nb


def main(build, folder: str) -> Path:
    """Run a generator's ``build`` into argv[1], or into examples/submissions/<folder>; say what it wrote."""
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else SUBMISSIONS / folder
    students = build(target)
    print(f"wrote {len(students)} students' submissions to {target}")
    return target

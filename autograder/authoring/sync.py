"""Check that the committed release/ and solutions/ are what source/ generates.

release/ is compared whole (every file, every cell and its metadata). solutions/
is compared by cell type, source and metadata, since outputs of a run vary
(timings, plots); every code cell must have been executed, though.
"""

from __future__ import annotations

import filecmp
import tempfile
from dataclasses import dataclass
from pathlib import Path

import nbformat

from autograder.authoring.release import generate_release, generate_solutions
from autograder.course import Course


@dataclass(frozen=True)
class Drift:
    """One way a committed file differs from what source/ generates."""

    path: str
    problem: str

    def __str__(self) -> str:
        return f"{self.path}: {self.problem}"


def _cells(nb: nbformat.NotebookNode) -> list[tuple]:
    return [(c.cell_type, c.source, repr(c.metadata.get("nbgrader"))) for c in nb.cells]


def _compare_notebooks(committed: Path, generated: Path, rel: str, *, outputs: bool) -> list[Drift]:
    try:
        have = nbformat.read(committed, as_version=4)
    except Exception as exc:
        return [Drift(rel, f"unreadable: {exc}")]
    want = nbformat.read(generated, as_version=4)
    if outputs:
        if nbformat.writes(have) != nbformat.writes(want):
            return [Drift(rel, "differs from the generated student copy")]
        return []
    drifts = []
    have_cells, want_cells = _cells(have), _cells(want)
    if have_cells != want_cells:
        first = next(
            (i for i, (a, b) in enumerate(zip(have_cells, want_cells, strict=False)) if a != b),
            min(len(have_cells), len(want_cells)),
        )
        drifts.append(Drift(rel, f"cells differ from source/ (first difference at cell {first})"))
    unexecuted = [i for i, c in enumerate(have.cells) if c.cell_type == "code" and c.source.strip() and c.execution_count is None]
    if unexecuted:
        drifts.append(Drift(rel, f"not executed (code cell {unexecuted[0]} has no output)"))
    return drifts


def _compare_trees(committed: Path, generated: Path, label: str, *, outputs: bool) -> list[Drift]:
    drifts = []
    have = {p.relative_to(committed) for p in committed.rglob("*") if p.is_file()} if committed.is_dir() else set()
    want = {p.relative_to(generated) for p in generated.rglob("*") if p.is_file()}
    for rel in sorted(want - have):
        drifts.append(Drift(f"{label}/{rel}", "missing: regenerate with `autograder release`"))
    for rel in sorted(have - want):
        drifts.append(Drift(f"{label}/{rel}", "not generated from source/ (stale?)"))
    for rel in sorted(have & want):
        if rel.suffix == ".ipynb":
            drifts += _compare_notebooks(committed / rel, generated / rel, f"{label}/{rel}", outputs=outputs)
        elif not filecmp.cmp(committed / rel, generated / rel, shallow=False):
            drifts.append(Drift(f"{label}/{rel}", "differs from source/"))
    return drifts


def check_sync(course: Course, labs: list[str] | None = None) -> list[Drift]:
    """Every difference between committed release/ + solutions/ and a fresh generation (empty: in sync)."""
    labs = labs or course.labs()
    drifts: list[Drift] = []
    with tempfile.TemporaryDirectory(prefix="check-sync-") as tmp:
        tmp = Path(tmp)
        for lab in labs:
            generated_release = generate_release(
                course, lab, release_dir=tmp / "release", db_url=f"sqlite:///{tmp / 'gradebook.db'}"
            )
            drifts += _compare_trees(course.release_dir / lab, generated_release, f"release/{lab}", outputs=True)
            generate_solutions(course, lab, out_dir=tmp / "solutions", execute=False)
            drifts += _compare_trees(course.solutions_dir / lab, tmp / "solutions" / lab, f"solutions/{lab}", outputs=False)
    for parent in (course.release_dir, course.solutions_dir):
        if parent.is_dir():
            for orphan in sorted(p for p in parent.iterdir() if p.is_dir() and p.name not in course.labs()):
                drifts.append(Drift(f"{parent.name}/{orphan.name}", "no such lab in source/ (stale?)"))
    return drifts

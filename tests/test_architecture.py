"""The package's shape: stages that depend one way, no import cycles, no module too long, and a
kernel-side package that holds no answer.

The layers, bottom to top (docs/architecture.md draws them). A module may import its own layer and
those below it, never one above; within a layer, modules import each other without cycles.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from conftest import REPO

PACKAGE = REPO / "autograder"

# (layer name, module prefixes), bottom first.
LAYERS = [
    ("datasets", ("autograder.datasets",)),
    ("kernel", ("autograder.kernel",)),
    ("labs", ("autograder.labs",)),
    ("course", ("autograder.course",)),
    ("intake", ("autograder.intake",)),
    ("run", ("autograder.run",)),
    ("score", ("autograder.score",)),
    ("report", ("autograder.report",)),
    ("grade", ("autograder.grade",)),
    ("authoring", ("autograder.authoring", "autograder.selfcheck")),
    ("api", ("autograder.api",)),
    ("cli", ("autograder.cli",)),
]
TOP = {"autograder"}  # the package's __init__: a docstring and its version, importable by everything
MAX_LINES = 600  # outside labs/, whose checks and references are long by nature
# Files of the package the student's kernel may see (autograder/run/sandbox.py binds these, and no more).
KERNEL_VISIBLE = ("__init__.py", "kernel", "datasets")


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(REPO).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _imports(module: str, path: Path) -> set[str]:
    """The autograder modules ``module`` imports, at any depth of its code (lazy imports count)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            names = [base] + [f"{base}.{alias.name}" for alias in node.names]
        for name in names:
            if name.split(".")[0] != "autograder":
                continue
            while name and name not in MODULES:  # "autograder.score.judge.judge_cell" -> the module
                name = name.rpartition(".")[0]
            if name and name != module:
                found.add(name)
    return found


GRAPH = {module: _imports(module, path) for module, path in MODULES.items()}


def _layer(module: str) -> int:
    if module in TOP:
        return -1
    for index, (_, prefixes) in enumerate(LAYERS):
        if any(module == p or module.startswith(p + ".") for p in prefixes):
            return index
    raise AssertionError(f"{module} belongs to no layer: add it to LAYERS and docs/architecture.md")


def test_every_module_has_a_layer():
    for module in MODULES:
        _layer(module)


def test_dependencies_point_down():
    wrong = [f"{m} ({LAYERS[_layer(m)][0]}) imports {d} ({LAYERS[_layer(d)][0]})"
             for m, deps in GRAPH.items() for d in sorted(deps) if _layer(d) > _layer(m)]
    assert not wrong, "imports against the layers:\n" + "\n".join(wrong)


def test_no_import_cycles():
    # a package's __init__ re-exporting its own modules is not a cycle of meaning: leave those edges out
    edges = {m: {d for d in deps if not m.startswith(d + ".")} for m, deps in GRAPH.items()}
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(module: str) -> None:
        state[module] = 1
        stack.append(module)
        for dep in sorted(edges.get(module, ())):
            if state.get(dep) == 1:
                cycle = stack[stack.index(dep):] + [dep]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if dep not in state:
                visit(dep)
        stack.pop()
        state[module] = 2

    for module in sorted(edges):
        if module not in state:
            visit(module)


def test_the_kernel_side_imports_nothing_of_the_grader():
    for module, deps in GRAPH.items():
        if _layer(module) <= _layer("autograder.kernel"):
            outside = [d for d in deps if _layer(d) > _layer("autograder.kernel")]
            assert not outside, f"{module} (seen by the student's kernel) imports {outside}"


@pytest.mark.parametrize("name", KERNEL_VISIBLE)
def test_what_the_kernel_sees_holds_no_answer(name):
    """No reference, threshold or verdict in any file the sandbox shows the kernel."""
    root = PACKAGE / name
    files = [root] if root.is_file() else sorted(p for p in root.rglob("*.py"))
    for path in files:
        text = path.read_text(encoding="utf-8")
        tree = ast.parse(text)
        defined = {n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
        assigned = {t.id for n in ast.walk(tree) if isinstance(n, ast.Assign) for t in n.targets
                    if isinstance(t, ast.Name)}
        leaks = sorted(n for n in defined | assigned
                       if n.startswith("ref_") or n in ("THRESHOLDS", "RTOL", "ATOL") or n.endswith("_THRESHOLD"))
        assert not leaks, f"{path.relative_to(REPO)} defines {leaks}: answers and thresholds belong in autograder/labs"


def test_no_module_is_too_long():
    long = {str(p.relative_to(REPO)): n for m, p in MODULES.items()
            if not m.startswith("autograder.labs.") and (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert not long, f"modules over {MAX_LINES} lines (split them by job): {long}"


def test_no_two_module_names_a_newcomer_would_confuse():
    """No two modules of the package whose names differ only by a suffix or a letter (execute/executor)."""
    names = {}
    for module, path in MODULES.items():
        if module.startswith("autograder.labs.") or path.name == "__init__.py":
            continue
        names.setdefault(module.rpartition(".")[2], []).append(module)
    stems = sorted(names)
    confusable = []
    for i, a in enumerate(stems):
        for b in stems[i + 1:]:
            short, long = sorted((a, b), key=len)
            if long.startswith(short) and len(long) - len(short) <= 3:  # execute / executor, check / checks
                confusable.append((names[a], names[b]))
    assert not confusable, f"module names too alike: {confusable}"

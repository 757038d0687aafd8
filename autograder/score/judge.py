"""The grader's verdict on each hidden test, reached in the grader's own process.

A hidden test cell calls a lab's probes (``lab03.check_conv2d(conv2d)``, :mod:`autograder.kernel.probes`).
It passes only if, for each such call, the kernel left exactly one transcript and the lab's check of
the same name (:func:`autograder.labs.judged.judged`) passes on it (:func:`judge_cell`). A missing, extra, malformed or mismatched transcript is a failure with
a reason. Errors the kernel showed in the cell still count: code in the kernel can take points
away, never add them.

The grader also reads the student's source itself for library functions that an exercise forbids
(:func:`forbidden_in_source`), since the kernel's own guard can be switched off from the kernel.
"""

from __future__ import annotations

import ast
import contextlib
import functools
import importlib
import io
import os
import re
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from unittest import mock

import nbformat

from autograder import datasets
from autograder.kernel import held_out, transcript
from autograder.kernel.compare import CheckFailure
from autograder.kernel.student import ForbiddenCall, forbidden_message
from autograder.labs import judged as checks

NO_VERDICT = "採点側で判定できませんでした / the grader could not reach a verdict"
# The first line of a failure the grader shows (the hidden checks are called in hidden-test regions only)
HIDDEN_TEST_NOTICE = "(採点用の隠しテストで失敗しました / failed in a hidden test)"
_MAGIC = re.compile(r"^\s*[%!]", re.MULTILINE)


@dataclass(frozen=True)
class CheckCall:
    """One call of a judged check in a test cell's source."""

    key: str  # "lab03.check_softmax"
    positional: int
    keywords: tuple[str, ...]
    constants: dict  # argument position or keyword -> literal value written in the test cell


@dataclass(frozen=True)
class Verdict:
    key: str
    passed: bool
    ename: str = ""
    message: str = ""
    printed: str = ""  # what the check printed: the figures it measured (report_metric), shown in the feedback


def _parse(source: str) -> ast.Module | None:
    """The cell's code, IPython magics and shell lines blanked; None if it still does not parse."""
    try:
        return ast.parse(_MAGIC.sub(lambda m: m.group(0).replace("%", "#").replace("!", "#"), source))
    except (SyntaxError, ValueError):
        return None


def _imports(tree: ast.AST) -> dict[str, str]:
    """Local name -> the dotted name it was imported as."""
    names: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    names[alias.asname] = alias.name
                else:
                    root = alias.name.partition(".")[0]
                    names[root] = root
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                names[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    for node in ast.walk(tree):  # then plain aliases of those: F = torch.nn.functional
        if (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)
                and isinstance(node.value, (ast.Name, ast.Attribute))):
            dotted = _dotted(node.value, names)
            if dotted and dotted.partition(".")[0] in {v.partition(".")[0] for v in names.values()}:
                names[node.targets[0].id] = dotted
    return names


def _dotted(node: ast.AST, imports: dict[str, str]) -> str | None:
    """``F.conv2d`` -> "torch.nn.functional.conv2d" when ``F`` was imported so; None for other expressions."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(imports.get(node.id, node.id))
    return ".".join(reversed(parts))


def _registered(dotted: str) -> str | None:
    """The key of the check a probe's full dotted name stands for ("lab03.check_softmax"), importing the lab's
    checks; None if it names no probe with a check."""
    module, _, name = dotted.rpartition(".")
    package, _, lab = module.rpartition(".")
    if package != checks.PROBES_PACKAGE or not name.startswith("check_"):
        return None
    try:
        importlib.import_module(f"{checks.LABS_PACKAGE}.{lab}")
    except ImportError:
        return None
    key = f"{lab}.{name}"
    return key if key in checks.REGISTRY else None


def expected_checks(source: str) -> list[CheckCall]:
    """The probes (with a check of the same name) a test cell calls, in order of appearance."""
    tree = _parse(source)
    if tree is None:
        return []
    imports = _imports(tree)
    calls = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        dotted = _dotted(node.func, imports)
        key = _registered(dotted) if dotted else None
        if key is None:
            continue
        constants: dict[Any, Any] = {}
        for i, arg in enumerate(node.args):
            if isinstance(arg, ast.Constant):
                constants[i] = arg.value
        for kw in node.keywords:
            if isinstance(kw.value, ast.Constant):
                constants[kw.arg] = kw.value.value
        call = CheckCall(key, len(node.args), tuple(kw.arg for kw in node.keywords), constants)
        calls.append(((node.lineno, node.col_offset), call))
    return [call for _, call in sorted(calls, key=lambda item: item[0])]  # ast.walk is breadth-first


def transcripts(outputs: Iterable[dict]) -> list[Any]:
    """The transcripts a cell's outputs hold, in order."""
    found = []
    for output in outputs:
        if output.get("output_type") in ("display_data", "execute_result"):
            data = output.get("data", {})
            if transcript.MIME in data:
                found.append(data[transcript.MIME])
    return found


def strip_transcripts(outputs: list) -> list:
    """``outputs`` without the transcripts (they are the grader's, not the student's, to read)."""
    return [o for o in outputs if not (o.get("output_type") in ("display_data", "execute_result")
                                      and transcript.MIME in o.get("data", {}))]


@functools.lru_cache(maxsize=64)
def _answer_trees(answer_source: tuple[str, ...]) -> tuple[list[ast.Module], dict[str, str]]:
    """The student's cells parsed (those that parse), and every name they import: parsed once per notebook."""
    trees = [t for t in (_parse(s) for s in answer_source) if t is not None]
    imports: dict[str, str] = {}
    for tree in trees:
        imports.update(_imports(tree))
    return trees, imports


def forbidden_in_source(answer_source: Iterable[str], fn_name: str, forbidden: tuple[str, ...]) -> str | None:
    """The forbidden-call message if the definition of ``fn_name`` in the student's cells names a forbidden function.

    Imports are followed (``import torch.nn.functional as F`` then ``F.conv2d``, or ``from scipy.signal
    import correlate2d as c``); names built at run time (``getattr(torch, "con" + "v2d")``) are not.
    """
    return _forbidden_in_source(tuple(answer_source), fn_name, tuple(forbidden))


@functools.lru_cache(maxsize=256)
def _forbidden_in_source(answer_source: tuple[str, ...], fn_name: str, forbidden: tuple[str, ...]) -> str | None:
    trees, imports = _answer_trees(answer_source)
    for tree in trees:
        for node in ast.walk(tree):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) or node.name != fn_name:
                continue
            local = {**imports, **_imports(node)}
            for inner in ast.walk(node):
                if isinstance(inner, (ast.Attribute, ast.Name)):
                    dotted = _dotted(inner, local) or ""
                    for name in forbidden:
                        if dotted == name or dotted.startswith(name + "."):
                            return forbidden_message(fn_name, name)
    return None


def names_in_definition(answer_source: Iterable[str], fn_name: str) -> frozenset[str] | None:
    """Every name the student's last definition of ``fn_name`` mentions, read from the answer cells: the
    variables, functions and attributes of a ``def`` or ``class`` (its nested functions included), or of the
    expression a ``fn_name = ...`` assigns (a lambda). None if no answer cell defines ``fn_name``.

    What a function is built from (XOR from the gates, a gradient without ``numerical_gradient``) is the grader's
    reading, not a fact the kernel reports (issue 18.5); names built at run time are not seen, as in the kernel.
    """
    return _names_in_definition(tuple(answer_source), fn_name)


@functools.lru_cache(maxsize=256)
def _names_in_definition(answer_source: tuple[str, ...], fn_name: str) -> frozenset[str] | None:
    trees, _ = _answer_trees(answer_source)
    found: ast.AST | None = None
    for tree in trees:  # the last cell's last definition is the one the test cell calls
        definitions = sorted((node for node in ast.walk(tree) if _defines(node, fn_name)), key=lambda n: n.lineno)
        if definitions:
            last = definitions[-1]
            found = last.value if isinstance(last, ast.Assign | ast.AnnAssign) else last
    if found is None:
        return None
    return frozenset(n.id if isinstance(n, ast.Name) else n.attr for n in ast.walk(found)
                     if isinstance(n, ast.Name | ast.Attribute))


def names_bound(source: str) -> frozenset[str] | None:
    """The names a cell binds in the notebook's namespace: definitions, imports, and assignment, ``for`` and
    ``with`` targets at any depth of its statements, but not the locals of its functions, classes, lambdas or
    comprehensions. None if the cell does not parse (IPython magics blanked)."""
    tree = _parse(source)
    if tree is None:
        return None
    names: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
            return
        if isinstance(node, ast.Lambda | ast.ListComp | ast.SetComp | ast.DictComp | ast.GeneratorExp):
            return
        if isinstance(node, ast.Import | ast.ImportFrom):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return frozenset(names)


def _defines(node: ast.AST, name: str) -> bool:
    """``def name``, ``class name``, or ``name = <expression>`` (inside an ``if`` or ``try`` too)."""
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return node.name == name
    if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        return any(isinstance(t, ast.Name) and t.id == name for t in targets)
    return False


# The grader's internals: answers that use them are not the student's work (what the released notebooks
# import, autograder.kernel's assert_close and data loaders, and the probes, are not among them).
_INTERNALS = ("autograder.kernel.transcript", "autograder.labs", "autograder.score", "autograder.run",
              "autograder.grade")
_TAMPERING = ("答えのセルが採点の仕組みを書き換えたり使ったりしています。隠しテストの結果は採点されません / your answer cells "
              "change or use the grader's own code, so the hidden tests give no points: {what}")


def _internal(dotted: str) -> bool:
    return any(dotted == m or dotted.startswith(m + ".") for m in _INTERNALS)


def tampering_in_source(answer_source: Iterable[str]) -> str | None:
    """Why the student's cells count as tampering with the grader, or None.

    Assigning to (or deleting, or setattr-ing) anything in the ``autograder`` package, and using
    its transcripts or the labs' reference answers. Calling a hidden check, as a student may
    paste one to try it, is not tampering.
    """
    return _tampering_in_source(tuple(answer_source))


@functools.lru_cache(maxsize=64)
def _tampering_in_source(answer_source: tuple[str, ...]) -> str | None:
    trees, imports = _answer_trees(answer_source)
    for tree in trees:
        for node in ast.walk(tree):
            targets: list[ast.AST] = []
            if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Delete)):
                targets = node.targets if isinstance(node, (ast.Assign, ast.Delete)) else [node.target]
            elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                  and node.func.id in ("setattr", "delattr") and node.args):
                targets = [ast.Attribute(value=node.args[0], attr="*")]
            for target in targets:
                dotted = _dotted(target, imports) if isinstance(target, ast.Attribute) else None
                if dotted and dotted.startswith("autograder."):
                    return _TAMPERING.format(what=f"{dotted} changed")
            if isinstance(node, (ast.Attribute, ast.Name)):
                dotted = _dotted(node, imports)
                if dotted and _internal(dotted):
                    return _TAMPERING.format(what=f"{dotted} used")
    return None


def _arguments(call: CheckCall, replay: checks.Replay) -> tuple[tuple, dict]:
    """The check's arguments: literals as the test cell writes them, the rest (the student's) from the transcript."""
    if len(replay.args) != call.positional or sorted(replay.kwargs) != sorted(call.keywords):
        raise transcript.TranscriptError(
            f"the transcript's arguments ({len(replay.args)} positional, {sorted(replay.kwargs)}) are not the "
            f"test cell's ({call.positional} positional, {sorted(call.keywords)})")
    args = tuple(call.constants.get(i, value) for i, value in enumerate(replay.args))
    kwargs = {k: call.constants.get(k, v) for k, v in replay.kwargs.items()}
    return args, kwargs


def judge(call: CheckCall, payload: Any, answer_source: list[str], salt: str = "", data_dir: str = "",
          measured: Mapping[str, Mapping[str, float]] | None = None) -> Verdict:
    """Run the lab's check of ``call`` on one transcript, in this process: the grader's verdict on it.

    ``salt``: the course's secret; the kernel drew the probe's inputs with its kernel_salt (autograder.kernel.student).
    ``data_dir``: the datasets the kernel had (autograder.datasets), for checks that need the grader's
    own copy (the test labels an accuracy is measured against); left as it is when empty.
    ``measured``: the grader's own timing of the notebook's cells, by grade_id (autograder.run.execution.MEASURED_MARK),
    which the checks of timed trainings read (:func:`autograder.labs.judged.measured_seconds`).
    """
    # the kernel's salt for the checks' inputs, and the held-out secret the grader alone draws its test sets with
    environment = {**held_out.grader_environment(salt), **({datasets.DATA_ENV: data_dir} if data_dir else {})}
    printed = io.StringIO()
    try:
        session = checks.Replay(payload, lambda fn, names: forbidden_in_source(answer_source, fn, names),
                                lambda fn_name, _code: names_in_definition(answer_source, fn_name))
        args, kwargs = _arguments(call, session)
        with mock.patch.dict(os.environ, environment), warnings.catch_warnings(), contextlib.redirect_stdout(printed), \
                checks.measured_cells(measured or {}):
            warnings.simplefilter("ignore")
            checks.replay(call.key, session, args=args, kwargs=kwargs)
    except ForbiddenCall as exc:
        return Verdict(call.key, False, "ForbiddenCall", str(exc), printed.getvalue())
    except CheckFailure as exc:
        return Verdict(call.key, False, "CheckFailure", str(exc), printed.getvalue())
    except transcript.TranscriptError as exc:
        return Verdict(call.key, False, "NoVerdict", f"{NO_VERDICT}: {_shown(call.key)}: {exc}")
    except Exception as exc:  # noqa: BLE001 - whatever the data made the check do, it is not a pass
        return Verdict(call.key, False, "NoVerdict",
                       f"{NO_VERDICT}: {_shown(call.key)}: {type(exc).__name__}: {exc}")
    return Verdict(call.key, True, printed=printed.getvalue())


def _shown(key: str) -> str:
    """A check as the feedback names it: "check_softmax" (the feedback hides the hidden tests' code)."""
    return key.rpartition(".")[2]


def judge_cell(source: str, outputs: list, answer_source: list[str], salt: str = "", data_dir: str = "",
               measured: Mapping[str, Mapping[str, float]] | None = None) -> list[Verdict] | None:
    """The grader's verdicts on a test cell's checks; None when the cell calls no probe."""
    calls = expected_checks(source)
    if not calls:
        return None
    tampering = tampering_in_source(answer_source)
    if tampering:
        return [Verdict(key, False, "Tampering", tampering) for key in dict.fromkeys(c.key for c in calls)]
    found = transcripts(outputs)
    verdicts = []
    for key in dict.fromkeys(c.key for c in calls):
        sites = [c for c in calls if c.key == key]
        mine = [p for p in found if isinstance(p, dict) and p.get("check") == key]
        if len(mine) != len(sites):
            why = ("the check did not finish, or was replaced in the kernel" if not mine else
                   f"{len(mine)} transcripts for {len(sites)} call(s)")
            verdicts.append(Verdict(key, False, "NoVerdict", f"{NO_VERDICT}: {_shown(key)}: {why}"))
            continue
        verdicts.extend(judge(site, payload, answer_source, salt, data_dir, measured)
                        for site, payload in zip(sites, mine, strict=True))
    return verdicts


# Errors a check raises in the kernel: when the grader's verdict is a failure, its own message replaces them.
_CHECK_ERRORS = {"CheckFailure", "ForbiddenCall", "AssertionError"}


def verdict_outputs(outputs: list, verdicts: list[Verdict]) -> list:
    """The cell's outputs with the grader's failures shown first among its errors, transcripts removed, and
    the figures the grader's checks measured (their ``[metric]`` lines) added.

    A check's failure replaces the kernel's check errors (the grader's message is the one that counts).
    A missing verdict is shown only when the kernel showed no error: a test that stopped before its
    hidden check (a visible assertion failed) keeps its own explanation, and fails either way.
    """
    outputs = strip_transcripts(outputs)
    measured = [nbformat.v4.new_output("stream", name="stdout", text=v.printed) for v in verdicts if v.printed]
    kernel_errors = [o for o in outputs if o.get("output_type") == "error"]
    failed = [v for v in verdicts if not v.passed and (v.ename != "NoVerdict" or not kernel_errors)]
    if not failed:
        return outputs + measured
    kept = [o for o in outputs if not (o.get("output_type") == "error" and o.get("ename") in _CHECK_ERRORS)]
    plain = [o for o in kept if o.get("output_type") != "error"]
    errors = [o for o in kept if o.get("output_type") == "error"]
    judged = [nbformat.v4.new_output("error", ename=v.ename, evalue=v.message,
                                     traceback=[HIDDEN_TEST_NOTICE, f"{v.ename}: {v.message}"]) for v in failed]
    return plain + measured + judged + errors

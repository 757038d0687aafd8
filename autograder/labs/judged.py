"""The grader's checks: how a lab's check reaches its verdict on what the student's kernel recorded.

A hidden test cell calls ``lab03.check_conv2d(conv2d)``. In the kernel that name is the probe of the
same name (:mod:`autograder.kernel.probes`), which records the student's calls; in the grader it is
the lab's check (``autograder.labs.lab03.checks``), marked :func:`judged`, which replays that record
(:class:`Replay`): each ``call_student`` or ``observe`` in the check gets the recorded result, after
its label and the digest of the grader's own inputs are matched. References, tolerances and
thresholds are the grader's alone.

A judged check called directly (a test, an instructor's shell) runs its probe here and judges it at
once (:func:`judge_here`), so that it answers as the grader would.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import importlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from autograder.kernel import transcript
from autograder.kernel.compare import CheckFailure, assert_close
from autograder.kernel.student import Case, ForbiddenCall, call_student, code_names, require_callable
from autograder.kernel.transcript import VERSION, TranscriptError, decode, digest, is_tensor

PROBES_PACKAGE = "autograder.kernel.probes"
LABS_PACKAGE = "autograder.labs"

# Printed by report_metric; `autograder calibrate` reads these lines back from graded notebooks.
METRIC_PREFIX = "[metric]"

# key ("lab03.check_softmax") -> the undecorated check
REGISTRY: dict[str, Callable] = {}

# The grader's own timing of the cells of the notebook being judged: grade_id -> {"wall_s", "cpu_s"}.
_MEASURED: contextvars.ContextVar[Mapping[str, Mapping[str, float]] | None] = contextvars.ContextVar("measured",
                                                                                                     default=None)


@contextlib.contextmanager
def measured_cells(cells: Mapping[str, Mapping[str, float]]) -> Iterator[None]:
    """Within the block, :func:`measured_seconds` answers from ``cells`` (the judge sets it per notebook)."""
    token = _MEASURED.set(cells)
    try:
        yield
    finally:
        _MEASURED.reset(token)


def measured_seconds(grade_id: str) -> float | None:
    """The smaller of the wall and CPU seconds the grader measured, outside the kernel, for the cell ``grade_id``
    of the notebook being judged; None where it did not (a check called directly, a cell that did not run).

    The notebook's own timing of its training is a figure the kernel reports, which the student's code can
    forge (issue 18.5); this one comes from the grader's clock and the kernel's process tree.
    """
    cell = (_MEASURED.get() or {}).get(grade_id)
    if not cell:
        return None
    return float(min(cell["wall_s"], cell["cpu_s"]))


def lab_of(module: str) -> str:
    """The lab a check's module belongs to: "autograder.labs.lab03.checks" -> "lab03" (else the last part)."""
    parts = module.split(".")
    return parts[2] if parts[:2] == LABS_PACKAGE.split(".") and len(parts) > 2 else parts[-1]


def judged(check: Callable) -> Callable:
    """Mark a lab's check, reached by replaying the transcript of the probe of the same name.

    The check reaches the student's code only through ``call_student`` or ``observe``, which answer
    from the transcript, and takes only the student's functions and data as arguments.
    """
    key = f"{lab_of(check.__module__)}.{check.__name__}"
    REGISTRY[key] = check

    @functools.wraps(check)
    def run(*args: Any, **kwargs: Any) -> Any:
        if transcript.current() is not None:  # inside a replay, or nested in another check
            return check(*args, **kwargs)
        return judge_here(key, args, kwargs)

    run.key = key  # type: ignore[attr-defined]
    return run


def probe_of(key: str) -> Callable:
    """The kernel's probe for the check ``key`` (importing its lab's probes)."""
    if key in transcript.PROBES:
        return transcript.PROBES[key]
    lab, _, name = key.partition(".")
    module = importlib.import_module(f"{PROBES_PACKAGE}.{lab}")
    probe = getattr(module, name, None)
    if probe is None or key not in transcript.PROBES:
        raise LookupError(f"{key} has no probe in {PROBES_PACKAGE}.{lab}")
    return probe


def judge_here(key: str, args: tuple, kwargs: dict) -> None:
    """Run the probe of ``key`` in this process as a grading kernel would, then judge its transcript:
    raises the grader's CheckFailure (or ForbiddenCall), or returns when the check passes. Here the student's
    functions are at hand: which names one mentions is read from its code (``student.code_names``)."""
    payload, raised = transcript.record(probe_of(key), args, kwargs)
    if raised is not None and not isinstance(raised, CheckFailure):
        raise raised  # not the student's failure: a broken probe shows as itself
    live = {getattr(a, "__name__", None): a for a in (*args, *kwargs.values()) if callable(a)}

    def names_of(_fn_name: str, code: Any) -> frozenset[str] | None:
        fn = live.get(getattr(code, "__name__", None))
        if fn is None:
            return None
        closure = getattr(getattr(fn, "__code__", None), "co_freevars", ())
        return frozenset(code_names(fn)).union(closure)

    replay(key, Replay(payload, source_names=names_of))


def names_in_definition(fn_name: str, code: Any) -> set[str]:
    """The names the student's definition of ``fn_name`` mentions (``code``: the check's argument for it), as the
    grader reads them: from the answer cells' source when it judges a notebook, from the function's own code when a
    check is called here. Empty where neither is there (no definition in the answer cells)."""
    session = transcript.current()
    reader = getattr(session, "source_names", None)
    found = reader(fn_name, code) if reader is not None else None
    return set(found or ())


def replay(key: str, session: Replay, *, args: tuple | None = None, kwargs: dict | None = None) -> None:
    """The check ``key`` run on a transcript: returns if it passes, raises CheckFailure or ForbiddenCall with
    the grader's message if it fails, TranscriptError if the record cannot be judged.

    ``args`` and ``kwargs``: the check's arguments (default: as the transcript recorded them, the student's
    code standing in as :class:`StudentCode`).
    """
    if session.key != key:
        raise TranscriptError(f"a transcript of {session.key}, expected {key}")
    with transcript.using(session):
        REGISTRY[key](*(session.args if args is None else args), **(session.kwargs if kwargs is None else kwargs))
    if not session.finished():
        raise TranscriptError("the transcript records more calls than the check makes")



class StudentCode:
    """Stands in, in the grader, for the student's function: it can only be called through a transcript."""

    def __init__(self, name: str):
        self.__name__ = name

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise TranscriptError(f"{self.__name__} was called outside the transcript")

    def __repr__(self) -> str:
        return f"<student's {self.__name__}>"


def _decode_argument(obj: Any) -> Any:
    if isinstance(obj, dict) and set(obj) == {"__student__"}:
        return StudentCode(str(obj["__student__"]))
    return decode(obj)


class Replay:
    """A transcript being replayed in the grader: each call of the student's code returns what was recorded.

    ``forbidden_scan(fn_name, names)`` is the grader's own look at the student's source for library
    functions the exercise forbids (the kernel's tripwire can be disabled by the student's code).
    ``source_names(fn_name, code)`` is the grader's reading of which names the student's definition of ``fn_name``
    (the check's argument ``code``) mentions (:func:`names_in_definition`); None where it has no definition.
    """

    def __init__(self, payload: dict, forbidden_scan: Callable[[str, tuple[str, ...]], str | None] | None = None,
                 source_names: Callable[[str, Any], frozenset[str] | None] | None = None):
        if not isinstance(payload, dict) or payload.get("version") != VERSION:
            raise TranscriptError("not a transcript of this grader's version")
        if "too_large" in payload:
            raise TranscriptError(f"the transcript is too large to judge ({payload['too_large']:,} bytes)")
        calls = payload.get("calls")
        if not isinstance(calls, list) or not all(isinstance(c, dict) for c in calls):
            raise TranscriptError("the transcript has no list of calls")
        self.key = str(payload.get("check"))
        self.calls = calls
        self.position = 0
        self.forbidden_scan = forbidden_scan
        self.source_names = source_names
        args, kwargs = payload.get("args", []), payload.get("kwargs", {})
        if not isinstance(args, list) or not isinstance(kwargs, dict):
            raise TranscriptError("the transcript's arguments are malformed")
        self.args = tuple(_decode_argument(a) for a in args)
        self.kwargs = {str(k): _decode_argument(v) for k, v in kwargs.items()}

    def call(self, label: str, args: tuple, kwargs: dict, run: Callable[[], Any] | None = None, *, fn_name: str = "",
             forbidden: tuple[str, ...] = ()) -> Any:
        if self.position >= len(self.calls):
            raise TranscriptError(f"{label}: the transcript ends before this call")
        entry = self.calls[self.position]
        self.position += 1
        if entry.get("label") != label:
            raise TranscriptError(f"{label}: the transcript recorded another call here ({entry.get('label')!r})")
        if entry.get("args") != digest((args, kwargs)):
            raise TranscriptError(f"{label}: the transcript recorded another call here: this one on other inputs "
                                  "than the grader's")
        if forbidden and self.forbidden_scan is not None:
            found = self.forbidden_scan(fn_name, tuple(forbidden))
            if found:
                raise ForbiddenCall(found)
        failure = entry.get("failure")
        if failure is not None:
            if not isinstance(failure, dict):
                raise TranscriptError(f"{label}: malformed failure")
            kind = ForbiddenCall if failure.get("type") == "ForbiddenCall" else CheckFailure
            raise kind(str(failure.get("message", "")))
        if "result" not in entry:
            raise TranscriptError(f"{label}: no result recorded")
        changed = entry.get("changed") or {}
        for name, value in transcript.arrays_of(args, kwargs):
            if name in changed:  # the student's function changed this argument in place: so does the replay
                _overwrite(value, decode(changed[name]), label)
        return decode(entry["result"])

    def finished(self) -> bool:
        return self.position == len(self.calls)


def _overwrite(target: Any, new: Any, label: str) -> None:
    source = np.asarray(new.numpy() if is_tensor(new) else new)
    if tuple(source.shape) != tuple(target.shape):
        raise TranscriptError(f"{label}: an argument changed shape")
    if is_tensor(target):
        import torch

        target.copy_(torch.from_numpy(source.astype(np.asarray(target.detach().cpu().numpy()).dtype)))
    else:
        np.copyto(target, source, casting="unsafe")


def _copy_arg(value: Any) -> Any:
    # The student's function must not be able to change the inputs the reference sees.
    return value.copy() if isinstance(value, np.ndarray) else value


def check_function(
    fn: Callable,
    cases: Sequence[Case],
    reference: Callable,
    *,
    rtol: float,
    atol: float,
    name: str | None = None,
    check_dtype: bool = False,
    forbidden: Sequence[str] = (),
    scale_rtol: float = 0.0,
) -> None:
    """The student's result on every case (as the probe's ``probe_function`` recorded it) compared with
    ``reference`` on the same arguments: raises :class:`CheckFailure` naming the first case that fails.

    ``reference`` is the grader's implementation, computed on separate copies of the arguments.
    ``forbidden`` names library functions the student must not use (the grader's own scan of the source).
    ``scale_rtol`` adds an absolute tolerance of that fraction of max|expected| (see :func:`compare`).
    """
    __tracebackhide__ = True
    fn_name = name or getattr(fn, "__name__", "function")
    require_callable(fn, fn_name)
    for case in cases:
        expected = reference(*(_copy_arg(a) for a in case.args), **{k: _copy_arg(v) for k, v in case.kwargs.items()})
        label = case.describe(fn_name)
        got = call_student(fn, fn_name, label, *(_copy_arg(a) for a in case.args), forbidden=forbidden,
                           **{k: _copy_arg(v) for k, v in case.kwargs.items()})
        assert_close(got, expected, rtol=rtol, atol=atol, name=label, check_dtype=check_dtype, scale_rtol=scale_rtol)


def report_metric(name: str, value: float, *, threshold: float | None = None, higher_is_better: bool = True,
                  unit: str = "") -> None:
    """Print one figure a check measured, e.g. ``[metric] test_accuracy = 0.9712 (threshold >= 0.95)``.

    The grader shows these lines in the test cell of the feedback; ``autograder calibrate`` collects them
    across runs of the reference solution. ``name`` is an identifier (no spaces).
    """
    if not name.isidentifier():
        raise ValueError(f"metric names are identifiers, not {name!r}")
    bound = "" if threshold is None else f" (threshold {'>=' if higher_is_better else '<='} {threshold:g})"
    print(f"{METRIC_PREFIX} {name} = {float(value):.6g}{(' ' + unit) if unit else ''}{bound}")

"""What a hidden check saw the student's code return, so that the grader can reach the verdict itself.

A hidden test runs in the student's kernel, where the student's code can replace anything, the check
library included. So while grading (``AUTOGRADER_TRANSCRIPTS=1`` in the kernel's environment), a
check marked :func:`judged` keeps a transcript: each call of the student's code it made (through
:func:`autograder.checks.call_student` or :func:`observe`), with a digest of the arguments the check
chose and, as plain data, what came back or the error it raised. The transcript leaves the kernel as
a display output of type :data:`MIME`.

The grader (:mod:`autograder.judge`) then runs the same check in its own process with the recorded
results in place of the student's calls (:func:`replay`): the inputs, the expected values, the
comparisons and the verdict are all the grader's. Code in the kernel can change only the record,
and a record passes only if it holds the right outputs for the grader's inputs.

Only data crosses: numbers, strings, NumPy arrays and torch tensors, and lists, tuples and dicts of
them. Anything else is recorded by its type name, and a check that needs more than that from it
cannot be judged this way (it is then not marked :func:`judged`).
"""

from __future__ import annotations

import base64
import contextvars
import functools
import hashlib
import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

MIME = "application/vnd.autograder.transcript+json"
RECORD_ENV = "AUTOGRADER_TRANSCRIPTS"
VERSION = 1
MAX_BYTES = 32 * 2**20  # a bigger transcript is not judged (its check fails with a reason)

# Data the grader accepts back from a kernel: plain numeric kinds only, never object arrays (pickles).
_DTYPES = {"bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
           "float16", "float32", "float64", "complex64", "complex128"}

# key ("lab03.check_softmax") -> the undecorated check, for the grader's replay
REGISTRY: dict[str, Callable] = {}

_session: contextvars.ContextVar[Recording | Replay | None] = contextvars.ContextVar("transcript", default=None)


class TranscriptError(Exception):
    """A transcript that cannot be judged: missing, malformed, or not what the grader's check asked for."""


# ------------------------------------------------------------------ data in and out of the kernel


def _is_tensor(value: Any) -> bool:
    return type(value).__module__.startswith("torch") and hasattr(value, "detach") and hasattr(value, "cpu")


def _array(arr: np.ndarray, tag: str) -> dict:
    arr = np.ascontiguousarray(arr)
    return {tag: str(arr.dtype), "shape": list(arr.shape), "data": base64.b64encode(arr.tobytes()).decode("ascii")}


def encode(value: Any) -> Any:
    """``value`` as JSON-ready data; what is not data becomes ``{"__opaque__": type name}``."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, np.integer)) and not isinstance(value, np.bool_):
        return {"__int__": str(int(value))}  # exact, whatever its size
    if isinstance(value, (float, np.floating)):
        return {"__float__": float(value).hex()}  # exact, NaN and Inf included
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.ndarray) and str(value.dtype) in _DTYPES:
        return _array(value, "__ndarray__")
    if _is_tensor(value):
        arr = value.detach().cpu().numpy()
        if str(arr.dtype) in _DTYPES:
            return _array(arr, "__tensor__")
    if isinstance(value, (list, tuple)):
        return {"__tuple__" if isinstance(value, tuple) else "__list__": [encode(v) for v in value]}
    if isinstance(value, dict):
        return {"__dict__": [[encode(k), encode(v)] for k, v in value.items()]}
    return {"__opaque__": type(value).__name__}


class Opaque:
    """Stands in, in the grader, for an object the kernel could not send as data."""

    def __init__(self, type_name: str):
        self.type_name = type_name

    def __repr__(self) -> str:
        return f"<{self.type_name} object>"


def _decode_array(obj: dict, tag: str) -> Any:
    dtype, shape = obj[tag], obj["shape"]
    if dtype not in _DTYPES or not isinstance(shape, list) or not all(isinstance(n, int) and n >= 0 for n in shape):
        raise TranscriptError(f"not an array of numbers: {dtype} {shape}")
    raw = base64.b64decode(obj["data"], validate=True)
    if len(raw) != int(np.prod(shape, dtype=np.int64)) * np.dtype(dtype).itemsize:
        raise TranscriptError(f"array data does not match its shape {shape}")
    arr = np.frombuffer(raw, dtype=dtype).reshape(shape).copy()
    if tag == "__tensor__":
        try:
            import torch
        except ImportError:
            return arr
        return torch.from_numpy(arr)
    return arr


def decode(obj: Any) -> Any:
    """The inverse of :func:`encode`, accepting nothing but data (TranscriptError otherwise)."""
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if not isinstance(obj, dict) or len(obj) not in (1, 3):
        raise TranscriptError(f"not transcript data: {type(obj).__name__}")
    try:
        if "__int__" in obj:
            return int(obj["__int__"])
        if "__float__" in obj:
            return float.fromhex(obj["__float__"])
        if "__ndarray__" in obj:
            return _decode_array(obj, "__ndarray__")
        if "__tensor__" in obj:
            return _decode_array(obj, "__tensor__")
        if "__tuple__" in obj:
            return tuple(decode(v) for v in obj["__tuple__"])
        if "__list__" in obj:
            return [decode(v) for v in obj["__list__"]]
        if "__dict__" in obj:
            return {decode(k): decode(v) for k, v in obj["__dict__"]}
        if "__opaque__" in obj:
            return Opaque(str(obj["__opaque__"]))
    except TranscriptError:
        raise
    except (TypeError, ValueError, KeyError) as exc:
        raise TranscriptError(f"malformed transcript data: {exc}") from None
    raise TranscriptError(f"unknown transcript data: {sorted(obj)}")


def digest(value: Any) -> str:
    """A short fingerprint of an argument: its data where it has some, else its type's name."""
    h = hashlib.sha256()

    def feed(v: Any) -> None:
        if isinstance(v, np.ndarray) or _is_tensor(v):
            arr = np.ascontiguousarray(v.detach().cpu().numpy() if _is_tensor(v) else v)
            if arr.dtype != object:
                h.update(f"a{arr.dtype}{arr.shape}".encode())
                h.update(arr.tobytes())
                return
        if isinstance(v, (list, tuple)):
            h.update(f"l{len(v)}".encode())
            for item in v:
                feed(item)
        elif isinstance(v, dict):
            h.update(f"d{len(v)}".encode())
            for key, item in v.items():
                feed(key)
                feed(item)
        elif v is None or isinstance(v, (bool, int, float, str, np.generic)):
            h.update(repr(v).encode())
        else:
            h.update(f"<{type(v).__qualname__}>".encode())

    feed(value)
    return h.hexdigest()[:16]


def _arrays_of(args: tuple, kwargs: dict) -> Iterator[tuple[str, Any]]:
    """The array arguments a student function might change in place, by position or name."""
    for i, value in enumerate(args):
        if isinstance(value, np.ndarray) or _is_tensor(value):
            yield str(i), value
    for key, value in kwargs.items():
        if isinstance(value, np.ndarray) or _is_tensor(value):
            yield key, value


# ------------------------------------------------------------------ the kernel's side


class Recording:
    """The transcript of one judged check, as it runs in the kernel."""

    def __init__(self, key: str, args: tuple, kwargs: dict):
        self.key = key
        self.args = [_check_argument(a) for a in args]
        self.kwargs = {k: _check_argument(v) for k, v in kwargs.items()}
        self.calls: list[dict] = []

    def call(self, label: str, args: tuple, kwargs: dict, run: Callable[[], Any]) -> Any:
        from autograder.checks import CheckFailure

        entry: dict[str, Any] = {"label": label, "args": digest((args, kwargs))}
        before = {name: digest(value) for name, value in _arrays_of(args, kwargs)}
        try:
            result = run()
        except CheckFailure as exc:
            entry["failure"] = {"type": type(exc).__name__, "message": str(exc)}
            self.calls.append(entry)
            raise
        entry["result"] = encode(result)
        changed = {name: encode(value) for name, value in _arrays_of(args, kwargs) if digest(value) != before[name]}
        if changed:
            entry["changed"] = changed
        self.calls.append(entry)
        return result

    def payload(self) -> dict:
        return {"version": VERSION, "check": self.key, "args": self.args, "kwargs": self.kwargs, "calls": self.calls}

    def emit(self) -> None:
        """Display the transcript in the running cell's outputs (nothing outside IPython)."""
        try:
            from IPython import get_ipython
            from IPython.display import display
        except ImportError:
            return
        if get_ipython() is None:
            return
        text = json.dumps(self.payload())
        if len(text) > MAX_BYTES:
            text = json.dumps({"version": VERSION, "check": self.key, "too_large": len(text)})
        display({MIME: json.loads(text)}, raw=True)


# A check's array argument bigger than this (a training set) stays in the kernel: the check observes
# what it needs of it, so the transcript stays small.
ARGUMENT_MAX_BYTES = 2**20


def _check_argument(value: Any) -> Any:
    """A check's own argument in the transcript: small data as data; functions, models and big arrays by name.

    What is named only stands in the grader as :class:`StudentCode`: the check reaches it only through
    :func:`student_call` or :func:`observe`.
    """
    if isinstance(value, np.ndarray) or _is_tensor(value):
        if value.nbytes > ARGUMENT_MAX_BYTES:
            return {"__student__": f"{type(value).__name__} {tuple(value.shape)}"}
        return encode(value)
    if callable(value):
        return {"__student__": getattr(value, "__name__", type(value).__name__)}
    return encode(value)


def recording_enabled() -> bool:
    return os.environ.get(RECORD_ENV) == "1"


def judged(check: Callable) -> Callable:
    """Mark a hidden check whose verdict the grader reaches by replaying its transcript.

    The check must reach the student's code only through :func:`autograder.checks.call_student`
    or :func:`observe`, and take only the student's functions and data as arguments.
    """
    key = f"{check.__module__.rpartition('.')[2]}.{check.__name__}"
    REGISTRY[key] = check

    @functools.wraps(check)
    def run(*args: Any, **kwargs: Any) -> Any:
        if _session.get() is not None or not recording_enabled():  # nested in another check, or not grading
            return check(*args, **kwargs)
        recording = Recording(key, args, kwargs)
        token = _session.set(recording)
        try:
            return check(*args, **kwargs)
        finally:
            _session.reset(token)
            recording.emit()

    return run


def student_call(label: str, args: tuple, kwargs: dict, run: Callable[[], Any], *, fn_name: str = "",
                 forbidden: tuple[str, ...] = ()) -> Any:
    """``run()`` (which calls the student's code on ``args``) as the current transcript has it."""
    session = _session.get()
    if isinstance(session, Replay):
        return session.call(label, args, kwargs, fn_name=fn_name, forbidden=forbidden)
    if isinstance(session, Recording):
        return session.call(label, args, kwargs, run)
    return run()


def observe(label: str, run: Callable[[], Any], *inputs: Any) -> Any:
    """``run()``: what a check computes from the student's objects (a model's outputs, a layer list), as data.

    In the kernel ``run`` is called and its result recorded; in the grader's replay the recorded result
    comes back and ``run`` is not called, so it must hold every use of the student's objects, and return
    only data (see :func:`encode`). ``inputs`` are the grader's data that ``run`` works on (e.g. salted
    random images): they go into the call's digest, so a transcript recorded on other inputs does not match.
    """
    return student_call(label, inputs, {}, run)


# ------------------------------------------------------------------ the grader's side


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
    """

    def __init__(self, payload: dict, forbidden_scan: Callable[[str, tuple[str, ...]], str | None] | None = None):
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
        args, kwargs = payload.get("args", []), payload.get("kwargs", {})
        if not isinstance(args, list) or not isinstance(kwargs, dict):
            raise TranscriptError("the transcript's arguments are malformed")
        self.args = tuple(_decode_argument(a) for a in args)
        self.kwargs = {str(k): _decode_argument(v) for k, v in kwargs.items()}

    def call(self, label: str, args: tuple, kwargs: dict, *, fn_name: str = "", forbidden: tuple[str, ...] = ()) -> Any:
        from autograder.checks import CheckFailure, ForbiddenCall

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
        for name, value in _arrays_of(args, kwargs):
            if name in changed:  # the student's function changed this argument in place: so does the replay
                _overwrite(value, decode(changed[name]), label)
        return decode(entry["result"])

    def finished(self) -> bool:
        return self.position == len(self.calls)


def _overwrite(target: Any, new: Any, label: str) -> None:
    source = np.asarray(new.numpy() if _is_tensor(new) else new)
    if tuple(source.shape) != tuple(target.shape):
        raise TranscriptError(f"{label}: an argument changed shape")
    if _is_tensor(target):
        import torch

        target.copy_(torch.from_numpy(source.astype(np.asarray(target.detach().cpu().numpy()).dtype)))
    else:
        np.copyto(target, source, casting="unsafe")


@contextmanager
def replaying(replay: Replay) -> Iterator[Replay]:
    """Within the block, :func:`student_call` and :func:`observe` answer from ``replay``."""
    token = _session.set(replay)
    try:
        yield replay
    finally:
        _session.reset(token)

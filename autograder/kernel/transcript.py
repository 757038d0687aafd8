"""The record a probe keeps of the student's code, so that the grader can reach the verdict itself.

A hidden test runs in the student's kernel, where the student's code can replace anything, this
package included. So the kernel does not judge: while grading (``AUTOGRADER_TRANSCRIPTS=1`` in the
kernel's environment), a probe (:func:`probe`) keeps a transcript of each call of the student's code
it made (through :func:`autograder.kernel.student.call_student` or :func:`observe`): a digest of the
arguments the probe chose and, as plain data, what came back or the error it raised. The transcript
leaves the kernel as a display output of type :data:`MIME`.

The grader (``autograder.labs`` and ``autograder.score.judge``) runs the lab's check of the same name
in its own process, with the recorded results in place of the student's calls: the inputs, the
expected values, the comparisons and the verdict are all the grader's. Code in the kernel can change
only the record, and a record passes only if it holds the right outputs for the grader's inputs.

Only data crosses: numbers, strings, NumPy arrays and torch tensors, and lists, tuples and dicts of
them. Anything else is recorded by its type name.
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
from typing import Any, Protocol

import numpy as np

from autograder.kernel.compare import CheckFailure

MIME = "application/vnd.autograder.transcript+json"
RECORD_ENV = "AUTOGRADER_TRANSCRIPTS"
VERSION = 1
MAX_BYTES = 32 * 2**20  # a bigger transcript is not judged (its check fails with a reason)

# Data the grader accepts back from a kernel: plain numeric kinds only, never object arrays (pickles).
DATA_DTYPES = frozenset({"bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
                         "float16", "float32", "float64", "complex64", "complex128"})

# key ("lab03.check_softmax") -> the probe
PROBES: dict[str, Callable] = {}


class Session(Protocol):
    """Who answers the student calls of a probe or a check: a :class:`Recording` in the kernel, the grader's
    replay of a transcript in the grader (``autograder.labs.judged.Replay``)."""

    def call(self, label: str, args: tuple, kwargs: dict, run: Callable[[], Any], *, fn_name: str,
             forbidden: tuple[str, ...]) -> Any: ...


_session: contextvars.ContextVar[Session | None] = contextvars.ContextVar("transcript", default=None)


class TranscriptError(Exception):
    """A transcript that cannot be judged: missing, malformed, or not what the grader's check asked for."""


# ------------------------------------------------------------------ data in and out of the kernel


def is_tensor(value: Any) -> bool:
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
    if isinstance(value, np.ndarray) and str(value.dtype) in DATA_DTYPES:
        return _array(value, "__ndarray__")
    if is_tensor(value):
        arr = value.detach().cpu().numpy()
        if str(arr.dtype) in DATA_DTYPES:
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
    if dtype not in DATA_DTYPES or not isinstance(shape, list) or not all(isinstance(n, int) and n >= 0 for n in shape):
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
        if isinstance(v, np.ndarray) or is_tensor(v):
            arr = np.ascontiguousarray(v.detach().cpu().numpy() if is_tensor(v) else v)
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


def arrays_of(args: tuple, kwargs: dict) -> Iterator[tuple[str, Any]]:
    """The array arguments a student function might change in place, by position or name."""
    for i, value in enumerate(args):
        if isinstance(value, np.ndarray) or is_tensor(value):
            yield str(i), value
    for key, value in kwargs.items():
        if isinstance(value, np.ndarray) or is_tensor(value):
            yield key, value


# ------------------------------------------------------------------ the kernel's side


class Recording:
    """The transcript of one probe, as it runs in the kernel."""

    def __init__(self, key: str, args: tuple, kwargs: dict):
        self.key = key
        self.args = [_check_argument(a) for a in args]
        self.kwargs = {k: _check_argument(v) for k, v in kwargs.items()}
        self.calls: list[dict] = []

    def call(self, label: str, args: tuple, kwargs: dict, run: Callable[[], Any], *, fn_name: str = "",
             forbidden: tuple[str, ...] = ()) -> Any:
        entry: dict[str, Any] = {"label": label, "args": digest((args, kwargs))}
        before = {name: digest(value) for name, value in arrays_of(args, kwargs)}
        try:
            result = run()
        except CheckFailure as exc:
            entry["failure"] = {"type": type(exc).__name__, "message": str(exc)}
            self.calls.append(entry)
            raise
        entry["result"] = encode(result)
        changed = {name: encode(value) for name, value in arrays_of(args, kwargs) if digest(value) != before[name]}
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

    What is named only stands in the grader as a placeholder that cannot be called: the grader's check
    reaches it only through :func:`student_call` or :func:`observe`.
    """
    if isinstance(value, np.ndarray) or is_tensor(value):
        if value.nbytes > ARGUMENT_MAX_BYTES:
            return {"__student__": f"{type(value).__name__} {tuple(value.shape)}"}
        return encode(value)
    if callable(value):
        return {"__student__": getattr(value, "__name__", type(value).__name__)}
    return encode(value)


def recording_enabled() -> bool:
    return os.environ.get(RECORD_ENV) == "1"


def probe(fn: Callable) -> Callable:
    """Mark a hidden test's probe: while grading, what it sees of the student's code is recorded.

    The probe reaches the student's code only through :func:`autograder.kernel.student.call_student`
    or :func:`observe`, and takes only the student's functions and data as arguments. Its key, e.g.
    ``"lab03.check_softmax"``, names the grader's check that judges the transcript.
    """
    key = f"{fn.__module__.rpartition('.')[2]}.{fn.__name__}"

    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Any:
        if _session.get() is not None or not recording_enabled():  # nested in another probe, or not grading
            return fn(*args, **kwargs)
        recording = Recording(key, args, kwargs)
        token = _session.set(recording)
        try:
            return fn(*args, **kwargs)
        finally:
            _session.reset(token)
            recording.emit()

    run.key = key  # type: ignore[attr-defined]
    PROBES[key] = run
    return run


def record(fn: Callable, args: tuple, kwargs: dict) -> tuple[dict, BaseException | None]:
    """Run the probe ``fn`` here with recording on, whatever the environment says: its transcript (as it
    would leave a kernel, through JSON) and what it raised (None if nothing)."""
    key = getattr(fn, "key", None) or f"{fn.__module__.rpartition('.')[2]}.{fn.__name__}"
    recording = Recording(key, args, kwargs)
    token = _session.set(recording)
    raised = None
    try:
        PROBES.get(key, fn)(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001 - the probe's outcome, whatever it is, is the caller's to judge
        raised = exc
    finally:
        _session.reset(token)
    return json.loads(json.dumps(recording.payload())), raised


def current() -> Session | None:
    """The session answering student calls here, if any."""
    return _session.get()


@contextmanager
def using(session: Session) -> Iterator[Session]:
    """Within the block, :func:`student_call` and :func:`observe` are answered by ``session``."""
    token = _session.set(session)
    try:
        yield session
    finally:
        _session.reset(token)


def student_call(label: str, args: tuple, kwargs: dict, run: Callable[[], Any], *, fn_name: str = "",
                 forbidden: tuple[str, ...] = ()) -> Any:
    """``run()`` (which calls the student's code on ``args``) as the current transcript has it."""
    session = _session.get()
    if session is None:
        return run()
    return session.call(label, args, kwargs, run, fn_name=fn_name, forbidden=forbidden)


def observe(label: str, run: Callable[[], Any], *inputs: Any) -> Any:
    """``run()``: what a probe computes from the student's objects (a model's outputs, a layer list), as data.

    In the kernel ``run`` is called and its result recorded; in the grader's replay the recorded result
    comes back and ``run`` is not called, so it must hold every use of the student's objects, and return
    only data (see :func:`encode`). ``inputs`` are the grader's data that ``run`` works on (e.g. salted
    random images): they go into the call's digest, so a transcript recorded on other inputs does not match.
    """
    return student_call(label, inputs, {}, run)

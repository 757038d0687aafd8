"""Seeing a forbidden function run, however the student's code got hold of it.

The name guards of :func:`autograder.kernel.student.forbidden_calls` (a forbidden object among the function's
globals, a tripwire on the module attribute) see a function only under the name it is looked up by. Code can
hold one under no name at all: a ``functools.partial`` or a closure made when the cell ran, a default argument,
a class attribute, ``getattr`` on a module fetched from ``sys.modules``, ``__import__`` or ``eval`` of a built
string. None of these changes what runs: the function's code object, or torch's dispatch of its builtins. So,
while the student's function runs,

- a profile hook (:func:`sys.setprofile`; :func:`threading.setprofile` for the threads it starts) notes each
  frame that runs the code of a forbidden Python function (or of a forbidden class's own methods), and each
  direct call of a forbidden builtin;
- when a forbidden function is torch's, a :class:`torch.overrides.TorchFunctionMode` notes each call of it,
  through whatever object it was reached (a ``partial`` calls a builtin from C, where no profile hook sees it).

What it does not see (docs/security.md): calls made by threads that were running before the watch began, and
code that switches the watch off, which :attr:`Watch.intact` reports.
"""

from __future__ import annotations

import functools
import inspect
import sys
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Watch:
    """What the block did: the dotted names of the forbidden functions that ran, in order, and whether the
    watch was still in place at its end."""

    seen: list[str] = field(default_factory=list)
    intact: bool = True

    def note(self, name: str) -> None:
        if name not in self.seen:
            self.seen.append(name)


def _functions_of(obj: Any) -> list[Any]:
    """The objects whose running means ``obj`` ran: itself, what it wraps, and a class's own methods."""
    found = []
    stack = [obj]
    while stack:
        o = stack.pop()
        if any(o is f for f in found):
            continue
        found.append(o)
        if isinstance(o, functools.partial):
            stack.append(o.func)
        if isinstance(o, type):
            stack.extend(v.__func__ if isinstance(v, (classmethod, staticmethod)) else v
                         for v in vars(o).values() if callable(v) or isinstance(v, (classmethod, staticmethod)))
        else:
            try:
                stack.append(inspect.unwrap(o))
            except ValueError:  # a __wrapped__ cycle
                pass
            if inspect.ismethod(o):
                stack.append(o.__func__)
    return found


def _is_torch(obj: Any) -> bool:
    module = getattr(obj, "__module__", None) or type(obj).__module__ or ""
    return module == "torch" or module.startswith("torch.")


@contextmanager
def watch_calls(forbidden: Mapping[str, Any]) -> Iterator[Watch]:
    """Note, in the :class:`Watch` yielded, every one of ``forbidden`` (dotted name -> the object) that runs in
    the block, whatever name or object it was called through. Nothing is stopped here: the caller decides."""
    watch = Watch()
    codes: dict[int, str] = {}  # id(code object) -> dotted name
    builtins: dict[int, str] = {}  # id(builtin function) -> dotted name
    keep = []  # the objects whose ids are keys above stay alive while they are
    for name, obj in forbidden.items():
        for f in _functions_of(obj):
            keep.append(f)
            code = getattr(f, "__code__", None)
            # A decorator's wrapper shares its code with every function it decorates (sklearn's validate_params,
            # _fit_context): only the wrapped function's own code, which runs too, names this one.
            if code is not None and hasattr(f, "__wrapped__"):
                continue
            if code is not None:
                codes.setdefault(id(code), name)
                keep.append(code)
            elif callable(f) and not isinstance(f, type):
                builtins.setdefault(id(f), name)

    def hook(frame, event, arg):
        if event == "call":
            name = codes.get(id(frame.f_code))
            if name is not None:
                watch.note(name)
        elif event == "c_call":
            name = builtins.get(id(arg))
            if name is not None:
                watch.note(name)

    torch_builtins = {id(f): builtins[id(f)] for f in keep if id(f) in builtins and _is_torch(f)}
    mode = _torch_mode(torch_builtins, watch) if torch_builtins and "torch" in sys.modules else None
    previous_profile, previous_thread_profile = sys.getprofile(), threading.getprofile()
    sys.setprofile(hook)
    threading.setprofile(hook)
    try:
        if mode is None:
            yield watch
        else:
            with mode:
                yield watch
    finally:
        watch.intact = sys.getprofile() is hook and threading.getprofile() is hook
        sys.setprofile(previous_profile)
        threading.setprofile(previous_thread_profile)


def _torch_mode(builtins: dict[int, str], watch: Watch):
    """A TorchFunctionMode that notes each call of the torch builtins in ``builtins`` (id -> dotted name)."""
    from torch.overrides import TorchFunctionMode

    class NoteForbidden(TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            name = builtins.get(id(func))
            if name is not None:
                watch.note(name)
            return func(*args, **(kwargs or {}))

    return NoteForbidden()

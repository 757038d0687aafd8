"""A check run over many case salts: the tolerance sweeps of each lab's checks use it.

A check draws its test inputs from the salt (``AUTOGRADER_CASE_SALT``), so one honest variant or one realistic
mistake is judged on every one of ``SALTS`` input sets, not on the few the course's tests happen to use."""

from __future__ import annotations

import warnings
from collections.abc import Callable

from autograder.kernel.compare import CheckFailure
from autograder.kernel.student import CASE_SALT_ENV

SALTS = [f"sweep-salt-{i}" for i in range(200)]


def verdicts(check: Callable, fn, monkeypatch) -> list[str | None]:
    """``check(fn)`` on each of ``SALTS``: its failure message, prefixed by the salt, or None where it passes."""
    out = []
    for salt in SALTS:
        monkeypatch.setenv(CASE_SALT_ENV, salt)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # overflow in a mistake's exp is part of the mistake
                check(fn)
            out.append(None)
        except CheckFailure as exc:
            out.append(f"{salt}: {exc}")
    return out


def assert_passes_on_every_salt(check: Callable, fn, what: str, monkeypatch) -> None:
    """An honest variant: ``check(fn)`` passes on every one of ``SALTS``."""
    failures = [v for v in verdicts(check, fn, monkeypatch) if v]
    assert not failures, f"{what}: {len(failures)} / {len(SALTS)} salts fail; first:\n{failures[0]}"


def assert_fails_on_every_salt(check: Callable, fn, what: str, monkeypatch) -> None:
    """A realistic mistake: ``check(fn)`` fails on every one of ``SALTS``."""
    passes = [salt for salt, v in zip(SALTS, verdicts(check, fn, monkeypatch), strict=True) if v is None]
    assert not passes, f"{what}: passes on {len(passes)} / {len(SALTS)} salts, e.g. {passes[:3]}"

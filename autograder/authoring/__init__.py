"""Authoring: the instructor's side of a lab.

:mod:`.release` (``source/`` -> ``release/`` and ``solutions/``), :mod:`.sync` (are they up to date?),
:mod:`.calibrate` (grade the answer key k times: how far it sits from each threshold).
"""

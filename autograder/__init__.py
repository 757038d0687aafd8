"""Autograder for the deep-learning lab course: checks for test cells, and the
``autograder`` command (release, grade, check-sync) built on nbgrader."""

__version__ = "0.1.0"

"""The hidden tests' probes, one module per lab: ``from autograder.kernel.probes import lab03``.

A hidden test cell calls ``lab03.check_conv2d(conv2d)``. In the student's kernel that is the probe:
it draws the check's inputs (:func:`autograder.kernel.student.case_rng`), calls the student's code on
them, and records what came back (:mod:`autograder.kernel.transcript`). The grader then runs its check
of the same name (``autograder.labs.lab03.checks.check_conv2d``) on that record. Probes hold inputs and
calls only: no reference answer, no threshold, no verdict.
"""

"""What the student's kernel imports: the in-kernel half of the check library. Nothing here knows an answer.

- :mod:`~autograder.kernel.compare`: :func:`assert_close`, which the released notebooks' visible tests
  call (with messages in Japanese and English), and the comparison the grader reuses;
- :mod:`~autograder.kernel.student`: calling the student's code on the grader's inputs;
- :mod:`~autograder.kernel.transcript`: the record of those calls that leaves the kernel;
- :mod:`~autograder.kernel.probes`: one module per lab, the hidden tests' probes, which draw the
  inputs (salted while grading) and record what the student's code does with them;
- :mod:`~autograder.kernel.clock`: the CPU clock and timer, kept from before the student's first cell;
- ``data/``: files a lab's notebook reads (the airline passengers series).

The grader's side (reference answers, thresholds, verdicts) is ``autograder.labs``; the grading
sandbox shows the kernel this package and ``autograder.datasets`` only, never the rest.
"""

from autograder.kernel import clock  # noqa: F401  (first: the clocks as they are before any answer cell runs)
from autograder.kernel.compare import CheckFailure, Comparison, assert_close, compare, describe_array, rel_error

__all__ = ["CheckFailure", "Comparison", "assert_close", "compare", "describe_array", "rel_error"]

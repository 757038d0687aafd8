"""Run: student notebooks executed in isolation, within limits, on this machine's slots.

In: sanitized notebooks to execute (one :class:`~autograder.run.worker.Job` each).
Out: executed notebooks (every cell's outputs, the probes' transcripts among them) and how each run ended
(:class:`~autograder.run.execution.ExecutionOutcome`: completed, timed out, over its memory, ...).

:mod:`.sandbox` (bubblewrap; :mod:`.sandbox_users`, a user of its own per sandbox), :mod:`.execution` (one notebook in a warm kernel), :mod:`.worker` (a process that
keeps a kernel warm), :mod:`.scheduler` (slots, CPU or GPU, and the tasks they take).
"""

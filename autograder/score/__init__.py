"""Score: executed notebooks in, grades in nbgrader's gradebook out.

nbgrader sanitizes each submission against the gradebook before it runs and scores it after
(:mod:`.nbgrader_autograde`), with our preprocessors in its pipeline (:mod:`.preprocessors`): the executed
outputs replayed, and each hidden test's verdict reached outside the kernel by the lab's checks
(:mod:`.judge`, ``autograder.labs``). :mod:`.gradebook` reads and writes nbgrader's gradebook, :mod:`.ledger`
records who is graded (resuming a killed batch), :mod:`.results` and :mod:`.cell_errors` are what the
reports read back.
"""

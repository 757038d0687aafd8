"""Bound by the sandbox over each package a lab is graded without (:attr:`autograder.run.sandbox.Sandbox.without`),
so that the package's own files are not there at all, and importing it says why. Never imported by the grader."""

raise ImportError(
    f"{__name__}: この課題は {__name__} のない環境で採点されます。課題の指示どおり NumPy で実装してください / "
    f"this lab is graded without {__name__}: implement it with NumPy, as the exercise asks"
)

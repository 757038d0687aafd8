"""Report: what grading produced, written for the people who read it.

In: the results the score stage read from the gradebook (:class:`autograder.score.results.NotebookResult`).
Out: the grade table on screen (:mod:`.table`), grades.csv and nbgrader's CSV (:mod:`.grades_csv`), per-student
feedback HTML (:mod:`.feedback`), Moodle's grading worksheet (:mod:`.moodle`), Gradescope's results.json
(:mod:`.gradescope`) and the summary figure (:mod:`.summary_plot`).
"""


def points(x: float) -> str:
    """A score as the table, grades.csv and the feedback print it (6 significant digits)."""
    return f"{x:g}"


def exported_points(x: float) -> str:
    """A score as other systems import it: rounded first, so that float sums print as 7.3, not 7.300000000000001."""
    return f"{round(x, 2):g}"


def one_line(text: str) -> str:
    """``text`` with every run of whitespace, newlines included, as one space."""
    return " ".join(text.split())

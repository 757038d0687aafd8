# nbgrader configuration of the deep-learning lab course.
# `autograder` reads this file too (see autograder/course.py); nbgrader's own CLI works from this folder.
c = get_config()  # noqa: F821 (provided by traitlets when the file is loaded)

c.CourseDirectory.course_id = "dl-labs"

# Student copies: what replaces solutions (students read Japanese; code stays English-friendly).
c.ClearSolutions.code_stub = {
    "python": "# YOUR CODE HERE / ここにコードを書いてください\nraise NotImplementedError()",
}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE / ここに解答を書いてください"

# Per-cell time limit (seconds) for autograde and for executing solutions/. nbgrader's default of
# 30 s is too short for the training labs; a cell past the limit is interrupted, recorded as a
# CellTimeoutError in its output, and grading goes on with the next cell.
c.Execute.timeout = 600
c.Execute.interrupt_on_timeout = True

# nbgrader zeroes a test cell that wrote anything to stderr. Warnings (numpy, torch, Keras progress
# bars) are not failures: a failing check raises, which is an error output, not stderr. So every
# stderr stream is dropped from graded notebooks before scores are computed.
c.IgnorePattern.enabled = True
c.IgnorePattern.pattern = r"[\s\S]"

# Kernels keep no history file, and keep their own log (e.g. ipykernel's TCP notice) off the console.
c.Execute.extra_arguments = ["--HistoryManager.hist_file=:memory:", "--IPKernelApp.log_level=ERROR"]

# Late work: `autograder collect --due` records the due date and each submission's time; this decides
# the penalty ("none": lateness is only reported; "zero": a late notebook scores 0).
c.LateSubmissionPlugin.penalty_method = "none"

# One grade per student per lab. A lab's notebooks NN_n (normal) and NN_h (hard) are alternatives: the
# student sends one. The lab's grade is the counted notebook's share of its points times `points` of its
# difficulty (the suffix of its name), on a scale of `maximum`, which must be the Moodle assignment's
# "Maximum grade" (Moodle's default, 100). Both difficulties give up to 100 by default: the lecture lets
# the student choose, so neither choice costs or earns points. To reward the hard notebook, lower the
# normal one's points, e.g. {"n": 90, "h": 100}; no value may pass `maximum` (Moodle would skip the grade).
# `choose`: which counts when a student sent both: "higher" (the higher grade), "hard" or "normal".
c.LabGrade.maximum = 100
c.LabGrade.points = {"n": 100, "h": 100}
c.LabGrade.choose = "higher"

# Feedback shows each test's message but not the hidden tests' source (nbgrader issues #917, #1363):
# neither in the cells nor in the tracebacks, which also leave out the check library's frames.
from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor  # noqa: E402
from nbgrader.preprocessors import ClearHiddenTests, GetGrades  # noqa: E402

from autograder.report.feedback import TrimTestTracebacks  # noqa: E402

# Feedback pages students can read offline: the mathematics is written as MathML when the page is made (no
# MathJax from a CDN), markdown tables are tables, and the table of contents names each question's tests.
# nbgrader's generate_feedback sets HTMLExporter.template_name to its "feedback" template and
# HTMLExporter.extra_template_basedirs to its own folder; a subclass's section of the config is applied after
# HTMLExporter's, so ours (autograder_feedback, which extends nbgrader's) and its folders are the ones used.
from autograder.report.feedback_html import TEMPLATE_NAME, FeedbackExporter, QuestionTitles, template_basedirs  # noqa: E402

c.GenerateFeedback.exporter_class = FeedbackExporter
c.FeedbackExporter.template_name = TEMPLATE_NAME
c.FeedbackExporter.extra_template_basedirs = template_basedirs()
c.GenerateFeedback.preprocessors = [GetGrades, QuestionTitles, TrimTestTracebacks, ClearHiddenTests,
                                    CSSHTMLHeaderPreprocessor]

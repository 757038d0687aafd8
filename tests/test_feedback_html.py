"""What students read in their feedback pages: mathematics rendered when the page is written (MathML, no
MathJax or any other script or stylesheet from the network), markdown tables as tables, and a table of contents
that names each question's tests.

Two levels: the exporter on lab 03's notebook (fast), and the real path on a graded lab 03 student
(`grade`, then `report` after a table is added to the autograded notebook), which goes through nbgrader's
generate_feedback with nbgrader_config.py as a course has it.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from autograder.report.feedback_html import (
    FeedbackExporter,
    QuestionTitles,
    latex_output_to_html,
    tex_to_mathml,
)

from conftest import REPO, graded_lab03_class, run_autograder

STUDENT = "ref-solution"
TABLE = "| 層 Layer | 出力 Output |\n|---|---|\n| conv | (N, F, OH, OW) |\n| pool | (N, F, OH/2, OW/2) |\n"
# Loading a script or stylesheet from anywhere but the page itself (a CDN: MathJax, require.js, fonts).
REMOTE_ASSET = re.compile(r"<(?:script|link|img)\b[^>]*\b(?:src|href)\s*=\s*[\"']?(?:https?:)?//", re.I)
RAW_INLINE_MATH = re.compile(r"(?<![\w$\\])\$[^$<>\n]{1,80}\$(?![\w$])")


def _lab03_notebook():
    """Lab 03's normal notebook as graded: every graded cell with a score, and a markdown table added."""
    nb = nbformat.read(REPO / "source" / "lab03" / "03_n.ipynb", as_version=4)
    nb.cells.insert(1, nbformat.v4.new_markdown_cell(TABLE))
    for cell in nb.cells:
        grading = cell.metadata.get("nbgrader", {})
        if grading.get("grade"):
            grading["score"] = grading.get("points", 0)
    return nb


@pytest.fixture(scope="module")
def exported() -> str:
    exporter = FeedbackExporter()
    exporter.register_preprocessor(QuestionTitles, enabled=True)
    html, _ = exporter.from_notebook_node(
        _lab03_notebook(), resources={"nbgrader": {"notebook": "03_n", "score": 17, "max_score": 17,
                                                   "late_penalty": 0}})
    return html


def _assert_offline_and_rendered(html: str) -> None:
    """No remote script/stylesheet, no MathJax, math as MathML, no $...$ left in the text."""
    assert not REMOTE_ASSET.findall(html), REMOTE_ASSET.findall(html)
    assert not re.search(r"mathjax[@./]|MathJax\s*=|MathJax\.Hub", html, re.I)  # no MathJax loaded or configured
    assert html.count("<math") >= 20
    # The softmax formula of question 5 ($$y_k = \frac{\exp(a_k)}{...}$$) as a fraction in MathML.
    assert re.search(r"<math[^>]*display=\"block\"[^>]*><mrow><msub><mi>y</mi><mi>k</mi></msub><mo>=</mo><mfrac><mrow><mi>exp</mi>", html)
    text = re.sub(r"<(pre|code|script|style)\b.*?</\1>", "", html, flags=re.S)
    assert not RAW_INLINE_MATH.findall(text), RAW_INLINE_MATH.findall(text)[:5]


def test_exporter_renders_math_offline(exported):
    _assert_offline_and_rendered(exported)


def test_markdown_table_is_a_table(exported):
    tables = re.findall(r"<table>.*?</table>", exported, re.S)
    ours = [table for table in tables if "<th>層 Layer</th>" in table]
    assert ours, "the markdown table was not rendered as <table>"
    assert "<td>(N, F, OH/2, OW/2)</td>" in ours[0] and "| conv |" not in exported


def test_toc_names_each_test_by_its_question(exported):
    toc = re.search(r'<div id="toc">(.*?)</div>', exported, re.S).group(1)
    assert "Test cell" not in toc
    entries = re.findall(r'<li><a href="#(test_\w+)">(.*?)</a>', toc, re.S)
    assert [grade_id for grade_id, _ in entries] == [
        "test_conv2d_single", "test_conv_output_size", "test_conv2d", "test_max_pool2d", "test_avg_pool2d",
        "test_softmax", "test_one_hot", "test_cross_entropy"]
    labels = dict(entries)
    assert labels["test_conv_output_size"].startswith("2. 出力の大きさ: パディングとストライド")
    assert labels["test_softmax"].startswith("5. Softmax 関数")
    assert all(f"<code>{grade_id}</code>" in label for grade_id, label in labels.items())
    # The hand-graded written answer is named by its question too.
    assert re.search(r'href="#pooling_question">8\. 考察 \(手で採点します\) — 記述の解答 Written response', toc)


def test_question_titles_use_the_question_heading_not_its_parts():
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("x = 1", metadata={"nbgrader": {"grade": True, "grade_id": "t0"}}),
        nbformat.v4.new_markdown_cell("# Lab\n## 1. **First** question\n### part (a)"),
        nbformat.v4.new_code_cell("x = 1", metadata={"nbgrader": {"grade": True, "grade_id": "t1"}}),
        nbformat.v4.new_markdown_cell("### part (b)"),
        nbformat.v4.new_code_cell("x = 1", metadata={"nbgrader": {"grade": True, "grade_id": "t2"}}),
        nbformat.v4.new_code_cell("x = 1", metadata={"nbgrader": {"grade": False, "grade_id": "ungraded"}}),
    ])
    _, resources = QuestionTitles().preprocess(nb, {})
    assert resources["question_titles"] == {"t0": "", "t1": "1. First question", "t2": "1. First question"}


def test_tex_the_converter_cannot_read_stays_visible():
    assert "<math" in tex_to_mathml(r"\frac{a}{b}")
    broken = tex_to_mathml(r"\frac{a}{", display="block")
    assert broken == '<code class="tex-source">$$\\frac{a}{$$</code>'


@pytest.mark.parametrize("tex", [r"\text{<script>alert(1)</script>}", r"\mathrm{x}</math><img src=x onerror=alert(1)>"])
def test_tex_cannot_put_html_into_the_page(tex):
    page = tex_to_mathml(tex, display="block")
    assert "<script" not in page and "<img" not in page and "</math><" not in page
    if r"\text" in tex:  # latex2mathml would copy the markup: the source is shown instead, escaped
        assert page == '<code class="tex-source">$$\\text{&lt;script&gt;alert(1)&lt;/script&gt;}$$</code>'


def test_latex_outputs_become_mathml():
    for shown in (r"$$x^2$$", r"$x^2$", r"\[x^2\]", r"\(x^2\)"):
        html = latex_output_to_html(shown)
        assert html.startswith("<math") and "<msup><mi>x</mi><mn>2</mn></msup>" in html, shown


@pytest.fixture(scope="module")
def graded_feedback(tmp_path_factory) -> Path:
    """A graded lab 03 student whose autograded notebook then gets a markdown table; `report` rewrites the
    feedback through nbgrader's generate_feedback; returns the student's 03_n feedback page."""
    root = graded_lab03_class(tmp_path_factory.mktemp("feedback_html"), (STUDENT,))
    autograded = root / "autograded" / STUDENT / "lab03" / "03_n.ipynb"
    nb = nbformat.read(autograded, as_version=4)
    nb.cells.insert(1, nbformat.v4.new_markdown_cell(TABLE))
    nbformat.write(nb, autograded)
    proc = run_autograder("report", "lab03", cwd=root)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return root / "feedback" / STUDENT / "lab03" / "03_n.html"


def test_graded_students_feedback_is_offline_with_tables_and_named_tests(graded_feedback):
    html = graded_feedback.read_text(encoding="utf-8")
    _assert_offline_and_rendered(html)
    assert re.search(r"<table>.*?<td>\(N, F, OH/2, OW/2\)</td>.*?</table>", html, re.S)
    toc = re.search(r'<div id="toc">(.*?)</div>', html, re.S).group(1)
    assert "Test cell" not in toc and "5. Softmax 関数 — テスト Test <code>test_softmax</code>" in toc


def test_problem_pages_load_nothing_from_the_network(tmp_path):
    from autograder.report.feedback import write_problem_feedback
    from autograder.score.results import FAILED, NotebookResult

    result = NotebookResult("s1", "lab03", "03_n", FAILED, 0, 17, "あなたのファイルは zip でした / you uploaded a zip")
    html = write_problem_feedback(result, tmp_path / "03_n.html", ["03_n", "03_h"]).read_text(encoding="utf-8")
    assert "you uploaded a zip" in html
    assert not REMOTE_ASSET.findall(html) and "<script" not in html and "<link" not in html

"""nbgrader's feedback HTML as students can read it offline: the mathematics rendered to MathML when the page is
written (no MathJax from a CDN: graders' machines and campus labs are often offline), and a table of contents
that names each question instead of "Test cell" for every test.

``nbgrader_config.py`` makes ``GenerateFeedback`` use :class:`FeedbackExporter` and :class:`QuestionTitles`.
"""

from __future__ import annotations

import functools
import html
import re
from pathlib import Path

import nbgrader
from jinja2 import pass_context
from latex2mathml.converter import convert as _latex_to_mathml
from nbconvert.exporters import HTMLExporter
from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath
from nbconvert.preprocessors import Preprocessor
from traitlets import Bool, Int, Unicode, default

TEMPLATE_NAME = "autograder_feedback"
TEMPLATE_BASEDIR = Path(__file__).parent / "templates" / "nbconvert"

_DISPLAY_DELIMITERS = re.compile(r"^\s*(\$\$|\\\[)(?P<body>[\s\S]*?)(\$\$|\\\])\s*$")
_INLINE_DELIMITERS = re.compile(r"^\s*(\$|\\\()(?P<body>[\s\S]*?)(\$|\\\))\s*$")
_HEADING = re.compile(r"^\s{0,3}(?P<level>#{1,6})\s+(?P<title>.+?)\s*#*\s*$", re.MULTILINE)
_INLINE_MARKUP = re.compile(r"[*_`]+")
_TAG = re.compile(r"</?\s*([^\s/>]+)")
_MATHML_ELEMENTS = frozenset(
    "math semantics annotation mrow mi mn mo ms mtext mspace mglyph msub msup msubsup munder mover munderover "
    "mmultiscripts mprescripts none mfrac msqrt mroot mstyle merror mpadded mphantom menclose mfenced mtable "
    "mtr mlabeledtr mtd maligngroup malignmark maction".split())


def template_basedirs() -> list[str]:
    """Where nbconvert looks for the feedback template: ours, then nbgrader's (which ours extends)."""
    return [str(TEMPLATE_BASEDIR), str(Path(nbgrader.__file__).parent / "server_extensions" / "formgrader" / "templates")]


@functools.lru_cache(maxsize=4096)  # every student's page repeats the released notebook's equations
def tex_to_mathml(tex: str, display: str = "inline") -> str:
    """MathML for the TeX ``tex`` (``display``: "inline" or "block"). TeX the converter cannot read stays as its
    source in a ``<code>``, delimiters included, so the student still sees what was written."""
    try:
        mathml = _latex_to_mathml(tex, display=display)
    except Exception:  # noqa: BLE001 (latex2mathml raises many kinds on TeX it does not know; show the source)
        mathml = ""
    # latex2mathml copies \text{...} as it is, markup included: a page gets MathML elements only, so that
    # a student's (or an output's) TeX cannot put a script or any other HTML into the feedback.
    if mathml and set(_TAG.findall(mathml)) <= _MATHML_ELEMENTS:
        return mathml
    fence = "$$" if display == "block" else "$"
    return f'<code class="tex-source">{html.escape(fence + tex + fence)}</code>'


def latex_output_to_html(text: str) -> str:
    """HTML for a ``text/latex`` output (what IPython.display.Math or sympy shows): its math, as block MathML."""
    for pattern in (_DISPLAY_DELIMITERS, _INLINE_DELIMITERS):
        match = pattern.match(text)
        if match:
            return tex_to_mathml(match.group("body"), display="block")
    return tex_to_mathml(text, display="block")


class OfflineMathRenderer(IPythonRenderer):
    """nbconvert's markdown renderer, with the math it finds ($...$, $$...$$, \\begin{..}) written as MathML
    instead of being left for MathJax."""

    def block_math(self, body: str) -> str:
        return tex_to_mathml(body, display="block")

    def multiline_math(self, text: str) -> str:
        return latex_output_to_html(text)

    def latex_environment(self, name: str, body: str) -> str:
        return tex_to_mathml(f"\\begin{{{name}}}{body}\\end{{{name}}}", display="block")

    def inline_math(self, body: str) -> str:
        return tex_to_mathml(body, display="inline")


class FeedbackExporter(HTMLExporter):
    """The HTML exporter of the feedback pages: nbgrader's feedback template through ours
    (templates/nbconvert/autograder_feedback), markdown math as MathML, and no script from the network."""

    @default("template_name")
    def _template_name_default(self):
        return TEMPLATE_NAME

    @default("extra_template_basedirs")
    def _extra_template_basedirs_default(self):
        return template_basedirs()

    @default("template_paths")
    def _template_paths(self, prune=True, root_dirs=None):
        """nbconvert's search path, then nbgrader's templates folder, so that ours can extend
        'feedback/index.html.j2' (nbgrader's) under the same file name as its own, and the folder of the
        bootstrap.min.css it inlines (nbgrader's GenerateFeedback adds that one too; here for use without it)."""
        nbgrader_templates = Path(template_basedirs()[-1])
        bootstrap = nbgrader_templates.parent / "static" / "node_modules" / "bootstrap" / "dist" / "css"
        return [*super()._template_paths(prune=prune, root_dirs=root_dirs), str(nbgrader_templates), str(bootstrap)]

    @pass_context
    def markdown2html(self, context, source):
        """nbconvert's markdown filter (attachments, anchors, tables) with :class:`OfflineMathRenderer`."""
        cell = context.get("cell", {})
        renderer = OfflineMathRenderer(
            escape=False,
            attachments=cell.get("attachments", {}),
            embed_images=self.embed_images,
            path=context.get("resources", {}).get("metadata", {}).get("path", ""),
            anchor_link_text=self.anchor_link_text,
            exclude_anchor_links=self.exclude_anchor_links,
            **self.lexer_options,
        )
        return MarkdownWithMath(renderer=renderer).render(source)

    def default_filters(self):
        yield from super().default_filters()
        yield ("latex2mathml", latex_output_to_html)


def _plain_title(markdown_heading: str) -> str:
    """A heading's text without its emphasis and code marks."""
    return _INLINE_MARKUP.sub("", markdown_heading).strip()


class QuestionTitles(Preprocessor):
    """Record, for each graded cell, the title of the question it belongs to in
    ``resources["question_titles"][grade_id]``: the feedback's table of contents names each test by it.

    A question's title is the last heading of level ``max_level`` or above (the labs title each question
    "## 1. ..."; "###" headings inside a question are its parts), or, in a notebook without one, the last
    heading of any level."""

    enabled = Bool(True, help="on by default (nbconvert's preprocessors are off by default)").tag(config=True)
    untitled = Unicode("", help="title of a graded cell with no heading above it").tag(config=True)
    max_level = Int(2, help="deepest heading level that starts a question").tag(config=True)

    def preprocess(self, nb, resources):
        titles, question, any_heading = {}, None, None
        for cell in nb.cells:
            if cell.cell_type == "markdown":
                for match in _HEADING.finditer(cell.source):
                    any_heading = _plain_title(match.group("title"))
                    if len(match.group("level")) <= self.max_level:
                        question = any_heading
            current = question or any_heading or self.untitled
            grading = cell.metadata.get("nbgrader", {})
            if grading.get("grade") or grading.get("task"):
                titles[grading.get("grade_id", "")] = current
        resources["question_titles"] = titles
        return nb, resources

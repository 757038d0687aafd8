"""The TA's hand grading in nbgrader's real formgrader, in a real headless Chromium (Playwright).

`autograder formgrader` serves the course; the test opens lab 03's hand-graded question of one student,
types a score above the maximum (the formgrader keeps the maximum), then a score and a comment, and each
save reaches the gradebook; after `autograder report` the score and the comment are in grades.csv,
Moodle's worksheet and the student's feedback HTML.

The browser is the system's Chromium (scripts/install-browser; never `playwright install`): at
$AUTOGRADER_CHROMIUM or on PATH as `chromium`. Without one, the test is skipped and says why.
"""

from __future__ import annotations

import csv
import os
import re
import shutil
import socket
import subprocess
import time
import urllib.request

import pytest
from playwright.sync_api import sync_playwright

from conftest import AUTOGRADER, TEST_CASE_SALT, graded_lab03_class, run_autograder

CHROMIUM = os.environ.get("AUTOGRADER_CHROMIUM") or shutil.which("chromium")
STUDENT, OTHER = "ref-solution", "flipped-kernel"
QUESTION = "pooling_question"  # 2 points, graded by hand
COMMENT = "最大値プーリングの説明が正確です / the max-pooling explanation is exact"

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no chromium (run scripts/install-browser as root)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_formgrader(root, port: int) -> tuple[subprocess.Popen, str]:
    """`autograder formgrader --no-browser` as a TA starts it; returns the process and the URL it printed,
    once the server answers there."""
    env = {**os.environ, "COLUMNS": "200", "AUTOGRADER_CASE_SALT": TEST_CASE_SALT}
    proc = subprocess.Popen([*AUTOGRADER, "formgrader", "--no-browser", "--port", str(port)], cwd=root, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = None
    for line in proc.stdout:
        found = re.search(r"http://127\.0\.0\.1:\d+/formgrader\?token=\S+", line)
        if found:
            url = found.group(0)
            break
    assert url, "autograder formgrader printed no URL"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the formgrader's server stopped"
        try:
            urllib.request.urlopen(url, timeout=5)
            return proc, url
        except OSError:
            time.sleep(1)
    raise AssertionError(f"the formgrader did not answer at {url}")


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    return graded_lab03_class(tmp_path_factory.mktemp("formgrader"), (STUDENT, OTHER))


def _saved(page, kind: str, fill) -> dict:
    """Do ``fill`` on the page and return the body the formgrader saved (its PUT to /formgrader/api/<kind>/)."""
    with page.expect_response(lambda r: f"/formgrader/api/{kind}/" in r.url and r.request.method == "PUT") as resp:
        fill()
    assert resp.value.status == 200
    return resp.value.json()


def test_hand_grade_in_the_formgrader_reaches_every_output(course):
    server, url = _start_formgrader(course, _free_port())
    base = url.split("/formgrader")[0]
    try:
        with sync_playwright() as p:
            args = ["--no-sandbox"] if os.geteuid() == 0 else []  # Chromium's own sandbox refuses root
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=args)
            page = browser.new_page()
            errors, offsite = [], []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("request", lambda r: None if r.url.startswith(base) or r.url.startswith("data:")
                    else offsite.append(r.url))
            page.goto(url)  # the token logs in; the formgrader opens on its assignments page
            assert "/formgrader/manage_assignments" in page.url
            page.goto(f"{base}/formgrader/gradebook/lab03/03_n")
            row = page.locator("tr", has=page.locator("a.name-shown", has_text="Ref, Solution"))
            row.locator(".glyphicon-eye-open").click()  # names are hidden until revealed
            row.locator("a.name-shown").click()
            score = page.locator(f"input.score#{QUESTION}")
            score.wait_for(timeout=60_000)
            # the page saves a score only once its grades and comments have loaded (formgrade.js binds the
            # inputs then); typing earlier is lost, in a TA's browser as in this one
            page.wait_for_function("() => formgrader.grades && formgrader.grades.loaded"
                                   " && formgrader.comments && formgrader.comments.loaded", timeout=60_000)
            # the page works offline: its script runs to the end (keyboard shortcuts on) and typesets the
            # notebook's TeX with the MathJax the server itself serves, asking nothing of the network
            page.wait_for_function("() => formgrader.loaded && window.MathJax && MathJax.loaded", timeout=60_000)
            assert page.locator(".MathJax, .MathJax_Display, .MathJax_CHTML").count() > 0
            assert (errors, offsite) == ([], [])
            # a score above the maximum: the formgrader flags it and saves the maximum, nothing more
            saved = _saved(page, "grade", lambda: (score.fill("5"), score.press("Tab")))
            assert (saved["name"], saved["manual_score"], saved["max_score"]) == (QUESTION, 2.0, 2.0)
            assert score.input_value() == "2"
            saved = _saved(page, "grade", lambda: (score.fill("1.5"), score.press("Tab")))
            assert (saved["student"], saved["manual_score"], saved["needs_manual_grade"]) == (STUDENT, 1.5, False)
            comment = page.locator(f"textarea#{QUESTION}-comment")
            saved = _saved(page, "comment", lambda: (comment.fill(COMMENT), comment.press("Tab")))
            assert saved["manual_comment"] == COMMENT
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=60)

    proc = run_autograder("report", "lab03", cwd=course)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    with open(course / "reports" / "lab03" / "grades.csv", encoding="utf-8") as fh:
        rows = {(r["student_id"], r["notebook"]): r for r in csv.DictReader(fh)}
    row = rows[(STUDENT, "03_n")]
    assert (row["score"], row[QUESTION], row["manual_pending"]) == ("16.5", "1.5", "0")
    assert COMMENT in row["ta_comments"]
    assert rows[(OTHER, "03_n")][QUESTION] == "manual"  # the other student still waits
    with open(course / "reports" / "lab03" / "moodle_grades.csv", encoding="utf-8-sig") as fh:
        moodle = {r["Email address"]: r for r in csv.DictReader(fh)}
    assert float(moodle[f"{STUDENT}@example.ac.jp"]["Grade"]) == pytest.approx(16.5 / 17 * 100, abs=0.01)  # lab scale
    assert COMMENT in moodle[f"{STUDENT}@example.ac.jp"]["Feedback comments"]
    html = (course / "feedback" / STUDENT / "lab03" / "03_n.html").read_text("utf-8")
    assert COMMENT in html and "1.5 / 2" in html

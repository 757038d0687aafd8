"""A shared PostgreSQL gradebook (``c.CourseDirectory.db_url``) on a real server: a class graded into it gets
exactly the scores it gets in the embedded SQLite gradebook."""

from __future__ import annotations

import shutil

import pg_server
import pytest

from autograder import api
from autograder.course import Course
from autograder.grade import GradeOptions
from autograder.score.gradebook import Gradebook

from conftest import REPO, TEST_CASE_SALT, copy_course

SAMPLES = REPO / "examples" / "submissions" / "lab03"
STUDENTS = ("ref-solution", "blank-release", "ce-summed", "pool-stride")


@pytest.fixture(scope="module")
def server():
    running = pg_server.start()
    yield running
    running.stop()


def _cell_scores(db_url: str) -> dict[tuple[str, str, str], tuple]:
    with Gradebook(db_url) as gb:
        return {(sub.student.id, nb.name, g.name): (g.auto_score, g.needs_manual_grade)
                for sub in gb.assignment_submissions("lab03") for nb in sub.notebooks for g in nb.grades}


def _grade(root, subs):
    run = api.grade_lab(Course(root), "lab03", subs, GradeOptions(jobs=2))
    return sorted((r.student_id, r.notebook, r.status, r.score) for r in run.results)


def test_a_class_graded_into_postgresql_gets_the_same_scores_as_sqlite(tmp_path, server, monkeypatch):
    monkeypatch.setenv("AUTOGRADER_CASE_SALT", TEST_CASE_SALT)
    subs = tmp_path / "subs"
    for name in STUDENTS:
        shutil.copytree(SAMPLES / name, subs / name)
    url = server.create_database("gradebook")
    shared = copy_course(tmp_path / "postgres", with_generated=True)
    with (shared / "nbgrader_config.py").open("a", encoding="utf-8") as fh:
        fh.write(f"\nc.CourseDirectory.db_url = {url!r}\n")
    embedded = copy_course(tmp_path / "sqlite", with_generated=True)

    assert Course(shared).db_url == url and Course(embedded).db_url.startswith("sqlite:///")
    in_postgres, in_sqlite = _grade(shared, subs), _grade(embedded, subs)
    assert in_postgres == in_sqlite
    assert ("ref-solution", "03_n", "graded", 15) in in_postgres
    assert not (shared / "gradebook.db").exists()  # nothing went to an SQLite file beside it
    assert _cell_scores(url) == _cell_scores(Course(embedded).db_url)
    assert len(_cell_scores(url)) >= 2 * len(STUDENTS)

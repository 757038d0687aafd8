"""The course directory: where source/, release/, solutions/ and the grading state live,
and the nbgrader configuration every stage starts from."""

from __future__ import annotations

import os
import secrets
import sys
from dataclasses import dataclass
from pathlib import Path

from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

CONFIG_FILE = "nbgrader_config.py"


def ensure_scripts_on_path() -> None:
    # nbgrader runs the `alembic` executable to create a gradebook; when `autograder` is
    # called as .venv/bin/autograder without activating the venv, that folder is not on PATH.
    scripts = str(Path(sys.executable).parent)
    if scripts not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = scripts + os.pathsep + os.environ.get("PATH", "")


class CourseError(Exception):
    """The course directory is missing something a command needs."""


# How a lab's notebooks of different difficulty make one grade (c.LabGrade in nbgrader_config.py).
CHOICES = ("higher", "hard", "normal")


@dataclass(frozen=True)
class GradingPolicy:
    """One grade per student per lab: a lab's notebooks (``NN_n``, ``NN_h``) are alternatives.

    ``points``: what a perfect notebook of each difficulty (the name's suffix) earns on the lab's scale;
    ``maximum``: the lab's maximum grade (Moodle's "Maximum grade" of the assignment; Moodle's importer
    skips any grade above it); ``choose``: which notebook counts when a student sent both: "higher" (the
    higher grade on the lab's scale; ties go to the hard one), "hard" or "normal" (that one, if sent).
    """

    maximum: float = 100.0
    points: tuple[tuple[str, float], ...] = (("n", 100.0), ("h", 100.0))
    choose: str = "higher"

    def points_for(self, difficulty: str) -> float:
        """Points of a perfect notebook of ``difficulty`` (a notebook of no known difficulty: the maximum)."""
        return dict(self.points).get(difficulty, self.maximum)


@dataclass(frozen=True)
class Course:
    """A course root holding ``nbgrader_config.py`` and ``source/<lab>/<notebook>.ipynb``."""

    root: Path

    @classmethod
    def find(cls, start: Path | str | None = None) -> Course:
        """The nearest directory at or above ``start`` (default: cwd) holding nbgrader_config.py."""
        here = Path(start or Path.cwd()).resolve()
        for candidate in (here, *here.parents):
            if (candidate / CONFIG_FILE).is_file() and (candidate / "source").is_dir():
                return cls(candidate)
        raise CourseError(
            f"no course found at or above {here}: expected {CONFIG_FILE} and source/ "
            "(run the command inside the course repository, or pass --course-dir)"
        )

    def case_salt(self) -> str:
        """The course's secret for the hidden checks' random inputs (autograder.checks.case_rng).

        ``$AUTOGRADER_CASE_SALT`` if set; otherwise ``.autograder/case-salt``, made on first use.
        It is never released: students cannot know the inputs their code will be graded on.
        """
        from autograder.kernel.student import CASE_SALT_ENV

        if os.environ.get(CASE_SALT_ENV):
            return os.environ[CASE_SALT_ENV]
        path = self.root / ".autograder" / "case-salt"
        if not path.is_file():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_hex(16) + "\n", encoding="utf-8")
        return path.read_text(encoding="utf-8").strip()

    @property
    def source_dir(self) -> Path:
        return self.root / "source"

    @property
    def release_dir(self) -> Path:
        return self.root / "release"

    @property
    def solutions_dir(self) -> Path:
        return self.root / "solutions"

    @property
    def submitted_dir(self) -> Path:
        return self.root / "submitted"

    @property
    def staged_dir(self) -> Path:
        """Copies of the gradable submissions that nbgrader's autograde reads (its "submitted" step)."""
        return self.root / ".autograder" / "staged"

    @property
    def quarantine_dir(self) -> Path:
        """Files from a class's upload that are not gradable notebooks, kept with their reasons."""
        return self.root / "quarantine"

    @property
    def autograded_dir(self) -> Path:
        return self.root / "autograded"

    @property
    def feedback_dir(self) -> Path:
        return self.root / "feedback"

    @property
    def reports_dir(self) -> Path:
        return self.root / "reports"

    @property
    def data_dir(self) -> Path:
        """The training labs' datasets: ``$DL_LABS_DATA``, else ``c.Datasets.directory``, else ``data/``."""
        from autograder import datasets

        configured = self.nbgrader_config()["Datasets"].get("directory")
        return datasets.data_dir(self.root, configured)

    @property
    def roster_path(self) -> Path:
        """The class roster as imported (``roster import``); grading copies it into the gradebook."""
        return self.root / ".autograder" / "roster.csv"

    @property
    def gradebook_path(self) -> Path:
        return self.root / "gradebook.db"

    @property
    def db_url(self) -> str:
        """The gradebook: ``c.CourseDirectory.db_url`` of nbgrader_config.py (any SQLAlchemy URL, e.g.
        ``postgresql+psycopg://grader@db.example/dl_labs`` for a shared server), else ``gradebook.db`` here."""
        configured = self._file_config()["CourseDirectory"].get("db_url")
        return str(configured) if configured else f"sqlite:///{self.gradebook_path}"

    def has_gradebook(self) -> bool:
        """Whether the gradebook may hold anything yet: an SQLite file that exists, or any database server."""
        url = self.db_url
        if not url.startswith("sqlite:///"):
            return True
        return Path(url.removeprefix("sqlite:///")).exists()

    def labs(self) -> list[str]:
        """Lab ids (the folders of source/), sorted."""
        if not self.source_dir.is_dir():
            return []
        return sorted(p.name for p in self.source_dir.iterdir() if p.is_dir() and any(p.glob("*.ipynb")))

    def notebooks(self, lab: str) -> list[str]:
        """Notebook names (without .ipynb) of one lab, sorted."""
        lab_dir = self.source_dir / lab
        if not lab_dir.is_dir():
            known = ", ".join(self.labs()) or "none"
            raise CourseError(f"unknown lab {lab!r}: no folder source/{lab} (labs: {known})")
        names = sorted(p.stem for p in lab_dir.glob("*.ipynb"))
        if not names:
            raise CourseError(f"source/{lab} holds no notebook")
        return names

    def question_ids(self, lab: str, notebook: str) -> list[str]:
        """grade_ids of the graded cells of a source notebook, in notebook order."""
        return [m["grade_id"] for m in self._marks(lab, notebook) if m.get("grade")]

    def answer_ids(self, lab: str, notebook: str) -> list[str]:
        """grade_ids of the cells students answer in (nbgrader's solution cells), in notebook order."""
        return [m["grade_id"] for m in self._marks(lab, notebook) if m.get("solution")]

    def test_ids(self, lab: str, notebook: str) -> list[str]:
        """grade_ids of the autograded test cells (graded, not answered in), in notebook order."""
        return [m["grade_id"] for m in self._marks(lab, notebook) if m.get("grade") and not m.get("solution")]

    def cell_types(self, lab: str, notebook: str) -> dict[str, str]:
        """grade_id -> "code" or "markdown", for the marked cells of a source notebook."""
        return {m["grade_id"]: kind for m, kind in self._marked_cells(lab, notebook) if m.get("grade_id")}

    def _marks(self, lab: str, notebook: str) -> list[dict]:
        return [m for m, _ in self._marked_cells(lab, notebook)]

    def _marked_cells(self, lab: str, notebook: str) -> list[tuple[dict, str]]:
        import nbformat

        nb = nbformat.read(self.source_dir / lab / f"{notebook}.ipynb", as_version=4)
        return [(cell.metadata.get("nbgrader", {}), cell.cell_type) for cell in nb.cells]

    def grading_policy(self) -> GradingPolicy:
        """The course's ``c.LabGrade`` settings (defaults: :class:`GradingPolicy`), checked."""
        section = self.nbgrader_config()["LabGrade"]
        default = GradingPolicy()
        choose = section.get("choose", default.choose)
        if choose not in CHOICES:
            raise CourseError(f"{CONFIG_FILE}: c.LabGrade.choose = {choose!r}; expected one of {', '.join(CHOICES)}")
        try:
            maximum = float(section.get("maximum", default.maximum))
            points = tuple((str(k), float(v)) for k, v in dict(section.get("points", dict(default.points))).items())
        except (TypeError, ValueError) as error:
            raise CourseError(f"{CONFIG_FILE}: c.LabGrade.maximum and .points must be numbers ({error})") from None
        over = [f"{k}: {v:g}" for k, v in points if v > maximum or v < 0]
        if maximum <= 0 or over:
            raise CourseError(f"{CONFIG_FILE}: c.LabGrade.points must lie between 0 and c.LabGrade.maximum "
                              f"({maximum:g}); Moodle skips grades above the maximum: {', '.join(over)}")
        return GradingPolicy(maximum, points, choose)

    def nbgrader_config(self, **overrides: dict) -> Config:
        """nbgrader_config.py of this course, rooted here, with ``overrides`` merged on top.

        ``overrides`` maps a configurable's class name to its settings, e.g.
        ``Execute={"timeout": 5}``.
        """
        config = self._file_config()
        config.CourseDirectory.root = str(self.root)
        config.CourseDirectory.db_url = self.db_url
        # autograde reads staged copies, so submitted/ (a TA's input) is never touched by grading
        config.CourseDirectory.submitted_directory = str(self.staged_dir.relative_to(self.root))
        for section, values in overrides.items():
            for key, value in values.items():
                setattr(config[section], key, value)
        return config

    def _file_config(self) -> Config:
        return PyFileConfigLoader(CONFIG_FILE, path=str(self.root)).load_config()

    def api(self, **overrides: dict):
        """An ``NbGraderAPI`` for this course (see :meth:`nbgrader_config` for ``overrides``)."""
        from nbgrader.apps import NbGraderAPI  # heavy import, only for commands that grade or release

        ensure_scripts_on_path()
        return NbGraderAPI(config=self.nbgrader_config(**overrides))

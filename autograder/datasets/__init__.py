"""Datasets for the training labs: where they live, which profile they are, and how they are verified.

Each dataset module (``mnist``, ``cifar10``) reads one standard on-disk format from the data
directory, verifies the real files by checksum, and can write an offline stand-in in exactly the
same format. Which of the two is present is the data *profile*: ``"real"`` or ``"standin"``.
Hidden checks pick their thresholds by profile, so the grader (through the files it provides),
not the student, decides which thresholds apply.

The data directory is, in order: ``$DL_LABS_DATA``; ``c.Datasets.directory`` in the course's
nbgrader_config.py (relative to the course root); ``data/`` in the course root; outside a course,
``~/.cache/dl-labs``. The grader sets ``DL_LABS_DATA`` for every kernel and makes the directory
readable in the sandbox.
"""

from __future__ import annotations

import hashlib
import importlib
import os
import shutil
import urllib.error
import urllib.request
from pathlib import Path
from types import ModuleType

DATA_ENV = "DL_LABS_DATA"
REAL = "real"
STANDIN = "standin"
STANDIN_MARKER = "STANDIN"  # a file beside a stand-in's data, saying how it was made (real data has none)


def data_dir(course_root: Path | None = None, configured: str | Path | None = None) -> Path:
    """The data directory (see the module docstring); it need not exist yet.

    ``configured`` is the course's ``Datasets.directory`` setting, if any.
    """
    if os.environ.get(DATA_ENV):
        return Path(os.environ[DATA_ENV]).expanduser()
    if course_root is not None:
        if configured:
            return (Path(course_root) / Path(configured).expanduser()).resolve()
        return Path(course_root) / "data"
    return Path.home() / ".cache" / "dl-labs"


def file_digest(path: Path, algorithm: str) -> str:
    """Hex digest (``"md5"`` or ``"sha256"``) of a file, read in chunks."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def download(what: str, url: str, dest: Path, *, digest: tuple[str, str], timeout: float, offline_help: str) -> None:
    """Stream ``url`` (the dataset ``what``) into ``dest`` and verify it: ``digest`` is (algorithm, expected hex).

    ConnectionError when it cannot be downloaded: the reason, then ``offline_help`` (what to do instead:
    copy the file fetched elsewhere, or use the stand-in). ValueError when the digest differs.
    """
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, open(dest, "wb") as out:
            shutil.copyfileobj(response, out, 1 << 20)
    except (urllib.error.URLError, OSError) as exc:
        raise ConnectionError(f"{what} をダウンロードできません (ネットワークにつながっていない？) / cannot download "
                              f"{what} from {url} (offline?): {exc}. {offline_help}") from exc
    algorithm, expected = digest
    got = file_digest(dest, algorithm)
    if got != expected:
        raise ValueError(f"ダウンロードした {what} の {algorithm} が違います / the downloaded {what} has the wrong "
                         f"{algorithm}: {got}, expected {expected} ({url})")


NAMES = ("mnist", "cifar10")


ABSENT = "absent"


def registry() -> dict[str, ModuleType]:
    """The dataset modules by name: each has load, profile, check, fetch and write_standin."""
    return {name: importlib.import_module(f"autograder.datasets.{name}") for name in NAMES}


def profiles(directory: Path, names: tuple[str, ...] = NAMES) -> dict[str, str]:
    """Which profile each named dataset in ``directory`` is: ``"real"``, ``"standin"`` or ``"absent"``.

    "absent" also covers files that are neither (e.g. a corrupted download): the hidden checks refuse
    those with their own message, and ``autograder data check`` says what is wrong.
    """
    modules = registry()
    found = {}
    for name in names:
        try:
            found[name] = modules[name].profile(directory)
        except Exception:
            found[name] = ABSENT
    return found


def describe_profile(profile: str) -> str:
    """A profile as the reports print it."""
    return {REAL: "real data", STANDIN: "offline stand-in (stand-in thresholds)", ABSENT: "absent"}.get(profile, profile)

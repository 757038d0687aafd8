"""Which lab notebook a submitted file is, from its name alone.

Students name files by hand (seed 004's course: ``[回数]_[n|h].ipynb``, e.g. ``14_n.ipynb``), so
names arrive with capitals, full-width characters (``０３＿ｎ．ｉｐｙｎｂ``), browser suffixes
(``03_n (1).ipynb``, ``03_n-2.ipynb``), a student number in front, or a missing leading zero.
"""

from __future__ import annotations

import re
import unicodedata

# NN, a separator, n or h, then anything that is not a letter or digit (a suffix), then .ipynb
_NOTEBOOK_NAME = re.compile(r"(?:^|[^0-9])(?P<number>\d{1,2})[\s_\-]*(?P<level>[nh])(?![a-z])[^.]*\.ipynb$")


def normalise(filename: str) -> str:
    """NFKC (full-width to ASCII), lower case, no surrounding spaces."""
    return unicodedata.normalize("NFKC", filename).strip().lower()


def parse_notebook_name(filename: str) -> tuple[int, str] | None:
    """(lab number, "n" or "h") named by ``filename``, or None if it names no lab notebook.

    >>> parse_notebook_name("０３＿Ｎ (1).ipynb")
    (3, 'n')
    """
    name = normalise(filename.rsplit("/", 1)[-1])
    match = _NOTEBOOK_NAME.search(name)
    if not match:
        return None
    return int(match.group("number")), match.group("level")


def notebook_for(filename: str, notebooks: list[str]) -> str | None:
    """Which of ``notebooks`` (e.g. ["03_n", "03_h"]) ``filename`` is, or None."""
    parsed = parse_notebook_name(filename)
    if parsed is None:
        return None
    for notebook in notebooks:
        if parse_notebook_name(notebook + ".ipynb") == parsed:
            return notebook
    return None

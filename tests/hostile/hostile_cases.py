"""The hostile-submission corpus (issue 7): broken files, tampering and resource abuse, built from lab 03's
honest answer key and its untouched release.

Each case is one student folder holding ``03_n.ipynb`` (the naming cases put the honest answers in a
folder with an unusual name). ``write_corpus`` writes them all and returns what each must get: the grade status,
the total autograded score, and a word the recorded reason must contain. The honest solution
scores 15 autograded points and the untouched release 0 (see tests/test_grade_lab03.py).
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[2]
HONEST = REPO / "examples" / "submissions" / "lab03" / "ref-solution" / "03_n.ipynb"
BLANK = REPO / "examples" / "submissions" / "lab03" / "blank-release" / "03_n.ipynb"
NOTEBOOK = "03_n.ipynb"
FULL_MARKS = 15


@dataclass(frozen=True)
class Case:
    """What a case must get. ``reason``: a word of the reason recorded for it ("" = none needed)."""

    status: str
    score: float
    reason: str = ""
    why: str = ""  # one line for the report: what the case is


def _honest() -> dict:
    return json.loads(HONEST.read_text(encoding="utf-8"))


def _blank() -> dict:
    return json.loads(BLANK.read_text(encoding="utf-8"))


def _tests(nb: dict) -> list[dict]:
    return [c for c in nb["cells"] if c["metadata"].get("nbgrader", {}).get("grade") and c["cell_type"] == "code"]


def _dump(nb: dict) -> bytes:
    return json.dumps(nb, ensure_ascii=False, indent=1).encode("utf-8")


def _cell(nb: dict, grade_id: str) -> dict:
    return next(c for c in nb["cells"] if c["metadata"].get("nbgrader", {}).get("grade_id") == grade_id)


def not_json() -> bytes:
    return "これはノートブックではありません / this is not a notebook\n".encode()


def empty() -> bytes:
    return b""


def truncated_json() -> bytes:
    data = HONEST.read_bytes()
    return data[: len(data) // 2]


def nbformat_3() -> bytes:
    """The honest answers saved as an nbformat 3 notebook (an old Jupyter); nbformat upgrades it."""
    nb = nbformat.reads(HONEST.read_text(encoding="utf-8"), as_version=4)
    return nbformat.writes(nbformat.convert(nb, 3)).encode("utf-8")


def no_cells() -> bytes:
    nb = _honest()
    nb["cells"] = []
    return _dump(nb)


def metadata_removed() -> bytes:
    """Every cell's metadata cleared (e.g. by a tool that 'cleans' notebooks): nbgrader's marks are gone."""
    nb = _honest()
    for cell in nb["cells"]:
        cell["metadata"] = {}
    return _dump(nb)


def solution_cell_deleted() -> bytes:
    nb = _honest()
    nb["cells"].remove(_cell(nb, "softmax"))
    return _dump(nb)


def duplicate_grade_ids() -> bytes:
    """A solution cell copied, marks and all: two cells now claim the same grade_id."""
    nb = _honest()
    original = _cell(nb, "softmax")
    nb["cells"].insert(nb["cells"].index(original) + 1, copy.deepcopy(original))
    return _dump(nb)


def _made_markdown(grade_id: str) -> bytes:
    """The honest answers with one marked cell switched to markdown (so it would not run)."""
    nb = _honest()
    cell = _cell(nb, grade_id)
    cell["cell_type"] = "markdown"
    cell.pop("outputs", None)
    cell.pop("execution_count", None)
    return _dump(nb)


def test_cell_made_markdown() -> bytes:
    """The softmax test cell switched to markdown; the grader restores it."""
    return _made_markdown("test_softmax")


def solution_cell_made_markdown() -> bytes:
    """The softmax solution cell switched to markdown; nbgrader turns it back into code."""
    return _made_markdown("softmax")


def huge_output() -> bytes:
    """A 50 MB stream output saved in the notebook (a print left in a loop); the answers are right."""
    nb = _honest()
    cell = _cell(nb, "conv2d_single")
    cell["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "x" * (50 * 1024 * 1024)}]
    return _dump(nb)


def invalid_utf8() -> bytes:
    data = HONEST.read_bytes()
    return data.replace(b"def softmax", b"def soft\xff\xfemax", 1)


def honest() -> bytes:
    return HONEST.read_bytes()


# Tampering that nbgrader's sanitizing undoes: test cells and points come back from the gradebook.

def test_cells_edited() -> bytes:
    """The untouched release with every test cell replaced by print("OK")."""
    nb = _blank()
    for cell in _tests(nb):
        cell["source"] = 'print("OK")'
    return _dump(nb)


def test_cells_deleted() -> bytes:
    """The untouched release with every test cell deleted."""
    nb = _blank()
    nb["cells"] = [c for c in nb["cells"] if c not in _tests(nb)]
    return _dump(nb)


def points_edited() -> bytes:
    """The untouched release with each test worth 100 points and the test code emptied."""
    nb = _blank()
    for cell in _tests(nb):
        cell["metadata"]["nbgrader"]["points"] = 100
        cell["source"] = ""
    return _dump(nb)


def tests_moved_above_solutions() -> bytes:
    """The honest answers with every test cell moved to the top: the tests run before the functions exist."""
    nb = _honest()
    tests = _tests(nb)
    nb["cells"] = tests + [c for c in nb["cells"] if c not in tests]
    return _dump(nb)


# Tampering aimed at the checks themselves (issue 7): every stub returns an array of zeros, and the
# first answer cell disables the checks in the student's kernel.

def _faked(first_answer: str) -> dict:
    nb = _blank()
    for cell in nb["cells"]:
        marks = cell["metadata"].get("nbgrader", {})
        if marks.get("solution") and cell["cell_type"] == "code":
            source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
            cell["source"] = source.replace("raise NotImplementedError()", "return np.zeros((10, 10, 10, 10))")
    cell = _cell(nb, "conv2d_single")
    cell["source"] = first_answer + cell["source"]
    return nb


def check_library_replaced() -> bytes:
    """Zeros everywhere, and every check of the lab and the check library replaced by one that passes."""
    return _dump(_faked(
        "import autograder.kernel as _checks\n"
        "import autograder.kernel.probes.lab03 as _lab\n"
        "for _name in dir(_lab):\n"
        "    if _name.startswith('check_'):\n"
        "        setattr(_lab, _name, lambda *a, **k: None)\n"
        "_checks.assert_close = assert_close = lambda *a, **k: None\n"
    ))


def exceptions_swallowed() -> bytes:
    """Zeros everywhere, and IPython told to hide every exception."""
    return _dump(_faked("get_ipython().set_custom_exc((BaseException,), lambda *a, **k: None)\n"))


def allclose_replaced() -> bytes:
    """Zeros everywhere, and numpy.allclose / numpy.testing told that everything is close."""
    return _dump(_faked(
        "import numpy.testing as _npt\n"
        "np.allclose = lambda *a, **k: True\n"
        "np.isclose = lambda a, b, *r, **k: np.ones(np.broadcast(a, b).shape, dtype=bool)\n"
        "_npt.assert_allclose = lambda *a, **k: None\n"
    ))


def torch_allclose_and_builtins_replaced() -> bytes:
    """Zeros everywhere, and torch.allclose, torch.testing and the builtins a check might compare with replaced."""
    return _dump(_faked(
        "import builtins, torch\n"
        "torch.allclose = lambda *a, **k: True\n"
        "torch.testing.assert_close = lambda *a, **k: None\n"
        "builtins.all = lambda *a, **k: True\n"
        "builtins.any = lambda *a, **k: False\n"
    ))


def excepthook_replaced() -> bytes:
    """Zeros everywhere, and sys.excepthook and IPython's showtraceback told to show nothing."""
    return _dump(_faked(
        "import sys\n"
        "sys.excepthook = lambda *a: None\n"
        "get_ipython().showtraceback = lambda *a, **k: None\n"
        "get_ipython().showsyntaxerror = lambda *a, **k: None\n"
    ))


def prints_passing_output() -> bytes:
    """Zeros everywhere, and every answer cell prints what passing tests print ("OK", "accuracy: 0.99")."""
    nb = _faked("")
    for cell in nb["cells"]:
        if cell["metadata"].get("nbgrader", {}).get("solution") and cell["cell_type"] == "code":
            source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
            cell["source"] = source + "\nprint('OK')\nprint('accuracy: 0.99')\nprint('All tests passed.')\n"
    return _dump(nb)


LAB03_CHECKS = ("conv2d_single", "conv_output_size", "conv2d", "max_pool2d", "avg_pool2d", "softmax", "one_hot",
                "cross_entropy")


def hidden_test_pasted() -> bytes:
    """Zeros everywhere, and every hidden test pasted into the first answer cell: it runs, and fails, there."""
    calls = "".join(f"    lab03.check_{name}({name})\n" for name in LAB03_CHECKS)
    nb = _faked("")
    nb["cells"].insert(nb["cells"].index(_cell(nb, "cross_entropy")) + 1, nbformat.v4.new_code_cell(
        "from autograder.kernel.probes import lab03\ntry:\n" + calls + "except Exception as exc:\n    print(exc)\n"))
    return _dump(json.loads(nbformat.writes(nbformat.from_dict(nb))))


def reads_answers_from_files() -> bytes:
    """The untouched release, whose first answer cell looks for the answer key (solutions/, source/) around its
    folder and the autograder package, and runs its code if found; every answer cell keeps what it found."""
    finder = (
        "import json, pathlib, autograder\n"
        "for _base in [pathlib.Path.cwd(), *pathlib.Path.cwd().parents, *pathlib.Path(autograder.__file__).parents]:\n"
        "    for _key in ('solutions/lab03/03_n.ipynb', 'source/lab03/03_n.ipynb'):\n"
        "        try:\n"
        "            _cells = json.loads((_base / _key).read_text())['cells']\n"
        "        except Exception:\n"
        "            continue\n"
        "        for _c in _cells:\n"
        "            if _c['cell_type'] == 'code' and 'NotImplementedError' not in ''.join(_c['source']):\n"
        "                try:\n"
        "                    exec(''.join(_c['source']), globals())\n"
        "                    _key_found = True\n"
        "                except Exception:\n"
        "                    pass\n"
    )
    nb = _blank()
    for cell in nb["cells"]:
        marks = cell["metadata"].get("nbgrader", {})
        if marks.get("solution") and cell["cell_type"] == "code":
            source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
            guarded = "if '_key_found' not in globals():\n" + "".join(f"    {line}\n" for line in source.splitlines())
            cell["source"] = (finder if marks["grade_id"] == "conv2d_single" else "") + guarded
    return _dump(nb)


def _recorded_honest_transcripts() -> dict[str, dict]:
    """The transcripts the honest answers leave, recorded offline on the public inputs (no course salt)."""
    from replay_harness import recorded_transcripts

    from autograder.kernel.probes import lab03

    namespace: dict = {}
    for cell in _honest()["cells"]:
        if cell["cell_type"] == "code" and not cell["metadata"].get("nbgrader", {}).get("grade"):
            exec("".join(cell["source"]), namespace)
    with recorded_transcripts(salt="") as payloads:
        for key in LAB03_CHECKS:
            getattr(lab03, f"check_{key}")(namespace[key])
    return dict(zip(LAB03_CHECKS, payloads, strict=True))


def transcripts_pasted() -> bytes:
    """Zeros everywhere, the visible tests' assert_close silenced, and the checks swapped out without naming them
    for ones that display transcripts of the honest answers recorded beforehand. The course's salt changes the
    inputs: the transcripts do not match them."""
    recorded = json.dumps(_recorded_honest_transcripts())
    return _dump(_faked(
        "import json, importlib\n"
        "from IPython.display import display\n"
        "assert_close = lambda *a, **k: None\n"
        f"_recorded = json.loads({recorded!r})\n"
        "_mod = importlib.import_module('autograder.kernel.' + 'probes.lab03')\n"
        "for _key, _payload in _recorded.items():\n"
        "    vars(_mod)['check_' + _key] = (lambda p: lambda *a, **k: display("
        "{'application/vnd.autograder.transcript+json': p}, raw=True))(_payload)\n"
    ))


def forbidden_library() -> bytes:
    """The honest answers, except that softmax calls torch's: the exercise forbids it."""
    nb = _honest()
    cell = _cell(nb, "softmax")
    cell["source"] = "import torch\n\ndef softmax(a):\n    return torch.softmax(torch.from_numpy(np.asarray(a, dtype=float)), -1).numpy()\n"
    return _dump(nb)


def forbidden_library_guard_disabled() -> bytes:
    """As forbidden-library, and the kernel's guard against it switched off without naming it; an alias hides torch."""
    nb = _honest()
    cell = _cell(nb, "softmax")
    cell["source"] = (
        "import contextlib, importlib, torch\n"
        "vars(importlib.import_module('autograder.kernel.' + 'student'))['forbidden_calls'] = "
        "lambda *a, **k: contextlib.nullcontext()\n"
        "T = torch\n\n"
        "def softmax(a):\n    return T.softmax(T.from_numpy(np.asarray(a, dtype=float)), -1).numpy()\n"
    )
    return _dump(nb)


def forbidden_library_captured() -> bytes:
    """softmax and conv2d_single call what the exercise forbids, held where no name guard looks: torch.softmax
    stashed in ``builtins`` under a built name when the cell ran, scipy's correlate2d as a default argument."""
    nb = _honest()
    _cell(nb, "softmax")["source"] = (
        "import builtins, importlib\n"
        "builtins.__dict__['_s' + 'm'] = getattr(importlib.import_module('to' + 'rch'), 'soft' + 'max')\n\n"
        "def softmax(a):\n    t = builtins.__dict__['_sm']\n"
        "    return t(importlib.import_module('torch').from_numpy(np.asarray(a, dtype=float)), -1).numpy()\n")
    _cell(nb, "conv2d_single")["source"] = (
        "import importlib\n\n"
        "def conv2d_single(x, k, c=getattr(importlib.import_module('scipy.' + 'signal'), 'correlate' + '2d')):\n"
        "    return c(np.asarray(x, dtype=float), np.asarray(k, dtype=float), mode='valid')\n")
    return _dump(nb)


def forbidden_library_from_c_and_threads() -> bytes:
    """As forbidden-library-captured, with the forbidden function called from C (``map`` over a ``partial``) and
    from a thread the answer starts, after a ``try`` that swallows the grader's tripwire."""
    nb = _honest()
    _cell(nb, "softmax")["source"] = (
        "import builtins, functools, importlib\n"
        "builtins.__dict__['_sm'] = getattr(importlib.import_module('torch'), 'softmax')\n\n"
        "def softmax(a):\n    import torch\n    t = torch.from_numpy(np.asarray(a, dtype=float))\n"
        "    try:\n        return torch.softmax(t, -1).numpy()\n    except BaseException:\n"
        "        return next(map(functools.partial(builtins.__dict__['_sm'], dim=-1), [t])).numpy()\n")
    _cell(nb, "conv2d_single")["source"] = (
        "import builtins, importlib, threading\n"
        "builtins.__dict__['_c2'] = getattr(importlib.import_module('scipy.signal'), 'correlate2d')\n\n"
        "def conv2d_single(x, k):\n    out = []\n"
        "    run = lambda: out.append(builtins.__dict__['_c2'](np.asarray(x, dtype=float), np.asarray(k, dtype=float),"
        " mode='valid'))\n"
        "    th = threading.Thread(target=run)\n    th.start()\n    th.join()\n    return out[0]\n")
    return _dump(nb)


# The answer key: the grader's references are not in anything the kernel can import or read (issue 18).

def imports_the_answer_key() -> bytes:
    """The untouched release whose every answer fetches the grader's reference through importlib, under names built
    at run time (the grader's reading of the source cannot see them), and falls back to the stub without it."""
    nb = _blank()
    for cell in nb["cells"]:
        marks = cell["metadata"].get("nbgrader", {})
        if marks.get("solution") and cell["cell_type"] == "code" and marks["grade_id"] in LAB03_CHECKS:
            name = marks["grade_id"]
            source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
            cell["source"] = (
                "import importlib\n"
                "try:\n"
                f"    {name} = getattr(importlib.import_module('autograder.' + 'la' + 'bs.lab03.' + 'reference'), {name!r})\n"
                "except Exception as _exc:\n"
                f"    print('no answer key:', type(_exc).__name__)\n"
                + "".join(f"    {line}\n" for line in source.splitlines())
            )
    return _dump(nb)


ANSWER_KEY_WALK = """import importlib.util, os, pathlib, site, sys, time
_found = sorted(m for m in sys.modules if m.startswith('autograder.') and not m.startswith(('autograder.kernel', 'autograder.datasets')))
_roots = [*sys.path, *site.getsitepackages(), site.getusersitepackages(), '/']
_deadline = time.monotonic() + 15  # well within the cell's limit, so the case never times out
for _root in dict.fromkeys(str(r) for r in _roots if r):
    for _dir, _dirs, _files in os.walk(_root, onerror=lambda e: None):
        _dirs[:] = [d for d in _dirs if d not in ('proc', 'sys', 'dev')]
        _path = pathlib.Path(_dir)
        for _name in _files:
            _stem = _name.split('.')[0]
            if 'autograder' in _path.parts and (_stem in ('reference', 'thresholds', 'checks', 'judged', 'judge')
                                                or 'labs' in _path.parts):
                _found.append(str(_path / _name))
        if time.monotonic() > _deadline:
            break
print('answer-key files found:', len(_found), _found[:20])
for _file in _found:
    if _file.endswith(('reference.py', '.pyc')) and 'lab03' in _file:
        try:
            _spec = importlib.util.spec_from_file_location('_key', _file)
            _key = importlib.util.module_from_spec(_spec)
            _spec.loader.exec_module(_key)
            globals().update({n: getattr(_key, n) for n in dir(_key) if not n.startswith('_')})
        except Exception:
            pass
"""


def walks_for_the_answer_key() -> bytes:
    """The untouched release whose first answer cell walks sys.modules, sys.path, site-packages and the whole file
    system it can see for the grader's references, checks or thresholds (source or bytecode), and loads what it
    finds in place of the stubs it keeps."""
    nb = _blank()
    cell = _cell(nb, "conv2d_single")
    source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
    guarded = "if 'conv2d_single' not in globals():\n" + "".join(f"    {line}\n" for line in source.splitlines())
    cell["source"] = ANSWER_KEY_WALK + guarded
    return _dump(nb)


# Resource abuse and a kernel that ends: the honest answers, with a line appended to one answer cell.
CHILD_MARKER = "987654"  # a child left running is `sleep 987654`; the test looks for it afterwards


def _honest_plus(grade_id: str, line: str) -> bytes:
    nb = _honest()
    cell = _cell(nb, grade_id)
    source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
    cell["source"] = source.rstrip("\n") + "\n" + line
    return _dump(nb)


def sys_exit() -> bytes:
    return _honest_plus("conv2d_single", "import sys\nsys.exit(0)")


def os_exit() -> bytes:
    """The kernel process ends in the last answer cell: what ran before keeps its points."""
    return _honest_plus("cross_entropy", "import os\nos._exit(0)")


def segfault() -> bytes:
    return _honest_plus("cross_entropy", "import ctypes\nctypes.string_at(0)")


def child_left_running() -> bytes:
    return _honest_plus("conv2d_single", f"import subprocess\n_child = subprocess.Popen(['sleep', '{CHILD_MARKER}'])")


def deletes_its_files() -> bytes:
    """Deletes everything in its working folder (its own notebook included) while it runs."""
    return _honest_plus("conv2d_single", "import os, shutil\nfor _f in os.listdir('.'):\n"
                                          "    shutil.rmtree(_f, ignore_errors=True) if os.path.isdir(_f) else os.remove(_f)")


def infinite_loop() -> bytes:
    """The last answer cell ends in an endless loop: interrupted at the cell's time limit, the notebook goes on."""
    return _honest_plus("cross_entropy", "while True:\n    pass")


def long_sleep() -> bytes:
    return _honest_plus("cross_entropy", "import time\ntime.sleep(10**6)")


def memory_hog() -> bytes:
    """Fills 8 GB at once in the last answer cell: the kernel is killed at the memory limit, long before it is done."""
    return _honest_plus("cross_entropy", "_hog = b'x' * 2**33")


def fork_bomb() -> bytes:
    """A fork bomb, bounded (2^12 processes left sleeping) so that a grader without limits survives it too."""
    return _honest_plus("cross_entropy", (
        "import subprocess\n"
        "subprocess.run(['sh', '-c', 'b() { if [ $1 -gt 0 ]; then b $(($1 - 1)) & b $(($1 - 1)); fi; "
        f"exec sleep {CHILD_MARKER}0; }}; b 12'])"))


FLOOD_BYTES = 100 * 10**6  # twelve times the cut; small enough to finish within the 20 s cell limit on a busy machine


def output_flood() -> bytes:
    """Prints 100 MB in the last answer cell: the grader keeps the first few MiB of it."""
    return _honest_plus("cross_entropy", f"for _ in range({FLOOD_BYTES // 10**5}):\n    print('x' * 10**5)")


def network_access() -> bytes:
    """The honest answers, which throw away conv2d_single if the network (a public DNS server, or PyPI) can be
    reached: full marks mean that it could not."""
    return _honest_plus("conv2d_single", (
        "import socket\n"
        "for _host in [('1.1.1.1', 53), ('pypi.org', 443)]:\n"
        "    try:\n"
        "        socket.create_connection(_host, timeout=3).close()\n"
        "        del conv2d_single\n"
        "        break\n"
        "    except OSError:\n"
        "        pass"))


# student folder -> (how its notebook is made, what it must get)
CORPUS: dict[str, tuple] = {
    "not-json": (not_json, Case("invalid", 0, "JSON", "a line of text")),
    "empty": (empty, Case("invalid", 0, "empty", "an empty file")),
    "truncated-json": (truncated_json, Case("invalid", 0, "JSON", "the file cut off halfway")),
    "nbformat-3": (nbformat_3, Case("graded", FULL_MARKS, "", "the honest answers in nbformat 3")),
    "no-cells": (no_cells, Case("graded", 0, "8 answer cells missing", "a notebook with no cells")),
    "metadata-removed": (metadata_removed, Case("graded", 0, "8 answer cells missing", "every cell's metadata cleared")),
    "solution-cell-deleted": (solution_cell_deleted,
                              Case("graded", FULL_MARKS - 2, "1 answer cell missing (deleted, or their metadata cleared): softmax",
                                   "the softmax solution deleted")),
    # nbgrader alone fails the whole notebook here ("schema version 0"); autograder.preprocessors.DeduplicateIds
    "duplicate-grade-ids": (duplicate_grade_ids, Case("graded", FULL_MARKS, "duplicate grade_id", "a solution cell copied, marks and all")),
    "test-cell-made-markdown": (test_cell_made_markdown,
                                Case("graded", FULL_MARKS, "switched back: test_softmax",
                                     "the softmax test cell turned into markdown")),
    # nbgrader's OverwriteCells gives every marked cell back its type, so the code runs as written
    "solution-cell-made-markdown": (solution_cell_made_markdown,
                                    Case("graded", FULL_MARKS, "switched back: softmax",
                                         "the softmax solution turned into markdown")),
    "huge-output-50mb": (huge_output, Case("graded", FULL_MARKS, "", "a 50 MB output saved in a cell")),
    "invalid-utf8": (invalid_utf8, Case("invalid", 0, "UTF-8", "two bytes that are not UTF-8")),
    "test-cells-edited": (test_cells_edited, Case("graded", 0, "", "release, tests replaced by print('OK')")),
    "test-cells-deleted": (test_cells_deleted, Case("graded", 0, "8 test cells missing", "release, every test cell deleted")),
    "points-edited": (points_edited, Case("graded", 0, "", "release, tests emptied and worth 100 each")),
    "tests-moved-above-solutions": (tests_moved_above_solutions,
                                    Case("graded", 0, "", "honest answers, tests moved above them")),
    # defended today: a cell that raised is a failure whatever IPython shows, and the checks compare by
    # themselves, without numpy's allclose
    "exceptions-swallowed": (exceptions_swallowed, Case("graded", 0, "", "zeros, IPython custom exception handler")),
    "allclose-replaced": (allclose_replaced, Case("graded", 0, "", "zeros, numpy.allclose monkeypatched")),
    "torch-allclose-builtins": (torch_allclose_and_builtins_replaced,
                                Case("graded", 0, "", "zeros, torch.allclose, builtins all/any monkeypatched")),
    "excepthook-replaced": (excepthook_replaced,
                            Case("graded", 0, "", "zeros, sys.excepthook and showtraceback silenced")),
    "prints-passing-output": (prints_passing_output, Case("graded", 0, "", "zeros, printing OK and accuracy: 0.99")),
    # the verdicts are the grader's (autograder.score.judge): the grader sees the checks being replaced in the source,
    # and a replacement it cannot see leaves no transcripts, or transcripts that do not match its inputs
    "check-library-replaced": (check_library_replaced,
                               Case("graded", 0, "change or use the grader's own code", "zeros, the checks monkeypatched")),
    "transcripts-pasted": (transcripts_pasted, Case("graded", 0, "could not reach a verdict",
                                                    "zeros, checks swapped for honest transcripts recorded offline")),
    "hidden-test-pasted": (hidden_test_pasted, Case("graded", 0, "", "zeros, the hidden tests pasted in an answer cell")),
    "imports-the-answer-key": (imports_the_answer_key,
                               Case("graded", 0, "", "answers fetched from the grader's references by importlib")),
    "walks-for-the-answer-key": (walks_for_the_answer_key,
                                 Case("graded", 0, "", "walks sys.path, site-packages and / for the answer key")),
    "reads-answers-from-files": (reads_answers_from_files,
                                 Case("graded", 0, "", "looks for the answer key around the course and the package")),
    # lab 03 is graded where torch and scipy do not exist (autograder.labs.lab03.WITHOUT): the cell that imports one
    # stops there, and the test of what it should have defined says so; the kernel's guards are tested in-process
    # (tests/test_forbidden_capture.py) and stay for the labs graded with their libraries
    "forbidden-library": (forbidden_library, Case("graded", FULL_MARKS - 2, "graded without torch",
                                                  "softmax calls torch.softmax")),
    "forbidden-library-guard-off": (forbidden_library_guard_disabled,
                                    Case("graded", FULL_MARKS - 2, "graded without torch",
                                         "as above, the kernel's guard disabled, torch aliased")),
    "forbidden-captured": (forbidden_library_captured,
                           Case("graded", FULL_MARKS - 4, "graded without scipy",
                                "forbidden functions held under built names: a builtins stash, a default argument")),
    "forbidden-from-c-threads": (forbidden_library_from_c_and_threads,
                                 Case("graded", FULL_MARKS - 4, "graded without torch",
                                      "forbidden functions called from C (map, partial) and from a thread, the "
                                      "tripwire swallowed")),
    "sys-exit": (sys_exit, Case("graded", FULL_MARKS, "", "sys.exit(0) in an answer cell")),
    "os-exit": (os_exit, Case("graded", FULL_MARKS - 2, "kernel", "os._exit(0) in the last answer cell")),
    "segfault": (segfault, Case("graded", FULL_MARKS - 2, "kernel", "a segfault in the last answer cell")),
    "child-left-running": (child_left_running, Case("graded", FULL_MARKS, "", "a child process left running")),
    "infinite-loop": (infinite_loop, Case("graded", FULL_MARKS, "timed out", "an endless loop after the last answer")),
    "long-sleep": (long_sleep, Case("graded", FULL_MARKS, "timed out", "sleeps for 11 days after the last answer")),
    "memory-hog": (memory_hog, Case("graded", FULL_MARKS - 2, "memory limit", "fills 8 GB in the last answer cell")),
    "fork-bomb": (fork_bomb, Case("graded", FULL_MARKS - 2, "process limit", "a fork bomb (2^12 processes) in the last answer cell")),
    "output-flood": (output_flood, Case("graded", FULL_MARKS, "not kept", "prints 100 MB after the last answer")),
    "network-access": (network_access, Case("graded", FULL_MARKS, "", "connects out if it can (it cannot)")),
    "deletes-its-files": (deletes_its_files, Case("graded", FULL_MARKS, "", "deletes every file in its folder")),
    "日本語の学生": (honest, Case("graded", FULL_MARKS, "", "a Japanese student folder name")),
    "student-😀": (honest, Case("graded", FULL_MARKS, "", "an emoji in the student folder name")),
}


def write_corpus(root: Path) -> dict[str, Case]:
    """Write every case's notebook to ``root/<student>/03_n.ipynb``; return student -> expected."""
    expected = {}
    for student, (make, case) in CORPUS.items():
        folder = root / student
        folder.mkdir(parents=True)
        (folder / NOTEBOOK).write_bytes(make())
        expected[student] = case
    return expected

"""CIFAR-10, python version (``cifar-10-batches-py``), verified by checksum, and an offline stand-in in the same format.

The folder holds seven pickled files, as the archive ``cifar-10-python.tar.gz`` unpacks and as
``torchvision.datasets.CIFAR10`` reads them: ``data_batch_1`` … ``data_batch_5`` (the 50,000 training
images) and ``test_batch`` (10,000 test images), each a dict with ``data`` (N x 3072 uint8: the R, G and
B planes of a 32x32 image, each row-major), ``labels`` (N ints 0-9), ``batch_label`` and ``filenames``;
and ``batches.meta`` with ``label_names``, ``num_cases_per_batch`` and ``num_vis``. They were pickled by
Python 2: strings come back as ``str`` with ``pickle.load(f, encoding="latin1")`` (torchvision) and as
``bytes`` with ``encoding="bytes"``.

Neither the grading machines nor the CI can download it, so :func:`write_standin` writes a stand-in of
the same format, byte for byte in structure (Python 2 pickles, the same keys and types), that
torchvision's integrity check rejects (wrong md5) but every reader of the format reads. Its 10 classes
are shapes and textures (stripes in three orientations, checkerboard, dots, rings, disc, plus, frame,
X) in a random-size patch at a random position, in random colours on a random background with noise:
a convolutional network learns them from a few hundred images, while a linear model or the majority
class cannot (the colours and positions carry no information). It is small (:data:`STANDIN_PER_BATCH`
images per training batch, :data:`STANDIN_TEST` test images) so that the lab's networks train in
seconds on one CPU thread, and deterministic: the same seed writes the same bytes.

Which one is present is the profile (:func:`profile`): ``"real"`` only when all seven md5 sums are the
published ones, ``"standin"`` when the stand-in marker (:data:`autograder.datasets.STANDIN_MARKER`) is
in the folder and the files are those it records; anything else is an error. Hidden checks choose
their thresholds by it. :func:`load` reads the pickles itself (torchvision would refuse a stand-in).
"""

from __future__ import annotations

import functools
import hashlib
import io
import pickle
import shutil
import struct
import tarfile
import tempfile
from pathlib import Path

import numpy as np

from autograder.datasets import REAL, STANDIN, STANDIN_MARKER, data_dir, download, file_digest

FOLDER = "cifar-10-batches-py"
URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
ARCHIVE = "cifar-10-python.tar.gz"
ARCHIVE_MD5 = "c58f30108f718f92721af3b95e74349a"
MD5 = {  # the seven files of the folder, as torchvision.datasets.CIFAR10 checks them
    "data_batch_1": "c99cafc152244af753f735de768cd75f",
    "data_batch_2": "d4bba439e000b95fd0a9bffe97cbabec",
    "data_batch_3": "54ebc095f3ab1f0389bbae665268c751",
    "data_batch_4": "634d18415352ddfa80567beed471001a",
    "data_batch_5": "482c414d41f54cd18b22e5b47cb7c3cb",
    "test_batch": "40351d587109b95175f43aff81a1287e",
    "batches.meta": "5ff9c542aee3614f3951f8cda6e48888",
}
TRAIN_FILES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_FILE = "test_batch"
META_FILE = "batches.meta"

LABEL_NAMES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
NUM_CLASSES = 10
IMAGE_SHAPE = (32, 32, 3)
REAL_TRAIN, REAL_TEST = 50000, 10000

# The stand-in's size: 5 x 128 = 640 training images (the lab's 80/20 split: 512 / 128) and 1000 test
# images. Both of the lab's networks train on it in 10-30 s on one CPU thread.
STANDIN_PER_BATCH = 128
STANDIN_TEST = 1000
# What each stand-in class draws (the label names the stand-in writes into batches.meta).
STANDIN_LABEL_NAMES = ("horizontal-stripes", "vertical-stripes", "diagonal-stripes", "checkerboard", "dots",
                       "rings", "disc", "plus", "frame", "x-cross")
_PATCH = (18, 29)  # side of the patch that holds the shape, in pixels: uniform in [18, 29)
_MIN_CONTRAST = 80.0  # smallest RGB distance between the shape's colour and the background's
_NOISE = 12.0  # standard deviation of the Gaussian pixel noise (0-255 scale)



def folder(directory: Path | str | None = None) -> Path:
    """The ``cifar-10-batches-py`` folder in ``directory`` (default: :func:`autograder.datasets.data_dir`)."""
    return (Path(directory) if directory is not None else data_dir()) / FOLDER


def _marker(batches: Path) -> Path:
    return batches / STANDIN_MARKER


def _missing_message(batches: Path, missing: list[str]) -> str:
    return (
        f"CIFAR-10 のデータ {batches} がありません (足りないファイル: {', '.join(missing)})。ネットワークにつながる環境で "
        "`autograder data fetch cifar10` を実行するか、cifar-10-python.tar.gz を展開したフォルダーをここにコピーするか、"
        "オフライン用の代用データを `autograder data standin cifar10` で作ってください / CIFAR-10 is missing: "
        f"{batches} (missing: {', '.join(missing)}). Run `autograder data fetch cifar10` where a network is reachable, "
        "copy the unpacked cifar-10-batches-py folder there, or write the offline stand-in with "
        "`autograder data standin cifar10`"
    )


def _recorded_md5(batches: Path) -> dict[str, str]:
    """file -> md5 as the stand-in marker records them ({} when the marker has none)."""
    try:
        lines = _marker(batches).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return {}
    recorded = {}
    for line in lines:
        name, sep, digest = line.partition(" md5 ")
        if sep and name.strip() in MD5:
            recorded[name.strip()] = digest.strip()
    return recorded


@functools.lru_cache(maxsize=32)
def _digest_cached(path: str, size: int, mtime_ns: int) -> str:
    return file_digest(Path(path), "md5")


def _md5(path: Path) -> str:
    """md5 of a file, remembered while its size and modification time stay the same (checks call this often)."""
    stat = path.stat()
    return _digest_cached(str(path.resolve()), stat.st_size, stat.st_mtime_ns)


def profile(directory: Path | str | None = None) -> str:
    """``"real"`` (all seven md5 sums are CIFAR-10's) or ``"standin"`` (our stand-in, marked); anything else raises.

    Raises FileNotFoundError when files are missing and ValueError when they are neither.
    """
    batches = folder(directory)
    missing = [name for name in MD5 if not (batches / name).is_file()]
    if missing:
        raise FileNotFoundError(_missing_message(batches, missing))
    digests = {name: _md5(batches / name) for name in MD5}
    if digests == MD5:
        return REAL
    if _marker(batches).is_file():
        recorded = _recorded_md5(batches)
        changed = sorted(name for name in MD5 if recorded.get(name) != digests[name])
        if changed:
            raise ValueError(
                f"{batches}: 代用データが書き換えられています ({', '.join(changed)} の md5 が {STANDIN_MARKER} の記録と"
                "違います)。`autograder data standin cifar10` で作り直してください / the stand-in was modified (the md5 of "
                f"{', '.join(changed)} is not the one {STANDIN_MARKER} records); write it again with "
                "`autograder data standin cifar10`"
            )
        return STANDIN
    wrong = sorted(name for name in MD5 if digests[name] != MD5[name])
    raise ValueError(
        f"{batches} は CIFAR-10 ではなく ({', '.join(wrong)} の md5 が違います: ダウンロードや展開が途中で切れた？)、"
        f"代用データの印 {STANDIN_MARKER} もありません。`autograder data fetch cifar10` で取り直すか、"
        f"`autograder data standin cifar10` で代用データを作ってください / {batches} is neither CIFAR-10 (wrong md5: "
        f"{', '.join(wrong)}; a truncated download or unpacking?) nor a stand-in (no {STANDIN_MARKER} file in it). "
        "Fetch it again with `autograder data fetch cifar10` or write the stand-in with `autograder data standin cifar10`"
    )


def _read_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """One pickled batch -> images (N, 32, 32, 3) uint8 and labels (N,) int64, as torchvision reads it."""
    try:
        with open(path, "rb") as fh:
            entry = pickle.load(fh, encoding="latin1")
        data = np.asarray(entry["data"], dtype=np.uint8)
        labels = np.asarray(entry["labels"] if "labels" in entry else entry["fine_labels"], dtype=np.int64)
    except (pickle.UnpicklingError, EOFError, KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ValueError(f"{path}: CIFAR-10 の形式で読めません / cannot be read as a CIFAR-10 batch: "
                         f"{type(exc).__name__}: {exc}") from exc
    if data.ndim != 2 or data.shape[1] != 3072 or labels.shape != (len(data),):
        raise ValueError(f"{path}: CIFAR-10 の形式ではありません / not in CIFAR-10's format: data {data.shape}, "
                         f"labels {labels.shape} (expected N x 3072 and N)")
    if len(labels) and (labels.min() < 0 or labels.max() >= NUM_CLASSES):
        raise ValueError(f"{path}: ラベルが 0〜9 の範囲外です / labels outside 0-9")
    return data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1), labels


def load(directory: Path | str | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(x_train, y_train, x_test, y_test)``: images (N, 32, 32, 3) uint8 (H, W, RGB), labels (N,) int64.

    Training images are the five data batches in order, test images the test batch. Reads the pickles
    itself (the profile is :func:`profile`'s). Raises FileNotFoundError when files are missing and
    ValueError when they are not in the format.
    """
    batches = folder(directory)
    missing = [name for name in (*TRAIN_FILES, TEST_FILE) if not (batches / name).is_file()]
    if missing:
        raise FileNotFoundError(_missing_message(batches, missing))
    parts = [_read_batch(batches / name) for name in TRAIN_FILES]
    x_test, y_test = _read_batch(batches / TEST_FILE)
    x_train = np.ascontiguousarray(np.concatenate([x for x, _ in parts]))
    y_train = np.concatenate([y for _, y in parts])
    return x_train, y_train, np.ascontiguousarray(x_test), y_test


def label_names(directory: Path | str | None = None) -> list[str]:
    """The class names of ``batches.meta`` (CIFAR-10's airplane … truck, or the stand-in's shapes)."""
    with open(folder(directory) / META_FILE, "rb") as fh:
        return [str(name) for name in pickle.load(fh, encoding="latin1")["label_names"]]


def check(directory: Path | str | None = None) -> tuple[bool, str]:
    """Is CIFAR-10 present and valid? ``(ok, one line: profile, counts, where)``."""
    batches = folder(directory)
    try:
        kind = profile(directory)
        x_train, _, x_test, _ = load(directory)
    except (OSError, ValueError) as exc:
        return False, str(exc)
    what = "real CIFAR-10 (7 md5 sums verified)" if kind == REAL else "stand-in (synthetic shapes, not CIFAR-10)"
    return True, f"{kind}: {what}, {len(x_train)} train / {len(x_test)} test images 32x32x3 uint8, {batches}"


# ---------------------------------------------------------------------------------- fetching


def _safe_members(archive: tarfile.TarFile) -> list[tarfile.TarInfo]:
    """The archive's regular files and folders under cifar-10-batches-py/ (no links, no paths outside)."""
    members = []
    for member in archive.getmembers():
        parts = Path(member.name).parts
        if not parts or parts[0] != FOLDER or ".." in parts or Path(member.name).is_absolute():
            continue
        if member.isfile() or member.isdir():
            members.append(member)
    return members


def fetch(directory: Path | str | None = None, *, url: str = URL, timeout: float = 60) -> Path:
    """Download ``cifar-10-python.tar.gz``, verify its md5, and unpack ``cifar-10-batches-py`` into ``directory``.

    Nothing is downloaded when the real folder is already there. Raises ConnectionError when it cannot
    be downloaded (offline) and ValueError when a checksum is wrong; a stand-in already there is only
    replaced by verified files. Returns the folder.
    """
    directory = Path(directory) if directory is not None else data_dir()
    batches = directory / FOLDER
    try:
        if profile(directory) == REAL:
            _marker(batches).unlink(missing_ok=True)
            return batches
    except (OSError, ValueError):
        pass
    directory.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=directory, prefix=".cifar10-fetch-") as tmp:
        part = Path(tmp) / ARCHIVE
        download("CIFAR-10", url, part, digest=("md5", ARCHIVE_MD5), timeout=timeout, offline_help=(
            f"ネットワークのある PC で {ARCHIVE} (md5 {ARCHIVE_MD5}) を取得して {directory} に展開するか、"
            f"`autograder data standin cifar10` で代用データを使ってください / unpack {ARCHIVE} fetched elsewhere "
            f"into {directory}, or use the stand-in (`autograder data standin cifar10`)"))
        unpacked = Path(tmp) / "unpacked"
        with tarfile.open(part, "r:gz") as archive:
            archive.extractall(unpacked, members=_safe_members(archive), filter="data")
        wrong = [name for name in MD5 if not (unpacked / FOLDER / name).is_file()
                 or file_digest(unpacked / FOLDER / name, "md5") != MD5[name]]
        if wrong:
            raise ValueError(f"{ARCHIVE} の中身の md5 が違います / wrong md5 inside {ARCHIVE}: {', '.join(wrong)}")
        if batches.exists():
            shutil.rmtree(batches)
        (unpacked / FOLDER).replace(batches)
    return batches


# ---------------------------------------------------------------------------------- stand-in


class _Python2Pickler(pickle._Pickler):  # the pure-Python pickler: its dispatch table can be extended
    """Protocol 2, writing ``str`` and ``bytes`` as Python 2's ``str`` (BINSTRING), as CIFAR-10's files were.

    So the stand-in reads back like the real files: ``str`` with ``encoding="latin1"``, ``bytes`` with
    ``encoding="bytes"``, and numpy's reconstructor is named as Python 2's numpy named it.
    """

    dispatch = dict(pickle._Pickler.dispatch)

    def _save_py2_str(self, raw: bytes) -> None:
        if len(raw) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(raw)]) + raw)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(raw)) + raw)

    def save_str(self, obj: str) -> None:
        self._save_py2_str(obj.encode("latin1"))
        self.memoize(obj)

    def save_bytes(self, obj: bytes) -> None:
        self._save_py2_str(obj)
        self.memoize(obj)

    def save_global(self, obj, name=None) -> None:
        module = getattr(obj, "__module__", "")
        if module.startswith("numpy._core"):  # numpy 2's module; CIFAR-10's files name numpy.core (still importable)
            self.write(pickle.GLOBAL + f"numpy.core{module[len('numpy._core'):]}\n{name or obj.__name__}\n".encode())
            self.memoize(obj)
            return
        super().save_global(obj, name)

    dispatch[str] = save_str
    dispatch[bytes] = save_bytes


def _python2_pickle(obj: object) -> bytes:
    buffer = io.BytesIO()
    _Python2Pickler(buffer, protocol=2).dump(obj)
    return buffer.getvalue()


def _shape_mask(k: int, rng: np.random.Generator) -> np.ndarray:
    """A 32x32 boolean mask: class ``k``'s shape in a random-size patch at a random position."""
    side = int(rng.integers(*_PATCH))
    top, left = (int(v) for v in rng.integers(0, 33 - side, size=2))
    yy, xx = np.mgrid[0:32, 0:32]
    y, x = yy - top, xx - left
    inside = (y >= 0) & (y < side) & (x >= 0) & (x < side)
    centre = (side - 1) / 2
    r = np.hypot(y - centre, x - centre)
    phase = int(rng.integers(0, 4))
    if k == 0:  # horizontal stripes, period 4
        m = ((y + phase) // 2) % 2 == 0
    elif k == 1:  # vertical stripes
        m = ((x + phase) // 2) % 2 == 0
    elif k == 2:  # diagonal stripes, either diagonal (a flipped image stays in its class)
        d = x + y if rng.random() < 0.5 else x - y + 64
        m = ((d + phase) // 2) % 2 == 0
    elif k == 3:  # checkerboard of 3x3 squares
        m = ((x // 3) + (y // 3)) % 2 == 0
    elif k == 4:  # a grid of 2x2 dots
        m = ((x % 5) < 2) & ((y % 5) < 2)
    elif k == 5:  # concentric rings
        m = (r <= centre) & ((r.astype(int) // 2) % 2 == 0)
    elif k == 6:  # filled disc
        m = r <= centre
    elif k == 7:  # plus
        m = (np.abs(x - centre) <= 1.5) | (np.abs(y - centre) <= 1.5)
    elif k == 8:  # square frame
        m = np.minimum(np.minimum(x, side - 1 - x), np.minimum(y, side - 1 - y)) < 3
    else:  # X: both diagonals
        m = (np.abs(x - y) <= 1.5) | (np.abs(x + y - (side - 1)) <= 1.5)
    return m & inside


def standin_images(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``n`` stand-in images (n, 32, 32, 3) uint8 and labels (n,) int64, classes balanced, in random order."""
    labels = rng.permutation(np.arange(n) % NUM_CLASSES).astype(np.int64)
    masks = np.stack([_shape_mask(int(k), rng) for k in labels]).astype(np.float64)[..., None] if n else \
        np.zeros((0, 32, 32, 1))
    background = rng.uniform(0, 255, size=(n, 1, 1, 3))
    colour = rng.uniform(0, 255, size=(n, 1, 1, 3))
    diff = colour - background
    norm = np.linalg.norm(diff, axis=-1, keepdims=True)
    colour = np.where(norm < _MIN_CONTRAST, background + diff / np.maximum(norm, 1e-9) * _MIN_CONTRAST, colour)
    images = background * (1 - masks) + np.clip(colour, 0, 255) * masks + rng.normal(0, _NOISE, size=(n, 32, 32, 3))
    return np.clip(np.rint(images), 0, 255).astype(np.uint8), labels


def standin_arrays(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The stand-in's ``(x_train, y_train, x_test, y_test)`` as :func:`load` returns them; same seed, same arrays."""
    rng = np.random.default_rng(seed)
    x_train, y_train = standin_images(len(TRAIN_FILES) * STANDIN_PER_BATCH, rng)
    x_test, y_test = standin_images(STANDIN_TEST, rng)
    return x_train, y_train, x_test, y_test


def _batch(images: np.ndarray, labels: np.ndarray, batch_label: str, start: int) -> dict:
    """A batch dict as CIFAR-10's: data N x 3072 (R, G, B planes), labels as a list of ints."""
    data = np.ascontiguousarray(images.transpose(0, 3, 1, 2).reshape(len(images), 3072))
    names = [f"{STANDIN_LABEL_NAMES[y]}_s_{start + i:06d}.png" for i, y in enumerate(labels)]
    return {"batch_label": batch_label, "labels": [int(y) for y in labels], "data": data, "filenames": names}


def write_standin(directory: Path | str, *, seed: int = 0) -> Path:
    """Write the stand-in ``cifar-10-batches-py`` (seven files and the ``STANDIN`` marker) into ``directory``.

    Deterministic: the same seed writes the same bytes. Refuses to replace the real CIFAR-10
    (FileExistsError). Returns the folder.
    """
    directory = Path(directory)
    batches = directory / FOLDER
    if all((batches / name).is_file() for name in MD5):
        try:
            real = profile(directory) == REAL
        except ValueError:
            real = False
        if real:
            raise FileExistsError(
                f"{batches} は本物の CIFAR-10 なので、代用データで上書きしません / {batches} is the real CIFAR-10: "
                "not replacing it with the stand-in (move it away first if that is what you want)"
            )
    x_train, y_train, x_test, y_test = standin_arrays(seed)
    files = {}
    for i, name in enumerate(TRAIN_FILES):
        part = slice(i * STANDIN_PER_BATCH, (i + 1) * STANDIN_PER_BATCH)
        files[name] = _python2_pickle(_batch(x_train[part], y_train[part], f"training batch {i + 1} of 5",
                                             part.start))
    files[TEST_FILE] = _python2_pickle(_batch(x_test, y_test, "testing batch 1 of 1", 0))
    files[META_FILE] = _python2_pickle({"num_cases_per_batch": STANDIN_PER_BATCH,
                                        "label_names": list(STANDIN_LABEL_NAMES), "num_vis": 3072})
    batches.mkdir(parents=True, exist_ok=True)
    _marker(batches).unlink(missing_ok=True)  # while files change, the folder is no valid stand-in
    for name, content in files.items():
        tmp = batches / f".{name}.part"
        tmp.write_bytes(content)
        tmp.replace(batches / name)
    lines = [
        f"stand-in for CIFAR-10, not the real data (autograder.datasets.cifar10.write_standin, seed={seed}): "
        f"{len(x_train)} train / {len(x_test)} test images of synthetic shapes, classes {', '.join(STANDIN_LABEL_NAMES)}",
        *(f"{name} md5 {hashlib.md5(content).hexdigest()}" for name, content in files.items()),
    ]
    _marker(batches).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return batches


# ---------------------------------------------------------------------------------- the grader's test copies


COPY_MAX_SHIFT = 2  # pixels (never 0 and 0), reflected at the border
COPY_GAIN = (0.9, 1.1)  # brightness: every pixel times a factor in this range, per image
COPY_OFFSET = 8.0  # colour: plus a per-image, per-channel offset in [-8, 8] (0-255 scale)


def test_copies(images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The grader's copies of test images: shifted by (dy, dx) in [-2, 2]^2, not (0, 0), with the border reflected,
    then a mild brightness and colour jitter, rounded back to uint8.

    ``images``: uint8 (N, 32, 32, 3) (H, W, RGB); returns a new uint8 (N, 32, 32, 3) in the same order. Pure: the
    shifts and jitters are drawn from ``rng`` only (the grader passes one drawn with the course's salt). No copy is
    byte for byte an image of the data directory, so a table of its test images finds none of them; a network
    trained with the usual augmentation (crops, flips) barely notices.
    """
    images = np.asarray(images)
    n = len(images)
    shifts = np.stack([rng.integers(-COPY_MAX_SHIFT, COPY_MAX_SHIFT + 1, size=n) for _ in range(2)], axis=1)
    still = ~shifts.any(axis=1)
    shifts[still, rng.integers(0, 2, size=int(still.sum()))] = rng.choice([-1, 1], size=int(still.sum()))
    gain = rng.uniform(*COPY_GAIN, size=(n, 1, 1, 1))
    offset = rng.uniform(-COPY_OFFSET, COPY_OFFSET, size=(n, 1, 1, 3))
    pad = COPY_MAX_SHIFT
    padded = np.pad(images, ((0, 0), (pad, pad), (pad, pad), (0, 0)), mode="reflect")
    h, w = images.shape[1:3]
    shifted = np.empty(images.shape, dtype=np.float64)
    for i, (dy, dx) in enumerate(shifts):
        shifted[i] = padded[i, pad - dy:pad - dy + h, pad - dx:pad - dx + w]
    return np.clip(np.rint(shifted * gain + offset), 0, 255).astype(np.uint8)

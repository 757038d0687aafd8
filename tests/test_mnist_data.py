"""MNIST (``autograder.datasets.mnist``): the stand-in's format and determinism, sha256 verification, profiles,
the messages when something is missing or wrong, and fetch's download path (never against the network).

The real MNIST cannot be downloaded here, so a "real" file is simulated: the stand-in's mnist.npz without its
marker, its sha256 patched in as the published one. Every test that reaches fetch replaces urllib's urlopen
first, and points Keras's cache ($KERAS_HOME, ~/.keras) at empty temporary folders.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
import io
import os
import re
import stat
import urllib.error
import zipfile
from pathlib import Path

import nbformat
import numpy as np
import pytest

from autograder.datasets import ABSENT, DATA_ENV, REAL, STANDIN, STANDIN_MARKER, mnist, profiles

from conftest import REPO, serve_downloads

SHAPES = {
    "x_train": (mnist.STANDIN_TRAIN, 28, 28),
    "y_train": (mnist.STANDIN_TRAIN,),
    "x_test": (mnist.STANDIN_TEST, 28, 28),
    "y_test": (mnist.STANDIN_TEST,),
}


@pytest.fixture(scope="module")
def standin(tmp_path_factory) -> Path:
    """A data directory with the stand-in (seed 0); tests that change files copy it first."""
    directory = tmp_path_factory.mktemp("standin")
    mnist.write_standin(directory)
    return directory


@pytest.fixture(scope="module")
def arrays(standin) -> dict[str, np.ndarray]:
    with np.load(standin / mnist.FILENAME, allow_pickle=False) as f:
        return {k: f[k] for k in f.files}


def _copy(src: Path, dest: Path, *, marker: bool = True) -> Path:
    dest.mkdir(parents=True)
    (dest / mnist.FILENAME).write_bytes((src / mnist.FILENAME).read_bytes())
    if marker:
        (dest / STANDIN_MARKER).write_bytes((src / STANDIN_MARKER).read_bytes())
    return dest


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def fake_real(standin, tmp_path, monkeypatch) -> Path:
    """A folder that passes as Keras's MNIST: the stand-in's file without the marker, its sha256 patched in."""
    directory = _copy(standin, tmp_path / "real", marker=False)
    monkeypatch.setattr(mnist, "SHA256", _sha256(directory / mnist.FILENAME))
    return directory


@pytest.fixture
def no_keras_cache(tmp_path, monkeypatch) -> Path:
    """Keras's own cache is an empty folder of ours (fetch would otherwise copy a real ~/.keras/datasets/mnist.npz)."""
    home = tmp_path / "home"
    (home / ".keras").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("KERAS_HOME", str(home / "keras-home"))
    return home


# ------------------------------------------------------------------ the stand-in's format


def test_the_file_is_an_npz_with_kerass_four_arrays_and_nothing_else(standin):
    with zipfile.ZipFile(standin / mnist.FILENAME) as zf:
        names = zf.namelist()
        assert names == [f"{k}.npy" for k in mnist.KEYS]  # np.savez's member names, Keras's order
        assert all(info.compress_type == zipfile.ZIP_DEFLATED for info in zf.infolist())  # as savez_compressed
    assert sorted(p.name for p in standin.iterdir()) == sorted([mnist.FILENAME, STANDIN_MARKER])


def test_the_arrays_have_mnists_dtypes_and_shapes(arrays):
    assert set(arrays) == {"x_train", "y_train", "x_test", "y_test"}
    for key, shape in SHAPES.items():
        assert arrays[key].dtype == np.uint8, key
        assert arrays[key].shape == shape, key
    for key in ("y_train", "y_test"):
        assert arrays[key].min() == 0 and arrays[key].max() == 9


def test_the_classes_are_balanced(arrays):
    assert np.bincount(arrays["y_train"], minlength=10).tolist() == [mnist.STANDIN_TRAIN // 10] * 10
    assert np.bincount(arrays["y_test"], minlength=10).tolist() == [mnist.STANDIN_TEST // 10] * 10


def test_the_images_are_white_digits_on_black_using_the_whole_range(arrays):
    x = arrays["x_train"].astype(np.float64)
    assert x.min() == 0 and x.max() == 255
    border = np.concatenate([x[:, :2].ravel(), x[:, -2:].ravel(), x[:, :, :2].ravel(), x[:, :, -2:].ravel()])
    centre = x[:, 10:18, 10:18]
    assert np.median(border) == 0 and border.mean() < 10  # background: black, a little noise
    assert centre.mean() > 4 * border.mean() + 20  # the ink is in the middle, as MNIST's centred digits
    assert np.mean(x.reshape(len(x), -1).max(axis=1) >= 200) > 0.95  # almost every image has white strokes


def test_kerass_own_load_data_reads_the_stand_in(standin, monkeypatch):
    """keras.datasets.mnist.load_data() with its download (get_file) pointed at our file."""
    from keras.src.datasets import mnist as keras_mnist

    asked = []

    def get_file(fname=None, origin=None, file_hash=None, **kwargs):
        asked.append((fname, origin, file_hash))
        return str(standin / mnist.FILENAME)

    monkeypatch.setattr(keras_mnist, "get_file", get_file)
    (x_train, y_train), (x_test, y_test) = keras_mnist.load_data()
    (ours_x_train, ours_y_train), (ours_x_test, ours_y_test) = mnist.load(standin)
    assert np.array_equal(x_train, ours_x_train) and np.array_equal(y_train, ours_y_train)
    assert np.array_equal(x_test, ours_x_test) and np.array_equal(y_test, ours_y_test)
    assert asked == [("mnist.npz", mnist.URL, mnist.SHA256)]  # Keras's file, origin and digest are ours


def test_the_published_digest_and_url_are_kerass():
    """Read from Keras's source (not imported): the file_hash and origin that load_data passes to get_file."""
    spec = importlib.util.find_spec("keras")
    source = (Path(spec.origin).parent / "src" / "datasets" / "mnist.py").read_text(encoding="utf-8")
    hashes = re.findall(r'"([0-9a-f]{64})"', source)
    assert hashes == [mnist.SHA256]
    assert "tf-keras-datasets/" in source and mnist.URL.endswith("tf-keras-datasets/mnist.npz")
    assert mnist.URL.startswith("https://storage.googleapis.com/tensorflow/")


def _notebook_loader():
    """The load_mnist function of lab 04's locked "load_data" cell, alone (no plotting, no call)."""
    nb = nbformat.read(REPO / "source" / "lab04" / "04_n.ipynb", as_version=4)
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "load_data")
    tree = ast.parse(cell.source)
    tree.body = [node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name == "load_mnist"]
    assert len(tree.body) == 1
    keras_calls = []

    class NoKeras:  # the notebook falls back to Keras's download only when $DL_LABS_DATA has no mnist.npz
        class datasets:  # noqa: N801
            class mnist:  # noqa: N801
                @staticmethod
                def load_data():
                    keras_calls.append(1)
                    raise AssertionError("the notebook went to Keras's download")

    namespace = {"np": np, "os": os, "keras": NoKeras}
    exec(compile(tree, "load_data cell", "exec"), namespace)
    return namespace["load_mnist"], keras_calls


def test_the_notebooks_own_reader_gets_the_same_arrays_from_the_data_directory(standin, monkeypatch):
    load_mnist, keras_calls = _notebook_loader()
    monkeypatch.setenv(DATA_ENV, str(standin))
    (x_train, y_train), (x_test, y_test) = load_mnist()
    (ours_x_train, ours_y_train), (ours_x_test, ours_y_test) = mnist.load(standin)
    assert np.array_equal(x_train, ours_x_train) and np.array_equal(y_train, ours_y_train)
    assert np.array_equal(x_test, ours_x_test) and np.array_equal(y_test, ours_y_test)
    assert keras_calls == []


def test_load_returns_the_arrays_as_keras_does(standin, arrays):
    (x_train, y_train), (x_test, y_test) = mnist.load(standin)
    for key, got in (("x_train", x_train), ("y_train", y_train), ("x_test", x_test), ("y_test", y_test)):
        assert np.array_equal(got, arrays[key]) and got.dtype == np.uint8, key
    want = mnist.standin_arrays(0)
    assert all(np.array_equal(want[k], arrays[k]) for k in mnist.KEYS)  # the file holds exactly standin_arrays


def test_the_stand_in_is_deterministic_and_the_seed_matters(standin, tmp_path):
    again = mnist.write_standin(tmp_path / "again")
    assert again == tmp_path / "again" / mnist.FILENAME
    for name in (mnist.FILENAME, STANDIN_MARKER):
        assert (tmp_path / "again" / name).read_bytes() == (standin / name).read_bytes(), name
    other = mnist.write_standin(tmp_path / "seed1", seed=1)
    assert other.read_bytes() != (standin / mnist.FILENAME).read_bytes()
    assert "seed=1" in (tmp_path / "seed1" / STANDIN_MARKER).read_text(encoding="utf-8")
    assert mnist.profile(tmp_path / "seed1") == STANDIN


def test_the_file_is_readable_by_other_users(standin):
    """The grader's sandboxed kernels run as another user: the file must not keep the temporary file's 0600."""
    assert stat.S_IMODE((standin / mnist.FILENAME).stat().st_mode) == 0o644


def test_test_images_come_from_other_source_images_than_training_images():
    from sklearn.datasets import load_digits

    digits = load_digits()
    train_idx, test_idx = mnist._source_split(digits.target, digits.images, np.random.default_rng(0))
    assert not set(train_idx.tolist()) & set(test_idx.tolist())
    train_pixels = {digits.images[i].tobytes() for i in train_idx}
    assert not any(digits.images[i].tobytes() in train_pixels for i in test_idx)  # not even an identical copy
    for digit in range(10):  # every digit has test sources, about a quarter of them
        n_test = np.sum(digits.target[test_idx] == digit)
        n_all = np.sum(digits.target == digit)
        assert 0.15 * n_all < n_test <= 0.25 * n_all + 1, digit


def test_no_test_image_is_also_a_training_image(arrays):
    train = {image.tobytes() for image in arrays["x_train"]}
    assert not any(image.tobytes() in train for image in arrays["x_test"])


def test_writing_the_stand_in_again_in_place_gives_the_same_file_and_keeps_other_marker_lines(standin, tmp_path):
    directory = _copy(standin, tmp_path / "twice")
    before = _sha256(directory / mnist.FILENAME)
    other = "other.bin: stand-in for something else, sha256 0123"
    marker = directory / STANDIN_MARKER
    marker.write_text(other + "\n" + marker.read_text(encoding="utf-8"), encoding="utf-8")
    mnist.write_standin(directory)
    assert _sha256(directory / mnist.FILENAME) == before and mnist.profile(directory) == STANDIN
    lines = marker.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2 and lines[0] == other  # the other line kept, ours replaced (not added again)
    assert lines[1].startswith(f"{mnist.FILENAME}: stand-in for MNIST") and lines[1].endswith(f"sha256 {before}")
    assert sorted(p.name for p in directory.iterdir()) == [STANDIN_MARKER, mnist.FILENAME]  # no temporary files


# ------------------------------------------------------------------ profiles and sha256 verification


def test_the_stand_in_is_recognised_by_its_marker_and_recorded_digest(standin):
    assert mnist.profile(standin) == STANDIN
    assert mnist._marker_digest(standin) == _sha256(standin / mnist.FILENAME)
    assert profiles(standin, ("mnist",)) == {"mnist": STANDIN}


def test_a_file_with_the_published_sha256_is_the_real_profile(fake_real):
    assert mnist.profile(fake_real) == REAL
    assert profiles(fake_real, ("mnist",)) == {"mnist": REAL}
    ok, line = mnist.check(fake_real)
    assert ok and line.startswith("real: real MNIST (sha256 verified), 6000 train / 2000 test images 28x28 uint8"), line


def test_the_published_digest_wins_over_a_stray_marker(fake_real):
    (fake_real / STANDIN_MARKER).write_text("mnist.npz: stand-in, sha256 0000\n", encoding="utf-8")
    assert mnist.profile(fake_real) == REAL


def _corrupt(path: Path) -> None:
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0xFF  # one byte flipped: same size
    path.write_bytes(bytes(raw))


def test_sha256_verification_detects_a_corrupted_real_file(fake_real):
    assert mnist.profile(fake_real) == REAL
    _corrupt(fake_real / mnist.FILENAME)
    with pytest.raises(ValueError) as info:
        mnist.profile(fake_real)
    message = str(info.value)
    assert "neither Keras's MNIST" in message and mnist.SHA256[:12] in message and "a truncated download?" in message
    assert "autograder data fetch mnist" in message and "autograder data standin mnist" in message
    ok, line = mnist.check(fake_real)
    assert not ok and "neither Keras's MNIST" in line
    assert profiles(fake_real, ("mnist",)) == {"mnist": ABSENT}


def test_a_truncated_file_is_detected_by_profile_and_by_load(fake_real):
    path = fake_real / mnist.FILENAME
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(ValueError, match="neither Keras's MNIST"):
        mnist.profile(fake_real)
    with pytest.raises(ValueError, match="cannot be read as .npz") as info:
        mnist.load(fake_real)  # load reads the file and says so too
    assert str(path) in str(info.value)


def _npy_bytes() -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.zeros((2, 28, 28), np.uint8))
    return buffer.getvalue()


@pytest.mark.parametrize("content", [b"<html>Service Unavailable</html>", b"", _npy_bytes()],
                         ids=["html-page", "empty", "npy-not-npz"])
def test_load_says_when_the_file_is_not_an_npz_at_all(tmp_path, content):
    (tmp_path / mnist.FILENAME).write_bytes(content)
    with pytest.raises(ValueError, match="cannot be read as .npz") as info:
        mnist.load(tmp_path)
    assert str(tmp_path / mnist.FILENAME) in str(info.value)


def test_load_says_when_a_compressed_member_is_damaged(standin, tmp_path):
    """Every flipped byte in the compressed data is a ValueError that says so (a bad CRC or a broken deflate stream)."""
    raw = (standin / mnist.FILENAME).read_bytes()
    with zipfile.ZipFile(io.BytesIO(raw)) as zf:
        info = zf.getinfo("x_train.npy")
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)  # the member's compressed data
    for offset in range(0, info.compress_size, info.compress_size // 40):
        damaged = bytearray(raw)
        damaged[start + offset] ^= 0xFF
        (tmp_path / mnist.FILENAME).write_bytes(bytes(damaged))
        with pytest.raises(ValueError, match="cannot be read as .npz"):
            mnist.load(tmp_path)


def test_a_modified_stand_in_is_refused(standin, tmp_path):
    directory = _copy(standin, tmp_path / "modified")
    _corrupt(directory / mnist.FILENAME)
    with pytest.raises(ValueError) as info:
        mnist.profile(directory)
    message = str(info.value)
    assert "the stand-in was modified" in message and STANDIN_MARKER in message
    assert "autograder data standin mnist" in message
    ok, line = mnist.check(directory)
    assert not ok and "the stand-in was modified" in line


def test_a_stand_in_without_its_marker_is_neither(standin, tmp_path):
    directory = _copy(standin, tmp_path / "unmarked", marker=False)
    with pytest.raises(ValueError) as info:
        mnist.profile(directory)
    assert "neither Keras's MNIST" in str(info.value) and f"no {STANDIN_MARKER} file beside it" in str(info.value)


# ------------------------------------------------------------------ files that are not MNIST's format


def _write(directory: Path, **arrays: np.ndarray) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(directory / mnist.FILENAME, **arrays)
    return directory


def _good(n: int = 20) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {
        "x_train": rng.integers(0, 256, (n, 28, 28), dtype=np.uint8), "y_train": (np.arange(n) % 10).astype(np.uint8),
        "x_test": rng.integers(0, 256, (n // 2, 28, 28), dtype=np.uint8),
        "y_test": (np.arange(n // 2) % 10).astype(np.uint8),
    }


def test_load_accepts_any_npz_in_mnists_format(tmp_path):
    arrays = _good()
    (x_train, y_train), (x_test, y_test) = mnist.load(_write(tmp_path, **arrays))
    assert np.array_equal(x_train, arrays["x_train"]) and np.array_equal(y_test, arrays["y_test"])


def test_load_names_missing_arrays(tmp_path):
    arrays = _good()
    del arrays["y_test"]
    with pytest.raises(ValueError, match=r"arrays \['y_test'\] are missing"):
        mnist.load(_write(tmp_path, **arrays))


@pytest.mark.parametrize(("change", "expected"), [
    ({"x_train": np.zeros((20, 28, 28), np.float32)}, "x_train: float32 (20, 28, 28), expected uint8 (N, 28, 28)"),
    ({"x_test": np.zeros((10, 32, 32), np.uint8)}, "x_test: uint8 (10, 32, 32), expected uint8 (N, 28, 28)"),
    ({"x_train": np.zeros((20, 784), np.uint8)}, "x_train: uint8 (20, 784), expected uint8 (N, 28, 28)"),
    ({"y_train": np.zeros(19, np.uint8)}, "y_train: uint8 (19,), expected integer (20,)"),
    ({"y_test": np.zeros(10, np.float32)}, "y_test: float32 (10,), expected integer (10,)"),
    ({"y_train": np.full(20, 10, np.uint8)}, "y_train: labels outside 0-9"),
    ({"y_test": np.full(10, -1, np.int64)}, "y_test: labels outside 0-9"),
], ids=["float-images", "32x32", "flat-images", "short-labels", "float-labels", "label-10", "label-minus-1"])
def test_load_refuses_files_not_in_mnists_format(tmp_path, change, expected):
    with pytest.raises(ValueError) as info:
        mnist.load(_write(tmp_path, **{**_good(), **change}))
    assert "not in MNIST's format" in str(info.value) and expected in str(info.value)


# ------------------------------------------------------------------ missing data


def test_a_missing_file_says_what_is_missing_and_how_to_get_it(tmp_path):
    for call in (mnist.profile, mnist.load):
        with pytest.raises(FileNotFoundError) as info:
            call(tmp_path)
        message = str(info.value)
        assert "MNIST is missing" in message and str(tmp_path / mnist.FILENAME) in message
        assert "autograder data fetch mnist" in message and "autograder data standin mnist" in message
    ok, line = mnist.check(tmp_path)
    assert not ok and "MNIST is missing" in line
    assert profiles(tmp_path, ("mnist",)) == {"mnist": ABSENT}


def test_the_default_directory_is_the_data_directory(standin, monkeypatch):
    monkeypatch.setenv(DATA_ENV, str(standin))
    assert mnist.path() == standin / mnist.FILENAME
    assert mnist.profile() == STANDIN


def test_check_reports_the_stand_in_in_one_line(standin):
    ok, line = mnist.check(standin)
    assert ok
    assert line.startswith("standin: stand-in (made from load_digits, not MNIST), 6000 train / 2000 test images "
                           "28x28 uint8")
    assert str(standin / mnist.FILENAME) in line and "\n" not in line


def test_the_stand_in_never_replaces_the_real_data(fake_real):
    before = _sha256(fake_real / mnist.FILENAME)
    with pytest.raises(FileExistsError, match="is the real MNIST"):
        mnist.write_standin(fake_real)
    assert _sha256(fake_real / mnist.FILENAME) == before and not (fake_real / STANDIN_MARKER).exists()


# ------------------------------------------------------------------ fetch (urlopen replaced: no network)


def test_fetch_downloads_verifies_and_writes_the_file(standin, tmp_path, monkeypatch, no_keras_cache):
    payload = (standin / mnist.FILENAME).read_bytes()
    monkeypatch.setattr(mnist, "SHA256", hashlib.sha256(payload).hexdigest())
    asked = serve_downloads(monkeypatch, payload)
    target = tmp_path / "data"
    assert mnist.fetch(target) == target / mnist.FILENAME
    assert asked == [mnist.URL]
    assert (target / mnist.FILENAME).read_bytes() == payload
    assert stat.S_IMODE((target / mnist.FILENAME).stat().st_mode) == 0o644
    assert sorted(p.name for p in target.iterdir()) == [mnist.FILENAME]  # no marker, no temporary file
    assert mnist.profile(target) == REAL


def test_fetch_replaces_a_stand_in_with_the_verified_file_and_forgets_the_stand_in(standin, tmp_path, monkeypatch,
                                                                                 no_keras_cache):
    target = _copy(standin, tmp_path / "data")
    other = "other.bin: stand-in for something else, sha256 0123"
    (target / STANDIN_MARKER).write_text(other + "\n" + (target / STANDIN_MARKER).read_text(encoding="utf-8"),
                                         encoding="utf-8")
    payload = b"the published file"  # any bytes: their digest is patched in as the published one
    monkeypatch.setattr(mnist, "SHA256", hashlib.sha256(payload).hexdigest())
    serve_downloads(monkeypatch, payload)
    mnist.fetch(target)
    assert (target / mnist.FILENAME).read_bytes() == payload
    assert (target / STANDIN_MARKER).read_text(encoding="utf-8") == other + "\n"  # only the mnist line is gone
    assert mnist.profile(target) == REAL


def test_fetch_removes_a_marker_that_only_named_mnist(standin, tmp_path, monkeypatch, no_keras_cache):
    target = _copy(standin, tmp_path / "data")
    payload = b"the published file"
    monkeypatch.setattr(mnist, "SHA256", hashlib.sha256(payload).hexdigest())
    serve_downloads(monkeypatch, payload)
    mnist.fetch(target)
    assert sorted(p.name for p in target.iterdir()) == [mnist.FILENAME]


def test_a_download_with_the_wrong_sha256_leaves_the_stand_in_untouched(standin, tmp_path, monkeypatch,
                                                                         no_keras_cache):
    target = _copy(standin, tmp_path / "data")
    before = {p.name: p.read_bytes() for p in target.iterdir()}
    serve_downloads(monkeypatch, b"a truncated download")
    with pytest.raises(ValueError) as info:
        mnist.fetch(target)
    message = str(info.value)
    assert "has the wrong sha256" in message and mnist.SHA256 in message and mnist.URL in message
    assert hashlib.sha256(b"a truncated download").hexdigest() in message
    assert {p.name: p.read_bytes() for p in target.iterdir()} == before  # no temporary file either
    assert mnist.profile(target) == STANDIN


def test_fetch_offline_raises_a_connection_error_that_says_what_to_do(tmp_path, monkeypatch, no_keras_cache):
    asked = serve_downloads(monkeypatch, urllib.error.URLError("no network"))
    with pytest.raises(ConnectionError) as info:
        mnist.fetch(tmp_path / "data")
    message = str(info.value)
    assert "cannot download MNIST" in message and mnist.URL in message and "no network" in message
    assert mnist.SHA256[:12] in message and "autograder data standin mnist" in message
    assert asked == [mnist.URL]
    assert list((tmp_path / "data").iterdir()) == []  # the temporary file is gone


def test_fetch_does_not_download_when_the_real_data_is_there(fake_real, monkeypatch, no_keras_cache):
    (fake_real / STANDIN_MARKER).write_text("mnist.npz: stand-in, sha256 0000\n", encoding="utf-8")
    asked = serve_downloads(monkeypatch, urllib.error.URLError("must not be called"))
    before = _sha256(fake_real / mnist.FILENAME)
    assert mnist.fetch(fake_real) == fake_real / mnist.FILENAME
    assert asked == []
    assert _sha256(fake_real / mnist.FILENAME) == before
    assert not (fake_real / STANDIN_MARKER).exists()  # the stray stand-in line is forgotten


@pytest.mark.parametrize("where", ["KERAS_HOME", "HOME"])
def test_fetch_copies_kerass_own_verified_download_instead_of_downloading(standin, tmp_path, monkeypatch,
                                                                          no_keras_cache, where):
    payload = (standin / mnist.FILENAME).read_bytes()
    monkeypatch.setattr(mnist, "SHA256", hashlib.sha256(payload).hexdigest())
    keras_home = Path(os.environ["KERAS_HOME"]) if where == "KERAS_HOME" else no_keras_cache / ".keras"
    (keras_home / "datasets").mkdir(parents=True)
    (keras_home / "datasets" / mnist.FILENAME).write_bytes(payload)
    asked = serve_downloads(monkeypatch, urllib.error.URLError("must not be called"))
    target = mnist.fetch(tmp_path / "data")
    assert asked == [] and target.read_bytes() == payload and mnist.profile(tmp_path / "data") == REAL


def test_fetch_ignores_a_damaged_file_in_kerass_cache(standin, tmp_path, monkeypatch, no_keras_cache):
    payload = (standin / mnist.FILENAME).read_bytes()
    monkeypatch.setattr(mnist, "SHA256", hashlib.sha256(payload).hexdigest())
    cache = Path(os.environ["KERAS_HOME"]) / "datasets"
    cache.mkdir(parents=True)
    (cache / mnist.FILENAME).write_bytes(payload[:1000])  # Keras's download was cut off
    asked = serve_downloads(monkeypatch, payload)
    target = mnist.fetch(tmp_path / "data")
    assert asked == [mnist.URL] and target.read_bytes() == payload

"""CIFAR-10 (``autograder.datasets.cifar10``): the stand-in's format and determinism, md5 verification, profiles,
the messages when something is missing or wrong, and fetch's download path (never against the network).

The real CIFAR-10 cannot be downloaded here, so "real" files are simulated: some files whose md5 sums are
patched in as the published ones. Every test that reaches fetch replaces urllib's urlopen first.
"""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import tarfile
import urllib.error
from pathlib import Path

import numpy as np
import pytest

from autograder.datasets import REAL, STANDIN, STANDIN_MARKER, cifar10

from conftest import serve_downloads

FILES = (*cifar10.TRAIN_FILES, cifar10.TEST_FILE, cifar10.META_FILE)


@pytest.fixture(scope="module")
def standin(tmp_path_factory) -> Path:
    """A data directory with the stand-in (seed 0); tests that change files copy it first."""
    directory = tmp_path_factory.mktemp("standin")
    cifar10.write_standin(directory)
    return directory


def _copy(src: Path, dest: Path) -> Path:
    (dest / cifar10.FOLDER).mkdir(parents=True)
    for p in (src / cifar10.FOLDER).iterdir():
        (dest / cifar10.FOLDER / p.name).write_bytes(p.read_bytes())
    return dest


def _md5s(directory: Path) -> dict[str, str]:
    return {name: hashlib.md5((directory / cifar10.FOLDER / name).read_bytes()).hexdigest() for name in FILES}


@pytest.fixture
def fake_real(standin, tmp_path, monkeypatch) -> Path:
    """A folder that passes as the real CIFAR-10: the stand-in's files without the marker, their md5s patched in."""
    directory = _copy(standin, tmp_path / "real")
    (directory / cifar10.FOLDER / STANDIN_MARKER).unlink()
    monkeypatch.setattr(cifar10, "MD5", _md5s(directory))
    return directory


def _unpickle(path: Path, encoding: str):
    with open(path, "rb") as fh:
        return pickle.load(fh, encoding=encoding)


# ------------------------------------------------------------------ the stand-in's format


def test_the_folder_holds_the_seven_files_of_cifar_10_and_the_marker(standin):
    names = {p.name for p in (standin / cifar10.FOLDER).iterdir()}
    assert names == {*FILES, STANDIN_MARKER}
    assert set(cifar10.MD5) == set(FILES)  # the files verified are exactly the files written


@pytest.mark.parametrize("name", [*cifar10.TRAIN_FILES, cifar10.TEST_FILE])
def test_each_batch_is_a_python_2_pickle_with_cifar_10s_keys_and_types(standin, name):
    raw = (standin / cifar10.FOLDER / name).read_bytes()
    assert raw[:2] == b"\x80\x02"  # protocol 2, as Python 2's cPickle wrote CIFAR-10
    assert b"numpy.core.multiarray" in raw and b"numpy._core" not in raw  # numpy's module as Python 2 named it
    batch = _unpickle(standin / cifar10.FOLDER / name, "bytes")  # how the CIFAR-10 page says to read it
    assert set(batch) == {b"data", b"labels", b"batch_label", b"filenames"}
    data = batch[b"data"]
    n = cifar10.STANDIN_TEST if name == cifar10.TEST_FILE else cifar10.STANDIN_PER_BATCH
    assert isinstance(data, np.ndarray) and data.dtype == np.uint8 and data.shape == (n, 3072)
    assert data.flags["C_CONTIGUOUS"]
    assert isinstance(batch[b"labels"], list) and len(batch[b"labels"]) == n
    assert all(type(y) is int and 0 <= y < 10 for y in batch[b"labels"])
    assert isinstance(batch[b"batch_label"], bytes)
    assert batch[b"batch_label"].startswith(b"testing batch" if name == cifar10.TEST_FILE else b"training batch")
    assert len(batch[b"filenames"]) == n and all(isinstance(f, bytes) for f in batch[b"filenames"])
    latin1 = _unpickle(standin / cifar10.FOLDER / name, "latin1")  # torchvision's way: str keys and values
    assert set(latin1) == {"data", "labels", "batch_label", "filenames"} and isinstance(latin1["batch_label"], str)


def test_batches_meta_names_the_classes(standin):
    meta = _unpickle(standin / cifar10.FOLDER / cifar10.META_FILE, "bytes")
    assert set(meta) == {b"label_names", b"num_cases_per_batch", b"num_vis"}
    assert meta[b"label_names"] == [n.encode() for n in cifar10.STANDIN_LABEL_NAMES]
    assert meta[b"num_vis"] == 3072 and meta[b"num_cases_per_batch"] == cifar10.STANDIN_PER_BATCH
    assert cifar10.label_names(standin) == list(cifar10.STANDIN_LABEL_NAMES)


def test_rows_are_the_r_g_b_planes_each_row_major(standin):
    """Row i of data: 1024 red values, then 1024 green, then 1024 blue, each plane row by row."""
    x_train, y_train, _, _ = cifar10.standin_arrays(0)
    batch = _unpickle(standin / cifar10.FOLDER / "data_batch_2", "bytes")
    row, image = batch[b"data"][5], x_train[cifar10.STANDIN_PER_BATCH + 5]  # image 5 of the second batch
    assert np.array_equal(row[:1024].reshape(32, 32), image[:, :, 0])
    assert np.array_equal(row[1024:2048].reshape(32, 32), image[:, :, 1])
    assert np.array_equal(row[2048:].reshape(32, 32), image[:, :, 2])
    assert row[32 * 3 + 7] == image[3, 7, 0]  # red, row 3, column 7
    assert batch[b"labels"][5] == y_train[cifar10.STANDIN_PER_BATCH + 5]


def test_load_returns_the_images_in_file_order(standin):
    x_train, y_train, x_test, y_test = cifar10.load(standin)
    want = cifar10.standin_arrays(0)
    for got, expected in zip((x_train, y_train, x_test, y_test), want, strict=True):
        assert np.array_equal(got, expected)
    assert x_train.shape == (5 * cifar10.STANDIN_PER_BATCH, 32, 32, 3) and x_train.dtype == np.uint8
    assert x_test.shape == (cifar10.STANDIN_TEST, 32, 32, 3) and y_test.dtype == np.int64
    assert np.bincount(y_train, minlength=10).tolist() == [64] * 10  # balanced classes
    assert np.bincount(y_test, minlength=10).tolist() == [100] * 10


def test_torchvision_reads_the_stand_in_as_cifar_10_once_its_md5_check_is_told_the_stand_ins_sums(standin):
    from torchvision.datasets import CIFAR10

    with pytest.raises(RuntimeError, match="not found or corrupted"):  # the published md5 sums reject it
        CIFAR10(standin, train=True, download=False)
    sums = _md5s(standin)

    class StandinCIFAR10(CIFAR10):
        train_list = [[name, sums[name]] for name in cifar10.TRAIN_FILES]
        test_list = [[cifar10.TEST_FILE, sums[cifar10.TEST_FILE]]]
        meta = {**CIFAR10.meta, "md5": sums[cifar10.META_FILE]}

    train, test = StandinCIFAR10(standin, train=True), StandinCIFAR10(standin, train=False)
    x_train, y_train, x_test, y_test = cifar10.load(standin)
    assert np.array_equal(train.data, x_train) and train.targets == y_train.tolist()
    assert np.array_equal(test.data, x_test) and test.targets == y_test.tolist()
    assert train.classes == list(cifar10.STANDIN_LABEL_NAMES)


def test_the_notebooks_own_reader_gets_the_same_arrays(standin):
    """The released notebooks read the folder with pickle (encoding latin1) and reshape/transpose, as here."""
    x_train, _, _, _ = cifar10.load(standin)
    with open(standin / cifar10.FOLDER / "data_batch_1", "rb") as fh:
        batch = pickle.load(fh, encoding="latin1")
    images = np.asarray(batch["data"], dtype=np.uint8).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    assert np.array_equal(images, x_train[:cifar10.STANDIN_PER_BATCH])


def test_the_stand_in_is_deterministic_and_the_seed_matters(standin, tmp_path):
    again = cifar10.write_standin(tmp_path / "again")
    for name in (*FILES, STANDIN_MARKER):
        assert (again / name).read_bytes() == (standin / cifar10.FOLDER / name).read_bytes(), name
    other = cifar10.write_standin(tmp_path / "seed1", seed=1)
    assert (other / "data_batch_1").read_bytes() != (standin / cifar10.FOLDER / "data_batch_1").read_bytes()
    assert "seed=1" in (other / STANDIN_MARKER).read_text(encoding="utf-8")


def test_no_test_image_is_also_a_training_image(standin):
    x_train, _, x_test, _ = cifar10.load(standin)
    train = {row.tobytes() for row in x_train.reshape(len(x_train), -1)}
    assert not any(row.tobytes() in train for row in x_test.reshape(len(x_test), -1))
    assert len(train) == len(x_train)  # and no duplicates among the training images


def test_writing_the_stand_in_twice_in_place_gives_the_same_files(standin, tmp_path):
    directory = _copy(standin, tmp_path / "twice")
    before = _md5s(directory)
    cifar10.write_standin(directory)
    assert _md5s(directory) == before and cifar10.profile(directory) == STANDIN


# ------------------------------------------------------------------ profiles and md5 verification


def test_the_stand_in_is_recognised_by_its_marker_and_recorded_sums(standin):
    assert cifar10.profile(standin) == STANDIN
    recorded = cifar10._recorded_md5(cifar10.folder(standin))
    assert recorded == _md5s(standin)


def test_files_with_the_published_md5_sums_are_the_real_profile(fake_real):
    assert cifar10.profile(fake_real) == REAL
    ok, line = cifar10.check(fake_real)
    assert ok and line.startswith("real: real CIFAR-10 (7 md5 sums verified)"), line


def test_the_published_sums_win_over_a_stray_marker(fake_real):
    (fake_real / cifar10.FOLDER / STANDIN_MARKER).write_text("stand-in\n", encoding="utf-8")
    assert cifar10.profile(fake_real) == REAL


def _corrupt(path: Path) -> None:
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0xFF  # one byte flipped: same size
    path.write_bytes(bytes(raw))
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))  # a new time even on coarse clocks


def test_md5_verification_detects_a_corrupted_real_file(fake_real):
    assert cifar10.profile(fake_real) == REAL  # verified (and cached) before the damage
    _corrupt(fake_real / cifar10.FOLDER / "data_batch_3")
    with pytest.raises(ValueError) as info:
        cifar10.profile(fake_real)
    message = str(info.value)
    assert "data_batch_3" in message and "wrong md5" in message and "data_batch_1" not in message
    assert "autograder data fetch cifar10" in message
    ok, line = cifar10.check(fake_real)
    assert not ok and "data_batch_3" in line


def test_a_truncated_real_file_is_detected(fake_real):
    path = fake_real / cifar10.FOLDER / cifar10.TEST_FILE
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(ValueError, match="test_batch"):
        cifar10.profile(fake_real)
    with pytest.raises(ValueError, match="cannot be read as a CIFAR-10 batch"):
        cifar10.load(fake_real)  # load reads the pickles and says so too


def test_a_modified_stand_in_is_refused(standin, tmp_path):
    directory = _copy(standin, tmp_path / "modified")
    _corrupt(directory / cifar10.FOLDER / "data_batch_5")
    with pytest.raises(ValueError) as info:
        cifar10.profile(directory)
    assert "stand-in was modified" in str(info.value) and "data_batch_5" in str(info.value)
    assert "autograder data standin cifar10" in str(info.value)


def test_a_stand_in_without_its_marker_is_neither(standin, tmp_path):
    directory = _copy(standin, tmp_path / "unmarked")
    (directory / cifar10.FOLDER / STANDIN_MARKER).unlink()
    with pytest.raises(ValueError, match="neither CIFAR-10"):
        cifar10.profile(directory)


# ------------------------------------------------------------------ missing data


def test_a_missing_folder_says_what_is_missing_and_how_to_get_it(tmp_path):
    for call in (cifar10.profile, cifar10.load):
        with pytest.raises(FileNotFoundError) as info:
            call(tmp_path)
        message = str(info.value)
        assert "CIFAR-10 is missing" in message and "data_batch_1" in message and "test_batch" in message
        assert "autograder data fetch cifar10" in message and "autograder data standin cifar10" in message
    ok, line = cifar10.check(tmp_path)
    assert not ok and "CIFAR-10 is missing" in line


def test_a_single_missing_file_is_named(standin, tmp_path):
    directory = _copy(standin, tmp_path / "partial")
    (directory / cifar10.FOLDER / "data_batch_4").unlink()
    with pytest.raises(FileNotFoundError) as info:
        cifar10.profile(directory)
    assert "(missing: data_batch_4)" in str(info.value)


def test_check_reports_the_stand_in_in_one_line(standin):
    ok, line = cifar10.check(standin)
    assert ok
    assert line.startswith("standin: stand-in (synthetic shapes, not CIFAR-10), 640 train / 1000 test images "
                           "32x32x3 uint8")
    assert str(cifar10.folder(standin)) in line


def test_the_stand_in_never_replaces_the_real_data(fake_real):
    before = _md5s(fake_real)
    with pytest.raises(FileExistsError, match="real CIFAR-10"):
        cifar10.write_standin(fake_real)
    assert _md5s(fake_real) == before and not (fake_real / cifar10.FOLDER / STANDIN_MARKER).exists()


# ------------------------------------------------------------------ fetch (urlopen replaced: no network)


def _archive(members: dict[str, bytes], *, links: dict[str, str] | None = None) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, content in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
        for name, target in (links or {}).items():
            info = tarfile.TarInfo(name)
            info.type = tarfile.SYMTYPE
            info.linkname = target
            tar.addfile(info)
    return buffer.getvalue()


def _release_archive(standin: Path, extra: dict[str, bytes] | None = None, links: dict[str, str] | None = None):
    members = {f"{cifar10.FOLDER}/{name}": (standin / cifar10.FOLDER / name).read_bytes() for name in FILES}
    members[f"{cifar10.FOLDER}/readme.html"] = b"<html></html>"
    return _archive({**members, **(extra or {})}, links=links)


def test_fetch_downloads_verifies_and_unpacks_only_safe_members(standin, tmp_path, monkeypatch):
    monkeypatch.setattr(cifar10, "MD5", _md5s(standin))
    archive = _release_archive(
        standin,
        extra={"../escaped.txt": b"x", "/tmp/absolute-cifar-test.txt": b"x", f"{cifar10.FOLDER}/../../up.txt": b"x",
               "other-folder/data_batch_1": b"x"},
        links={f"{cifar10.FOLDER}/link": "/etc/passwd"},
    )
    monkeypatch.setattr(cifar10, "ARCHIVE_MD5", hashlib.md5(archive).hexdigest())
    asked = serve_downloads(monkeypatch, archive)
    target = tmp_path / "data"
    batches = cifar10.fetch(target)
    assert asked == [cifar10.URL]
    assert batches == target / cifar10.FOLDER
    assert sorted(p.name for p in batches.iterdir()) == sorted([*FILES, "readme.html"])
    assert not (tmp_path / "escaped.txt").exists() and not (tmp_path / "up.txt").exists()
    assert not Path("/tmp/absolute-cifar-test.txt").exists()
    assert sorted(p.name for p in target.iterdir()) == [cifar10.FOLDER]  # no leftovers (other-folder, temp files)
    assert cifar10.profile(target) == REAL


def test_safe_members_keeps_only_files_and_folders_inside_the_folder():
    archive = tarfile.open(fileobj=io.BytesIO(_archive(
        {f"{cifar10.FOLDER}/data_batch_1": b"a", "../evil": b"b", "/abs/evil": b"c",
         f"{cifar10.FOLDER}/../evil": b"d", "elsewhere/data_batch_2": b"e"},
        links={f"{cifar10.FOLDER}/data_batch_2": "../../evil"})), mode="r:gz")
    assert [m.name for m in cifar10._safe_members(archive)] == [f"{cifar10.FOLDER}/data_batch_1"]


def test_fetch_replaces_a_stand_in_only_with_verified_files(standin, tmp_path, monkeypatch):
    # The target is a stand-in of another seed; the archive holds the seed-0 files, whose sums play the published ones.
    target = tmp_path / "data"
    cifar10.write_standin(target, seed=1)
    before = _md5s(target)
    published = _md5s(standin)
    archive = _release_archive(standin)
    asked = serve_downloads(monkeypatch, archive)
    monkeypatch.setattr(cifar10, "MD5", {**published, "test_batch": "0" * 32})  # the archive's test_batch is wrong
    monkeypatch.setattr(cifar10, "ARCHIVE_MD5", hashlib.md5(archive).hexdigest())
    assert cifar10.profile(target) == STANDIN
    with pytest.raises(ValueError, match="wrong md5 inside cifar-10-python.tar.gz: test_batch"):
        cifar10.fetch(target)
    monkeypatch.setattr(cifar10, "MD5", published)
    monkeypatch.setattr(cifar10, "ARCHIVE_MD5", "f" * 32)  # the download itself is damaged
    with pytest.raises(ValueError, match="has the wrong md5"):
        cifar10.fetch(target)
    assert len(asked) == 2
    assert _md5s(target) == before and cifar10.profile(target) == STANDIN  # the stand-in is still there, untouched
    assert (target / cifar10.FOLDER / STANDIN_MARKER).exists()
    assert sorted(p.name for p in target.iterdir()) == [cifar10.FOLDER]
    monkeypatch.setattr(cifar10, "ARCHIVE_MD5", hashlib.md5(archive).hexdigest())  # now everything verifies
    assert cifar10.fetch(target) == target / cifar10.FOLDER
    assert _md5s(target) == published and cifar10.profile(target) == REAL
    assert not (target / cifar10.FOLDER / STANDIN_MARKER).exists()  # the stand-in's marker went with it
    assert sorted(p.name for p in target.iterdir()) == [cifar10.FOLDER]


def test_fetch_offline_raises_a_connection_error_that_says_what_to_do(tmp_path, monkeypatch):
    serve_downloads(monkeypatch, urllib.error.URLError("no network"))
    with pytest.raises(ConnectionError) as info:
        cifar10.fetch(tmp_path)
    message = str(info.value)
    assert "cannot download CIFAR-10" in message and cifar10.ARCHIVE_MD5 in message
    assert "autograder data standin cifar10" in message


def test_fetch_does_not_download_when_the_real_data_is_there(fake_real, monkeypatch):
    asked = serve_downloads(monkeypatch, urllib.error.URLError("must not be called"))
    assert cifar10.fetch(fake_real) == fake_real / cifar10.FOLDER
    assert asked == []

"""Where the training labs' data lives, how a course configures it, and the `autograder data` command."""

from __future__ import annotations

import pytest

from autograder import datasets, labs
from autograder.authoring.release import ReleaseError, generate_solutions
from autograder.course import Course

from conftest import copy_course, run_autograder


@pytest.fixture
def no_data_env(monkeypatch):
    monkeypatch.delenv(datasets.DATA_ENV, raising=False)


def test_the_course_data_folder_is_the_default(course, no_data_env):
    assert Course(course).data_dir == course / "data"


def test_nbgrader_config_sets_the_data_directory_relative_to_the_course(course, no_data_env):
    with open(course / "nbgrader_config.py", "a", encoding="utf-8") as fh:
        fh.write('\nc.Datasets.directory = "../shared-data"\n')
    assert Course(course).data_dir == (course.parent / "shared-data").resolve()


def test_the_environment_variable_wins_over_the_config(course, monkeypatch, tmp_path):
    with open(course / "nbgrader_config.py", "a", encoding="utf-8") as fh:
        fh.write('\nc.Datasets.directory = "../shared-data"\n')
    monkeypatch.setenv(datasets.DATA_ENV, str(tmp_path / "elsewhere"))
    assert Course(course).data_dir == tmp_path / "elsewhere"


def test_outside_a_course_the_user_cache_is_used(no_data_env):
    assert datasets.data_dir().parts[-2:] == (".cache", "dl-labs")


def test_labs_name_the_datasets_their_checks_load():
    assert labs.datasets_of("lab04") == ("mnist",)
    assert labs.datasets_of("lab05") == ("cifar10",)
    assert labs.datasets_of("lab03") == ()
    assert labs.datasets_of("lab99") == ()


def test_profiles_say_absent_for_missing_or_foreign_files(tmp_path):
    (tmp_path / "mnist.npz").write_bytes(b"not an npz")
    assert datasets.profiles(tmp_path) == {"mnist": datasets.ABSENT, "cifar10": datasets.ABSENT}


def test_releasing_a_training_lab_without_its_data_says_how_to_get_it(course, no_data_env):
    with pytest.raises(ReleaseError) as info:
        generate_solutions(Course(course), "lab04", out_dir=course / "out")
    message = str(info.value)
    assert "mnist" in message and "autograder data standin mnist" in message and "autograder data fetch mnist" in message
    assert not (course / "out" / "lab04").exists()  # refused before anything was executed or written


def test_data_command_writes_checks_and_reports_stand_ins(tmp_path):
    root = copy_course(tmp_path / "course")
    data = tmp_path / "data"
    proc = run_autograder("data", "check", "--dir", str(data), cwd=root)
    assert proc.returncode == 1 and "✗ mnist" in proc.stdout and "✗ cifar10" in proc.stdout

    proc = run_autograder("data", "standin", "mnist", "--dir", str(data), cwd=root)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "✓ mnist: standin" in proc.stdout and "cifar10" not in proc.stdout
    assert (data / "mnist.npz").is_file()

    proc = run_autograder("data", "check", "mnist", "--dir", str(data), cwd=root)
    assert proc.returncode == 0 and "✓ mnist: standin" in proc.stdout

    proc = run_autograder("data", "check", "imagenet", "--dir", str(data), cwd=root)
    assert proc.returncode == 2 and "unknown dataset imagenet" in proc.stdout


def test_data_command_defaults_to_the_course_data_folder(tmp_path, monkeypatch):
    monkeypatch.delenv(datasets.DATA_ENV, raising=False)
    root = copy_course(tmp_path / "course")
    proc = run_autograder("data", "standin", "mnist", cwd=root)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (root / "data" / "mnist.npz").is_file()
    assert str(root / "data") in proc.stdout.replace("\n", "")

# Everything a newcomer needs: `make demo`, then `make test`.
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: venv demo test lint release check-sync samples bench gpu-bench clean

venv: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	scripts/install-sandbox
	scripts/install-browser
	scripts/install-postgresql
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet pip==26.3
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

release: venv
	$(BIN)/autograder release

check-sync: venv
	$(BIN)/autograder check-sync

# The instructor's and the TA's steps on a scratch course in demo/ (ignored by git): release the labs,
# import the roster, collect Moodle's zip of lab 03's sample class, grade it, and write its reports again from
# the gradebook as after hand grading. `autograder formgrader` is interactive: the demo starts it, prints its URL
# and stops it after 40 s (a TA would grade in the browser meanwhile). The other sample classes
# (labs 01, 02, 04, 05, 06 and lab 03's hard notebook) are other groups of students than that roster, so
# they are graded from folders in a second scratch course, demo-samples/, whose gradebook has no roster.
# The training labs (04, 05) run on the offline stand-ins of MNIST and CIFAR-10 that `autograder data
# standin` writes into demo/data/ (release executes their answer keys), copied into demo-samples/.
AG := $(CURDIR)/$(BIN)/autograder
SAMPLES := $(CURDIR)/examples/submissions
demo: venv
	rm -rf demo demo-samples demo-hard && mkdir demo && cp -r source nbgrader_config.py demo/
	cd demo && $(AG) data standin
	cd demo && $(AG) release
	cd demo && $(AG) roster import $(CURDIR)/examples/moodle/roster.csv
	cd demo && $(AG) collect lab03 $(CURDIR)/examples/moodle/lab03_download_all_submissions.zip --due 2026-07-14T23:59
	cd demo && $(AG) grade lab03
	cd demo && timeout -s INT 40 $(AG) formgrader --no-browser --port 8899 || test $$? -eq 124
	cd demo && $(AG) report lab03
	mkdir demo-samples && cp -r source nbgrader_config.py demo/release demo/data demo-samples/
	cd demo-samples && $(AG) grade lab01 --submissions $(SAMPLES)/lab01
	cd demo-samples && $(AG) grade lab02 --submissions $(SAMPLES)/lab02
	cd demo-samples && $(AG) grade lab03 --submissions $(SAMPLES)/lab03h
	cd demo-samples && $(AG) grade lab04 --submissions $(SAMPLES)/lab04
	cd demo-samples && $(AG) grade lab05 --submissions $(SAMPLES)/lab05
	cd demo-samples && $(AG) grade lab06 --submissions $(SAMPLES)/lab06

lint: venv
	$(BIN)/ruff check autograder tests examples nbgrader_config.py

test: venv lint
	$(BIN)/autograder check-sync
	$(BIN)/python -m pytest -n 2 --dist loadfile tests

# Plain sequential `nbgrader autograde` against `autograder grade -j 2` on each lab's sample class
# (not a test; results go to build/bench.json and, by hand, docs/benchmarks.md).
bench: venv
	$(BIN)/python tests/benchmarks/grading.py -n 8 -j 2
	$(BIN)/python tests/benchmarks/judge.py
	$(BIN)/python tests/benchmarks/small_steps.py -n 300
	$(BIN)/python tests/benchmarks/held_out.py
	$(BIN)/python tests/benchmarks/own_forward.py
	$(BIN)/python tests/benchmarks/watch.py
	$(BIN)/python tests/benchmarks/disk_flood.py

# On a GPU machine: lab 05's answer keys on the full-size CIFAR-10 stand-in at several --per-gpu; prints
# submissions per GPU-hour, GPU memory per kernel and where the time goes (docs/benchmarks.md).
gpu-bench: venv
	$(BIN)/python tests/benchmarks/gpu.py -n 12 --per-gpu 4 8 12
	$(BIN)/python tests/benchmarks/gpu.py -n 8 --per-gpu 8 --hard --out build/gpu-bench-hard.json

# Rebuild the sample classes (and lab 03's Moodle zip) from solutions/ and release/ (after `make release`).
samples: venv
	$(BIN)/python examples/make_sample_class.py
	$(BIN)/python examples/make_lab01_samples.py
	$(BIN)/python examples/make_lab02_samples.py
	$(BIN)/python examples/make_lab03h_samples.py
	$(BIN)/python examples/make_lab04_samples.py
	$(BIN)/python examples/make_lab05_samples.py
	$(BIN)/python examples/make_lab06_samples.py

clean:
	rm -rf gradebook.db submitted autograded feedback reports demo demo-samples demo-hard .autograder .pytest_cache

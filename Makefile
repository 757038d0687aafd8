# Everything a newcomer needs: `make demo`, then `make test`.
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: venv demo test lint release check-sync samples clean

venv: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet pip==26.3
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

release: venv
	$(BIN)/autograder release

check-sync: venv
	$(BIN)/autograder check-sync

# The instructor's and the TA's steps on a scratch course in demo/ (ignored by git):
# release the labs, import the roster, collect Moodle's zip of the sample class, grade it.
AG := $(CURDIR)/$(BIN)/autograder
demo: venv
	rm -rf demo && mkdir demo && cp -r source nbgrader_config.py demo/
	cd demo && $(AG) release
	cd demo && $(AG) roster import $(CURDIR)/examples/moodle/roster.csv
	cd demo && $(AG) collect lab03 $(CURDIR)/examples/moodle/lab03_download_all_submissions.zip --due 2026-07-14T23:59
	cd demo && $(AG) grade lab03

lint: venv
	$(BIN)/ruff check autograder tests examples nbgrader_config.py

test: venv lint
	$(BIN)/autograder check-sync
	$(BIN)/python -m pytest -n 2 --dist loadfile tests

# Rebuild the sample class and its Moodle zip from solutions/ and release/ (after `make release`).
samples: venv
	$(BIN)/python examples/make_sample_class.py

clean:
	rm -rf gradebook.db submitted autograded feedback reports demo .pytest_cache

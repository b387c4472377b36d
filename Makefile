# Two commands do everything on a fresh machine with Python 3.12:
#   make compare   - the main job: compare the shipped scenarios, write the report
#   make test      - the test suite (everything, slow tests included)
# While working, `make test-fast` skips the tests marked slow.
# Each creates the virtual environment (.venv) on first use.

PYTHON ?= $(shell command -v python3.12 || command -v python3)
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: compare test test-fast bench viz clean-venv

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

compare: $(STAMP)
	$(PY) run.py compare-main --out results/main

test: $(STAMP)
	$(PY) -m pytest -n 2 -q

test-fast: $(STAMP)
	$(PY) -m pytest -n 2 -q -m "not slow"

bench: $(STAMP)
	$(PY) -m benchmarks.checks
	$(PY) -m benchmarks

viz: $(STAMP)
	$(PY) run.py viz

clean-venv:
	rm -rf $(VENV)

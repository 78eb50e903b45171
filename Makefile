# The zero-shot similarity lab. `make help` lists the targets.
#   make reproduce   create the environment if missing, prepare data, run every notebook (default profile)
#   make test        create the environment if missing, run the whole test suite
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PROFILE ?= default
PYTEST_ARGS ?=
KEEP_GOING ?=

.PHONY: help lock env wordnet browser data reproduce smoke paper test test-fast lint bench clean-build

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(STAMP): requirements.txt pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	@touch $@

lock:  ## re-resolve pyproject.toml's ranges in a fresh venv and pin them in requirements.txt
	rm -rf build/lock-venv && $(PYTHON) -m venv build/lock-venv
	build/lock-venv/bin/python -m pip install --quiet --upgrade pip
	build/lock-venv/bin/python -m pip install --quiet -e '.[dev,scale]'
	(echo "# Exact versions 'make env' installs (Linux x86_64, Python 3.11). Regenerate with 'make lock'."; \
	 build/lock-venv/bin/python -m pip freeze --exclude-editable) > requirements.txt
	rm -rf build/lock-venv

env: $(STAMP) wordnet browser  ## create the virtual environment (.venv) if it is missing or stale

wordnet:  ## WordNet 3.0 for Tiny-ImageNet class names (Debian wordnet-base, or NLTK's corpus)
	@if [ -n "$$ZSL_WORDNET_DIR" ] || [ -f /usr/share/wordnet/data.noun ] || ls $$HOME/nltk_data/corpora/wordnet* >/dev/null 2>&1; then :; \
	elif command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	  (apt-get update -qq && apt-get install -y -qq wordnet-base >/dev/null) || echo "warning: apt-get install wordnet-base failed"; \
	else $(PY) -m pip install --quiet nltk && $(PY) -m nltk.downloader -q wordnet || echo "warning: no WordNet: install wordnet-base or NLTK's wordnet corpus"; fi

browser:  ## Debian's chromium for the browser tests (skipped with the reason where it is missing)
	@if command -v chromium >/dev/null || command -v chromium-browser >/dev/null; then :; \
	elif command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	  (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) || echo "warning: apt-get install chromium failed: browser tests will skip"; \
	else echo "note: no chromium (apt-get install chromium): browser tests will skip"; fi

data: env  ## check / fetch every dataset file the default notebooks use (fails if any is missing; KEEP_GOING=1: go on)
	$(PY) -m zsl_lib.prepare $(if $(filter 1 yes true,$(KEEP_GOING)),--keep-going)

reproduce: data  ## run every notebook (default profile); a finished notebook is published to results/, figures/, reports/ and README's results table
	$(PY) -m zsl_lib.runner --profile $(PROFILE); status=$$?; \
	  $(PY) -m zsl_lib.results --update-readme; exit $$status

smoke: env  ## run every notebook with its smoke parameters (seconds each)
	$(PY) -m zsl_lib.runner --profile smoke

paper: env  ## run every notebook in its source document's exact setting (needs downloads, maybe a GPU)
	$(PY) -m zsl_lib.runner --profile paper

test: env  ## the whole test suite: unit, real-data and notebook tests
	$(PY) -m pytest $(PYTEST_ARGS)

test-fast: env  ## unit tests only (no real data, no notebooks)
	$(PY) -m pytest -m "not realdata and not notebook" $(PYTEST_ARGS)

lint: env  ## ruff over the library, tests, benchmarks and notebooks
	$(VENV)/bin/ruff check zsl_lib tests benchmarks notebooks

bench: env  ## speed and memory benchmarks (print ratios against a reference)
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

clean-build:  ## remove executed notebooks
	rm -rf build

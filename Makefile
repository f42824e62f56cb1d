# Two commands do everything on a fresh clone: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP_RUN := $(VENV)/.installed-run
STAMP_DEV := $(VENV)/.installed-dev
STAMP_DOCS := $(VENV)/.installed-docs

.PHONY: run quickstart-results test test-slow fuzz lint bench docs clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP_RUN): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(STAMP_DEV): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@ $(STAMP_RUN) $(STAMP_DOCS)

$(STAMP_DOCS): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[docs]"
	touch $@ $(STAMP_RUN)

# `make run` writes into runs/ (ignored by git), so a fresh clone stays clean after it;
# `make quickstart-results` regenerates the committed copy README and the site show, results/quickstart/.
QUICKSTART_OUT ?= runs/quickstart

run: $(STAMP_RUN)
	$(BIN)/pbs-sim run experiments/quickstart.toml --out $(QUICKSTART_OUT) --no-progress
	$(BIN)/pbs-sim plot $(QUICKSTART_OUT) --kind curves --out $(QUICKSTART_OUT)/curve.png
	$(BIN)/pbs-sim plot $(QUICKSTART_OUT) --kind versions --out $(QUICKSTART_OUT)/versions_behind.png

quickstart-results:
	$(MAKE) run QUICKSTART_OUT=results/quickstart

# the suite runs on every core (pytest-xdist); `PYTEST_WORKERS=0 make test` runs it in one process
PYTEST_WORKERS ?= auto

test: $(STAMP_DEV)
	$(BIN)/python -m ruff check pbs_sim tests benchmarks experiments docs/hooks
	$(BIN)/python -m mypy
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS)

test-slow: $(STAMP_DEV)
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) -m "slow or not slow"

# `make test` runs hypothesis derandomized (the "ci" profile, tests/conftest.py): the same examples
# on every machine. `make fuzz` explores at random with many more examples (the "fuzz" profile) and
# keeps what fails in .hypothesis/ to replay first; FUZZ_ARGS adds pytest options (e.g. -m slow).
FUZZ_ARGS ?=
fuzz: $(STAMP_DEV)
	HYPOTHESIS_PROFILE=fuzz $(BIN)/python -m pytest tests/test_fuzz_config.py -s $(FUZZ_ARGS)

# The documentation site (mkdocs.yml, docs/) into site/ (ignored by git). --strict turns every warning
# (a broken link, an unknown page, an API reference that does not resolve) into a failure. Offline:
# no fonts or plugins fetch anything. NO_MKDOCS_2_WARNING silences mkdocs-material's banner.
docs: $(STAMP_DOCS)
	NO_MKDOCS_2_WARNING=1 $(BIN)/python -m mkdocs build --strict --site-dir site

bench: $(STAMP_DEV)
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build site *.egg-info

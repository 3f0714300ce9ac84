# The whole set-up is two commands: `make run` and `make test`. Both bootstrap what they need.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
PY_STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed

.PHONY: run test lint typecheck unit bench fuzz bootstrap clean

$(PY_STAMP): requirements.txt requirements-dev.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	@touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

bootstrap: $(PY_STAMP) $(NODE_STAMP)

run: bootstrap
	$(PY) -m scripts.local_stack

lint: $(PY_STAMP)
	$(PY) -m ruff check .

typecheck: $(PY_STAMP)
	$(PY) -m mypy --strict shared orchestrators simulators $(wildcard devhost)

test: bootstrap lint typecheck
	$(PY) -m pytest

bench: bootstrap
	$(PY) -m bench

# A deep run of the property-based endpoint tests (random examples; `make test` runs 40 per endpoint).
fuzz: bootstrap
	FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-2000} $(PY) -m pytest -p no:cacheprovider tests/e2e/test_endpoints_fuzz_e2e.py

clean:
	rm -rf $(VENV) node_modules .azurite .run .pytest_cache .mypy_cache .ruff_cache test-artifacts

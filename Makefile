# The whole set-up is two commands: `make run` and `make test`. Both bootstrap what they need.
SHELL := /bin/bash
# Python 3.13: the version whose Functions worker library (azure-functions-runtime) the app pins and devhost runs.
PYTHON ?= $(shell for c in python3.13 $${PYENV_ROOT:-$$HOME/.pyenv}/versions/3.13*/bin/python3.13; do \
	"$$c" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 13))' 2>/dev/null && { command -v "$$c"; break; }; done)
VENV := .venv
PY := $(VENV)/bin/python
PY_STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed

.PHONY: run test lint typecheck unit bench fuzz bootstrap clean

# The worker's compiled FunctionRpc protos, which devhost passes to the worker library as the Azure host does,
# ship inside the azure-functions-runtime-v1 wheel; it is downloaded beside the venv, never installed (see devhost/rpc.py).
RPC_PROTOS_WHEEL := azure-functions-runtime-v1==1.2.0

$(PY_STAMP): requirements.txt requirements-dev.txt
	@test -n "$(PYTHON)" || { echo "Python 3.13 not found: install python3.13 (or set PYTHON=/path/to/python3.13)"; exit 1; }
	@test -x $(PY) && $(PY) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 13))' || { rm -rf $(VENV); $(PYTHON) -m venv $(VENV); }
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	$(PY) -m pip download --quiet --no-deps --dest $(VENV)/devhost-rpc $(RPC_PROTOS_WHEEL)
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
	$(PY) -m mypy --strict shared orchestrators simulators $(wildcard devhost) function_app.py activities entities \
		http_triggers timer_triggers

# Two workers (the machines have two cores), each with its own Azurite, simulators and devhost; a file's tests
# stay on one worker, so a module's devhost and its tests' order are as in a serial run. Files go out in
# collection order (tests/conftest.py puts the long ones first), not by their number of tests.
TEST_WORKERS ?= 2

test: bootstrap lint typecheck
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder

bench: bootstrap
	$(PY) -m bench

# A deep run of the property-based endpoint tests (random examples; `make test` runs 40 per endpoint).
fuzz: bootstrap
	FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-2000} $(PY) -m pytest -p no:cacheprovider tests/e2e/test_endpoints_fuzz_e2e.py

clean:
	rm -rf $(VENV) node_modules .azurite .run .pytest_cache .mypy_cache .ruff_cache test-artifacts

# The README's two commands: `make run` and `make test`. Everything else is a helper.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: run test install install-test chromium lint format bench lighthouse run-cluster clean

# A stamp per lock file: reinstall only when the lock changes, so `make run` is quick the second time.
$(VENV)/.runtime: requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements.lock
	$(BIN)/python -m pip install -q --no-deps -e .
	touch $@

$(VENV)/.test: $(VENV)/.runtime requirements-test.lock
	$(BIN)/python -m pip install -q -r requirements-test.lock
	touch $@

install: $(VENV)/.runtime
install-test: $(VENV)/.test

run: install
	$(BIN)/fieldsales vapid
	$(BIN)/fieldsales run

# Browser tests drive Debian's Chromium; never `playwright install` (it downloads, and fails here).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium for the browser tests"; \
	  (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) || \
	  (sudo apt-get update -qq && sudo apt-get install -y -qq chromium >/dev/null); }

# Two pytest-xdist workers (the machine has 2 cores); `make test PYTEST_WORKERS=0` runs serially.
# loadgroup: the browser and resilience packages each stay on one worker (GROUPED_PACKAGES, tests/conftest.py).
PYTEST_WORKERS ?= 2
# Byte-compiled first: where the environment sets PYTHONDONTWRITEBYTECODE (this machine does), every
# server, worker and CLI process the suite starts would compile the code again (~0.35 s each); and
# pytest may keep its assertion-rewritten test modules (each worker collects every module: 6 s of
# CPU each without them, under 2 s with them).
test: install-test chromium
	$(BIN)/python -m compileall -q -j 0 server bench
	PYTHONDONTWRITEBYTECODE= $(BIN)/python -m pytest -q -n $(PYTEST_WORKERS) --dist loadgroup $(PYTEST_ARGS)

# Two app processes (ports 8001, 8002) against one PostgreSQL (DATABASE_URL, default local db "fieldsales").
run-cluster: install
	$(BIN)/fieldsales vapid
	./scripts/run_cluster.sh

# ruff (lint + format) and mypy over server/; CI runs it before the tests.
lint: install-test
	$(BIN)/ruff check server tests bench
	$(BIN)/ruff format --check server tests bench
	$(BIN)/python -m mypy server

format:
	$(BIN)/ruff format server tests bench
	$(BIN)/ruff check --fix server tests bench

bench: install-test
	$(BIN)/python -m bench.run_all

clean:
	rm -rf $(VENV) var/fieldsales.db* .pytest_cache

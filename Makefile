# The two commands: `make run` (serve on the embedded database) and `make test` (the whole suite).
# Both install what they need into .venv first; only Python >= 3.11 is required.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test test-fast lint lock clean-data chromium

install: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "Python >= 3.11 is required")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

run: install
	$(BIN)/spikeland serve

# Both cores (pytest-xdist): each worker migrates a database of its own on one shared server.
test: install chromium
	$(BIN)/pytest -n 2 --dist loadgroup

# The suite without the tests marked slow (real servers, the OpenAPI fuzzing, end-to-end runs).
# The console's browser tests drive Debian's chromium: installed with apt when missing and possible.
chromium:
	@command -v chromium >/dev/null || [ -n "$$SPIKELAND_CHROMIUM" ] || \
	  { command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ] && \
	    (apt-get install -y -q chromium || (apt-get update -q && apt-get install -y -q chromium)); } || \
	  { echo "chromium is needed for tests/console: install it (apt-get install chromium) or set SPIKELAND_CHROMIUM"; exit 1; }

test-fast: install chromium
	$(BIN)/pytest -n 2 --dist loadgroup -m "not slow"

lint: install
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/ruff format --check src tests benchmarks scripts
	$(BIN)/mypy
	$(BIN)/lint-imports

# Re-pin every dependency (needs uv: `$(BIN)/pip install uv`).
lock:
	$(BIN)/uv pip compile pyproject.toml --extra dev --python-version 3.11 --generate-hashes -o requirements.lock

clean-data:
	rm -rf .spikeland

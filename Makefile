# One entry point for setting up, running and checking Tend. `make check` runs everything CI runs.

PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PYTEST := $(BIN)/pytest -q -p no:cacheprovider
TEND_TEST_POSTGRES ?= postgres://postgres@127.0.0.1:5432/test
CHROMIUM := /usr/bin/chromium

.PHONY: venv node_modules chromium demo test check format clean

venv: $(VENV)/.installed

# Re-run pip only when pyproject.toml changed since the last install.
$(VENV)/.installed: pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

node_modules: node_modules/.installed

# Front-end packages served as static files; pages still work (without charts and htmx) without them.
node_modules/.installed: package.json $(wildcard package-lock.json)
	@if ! command -v npm >/dev/null 2>&1; then \
		echo "warning: npm not found; skipping front-end packages (pages work without JavaScript)."; \
	elif [ -f package-lock.json ]; then \
		npm ci --no-audit --no-fund && touch $@; \
	else \
		npm install --no-audit --no-fund && touch $@; \
	fi

# The browser tests drive Chromium; install it when we may, else they are left out.
chromium:
	@if [ -x $(CHROMIUM) ]; then \
		true; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		apt-get update && apt-get install -y chromium chromium-driver; \
	else \
		echo "warning: $(CHROMIUM) is missing and cannot be installed here (needs root and apt);" \
			"browser tests will be skipped."; \
	fi

demo: venv node_modules
	$(BIN)/tend demo

# The whole suite on SQLite (with browser tests), then again on PostgreSQL when it answers.
test: venv node_modules chromium
	@sqlite_args=""; browser="with browser tests"; \
	if [ ! -x $(CHROMIUM) ]; then sqlite_args='-m "not browser"'; browser="without browser tests"; fi; \
	echo "== make test: SQLite ($$browser) =="; \
	eval env -u DATABASE_URL TEND_TEST_DB=sqlite $(PYTEST) $$sqlite_args; sqlite_status=$$?; \
	if $(BIN)/python -c 'import sys, psycopg; psycopg.connect(sys.argv[1], connect_timeout=3).close()' \
			'$(TEND_TEST_POSTGRES)' 2>/dev/null; then \
		echo "== make test: PostgreSQL at $(TEND_TEST_POSTGRES) =="; \
		env -u TEND_TEST_DB DATABASE_URL='$(TEND_TEST_POSTGRES)' $(PYTEST) -m "not browser"; \
		postgres_status=$$?; \
		ran="SQLite ($$browser) and PostgreSQL"; \
	else \
		postgres_status=0; \
		ran="SQLite ($$browser) only; PostgreSQL at $(TEND_TEST_POSTGRES) did not answer"; \
	fi; \
	echo "== make test: ran on $$ran; exit codes: SQLite $$sqlite_status, PostgreSQL $$postgres_status =="; \
	[ $$sqlite_status = 0 ] && [ $$postgres_status = 0 ]

check: venv
	$(BIN)/ruff format --check src tests
	$(BIN)/ruff check src tests
	$(BIN)/mypy
	$(MAKE) test

format: venv
	$(BIN)/ruff format src tests
	$(BIN)/ruff check --fix src tests

# Removes installed tools and caches; never the data directory (.tend).
clean:
	rm -rf $(VENV) node_modules .pytest_cache .mypy_cache .ruff_cache .hypothesis
	rm -rf src/*.egg-info build dist
	find src tests -name __pycache__ -type d -prune -exec rm -rf {} +

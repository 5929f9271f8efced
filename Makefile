# The two commands of the README: `make demo` (set up and start the portal with demo data) and
# `make test` (set up and run the whole suite). They share the virtual environment in .venv: the
# demo installs what runs the portal, the tests add the development tools (Playwright, pytest…)
# and, in node_modules, axe-core for the journeys.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: demo demo-reset test lint format venv venv-run node-tools system-deps clean

$(BIN)/python:
	$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "Qinqing needs Python 3.11"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Re-install only when the declared dependencies change. Two stamps: .installed-run for the
# portal alone (the demo), .installed for the portal with the development extra (the tests).
# The development install includes the portal's, so it stamps both: a demo after the tests
# installs nothing, and the tests after a demo add the extra.
$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	@if [ $(VENV)/.installed -nt pyproject.toml ]; then echo "The portal is installed."; \
	else $(BIN)/python -m pip install --quiet -e .; fi
	touch $@

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(VENV)/.installed-run $@

venv-run: $(VENV)/.installed-run

venv: $(VENV)/.installed

# The browser journeys inject axe-core (from the npm registry, pinned in package-lock.json) into
# every page they visit. Only the tests need it, so `make demo` asks for no Node.js. `npm ci`
# installs exactly the lock (and fails if package.json and the lock disagree); it runs again only
# when either changes.
NODE_STAMP := node_modules/.installed

$(NODE_STAMP): package.json package-lock.json
	@command -v npm >/dev/null 2>&1 || { echo "make test needs npm (Node.js) to install axe-core" \
		"for the browser journeys: apt-get install nodejs npm (or run .ci/browser-deps)."; exit 1; }
	npm ci --no-audit --no-fund
	touch $@

node-tools: $(NODE_STAMP)

# The system packages the tests use: Chromium for the journeys, CJK fonts and Pango for the PDF
# report, npm for axe-core (.ci/browser-deps says which; it does nothing when all are there).
# Installed when this user may (root, or sudo without a password); otherwise the journeys and
# the PDF's text checks skip, each saying what it needs.
system-deps:
	@if [ "$$(id -u)" -eq 0 ] || sudo -n true 2>/dev/null; then bash .ci/browser-deps; \
	else echo "Not installing Chromium, CJK fonts, Pango or npm (no root or sudo): run" \
		".ci/browser-deps as root for the journeys and the PDF checks."; fi

# The demo keeps its database, mail, uploads and logs in var/ (or QINQING_VAR_DIR). The terminal
# shows a short banner; migrate and seed_demo write to var/log/setup.log, the web server and the
# worker to var/log/web.log and var/log/worker.log. SITE_URL, unless set, follows HOST and PORT.
DEMO_VAR := $(or $(QINQING_VAR_DIR),var)
DEMO_LOG := $(DEMO_VAR)/log

demo: venv-run
	@mkdir -p $(DEMO_LOG)
	@echo "Preparing the demo database (details in $(DEMO_LOG)/setup.log)..."
	@{ $(BIN)/python manage.py migrate --noinput && $(BIN)/python manage.py seed_demo; } \
		>$(DEMO_LOG)/setup.log 2>&1 || { tail -n 30 $(DEMO_LOG)/setup.log; exit 1; }
	@# Demo logins share one published password: two-factor for inspectors and administrators
	@# (MFA_REQUIRED_ROLES) stays off here unless it is set.
	@MFA_REQUIRED_ROLES="$${MFA_REQUIRED_ROLES-}" \
		$(BIN)/python manage.py serve_demo $(HOST):$(PORT) --log-dir $(DEMO_LOG)

# Drop the demo's data (the SQLite database, mail, broker queue, uploads, checkpoints, logs
# under var/) and seed it again; the virtual environment stays. The embedded database only: with
# DATABASE_URL set, drop that database yourself.
demo-reset: venv-run
	@test -z "$(DATABASE_URL)" || { echo "demo-reset resets the embedded SQLite demo only; DATABASE_URL is set."; exit 1; }
	rm -rf $(DEMO_VAR)/qinqing.sqlite3 $(DEMO_VAR)/qinqing.sqlite3-journal \
		$(DEMO_VAR)/qinqing.sqlite3-wal $(DEMO_VAR)/qinqing.sqlite3-shm $(DEMO_VAR)/mail \
		$(DEMO_VAR)/broker $(DEMO_VAR)/media $(DEMO_VAR)/checkpoints $(DEMO_VAR)/celerybeat-schedule* \
		$(DEMO_LOG)
	@mkdir -p $(DEMO_LOG)
	@{ $(BIN)/python manage.py migrate --noinput && $(BIN)/python manage.py seed_demo; } \
		>$(DEMO_LOG)/setup.log 2>&1 || { tail -n 30 $(DEMO_LOG)/setup.log; exit 1; }
	@echo "The demo data was seeded again (details in $(DEMO_LOG)/setup.log). Start it: make demo"

test: venv system-deps node-tools
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/mypy
	$(BIN)/python -m pytest -n 2

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: venv
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) var node_modules .pytest_cache .ruff_cache

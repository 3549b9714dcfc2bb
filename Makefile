# Postroom: `make run` serves the app with its embedded worker; `make test` runs the suite.
# Every target installs what it needs first, so each works on a fresh clone.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 8000
PIP    := $(BIN)/python -m pip --disable-pip-version-check -q
RUN_STAMP  := $(VENV)/.installed-run
DEV_STAMP  := $(VENV)/.installed-dev
NODE_STAMP := node_modules/.installed

.PHONY: run install install-dev test test-fast lint format css css-check lock migrate worker \
        browser clean bench-import bench-render bench-send

run: $(RUN_STAMP)
	@mkdir -p var/static
	@$(BIN)/python manage.py migrate --noinput -v 0
	@$(BIN)/python manage.py demo_admin
	@$(BIN)/python manage.py serve --port $(PORT)

install: $(RUN_STAMP)
install-dev: $(DEV_STAMP)

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

# The venv is rebuilt only when the declared dependencies change, so a second start is quick.
$(RUN_STAMP): pyproject.toml constraints.txt | $(VENV)/bin/python
	$(PIP) install -c constraints.txt -e .
	@touch $@

$(DEV_STAMP): $(RUN_STAMP) pyproject.toml constraints.txt
	$(PIP) install -c constraints.txt -e '.[dev]'
	@touch $@

migrate: $(RUN_STAMP)
	$(BIN)/python manage.py migrate --noinput

worker: $(RUN_STAMP)
	$(BIN)/python manage.py worker

# Debian's Chromium for the browser tests; never a browser download.
browser:
	@scripts/ensure-chromium

test: $(DEV_STAMP) browser
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-fast: $(DEV_STAMP)
	$(BIN)/python -m pytest -m "not browser" -x $(PYTEST_ARGS)

lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .

format: $(DEV_STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

# The compiled stylesheet is committed, so running Postroom never needs Node.
css: $(NODE_STAMP)
	npx @tailwindcss/cli -i assets/app.css -o static/css/app.css --minify
	cp node_modules/htmx.org/dist/htmx.min.js static/vendor/htmx.min.js
	cp node_modules/chart.js/dist/chart.umd.min.js static/vendor/chart.umd.min.js

css-check: css
	git diff --exit-code -- static/css/app.css static/vendor/htmx.min.js static/vendor/chart.umd.min.js

# Regenerate constraints.txt from a fresh dev install (run after changing pyproject.toml).
lock:
	rm -rf $(VENV)-lock && $(PYTHON) -m venv $(VENV)-lock
	$(VENV)-lock/bin/python -m pip -q install -e '.[dev]'
	$(VENV)-lock/bin/python -m pip freeze --exclude-editable | grep -v '^-e ' > constraints.txt
	rm -rf $(VENV)-lock

# Benchmarks print their figures and end with one `RESULT key=value …` line; they use
# DATABASE_URL when it is set (PostgreSQL, created when missing), SQLite otherwise.
bench-import: $(DEV_STAMP)
	$(BIN)/python bench/bench_import.py $(BENCH_ARGS)

bench-render: $(DEV_STAMP)
	$(BIN)/python bench/bench_render.py $(BENCH_ARGS)

bench-send: $(DEV_STAMP)
	$(BIN)/python bench/bench_send.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) node_modules var/static

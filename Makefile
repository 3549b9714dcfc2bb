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
        browser dovecot gettext messages compilemessages translations-check clean bench-import bench-render bench-send bench-memory \
        bench-bounces bench-report bench-track bench-sequences bench-pages

# Development mode: DEBUG on, and a random key made once in var/ (no variable to set). Every
# other start (postroom.web, Celery, the image) is production and needs real secrets.
run migrate worker lint messages compilemessages bench-import bench-render bench-send bench-bounces bench-report bench-track bench-sequences bench-pages: export POSTROOM_DEVELOPMENT := 1

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

# Debian's Dovecot for the IMAP/POP3 tests (they start their own private server from it).
dovecot:
	@scripts/ensure-dovecot

# GNU gettext for the translation tests and targets below (running Postroom needs none).
gettext:
	@scripts/ensure-gettext

test: $(DEV_STAMP) browser dovecot gettext
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-fast: $(DEV_STAMP)
	$(BIN)/python -m pytest -m "not browser" -x $(PYTEST_ARGS)

# import-linter keeps the layers of DESIGN.md (contracts in pyproject.toml).
lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .
	$(BIN)/lint-imports

format: $(DEV_STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

# The compiled stylesheet is committed, so running Postroom never needs Node. The vendored
# scripts lose their sourceMappingURL comment as they are copied: it names a map that is not
# vendored, and collectstatic's manifest (DEBUG=False) fails on a reference to a missing file.
css: $(NODE_STAMP)
	npx @tailwindcss/cli -i assets/app.css -o static/css/app.css --minify
	for file in htmx.org/dist/htmx.min.js chart.js/dist/chart.umd.min.js; do \
	    sed '/^\/\/# sourceMappingURL=/d' node_modules/$$file > static/vendor/$${file##*/}; \
	done
	# ALTCHA's widget as a classic script (its UMD build), for sign-up forms' challenge.
	sed '/^\/\/# sourceMappingURL=/d' node_modules/altcha/dist/main/altcha.umd.min.cjs > static/vendor/altcha.min.js
	# axe-core for the accessibility tests only: kept beside them, never served.
	cp node_modules/axe-core/axe.min.js core/testing/vendor/axe.min.js

css-check: css
	git diff --exit-code -- static/css/app.css static/vendor/htmx.min.js static/vendor/chart.umd.min.js \
	    static/vendor/altcha.min.js core/testing/vendor/axe.min.js

# Translations (README: Languages). `make messages` collects the marked strings of the source into
# locale/*/LC_MESSAGES/django.po; translate the new entries, then `make compilemessages` makes
# the .mo files, which are committed so that running Postroom never needs gettext.
# `make translations-check` is CI's check: every entry translated, the .mo current, no marked
# string missing from the catalogs.
messages: $(DEV_STAMP) gettext
	$(BIN)/python scripts/check-translations --update

compilemessages: $(DEV_STAMP) gettext
	$(BIN)/python manage.py compilemessages --ignore=.venv --ignore=node_modules --ignore=var

translations-check: $(DEV_STAMP) gettext
	$(BIN)/python scripts/check-translations

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

# 10,000 mixed bounces from the corpus through a private Dovecot, end to end (needs Dovecot).
bench-bounces: $(DEV_STAMP) dovecot
	$(BIN)/python bench/bench_bounces.py $(BENCH_ARGS)

bench-report: $(DEV_STAMP)
	$(BIN)/python bench/bench_report.py $(BENCH_ARGS)

# Issue 14 at full size (PostgreSQL, DATABASE_URL or postroom_bench_pages on 127.0.0.1): the
# pages with 10,000,000 deliveries and 20,000,000 attempts, through the test client.
bench-pages: $(DEV_STAMP)
	$(BIN)/python bench/bench_pages.py $(BENCH_ARGS)

# Sequence steps the scheduler hands to the engine per second (50,000 people, three steps).
bench-sequences: $(DEV_STAMP)
	$(BIN)/python bench/bench_sequences.py $(BENCH_ARGS)

# Open and click hits against the web server (postroom.web) and PostgreSQL (DATABASE_URL, or postroom_bench_track on
# 127.0.0.1), with Debian's wrk as the load (installed when missing, as root).
bench-track: $(DEV_STAMP)
	$(BIN)/python bench/bench_track.py $(BENCH_ARGS)

# 200 locust users on the pages and the API while a 100,000-recipient campaign sends (PostgreSQL
# postroom_bench_load on 127.0.0.1, postroom.web, the embedded worker, smtp-sink). Locust is no
# dependency of Postroom: it lives in a venv of its own, var/locust-venv, made here.
LOCUST_VENV := var/locust-venv
LOCUST_VERSION := 2.47.0
.PHONY: bench-load
$(LOCUST_VENV)/.installed-$(LOCUST_VERSION):
	$(PYTHON) -m venv $(LOCUST_VENV)
	$(LOCUST_VENV)/bin/python -m pip --disable-pip-version-check -q install locust==$(LOCUST_VERSION)
	@touch $@

bench-load: $(DEV_STAMP) $(LOCUST_VENV)/.installed-$(LOCUST_VERSION)
	$(BIN)/python bench/bench_load.py --locust $(LOCUST_VENV)/bin/locust $(BENCH_ARGS)

# Promise 8 at full size (PostgreSQL only): a 1,000,000-recipient campaign, the worker's memory.
bench-memory: $(DEV_STAMP)
	$(BIN)/python bench/bench_memory.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) node_modules var/static

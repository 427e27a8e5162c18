# Two commands on a fresh machine: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run test lint migrate demo messages clean bench backup restore hygiene serve load faults

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP)

# The settings are production-safe by default (DEBUG off; a random key of this installation in
# .secret-key unless SECRET_KEY is set; this machine's host names and plain HTTP unless ALLOWED_HOSTS
# names a server). On a laptop the make targets only ask for readable logs.
LPY = LOG_FORMAT="$${LOG_FORMAT:-text}" REQUEST_LOG_LEVEL="$${REQUEST_LOG_LEVEL:-WARNING}" $(PY)

migrate: install
	$(LPY) manage.py migrate --noinput

demo: migrate
	$(LPY) manage.py seed_demo --if-empty

# Served the way production serves it (DEBUG off: the product's own 404/403 pages, hashed static
# files from WhiteNoise), over plain HTTP on HOST:PORT.
# The scheduler (daily jobs, reminders, the outbox worker: docs/notify.md) runs beside runserver and
# stops with it; the demo's e-mails are written as files under $TMPDIR/siwu-mail instead of sent.
run: demo
	$(LPY) manage.py collectstatic --noinput --verbosity 0
	export EMAIL_BACKEND="$${EMAIL_BACKEND:-django.core.mail.backends.filebased.EmailBackend}" \
	  EMAIL_FILE_PATH="$${EMAIL_FILE_PATH:-$${TMPDIR:-/tmp}/siwu-mail}"; \
	$(LPY) manage.py scheduler & scheduler=$$!; \
	trap 'kill $$scheduler 2>/dev/null; wait $$scheduler' EXIT INT TERM; \
	$(LPY) manage.py runserver $(HOST):$(PORT)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-cache

test: lint
	$(LPY) manage.py check --fail-level WARNING
	$(LPY) manage.py makemigrations --check --dry-run
	$(VENV)/bin/pytest

# Page timings on a synthetic city (default 100,000 units) on the database DATABASE_URL names;
# writes the table to docs/performance.md. UNITS=1000000 for a million units, TOWNSHIPS=1300 for a province.
UNITS ?= 100000
TOWNSHIPS ?= 30
bench: migrate
	$(LPY) manage.py bench --units $(UNITS) --townships $(TOWNSHIPS)

# Production server (needs DEBUG=false, SECRET_KEY, ALLOWED_HOSTS, DATABASE_URL; docs/deployment.md).
serve: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py collectstatic --noinput
	$(PY) manage.py check --deploy --fail-level WARNING
	$(VENV)/bin/gunicorn -c gunicorn.conf.py

# Figures under load and through faults, on a private PostgreSQL and gunicorn on 127.0.0.1
# (needs PostgreSQL's server programs; ARGS=--small for the CI size).
load: install
	$(PY) scripts/loadtest.py $(ARGS)

faults: install
	$(PY) scripts/faults.py $(ARGS)

# Backups (docs/backup.md): the database and MEDIA_ROOT into one .tar with a checked manifest.
# BACKUP=path: the archive to write (default $BACKUP_DIR or backups/, siwu-YYYYmmdd-HHMMSS.tar),
# or to restore; a restore goes into the configured database and MEDIA_ROOT, which must be empty
# unless FORCE=1.
backup: install
	$(LPY) manage.py backup $(BACKUP)

restore: install
	@test -n "$(BACKUP)" || { echo "usage: make restore BACKUP=backups/siwu-YYYYmmdd-HHMMSS.tar [FORCE=1]" >&2; exit 1; }
	$(LPY) manage.py restore "$(BACKUP)" $(if $(FORCE),--force)

# pip-audit (known vulnerabilities in requirements.txt) and bandit (medium+ findings in our code).
hygiene: install
	bash scripts/hygiene.sh

# Maintainers only (needs GNU gettext): refresh the English catalog from the Chinese source strings,
# then compile both catalogs. The compiled .mo files are committed, so users need no gettext.
messages: install
	$(LPY) manage.py makemessages -l en --no-obsolete --ignore=.venv --ignore=staticfiles --ignore=tests
	$(LPY) manage.py compilemessages -l en -l zh_Hans --ignore=.venv

clean:
	rm -rf $(VENV) staticfiles .pytest_cache

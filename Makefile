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

migrate: install
	$(PY) manage.py migrate --noinput

demo: migrate
	$(PY) manage.py seed_demo --if-empty

run: demo
	$(PY) manage.py runserver $(HOST):$(PORT)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

test: lint
	$(PY) manage.py check --fail-level WARNING
	$(PY) manage.py makemigrations --check --dry-run
	$(VENV)/bin/pytest

# Page timings on a synthetic city (default 100,000 units) on the database DATABASE_URL names;
# writes the table to docs/performance.md. UNITS=1000000 for the province case.
UNITS ?= 100000
bench: migrate
	$(PY) manage.py bench --units $(UNITS)

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
	$(PY) manage.py backup $(BACKUP)

restore: install
	@test -n "$(BACKUP)" || { echo "usage: make restore BACKUP=backups/siwu-YYYYmmdd-HHMMSS.tar [FORCE=1]" >&2; exit 1; }
	$(PY) manage.py restore "$(BACKUP)" $(if $(FORCE),--force)

# pip-audit (known vulnerabilities in requirements.txt) and bandit (medium+ findings in our code).
hygiene: install
	bash scripts/hygiene.sh

# Maintainers only (needs GNU gettext): refresh the English catalog from the Chinese source strings,
# then compile both catalogs. The compiled .mo files are committed, so users need no gettext.
messages: install
	$(PY) manage.py makemessages -l en --no-obsolete --ignore=.venv --ignore=staticfiles --ignore=tests
	$(PY) manage.py compilemessages -l en -l zh_Hans --ignore=.venv

clean:
	rm -rf $(VENV) staticfiles .pytest_cache

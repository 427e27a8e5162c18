import contextlib
import datetime
import fcntl
import os
import sqlite3
import subprocess  # nosec B404  # runs manage.py migrate with fixed arguments
import sys
from pathlib import Path

import pytest
from django.db import transaction

from tests.factories import make_campaign

ROOT = Path(__file__).resolve().parent.parent

# --- running in parallel (pytest-xdist, `-n auto --dist loadfile` in pyproject.toml) -----------------
#
# Each worker has a test database of its own (pytest-django adds _gw0, _gw1 … to PostgreSQL's name;
# SQLite's is in the worker's memory), a media folder of its own (below) and a tmp_path of its own.
# A test file is one unit of work, run by one worker, so a module-scoped fixture (the seeded demo
# city, the access world, the backup source) is built once.
#
# Files whose tests must never run at the same time as each other's form one unit of work together:
# one worker runs them one after another. (pytest-xdist's own xdist_group mark cannot do it here:
# xdist 3.8 files a marked test under a node id pytest 9.2 no longer reads.)
TOGETHER = {
    # Start servers of their own: a private PostgreSQL (initdb), gunicorn, a tmpfs for the media.
    # They take free ports, so they would not collide, but two at once would load the machine their
    # figures are measured on.
    "servers": ("tests/ops/test_load_and_faults.py",),
    # The outbox's worker processes and its 1,000-message timing against a local robot endpoint.
    "outbox": ("tests/notify/test_bench.py", "tests/notify/test_worker_process.py"),
}
# Started first, because they take longest (none may be left for the end, when the other worker has
# nothing more to do); the rest follow, the files with most tests first.
LONGEST_FIRST = (
    "servers",  # PostgreSQL pass only: ~1 min of preparation, then the load and fault runs
    "tests/access/test_fuzz_params.py",  # one test sends ~1500 requests
    "tests/access/test_matrix.py",
    "tests/campaign/test_seed_demo.py",
    "tests/browser/test_register.py",
    "tests/ops/test_deploy.py",
    "tests/browser/test_dashboard.py",
    "tests/ops_backup/test_backup_restore.py",
)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """`--dist loadfile`, with the files of a group of TOGETHER as one unit, the longest first."""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    group_of = {path: group for group, paths in TOGETHER.items() for path in paths}
    rank = {scope: i for i, scope in enumerate(LONGEST_FIRST)}

    class FileScheduling(LoadFileScheduling):
        def _split_scope(self, nodeid):
            path = super()._split_scope(nodeid)
            return group_of.get(path, path)

        def _assign_work_unit(self, node):
            first = min(self.workqueue, key=lambda scope: rank.get(scope, len(rank)))
            self.workqueue.move_to_end(first, last=False)
            super()._assign_work_unit(node)

    return FileScheduling(config, log)


@pytest.fixture(scope="session", autouse=True)
def media_of_this_worker(tmp_path_factory):
    """MEDIA_ROOT in a folder of this worker's, not <project>/media shared by every worker (and kept
    after the run). Tests that look at what was stored still give themselves a folder of their own."""
    from django.test import override_settings

    with override_settings(MEDIA_ROOT=tmp_path_factory.mktemp("media")):
        yield


@pytest.fixture(scope="session")
def migrated_sqlite_template(tmp_path_factory):
    """A SQLite database file on which `manage.py migrate` has run: made once per run, by whichever
    worker asks first (the others wait for it), since migrating a new file costs ~15 s of CPU."""
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base  # the run's, above popen-gwN
    template = shared / "migrated.sqlite3"
    with open(shared / "migrated.sqlite3.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not template.exists():
            partial = shared / "migrating.sqlite3"
            env = {**os.environ, "DATABASE_URL": f"sqlite:///{partial}"}
            done = subprocess.run(  # nosec B603  # fixed arguments, no shell
                [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                timeout=300,
            )
            assert done.returncode == 0, done.stderr
            _sqlite_copy(partial, template)
    return template


@pytest.fixture
def migrated_sqlite(migrated_sqlite_template, tmp_path):
    """tmp_path/db.sqlite3, a migrated SQLite database of this test's own, for manage.py in a real
    process (DATABASE_URL=sqlite:///…): `migrate` finds nothing left to do on it."""
    return _sqlite_copy(migrated_sqlite_template, tmp_path / "db.sqlite3")


def _sqlite_copy(source, target):
    """Copy a SQLite database through SQLite (its write-ahead log included), not byte by byte."""
    original, copy = sqlite3.connect(source), sqlite3.connect(target)
    try:
        original.backup(copy)
    finally:
        original.close()
        copy.close()
    return target


@contextlib.contextmanager
def module_transaction(django_db_blocker):
    """A transaction for the data a module's tests share, rolled back after the last of them: the test
    database is left as it was found. pytest-django's per-test transactions nest in it as savepoints,
    as Django's TestCase.setUpTestData does it for a class. Nothing written in it may wait for a
    commit (the project has no on_commit hook), and no test in it may be transactional."""
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
    try:
        yield
    finally:
        with django_db_blocker.unblock():
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


@pytest.fixture
def campaign(db):
    """The 2018 campaign: target 9000, milestones 30/60/80/100 % at quarter ends."""
    return make_campaign()


@pytest.fixture
def frozen_today(monkeypatch):
    """Pin django.utils.timezone.localdate for services that refuse future dates."""

    def pin(day=datetime.date(2018, 12, 31)):
        monkeypatch.setattr("django.utils.timezone.localdate", lambda *a, **k: day)
        return day

    return pin


@pytest.fixture(autouse=True)
def _the_default_language():
    """Each test starts in the product's language (zh-hans): a request in English (the language
    switch, Accept-Language) leaves English active in the thread after its response, and a test
    after it on the same worker would read its messages in English."""
    from django.conf import settings as django_settings
    from django.utils import translation

    translation.activate(django_settings.LANGUAGE_CODE)
    yield
    translation.activate(django_settings.LANGUAGE_CODE)


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Tests create many users; the production hasher's cost buys nothing here."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(scope="session")
def _groups_after_migrate(django_db_setup, django_db_blocker):
    """The auth groups the migrations made (campaign 0003: the four roles), read once at the start."""
    from django.contrib.auth.models import Group

    with django_db_blocker.unblock():
        return frozenset(Group.objects.values_list("name", flat=True))


@pytest.fixture(autouse=True)
def _rows_of_the_migrations_back(request):
    """Before a test that uses the database, put back the rows the migrations wrote if a test before
    it emptied the tables (a transactional test is flushed at its end). pytest-django runs those last
    in one process; in parallel runs (xdist) any test may follow one on its worker. Only the groups
    that were there at the start come back: a migration that wrote none still fails its test."""
    if "django_db_setup" not in request.fixturenames:
        return
    from django.contrib.auth.models import Group

    made = request.getfixturevalue("_groups_after_migrate")
    with request.getfixturevalue("django_db_blocker").unblock():
        missing = made - set(Group.objects.filter(name__in=made).values_list("name", flat=True))
        Group.objects.bulk_create([Group(name=name) for name in sorted(missing)])

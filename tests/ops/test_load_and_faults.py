"""The small load and fault runs of scripts/loadtest.py and scripts/faults.py, so that CI catches a
regression: errors under load, a lost or doubled write, a stale save that neither lands nor is
refused, a database restart that is not survived, a killed worker that takes others down, a full
media volume that leaves half a rectification.

They start their own PostgreSQL (initdb, on a free loopback port) and gunicorn, which takes about a
minute; they run where PostgreSQL's server programs are installed and the suite runs on
PostgreSQL (CI's second pass), or whenever SIWU_LOAD_TESTS=1 (never with SIWU_LOAD_TESTS=0).
"""

import os
import sys
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"
sys.path.insert(0, str(SCRIPTS))

import faults  # noqa: E402
import lab  # noqa: E402
import loadtest  # noqa: E402

# SIWU_LOAD_TESTS=1 runs them anyway, =0 never; by default they run in the PostgreSQL pass.
choice = os.environ.get("SIWU_LOAD_TESTS", "")
wanted = choice == "1" or (choice != "0" and os.environ.get("DATABASE_URL", "").startswith("postgres"))
pytestmark = [
    pytest.mark.load,
    pytest.mark.skipif(
        not wanted, reason="runs with the PostgreSQL pass (DATABASE_URL=postgres://…) or SIWU_LOAD_TESTS=1"
    ),
    pytest.mark.skipif(not lab.postgres_available(), reason="PostgreSQL server programs (initdb) are not installed"),
]


def test_small_load_and_faults_hold():
    load = loadtest.parse_args(["--small"])
    broken = faults.parse_args(["--small"])
    bench = lab.Bench(
        scale=load.scale,
        users=load.users + broken.users + 1,
        units_per_user=60,
        hot_users=load.hot_users,
        media_size=faults.MEDIA_SIZE,
    )
    with bench:
        failures = loadtest.run(bench, load) + faults.run(bench, broken)
    assert failures == []

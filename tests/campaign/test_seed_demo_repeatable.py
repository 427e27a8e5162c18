"""manage.py seed_demo: the same seed gives the same city.

Apart from tests/campaign/test_seed_demo.py, whose module-wide city (scale 1, for the public record's
figures) would have to be deleted first: here the database starts empty, and the city is seeded,
rolled back and seeded again at a tenth of the scale, where every step of the seeding still runs
(townships, villages, units, periods, relapses, inspections, logins).
"""

import io

from django.core.management import call_command
from django.db import transaction
from django.test import override_settings

from demo import city as demo

FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
SCALE = "0.1"


def _seed(*args):
    out = io.StringIO()
    with override_settings(PASSWORD_HASHERS=FAST_HASHERS):
        call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def test_the_same_seed_gives_the_same_data(db):
    with transaction.atomic():
        _seed("--scale", SCALE)
        first = demo.fingerprint()
        # Back to the empty database by rolling the first city back (deleting it row by row wrote a
        # history row per deleted row and took longer than seeding it).
        transaction.set_rollback(True)

    _seed("--seed", str(demo.DEFAULT_SEED), "--scale", SCALE)

    assert demo.fingerprint() == first

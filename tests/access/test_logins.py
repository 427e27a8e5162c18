"""Safe logins: lockout per username and address, disabled users, idle timeout, passwords, HTTPS."""

import datetime
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from axes.models import AccessAttempt
from axes.utils import reset
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.access.conftest import PASSWORD
from tests.factories import make_user

LOGIN = "/accounts/login/"
OFFICE = "10.20.30.40"  # a township office: everyone behind one NAT address
HOME = "172.16.0.9"


@pytest.fixture
def staff(db):
    make_user("dongcheng", role="township_staff", password=PASSWORD)
    make_user("tongshi", role="township_staff", password=PASSWORD)


def attempt(username, password, address=OFFICE, client=None):
    return (client or Client()).post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=address)


def signed_in(response):
    return response.status_code == 302 and response["Location"] == reverse(
        "reports:home"
    )  # each role lands on its own home


def fail(times, username="dongcheng", address=OFFICE):
    return [attempt(username, "wrong-password", address) for _ in range(times)]


def test_settings_lock_per_username_and_address_after_five_failures():
    assert settings.AXES_LOCKOUT_PARAMETERS == [["username", "ip_address"]]
    assert settings.AXES_FAILURE_LIMIT == 5
    assert settings.AUTHENTICATION_BACKENDS[0].startswith("axes.backends.")
    assert datetime.timedelta(minutes=15) == settings.AXES_COOLOFF_TIME


def test_five_wrong_passwords_lock_the_username_at_that_address(staff):
    responses = fail(5)
    assert [r.status_code for r in responses] == [200, 200, 200, 200, 429]
    assert "请输入" in responses[0].content.decode() or "正确" in responses[0].content.decode()

    locked = attempt("dongcheng", PASSWORD)  # even the right password now
    assert locked.status_code == 429
    page = locked.content.decode()
    assert "登录已暂时锁定" in page and "15 分钟后再试" in page and "dongcheng" in page
    assert "_auth_user_id" not in locked.client.session


def test_one_persons_typos_do_not_lock_the_office(staff):
    fail(5)
    assert signed_in(attempt("tongshi", PASSWORD, OFFICE))  # a colleague behind the same address
    assert signed_in(attempt("dongcheng", PASSWORD, HOME))  # the same person from elsewhere


def test_failures_from_many_addresses_do_not_add_up(staff):
    for n in range(5):
        fail(4, address=f"192.168.1.{n + 1}")
    assert signed_in(attempt("dongcheng", PASSWORD, "192.168.1.1"))


def test_a_successful_login_clears_the_count(staff):
    fail(4)
    assert signed_in(attempt("dongcheng", PASSWORD))
    fail(4)
    assert signed_in(attempt("dongcheng", PASSWORD))


def test_the_lockout_clears_when_reset(staff):
    fail(5)
    assert attempt("dongcheng", PASSWORD).status_code == 429
    assert reset(username="dongcheng") == 1
    assert signed_in(attempt("dongcheng", PASSWORD))


def test_the_lockout_clears_after_the_cool_off(staff):
    fail(5)
    assert attempt("dongcheng", PASSWORD).status_code == 429
    AccessAttempt.objects.update(
        attempt_time=timezone.now() - settings.AXES_COOLOFF_TIME - datetime.timedelta(seconds=1)
    )
    assert signed_in(attempt("dongcheng", PASSWORD))


def test_the_admin_login_is_guarded_too(staff):
    for _ in range(5):
        Client().post("/admin/login/", {"username": "dongcheng", "password": "nope"}, REMOTE_ADDR=OFFICE)
    assert attempt("dongcheng", PASSWORD).status_code == 429


# --- disabled users ------------------------------------------------------------------------------


def test_a_disabled_user_is_logged_out_on_the_next_request(staff):
    from django.contrib.auth.models import User

    client = Client()
    assert signed_in(attempt("dongcheng", PASSWORD, client=client))
    assert client.get(reverse("reports:dashboard")).status_code == 200

    User.objects.filter(username="dongcheng").update(is_active=False)  # e.g. from a shell or the admin

    response = client.get(reverse("reports:dashboard"))
    assert response.status_code == 302 and response["Location"].startswith(LOGIN)
    assert not signed_in(attempt("dongcheng", PASSWORD))  # and cannot sign in again


# --- idle timeout --------------------------------------------------------------------------------


def session_row(client):
    return Session.objects.get(session_key=client.session.session_key)


def test_a_session_ends_after_thirty_idle_minutes(staff):
    assert settings.SESSION_COOKIE_AGE == 30 * 60
    client = Client()
    assert signed_in(attempt("dongcheng", PASSWORD, client=client))
    Session.objects.update(expire_date=timezone.now() - datetime.timedelta(seconds=1))

    response = client.get(reverse("reports:dashboard"))

    assert response.status_code == 302 and response["Location"].startswith(LOGIN)


def test_a_request_pushes_the_idle_timeout_back(staff):
    client = Client()
    assert signed_in(attempt("dongcheng", PASSWORD, client=client))
    nearly = timezone.now() + datetime.timedelta(minutes=2)
    Session.objects.update(expire_date=nearly)

    assert client.get(reverse("reports:dashboard")).status_code == 200

    expiry = session_row(client).expire_date
    assert expiry > timezone.now() + datetime.timedelta(minutes=29)
    assert client.cookies[settings.SESSION_COOKIE_NAME]["max-age"] == settings.SESSION_COOKIE_AGE


def test_a_fresh_session_is_not_written_on_every_request(staff):
    client = Client()
    assert signed_in(attempt("dongcheng", PASSWORD, client=client))
    before = session_row(client).expire_date

    client.get(reverse("reports:dashboard"))

    assert session_row(client).expire_date == before


# --- passwords and HTTPS -------------------------------------------------------------------------


@pytest.mark.parametrize("password", ["short-1", "12345678901234", "password1234", "dongcheng2018"])
def test_weak_passwords_are_refused(db, password):
    user = make_user("dongcheng2018", role="township_staff")
    with pytest.raises(ValidationError):
        validate_password(password, user)


def test_a_good_passphrase_passes(db):
    validate_password("qiao-tou-zhen-2018", make_user("qiaotou", role="township_staff"))


def production_settings(**env):
    code = (
        "import django, json; django.setup(); from django.conf import settings as s; "
        "print(json.dumps({k: getattr(s, k) for k in ('SESSION_COOKIE_SECURE', 'CSRF_COOKIE_SECURE', "
        "'SECURE_SSL_REDIRECT', 'SECURE_HSTS_SECONDS', 'SESSION_COOKIE_HTTPONLY', 'SESSION_COOKIE_AGE')}))"
    )
    environ = {**os.environ, "DJANGO_SETTINGS_MODULE": "siwu.settings", "DEBUG": "0", "SECRET_KEY": "x" * 50}
    environ.update(env)
    out = subprocess.run(
        [sys.executable, "-c", code],
        env=environ,
        cwd=Path(settings.BASE_DIR),
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)


def test_production_cookies_are_https_only():
    prod = production_settings(ALLOWED_HOSTS="siwu.example.gov.cn")
    assert prod["SESSION_COOKIE_SECURE"] is True and prod["CSRF_COOKIE_SECURE"] is True
    assert prod["SECURE_SSL_REDIRECT"] is True and prod["SECURE_HSTS_SECONDS"] > 0
    assert prod["SESSION_COOKIE_HTTPONLY"] is True and prod["SESSION_COOKIE_AGE"] == 1800


def test_https_settings_come_from_the_environment():
    prod = production_settings(SECURE_SSL_REDIRECT="0", SECURE_HSTS_SECONDS="31536000", SESSION_IDLE_MINUTES="20")
    assert (prod["SECURE_SSL_REDIRECT"], prod["SECURE_HSTS_SECONDS"], prod["SESSION_COOKIE_AGE"]) == (
        False,
        31536000,
        1200,
    )

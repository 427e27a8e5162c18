"""The health check and the error pages: what a load balancer and a person see when the database goes."""

import pytest
from django.db import OperationalError
from django.db.backends.base.base import BaseDatabaseWrapper
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db


@pytest.fixture
def database_down(monkeypatch):
    """Every new cursor fails as it does when PostgreSQL is restarting."""

    def refuse(self, *args, **kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    def down():
        monkeypatch.setattr(BaseDatabaseWrapper, "cursor", refuse)

    return down


def test_health_is_200_when_the_database_answers(client):
    response = client.get(reverse("health"))
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "databases": {"default": "ok"}}
    assert "no-store" in response["Cache-Control"]


def test_health_needs_no_login_and_writes_no_session(client, django_assert_max_num_queries):
    with django_assert_max_num_queries(1):  # SELECT 1, nothing else
        response = client.get(reverse("health"))
    assert response.status_code == 200
    assert "sessionid" not in response.cookies


def test_health_refuses_other_methods(client):
    assert client.post(reverse("health")).status_code == 405


def test_health_is_503_when_the_database_does_not_answer(client, database_down):
    database_down()
    response = client.get(reverse("health"))
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "databases": {"default": "unavailable"}}


def test_a_page_while_the_database_is_down_is_the_friendly_503(database_down):
    from tests.factories import make_user

    client = Client(raise_request_exception=False)
    client.force_login(make_user("guanli", role="city_admin"))
    database_down()
    # The session itself cannot be read: the failure comes from the middleware, before any view.
    response = client.get(reverse("reports:dashboard"), HTTP_X_REQUEST_ID="down-1")
    assert response.status_code == 503
    assert response["Retry-After"] == "10"
    page = response.content.decode()
    assert "系统暂时无法使用" in page and "down-1" in page
    assert response["X-Request-ID"] == "down-1"


@pytest.mark.urls("tests.ops.urls")
def test_a_database_error_in_a_view_is_the_503_page_and_any_other_error_the_500_page():
    client = Client(raise_request_exception=False)
    gone = client.get("/test/database-gone/")
    assert gone.status_code == 503
    assert "系统暂时无法使用" in gone.content.decode()
    broken = client.get("/test/broken/")
    assert broken.status_code == 500
    assert "系统出错" in broken.content.decode()
    assert broken["X-Request-ID"] in broken.content.decode()


@pytest.mark.urls("tests.ops.urls")
def test_the_error_pages_follow_the_language(settings):
    client = Client(raise_request_exception=False, HTTP_ACCEPT_LANGUAGE="en")
    page = client.get("/test/broken/").content.decode()
    assert '<html lang="en">' in page

"""Deny by default: the access middleware in front of every view (core/middleware.py)."""

import logging
import re

import pytest
from django.contrib.auth.models import User
from django.test import Client

from tests.access.conftest import ROLES


@pytest.fixture
def world(world_of_module):
    """The access world built once for the module, each test's writes rolled back (tests/access/conftest.py)."""
    return world_of_module


pytestmark = pytest.mark.urls("tests.access.urls")


@pytest.mark.parametrize("role", ROLES)
def test_a_view_that_declares_nothing_is_refused_to_everyone_and_logged(world, caplog, role):
    with caplog.at_level(logging.ERROR, logger="siwu.access"):
        response = world.clients[role].get("/test/undeclared/")
    assert response.status_code == 403
    assert "这一页忘了声明权限" not in response.content.decode()
    assert "尚未设置访问权限" in response.content.decode()
    (record,) = [r for r in caplog.records if r.name == "siwu.access"]
    assert "tests.access.urls.undeclared" in record.getMessage() and "declares no access policy" in record.getMessage()


def test_an_anonymous_visitor_is_sent_to_the_login_page_and_back(db):
    response = Client().get("/test/readable/?x=1")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/test/readable/%3Fx%3D1"


def test_a_public_view_needs_no_login(db):
    assert Client().get("/test/open/").content == b"open"


def test_a_role_not_allowed_gets_the_chinese_403_page_and_is_logged(world, caplog):
    with caplog.at_level(logging.WARNING, logger="siwu.access"):
        response = world.clients["viewer"].get("/test/admin-only/")
    page = response.content.decode()
    assert response.status_code == 403
    assert "无权访问" in page and "市领导" in page  # names the role that was refused
    (record,) = [r for r in caplog.records if r.name == "siwu.access"]
    assert "user=lingdao" in record.getMessage() and "path=/test/admin-only/" in record.getMessage()
    assert world.clients["admin"].get("/test/admin-only/").status_code == 200


def test_a_user_without_a_role_is_refused_with_a_hint(db):
    client = Client()
    client.force_login(User.objects.create_user("meiyou"))
    response = client.get("/test/readable/")
    assert response.status_code == 403
    assert "尚未分配角色" in response.content.decode()


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_methods_no_role_may_use_are_405(world, method):
    response = getattr(world.clients["admin"], method)("/test/admin-only/")
    assert response.status_code == 405
    assert set(response["Allow"].split(", ")) == {"GET", "HEAD", "POST"}


def test_head_is_allowed_where_get_is(world):
    assert world.clients["viewer"].head("/test/readable/").status_code == 200
    assert world.clients["viewer"].post("/test/readable/").status_code == 405


def test_the_404_page_is_chinese_and_does_not_say_whether_the_object_exists(world, settings):
    settings.DEBUG = False
    missing_url, hidden_url = "/units/999999/", f"/units/{world.unit_a.pk}/"
    missing = world.clients["staff_b"].get(missing_url)
    hidden = world.clients["staff_b"].get(hidden_url)
    assert missing.status_code == hidden.status_code == 404
    assert "页面不存在" in hidden.content.decode()

    def page(response, url):
        # The same page, but for the CSRF token every page masks afresh and the path it was asked at.
        text = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", response.content.decode())
        return text.replace(url, "URL")

    assert page(missing, missing_url) == page(hidden, hidden_url)

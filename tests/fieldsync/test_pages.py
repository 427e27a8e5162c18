"""The installable app's files and the queue's pages: what they serve, to whom, at what cost."""

import json
import re
import uuid

import pytest
from django.contrib.staticfiles import finders
from django.test import Client
from django.urls import reverse
from PIL import Image

from enterprises.models import Enterprise
from fieldsync import views
from fieldsync.models import SubmissionKey

pytestmark = pytest.mark.django_db


def signed_in(user):
    client = Client()
    client.force_login(user)
    return client


def test_the_manifest_names_the_app_in_chinese_and_its_icons_exist_at_their_sizes(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/manifest.webmanifest")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/manifest+json"
    manifest = json.loads(response.content)
    assert manifest["name"] == "四无整治督考平台"
    assert (manifest["display"], manifest["lang"], manifest["start_url"]) == ("standalone", "zh-CN", "/")
    purposes = set()
    for icon in manifest["icons"]:
        path = finders.find(icon["src"].removeprefix("/static/"))
        assert path, icon["src"]
        with Image.open(path) as image:
            assert image.format == "PNG"
            assert f"{image.width}x{image.height}" == icon["sizes"]
        purposes.add(icon.get("purpose", "any"))
    assert purposes == {"any", "maskable"}


def test_the_service_worker_is_served_from_the_root_for_the_whole_site_under_the_policy(
    client, django_assert_num_queries
):
    with django_assert_num_queries(0):
        response = client.get("/sw.js")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/javascript; charset=utf-8"
    assert response["Service-Worker-Allowed"] == "/"
    assert "no-cache" in response["Cache-Control"]  # the browser checks for a new worker every time
    # The site's policy, unchanged: the worker imports only this server's scripts.
    assert "script-src 'self'" in response["Content-Security-Policy"]
    body = response.content.decode()
    config = json.loads(re.match(r"self\.FIELDSYNC = (\{.*\});\n", body).group(1))
    assert 'importScripts("/static/js/fieldsync-queue.js", "/static/js/fieldsync-sw.js");' in body
    # Every file of the app shell exists (a missing one would fail the worker's installation).
    for url in config["shell"]:
        if url.startswith("/static/"):
            assert finders.find(url.removeprefix("/static/")), url
    assert config["offline"] in config["shell"]
    assert client.get(config["offline"]).status_code == 200
    assert re.fullmatch(r"[0-9a-f]{16}", config["version"])


def test_the_workers_version_changes_when_a_file_of_the_shell_does(client, monkeypatch):
    before = views._worker_config()["version"]
    monkeypatch.setattr(views, "SHELL_STATIC", (*views.SHELL_STATIC, "css/history.css"))

    assert views._worker_config()["version"] != before


def test_the_offline_page_is_public_and_carries_the_queue(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get(reverse("fieldsync:offline"))

    html = response.content.decode()
    assert response.status_code == 200
    assert "当前没有网络信号" in html
    assert 'id="fieldsync-queue"' in html


def test_the_queue_page_is_for_signed_in_users_at_a_pinned_cost(world, django_assert_num_queries):
    assert Client().get(reverse("fieldsync:queue"))["Location"].startswith(reverse("login"))
    client = signed_in(world.staff)
    client.get(reverse("fieldsync:queue"))  # the session's first refresh is not this page's cost

    # The session and the user with their role (core/backends.py); the page itself reads nothing.
    with django_assert_num_queries(2):
        response = client.get(reverse("fieldsync:queue"))

    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="fieldsync-queue"' in html
    assert "离线待发送" in html


def test_the_session_answers_who_is_signed_in_and_a_csrf_token(world, django_assert_num_queries):
    client = signed_in(world.staff)
    client.get(reverse("fieldsync:session"))

    with django_assert_num_queries(2):
        response = client.get(reverse("fieldsync:session"))

    body = response.json()
    assert body["user"] == world.staff.pk
    assert len(body["csrf"]) >= 32
    assert "no-cache" in response["Cache-Control"]
    assert Client().get(reverse("fieldsync:session"))["Location"].startswith(reverse("login"))


def test_a_new_unit_sent_twice_with_one_key_is_registered_once(world):
    client = signed_in(world.staff)
    url = reverse("enterprises:create")
    data = {
        "name": "离线登记的作坊",
        "township": world.town.pk,
        "identified_on": "2018-06-10",
        "address": "解放路 12 号",
        "defects": ["unlicensed"],
        "source": "screening",
        "status": "open",
    }
    submission = str(uuid.uuid4())
    first = client.post(url, data, headers={"X-Idempotency-Key": submission, "X-Fieldsync-Queued": "1"})
    assert first.json()["ok"] is True

    again = client.post(url, data, headers={"X-Idempotency-Key": submission, "X-Fieldsync-Queued": "1"})

    assert again.json()["replayed"] is True
    assert again.json()["location"] == first.json()["location"]
    assert Enterprise.objects.filter(name="离线登记的作坊").count() == 1
    assert SubmissionKey.objects.count() == 1

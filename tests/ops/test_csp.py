"""The Content-Security-Policy on the pages that keep inline CSS on purpose: exactly that CSS, no script."""

import base64
import hashlib
import re

import pytest
from django.test import Client
from django.urls import reverse

from tests.reports import test_notice

pytestmark = pytest.mark.django_db
world = test_notice.world  # the notice tests' city


def _hash(css):
    return "'sha256-" + base64.b64encode(hashlib.sha256(css.encode()).digest()).decode() + "'"


@pytest.mark.urls("tests.ops.urls")
@pytest.mark.parametrize("path", ["/test/broken/", "/test/database-gone/"])
def test_the_error_pages_allow_their_own_css_by_hash_and_nothing_else(path):
    response = Client(raise_request_exception=False).get(path)
    assert response.status_code in (500, 503)
    policy = response["Content-Security-Policy"]
    blocks = re.findall(r"<style[^>]*>(.*?)</style>", response.content.decode(), re.DOTALL)
    assert blocks and all(_hash(css) in policy for css in blocks)
    assert "unsafe-inline" not in policy and "script-src 'self'" in policy


def test_the_printable_notice_may_style_itself_but_runs_no_script(client, world):
    client.force_login(world.admin)
    response = client.get(
        reverse("notices:draft_download", args=["html"]), {"campaign": "c2018", "as_of": "2018-03-31"}
    )
    assert response.status_code == 200
    policy = response["Content-Security-Policy"]
    assert "script-src 'none'" in policy and "default-src 'none'" in policy
    assert "style-src 'unsafe-inline'" in policy
    assert b"<style" in b"".join(response.streaming_content)


def test_an_ordinary_page_allows_no_inline_style(client, world):
    client.force_login(world.admin)
    response = client.get(reverse("notices:list"), {"campaign": "c2018"})
    assert response.status_code == 200
    assert "<style" not in response.content.decode()
    assert "unsafe-inline" not in response["Content-Security-Policy"]

"""Request ids, the request log, the client's address behind a proxy: what an operator traces by."""

import json
import logging
import re
import sys

import pytest
from django.urls import reverse

from core.ops import JsonFormatter, forwarded_client, request_id_from
from enterprises.models import Enterprise, Rectification
from tests.ops.conftest import photo, rectify_data

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("incoming", "kept"),
    [
        ("0f8fad5b-d9cb-469f-a165-70867728950e", True),
        ("nginx.1:42_x", True),
        ("a" * 64, True),
        ("a" * 65, False),
        ("", False),
        ("has space", False),
        ("line\nbreak", False),
        ("-starts-with-dash", False),
        ("引号", False),
    ],
)
def test_a_sane_incoming_request_id_is_kept_and_anything_else_replaced(rf, incoming, kept):
    request = rf.get("/", HTTP_X_REQUEST_ID=incoming)
    request_id = request_id_from(request)
    if kept:
        assert request_id == incoming
    else:
        assert re.fullmatch(r"[0-9a-f]{32}", request_id)


def test_every_response_carries_its_request_id(client):
    given = client.get(reverse("login"), HTTP_X_REQUEST_ID="proxy-1234")
    assert given["X-Request-ID"] == "proxy-1234"
    made = client.get(reverse("login"))
    assert re.fullmatch(r"[0-9a-f]{32}", made["X-Request-ID"])
    # A redirect too (the login page for a signed-out visitor).
    assert client.get(reverse("reports:dashboard"))["X-Request-ID"]


def test_one_log_line_per_request_with_id_method_path_status_duration_and_user(township, caplog):
    _town, staff, client, unit = township
    caplog.set_level(logging.INFO, logger="siwu.request")
    response = client.get(reverse("enterprises:detail", args=[unit.pk]) + "?q=张三", HTTP_X_REQUEST_ID="trace-1")
    assert response.status_code == 200
    (record,) = [r for r in caplog.records if r.name == "siwu.request"]
    assert (record.method, record.path, record.status, record.user_id) == ("GET", f"/units/{unit.pk}/", 200, staff.pk)
    assert record.duration_ms >= record.cpu_ms >= 0
    line = json.loads(JsonFormatter().format(record))
    assert {"time", "level", "logger", "message", "method", "path", "status", "duration_ms", "user_id"} <= set(line)
    assert "张三" not in json.dumps(line, ensure_ascii=False)  # no query string: searches hold names


class Lines(logging.Handler):
    """Formats as the console handler does: while the request that logs is being served."""

    def __init__(self):
        super().__init__()
        self.setFormatter(JsonFormatter())
        self.lines = []

    def emit(self, record):
        self.lines.append(json.loads(self.format(record)))


def test_lines_written_during_a_request_carry_its_id(township):
    _town, _staff, client, _unit = township
    handler, logger = Lines(), logging.getLogger("siwu.access")
    logger.addHandler(handler)
    try:
        client.get(reverse("manage:index"), HTTP_X_REQUEST_ID="denied-7")  # township staff: refused, logged
    finally:
        logger.removeHandler(handler)
    (line,) = handler.lines
    assert (line["logger"], line["level"], line["request_id"]) == ("siwu.access", "WARNING", "denied-7")
    assert "access denied" in line["message"]


def test_json_formatter_writes_one_parseable_line_with_extras_and_the_exception():
    formatter = JsonFormatter()
    try:
        raise ValueError("坏了")
    except ValueError:
        record = logging.getLogger("x").makeRecord(
            "x",
            logging.ERROR,
            __file__,
            1,
            "失败 %s",
            ("一次",),
            exc_info=sys.exc_info(),
            extra={"unit": 7, "obj": object()},
        )
    text = formatter.format(record)
    assert "\n" not in text
    line = json.loads(text)
    assert (line["message"], line["level"], line["unit"]) == ("失败 一次", "ERROR", 7)
    assert line["obj"].startswith("<object")
    assert "ValueError: 坏了" in line["exception"]


def test_the_audit_trail_records_the_request_id_of_the_write(township):
    _town, _staff, client, unit = township
    response = client.post(
        reverse("enterprises:rectify", args=[unit.pk]), rectify_data(photo()), HTTP_X_REQUEST_ID="save-42"
    )
    assert response.status_code == 302
    rectification = Rectification.objects.get(enterprise=unit)
    assert rectification.history.get().request_id == "save-42"
    assert Enterprise.history.filter(id=unit.pk).latest("history_id").request_id == "save-42"
    assert rectification.photos.get().history.get().request_id == "save-42"


def test_a_generated_request_id_is_the_one_in_the_audit_trail(township):
    _town, _staff, client, unit = township
    response = client.post(reverse("enterprises:rectify", args=[unit.pk]), rectify_data(photo()))
    assert Rectification.objects.get(enterprise=unit).history.get().request_id == response["X-Request-ID"]


PROXIES = ["10.0.0.1", "10.1.0.0/16"]


@pytest.mark.parametrize(
    ("remote", "forwarded", "client"),
    [
        ("10.0.0.1", "203.0.113.9", "203.0.113.9"),  # through the load balancer
        ("10.0.0.1", "203.0.113.9, 10.1.2.3", "203.0.113.9"),  # through two proxies of ours
        ("10.0.0.1", "6.6.6.6, 203.0.113.9", "203.0.113.9"),  # the client made up the first hop
        ("203.0.113.9", "1.2.3.4", "203.0.113.9"),  # not from a proxy: the header proves nothing
        ("10.0.0.1", "", "10.0.0.1"),
        ("10.0.0.1", "not-an-address", "10.0.0.1"),
        ("10.0.0.1", "10.1.9.9", "10.0.0.1"),  # every hop a proxy: the nearest is all we know
        ("10.0.0.1", "2001:db8::1", "2001:db8::1"),
    ],
)
def test_the_client_address_behind_trusted_proxies(remote, forwarded, client):
    from core.ops import _networks

    assert forwarded_client(remote, forwarded, _networks(PROXIES)) == client


def audited_address_through_a_proxy(township):
    """Rectify from 10.0.0.1 saying X-Forwarded-For 203.0.113.9: the address the audit row records."""
    _town, _staff, client, unit = township
    client.post(
        reverse("enterprises:rectify", args=[unit.pk]),
        rectify_data(photo()),
        REMOTE_ADDR="10.0.0.1",
        HTTP_X_FORWARDED_FOR="203.0.113.9",
    )
    return Rectification.objects.get(enterprise=unit).history.get().ip_address


def test_without_trusted_proxies_x_forwarded_for_is_ignored(township):
    assert audited_address_through_a_proxy(township) == "10.0.0.1"


def test_behind_a_trusted_load_balancer_the_audit_trail_has_the_clients_address(township, settings):
    settings.TRUSTED_PROXIES = PROXIES
    assert audited_address_through_a_proxy(township) == "203.0.113.9"

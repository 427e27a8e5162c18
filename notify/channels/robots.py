"""Group robots (群机器人): 钉钉 / 浙政钉 and 企业微信 webhooks.

A township's staff are reached through their township's robot, everyone else through the city's
(``RobotConfig`` with no township); the message @-mentions the recipient by the phone number of their
profile, so each person is told in the group the office already reads. The public robot endpoints do
not take an idempotency key; it travels as an ``Idempotency-Key`` header all the same, for a city
gateway in front of them that does (docs/notify.md, "At most once").
"""

import base64
import hashlib
import hmac
import json
import time
import urllib.error
import urllib.parse
import urllib.request

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from ..models import RobotConfig
from . import Channel, SendError
from .text import markdown, plain_text


def dingtalk_sign(secret, timestamp_ms):
    """钉钉加签: base64(HMAC-SHA256(key=secret, msg="{timestamp}\\n{secret}")), URL-encoded by the caller."""
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def post_json(url, payload, *, key):
    """POST ``payload`` as JSON; returns (HTTP status, decoded JSON body). Raises SendError on failure."""
    request = urllib.request.Request(
        url,
        data=json.dumps(payload, ensure_ascii=False).encode(),
        headers={"Content-Type": "application/json; charset=utf-8", "Idempotency-Key": key},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=settings.NOTIFY_HTTP_TIMEOUT) as response:  # nosec B310  # the city's configured webhook (http/https, checked by the form)
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as exc:
        # 4xx: the request is wrong and stays wrong (but 429 asks to wait); 5xx: try again later.
        raise SendError(
            f"HTTP {exc.code}: {exc.read()[:500].decode(errors='replace')}",
            http_status=exc.code,
            permanent=400 <= exc.code < 500 and exc.code != 429,
        ) from exc
    except (urllib.error.URLError, OSError) as exc:
        raise SendError(f"{type(exc).__name__}: {exc}") from exc
    try:
        return status, json.loads(raw or b"{}")
    except ValueError as exc:
        raise SendError(f"not JSON: {raw[:200]!r}", http_status=status) from exc


class RobotChannel(Channel):
    # errcodes after which sending again cannot help (a wrong token, signature or address).
    permanent_errors = frozenset()

    def reaches(self, user, context):
        return context.robot_for(self.name, user) is not None

    def prepare(self, deliveries):
        """Read the robots once for a batch of deliveries (the worker calls this before sending them)."""
        self._robots = {
            robot.township_id: robot for robot in RobotConfig.objects.filter(channel=self.name, enabled=True)
        }

    def robot(self, delivery):
        robots = getattr(self, "_robots", None)
        if robots is None:
            self.prepare([delivery])
            robots = self._robots
        profile = getattr(delivery.user, "profile", None)
        township_id = profile.township_id if profile else None
        found = robots.get(township_id) or robots.get(None)
        if found is None:
            raise SendError("no robot configured for the recipient's township or the city", permanent=True)
        return found

    @staticmethod
    def mobiles(delivery):
        profile = getattr(delivery.user, "profile", None)
        phone = profile.phone.strip() if profile and profile.phone else ""
        return [phone] if phone else []

    def check(self, status, body):
        code = body.get("errcode", 0)
        if code != 0:
            raise SendError(
                f"errcode {code}: {body.get('errmsg', '')}", http_status=status, permanent=code in self.permanent_errors
            )
        return status

    def send(self, delivery):
        robot = self.robot(delivery)
        status, body = post_json(self.url(robot), self.payload(delivery), key=delivery.idempotency_key)
        return self.check(status, body)


class DingTalkChannel(RobotChannel):
    """钉钉 / 浙政钉 custom robot: ``timestamp`` and ``sign`` query parameters when a secret is set
    (加签), a markdown message @-mentioning the recipient. errcode 130101 (too fast) is retried."""

    label = _("钉钉群机器人")
    # 300001 token missing, 310000 signature/keyword/IP refused, 400101/400102 robot disabled.
    permanent_errors = frozenset({300001, 310000, 400101, 400102})

    def url(self, robot):
        if not robot.secret:
            return robot.webhook
        timestamp = str(round(time.time() * 1000))
        sign = urllib.parse.quote_plus(dingtalk_sign(robot.secret, timestamp))
        separator = "&" if "?" in robot.webhook else "?"
        return f"{robot.webhook}{separator}timestamp={timestamp}&sign={sign}"

    def payload(self, delivery):
        mobiles = self.mobiles(delivery)
        text = markdown(delivery.message)
        if mobiles:
            text += "\n\n" + " ".join(f"@{m}" for m in mobiles)
        return {
            "msgtype": "markdown",
            "markdown": {"title": delivery.message.title, "text": text},
            "at": {"atMobiles": mobiles, "isAtAll": False},
        }


class WeComChannel(RobotChannel):
    """企业微信 group robot: ``msgtype`` text with ``mentioned_mobile_list`` (a markdown message cannot
    mention anyone). errcode 45009 (too fast) and -1 (busy) are retried."""

    label = _("企业微信群机器人")
    # 93000 invalid webhook key, 93004 robot removed from the group, 40008 invalid message type.
    permanent_errors = frozenset({93000, 93004, 40008})

    def url(self, robot):
        return robot.webhook

    def payload(self, delivery):
        return {
            "msgtype": "text",
            "text": {"content": plain_text(delivery.message), "mentioned_mobile_list": self.mobiles(delivery)},
        }


__all__ = ["DingTalkChannel", "WeComChannel", "dingtalk_sign", "plain_text"]

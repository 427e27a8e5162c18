"""The bell, the inbox, one's reminder settings and the group robots' page."""

import datetime

import pytest
from django.urls import reverse

from notify.models import Delivery, Preference, QuietHours, RobotConfig
from notify.outbox import enqueue
from tests.factories import make_township, make_user


@pytest.fixture
def me(town):
    return make_user("me", role="township_staff", township=town)


@pytest.fixture
def signed_in(client, me):
    client.force_login(me)
    return client


def tell(user, n=1, link="/inspections/"):
    for i in range(n):
        enqueue("finding_new", [user], title=f"新的督查问题 {i}", body="整改期限2018-05-10。", link=link)


def test_the_bell_counts_my_unread_messages_only(signed_in, me, town):
    other = make_user("other", role="township_staff", township=town)
    tell(me, 3)
    tell(other, 2)
    assert signed_in.get(reverse("notify:unread")).json() == {"unread": 3}
    page = signed_in.get(reverse("reports:dashboard")).content.decode()
    assert f'data-unread-url="{reverse("notify:unread")}"' in page and "js/notify-bell.js" in page


def test_the_inbox_lists_my_messages_newest_first(signed_in, me, django_assert_max_num_queries):
    tell(me, 40)
    with django_assert_max_num_queries(8):
        response = signed_in.get(reverse("notify:inbox"))
    page = response.content.decode()
    assert page.count('class="notify-item unread"') == 30  # one page
    assert page.index("新的督查问题 39") < page.index("新的督查问题 30")
    assert 'id="inbox-unread">40<' in page


def test_opening_a_message_marks_it_read_and_goes_to_its_link(signed_in, me):
    tell(me, 2, link="/inspections/")
    first = Delivery.objects.filter(user=me, channel="inapp").first()
    response = signed_in.post(reverse("notify:read", args=[first.pk]))
    assert response.status_code == 302 and response["Location"] == "/inspections/"
    first.refresh_from_db()
    assert first.read_at is not None
    assert signed_in.get(reverse("notify:unread")).json() == {"unread": 1}


def test_someone_elses_message_is_not_found(signed_in, town):
    other = make_user("other", role="township_staff", township=town)
    tell(other)
    theirs = Delivery.objects.get(user=other, channel="inapp")
    assert signed_in.post(reverse("notify:read", args=[theirs.pk])).status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_mark_all_read(signed_in, me):
    tell(me, 3)
    response = signed_in.post(reverse("notify:read_all"), follow=True)
    assert "已将3条消息标为已读" in response.content.decode()
    assert signed_in.get(reverse("notify:unread")).json() == {"unread": 0}


def test_preferences_turn_a_channel_off_and_set_quiet_hours(signed_in, me):
    page = signed_in.get(reverse("notify:preferences")).content.decode()
    assert 'name="finding_new__email" checked' in page  # on by default
    data = {
        f"{event}__{channel}": "on"
        for event in ("finding_new", "finding_due", "finding_overdue", "lookback_due")
        for channel in ("inapp", "dingtalk", "wecom", "email")
    }
    del data["finding_due__email"]
    data.update(quiet_start="22:00", quiet_end="07:00")
    response = signed_in.post(reverse("notify:preferences"), data)
    assert response.status_code == 302
    assert Preference.objects.get(user=me, event="finding_due", channel="email").enabled is False
    assert Preference.objects.get(user=me, event="finding_new", channel="email").enabled is True
    quiet = QuietHours.objects.get(user=me)
    assert (quiet.start, quiet.end) == (datetime.time(22), datetime.time(7))
    page = signed_in.get(reverse("notify:preferences")).content.decode()
    assert 'name="finding_due__email" checked' not in page and 'value="22:00' in page


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        ("22:00", "", "免打扰须同时填写开始和结束时间"),
        ("08:00", "08:00", "免打扰的开始和结束时间不能相同"),
        ("25:00", "07:00", ""),
    ],
)
def test_bad_quiet_hours_are_refused_and_nothing_is_saved(signed_in, me, start, end, message):
    response = signed_in.post(reverse("notify:preferences"), {"quiet_start": start, "quiet_end": end})
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not QuietHours.objects.exists() and not Preference.objects.exists()


@pytest.fixture
def admin_client(client, db):
    client.force_login(make_user("boss", role="city_admin"))
    return client


def test_a_city_admin_configures_robots_per_township(admin_client, town):
    response = admin_client.post(
        reverse("notify:robot_create"),
        {
            "channel": "dingtalk",
            "township": town.pk,
            "webhook": "https://oapi.dingtalk.com/robot/send?access_token=x",
            "secret": "SECabc",
            "enabled": "on",
        },
    )
    assert response.status_code == 302
    robot = RobotConfig.objects.get()
    assert (robot.channel, robot.township, robot.secret) == ("dingtalk", town, "SECabc")
    page = admin_client.get(reverse("notify:robots")).content.decode()
    assert "钉钉群机器人" in page and town.name in page
    # The same township and channel twice: refused, with a message naming it.
    again = admin_client.post(
        reverse("notify:robot_create"), {"channel": "dingtalk", "township": town.pk, "webhook": "https://x.cn/"}
    )
    assert "该乡镇(街道)已配置这个渠道的群机器人" in again.content.decode()
    # A city robot (no township) and a bad address.
    bad = admin_client.post(reverse("notify:robot_create"), {"channel": "wecom", "webhook": "ftp://x.cn/"})
    assert bad.status_code == 200 and RobotConfig.objects.count() == 1
    ok = admin_client.post(
        reverse("notify:robot_create"),
        {"channel": "wecom", "webhook": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k", "enabled": "on"},
    )
    assert ok.status_code == 302 and RobotConfig.objects.get(channel="wecom").township is None


def test_township_staff_cannot_open_the_robots(signed_in):
    assert signed_in.get(reverse("notify:robots")).status_code == 403
    assert signed_in.post(reverse("notify:robot_create"), {}).status_code == 403


def test_a_robot_edit_keeps_one_per_township_and_channel(admin_client):
    town = make_township("西城街道")
    robot = RobotConfig.objects.create(channel="wecom", township=town, webhook="https://a.cn/")
    response = admin_client.post(
        reverse("notify:robot_edit", args=[robot.pk]),
        {"channel": "wecom", "township": town.pk, "webhook": "https://b.cn/"},
    )
    assert response.status_code == 302
    robot.refresh_from_db()
    assert robot.webhook == "https://b.cn/" and robot.enabled is False

"""The outbox and its worker against a local robot endpoint and Django's mail outbox: written with the
event, sent by the worker, each delivery once, every attempt recorded, retries with back-off, dead
after the limit, a dead channel never blocking a save."""

import datetime

import pytest
from django.core import mail
from django.db import transaction
from django.utils import timezone

from notify import worker
from notify.models import Attempt, Delivery, Message, Outcome, RobotConfig, State
from notify.outbox import enqueue
from tests.factories import make_user


def send(event="finding_new", users=(), **kwargs):
    kwargs.setdefault("title", "新的督查问题：宏达五金厂")
    kwargs.setdefault("link", "/inspections/findings/1/")
    return enqueue(event, users, **kwargs)


def make_due(**filters):
    """Bring the back-off's next attempt to now (instead of waiting for it)."""
    Delivery.objects.filter(**filters).update(due_at=timezone.now() - datetime.timedelta(seconds=1))


def test_one_delivery_per_recipient_and_channel_the_bell_at_once(staff, robots):
    message = send(users=[staff, staff])
    rows = {d.channel: d for d in Delivery.objects.filter(message=message)}
    assert sorted(rows) == ["dingtalk", "email", "inapp", "wecom"]
    assert rows["inapp"].state == State.SENT  # the bell has it before any worker runs
    assert {rows[c].state for c in ("dingtalk", "email", "wecom")} == {State.PENDING}
    assert len({d.idempotency_key for d in rows.values()}) == 4


def test_a_channel_that_cannot_reach_the_user_gets_no_delivery(town):
    nobody = make_user("nomail", role="township_staff", township=town)  # no e-mail, no robot configured
    message = send(users=[nobody])
    assert list(Delivery.objects.filter(message=message).values_list("channel", flat=True)) == ["inapp"]


def test_the_message_rolls_back_with_the_event(staff, robots):
    with pytest.raises(RuntimeError), transaction.atomic():
        send(users=[staff])
        raise RuntimeError("the writer's save failed")
    assert not Message.objects.exists() and not Delivery.objects.exists()


def test_the_same_key_is_enqueued_once(staff):
    assert send(users=[staff], key="finding_new:1") is not None
    assert send(users=[staff], key="finding_new:1") is None
    assert Message.objects.count() == 1


def test_enqueue_never_calls_the_network(staff, robots, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("enqueue must not send")

    monkeypatch.setattr("urllib.request.urlopen", refuse)
    monkeypatch.setattr("django.core.mail.EmailMessage.send", refuse)
    send(users=[staff])
    assert Delivery.objects.filter(state=State.PENDING).count() == 3


def test_the_worker_sends_each_delivery_once_with_every_attempt_recorded(staff, robots, robot_server):
    send(users=[staff], body="整治不到位，整改期限2018-05-10。")
    assert worker.run_once(worker="w1") == {"sent": 3, "failed": 0, "dead": 0, "released": 0}
    assert worker.run_once(worker="w1")["sent"] == 0  # nothing left: never sent again
    assert set(Delivery.objects.values_list("state", flat=True)) == {State.SENT}
    keys = set(
        Delivery.objects.exclude(channel="inapp").exclude(channel="email").values_list("idempotency_key", flat=True)
    )
    assert set(robot_server.accepted) == keys and robot_server.duplicates == []
    assert [problem for *_, problem in robot_server.requests] == [None, None]  # signature and payload passed
    attempts = Attempt.objects.exclude(delivery__channel="email")
    assert [(a.number, a.outcome, a.http_status) for a in attempts] == [(1, Outcome.SENT, 200)] * 2
    assert all(a.finished_at >= a.started_at for a in attempts)
    # The e-mail went through Django's backend, its key as the Message-ID.
    (email,) = mail.outbox
    delivery = Delivery.objects.get(channel="email")
    assert email.to == ["dc@example.cn"] and email.subject == "新的督查问题：宏达五金厂"
    assert email.extra_headers["Message-ID"] == f"<{delivery.idempotency_key}@siwu.notify>"
    assert "http://127.0.0.1:8000/inspections/findings/1/" in email.body


def test_dingtalk_payload_is_signed_markdown_mentioning_the_recipient(staff, robots, robot_server):
    send(users=[staff])
    worker.run_once()
    ((path, headers, payload, problem),) = [r for r in robot_server.requests if r[0] == "/robot/send"]
    assert problem is None
    assert payload["msgtype"] == "markdown" and payload["markdown"]["title"] == "新的督查问题：宏达五金厂"
    assert "@13800000001" in payload["markdown"]["text"] and payload["at"]["atMobiles"] == ["13800000001"]
    assert headers["Idempotency-Key"] == Delivery.objects.get(channel="dingtalk").idempotency_key


def test_a_wrong_dingtalk_secret_is_refused_by_the_endpoint_and_dead_at_once(staff, robots, robot_server):
    RobotConfig.objects.filter(channel="dingtalk").update(secret="wrong")
    send(users=[staff])
    worker.run_once()
    delivery = Delivery.objects.get(channel="dingtalk")
    assert delivery.state == State.DEAD and delivery.attempts == 1
    assert "310000" in delivery.last_error
    assert robot_server.requests[0][3] == (310000, "sign not match")


def test_wecom_payload_is_text_mentioning_the_recipient(staff, robots, robot_server):
    send(users=[staff])
    worker.run_once()
    ((_, _, payload, problem),) = [r for r in robot_server.requests if r[0] == "/cgi-bin/webhook/send"]
    assert problem is None and payload["msgtype"] == "text"
    assert payload["text"]["mentioned_mobile_list"] == ["13800000001"]
    assert payload["text"]["content"].startswith("新的督查问题：宏达五金厂\n")


@pytest.mark.parametrize(
    ("failures", "recorded"),
    [
        ([(500, -1)], [(Outcome.FAILED, 500), (Outcome.SENT, 200)]),  # a server error
        (
            [(200, 45009), (200, -1)],
            [(Outcome.FAILED, 200), (Outcome.FAILED, 200), (Outcome.SENT, 200)],
        ),  # too fast, busy
        ([(429, 0)], [(Outcome.FAILED, 429), (Outcome.SENT, 200)]),  # told to wait
    ],
)
def test_a_failed_send_is_retried_after_a_growing_back_off(staff, robots, robot_server, failures, recorded):
    RobotConfig.objects.filter(channel="dingtalk").delete()
    robot_server.script = list(failures)
    send(users=[staff])
    delivery = Delivery.objects.get(channel="wecom")
    waits = []
    for _ in failures:
        before = timezone.now()
        assert worker.run_once()["failed"] == 1
        delivery.refresh_from_db()
        assert delivery.state == State.PENDING and delivery.last_error
        waits.append(round((delivery.due_at - before).total_seconds()))
        assert worker.run_once()["sent"] == 0  # not before its time
        make_due(pk=delivery.pk)
    assert worker.run_once()["sent"] == 1
    assert waits == [30, 60][: len(failures)]
    attempts = Attempt.objects.filter(delivery=delivery)
    assert [(a.outcome, a.http_status) for a in attempts] == recorded
    assert all(a.error for a in attempts if a.outcome == Outcome.FAILED)
    assert len(robot_server.accepted) == 1


def test_a_delivery_that_keeps_failing_is_dead_after_the_limit(staff, robots, robot_server, settings):
    settings.NOTIFY_MAX_ATTEMPTS = 3
    RobotConfig.objects.filter(channel="dingtalk").delete()
    robot_server.script = [(503, -1)] * 5
    send(users=[staff])
    for _ in range(3):
        worker.run_once()
        make_due(channel="wecom")
    delivery = Delivery.objects.get(channel="wecom")
    assert delivery.state == State.DEAD and delivery.attempts == 3
    assert "HTTP 503" in delivery.last_error
    assert worker.run_once() == {"sent": 0, "failed": 0, "dead": 0, "released": 0}
    assert Attempt.objects.filter(delivery=delivery).count() == 3


def test_an_unreachable_endpoint_is_a_recorded_failure_not_an_error(staff, town):
    RobotConfig.objects.create(channel="wecom", township=town, webhook="http://127.0.0.1:9/nothing")
    send(users=[staff])
    assert worker.run_once()["failed"] == 1
    attempt = Attempt.objects.get(delivery__channel="wecom")
    assert attempt.outcome == Outcome.FAILED and attempt.http_status is None
    assert "refused" in attempt.error.lower() or "URLError" in attempt.error


def test_a_worker_that_died_mid_send_leaves_the_delivery_to_its_lease(staff, robots, robot_server):
    RobotConfig.objects.filter(channel="dingtalk").delete()
    send(users=[staff])
    _token, claimed = worker.claim(worker="dead", limit=10)  # claimed, then the worker "dies"
    assert {d.channel for d in claimed} == {"wecom", "email"}
    assert worker.run_once(worker="live")["sent"] == 0  # leased: nobody else sends it
    Delivery.objects.filter(state=State.SENDING).update(lease_until=timezone.now() - datetime.timedelta(seconds=1))
    assert worker.run_once(worker="live")["sent"] == 2
    attempts = Attempt.objects.filter(delivery__channel="wecom")
    assert [(a.number, a.worker, a.outcome) for a in attempts] == [
        (1, "dead", Outcome.INTERRUPTED),
        (2, "live", Outcome.SENT),
    ]


def test_a_send_that_could_outlast_its_lease_is_handed_back(staff, robots, robot_server, settings):
    settings.NOTIFY_LEASE_SECONDS = 5  # shorter than a send may take (NOTIFY_HTTP_TIMEOUT 10)
    send(users=[staff])
    assert worker.run_once()["released"] >= 1
    assert robot_server.requests == []
    assert Delivery.objects.filter(state=State.PENDING, attempts=0).count() == 3
    assert not Attempt.objects.exists()


def test_a_finding_saves_while_every_channel_is_down(staff, town, monkeypatch):
    """A finding recorded with robots pointing nowhere: saved, its message waiting in the outbox."""
    from inspections import services
    from inspections.models import Kind
    from tests.factories import make_unit

    RobotConfig.objects.create(channel="dingtalk", township=town, webhook="http://127.0.0.1:9/down", secret="x")
    inspector = make_user("ducha", role="inspector")
    unit = make_unit(town, name="宏达五金厂")
    day = timezone.localdate()
    inspection = services.inspection_record(
        kind=Kind.RANDOM, inspected_on=day, team="督查一组", township=town, user=inspector
    )
    finding = services.finding_record(
        inspection=inspection,
        kind="not_done",
        description="未断电",
        deadline=day + datetime.timedelta(days=10),
        enterprise=unit,
        user=inspector,
    )
    message = Message.objects.get(key=f"finding_new:{finding.pk}")
    assert message.title == "新的督查问题：宏达五金厂" and message.link == finding.get_absolute_url()
    assert dict(Delivery.objects.filter(message=message).values_list("channel", "state")) == {
        "inapp": State.SENT,
        "email": State.PENDING,
        "dingtalk": State.PENDING,
    }
    assert worker.run_once()["failed"] == 1  # the dead robot fails in the worker, later, recorded

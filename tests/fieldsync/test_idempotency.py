"""Exactly once on the server (fieldsync/middleware.py): a submission key is applied at most once per
user, recorded with the view's writes, never for a refused submission; a queued form whose record
changed after it was shown is a conflict."""

import datetime
import uuid

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from enterprises.models import Enterprise, Rectification, RectificationPhoto
from enterprises.services import unit_update
from fieldsync.models import SubmissionKey
from inspections.models import Finding, FindingState
from tests.fieldsync.conftest import photo, rectification_data

pytestmark = pytest.mark.django_db


def key():
    return str(uuid.uuid4())


def send(client, url, data, submission, *, queued=False):
    headers = {"X-Idempotency-Key": submission}
    if queued:
        headers["X-Fieldsync-Queued"] = "1"
    return client.post(url, data, headers=headers)


def signed_in(user):
    client = Client()
    client.force_login(user)
    return client


def rectify_url(unit):
    return reverse("enterprises:rectify", args=[unit.pk])


def change_address(unit, user):
    """Another user edits the unit meanwhile (as the unit's edit page saves it)."""
    unit = Enterprise.objects.get(pk=unit.pk)
    version = unit.version
    unit.address = "解放路 9 号"
    unit_update(enterprise=unit, version=version, user=user)


def stamp(moment=None):
    return timezone.localtime(moment or timezone.now()).isoformat()


# --- once -----------------------------------------------------------------------------------------


def test_an_accepted_submission_records_its_key_and_answers_where_to_go(world):
    client = signed_in(world.staff)
    submission = key()

    response = send(client, rectify_url(world.unit), rectification_data(), submission)

    assert response.status_code == 200
    body = response.json()
    assert body["ok"] is True and body["replayed"] is False
    assert body["location"] == world.unit.get_absolute_url()
    assert Rectification.objects.filter(enterprise=world.unit).count() == 1
    record = SubmissionKey.objects.get()
    assert (record.user, record.key, record.status, record.path) == (
        world.staff,
        submission,
        302,
        rectify_url(world.unit),
    )


def test_a_replayed_key_answers_the_first_outcome_and_writes_nothing(world):
    client = signed_in(world.staff)
    submission = key()
    first = send(client, rectify_url(world.unit), rectification_data(), submission).json()

    # The phone never saw the answer and sends the same submission again (photos and all).
    again = send(client, rectify_url(world.unit), rectification_data(note="再次发送"), submission, queued=True)

    assert again.status_code == 200
    assert again.json() == {
        "ok": True,
        "location": first["location"],
        "replayed": True,
        "messages": ["该记录此前已提交成功，本次未重复保存。"],
    }
    assert Rectification.objects.filter(enterprise=world.unit).count() == 1
    assert RectificationPhoto.objects.count() == 1
    assert SubmissionKey.objects.count() == 1


def test_a_queued_send_takes_the_views_flash_messages_into_its_answer(world):
    client = signed_in(world.staff)

    body = send(client, rectify_url(world.unit), rectification_data(), key(), queued=True).json()

    assert body["messages"] == ["已登记“宏达五金厂”的整治情况"]
    # Not left for the next page opened as a pile of flashes.
    page = client.get(reverse("fieldsync:queue"))
    assert "已登记“宏达五金厂”的整治情况" not in page.content.decode()


def test_an_interactive_send_keeps_the_flash_message_for_the_page_it_goes_to(world):
    client = signed_in(world.staff)
    location = send(client, rectify_url(world.unit), rectification_data(), key()).json()["location"]

    page = client.get(location)

    assert "已登记“宏达五金厂”的整治情况" in page.content.decode()


def test_keys_are_per_user_and_another_users_key_never_replays_their_outcome(world):
    submission = key()
    send(signed_in(world.staff), rectify_url(world.unit), rectification_data(), submission)

    # A colleague's phone happens to send the same key for another unit: applied, as their own.
    theirs = send(signed_in(world.colleague), rectify_url(world.second), rectification_data(), submission)

    assert theirs.json()["replayed"] is False
    assert theirs.json()["location"] == world.second.get_absolute_url()
    assert Rectification.objects.filter(enterprise=world.second).count() == 1
    assert SubmissionKey.objects.filter(key=submission).count() == 2


def test_a_key_used_for_another_form_is_refused_not_replayed(world):
    client = signed_in(world.staff)
    submission = key()
    send(client, rectify_url(world.unit), rectification_data(), submission)

    other = send(client, rectify_url(world.second), rectification_data(), submission)

    assert other.status_code == 422
    assert other.json()["message"] == "该提交标识已用于另一项提交，本次未保存。"
    assert not Rectification.objects.filter(enterprise=world.second).exists()


@pytest.mark.parametrize("bad", ["short", "has spaces in it", "x" * 65, "<script>alert(1)</script>"])
def test_a_malformed_key_is_refused_in_chinese(world, bad):
    response = send(signed_in(world.staff), rectify_url(world.unit), rectification_data(), bad)

    assert response.status_code == 400
    assert response.json()["message"] == "提交标识格式不正确。"
    assert not Rectification.objects.exists()


# --- refused submissions record nothing ---------------------------------------------------------


def test_a_submission_with_form_errors_records_no_key_and_the_corrected_one_goes_through(world):
    client = signed_in(world.staff)
    submission = key()

    refused = send(client, rectify_url(world.unit), {"method": "closed", "photos": photo()}, submission, queued=True)

    assert refused.status_code == 200  # the form again, with its errors
    assert "errorlist" in refused.content.decode()
    assert not SubmissionKey.objects.exists()
    assert not Rectification.objects.exists()

    corrected = send(client, rectify_url(world.unit), rectification_data(), submission)

    assert corrected.json()["replayed"] is False
    assert Rectification.objects.count() == 1


def test_a_refused_submission_leaves_no_photo_file_behind(world, settings):
    client = signed_in(world.staff)
    # Valid in itself, but the unit is not the user's township's: 404, nothing kept.
    response = send(signed_in(world.stranger), rectify_url(world.unit), rectification_data(), key())

    assert response.status_code == 404
    assert not SubmissionKey.objects.exists()
    stored = [p for p in settings.MEDIA_ROOT.rglob("*") if p.is_file()] if settings.MEDIA_ROOT.exists() else []
    assert stored == []
    assert client  # the owner's session is untouched


def test_a_failing_view_rolls_back_its_writes_and_the_key(world, monkeypatch):
    def broken(self, *, user):
        Rectification.objects.create(
            enterprise=self.enterprise, method="closed", rectified_on=datetime.date(2018, 6, 1)
        )
        raise RuntimeError("the database went away")

    monkeypatch.setattr("enterprises.forms.RectificationForm.save", broken)
    client = signed_in(world.staff)
    client.raise_request_exception = False

    response = send(client, rectify_url(world.unit), rectification_data(), key())

    assert response.status_code == 500
    assert not Rectification.objects.exists()
    assert not SubmissionKey.objects.exists()


def test_without_a_key_a_post_is_untouched(world):
    response = signed_in(world.staff).post(rectify_url(world.unit), rectification_data())

    assert response.status_code == 302
    assert not SubmissionKey.objects.exists()


def test_a_signed_out_send_goes_to_the_login_page_and_records_nothing(world):
    response = send(Client(), rectify_url(world.unit), rectification_data(), key(), queued=True)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert not SubmissionKey.objects.exists()
    assert not Rectification.objects.exists()


# --- version conflicts --------------------------------------------------------------------------


def test_a_queued_rectification_of_a_unit_changed_meanwhile_is_a_conflict_with_the_reason(world):
    client = signed_in(world.staff)
    shown = stamp(timezone.now() - datetime.timedelta(minutes=30))
    change_address(world.unit, world.colleague)

    response = send(client, rectify_url(world.unit), rectification_data(fieldsync_version=shown), key(), queued=True)

    assert response.status_code == 409
    assert response.json() == {
        "ok": False,
        "conflict": True,
        "message": "在您离线期间，该记录已被他人修改；离线保存的内容未提交，请打开核对后重新提交。",
    }
    assert not Rectification.objects.exists()
    assert not SubmissionKey.objects.exists()


def test_a_queued_rectification_of_an_unchanged_unit_goes_through(world):
    client = signed_in(world.staff)
    shown = stamp()

    response = send(client, rectify_url(world.unit), rectification_data(fieldsync_version=shown), key(), queued=True)

    assert response.json()["ok"] is True
    assert Rectification.objects.count() == 1


def test_the_version_is_checked_for_queued_submissions_only(world):
    client = signed_in(world.staff)
    shown = stamp(timezone.now() - datetime.timedelta(minutes=30))
    change_address(world.unit, world.colleague)

    # Sent at once (the page's own submit): the user is looking at the unit as it is.
    response = send(client, rectify_url(world.unit), rectification_data(fieldsync_version=shown), key())

    assert response.json()["ok"] is True


def test_a_queued_rectification_of_a_deleted_unit_is_a_conflict(world):
    shown = stamp()
    Enterprise.objects.filter(pk=world.unit.pk).update(deleted_at=timezone.now())

    response = send(
        signed_in(world.staff), rectify_url(world.unit), rectification_data(fieldsync_version=shown), key(), queued=True
    )

    # A deleted unit is outside the register: the view itself answers 404; either way nothing is kept.
    assert response.status_code in (404, 409)
    assert not Rectification.objects.exists()
    assert not SubmissionKey.objects.exists()


def test_an_unreadable_version_is_a_conflict_not_a_silent_write(world):
    response = send(
        signed_in(world.staff),
        rectify_url(world.unit),
        rectification_data(fieldsync_version="yesterday"),
        key(),
        queued=True,
    )

    assert response.status_code == 409
    assert response.json()["message"] == "表单的版本标记无法识别，请重新打开该页面填写。"


def test_a_queued_finding_completion_conflicts_once_the_finding_changed(world):
    url = reverse("inspections:finding_rectified", args=[world.finding.pk])
    client = signed_in(world.staff)
    shown = stamp(timezone.now() - datetime.timedelta(minutes=5))
    # The inspector changed the finding meanwhile (its history records it).
    Finding.objects.get(pk=world.finding.pk).save()
    data = {"rectified_on": "2018-06-20", "note": "已清理通道", "photos": photo(), "fieldsync_version": shown}

    response = send(client, url, data, key(), queued=True)

    assert response.status_code == 409
    assert Finding.objects.get(pk=world.finding.pk).state == FindingState.OPEN

    # The user opens the form again (a moment later) and sends it.
    reopened = stamp(timezone.now() + datetime.timedelta(seconds=2))
    fresh = {**data, "photos": photo(), "fieldsync_version": reopened}
    accepted = send(client, url, fresh, key(), queued=True)

    assert accepted.json()["ok"] is True
    assert Finding.objects.get(pk=world.finding.pk).state == FindingState.RECTIFIED


def test_the_forms_carry_the_offline_mark_and_the_time_they_were_shown(world):
    client = signed_in(world.staff)
    before = timezone.now()

    rectify = client.get(rectify_url(world.unit)).content.decode()
    completion = client.get(reverse("inspections:finding_rectified", args=[world.finding.pk])).content.decode()

    for html in (rectify, completion):
        assert "data-offline" in html
        value = html.split('name="fieldsync_version" value="')[1].split('"')[0]
        moment = datetime.datetime.fromisoformat(value)
        assert before - datetime.timedelta(seconds=1) <= moment <= timezone.now()
    # Other inspection forms are not queued.
    other = client.get(reverse("inspections:findings")).content.decode()
    assert "data-offline" not in other


# --- the form's own submission (the key in a field, as fieldsync.js adds it) ---------------------


def test_a_form_sent_by_the_browser_with_its_key_is_answered_as_usual_and_applied_once(world):
    client = signed_in(world.staff)
    submission = key()
    data = rectification_data(fieldsync_key=submission, fieldsync_user=str(world.staff.pk))

    first = client.post(rectify_url(world.unit), data)

    assert first.status_code == 302
    assert first["Location"] == world.unit.get_absolute_url()
    assert SubmissionKey.objects.get().key == submission

    # The answer was lost on the way (the signal dropped): the phone's queue sends it again.
    again = client.post(rectify_url(world.unit), rectification_data(fieldsync_key=submission))

    assert again.status_code == 302
    assert again["Location"] == world.unit.get_absolute_url()
    assert "该记录此前已提交成功，本次未重复保存。" in client.get(again["Location"]).content.decode()
    assert Rectification.objects.count() == 1


def test_a_form_with_a_malformed_key_is_refused_with_a_page_in_chinese(world):
    response = signed_in(world.staff).post(rectify_url(world.unit), rectification_data(fieldsync_key="x y"))

    assert response.status_code == 400
    assert "提交标识格式不正确。" in response.content.decode()
    assert not Rectification.objects.exists()

"""The audit pages: any tracked object's history for city admins, and restoring an earlier version."""

import datetime

import pytest
from django.urls import reverse

from campaign.models import Milestone, TargetRevision, Township, UserProfile
from core.audit import describe, history_of, model_key, restore_version, tracked_models
from enterprises.models import Enterprise, Rectification, Status
from enterprises.services import rectification_record, unit_delete
from tests.audit.conftest import new_history_rows
from tests.factories import make_campaign, make_township, make_unit, make_user, set_target

pytestmark = pytest.mark.django_db

D = datetime.date


def saved(obj, user, **changes):
    for name, value in changes.items():
        setattr(obj, name, value)
    obj._history_user = user
    obj.save()
    return obj


@pytest.fixture
def admin(client):
    user = make_user("admin", first_name="市管")
    client.force_login(user)
    return user


def object_url(obj):
    return reverse("audit:object", args=[model_key(type(obj)), obj.pk])


def restore_url(obj, record):
    return reverse("audit:restore", args=[model_key(type(obj)), obj.pk, record.history_id])


# --- who may see it ------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["city_viewer", "inspector", "township_staff"])
def test_only_city_admins_open_the_audit_pages(client, role):
    township = make_township()
    client.force_login(make_user("u", role=role, township=township))
    assert client.get(reverse("audit:index")).status_code == 403
    assert client.get(object_url(township)).status_code == 403
    record = township.history.get()
    assert client.post(restore_url(township, record)).status_code == 403


def test_every_tracked_model_can_be_picked(admin, client):
    form = client.get(reverse("audit:index")).context["form"]
    offered = {key for key, _label in form.fields["model"].choices}
    for key in [
        "campaign.township",
        "campaign.village",
        "campaign.campaign",
        "campaign.milestone",
        "campaign.targetrevision",
        "campaign.userprofile",
        "auth.user",
        "enterprises.enterprise",
        "enterprises.rectification",
        "enterprises.relapse",
        "enterprises.rectificationphoto",
    ]:
        assert key in offered, key
    assert len(offered - {""}) == len(tracked_models())


def test_picking_a_model_and_number_opens_that_objects_history(admin, client):
    township = make_township("城关镇")
    response = client.get(reverse("audit:index"), {"model": "campaign.township", "pk": township.pk})
    assert response.status_code == 302 and response["Location"] == object_url(township)


def test_the_index_lists_the_latest_changes(admin, client, django_assert_max_num_queries):
    township = make_township("城关镇")
    for i in range(5):
        saved(township, admin, sort_order=i + 1)
    make_unit(township, name="红星厂")
    # session, user, role, one query per tracked model, the related objects named in the changes
    with django_assert_max_num_queries(3 + len(tracked_models()) + 3):
        response = client.get(reverse("audit:index"))
    entries = response.context["entries"]
    assert [(e.model_key, e.action) for e in entries[:2]] == [
        ("enterprises.enterprise", "created"),
        ("campaign.township", "changed"),
    ]
    assert [(c.label, c.old, c.new) for c in entries[1].changes] == [("排序", "4", "5")]
    only = client.get(reverse("audit:index"), {"model": "campaign.township"}).context["entries"]
    assert {e.model_key for e in only} == {"campaign.township"}


def test_an_unknown_model_or_object_is_not_found(admin, client):
    assert client.get(reverse("audit:object", args=["auth.group", 1])).status_code == 404
    assert client.get(reverse("audit:object", args=["campaign.township", 999])).status_code == 404


# --- restoring -----------------------------------------------------------------------------------


def test_restoring_a_township_is_a_new_save_by_the_admin_with_the_reason(admin, client):
    township = make_township("城关镇")
    saved(township, admin, name="城关街道", kind=Township.Kind.JIEDAO)
    first = township.history.earliest()

    page = client.get(object_url(township))
    entries = page.context["entries"]
    # Newest first; the newest version is the township as it is, so only older ones offer a restore.
    assert [bool(e.restore_url) for e in entries] == [False, True]
    # In the model's field order, under the fields' own labels.
    assert [(c.label, c.old, c.new) for c in entries[0].changes] == [
        ("名称", "城关镇", "城关街道"),
        ("类型", "镇", "街道"),
    ]

    with new_history_rows() as rows:
        response = client.post(restore_url(township, first), REMOTE_ADDR="10.0.0.9", follow=True)

    assert "已恢复到" in response.content.decode()
    township.refresh_from_db()
    assert (township.name, township.kind) == ("城关镇", Township.Kind.ZHEN)
    (row,) = rows
    assert (row.history_type, row.history_user, row.ip_address) == ("~", admin, "10.0.0.9")
    assert row.history_change_reason.startswith("恢复到 ") and f"（#{first.history_id}）" in row.history_change_reason
    assert "恢复到" in client.get(object_url(township)).content.decode()


def test_restoring_a_unit_keeps_its_status_and_deletion_and_moves_its_version_on(admin, client):
    township = make_township()
    unit = make_unit(township, D(2018, 3, 1), name="旧名", owner="张三丰")
    first = unit.history.get()
    saved(unit, admin, name="新名", owner="李四")
    rectification_record(enterprise=unit, method="closed", rectified_on=D(2018, 4, 1), user=admin)
    unit.refresh_from_db()

    restore_version(first, user=admin)

    unit.refresh_from_db()
    assert (unit.name, unit.owner, unit.status, unit.version) == ("旧名", "张三丰", Status.RECTIFIED, 3)


def test_the_audit_page_masks_personal_data(admin, client):
    unit = make_unit(make_township(), D(2018, 3, 1), owner="张三丰", phone="13812341234")
    saved(unit, admin, owner="李四光")
    html = client.get(object_url(unit)).content.decode()
    assert "<del>张**</del> → <ins>李**</ins>" in html
    assert "张三丰" not in html and "13812341234" not in html


def test_a_version_that_no_longer_fits_is_not_restored(admin, client):
    campaign = make_campaign()
    township = make_township()
    revision = set_target(campaign, township, 30, effective_on=D(2018, 3, 1), reason="年初任务")
    saved(revision, admin, effective_on=D(2018, 4, 1), reason="改期")
    set_target(campaign, township, 40, effective_on=D(2018, 3, 1), reason="新任务")

    with new_history_rows() as rows:
        response = client.post(restore_url(revision, revision.history.earliest()), follow=True)

    assert "无法恢复" in response.content.decode()
    assert rows == []
    revision.refresh_from_db()
    assert (revision.effective_on, revision.reason) == (D(2018, 4, 1), "改期")


def test_a_target_revision_keeps_its_reason_in_the_history(admin, client):
    campaign = make_campaign()
    revision = set_target(campaign, make_township(), 30, reason="年初任务")
    saved(revision, admin, target=35, reason="省里加码")
    entries = client.get(object_url(revision)).context["entries"]
    assert [(c.label, c.old, c.new) for c in entries[0].changes] == [
        ("年度任务", "30", "35"),
        ("调整原因", "年初任务", "省里加码"),
    ]
    restore_version(revision.history.earliest(), user=admin)
    revision.refresh_from_db()
    assert (revision.target, revision.reason) == (30, "年初任务")


def test_a_deleted_milestone_can_be_brought_back(admin, client):
    campaign = make_campaign()
    milestone = campaign.milestones.get(date=D(2018, 6, 30))
    pk = milestone.pk
    saved(milestone, admin, percent=55)
    milestone._history_user = admin
    milestone.delete()
    page = client.get(reverse("audit:object", args=["campaign.milestone", pk]))
    assert "该对象已被彻底删除。" in page.content.decode()
    # The deletion row has no version to go back to; the ones before it do.
    offers = [bool(e.restore_url) for e in page.context["entries"]]
    assert offers[0] is False and all(offers[1:]) and len(offers) >= 2

    restore_version(history_of(Milestone, pk).get(percent=55, history_type="~"), user=admin)

    assert Milestone.objects.get(pk=pk).percent == 55
    assert [r.history_type for r in history_of(Milestone, pk)][-2:] == ["-", "+"]


def test_a_profile_is_restored_to_its_former_township(admin):
    east, west = make_township("东城街道"), make_township("西山镇")
    staff = make_user("staff", role="township_staff", township=east)
    profile = staff.profile
    saved(profile, admin, township=west, phone="13900001111")
    restore_version(profile.history.earliest(), user=admin)
    profile.refresh_from_db()
    assert (profile.township, profile.user, profile.phone) == (east, staff, "")


def test_rectifications_and_relapses_are_not_restored_here(admin, client):
    unit = make_unit(make_township(), D(2018, 3, 1))
    rectification = rectification_record(enterprise=unit, method="closed", rectified_on=D(2018, 4, 1))
    saved(rectification, admin, note="补充说明")
    page = client.get(object_url(rectification))
    assert not any(e.restore_url for e in page.context["entries"])
    assert "整治记录请在单位页面撤回或恢复" in page.content.decode()
    response = client.post(restore_url(rectification, rectification.history.earliest()), follow=True)
    assert "整治记录请在单位页面撤回或恢复" in response.content.decode()
    rectification.refresh_from_db()
    assert rectification.note == "补充说明"


def test_a_unit_version_after_its_rectification_is_not_restored(admin):
    unit = make_unit(make_township(), D(2018, 3, 1))
    saved(unit, admin, identified_on=D(2018, 5, 1))
    later = unit.history.latest()
    saved(unit, admin, identified_on=D(2018, 3, 1))
    rectification_record(enterprise=unit, method="closed", rectified_on=D(2018, 4, 1))
    with pytest.raises(Exception, match="排查日期晚于该单位的整治完成日期"):
        restore_version(later, user=admin)


def test_describe_names_soft_deletion_and_withdrawal(admin):
    unit = make_unit(make_township(), D(2018, 3, 1))
    unit_delete(enterprise=unit, user=admin, reason="重复")
    entries = describe(history_of(Enterprise, unit.pk))
    assert [e.action_label for e in entries] == ["删除", "新建"]
    assert entries[0].reason == "重复"
    assert ("删除人", "—", "市管") in [(c.label, c.old, c.new) for c in entries[0].changes]
    assert Rectification.objects.count() == 0
    assert UserProfile.objects.count() == 1
    assert TargetRevision.objects.count() == 0

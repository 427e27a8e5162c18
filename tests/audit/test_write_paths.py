"""Every write the UI can make leaves history rows, each naming the user and the client address."""

import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from enterprises.models import Enterprise, Rectification, Relapse, Status
from tests.audit.conftest import keys, new_history_rows
from tests.enterprises.test_photos import make_image_bytes
from tests.factories import make_township, make_user

pytestmark = pytest.mark.django_db

ADDRESS = "10.20.30.40"


def unit_data(unit=None, **overrides):
    data = {
        "name": "路边洗车点",
        "township": "",
        "defects": ["unlicensed"],
        "identified_on": "2018-03-01",
        "source": "screening",
        "status": "open",
        "owner": "张三丰",
        "phone": "13812341234",
    }
    if unit is not None:
        data.update(township=unit.township_id, version=unit.version)
    data.update(overrides)
    return data


def test_every_ui_write_leaves_a_history_row_with_the_user_and_address(client):
    township = make_township("城关镇")
    staff = make_user("staff", role="township_staff", township=township, first_name="乡干")
    admin = make_user("admin", first_name="市管")

    def write(user, url, data=None, expected=()):
        client.force_login(user)
        with new_history_rows() as rows:
            response = client.post(url, data or {}, REMOTE_ADDR=ADDRESS)
        assert response.status_code == 302, response.content.decode()[:2000]
        assert keys(rows) == set(expected), url
        for row in rows:
            assert (row.history_user, row.ip_address) == (user, ADDRESS), (url, row)
        return rows

    # create
    write(staff, reverse("enterprises:create"), unit_data(township=township.pk), ["enterprises.enterprise"])
    unit = Enterprise.objects.get()

    def fresh():
        unit.refresh_from_db()
        return unit

    # edit
    rows = write(
        staff,
        reverse("enterprises:edit", args=[unit.pk]),
        unit_data(fresh(), name="洗车点"),
        ["enterprises.enterprise"],
    )
    assert rows[0].name == "洗车点"

    # rectify, with a photo
    photo = SimpleUploadedFile("现场.jpg", make_image_bytes(), "image/jpeg")
    write(
        staff,
        reverse("enterprises:rectify", args=[unit.pk]),
        {"method": "closed", "rectified_on": "2018-04-01", "photos": [photo]},
        ["enterprises.enterprise", "enterprises.rectification", "enterprises.rectificationphoto"],
    )
    assert Rectification.objects.get().photos.count() == 1

    # relapse
    write(
        staff,
        reverse("enterprises:relapse", args=[unit.pk]),
        {"found_on": "2018-05-01"},
        ["enterprises.enterprise", "enterprises.rectification", "enterprises.relapse"],
    )
    relapse = Relapse.objects.get()

    # withdraw the relapse, with a reason kept on each row
    rows = write(
        staff,
        reverse("enterprises:withdraw", args=[unit.pk, "relapse", relapse.pk]),
        {"reason": "误报"},
        ["enterprises.enterprise", "enterprises.rectification", "enterprises.relapse"],
    )
    assert {r.history_change_reason for r in rows} == {"误报"}
    assert fresh().status == Status.RECTIFIED

    # undo the withdrawal
    write(
        staff,
        reverse("enterprises:reinstate", args=[unit.pk, "relapse", relapse.pk]),
        expected=["enterprises.enterprise", "enterprises.rectification", "enterprises.relapse"],
    )
    assert fresh().status == Status.OPEN

    # rectify again, then withdraw that rectification
    write(
        staff,
        reverse("enterprises:rectify", args=[unit.pk]),
        {"method": "upgraded", "rectified_on": "2018-06-01"},
        ["enterprises.enterprise", "enterprises.rectification"],
    )
    second = Rectification.objects.latest("id")
    write(
        staff,
        reverse("enterprises:withdraw", args=[unit.pk, "rectification", second.pk]),
        {"reason": "日期录错"},
        ["enterprises.enterprise", "enterprises.rectification"],
    )
    write(
        staff,
        reverse("enterprises:reinstate", args=[unit.pk, "rectification", second.pk]),
        expected=["enterprises.enterprise", "enterprises.rectification"],
    )

    # delete (an update: the row records who deleted it) ...
    rows = write(
        staff, reverse("enterprises:delete", args=[unit.pk]), {"reason": "重复登记"}, ["enterprises.enterprise"]
    )
    assert (rows[0].deleted_by_id, rows[0].history_change_reason, rows[0].history_type) == (staff.pk, "重复登记", "~")

    # ... and restore it (a city admin)
    rows = write(admin, reverse("enterprises:undelete", args=[unit.pk]), expected=["enterprises.enterprise"])
    assert (rows[0].deleted_at, rows[0].history_change_reason) == (None, "撤销删除")

    # restore an earlier version from the audit page
    first_edit = unit.history.get(name="洗车点", version=2)
    rows = write(
        admin,
        reverse("audit:restore", args=["enterprises.enterprise", unit.pk, unit.history.earliest().history_id]),
        expected=["enterprises.enterprise"],
    )
    assert rows[0].name == "路边洗车点"
    assert rows[0].history_change_reason.startswith("恢复到 ")
    assert first_edit.history_id < rows[0].history_id

    # Nothing was hard-deleted along the way.
    assert not any(h.history_type == "-" for h in unit.history.all())


def test_service_writes_outside_a_request_name_the_acting_user(db):
    from enterprises.services import rectification_record, relapse_record, unit_delete, unit_undelete
    from tests.factories import make_unit

    user = make_user("cli")
    unit = make_unit(make_township(), datetime.date(2018, 3, 1))
    with new_history_rows() as rows:
        rectification_record(enterprise=unit, method="closed", rectified_on=datetime.date(2018, 4, 1), user=user)
        relapse_record(enterprise=unit, found_on=datetime.date(2018, 5, 1), user=user)
        unit_delete(enterprise=unit, user=user, reason="测试")
        unit_undelete(enterprise=unit, user=user)
    assert len(rows) == 2 + 3 + 1 + 1  # rectify, relapse, delete, undelete
    assert {r.history_user for r in rows} == {user}
    assert {r.ip_address for r in rows} == {None}

"""The indicators' pages: defining indicators, their targets, their records and importing them."""

import datetime
import re
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from campaign.indicators import indicator_create
from campaign.models import Campaign, Indicator, IndicatorRecord, IndicatorTarget
from tests.factories import make_township, make_user

D = datetime.date
CSV_HEADER = "乡镇街道,名称,日期,数量,说明\n"


@pytest.fixture
def city(campaign, client, frozen_today):
    frozen_today(D(2018, 6, 30))
    east, west = make_township("东城街道"), make_township("西城街道")
    jobs = indicator_create(campaign, "jobs", 100, name="新增就业", unit="人")
    admin = make_user("guanli", role="city_admin")
    staff = make_user("dongcheng", role="township_staff", township=east)
    return campaign, jobs, east, west, admin, staff


def signed_in(client, user):
    client.force_login(user)
    return client


def upload(client, campaign, key, text, name="记录.csv"):
    url = reverse("manage:indicator_import", args=[campaign.slug, key])
    return client.post(url, {"file": SimpleUploadedFile(name, text.encode("utf-8"), "text/csv")})


def confirm(client, campaign, key, response):
    token = re.search(r'name="token" value="([^"]+)"', response.content.decode()).group(1)
    return client.post(reverse("manage:indicator_import_confirm", args=[campaign.slug, key]), {"token": token})


def test_the_list_shows_rectified_first_then_the_indicators_as_created(city, client):
    campaign, jobs, *_rest, admin, _staff = city
    indicator_create(campaign, "parks_started", 8, milestones="06-30:50,12-31:100")
    response = signed_in(client, admin).get(reverse("manage:indicators", args=[campaign.slug]))

    html = response.content.decode()
    keys = re.findall(r'<tr data-key="([a-z_]+)"', html)
    assert keys == ["rectified", "jobs", "parks_started"]
    assert "06-30:50%，12-31:100%" in html and "（单独设置）" in html
    index = client.get(reverse("manage:index")).content.decode()
    assert reverse("manage:indicators", args=[campaign.slug]) in index


def test_an_admin_creates_and_edits_an_indicator_with_history(city, client):
    campaign, *_rest, admin, _staff = city
    client = signed_in(client, admin)
    url = reverse("manage:indicator_create", args=[campaign.slug])

    refused = client.post(url, {"key": "investment", "target": 10, "weight": "1", "unit": "亿元"})
    assert refused.status_code == 200 and "须填写指标名称" in refused.content.decode()
    assert not Indicator.objects.filter(key="investment").exists()

    response = client.post(
        url, {"key": "investment", "name": "招商引资", "unit": "亿元", "target": 10, "weight": "2", "milestones": ""}
    )
    assert response.status_code == 302
    indicator = Indicator.objects.get(key="investment")
    assert (indicator.weight, indicator.created_by) == (Decimal("2.00"), admin)

    edit = reverse("manage:indicator_edit", args=[campaign.slug, "investment"])
    client.post(edit, {"name": "招商引资额", "unit": "亿元", "target": 12, "weight": "2", "reason": "调整口径"})
    indicator.refresh_from_db()
    assert (indicator.name, indicator.target) == ("招商引资额", 12)
    page = client.get(edit).content.decode()
    assert "调整口径" in page and 'id="history"' in page
    assert indicator.history.latest().history_user == admin


def test_the_scoring_settings_page(city, client):
    campaign, *_rest, admin, _staff = city
    client = signed_in(client, admin)
    url = reverse("manage:indicator_scoring", args=[campaign.slug])

    assert client.post(url, {"rectified_weight": "0", "score_cap": "120"}).status_code == 200
    assert client.post(url, {"rectified_weight": "3", "score_cap": "110"}).status_code == 302
    campaign = Campaign.objects.get(pk=campaign.pk)
    assert (campaign.rectified_weight, campaign.score_cap) == (Decimal("3.00"), Decimal("110.00"))


def test_a_township_target_revision_of_an_indicator(city, client):
    campaign, jobs, east, *_rest, admin, _staff = city
    client = signed_in(client, admin)
    url = reverse("manage:indicator_target_add", args=[campaign.slug, "jobs"])
    data = {"township": east.pk, "target": 20, "effective_on": "2018-01-01", "reason": "年初下达"}

    assert client.post(url, data).status_code == 302
    again = client.post(url, {**data, "target": 25})
    assert "该生效日期已有记录" in again.content.decode()
    client.post(url, {**data, "target": 25, "correct_same_day": "on"})

    assert list(IndicatorTarget.objects.values_list("township", "target")) == [(east.pk, 25)]
    page = client.get(reverse("manage:indicator_targets", args=[campaign.slug, "jobs"])).content.decode()
    assert "东城街道" in page and "年初下达" in page
    rectified = client.get(reverse("manage:indicator_targets", args=[campaign.slug, "rectified"]))
    assert rectified["Location"] == reverse("manage:targets", args=[campaign.slug])


def test_township_staff_enter_and_correct_their_own_townships_records_only(city, client):
    campaign, jobs, east, west, admin, staff = city
    theirs = IndicatorRecord.objects.create(indicator=jobs, township=west, name="西城项目", date=D(2018, 3, 1))
    client = signed_in(client, staff)
    add = reverse("manage:indicator_record_add", args=[campaign.slug, "jobs"])

    other = client.post(add, {"township": west.pk, "name": "冒名", "date": "2018-03-01", "amount": "1"})
    assert other.status_code == 200 and not IndicatorRecord.objects.filter(name="冒名").exists()
    bad = client.post(add, {"township": east.pk, "name": "甲", "date": "2018-03-01", "amount": "1.234"})
    assert bad.status_code == 200 and not IndicatorRecord.objects.filter(name="甲").exists()
    outside = client.post(add, {"township": east.pk, "name": "甲", "date": "2019-01-02", "amount": "1"})
    assert "整治行动年度内" in outside.content.decode()

    assert (
        client.post(add, {"township": east.pk, "name": "甲", "date": "2018-03-01", "amount": "2.5"}).status_code == 302
    )
    record = IndicatorRecord.objects.get(name="甲")
    assert (record.township, record.amount, record.created_by) == (east, Decimal("2.50"), staff)

    edit = reverse("manage:indicator_record_edit", args=[record.pk])
    data = {"township": east.pk, "name": "甲", "date": "2018-03-02", "amount": "3", "reason": "核对更正"}
    assert client.post(edit, data).status_code == 302
    record.refresh_from_db()
    assert record.amount == Decimal("3.00")
    page = client.get(edit).content.decode()
    assert "核对更正" in page and [h.history_user for h in record.history.all()] == [staff, staff]

    assert client.get(reverse("manage:indicator_record_edit", args=[theirs.pk])).status_code == 404
    assert client.post(reverse("manage:indicator_record_edit", args=[theirs.pk]), data).status_code == 404
    listed = client.get(reverse("manage:indicator_records", args=[campaign.slug, "jobs"])).content.decode()
    assert "甲" in listed and "西城项目" not in listed
    admin_list = signed_in(client, admin).get(reverse("manage:indicator_records", args=[campaign.slug, "jobs"]))
    assert "西城项目" in admin_list.content.decode()


def test_import_previews_then_confirms_all_rows_and_twice_changes_nothing(city, client):
    campaign, jobs, *_rest, admin, _staff = city
    client = signed_in(client, admin)
    text = CSV_HEADER + "东城街道,宏达,2018-03-05,12,招工\n西城街道,合作社,2018-04-01,,\n"

    preview = upload(client, campaign, "jobs", text)
    assert preview.status_code == 200
    assert "新增2条，更新0条，不变0条" in preview.content.decode()
    assert not IndicatorRecord.objects.exists()  # nothing before the confirmation

    done = confirm(client, campaign, "jobs", preview)
    assert done.status_code == 302
    assert sorted(IndicatorRecord.objects.values_list("name", "amount")) == [
        ("合作社", Decimal("1.00")),
        ("宏达", Decimal("12.00")),
    ]
    assert IndicatorRecord.history.filter(history_user=admin).count() == 2

    confirm(client, campaign, "jobs", preview)  # the same preview confirmed again
    again = upload(client, campaign, "jobs", text)
    assert "新增0条，更新0条，不变2条" in again.content.decode()
    confirm(client, campaign, "jobs", again)
    assert IndicatorRecord.objects.count() == 2 and IndicatorRecord.history.count() == 2


def test_an_import_with_errors_lists_them_by_row_and_column_and_writes_nothing(city, client):
    campaign, *_rest, admin, _staff = city
    client = signed_in(client, admin)
    text = CSV_HEADER + "东城街道,甲,2018-03-05,-1,\n南城街道,乙,2019-03-05,1.234,\n"

    response = upload(client, campaign, "jobs", text)

    html = response.content.decode()
    assert response.status_code == 422
    for message in (
        "第2行 数量：不能为负数",
        "第3行 乡镇街道：乡镇（街道）“南城街道”不存在",
        "第3行 日期：",
        "第3行 数量：",
    ):
        assert message in html
    assert 'name="token"' not in html and not IndicatorRecord.objects.exists()


def test_staff_import_only_their_own_townships_rows_and_a_forged_token_is_refused(city, client):
    campaign, _jobs, *_rest, _admin, staff = city
    client = signed_in(client, staff)

    response = upload(client, campaign, "jobs", CSV_HEADER + "西城街道,乙,2018-03-05,1,\n")
    assert "只能导入本乡镇（街道）的记录" in response.content.decode()

    forged = client.post(
        reverse("manage:indicator_import_confirm", args=[campaign.slug, "jobs"]), {"token": "abc:def"}, follow=True
    )
    assert "预览数据无效" in forged.content.decode()
    assert not IndicatorRecord.objects.exists()


def test_a_built_in_indicator_has_no_records_pages(city, client):
    campaign, *_rest, admin, _staff = city
    indicator_create(campaign, "parks_started", 8)
    client = signed_in(client, admin)
    for name in ("manage:indicator_records", "manage:indicator_import", "manage:indicator_record_add"):
        assert client.get(reverse(name, args=[campaign.slug, "parks_started"])).status_code == 404

import datetime
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils.datastructures import MultiValueDict

from enterprises.credit_code import make_credit_code
from enterprises.forms import EnterpriseForm, RectificationForm, RelapseForm
from enterprises.models import Enterprise, Method, RectificationPhoto, Status
from enterprises.services import rectification_record, relapse_record
from tests.enterprises.test_photos import make_image_bytes
from tests.factories import make_township, make_unit, make_user, make_village

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2018, 6, 30)
CODE = make_credit_code("9", "1", "330102", "12345678")


@pytest.fixture(autouse=True)
def today(frozen_today, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return frozen_today(TODAY)


@pytest.fixture
def township():
    return make_township("城关镇")


def unit_data(township, **overrides):
    data = {
        "name": "  红星  五金加工厂 ",
        "credit_code": "",
        "township": township.pk,
        "village": "",
        "address": "解放路 12 号",
        "defects": ["unlicensed", "unsafe"],
        "identified_on": "2018-03-05",
        "source": "screening",
        "status": "open",
    }
    data.update(overrides)
    return data


# --- unit form ---------------------------------------------------------------------------------


def test_a_valid_unit_is_saved_with_its_defects(township):
    village = make_village(township, "东村")
    form = EnterpriseForm(unit_data(township, village=village.pk, credit_code=f" {CODE.lower()} "))
    assert form.is_valid(), form.errors
    unit = form.save()
    assert (unit.name, unit.credit_code, unit.village) == ("红星 五金加工厂", CODE, village)
    assert unit.defects == ["unlicensed", "unsafe"]
    assert (unit.no_legal_premises, unit.no_env_measures) == (False, False)


def test_a_unit_needs_at_least_one_defect(township):
    form = EnterpriseForm(unit_data(township, defects=[]))
    assert form.errors["defects"] == ["请至少选择一项四无类型"]


def test_the_village_must_belong_to_the_township(township):
    other = make_village(make_township("新塘乡"), "西村")
    form = EnterpriseForm(unit_data(township, village=other.pk))
    assert form.errors["village"] == ["所选村(社区)不属于城关镇"]


def test_an_invalid_credit_code_is_explained_in_chinese(township):
    form = EnterpriseForm(unit_data(township, credit_code=CODE[:-1] + ("0" if CODE[-1] != "0" else "1")))
    assert form.errors["credit_code"] == ["统一社会信用代码无效：校验码错误"]


def test_a_credit_code_already_registered_is_refused(township):
    make_unit(township, name="老厂", credit_code=CODE)
    form = EnterpriseForm(unit_data(township, credit_code=CODE))
    assert form.errors["credit_code"] == ["该统一社会信用代码已登记为“老厂”"]


def test_editing_a_unit_keeps_its_own_credit_code(township):
    unit = make_unit(township, credit_code=CODE)
    form = EnterpriseForm(unit_data(township, credit_code=CODE, name=unit.name, version=unit.version), instance=unit)
    assert form.is_valid(), form.errors


def test_identified_on_cannot_be_in_the_future(township):
    form = EnterpriseForm(unit_data(township, identified_on="2018-07-01"))
    assert form.errors["identified_on"] == ["排查日期不能晚于今天（2018-06-30）"]


def test_identified_on_cannot_move_after_the_units_rectification(township):
    unit = make_unit(township, identified_on=datetime.date(2018, 3, 1))
    rectification_record(enterprise=unit, method=Method.CLOSED, rectified_on=datetime.date(2018, 4, 1))
    unit.refresh_from_db()
    form = EnterpriseForm(unit_data(township, identified_on="2018-04-02"), instance=unit)
    assert form.errors["identified_on"] == ["排查日期不能晚于该单位的整治完成日期（2018-04-01）"]


def test_the_unit_form_cannot_mark_a_unit_rectified(township):
    form = EnterpriseForm(unit_data(township, status="rectified"))
    assert "status" in form.errors
    unit = make_unit(township)
    rectification_record(enterprise=unit, method=Method.CLOSED, rectified_on=unit.identified_on)
    assert "status" not in EnterpriseForm(instance=unit).fields


# --- the same unit twice (SPEC 3: the credit code, else township, name and address) ---------------


def link_to(unit):
    return f'<a href="{reverse("enterprises:detail", args=[unit.pk])}">'


def test_a_unit_registered_already_is_refused_with_a_link_to_it(township):
    there = make_unit(township, name="红星 五金加工厂", address="解放路 12 号")
    form = EnterpriseForm(unit_data(township), user=make_user("city", role="city_admin"))
    assert not form.is_valid()
    (error,) = form.non_field_errors()
    assert error.startswith("该乡镇（街道）已登记单位名称、地址都相同的单位：" + link_to(there) + "红星 五金加工厂</a>")
    assert Enterprise.objects.count() == 1


def test_the_link_escapes_the_units_name(township):
    there = make_unit(township, name="<b>红星</b>", address="解放路 12 号")
    form = EnterpriseForm(unit_data(township, name="<b>红星</b>"), user=make_user("city", role="city_admin"))
    (error,) = form.non_field_errors()
    assert link_to(there) + "&lt;b&gt;红星&lt;/b&gt;</a>" in error and "<b>" not in error


def test_a_credit_code_registered_elsewhere_links_only_for_who_may_see_that_unit(township):
    there = make_unit(make_township("新塘乡"), name="老厂", credit_code=CODE)
    admin = EnterpriseForm(unit_data(township, credit_code=CODE), user=make_user("city", role="city_admin"))
    assert admin.errors["credit_code"] == [
        f"该统一社会信用代码已登记为{link_to(there)}老厂</a>，请打开该单位修改，不要重复登记"
    ]
    staff = make_user("chengguan", role="township_staff", township=township)
    form = EnterpriseForm(unit_data(township, credit_code=CODE), user=staff)
    assert form.errors["credit_code"] == ["该统一社会信用代码已登记为“老厂”"]


def test_an_edit_that_makes_the_unit_another_registered_one_is_refused(township):
    there = make_unit(township, name="红星 五金加工厂", address="解放路 12 号")
    unit = make_unit(township, name="红星 五金加工厂", address="解放路 14 号")
    form = EnterpriseForm(unit_data(township, version=unit.version), instance=unit, user=make_user("city"))
    assert not form.is_valid()
    assert link_to(there) in form.non_field_errors()[0]
    edit = EnterpriseForm(
        unit_data(township, address="解放路 14 号", owner="王五", version=1),
        instance=Enterprise.objects.get(pk=unit.pk),
        user=make_user("city2"),
    )
    assert edit.is_valid(), edit.errors


def test_a_unit_registered_between_the_check_and_the_save_is_refused_not_a_server_error(township):
    user = make_user("city", role="city_admin")
    form = EnterpriseForm(unit_data(township), user=user)
    assert form.is_valid(), form.errors
    there = make_unit(township, name="红星 五金加工厂", address="解放路 12 号")  # someone else, meanwhile

    assert form.save(user=user) is None
    assert link_to(there) in form.non_field_errors()[0]
    assert list(Enterprise.objects.all()) == [there]


def test_the_new_unit_page_shows_the_refusal_and_the_link(client, township):
    there = make_unit(township, name="红星 五金加工厂", address="解放路 12 号")
    client.force_login(make_user("city", role="city_admin"))
    response = client.post(reverse("enterprises:create"), unit_data(township))
    assert response.status_code == 200
    assert link_to(there) + "红星 五金加工厂</a>" in response.content.decode()
    assert Enterprise.objects.count() == 1


# --- rectification form ------------------------------------------------------------------------


def rectify_form(unit, files=None, **data):
    values = {"method": "closed", "rectified_on": "2018-05-01", "demolished_m2": "", "note": ""}
    values.update(data)
    return RectificationForm(values, MultiValueDict(files or {}), enterprise=unit)


@pytest.fixture
def unit(township):
    return make_unit(township, identified_on=datetime.date(2018, 3, 1))


@pytest.mark.parametrize(
    "data,field,message",
    [
        ({"rectified_on": "2018-02-28"}, "rectified_on", "整治完成日期不能早于排查日期（2018-03-01）"),
        ({"rectified_on": "2018-07-01"}, "rectified_on", "整治完成日期不能晚于今天（2018-06-30）"),
        ({"rectified_on": "5月1日"}, "rectified_on", "输入一个有效的日期。"),
        ({"demolished_m2": "-5"}, "demolished_m2", "拆除面积不能为负数"),
        ({"method": "demolished", "demolished_m2": ""}, "demolished_m2", "整治方式为拆除时请填写拆除面积"),
        ({"method": "bulldozed"}, "method", "选择一个有效的选项。 bulldozed 不在可用的选项中。"),
    ],
    ids=["before-identified", "future", "not-a-date", "negative-area", "demolished-without-area", "bad-method"],
)
def test_rectification_form_rejects_bad_input_next_to_the_field(unit, data, field, message):
    form = rectify_form(unit, **data)
    assert form.errors[field] == [message]


def test_rectification_form_rejects_a_file_that_is_not_an_image(unit):
    fake = SimpleUploadedFile("现场.jpg", b"MZ\x90\x00 not a photo", "image/jpeg")
    form = rectify_form(unit, files={"photos": [fake]})
    assert form.errors["photos"] == ["文件“现场.jpg”不是有效的图片"]


def test_the_rectification_date_may_be_the_identification_day_and_today(unit):
    assert rectify_form(unit, rectified_on="2018-03-01").is_valid()
    assert rectify_form(unit, rectified_on="2018-06-30").is_valid()


def test_a_rectified_unit_cannot_be_rectified_again(unit):
    rectification_record(enterprise=unit, method=Method.CLOSED, rectified_on=datetime.date(2018, 4, 1))
    form = rectify_form(unit)
    assert form.non_field_errors() == ["该单位已整治，如发现死灰复燃请先登记复发"]


def test_saving_records_the_rectification_and_its_photos(unit, django_user_model):
    user = make_user("staff")
    files = {"photos": [SimpleUploadedFile(f"{i}.jpg", make_image_bytes(color=(80 * i, 0, 0))) for i in range(3)]}
    form = rectify_form(unit, files, method="demolished", demolished_m2="120.5", note="已拆除彩钢棚")
    assert form.is_valid(), form.errors

    rectification = form.save(user=user)

    unit.refresh_from_db()
    assert unit.status == Status.RECTIFIED
    assert (rectification.method, rectification.demolished_m2, rectification.created_by) == (
        "demolished",
        Decimal("120.50"),
        user,
    )
    assert RectificationPhoto.objects.filter(rectification=rectification, uploaded_by=user).count() == 3


def test_saving_reports_a_rectification_recorded_meanwhile(unit):
    form = rectify_form(unit)
    assert form.is_valid()
    rectification_record(enterprise=unit, method=Method.UPGRADED, rectified_on=datetime.date(2018, 4, 1))

    assert form.save(user=None) is None
    assert form.non_field_errors() == ["该单位已整治，如发现死灰复燃请先登记复发"]


# --- relapse form ------------------------------------------------------------------------------


def test_relapse_must_be_found_after_the_rectification(unit):
    rectification_record(enterprise=unit, method=Method.CLOSED, rectified_on=datetime.date(2018, 4, 1))
    form = RelapseForm({"found_on": "2018-04-01"}, enterprise=unit)
    assert form.is_valid()
    assert form.save(user=None) is None
    assert form.errors["found_on"] == ["发现日期须晚于整治完成日期（2018-04-01）"]


def test_relapse_reopens_the_unit(unit):
    rectification_record(enterprise=unit, method=Method.CLOSED, rectified_on=datetime.date(2018, 4, 1))
    form = RelapseForm({"found_on": "2018-05-02", "note": "夜间偷偷开工"}, enterprise=unit)
    assert form.is_valid()
    relapse = form.save(user=None)
    unit.refresh_from_db()
    assert (relapse.found_on, unit.status) == (datetime.date(2018, 5, 2), Status.OPEN)


def test_relapse_of_an_open_unit_is_refused(unit):
    form = RelapseForm({"found_on": "2018-05-02"}, enterprise=unit)
    assert form.is_valid()
    assert form.save(user=None) is None
    assert form.non_field_errors() == ["该单位当前不是已整治状态，无法登记死灰复燃"]


def test_a_second_rectification_after_a_relapse_must_follow_the_relapse(unit):
    rectification_record(enterprise=unit, method=Method.CLOSED, rectified_on=datetime.date(2018, 4, 1))
    relapse_record(enterprise=unit, found_on=datetime.date(2018, 5, 1))
    form = rectify_form(unit, rectified_on="2018-04-20")
    assert form.errors["rectified_on"] == ["整治完成日期不能早于最近一次复发日期（2018-05-01）"]

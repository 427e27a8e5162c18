"""The browser upload: check, preview, confirm all or nothing; the batch record; the template."""

import io
import os

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import DatabaseError
from django.urls import reverse

from enterprises import importing
from enterprises.credit_code import make_credit_code
from enterprises.models import Enterprise, ImportBatch
from tests.factories import make_unit, make_user

from .corpus import csv_file, row, xlsx_file


def upload(client, data, name="石门镇清单.xlsx"):
    return client.post(reverse("imports:upload"), {"file": SimpleUploadedFile(name, data)})


def media_files(settings):
    return [os.path.join(root, name) for root, _d, names in os.walk(settings.MEDIA_ROOT) for name in names]


def test_a_clean_file_is_previewed_and_nothing_is_written_until_confirmed(staff_client, settings):
    data = xlsx_file(row(), row(单位名称="二号点"))
    response = upload(staff_client, data)
    batch = ImportBatch.objects.get()
    assert response.status_code == 302 and response.url == reverse("imports:preview", args=[batch.pk])
    assert Enterprise.objects.count() == 0
    assert (batch.status, batch.rows, batch.created, batch.file_name) == ("previewed", 2, 2, "石门镇清单.xlsx")
    stored = media_files(settings)
    assert len(stored) == 1 and "/imports/" in stored[0] and "石门镇" not in stored[0]
    page = staff_client.get(response.url).content.decode()
    assert "新增单位2个" in page and "二号点" in page and "确认导入" in page

    response = staff_client.post(reverse("imports:confirm", args=[batch.pk]))
    assert response.status_code == 302
    batch.refresh_from_db()
    assert Enterprise.objects.count() == 2
    assert batch.status == "applied" and batch.applied_at is not None
    assert [r["name"] for r in batch.summary["rows"]] == ["城东五金加工点", "二号点"]


def test_a_batch_is_confirmed_once(staff_client):
    upload(staff_client, xlsx_file(row()))
    batch = ImportBatch.objects.get()
    staff_client.post(reverse("imports:confirm", args=[batch.pk]))
    response = staff_client.post(reverse("imports:confirm", args=[batch.pk]), follow=True)
    assert "不能重复确认" in response.content.decode()
    assert Enterprise.objects.count() == 1


def test_the_same_file_uploaded_again_says_it_was_imported(staff_client):
    data = xlsx_file(row())
    upload(staff_client, data)
    first = ImportBatch.objects.get()
    staff_client.post(reverse("imports:confirm", args=[first.pk]))
    upload(staff_client, data)
    second = ImportBatch.objects.exclude(pk=first.pk).get()
    page = staff_client.get(reverse("imports:preview", args=[second.pk])).content.decode()
    assert "已于" in page and "导入过" in page
    assert second.sha256 == first.sha256 and second.unchanged == 1


def test_errors_then_the_corrected_file(staff_client):
    response = upload(staff_client, csv_file(row(), row(单位名称="二号点", 联系电话="1.38E+10")), name="a.csv")
    assert response.status_code == 422
    assert "第3行 联系电话：" in response.content.decode()
    assert ImportBatch.objects.count() == 0
    response = upload(staff_client, csv_file(row(), row(单位名称="二号点", 联系电话="13812345679")), name="a.csv")
    assert response.status_code == 302
    staff_client.post(reverse("imports:confirm", args=[ImportBatch.objects.get().pk]))
    assert set(Enterprise.objects.values_list("phone", flat=True)) == {"13812345678", "13812345679"}


def test_a_failure_while_writing_leaves_nothing_and_marks_the_batch(staff_client, monkeypatch):
    rectified = {"整治状态": "已整治", "整治方式": "关停取缔", "整治完成日期": "2018-04-01"}
    upload(staff_client, xlsx_file(row(), row(单位名称="二号点", **rectified)))
    batch = ImportBatch.objects.get()

    def broken(plan, stamp):
        raise DatabaseError("connection lost")

    monkeypatch.setattr(importing, "_write_rectifications", broken)
    response = staff_client.post(reverse("imports:confirm", args=[batch.pk]), follow=True)
    assert "未写入任何数据" in response.content.decode()
    assert Enterprise.objects.count() == 0
    batch.refresh_from_db()
    assert batch.status == "failed"


def test_batches_are_seen_by_their_township_and_city_admins(client, towns, staff_client):
    upload(staff_client, xlsx_file(row()))
    batch = ImportBatch.objects.get()
    other = make_user("baihe", role="township_staff", township=towns[1])
    client.force_login(other)
    assert client.get(reverse("imports:preview", args=[batch.pk])).status_code == 404
    assert client.post(reverse("imports:confirm", args=[batch.pk])).status_code == 404
    assert batch.file_name not in client.get(reverse("imports:history")).content.decode()
    client.force_login(make_user("admin2", role="city_admin"))
    assert client.get(reverse("imports:preview", args=[batch.pk])).status_code == 200
    assert batch.file_name in client.get(reverse("imports:history")).content.decode()


@pytest.mark.parametrize("role", ["city_viewer", "inspector"])
def test_readers_may_not_import(client, towns, role):
    client.force_login(make_user("reader", role=role))
    assert client.get(reverse("imports:upload")).status_code == 403
    assert upload(client, xlsx_file(row())).status_code == 403


def test_city_admins_import_any_township(admin_client):
    upload(admin_client, csv_file(row(), row(单位名称="白鹤一号", 乡镇街道="白鹤镇")))
    admin_client.post(reverse("imports:confirm", args=[ImportBatch.objects.get().pk]))
    assert set(Enterprise.objects.values_list("township__name", flat=True)) == {"石门镇", "白鹤镇"}


def test_the_template_has_the_headers_explanations_and_drop_downs(staff_client):
    response = staff_client.get(reverse("imports:template"))
    assert response.status_code == 200
    assert "filename*=utf-8''" in response["Content-Disposition"].lower()
    book = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    sheet, notes = book.worksheets
    assert [cell.value for cell in sheet[1]] == [column.header for column in importing.COLUMNS]
    assert notes.max_row == len(importing.COLUMNS) + 1
    lists = {dv.formula1 for dv in sheet.data_validations.dataValidation}
    assert '"是,否"' in lists
    assert '"未整治,整治中,已整治"' in lists
    assert '"关停取缔,搬迁入园,整改提升,拆除"' in lists
    # The template itself imports: an empty list is no error.
    assert importing.parse(b"".join(staff_client.get(reverse("imports:template")).streaming_content)).errors == []


# --- the plan kept between preview and confirmation ----------------------------------------------


def _no_second_read(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the file was read again")

    monkeypatch.setattr(importing, "read_columns", refuse)


def test_preview_and_confirm_use_the_plan_checked_at_upload(staff_client, monkeypatch):
    upload(staff_client, xlsx_file(row(), row(单位名称="二号点", 联系电话="13812345679")))
    batch = ImportBatch.objects.get()
    assert importing.load_plan(batch.plan).count(importing.Action.CREATE) == 2
    _no_second_read(monkeypatch)

    page = staff_client.get(reverse("imports:preview", args=[batch.pk])).content.decode()
    assert "二号点" in page and "新增" in page and "确认导入" in page
    staff_client.post(reverse("imports:confirm", args=[batch.pk]))

    batch.refresh_from_db()
    assert batch.status == "applied" and batch.plan is None
    assert set(Enterprise.objects.values_list("phone", flat=True)) == {"13812345678", "13812345679"}
    assert all(unit.history.get().history_user.username == "shimen" for unit in Enterprise.objects.all())


def test_a_register_changed_since_the_preview_is_checked_again(staff_client, towns):
    """A unit entered by hand after the preview is matched, not created a second time."""
    upload(staff_client, xlsx_file(row()))
    batch = ImportBatch.objects.get()
    plan = importing.load_plan(batch.plan)
    assert importing.still_current(plan)
    make_unit(towns[0], name=plan.rows[0].values["name"], phone="13900000000")
    assert not importing.still_current(plan)

    staff_client.post(reverse("imports:confirm", args=[batch.pk]))
    batch.refresh_from_db()
    assert batch.status == "applied" and (batch.created, batch.updated) == (0, 1)
    assert list(Enterprise.objects.values_list("phone", flat=True)) == ["13812345678"]


def test_a_file_that_no_longer_checks_out_fails_with_its_errors(staff_client, towns):
    """The re-read at confirmation finds errors: nothing is written and the batch lists them."""
    code = make_credit_code("9", "1", "330102", "00000001")
    upload(staff_client, xlsx_file(row(统一社会信用代码=code)))
    batch = ImportBatch.objects.get()
    make_unit(towns[1], name="别处的单位", credit_code=code)

    response = staff_client.post(reverse("imports:confirm", args=[batch.pk]), follow=True)
    batch.refresh_from_db()
    assert batch.status == "failed" and batch.plan is None
    assert "第2行" in batch.failure and "第2行" in response.content.decode()
    assert Enterprise.objects.count() == 1


def test_a_tampered_or_unreadable_plan_is_not_loaded(staff_client, monkeypatch):
    upload(staff_client, xlsx_file(row()))
    batch = ImportBatch.objects.get()
    blob = bytes(batch.plan)
    assert importing.load_plan(blob) is not None
    assert importing.load_plan(blob[:-1] + bytes([blob[-1] ^ 1])) is None
    assert importing.load_plan(b"x" * 40) is None
    assert importing.load_plan(None) is None
    with monkeypatch.context() as patched:
        patched.setattr("django.conf.settings.SECRET_KEY", "another key " * 5)
        assert importing.load_plan(blob) is None

    # With the plan unusable, confirming reads the stored file again and still imports it.
    ImportBatch.objects.filter(pk=batch.pk).update(plan=b"not a plan")
    staff_client.post(reverse("imports:confirm", args=[batch.pk]))
    assert Enterprise.objects.count() == 1


def test_text_with_backslashes_and_quotes_is_written_as_it_was(staff_client):
    """The bulk write (COPY on PostgreSQL) escapes what its format treats specially."""
    name = 'C:\\台账\\新建 "五金" 点\\N'
    upload(staff_client, csv_file(row(单位名称=f'"{name.replace(chr(34), chr(34) * 2)}"')), name="a.csv")
    staff_client.post(reverse("imports:confirm", args=[ImportBatch.objects.get().pk]))
    unit = Enterprise.objects.get()
    assert unit.name == name and unit.history.get().name == name


def test_the_batch_records_the_ids_of_the_units_it_created(staff_client):
    upload(staff_client, xlsx_file(row(), row(单位名称="二号点")))
    batch = ImportBatch.objects.get()
    assert [r["unit"] for r in batch.summary["rows"]] == [None, None]
    staff_client.post(reverse("imports:confirm", args=[batch.pk]))
    batch.refresh_from_db()
    assert sorted(r["unit"] for r in batch.summary["rows"]) == sorted(Enterprise.objects.values_list("pk", flat=True))

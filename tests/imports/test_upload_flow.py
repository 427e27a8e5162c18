"""The browser upload: check, preview, confirm all or nothing; the batch record; the template."""

import io
import os

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import DatabaseError
from django.urls import reverse

from enterprises import importing
from enterprises.models import Enterprise, ImportBatch
from tests.factories import make_user

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

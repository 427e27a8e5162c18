"""The progress table and township ledgers as .xlsx and CSV: read back, no formulas, names in Chinese."""

import csv
import datetime
import io
import urllib.parse

import openpyxl
import pytest
from django.urls import reverse

from enterprises.models import Rectification
from reports import exports
from tests.factories import make_township, make_unit, make_user, set_target


@pytest.fixture
def data(campaign):
    evil = make_township('=HYPERLINK("http://x","1")')
    town = make_township("石门镇")
    set_target(campaign, evil, 10)
    set_target(campaign, town, 20)
    for township in (evil, town):
        unit = make_unit(township, owner="张三", phone="13812345678")
        Rectification.objects.create(enterprise=unit, method="closed", rectified_on=datetime.date(2018, 3, 1))
    make_unit(town, name="@SUM(A1)", identified_on=datetime.date(2018, 2, 1))
    return campaign, evil, town


@pytest.fixture
def viewer(client, db):
    client.force_login(make_user("leader", role="city_viewer"))
    return client


def download(client, url):
    response = client.get(url, {"as_of": "2018-04-30"})
    assert response.status_code == 200, response.content[:500]
    return response, b"".join(response.streaming_content)


def assert_no_formulas_and_no_personal_data(body, fmt):
    if fmt == "xlsx":
        book = openpyxl.load_workbook(io.BytesIO(body))
        cells = [cell for sheet in book.worksheets for line in sheet.iter_rows() for cell in line]
        assert all(cell.data_type != "f" for cell in cells)
        for cell in cells:
            if isinstance(cell.value, str) and cell.value.startswith(exports.FORMULA_PREFIXES):
                assert cell.quotePrefix
        text = " ".join(str(cell.value) for cell in cells)
    else:
        assert body.startswith(b"\xef\xbb\xbf")
        text = body.decode("utf-8-sig")
        for line in csv.reader(io.StringIO(text)):
            assert not any(value.startswith(exports.FORMULA_PREFIXES) for value in line)
    assert "张三" not in text and "13812345678" not in text
    return text


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_the_progress_table(viewer, data, fmt):
    campaign, evil, town = data
    response, body = download(viewer, reverse("report_exports:progress", args=[fmt]))
    disposition = response["Content-Disposition"]
    assert "filename*=utf-8''" in disposition.lower()
    assert urllib.parse.quote(f"整治进度表-{campaign.name}-20180430.{fmt}") in disposition
    text = assert_no_formulas_and_no_personal_data(body, fmt)
    assert "石门镇" in text and "全市" in text
    if fmt == "xlsx":
        sheet = openpyxl.load_workbook(io.BytesIO(body)).active
        header = [cell.value for cell in sheet[1]]
        assert header[:4] == ["排名", "乡镇街道", "年度任务", "已整治"]
        names = [line[1].value for line in sheet.iter_rows(min_row=2)]
        assert evil.name in names  # the literal text, not a formula
        due = header.index("当前节点日期")
        assert isinstance(sheet.cell(row=2, column=due + 1).value, datetime.datetime)
    else:
        names = [line[1] for line in csv.reader(io.StringIO(text))]
        assert "'" + evil.name in names


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_a_township_ledger(viewer, data, fmt):
    _campaign, _evil, town = data
    response, body = download(viewer, reverse("report_exports:ledger", args=[town.pk, fmt]))
    assert urllib.parse.quote(f"石门镇台账-20180430.{fmt}") in response["Content-Disposition"]
    assert_no_formulas_and_no_personal_data(body, fmt)
    if fmt == "xlsx":
        sheet = openpyxl.load_workbook(io.BytesIO(body)).active
        lines = [[cell.value for cell in line] for line in sheet.iter_rows(min_row=2)]
        assert [line[0] for line in lines] == ["2018-01", "2018-02", "2018-03", "2018-04", "年度累计"]
        assert isinstance(lines[0][1], datetime.datetime)
        year = lines[-1]
        assert (year[4], year[5], year[7]) == (2, 1, 1)  # identified, rectified, open at the end


def test_an_unknown_format_is_not_found(viewer, data):
    assert viewer.get(reverse("report_exports:progress", args=["pdf"])).status_code == 404

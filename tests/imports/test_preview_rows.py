"""The import preview names each listed row's township, village and 整治状态 (issue 19).

They are the unit's as the register will hold them once the list is imported, kept in the batch's
JSON summary with the rest of the preview, so that the page is drawn without reading the file again.
"""

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from enterprises.models import ImportBatch, Method
from enterprises.services import rectification_record
from tests.factories import make_unit, make_village

from .corpus import GOOD, HEADER, xlsx_file

pytestmark = pytest.mark.django_db

COLUMNS = [*HEADER, "村社区"]


def line(**cells):
    values = dict(zip(HEADER, GOOD)) | {"村社区": ""}
    values.update(cells)
    return [values[h] for h in COLUMNS]


def preview_cells(client, data):
    response = client.post(reverse("imports:upload"), {"file": SimpleUploadedFile("清单.xlsx", data)})
    assert response.status_code == 302, response.content.decode()[:500]
    page = client.get(response.url).content.decode()
    rows = re.findall(r"<tr><td data-label=\"行\">.*?</tr>", page, re.S)
    cells = []
    for row in rows:
        found = dict(re.findall(r'data-cell="(\w+)">(.*?)</td>', row, re.S))
        cells.append({key: re.sub(r"<[^>]+>", "", value).strip() for key, value in found.items()})
    return cells


def test_each_listed_row_shows_its_township_village_and_status(admin_client, towns):
    shimen, baihe = towns
    make_village(shimen, "东岙村")
    make_unit(shimen, name="老厂", address="")
    done = make_unit(shimen, name="已关停作坊", address="", village=make_village(shimen, "西岙村"))
    rectification_record(enterprise=done, method=Method.CLOSED, rectified_on=done.identified_on)
    data = xlsx_file(
        line(单位名称="新作坊", 村社区="东岙村"),
        line(
            单位名称="已整治的点", 乡镇街道="白鹤镇", 整治状态="已整治", 整治方式="关停取缔", 整治完成日期="2018-03-06"
        ),
        line(单位名称="整治中的点", 整治状态="整治中"),
        line(单位名称="老厂", 乡镇街道="白鹤镇"),  # moved to 白鹤镇: a new unit there, not the old one
        line(单位名称="已关停作坊", 排查日期="2018-01-10", 整治状态=""),  # as the unit is: 西岙村, 已整治
        header=COLUMNS,
    )

    cells = preview_cells(admin_client, data)

    assert cells == [
        {"township": "石门镇", "village": "东岙村", "status": "未整治"},
        {"township": "白鹤镇", "village": "—", "status": "已整治"},
        {"township": "石门镇", "village": "—", "status": "整治中"},
        {"township": "白鹤镇", "village": "—", "status": "未整治"},
        {"township": "石门镇", "village": "西岙村", "status": "已整治"},
    ]
    # Kept in the batch's summary: the page reads them from there.
    preview = ImportBatch.objects.get().summary["preview"]
    assert [row[4:] for row in preview] == [
        ["石门镇", "东岙村", "open"],
        ["白鹤镇", "", "rectified"],
        ["石门镇", "", "in_progress"],
        ["白鹤镇", "", "open"],
        ["石门镇", "西岙村", "rectified"],
    ]


def test_a_batch_kept_before_these_fields_still_shows_its_preview(admin_client, towns):
    response = admin_client.post(
        reverse("imports:upload"), {"file": SimpleUploadedFile("清单.xlsx", xlsx_file(line(), header=COLUMNS))}
    )
    batch = ImportBatch.objects.get()
    batch.summary["preview"] = [row[:4] for row in batch.summary["preview"]]
    batch.save(update_fields=["summary"])
    page = admin_client.get(response.url)
    assert page.status_code == 200
    assert "城东五金加工点" in page.content.decode()

"""A screening list through the browser: errors first, then the corrected file, confirm, the register."""

import pytest

from enterprises.models import Enterprise, ImportBatch
from tests.factories import make_township, make_user
from tests.imports.corpus import csv_file, row

from .conftest import login

PASSWORD = "shimen-staff-2018"


@pytest.fixture
def staff(transactional_db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    town = make_township("石门镇")
    make_township("白鹤镇")
    return make_user("shimen", role="township_staff", township=town, password=PASSWORD)


def test_upload_with_errors_then_the_corrected_file_and_confirm(page, staff, tmp_path, screenshot):
    wrong = tmp_path / "石门镇排查清单.csv"
    wrong.write_bytes(
        csv_file(
            row(单位名称="城东五金加工点"),
            row(单位名称="西山木材加工点", 联系电话="1.38E+10"),
            row(单位名称="白鹤废品回收站", 乡镇街道="白鹤镇"),
        )
    )
    login(page, "shimen", PASSWORD)
    page.goto("/imports/")
    page.set_input_files("input[name=file]", str(wrong))
    page.click("main form button[type=submit]")
    errors = page.locator("#import-errors li").all_inner_texts()
    assert any(error.startswith("第3行 联系电话：") for error in errors), errors
    assert any(error.startswith("第4行 乡镇街道：无权导入") for error in errors), errors
    screenshot(page, "import-errors")
    assert Enterprise.objects.count() == 0 and ImportBatch.objects.count() == 0

    right = tmp_path / "石门镇排查清单-改.csv"
    right.write_bytes(csv_file(row(单位名称="城东五金加工点"), row(单位名称="西山木材加工点", 联系电话="13812345679")))
    page.set_input_files("input[name=file]", str(right))
    page.click("main form button[type=submit]")
    page.wait_for_url("**/imports/*/")
    assert "新增单位2个" in page.inner_text("#import-summary")
    assert Enterprise.objects.count() == 0
    screenshot(page, "import-preview")

    page.click("text=确认导入")
    page.wait_for_load_state("networkidle")
    assert page.inner_text("#import-status") == "已导入"
    page.goto("/units/")
    body = page.inner_text("main")
    assert "城东五金加工点" in body and "西山木材加工点" in body
    # The refused upload is answered 422 on purpose; Chromium logs that, and nothing else may be logged.
    assert [e for e in page.watch.console_errors if "422" not in e] == []

"""The life of an import batch as plain calls (enterprises.importing.batches): no request, no page."""

import os

import pytest
from django.db import DatabaseError

from enterprises import importing
from enterprises.credit_code import make_credit_code
from enterprises.importing import batches
from enterprises.models import Enterprise, ImportBatch
from tests.concurrency import needs_postgres, race
from tests.factories import make_unit, make_user

from .corpus import csv_file, row, xlsx_file

RECTIFIED = {"整治状态": "已整治", "整治方式": "关停取缔", "整治完成日期": "2018-04-01"}


@pytest.fixture
def staff(towns):
    return make_user("shimen", role="township_staff", township=towns[0])


def stored_files(settings):
    return [name for _root, _dirs, names in os.walk(settings.MEDIA_ROOT) for name in names]


def register():
    """Every unit with all its fields, and the number of history records: what 'untouched' compares."""
    return list(Enterprise.objects.order_by("pk").values()), Enterprise.history.count()


def test_a_clean_file_is_kept_as_a_batch_to_confirm_and_writes_no_unit(staff, settings):
    batch = batches.create_batch(staff, xlsx_file(row(), row(单位名称="二号点")), "石门镇清单.xlsx")

    batch = ImportBatch.objects.get(pk=batch.pk)
    assert (batch.status, batch.rows, batch.created, batch.uploaded_by, batch.township_id) == (
        "previewed",
        2,
        2,
        staff,
        staff.profile.township_id,
    )
    assert importing.load_plan(batch.plan).count(importing.Action.CREATE) == 2
    assert [line[2] for line in batch.summary["preview"]] == ["城东五金加工点", "二号点"]
    assert len(stored_files(settings)) == 1
    assert Enterprise.objects.count() == 0


def test_a_file_with_errors_is_refused_and_nothing_is_kept(staff, settings):
    with pytest.raises(batches.UploadRefused) as refused:
        batches.create_batch(staff, csv_file(row(), row(联系电话="1.38E+10")), "a.csv")

    assert not isinstance(refused.value, batches.FileTooLarge)
    assert [str(issue) for issue in refused.value.issues][0].startswith("第3行 联系电话：")
    assert ImportBatch.objects.count() == 0 and stored_files(settings) == []


def test_a_township_user_may_not_list_another_townships_units(staff):
    with pytest.raises(batches.UploadRefused) as refused:
        batches.create_batch(staff, csv_file(row(乡镇街道="白鹤镇")), "a.csv")
    assert "第2行 乡镇街道" in str(refused.value.issues[0])
    assert ImportBatch.objects.count() == 0


def test_a_file_over_the_limit_is_refused_as_too_large(staff, settings):
    settings.IMPORT_MAX_FILE_BYTES = 1024 * 1024
    with pytest.raises(batches.FileTooLarge, match="文件超过1 MB 的上限"):
        batches.check_size(1024 * 1024 + 1)
    batches.check_size(1024 * 1024)  # at the limit: fine
    with pytest.raises(batches.FileTooLarge):
        batches.create_batch(staff, b"x" * (1024 * 1024 + 1), "big.csv")
    assert ImportBatch.objects.count() == 0 and stored_files(settings) == []


def test_confirming_writes_the_units_and_records_them_on_the_batch(staff):
    batch = batches.create_batch(staff, xlsx_file(row(), row(单位名称="二号点")), "a.xlsx")

    plan = batches.confirm_batch(staff, batch)

    assert plan.count(importing.Action.CREATE) == 2
    batch.refresh_from_db()
    assert (batch.status, batch.plan, batch.failure, batch.created) == ("applied", None, "", 2)
    assert batch.applied_at is not None
    units = set(Enterprise.objects.values_list("pk", flat=True))
    assert len(units) == 2 and {line["unit"] for line in batch.summary["rows"]} == units


def test_confirming_an_applied_batch_again_is_refused_without_touching_units(staff):
    batch = batches.create_batch(staff, xlsx_file(row(), row(单位名称="二号点")), "a.xlsx")
    batches.confirm_batch(staff, batch)
    batch.refresh_from_db()
    before, applied_at = register(), batch.applied_at

    with pytest.raises(batches.AlreadyApplied, match="不能重复确认"):
        batches.confirm_batch(staff, batch)

    assert register() == before
    batch.refresh_from_db()
    assert (batch.status, batch.applied_at, batch.failure) == ("applied", applied_at, "")


def test_a_batch_applied_since_it_was_read_is_refused_under_its_lock(staff):
    """The copy in hand still says 待确认 (another click confirmed it meanwhile): the locked row decides."""
    batch = batches.create_batch(staff, xlsx_file(row()), "a.xlsx")
    stale = ImportBatch.objects.get(pk=batch.pk)
    batches.confirm_batch(staff, batch)
    before = register()

    with pytest.raises(batches.ConfirmFailed, match="该文件已导入，不能重复确认"):
        batches.confirm_batch(staff, stale)

    assert register() == before
    stale.refresh_from_db()
    assert (stale.status, stale.failure) == ("applied", "")


def test_a_failed_write_leaves_the_batch_failed_and_no_unit_written(staff, monkeypatch):
    batch = batches.create_batch(staff, xlsx_file(row(), row(单位名称="二号点", **RECTIFIED)), "a.xlsx")

    def broken(plan, stamp):
        raise DatabaseError("connection lost")

    monkeypatch.setattr(importing, "_write_rectifications", broken)
    with pytest.raises(batches.ConfirmFailed, match="数据库写入失败，未写入任何数据") as failed:
        batches.confirm_batch(staff, batch)

    assert Enterprise.objects.count() == 0 and Enterprise.history.count() == 0
    batch.refresh_from_db()
    assert (batch.status, batch.plan, batch.applied_at) == ("failed", None, None)
    assert batch.failure == failed.value.failure == "数据库写入失败，未写入任何数据"


def test_a_file_that_no_longer_checks_out_fails_with_its_errors(staff, towns):
    code = make_credit_code("9", "1", "330102", "00000001")
    batch = batches.create_batch(staff, xlsx_file(row(统一社会信用代码=code)), "a.xlsx")
    make_unit(towns[1], name="别处的单位", credit_code=code)  # the code now names another township's unit
    before = register()

    with pytest.raises(batches.ConfirmFailed) as failed:
        batches.confirm_batch(staff, batch)

    assert register() == before
    assert any("第2行" in str(issue) for issue in failed.value.issues)
    batch.refresh_from_db()
    assert batch.status == "failed" and "第2行" in batch.failure and batch.plan is None


def test_marking_failed_leaves_an_applied_batch_as_it_is(staff):
    kept = batches.create_batch(staff, xlsx_file(row()), "a.xlsx")
    applied = batches.create_batch(staff, xlsx_file(row(单位名称="二号点")), "b.xlsx")
    batches.confirm_batch(staff, applied)

    for batch in (kept, applied):
        batches.mark_failed(batch, "出错了", ["第2行 单位名称：不能为空"])

    assert list(ImportBatch.objects.order_by("pk").values_list("status", "failure", "plan")) == [
        ("failed", "出错了\n第2行 单位名称：不能为空", None),
        ("applied", "", None),
    ]


def test_the_same_file_applied_before_is_found_by_its_checksum(staff):
    data = xlsx_file(row())
    first = batches.create_batch(staff, data, "a.xlsx")
    second = batches.create_batch(staff, data, "b.xlsx")
    other = batches.create_batch(staff, xlsx_file(row(单位名称="二号点")), "c.xlsx")
    assert batches.applied_before(second) is None  # the first is not applied yet

    batches.confirm_batch(staff, first)
    batches.confirm_batch(staff, other)

    assert batches.applied_before(second) == first
    assert batches.applied_before(first) is None  # not itself
    assert batches.applied_before(other) is None  # another file


def test_batches_are_seen_by_their_township_and_city_admins(staff, towns):
    mine = batches.create_batch(staff, xlsx_file(row()), "a.xlsx")
    admin = make_user("city", role="city_admin")
    theirs = batches.create_batch(admin, csv_file(row(乡镇街道="白鹤镇")), "b.csv")

    assert list(batches.visible_batches(staff)) == [mine]
    assert set(batches.visible_batches(admin)) == {mine, theirs}
    baihe = make_user("baihe", role="township_staff", township=towns[1])
    assert list(batches.visible_batches(baihe)) == []
    assert list(batches.visible_batches(make_user("inspector", role="inspector"))) == []


@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_one_batch_confirmed_twice_at_once_is_applied_once(staff):
    """Both calls hold a copy saying 待确认; the batch row's lock lets one apply it, the other is refused."""
    batch = batches.create_batch(staff, csv_file(*[row(单位名称=f"城东{i:03d}号点") for i in range(300)]), "a.csv")
    copies = [ImportBatch.objects.get(pk=batch.pk) for _ in range(2)]

    results = race(*[lambda copy=copy: batches.confirm_batch(staff, copy) for copy in copies])

    refused = [result for result in results if isinstance(result, batches.ConfirmFailed)]
    applied = [result for result in results if isinstance(result, importing.UnitPlan)]
    assert len(applied) == 1 and len(refused) == 1, [type(result).__name__ for result in results]
    assert str(refused[0]) == "该文件已导入，不能重复确认"
    batch.refresh_from_db()
    assert (batch.status, batch.created, batch.failure) == ("applied", 300, "")
    assert Enterprise.objects.count() == 300 and Enterprise.history.count() == 300

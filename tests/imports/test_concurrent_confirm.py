"""One list confirmed twice at the same moment registers its units once.

Two batches of the same file, confirmed by two clients at once: both plans were checked against the
same register and are current when each confirmation starts. ``importing.apply`` takes the
township's register lock and asks again inside it, so the second waits for the first, reads the
file again and finds every unit there (its batch: applied, nothing new). The command line gets the
same guarantee; the unique constraint on the identity backs it (tests/enterprises/test_unit_identity.py).
"""

import io
import threading
import time
from collections import defaultdict

import pytest
from django.core.management import call_command
from django.db import connection, connections, transaction
from django.db.models import Count
from django.test import Client
from django.urls import reverse

from enterprises import importing
from enterprises.credit_code import make_credit_code
from enterprises.models import Enterprise, ImportBatch
from tests.concurrency import race
from tests.factories import make_campaign, make_user

from .corpus import csv_file, row
from .test_upload_flow import upload

needs_postgres = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="SQLite's test database is one shared-cache memory database: a second writer is refused, never queued",
)


def screening_list(count):
    """``count`` units of 石门镇, every third with a credit code."""

    def code(i):
        return make_credit_code("9", "1", "330102", f"{i:08d}") if i % 3 == 0 else ""

    return csv_file(*[row(单位名称=f"城东{i:04d}号点", 统一社会信用代码=code(i)) for i in range(count)])


def confirm(client, batch):
    return client.post(reverse("imports:confirm", args=[batch.pk]))


def duplicates():
    same = Enterprise.objects.alive().values("township", "name", "address").annotate(n=Count("id"))
    return list(same.filter(n__gt=1))


@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_two_batches_of_one_list_confirmed_at_once_register_it_once(towns, monkeypatch):
    data = screening_list(3000)
    clients = [Client(), Client()]
    for i, client in enumerate(clients):
        client.force_login(make_user(f"shimen{i}", role="township_staff", township=towns[0]))
        upload(client, data, name="石门镇清单.csv")
    batches = list(ImportBatch.objects.order_by("pk"))
    assert [batch.created for batch in batches] == [3000, 3000]

    # Both confirmations check their plans (current: nothing was written yet) before either writes.
    real, both_checked, seen = importing.still_current, threading.Barrier(2, timeout=60), defaultdict(list)

    def checked_together(plan):
        current = real(plan)
        seen[threading.get_ident()].append(current)
        if len(seen[threading.get_ident()]) == 1:
            both_checked.wait()
        return current

    monkeypatch.setattr(importing, "still_current", checked_together)
    results = race(*[lambda c=client, b=batch: confirm(c, b) for client, batch in zip(clients, batches, strict=True)])

    assert [getattr(result, "status_code", result) for result in results] == [302, 302]
    # The one that waited for the lock found its plan stale there and read the file again.
    assert sorted(seen.values()) == [[True, False], [True, True]]
    for batch in batches:
        batch.refresh_from_db()
    assert [batch.status for batch in batches] == ["applied", "applied"]
    assert sorted((batch.created, batch.unchanged) for batch in batches) == [(0, 3000), (3000, 0)]
    assert Enterprise.objects.count() == 3000 and duplicates() == []


@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_a_list_read_while_another_import_is_writing_waits_for_it_and_matches_its_units(towns):
    data = screening_list(3)
    writing = threading.Event()

    def other_import():
        try:
            with transaction.atomic():
                importing.apply(importing.parse(data))
                writing.set()  # written, not committed: the township stays locked a moment longer
                time.sleep(1)
        finally:
            writing.set()
            connections.close_all()

    thread = threading.Thread(target=other_import)
    thread.start()
    assert writing.wait(30)
    plan = importing.parse(data)
    thread.join()

    assert plan.count(importing.Action.UNCHANGED) == 3 and plan.settled
    assert importing.still_current(plan)


# --- the same race, one step after the other (any database) ---------------------------------------


def test_a_batch_whose_plan_went_stale_after_its_check_applies_nothing_new(staff_client, monkeypatch):
    """Batch B checked its plan (current), then batch A of the same list was confirmed, then B wrote:
    inside the lock B's plan is found stale and the file read again; every unit is there already."""
    data = screening_list(60)
    upload(staff_client, data, name="a.csv")
    upload(staff_client, data, name="b.csv")
    first, second = ImportBatch.objects.order_by("pk")

    real, calls = importing.still_current, []

    def other_confirmed_right_after(plan):
        current = real(plan)
        calls.append(current)
        if len(calls) == 1:
            assert confirm(staff_client, first).status_code == 302
        return current

    monkeypatch.setattr(importing, "still_current", other_confirmed_right_after)
    response = confirm(staff_client, second)

    assert response.status_code == 302
    assert calls[0] is True and calls[-1] is False  # current when checked, stale once locked
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, first.created) == ("applied", 60)
    assert (second.status, second.created, second.unchanged) == ("applied", 0, 60)
    assert second.summary["text"].startswith("新增单位0个，更新0个，不变60个")
    assert Enterprise.objects.count() == 60 and duplicates() == []


def test_a_stale_plan_without_a_way_to_read_the_file_again_is_refused(towns):
    data = screening_list(6)
    plan = importing.parse(data)
    importing.apply(importing.parse(data))  # the same list, imported in between

    with pytest.raises(importing.PlanError, match="预览之后系统中的单位已被修改，未写入任何数据"):
        importing.apply(plan)
    assert Enterprise.objects.count() == 6 and duplicates() == []


def test_import_units_reads_the_file_again_when_another_import_wrote_in_between(towns, tmp_path, monkeypatch):
    make_campaign()
    path = tmp_path / "石门镇清单.csv"
    path.write_bytes(screening_list(9))
    real = importing.parse
    calls = []

    def another_import_right_after(*args, **kwargs):
        plan = real(*args, **kwargs)
        calls.append(plan)
        if len(calls) == 1:
            importing.apply(real(path))  # another import of the same list commits meanwhile
        return plan

    monkeypatch.setattr(importing, "parse", another_import_right_after)
    out = _run_import(path)

    assert len(calls) == 2  # the command's own check, and again inside the lock
    assert "导入完成：新增单位0个，更新0个，不变9个" in out
    assert Enterprise.objects.count() == 9 and duplicates() == []


def _run_import(path):
    out = io.StringIO()
    call_command("import_units", str(path), "--campaign", "c2018", stdout=out, stderr=io.StringIO())
    return out.getvalue()

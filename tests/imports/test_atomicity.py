"""Killing the database connection in the middle of an import leaves no partial rows (PostgreSQL).

The importing backend is terminated from a second connection (pg_terminate_backend) after the
units are inserted and before they are updated and their rectifications written; the server rolls
the open transaction back, so nothing of the file may be found afterwards.
"""

import psycopg2
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import DatabaseError, connection
from django.urls import reverse

from enterprises import importing
from enterprises.models import Enterprise, ImportBatch, Rectification
from tests.factories import make_township, make_user

from .corpus import row, xlsx_file

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="pg_terminate_backend needs PostgreSQL"),
]


def rectified_list(count):
    cells = {"整治状态": "已整治", "整治方式": "关停取缔", "整治完成日期": "2018-04-01"}
    return xlsx_file(*[row(单位名称=f"点{i}", **cells) for i in range(count)])


def terminate_before(monkeypatch, name):
    """Make ``importing.<name>`` first kill the connection it is about to use."""
    original = getattr(importing, name)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    killed = []

    def kill_then_continue(*args, **kwargs):
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM enterprises_enterprise")
            killed.append(cursor.fetchone()[0])  # the inserted units, inside the transaction
        params = connection.get_connection_params()
        params.pop("cursor_factory", None)
        other = psycopg2.connect(**params)
        other.autocommit = True
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
        other.close()
        return original(*args, **kwargs)

    monkeypatch.setattr(importing, name, kill_then_continue)
    return killed


def test_a_killed_connection_during_apply_leaves_no_partial_rows(monkeypatch):
    make_township("石门镇")
    plan = importing.parse(rectified_list(50), file_name="killed.xlsx")
    assert plan.errors == []
    killed = terminate_before(monkeypatch, "_write_rectifications")
    with pytest.raises(DatabaseError):
        importing.apply(plan)
    assert killed == [50]
    connection.close()
    assert not Enterprise.objects.filter(name__startswith="点").exists()
    assert not Rectification.objects.filter(enterprise__name__startswith="点").exists()
    assert not Enterprise.history.filter(history_change_reason__contains="killed.xlsx").exists()


def test_a_killed_connection_during_confirm_leaves_no_partial_rows_and_a_failed_batch(client, monkeypatch, settings):
    town = make_township("石门镇")
    client.force_login(make_user("shimen", role="township_staff", township=town))
    client.post(reverse("imports:upload"), {"file": SimpleUploadedFile("a.xlsx", rectified_list(20))})
    batch = ImportBatch.objects.get()
    terminate_before(monkeypatch, "_write_rectifications")
    response = client.post(reverse("imports:confirm", args=[batch.pk]))
    assert response.status_code == 302
    connection.close()
    assert not Enterprise.objects.filter(name__startswith="点").exists()
    assert not Rectification.objects.filter(enterprise__name__startswith="点").exists()
    batch.refresh_from_db()
    assert batch.status == "failed"

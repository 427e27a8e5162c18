"""The register export streams: memory that does not grow with the rows, the first bytes before the rows
are read, everything recorded before them, sheets that Excel can hold, and the same cells as the
whole-file writer of the report tables."""

import contextlib
import datetime
import io
import threading
import time
import tracemalloc
from decimal import Decimal

import openpyxl
import pytest
from django.contrib.admin.models import LogEntry
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from core import sheets
from core.tabular import read_table
from enterprises import exports
from enterprises.exports import write_register
from enterprises.importing.columns import COLUMNS
from enterprises.models import Enterprise
from tests.factories import make_township, make_unit, make_user, make_village

pytestmark = pytest.mark.django_db

D = datetime.date


def add_units(township, village, first, count):
    """``count`` units, each with a name, address, owner and phone of its own (no two texts alike)."""
    Enterprise.objects.bulk_create(
        (
            Enterprise(
                name=f"宏达五金加工厂{i:07d}",
                township=township,
                village=village,
                address=f"城关镇解放路{i}号",
                owner=f"王{i}",
                phone=f"138{i:08d}",
                industry="五金",
                unlicensed=True,
                unsafe=bool(i % 3),
                identified_on=D(2018, 1, 1) + datetime.timedelta(days=i % 365),
            )
            for i in range(first, first + count)
        ),
        batch_size=2000,
    )


def traced_peak(client, url):
    """The most memory Python held at once while the export at ``url`` was made and read (in bytes)."""
    tracemalloc.start()
    try:
        response = client.get(url)
        size = sum(len(piece) for piece in response.streaming_content)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert response.status_code == 200 and size > 0
    return peak, int(response["X-Rows-Total"])


@pytest.mark.parametrize("name", ["enterprises:export", "enterprises:export_csv"])
def test_the_export_holds_no_more_memory_for_four_times_the_rows(client, name, monkeypatch):
    # Smaller chunks and blocks than in production, so that a few thousand rows are many of them.
    monkeypatch.setattr(exports, "CHUNK_ROWS", 200)
    monkeypatch.setattr(sheets, "_BLOCK_ROWS", 100)
    monkeypatch.setattr(sheets, "_CACHE_LIMIT", 64)
    township = make_township("城关镇")
    village = make_village(township, "东村")
    client.force_login(make_user("admin"))
    url = reverse(name)
    client.get(url)  # once, so that what a first request loads (templates, translations) is loaded

    add_units(township, village, 0, 4_000)
    small, rows = traced_peak(client, url)
    assert rows == 4_000
    add_units(township, village, 4_000, 12_000)
    large, rows = traced_peak(client, url)
    assert rows == 16_000

    # Whatever a block of rows and the columns' remembered values take, and nothing per row: a
    # writer that kept each distinct text (a shared-string table) held four times as much here.
    assert large < small * 1.2 + 512 * 1024, (small, large)
    assert large < 24 * 1024 * 1024, large


ROWS_QUERY = 'LEFT OUTER JOIN "enterprises_rectification"'  # the rows, with their current rectification


def test_the_first_bytes_leave_before_the_rows_are_read(client):
    township = make_township("城关镇")
    for i in range(3):
        make_unit(township, D(2018, 3, 1 + i), name=f"厂{i}", owner="张三丰", phone="13812341234")
    client.force_login(make_user("admin"))

    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("enterprises:export"))
        # Made and recorded before the first byte: the rows counted, the full values recorded.
        assert response["X-Rows-Total"] == "3"
        assert LogEntry.objects.get().change_message == "导出完整联系方式：3"
        pieces = iter(response.streaming_content)
        first = next(pieces)
        read_before = [q["sql"] for q in queries.captured_queries if ROWS_QUERY in q["sql"]]
        rest = b"".join(pieces)

    assert first.startswith(b"PK\x03\x04")  # the workbook's first part, written before any row
    assert read_before == []
    assert any(ROWS_QUERY in q["sql"] for q in queries.captured_queries)
    sheet = openpyxl.load_workbook(io.BytesIO(first + rest)).active
    assert [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)] == ["厂2", "厂1", "厂0"]


def test_a_register_longer_than_a_sheet_goes_on_over_more_sheets(monkeypatch):
    monkeypatch.setattr(sheets, "SHEET_ROWS", 4)
    township = make_township("城关镇")
    for i in range(10):
        make_unit(township, D(2018, 1, 1) + datetime.timedelta(days=i), name=f"厂{i}")

    buffer = io.BytesIO()
    assert write_register(Enterprise.objects.for_register(), buffer) == (10, 0)

    book = openpyxl.load_workbook(io.BytesIO(buffer.getvalue()))
    assert book.sheetnames == ["四无单位台账", "四无单位台账 (2)", "四无单位台账 (3)"]
    names = []
    for sheet in book.worksheets:
        header, *rows = list(sheet.iter_rows(values_only=True))
        assert header[0] == "单位名称" and sheet.freeze_panes == "B2"
        assert len(rows) <= 4
        names += [row[0] for row in rows]
    assert names == [f"厂{i}" for i in range(9, -1, -1)]


def test_an_exported_register_reads_back_through_the_import(client):
    township = make_township("城关镇")
    make_unit(township, D(2018, 2, 3), name="=1+1", address="_x0041_路 & <b>", owner="  张三  ", grid="一网格\n二")
    make_unit(township, D(2018, 2, 4), name="2018-03-05", address="-2+3")
    client.force_login(make_user("admin"))

    data = b"".join(client.get(reverse("enterprises:export")).streaming_content)

    table = read_table(data, COLUMNS)
    rows = [row.cells for row in table.rows]
    assert [(r["name"], r["address"]) for r in rows] == [("2018-03-05", "-2+3"), ("=1+1", "_x0041_路 & <b>")]
    assert rows[1]["owner"] == "  张三  " and rows[1]["grid"] == "一网格\n二"


# --- the writer: streamed or whole, the same cells -----------------------------------------------

TEXTS = [
    "平常的名称",
    "=SUM(A1:A2)",
    "+86 571",
    "-2",
    "@x",
    "\t制表",
    " 前有空格",
    "后有空格 ",
    "一行\n两行",
    "a & b <c>",
    "_x0041_",
    "控制\x01字符",
    "孤\ud800代理",
    "非字符\ufffe",
    "2018-03-05",
    "",
]
VALUES = [None, True, False, 0, 3, -1.5, Decimal("2.50"), D(2018, 4, 30), datetime.datetime(2018, 4, 30, 8, 30)]
# Numbers whose text is no plain decimal: an exponent, infinities and NaN (written as text), tiny.
NUMBERS = [Decimal("1E+3"), Decimal("0E-6"), float("inf"), float("nan"), 1e-05, -2.5e300, Decimal("-0.000001")]


def _table(count):
    """Rows whose columns mix every kind of text and value, each column through every path of the writer."""
    rows = []
    for i in range(count):
        text = TEXTS[i % len(TEXTS)]
        rows.append(
            [
                text,
                f"唯一{i}",
                f"唯一{i}" if i % 7 else text,
                VALUES[i % len(VALUES)],
                i % 3 == 0,
                D(2018, 1, 1 + i % 28),
                None if i % 5 == 0 else Decimal(f"120.{i:04d}50"),  # a position: a new number on each row
                NUMBERS[i % len(NUMBERS)] if i % 2 else i / 7,
            ]
        )
    return sheets.Table("表", ["文本", "唯一", "多半唯一", "值", "是否", "日期", "经度", "数"], rows)


def _cells(data):
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    return [
        [(c.value, c.data_type, bool(c.quotePrefix), c.is_date, c.number_format) for c in row]
        for row in sheet.iter_rows()
    ]


@pytest.fixture
def small_blocks(monkeypatch):
    """Blocks of 5 rows and columns that remember 8 values: every path of the writer in a few rows."""
    monkeypatch.setattr(sheets, "_BLOCK_ROWS", 5)
    monkeypatch.setattr(sheets, "_CACHE_LIMIT", 8)


def test_the_streamed_workbook_has_the_cells_of_the_whole_one(small_blocks):
    whole = io.BytesIO()
    sheets.write_xlsx(_table(120), whole, plain=False)
    streamed = b"".join(sheets.stream_xlsx(_table(120), rows=120, repeated=["平常的名称", "-2"]))

    assert _cells(streamed) == _cells(whole.getvalue())


def test_the_streamed_csv_is_the_whole_one(small_blocks, monkeypatch):
    # Text UTF-8 cannot carry (a lone surrogate) makes neither writer's CSV: no database holds it.
    monkeypatch.setattr(f"{__name__}.TEXTS", [text for text in TEXTS if "\ud800" not in text])
    whole = io.BytesIO()
    sheets.write_csv(_table(120), whole)
    assert b"".join(sheets.stream_csv(_table(120))) == whole.getvalue()


# --- reading ahead: the rows read by a thread of their own, on a connection of its own ---------


def _readers():
    return [thread for thread in threading.enumerate() if thread.name == "register-export-reader"]


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_the_rows_are_read_ahead_on_a_connection_of_their_own(monkeypatch):
    monkeypatch.setattr(exports, "CHUNK_ROWS", 7)  # many chunks, and a full queue to wait on
    township = make_township("城关镇")
    add_units(township, None, 0, 100)
    seen = []
    read_here = exports._read_here
    monkeypatch.setattr(exports, "_read_here", lambda rows: seen.append("here") or read_here(rows))

    buffer = io.BytesIO()
    assert write_register(Enterprise.objects.for_register(), buffer) == (100, 0)

    assert seen == [] and _readers() == []  # read ahead, and the reader is gone
    rows = list(openpyxl.load_workbook(buffer).active.iter_rows(min_row=2, values_only=True))
    assert len(rows) == 100
    assert rows[0][0] == "宏达五金加工厂0000099" and rows[-1][0] == "宏达五金加工厂0000000"


@pytest.mark.django_db(transaction=True)
def test_a_download_stopped_early_stops_its_reader(monkeypatch):
    monkeypatch.setattr(exports, "CHUNK_ROWS", 5)
    monkeypatch.setattr(sheets, "_BLOCK_ROWS", 5)
    monkeypatch.setattr(sheets, "_FLUSH_BYTES", 1)  # each block of rows handed on as it is written
    add_units(make_township("城关镇"), None, 0, 200)
    pieces = exports.RegisterExport(Enterprise.objects.for_register()).stream()
    next(pieces)
    next(pieces)  # the rows are being read
    assert len(_readers()) == 1

    pieces.close()  # the client went away

    for _ in range(40):
        if not _readers():
            break
        time.sleep(0.1)
    assert _readers() == []


@pytest.mark.django_db(transaction=True)
def test_an_error_of_the_reader_is_raised_to_the_writer(monkeypatch):
    add_units(make_township("城关镇"), None, 0, 10)

    @contextlib.contextmanager
    def failing(rows):
        raise RuntimeError("the database went away")
        yield  # pragma: no cover

    monkeypatch.setattr(exports, "_reading", failing)
    with pytest.raises(RuntimeError, match="went away"):
        write_register(Enterprise.objects.for_register(), io.BytesIO())
    assert _readers() == []

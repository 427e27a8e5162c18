"""The notice as a 公文: its 文号, its date, its signature kept with the text, the city's own
letterhead, and the quarterly assessment's score."""

import datetime
import io
import zipfile
from decimal import Decimal

import docx
import openpyxl
import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from docx.oxml.ns import qn
from docx.shared import Mm

from reports import rules
from reports.models import NoticeSettings
from reports.notices import content as notice
from reports.notices.forms import NoticeSettingsForm
from tests.reports import test_notice
from tests.reports.test_notice import WEEK1, WEEK2, docx_text

world = test_notice.world  # the same fixture: today is frozen at 2018-12-31
D = datetime.date


def settings_for(world, **fields):
    config = NoticeSettings.for_campaign(world.campaign)
    for name, value in fields.items():
        setattr(config, name, value)
    config.full_clean()
    config.save()
    return config


# ---- the date a notice is signed with ----


def test_a_notice_is_dated_by_its_week_not_by_the_day_it_is_issued(world):
    issued = notice.notice_issue(campaign=world.campaign, as_of=WEEK1, user=world.admin, today=D(2026, 12, 7))
    text = docx_text(issued.docx.open("rb").read())
    assert "2018年3月31日" in text and "2026年" not in text
    assert issued.figures["issued_on"] == "2018-03-31"


def test_the_office_may_date_its_notices_by_the_issue_day_instead(world):
    settings_for(world, dated=NoticeSettings.Dated.ISSUED)
    issued = notice.notice_issue(campaign=world.campaign, as_of=WEEK1, user=world.admin, today=D(2018, 4, 2))
    assert issued.figures["issued_on"] == "2018-04-02"
    assert "2018年4月2日" in docx_text(issued.docx.open("rb").read())


def test_an_assessment_is_dated_by_its_milestone(world):
    frozen = notice.assessment_freeze(
        campaign=world.campaign, milestone_date=WEEK1, verdict="好", user=world.admin, today=D(2026, 12, 7)
    )
    assert frozen.figures["issued_on"] == "2018-03-31"


# ---- 文号 ----


def test_the_document_number_is_printed_in_every_format(world):
    settings_for(world, doc_number_format="瑞四无办〔{year}〕{serial}号")
    notice.notice_issue(campaign=world.campaign, as_of=WEEK1, user=world.admin)
    issued = notice.notice_issue(campaign=world.campaign, as_of=WEEK2, user=world.admin)
    assert issued.figures["doc_number"] == "瑞四无办〔2018〕2号"
    document = docx.Document(io.BytesIO(issued.docx.open("rb").read()))
    texts = [p.text for p in document.paragraphs]
    # Centred under the serial, above the office line with the red rule (GB/T 9704).
    number_at = texts.index("瑞四无办〔2018〕2号")
    assert texts[number_at - 1] == "第2期" and texts[number_at + 1].startswith(issued.figures["office"])
    assert "瑞四无办〔2018〕2号" in issued.html.open("rb").read().decode()
    book = openpyxl.load_workbook(io.BytesIO(issued.xlsx.open("rb").read()))
    assert ["文号", "瑞四无办〔2018〕2号"] in [[c.value for c in row] for row in book.worksheets[0].iter_rows()]


def test_no_document_number_is_printed_when_the_city_sets_none(world):
    issued = notice.notice_issue(campaign=world.campaign, as_of=WEEK1, user=world.admin)
    assert issued.figures["doc_number"] == ""
    assert "〔" not in docx_text(issued.docx.open("rb").read())


@pytest.mark.parametrize("pattern", ["瑞四无办〔{year}〕{number}号", "{0}号", "瑞四无办〔{year〕"])
def test_a_document_number_pattern_with_an_unknown_placeholder_is_refused(world, pattern):
    with pytest.raises(ValidationError, match="占位符"):
        settings_for(world, doc_number_format=pattern)


# ---- the signature block ----


def _body_blocks(data):
    body = docx.Document(io.BytesIO(data)).element.body
    return [child for child in body if child.tag in (qn("w:p"), qn("w:tbl"))]


def _keeps_with_next(paragraph):
    properties = paragraph.find(qn("w:pPr"))
    return properties is not None and properties.find(qn("w:keepNext")) is not None


@pytest.mark.parametrize("kind", ["notice", "assessment"])
def test_the_signature_is_kept_on_the_page_of_the_text_before_it(world, kind):
    if kind == "notice":
        content = notice.draft_content(world.campaign, WEEK2)
    else:
        content = notice.assessment_content(world.campaign, WEEK1, "第一行\n第二行", draft=True)
    blocks = _body_blocks(notice.render(content, "docx"))
    office, blank, before = blocks[-2], blocks[-3], blocks[-4]
    assert "".join(t.text for t in office.iter(qn("w:t"))) == content["office"]
    assert _keeps_with_next(blank) and _keeps_with_next(office)
    if before.tag == qn("w:tbl"):  # a table's last row, unsplit, goes with the signature
        last_row = before.findall(qn("w:tr"))[-1]
        assert last_row.find(qn("w:trPr")).find(qn("w:cantSplit")) is not None
        assert all(_keeps_with_next(p) for p in last_row.iter(qn("w:p")))
    else:
        assert _keeps_with_next(before)


# ---- the city's letterhead ----


def _letterhead_docx(header_text="瑞安市“四无”整治工作领导小组办公室 红头", footer_text=""):
    document = docx.Document()
    section = document.sections[0]
    section.top_margin, section.left_margin = Mm(50), Mm(30)
    section.header.paragraphs[0].text = header_text
    if footer_text:
        section.footer.paragraphs[0].text = footer_text
    document.add_paragraph("模板里的示例正文，应被通报正文取代")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def _upload(data, name="红头模板.docx"):
    return SimpleUploadedFile(name, data, content_type="application/octet-stream")


def _save_settings(world, files, **data):
    fields = {"office": "瑞安市四无办", "dated": "as_of", "red_rule": "this_week", "late_days": 7} | data
    form = NoticeSettingsForm(fields, files, instance=NoticeSettings.for_campaign(world.campaign))
    return form


def test_the_notice_is_written_into_the_citys_letterhead(world):
    form = _save_settings(world, {"letterhead": _upload(_letterhead_docx())})
    assert form.is_valid(), form.errors
    form.save()
    issued = notice.notice_issue(campaign=world.campaign, as_of=WEEK1, user=world.admin)
    document = docx.Document(io.BytesIO(issued.docx.open("rb").read()))
    section = document.sections[0]
    assert section.header.paragraphs[0].text.startswith("瑞安市“四无”整治工作领导小组办公室 红头")
    # The template's page setup (Word stores twips: within a tenth of a millimetre).
    assert abs(section.top_margin - Mm(50)) < Mm(0.1) and abs(section.left_margin - Mm(30)) < Mm(0.1)
    text = "\n".join(p.text for p in document.paragraphs)
    assert "模板里的示例正文" not in text and "全市“四无”整治工作进展情况通报" in text
    assert "PAGE" in section.footer._element.xml  # the template had no footer: pages are numbered
    assert issued.figures["letterhead"]["sha256"]


def test_a_letterhead_with_its_own_footer_keeps_it(world):
    form = _save_settings(world, {"letterhead": _upload(_letterhead_docx(footer_text="内部资料 注意保存"))})
    assert form.is_valid(), form.errors
    form.save()
    data = notice.render(notice.draft_content(world.campaign, WEEK1), "docx")
    footer = docx.Document(io.BytesIO(data)).sections[0].footer
    assert footer.paragraphs[0].text == "内部资料 注意保存" and "PAGE" not in footer._element.xml


def test_an_issued_notice_keeps_its_letterhead_when_the_template_is_replaced(world):
    form = _save_settings(world, {"letterhead": _upload(_letterhead_docx("旧红头"))})
    assert form.is_valid(), form.errors
    form.save()
    issued = notice.notice_issue(campaign=world.campaign, as_of=WEEK1, user=world.admin)
    before = issued.docx.open("rb").read()
    form = _save_settings(world, {"letterhead": _upload(_letterhead_docx("新红头"))})
    assert form.is_valid(), form.errors
    form.save()
    issued.refresh_from_db()
    assert issued.docx.open("rb").read() == before
    assert "新红头" in docx_text(notice.render(notice.draft_content(world.campaign, WEEK2), "docx"))


def _macro_document():
    """A .docx renamed from a macro document: its main part says macroEnabled."""
    source = zipfile.ZipFile(io.BytesIO(_letterhead_docx()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "[Content_Types].xml":
                data = data.replace(b"wordprocessingml.document.main+xml", b"ms-word.document.macroEnabled.main+xml")
            target.writestr(item, data)
    return out.getvalue()


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        (lambda: _upload(b"MZ\x90\x00 not a document", "红头.docx"), "不是普通的 .docx"),
        (lambda: _upload(_macro_document(), "红头.docx"), "不是普通的 .docx"),
        (lambda: _upload(_letterhead_docx(), "红头.doc"), "须为 .docx"),
    ],
)
def test_a_letterhead_that_is_not_a_plain_docx_is_refused_and_nothing_is_kept(world, upload, message):
    form = _save_settings(world, {"letterhead": upload()})
    assert not form.is_valid()
    assert message in str(form.errors["letterhead"])
    assert not NoticeSettings.objects.filter(campaign=world.campaign).exclude(letterhead="").exists()


# ---- the quarterly assessment's score ----


def test_the_assessment_scores_each_township_with_its_rate_capped(world):
    content = notice.assessment_content(world.campaign, WEEK1, "好", draft=True)
    rows = {row["name"]: row for row in content["townships"]}
    for row in rows.values():
        expected = rules.score([(None if row["rate"] is None else Decimal(str(row["rate"])), 1)])
        assert row["score"] == (None if expected is None else float(expected))
    assert rows["东城街道"]["score"] == 70  # 7 of 10 rectified by 03-31
    table = docx.Document(io.BytesIO(notice.render(content, "docx"))).tables[0]
    assert table.rows[0].cells[-1].text == "得分"
    assert {row.cells[1].text: row.cells[-1].text for row in table.rows[1:]}["东城街道"] == "70.00"


def test_an_assessment_frozen_before_scores_existed_still_renders(world):
    content = notice.assessment_content(world.campaign, WEEK1, "好", draft=True)
    for row in content["townships"]:
        del row["score"]
    del content["score_cap"]
    assert "—" in docx_text(notice.render(content, "docx"))


# ---- a target already passed reads as passed, not as "0 short" ----


def test_a_next_milestone_already_reached_reads_as_reached_not_as_zero_short(world):
    for i in range(6, 8):  # 东城 reaches 9 of 10 by 04-07: past the 60 % due on 06-30
        test_notice.rectify(world.units["东城街道"][i], D(2018, 4, 2), world.admin)
    content = notice.draft_content(world.campaign, WEEK2)
    rows = {row["name"]: row for row in content["townships"]}
    assert rows["东城街道"]["shortfall"] == 0
    table = docx.Document(io.BytesIO(notice.render(content, "docx"))).tables[0]
    cells = {row.cells[1].text: row.cells[-1].text for row in table.rows[1:]}
    assert cells["东城街道"] == "已完成" and cells["南湖镇"] == "6"
    city = dict(content["city"], milestone_next=dict(content["city"]["milestone_next"], shortfall=0))
    text = notice.render(dict(content, city=city), "html").decode()
    assert "已提前完成" in text and "尚差0家" not in text


# ---- issuing: confirmed, and only what the preview promised ----


def _preview(client, day):
    return client.get(reverse("notices:preview"), {"campaign": "c2018", "as_of": day}).content.decode()


def _issue(client, day, **extra):
    data = {"as_of": day, "serial": "1", "confirm": "on"} | extra
    return client.post(reverse("notices:issue") + "?campaign=c2018", data, follow=True)


def test_issuing_needs_the_confirmation_ticked(client, world):
    from reports.models import Notice

    client.force_login(world.admin)
    refused = _issue(client, "2018-03-31", confirm="")
    assert "请先勾选确认" in refused.content.decode() and not Notice.objects.exists()
    assert _issue(client, "2018-03-31").status_code == 200 and Notice.objects.get().serial == 1


def test_a_preview_for_a_day_before_the_latest_notice_offers_no_button_and_says_why(client, world):
    client.force_login(world.admin)
    _issue(client, "2018-04-07")
    page = _preview(client, "2018-03-31")
    assert 'id="issue-form"' not in page and "第2期" not in page
    assert "已发布截至 2018-04-07 的第1期，不能再发布更早日期的通报" in page


def test_a_serial_that_moved_since_the_preview_issues_nothing(client, world):
    from reports.models import Notice

    client.force_login(world.admin)
    notice.notice_issue(campaign=world.campaign, as_of=WEEK1, user=world.admin)  # someone else, meanwhile
    response = _issue(client, "2018-04-07", serial="1")  # the preview had promised 第1期
    assert "期号已变为第2期" in response.content.decode()
    assert list(Notice.objects.values_list("serial", flat=True)) == [1]

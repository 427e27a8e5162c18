"""The notice pages: who may issue, what everyone reads, byte-identical downloads, pinned query counts."""

import datetime

import docx
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from reports.models import Assessment, Commitment, Interview, Notice
from tests.factories import make_township, make_unit, make_user, set_target
from tests.reports import test_notice
from tests.reports.test_notice import WEEK1, WEEK2, docx_text, rectify

world = test_notice.world  # the same fixture
D = datetime.date
# session, user, role groups, campaign (picker), issued-for-day check, serial, settings, milestones,
# targets, three daily counts, townships, previous notice, commitments, inspections, findings,
# overdue, relapses, late entries (+ the history reads of "changes" once a notice exists).
PREVIEW_QUERIES = 29
DETAIL_QUERIES = 6
LIST_QUERIES = 8


@pytest.fixture
def admin_client(client, world):
    client.force_login(world.admin)
    return client


def _count(client, url):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, response.status_code
    return len(queries)


def test_city_admin_previews_issues_and_downloads_the_archived_files(admin_client, world):
    preview = admin_client.get(reverse("notices:preview"), {"campaign": "c2018", "as_of": "2018-03-31"})
    page = preview.content.decode()
    assert preview.status_code == 200 and "第1期" in page and "草稿" in page and 'id="issue-form"' in page
    draft = admin_client.get(
        reverse("notices:draft_download", args=["docx"]), {"campaign": "c2018", "as_of": "2018-03-31"}
    )
    assert "草稿" in docx_text(b"".join(draft.streaming_content))
    confirmed = {"as_of": "2018-03-31", "serial": "1", "confirm": "on"}
    response = admin_client.post(reverse("notices:issue") + "?campaign=c2018", confirmed)
    issued = Notice.objects.get()
    assert response.status_code == 302 and response["Location"] == issued.get_absolute_url()
    again = admin_client.post(reverse("notices:issue") + "?campaign=c2018", confirmed, follow=True)
    assert "已经发布" in again.content.decode() and Notice.objects.count() == 1
    rectify(world.units["南湖镇"][0], D(2018, 3, 15), world.admin)
    for fmt in ("docx", "xlsx", "html"):
        download = admin_client.get(reverse("notices:download", args=[issued.pk, fmt]))
        assert b"".join(download.streaming_content) == issued.stored(fmt)[0].open("rb").read()
    assert "attachment" in download.get("Content-Disposition", "attachment") or fmt == "html"
    listing = admin_client.get(reverse("notices:list"), {"campaign": "c2018"}).content.decode()
    assert "第1期" in listing


@pytest.mark.parametrize("role", ["city_viewer", "inspector", "township_staff"])
def test_every_role_reads_notices_but_only_city_admins_issue(client, world, role):
    town = world.towns["东城街道"] if role == "township_staff" else None
    client.force_login(make_user(f"u-{role}", role=role, township=town))
    from reports.notices import content as notice

    issued = notice.notice_issue(campaign=world.campaign, as_of=WEEK1, user=world.admin)
    assert client.get(reverse("notices:list")).status_code == 200
    assert client.get(issued.get_absolute_url()).status_code == 200
    page = client.get(reverse("notices:preview"), {"campaign": "c2018", "as_of": "2018-04-07"}).content.decode()
    assert "issue-form" not in page
    assert client.post(reverse("notices:issue"), {"as_of": "2018-04-07"}).status_code == 403
    assert Notice.objects.count() == 1
    assert client.get(reverse("notices:interviews")).status_code == 200
    assert client.get(reverse("notices:interview_create")).status_code == 403


def test_interviews_and_commitments_are_recorded_and_followed_up(admin_client, world):
    response = admin_client.post(
        reverse("notices:interview_create") + "?campaign=c2018",
        {
            "township": world.towns["南湖镇"].pk,
            "held_on": "2018-04-02",
            "summoned": "镇长 王某某",
            "attendees": "",
            "notes": "",
        },
    )
    interview = Interview.objects.get()
    assert response.status_code == 302 and interview.campaign == world.campaign
    admin_client.post(
        reverse("notices:commitment_create", args=[interview.pk]), {"text": "一周内关停10家", "due_on": "2018-04-05"}
    )
    commitment = Commitment.objects.get()
    assert "一周内关停10家" in admin_client.get(interview.get_absolute_url()).content.decode()
    admin_client.post(
        reverse("notices:commitment", args=[commitment.pk]), {"met_on": "2018-04-06", "follow_up": "已关停"}
    )
    commitment.refresh_from_db()
    assert commitment.met_on == D(2018, 4, 6)


def test_quarterly_assessment_is_frozen_at_a_milestone(admin_client, world):
    url = reverse("notices:assessment_preview") + "?campaign=c2018&date=2018-03-31"
    assert "季度督考" in admin_client.get(url).content.decode()
    response = admin_client.post(url, {"verdict": "东城街道完成节点目标，予以通报表扬。"})
    frozen = Assessment.objects.get()
    assert response.status_code == 302
    assert frozen.figures["met"] == ["东城街道"] and set(frozen.figures["not_met"]) == {"西城街道", "南湖镇"}
    text = docx_text(frozen.docx.open("rb").read())
    assert "予以通报表扬" in text and "2018年3月31日节点" in text
    data = frozen.docx.open("rb").read()
    rectify(world.units["南湖镇"][0], D(2018, 3, 15), world.admin)
    assert Assessment.objects.get().docx.open("rb").read() == data
    assert admin_client.post(url, {"verdict": "再来一次"}).status_code == 200
    assert Assessment.objects.count() == 1
    assert docx.Document(frozen.docx.open("rb"))


def _grow(place, townships, units_each):
    for _ in range(townships):
        town = make_township()
        set_target(place.campaign, town, units_each)
        for i in range(units_each):
            unit = make_unit(town, owner="王五", phone="13800001111")
            if i % 2:
                rectify(unit, D(2018, 3, 1 + i % 28), place.admin)


def test_notice_pages_query_counts_do_not_grow_with_the_city(admin_client, world):
    from reports.notices import content as notice

    issued = notice.notice_issue(campaign=world.campaign, as_of=WEEK1, user=world.admin)
    preview = reverse("notices:preview") + "?campaign=c2018&as_of=2018-04-07"
    urls = [preview, issued.get_absolute_url(), reverse("notices:list") + "?campaign=c2018"]
    small = [_count(admin_client, url) for url in urls]
    _grow(world, townships=4, units_each=6)
    notice.notice_issue(campaign=world.campaign, as_of=WEEK2, user=world.admin)
    preview = reverse("notices:preview") + "?campaign=c2018&as_of=2018-04-14"
    urls[0] = preview
    large = [_count(admin_client, url) for url in urls]
    assert small == large
    assert large[0] <= PREVIEW_QUERIES and large[1] <= DETAIL_QUERIES and large[2] <= LIST_QUERIES

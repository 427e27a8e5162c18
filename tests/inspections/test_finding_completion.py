"""整改完成 and 销号 of a finding (issue 19.9): a completion takes site photos like a rectification,
a completion after the deadline is marked late (逾期完成) and counted, and close-off refuses a
completion that came without photos."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from inspections import services
from inspections.models import Finding, FindingKind, FindingPhoto, FindingState, Kind
from tests.factories import make_campaign, make_township, make_unit, make_user, make_village
from tests.inspections import evidence

pytestmark = pytest.mark.django_db

D = datetime.date
FOUND_ON, DEADLINE = D(2018, 12, 20), D(2018, 12, 25)


@pytest.fixture(autouse=True)
def today(frozen_today):
    return frozen_today(D(2018, 12, 31))


@pytest.fixture
def w(db):
    class World:
        pass

    world = World()
    world.campaign = make_campaign()
    world.town_a, world.town_b = make_township("东城街道"), make_township("西城街道")
    world.unit = make_unit(world.town_a, name="宏达五金厂", village=make_village(world.town_a, "桥头村"))
    world.staff_a = make_user("dongcheng", role="township_staff", township=world.town_a)
    world.staff_b = make_user("xicheng", role="township_staff", township=world.town_b)
    world.inspector = make_user("ducha", role="inspector")
    world.viewer = make_user("lingdao", role="city_viewer")
    return world


def find(w, *, township=None, unit=None, found_on=FOUND_ON, deadline=DEADLINE):
    township = township or w.town_a
    inspection = services.inspection_record(
        kind=Kind.RANDOM, inspected_on=found_on, team="市督查组", township=township, user=w.inspector
    )
    return services.finding_record(
        inspection=inspection,
        kind=FindingKind.NOT_DONE,
        description="消防通道堵塞",
        deadline=deadline,
        enterprise=unit or (w.unit if township == w.town_a else make_unit(township)),
        user=w.inspector,
    )


def complete(client, finding, day, *files, **extra):
    url = reverse("inspections:finding_rectified", args=[finding.pk])
    return client.post(url, {"rectified_on": day, "note": "已清理通道", "photos": list(files), **extra})


def html_of(response):
    return response.content.decode()


# --- the completion takes photos -------------------------------------------------------------------


def test_a_completion_is_reported_with_photos_stored_like_a_rectifications(client, w, media_root):
    finding = find(w)
    client.force_login(w.staff_a)
    form = client.get(reverse("inspections:finding_rectified", args=[finding.pk]))
    assert 'enctype="multipart/form-data"' in html_of(form) and 'accept="image/*"' in html_of(form)

    response = complete(
        client, finding, "2018-12-24", evidence.upload("张三家门口.jpg"), evidence.upload(colour=(9, 9, 9))
    )

    assert response.status_code == 302
    finding.refresh_from_db()
    assert (finding.state, finding.rectified_on, finding.rectified_by) == (
        FindingState.RECTIFIED,
        D(2018, 12, 24),
        w.staff_a,
    )
    photos = list(FindingPhoto.objects.filter(finding=finding).order_by("pk"))
    assert len(photos) == 2 and all(p.uploaded_by == w.staff_a and p.returned_at is None for p in photos)
    stored = (media_root / photos[0].image.name).read_bytes()
    # Re-encoded under a generated name: neither the phone's EXIF nor the file name survives.
    assert b"VillagePhone" not in stored and "张三" not in photos[0].image.name
    assert photos[0].image.name.startswith("evidence/") and stored.startswith(b"\xff\xd8")


def test_a_completion_without_a_photo_is_refused_and_nothing_is_written(client, w, media_root):
    finding = find(w)
    client.force_login(w.staff_a)

    response = complete(client, finding, "2018-12-24")

    assert response.status_code == 200
    assert response.context["form"].errors["photos"] == ["请上传至少一张整改后的现场照片，没有照片的整改不能验收销号"]
    finding.refresh_from_db()
    assert finding.state == FindingState.OPEN and finding.rectified_on is None
    assert not FindingPhoto.objects.exists()


def test_a_completion_photo_is_checked_like_a_rectifications(client, w, media_root):
    finding = find(w)
    client.force_login(w.staff_a)
    not_a_photo = SimpleUploadedFile("整改.jpg", b"just text", "image/jpeg")

    response = complete(client, finding, "2018-12-24", not_a_photo)

    assert response.context["form"].errors["photos"] == ["文件“整改.jpg”不是有效的图片"]
    finding.refresh_from_db()
    assert finding.state == FindingState.OPEN and not FindingPhoto.objects.exists()
    assert not [p for p in media_root.rglob("*") if p.is_file()]


def test_a_refused_completion_leaves_no_photo_behind(client, w, media_root):
    finding = find(w)
    client.force_login(w.staff_a)

    response = complete(client, finding, "2018-12-19", evidence.upload())  # before the finding was made

    assert response.context["form"].errors["rectified_on"] == ["整改完成日期须在发现日期和今天之间"]
    assert not FindingPhoto.objects.exists()
    assert not [p for p in media_root.rglob("*") if p.is_file()]


def test_completion_photos_are_shown_on_the_finding_page_to_those_who_may_read_it(client, w):
    finding = find(w)
    services.finding_rectified(
        finding=finding, rectified_on=D(2018, 12, 24), note="", photos=evidence.photos(), user=w.staff_a
    )
    photo = FindingPhoto.objects.get()
    url = reverse("inspections:finding_photo", args=[finding.pk, photo.pk])

    for reader in (w.staff_a, w.inspector, w.viewer):
        client.force_login(reader)
        assert url in html_of(client.get(finding.get_absolute_url()))
        response = client.get(url)
        assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
        assert b"".join(response.streaming_content).startswith(b"\xff\xd8")
    client.force_login(w.staff_b)
    assert client.get(url).status_code == 404  # another township's finding
    other = find(w, township=w.town_b)
    assert client.get(reverse("inspections:finding_photo", args=[other.pk, photo.pk])).status_code == 404
    client.logout()
    assert client.get(url).status_code == 302


# --- late completions ------------------------------------------------------------------------------


def test_a_completion_after_the_deadline_is_marked_late_on_the_finding_and_in_the_lists(client, w):
    late = find(w)
    client.force_login(w.staff_a)

    response = complete(client, late, "2018-12-27", evidence.upload())

    assert response.status_code == 302
    late.refresh_from_db()
    assert late.completed_late and late.days_late == 2
    notice = html_of(client.get(late.get_absolute_url()))
    assert "逾期2天完成" in notice and "data-late" in notice
    assert "完成日期晚于整改期限2天，记为逾期完成" in notice  # the message after the redirect
    listing = client.get(reverse("inspections:findings"))
    assert listing.context["counts"]["late"] == 1 and html_of(listing).count("data-late") == 1
    inspection = html_of(client.get(late.inspection.get_absolute_url()))
    assert "逾期完成" in inspection


def test_a_completion_on_the_deadline_day_is_in_time(client, w):
    on_time = find(w)
    client.force_login(w.staff_a)

    complete(client, on_time, "2018-12-25", evidence.upload())

    on_time.refresh_from_db()
    assert on_time.state == FindingState.RECTIFIED and not on_time.completed_late
    assert "data-late" not in html_of(client.get(on_time.get_absolute_url()))
    assert client.get(reverse("inspections:findings")).context["counts"]["late"] == 0
    assert not Finding.objects.completed_late().exists()


def test_late_completions_stay_late_once_closed_off_and_are_counted_per_township(client, w):
    def report(finding, day):
        services.finding_rectified(finding=finding, rectified_on=day, note="", photos=evidence.photos(), user=None)

    closed_late = find(w)
    report(closed_late, D(2018, 12, 27))
    services.finding_verify(finding=closed_late, passed=True, closed_on=D(2018, 12, 28), note="", user=w.inspector)
    report(find(w, deadline=D(2018, 12, 22)), D(2018, 12, 23))
    report(find(w, deadline=D(2018, 12, 29)), D(2018, 12, 29))  # in time
    report(find(w, township=w.town_b), D(2018, 12, 30))
    find(w, township=w.town_b, deadline=D(2018, 12, 21))  # overdue, not completed: not a late completion

    assert Finding.objects.completed_late().count() == 3 and closed_late in Finding.objects.completed_late()
    client.force_login(w.inspector)
    response = client.get(reverse("inspections:findings"))

    counts = response.context["counts"]
    assert (counts["total"], counts["late"], counts["overdue"], counts["closed"]) == (5, 3, 1, 1)
    rows = {
        row["township__name"]: (row["total"], row["late"], row["overdue"]) for row in response.context["by_township"]
    }
    assert rows == {"东城街道": (3, 2, 0), "西城街道": (2, 1, 1)}
    html = html_of(response)
    assert 'id="by-township"' in html and html.count("data-late") == 3


@pytest.mark.parametrize("n", [3, 30])
def test_the_findings_list_with_its_late_counts_does_not_grow_with_the_data(client, w, django_assert_num_queries, n):
    towns = [w.town_a, w.town_b, make_township("南湖镇")]
    for i in range(n):
        finding = find(w, township=towns[i % 3], unit=make_unit(towns[i % 3]))
        if i % 2:
            services.finding_rectified(
                finding=finding, rectified_on=D(2018, 12, 26), note="", photos=evidence.photos(), user=None
            )
    client.force_login(w.inspector)
    # session, user (with role and township), filter form townships, the per-township counts (their
    # sums are the totals), paginator count, page rows
    with django_assert_num_queries(6):
        response = client.get(reverse("inspections:findings"))
    assert response.context["counts"]["late"] == n // 2
    assert sum(row["late"] for row in response.context["by_township"]) == n // 2


# --- close-off needs the completion's photos ------------------------------------------------------


def test_close_off_is_refused_for_a_completion_reported_without_photos(w):
    finding = find(w)
    # As reported before completions took photos (or by a caller that gave none).
    services.finding_rectified(finding=finding, rectified_on=D(2018, 12, 24), note="", user=w.staff_a)

    with pytest.raises(ValidationError) as refused:
        services.finding_verify(finding=finding, passed=True, closed_on=D(2018, 12, 28), note="", user=w.inspector)

    assert "没有上传整改照片，不能销号" in refused.value.message_dict["passed"][0]
    finding.refresh_from_db()
    assert finding.state == FindingState.RECTIFIED and finding.closed_on is None and finding.closed_by is None


def test_the_verification_page_shows_the_photos_or_says_why_it_cannot_close(client, w):
    without = find(w)
    services.finding_rectified(finding=without, rectified_on=D(2018, 12, 24), note="", user=w.staff_a)
    url = reverse("inspections:finding_verify", args=[without.pk])
    client.force_login(w.inspector)

    page = html_of(client.get(url))
    assert "报告整改完成时没有上传整改照片：不能销号，只能退回整改。" in page
    assert "报告整改完成时没有上传整改照片" in html_of(client.get(without.get_absolute_url()))
    refused = client.post(url, {"passed": "yes", "closed_on": "2018-12-28"})
    assert refused.status_code == 200
    assert refused.context["form"].errors["passed"] == [
        "该问题报告整改完成时没有上传整改照片，不能销号。"
        "请选择“不通过，退回整改”，由责任乡镇（街道）补充现场照片后重新报告整改完成。"
    ]
    without.refresh_from_db()
    assert without.state == FindingState.RECTIFIED

    with_photos = find(w)
    services.finding_rectified(
        finding=with_photos, rectified_on=D(2018, 12, 27), note="", photos=evidence.photos(), user=w.staff_a
    )
    photo = FindingPhoto.objects.get(finding=with_photos)
    page = html_of(client.get(reverse("inspections:finding_verify", args=[with_photos.pk])))
    assert reverse("inspections:finding_photo", args=[with_photos.pk, photo.pk]) in page
    assert "逾期完成：整改完成日期 2018-12-27 晚于整改期限 2018-12-25。" in page
    assert "没有上传整改照片" not in page
    response = client.post(
        reverse("inspections:finding_verify", args=[with_photos.pk]), {"passed": "yes", "closed_on": "2018-12-28"}
    )
    assert response.status_code == 302
    with_photos.refresh_from_db()
    assert with_photos.state == FindingState.CLOSED and with_photos.completed_late


def test_a_completion_sent_back_needs_new_photos_before_close_off(client, w):
    finding = find(w)
    services.finding_rectified(
        finding=finding, rectified_on=D(2018, 12, 24), note="", photos=evidence.photos(), user=w.staff_a
    )
    services.finding_verify(finding=finding, passed=False, closed_on=D(2018, 12, 26), note="仍有杂物", user=w.inspector)
    returned = FindingPhoto.objects.get(finding=finding)
    assert returned.returned_at is not None

    # Reported again without photos (as a caller could): the returned photos do not count.
    services.finding_rectified(finding=finding, rectified_on=D(2018, 12, 27), note="", user=w.staff_a)
    with pytest.raises(ValidationError, match="没有上传整改照片"):
        services.finding_verify(finding=finding, passed=True, closed_on=D(2018, 12, 28), note="", user=w.inspector)
    client.force_login(w.inspector)
    page = html_of(client.get(finding.get_absolute_url()))
    assert 'id="returned-photos"' in page and 'id="completion-photos"' not in page

"""Field entry without signal, in real Chromium with Playwright's offline emulation (docs/offline.md):
a rectification with a photo saved offline arrives once when the signal returns; a second tab does
not send it again; a unit changed meanwhile is a conflict shown to the user, not lost; 20 queued
records with photos are sent on reconnect without a duplicate; pages opened before open offline."""

import datetime
import time

import pytest
from django.core.signals import request_started
from django.urls import reverse

from enterprises.models import Enterprise, Rectification, RectificationPhoto
from enterprises.services import unit_update
from fieldsync.models import SubmissionKey
from inspections.models import Finding, FindingPhoto, FindingState
from tests.enterprises.test_photos import make_image_bytes
from tests.factories import make_unit
from tests.fieldsync.conftest import TODAY, age, build_world

PASSWORD = "lixian-tianbao-2018"
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def field(transactional_db, frozen_today, settings, tmp_path):
    frozen_today(TODAY)
    settings.MEDIA_ROOT = tmp_path / "media"
    world = build_world()
    world.staff.set_password(PASSWORD)
    world.staff.save()
    world.photo = tmp_path / "现场.jpg"
    world.photo.write_bytes(make_image_bytes())
    return world


@pytest.fixture
def phone(browser, live_server):
    """A phone's browser: one context (its storage, its service worker), opened pages, offline switch."""
    from tests.browser.conftest import PageWatch

    context = browser.new_context(viewport=PHONE, locale="zh-CN", base_url=live_server.url, is_mobile=True)
    watches = []
    # The rectification posts that reached the server, from a page or from the service worker.
    posts = []

    def arrived(sender, environ, **kwargs):
        if environ["REQUEST_METHOD"] == "POST" and "/rectify/" in environ["PATH_INFO"]:
            posts.append(environ["PATH_INFO"])

    request_started.connect(arrived)

    def new_page():
        page = context.new_page()
        watch = PageWatch(live_server.url)
        page.on("console", watch.on_console)
        page.on("pageerror", lambda exc: watch.console_errors.append(str(exc)))
        page.on("request", watch.on_request)
        watches.append(watch)
        return page

    context.new_phone_page = new_page
    context.rectify_posts = posts
    yield context
    context.close()
    request_started.disconnect(arrived)
    for watch in watches:
        assert watch.outside_requests == [], watch.outside_requests
        assert watch.csp_violations == [], watch.csp_violations


def login(page):
    page.goto("/accounts/login/")
    page.fill("input[name=username]", "dongcheng")
    page.fill("input[name=password]", PASSWORD)
    page.press("input[name=password]", "Enter")
    page.wait_for_load_state("networkidle")
    assert "/accounts/login/" not in page.url, "login failed"


def installed(page):
    """Wait until the service worker controls the page (it claims its clients on activation) and,
    for a signed-in user, has kept the queue page for reading offline."""
    page.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=15000)
    if page.get_attribute('meta[name="fieldsync"]', "data-user"):
        for _ in range(100):
            if page.evaluate("caches.match('/fieldsync/queue/', {ignoreVary: true}).then(Boolean)"):
                return
            page.wait_for_timeout(100)
        raise AssertionError("the queue page was not kept for offline use")


def queue_entries(page):
    return page.evaluate("FieldsyncQueue.all()")


def fill_rectification(page, photo, note="现场已关停"):
    page.check("input[name=method][value=closed]")
    page.fill("input[name=rectified_on]", "2018-06-20")
    page.fill("textarea[name=note]", note)
    page.set_input_files("input[name=photos]", str(photo))


def wait_sent(page, count=1, timeout=30000):
    page.wait_for_function(
        "n => window.FieldsyncPage && FieldsyncPage.counts.sent >= n",
        arg=count,
        timeout=timeout,
    )


def change_unit(unit, user):
    current = Enterprise.objects.get(pk=unit.pk)
    version = current.version
    current.address = "解放路 9 号（已搬迁）"
    unit_update(enterprise=current, version=version, user=user)


# --- one record, saved offline ------------------------------------------------------------------


def test_a_rectification_saved_offline_arrives_once_when_the_signal_returns(field, phone, screenshot):
    page = phone.new_phone_page()
    login(page)
    url = reverse("enterprises:rectify", args=[field.unit.pk])
    page.goto(url)
    installed(page)

    phone.set_offline(True)
    fill_rectification(page, field.photo)
    page.click("form[data-offline] button[type=submit]")

    page.wait_for_selector("#fieldsync-saved")
    assert "已保存在本机" in page.inner_text("#fieldsync-saved")
    assert page.url.endswith("/fieldsync/queue/#saved")
    assert page.inner_text("#fieldsync-badge .fieldsync-count") == "1"
    [entry] = queue_entries(page)
    assert entry["status"] == "pending" and entry["photos"] == 1
    assert not Rectification.objects.exists()
    assert phone.rectify_posts == []  # nothing was even tried without signal

    phone.set_offline(False)
    wait_sent(page)

    saved = Rectification.objects.get(enterprise=field.unit)
    assert saved.note == "现场已关停"
    assert RectificationPhoto.objects.filter(rectification=saved).count() == 1
    assert SubmissionKey.objects.get().key == entry["key"]
    assert page.is_hidden("#fieldsync-badge")
    # Sent once; the page being reloaded sends nothing more.
    page.reload()
    page.wait_for_load_state("networkidle")
    assert len(phone.rectify_posts) == 1
    assert Rectification.objects.count() == 1


def test_a_second_tab_open_at_the_same_time_does_not_send_it_twice(field, phone):
    first = phone.new_phone_page()
    login(first)
    first.goto(reverse("enterprises:rectify", args=[field.unit.pk]))
    installed(first)
    second = phone.new_phone_page()
    second.goto(reverse("fieldsync:queue"))

    phone.set_offline(True)
    fill_rectification(first, field.photo)
    first.click("form[data-offline] button[type=submit]")
    first.wait_for_selector("#fieldsync-saved")
    # The other tab sees the record waiting (the tabs tell each other).
    second.wait_for_selector("[data-group=pending] [data-status=pending]")

    # Both tabs see the signal return at the same moment and both start sending.
    phone.set_offline(False)
    wait_sent(first)
    wait_sent(second)
    second.wait_for_selector("[data-group=sent] [data-status=sent]")

    assert len(phone.rectify_posts) == 1, phone.rectify_posts
    assert Rectification.objects.count() == 1
    assert SubmissionKey.objects.count() == 1


def test_a_findings_completion_saved_offline_arrives_once(field, phone):
    page = phone.new_phone_page()
    login(page)
    page.goto(reverse("inspections:finding_rectified", args=[field.finding.pk]))
    installed(page)

    phone.set_offline(True)
    page.fill("input[name=rectified_on]", "2018-06-24")
    page.fill("textarea[name=note]", "消防通道已清理")
    page.set_input_files("input[name=photos]", str(field.photo))
    page.click("form[data-offline] button[type=submit]")
    page.wait_for_selector("#fieldsync-saved")
    assert "报告整改完成：" in page.inner_text("[data-group=pending]")
    assert Finding.objects.get(pk=field.finding.pk).state == FindingState.OPEN

    phone.set_offline(False)
    wait_sent(page)

    finding = Finding.objects.get(pk=field.finding.pk)
    assert (finding.state, finding.rectification_note) == (FindingState.RECTIFIED, "消防通道已清理")
    assert FindingPhoto.objects.filter(finding=finding).count() == 1
    assert SubmissionKey.objects.count() == 1


def test_a_record_kept_past_the_end_of_the_session_is_sent_after_the_next_login(field, phone):
    page = phone.new_phone_page()
    login(page)
    page.goto(reverse("enterprises:rectify", args=[field.unit.pk]))
    installed(page)
    phone.set_offline(True)
    fill_rectification(page, field.photo)
    page.click("form[data-offline] button[type=submit]")
    page.wait_for_selector("#fieldsync-saved")

    # The session ends while the phone is without signal (30 minutes idle).
    phone.clear_cookies()
    phone.set_offline(False)

    page.wait_for_selector("text=登录已过期：请重新登录，登录后自动发送。")
    assert [e["status"] for e in queue_entries(page)] == ["pending"]
    assert not Rectification.objects.exists()

    login(page)
    wait_sent(page)
    assert Rectification.objects.filter(enterprise=field.unit).count() == 1
    assert SubmissionKey.objects.count() == 1


# --- a conflict -----------------------------------------------------------------------------------


def test_a_unit_changed_meanwhile_is_a_conflict_shown_to_the_user_and_not_lost(field, phone, screenshot):
    page = phone.new_phone_page()
    login(page)
    page.goto(reverse("enterprises:rectify", args=[field.unit.pk]))
    installed(page)

    phone.set_offline(True)
    fill_rectification(page, field.photo, note="拆除了违章棚屋")
    page.click("form[data-offline] button[type=submit]")
    page.wait_for_selector("#fieldsync-saved")
    # Meanwhile a colleague, who has signal, edits the unit.
    change_unit(field.unit, field.colleague)

    phone.set_offline(False)
    page.goto(reverse("fieldsync:queue"))
    item = page.wait_for_selector("[data-group=conflict] [data-status=conflict]")
    assert "该记录已被他人修改" in item.inner_text()
    assert page.inner_text("#fieldsync-badge .fieldsync-count") == "1"
    assert not Rectification.objects.exists()
    assert not SubmissionKey.objects.exists()
    screenshot(page, "offline-queue-conflict-phone")

    # Opened again: the form filled in as it was saved (the photo too), with the server's reason.
    page.click("[data-status=conflict] [data-action=open]")
    page.wait_for_selector("#fieldsync-reopened")
    assert "该记录已被他人修改" in page.inner_text("#fieldsync-reopened")
    assert page.input_value("textarea[name=note]") == "拆除了违章棚屋"
    assert page.is_checked("input[name=method][value=closed]")
    assert page.eval_on_selector("input[name=photos]", "input => input.files.length") == 1
    screenshot(page, "offline-conflict-reopened-phone")

    page.click("form[data-offline] button[type=submit]")
    page.wait_for_url(f"**{field.unit.get_absolute_url()}")
    assert "已登记“宏达五金厂”的整治情况" in page.inner_text(".messages")
    # The queue learns it went through: its key is found applied, nothing is written twice.
    wait_sent(page)
    saved = Rectification.objects.get(enterprise=field.unit)
    assert saved.note == "拆除了违章棚屋"
    assert saved.photos.count() == 1
    assert [e["status"] for e in queue_entries(page)] == ["sent"]
    assert Rectification.objects.count() == 1 and SubmissionKey.objects.count() == 1


def test_a_conflict_can_be_discarded_and_nothing_is_sent(field, phone):
    page = phone.new_phone_page()
    login(page)
    page.goto(reverse("enterprises:rectify", args=[field.unit.pk]))
    installed(page)
    phone.set_offline(True)
    fill_rectification(page, field.photo)
    page.click("form[data-offline] button[type=submit]")
    page.wait_for_selector("#fieldsync-saved")
    change_unit(field.unit, field.colleague)
    phone.set_offline(False)
    page.goto(reverse("fieldsync:queue"))
    page.wait_for_selector("[data-status=conflict]")

    page.once("dialog", lambda dialog: dialog.accept())
    page.click("[data-status=conflict] [data-action=discard]")

    page.wait_for_selector(".fieldsync-empty")
    assert queue_entries(page) == []
    assert not Rectification.objects.exists()


# --- many records, and pages opened offline -------------------------------------------------------


def test_twenty_records_with_photos_saved_offline_are_sent_on_reconnect_without_a_duplicate(field, phone, screenshot):
    units = [make_unit(field.town, datetime.date(2018, 5, 3), name=f"离线单位{i:02d}") for i in range(20)]
    age(field)
    page = phone.new_phone_page()
    login(page)
    page.goto(reverse("fieldsync:queue"))
    installed(page)
    # Opened once with signal: the service worker keeps each page for later.
    for unit in units:
        page.goto(reverse("enterprises:rectify", args=[unit.pk]))

    phone.set_offline(True)
    for i, unit in enumerate(units):
        page.goto(reverse("enterprises:rectify", args=[unit.pk]))  # from the phone, no signal
        assert unit.name in page.inner_text("main")
        fill_rectification(page, field.photo, note=f"第{i + 1}条离线记录")
        page.click("form[data-offline] button[type=submit]")
        page.wait_for_selector("#fieldsync-saved")
    page.goto(reverse("fieldsync:queue"))  # opened before too
    page.wait_for_selector("[data-group=pending]")
    assert page.inner_text("#fieldsync-badge .fieldsync-count") == "20"
    assert len(page.query_selector_all("[data-group=pending] [data-status=pending]")) == 20
    screenshot(page, "offline-queue-waiting-phone")
    assert not Rectification.objects.exists()

    started = time.perf_counter()
    phone.set_offline(False)
    page.evaluate("FieldsyncPage.flush()")  # as the online event does; either may run first
    wait_sent(page, 20, timeout=120000)
    print(f"20 queued records with photos sent in {time.perf_counter() - started:.1f} s")

    assert Rectification.objects.count() == 20
    assert sorted(Rectification.objects.values_list("enterprise_id", flat=True)) == sorted(u.pk for u in units)
    assert RectificationPhoto.objects.count() == 20
    assert SubmissionKey.objects.count() == 20
    assert len(phone.rectify_posts) == 20
    page.reload()
    page.wait_for_selector("[data-group=sent]")
    screenshot(page, "offline-queue-sent-phone")


def test_a_page_never_opened_shows_the_offline_page_with_the_queue(field, phone, screenshot):
    page = phone.new_phone_page()
    login(page)
    page.goto(reverse("fieldsync:queue"))
    installed(page)

    phone.set_offline(True)
    page.goto(reverse("enterprises:rectify", args=[field.second.pk]))

    assert page.inner_text("h1") == "当前没有网络信号"
    page.wait_for_selector(".fieldsync-empty")
    screenshot(page, "offline-fallback-phone")


def test_the_manifest_makes_the_site_installable(field, phone):
    page = phone.new_phone_page()
    page.goto("/accounts/login/")
    href = page.get_attribute("link[rel=manifest]", "href")
    manifest = page.evaluate("url => fetch(url).then(r => r.json())", href)
    assert (manifest["name"], manifest["display"], manifest["lang"]) == ("四无整治督考平台", "standalone", "zh-CN")
    for icon in manifest["icons"]:
        size = page.evaluate(
            """src => new Promise(ok => {
                const i = new Image();
                i.onload = () => ok([i.naturalWidth, i.naturalHeight]);
                i.src = src;
            })""",
            icon["src"],
        )
        assert f"{size[0]}x{size[1]}" == icon["sizes"]
    installed(page)

"""The demo city's inspections (called by demo.city.seed_demo): a year of the loop in motion.

Each township is inspected once a quarter (明察暗访, 随机抽查 or 回头看 in turn) by one of the city's
teams; some inspections find problems, most of which are rectified and closed off within their
deadline while a few are left overdue; the relapses already in the demo register get the look-back
finding that found them; there is one cross-inspection round and look-back samples in the summer.
Nothing here changes what the progress report counts: no unit is created, rectified or re-opened.
Deterministic for a seed (no clock, no unseeded randomness).
"""

import datetime
import io
import random
from functools import cache

from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from campaign.models import Township
from enterprises.models import Enterprise, Method, Relapse
from enterprises.photos import clean_photo
from inspections import services
from inspections.models import Finding, FindingKind, Kind, Lookback, Severity

TEAMS = ("市整治办督查组", "市市场监管局", "市应急管理局", "市生态环境局", "市综合执法局")
KINDS = (Kind.UNANNOUNCED, Kind.RANDOM, Kind.LOOKBACK)
NOT_DONE = ("关停后仍有设备未清除", "整改提升项目未验收", "现场仍有原料堆放", "消防设施未配齐")
OTHER = ("台账信息与现场不符", "整治照片缺失", "联系电话错误", "未落实网格巡查记录")
RELAPSE_FINDINGS = 40  # demo relapses that get the look-back finding which found them
SAMPLED_TOWNSHIPS = 4
YEAR_END = datetime.date(2018, 12, 31)


def seed_inspections(campaign, *, seed):
    rng = random.Random(seed)  # noqa: S311 - demo data, reproducible by design
    users = {u.username: u for u in get_user_model().objects.filter(username__in=["inspector", "chengguan", "admin"])}
    inspector, staff = users.get("inspector"), users.get("chengguan")
    townships = list(Township.objects.filter(is_active=True).order_by("sort_order", "name"))
    count = 0
    for quarter in range(4):
        for index, township in enumerate(townships):
            day = datetime.date(2018, quarter * 3 + 1 + index % 3, 5 + (index * 7 + quarter * 3) % 20)
            count += _inspect(rng, campaign, township, day, KINDS[(index + quarter) % 3], inspector, staff)
    _relapse_findings(rng, inspector)
    services.cross_round_create(
        campaign=campaign,
        name="2018年第二季度交叉督查",
        held_on=datetime.date(2018, 5, 14),
        ends_on=datetime.date(2018, 5, 25),
        townships=townships,
        seed=seed,
        user=users.get("admin"),
    )
    _lookbacks(rng, campaign, townships[:SAMPLED_TOWNSHIPS], inspector, seed)
    return count


def _inspect(rng, campaign, township, day, kind, inspector, staff):
    units = list(
        Enterprise.objects.alive()
        .filter(township=township, identified_on__lte=day)
        .order_by("id")
        .values_list("id", flat=True)
    )
    if not units:
        return 0
    checked = Enterprise.objects.filter(pk__in=rng.sample(units, min(4, len(units))))
    inspection = services.inspection_record(
        kind=kind,
        inspected_on=day,
        team=rng.choice(TEAMS),
        township=township,
        units=list(checked),
        present=f"{township.name}分管负责人、整治办工作人员",
        notes="现场检查台账和整治现场。",
        user=inspector,
    )
    for unit in list(checked)[: rng.choice((0, 1, 1, 2))]:
        rectified = unit.rectifications.filter(rectified_on__lte=day, deleted_at__isnull=True).exclude(
            reopened_on__lte=day
        )
        kind = FindingKind.NOT_DONE if rectified.exists() else FindingKind.OTHER
        finding = services.finding_record(
            inspection=inspection,
            kind=kind,
            description=rng.choice(NOT_DONE if kind == FindingKind.NOT_DONE else OTHER),
            deadline=day + datetime.timedelta(days=15),
            severity=Severity.SERIOUS if rng.random() < 0.1 else Severity.NORMAL,
            enterprise=unit,
            user=inspector,
        )
        if finding.deadline < datetime.date(2018, 11, 1) and rng.random() < 0.85:
            _close(rng, finding, staff if township.name == "城关镇" else None, inspector)
    return 1


@cache
def _site_photo():
    """The evidence a demo completion is reported with (close-off needs a photo): one plain picture."""
    out = io.BytesIO()
    Image.new("RGB", (640, 480), (96, 128, 96)).save(out, "JPEG")
    return clean_photo(SimpleUploadedFile("demo.jpg", out.getvalue(), "image/jpeg"))


def _close(rng, finding, staff, inspector):
    done = finding.deadline - datetime.timedelta(days=rng.randrange(0, 10))
    services.finding_rectified(
        finding=finding, rectified_on=max(done, finding.found_on), note="已整改到位", photos=[_site_photo()], user=staff
    )
    services.finding_verify(
        finding=finding,
        passed=True,
        closed_on=max(done, finding.found_on) + datetime.timedelta(days=rng.randrange(1, 6)),
        note="复查属实，予以销号",
        user=inspector,
    )


def _relapse_findings(rng, inspector):
    """The demo register's relapses, each with the 回头看 finding that found it (linked, not re-recorded)."""
    relapses = Relapse.objects.filter(deleted_at__isnull=True).select_related("enterprise__township")
    for relapse in relapses.order_by("found_on", "id")[:RELAPSE_FINDINGS]:
        unit = relapse.enterprise
        inspection = services.inspection_record(
            kind=Kind.LOOKBACK,
            inspected_on=relapse.found_on,
            team=rng.choice(TEAMS),
            township=unit.township,
            units=[unit],
            user=inspector,
        )
        finding = Finding(
            inspection=inspection,
            enterprise=unit,
            township=unit.township,
            kind=FindingKind.RELAPSE,
            description=relapse.note or "回头看发现死灰复燃",
            found_on=relapse.found_on,
            deadline=relapse.found_on + datetime.timedelta(days=15),
            relapse=relapse,
            created_by=inspector,
        )
        services.attribute(finding, inspector).save(force_insert=True)
        again = unit.rectifications.filter(rectified_on__gt=relapse.found_on, deleted_at__isnull=True).first()
        if again is not None and again.rectified_on <= YEAR_END:
            services.finding_rectified(
                finding=finding, rectified_on=again.rectified_on, note="已再次整治", photos=[_site_photo()], user=None
            )
            services.finding_verify(
                finding=finding, passed=True, closed_on=again.rectified_on, note="复查属实", user=inspector
            )


def _lookbacks(rng, campaign, townships, inspector, seed):
    for number, township in enumerate(townships):
        draw = services.lookback_draw(
            campaign=campaign, township=township, as_of=datetime.date(2018, 6, 30), seed=seed + number, user=inspector
        )
        for lookback in Lookback.objects.filter(draw=draw).select_related("rectification").order_by("id"):
            if rng.random() < 0.2:
                continue  # still to be checked
            day = datetime.date(2018, 7, 2) + datetime.timedelta(days=rng.randrange(0, 25))
            closed = lookback.rectification.method == Method.CLOSED
            checklist = {name: rng.random() > 0.03 for name in services.CHECKLIST_FIELDS} if closed else None
            services.lookback_check(
                lookback=lookback, checked_on=day, operating=False, checklist=checklist, note="", user=inspector
            )

"""The weekly notice (一周一通报) and the quarterly assessment (季度督考): their content and archive.

``notice_content(campaign, as_of, serial, ...)`` builds one JSON-able dict; the .docx, .xlsx and
printable HTML renderers (docx, xlsx, html in this package) read only that dict, so the
figures stored with an issued notice are exactly what its files show. ``notice_issue`` and
``assessment_freeze`` are the two writes: one transaction each, the campaign row locked so that
serial numbers are handed out one at a time. See docs/notices.md.
"""

import datetime
import functools
import hashlib
from collections import defaultdict
from decimal import Decimal
from importlib import import_module

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from campaign.models import BuiltIn, Campaign
from core.masking import mask_name, mask_phone
from enterprises.models import Enterprise, Rectification, Relapse
from inspections.models import Finding, Inspection, Kind

from .. import projection, rules
from ..counts import overdue_counts, token
from ..models import FORMATS, Assessment, Commitment, Notice, NoticeSettings
from ..progress import ReportError, _number, progress_report
from ..scorecard import frozen_card, has_indicators, is_decimal, lagging, last_frozen, scorecard

DOCUMENT_LANGUAGE = "zh-hans"  # a notice is an official Chinese document whatever the UI language
ONE_DAY = datetime.timedelta(days=1)
COLOUR_LABELS = {"green": "绿", "yellow": "黄", "red": "红"}


def _colour_label(colour):
    return _(COLOUR_LABELS[colour]) if colour in COLOUR_LABELS else "—"


def _day(value):
    return value.isoformat() if value else None


def _milestone(m):
    return None if m is None else {k: _number(v) for k, v in m.items()}


def _local_range(first, last):
    """Aware datetimes [first 00:00, last+1 00:00) in the project's time zone."""
    zone = timezone.get_current_timezone()
    start = datetime.datetime.combine(first, datetime.time.min, tzinfo=zone)
    end = datetime.datetime.combine(last + ONE_DAY, datetime.time.min, tzinfo=zone)
    return start, end


def next_serial(campaign):
    latest = Notice.objects.filter(campaign=campaign).order_by("-serial").values_list("serial", flat=True).first()
    return (latest or 0) + 1


def previous_notice(campaign, as_of):
    """The latest notice issued for a day before ``as_of``: ranks, colours and changes compare with it."""
    return Notice.objects.filter(campaign=campaign, as_of__lt=as_of).order_by("-as_of").first()


# --- the weekly notice ---------------------------------------------------------------------------


def _city(row, week):
    first, last = week
    return {
        "target": row.target,
        "rectified": row.rectified,
        "rate": _number(row.rate),
        "expected_rate": _number(row.expected_rate),
        "colour": row.colour,
        "colour_label": _colour_label(row.colour),
        "week_rectified": row.rectified_between(first, last),
        "week_identified": row.identified_between(first, last),
        "identified": row.identified,
        "open": row.open,
        "milestone_due": _milestone(row.milestone_due),
        "milestone_next": _milestone(row.milestone_next),
    }


def _township_rows(report, week, before):
    first, last = week
    rows = []
    for row in report.townships:
        was = before.get(row.township_id)
        previous_rank = was.get("rank") if was else None
        nxt = row.milestone_next
        rows.append(
            {
                "township_id": row.township_id,
                "name": row.name,
                "target": row.target,
                "week_rectified": row.rectified_between(first, last),
                "week_identified": row.identified_between(first, last),
                "rectified": row.rectified,
                "rate": _number(row.rate),
                "expected_rate": _number(row.expected_rate),
                "colour": row.colour,
                "colour_label": _colour_label(row.colour),
                "rank": row.rank,
                "previous_rank": previous_rank,
                # Places gained since the previous notice (positive = up); None when either is unranked.
                "rank_change": previous_rank - row.rank if previous_rank and row.rank else None,
                "open": row.open,
                "next_required": nxt["required"] if nxt else None,
                "shortfall": nxt["shortfall"] if nxt else None,
            }
        )
    return rows


def _red_list(rows, rule, previous):
    """(listed, watched): townships on the red list with the rule that put them there, and (under the
    two-notices rule) those red for the first time, who will be listed if still red next week."""
    listed, watched = [], []
    before = {r["township_id"]: r for r in previous.figures["townships"]} if previous else {}
    for row in rows:
        if row["colour"] != "red":
            continue
        figures = {"rate": row["rate"], "expected": row["expected_rate"]}
        entry = {"township_id": row["township_id"], "name": row["name"], "rate": row["rate"]}
        entry["expected_rate"] = row["expected_rate"]
        if rule == NoticeSettings.RedRule.THIS_WEEK:
            entry["reason"] = _("本期红色预警（完成率 %(rate)s%%，低于序时进度 %(expected)s%%）") % figures
        elif before.get(row["township_id"], {}).get("colour") == "red":
            entry["reason"] = _(
                "连续两期红色预警（第%(previous)s期及本期；本期完成率 %(rate)s%%，序时进度 %(expected)s%%）"
            ) % {
                "previous": previous.serial,
                **figures,
            }
        else:
            watched.append(entry | {"reason": _("本期首次红色预警，下期仍为红色将列入约谈名单")})
            continue
        entry["proposal"] = _("建议约谈%(name)s主要负责人") % {"name": row["name"]}
        listed.append(entry)
    return listed, watched


def _commitments(campaign, as_of):
    unmet = (
        Commitment.objects.unmet_on(as_of)
        .filter(interview__campaign=campaign)
        .select_related("interview__township")
        .order_by("due_on", "id")
    )
    return [
        {
            "township": c.interview.township.name,
            "held_on": _day(c.interview.held_on),
            "text": c.text,
            "due_on": _day(c.due_on),
            "days_late": (as_of - c.due_on).days,
            "follow_up": c.follow_up,
        }
        for c in unmet
    ]


def _inspections(as_of, week):
    first, last = week
    kinds = dict(
        Inspection.objects.filter(deleted_at__isnull=True, done=True, inspected_on__range=week)
        .values_list("kind")
        .annotate(n=Count("id"))
        .values_list("kind", "n")
    )
    unresolved = Q(closed_on__isnull=True) | Q(closed_on__gt=as_of)
    findings = (
        Finding.objects.alive()
        .filter(found_on__lte=as_of)
        .values("township_id", "township__name", "township__sort_order")
        .annotate(
            week=Count("id", filter=Q(found_on__gte=first)),
            open=Count("id", filter=unresolved),
        )
        .order_by("township__sort_order", "township__name")
    )
    overdue = overdue_counts(as_of)
    by_township = [
        {
            "name": f["township__name"],
            "week": f["week"],
            "open": f["open"],
            "overdue": overdue.get(f["township_id"], 0),
        }
        for f in findings
        if f["week"] or f["open"]
    ]
    relapses = (
        Relapse.objects.found_between(*week)
        .select_related("enterprise__township")
        .order_by("enterprise__township__sort_order", "found_on", "id")
    )
    return {
        "count": sum(kinds.values()),
        "kinds": [{"kind": str(k.label), "count": kinds[k.value]} for k in Kind if kinds.get(k.value)],
        "findings": by_township,
        "findings_week": sum(f["week"] for f in by_township),
        "findings_open": sum(f["open"] for f in by_township),
        "findings_overdue": sum(f["overdue"] for f in by_township),
        "relapses": [
            {
                "township": r.enterprise.township.name,
                "unit": r.enterprise.name,
                "owner": mask_name(r.enterprise.owner),
                "phone": mask_phone(r.enterprise.phone),
                "found_on": _day(r.found_on),
            }
            for r in relapses
        ],
    }


def _late_entries(week, late_days):
    """补录: rectifications entered during the notice week more than ``late_days`` after their date."""
    since, until = _local_range(*week)
    entered = (
        Rectification.objects.alive()
        .filter(created_at__gte=since, created_at__lt=until)
        .select_related("enterprise__township")
        .order_by("enterprise__township__sort_order", "rectified_on", "id")
    )
    late = []
    for r in entered:
        entered_on = timezone.localtime(r.created_at).date()
        days = (entered_on - r.rectified_on).days
        if days > late_days:
            late.append(
                {
                    "township": r.enterprise.township.name,
                    "unit": r.enterprise.name,
                    "owner": mask_name(r.enterprise.owner),
                    "phone": mask_phone(r.enterprise.phone),
                    "method": str(r.get_method_display()),
                    "rectified_on": _day(r.rectified_on),
                    "entered_on": _day(entered_on),
                    "days_late": days,
                }
            )
    return late


def _reasons_since(previous):
    """{township_id: [reason, …]}: what was recorded after ``previous`` was issued, dated on or before its day.

    Read from the history tables, so a rectification withdrawn since is seen as well as one added.
    """
    issued_at, day = previous.issued_at, previous.as_of
    # Keyed by township (joined through the unit) so that no per-unit lookup follows.
    tally = defaultdict(lambda: defaultdict(set))
    rectifications = Rectification.history.filter(history_date__gt=issued_at, rectified_on__lte=day)
    for row in rectifications.values("id", "enterprise__township_id", "history_type", "deleted_at").order_by():
        if row["history_type"] == "+":
            tally[row["enterprise__township_id"]]["added"].add(row["id"])
        elif row["deleted_at"] is not None and row["deleted_at"] > issued_at:
            tally[row["enterprise__township_id"]]["withdrawn"].add(row["id"])
    relapses = Relapse.history.filter(history_date__gt=issued_at, found_on__lte=day)
    for row in relapses.values("id", "enterprise__township_id", "history_type", "deleted_at").order_by():
        if row["history_type"] == "+":
            tally[row["enterprise__township_id"]]["relapsed"].add(row["id"])
        elif row["deleted_at"] is not None and row["deleted_at"] > issued_at:
            tally[row["enterprise__township_id"]]["relapse_withdrawn"].add(row["id"])
    units = Enterprise.history.filter(history_date__gt=issued_at, history_type="~")
    for row in units.values("id", "township_id").order_by():
        tally[row["township_id"]]["unit_changed"].add(row["id"])
    counts = {township_id: {kind: len(ids) for kind, ids in kinds.items()} for township_id, kinds in tally.items()}
    labels = {
        "added": _("补录整治 %(n)s 条（完成日期在该期截止日前）"),
        "withdrawn": _("撤回整治 %(n)s 条"),
        "relapsed": _("补录死灰复燃 %(n)s 条"),
        "relapse_withdrawn": _("撤回死灰复燃 %(n)s 条"),
    }
    reasons = {}
    for township_id, kinds in counts.items():
        reasons[township_id] = [labels[k] % {"n": n} for k, n in kinds.items() if k in labels]
        if not reasons[township_id] and kinds.get("unit_changed"):
            reasons[township_id] = [_("单位信息更正 %(n)s 家") % {"n": kinds["unit_changed"]}]
    return reasons


def _changes(campaign, previous):
    """Townships whose figures for the previous notice's day differ today from what it published, and why."""
    if previous is None:
        return None
    now = progress_report(campaign, previous.as_of)
    was = {r["township_id"]: r for r in previous.figures["townships"]}
    reasons = _reasons_since(previous)
    changed = []
    for row in now.townships:
        before = was.get(row.township_id)
        old = (before["rectified"], before["target"]) if before else (0, 0)
        if old == (row.rectified, row.target):
            continue
        changed.append(
            {
                "name": row.name,
                "rectified_then": old[0],
                "rectified_now": row.rectified,
                "rate_then": before["rate"] if before else None,
                "rate_now": _number(row.rate),
                "reasons": reasons.get(row.township_id) or [_("其他数据更正")],
            }
        )
    return {
        "serial": previous.serial,
        "as_of": _day(previous.as_of),
        "city_then": previous.figures["city"]["rectified"],
        "city_now": now.city.rectified,
        "townships": changed,
    }


def _chart(report):
    row, campaign = report.city, report.campaign
    return {
        "actual": [
            [_day(d), n]
            for d, n in projection.cumulative_series(
                row.counts.rectified, row.counts.reopened, campaign.start, report.as_of
            )
        ],
        "steps": [[_day(d), _number(p), n] for d, p, n in projection.milestone_steps(row.target, report.milestones)],
        "expected": [
            [_day(d), float(v)] for d, v in projection.expected_line(campaign.start, row.target, report.milestones)
        ],
        "start": _day(campaign.start),
        "end": _day(campaign.end),
    }


# The 加法 side's built-in indicators (SPEC 5) in the order the notice prints them. Parks completed
# by count and land supplied have no indicator (so no target): the section leaves them out.
ADDITION_KEYS = (
    BuiltIn.PARKS_STARTED,
    BuiltIn.PARK_STARTED_MU,
    BuiltIn.PARK_COMPLETED_M2,
    BuiltIn.PARK_ENTRIES,
    BuiltIn.INDIVIDUAL_TO_COMPANY,
    BuiltIn.LAND_FREED_MU,
)


def _addition(card, week):
    """The city's row of each 加法 indicator the campaign has with a target on the day: its value,
    this week's change, target, rate, expected rate, colour and the next milestone's shortfall."""
    cards = {indicator.key: indicator for indicator in card.indicators}
    rows = []
    for key in ADDITION_KEYS:
        found = cards.get(key)
        if found is None or not found.city.target:
            continue
        city, series = found.city, found.series[None]
        nxt = city.milestone_next
        rows.append(
            {
                "key": key,
                "name": found.name,
                "unit": found.unit,
                "decimals": is_decimal(key),
                "value": _number(city.value),
                "week": _number(city.value - series.at(week[0] - ONE_DAY)),
                "target": city.target,
                "rate": _number(city.rate),
                "expected_rate": _number(city.expected_rate),
                "colour": city.colour,
                "colour_label": _colour_label(city.colour),
                "next_date": nxt["date"] if nxt else None,
                "next_required": nxt["required"] if nxt else None,
                "shortfall": _number(nxt["shortfall"]) if nxt else None,
            }
        )
    return rows


def notice_content(campaign, as_of, serial, *, draft, issued_on=None, config=None):
    """Everything a notice shows, as plain JSON-able values (the archive of an issued notice)."""
    config = config or NoticeSettings.for_campaign(campaign)
    # The date the notice is signed with (成文日期): its week's as-of day, or the day it is issued.
    issued_on = config.dated_on(as_of, issued_on or timezone.localdate())
    with translation.override(DOCUMENT_LANGUAGE):
        version = token()  # one read of the counts' versions: the report's and the scorecard's
        report = progress_report(campaign, as_of, version=version)
        week = projection.this_week(as_of, campaign.start)
        previous = previous_notice(campaign, as_of)
        before = {r["township_id"]: r for r in previous.figures["townships"]} if previous else {}
        rows = _township_rows(report, week, before)
        red, watched = _red_list(rows, config.red_rule, previous)
        content = {
            "kind": "notice",
            "campaign": {"slug": campaign.slug, "name": campaign.name, "year": campaign.year},
            "serial": serial,
            "doc_number": config.doc_number(as_of.year, serial) if serial else "",
            "letterhead": _letterhead(config),
            "draft": draft,
            "office": config.office,
            "issued_on": _day(issued_on),
            "as_of": _day(as_of),
            "week": [_day(week[0]), _day(week[1])],
            "band": _number(Decimal(campaign.band)),
            "red_rule": config.red_rule,
            "red_rule_label": str(NoticeSettings.RedRule(config.red_rule).label),
            "late_days": config.late_days,
            "previous": {"serial": previous.serial, "as_of": _day(previous.as_of)} if previous else None,
            "city": _city(report.city, week),
            "townships": rows,
            "red_list": red,
            "red_watch": watched,
            "commitments": _commitments(campaign, as_of),
            "inspections": _inspections(as_of, week),
            "late_entries": _late_entries(week, config.late_days),
            "changes": _changes(campaign, previous),
            "chart": _chart(report),
        }
        # SPEC 5: the indicators beside the 四无 count, each naming its townships in red. Only a
        # campaign that has such indicators gets the key (a notice without them is as before).
        card = scorecard(campaign, as_of, version=version, report=report)
        if has_indicators(card):
            content["indicators_lagging"] = lagging(card)
        # The 加法 progress (parks, entries, freed land) against the city's targets: only the
        # built-in indicators the campaign has with a target; without any, no key and no section.
        addition = _addition(card, week)
        if addition:
            content["addition"] = addition
        return content


def draft_content(campaign, as_of, *, numbered=True):
    """A notice for ``as_of`` as it would be issued now: the next serial, marked as a draft.

    ``numbered=False`` for a day that cannot be issued: the draft promises no serial it would not get.
    """
    return notice_content(campaign, as_of, next_serial(campaign) if numbered else None, draft=True)


# --- rendering and archiving --------------------------------------------------------------------


@functools.lru_cache(maxsize=16)
def _stored_sha256(name):
    """SHA-256 of a stored letterhead. Each upload gets a new name (reports.models.letterhead_upload_to)
    and a stored file is never rewritten, so a name's hash is read once per process, not on every
    preview of the notice."""
    with default_storage.open(name, "rb") as file:
        return hashlib.sha256(file.read()).hexdigest()


def _letterhead(config):
    """Where the city's .docx template is kept and its SHA-256 (recorded in the archive), or None."""
    if not config.letterhead:
        return None
    return {"name": config.letterhead.name, "sha256": _stored_sha256(config.letterhead.name)}


def _letterhead_bytes(content):
    kept = content.get("letterhead")
    if not kept:
        return None
    with default_storage.open(kept["name"], "rb") as file:
        data = file.read()
    if hashlib.sha256(data).hexdigest() != kept["sha256"]:
        raise ReportError(_("公文模板在生成期间被更换，请重试"))
    return data


def render(content, fmt):
    """The bytes of ``content`` as .docx, .xlsx or the printable .html (reports.notices.<fmt>)."""
    if fmt not in FORMATS:
        raise ValueError(fmt)
    # Imported when needed: the .xlsx needs neither python-docx nor matplotlib (≈1 s to import).
    renderer = import_module(f"reports.notices.{fmt}").render
    with translation.override(DOCUMENT_LANGUAGE):
        if fmt == "docx":
            return renderer(content, letterhead=_letterhead_bytes(content))
        return renderer(content)


def _archive(record, content, name):
    saved = []
    try:
        for fmt in ("docx", "xlsx", "html"):
            data = render(content, fmt)
            getattr(record, fmt).save(f"{name}.{fmt}", ContentFile(data), save=False)
            saved.append(getattr(record, fmt))
            setattr(record, f"{fmt}_sha256", hashlib.sha256(data).hexdigest())
        record.save(force_insert=True)
    except BaseException:
        for field in saved:
            field.storage.delete(field.name)
        raise
    return record


def _lock(campaign):
    """Serialise issuing within a campaign: the next serial is read and used under this lock."""
    return Campaign.objects.select_for_update().get(pk=campaign.pk)


_UNREAD = object()


def issue_refusal(campaign, as_of, today, *, issued=_UNREAD):
    """Why the notice for ``as_of`` cannot be issued now (a message), or None when it can.

    The one rule the preview page (which then offers no button) and ``notice_issue`` both apply.
    ``issued``: the notice already issued for ``as_of`` (or None), when the caller has read it.
    """
    if not campaign.contains(as_of):
        return _("截至日期须在整治行动年度内")
    if as_of > today:
        return _("不能发布截至今天以后的通报")
    if issued is _UNREAD:
        issued = Notice.objects.filter(campaign=campaign, as_of=as_of).only("serial").first()
    if issued is not None:
        return _("截至 %(day)s 的通报已经发布（第%(serial)s期），不能重复发布") % {
            "day": as_of.isoformat(),
            "serial": issued.serial,
        }
    latest = Notice.objects.filter(campaign=campaign).order_by("-serial").only("serial", "as_of").first()
    if latest is not None and latest.as_of > as_of:
        return _("已发布截至 %(day)s 的第%(serial)s期，不能再发布更早日期的通报") % {
            "day": latest.as_of.isoformat(),
            "serial": latest.serial,
        }
    return None


@transaction.atomic
def notice_issue(*, campaign, as_of, user, today=None, expected_serial=None):
    """Issue the notice for ``as_of``: the next serial, its figures and files archived as they are now.

    ``expected_serial``: the serial the person confirmed on the preview; if another notice was issued
    meanwhile, the serial moved and nothing is issued.
    """
    today = today or timezone.localdate()
    campaign = _lock(campaign)
    refusal = issue_refusal(campaign, as_of, today)
    if refusal:
        raise ValidationError(refusal)
    serial = next_serial(campaign)
    if expected_serial is not None and expected_serial != serial:
        raise ValidationError(
            _("期号已变为第%(serial)s期（期间有其他通报发布），请重新预览核对后再发布") % {"serial": serial}
        )
    content = notice_content(campaign, as_of, serial, draft=False, issued_on=today)
    notice = Notice(campaign=campaign, serial=serial, as_of=as_of, issued_by=user, figures=content)
    return _archive(notice, content, "notice")


# --- the quarterly assessment --------------------------------------------------------------------


def _ranked(report):
    return {row.township_id: row.rank for row in report.townships}


def assessment_content(campaign, milestone_date, verdict, *, draft, issued_on=None, config=None):
    """季度督考 at a milestone: who met it, the ranking and its change since the previous milestone."""
    config = config or NoticeSettings.for_campaign(campaign)
    issued_on = config.dated_on(milestone_date, issued_on or timezone.localdate())
    dates = sorted(campaign.milestones.values_list("date", flat=True))
    if milestone_date not in dates:
        raise ReportError(_("%(day)s 不是该整治行动的节点日期") % {"day": milestone_date.isoformat()})
    with translation.override(DOCUMENT_LANGUAGE):
        version = token()
        report = progress_report(campaign, milestone_date, version=version)
        earlier = [d for d in dates if d < milestone_date]
        previous_day = earlier[-1] if earlier else None
        frozen = None
        if previous_day:
            frozen = Assessment.objects.filter(campaign=campaign, milestone_date=previous_day).first()
        if frozen is not None:
            before = {r["township_id"]: r["rank"] for r in frozen.figures["townships"]}
        elif previous_day is not None:
            before = _ranked(progress_report(campaign, previous_day))
        else:
            before = {}
        since = previous_day + ONE_DAY if previous_day else campaign.start
        rows = []
        for row in report.townships:
            due = row.milestone_due or {}
            was = before.get(row.township_id)
            rows.append(
                {
                    "township_id": row.township_id,
                    "name": row.name,
                    "target": row.target,
                    "required": due.get("required"),
                    "met": due.get("met"),
                    "rectified": row.rectified,
                    "quarter_rectified": row.rectified_between(since, milestone_date),
                    "rate": _number(row.rate),
                    "colour": row.colour,
                    "colour_label": _colour_label(row.colour),
                    "rank": row.rank,
                    "previous_rank": was,
                    "rank_change": was - row.rank if was and row.rank else None,
                    # SPEC 5's 赛马 score over the indicators in force: today the 四无 count alone.
                    "score": _number(rules.score([(row.rate, 1)])),
                }
            )
        # SPEC 5: the 赛马 scorecard of the milestone day, frozen with the assessment, with each
        # township's rank change against the previous frozen one. Only when the campaign ranks on
        # indicators beside the 四无 count; then a township's score is the scorecard's.
        card = scorecard(campaign, milestone_date, version=version, report=report)
        quarter_card = None
        if has_indicators(card):
            quarter_card = frozen_card(card, last_frozen(campaign, milestone_date, before=True))
            scores = {line["township_id"]: line["score"] for line in quarter_card["townships"]}
            for row in rows:
                row["score"] = scores.get(row["township_id"])
        city_due = report.city.milestone_due or {}
        percent = city_due.get("percent")
        content = {
            "kind": "assessment",
            "campaign": {"slug": campaign.slug, "name": campaign.name, "year": campaign.year},
            "score_cap": rules.SCORE_CAP,
            "letterhead": _letterhead(config),
            "draft": draft,
            "office": config.office,
            "issued_on": _day(issued_on),
            "milestone_date": _day(milestone_date),
            "percent": _number(percent),
            "previous_date": _day(previous_day),
            "city": {
                "target": report.city.target,
                "required": city_due.get("required"),
                "met": city_due.get("met"),
                "rectified": report.city.rectified,
                "quarter_rectified": report.city.rectified_between(since, milestone_date),
                "rate": _number(report.city.rate),
            },
            "townships": rows,
            "met": [r["name"] for r in rows if r["met"]],
            "not_met": [r["name"] for r in rows if r["met"] is False and r["target"]],
            "verdict": verdict,
            "chart": _chart(report),
        }
        if quarter_card is not None:
            content["score_cap"] = quarter_card["score_cap"]
            content["scorecard"] = quarter_card
        return content


@transaction.atomic
def assessment_freeze(*, campaign, milestone_date, verdict, user, today=None):
    today = today or timezone.localdate()
    campaign = _lock(campaign)
    if milestone_date > today:
        raise ValidationError(_("节点日期未到，不能考核"))
    if Assessment.objects.filter(campaign=campaign, milestone_date=milestone_date).exists():
        raise ValidationError(_("该节点的季度督考已经发布，不能重复发布"))
    try:
        content = assessment_content(campaign, milestone_date, verdict, draft=False, issued_on=today)
    except ReportError as exc:
        raise ValidationError(str(exc)) from None
    assessment = Assessment(
        campaign=campaign, milestone_date=milestone_date, verdict=verdict, issued_by=user, figures=content
    )
    return _archive(assessment, content, "assessment")

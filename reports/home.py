"""Each person's own first screen (我的工作台): what their role must look at and do, first.

* Township staff: their township's standing (rank and its change against the last weekly notice,
  colour, rate, the shortfall to the next milestone and the pace it needs, this week), then their
  to-do: findings to rectify (overdue first), look-backs falling due, reconciliations to confirm,
  interview commitments due, and indicators the scorecard has no record of this quarter.
* Inspectors: findings to verify, look-backs and cross-inspection rounds due, the follow-up
  inspections they scheduled and have not carried out.
* City leaders and admins: the red list, overdue findings by township, and what changed since the
  day before (rank, colour, units identified and rectified); admins also the reconciliations
  waiting for the city's confirmation and the messages the outbox could not deliver.

The standing is read as of the picked day, like every report page; the to-do lists are the work
open now, judged against today. Each list is one query reading a few columns of at most COUNTED + 1
rows in its order (an index serves it): its first items and its totals come from the same rows, so
a home costs a fixed number of queries however long the lists are (pinned in
tests/reports/test_home.py). ``badge_counts`` gives the navigation's badges.
"""

import datetime
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Exists, OuterRef, Subquery
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _

from campaign.models import BuiltIn, Indicator, IndicatorRecord
from core.access import Role, role_of, township_id_of
from inspections.models import (
    CrossRound,
    Finding,
    FindingKind,
    FindingState,
    Inspection,
    Kind,
    Lookback,
    LookbackResult,
    Reconciliation,
)
from notify.models import Delivery, State

from . import counts, projection
from .dashboard import Windows, last_notice, notice_movements, standing
from .models import Commitment
from .progress import progress_report

SHOWN = 8  # items listed per to-do; the list's own page holds the rest
COUNTED = 99  # a list's total is counted up to this, and shown as 99+ past it (as the badges are)


@dataclass(frozen=True)
class Item:
    """One line of a to-do list: what, the day that matters, where it is done."""

    what: str
    day: datetime.date | None
    url: str
    late: bool = False
    day_to: datetime.date | None = None  # the end of a period (a cross-inspection round)


@dataclass
class Todo:
    """One list of work on a home page: its first items, how many there are, where the rest are.
    ``when`` says what its items' day is (home.html words it: a deadline, a due day, a period…)."""

    key: str
    title: str
    when: str
    items: list
    total: int
    link: str
    late: int = 0  # how many of them are past their day (shown red)

    @property
    def more(self):
        return self.total > len(self.items)

    @property
    def total_text(self):
        return f"{COUNTED}+" if self.total > COUNTED else str(self.total)


def _listed(queryset, columns, make, *, late_on=None, today=None):
    """(first SHOWN items, total, late) of ``queryset`` in one query: the ``columns`` of at most
    COUNTED + 1 rows in the list's order (an index serves it), so a backlog of tens of thousands
    costs what a short list does; a total past COUNTED is shown as COUNTED+. ``make(row)`` makes an
    Item of a row (a dict of ``columns``); ``late_on``: the column whose day, before ``today``,
    makes a row late (the order puts late rows first, so they are counted exactly up to COUNTED)."""
    rows = list(queryset.values(*columns)[: COUNTED + 1])
    late = sum(1 for row in rows if row[late_on] < today) if late_on else 0
    return [make(row) for row in rows[:SHOWN]], len(rows), late


def _url(name, *args, **query):
    url = reverse(name, args=args)
    return f"{url}?{urlencode(query)}" if query else url


def _due_soon(today):
    return today + datetime.timedelta(days=settings.NOTIFY_DUE_DAYS)


# --- the to-do lists ------------------------------------------------------------------------------


def findings_to_rectify(township_id, today):
    """待整改 findings of a township, the earliest deadline first (the overdue ones lead)."""
    items, total, late = _listed(
        Finding.objects.alive().filter(township_id=township_id, state=FindingState.OPEN).order_by("deadline", "id"),
        ("id", "deadline", "kind", "enterprise__name"),
        lambda row: Item(
            f"{row['enterprise__name']} · {FindingKind(row['kind']).label}",
            row["deadline"],
            reverse("inspections:finding", args=[row["id"]]),
            late=row["deadline"] < today,
        ),
        late_on="deadline",
        today=today,
    )
    link = _url("inspections:findings", state=FindingState.OPEN)
    return Todo("findings", _("待整改的督查问题"), "deadline", items, total, link, late)


def lookbacks_due(today, township_id=None):
    """Pending look-backs due by a few days from today (the settings' NOTIFY_DUE_DAYS), earliest first."""
    found = Lookback.objects.filter(result=LookbackResult.PENDING, due_on__lte=_due_soon(today))
    if township_id is not None:
        found = found.filter(township_id=township_id)
    items, total, late = _listed(
        found.order_by("due_on", "id"),
        ("id", "due_on", "enterprise__name", "township__name"),
        lambda row: Item(
            row["enterprise__name"] if township_id else f"{row['enterprise__name']} · {row['township__name']}",
            row["due_on"],
            reverse("inspections:lookback", args=[row["id"]]),
            late=row["due_on"] < today,
        ),
        late_on="due_on",
        today=today,
    )
    link = _url("inspections:lookbacks", result=LookbackResult.PENDING)
    return Todo("lookbacks", _("到期的回头看"), "due", items, total, link, late)


def reconciliations_to_confirm(township_id=None):
    """Reconciliations waiting for the township's confirmation (``township_id``), or for the city's."""
    if township_id is not None:
        found = Reconciliation.objects.filter(township_id=township_id, township_confirmed_at__isnull=True)
        title = _("待确认的对账销号")
    else:
        found = Reconciliation.objects.filter(township_confirmed_at__isnull=False, city_confirmed_at__isnull=True)
        title = _("待市级确认的对账销号")
    items, total, _late = _listed(
        found.order_by("period_start", "township__name"),
        ("id", "period_start", "township__name"),
        lambda row: Item(
            row["township__name"], row["period_start"], reverse("inspections:reconciliation", args=[row["id"]])
        ),
    )
    return Todo("reconciliations", title, "period", items, total, _url("inspections:reconciliations"))


def commitments_due(township_id, today):
    """Interview commitments of a township not met yet, due within a few days or already late."""
    items, total, late = _listed(
        Commitment.objects.filter(
            interview__township_id=township_id, met_on__isnull=True, due_on__lte=_due_soon(today)
        ).order_by("due_on", "id"),
        ("due_on", "text", "interview_id"),
        lambda row: Item(
            row["text"],
            row["due_on"],
            reverse("notices:interview", args=[row["interview_id"]]),
            late=row["due_on"] < today,
        ),
        late_on="due_on",
        today=today,
    )
    return Todo("commitments", _("到期的约谈承诺"), "commitment", items, total, _url("notices:interviews"), late)


def records_missing(campaign, township_id, today):
    """The campaign's recorded indicators (not built in) with no record of the township this quarter."""
    quarter = projection.this_quarter(campaign.clamp(today), campaign.start)
    records = IndicatorRecord.objects.filter(indicator=OuterRef("pk"), township_id=township_id)
    # One query: per indicator (a handful), two lookups of its records by (indicator, township, date).
    found = (
        Indicator.objects.filter(campaign=campaign)
        .exclude(key__in=BuiltIn.values)
        .annotate(last_record=Subquery(records.order_by("-date").values("date")[:1]))
        .exclude(Exists(records.filter(date__range=quarter)))
        .order_by("id")
    )
    items, total, _late = _listed(
        found,
        ("key", "name", "last_record"),
        lambda row: Item(
            row["name"], row["last_record"], reverse("manage:indicator_records", args=[campaign.slug, row["key"]])
        ),
    )
    return Todo("records", _("本季度尚未填报的指标"), "recorded", items, total, _url("manage:records_home"))


def findings_to_verify():
    """已整改待验收 findings, the longest waiting first."""
    items, total, _late = _listed(
        Finding.objects.alive().filter(state=FindingState.RECTIFIED).order_by("rectified_on", "id"),
        ("id", "rectified_on", "enterprise__name", "township__name"),
        lambda row: Item(
            f"{row['enterprise__name']} · {row['township__name']}",
            row["rectified_on"],
            reverse("inspections:finding", args=[row["id"]]),
        ),
    )
    link = _url("inspections:findings", state=FindingState.RECTIFIED)
    return Todo("verify", _("待验收的整改"), "reported", items, total, link)


def rounds_due(campaign, today):
    """Cross-inspection rounds of the campaign in progress or starting within a few days."""
    items, total, _late = _listed(
        CrossRound.objects.filter(campaign=campaign, ends_on__gte=today, held_on__lte=_due_soon(today)).order_by(
            "held_on", "id"
        ),
        ("id", "name", "held_on", "ends_on"),
        lambda row: Item(
            row["name"], row["held_on"], reverse("inspections:round", args=[row["id"]]), day_to=row["ends_on"]
        ),
    )
    return Todo("rounds", _("进行中的交叉督查"), "range", items, total, _url("inspections:rounds"))


def inspections_scheduled(user, today):
    """Follow-up inspections the user scheduled and has not carried out yet."""
    items, total, late = _listed(
        Inspection.objects.filter(deleted_at__isnull=True, done=False, created_by=user).order_by("inspected_on", "id"),
        ("id", "inspected_on", "kind", "township__name"),
        lambda row: Item(
            f"{row['township__name']} · {Kind(row['kind']).label}",
            row["inspected_on"],
            reverse("inspections:detail", args=[row["id"]]),
            late=row["inspected_on"] < today,
        ),
        late_on="inspected_on",
        today=today,
    )
    return Todo("scheduled", _("我安排的未实施督查"), "planned", items, total, _url("inspections:list"), late)


# --- the homes ------------------------------------------------------------------------------------


@dataclass
class Change:
    """A township's day: its rank and colour yesterday and today, units identified and rectified."""

    row: object
    rank_before: int | None
    colour_before: str | None
    identified: int
    rectified: int

    @property
    def colour_changed(self):
        return self.colour_before != self.row.colour

    @property
    def rank_moved(self):
        """Places gained (positive) or lost since the day before, None when either day has no rank."""
        if self.rank_before is None or self.row.rank is None:
            return None
        return self.rank_before - self.row.rank

    @property
    def moved_text(self):
        moved = self.rank_moved
        if not moved:
            return ""
        return f"↑{moved}" if moved > 0 else f"↓{-moved}"


@dataclass
class Home:
    role: str
    as_of: datetime.date
    today: datetime.date
    todos: list = field(default_factory=list)
    context: dict = field(default_factory=dict)

    @property
    def open_items(self):
        return sum(todo.total for todo in self.todos)

    @property
    def cleared(self):
        """The lists with nothing in them: one line each, after the lists with work."""
        return [todo for todo in self.todos if not todo.total]


def township_home(campaign, as_of, today, township):
    """Township staff: the township's standing, then its to-do."""
    version = counts.token()
    report = progress_report(campaign, as_of, version=version)
    windows = Windows.of(campaign.start, as_of)
    row = report.row_for(township.pk)
    mine = None
    if row is not None:
        notice = last_notice(campaign, as_of)
        mine = notice_movements([standing(row, campaign.start, as_of, windows)], notice)[0]
    todos = [
        findings_to_rectify(township.pk, today),
        lookbacks_due(today, township.pk),
        reconciliations_to_confirm(township.pk),
        commitments_due(township.pk, today),
        records_missing(campaign, township.pk, today),
    ]
    return Home(
        Role.TOWNSHIP_STAFF,
        as_of,
        today,
        todos,
        {
            "township": township,
            "mine": mine,
            "ranked_count": sum(1 for r in report.townships if r.rank is not None),
            "overdue_today": counts.overdue_counts(as_of, version).get(township.pk, 0),
        },
    )


def inspector_home(campaign, as_of, today, user):
    todos = [
        findings_to_verify(),
        lookbacks_due(today),
        rounds_due(campaign, today),
        inspections_scheduled(user, today),
    ]
    return Home(Role.INSPECTOR, as_of, today, todos)


def changes_since_yesterday(campaign, report, version):
    """Each township's day against the day before (nothing on the campaign's first day)."""
    yesterday = report.as_of - datetime.timedelta(days=1)
    before = {}
    if campaign.contains(yesterday):
        before = {row.township_id: row for row in progress_report(campaign, yesterday, version=version).townships}
    changes = []
    for row in report.townships:
        prior = before.get(row.township_id)
        change = Change(
            row=row,
            rank_before=prior.rank if prior else None,
            colour_before=prior.colour if prior else row.colour,
            identified=row.identified_between(report.as_of, report.as_of),
            rectified=row.rectified_between(report.as_of, report.as_of),
        )
        if change.identified or change.rectified or change.colour_changed or change.rank_moved:
            changes.append(change)
    # What a leader must see first: a colour changed, then the largest moves, then the most work done.
    changes.sort(key=lambda c: (not c.colour_changed, -abs(c.rank_moved or 0), -c.rectified, c.row.name))
    return changes


def city_home(campaign, as_of, today, role):
    """City leaders and admins: who is red, who is overdue, what changed since yesterday."""
    version = counts.token()
    report = progress_report(campaign, as_of, version=version)
    overdue = counts.overdue_counts(as_of, version)
    by_id = {row.township_id: row for row in report.townships}
    todos = []
    context = {
        "city": report.city,
        "red": [row for row in report.townships if row.colour == "red"],
        "overdue": sorted(
            ((by_id[pk], n) for pk, n in overdue.items() if pk in by_id), key=lambda pair: (-pair[1], pair[0].name)
        ),
        "overdue_total": sum(overdue.values()),
        "changes": changes_since_yesterday(campaign, report, version),
        "ranked_count": sum(1 for r in report.townships if r.rank is not None),
    }
    if role == Role.CITY_ADMIN:
        todos.append(reconciliations_to_confirm())
        context["undelivered"] = Delivery.objects.filter(state=State.DEAD).count()
    return Home(role, as_of, today, todos, context)


def home_for(user, campaign, as_of, today):
    """The home of ``user``'s role, or None for a user without one."""
    role = role_of(user)
    if role == Role.TOWNSHIP_STAFF:
        profile = getattr(user, "profile", None)
        township = profile.township if profile is not None else None
        if township is None:
            return None
        return township_home(campaign, as_of, today, township)
    if role == Role.INSPECTOR:
        return inspector_home(campaign, as_of, today, user)
    if role in (Role.CITY_ADMIN, Role.CITY_VIEWER):
        return city_home(campaign, as_of, today, role)
    return None


# --- the navigation's badges ----------------------------------------------------------------------


def badge_counts(user, today):
    """{badge: count} for the navigation: the work waiting for the user (one query per badge).

    ``home``: everything on the user's to-do but the indicators not recorded this quarter (a list
    that needs the picked campaign; the badge is read on every page); ``inspections``: the part done
    on the 督查 pages (findings to rectify or verify, look-backs due, follow-ups scheduled). Counts of
    zero are left out. Each is counted up to COUNTED + 1 only, like the lists (the badge shows 99+):
    they are read on every page, and a backlog of tens of thousands must not cost its size each time."""
    role = role_of(user)
    found = {}
    if role == Role.TOWNSHIP_STAFF:
        township_id = township_id_of(user)
        if township_id is None:
            return {}
        findings = (
            Finding.objects.alive()
            .filter(township_id=township_id, state=FindingState.OPEN)
            .values("pk")[: COUNTED + 1]
            .count()
        )
        lookbacks = (
            Lookback.objects.filter(
                township_id=township_id, result=LookbackResult.PENDING, due_on__lte=_due_soon(today)
            )
            .values("pk")[: COUNTED + 1]
            .count()
        )
        rest = (
            Reconciliation.objects.filter(township_id=township_id, township_confirmed_at__isnull=True)
            .values("pk")[: COUNTED + 1]
            .count()
            + Commitment.objects.filter(
                interview__township_id=township_id, met_on__isnull=True, due_on__lte=_due_soon(today)
            )
            .values("pk")[: COUNTED + 1]
            .count()
        )
        found = {"inspections": findings + lookbacks, "home": findings + lookbacks + rest}
    elif role == Role.INSPECTOR:
        verify = Finding.objects.alive().filter(state=FindingState.RECTIFIED).values("pk")[: COUNTED + 1].count()
        lookbacks = (
            Lookback.objects.filter(result=LookbackResult.PENDING, due_on__lte=_due_soon(today))
            .values("pk")[: COUNTED + 1]
            .count()
        )
        scheduled = (
            Inspection.objects.filter(deleted_at__isnull=True, done=False, created_by=user)
            .values("pk")[: COUNTED + 1]
            .count()
        )
        found = {"inspections": verify + lookbacks + scheduled, "home": verify + lookbacks + scheduled}
    elif role == Role.CITY_ADMIN:
        waiting = (
            Reconciliation.objects.filter(township_confirmed_at__isnull=False, city_confirmed_at__isnull=True)
            .values("pk")[: COUNTED + 1]
            .count()
        )
        found = {"home": waiting}
    return {key: n for key, n in found.items() if n}

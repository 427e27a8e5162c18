"""What the inspection pages read: the scope of each reader and one entry point per list or detail page.

Scope: township staff read their own township's inspections and findings and, while a cross round
is in force, those of the cross inspections their township makes (``CrossAssignment.objects.in_force``);
everyone else reads through ``core.access.scope_queryset``. The page entry points bundle what a
page shows of each row (select_related, annotations, order), so a view gets the queryset, filters
and pages it, and renders; the query counts are pinned in tests/inspections/test_views_queries.py.
Every write is ``inspections.services``'.
"""

from django.db.models import Count, F, Q
from django.urls import reverse
from django.utils import timezone

from core.access import Role, role_of, scope_queryset, township_id_of
from enterprises.models import Enterprise

from .models import (
    LATE_COMPLETION,
    CrossAssignment,
    CrossRound,
    DefectClearance,
    Finding,
    FindingState,
    Inspection,
    Kind,
    Lookback,
    LookbackDraw,
    Reconciliation,
)

# --- scope ---------------------------------------------------------------------------------------


def _is_staff(user):
    return role_of(user) == Role.TOWNSHIP_STAFF


def _with_cross(user, base, assignment):
    """``base`` as ``user`` may read it: township staff their own township's rows and those reached
    (through ``assignment``) from the cross assignments their township inspects under today."""
    own = township_id_of(user)
    if _is_staff(user) and own:
        crossing = CrossAssignment.objects.in_force(timezone.localdate(), own)
        return base.filter(Q(township_id=own) | Q(**{f"{assignment}__in": crossing}))
    return scope_queryset(user, base)


def visible_inspections(user):
    """Inspections ``user`` may read: all for city roles and inspectors; for township staff their own
    township's and, while the round is on, the cross inspections their township makes."""
    return _with_cross(user, Inspection.objects.filter(deleted_at__isnull=True), "assignment")


def visible_findings(user):
    return _with_cross(user, Finding.objects.alive(), "inspection__assignment")


def current_assignments(user):
    """The cross assignments under which ``user``'s township inspects today (township staff only)."""
    if not _is_staff(user) or not township_id_of(user):
        return CrossAssignment.objects.none()
    return (
        CrossAssignment.objects.in_force(timezone.localdate(), township_id_of(user))
        .select_related("round", "inspected", "inspecting")
        .order_by("round__held_on", "pk")
    )


def assignment_in_force(user, assignment):
    """True when ``user`` is staff of the assignment's inspecting township and its round is on today."""
    if assignment is None or not _is_staff(user):
        return False
    in_force = CrossAssignment.objects.in_force(timezone.localdate(), township_id_of(user))
    return in_force.filter(pk=assignment.pk).exists()


# --- inspections ---------------------------------------------------------------------------------


def inspection_list(user):
    """The inspection list: (the inspections done, to filter and page; the planned follow-ups, in
    date order), each with its township, author, inspecting township and finding and unit counts."""
    inspections = visible_inspections(user).select_related("township", "created_by", "assignment__inspecting")
    inspections = inspections.annotate(
        finding_count=Count("findings", filter=Q(findings__deleted_at__isnull=True), distinct=True),
        unit_count=Count("units", distinct=True),
    )
    planned = inspections.filter(done=False).select_related("follow_up_of__enterprise").order_by("inspected_on", "pk")
    return inspections.filter(done=True), planned


def inspection_detail(user):
    """The inspections whose page ``user`` may open, with their township, author, round, inspecting
    township and the unit a follow-up follows."""
    return visible_inspections(user).select_related(
        "township", "created_by", "assignment__round", "assignment__inspecting", "follow_up_of__enterprise"
    )


def inspection_contents(inspection):
    """What an inspection's page lists: its units, site photos and findings (one query each)."""
    findings = inspection.findings.alive().select_related("enterprise", "township").order_by("deadline", "pk")
    return {
        "units": list(inspection.units.order_by("name", "pk")),
        "photos": list(inspection.photos.order_by("pk")),
        "findings": list(findings),
    }


# --- findings ------------------------------------------------------------------------------------


def finding_list(user):
    return visible_findings(user).select_related("enterprise", "township", "inspection")


def finding_counts(findings, today):
    """(the totals, one row per responsible township) of ``findings``: open, rectified, closed,
    overdue on ``today`` and completed late. One grouped query (ordering cleared, so the grouping
    is by township alone); the totals are the rows' sums."""
    figures = {
        "total": Count("id"),
        "open": Count("id", filter=Q(state=FindingState.OPEN)),
        "rectified": Count("id", filter=Q(state=FindingState.RECTIFIED)),
        "closed": Count("id", filter=Q(state=FindingState.CLOSED)),
        "overdue": Count("id", filter=Q(state=FindingState.OPEN, deadline__lt=today)),
        "late": Count("id", filter=LATE_COMPLETION),
    }
    by_township = list(
        findings.order_by()
        .values("township_id", "township__name", "township__sort_order")
        .annotate(**figures)
        .order_by("township__sort_order", "township__name")
    )
    return {name: sum(row[name] for row in by_township) for name in figures}, by_township


def finding_detail(user):
    return visible_findings(user).select_related(
        "enterprise__township",
        "township",
        "inspection__assignment",
        "created_by",
        "rectified_by",
        "closed_by",
        "relapse",
    )


def finding_contents(finding):
    """What a finding's page lists: its completion photos, follow-up inspections and history."""
    history = finding.history.select_related("history_user").order_by("-history_date", "-history_id")
    return {
        "photos": list(finding.photos.order_by("pk")),
        "follow_ups": list(finding.follow_ups.filter(deleted_at__isnull=True).order_by("inspected_on")),
        "history": list(history),
    }


# --- cross-inspection rounds ---------------------------------------------------------------------


def round_list():
    return (
        CrossRound.objects.select_related("campaign").annotate(pairs=Count("assignments")).order_by("-held_on", "-id")
    )


def round_detail(today):
    """The rounds with their campaign and author, and whether each is in force ``today``."""
    return CrossRound.objects.select_related("campaign", "created_by").with_in_force(today)


def round_assignments(round_):
    """A round's pairs in the inspecting townships' order, with their inspections and recorded reads counted."""
    assignments = round_.assignments.select_related("inspecting", "inspected").annotate(
        inspection_count=Count("inspections", filter=Q(inspections__deleted_at__isnull=True), distinct=True),
        access_count=Count("accesses", distinct=True),
    )
    return assignments.order_by("inspecting__sort_order", "inspecting__name")


def cross_assignment(pk):
    """The assignment ``pk`` with its round and both townships, or None."""
    return CrossAssignment.objects.select_related("round", "inspected", "inspecting").filter(pk=pk).first()


def _inspected_units(assignment):
    return Enterprise.objects.alive().filter(township=assignment.inspected).select_related("village")


def cross_units(assignment):
    """The inspected township's units with their village, by village and name (read-only while the round is on)."""
    return _inspected_units(assignment).order_by("village__name", "name", "pk")


def cross_unit(assignment, pk):
    """The inspected township's unit ``pk`` with its village, or None (another township's unit too)."""
    return _inspected_units(assignment).filter(pk=pk).first()


def cross_unit_contents(unit):
    return {
        "rectifications": list(unit.rectifications.filter(deleted_at__isnull=True).order_by("rectified_on")),
        "findings": list(unit.findings.alive().select_related("inspection").order_by("found_on", "pk")),
    }


# --- look-backs ----------------------------------------------------------------------------------


def lookback_list(user):
    """The look-backs ``user`` may read, by due date, with their unit, township and rectification."""
    lookbacks = scope_queryset(user, Lookback.objects.select_related("enterprise", "township", "rectification"))
    return lookbacks.order_by("due_on", "id")


def recent_draws(user, count=10):
    """The latest ``count`` look-back draws ``user`` may read, with their size."""
    draws = scope_queryset(user, LookbackDraw.objects.select_related("township", "drawn_by"))
    return list(draws.annotate(size=Count("lookbacks")).order_by("-drawn_at", "-id")[:count])


def draw_detail():
    return LookbackDraw.objects.select_related("township", "campaign", "drawn_by")


def draw_lookbacks(draw):
    return list(draw.lookbacks.select_related("enterprise", "rectification").order_by("enterprise_id"))


def lookback_detail():
    return Lookback.objects.select_related(
        "enterprise", "township", "rectification", "draw", "checked_by", "inspection"
    )


def clearances_of(unit):
    """The unit's per-defect clearances in date order, with who signed each off and its rectification."""
    return list(
        DefectClearance.objects.filter(enterprise=unit, deleted_at__isnull=True)
        .select_related("created_by", "rectification")
        .order_by("cleared_on", "id")
    )


# --- reconciliation (对账销号) ---------------------------------------------------------------------


def reconciliation_detail():
    return Reconciliation.objects.select_related("township", "township_confirmed_by", "city_confirmed_by")


def reconciliation_list(user):
    """The reconciliations ``user`` may read, latest half-month first, with their items counted."""
    reconciliations = reconciliation_detail().annotate(
        item_count=Count("items"), open_items=Count("items", filter=Q(items__resolved_at__isnull=True))
    )
    return scope_queryset(user, reconciliations).order_by("-period_start", "township__name")


def reconciliation_items(reconciliation):
    return list(reconciliation.items.select_related("enterprise", "finding", "raised_by", "resolved_by").order_by("id"))


UNIT_ROW = 5  # items of a snapshot's unit row that keeps the village and address (services._snapshot)
FINDING_ROW = 8


def snapshot_rows(snapshot):
    """The reconciliation's lists to show: each unit and finding as listed when it was opened, with a
    link to the unit (and the finding), its village and address. Snapshots made before the village
    and address were kept read them from the register: one query per list, whatever its length."""
    units, findings = snapshot.get("units", []), snapshot.get("findings", [])
    old_units = [row[0] for row in units if len(row) < UNIT_ROW]
    old_findings = [row[0] for row in findings if len(row) < FINDING_ROW]
    places = {}
    if old_units:
        for unit in Enterprise.objects.filter(pk__in=old_units).select_related("village"):
            places[unit.pk] = (unit.village.name if unit.village_id else "", unit.address)
    found = {}
    if old_findings:
        rows = Finding.objects.filter(pk__in=old_findings).select_related("enterprise__village")
        for finding in rows:
            unit = finding.enterprise
            found[finding.pk] = (unit.pk, unit.village.name if unit.village_id else "", unit.address)
    unit_rows = []
    for row in units:
        village, address = row[3:5] if len(row) >= UNIT_ROW else places.get(row[0], ("", ""))
        unit_rows.append(
            {
                "name": row[1],
                "status": row[2],
                "village": village,
                "address": address,
                "url": reverse("enterprises:detail", args=[row[0]]),
            }
        )
    finding_rows = []
    for row in findings:
        unit_id, village, address = row[5:8] if len(row) >= FINDING_ROW else found.get(row[0], (None, "", ""))
        finding_rows.append(
            {
                "name": row[1],
                "kind": row[2],
                "deadline": row[3],
                "state": row[4],
                "village": village,
                "address": address,
                "url": reverse("inspections:finding", args=[row[0]]),
                "unit_url": reverse("enterprises:detail", args=[unit_id]) if unit_id else "",
            }
        )
    return unit_rows, finding_rows


def unit_records(unit, *, rectified):
    """The unit's inspection findings, checked look-backs (of a unit ever rectified) and per-defect
    clearances (2 or 3 queries), for the unit's own page (enterprises/unit_page.py)."""
    # The inspection's kind is all the timeline shows of it: one joined column, not the whole row.
    findings = list(Finding.objects.alive().filter(enterprise=unit).annotate(inspection_kind=F("inspection__kind")))
    kinds = dict(Kind.choices)
    for finding in findings:
        finding.inspection_kind_label = kinds.get(finding.inspection_kind, finding.inspection_kind)
    lookbacks = list(Lookback.objects.filter(enterprise=unit, checked_on__isnull=False)) if rectified else []
    clearances = list(
        DefectClearance.objects.filter(enterprise=unit, deleted_at__isnull=True).order_by("cleared_on", "id")
    )
    return findings, lookbacks, clearances
